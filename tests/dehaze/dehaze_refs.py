"""Slow, obvious NumPy references for vidclear.dehaze's kernels, and test scenes."""

from __future__ import annotations

import numpy as np

LUMA = np.array([0.299, 0.587, 0.114])


def dark_channel_ref(img: np.ndarray, patch: int, airlight: np.ndarray | None = None) -> np.ndarray:
    """He et al.'s dark channel by brute force: min over channels, then over each patch."""
    x = img.astype(np.float64)
    if airlight is not None:
        x = x / np.asarray(airlight, np.float64)
    m = x.min(axis=2)
    r = patch // 2
    h, w = m.shape
    out = np.empty_like(m)
    for y in range(h):
        for xx in range(w):
            out[y, xx] = m[max(0, y - r):y + r + 1, max(0, xx - r):xx + r + 1].min()
    return out


def quadtree_ref(grey: np.ndarray, min_side: int) -> tuple[int, int, int, int]:
    """Kim et al.'s quad-tree search written with slicing and np.std."""
    y0, y1, x0, x1 = 0, grey.shape[0], 0, grey.shape[1]
    while max(y1 - y0, x1 - x0) > min_side and (y1 - y0) * (x1 - x0) > 1:
        ym, xm = (y0 + y1 + 1) // 2, (x0 + x1 + 1) // 2
        quads = [(y0, ym, x0, xm), (y0, ym, xm, x1), (ym, y1, x0, xm), (ym, y1, xm, x1)]
        scores = []
        for q in quads:
            reg = grey[q[0]:q[1], q[2]:q[3]].astype(np.float64)
            scores.append(reg.mean() - reg.std() if reg.size else -np.inf)
        y0, y1, x0, x1 = quads[int(np.argmax(scores))]
    return y0, y1, x0, x1


def bilinear_ref(x: np.ndarray, s: int, shape: tuple[int, int]) -> np.ndarray:
    """Interpolation between block centres j*s + (s-1)/2 with np.interp, clamped."""
    cy = np.arange(x.shape[0]) * s + (s - 1) / 2
    cx = np.arange(x.shape[1]) * s + (s - 1) / 2
    rows = np.stack([np.interp(np.arange(shape[1]), cx, row) for row in x])
    return np.stack([np.interp(np.arange(shape[0]), cy, rows[:, k]) for k in range(shape[1])],
                    axis=1)


def luma_floor_ref(low: np.ndarray, airlight: np.ndarray, k: float, t: np.ndarray,
                   cap: float = 1.0, credit: float = 1.0) -> np.ndarray:
    """max(t, min(cap, smallest t' with L(J) + credit C(J) >= k L(I))) by bisection, units of A.

    J = 1 + (I / A - 1) / t' is the recovery with a white airlight; L is the
    luma and C = max - min over channels. The condition holds at t' = 1 and
    its left side grows with t', so bisection on [0, 1] finds the bound.
    """
    u = low.astype(np.float64) / np.asarray(airlight, np.float64)
    lum = u @ LUMA

    def ok(tt: np.ndarray) -> np.ndarray:
        j = 1.0 + (u - 1.0) / tt[..., None]
        return j @ LUMA + credit * (j.max(axis=2) - j.min(axis=2)) >= k * lum

    lo = np.zeros(lum.shape)
    hi = np.ones(lum.shape)
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        good = ok(np.maximum(mid, 1e-12))
        hi = np.where(good, mid, hi)
        lo = np.where(good, lo, mid)
    return np.maximum(t, np.minimum(hi, cap))


KNEE_LOW, KNEE_HIGH = 0.06, 0.1  # the recovery's roll-off towards black and white
KNEE_FLOOR, KNEE_CEILING = 4.5 / 255, 250.5 / 255


