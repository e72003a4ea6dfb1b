"""Histogram equalization and CLAHE against OpenCV, hue keeping, shapes, errors."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest

from tests.enhance.enhance_refs import scene, ycbcr_hue
from vidclear.enhance import (
    apply_luma,
    apply_table,
    clahe,
    equalization_lut,
    equalize_hist,
    luma,
    luma_histogram,
)
from vidclear.errors import ArrayError

RNG = np.random.default_rng(7)
IMG = scene(61, 83, seed=2)
LUMA_W = np.array([0.299, 0.587, 0.114])


def _dim(img: np.ndarray) -> np.ndarray:
    """A low-contrast version, so equalization has work to do."""
    return (40 + img.astype(np.float64) * 0.35).astype(np.uint8)


def _uniformity(y: np.ndarray, levels: int = 256) -> float:
    """Largest gap between the CDF of ``y`` and the uniform CDF."""
    cdf = np.cumsum(np.bincount(y.ravel(), minlength=levels)) / y.size
    return float(np.abs(cdf - np.arange(1, levels + 1) / levels).max())


# ------------------------------------------------------------- luma helpers
def test_luma_and_histogram_kernels() -> None:
    f = IMG.astype(np.float64)
    expect = np.floor(0.299 * f[..., 0] + 0.587 * f[..., 1] + 0.114 * f[..., 2] + 0.5)
    expect = expect.astype(np.uint8)
    np.testing.assert_array_equal(luma(IMG), expect)
    # OpenCV's fixed-point Y differs from the exact rounding by at most 1.
    ycv = cv2.cvtColor(IMG, cv2.COLOR_RGB2YCrCb)[..., 0]
    assert np.abs(ycv.astype(int) - expect).max() <= 1
    np.testing.assert_array_equal(luma_histogram(IMG), np.bincount(expect.ravel(), minlength=256))
    g16 = IMG[..., 0].astype(np.uint16) * 200
    np.testing.assert_array_equal(luma_histogram(g16), np.bincount(g16.ravel(), minlength=65536))


def test_apply_luma_sets_luma_and_keeps_hue() -> None:
    target = RNG.uniform(0, 255, IMG.shape[:2])
    out = apply_luma(IMG, target)
    # Rounding each channel moves the luma by at most 0.5.
    assert np.abs(out @ LUMA_W - target).max() <= 0.5 + 1e-4
    h0, c0 = ycbcr_hue(IMG)
    h1, c1 = ycbcr_hue(out)
    keep = (c0 > 8) & (c1 > 8)  # hue is only defined away from grey
    assert keep.mean() > 0.5
    dh = np.angle(np.exp(1j * (h1 - h0)))[keep]
    assert np.abs(dh).max() < 0.1
    # Bright targets push saturated colours out of gamut: chroma gives way.
    out = apply_luma(IMG, np.full(IMG.shape[:2], 250.0))
    assert np.abs(out @ LUMA_W - 250).max() <= 0.5 + 1e-4
    assert ycbcr_hue(out)[1].mean() < c0.mean()


# ------------------------------------------------------- global equalization
def test_grey_equalization_equals_opencv() -> None:
    for img in (IMG[..., 1], _dim(IMG)[..., 0], np.full((5, 6), 17, np.uint8),
                RNG.integers(0, 256, (33, 47)).astype(np.uint8)):
        img = np.ascontiguousarray(img)
        np.testing.assert_array_equal(equalize_hist(img), cv2.equalizeHist(img))


def test_colour_equalization_equalizes_luma() -> None:
    img = _dim(IMG)
    out = equalize_hist(img)
    expect = cv2.equalizeHist(luma(img))
    assert np.abs(out @ LUMA_W - expect).max() <= 0.5 + 1e-4
    assert _uniformity(luma(out)) < 0.5 * _uniformity(luma(img))
    h0, c0 = ycbcr_hue(img)
    h1, c1 = ycbcr_hue(out)
    keep = (c0 > 6) & (c1 > 6)
    assert np.abs(np.angle(np.exp(1j * (h1 - h0)))[keep]).max() < 0.15


def test_equalization_lut_formula() -> None:
    hist = np.zeros(256, np.int64)
    hist[[10, 20, 30]] = [5, 10, 5]
    lut = equalization_lut(hist)
    # (cdf - cdf_min) / (N - cdf_min) * 255 at the occupied levels.
    assert lut[10] == 0 and lut[20] == round(10 / 15 * 255) and lut[30] == 255
    with pytest.raises(ValueError, match="empty"):
        equalization_lut(np.zeros(256))


def test_strength_and_tables() -> None:
    img = _dim(IMG)
    np.testing.assert_array_equal(equalize_hist(img, strength=0.0), img)
    half = equalize_hist(img, strength=0.5) @ LUMA_W
    full = equalize_hist(img) @ LUMA_W
    mid = 0.5 * (img @ LUMA_W + full)
    assert np.abs(half - mid).mean() < 1.0
    inv = 255.0 - np.arange(256)
    np.testing.assert_array_equal(apply_table(img[..., 0], inv), 255 - img[..., 0])
    with pytest.raises(ValueError, match="256"):
        apply_table(img, np.arange(100))


# --------------------------------------------------------------------- CLAHE
@pytest.mark.parametrize("shape", [(64, 96), (61, 83), (64, 83), (61, 96), (20, 20)])
@pytest.mark.parametrize("clip", [0.0, 2.0, 40.0])
def test_grey_clahe_equals_opencv(shape: tuple[int, int], clip: float) -> None:
    img = np.ascontiguousarray(_dim(scene(*shape, seed=5))[..., 1])
    expect = cv2.createCLAHE(clipLimit=clip, tileGridSize=(8, 8)).apply(img)
    np.testing.assert_array_equal(clahe(img, clip_limit=clip), expect)


def test_clahe_grid_order_and_uint16() -> None:
    img = np.ascontiguousarray(IMG[..., 0])
    expect = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(5, 3)).apply(img)  # (cols, rows)
    np.testing.assert_array_equal(clahe(img, clip_limit=3.0, tile_grid=(3, 5)), expect)
    # 16 bits equalize over the 8-bit levels, each luma mapped between the two
    # around it: OpenCV's 16-bit CLAHE counts 65536 bins, where its clip level
    # falls to one count a bin, and a 16-bit copy of a picture came out up to
    # 105 levels from the 8-bit one (a 10-bit clip 10 levels brighter, trial 86)
    expect8 = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(img).astype(float)
    exact = clahe(img.astype(np.uint16) * 257)
    assert exact.dtype == np.uint16
    assert np.abs(exact / 257.0 - expect8).max() <= 0.5
    g16 = (img.astype(np.uint16) * 257 + RNG.integers(0, 257, img.shape)).astype(np.uint16)
    g8 = np.rint(g16 / 257.0).astype(np.uint8)  # the same picture in 8 bits
    near8 = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(g8).astype(float)
    assert np.abs(clahe(g16) / 257.0 - near8).mean() < 1.0
    as_float = clahe(img.astype(np.float32) / 255)
    assert np.abs(as_float * 255.0 - expect8).max() <= 0.5


def test_colour_clahe_matches_opencv_on_luma_and_keeps_hue() -> None:
    img = _dim(IMG)
    out = clahe(img, clip_limit=2.5)
    expect = cv2.createCLAHE(clipLimit=2.5, tileGridSize=(8, 8)).apply(luma(img))
    # Unrounded luma goes in, so it differs from OpenCV's rounded one by ≤ 0.5,
    # plus ≤ 0.5 for rounding the RGB channels.
    assert np.abs(out @ LUMA_W - expect).max() <= 1.0 + 1e-4
    assert luma(out).std() > 1.5 * luma(img).std()
    h0, c0 = ycbcr_hue(img)
    h1, c1 = ycbcr_hue(out)
    keep = (c0 > 6) & (c1 > 6)
    assert np.abs(np.angle(np.exp(1j * (h1 - h0)))[keep]).max() < 0.15


def test_shapes_dtypes_layout() -> None:
    view = IMG[::2, ::-1]
    for fn in (equalize_hist, clahe):
        np.testing.assert_array_equal(fn(view), fn(view.copy()))
        out16 = fn(IMG.astype(np.uint16) * 257)
        assert out16.dtype == np.uint16 and out16.shape == IMG.shape
        for tiny in (IMG[:1, :1], IMG[:2, :2], IMG[:1, :7, 0]):
            out = fn(tiny)
            assert out.shape == tiny.shape and out.dtype == np.uint8
    # A single-level image is left as it is (OpenCV's convention).
    np.testing.assert_array_equal(equalize_hist(IMG[:1, :1]), IMG[:1, :1])


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"clip_limit": -1.0}, "clip_limit"),
    ({"clip_limit": float("inf")}, "clip_limit"),
    ({"tile_grid": (8,)}, "tile_grid"),
    ({"tile_grid": (0, 8)}, "tile_grid"),
    ({"strength": 2.0}, "strength"),
])
def test_clahe_bad_parameters(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        clahe(IMG, **kwargs)


def test_bad_images() -> None:
    for fn in (equalize_hist, clahe):
        with pytest.raises(ValueError, match="uint8, uint16 or float in"):
            fn(IMG.astype(np.int16))
        with pytest.raises(ValueError, match="H×W"):
            fn(np.zeros((3, 3, 2), np.uint8))
    with pytest.raises(ValueError, match="strength"):
        equalize_hist(IMG, strength=-0.1)
    with pytest.raises(ValueError, match="NaN"):
        apply_luma(IMG, np.full(IMG.shape[:2], np.nan))


def test_equalizations_of_a_picture_in_8_and_16_bits_agree() -> None:
    # A 16-bit copy (or float) of a picture was equalized over 65536 levels:
    # equalize_hist 11 levels and CLAHE 105 from the 8-bit result, a 10-bit
    # clip's CLAHE 10 levels brighter than the same clip in 8 bits (trial 86)
    from vidclear.core.frame import Frame
    from vidclear.processors.enhance import HistEq

    rgb = (np.random.default_rng(7).random((120, 160, 3)) ** 2 * 255).astype(np.uint8)
    for fn in (equalize_hist, clahe):
        eight = fn(rgb).astype(float)
        sixteen = fn(rgb.astype(np.uint16) * 257) / 257.0
        as_float = fn(rgb.astype(np.float32) / 255) * 255.0
        for other in (sixteen, as_float):
            d = np.abs(other - eight)
            assert d.mean() < 0.5 and np.percentile(d, 99) < 2.5, (fn.__name__, d.max())
    proc = HistEq(smoothing=0.5)
    outs = [proc(Frame(rgb.astype(np.uint16) * 257, pts=i)).image for i in range(3)]
    assert outs[-1].dtype == np.uint16
    assert np.abs(outs[-1] / 257.0 - equalize_hist(rgb)).mean() < 0.5


@pytest.mark.parametrize(("hist", "said"), [
    ([-5, 10, 3], "must be >= 0, got -5 at level 0"),
    ([1.0, float("nan"), 3.0], "whole numbers"),
    ([0.5, 1.0, 2.0], "whole numbers"),
    (np.ones((2, 256)), "1-D array of counts per level, got shape (2, 256)"),
    ([7], "1-D array of counts per level, got shape (1,)"),
    ([0, 0, 0], "histogram is empty"),
    ([1e17] * 256, "sum past 2**53"),  # trial 142 F8
])
def test_equalization_lut_refuses_what_is_no_histogram(hist, said) -> None:
    # the docstring's "integers >= 0, not all zero" was not checked: garbage
    # tables without a word, or NumPy's own errors (trial 140 F5)
    with pytest.raises(ArrayError, match=re.escape(said)):
        equalization_lut(hist)
