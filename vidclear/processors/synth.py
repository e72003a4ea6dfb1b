"""The ``synth_haze`` processor: haze synthesis (:mod:`vidclear.dehaze.synth`) frame by frame."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import cv2
import numpy as np

from vidclear.core.frame import Frame
from vidclear.core.processor import Processor
from vidclear.core.schema import Section, param
from vidclear.dehaze.synth import (
    DEPTH_MODELS,
    HAZE_MODELS,
    _check_image,
    depth_model_map,
    load_depth_map,
    salt_and_pepper,
    scatter,
    transmission,
)
from vidclear.errors import ConfigError, InputError

__all__ = ["SynthHaze", "SynthHazeConfig"]

@dataclass(frozen=True)
class SynthHazeConfig(Section):
    """Settings of :class:`SynthHaze` (``[synth_haze]`` in a preset).

    With the ground-plane model everything at or above the horizon row is at
    the far limit, so ``exp(-beta)`` of it is left: 8 % at the default 2.5.
    Tall objects standing on the ground (trees, cars) get the depth of the
    row they cover, not of their base: pass a ``depth_map`` when that matters.
    """

    section: ClassVar[str] = "synth_haze"
    model: str = param("scattering", choices=HAZE_MODELS,
                       doc="scattering = I = J t + A (1 - t) with depth; uniform = fog overlay")
    beta: float = param(2.5, lo=0.0, hi=100.0, doc="scattering coefficient per depth unit")
    airlight: float | tuple[float, ...] = param(
        0.85, lo=0.0, hi=1.0, doc="atmospheric light: grey level 0..1 or [R, G, B]")
    depth_map: str = param("", doc="grey depth image (bright = far); empty = depth_model")
    depth_model: str = param("ground_plane", choices=DEPTH_MODELS,
                             doc="depth when no depth_map is given")
    horizon: float = param(0.42, lo=0.0, hi=1.0, hi_open=True,
                           doc="ground plane: horizon row as a fraction of the height")
    near: float = param(0.05, lo=0.0, lo_open=True, hi=1.0,
                        doc="ground plane: bottom-row depth relative to the far limit")
    density: float = param(0.5, lo=0.0, hi=1.0, doc="uniform model: fog density")
    noise: float = param(0.0, lo=0.0, hi=1.0, doc="salt-and-pepper fraction of pixels")
    seed: int = param(0, lo=0, hi=2**63 - 1, doc="noise seed (with the frame index)")

    def validate(self) -> None:
        a = self.airlight
        if isinstance(a, tuple) and (len(a) != 3 or not all(0.0 <= v <= 1.0 for v in a)):
            raise ConfigError(f"synth_haze.airlight = {list(a)!r} is not allowed: expected a "
                              "grey level in [0, 1] or three of them [R, G, B]")


class SynthHaze(Processor[SynthHazeConfig]):
    """Add synthetic haze (and noise) to every frame.

    The noise of a frame is drawn from a generator seeded with
    ``(seed, index)``, the index taken from ``frame.meta["index"]`` when the
    source sets it and from a count of frames since the last ``reset()``
    otherwise, so a run is reproducible frame by frame. The depth (a loaded
    ``depth_map``, resized to the frame when sizes differ, or the depth model)
    and its transmission are computed once per frame size.
    """

    name: ClassVar[str] = "synth_haze"
    Config: ClassVar[type[Section]] = SynthHazeConfig

    def __init__(self, config: SynthHazeConfig | None = None, **params: Any) -> None:
        super().__init__(config, **params)
        c = self.config
        self._depth_file = load_depth_map(c.depth_map) if c.depth_map else None
        self._t: dict[tuple[int, int], np.ndarray] = {}
        self._count = 0

    def transmission_for(self, height: int, width: int) -> np.ndarray:
        """The transmission (float32 H×W) this processor applies at a frame size."""
        key = (height, width)
        if key not in self._t:
            c = self.config
            if c.model == "uniform":
                t = np.full(key, 1.0 - c.density, np.float32)
            else:
                if self._depth_file is not None:
                    d = self._depth_file
                    if d.shape != key:
                        d = cv2.resize(d, (width, height), interpolation=cv2.INTER_LINEAR)
                else:
                    d = depth_model_map(height, width, c.depth_model, horizon=c.horizon,
                                        near=c.near)
                t = transmission(d, beta=c.beta)
            self._t = {key: t}  # one size at a time: keep memory flat
        return self._t[key]

    def _frame_transmission(self, frame: Frame) -> np.ndarray:
        """Transmission from the depth the source attached (``frame.meta["depth"]``)."""
        depth = frame.meta.get("depth")
        h, w = frame.shape
        if not isinstance(depth, np.ndarray) or depth.shape != (h, w):
            raise InputError(
                "synth_haze.depth_model = 'frame' needs a source that attaches "
                "frame.meta['depth'] (H×W, 0..1 of the far limit), such as RoadScene"
            )
        return transmission(np.clip(depth, 0.0, 1.0).astype(np.float32), beta=self.config.beta)

    def __call__(self, frame: Frame) -> Frame:
        c = self.config
        img = frame.image
        index = frame.meta.get("index")
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            index = self._count
        self._count += 1
        _check_image(img)
        if c.model == "scattering" and c.depth_model == "frame" and not c.depth_map:
            t = self._frame_transmission(frame)
        else:
            t = self.transmission_for(*img.shape[:2])
        hazy = scatter(img, t, c.airlight)
        if c.noise > 0:
            hazy = salt_and_pepper(hazy, amount=c.noise,
                                   rng=np.random.default_rng([c.seed, index]))
        return frame.replace(hazy)

    def reset(self) -> None:
        self._count = 0
