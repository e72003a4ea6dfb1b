"""Numba kernels for the rolling-bracket video path: fused merge, de-ghost and tone map.

Private; see :mod:`vidclear.hdr.rolling`. Frames live in a ring buffer
(N×H×W×3 uint8). Per-slot look-up tables turn 8-bit values into linear
radiance (response divided by exposure) and log radiance, so the inner loop
does no ``exp`` and one ``log`` per sampled pixel only.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True, inline="always")
def _clampi(v, lo, hi):  # pragma: no cover - compiled
    return lo if v < lo else (hi if v > hi else v)


@njit(cache=True, nogil=True, inline="always")
def _merge_px(ring, slots, dys, dxs, lin, logg, w, y, x, h, wd, sigma, tol):  # pragma: no cover
    """Merged linear RGB at (y, x); the first slot is the de-ghosting reference."""
    n = slots.shape[0]
    r = 0.0
    g = 0.0
    b = 0.0
    ws = 0.0
    ref_lo = 0.0
    ref_hi = 0.0
    for j in range(n):
        s = slots[j]
        yy = _clampi(y - dys[j], 0, h - 1)
        xx = _clampi(x - dxs[j], 0, wd - 1)
        z0 = ring[s, yy, xx, 0]
        z1 = ring[s, yy, xx, 1]
        z2 = ring[s, yy, xx, 2]
        zmax = max(z0, max(z1, z2))
        zl = (np.int32(z0) + 2 * np.int32(z1) + z2) >> 2
        wk = min(w[zmax], w[zl])
        lg = logg[j, z1]
        # interval of plausible log radiance: clipped readings are only bounds
        q8 = tol + 2.0 / (1.0 + z1)  # quantisation of dark readings
        lo = lg - q8
        hi = lg + q8
        if zmax >= 250:
            hi = 1e30
        if zmax <= 4:
            lo = -1e30
        if j == 0:
            ref_lo = lo
            ref_hi = hi
            wk = wk + 1e-4
        elif sigma > 0.0:
            d = max(0.0, max(lo - ref_hi, ref_lo - hi))
            if d > 0.0:
                q = d / sigma
                wk = wk * np.exp(-q * q)
        r += wk * lin[j, z0, 0]
        g += wk * lin[j, z1, 1]
        b += wk * lin[j, z2, 2]
        ws += wk
    inv = 1.0 / ws
    return r * inv, g * inv, b * inv


@njit(cache=True, nogil=True, parallel=True)
def merge_reinhard_k(ring, slots, dys, dxs, lin, logg, w, sigma, tol,
                     scale, inv_white2, enc, out, stats):  # pragma: no cover - compiled
    """Merge the window and apply Reinhard's global curve in one pass.

    ``scale`` is key / log-average, ``inv_white2`` 1 / Lwhite², ``enc`` a
    display-encoding table over 0..1 (uint8, any length). ``stats`` is
    (H // 4 + 1, 2 + bins): per sampled row the sum of log luminance, the
    sample count and a histogram of log2 luminance in quarter stops from -32.
    """
    h, wd = out.shape[0], out.shape[1]
    ne = enc.shape[0] - 1
    nb = stats.shape[1] - 2
    for y in prange(h):
        sample_row = (y & 3) == 0
        for x in range(wd):
            r, g, b = _merge_px(ring, slots, dys, dxs, lin, logg, w, y, x, h, wd, sigma, tol)
            lw = 0.2126 * r + 0.7152 * g + 0.0722 * b
            if lw > 1e-12:
                lsc = lw * scale
                ratio = scale * (1.0 + lsc * inv_white2) / (1.0 + lsc)
            else:
                ratio = 0.0
            out[y, x, 0] = enc[_clampi(np.int64(r * ratio * ne + 0.5), 0, ne)]
            out[y, x, 1] = enc[_clampi(np.int64(g * ratio * ne + 0.5), 0, ne)]
            out[y, x, 2] = enc[_clampi(np.int64(b * ratio * ne + 0.5), 0, ne)]
            if sample_row and (x & 3) == 0:
                ll = np.log(lw + 1e-9)
                row = y >> 2
                stats[row, 0] += ll
                stats[row, 1] += 1.0
                bi = np.int64((ll * 1.4426950408889634 + 32.0) * 4.0)
                stats[row, 2 + _clampi(bi, 0, nb - 1)] += 1.0


@njit(cache=True, nogil=True, parallel=True)
def merge_luma_k(ring, slots, dys, dxs, lin, logg, w, sigma, tol, rgb, loglum):  # pragma: no cover
    """Merge the window to linear RGB (H×W×3 float32) and log10 luminance (H×W)."""
    h, wd = loglum.shape
    for y in prange(h):
        for x in range(wd):
            r, g, b = _merge_px(ring, slots, dys, dxs, lin, logg, w, y, x, h, wd, sigma, tol)
            rgb[y, x, 0] = r
            rgb[y, x, 1] = g
            rgb[y, x, 2] = b
            loglum[y, x] = np.log10(max(0.2126 * r + 0.7152 * g + 0.0722 * b, 1e-12))


@njit(cache=True, nogil=True, parallel=True)
def base_detail_k(rgb, loglum, a, b, offset, factor, detail, enc, out, stats):  # pragma: no cover
    """Compress the guided-filter base ``a * loglum + b`` and add back the detail.

    Output log10 luminance is ``(base - offset) * factor + detail * (loglum - base)``.
    ``stats`` as in :func:`merge_reinhard_k` but holding log10 base values.
    """
    h, wd = loglum.shape
    ne = enc.shape[0] - 1
    nb = stats.shape[1] - 2
    for y in prange(h):
        sample_row = (y & 3) == 0
        for x in range(wd):
            ll = loglum[y, x]
            base = a[y, x] * ll + b[y, x]
            lo = (base - offset) * factor + detail * (ll - base)
            ratio = 10.0 ** (lo - ll)
            out[y, x, 0] = enc[_clampi(np.int64(rgb[y, x, 0] * ratio * ne + 0.5), 0, ne)]
            out[y, x, 1] = enc[_clampi(np.int64(rgb[y, x, 1] * ratio * ne + 0.5), 0, ne)]
            out[y, x, 2] = enc[_clampi(np.int64(rgb[y, x, 2] * ratio * ne + 0.5), 0, ne)]
            if sample_row and (x & 3) == 0:
                row = y >> 2
                stats[row, 0] += base
                stats[row, 1] += 1.0
                bi = np.int64((base * 3.321928094887362 + 32.0) * 4.0)
                stats[row, 2 + _clampi(bi, 0, nb - 1)] += 1.0
