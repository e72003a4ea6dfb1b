"""Bracket detection (``exposures = "auto"``) on real alternating-exposure video.

The clips are Chen et al.'s (ICCV 2021) real captures in ../shared/data: 2exp/
alternates two exposures three stops apart, 3exp/ cycles three exposures two
stops apart. Their camera response is unknown, so measured steps through the
assumed sRGB response come out somewhat short of the nominal ones (2.5-2.8
stops for 3): the ranges below allow for that, not for a wrong period.
"""

from __future__ import annotations

from fractions import Fraction

import av
import cv2
import numpy as np
import pytest

from tests.hdr.conftest import DATA
from vidclear.core.frame import Frame
from vidclear.errors import ConfigError
from vidclear.hdr.bracket import BracketDetector, detect_bracket, log_exposure_ratio
from vidclear.hdr.response import srgb_response
from vidclear.processors.hdr import AUTO_HOLD, HDRBracket

LOG_SRGB = np.log(srgb_response().astype(np.float64))
ALTEXP = DATA / "altexp-video"
SATURATED = DATA.parent / "media-cases" / "bracket-ev024-saturated.mp4"


def _clips(kind: str) -> list:
    folder = ALTEXP / kind
    files = sorted(folder.glob("*.mp4")) if folder.exists() else []
    return files or [pytest.param(None, marks=pytest.mark.skip(reason="no altexp data"))]


def _first(kind: str):
    files = sorted((ALTEXP / kind).glob("*.mp4")) if ALTEXP.exists() else []
    return files[0] if files else None


def _read(path, n=None) -> list[np.ndarray]:
    if path is None or not path.exists():
        pytest.skip(f"test data {path} not available")
    out = []
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            out.append(f.to_ndarray(format="rgb24"))
            if n is not None and len(out) >= n:
                break
    return out


def _frames(images, fps=24):
    return [Frame(img, pts=i, time_base=Fraction(1, fps)) for i, img in enumerate(images)]


def _run(proc, frames):
    outs = [o for f in frames if (o := proc(f)) is not None]
    return outs + proc.flush()


@pytest.mark.parametrize("path", _clips("2exp"), ids=lambda p: p.name[:14] if p else "none")
def test_detects_two_exposures_three_stops_apart(path):
    imgs = _read(path, 14)
    for start in (0, 1):  # either exposure first
        d = BracketDetector(LOG_SRGB)
        pat = next(p for img in imgs[start:] if (p := d.feed(img)) is not None)
        assert pat.period == 2 and d.seen <= 6
        assert 2.2 < pat.stops[1] < 3.3, pat.describe()
        newest = imgs[start + d.seen - 1]
        other = imgs[start + d.seen - 2]
        # phase 0 is the shorter exposure: the darker of the two newest frames
        assert (pat.phase == 0) == (newest.mean() < other.mean())


@pytest.mark.parametrize("path", _clips("3exp"), ids=lambda p: p.name[:14] if p else "none")
def test_detects_three_exposures_two_stops_apart(path):
    imgs = _read(path, 14)
    for start in (0, 2):
        pat = detect_bracket(imgs[start:start + 9], LOG_SRGB)
        assert pat is not None and pat.period == 3
        steps = np.diff(pat.stops)
        assert np.all((steps > 1.0) & (steps < 2.5)), pat.describe()
        means = [imgs[start + 8 - k].mean() for k in range(3)]  # newest first
        order = [(pat.phase - k) % 3 for k in range(3)]  # their phases
        # the exposures grow with the phase, like the frames' brightness
        assert [m for _, m in sorted(zip(order, means, strict=True))] == sorted(means)


def test_ratio_ignores_clipped_and_saturated_channels():
    rng = np.random.default_rng(0)
    lin = rng.uniform(0.05, 0.5, (40, 40, 3))
    lin[:20, :, 0] = 50.0  # a saturated red area: red clipped in both frames
    lin[:20, :, 1:] = 0.0  # ... and green, blue at black
    a = np.searchsorted(srgb_response()[:, 0], lin * 1.0).clip(0, 255).astype(np.uint8)
    b = np.searchsorted(srgb_response()[:, 0], lin * 4.0).clip(0, 255).astype(np.uint8)
    r, n = log_exposure_ratio(a, b, LOG_SRGB)
    assert abs(r / np.log(2) - 2.0) < 0.05 and n < 40 * 40 * 3 // 2 + 1
    r2, _ = log_exposure_ratio(a, a, LOG_SRGB)
    assert r2 == 0.0
    assert np.isnan(log_exposure_ratio(np.zeros_like(a), b, LOG_SRGB)[0])


