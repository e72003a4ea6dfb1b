"""Haze synthesis: scattering math, depth models, fog, noise, the processor."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from vidclear.core import Frame, registry
from vidclear.dehaze.synth import (
    depth_model_map,
    fog_overlay,
    ground_plane_depth,
    load_depth_map,
    salt_and_pepper,
    scatter,
    synthesize_haze,
    transmission,
)
from vidclear.errors import ConfigError
from vidclear.processors.synth import SynthHaze, SynthHazeConfig

RNG = np.random.default_rng(11)
IMG = RNG.integers(0, 256, (40, 56, 3)).astype(np.uint8)


def _frame(img: np.ndarray, index: int | None = None) -> Frame:
    meta = {} if index is None else {"index": index}
    return Frame(img, pts=index, time_base=Fraction(1, 25), meta=meta)


# ------------------------------------------------------------ scattering
def test_scattering_follows_the_formula() -> None:
    depth = RNG.uniform(0, 2, IMG.shape[:2])
    beta, a = 1.3, (0.9, 0.8, 0.7)
    out = synthesize_haze(IMG, beta=beta, airlight=a, depth=depth)
    t = np.exp(-beta * depth)[..., None]
    expect = IMG * t + np.array(a) * 255 * (1 - t)
    assert out.dtype == np.uint8 and out.shape == IMG.shape
    assert np.abs(out - expect).max() <= 0.5 + 1e-3
    np.testing.assert_allclose(transmission(depth, beta=beta), t[..., 0], rtol=1e-6)


def test_airlight_limits() -> None:
    # t -> 0: the image becomes the airlight; t = 1: the image is untouched.
    far = synthesize_haze(IMG, beta=50.0, airlight=(1.0, 0.5, 0.25), depth_model="constant")
    np.testing.assert_array_equal(far, np.broadcast_to([255, 128, 64], IMG.shape))
    np.testing.assert_array_equal(synthesize_haze(IMG, beta=0.0), IMG)
    img16 = IMG.astype(np.uint16) * 257
    out16 = synthesize_haze(img16, beta=50.0, airlight=0.5, depth_model="constant")
    assert out16.dtype == np.uint16 and (out16 == 32768).all()


def test_fog_overlay_blends_by_density() -> None:
    out = fog_overlay(IMG, density=0.3, airlight=0.8)
    assert np.abs(out - (0.7 * IMG + 0.3 * 204)).max() <= 0.5 + 1e-3
    np.testing.assert_array_equal(fog_overlay(IMG, density=0.0), IMG)


# ------------------------------------------------------------------ depth
def test_ground_plane_depth() -> None:
    h, w, hz, near = 60, 8, 0.4, 0.05
    d = ground_plane_depth(h, w, horizon=hz, near=near)
    assert d.shape == (h, w) and d.dtype == np.float32
    assert (d == d[:, :1]).all()  # constant along rows
    col = d[:, 0].astype(np.float64)
    assert (np.diff(col) <= 0).all()  # farther towards the horizon
    assert (col[: int(hz * h)] == 1.0).all()  # sky and horizon at the far limit
    assert col[-1] == pytest.approx(near)
    rows = np.arange(h) + 0.5
    ground = col < 1.0
    # depth × (distance below the horizon) is constant on the ground
    np.testing.assert_allclose(col[ground] * (rows[ground] - hz * h), near * (h - 0.5 - hz * h),
                               rtol=1e-6)
    t = transmission(d, beta=3.0)
    assert (np.diff(t[:, 0]) >= 0).all()  # haze thins towards the camera
    np.testing.assert_array_equal(depth_model_map(5, 4, "constant"), np.ones((5, 4)))
    assert ground_plane_depth(1, 1).shape == (1, 1)


def test_depth_map_file(tmp_path: Path) -> None:
    ramp = np.tile(np.linspace(0, 65535, 20).astype(np.uint16)[:, None], (1, 30))
    path = tmp_path / "depth.png"
    cv2.imwrite(str(path), ramp)
    d = load_depth_map(path)
    assert d.max() == 1.0 and d.min() == 0.0 and d.shape == (20, 30)
    np.save(tmp_path / "depth.npy", ramp.astype(np.float64) * 3)
    np.testing.assert_allclose(load_depth_map(tmp_path / "depth.npy"), d, atol=1e-6)
    # The processor resizes it to the frame and uses it instead of the model.
    proc = SynthHaze(depth_map=str(path), beta=2.0, airlight=1.0)
    out = proc(_frame(np.zeros((40, 60, 3), np.uint8))).image
    top, bottom = out[0].mean(), out[-1].mean()
    assert top < 5 and bottom == pytest.approx(255 * (1 - np.exp(-2.0)), abs=1)
    for bad in ("missing.png", "notimage.png"):
        (tmp_path / "notimage.png").write_text("x")
        with pytest.raises(ConfigError, match="depth_map"):
            SynthHaze(depth_map=str(tmp_path / bad))


# ------------------------------------------------------------------ noise
def test_salt_and_pepper_fraction_and_values() -> None:
    img = np.full((200, 150, 3), 100, np.uint8)
    out = salt_and_pepper(img, amount=0.1, rng=5)
    changed = (out != 100).any(axis=2)
    assert abs(changed.mean() - 0.1) < 0.01  # binomial spread here is 0.002
    white = (out == 255).all(axis=2)
    black = (out == 0).all(axis=2)
    assert (changed == (white | black)).all()  # whole pixels, black or white
    assert abs(white.mean() - 0.05) < 0.01 and abs(black.mean() - 0.05) < 0.01
    np.testing.assert_array_equal(img, 100)  # input untouched
    np.testing.assert_array_equal(salt_and_pepper(img, amount=0.0), img)


def test_noise_is_deterministic_per_seed() -> None:
    a = salt_and_pepper(IMG, amount=0.2, rng=3)
    np.testing.assert_array_equal(a, salt_and_pepper(IMG, amount=0.2, rng=3))
    assert (a != salt_and_pepper(IMG, amount=0.2, rng=4)).any()


# -------------------------------------------------------------- processor
def test_processor_registry_and_config() -> None:
    assert registry.get("synth_haze") is SynthHaze
    assert SynthHazeConfig.section == "synth_haze"
    cfg = SynthHazeConfig.from_mapping({"airlight": [0.9, 0.9, 1.0], "model": "uniform"})
    assert cfg.airlight == (0.9, 0.9, 1.0)
    for bad, key in (({"model": "fog"}, "synth_haze.model"),
                     ({"airlight": [0.5, 0.5]}, "synth_haze.airlight"),
                     ({"airlight": 1.5}, "synth_haze.airlight"),
                     ({"depth_model": "sky"}, "synth_haze.depth_model"),
                     ({"horizon": 1.0}, "synth_haze.horizon"),
                     ({"noise": -0.1}, "synth_haze.noise"),
                     ({"colour": 1}, "synth_haze.colour")):
        with pytest.raises(ConfigError, match=key):
            SynthHaze(**bad)
    assert "beta=2.5" in repr(SynthHaze())


def test_processor_matches_functions() -> None:
    src = _frame(IMG.copy(), index=0)
    out = SynthHaze(beta=2.5, airlight=0.7, horizon=0.3)(src)
    np.testing.assert_array_equal(out.image, synthesize_haze(IMG, beta=2.5, airlight=0.7,
                                                             horizon=0.3))
    np.testing.assert_array_equal(src.image, IMG)
    assert out.pts == src.pts and out.original is src
    fog = SynthHaze(model="uniform", density=0.4, airlight=0.9)(src).image
    np.testing.assert_array_equal(fog, fog_overlay(IMG, density=0.4, airlight=0.9))


def test_processor_noise_deterministic_per_frame() -> None:
    frames = [_frame(IMG, index=i) for i in range(3)]
    a = [SynthHaze(noise=0.05, seed=9)(f).image for f in frames]
    b = [SynthHaze(noise=0.05, seed=9)(f).image for f in frames]
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert (a[0] != a[1]).any()  # a new pattern every frame
    other = SynthHaze(noise=0.05, seed=10)(frames[0]).image
    assert (other != a[0]).any()
    # Without an index in the metadata, the processor counts frames; reset()
    # starts the count again.
    p = SynthHaze(noise=0.05, seed=9)
    counted = [p(_frame(IMG)).image for _ in range(2)]
    np.testing.assert_array_equal(counted[1], a[1])
    p.reset()
    np.testing.assert_array_equal(p(_frame(IMG)).image, a[0])


def test_shapes_dtypes_layout_and_errors() -> None:
    view = IMG[::-1, ::2]
    np.testing.assert_array_equal(synthesize_haze(view), synthesize_haze(view.copy()))
    for tiny in (IMG[:1, :1], IMG[:2, :2], IMG[:3, :4, 0]):
        out = synthesize_haze(tiny, noise=0.5, seed=1)
        assert out.shape == tiny.shape and out.dtype == np.uint8
    with pytest.raises(ValueError, match="uint8 or uint16"):
        synthesize_haze(IMG.astype(np.float32))
    with pytest.raises(ValueError, match="depth shape"):
        synthesize_haze(IMG, depth=np.ones((3, 3)))
    with pytest.raises(ValueError, match="non-negative"):
        synthesize_haze(IMG, depth=-np.ones(IMG.shape[:2]))
    with pytest.raises(ValueError, match="beta"):
        synthesize_haze(IMG, beta=float("inf"))
    with pytest.raises(ValueError, match="airlight"):
        synthesize_haze(IMG, airlight=(0.5, 2.0, 0.5))
    with pytest.raises(ValueError, match="depth_model"):
        synthesize_haze(IMG, depth_model="uniform")
    with pytest.raises(ValueError, match="horizon"):
        ground_plane_depth(10, 10, horizon=1.5)
    with pytest.raises(ValueError, match="transmission"):
        scatter(IMG, np.full(IMG.shape[:2], 1.5), 0.5)


def test_frame_depth_model_uses_the_depth_the_source_attaches():
    from vidclear.core import Frame
    from vidclear.errors import InputError
    from vidclear.io.sources.synthetic import RoadScene

    scene = RoadScene(width=96, height=64)
    frame = next(iter(scene))
    depth = frame.meta["depth"]
    assert depth.shape == (64, 96) and 0 < depth.min() and depth.max() == 1.0
    hazy = SynthHaze(depth_model="frame", beta=2.0, airlight=1.0)(frame).image.astype(float)
    clear = frame.image.astype(float)
    # I = J t + A (1 - t) with the frame's own depth, pixel by pixel.
    t = np.exp(-2.0 * depth)[..., None]
    np.testing.assert_allclose(hazy, clear * t + 255 * (1 - t), atol=1.0)
    with pytest.raises(InputError, match="meta\\['depth'\\]"):
        SynthHaze(depth_model="frame")(Frame(np.zeros((4, 4, 3), np.uint8)))
