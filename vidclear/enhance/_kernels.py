"""Numba kernels for the classic enhancers (ACE, HE, CLAHE, MSRCR).

Private: the validating, orchestrating code lives in ``ace.py``,
``histogram.py`` and ``retinex.py``. Kernels take contiguous arrays, do no
I/O, read no configuration and allocate only small per-thread buffers. Each
has a slow NumPy reference in the tests.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from vidclear._numba_cache import njit
from vidclear.kernels.colour import KB_601 as KB
from vidclear.kernels.colour import KG_601 as KG
from vidclear.kernels.colour import KR_601 as KR

# BT.601 luma weights (as in JPEG's YCbCr and OpenCV's RGB2YCrCb): KR, KG, KB.


# ------------------------------------------------------------- luma / chroma
@njit(cache=True, nogil=True, parallel=True)
def luma_quantized(rgb, out):  # pragma: no cover - compiled
    """Rounded BT.601 luma of an H×W×3 integer image into int32 ``out``."""
    h, w = out.shape
    for i in prange(h):
        for j in range(w):
            y = KR * rgb[i, j, 0] + KG * rgb[i, j, 1] + KB * rgb[i, j, 2]
            out[i, j] = np.int32(np.floor(y + 0.5))


@njit(cache=True, nogil=True, parallel=True)
def histogram(values, nbins, nchunks):  # pragma: no cover - compiled
    """Counts of the integer ``values`` (H×W, each in 0..nbins-1) as int64.

    Rows are split into ``nchunks`` bands counted in parallel, each into its
    own buffer.
    """
    h = values.shape[0]
    nchunks = max(min(h, nchunks), 1)
    parts = np.zeros((nchunks, nbins), np.int64)
    for c in prange(nchunks):
        lo = c * h // nchunks
        hi = (c + 1) * h // nchunks
        for i in range(lo, hi):
            for j in range(values.shape[1]):
                parts[c, values[i, j]] += 1
    return parts.sum(axis=0)


@njit(cache=True, nogil=True, parallel=True)
def luma_histogram(rgb, nbins, nchunks):  # pragma: no cover - compiled
    """Histogram of the rounded BT.601 luma of an H×W×3 integer image (int64)."""
    h, w, _ = rgb.shape
    nchunks = max(min(h, nchunks), 1)
    parts = np.zeros((nchunks, nbins), np.int64)
    for c in prange(nchunks):
        for i in range(c * h // nchunks, (c + 1) * h // nchunks):
            for j in range(w):
                y = KR * rgb[i, j, 0] + KG * rgb[i, j, 1] + KB * rgb[i, j, 2]
                parts[c, int(y + 0.5)] += 1
    return parts.sum(axis=0)


@njit(cache=True, nogil=True, parallel=True)
def apply_luma(rgb, ynew, lut, maxval, out):  # pragma: no cover - compiled
    """Give each pixel of ``rgb`` (H×W×3) a new BT.601 luma, keeping its hue.

    The new luma is ``lut[round(Y)]`` when ``lut`` is not empty, else
    ``ynew[i, j]`` (H×W float32). The pixel becomes ``Y' + k (RGB - Y)`` with
    the largest k in [0, 1] that stays inside [0, maxval]: out-of-gamut
    colours lose saturation, never luma or hue. Rounded into ``out``.
    """
    h, w, _ = rgb.shape
    use_lut = lut.size > 0
    one = np.float32(1.0)
    zero = np.float32(0.0)
    half = np.float32(0.5)
    for i in prange(h):
        for j in range(w):
            r = np.float32(rgb[i, j, 0])
            g = np.float32(rgb[i, j, 1])
            b = np.float32(rgb[i, j, 2])
            y = np.float32(KR) * r + np.float32(KG) * g + np.float32(KB) * b
            if use_lut:
                yn = lut[int(KR * rgb[i, j, 0] + KG * rgb[i, j, 1] + KB * rgb[i, j, 2] + 0.5)]
            else:
                yn = ynew[i, j]
            yn = min(max(yn, zero), maxval)
            cr = r - y
            cg = g - y
            cb = b - y
            cmax = max(cr, cg, cb)
            cmin = min(cr, cg, cb)
            k = one
            if yn + cmax > maxval:
                k = (maxval - yn) / cmax
            if yn + k * cmin < zero:
                k = -yn / cmin
            out[i, j, 0] = min(max(yn + k * cr, zero), maxval) + half
            out[i, j, 1] = min(max(yn + k * cg, zero), maxval) + half
            out[i, j, 2] = min(max(yn + k * cb, zero), maxval) + half


# ---------------------------------------------------------------------- CLAHE
@njit(cache=True, nogil=True)
def _reflect101(i, n):  # pragma: no cover - compiled
    if i >= n:
        return 2 * n - 2 - i if n > 1 else 0
    return i


@njit(cache=True, nogil=True, parallel=True)
def clahe_luts(img, tiles_y, tiles_x, tile_h, tile_w, nbins, clip):  # pragma: no cover
    """Clipped, equalizing lookup tables of every tile: float32 (ty, tx, nbins).

    Tiles of ``tile_h``×``tile_w`` start at the top-left corner; rows and
    columns past the image edge are read reflected (OpenCV's BORDER_REFLECT_101),
    so the arithmetic is that of OpenCV's CLAHE.
    """
    h, w = img.shape
    luts = np.empty((tiles_y, tiles_x, nbins), np.float32)
    area = tile_h * tile_w
    scale = np.float32(nbins - 1) / np.float32(area)
    for t in prange(tiles_y * tiles_x):
        ty = t // tiles_x
        tx = t % tiles_x
        hist = np.zeros(nbins, np.int64)
        for yy in range(ty * tile_h, (ty + 1) * tile_h):
            y = _reflect101(yy, h)
            for xx in range(tx * tile_w, (tx + 1) * tile_w):
                hist[img[y, _reflect101(xx, w)]] += 1
        if clip > 0:
            clipped = 0
            for b in range(nbins):
                if hist[b] > clip:
                    clipped += hist[b] - clip
                    hist[b] = clip
            batch = clipped // nbins
            residual = clipped - batch * nbins
            for b in range(nbins):
                hist[b] += batch
            if residual > 0:
                step = max(nbins // residual, 1)
                b = 0
                while b < nbins and residual > 0:
                    hist[b] += 1
                    b += step
                    residual -= 1
        acc = 0
        for b in range(nbins):
            acc += hist[b]
            v = np.float32(acc) * scale
            luts[ty, tx, b] = min(np.rint(v), np.float32(nbins - 1))
    return luts


@njit(cache=True, nogil=True, parallel=True)
def clahe_interpolate(img, luts, tile_h, tile_w, out):  # pragma: no cover - compiled
    """Bilinear blend of the four nearest tile mappings; float32 ``out`` (H×W)."""
    h, w = img.shape
    tiles_y, tiles_x = luts.shape[0], luts.shape[1]
    inv_th = np.float32(1.0) / np.float32(tile_h)
    inv_tw = np.float32(1.0) / np.float32(tile_w)
    half = np.float32(0.5)
    for i in prange(h):
        tyf = np.float32(i) * inv_th - half
        ty1 = int(np.floor(tyf))
        ya = tyf - np.float32(ty1)
        ya1 = np.float32(1.0) - ya
        ty2 = min(ty1 + 1, tiles_y - 1)
        ty1 = max(ty1, 0)
        for j in range(w):
            txf = np.float32(j) * inv_tw - half
            tx1 = int(np.floor(txf))
            xa = txf - np.float32(tx1)
            xa1 = np.float32(1.0) - xa
            tx2 = min(tx1 + 1, tiles_x - 1)
            tx1 = max(tx1, 0)
            v = img[i, j]
            top = luts[ty1, tx1, v] * xa1 + luts[ty1, tx2, v] * xa
            bot = luts[ty2, tx1, v] * xa1 + luts[ty2, tx2, v] * xa
            out[i, j] = top * ya1 + bot * ya


# ------------------------------------------------------------------------ ACE
@njit(cache=True, nogil=True)
def _slope(t, alpha):  # pragma: no cover - compiled
    return min(max(alpha * t, -1.0), 1.0)


@njit(cache=True, nogil=True, parallel=True)
def ace_direct(chan, alpha):  # pragma: no cover - compiled
    """Exact ACE contrast term of one channel, O(N²): float32 (H×W) in [-1, 1].

    ``R(x) = sum_y s(I(x) - I(y)) / |x - y|  /  sum_y 1 / |x - y|`` over all
    pixels y other than x, with the clipped slope ``s(t) = clip(alpha t, -1, 1)``.
    """
    h, w = chan.shape
    out = np.zeros((h, w), np.float32)
    for p in prange(h * w):
        i = p // w
        j = p % w
        v = chan[i, j]
        num = 0.0
        den = 0.0
        for k in range(h):
            dy2 = float((k - i) * (k - i))
            for m in range(w):
                if k == i and m == j:
                    continue
                wgt = 1.0 / np.sqrt(dy2 + float((m - j) * (m - j)))
                num += wgt * _slope(v - chan[k, m], alpha)
                den += wgt
        if den > 0.0:
            out[i, j] = num / den
    return out


@njit(cache=True, nogil=True, parallel=True)
def ace_block_sums(planes, f, levels, alpha, out):  # pragma: no cover - compiled
    """Per f×f block, the sums of ``s(L_j - I(y))`` for every level ``L_j``.

    ``planes`` is C×H×W float32 in [0, 1]; ``out`` is float32
    (C·J, ceil(H/f), ceil(W/f)), channel-major. One parallel region for all
    channels.
    """
    nc, h, w = planes.shape
    nl = levels.size
    hb, wb = out.shape[1], out.shape[2]
    for p in prange(nc * hb):
        c = p // hb
        bi = p % hb
        acc = np.zeros((nl, wb), np.float64)
        for i in range(bi * f, min((bi + 1) * f, h)):
            for j in range(w):
                v = planes[c, i, j]
                bj = j // f
                for n in range(nl):
                    acc[n, bj] += _slope(levels[n] - v, alpha)
        for n in range(nl):
            for bj in range(wb):
                out[c * nl + n, bi, bj] = acc[n, bj]


@njit(cache=True, nogil=True, parallel=True)
def ace_interp(planes, rlev, f, out):  # pragma: no cover - compiled
    """ACE term by interpolating the per-level fields at each pixel's value.

    ``rlev`` (C·J, hb, wb) holds the normalized contrast of the uniformly
    spaced levels ``j / (J - 1)`` at block centres, channel-major. Each pixel
    samples it bilinearly in space and linearly in level at its own value:
    float32 ``out`` (H×W×C).
    """
    nc, h, w = planes.shape
    nl = rlev.shape[0] // nc
    hb, wb = rlev.shape[1], rlev.shape[2]
    inv_f = 1.0 / f
    for i in prange(h):
        by = min(max((i + 0.5) * inv_f - 0.5, 0.0), hb - 1.0)
        y0 = min(int(by), hb - 1)
        y1 = min(y0 + 1, hb - 1)
        fy = by - y0
        for j in range(w):
            bx = min(max((j + 0.5) * inv_f - 0.5, 0.0), wb - 1.0)
            x0 = min(int(bx), wb - 1)
            x1 = min(x0 + 1, wb - 1)
            fx = bx - x0
            w00 = (1 - fx) * (1 - fy)
            w01 = fx * (1 - fy)
            w10 = (1 - fx) * fy
            w11 = fx * fy
            for c in range(nc):
                t = min(max(planes[c, i, j], 0.0), 1.0) * (nl - 1)
                n0 = min(int(t), nl - 2)
                ft = t - n0
                a = c * nl + n0
                r0 = (rlev[a, y0, x0] * w00 + rlev[a, y0, x1] * w01
                      + rlev[a, y1, x0] * w10 + rlev[a, y1, x1] * w11)
                r1 = (rlev[a + 1, y0, x0] * w00 + rlev[a + 1, y0, x1] * w01
                      + rlev[a + 1, y1, x0] * w10 + rlev[a + 1, y1, x1] * w11)
                out[i, j, c] = r0 * (1 - ft) + r1 * ft


# --------------------------------------------------------- stretches (shared)
@njit(cache=True, nogil=True, parallel=True)
def plane_ranges(x):  # pragma: no cover - compiled
    """Minimum and maximum of each channel of ``x`` (H×W×C): two float64 arrays."""
    h, w, nc = x.shape
    los = np.full((h, nc), np.inf)
    his = np.full((h, nc), -np.inf)
    for i in prange(h):
        for j in range(w):
            for c in range(nc):
                v = x[i, j, c]
                los[i, c] = min(los[i, c], v)
                his[i, c] = max(his[i, c], v)
    lo_c = np.empty(nc)
    hi_c = np.empty(nc)
    for c in range(nc):
        lo_c[c] = los[:, c].min()
        hi_c[c] = his[:, c].max()
    return lo_c, hi_c


@njit(cache=True, nogil=True, parallel=True)
def stretch_planes(x, lo, hi, maxval, out):  # pragma: no cover - compiled
    """Map channel c of ``x`` (H×W×C) from [lo[c], hi[c]] to [0, maxval], clipped.

    Writes ``out`` (H×W×C, integer dtype), rounded; a channel with
    ``hi[c] <= lo[c]`` becomes mid-grey.
    """
    h, w, nc = x.shape
    scale = np.empty(nc)
    for c in range(nc):
        scale[c] = maxval / (hi[c] - lo[c]) if hi[c] > lo[c] else 0.0
    mid = np.floor(maxval / 2.0 + 0.5)
    for i in prange(h):
        for j in range(w):
            for c in range(nc):
                if scale[c] > 0.0:
                    v = (x[i, j, c] - lo[c]) * scale[c]
                    out[i, j, c] = np.floor(min(max(v, 0.0), maxval) + 0.5)
                else:
                    out[i, j, c] = mid


# ---------------------------------------------------------------------- MSRCR
@njit(cache=True, nogil=True, parallel=True)
def msr_combine(logv, logprod, logsum, nscales, alpha, beta):  # pragma: no cover - compiled
    """Multi-scale Retinex with colour restoration from logarithms, in ``logprod``.

    ``logv`` and ``logprod`` (H×W×C float32) are the logarithms of the image
    and of the product of its ``nscales`` surrounds, so
    ``logv - logprod / nscales`` is the mean single-scale Retinex output.
    When ``logsum`` (H×W, log of the channel sum) is not empty, it is
    multiplied by the colour restoration ``beta (log(alpha v_c) - log sum_c v_c)``.
    The logarithms come from NumPy, whose vectorized ``log`` is several times
    faster than a scalar one here.
    """
    h, w, nc = logv.shape
    inv = np.float32(1.0 / nscales)
    la = np.float32(np.log(alpha))
    bt = np.float32(beta)
    restore = logsum.size > 0
    for i in prange(h):
        for j in range(w):
            for c in range(nc):
                m = logv[i, j, c] - inv * logprod[i, j, c]
                if restore:
                    m *= bt * (la + logv[i, j, c] - logsum[i, j])
                logprod[i, j, c] = m


@njit(cache=True, nogil=True, parallel=True)
def plane_histograms(x, lo, hi, nbins, nchunks):  # pragma: no cover - compiled
    """Histogram of each channel of ``x`` (H×W×C) on ``nbins`` bins over [lo[c], hi[c]].

    int64 (C, nbins); rows are split into ``nchunks`` bands, each counted into
    its own buffer.
    """
    h, w, nc = x.shape
    nchunks = max(min(h, nchunks), 1)
    scale = np.empty(nc)
    for c in range(nc):
        span = hi[c] - lo[c]
        scale[c] = nbins / span if span > 0 else 0.0
    parts = np.zeros((nchunks, nc, nbins), np.int64)
    for k in prange(nchunks):
        for i in range(k * h // nchunks, (k + 1) * h // nchunks):
            for j in range(w):
                for c in range(nc):
                    b = int((x[i, j, c] - lo[c]) * scale[c])
                    parts[k, c, min(max(b, 0), nbins - 1)] += 1
    return parts.sum(axis=0)
