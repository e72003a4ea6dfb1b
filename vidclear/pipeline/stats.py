"""Per-stage counters: fps, time per frame, queue depth, drops, latency."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["PipelineStats", "StageStats"]


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

    def add(self, busy_s: float, frames: int = 1) -> None:
        now = time.perf_counter()
        if self.first_s is None:
            self.first_s = now - busy_s
        self.last_s = now
        self.frames += frames
        self.busy_s += busy_s

    def snapshot(self) -> dict[str, Any]:
        span = (self.last_s - self.first_s
                if self.first_s is not None and self.last_s is not None else 0.0)
        return {
            "frames": self.frames,
            "fps": round(self.frames / span, 2) if span > 0 else 0.0,
            "ms_per_frame": round(1000 * self.busy_s / self.frames, 3) if self.frames else 0.0,
            "queue_depth": self.queue_depth,
            "queue_max": self.queue_max,
            "drops": self.drops,
        }


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
    interrupted: bool = False
    _latency: list[float] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def stage(self, name: str) -> StageStats:
        if name not in self.stages:
            self.stages[name] = StageStats(name)
        return self.stages[name]

    def add_latency(self, seconds: float) -> None:
        with self._lock:
            self._latency.append(seconds)

    def add_media_time(self, t: float | None) -> None:
        if t is None:
            return
        if self.media_start is None:
            self.media_start = t
        self.media_end = t

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
        return (self.media_end - self.media_start) / self.wall_s

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
            "speed": round(self.speed, 3),
            "dropped": self.dropped,
            "interrupted": self.interrupted,
            "latency_ms": latency,
            "stages": {name: s.snapshot() for name, s in self.stages.items()},
            "processors_ms_per_frame": {k: round(v, 3) for k, v in self.processors_ms.items()},
        }