def test_saturated_static_bracket_locks_stays_white_and_unshifted():
    imgs = _read(SATURATED if SATURATED.exists() else None)
    p = HDRBracket()  # the preset default: exposures = "auto"
    events = []
    p.on_event = events.append
    outs = _run(p, _frames(imgs, fps=30))
    assert len(outs) == len(imgs) and [o.pts for o in outs] == list(range(len(imgs)))
    rep = p.report()["hdr_bracket"]
    assert rep["source"] == "detected"
    np.testing.assert_allclose(rep["stops"], [0.0, 2.0, 4.0], atol=0.15)
    assert len(events) == 1 and "3 exposures" in events[0]
    # phase locked from the start and every frame in order
    first = outs[0].meta["hdr_phase"]
    assert [o.meta["hdr_phase"] for o in outs] == [(first + i) % 3 for i in range(len(outs))]
    assert all(s == (0, 0) for o in outs for s in o.meta["hdr_shifts"])
    # the white box (white in every exposure) stays white in every output
    assert all(o.image[40:60, 250:280].min() >= 250 for o in outs)
    means = np.array([o.image.mean() for o in outs])[6:]
    by_phase = [means[k::3].mean() for k in range(3)]
    assert max(by_phase) - min(by_phase) < 5.0  # was ~a third of the range pulsing


def _luma(a):
    return a.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


