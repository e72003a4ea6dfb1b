"""The ``ray`` engine: long-lived Ray actors, one per parallel job.

Each actor is a worker process that keeps its Numba kernels (and FFmpeg
codecs) warm across every job it runs; each asks Ray for ``cpus_per_job``
CPUs, so Ray places as many actors per node as the node has CPUs for. With
no ``address`` a local Ray runtime starts by itself; ``address`` (``auto``,
``ray://head:10001`` or ``head:6379``) joins an existing cluster. Inputs,
outputs and OUTDIR must be on a filesystem every node mounts at the same
path: tasks carry paths, never video data.

Requires the optional extra: ``pip install 'vidclear[ray]'``.
"""

from __future__ import annotations

import collections
import contextlib
import os
import socket
from typing import Any

from vidclear.errors import ConfigError

__all__ = ["BatchActor", "RayEngine", "check_address"]


class BatchActor:
    """The body of a Ray actor: warm once, then run tasks until the batch ends."""

    def __init__(self, numba_threads: int, warm_tables: dict[str, Any] | None,
                 cwd: str | None = None) -> None:
        os.environ.setdefault("NUMBA_NUM_THREADS", str(numba_threads))
        if cwd is not None:  # the driver's folder, for paths given relative to it
            with contextlib.suppress(OSError):
                os.chdir(cwd)
        from vidclear.batch.worker import warm_up

        warm_up(warm_tables)

    def run(self, task_id: str, task: dict[str, Any], progress: Any) -> dict[str, Any]:
        from vidclear.batch.worker import run_task

        return run_task(task_id, task, progress)

    def ping(self) -> str:
        import ray

        return ray.get_runtime_context().get_node_id()


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "--engine ray needs Ray: pip install 'vidclear[ray]' (or pip install 'ray>=2.9')"
        ) from None
    return ray


# seconds to wait for a cluster's port to take a connection and answer
_CONNECT_TIMEOUT = 5.0
# HTTP/2's client connection preface and an empty SETTINGS frame (RFC 9113,
# 3.4 and 6.5): a gRPC server, as Ray's GCS and client servers are, answers
# with a SETTINGS frame of its own (frame type 4, the fourth byte)
_H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])


def check_address(address: str) -> None:
    """Refuse at once a ``HOST:PORT`` or ``ray://HOST:PORT`` where no Ray cluster answers.

    ``ray.init`` retries an unreachable address for minutes, and one that
    takes the connection but is no Ray cluster (a web server) with no end;
    a dead ``ray://`` address ended after 30 s as an internal error. The
    port must take a TCP connection and answer HTTP/2's connection preface
    as a gRPC server does, within :data:`_CONNECT_TIMEOUT` seconds. ``auto``
    and ``local`` are left to Ray.

    Raises
    ------
    ConfigError
        ``address`` is not ``HOST:PORT`` or ``ray://HOST:PORT`` with a
        numeric port, nothing answers there, or what answers is no gRPC
        server.
    """
    if address in ("auto", "local"):
        return
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "", address
    host, sep, port = rest.rstrip("/").rpartition(":")
    if scheme not in ("", "ray") or not sep or not port.isdigit() or not host:
        raise ConfigError(f"--address {address!r} is not allowed: expected auto, HOST:PORT "
                          "(a head node's GCS port, 6379) or ray://HOST:PORT (its client "
                          "port, 10001)")
    try:
        with socket.create_connection((host.strip("[]"), int(port)),
                                      timeout=_CONNECT_TIMEOUT) as conn:
            conn.sendall(_H2_PREFACE)
            head = b""
            while len(head) < 9:
                chunk = conn.recv(9 - len(head))
                if not chunk:
                    break
                head += chunk
    except TimeoutError:
        raise ConfigError(f"--address {address}: no Ray cluster answered within "
                          f"{_CONNECT_TIMEOUT:g} s") from None
    except OSError as exc:
        raise ConfigError(f"--address {address}: no Ray cluster reachable there "
                          f"({exc.strerror or type(exc).__name__})") from None
    if len(head) < 9 or head[3] != 4:
        raise ConfigError(f"--address {address}: something answers there, but not a Ray "
                          "cluster (no gRPC server)")


