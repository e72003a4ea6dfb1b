"""Pipeline processors for the classic enhancers: ACE, HistEq, CLAHE, MSRCR.

Each wraps the function of the same algorithm with a frozen config section
named like the processor (``[ace]``, ``[histeq]``, ``[clahe]``, ``[msrcr]``
in a preset). Frames pass through one at a time; none is held back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import numpy as np

from vidclear.core.frame import Frame
from vidclear.core.processor import Processor
from vidclear.core.schema import Section, param
from vidclear.dehaze.temporal import SceneCutDetector
from vidclear.enhance._common import Ranges, StretchSmoother, limit_gain, max_value
from vidclear.enhance.ace import ACE_METHODS, DIRECT_MAX_PIXELS, _ace
from vidclear.enhance.histogram import (
    TABLE_LEVELS,
    apply_table,
    clahe,
    equalization_lut,
    equalize_hist,
    luma_histogram,
)
from vidclear.enhance.retinex import BALANCE_MODES, MAX_GAIN, MAX_SCALES, MAX_SIGMA, _msrcr
from vidclear.errors import ConfigError

__all__ = [
    "ACE",
    "CLAHE",
    "MSRCR",
    "ACEConfig",
    "CLAHEConfig",
    "HistEq",
    "HistEqConfig",
    "MSRCRConfig",
]


def _max_gain() -> Any:
    """The ``max_gain`` setting of the global enhancers (a field of its own for each
    section), see :func:`vidclear.enhance._common.limit_gain`."""
    return param(32.0, lo=0.0, hi=1000.0,
                 doc="most a frame's contrast (std of its channel values, the input's "
                     "without pixel noise) may grow, else pulled back towards the input "
                     "(a flat or noisy frame); 0 = no limit")


def _stretch_tau() -> Any:
    """The ``tau`` setting of ACE and MSRCR (see
    :class:`vidclear.enhance._common.StretchSmoother`)."""
    return param(0.5, lo=0.0, hi=60.0,
                 doc="time constant (s) of the final stretch's range on video, reset at a "
                     "scene cut; 0 = each frame's own")


@dataclass(frozen=True)
class ACEConfig(Section):
    """Settings of :class:`ACE` (see :func:`vidclear.enhance.ace`)."""

    section: ClassVar[str] = "ace"
    alpha: float = param(5.0, lo=0.0, lo_open=True, hi=1000.0,
                         doc="slope of the saturating comparison; higher = more local contrast")
    method: str = param("interp", choices=ACE_METHODS,
                        doc="interp = fast level interpolation; direct = exact O(N²), tiny images")
    levels: int = param(8, lo=2, hi=256, doc="intensity levels interpolated between")
    grid: int = param(128, lo=0, hi=65536,
                      doc="longest side of the block grid for the distance sums; 0 = full res")
    tau: float = _stretch_tau()
    max_gain: float = _max_gain()


@dataclass(frozen=True)
class HistEqConfig(Section):
    """Settings of :class:`HistEq`."""

    section: ClassVar[str] = "histeq"
    strength: float = param(1.0, lo=0.0, hi=1.0,
                            doc="blend of input (0) and equalized (1) luma")
    smoothing: float = param(0.0, lo=0.0, hi=1.0, hi_open=True,
                             doc="weight of the previous frames' table (0 = per frame)")
    max_gain: float = _max_gain()


@dataclass(frozen=True)
class CLAHEConfig(Section):
    """Settings of :class:`CLAHE` (see :func:`vidclear.enhance.clahe`)."""

    section: ClassVar[str] = "clahe"
    clip_limit: float = param(2.0, lo=0.0, hi=1000.0,
                              doc="histogram clip, times the mean bin count; 0 = no clip")
    tile_grid: tuple[int, ...] = param((8, 8), doc="tile rows and columns, each 1..256")
    strength: float = param(1.0, lo=0.0, hi=1.0,
                            doc="blend of input (0) and equalized (1) luma")

    def validate(self) -> None:
        grid = self.tile_grid
        if len(grid) != 2 or not all(1 <= t <= 256 for t in grid):
            raise ConfigError(
                f"clahe.tile_grid = {list(grid)!r} is not allowed: expected two integers "
                "[rows, cols], each in [1, 256]"
            )


@dataclass(frozen=True)
class MSRCRConfig(Section):
    """Settings of :class:`MSRCR` (see :func:`vidclear.enhance.msrcr`)."""

    section: ClassVar[str] = "msrcr"
    sigmas: tuple[float, ...] = param((15.0, 80.0, 250.0),
                                      doc="surround standard deviations in pixels")
    alpha: float = param(125.0, lo=0.0, lo_open=True, hi=MAX_GAIN,
                         doc="colour-restoration nonlinearity")
    beta: float = param(46.0, lo=0.0, lo_open=True, hi=MAX_GAIN, doc="colour-restoration gain")
    low_clip: float = param(0.01, lo=0.0, hi=0.5, hi_open=True,
                            doc="fraction of samples clipped to black")
    high_clip: float = param(0.01, lo=0.0, hi=0.5, hi_open=True,
                             doc="fraction of samples clipped to white")
    balance: str = param("channel", choices=BALANCE_MODES,
                         doc="stretch channels separately or jointly")
    tau: float = _stretch_tau()
    max_gain: float = _max_gain()

    def validate(self) -> None:
        s = self.sigmas
        if not 1 <= len(s) <= MAX_SCALES or not all(0 < v <= MAX_SIGMA for v in s):
            raise ConfigError(
                f"msrcr.sigmas = {list(s)!r} is not allowed: expected 1 to {MAX_SCALES} "
                f"numbers in (0, {MAX_SIGMA:g}]"
            )


C = TypeVar("C", bound=Section)


def _working_rgb(img: np.ndarray) -> np.ndarray:
    """A frame sampled to about 32 000 pixels, RGB float32 in [0, 1] (grey repeated,
    alpha dropped): what the scene-cut detector reads."""
    step = max(1, math.isqrt(img.shape[0] * img.shape[1] // 32768))
    small = img[::step, ::step]
    if small.ndim == 2:
        small = small[..., None]
    small = small[..., :3] if small.shape[2] >= 3 else np.repeat(small[..., :1], 3, axis=2)
    return small.astype(np.float32) / np.float32(max_value(img.dtype))


def _scratch_image() -> np.ndarray:
    """A small RGB uint8 frame with every level, to load an enhancer's kernels on."""
    ramp = np.arange(64 * 64 * 3, dtype=np.uint32).reshape(64, 64, 3) * 7 % 256
    return ramp.astype(np.uint8)


