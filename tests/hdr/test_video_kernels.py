"""Rolling-bracket kernels against their slow NumPy references."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.hdr._reference import base_detail_ref, merge_window_ref, reinhard_ref
from tests.hdr.conftest import scene
from vidclear.hdr import _video_kernels as VK
from vidclear.hdr.deghost import deghost_table
from vidclear.hdr.response import srgb_response
from vidclear.hdr.rolling import display_table
from vidclear.hdr.synth import synthesize_bracket

EXPOSURES = np.array([4.0, 1.0, 0.25])  # newest first, as the engine orders them


def _window(h=40, w=56, seed=0, moving=True):
    rad = scene(h=h, w=w, seed=seed, span=9.0)
    frames = []
    for k, t in enumerate(EXPOSURES):
        r = rad.copy()
        if moving and k > 0:  # an object only in the older frames
            r[10:20, 8 * k:8 * k + 10] = 30.0
        frames.append(synthesize_bracket(r, [t], response=srgb_response())[0])
    ring = np.ascontiguousarray(np.stack(frames[::-1]))  # slot 0 oldest
    slots = np.array([2, 1, 0], dtype=np.int64)
    return ring, slots


def _tables(sigma, clip=250):
    resp = srgb_response().astype(np.float64)
    lin = np.ascontiguousarray(resp[None] / EXPOSURES[:, None, None], dtype=np.float32)
    lg = np.log(resp[None] / EXPOSURES[:, None, None])
    q = 0.25 + np.array([6.0, 2.0, 6.0]) / (1.0 + np.arange(256)[:, None])
    z = np.arange(256, dtype=np.float32)
    wt = np.where(z < clip, np.minimum(z, 255 - z) / 127.5, 0).astype(np.float32)
    dgl, dgk = deghost_table(sigma)
    fb = np.array([2, 0], dtype=np.int64)
    return (lin, (lg - q).astype(np.float32), (lg + q).astype(np.float32), wt, dgl, dgk, fb)


def _packed(tabs, clip=250):
    """The kernels' form of the reference's tables: one packed table per exposure."""
    lin, glo, ghi, wt, dgl, dgk, fb = tabs
    return VK.pack_tables(lin, glo, ghi, wt, clip), dgl, dgk, fb


def _saturated(window):
    """``window`` with a bar saturated in red and blue in every exposure, its readings
    up to 14 codes under the clip as H.264 leaves them, its green a few codes,
    a little off the exposure steps (media case bracket-ev024-saturated.mp4's
    magenta bar, readings from its frames 36-38)."""
    ring = window.copy()
    rng = np.random.default_rng(7)
    h = ring.shape[1]
    greens = {2: 29, 1: 10, 0: 8}  # slot 2 the newest, longest exposure; slot 0 the shortest
    for s, g in greens.items():
        rb = rng.integers(241, 256, (h, 12, 2))
        ring[s, :, 20:32, 0] = rb[..., 0]
        ring[s, :, 20:32, 2] = rb[..., 1]
        ring[s, :, 20:32, 1] = g
    return ring


@pytest.mark.parametrize("clip", [250, 240])
@pytest.mark.parametrize("sigma", [0.0, 0.7])
@pytest.mark.parametrize("shift", [(0, 0), (2, -3), (1, 70)])  # 70 > width: all edge
def test_merge_matches_reference(sigma, shift, clip):
    ring, slots = _window()
    if clip == 240:
        ring = _saturated(ring)
    dys = np.array([0, shift[0], -shift[0]], dtype=np.int64)
    dxs = np.array([0, shift[1], 1], dtype=np.int64)
    tabs = _tables(sigma, clip)
    h, w = ring.shape[1:3]
    rgb = np.empty((h, w, 3), np.float32)
    ll = np.empty((h, w), np.float32)
    VK.merge_luma_k(ring, slots, dys, dxs, *_packed(tabs, clip), rgb, ll)
    ref = merge_window_ref(ring, slots, dys, dxs, *tabs, clip=clip)
    assert np.all(np.isfinite(rgb))
    np.testing.assert_allclose(rgb, ref, rtol=2e-5, atol=1e-7)
    lum = np.maximum(ref @ np.array([0.2126, 0.7152, 0.0722]), 1e-12)
    np.testing.assert_allclose(ll, np.log2(lum), atol=2e-5)

    enc = display_table(2.2, 4096)
    out = np.empty((h, w, 3), np.uint8)
    stats = np.zeros((h // 4 + 1, 2 + 256))
    VK.merge_reinhard_k(ring, slots, dys, dxs, *_packed(tabs, clip), np.float32(0.3),
                        np.float32(0.01), enc, out, stats)
    exp_out, lw = reinhard_ref(ref, 0.3, 0.01, enc)
    assert np.abs(out.astype(int) - exp_out).max() <= 1  # float32 rounding at code edges
    assert (out != exp_out).mean() < 0.01
    samp = lw[::4, ::4]
    assert stats[:, 1].sum() == samp.size
    np.testing.assert_allclose(stats[:, 0].sum(), np.log(samp + 1e-9).sum(), rtol=1e-4)
    bins = np.clip(((np.log2(samp + 1e-9) + 32) * 4).astype(int), 0, 255)
    np.testing.assert_array_equal(stats[:, 2:].sum(axis=0),
                                  np.bincount(bins.ravel(), minlength=256))


def test_a_bar_clipped_in_every_exposure_takes_the_shortest_one():
    """Trial 100 F3: readings a few codes under the clip in the long exposure made
    a saturated bar 16 times too dark in speckles, merged alone, and its dark
    green, a few codes off the exposure step, was taken for motion. Readings
    from 240 up are clipped, and motion is the merge's own de-ghosting test:
    the bar reads the shortest exposure's radiance, as a clipped still does."""
    ring = _saturated(_window(moving=False)[0])
    slots = np.array([2, 1, 0], dtype=np.int64)
    z = np.zeros(3, dtype=np.int64)
    h, w = ring.shape[1:3]
    lin = _tables(0.7, 240)[0]
    expect = lin[2][ring[0, :, 20:32], np.arange(3)]  # the shortest exposure (0.25)
    got = {}
    for clip in (250, 240):
        rgb = np.empty((h, w, 3), np.float32)
        VK.merge_luma_k(ring, slots, z, z, *_packed(_tables(0.7, clip), clip), rgb,
                        np.empty((h, w), np.float32))
        got[clip] = rgb[:, 20:32]
    np.testing.assert_allclose(got[240], expect, rtol=1e-5)
    # the clip at 250 merged the long exposure's readings under 250 alone: far too dark
    assert (got[250][..., 0] < expect[..., 0] / 4).mean() > 0.1


