"""Colour-cast gains and the brightness tone curve applied after recovery.

The dehazer recovers ``J = (I - A) / t + A`` and then, in the same pass,
multiplies by per-channel gains and applies ``J ** gamma``. Both come from
histograms of the input and of the recovered image at working size
(:func:`vidclear.dehaze._kernels.recovery_stats`):

* the gains keep the recovered mean chromaticity within the input's own
  cast (grown as recovery grows colour offsets) plus a tolerance, so a
  wrong airlight colour does not tint the frame (``dehaze.color_guard``);
* gamma keeps the median luminance at least ``dehaze.brightness`` times the
  input's.
"""

from __future__ import annotations

import math

import numpy as np

from vidclear.dehaze import _kernels as _k
from vidclear.dehaze.airlight import LUMA
from vidclear.dehaze.config import DehazeConfig

__all__ = ["compensation"]

_CAST_TOLERANCE = 0.08  # chromaticity deviation (of the mean) allowed beyond the input's
# Recovery grows the scene's own colour offsets by 1 / t; the guard allows the
# input's cast that much larger, but never more than 1 / 0.8 = 1.25 times: in
# thick haze the input's cast is mostly the haze's colour, not the scene's.
_CAST_GROWTH_T = 0.8


def compensation(hist: np.ndarray, cfg: DehazeConfig, t_mean: float = 1.0,
                 brightness: float | None = None) -> tuple[np.ndarray, float]:
    """Colour-cast gains and tone exponent from input and recovered histograms.

    Parameters
    ----------
    hist : ndarray
        (8, NBINS) int64 histograms from ``recovery_stats``: input R, G, B,
        luma, then the recovered image's R, G, B, luma.
    cfg : DehazeConfig
        Uses ``color_guard``, ``brightness`` and ``t0``.
    t_mean : float
        Mean refined transmission: recovery scales the scene's own colour
        offsets by about ``1 / t_mean``, so the input's cast grown by that
        much (at most 1.25 times) is not a cast the dehazer added.
    brightness : float, optional
        Share of the input's median luminance to keep, in [0, 1]; defaults
        to ``cfg.brightness`` (the dehazer lowers it in dense haze).

    Returns
    -------
    gains : ndarray
        (3,) float64 in [0.5, 2], ones when nothing needs correcting.
    gamma : float
        Tone exponent in [0.5, 1].
    """
    summary = np.empty((2, hist.shape[0]))
    _k.hist_summary(hist, summary)
    med, means = summary
    med_j = med[4:7]
    lum_i, lum_j = float(med[3]), float(med[7])
    # Casts are judged on mean colours: medians of dark frames (a grey road)
    # turn tiny absolute differences into huge ratios.
    mean_i, mean_j = means[0:3], means[4:7]
    gains = np.ones(3)
    if cfg.color_guard > 0 and mean_i.mean() > 0.02 and mean_j.mean() > 0.02:
        c_i = mean_i / mean_i.mean()
        c_j = np.maximum(mean_j / mean_j.mean(), 1e-3)
        # Dehazing restores saturation, so some colour shift is expected; only
        # the part beyond the input's own cast plus a tolerance is removed.
        tol = _CAST_TOLERANCE
        grow = 1.0 / min(max(t_mean, cfg.t0, _CAST_GROWTH_T), 1.0)
        target = np.clip(c_j, 1.0 + (np.minimum(1.0, c_i) - 1.0) * grow - tol,
                         1.0 + (np.maximum(1.0, c_i) - 1.0) * grow + tol)
        g = target / c_j
        g *= float(LUMA @ mean_j) / max(float(LUMA @ (g * mean_j)), 1e-6)
        gains = np.clip(1.0 + cfg.color_guard * (g - 1.0), 0.5, 2.0)
        # the recovered median luma, moved as the gains move the luma of the
        # channel medians (the luma of the channel medians itself is no median
        # luma: for saturated colours it is far lower, and read as one it
        # brightened clear, colourful frames)
        base = float(LUMA @ med_j)
        if base > 1e-6:
            lum_j *= float(LUMA @ np.minimum(gains * med_j, 1.0)) / base
    gamma = 1.0
    want = (cfg.brightness if brightness is None else brightness) * lum_i
    if 0.005 < lum_j < want < 1.0:
        gamma = min(max(math.log(want) / math.log(lum_j), 0.5), 1.0)
    return gains, gamma
