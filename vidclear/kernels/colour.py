"""Luma weights: the one place vidclear writes down how R, G and B add up to grey.

Two standards are in use:

* BT.601 (``KR, KG, KB = 0.299, 0.587, 0.114``): luma of gamma-encoded video
  and images, the matrix of 8-bit YUV 4:2:0 (JPEG's YCbCr, OpenCV's
  ``RGB2YCrCb``/``RGB2YUV_I420`` and swscale's default). The dehazer's grey
  guide and the enhancers' luma use it, so that the YUV path's ``Y`` plane is
  exactly the grey the RGB path computes.
* BT.709 (``0.2126, 0.7152, 0.0722``): luminance of *linear* Rec. 709/sRGB
  primaries (the Y row of the sRGB→XYZ matrix, rounded). The HDR merge and
  tone mapping operators and the flicker metric work on linear light and use it.

Scalars (:data:`KR_601` ...) are plain Python floats so Numba kernels read them
as compile-time constants; :data:`BT601` and :data:`BT709` are the same
weights as read-only float32 vectors for NumPy code.

References
----------
.. [1] ITU-R BT.601-7, "Studio encoding parameters of digital television for
   standard 4:3 and wide-screen 16:9 aspect ratios", 2011.
.. [2] ITU-R BT.709-6, "Parameter values for the HDTV standards for production
   and international programme exchange", 2015.
"""

from __future__ import annotations

import numpy as np

from vidclear.errors import ArrayError, ConfigError

__all__ = [
    "BT601",
    "BT709",
    "KB_601",
    "KB_709",
    "KG_601",
    "KG_709",
    "KR_601",
    "KR_709",
    "luma",
]

KR_601 = 0.299
KG_601 = 0.587
KB_601 = 0.114
KR_709 = 0.2126
KG_709 = 0.7152
KB_709 = 0.0722


def _frozen(*w: float) -> np.ndarray:
    arr = np.array(w, np.float32)
    arr.flags.writeable = False
    return arr


BT601 = _frozen(KR_601, KG_601, KB_601)
"""BT.601 luma weights (R, G, B) as a read-only float32 vector."""
BT709 = _frozen(KR_709, KG_709, KB_709)
"""BT.709 luminance weights (R, G, B) as a read-only float32 vector."""

_STANDARDS = {"bt601": BT601, "bt709": BT709}


def luma(rgb: np.ndarray, *, standard: str = "bt601") -> np.ndarray:
    """Weighted sum of the R, G and B channels.

    Parameters
    ----------
    rgb : ndarray
        H×W×3 (or any ...×3) RGB of any real dtype.
    standard : {"bt601", "bt709"}
        Which weights: BT.601 for gamma-encoded video, BT.709 for linear light.

    Returns
    -------
    ndarray
        float32 of ``rgb``'s shape without the last axis, C-contiguous; same
        units as ``rgb`` (no rounding, no offset).

    Raises
    ------
    ValueError
        If the last axis is not 3 long or ``standard`` is unknown.
    """
    w = _STANDARDS.get(standard)
    if w is None:
        raise ConfigError(f"standard must be 'bt601' or 'bt709', got {standard!r}")
    arr = np.asarray(rgb)
    if arr.ndim < 1 or arr.shape[-1] != 3:
        raise ArrayError(f"rgb must have 3 channels in its last axis, got shape {arr.shape}")
    return np.ascontiguousarray(arr.astype(np.float32, copy=False) @ w, dtype=np.float32)
