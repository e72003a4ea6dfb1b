from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.hdr._reference import merge_debevec_ref, merge_robertson_ref
from tests.hdr.conftest import scene
from vidclear.errors import HDRInputError
from vidclear.hdr.deghost import best_exposed, reading_intervals
from vidclear.hdr.merge import (
    ExposureFusionMertens2007,
    exposure_fusion_Mertens2007,
    merge_Debevec1997,
    merge_Robertson2003,
)
from vidclear.hdr.response import (
    camera_response_Debevec1997,
    load_response,
    srgb_response,
    weight_table,
)
from vidclear.hdr.synth import synthesize_bracket

TIMES = np.array([0.25, 1.0, 4.0], np.float32)


def _bracket(seed=0):
    return synthesize_bracket(scene(seed=seed), TIMES, response=srgb_response())


@pytest.mark.parametrize("clip,weights", [(256, "triangle"), (250, "hat"), (200, "hat")])
def test_debevec_kernel_matches_reference(clip, weights):
    imgs = _bracket()
    resp = srgb_response()
    out = merge_Debevec1997(imgs, TIMES, response=resp, weights=weights, clip=clip)
    ref = merge_debevec_ref(np.stack(imgs), resp.astype(np.float64),
                            weight_table(weights).astype(np.float64), TIMES.astype(np.float64),
                            clip=clip)
    np.testing.assert_allclose(out, ref, rtol=1e-4)


def _highlight_bracket(response):
    """A warm highlight ramp (R > G > B, constant hue) clipped in all but the shortest shot."""
    w = 160
    ramp = np.exp2(np.linspace(-1.0, 8.0, w))[None, :, None]
    rad = np.broadcast_to(ramp * np.array([1.0, 0.8, 0.55]), (8, w, 3)).astype(np.float32)
    times = [1 / 16, 1.0, 8.0]
    return rad, synthesize_bracket(rad, times, response=response), times


def _chroma(img):
    return img[..., :2] / img.sum(axis=2, keepdims=True)


def test_highlights_keep_hue_without_bands():
    """Colour bands appear where near-clipped channels of the shortest shot are trusted."""
    resp = srgb_response()
    rad, imgs, times = _highlight_bracket(resp)
    out = merge_Debevec1997(imgs, times, response=resp).astype(np.float64)
    assert np.all(np.isfinite(out)) and np.all(out > 0)
    ch = _chroma(out)[4]
    true = _chroma(rad.astype(np.float64))[4]
    lum = out[4].mean(axis=1)
    assert np.all(np.diff(lum) >= -1e-6 * lum[1:])  # brightness never steps back
    # where the shortest shot still reads every channel below clipping: the true hue
    ok = imgs[0][4].max(axis=1) < 250
    assert ok.sum() > 20 and (~ok).sum() > 10
    assert np.abs(ch[ok] - true[ok]).max() < 0.01
    # beyond: clipped channels only ever desaturate towards white, one-way,
    # never swing to another hue (the yellow/pink bands)
    r, g = ch[~ok, 0], ch[~ok, 1]
    assert np.all(np.abs(r - 1 / 3) <= np.abs(true[~ok, 0] - 1 / 3) + 1e-3)
    assert np.all(np.diff(r) <= 1e-4) and np.all(np.abs(np.diff(g)) < 0.02)
    # a calibrated curve whose blue curls up near 255 (as Debevec's solve gives on
    # real brackets) must not put steps in the hue; trusting every value does
    curl = resp.copy()
    curl[245:, 2] *= np.linspace(1.0, 2.5, 11).astype(np.float32)
    steps = []
    for clip in (250, 256):
        o = merge_Debevec1997(imgs, times, response=curl, clip=clip).astype(np.float64)
        steps.append(np.abs(np.diff(_chroma(o)[4, :, 1])).max())
    assert steps[0] < 0.02 < 0.03 < steps[1]


def test_debevec_top_end_is_monotonic_and_shared(memorial):
    imgs, times = memorial
    raw = np.log(camera_response_Debevec1997(imgs[::3], times[::3], samples=80,
                                             knee=None).astype(np.float64))
    reg = np.log(camera_response_Debevec1997(imgs[::3], times[::3], samples=80)
                 .astype(np.float64))
    assert np.all(np.diff(reg, axis=0) >= 0)
    top = np.diff(reg[240:], axis=0)
    np.testing.assert_allclose(top, top[:, :1].repeat(3, axis=1), rtol=1e-5)
    mono = np.maximum.accumulate(raw, axis=0)
    np.testing.assert_allclose(reg[:241], mono[:241] - mono[128] + reg[128], atol=1e-5)


def test_robertson_kernel_matches_reference():
    imgs = _bracket(1)
    resp = srgb_response()
    out = merge_Robertson2003(imgs, TIMES, response=resp, weights="triangle")
    ref = merge_robertson_ref(np.stack(imgs), resp.astype(np.float64),
                              weight_table("triangle").astype(np.float64),
                              TIMES.astype(np.float64))
    np.testing.assert_allclose(out, ref, rtol=1e-4)


