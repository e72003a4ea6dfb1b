"""Temporal state of the video dehazer: smoothing, outlier rejection, scene cuts.

All time constants are in seconds and every update takes the time step, so
variable-frame-rate video is handled exactly: an exponential moving average
with time constant ``tau`` uses ``alpha = 1 - exp(-dt / tau)`` for a step of
``dt`` seconds, whatever the frame rate.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from vidclear.dehaze._kernels import affine_fit, block_means, colour_histogram, hold_drops
from vidclear.errors import ConfigError
from vidclear.kernels.colour import BT601

__all__ = ["AirlightTracker", "DensityTracker", "NeighbourDropHold", "SceneCutDetector",
           "VeilTracker", "ema_alpha", "exposure_gain", "luma_blocks", "luma_map"]


def ema_alpha(dt: float, tau: float) -> float:
    """Weight of a new sample after ``dt`` seconds for time constant ``tau`` (0 = no memory)."""
    if tau <= 0.0 or dt <= 0.0:
        return 1.0 if tau <= 0.0 else 0.0
    return 1.0 - math.exp(-dt / tau)


def _median_of(rows: list[np.ndarray]) -> np.ndarray:
    """``np.median(np.stack(rows), axis=0)`` of a few finite (3,) float64 estimates, equal to it.

    By sorting: ``np.median`` with an axis cost 110 µs a frame for the
    handful of estimates the trackers keep.
    """
    s = np.sort(np.array(rows), axis=0)
    n = len(rows)
    if n % 2:
        return s[n // 2]
    return (s[n // 2 - 1] + s[n // 2]) / 2.0


def exposure_gain(grey: np.ndarray, prev: np.ndarray, step: int, *,
                  agree: float = 0.03, share: float = 0.6, least: float = 0.01) -> float:
    """The exposure change between two frames, or 1 when there is none to trust.

    Parameters
    ----------
    grey, prev : ndarray
        (h, w) float32 grey working images of this frame and the last, in [0, 1].
    step : int
        Every step-th row and column is compared.
    agree, share : float
        The median of the per-pixel ratios ``grey / prev`` is a change of
        exposure only when at least ``share`` of the pixels agree with it
        within ``agree`` (relative): a fade or an auto-exposure step moves
        every pixel alike, a pan or a passing car moves some pixels a lot
        and most not at all. Dark and bright pixels must change by the same
        ratio (a multiplication), unlike fog thickening, which adds light;
        and a brightening must not shrink the luma spread (std, where it is
        at least 0.03) while leaving a level at or below 1.5 fixed (fog over
        a scene whose levels fill a narrow band raises them by nearly one
        ratio, but pulls them all towards its airlight; a camera's shoulder
        compressing highlights fixes a level far past white).
    least : float
        Relative changes smaller than this are no change (no drift from noise).

    Returns
    -------
    float
        The gain in [0.5, 2], or 1.
    """
    g = grey[::step, ::step].ravel()
    q = prev[::step, ::step].ravel()
    lit = (g > 0.02) & (q > 0.02)  # black pixels carry no ratio
    if lit.sum() < 64:
        return 1.0
    gs, qs = g[lit], q[lit]
    ratio = gs / qs
    gain = float(np.median(ratio))
    if abs(gain - 1.0) < least or not 0.5 <= gain <= 2.0:
        return 1.0
    if float(np.mean(np.abs(ratio / gain - 1.0) < agree)) < share:
        return 1.0
    # Multiplied, not added to: dark and bright pixels change by the same
    # ratio. Thickening fog (or a fade to white) adds light, which raises the
    # dark pixels' ratio far more than the bright ones': not an exposure change.
    # Light taken away (a fade from white, fog thinning) lowers theirs, and is
    # read as one (see the contrast test below): tested both ways, the test
    # passed on alternate frames of a fade from white, x264's P and B frames
    # on either side of it, A was scaled on every other frame and the output
    # fell in a staircase (-16, +0.4, -19 levels a frame where the input fell
    # by 3.4, trial 55).
    mid = float(np.median(qs))
    dark, bright = ratio[qs <= mid], ratio[qs > mid]
    if dark.size and bright.size and \
            float(np.median(dark)) - float(np.median(bright)) > 0.5 * abs(gain - 1.0):
        return 1.0
    # ... and a brightening must not pull every level towards one level
    # within reach of white. Over a scene whose levels fill a narrow band (fog
    # rolling in over a dark church) added light raises every pixel by nearly
    # one ratio, which the test above cannot tell from a multiplication; read
    # as exposure it scaled A to white, the output 91 levels dark a second
    # after. Fog is the affine map I' = s I + c with s < 1 (the contrast
    # shrinks), which leaves the fog's own level c / (1 - s), its airlight,
    # where it is: 0.58-1.05 on most frames of the trials' fog clips (a few
    # reach 2-4 and pass). A multiplication fixes black (s > 1), and a
    # camera's tone curve squeezing its highlights as the exposure rises (s a
    # little below 1) fixes a level far past white (2 or more). The map's
    # slope is the ratio of spreads (std over pixels lit and unclipped in
    # both; the least-squares slope shrinks with noise);
    # where the spread is a few levels the test stays out. Darkening is not
    # tested: a fade from white and fog thinning out, read as exposure, stay
    # nearer a fresh dehaze than without it.
    if gain > 1.0:
        both = (gs < _CLIPPED) & (qs < _CLIPPED)
        if both.sum() >= 64:
            gb, qb = gs[both], qs[both]
            sq = float(np.std(qb))
            if sq >= _SPREAD_MIN:
                slope = float(np.std(gb)) / sq
                offset = float(np.mean(gb)) - slope * float(np.mean(qb))
                if slope < 1.0 and offset <= _FOG_LEVEL * (1.0 - slope):
                    return 1.0
    return gain


def luma_blocks(grey: np.ndarray) -> np.ndarray:
    """Mean luma of the blocks, about a 24th of the short side wide, that :func:`luma_map` compares.

    Parameters
    ----------
    grey : ndarray
        (h, w) float32 grey working image in [0, 1].

    Returns
    -------
    ndarray
        (h // b, w // b) float32, ``b = max(2, min(h, w) // 24)``; the edge
        rows and columns left over are left out.
    """
    return block_means(grey, max(2, min(grey.shape) // _BLOCKS))


def luma_map(blocks: np.ndarray, prev: np.ndarray, *,
             agree: float = 0.02, share: float = 0.6) -> tuple[float, float] | None:
    """The affine map ``blocks ≈ slope · prev + offset`` between two frames, if it explains them.

    Under the haze model ``I = J t + A (1 - t)`` an affine change of every
    pixel's level (a brightness offset, a fade, an exposure change with a
    black offset, haze thickening uniformly) carries the airlight along:
    ``A' = slope · A + offset``. A passing object or a cut changes some
    pixels and not others and explains no such map. The frames are
    compared in blocks (:func:`luma_blocks`), whose means a pan of a few
    pixels a frame, noise and coding move little (compared pixel by pixel,
    a pan out of a tunnel was read on every other frame: trial 163 F1).

    Parameters
    ----------
    blocks, prev : ndarray
        :func:`luma_blocks` of this frame and the last, (rows, cols) float32.
    agree, share : float
        The map explains the frames when at least ``share`` of the blocks
        lit and unclipped in both lie within ``agree`` (full scale) of it,
        and what it leaves of their change is at most a quarter of the
        change's energy.

    Returns
    -------
    tuple of float or None
        ``(slope, offset)``, the slope the ratio of the luma spreads (std;
        the least-squares slope shrinks with noise) and the offset from the
        means; None when the blocks are too few (64) or differ in shape,
        their spread is under 0.03, or the map fails ``share`` or the
        change's energy.
    """
    if blocks.shape != prev.shape:
        return None
    n, spread, slope, offset, near, residual, change = affine_fit(
        blocks, prev, _DARK, _CLIPPED, agree)
    if n < 64 or spread < _SPREAD_MIN or near < share:
        return None
    # ... and it must explain the change, not only the pixels that stayed: a
    # fog bank or a truck sliding in changes a few pixels a frame, which no
    # map explains, while the rest agree with a map that is nearly none
    if residual > _EXPLAINED * change:
        return None
    return float(slope), float(offset)


# exposure_gain: pixels at or above this level may be clipped (no ratio); the
# luma std below which the contrast test stays out; the highest level a
# brightening may leave fixed and still be fog (units of full scale)
_CLIPPED = 0.98
_SPREAD_MIN = 0.03
_FOG_LEVEL = 1.5
# luma_map: the largest share of the change's energy a map may leave unexplained
_EXPLAINED = 0.25
# ... the level at or below which a pixel is black (no level to map), and the
# blocks it compares across the short side
_DARK = 0.02
_BLOCKS = 24


# a gradual departure of the airlight estimate: at least this many steps one way,
# none more than this share of the way, steps back at most this share of the
# steps forward (AirlightTracker.gradual)
_GRADUAL_STEPS = 3
_GRADUAL_SHARE = 0.5
_GRADUAL_BACK = 0.2

# AirlightTracker.returned: the value is back once within this share of the
# gate of where it was before its catch-up; the estimates must be back near
# it for this long (seconds: 3 frames at 30 fps), so one frame whose bright
# haze a passing object hides does not take A back
_RETURNED = 0.1
_RETURN_TIME = 0.06
# ... and it goes back with this time constant, seconds (a fade to white and
# back took it up by 0.1: going back in one frame was a step of 22 levels)
_RESTORE_TAU = 0.1

# the airlight drift (in luma) below which the median counts as on neither side
_DRIFT_MIN = 0.005

# AirlightTracker.update: a one-frame rise of the estimate's luma by more than
# this share of the gate is a jump (0.01 at the default gate: about 6 levels of
# a sky at t = 0.3), unless the frame's median pixel moved by this share of its
# size (_JUMP_MOVED): fog, pans and dissolves move the picture, a bright object
# entering the airlight search moves the estimate alone
_JUMP = 0.2
_JUMP_MOVED = 0.25
# ... and falls of the estimate within this many seconds of each other are one
# fall (an object covering the brightest haze over a few frames)
_FALL_STEPS = 0.5

# AirlightTracker.finish: a catch-up goes on, with its own time constant, until
# the estimates are within this share of the gate in every channel (0.01 of A
# at the default gate: about 2.5 levels at t = 0.5), unless they move away by
# more than this share of the gate (in luma) beyond the gap the catch-up left
_SETTLED = 0.2
_CHASE_SLACK = 0.5


class AirlightTracker:
    """Robust, gated, rate-limited smoothing of the per-frame airlight estimate.

    Each update (1) takes the per-channel median of the estimates of the last
    ``window`` seconds, so an object that fills the estimator for less than
    half the window has no effect; (2) gates it: a median further than
    ``gate`` from the current value (in any channel) is an outlier and is
    ignored until outliers have persisted for ``hold`` seconds, so a bright
    car or truck crossing the view does not move A at all; (3) moves towards
    it with an exponential moving average of time constant ``tau``, which
    shortens to ``tau / (1 + s / persist)`` once the median has stayed on
    the same side of the value (in luma, by more than 0.005) for ``s``
    seconds; (4) limits the move to ``rate`` per second. Slow changes (dusk, fog rolling
    in) pass the gate and are followed; a lasting jump is adopted after
    ``hold`` seconds; scene cuts reset the tracker. A rise of the estimate
    within the gate, from one frame to the next, that the picture did not
    move with is held the same way (see :meth:`update`).

    Parameters
    ----------
    tau : float
        EMA time constant, seconds; 0 disables smoothing.
    window : float
        Median window, seconds; 0 uses the latest estimate only.
    rate : float
        Largest change per second in [0, 1] intensity units, > 0.
    gate : float
        Largest deviation accepted at once, > 0 (1 disables the gate).
    hold : float
        Seconds an outlier must persist before it is believed, >= 0.
    persist : float
        Seconds of a one-sided drift that halve ``tau``, >= 0 (0: ``tau``
        stays fixed). A median that only ever lies on one side is a real
        change (fog thickening, dusk), not noise or content crossing the
        view, which move it both ways: after a fog bank rolled in, the
        fixed 2 s left A too bright for seconds and, amplified by 1 / t,
        the output up to 19 levels too dark.
    """

    def __init__(self, *, tau: float = 2.0, window: float = 1.0, rate: float = 0.05,
                 gate: float = 0.05, hold: float = 3.0, persist: float = 0.5) -> None:
        if tau < 0 or window < 0 or hold < 0 or persist < 0 or not rate > 0 or not gate > 0:
            raise ConfigError("tau, window, hold and persist must be >= 0, rate and gate > 0 "
                             f"(got tau={tau}, window={window}, hold={hold}, "
                             f"persist={persist}, rate={rate}, gate={gate})")
        self.tau = float(tau)
        self.window = float(window)
        self.rate = float(rate)
        self.gate = float(gate)
        self.hold = float(hold)
        self.persist = float(persist)
        self._hist: deque[tuple[float, np.ndarray]] = deque()
        self._outlier_time = 0.0
        self._side = 0  # sign of the last median's luma offset from the value (0: within 0.005)
        self._side_time = 0.0  # seconds it has kept that sign
        self.value: np.ndarray | None = None
        # the value before the latest catch-up, until the value or the
        # estimates come back to it (see returned)
        self._before: np.ndarray | None = None
        self._left = False  # whether the value has since been 2 gates away from it
        self._back_since: float | None = None  # since when the estimates are back near it
        self._caught_up = 0.0  # time of the latest catch-up, seconds
        self._chase_tau: float | None = None  # the latest catch-up's time constant, until settled
        self._chase_gap = 0.0  # the luma gap to the estimate it left
        self._last: np.ndarray | None = None  # the latest estimate (3,)
        self._jump_from: float | None = None  # the estimates' luma before a held jump
        self._jump_time = 0.0  # seconds the jump has been held
        # (the estimates' luma before a fall, time of that fall): a rise back
        # no higher, within ``hold`` seconds, is no jump
        self._fell_from: tuple[float, float] | None = None

    def reset(self) -> None:
        """Forget every estimate."""
        self._hist.clear()
        self._outlier_time = 0.0
        self._side, self._side_time = 0, 0.0
        self.value = None
        self._before, self._left, self._back_since = None, False, None
        self._chase_tau = None
        self._last, self._jump_from, self._fell_from = None, None, None

    def scale(self, gain: float, chase: float | None = None, offset: float = 0.0) -> None:
        """Follow a change of exposure: the tracked value and the window's estimates times ``gain``.

        (Plus ``offset`` for an affine change of the picture's levels: see
        :func:`luma_map`.)

        Every radiance in the frame, the airlight's included, scales with the
        exposure, so a fade or an auto-exposure step moves A at once rather
        than through the gate and the rate limit. The value may pass 1 (the
        dehazer clips what it uses), so exposure flicker up and down returns
        to the same airlight instead of ratcheting it down at the clip; it
        is bounded at 2. The value remembered from before a catch-up
        (:meth:`returned`) is not scaled: a white truck filling the frame in
        half a second reads as a brightening of 2 % a frame, which took the
        memory out of reach of the returning measurement (a helper's trial);
        an exposure that really changed and stays simply leaves it unused.

        With ``chase`` (seconds), the value is then carried on to the
        estimates with that time constant (:meth:`finish`): the gain read
        from the frames is close, not exact, and after a tunnel exit the
        scaled value ended just past the gate from the estimates, which held
        it there for ``hold`` seconds (the output 15–19 levels too bright).
        Not while the gate is holding an outlier out, or a jump (see
        :meth:`update`): a 3 % exposure dip while a white truck stood beside
        the road handed A to the truck, and the output stayed 10 levels dark
        for 3.5 s after it left (a helper's trial; trial 170 F1 with a truck
        within the gate, 19–28 levels).
        """
        if self.value is None:
            return
        self.value = np.clip(self.value * gain + offset, 0.0, 2.0)
        self._hist = deque((t, np.clip(e * gain + offset, 0.0, 2.0)) for t, e in self._hist)
        if self._last is not None:
            self._last = np.clip(self._last * gain + offset, 0.0, 2.0)
        if self._jump_from is not None:
            self._jump_from = self._jump_from * gain + offset
        if self._fell_from is not None:
            self._fell_from = (self._fell_from[0] * gain + offset, self._fell_from[1])
        if (chase is not None and self._outlier_time == 0.0 and self._jump_from is None
                and self._hist):
            # Not while the gate holds something out (a truck beside the road
            # when the exposure dips): that would hand A to it. The gap to the
            # latest estimate is where the carry-through starts from.
            self._chase_tau = chase
            self._chase_gap = self._luma_gap(self._hist[-1][1])

    def gradual(self, gate: float) -> bool:
        """Whether the estimates left the value step by step, not in one jump.

        True when the latest estimate is more than ``gate`` (in mean over
        channels) from the tracked value and the window's estimates reached
        it in at least _GRADUAL_STEPS steps one way, none of them more than
        _GRADUAL_SHARE of the way and little back (_GRADUAL_BACK): a pan
        into brighter fog or a fog bank drifting in. A bright truck or a
        lamp moves the estimate in one jump, which the gate holds; content
        crossing the view moves it both ways.
        """
        if self.value is None or len(self._hist) < _GRADUAL_STEPS + 1:
            return False
        way = float(self._hist[-1][1].mean()) - float(self.value.mean())
        if abs(way) <= gate:  # the usual case, checked before the window is read
            return False
        levels = np.array([e for _, e in self._hist]).mean(axis=1)
        steps = np.diff(levels) * math.copysign(1.0, way)
        onward = steps[steps > 0]
        return bool(onward.size >= _GRADUAL_STEPS
                    and float(steps.max()) <= _GRADUAL_SHARE * abs(way)
                    and float(-steps[steps < 0].sum()) <= _GRADUAL_BACK * float(onward.sum()))

    def returned(self, estimate: np.ndarray, time: float, gate: float) -> bool:
        """Whether the estimates went back to the value from before the latest catch-up.

        True once the tracked value has been more than twice ``gate`` (in any
        channel) from where it was before it last caught up
        (:meth:`catch_up`), and the estimates have been back within ``gate``
        of that for :data:`_RETURN_TIME` seconds (``estimate`` (3,) is this
        frame's, at ``time`` seconds): what A followed past its gate has
        gone, and the haze left is the one from before it (a white truck
        that filled the frame as it came out of the fog has turned off).
        :meth:`restore` then goes back. The memory is dropped once the value
        is back (within a tenth of ``gate``), and when ``hold`` seconds
        passed since the last catch-up before the estimates came back: an
        old memory would take A back on any dip of the estimates (the bright
        haze hidden under a bridge), and after ``hold`` the gate adopts a
        lasting change anyway.
        """
        if self._before is None or self.value is None:
            return False
        if self._back_since is None and time - self._caught_up > self.hold:
            self._before, self._left = None, False  # stale: the gate decides
            return False
        away = float(np.abs(self.value - self._before).max())
        self._left = self._left or away > 2.0 * gate
        if not self._left:
            return False
        if away <= _RETURNED * gate:  # back
            self._before, self._left, self._back_since = None, False, None
            return False
        est = np.asarray(estimate, np.float64)
        if float(np.abs(est - self._before).max()) > gate:
            self._back_since = None
            return False
        if self._back_since is None:
            self._back_since = time
        return time - self._back_since >= _RETURN_TIME

    def restore(self, time: float, dt: float) -> np.ndarray:
        """Go back to the value from before the latest catch-up (see :meth:`returned`).

        Moves there with time constant :data:`_RESTORE_TAU` (a few frames,
        past the gate and the rate limit) and restarts the median window
        from it at ``time`` seconds, ``dt`` after the last frame.
        """
        if self._before is None or self.value is None:
            raise RuntimeError("restore() without a value from before a catch-up")
        self.value = self.value + ema_alpha(dt, _RESTORE_TAU) * (self._before - self.value)
        self._hist = deque([(time, self._before.copy())])
        self._outlier_time = 0.0
        self._chase_tau = None
        self._jump_from, self._fell_from = None, None
        return self.value.astype(np.float32)

    def finish(self, estimate: np.ndarray, time: float, dt: float,
               gate: float) -> np.ndarray | None:
        """Carry the latest catch-up through to the estimate, or None when there is none.

        The rules that call :meth:`catch_up` stop once the estimate is back
        within ``gate`` of the value in luma, which leaves A up to a gate
        away from it: there the gate's own test (any channel beyond
        ``gate``) took the rest for an outlier and held it for ``hold``
        seconds. After a 1 s cross-dissolve between two shots A stayed 0.05
        too bright and the output 11 levels too dark for 3 s. So A goes on
        towards ``estimate`` (3,) with the catch-up's time constant until it
        is within :data:`_SETTLED` gates in every channel, and then restarts
        the median window there at ``time`` seconds. An estimate that moves
        away meanwhile (its luma more than :data:`_CHASE_SLACK` gates beyond
        the gap the catch-up left, a truck entering) ends it, and the gate
        decides again.
        """
        if self._chase_tau is None or self.value is None:
            return None
        est = np.asarray(estimate, np.float64)
        if self._luma_gap(est) > self._chase_gap + _CHASE_SLACK * gate:
            self._chase_tau = None
            return None
        self.value = self.value + ema_alpha(dt, self._chase_tau) * (est - self.value)
        self._chase_gap = min(self._chase_gap, self._luma_gap(est))
        self._outlier_time = 0.0
        if float(np.abs(est - self.value).max()) <= _SETTLED * gate:
            self._chase_tau = None
            self._hist = deque([(time, self.value.copy())])
        return self.value.astype(np.float32)

    def departed(self, count: int, gate: float) -> np.ndarray | None:
        """The median (3,) of the latest ``count`` estimates when all left the value one way.

        Each of them must lie more than ``gate`` from the tracked value in
        some channel (the gate's own test), all on the same side of it in
        luma; otherwise (or with fewer estimates, or no value yet) None.
        Estimates that jump to either side of the value (two regions taking
        turns as the brightest haze) are no departure.
        """
        if self.value is None or len(self._hist) < count:
            return None
        rows = [e for _, e in list(self._hist)[-count:]]
        latest = np.stack(rows)
        off = (latest - self.value) @ BT601
        if not (bool(np.all(np.abs(latest - self.value).max(axis=1) > gate))
                and (bool(np.all(off > 0.0)) or bool(np.all(off < 0.0)))):
            return None
        return _median_of(rows)

    def catch_up(self, estimate: np.ndarray, time: float, dt: float,
                 tau: float = 0.15, restart: bool = True, remember: bool = True,
                 settle: bool = True) -> np.ndarray:
        """The tracked value is stale (the scene brightened past it): follow fast.

        Moves towards ``estimate`` with time constant ``tau`` seconds, past
        the gate and the rate limit, and (with ``restart``) restarts the
        median window from it, so a tunnel exit or a pan into a bright
        region is followed over a few frames instead of by one jump. The
        value from before the first of a run of catch-ups is remembered
        (:meth:`returned`), unless ``remember`` is False: a follow of the
        haze itself (thick fog drifting), which the estimates coming back
        only continue, not an object that has gone. With ``settle`` False
        :meth:`finish` does not carry the value on to the estimates: a
        catch-up to a level below them (the haze the frame shows, not the
        white van the estimates are of) that finish took through to the
        van once it was within the gate.
        """
        est = np.asarray(estimate, np.float64)
        if restart:
            self._hist = deque([(time, est)])
        self._outlier_time = 0.0
        self._jump_from = None
        if self.value is None:
            self.value = est
        else:
            if remember:
                if self._before is None:
                    self._before = self.value.copy()
                self._caught_up = time
            self._chase_tau = tau if settle else None
            self.value = self.value + ema_alpha(dt, tau) * (est - self.value)
            self._chase_gap = self._luma_gap(est)
        return self.value.astype(np.float32)

    def update(self, estimate: np.ndarray, time: float, dt: float,
               moved: float | None = None) -> np.ndarray:
        """Feed this frame's estimate (3,) at ``time`` seconds, ``dt`` after the last one.

        ``moved`` is the median of the frame's per-pixel luma change since
        the last frame (absolute, an exposure change taken out; None when
        there is no last frame to compare with). An estimate whose luma rose
        by more than :data:`_JUMP` of the gate since the last estimate, in a
        frame whose median pixel moved less than :data:`_JUMP_MOVED` of that,
        is a bright object entering the airlight search, not the haze (fog,
        a pan and a dissolve move the picture): held like an outlier past the
        gate, until the estimates (the latest and the window's median) are
        back within half that of their level before the jump, or for
        ``hold`` seconds, and then believed (followed within the gate, as
        any estimate). Followed at once, a white truck crossing the horizon
        under a hazy sky took A 0.023 up over two seconds, and the sky,
        dehazed against it down to its floor of t, came out 14 levels
        darker, still 5 a second after the truck had gone (trial 168 F1).

        A fall of the estimates is never held as a jump: the airlight search
        reads the brightest haze, so an object entering it can only raise
        the estimate, and a fall is an object leaving (or the bright haze
        hidden), followed as before. Held too, a believed truck's leaving
        kept the sky 22-24 levels dark for 3 s after it had gone (trials 169
        F1 and 173 F1), and a run cut into batch segments, whose warm-up had
        not seen the truck arrive, differed from one pass by 24 levels
        (trial 173 F3). A rise to no more than half a jump above the level
        the estimates fell from (in one frame, or in several within
        :data:`_FALL_STEPS` seconds), within ``hold`` seconds of that fall,
        is no jump either: a dark car passing in front of a believed truck
        for 0.3 s held its reappearance for 3 s (trial 173 F2), and a
        second cover of the brightest haze, 2.5 s long, held its uncovering
        once the memory of the first had lapsed (trial 176 F1). An
        uncovering more than ``hold`` after its cover is held (trial 175
        F1: the sky 23 levels too bright for 3 s after a 4 s cover, where
        the code before the jump hold took 1.5 s), as is one a clip or a
        trim begins before (trial 177 F3). A truck arriving within ``hold``
        of another's leaving is not held (trials 176 F3, 177 F6). A longer
        memory would let more of them in and would part batch segments from
        one pass: a fall is remembered ``hold`` seconds and what it spares
        is a hold of as many, so a run that starts twice ``hold`` after a
        fall agrees with one pass (``DehazeConfig.memory_seconds``, which
        ``vidclear batch``'s default ``--overlap`` covers); remembered 6 s,
        a segment that had not seen the fall held an uncovering that one
        pass followed (trial 176 F2).
        """
        est = np.asarray(estimate, np.float64)
        last, self._last = self._last, est
        self._hist.append((time, est))
        while self._hist and self._hist[0][0] < time - self.window:
            self._hist.popleft()
        robust = _median_of([e for _, e in self._hist])
        if self.value is None:
            self.value = robust
            return self.value.astype(np.float32)
        self._track_drift(robust, dt)
        jumped = self._holds_jump(est, robust, last, moved, time, dt)
        if np.abs(robust - self.value).max() > self.gate:
            self._outlier_time += dt
            if self._outlier_time < self.hold:
                return self.value.astype(np.float32)
        else:
            self._outlier_time = 0.0
        if jumped:
            return self.value.astype(np.float32)
        step = ema_alpha(dt, self.tau / self.speedup) * (robust - self.value)
        limit = self.rate * dt
        self.value = self.value + np.clip(step, -limit, limit)
        return self.value.astype(np.float32)

    def _holds_jump(self, est: np.ndarray, robust: np.ndarray, last: np.ndarray | None,
                    moved: float | None, time: float, dt: float) -> bool:
        """Whether a jump of the estimates holds the value this frame (see :meth:`update`)."""
        size = _JUMP * self.gate
        lum = float(BT601 @ est)
        if self._jump_from is None:
            if last is None or moved is None:
                return False
            before = float(BT601 @ last)
            step = lum - before
            if abs(step) <= size or moved >= _JUMP_MOVED * abs(step):
                return False  # no jump: the picture moved with it, or it was small
            fell = self._fell_from
            if fell is not None and time - fell[1] > self.hold:
                fell = self._fell_from = None
            if step < 0.0:  # a fall: remembered for a rise back (from its top)
                top = before
                if fell is not None and time - fell[1] <= _FALL_STEPS:
                    top = max(top, fell[0])
                self._fell_from = (top, time)
                return False
            if fell is not None and lum <= fell[0] + 0.5 * size:
                return False  # no higher than where they fell from
            self._jump_from, self._jump_time = before, 0.0
        away = max(abs(lum - self._jump_from), abs(float(BT601 @ robust) - self._jump_from))
        self._jump_time += dt
        if away <= 0.5 * size or self._jump_time > self.hold:  # gone, or it lasted: believed
            self._jump_from = None
            return False
        return True

    def _luma_gap(self, estimate: np.ndarray) -> float:
        """|luma of ``estimate`` (3,) - luma of the value|; the value must be set."""
        assert self.value is not None
        return abs(float(BT601 @ (estimate - self.value)))

    def _track_drift(self, robust: np.ndarray, dt: float) -> None:
        """Seconds the median has stayed on one side of the value (``persist``)."""
        off = float(BT601 @ (robust - self.value))
        side = 1 if off > _DRIFT_MIN else (-1 if off < -_DRIFT_MIN else 0)
        self._side_time = self._side_time + dt if side != 0 and side == self._side else 0.0
        self._side = side

    @property
    def holding_jump(self) -> bool:
        """Whether a rise of the estimates is held as an object's (see :meth:`update`)."""
        return self._jump_from is not None

    @property
    def held_for(self) -> float:
        """Seconds the gate has held the estimates back as outliers (0 when it holds none)."""
        return self._outlier_time

    @property
    def speedup(self) -> float:
        """What ``tau`` is divided by: 1, growing by 1 every ``persist`` s a one-way drift lasts."""
        return 1.0 + self._side_time / self.persist if self.persist > 0 else 1.0

    def __repr__(self) -> str:
        v = None if self.value is None else np.round(self.value, 4).tolist()
        return (f"AirlightTracker(tau={self.tau:g}, window={self.window:g}, "
                f"rate={self.rate:g}, gate={self.gate:g}, hold={self.hold:g}, "
                f"persist={self.persist:g}, value={v})")


class VeilTracker:
    """The darkest pixels' level, smoothed, and fast back to levels it lately held.

    The level of a frame's darkest pixels (in units of the airlight) bounds
    the veil the haze lays over the whole frame from above: dark pixels
    prove there is at most that much haze, bright content only hides them.
    The level is smoothed with time constant ``tau`` into new ground (fog
    thickening, a bright object filling the view, a dark one entering),
    but it goes back ``fall`` times faster to any level it held in the
    last ``memory`` seconds (never slower than at ``tau``): what it was a
    moment ago is no new guess. A white truck that filled the frame for a
    second lifted the level from 0.40 to 0.93 of A; when it left, the level
    took a quarter of a second to come back and the output stayed up to 29
    levels darker than before the truck for 0.4 s. Seen the other way, a
    truck that swerved and showed the road for 0.2 s dropped the level,
    which then rose at ``tau`` and left the output too bright for a second.

    A drop into new ground that only a few places of an otherwise steady
    frame show is held for ``hold`` seconds, as the airlight's gate holds a
    bright object. The caller passes the same level measured in each tile of
    the frame (a 3 × 3 split, say). When fewer than half of the tiles'
    levels fell by more than ``margin`` since the last frame that was not
    held and every other tile's level stayed within ``margin`` of where it
    was, the drop is local: from then on, for ``hold`` seconds, a level more
    than ``margin`` below the tracked one (and below everything it held in
    the last ``memory`` seconds) is replaced by the level before the drop.
    A dark car entering a hazy view set the whole frame's level, and the
    untouched background of the output brightened by up to 45 levels within
    a quarter second. A drop that most tiles share (fog thinning, a white truck that
    filled the frame leaving) or one with other tiles moving too (a new
    view) is followed at once. A tile that falls alone, the others steady,
    keeps its reference until the drop is local or over, so a car darkening
    as it comes out of the fog (less than ``margin`` a frame) adds up all
    the same. The time held grows while a local drop lasts and shrinks as
    fast when it is gone, so a car that hides for a moment is still
    believed as part of the scene after ``hold`` seconds in view, as a
    still with it would be.

    A rise into new ground is followed ``rise`` times slower than a fall.
    A higher level makes the dehaze stronger, and most rises are the view's
    content, not the haze: a pan that takes the dark pixels out of view
    (they proved the haze thin a moment ago) lifted the level, and at
    ``tau`` the output of a pan over a steady hazy view darkened by 20
    levels in two thirds of a second while the input stayed within 3. The
    tiles cannot tell that from haze thickening (on that pan most of them
    rose too), so thickening haze is followed slower as well, the output
    a little light for a moment: the safe side.

    Parameters
    ----------
    tau : float
        Time constant, seconds; 0 follows every measurement at once.
    memory : float
        Seconds of history whose range is returned to fast, >= 0.
    fall : float
        How much faster the level goes back within that range, >= 1.
    hold : float
        Seconds a local drop is held, >= 0; 0 never holds.
    margin : float
        How far (in the level's units) the level and a tile's level must
        fall to count as a drop, and how far the other tiles may move, >= 0.
    rise : float
        How much slower than at ``tau`` the level rises into new ground,
        >= 1; 1 follows rises and falls alike.
    """

    def __init__(self, *, tau: float, memory: float = 3.0, fall: float = 4.0,
                 hold: float = 0.0, margin: float = 0.05, rise: float = 1.0) -> None:
        if tau < 0 or memory < 0 or hold < 0 or margin < 0 or not fall >= 1 or not rise >= 1:
            raise ConfigError(f"tau, memory, hold and margin must be >= 0, fall and rise >= 1 "
                              f"(got tau={tau}, memory={memory}, hold={hold}, margin={margin}, "
                              f"fall={fall}, rise={rise})")
        self.tau, self.memory, self.fall = float(tau), float(memory), float(fall)
        self.hold, self.margin, self.rise = float(hold), float(margin), float(rise)
        self._held = 0.0  # seconds a local drop has been held (shrinks when none is)
        # (level, tile levels) of the last frame whose drop was not held
        self._ref: tuple[float, np.ndarray] | None = None
        # (level, tile levels) the level is held to while a bright object hides
        # the darkest pixels (see _hidden_rise), and how long it has been held
        self._anchor: tuple[float, np.ndarray] | None = None
        self._hidden = 0.0
        self._tile_high: np.ndarray | None = None  # each tile's highest level outside holds
        # running minimum and maximum of the level over `memory` s: (time, level)
        # pairs, the levels increasing (lows) and decreasing (highs)
        self._lows: deque[tuple[float, float]] = deque()
        self._highs: deque[tuple[float, float]] = deque()
        self.value: float | None = None

    def reset(self) -> None:
        """Forget the level and its history."""
        self._lows.clear()
        self._highs.clear()
        self.value = None
        self._held = 0.0
        self._ref = None
        self._anchor, self._hidden, self._tile_high = None, 0.0, None

    def update(self, level: float, time: float, dt: float, tiles: np.ndarray | None = None,
               new_scene: bool = False, dissolving: bool = False,
               hidden: bool = False) -> float:
        """Feed this frame's ``level`` at ``time`` seconds, ``dt`` after the last one.

        ``tiles``, when given, are the same level in each tile of the frame
        (see the class notes); a local drop is held for ``hold`` seconds.
        ``new_scene`` (a cut) holds nothing: the frame's levels are measured
        afresh, not against the last shot's. While ``dissolving`` into
        another shot the level rises at ``tau`` too (the new shot's level is
        no content of the old). With ``hidden`` (pixels of the frame left
        out of its tiles' levels: a near object) the tiles' reference is
        kept from before: the tiles that lost their darkest pixels to the
        object's mask read higher meanwhile, and taken as the reference, a
        dark car stopping where it was no near object any more came back as
        five tiles falling, no local drop, and the whole picture lost 13-20
        levels of its dehaze while it stood (trial 166 F1). Returns the
        smoothed level.
        """
        if new_scene:
            self._held, self._ref = 0.0, None
            self._anchor, self._hidden, self._tile_high = None, 0.0, None
        arr = None if tiles is None else np.array(tiles, np.float64)  # a copy: kept as _ref
        holding = False
        if arr is not None and self.value is not None and self.hold > 0 and self._ref:
            before, ref = self._ref
            if self._held < self.hold and self._fell_locally(arr, ref, self.margin) is not None:
                # new dark pixels in a few places of a steady frame: the level
                # it had before them, until they have lasted `hold` seconds
                # (counted from the first tile's drop; the frame's own level
                # falls once they are its darkest share)
                self._held += dt
                floor = min(self.value, self._lows[0][1]) if self._lows else self.value
                if level < floor - self.margin:
                    level = max(level, min(before, self.value))
                holding = True
        if arr is not None and not holding and self.value is not None and self.hold > 0:
            level = self._hidden_rise(level, arr, dt)
        if not holding:
            believed = self._held >= self.hold  # a drop held its time: it is the scene now
            self._held = max(self._held - dt, 0.0)
            if arr is not None and not (hidden and self._ref is not None):
                # a tile falling alone keeps its reference, so a slow local
                # drop (a car coming out of the fog) adds up
                falling = None
                if (self._ref is not None and self.hold > 0 and self.value is not None
                        and not believed):
                    falling = self._fell_locally(arr, self._ref[1], 0.2 * self.margin)
                self._ref = ((self._ref[0], np.where(falling, self._ref[1], arr))
                             if self._ref is not None and falling is not None
                             else (float(level), arr))
        if self.value is None:
            self.value = float(level)
        else:
            low = self._lows[0][1] if self._lows else self.value
            high = self._highs[0][1] if self._highs else self.value
            tau = self.tau * (self.rise if level > self.value and not dissolving else 1.0)
            smoothed = self.value + ema_alpha(dt, tau) * (level - self.value)
            back = self.value + ema_alpha(dt, self.tau / self.fall) * (
                min(max(level, low), high) - self.value)
            if abs(back - self.value) > abs(smoothed - self.value):
                smoothed = back  # fast back within the recent range
            self.value = smoothed
        v = self.value
        while self._lows and self._lows[-1][1] >= v:
            self._lows.pop()
        self._lows.append((time, v))
        while self._highs and self._highs[-1][1] <= v:
            self._highs.pop()
        self._highs.append((time, v))
        for held in (self._lows, self._highs):
            while held[0][0] < time - self.memory:
                held.popleft()
        return v

    def _hidden_rise(self, level: float, tiles: np.ndarray, dt: float) -> float:
        """``level``, or the rise the tiles show when the frame's level rose past all of them.

        The frame's level lies between its tiles' levels. When the tiles stay
        within half a ``margin`` of where they were, but for fewer than half
        of them that rose, and the frame's level rises more than half a
        margin past the largest rise among the steady ones, its darkest
        pixels were hidden, not veiled: a white lorry passing over the dark
        corner that held most of them (the dense-haze level rose 0.45 -> 0.53
        while no tile moved, or 0.46 -> 0.62 with the corner's tile alone,
        and the untouched background darkened by 21 and 11 levels). The
        level is then held to the anchor's plus the steady tiles' rise for up
        to ``hold`` seconds, after which it is the scene's (as a still with
        the lorry would be). Tiles that fall or move together (fog thickening
        moves them all), a tile rising back to a level it had outside such a
        hold (a dark car driving off), or a level at or below the anchor's
        set a new anchor.
        """
        half = 0.5 * self.margin
        anchor, high = self._anchor, self._tile_high
        if anchor is not None and high is not None:
            change = tiles - anchor[1]
            rose = change > half
            # a tile back at a level it had (a dark car driving off) is no hiding
            new = bool(np.all(tiles[rose] > high[rose] + 0.2 * self.margin))
            if (new and int(rose.sum()) < tiles.size / 2
                    and bool(np.all(np.abs(change[~rose]) <= half))):
                rise = max(float(change[~rose].max()), 0.0)
                if level > anchor[0] + rise + half and self._hidden < self.hold:
                    self._hidden += dt
                    return anchor[0] + rise
                if level > anchor[0] and self._hidden < self.hold:
                    self._hidden = max(self._hidden - dt, 0.0)
                    self._tile_high = np.maximum(high, tiles)
                    return level
        self._anchor, self._hidden = (float(level), tiles), 0.0
        self._tile_high = tiles.copy() if high is None else np.maximum(high, tiles)
        return level

    def _fell_locally(self, tiles: np.ndarray, ref: np.ndarray, by: float) -> np.ndarray | None:
        """The tiles whose level fell more than ``by`` below ``ref``, when that is a local fall.

        Local: fewer than half of the tiles fell, and every other one stayed
        within ``margin`` of its reference. None otherwise.
        """
        fell = tiles < ref - by
        n = int(fell.sum())
        if 0 < n < tiles.size / 2 and bool(np.all(np.abs(tiles - ref)[~fell] <= self.margin)):
            return fell
        return None

    def __repr__(self) -> str:
        return (f"VeilTracker(tau={self.tau:g}, memory={self.memory:g}, fall={self.fall:g}, "
                f"hold={self.hold:g}, margin={self.margin:g}, rise={self.rise:g}, "
                f"value={self.value})")


class NeighbourDropHold:
    """Drops of a per-pixel haze field that only a pixel's neighbours show, held.

    The dark channel reads each pixel's haze as the minimum over a patch, and
    :func:`~vidclear.dehaze.scene.veil_around` bounds it by the darkest
    pixels within a tenth of the frame: both fall where a dark object (an
    overpass, its shadow, a dark car) enters a steady hazy view near fog or
    sky that did not change, and the dehaze of those untouched pixels
    weakened in one frame. A dark band entering under a still hazy sky
    lifted the sky above it by 22 levels (trial 165 F4; rows the band never
    reached), a dark car the background beside it by up to 19 (the quality
    report's objects set). This is :class:`VeilTracker`'s local-drop hold,
    per pixel: where the field fell more than ``margin`` while the pixel's
    own level (its min channel of ``I / A``, which no neighbour moves) did
    not fall by as much, the field keeps its level for ``hold`` seconds,
    then follows with time constant ``tau``, as a still with the object
    would be; the way back up after a hold (the object leaving) is eased
    with ``tau`` too (a sign that stayed past the hold stepped the road
    beside it 5-12 levels as it left, trial 166 F3). A fall the pixel
    shares (fog thinning, an exposure change the airlight did not follow,
    the object over the pixel itself), any other rise and a new view are
    followed at once; a pixel the object passes over keeps its level from
    before for ``hold`` seconds, so the drop around it once the object has
    passed on is held as well (an overpass shadow passing down a hazy view
    left the sky it had crossed 19 levels light, trial 167 F1).

    Parameters
    ----------
    hold : float
        Seconds a drop is held, >= 0; 0 holds nothing.
    tau : float
        Time constant of the fall after the hold, and of the way back up
        after one, seconds, >= 0.
    margin : float
        The least fall of the field (units of A) that counts as a drop, and
        the most the pixel's own level may fall with it, >= 0.
    """

    def __init__(self, *, hold: float = 0.0, tau: float = 0.0, margin: float = 0.05) -> None:
        if not (hold >= 0 and tau >= 0 and margin >= 0):
            raise ConfigError(f"hold, tau and margin must be >= 0 (got hold={hold}, tau={tau}, "
                              f"margin={margin})")
        self.hold, self.tau, self.margin = float(hold), float(tau), float(margin)
        # per pixel: the field and its own level before a drop, the seconds
        # held, and the seconds its own level has been away (kept meanwhile)
        self._state: np.ndarray | None = None

    def reset(self) -> None:
        """Forget every pixel's level (the next field is taken as it is)."""
        self._state = None

    def update(self, field: np.ndarray, own: np.ndarray, dt: float, new_view: bool) -> None:
        """Hold ``field``'s drops in place.

        Parameters
        ----------
        field : ndarray
            (h, w) float32, this frame's field (the dark channel's haze, the
            veil around each sample), units of A; overwritten with the held
            field.
        own : ndarray
            (h, w) float32, each pixel's own level at the same samples (min
            channel of ``I / A``), units of A.
        dt : float
            Seconds since the last frame.
        new_view : bool
            A cut or a new view: every sample starts afresh.
        """
        state = self._state
        fresh = new_view or state is None or state.shape[1:] != field.shape
        if state is None or fresh:
            state = self._state = np.zeros((4, *field.shape), np.float32)
        prm = np.array([dt, self.hold, self.margin, ema_alpha(dt, self.tau), float(fresh)])
        hold_drops(field, own, state[0], state[1], state[2], state[3], prm)

    def __repr__(self) -> str:
        return f"NeighbourDropHold(hold={self.hold:g}, tau={self.tau:g}, margin={self.margin:g})"


class DensityTracker:
    """Haze density with backlash hysteresis and smoothing, mapped to a strength factor.

    The tracked density only moves when the measurement leaves a band of
    ``±hysteresis`` around it, then follows with time constant ``tau``. The
    factor ramps linearly from 0 at ``low`` to 1 at ``high``, so clear
    footage (low dark channel) passes unchanged and fog is removed once it
    thickens.

    Parameters
    ----------
    low, high : float
        Density ramp ends, 0 <= low < high <= 1.
    tau : float
        Time constant, seconds.
    hysteresis : float
        Half-width of the dead band, >= 0.
    """

    def __init__(self, *, low: float = 0.1, high: float = 0.25, tau: float = 0.5,
                 hysteresis: float = 0.02) -> None:
        if not 0 <= low < high <= 1 or tau < 0 or hysteresis < 0:
            raise ConfigError("need 0 <= low < high <= 1, tau >= 0 and hysteresis >= 0")
        self.low = float(low)
        self.high = float(high)
        self.tau = float(tau)
        self.hysteresis = float(hysteresis)
        self.density: float | None = None

    def reset(self) -> None:
        """Forget the tracked density."""
        self.density = None

    def factor(self, density: float) -> float:
        """The strength factor in [0, 1] for a density."""
        return min(max((density - self.low) / (self.high - self.low), 0.0), 1.0)

    def update(self, measured: float, dt: float) -> float:
        """Feed this frame's density; return the strength factor in [0, 1]."""
        if self.density is None:
            self.density = float(measured)
        else:
            target = min(max(self.density, measured - self.hysteresis),
                         measured + self.hysteresis)
            self.density += ema_alpha(dt, self.tau) * (target - self.density)
        return self.factor(self.density)

    def __repr__(self) -> str:
        return (f"DensityTracker(low={self.low:g}, high={self.high:g}, tau={self.tau:g}, "
                f"hysteresis={self.hysteresis:g}, density={self.density})")


# SceneCutDetector: a histogram jump is no cut when the frame is the last one
# through an affine map of its luma (a fade, an exposure step) that explains
# it: the sampled lumas correlate by at least the first of these, the second
# where either frame's luma spreads less than _FADE_SPREAD (standard
# deviation: a fade from white over thick fog, whose frames x264's noise
# and rounding decorrelate to 0.72-0.91; two different faint shots, 0) ...
_FADE_CORRELATION = (0.9, 0.7)
_FADE_SPREAD = 0.01
# ... and the map's gain lies within this factor of 1 (a fade's frame-to-frame
# step; a clear view turned to thick fog in one frame is a cut) ...
_FADE_GAIN = 1.5
# ... and, when it changes the contrast by _FADE_CONTRAST or more, the level
# it leaves alone (luma) is black or white, below or above _FADE_ENDS (a
# fade, an exposure step), not in between (the same view under thicker fog
# leaves its airlight alone: a cut to it is one). A smaller change is a
# fade's frame-to-frame step, and leaves too little to tell the level by; so
# does the gain of a faint pair that correlates less than _FADE_SURE (a fade
# from white over thick fog: 0.85-0.94, the level read 0.58-0.88; the same
# dark view cut from fog t = 0.3 to 0.2: 0.98, the level 0.86, its airlight).
_FADE_ENDS = (0.1, 0.9)
_FADE_CONTRAST = 0.1
_FADE_SURE = 0.95
# A step of _FADE_CONTRAST or more is a fade's only when the frame before also
# moved, its mean luma by at least this: a hard cut comes out of a steady
# shot. White fog (A 0.92-0.95) leaves a level that reads as white, and a
# cut between two thicknesses of it was taken for a fade (trial 30: 88
# levels dark 1 s after).
_FADE_MOVING = 0.002


# Below this distance a cut must also change most of the picture: the median
# pixel's luma by more than _CUT_CHANGED (the least at a hard cut between two
# pans over hazy photos: 0.035). A white truck filling a fifth of the view in
# one frame moves the histogram by 0.2 and the median pixel not at all.
_CUT_ALONE = 0.5
_CUT_CHANGED = 0.02


class SceneCutDetector:
    """Scene cuts from the distance between consecutive colour histograms.

    The distance is half the L1 difference of the normalised 32-bin
    histograms of each channel, averaged over channels: 0 for identical
    frames, 1 for frames with no colour in common. Histograms ignore where
    things are, so camera motion does not trigger cuts.

    A jump past ``threshold`` is not a cut when the frame is the last one
    seen through a fade or an exposure step, an affine map of its luma:
    when the sampled lumas of the two frames correlate by at least 0.9
    (Pearson; 0.7 where either frame's luma has a standard deviation under
    0.01, whose noise and rounding decorrelate a faint fade's frames) and
    the line between them (its gain the ratio of their spreads) has a gain
    within 1.5x of 1. A gain 0.1 or more from 1 needs more: the frame before
    moved too (its mean luma by 0.002 or more: a fade under way; a hard cut
    comes out of a steady shot), and, unless the frames are faint and
    correlate by less than 0.95, the level the line leaves alone is black
    (below 0.1: a fade from black, an exposure step) or white (above 0.9: a
    fade from white). The same view under thicker fog is an affine map too,
    ``I' = a I + (1 - a) A``, but it leaves the airlight alone, and a hard
    cut to it stays a cut (under white fog, whose airlight reads as white,
    by the steady shot before it). A low-contrast frame (thick fog, a fade
    from white) has a narrow histogram, and a fade moving it across a bin
    boundary jumped past 0.5 every three to five frames; each false cut
    reset the airlight to one frame's measurement, and a dark scene under
    fog fading in from white flickered between near white and near black
    (steps of 166 levels, a new-user trial). A frame with almost no contrast
    (black, white) correlates with nothing: a fade through black into
    another shot still cuts where the new shot's histogram first moves.

    The default, 0.15, sits between the largest distance between
    consecutive frames of pans over hazy photos (0.043 over the tuning
    images, 0.074 over the real hazy stills) and the smallest at a hard cut
    between two of them (0.276, 0.187): at 0.5, foggy shots, whose
    histograms are narrow and grey, were cut into each other unseen and the
    old shot's airlight stayed for seconds (trial 53). Below 0.5 a cut must
    also change most of the picture (the median sampled luma by over 0.02;
    at least 0.035 at those cuts): a bright truck filling a fifth of a
    steady view in one frame moves the histogram by 0.2, the median pixel
    not at all, and its airlight is the gate's to hold.

    Parameters
    ----------
    threshold : float
        Distance above which a frame is a cut, in (0, 1]; 0 never cuts.
    """

    BINS = 32

    def __init__(self, *, threshold: float = 0.15) -> None:
        if not 0 <= threshold <= 1:
            raise ConfigError(f"threshold must be in [0, 1], got {threshold}")
        self.threshold = float(threshold)
        self._prev: tuple[np.ndarray, np.ndarray] | None = None
        self._moving = False  # the last frame's mean luma moved from the one before
        self.distance = 0.0

    def reset(self) -> None:
        """Forget the previous frame."""
        self._prev = None
        self._moving = False
        self.distance = 0.0

    @staticmethod
    def _step(img: np.ndarray) -> int:
        # every step-th row and column: about 8000 pixels or more
        return max(1, math.isqrt(img.shape[0] * img.shape[1] // 8192))

    def histogram(self, img: np.ndarray) -> np.ndarray:
        """Normalised (3, BINS) histogram of a working RGB image in [0, 1]."""
        arr = np.ascontiguousarray(img, dtype=np.float32)
        hist = colour_histogram(arr, self.BINS, self._step(arr))
        return hist / max(int(hist[0].sum()), 1)

    def update(self, img: np.ndarray) -> bool:
        """True when ``img`` starts a new scene (the first frame included)."""
        hist = self.histogram(img)
        step = self._step(img)
        luma = (np.asarray(img[::step, ::step], np.float32) @ BT601.astype(np.float32)).ravel()
        prev, self._prev = self._prev, (hist, luma)
        moving, self._moving = self._moving, (
            prev is not None and prev[1].shape == luma.shape
            and abs(float(luma.mean()) - float(prev[1].mean())) >= _FADE_MOVING)
        if prev is None:
            self.distance = 1.0
            return True
        self.distance = float(0.5 * np.abs(hist - prev[0]).sum() / 3.0)
        if not (self.threshold > 0 and self.distance > self.threshold):
            return False
        same = prev[1].shape == luma.shape
        if (same and self.distance <= _CUT_ALONE
                and float(np.median(np.abs(luma - prev[1]))) <= _CUT_CHANGED):
            return False  # most of the picture stayed: an object came into it
        return not (same and self._faded(prev[1], luma, moving))

    @staticmethod
    def _faded(before: np.ndarray, after: np.ndarray, moving: bool) -> bool:
        """Whether ``after`` is ``before`` through an affine map (see the class docstring).

        ``moving``: the frame before ``before`` differed from it in mean luma
        (a fade under way), needed for a step that changes the contrast by
        :data:`_FADE_CONTRAST` or more.
        """
        x = before.astype(np.float64) - float(before.mean())
        y = after.astype(np.float64) - float(after.mean())
        sxx, syy, sxy = float(x @ x), float(y @ y), float(x @ y)
        if sxx <= 0.0 or syy <= 0.0:
            return False  # a flat frame: nothing to tell a fade by
        # the line's gain as the ratio of the spreads (reduced major axis): the
        # least-squares slope shrinks towards 0 with the noise of a frame
        # with little contrast (a fade from white over thick fog)
        gain = math.sqrt(syy / sxx)
        corr = sxy / math.sqrt(sxx * syy)
        faint = min(sxx, syy) < _FADE_SPREAD ** 2 * x.size
        if not (corr >= _FADE_CORRELATION[faint] and 1.0 / _FADE_GAIN <= gain <= _FADE_GAIN):
            return False
        if abs(1.0 - gain) < _FADE_CONTRAST:
            return True  # a fade's frame-to-frame step
        if not moving:
            return False  # a large step out of a steady shot: a cut
        if faint and corr < _FADE_SURE:
            return True  # a gain too uncertain to tell the level by
        # the level the map leaves alone: black for a fade from black or an
        # exposure step, white for a fade from white; the airlight for fog
        # thickening or thinning, I' = a I + (1 - a) A (another shot)
        fixed = (float(after.mean()) - gain * float(before.mean())) / (1.0 - gain)
        return fixed <= _FADE_ENDS[0] or fixed >= _FADE_ENDS[1]

    def __repr__(self) -> str:
        return f"SceneCutDetector(threshold={self.threshold:g}, distance={self.distance:.3f})"
