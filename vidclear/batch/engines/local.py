"""The ``local`` engine: a pool of worker processes on this machine.

Workers are started with the ``spawn`` method (no forked threads or FFmpeg
state) and live for the whole batch, so Numba kernels compiled (or loaded
from the on-disk cache) by the first job stay warm for the next ones. Each
worker gets ``NUMBA_NUM_THREADS = cpus // jobs`` unless the user set it.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import queue
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import resource_tracker
from typing import Any

from vidclear.core.signals import STOP_SIGNALS

__all__ = ["LocalEngine"]

_progress: Any = None


def _die_with_parent(parent: int, period: float = 0.2) -> None:
    """Kill this worker as soon as its driver is gone (``kill -9`` of ``vidclear batch``).

    A thread polls the parent pid: it works whichever thread of the driver
    started the worker, where Linux's parent-death signal follows the thread.
    The half-written output stays as ``NAME.partial-PID.EXT``; the next run
    removes it and does the job again.
    """
    while True:
        time.sleep(period)
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)


def _init_worker(progress: Any, numba_threads: int, warm_tables: dict[str, Any] | None) -> None:
    global _progress
    _progress = progress
    threading.Thread(target=_die_with_parent, args=(os.getppid(),), name="vc-parent-watch",
                     daemon=True).start()
    # the parent decides what an interrupt means; a closing terminal sends SIGHUP
    # to the whole process group, and workers it killed failed their jobs
    for sig in STOP_SIGNALS:
        if sig != signal.SIGTERM:
            signal.signal(sig, signal.SIG_IGN)
    os.environ.setdefault("NUMBA_NUM_THREADS", str(numba_threads))
    from vidclear.batch.worker import warm_up

    warm_up(warm_tables)


def _run(task_id: str, task: dict[str, Any]) -> dict[str, Any]:
    from vidclear.batch.worker import run_task

    return run_task(task_id, task, _progress)


@contextlib.contextmanager
def _hangup_held() -> Iterator[None]:
    """SIGHUP blocked while helper processes are started: they inherit it blocked.

    A closing terminal sends SIGHUP to the whole process group. The workers
    ignore it once started, but multiprocessing's resource tracker ignores
    only SIGINT and SIGTERM: it died, and the batch printed eight tracebacks
    and a leak warning (trial 56). Blocked, not ignored: one that arrives
    meanwhile reaches the batch's handler when it is unblocked.
    """
    hup = getattr(signal, "SIGHUP", None)
    if hup is None or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {hup})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


class LocalEngine:
    """A ``spawn`` process pool of ``jobs`` workers (default: the CPU count)."""

    name = "local"

    def __init__(self, *, jobs: int | None = None,
                 warm_tables: dict[str, Any] | None = None) -> None:
        cpus = os.cpu_count() or 1
        self.workers = max(1, int(jobs or cpus))
        self._ctx = mp.get_context("spawn")
        with _hangup_held():
            resource_tracker.ensure_running()
            self._queue: Any = self._ctx.Queue()
        self._numba_threads = max(1, cpus // self.workers)
        self._warm = warm_tables
        self._futures: dict[Future[dict[str, Any]], tuple[str, dict[str, Any]]] = {}
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=self._ctx,
                                   initializer=_init_worker,
                                   initargs=(self._queue, self._numba_threads, self._warm))

    @property
    def busy(self) -> int:
        return len(self._futures)

    def submit(self, task_id: str, task: dict[str, Any]) -> None:
        with _hangup_held():  # workers are started here
            try:
                fut = self._pool.submit(_run, task_id, task)
            except BrokenProcessPool:
                self._restart()
                fut = self._pool.submit(_run, task_id, task)
        self._futures[fut] = (task_id, task)

    def _restart(self) -> None:
        self._kill(self._pool)
        self._pool = self._new_pool()

    def results(self, timeout: float) -> list[tuple[str, dict[str, Any]]]:
        if not self._futures:
            return []
        done, _ = wait(list(self._futures), timeout=timeout, return_when=FIRST_COMPLETED)
        out = []
        broken = False
        for fut in done:
            task_id, _task = self._futures.pop(fut)
            try:
                out.append((task_id, fut.result()))
            except BrokenProcessPool:
                broken = True
                out.append((task_id, {"ok": False, "transient": True,
                                      "error_type": "WorkerCrashed",
                                      "error": "a worker process died (crash or killed)"}))
            except Exception as exc:  # pickling problems and the like
                out.append((task_id, {"ok": False, "transient": False,
                                      "error_type": type(exc).__name__, "error": str(exc)}))
        if broken:
            self._restart()
        return out

    def progress(self) -> list[tuple[str, int]]:
        items = []
        with contextlib.suppress(queue.Empty, OSError, ValueError):
            while True:
                items.append(self._queue.get_nowait())
        return items

    @staticmethod
    def _kill(pool: ProcessPoolExecutor) -> None:
        procs = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            with contextlib.suppress(Exception):
                p.terminate()
        for p in procs:
            with contextlib.suppress(Exception):
                p.join(5)

    def shutdown(self, *, cancel: bool = False) -> None:
        if cancel:
            self._kill(self._pool)
        else:
            self._pool.shutdown(wait=True)
        self._futures.clear()
        with contextlib.suppress(Exception):
            self._queue.close()
            self._queue.join_thread()

    def __repr__(self) -> str:
        return f"LocalEngine(workers={self.workers}, busy={self.busy})"
