"""The ``[dehaze]`` settings shared by :func:`dehaze_image`, :class:`Dehazer` and the processors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from vidclear.core.schema import Section, param
from vidclear.errors import ConfigError

__all__ = ["DehazeConfig"]


@dataclass(frozen=True)
class DehazeConfig(Section):
    """Dark-channel-prior dehazing settings, tuned for dashcam footage.

    Sizes (``patch``, ``radius``) are in pixels of the *working image*, the
    input block-averaged by ``subsample``; with the default automatic
    subsampling the working image is about ``work_size`` pixels on its short
    side whatever the input resolution, so the same settings behave the same
    on 480p and 4K.
    """

    section: ClassVar[str] = "dehaze"

    strength: float = param(1.0, lo=0.0, hi=1.0,
                            doc="amount of haze removed (scales omega); 0 passes frames through")
    omega: float = param(1.0, lo=0.0, hi=1.0,
                         doc="fraction of the estimated haze removed at full strength")
    clear_dark: float = param(0.05, lo=0.0, hi=0.5, hi_open=True,
                              doc="dark channel a haze-free scene keeps (in units of A); only "
                                  "the dark channel above it is read as haze")
    cap_weight: float = param(0.3, lo=0.0, hi=1.0,
                              doc="weight of Zhu et al.'s colour attenuation prior in the "
                                  "transmission (the rest is the dark channel prior)")
    t0: float = param(0.1, lo=0.01, hi=1.0, doc="lower bound on the transmission")
    patch: int = param(15, lo=1, hi=255, odd=True,
                       doc="dark-channel window, odd, working pixels")
    subsample: int = param(0, lo=0, hi=64,
                           doc="working-image block factor; 0 = automatic from work_size")
    work_size: int = param(180, lo=16, hi=8640,
                           doc="short side of the working image when subsample = 0")
    radius: int = param(20, lo=1, hi=1000, doc="guided-filter radius, working pixels")
    guide_subsample: int = param(2, lo=1, hi=8,
                                 doc="guided-filter coefficients at working size / this "
                                     "(fast guided filter); radius scales with it")
    eps: float = param(1e-2, lo=1e-6, hi=1.0,
                       doc="guided-filter regularisation (squared intensity)")
    airlight: str = param("dcp", choices=("dcp", "quadtree"),
                          doc="airlight estimator: brightest dark channel (He) or quad-tree (Kim)")
    airlight_patch: int = param(11, lo=1, hi=255, odd=True,
                                doc="dark-channel window of the 'dcp' airlight search in thick "
                                    "haze, odd, working pixels: it replaces patch there, faded "
                                    "in from dense_low to dense_high; bright objects at least "
                                    "this wide can be taken for the airlight there; = patch "
                                    "turns it off")
    airlight_fraction: float = param(0.001, lo=0.0, hi=0.2, lo_open=True,
                                     doc="share of dark-channel pixels searched by 'dcp'")
    airlight_neutral: float = param(0.5, lo=0.0, hi=1.0,
                                    doc="pull the airlight colour towards grey (cast control); "
                                        "colours too saturated for haze (sky) go all the way")
    airlight_tau: float = param(2.0, lo=0.0, hi=600.0,
                                doc="time constant of airlight smoothing, seconds; 0 = none "
                                    "(also of the tone curve and of the cast gains as a "
                                    "cast eases; a growing cast is followed within 0.3 s)")
    airlight_window: float = param(1.0, lo=0.0, hi=60.0,
                                   doc="median of the estimates of the last N seconds")
    airlight_rate: float = param(0.05, lo=0.0, hi=100.0, lo_open=True,
                                 doc="largest airlight change per second (0..1 units)")
    airlight_gate: float = param(0.05, lo=0.0, hi=1.0, lo_open=True,
                                 doc="airlight jumps larger than this are outliers (1 = off)")
    airlight_hold: float = param(3.0, lo=0.0, hi=600.0,
                                 doc="seconds an airlight outlier (a bright object) or a "
                                     "local drop of the darkest pixels' veil, over the "
                                     "frame or around a pixel (a dark one entering), must "
                                     "last to be believed")
    airlight_persist: float = param(0.5, lo=0.0, hi=600.0,
                                    doc="seconds of a one-way airlight drift that halve "
                                        "airlight_tau (fog thickening is followed faster), "
                                        "and that a brighter outlier must last while most "
                                        "of the frame brightens towards it before A rises "
                                        "to the haze the frame shows; 0 = fixed tau")
    scene_cut: float = param(0.15, lo=0.0, hi=1.0,
                             doc="histogram distance that resets temporal state (unless the "
                                 "frame is the last one through a fade); 0 = never")
    t_tau: float = param(0.2, lo=0.0, hi=10.0,
                         doc="time constant of transmission smoothing, seconds, where the "
                             "scene did not move since the last frame (moving pixels follow "
                             "at once, so nothing ghosts); 0 = none")
    auto_strength: bool = param(True, doc="scale strength by the measured haze density")
    auto_low: float = param(0.1, lo=0.0, hi=1.0,
                            doc="haze density (median dark channel) below which nothing is done")
    auto_high: float = param(0.25, lo=0.0, hi=1.0,
                             doc="haze density at and above which full strength is used")
    auto_tau: float = param(0.25, lo=0.0, hi=60.0,
                            doc="time constant of the density tracker, seconds")
    auto_hysteresis: float = param(0.02, lo=0.0, hi=0.5,
                                   doc="density changes smaller than this are ignored")
    sky_t: float = param(0.3, lo=0.0, hi=1.0,
                         doc="transmission floor in bright, smooth regions (sky); 0 = off")
    sky_chroma_t: float = param(0.8, lo=0.0, hi=1.0,
                                doc="transmission floor in bright, smooth regions coloured "
                                    "unlike the airlight (clear blue sky); 0 = off")
    luma_floor: float = param(0.75, lo=0.0, hi=1.0, hi_open=True,
                              doc="recovered luminance plus chroma keeps at least this share "
                                  "of the input luminance (grey surfaces are not pushed to "
                                  "black); 0 = off")
    chroma_veil: float = param(0.35, lo=0.0, hi=1.0,
                               doc="the luma floor credits restored chroma against lost "
                                   "luminance in full once the darkest pixels' veil is this "
                                   "far above black_level, in proportion below it (light "
                                   "haze: luminance alone); 0 = always in full")
    black_level: float = param(0.08, lo=0.0, hi=1.0,
                               doc="dark channel (units of A) the darkest pixels of a haze-free "
                                   "scene keep; the luma floor never keeps the veil that even "
                                   "the image's darkest 0.5 % carry above it; 1 = off")
    dense_low: float = param(0.4, lo=0.0, hi=1.0,
                             doc="veil of the darkest 2 % of pixels (units of A) at which the "
                                 "light-haze guards start to fade (luma floor and colour "
                                 "attenuation prior out, grey sky floor to half, brightness "
                                 "to a quarter)")
    dense_high: float = param(0.7, lo=0.0, hi=1.0,
                              doc="veil of the darkest 2 % of pixels at and above which the haze "
                                  "is dense for sure and those guards are faded fully")
    brightness: float = param(0.6, lo=0.0, hi=1.0,
                              doc="keep median luminance at least this share of the input's")
    color_guard: float = param(1.0, lo=0.0, hi=1.0,
                               doc="1 = output colour cast never exceeds the input's; 0 = off")

    @property
    def memory_seconds(self) -> float:
        """Seconds of the past that the dehazer's output can depend on beyond its smoothing.

        Twice ``airlight_hold``: the airlight tracker remembers a fall of its
        estimate for ``airlight_hold`` and the hold of a rise that memory
        spares lasts as long again
        (:meth:`~vidclear.dehaze.temporal.AirlightTracker.update`). A run
        started later (a ``vidclear batch`` segment's warm-up) must see that
        much to agree with one pass.
        """
        return 2.0 * float(self.airlight_hold)

    def validate(self) -> None:
        if self.dense_low >= self.dense_high:
            raise ConfigError(
                f"dehaze.dense_low = {self.dense_low:g} must be below dehaze.dense_high = "
                f"{self.dense_high:g}"
            )
        if self.auto_low >= self.auto_high:
            raise ConfigError(
                f"dehaze.auto_low = {self.auto_low:g} must be below dehaze.auto_high = "
                f"{self.auto_high:g}"
            )
