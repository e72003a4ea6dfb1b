"""Processors that need no image science: pass-through and a before/after view."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import cv2
import numpy as np

from vidclear.core.frame import Frame
from vidclear.core.processor import Processor
from vidclear.core.schema import Section, param
from vidclear.errors import ArrayError
from vidclear.kernels.draw import draw_label

__all__ = ["Copy", "CopyConfig", "SideBySide", "SideBySideConfig", "draw_label", "side_by_side"]


@dataclass(frozen=True)
class CopyConfig(Section):
    """``copy`` has no settings."""

    section: ClassVar[str] = "copy"


class Copy(Processor[CopyConfig]):
    """Pass frames through untouched (the decoded frame is re-encoded as is)."""

    name = "copy"
    Config = CopyConfig

    def __call__(self, frame: Frame) -> Frame:
        return frame


@dataclass(frozen=True)
class SideBySideConfig(Section):
    """Layout and labels of the before/after view."""

    section: ClassVar[str] = "side_by_side"

    layout: str = param("horizontal", choices=("horizontal", "vertical"),
                        doc="before left of after, or above it")
    scale: float = param(1.0, lo=0.0, hi=1.0, lo_open=True,
                         doc="size of each half relative to the input; 0.5 keeps the input size")
    label_before: str = param("before", doc="text on the input half; empty for none")
    label_after: str = param("after", doc="text on the processed half; empty for none")


def side_by_side(
    before: np.ndarray,
    after: np.ndarray,
    *,
    layout: str = "horizontal",
    scale: float = 1.0,
    label_before: str = "before",
    label_after: str = "after",
) -> np.ndarray:
    """Join two RGB images of one size into one labelled image.

    Parameters
    ----------
    before, after : ndarray
        RGB images, H×W×3, uint8 or uint16, the same shape.
    layout : {"horizontal", "vertical"}
        ``before`` left of (or above) ``after``.
    scale : float
        Each half is resized by this factor first (area interpolation).

    Returns
    -------
    ndarray
        H×2W×3 (or 2H×W×3) for ``scale=1``, same dtype as the inputs.
    """
    if before.shape != after.shape:
        raise ArrayError(f"before {before.shape} and after {after.shape} differ in shape")
    if after.dtype != before.dtype:
        after = after.astype(before.dtype)
    halves = []
    for img, label in ((before, label_before), (after, label_after)):
        if scale != 1.0:
            h, w = img.shape[:2]
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
        else:
            img = img.copy()
        draw_label(img, label)
        halves.append(img)
    axis = 1 if layout == "horizontal" else 0
    return np.concatenate(halves, axis=axis)


class SideBySide(Processor[SideBySideConfig]):
    """Show the source frame beside the processed one, labelled.

    Put it last in the chain: it pairs each frame with ``frame.original``,
    the frame as the source produced it.
    """

    name = "side_by_side"
    Config = SideBySideConfig

    def __call__(self, frame: Frame) -> Frame:
        cfg = self.config
        before = (frame.original or frame).image
        after = frame.image
        if after.shape != before.shape:
            after = cv2.resize(after, (before.shape[1], before.shape[0]),
                               interpolation=cv2.INTER_AREA)
        out = side_by_side(before, after, layout=cfg.layout, scale=cfg.scale,
                           label_before=cfg.label_before, label_after=cfg.label_after)
        return frame.replace(out)