def _moving_bracket(seed=0, span=5.0):
    """A bracket whose every exposure shows a dark and a bright box at its own place.

    Returns the exposures, the radiance each was taken of, and the static scene.
    """
    still = scene(h=60, w=96, seed=seed, span=span)
    shots = []
    for k in range(len(TIMES)):
        rad = still.copy()
        box = (slice(10, 26), slice(8 + 28 * k, 24 + 28 * k))
        rad[box] = still[box] / 8  # a person in shade
        box = (slice(36, 52), slice(8 + 28 * k, 24 + 28 * k))
        rad[box] = still[box].mean(axis=2, keepdims=True) * [4.0, 3.0, 2.0]  # a sunlit shirt
        shots.append(rad)
    imgs = [synthesize_bracket(r, [t], response=srgb_response())[0]
            for r, t in zip(shots, TIMES, strict=True)]
    return imgs, shots, still


@pytest.mark.parametrize("sigma,reference", [(0.7, None), (0.3, 0), (2.0, 2)])
def test_deghosting_kernels_match_reference(sigma, reference):
    imgs, _, _ = _moving_bracket()
    resp = srgb_response()
    ref_k = best_exposed(np.stack(imgs)) if reference is None else reference
    lo, hi = reading_intervals(resp, TIMES)
    ghost = (ref_k, lo, hi, sigma)
    out = merge_Debevec1997(imgs, TIMES, response=resp, deghost=sigma, reference=reference)
    ref = merge_debevec_ref(np.stack(imgs), resp.astype(np.float64),
                            weight_table("hat").astype(np.float64), TIMES.astype(np.float64),
                            clip=250, ghost=ghost)
    np.testing.assert_allclose(out, ref, rtol=1e-4)
    out = merge_Robertson2003(imgs, TIMES, response=resp, weights="triangle", deghost=sigma,
                              reference=reference)
    ref = merge_robertson_ref(np.stack(imgs), resp.astype(np.float64),
                              weight_table("triangle").astype(np.float64),
                              TIMES.astype(np.float64), ghost=ghost)
    np.testing.assert_allclose(out, ref, rtol=1e-4)


@pytest.mark.parametrize("merge", [merge_Debevec1997, merge_Robertson2003])
def test_a_moved_object_comes_from_the_reference_alone(merge):
    # Without de-ghosting, each box leaves translucent copies where the other
    # exposures saw it (trial 74 H2); with it, the merge is the reference's
    # scene: the boxes where the reference saw them, the background elsewhere.
    imgs, shots, still = _moving_bracket()
    ref_k = best_exposed(np.stack(imgs))
    truth = np.log(shots[ref_k])
    err = {}
    for sigma in (0.0, 0.5):  # 0.5: the width `vidclear hdr --deghost` suggests
        out = merge(imgs, TIMES, response=srgb_response(), deghost=sigma, reference=ref_k)
        err[sigma] = np.abs(np.log(out) - truth).mean(axis=2)
    ghosts = np.zeros(still.shape[:2], bool)  # where another exposure saw a box
    for k in range(len(TIMES)):
        if k != ref_k:
            ghosts |= np.any(shots[k] != still, axis=2) & np.all(shots[ref_k] == still, axis=2)
    assert err[0.0][ghosts].mean() > 0.4  # the copies, over half a stop off
    assert err[0.5][ghosts].mean() < 0.05 and np.percentile(err[0.5][ghosts], 95) < 0.2
    # where nothing moved, de-ghosting leaves the merge as it was
    calm = np.all([np.all(s == still, axis=2) for s in shots], axis=0)
    plain = merge(imgs, TIMES, response=srgb_response())
    kept = merge(imgs, TIMES, response=srgb_response(), deghost=0.5, reference=ref_k)
    np.testing.assert_allclose(kept[calm], plain[calm], rtol=0.02)


def test_the_reference_is_the_exposure_the_merge_trusts_most():
    # the fewest clipped or black pixels picked the darkest, noisiest shot of
    # four of five real brackets (trial 79): the most hat weight picks the
    # well-exposed middle of a bracket, and a short shot where the rest clip
    rad = scene(seed=5, span=3.0)
    times = [1 / 16, 1 / 4, 1.0, 4.0]
    assert best_exposed(np.stack(synthesize_bracket(rad, times))) == 2
    bright = rad * 8
    assert best_exposed(np.stack(synthesize_bracket(bright, times))) in (0, 1)


def test_deghosting_settings_are_checked():
    imgs = _bracket()
    for bad in (-0.1, float("nan"), "wide"):
        with pytest.raises(HDRInputError, match="deghost must be"):
            merge_Debevec1997(imgs, TIMES, deghost=bad)
    for bad in (3, -4, 1.0, True):
        with pytest.raises(HDRInputError, match="reference must be"):
            merge_Robertson2003(imgs, TIMES, deghost=0.7, reference=bad)
    # one rule for an exposure's index: the alignment took no -1 (trial 145 F3)
    from vidclear.hdr.align import align_Ward2003

    last = align_Ward2003(imgs, reference=len(imgs) - 1)[1]
    assert align_Ward2003(imgs, reference=-1)[1] == last
    for bad in (3, 1.0, True):
        with pytest.raises(HDRInputError, match="reference must be"):
            align_Ward2003(imgs, reference=bad)


