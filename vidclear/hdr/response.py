"""Camera response curves: calibration, standard curves, weights, save and load.

A response is a 256×3 ``float32`` table, ``response[z, c]``: the relative
exposure (radiance × exposure time, arbitrary units) that makes channel ``c``
(R, G, B) read the 8-bit value ``z``. Tables are positive, finite and
normalised so that ``response[128] == 1``, the convention OpenCV's
``CalibrateDebevec`` / ``CalibrateRobertson`` use.
"""

from __future__ import annotations

import itertools
import numbers
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vidclear.errors import HDRInputError
from vidclear.hdr import _kernels as K
from vidclear.hdr._deprecate import deprecated_alias
from vidclear.hdr._validate import as_stack, as_times, as_weights
from vidclear.hdr.deghost import deghost_args

__all__ = [
    "CalibrateDebevec",
    "CalibrateRobertson",
    "CameraResponseDebevec1997",
    "CameraResponseRobertson2003",
    "apply_response",
    "as_response",
    "camera_response_Debevec1997",
    "camera_response_Robertson2003",
    "debevec1997",
    "exposure_steps",
    "gamma_response",
    "linear_response",
    "load_response",
    "regularise_top",
    "robertson2003",
    "sample_points",
    "save_response",
    "srgb_response",
    "weight_table",
]

LEVELS = 256
MID = LEVELS // 2


def weight_table(name: str = "hat") -> np.ndarray:
    """A 256-entry float32 weighting of pixel values by name.

    ``"hat"`` (Debevec and Malik), ``"triangle"`` (OpenCV's), ``"gaussian"``
    (Robertson et al.) or ``"uniform"``; see
    :func:`vidclear.kernels.exposure_weights`, which defines them.

    Raises
    ------
    HDRInputError
        For an unknown name.
    """
    return as_weights(name)


def _normalise(resp: np.ndarray) -> np.ndarray:
    return (resp / resp[MID][None, :]).astype(np.float32)


def as_response(response: np.ndarray | str | os.PathLike[str] | None) -> np.ndarray:
    """Validate a response table (or load one, or give sRGB for ``None``).

    Accepts 256, 256×1 or 256×3 positive values; a single column is used for
    all three channels. Zero entries (a value never seen, or OpenCV's curves)
    are replaced by the nearest positive entry below them, or half the first
    positive entry. The result is normalised to ``response[128] == 1``.

    Returns
    -------
    ndarray
        Shape (256, 3), float32, positive and finite.

    Raises
    ------
    HDRInputError
        A wrong shape, a value negative or not finite, a channel all zero
        or zero at 128, or a channel no higher at value 255 than at 0.
    """
    if response is None:
        return srgb_response()
    if isinstance(response, str | os.PathLike):
        return load_response(response)
    r = np.asarray(response, dtype=np.float64)
    if r.ndim == 1:
        r = r[:, None]
    if r.ndim != 2 or r.shape[0] != LEVELS or r.shape[1] not in (1, 3):
        raise HDRInputError(f"response has shape {r.shape}: expected (256,), (256, 1) or (256, 3)")
    if r.shape[1] == 1:
        r = np.repeat(r, 3, axis=1)
    if not np.all(np.isfinite(r)) or np.any(r < 0):
        raise HDRInputError("response must be finite and >= 0")
    r = r.copy()
    for c in range(3):
        col = r[:, c]
        pos = np.flatnonzero(col > 0)
        if pos.size == 0:
            raise HDRInputError(f"response channel {c} is all zero")
        first = col[pos[0]]
        last = first * 0.5
        for z in range(LEVELS):
            if col[z] > 0:
                last = col[z]
            else:
                col[z] = last
    if np.any(r[MID] <= 0):
        raise HDRInputError("response must be positive at value 128")
    r = _normalise(r)
    for c in range(3):
        # A camera's response rises with the pixel value: a table falling end
        # to end (rows saved in reverse order) turned the video into a negative
        # (trial 37), and given as an array to a merge, the map (trial 145 F2).
        # Calibrated curves may wobble: OpenCV's Robertson curve falls back by
        # a third of its range at its dark end, so only the ends are compared.
        if r[-1, c] <= r[0, c]:
            raise HDRInputError(
                f"response channel {c} does not rise ({r[0, c]:.4g} at value 0, "
                f"{r[-1, c]:.4g} at 255): a camera response rises with the value (rows in "
                "reverse order?)")
    return np.ascontiguousarray(r)


def linear_response() -> np.ndarray:
    """Linear camera: ``response[z] = z / 128`` (value 0 set to half of value 1)."""
    z = np.arange(LEVELS, dtype=np.float64)
    z[0] = 0.5
    return _normalise(np.repeat(z[:, None], 3, axis=1))


def gamma_response(gamma: float = 2.2) -> np.ndarray:
    """Pure power-law camera: ``response[z] = (z / 255) ** gamma`` (normalised)."""
    if not isinstance(gamma, numbers.Real) or not np.isfinite(gamma) or gamma <= 0:
        raise HDRInputError(f"gamma must be a number > 0, got {gamma!r}")
    z = np.arange(LEVELS, dtype=np.float64) / 255.0
    z[0] = 0.5 / 255.0
    return _normalise(np.repeat((z ** gamma)[:, None], 3, axis=1))


