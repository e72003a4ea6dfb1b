"""The dehazer's Numba kernels against slow NumPy references."""

from __future__ import annotations

import numpy as np
import pytest

from tests.dehaze.dehaze_refs import (
    LUMA,
    bilinear_ref,
    dark_channel_ref,
    luma_floor_ref,
    quadtree_ref,
    recover_ref,
)
from vidclear.dehaze import _kernels as _k
from vidclear.dehaze import dark_channel, estimate_airlight
from vidclear.dehaze.airlight import neutral_pull
from vidclear.kernels._filters import guided_coeffs


def _rgb(shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((*shape, 3)).astype(np.float32)


def _planes(img: np.ndarray) -> np.ndarray:
    """An (h, w, 3) image as the (3, h, w) planes the working-size kernels read."""
    return np.ascontiguousarray(np.moveaxis(img, -1, 0))


@pytest.mark.parametrize("patch", [1, 3, 15])
@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (40, 52)])
def test_dark_channel_matches_reference(patch: int, shape: tuple[int, int]) -> None:
    img = _rgb(shape)
    np.testing.assert_allclose(dark_channel(img, patch=patch), dark_channel_ref(img, patch),
                               atol=1e-6)
    a = np.array([0.9, 0.8, 0.7])
    np.testing.assert_allclose(dark_channel(img, patch=patch, airlight=a),
                               dark_channel_ref(img, patch, a), rtol=1e-5)


def test_dark_channel_uint8_and_non_contiguous() -> None:
    img = (_rgb((30, 40), 1) * 255).astype(np.uint8)
    view = img[:, ::-1]
    np.testing.assert_allclose(dark_channel(view, patch=5),
                               dark_channel_ref(view / 255.0, 5), atol=1e-6)


def test_grey_minc_matches_numpy() -> None:
    img = _rgb((20, 30), 2)
    inv = np.array([1.2, 1.0, 1.5], np.float32)
    grey = np.empty((20, 30), np.float32)
    minc = np.empty((20, 30), np.float32)
    _k.grey_minc(_planes(img), LUMA.astype(np.float32), inv, grey, minc)
    np.testing.assert_allclose(grey, img @ LUMA, atol=1e-6)
    np.testing.assert_allclose(minc, (img * inv).min(axis=2), atol=1e-6)


@pytest.mark.parametrize("frac", [0.001, 0.01, 0.2])
def test_top_threshold_selects_the_brightest_fraction(frac: float) -> None:
    x = np.random.default_rng(3).random((60, 80)).astype(np.float32)
    thr = _k.top_threshold(x, frac)
    need = int(np.ceil(frac * x.size))
    kth = np.sort(x.ravel())[::-1][need - 1]
    binw = (x.max() - x.min()) / 1023
    assert (x >= thr).sum() >= need
    assert kth - binw - 1e-6 <= thr <= kth + 1e-6


