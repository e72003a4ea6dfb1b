"""Slow, obvious NumPy versions of the HDR kernels, for comparison in tests."""

from __future__ import annotations

import numpy as np


def agreement_ref(stack, ghost):
    """De-ghosting factors K×H×W: 1 where every channel's interval meets the
    reference's, ``exp(-(i / 32)²)`` for the widest gap ``d`` (i = floor(32 d /
    sigma), 0 from i = 255) where not. ``ghost`` = (ref, lo, hi, sigma), lo and
    hi K×256×3; None: all ones."""
    if ghost is None:
        return np.ones(stack.shape[:3])
    ref, lo, hi, sigma = ghost
    z = stack.astype(np.int64)
    ch = np.arange(3)
    lo_k = np.stack([lo[k][z[k], ch] for k in range(len(z))]).astype(np.float64)  # K×H×W×3
    hi_k = np.stack([hi[k][z[k], ch] for k in range(len(z))]).astype(np.float64)
    gap = np.maximum(0.0, np.maximum(lo_k - hi_k[ref], lo_k[ref] - hi_k)).max(axis=3)
    i = np.floor(gap * np.float32(32.0 / sigma))
    f = np.where(i >= 255, 0.0, np.exp(-(np.minimum(i, 255) / 32.0) ** 2))
    f[ref] = 1.0
    return f


def _floored(stack, w, wk, ghost, clip):
    """``wk`` (K×H×W) with the reference's weight raised to one less the best
    agreement of another exposure whose reading has weight (no channel at ``clip``)."""
    if ghost is None:
        return wk
    z = stack.astype(np.int64)
    ref = ghost[0]
    agree = agreement_ref(stack, ghost)
    counts = (z.max(axis=3) < clip) & (w[z].sum(axis=3) > 0)
    counts[ref] = False
    best = np.where(counts, agree, 0.0).max(axis=0)
    out = wk.copy()
    out[ref] = np.maximum(wk[ref], 1.0 - best)
    return out


def _moved(z, k, ghost):
    """Whether a channel of exposure k's reading misses the reference's, per pixel (H×W)."""
    if ghost is None:
        return np.zeros(z.shape[1:3], bool)
    ref, lo, hi, _ = ghost
    ch = np.arange(3)
    return np.any((lo[k][z[k], ch] > hi[ref][z[ref], ch]) | (lo[ref][z[ref], ch] > hi[k][z[k], ch]),
                  axis=2)


def merge_debevec_ref(stack, resp, w, t, clip=256, ghost=None):
    z = stack.astype(np.int64)
    clipped = z.max(axis=3) >= clip
    wk = _floored(stack, w, w[z].mean(axis=3) * agreement_ref(stack, ghost), ghost, clip)
    wk = np.where(clipped, 0.0, wk)  # K×H×W
    logr = np.log(resp)[z, np.arange(3)] - np.log(t)[:, None, None, None]  # K×H×W×3
    den = wk.sum(axis=0)
    out = np.exp((wk[..., None] * logr).sum(axis=0) / np.maximum(den, 1e-300)[..., None])
    # all clipped: shortest exposure when bright (clipped channels raised to the
    # brightest channel), longest when dark
    zero = den <= 1e-12
    bright = z.sum(axis=(0, 3)) > 3 * 127 * len(t)
    kmin, kmax = int(np.argmin(t)), int(np.argmax(t))
    hi = np.where(z[kmin] >= clip, logr[kmin].max(axis=2, keepdims=True), logr[kmin])
    short, long_ = zero & bright & ~_moved(z, kmin, ghost), zero & ~bright & ~_moved(z, kmax, ghost)
    out[short] = np.exp(hi[short])
    out[long_] = np.exp(logr[kmax][long_])
    if ghost is not None:  # the fallback exposure moved: the reference's reading
        rest = zero & ~short & ~long_
        out[rest] = np.exp(logr[ghost[0]][rest])
    return out


def merge_robertson_ref(stack, resp, w, t, ghost=None):
    z = stack.astype(np.int64)
    agree = agreement_ref(stack, ghost)
    wk = np.stack([_floored(stack, w, w[z[..., c]] * agree, ghost, 256) for c in range(3)], -1)
    wk = wk * t[:, None, None, None]
    f = resp[z, np.arange(3)]
    return (wk * f).sum(axis=0) / (wk * t[:, None, None, None]).sum(axis=0)


