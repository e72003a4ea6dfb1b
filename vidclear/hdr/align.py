"""Translation alignment of exposures with median threshold bitmaps (MTB).

Ward's search (threshold and exclusion bitmaps, coarse to fine) proposes a
shift; :func:`shift_agreement` then checks it on the pixels themselves and a
shift is kept only when it makes the two exposures agree better than no shift
does, over channel readings well exposed in both. A mostly clipped exposure,
whose bitmaps carry little but noise and clipping edges, thus never moves a
tripod shot. The stills reference is the middle exposure by time, so the
result does not depend on the order the images come in.
"""

from __future__ import annotations

import math
import numbers
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vidclear.errors import HDRInputError
from vidclear.hdr import _kernels as K
from vidclear.hdr._deprecate import deprecated_alias
from vidclear.hdr._validate import as_index, as_stack
from vidclear.kernels._order import median

__all__ = [
    "AlignWard2003",
    "MTBAligner",
    "MTBPyramid",
    "align_Ward2003",
    "align_mtb",
    "bitmap_disagreement",
    "checked_shift",
    "mtb_gray",
    "mtb_shift",
    "reference_index",
    "shift_agreement",
    "shift_image",
]

#: Channel readings trusted by the shift check: above noise, below clipping.
WELL_LOW, WELL_HIGH = 12, 243
#: A proposed shift must lower the disagreement by this fraction to be kept.
SHIFT_GAIN = 0.05
#: Pixels the shift check samples, about.
CHECK_PIXELS = 65536


def mtb_gray(image: np.ndarray) -> np.ndarray:
    """Ward's gray level ``(54 R + 183 G + 19 B) / 256`` as H×W uint8."""
    img = np.asarray(image)
    if img.ndim == 2:
        return np.ascontiguousarray(img, dtype=np.uint8)
    if img.ndim != 3 or img.shape[2] != 3:
        raise HDRInputError(f"image has shape {img.shape}: expected H×W×3 or H×W")
    g = (img[..., 0].astype(np.uint16) * 54 + img[..., 1].astype(np.uint16) * 183
         + img[..., 2].astype(np.uint16) * 19) >> 8
    return g.astype(np.uint8)


def _median(gray: np.ndarray) -> int:
    return int(K.median_u8_k(gray))


# Ward's 3×3 neighbourhood, no move first so ties keep it
_NEIGHBOURS_Y = np.array([0, -1, -1, -1, 0, 0, 1, 1, 1], dtype=np.int64)
_NEIGHBOURS_X = np.array([0, -1, 0, 1, -1, 1, -1, 0, 1], dtype=np.int64)