def knee_ref(grey: np.ndarray, la: float, inv_t: np.ndarray) -> np.ndarray:
    """1 / t so the recovered grey ``(grey - la) / t + la`` rolls off towards floor and ceiling.

    With x the distance from the floor (ceiling), x becomes ``k² / (2k - x)``
    below k (slope 1 where they join); pixels within 1e-3 of ``la`` keep
    their 1 / t, and 1 / t is never raised nor taken below 1.
    """
    d = np.asarray(grey, np.float64) - la
    j = d * inv_t + la
    lo, hi = KNEE_LOW, KNEE_HIGH
    x = j - KNEE_FLOOR
    j = KNEE_FLOOR + np.maximum(x, lo * lo / (2 * lo - np.minimum(x, lo)))
    y = KNEE_CEILING - j
    j = KNEE_CEILING - np.maximum(y, hi * hi / (2 * hi - np.minimum(y, hi)))
    ok = np.abs(d) > 1e-3
    eased = np.minimum(inv_t, np.maximum((j - la) / np.where(ok, d, 1.0), 1.0))
    return np.where(ok, eased, inv_t)


def recover_ref(src: np.ndarray, coeffs: np.ndarray, s: int, airlight: np.ndarray,
                gains: np.ndarray, t0: float, gamma: float) -> np.ndarray:
    """J = (I - A) / max(t, t0) + A (1 / t eased by the knee), times gains, J**gamma, rounded."""
    full = 255.0 if src.dtype == np.uint8 else 65535.0
    i = src.astype(np.float64) / full
    a = bilinear_ref(coeffs[0], s, src.shape[:2])
    b = bilinear_ref(coeffs[1], s, src.shape[:2])
    grey = i @ LUMA
    inv = knee_ref(grey, float(LUMA @ airlight), 1.0 / np.clip(a * grey + b, t0, 1.0))[..., None]
    j = ((i - airlight) * inv + airlight) * gains
    j = np.clip(j, 0.0, 1.0) ** gamma
    return np.rint(j * full)


