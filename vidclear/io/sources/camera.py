"""Cameras: V4L2 devices through PyAV, with OpenCV's VideoCapture as a fallback.

``camera:0`` and ``/dev/video0`` name the same device. Size, frame rate and
the camera's own pixel format (``mjpeg`` or ``yuyv``) come from
:class:`~vidclear.config.sections.InputConfig` (``video_size``,
``framerate``, ``pixel_format``); ``camera_backend`` picks the reader.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from fractions import Fraction

import cv2
import numpy as np

from vidclear.config.sections import InputConfig, parse_size
from vidclear.core.frame import Frame
from vidclear.core.source import Source, StreamInfo
from vidclear.errors import InputError
from vidclear.io.sources.av_source import CAPTURE_TIME_BASE, AVSource, camera_device

__all__ = ["OpenCVSource", "open_camera", "v4l2_options"]

# FFmpeg's v4l2 ``input_format`` names for the formats we offer.
_V4L2_FORMATS = {"mjpeg": "mjpeg", "yuyv": "yuyv422"}
_FOURCC = {"mjpeg": "MJPG", "yuyv": "YUYV"}


def v4l2_options(config: InputConfig) -> dict[str, str]:
    """FFmpeg v4l2 demuxer options for the camera settings in ``config``.

    >>> v4l2_options(InputConfig(video_size="1280x720", framerate=30, pixel_format="mjpeg"))
    {'video_size': '1280x720', 'framerate': '30', 'input_format': 'mjpeg'}
    """
    options: dict[str, str] = {}
    if config.video_size:
        w, h = parse_size(config.video_size) or (0, 0)
        options["video_size"] = f"{w}x{h}"
    if config.framerate:
        options["framerate"] = f"{config.framerate:g}"
    if config.pixel_format:
        options["input_format"] = _V4L2_FORMATS[config.pixel_format]
    return options


def open_camera(spec: str, *, config: InputConfig | None = None) -> AVSource | OpenCVSource:
    """Open ``camera:N`` or ``/dev/videoN`` with the configured backend.

    ``camera_backend = "auto"`` tries PyAV's v4l2 demuxer first and falls
    back to OpenCV's VideoCapture when PyAV cannot open the device.

    Raises
    ------
    InputError
        No such device ("no camera at /dev/video0"), or no backend could open it.
    """
    cfg = config or InputConfig()
    device = camera_device(spec)
    if not os.path.exists(device):
        raise InputError(f"no camera at {device}")
    if cfg.camera_backend == "opencv":
        return OpenCVSource(device, config=cfg, api=cv2.CAP_V4L2)
    try:
        return AVSource(spec, config=cfg, copy_streams=False, options=v4l2_options(cfg))
    except InputError as first:
        if cfg.camera_backend == "pyav":
            raise
        try:
            return OpenCVSource(device, config=cfg, api=cv2.CAP_V4L2)
        except InputError as second:
            raise InputError(f"{first}; OpenCV fallback: {second}") from None


class OpenCVSource(Source):
    """Frames from OpenCV's ``VideoCapture`` (a camera, or anything it opens).

    Frames are stamped with their capture time: ``pts`` counts microseconds
    since the first frame and ``meta["capture_time"]`` is ``time.monotonic()``
    when ``read()`` returned.

    Parameters
    ----------
    target : str or int
        A device path (``/dev/video0``), a device index, or a file/URL.
    config : InputConfig, optional
        ``video_size``, ``framerate`` and ``pixel_format`` are requested from
        the device (a camera may choose the nearest it supports).
    api : int
        OpenCV capture API, e.g. ``cv2.CAP_V4L2`` or ``cv2.CAP_FFMPEG``.

    Raises
    ------
    InputError
        OpenCV cannot open ``target`` or read a first frame from it.
    """

    kind = "camera"

    def __init__(
        self, target: str | int, *, config: InputConfig | None = None, api: int = cv2.CAP_ANY
    ) -> None:
        super().__init__(str(target))
        self.config = config or InputConfig()
        self.time_base = CAPTURE_TIME_BASE
        self._cap = cv2.VideoCapture(target, api)
        if not self._cap.isOpened():
            self._cap.release()
            raise InputError(f"OpenCV cannot open {self.spec}")
        self._configure()
        ok, first = self._cap.read()
        if not ok or first is None:
            self._cap.release()
            raise InputError(f"OpenCV opened {self.spec} but read no frame from it")
        self._first: np.ndarray | None = first
        self._first_time = time.monotonic()
        self.height, self.width = first.shape[:2]
        fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.rate: Fraction | None = Fraction(fps).limit_denominator(1001) if fps > 0 else None

    def _configure(self) -> None:
        cfg, cap = self.config, self._cap
        if cfg.pixel_format:
            cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*_FOURCC[cfg.pixel_format]))
        if cfg.video_size:
            w, h = parse_size(cfg.video_size) or (0, 0)
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, w)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, h)
        if cfg.framerate:
            cap.set(cv2.CAP_PROP_FPS, cfg.framerate)

    @property
    def info(self) -> StreamInfo:
        return StreamInfo(spec=self.spec, width=self.width, height=self.height,
                          time_base=self.time_base, rate=self.rate, is_live=True)

    def _frames(self) -> Iterator[Frame]:
        t0, last = self._first_time, -1
        while not self.stopped:
            if self._first is not None:
                bgr, captured, self._first = self._first, self._first_time, None
            else:
                ok, bgr = self._cap.read()
                captured = time.monotonic()
                if not ok or bgr is None:
                    return
            if bgr.ndim == 2:
                rgb = cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB)
            else:
                rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            pts = last = max(last + 1, round((captured - t0) * 1_000_000))
            meta = {"index": self.frames_decoded, "capture_time": captured}
            self._frames_decoded += 1
            yield Frame(rgb, pts=pts, time_base=self.time_base, meta=meta)

    def _close(self) -> None:
        self._cap.release()
