"""A sink that keeps nothing: for benchmarks and dry runs."""

from __future__ import annotations

from vidclear.core.frame import Frame

__all__ = ["NullSink"]


class NullSink:
    """Count frames (and optionally keep them) without encoding."""

    def __init__(self, *, keep: bool = False) -> None:
        self.frames_written = 0
        self.packets_copied = 0
        self.skipped_streams: list[str] = []
        self.kept: list[Frame] = []
        self.keep = keep
        self.closed = False
        self.complete: bool | None = None

    def write(self, frame: Frame) -> None:
        self.frames_written += 1
        if self.keep:
            self.kept.append(frame)

    def close(self, *, complete: bool = True) -> None:
        self.closed = True
        self.complete = complete

    def abort(self) -> None:
        self.closed = True
        self.complete = False
