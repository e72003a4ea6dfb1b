"""The sink contract: consumers of frames that finalize on ``close``."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from vidclear.core.frame import Frame

__all__ = ["Sink"]


@runtime_checkable
class Sink(Protocol):
    """Consumes frames; finalizes on ``close`` and discards on ``abort``.

    ``close(complete=False)`` follows an interruption: what was written so far
    is kept and finalized (a recording plays up to its last frame).
    ``abort()`` gives up and removes whatever the sink was creating.
    """

    def write(self, frame: Frame) -> None: ...

    def close(self, *, complete: bool = True) -> None: ...

    def abort(self) -> None: ...
