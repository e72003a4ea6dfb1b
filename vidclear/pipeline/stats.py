"""Per-stage counters: fps, time per frame, queue depth, drops, latency.

Numba compiles a kernel the first time it is called with new argument types
(or loads it from its on-disk cache): on a first run that takes seconds, and
all of it lands on the first frames. The stats keep that JIT warm-up out of
their figures and report it apart: a frame whose processing included time in
Numba's compiler is a warm-up frame; ``ms_per_frame`` and the latency
percentiles leave out the warm-up frames and every frame that was waiting
behind them, and the ``warmup`` block of :meth:`PipelineStats.snapshot` says
how many frames and seconds that was.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["PipelineStats", "StageStats", "jit_seconds", "seconds_text"]


class _JitClock:
    """Seconds each thread has spent in Numba's compiler, compiling or loading cached code.

    Listens to Numba's ``numba:compiler_lock`` events (the global compiler lock
    is held for compiling and for loading a cached overload); nested
    acquisitions count once.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def start(self) -> None:
        depth = getattr(self._local, "depth", 0)
        if depth == 0:
            self._local.t0 = time.perf_counter()
        self._local.depth = depth + 1

    def end(self) -> None:
        self._local.depth = max(0, getattr(self._local, "depth", 1) - 1)
        if self._local.depth == 0 and hasattr(self._local, "t0"):
            self._local.total = self.seconds() + time.perf_counter() - self._local.t0

    def seconds(self) -> float:
        return float(getattr(self._local, "total", 0.0))


_CLOCK: _JitClock | None = None
_CLOCK_LOCK = threading.Lock()


def _clock() -> _JitClock | None:
    global _CLOCK
    with _CLOCK_LOCK:
        if _CLOCK is None:
            try:
                from numba.core import event
            except ImportError:  # no Numba: nothing is ever compiled
                return None
            clock = _JitClock()

            class _Listener(event.Listener):
                def on_start(self, _event: Any) -> None:
                    clock.start()

                def on_end(self, _event: Any) -> None:
                    clock.end()

            event.register("numba:compiler_lock", _Listener())
            _CLOCK = clock
        return _CLOCK


def jit_seconds() -> float:
    """Seconds the calling thread has spent in Numba's compiler so far.

    Counts from the first call of this function (or the first
    :class:`StageStats`) in the process; 0.0 without Numba.
    """
    clock = _clock()
    return clock.seconds() if clock is not None else 0.0


#: How many damaged frames' times the stats keep (the count is exact).
_DAMAGED_TIMES = 5
#: Frames a decoder may reorder: the last one in decoding order is shown up
#: to this many frames before the end (B-frames).
_REORDER_DEPTH = 4


def seconds_text(seconds: float) -> str:
    """A wall time for people: ``12.3 s``, and two digits under a second (``0.044 s``).

    A short run said "in 0.0 s" beside 1147 fps (trial 148 F2).
    """
    return f"{seconds:.1f} s" if seconds >= 1 or seconds == 0 else f"{seconds:.2g} s"


@dataclass
class StageStats:
    """What one stage (decode, process, encode) has done so far."""

    name: str
    frames: int = 0
    busy_s: float = 0.0
    drops: int = 0
    queue_depth: int = 0
    queue_max: int = 0
    first_s: float | None = None
    last_s: float | None = None
    #: Frames whose work included JIT compilation, and the time they took.
    warm_frames: int = 0
    warm_busy_s: float = 0.0
    jit_s: float = 0.0
    first_frame_s: float | None = None
    owner: PipelineStats | None = field(default=None, repr=False, compare=False)
    _jit_seen: dict[int, float] = field(default_factory=dict, repr=False, compare=False)

    def add(self, busy_s: float, frames: int = 1, compiled: float | None = None) -> None:
        """Count ``frames`` that took ``busy_s`` seconds; call from the thread that did the work.

        Time that thread spent in Numba's compiler since its previous call
        (since it started, on its first) marks the frames as JIT warm-up. The
        pipeline's stages run on threads of their own, started for the run.
        A caller that measured the compile time of exactly this work (several
        counters on one thread) passes it as ``compiled`` instead.
        """
        now = time.perf_counter()
        if self.first_s is None:
            self.first_s = now - busy_s
            self.first_frame_s = busy_s
        self.last_s = now
        self.frames += frames
        self.busy_s += busy_s
        if compiled is None:
            tid = threading.get_ident()
            jit = jit_seconds()
            compiled = jit - self._jit_seen.get(tid, 0.0)
            self._jit_seen[tid] = jit
        if compiled > 0:
            self.warm_frames += frames
            self.warm_busy_s += busy_s
            self.jit_s += compiled
            if self.owner is not None:
                self.owner._warmed(now, busy_s)

    def ms_per_frame(self) -> float:
        """Milliseconds per frame without the frames that waited for the JIT.

        (When every frame did, those are the figure.) 0.0 before the first.
        """
        steady = self.frames - self.warm_frames
        busy = self.busy_s - self.warm_busy_s if steady else self.busy_s
        return 1000 * busy / (steady or self.frames) if self.frames else 0.0

    def snapshot(self) -> dict[str, Any]:
        span = (self.last_s - self.first_s
                if self.first_s is not None and self.last_s is not None else 0.0)
        data = {
            "frames": self.frames,
            "fps": round(self.frames / span, 2) if span > 0 else 0.0,
            # Without the frames that waited for the JIT (see warmup_frames).
            "ms_per_frame": round(self.ms_per_frame(), 3),
            "queue_depth": self.queue_depth,
            "queue_max": self.queue_max,
            "drops": self.drops,
        }
        if self.warm_frames:
            data["warmup_frames"] = self.warm_frames
            data["warmup_ms"] = round(1000 * self.warm_busy_s, 1)
        return data


