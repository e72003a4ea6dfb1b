from __future__ import annotations

import inspect
import warnings

import cv2
import numpy as np
import pytest

from tests.hdr._reference import xor_count_ref
from tests.hdr.conftest import scene
from vidclear.errors import HDRInputError
from vidclear.hdr import _kernels as K
from vidclear.hdr import tonemap as T
from vidclear.hdr.align import MTBPyramid, align_Ward2003, mtb_gray, shift_image
from vidclear.hdr.merge import merge_Debevec1997
from vidclear.hdr.response import load_response


@pytest.fixture(scope="module")
def radiance(memorial, refdir):
    imgs, times = memorial
    return merge_Debevec1997(
            imgs, times, response=load_response(refdir / "debevec.csv", order="bgr"),
                         clip=256)  # the radiance OpenCV's own merge gives


@pytest.mark.parametrize("name,ours,theirs,tol", [
    ("gamma", lambda r: T.tonemapping_operator_gamma(r, gamma=2.2), cv2.createTonemap(2.2), 1e-5),
    (
            "reinhard2005", lambda r: T.tonemapping_operator_Reinhard2005(r, gamma=1.0),
            cv2.createTonemapReinhard(), 0.02),
    (
            "drago", lambda r: T.tonemapping_operator_Drago2003(r, gamma=1.0),
            cv2.createTonemapDrago(1.0), 0.01),
    (
            "mantiuk", lambda r: T.tonemapping_operator_Mantiuk2006(r, gamma=1.0),
            cv2.createTonemapMantiuk(1.0), 0.005),
])
def test_matches_opencv(radiance, name, ours, theirs, tol):
    a = ours(radiance)
    b = np.nan_to_num(theirs.process(radiance.copy()))
    assert np.abs(a - b).mean() < tol, name
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.99


@pytest.mark.parametrize("name", sorted(set(T.OPERATORS) - {"linear"}))
def test_every_operator_encodes_for_a_display_by_default(name):
    # Reinhard 2005 kept OpenCV's gamma 1: `vidclear hdr --tonemap
    # reinhard2005` wrote linear values into an 8-bit PNG, an orange picture
    # far too dark beside the others (trial 63). `linear` is linear by name.
    gamma = inspect.signature(T.OPERATORS[name]).parameters["gamma"].default
    assert gamma == 2.2, (name, gamma)


@pytest.mark.parametrize("name", sorted(T.OPERATORS))
def test_every_operator_is_blind_to_the_radiance_units(name, radiance):
    # Absolute floors (a log-average's delta of 1e-6, a colour ratio's 1e-9,
    # a flatness test of 1e-12) made a map in units a million times smaller
    # half as bright, and at 1e-12 every operator black (trial 63)
    ref = T.OPERATORS[name](radiance)
    for scale in (1e-12, 1e-6, 1e6):
        out = T.OPERATORS[name](radiance * np.float32(scale))
        assert np.abs(out - ref).mean() < 2e-3, (name, scale, float(np.abs(out - ref).mean()))


@pytest.mark.parametrize("name", sorted(T.OPERATORS))
def test_an_empty_radiance_map_is_refused_by_every_operator(name):
    # numpy's "zero-size array to reduction operation", OpenCV's GaussianBlur
    # assertion and "log_average must be > 0, got None" came out (trial 63)
    with pytest.raises(HDRInputError, match="holds no pixels"):
        T.OPERATORS[name](np.zeros((0, 0, 3), np.float32))


@pytest.mark.parametrize("name", sorted(T.OPERATORS))
def test_every_setting_far_out_of_range_is_refused_or_mapped_without_a_warning(name):
    # `linear:white=1e-300` divided by zero (a white picture and NumPy's
    # warning), gamma 1e-300 overflowed 1 / gamma, Reinhard's white 1e300 and
    # the local operator's phi 1e30 raised a bare OverflowError (trial 66)
    rad = np.random.default_rng(0).random((8, 8, 3)).astype(np.float32) + 0.01
    params = inspect.signature(T.OPERATORS[name]).parameters
    keys = [k for k, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY]
    mapped = 0
    for key in keys:
        for value in (1e-300, 1e-38, 1e-12, 1e12, 1e30, 1e300):
            for scale in (1e-12, 1.0, 1e12):
                with warnings.catch_warnings():
                    warnings.simplefilter("error")
                    try:
                        out = T.OPERATORS[name](rad * np.float32(scale), **{key: value})
                    except HDRInputError:
                        continue
                assert np.all(np.isfinite(out)) and 0 <= out.min() <= out.max() <= 1, (
                    key, value, scale)
                mapped += 1
    assert mapped > 0


@pytest.mark.parametrize("name", sorted(T.OPERATORS))
def test_operators_finite_in_range(name, radiance):
    out = T.ToneMapper(name)(radiance)
    assert out.shape == radiance.shape and out.dtype == np.float32
    assert np.all(np.isfinite(out)) and out.min() >= 0 and out.max() <= 1
    if name not in ("linear", "gamma"):  # plain scaling leaves Memorial dark
        assert 0.05 < out.mean() < 0.9
    flat = T.OPERATORS[name](np.zeros((8, 8, 3), np.float32))  # all black: defined
    assert np.all(np.isfinite(flat))


