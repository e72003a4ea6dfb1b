"""The dehazer: dark channel prior at working resolution, fast guided filter, recovery.

One frame goes through these steps:

1. Block-average the frame to the working size (about 180 pixels on the
   short side by default) as float32 in [0, 1].
2. Estimate the airlight A (``"dcp"`` or ``"quadtree"``), pull it towards
   grey by ``airlight_neutral`` (all the way when its saturation is beyond
   what haze shows, so a clear blue sky picked as A is not taken for haze)
   and, for video, smooth it robustly over time.
3. Dark channel of ``I / A``; its median is the haze density that drives the
   automatic strength (with hysteresis for video).
4. Raw transmission ``t = 1 - omega * strength * haze`` with ``haze`` the
   dark channel above ``clear_dark`` (the dark channel a haze-free scene
   keeps, rescaled to [0, 1]), blended by ``cap_weight`` with Zhu et al.'s
   colour attenuation prior [6]_ (depth linear in HSV value and saturation,
   minimum-filtered over the patch); then floored where the scene is
   bright and smooth: at ``sky_t`` where it has the airlight's colour (far
   fog, overcast sky: not stretched into noise and banding) rising to
   ``sky_chroma_t`` where it is coloured unlike A (clear blue sky, which
   the dark channel prior reads as haze); and raised per pixel to the
   ``luma_floor`` bound, capped by the veil of the frame's darkest
   pixels (below).
5. Guided-filter coefficients of ``t`` with the grey working image as guide,
   computed on guide and ``t`` block-averaged by ``guide_subsample`` (2:
   He and Sun's fast guided filter, radius scaled to match) and upsampled
   bilinearly wherever they are applied.
6. At full resolution: upsample the coefficients bilinearly, apply them to
   the full-resolution grey (He and Sun's fast guided filter), recover
   ``J = (I - A) / max(t, t0) + A``, apply colour-cast gains and a tone
   curve that keeps the median luminance at least ``brightness`` times the
   input's, and quantise, all in one pass.

The luma floor is a boundary constraint on J in the sense of Meng et al.
[5]_: where the recovered colour would be darker than plausible, t is
raised to the value at which it reaches the boundary. The dark channel
prior reads any surface whose own dark channel is high (grey asphalt,
concrete, white walls) as haze and drives it towards black; He et al. [1]_
note this failure for objects similar to the airlight. Haze removal
legitimately darkens a pixel while restoring its colour, so the bound
credits chroma one for one: in units of A, recovery ``u' = 1 + (u - 1) / t``
scales chroma ``C = max - min`` by ``1 / t``, and requiring ``L' + C' >=
luma_floor * L`` (L the luma) gives ``t >= (1 - L - C) / (1 - luma_floor *
L)``. A grey surface keeps at least ``luma_floor`` of its luminance; a
coloured one may darken as far as its restored saturation pays for. The
floor never keeps haze the whole frame shows: the darkest 0.5 % of pixels
(min channel of ``I / A``, smoothed with ``auto_tau`` for video) carry a
veil ``v`` that every pixel carries too, since a haze-free scene has
near-black pixels (He et al.'s observation, at the scale of the frame; the
atmospheric veil of Tarel and Hautière [7]_ is bounded the same way), so
the bound is capped at ``1 - omega * strength * max(v - black_level, 0)``.
A pale road under thick haze loses its veil; a grey road in a frame whose
darkest pixels are near black keeps its luminance. The chroma credit itself
scales with the same veil: in full once ``v`` is ``chroma_veil`` above
``black_level``, less below, so under light haze (or none) a bluish-grey
facade is not darkened and saturated on the strength of the colour it would
gain; heavy haze, which really did wash the colour out, keeps the full credit.

All of these guards are for light haze and clear scenes, where the prior
over-reads haze. Once even the darkest 2 % of pixels carry a veil of
``dense_low`` (0.4 of A) the haze is thick for sure; between ``dense_low``
and ``dense_high`` (0.7) the luma floor and the colour attenuation blend
fade out, the grey sky floor fades to half and the brightness guard to a
quarter, so thick fog loses its veil instead of keeping it. Over the same
range the ``"dcp"`` airlight search moves from the ``patch`` dark channel
to the narrower ``airlight_patch`` one: where no region is opaque the wide
window finds only textured hazy regions and reads A too dark, which
``1 / t - 1`` multiplies (see ``Dehazer._dense_airlight``).

For video the raw transmission is smoothed over ``t_tau`` seconds where
the scene stood still (the working grey's local mean change and t's own
change both small, the airlight steady): x264 keeps fine texture in P
frames and drops it in B frames, the dark channel reads that as a little
more or less haze, and in thick haze ``1 / t`` turned it into a brightness
ripple. Moving content follows at once, so nothing ghosts.

The colour-cast gains limit the recovered mean chromaticity to the input's
own cast plus a tolerance; as recovery grows the scene's colour offsets by
about ``1 / t``, the input's cast is first grown by ``1 / mean(t)``, at
most 1.25 times (in thick haze the input's cast is mostly the haze's own).
On video the gains follow over ``airlight_tau`` as a cast eases and over
0.3 s as it grows, so a warm haze thickening under a pan is not let through.

References
----------
.. [1] K. He, J. Sun and X. Tang, "Single image haze removal using dark channel
   prior", CVPR 2009.
.. [2] K. He, J. Sun and X. Tang, "Guided image filtering", ECCV 2010.
.. [3] K. He and J. Sun, "Fast guided filter", arXiv:1505.00996, 2015.
.. [4] J.-H. Kim, W.-D. Jang, J.-Y. Sim and C.-S. Kim, "Optimized contrast
   enhancement for real-time image and video dehazing", JVCIR 24(3), 2013.
.. [5] G. Meng, Y. Wang, J. Duan, S. Xiang and C. Pan, "Efficient image
   dehazing with boundary constraint and contextual regularization",
   ICCV 2013.
.. [6] Q. Zhu, J. Mai and L. Shao, "A fast single image haze removal
   algorithm using color attenuation prior", IEEE TIP 24(11), 2015.
.. [7] J.-P. Tarel and N. Hautière, "Fast visibility restoration from a
   single color or gray level image", ICCV 2009.
"""

from __future__ import annotations

import math
import sys
import types
import warnings
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from vidclear.dehaze import _kernels as _k
from vidclear.dehaze import _yuv_kernels as _ky
from vidclear.dehaze.airlight import (
    LUMA,
    airlight_quadtree,
    candidates,
    neutral_pull,
    veil_colour,
)
from vidclear.dehaze.compensation import compensation
from vidclear.dehaze.config import DehazeConfig
from vidclear.dehaze.dcp import as_rgb
from vidclear.dehaze.overlay import OverlayBands
from vidclear.dehaze.picture import fill_bars, inside, picture_bounds
from vidclear.dehaze.scene import (
    _AROUND_MARGIN,
    _DENSE_MIN_AIR,
    depth_weight,
    drifted_haze,
    lifted_haze,
    light_haze_weight,
    scene_levels,
    texture_weight,
    veil_around,
)
from vidclear.dehaze.temporal import (
    AirlightTracker,
    DensityTracker,
    NeighbourDropHold,
    SceneCutDetector,
    VeilTracker,
    ema_alpha,
    exposure_gain,
    luma_blocks,
    luma_map,
)
from vidclear.dehaze.workspace import Workspace
from vidclear.errors import ArrayError, ConfigError
from vidclear.kernels import _filters as _kf
from vidclear.kernels.threads import ThreadChoice

__all__ = ["DehazeResult", "Dehazer", "dehaze_image"]

_FRAME_DT = 1.0 / 30.0  # assumed frame interval without timestamps
_MAX_GAP = 5.0  # a larger jump in timestamps (or a backwards one) is a seek
_GAPS_WARNED = 3  # so many such jumps in a row are warned about once (wrong unit?)
_MIN_AIRLIGHT = 0.05
# The darkest pixels of a frame: the share whose level (min channel of I / A)
# gives the veil the whole image carries; 0.5 % ignores noise and hot pixels.
_VEIL_QUANTILE = 0.005
# Transmission smoothing (t_tau) holds only where the working grey's local
# mean change (a box of radius _STILL_RADIUS) stays below _STILL_CHANGE and t
# itself moved less than _STILL_T_CHANGE, and not across an airlight step
# larger than _T_AIR_STEP (t belongs to its A).
_STILL_RADIUS = 2
_STILL_CHANGE = 0.02
_T_AIR_STEP = 0.01
_STILL_T_CHANGE = 0.1
# In dense haze the luma floor and the colour attenuation blend go; the
# brightness guard and the grey sky floor keep these shares (a floor of 0.15
# x the input's median, t >= 0.15 in bright flat regions): a frame that is
# nearly white (a fade from white, a fog bank) is otherwise stretched by up
# to 1 / t0 = 10 and its noise and blocks with it. The brightness share was
# 0.5 (0.3 x the median) until the airlight was read right in thick haze:
# a dark scene under thick fog is darker than that (made dense haze +0.5 dB).
_DENSE_BRIGHTNESS = 0.25
_DENSE_SKY = 0.5
# Both levels rise into new ground this many times slower than auto_tau (the
# stronger dehaze waits; a lighter one comes at once): a pan that took a
# steady hazy view's dark pixels out of sight darkened the output by 20
# levels in 0.7 s where the input stayed within 3 (he_22; the pans' flicker
# 0.00291 -> 0.00278, 1.21 -> 1.16 x the input's). Fog rolling in over 2 s
# is followed 3.6 levels light 0.5-1 s after (0.9 at auto_tau).
_VEIL_RISE = 4.0
# ... only in a steady view: a frame whose median pixel changed by more than
# this since the last frame (exposure changes taken out) is a new view, and
# nothing is held (cuts the histogram test missed, to the same hazy scene
# shifted by 40-330 px: 0.025-0.084, with their levels barely moved; pans
# and shake in the tests' and trials' clips: 0.01-0.048; a dark car
# entering a steady view: 0).
_NEW_VIEW = 0.02
# The share whose level tells dense haze (the guards fade): 2 %, so one small
# dark object entering or leaving the frame does not switch them.
_DENSE_QUANTILE = 0.02
# The airlight follows a measurement the whole frame moved with (fog rolling
# in): the quantile of the per-pixel luma change, and its share of the
# airlight's change (set on the fog transitions of a new-user trial, checked
# against the white-truck flicker clip; see _frame_moved_with).
_FOLLOW_QUANTILE = 0.25
_FOLLOW_SHARE = 0.25
# the least move of A's luma through the picture's affine change (per second)
# that carries A with it (Dehazer._carry)
_CARRY_RATE = 0.3
# ... and the fastest change of contrast it follows, |ln slope| per second (fog
# rolling in fast at speed: t 0.8 -> 0.2 in a second is 1.4)
_CARRY_CONTRAST = 3.0
# The small-window airlight search fades out again as the darkest pixels'
# veil goes from the first to the second level (units of the measured A):
# the whole frame is then within 10 % of A, fog or one bright surface filling
# the view, and the wide search's A is off by at most (1 - veil) A. (The
# tuning and held-out pairs reach 0.84; a white truck filling the frame, 0.93.)
_OPAQUE_VEIL = (0.85, 0.95)
# time constant of a falling thick-haze airlight correction on video, seconds
_OFFSET_FALL_TAU = 0.15
# Luma above the airlight's over which t rises to 1 (no haze brighter than A)
_ABOVE_AIR = 0.2
# time constant of following a measurement that left A step by step, seconds
_GRADUAL_TAU = 0.3
# A dissolve into another shot (see _dissolving), looked for over these spans
# of the last frames (seconds): three quarters of the pixels' luma changed by
# _DISSOLVE_CHANGE or more over the span, and the frame halfway through is a
# mix of the span's ends: its change correlates with the whole span's by at
# least _DISSOLVE_CORRELATION, at a share within _DISSOLVE_SHARE.
_DISSOLVE_SPANS = (0.25, 0.5, 1.0)
_DISSOLVE_CHANGE = 0.01
_DISSOLVE_CORRELATION = 0.95
_DISSOLVE_SHARE = (0.25, 0.75)
# ... and A follows the median of the last estimates, this many, once all of
# them left it the same way, during the dissolve and for _DISSOLVE_AFTER
# seconds after it was last seen (A arrives; the chase then carries it on)
_DISSOLVE_MEDIAN = 5
_DISSOLVE_AFTER = 0.5
# Colour-cast gains within this of 1 and a tone exponent within that of 1
# move no output by more than half a level (0.002 × 255; x - x^0.995 is at
# most 0.005 / e of full scale): they are applied as none.
_GAIN_DEAD = 0.002
_GAMMA_DEAD = 0.005
# FFmpeg's names (``-colorspace``, ``-color_range``) of the YUV standards the
# YUV path reads; BT.470BG and SMPTE 170M carry the BT.601 matrix
_COLORSPACES = {"bt601": "bt601", "bt470bg": "bt601", "smpte170m": "bt601", "bt709": "bt709",
                "unknown": "bt601"}  # untagged: read as swscale reads it
