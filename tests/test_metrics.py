"""Tests for vidclear.metrics: PSNR, SSIM, CIEDE2000 and flicker."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from vidclear.metrics import (
    ciede2000,
    delta_e_ciede2000,
    flicker,
    psnr,
    pumping,
    srgb_to_lab,
    ssim,
)

RNG = np.random.default_rng(1234)


def _image(h: int = 40, w: int = 48, c: int = 3) -> np.ndarray:
    """Smooth gradients plus texture: a stand-in for a natural image."""
    y, x = np.mgrid[0:h, 0:w]
    base = 120 + 80 * np.sin(x / 7.0) * np.cos(y / 5.0)
    img = np.stack([base, base[::-1] * 0.8 + 30, 255 - base], axis=-1)[..., :c]
    img = img + RNG.normal(0, 12, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8).squeeze()


# --------------------------------------------------------------------- PSNR
def test_psnr_matches_opencv() -> None:
    a = _image()
    b = np.clip(a.astype(int) + RNG.integers(-20, 21, a.shape), 0, 255).astype(np.uint8)
    assert psnr(a, b) == pytest.approx(cv2.PSNR(a, b, 255.0), rel=1e-9)


def test_psnr_uint16_default_range() -> None:
    a = (_image().astype(np.uint16) * 257)
    b = a.copy()
    b[0, 0, 0] += 1000
    mse = 1000.0**2 / a.size
    assert psnr(a, b) == pytest.approx(10 * math.log10(65535.0**2 / mse))


def test_psnr_identical_is_inf_and_float_needs_range() -> None:
    a = _image()
    assert psnr(a, a) == math.inf
    f = a / 255.0
    with pytest.raises(ValueError, match="data_range"):
        psnr(f, f * 0.9)
    assert psnr(f, f * 0.9, data_range=1.0) > 0


def test_psnr_rejects_mismatch() -> None:
    with pytest.raises(ValueError, match="shape"):
        psnr(_image(), _image(30, 48))
    with pytest.raises(ValueError, match="data_range"):
        psnr(_image(), _image(), data_range=-1)


# --------------------------------------------------------------------- SSIM
def _ssim_slow(a: np.ndarray, b: np.ndarray, peak: float) -> float:
    """Direct per-window SSIM, one window at a time (Wang et al. 2004)."""
    r = np.arange(11) - 5
    g = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * 1.5**2))
    g /= g.sum()
    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2
    a3 = a.reshape(a.shape[0], a.shape[1], -1).astype(np.float64)
    b3 = b.reshape(b.shape[0], b.shape[1], -1).astype(np.float64)
    means = []
    for c in range(a3.shape[2]):
        vals = []
        for i in range(a.shape[0] - 10):
            for j in range(a.shape[1] - 10):
                x = a3[i:i + 11, j:j + 11, c]
                y = b3[i:i + 11, j:j + 11, c]
                mx, my = (g * x).sum(), (g * y).sum()
                vx = (g * (x - mx) ** 2).sum()
                vy = (g * (y - my) ** 2).sum()
                cov = (g * (x - mx) * (y - my)).sum()
                vals.append(((2 * mx * my + c1) * (2 * cov + c2))
                            / ((mx**2 + my**2 + c1) * (vx + vy + c2)))
        means.append(np.mean(vals))
    return float(np.mean(means))


@pytest.mark.parametrize("channels", [1, 3])
def test_ssim_matches_slow_reference(channels: int) -> None:
    a = _image(24, 30, channels)
    b = cv2.GaussianBlur(a, (5, 5), 1.2)
    b = np.clip(b.astype(int) + RNG.integers(-10, 11, b.shape), 0, 255).astype(np.uint8)
    assert ssim(a, b) == pytest.approx(_ssim_slow(a, b, 255.0), abs=1e-10)


def test_ssim_known_properties() -> None:
    a = _image()
    assert ssim(a, a) == pytest.approx(1.0)
    b = cv2.GaussianBlur(a, (7, 7), 2.0)
    assert ssim(a, b) == pytest.approx(ssim(b, a))
    noisy = [np.clip(a + RNG.normal(0, s, a.shape), 0, 255).astype(np.uint8) for s in (5, 20, 60)]
    scores = [ssim(a, n) for n in noisy]
    assert 1.0 > scores[0] > scores[1] > scores[2]


def test_ssim_of_flat_images_is_the_luminance_term() -> None:
    # Two constant images have zero variance, so SSIM reduces to
    # (2 mx my + C1) / (mx² + my² + C1).
    a = np.full((16, 16), 100, np.uint8)
    b = np.full((16, 16), 140, np.uint8)
    c1 = (0.01 * 255) ** 2
    expect = (2 * 100 * 140 + c1) / (100**2 + 140**2 + c1)
    assert ssim(a, b) == pytest.approx(expect, rel=1e-12)


def test_ssim_rejects_small_images() -> None:
    with pytest.raises(ValueError, match="11"):
        ssim(np.zeros((8, 20), np.uint8), np.zeros((8, 20), np.uint8))


# ---------------------------------------------------------------- CIEDE2000
# Pairs from Sharma, Wu & Dalal (2005), Table 1: L1 a1 b1, L2 a2 b2, ΔE00.
SHARMA = [
    (50.0000, 2.6772, -79.7751, 50.0000, 0.0000, -82.7485, 2.0425),
    (50.0000, 3.1571, -77.2803, 50.0000, 0.0000, -82.7485, 2.8615),
    (50.0000, 2.8361, -74.0200, 50.0000, 0.0000, -82.7485, 3.4412),
    (50.0000, -1.3802, -84.2814, 50.0000, 0.0000, -82.7485, 1.0000),
    (50.0000, 0.0000, 0.0000, 50.0000, -1.0000, 2.0000, 2.3669),
    (50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0009, 7.1792),
    (50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0011, 7.2195),
    (50.0000, -0.0010, 2.4900, 50.0000, 0.0009, -2.4900, 4.8045),
    (50.0000, -0.0010, 2.4900, 50.0000, 0.0011, -2.4900, 4.7461),
    (50.0000, 2.5000, 0.0000, 50.0000, 0.0000, -2.5000, 4.3065),
    (50.0000, 2.5000, 0.0000, 73.0000, 25.0000, -18.0000, 27.1492),
    (50.0000, 2.5000, 0.0000, 61.0000, -5.0000, 29.0000, 22.8977),
    (50.0000, 2.5000, 0.0000, 56.0000, -27.0000, -3.0000, 31.9030),
    (50.0000, 2.5000, 0.0000, 58.0000, 24.0000, 15.0000, 19.4535),
    (50.0000, 2.5000, 0.0000, 50.0000, 3.1736, 0.5854, 1.0000),
    (60.2574, -34.0099, 36.2677, 60.4626, -34.1751, 39.4387, 1.2644),
    (63.0109, -31.0961, -5.8663, 62.8187, -29.7946, -4.0864, 1.2630),
    (61.2901, 3.7196, -5.3901, 61.4292, 2.2480, -4.9620, 1.8731),
    (35.0831, -44.1164, 3.7933, 35.0232, -40.0716, 1.5901, 1.8645),
    (22.7233, 20.0904, -46.6940, 23.0331, 14.9730, -42.5619, 2.0373),
    (36.4612, 47.8580, 18.3852, 36.2715, 50.5065, 21.2231, 1.4146),
    (90.8027, -2.0831, 1.4410, 91.1528, -1.6435, 0.0447, 1.4441),
    (90.9257, -0.5406, -0.9208, 88.6381, -0.8985, -0.7239, 1.5381),
    (6.7747, -0.2908, -2.4247, 5.8714, -0.0985, -2.2286, 0.6377),
    (2.0776, 0.0795, -1.1350, 0.9033, -0.0636, -0.5514, 0.9082),
]


def test_ciede2000_sharma_table() -> None:
    table = np.array(SHARMA)
    got = delta_e_ciede2000(table[:, 0:3], table[:, 3:6])
    np.testing.assert_allclose(got, table[:, 6], atol=5e-5)
    # The formula is symmetric in its two arguments.
    np.testing.assert_allclose(delta_e_ciede2000(table[:, 3:6], table[:, 0:3]), got, atol=1e-12)


def test_srgb_to_lab_matches_opencv() -> None:
    rgb = RNG.integers(0, 256, (32, 32, 3)).astype(np.uint8)
    ours = srgb_to_lab(rgb)
    theirs = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    # OpenCV's float path uses tabulated, single-precision approximations of
    # the transfer curves: it agrees to a few tenths of a unit, not better.
    diff = np.abs(ours - theirs)
    assert diff.max() < 0.4
    assert diff.mean() < 0.15


def test_srgb_to_lab_known_colours() -> None:
    lab = srgb_to_lab(np.array([[255, 255, 255], [0, 0, 0], [255, 0, 0]], np.uint8))
    np.testing.assert_allclose(lab[0], [100, 0, 0], atol=1e-6)
    np.testing.assert_allclose(lab[1], [0, 0, 0], atol=1e-9)
    # sRGB red is L* 53.24, a* 80.09, b* 67.20 under D65.
    np.testing.assert_allclose(lab[2], [53.24, 80.09, 67.20], atol=0.01)


def test_ciede2000_images() -> None:
    a = _image()
    assert ciede2000(a, a) == 0.0
    b = a.copy()
    b[..., 0] = np.clip(b[..., 0].astype(int) + 10, 0, 255)
    d_small = ciede2000(a, b)
    b[..., 0] = np.clip(a[..., 0].astype(int) + 40, 0, 255)
    assert 0 < d_small < ciede2000(a, b)
    expect = delta_e_ciede2000(srgb_to_lab(a), srgb_to_lab(b)).mean()
    assert ciede2000(a, b) == pytest.approx(expect)
    with pytest.raises(ValueError, match="RGB"):
        ciede2000(a[..., 0], b[..., 0])


# ------------------------------------------------------------------ flicker
def test_flicker_measures_brightness_jumps() -> None:
    # kept under 245, so that no channel clips and the jump is 10/255 in each
    # (the module's RNG state decides how many pixels clip, and those made the
    # mean over channels move by less than the luma: 2.7e-5 apart on a fresh
    # machine, where the suite asked for 1e-6)
    base = np.minimum(_image(), 240).astype(np.float64)
    steady = [base.astype(np.uint8)] * 5
    assert flicker(steady) == 0.0
    offsets = [0, 10, 0, 10, 0]  # 10/255 jumps in every channel, so in luma too
    frames = [np.clip(base + o, 0, 255).astype(np.uint8) for o in offsets]
    expect = np.mean(np.abs(np.diff([f.mean() for f in frames]))) / 255.0
    assert flicker(frames) == pytest.approx(expect, rel=1e-6)
    assert flicker(frames) > 0.03


def test_pumping_leaves_steady_changes_out() -> None:
    base = _image().astype(np.float64)
    ramp = [np.clip(base + 5 * i, 0, 255).astype(np.uint8) for i in range(6)]  # a fade
    assert flicker(ramp) > 0.015
    assert pumping(ramp) == pytest.approx(0.0, abs=1e-3)  # clipping bends it a little
    offsets = [0, 10, 0, 10, 0, 10]  # alternating by 10 levels: pumping 10/255
    frames = [np.clip(base + o, 0, 255).astype(np.uint8) for o in offsets]
    m = np.array([(f.astype(np.float64) @ [0.2126, 0.7152, 0.0722]).mean()
                  for f in frames]) / 255.0  # a NumPy reference
    expect = np.mean(np.abs(m[1:-1] - (m[:-2] + m[2:]) / 2))
    assert pumping(frames) == pytest.approx(expect, rel=1e-6)
    with pytest.raises(ValueError, match="3 frames"):
        pumping(frames[:2])


def test_flicker_mask_and_errors() -> None:
    a = np.zeros((10, 10), np.uint8)
    b = a.copy()
    b[:, :5] = 200  # change only the left half
    mask = np.zeros((10, 10), bool)
    mask[:, 5:] = True
    assert flicker([a, b, a], mask=mask) == 0.0
    assert flicker([a, b, a]) == pytest.approx(100 / 255)
    with pytest.raises(ValueError, match="2 frames"):
        flicker([a])
    with pytest.raises(ValueError, match="shape"):
        flicker([a, np.zeros((5, 5), np.uint8)])
    with pytest.raises(ValueError, match="no pixels"):
        flicker([a, b], mask=np.zeros((10, 10), bool))