def srgb_response() -> np.ndarray:
    """The sRGB decoding curve (IEC 61966-2-1) as a response table.

    Value 0 is set to half the exposure of value 1 so that logs stay finite.
    """
    v = np.arange(LEVELS, dtype=np.float64) / 255.0
    lin = np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)
    lin[0] = lin[1] * 0.5
    return _normalise(np.repeat(lin[:, None], 3, axis=1))


def apply_response(exposure: np.ndarray, response: np.ndarray) -> np.ndarray:
    """Pixel values a camera with ``response`` records for relative ``exposure``.

    The inverse of a response table: each value ``z`` covers the exposures
    between the geometric midpoints of its neighbours; exposures beyond the
    last midpoint saturate at 255.

    Parameters
    ----------
    exposure : ndarray
        H×W×3 (or H×W, used for all channels) relative exposure, >= 0, in the
        units of ``response`` (value 128 reads at exposure 1).
    response : ndarray
        256×3 response table (see :func:`as_response`).

    Returns
    -------
    ndarray
        H×W×3 uint8.
    """
    resp = as_response(response).astype(np.float64)
    x = np.asarray(exposure, dtype=np.float64)
    if x.ndim == 2:
        x = np.repeat(x[:, :, None], 3, axis=2)
    if x.ndim != 3 or x.shape[2] != 3:
        raise HDRInputError(f"exposure has shape {x.shape}: expected H×W×3 or H×W")
    if not np.all(np.isfinite(x)) or np.any(x < 0):
        raise HDRInputError("exposure must be finite and >= 0")
    out = np.empty(x.shape, dtype=np.uint8)
    for c in range(3):
        mono = np.maximum.accumulate(resp[:, c])
        mids = np.sqrt(mono[:-1] * mono[1:])
        out[..., c] = np.searchsorted(mids, x[..., c], side="right").astype(np.uint8)
    return out


# ------------------------------------------------------------ sample points