def _smooth_flow(h, w, seed, amp):
    rng = np.random.default_rng(seed)
    coarse = rng.standard_normal((4, 5, 2)).astype(np.float32)
    return np.ascontiguousarray(cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC) * amp)


def test_merge_reads_rgb_of_four_byte_pixels_like_rgb():
    """The flow mode's padded RGBA ring merges exactly like the RGB one."""
    ring, slots = _window()
    rgba = np.concatenate([ring, np.full((*ring.shape[:3], 1), 77, np.uint8)], axis=3)
    dys = np.array([0, 1, -2], dtype=np.int64)
    dxs = np.array([0, -3, 2], dtype=np.int64)  # shifted edges go through the edge buffer
    tabs = _tables(0.7)
    h, w = ring.shape[1:3]
    outs = []
    for r in (ring, rgba):
        rgb = np.empty((h, w, 3), np.float32)
        ll = np.empty((h, w), np.float32)
        VK.merge_luma_k(r, slots, dys, dxs, *_packed(tabs), rgb, ll)
        out = np.empty((h, w, 3), np.uint8)
        stats = np.zeros((h // 4 + 1, 258))
        VK.merge_reinhard_k(r, slots, dys, dxs, *_packed(tabs), np.float32(0.3),
                            np.float32(0.01),
                            display_table(2.2, 4096), out, stats)
        outs.append((rgb, ll, out, stats))
    for a, b in zip(*outs, strict=True):
        np.testing.assert_array_equal(a, b)


def test_deghost_table_follows_gaussian():
    lut, k = deghost_table(0.5)
    d = np.linspace(0, 3, 200)
    approx = lut[np.minimum(d * k, 255).astype(int)]
    assert np.abs(approx - np.exp(-(d / 0.5) ** 2)).max() < 0.04
    ones, k0 = deghost_table(0.0)
    assert k0 == 0 and np.all(ones == 1)


def test_log2_exp2_rows_match_numpy():
    rng = np.random.default_rng(1)
    x = np.exp(rng.uniform(-60, 60, 1001)).astype(np.float32)
    out = np.empty_like(x)
    VK.log2_row(x, np.empty(x.size, np.int32), out)
    np.testing.assert_allclose(out, np.log2(x.astype(np.float64)), atol=2e-6 * 90)
    y = rng.uniform(-130, 130, 1001).astype(np.float32)
    VK.exp2_row(y, np.empty(y.size, np.int32), out)
    np.testing.assert_allclose(out, np.exp2(np.clip(y, -126, 126).astype(np.float64)), rtol=2e-6)


def test_base_detail_matches_reference():
    ring, slots = _window(moving=False)
    tabs = _tables(0.7)
    h, w = ring.shape[1:3]
    z = np.zeros(3, dtype=np.int64)
    rgb = np.empty((h, w, 3), np.float32)
    ll = np.empty((h, w), np.float32)
    VK.merge_luma_k(ring, slots, z, z, *_packed(tabs), rgb, ll)
    rng = np.random.default_rng(2)
    a = rng.uniform(0.2, 0.9, (h, w)).astype(np.float32)
    b = rng.uniform(-1, 1, (h, w)).astype(np.float32)
    enc = display_table(2.2, 4096)
    out = np.empty((h, w, 3), np.uint8)
    stats = np.zeros((h // 4 + 1, 258))
    VK.base_detail_k(rgb, ll, a, b, np.float32(3.0), np.float32(0.6), np.float32(1.0), enc,
                     out, stats)
    exp_out, base = base_detail_ref(rgb.astype(np.float64), ll.astype(np.float64), a, b, 3.0,
                                    0.6, 1.0, enc)
    assert np.abs(out.astype(int) - exp_out).max() <= 1
    np.testing.assert_allclose(stats[:, 0].sum(), base[::4, ::4].sum(), rtol=1e-4, atol=1e-3)


def test_thread_choice_picks_faster_and_probes(monkeypatch):
    import numba

    from vidclear.kernels.threads import ThreadChoice

    monkeypatch.setattr(numba, "get_num_threads", lambda: 2)
    tc = ThreadChoice(probe=8, keep=3)
    seen = []
    for _ in range(40):
        n = tc.choose()
        seen.append(n)
        tc.record(n, 0.010 if n == 1 else 0.020)  # one thread is faster here
    assert seen[:4] == [2, 2, 1, 1]  # both measured first
    later = seen[4:]
    assert later.count(1) > 30 and 2 in later  # mostly the faster, the other re-probed
    assert "median_ms={1: 10.0, 2: 20.0}" in repr(tc)


def test_thread_choice_output_identical_across_threads():
    from vidclear.hdr.rolling import RollingBracket

    ring, _ = _window(moving=True)
    outs = []
    for forced in (1, 2):
        rb = RollingBracket([0.25, 1.0, 4.0], align=False)
        rb.threads.choose = lambda f=forced: min(f, __import__("numba").get_num_threads())
        outs.append([rb.push(ring[k % 3], exposure=[0.25, 1.0, 4.0][k % 3]) for k in range(5)])
    for a, b in zip(*outs, strict=True):
        np.testing.assert_array_equal(a, b)


def test_compose_flow_matches_bilinear_reference_and_opencv():
    h, w = 37, 51
    first = _smooth_flow(h, w, 3, 5.0)  # runs past the edges: repeated
    then = _smooth_flow(h, w, 4, 3.0)
    out = np.empty_like(first)
    VK.compose_flow_k(first, then, out)
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    px, py = gx + first[..., 0], gy + first[..., 1]
    x0, y0 = np.floor(px).astype(int), np.floor(py).astype(int)
    ax, ay = (px - x0)[..., None], (py - y0)[..., None]

    def at(yy, xx):
        return then[np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)].astype(np.float64)

    ref = first + ((at(y0, x0) * (1 - ax) + at(y0, x0 + 1) * ax) * (1 - ay)
                   + (at(y0 + 1, x0) * (1 - ax) + at(y0 + 1, x0 + 1) * ax) * ay)
    np.testing.assert_allclose(out, ref, atol=2e-5)
    # OpenCV's remap agrees up to its 1/32-pixel sampling grid
    cvr = first + cv2.remap(then, px.astype(np.float32), py.astype(np.float32),
                            cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    assert np.abs(out - cvr).max() < 0.05
    # chaining a flow with zero motion changes nothing
    VK.compose_flow_k(first, np.zeros_like(then), out)
    np.testing.assert_allclose(out, first, atol=1e-6)


def test_flow_warp_without_relative_maps_is_identical(monkeypatch):
    """OpenCV before 4.10 has no WARP_RELATIVE_MAP: the position-grid path gives the same frames."""
    import vidclear.hdr.motion as M
    import vidclear.hdr.rolling as R

    rad = scene(h=48, w=64, seed=5, span=6.0)
    exps = [0.25, 1.0, 4.0]
    frames = []
    for k in range(6):  # a scene drifting right by 2 px per frame
        moved = np.roll(rad, 2 * k, axis=1)
        frames.append(synthesize_bracket(moved, [exps[k % 3]], response=srgb_response())[0])
    outs = []
    cv_version = tuple(int(v) for v in cv2.__version__.split(".")[:2])
    assert M.RELATIVE_MAP or cv_version < (4, 10)  # the fast path is there to test
    for rel in (M.RELATIVE_MAP, 0):
        monkeypatch.setattr(M, "RELATIVE_MAP", rel)
        rb = R.RollingBracket(exps, flow=True)
        outs.append([rb.push(f, exposure=exps[k % 3]).copy() for k, f in enumerate(frames)])
    for a, b in zip(*outs, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_frame_without_pixels_or_with_a_nan_time_is_refused():
    # an empty frame raised OpenCV's resize assertion; a NaN time was taken
    # for the smoothing's time step (trial 63)
    from vidclear.errors import HDRInputError
    from vidclear.hdr.rolling import RollingBracket

    engine = RollingBracket([1.0, 4.0])
    with pytest.raises(HDRInputError, match="with pixels"):
        engine.push(np.zeros((0, 0, 3), np.uint8))
    with pytest.raises(HDRInputError, match="not a finite number of seconds"):
        engine.push(np.zeros((8, 8, 3), np.uint8), time=float("nan"))