_RANGES = {"tv": False, "mpeg": False, "limited": False, "unknown": False, "pc": True,
           "jpeg": True, "full": True}


@dataclass(frozen=True, eq=False)
class DehazeResult:
    """Everything one dehazed frame produced.

    Attributes
    ----------
    image : ndarray or None
        The dehazed image, same shape, layout and dtype as the input (None
        from :meth:`Dehazer.process_yuv420`, which returns ``planes``).
    transmission : ndarray
        Refined transmission at working resolution, float32 h×w in [t0, 1]
        (h = ceil(H / subsample), w = ceil(W / subsample)).
    raw_transmission : ndarray
        Transmission before the guided filter (after the sky floor and the
        temporal smoothing), float32 h×w.
    dark_channel : ndarray
        Dark channel of ``I / A`` at working resolution, float32 h×w, >= 0.
    airlight : ndarray
        Airlight used, float32 (3,) RGB in [0, 1] of the input's full scale.
    strength : float
        Effective strength, ``strength`` times the automatic factor, in [0, 1].
    density : float
        Measured haze density (median of ``dark_channel``).
    subsample : int
        Block factor between the input and the working image.
    scene_cut : bool
        True when this frame reset the temporal state.
    gains : ndarray
        Colour-cast gains applied, float32 (3,).
    gamma : float
        Exponent of the brightness tone curve, in (0, 1].
    planes : tuple of ndarray or None
        Dehazed (Y, U, V) uint8 planes from :meth:`Dehazer.process_yuv420`,
        else None.
    """

    image: np.ndarray | None
    transmission: np.ndarray
    raw_transmission: np.ndarray
    dark_channel: np.ndarray
    airlight: np.ndarray
    strength: float
    density: float
    subsample: int
    scene_cut: bool
    gains: np.ndarray
    gamma: float
    planes: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None


@dataclass(frozen=True, eq=False)
class _Seen:
    """What :meth:`Dehazer._measure` read of one frame before the airlight is tracked."""

    measured: np.ndarray  # (3,) float, the frame's own airlight estimate in [0, 1]
    bounds: tuple[int, int, int, int]  # the picture inside bars and strips (picture_bounds)
    prev: np.ndarray | None  # the last frame's working luma (h, w) float32
    gain: float  # exposure gain since the last frame (exposure_gain)
    mapped: tuple[float, float] | None  # the affine luma map since the last, gain <= 1 (luma_map)
    dark: np.ndarray  # (h, w) float32 scratch, the dark channel once A is tracked
    cut: bool  # the scene starts afresh: a cut, a seek or a strip found at an edge
    scene_cut: bool  # a cut or a seek (reported in the result)
    new_view: bool  # most of the picture changed since the last frame
    dissolving: bool  # a cross-dissolve is under way or just ended
    moved: float | None  # the median pixel's |luma change| since the last, exposure out


