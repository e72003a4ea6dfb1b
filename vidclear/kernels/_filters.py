"""Numba kernels behind :mod:`vidclear.kernels.filters`.

Private: these functions do no validation. They take C-contiguous float32
planes (and, for the resampling kernels, uint8/uint16/float32 images), write
into caller-allocated outputs and read no configuration.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_INF = np.float32(np.inf)
# Working-resolution planes (about 270×480 for the dehazer) are too small for
# fork/join to pay on a few cores: measured at 1080p on 2 cores, serial
# low-resolution kernels were faster, and far steadier when other processes
# (decoder, encoder) compete for the cores. Full-resolution kernels
# (downsample_area, upsample_bilinear, the dehazer's recover) stay parallel.
_LOWRES_PARALLEL = False
_CHUNK = 64  # columns per thread in vertical passes


# ---------------------------------------------------------------- min filter
@njit(cache=True, nogil=True)
def _vhgw_line(src: np.ndarray, r: int, g: np.ndarray, h: np.ndarray, out: np.ndarray) -> None:
    """van Herk / Gil-Werman running minimum of one line, window clipped at the ends."""
    n = src.shape[0]
    k = 2 * r + 1
    m = n + 2 * r
    nb = (m + k - 1) // k
    for blk in range(nb):
        j0 = blk * k
        # forward prefix minimum inside the block
        for j in range(j0, j0 + k):
            i = j - r
            v = src[i] if 0 <= i < n else _INF
            if j == j0 or v < g[j - 1]:
                g[j] = v
            else:
                g[j] = g[j - 1]
        # backward suffix minimum inside the block
        for j in range(j0 + k - 1, j0 - 1, -1):
            i = j - r
            v = src[i] if 0 <= i < n else _INF
            if j == j0 + k - 1 or v < h[j + 1]:
                h[j] = v
            else:
                h[j] = h[j + 1]
    for i in range(n):
        a = h[i]
        b = g[i + k - 1]
        out[i] = a if a < b else b


@njit(cache=True, nogil=True, parallel=_LOWRES_PARALLEL)
def min_rows(src: np.ndarray, r: int, out: np.ndarray) -> None:
    """Running minimum along axis 1 of a 2-D float32 array, window 2r+1."""
    rows, n = src.shape
    k = 2 * r + 1
    size = ((n + 2 * r + k - 1) // k) * k
    nchunks = min(rows, 64)
    for ci in prange(nchunks):
        g = np.empty(size, np.float32)
        h = np.empty(size, np.float32)
        for y in range(ci * rows // nchunks, (ci + 1) * rows // nchunks):
            _vhgw_line(src[y], r, g, h, out[y])


@njit(cache=True, nogil=True, parallel=_LOWRES_PARALLEL)
def min_cols(src: np.ndarray, r: int, out: np.ndarray) -> None:
    """Running minimum along axis 0 of a 2-D float32 array, window 2r+1.

    The van Herk / Gil-Werman recursions run on whole row segments so the
    inner loop is contiguous; threads own disjoint column ranges.
    """
    n, cols = src.shape
    k = 2 * r + 1
    size = ((n + 2 * r + k - 1) // k) * k
    g = np.empty((size, cols), np.float32)
    h = np.empty((size, cols), np.float32)
    nchunks = (cols + _CHUNK - 1) // _CHUNK
    for ci in prange(nchunks):
        c0 = ci * _CHUNK
        c1 = min(cols, c0 + _CHUNK)
        for j in range(size):
            i = j - r
            first = j % k == 0
            inside = 0 <= i < n
            for x in range(c0, c1):
                v = src[i, x] if inside else _INF
                if first:
                    g[j, x] = v
                else:
                    p = g[j - 1, x]
                    g[j, x] = v if v < p else p
        for j in range(size - 1, -1, -1):
            i = j - r
            last = j % k == k - 1
            inside = 0 <= i < n
            for x in range(c0, c1):
                v = src[i, x] if inside else _INF
                if last:
                    h[j, x] = v
                else:
                    p = h[j + 1, x]
                    h[j, x] = v if v < p else p
        for i in range(n):
            for x in range(c0, c1):
                a = h[i, x]
                b = g[i + k - 1, x]
                out[i, x] = a if a < b else b


@njit(cache=True, nogil=True)
def min_filter2d(src: np.ndarray, r: int, out: np.ndarray) -> None:
    """Square (2r+1)² minimum filter, windows clipped at the borders."""
    if r == 0:
        out[:] = src
        return
    tmp = np.empty_like(src)
    min_rows(src, r, tmp)
    min_cols(tmp, r, out)


# ---------------------------------------------------------------- box filter
@njit(cache=True, nogil=True, parallel=_LOWRES_PARALLEL)
def box_rows(src: np.ndarray, r: int, out: np.ndarray) -> None:
    """Mean over a clipped window 2r+1 along the last axis of a (P, H, W) array."""
    planes, rows, n = src.shape
    total = planes * rows
    for idx in prange(total):
        p = idx // rows
        y = idx - p * rows
        line = src[p, y]
        dst = out[p, y]
        s = 0.0
        for x in range(min(r, n - 1) + 1):
            s += line[x]
        for x in range(n):
            lo = x - r
            hi = x + r
            cnt = min(hi, n - 1) - max(lo, 0) + 1
            dst[x] = s / cnt
            if hi + 1 < n:
                s += line[hi + 1]
            if lo >= 0:
                s -= line[lo]


@njit(cache=True, nogil=True, parallel=_LOWRES_PARALLEL)
def box_cols(src: np.ndarray, r: int, out: np.ndarray) -> None:
    """Mean over a clipped window 2r+1 along axis 1 of a (P, H, W) array."""
    planes, n, cols = src.shape
    nchunks = (cols + _CHUNK - 1) // _CHUNK
    for idx in prange(planes * nchunks):
        p = idx // nchunks
        ci = idx - p * nchunks
        c0 = ci * _CHUNK
        c1 = min(cols, c0 + _CHUNK)
        acc = np.zeros(c1 - c0, np.float64)
        for i in range(min(r, n - 1) + 1):
            for x in range(c0, c1):
                acc[x - c0] += src[p, i, x]
        for y in range(n):
            lo = y - r
            hi = y + r
            inv = 1.0 / (min(hi, n - 1) - max(lo, 0) + 1)
            for x in range(c0, c1):
                out[p, y, x] = acc[x - c0] * inv
            if hi + 1 < n:
                for x in range(c0, c1):
                    acc[x - c0] += src[p, hi + 1, x]
            if lo >= 0:
                for x in range(c0, c1):
                    acc[x - c0] -= src[p, lo, x]


@njit(cache=True, nogil=True)
def box_planes(src: np.ndarray, r: int, out: np.ndarray) -> None:
    """Square (2r+1)² clipped-window mean of every plane of a (P, H, W) array."""
    tmp = np.empty_like(src)
    box_rows(src, r, tmp)
    box_cols(tmp, r, out)


# ---------------------------------------------------------------- guided filter
@njit(cache=True, nogil=True, parallel=_LOWRES_PARALLEL)
def _gf_stats(guide: np.ndarray, src: np.ndarray, stack: np.ndarray) -> None:
    rows, cols = guide.shape
    for y in prange(rows):
        for x in range(cols):
            i = guide[y, x]
            p = src[y, x]
            stack[0, y, x] = i
            stack[1, y, x] = p
            stack[2, y, x] = i * i
            stack[3, y, x] = i * p


@njit(cache=True, nogil=True, parallel=_LOWRES_PARALLEL)
def _gf_ab(means: np.ndarray, eps: float, ab: np.ndarray) -> None:
    rows, cols = means.shape[1], means.shape[2]
    for y in prange(rows):
        for x in range(cols):
            mi = means[0, y, x]
            mp = means[1, y, x]
            var = means[2, y, x] - mi * mi
            if var < 0.0:
                var = 0.0
            a = (means[3, y, x] - mi * mp) / (var + eps)
            ab[0, y, x] = a
            ab[1, y, x] = mp - a * mi


@njit(cache=True, nogil=True)
def guided_coeffs(guide: np.ndarray, src: np.ndarray, r: int, eps: float) -> np.ndarray:
    """Box-averaged linear coefficients (2, H, W) of the grey-guide guided filter."""
    rows, cols = guide.shape
    stack = np.empty((4, rows, cols), np.float32)
    _gf_stats(guide, src, stack)
    means = np.empty_like(stack)
    box_planes(stack, r, means)
    ab = np.empty((2, rows, cols), np.float32)
    _gf_ab(means, eps, ab)
    out = np.empty_like(ab)
    box_planes(ab, r, out)
    return out


@njit(cache=True, nogil=True, parallel=_LOWRES_PARALLEL)
def apply_coeffs(coeffs: np.ndarray, guide: np.ndarray, out: np.ndarray) -> None:
    """out = mean_a * guide + mean_b at the guide's own resolution."""
    rows, cols = guide.shape
    for y in prange(rows):
        for x in range(cols):
            out[y, x] = coeffs[0, y, x] * guide[y, x] + coeffs[1, y, x]