def xor_count_ref(tb1, eb1, tb2, eb2, dy, dx):
    h, w = tb1.shape
    n = 0
    for y in range(h):
        for x in range(w):
            ys, xs = y - dy, x - dx
            if 0 <= ys < h and 0 <= xs < w:
                n += int((tb1[y, x] ^ tb2[ys, xs]) & eb1[y, x] & eb2[ys, xs])
    return n


def _intervals(z, glo, ghi, clip):
    """Per channel (H×W×3) log-radiance bounds of readings ``z`` (H×W×3)."""
    ch = np.arange(3)
    lo = np.where(z > 4, glo[z, ch], -1e30)
    hi = np.where(z < clip, ghi[z, ch], 1e30)
    return lo, hi


def _gap(lo, hi, lo0, hi0):
    """The widest gap, over the three channels, between two pixels' intervals (H×W)."""
    return np.maximum(0.0, np.maximum(lo - hi0, lo0 - hi)).max(axis=2)


def merge_window_ref(ring, slots, dys, dxs, lin, glo, ghi, wt, dgl, dgk, fb, clip=250):
    """The rolling-bracket merge of ``_video_kernels._merge_row``, whole image, float64.

    ``glo``, ``ghi`` (n×256×3) bound the log radiance of each channel's
    readings; a pixel's interval misses another's by the widest gap of its
    three channels. ``clip``: readings from here up bound the radiance below
    only, readings of 4 or less above only (the kernels' tables,
    ``pack_tables(..., clip)``).
    """
    n = len(slots)
    h, w = ring.shape[1:3]
    ys = np.arange(h)
    xs = np.arange(w)
    num = np.zeros((h, w, 3))
    den = np.zeros((h, w))
    zs, los, his = [], [], []
    for j in range(n):
        yy = np.clip(ys - dys[j], 0, h - 1)
        xx = np.clip(xs - dxs[j], 0, w - 1)
        z = ring[slots[j]][yy][:, xx].astype(np.int64)
        zs.append(z)
        zmax = z.max(axis=2)
        zl = (z[..., 0] + 2 * z[..., 1] + z[..., 2]) >> 2
        wj = np.minimum(wt[zmax], wt[zl]).astype(np.float64)
        lo, hi = _intervals(z, glo[j], ghi[j], clip)
        los.append(lo)
        his.append(hi)
        if j > 0:
            d = _gap(lo, hi, los[0], his[0])
            wj = wj * dgl[np.minimum(d * dgk, 255).astype(np.int64)]
        num += wj[..., None] * lin[j][z, np.arange(3)]
        den += wj
    out = num / np.maximum(den, 1e-30)[..., None]
    zero = den <= 1e-6
    bright = zs[0].max(axis=2) >= 128
    jf = np.where(bright, fb[0], fb[1])
    for j in range(n):
        sel = zero & (jf == j)
        if j > 0 and dgk > 0:
            lo, hi = _intervals(zs[j], glo[j], ghi[j], clip)
            d = _gap(lo, hi, los[0], his[0])
            moved = dgl[np.minimum(d * dgk, 255).astype(np.int64)] < 0.5
            use0 = sel & moved
            out[use0] = lin[0][zs[0][use0], np.arange(3)]
            sel = sel & ~moved
        out[sel] = lin[j][zs[j][sel], np.arange(3)]
    return out


def encode_ref(rgb, ratio, enc):
    ne = enc.size - 1
    idx = (np.minimum(rgb * ratio[..., None] * ne, ne) + 0.5).astype(np.int64)
    return enc[idx]


def reinhard_ref(rgb, scale, inv_white2, enc):
    lw = rgb @ np.array([0.2126, 0.7152, 0.0722])
    lsc = lw * scale
    return encode_ref(rgb, scale * (1 + lsc * inv_white2) / (1 + lsc), enc), lw


def base_detail_ref(rgb, loglum, a, b, offset, factor, detail, enc):
    base = a * loglum + b
    t = (base - offset) * factor + detail * (loglum - base) - loglum
    return encode_ref(rgb, np.exp2(np.clip(t, -126, 126)), enc), base
