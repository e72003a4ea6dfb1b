"""Real-time pacing: release a file's or a graph's frames at their own rate.

A camera or a network stream delivers frames at its own pace. A lavfi graph
(``lavfi:testsrc2=size=1280x720:rate=30``) or a file would be read as fast
as the CPU allows; :class:`RealtimeSource` releases their frames at the
stream's frame rate instead, so they behave like a camera. Every frame it
yields carries ``meta["capture_time"]``, the ``time.monotonic()`` instant it
was released.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from typing import Any

from vidclear.core.frame import Frame
from vidclear.core.source import Source, StreamInfo

__all__ = ["RealtimeSource"]


class RealtimeSource(Source):
    """Release the frames of ``source`` no faster than their timestamps.

    The first frame goes out at once; frame ``k`` goes out when
    ``time(k) - time(0)`` seconds have passed. Its ``capture_time`` is
    re-stamped at release, so latency is measured from the moment a camera
    would have delivered it. A consumer that falls behind does not slow the
    clock down: late frames go out at once.

    Parameters
    ----------
    source : Source
        The source to pace; its :attr:`info` (marked live) and
        :attr:`side_packets` channel are this source's.
    """

    def __init__(self, source: Source) -> None:
        super().__init__(source.spec)
        self.source = source
        self.side_packets = source.side_packets
        #: Seconds spent waiting for frames' times so far (not decoding: the
        #: pipeline's decode figures leave it out).
        self.paced_s = 0.0
        # the first frame's time and when it went out; the others go out that far after
        self._origin: tuple[float, float] | None = None

    @property
    def info(self) -> StreamInfo:
        return dataclasses.replace(self.source.info, is_live=True, frame_count=None)

    @property
    def decode_errors(self) -> int:
        return self.source.decode_errors

    @property
    def frames_decoded(self) -> int:
        return self.source.frames_decoded

    def stop(self) -> None:
        super().stop()
        self.source.stop()

    def after_stop(self) -> None:
        self.source.after_stop()

    def _resume(self) -> None:
        # a loop left with break and begun again after a while: its frames go on
        # at their own rate, not in one burst of the time it was away (trial 153 F7)
        self._origin = None

    def _frames(self) -> Iterator[Frame]:
        self._origin = None
        for frame in self.source:
            t = frame.time
            if t is not None:
                origin: tuple[float, float] | None = self._origin
                if origin is None:
                    self._origin = (t, time.monotonic())
                else:
                    wait = (t - origin[0]) - (time.monotonic() - origin[1])
                    if wait > 0:
                        t0 = time.monotonic()
                        stopped = self.wait(wait)
                        self.paced_s += time.monotonic() - t0
                        if stopped:
                            return
            if self.stopped:
                return
            frame.meta["capture_time"] = time.monotonic()
            yield frame

    def _close(self) -> None:
        self.source.close()

    def status(self) -> dict[str, Any]:
        return {"state": "up", "paced": True}

    def __repr__(self) -> str:
        return f"RealtimeSource({self.source!r})"
