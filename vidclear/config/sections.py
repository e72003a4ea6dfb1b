"""The sections every run has: pipeline, input and output."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from vidclear.core.schema import Section, param
from vidclear.errors import ConfigError

__all__ = ["BITRATE_RANGE", "X26X_PRESETS", "InputConfig", "OutputConfig", "PipelineConfig",
           "PreviewConfig"]


@dataclass(frozen=True)
class PipelineConfig(Section):
    """How frames flow from the source through the processors to the sink."""

    section: ClassVar[str] = "pipeline"

    processors: tuple[str, ...] = param(("copy",), doc="processor names, applied in order")
    mode: str = param(
        "auto", choices=("auto", "file", "live"),
        doc="file: never drop, use backpressure; live: drop oldest, bounded latency; "
            "auto: live for URLs and devices, file otherwise",
    )
    queue_size: int = param(4, lo=1, hi=256, doc="frames buffered between stages")
    processing_threads: int = param(
        0, lo=0, hi=256,
        doc="Numba threads of the processing stage; 0 = auto: half the cores in file mode "
            "(the decoder and encoder use the rest), all but one in live mode")


@dataclass(frozen=True)
class InputConfig(Section):
    """Decoding options."""

    section: ClassVar[str] = "input"

    threads: int = param(0, lo=0, hi=64, doc="decoder threads, 0 = FFmpeg's choice")
    autorotate: bool = param(True, doc="apply the stream's rotation metadata")
    allow_truncated: bool = param(
        False, doc="keep what decodes from a file that ends early or is damaged, instead of "
            "failing (decoded on one thread, as FFmpeg conceals it)"
    )
    size_change: str = param(
        "scale", choices=("scale", "error"),
        doc="frames whose size changes mid-stream: scale them to the first size (as "
            "FFmpeg does), or stop with an error")
    format: str = param("", doc="force an FFmpeg demuxer (e.g. 'mpegts'); empty = probe")
    rtsp_transport: str = param("tcp", choices=("tcp", "udp"), doc="RTSP transport")
    timeout: float = param(10.0, lo=0.1, hi=3600.0, doc="seconds to wait on a network read")
    # Live inputs (cameras, streams, paced virtual sources).
    realtime: str = param(
        "auto", choices=("auto", "on", "off"),
        doc="pace lavfi graphs and files at their frame rate, like a camera; "
            "auto = on for files and lavfi inputs in live mode",
    )
    video_size: str = param("", doc="camera capture size WIDTHxHEIGHT, e.g. '1280x720'; "
                                    "empty = the camera's default")
    framerate: float = param(0.0, lo=0.0, hi=1000.0,
                             doc="frame rate of a camera or a numbered image sequence "
                                 "(FFmpeg's -framerate), 0 = its default (a sequence: 25)")
    start_number: int = param(-1, lo=-1, hi=2**31 - 1,
                              doc="first number of a numbered image sequence such as "
                                  "img%03d.png (FFmpeg's -start_number); -1 = the first of "
                                  "0 to 4 that exists")
    pixel_format: str = param("", choices=("", "mjpeg", "yuyv"),
                              doc="camera input format; empty = the camera's default")
    camera_backend: str = param("auto", choices=("auto", "pyav", "opencv"),
                                doc="camera reader: PyAV's v4l2, OpenCV VideoCapture, or "
                                    "PyAV falling back to OpenCV")
    reconnect: bool = param(True, doc="reopen a network stream that stops or fails")
    reconnect_delay: float = param(0.5, lo=0.0, hi=60.0,
                                   doc="seconds before the first reconnect attempt (doubles "
                                       "up to reconnect_max_delay)")
    reconnect_max_delay: float = param(5.0, lo=0.0, hi=600.0,
                                       doc="longest wait between reconnect attempts")
    reconnect_timeout: float = param(0.0, lo=0.0, hi=86400.0,
                                     doc="give up after the stream was down this long; 0 = never")
    order: str = param("name", choices=("name", "time"),
                       doc="order of a folder's or pattern's files in a trip: file name, or "
                           "creation time")
    # Part of a file, as FFmpeg's input -ss / -t / -to (seconds from its first timestamp).
    start: float = param(0.0, lo=0.0, hi=1e7, doc="seconds to skip (-ss); the output starts at 0")
    duration: float = param(0.0, lo=0.0, hi=1e7,
                            doc="seconds to process from start (-t); 0 = to the end")
    end: float = param(0.0, lo=0.0, hi=1e7,
                       doc="where to stop, in the input's clock (-to); 0 = the end; "
                           "duration wins when both are set")

    @property
    def trim(self) -> tuple[float, float | None] | None:
        """(start, end) seconds when part of the input is asked for, else None."""
        if not (self.start or self.duration or self.end):
            return None
        end = self.start + self.duration if self.duration else (self.end or None)
        return self.start, end

    def validate(self) -> None:
        if self.end and not self.duration and self.end <= self.start:
            raise ConfigError(
                f"input.end = {self.end:g} is not allowed: it must be after input.start = "
                f"{self.start:g} (or use input.duration)")
        if self.format and not _is_container(self.format, "r"):
            raise ConfigError(
                f"input.format = {self.format!r} is not allowed: expected the name of an "
                "FFmpeg demuxer this build has (see `ffmpeg -demuxers`), or empty to probe"
            )
        if self.video_size and parse_size(self.video_size) is None:
            raise ConfigError(
                f"input.video_size = {self.video_size!r} is not allowed: expected "
                "WIDTHxHEIGHT with positive integers, like '1280x720'"
            )


@dataclass(frozen=True)
class PreviewConfig(Section):
    """The live preview: an OpenCV window or the browser page (``--preview``)."""

    section: ClassVar[str] = "preview"

    view: str = param("split", choices=("after", "split", "side_by_side", "before"),
                      doc="what the preview shows first: the result, a before|after wipe, "
                          "both side by side, or the input")
    jpeg_quality: int = param(80, lo=10, hi=100, doc="JPEG quality of the browser stream")
    max_width: int = param(1280, lo=0, hi=8192,
                           doc="shrink wider preview images to this width; 0 = full size")
    max_viewers: int = param(8, lo=1, hi=256, doc="concurrent browser streams; more get 503")
    send_timeout: float = param(2.0, lo=0.1, hi=60.0,
                                doc="seconds a viewer may stall before it is disconnected")
    request_timeout: float = param(2.0, lo=0.1, hi=60.0,
                                   doc="seconds a client has to send its request head")
    max_per_address: int = param(16, lo=1, hi=1024,
                                 doc="connections one client address may hold; past it the "
                                     "one that waited longest for its request head is cut")
    strength_step: float = param(0.1, lo=0.01, hi=1.0, doc="strength change per key press")
    snapshot_dir: str = param("", doc="folder for window snapshots; empty = current folder")


@dataclass(frozen=True)
class OutputConfig(Section):
    """Encoding and muxing options, named as in FFmpeg."""

    section: ClassVar[str] = "output"

    codec: str = param("libx264", doc="video encoder, e.g. libx264, libx265, libvpx-vp9, mpeg4")
    format: str = param("", doc="container (FFmpeg muxer name, -f): matroska, mpegts, nut, mp4, "
                                "flv, ...; empty = by the output's extension or URL scheme")
    crf: int = param(20, lo=0, hi=63, doc="constant rate factor (x264/x265/vpx/aom/svt-av1)")
    bitrate: str | int = param("", doc="target bitrate like '8M' or 8000000 (bits/s); when set "
                                       "it replaces crf")
    preset: str = param("veryfast", doc="encoder speed preset of libx264/libx265 (ultrafast ... "
                                           "placebo); libvpx (VP8/VP9) runs in its real-time "
                                           "mode for ultrafast to veryfast; others ignore it")
    pix_fmt: str = param("yuv420p", doc="output pixel format; yuv420p plays everywhere")
    threads: int = param(0, lo=0, hi=64, doc="encoder threads, 0 = FFmpeg's choice")
    copy_streams: bool = param(True, doc="copy audio, subtitle and data streams packet for packet")
    reconnect: bool = param(True, doc="network outputs (rtmp, srt, tcp, rtsp): reconnect with "
                                      "growing waits when the receiver goes away")
    reconnect_timeout: float = param(60.0, lo=0.0, hi=86400.0,
                                     doc="give up on a lost network output after this many "
                                         "seconds; 0 = never")
    crash_safe: str = param(
        "auto", choices=("auto", "on", "off"),
        doc="write a container that survives a hard kill (fragmented MP4 / MKV); "
            "auto = on for live inputs",
    )

    def validate(self) -> None:
        if self.bitrate and parse_bitrate(self.bitrate) is None:
            raise ConfigError(
                f"output.bitrate = {_short(str(self.bitrate))} is not allowed: expected bits per "
                f"second with an optional k/M/G suffix, like '8M', from {BITRATE_RANGE[0]:g} "
                f"to {BITRATE_RANGE[1]:g}"
            )
        if self.preset and self.preset not in X26X_PRESETS:
            raise ConfigError(
                f"output.preset = {_short(self.preset)} is not allowed: expected one of "
                f"{', '.join(X26X_PRESETS)} (the x264/x265 speed presets), or empty for the "
                "encoder's default"
            )
        if self.format and not _is_container(self.format, "w"):
            raise ConfigError(
                f"output.format = {_short(self.format)} is not allowed: expected the name of an "
                "FFmpeg muxer this build has (matroska, mpegts, nut, mp4, flv; see "
                "`ffmpeg -muxers`), or empty to choose by the output's name"
            )


#: The speed presets libx264 and libx265 know (x264 --fullhelp, x265 --help).
X26X_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow",
                "slower", "veryslow", "placebo")

#: Bitrates accepted for output.bitrate, in bits per second (1 kbit/s to 10 Gbit/s).
BITRATE_RANGE = (1e3, 1e10)


def _short(text: str, limit: int = 40) -> str:
    """``repr`` of a value for an error message, cut to ``limit`` characters."""
    if len(text) <= limit:
        return repr(text)
    return repr(text[:limit]) + f"... ({len(text)} characters)"


def _is_container(name: str, mode: Literal["r", "w"]) -> bool:
    """True when this FFmpeg has a demuxer (``mode="r"``) or muxer (``"w"``) called ``name``."""
    import av

    if len(name) > 64:
        return False
    try:
        fmt = av.format.ContainerFormat(name, mode)
    except ValueError:
        return False
    return bool(fmt.is_input if mode == "r" else fmt.is_output)


def parse_bitrate(text: str | int) -> int | None:
    """'8M' (or 8000000) -> 8000000; None when the value is not a bitrate."""
    text = str(text).strip()
    scale = {"k": 1e3, "K": 1e3, "m": 1e6, "M": 1e6, "g": 1e9, "G": 1e9}.get(text[-1:], 1.0)
    number = text[:-1] if text[-1:] in "kKmMgG" else text
    try:
        value = float(number) * scale
    except ValueError:
        return None
    if not BITRATE_RANGE[0] <= value <= BITRATE_RANGE[1]:  # also refuses inf and nan
        return None
    return int(value)


def parse_size(text: str) -> tuple[int, int] | None:
    """'1280x720' -> (1280, 720); None when the text is not a size."""
    w, sep, h = text.strip().lower().partition("x")
    if not sep or not w.isdigit() or not h.isdigit() or int(w) <= 0 or int(h) <= 0:
        return None
    return int(w), int(h)