@pytest.mark.parametrize("merge", [merge_Debevec1997, merge_Robertson2003])
def test_known_response_recovers_radiance(merge):
    rad = scene(seed=3, span=7.0)
    imgs = synthesize_bracket(rad, [1 / 16, 1 / 4, 1.0, 4.0, 16.0], response=srgb_response())
    out = merge(imgs, [1 / 16, 1 / 4, 1.0, 4.0, 16.0], response=srgb_response())
    rel = np.abs(out - rad) / rad
    assert np.median(rel) < 0.02
    assert np.percentile(rel, 99) < 0.06


def test_matches_opencv_merges(memorial, refdir):
    imgs, times = memorial
    resp = load_response(refdir / "debevec.csv", order="bgr")
    bgr = [np.ascontiguousarray(i[:, :, ::-1]) for i in imgs]
    cv_resp = np.ascontiguousarray(resp[:, ::-1][:, None, :])
    ours = merge_Debevec1997(imgs, times, response=resp, clip=256)  # OpenCV trusts all values
    theirs = cv2.createMergeDebevec().process(bgr, times, cv_resp)[:, :, ::-1]
    np.testing.assert_allclose(ours, theirs, rtol=1e-3)
    ours = merge_Robertson2003(imgs, times, response=resp)
    theirs = cv2.createMergeRobertson().process(bgr, times, cv_resp)[:, :, ::-1]
    np.testing.assert_allclose(ours, theirs, rtol=1e-3, atol=1e-6)


def test_mertens_matches_opencv_and_is_normalised(memorial):
    imgs = memorial[0][4:10]
    ours = exposure_fusion_Mertens2007(imgs, exposure=0.0, clip=False)
    theirs = cv2.createMergeMertens().process(imgs)  # RGB in, RGB out
    np.testing.assert_allclose(ours, theirs, atol=1e-4)
    assert theirs.min() < 0 or theirs.max() > 1  # OpenCV overshoots here
    fused = ExposureFusionMertens2007()(imgs)
    assert fused.dtype == np.float32 and fused.min() >= 0 and fused.max() <= 1


def test_mertens_exposure_weight_prefers_mid_grey():
    dark = np.full((32, 32, 3), 10, np.uint8)
    mid = np.full((32, 32, 3), 128, np.uint8)
    bright = np.full((32, 32, 3), 250, np.uint8)
    out = exposure_fusion_Mertens2007([dark, mid, bright], contrast=0, saturation=0, exposure=1)
    assert abs(float(out.mean()) - 128 / 255) < 0.02
    flat = exposure_fusion_Mertens2007([dark, mid, bright], contrast=0, saturation=0, exposure=0)
    assert abs(float(flat.mean()) - (10 + 128 + 250) / 3 / 255) < 0.02


def test_clipped_pixels_are_finite_and_ordered():
    black = np.zeros((8, 8, 3), np.uint8)
    white = np.full((8, 8, 3), 255, np.uint8)
    for merge in (merge_Debevec1997, merge_Robertson2003):
        lo = merge([black, black], [1.0, 2.0], response=srgb_response())
        hi = merge([white, white], [1.0, 2.0], response=srgb_response())
        assert np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))
        assert hi.min() > lo.max()


def test_grayscale_and_single_exposure_are_well_defined():
    g = np.tile(np.arange(0, 256, 4, dtype=np.uint8), (8, 1))
    out = merge_Debevec1997([g], [0.5], response=srgb_response())
    assert out.shape == (8, 64, 3) and np.all(np.isfinite(out))
    np.testing.assert_allclose(out[..., 0], out[..., 1])


def test_non_contiguous_input():
    imgs = _bracket(2)
    views = [np.asfortranarray(i)[:, ::1] for i in imgs]
    np.testing.assert_allclose(merge_Debevec1997(views, TIMES), merge_Debevec1997(imgs, TIMES))


@pytest.mark.parametrize("images,times,match", [
    ([np.zeros((8, 8, 3), np.uint8), np.zeros((9, 8, 3), np.uint8)], [1, 2], "same size"),
    ([np.zeros((8, 8, 3), np.uint8)] * 2, [1], "one each"),
    ([np.zeros((8, 8, 3), np.uint8)] * 2, [1, -2], "> 0"),
    ([np.zeros((8, 8, 3), np.uint8)] * 2, [1, float("nan")], "finite"),
    ([np.zeros((8, 8, 3), np.uint8)] * 2, None, "missing"),
    ([np.zeros((8, 8, 3), np.float64)] * 2, [1, 2], "dtype"),
    ([np.zeros((8, 8, 4), np.uint8)] * 2, [1, 2], "shape"),
    ([], [], "at least 1"),
])
def test_bad_input(images, times, match):
    with pytest.raises(HDRInputError, match=match):
        merge_Debevec1997(images, times)
