"""Choosing between one and all Numba threads by measured time.

When other processes (the decoder, the encoder, other jobs) keep the cores
busy, a parallel region can wait a whole scheduler slice for a descheduled
worker: measured here, about 8 ms instead of 1 ms for a 1080p pass. Then one
thread is faster than two. :class:`ThreadChoice` keeps the recent time per
frame of both settings and uses the faster, re-measuring the other every
``probe`` frames, so the choice follows the machine's load. The output of a
kernel does not depend on the thread count.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

import numba
import numpy as np

__all__ = ["ThreadChoice"]


class ThreadChoice:
    """Run full-frame kernels on one thread or on all, whichever is faster now.

    Parameters
    ----------
    probe : int
        Every ``probe``-th frame runs the setting not currently chosen.
    keep : int
        Frames of history per setting (their median is compared).
    """

    def __init__(self, *, probe: int = 32, keep: int = 5) -> None:
        self.probe, self.keep = probe, keep
        self._times: dict[int, deque[float]] = {}
        self._count = 0
        self.last = 0  # threads used for the last frame (0 before the first)

    def choose(self) -> int:
        """The thread count to use for the next frame."""
        top = numba.get_num_threads()
        if top <= 1:
            return top
        self._count += 1
        for n in (top, 1):
            if len(self._times.get(n, ())) < 2:
                return n
        best = min((top, 1), key=lambda n: float(np.median(self._times[n])))
        if self._count % self.probe == 0:
            return 1 if best == top else top
        return best

    def record(self, threads: int, seconds: float) -> None:
        """Note that a frame's kernels took ``seconds`` on ``threads`` threads."""
        self.last = threads
        self._times.setdefault(threads, deque(maxlen=self.keep)).append(seconds)

    def run(self, threads: int, kernel: Callable[..., Any], *args: Any) -> float:
        """Call ``kernel(*args)`` on ``threads`` Numba threads; return the seconds taken."""
        prev = numba.get_num_threads()
        numba.set_num_threads(threads)
        try:
            t = time.perf_counter()
            kernel(*args)
            return time.perf_counter() - t
        finally:
            numba.set_num_threads(prev)

    def __repr__(self) -> str:
        ms = {n: round(1e3 * float(np.median(t)), 3) for n, t in sorted(self._times.items())}
        return f"ThreadChoice(last={self.last}, median_ms={ms})"