def textured_scene(h: int, w: int, seed: int) -> np.ndarray:
    """A haze-free RGB scene in [0, 1]: coloured blocks with fine texture.

    Each block has one weak channel, so the scene obeys the dark channel prior
    the way natural outdoor images do (shadows, coloured surfaces).
    """
    rng = np.random.default_rng(seed)
    bh, bw = -(-h // 8), -(-w // 8)
    base = rng.uniform(0.3, 0.9, (bh, bw, 3))
    weak = rng.integers(0, 3, (bh, bw))
    np.put_along_axis(base, weak[..., None], rng.uniform(0.0, 0.1, (bh, bw, 1)), axis=2)
    base = np.repeat(np.repeat(base, 8, axis=0), 8, axis=1)[:h, :w]
    tex = 0.75 + 0.5 * rng.random((h, w, 1))
    return np.clip(base * tex, 0.0, 1.0)


def add_haze(scene: np.ndarray, airlight: np.ndarray, beta: float,
             sky: float = 0.15) -> tuple[np.ndarray, np.ndarray]:
    """I = J t + A (1 - t) with depth rising linearly towards the top; returns (I, t).

    The top ``sky`` share of the rows is very far away (t = 0.01), like the
    sky or the horizon in fog, so the true airlight is visible somewhere.
    """
    h, w = scene.shape[:2]
    depth = np.linspace(1.0, 0.1, h)[:, None] * np.ones((1, w))
    t = np.exp(-beta * depth)
    t[: int(sky * h)] = 0.01
    return scene * t[..., None] + airlight * (1.0 - t[..., None]), t


def to_u8(x: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(x, 0.0, 1.0) * 255.0).astype(np.uint8)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two images in [0, 1]."""
    return float(10 * np.log10(1.0 / np.mean((np.asarray(a, float) - b) ** 2)))


# (KR, KB) of the YUV standards (ITU-R BT.601-7, BT.709-6)
STANDARDS = {"bt601": (0.299, 0.114), "bt709": (0.2126, 0.0722)}


def _scales(full: bool) -> tuple[float, float, float]:
    """(Y offset, Y' scale, Pb/Pr scale) of limited or full-range bytes."""
    return (0.0, 255.0, 255.0) if full else (16.0, 219.0, 224.0)


def yuv_of_rgb_ref(rgb: np.ndarray, standard: str = "bt601", full: bool = False) -> np.ndarray:
    """Byte-valued (Y, U, V) (..., 3) float64 of RGB in 0..255, from the standard's
    definitions: ``Y' = KR R + KG G + KB B``, ``Pb = (B - Y') / (2 (1 - KB))``,
    ``Pr = (R - Y') / (2 (1 - KR))``."""
    kr, kb = STANDARDS[standard]
    x = np.asarray(rgb, np.float64) / 255
    yp = kr * x[..., 0] + (1 - kr - kb) * x[..., 1] + kb * x[..., 2]
    pb = (x[..., 2] - yp) / (2 * (1 - kb))
    pr = (x[..., 0] - yp) / (2 * (1 - kr))
    y0, ys, cs = _scales(full)
    return np.stack([y0 + ys * yp, 128 + cs * pb, 128 + cs * pr], axis=-1)


def rgb_of_yuv_ref(yuv: np.ndarray, standard: str = "bt601", full: bool = False) -> np.ndarray:
    """RGB in 0..255 (unclipped) of byte-valued (Y, U, V) (..., 3): the inverse of
    :func:`yuv_of_rgb_ref`, ``R = Y' + 2 (1 - KR) Pr``, ``B = Y' + 2 (1 - KB) Pb``."""
    kr, kb = STANDARDS[standard]
    y0, ys, cs = _scales(full)
    yuv = np.asarray(yuv, np.float64)
    yp, pb, pr = (yuv[..., 0] - y0) / ys, (yuv[..., 1] - 128) / cs, (yuv[..., 2] - 128) / cs
    r = yp + 2 * (1 - kr) * pr
    b = yp + 2 * (1 - kb) * pb
    g = (yp - kr * r - kb * b) / (1 - kr - kb)
    return 255 * np.stack([r, g, b], axis=-1)


def yuv_planes_ref(rgb: np.ndarray, standard: str = "bt601", full: bool = False,
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """4:2:0 planes of an even-sized RGB uint8 image (2×2 chroma means), BT.601 limited
    range unless told otherwise."""
    yuv = yuv_of_rgb_ref(rgb, standard, full)
    y, pb, pr = yuv[..., 0], yuv[..., 1] - 128, yuv[..., 2] - 128
    h, w = y.shape

    def half(p: np.ndarray) -> np.ndarray:
        return p.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))

    return tuple(np.clip(np.rint(p), 0, 255).astype(np.uint8)  # type: ignore[return-value]
                 for p in (y, 128 + half(pb), 128 + half(pr)))


def recover_yuv_linear_ref(y: np.ndarray, u: np.ndarray, v: np.ndarray, coeffs: np.ndarray,
                           s: int, air_yuv: np.ndarray, t0: float, full: bool = False,
                           ) -> tuple[np.ndarray, ...]:
    """J = (I - A) / t + A per plane (1 / t eased by the knee on luma); chroma uses the
    mean of 1 / t over its 2×2 block. The luma guide is ``(Y - 16) / 219`` (full range:
    ``Y / 255``)."""
    y0, ys, _ = _scales(full)
    g = (y.astype(np.float64) - y0) / ys
    a = bilinear_ref(coeffs[0], s, y.shape)
    b = bilinear_ref(coeffs[1], s, y.shape)
    inv = knee_ref(g, (float(air_yuv[0]) - y0) / ys, 1.0 / np.clip(a * g + b, t0, 1.0))
    h, w = y.shape
    inv_c = inv.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
    out = [(y - air_yuv[0]) * inv + air_yuv[0], (u - air_yuv[1]) * inv_c + air_yuv[1],
           (v - air_yuv[2]) * inv_c + air_yuv[2]]
    return tuple(np.clip(np.rint(p), 0, 255) for p in out)
