"""Luma weights, exposure weights, text labels and the self-guided coefficients."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.kernels.kernel_refs import guided_filter_ref
from vidclear.kernels import (
    BT601,
    BT709,
    draw_label,
    exposure_weights,
    fast_guided_filter,
    guided_coefficients,
    luma,
)


def test_bt601_luma_matches_opencv_rgb2gray() -> None:
    rgb = np.random.default_rng(0).random((17, 23, 3)).astype(np.float32)
    np.testing.assert_allclose(luma(rgb), cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), atol=1e-6)


def test_bt709_weights_are_the_srgb_luminance_row() -> None:
    # Y row of the sRGB (linear) -> XYZ matrix, IEC 61966-2-1
    np.testing.assert_allclose(BT709, [0.2126729, 0.7151522, 0.0721750], atol=1e-4)
    assert BT601.sum() == pytest.approx(1.0) and BT709.sum() == pytest.approx(1.0)
    rgb = np.random.default_rng(1).random((4, 5, 3))
    np.testing.assert_allclose(luma(rgb, standard="bt709"), rgb @ [0.2126, 0.7152, 0.0722],
                               rtol=1e-6)


def test_luma_weights_are_read_only_and_errors() -> None:
    with pytest.raises(ValueError):
        BT601[0] = 0.5
    with pytest.raises(ValueError, match="standard"):
        luma(np.zeros((2, 2, 3)), standard="bt2020")
    with pytest.raises(ValueError, match="3 channels"):
        luma(np.zeros((2, 2, 4)))


def test_hat_weights_and_clip() -> None:
    z = np.arange(256)
    np.testing.assert_array_equal(exposure_weights("hat"), np.minimum(z, 255 - z))
    w = exposure_weights("hat", clip=250)
    assert (w[250:] == 0).all() and (w[:250] == np.minimum(z, 255 - z)[:250]).all()
    tri = exposure_weights("triangle")
    assert tri.min() >= 1 and tri[127] == 128 and tri[128] == 128
    g = exposure_weights("gaussian")
    assert g[0] == pytest.approx(0, abs=1e-6) and g[255] == pytest.approx(0, abs=1e-6)
    assert g.max() == pytest.approx(1, abs=1e-3) and (exposure_weights("uniform") == 1).all()
    for bad in ({"name": "box"}, {"clip": 300}):
        with pytest.raises(ValueError):
            exposure_weights(**bad)


@pytest.mark.parametrize("background", [0, 255])
def test_label_is_legible_on_white_and_black(background: int) -> None:
    img = np.full((120, 200, 3), background, np.uint8)
    draw_label(img, "before | after")
    box = img[:20, :120, 0]
    # white text and dark pixels next to it, whatever the background
    assert (box >= 200).sum() > 20 and (box <= 70).sum() > 30
    np.testing.assert_array_equal(img[40:], background)  # nothing below the box


@pytest.mark.parametrize(("dtype", "white"), [(np.uint16, 65535), (np.float32, 1.0)])
def test_label_in_other_depths_and_bottom_corner(dtype: type, white: float) -> None:
    img = np.full((200, 100, 3), white, dtype)
    draw_label(img, "one\ntwo", corner="bottom-left")
    assert img.dtype == dtype
    assert (img[:150] == white).all()  # top untouched
    bottom = img[150:, :60, 0]
    assert (bottom < white / 3).sum() > 30 and (bottom == white).sum() > 10


def test_label_edge_cases() -> None:
    img = np.full((8, 8), 100, np.uint8)
    draw_label(img, "")
    assert (img == 100).all()
    draw_label(img, "a label much wider than the image")  # clipped, no error
    assert img.shape == (8, 8)
    with pytest.raises(ValueError, match="corner"):
        draw_label(img, "x", corner="middle")


def test_self_guided_coefficients() -> None:
    g = np.random.default_rng(2).random((40, 52)).astype(np.float32)
    np.testing.assert_allclose(guided_coefficients(g, radius=8, eps=1e-2, subsample=4),
                               guided_coefficients(g, g, radius=8, eps=1e-2, subsample=4),
                               atol=1e-5)
    odd = g[:39, :51]  # not a multiple of the block: the Numba resampling path
    np.testing.assert_allclose(guided_coefficients(odd, radius=8, eps=1e-2, subsample=4),
                               guided_coefficients(odd, odd, radius=8, eps=1e-2, subsample=4),
                               atol=1e-6)
    ab = guided_coefficients(g, radius=3, eps=1e-2)
    np.testing.assert_allclose(ab[0] * g + ab[1], guided_filter_ref(g, g, 3, 1e-2), atol=2e-4)
    yy, xx = np.mgrid[0:48, 0:64]  # an edge plus gentle texture, as log luminance looks
    s = (0.2 + 0.6 * (xx > 30) + 0.1 * np.sin(yy / 7.0)).astype(np.float32)
    exact = guided_filter_ref(s, s, 8, 1e-2)
    fast = fast_guided_filter(s, radius=8, eps=1e-2, subsample=2)
    assert np.abs(fast - exact).mean() < 0.01
    out = np.empty((2, 40, 52), np.float32)
    assert guided_coefficients(g, radius=8, eps=1e-2, subsample=2, out=out) is out
