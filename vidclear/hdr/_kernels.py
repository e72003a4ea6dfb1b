"""Numba kernels for exposure merging, calibration, alignment and filtering.

Private: the public functions in :mod:`vidclear.hdr` validate their inputs,
allocate outputs and call these. Kernels take contiguous ``uint8`` or
``float32`` arrays, do no I/O and read no configuration. Each has a slow NumPy
reference in ``tests/hdr/_reference.py``.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from vidclear._numba_cache import njit

# ---------------------------------------------------------------- merging


@njit(cache=True, nogil=True, inline="always")
def _agreement(stack, y, x, k, ref, glo, ghi, dgl, dgk):  # pragma: no cover - compiled
    """De-ghosting factor of exposure ``k`` at a pixel: 1 where each channel's interval
    of log radiance (``glo``, ``ghi``: K×256×3) meets the reference's, falling off
    with the widest gap."""
    if ref < 0 or k == ref:
        return 1.0
    d = 0.0
    for c in range(3):
        zk = stack[k, y, x, c]
        zr = stack[ref, y, x, c]
        d = max(d, max(glo[k, zk, c] - ghi[ref, zr, c], glo[ref, zr, c] - ghi[k, zk, c]))
    return dgl[min(np.int64(d * dgk), dgl.shape[0] - 1)]


@njit(cache=True, nogil=True, inline="always")
def _fallback_exposure(stack, y, x, k, ref, glo, ghi):  # pragma: no cover - compiled
    """``k``, or the reference where a channel of ``k`` misses the reference's (it moved)."""
    if ref < 0 or k == ref:
        return k
    for c in range(3):
        zk = stack[k, y, x, c]
        zr = stack[ref, y, x, c]
        if glo[k, zk, c] > ghi[ref, zr, c] or glo[ref, zr, c] > ghi[k, zk, c]:
            return ref
    return k


@njit(cache=True, nogil=True, inline="always")
def _reference_floor(stack, y, x, w, agree, ref, clip):  # pragma: no cover - compiled
    """The least weight of the reference's reading: ``1 - a``, ``a`` the best agreement
    of another exposure whose reading carries weight (no channel at ``clip``).

    Where every other exposure saw something else, the reference is all there
    is, however dark or bright its reading (a person in shade that the
    reference read near black was outvoted by the pavement the others saw).
    """
    best = 0.0
    for k in range(stack.shape[0]):
        z0 = stack[k, y, x, 0]
        z1 = stack[k, y, x, 1]
        z2 = stack[k, y, x, 2]
        if k != ref and max(z0, max(z1, z2)) < clip and w[z0] + w[z1] + w[z2] > 0.0:
            best = max(best, agree[k])
    return 1.0 - best


@njit(cache=True, nogil=True, parallel=True)
def merge_debevec_k(stack, logresp, w, logt, clip, ref, glo, ghi, dgl, dgk,
                    out):  # pragma: no cover - compiled
    """Log-domain weighted mean of ``logresp[z] - log t``; one weight per pixel.

    The weight of an exposure at a pixel is the mean of ``w`` over its three
    channels, or 0 when any channel reads ``clip`` or more (a clipped channel
    is only a lower bound and would pull that channel, and so the hue, down).
    With a reference exposure (``ref`` >= 0) each other exposure's weight is
    multiplied by ``dgl[min(int(d * dgk), len - 1)]``, ``d`` the gap between
    its readings' intervals ``[glo, ghi]`` (K×256×3 log radiance) and the
    reference's (de-ghosting), and the reference's weight is at least one
    less the best of those factors (:func:`_reference_floor`). Where every
    weight is zero the pixel is taken from the shortest exposure when
    bright, the longest when dark (the reference instead where that one's
    interval misses the reference's); in the shortest exposure a channel at
    ``clip`` or more is raised to the brightest channel's estimate, so
    clipped highlights turn white instead of taking a false hue.
    """
    k_n, h, wd = stack.shape[0], stack.shape[1], stack.shape[2]
    kmin = 0
    kmax = 0
    for k in range(k_n):
        if logt[k] < logt[kmin]:
            kmin = k
        if logt[k] > logt[kmax]:
            kmax = k
    for y in prange(h):
        agree = np.ones(k_n)
        for x in range(wd):
            s0 = 0.0
            s1 = 0.0
            s2 = 0.0
            ws = 0.0
            zsum = 0
            floor = 0.0
            if ref >= 0:
                for k in range(k_n):
                    agree[k] = _agreement(stack, y, x, k, ref, glo, ghi, dgl, dgk)
                floor = _reference_floor(stack, y, x, w, agree, ref, clip)
            for k in range(k_n):
                z0 = stack[k, y, x, 0]
                z1 = stack[k, y, x, 1]
                z2 = stack[k, y, x, 2]
                zsum += np.int64(z0) + z1 + z2
                if max(z0, max(z1, z2)) >= clip:
                    continue
                wk = (w[z0] + w[z1] + w[z2]) / 3.0
                if ref >= 0:
                    wk = max(wk, floor) if k == ref else wk * agree[k]
                s0 += wk * (logresp[z0, 0] - logt[k])
                s1 += wk * (logresp[z1, 1] - logt[k])
                s2 += wk * (logresp[z2, 2] - logt[k])
                ws += wk
            if ws > 1e-12:
                out[y, x, 0] = np.exp(s0 / ws)
                out[y, x, 1] = np.exp(s1 / ws)
                out[y, x, 2] = np.exp(s2 / ws)
            else:
                k = kmin if zsum > 3 * 127 * k_n else kmax
                k = _fallback_exposure(stack, y, x, k, ref, glo, ghi)
                top = -1e30
                for c in range(3):
                    top = max(top, logresp[stack[k, y, x, c], c] - logt[k])
                for c in range(3):
                    z = stack[k, y, x, c]
                    v = logresp[z, c] - logt[k]
                    out[y, x, c] = np.exp(top if (k == kmin and z >= clip) else v)


