"""Haze synthesis: the atmospheric scattering model, fog overlay and noise.

Makes hazy test footage with a known ground truth from clear frames:
``I = J t + A (1 - t)`` with the transmission ``t = exp(-beta d)`` of a depth
map or of a depth model (a ground plane for road scenes), or a uniform fog
overlay; optionally salt-and-pepper noise. The ``synth_haze`` processor runs
it frame by frame, deterministically for a fixed seed.

References
----------
.. [1] S. G. Narasimhan, S. K. Nayar, "Vision and the atmosphere",
   International Journal of Computer Vision 48(3), 233-254, 2002.
.. [2] K. He, J. Sun, X. Tang, "Single image haze removal using dark channel
   prior", IEEE Trans. Pattern Analysis and Machine Intelligence 33(12),
   2341-2353, 2011 (the model in the form used here).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vidclear._arrays import native
from vidclear.errors import ArrayError, ConfigError
from vidclear.kernels.colour import KB_601, KG_601, KR_601

__all__ = [
    "DEPTH_MODELS",
    "HAZE_MODELS",
    "depth_model_map",
    "fog_overlay",
    "ground_plane_depth",
    "load_depth_map",
    "salt_and_pepper",
    "scatter",
    "synthesize_haze",
    "transmission",
]

DEPTH_MODELS = ("ground_plane", "constant", "frame")
HAZE_MODELS = ("scattering", "uniform")

Airlight = float | Sequence[float]


# ------------------------------------------------------------------- checks
def _check_image(img: Any) -> np.ndarray:
    if not isinstance(img, np.ndarray):
        raise ArrayError(f"image must be a NumPy array, got {type(img).__name__}")
    img = native(img)
    if img.dtype not in (np.uint8, np.uint16):
        raise ArrayError(f"image must be uint8 or uint16, got {img.dtype}")
    if not (img.ndim == 2 or (img.ndim == 3 and img.shape[2] == 3)) or 0 in img.shape:
        raise ArrayError(f"image must be H×W×3 (RGB) or H×W (grey), got shape {img.shape}")
    return img


def _airlight_vector(airlight: Airlight, channels: int) -> np.ndarray:
    """The airlight as float32 per channel on a 0..1 scale."""
    if isinstance(airlight, numbers.Real) and not isinstance(airlight, bool):
        a = np.full(3, float(airlight))
    else:
        try:
            a = np.asarray(airlight, dtype=np.float64).ravel()
        except (TypeError, ValueError):
            a = np.zeros(0)
        if a.size != 3:
            raise ConfigError("airlight must be a grey level in [0, 1] or three of them "
                              f"(R, G, B), got {airlight!r}")
    if not (np.isfinite(a).all() and (a >= 0).all() and (a <= 1).all()):
        raise ConfigError(f"airlight must lie in [0, 1], got {airlight!r}")
    if channels == 1:
        a = np.array([KR_601 * a[0] + KG_601 * a[1] + KB_601 * a[2]])
    return a.astype(np.float32)


def _check_fraction(name: str, value: float) -> float:
    if not (isinstance(value, numbers.Real) and math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ConfigError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)


# -------------------------------------------------------------------- depth
def ground_plane_depth(height: int, width: int, *, horizon: float = 0.42,
                       near: float = 0.05) -> np.ndarray:
    """Relative depth of flat ground seen by a level camera.

    Parameters
    ----------
    height, width : int
        Image size in pixels, at least 1.
    horizon : float
        Horizon row as a fraction of the height, in [0, 1): 0 is the top.
    near : float
        Depth of the bottom row relative to the far limit, in (0, 1].

    Returns
    -------
    ndarray
        float32 H×W in [near, 1], the same along each row. Below the horizon
        row ``y_h`` the depth is ``near (y_b - y_h) / (y - y_h)`` at row
        centre ``y``, ``y_b`` the bottom row's centre (a pinhole camera over
        a plane sees depth inversely proportional to the distance below the
        horizon), capped at 1; the horizon and everything above it (sky) is
        at the far limit, 1.
    """
    if height < 1 or width < 1:
        raise ConfigError(f"height and width must be at least 1, got {height}x{width}")
    if not (isinstance(horizon, numbers.Real) and 0.0 <= horizon < 1.0):
        raise ConfigError(f"horizon must be a fraction of the height in [0, 1), got {horizon!r}")
    if not (isinstance(near, numbers.Real) and 0.0 < near <= 1.0):
        raise ConfigError(f"near must be in (0, 1], got {near!r}")
    y_h = horizon * height
    rows = np.arange(height, dtype=np.float64) + 0.5
    below = rows - y_h
    with np.errstate(divide="ignore"):
        d = np.where(below > 0, near * (height - 0.5 - y_h) / np.where(below > 0, below, 1.0),
                     1.0)
    d = np.minimum(d, 1.0).astype(np.float32)
    return np.repeat(d[:, None], width, axis=1)


def depth_model_map(height: int, width: int, model: str, *, horizon: float = 0.42,
                    near: float = 0.05) -> np.ndarray:
    """Relative depth (float32 H×W in (0, 1]) of a named depth model.

    ``'ground_plane'``: :func:`ground_plane_depth`. ``'constant'``: 1
    everywhere, so ``t = exp(-beta)`` is uniform. (``'frame'``, for the
    processor, reads ``frame.meta["depth"]`` instead of a model.)
    """
    if model == "ground_plane":
        return ground_plane_depth(height, width, horizon=horizon, near=near)
    if model == "constant":
        return np.ones((height, width), np.float32)
    if model == "frame":
        raise ConfigError("depth_model 'frame' takes the depth each frame carries; pass depth=")
    raise ConfigError(f"depth_model must be one of {', '.join(DEPTH_MODELS)}, got {model!r}")


def load_depth_map(path: str | Path) -> np.ndarray:
    """Read a depth image (bright = far) as relative depth, float32 H×W in [0, 1].

    Any image OpenCV reads (8/16-bit PNG, TIFF, EXR if enabled) or a ``.npy``
    array; colour images are averaged over channels. Values are divided by
    the map's maximum, so only relative depth matters.

    Raises
    ------
    ConfigError
        When the file is missing, unreadable, or not a non-negative finite map
        with some depth.
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"synth_haze.depth_map = {str(path)!r}: no such file")
    if p.suffix.lower() == ".npy":
        try:
            arr = np.load(p, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"synth_haze.depth_map = {str(path)!r}: cannot read: {exc}") \
                from None
    else:
        arr = cv2.imread(str(p), cv2.IMREAD_UNCHANGED | cv2.IMREAD_ANYDEPTH)
        if arr is None:
            raise ConfigError(f"synth_haze.depth_map = {str(path)!r}: not an image OpenCV reads")
    arr = np.asarray(arr)
    if arr.ndim == 3:
        arr = arr.mean(axis=2)
    if arr.ndim != 2 or not np.issubdtype(arr.dtype, np.number):
        raise ConfigError(f"synth_haze.depth_map = {str(path)!r}: expected a grey image, "
                          f"got shape {arr.shape}")
    d = arr.astype(np.float64)
    if not np.isfinite(d).all() or d.min() < 0 or d.max() <= 0:
        raise ConfigError(f"synth_haze.depth_map = {str(path)!r}: depth must be finite, "
                          "non-negative and not all zero")
    return (d / d.max()).astype(np.float32)