def test_saturated_bars_come_out_without_dark_speckles():
    """Trial 100 F3: the saturated bars of the media case came out with dark
    speckles (readings a few codes under the clip in the long exposure merged
    alone, 16 times too dark). Counted where the scene is still (each exposure
    within 24 codes of its last cycle's, over 5×5) and the inputs have no such
    dark spot: an output pixel over 40 luma levels under its 5×5 median. Was
    0.51 % of those pixels on average and 1.37 % in the worst frame; 0.09 %
    and 0.43 % now (what is left is a saturated green a few codes off its
    exposure step: it misses by more than the de-ghosting allows)."""
    imgs = _read(SATURATED if SATURATED.exists() else None)
    outs = _run(HDRBracket(), _frames(imgs, fps=30))
    shares = []
    for n in range(12, len(imgs)):
        still = np.ones(imgs[0].shape[:2], bool)
        for k in range(n - 2, n + 1):
            still &= np.abs(imgs[k].astype(int) - imgs[k - 3]).max(axis=2) <= 24
            y = _luma(imgs[k])
            still &= y >= cv2.medianBlur(y.astype(np.uint8), 5) - 20
        still = cv2.erode(still.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        y = _luma(outs[n].image)
        dark = y < cv2.medianBlur(y.astype(np.uint8), 5) - 40
        shares.append((dark & still).sum() / still.sum())
    assert np.mean(shares) < 0.002 and max(shares) < 0.008, (np.mean(shares), max(shares))


@pytest.mark.parametrize("kind", ["2exp", "3exp"])
def test_no_pulsing_and_every_frame_out_on_real_clips(kind):
    imgs = _read(_first(kind), 40)
    p = HDRBracket(tonemap_tau=0.3)
    outs = _run(p, _frames(imgs))
    assert len(outs) == len(imgs) and [o.pts for o in outs] == list(range(len(imgs)))
    period = len(p.report()["hdr_bracket"]["exposures"])
    assert period == int(kind[0])
    means = np.array([o.image.astype(np.float64).mean() for o in outs])[8:]
    by_phase = [means[k::period].mean() for k in range(period)]
    # before: 77 and 180 by phase (a 107-level step) with the old 1/4/16 default
    assert max(by_phase) - min(by_phase) < 3.0, by_phase
    inputs = np.array([i.mean() for i in imgs])[8:]
    in_phase = [inputs[k::period].mean() for k in range(period)]
    assert max(in_phase) - min(in_phase) > 50  # the input does pulse


@pytest.mark.parametrize("tonemap", ["reinhard", "durand"])
@pytest.mark.parametrize("kind", ["2exp", "3exp"])
def test_the_first_frames_are_as_bright_as_the_rest_on_real_clips(kind, tonemap):
    # The first output frames merge the exposures held so far (the first is
    # the short one alone); the limit on lifting a dark scene used to come
    # from them, and the first frame flashed dark: 56 against 101 (Reinhard)
    # and 68 against 127 (Durand) on these clips.
    clips = sorted((ALTEXP / kind).glob("*.mp4")) if ALTEXP.exists() else []
    if not clips:
        pytest.skip("no altexp data")
    for path in clips:
        imgs = _read(path, 14)
        p = HDRBracket(tonemap=tonemap)
        means = [o.image.astype(np.float64).mean() for o in _run(p, _frames(imgs))]
        period = int(kind[0])
        steady = float(np.median(means[period:period + 8]))
        worst = max(abs(m - steady) for m in means[:period])
        assert worst < 12.0, (path.name, tonemap, means[:period], steady)


@pytest.mark.parametrize("kind", ["2exp", "3exp"])
def test_a_trimmed_start_matches_the_whole_run_once_the_window_fills(kind):
    # Started on a longer exposure (-ss), the partial window's clipped
    # highlights set the tone-mapping statistics 20-40 levels too bright and
    # the smoothing carried that for 1-1.5 s; they now restart from the
    # first full window.
    clips = sorted((ALTEXP / kind).glob("*.mp4")) if ALTEXP.exists() else []
    if not clips:
        pytest.skip("no altexp data")
    # The frames before it merge that first full window too, each with
    # itself as the reference (the frames are held while the pattern is
    # found): with only the exposures before them they were 11 levels off on
    # average, up to 21 (a long exposure alone, its highlights clipped);
    # with the first window's statistics 3 on average, still up to 21; now
    # within about a level.
    period = int(kind[0])
    worst, partial = 0.0, []
    for path in clips:
        imgs = _read(path, 20)
        whole = [o.image.astype(np.float64).mean()
                 for o in _run(HDRBracket(tonemap_tau=0.5), _frames(imgs))]
        for skip in range(1, period):
            cut = [o.image.astype(np.float64).mean()
                   for o in _run(HDRBracket(tonemap_tau=0.5), _frames(imgs[skip:]))]
            gaps = [abs(cut[i] - whole[i + skip]) for i in range(period, period + 8)]
            worst = max(worst, max(gaps))
            partial += [abs(cut[i] - whole[i + skip]) for i in range(period - 1)]
    assert worst < 2.5, worst
    assert max(partial) < 3.0, partial


def test_relocks_after_dropped_and_repeated_frames():
    imgs = _read(_first("3exp"), 36)
    truth = list(range(36))
    seq = truth[:15] + truth[16:24] + [truth[23]] + truth[24:]  # drop 15, repeat 23
    p = HDRBracket(align=False)
    outs = _run(p, _frames([imgs[i] for i in seq]))
    assert len(outs) == len(seq)
    phases = [o.meta["hdr_phase"] for o in outs]
    # the phase follows the true capture index (up to the pattern's rotation)
    offset = (phases[0] - seq[0]) % 3
    want = [(i + offset) % 3 for i in seq]
    assert phases[:15] == want[:15]
    assert phases[16:23] == want[16:23]  # relocked one frame after the drop
    assert phases[25:] == want[25:]  # and after the repeat
    assert p.report()["hdr_bracket"]["phase_changes_off_pattern"] >= 2


def test_typed_exposures_win_and_need_no_hold():
    imgs = _read(_first("2exp"), 6)
    p = HDRBracket(exposures=(1.0, 8.0))
    out = p(_frames(imgs)[0])
    assert out is not None and out.pts == 0
    assert p.report()["hdr_bracket"]["source"] == "typed"
    assert p.report()["hdr_bracket"]["exposures"] == [1.0, 8.0]


def test_typed_exposures_that_the_video_contradicts_are_warned_about():
    # [1, 4] typed for a video alternating three exposures, or [1, 4, 16, 64],
    # ran without a word and the output flickered by up to 200 levels; [1, 1]
    # was taken as a bracket (trial 37).
    from tests.hdr.conftest import scene
    from vidclear.hdr.synth import synthesize_bracket

    rad = scene(48, 64, seed=4)
    cycle = synthesize_bracket(rad, [1.0, 4.0, 16.0])
    frames = _frames([cycle[i % 3] for i in range(30)])
    for typed, warned in (((1.0, 4.0), True), ((1.0, 4.0, 16.0, 64.0), True),
                          ((1.0, 4.0, 16.0), False), ((0.5, 2.0, 8.0), False)):
        p = HDRBracket(exposures=typed)
        outs = _run(p, frames)
        assert len(outs) == len(frames)
        warnings = [n for n in p.notes if "warning" in n]
        assert bool(warnings) == warned, (typed, p.notes)
        if warned:
            assert len(warnings) == 1 and "measures 3 exposures repeating" in warnings[0]
            assert f"gives {len(typed)} exposures" in warnings[0]
    plain = _frames([cycle[1]] * (AUTO_HOLD + 2))
    p = HDRBracket(exposures=(1.0, 4.0))
    _run(p, plain)
    assert [n for n in p.notes if "no alternating exposures show in the first 24" in n]
    tagged = [f.replace(f.image, exposure=1.0) for f in plain]  # own exposures: not checked
    p = HDRBracket(exposures=(1.0, 4.0))
    _run(p, tagged)
    assert not p.notes
    with pytest.raises(ConfigError, match=r"holds no bracket: the exposures must differ"):
        HDRBracket(exposures=(1.0, 1.0))


def test_plain_video_passes_through_with_a_note():
    rng = np.random.default_rng(3)
    base = (rng.random((24, 32, 3)) * 200 + 20).astype(np.uint8)
    frames = _frames([base] * (AUTO_HOLD + 4))
    p = HDRBracket()
    outs = _run(p, frames)
    assert len(outs) == len(frames) and all(o.image is f.image for o, f in
                                            zip(outs, frames, strict=True))
    assert p.report()["hdr_bracket"]["passthrough"] and "no alternating" in p.notes[0]
    short = HDRBracket()
    assert _run(short, frames[:3]) == frames[:3] and "ended" in short.notes[0]


def test_exposures_config_values():
    assert HDRBracket().config.exposures == "auto"
    with pytest.raises(ConfigError, match="auto"):
        HDRBracket(exposures="often")
    with pytest.raises(ConfigError, match="at least 2"):
        HDRBracket(exposures=(1.0,))


def test_flow_motion_compensation_reduces_doubled_edges_on_real_clip():
    """The measure of scripts/quality_hdr_ghosting.py, on one 3-exposure clip with people."""
    import cv2

    imgs = _read(_first("3exp"), 24)

    def ghost(params):
        outs = _run(HDRBracket(**params), _frames(imgs))
        kernel = np.ones((5, 5), np.uint8)
        shares = []
        for o, i in zip(outs[10:], imgs[10:], strict=True):
            eo = cv2.Canny(cv2.cvtColor(o.image, cv2.COLOR_RGB2GRAY), 60, 140) > 0
            ei = cv2.Canny(cv2.cvtColor(i, cv2.COLOR_RGB2GRAY), 60, 140)
            shares.append((eo & ~(cv2.dilate(ei, kernel) > 0)).sum() / max(eo.sum(), 1))
        return float(np.mean(shares)), outs

    plain, _ = ghost({})
    flowed, outs = ghost({"flow": True})
    assert len(outs) == len(imgs)
    assert flowed < 0.85 * plain, (flowed, plain)
    assert all(s == (0, 0) for o in outs for s in o.meta["hdr_shifts"])


def test_a_dropped_frame_is_stood_in_for_by_the_one_kept_beyond_the_window():
    # A long exposure dropped: the window merged two short ones, the dark
    # scene's shadows crushed, and the output dipped for a frame (23 levels on
    # a new user's clip, trial 63; 11.5 here) and drifted after. The frame
    # kept beyond the window (the long one before) stands in for it.
    from tests.hdr.conftest import scene
    from vidclear.hdr.rolling import RollingBracket
    from vidclear.hdr.synth import synthesize_bracket

    rad = scene(96, 128, seed=5, span=10.0) * np.float32(0.004)
    short, long_ = synthesize_bracket(rad, [1.0, 16.0])
    seq = [short if i % 2 == 0 else long_ for i in range(60)]
    del seq[21]  # short, short
    seq[31:31] = [seq[31]] * 2  # a short frame shown three times (trial 65: 30 levels)
    seq[45:45] = [seq[45]] * 3  # ... and four times (trial 66: 36 levels)
    assert seq[31] is short and seq[45] is short
    engine = RollingBracket([1.0, 16.0], align=False)
    lum = np.array([engine.push(f, time=i / 24).mean() for i, f in enumerate(seq)])
    assert np.abs(lum[10:] - lum[10]).max() < 0.3, lum[10:].round(1)
    assert engine.tracker.drops == 6


def test_a_bracket_that_changes_mid_video_is_measured_again():
    # A 2-exposure clip joined to a 3-exposure one: the first pattern stayed
    # locked and the second half pulsed by 20 levels at its period to the end
    # (trial 37). The frames stop fitting it: the pattern is measured again.
    from tests.hdr.conftest import scene
    from vidclear.hdr.synth import synthesize_bracket

    rad = scene(96, 128, seed=7)
    two = synthesize_bracket(rad, [1.0, 8.0])
    three = synthesize_bracket(rad, [1.0, 3.5, 12.0])
    images = [two[i % 2] for i in range(30)] + [three[i % 3] for i in range(48)]
    p = HDRBracket(align=False)
    outs = _run(p, _frames(images))
    assert len(outs) == len(images)
    changed = [n for n in p.notes if "the bracket changed at" in n]
    assert len(changed) == 1 and "3 exposures repeating" in changed[0], p.notes
    tail = [luma(o.image) for o in outs[-24:]]
    assert max(tail) - min(tail) < 3.0, tail  # steady again (the old lock: 20 levels)
    # ... from the frame after the change is found: the new engine started
    # with an empty window and no tone statistics, a 43-level flash that
    # took 2 s to settle (trial 63); it now carries on from the old one
    at = round(float(changed[0].split("changed at ")[1].split(" s")[0]) * 24)
    after = np.array([luma(o.image) for o in outs[at + 1:]])
    assert np.abs(np.diff(after)).max() < 2.0, after.round(1)
    # ... and before it is found: frames no pattern step fits took the next
    # exposure by count, and flashed from 79 to 186 (trial 64); they take
    # the exposure measured against the frame before
    lum = np.array([luma(o.image) for o in outs[24:]])
    assert np.abs(lum - np.median(lum)).max() < 8.0, lum.round(1)
    assert p.report()["hdr_bracket"]["exposures"] == pytest.approx([1.0, 3.5, 12.0], rel=0.1)


def luma(img: np.ndarray) -> float:
    return float((img.astype(np.float64) @ [0.299, 0.587, 0.114]).mean())


def test_a_trips_next_file_has_its_bracket_found_before_it_is_merged():
    # A 3-exposure clip joined to a 2-exposure one in a trip: the new file's
    # frames were merged with the old pattern until the misfit showed, 8 frames
    # of flicker, one blown to white (trial 39). At the join the bracket is
    # found again, holding the frames, as at the start.
    from tests.hdr.conftest import scene
    from vidclear.hdr.synth import synthesize_bracket

    rad = scene(96, 128, seed=11)
    three = synthesize_bracket(rad, [1.0, 3.5, 12.0])
    two = synthesize_bracket(rad, [1.0, 8.0])
    frames = [Frame(three[i % 3], pts=i, time_base=Fraction(1, 24), meta={"trip_file": 0})
              for i in range(30)]
    frames += [Frame(two[i % 2], pts=30 + i, time_base=Fraction(1, 24), meta={"trip_file": 1})
               for i in range(30)]
    p = HDRBracket(align=False)
    outs = _run(p, frames)
    assert [o.pts for o in outs] == list(range(60))  # every frame, in order
    assert any("the trip's next file starts at 1.25 s" in n for n in p.notes), p.notes
    assert any("found 2 exposures" in n for n in p.notes) and not any(
        "the bracket changed" in n for n in p.notes), p.notes
    lum = np.array([luma(o.image) for o in outs])
    assert np.abs(np.diff(lum[24:40])).max() < 4.0, lum[24:40].round(1)  # no flicker at the join
    # the stats hold each file's bracket, not the last one's alone (trial 85)
    (change,) = p.report()["hdr_bracket"]["changes"]
    assert (change["at_s"], change["trip_file"]) == (1.25, "1")
    assert change["stops_before"] == pytest.approx([0, 1.81, 3.58], abs=0.15)
    assert change["stops"] == pytest.approx([0, 3], abs=0.15)


def test_a_bracket_that_starts_later_in_the_video_is_found_and_merged():
    # A camera switched to alternating exposures 2 s into the recording: the
    # pattern was looked for in the first 24 frames only, and the rest of the
    # clip came out as the raw bracket, 55 levels of flicker, exit 0 (trial 85).
    from tests.hdr.conftest import scene
    from vidclear.hdr.synth import synthesize_bracket

    rad = scene(96, 128, seed=8)
    cycle = synthesize_bracket(rad, [1.0, 4.0, 16.0])
    images = [cycle[1]] * 40 + [cycle[i % 3] for i in range(60)]
    frames = _frames(images)
    p = HDRBracket(align=False)
    outs = _run(p, frames)
    assert len(outs) == len(frames)
    assert all(o.image is f.image for o, f in zip(outs[:40], frames[:40], strict=True))
    started = [n for n in p.notes if "the video alternates exposures" in n]
    assert len(started) == 1 and "3 exposures repeating" in started[0], p.notes
    report = p.report()["hdr_bracket"]
    assert not report["passthrough"] and report["passed_through_frames"] < 40 + 12
    assert report["changes"][0]["stops"] == pytest.approx([0, 2, 4], abs=0.2)
    # merged from the bracket's first frame: the frames it was found on went
    # out raw, a strobe of 60 levels at its period (trial 118 F2)
    tail = np.array([luma(o.image) for o in outs[40:]])
    assert tail.max() - tail.min() < 3.0, tail.round(1)  # merged: the raw bracket swings 60+
    assert np.ptp([luma(i) for i in images[-3:]]) > 30
    assert report["changes"][0]["at_s"] == pytest.approx(40 / 24, abs=1e-3)
    assert "from 1.67 s the video alternates" in started[0], started


@pytest.mark.parametrize(("factor", "cut"), [(0.3, 37), (0.3, 38), (0.15, 39)])
def test_a_scene_cut_read_as_an_exposure_change_settles_within_a_few_frames(factor, cut):
    # A cut to a darker scene inside a period is read as the next frame's
    # exposure being shorter; the exposures measured from there chained on
    # it, off the pattern's by a constant with its ratios right, and held:
    # the radiance stayed a stop or two off and the picture crept back over
    # 1.5 s and more, short of the new scene's level (trial 118 F1: 20
    # levels, 4 short at the end). A whole period back in step returns to
    # the pattern's exposures and maps the window afresh.
    from tests.hdr.conftest import scene
    from vidclear.hdr.synth import synthesize_bracket

    first = synthesize_bracket(scene(96, 128, seed=11), [1.0, 4.0, 16.0])
    second = synthesize_bracket(scene(96, 128, seed=12) * np.float32(factor), [1.0, 4.0, 16.0])
    images = ([first[i % 3] for i in range(cut)]
              + [second[i % 3] for i in range(cut, cut + 45)])
    outs = _run(HDRBracket(align=False), _frames(images, fps=25))
    alone = _run(HDRBracket(align=False),
                 _frames([second[i % 3] for i in range(cut, cut + 45)], fps=25))
    lum = np.array([luma(o.image) for o in outs])
    level = float(np.median([luma(o.image) for o in alone]))
    assert np.abs(lum[cut + 8:] - level).max() < 1.0, lum[cut - 1:cut + 12].round(1)


def test_a_typed_bracket_longer_than_those_measured_is_checked_by_its_steps():
    # Six exposures, typed as the README allows: merged right, but warned
    # about as "no alternating exposures show ...: is the video bracketed?"
    # (trial 118 F3). The frames stepping through the typed list is the check.
    from tests.hdr.conftest import scene
    from vidclear.hdr.synth import synthesize_bracket

    exposures = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0]
    cycle = synthesize_bracket(scene(64, 96, seed=5) * np.float32(0.5), exposures)
    frames = _frames([cycle[i % 6] for i in range(36)])
    right = HDRBracket(exposures=tuple(exposures), align=False)
    outs = _run(right, frames)
    assert not [n for n in right.notes if "warning" in n], right.notes
    tail = np.array([luma(o.image) for o in outs[12:]])
    assert tail.max() - tail.min() < 3.0, tail.round(1)
    wrong = HDRBracket(exposures=tuple(reversed(exposures)), align=False)
    _run(wrong, frames)
    (said,) = [n for n in wrong.notes if "warning" in n]
    assert "gives 6 exposures (patterns of up to 5 are measured) but the first 24 frames " \
        "do not step through them" in said, said