@njit(cache=True, nogil=True, parallel=True)
def merge_robertson_k(stack, resp, w, t, ref, glo, ghi, dgl, dgk,
                      out):  # pragma: no cover - compiled
    """Robertson's maximum-likelihood estimate ``Σ w t f(z) / Σ w t²`` per channel.

    De-ghosting against exposure ``ref`` as in :func:`merge_debevec_k` (the
    reference's table weight at least the floor there, before the factor
    ``t``). Where a channel's weights are all zero the value comes from the
    shortest exposure when bright, the longest when dark (or the reference,
    where that one's reading misses the reference's).
    """
    k_n, h, wd = stack.shape[0], stack.shape[1], stack.shape[2]
    kmin = 0
    kmax = 0
    for k in range(k_n):
        if t[k] < t[kmin]:
            kmin = k
        if t[k] > t[kmax]:
            kmax = k
    for y in prange(h):
        agree = np.ones(k_n)
        for x in range(wd):
            floor = 0.0
            if ref >= 0:
                for k in range(k_n):
                    agree[k] = _agreement(stack, y, x, k, ref, glo, ghi, dgl, dgk)
                floor = _reference_floor(stack, y, x, w, agree, ref, 256)
            for c in range(3):
                num = 0.0
                den = 0.0
                zs = 0
                for k in range(k_n):
                    z = stack[k, y, x, c]
                    zs += z
                    wk = w[z]
                    if ref >= 0:
                        wk = max(wk, floor) if k == ref else wk * agree[k]
                    wk *= t[k]
                    num += wk * resp[z, c]
                    den += wk * t[k]
                if den > 1e-20:
                    out[y, x, c] = num / den
                else:
                    k = kmin if zs > 127 * k_n else kmax
                    k = _fallback_exposure(stack, y, x, k, ref, glo, ghi)
                    out[y, x, c] = resp[stack[k, y, x, c], c] / t[k]


@njit(cache=True, nogil=True, parallel=True)
def robertson_accum_k(stack, rad, t, acc, cnt):  # pragma: no cover - compiled
    """Per value and channel: sum of ``t_k * radiance`` and count of pixels.

    ``acc`` and ``cnt`` are (chunks, 256, 3) float64; chunk ``i`` owns row
    block ``i``, so threads never share a buffer.
    """
    k_n, h, wd = stack.shape[0], stack.shape[1], stack.shape[2]
    n_chunks = acc.shape[0]
    step = (h + n_chunks - 1) // n_chunks
    for i in prange(n_chunks):
        for y in range(i * step, min(h, (i + 1) * step)):
            for k in range(k_n):
                for x in range(wd):
                    for c in range(3):
                        z = stack[k, y, x, c]
                        acc[i, z, c] += t[k] * rad[y, x, c]
                        cnt[i, z, c] += 1.0


# ---------------------------------------------------------------- alignment


@njit(cache=True, nogil=True)
def log_ratio_readings_k(a, b, log_response, low, high, out):  # pragma: no cover - compiled
    """``log_response[b] - log_response[a]`` of channel readings in [low, high] in both.

    ``a`` and ``b`` are H×W×C uint8 (any strides), ``log_response`` 256×C
    float64 and ``out`` float64 with room for H·W·C values. Readings are
    written channel by channel, each in row-major order; returns their count.
    """
    h, w, nc = a.shape
    k = 0
    for c in range(nc):
        for y in range(h):
            for x in range(w):  # branch-free: write every reading, keep the usable ones
                va = a[y, x, c]
                vb = b[y, x, c]
                out[k] = log_response[vb, c] - log_response[va, c]
                k += (va >= low) & (va <= high) & (vb >= low) & (vb <= high)
    return k



@njit(cache=True, nogil=True)
def half_k(gray, out):  # pragma: no cover - compiled
    """Halve a uint8 image by averaging 2×2 blocks (odd edge dropped)."""
    h, w = out.shape
    for y in range(h):
        for x in range(w):
            s = (np.int32(gray[2 * y, 2 * x]) + gray[2 * y, 2 * x + 1]
                 + gray[2 * y + 1, 2 * x] + gray[2 * y + 1, 2 * x + 1])
            out[y, x] = (s + 2) // 4


