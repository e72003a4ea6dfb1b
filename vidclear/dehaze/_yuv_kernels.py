"""Numba kernels of the dehazer's YUV 4:2:0 path (8-bit; BT.601 or BT.709, either range).

Private: no validation. Planes are C-contiguous uint8, Y H×W and U, V
H/2×W/2 with H and W even. Byte values follow ITU-R BT.601 / BT.709: in
limited ("tv") range ``Y = 16 + 219 Y'``, ``U = 128 + 224 Pb``,
``V = 128 + 224 Pr``; in full ("pc", JPEG) range ``Y = 255 Y'``,
``U = 128 + 255 Pb``, ``V = 128 + 255 Pr``; with ``Y' = KR R + KG G + KB B``
(R, G, B in [0, 1]; KR, KB 0.299, 0.114 for BT.601 and 0.2126, 0.0722 for
BT.709), so the guide ``(Y - Y0) / range`` is the luma-weighted grey of the
standard (for BT.601, exactly the grey the RGB path uses). Chroma sample
(k, j) sits on luma rows 2k, 2k+1 and columns 2j, 2j+1 (as OpenCV's I420
conversions and swscale's default treat it). A :class:`YuvModel` carries a
standard's matrices; the kernels take its float32 arrays.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import prange

from vidclear._numba_cache import njit
from vidclear.dehaze._kernels import knee_inv_t
from vidclear.kernels._fastmath import FASTMATH
from vidclear.kernels._filters import bilinear_taps
from vidclear.kernels.colour import KB_601, KB_709, KR_601, KR_709


class YuvModel(NamedTuple):
    """How 8-bit YUV bytes encode RGB: one standard's matrix in one range.

    ``to_yuv`` (3, 3) float64 maps RGB in 0..255 to byte-valued YUV minus
    ``offset`` ([16, 128, 128] limited, [0, 128, 128] full); ``to_rgb`` is
    its inverse. ``luma`` (3,) float32 holds the standard's KR, KG, KB;
    ``guide`` (2,) float32 = [offset of Y, 1 / its range (219 or 255)], so
    ``(Y - guide[0]) * guide[1]`` is the luma in [0, 1]; ``mats`` (2, 3, 3)
    float32 = ``to_rgb`` then ``to_yuv`` for the kernels.
    """

    to_yuv: np.ndarray
    to_rgb: np.ndarray
    offset: np.ndarray
    luma: np.ndarray
    guide: np.ndarray
    mats: np.ndarray


def yuv_model(kr: float, kb: float, full: bool) -> YuvModel:
    """The :class:`YuvModel` of luma weights ``kr``, ``kb`` in full or limited range.

    ITU-R BT.601-7 and BT.709-6 give the matrices (limited range: Y in
    16..235, chroma 16..240); full range (JPEG / JFIF, FFmpeg's ``pc``)
    spans 0..255 for all three.
    """
    kg = 1.0 - kr - kb
    ys, cs = (255.0, 127.5) if full else (219.0, 112.0)
    to_yuv = np.array([
        [kr * ys / 255, kg * ys / 255, kb * ys / 255],
        [-kr * cs / (1 - kb) / 255, -kg * cs / (1 - kb) / 255, cs / 255],
        [cs / 255, -kg * cs / (1 - kr) / 255, -kb * cs / (1 - kr) / 255],
    ])
    to_rgb = np.linalg.inv(to_yuv)
    y0 = 0.0 if full else 16.0
    return YuvModel(to_yuv, to_rgb, np.array([y0, 128.0, 128.0]),
                    np.array([kr, kg, kb], np.float32), np.array([y0, 1.0 / ys], np.float32),
                    np.stack([to_rgb, to_yuv]).astype(np.float32))


#: The standards the YUV path reads, by (FFmpeg colorspace name, full range).
YUV_MODELS = {(name, full): yuv_model(kr, kb, full)
              for name, (kr, kb) in (("bt601", (KR_601, KB_601)), ("bt709", (KR_709, KB_709)))
              for full in (False, True)}
BT601_TV = YUV_MODELS["bt601", False]
_FAST = set(FASTMATH)  # see vidclear.kernels._fastmath: no reassociation


@njit(cache=True, nogil=True)
def _overlaps(n_luma: int, s: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each output cell: first chroma index, count (<= s//2 + 2) and weights.

    Output cell i covers luma samples [s*i, min(s*i + s, n_luma)); chroma
    sample k covers luma [2k, 2k + 2). Weights are the overlap lengths
    divided by the cell's length, so they sum to 1.
    """
    span = s // 2 + 2
    first = np.empty(n_out, np.int64)
    count = np.empty(n_out, np.int64)
    wts = np.zeros((n_out, span), np.float32)
    for i in range(n_out):
        a = s * i
        b = min(a + s, n_luma)
        k0 = a // 2
        k1 = (b + 1) // 2
        first[i] = k0
        count[i] = k1 - k0
        for k in range(k0, k1):
            lo = max(a, 2 * k)
            hi = min(b, 2 * k + 2)
            wts[i, k - k0] = (hi - lo) / (b - a)
    return first, count, wts


@njit(cache=True, nogil=True)
def chroma_area(c: np.ndarray, s: int, rows: int, cols: int, out: np.ndarray) -> None:
    """Mean of a half-resolution chroma plane over each s×s luma block, in byte units.

    ``c`` is (rows/2, cols/2) uint8; ``out`` is float32 (ceil(rows/s),
    ceil(cols/s)), the area average of the (nearest-neighbour upsampled)
    chroma over the same blocks the luma is averaged over, for any s
    (odd s splits chroma samples between blocks by overlap).
    """
    h, w = out.shape
    fy, ny, wy = _overlaps(rows, s, h)
    fx, nx, wx = _overlaps(cols, s, w)
    cw = c.shape[1]
    line = np.empty(cw, np.float32)
    for i in range(h):
        line[:] = 0.0
        for k in range(ny[i]):
            wk = wy[i, k]
            src = c[fy[i] + k]
            for j in range(cw):
                line[j] += wk * np.float32(src[j])
        for j in range(w):
            acc = np.float32(0.0)
            for k in range(nx[j]):
                acc += wx[j, k] * line[fx[j] + k]
            out[i, j] = acc


@njit(cache=True, nogil=True, fastmath=_FAST)
def yuv_to_low(ylow: np.ndarray, ulow: np.ndarray, vlow: np.ndarray, m: np.ndarray,
               yk: np.ndarray, planes: np.ndarray, low: np.ndarray, guide: np.ndarray) -> None:
    """Working image from block-mean planes: RGB in [0, 1] (clipped) and grey ``(Y - Y0) / range``.

    ``m`` is a model's ``to_rgb`` (3, 3) and ``yk`` its ``guide`` (Y0, 1 /
    range); the planes are byte-valued float32 (h, w).
    The RGB goes to ``planes`` (3, h, w), a loop that vectorises, and is
    then interleaved into ``low`` (h, w, 3) for the kernels that read it so.
    """
    h, w = guide.shape
    k = m * np.float32(1.0 / 255.0)
    k00, k01, k02 = k[0, 0], k[0, 1], k[0, 2]
    k10, k11, k12 = k[1, 0], k[1, 1], k[1, 2]
    k20, k21, k22 = k[2, 0], k[2, 1], k[2, 2]
    zero = np.float32(0.0)
    one = np.float32(1.0)
    y0 = yk[0]
    g = yk[1]
    for y in range(h):
        yrow = ylow[y]
        urow = ulow[y]
        vrow = vlow[y]
        p0 = planes[0, y]
        p1 = planes[1, y]
        p2 = planes[2, y]
        grow = guide[y]
        for x in range(w):
            yy = yrow[x] - y0
            uu = urow[x] - np.float32(128.0)
            vv = vrow[x] - np.float32(128.0)
            p0[x] = min(max(k00 * yy + k01 * uu + k02 * vv, zero), one)
            p1[x] = min(max(k10 * yy + k11 * uu + k12 * vv, zero), one)
            p2[x] = min(max(k20 * yy + k21 * uu + k22 * vv, zero), one)
            grow[x] = yy * g
        row = low[y]
        for x in range(w):
            row[x, 0] = p0[x]
            row[x, 1] = p1[x]
            row[x, 2] = p2[x]


@njit(cache=True, nogil=True, fastmath=_FAST, inline="always")
def _coef_row(coeffs: np.ndarray, rr: int, xi0: np.ndarray, xi1: np.ndarray, fx: np.ndarray,
              ha: np.ndarray, hb: np.ndarray) -> None:
    """Coefficient row ``rr`` interpolated along x into ``ha``, ``hb``."""
    ca = coeffs[0, rr]
    cb = coeffs[1, rr]
    for x in range(ha.shape[0]):
        j0 = xi0[x]
        j1 = xi1[x]
        wx = fx[x]
        ha[x] = ca[j0] + wx * (ca[j1] - ca[j0])
        hb[x] = cb[j0] + wx * (cb[j1] - cb[j0])


@njit(cache=True, nogil=True, fastmath=_FAST, inline="always")
def _inv_t_row(yrow: np.ndarray, coeffs: np.ndarray, yi: int, yi1: int, wy: float,
               xi0: np.ndarray, xi1: np.ndarray, fx: np.ndarray, cache: np.ndarray,
               have: np.ndarray, t0: np.float32, la: np.float32, y0: np.float32,
               g: np.float32, vrow: np.ndarray) -> None:
    """1 / max(t, t0) along one luma row, t from the coefficients applied to ``(Y - y0) g``.

    Eased by :func:`~vidclear.dehaze._kernels.knee_inv_t` around the
    airlight's grey ``la``, so the recovered luma rolls off into black and white.

    ``cache`` (2, 2, W) holds the x-interpolated coefficient rows of the two
    working rows last used, ``have`` their indices (reused across calls).
    """
    for k in range(2):
        rr = yi if k == 0 else yi1
        if have[k] == rr:
            continue
        if have[1 - k] == rr:
            cache[k] = cache[1 - k]
        else:
            _coef_row(coeffs, rr, xi0, xi1, fx, cache[k, 0], cache[k, 1])
        have[k] = rr
    a0 = cache[0, 0]
    a1 = cache[1, 0]
    b0 = cache[0, 1]
    b1 = cache[1, 1]
    one = np.float32(1.0)
    wyf = np.float32(wy)
    for x in range(yrow.shape[0]):
        grey = (np.float32(yrow[x]) - y0) * g
        t = (a0[x] + wyf * (a1[x] - a0[x])) * grey + b0[x] + wyf * (b1[x] - b0[x])
        t = min(max(t, t0), one)
        vrow[x] = knee_inv_t(grey, la, one / t)


@njit(cache=True, nogil=True, parallel=True, fastmath=_FAST)
def recover_yuv_linear(yp: np.ndarray, up: np.ndarray, vp: np.ndarray, coeffs: np.ndarray,
                       s: int, air: np.ndarray, t0: np.float32, yk: np.ndarray, yo: np.ndarray,
                       uo: np.ndarray, vo: np.ndarray) -> None:
    """J = (I - A) / t + A on the planes directly (no gains, no tone curve).

    The recovery is affine per pixel, so it commutes with the affine
    RGB→YUV matrix: Y uses its own 1 / t, each chroma sample the mean of
    1 / t over its 2×2 luma pixels (what averaging the recovered RGB over
    the block gives). ``air`` = airlight as byte-valued (Y, U, V); ``yk`` the
    model's ``guide`` (Y0, 1 / range). Outputs are rounded and clipped to 0..255.
    """
    rows, cols = yp.shape
    h, w = coeffs.shape[1], coeffs.shape[2]
    yi0, yi1, fy = bilinear_taps(rows, h, s)
    xi0, xi1, fx = bilinear_taps(cols, w, s)
    ay = np.float32(air[0])
    au = np.float32(air[1])
    av = np.float32(air[2])
    y0 = yk[0]
    g = yk[1]
    la = (ay - y0) * g
    half = np.float32(0.5)
    zero = np.float32(0.0)
    top = np.float32(255.0)
    quarter = np.float32(0.25)
    crow = rows // 2
    ccol = cols // 2
    nchunks = min(crow, 32)
    for ci in prange(nchunks):
        cache = np.empty((2, 2, cols), np.float32)
        have = np.full(2, -1, np.int64)
        v2 = np.empty((2, cols), np.float32)
        for k in range(ci * crow // nchunks, (ci + 1) * crow // nchunks):
            for d in range(2):
                y = 2 * k + d
                _inv_t_row(yp[y], coeffs, yi0[y], yi1[y], fy[y], xi0, xi1, fx, cache, have,
                           t0, la, y0, g, v2[d])
                src = yp[y]
                dst = yo[y]
                vr = v2[d]
                for x in range(cols):
                    q = (np.float32(src[x]) - ay) * vr[x] + ay + half
                    dst[x] = min(max(q, zero), top)
            ur = up[k]
            vrw = vp[k]
            uor = uo[k]
            vor = vo[k]
            r0 = v2[0]
            r1 = v2[1]
            for j in range(ccol):
                m = (r0[2 * j] + r0[2 * j + 1] + r1[2 * j] + r1[2 * j + 1]) * quarter
                q = (np.float32(ur[j]) - au) * m + au + half
                uor[j] = min(max(q, zero), top)
                q = (np.float32(vrw[j]) - av) * m + av + half
                vor[j] = min(max(q, zero), top)


@njit(cache=True, nogil=True, parallel=True, fastmath=_FAST)
def recover_yuv_rgb(yp: np.ndarray, up: np.ndarray, vp: np.ndarray, coeffs: np.ndarray,
                    s: int, prm: np.ndarray, lut: np.ndarray, mats: np.ndarray,
                    yo: np.ndarray, uo: np.ndarray, vo: np.ndarray) -> None:
    """The RGB path's recovery, gains and tone curve, fused with the colour conversions.

    Each luma pixel is converted to RGB (0..255, clipped; chroma of its 2×2
    block), recovered exactly as :func:`vidclear.dehaze._kernels.recover`
    does with ``prm`` = [m0, m1, m2, n0, n1, n2, t0, top, la, y0, g] and ``lut``
    (empty: no tone curve, top = 255), and converted back: Y per pixel,
    U and V from the mean of the block's four output RGB values. ``mats``
    is a model's (2, 3, 3) ``mats`` (``to_rgb``, ``to_yuv``) and ``y0``, ``g``
    its ``guide``: the transmission uses the guide ``(Y - y0) g``, ``la``
    the airlight's luma in the same units.
    """
    rows, cols = yp.shape
    h, w = coeffs.shape[1], coeffs.shape[2]
    yi0, yi1, fy = bilinear_taps(rows, h, s)
    xi0, xi1, fx = bilinear_taps(cols, w, s)
    m0, m1, m2 = prm[0], prm[1], prm[2]
    n0, n1, n2 = prm[3], prm[4], prm[5]
    t0 = prm[6]
    top = prm[7]
    la = prm[8]
    y0 = prm[9]
    gy = prm[10]
    yh = y0 + np.float32(0.5)
    use_lut = lut.shape[0] > 0
    i00, i01, i02 = mats[0, 0, 0], mats[0, 0, 1], mats[0, 0, 2]
    i10, i11, i12 = mats[0, 1, 0], mats[0, 1, 1], mats[0, 1, 2]
    i20, i21, i22 = mats[0, 2, 0], mats[0, 2, 1], mats[0, 2, 2]
    f00, f01, f02 = mats[1, 0, 0], mats[1, 0, 1], mats[1, 0, 2]
    f10, f11, f12 = mats[1, 1, 0], mats[1, 1, 1], mats[1, 1, 2]
    f20, f21, f22 = mats[1, 2, 0], mats[1, 2, 1], mats[1, 2, 2]
    one = np.float32(1.0)
    half = np.float32(0.5)
    zero = np.float32(0.0)
    full = np.float32(255.0)
    quarter = np.float32(0.25)
    crow = rows // 2
    ccol = cols // 2
    nchunks = min(crow, 32)
    for ci in prange(nchunks):
        cache = np.empty((2, 2, cols), np.float32)
        have = np.full(2, -1, np.int64)
        vr = np.empty(cols, np.float32)
        acc = np.empty((3, ccol), np.float32)
        cu = np.empty((3, cols), np.float32)
        o = np.empty((3, cols), np.float32)
        qi = np.empty((3, cols), np.uint16)
        for k in range(ci * crow // nchunks, (ci + 1) * crow // nchunks):
            ur = up[k]
            vrw = vp[k]
            # chroma terms of the RGB conversion, repeated over the block's two columns
            for x in range(cols):
                uu = np.float32(ur[x >> 1]) - np.float32(128.0)
                vv = np.float32(vrw[x >> 1]) - np.float32(128.0)
                cu[0, x] = i01 * uu + i02 * vv
                cu[1, x] = i11 * uu + i12 * vv
                cu[2, x] = i21 * uu + i22 * vv
            for d in range(2):
                y = 2 * k + d
                _inv_t_row(yp[y], coeffs, yi0[y], yi1[y], fy[y], xi0, xi1, fx, cache, have,
                           t0, la, y0, gy, vr)
                src = yp[y]
                dst = yo[y]
                for x in range(cols):
                    yy = np.float32(src[x]) - y0
                    v = vr[x]
                    u = one - v
                    c0 = min(max(i00 * yy + cu[0, x], zero), full)
                    c1 = min(max(i10 * yy + cu[1, x], zero), full)
                    c2 = min(max(i20 * yy + cu[2, x], zero), full)
                    qi[0, x] = np.uint16(min(max(c0 * m0 * v + n0 * u + half, zero), top))
                    qi[1, x] = np.uint16(min(max(c1 * m1 * v + n1 * u + half, zero), top))
                    qi[2, x] = np.uint16(min(max(c2 * m2 * v + n2 * u + half, zero), top))
                # the lookups in their own loops: fused, the pass above ran scalar
                for c in range(3):
                    qc = qi[c]
                    oc = o[c]
                    if use_lut:
                        for x in range(cols):
                            oc[x] = np.float32(lut[qc[x]])
                    else:
                        for x in range(cols):
                            oc[x] = np.float32(qc[x])
                o0 = o[0]
                o1 = o[1]
                o2 = o[2]
                for x in range(cols):
                    q = f00 * o0[x] + f01 * o1[x] + f02 * o2[x] + yh
                    dst[x] = min(max(q, zero), full)
                for c in range(3):
                    oc = o[c]
                    ac = acc[c]
                    if d == 0:
                        for j in range(ccol):
                            ac[j] = oc[2 * j] + oc[2 * j + 1]
                    else:
                        for j in range(ccol):
                            ac[j] += oc[2 * j] + oc[2 * j + 1]
            uor = uo[k]
            vor = vo[k]
            for j in range(ccol):
                r = acc[0, j] * quarter
                g = acc[1, j] * quarter
                b = acc[2, j] * quarter
                q = f10 * r + f11 * g + f12 * b + np.float32(128.5)
                uor[j] = min(max(q, zero), full)
                q = f20 * r + f21 * g + f22 * b + np.float32(128.5)
                vor[j] = min(max(q, zero), full)
