"""De-ghosting an exposure bracket: readings that disagree with a reference exposure.

Where something moved between the exposures of a bracket, the radiance its
readings allow at a pixel misses the reference exposure's there; such a
reading's merge weight is multiplied by ``exp(-d² / sigma²)`` (``d`` the gap,
natural-log radiance), so the moved thing comes from the reference alone
instead of leaving translucent copies. The test is Kang et al.'s (2003,
"High dynamic range video", SIGGRAPH) agreement with the reference frame;
the Gaussian fall-off follows Khan et al. (2006, "Ghost removal in high
dynamic range images", ICIP). Used by the still merges
(:func:`vidclear.hdr.merge.merge_Debevec1997`, ``merge_Robertson2003``); the
rolling-bracket video merge (:mod:`vidclear.hdr.rolling`) shares the fall-off
table and the tolerance and tests the green reading alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vidclear.errors import HDRInputError
from vidclear.hdr._validate import as_index
from vidclear.kernels.exposure import exposure_weights

__all__ = ["DEGHOST_TOL", "best_exposed", "deghost_args", "deghost_table", "reading_intervals"]

# log-radiance slack of a reading before de-ghosting starts (natural log, a third of a stop)
DEGHOST_TOL = 0.25
_OPEN = np.float32(1e30)  # an interval end that bounds nothing
NOISE_LEVELS = 2  # code values a reading may be off by (noise, quantisation, JPEG)


def deghost_table(sigma: float, size: int = 256) -> tuple[np.ndarray, np.float32]:
    """Table of the de-ghosting factor ``exp(-d² / sigma²)`` and its index scale.

    Entry ``i`` holds the factor at ``d = i * sigma / 32`` (so the table
    spans 8 sigma and its last entry is 0); a disagreement ``d`` (natural-log
    radiance) reads entry ``min(int(d * scale), size - 1)``. ``sigma`` = 0
    disables de-ghosting: all ones, scale 0.
    """
    if sigma <= 0:
        return np.ones(size, dtype=np.float32), np.float32(0.0)
    i = np.arange(size, dtype=np.float64)
    lut = np.exp(-(i / 32.0) ** 2)
    lut[-1] = 0.0
    return lut.astype(np.float32), np.float32(32.0 / sigma)


def reading_intervals(response: np.ndarray, exposures: np.ndarray,
                      noise: int = NOISE_LEVELS) -> tuple[np.ndarray, np.ndarray]:
    """The log radiance each reading of each exposure allows: ``(lo, hi)``, each K×256×3 float32.

    ``[log(f(z - n) / t) - DEGHOST_TOL, log(f(z + n) / t) + DEGHOST_TOL]``
    with ``n`` = ``noise`` code values of noise and quantisation
    (:data:`NOISE_LEVELS` by default; the rolling bracket's red and blue, from
    4:2:0 chroma, take more),
    so the slack follows the response's own slope: wide near a black level
    (a camera's floor at 16 reads the same for any light below it) and in a
    toe, narrow in the mid-tones; opened to ∓1e30 for readings of 4 or less
    (any darker radiance) and 250 or more (any brighter). Two exposures whose
    intervals at a pixel do not meet saw different things there: the scene
    moved.
    """
    resp = np.asarray(response, dtype=np.float64)
    z = np.arange(resp.shape[0])
    floor = np.min(resp[resp > 0])  # the response keeps a tiny value at 0 so logs stay finite
    t = np.asarray(exposures, dtype=np.float64)[:, None, None]
    below = np.maximum(resp[np.clip(z - noise, 0, len(z) - 1)], floor)
    above = np.maximum(resp[np.clip(z + noise, 0, len(z) - 1)], floor)
    lo = (np.log(below[None] / t) - DEGHOST_TOL).astype(np.float32)
    hi = (np.log(above[None] / t) + DEGHOST_TOL).astype(np.float32)
    lo[:, :5] = -_OPEN
    hi[:, 250:] = _OPEN
    return lo, hi


def best_exposed(stack: np.ndarray, clip: int = 250) -> int:
    """Index of the best-exposed exposure: the most merge weight over its pixels.

    A pixel's weight is the mean of Debevec and Malik's hat over its three
    readings, 0 where one reads ``clip`` or more (as the merge weighs it), so
    the reference is the shot the merge trusts most, not merely the one with
    the fewest clipped pixels (that was the darkest, noisiest shot of four of
    five real brackets, trial 79). ``stack`` is K×H×W×3 uint8; the first of
    two equal scores wins.
    """
    hat = exposure_weights("hat").astype(np.float64)
    scores = []
    for e in stack:
        w = hat[e].mean(axis=2)
        w[e.max(axis=2) >= clip] = 0.0
        scores.append(float(w.sum()))
    return int(np.argmax(scores))


def deghost_args(stack: np.ndarray, response: np.ndarray, t: np.ndarray, deghost: float,
                 reference: int | None, clip: int = 250) -> tuple[Any, ...]:
    """The still merge kernels' de-ghosting arguments ``(ref, lo, hi, table, scale)``.

    ``ref`` is -1 (off) for ``deghost`` 0 or a single exposure.

    Raises
    ------
    HDRInputError
        ``deghost`` negative or not finite, or ``reference`` no index of ``stack``.
    """
    try:
        deghost = float(deghost)
    except (TypeError, ValueError):
        deghost = float("nan")
    if not (np.isfinite(deghost) and deghost >= 0):
        raise HDRInputError(f"deghost must be a finite width >= 0 (natural-log radiance), "
                            f"got {deghost}")
    k_n = stack.shape[0]
    if reference is not None:
        reference = as_index(reference, k_n)
    table, scale = deghost_table(deghost)
    if deghost == 0 or k_n < 2:
        lo = np.zeros((k_n, 256, 3), dtype=np.float32)
        return np.int64(-1), lo, lo, table, scale
    ref = best_exposed(stack, clip) if reference is None else reference
    lo, hi = reading_intervals(response, t)
    return np.int64(ref), lo, hi, table, scale