def sample_points(stack: np.ndarray, times: np.ndarray, samples: int, *,
                  method: str = "stratified", seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Pixel positions for Debevec calibration.

    Parameters
    ----------
    stack : ndarray
        K×H×W×3 uint8 exposure stack.
    times : ndarray
        K exposure times.
    samples : int
        Number of positions wanted.
    method : {"stratified", "grid"}
        ``"grid"``: OpenCV's convention, a regular grid of about ``samples``
        points. ``"stratified"``: pixels whose value in the middle exposure
        spans 0..255 evenly, taken from smooth neighbourhoods so that small
        misalignments do not matter, as Debevec and Malik recommend.
    seed : int
        Seed of the random choice among equally good pixels.

    Returns
    -------
    ys, xs : ndarray
        int64 row and column indices.
    """
    _, h, w, _ = stack.shape
    if method == "grid":
        x_pts = max(1, int(np.sqrt(samples * w / h)))
        y_pts = max(1, samples // x_pts)
        sx, sy = max(1, w // x_pts), max(1, h // y_pts)
        xs = sx // 2 + sx * np.arange(x_pts)
        ys = sy // 2 + sy * np.arange(y_pts)
        yy, xx = np.meshgrid(ys, xs, indexing="ij")
        return yy.ravel().astype(np.int64), xx.ravel().astype(np.int64)
    if method != "stratified":
        raise HDRInputError(f"unknown sample method {method!r}: expected 'stratified' or 'grid'")
    order = np.argsort(times)
    mid = stack[order[len(order) // 2]].astype(np.float32).mean(axis=2)
    # local variation: max abs difference to the 4-neighbours, per pixel
    pad = np.pad(mid, 1, mode="edge")
    var = np.maximum.reduce([np.abs(pad[1:-1, 1:-1] - pad[:-2, 1:-1]),
                             np.abs(pad[1:-1, 1:-1] - pad[2:, 1:-1]),
                             np.abs(pad[1:-1, 1:-1] - pad[1:-1, :-2]),
                             np.abs(pad[1:-1, 1:-1] - pad[1:-1, 2:])])
    rng = np.random.default_rng(seed)
    levels = np.linspace(0, 255, samples)
    flat_mid = mid.ravel()
    flat_var = var.ravel()
    tol = 255.0 / samples + 1.0
    # the pixels near each level, from one sort: a scan of every pixel per
    # level took 17 s of a 3 × 8.6 MP bracket's 33 (trial 74's 54 MP ones
    # ran 228 s); each set is the scan's, in the same (index) order
    by_value = np.argsort(flat_mid, kind="stable")
    sorted_mid = flat_mid[by_value]
    chosen: list[int] = []
    for lv in levels:
        # (bounds in the array's float32: float64 ones made NumPy convert it
        # whole on every call; widened by a level, so their rounding is harmless)
        lo, hi = np.searchsorted(sorted_mid, np.array([lv - tol - 1.0, lv + tol + 1.0],
                                                      dtype=sorted_mid.dtype))
        near = by_value[lo:hi]
        near = np.sort(near[np.abs(flat_mid[near] - lv) <= tol])
        if near.size == 0:
            continue
        # prefer the smoother half of the candidates
        cut = np.quantile(flat_var[near], 0.5)
        smooth = near[flat_var[near] <= cut]
        chosen.append(int(rng.choice(smooth)))
    if len(chosen) < 2:
        return sample_points(stack, times, samples, method="grid")
    idx = np.unique(np.asarray(chosen, dtype=np.int64))
    return idx // w, idx % w


# ------------------------------------------------------------ calibration


# Fewest distinct levels between black (0) and white (255) a bracket must hold
# for a response to be calibrated from it. A flat scene holds one per exposure
# (a uniform grey shot at 40, 80 and 120 was "calibrated" and its merge
# tone-mapped to pure white), a black or clipped one none (250/253/255 gave
# radiance 1.7e12; trial 74); any photo holds hundreds.
_MIN_LEVELS = 16


def _check_levels(stack: np.ndarray) -> None:
    """Refuse a bracket too flat, too dark or too clipped to calibrate a response from.

    ``stack`` is K×H×W×3 uint8; counted on at most about a million values.

    Raises
    ------
    HDRInputError
        Fewer than :data:`_MIN_LEVELS` distinct values in 1..254.
    """
    step = max(1, int(np.sqrt(stack.size / 1_000_000)))
    seen = np.bincount(stack[:, ::step, ::step].ravel(), minlength=LEVELS)[1:LEVELS - 1] > 0
    n = int(seen.sum())
    if n < _MIN_LEVELS:
        raise HDRInputError(
            f"the exposures hold {n} distinct level{'' if n == 1 else 's'} between black and white "
            f"(at least {_MIN_LEVELS} needed): a flat, black or clipped scene tells nothing "
            "of the camera response")


def clearly_darker(longer: float, shorter: float) -> bool:
    """Whether a longer exposure's mean level is clearly below a shorter one's.

    Two times swapped, not one exposure labelled twice (about equal): the
    levels (0-255) more than 8 levels and 10 % apart.
    """
    return longer < shorter - max(8.0, 0.1 * shorter)


def check_exposure_times(stack: np.ndarray, times: np.ndarray) -> None:
    """Refuse a bracket whose longer exposures are no brighter; warn of times the pictures doubt.

    ``stack`` is K×H×W×3 uint8, ``times`` K seconds. Exposures are compared
    in order of time, each with the next longer one, on the channel values
    below 250 in both and 8 levels above the black level in one: a longer
    exposure raises them by more in all (1.25 times, counting changes over a
    level) than it lowers them (noise and motion go both ways; Memorial's
    darkest 1-stop pair, mostly a dark floor of noise, reads 1.48 times)
    while their median does not fall, or raises most of them (their median
    by a level or more: a moving lamp outweighs a night frame's brightening
    in the sums, either way round).
    One picture given three times, or times typed in reverse, gave a flat
    response (Debevec) or one spanning 17 decades (Robertson) without a
    word (trial 128 F6), and a merge with a given response a tone-inverted
    map (trial 132 F4). Summing the changes rather than comparing means
    keeps a night bracket, whose dark floor outweighs its lamps in a mean,
    from reading as a contradiction (trial 130 F8).

    Warned of (``UserWarning``): a pair that contradicts its times among
    pairs that do not, and a longer exposure brighter than its time allows
    (its mean level above black grown by more than the square of the time's
    ratio, where a camera's response grows it by the ratio at most, about
    its square root in sRGB: ``1/8 7 8`` typed for 1/8, 1 and 8 s merged 1.7
    times off without a word, trial 132 F3).

    Raises
    ------
    HDRInputError
        Every such pair is no brighter in the longer exposure; or one pair is
        clearly darker in it (:func:`clearly_darker`: two times swapped),
        or two exposures typed with one time clearly differ (their mean
        levels where both are well exposed 6 % and a level apart: a third
        of a stop is 11 % in 8-bit sRGB, one exposure's noise under 2 %),
        as ``vidclear hdr`` refuses them. Such brackets merged, with a
        warning at most, 0.35-1.3 natural-log units off (trial 145 F1, F4).
    """
    order = np.argsort(times, kind="stable")
    step = max(1, int(np.sqrt(stack[0].size / 300_000)))
    judged: list[tuple[float, float, bool]] = []
    fast: list[str] = []
    refused: list[str] = []
    for i, k in itertools.pairwise(order):
        a = stack[i, ::step, ::step].astype(np.int16)
        b = stack[k, ::step, ::step].astype(np.int16)
        # above the black level (a camera's pedestal, 16 in Memorial's darkest
        # shots, is most of a night picture and carries no signal) by 8; a
        # scene with no black in it (overcast snow) has no pedestal to find:
        # its 1st percentile, 81, read as black, made a linear camera's 2x a
        # false 5.1x (trial 134 F1), so no more than 20 is taken for one
        black = min(float(np.percentile(a, 1)), float(np.percentile(b, 1)), 20.0)
        both = (np.maximum(a, b) >= max(5.0, black + 8)) & (a <= 250) & (b <= 250)
        if both.sum() < max(100, 0.0005 * both.size):
            continue  # no value well exposed in both: the pair says nothing
        ma, mb = float(a[both].mean()), float(b[both].mean())
        if times[k] == times[i]:
            if abs(ma - mb) > max(1.0, 0.06 * max(ma, mb)):
                refused.append(f"exposures {i} and {k} are typed with one time "
                               f"({times[k]:g} s) but differ (mean levels {ma:.1f} and "
                               f"{mb:.1f})")
            continue
        diff = (b - a)[both]
        up, down = int(diff[diff > 1].sum()), -int(diff[diff < -1].sum())
        # the median decides where it moved: a lit object that moved darkens
        # where it left by more than a night frame brightens, and where it
        # went the long shot clips, out of the sums (trial 134 F2); it moves
        # both ways when the times are reversed, but the median falls
        median = float(np.median(diff))
        if median < 1.0 and clearly_darker(mb, ma):
            refused.append(f"exposure {k} ({times[k]:g} s) is clearly darker than exposure "
                           f"{i} ({times[i]:g} s; mean levels {mb:.1f} and {ma:.1f})")
        judged.append((float(times[i]), float(times[k]),
                       median >= 1.0 or (median >= 0.0 and up > 1.25 * down)))
        lit = (a >= black + 16) & (b <= 235)
        if lit.mean() >= 0.005:
            grown = float((b[lit] - black).mean() / (a[lit] - black).mean())
            ratio = float(times[k] / times[i])
            if grown > max(1.5, 1.1 * ratio ** 2):
                fast.append(f"the {times[k]:g} s exposure is {grown:.3g} times as bright as "
                            f"the {times[i]:g} s one, for {ratio:.3g} times the time")
    wrong = [(ti, tk) for ti, tk, ok in judged if not ok]
    said = "; ".join(f"the {tk:g} s exposure is no brighter than the {ti:g} s one"
                     for ti, tk in wrong)
    if wrong and len(wrong) == len(judged):
        raise HDRInputError(f"the exposures do not brighten with their times: {said} (where "
                            "both are well exposed): are the times right, and in the images' "
                            "order?")
    if refused:
        raise HDRInputError(f"the exposure times run against the pictures: "
                            f"{'; '.join(refused)} (where both are well exposed): are the "
                            "times right, and in the images' order?")
    if wrong:
        warnings.warn(f"vidclear.hdr: {said} (where both are well exposed): is its time "
                      "right? It bends the camera response", UserWarning, stacklevel=3)
    if fast:
        warnings.warn(f"vidclear.hdr: {'; '.join(fast)}: is a time wrong? A camera's "
                      "response grows no faster than the light", UserWarning, stacklevel=3)


def camera_response_Debevec1997(
        images: Sequence[np.ndarray] | np.ndarray, times: Sequence[float] | np.ndarray,
                *, samples: int | None = None, smoothness: float = 30.0,
                sampling: str = "stratified", weights: str | np.ndarray = "hat",
                seed: int = 0, knee: int | None = 240) -> np.ndarray:
    """Recover a camera response by Debevec and Malik's least-squares method.

    Solves, per channel, for ``g(z) = log response[z]`` and the log radiance of
    each sample pixel from ``g(Z_ij) = log E_i + log t_j``, weighting each
    equation by the pixel value's weight, with a second-difference smoothness
    term scaled by ``smoothness`` and ``g(128) = 0`` fixing the scale.

    Parameters
    ----------
    images : sequence of ndarray
        K >= 2 aligned exposures, H×W×3 uint8 RGB (grayscale is repeated).
    times : sequence of float
        Exposure times in seconds, K finite positive values, at least two
        distinct.
    samples : int, optional
        Sample pixels. Default: enough that samples × (K - 1) > 3 × 256, and
        at least 70.
    smoothness : float
        Weight of the smoothness term (the paper's lambda), >= 0. The default
        30 (OpenCV uses 10) gave the lowest radiance error on the tuning
        brackets of ``scripts/quality_hdr_calibration.py`` (seeds 0-2; 10,
        30, 100 and 300 tried) and is reported on other scenes there.
    sampling : {"stratified", "grid"}
        See :func:`sample_points`; ``"grid"`` with 70 samples is OpenCV's
        ``CalibrateDebevec`` default.
    weights : str or ndarray
        Weighting of pixel values, see :func:`weight_table`. ``"hat"`` with
        ``sampling="grid"`` and 70 samples reproduces OpenCV 5's
        ``CalibrateDebevec``.
    seed : int
        Seed for the stratified sampler.
    knee : int or None
        Above this value the curve is extended straight with a slope shared
        by the channels and made monotonic (see :func:`regularise_top`);
        None keeps the raw least-squares curve (OpenCV's behaviour).

    Returns
    -------
    ndarray
        Response table, 256×3 float32, positive, ``response[128] == 1``.

    Raises
    ------
    HDRInputError
        Bad images, times or settings, a bracket with fewer than 16
        distinct levels between black and white (a flat, black or clipped
        scene), or one whose longer exposures are no brighter than its
        shorter ones (times that run against the pictures).

    References
    ----------
    .. [1] P. E. Debevec and J. Malik, "Recovering high dynamic range radiance
       maps from photographs", SIGGRAPH 1997.
    """
    stack = as_stack(images, min_count=2)
    t = as_times(times, stack.shape[0], distinct=2)
    if not np.isfinite(smoothness) or smoothness < 0:
        raise HDRInputError(f"smoothness must be >= 0, got {smoothness}")
    _check_levels(stack)
    check_exposure_times(stack, t)
    k_n = stack.shape[0]
    if samples is None:
        samples = max(70, int(np.ceil(3 * LEVELS / (k_n - 1))))
    if samples < 2:
        raise HDRInputError(f"samples must be >= 2, got {samples}")
    w = as_weights(weights).astype(np.float64)
    ys, xs = sample_points(stack, t, samples, method=sampling, seed=seed)
    logt = np.log(t.astype(np.float64))
    out = np.empty((LEVELS, 3), dtype=np.float64)
    for c in range(3):
        z = stack[:, ys, xs, c].T.astype(np.int64)  # n × K
        out[:, c] = _debevec_solve(z, logt, w, smoothness)
    if knee is not None:
        out = regularise_top(out, knee=knee)
    resp = np.exp(out - out[MID][None, :])
    return as_response(resp)


#: a step measured on pixels whose levels in the shorter exposure span less than
#: this (10th to 90th percentile) is not measured: flat snow through JPEG quality 50,
#: right times, read 0.5-0.7 stops off (trial 157 F1); Memorial's narrowest is 13
_FLAT_LEVELS = 8


def exposure_steps(images: Sequence[np.ndarray] | np.ndarray,
                   times: Sequence[float] | np.ndarray, *, iterations: int = 10,
                   smoothness: float = 30.0, low: int = 0, high: int = 235) -> np.ndarray:
    """The steps between exposures, in stops, that the pictures show.

    A camera response recovered from times one of which is wrong bends to
    fit it, and the merge follows it: a time one stop off, on a made
    bracket, made the radiance 36 times as far off, without a word (trial
    155 F5). Here the times are taken as unknowns too: Debevec and Malik's
    response is solved for the steps given, each step is measured as the
    median gain ``log f(Z_k+1) - log f(Z_k)`` of the pixels whose channels
    are well exposed in both exposures, and the response is solved
    again for the steps measured, until they settle. A response and the
    times it goes with are known only up to a common power (the exponential
    ambiguity of Grossberg and Nayar), so the steps are scaled after each
    round so that their median ratio to the steps given is 1: with three or
    more exposures, steps that agree with each other decide the scale and a
    time off shows where it is.

    Parameters
    ----------
    images : sequence of ndarray
        K >= 3 aligned exposures, H×W×3 uint8 RGB (grayscale is repeated).
    times : sequence of float
        The exposure times given, seconds, K distinct finite positive values
        in any order.
    iterations : int
        Rounds of solving the response and measuring the steps, >= 1.
    smoothness : float
        The response's smoothness weight, as in
        :func:`camera_response_Debevec1997`.
    low, high : int
        The channel values counted as well exposed: from ``low``, but at
        least 16 above the pair's black level (its 1st percentile, at most
        20), to ``high``; 0 <= low < high <= 255. A fixed floor of 40 read a
        linear camera's right 2-stop step as 1.3 stops (the band it leaves
        is narrow), one of 10 Memorial's film fog as 0.5 stops of steps.

    Returns
    -------
    ndarray
        K - 1 float64 steps in stops (``log2`` of the ratio of exposures),
        between the exposures in order of time; NaN where two exposures
        share too few well-exposed pixels to measure (under 1 %: a 3-stop
        step of a linear camera), or pixels of too few levels (a flat
        scene: one level of the response, which JPEG's block quantisation
        decides).

    Raises
    ------
    HDRInputError
        Fewer than three exposures, repeated or bad times, bad settings, or
        a bracket the response cannot be recovered from
        (:func:`camera_response_Debevec1997`).

    References
    ----------
    .. [1] P. E. Debevec and J. Malik, "Recovering high dynamic range radiance
       maps from photographs", SIGGRAPH 1997.
    .. [2] M. D. Grossberg and S. K. Nayar, "Determining the camera response
       from images: what is knowable?", IEEE TPAMI 25(11), 2003.
    """
    stack = as_stack(images, min_count=3)
    t = as_times(times, stack.shape[0], distinct=stack.shape[0])
    if isinstance(iterations, bool) or not isinstance(iterations, numbers.Integral) \
            or iterations < 1:
        raise HDRInputError(f"iterations must be an integer >= 1, got {iterations!r}")
    if not (0 <= low < high <= LEVELS - 1):
        raise HDRInputError(f"need 0 <= low < high <= 255, got low={low}, high={high}")
    if not np.isfinite(smoothness) or smoothness < 0:
        raise HDRInputError(f"smoothness must be >= 0, got {smoothness}")
    order = np.argsort(t, kind="stable")
    t = t[order].astype(np.float64)
    step = max(1, int(np.sqrt(stack[0, :, :, 0].size / 300_000)))
    small = np.ascontiguousarray(stack[:, ::step, ::step][order])
    _check_levels(small)
    check_exposure_times(small, t)
    k_n = small.shape[0]
    w = as_weights("hat").astype(np.float64)
    ys, xs = sample_points(small, t, max(70, int(np.ceil(3 * LEVELS / (k_n - 1)))),
                           method="stratified", seed=0)
    z = [small[:, ys, xs, c].T.astype(np.int64) for c in range(3)]
    # the values of each pair's well-exposed pixels (N×3 in each exposure), once:
    # only the response changes from one round to the next; None where too few
    enough = max(100, int(0.01 * small[0, :, :, 0].size))
    pairs: list[tuple[np.ndarray, np.ndarray] | None] = []
    for k in range(k_n - 1):
        a, b = small[k], small[k + 1]
        # above the black level (a film scan's fog, 16-20 in Memorial's darkest
        # shots, is noise), as check_exposure_times finds it, by 16
        black = min(float(np.percentile(a, 1)), float(np.percentile(b, 1)), 20.0)
        floor = max(low, black + 16)
        both = ((a >= floor) & (a <= high) & (b >= floor) & (b <= high)).all(axis=2)
        if int(both.sum()) < enough or np.ptp(np.percentile(a[both].mean(axis=1), [10, 90])) \
                < _FLAT_LEVELS:  # one level of the response: JPEG's blocks decide it
            pairs.append(None)
        else:
            pairs.append((a[both], b[both]))
    given = np.diff(np.log2(t))
    steps = given.copy()
    for _ in range(iterations):
        logt = np.log(2.0) * np.concatenate([[0.0], np.cumsum(steps)])
        g = np.stack([_debevec_solve(z[c], logt, w, smoothness) for c in range(3)], axis=1)
        g = regularise_top(g)
        measured = np.full(k_n - 1, np.nan)
        for k, pair in enumerate(pairs):
            if pair is not None:
                shorter, longer = pair
                gain = g[longer, np.arange(3)] - g[shorter, np.arange(3)]
                measured[k] = float(np.median(gain)) / np.log(2.0)
        known = np.isfinite(measured) & (measured > 0)
        if not known.any():
            return measured
        new = np.where(known, measured, steps)
        new = new / float(np.median(new[known] / given[known]))
        settled = float(np.max(np.abs(new - steps))) < 0.005
        steps = new
        if settled:
            break
    return np.where(np.isfinite(measured), steps, np.nan)


def _debevec_solve(z: np.ndarray, logt: np.ndarray, w: np.ndarray,
                   smoothness: float) -> np.ndarray:
    """Least-squares ``g`` of Debevec and Malik's system for one channel.

    The system has 256 unknowns ``g(z)`` and one log radiance per sample
    pixel; each pixel's radiance appears only in its own K equations, so it
    is eliminated in closed form (a Schur complement of the normal
    equations) and a 256×256 system is solved. This gives the same
    least-squares solution as solving the whole (n·K + 255)×(256 + n) system,
    at a small fraction of the cost.

    Parameters
    ----------
    z : ndarray
        n×K int64 pixel values of the samples in each exposure.
    logt : ndarray
        K natural-log exposure times.
    w : ndarray
        256 float64 weights of pixel values.
    smoothness : float
        Weight of the second-difference term.

    Returns
    -------
    ndarray
        256 float64 log response, ``g(128) = 0``.
    """
    n, k_n = z.shape
    w2 = w[z] ** 2  # n × K: squared equation weights
    lt = np.broadcast_to(logt[None, :], z.shape)
    # normal equations of the data rows  w (g[z] - lE_i) = w log t
    hgg = np.zeros(LEVELS)
    np.add.at(hgg, z.ravel(), w2.ravel())
    rg = np.zeros(LEVELS)
    np.add.at(rg, z.ravel(), (w2 * lt).ravel())
    d = w2.sum(axis=1)  # per-sample diagonal of the radiance block
    re = -(w2 * lt).sum(axis=1)
    hge = np.zeros((LEVELS, n))  # coupling: -w² at (z_ij, i)
    np.add.at(hge, (z.ravel(), np.repeat(np.arange(n), k_n)), -w2.ravel())
    used = d > 0
    inv = np.zeros(n)
    inv[used] = 1.0 / d[used]
    m = np.diag(hgg) - (hge * inv[None, :]) @ hge.T
    rhs = rg - hge @ (inv * re)
    # smoothness rows  lambda w[z] (g[z-1] - 2 g[z] + g[z+1]) = 0, and g(128) = 0
    i = np.arange(LEVELS - 2)
    s = np.zeros((LEVELS - 2, LEVELS))
    s[i, i] = smoothness * w[i + 1]
    s[i, i + 1] = -2.0 * smoothness * w[i + 1]
    s[i, i + 2] = smoothness * w[i + 1]
    m += s.T @ s
    m[MID, MID] += 1.0
    g = np.linalg.lstsq(m, rhs, rcond=None)[0]
    return g - g[MID]


def regularise_top(logresp: np.ndarray, *, knee: int = 240, span: int = 32) -> np.ndarray:
    """Make a log response monotonic with one shared, straight top end.

    Values near clipping are rare in calibration samples and carry almost no
    weight, so the least-squares curve is poorly pinned there and channels
    curl apart (a blue curve bending up near 255 paints near-white highlights
    blue or pink in bands). Above ``knee`` each channel is continued as a
    straight line in log exposure with the median over channels of their
    slopes over ``[knee - span, knee]``, so all channels extend alike, after
    the curve below is made non-decreasing (a running maximum).

    Parameters
    ----------
    logresp : ndarray
        256×3 float log response.
    knee : int
        First value replaced by the extrapolation, 128 < knee < 255.
    span : int
        Values below the knee the slope is measured over, 1 <= span < knee - 128.

    Returns
    -------
    ndarray
        256×3 float64 log response.
    """
    if not 128 < knee < 255 or not 1 <= span < knee - 128:
        raise HDRInputError(f"need 128 < knee < 255 and 1 <= span < knee - 128, got "
                            f"knee={knee}, span={span}")
    g = np.maximum.accumulate(np.array(logresp, dtype=np.float64), axis=0)
    slopes = (g[knee] - g[knee - span]) / span
    slope = max(float(np.median(slopes)), 1e-6)
    steps = np.arange(1, LEVELS - knee, dtype=np.float64)[:, None]
    g[knee + 1:] = g[knee][None, :] + slope * steps
    return g


def _fill_missing(resp: np.ndarray, cnt: np.ndarray) -> np.ndarray:
    """Interpolate (in log) rows of values that never occur; ends copy the nearest."""
    out = resp.copy()
    z = np.arange(LEVELS)
    for c in range(3):
        ok = (cnt[:, c] > 0) & (resp[:, c] > 0)
        if not ok.any():
            out[:, c] = linear_response()[:, c]
            continue
        out[:, c] = np.exp(np.interp(z, z[ok], np.log(resp[ok, c])))
    return out


def _clip_ends(resp: np.ndarray) -> np.ndarray:
    """The end values extrapolated (in log) from their neighbours: they are clipped readings.

    A pixel reading 255 says only that its exposure reached at least
    f(254): averaging ``t · E`` over such pixels fed the radiance of the
    highlights back into f(255), which grew each iteration (to 1e21 on the
    frobisher bracket, and the merged windows turned green and red). 0 is
    the same at the dark end.
    """
    out = resp.copy()
    out[-1] = out[-2] * np.clip(out[-2] / out[-3], 1.0, 2.0)
    out[0] = out[1] / np.clip(out[2] / out[1], 1.0, 2.0)
    return out


def camera_response_Robertson2003(
        images: Sequence[np.ndarray] | np.ndarray, times: Sequence[float] | np.ndarray,
                  *, max_iter: int = 30, threshold: float = 0.01,
                  weights: str | np.ndarray = "gaussian") -> np.ndarray:
    """Recover a camera response by Robertson, Borman and Stevenson's iteration.

    Alternates the maximum-likelihood radiance estimate (:func:`merge_Robertson2003`)
    with the response update ``f(z) = mean over pixels reading z of t · E``,
    renormalised to ``f(128) = 1``, until the mean absolute change per channel
    falls below ``threshold``. Values that never occur are interpolated from
    their neighbours, so no row is NaN (OpenCV leaves NaN or zero rows there);
    the clipped readings 0 and 255 are extrapolated from theirs (the update
    diverges there).

    Parameters
    ----------
    images : sequence of ndarray
        K >= 2 aligned exposures, H×W×3 uint8 RGB; every pixel is used.
    times : sequence of float
        Exposure times in seconds, at least two distinct.
    max_iter : int
        Most iterations, >= 1.
    threshold : float
        Stop when the summed absolute change of the curve, averaged over the
        channels, is below this.
    weights : str or ndarray
        Weighting of pixel values (default Robertson's Gaussian).

    Returns
    -------
    ndarray
        Response table, 256×3 float32, positive, ``response[128] == 1``.

    Raises
    ------
    HDRInputError
        Bad images, times or settings, a bracket with fewer than 16
        distinct levels between black and white (a flat, black or clipped
        scene), or one whose longer exposures are no brighter than its
        shorter ones (times that run against the pictures).

    References
    ----------
    .. [1] M. A. Robertson, S. Borman and R. L. Stevenson, "Estimation-theoretic
       approach to dynamic range enhancement using multiple exposures",
       Journal of Electronic Imaging 12(2), 2003.
    """
    stack = as_stack(images, min_count=2)
    t = as_times(times, stack.shape[0], distinct=2)
    if max_iter < 1:
        raise HDRInputError(f"max_iter must be >= 1, got {max_iter}")
    _check_levels(stack)
    check_exposure_times(stack, t)
    w = as_weights(weights)
    resp = np.repeat(np.arange(LEVELS, dtype=np.float64)[:, None], 3, axis=1) / MID
    h = stack.shape[1]
    chunks = max(1, min(h, 16))
    rad = np.empty(stack.shape[1:], dtype=np.float32)
    no_deghost = deghost_args(stack, resp, t, 0.0, None)  # the scene is taken as still
    cnt_total = None
    for _ in range(max_iter):
        K.merge_robertson_k(stack, resp.astype(np.float32), w, t, *no_deghost, rad)
        acc = np.zeros((chunks, LEVELS, 3))
        cnt = np.zeros((chunks, LEVELS, 3))
        K.robertson_accum_k(stack, rad, t, acc, cnt)
        cnt_total = cnt.sum(axis=0)
        new = acc.sum(axis=0) / np.maximum(cnt_total, 1.0)
        new = _clip_ends(_fill_missing(new, cnt_total))
        new = new / new[MID][None, :]
        diff = np.abs(new - resp).sum() / 3.0
        resp = new
        if diff < threshold:
            break
    return as_response(resp)


@dataclass
class CameraResponseDebevec1997:
    """Settings for :func:`camera_response_Debevec1997`; call with ``(images, times)``."""

    samples: int | None = None
    smoothness: float = 30.0
    sampling: str = "stratified"
    weights: str = "hat"
    seed: int = 0

    def __call__(self, images: Sequence[np.ndarray], times: Sequence[float]) -> np.ndarray:
        return camera_response_Debevec1997(
                images, times, samples=self.samples, smoothness=self.smoothness,
                           sampling=self.sampling, weights=self.weights, seed=self.seed)


@dataclass
class CameraResponseRobertson2003:
    """Settings for :func:`camera_response_Robertson2003`; call with ``(images, times)``."""

    max_iter: int = 30
    threshold: float = 0.01
    weights: str = field(default="gaussian")

    def __call__(self, images: Sequence[np.ndarray], times: Sequence[float]) -> np.ndarray:
        return camera_response_Robertson2003(
                images, times, max_iter=self.max_iter, threshold=self.threshold,
                             weights=self.weights)


# ------------------------------------------------------------ save / load


def save_response(path: str | os.PathLike[str], response: np.ndarray) -> None:
    """Write a response table as CSV (256 rows ``R,G,B``) or ``.npy``.

    The CSV starts with a ``#`` comment line naming the columns. The file is
    written to a temporary name and renamed, so readers never see half a file.
    """
    resp = as_response(response)
    p = Path(path)
    tmp = p.with_name(f".{p.name}.tmp")
    try:
        if p.suffix.lower() == ".npy":
            with open(tmp, "wb") as fh:
                np.save(fh, resp)
        else:
            with open(tmp, "w", encoding="ascii") as fh:
                fh.write("# vidclear camera response: relative exposure per 8-bit value; R,G,B\n")
                for row in resp:
                    fh.write(",".join(f"{v:.9g}" for v in row) + "\n")
        os.replace(tmp, p)
    finally:
        if tmp.exists():
            tmp.unlink()


def load_response(path: str | os.PathLike[str], *, order: str = "rgb") -> np.ndarray:
    """Read a response table from CSV (``,`` or ``;`` separated) or ``.npy``.

    Parameters
    ----------
    path : path-like
        The file. CSV lines starting with ``#`` are skipped; OpenCV's curves
        (``;`` separated, trailing separators) load as they are.
    order : {"rgb", "bgr"}
        Column order in the file; OpenCV writes B, G, R.

    Returns
    -------
    ndarray
        256×3 float32 RGB response, validated by :func:`as_response`.

    Raises
    ------
    HDRInputError
        The file cannot be read, or its table is not 256 finite values >= 0
        per channel, or a channel does not rise from value 0 to value 255.
    """
    p = Path(path)
    if order not in ("rgb", "bgr"):
        raise HDRInputError(f"order must be 'rgb' or 'bgr', got {order!r}")
    try:
        if p.suffix.lower() == ".npy":
            arr = np.load(p, allow_pickle=False)
        else:
            rows = []
            for line in p.read_text(encoding="ascii").splitlines():
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                parts = [s for s in line.replace(";", ",").split(",") if s.strip()]
                rows.append([float(s) for s in parts])
            arr = np.asarray(rows, dtype=np.float64)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise HDRInputError(f"cannot read response curve {p}: {exc}") from None
    try:
        resp = as_response(arr)
    except HDRInputError as exc:
        raise HDRInputError(f"response curve {p}: {exc}") from None
    return np.ascontiguousarray(resp[:, ::-1]) if order == "bgr" else resp


debevec1997 = deprecated_alias(camera_response_Debevec1997, "debevec1997")
robertson2003 = deprecated_alias(camera_response_Robertson2003, "robertson2003")
CalibrateDebevec = deprecated_alias(CameraResponseDebevec1997, "CalibrateDebevec")
CalibrateRobertson = deprecated_alias(CameraResponseRobertson2003, "CalibrateRobertson")
