"""The unit that flows through vidclear: one image with its timing."""

from __future__ import annotations

from fractions import Fraction
from typing import Any, NamedTuple

import numpy as np

from vidclear.errors import ArrayError

__all__ = ["Frame", "Yuv420"]


class Yuv420(NamedTuple):
    """The planes of a decoded 8-bit YUV 4:2:0 picture and the standard they follow.

    ``y`` is H×W, ``u`` and ``v`` H/2×W/2, uint8. ``colorspace`` is
    ``"bt601"`` or ``"bt709"`` (the YUV matrix, FFmpeg's names) and
    ``color_range`` ``"tv"`` (limited: Y 16..235) or ``"pc"`` (full: 0..255).
    """

    y: np.ndarray
    u: np.ndarray
    v: np.ndarray
    colorspace: str
    color_range: str


class Frame:
    """One video frame: an RGB image, its timestamp and metadata.

    Parameters
    ----------
    image : ndarray, optional
        RGB image, H×W×3, ``uint8`` (0..255) or ``uint16`` (0..65535 for
        high-bit-depth sources). Frames are RGB everywhere in vidclear's public
        API, never BGR. May be omitted when ``av_frame`` is given; the array is
        then produced from the decoded frame on first access.
    pts : int, optional
        Presentation timestamp in units of ``time_base``, exactly as the
        source stamped it (variable frame rate is preserved).
    time_base : Fraction, optional
        Seconds per ``pts`` tick.
    meta : dict, optional
        Free-form metadata: ``exposure`` (relative exposure), ``capture_time``
        (``time.monotonic()`` when the frame entered vidclear), ``index``
        (decode order), ``duration`` (ticks the frame is shown: to the next
        frame's time in a file), ``packet_duration`` (ticks, as its packet
        said), ...
    av_frame : av.VideoFrame, optional
        The decoded frame this image came from. Sinks may re-encode it
        directly when no processor replaced the image, skipping two colour
        conversions.
    original : Frame, optional
        The frame as the source produced it; set by :meth:`replace` so views
        such as ``side_by_side`` can show before and after.

    Notes
    -----
    Processors must not modify ``frame.image`` in place: build a new array and
    return ``frame.replace(new_image)``.
    """

    __slots__ = ("_av", "_image", "meta", "original", "pts", "time_base")

    def __init__(
        self,
        image: np.ndarray | None = None,
        *,
        pts: int | None = None,
        time_base: Fraction | None = None,
        meta: dict[str, Any] | None = None,
        av_frame: Any = None,
        original: Frame | None = None,
    ) -> None:
        if image is None and av_frame is None:
            raise ArrayError("Frame needs an image or an av_frame")
        self._image = image
        self._av = av_frame
        self.pts = pts
        self.time_base = time_base
        self.meta = {} if meta is None else meta
        self.original = original

    @property
    def image(self) -> np.ndarray:
        """The RGB image, H×W×3 uint8 or uint16 (converted lazily)."""
        if self._image is None:
            from vidclear.core.convert import av_to_rgb

            self._image = av_to_rgb(self._av)
        return self._image

    @property
    def av_frame(self) -> Any:
        """The decoded ``av.VideoFrame`` behind an untouched image, or None."""
        return self._av

    @property
    def decoded(self) -> Any:
        """The decoded ``av.VideoFrame`` this frame came from, also where a processor
        replaced its image (its colour tags and side data still describe it), or None."""
        return (self.original or self)._av

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width) without forcing a conversion."""
        if self._image is not None:
            return self._image.shape[:2]
        return (self._av.height, self._av.width)

    @property
    def time(self) -> float | None:
        """Presentation time in seconds, or None when unknown."""
        if self.pts is None or self.time_base is None:
            return None
        return float(self.pts * self.time_base)

    def replace(self, image: np.ndarray, **meta: Any) -> Frame:
        """A new frame with ``image`` and the same timing; ``meta`` is merged in."""
        merged = {**self.meta, **meta} if meta else dict(self.meta)
        return Frame(image, pts=self.pts, time_base=self.time_base, meta=merged,
                     original=self.original or self)

    def replace_av(self, av_frame: Any, **meta: Any) -> Frame:
        """A new frame holding a decoded-format picture (e.g. processed YUV planes).

        For processors that work on the decoder's planes directly: the sink
        encodes ``av_frame`` without an RGB round trip, and ``.image`` still
        converts on demand. ``av_frame`` must have the same size as this frame.
        """
        merged = {**self.meta, **meta} if meta else dict(self.meta)
        return Frame(pts=self.pts, time_base=self.time_base, meta=merged, av_frame=av_frame,
                     original=self.original or self)

    def yuv420(self) -> Yuv420 | None:
        """The Y, U and V planes of the decoded picture and their standard, or None.

        Available when the frame still holds an 8-bit 4:2:0 decoded picture
        of even size in BT.601 (or untagged) or BT.709, limited or full range
        (``yuv420p``, ``yuvj420p``): :class:`Yuv420` names which, and
        ``.image`` is the same picture converted with that standard, so a
        processor working on planes sees the colours one working on
        ``.image`` sees when it reads them so. The planes are read-only
        uint8 views of the decoder's buffers (no copy): Y H×W, U and V
        H/2×W/2. None for RGB frames and other formats, sizes and matrices.
        """
        from vidclear.core.convert import yuv420_standard

        av_frame = self._av
        standard = None if av_frame is None else yuv420_standard(av_frame)
        if standard is None:
            return None
        h, w = av_frame.height, av_frame.width
        planes = []
        for plane, (ph, pw) in zip(av_frame.planes, ((h, w), (h // 2, w // 2), (h // 2, w // 2)),
                                   strict=True):
            view = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)[:ph, :pw]
            view.flags.writeable = False  # processors build new planes, never edit these
            planes.append(view)
        return Yuv420(planes[0], planes[1], planes[2], *standard)

    def replace_yuv420(self, y: np.ndarray, u: np.ndarray, v: np.ndarray, **meta: Any) -> Frame:
        """A new frame from processed planes (as :meth:`yuv420` returns them).

        The sink encodes them without an RGB round trip; the source's colour
        tags are kept.
        """
        from vidclear.core.convert import yuv420_to_av

        return self.replace_av(yuv420_to_av(y, u, v, like=self._av), **meta)

    def __repr__(self) -> str:
        h, w = self.shape
        return f"Frame({w}x{h}, pts={self.pts}, time_base={self.time_base}, time={self.time})"
