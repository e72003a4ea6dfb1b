"""Find an alternating-exposure pattern from the pixels of a video.

A camera that alternates exposures frame by frame rarely says so in the file.
The pattern is found here from the frames themselves:

- :func:`log_exposure_ratio` measures the exposure ratio of two frames as the
  median, over every pixel *and every channel* that is well exposed in both
  frames, of the difference of their linearised log values. Counting channels
  one by one (not a gray image) keeps strongly coloured scenes usable: a
  saturated red pixel still has a green and a blue reading, and a channel
  clipped at 0 or 255 in either frame is left out instead of biasing the ratio.
- :func:`detect_bracket` takes a run of frames and returns the shortest period
  (2 to 4 frames) at which frames repeat their exposure (the ratio between
  frames one period apart is 1) while neighbours differ, and the relative
  exposure of each phase by weighted least squares over every pair of frames
  less than a period apart (so a step between a dark and a mostly clipped
  frame, measured on few pixels, counts less).
- :class:`BracketDetector` feeds frames to it until it locks.

References
----------
.. [1] S. B. Kang, M. Uyttendaele, S. Winder and R. Szeliski, "High dynamic
   range video", SIGGRAPH 2003 (alternating exposures, one output per frame).
.. [2] P. E. Debevec and J. Malik, "Recovering high dynamic range radiance
   maps from photographs", SIGGRAPH 1997 (ratios of linearised pixel values).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from vidclear.errors import HDRInputError
from vidclear.hdr import _kernels as K
from vidclear.kernels._order import median

__all__ = ["BracketDetector", "BracketPattern", "detect_bracket", "log_exposure_ratio",
           "small_rgb"]

#: Readings used for ratios: above the noise floor, below the knee of clipping.
LOW, HIGH = 12, 243
#: Fewest channel readings a ratio is measured from.
MIN_READINGS = 64
#: Frames one period apart must agree to within this many stops.
SAME_TOL = 0.2
#: At least one step of a bracket differs by this many stops.
MIN_STEP = 0.4
#: Pixels a detection image keeps, about.
DETECT_PIXELS = 16384
#: Periods (frames in one cycle of exposures) that detection tries, shortest
#: first. Five are what ``vidclear synth bracket --ev -2 -1 0 1 2`` makes
#: (they were "no alternating exposures", trial 85); longer patterns can be typed.
PERIODS = (2, 3, 4, 5)


def small_rgb(image: np.ndarray, pixels: int = DETECT_PIXELS) -> np.ndarray:
    """An H×W×3 uint8 frame reduced by area averaging to about ``pixels`` pixels."""
    h, w = image.shape[:2]
    f = math.sqrt(pixels / max(h * w, 1))
    if f >= 1.0:
        return np.ascontiguousarray(image)
    size = (max(1, round(w * f)), max(1, round(h * f)))
    k = int(0.5 / f)
    if k >= 2:
        # whole k × k blocks first (OpenCV's fast path for a whole factor),
        # then the rest: 2.5 ms against 5.4 for one fractional area resize
        # of a 1080p frame, which every frame a plain video is watched costs
        image = image[:h - h % k, :w - w % k]
        image = cv2.resize(image, ((w - w % k) // k, (h - h % k) // k),
                           interpolation=cv2.INTER_AREA)
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def log_exposure_ratio(a: np.ndarray, b: np.ndarray, log_response: np.ndarray, *,
                       low: int = LOW, high: int = HIGH,
                       min_readings: int = MIN_READINGS) -> tuple[float, int]:
    """Natural log of the exposure of ``b`` over that of ``a``, and its reading count.

    Parameters
    ----------
    a, b : ndarray
        Two H×W×3 uint8 frames of one scene (same shape).
    log_response : ndarray
        256×3 float: natural log of the linear exposure each 8-bit value of
        each channel records (the log of a camera response table).
    low, high : int
        Readings outside ``[low, high]`` in either frame are left out, per
        channel.
    min_readings : int
        Fewer usable channel readings than this give NaN.

    Returns
    -------
    ratio : float
        Median over usable channel readings of ``log_response[b] -
        log_response[a]``; NaN when too few readings are usable.
    count : int
        The number of channel readings used.
    """
    if a.shape != b.shape or a.ndim != 3 or a.shape[2] != 3:
        raise HDRInputError(f"frames of shape {a.shape} and {b.shape}: expected two H×W×3")
    lr = _log_table(log_response, 3)
    d = np.empty(a.size, dtype=np.float64)
    n = int(K.log_ratio_readings_k(_u8(a), _u8(b), lr, int(low), int(high), d))
    if n < min_readings:
        return math.nan, n
    return float(median(d[:n])), n


def _u8(img: np.ndarray) -> np.ndarray:
    """uint8 as it is; uint16 (a 10-bit or 16-bit video, full scale 65535) reduced to 8 bits."""
    if img.dtype == np.uint16:
        return (img >> 8).astype(np.uint8)  # as RollingBracket.push reduces it
    if img.dtype != np.uint8:
        raise HDRInputError(f"frames of dtype {img.dtype}: expected uint8 or uint16")
    return img


def _log_table(log_response: np.ndarray, channels: int) -> np.ndarray:
    """A 256×C float64 log response, checked (the kernel reads it unchecked)."""
    lr = np.asarray(log_response, dtype=np.float64)
    if lr.ndim != 2 or lr.shape[0] != 256 or lr.shape[1] < channels:
        raise HDRInputError(f"log response of shape {lr.shape}: expected 256×{channels}")
    return lr


@dataclass(frozen=True)
class BracketPattern:
    """A detected exposure pattern.

    Attributes
    ----------
    exposures : tuple of float
        Relative exposures in capture order, the shortest first and equal to 1.
    phase : int
        Index into ``exposures`` of the newest frame the detection saw.
    residual : float
        RMS misfit of the measured ratios, in stops.
    """

    exposures: tuple[float, ...]
    phase: int
    residual: float

    @property
    def period(self) -> int:
        return len(self.exposures)

    @property
    def stops(self) -> tuple[float, ...]:
        """The exposures in stops above the shortest."""
        return tuple(math.log2(e) for e in self.exposures)

    def describe(self) -> str:
        """One line: period, relative exposures and their spacing in stops."""
        rel = ", ".join(f"{e:.3g}" for e in self.exposures)
        ev = ", ".join(f"{s:+.2f}" for s in self.stops)
        return (f"{self.period} exposures repeating [{rel}] (EV {ev}; fit residual "
                f"{self.residual:.2f} stops)")


def detect_bracket(frames: list[np.ndarray], log_response: np.ndarray, *,
                   periods: tuple[int, ...] = PERIODS,
                   ratio_of: Callable[[int, int], tuple[float, int]] | None = None
                   ) -> BracketPattern | None:
    """The exposure pattern of a run of consecutive frames, or None.

    Parameters
    ----------
    frames : list of ndarray
        Consecutive H×W×3 uint8 frames (small ones do: see :func:`small_rgb`),
        oldest first; at least two periods plus one frame are needed.
    log_response : ndarray
        256×3 natural log of the camera response (see
        :func:`log_exposure_ratio`).
    periods : tuple of int
        Candidate periods, tried shortest first.
    ratio_of : callable, optional
        ``ratio_of(i, j)`` gives :func:`log_exposure_ratio` of ``frames[i]``
        and ``frames[j]`` (for a caller that keeps them across calls);
        by default it is measured.

    Returns
    -------
    BracketPattern or None
        None when no candidate period repeats while its neighbours differ
        (a plain video, a dropped frame inside the run, too few frames).

    Notes
    -----
    The shortest period ``P`` whose frames ``P`` apart all agree within
    :data:`SAME_TOL` stops is taken (a period-2 pattern also repeats at 4).
    The log exposure ``e_k`` of each phase then solves, by least squares
    weighted by the square root of each pair's reading count, ``e_q - e_p =
    ratio(i, j)`` over every pair of frames ``i < j < i + P``.
    """
    n = len(frames)
    ratios: dict[tuple[int, int], tuple[float, int]] = {}

    def ratio(i: int, j: int) -> tuple[float, int]:
        if (i, j) not in ratios:
            ratios[i, j] = (ratio_of(i, j) if ratio_of is not None
                            else log_exposure_ratio(frames[i], frames[j], log_response))
        return ratios[i, j]

    ln2 = math.log(2.0)
    for p in periods:
        if n < 2 * p + 1:
            continue
        same = [ratio(i, i + p)[0] for i in range(n - p)]
        if not all(math.isfinite(r) and abs(r) < SAME_TOL * ln2 for r in same):
            continue
        steps = [ratio(i, i + 1)[0] for i in range(n - 1)]
        if not any(math.isfinite(s) and abs(s) > MIN_STEP * ln2 for s in steps):
            return None  # frames repeat but nothing alternates: not a bracket
        rows, rhs, wts = [], [], []
        for i in range(n):
            for j in range(i + 1, min(n, i + p)):
                r, cnt = ratio(i, j)
                if not math.isfinite(r):
                    continue
                row = np.zeros(p)
                row[j % p] += 1.0
                row[i % p] -= 1.0
                rows.append(row)
                rhs.append(r)
                wts.append(math.sqrt(cnt))
        anchor = np.zeros(p)
        anchor[0] = 1.0
        a = np.vstack([*rows, anchor]) * np.asarray([*wts, max(wts, default=1.0)])[:, None]
        b = np.asarray([*rhs, 0.0]) * np.asarray([*wts, max(wts, default=1.0)])
        if len(rows) < p - 1:
            continue
        e, *_ = np.linalg.lstsq(a, b, rcond=None)
        fit = np.asarray(rows) @ e - np.asarray(rhs)
        resid = float(np.sqrt(np.average(fit ** 2, weights=wts))) / ln2
        first = int(np.argmin(e))  # the pattern starts at the shortest exposure
        order = [(first + k) % p for k in range(p)]
        ex = tuple(float(math.exp(e[k] - e[first])) for k in order)
        phase = ((n - 1) % p - first) % p
        return BracketPattern(ex, phase, resid)
    return None


class BracketDetector:
    """Collect small frames until :func:`detect_bracket` finds the pattern.

    Parameters
    ----------
    log_response : ndarray
        256×3 natural log of the camera response.
    history : int
        Frames kept (the newest ``history``); at least 11 so a period of 5
        can be confirmed (two periods and a frame).
    """

    def __init__(self, log_response: np.ndarray, *, history: int = 12) -> None:
        if history < 2 * PERIODS[-1] + 1:
            raise HDRInputError(f"history must be >= {2 * PERIODS[-1] + 1} frames, "
                                f"got {history}")
        self.log_response = np.asarray(log_response, dtype=np.float64)
        self.frames: deque[np.ndarray] = deque(maxlen=history)
        self.pattern: BracketPattern | None = None
        self.seen = 0
        # ratios of the frames held, by their serial numbers: each new frame
        # needs only its own pairs (all were measured again on every frame,
        # 54 a frame, 17 ms at 1080p while a plain video is watched)
        self._serials: deque[int] = deque(maxlen=history)
        self._ratios: dict[tuple[int, int], tuple[float, int]] = {}

    def feed(self, image: np.ndarray) -> BracketPattern | None:
        """Add the next frame (H×W×3 uint8); return the pattern once found."""
        self.seen += 1
        small = small_rgb(image)
        if self.frames and self.frames[-1].shape != small.shape:
            self.frames.clear()
            self._serials.clear()
        self.frames.append(small)
        self._serials.append(self.seen)
        oldest = self._serials[0]
        self._ratios = {k: v for k, v in self._ratios.items() if k[0] >= oldest}
        frames, serials = list(self.frames), list(self._serials)
        # the newest run long enough for each period; a drop further back is forgotten
        for p in PERIODS:
            start = max(0, len(frames) - (2 * p + 2))

            def ratio_of(i: int, j: int, s: int = start) -> tuple[float, int]:
                return self._ratio(frames, serials, s + i, s + j)

            pat = detect_bracket(frames[start:], self.log_response, periods=(p,),
                                 ratio_of=ratio_of)
            if pat is not None:
                self.pattern = pat
                return pat
        return None

    def _ratio(self, frames: list[np.ndarray], serials: list[int], i: int, j: int
               ) -> tuple[float, int]:
        key = (serials[i], serials[j])
        if key not in self._ratios:
            self._ratios[key] = log_exposure_ratio(frames[i], frames[j], self.log_response)
        return self._ratios[key]

    def reset(self) -> None:
        self.frames.clear()
        self._serials.clear()
        self._ratios.clear()
        self.pattern = None
        self.seen = 0

    def __repr__(self) -> str:
        found = self.pattern.describe() if self.pattern else "none yet"
        return f"BracketDetector(frames={self.seen}, pattern={found})"