class _PerFrame(Processor[C]):
    """An enhancer with no state: each frame's image through :meth:`enhance`.

    Its warm-up runs :meth:`enhance` on a small frame, so a live run loads the
    kernels before its source starts (they loaded on the first frame and a
    live run dropped 8 s of frames meanwhile: trial 38).
    """

    def enhance(self, image: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, frame: Frame) -> Frame:
        return frame.replace(self.enhance(frame.image))

    def warm_up(self) -> None:
        self.enhance(_scratch_image())


class _Smoothed(_PerFrame[C]):
    """A global enhancer whose final stretch's range is smoothed over time.

    ``enhance(image, ranges)`` stretches with ``ranges`` (a
    :class:`~vidclear.enhance._common.StretchSmoother` over the config's
    ``tau``), which starts afresh at a scene cut (the dehazer's
    :class:`~vidclear.dehaze.temporal.SceneCutDetector`) and on ``reset()``.
    """

    def __init__(self, config: C | None = None, **params: Any) -> None:
        super().__init__(config, **params)
        self._smoother = StretchSmoother(self.config.tau)  # type: ignore[attr-defined]
        self._cuts = SceneCutDetector()
        self._last_time: float | None = None

    def enhance(self, image: np.ndarray, ranges: Ranges | None = None) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, frame: Frame) -> Frame:
        t = frame.time
        step = (t - self._last_time if t is not None and self._last_time is not None
                and t > self._last_time else 1.0 / 30.0)
        self._last_time = t
        if frame.image.dtype in (np.uint8, np.uint16) and self._cuts.update(
                _working_rgb(frame.image)):  # (enhance names any other dtype)
            self._smoother.reset()
        self._smoother.dt = step
        return frame.replace(self.enhance(frame.image, self._smoother))

    def reset(self) -> None:
        self._smoother.reset()
        self._cuts.reset()
        self._last_time = None

    def _configured(self, config: C) -> None:
        # the smoother holds its own time constant: a configure(tau=...) showed
        # in the config and changed nothing (trial 140 F9)
        self._smoother.tau = float(config.tau)  # type: ignore[attr-defined]


