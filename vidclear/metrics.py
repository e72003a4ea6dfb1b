"""Image and video quality measures: PSNR, SSIM, CIEDE2000 and flicker.

Used by the tests, the quality-report scripts and the benchmarks. Every
function takes images as NumPy arrays, H×W (grey) or H×W×3 (RGB), of dtype
``uint8`` (0..255), ``uint16`` (0..65535) or floating point (then the value
range must be given). All results are Python floats.

References
----------
.. [1] Z. Wang, A. C. Bovik, H. R. Sheikh, E. P. Simoncelli, "Image quality
   assessment: from error visibility to structural similarity", IEEE
   Transactions on Image Processing 13(4), 600-612, 2004.
.. [2] G. Sharma, W. Wu, E. N. Dalal, "The CIEDE2000 color-difference
   formula: implementation notes, supplementary test data, and mathematical
   observations", Color Research & Application 30(1), 21-30, 2005.
.. [3] IEC 61966-2-1:1999, "Multimedia systems and equipment - Colour
   measurement and management - Part 2-1: Default RGB colour space - sRGB".
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import cv2
import numpy as np

from vidclear._arrays import native
from vidclear.errors import ArrayError, ConfigError

__all__ = [
    "ciede2000",
    "delta_e_ciede2000",
    "flicker",
    "psnr",
    "pumping",
    "srgb_to_lab",
    "ssim",
]

# sRGB (IEC 61966-2-1) linear RGB -> CIE XYZ, D65 white.
_RGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
# The D65 white point as XYZ with Y = 1 (the sum of each row above).
_D65 = _RGB_TO_XYZ.sum(axis=1)
# Rec. 709 luma weights, used by the flicker measure.
_LUMA = np.array([0.2126, 0.7152, 0.0722])  # = vidclear.kernels.BT709 (a peer layer)


def _default_range(a: np.ndarray, data_range: float | None) -> float:
    if data_range is not None:
        data_range = float(data_range)
        if not (math.isfinite(data_range) and data_range > 0):
            raise ConfigError(f"data_range must be a finite number > 0, got {data_range!r}")
        return data_range
    if a.dtype == np.uint8:
        return 255.0
    if a.dtype == np.uint16:
        return 65535.0
    raise ArrayError(
        f"cannot infer the value range of {a.dtype} images: pass data_range= "
        "(uint8 and uint16 images default to 255 and 65535)"
    )


def _check_pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = native(np.asarray(a))
    b = native(np.asarray(b))
    if a.shape != b.shape:
        raise ArrayError(f"images differ in shape: {a.shape} vs {b.shape}")
    if a.dtype != b.dtype:
        raise ArrayError(f"images differ in dtype: {a.dtype} vs {b.dtype}")
    if a.ndim not in (2, 3) or a.size == 0 or (a.ndim == 3 and a.shape[2] not in (1, 3)):
        raise ArrayError(f"expected H×W or H×W×3 images, got shape {a.shape}")
    if not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise ArrayError(f"expected integer or floating-point images, got {a.dtype}")
    if np.issubdtype(a.dtype, np.floating) and not (
        np.isfinite(a).all() and np.isfinite(b).all()
    ):
        raise ArrayError("images contain NaN or Inf")
    return a, b


def psnr(a: np.ndarray, b: np.ndarray, *, data_range: float | None = None) -> float:
    """Peak signal-to-noise ratio between two images, in decibels.

    Parameters
    ----------
    a, b : ndarray
        Images of the same shape (H×W or H×W×3) and dtype.
    data_range : float, optional
        The peak value: 255 for ``uint8`` and 65535 for ``uint16`` by default;
        required for floating-point images.

    Returns
    -------
    float
        ``10 log10(data_range² / MSE)`` with the mean squared error taken over
        all pixels and channels; ``inf`` when the images are identical.
    """
    a, b = _check_pair(a, b)
    peak = _default_range(a, data_range)
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(peak * peak / mse)


_SSIM_SIGMA = 1.5
_SSIM_WIN = 11  # Wang et al.'s 11×11 circular-symmetric Gaussian window


def _ssim_window() -> np.ndarray:
    r = np.arange(_SSIM_WIN) - _SSIM_WIN // 2
    g = np.exp(-(r**2) / (2.0 * _SSIM_SIGMA**2))
    return g / g.sum()


def ssim(a: np.ndarray, b: np.ndarray, *, data_range: float | None = None) -> float:
    """Mean structural similarity (SSIM) index of two images.

    Parameters
    ----------
    a, b : ndarray
        Images of the same shape and dtype, H×W or H×W×3, at least 11×11.
    data_range : float, optional
        The value range: 255 for ``uint8`` and 65535 for ``uint16`` by
        default; required for floating-point images.

    Returns
    -------
    float
        SSIM in [-1, 1], 1 for identical images.

    Notes
    -----
    Follows Wang et al. [1]_: local statistics under an 11×11 Gaussian window
    with a standard deviation of 1.5 pixels, ``K1 = 0.01``, ``K2 = 0.03``,
    averaged over the windows that lie fully inside the image (the "valid"
    region, as in the authors' reference code; no padding). Colour images are
    scored per RGB channel and the three means are averaged, so a colour shift
    that leaves luminance unchanged still lowers the score. Cost is a few
    separable 11-tap filters per channel.

    References
    ----------
    .. [1] Z. Wang, A. C. Bovik, H. R. Sheikh, E. P. Simoncelli, "Image
       quality assessment: from error visibility to structural similarity",
       IEEE Trans. Image Processing 13(4), 2004.
    """
    a, b = _check_pair(a, b)
    peak = _default_range(a, data_range)
    if a.shape[0] < _SSIM_WIN or a.shape[1] < _SSIM_WIN:
        raise ArrayError(
            f"ssim needs images of at least {_SSIM_WIN}×{_SSIM_WIN} pixels, got {a.shape[:2]}"
        )
    c1 = (0.01 * peak) ** 2
    c2 = (0.03 * peak) ** 2
    g = _ssim_window()
    h = _SSIM_WIN // 2
    x3 = a.reshape(a.shape[0], a.shape[1], -1).astype(np.float64)
    y3 = b.reshape(b.shape[0], b.shape[1], -1).astype(np.float64)
    scores = []
    for c in range(x3.shape[2]):
        x = np.ascontiguousarray(x3[:, :, c])
        y = np.ascontiguousarray(y3[:, :, c])

        def blur(img: np.ndarray) -> np.ndarray:
            out = cv2.sepFilter2D(img, cv2.CV_64F, g, g, borderType=cv2.BORDER_REFLECT_101)
            return out[h:-h, h:-h]

        mx, my = blur(x), blur(y)
        sxx = blur(x * x) - mx * mx
        syy = blur(y * y) - my * my
        sxy = blur(x * y) - mx * my
        num = (2.0 * mx * my + c1) * (2.0 * sxy + c2)
        den = (mx * mx + my * my + c1) * (sxx + syy + c2)
        scores.append(float(np.mean(num / den)))
    return float(np.mean(scores))


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """Convert sRGB to CIE L*a*b* under the D65 white point.

    Parameters
    ----------
    rgb : ndarray
        H×W×3 (or any ...×3) sRGB image: ``uint8`` (0..255), ``uint16``
        (0..65535) or float in [0, 1].

    Returns
    -------
    ndarray
        float64 array of the same shape: L* in [0, 100], a* and b* roughly in
        [-128, 128].

    Notes
    -----
    Decodes the sRGB transfer function of IEC 61966-2-1, converts linear RGB
    to XYZ with the standard sRGB/D65 matrix and XYZ to L*a*b* with the CIE
    1976 formulas, relative to D65 (the white of that matrix).
    """
    rgb = native(np.asarray(rgb))
    if rgb.ndim < 1 or rgb.shape[-1] != 3:
        raise ArrayError(f"expected an array of RGB triplets (...×3), got shape {rgb.shape}")
    if rgb.dtype == np.uint8:
        c = rgb / 255.0
    elif rgb.dtype == np.uint16:
        c = rgb / 65535.0
    elif np.issubdtype(rgb.dtype, np.floating):
        c = rgb.astype(np.float64)
        if not np.isfinite(c).all():
            raise ArrayError("rgb contains NaN or Inf")
    else:
        raise ArrayError(f"expected uint8, uint16 or float RGB, got {rgb.dtype}")
    lin = np.where(c <= 0.04045, c / 12.92, ((np.maximum(c, 0.04045) + 0.055) / 1.055) ** 2.4)
    xyz = lin @ _RGB_TO_XYZ.T / _D65
    eps = 216.0 / 24389.0
    kappa = 24389.0 / 27.0
    f = np.where(xyz > eps, np.cbrt(np.maximum(xyz, eps)), (kappa * xyz + 16.0) / 116.0)
    lab = np.empty_like(f)
    lab[..., 0] = 116.0 * f[..., 1] - 16.0
    lab[..., 1] = 500.0 * (f[..., 0] - f[..., 1])
    lab[..., 2] = 200.0 * (f[..., 1] - f[..., 2])
    return lab


def delta_e_ciede2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference between L*a*b* colours, elementwise.

    Parameters
    ----------
    lab1, lab2 : ndarray
        Arrays of L*a*b* triplets (...×3) of the same shape.

    Returns
    -------
    ndarray
        float64 ΔE00 for every triplet, shape ``lab1.shape[:-1]``; ≥ 0.

    Notes
    -----
    Implements the formula as written out by Sharma, Wu and Dalal [1]_,
    with the parametric factors kL = kC = kH = 1, including their
    conventions for the mean hue when one chroma is zero and when the two hues
    are more than 180° apart.

    References
    ----------
    .. [1] G. Sharma, W. Wu, E. N. Dalal, "The CIEDE2000 color-difference
       formula: implementation notes, supplementary test data, and
       mathematical observations", Color Res. Appl. 30(1), 2005.
    """
    lab1 = np.asarray(lab1, dtype=np.float64)
    lab2 = np.asarray(lab2, dtype=np.float64)
    if lab1.shape != lab2.shape or lab1.shape[-1:] != (3,):
        raise ArrayError(f"expected two ...×3 arrays of the same shape, got {lab1.shape}, "
                         f"{lab2.shape}")
    l1, a1, b1 = lab1[..., 0], lab1[..., 1], lab1[..., 2]
    l2, a2, b2 = lab2[..., 0], lab2[..., 1], lab2[..., 2]
    c1 = np.hypot(a1, b1)
    c2 = np.hypot(a2, b2)
    cbar7 = ((c1 + c2) / 2.0) ** 7
    g = 0.5 * (1.0 - np.sqrt(cbar7 / (cbar7 + 25.0**7)))
    a1p = (1.0 + g) * a1
    a2p = (1.0 + g) * a2
    c1p = np.hypot(a1p, b1)
    c2p = np.hypot(a2p, b2)
    h1p = np.where(c1p == 0, 0.0, np.degrees(np.arctan2(b1, a1p)) % 360.0)
    h2p = np.where(c2p == 0, 0.0, np.degrees(np.arctan2(b2, a2p)) % 360.0)

    dlp = l2 - l1
    dcp = c2p - c1p
    dh = h2p - h1p
    dh = np.where(dh > 180.0, dh - 360.0, np.where(dh < -180.0, dh + 360.0, dh))
    dh = np.where(c1p * c2p == 0, 0.0, dh)
    dhp = 2.0 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh) / 2.0)

    lbarp = (l1 + l2) / 2.0
    cbarp = (c1p + c2p) / 2.0
    hsum = h1p + h2p
    far = np.abs(h1p - h2p) > 180.0
    hbarp = np.where(far, np.where(hsum < 360.0, (hsum + 360.0) / 2.0, (hsum - 360.0) / 2.0),
                     hsum / 2.0)
    hbarp = np.where(c1p * c2p == 0, hsum, hbarp)

    t = (1.0 - 0.17 * np.cos(np.radians(hbarp - 30.0))
         + 0.24 * np.cos(np.radians(2.0 * hbarp))
         + 0.32 * np.cos(np.radians(3.0 * hbarp + 6.0))
         - 0.20 * np.cos(np.radians(4.0 * hbarp - 63.0)))
    dtheta = 30.0 * np.exp(-(((hbarp - 275.0) / 25.0) ** 2))
    cbarp7 = cbarp**7
    rc = 2.0 * np.sqrt(cbarp7 / (cbarp7 + 25.0**7))
    sl = 1.0 + 0.015 * (lbarp - 50.0) ** 2 / np.sqrt(20.0 + (lbarp - 50.0) ** 2)
    sc = 1.0 + 0.045 * cbarp
    sh = 1.0 + 0.015 * cbarp * t
    rt = -np.sin(np.radians(2.0 * dtheta)) * rc
    tl, tc, th = dlp / sl, dcp / sc, dhp / sh
    return np.sqrt(np.maximum(tl * tl + tc * tc + th * th + rt * tc * th, 0.0))