def transmission(depth: np.ndarray, *, beta: float) -> np.ndarray:
    """Transmission ``exp(-beta depth)`` of the scattering model (float32, in (0, 1]).

    Parameters
    ----------
    depth : ndarray
        Non-negative, finite depth, any shape.
    beta : float
        Scattering coefficient per unit of depth, ≥ 0.
    """
    d = np.asarray(depth, dtype=np.float32)
    if not np.isfinite(d).all() or (d < 0).any():
        raise ArrayError("depth must be finite and non-negative")
    if not (isinstance(beta, numbers.Real) and math.isfinite(beta) and beta >= 0):
        raise ConfigError(f"beta must be a finite number >= 0, got {beta!r}")
    return np.exp(-np.float32(beta) * d)


def scatter(img: np.ndarray, t: np.ndarray, airlight: Airlight) -> np.ndarray:
    """Apply ``I = J t + A (1 - t)`` to a clear image.

    Parameters
    ----------
    img : ndarray
        Clear image J: RGB H×W×3 or grey H×W, ``uint8`` or ``uint16``.
    t : ndarray
        Transmission, H×W, values in [0, 1].
    airlight : float or (float, float, float)
        Atmospheric light A on a 0..1 scale, grey or per RGB channel.

    Returns
    -------
    ndarray
        The hazy image, same shape and dtype, rounded.
    """
    img = _check_image(img)
    t = np.asarray(t, dtype=np.float32)
    if t.shape != img.shape[:2]:
        raise ArrayError(f"transmission shape {t.shape} does not match image {img.shape[:2]}")
    if not (np.isfinite(t).all() and (t >= 0).all() and (t <= 1).all()):
        raise ArrayError("transmission must lie in [0, 1]")
    chans = 1 if img.ndim == 2 else 3
    maxval = float(np.iinfo(img.dtype).max)
    a = _airlight_vector(airlight, chans) * np.float32(maxval)
    j = img.reshape(img.shape[0], img.shape[1], chans).astype(np.float32)
    t3 = t[:, :, None]
    out = j * t3 + a * (np.float32(1.0) - t3)
    return np.rint(np.clip(out, 0, maxval)).astype(img.dtype).reshape(img.shape)


