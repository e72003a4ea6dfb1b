"""Frame sources: files, URLs, cameras and lavfi graphs, behind one :func:`open_source`.

Every source is a :class:`vidclear.core.Source`: it iterates frames, describes
its video in a :class:`~vidclear.core.StreamInfo`, and passes audio, subtitle
and data packets through its ``side_packets`` channel.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from vidclear.config.sections import InputConfig
from vidclear.core.source import Source
from vidclear.errors import ConfigError, InputError
from vidclear.io.sources.av_source import AVSource, classify_input
from vidclear.io.sources.camera import OpenCVSource, open_camera
from vidclear.io.sources.network import NetworkSource, remote_file
from vidclear.io.sources.realtime import RealtimeSource
from vidclear.io.sources.trim import TrimSource
from vidclear.io.sources.trip import TripSource, expand_inputs

__all__ = ["AVSource", "NetworkSource", "OpenCVSource", "RealtimeSource", "Source",
           "TrimSource", "TripSource", "classify_input", "expand_inputs", "open_source"]


def open_source(
    spec: str | os.PathLike[str] | Sequence[str],
    *,
    config: InputConfig | None = None,
    live: bool | None = None,
    copy_streams: bool = True,
    on_event: Callable[[str], Any] | None = None,
    options: Mapping[str, str] | None = None,
    pace: bool | None = None,
) -> Source:
    """Open a file, URL, camera or ``lavfi:<graph>`` as a frame source.

    Parameters
    ----------
    spec : str or sequence of str
        A path, a URL (``rtsp://``, ``udp://``, ``http://``, ``srt://``, ...),
        ``camera:N`` or ``/dev/videoN``, or ``lavfi:<graph>``. Several files,
        a folder or a glob pattern make a trip (:class:`TripSource`): one
        continuous input, in file-name order (``input.order = "time"`` sorts
        by creation time).
    config : InputConfig, optional
        Decoder threads, rotation, camera settings, ``reconnect*`` for
        streams, ``realtime`` pacing.
    live : bool, optional
        The run is live (frames may be dropped to bound latency). Default:
        live for cameras and URLs, but for a file on a server (an
        ``http(s)://`` or ``ftp://`` URL of known length,
        :func:`~vidclear.io.sources.network.remote_file`), which is read as
        a file. In a live run, URLs reconnect by themselves
        (``input.reconnect``), files (on a server too) and lavfi graphs are
        paced in real time (``input.realtime = "auto"``) and no packets are
        passed through.
    copy_streams : bool
        Pass audio, subtitle and data packets through ``side_packets`` (files
        and non-live runs only).
    on_event : callable, optional
        Receives one-line reports from reconnecting streams.
    options : mapping, optional
        Extra FFmpeg demuxer/protocol options.
    pace : bool, optional
        Release frames at their own rate (:class:`RealtimeSource`); default:
        ``input.realtime``, where "auto" paces files and lavfi graphs in live
        runs.

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
    if config is not None and not isinstance(config, InputConfig):
        raise TypeError(f"config must be an InputConfig (load_config(...).input), got "
                        f"{type(config).__name__}")
    cfg = config or InputConfig()
    if isinstance(spec, os.PathLike | bytes):
        spec = os.fsdecode(spec)
    if not isinstance(spec, str | Sequence):
        raise TypeError("spec must be a path, URL, camera or lavfi graph, or a list of them, "
                        f"got {type(spec).__name__}")
    if isinstance(spec, str) and classify_input(spec) == "file" and (
            os.path.isdir(spec) or (glob.has_magic(spec) and not os.path.exists(spec))):
        spec = [spec]  # a folder or a pattern: a trip, as on the command line
    if not isinstance(spec, str):
        notes: list[str] = []
        files = expand_inputs(spec, order=cfg.order, notes=notes)
        if not files:
            raise InputError("no input given: name a file, folder, pattern, URL or lavfi graph")
        if len(files) > 1:
            if any(classify_input(f) != "file" for f in files):
                raise ConfigError("several inputs make a trip of local files; URLs (files "
                                  "on a server too), cameras and lavfi graphs can only be run "
                                  "one at a time")
            if cfg.trim is not None:
                raise ConfigError("-ss / -t / -to apply to one input, not to a trip of "
                                  f"{len(files)} files")
            trip = TripSource(files, config=cfg, copy_streams=copy_streams and not live)
            trip.notes.extend(notes)
            return RealtimeSource(trip) if _paced(cfg, pace, live, "file") else trip
        spec = files[0]
    else:
        notes = []
    kind = classify_input(spec)
    if live is None:
        live = kind == "camera" or (kind == "url" and not remote_file(spec, cfg))
    limit = _live_limit(cfg) if kind == "camera" or (kind == "url" and live) else None
    if kind == "camera":
        camera = open_camera(spec, config=cfg)
        if limit is not None:
            camera.limit_duration(limit)
        return camera
    if kind == "url" and live:
        # also with input.reconnect off: it stamps the frames of a stream that
        # carries no times with their capture time
        stream = NetworkSource(spec, config=cfg, on_event=on_event, options=options)
        if limit is not None:
            stream.limit_duration(limit)
        # a file on a server, run live (--preset webcam), plays at its own rate as a
        # local file does: read as fast as it came, 392 of 450 frames were dropped
        # without a word (trial 78 F6)
        paced = _paced(cfg, pace, live, "file" if stream.finite else kind)
        return RealtimeSource(stream) if paced else stream
    decoded = AVSource(spec, config=cfg, copy_streams=copy_streams and not live, options=options,
                       live=bool(live) if kind == "url" else None)
    decoded.notes.extend(notes)  # what a folder of one video left out
    source: Source = decoded
    if cfg.trim is not None:
        start, end = cfg.trim
        try:
            source = TrimSource(decoded, start=start, end=end)
        except BaseException:
            decoded.close()
            raise
    return RealtimeSource(source) if _paced(cfg, pace, live, kind) else source


def _live_limit(cfg: InputConfig) -> float | None:
    """Seconds a camera or live stream is read for (``-t`` / ``-to``), or None.

    Raises
    ------
    ConfigError
        A start (``-ss``) is asked for: a live input has none to seek to.
    """
    if cfg.trim is None:
        return None
    start, end = cfg.trim
    if start:
        # (a file or a graph in a live run is trimmed, then played at its own
        # rate: refused as "a live stream or camera", a file run with the
        # webcam config blamed the wrong thing, trial 60)
        raise ConfigError("input.start (-ss) needs a file or a graph: a live stream or "
                          "camera has no start to seek to (-t and -to count from its "
                          "first frame)")
    return end


def _paced(cfg: InputConfig, pace: bool | None, live: bool | None, kind: str) -> bool:
    """Whether frames are released at their own rate: ``pace``, else ``input.realtime``.

    "auto" paces files and lavfi graphs in a live run: read as fast as they
    decode, a live run kept only the latest of each burst (2 frames of 175
    written from a 7 s clip), where a camera would have delivered them all.
    """
    if pace is not None:
        return pace
    return cfg.realtime == "on" or (cfg.realtime == "auto" and bool(live)
                                    and kind in ("lavfi", "file"))
