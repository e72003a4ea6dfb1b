"""Rolling-bracket HDR video: one tone-mapped output per input frame.

Cameras that alternate exposures frame by frame (Magic Lantern's HDR video,
Kang et al. 2003) are merged here from the latest N frames, so the output
keeps the input frame rate. :class:`RollingBracket` is the engine on plain
arrays; :class:`vidclear.hdr.processors.HDRBracket` wraps it for pipelines.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from vidclear.hdr import _kernels as K
from vidclear.hdr import _video_kernels as VK
from vidclear.hdr._validate import HDRInputError
from vidclear.hdr.align import MTBPyramid, mtb_shift
from vidclear.hdr.response import as_response, debevec1997, srgb_response

__all__ = ["PhaseTracker", "RollingBracket", "TemporalSmoother", "display_table"]

_HIST_BINS = 256  # quarter stops from 2**-32 to 2**32


def display_table(gamma: float, size: int = 1 << 16) -> np.ndarray:
    """uint8 encoding of linear display values 0..1 sampled at ``size`` points."""
    v = np.linspace(0.0, 1.0, size, dtype=np.float64)
    return np.clip(np.power(v, 1.0 / gamma) * 255.0 + 0.5, 0, 255).astype(np.uint8)


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

    The log brightness ratio of consecutive frames (median over pixels
    well exposed in both, after linearising with the response) is matched to
    the pattern's ratios. Once locked, each frame takes the pattern step that
    best explains its ratio to the previous frame, so a dropped frame
    re-locks at once; while unlocked the last N ratios are fitted to every
    cyclic shift of the pattern.

    Parameters
    ----------
    exposures : sequence of float
        Relative exposures of the pattern, in capture order.
    """

    def __init__(self, exposures: Sequence[float]) -> None:
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

    def _ratio(self, small: np.ndarray, logg: np.ndarray) -> float:
        prev = self.prev_small
        if prev is None:
            return 0.0
        ok = (small > 12) & (small < 243) & (prev > 12) & (prev < 243)
        a = logg[small]
        b = logg[prev]
        if int(ok.sum()) >= 16:
            return float(np.median(a[ok] - b[ok]))
        return float(a.mean() - b.mean())

    def update(self, small: np.ndarray, logg: np.ndarray) -> int | None:
        """Phase of a new frame given its small gray image and the log response."""
        lr = self._ratio(small, logg)
        first = self.prev_small is None
        self.prev_small = small
        self.chain = ([*self.chain, self.chain[-1] + lr] if self.chain else [0.0])[-self.n:]
        if first:
            self.phase = None
            return None
        if self.phase is not None:
            err = np.abs(lr - (self.le - self.le[self.phase]))
            q = int(np.argmin(err))
            if err[q] < self.tol:
                if q != (self.phase + 1) % self.n:
                    self.drops += 1
                self.phase = q
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
                self.phase = best
                return best
        self.phase = None
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
    """

    def __init__(self, exposures: Sequence[float], *, window: int | None = None,
                 response: np.ndarray | str | None = None, align: bool = True,
                 align_scale: int = 2, align_levels: int = 4, deghost: float = 0.7,
                 tonemap: str = "reinhard", key: float = 0.18, white_percentile: float = 99.5,
                 contrast: float = 50.0, tau: float = 0.5, scene_low: float = 1.0,
                 scene_high: float = 3.0, gamma: float = 2.2, fps: float = 30.0) -> None:
        ex = np.asarray(exposures, dtype=np.float64)
        if ex.ndim != 1 or ex.size < 2 or not np.all(np.isfinite(ex)) or np.any(ex <= 0):
            raise HDRInputError(f"exposures must be >= 2 positive values, got {list(exposures)}")
        self.exposures = ex
        self.window = ex.size if window is None else int(window)
        if self.window < 2:
            raise HDRInputError(f"window must be >= 2, got {window}")
        if align_scale not in (1, 2, 4, 8):
            raise HDRInputError(f"align_scale must be 1, 2, 4 or 8, got {align_scale}")
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
        z = np.arange(256, dtype=np.float32)
        self.wlut = (np.minimum(z, 255.0 - z) / 127.5).astype(np.float32)
        self.smooth_a = TemporalSmoother(tau=tau, low=scene_low, high=scene_high)
        self.smooth_b = TemporalSmoother(tau=tau, low=scene_low, high=scene_high)
        self.tracker = PhaseTracker(ex)
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
        self._order: list[int] = []  # slots, oldest first
        self._last_time: float | None = None
        self.smooth_a.reset()
        self.smooth_b.reset()
        self.tracker.reset()
        self.last_shifts: list[tuple[int, int]] = []
        self.last_phase: int | None = None

    @property
    def ready(self) -> bool:
        return len(self._order) >= self.window

    # -------------------------------------------------------------- per frame

    def _small(self, image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        s = self.align_scale
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        if s == 1:
            return gray
        return cv2.resize(gray, (max(1, w // s), max(1, h // s)), interpolation=cv2.INTER_AREA)

    def push(self, image: np.ndarray, *, time: float | None = None,
             exposure: float | None = None) -> np.ndarray | None:
        """Add a frame; return the tone-mapped H×W×3 uint8 output or None while filling.

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
        if img.ndim != 3 or img.shape[2] != 3:
            raise HDRInputError(f"frame has shape {img.shape}: expected H×W×3")
        if img.dtype == np.uint16:
            img = (img >> 8).astype(np.uint8)
        elif img.dtype != np.uint8:
            raise HDRInputError(f"frame dtype {img.dtype}: expected uint8 or uint16")
        if self._ring is not None and self._ring.shape[1:] != img.shape:
            self.reset()  # resolution change: start over
        if self._ring is None:
            self._ring = np.empty((self.window, *img.shape), dtype=np.uint8)
            self._slot_exp = [1.0] * self.window
            self._slot_pyr = [None] * self.window
            self._slot_small = [np.zeros(1, np.uint8)] * self.window
        slot = self._count % self.window
        self._count += 1
        self._ring[slot] = img
        small = self._small(img)
        logg = np.log(self.response[:, 1]).astype(np.float64)
        phase = self.tracker.update(small, logg)
        if exposure is not None and math.isfinite(exposure) and exposure > 0:
            ex = float(exposure)
            phase = int(np.argmin(np.abs(np.log(ex) - self.tracker.le)))
            self.tracker.phase = phase
        elif phase is not None:
            ex = float(self.exposures[phase])
        else:  # unknown yet: guess the next pattern element
            ex = float(self.exposures[(self._count - 1) % self.exposures.size])
        self.last_phase = phase
        self._slot_exp[slot] = ex
        self._slot_small[slot] = small
        self._slot_pyr[slot] = (MTBPyramid(small, levels=self.align_levels)
                                if self.align else None)
        self._order = [s for s in self._order if s != slot] + [slot]
        dt = 1.0 / self.fps
        if time is not None and self._last_time is not None and time > self._last_time:
            dt = time - self._last_time
        if time is not None:
            self._last_time = time
        if not self.ready:
            return None
        if self.calibrate:
            self._calibrate_now()
        return self._render(dt)

    def _calibrate_now(self) -> None:
        exps = [self._slot_exp[s] for s in self._order]
        if len(set(np.round(np.log(exps), 3))) < 2:
            return
        small = [cv2.resize(self._ring[s], None, fx=0.25, fy=0.25,
                            interpolation=cv2.INTER_AREA) for s in self._order]
        try:
            self.response = debevec1997(small, exps)
        except HDRInputError:
            return
        self.calibrate = False

    def _render(self, dt: float) -> np.ndarray:
        ring = self._ring
        slots = np.asarray(self._order[::-1], dtype=np.int64)  # newest first
        n = slots.size
        dys = np.zeros(n, dtype=np.int64)
        dxs = np.zeros(n, dtype=np.int64)
        ref_pyr = self._slot_pyr[int(slots[0])]
        shifts = [(0, 0)]
        for j in range(1, n):
            pyr = self._slot_pyr[int(slots[j])]
            if ref_pyr is not None and pyr is not None:
                dy, dx = mtb_shift(ref_pyr, pyr)
                dys[j], dxs[j] = dy * self.align_scale, dx * self.align_scale
            shifts.append((int(dys[j]), int(dxs[j])))
        self.last_shifts = shifts
        exps = np.asarray([self._slot_exp[int(s)] for s in slots], dtype=np.float64)
        resp = self.response.astype(np.float64)
        lin = np.ascontiguousarray((resp[None, :, :] / exps[:, None, None]), dtype=np.float32)
        logg = np.ascontiguousarray(np.log(resp[None, :, 1] / exps[:, None]), dtype=np.float32)
        tol = np.float32(0.25)
        sigma = np.float32(self.deghost)
        h, w = ring.shape[1:3]
        out = np.empty((h, w, 3), dtype=np.uint8)
        stats = np.zeros((h // 4 + 1, 2 + _HIST_BINS), dtype=np.float64)
        if self.tonemap == "reinhard":
            if self.smooth_a.value is None:  # first frame: measure before mapping
                VK.merge_reinhard_k(ring, slots, dys, dxs, lin, logg, self.wlut, sigma, tol,
                                    np.float32(1.0), np.float32(0.0), self.enc, out, stats)
                self._update_stats(stats, dt)
                stats[:] = 0.0
            lavg = 2.0 ** self.smooth_a.value
            white = 2.0 ** self.smooth_b.value
            scale = self.key / lavg
            inv_w2 = 1.0 / max(white * scale, 1e-6) ** 2
            VK.merge_reinhard_k(ring, slots, dys, dxs, lin, logg, self.wlut, sigma, tol,
                                np.float32(scale), np.float32(inv_w2), self.enc, out, stats)
            self._update_stats(stats, dt)
            return out
        rgb = np.empty((h, w, 3), dtype=np.float32)
        loglum = np.empty((h, w), dtype=np.float32)
        VK.merge_luma_k(ring, slots, dys, dxs, lin, logg, self.wlut, sigma, tol, rgb, loglum)
        sub = 4
        smallll = cv2.resize(loglum, (max(1, w // sub), max(1, h // sub)),
                             interpolation=cv2.INTER_AREA)
        r = max(2, int(0.02 * math.hypot(h, w)) // sub)
        eps = np.float32(0.1)
        tmp = np.empty_like(smallll)
        mean_i = np.empty_like(smallll)
        K.box_mean_k(smallll, r, tmp, mean_i)
        corr = np.empty_like(smallll)
        K.box_mean_k(np.ascontiguousarray(smallll * smallll), r, tmp, corr)
        var = corr - mean_i * mean_i
        a = var / (var + eps)
        b = mean_i - a * mean_i
        ma = np.empty_like(a)
        mb = np.empty_like(b)
        K.box_mean_k(np.ascontiguousarray(a), r, tmp, ma)
        K.box_mean_k(np.ascontiguousarray(b), r, tmp, mb)
        a_full = cv2.resize(ma, (w, h), interpolation=cv2.INTER_LINEAR)
        b_full = cv2.resize(mb, (w, h), interpolation=cv2.INTER_LINEAR)
        if self.smooth_a.value is None:
            base = a_full[::4, ::4] * loglum[::4, ::4] + b_full[::4, ::4]
            self._feed(float(np.percentile(base, self.white_percentile)) * math.log2(10),
                       float(np.percentile(base, 100 - self.white_percentile)) * math.log2(10), dt)
        top = self.smooth_a.value / math.log2(10)
        bottom = self.smooth_b.value / math.log2(10)
        factor = min(1.0, math.log10(self.contrast) / max(top - bottom, 1e-6))
        VK.base_detail_k(rgb, loglum, a_full, b_full, np.float32(top), np.float32(factor),
                         np.float32(1.0), self.enc, out, stats)
        hist = stats[:, 2:].sum(axis=0)
        top_n, bot_n = self._percentiles(hist, (self.white_percentile,
                                                100 - self.white_percentile))
        # histogram holds log2 of base (log10 * log2(10)) in quarter stops
        self._feed(top_n, bot_n, dt)
        return out

    @staticmethod
    def _percentiles(hist: np.ndarray, qs: Sequence[float]) -> list[float]:
        c = np.cumsum(hist)
        total = c[-1] if c.size else 0.0
        if total <= 0:
            return [0.0 for _ in qs]
        return [float((np.searchsorted(c, total * q / 100.0) + 0.5) / 4.0 - 32.0) for q in qs]

    def _feed(self, a: float, b: float, dt: float) -> None:
        before = self.smooth_a.value
        self.smooth_a.update(a, dt)
        if before is not None and self.smooth_a.value == a and abs(a - before) >= \
                self.smooth_a.high:
            self.smooth_b.reset()  # scene cut: take both at once
        self.smooth_b.update(b, dt)

    def _update_stats(self, stats: np.ndarray, dt: float) -> None:
        cnt = stats[:, 1].sum()
        if cnt <= 0:
            return
        lavg2 = stats[:, 0].sum() / cnt / math.log(2.0)  # log2 of log-average
        (white2,) = self._percentiles(stats[:, 2:].sum(axis=0), (self.white_percentile,))
        self._feed(lavg2, max(white2, lavg2), dt)

    def __repr__(self) -> str:
        return (f"RollingBracket(exposures={self.exposures.tolist()}, window={self.window}, "
                f"tonemap={self.tonemap!r}, align={self.align}, deghost={self.deghost}, "
                f"tau={self.smooth_a.tau}, phase={self.tracker.phase}, frames={self._count})")
