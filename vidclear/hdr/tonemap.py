"""Tone mapping: radiance maps to display values in 0..1.

Every operator takes an H×W×3 float32 radiance map (linear RGB, >= 0, any
scale) and returns H×W×3 float32 display values in 0..1, encoded with
``1 / gamma`` (``gamma=1`` gives linear display values, as OpenCV returns).

Drago, Mantiuk, Reinhard 2005, ``gamma`` and ``linear`` stretch their result
from its minimum to its maximum, as OpenCV's operators do: a map with no range
(one level everywhere) has nothing to stretch and comes out black, and a
nearly flat one has its small differences stretched to the full range.
Reinhard 2002 and Durand map the brightest luminance to white instead.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from vidclear.errors import HDRInputError
from vidclear.hdr._deprecate import deprecated_alias
from vidclear.hdr._validate import as_radiance
from vidclear.kernels.colour import BT709
from vidclear.kernels.filters import box_filter, fast_guided_filter

__all__ = [
    "OPERATORS",
    "ToneMapper",
    "box_mean",
    "drago2003",
    "durand_style",
    "guided_filter",
    "linear",
    "luminance",
    "mantiuk2006",
    "reinhard2002",
    "reinhard2002_local",
    "reinhard2005",
    "to_uint8",
    "tonemap_gamma",
    "tonemapping_operator_Drago2003",
    "tonemapping_operator_Durand2002",
    "tonemapping_operator_Mantiuk2006",
    "tonemapping_operator_Reinhard2002",
    "tonemapping_operator_Reinhard2002_local",
    "tonemapping_operator_Reinhard2005",
    "tonemapping_operator_gamma",
    "tonemapping_operator_linear",
]

LUMA = BT709  # linear-light luminance weights (R, G, B), float32
_TINY = np.float32(1e-9)  # of the brightest luminance: darker counts as black
_FLOOR = 1e-37  # the smallest positive luminance reckoned with (float32 normals: 1.2e-38)
# Colour ratios reach 1 / 0.0722 (pure blue); to the 33rd power they overflow
# float32 and a picture came out black (trial 35): 10 is far past any use.
_MAX_SATURATION = 10.0
# Bounds that keep a setting from exhausting the machine: a Durand radius of
# 1e10 took 23 GB and was killed, 2**31 hung (trial 66); Mantiuk's solver
# converges in tens of iterations.
_MAX_RADIUS = 1 << 16
_MAX_ITERATIONS = 10_000
# Display gammas are 1 to 3; these keep 1 / gamma a number. Durand's detail
# gain past this overflowed 10 ** (detail * log detail) (trial 66).
_MIN_GAMMA, _MAX_GAMMA = 0.01, 100.0
_MAX_DETAIL = 10.0
# The guided filter's regulariser, in squared log10 luminance: at 1e-300 a
# flat region's 0 / eps was NaN, a black picture (trial 68), and 1e-20 overflowed.
_MIN_EPS = 1e-6


def luminance(radiance: np.ndarray) -> np.ndarray:
    """Rec. 709 luminance of linear RGB, H×W float32."""
    return np.ascontiguousarray(radiance @ LUMA, dtype=np.float32)


def _check_gamma(gamma: float) -> None:
    # (1e-300 overflowed 1 / gamma to inf, with NumPy's warning, trial 66)
    if not _MIN_GAMMA <= gamma <= _MAX_GAMMA:
        raise HDRInputError(f"gamma must be in [{_MIN_GAMMA:g}, {_MAX_GAMMA:g}], got {gamma}")


def _factor32(value: float, what: str) -> np.float32:
    """``value`` as a float32 scale factor; HDRInputError where float32 cannot hold it
    (``white=1e-300``: a divide by zero and a white picture, trial 66)."""
    with np.errstate(over="ignore"):
        f = np.float32(value)
    if not (np.isfinite(f) and abs(f) >= np.finfo(np.float32).tiny):
        raise HDRInputError(f"{what} is out of float32's range for these radiances")
    return f


def _encode(img: np.ndarray, gamma: float) -> np.ndarray:
    out = np.nan_to_num(img, nan=0.0, posinf=1.0, neginf=0.0)
    np.clip(out, 0.0, 1.0, out=out)
    if gamma != 1.0:
        np.power(out, np.float32(1.0 / gamma), out=out)
    return out.astype(np.float32, copy=False)


def _minmax(img: np.ndarray) -> np.ndarray:
    lo, hi = float(img.min()), float(img.max())
    if hi - lo > 1e-7 * abs(hi):  # relative: a map in tiny units is not flat (trial 63)
        return ((img - lo) / (hi - lo)).astype(np.float32)
    return np.zeros_like(img, dtype=np.float32)


def _recolour(rad: np.ndarray, lum: np.ndarray, new_lum: np.ndarray,
              saturation: float) -> np.ndarray:
    floor = np.float32(max(float(lum.max()) * float(_TINY), _FLOOR))  # relative to its scale
    ratio = rad / np.maximum(lum, floor)[:, :, None]
    if saturation != 1.0:
        ratio = np.power(ratio, np.float32(saturation))
    return (ratio * new_lum[:, :, None]).astype(np.float32)


def to_uint8(display: np.ndarray) -> np.ndarray:
    """Quantise display values in 0..1 to uint8 (rounded, clipped).

    Parameters
    ----------
    display : ndarray
        A tone mapping operator's output (H×W×3 float in 0..1), or any
        array of display values: the shape is kept. Values outside 0..1
        are clipped, infinities too.

    Returns
    -------
    ndarray
        uint8, the shape of ``display``: ``round(255 · value)``.

    Raises
    ------
    HDRInputError
        ``display`` holds NaN (no operator here gives one; it was written
        as black without a word, trial 145 F6).
    """
    d = np.asarray(display, dtype=np.float32)
    if np.isnan(d).any():
        raise HDRInputError("display values hold NaN: nothing to quantise there")
    return np.clip(np.nan_to_num(d, posinf=1.0, neginf=0.0) * 255.0 + 0.5, 0, 255) \
        .astype(np.uint8)


def tonemapping_operator_gamma(
        radiance: np.ndarray, *, gamma: float = 2.2, white: float | None = None
                  ) -> np.ndarray:
    """Scale to 0..1 and apply a power-law gamma.

    Parameters
    ----------
    radiance : ndarray
        H×W×3 float32 radiance, >= 0.
    gamma : float
        Display gamma, in [0.01, 100] (every operator here).
    white : float, optional
        Radiance shown as 1 (brighter clips). Default: the range is mapped
        min..max to 0..1, like OpenCV's ``Tonemap``.

    Returns
    -------
    ndarray
        H×W×3 float32 in 0..1.
    """
    rad = as_radiance(radiance)
    _check_gamma(gamma)
    if white is None:
        return _encode(_minmax(rad), gamma)
    if not np.isfinite(white) or white <= 0:
        raise HDRInputError(f"white must be > 0, got {white}")
    white32 = _factor32(white, f"white={white!r}")
    with np.errstate(over="ignore"):  # past float32: brighter than white, clipped
        return _encode(rad / white32, gamma)


def tonemapping_operator_linear(radiance: np.ndarray, *, white: float | None = None
                                ) -> np.ndarray:
    """Linear scaling to 0..1 (:func:`tonemapping_operator_gamma` with gamma 1)."""
    return tonemapping_operator_gamma(radiance, gamma=1.0, white=white)


def _log_average(lum: np.ndarray, delta: float = 1e-6) -> float:
    """exp(mean(log(delta + L))), ``delta`` relative to the brightest luminance: with an
    absolute 1e-6 a map in units a million times smaller came out half as bright."""
    peak = float(lum.max())
    d = delta * peak if peak > 0 else delta  # (all black: any delta does)
    return float(np.exp(np.mean(np.log(lum.astype(np.float64) + d))))


def tonemapping_operator_Reinhard2002(
        radiance: np.ndarray, *, key: float = 0.18, white: float | None = None,
                 gamma: float = 2.2, log_average: float | None = None) -> np.ndarray:
    """Reinhard et al.'s global photographic operator.

    Scales luminance so its log-average lands on ``key``, then compresses with
    ``L (1 + L / Lwhite²) / (1 + L)``; colour ratios are kept.

    Parameters
    ----------
    radiance : ndarray
        H×W×3 float32 radiance, >= 0.
    key : float
        Target middle grey (the paper's key value a), in (0, 1].
    white : float, optional
        Smallest scaled luminance mapped to pure white; default the largest.
    gamma : float
        Display gamma.
    log_average : float, optional
        Log-average luminance to use instead of measuring this image (video
        passes a temporally smoothed value).

    Returns
    -------
    ndarray
        H×W×3 float32 in 0..1.

    References
    ----------
    .. [1] E. Reinhard, M. Stark, P. Shirley and J. Ferwerda, "Photographic
       tone reproduction for digital images", SIGGRAPH 2002.
    """
    rad = as_radiance(radiance)
    _check_gamma(gamma)
    if not 0 < key <= 1:
        raise HDRInputError(f"key must be in (0, 1], got {key}")
    lum = luminance(rad)
    lav = _log_average(lum) if log_average is None else float(log_average)
    if not np.isfinite(lav) or lav <= 0:
        raise HDRInputError(f"log_average must be > 0, got {log_average}")
    scale = f"key={key!r} over the log-average {lav:.3g}"
    with np.errstate(over="ignore"):  # refused just below
        scaled = lum * _factor32(key / lav, scale)
    if white is not None and not (isinstance(white, int | float | np.number)
                                  and np.isfinite(white) and white > 0):
        raise HDRInputError(f"white must be a number > 0, got {white!r}")
    peak = float(scaled.max())
    if not np.isfinite(peak):
        raise HDRInputError(f"{scale} is out of float32's range for these radiances")
    lw = peak if white is None else float(white) * key / lav
    lw2 = np.float32(min(max(lw, 1e-6), 1e19) ** 2)  # (1e19 ** 2: within float32)
    ld = scaled * (1.0 + scaled / lw2) / (1.0 + scaled)
    return _encode(_recolour(rad, lum, ld, 1.0), gamma)


def tonemapping_operator_Reinhard2002_local(
        radiance: np.ndarray, *, key: float = 0.18, phi: float = 8.0,
                       threshold: float = 0.05, scales: int = 8, gamma: float = 2.2
                       ) -> np.ndarray:
    """Reinhard et al.'s local photographic operator (automatic dodging and burning).

    For each pixel the largest centre-surround scale ``s = 1.6^i`` whose
    normalised difference ``(V1 - V2) / (2^phi key / s² + V1)`` stays below
    ``threshold`` is picked, and luminance is divided by ``1 + V1`` there.

    Parameters
    ----------
    radiance : ndarray
        H×W×3 float32 radiance, >= 0.
    key : float
        Target middle grey, in (0, 1].
    phi : float
        Sharpening parameter, in (0, 100].
    threshold : float
        Scale-selection threshold, > 0.
    scales : int
        Number of scales, 1..12.
    gamma : float
        Display gamma.

    Returns
    -------
    ndarray
        H×W×3 float32 in 0..1.

    References
    ----------
    .. [1] E. Reinhard, M. Stark, P. Shirley and J. Ferwerda, "Photographic
       tone reproduction for digital images", SIGGRAPH 2002.
    """
    rad = as_radiance(radiance)
    _check_gamma(gamma)
    if not 0 < key <= 1 or not 0 < phi <= 100 or threshold <= 0 or not 1 <= scales <= 12:
        # (phi = 1e30: 2 ** phi overflowed)
        raise HDRInputError("need 0 < key <= 1, 0 < phi <= 100, threshold > 0 and "
                            "1 <= scales <= 12")
    lum = luminance(rad)
    scaled = lum * _factor32(key / _log_average(lum), f"key={key!r}")
    threshold = min(threshold, 1e30)  # |v| <= 1: any larger selects no scale either
    alpha1 = 1.0 / (2.0 * np.sqrt(2.0))
    v1_sel = None
    done = np.zeros(lum.shape, dtype=bool)

    def blur(s: float) -> np.ndarray:
        sigma = max(alpha1 * s / np.sqrt(2.0), 0.3)
        return cv2.GaussianBlur(scaled, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)

    v1 = blur(1.0)
    v1_sel = v1.copy()
    for i in range(scales):
        s = 1.6 ** i
        v2 = blur(1.6 * s)
        v = (v1 - v2) / (2.0 ** phi * key / (s * s) + v1)
        newly = ~done & (np.abs(v) >= threshold)
        done |= newly
        keep = ~done
        v1_sel[keep] = v1[keep]
        v1 = v2
    ld = scaled / (1.0 + v1_sel)
    return _encode(_recolour(rad, lum, ld, 1.0), gamma)


def tonemapping_operator_Reinhard2005(
        radiance: np.ndarray, *, intensity: float = 0.0, light_adapt: float = 1.0,
                 color_adapt: float = 0.0, gamma: float = 2.2) -> np.ndarray:
    """Reinhard and Devlin's photoreceptor operator (OpenCV's ``TonemapReinhard``).

    Parameters
    ----------
    radiance : ndarray
        H×W×3 float32 radiance, >= 0.
    intensity : float
        Overall brightness in [-8, 8].
    light_adapt : float
        0: adapt to the global mean, 1: to each pixel; in [0, 1].
    color_adapt : float
        0: adapt to luminance, 1: to each channel; in [0, 1].
    gamma : float
        Display gamma, 2.2 as for every operator here (OpenCV's default is
        1: the 8-bit PNGs ``vidclear hdr`` wrote from it held linear values,
        too dark and too saturated on any screen, trial 63).

    Returns
    -------
    ndarray
        H×W×3 float32 in 0..1 (min..max normalised, like OpenCV).

    References
    ----------
    .. [1] E. Reinhard and K. Devlin, "Dynamic range reduction inspired by
       photoreceptor physiology", IEEE TVCG 11(1), 2005.
    """
    rad = as_radiance(radiance)
    _check_gamma(gamma)
    if not (-8 <= intensity <= 8 and 0 <= light_adapt <= 1 and 0 <= color_adapt <= 1):
        raise HDRInputError("need -8 <= intensity <= 8, 0 <= light_adapt, color_adapt <= 1")
    img = _minmax(rad)
    gray = luminance(img)
    logl = np.log(np.maximum(gray, 1e-4))
    lmean = float(logl.mean())
    lmin, lmax = float(logl.min()), float(logl.max())
    k = (lmax - lmean) / (lmax - lmin) if lmax - lmin > 1e-12 else 0.5
    m = 0.3 + 0.7 * k ** 1.4
    f = np.exp(-intensity)
    gmean = float(gray.mean())
    out = np.empty_like(img)
    for c in range(3):
        ch = img[:, :, c]
        glob = color_adapt * float(ch.mean()) + (1 - color_adapt) * gmean
        adapt = color_adapt * ch + (1 - color_adapt) * gray
        adapt = light_adapt * adapt + (1 - light_adapt) * glob
        sigma = np.power(np.maximum(f * adapt, 0.0), m)
        out[:, :, c] = ch / np.maximum(sigma + ch, _TINY)
    return _encode(_minmax(out), gamma)


def tonemapping_operator_Drago2003(
        radiance: np.ndarray, *, bias: float = 0.85, saturation: float = 1.0,
              gamma: float = 2.2) -> np.ndarray:
    """Drago et al.'s adaptive logarithmic mapping.

    ``Ld = ln(L + 1) / (log10(Lmax + 1) · ln(2 + 8 (L / Lmax)^(ln b / ln 0.5)))``
    on luminance divided by its log-average (the brightest pixel's ``Ld`` is
    ``ln 10 / ln 10 = 1`` with the paper's display maximum of 100 cd/m²),
    then stretched from its minimum to its maximum as OpenCV's
    ``TonemapDrago`` is: the brightest channel maps to 1.

    Parameters
    ----------
    radiance : ndarray
        H×W×3 float32 radiance, >= 0.
    bias : float
        Bias of the logarithm base, in (0, 1]; 0.85 is the paper's choice.
    saturation : float
        Exponent of the colour ratios, in [0, 10] (Schlick 1994's ``s``; 1
        keeps the colours, 0 makes grey).
    gamma : float
        Display gamma.

    Returns
    -------
    ndarray
        H×W×3 float32 in 0..1.

    References
    ----------
    .. [1] F. Drago, K. Myszkowski, T. Annen and N. Chiba, "Adaptive
       logarithmic mapping for displaying high contrast scenes", Computer
       Graphics Forum 22(3), 2003.
    """
    rad = as_radiance(radiance)
    _check_gamma(gamma)
    if not 0 < bias <= 1 or not 0 <= saturation <= _MAX_SATURATION:
        raise HDRInputError(f"need 0 < bias <= 1 and 0 <= saturation <= {_MAX_SATURATION:g}")
    img = _minmax(rad)
    lum = luminance(img)
    lw = lum / np.float32(np.exp(np.mean(np.log(np.maximum(lum, 1e-4)))))
    lmax = max(float(lw.max()), 1e-6)
    expo = np.log(bias) / np.log(0.5)
    ld = np.log1p(lw) / (np.log10(lmax + 1.0)
                        * np.log(2.0 + 8.0 * np.power(lw / lmax, expo)))
    # stretched as OpenCV's TonemapDrago is (the module's note): a further
    # division by ln 10 left white at 0.434, level 175 after gamma 2.2 (trial 128 F5)
    return _encode(_minmax(_recolour(img, lum, ld.astype(np.float32), saturation)), gamma)


# ------------------------------------------------------------ Mantiuk 2006


def _levels(h: int, w: int) -> int:
    return max(1, int(np.log(min(h, w)) / np.log(2.0)))


def _contrasts(x: np.ndarray, levels: int) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    layer = x
    for _ in range(levels):
        gx = np.zeros_like(layer)
        gy = np.zeros_like(layer)
        gx[:, :-1] = layer[:, 1:] - layer[:, :-1]
        gy[:-1, :] = layer[1:, :] - layer[:-1, :]
        out.append((gx, gy))
        h, w = layer.shape
        if h < 2 or w < 2:
            break
        layer = cv2.resize(layer, (w // 2, h // 2), interpolation=cv2.INTER_LINEAR)
    return out


def _divergence_sum(con: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    total = np.zeros_like(con[-1][0])
    for gx, gy in reversed(con):
        dx = np.empty_like(gx)
        dx[:, 0] = gx[:, 0]
        dx[:, 1:] = gx[:, 1:] - gx[:, :-1]
        dy = np.empty_like(gy)
        dy[0, :] = gy[0, :]
        dy[1:, :] = gy[1:, :] - gy[:-1, :]
        h, w = gx.shape
        total = cv2.resize(total, (w, h), interpolation=cv2.INTER_LINEAR) + dx + dy
    return total


def tonemapping_operator_Mantiuk2006(
        radiance: np.ndarray, *, scale: float = 0.7, saturation: float = 1.0,
                gamma: float = 2.2, iterations: int = 100, tol: float = 1e-3) -> np.ndarray:
    """Mantiuk et al.'s contrast-domain operator (contrast mapping).

    Log-luminance gradients at every scale of a pyramid are passed through
    the transducer ``R(G) ≈ sign(G) |G|^0.4185``, scaled by ``scale`` and
    transformed back; the image whose multi-scale gradients best match them
    is found by conjugate gradients.

    Parameters
    ----------
    radiance : ndarray
        H×W×3 float32 radiance, >= 0.
    scale : float
        Contrast scale in transducer units, in (0, 1] (smaller compresses more).
    saturation : float
        Exponent of the colour ratios, in [0, 10] (Schlick 1994's ``s``; 1
        keeps the colours, 0 makes grey).
    gamma : float
        Display gamma.
    iterations : int
        Most conjugate-gradient iterations, >= 1.
    tol : float
        Relative residual at which to stop, > 0.

    Returns
    -------
    ndarray
        H×W×3 float32 in 0..1 (min..max normalised).

    References
    ----------
    .. [1] R. Mantiuk, K. Myszkowski and H.-P. Seidel, "A perceptual framework
       for contrast processing of high dynamic range images", ACM TAP 3(3), 2006.
    """
    rad = as_radiance(radiance)
    _check_gamma(gamma)
    if (not 0 < scale <= 1 or not 0 <= saturation <= _MAX_SATURATION
            or not 1 <= iterations <= _MAX_ITERATIONS or tol <= 0):
        raise HDRInputError(f"need 0 < scale <= 1, 0 <= saturation <= {_MAX_SATURATION:g}, "
                            f"1 <= iterations <= {_MAX_ITERATIONS}, tol > 0")
    img = _minmax(rad)
    lum = luminance(img)
    x = np.log(np.maximum(lum, 1e-4)).astype(np.float32)
    h, w = x.shape
    levels = _levels(h, w)
    p_r = np.float32(0.4185)

    def signed_pow(v: np.ndarray, p: float | np.floating) -> np.ndarray:
        return np.sign(v) * np.power(np.abs(v), np.float32(p))

    con = [(signed_pow(signed_pow(gx, p_r) * np.float32(scale), 1 / p_r),
            signed_pow(signed_pow(gy, p_r) * np.float32(scale), 1 / p_r))
           for gx, gy in _contrasts(x, levels)]
    rhs = _divergence_sum(con)

    def apply(v: np.ndarray) -> np.ndarray:
        return _divergence_sum(_contrasts(v, levels))

    r = rhs - apply(x)
    p = r.copy()
    rr = float(np.vdot(r, r))
    target = float(np.vdot(rhs, rhs)) * tol * tol
    for _ in range(iterations):
        if rr <= target:
            break
        ap = apply(p)
        d = float(np.vdot(p, ap))
        if abs(d) < 1e-30:
            break
        alpha = np.float32(rr / d)
        x += alpha * p
        r -= alpha * ap
        new = float(np.vdot(r, r))
        p = r + np.float32(new / rr) * p
        rr = new
    new_lum = np.exp(x - x.max()).astype(np.float32)
    return _encode(_minmax(_recolour(img, lum, new_lum, saturation)), gamma)


# ------------------------------------------------------------ guided base/detail


def tonemapping_operator_Durand2002(
        radiance: np.ndarray, *, contrast: float = 50.0, detail: float = 1.0,
                 radius: int | None = None, eps: float = 0.1, saturation: float = 1.0,
                 gamma: float = 2.2, subsample: int = 4) -> np.ndarray:
    """Base/detail local operator in the manner of Durand and Dorsey, with a guided-filter base.

    Log10 luminance is split into a base layer (edge-preserving smoothing,
    here a guided filter instead of Durand's patented fast bilateral filter)
    and a detail layer. The base is compressed so its range becomes
    ``log10(contrast)`` and its maximum maps to display white, the detail is
    kept (scaled by ``detail``) and colour ratios are restored.

    Parameters
    ----------
    radiance : ndarray
        H×W×3 float32 radiance, >= 0.
    contrast : float
        Target base-layer contrast ratio, > 1.
    detail : float
        Gain of the detail layer, in [0, 10].
    radius : int, optional
        Base-layer filter radius in pixels; default 2 % of the image diagonal.
    eps : float
        Guided-filter regularisation in log10 units squared, >= 1e-6.
    saturation : float
        Exponent of the colour ratios, in [0, 10] (Schlick 1994's ``s``; 1
        keeps the colours, 0 makes grey).
    gamma : float
        Display gamma.
    subsample : int
        Fast-guided-filter subsampling, >= 1.

    Returns
    -------
    ndarray
        H×W×3 float32 in 0..1.

    References
    ----------
    .. [1] F. Durand and J. Dorsey, "Fast bilateral filtering for the display
       of high-dynamic-range images", SIGGRAPH 2002.
    .. [2] K. He, J. Sun and X. Tang, "Guided image filtering", IEEE TPAMI 2013.
    """
    rad = as_radiance(radiance)
    _check_gamma(gamma)
    if (not contrast > 1 or not 0 <= detail <= _MAX_DETAIL or not eps >= _MIN_EPS
            or not 0 <= saturation <= _MAX_SATURATION or not 1 <= subsample <= _MAX_RADIUS
            or (radius is not None and not (
                float(radius).is_integer() and 0 <= radius <= _MAX_RADIUS))):
        raise HDRInputError(f"need contrast > 1, 0 <= detail <= {_MAX_DETAIL:g}, "
                            f"eps >= {_MIN_EPS:g}, "
                            f"0 <= saturation <= {_MAX_SATURATION:g}, "
                            f"1 <= subsample <= {_MAX_RADIUS} and a whole radius in "
                            f"0..{_MAX_RADIUS}")
    lum = luminance(rad)
    floor = max(float(lum.max()) * 1e-7, _FLOOR)
    loglum = np.log10(np.maximum(lum, floor)).astype(np.float32)
    h, w = loglum.shape
    r = int(radius) if radius is not None else max(2, int(0.02 * np.hypot(h, w)))
    r = min(r, max(h, w))  # a box past the picture is the picture
    sub = min(subsample, max(1, r // 2))
    base = fast_guided_filter(loglum, radius=r, eps=eps, subsample=sub)
    det = loglum - base
    bmax = float(np.percentile(base, 99.5))
    bmin = float(base.min())
    factor = np.log10(contrast) / max(bmax - bmin, 1e-6)
    out_log = (base - bmax) * np.float32(min(factor, 1.0)) + np.float32(detail) * det
    new_lum = np.power(np.float32(10.0), out_log).astype(np.float32)
    return _encode(_recolour(rad, lum, new_lum, saturation), gamma)


OPERATORS: dict[str, Callable[..., np.ndarray]] = {
    "linear": tonemapping_operator_linear,
    "gamma": tonemapping_operator_gamma,
    "reinhard": tonemapping_operator_Reinhard2002,
    "reinhard_local": tonemapping_operator_Reinhard2002_local,
    "reinhard2005": tonemapping_operator_Reinhard2005,
    "drago": tonemapping_operator_Drago2003,
    "mantiuk": tonemapping_operator_Mantiuk2006,
    "durand": tonemapping_operator_Durand2002,
}


@dataclass
class ToneMapper:
    """A named operator from :data:`OPERATORS` with its keyword settings.

    ``ToneMapper("drago", {"bias": 0.8})(radiance)`` returns display values.
    """

    operator: str = "reinhard"
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.operator not in OPERATORS:
            raise HDRInputError(f"unknown tone mapper {self.operator!r}: expected one of "
                                + ", ".join(OPERATORS))
        if not isinstance(self.params, Mapping):  # a string was read character by character
            raise HDRInputError(f"tone mapper settings must be a mapping such as "
                                f"{{'bias': 0.8}}, got {type(self.params).__name__}")
        known = [p.name for p in inspect.signature(OPERATORS[self.operator]).parameters.values()
                 if p.kind is inspect.Parameter.KEYWORD_ONLY]
        unknown = sorted(set(self.params) - set(known))
        if unknown:  # was a bare TypeError at the first frame
            raise HDRInputError(f"tone mapper {self.operator!r} has no setting "
                                f"{', '.join(map(repr, unknown))}: expected "
                                + ", ".join(known))

    def __call__(self, radiance: np.ndarray) -> np.ndarray:
        return OPERATORS[self.operator](radiance, **self.params)


# ------------------------------------------------------------ deprecated names

drago2003 = deprecated_alias(tonemapping_operator_Drago2003, "drago2003")
durand_style = deprecated_alias(tonemapping_operator_Durand2002, "durand_style")
linear = deprecated_alias(tonemapping_operator_linear, "linear")
mantiuk2006 = deprecated_alias(tonemapping_operator_Mantiuk2006, "mantiuk2006")
reinhard2002 = deprecated_alias(tonemapping_operator_Reinhard2002, "reinhard2002")
reinhard2002_local = deprecated_alias(tonemapping_operator_Reinhard2002_local,
                                      "reinhard2002_local")
reinhard2005 = deprecated_alias(tonemapping_operator_Reinhard2005, "reinhard2005")
tonemap_gamma = deprecated_alias(tonemapping_operator_gamma, "tonemap_gamma")


def _box_mean(image: np.ndarray, radius: int) -> np.ndarray:
    return box_filter(image, radius=radius)


def _guided_filter(image: np.ndarray, *, radius: int = 8, eps: float = 0.01,
                   subsample: int = 1) -> np.ndarray:
    return fast_guided_filter(image, radius=radius, eps=eps, subsample=subsample)


_box_mean.__name__ = "vidclear.kernels.box_filter"
_guided_filter.__name__ = "vidclear.kernels.fast_guided_filter"
box_mean = deprecated_alias(_box_mean, "box_mean")
guided_filter = deprecated_alias(_guided_filter, "guided_filter")
