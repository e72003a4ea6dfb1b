"""The image layouts the restoration functions accept, brought to one working form and back.

``dehaze_image`` and the enhancers (``ace``, ``equalize_hist``, ``clahe``,
``msrcr``) take the layouts NumPy and OpenCV users hand over: grey, RGB or
RGBA, 8- or 16-bit integers or floats in [0, 1]. Each works on integer
planes; :func:`as_image` gives them those and a function that puts a result
back in the caller's layout and dtype.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from vidclear._arrays import native
from vidclear.errors import ArrayError

__all__ = ["as_image", "native"]


def as_image(image: object, *, grey: bool = False
             ) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """Bring any accepted layout to a contiguous uint8/uint16 working image, and back.

    Accepted: H×W or H×W×1 grey, H×W×3 RGB, H×W×4 RGBA (alpha passed through
    untouched); dtype uint8, uint16, or float (float16/32/64) with finite
    values in [0, 1], processed at 16-bit precision (× 65535, rounded). Any
    strides.

    Parameters
    ----------
    image : ndarray
        The caller's image.
    grey : bool
        Keep a grey image as H×W (for functions that work on grey images);
        else it becomes H×W×3 of three equal channels.

    Returns
    -------
    work : ndarray
        C-contiguous uint8 or uint16, H×W×3 (or H×W for a grey image when
        ``grey``).
    restore : callable
        Maps a processed array of ``work``'s shape and dtype back to the
        input's layout and dtype.

    Raises
    ------
    ArrayError
        Not an array of numbers, another shape, an empty image, another
        dtype, or float values that are NaN, infinite or outside [0, 1].
    """
    given = np.asarray(image)
    arr = native(given)
    if not isinstance(image, np.ndarray) and arr.dtype.kind not in "uif":
        raise ArrayError(f"image must be a NumPy array of numbers, got {type(image).__name__}")
    if not isinstance(image, np.ndarray) and arr.dtype.kind in "iu" and arr.dtype.itemsize > 2:
        # a list of ints comes out int64, a dtype the caller never gave: name what was given
        raise ArrayError(
            f"image must be a NumPy array of uint8, uint16 or float in [0, 1], got a "
            f"{type(image).__name__} of integers; convert it first, e.g. "
            "np.asarray(x, dtype=np.uint8)"
        )
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 3, 4)):
        raise ArrayError(
            "image must be H×W or H×W×1 (grey), H×W×3 (RGB) or H×W×4 (RGBA), "
            f"got shape {arr.shape}"
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ArrayError(f"image must not be empty, got shape {arr.shape}")
    dtype = arr.dtype
    if dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise ArrayError("float image contains NaN or Inf; values must be finite in [0, 1]")
        if arr.min() < 0 or arr.max() > 1:
            raise ArrayError(
                f"float image values must be in [0, 1], got [{arr.min():g}, {arr.max():g}]; "
                "use uint8 or uint16 for other ranges"
            )
        # In float64: float16 * 65535 would overflow to inf (and come back black).
        work = np.rint(arr.astype(np.float64) * 65535.0).astype(np.uint16)
    elif dtype in (np.uint8, np.uint16):
        work = arr
    else:
        raise ArrayError(
            f"image dtype must be uint8, uint16 or float in [0, 1], got {dtype}"
        )
    channels = 1 if arr.ndim == 2 else arr.shape[2]
    if channels == 1:
        plane = work if arr.ndim == 2 else work[:, :, 0]
        out = np.ascontiguousarray(plane) if grey else np.repeat(plane[:, :, None], 3, axis=2)
    elif channels == 3:
        out = np.ascontiguousarray(work)
    else:
        out = np.ascontiguousarray(work[:, :, :3])

    def restore(result: np.ndarray) -> np.ndarray:
        res: np.ndarray = result
        if dtype.kind == "f":
            res = (result / np.float32(65535)).astype(dtype)
        if channels == 1:
            plane = res if res.ndim == 2 else res[:, :, 0]
            res = np.ascontiguousarray(plane if arr.ndim == 2 else plane[:, :, None])
        elif channels == 4:
            res = np.concatenate([res, arr[:, :, 3:]], axis=2)
        return res.astype(given.dtype, copy=False)  # in the caller's byte order too

    return out, restore
