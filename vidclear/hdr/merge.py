"""Merging exposure brackets: radiance maps (Debevec, Robertson) and exposure fusion (Mertens)."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from vidclear.errors import HDRInputError
from vidclear.hdr import _kernels as K
from vidclear.hdr._deprecate import deprecated_alias
from vidclear.hdr._validate import as_stack, as_times, as_weights
from vidclear.hdr.deghost import deghost_args
from vidclear.hdr.response import as_response, check_exposure_times, linear_response

__all__ = [
    "ExposureFusionMertens2007",
    "MergeDebevec",
    "MergeDebevec1997",
    "MergeMertens",
    "MergeRobertson",
    "MergeRobertson2003",
    "exposure_fusion_Mertens2007",
    "merge_Debevec1997",
    "merge_Robertson2003",
    "merge_debevec",
    "merge_robertson",
    "mertens2007",
]


def merge_Debevec1997(
        images: Sequence[np.ndarray] | np.ndarray, times: Sequence[float] | np.ndarray,
                  *, response: np.ndarray | None = None,
                  weights: str | np.ndarray = "hat", clip: int = 250, deghost: float = 0.0,
                  reference: int | None = None) -> np.ndarray:
    """Merge exposures into a radiance map by Debevec and Malik's weighted log average.

    ``log E = Σ w(Z) (log f(Z) - log t) / Σ w(Z)``, with one weight per pixel
    and exposure: the mean of the three channels' weights, or zero when any
    channel reads ``clip`` or more (near-saturated readings are unreliable,
    and a clipped channel averaged in shifts the hue). Where every exposure
    is clipped the pixel is read from the shortest exposure if bright, with
    its clipped channels raised to its brightest channel's estimate (so
    highlights go white, not false-coloured), or from the longest if dark;
    the result is always finite.

    Parameters
    ----------
    images : sequence of ndarray
        K >= 1 aligned exposures, H×W×3 uint8 RGB (grayscale is repeated).
    times : sequence of float
        Exposure times in seconds, K finite positive values.
    response : ndarray, optional
        256×3 response table (see :mod:`vidclear.hdr.response`); default a
        linear camera.
    weights : str or ndarray
        Weighting of pixel values (see :func:`~vidclear.hdr.response.weight_table`).
    clip : int
        Readings at or above this value count as clipped, 1..256 (256 trusts
        every value, as OpenCV does).
    deghost : float
        De-ghosting width in natural-log radiance (0, the default, merges
        every reading as Debevec and Malik do; ``vidclear hdr --deghost``
        uses 0.5).
        Each exposure's weight at a pixel is multiplied by ``exp(-d² /
        deghost²)``, ``d`` the gap between the radiance its reading allows
        and the reference's (:func:`vidclear.hdr.deghost.reading_intervals`),
        and the reference counts in full where no other exposure agrees with
        it, so something that moved between the shots is taken from the
        reference alone instead of leaving translucent copies.
    reference : int, optional
        Index of the exposure the others must agree with (with ``deghost``);
        default the one the merge trusts most
        (:func:`vidclear.hdr.deghost.best_exposed`).

    Raises
    ------
    HDRInputError
        Mismatched shapes or times, a bad response, ``clip``, ``deghost`` or
        ``reference``, or exposures no brighter for longer times
        (:func:`~vidclear.hdr.response.check_exposure_times`, which also
        warns of times the pictures doubt).

    Returns
    -------
    ndarray
        H×W×3 float32 radiance, positive and finite, in the units of the
        response divided by seconds.

    References
    ----------
    .. [1] P. E. Debevec and J. Malik, "Recovering high dynamic range radiance
       maps from photographs", SIGGRAPH 1997.
    """
    stack = as_stack(images)
    t = as_times(times, stack.shape[0])
    check_exposure_times(stack, t)
    resp = linear_response() if response is None else as_response(response)
    # NaN, "x" and None raised Python's own errors, 2.5 was taken as 2 (trial 128 F7)
    if isinstance(clip, bool) or not isinstance(clip, numbers.Integral) \
            or not 1 <= clip <= 256:
        raise HDRInputError(f"clip must be an integer in 1..256, got {clip!r}")
    ghost = deghost_args(stack, resp, t, deghost, reference, int(clip))
    out = np.empty(stack.shape[1:], dtype=np.float32)
    K.merge_debevec_k(stack, np.log(resp).astype(np.float32), as_weights(weights),
                      np.log(t).astype(np.float32), int(clip), *ghost, out)
    return out


def merge_Robertson2003(
        images: Sequence[np.ndarray] | np.ndarray, times: Sequence[float] | np.ndarray,
                    *, response: np.ndarray | None = None,
                    weights: str | np.ndarray = "gaussian", deghost: float = 0.0,
                    reference: int | None = None) -> np.ndarray:
    """Merge exposures by Robertson et al.'s maximum-likelihood estimate.

    ``E = Σ w(Z) t f(Z) / Σ w(Z) t²`` per channel, which weights longer (less
    noisy) exposures more. Fully clipped pixels fall back as in
    :func:`merge_Debevec1997`.

    Parameters
    ----------
    images : sequence of ndarray
        K >= 1 aligned exposures, H×W×3 uint8 RGB.
    times : sequence of float
        Exposure times in seconds.
    response : ndarray, optional
        256×3 response table; default a linear camera.
    weights : str or ndarray
        Weighting of pixel values; default Robertson's Gaussian.
    deghost, reference
        As :func:`merge_Debevec1997`.

    Returns
    -------
    ndarray
        H×W×3 float32 radiance, non-negative and finite.

    References
    ----------
    .. [1] M. A. Robertson, S. Borman and R. L. Stevenson, "Estimation-theoretic
       approach to dynamic range enhancement using multiple exposures",
       Journal of Electronic Imaging 12(2), 2003.
    """
    stack = as_stack(images)
    t = as_times(times, stack.shape[0])
    check_exposure_times(stack, t)
    resp = linear_response() if response is None else as_response(response)
    ghost = deghost_args(stack, resp, t, deghost, reference)
    out = np.empty(stack.shape[1:], dtype=np.float32)
    K.merge_robertson_k(stack, resp, as_weights(weights), t, *ghost, out)
    return out


def _levels(h: int, w: int) -> int:
    return max(0, int(np.log(min(h, w)) / np.log(2.0)))


def exposure_fusion_Mertens2007(images: Sequence[np.ndarray] | np.ndarray, *, contrast: float = 1.0,
                saturation: float = 1.0, exposure: float = 1.0, sigma: float = 0.2,
                clip: bool = True) -> np.ndarray:
    """Fuse exposures directly into a displayable image (exposure fusion).

    Each pixel of each exposure is weighted by contrast (absolute Laplacian
    of its gray level), saturation (standard deviation of R, G, B) and
    well-exposedness (Gaussian closeness of each channel to 0.5), each raised
    to its exponent; the weights are normalised over the exposures and the
    images blended in a Laplacian pyramid with Gaussian-pyramid weights.

    Parameters
    ----------
    images : sequence of ndarray
        K >= 1 aligned exposures, H×W×3 uint8 RGB; exposure times are not
        needed.
    contrast, saturation, exposure : float
        Exponents of the three weights, >= 0. ``exposure`` defaults to 1 as
        in the paper (OpenCV's ``MergeMertens`` defaults it to 0).
    sigma : float
        Width of the well-exposedness Gaussian, > 0 (paper: 0.2).
    clip : bool
        Clip the result to 0..1. Pyramid blending overshoots slightly near
        strong edges; OpenCV returns those values unclipped.

    Returns
    -------
    ndarray
        H×W×3 float32 display-referred RGB in 0..1 (when ``clip``).

    References
    ----------
    .. [1] T. Mertens, J. Kautz and F. Van Reeth, "Exposure fusion", Pacific
       Graphics 2007.
    """
    stack = as_stack(images)
    for name, v in (("contrast", contrast), ("saturation", saturation), ("exposure", exposure)):
        if not np.isfinite(v) or v < 0:
            raise HDRInputError(f"{name} exponent must be >= 0, got {v}")
    if not np.isfinite(sigma) or sigma <= 0:
        raise HDRInputError(f"sigma must be > 0, got {sigma}")
    k_n, h, w, _ = stack.shape
    imgs = [np.ascontiguousarray(stack[k], dtype=np.float32) * np.float32(1.0 / 255.0)
            for k in range(k_n)]
    weights = np.empty((k_n, h, w), dtype=np.float32)
    for k, img in enumerate(imgs):
        gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
        lap = cv2.Laplacian(gray, cv2.CV_32F)
        K.mertens_weights_k(img, lap, np.float32(contrast), np.float32(saturation),
                            np.float32(exposure), np.float32(sigma), weights[k])
    weights /= weights.sum(axis=0, keepdims=True)
    levels = _levels(h, w)
    result: list[np.ndarray] = []
    for k in range(k_n):
        gp: list[np.ndarray] = [imgs[k]]
        wp: list[np.ndarray] = [weights[k]]
        for _ in range(levels):
            gp.append(cv2.pyrDown(gp[-1]))
            wp.append(cv2.pyrDown(wp[-1]))
        for lv in range(levels + 1):
            if lv < levels:
                size = (gp[lv].shape[1], gp[lv].shape[0])
                band = gp[lv] - cv2.pyrUp(gp[lv + 1], dstsize=size)
            else:
                band = gp[lv]
            contrib = band * wp[lv][:, :, None]
            if k == 0:
                result.append(contrib)
            else:
                result[lv] += contrib
    for lv in range(levels, 0, -1):
        size = (result[lv - 1].shape[1], result[lv - 1].shape[0])
        result[lv - 1] += cv2.pyrUp(result[lv], dstsize=size)
    out = result[0]
    if clip:
        np.clip(out, 0.0, 1.0, out=out)
    return np.ascontiguousarray(out, dtype=np.float32)


@dataclass
class MergeDebevec1997:
    """Settings for :func:`merge_Debevec1997`; call with ``(images, times)``."""

    response: np.ndarray | None = None
    weights: str = "hat"

    def __call__(self, images: Sequence[np.ndarray], times: Sequence[float]) -> np.ndarray:
        return merge_Debevec1997(images, times, response=self.response, weights=self.weights)

    def __repr__(self) -> str:
        resp = "linear" if self.response is None else "table"
        return f"{type(self).__name__}(response={resp}, weights={self.weights!r})"


@dataclass
class MergeRobertson2003:
    """Settings for :func:`merge_Robertson2003`; call with ``(images, times)``."""

    response: np.ndarray | None = None
    weights: str = "gaussian"

    def __call__(self, images: Sequence[np.ndarray], times: Sequence[float]) -> np.ndarray:
        return merge_Robertson2003(images, times, response=self.response, weights=self.weights)

    def __repr__(self) -> str:
        resp = "linear" if self.response is None else "table"
        return f"{type(self).__name__}(response={resp}, weights={self.weights!r})"


@dataclass
class ExposureFusionMertens2007:
    """Settings for :func:`exposure_fusion_Mertens2007`; call with ``(images)``."""

    contrast: float = 1.0
    saturation: float = 1.0
    exposure: float = 1.0
    sigma: float = 0.2
    clip: bool = True

    def __call__(self, images: Sequence[np.ndarray]) -> np.ndarray:
        return exposure_fusion_Mertens2007(
                images, contrast=self.contrast, saturation=self.saturation,
                           exposure=self.exposure, sigma=self.sigma, clip=self.clip)


merge_debevec = deprecated_alias(merge_Debevec1997, "merge_debevec")
merge_robertson = deprecated_alias(merge_Robertson2003, "merge_robertson")
mertens2007 = deprecated_alias(exposure_fusion_Mertens2007, "mertens2007")
MergeDebevec = deprecated_alias(MergeDebevec1997, "MergeDebevec")
MergeRobertson = deprecated_alias(MergeRobertson2003, "MergeRobertson")
MergeMertens = deprecated_alias(ExposureFusionMertens2007, "MergeMertens")
