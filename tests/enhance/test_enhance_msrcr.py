"""MSRCR against the full-resolution NumPy formulas, surrounds, shapes, errors."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.enhance.enhance_refs import gaussian_reference, msrcr_reference, scene
from vidclear.enhance import gaussian_surround, msrcr

IMG = scene(48, 64, seed=4)


def test_small_scales_match_reference() -> None:
    # Scales below the reduction threshold: full-resolution blurs, so the
    # only difference is locating the percentiles on a 4096-bin histogram.
    sig = (1.5, 3.0, 5.0)
    diff = np.abs(msrcr(IMG, sigmas=sig).astype(int) - msrcr_reference(IMG, sig))
    assert diff.max() <= 1
    assert diff.mean() < 0.1


@pytest.mark.parametrize("joint", [False, True])
def test_large_scales_match_reference(joint: bool) -> None:
    # σ = 8 and 20 are blurred on images reduced 2× and 4×.
    sig = (2.0, 8.0, 20.0)
    got = msrcr(IMG, sigmas=sig, balance="joint" if joint else "channel")
    diff = np.abs(got.astype(int) - msrcr_reference(IMG, sig, joint=joint))
    assert diff.mean() < 2.0
    assert diff.max() <= 6


def test_grey_has_no_colour_restoration() -> None:
    grey = np.ascontiguousarray(IMG[..., 0])
    sig = (1.5, 4.0)
    diff = np.abs(msrcr(grey, sigmas=sig).astype(int) - msrcr_reference(grey, sig))
    assert grey.ndim == 2 and diff.max() <= 1


@pytest.mark.parametrize("sigma", [2.0, 7.0, 30.0])
def test_surround_close_to_full_resolution_blur(sigma: float) -> None:
    v = IMG.astype(np.float32) + 1
    ref = gaussian_reference(v, sigma)
    got = gaussian_surround(v, sigma)
    assert got.shape == v.shape and got.dtype == np.float32
    rel = np.abs(got - ref) / ref
    # Reduced blurs reflect about the edge of a coarse pixel, so where the
    # blur is as wide as this small image they differ by a few percent.
    assert rel.max() < (1e-5 if sigma < 6 else 0.05)
    assert rel.mean() < (1e-6 if sigma < 6 else 0.02)
    if sigma < 6:  # unreduced: our reference is OpenCV's own operator
        np.testing.assert_allclose(got, cv2.GaussianBlur(v, (0, 0), sigma), rtol=1e-5)


def test_clip_fractions() -> None:
    out = msrcr(IMG, sigmas=(3.0, 10.0), low_clip=0.05, high_clip=0.02)
    n = out[..., 0].size
    for c in range(3):
        black = (out[..., c] == 0).sum() / n
        white = (out[..., c] == 255).sum() / n
        assert 0.03 < black < 0.07 and 0.01 < white < 0.04
    none = msrcr(IMG, sigmas=(3.0,), low_clip=0.0, high_clip=0.0)
    assert ((none == 0).sum(axis=(0, 1)) <= 2).all()


def test_brightens_dark_scene_without_nan() -> None:
    dark = (IMG.astype(np.float64) * 0.15).astype(np.uint8)
    out = msrcr(dark, sigmas=(5.0, 20.0, 60.0))
    assert out.mean() > 3 * dark.mean()
    black = msrcr(np.zeros((9, 9, 3), np.uint8))
    np.testing.assert_array_equal(black, 0)  # flat: nothing to stretch, black stays black


def test_shapes_dtypes_layout() -> None:
    view = IMG[::-1, 1::2]
    np.testing.assert_array_equal(msrcr(view), msrcr(view.copy()))
    i16 = IMG.astype(np.uint16) * 257
    out16 = msrcr(i16, sigmas=(1.5, 3.0))
    assert out16.dtype == np.uint16
    assert np.abs(out16 / 257.0 - msrcr(IMG, sigmas=(1.5, 3.0))).max() <= 1.5
    for tiny in (IMG[:1, :1], IMG[:2, :2], IMG[:3, :1, 0]):
        out = msrcr(tiny)
        assert out.shape == tiny.shape and out.dtype == np.uint8


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"sigmas": ()}, "sigmas"),
    ({"sigmas": (10.0, -1.0)}, "sigmas"),
    ({"sigmas": tuple(range(1, 11))}, "sigmas"),
    ({"sigmas": "abc"}, "sigmas"),
    ({"alpha": 0}, "alpha"),
    ({"beta": float("nan")}, "beta"),
    ({"beta": 1e308}, r"beta must be a number in \(0, 1e\+06\]"),  # overflowed (trial 140 F6)
    ({"low_clip": 0.5}, "low_clip"),
    ({"balance": "rgb"}, "balance"),
])
def test_bad_parameters(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        msrcr(IMG, **kwargs)


def test_bad_images() -> None:
    with pytest.raises(ValueError, match=r"float image values must be in \[0, 1\]"):
        msrcr(IMG.astype(np.float64))  # 0..255 as float
    # a list of integers is named as such (int64 is NumPy's, not the caller's: trial 89 F9)
    with pytest.raises(ValueError, match="got a list of integers; convert it first"):
        msrcr([[1, 2], [3, 4]])
    with pytest.raises(ValueError, match="dtype must be uint8, uint16 or float"):
        msrcr(IMG.astype(np.int32))
    with pytest.raises(ValueError, match="NumPy array of numbers"):
        msrcr("frame.png")


def test_stretch_kernels_against_numpy() -> None:
    from vidclear.enhance import _kernels as K

    rng = np.random.default_rng(2)
    x = rng.normal(0, 3, (17, 23, 3)).astype(np.float32)
    lo, hi = K.plane_ranges(x)
    np.testing.assert_array_equal(lo, x.min(axis=(0, 1)))
    np.testing.assert_array_equal(hi, x.max(axis=(0, 1)))
    hist = K.plane_histograms(x, lo, hi, 64, 5)
    for c in range(3):
        edges = np.linspace(lo[c], hi[c], 65)
        expect, _ = np.histogram(x[..., c].astype(np.float64), bins=edges)
        # Samples that fall exactly on an inner edge may land either side.
        assert np.abs(hist[c] - expect).sum() <= 2 and hist[c].sum() == x[..., c].size
    out = np.empty(x.shape, np.uint8)
    lo2, hi2 = np.array([-1.0, 0.0, 2.0]), np.array([1.0, 3.0, 2.0])  # last: flat
    K.stretch_planes(x, lo2, hi2, 255.0, out)
    ref = np.clip((x[..., :2] - lo2[:2]) / (hi2[:2] - lo2[:2]), 0, 1) * 255
    assert np.abs(out[..., :2] - ref).max() <= 0.5 + 1e-3
    assert (out[..., 2] == 128).all()


def test_a_surround_of_no_width_is_a_config_error() -> None:
    # sigma 0, negative or NaN was OpenCV's assertion ("ksize.width > 0 ...");
    # every error a caller can cause is vidclear's (trial 128 F4)
    from vidclear.errors import ConfigError

    v = np.ones((16, 16), np.float32)
    for bad in (0.0, -2.0, float("nan"), float("inf"), "5"):
        with pytest.raises(ConfigError, match="sigma must be a finite number > 0"):
            gaussian_surround(v, bad)  # type: ignore[arg-type]
    assert gaussian_surround(v, np.float32(2.0)).shape == v.shape
