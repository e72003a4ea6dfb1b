"""Numba kernels for the rolling-bracket video path: fused merge, de-ghost and tone map.

Private; see :mod:`vidclear.hdr.rolling`. Frames live in a ring buffer
(N×H×W×C uint8, RGB first; C is 3, or 4 when a fourth byte pads each pixel for
faster warping). Per-slot look-up tables turn 8-bit values into linear
radiance (response divided by exposure), hat weights and de-ghosting
intervals, so the inner merge loop does no ``log``, ``exp`` or division.
Rows are processed in blocks of :data:`ROWS` by one thread each, with
per-block row buffers, so the transcendental parts (log2 / exp2 by bit
manipulation and polynomials) run as simple loops the compiler vectorises.
Each kernel has a slow NumPy reference in ``tests/hdr/_reference.py``.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from vidclear._numba_cache import njit
from vidclear.kernels._fastmath import FASTMATH
from vidclear.kernels.colour import KB_709, KG_709, KR_709

_FM = set(FASTMATH)  # see vidclear.kernels._fastmath: no reassociation
ROWS = 8  # rows per parallel block; a multiple of the 4-row statistics grid
BIG = np.float32(1e30)
TAB = 10  # floats per reading in a packed table (see pack_tables)
WT = 3  # where a reading's weight lies in it
LO = 4  # where its de-ghosting intervals start: (lo, hi) of R, G, B
RB = 6  # floats per pixel of the reference's intervals
# BT.709 luminance weights of linear RGB, as float32 compile-time constants
_KR, _KG, _KB = np.float32(KR_709), np.float32(KG_709), np.float32(KB_709)


def pack_tables(lin: np.ndarray, glo: np.ndarray, ghi: np.ndarray,
                weights: np.ndarray, clip: int = 250) -> np.ndarray:
    """The merge kernels' per-exposure tables: n×(256·TAB) float32.

    Entry ``c * TAB + k`` of row ``j`` holds, for reading ``c`` of exposure
    ``j``: the linear radiance of channel ``k`` (k < 3, from ``lin``, n×256×3),
    at ``LO + 2k`` and ``LO + 2k + 1`` the de-ghosting bounds ``glo`` and
    ``ghi`` (n×256×3, log radiance) of a reading of channel ``k``, opened
    to ``-BIG`` for readings of 4 or less and to ``BIG`` for ``clip`` or
    more (they bound nothing there: the first reading taken as clipped, 250
    by default; the rolling bracket's is :data:`vidclear.hdr.rolling.CLIP`),
    and at ``WT`` the weight of the reading (``weights``, 256, which the
    caller makes 0 from ``clip`` up). One table per exposure keeps the
    inner loop to a single base address.
    """
    n = lin.shape[0]
    tab = np.zeros((n, 256, TAB), dtype=np.float32)
    tab[:, :, :3] = lin
    for k in range(3):
        lo = np.array(glo[:, :, k], dtype=np.float32)
        hi = np.array(ghi[:, :, k], dtype=np.float32)
        lo[:, :5] = -BIG
        hi[:, clip:] = BIG
        tab[:, :, LO + 2 * k] = lo
        tab[:, :, LO + 2 * k + 1] = hi
    tab[:, :, WT] = weights
    return np.ascontiguousarray(tab.reshape(n, 256 * TAB))


@njit(cache=True, nogil=True, fastmath=_FM, inline="always")
def _gap(t, c0, c1, c2, rb, k):  # pragma: no cover - compiled
    """How far the readings' intervals miss the reference's ``rb[k:k + 6]``, any channel."""
    d0 = max(t[c0 * TAB + LO] - rb[k + 1], rb[k] - t[c0 * TAB + LO + 1])
    d1 = max(t[c1 * TAB + LO + 2] - rb[k + 3], rb[k + 2] - t[c1 * TAB + LO + 3])
    d2 = max(t[c2 * TAB + LO + 4] - rb[k + 5], rb[k + 4] - t[c2 * TAB + LO + 5])
    return max(np.float32(0.0), max(d0, max(d1, d2)))


@njit(cache=True, nogil=True, inline="always")
def _clampi(v, lo, hi):  # pragma: no cover - compiled
    return lo if v < lo else (hi if v > hi else v)


@njit(cache=True, nogil=True, fastmath=_FM)
def log2_row(src, ibuf, dst):  # pragma: no cover - compiled
    """``dst = log2(src)`` for positive normal float32 values (|error| < 1e-6).

    Exponent from the float's bits, mantissa folded into [0.707, 1.414) and a
    series in ``t = (m - 1) / (m + 1)``. ``ibuf`` is int32 scratch.
    """
    n = src.shape[0]
    sb = src.view(np.int32)
    mf = ibuf.view(np.float32)
    for x in range(n):
        b = sb[x]
        ibuf[x] = (b & 0x7FFFFF) | 0x3F800000
        dst[x] = np.float32(((b >> 23) & 0xFF) - 127)
    for x in range(n):
        m = mf[x]
        e = dst[x]
        if m > np.float32(1.4142135):
            m = m * np.float32(0.5)
            e = e + np.float32(1.0)
        t = (m - np.float32(1.0)) / (m + np.float32(1.0))
        t2 = t * t
        dst[x] = e + t * (np.float32(2.8853900817779268) + t2 * (
            np.float32(0.9617966939259756) + t2 * (np.float32(0.5770780163555854)
                                                   + t2 * np.float32(0.41219858311113246))))


@njit(cache=True, nogil=True, fastmath=_FM)
def exp2_row(src, ibuf, dst):  # pragma: no cover - compiled
    """``dst = 2 ** src`` for float32, ``src`` clamped to ±126 (relative error < 1e-6).

    Integer part through the float exponent bits, fraction by a degree-6
    Taylor series of ``exp`` about one half. ``ibuf`` is int32 scratch.
    """
    n = src.shape[0]
    fb = ibuf.view(np.float32)
    for x in range(n):
        v = min(max(src[x], np.float32(-126.0)), np.float32(126.0))
        fl = np.floor(v)
        ibuf[x] = (np.int32(fl) + 127) << 23
        u = (v - fl - np.float32(0.5)) * np.float32(0.6931471805599453)
        p = np.float32(1.0) + u * (np.float32(1.0) + u * (np.float32(0.5) + u * (
            np.float32(1.0 / 6.0) + u * (np.float32(1.0 / 24.0) + u * (
                np.float32(1.0 / 120.0) + u * np.float32(1.0 / 720.0))))))
        dst[x] = p * np.float32(1.4142135623730951)
    for x in range(n):
        dst[x] = dst[x] * fb[x]


@njit(cache=True, nogil=True, fastmath=_FM)
def _span_first(s, t, acc, rb):  # pragma: no cover - compiled
    """Reference exposure over a span: ``s`` is n×C uint8, ``acc`` 4n and ``rb`` 2n floats."""
    for i in range(s.shape[0]):
        c0 = np.uint32(s[i, 0])
        c1 = np.uint32(s[i, 1])
        c2 = np.uint32(s[i, 2])
        cmax = max(c0, max(c1, c2))
        cl = (c0 + c1 + c1 + c2) >> np.uint32(2)
        wj = min(t[cmax * TAB + WT], t[cl * TAB + WT])
        k = RB * i
        rb[k] = t[c0 * TAB + LO]
        rb[k + 1] = t[c0 * TAB + LO + 1]
        rb[k + 2] = t[c1 * TAB + LO + 2]
        rb[k + 3] = t[c1 * TAB + LO + 3]
        rb[k + 4] = t[c2 * TAB + LO + 4]
        rb[k + 5] = t[c2 * TAB + LO + 5]
        acc[4 * i] = wj * t[c0 * TAB]
        acc[4 * i + 1] = wj * t[c1 * TAB + 1]
        acc[4 * i + 2] = wj * t[c2 * TAB + 2]
        acc[4 * i + 3] = wj


@njit(cache=True, nogil=True, fastmath=_FM)
def _span_more(s, t, dgl, dgk, acc, rb):  # pragma: no cover - compiled
    """Add one more exposure over a span, down-weighted where it misses the reference."""
    for i in range(s.shape[0]):
        c0 = np.uint32(s[i, 0])
        c1 = np.uint32(s[i, 1])
        c2 = np.uint32(s[i, 2])
        cmax = max(c0, max(c1, c2))
        cl = (c0 + c1 + c1 + c2) >> np.uint32(2)
        wj = min(t[cmax * TAB + WT], t[cl * TAB + WT])
        d = _gap(t, c0, c1, c2, rb, RB * i)
        wj = wj * dgl[np.uint32(min(d * dgk, np.float32(255.0)))]
        acc[4 * i] += wj * t[c0 * TAB]
        acc[4 * i + 1] += wj * t[c1 * TAB + 1]
        acc[4 * i + 2] += wj * t[c2 * TAB + 2]
        acc[4 * i + 3] += wj


@njit(cache=True, nogil=True, fastmath=_FM)
def _span(j, s, a, b, tab, dgl, dgk, acc, rb):  # pragma: no cover - compiled
    """Exposure ``j`` from pixels ``s`` into output columns ``a:b``."""
    if b <= a:
        return
    if j == 0:
        _span_first(s, tab[0], acc[4 * a:4 * b], rb[RB * a:RB * b])
    else:
        _span_more(s, tab[j], dgl, dgk, acc[4 * a:4 * b], rb[RB * a:RB * b])


@njit(cache=True, nogil=True, fastmath=_FM)
def _merge_row(ring, slots, yys, dxs, tab, dgl, dgk, fb, acc, rb,
               edge):  # pragma: no cover - compiled
    """Weighted sums of one output row into ``acc``; slot 0 is the reference.

    ``acc`` (4·W float32) ends holding the weighted R, G, B and the summed
    weight of each pixel (:func:`_finish_row` turns them into radiance); ``rb``
    (2·W) the reference's de-ghosting interval. ``tab[j]`` is
    exposure ``j``'s table from :func:`pack_tables`. ``yys[j]`` is the source
    row of exposure ``j`` and ``dxs[j]`` its column shift (edges repeated).
    Per exposure the weight is ``min(w[max channel], w[luma])`` (``w``
    the table's weights); the
    green reading gives an interval ``[lo, hi]`` of plausible log radiance
    (open where the tables hold -BIG or BIG: below for the darkest readings,
    above for near-clipped ones). An exposure whose interval misses the
    reference's by ``d`` is down-weighted by ``dgl[min(int(d * dgk), 255)]``
    (a table of ``exp(-d² / sigma²)``). Where every weight is zero the pixel
    comes from the shortest exposure (``fb[0]``) when the reference is
    bright, else the longest (``fb[1]``), unless that exposure's interval
    misses the reference's (motion, and de-ghosting is on), when the
    reference itself is used. "Misses" is the merge's own de-ghosting
    test: the fall-off at the gap is under one half (a hard edge at any gap
    took the few codes of compression noise in a saturated colour's dark
    green reading for motion). Each exposure is visited over the whole row
    through a shifted view of its source row (no per-pixel index clamping),
    the repeated edge columns through ``edge`` (W×C uint8 scratch).
    """
    n = slots.shape[0]
    wd = ring.shape[2]
    for j in range(n):
        src = ring[slots[j], yys[j]]
        dx = dxs[j]
        x0 = min(max(dx, 0), wd)  # columns x0:x1 read source column x - dx
        x1 = max(min(wd + dx, wd), x0)
        if x0 > 0:
            for i in range(x0):
                edge[i] = src[0]
            _span(j, edge[:x0], 0, x0, tab, dgl, dgk, acc, rb)
        _span(j, src[x0 - dx:x1 - dx], x0, x1, tab, dgl, dgk, acc, rb)
        if x1 < wd:
            for i in range(wd - x1):
                edge[i] = src[wd - 1]
            _span(j, edge[:wd - x1], x1, wd, tab, dgl, dgk, acc, rb)


@njit(cache=True, nogil=True)
def _fallback(ring, slots, yys, dxs, tab, dgl, dgk, fb, rb, x):  # pragma: no cover - compiled
    """Linear RGB of a pixel whose every weight is zero (see :func:`_merge_row`)."""
    wd = ring.shape[2]
    ref = ring[slots[0], yys[0]]
    zmax = max(ref[x, 0], max(ref[x, 1], ref[x, 2]))
    jf = fb[0] if zmax >= 128 else fb[1]
    src = ring[slots[jf], yys[jf]]
    xx = min(max(x - dxs[jf], 0), wd - 1)
    t = tab[jf]
    d = _gap(t, np.int64(src[xx, 0]), np.int64(src[xx, 1]), np.int64(src[xx, 2]), rb, RB * x)
    if dgk > 0.0 and dgl[np.int64(min(d * dgk, np.float32(255.0)))] < np.float32(0.5):
        jf = 0  # moved: keep to the reference
        src = ref
        xx = x
    t = tab[jf]
    return (t[np.int64(src[xx, 0]) * TAB], t[np.int64(src[xx, 1]) * TAB + 1],
            t[np.int64(src[xx, 2]) * TAB + 2])


@njit(cache=True, nogil=True, fastmath=_FM)
def _finish_row(ring, slots, yys, dxs, tab, dgl, dgk, fb, acc, rb, rr, gg, bb):  # pragma: no cover
    """Radiance of a row accumulated by :func:`_merge_row` into ``rr, gg, bb``."""
    wd = rr.shape[0]
    for x in range(wd):  # branch-free, so it vectorises
        inv = np.float32(1.0) / max(acc[4 * x + 3], np.float32(1e-30))
        rr[x] = acc[4 * x] * inv
        gg[x] = acc[4 * x + 1] * inv
        bb[x] = acc[4 * x + 2] * inv
    for x in range(wd):
        if acc[4 * x + 3] <= np.float32(1e-6):  # rare: every weight zero
            rr[x], gg[x], bb[x] = _fallback(ring, slots, yys, dxs, tab, dgl, dgk, fb, rb, x)


@njit(cache=True, nogil=True, fastmath=_FM)
def _encode_row(rr, gg, bb, k, fne, enc, orow):  # pragma: no cover - compiled
    """``orow[:, c] = enc[round(min(channel * k, fne))]`` (k per pixel)."""
    for x in range(orow.shape[0]):
        kx = k[x]
        orow[x, 0] = enc[np.uint32(min(rr[x] * kx, fne) + np.float32(0.5))]
        orow[x, 1] = enc[np.uint32(min(gg[x] * kx, fne) + np.float32(0.5))]
        orow[x, 2] = enc[np.uint32(min(bb[x] * kx, fne) + np.float32(0.5))]


@njit(cache=True, nogil=True, fastmath=_FM)
def _reinhard_ratio(rr, gg, bb, scale, inv_white2, fne, lw, k):  # pragma: no cover - compiled
    """Rec. 709 luminance into ``lw`` and the Reinhard scale factor times ``fne`` into ``k``."""
    for x in range(rr.shape[0]):
        lx = _KR * rr[x] + _KG * gg[x] + _KB * bb[x]
        lw[x] = lx
        lsc = lx * scale
        k[x] = scale * (np.float32(1.0) + lsc * inv_white2) / (np.float32(1.0) + lsc) * fne


@njit(cache=True, nogil=True, inline="always")
def _row_sources(h, y, dys, yys):  # pragma: no cover - compiled
    for j in range(dys.shape[0]):
        yys[j] = _clampi(y - dys[j], 0, h - 1)


@njit(cache=True, nogil=True, parallel=True, fastmath=_FM)
def merge_reinhard_k(ring, slots, dys, dxs, tab, dgl, dgk, fb,
                     scale, inv_white2, enc, out, stats):  # pragma: no cover - compiled
    """Merge the window and apply Reinhard's global curve in one pass.

    ``scale`` is key / log-average, ``inv_white2`` 1 / Lwhite², ``enc`` a
    display-encoding table over 0..1 (uint8, any length). ``stats`` is
    (H // 4 + 1, 2 + bins) float64: per sampled row (every 4th row and
    column) the sum of natural-log luminance, the sample count and a
    histogram of log2 luminance in quarter stops from -32 (logarithms by
    :func:`log2_row`, |error| < 1e-6, of luminance + 1e-9).
    """
    h, wd = out.shape[0], out.shape[1]
    ne = enc.shape[0] - 1
    nb = stats.shape[1] - 2
    fne = np.float32(ne)
    nblk = (h + ROWS - 1) // ROWS
    for bi in prange(nblk):
        acc = np.empty(4 * wd, np.float32)
        rb = np.empty(RB * wd, np.float32)
        rr = np.empty(wd, np.float32)
        gg = np.empty(wd, np.float32)
        bb = np.empty(wd, np.float32)
        kk = np.empty(wd, np.float32)
        lw = np.empty(wd, np.float32)
        ns = (wd + 3) // 4  # statistics sample every 4th column
        samp = np.empty(ns, np.float32)
        l2 = np.empty(ns, np.float32)
        ib = np.empty(ns, np.int32)
        edge = np.empty((wd, ring.shape[3]), np.uint8)
        yys = np.empty(dys.shape[0], np.int64)
        for y in range(bi * ROWS, min(h, (bi + 1) * ROWS)):
            _row_sources(h, y, dys, yys)
            _merge_row(ring, slots, yys, dxs, tab, dgl, dgk, fb, acc, rb, edge)
            _finish_row(ring, slots, yys, dxs, tab, dgl, dgk, fb, acc, rb, rr, gg, bb)
            _reinhard_ratio(rr, gg, bb, scale, inv_white2, fne, lw, kk)
            _encode_row(rr, gg, bb, kk, fne, enc, out[y])
            if (y & 3) == 0:
                for i in range(ns):
                    samp[i] = lw[4 * i] + np.float32(1e-9)
                log2_row(samp, ib, l2)
                row = y >> 2
                acc2 = 0.0
                for i in range(ns):
                    v = l2[i]
                    acc2 += v
                    bi2 = np.int32((v + np.float32(32.0)) * np.float32(4.0))
                    stats[row, 2 + _clampi(bi2, 0, nb - 1)] += 1.0
                stats[row, 0] += acc2 * 0.6931471805599453
                stats[row, 1] += ns


@njit(cache=True, nogil=True, parallel=True, fastmath=_FM)
def merge_luma_k(ring, slots, dys, dxs, tab, dgl, dgk, fb,
                 rgb, loglum):  # pragma: no cover - compiled
    """Merge the window to linear RGB (H×W×3 float32) and log2 luminance (H×W).

    Luminance is Rec. 709 and floored at 1e-12 before the logarithm.
    """
    h, wd = loglum.shape
    nblk = (h + ROWS - 1) // ROWS
    for bi in prange(nblk):
        acc = np.empty(4 * wd, np.float32)
        rb = np.empty(RB * wd, np.float32)
        rr = np.empty(wd, np.float32)
        gg = np.empty(wd, np.float32)
        bb = np.empty(wd, np.float32)
        lw = np.empty(wd, np.float32)
        edge = np.empty((wd, ring.shape[3]), np.uint8)
        ib = np.empty(wd, np.int32)
        yys = np.empty(dys.shape[0], np.int64)
        for y in range(bi * ROWS, min(h, (bi + 1) * ROWS)):
            _row_sources(h, y, dys, yys)
            _merge_row(ring, slots, yys, dxs, tab, dgl, dgk, fb, acc, rb, edge)
            _finish_row(ring, slots, yys, dxs, tab, dgl, dgk, fb, acc, rb, rr, gg, bb)
            for x in range(wd):
                rgb[y, x, 0] = rr[x]
                rgb[y, x, 1] = gg[x]
                rgb[y, x, 2] = bb[x]
                lw[x] = max(_KR * rr[x] + _KG * gg[x] + _KB * bb[x], np.float32(1e-12))
            log2_row(lw, ib, loglum[y])


@njit(cache=True, nogil=True, parallel=True, fastmath=_FM)
def base_detail_k(rgb, loglum, a, b, offset, factor, detail, enc, out,
                  stats):  # pragma: no cover - compiled
    """Compress the guided-filter base ``a * loglum + b`` and add back the detail.

    All in log2 luminance: the output is ``(base - offset) * factor +
    detail * (loglum - base)``, applied to ``rgb`` as a ratio and encoded
    with ``enc``. ``stats`` as in :func:`merge_reinhard_k` but holding log2
    base values (the sum column holds log2 too).
    """
    h, wd = loglum.shape
    ne = enc.shape[0] - 1
    fne = np.float32(ne)
    nb = stats.shape[1] - 2
    nblk = (h + ROWS - 1) // ROWS
    for bi in prange(nblk):
        t = np.empty(wd, np.float32)
        base = np.empty(wd, np.float32)
        ratio = np.empty(wd, np.float32)
        ib = np.empty(wd, np.int32)
        for y in range(bi * ROWS, min(h, (bi + 1) * ROWS)):
            for x in range(wd):
                ll = loglum[y, x]
                bs = a[y, x] * ll + b[y, x]
                base[x] = bs
                t[x] = (bs - offset) * factor + detail * (ll - bs) - ll
            exp2_row(t, ib, ratio)
            for x in range(wd):
                k = ratio[x] * fne
                out[y, x, 0] = enc[np.int32(min(rgb[y, x, 0] * k, fne) + np.float32(0.5))]
                out[y, x, 1] = enc[np.int32(min(rgb[y, x, 1] * k, fne) + np.float32(0.5))]
                out[y, x, 2] = enc[np.int32(min(rgb[y, x, 2] * k, fne) + np.float32(0.5))]
            if (y & 3) == 0:
                row = y >> 2
                for x in range(0, wd, 4):
                    v = np.float64(base[x])
                    stats[row, 0] += v
                    stats[row, 1] += 1.0
                    bi2 = np.int64((v + 32.0) * 4.0)
                    stats[row, 2 + _clampi(bi2, 0, nb - 1)] += 1.0


@njit(cache=True, nogil=True, parallel=True, fastmath=_FM)
def compose_flow_k(first, then, out):  # pragma: no cover - compiled
    """``out(p) = first(p) + then(p + first(p))``: two flows chained (h×w×2 float32 each).

    ``then`` is sampled bilinearly, edges repeated. With ``first`` the flow
    from frame A to B and ``then`` the flow from B to C, ``out`` is the flow
    from A to C.
    """
    h, wd = first.shape[0], first.shape[1]
    one = np.float32(1.0)
    for y in prange(h):
        for x in range(wd):
            fx = first[y, x, 0]
            fy = first[y, x, 1]
            px = np.float32(x) + fx
            py = np.float32(y) + fy
            x0f = np.floor(px)
            y0f = np.floor(py)
            ax = px - x0f
            ay = py - y0f
            x0 = np.int64(x0f)
            y0 = np.int64(y0f)
            xa = _clampi(x0, 0, wd - 1)
            xb = _clampi(x0 + 1, 0, wd - 1)
            ya = _clampi(y0, 0, h - 1)
            yb = _clampi(y0 + 1, 0, h - 1)
            for c in range(2):
                top = then[ya, xa, c] * (one - ax) + then[ya, xb, c] * ax
                bot = then[yb, xa, c] * (one - ax) + then[yb, xb, c] * ax
                out[y, x, c] = (fx if c == 0 else fy) + top * (one - ay) + bot * ay