def ciede2000(a: np.ndarray, b: np.ndarray) -> float:
    """Mean CIEDE2000 colour difference between two sRGB images.

    Parameters
    ----------
    a, b : ndarray
        sRGB images, H×W×3, same shape and dtype: ``uint8``, ``uint16`` or
        float in [0, 1].

    Returns
    -------
    float
        The mean ΔE00 over all pixels (0 for identical images; about 1 is a
        just-noticeable difference).

    See Also
    --------
    srgb_to_lab, delta_e_ciede2000
    """
    a, b = _check_pair(a, b)
    if a.ndim != 3 or a.shape[2] != 3:
        raise ArrayError(f"ciede2000 needs H×W×3 RGB images, got shape {a.shape}")
    return float(np.mean(delta_e_ciede2000(srgb_to_lab(a), srgb_to_lab(b))))


def _frame_level(frame: np.ndarray, mask: np.ndarray | None) -> float:
    img = native(np.asarray(frame))
    if img.dtype == np.uint8:
        scale = 1.0 / 255.0
    elif img.dtype == np.uint16:
        scale = 1.0 / 65535.0
    elif np.issubdtype(img.dtype, np.floating):
        scale = 1.0
    else:
        raise ArrayError(f"frames must be uint8, uint16 or float in [0, 1], got {img.dtype}")
    if img.ndim == 3 and img.shape[2] == 3:
        y = img @ _LUMA
    elif img.ndim == 2:
        y = img.astype(np.float64)
    else:
        raise ArrayError(f"frames must be H×W or H×W×3, got shape {img.shape}")
    if mask is not None:
        if mask.shape != y.shape:
            raise ArrayError(f"mask shape {mask.shape} does not match frames {y.shape}")
        y = y[mask]
    value = float(np.mean(y)) * scale
    if not math.isfinite(value):
        raise ArrayError("frames contain NaN or Inf")
    return value