class ACE(_Smoothed[ACEConfig]):
    """Automatic Color Enhancement of every frame (:func:`vidclear.enhance.ace`).

    The contrast gained is bounded by ``max_gain``
    (:func:`vidclear.enhance._common.limit_gain`), as for every global enhancer
    here: a flat or fading frame has only noise to stretch.
    """

    name: ClassVar[str] = "ace"
    Config: ClassVar[type[Section]] = ACEConfig

    def enhance(self, image: np.ndarray, ranges: Ranges | None = None) -> np.ndarray:
        c = self.config
        if c.method == "direct" and image.shape[0] * image.shape[1] > DIRECT_MAX_PIXELS:
            # the function's own refusal did not name the setting (trial 74)
            raise ConfigError(f'ace.method = "direct" is exact but O(N²): it takes frames of '
                              f"up to {DIRECT_MAX_PIXELS} pixels, and these are "
                              f"{image.shape[1]}x{image.shape[0]}; use \"interp\" (the default)")
        return limit_gain(image, _ace(image, alpha=c.alpha, method=c.method, levels=c.levels,
                                      grid=c.grid, ranges=ranges), c.max_gain)


class HistEq(Processor[HistEqConfig]):
    """Histogram equalization of the luma, optionally smoothed over time.

    With ``smoothing = s > 0`` the table applied to frame t is
    ``s T(t-1) + (1 - s) E(t)``, E(t) the frame's own equalization table, so a
    passing bright object does not make the whole picture pump. A scene cut
    (:class:`~vidclear.dehaze.temporal.SceneCutDetector`, the dehazer's) and
    ``reset()`` start afresh from the frame's own table: the old shot's table
    left a new one 50 levels dark, still 5 off after 2 s (trial 74). The
    contrast gained is bounded by ``max_gain`` (see :class:`ACE`).
    """

    name: ClassVar[str] = "histeq"
    Config: ClassVar[type[Section]] = HistEqConfig

    def __init__(self, config: HistEqConfig | None = None, **params: Any) -> None:
        super().__init__(config, **params)
        self._lut: np.ndarray | None = None
        self._cuts = SceneCutDetector()

    def __call__(self, frame: Frame) -> Frame:
        c = self.config
        img = frame.image
        if c.smoothing == 0.0:
            return frame.replace(limit_gain(img, equalize_hist(img, strength=c.strength),
                                            c.max_gain))
        lut = equalization_lut(luma_histogram(img, levels=TABLE_LEVELS))
        if self._cuts.update(_working_rgb(img)):
            self._lut = None
        if self._lut is not None and self._lut.shape == lut.shape:
            lut = c.smoothing * self._lut + (1.0 - c.smoothing) * lut
        self._lut = lut
        return frame.replace(limit_gain(img, apply_table(img, lut, strength=c.strength),
                                        c.max_gain))

    def reset(self) -> None:
        self._lut = None
        self._cuts.reset()

    def warm_up(self) -> None:
        """Load both paths' kernels on a small frame; the smoothed table is left as it was."""
        img = _scratch_image()
        equalize_hist(img, strength=self.config.strength)
        apply_table(img, equalization_lut(luma_histogram(img, levels=TABLE_LEVELS)),
                    strength=self.config.strength)


class CLAHE(_PerFrame[CLAHEConfig]):
    """Contrast-limited adaptive histogram equalization of every frame's luma."""

    name: ClassVar[str] = "clahe"
    Config: ClassVar[type[Section]] = CLAHEConfig

    def enhance(self, image: np.ndarray) -> np.ndarray:
        c = self.config
        return clahe(image, clip_limit=c.clip_limit, tile_grid=c.tile_grid, strength=c.strength)


class MSRCR(_Smoothed[MSRCRConfig]):
    """Multi-scale Retinex with colour restoration of every frame, its contrast gain
    bounded by ``max_gain`` and its final stretch smoothed over ``tau`` (see :class:`ACE`)."""

    name: ClassVar[str] = "msrcr"
    Config: ClassVar[type[Section]] = MSRCRConfig

    def enhance(self, image: np.ndarray, ranges: Ranges | None = None) -> np.ndarray:
        c = self.config
        return limit_gain(image, _msrcr(image, sigmas=c.sigmas, alpha=c.alpha, beta=c.beta,
                                        low_clip=c.low_clip, high_clip=c.high_clip,
                                        balance=c.balance, ranges=ranges), c.max_gain)