@dataclass(frozen=True, eq=False)
class _Analysis:
    """Working-resolution outcome of one frame, shared by the RGB and YUV paths."""

    air: np.ndarray
    dark: np.ndarray
    traw: np.ndarray
    coeffs: np.ndarray
    tlow: np.ndarray
    gains: np.ndarray
    gamma: float
    density: float
    strength: float
    cut: bool

    @property
    def identity(self) -> bool:
        """Strength 0 (read as clear), no gains, no tone curve: the recovery returns the input.

        With strength 0 every transmission floor and prior gives t = 1, so
        ``J = (I - A) / t + A`` is ``I``; the full-resolution pass is skipped.
        """
        return self.strength == 0.0 and not self.tone_curve and not self.colour_gains

    @property
    def tone_curve(self) -> bool:
        """A tone exponent below 1 (one within ``_GAMMA_DEAD`` of 1 is set to 1)."""
        return self.gamma < 1.0

    @property
    def colour_gains(self) -> bool:
        """Colour-cast gains other than 1 (ones within ``_GAIN_DEAD`` are set to 1)."""
        return bool(np.any(self.gains != 1.0))

    def result(self, image: np.ndarray | None, s: int,
               planes: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> DehazeResult:
        return DehazeResult(
            image=image, transmission=self.tlow, raw_transmission=self.traw,
            # a copy: written in place, the dehazer's own moved every later
            # frame by a level (trial 117 F5)
            dark_channel=self.dark, airlight=self.air.copy(), strength=self.strength,
            density=self.density, subsample=s, scene_cut=self.cut,
            gains=self.gains.astype(np.float32), gamma=self.gamma, planes=planes)


class Dehazer:
    """Stateful video dehazer: call it once per frame, in order.

    Parameters
    ----------
    config : DehazeConfig, optional
        Settings; the keyword arguments override its fields.
    **params
        Any :class:`DehazeConfig` field, e.g. ``strength=0.8``.

    Raises
    ------
    TypeError
        ``config`` is not a :class:`DehazeConfig`.
    ConfigError
        A setting is unknown or out of its range (the message says which).

    Attributes
    ----------
    transmission, dark_channel, airlight, strength, density : see DehazeResult
        Values of the last frame (None before the first call).
    last : DehazeResult or None
        The full result of the last frame.

    Notes
    -----
    Frames are RGB (never BGR). Timestamps (seconds) drive every time
    constant, so variable frame rate is exact; without timestamps frames are
    taken to be 1/30 s apart. A timestamp that goes backwards or jumps by more
    than 5 s, or a histogram jump above ``scene_cut`` that no fade explains,
    resets the temporal state; a dissolve into another shot is followed over
    a third of a second. At 1920×1080 uint8 a frame costs a few milliseconds
    on two cores (see ``scripts/bench_dehaze.py``).

    Examples
    --------
    >>> dehazer = Dehazer(strength=0.9)
    >>> for rgb, t in frames:                       # doctest: +SKIP
    ...     clean = dehazer(rgb, timestamp=t)
    ...     print(dehazer.airlight, dehazer.strength)
    """

    def __init__(self, config: DehazeConfig | None = None, **params: Any) -> None:
        self._air = AirlightTracker()
        self._density = DensityTracker()
        self._cuts = SceneCutDetector()
        self._overlay = OverlayBands()  # a dashcam's light time/GPS strip, kept through cuts
        self._bands = (0, 0)  # its confirmed rows at the top and bottom, working size
        # levels of the darkest _VEIL_QUANTILE (the luma floor's veil, restarted at
        # cuts) and _DENSE_QUANTILE (the dense-haze level, kept through cuts), units of A
        self._veil_t = VeilTracker(tau=0.0, rise=_VEIL_RISE)
        self._dense_t = VeilTracker(tau=0.0, rise=_VEIL_RISE)
        # drops of the dark channel's haze and of the veil around each pixel
        # that only a pixel's neighbours show (restarted at cuts)
        self._haze_hold, self._around_hold = NeighbourDropHold(), NeighbourDropHold()
        self._ws: Workspace | None = None
        self.config = DehazeConfig.coerce_params(config, params)
        self._time: float | None = None
        self._gaps = 0  # forward jumps past _MAX_GAP in a row
        self._t_prev: np.ndarray | None = None
        self._t_air: np.ndarray | None = None  # the airlight _t_prev was computed with
        self._comp: tuple[np.ndarray, float] | None = None
        self._t_mean: float | None = None  # last frame's mean transmission
        self._air_ref: np.ndarray | None = None  # working grey when A last agreed
        # each working pixel's largest rise from one frame to the next since then
        self._air_steps: np.ndarray | None = None
        self._lifting = False  # A following the haze as the frame lifts towards a held A
        # (time, sampled working grey) of the last second's frames, for _dissolving,
        # and when a dissolve was last seen
        self._recent: deque[tuple[float, np.ndarray]] = deque()
        self._dissolved_at = -math.inf
        self._air_offset: np.ndarray | None = None  # the thick-haze airlight correction
        self._veil_evidence: float | None = None  # a saturated A is a veil's colour (0..1)
        self._texture: float | None = None  # the strength's share by the frame's texture
        self._prev_grey: np.ndarray | None = None  # last working grey, for exposure changes
        self._prev_blocks: np.ndarray | None = None  # ... and its luma_blocks, for luma_map
        self.last: DehazeResult | None = None
        self._threads = ThreadChoice()

    @property
    def config(self) -> DehazeConfig:
        """The settings, a :class:`DehazeConfig`.

        One assigned here applies from the next frame, the temporal state
        kept; anything else raises ``TypeError`` and changes nothing.
        """
        return self._config

    @config.setter
    def config(self, config: DehazeConfig) -> None:
        if not isinstance(config, DehazeConfig):  # nothing is changed by a refused value
            raise TypeError(f"config must be a DehazeConfig, got {type(config).__name__} "
                            "(dataclasses.replace(dehazer.config, strength=0.5) makes one)")
        self._config = config
        air, density = self._air, self._density
        air.tau, air.window, air.rate = config.airlight_tau, config.airlight_window, \
            config.airlight_rate
        air.gate, air.hold, air.persist = config.airlight_gate, config.airlight_hold, \
            config.airlight_persist
        density.low, density.high = config.auto_low, config.auto_high
        density.tau, density.hysteresis = config.auto_tau, config.auto_hysteresis
        self._veil_t.tau = self._dense_t.tau = config.auto_tau
        self._veil_t.hold = self._dense_t.hold = config.airlight_hold
        for held in (self._haze_hold, self._around_hold):
            held.hold, held.tau = config.airlight_hold, config.auto_tau
        self._cuts.threshold = config.scene_cut
        if self._ws is not None and self._ws.gs != config.guide_subsample:
            self._ws = None  # rebuilt for the new guide subsampling on the next frame

    # -- state ------------------------------------------------------------
    def reset(self) -> None:
        """Forget all temporal state (the next frame starts afresh)."""
        self._forget_scene()
        self._cuts.reset()
        self._overlay.reset()
        self._texture = None
        self._bands = (0, 0)
        self._time = None
        self._gaps = 0
        self._dense_t.reset()

    def _forget_scene(self) -> None:
        """Drop what was learnt about the scene (a cut, a seek, a stale airlight)."""
        self._air.reset()
        self._density.reset()
        self._t_prev = None
        self._comp = None
        self._veil_t.reset()
        self._haze_hold.reset()
        self._around_hold.reset()
        self._prev_grey = None
        self._prev_blocks = None
        self._t_mean = None
        self._air_ref = None
        self._air_steps = None
        self._lifting = False
        self._recent.clear()
        self._dissolved_at = -math.inf
        self._air_offset = None
        self._veil_evidence = None

    def _clock(self, timestamp: float | None) -> tuple[float, float, bool]:
        if timestamp is None:
            now = 0.0 if self._time is None else self._time + _FRAME_DT
        else:
            try:
                if isinstance(timestamp, (str, bytes, bool)):  # float("1"), float(True) take them
                    raise TypeError
                now = float(timestamp)
            except (TypeError, ValueError):
                raise ConfigError(f"timestamp must be a number of seconds, got {timestamp!r}"
                                  ) from None
            if not math.isfinite(now):
                raise ConfigError(
                    f"timestamp must be a finite number of seconds, got {timestamp!r}")
        if self._time is None:
            self._time = now
            return now, _FRAME_DT, False
        dt = now - self._time
        self._time = now
        if dt < 0 or dt > _MAX_GAP:
            self._gaps = self._gaps + 1 if dt > _MAX_GAP else 0
            if self._gaps == _GAPS_WARNED:
                # milliseconds (33, 67, 100 ...) read as seconds: every frame a
                # seek, the temporal smoothing restarted on each, silently
                warnings.warn(f"Dehazer: the timestamps stepped by more than {_MAX_GAP:g} s on "
                              f"{_GAPS_WARNED} frames in a row (the last by {dt:g}): each "
                              "is dehazed afresh, without temporal smoothing; timestamps "
                              "are seconds (milliseconds? divide them by 1000)",
                              RuntimeWarning, stacklevel=_caller_level())
            return now, _FRAME_DT, True
        self._gaps = 0
        return now, dt, False

    @property
    def transmission(self) -> np.ndarray | None:
        """Working-resolution transmission of the last frame."""
        return None if self.last is None else self.last.transmission

    @property
    def dark_channel(self) -> np.ndarray | None:
        """Working-resolution dark channel of ``I / A`` of the last frame."""
        return None if self.last is None else self.last.dark_channel

    @property
    def airlight(self) -> np.ndarray | None:
        """RGB airlight in [0, 1] used for the last frame."""
        return None if self.last is None else self.last.airlight

    @property
    def strength(self) -> float | None:
        """Effective strength of the last frame."""
        return None if self.last is None else self.last.strength

    @property
    def density(self) -> float | None:
        """Haze density of the last frame."""
        return None if self.last is None else self.last.density

    def _workspace(self, rows: int, cols: int, s: int) -> Workspace:
        ws = self._ws
        if ws is None or ws.key != (rows, cols, s):
            ws = self._ws = Workspace(rows, cols, s, self.config.guide_subsample)
        return ws

    # -- processing -------------------------------------------------------
    def __call__(self, image: np.ndarray, timestamp: float | None = None) -> np.ndarray:
        """Dehaze one frame; see :meth:`process` for the accepted layouts."""
        out = self.process(image, timestamp=timestamp).image
        assert out is not None  # the RGB path always returns an image
        return out

    def process(self, image: np.ndarray, timestamp: float | None = None) -> DehazeResult:
        """Dehaze one frame and return the image with its transmission, airlight, ...

        Parameters
        ----------
        image : ndarray
            RGB H×W×3 (RGBA H×W×4 keeps alpha; grey H×W or H×W×1 is treated
            as three equal channels), uint8 (0..255), uint16 (0..65535) or
            float in [0, 1]. Any strides. Not modified.
        timestamp : float, optional
            Presentation time in seconds.

        Returns
        -------
        DehazeResult
            ``image`` has the input's shape and dtype.

        Raises
        ------
        ArrayError
            ``image`` has another layout or dtype, is empty, or holds NaN or
            Inf (or float values outside [0, 1]).
        ConfigError
            ``timestamp`` is not a finite number of seconds.
        """
        rgb, restore = as_rgb(image)
        rgb = _read_only(rgb)  # one kernel signature for any caller (see _read_only)
        now, dt, seek = self._clock(timestamp)
        rows, cols = rgb.shape[:2]
        full = 255.0 if rgb.dtype == np.uint8 else 65535.0
        s = self._factor(rows, cols)
        ws = self._workspace(rows, cols, s)
        with self._threads.frame():
            an, out = self._process_rgb(rgb, ws, s, full, now, dt, seek)
        self.last = an.result(restore(out), s)
        return self.last

    def _process_rgb(self, rgb: np.ndarray, ws: Workspace, s: int, full: float, now: float,
                     dt: float, seek: bool) -> tuple[_Analysis, np.ndarray]:
        down = _kf.downsample_area_u8 if rgb.dtype == np.uint8 and s <= 16 else _kf.downsample_area
        down(rgb, s, 1.0 / full, ws.low)
        _k.planes_of(ws.low, ws.planes)
        an = self._analyse(ws, now, dt, seek, None)
        if an.identity:
            return an, rgb.copy()

        # full-resolution recovery
        if an.tone_curve:  # through a LUT indexed on a fine grid
            size = 4096 if rgb.dtype == np.uint8 else 65536
            lut = np.rint(full * np.linspace(0.0, 1.0, size) ** an.gamma).astype(rgb.dtype)
            top = size - 1.0
        else:  # identity tone curve: write the quantised value directly
            lut = np.empty(0, rgb.dtype)
            top = full
        prm = np.concatenate([an.gains * top / full, an.air * an.gains * top, LUMA / full,
                              [self.config.t0, top, float(LUMA @ an.air)]]).astype(np.float32)
        out = np.empty_like(rgb)
        _k.recover(rgb, an.coeffs, s * ws.gs, prm, lut, out)
        return an, out

    def process_yuv420(self, y: np.ndarray, u: np.ndarray, v: np.ndarray,
                       timestamp: float | None = None, *, colorspace: str = "bt601",
                       color_range: str = "tv") -> DehazeResult:
        """Dehaze one frame given as 8-bit YUV 4:2:0 planes (BT.601 or BT.709, either range).

        The same algorithm and temporal state as :meth:`process`, on the
        decoder's planes: the working image is built by block-averaging Y
        (and chroma over the same blocks) and converting that small image to
        RGB, so airlight, dark channel, trackers and guided-filter
        coefficients are computed exactly as for RGB input; the full
        resolution guide is the standard's luma, ``(Y - 16) / 219`` in
        limited range (for BT.601, the RGB path's grey before clipping). The
        recovery ``J = (I - A) / t + A`` is affine, so it is applied to Y with
        the airlight's Y and to U, V with its chroma and the mean of ``1 / t``
        over each 2×2 block. When colour-cast gains
        or the brightness tone curve are active (they do not commute with the
        matrix), every pixel goes through RGB inside one fused kernel
        instead, with the RGB path's arithmetic.

        Parameters
        ----------
        y : ndarray
            Luma, uint8 H×W, H and W even.
        u, v : ndarray
            Chroma, uint8 H/2×W/2 each.
        timestamp : float, optional
            Presentation time in seconds.
        colorspace : {"bt601", "bt709"}
            The YUV matrix, by FFmpeg's names (``"bt470bg"``,
            ``"smpte170m"`` and ``"unknown"``, untagged, are BT.601): ITU-R
            BT.601-7 or BT.709-6. The output planes are in the same standard.
        color_range : {"tv", "pc"}
            Limited range (Y 16..235, chroma 16..240; also ``"mpeg"``,
            ``"limited"``, ``"unknown"``) or full range (0..255, as JPEG;
            also ``"jpeg"``, ``"full"``).

        Returns
        -------
        DehazeResult
            ``image`` is None; ``planes`` holds the dehazed (Y, U, V), new
            C-contiguous uint8 arrays of the input shapes.

        Raises
        ------
        ArrayError
            Planes that are not 2-D uint8, odd or empty sizes, chroma not
            half the luma's size.
        ConfigError
            A colorspace or range not listed above.
        """
        space = _COLORSPACES.get(colorspace) if isinstance(colorspace, str) else None
        full = _RANGES.get(color_range) if isinstance(color_range, str) else None
        if space is None or full is None:
            bad = f"colorspace {colorspace!r}" if space is None else f"color_range {color_range!r}"
            raise ConfigError(f"process_yuv420: unsupported {bad}; colorspace is one of "
                              f"{', '.join(_COLORSPACES)}, color_range one of {', '.join(_RANGES)}")
        model = _ky.YUV_MODELS[space, full]
        y, u, v = (np.asarray(p) for p in (y, u, v))
        if any(p.dtype != np.uint8 or p.ndim != 2 for p in (y, u, v)):
            raise ArrayError("yuv420 planes must be 2-D uint8 arrays")
        rows, cols = y.shape
        if rows == 0 or cols == 0 or rows % 2 or cols % 2:
            raise ArrayError(f"yuv420 planes need even, non-zero sizes, got {y.shape}")
        if u.shape != (rows // 2, cols // 2) or v.shape != u.shape:
            raise ArrayError(f"chroma planes must be {(rows // 2, cols // 2)}, "
                             f"got {u.shape} and {v.shape}")
        # Read-only views, whatever the caller's flags (see _read_only).
        y, u, v = (_read_only(np.ascontiguousarray(p)) for p in (y, u, v))
        now, dt, seek = self._clock(timestamp)
        s = self._factor(rows, cols)
        ws = self._workspace(rows, cols, s)
        with self._threads.frame():
            an, planes = self._process_yuv(y, u, v, model, ws, s, now, dt, seek)
        self.last = an.result(None, s, planes)
        return self.last

    def _process_yuv(self, y: np.ndarray, u: np.ndarray, v: np.ndarray, model: _ky.YuvModel,
                     ws: Workspace, s: int, now: float, dt: float, seek: bool
                     ) -> tuple[_Analysis, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        rows, cols = y.shape
        h, w = ws.h, ws.w
        t0 = self.config.t0
        yuvlow = ws.yuvlow()
        (_kf.downsample_area_u8 if s <= 16 else _kf.downsample_area)(
            y[:, :, None], s, 1.0, yuvlow[0].reshape(h, w, 1))
        if s % 2 == 0 and s <= 32:
            # each s×s luma block is an (s/2)×(s/2) block of chroma: a plain
            # block mean, on the Numba threads (chroma_area, for any s, is
            # serial and ran 0.25 ms a plane at 1080p, 3.7 × the luma's cost
            # per sample)
            for c, dst in ((u, yuvlow[1]), (v, yuvlow[2])):
                _kf.downsample_area_u8(c[:, :, None], s // 2, 1.0, dst.reshape(h, w, 1))
        else:
            _ky.chroma_area(u, s, rows, cols, yuvlow[1])
            _ky.chroma_area(v, s, rows, cols, yuvlow[2])
        guide = np.empty((h, w), np.float32)
        _ky.yuv_to_low(yuvlow[0], yuvlow[1], yuvlow[2], model.mats[0], model.guide, ws.planes,
                       ws.low, guide)
        an = self._analyse(ws, now, dt, seek, guide)
        if an.identity:
            return an, (y.copy(), u.copy(), v.copy())

        yo, uo, vo = np.empty_like(y), np.empty_like(u), np.empty_like(v)
        if not an.tone_curve and not an.colour_gains:
            air = (model.to_yuv @ (255.0 * an.air.astype(np.float64)) + model.offset)
            _ky.recover_yuv_linear(y, u, v, an.coeffs, s * ws.gs, air.astype(np.float32),
                                   np.float32(t0), model.guide, yo, uo, vo)
        else:
            if an.tone_curve:
                lut = np.rint(255.0 * np.linspace(0.0, 1.0, 4096) ** an.gamma).astype(np.uint8)
                top = 4095.0
            else:
                lut = np.empty(0, np.uint8)
                top = 255.0
            prm = np.concatenate([an.gains * top / 255.0, an.air * an.gains * top,
                                  [t0, top, float(model.luma @ an.air)], model.guide]
                                 ).astype(np.float32)
            _ky.recover_yuv_rgb(y, u, v, an.coeffs, s * ws.gs, prm, lut, model.mats, yo, uo, vo)
        return an, (yo, uo, vo)

    def _factor(self, rows: int, cols: int) -> int:
        cfg = self.config
        return cfg.subsample or max(1, round(min(rows, cols) / cfg.work_size))

    def _analyse(self, ws: Workspace, now: float, dt: float, seek: bool,
                 guide: np.ndarray | None) -> _Analysis:
        """Everything at working resolution, from ``ws.low`` to the guided-filter coefficients.

        ``ws.low`` (h, w, 3) and ``ws.planes`` (3, h, w) hold the same
        working image, both filled by the caller.

        ``guide`` (h×w float32), when given, replaces the luma-weighted grey
        of ``ws.low`` as the guided filter's guide (and in the sky test and
        the statistics), so it matches the full-resolution guide.

        Four steps: the frame's own airlight measurement and what changed
        since the last frame (:meth:`_measure`), the tracked airlight
        (:meth:`_follow_airlight`), the raw transmission
        (:meth:`_transmission`), and the guided-filter coefficients with the
        recovery's statistics and colour compensation (:meth:`_coefficients`).
        """
        seen = self._measure(ws, now, dt, seek)
        air, inv_air = self._follow_airlight(ws, seen, now, dt)
        traw, density, strength, guard = self._transmission(ws, seen, air, inv_air, now, dt,
                                                            guide)
        return self._coefficients(ws, seen, air, traw, density, strength, guard, dt)

    def _measure(self, ws: Workspace, now: float, dt: float, seek: bool) -> _Seen:
        """The frame's airlight measurement, its picture bounds, what changed since the last.

        Fills ``ws.grey`` and ``ws.minc`` with the luma and min channel of
        ``I``; updates the scene-cut detector, the burnt-in strips, the last
        frame's luma and the dissolve test.
        """
        cfg = self.config
        h, w = ws.h, ws.w
        low, grey, minc, planes = ws.low, ws.grey, ws.minc, ws.planes
        cut = self._cuts.update(low) or seek
        if cut:
            self._forget_scene()

        dark = np.empty((h, w), np.float32)
        r = cfg.patch // 2
        _k.grey_minc(planes, LUMA, ws.ones, grey, minc)
        bounds = picture_bounds(grey)  # black bars: measured on I, before any A
        scene_cut = cut
        bands, self._bands = self._bands, self._overlay.update(minc, now)
        top, bottom = self._bands
        if top or bottom:  # a strip burnt in at an edge is no more haze than black bars
            # with the working row at its edge, which holds the strip and the
            # scene where its height is no whole number of working rows: a dark
            # strip's sliver there was the darkest 0.5 % of the frame, and the
            # road above a 38 px strip at 540p stayed veiled, 14 levels light
            # (trial 68)
            top, bottom = top + (top > 0), bottom + (bottom > 0)
            bounds = (max(bounds[0], top), min(bounds[1], h - bottom), bounds[2], bounds[3])
        if bands != self._bands and not cut:
            # A strip burnt in at an edge was just confirmed (or is gone): what
            # was learnt so far was learnt on it; the A tracked was its level,
            # which the gate held for good (a grey strip's 0.90 for a whole
            # clip, the scene 7.5 levels dark). The scene starts afresh, as at
            # a cut. (Caught up with instead, the tracker's memory of the value
            # before took A back to the strip's level.) So does the dense-haze
            # level, which a cut keeps (for fades): it was measured on the
            # strip's text too, and rising four times slower than it falls, it
            # left the picture 27 levels off a fresh dehaze a second after a
            # white strip was found over a slow pan (trial 67's speed).
            self._forget_scene()
            self._dense_t.reset()
            cut = True
        # A fade or an exposure step scales every radiance, the airlight's too:
        # the tracked A follows at once instead of lagging behind its gate
        # (and then jumping when half the frame has passed it).
        prev, self._prev_grey = self._prev_grey, grey.copy()
        blocks, prev_blocks = luma_blocks(grey), self._prev_blocks
        self._prev_blocks = blocks
        new_view = True  # nothing to compare with: the veil levels hold nothing
        gain, mapped, moved = 1.0, None, None
        if not cut and prev is not None and prev.shape == grey.shape:
            gain = exposure_gain(grey, prev, ws.step)
            if gain <= 1.0 and prev_blocks is not None:
                mapped = luma_map(blocks, prev_blocks)
            # Most of the picture changed at once (a cut the histogram test
            # missed, a fast pan over fine detail): the darkest pixels' levels
            # are the new view's, not an object's entering a steady one.
            st = ws.step
            # (and whether the picture moved with a jump of the airlight
            # estimate: AirlightTracker.update)
            moved = _k.strided_median(
                np.abs(grey[::st, ::st] - np.float32(gain) * prev[::st, ::st]), 1)
            new_view = moved > _NEW_VIEW
        if self._dissolving(grey, now, ws.step):
            self._dissolved_at = now
        dissolving = now - self._dissolved_at <= _DISSOLVE_AFTER
        if cfg.airlight == "dcp":
            _kf.min_filter2d(minc, r, dark)
            measured = _k.airlight_top(low, candidates(dark, minc, bounds),
                                       cfg.airlight_fraction, 0.1, LUMA)
            measured = self._dense_airlight(measured, ws, dark, bounds, dt, gain, dissolving)
        else:
            measured = airlight_quadtree(low, grey=grey)
        pull = neutral_pull(measured, cfg.airlight_neutral)
        if pull > cfg.airlight_neutral:  # too saturated for haze, unless a veil's colour
            pull = neutral_pull(measured, cfg.airlight_neutral,
                                veil=self._veil_colour(measured, ws, bounds, dt))
        measured = measured + pull * (measured.mean() - measured)
        measured = np.clip(measured, _MIN_AIRLIGHT, 1.0)
        return _Seen(measured, bounds, prev, gain, mapped, dark, cut, scene_cut, new_view,
                     dissolving, moved)

    def _follow_airlight(self, ws: Workspace, seen: _Seen, now: float, dt: float
                         ) -> tuple[np.ndarray, np.ndarray]:
        """The tracked airlight A and 1 / A, (3,) float32, for this frame.

        The temporal tracker's gate holds A against a bright object crossing;
        the rules here let it follow the measurement past the gate when the
        frame shows the haze itself changed. Leaves the luma, min channel and
        dark channel of ``I / A`` in ``ws.grey``, ``ws.minc`` and ``seen.dark``.
        """
        cfg = self.config
        grey, minc, planes = ws.grey, ws.minc, ws.planes
        measured, bounds, prev, dark = seen.measured, seen.bounds, seen.prev, seen.dark
        cut, dissolving = seen.cut, seen.dissolving
        r = cfg.patch // 2
        if seen.gain < 1.0 and seen.mapped is not None:
            # Light taken away reads as an exposure gain below 1, a fade from
            # white too, which is no multiplication: scaled by the gain, A
            # fell under the sky's level, which came out 26 levels over its
            # input (trial 163 F2). The map has the fade's offset.
            self._air.scale(seen.mapped[0], chase=_GRADUAL_TAU, offset=seen.mapped[1])
        elif seen.gain != 1.0:
            self._air.scale(seen.gain, chase=_GRADUAL_TAU)
        elif seen.mapped is not None and self._air.value is not None:
            self._carry(seen.mapped, measured, dt)

        def use(value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            """A and 1 / A; grey, minc and dark of ``I / A`` in the workspace."""
            air = np.clip(value, _MIN_AIRLIGHT, 1.0).astype(np.float32)
            inv_air = (1.0 / air).astype(np.float32)
            _k.grey_minc(planes, LUMA, inv_air, grey, minc)
            fill_bars(minc, bounds)
            _kf.min_filter2d(minc, r, dark)
            return air, inv_air

        def track(measured: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            """Tracked A and 1 / A; grey, minc and dark of ``I / A`` in the workspace."""
            # (in a dissolve the estimates jump as the shots take turns)
            return use(self._air.update(measured, now, dt,
                                        None if dissolving else seen.moved))

        def haze_shown(target: np.ndarray) -> np.ndarray | None:
            """``target`` (3,), scaled down to the haze the frame shows if it brightened.

            The five rules below follow a brighter measurement past the gate
            because the frame moved with it (fog thickening, a pan into
            brighter fog, a dissolve), half of it passed A (a tunnel exit) or
            the fog is thick. Where the median pixel brightened, A goes no
            higher than the airlight search finds without the objects that
            entered since A last agreed (:func:`drifted_haze`): the haze the
            frame shows. None when that is no brighter than A: the rule has
            nothing to follow and does not count as fired (a catch-up to
            where A is restarts the gate's hold). Followed all the way, a
            white van driving in as light fog thickened fast (trial 96)
            passed the dissolve rule and then the frame-moved rule, became
            A within 0.6 s, and the sky beside it fell 27 levels in 8
            frames; with four of the rules bounded, a lorry covering half
            the frame at dawn passed the half-frame rule a moment later,
            and its faster follow stepped the road by 22 levels (trial 94's
            clips). A frame that darkened on the whole (a dissolve into a
            darker shot whose haze is brighter) keeps the target.
            """
            t_lum = float(LUMA @ target)
            if (t_lum <= a_lum or self._air_ref is None or self._air_steps is None
                    or self._air_ref.shape != grey.shape):
                return target
            share = drifted_haze(ws, grey, self._air_ref, self._air_steps, bounds,
                                 t_lum - a_lum, r, cfg.airlight_fraction)
            if share >= 1.0:
                return target
            return target * share if t_lum * share > a_lum else None

        # haze: dark channel of I / A, density and strength
        air, inv_air = track(measured)
        a_lum = float(LUMA @ air)
        gate = self._airlight_gate()
        caught = False
        if (self._frame_moved_with(measured, a_lum, grey, prev, gate, ws.step, cut)
                and (target := haze_shown(measured)) is not None):
            # The whole frame brightened (or darkened) with the measured
            # airlight since A last agreed with it: fog thickening or
            # thinning, not a bright object crossing (which moves the
            # measurement and its own pixels only; the gate holds A for it).
            # A held by the gate meanwhile left the output up to 50 levels
            # off a fresh dehaze for 2 s as fog rolled in.
            air, inv_air = use(self._air.catch_up(target, now, dt, settle=target is measured))
            a_lum, caught = float(LUMA @ air), True
        if (not cut and self._air.gradual(gate)
                and self._half_moved_with(measured, a_lum, grey, ws.step)
                and (target := haze_shown(measured)) is not None):
            # The measurement left A step by step and most of the frame moved
            # with it: a pan into brighter (or darker) fog, not a truck, which
            # moves it in one jump. Held by the gate until half the frame was
            # brighter than A, a pan into brighter fog overshot the input and
            # then fell by 28 levels in 8 frames; it is followed as it goes,
            # over _GRADUAL_TAU (the 0.15 s catch-up dipped the output by 4
            # levels on its first frame when a truck came out of fog). The
            # window is kept: the steps are the evidence.
            air, inv_air = use(self._air.catch_up(target, now, dt, _GRADUAL_TAU,
                                                  restart=False, settle=target is measured))
            a_lum, caught = float(LUMA @ air), True
        departed = self._air.departed(_DISSOLVE_MEDIAN, gate) if dissolving else None
        if (departed is not None and not (cut or caught)
                and (target := haze_shown(departed)) is not None):
            # The picture is dissolving into another shot: three quarters of
            # it changed, each pixel on its own straight path (a truck or a
            # pan changes some pixels fully and others not yet), and the
            # last estimates all left A the same way. No cut is seen, and
            # the gate held the old shot's A for airlight_hold and the rate
            # limit after it: the output stayed 10-13 levels off a fresh
            # dehaze for 4-6 s after 1 s dissolves between hazy stills. A
            # follows their median, as a pan into other fog is followed,
            # over _GRADUAL_TAU. (Estimates that jump to either side of A,
            # as in a fade from white over a dark church whose windows and
            # fog take turns, are left to the gate.) The thick-fog rule below
            # then keeps out of it: its slower follow of the raw measurement
            # left A 0.1 too bright after a dissolve into a dark church in
            # fog, the output 27-54 levels dark a second later.
            air, inv_air = use(self._air.catch_up(target, now, dt, _GRADUAL_TAU,
                                                  restart=False, settle=target is departed))
            a_lum, caught = float(LUMA @ air), True
        if (not cut and float(LUMA @ measured) > a_lum + cfg.airlight_gate
                and _k.strided_median(grey, ws.step) > a_lum
                and (target := haze_shown(measured)) is not None):
            # Half the frame is brighter than the airlight, which a hazy
            # scene never is, and this frame measures a brighter one: the
            # tracked A is stale (tunnel exit, a pan into a bright region),
            # so it follows the measurement fast, past its gate, over a few
            # frames (one jump made the output drop by up to 55 levels).
            # (A bright truck crossing moves the measurement, not the
            # median: the gate holds A.)
            air, inv_air = use(self._air.catch_up(target, now, dt, settle=target is measured))
            a_lum, caught = float(LUMA @ air), True
        m_lum = float(LUMA @ measured)
        haze_top = 0.0
        if (not (cut or caught) and m_lum > a_lum + cfg.airlight_gate
                and (self._air.held_for >= cfg.airlight_persist or self._lifting)
                and self._air_ref is not None and self._air_ref.shape == grey.shape
                and self._air_steps is not None):
            haze_top = m_lum * lifted_haze(ws, grey, self._air_ref, self._air_steps, bounds,
                                           m_lum - a_lum, r, cfg.airlight_fraction)
        self._lifting = haze_top > a_lum
        if self._lifting:
            # The gate has held a brighter measurement for airlight_persist
            # while most of the frame brightened towards it: haze thickening
            # under an A read too dark (the search found the fog's own level
            # only once more of it showed). Held until half the frame was
            # brighter than A, the output of a pan into thickening fog
            # climbed 33 levels in a second (the pixels above A are left
            # undehazed) and then fell 46 in 0.4 s (trial 92 F1). A follows
            # with airlight_tau, faster while the drift lasts, and goes on
            # frame by frame while the lift lasts; but no higher than the
            # airlight search finds without the objects that entered: the
            # haze the frame itself shows (its brightest pixel was a clipped
            # lamp's, trial 95; leaving out every pixel that moved half the
            # gap left out what a pan brings in too, and a pan into bright
            # fog kept A at 0.57 of the fog's 0.92, trial 97 F4). Followed
            # all the way, a white lorry standing half the frame wide in
            # slowly thickening fog became A within 1.7 s, 34 levels above
            # the fog, and the road beside it darkened by 31 levels (trial
            # 94 F1).
            target = measured * (min(haze_top, m_lum) / m_lum)
            air, inv_air = use(self._air.catch_up(target, now, dt,
                                                  cfg.airlight_tau / self._air.speedup,
                                                  remember=False))
            a_lum, caught = float(LUMA @ air), True
        if not cut and self._air.returned(measured, now, gate):
            # A caught up with something past its gate (a white truck that
            # filled the frame as it came out of the fog) and the measurement
            # went back to where A was before: that has gone. Held by the
            # gate, A stayed 0.17 too bright and the output 29 levels darker
            # than before the truck for 4 s. (After three frames back there:
            # one frame whose bright haze a passing object hides is no return.)
            air, inv_air = use(self._air.restore(now, dt))
            a_lum, caught = float(LUMA @ air), True
        dense_before = self._dense_t.value
        if (not cut and departed is None and dense_before is not None
                and not self._air.holding_jump
                and float(np.abs(measured - air).max()) > gate
                and light_haze_weight(dense_before, cfg.dense_low, cfg.dense_high, a_lum) < 0.5
                and light_haze_weight(dense_before * a_lum / m_lum,
                                      cfg.dense_low, cfg.dense_high, m_lum) < 0.5
                and (target := haze_shown(measured)) is not None):
            # In thick fog the measurement is the fog itself, not a bright
            # car or sky, and 1 / t (up to 10) amplifies any error of A: a
            # stale A (a fog bank rolling in under a brighter sky's A) is
            # followed with airlight_tau, past the gate's hold and the rate
            # limit (they held it for 3 s and more, the output 35 % too dark),
            # and faster while the drift lasts (airlight_persist). The gate
            # narrows with t (see _airlight_gate). The haze must be thick in
            # units of the measured A too: a white lorry driving into the
            # view a little more each frame is measured as A (0.70 -> 1.0);
            # under it the darkest pixels' veil is a light one, and followed
            # here it dimmed the untouched background by 20 levels. A drift
            # of the fog's colour alone (its luma within the gate) is no
            # object to undo when the measurement comes back: taken for one,
            # A's colour stepped back to a value from seconds before as thick
            # warm smog thinned (B - R 12 levels in 3 frames, trial 90 F2); a
            # light sign taken for A is (its luma left A's). Not while a
            # rise of the measurement is held as an object's (a white truck
            # in one frame over a still picture): taken for the fog, it made
            # the sky 30 levels darker within 2 s in thick fog (trial 177 F5).
            air, inv_air = use(self._air.catch_up(
                target, now, dt, cfg.airlight_tau / self._air.speedup,
                remember=abs(m_lum - a_lum) > gate, settle=target is measured))
            a_lum, caught = float(LUMA @ air), True
        if not (cut or caught):
            # A catch-up stops its rule once A is back within the gate, and an
            # exposure step scales A by a gain that is close, not exact; both
            # left A up to a gate off, held there for airlight_hold (after a
            # cross-dissolve, a tunnel exit): they are carried through to the
            # measurement (AirlightTracker.finish).
            finished = self._air.finish(measured, now, dt, gate)
            if finished is not None:
                air, inv_air = use(finished)
                a_lum = float(LUMA @ air)
        return air, inv_air

    def _transmission(self, ws: Workspace, seen: _Seen, air: np.ndarray, inv_air: np.ndarray,
                      now: float, dt: float, guide: np.ndarray | None
                      ) -> tuple[np.ndarray, float, float, float]:
        """The raw transmission (h, w) float32, the haze density, the strength and the guard.

        Reads the darkest pixels' levels (veil, dense haze), the density and
        texture for the automatic strength, applies the priors and floors
        (dark channel, colour attenuation, sky, veil around, luma floor, no
        haze above A) and the transmission smoothing of still regions. The
        guard is the light-haze guards' weight (1 in full, 0 in dense haze).
        ``guide``, when given, replaces ``ws.grey`` from here on.
        """
        cfg = self.config
        h, w = ws.h, ws.w
        grey, minc, planes = ws.grey, ws.minc, ws.planes
        bounds, prev, dark = seen.bounds, seen.prev, seen.dark
        r = cfg.patch // 2
        a_lum = float(LUMA @ air)
        # The darkest pixels and the median haze are measured on the picture,
        # not on letterbox bars (black, they read as "no veil at all").
        levels, tiles, near = scene_levels(inside(minc, bounds), ws.step,
                                           (_VEIL_QUANTILE, _DENSE_QUANTILE))
        veil, dense = self._veil_level(levels, tiles, now, dt, seen.new_view,
                                       a_lum < _DENSE_MIN_AIR, seen.dissolving,
                                       near is not None)
        if guide is not None:
            grey[...] = guide
        density = _k.strided_median(inside(dark, bounds, margin=r), ws.step)
        factor = self._density.update(density, dt) if cfg.auto_strength else 1.0
        # the local means and squares of the grey for the sky floors (their
        # means, 15 px boxes, also tell a flat frame from its noise)
        sky = cfg.sky_t > 0 or cfg.sky_chroma_t > 0
        if sky:
            _k.sky_stack(grey, ws.stack)
            _kf.box_planes(ws.stack, r, ws.stats)
        else:
            _kf.box_planes(grey[None], r, ws.stats[:1])
        strength = cfg.strength * factor * self._texture_weight(ws.stats[0], bounds, ws.step, dt,
                                                                seen.cut)

        # The guards against over-dehazing light haze and clear scenes fade
        # once even the darkest 2 % of pixels carry a thick veil: there the
        # haze is dense for sure, and they would only keep it.
        guard = light_haze_weight(dense, cfg.dense_low, cfg.dense_high, a_lum)
        cap_weight, sky_t = cfg.cap_weight * guard, cfg.sky_t * max(guard, _DENSE_SKY)
        floor_k = cfg.luma_floor * guard

        # raw transmission with sky protection, optional temporal smoothing
        traw = np.empty((h, w), np.float32)
        stats = ws.stats if sky else ws.nostats
        haze = dark
        if cfg.clear_dark > 0:
            haze = np.maximum(dark - np.float32(cfg.clear_dark), np.float32(0))
            haze *= np.float32(1.0 / (1.0 - cfg.clear_dark))
        # A pixel whose own level (min channel of I / A) stayed put keeps its
        # haze when a darker neighbour enters the dark channel's patch, and
        # its bound when one enters the wide window (NeighbourDropHold): a
        # dark overpass band entering under a still hazy sky lifted the sky
        # by 22 levels in one frame (trial 165 F4), the dark channel's halo
        # and the wide window's alike.
        if haze is dark:
            haze = dark.copy()  # (dark is the frame's, for the airlight's search)
        self._haze_hold.update(haze, minc, dt, seen.new_view)
        own = minc[::2, ::2].copy()  # the veil-around samples' own (cap_depth writes minc)
        if cap_weight > 0:
            _k.cap_depth(planes, ws.minc)
            _kf.min_filter2d(ws.minc, r, ws.capd)
        prm = np.array([cfg.omega * strength, cap_weight, strength, sky_t,
                        cfg.sky_chroma_t], np.float64)
        _k.raw_transmission(haze, ws.capd, planes, inv_air, stats, prm, traw)
        # The haze at a pixel is at most the veil of the darkest pixels around
        # it plus as much again, up to _AROUND_MARGIN (see veil_around): a
        # bright facade or a blue sky wider than the patch read as haze, and
        # a clear scene or very light haze came out darker and worse than its
        # input.
        around = veil_around(haze, bounds, ws.around, near, r)
        self._around_hold.update(around, own, dt, seen.new_view)
        _k.bound_around(around, float(np.float32(cfg.omega * strength)), _AROUND_MARGIN, traw)
        if floor_k > 0:
            above = max(veil - cfg.black_level, 0.0)
            cap = 1.0 - cfg.omega * strength * above
            credit = min(above / cfg.chroma_veil, 1.0) if cfg.chroma_veil > 0 else 1.0
            _k.luma_floor(planes, inv_air, LUMA, floor_k, cap, traw, credit)
        # Brighter than the airlight is no haze (a lamp and its glow at night,
        # a cloud above the haze): t rises to 1 over _ABOVE_AIR of luma above
        # A's. Recovered as haze, I > A was pushed further from A by 1 / t, and
        # headlight glows at night became flat white disks.
        _k.above_airlight(grey, float(np.float32(a_lum)), float(np.float32(1.0 / _ABOVE_AIR)),
                          traw)
        if (cfg.t_tau > 0 and self._t_prev is not None and self._t_prev.shape == traw.shape
                and prev is not None and prev.shape == traw.shape
                and float(np.abs(air - self._t_air).max()) < _T_AIR_STEP):
            traw = self._smooth_transmission(traw, self._prev_grey - prev, dt)
        self._t_prev, self._t_air = traw, air
        return traw, float(density), float(strength), guard

    def _coefficients(self, ws: Workspace, seen: _Seen, air: np.ndarray, traw: np.ndarray,
                      density: float, strength: float, guard: float, dt: float) -> _Analysis:
        """Guided-filter coefficients of ``traw``, the recovery's statistics and compensation.

        The coefficients are fitted on the guide subsampled by ``ws.gs``
        (He and Sun's fast guided filter, 2015) and upsampled to the working
        size for the statistics; the colour-cast gains and tone exponent
        (:func:`~vidclear.dehaze.compensation.compensation`) follow over time.
        """
        cfg = self.config
        h, w, gs = ws.h, ws.w, ws.gs
        low, grey = ws.low, ws.grey
        bounds = seen.bounds
        # guided-filter coefficients on the guide subsampled by gs (fast guided
        # filter), then upsampled to the working size for the statistics
        if gs > 1:
            _k.shrink_pair(grey, traw, gs, ws.small)
            coeffs = _kf.guided_coeffs(ws.small[0], ws.small[1],
                                       max(1, round(cfg.radius / gs)), cfg.eps)
        else:
            coeffs = _kf.guided_coeffs(grey, traw, cfg.radius, cfg.eps)
        tlow = np.empty((h, w), np.float32)
        step = ws.step
        _k.recovery_stats(low, grey, coeffs, gs, step, air, cfg.t0, LUMA, tlow, ws.hist,
                          np.array(bounds, np.int64))
        self._t_mean = _k.strided_mean(tlow, step)
        gains, gamma = compensation(ws.hist, cfg, self._t_mean,
                                    cfg.brightness * max(guard, _DENSE_BRIGHTNESS))
        if self._comp is not None:
            # (in a dissolve they follow the new picture as A does)
            a = ema_alpha(dt, _GRADUAL_TAU if seen.dissolving else cfg.airlight_tau)
            # A gain moving further from 1 (a cast growing past the guard's
            # allowance) follows over _GRADUAL_TAU, one coming back over
            # airlight_tau: at airlight_tau both ways the gains lagged a clip
            # whose warm haze thickened for 8 s, and its output's B - R
            # reached -66 where the input's was -28 (the raw gains would
            # have held it at -40; trial 89 F3).
            prev = self._comp[0]
            tighten = np.abs(gains - 1.0) > np.abs(prev - 1.0)
            ag = np.where(tighten, max(a, ema_alpha(dt, _GRADUAL_TAU)), a)
            gains = prev + ag * (gains - prev)
            gamma = self._comp[1] + a * (gamma - self._comp[1])
        self._comp = (gains, gamma)
        # within half a level of none: applied as none, so the recovery takes
        # its plain kernel (the smoothed gains' tail, 1e-4 to 1.5e-3 from 1,
        # sent two of three frames of a pan through the RGB round trip, 2.4 x
        # the time) and a clear frame is passed through
        if float(np.abs(gains - 1.0).max()) < _GAIN_DEAD:
            gains = np.ones(3)
        if gamma > 1.0 - _GAMMA_DEAD:
            gamma = 1.0
        return _Analysis(air, seen.dark, traw, coeffs, tlow, np.asarray(gains, np.float64),
                         float(gamma), density, strength, seen.scene_cut)

    def _dense_airlight(self, measured: np.ndarray, ws: Workspace, dark: np.ndarray,
                        bounds: tuple[int, int, int, int], dt: float, gain: float = 1.0,
                        dissolving: bool = False) -> np.ndarray:
        """The airlight search's ``measured`` A, moved towards a small-window search in thick haze.

        With ``patch`` (15 working pixels, 8 % of the short side) the haze
        candidates are the interiors of wide hazy regions. In light haze that
        keeps a white wall or a bright roof from being read as the airlight.
        In thick haze where no region is opaque it reads A too dark (by 0.05
        to 0.14 on the dense haze made here), and ``1 / t - 1`` multiplies
        that error. There the candidates come from the ``airlight_patch``
        dark channel (11 px: a bright object narrower than that is passed
        by; 5 px took a 10 px sign for A), faded in by
        the darkest 2 % of pixels' veil (``I`` over the measured A's luma)
        between ``dense_low`` and ``dense_high``, the dense-haze regime's own
        test, and out again as that veil goes from 0.85 to 0.95
        (``_OPAQUE_VEIL``): a frame that close to A everywhere is fog, or one
        bright surface filling the view, whose brightest texture the small
        window would read as A. ``dark`` is used as scratch space.

        The correction (small-window A minus wide-window A, times the fade)
        only raises A: a small search that reads darker (while fog thickens)
        is no evidence of an A read too dark. On video it rises with
        ``airlight_tau``, falls within ``_OFFSET_FALL_TAU`` and starts
        afresh at a cut: which small regions pass the candidate threshold
        changes from frame to frame with x264's frame types, and the small
        search's A jumped between two values 0.023 apart on a pan in dense
        fog (followed as it came, the output drifted 9 levels in a second,
        flicker 1.9 x the wide search's; 1.05 x smoothed); and a light
        object taken for A leaves no dimming behind it a second after it
        has gone (it fell with airlight_tau: 21 levels still). ``gain``, the
        exposure change since the last frame, scales the last correction
        (it is part of A); while ``dissolving`` it follows within
        ``_GRADUAL_TAU`` either way (fades tripped the cut detector and reset
        it before; without the resets it lagged 5 levels after a fade).
        """
        cfg = self.config
        if cfg.airlight_patch == cfg.patch:
            return measured
        a_lum = float(LUMA @ measured)
        offset = np.zeros(3, np.float32)
        if a_lum > 0:
            veil = _k.strided_quantile(inside(ws.minc, bounds), ws.step, _DENSE_QUANTILE) / a_lum
            weight = 1.0 - light_haze_weight(veil, cfg.dense_low, cfg.dense_high, a_lum)
            weight *= light_haze_weight(veil, *_OPAQUE_VEIL)
            if weight > 0:
                _kf.min_filter2d(ws.minc, cfg.airlight_patch // 2, dark)
                small = _k.airlight_top(ws.low, candidates(dark, ws.minc, bounds),
                                        cfg.airlight_fraction, 0.1, LUMA)
                if float(LUMA @ small) > a_lum:
                    offset = (np.float32(weight) * (small - measured)).astype(np.float32)
        if self._air_offset is not None:
            # video: it rises with airlight_tau and falls within
            # _OFFSET_FALL_TAU (see the docstring); an exposure change scales
            # it with A, and in a fade or dissolve it follows the new picture
            # within _GRADUAL_TAU either way
            before = self._air_offset * np.float32(gain)
            rises = float(LUMA @ offset) > float(LUMA @ before)
            tau = cfg.airlight_tau if rises else min(cfg.airlight_tau, _OFFSET_FALL_TAU)
            if dissolving:
                tau = min(tau, _GRADUAL_TAU)
            offset = before + np.float32(ema_alpha(dt, tau)) * (offset - before)
        self._air_offset = offset
        return measured + offset

    def _texture_weight(self, grey: np.ndarray, bounds: tuple[int, int, int, int], step: int,
                        dt: float, cut: bool) -> float:
        """:func:`texture_weight` of the picture, falling at once and rising with ``auto_tau``.

        ``grey`` is the working luma's local mean (the sky floors' boxes):
        a flat card's sensor noise of 2-3 levels is no texture (trial 90 F3).

        A frame without texture (a fade through white or black, a title
        card, a lens cap) holds nothing to recover: dehazing it would only
        amplify the tracked A's lag behind its level (a flat fade's frames
        249 -> 235, trial 89 F5). As a fade from white brings the texture
        back over a frame or two, the strength follows over ``auto_tau``, as
        it follows the density (at once it stepped 28 levels in a frame);
        at a ``cut`` (the scene after black frames or a title card) it is
        the frame's own at once.
        """
        weight = texture_weight(inside(grey, bounds), step)
        before = None if cut else self._texture
        if before is not None and weight > before:
            weight = before + ema_alpha(dt, self.config.auto_tau) * (weight - before)
        self._texture = weight
        return weight

    def _veil_colour(self, measured: np.ndarray, ws: Workspace,
                     bounds: tuple[int, int, int, int], dt: float) -> float:
        """Evidence in [0, 1] that a saturated measured airlight is the colour of a veil.

        Only thick haze counts: the darkest 2 % of pixels' veil in units of
        the measured A (the min channel of ``I / A``, so a coloured veil is
        read in its own colour) between ``dense_low`` and ``dense_high``
        (:func:`light_haze_weight`, the dense-haze regime's test), and only
        where the haze differs across the picture (:func:`depth_weight`: a
        surface at one distance, a beige wall or a truck's back filling the
        view, carries the same veil everywhere and its colour cannot be told
        from a veil's; with cream lines on it, it came out 35 levels darker,
        trial 91 G1), times :func:`~vidclear.dehaze.airlight.veil_colour` on
        the picture inside ``bounds``. Where the nearest scene is clear, a coloured A may be a
        sky or a warm surface, and the pull to grey stands (trial 89: thick
        warm haze everywhere kept its veil, 8.5 -> 9.0 dB; the textbook
        prior 13.8). On video the evidence follows with ``airlight_tau``
        and starts afresh at a cut.
        """
        cfg = self.config
        r0, r1, c0, c1 = bounds
        planes = np.ascontiguousarray(ws.planes[:, r0:r1, c0:c1])
        air = np.maximum(measured, _MIN_AIRLIGHT).astype(np.float32)
        minc = (planes / air[:, None, None]).min(axis=0)
        veil = _k.strided_quantile(minc, ws.step, _DENSE_QUANTILE)
        thick = 1.0 - light_haze_weight(veil, cfg.dense_low, cfg.dense_high, float(LUMA @ air))
        thick *= depth_weight(minc, ws.step)
        evidence = thick * veil_colour(planes, air) if thick > 0 else 0.0
        if self._veil_evidence is not None:
            evidence = self._veil_evidence + ema_alpha(dt, cfg.airlight_tau) * (
                evidence - self._veil_evidence)
        self._veil_evidence = evidence
        return evidence

    def _airlight_gate(self) -> float:
        """``airlight_gate`` narrowed by the odds t / (1 - t) of the last mean transmission.

        An airlight error e moves the recovered radiance by e (1 / t - 1):
        where t is below 0.5 (thick fog) a gap the gate tolerates shows up
        amplified, and A is followed within a correspondingly narrower gap
        (a 0.04 lag of A made the output 35 levels too bright in fog).
        """
        t = self._t_mean
        if t is None:
            return self.config.airlight_gate
        return self.config.airlight_gate * min(1.0, t / max(1.0 - t, 1e-3))

    def _frame_moved_with(self, measured: np.ndarray, a_lum: float, grey: np.ndarray,
                          prev: np.ndarray | None, gate: float, step: int, cut: bool) -> bool:
        """Whether the frame's luma moved with the measured airlight since A last agreed.

        ``grey`` (h×w float32) is this frame's working luma (of ``I / A``),
        ``prev`` the last frame's input luma (this frame's is
        ``_prev_grey`` by now); the input's rise between them is kept per
        pixel at its largest since the reference (``_air_steps``, for
        :func:`drifted_haze`), and only while the measurement is away from
        A: on steady frames nothing is subtracted. While the
        measurement's luma stays within ``gate`` of the tracked ``a_lum`` the
        frame is kept as the reference; once it leaves, the change counts as
        haze when even the pixels that moved least (the
        :data:`_FOLLOW_QUANTILE` of the per-pixel change, signed like the
        airlight's) moved by :data:`_FOLLOW_SHARE` of the airlight's change.
        A truck covering a fifth of the frame, or a pan, leaves that quantile
        near zero or below; fog rolling in lifts every pixel.
        """
        ref = self._air_ref
        if (cut or ref is None or ref.shape != grey.shape
                or abs(float(LUMA @ measured) - a_lum) <= gate):
            self._air_ref = grey.copy()
            if self._air_steps is None or self._air_steps.shape != grey.shape:
                self._air_steps = np.zeros_like(grey)
            else:
                self._air_steps.fill(0.0)
            return False
        if self._air_steps is not None and prev is not None and prev.shape == grey.shape:
            np.maximum(self._air_steps, self._prev_grey - prev, out=self._air_steps)
        return self._moved_with(measured, a_lum, grey, step, _FOLLOW_QUANTILE)

    def _carry(self, mapped: tuple[float, float], measured: np.ndarray, dt: float) -> None:
        """Carry the tracked A through the picture's affine change ``mapped`` (slope, offset).

        Only a change that moves A's luma by :data:`_CARRY_RATE` per second
        or more, towards the measurement ``measured`` (3,), and no further
        than it: the map of a still frame's noise, or of fog whose own level
        the map reads far off, moves nothing. Nor a map whose contrast
        changes faster than :data:`_CARRY_CONTRAST` (|ln slope| per second):
        a white truck growing to fill the frame maps every level towards
        its own (slope 0.2 in a frame), which fog does over seconds.
        """
        assert self._air.value is not None
        slope, offset = mapped
        if slope <= 0.0 or abs(math.log(slope)) > _CARRY_CONTRAST * dt:
            return
        a_lum = float(LUMA @ self._air.value)
        moved = (slope - 1.0) * a_lum + offset
        room = float(LUMA @ measured) - a_lum
        if abs(moved) < _CARRY_RATE * dt or moved * room <= 0.0:
            return
        k = min(1.0, room / moved)
        self._air.scale(1.0 + k * (slope - 1.0), chase=_GRADUAL_TAU, offset=k * offset)

    def _dissolving(self, grey: np.ndarray, now: float, step: int) -> bool:
        """Whether the last frames are a dissolve from one picture into another.

        ``grey`` (h×w float32) is this frame's working luma at ``now``
        seconds; every ``2 * step``-th row and column of the last second's
        frames is kept. In a dissolve every pixel moves along the line from
        the old picture to the new one, all by the same share: over a span of
        the last frames, the frame halfway through changed by the whole span's
        change times a share w in (0, 1), 0.5 for a linear dissolve. True
        when, over one of the spans :data:`_DISSOLVE_SPANS`, three quarters
        of the pixels changed by at least :data:`_DISSOLVE_CHANGE`, and the
        halfway frame's change correlates with the span's by
        :data:`_DISSOLVE_CORRELATION` at a share w within
        :data:`_DISSOLVE_SHARE`. A truck entering changes pixels one after
        the other (0.7 correlation with a truck half in at the halfway
        frame), a pan shifts texture, and a still frame's changes are noise.
        """
        kept = self._recent
        sample = grey[::2 * step, ::2 * step].ravel().copy()  # 2000-4000 pixels
        if kept and kept[-1][1].shape != sample.shape:
            kept.clear()
        kept.append((now, sample))
        while kept[0][0] < now - _DISSOLVE_SPANS[-1] - 0.05:
            kept.popleft()
        times = np.array([t for t, _ in kept])
        for span in _DISSOLVE_SPANS:
            i = int(np.abs(times - (now - span)).argmin())
            j = int(np.abs(times - (now - span / 2)).argmin())
            if abs(times[i] - (now - span)) > span / 4 or not i < j < len(kept) - 1:
                continue
            change, half = sample - kept[i][1], kept[j][1] - kept[i][1]
            if np.count_nonzero(np.abs(change) >= _DISSOLVE_CHANGE) < 0.75 * change.size:
                continue
            cc, hc, hh = float(change @ change), float(half @ change), float(half @ half)
            if hh > 0.0 and hc / math.sqrt(hh * cc) >= _DISSOLVE_CORRELATION and \
                    _DISSOLVE_SHARE[0] <= hc / cc <= _DISSOLVE_SHARE[1]:
                return True
        return False

    def _half_moved_with(self, measured: np.ndarray, a_lum: float, grey: np.ndarray,
                         step: int) -> bool:
        """Whether the median pixel moved with the measured airlight since A last agreed.

        The weaker sibling of :meth:`_frame_moved_with` (the median of the
        per-pixel change instead of its lower quartile): a pan into brighter
        fog brightens most of the frame, if not every pixel; a lamp or a
        car's headlights coming closer brighten only their own part.
        """
        ref = self._air_ref
        if ref is None or ref.shape != grey.shape:
            return False
        return self._moved_with(measured, a_lum, grey, step, 0.5)

    def _moved_with(self, measured: np.ndarray, a_lum: float, grey: np.ndarray, step: int,
                    q: float) -> bool:
        """Whether quantile ``q`` of the per-pixel luma change since the reference frame,
        signed like the measured airlight's change, reaches :data:`_FOLLOW_SHARE` of it."""
        d_air = float(LUMA @ measured) - a_lum
        change = (grey - self._air_ref) * np.float32(math.copysign(1.0, d_air))
        return _k.strided_quantile(change, step, q) >= _FOLLOW_SHARE * abs(d_air)

    def _smooth_transmission(self, traw: np.ndarray, change: np.ndarray,
                             dt: float) -> np.ndarray:
        """Raw transmission smoothed over time with ``t_tau`` where the scene stood still.

        ``change`` (h, w) float32 is this frame's working grey minus the
        last one's. Its local mean (a box of ``_STILL_RADIUS``) tells motion
        from noise: a moving edge or a passing car changes a neighbourhood
        one way, while sensor noise and the texture x264 keeps in P frames
        and drops in B frames (which the dark channel reads as a little more
        or less haze, and ``1 / t`` then turns into a visible brightness
        ripple) average out. Where that mean reaches ``_STILL_CHANGE``, or
        where t itself moves by ``_STILL_T_CHANGE`` (the dark-channel patch
        around a moving object reaches past the pixels that changed), the
        transmission follows at once, so nothing ghosts.
        """
        prev = self._t_prev
        assert prev is not None  # the caller smooths only once there is one
        plane = change[None]
        local = np.empty_like(plane)
        _kf.box_planes(plane, _STILL_RADIUS, local)
        out = np.empty_like(traw)
        _k.still_blend(local[0], traw, prev, float(np.float32(1.0 / _STILL_CHANGE)),
                       float(np.float32(1.0 / _STILL_T_CHANGE)),
                       float(np.float32(1.0 - ema_alpha(dt, self.config.t_tau))), out)
        return out

    def _veil_level(self, measured: list[float], tiles: list[np.ndarray], now: float,
                    dt: float, new_view: bool, dark_air: bool = False,
                    dissolving: bool = False, hidden: bool = False) -> tuple[float, float]:
        """The darkest pixels' levels in units of A, smoothed with ``auto_tau`` for video.

        ``measured`` are the frame's levels, ``tiles`` the same levels in each
        tile of a 3 × 3 split: a drop that fewer than half of the tiles show,
        the rest staying put (a dark car entering), is held for
        ``airlight_hold`` (the VeilTracker's hold); it brightened the
        untouched background by up to 45 levels. Nothing is held on a
        ``new_view`` (a cut, or most of the picture changed at once).
        Both rise ``_VEIL_RISE`` times slower than they fall, but while
        ``dissolving`` into another shot.

        Both go back fast to levels they held in the last seconds
        (:class:`~vidclear.dehaze.temporal.VeilTracker`): a white truck that
        filled the frame lifted them, and the output stayed up to 29 levels
        dark for 0.4 s after it left. The first (the luma floor's veil)
        restarts at a scene cut (the scene is forgotten); the second
        (the dense-haze level) is smoothed through cuts, because fades set
        off the cut detector frame after frame and a reset each time
        switched the dense-haze regime in one frame (the output of a fade
        to white dropped by 40 levels). With ``dark_air`` (the airlight's
        luma under ``_DENSE_MIN_AIR``) the dense-haze level is held.
        """
        veil = self._veil_t.update(measured[0], now, dt, tiles[0], new_view, dissolving, hidden)
        dense_t = self._dense_t
        if dark_air and dense_t.value is not None:
            # Under an airlight darker than _DENSE_MIN_AIR the level tells
            # nothing of the dense-haze regime (light_haze_weight ignores it):
            # it is held, not fed. Five black frames between two shots of
            # thick fog pulled it to 0.33, and the fog came back 27 levels
            # too bright, settling over ten frames.
            return veil, dense_t.update(dense_t.value, now, dt)
        return veil, dense_t.update(measured[1], now, dt, tiles[1], new_view, dissolving, hidden)

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.config.to_dict().items()
                   if v != DehazeConfig.__dataclass_fields__[k].default}
        fields = ", ".join(f"{k}={v!r}" for k, v in changed.items())
        state = "" if self.last is None else (
            f", airlight={np.round(self.last.airlight, 3).tolist()}, "
            f"strength={self.last.strength:.3f}, density={self.last.density:.3f}"
        )
        return f"Dehazer({fields}{state})"


def _read_only(plane: np.ndarray) -> np.ndarray:
    """``plane``, or a read-only view of it (no copy).

    Numba compiles a kernel for each read-only flag of its arguments, and
    `vidclear compile` warms one: a decoder's planes are read-only, a plane
    whose padded rows were copied is not, and a frame with copied chroma
    beside read-only luma (or a read-only array given to ``dehaze_image``)
    compiled the recovery for 6 s mid-run after `vidclear compile` (trial
    60). The input is never written, so every input goes in read-only.
    """
    if not plane.flags.writeable:
        return plane
    view = plane.view()
    view.flags.writeable = False
    return view


def warm_yuv_recovery() -> None:
    """Compile (or load) both YUV recovery kernels for the planes real frames come as.

    A warm-up frame that the dehazer reads as clear skips the recovery, and
    one with haze takes one of its two paths: after `vidclear compile` a
    dashcam run still compiled ``recover_yuv_linear`` for 17 s (trial 39).
    The dehazer passes every plane read-only (:func:`_read_only`).
    """
    coeffs = np.zeros((2, 4, 4), np.float32)
    coeffs[1] = 1.0  # t = 1 everywhere
    air = np.full(3, 200.0, np.float32)
    model = _ky.BT601_TV
    prm = np.concatenate([[1, 1, 1, 200, 200, 200, 0.1, 255, 0.8], model.guide]
                         ).astype(np.float32)
    y = _read_only(np.zeros((8, 8), np.uint8))
    u, v = (_read_only(np.full((4, 4), 128, np.uint8)) for _ in range(2))
    yo = np.empty((8, 8), np.uint8)
    uo, vo = np.empty((4, 4), np.uint8), np.empty((4, 4), np.uint8)
    _ky.recover_yuv_linear(y, u, v, coeffs, 2, air, np.float32(0.1), model.guide, yo, uo, vo)
    _ky.recover_yuv_rgb(y, u, v, coeffs, 2, prm, np.empty(0, np.uint8), model.mats,
                        yo, uo, vo)


def _caller_level() -> int:
    """The ``stacklevel`` of ``warnings.warn`` that names the first caller outside this module."""
    frame: types.FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_code.co_filename == __file__:
        frame, level = frame.f_back, level + 1
    return level


def dehaze_image(image: np.ndarray, *, return_details: bool = False,
                 **params: Any) -> np.ndarray | DehazeResult:
    """Dehaze a single image with the dark channel prior (stateless).

    Parameters
    ----------
    image : ndarray
        RGB H×W×3 uint8 (0..255), uint16 (0..65535) or float in [0, 1]; RGBA
        keeps its alpha; grey H×W or H×W×1 is treated as three equal
        channels. Frames are RGB, never BGR: convert OpenCV images with
        ``cv2.cvtColor(img, cv2.COLOR_BGR2RGB)`` first. Any strides.
    return_details : bool
        Return a :class:`DehazeResult` (image, transmission, dark channel,
        airlight, ...) instead of the image alone.
    **params
        Any :class:`DehazeConfig` field (``strength``, ``omega``, ``t0``,
        ``patch``, ``radius``, ``eps``, ``airlight``, ``sky_t``, ...). Bad
        values raise :class:`~vidclear.errors.ConfigError` naming the key and
        what is allowed.

    Returns
    -------
    ndarray or DehazeResult
        The dehazed image, same shape and dtype as ``image``.

    Raises
    ------
    ArrayError
        ``image`` has another layout or dtype, is empty, or holds NaN or
        Inf (or float values outside [0, 1]).
    ConfigError
        A setting is unknown or out of its range.

    Examples
    --------
    >>> clean = dehaze_image(rgb)                               # doctest: +SKIP
    >>> res = dehaze_image(rgb, return_details=True, airlight="quadtree")  # doctest: +SKIP
    >>> res.airlight, res.transmission.shape                    # doctest: +SKIP
    """
    result = Dehazer(**params).process(image)
    if return_details:
        return result
    assert result.image is not None  # the RGB path always returns an image
    return result.image