def flicker(frames: Iterable[np.ndarray], *, mask: np.ndarray | None = None) -> float:
    """Temporal flicker: mean absolute change of mean luminance between frames.

    Parameters
    ----------
    frames : iterable of ndarray
        At least two frames of one shape, H×W×3 RGB or H×W grey, ``uint8``,
        ``uint16`` or float in [0, 1].
    mask : ndarray of bool, optional
        H×W; only pixels where it is True are measured (e.g. a static region,
        to keep real motion out of the measure). Must select some pixels.

    Returns
    -------
    float
        ``mean_t |m(t) - m(t-1)|`` where ``m(t)`` is the mean Rec. 709 luma
        of frame ``t`` on a 0..1 scale; 0 for a perfectly steady brightness.
        A per-frame global operator that jumps by 1 % of full scale between
        frames scores 0.01.

    Notes
    -----
    Measures global brightness pumping, the typical artefact of per-frame
    contrast stretches and airlight estimates. Moving objects change the mean
    only a little; use ``mask`` to exclude them when that matters. Content
    moving through the frame (a pan) changes the mean too, and a method that
    restores contrast amplifies that: :func:`pumping` leaves such smooth
    changes out.
    """
    levels = _levels(frames, mask, 2, "flicker")
    return float(np.mean(np.abs(np.diff(levels))))


