"""What a batch worker runs: one whole file, or one segment of a long file.

Both engines call :func:`run_task` with plain dicts (picklable, JSON-able),
so a worker process or Ray actor needs nothing but the shared filesystem.
Every error is caught and returned as a result, tagged transient or not, so
one bad file never takes the batch down.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

__all__ = ["is_transient", "run_task", "warm_up"]

# OS errors worth a second try: the file system or the machine was busy.
_TRANSIENT_ERRNO = {errno.EAGAIN, errno.EINTR, errno.EBUSY, errno.ETIMEDOUT, errno.EIO,
                    errno.ESTALE, errno.ENOMEM, errno.ECONNRESET}


def is_transient(exc: BaseException) -> bool:
    """True for failures a retry may cure (busy resources), False for bad inputs/configs."""
    from vidclear.errors import VidclearError

    if isinstance(exc, VidclearError):
        return False
    if isinstance(exc, (MemoryError, TimeoutError)):
        return True
    return isinstance(exc, OSError) and exc.errno in _TRANSIENT_ERRNO


def _reporter(task_id: str, progress: Any,
              warm: Callable[[], int] = lambda: 0) -> Callable[[Any], None] | None:
    """Sends the frames a job has written, less ``warm()`` warm-up frames processed
    and dropped (a segment's: counted in, the bar ran past its total, trial 84 F5)."""
    if progress is None:
        return None
    last = [0.0]

    def report(stats: Any) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.5:
            last[0] = now
            with contextlib.suppress(Exception):
                progress.put_nowait((task_id, max(0, int(stats.frames_out) - warm())))

    return report


def _config(task: dict[str, Any]) -> Any:
    from vidclear.config.loader import load_config

    return load_config(base=task["tables"])


def _run_file(task_id: str, task: dict[str, Any], progress: Any) -> dict[str, Any]:
    from vidclear.session import Session

    config = _config(task)
    session = Session.open(task["input"], task["output"], config=config, overwrite=True)
    stats = session.run(on_progress=_reporter(task_id, progress), signals=False)
    # what a single run prints as it goes and puts in --stats (a batch lost both: trial 37)
    return {"frames": stats.frames_out, "stats": stats.snapshot(),
            "packets_copied": session.packets_copied,
            "decode_errors": session.source.decode_errors,
            "frames_damaged": stats.damaged,
            "notes": session.processor_notes() + list(session.notes),
            "processors": session.processor_reports(),
            "packets_dropped_at_joins": session.source.report().get("packets_dropped_at_joins",
                                                                     0)}


def _run_segment(task_id: str, task: dict[str, Any], progress: Any) -> dict[str, Any]:
    from vidclear.batch.segments import Segment, SegmentSource
    from vidclear.session import Session, build_processors

    config = _config(task)
    seg = Segment.from_dict(task["segment"])
    processors = build_processors(config)
    source = SegmentSource(task["input"], seg, threads=config.input.threads)
    try:
        session = Session(source, processors, outputs=[Path(task["output"])], config=config,
                          mode="file", overwrite=True, warmup_until=seg.start)
    except BaseException:
        source.close()
        raise
    warmup = session.warmup
    stats = session.run(on_progress=_reporter(
        task_id, progress, lambda: warmup.dropped if warmup is not None else 0), signals=False)
    return {"frames": session.recorders[0].frames_written,
            "warm_frames": session.warmup.dropped if session.warmup else 0,
            "stats": stats.snapshot(), "frames_damaged": stats.damaged,
            # the part's file name in them becomes the output's at the join
            "notes": session.processor_notes() + list(session.notes),
            "processors": session.processor_reports()}


def run_task(task_id: str, task: dict[str, Any], progress: Any = None) -> dict[str, Any]:
    """Run one task; never raises (errors come back as ``{"ok": False, ...}``)."""
    t0 = time.perf_counter()
    where = {"host": socket.gethostname(), "pid": os.getpid()}
    with contextlib.suppress(Exception):
        import ray  # only present with the ray extra

        if ray.is_initialized():
            where["node"] = ray.get_runtime_context().get_node_id()
    try:
        body = _run_segment if task["kind"] == "segment" else _run_file
        result = body(task_id, task, progress)
        return {"ok": True, "seconds": time.perf_counter() - t0, **where, **result}
    except Exception as exc:
        code = getattr(exc, "errno", None)
        return {"ok": False, "error": str(exc) or type(exc).__name__,
                "error_type": type(exc).__name__, "transient": is_transient(exc),
                "errno": code if isinstance(code, int) else None,
                "seconds": time.perf_counter() - t0, **where}


def warm_up(tables: dict[str, Any] | None) -> None:
    """Compile the Numba kernels of the configured processors on a tiny frame.

    Called once when a worker starts, so the first real job does not pay the
    compile time (kernels are also cached on disk by ``cache=True``).
    """
    if not tables:
        return
    with contextlib.suppress(Exception):
        import numpy as np

        from vidclear.core.frame import Frame
        from vidclear.session import build_processors

        config = _config({"tables": tables})
        rng = np.random.default_rng(0)
        processors = build_processors(config)
        for i in range(2):
            frame: Any = Frame(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8), pts=i,
                               time_base=Fraction(1, 30), meta={"index": i})
            for proc in processors:
                frame = proc(frame) if frame is not None else None
