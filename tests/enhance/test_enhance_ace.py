"""ACE: the Numba kernels against the O(N²) definition, shapes, errors."""

from __future__ import annotations

import numpy as np
import pytest

from tests.enhance.enhance_refs import ace_contrast_reference, scene
from vidclear.enhance import ace, ace_contrast
from vidclear.errors import ConfigError

IMG = scene(20, 28, seed=3)


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    return ace_contrast_reference(IMG, 5.0)


def test_direct_kernel_matches_definition(reference: np.ndarray) -> None:
    got = ace_contrast(IMG, alpha=5.0, method="direct")
    assert got.shape == (3, 20, 28) and got.dtype == np.float32
    np.testing.assert_allclose(got, reference, atol=2e-6)


@pytest.mark.parametrize(("levels", "max_err", "mean_err"), [(8, 0.06, 0.015), (32, 0.005, 0.001)])
def test_interp_matches_definition(reference: np.ndarray, levels: int, max_err: float,
                                   mean_err: float) -> None:
    # Full-resolution distance sums: the only approximation is the linear
    # interpolation between levels, which shrinks with their spacing.
    got = ace_contrast(IMG, alpha=5.0, levels=levels, grid=0)
    err = np.abs(got - reference)
    assert err.max() < max_err
    assert err.mean() < mean_err


def test_block_grid_approximation(reference: np.ndarray) -> None:
    # grid=16 sums distances over 2×2 blocks for this 20×28 image.
    got = ace_contrast(IMG, alpha=5.0, levels=32, grid=16)
    err = np.abs(got - reference)
    assert err.max() < 0.05
    assert err.mean() < 0.01


def test_output_is_minmax_stretch_of_contrast() -> None:
    r = ace_contrast(IMG).astype(np.float64)
    lo = r.min(axis=(1, 2), keepdims=True)
    hi = r.max(axis=(1, 2), keepdims=True)
    expect = np.moveaxis(np.floor((r - lo) / (hi - lo) * 255 + 0.5), 0, -1)
    np.testing.assert_allclose(ace(IMG), expect, atol=1)  # float32 vs float64 rounding
    out = ace(IMG)
    assert (out.min(axis=(0, 1)) == 0).all() and (out.max(axis=(0, 1)) == 255).all()


def test_removes_colour_cast_and_stretches() -> None:
    img = scene(48, 64, seed=1).astype(np.float64)
    cast = np.clip(img * [0.35, 0.45, 0.9] + [10, 10, 40], 0, 255).astype(np.uint8)
    out = ace(cast).astype(np.float64)
    before = np.ptp(cast.reshape(-1, 3).mean(axis=0))
    after = np.ptp(out.reshape(-1, 3).mean(axis=0))
    assert after < before / 3  # grey-world behaviour: channel means pulled together
    assert out[..., 0].std() > 2 * cast[..., 0].std()


def test_dtypes_shapes_and_layout() -> None:
    out8 = ace(IMG)
    out16 = ace(IMG.astype(np.uint16) * 257)
    assert out16.dtype == np.uint16 and out16.shape == IMG.shape
    assert np.abs(out16 / 257.0 - out8).max() <= 1.0
    grey = ace(IMG[..., 1])
    assert grey.shape == IMG.shape[:2] and grey.dtype == np.uint8
    # A grey image is one channel of the colour result: channels are independent.
    np.testing.assert_array_equal(grey, out8[..., 1])
    view = IMG[::-1, ::2]
    np.testing.assert_array_equal(ace(view), ace(view.copy()))
    for tiny in (IMG[:1, :1], IMG[:2, :2], IMG[:1, :5]):
        out = ace(tiny)
        assert out.shape == tiny.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(ace(IMG[:1, :1]), IMG[:1, :1])  # no contrast: unchanged
    np.testing.assert_array_equal(ace(np.full((9, 7, 3), 40, np.uint8)), 40)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"alpha": 0.0}, "alpha"),
    ({"alpha": float("nan")}, "alpha"),
    ({"method": "fft"}, "method"),
    ({"levels": 1}, "levels"),
    ({"grid": -1}, "grid"),
])
def test_bad_parameters(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ace(IMG, **kwargs)


def test_bad_images() -> None:
    with pytest.raises(ValueError, match=r"float image values must be in \[0, 1\]"):
        ace(IMG.astype(np.float32))  # 0..255 as float
    with pytest.raises(ValueError, match="H×W×3"):
        ace(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(ValueError, match="empty"):
        ace(np.zeros((0, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="direct"):
        ace(np.zeros((200, 200), np.uint8), method="direct")


def test_settings_whose_levels_would_not_fit_in_memory_are_refused() -> None:
    # grid=0 (full resolution) with many levels took memory without bound:
    # 1.5 GB at 320x180 and levels=128, tens of GB at 1080p (trial 140 F10)
    img = np.zeros((1080, 1920, 3), np.uint8)
    with pytest.raises(ConfigError, match=r"levels=128 and grid=0 on 1920x1080 needs about "
                                          r"5\.9 GiB .* lower levels, or set a grid"):
        ace(img, levels=128, grid=0)