def test_five_exposures_are_found():
    # `vidclear synth bracket --ev -2 -1 0 1 2` makes five; detection tried
    # periods up to 4 and called them "no alternating exposures" (trial 85)
    from tests.hdr.conftest import scene
    from vidclear.hdr.synth import synthesize_bracket

    rad = scene(64, 96, seed=9)
    cycle = synthesize_bracket(rad, [1.0, 2.0, 4.0, 8.0, 16.0])
    d = BracketDetector(LOG_SRGB)
    found = next(pat for i in range(30) if (pat := d.feed(cycle[(i + 2) % 5])) is not None)
    assert found.period == 5 and d.seen <= 12
    assert found.stops == pytest.approx([0, 1, 2, 3, 4], abs=0.15)
    frames = _frames([cycle[i % 5] for i in range(40)])
    p = HDRBracket(align=False)
    outs = _run(p, frames)
    assert len(outs) == 40 and not p.report()["hdr_bracket"]["passthrough"]
    tail = np.array([luma(o.image) for o in outs[12:]])
    assert tail.max() - tail.min() < 3.0, tail.round(1)


def test_typed_exposures_in_another_order_or_from_another_start_are_warned_about():
    # [16, 4, 1] typed for frames going 1, 4, 16 passed the check (sorted,
    # the same steps): the whole clip merged with the wrong steps, 2.4 levels
    # dark, p99 17-20 levels off; a clip starting on its long frame typed
    # [1, 4, 16] swung 109-123 over its first frames without a word. The
    # detected pattern was listed from its shortest exposure, which typed
    # did that (trial 85).
    from tests.hdr.conftest import scene
    from vidclear.hdr.synth import synthesize_bracket

    rad = scene(64, 96, seed=4)
    cycle = synthesize_bracket(rad, [1.0, 4.0, 16.0])
    late = _frames([cycle[(i + 2) % 3] for i in range(30)])  # 16, 1, 4, 16, ...
    for typed, said in (((16.0, 4.0, 1.0), "measures 3 exposures repeating [1, 4"),
                        ((1.0, 4.0, 16.0), "first frame is its EV +4.00 exposure"),
                        ((16.0, 1.0, 4.0), None), ((8.0, 0.5, 2.0), None)):
        p = HDRBracket(exposures=typed, align=False)
        _run(p, late)
        warnings = [n for n in p.notes if "warning" in n]
        if said is None:
            assert not warnings, (typed, p.notes)
        else:
            assert len(warnings) == 1 and said in warnings[0], (typed, p.notes)
    p = HDRBracket(align=False)
    _run(p, late)
    (found,) = [n for n in p.notes if "found 3 exposures" in n]
    assert "from the video's first frame [16, 1, 4" in found, found
    order = p.report()["hdr_bracket"]["exposures_from_first_frame"]
    assert order == pytest.approx([16.0, 1.0, 4.0], rel=0.1)
    right = HDRBracket(exposures=tuple(order), align=False)  # typed as reported: no warning
    outs = _run(right, late)
    assert not [n for n in right.notes if "warning" in n], right.notes
    lum = np.array([luma(o.image) for o in outs])
    # from the second frame on (the first is the long exposure alone, its
    # highlights clipped: 163 against 143); the second was mapped with the
    # first's statistics, 224 (it is measured before it is mapped now)
    assert np.abs(lum[1:] - np.median(lum)).max() < 3.0, lum.round(1)