def pumping(frames: Iterable[np.ndarray], *, mask: np.ndarray | None = None) -> float:
    """Brightness pumping: how far each frame's mean luminance leaves its neighbours' line.

    Parameters
    ----------
    frames : iterable of ndarray
        At least three frames of one shape, as for :func:`flicker`.
    mask : ndarray of bool, optional
        H×W; only pixels where it is True are measured.

    Returns
    -------
    float
        ``mean_t |m(t) - (m(t-1) + m(t+1)) / 2|`` with ``m(t)`` the mean
        Rec. 709 luma of frame ``t`` on a 0..1 scale: the second difference
        of the brightness over time, halved. A steady change (a pan into a
        brighter region, a fade) scores 0; brightness that alternates by
        ``d`` between frames scores ``d``.

    Notes
    -----
    :func:`flicker` counts every change of the mean, including the content's
    own as it moves through the frame, amplified by any method that
    restores contrast; this keeps only the frame-to-frame oscillation that
    processing adds (airlight or regime switches, a ripple with the
    encoder's frame types) or the input already had.
    """
    levels = np.asarray(_levels(frames, mask, 3, "pumping"))
    return float(np.mean(np.abs(levels[1:-1] - 0.5 * (levels[:-2] + levels[2:]))))


def _levels(frames: Iterable[np.ndarray], mask: np.ndarray | None, need: int,
            name: str) -> list[float]:
    """Mean luma per frame (0..1), checked: one shape, at least ``need`` frames."""
    if mask is not None:
        mask = np.asarray(mask)
        if mask.dtype != np.bool_ or mask.ndim != 2:
            raise ArrayError("mask must be an H×W boolean array")
        if not mask.any():
            raise ArrayError("mask selects no pixels")
    levels = []
    shape = None
    for f in frames:
        f = np.asarray(f)
        if shape is None:
            shape = f.shape
        elif f.shape != shape:
            raise ArrayError(f"frames differ in shape: {shape} vs {f.shape}")
        levels.append(_frame_level(f, mask))
    if len(levels) < need:
        raise ArrayError(f"{name} needs at least {need} frames, got {len(levels)}")
    return levels