# A frame of a live input read within this share of its media time since the one
# before came in a burst (a frame 33 ms after the last read within 8 ms of it)
BURST_SHARE = 0.25

@dataclass
class PipelineStats:
    """Stats of a whole run; :meth:`snapshot` is what ``--stats`` writes."""

    mode: str = "file"
    stages: dict[str, StageStats] = field(default_factory=dict)
    processors_ms: dict[str, float] = field(default_factory=dict)
    started_s: float = field(default_factory=time.perf_counter)
    ended_s: float | None = None
    media_start: float | None = None
    media_end: float | None = None
    _span_start: float = 0.0  # the current span of media time (see add_media_time)
    _spans_s: float = 0.0  # the spans before it, added up
    _last_t: float | None = None  # the last frame's time (a span restarts before it)
    interrupted: bool = False
    #: Frames the decoder flagged as damaged (errors concealed), and the
    #: first few of their times (seconds, the output's clock).
    damaged: int = 0
    damaged_at: list[float] = field(default_factory=list)
    #: frames each processor took and never gave back, by processor (a run that
    #: went to its end; one that emits fewer frames than it takes on purpose too)
    processors_kept: dict[str, int] = field(default_factory=dict)
    #: What ``--stats`` writes besides these stats (notes, the processors'
    #: blocks such as a detected exposure pattern), filled by
    #: :func:`vidclear.transcode` (see :meth:`vidclear.Session.report`)
    report: dict[str, Any] = field(default_factory=dict)
    #: Frames read after the last damaged one (a cut-short input damages its
    #: last frame in decoding order, up to a reordering depth from the end).
    after_damage: int = 0
    #: Frames of a live input read much sooner after the one before than their
    #: times are apart (BURST_SHARE): a bursty input, whose bursts the
    #: latest-frame flow thins to their newest
    burst_frames: int = 0
    #: The most frames of a live input read at once (one burst: the first and
    #: those that came with it); a latest-frame queue shorter keeps only its newest
    longest_burst: int = 0
    #: perf_counter() when the last warm-up frame (one that waited for the JIT) finished.
    warm_until_s: float | None = None
    _warm_until_mono: float | None = None
    #: monotonic() spans of the work that compiled (or loaded cached kernels),
    #: overlapping ones merged
    _jit_spans: list[tuple[float, float]] = field(default_factory=list)
    _latency: list[float] = field(default_factory=list)
    _warm_latency: list[float] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        _clock()  # listen to the compiler from before the first frame

    def stage(self, name: str) -> StageStats:
        if name not in self.stages:
            self.stages[name] = StageStats(name, owner=self)
        return self.stages[name]

    def _warmed(self, now: float, busy_s: float) -> None:
        with self._lock:
            self.warm_until_s = now
            end = time.monotonic()
            self._warm_until_mono = end
            start = end - busy_s
            if self._jit_spans and start <= self._jit_spans[-1][1]:
                start = min(start, self._jit_spans[-1][0])
                self._jit_spans[-1] = (start, end)
            else:
                self._jit_spans.append((start, end))

    def _waited(self, captured: float, done: float) -> bool:
        return any(captured < end and done > start for start, end in self._jit_spans)

    def waited_for_jit(self, captured: float, done: float | None = None) -> bool:
        """True for a frame that entered (``time.monotonic()`` = ``captured``) before some
        work that compiled ended, and was done (``done``, now when None) after it began:
        it was compiled for, or queued behind the compile.

        Frames done before a later compile began did not wait for it: a kernel
        first used (loaded from the cache) a second into a run marked every
        frame before it, 21 where the warm-up counted 3 (trial 74).
        """
        with self._lock:
            return self._waited(captured, time.monotonic() if done is None else done)

    def add_latency(self, seconds: float) -> None:
        """Add one frame's end-to-end latency, measured now.

        A frame that entered before the JIT warm-up ended waited behind it:
        its latency goes to the warm-up figures, not the percentiles.
        """
        done = time.monotonic()
        with self._lock:
            warm = self._waited(done - seconds, done)
            (self._warm_latency if warm else self._latency).append(seconds)

    def add_damaged(self, t: float | None) -> None:
        """Count a frame the decoder flagged as damaged, shown at ``t`` seconds."""
        with self._lock:
            self.damaged += 1
            self.after_damage = 0
            if t is not None and len(self.damaged_at) < _DAMAGED_TIMES:
                self.damaged_at.append(t)

    def damaged_times(self) -> list[float]:
        """The first damaged frames' times in seconds of the output (it starts at 0)."""
        t0 = self.media_start or 0.0
        return [round(t - t0, 3) for t in self.damaged_at]

    @property
    def damaged_at_end(self) -> bool:
        """Whether a damaged frame is among the last few a file run read to its end.

        Then the input may be cut short. Not said of live runs (damage on a
        stream is loss on the way) or of runs stopped early.
        """
        return (self.damaged > 0 and self.after_damage <= _REORDER_DEPTH
                and self.mode == "file" and not self.interrupted)

    def add_media_time(self, t: float | None, duration: float = 0.0) -> None:
        """Note a written frame's presentation time ``t`` and ``duration`` (s) for :attr:`speed`.

        The media written ends where the last frame's time ends, as FFmpeg's
        ``time=`` counts it (without it a 4.00 s clip counted 3.96 s,
        trial 86). A time before the last one starts a new span (``--split``
        restarts each part's clock at 0): the spans are added up, so the
        speed of a split run counts every part, not the last one alone.
        """
        if t is None:
            return
        if self.media_start is None:
            self.media_start = self._span_start = t
        elif self._last_t is not None and t < self._last_t:
            assert self.media_end is not None  # set with _last_t
            self._spans_s += self.media_end - self._span_start
            self._span_start = t
        self._last_t = t
        self.media_end = t + max(duration, 0.0)

    @property
    def wall_s(self) -> float:
        end = self.ended_s if self.ended_s is not None else time.perf_counter()
        return end - self.started_s

    @property
    def frames_out(self) -> int:
        return self.stages["encode"].frames if "encode" in self.stages else 0

    @property
    def dropped(self) -> int:
        return sum(s.drops for s in self.stages.values())

    @property
    def speed(self) -> float:
        """Media seconds written per wall second (1.0 = real time)."""
        if self.media_start is None or self.media_end is None or self.wall_s <= 0:
            return 0.0
        if self._spans_s == 0 and self._last_t == self.media_start:
            return 0.0  # one frame, a picture: no media time passes
        return (self._spans_s + self.media_end - self._span_start) / self.wall_s

    @property
    def fps_after_warmup(self) -> float:
        """Frames written per second of wall time not spent in the JIT warm-up.

        The processing stage's time in Numba's compiler is taken off the wall
        time (while it compiles, backpressure idles the other stages): the
        rate the run would have had with every kernel already compiled.
        """
        proc = self.stages.get("process")
        wall = self.wall_s - (proc.jit_s if proc is not None else 0.0)
        return self.frames_out / wall if wall > 0 else 0.0

    def warmup(self) -> dict[str, Any]:
        """The JIT warm-up, kept out of the other figures (empty when there was none)."""
        proc = self.stages.get("process")
        if proc is None or not proc.warm_frames:
            return {}
        with self._lock:
            lat = np.asarray(self._warm_latency, dtype=np.float64) * 1000
        out: dict[str, Any] = {
            "frames": proc.warm_frames,
            "jit_s": round(proc.jit_s, 3),
            "first_frame_ms": round(1000 * (proc.first_frame_s or 0.0), 1),
            "ended_at_s": round((self.warm_until_s or self.started_s) - self.started_s, 3),
            "frames_waiting": int(lat.size),
        }
        if lat.size:
            out["latency_max_ms"] = round(float(lat.max()), 2)
        return out

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            lat = np.asarray(self._latency, dtype=np.float64) * 1000
        latency = (
            {"mean": round(float(lat.mean()), 2), "p50": round(float(np.median(lat)), 2),
             "p95": round(float(np.percentile(lat, 95)), 2), "max": round(float(lat.max()), 2)}
            if lat.size else {}
        )
        out_fps = self.frames_out / self.wall_s if self.wall_s > 0 else 0.0
        frames_in = self.stages["decode"].frames if "decode" in self.stages else 0
        return {
            "mode": self.mode,
            "wall_s": round(self.wall_s, 3),
            "frames_in": frames_in,
            "frames_out": self.frames_out,
            # Frames a processor consumed without emitting (an HDR window filling up).
            "frames_absorbed": max(0, frames_in - self.frames_out - self.dropped),
            "fps": round(out_fps, 2),
            "fps_after_warmup": round(self.fps_after_warmup, 2),
            "speed": round(self.speed, 3),
            "dropped": self.dropped,
            "frames_in_bursts": self.burst_frames,
            "longest_burst": self.longest_burst,
            "frames_damaged": self.damaged,
            "damaged_at_s": self.damaged_times(),
            "damaged_at_end": self.damaged_at_end,
            "interrupted": self.interrupted,
            # Frames that waited for the JIT are left out; see "warmup".
            "latency_ms": latency,
            "warmup": self.warmup(),
            "stages": {name: s.snapshot() for name, s in self.stages.items()},
            "processors_ms_per_frame": {k: round(v, 3) for k, v in self.processors_ms.items()},
            "processors_kept_frames": dict(self.processors_kept),
        }
