"""Numba kernels of the dark-channel-prior dehazer.

Private: no validation, no configuration. Working-resolution planes are
C-contiguous float32 in [0, 1]; the full-resolution image is uint8 or uint16.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from vidclear._numba_cache import njit
from vidclear.kernels._fastmath import FASTMATH
from vidclear.kernels._filters import bilinear_taps
from vidclear.kernels._order import select, select_next

NBINS = 256  # histogram bins of the statistics kernels

# Recovered luminance rolls off towards black and white instead of clipping:
# within KNEE_LOW of KNEE_FLOOR and KNEE_HIGH of KNEE_CEILING (units of full
# scale) the recovery is eased so that it approaches them without reaching
# them. Floor and ceiling sit inside 3 / 255 and 252 / 255, so no pixel the
# input did not already have there becomes black or white, whatever the overshoot.
KNEE_LOW = 0.06
KNEE_HIGH = 0.1
KNEE_FLOOR = 4.5 / 255
KNEE_CEILING = 250.5 / 255
_FAST = set(FASTMATH)  # see vidclear.kernels._fastmath: no reassociation


# Inlined into _yuv_kernels too: a change here recompiles those kernels as
# well (vidclear._numba_cache stamps every kernel with all kernel sources).
@njit(cache=True, nogil=True, fastmath=_FAST, inline="always")
def knee_inv_t(grey: np.float32, la: np.float32, v: np.float32) -> np.float32:
    """1 / t eased so the recovered luminance rolls off towards black and white.

    The luminance the recovery gives, ``j = (grey - la) v + la`` (``la``
    the airlight's luminance, all in units of full scale), is mapped by a
    soft knee at each end: with ``x = j - f`` the height above the floor
    ``f`` (:data:`KNEE_FLOOR`), ``x`` becomes ``k² / (2k - x)`` below ``k``
    (slope 1 at ``k``, 0 at minus infinity), and the same below the ceiling
    (:data:`KNEE_CEILING`). The 1 / t that lands there is returned: never
    more than ``v``, never below 1 (a pixel already past the floor or
    ceiling is left as it is). Order is kept, so shadow and highlight
    detail survive where plain recovery would crush or clip it. Close to
    the airlight's luminance ``v`` is returned unchanged.
    """
    one = np.float32(1.0)
    two = np.float32(2.0)
    kl = np.float32(KNEE_LOW)
    kh = np.float32(KNEE_HIGH)
    fl = np.float32(KNEE_FLOOR)
    fh = np.float32(KNEE_CEILING)
    d = grey - la
    j = d * v + la
    # the eased luminance as a ratio num / den (one division in all):
    # f + k² / (2k - (j - f)) near the floor, its mirror near the ceiling, j between
    low = j < fl + kl
    high = j > fh - kh
    dl = two * kl - j + fl
    dh = two * kh - fh + j
    den = dl if low else (dh if high else one)
    num = fl * dl + kl * kl if low else (fh * dh - kh * kh if high else j)
    ok = abs(d) > np.float32(1e-3)
    dd = d if ok else one
    vn = min(v, max((num - la * den) / (den * dd), one))
    return vn if ok else v


@njit(cache=True, nogil=True, parallel=True)
def planes_of(img: np.ndarray, out: np.ndarray) -> None:
    """The channels of an (h, w, 3) image as planes, ``out`` (3, h, w).

    The working-size kernels below read colour from planes: with the
    channels interleaved their loops did not vectorise (``raw_transmission``
    ran 10 times slower on an (h, w, 3) image).
    """
    h, w = img.shape[0], img.shape[1]
    for y in prange(h):
        row = img[y]
        p0 = out[0, y]
        p1 = out[1, y]
        p2 = out[2, y]
        for x in range(w):
            p0[x] = row[x, 0]
            p1[x] = row[x, 1]
            p2[x] = row[x, 2]


@njit(cache=True, nogil=True, parallel=True)
def grey_minc(planes: np.ndarray, wts: np.ndarray, inv_a: np.ndarray,
              grey: np.ndarray, minc: np.ndarray) -> None:
    """Luma-weighted grey plane and min over channels of ``I * inv_a``; ``planes`` (3, h, w)."""
    h, w = grey.shape
    w0, w1, w2 = np.float32(wts[0]), np.float32(wts[1]), np.float32(wts[2])
    a0, a1, a2 = np.float32(inv_a[0]), np.float32(inv_a[1]), np.float32(inv_a[2])
    for y in prange(h):
        p0 = planes[0, y]
        p1 = planes[1, y]
        p2 = planes[2, y]
        grow = grey[y]
        mrow = minc[y]
        for x in range(w):
            r = p0[x]
            g = p1[x]
            b = p2[x]
            grow[x] = w0 * r + w1 * g + w2 * b
            mrow[x] = min(min(r * a0, g * a1), b * a2)


@njit(cache=True, nogil=True)
def top_threshold(dark: np.ndarray, frac: float) -> float:
    """Smallest value v such that at least ``frac`` of ``dark`` is >= v (1024 bins)."""
    nb = 1024
    hist = np.zeros(nb, np.int64)
    lo = np.inf
    hi = -np.inf
    for v in dark.flat:
        lo = min(lo, v)
        hi = max(hi, v)
    if hi <= lo:
        return lo
    scale = (nb - 1) / (hi - lo)
    for v in dark.flat:
        hist[int((v - lo) * scale)] += 1
    need = max(1, int(np.ceil(frac * dark.size)))
    acc = 0
    for b in range(nb - 1, -1, -1):
        acc += hist[b]
        if acc >= need:
            return lo + b / scale
    return lo


@njit(cache=True, nogil=True)
def quadtree_region(grey: np.ndarray, min_side: int) -> tuple[int, int, int, int]:
    """Kim et al.'s hierarchical search: keep the quadrant with the largest mean - std.

    Returns (y0, y1, x0, x1) of the final region, at most ``min_side`` on its
    longer side (or a single pixel).
    """
    y0, y1, x0, x1 = 0, grey.shape[0], 0, grey.shape[1]
    while max(y1 - y0, x1 - x0) > min_side and (y1 - y0) * (x1 - x0) > 1:
        ym = (y0 + y1 + 1) // 2
        xm = (x0 + x1 + 1) // 2
        best = -np.inf
        by0, by1, bx0, bx1 = y0, y1, x0, x1
        for q in range(4):
            qy0 = y0 if q < 2 else ym
            qy1 = ym if q < 2 else y1
            qx0 = x0 if q % 2 == 0 else xm
            qx1 = xm if q % 2 == 0 else x1
            n = (qy1 - qy0) * (qx1 - qx0)
            if n <= 0:
                continue
            s = 0.0
            s2 = 0.0
            for y in range(qy0, qy1):
                for x in range(qx0, qx1):
                    v = grey[y, x]
                    s += v
                    s2 += v * v
            mean = s / n
            var = max(s2 / n - mean * mean, 0.0)
            score = mean - np.sqrt(var)
            if score > best:
                best = score
                by0, by1, bx0, bx1 = qy0, qy1, qx0, qx1
        y0, y1, x0, x1 = by0, by1, bx0, bx1
    return y0, y1, x0, x1


@njit(cache=True, nogil=True, inline="always")
def exp_small(x: np.float32) -> np.float32:
    """``exp(x)`` in float32 for ``x`` in [-4, 4] (clamped there), in a loop that vectorises.

    ``exp(x) = exp(x / 8) ** 8``: a degree-7 Taylor polynomial on
    ``|x / 8| <= 0.5``, squared three times; relative error under 2.2e-6 on
    [-4, 4] and under 1e-6 on the depths it is used for (float32 expf: 1e-7).
    Numba's ``np.exp`` is a scalar call without Intel's SVML, and it kept
    :func:`raw_transmission`'s loop scalar.
    """
    z = min(max(x, np.float32(-4.0)), np.float32(4.0)) * np.float32(0.125)
    p = np.float32(1.0 / 5040.0)
    p = p * z + np.float32(1.0 / 720.0)
    p = p * z + np.float32(1.0 / 120.0)
    p = p * z + np.float32(1.0 / 24.0)
    p = p * z + np.float32(1.0 / 6.0)
    p = p * z + np.float32(0.5)
    p = p * z + np.float32(1.0)
    p = p * z + np.float32(1.0)
    p = p * p
    p = p * p
    return p * p


@njit(cache=True, nogil=True, parallel=True)
def raw_transmission(dark: np.ndarray, capd: np.ndarray, planes: np.ndarray, inv_a: np.ndarray,
                     stats: np.ndarray, prm: np.ndarray, out: np.ndarray) -> None:
    """Raw transmission: dark channel prior blended with the colour attenuation prior, then floored.

    ``prm`` = [k, cap weight, cap strength, grey sky floor, chroma sky floor];
    ``dark`` (h, w) is the haze read by the dark channel prior, ``capd``
    (h, w) the colour attenuation prior's scene depth (Zhu et al., IEEE TIP
    2015; its ``exp`` by :func:`exp_small`), ``planes`` the working RGB
    image's channels (3, h, w), ``inv_a`` = 1 / A (3,),
    ``stats`` the local mean and mean square of the grey plane (2, h, w).
    In order:

    1. ``t = (1 - wc) (1 - k dark) + wc (1 - sc (1 - exp(-capd)))``.
    2. The sky floor. In units of A (``u_c = I_c / A_c``): brightness
       ``max u`` ramps from 0.7 to 0.9, smoothness ramps down as the local
       standard deviation of grey rises from 0.01 to 0.04, and the floor
       rises from the grey floor towards the chroma floor as the chroma
       ``max u - min u`` goes from 0.1 to 0.3: a bright smooth region
       coloured unlike the airlight (clear blue sky) is not haze, while one
       the colour of A (fog, overcast sky) only needs its noise held down.
       Applied after the blend, so the colour attenuation prior (which
       reads a saturated bright sky as deep) cannot pull t below it.
    """
    h, w = dark.shape
    # float32 constants throughout, no branches in the loop: it vectorises
    f32 = np.float32
    kk, wc, sc = f32(prm[0]), f32(prm[1]), f32(prm[2])
    floor = f32(prm[3])
    rise = f32(max(prm[4] - prm[3], 0.0))
    a0, a1, a2 = f32(inv_a[0]), f32(inv_a[1]), f32(inv_a[2])
    one, two, three, zero = f32(1.0), f32(2.0), f32(3.0), f32(0.0)
    b_lo, b_gain = f32(0.7), f32(5.0)
    s_lo, s_gain = f32(0.01), f32(1.0 / 0.03)
    c_lo, c_gain = f32(0.1), f32(5.0)
    for y in prange(h):
        drow = dark[y]
        crow = capd[y]
        p0 = planes[0, y]
        p1 = planes[1, y]
        p2 = planes[2, y]
        mrow = stats[0, y]
        qrow = stats[1, y]
        orow = out[y]
        for x in range(w):
            t = (one - wc) * (one - kk * drow[x]) + wc * (one - sc * (one - exp_small(-crow[x])))
            u0 = p0[x] * a0
            u1 = p1[x] * a1
            u2 = p2[x] * a2
            hi = max(max(u0, u1), u2)
            lo = min(min(u0, u1), u2)
            b = min(max((hi - b_lo) * b_gain, zero), one)
            m = mrow[x]
            sd = np.sqrt(max(qrow[x] - m * m, zero))
            sm = one - min(max((sd - s_lo) * s_gain, zero), one)
            c = min(max((hi - lo - c_lo) * c_gain, zero), one)
            # smoothstep every ramp
            wgt = b * b * (three - two * b) * sm * sm * (three - two * sm)
            c = c * c * (three - two * c)
            orow[x] = max(t, wgt * (floor + c * rise))


@njit(cache=True, nogil=True, parallel=True)
def cap_depth(planes: np.ndarray, out: np.ndarray) -> None:
    """Scene depth of the colour attenuation prior, ``0.121779 + 0.959710 v - 0.780245 s``.

    ``v`` is the HSV value (max channel) and ``s`` the HSV saturation of
    the working RGB image, given as ``planes`` (3, h, w) in [0, 1] (so the
    depth is in [-0.66, 1.09]); the coefficients are Zhu, Mai and Shao's
    (IEEE TIP 24(11), 2015), learnt on synthetic haze. (Normalising by the
    airlight first helped coloured synthetic haze but hurt the RESIDE light
    pairs, so it is not done.)
    """
    h, w = out.shape
    c0, c1, c2 = np.float32(0.121779), np.float32(0.959710), np.float32(0.780245)
    eps = np.float32(1e-6)  # v <= eps: v - m <= eps too, so s stays in [0, 1]
    for y in prange(h):
        p0 = planes[0, y]
        p1 = planes[1, y]
        p2 = planes[2, y]
        orow = out[y]
        for x in range(w):
            r = p0[x]
            g = p1[x]
            b = p2[x]
            v = max(max(r, g), b)
            m = min(min(r, g), b)
            s = (v - m) / max(v, eps)
            orow[x] = c0 + c1 * v - c2 * s


@njit(cache=True, nogil=True, parallel=True)
def luma_floor(planes: np.ndarray, inv_a: np.ndarray, wts: np.ndarray, k: float, cap: float,
               t: np.ndarray, credit: float = 1.0) -> None:
    """Raise ``t`` in place so recovered luminance plus chroma keeps ``k`` of the input luminance.

    In units of the airlight (``u_c = I_c / A_c``, so A is white) the
    recovery ``u' = 1 + (u - 1) / t`` scales chroma ``C = max u - min u`` by
    ``1 / t`` and moves luminance ``L = wts . u`` to ``1 + (L - 1) / t``, so
    ``L' + credit C' >= k L`` exactly when ``t >= (1 - L - credit C) / (1 - k L)``
    (``credit`` in [0, 1]: how much restored chroma may pay for lost luminance).
    ``planes`` are the image's channels (3, h, w) in [0, 1], ``inv_a`` =
    1 / A (3,), ``t`` (h, w).
    A boundary constraint on J (Meng et al., ICCV 2013) whose boundary
    credits restored chroma, so grey surfaces are not pushed to black. The
    bound is never raised above ``cap`` (the transmission of the veil the
    whole image carries), so the floor does not keep haze that even the
    darkest pixels show.
    """
    h, w = t.shape
    # float32 throughout and no branches: this loop vectorises
    w0, w1, w2 = np.float32(wts[0]), np.float32(wts[1]), np.float32(wts[2])
    a0, a1, a2 = np.float32(inv_a[0]), np.float32(inv_a[1]), np.float32(inv_a[2])
    kk = np.float32(k)
    cc = np.float32(cap)
    cr = np.float32(credit)
    one = np.float32(1.0)
    zero = np.float32(0.0)
    tiny = np.float32(1e-6)
    for y in prange(h):
        p0 = planes[0, y]
        p1 = planes[1, y]
        p2 = planes[2, y]
        trow = t[y]
        for x in range(w):
            u0 = p0[x] * a0
            u1 = p1[x] * a1
            u2 = p2[x] * a2
            lum = w0 * u0 + w1 * u1 + w2 * u2
            hi = max(max(u0, u1), u2)
            lo = min(min(u0, u1), u2)
            num = one - lum - cr * (hi - lo)
            # 1 - k*lum > num where num > 0, so the bound is in (0, 1); where
            # num <= 0 the bound is unused and the divisor may be 0 (lum = 1/k)
            b = min(num / max(one - kk * lum, tiny), cc)
            b = b if num > zero else zero
            trow[x] = max(trow[x], b)


@njit(cache=True, nogil=True, parallel=True)
def recovery_stats(low: np.ndarray, grey: np.ndarray, coeffs: np.ndarray, gs: int, step: int,
                   airlight: np.ndarray, t0: float, wts: np.ndarray, tlow: np.ndarray,
                   hist: np.ndarray, box: np.ndarray) -> None:
    """Refined working-size transmission and histograms of input and recovered image.

    ``coeffs`` (2, ceil(h/gs), ceil(w/gs)) are the guided-filter coefficients
    on the guide subsampled by ``gs``; they are upsampled bilinearly (block
    centres, as in :func:`recover`) and applied to ``grey`` to give ``tlow``
    at every pixel. The histograms sample every ``step``-th row and column
    inside ``box`` = (r0, r1, c0, c1), int64 (the picture without its
    black bars).
    ``hist`` is (8, NBINS): rows 0-2 input channels, 3 input grey, 4-6
    recovered channels, 7 recovered grey (values clipped to [0, 1]).
    """
    h, w = grey.shape
    h2, w2 = coeffs.shape[1], coeffs.shape[2]
    yi0, yi1, fy = bilinear_taps(h, h2, gs)
    xi0, xi1, fx = bilinear_taps(w, w2, gs)
    # every coefficient row interpolated along x once, then rows lerp vertically
    hx = np.empty((2, h2, w), np.float32)
    for p in range(2):
        for r in range(h2):
            src = coeffs[p, r]
            dst = hx[p, r]
            for x in range(w):
                j0 = xi0[x]
                v0 = src[j0]
                dst[x] = v0 + fx[x] * (src[xi1[x]] - v0)
    lo = np.float32(t0)
    one = np.float32(1.0)
    for y in prange(h):
        wy = fy[y]
        a0 = hx[0, yi0[y]]
        a1 = hx[0, yi1[y]]
        b0 = hx[1, yi0[y]]
        b1 = hx[1, yi1[y]]
        trow = tlow[y]
        grow = grey[y]
        for x in range(w):
            ca = a0[x] + wy * (a1[x] - a0[x])
            cb = b0[x] + wy * (b1[x] - b0[x])
            t = ca * grow[x] + cb
            trow[x] = min(max(t, lo), one)
    top = NBINS - 1
    # sampled rows in bands, one histogram per band, summed at the end
    # (integer counts: the same whatever the number of threads)
    ns = (h + step - 1) // step
    nb = max(1, min(8, ns // 16))
    part = np.zeros((nb, 8, NBINS), np.int64)
    for bi in prange(nb):
        hb = part[bi]
        for k in range(bi * ns // nb, (bi + 1) * ns // nb):
            y = k * step
            if y < box[0] or y >= box[1]:
                continue
            grow = grey[y]
            trow = tlow[y]
            for x in range(0, w, step):
                if x < box[2] or x >= box[3]:
                    continue
                it = 1.0 / trow[x]
                gj = 0.0
                for c in range(3):
                    v = low[y, x, c]
                    hb[c, min(max(int(v * top + 0.5), 0), top)] += 1
                    j = (v - airlight[c]) * it + airlight[c]
                    j = min(max(j, 0.0), 1.0)
                    gj += wts[c] * j
                    hb[4 + c, int(j * top + 0.5)] += 1
                gi = grow[x]
                hb[3, min(max(int(gi * top + 0.5), 0), top)] += 1
                hb[7, min(max(int(gj * top + 0.5), 0), top)] += 1
    hist[:] = 0
    for bi in range(nb):
        hist += part[bi]




@njit(cache=True, nogil=True, parallel=True)
def bound_around(half: np.ndarray, k: float, margin: float, t: np.ndarray) -> None:
    """``t = max(t, 1 - k (around + min(around, margin)))`` in place, ``around`` at half size.

    ``half`` (ceil(h / 2), ceil(w / 2)) float32 holds the field on every
    second row and column (:func:`vidclear.dehaze.scene.veil_around`);
    pixel (y, x) takes sample (y // 2, x // 2), as repeating it would.
    """
    h, w = t.shape
    kk = np.float32(k)
    m = np.float32(margin)
    one = np.float32(1.0)
    for y in prange(h):
        row = half[y // 2]
        for x in range(w):
            a = row[x // 2]
            t[y, x] = max(t[y, x], one - kk * (a + min(a, m)))


@njit(cache=True, nogil=True, parallel=True)
def hold_drops(field: np.ndarray, own: np.ndarray, ref: np.ndarray, own_ref: np.ndarray,
               held: np.ndarray, away: np.ndarray, prm: np.ndarray) -> None:
    """Drops of ``field`` that a pixel's ``own`` level does not share, held (all (h, w) float32).

    ``prm`` = [dt, hold, margin, alpha, fresh]. Where ``field`` fell more
    than ``margin`` below ``ref`` (or at all, once the pixel has been held
    ``hold`` seconds) while ``own`` stayed within ``margin`` of ``own_ref``
    (or above it), ``field`` becomes ``ref`` until the pixel has been held
    ``hold`` seconds (``held``, counted up by ``dt``), then moves from
    ``ref`` towards it by ``alpha`` a call. Where ``own`` fell more than
    ``margin`` below ``own_ref`` (something over the pixel itself),
    ``field`` is left as it is and ``ref`` and ``own_ref`` are kept for
    ``hold`` seconds (``away``, counted up by ``dt``), then taken from this
    call. Elsewhere ``field`` is left as it is (but for a rise of a pixel
    held lately, ``held`` above 0, which moves by ``alpha`` too), ``held``
    counts down and ``own_ref`` takes ``own``. ``ref`` takes the result
    but while kept. With ``fresh`` nonzero every pixel starts afresh.
    """
    h, w = field.shape
    dt = np.float32(prm[0])
    hold = np.float32(prm[1])
    margin = np.float32(prm[2])
    alpha = np.float32(prm[3])
    fresh = prm[4] != 0.0
    zero = np.float32(0.0)
    for y in prange(h):
        for x in range(w):
            v = field[y, x]
            o = own[y, x]
            r = ref[y, x]
            if fresh:
                held[y, x] = zero
                away[y, x] = zero
                own_ref[y, x] = o
                ref[y, x] = v
                continue
            if o < own_ref[y, x] - margin:
                # the pixel itself changed (an object over it): followed, and
                # what it was kept until it has been so for `hold`
                away[y, x] += dt
                if away[y, x] >= hold:
                    away[y, x] = zero
                    held[y, x] = zero
                    own_ref[y, x] = o
                    ref[y, x] = v
                continue
            away[y, x] = zero
            believed = held[y, x] >= hold  # eased all the way, no last step
            if r - v > margin or (believed and r > v):
                v = r + alpha * (v - r) if believed else r
                held[y, x] += dt
            else:
                if held[y, x] > zero and v > r:
                    v = r + alpha * (v - r)  # back up after a hold: eased too
                held[y, x] = max(held[y, x] - dt, zero)
                own_ref[y, x] = o
            ref[y, x] = v
            field[y, x] = v


@njit(cache=True, nogil=True, parallel=True)
def above_airlight(grey: np.ndarray, a_lum: float, k: float, t: np.ndarray) -> None:
    """``t = max(t, clip((grey - a_lum) k, 0, 1))`` in place: brighter than A is no haze."""
    h, w = t.shape
    a = np.float32(a_lum)
    kk = np.float32(k)
    one = np.float32(1.0)
    zero = np.float32(0.0)
    for y in prange(h):
        for x in range(w):
            t[y, x] = max(t[y, x], min(max((grey[y, x] - a) * kk, zero), one))


@njit(cache=True, nogil=True, parallel=True)
def still_blend(local: np.ndarray, traw: np.ndarray, prev: np.ndarray, k_change: float,
                k_t: float, keep: float, out: np.ndarray) -> None:
    """Transmission held towards ``prev`` where the scene stood still (all (h, w) float32).

    ``s = clip(1 - |local| k_change, 0, 1) clip(1 - |traw - prev| k_t, 0, 1)``
    and ``out = traw + keep s (prev - traw)``: ``local`` is the local mean of
    the frame's change, ``keep`` the share of the old value an EMA keeps.
    """
    h, w = traw.shape
    kc = np.float32(k_change)
    kt = np.float32(k_t)
    kp = np.float32(keep)
    one = np.float32(1.0)
    zero = np.float32(0.0)
    for y in prange(h):
        for x in range(w):
            tr = traw[y, x]
            tp = prev[y, x]
            s = min(max(one - abs(local[y, x]) * kc, zero), one)
            s *= min(max(one - abs(tr - tp) * kt, zero), one)
            out[y, x] = tr + (kp * s) * (tp - tr)


@njit(cache=True, nogil=True, parallel=True, fastmath=_FAST)
def recover(src: np.ndarray, coeffs: np.ndarray, s: int, prm: np.ndarray,
            lut: np.ndarray, out: np.ndarray) -> None:
    """Full-resolution recovery J = (I - A) / max(t, t0) + A, then gains and tone curve.

    The transmission comes from the fast guided filter: its working-size
    coefficients (2, h, w) are upsampled bilinearly and applied to the
    full-resolution grey. ``prm`` = [m0, m1, m2, n0, n1, n2, g0, g1, g2, t0,
    top, la] with ``q_c = src_c * m_c / t + n_c * (1 - 1 / t)`` clipped to
    [0, top]; ``g`` are the grey weights divided by the input's full scale,
    ``la`` the airlight's grey in [0, 1]; 1 / t is eased by
    :func:`knee_inv_t` so the recovered grey rolls off into black and white.
    With an empty ``lut``, q is the output value (top = full scale);
    otherwise the output is ``lut[round(q)]`` (top = len(lut) - 1).

    Each thread keeps the coefficients of the two working rows in use
    interpolated along x (recomputed only when the working rows change,
    every s output rows). A row then takes three passes: 1 / t per pixel
    (grey, t and the knee), that factor repeated for the pixel's three
    samples, and the samples' recovery as one flat loop over the row, whose
    channel constants repeat every three (a fused loop over pixels, reading
    and writing three interleaved samples each, ran 15 % slower: its
    stride-3 accesses vectorise poorly).
    """
    rows, cols = src.shape[0], src.shape[1]
    h, w = coeffs.shape[1], coeffs.shape[2]
    yi0, yi1, fy = bilinear_taps(rows, h, s)
    xi0, xi1, fx = bilinear_taps(cols, w, s)
    g0, g1, g2 = prm[6], prm[7], prm[8]
    t0 = prm[9]
    top = prm[10]
    la = prm[11]
    n3 = 3 * cols
    flat_src = src.reshape(rows, n3)
    flat_out = out.reshape(rows, n3)
    use_lut = lut.shape[0] > 0
    one = np.float32(1.0)
    half = np.float32(0.5)
    zero = np.float32(0.0)
    # the gains m_c and offsets n_c of each sample of a row
    gain = np.empty(n3, np.float32)
    offset = np.empty(n3, np.float32)
    for x in range(cols):
        for c in range(3):
            gain[3 * x + c] = prm[c]
            offset[3 * x + c] = prm[3 + c]
    nchunks = min(rows, 32)
    for ci in prange(nchunks):
        # coefficient rows interpolated along x, for the two working rows in use
        ha = np.empty((2, cols), np.float32)
        hb = np.empty((2, cols), np.float32)
        have = np.full(2, -1, np.int64)
        inv_t = np.empty(cols, np.float32)
        per_sample = np.empty(n3, np.float32)
        idx = np.empty(n3 if use_lut else 0, np.uint16)
        for y in range(ci * rows // nchunks, (ci + 1) * rows // nchunks):
            r0 = yi0[y]
            r1 = yi1[y]
            wy = fy[y]
            for k in range(2):
                rr = r0 if k == 0 else r1
                if have[k] == rr:
                    continue
                if have[1 - k] == rr:  # already interpolated in the other slot
                    ha[k] = ha[1 - k]
                    hb[k] = hb[1 - k]
                else:
                    ca = coeffs[0, rr]
                    cb = coeffs[1, rr]
                    hak = ha[k]
                    hbk = hb[k]
                    for x in range(cols):
                        j0 = xi0[x]
                        j1 = xi1[x]
                        wx = fx[x]
                        hak[x] = ca[j0] + wx * (ca[j1] - ca[j0])
                        hbk[x] = cb[j0] + wx * (cb[j1] - cb[j0])
                have[k] = rr
            a0 = ha[0]
            a1 = ha[1]
            b0 = hb[0]
            b1 = hb[1]
            row = flat_src[y]
            orow = flat_out[y]
            for x in range(cols):
                grey = (g0 * np.float32(row[3 * x]) + g1 * np.float32(row[3 * x + 1])
                        + g2 * np.float32(row[3 * x + 2]))
                t = (a0[x] + wy * (a1[x] - a0[x])) * grey + b0[x] + wy * (b1[x] - b0[x])
                t = min(max(t, t0), one)
                inv_t[x] = knee_inv_t(grey, la, one / t)
            for x in range(cols):
                v = inv_t[x]
                per_sample[3 * x] = v
                per_sample[3 * x + 1] = v
                per_sample[3 * x + 2] = v
            if use_lut:
                # LUT indices in one branch-free pass (it vectorises), then the
                # lookups; fused, the loop ran scalar and 6× slower
                for i in range(n3):
                    v = per_sample[i]
                    q = np.float32(row[i]) * gain[i] * v + offset[i] * (one - v) + half
                    idx[i] = np.uint16(min(max(q, zero), top))
                for i in range(n3):
                    orow[i] = lut[idx[i]]
            else:
                for i in range(n3):
                    v = per_sample[i]
                    q = np.float32(row[i]) * gain[i] * v + offset[i] * (one - v) + half
                    orow[i] = min(max(q, zero), top)


@njit(cache=True, nogil=True)
def shrink_pair(a: np.ndarray, b: np.ndarray, f: int, out: np.ndarray) -> None:
    """f×f block means of two (h, w) planes into ``out`` (2, ceil(h/f), ceil(w/f)).

    Partial blocks at the bottom/right average the pixels they have.
    """
    h, w = a.shape
    h2 = out.shape[1]
    if f == 2:  # the usual case: whole 2×2 blocks through unsigned indices (vectorises)
        q = np.float32(0.25)
        one = np.uint64(1)
        for by in range(h // 2):
            a0 = a[2 * by]
            a1 = a[2 * by + 1]
            b0 = b[2 * by]
            b1 = b[2 * by + 1]
            oa = out[0, by]
            ob = out[1, by]
            for bx in range(w // 2):
                i = np.uint64(bx) * np.uint64(2)
                oa[bx] = (a0[i] + a0[i + one] + a1[i] + a1[i + one]) * q
                ob[bx] = (b0[i] + b0[i + one] + b1[i] + b1[i + one]) * q
        # the partial last row/column fall through to the general loop below
        for by in range(h2):
            bx0 = w // 2 if by < h // 2 else 0
            _shrink_tail(a, b, f, by, bx0, out)
        return
    for by in range(h2):
        _shrink_tail(a, b, f, by, 0, out)


@njit(cache=True, nogil=True)
def _shrink_tail(a: np.ndarray, b: np.ndarray, f: int, by: int, bx0: int,
                 out: np.ndarray) -> None:
    """Blocks bx0.. of block row ``by`` of :func:`shrink_pair`, any size (partial ones too)."""
    h, w = a.shape
    w2 = out.shape[2]
    y0 = f * by
    y1 = min(h, y0 + f)
    for bx in range(bx0, w2):
        x0 = f * bx
        x1 = min(w, x0 + f)
        sa = np.float32(0.0)
        sb = np.float32(0.0)
        for y in range(y0, y1):
            for x in range(x0, x1):
                sa += a[y, x]
                sb += b[y, x]
        inv = np.float32(1.0) / np.float32((y1 - y0) * (x1 - x0))
        out[0, by, bx] = sa * inv
        out[1, by, bx] = sb * inv


@njit(cache=True, nogil=True)
def airlight_top(img: np.ndarray, dark: np.ndarray, frac: float, share: float,
                 wts: np.ndarray) -> np.ndarray:
    """Mean colour of the ``share`` brightest (grey) pixels among the top ``frac`` of ``dark``."""
    thr = top_threshold(dark, frac)
    h, w = dark.shape
    n = 0
    for y in range(h):
        for x in range(w):
            if dark[y, x] >= thr:
                n += 1
    key = np.empty(n, np.float32)
    idx = np.empty(n, np.int64)
    k = 0
    for y in range(h):
        for x in range(w):
            if dark[y, x] >= thr:
                key[k] = wts[0] * img[y, x, 0] + wts[1] * img[y, x, 1] + wts[2] * img[y, x, 2]
                idx[k] = y * w + x
                k += 1
    take = max(1, int(np.ceil(share * n)))
    # the take-th brightest key by selection, not a full sort: in a flat
    # fog bank n is a sizeable share of the frame; ties at that key are
    # taken in raster order
    kth = select(key, n - take)
    out = np.zeros(3, np.float64)
    ties = take
    for i in range(n):
        if key[i] > kth:
            ties -= 1
    for i in range(n):
        if key[i] > kth or (key[i] == kth and ties > 0):
            if key[i] == kth:
                ties -= 1
            j = idx[i]
            for c in range(3):
                out[c] += img[j // w, j % w, c]
    return (out / take).astype(np.float32)


@njit(cache=True, nogil=True)
def sky_stack(grey: np.ndarray, out: np.ndarray) -> None:
    """out[0] = grey, out[1] = grey², for the local mean and variance."""
    h, w = grey.shape
    for y in range(h):
        for x in range(w):
            v = grey[y, x]
            out[0, y, x] = v
            out[1, y, x] = v * v


@njit(cache=True, nogil=True)
def colour_histogram(img: np.ndarray, bins: int, step: int) -> np.ndarray:
    """Per-channel histogram (3, bins) of every ``step``-th row and column of RGB in [0, 1]."""
    hist = np.zeros((3, bins), np.int64)
    h, w = img.shape[0], img.shape[1]
    top = bins - 1
    for y in range(0, h, step):
        for x in range(0, w, step):
            for c in range(3):
                i = int(img[y, x, c] * bins)
                hist[c, min(max(i, 0), top)] += 1
    return hist


@njit(cache=True, nogil=True)
def _strided_sample(x: np.ndarray, step: int) -> np.ndarray:
    """``x[::step, ::step]`` copied into a new 1-D float32 array."""
    h, w = x.shape
    hs = (h + step - 1) // step
    ws = (w + step - 1) // step
    buf = np.empty(hs * ws, np.float32)
    k = 0
    for y in range(0, h, step):
        row = x[y]
        for xx in range(0, w, step):
            buf[k] = row[xx]
            k += 1
    return buf


@njit(cache=True, nogil=True)
def _quantile_of(buf: np.ndarray, q: float) -> float:
    """Quantile ``q`` in [0, 1] of a non-empty 1-D array (linear interpolation, as np.quantile)."""
    n = buf.shape[0]
    # the two order statistics around position q (n - 1): the lower by
    # selection, the next in one more pass
    pos = q * (n - 1)
    lo = min(int(np.floor(pos)), n - 1)
    hi = min(lo + 1, n - 1)
    a = float(select(buf, lo))
    if hi == lo or pos == lo:
        return a
    b = float(select_next(buf, lo, a))
    return a + (pos - lo) * (b - a)


@njit(cache=True, nogil=True)
def strided_quantile(x: np.ndarray, step: int, q: float) -> float:
    """Quantile ``q`` in [0, 1] of ``x[::step, ::step]`` (linear interpolation, as np.quantile)."""
    return _quantile_of(_strided_sample(x, step), q)


@njit(cache=True, nogil=True)
def strided_quantiles(x: np.ndarray, step: int, qs: np.ndarray) -> np.ndarray:
    """:func:`strided_quantile` for each of ``qs`` (float64), the sample copied once: (len(qs),)."""
    buf = _strided_sample(x, step)
    out = np.empty(qs.shape[0], np.float64)
    for i in range(qs.shape[0]):
        out[i] = _quantile_of(buf, qs[i])
    return out


@njit(cache=True, nogil=True)
def tile_quantiles(x: np.ndarray, step: int, qs: np.ndarray, grid: int) -> np.ndarray:
    """Quantiles ``qs`` (float64) of ``x[::step, ::step]`` in each tile of a ``grid`` × ``grid``
    split of ``x`` (rows cut at ``h * i // grid``, columns likewise), tiles row by row:
    (len(qs), grid²) float32.

    A picture with fewer rows or columns than ``grid`` has empty tiles: they
    take the whole picture's quantile (they had read memory past the data)."""
    h, w = x.shape
    vals = np.empty((qs.shape[0], grid * grid), np.float32)
    for i in range(grid):
        for j in range(grid):
            tile = x[h * i // grid:h * (i + 1) // grid, w * j // grid:w * (j + 1) // grid]
            if tile.shape[0] == 0 or tile.shape[1] == 0:
                tile = x
            buf = _strided_sample(tile, step)
            for k in range(qs.shape[0]):
                vals[k, i * grid + j] = _quantile_of(buf, qs[k])
    return vals


@njit(cache=True, nogil=True)
def strided_mean(x: np.ndarray, step: int) -> float:
    """Mean of ``x[::step, ::step]`` (float64 accumulator)."""
    total = 0.0
    n = 0
    for y in range(0, x.shape[0], step):
        for xx in range(0, x.shape[1], step):
            total += x[y, xx]
            n += 1
    return total / max(n, 1)


@njit(cache=True, nogil=True)
def block_means(x: np.ndarray, b: int) -> np.ndarray:
    """Means of the ``b`` × ``b`` blocks of ``x`` (h, w): (h // b, w // b) float32 (the edge
    rows and columns left over are left out)."""
    rows, cols = x.shape[0] // b, x.shape[1] // b
    out = np.empty((rows, cols), np.float32)
    for i in range(rows):
        for j in range(cols):
            total = 0.0
            for y in range(i * b, i * b + b):
                for xx in range(j * b, j * b + b):
                    total += x[y, xx]
            out[i, j] = total / (b * b)
    return out


@njit(cache=True, nogil=True)
def affine_fit(g: np.ndarray, q: np.ndarray, lo: float, hi: float,
               agree: float) -> tuple[int, float, float, float, float, float, float]:
    """The affine map ``g ≈ slope · q + offset`` between two (h, w) images.

    Over the pixels with both values in (``lo``, ``hi``): their count, the
    standard deviation of ``q``, the slope (the ratio of the standard
    deviations; 0 when ``q``'s is 0), the offset (from the means), the share
    within ``agree`` of the map, the energy of the residual and that of the
    change ``g - q``.
    """
    n = 0
    sg = sq = sgg = sqq = 0.0
    for y in range(g.shape[0]):
        for x in range(g.shape[1]):
            a, b = float(g[y, x]), float(q[y, x])
            if lo < a < hi and lo < b < hi:
                n += 1
                sg += a
                sq += b
                sgg += a * a
                sqq += b * b
    if n == 0:
        return 0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
    mg, mq = sg / n, sq / n
    vq = max(sqq / n - mq * mq, 0.0)
    slope = np.sqrt(max(sgg / n - mg * mg, 0.0) / vq) if vq > 0.0 else 0.0
    offset = mg - slope * mq
    near = 0
    res = chg = 0.0
    for y in range(g.shape[0]):
        for x in range(g.shape[1]):
            a, b = float(g[y, x]), float(q[y, x])
            if lo < a < hi and lo < b < hi:
                e = a - (slope * b + offset)
                near += abs(e) < agree
                res += e * e
                chg += (a - b) * (a - b)
    return n, np.sqrt(vq), slope, offset, near / n, res, chg


@njit(cache=True, nogil=True)
def strided_median(x: np.ndarray, step: int) -> float:
    """Median of ``x[::step, ::step]`` (mean of the two middle values for even counts)."""
    return strided_quantile(x, step, 0.5)


@njit(cache=True, nogil=True)
def hist_summary(hist: np.ndarray, out: np.ndarray) -> None:
    """Interpolated median and mean, in [0, 1], of each row of an (R, B) histogram.

    Bin b stands for the value b / (B - 1). The median interpolates inside
    its bin (``(b - 0.5 + frac) / (B - 1)``, clipped to [0, 1]). ``out`` is
    (2, R) float64: medians, then means (0 for an empty row).
    """
    rows, nb = hist.shape
    top = nb - 1
    for i in range(rows):
        total = 0
        wsum = 0.0
        for b in range(nb):
            total += hist[i, b]
            wsum += hist[i, b] * b
        half = total / 2.0
        cum = 0
        b = 0
        while b < top and cum + hist[i, b] < half:
            cum += hist[i, b]
            b += 1
        frac = (half - cum) / max(hist[i, b], 1)
        out[0, i] = min(max((b - 0.5 + frac) / top, 0.0), 1.0)
        out[1, i] = wsum / top / max(total, 1)
