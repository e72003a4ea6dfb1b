"""Slow, obvious NumPy versions of the HDR kernels, for comparison in tests."""

from __future__ import annotations

import numpy as np


def merge_debevec_ref(stack, resp, w, t, clip=256):
    z = stack.astype(np.int64)
    wk = np.where(z.max(axis=3) >= clip, 0.0, w[z].mean(axis=3))  # K×H×W
    logr = np.log(resp)[z, np.arange(3)] - np.log(t)[:, None, None, None]  # K×H×W×3
    den = wk.sum(axis=0)
    out = np.exp((wk[..., None] * logr).sum(axis=0) / np.maximum(den, 1e-300)[..., None])
    # all clipped: shortest exposure when bright (clipped channels raised to the
    # brightest channel), longest when dark
    zero = den <= 1e-12
    bright = z.sum(axis=(0, 3)) > 3 * 127 * len(t)
    kmin, kmax = int(np.argmin(t)), int(np.argmax(t))
    hi = np.where(z[kmin] >= clip, logr[kmin].max(axis=2, keepdims=True), logr[kmin])
    out[zero & bright] = np.exp(hi[zero & bright])
    out[zero & ~bright] = np.exp(logr[kmax][zero & ~bright])
    return out


def merge_robertson_ref(stack, resp, w, t):
    z = stack.astype(np.int64)
    wk = w[z] * t[:, None, None, None]
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


def merge_window_ref(ring, slots, dys, dxs, lin, glo, ghi, wt, dgl, dgk, fb):
    """The rolling-bracket merge of ``_video_kernels._merge_row``, whole image, float64."""
    n = len(slots)
    h, w = ring.shape[1:3]
    ys = np.arange(h)
    xs = np.arange(w)
    big = 1e30
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
        g = z[..., 1]
        lo = np.where(g > 4, glo[j][g], -big)
        hi = np.where(g < 250, ghi[j][g], big)
        los.append(lo)
        his.append(hi)
        if j > 0:
            d = np.maximum(0.0, np.maximum(lo - his[0], los[0] - hi))
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
            g = zs[j][..., 1]
            lo = np.where(g > 4, glo[j][g], -big)
            hi = np.where(g < 250, ghi[j][g], big)
            moved = (lo > his[0]) | (los[0] > hi)
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