def fog_overlay(img: np.ndarray, *, density: float, airlight: Airlight = 0.85) -> np.ndarray:
    """Blend an image towards a fog colour by a fixed density.

    ``I = (1 - density) J + density A``: the scattering model with the same
    transmission ``1 - density`` everywhere (fog without depth).

    Parameters
    ----------
    img : ndarray
        RGB H×W×3 or grey H×W, ``uint8`` or ``uint16``.
    density : float
        In [0, 1]: 0 leaves the image as it is, 1 gives plain fog colour.
    airlight : float or (float, float, float)
        Fog colour on a 0..1 scale.
    """
    img = _check_image(img)
    density = _check_fraction("density", density)
    return scatter(img, np.full(img.shape[:2], 1.0 - density, np.float32), airlight)


def salt_and_pepper(img: np.ndarray, *, amount: float,
                    rng: np.random.Generator | int | None = None) -> np.ndarray:
    """Set a random fraction of pixels to black or white.

    Parameters
    ----------
    img : ndarray
        RGB H×W×3 or grey H×W, ``uint8`` or ``uint16``; not modified.
    amount : float
        Expected fraction of pixels hit, in [0, 1]; each pixel is hit
        independently, half of the hits white (salt) and half black (pepper),
        all channels together.
    rng : numpy.random.Generator or int, optional
        Random source or seed; fixed seeds give fixed noise.

    Returns
    -------
    ndarray
        A noisy copy, same shape and dtype.
    """
    img = _check_image(img)
    amount = _check_fraction("noise", amount)
    out = img.copy()
    if amount == 0.0:
        return out
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    u = gen.random(img.shape[:2], dtype=np.float32)
    hit = u < amount
    salt = hit & (u < amount / 2)
    out[hit] = 0
    out[salt] = np.iinfo(img.dtype).max
    return out


def synthesize_haze(
    img: np.ndarray,
    *,
    beta: float = 2.5,
    airlight: Airlight = 0.85,
    depth: np.ndarray | None = None,
    depth_model: str = "ground_plane",
    horizon: float = 0.42,
    near: float = 0.05,
    noise: float = 0.0,
    seed: np.random.Generator | int | None = None,
) -> np.ndarray:
    """Add haze to a clear image by the atmospheric scattering model.

    Parameters
    ----------
    img : ndarray
        Clear RGB H×W×3 or grey H×W image, ``uint8`` or ``uint16``; any
        memory layout.
    beta : float
        Scattering coefficient per unit of depth (≥ 0): the transmission is
        ``exp(-beta d)``. With the default models depth runs up to 1, so
        ``exp(-beta)`` is what is left of the farthest scene.
    airlight : float or (float, float, float)
        Atmospheric light on a 0..1 scale, grey or per RGB channel.
    depth : ndarray, optional
        H×W non-negative depth, in the units ``beta`` is given per; replaces
        the depth model.
    depth_model : {'ground_plane', 'constant'}
        Depth used when ``depth`` is None: see :func:`depth_model_map`.
    horizon, near : float
        Ground-plane model: horizon row as a fraction of the height, and the
        depth of the bottom row relative to the far limit.
    noise : float
        Salt-and-pepper fraction of pixels added after the haze (0 = none).
    seed : int or numpy.random.Generator, optional
        Random source of the noise.

    Returns
    -------
    ndarray
        The hazy image, same shape and dtype as ``img``.
    """
    img = _check_image(img)
    h, w = img.shape[:2]
    if depth is None:
        d = depth_model_map(h, w, depth_model, horizon=horizon, near=near)
    else:
        d = np.asarray(depth)
        if d.shape != (h, w):
            raise ArrayError(f"depth shape {d.shape} does not match image {(h, w)}")
    hazy = scatter(img, transmission(d, beta=beta), airlight)
    if noise:
        hazy = salt_and_pepper(hazy, amount=noise, rng=seed)
    return hazy
