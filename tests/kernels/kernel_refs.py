"""Slow, obvious NumPy references for the kernels in vidclear.kernels."""

from __future__ import annotations

import numpy as np


def min_filter_ref(x: np.ndarray, r: int) -> np.ndarray:
    """Minimum over every (2r+1)² window, border padded with +inf, by shifting."""
    h, w = x.shape
    pad = np.full((h + 2 * r, w + 2 * r), np.inf)
    pad[r:r + h, r:r + w] = x
    out = np.full((h, w), np.inf)
    for dy in range(2 * r + 1):
        for dx in range(2 * r + 1):
            out = np.minimum(out, pad[dy:dy + h, dx:dx + w])
    return out


def box_filter_ref(x: np.ndarray, r: int) -> np.ndarray:
    """Mean over clipped (2r+1)² windows from a float64 integral image."""
    h, w = x.shape
    ii = np.zeros((h + 1, w + 1))
    ii[1:, 1:] = np.cumsum(np.cumsum(x.astype(np.float64), axis=0), axis=1)
    y0 = np.clip(np.arange(h) - r, 0, h)
    y1 = np.clip(np.arange(h) + r + 1, 0, h)
    x0 = np.clip(np.arange(w) - r, 0, w)
    x1 = np.clip(np.arange(w) + r + 1, 0, w)
    s = ii[y1][:, x1] - ii[y0][:, x1] - ii[y1][:, x0] + ii[y0][:, x0]
    n = (y1 - y0)[:, None] * (x1 - x0)[None, :]
    return s / n


def guided_filter_ref(i: np.ndarray, p: np.ndarray, r: int, eps: float) -> np.ndarray:
    """He et al.'s grey-guide guided filter, Algorithm 1 of the TPAMI paper."""
    i = i.astype(np.float64)
    p = p.astype(np.float64)
    mean_i = box_filter_ref(i, r)
    mean_p = box_filter_ref(p, r)
    var_i = box_filter_ref(i * i, r) - mean_i**2
    cov_ip = box_filter_ref(i * p, r) - mean_i * mean_p
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    return box_filter_ref(a, r) * i + box_filter_ref(b, r)


def downsample_ref(x: np.ndarray, s: int) -> np.ndarray:
    """Block means with partial blocks, one block at a time."""
    h, w = -(-x.shape[0] // s), -(-x.shape[1] // s)
    out = np.zeros((h, w, *x.shape[2:]))
    for by in range(h):
        for bx in range(w):
            out[by, bx] = x[by * s:(by + 1) * s, bx * s:(bx + 1) * s].mean(axis=(0, 1))
    return out


def upsample_ref(x: np.ndarray, s: int, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear interpolation between block centres j*s + (s-1)/2, clamped."""
    h, w = x.shape
    ys = np.arange(shape[0])
    xs = np.arange(shape[1])
    cy = np.arange(h) * s + (s - 1) / 2
    cx = np.arange(w) * s + (s - 1) / 2
    rows = np.stack([np.interp(xs, cx, x[j]) for j in range(h)])
    return np.stack([np.interp(ys, cy, rows[:, k]) for k in range(shape[1])], axis=1)