class RayEngine:
    """``jobs`` actors (default: the cluster's CPUs / ``cpus_per_job``)."""

    name = "ray"

    def __init__(self, *, jobs: int | None = None, address: str | None = None,
                 cpus_per_job: float = 1.0, warm_tables: dict[str, Any] | None = None) -> None:
        ray = self._ray = _import_ray()
        from ray.util.queue import Queue

        self._started = False
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            # the folder this driver imported vidclear from (site-packages, or a checkout)
            root = os.path.dirname(os.path.dirname(os.path.dirname(
                os.path.dirname(os.path.abspath(__file__)))))
            if address is not None:
                check_address(address)
                kwargs["address"] = address
            else:
                # A new runtime of our own, as --address's help says: with no
                # address ray.init() joins the last cluster started on this
                # machine if one runs (/tmp/ray/ray_current_cluster), so a
                # batch would have run on whatever cluster was up (a test
                # beside it: its own cluster's workers, without vidclear on
                # their path). "--address auto" joins one on purpose.
                kwargs["address"] = "local"
                # Workers must import vidclear from where this driver does.
                path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
                kwargs["runtime_env"] = {"env_vars": {"PYTHONPATH": path}}
            try:
                # Ray puts the driver's current folder first on its workers'
                # path: run from a checkout, with vidclear installed from it,
                # the workers imported the checkout's source, compiled every
                # kernel into it for 70 s and would run other code after a
                # pull (trial 96 F2). They are given the folder vidclear came
                # from instead, and go back to the driver's folder once
                # started (BatchActor).
                with contextlib.chdir(root):
                    ray.init(**kwargs)
            except (ConnectionError, ValueError) as exc:
                # --address auto with none running, a client timeout, a
                # ray:// address without Ray's client installed
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                where = f"--address {address}" if address is not None else "--engine ray"
                raise ConfigError(f"{where}: {first}") from None
            self._started = True
        cpus = float(ray.cluster_resources().get("CPU", 1.0))
        if cpus_per_job > cpus:
            raise ConfigError(f"--cpus-per-job {cpus_per_job} is more than the cluster's "
                              f"{cpus:g} CPUs")
        self.workers = max(1, int(jobs or cpus // cpus_per_job))
        self._cpus = cpus_per_job
        self._threads = max(1, int(cpus_per_job))
        self._warm = warm_tables
        self._actor_cls = ray.remote(BatchActor)
        self._queue = Queue(actor_options={"num_cpus": 0})
        self._idle: collections.deque[Any] = collections.deque(
            self._new_actor() for _ in range(self.workers))
        self._inflight: dict[Any, tuple[str, Any]] = {}

    def _new_actor(self) -> Any:
        return self._actor_cls.options(num_cpus=self._cpus).remote(self._threads, self._warm,
                                                                   os.getcwd())

    @property
    def busy(self) -> int:
        return len(self._inflight)

    def submit(self, task_id: str, task: dict[str, Any]) -> None:
        actor = self._idle.popleft() if self._idle else self._new_actor()
        ref = actor.run.remote(task_id, task, self._queue)
        self._inflight[ref] = (task_id, actor)

    def results(self, timeout: float) -> list[tuple[str, dict[str, Any]]]:
        ray = self._ray
        if not self._inflight:
            return []
        ready, _ = ray.wait(list(self._inflight), num_returns=1, timeout=timeout)
        if ready:
            more, _ = ray.wait(list(self._inflight), num_returns=len(self._inflight), timeout=0)
            ready = list({*ready, *more})
        out = []
        for ref in ready:
            task_id, actor = self._inflight.pop(ref)
            try:
                out.append((task_id, ray.get(ref)))
                self._idle.append(actor)
            except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError,
                    ray.exceptions.NodeDiedError, ray.exceptions.ObjectLostError) as exc:
                with contextlib.suppress(Exception):
                    ray.kill(actor)
                self._idle.append(self._new_actor())
                out.append((task_id, {"ok": False, "transient": True,
                                      "error_type": type(exc).__name__,
                                      "error": f"Ray worker lost: {str(exc)[:200]}"}))
            except ray.exceptions.RayError as exc:
                self._idle.append(actor)
                out.append((task_id, {"ok": False, "transient": False,
                                      "error_type": type(exc).__name__, "error": str(exc)}))
        return out

    def progress(self) -> list[tuple[str, int]]:
        with contextlib.suppress(Exception):
            n = self._queue.qsize()
            if n:
                return list(self._queue.get_nowait_batch(n))
        return []

    def shutdown(self, *, cancel: bool = False) -> None:
        ray = self._ray
        for ref in list(self._inflight):
            with contextlib.suppress(Exception):
                ray.cancel(ref, force=True)
        actors = [a for _, a in self._inflight.values()] + list(self._idle)
        self._inflight.clear()
        self._idle.clear()
        for a in actors:
            with contextlib.suppress(Exception):
                ray.kill(a)
        with contextlib.suppress(Exception):
            self._queue.shutdown()
        if self._started:
            ray.shutdown()

    def __repr__(self) -> str:
        return f"RayEngine(workers={self.workers}, cpus_per_job={self._cpus}, busy={self.busy})"
