"""Dark channel prior: the dark channel itself and the image layouts the dehazer accepts.

The haze model is ``I = J * t + A * (1 - t)``: the observed image ``I`` is the
scene radiance ``J`` attenuated by the transmission ``t`` plus airlight ``A``
scattered towards the camera. In haze-free outdoor images most patches have
some pixel that is dark in some channel, so the dark channel of ``I / A``
estimates the haze ``1 - t``.

References
----------
.. [1] K. He, J. Sun and X. Tang, "Single image haze removal using dark channel
   prior", CVPR 2009 / IEEE TPAMI 33(12), 2011.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from vidclear.core.images import as_image
from vidclear.dehaze import _kernels as _k
from vidclear.dehaze.airlight import LUMA, _work_image
from vidclear.errors import ArrayError, ConfigError
from vidclear.kernels import _filters as _kf

__all__ = ["as_rgb", "dark_channel"]


def dark_channel(
    img: np.ndarray,
    *,
    patch: int = 15,
    airlight: np.ndarray | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Minimum over a square patch of the minimum over the RGB channels.

    Parameters
    ----------
    img : ndarray
        RGB image, H×W×3: uint8, uint16, or float in [0, 1].
    patch : int
        Side of the square window, odd, >= 1.
    airlight : ndarray, optional
        (3,) RGB airlight in (0, 1]; when given the dark channel of ``img / A``
        is returned (the haze estimate of the dehazer).
    out : ndarray, optional
        C-contiguous float32 H×W array to write into.

    Returns
    -------
    ndarray
        float32 H×W, in [0, 1] (or [0, max(img / A)] with ``airlight``).

    Notes
    -----
    O(1) per pixel whatever the patch: a per-pixel channel minimum followed
    by a separable van Herk / Gil-Werman minimum filter.
    """
    work = _work_image(img)
    if isinstance(patch, bool) or not isinstance(patch, int) or patch < 1 or patch % 2 == 0:
        raise ConfigError(f"patch must be an odd integer >= 1, got {patch!r}")
    inv = np.ones(3, np.float32)
    if airlight is not None:
        a = np.asarray(airlight, np.float64).reshape(-1)
        if a.shape != (3,) or not np.isfinite(a).all() or (a <= 0).any():
            raise ArrayError("airlight must be three finite values > 0")
        inv = (1.0 / a).astype(np.float32)
    h, w = work.shape[:2]
    if out is not None and (out.shape != (h, w) or out.dtype != np.float32
                            or not out.flags.c_contiguous):
        raise ArrayError(f"out must be a C-contiguous float32 array of shape {(h, w)}")
    grey = np.empty((h, w), np.float32)
    minc = np.empty((h, w), np.float32)
    _k.grey_minc(np.ascontiguousarray(np.moveaxis(work, -1, 0)), LUMA, inv, grey, minc)
    dst = np.empty((h, w), np.float32) if out is None else out
    _kf.min_filter2d(minc, patch // 2, dst)
    return dst


def as_rgb(image: np.ndarray) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """Bring any accepted layout to contiguous RGB uint8/uint16 and back.

    :func:`vidclear.core.images.as_image` with grey images as three equal
    channels: H×W or H×W×1 grey, H×W×3 RGB, H×W×4 RGBA (alpha passed
    through untouched); uint8, uint16, or float in [0, 1] (processed at
    16-bit precision); any strides.

    Returns
    -------
    rgb : ndarray
        C-contiguous H×W×3 uint8 or uint16.
    restore : callable
        Maps a processed H×W×3 array of ``rgb``'s dtype back to the input's
        layout and dtype.

    Raises
    ------
    ArrayError
        See :func:`~vidclear.core.images.as_image`.
    """
    return as_image(image, grey=False)
