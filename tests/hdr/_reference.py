"""Slow, obvious NumPy versions of the HDR kernels, for comparison in tests."""

from __future__ import annotations

import numpy as np


def merge_debevec_ref(stack, resp, w, t):
    z = stack.astype(np.int64)
    wk = w[z].mean(axis=3)  # K×H×W
    logr = np.log(resp)[z, np.arange(3)]  # K×H×W×3
    num = (wk[..., None] * (logr - np.log(t)[:, None, None, None])).sum(axis=0)
    return np.exp(num / wk.sum(axis=0)[..., None])


def merge_robertson_ref(stack, resp, w, t):
    z = stack.astype(np.int64)
    wk = w[z] * t[:, None, None, None]
    f = resp[z, np.arange(3)]
    return (wk * f).sum(axis=0) / (wk * t[:, None, None, None]).sum(axis=0)


def box_mean_ref(img, r):
    h, w = img.shape
    out = np.empty_like(img, dtype=np.float64)
    for y in range(h):
        for x in range(w):
            out[y, x] = img[max(0, y - r):y + r + 1, max(0, x - r):x + r + 1].mean()
    return out


def xor_count_ref(tb1, eb1, tb2, eb2, dy, dx):
    h, w = tb1.shape
    n = 0
    for y in range(h):
        for x in range(w):
            ys, xs = y - dy, x - dx
            if 0 <= ys < h and 0 <= xs < w:
                n += int((tb1[y, x] ^ tb2[ys, xs]) & eb1[y, x] & eb2[ys, xs])
    return n