@pytest.mark.parametrize("tonemap", ["reinhard", "durand"])
def test_a_scene_cut_neither_flashes_nor_creeps(tonemap):
    # The tone mapping measures each frame as it maps it and applies what it
    # measured to the next: at a cut from a dark scene to a bright one the
    # first merged frame of the new scene flashed (216 and 218 here, 186 on
    # a new user's clip, trial 85), and the local operator then crept down
    # to the new scene's level over 2 s (164 -> 144). The jump's frame is
    # mapped again with what it measured, and the first window wholly after
    # the cut is measured afresh, as the first window of a clip.
    from tests.hdr.conftest import scene
    from vidclear.hdr.synth import synthesize_bracket

    bright = synthesize_bracket(scene(96, 128, seed=11), [1.0, 4.0, 16.0])
    dark = synthesize_bracket(scene(96, 128, seed=12) * np.float32(0.1), [1.0, 4.0, 16.0])
    for first, second in ((dark, bright), (bright, dark)):
        images = [first[i % 3] for i in range(45)] + [second[i % 3] for i in range(45)]
        outs = _run(HDRBracket(align=False, tonemap=tonemap), _frames(images, fps=30))
        alone = _run(HDRBracket(align=False, tonemap=tonemap),
                     _frames([second[i % 3] for i in range(45)], fps=30))
        lum = np.array([luma(o.image) for o in outs])
        level = float(np.median([luma(o.image) for o in alone]))
        before = float(np.median(lum[30:45]))
        low, high = min(before, level), max(before, level)
        # the local operator's white point blends in over a jump under
        # scene_high: 20 levels over the new scene's for the window's frames
        slack = 8 if tonemap == "reinhard" else 25
        assert np.all((lum[45:] > low - slack) & (lum[45:] < high + slack)), lum[43:55].round(1)
        assert np.abs(lum[52:] - level).max() < 3.0, lum[45:60].round(1)


