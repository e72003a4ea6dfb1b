"""Slow, obvious NumPy references and test images for the enhancer tests."""

from __future__ import annotations

import numpy as np


def scene(h: int, w: int, *, seed: int = 0, dtype: type = np.uint8) -> np.ndarray:
    """A smooth, textured RGB test image (H×W×3) with some noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.stack([
        100 + 80 * np.sin(x / 5.0 + 1.0) * np.cos(y / 9.0),
        60 + 50 * np.cos(y / 4.0) + 0.4 * x,
        128 + 60 * np.sin((x + y) / 6.0),
    ], axis=-1)
    img = np.clip(img + rng.normal(0, 12, img.shape), 0, 255)
    if dtype == np.uint16:
        return np.rint(img * 257).astype(np.uint16)
    return np.rint(img).astype(np.uint8)


def ace_contrast_reference(img: np.ndarray, alpha: float) -> np.ndarray:
    """Exact ACE contrast term by the O(N²) definition (Rizzi et al. 2003).

    ``R(x) = sum_{y != x} s(I(x) - I(y)) / |x - y|  /  sum_{y != x} 1 / |x - y|``
    per channel, with ``s(t) = clip(alpha t, -1, 1)`` on values in [0, 1].
    Returns C×H×W float64.
    """
    planes = img.reshape(img.shape[0], img.shape[1], -1).astype(np.float64)
    planes /= np.iinfo(img.dtype).max
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    pos = np.stack([yy.ravel(), xx.ravel()], axis=1).astype(np.float64)
    dist = np.linalg.norm(pos[:, None, :] - pos[None, :, :], axis=-1)
    wgt = np.zeros_like(dist)
    np.divide(1.0, dist, out=wgt, where=dist > 0)
    out = []
    for c in range(planes.shape[2]):
        v = planes[:, :, c].ravel()
        s = np.clip(alpha * (v[:, None] - v[None, :]), -1.0, 1.0)
        out.append(((wgt * s).sum(axis=1) / wgt.sum(axis=1)).reshape(h, w))
    return np.stack(out)


def gaussian_reference(img: np.ndarray, sigma: float) -> np.ndarray:
    """Full-resolution separable Gaussian blur of H×W×C, reflected borders.

    Kernel of ``round(8 sigma + 1) | 1`` taps (OpenCV's width for float
    images), normalized; border reflected without repeating the edge
    (OpenCV's BORDER_REFLECT_101, NumPy's ``reflect``).
    """
    r = (round(sigma * 8 + 1) | 1) // 2
    t = np.arange(-r, r + 1)
    g = np.exp(-(t**2) / (2.0 * sigma * sigma))
    g /= g.sum()
    p = np.pad(img.astype(np.float64), ((r, r), (r, r), (0, 0)), mode="reflect")
    tmp = sum(g[k] * p[:, k:k + img.shape[1]] for k in range(2 * r + 1))
    return sum(g[k] * tmp[k:k + img.shape[0]] for k in range(2 * r + 1))


def msrcr_reference(img: np.ndarray, sigmas, *, alpha=125.0, beta=46.0, low=0.01, high=0.01,
                    joint=False) -> np.ndarray:
    """MSRCR by the formulas of Jobson et al. (1997), full-resolution surrounds,
    followed by a percentile stretch (np.percentile) per channel or jointly."""
    maxval = np.iinfo(img.dtype).max
    v = img.reshape(img.shape[0], img.shape[1], -1).astype(np.float64) * 255.0 / maxval + 1.0
    msr = sum(np.log(v) - np.log(gaussian_reference(v, s)) for s in sigmas) / len(sigmas)
    if v.shape[2] == 3:
        msr = msr * beta * (np.log(alpha * v) - np.log(v.sum(axis=2, keepdims=True)))
    out = np.empty(v.shape)
    groups = [[0, 1, 2]] if joint else [[c] for c in range(v.shape[2])]
    for g in groups:
        lo, hi = np.percentile(msr[:, :, g], [100 * low, 100 - 100 * high],
                               method="inverted_cdf")
        out[:, :, g] = np.clip((msr[:, :, g] - lo) / (hi - lo), 0, 1) * maxval
    return np.rint(out).astype(img.dtype).reshape(img.shape)


def ycbcr_hue(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hue angle and chroma magnitude in BT.601 YCbCr (float64 H×W each)."""
    f = rgb.astype(np.float64)
    y = f @ np.array([0.299, 0.587, 0.114])
    cb = (f[..., 2] - y) / 1.772
    cr = (f[..., 0] - y) / 1.402
    return np.arctan2(cr, cb), np.hypot(cr, cb)
