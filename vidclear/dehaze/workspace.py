"""Scratch planes of the dehazer's working image, reused from frame to frame."""

from __future__ import annotations

import math

import numpy as np

from vidclear.dehaze import _kernels as _k

__all__ = ["Workspace"]


class Workspace:
    """Scratch planes reused from frame to frame while the frame size stays the same.

    Arrays that leave :meth:`Dehazer.process` (in the result or the temporal
    state) are allocated per frame, never taken from here.
    """

    def __init__(self, rows: int, cols: int, s: int, guide_subsample: int) -> None:
        self.key = (rows, cols, s)
        self.h = h = -(-rows // s)
        self.w = w = -(-cols // s)
        self.gs = gs = guide_subsample if min(h, w) >= 2 * guide_subsample else 1
        f32 = np.float32
        self.low = np.empty((h, w, 3), f32)
        self.planes = np.empty((3, h, w), f32)  # ``low``'s channels, for the kernels that vectorise
        self.grey = np.empty((h, w), f32)
        self.minc = np.empty((h, w), f32)
        self.capd = np.zeros((h, w), f32)  # stays 0 when cap_weight = 0
        self.stack = np.empty((2, h, w), f32)
        self.stats = np.empty((2, h, w), f32)
        self.nostats = np.zeros((2, h, w), f32)  # sky floors off: read, never weighed
        # the darkest haze around each pixel, smoothed, on every second row and column
        self.around = np.empty((2, 1, -(-h // 2), -(-w // 2)), f32)
        self.small = np.empty((2, -(-h // gs), -(-w // gs)), f32)
        self.hist = np.empty((8, _k.NBINS), np.int64)
        self.ones = np.ones(3, f32)
        # medians and histograms need only a sample: every step-th row and
        # column, about 8000 pixels or more (every 3rd at 1080p)
        self.step = max(1, math.isqrt(h * w // 8192))
        self._yuvlow: np.ndarray | None = None

    def yuvlow(self) -> np.ndarray:
        """Block means of Y, U, V (3, h, w) float32, byte-valued (YUV path only)."""
        if self._yuvlow is None:
            self._yuvlow = np.empty((3, self.h, self.w), np.float32)
        return self._yuvlow
