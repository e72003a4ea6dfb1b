"""Input checks shared by the HDR functions: exposure stacks, times and indices."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from vidclear._arrays import native
from vidclear.errors import HDRInputError
from vidclear.kernels.exposure import exposure_weights

__all__ = ["MAX_EXPOSURE_STOPS", "as_index", "as_radiance", "as_stack", "as_times",
           "as_weights"]

#: Widest exposure span accepted, in stops (a ratio of 2**32 between the
#: longest and the shortest exposure). Far beyond real brackets (a few tens of
#: stops at most), and small enough that radiance = response / time stays
#: finite and non-zero in float32 (whose range is about 2**±126).
MAX_EXPOSURE_STOPS = 32.0


def _as_rgb8(img: np.ndarray, index: int) -> np.ndarray:
    arr = native(np.asarray(img))
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise HDRInputError(
            f"image {index} has shape {arr.shape}: expected H×W×3 RGB or H×W grayscale"
        )
    if arr.dtype == np.uint16:
        arr = (arr >> 8).astype(np.uint8)
    elif arr.dtype != np.uint8:
        raise HDRInputError(
            f"image {index} has dtype {arr.dtype}: expected uint8 (or uint16, reduced to 8 bits)"
        )
    if arr.shape[0] < 2 or arr.shape[1] < 2:
        raise HDRInputError(f"image {index} is {arr.shape[1]}×{arr.shape[0]}: need at least 2×2")
    return arr


def as_stack(images: Sequence[np.ndarray] | np.ndarray, *, min_count: int = 1) -> np.ndarray:
    """Stack exposures into one contiguous K×H×W×3 ``uint8`` array.

    Grayscale images (H×W or H×W×1) are repeated into three channels and
    ``uint16`` images are reduced to their high byte.

    Raises
    ------
    HDRInputError
        Fewer than ``min_count`` images, a shape or dtype not listed above,
        sizes that differ, or grayscale images mixed with colour ones.
    """
    if isinstance(images, np.ndarray) and images.ndim == 4:
        images = list(images)
    if not isinstance(images, Sequence) or isinstance(images, str | bytes):
        raise HDRInputError("images must be a sequence of arrays")
    if len(images) < min_count:
        raise HDRInputError(
            f"got {len(images)} exposure(s): this needs at least {min_count} differently "
            "exposed images"
        )
    grey = [i for i, im in enumerate(images) if np.ndim(im) == 2 or np.shape(im)[-1:] == (1,)]
    if grey and len(grey) < len(images):  # its one channel stood for three: a false-colour merge
        colour = next(i for i in range(len(images)) if i not in grey)
        raise HDRInputError(f"image {grey[0]} is grayscale but image {colour} is colour: "
                            "a bracket's exposures must all be colour or all grayscale")
    arrs = [_as_rgb8(im, i) for i, im in enumerate(images)]
    shape = arrs[0].shape
    for i, a in enumerate(arrs):
        if a.shape != shape:
            raise HDRInputError(
                f"image {i} is {a.shape[1]}×{a.shape[0]} but image 0 is {shape[1]}×{shape[0]}: "
                "all exposures must have the same size"
            )
    return np.ascontiguousarray(np.stack(arrs))


def as_times(times: Sequence[float] | np.ndarray | None, count: int, *,
             distinct: int = 1) -> np.ndarray:
    """Exposure times as a float32 vector of ``count`` finite positive values.

    ``distinct`` is the least number of different values required.
    """
    if times is None:
        raise HDRInputError("exposure times are missing: give one time per image")
    try:
        # "1/4" as the command line's --times takes it (a ValueError of NumPy's
        # from the API: trial 117 F4)
        t = np.asarray([float(Fraction(x)) if isinstance(x, str) else x
                        for x in np.asarray(times, dtype=object).ravel()], dtype=np.float64)
    except (TypeError, ValueError, ZeroDivisionError):
        raise HDRInputError(f"exposure times must be numbers of seconds (or fractions such as "
                            f"'1/250'), got {times!r}") from None
    if t.size != count:
        raise HDRInputError(f"got {t.size} exposure time(s) for {count} image(s): give one each")
    if not np.all(np.isfinite(t)) or np.any(t <= 0):
        raise HDRInputError(f"exposure times must be finite and > 0, got {t.tolist()}")
    if np.any(t < 2.0 ** -64) or np.any(t > 2.0 ** 64) or \
            np.log2(t.max() / t.min()) > MAX_EXPOSURE_STOPS:
        raise HDRInputError(
            f"exposure times {t.tolist()} are out of range: expected values in "
            f"[2**-64, 2**64] s spanning at most {MAX_EXPOSURE_STOPS:g} stops")
    if np.unique(t).size < distinct:
        raise HDRInputError(
            f"exposure times {t.tolist()} have fewer than {distinct} distinct values: "
            "calibration needs differently exposed images"
        )
    return t.astype(np.float32)


def as_index(reference: Any, count: int) -> int:
    """The exposure ``reference`` names among ``count``, as an index in 0..count-1.

    An integer (NumPy's too) in ``-count..count-1``: a negative one counts
    from the last, as NumPy indexes (the merge took -1, the alignment refused
    it: trial 145 F3).

    Raises
    ------
    HDRInputError
        Not an integer (a bool neither), or out of that range.
    """
    if isinstance(reference, bool | np.bool_) or not isinstance(reference, int | np.integer) \
            or not -count <= reference < count:
        raise HDRInputError(f"reference must be the index of one of the {count} exposures "
                            f"(-{count}..{count - 1}), got {reference!r}")
    return int(reference) % count


def as_weights(weights: str | np.ndarray) -> np.ndarray:
    """A 256-entry float32 weighting table by name or array.

    Names are those of :func:`vidclear.kernels.exposure_weights`.
    """
    if isinstance(weights, str):
        try:
            return exposure_weights(weights)
        except ValueError as exc:
            raise HDRInputError(str(exc)) from None
    w = np.asarray(weights, dtype=np.float32).ravel()
    if w.size != 256 or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise HDRInputError("weights must be 256 finite values >= 0")
    return np.ascontiguousarray(w)


def as_radiance(radiance: np.ndarray) -> np.ndarray:
    """A finite, non-negative H×W×3 float32 radiance map (grayscale repeated)."""
    r = np.asarray(radiance)
    if r.ndim == 3 and r.shape[2] == 1:
        r = r[:, :, 0]
    if r.ndim == 2:
        r = np.repeat(r[:, :, None], 3, axis=2)
    if r.ndim != 3 or r.shape[2] != 3:
        raise HDRInputError(f"radiance has shape {r.shape}: expected H×W×3 or H×W")
    if r.size == 0:  # numpy's and OpenCV's own errors came out of the operators (trial 63)
        raise HDRInputError(f"radiance has shape {r.shape}: it holds no pixels")
    if not np.issubdtype(r.dtype, np.floating) and not np.issubdtype(r.dtype, np.integer):
        raise HDRInputError(f"radiance has dtype {r.dtype}: expected a real number type")
    r = np.ascontiguousarray(r, dtype=np.float32)
    if not np.all(np.isfinite(r)):
        raise HDRInputError("radiance contains NaN or Inf")
    if np.any(r < 0):
        raise HDRInputError("radiance must be >= 0")
    return r