def test_a_frame_repeated_or_dropped_while_the_pattern_is_found_keeps_the_first_frames_steady():
    # The frames held while the pattern is found took their exposures by
    # count back from the newest: a repeated first frame or a drop among them
    # gave every frame before it the wrong one, and the first frames flashed
    # by 20-28 levels (trial 85; 45 here). They are measured now.
    from tests.hdr.conftest import scene
    from vidclear.hdr.synth import synthesize_bracket

    cycle = synthesize_bracket(scene(96, 128, seed=4), [1.0, 4.0, 16.0])
    for seq in ([0, 0, 0, *range(1, 40)], [i for i in range(42) if i % 17 != 5],
                [2, 3, 4, 4, 5, *range(6, 40)]):
        p = HDRBracket(align=False)
        outs = _run(p, _frames([cycle[i % 3] for i in seq]))
        assert len(outs) == len(seq)
        lum = np.array([luma(o.image) for o in outs])
        assert np.abs(lum[:16] - np.median(lum)).max() < 3.0, (seq[:6], lum[:16].round(1))
    p = HDRBracket(align=False)
    _run(p, _frames([cycle[i % 3] for i in [2, 3, 4, 4, 5, *range(6, 40)]]))
    order = p.report()["hdr_bracket"]["exposures_from_first_frame"]
    assert order == pytest.approx([16.0, 1.0, 4.0], rel=0.1)


