"""Kernels against slow NumPy references and OpenCV's own operators."""

from __future__ import annotations

import cv2
import numba
import numpy as np
import pytest

from tests.kernels.kernel_refs import (
    box_filter_ref,
    downsample_ref,
    guided_filter_ref,
    min_filter_ref,
    upsample_ref,
)
from vidclear.kernels import (
    GuidedFilter,
    box_filter,
    downsample_area,
    fast_guided_filter,
    guided_filter,
    min_filter,
    upsample_bilinear,
)

# (150, 333): the filters cut it into several row and column bands for the threads
SHAPES = [(1, 1), (2, 3), (5, 1), (48, 64), (37, 29), (150, 333)]


def _rand(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random(shape).astype(np.float32)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("r", [0, 1, 2, 7, 30])
def test_min_filter_matches_reference(shape: tuple[int, int], r: int) -> None:
    x = _rand(shape)
    np.testing.assert_array_equal(min_filter(x, radius=r), min_filter_ref(x, r))


def test_filters_do_not_depend_on_the_thread_count() -> None:
    x = _rand((181, 322), seed=9)
    g = _rand((181, 322), seed=10)
    prev = numba.get_num_threads()
    outs = []
    try:
        for n in sorted({1, prev}):
            numba.set_num_threads(n)
            outs.append((min_filter(x, radius=7), box_filter(x, radius=10),
                         guided_filter(g, x, radius=10, eps=1e-3)))
    finally:
        numba.set_num_threads(prev)
    for a, b in zip(outs[0], outs[-1], strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("r", [1, 3, 7])
def test_min_filter_matches_cv2_erode(r: int) -> None:
    x = _rand((48, 64), seed=1)
    ref = cv2.erode(x, np.ones((2 * r + 1, 2 * r + 1), np.uint8))
    np.testing.assert_array_equal(min_filter(x, radius=r), ref)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("r", [0, 1, 4, 30])
def test_box_filter_matches_cumsum_reference(shape: tuple[int, int], r: int) -> None:
    x = _rand(shape, seed=2)
    np.testing.assert_allclose(box_filter(x, radius=r), box_filter_ref(x, r), atol=2e-6)


@pytest.mark.parametrize("r", [1, 5])
def test_box_filter_matches_cv2_box_filter_inside(r: int) -> None:
    x = _rand((48, 64), seed=3)
    ref = cv2.boxFilter(x, -1, (2 * r + 1, 2 * r + 1))
    got = box_filter(x, radius=r)
    np.testing.assert_allclose(got[r:-r, r:-r], ref[r:-r, r:-r], atol=2e-6)


def _scene(shape: tuple[int, int], seed: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    guide = ((xx > w // 2) * 0.6 + 0.2 + 0.05 * rng.standard_normal(shape)).astype(np.float32)
    src = (0.5 * (yy / h) + 0.3 * (xx > w // 2) + 0.1 * rng.random(shape)).astype(np.float32)
    return guide, src


@pytest.mark.parametrize(("r", "eps"), [(1, 1e-3), (4, 1e-2), (8, 1e-4)])
def test_guided_filter_matches_reference(r: int, eps: float) -> None:
    g, p = _scene((48, 64))
    np.testing.assert_allclose(guided_filter(g, p, radius=r, eps=eps),
                               guided_filter_ref(g, p, r, eps), atol=2e-4)


@pytest.mark.parametrize(("r", "eps"), [(2, 1e-3), (4, 1e-2)])
def test_guided_filter_matches_opencv_ximgproc_inside(r: int, eps: float) -> None:
    if not hasattr(cv2, "ximgproc"):
        pytest.skip("cv2.ximgproc (opencv-contrib) is not installed")
    g, p = _scene((48, 64), seed=5)
    ref = cv2.ximgproc.guidedFilter(g, p, r, eps)
    got = guided_filter(g, p, radius=r, eps=eps)
    m = 2 * r  # coefficients are box-filtered twice; borders differ by design
    np.testing.assert_allclose(got[m:-m, m:-m], ref[m:-m, m:-m], atol=2e-3)


def test_guided_filter_tiny_and_constant() -> None:
    one = np.ones((1, 1), np.float32)
    assert np.isfinite(guided_filter(one, one, radius=5, eps=1e-3)).all()
    g = np.full((6, 7), 0.5, np.float32)
    p = _rand((6, 7))
    # a flat guide turns the filter into a plain (double) box mean
    got = guided_filter(g, p, radius=1, eps=1e-3)
    np.testing.assert_allclose(got, box_filter_ref(box_filter_ref(p, 1), 1), atol=1e-5)


@pytest.mark.parametrize(("shape", "s"), [((48, 64), 4), ((50, 63), 4), ((7, 5), 3), ((3, 2), 1)])
def test_downsample_area_matches_reference(shape: tuple[int, int], s: int) -> None:
    x = (np.random.default_rng(6).random((*shape, 3)) * 255).astype(np.uint8)
    got = downsample_area(x, factor=s, scale=1 / 255)
    np.testing.assert_allclose(got, downsample_ref(x / 255.0, s), atol=1e-5)
    x16 = x.astype(np.uint16) * 257
    np.testing.assert_allclose(downsample_area(x16[:, :, 0], factor=s),
                               downsample_ref(x16[:, :, 0].astype(float), s), rtol=1e-5)


@pytest.mark.parametrize("s", [16, 17])
def test_downsample_area_large_blocks_do_not_overflow(s: int) -> None:
    # 16×16 blocks of 255 are the largest sums the uint8 kernel's 16-bit lanes hold
    x = np.full((40, 37, 3), 255, np.uint8)
    x[::3, ::5, 1] = 0
    got = downsample_area(x, factor=s, scale=1 / 255)
    np.testing.assert_allclose(got, downsample_ref(x / 255.0, s), atol=1e-5)
    np.testing.assert_allclose(downsample_area(x.astype(np.float32), factor=s, scale=1 / 255),
                               got, atol=1e-6)


def test_downsample_area_matches_cv2_inter_area() -> None:
    x = _rand((48, 64, 3), seed=7)
    ref = cv2.resize(x, (16, 12), interpolation=cv2.INTER_AREA)
    np.testing.assert_allclose(downsample_area(x, factor=4), ref, atol=1e-5)


@pytest.mark.parametrize(("small", "s", "shape"), [((12, 16), 4, (48, 64)),
                                                   ((13, 16), 4, (50, 61)),
                                                   ((1, 1), 3, (2, 3)),
                                                   ((5, 4), 1, (5, 4))])
def test_upsample_bilinear_matches_reference(
    small: tuple[int, int], s: int, shape: tuple[int, int]
) -> None:
    x = _rand(small, seed=8)
    np.testing.assert_allclose(upsample_bilinear(x, factor=s, shape=shape),
                               upsample_ref(x, s, shape), atol=1e-5)


def test_upsample_bilinear_matches_cv2_resize() -> None:
    x = _rand((12, 16), seed=9)
    ref = cv2.resize(x, (64, 48), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_allclose(upsample_bilinear(x, factor=4, shape=(48, 64)), ref, atol=1e-5)


def test_fast_guided_filter_close_to_exact() -> None:
    yy, xx = np.mgrid[0:96, 0:128]
    g = (0.2 + 0.6 * (xx > 64) + 0.1 * np.sin(yy / 7.0)).astype(np.float32)
    p = (0.3 + 0.5 * (xx > 64) + 0.05 * np.cos(xx / 5.0)).astype(np.float32)
    exact = guided_filter(g, p, radius=8, eps=1e-3)
    fast = fast_guided_filter(g, p, radius=8, eps=1e-3, subsample=2)
    assert np.abs(fast - exact).mean() < 0.01
    np.testing.assert_allclose(GuidedFilter(radius=8, eps=1e-3, subsample=1)(g, p), exact)
    assert "subsample=2" in repr(GuidedFilter(subsample=2))


def test_non_contiguous_input() -> None:
    x = _rand((40, 30), seed=10)
    view = x[:, ::-1]
    np.testing.assert_array_equal(min_filter(view, radius=2),
                                  min_filter(np.ascontiguousarray(view), radius=2))
    np.testing.assert_allclose(box_filter(x.T, radius=3), box_filter_ref(x.T, 3), atol=2e-6)


def test_out_argument_is_used() -> None:
    x = _rand((10, 12))
    out = np.empty((10, 12), np.float32)
    assert min_filter(x, radius=1, out=out) is out
    with pytest.raises(ValueError, match="out must be"):
        box_filter(x, radius=1, out=np.empty((3, 3), np.float32))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: min_filter(np.zeros((3, 3, 3)), radius=1), "2-D"),
        (lambda: min_filter(np.zeros((0, 3)), radius=1), "empty"),
        (lambda: min_filter(np.zeros((3, 3)), radius=-1), "radius"),
        (lambda: box_filter(np.zeros((3, 3)), radius=1.5), "radius"),
        (lambda: box_filter(np.full((3, 3), np.nan), radius=1), "NaN"),
        (lambda: guided_filter(np.zeros((3, 3)), np.zeros((3, 4)), radius=1, eps=1e-3), "shape"),
        (lambda: guided_filter(np.zeros((3, 3)), np.zeros((3, 3)), radius=1, eps=0.0), "eps"),
        (lambda: downsample_area(np.zeros((3, 3), np.int64), factor=2), "dtype"),
        (lambda: downsample_area(np.zeros((3, 3), np.uint8), factor=0), "factor"),
        (lambda: upsample_bilinear(np.zeros((3, 3)), factor=2, shape=(9, 9)), "does not match"),
    ],
)
def test_errors(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()
