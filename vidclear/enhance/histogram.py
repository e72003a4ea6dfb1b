"""Histogram equalization and CLAHE of the luma channel, keeping hue."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numba
import numpy as np

from vidclear.core.images import as_image
from vidclear.enhance import _kernels as K
from vidclear.enhance._common import check_image, max_value
from vidclear.errors import ArrayError, ConfigError

__all__ = [
    "apply_luma",
    "apply_table",
    "clahe",
    "equalization_lut",
    "equalize_hist",
    "luma",
    "luma_histogram",
]

_NO_LUT = np.zeros(0, np.float32)
_NO_MAP = np.zeros((0, 0), np.float32)
#: Histogram bins and table entries for every dtype: the equalizations work on
#: 8-bit levels, and a 16-bit image's luma is placed between two of them. At
#: 65536 bins CLAHE's clip level fell to one count per bin (nothing left to
#: equalize) and a 16-bit copy of an 8-bit picture came out up to 105 levels
#: from it; a 10-bit clip 10 levels brighter than the same clip in 8 bits
#: (trial 86).
TABLE_LEVELS = 256
_STEP16 = 257.0  # 65535 / 255: one 8-bit level in 16-bit units


def luma(img: np.ndarray) -> np.ndarray:
    """Rounded BT.601 luma ``0.299 R + 0.587 G + 0.114 B`` of an image.

    Parameters
    ----------
    img : ndarray
        RGB H×W×3 or grey H×W, ``uint8`` or ``uint16``.

    Returns
    -------
    ndarray
        H×W of ``img``'s dtype; a grey image is returned as it is.
    """
    img = check_image(img)
    if img.ndim == 2:
        return img
    y = np.empty(img.shape[:2], np.int32)
    K.luma_quantized(img, y)
    return y.astype(img.dtype)


def apply_luma(img: np.ndarray, new_luma: np.ndarray) -> np.ndarray:
    """Replace the luma of an RGB image, keeping each pixel's hue.

    Parameters
    ----------
    img : ndarray
        RGB H×W×3, ``uint8`` or ``uint16``.
    new_luma : ndarray
        H×W float, the wanted BT.601 luma on the same scale as ``img``.

    Returns
    -------
    ndarray
        Same shape and dtype as ``img``.

    Notes
    -----
    Every channel is moved by the same amount, ``RGB + (Y' - Y)``, which is
    the inverse YCbCr transform with the chroma (Cb, Cr) left unchanged. Where
    that leaves the gamut, the chroma is scaled down (towards grey of the new
    luma) just enough to fit, so luma and hue stay exact and only saturation
    gives way.
    """
    img = check_image(img)
    if img.ndim != 3:
        raise ArrayError(f"apply_luma needs an H×W×3 RGB image, got shape {img.shape}")
    ynew = np.ascontiguousarray(new_luma, dtype=np.float32)
    if ynew.shape != img.shape[:2]:
        raise ArrayError(f"new_luma shape {ynew.shape} does not match image {img.shape[:2]}")
    if not np.isfinite(ynew).all():
        raise ArrayError("new_luma contains NaN or Inf")
    out = np.empty_like(img)
    K.apply_luma(img, ynew, _NO_LUT, np.float32(max_value(img.dtype)), out)
    return out


def equalization_lut(hist: np.ndarray) -> np.ndarray:
    """The histogram-equalization lookup table of a histogram.

    Parameters
    ----------
    hist : ndarray
        Counts per level (256 for 8-bit, 65536 for 16-bit), integers ≥ 0,
        not all zero.

    Returns
    -------
    ndarray
        float32 table of the same length, values in [0, len - 1] and
        integer-valued.

    Notes
    -----
    The cumulative histogram is stretched so the lowest occupied level maps
    to 0 and the highest to full scale, rounding half to even in single
    precision: the same table as OpenCV's ``equalizeHist``. A single
    occupied level maps to itself.

    Raises
    ------
    ArrayError
        ``hist`` is not a 1-D array of at least two counts, holds a negative,
        fractional or non-finite count, or is all zero.
    """
    raw = np.asarray(hist)
    # a negative, NaN or fractional count made a table of garbage without a
    # word, a 2-D one NumPy's "truth value ... is ambiguous" (trial 140 F5)
    if raw.ndim != 1 or raw.size < 2:
        raise ArrayError(f"histogram must be a 1-D array of counts per level, got shape "
                         f"{raw.shape}")
    if raw.dtype.kind not in "biuf":
        raise ArrayError(f"histogram counts must be numbers, got dtype {raw.dtype}")
    if raw.dtype.kind == "f" and not (np.isfinite(raw).all() and (raw == np.rint(raw)).all()):
        raise ArrayError("histogram counts must be whole numbers (no NaN, Inf or fractions)")
    if (raw < 0).any():
        raise ArrayError(f"histogram counts must be >= 0, got {raw.min()} at level "
                         f"{int(np.argmin(raw))}")
    if float(raw.sum(dtype=np.float64)) >= 2.0 ** 53:  # no image has so many pixels (trial 142 F8)
        raise ArrayError("histogram counts sum past 2**53: no image has that many pixels")
    hist = raw.astype(np.int64)
    n = hist.size
    nz = np.flatnonzero(hist)
    if nz.size == 0:
        raise ArrayError("histogram is empty")
    first = int(nz[0])
    total = int(hist.sum())
    if hist[first] == total:
        return np.full(n, first, np.float32)
    scale = np.float32(n - 1) / np.float32(total - hist[first])
    cum = np.cumsum(hist) - hist[first]
    lut = np.rint(cum.astype(np.float32) * scale).clip(0, n - 1).astype(np.float32)
    lut[:first] = 0.0
    return lut


def _levels(img: np.ndarray) -> int:
    return max_value(img.dtype) + 1


def equalize_hist(img: np.ndarray, *, strength: float = 1.0) -> np.ndarray:
    """Global histogram equalization of the luma, keeping hue.

    Parameters
    ----------
    img : ndarray
        RGB H×W×3 or grey H×W (or H×W×1; RGBA H×W×4 keeps its alpha),
        ``uint8``, ``uint16`` or float in [0, 1] (processed at 16 bits); any
        memory layout.
    strength : float
        Blend between the input luma (0) and the equalized luma (1).

    Returns
    -------
    ndarray
        Same shape and dtype as ``img``. A grey ``uint8`` image with
        ``strength=1`` equals ``cv2.equalizeHist`` of it.

    Notes
    -----
    The BT.601 luma is equalized with a table from its histogram over 256
    levels (:func:`equalization_lut`; a 16-bit luma is binned to the nearest
    8-bit level and mapped between the table's entries, so a 16-bit copy of
    an 8-bit picture comes out as that picture does) and put back with
    :func:`apply_luma`, so colours keep their YCbCr hue. Two passes over the
    image, a few milliseconds for 1280×720.
    """
    img, restore = as_image(img, grey=True)
    lut = equalization_lut(luma_histogram(img, levels=TABLE_LEVELS))
    return restore(apply_table(img, lut, strength=strength))


def luma_histogram(img: np.ndarray, *, levels: int | None = None) -> np.ndarray:
    """Histogram of the rounded BT.601 luma (the grey values of a grey image).

    Parameters
    ----------
    img : ndarray
        RGB H×W×3 or grey H×W, ``uint8`` or ``uint16``.
    levels : int, optional
        256 bins a ``uint16`` luma into 8-bit levels (the nearest); None
        (default) counts the image's own levels.

    Returns
    -------
    ndarray
        int64 counts: 256 bins for ``uint8``, 65536 for ``uint16`` (or
        ``levels``).
    """
    img = check_image(img)
    chunks = 4 * numba.get_num_threads()
    if levels is not None and levels != _levels(img):
        if levels != TABLE_LEVELS or img.dtype != np.uint16:
            raise ArrayError(f"levels must be {TABLE_LEVELS} (for uint16 images) or None, "
                             f"got {levels!r}")
        return K.histogram(_to_table_levels(_luma_index(img)), TABLE_LEVELS, chunks)
    if img.ndim == 2:
        return K.histogram(img, _levels(img), chunks)
    return K.luma_histogram(img, _levels(img), chunks)


def _to_table_levels(y: np.ndarray) -> np.ndarray:
    """16-bit luma levels (int) to the nearest of the 256 table levels, int32."""
    return ((2 * y.astype(np.int32) + 257) // 514).astype(np.int32)


def apply_table(img: np.ndarray, lut: np.ndarray, *, strength: float = 1.0) -> np.ndarray:
    """Map the luma of an image through a table, keeping hue.

    Parameters
    ----------
    img : ndarray
        RGB H×W×3 or grey H×W, ``uint8`` or ``uint16``.
    lut : ndarray
        New luma for each rounded input luma: 256 (``uint8``) or 65536
        (``uint16``) finite values on the image's scale; or 256 values on
        the 8-bit scale for a ``uint16`` image, whose luma is then mapped
        between the two entries around it (``Y / 257``).
    strength : float
        Blend between the input luma (0) and the table's (1).

    Returns
    -------
    ndarray
        Same shape and dtype as ``img``; see :func:`apply_luma` for colour.
    """
    img = check_image(img)
    nbins = _levels(img)
    lut = np.asarray(lut, dtype=np.float32)
    if img.dtype == np.uint16 and lut.shape == (TABLE_LEVELS,) and np.isfinite(lut).all():
        if not (isinstance(strength, numbers.Real) and 0.0 <= strength <= 1.0):
            raise ConfigError(f"strength must be a number in [0, 1], got {strength!r}")
        y = _exact_luma(img)
        return _finish(img, y, _between_levels(lut, y), strength)
    if lut.shape != (nbins,) or not np.isfinite(lut).all():
        raise ArrayError(f"lut must hold {nbins} finite values for {img.dtype} images, "
                         f"got shape {lut.shape}")
    if not (isinstance(strength, numbers.Real) and 0.0 <= strength <= 1.0):
        raise ConfigError(f"strength must be a number in [0, 1], got {strength!r}")
    if strength == 0.0:
        return img.copy()
    if strength != 1.0:
        lut = (strength * lut + (1.0 - strength) * np.arange(nbins)).astype(np.float32)
    if img.ndim == 2:
        return np.rint(lut).clip(0, nbins - 1).astype(img.dtype)[img]
    out = np.empty_like(img)
    K.apply_luma(img, _NO_MAP, np.ascontiguousarray(lut), np.float32(nbins - 1), out)
    return out


def _exact_luma(img: np.ndarray) -> np.ndarray:
    """The unrounded BT.601 luma of an image (its values, if grey), float32 H×W."""
    if img.ndim == 2:
        return img.astype(np.float32)
    w = np.array([K.KR, K.KG, K.KB], np.float32)
    return img.astype(np.float32) @ w


def _between_levels(lut: np.ndarray, y16: np.ndarray) -> np.ndarray:
    """A 256-entry table on the 8-bit scale applied to 16-bit luma, linearly between entries."""
    pos = y16 / np.float32(_STEP16)
    return (np.interp(pos, np.arange(TABLE_LEVELS, dtype=np.float32), lut)
            * _STEP16).astype(np.float32)


def _luma_index(img: np.ndarray) -> np.ndarray:
    if img.ndim == 2:
        return img
    y = np.empty(img.shape[:2], np.int32)
    K.luma_quantized(img, y)
    return y


def _finish(img: np.ndarray, y: np.ndarray, ynew: np.ndarray, strength: float) -> np.ndarray:
    """Blend the new luma with the old one and put it into ``img``."""
    if strength != 1.0:
        ynew = strength * ynew + (1.0 - strength) * y
    if img.ndim == 2:
        return np.rint(ynew).clip(0, max_value(img.dtype)).astype(img.dtype)
    return apply_luma(img, ynew)


def clahe_grid(shape: tuple[int, int], tile_grid: Sequence[int]) -> tuple[int, int, int, int]:
    """Tiles (rows, cols) and tile size (h, w) CLAHE uses for an image.

    The grid is reduced to at most one tile per pixel. As in OpenCV, an image
    whose size is not a multiple of the grid is treated as extended (by
    reflection) at the bottom and right to the next tile boundary.
    """
    h, w = shape
    ty, tx = min(int(tile_grid[0]), h), min(int(tile_grid[1]), w)
    if h % ty == 0 and w % tx == 0:
        return ty, tx, h // ty, w // tx
    return ty, tx, (h + ty - h % ty) // ty, (w + tx - w % tx) // tx


def _check_clahe(clip_limit: float, tile_grid: Sequence[int]) -> None:
    if not (isinstance(clip_limit, numbers.Real) and math.isfinite(clip_limit)
            and clip_limit >= 0):
        raise ConfigError(f"clip_limit must be a finite number >= 0 (0 = no clipping), "
                         f"got {clip_limit!r}")
    # (an int, 8, failed on len() with Python's TypeError: trial 117 F2)
    ok = (hasattr(tile_grid, "__len__") and not isinstance(tile_grid, str)
          and len(tile_grid) == 2
          and all(isinstance(t, int | np.integer) and not isinstance(t, bool) and 1 <= t <= 256
                  for t in tile_grid))
    if not ok:
        raise ConfigError(f"tile_grid must be two integers (rows, cols) in [1, 256], "
                         f"got {tile_grid!r}")


def clahe(
    img: np.ndarray,
    *,
    clip_limit: float = 2.0,
    tile_grid: Sequence[int] = (8, 8),
    strength: float = 1.0,
) -> np.ndarray:
    """Contrast-limited adaptive histogram equalization of the luma.

    Parameters
    ----------
    img : ndarray
        RGB H×W×3 or grey H×W (or H×W×1; RGBA H×W×4 keeps its alpha),
        ``uint8``, ``uint16`` or float in [0, 1] (processed at 16 bits); any
        memory layout.
    clip_limit : float
        Histogram bins are clipped at ``clip_limit`` times the mean bin count
        of a tile and the excess spread over all bins, which limits how much
        contrast (and noise) a tile can gain; 0 disables clipping (plain
        adaptive equalization). OpenCV's ``clipLimit``.
    tile_grid : (int, int)
        Number of tile rows and columns (note: OpenCV's ``tileGridSize`` is
        given as columns, rows; the default 8×8 is the same).
    strength : float
        Blend between the input luma (0) and the equalized luma (1).

    Returns
    -------
    ndarray
        Same shape and dtype as ``img``.

    Notes
    -----
    Each tile gets its own clipped equalization table and every pixel blends
    the tables of the four nearest tile centres bilinearly (Zuiderveld
    1994). The arithmetic (clip level, redistribution of the excess, table
    rounding, tiling of sizes that are not multiples of the grid) follows
    OpenCV's ``CLAHE``, so a grey ``uint8`` result matches
    ``cv2.createCLAHE(clip_limit, (cols, rows)).apply`` on an image of at
    least ``rows`` × ``cols`` pixels (a smaller one is tiled one pixel a
    tile, :func:`clahe_grid`; OpenCV's tiles would be empty). ``uint16`` (and
    float) images are equalized over the same 256 levels, each luma mapped
    between the tables' two levels around it, so a 16-bit copy of a picture
    comes out as the picture does (OpenCV's 16-bit CLAHE counts 65536 bins,
    its clip level falls to one count a bin and hardly anything is
    equalized). Colour images have
    only their BT.601 luma equalized; the new luma goes back in with
    :func:`apply_luma`, unrounded, keeping hue. An image whose luma has a
    single level is returned unchanged (OpenCV's CLAHE would lift black to 8;
    its ``equalizeHist`` keeps such images, and so does this), so a constant
    frame stays constant and black stays black.

    References
    ----------
    .. [1] K. Zuiderveld, "Contrast Limited Adaptive Histogram
       Equalization", Graphics Gems IV, 474-485, 1994.
    """
    img, restore = as_image(img, grey=True)
    _check_clahe(clip_limit, tile_grid)
    if not (isinstance(strength, numbers.Real) and 0.0 <= strength <= 1.0):
        raise ConfigError(f"strength must be a number in [0, 1], got {strength!r}")
    if strength == 0.0:
        return restore(img.copy())
    y = _luma_index(img)
    if y.size and y.min() == y.max():  # one level: nothing to equalize (as cv2.equalizeHist)
        return restore(img.copy())
    if img.dtype == np.uint8:
        ynew = _clahe_luma(y, _levels(img), clip_limit, tile_grid)
        return restore(_finish(img, y, ynew, strength))
    # 16 bits: tables over the 8-bit levels (see TABLE_LEVELS), each pixel
    # mapped between the two levels around its luma
    yf = _exact_luma(img) / np.float32(_STEP16)
    lo = np.minimum(np.floor(yf), TABLE_LEVELS - 2).astype(np.int32)
    frac = yf - lo
    ty, tx, th, tw = clahe_grid(y.shape, tile_grid)
    luts = K.clahe_luts(_to_table_levels(y), ty, tx, th, tw, TABLE_LEVELS,
                        _clip_count(clip_limit, th * tw, TABLE_LEVELS))
    below = np.empty(y.shape, np.float32)
    above = np.empty(y.shape, np.float32)
    K.clahe_interpolate(lo, luts, th, tw, below)
    K.clahe_interpolate(lo + 1, luts, th, tw, above)
    ynew = (below + frac * (above - below)) * np.float32(_STEP16)
    return restore(_finish(img, _exact_luma(img), ynew, strength))


def _clip_count(clip_limit: float, area: int, nbins: int) -> int:
    """OpenCV's clip level: ``clip_limit`` times a tile's mean count per bin, at least 1."""
    return max(int(clip_limit * area / nbins), 1) if clip_limit > 0 else 0


def _clahe_luma(y: np.ndarray, nbins: int, clip_limit: float,
                tile_grid: Sequence[int]) -> np.ndarray:
    ty, tx, th, tw = clahe_grid(y.shape, tile_grid)
    luts = K.clahe_luts(y, ty, tx, th, tw, nbins, _clip_count(clip_limit, th * tw, nbins))
    out = np.empty(y.shape, np.float32)
    K.clahe_interpolate(y, luts, th, tw, out)
    return out
