"""Several sinks at once: record to a file while previewing."""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from vidclear.core.frame import Frame
from vidclear.errors import ConfigError

__all__ = ["TeeSink"]


class TeeSink:
    """Write every frame to each of ``sinks`` in order; close and abort them all.

    Put the recorder first and the previews after it: previews only swap a
    reference, so they never hold the recorder up. The tee also keeps the
    end-to-end latency of the last ``window`` frames (now minus
    ``meta["capture_time"]`` once every sink has the frame) for live stats.

    Parameters
    ----------
    sinks : sequence of Sink
        At least one.
    window : int
        How many recent latencies :meth:`recent_latency_ms` summarises.
    """

    def __init__(self, sinks: Sequence[Any], *, window: int = 60) -> None:
        if not sinks:
            raise ConfigError("TeeSink needs at least one sink")
        self.sinks = list(sinks)
        self.frames_written = 0
        self._latency: collections.deque[float] = collections.deque(maxlen=window)
        self._lock = threading.Lock()

    @property
    def packets_copied(self) -> int:
        return sum(getattr(s, "packets_copied", 0) for s in self.sinks)

    @property
    def skipped_streams(self) -> list[str]:
        return [x for s in self.sinks for x in getattr(s, "skipped_streams", [])]

    def write(self, frame: Frame) -> None:
        for sink in self.sinks:
            sink.write(frame)
        self.frames_written += 1
        captured = frame.meta.get("capture_time")
        if captured is not None:
            with self._lock:
                self._latency.append(time.monotonic() - captured)

    def recent_latency_ms(self) -> dict[str, float]:
        """Median, 95th percentile and maximum latency of the recent frames (ms)."""
        with self._lock:
            lat = np.asarray(self._latency, dtype=np.float64) * 1000
        if not lat.size:
            return {}
        return {"p50": round(float(np.median(lat)), 2),
                "p95": round(float(np.percentile(lat, 95)), 2),
                "max": round(float(lat.max()), 2)}

    def close(self, *, complete: bool = True) -> None:
        """Close every sink; the first error is raised after all were tried."""
        error: BaseException | None = None
        for sink in self.sinks:
            try:
                sink.close(complete=complete)
            except BaseException as exc:
                error = error or exc
        if error is not None:
            raise error

    def abort(self) -> None:
        for sink in self.sinks:
            try:
                sink.abort()
            except Exception:  # abort is best effort for every sink
                continue

    def __repr__(self) -> str:
        return f"TeeSink({self.sinks!r})"
