"""Before/after views of a processed frame, for the live previews."""

from __future__ import annotations

import cv2
import numpy as np

from vidclear.core.frame import Frame
from vidclear.errors import ArrayError, ConfigError
from vidclear.kernels.draw import draw_label

__all__ = ["VIEWS", "compose_view", "fit_width", "to_uint8"]

VIEWS = ("after", "split", "side_by_side", "before")


def to_uint8(image: np.ndarray) -> np.ndarray:
    """An RGB uint8 copy-free view of ``image`` (uint16 is scaled down)."""
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return (image >> 8).astype(np.uint8)
    raise ArrayError(f"preview images must be uint8 or uint16, got {image.dtype}")


def fit_width(image: np.ndarray, max_width: int) -> np.ndarray:
    """Shrink ``image`` (area interpolation) so it is at most ``max_width`` wide."""
    h, w = image.shape[:2]
    if max_width <= 0 or w <= max_width:
        return image
    size = (max_width, max(1, round(h * max_width / w)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def compose_view(frame: Frame, view: str, *, max_width: int = 0) -> np.ndarray:
    """The preview image of ``frame`` for one of :data:`VIEWS`.

    Parameters
    ----------
    frame : Frame
        A processed frame; ``frame.original`` is the input it came from (a
        frame no processor replaced is its own original).
    view : {"after", "split", "side_by_side", "before"}
        ``split`` shows the input left of the centre line and the result
        right of it, in one frame-sized image.
    max_width : int
        Shrink the result to at most this width; 0 keeps the size.

    Returns
    -------
    ndarray
        RGB H×W×3 uint8 (C-contiguous).
    """
    if view not in VIEWS:
        raise ConfigError(f"view must be one of {', '.join(VIEWS)}, got {view!r}")
    after = to_uint8(frame.image)
    before = to_uint8((frame.original or frame).image)
    if before.shape != after.shape:
        before = cv2.resize(before, (after.shape[1], after.shape[0]),
                            interpolation=cv2.INTER_AREA)
    if view == "after":
        return np.ascontiguousarray(fit_width(after, max_width))
    if view == "before":
        out = fit_width(before, max_width).copy()
        draw_label(out, "before")
        return out
    if view == "split":
        after, before = fit_width(after, max_width), fit_width(before, max_width)
        w = after.shape[1]
        out = after.copy()
        half = w // 2
        out[:, :half] = before[:, :half]
        out[:, max(0, half - 1):half + 1] = 255
        draw_label(out, "before | after")
        return out
    half_width = max_width // 2 if max_width else 0
    left, right = fit_width(before, half_width).copy(), fit_width(after, half_width).copy()
    draw_label(left, "before")
    draw_label(right, "after")
    return np.concatenate([left, right], axis=1)