def test_reinhard2002_global_formula():
    rad = scene(seed=2)
    out = T.tonemapping_operator_Reinhard2002(rad, key=0.18, white=1e9, gamma=1.0)
    lum = T.luminance(rad)
    lav = np.exp(np.mean(np.log(lum.astype(np.float64) + 1e-6)))
    ls = lum * 0.18 / lav
    inside = out.max(axis=2) < 0.999  # colours not clipped at white
    np.testing.assert_allclose(T.luminance(out)[inside], (ls / (1 + ls))[inside], rtol=2e-3,
                               atol=1e-5)


def test_durand_style_compresses_base_keeps_detail():
    rad = scene(h=64, w=96, seed=4, span=12.0)
    out = T.tonemapping_operator_Durand2002(rad, contrast=20.0, gamma=1.0)
    lum = T.luminance(out)
    assert np.log10(np.percentile(lum, 99) / np.percentile(lum, 1)) < 2.5


def test_xor_count_matches_reference():
    rng = np.random.default_rng(1)
    g1 = rng.integers(0, 255, (20, 24), dtype=np.uint8)
    g2 = rng.integers(0, 255, (20, 24), dtype=np.uint8)
    p1, p2 = MTBPyramid(g1, levels=0), MTBPyramid(g2, levels=0)
    for dy, dx in [(0, 0), (2, -3), (-5, 1)]:
        assert K.xor_count_k(p1.tb[0], p1.eb[0], p2.tb[0], p2.eb[0], dy, dx) == \
            xor_count_ref(p1.tb[0], p1.eb[0], p2.tb[0], p2.eb[0], dy, dx)


def test_xor_counts_one_pass_matches_reference():
    rng = np.random.default_rng(2)
    g1 = rng.integers(0, 255, (21, 26), dtype=np.uint8)
    g2 = rng.integers(0, 255, (21, 26), dtype=np.uint8)
    p1, p2 = MTBPyramid(g1, levels=0), MTBPyramid(g2, levels=0)
    dys = np.array([0, -1, 1, 4, -6, 30, 0], dtype=np.int64)  # 30: no overlap at all
    dxs = np.array([0, -1, 1, -3, 2, 0, 26], dtype=np.int64)
    counts = np.empty(dys.size, dtype=np.int64)
    K.xor_counts_k(p1.tb[0], p1.eb[0], p2.tb[0], p2.eb[0], dys, dxs, counts)
    assert counts.tolist() == [xor_count_ref(p1.tb[0], p1.eb[0], p2.tb[0], p2.eb[0], dy, dx)
                               for dy, dx in zip(dys, dxs, strict=True)]


