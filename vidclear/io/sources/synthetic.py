"""A synthetic dashcam scene, so the demo and tests need no downloaded footage."""

from __future__ import annotations

import time
from collections.abc import Iterator
from fractions import Fraction

import numpy as np

from vidclear.core.frame import Frame
from vidclear.core.source import Source, StreamInfo
from vidclear.errors import ConfigError

__all__ = ["RoadScene"]


class RoadScene(Source):
    """A clear road seen from a moving car: sky, fields, lane markings, trees, a car.

    The scene is built with a pinhole camera over a ground plane, so its depth
    is known (:meth:`depth`): the horizon sits at ``horizon`` × height and
    ground depth grows as 1 / (row − horizon row). Haze added with that depth
    (``synth_haze`` with its ground-plane model) is physically consistent.

    Parameters
    ----------
    width, height : int
        Frame size in pixels.
    seconds : float
        Length of the clip.
    rate : int
        Frames per second.
    horizon : float
        Horizon row as a fraction of the height.
    seed : int
        Seed of the fixed textures.
    far : float
        Metres at which ``meta["depth"]`` reaches 1 (the far limit that
        ``synth_haze`` with ``depth_model = "frame"`` expects).

    Notes
    -----
    A source like any other: iterate it for :class:`Frame` objects (RGB
    uint8, with the true depth relative to ``far`` in ``frame.meta["depth"]``), use it as a
    context manager.
    """

    def __init__(self, *, width: int = 640, height: int = 360, seconds: float = 4.0,
                 rate: int = 30, horizon: float = 0.42, seed: int = 7,
                 far: float = 150.0) -> None:
        if width < 16 or height < 16:
            raise ConfigError(f"RoadScene needs at least 16x16 pixels, got {width}x{height}")
        if seconds <= 0 or rate <= 0:
            raise ConfigError("seconds and rate must be positive")
        super().__init__(f"RoadScene({width}x{height})")
        self.width, self.height, self.rate = width, height, rate
        self.frames = max(1, round(seconds * rate))
        self.horizon = horizon
        self.far = far
        self.time_base = Fraction(1, rate)
        rng = np.random.default_rng(seed)
        self._grass = rng.normal(0.0, 1.0, (height, width)).astype(np.float32)
        self._trees = rng.uniform(6.0, 120.0, 24)
        self._sides = rng.choice([-1.0, 1.0], 24)
        self._shade = rng.uniform(0.6, 1.0, 24)
        self._ground_depth = self._make_ground_depth()

    @property
    def info(self) -> StreamInfo:
        return StreamInfo(spec=self.spec, width=self.width, height=self.height,
                          time_base=self.time_base, rate=Fraction(self.rate),
                          frame_count=self.frames, duration=self.frames / self.rate)

    def depth(self) -> np.ndarray:
        """Ground-plane depth in metres per pixel (sky: 1000 m), H×W float32."""
        return self._ground_depth.copy()

    def _make_ground_depth(self) -> np.ndarray:
        h, w = self.height, self.width
        rows = np.arange(h, dtype=np.float32)
        hz = self.horizon * h
        focal, cam_h = 0.9 * w, 1.4
        z = np.where(rows > hz + 0.5, cam_h * focal / np.maximum(rows - hz, 0.5), 1000.0)
        return np.repeat(np.minimum(z, 1000.0)[:, None], w, axis=1).astype(np.float32)

    def render(self, t: float) -> np.ndarray:
        """The clear frame at time ``t`` seconds, H×W×3 uint8 RGB."""
        return self.render_with_depth(t)[0]

    def render_with_depth(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """The clear frame at ``t`` and its depth in metres (H×W float32, sky 1000 m)."""
        h, w = self.height, self.width
        hz = self.horizon * h
        focal, cam_h, speed = 0.9 * w, 1.4, 14.0
        y, x = np.mgrid[0:h, 0:w].astype(np.float32)
        img = np.empty((h, w, 3), np.float32)
        # Sky: brighter and whiter towards the horizon.
        s = np.clip(y / max(hz, 1), 0, 1)[..., None]
        img[:] = (1 - s) * np.array([0.35, 0.55, 0.85]) + s * np.array([0.75, 0.82, 0.92])
        ground = y > hz + 0.5
        z = cam_h * focal / np.maximum(y - hz, 0.5)
        lateral = (x - w / 2) * z / focal  # metres from the road centre
        # Fields: green with texture that thins with distance.
        tex = 0.06 * self._grass / (1 + z / 30)
        field = np.stack([0.18 + tex, 0.38 + 1.3 * tex, 0.12 + tex], axis=-1)
        stripes = (np.floor((z + speed * t) / 4) % 2)[..., None] * 0.05
        field = field + stripes * np.array([0.1, 0.05, 0.0])
        road = np.abs(lateral) < 4.0
        asphalt = np.full((h, w, 3), 0.22, np.float32) + 0.03 * tex[..., None]
        dash = (np.abs(np.abs(lateral) - 0.0) < 0.12) & ((z + speed * t) % 9 < 4.5)
        edge = np.abs(np.abs(lateral) - 3.7) < 0.12
        asphalt[dash | edge] = 0.85
        ground_rgb = np.where(road[..., None], asphalt, field)
        img = np.where(ground[..., None], ground_rgb, img)
        depth = self._ground_depth.copy()
        # Trees on both sides, recycled as the car passes them.
        depths = (self._trees - speed * t) % 120 + 4
        for k in np.argsort(-depths):  # far to near, so near trees cover far ones
            zt, side, shade = depths[k], self._sides[k], self._shade[k]
            cx = w / 2 + side * 7.0 * focal / zt
            base = hz + cam_h * focal / zt
            half_w, tall = 1.2 * focal / zt, 6.0 * focal / zt
            x0, x1 = int(max(cx - half_w, 0)), int(min(cx + half_w, w))
            y0, y1 = int(max(base - tall, 0)), int(min(base, h))
            if x1 > x0 and y1 > y0:
                img[y0:y1, x0:x1] = np.array([0.08, 0.22, 0.07]) * shade
                depth[y0:y1, x0:x1] = zt
                tx0, tx1 = int(max(cx - half_w / 5, 0)), int(min(cx + half_w / 5, w))
                ty0 = int(max(base - tall / 4, 0))
                if tx1 > tx0:
                    img[ty0:y1, tx0:tx1] = np.array([0.25, 0.15, 0.08]) * shade
        # A red car ahead, swaying a little in its lane.
        zc = 22 + 3 * np.sin(0.7 * t)
        cx = w / 2 + (1.2 * np.sin(0.4 * t)) * focal / zc
        base = hz + cam_h * focal / zc
        cw, ch = 0.9 * focal / zc, 1.3 * focal / zc
        x0, x1 = int(max(cx - cw, 0)), int(min(cx + cw, w))
        y0, y1 = int(max(base - ch, 0)), int(min(base, h))
        if x1 > x0 and y1 > y0:
            img[y0:y1, x0:x1] = (0.65, 0.06, 0.05)
            depth[y0:y1, x0:x1] = zc
            img[y0:y0 + max(1, (y1 - y0) // 3), x0:x1] = (0.1, 0.12, 0.15)  # rear window
        return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8), depth

    def _frames(self) -> Iterator[Frame]:
        for i in range(self.frames):
            image, depth = self.render_with_depth(i / self.rate)
            relative = np.minimum(depth / self.far, 1.0)
            yield Frame(image, pts=i, time_base=self.time_base,
                        meta={"index": i, "capture_time": time.monotonic(), "depth": relative})

    def __len__(self) -> int:
        return self.frames

    def __repr__(self) -> str:
        return f"RoadScene({self.width}x{self.height}, {self.frames} frames at {self.rate} fps)"