class MTBPyramid:
    """Threshold and exclusion bitmaps of one image at ``levels + 1`` scales.

    Parameters
    ----------
    gray : ndarray
        H×W uint8 gray image (see :func:`mtb_gray`).
    levels : int
        Number of halvings; shifts up to ``2 ** (levels + 1) - 1`` pixels are
        found. Reduced so the coarsest level keeps at least 8 pixels a side.
    exclude : int
        Pixels within this many gray levels of the median are left out of
        the comparison (Ward's exclusion bitmap), >= 0.
    """

    __slots__ = ("eb", "levels", "tb")

    def __init__(self, gray: np.ndarray, *, levels: int = 5, exclude: int = 4) -> None:
        if levels < 0:
            raise HDRInputError(f"levels must be >= 0, got {levels}")
        if exclude < 0:
            raise HDRInputError(f"exclude must be >= 0, got {exclude}")
        g = np.ascontiguousarray(gray, dtype=np.uint8)
        self.tb: list[np.ndarray] = []
        self.eb: list[np.ndarray] = []
        while True:
            thr = _median(g)
            tb = np.empty_like(g)
            eb = np.empty_like(g)
            K.mtb_k(g, thr, exclude, tb, eb)
            self.tb.append(tb)
            self.eb.append(eb)
            if len(self.tb) > levels or min(g.shape) < 16:
                break
            half = np.empty((g.shape[0] // 2, g.shape[1] // 2), dtype=np.uint8)
            K.half_k(g, half)
            g = half
        self.levels = len(self.tb) - 1


def mtb_shift(reference: MTBPyramid, moving: MTBPyramid) -> tuple[int, int]:
    """The (dy, dx) that best aligns ``moving`` to ``reference``.

    Ward's search: at each level from coarse to fine, double the shift and try
    the 3×3 neighbourhood, keeping the one with the fewest differing
    non-excluded bits. Shifting ``moving`` by (dy, dx) (see
    :func:`shift_image`) lines it up with ``reference``.
    """
    if reference.tb[0].shape != moving.tb[0].shape:
        raise HDRInputError("MTB pyramids must come from images of the same size")
    levels = min(reference.levels, moving.levels)
    dy = dx = 0
    counts = np.empty(_NEIGHBOURS_Y.size, dtype=np.int64)
    for lv in range(levels, -1, -1):
        dy *= 2
        dx *= 2
        K.xor_counts_k(reference.tb[lv], reference.eb[lv], moving.tb[lv], moving.eb[lv],
                       _NEIGHBOURS_Y + dy, _NEIGHBOURS_X + dx, counts)
        k = int(np.argmin(counts))  # the first of equal counts: no move wins ties
        dy, dx = dy + int(_NEIGHBOURS_Y[k]), dx + int(_NEIGHBOURS_X[k])
    return dy, dx


def shift_agreement(reference: np.ndarray, moving: np.ndarray, dy: int, dx: int, *,
                    log_response: np.ndarray | None = None,
                    pixels: int = CHECK_PIXELS) -> tuple[float, int]:
    """How well ``moving`` shifted by (dy, dx) agrees with ``reference``, in log radiance.

    Over the overlap, every channel reading well exposed in both images
    (values in [12, 243]) gives a log ratio ``log_response[moving] -
    log_response[reference]``; the exposure difference is removed as the
    median of those, and the disagreement is the mean absolute remainder.

    Parameters
    ----------
    reference, moving : ndarray
        H×W×3 uint8 RGB images of the same size (grayscale H×W also works).
    dy, dx : int
        The shift of ``moving`` (pixel (y - dy, x - dx) lands on (y, x)).
    log_response : ndarray, optional
        256×3 (or 256) natural log of the camera response; default sRGB.
    pixels : int
        About this many pixels of the overlap are sampled (a regular grid).

    Returns
    -------
    disagreement : float
        Mean absolute log-radiance residual (natural log); inf when fewer
        than 64 readings are usable.
    count : int
        Channel readings used.
    """
    from vidclear.hdr.response import srgb_response

    ref = np.asarray(reference)
    mov = np.asarray(moving)
    if ref.shape != mov.shape:
        raise HDRInputError(f"images of shape {ref.shape} and {mov.shape}: expected one size")
    if ref.ndim == 2:
        ref, mov = ref[:, :, None], mov[:, :, None]
    lr = np.log(srgb_response().astype(np.float64)) if log_response is None else \
        np.asarray(log_response, dtype=np.float64)
    if lr.ndim == 1:
        lr = np.repeat(lr[:, None], 3, axis=1)
    h, w = ref.shape[:2]
    y0, y1 = max(0, dy), min(h, h + dy)
    x0, x1 = max(0, dx), min(w, w + dx)
    if y1 - y0 < 2 or x1 - x0 < 2:
        return float("inf"), 0
    step = max(1, int(np.sqrt((y1 - y0) * (x1 - x0) / max(pixels, 1))))
    a = ref[y0:y1:step, x0:x1:step]
    b = mov[y0 - dy:y1 - dy:step, x0 - dx:x1 - dx:step]
    if lr.shape != (256, 3):
        raise HDRInputError(f"log_response of shape {lr.shape}: expected 256 or 256×3")
    if a.dtype != np.uint8 or b.dtype != np.uint8 or a.shape[2] > 3:
        raise HDRInputError(f"images of dtype {a.dtype} with {a.shape[2]} channel(s): "
                            "expected uint8 with 1 or 3")
    d = np.empty(a.size, dtype=np.float64)
    # contiguous writable copies (a few thousand pixels): the strided views
    # compiled a second kernel in the middle of a run, one `vidclear compile`
    # had not made
    a, b = np.array(a, order="C"), np.array(b, order="C")
    d = d[:K.log_ratio_readings_k(a, b, lr, WELL_LOW, WELL_HIGH, d)]
    if d.size < 64:
        return float("inf"), int(d.size)
    return float(np.mean(np.abs(d - median(d)))), int(d.size)


def bitmap_disagreement(a: np.ndarray, b: np.ndarray, *, exclude: int = 4) -> float:
    """The share of pixels whose median threshold bitmaps differ: 0 for one scene.

    Ward's bitmaps [1]_ split each image at its own median grey level, so
    they do not depend on the exposure or the camera's response: two
    exposures of one scene, aligned, agree almost everywhere, two scenes
    on about half of their pixels. Pixels within ``exclude`` levels of
    either median are left out.

    Parameters
    ----------
    a, b : ndarray
        H×W×3 uint8 RGB (or H×W grey) images of one size.
    exclude : int
        Ward's exclusion band, gray levels, >= 0.

    Returns
    -------
    float
        In [0, 1]; the real brackets in ``../shared``: at most 0.015 between
        neighbours; made ones with a contrasty camera or a moving band up to
        0.16; photos of other scenes 0.53–0.76. NaN where no pixel is left.

    Raises
    ------
    HDRInputError
        Images of different sizes or layouts.

    References
    ----------
    .. [1] G. Ward, "Fast, robust image registration for compositing high
       dynamic range photographs from hand-held exposures", Journal of
       Graphics Tools 8(2), 2003.
    """
    ga, gb = mtb_gray(a), mtb_gray(b)
    if ga.shape != gb.shape:
        raise HDRInputError(f"images of shape {np.shape(a)} and {np.shape(b)}: expected one size")
    ma, mb = _median(ga), _median(gb)
    ia, ib = ga.astype(np.int16), gb.astype(np.int16)
    keep = (np.abs(ia - ma) > exclude) & (np.abs(ib - mb) > exclude)
    if not keep.any():
        return float("nan")
    return float(np.mean((ia > ma)[keep] != (ib > mb)[keep]))


def checked_shift(reference: np.ndarray, moving: np.ndarray, shift: tuple[int, int], *,
                  log_response: np.ndarray | None = None,
                  pixels: int = CHECK_PIXELS) -> tuple[int, int]:
    """``shift`` if it makes ``moving`` agree better with ``reference`` than (0, 0), else (0, 0).

    "Better" means a disagreement (see :func:`shift_agreement`) lower by at
    least :data:`SHIFT_GAIN` of the unshifted one.
    """
    if shift == (0, 0):
        return shift
    zero, _ = shift_agreement(reference, moving, 0, 0, log_response=log_response,
                              pixels=pixels)
    moved, _ = shift_agreement(reference, moving, *shift, log_response=log_response,
                               pixels=pixels)
    return shift if moved < zero * (1.0 - SHIFT_GAIN) else (0, 0)


def reference_index(stack: np.ndarray, times: Sequence[float] | np.ndarray | None = None) -> int:
    """Index of the middle exposure: by time when given, else by mean brightness.

    With an even count the shorter of the two middle exposures is taken. Ties
    go to the earlier index of the sorted order, which depends only on the
    values, so the choice does not depend on the order of the images.
    """
    k_n = len(stack)
    if times is not None:
        t = np.asarray(times, dtype=np.float64)
        if t.shape != (k_n,):
            raise HDRInputError(f"got {t.size} times for {k_n} images")
        key = t
    else:
        key = np.asarray([float(np.mean(im)) for im in stack])
    # sort by the key, then by the image content, so equal keys still order the same way
    order = sorted(range(k_n), key=lambda k: (key[k], float(np.mean(stack[k])),
                                              zlib.crc32(np.ascontiguousarray(stack[k]).tobytes())))
    return order[(k_n - 1) // 2]


def shift_image(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Translate an image by whole pixels, repeating the edge into the gap.

    Pixel (y, x) of the result is pixel (y - dy, x - dx) of ``image``,
    clamped to the image.

    Raises
    ------
    HDRInputError
        ``dy`` or ``dx`` is not a whole number (1.5 was NumPy's IndexError;
        1.0 and NumPy's integers are taken).
    """
    shift: list[int] = []
    for name, v in (("dy", dy), ("dx", dx)):
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v) \
                or int(v) != v:
            raise HDRInputError(f"{name} must be a whole number of pixels, got {v!r}")
        shift.append(int(v))
    dy, dx = shift
    img = np.asarray(image)
    h, w = img.shape[:2]
    ys = np.clip(np.arange(h) - dy, 0, h - 1)
    xs = np.clip(np.arange(w) - dx, 0, w - 1)
    return np.ascontiguousarray(img[ys][:, xs])


def align_Ward2003(images: Sequence[np.ndarray] | np.ndarray, *, reference: int | None = None,
                   times: Sequence[float] | np.ndarray | None = None, max_bits: int = 6,
                   exclude: int = 4, check: bool = True
                   ) -> tuple[list[np.ndarray], list[tuple[int, int]]]:
    """Align exposures by translation with Ward's median threshold bitmaps.

    Parameters
    ----------
    images : sequence of ndarray
        K >= 1 exposures, H×W×3 uint8 RGB (grayscale is repeated).
    reference : int, optional
        Index of the image the others are aligned to; default the middle
        exposure (see :func:`reference_index`), so the result does not depend
        on the order of ``images``.
    times : sequence of float, optional
        Exposure times; the middle one picks the reference. Without them the
        images are ranked by mean brightness.
    max_bits : int
        Pyramid depth: shifts up to ``2 ** max_bits - 1`` pixels are found
        (OpenCV's ``AlignMTB`` default, 6).
    exclude : int
        Exclusion range around the median, in gray levels.
    check : bool
        Keep a shift only when it improves agreement with the reference on
        channel readings well exposed in both (:func:`checked_shift`), so a
        tripod bracket stays put even when an exposure is mostly clipped.

    Returns
    -------
    aligned : list of ndarray
        The images shifted onto the reference (H×W×3 uint8, edges repeated:
        calibrate a camera response inside :func:`valid_region`).
    shifts : list of (int, int)
        The (dy, dx) applied to each image.

    Notes
    -----
    Cost is about 9 bitmap comparisons per pyramid level per image, dominated
    by the finest level: a few milliseconds per megapixel.

    References
    ----------
    .. [1] G. Ward, "Fast, robust image registration for compositing high
       dynamic range photographs from hand-held exposures", Journal of
       Graphics Tools 8(2), 2003.
    """
    stack = as_stack(images)
    k_n = stack.shape[0]
    ref = reference_index(stack, times) if reference is None else as_index(reference, k_n)
    if max_bits < 1:
        raise HDRInputError(f"max_bits must be >= 1, got {max_bits}")
    pyrs = [MTBPyramid(mtb_gray(stack[k]), levels=max_bits - 1, exclude=exclude)
            for k in range(k_n)]
    shifts = [(0, 0) if k == ref else mtb_shift(pyrs[ref], pyrs[k]) for k in range(k_n)]
    if check:
        shifts = [checked_shift(stack[ref], stack[k], shifts[k]) for k in range(k_n)]
    aligned = [stack[k].copy() if shifts[k] == (0, 0) else shift_image(stack[k], *shifts[k])
               for k in range(k_n)]
    return aligned, shifts


def valid_region(shifts: Sequence[tuple[int, int]], shape: tuple[int, ...]
                 ) -> tuple[slice, slice]:
    """Rows and columns every aligned image holds real pixels in (no repeated edge).

    :func:`shift_image` fills the gap a shift opens with the edge repeated;
    those bands disagree between exposures, and a camera response calibrated
    over them came out broken (blue flat from level 160 up, colour bands
    over a whole hand-held bracket). Calibrate on ``image[rows, cols]``.

    Parameters
    ----------
    shifts : sequence of (int, int)
        The (dy, dx) of each image, as :func:`align_Ward2003` returns them.
    shape : tuple
        The images' shape (H, W, ...).

    Returns
    -------
    (slice, slice)
        Rows and columns; the whole image when nothing moved. Never empty:
        shifts as large as the image leave its centre row and column.
    """
    h, w = shape[0], shape[1]
    top = max([dy for dy, _ in shifts if dy > 0], default=0)
    bottom = max([-dy for dy, _ in shifts if dy < 0], default=0)
    left = max([dx for _, dx in shifts if dx > 0], default=0)
    right = max([-dx for _, dx in shifts if dx < 0], default=0)
    if top + bottom >= h:
        top, bottom = h // 2, h - h // 2 - 1
    if left + right >= w:
        left, right = w // 2, w - w // 2 - 1
    return slice(top, h - bottom), slice(left, w - right)


@dataclass
class AlignWard2003:
    """Settings for :func:`align_Ward2003`; call with a list of images."""

    max_bits: int = 6
    exclude: int = 4
    reference: int | None = None
    check: bool = True

    def __call__(self, images: Sequence[np.ndarray], times: Sequence[float] | None = None
                 ) -> tuple[list[np.ndarray], list[tuple[int, int]]]:
        return align_Ward2003(images, reference=self.reference, times=times,
                              max_bits=self.max_bits, exclude=self.exclude, check=self.check)


align_mtb = deprecated_alias(align_Ward2003, "align_mtb")
MTBAligner = deprecated_alias(AlignWard2003, "MTBAligner")
