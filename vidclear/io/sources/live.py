"""Live sources: pick the right reader for an INPUT and pace virtual ones.

A camera or a network stream delivers frames at its own pace. A lavfi graph
(``lavfi:testsrc2=size=1280x720:rate=30``) or a file would be read as fast
as the CPU allows; :class:`RealtimeSource` releases their frames at the
stream's frame rate instead, so they behave like a camera. Every frame a
live source yields carries ``meta["capture_time"]``, the
``time.monotonic()`` instant it was captured (or released).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from vidclear.config.sections import InputConfig
from vidclear.io.sources.av_source import AVSource, classify_input
from vidclear.io.sources.camera import OpenCVSource, open_camera
from vidclear.io.sources.network import NetworkSource
from vidclear.pipeline.frame import Frame

__all__ = ["RealtimeSource", "open_live_source"]


class RealtimeSource:
    """Release the frames of ``source`` no faster than their timestamps.

    The first frame goes out at once; frame ``k`` goes out when
    ``time(k) - time(0)`` seconds have passed. Its ``capture_time`` is
    re-stamped at release, so latency is measured from the moment a camera
    would have delivered it. A consumer that falls behind does not slow the
    clock down: late frames go out at once.

    Every other attribute (``rate``, ``time_base``, ``side_packets``, ...) is
    the wrapped source's.
    """

    def __init__(self, source: Any) -> None:
        self.source = source
        self.is_live = True
        self._stop = threading.Event()

    def __getattr__(self, name: str) -> Any:
        if name == "source":  # not yet set during unpickling / early errors
            raise AttributeError(name)
        return getattr(self.source, name)

    def stop(self) -> None:
        self._stop.set()
        self.source.stop()

    def __iter__(self) -> Iterator[Frame]:
        origin: tuple[float, float] | None = None
        for frame in self.source:
            t = frame.time
            if t is not None:
                if origin is None:
                    origin = (t, time.monotonic())
                else:
                    wait = (t - origin[0]) - (time.monotonic() - origin[1])
                    if wait > 0 and self._stop.wait(wait):
                        return
            if self._stop.is_set():
                return
            frame.meta["capture_time"] = time.monotonic()
            yield frame

    def close(self) -> None:
        self.source.close()

    def status(self) -> dict[str, Any]:
        return {"state": "up", "paced": True}

    def __repr__(self) -> str:
        return f"RealtimeSource({self.source!r})"


def open_live_source(
    spec: str,
    *,
    config: InputConfig | None = None,
    live: bool = True,
    on_event: Callable[[str], Any] | None = None,
) -> AVSource | NetworkSource | OpenCVSource | RealtimeSource:
    """Open INPUT for a live run.

    Parameters
    ----------
    spec : str
        ``camera:N`` or ``/dev/videoN`` (V4L2 camera), a stream URL
        (rtsp, udp, http, srt, ...), ``lavfi:<graph>`` or a file.
    config : InputConfig, optional
        Camera, reconnect and pacing settings.
    live : bool
        The run drops frames to keep latency bounded; with
        ``input.realtime = "auto"`` lavfi graphs are then paced.
    on_event : callable, optional
        Receives one-line reports (stream lost, back, ...).

    Raises
    ------
    InputError
        The input cannot be opened (e.g. "no camera at /dev/video0").
    """
    cfg = config or InputConfig()
    kind = classify_input(spec)
    if kind == "camera":
        return open_camera(spec, config=cfg)
    if kind == "url":
        if cfg.reconnect:
            return NetworkSource(spec, config=cfg, on_event=on_event)
        return AVSource(spec, config=cfg, copy_streams=False)
    source = AVSource(spec, config=cfg, copy_streams=False)
    pace = cfg.realtime == "on" or (cfg.realtime == "auto" and live and kind == "lavfi")
    return RealtimeSource(source) if pace else source
