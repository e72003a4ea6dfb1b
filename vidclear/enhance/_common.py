"""Input checks shared by the enhancers."""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np

from vidclear._arrays import native
from vidclear.errors import ArrayError

__all__ = ["Ranges", "StretchSmoother", "as_planar_unit", "check_image", "keep_flat_channels",
           "limit_gain", "max_value"]

#: A hook from a frame's own stretch range (lo, hi; one value a channel) to
#: the range to stretch it with.
Ranges = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


class StretchSmoother:
    """The final stretch's range of a global enhancer, smoothed over time (a :data:`Ranges`).

    ACE and MSRCR end by stretching each channel from a range measured on
    the frame (its contrast term's minimum and maximum, or percentiles).
    Measured anew on every frame it moved with the content: a bright object
    entering a still view made the untouched background jump by up to 49
    levels in a frame, and a still, noisy grey clip flickered by 30 levels
    a frame (trial 86). The range follows the frame's with time constant
    ``tau`` seconds (an exponential moving average, weighted by each frame's
    time step); :meth:`reset` (a scene cut) takes the next frame's own.

    Parameters
    ----------
    tau : float
        Time constant in seconds, >= 0; 0 takes every frame's own range.
    """

    def __init__(self, tau: float) -> None:
        self.tau = float(tau)
        self.dt = 0.0
        self._lo: np.ndarray | None = None
        self._hi: np.ndarray | None = None

    def __call__(self, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dtype = np.asarray(lo).dtype  # kept: the stretch kernels are compiled for it
        lo, hi = np.asarray(lo, np.float64), np.asarray(hi, np.float64)
        if self._lo is None or self._hi is None or self._lo.shape != lo.shape or self.tau == 0:
            self._lo, self._hi = lo.copy(), hi.copy()
        else:
            a = 1.0 - math.exp(-max(self.dt, 0.0) / self.tau)
            self._lo = self._lo + a * (lo - self._lo)
            self._hi = self._hi + a * (hi - self._hi)
        return self._lo.astype(dtype), self._hi.astype(dtype)

    def reset(self) -> None:
        self._lo = self._hi = None


def check_image(img: object, name: str = "image") -> np.ndarray:
    """Return ``img`` as a C-contiguous uint8/uint16 H×W or H×W×3 array.

    Raises
    ------
    ValueError
        For anything else, saying what is allowed.
    """
    if not isinstance(img, np.ndarray):
        raise ArrayError(f"{name} must be a NumPy array, got {type(img).__name__}")
    img = native(img)  # >u2 is uint16 stored big-endian (trials 128 F1, 130 F11)
    if img.dtype not in (np.uint8, np.uint16):
        raise ArrayError(f"{name} must be uint8 or uint16, got {img.dtype}")
    if not (img.ndim == 2 or (img.ndim == 3 and img.shape[2] == 3)):
        raise ArrayError(f"{name} must be H×W (grey) or H×W×3 (RGB), got shape {img.shape}")
    if img.shape[0] < 1 or img.shape[1] < 1:
        raise ArrayError(f"{name} is empty: shape {img.shape}")
    return np.ascontiguousarray(img)


def max_value(dtype: np.dtype) -> int:
    """The full-scale value of an integer image dtype (255 or 65535)."""
    return int(np.iinfo(dtype).max)


def as_planar_unit(img: np.ndarray) -> np.ndarray:
    """C×H×W float32 planes scaled to [0, 1] (C is 1 for a grey image)."""
    scale = np.float32(1.0 / max_value(img.dtype))
    planes = img[None] if img.ndim == 2 else np.moveaxis(img, -1, 0)
    return np.ascontiguousarray(planes, dtype=np.float32) * scale


def keep_flat_channels(out: np.ndarray, img: np.ndarray, flat: np.ndarray) -> np.ndarray:
    """``out`` (H×W×C) in ``img``'s shape, with the channels marked ``flat`` taken from ``img``.

    An enhancer that finds no contrast in a channel has nothing to stretch:
    the channel passes through, so a constant frame stays constant and
    black stays black.
    """
    out = out.reshape(img.shape)
    if not np.any(flat):
        return out
    if img.ndim == 2:
        out[...] = img
    else:
        out[..., flat] = img[..., flat]
    return out


def _spread(img: np.ndarray) -> float:
    """Standard deviation of every channel value of every 4th pixel each way, in code values
    (colour counts: a channel stretched alone, as ACE and MSRCR do, is contrast gained)."""
    return float(img[::4, ::4].std(dtype=np.float64))


def _structure(img: np.ndarray) -> float:
    """:func:`_spread` of the image box-filtered over 3 × 3 of every 2nd pixel: what
    the picture holds beyond pixel noise (noise falls about 3 ×, detail stays)."""
    small = np.ascontiguousarray(img[::2, ::2])
    return float(cv2.blur(small, (3, 3))[::2, ::2].std(dtype=np.float64))


def limit_gain(before: np.ndarray, after: np.ndarray, max_gain: float) -> np.ndarray:
    """``after`` pulled back towards ``before`` so its contrast grows at most ``max_gain`` ×.

    Contrast is the standard deviation of the channel values (every 4th
    pixel each way, the channels together); the input's is taken after a
    3 × 3 box filter, so pixel noise does not count as detail to enhance.
    Where the enhanced frame's exceeds ``max_gain`` times the input's, the
    result is ``before + k (after - before)`` with ``k`` the ratio that
    brings it to that bound; otherwise ``after`` itself. A featureless frame
    has no contrast to enhance, only noise: a dark grey frame with ±2 levels
    of noise came out white (global equalization) or as purple noise (ACE,
    MSRCR), a gain of 120–380 (trial 74). A dark night scene gains up to 25
    (trial 75: a bound of 8 halved its equalization), an underexposed one 7,
    thick fog 3, real photographs under 5 (the dehaze and HDR stills of
    ``../shared``, but for Memorial's darkest frames, up to 19); the first
    frames of a fade from black 50–110, its later ones as a night scene.

    Parameters
    ----------
    before, after : ndarray
        The frame before and after enhancement, one shape and integer dtype.
    max_gain : float
        The bound; 0 (or less) returns ``after`` unchanged.

    Returns
    -------
    ndarray
        ``after``'s shape and dtype.
    """
    if max_gain <= 0:
        return after
    spread_in, spread_out = _structure(before), _spread(after)
    if spread_out <= max_gain * spread_in:
        return after
    k = np.float32(max_gain * spread_in / spread_out)
    x = before.astype(np.float32)
    x += k * (after.astype(np.float32) - x)
    return np.rint(x).clip(0, max_value(after.dtype)).astype(after.dtype)