@pytest.mark.parametrize("shape", [(1, 1), (7, 9), (40, 33)])
def test_median_kernel_matches_numpy_lower_median(shape):
    g = np.random.default_rng(3).integers(0, 256, shape, dtype=np.uint8)
    assert K.median_u8_k(g) == int(np.sort(g.ravel())[(g.size + 1) // 2 - 1])


def test_log_ratio_readings_match_numpy_masks():
    rng = np.random.default_rng(4)
    a = rng.integers(0, 256, (30, 41, 3), dtype=np.uint8)[::2, 1::3]  # strided views
    b = rng.integers(0, 256, (30, 41, 3), dtype=np.uint8)[::2, 1::3]
    lr = np.log(np.linspace(1e-3, 1.0, 256)[:, None] * np.array([1.0, 1.1, 0.9]))
    out = np.empty(a.size)
    n = K.log_ratio_readings_k(a, b, lr, 12, 243, out)
    ok = (a >= 12) & (a <= 243) & (b >= 12) & (b <= 243)
    expected = np.concatenate([lr[b[..., c][ok[..., c]], c] - lr[a[..., c][ok[..., c]], c]
                               for c in range(3)])
    np.testing.assert_array_equal(out[:n], expected)


def test_align_recovers_shifts_like_opencv(memorial):
    base = memorial[0][3]
    imgs = [np.clip(base.astype(np.float32) * g, 0, 255).astype(np.uint8)
            for g in (0.5, 0.8, 1.0, 1.6)]  # one view, four "exposures"
    moved = [imgs[0], shift_image(imgs[1], 3, -5), imgs[2], shift_image(imgs[3], -7, 2)]
    _, shifts = align_Ward2003(moved, reference=2)
    assert shifts == [(0, 0), (-3, 5), (0, 0), (7, -2)]
    # by default the reference is the middle exposure (here by brightness: gain 0.8)
    _, by_default = align_Ward2003(moved)
    assert by_default == [(3, -5), (0, 0), (3, -5), (10, -7)]
    mtb = cv2.createAlignMTB()
    ref = cv2.cvtColor(moved[2], cv2.COLOR_RGB2GRAY)
    for img, (dy, dx) in zip(moved, shifts, strict=True):
        cx, cy = mtb.calculateShift(ref, cv2.cvtColor(img, cv2.COLOR_RGB2GRAY))
        assert (cy, cx) == (dy, dx)


def test_align_errors_and_gray():
    g = np.zeros((16, 16), np.uint8)
    assert mtb_gray(np.zeros((4, 4, 3), np.uint8)).shape == (4, 4)
    out, shifts = align_Ward2003([g, g])
    assert out[0].shape == (16, 16, 3) and shifts == [(0, 0), (0, 0)]
    with pytest.raises(HDRInputError, match="reference"):
        align_Ward2003([g, g], reference=5)


def test_tonemap_bad_input():
    with pytest.raises(HDRInputError, match="NaN"):
        T.tonemapping_operator_Reinhard2002(np.full((4, 4, 3), np.nan, np.float32))
    with pytest.raises(HDRInputError, match=">= 0"):
        T.tonemapping_operator_Drago2003(np.full((4, 4, 3), -1.0, np.float32))
    with pytest.raises(HDRInputError, match="gamma"):
        T.tonemapping_operator_gamma(np.ones((4, 4, 3), np.float32), gamma=0)
    with pytest.raises(HDRInputError, match="unknown tone mapper"):
        T.ToneMapper("durand2002")
    # white=0 gave an all-white picture; a misspelt setting a bare TypeError at
    # the first frame (trial 35)
    rad = np.random.default_rng(0).uniform(0.1, 5.0, (4, 4, 3)).astype(np.float32)
    for white in (0, -1.0, float("nan"), "2"):  # "2": a NumPy TypeError (trial 36)
        with pytest.raises(HDRInputError, match="white must be a number > 0"):
            T.tonemapping_operator_Reinhard2002(rad, white=white)  # type: ignore[arg-type]
    with pytest.raises(HDRInputError, match="has no setting 'bais': expected bias"):
        T.ToneMapper("drago", {"bais": 0.8})
    assert T.ToneMapper("drago", {"bias": 0.8})(rad).shape == rad.shape
    # settings not given as a mapping were read key by key or per character
    # (trial 36)
    for bad in ("bias=0.8", None, ["bias"]):
        with pytest.raises(HDRInputError, match="must be a mapping"):
            T.ToneMapper("drago", bad)  # type: ignore[arg-type]
    # saturation=100: the colour ratios to the 100th power overflowed float32
    # and Mantiuk's picture came out black with NumPy warnings (trial 35)
    ops = (T.tonemapping_operator_Drago2003, T.tonemapping_operator_Mantiuk2006,
           T.tonemapping_operator_Durand2002)
    for op in ops:
        for bad in (100.0, 10.5, -0.1, float("nan")):
            with pytest.raises(HDRInputError, match="0 <= saturation <= 10"):
                op(rad, saturation=bad)
    blue = np.zeros((8, 8, 3), np.float32)
    blue[..., 2] = np.linspace(0.01, 4.0, 64).reshape(8, 8)
    blue[..., 0] = 1e-3
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow on the way
        for op in ops:
            out = op(blue, saturation=10.0)
            assert np.isfinite(out).all() and out.max() > 0.5, op.__name__


@pytest.mark.parametrize("name", ["linear", "gamma", "reinhard", "reinhard2005", "drago",
                                  "mantiuk", "durand"])
def test_the_brightest_channel_reaches_white(name):
    # The module's promise: the stretching operators (as OpenCV's) and those
    # that map the brightest luminance to white give 1 there. Drago's divided
    # by ln 10 once too often: its white was 0.434, level 175 after gamma
    # 2.2, on every picture (trial 128 F5).
    grey = np.tile(np.geomspace(0.01, 10.0, 64, dtype=np.float32)[None, :, None], (16, 1, 3))
    tint = grey * np.random.default_rng(0).uniform(0.5, 1.5, grey.shape).astype(np.float32)
    for radiance in (grey, tint):
        for gamma in (1.0, 2.2):
            kw = {"gamma": gamma} if name != "linear" else {}
            out = T.OPERATORS[name](radiance, **kw)
            assert out.max() == pytest.approx(1.0, abs=1e-4), (name, gamma)


def test_to_uint8_refuses_nan_and_keeps_the_shape():
    # NaN was written as black without a word, and the docstring promised
    # H×W×3 for any shape (trial 145 F6)
    from vidclear.errors import HDRInputError
    from vidclear.hdr.tonemap import to_uint8

    d = np.array([[0.0, 0.5, 1.0, 2.0]], np.float32)
    assert to_uint8(d).tolist() == [[0, 128, 255, 255]]
    assert to_uint8(np.full((2, 3, 4), np.inf)).shape == (2, 3, 4)
    d[0, 1] = np.nan
    with pytest.raises(HDRInputError, match="NaN"):
        to_uint8(d)