@njit(cache=True, nogil=True)
def mtb_k(gray, thr, excl, tb, eb):  # pragma: no cover - compiled
    """Threshold bitmap (gray > thr) and exclusion bitmap (|gray - thr| > excl)."""
    h, w = gray.shape
    for y in range(h):
        for x in range(w):
            g = np.int32(gray[y, x])
            tb[y, x] = 1 if g > thr else 0
            eb[y, x] = 1 if abs(g - thr) > excl else 0


@njit(cache=True, nogil=True)
def median_u8_k(gray):  # pragma: no cover - compiled
    """The lower median of a uint8 image: smallest value whose count reaches (size + 1) // 2."""
    hist = np.zeros(256, np.int64)
    h, w = gray.shape
    for y in range(h):
        for x in range(w):
            hist[gray[y, x]] += 1
    half = (h * w + 1) // 2
    acc = 0
    for v in range(256):
        acc += hist[v]
        if acc >= half:
            return v
    return 255


@njit(cache=True, nogil=True, parallel=True)
def xor_counts_k(tb1, eb1, tb2, eb2, dys, dxs, counts):  # pragma: no cover - compiled
    """:func:`xor_count_k` for several shifts ``(dys[k], dxs[k])`` into ``counts[k]``.

    One pass over the rows: each row of image 1 is compared with every
    shifted row of image 2 while it is in cache. Blocks of rows run in
    parallel, each with its own counts.
    """
    h, w = tb1.shape
    nk = dys.shape[0]
    rows = 16
    nblk = (h + rows - 1) // rows
    part = np.zeros((nblk, nk), np.int64)
    for bi in prange(nblk):
        for y in range(bi * rows, min(h, (bi + 1) * rows)):
            a = tb1[y]
            e = eb1[y]
            for k in range(nk):
                dy = dys[k]
                dx = dxs[k]
                ys = y - dy
                if ys < 0 or ys >= h:
                    continue
                x0 = max(0, dx)
                x1 = min(w, w + dx)
                if x1 <= x0:
                    continue
                aa = a[x0:x1]
                ee = e[x0:x1]
                bb = tb2[ys, x0 - dx:x1 - dx]
                ff = eb2[ys, x0 - dx:x1 - dx]
                acc = np.uint32(0)
                for x in range(x1 - x0):
                    acc += np.uint32((aa[x] ^ bb[x]) & ee[x] & ff[x])
                part[bi, k] += acc
    for k in range(nk):
        counts[k] = 0
        for bi in range(nblk):
            counts[k] += part[bi, k]


@njit(cache=True, nogil=True)
def xor_count_k(tb1, eb1, tb2, eb2, dy, dx):  # pragma: no cover - compiled
    """Count of differing, non-excluded bits between image 1 and image 2 shifted by (dy, dx).

    Image 2 shifted by (dy, dx) means its pixel (y - dy, x - dx) lands at
    (y, x); pixels shifted in from outside are not counted.
    """
    h, w = tb1.shape
    y0 = max(0, dy)
    y1 = min(h, h + dy)
    x0 = max(0, dx)
    x1 = min(w, w + dx)
    m = x1 - x0
    n = 0
    for y in range(y0, y1):
        # row slices indexed from 0 keep the inner loop free of bounds logic,
        # so it vectorises over bytes
        a = tb1[y, x0:x1]
        e = eb1[y, x0:x1]
        b = tb2[y - dy, x0 - dx:x1 - dx]
        f = eb2[y - dy, x0 - dx:x1 - dx]
        acc = np.uint32(0)
        for x in range(m):
            acc += np.uint32((a[x] ^ b[x]) & e[x] & f[x])
        n += int(acc)
    return n


# ---------------------------------------------------------------- filtering


@njit(cache=True, nogil=True, parallel=True)
def mertens_weights_k(img, lap, wc, ws, we, sigma, out):  # pragma: no cover - compiled
    """Mertens weights: |Laplacian|^wc · saturation^ws · well-exposedness^we + 1e-12.

    ``img`` is H×W×3 float32 in 0..1, ``lap`` the Laplacian of its gray level.
    """
    h, w = lap.shape
    inv = -0.5 / (sigma * sigma)
    for y in prange(h):
        for x in range(w):
            r = img[y, x, 0]
            g = img[y, x, 1]
            b = img[y, x, 2]
            m = (r + g + b) / 3.0
            sat = np.sqrt(((r - m) ** 2 + (g - m) ** 2 + (b - m) ** 2) / 3.0)
            wexp = np.exp(inv * ((r - 0.5) ** 2 + (g - 0.5) ** 2 + (b - 0.5) ** 2))
            c = abs(lap[y, x])
            v = 1.0
            if wc != 0.0:
                v *= c ** wc
            if ws != 0.0:
                v *= sat ** ws
            if we != 0.0:
                v *= wexp ** we
            out[y, x] = v + 1e-12