# ---------------------------------------------------------------- resampling
@njit(cache=True, nogil=True, parallel=True)
def downsample_area(src: np.ndarray, s: int, scale: float, out: np.ndarray) -> None:
    """Block mean of s×s pixels (partial blocks at the right/bottom), times scale.

    ``src`` is a C-contiguous (H, W, C) array of any numeric dtype, ``out`` is
    float32 (ceil(H/s), ceil(W/s), C). The s rows of a block are summed first
    as flat contiguous lines (vectorised), then the columns of each block.
    """
    rows, cols, nc = src.shape
    h, w = out.shape[0], out.shape[1]
    n = cols * nc
    flat = src.reshape(rows, n)
    for by in prange(h):
        y0 = by * s
        y1 = min(rows, y0 + s)
        acc = np.zeros(n, np.float32)
        for y in range(y0, y1):
            line = flat[y]
            for i in range(n):
                acc[i] += line[i]
        for bx in range(w):
            x0 = bx * s
            x1 = min(cols, x0 + s)
            f = scale / ((y1 - y0) * (x1 - x0))
            for c in range(nc):
                v = np.float32(0.0)
                for x in range(x0, x1):
                    v += acc[x * nc + c]
                out[by, bx, c] = v * f


@njit(cache=True, nogil=True)
def bilinear_taps(n: int, m: int, s: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source indices and weights mapping n full-size samples onto m block centres.

    Low-resolution sample j covers full-resolution samples [j*s, j*s+s), so
    its centre is at j*s + (s-1)/2. Positions outside the first/last centre
    are clamped.
    """
    i0 = np.empty(n, np.int32)
    i1 = np.empty(n, np.int32)
    f = np.empty(n, np.float32)
    half = (s - 1) * 0.5
    for x in range(n):
        u = (x - half) / s
        if u <= 0.0:
            i0[x] = 0
            i1[x] = 0
            f[x] = 0.0
            continue
        j = int(u)
        if j >= m - 1:
            i0[x] = m - 1
            i1[x] = m - 1
            f[x] = 0.0
            continue
        i0[x] = j
        i1[x] = j + 1
        f[x] = u - j
    return i0, i1, f


@njit(cache=True, nogil=True, parallel=True)
def upsample_bilinear(src: np.ndarray, s: int, out: np.ndarray) -> None:
    """Bilinear upsampling of a (h, w) float32 plane by block factor s into ``out``."""
    h, w = src.shape
    rows, cols = out.shape
    yi0, yi1, fy = bilinear_taps(rows, h, s)
    xi0, xi1, fx = bilinear_taps(cols, w, s)
    for y in prange(rows):
        a0 = src[yi0[y]]
        a1 = src[yi1[y]]
        wy = fy[y]
        line = np.empty(w, np.float32)
        for j in range(w):
            line[j] = a0[j] + wy * (a1[j] - a0[j])
        for x in range(cols):
            v0 = line[xi0[x]]
            out[y, x] = v0 + fx[x] * (line[xi1[x]] - v0)
