"""Rolling-bracket HDR video: one tone-mapped output per input frame.

Cameras that alternate exposures frame by frame (Magic Lantern's HDR video,
Kang et al. 2003) are merged here from the latest N frames, so the output
keeps the input frame rate. :class:`RollingBracket` is the engine on plain
arrays; :class:`vidclear.processors.hdr.HDRBracket` wraps it for pipelines.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Sequence

import cv2
import numba
import numpy as np

from vidclear.errors import HDRInputError
from vidclear.hdr import _video_kernels as VK
from vidclear.hdr._validate import MAX_EXPOSURE_STOPS, as_times
from vidclear.hdr.align import MTBPyramid, checked_shift, mtb_shift
from vidclear.hdr.bracket import log_exposure_ratio
from vidclear.hdr.deghost import DEGHOST_TOL, deghost_table, reading_intervals
from vidclear.hdr.motion import WindowFlow
from vidclear.hdr.response import as_response, camera_response_Debevec1997, srgb_response
from vidclear.kernels.exposure import exposure_weights
from vidclear.kernels.filters import guided_coefficients
from vidclear.kernels.threads import ThreadChoice

__all__ = ["FIT_MISFIT", "PhaseTracker", "RollingBracket", "TemporalSmoother", "ThreadChoice",
           "display_table"]

_HIST_BINS = 256  # quarter stops from 2**-32 to 2**32
_TRACK_PIXELS = 16384  # phase tracking looks at about this many pixels
#: A frame that misses its pattern step by more than this (natural log of
#: exposure, about half a stop) fits it only loosely: its exposure is no
#: ground for the next one's, and over two periods the pattern is measured
#: again (vidclear.processors.hdr).
FIT_MISFIT = 0.35
# A frame whose exposure measured against the frame before (one that fitted)
# misses the one its phase gives by more than this (natural log, 1.6 stops)
# takes the measured one. The real alternating-exposure clips in ../shared
# miss by at most 0.28; clips made by scaling code values (as new users make
# them) by up to 0.7 on steady frames and 1.27 where their bracket changed;
# half a stop here moved such a clip's picture by 9 levels.
_OFF_PATTERN = 1.1
# Grey-histogram change (L1 of normalised 32-bin histograms, 0 to 2) between
# frames of one exposure a period apart taken as a scene cut
_CUT_HIST = 0.8
_BASE_SUB = 4  # the local operator's base layer is filtered at 1/4 resolution
_BASE_EPS = 0.1 * math.log2(10.0) ** 2  # guided-filter eps: 0.1 in log10 units, in log2
#: Readings at or above this code value are taken as clipped: weight 0, and a
#: lower bound only in de-ghosting. H.264 rings by up to ten codes around
#: clipped areas, so a reading of 245 in a long exposure may be a clipped one.
#: Merged as a reading with the clip at 250 (the still merges'), it alone set
#: pixels of a saturated bar 16 times too dark: dark speckles in 0.5 % of the
#: still pixels of media case bracket-ev024-saturated.mp4 (trial 100 F3;
#: tests/hdr/test_bracket.py). The ten real clips in ../shared moved by 0.4
#: levels at most on average.
CLIP = 240
# Code values of noise a red or blue reading may carry, for the de-ghosting
# intervals: they come from 4:2:0 chroma and ring more than green (at green's
# 2 the dark blue of a night sky read as motion and came out in purple blotches)
_CHROMA_NOISE = 6
_CHROMA_RINGING = 16  # codes under CLIP where a red or blue reading may be a clipped one


def display_table(gamma: float, size: int = 1 << 16) -> np.ndarray:
    """uint8 encoding of linear display values 0..1 sampled at ``size`` points."""
    v = np.linspace(0.0, 1.0, size, dtype=np.float64)
    return np.clip(np.power(v, 1.0 / gamma) * 255.0 + 0.5, 0, 255).astype(np.uint8)


#: Windows' frames a frame kept beyond the window may stand in for a missing
#: exposure (see RollingBracket._slots): a long frame dropped or a short one
#: shown four times needs it two windows on.
STAND_IN_AGE = 3


def _histogram_change(a: np.ndarray, b: np.ndarray) -> float:
    """L1 distance (0 to 2) of the normalised 32-bin grey histograms of two RGB uint8 images.

    On about :data:`_TRACK_PIXELS` of their pixels (every pixel of a
    1080p frame's half-size image took 1.5 ms a frame).
    """
    step = max(1, int(math.sqrt(a.shape[0] * a.shape[1] / _TRACK_PIXELS)))

    def hist(img: np.ndarray) -> np.ndarray:
        grey = cv2.cvtColor(np.ascontiguousarray(img[::step, ::step]), cv2.COLOR_RGB2GRAY)
        h = np.bincount(np.right_shift(grey, 3).ravel(), minlength=32)
        return h / h.sum()

    return float(np.abs(hist(a) - hist(b)).sum())


class TemporalSmoother:
    """IIR smoothing of a log-domain statistic with scene-change detection.

    In the spirit of libplacebo's peak-detection smoothing: the value follows
    new measurements with time constant ``tau`` seconds; a jump larger than
    ``low`` stops blends in faster, one larger than ``high`` stops is taken at
    once (a scene cut).

    Parameters
    ----------
    tau : float
        Time constant in seconds, >= 0 (0 follows every frame).
    low, high : float
        Scene-change thresholds in stops, 0 < low < high.
    """

    def __init__(self, *, tau: float = 0.5, low: float = 1.0, high: float = 3.0) -> None:
        if tau < 0 or not 0 < low < high:
            raise HDRInputError("need tau >= 0 and 0 < low < high")
        self.tau, self.low, self.high = tau, low, high
        self.value: float | None = None

    def update(self, value: float, dt: float) -> float:
        """Feed a new measurement (log2 units) ``dt`` seconds after the last."""
        if not math.isfinite(value):
            return self.value if self.value is not None else 0.0
        if self.value is None:
            self.value = value
            return value
        d = abs(value - self.value)
        if d >= self.high:
            self.value = value
            return value
        alpha = 1.0 if self.tau == 0 else 1.0 - math.exp(-max(dt, 0.0) / self.tau)
        if d > self.low:
            alpha += (1.0 - alpha) * (d - self.low) / (self.high - self.low)
        self.value += alpha * (value - self.value)
        return self.value

    def reset(self) -> None:
        self.value = None

    def __repr__(self) -> str:
        return (f"TemporalSmoother(tau={self.tau}, low={self.low}, high={self.high}, "
                f"value={self.value})")


class PhaseTracker:
    """Which element of the exposure pattern each frame has, from its brightness.

    The log exposure ratio of consecutive frames (median over channel
    readings well exposed in both, after linearising with the response: see
    :func:`~vidclear.hdr.bracket.log_exposure_ratio`, which strongly
    coloured scenes do not bias) is matched to
    the pattern's ratios. Once locked, each frame takes the pattern step that
    best explains its ratio to the previous frame, so a dropped frame
    re-locks at once; while unlocked the last N ratios are fitted to every
    cyclic shift of the pattern.

    Parameters
    ----------
    exposures : sequence of float
        Relative exposures of the pattern, in capture order.
    """

    def __init__(self, exposures: Sequence[float] | np.ndarray) -> None:
        self.le = np.log(np.asarray(exposures, dtype=np.float64))
        n = self.le.size
        diffs = np.abs(self.le[:, None] - self.le[None, :])
        gaps = np.unique(np.round(diffs[diffs > 1e-6], 6))
        self.tol = max(0.15, 0.4 * float(gaps.min())) if gaps.size else 0.15
        self.n = n
        self.reset()

    def reset(self) -> None:
        self.phase: int | None = None
        self.prev_small: np.ndarray | None = None
        self.chain: list[float] = []  # cumulative log brightness of recent frames
        self.drops = 0
        #: whether the last frame's phase was not the one after the frame
        #: before's (a frame dropped or repeated, or another bracket)
        self.skipped = False
        #: how far the last frame's ratio to the one before missed the pattern
        #: step it was given (natural log of exposure; inf while no phase fits)
        self.misfit = 0.0
        #: the last frame's log exposure ratio to the one before, None where
        #: it could not be measured (the first frame, nothing well exposed)
        self.measured: float | None = None

    def _ratio(self, small: np.ndarray, log_response: np.ndarray) -> float:
        prev = self.prev_small
        self.measured = None
        if prev is None or prev.shape != small.shape:
            return 0.0
        r, _ = log_exposure_ratio(prev, small, log_response)
        if not math.isfinite(r):
            return 0.0
        self.measured = r
        return r

    def update(self, small: np.ndarray, log_response: np.ndarray) -> int | None:
        """Phase of a new frame from its small H×W×3 uint8 image and the 256×3 log response."""
        lr = self._ratio(small, log_response)
        first = self.prev_small is None
        self.prev_small = small
        self.chain = ([*self.chain, self.chain[-1] + lr] if self.chain else [0.0])[-self.n:]
        before, self.skipped = self.phase, False
        if first:
            self.phase, self.misfit = None, 0.0
            return None
        if self.phase is not None:
            err = np.abs(lr - (self.le - self.le[self.phase]))
            q = int(np.argmin(err))
            if err[q] < self.tol:
                self.skipped = q != (self.phase + 1) % self.n
                self.drops += self.skipped
                self.phase, self.misfit = q, float(err[q])
                return q
        if len(self.chain) >= self.n and self.n > 1:
            obs = np.asarray(self.chain[::-1])  # newest first
            costs = []
            for q in range(self.n):
                exp = self.le[(q - np.arange(self.n)) % self.n]
                d = obs - exp
                costs.append(float(((d - d.mean()) ** 2).sum()))
            order = np.argsort(costs)
            best = int(order[0])
            if costs[best] < self.n * self.tol ** 2 and (
                    self.n == 1 or costs[int(order[1])] > 2 * costs[best] + 1e-6):
                # the misfit of the newest step, as where a step fits: the
                # chain's spread halves it for two exposures, and a bracket's
                # step widened by a stop (0.69) read as 0.35, under the
                # re-measuring threshold, for good (trial 72)
                step = self.le[best] - self.le[(best - 1) % self.n]
                self.phase, self.misfit = best, abs(lr - step)
                self.skipped = before is not None and best != (before + 1) % self.n
                return best
        self.phase, self.misfit = None, math.inf
        return None

    def __repr__(self) -> str:
        return f"PhaseTracker(exposures={np.exp(self.le).round(4).tolist()}, phase={self.phase})"


class RollingBracket:
    """Merge and tone-map a stream of alternating exposures, one output per input.

    Parameters
    ----------
    exposures : sequence of float
        Relative exposures of the repeating pattern (>= 2 values > 0).
    window : int, optional
        Frames merged per output; default the pattern length.
    response : ndarray or "calibrate", optional
        256×3 response table; None assumes sRGB; ``"calibrate"`` assumes sRGB
        until the first full bracket and then calibrates (Debevec) from it.
    align : bool
        Align the window to the newest frame (MTB translation).
    align_scale : int
        Alignment runs on images reduced by this factor (1, 2, 4 or 8).
    align_levels : int
        MTB pyramid halvings at the reduced scale.
    deghost : float
        Width in natural-log radiance of the de-ghosting fall-off; pixels
        whose radiance disagrees with the newest frame by more than this are
        down-weighted. 0 disables.
    tonemap : {"reinhard", "durand"}
        Global (Reinhard 2002) or local (guided base/detail) operator.
    key : float
        Reinhard key / display middle grey.
    white_percentile : float
        Luminance percentile mapped near white.
    contrast : float
        Base contrast for the local operator.
    tau, scene_low, scene_high : float
        Temporal smoothing of the tone-mapping statistics (see
        :class:`TemporalSmoother`).
    gamma : float
        Display gamma of the 8-bit output.
    flow : bool
        Motion compensation: warp each older frame of the window onto the
        newest with dense optical flow (OpenCV's DIS, ultrafast preset, on
        the ``align_scale`` images after matching their exposure), as in
        Kang et al. (2003). Flow is measured once per new frame, to the
        frame before it; the flow to frames further back is composed from
        those. Where the flow fails, the de-ghosting test (the warped
        reading misses the newest frame's radiance) falls back to the
        newest exposure. Replaces the translation alignment.
    output : {"sdr", "radiance"}
        ``"sdr"``: :meth:`push` returns the tone-mapped uint8 frame.
        ``"radiance"``: it returns the merged linear radiance (H×W×3
        float32, valid until the next push) and :attr:`last_log_average`
        holds the smoothed log-average luminance, for HDR video signals
        (:class:`~vidclear.hdr.signal.HDRSignal`).
    """

    def __init__(self, exposures: Sequence[float], *, window: int | None = None,
                 response: np.ndarray | str | None = None, align: bool = True,
                 align_scale: int = 2, align_levels: int = 4, deghost: float = 0.7,
                 tonemap: str = "reinhard", key: float = 0.18, white_percentile: float = 99.5,
                 contrast: float = 50.0, tau: float = 0.5, scene_low: float = 1.0,
                 scene_high: float = 3.0, gamma: float = 2.2, fps: float = 30.0,
                 output: str = "sdr", flow: bool = False) -> None:
        ex = np.asarray(exposures, dtype=np.float64)
        if ex.ndim != 1 or ex.size < 2 or not np.all(np.isfinite(ex)) or np.any(ex <= 0):
            raise HDRInputError(f"exposures must be >= 2 positive values, got {list(exposures)}")
        as_times(ex, ex.size)  # bounded span: float32 radiance tables stay finite and non-zero
        self.exposures = ex
        self.window = ex.size if window is None else int(window)
        if self.window < 2:
            raise HDRInputError(f"window must be >= 2, got {window}")
        if align_scale not in (1, 2, 4, 8):
            raise HDRInputError(f"align_scale must be 1, 2, 4 or 8, got {align_scale}")
        if output not in ("sdr", "radiance"):
            raise HDRInputError(f"output must be 'sdr' or 'radiance', got {output!r}")
        self.output = output
        self.last_log_average = 1.0
        self.flow = bool(flow)
        if tonemap not in ("reinhard", "durand"):
            raise HDRInputError(f"tonemap must be 'reinhard' or 'durand', got {tonemap!r}")
        self.calibrate = isinstance(response, str) and response == "calibrate"
        if isinstance(response, str) and not self.calibrate:
            raise HDRInputError(f"response must be a table, None or 'calibrate', got {response!r}")
        self.response = srgb_response() if response is None or self.calibrate else \
            as_response(response)
        self.align, self.align_scale, self.align_levels = align, align_scale, align_levels
        self.deghost, self.tonemap, self.key = float(deghost), tonemap, float(key)
        self.white_percentile, self.contrast = float(white_percentile), float(contrast)
        self.gamma, self.fps = float(gamma), float(fps)
        self.enc = display_table(self.gamma)
        # hat weights scaled to peak near 1; readings at CLIP and above are near
        # clipping: unreliable
        self.wlut = exposure_weights("hat", clip=CLIP) / np.float32(127.5)
        self._deghost_lut = deghost_table(self.deghost)
        self._table_cache: dict[tuple[float, ...], np.ndarray] = {}
        self._buffers: dict[str, np.ndarray] = {}
        self.threads = ThreadChoice(probe=64)  # the slower setting costs a lot per probe
        self._kernel_s = 0.0  # kernel seconds of the frame being rendered
        self.smooth_a = TemporalSmoother(tau=tau, low=scene_low, high=scene_high)
        self.smooth_b = TemporalSmoother(tau=tau, low=scene_low, high=scene_high)
        self.tracker = PhaseTracker(ex)
        self.motion = WindowFlow(self.window, self.response) if self.flow else None
        self._ring: np.ndarray | None = None
        self.reset()

    # -------------------------------------------------------------- state

    def reset(self) -> None:
        """Forget the window, phase lock and smoothing (scene cut or seek)."""
        self._ring = None
        self._count = 0
        self._slot_exp: list[float] = []
        self._slot_pyr: list[MTBPyramid | None] = []
        self._slot_small: list[np.ndarray] = []
        if self.motion is not None:
            self.motion.reset()
        self._order: list[int] = []  # slots, oldest first
        self._first_full = True  # the next full-window frame is the first (not timed)
        self._cut_at: int | None = None  # the frame count at the last scene cut
        self._last_time: float | None = None
        self.smooth_a.reset()
        self.smooth_b.reset()
        self._primed = False
        self.tracker.reset()
        self._trusted = False  # whether the last frame's exposure held (see push)
        self._in_step = 0  # frames in a row that took the pattern's next step (see push)
        self._slot_chained: list[bool] = []  # whose exposure was measured, not the pattern's
        self.last_shifts: list[tuple[int, int]] = []
        self.last_phase: int | None = None

    @property
    def ready(self) -> bool:
        return len(self._order) >= self.window

    @property
    def _held_frames(self) -> int:
        """Frames kept: the window, and as many again without flow (stand-ins, see _slots)."""
        return self.window if self.flow else 2 * self.window

    def _exposure_key(self, slot: int) -> float:
        """The exposure of the frame in ``slot``, as a key two frames of one exposure share."""
        return round(math.log(self._slot_exp[slot]), 3)

    def _free_slot(self, held: int) -> int:
        """The slot the next frame overwrites: a free one, else the oldest whose
        exposure another slot also holds, so every exposure's newest frame stays
        (a short frame shown four times pushed the long one out: 36 levels dark,
        trial 66), else the oldest."""
        if len(self._order) < held:
            return len(self._order)
        keys = [self._exposure_key(s) for s in self._order]  # oldest first
        return next((s for s, k in zip(self._order, keys, strict=True) if keys.count(k) > 1),
                    self._order[0])

    def _slots(self) -> list[int]:
        """The slots merged for the newest frame, newest first.

        The newest ``window`` frames; where frames were dropped or repeated
        they hold one exposure twice and miss another (a 2-exposure clip
        losing a long frame merged two short ones, and its output dipped 23
        levels for a frame and drifted for a second after, trial 63; a short
        frame shown three times, 30 levels, trial 65), so the oldest
        duplicate gives way to the newest older frame kept that has a
        missing exposure, as long as there are both. A frame stands in for
        at most :data:`STAND_IN_AGE` windows' frames: in a fade to black,
        whose frames measure as one exposure, the last frames before it
        stood in for good, and 2 s of black came out as a frozen,
        false-colour picture (trial 87).
        """
        newest = self._order[::-1]
        slots = newest[:self.window]
        key = [self._exposure_key(s) for s in slots]
        for older in newest[self.window:]:
            k = self._exposure_key(older)
            if k in key or self._count - self._slot_count[older] > STAND_IN_AGE * self.window:
                continue
            dup = next((j for j in range(len(slots) - 1, 0, -1)  # never the newest
                        if key.count(key[j]) > 1), None)
            if dup is None:
                break
            del slots[dup], key[dup]
            slots.append(older)
            key.append(k)
        return slots

    # -------------------------------------------------------------- per frame

    def _small(self, image: np.ndarray) -> np.ndarray:
        """RGB reduced ``align_scale`` times by area averaging (uint8)."""
        h, w = image.shape[:2]
        s = self.align_scale
        if s == 1:
            return image
        return cv2.resize(image, (max(1, w // s), max(1, h // s)), interpolation=cv2.INTER_AREA)

    def push(self, image: np.ndarray, *, time: float | None = None,
             exposure: float | None = None) -> np.ndarray:
        """Add a frame; return its tone-mapped H×W×3 uint8 output.

        Every frame gets an output, so frame count and rate are kept: until
        the window first fills, the frames it holds so far are merged (the
        first frame alone goes through the inverse response and the tone
        mapper).

        Parameters
        ----------
        image : ndarray
            H×W×3 uint8 RGB (uint16 is reduced to 8 bits; grayscale repeated).
        time : float, optional
            Presentation time in seconds, for the smoothing time constant.
        exposure : float, optional
            The frame's relative exposure when known (skips phase detection).
        """
        img = np.asarray(image)
        if img.ndim == 2:
            img = np.repeat(img[:, :, None], 3, axis=2)
        if img.ndim != 3 or img.shape[2] != 3 or img.size == 0:
            raise HDRInputError(f"frame has shape {img.shape}: expected H×W×3 with pixels")
        if time is not None and not math.isfinite(time):
            raise HDRInputError(f"frame time {time} is not a finite number of seconds")
        if img.dtype == np.uint16:
            img = (img >> 8).astype(np.uint8)
        elif img.dtype != np.uint8:
            raise HDRInputError(f"frame dtype {img.dtype}: expected uint8 or uint16")
        if self._ring is not None and self._ring.shape[1:3] != img.shape[:2]:
            self.reset()  # resolution change: start over
        held = self._held_frames
        if self._ring is None:
            # Flow mode pads pixels to 4 bytes (OpenCV warps those several times faster)
            # and keeps window - 1 more slots for the warped older frames; without
            # flow twice the window is kept (see _free_slot and _slots).
            slots = 2 * self.window - 1 if self.flow else held
            self._ring = np.empty((slots, *img.shape[:2], 4 if self.flow else 3),
                                  dtype=np.uint8)
            self._slot_exp = [1.0] * held
            self._slot_count = [0] * held  # the frame count each slot was written at
            self._slot_pyr = [None] * held
            self._slot_small = [np.zeros(1, np.uint8)] * held
            self._slot_chained = [False] * held
        slot = self._count % held if self.flow else self._free_slot(held)
        self._count += 1
        if self.flow:
            img = np.ascontiguousarray(img)
            cv2.cvtColor(img, cv2.COLOR_RGB2RGBA, dst=self._ring[slot])
            small = self._small(img) if self.align_scale != 1 else img.copy()
        else:
            self._ring[slot] = img
            small = self._small(self._ring[slot])
        log_response = np.log(self.response.astype(np.float64))
        step = max(1, int(math.sqrt(small.shape[0] * small.shape[1] / _TRACK_PIXELS)))
        phase = self.tracker.update(small[::step, ::step], log_response)
        chained = self._chained()
        trusted = self._trusted  # the frame before's exposure, that chained builds on
        fits = phase is not None and self.tracker.misfit <= FIT_MISFIT
        self._in_step = self._in_step + 1 if fits and not self.tracker.skipped else 0
        # A whole period whose every frame took the pattern's next step: the
        # exposures are the pattern's, whatever a chain of measured ones says.
        # A scene cut to a darker scene read as a shorter exposure puts such a
        # chain off by a constant (2 stops at a cut of 2.7: trial 118 F1), and
        # with its ratios right it never missed by enough to be let go: the
        # radiance stayed 2 stops off and the picture crept for 1.5 s
        in_step = self._in_step >= self.tracker.n
        chained_slot = False
        if exposure is not None and self._usable_exposure(exposure):
            ex = float(exposure)
            phase = int(np.argmin(np.abs(np.log(ex) - self.tracker.le)))
            self.tracker.phase = phase
            self._trusted = True
        elif phase is not None and (chained is None or not trusted or in_step or abs(
                math.log(chained / float(self.exposures[phase]))) <= _OFF_PATTERN):
            ex = float(self.exposures[phase])
            self._trusted = self.tracker.misfit <= FIT_MISFIT
            if chained is not None and trusted and in_step:
                self._anchor(ex / chained)
        elif chained is not None:
            # No pattern step fits (the camera changed its bracket), or the
            # phase the pattern gives is far from what the frame measures
            # against a frame whose exposure held (a 2-exposure bracket
            # turned 3-exposure: its new long frame, two stops over the
            # middle one, was taken for the old long one, and the picture
            # flashed 87 levels bright): the exposure measured against the
            # frame before. Guessed by count, the frames until the pattern
            # was measured again came out up to 80 levels dark or bright
            # (trial 64). Measured against a frame that only loosely fitted,
            # the error grew (a frame 2.3 times off: 66 levels dark); this one
            # holds as far as that frame did (_trusted stays).
            ex = chained
            chained_slot = True
        else:  # unknown yet: guess the next pattern element
            ex = float(self.exposures[(self._count - 1) % self.exposures.size])
            self._trusted = False
        self.last_phase = phase
        if self._content_cut(small, ex):
            self._cut_at = self._count
        self._slot_exp[slot] = ex
        self._slot_count[slot] = self._count
        self._slot_small[slot] = small
        self._slot_chained[slot] = chained_slot
        if self.motion is not None:
            self.motion.add(slot, small, ex)
        self._slot_pyr[slot] = (MTBPyramid(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY),
                                           levels=self.align_levels)
                                if self.align and not self.flow else None)  # flow replaces it
        self._order = [s for s in self._order if s != slot] + [slot]
        dt = 1.0 / self.fps
        if time is not None and self._last_time is not None and time > self._last_time:
            dt = time - self._last_time
        if time is not None:
            self._last_time = time
        if self.calibrate and self.ready:
            self._calibrate_now()
        return self._render(dt)

    def _content_cut(self, small: np.ndarray, ex: float) -> bool:
        """Whether the newest frame shows another scene than the last one of its exposure.

        A cut to a scene of about the same brightness moves the tone
        statistics by less than ``scene_low``: the level crept for 1.7 s
        to the new scene's own (trial 139 F1). The grey histograms (32
        bins) of this frame and of the newest kept frame of the same
        exposure, a period before, differing by more than :data:`_CUT_HIST`
        (L1, of 2) is taken as a cut: the first window wholly after it is
        measured afresh, as after a jump of the statistics.
        """
        same = next((s for s in reversed(self._order)
                     if abs(math.log(self._slot_exp[s] / ex)) < 0.1), None)
        if same is None or self._count - self._slot_count[same] > self.window:
            return False
        before = self._slot_small[same]
        if before.ndim != 3 or before.shape != small.shape:
            return False
        return _histogram_change(before, small) > _CUT_HIST

    def _chained(self) -> float | None:
        """The newest frame's exposure measured against the frame before's, if it could be.

        Kept within the span the radiance tables allow around the pattern.
        """
        if self.tracker.measured is None or not self._order:
            return None
        before = self._slot_exp[self._order[-1]]  # the frame before (not yet in _order)
        ex = before * math.exp(self.tracker.measured)
        lo, hi = float(self.exposures.min()), float(self.exposures.max())
        span = 2.0 ** (MAX_EXPOSURE_STOPS / 2)  # radiance tables stay finite
        return min(max(ex, lo / span), hi * span)

    def _anchor(self, factor: float) -> None:
        """Scale the held frames whose exposures came from the chain by ``factor``.

        Called where the pattern takes over from the chain of measured
        exposures: the frames the chain gave keep their ratios to each
        other and join the pattern's scale, so the window merges one scale
        (unscaled, the next frames merged exposures two stops apart as one).
        """
        if abs(math.log(factor)) <= _OFF_PATTERN:
            return
        slots = [s for s, chained in enumerate(self._slot_chained) if chained]
        for s in slots:
            self._slot_exp[s] *= factor
            self._slot_chained[s] = False
        if self.motion is not None:
            self.motion.rescale(slots, factor)
        # the chain broke from the pattern at a scene cut it took for an
        # exposure change: the window from here is mapped afresh, as the
        # first full window after a cut the statistics showed (smoothed
        # from the radiance on the chain's scale, it dipped 20 levels for
        # three frames more)
        self._cut_at = self._count - self.window

    def _usable_exposure(self, exposure: float) -> bool:
        """A frame's own exposure, if it keeps the window within the allowed span."""
        if not math.isfinite(exposure) or exposure <= 0:
            return False
        lo = min(exposure, float(self.exposures.min()))
        hi = max(exposure, float(self.exposures.max()))
        return math.log2(hi / lo) <= MAX_EXPOSURE_STOPS

    def _calibrate_now(self) -> None:
        order = self._order[-self.window:]
        exps = [self._slot_exp[s] for s in order]
        if len(set(np.round(np.log(exps), 3))) < 2:
            return
        assert self._ring is not None  # calibration runs on frames already held
        small = [np.ascontiguousarray(cv2.resize(self._ring[s], None, fx=0.25, fy=0.25,
                                                 interpolation=cv2.INTER_AREA)[..., :3])
                 for s in order]
        try:
            with warnings.catch_warnings():  # the window's exposures are measured, not typed
                warnings.simplefilter("ignore", UserWarning)
                self.response = camera_response_Debevec1997(small, exps)
        except HDRInputError:
            return
        self._table_cache.clear()
        if self.motion is not None:
            self.motion.set_response(self.response)
        self.calibrate = False

    def _tables(self, exps: np.ndarray) -> np.ndarray:
        """Per-slot merge tables (see ``_video_kernels.pack_tables``), cached."""
        key = tuple(np.round(exps, 9).tolist())
        hit = self._table_cache.get(key)
        if hit is not None:
            return hit
        resp = self.response.astype(np.float64)
        lin = resp[None, :, :] / exps[:, None, None]
        # A reading of 0 in every exposure is no light: radiance 0, so black stays black
        # however far the tone mapping lifts a dark scene (the response keeps a tiny
        # value at 0 only so that logs stay finite; de-ghosting still uses it).
        lin[:, 0, :] = 0.0
        # every channel (green alone missed a red object whose green read
        # near black in the short exposure, trial 139 F2/F3), with a slack
        # for the quantisation of dark readings as for a response from 0 (set
        # on the real clips; the stills' reading_intervals follows the
        # response's slope instead)
        lg = np.log(resp[None, :, :] / exps[:, None, None])
        z = np.arange(256, dtype=np.float64)
        q = DEGHOST_TOL + 2.0 / (1.0 + z)
        lo, hi = lg - q[None, :, None], lg + q[None, :, None]
        # red and blue, from 4:2:0 chroma, may be _CHROMA_NOISE codes off: their
        # bounds are the response's at that many codes either side (a slack of
        # _CHROMA_NOISE / (1 + z) let a short exposure's black, read far from
        # the object that had moved in, stand for a clipped red: a green edge,
        # trial 142 F9)
        chroma_lo, chroma_hi = reading_intervals(resp, exps, noise=_CHROMA_NOISE)
        lo[:, :, 0::2], hi[:, :, 0::2] = chroma_lo[:, :, 0::2], chroma_hi[:, :, 0::2]
        # red and blue readings this close to the clip or to black may be a
        # saturated colour that H.264 rang (a magenta bar read 236-249, its
        # green a few codes): they bound nothing on that side, as clipped
        # and black readings do
        hi[:, CLIP - _CHROMA_RINGING:, 0::2] = VK.BIG
        lo[:, :_CHROMA_RINGING, 0::2] = -VK.BIG
        tab = VK.pack_tables(lin.astype(np.float32), lo.astype(np.float32),
                             hi.astype(np.float32), self.wlut, CLIP)
        if len(self._table_cache) > 64:
            self._table_cache.clear()
        self._table_cache[key] = tab
        return tab

    def _scratch(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        buf = self._buffers.get(name)
        if buf is None or buf.shape != shape:
            buf = np.empty(shape, dtype=np.float32)
            self._buffers[name] = buf
        return buf

    def _render(self, dt: float) -> np.ndarray:
        threads = self.threads.choose()
        prev = numba.get_num_threads()
        numba.set_num_threads(threads)
        self._kernel_s = 0.0
        try:
            return self._render_with(dt)
        finally:
            numba.set_num_threads(prev)
            # Frames before the window is full merge fewer exposures, and the first
            # one loads the compiled kernels: timing them would mislead the choice.
            if self.ready and not self._first_full:
                self.threads.record(threads, self._kernel_s)
            self._first_full = not self.ready

    def _timed(self, kernel: Callable[..., object], *args: object) -> None:
        t = time.perf_counter()
        kernel(*args)
        self._kernel_s += time.perf_counter() - t

    def _render_with(self, dt: float) -> np.ndarray:
        ring = self._ring
        assert ring is not None  # rendering follows the first frame
        after_cut = self._cut_at is not None and self._count - self._cut_at == self.window
        if self.ready and (self._first_full or after_cut):
            # The first full window: the tone-mapping statistics start again
            # from it. Measured on a partial window (a long exposure alone,
            # its highlights clipped) they made a trimmed start 20-40 levels
            # too bright, and the smoothing carried that for 1-1.5 s. So
            # does the first window wholly after a scene cut (its first
            # frames merged the new scene with the old one's, rejected or
            # not: a dark-to-bright cut crept up by 26 levels over 2.5 s).
            self.smooth_a.reset()
            self._primed = False
        elif not self.ready and not self._primed:
            # A partial window with nothing measured ahead (typed exposures):
            # this frame is measured before it is mapped, as the first one.
            # Mapped with the frame before's statistics, a clip starting on
            # its long exposure (highlights clipped, the log-average low)
            # came out 80 levels bright on its second frame (trial 85).
            self.smooth_a.reset()
        if self.smooth_a.value is None:
            self.smooth_b.reset()
        log_response = np.log(self.response.astype(np.float64))
        slots = np.asarray(self._slots(), dtype=np.int64)  # newest first
        n = slots.size
        dys = np.zeros(n, dtype=np.int64)
        dxs = np.zeros(n, dtype=np.int64)
        ref_pyr = self._slot_pyr[int(slots[0])]
        shifts = [(0, 0)]
        for j in range(1, n):
            pyr = self._slot_pyr[int(slots[j])]
            if ref_pyr is not None and pyr is not None:
                # Ward's proposal, kept only if it improves agreement on readings
                # well exposed in both frames (a static scene is never moved)
                dy, dx = checked_shift(self._slot_small[int(slots[0])],
                                       self._slot_small[int(slots[j])],
                                       mtb_shift(ref_pyr, pyr), log_response=log_response,
                                       pixels=_TRACK_PIXELS)
                dys[j], dxs[j] = dy * self.align_scale, dx * self.align_scale
            shifts.append((int(dys[j]), int(dxs[j])))
        self.last_shifts = shifts
        exps = np.asarray([self._slot_exp[int(s)] for s in slots], dtype=np.float64)
        # The limits on lifting a dark scene are set by the pattern's longest
        # exposure, not by the frames held so far: before the window first
        # fills (the first frame is the short exposure alone) they clamped
        # the gain, and the first output frame came out 30-45 levels darker
        # than the second on real alternating-exposure clips.
        longest = max(float(exps.max()), float(self.exposures.max()))
        if self.flow and n > 1:
            assert self.motion is not None  # made with flow = True
            slots = self.motion.warp(ring, slots, spare=self.window)
            dys[:] = 0
            dxs[:] = 0
            self.last_shifts = [(0, 0)] * n
        tab = self._tables(exps)
        fb = np.array([int(np.argmin(exps)), int(np.argmax(exps))], dtype=np.int64)
        dgl, dgk = self._deghost_lut
        h, w = ring.shape[1:3]
        out = np.empty((h, w, 3), dtype=np.uint8)
        stats = np.zeros((h // 4 + 1, 2 + _HIST_BINS), dtype=np.float64)
        merge_args = (ring, slots, dys, dxs, tab, dgl, dgk, fb)
        if self.output == "radiance":
            rgb = self._scratch("rgb", (h, w, 3))
            loglum = self._scratch("loglum", (h, w))
            self._timed(VK.merge_luma_k, *merge_args, rgb, loglum)
            sub = loglum[::4, ::4]
            self._feed(float(sub.mean()), float(np.percentile(sub, self.white_percentile)), dt)
            a_val = self.smooth_a.value
            assert a_val is not None  # fed just above
            # like the SDR key: a near-black scene is not lifted to mid grey
            self.last_log_average = max(2.0 ** a_val,
                                        float(self.response[32, 1]) / longest)
            return rgb
        if self.tonemap == "reinhard":
            if self.smooth_a.value is None:  # first frame: measure before mapping
                self._timed(VK.merge_reinhard_k, *merge_args, np.float32(1.0),
                            np.float32(0.0), self.enc, out, stats)
                self._update_stats(stats, dt)
                stats[:] = 0.0
            # Exposure gain is limited like a camera's: a scene whose log-average reads
            # below code 32 in the longest exposure is not lifted to the key (near-black
            # frames stay dark), and white sits at least a stop above the log-average
            # (a flat frame is not pushed to white).
            def reinhard(into: np.ndarray) -> None:
                a_val, b_val = self.smooth_a.value, self.smooth_b.value
                assert a_val is not None and b_val is not None  # measured on the first frame
                lavg = max(2.0 ** a_val, float(self.response[32, 1]) / longest)
                white = max(2.0 ** b_val, 2.0 * lavg)
                scale = self.key / lavg
                inv_w2 = 1.0 / max(white * scale, 1e-6) ** 2
                self._timed(VK.merge_reinhard_k, *merge_args, np.float32(scale),
                            np.float32(inv_w2), self.enc, out, into)

            reinhard(stats)
            if self._update_stats(stats, dt):
                # A jump (a scene cut): this frame is mapped again with the
                # statistics it moved to. Mapped with the last scene's it
                # flashed (18 where the new scene settles at 94, 186 for 115:
                # trial 85).
                self._cut_at = self._count
                reinhard(np.zeros_like(stats))
            return out
        rgb = self._scratch("rgb", (h, w, 3))
        loglum = self._scratch("loglum", (h, w))
        self._timed(VK.merge_luma_k, *merge_args, rgb, loglum)
        # base layer: self-guided fast guided filter of the log luminance, as
        # coefficients a, b (base = a * loglum + b) fused into base_detail_k
        ab = self._scratch("ab", (2, h, w))
        radius = max(2, int(0.02 * math.hypot(h, w)) // _BASE_SUB) * _BASE_SUB
        guided_coefficients(loglum, radius=radius, eps=_BASE_EPS, subsample=_BASE_SUB, out=ab)
        a_full, b_full = ab[0], ab[1]
        if self.smooth_a.value is None:
            base = a_full[::4, ::4] * loglum[::4, ::4] + b_full[::4, ::4]
            self._feed(float(np.percentile(base, self.white_percentile)),
                       float(np.percentile(base, 100 - self.white_percentile)), dt)
        # White is never below what the longest exposure reads as full scale, so a
        # near-black frame is not stretched to white (see the Reinhard branch).
        def local(into: np.ndarray) -> None:
            top_s, bottom_s = self.smooth_a.value, self.smooth_b.value
            if top_s is None or bottom_s is None:  # fed on the first frame
                raise RuntimeError("tone-mapping statistics missing")
            top = max(top_s, math.log2(float(self.response[255, 1]) / longest))
            bottom = min(bottom_s, top)
            factor = min(1.0, math.log2(self.contrast) / max(top - bottom, 1e-6))
            self._timed(VK.base_detail_k, rgb, loglum, a_full, b_full, np.float32(top),
                        np.float32(factor), np.float32(1.0), self.enc, out, into)

        local(stats)
        hist = stats[:, 2:].sum(axis=0)
        top_n, bot_n = self._percentiles(hist, (self.white_percentile,
                                                100 - self.white_percentile))
        # histogram holds log2 of base in quarter stops
        if self._feed(top_n, bot_n, dt):  # a jump: mapped again, as Reinhard's
            self._cut_at = self._count
            local(np.zeros_like(stats))
        return out

    @staticmethod
    def _percentiles(hist: np.ndarray, qs: Sequence[float]) -> list[float]:
        c = np.cumsum(hist)
        total = c[-1] if c.size else 0.0
        if total <= 0:
            return [0.0 for _ in qs]
        return [float((np.searchsorted(c, total * q / 100.0) + 0.5) / 4.0 - 32.0) for q in qs]

    def prime(self, a: float | None, b: float | None) -> None:
        """Start the tone mapping from statistics measured ahead (log2 units).

        Until the window first fills, frames are then mapped with these and
        do not feed the smoothing (see :meth:`HDRBracket._prime
        <vidclear.processors.hdr.HDRBracket>`); the first full window
        measures afresh.
        """
        self.smooth_a.value, self.smooth_b.value = a, b
        self._primed = a is not None and b is not None

    def _feed(self, a: float, b: float, dt: float) -> bool:
        """Smooth the statistics in; True when they jumped (by ``low`` stops or more).

        Such a jump (a scene cut, taken at once from ``high`` stops) is
        blended in faster than the time constant; the frame it was measured
        on is mapped again with the new values (see :meth:`_render_with`).
        """
        if self._primed and not self.ready:
            return False  # a partial window: the statistics measured ahead stand
        before = self.smooth_a.value
        self.smooth_a.update(a, dt)
        if before is not None and self.smooth_a.value == a and abs(
                a - before) >= self.smooth_a.high:
            self.smooth_b.reset()  # scene cut: take both at once
        self.smooth_b.update(b, dt)
        return before is not None and abs(a - before) >= self.smooth_a.low

    def _update_stats(self, stats: np.ndarray, dt: float) -> bool:
        cnt = stats[:, 1].sum()
        if cnt <= 0:
            return False
        lavg2 = stats[:, 0].sum() / cnt / math.log(2.0)  # log2 of log-average
        (white2,) = self._percentiles(stats[:, 2:].sum(axis=0), (self.white_percentile,))
        return self._feed(lavg2, max(white2, lavg2), dt)

    def __repr__(self) -> str:
        return (f"RollingBracket(exposures={self.exposures.tolist()}, window={self.window}, "
                f"tonemap={self.tonemap!r}, align={self.align}, deghost={self.deghost}, "
                f"tau={self.smooth_a.tau}, phase={self.tracker.phase}, frames={self._count}, "
                f"threads={self.threads!r})")