@pytest.mark.parametrize("shape", [(1, 1), (9, 13), (64, 48)])
def test_quadtree_matches_reference(shape: tuple[int, int]) -> None:
    grey = np.random.default_rng(4).random(shape).astype(np.float32)
    grey[: shape[0] // 2, shape[1] // 2:] += 0.5  # a bright, smooth-ish quadrant
    assert _k.quadtree_region(grey, 4) == quadtree_ref(grey, 4)


def test_quadtree_prefers_smooth_bright_region_over_textured_white() -> None:
    rng = np.random.default_rng(5)
    img = np.full((64, 64, 3), 0.3, np.float32)
    img[:32, :32] = 0.8  # flat haze/sky
    img[32:, 32:] = rng.choice([0.0, 1.0], (32, 32, 1))  # textured black/white object
    a = estimate_airlight(img, method="quadtree")
    np.testing.assert_allclose(a, 0.8, atol=1e-5)


def test_neutral_pull_takes_colours_haze_never_has_to_grey() -> None:
    n = 0.5
    grey_blue = np.array([0.80, 0.82, 0.86])  # saturation 0.07: haze
    assert neutral_pull(grey_blue, n) == n
    sky = np.array([0.45, 0.65, 0.90])  # saturation 0.5: a clear blue sky
    assert neutral_pull(sky, n) == 1.0
    cyan = np.array([0.72, 0.9, 0.9])  # saturation 0.2: half way up the ramp
    assert neutral_pull(cyan, n) == pytest.approx(0.75)
    # a warm colour as saturated goes to grey too: a sandstone wall, golden
    # light (keeping it warm darkened clear warm scenes twice as much)
    sandstone = np.array([0.86, 0.76, 0.58])
    assert neutral_pull(sandstone, n) == 1.0
    assert neutral_pull(grey_blue, 0.2) == pytest.approx(0.2)  # the key's share
    # unless it is in evidence as a veil's colour (veil_colour, in thick haze):
    # a saturated colour then keeps its own, one half way up the ramp half
    assert neutral_pull(sandstone, n, veil=1.0) == 0.0
    assert neutral_pull(cyan, n, veil=1.0) == pytest.approx(0.75 * 0.5)
    assert neutral_pull(sandstone, n, veil=0.5) == pytest.approx(0.5)
    assert neutral_pull(grey_blue, n, veil=1.0) == n  # haze-coloured: the key's share


def test_planes_of_and_the_colour_attenuation_depth() -> None:
    img = _rgb((13, 21), 8)
    img[:4] = img[:4].mean(axis=2, keepdims=True)  # grey: saturation 0
    img[4, :3] = 0.0  # black: saturation taken as 0
    planes = np.empty((3, 13, 21), np.float32)
    _k.planes_of(img, planes)
    np.testing.assert_array_equal(planes, np.moveaxis(img, -1, 0))
    depth = np.empty((13, 21), np.float32)
    _k.cap_depth(planes, depth)
    v = img.max(axis=2)
    sat = np.where(v > 0, (v - img.min(axis=2)) / np.maximum(v, 1e-6), 0.0)
    np.testing.assert_allclose(depth, 0.121779 + 0.959710 * v - 0.780245 * sat, atol=1e-6)


def test_exp_small_matches_numpy_and_clamps() -> None:
    x = np.linspace(-4.0, 4.0, 8001).astype(np.float32)
    got = np.array([_k.exp_small(np.float32(v)) for v in x[::7]])
    np.testing.assert_allclose(got, np.exp(x[::7].astype(np.float64)), rtol=2.2e-6)
    assert _k.exp_small(np.float32(-30.0)) == _k.exp_small(np.float32(-4.0))
    assert _k.exp_small(np.float32(30.0)) == _k.exp_small(np.float32(4.0))


@pytest.mark.parametrize("cap_weight", [0.0, 0.3])
def test_raw_transmission_matches_numpy(cap_weight: float) -> None:
    rng = np.random.default_rng(6)
    dark = rng.random((30, 40)).astype(np.float32)
    capd = rng.uniform(0.0, 1.5, (30, 40)).astype(np.float32)
    low = rng.random((30, 40, 3)).astype(np.float32)
    grey = low[:15].mean(axis=2, keepdims=True)
    low[:15] = grey + rng.random((15, 40, 1)).astype(np.float32) * 0.1  # near-grey pixels
    low = np.clip(low, 0, 1)
    air = np.array([0.8, 0.85, 0.9], np.float32)
    mean = rng.random((30, 40)).astype(np.float32)
    sq = mean**2 + rng.random((30, 40)).astype(np.float32) * 0.002
    stats = np.stack([mean, sq])
    out = np.empty_like(dark)
    _k.raw_transmission(dark, capd, _planes(low), (1 / air).astype(np.float32), stats,
                        np.array([0.9, cap_weight, 0.7, 0.4, 0.8]), out)

    def smooth(x: np.ndarray) -> np.ndarray:
        x = np.clip(x, 0, 1)
        return x * x * (3 - 2 * x)

    u = low / air
    bright = smooth((u.max(axis=2) - 0.7) * 5)
    flat = smooth(1 - np.clip((np.sqrt(np.maximum(sq - mean**2, 0)) - 0.01) / 0.03, 0, 1))
    coloured = smooth((u.max(axis=2) - u.min(axis=2) - 0.1) / 0.2)
    blend = (1 - cap_weight) * (1 - 0.9 * dark) + cap_weight * (1 - 0.7 * (1 - np.exp(-capd)))
    floor = bright * flat * (0.4 + 0.4 * coloured)
    ref = np.maximum(blend, floor)
    np.testing.assert_allclose(out, ref, atol=1e-5)
    assert (coloured > 0.99).any() and (coloured < 0.01).any()  # both floors were exercised
    assert (floor > blend + 0.05).any()  # and they bound t somewhere, after the blend


@pytest.mark.parametrize(("k", "cap", "credit"), [(0.0, 1.0, 1.0), (0.5, 1.0, 1.0),
                                                  (0.75, 1.0, 1.0), (0.95, 1.0, 1.0),
                                                  (0.75, 0.6, 1.0), (0.75, 1.0, 0.0),
                                                  (0.75, 1.0, 0.4)])
def test_luma_floor_matches_bisection(k: float, cap: float, credit: float) -> None:
    rng = np.random.default_rng(13)
    low = _rgb((30, 40), 14)
    low[:10] = low[:10].mean(axis=2, keepdims=True)  # grey pixels: the case it is for
    air = np.array([0.8, 0.85, 0.9], np.float32)
    t = rng.uniform(0.05, 1.0, (30, 40)).astype(np.float32)
    out = t.copy()
    _k.luma_floor(_planes(low), (1.0 / air).astype(np.float32), LUMA.astype(np.float32), k, cap,
                  out, credit)
    np.testing.assert_allclose(out, luma_floor_ref(low, air, k, t, cap, credit), atol=1e-5)
    assert (out >= t).all() and (out <= 1).all()
    if cap < 1:  # the cap bound somewhere, and only raised t where t was below it
        assert (out[t < cap] <= cap + 1e-6).all()
        assert (luma_floor_ref(low, air, k, t) > out + 0.01).any()


def test_luma_floor_survives_pixels_brighter_than_the_airlight() -> None:
    # lum = 1 / k exactly (a scene brightening past a stale airlight) once
    # divided by zero and crashed the run; weights (1, 0, 0) make it exact
    inv_a = np.full(3, 2.0, np.float32)
    low = np.array([[[0.5, 0.5, 0.5], [0.625, 0.625, 0.625], [0.3, 0.3, 0.3]]], np.float32)
    wts = np.array([1.0, 0.0, 0.0], np.float32)
    t = np.full((1, 3), 0.3, np.float32)
    _k.luma_floor(_planes(low), inv_a, wts, 1.0, 1.0, t)  # pixel 0: lum = 1, k * lum = 1
    assert np.isfinite(t).all()
    np.testing.assert_allclose(t[0, :2], 0.3)  # at or above the airlight: nothing to raise
    np.testing.assert_allclose(t[0, 2], 1.0)  # k = 1: a grey pixel below A keeps all of it


def test_luma_floor_keeps_grey_luminance_and_lets_colour_darken() -> None:
    air = np.full(3, 0.8, np.float32)
    # a grey pixel and a hazy green one with the same luma
    low = np.array([[[0.4, 0.4, 0.4], [0.3, 0.47, 0.3]]], np.float32)
    t = np.full((1, 2), 0.05, np.float32)
    _k.luma_floor(_planes(low), (1.0 / air).astype(np.float32), LUMA.astype(np.float32), 0.75,
                  1.0, t)
    j = (low - air) / t[..., None] + air
    # the grey pixel recovers to exactly 0.75 of its luminance ...
    np.testing.assert_allclose(j[0, 0] @ LUMA, 0.75 * 0.4, rtol=1e-4)
    # ... the coloured one may go darker in luma, paid for by chroma
    assert t[0, 1] < t[0, 0]
    assert j[0, 1] @ LUMA < 0.75 * (low[0, 1] @ LUMA)
    # with no chroma credit (light haze) it keeps 0.75 of its luminance too
    t = np.full((1, 2), 0.05, np.float32)
    _k.luma_floor(_planes(low), (1.0 / air).astype(np.float32), LUMA.astype(np.float32), 0.75,
                  1.0, t, 0.0)
    j = (low - air) / t[..., None] + air
    np.testing.assert_allclose(j[0] @ LUMA, 0.75 * (low[0] @ LUMA), rtol=1e-4)


def test_recovery_stats_matches_numpy() -> None:
    low = _rgb((24, 32), 7)
    grey = (low @ LUMA).astype(np.float32)
    coeffs = np.stack([np.full((24, 32), 0.3), np.full((24, 32), 0.4)]).astype(np.float32)
    air = np.array([0.8, 0.85, 0.9], np.float32)
    tlow = np.empty((24, 32), np.float32)
    hist = np.empty((8, _k.NBINS), np.int64)
    everything = np.array([0, 24, 0, 32], np.int64)
    _k.recovery_stats(low, grey, coeffs, 1, 1, air, 0.1, LUMA.astype(np.float32), tlow, hist,
                      everything)
    t = np.clip(0.3 * grey + 0.4, 0.1, 1.0)
    np.testing.assert_allclose(tlow, t, atol=1e-6)
    j = np.clip((low - air) / t[..., None] + air, 0, 1)

    def h(v: np.ndarray) -> np.ndarray:
        return np.bincount(np.rint(v.ravel() * 255).astype(int), minlength=256)

    ref = [h(low[..., c]) for c in range(3)] + [h(grey)]
    ref += [h(j[..., c]) for c in range(3)] + [h(j @ LUMA)]
    # allow a few pixels to land in a neighbouring bin from float32 rounding
    assert np.abs(hist - np.stack(ref)).sum() <= 8
    assert (hist.sum(axis=1) == 24 * 32).all()


@pytest.mark.parametrize(("gs", "step", "shape"), [(2, 2, (24, 32)), (3, 2, (25, 31))])
def test_recovery_stats_subsampled_coefficients_and_histograms(
        gs: int, step: int, shape: tuple[int, int]) -> None:
    low = _rgb(shape, 11)
    grey = (low @ LUMA).astype(np.float32)
    h2, w2 = -(-shape[0] // gs), -(-shape[1] // gs)
    rng = np.random.default_rng(12)
    coeffs = np.stack([rng.uniform(-0.5, 0.5, (h2, w2)),
                       rng.uniform(0.3, 0.8, (h2, w2))]).astype(np.float32)
    air = np.array([0.8, 0.85, 0.9], np.float32)
    tlow = np.empty(shape, np.float32)
    hist = np.empty((8, _k.NBINS), np.int64)
    _k.recovery_stats(low, grey, coeffs, gs, step, air, 0.1, LUMA.astype(np.float32), tlow,
                      hist, np.array([0, shape[0], 0, shape[1]], np.int64))
    a = bilinear_ref(coeffs[0], gs, shape)
    b = bilinear_ref(coeffs[1], gs, shape)
    t = np.clip(a * grey + b, 0.1, 1.0)
    np.testing.assert_allclose(tlow, t, atol=1e-5)
    sub = low[::step, ::step]

    def h(v: np.ndarray) -> np.ndarray:
        return np.bincount(np.rint(v.ravel() * 255).astype(int), minlength=256)

    assert np.abs(hist[:3] - np.stack([h(sub[..., c]) for c in range(3)])).sum() <= 3
    assert (hist.sum(axis=1) == sub.shape[0] * sub.shape[1]).all()
    # only the box is counted (the picture inside letterbox bars); tlow is still whole
    box = np.array([4, shape[0] - 3, 6, shape[1] - 5], np.int64)
    _k.recovery_stats(low, grey, coeffs, gs, step, air, 0.1, LUMA.astype(np.float32), tlow,
                      hist, box)
    ys = [y for y in range(0, shape[0], step) if 4 <= y < shape[0] - 3]
    xs = [x for x in range(0, shape[1], step) if 6 <= x < shape[1] - 5]
    inner = low[np.ix_(ys, xs)]
    assert np.abs(hist[:3] - np.stack([h(inner[..., c]) for c in range(3)])).sum() <= 3
    assert (hist.sum(axis=1) == len(ys) * len(xs)).all()
    np.testing.assert_allclose(tlow, t, atol=1e-5)


@pytest.mark.parametrize("gamma", [0.8, 1.0])
@pytest.mark.parametrize(("dtype", "s", "shape"), [(np.uint8, 4, (48, 64)),
                                                   (np.uint8, 3, (50, 61)),
                                                   (np.uint16, 2, (20, 30)),
                                                   (np.uint8, 1, (2, 2))])
def test_recover_matches_reference(dtype: type, s: int, shape: tuple[int, int],
                                   gamma: float) -> None:
    rng = np.random.default_rng(8)
    full = np.iinfo(dtype).max
    src = (rng.random((*shape, 3)) * full).astype(dtype)
    h, w = -(-shape[0] // s), -(-shape[1] // s)
    low = (rng.random((h, w)) * 0.5).astype(np.float32)
    coeffs = guided_coeffs(low, (0.3 + low).astype(np.float32), 1, 1e-2)
    air = np.array([0.85, 0.8, 0.9])
    gains = np.array([1.05, 1.0, 0.95])
    t0 = 0.1
    if gamma < 1:
        size = 4096 if dtype == np.uint8 else 65536
        lut = np.rint(full * np.linspace(0, 1, size) ** gamma).astype(dtype)
        top = size - 1
        # J is quantised on the LUT grid before the tone curve: <= ~1 % of full scale
        tol = 3 if dtype == np.uint8 else 40
    else:
        lut = np.empty(0, dtype)
        top = full
        tol = 1  # float32 rounding only
    prm = np.concatenate([gains * top / full, air * gains * top,
                          LUMA / full, [t0, top, LUMA @ air]]).astype(np.float32)
    out = np.empty_like(src)
    _k.recover(src, coeffs, s, prm, lut, out)
    ref = recover_ref(src, coeffs, s, air, gains, t0, gamma)
    assert np.abs(out.astype(float) - ref).max() <= tol
    assert np.abs(out.astype(float) - ref).mean() < tol / 4


def test_bilinear_ref_is_identity_at_factor_one() -> None:
    x = np.random.default_rng(9).random((5, 6))
    np.testing.assert_allclose(bilinear_ref(x, 1, (5, 6)), x)


@pytest.mark.parametrize(("shape", "f"), [((24, 32), 2), ((25, 33), 2), ((7, 5), 3), ((1, 1), 2)])
def test_shrink_pair_matches_block_means(shape: tuple[int, int], f: int) -> None:
    rng = np.random.default_rng(13)
    a = rng.random(shape).astype(np.float32)
    b = rng.random(shape).astype(np.float32)
    h2, w2 = -(-shape[0] // f), -(-shape[1] // f)
    out = np.full((2, h2, w2), np.nan, np.float32)
    _k.shrink_pair(a, b, f, out)
    for k, x in enumerate((a, b)):
        ref = np.array([[x[i * f:(i + 1) * f, j * f:(j + 1) * f].mean() for j in range(w2)]
                        for i in range(h2)])
        np.testing.assert_allclose(out[k], ref, atol=1e-6)


@pytest.mark.parametrize("frac", [0.001, 0.05])
def test_airlight_top_is_mean_of_brightest_candidates(frac: float) -> None:
    rng = np.random.default_rng(14)
    img = rng.random((40, 60, 3)).astype(np.float32)
    dark = rng.random((40, 60)).astype(np.float32)
    got = _k.airlight_top(img, dark, frac, 0.1, LUMA.astype(np.float32))
    # reference: candidates at or above the (separately tested) histogram threshold,
    # then the brightest tenth of them by sorting
    cand = img[dark >= _k.top_threshold(dark, frac)]
    assert len(cand) >= frac * dark.size
    key = cand @ LUMA
    take = max(1, int(np.ceil(0.1 * len(cand))))
    ref = cand[np.argsort(key)[::-1][:take]].mean(axis=0)
    np.testing.assert_allclose(got, ref, atol=1e-6)


def test_airlight_top_counts_ties_at_the_cut() -> None:
    # a flat fog bank: a quarter of the frame shares the top dark-channel
    # value and only two colours, so the cut falls inside a run of equal keys
    rng = np.random.default_rng(16)
    img = rng.random((40, 40, 3)).astype(np.float32) * 0.5
    dark = rng.random((40, 40)).astype(np.float32) * 0.5
    dark[:10] = 0.9
    img[:10] = np.float32(0.8)
    img[:10, ::2] = np.float32(0.85)  # 200 brighter pixels, 200 tied darker ones
    got = _k.airlight_top(img, dark, 0.05, 0.6, LUMA.astype(np.float32))
    cand = img[dark >= _k.top_threshold(dark, 0.05)]
    assert len(cand) == 400
    take = int(np.ceil(0.6 * len(cand)))  # 240: all 200 brighter and 40 of the ties
    ref = cand[np.argsort(-(cand @ LUMA), kind="stable")[:take]].mean(axis=0)
    np.testing.assert_allclose(got, ref, atol=1e-6)
    np.testing.assert_allclose(got, (200 * 0.85 + 40 * 0.8) / 240, atol=1e-6)


def test_sky_stack_strided_median_and_colour_histogram() -> None:
    rng = np.random.default_rng(15)
    grey = rng.random((21, 30)).astype(np.float32)
    st = np.empty((2, 21, 30), np.float32)
    _k.sky_stack(grey, st)
    np.testing.assert_allclose(st, np.stack([grey, grey * grey]), rtol=1e-6)
    assert _k.strided_median(grey, 2) == pytest.approx(float(np.median(grey[::2, ::2])),
                                                       abs=1e-7)
    assert _k.strided_median(grey, 1) == pytest.approx(float(np.median(grey)), abs=1e-7)
    for q in (0.0, 0.005, 0.3, 1.0):
        assert _k.strided_quantile(grey, 3, q) == pytest.approx(
            float(np.quantile(grey[::3, ::3], q)), abs=1e-6)
    # tile_quantiles: each tile's quantile, the tiles cut at h * i // grid
    # (NumPy on the same slices as the reference)
    for grid, q in ((3, 0.005), (3, 0.02), (2, 0.5), (4, 0.1)):
        cuts_y = [21 * i // grid for i in range(grid + 1)]
        cuts_x = [30 * j // grid for j in range(grid + 1)]
        ref = [np.quantile(grey[cuts_y[i]:cuts_y[i + 1], cuts_x[j]:cuts_x[j + 1]][::2, ::2], q)
               for i in range(grid) for j in range(grid)]
        np.testing.assert_allclose(_k.tile_quantiles(grey, 2, np.array([q]), grid)[0], ref,
                                   atol=1e-6)
    # several quantiles at once: each as alone
    qs = np.array([0.005, 0.02, 0.5])
    both = _k.tile_quantiles(grey, 2, qs, 3)
    for k, q in enumerate(qs):
        np.testing.assert_array_equal(both[k], _k.tile_quantiles(grey, 2, np.array([q]), 3)[0])
        assert _k.strided_quantiles(grey, 3, qs)[k] == _k.strided_quantile(grey, 3, q)
    # a picture 2 rows high has an empty row of tiles: it takes the whole
    # picture's quantile (it read memory past the data, a new-user trial)
    thin = rng.uniform(0.5, 0.7, (2, 320)).astype(np.float32)
    thin[:, :80] = 0.05
    got = _k.tile_quantiles(thin, 1, np.array([0.02]), 3)[0]
    whole = float(np.quantile(thin, 0.02))
    np.testing.assert_allclose(got[:3], whole, atol=1e-6)
    np.testing.assert_allclose(got[3], np.quantile(thin[0:1, :106], 0.02), atol=1e-6)
    assert _k.strided_mean(grey, 2) == pytest.approx(float(grey[::2, ::2].mean(dtype=np.float64)),
                                                     abs=1e-6)
    img = rng.random((21, 30, 3)).astype(np.float32)
    img[0, 0] = 1.0  # the top edge belongs to the last bin
    hist = _k.colour_histogram(img, 32, 2)
    sub = img[::2, ::2].reshape(-1, 3)
    ref = [np.bincount(np.minimum((sub[:, c] * 32).astype(int), 31), minlength=32)
           for c in range(3)]
    np.testing.assert_array_equal(hist, np.stack(ref))


def test_hist_summary_matches_numpy() -> None:
    rng = np.random.default_rng(16)
    hist = rng.integers(0, 50, (8, _k.NBINS)).astype(np.int64)
    hist[2] = 0
    hist[2, 7] = 5  # a single occupied bin
    hist[5] = 0  # empty row
    out = np.empty((2, 8))
    _k.hist_summary(hist, out)
    top = _k.NBINS - 1
    for i in range(8):
        total = hist[i].sum()
        cum = np.cumsum(hist[i])
        b = int(np.searchsorted(cum, total / 2.0))
        before = cum[b - 1] if b > 0 else 0
        med = np.clip((b - 0.5 + (total / 2.0 - before) / max(hist[i, b], 1)) / top, 0, 1)
        mean = (hist[i] @ (np.arange(_k.NBINS) / top)) / max(total, 1)
        assert out[0, i] == pytest.approx(med, abs=1e-12)
        assert out[1, i] == pytest.approx(mean, abs=1e-12)


def test_knee_matches_reference_keeps_order_and_never_makes_black_or_white() -> None:
    from numba import njit

    from tests.dehaze.dehaze_refs import knee_ref

    @njit
    def eased(grey: np.ndarray, la: np.float32, inv: np.ndarray) -> np.ndarray:
        out = np.empty_like(grey)
        for i in range(grey.size):
            out[i] = _k.knee_inv_t(grey[i], la, inv[i])
        return out

    grey = np.linspace(0.0, 1.0, 2001).astype(np.float32)
    for la in (0.35, 0.6, 0.9, 0.995):
        for inv_t in (1.0, 2.5, 10.0):
            inv = np.full_like(grey, inv_t)
            got = eased(grey, np.float32(la), inv)
            np.testing.assert_allclose(got, knee_ref(grey, la, inv), rtol=1e-4)
            assert (got <= inv + 1e-6).all() and (got >= 1 - 1e-6).all()  # only ever eased
            j = (grey.astype(np.float64) - la) * got + la
            far = np.abs(grey - la) > 1e-3
            # pixels already near black or white stay as they are; no other becomes so
            inner = far & (grey * 255 > 4.5) & (grey * 255 < 250.5)
            assert (j[inner] * 255 > 4.5 - 1e-3).all() and (j[inner] * 255 < 250.5 + 1e-3).all()
            assert (j[far & (grey * 255 <= 4.5)] <= grey[far & (grey * 255 <= 4.5)] + 1e-6).all()
            assert (np.diff(j[far]) >= -1e-5).all()  # order kept: detail survives
    # in the middle of the range the recovery is untouched
    mid = np.array([0.5], np.float32)
    assert eased(mid, np.float32(0.6), np.array([1.5], np.float32))[0] == np.float32(1.5)


@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (40, 53)])
def test_transmission_bounds_match_numpy(shape: tuple[int, int]) -> None:
    # The per-frame bounds on t, fused into kernels: the same float32
    # arithmetic as the NumPy expressions they replace, so equal bit for bit.
    rng = np.random.default_rng(3)
    h, w = shape
    t = rng.random(shape, dtype=np.float32)
    half = rng.random(((h + 1) // 2, (w + 1) // 2), dtype=np.float32)
    half[::3] *= np.float32(0.1)  # some below the margin, where it is the haze around itself
    k, margin = np.float32(0.85), np.float32(0.1)
    around = half.repeat(2, axis=0).repeat(2, axis=1)[:h, :w]
    want = np.maximum(t, np.float32(1) - k * (around + np.minimum(around, margin)))
    got = t.copy()
    _k.bound_around(half, float(k), float(margin), got)
    np.testing.assert_array_equal(got, want)

    grey = rng.random(shape, dtype=np.float32)
    a, k = np.float32(0.6), np.float32(5.0)
    want = np.maximum(t, np.clip((grey - a) * k, 0.0, 1.0))
    got = t.copy()
    _k.above_airlight(grey, float(a), float(k), got)
    np.testing.assert_array_equal(got, want)

    local = (rng.random(shape, dtype=np.float32) - 0.5) * np.float32(0.05)
    prev = rng.random(shape, dtype=np.float32)
    kc, kt, keep = np.float32(50.0), np.float32(10.0), np.float32(0.85)
    still = np.clip(1.0 - np.abs(local) * kc, 0.0, 1.0)
    still *= np.clip(1.0 - np.abs(t - prev) * kt, 0.0, 1.0)
    want = t + (keep * still) * (prev - t)
    got = np.empty_like(t)
    _k.still_blend(local, t, prev, float(kc), float(kt), float(keep), got)
    np.testing.assert_array_equal(got, want)
    assert ((got >= np.minimum(t, prev)) & (got <= np.maximum(t, prev))).all()