def _bracket_file(path, images, rate=24):
    """Encode RGB frames near-losslessly (x264 4:4:4, CRF 8) for a run from a file."""
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=rate)
        vs.height, vs.width = images[0].shape[:2]
        vs.pix_fmt = "yuv444p"
        vs.codec_context.options = {"preset": "ultrafast", "crf": "8"}
        for img in images:
            for pkt in vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(pkt)
        for pkt in vs.encode(None):
            out.mux(pkt)
    return path


def test_transcode_tells_a_script_what_the_bracket_step_did(tmp_path, caplog):
    # vidclear.transcode (the README's Python API) kept the detected bracket,
    # a pass-through and every hdr_bracket warning to itself: a script could
    # not tell that the HDR step did nothing or used the wrong bracket
    # (trial 85 F5). Warnings are UserWarnings, the rest goes to the
    # "vidclear" logger, and stats.report is what --stats writes.
    import logging

    import vidclear
    from tests.hdr.conftest import scene
    from vidclear.hdr.synth import synthesize_bracket

    cycle = synthesize_bracket(scene(64, 96, seed=4), [1.0, 4.0, 16.0])
    clip = _bracket_file(tmp_path / "b3.mp4", [cycle[i % 3] for i in range(36)])
    plain = _bracket_file(tmp_path / "plain.mp4", [cycle[1]] * 30)
    cfg = vidclear.load_config(preset="hdr-bracket")
    with caplog.at_level(logging.INFO, logger="vidclear"):
        stats = vidclear.transcode(clip, tmp_path / "o.mp4", config=cfg)
    assert stats.report["hdr_bracket"]["stops"] == pytest.approx([0, 2, 4], abs=0.2)
    assert any("found 3 exposures" in r.getMessage() for r in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="vidclear"):
        stats = vidclear.transcode(plain, tmp_path / "p.mp4", config=cfg)
    assert stats.report["hdr_bracket"]["passthrough"]
    assert any("no alternating exposures" in r.getMessage() for r in caplog.records)
    wrong = vidclear.load_config(preset="hdr-bracket", overrides=["hdr_bracket.exposures=[1, 4]"])
    with pytest.warns(UserWarning, match="gives 2 exposures"):
        vidclear.transcode(clip, tmp_path / "w.mp4", config=wrong)


def test_a_bracket_its_frames_fit_only_loosely_is_warned_about():
    # Luma scaled alone, the colour left as it was, is no exposure: it was
    # taken with a 0.64-stop fit residual and pulsed by 25-40 levels without
    # a word (trial 85 F8). Real clips fit to 0.15 stops or better; this one
    # 0.55.
    import cv2

    from tests.hdr.conftest import scene
    from vidclear.hdr.synth import synthesize_bracket

    # colour bars over a brightness ramp (as FFmpeg's testsrc2), luma scaled
    # a stop a frame, the colour left as it was
    bars = np.array([[191, 191, 191], [191, 191, 0], [0, 191, 191], [0, 191, 0],
                     [191, 0, 191], [191, 0, 0], [0, 0, 191], [40, 40, 40]], np.float32)
    img = np.repeat(bars, 20, axis=0)[None].repeat(96, 0)
    img *= np.linspace(0.5, 1.2, 96, dtype=np.float32)[:, None, None]
    ycc = cv2.cvtColor(np.clip(img, 0, 255).astype(np.uint8),
                       cv2.COLOR_RGB2YCrCb).astype(np.float32)
    frames = []
    for i in range(30):
        f = ycc.copy()
        f[..., 0] = np.clip(f[..., 0] * 2.0 ** (i % 4 - 1.5), 0, 255)
        frames.append(cv2.cvtColor(f.astype(np.uint8), cv2.COLOR_YCrCb2RGB))
    p = HDRBracket(align=False)
    _run(p, _frames(frames))
    assert [n for n in p.notes if "fit the exposure pattern only to" in n], p.notes
    real = synthesize_bracket(scene(64, 96, seed=6), [1.0, 4.0, 16.0])
    p = HDRBracket(align=False)
    _run(p, _frames([real[i % 3] for i in range(30)]))
    assert not [n for n in p.notes if "warning" in n], p.notes


