"""Frame sources: files, URLs, cameras and lavfi graphs, behind one :func:`open_source`.

Every source is a :class:`vidclear.core.Source`: it iterates frames, describes
its video in a :class:`~vidclear.core.StreamInfo`, and passes audio, subtitle
and data packets through its ``side_packets`` channel.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from vidclear.config.sections import InputConfig
from vidclear.core.source import Source
from vidclear.io.sources.av_source import AVSource, classify_input
from vidclear.io.sources.camera import OpenCVSource, open_camera
from vidclear.io.sources.network import NetworkSource, stream_options
from vidclear.io.sources.realtime import RealtimeSource

__all__ = ["AVSource", "NetworkSource", "OpenCVSource", "RealtimeSource", "Source",
           "classify_input", "open_source"]


def open_source(
    spec: str,
    *,
    config: InputConfig | None = None,
    live: bool | None = None,
    copy_streams: bool = True,
    on_event: Callable[[str], Any] | None = None,
    options: Mapping[str, str] | None = None,
) -> Source:
    """Open a file, URL, camera or ``lavfi:<graph>`` as a frame source.

    Parameters
    ----------
    spec : str
        A path, a URL (``rtsp://``, ``udp://``, ``http://``, ``srt://``, ...),
        ``camera:N`` or ``/dev/videoN``, or ``lavfi:<graph>``.
    config : InputConfig, optional
        Decoder threads, rotation, camera settings, ``reconnect*`` for
        streams, ``realtime`` pacing.
    live : bool, optional
        The run is live (frames may be dropped to bound latency). Default:
        live for URLs and cameras. In a live run, URLs reconnect by themselves
        (``input.reconnect``), lavfi graphs are paced in real time
        (``input.realtime = "auto"``) and no packets are passed through.
    copy_streams : bool
        Pass audio, subtitle and data packets through ``side_packets`` (files
        and non-live runs only).
    on_event : callable, optional
        Receives one-line reports from reconnecting streams.
    options : mapping, optional
        Extra FFmpeg demuxer/protocol options.

    Returns
    -------
    Source
        Iterate it for :class:`~vidclear.core.Frame` objects; use it as a
        context manager::

            with vidclear.open_source("drive.mp4") as src:
                for frame in src:
                    rgb = frame.image

    Raises
    ------
    InputError
        The input does not exist, cannot be opened or has no video stream.
    """
    cfg = config or InputConfig()
    kind = classify_input(spec)
    if live is None:
        live = kind in ("url", "camera")
    if kind == "camera":
        return open_camera(spec, config=cfg)
    if kind == "url" and live:
        if cfg.reconnect:
            return NetworkSource(spec, config=cfg, on_event=on_event)
        return AVSource(spec, config=cfg, copy_streams=False,
                        options={**stream_options(spec), **(options or {})})
    source = AVSource(spec, config=cfg, copy_streams=copy_streams and not live, options=options)
    pace = cfg.realtime == "on" or (cfg.realtime == "auto" and live and kind == "lavfi")
    return RealtimeSource(source) if pace else source
