"""Weights of 8-bit pixel values for merging and calibrating exposure brackets.

A reading near 0 is mostly noise and quantisation, one near 255 may be
clipped, so HDR merging (still and video) and camera-response calibration
weight each value ``z`` by how much it can be trusted. The tables are defined
here once; :func:`vidclear.hdr.camera_response_Debevec1997`,
:func:`vidclear.hdr.merge_Debevec1997` and the rolling-bracket video merge all
read them.
"""

from __future__ import annotations

import numpy as np

from vidclear.errors import ConfigError

__all__ = ["WEIGHTS", "exposure_weights"]

WEIGHTS = ("hat", "triangle", "gaussian", "uniform")
_LEVELS = 256


def exposure_weights(name: str = "hat", *, clip: int | None = None) -> np.ndarray:
    """A 256-entry weighting of 8-bit pixel values.

    Parameters
    ----------
    name : {"hat", "triangle", "gaussian", "uniform"}
        ``"hat"``: Debevec and Malik's ``min(z, 255 - z)``, zero at both ends.
        ``"triangle"``: the same plus one, never zero (OpenCV's
        ``triangleWeights``). ``"gaussian"``: Robertson et al.'s bell,
        ``exp(-4 (z - 127.5)² / 127.5²)`` shifted and scaled to be 0 at the
        ends and 1 in the middle. ``"uniform"``: all ones.
    clip : int, optional
        Values at or above this (0..256) get weight 0: readings so close to
        saturation that they are only a lower bound.

    Returns
    -------
    ndarray
        Shape (256,), float32, values >= 0 (the hat peaks at 127).

    Raises
    ------
    ValueError
        For an unknown ``name`` or a ``clip`` outside 0..256.

    References
    ----------
    .. [1] P. E. Debevec and J. Malik, "Recovering high dynamic range radiance
       maps from photographs", SIGGRAPH 1997.
    .. [2] M. A. Robertson, S. Borman and R. L. Stevenson, "Estimation-theoretic
       approach to dynamic range enhancement using multiple exposures",
       Journal of Electronic Imaging 12(2), 2003.
    """
    z = np.arange(_LEVELS, dtype=np.float64)
    if name == "hat":
        w = np.minimum(z, 255.0 - z)
    elif name == "triangle":
        w = np.where(z < _LEVELS // 2, z + 1.0, 256.0 - z)
    elif name == "gaussian":
        q = (_LEVELS - 1) / 4.0
        e4 = np.exp(4.0)
        v = z / q - 2.0
        w = e4 / (e4 - 1.0) * np.exp(-v * v) + 1.0 / (1.0 - e4)
        w = np.maximum(w, 0.0)
    elif name == "uniform":
        w = np.ones(_LEVELS)
    else:
        raise ConfigError(
            f"unknown weights {name!r}: expected 'hat', 'triangle', 'gaussian' or 'uniform'"
        )
    if clip is not None:
        if isinstance(clip, bool) or not 0 <= int(clip) <= _LEVELS:
            raise ConfigError(f"clip must be in 0..256, got {clip!r}")
        w[int(clip):] = 0.0
    return w.astype(np.float32)