def test_a_fade_to_black_ends_black():
    # The frames of a fade to black measure as one exposure: the last frames
    # before it stood in for the others for good, and 2 s of black came out
    # as a frozen, false-colour picture, mean 98 (trial 87). A stand-in is
    # used for at most a few windows' frames.
    from tests.hdr.conftest import scene
    from vidclear.hdr.synth import synthesize_bracket

    rad = scene(96, 128, seed=14)
    exposures = [1.0, 4.0, 16.0]
    images = [synthesize_bracket(rad, [exposures[i % 3]])[0] for i in range(30)]
    images += [synthesize_bracket(rad * np.float32((1 - k / 15) ** 2.2), [exposures[i % 3]])[0]
               for k, i in enumerate(range(30, 45))]  # the scene fades, the camera brackets
    images += [np.zeros_like(images[0])] * 45
    p = HDRBracket(align=False)
    outs = _run(p, _frames(images))
    assert len(outs) == len(images)
    lum = np.array([luma(o.image) for o in outs])
    assert lum[:30].min() > 60  # the picture before the fade
    assert lum[-35:].max() < 2.0, lum[40:].round(1)  # (it stayed at 135)


def _srgb_codes(linear: np.ndarray) -> np.ndarray:
    lin = np.clip(linear, 0.0, 1.0)
    v = np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)
    return np.rint(255 * v).astype(np.uint8)


@pytest.mark.parametrize("speed", [2, 7])
def test_a_red_object_moving_over_a_dark_scene_is_drawn_once_where_the_newest_frame_has_it(
        speed):
    # Green alone told motion: a red box over a dark background reads near
    # black in green in the short exposure wherever it is, so the long
    # exposure's box was merged where it had been, doubled and smeared
    # (trial 139 F2, F3). Every channel is compared now; a short exposure's
    # black beside the box, read with red's wide chroma slack, stood for its
    # clipped red in the long one, a green edge (trial 142 F9).
    h, w, box = 64, 192, 40
    bg = (np.array([15, 15, 25]) / 255.0) ** 2.2
    red = np.array([0.98, 0.0, 0.0])
    times = (0.25, 4.0)
    frames, where = [], []
    for i in range(20):  # the box stays inside the frame
        x0 = 8 + speed * i
        scene = np.broadcast_to(bg, (h, w, 3)).copy()
        scene[20:44, x0:x0 + box] = red
        frames.append(_srgb_codes(scene * times[i % 2]))
        where.append(x0)
    p = HDRBracket(exposures=times, align=False)
    outs = _run(p, _frames(frames))
    assert len(outs) == len(frames)
    for o, x0 in zip(outs[4:], where[4:], strict=True):
        row = o.image[32].astype(int)
        is_red = row[:, 0] > 2 * row[:, 1] + 40
        cols = np.flatnonzero(is_red)
        assert (cols.min(), cols.max()) == (x0, x0 + box - 1), (o.pts, cols.min(), cols.max())
        assert cols.size == box
        greenish = row[:, 1] > row[:, 0] + 20
        assert not greenish.any(), (o.pts, np.flatnonzero(greenish))


def test_a_cut_to_a_scene_of_the_same_brightness_is_measured_afresh():
    # The tone statistics move by less than scene_low at such a cut: the
    # level crept for 1.7 s to the new scene's own (trial 139 F1). A grey
    # histogram unlike the last frame's of the same exposure is a cut now:
    # a few frames after it the output is the new scene's, as run alone.
    h, w = 64, 96
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    first = 0.02 * np.exp(np.log(400) * x / (2 * w)) * (1 + 0.3 * np.sin(y / 9.0))
    first = np.stack([first, first * 0.8, first * 0.6], -1)
    first[h // 8:h // 3, w // 10:w // 4] = 6.0
    second = first[:, ::-1] * 0.3 + 0.05
    times = (0.25 * 2 ** -1.5, 0.25 * 2 ** 1.5)

    def shots(scene, start, n):
        return [_srgb_codes(scene * times[(start + i) % 2]) for i in range(n)]

    cut = shots(first, 0, 48) + shots(second, 48, 48)
    outs = _run(HDRBracket(exposures=times, align=False), _frames(cut))
    alone = _run(HDRBracket(exposures=times, align=False), _frames(shots(second, 0, 48)))
    level = [float(o.image.mean()) for o in outs]
    settled = float(np.mean([o.image.mean() for o in alone[24:]]))
    # from the sixth frame after the cut on, within a level of the scene alone
    assert max(abs(v - settled) for v in level[54:]) < 1.0, (np.round(level[46:70], 1), settled)
