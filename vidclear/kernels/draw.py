"""Text labels on frames: one helper for every view, mosaic and on-screen display."""

from __future__ import annotations

import cv2
import numpy as np

from vidclear.errors import ArrayError, ConfigError

__all__ = ["draw_label"]

_FONT = cv2.FONT_HERSHEY_SIMPLEX
_CORNERS = ("top-left", "bottom-left")


def draw_label(image: np.ndarray, text: str, *, corner: str = "top-left",
               scale: float | None = None) -> None:
    """Draw ``text`` in a corner of ``image``, in place, legible on any background.

    The text is white with a black outline, on a box where the picture is
    darkened to a quarter of its brightness, so it reads on white, black and
    busy backgrounds alike while the picture stays visible behind it.

    Parameters
    ----------
    image : ndarray
        H×W×C (C = 1, 3 or 4) or H×W image, uint8, uint16 or float (white is
        255, 65535 or 1.0); modified in place.
    text : str
        The label; ``"\\n"`` starts a new line. Empty text draws nothing.
    corner : {"top-left", "bottom-left"}
        Where the box goes.
    scale : float, optional
        OpenCV font scale; default ``max(0.35, H / 720)``, so labels stay
        readable from thumbnails to 4K.

    Raises
    ------
    ValueError
        For an unknown ``corner`` or an image that is not 2-D or 3-D.
    """
    if corner not in _CORNERS:
        raise ConfigError(f"corner must be one of {', '.join(_CORNERS)}, got {corner!r}")
    if image.ndim not in (2, 3):
        raise ArrayError(f"image must be H×W or H×W×C, got shape {image.shape}")
    lines = text.split("\n") if text else []
    if not lines:
        return
    h, w = image.shape[:2]
    s = max(0.35, h / 720) if scale is None else float(scale)
    thick = max(1, round(s * 2))
    sizes = [cv2.getTextSize(t, _FONT, s, thick) for t in lines]
    line_h = max(th + base for (_, th), base in sizes)
    pad = max(2, round(6 * s))
    gap = max(1, round(4 * s))
    box_w = max(tw for (tw, _), _ in sizes) + 2 * pad
    box_h = len(lines) * line_h + (len(lines) - 1) * gap + 2 * pad
    # putText draws 8-bit only: render the outline and the text as masks,
    # then blend them into the image in its own depth.
    outline = np.zeros((box_h, box_w), np.uint8)
    fill = np.zeros((box_h, box_w), np.uint8)
    for i, (t, ((_, th), _)) in enumerate(zip(lines, sizes, strict=True)):
        org = (pad, pad + i * (line_h + gap) + th)
        cv2.putText(outline, t, org, _FONT, s, 255, thick + 2 * max(1, thick // 2), cv2.LINE_AA)
        cv2.putText(fill, t, org, _FONT, s, 255, thick, cv2.LINE_AA)
    bw, bh = min(w, box_w), min(h, box_h)
    y0 = 0 if corner == "top-left" else h - bh
    m0 = 0 if corner == "top-left" else box_h - bh
    region = image[y0:y0 + bh, :bw]
    white = 1.0 if image.dtype.kind == "f" else float(np.iinfo(image.dtype).max) \
        if image.dtype.kind in "ui" else 1.0
    a_out = outline[m0:m0 + bh, :bw].astype(np.float32) / 255
    a_txt = fill[m0:m0 + bh, :bw].astype(np.float32) / 255
    if region.ndim == 3:
        a_out, a_txt = a_out[:, :, None], a_txt[:, :, None]
    out = region.astype(np.float32) * 0.25 * (1 - a_out)  # darkened box, black outline
    out = out * (1 - a_txt) + white * a_txt
    if image.dtype.kind in "ui":
        out = np.rint(out)
    region[...] = out.astype(image.dtype)
