"""Numba kernels behind :mod:`vidclear.kernels.filters`.

Private: these functions do no validation. They take C-contiguous float32
planes (and, for the resampling kernels, uint8/uint16/float32 images), write
into caller-allocated outputs and read no configuration.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from vidclear._numba_cache import njit

_INF = np.float32(np.inf)
# Working-resolution kernels (about 180×320 for the dehazer at 1080p) are
# parallel too: a fork/join costs about 5 µs on 2 idle cores (OpenMP layer),
# against 0.1-0.5 ms of work per kernel. When other processes keep the cores
# busy one thread is faster, and the callers that run per frame choose the
# count by measured time (vidclear.kernels.threads.ThreadChoice); results
# never depend on it.


# ---------------------------------------------------------------- min filter
@njit(cache=True, nogil=True)
def _min_pad_rows(src: np.ndarray, r: int, out: np.ndarray) -> None:
    """Running minimum along axis 1 (window 2r+1, clipped) by doubling.

    The rows are laid end to end in one buffer, each padded with r values of
    +inf on both sides; then m_2w[j] = min(m_w[j], m_w[j + w]) is formed
    over the whole buffer for w = 1, 2, 4, ... up to the largest power of
    two p <= k = 2r+1, and the window minimum is min(m_p[x], m_p[x+k-p]).
    Every window lies inside its own row's padded segment, so the values
    that straddle two rows are never read. The passes are long, contiguous
    and branch-free (shifted reads are views, so the index is the bare loop
    variable and Numba's negative-index check does not block vectorisation).
    """
    rows, n = src.shape
    k = 2 * r + 1
    m = n + 2 * r
    total = rows * m
    a = np.empty(total, np.float32)
    b = np.empty(total, np.float32)
    for y in range(rows):
        seg = a[y * m:(y + 1) * m]
        line = src[y]
        for j in range(r):
            seg[j] = _INF
            seg[n + r + j] = _INF
        mid = seg[r:]
        for i in range(n):
            mid[i] = line[i]
    p = 1
    while 2 * p <= k:
        sh = a[p:]
        for j in range(total - p):
            u = a[j]
            v = sh[j]
            b[j] = u if u < v else v
        a, b = b, a
        p *= 2
    d = k - p
    for y in range(rows):
        seg = a[y * m:]
        sh = seg[d:]
        dst = out[y]
        for x in range(n):
            u = seg[x]
            v = sh[x]
            dst[x] = u if u < v else v


@njit(cache=True, nogil=True)
def _min_pad_cols(src: np.ndarray, r: int, x0: int, x1: int, out: np.ndarray) -> None:
    """Running minimum along axis 0 (window 2r+1, clipped) by doubling whole rows.

    Only columns ``x0:x1`` are filtered (so threads can share a plane).
    """
    n = src.shape[0]
    cols = x1 - x0
    k = 2 * r + 1
    m = n + 2 * r
    a = np.empty((m, cols), np.float32)
    b = np.empty((m, cols), np.float32)
    for j in range(r):
        for x in range(cols):
            a[j, x] = _INF
            a[n + r + j, x] = _INF
    for i in range(n):
        line = src[i, x0:x1]
        for x in range(cols):
            a[r + i, x] = line[x]
    p = 1
    while 2 * p <= k:
        for j in range(m - p):
            u = a[j]
            v = a[j + p]
            bj = b[j]
            for x in range(cols):
                bj[x] = u[x] if u[x] < v[x] else v[x]
        a, b = b, a
        p *= 2
    d = k - p
    for i in range(n):
        u = a[i]
        v = a[i + d]
        oi = out[i, x0:x1]
        for x in range(cols):
            oi[x] = u[x] if u[x] < v[x] else v[x]


@njit(cache=True, nogil=True)
def _parts(n: int) -> int:
    """How many bands to cut n rows or columns into: up to 8, at least 64 wide.

    (Numba's thread count cannot be read in cached code, so the bands do
    not follow it; eight keep up to eight threads busy.)
    """
    return max(1, min(8, n // 64))


@njit(cache=True, nogil=True, parallel=True)
def min_filter2d(src: np.ndarray, r: int, out: np.ndarray) -> None:
    """Square (2r+1)² minimum filter, windows clipped at the borders.

    Row bands, then column bands, run on the Numba threads; every output
    value is the same whatever the number of threads.
    """
    if r == 0:
        out[:] = src
        return
    rows, cols = src.shape
    tmp = np.empty_like(src)
    nb = _parts(rows)
    for i in prange(nb):
        y0 = i * rows // nb
        y1 = (i + 1) * rows // nb
        _min_pad_rows(src[y0:y1], r, tmp[y0:y1])
    nb = _parts(cols)
    for i in prange(nb):
        _min_pad_cols(tmp, r, i * cols // nb, (i + 1) * cols // nb, out)


# ---------------------------------------------------------------- box filter
_RB = 8  # rows advanced together in the horizontal box pass (independent sums)


@njit(cache=True, nogil=True)
def _box_rows_plane(src: np.ndarray, r: int, inv: np.ndarray, out: np.ndarray) -> None:
    """Clipped-window mean along axis 1 of one plane; ``inv[x]`` = 1 / window length.

    Each row is zero-padded by r on both sides; the window sum of length
    k = 2r+1 is assembled from pair sums S_2p[j] = S_p[j] + S_p[j + p]
    (one piece per set bit of k), O(log k) contiguous passes per row that
    vectorise (shifted reads are views so the index is the bare loop
    variable). Sums are float32: at most log2(k) + 1 roundings per output,
    far below the float64 running sums' error budget of the column pass.
    """
    rows, n = src.shape
    k = 2 * r + 1
    m = n + 2 * r
    a = np.zeros(m, np.float32)
    b = np.empty(m, np.float32)
    res = np.empty(n, np.float32)
    for y in range(rows):
        line = src[y]
        for j in range(r):  # the pair sums overwrite ``a``: pad it again
            a[j] = 0.0
            a[m - 1 - j] = 0.0
        pad = a[r:]
        for i in range(n):
            pad[i] = line[i]
        for i in range(n):
            res[i] = 0.0
        p = 1
        off = 0
        cur = a
        other = b
        while True:
            if k & p:
                sh = cur[off:]
                for i in range(n):
                    res[i] += sh[i]
                off += p
            if 2 * p > k:
                break
            sh = cur[p:]
            for j in range(m - p):
                other[j] = cur[j] + sh[j]
            cur, other = other, cur
            p *= 2
        dst = out[y]
        for i in range(n):
            dst[i] = res[i] * inv[i]


@njit(cache=True, nogil=True)
def _box_cols_plane(src: np.ndarray, r: int, x0: int, x1: int, out: np.ndarray) -> None:
    """Clipped-window mean along axis 0 of columns ``x0:x1`` of one plane, whole rows at a time."""
    n = src.shape[0]
    cols = x1 - x0
    acc = np.zeros(cols, np.float64)
    for i in range(min(r, n - 1) + 1):
        line = src[i, x0:x1]
        for x in range(cols):
            acc[x] += line[x]
    for y in range(n):
        lo = y - r
        hi = y + r
        f = 1.0 / (min(hi, n - 1) - max(lo, 0) + 1)
        dst = out[y, x0:x1]
        for x in range(cols):
            dst[x] = acc[x] * f
        if hi + 1 < n:
            line = src[hi + 1, x0:x1]
            for x in range(cols):
                acc[x] += line[x]
        if lo >= 0:
            line = src[lo, x0:x1]
            for x in range(cols):
                acc[x] -= line[x]


@njit(cache=True, nogil=True, parallel=True)
def box_planes(src: np.ndarray, r: int, out: np.ndarray) -> None:
    """Square (2r+1)² clipped-window mean of every plane of a (P, H, W) array.

    Row bands, then column bands, run on the Numba threads; every output
    value is the same whatever the number of threads.
    """
    planes, rows, cols = src.shape
    inv = np.empty(cols, np.float32)
    for x in range(cols):
        inv[x] = 1.0 / (min(x + r, cols - 1) - max(x - r, 0) + 1)
    tmp = np.empty((planes, rows, cols), np.float32)
    nr = _parts(rows)
    nc = _parts(cols)
    # every plane's bands in one parallel region per pass: a region costs
    # its start-up, which outweighs a band's work on the working image
    for k in prange(planes * nr):
        p = k // nr
        i = k - p * nr
        y0 = i * rows // nr
        y1 = (i + 1) * rows // nr
        _box_rows_plane(src[p, y0:y1], r, inv, tmp[p, y0:y1])
    for k in prange(planes * nc):
        p = k // nc
        i = k - p * nc
        _box_cols_plane(tmp[p], r, i * cols // nc, (i + 1) * cols // nc, out[p])


# ---------------------------------------------------------------- guided filter
@njit(cache=True, nogil=True, parallel=True)
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


@njit(cache=True, nogil=True, parallel=True)
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


@njit(cache=True, nogil=True, parallel=True)
def apply_coeffs(coeffs: np.ndarray, guide: np.ndarray, out: np.ndarray) -> None:
    """out = mean_a * guide + mean_b at the guide's own resolution."""
    rows, cols = guide.shape
    for y in prange(rows):
        for x in range(cols):
            out[y, x] = coeffs[0, y, x] * guide[y, x] + coeffs[1, y, x]


# ---------------------------------------------------------------- resampling
@njit(cache=True, nogil=True)
def _shift_sum(acc: np.ndarray, s: int, nc: int, hs: np.ndarray) -> None:
    """hs[i] = sum of acc[i + k * nc] for k < s (the last (s-1)·nc entries are partial).

    Shifted copies are taken as views so that the index is the bare loop
    variable: Numba then drops its negative-index check and the loop
    vectorises (with ``acc[i + off]`` it stayed scalar, 10× slower).
    """
    n = acc.shape[0]
    for i in range(n):
        hs[i] = acc[i]
    for k in range(1, s):
        off = k * nc
        sh = acc[off:]
        for i in range(n - off):
            hs[i] += sh[i]


@njit(cache=True, nogil=True)
def _block_row(acc: np.ndarray, hs: np.ndarray, s: int, cols: int, nc: int, fy: float,
               orow: np.ndarray) -> None:
    """Block means of one row of column sums ``acc`` (cols·nc) into ``orow`` (w·nc)."""
    full_w = cols // s
    w = orow.shape[0] // nc
    bx0 = 0
    if s <= 8:
        _shift_sum(acc, s, nc, hs)
        f = np.float32(fy / s)
        step = np.uint64(s * nc)
        if nc == 3:
            one = np.uint64(1)
            two = np.uint64(2)
            for bx in range(full_w):
                b = np.uint64(bx) * step
                o = np.uint64(bx) * np.uint64(3)
                orow[o] = np.float32(hs[b]) * f
                orow[o + one] = np.float32(hs[b + one]) * f
                orow[o + two] = np.float32(hs[b + two]) * f
        else:
            for bx in range(full_w):
                b = np.uint64(bx) * step
                o = np.uint64(bx * nc)
                for c in range(nc):
                    uc = np.uint64(c)
                    orow[o + uc] = np.float32(hs[b + uc]) * f
        bx0 = full_w
    for bx in range(bx0, w):
        x0 = bx * s
        x1 = min(cols, x0 + s)
        f = np.float32(fy / (x1 - x0))
        for c in range(nc):
            v = np.float32(0.0)
            for x in range(x0, x1):
                v += np.float32(acc[x * nc + c])
            orow[bx * nc + c] = v * f


@njit(cache=True, nogil=True, parallel=True)
def downsample_area(src: np.ndarray, s: int, scale: float, out: np.ndarray) -> None:
    """Block mean of s×s pixels (partial blocks at the right/bottom), times scale.

    ``src`` is a C-contiguous (H, W, C) array of any numeric dtype, ``out`` is
    C-contiguous float32 (ceil(H/s), ceil(W/s), C). The s rows of a block
    are summed first as flat contiguous lines (vectorised). For s <= 8 the
    block sums along the row are then formed by adding s - 1 shifted copies
    of that line (also vectorised) and read off every s pixels; larger
    blocks are summed directly.
    """
    rows, cols, nc = src.shape
    h = out.shape[0]
    n = cols * nc
    flat = src.reshape(rows, n)
    oflat = out.reshape(h, -1)
    nchunks = min(h, 32)
    for ci in prange(nchunks):
        acc = np.empty(n, np.float32)
        hs = np.empty(n, np.float32)
        for by in range(ci * h // nchunks, (ci + 1) * h // nchunks):
            y0 = by * s
            y1 = min(rows, y0 + s)
            line = flat[y0]
            for i in range(n):
                acc[i] = line[i]
            for y in range(y0 + 1, y1):
                line = flat[y]
                for i in range(n):
                    acc[i] += line[i]
            _block_row(acc, hs, s, cols, nc, scale / (y1 - y0), oflat[by])


@njit(cache=True, nogil=True, parallel=True)
def downsample_area_u8(src: np.ndarray, s: int, scale: float, out: np.ndarray) -> None:
    """:func:`downsample_area` for uint8 images and s <= 16, with exact uint16 sums.

    An s×s block of uint8 sums to at most 16 * 16 * 255 < 2**16, so the row
    sums and the shifted-copy block sums run on 16-bit lanes (twice as many
    per vector as float32, no conversions until the block means).
    """
    rows, cols, nc = src.shape
    h = out.shape[0]
    n = cols * nc
    flat = src.reshape(rows, n)
    oflat = out.reshape(h, -1)
    nchunks = min(h, 32)
    for ci in prange(nchunks):
        acc = np.empty(n, np.uint16)
        hs = np.empty(n, np.uint16)
        for by in range(ci * h // nchunks, (ci + 1) * h // nchunks):
            y0 = by * s
            y1 = min(rows, y0 + s)
            line = flat[y0]
            for i in range(n):
                acc[i] = line[i]
            for y in range(y0 + 1, y1):
                line = flat[y]
                for i in range(n):
                    acc[i] = np.uint16(acc[i] + line[i])
            _block_row(acc, hs, s, cols, nc, scale / (y1 - y0), oflat[by])


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
