"""Choosing between one and all Numba threads by measured time.

When other processes (the decoder, the encoder, other jobs) keep the cores
busy, a parallel region can wait a whole scheduler slice for a descheduled
worker: measured here, about 8 ms instead of 1 ms for a 1080p pass. Then one
thread is faster than two. :class:`ThreadChoice` keeps the recent time per
frame of both settings and uses the faster, re-measuring the other every
``probe`` frames, so the choice follows the machine's load. The output of a
kernel does not depend on the thread count (nor on whether it was compiled
in this run or loaded from Numba's cache: see :mod:`vidclear.kernels._fastmath`).
"""

from __future__ import annotations

import math
import statistics
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

import numba
import numpy as np

__all__ = ["ThreadChoice"]


class ThreadChoice:
    """Run full-frame kernels on one thread or on all, whichever is faster now.

    Parameters
    ----------
    probe : int
        Now and then a frame runs the setting not currently chosen, whose
        older times are dropped first (they may date from another load):
        4 frames after the first comparison, then after 8, 16, ... frames,
        the wait doubling after every probe that loses, up to ``probe``
        frames while the run is young (``8 * probe`` frames) and up to
        ``16 * probe`` after that. On a busy machine a probe of all threads
        can stall a frame for a scheduler slice or more (300 ms measured on
        a loaded 2-core machine, with OpenMP's spinning workers), so it
        becomes rare there. A probe that wins starts the waits again at 4.
    keep : int
        Frames of history per setting (their median is compared).

    Notes
    -----
    The first frame (workspace allocation, thread start-up) is not recorded.
    """

    def __init__(self, *, probe: int = 32, keep: int = 5) -> None:
        self.probe, self.keep = probe, keep
        self._times: dict[int, deque[float]] = {}
        self._runs: dict[int, int] = {}  # frames run per setting, recorded or not
        self._count = 0
        self._gap = min(4, probe)  # frames to the next probe, doubling up to ``probe``
        self._next_probe = 4 + self._gap
        self._best: int | None = None  # the setting chosen last, outside probes
        self.last = 0  # threads used for the last frame (0 before the first)

    def choose(self) -> int:
        """The thread count to use for the next frame."""
        top = numba.get_num_threads()
        if top <= 1:
            return top
        self._count += 1
        for n in (top, 1):  # both settings measured first, twice each
            if self._runs.get(n, 0) < 2:
                return n
        best = min((top, 1), key=self._median)
        if self._best is not None and best != self._best:  # the last probe won
            self._gap = min(4, self.probe)
            self._next_probe = self._count + self._gap
        self._best = best
        if self._count >= self._next_probe:
            most = self.probe if self._count < 8 * self.probe else 16 * self.probe
            self._gap = min(2 * self._gap, most)
            self._next_probe = self._count + self._gap
            other = 1 if best == top else top
            self._times[other].clear()
            return other
        return best

    def _median(self, threads: int) -> float:
        times = self._times.get(threads)
        # (statistics.median: np.median costs 20 us on five values, twice a frame)
        return statistics.median(times) if times else math.inf

    def record(self, threads: int, seconds: float) -> None:
        """Note that a frame's kernels took ``seconds`` on ``threads`` threads."""
        self.last = threads
        first = not self._runs
        self._runs[threads] = self._runs.get(threads, 0) + 1
        times = self._times.setdefault(threads, deque(maxlen=self.keep))
        if not first:
            times.append(seconds)

    @contextmanager
    def frame(self) -> Iterator[int]:
        """Choose the count for one frame, run the body's kernels on it, record its time.

        Yields the thread count. A body that raises is not recorded.
        """
        threads = self.choose()
        with self.limit(threads):
            t = time.perf_counter()
            yield threads
            self.record(threads, time.perf_counter() - t)

    @contextmanager
    def limit(self, threads: int) -> Iterator[None]:
        """Run the body's Numba kernels on ``threads`` threads (restored on exit)."""
        prev = numba.get_num_threads()
        numba.set_num_threads(threads)
        try:
            yield
        finally:
            numba.set_num_threads(prev)

    def __repr__(self) -> str:
        ms = {n: round(1e3 * float(np.median(t)), 3) for n, t in sorted(self._times.items()) if t}
        return f"ThreadChoice(last={self.last}, median_ms={ms})"
