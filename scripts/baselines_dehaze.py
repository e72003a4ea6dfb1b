"""Peers for vidclear's dehazer, used by bench_dehaze.py and quality_dehaze.py.

* :func:`opencv_fast_dcp`: the fastest OpenCV-only version of the same
  algorithm we could write: float32, ``cv2.erode`` dark channel and
  ``cv2.ximgproc.guidedFilter`` on a quarter-size image, bilinear upsampling
  of the transmission, recovery with OpenCV arithmetic.
* :func:`textbook_dcp`: He, Sun and Tang's dark channel prior as published:
  float64 at full resolution, patch 15, A from the brightest input pixel
  among the top 0.1 % of the dark channel, omega 0.95, guided-filter
  refinement with radius 60 and eps 1e-4 on the grey image, t0 0.1.

Both take and return RGB uint8 H×W×3.

References
----------
.. [1] K. He, J. Sun and X. Tang, "Single image haze removal using dark channel
   prior", CVPR 2009.
.. [2] K. He, J. Sun and X. Tang, "Guided image filtering", ECCV 2010.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["opencv_fast_dcp", "textbook_dcp"]


def _airlight_top(dark: np.ndarray, img: np.ndarray, fraction: float = 0.001) -> np.ndarray:
    flat = dark.reshape(-1)
    n = max(1, int(fraction * flat.size))
    idx = np.argpartition(flat, flat.size - n)[flat.size - n:]
    cand = img.reshape(-1, 3)[idx]
    return cand[np.argmax(cand.sum(axis=1))]


def opencv_fast_dcp(rgb: np.ndarray, *, patch: int = 15, radius: int = 20, eps: float = 1e-3,
                    omega: float = 0.95, t0: float = 0.1, factor: int = 4) -> np.ndarray:
    """DCP with OpenCV primitives, transmission at 1/``factor`` size, float32."""
    h, w = rgb.shape[:2]
    small = cv2.resize(rgb, (w // factor, h // factor), interpolation=cv2.INTER_AREA)
    small = small.astype(np.float32) * np.float32(1 / 255)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (patch, patch))
    dark = cv2.erode(np.min(small, axis=2), kernel)
    a = _airlight_top(dark, small)
    norm = cv2.multiply(small, (1.0 / float(a[0]), 1.0 / float(a[1]), 1.0 / float(a[2]), 0.0))
    t = 1.0 - omega * cv2.erode(np.min(norm, axis=2), kernel)
    grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    t = cv2.ximgproc.guidedFilter(grey, t.astype(np.float32), radius, eps)
    t = cv2.resize(t, (w, h), interpolation=cv2.INTER_LINEAR)
    t = cv2.max(t, t0)
    a255 = (*tuple(float(v) * 255.0 for v in a), 0.0)
    img = rgb.astype(np.float32)
    j = cv2.add(cv2.divide(cv2.subtract(img, a255), cv2.merge([t, t, t])), a255)
    return np.clip(j, 0, 255).astype(np.uint8)


def textbook_dcp(rgb: np.ndarray, *, patch: int = 15, radius: int = 60, eps: float = 1e-4,
                 omega: float = 0.95, t0: float = 0.1) -> np.ndarray:
    """He et al.'s dark channel prior with guided-filter refinement, float64, full size."""
    img = rgb.astype(np.float64) / 255.0
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (patch, patch))
    dark = cv2.erode(img.min(axis=2), kernel)
    a = _airlight_top(dark, img)
    t = 1.0 - omega * cv2.erode((img / np.maximum(a, 1e-6)).min(axis=2), kernel)
    grey = img @ np.array([0.299, 0.587, 0.114])

    def box(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, cv2.CV_64F, (2 * radius + 1, 2 * radius + 1),
                             borderType=cv2.BORDER_REFLECT)

    mean_i, mean_p = box(grey), box(t)
    cov = box(grey * t) - mean_i * mean_p
    var = box(grey * grey) - mean_i * mean_i
    ca = cov / (var + eps)
    cb = mean_p - ca * mean_i
    t = box(ca) * grey + box(cb)
    t = np.maximum(t, t0)[..., None]
    j = (img - a) / t + a
    return np.rint(np.clip(j, 0.0, 1.0) * 255.0).astype(np.uint8)
