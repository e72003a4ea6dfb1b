"""Do-no-harm and artefact regressions of the default dehaze, on real data and synthetic scenes.

Real data comes from ``../shared/data/dehaze`` (tests skip when it is
absent), downscaled so every test stays fast. The synthetic scenes each
reproduce one artefact the issue-9 report found: a colour cast, a veil left
on heavy haze, crushed shadows, clipped clouds and a darkened clear night.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.dehaze.dehaze_refs import add_haze, textured_scene, to_u8
from tests.media import x264_yuv420
from vidclear.dehaze import Dehazer, dehaze_image
from vidclear.dehaze.scene import light_haze_weight
from vidclear.io.sources.synthetic import RoadScene
from vidclear.metrics import ciede2000, psnr, srgb_to_lab

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "dehaze"
LUMA = np.array([0.2126, 0.7152, 0.0722])


def _load(path: Path, size: int = 320) -> np.ndarray:
    if not path.exists():
        pytest.skip(f"{path} not found (shared dehaze data absent)")
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    h, w = bgr.shape[:2]
    scale = size / max(h, w)
    if scale < 1:
        bgr = cv2.resize(bgr, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _new_crushed(out: np.ndarray, inp: np.ndarray) -> float:
    return float(((out <= 3).all(axis=2) & ~(inp <= 3).all(axis=2)).mean())


def _new_clipped(out: np.ndarray, inp: np.ndarray) -> float:
    return float(((out >= 252).all(axis=2) & ~(inp >= 252).all(axis=2)).mean())


def _luma(img: np.ndarray) -> float:
    return float((img.astype(np.float64) @ LUMA).mean())


# -- real data ---------------------------------------------------------------
# 0930 (a large clear blue sky) used to come out worse than its input: the
# sky was picked as the airlight and its dark channel read as haze.
LIGHT = ["0025", "0352", "0801", "0930", "1245"]


@pytest.mark.parametrize("name", LIGHT)
def test_light_haze_is_never_made_worse(name: str) -> None:
    hazy = _load(DATA / "reside-ots" / "hazy" / f"{name}_light.jpg")
    gt = _load(DATA / "reside-ots" / "gt" / f"{name}_light.jpg")
    out = dehaze_image(hazy)
    assert psnr(out, gt) >= psnr(hazy, gt)
    assert ciede2000(out, gt) <= ciede2000(hazy, gt)


def _light_haze(clear: np.ndarray, beta: float = 0.3) -> np.ndarray:
    """Light haze on a clear photo: depth rising towards the top row, t from 0.99 to 0.74."""
    t = np.exp(-beta * np.linspace(1.0, 0.05, clear.shape[0]))[:, None, None]
    hazy = clear / 255.0 * t + np.array([0.88, 0.88, 0.9]) * (1 - t)
    return to_u8(hazy)


@pytest.mark.parametrize("name", LIGHT)
def test_light_haze_made_here_is_never_made_worse(name: str) -> None:
    # A second light-haze set, hazed here from RESIDE's clear photos with
    # another airlight and depth. 0930's glass facade (bluish grey) used to
    # darken and saturate (25.2 -> 22.7 dB): the luma floor let restored
    # chroma pay for lost luminance at any haze level. Now it does so in
    # proportion to the veil the darkest pixels show.
    clear = _load(DATA / "reside-ots" / "gt" / f"{name}_light.jpg")
    hazy = _light_haze(clear)
    out = dehaze_image(hazy)
    assert psnr(out, clear) >= psnr(hazy, clear)
    assert ciede2000(out, clear) <= ciede2000(hazy, clear)
    if name == "0930":
        full_credit = dehaze_image(hazy, chroma_veil=0.0)  # the old rule
        assert psnr(full_credit, clear) < psnr(hazy, clear)


STILLS = ["he_22.jpg", "he_canon3.bmp", "he_canyon2.bmp", "he_forest1.jpg", "he_gugong.bmp",
          "he_hongkong.bmp", "he_ny1.bmp", "he_tiananmen1.bmp", "he_train.bmp"]


@pytest.mark.parametrize("name", STILLS)
def test_real_stills_keep_exposure(name: str) -> None:
    img = _load(DATA / "hazy-stills" / name, size=400)
    out = dehaze_image(img)
    assert _new_crushed(out, img) <= 0.005
    assert _new_clipped(out, img) <= 0.005
    # dehazing removes a bright veil, so some darkening is right, but no crushing
    assert _luma(out) >= 0.6 * _luma(img)


def test_heavy_haze_pairs_lose_their_veil() -> None:
    # the old defaults left a veil on 0025 (and the textbook prior did better)
    gains, ciede = [], []
    for name in ("0025", "0352", "0801", "0930", "1245"):
        hazy = _load(DATA / "reside-ots" / "hazy" / f"{name}_heavy.jpg")
        gt = _load(DATA / "reside-ots" / "gt" / f"{name}_heavy.jpg")
        out = dehaze_image(hazy)
        gains.append(psnr(out, gt) - psnr(hazy, gt))
        ciede.append(ciede2000(out, gt) / ciede2000(hazy, gt))
    assert np.mean(gains) > 6.0
    assert np.mean(ciede) < 0.5
    assert min(gains) > 4.0


def test_grey_road_under_thick_haze_loses_its_veil() -> None:
    # 0025: a pale road under thick haze; the luma floor used to keep its
    # veil (14.3 dB where the textbook prior reached 20). The darkest pixels
    # of the frame show the veil every pixel carries, and the floor no longer
    # keeps that much.
    hazy = _load(DATA / "reside-ots" / "hazy" / "0025_heavy.jpg")
    gt = _load(DATA / "reside-ots" / "gt" / "0025_heavy.jpg")
    out = dehaze_image(hazy)
    # neither the veil cap nor the fading of the floor in dense haze
    uncapped = dehaze_image(hazy, black_level=1.0, dense_low=0.98, dense_high=0.99)
    assert psnr(out, gt) > psnr(hazy, gt) + 8.0
    assert psnr(out, gt) > psnr(uncapped, gt) + 2.0
    assert ciede2000(out, gt) < 0.75 * ciede2000(uncapped, gt)
    h = out.shape[0]
    assert _luma(out[int(0.8 * h):]) < 0.75 * _luma(hazy[int(0.8 * h):])  # the road darkens


# -- synthetic artefact regressions ------------------------------------------
def test_warm_scene_gets_no_blue_cast() -> None:
    scene = np.clip(textured_scene(160, 240, 3) * np.array([1.0, 0.85, 0.6]), 0, 1)
    hazy = to_u8(add_haze(scene, np.array([0.88, 0.85, 0.8]), beta=1.5)[0])
    out = dehaze_image(hazy)
    b_in = srgb_to_lab(hazy)[..., 2].mean()
    b_out = srgb_to_lab(out)[..., 2].mean()
    b_true = srgb_to_lab(to_u8(scene))[..., 2].mean()
    assert b_true > 10 and b_in > 0  # the scene really is warm
    assert b_out > b_in  # the output is warmer than the hazy input, never bluer


@pytest.mark.parametrize("seed", [5, 11])
def test_dense_haze_loses_its_veil(seed: int) -> None:
    # Fog thick everywhere (t 0.10-0.32, no near pixel clear): every pixel
    # looked like smooth sky, grey road or a too-dark result, so the sky
    # floor, the luma floor, the colour attenuation blend and the brightness
    # curve all held the veil (10.3 dB from 7.0). With the darkest pixels'
    # veil at 0.71 of A those guards are now faded.
    scene = textured_scene(180, 320, seed)
    t = np.exp(-2.3 * np.linspace(1.0, 0.5, 180))[:, None, None]
    hazy = to_u8(scene * t + np.array([0.85, 0.87, 0.9]) * (1 - t))
    gt = to_u8(scene)
    out = dehaze_image(hazy)
    guarded = dehaze_image(hazy, dense_low=0.98, dense_high=0.99)  # the guards always on
    assert psnr(out, gt) > psnr(guarded, gt) + 1.5
    assert ciede2000(out, gt) < 0.8 * ciede2000(guarded, gt)
    assert psnr(out, gt) > psnr(hazy, gt) + 5.0
    assert _new_crushed(out, hazy) <= 0.005 and _new_clipped(out, hazy) <= 0.005


def test_the_light_haze_guards_fade_over_the_dense_range() -> None:
    assert light_haze_weight(0.2, 0.4, 0.7) == 1.0
    assert light_haze_weight(0.4, 0.4, 0.7) == 1.0
    assert light_haze_weight(0.55, 0.4, 0.7) == pytest.approx(0.5)
    assert light_haze_weight(0.7, 0.4, 0.7) == 0.0
    w = [light_haze_weight(v, 0.4, 0.7) for v in np.linspace(0.3, 0.8, 51)]
    assert all(b <= a for a, b in itertools.pairwise(w))
    # a dark airlight (night, a fade from black: every pixel is near it in
    # units of A) is no evidence of fog; the guards stay
    assert light_haze_weight(0.9, 0.4, 0.7, air_luma=0.1) == 1.0
    assert 0.0 < light_haze_weight(0.9, 0.4, 0.7, air_luma=0.22) < 1.0
    assert light_haze_weight(0.9, 0.4, 0.7, air_luma=0.35) == 0.0


def test_dark_shadows_are_not_crushed() -> None:
    scene = textured_scene(160, 240, 4)
    scene[:, :80] *= 0.08  # deep shadow on the left third
    hazy = to_u8(add_haze(scene, np.array([0.85, 0.85, 0.85]), beta=1.0)[0])
    out = dehaze_image(hazy)
    assert _new_crushed(out, hazy) <= 0.005
    assert _luma(out[:, :80]) > 0.3 * _luma(hazy[:, :80])


def test_bright_clouds_are_not_clipped() -> None:
    scene = textured_scene(160, 240, 5)
    rng = np.random.default_rng(5)
    sky = 0.9 + 0.08 * cv2.GaussianBlur(rng.random((60, 240)), (0, 0), 6)[..., None]
    scene[:60] = np.clip(sky / sky.max() * 0.97, 0, 1)  # bright white clouds
    hazy, _ = add_haze(scene, np.array([0.8, 0.8, 0.82]), beta=1.0)
    hazy[:60] = scene[:60]  # the clouds are brighter than the haze
    img = to_u8(hazy)
    out = dehaze_image(img)
    assert _new_clipped(out, img) <= 0.005


def _night_road() -> np.ndarray:
    img = RoadScene(width=320, height=180).render(1.0).astype(np.float64) / 255.0
    img = img ** 2.2 * 0.25  # a dark exposure, linear light
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    for cx, cy in ((0.3, 0.45), (0.7, 0.45), (0.5, 0.55)):  # street lights, a car ahead
        glow = np.exp(-((xx - cx * w) ** 2 + (yy - cy * h) ** 2) / (2 * (0.03 * w) ** 2))
        img += glow[..., None] * np.array([1.0, 0.9, 0.7])
    return to_u8(np.clip(img, 0, 1) ** (1 / 2.2))


def test_clear_night_road_is_not_darkened() -> None:
    night = _night_road()
    out = dehaze_image(night)
    assert _luma(out) >= 0.95 * _luma(night)
    assert _new_crushed(out, night) <= 0.005


def test_clear_blue_sky_is_not_taken_for_haze() -> None:
    # a bright, smooth blue sky above a lightly hazed scene: the sky once set a
    # blue airlight and was itself dehazed into a dark, over-saturated blue
    scene = textured_scene(160, 240, 7)
    hazy = add_haze(scene, np.array([0.85, 0.85, 0.85]), beta=0.5)[0]
    ramp = np.linspace(0.0, 1.0, 64)[:, None, None]
    hazy[:64] = np.array([0.45, 0.68, 0.95]) + ramp * np.array([0.2, 0.15, 0.03])
    img = to_u8(hazy)
    res = dehaze_image(img, return_details=True)
    a = res.airlight
    assert (a.max() - a.min()) / a.max() < 0.1  # grey, not the sky's blue
    sky_in, sky_out = img[:60], res.image[:60]
    assert ciede2000(sky_out, sky_in) < 5.0
    assert _luma(sky_out) >= 0.9 * _luma(sky_in)


def test_sky_floor_holds_after_the_colour_attenuation_blend() -> None:
    # Zhu et al.'s prior reads a bright, saturated sky as far away (low t);
    # blended in after the sky floor, it once pulled the sky's t below
    # sky_chroma_t (0.8 * 0.7 + 0.3 * t_cap) and the sky was dehazed anyway
    scene = textured_scene(160, 240, 7)
    hazy = add_haze(scene, np.array([0.85, 0.85, 0.85]), beta=1.5)[0]
    hazy[:64] = np.array([0.45, 0.68, 0.95])  # flat, bright, blue
    res = dehaze_image(to_u8(hazy), return_details=True)
    assert res.strength > 0.5  # the scene below is dehazed
    rows = res.raw_transmission.shape[0] * 50 // 160  # inside the sky, clear of the patch
    assert res.raw_transmission[:rows].min() >= 0.8 - 1e-4


def _pan_windows(still: np.ndarray, frames: int = 30,
                 width: int = 384) -> list[tuple[slice, slice]]:
    """(rows, columns) of each frame of a slow left-to-right pan across ``still``."""
    h, w = still.shape[:2]
    height = min(h, round(width * 9 / 16)) // 4 * 4
    width = min(width, w) // 2 * 2
    y0 = (h - height) // 2
    return [(slice(y0, y0 + height), slice(x, x + width))
            for x in (round((w - width) * i / (frames - 1)) for i in range(frames))]


def _pan(still: np.ndarray, frames: int = 30, width: int = 384) -> list[np.ndarray]:
    """A slow pan across ``still`` through libx264 (CRF 28) and back: yuv420p frames."""
    crops = [np.ascontiguousarray(still[win]) for win in _pan_windows(still, frames, width)]
    return x264_yuv420(crops, rate=30, crf=28)


def _panned(name: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """(input, output) RGB frames of the default dehazer on a pan over a hazy still."""
    from vidclear.dehaze import Dehazer

    found = sorted((DATA / "hazy-stills").glob(f"{name}.*"))
    still = _load(found[0] if found else DATA / "hazy-stills" / name, 1024)
    dehazer = Dehazer()
    pairs = []
    for i, yuv in enumerate(_pan(still)):
        h = yuv.shape[0] * 2 // 3
        y, rest = yuv[:h], yuv[h:].reshape(2, h // 2, -1)
        res = dehazer.process_yuv420(y, rest[0], rest[1], timestamp=i / 30)
        inp = cv2.cvtColor(yuv, cv2.COLOR_YUV2RGB_I420)
        out = cv2.cvtColor(np.vstack([res.planes[0], res.planes[1].reshape(-1, y.shape[1]),
                                      res.planes[2].reshape(-1, y.shape[1])]),
                           cv2.COLOR_YUV2RGB_I420)
        pairs.append((inp, out))
    return pairs


# Panning reveals content the smoothed state has not seen: brighter fog than
# the tracked airlight (he_forest1: 3.9 % of a frame clipped to white) and a
# darker pole than the tracked veil (he_train: 2.1 % crushed to black). The
# recovery's knee rolls both off instead.
@pytest.mark.parametrize("name", ["he_forest1", "he_train"])
def test_pans_into_new_content_crush_and_clip_nothing(name: str) -> None:
    worst = max(max(_new_crushed(out, inp), _new_clipped(out, inp))
                for inp, out in _panned(name))
    assert worst <= 0.005


def test_a_pan_over_a_steady_hazy_view_breathes_no_more_than_a_stable_dehaze() -> None:
    # he_22's pan takes the view's darkest pixels out of sight: the darkest
    # share's level rose 0.35 -> 0.46 of A, followed within a quarter second,
    # and the output darkened by 20 levels in two thirds of a second where
    # the input stayed within 3 (flicker 1.44 x the stable dehaze's). The
    # stable dehaze is one airlight and one transmission map, the default
    # dehazer's of the whole still, held for every frame: what the pan's
    # content comes to once the haze is removed.
    from vidclear.dehaze import DehazeConfig
    from vidclear.metrics import flicker

    still = _load(DATA / "hazy-stills" / "he_22.jpg", 1024)
    whole = Dehazer().process(still)
    t = np.maximum(cv2.resize(whole.transmission, (still.shape[1], still.shape[0]),
                              interpolation=cv2.INTER_LINEAR), DehazeConfig().t0)
    air = np.asarray(whole.airlight, np.float32)
    dehazer = Dehazer()
    outs, stable = [], []
    for i, (win, yuv) in enumerate(zip(_pan_windows(still), _pan(still), strict=True)):
        h = yuv.shape[0] * 2 // 3
        y, rest = yuv[:h], yuv[h:].reshape(2, h // 2, -1)
        res = dehazer.process_yuv420(y, rest[0], rest[1], timestamp=i / 30)
        outs.append(cv2.cvtColor(np.vstack([res.planes[0], res.planes[1].reshape(-1, y.shape[1]),
                                            res.planes[2].reshape(-1, y.shape[1])]),
                                 cv2.COLOR_YUV2RGB_I420))
        rgb = cv2.cvtColor(yuv, cv2.COLOR_YUV2RGB_I420).astype(np.float32) / 255
        stable.append(np.clip(((rgb - air) / t[win][..., None] + air) * 255 + 0.5, 0, 255
                              ).astype(np.uint8))
    ours, ref = flicker(outs), flicker(stable)
    assert ours <= 1.2 * ref, (round(ours, 5), round(ref, 5))


def test_a_pan_into_brighter_fog_is_followed_without_a_swing() -> None:
    # he_forest1's pan climbs into brighter fog over a few frames. The gate
    # held the airlight (as for a bright truck) until half the frame was
    # brighter than it: the output overshot, then fell by 28 levels in 8
    # frames while the input kept rising. A measurement that leaves the
    # airlight step by step, with most of the frame moving with it, is
    # followed as it goes, over 0.3 s (17.5 levels at most when this was
    # written; 19.6 on 3 December).
    pairs = _panned("he_forest1")
    lin = np.array([_luma(i) for i, _ in pairs])
    lout = np.array([_luma(o) for _, o in pairs])
    against = [lout[k] - lout[k + 8] for k in range(len(lin) - 8) if lin[k + 8] > lin[k]]
    assert max(against) < 20, max(against)


def test_a_fog_bank_brighter_than_a_stale_airlight_is_not_clipped() -> None:
    # A darker hazy scene sets the airlight; then a bright fog bank slides in.
    # The tracked airlight (gated, rate-limited) stays below the fog, so plain
    # recovery overshoots far past white (the second new-user trial: 17 % of
    # the fog newly white). The knee's ceiling keeps it under 252.
    from vidclear.dehaze import Dehazer

    scene = textured_scene(160, 240, 11) * 0.6
    base = to_u8(add_haze(scene, np.array([0.45, 0.45, 0.46]), beta=1.0, sky=0.0)[0])
    rng = np.random.default_rng(11)
    dehazer = Dehazer()
    worst_white = worst_black = 0.0
    for i in range(60):
        frame = base.copy()
        if i >= 20:
            width = min(60, (i - 19) * 6)
            fog = 240 + rng.normal(0, 4, (160, width, 3)) + np.array([0, 0, 6])
            frame[:, :width] = np.clip(fog, 0, 255).astype(np.uint8)
        out = dehazer(frame, timestamp=i / 25)
        worst_white = max(worst_white, _new_clipped(out, frame))
        worst_black = max(worst_black, _new_crushed(out, frame))
    assert float(dehazer.airlight.max()) < 0.8  # the airlight is stale: the case is exercised
    assert worst_white == 0.0 and worst_black == 0.0


def test_a_tunnel_exit_leaves_no_stale_airlight() -> None:
    # Out of a dark tunnel into fog: the opening grows over 1.5 s,
    # overexposed 2.5 times, and the exposure then settles over a second
    # (a helper's trial, on an O-HAZE scene made hazy). The airlight follows
    # the exposure by the gain read from the frames; it ended just past the
    # gate from its measurement, which held it there for airlight_hold: the
    # output 15-19 levels brighter than a fresh dehaze for 3 s. The exposure
    # step is now carried through to the measurement.
    clear = _load(DATA / "o-haze" / "35_outdoor_GT.jpg") / 255.0
    h, w = clear.shape[:2]
    t = np.exp(-0.8 * (0.3 + 2.7 * np.linspace(1, 0, h)[:, None, None] ** 1.3))
    hazy = clear * t + np.array([0.86, 0.87, 0.90]) * (1 - t)
    tunnel = hazy * 0.08 + 0.02
    y, x = np.mgrid[0:h, 0:w]

    def ease(u: float) -> float:
        u = min(max(u, 0.0), 1.0)
        return u * u * (3 - 2 * u)

    d = Dehazer()
    gap = []
    for k in range(150):
        now = k / 30
        frame = tunnel
        opening = ease((now - 1.0) / 1.5)
        if opening > 0:
            inside = (abs(x - w / 2) < 0.7 * opening * w) & (abs(y - h / 2) < 0.7 * opening * h)
            exposure = 1 + 1.5 * (1 - ease((now - 2.5) / 1.0))
            frame = np.where(inside[..., None], np.clip(hazy * exposure, 0, 1), tunnel)
        frame_u8 = np.clip(frame * 255 + 0.5, 0, 255).astype(np.uint8)
        out = d(frame_u8, timestamp=now)
        if now >= 4.0:  # half a second after the exposure settled
            gap.append(float(out.mean()) - float(dehaze_image(frame_u8).mean()))
    assert np.abs(gap).max() < 4.0, (min(gap), max(gap))


def _hazy_view(sky: float = 0.0) -> np.ndarray:
    """O-HAZE 35's clear view under haze thickening up the frame, (h, w, 3) in [0, 1]
    (h and w multiples of 4); its top ``sky`` share of rows at the haze's own level."""
    clear = _load(DATA / "o-haze" / "35_outdoor_GT.jpg") / 255.0
    h, w = clear.shape[0] // 4 * 4, clear.shape[1] // 4 * 4
    t = np.exp(-0.8 * (0.3 + 2.7 * np.linspace(1, 0, h)[:, None, None] ** 1.3))
    t[: round(sky * h)] = 0.0
    return clear[:h, :w] * t + np.array([0.82, 0.83, 0.86]) * (1 - t)


def _sky_over(frames: list[np.ndarray], share: float, fps: int = 30) -> list[float]:
    """Per frame through libx264 and the YUV path: the output's mean luma over the top
    ``share`` of rows minus the input's, levels."""
    h = frames[0].shape[0]
    sky = slice(0, round(share * h))
    d = Dehazer()
    over = []
    for k, yuv in enumerate(x264_yuv420(frames, rate=fps, crf=18)):
        y, rest = yuv[:h], yuv[h:].reshape(2, h // 2, -1)
        res = d.process_yuv420(y, rest[0], rest[1], timestamp=k / fps)
        over.append(float(res.planes[0][sky].mean()) - float(y[sky].mean()))
    return over


def test_a_brightness_ramp_into_fog_carries_the_airlight_along() -> None:
    # Out of a tunnel into fog with the brightness rising by an offset (eq's
    # brightness, a camera's black level lifting) over half a second,
    # through libx264. A multiplication is read as exposure; an offset was
    # not, and the airlight followed a frame or two behind its measurement:
    # the sky, brighter than that A, came out up to 27 levels brighter than
    # its input for half a second, near white (trial 160 F1). An affine
    # change of every pixel carries A along with it.
    hazy = _hazy_view()
    frames = []
    for k in range(90):
        offset = -0.55 * (1.0 - min(max((k / 30 - 1.0) / 0.5, 0.0), 1.0))
        frames.append(to_u8(np.clip(hazy + offset, 0.0, 1.0)))
    over = _sky_over(frames, 0.2)
    assert max(over) < 8.0, np.round(over).astype(int).tolist()


def test_a_fade_in_from_white_keeps_the_sky_under_its_input() -> None:
    # A fade in from white over 1.5 s into a hazy view, through libx264.
    # Each frame reads as an exposure gain of 0.99 (light taken away), which
    # scaled A down by a multiplication the fade is not (it mixes towards
    # white: I' = s I + 1 - s); A fell under the sky's level and the sky came
    # out up to 14 levels over its input while the input darkened (26 in
    # trial 163 F2). The affine map, offset and all, moves A instead.
    hazy = _hazy_view(sky=0.25)
    frames = [to_u8(white + (1.0 - white) * hazy)
              for white in (max(0.0, 1.0 - k / 45) for k in range(90))]
    over = _sky_over(frames, 0.25)
    assert max(over) < 8.0, np.round(over).astype(int).tolist()


def test_a_dark_band_entering_leaves_the_hazy_view_above_it_as_it_was() -> None:
    # An overpass's shadow (a full-width band, a fifth of the frame, at 0.3
    # of the light) enters a still hazy view and stays for 1.5 s, through
    # libx264. The rows above it never change, but the band's darkness
    # entered their dark channel's patch and the wide window of the veil
    # around them, and their output rose by up to 30 levels in one frame
    # (22 on trial 165 F4's clip); a pixel whose own level stays put keeps
    # both for airlight_hold (3 s).
    hazy = _hazy_view()
    h = hazy.shape[0]
    band = np.zeros((h, 1, 1))
    band[round(0.4 * h):round(0.6 * h)] = 0.7
    frames = [to_u8(hazy * (1.0 - band * (k >= 30))) for k in range(75)]
    above = slice(round(0.2 * h), round(0.4 * h))
    d = Dehazer()
    level = []
    for k, yuv in enumerate(x264_yuv420(frames, rate=30, crf=18)):
        y, rest = yuv[:h], yuv[h:].reshape(2, h // 2, -1)
        out = d.process_yuv420(y, rest[0], rest[1], timestamp=k / 30).planes[0]
        level.append(float(out[above].mean()) - float(y[above].mean()))
    moved = [v - level[29] for v in level[30:]]
    assert max(np.abs(moved)) < 6.0, np.round(moved).astype(int).tolist()


@pytest.mark.parametrize("t", [0.3, 0.15])
def test_a_fade_from_white_into_fog_over_a_dark_scene_does_not_flicker(t: float) -> None:
    # A church interior (dark, with bright windows) under thick fog, faded in
    # from white over 2 s, through libx264. The foggy frames' histograms are
    # narrow, and the fade moved them past the cut threshold every three to
    # five frames; each false cut reset the airlight to one frame's
    # measurement, which here swings between the windows and the fog
    # (0.78 / 0.94), and the output jumped between near white and near black:
    # steps of 166 levels while the input fell by 2 a frame (trial 28; on
    # this clip 30 and 46 levels before, 13 now).
    church = _load(DATA.parent / "hdr" / "memorial" / "memorial0068.png", 320)
    rows, cols = church.shape[0] // 4 * 4, church.shape[1] // 4 * 4
    rng = np.random.default_rng(1)
    hazy = church[:rows, :cols] / 255.0 * t + 0.85 * (1.0 - t)
    hazy += rng.normal(0.0, 1.5 / 255.0, hazy.shape)
    fps = 25
    frames = []
    for k in range(3 * fps):
        w = max(0.0, 1.0 - k / (2 * fps))  # the share of white
        frames.append(to_u8(w + (1.0 - w) * hazy))
    d = Dehazer()
    lin, lout, cuts = [], [], 0
    for k, yuv in enumerate(x264_yuv420(frames, rate=fps, crf=18)):
        y, rest = yuv[:rows], yuv[rows:].reshape(2, rows // 2, -1)
        res = d.process_yuv420(y, rest[0], rest[1], timestamp=k / fps)
        cuts += k > 0 and res.scene_cut
        lin.append(float(y.mean()))
        lout.append(float(res.planes[0].mean()))
    assert np.abs(np.diff(lin)).max() < 5  # the premise: a smooth fade
    assert np.abs(np.diff(lout)).max() < 25, np.round(lout).astype(int).tolist()
    assert cuts <= 2  # a nearly white frame at the start may still read as one


def test_fog_rolling_in_over_a_dark_scene_is_no_exposure_step() -> None:
    # Fog thickening over 2 s (t 0.8 -> 0.2) over a church interior, dark with
    # bright windows, through libx264. Its levels fill a narrow band, so the
    # added light raised every pixel by nearly one ratio and each frame read
    # as an exposure step of 2-4 %; the airlight was scaled with it to white
    # (1.0 from 0.97) while every measurement stayed at or below its start,
    # and the output sank to 91 levels below a fresh dehaze (trial 30). Fog
    # adds light and shrinks the contrast; an exposure scales both.
    church = _load(DATA.parent / "hdr" / "memorial" / "memorial0068.png", 320)
    rows, cols = church.shape[0] // 4 * 4, church.shape[1] // 4 * 4
    rng = np.random.default_rng(2)
    noise = rng.normal(0.0, 1.0 / 255.0, (rows, cols, 3))
    fps = 25
    frames = []
    for k in range(3 * fps):
        t = 0.8 - 0.6 * min(max((k - fps // 2) / (2 * fps), 0.0), 1.0)
        frames.append(to_u8(church[:rows, :cols] / 255.0 * t + 0.85 * (1.0 - t) + noise))
    d = Dehazer()
    air = []
    for k, yuv in enumerate(x264_yuv420(frames, rate=fps, crf=18)):
        y, rest = yuv[:rows], yuv[rows:].reshape(2, rows // 2, -1)
        res = d.process_yuv420(y, rest[0], rest[1], timestamp=k / fps)
        air.append(float(LUMA @ np.asarray(res.airlight)))
    assert max(air) < air[0] + 0.01, (round(air[0], 3), round(max(air), 3))


@pytest.mark.parametrize(("first", "second"), [
    ("hazy-stills/he_forest1.jpg", "o-haze/35_outdoor_hazy.jpg"),
    ("dense-haze/18_hazy.png", "hazy-stills/he_gugong.bmp"),
])
def test_a_dissolve_into_another_hazy_shot_leaves_no_stale_state(first: str,
                                                                   second: str) -> None:
    # A 1 s cross-dissolve between two real hazy pictures, through libx264.
    # No cut is seen; the old shot's airlight was held by the gate for
    # airlight_hold and then rate limited, and its colour gains smoothed over
    # 2 s: a second after the dissolve the output was 12.9 (forest into
    # O-HAZE) and 10.1 levels (Dense-Haze into the Forbidden City) off a
    # dehazer started afresh on the new shot.
    def still(name: str) -> np.ndarray:
        img = _load(DATA / name, 1024)
        return cv2.resize(img, (320, 180), interpolation=cv2.INTER_AREA).astype(np.float64)

    a, b = still(first), still(second)
    fps = 25
    frames = [np.rint(a + np.clip((k - fps) / fps, 0.0, 1.0) * (b - a)).astype(np.uint8)
              for k in range(4 * fps)]  # the dissolve: 1 s to 2 s
    d, fresh = Dehazer(), Dehazer()
    gap, cuts = [], 0
    for k, yuv in enumerate(x264_yuv420(frames, rate=fps, crf=18)):
        y, rest = yuv[:180], yuv[180:].reshape(2, 90, -1)
        res = d.process_yuv420(y, rest[0], rest[1], timestamp=k / fps)
        cuts += k > 0 and res.scene_cut
        if k >= 50:  # the dissolve is over: a dehazer started afresh on the new shot
            ref = fresh.process_yuv420(y, rest[0], rest[1], timestamp=k / fps)
            gap.append(float(res.planes[0].mean()) - float(ref.planes[0].mean()))
    assert cuts == 0  # the premise: no cut is seen
    assert np.abs(gap[fps:]).max() < 3.0, np.round(gap[::5], 1).tolist()


def test_a_cut_the_histogram_misses_is_no_object_to_hold() -> None:
    # A hard cut between two hazy shots the histogram test does not see
    # (a helper's trial, these two shots): the new shot's darkest pixels lie
    # in a few tiles, and the veil levels (the luma floor's veil, the
    # dense-haze level) held them for airlight_hold as if a dark object had
    # entered a steady view, the output 5.4 levels off for 3 s. Most of the
    # picture changed at once: a new view, and the levels follow it as a
    # dehazer started afresh at the cut reads it. (The airlight is held by
    # its gate either way: a cut it cannot see is a stale airlight's case.)
    def hazy(path: Path, beta: float) -> np.ndarray:
        clear = cv2.resize(_load(path, 1024), (640, 360), interpolation=cv2.INTER_AREA)
        t = np.exp(-beta * (0.3 + 2.7 * np.linspace(1, 0, 360)[:, None, None] ** 1.3))
        return to_u8(clear / 255.0 * t + np.array([0.86, 0.87, 0.90]) * (1 - t))

    first = hazy(DATA / "o-haze" / "35_outdoor_GT.jpg", 0.8)
    second = hazy(DATA.parent / "hdr" / "frobisher" / "IMG_2601.jpg", 0.9)
    # (scene_cut 0.5, the default before trial 53, misses this cut; the
    # default now sees it, see the next test: this one keeps a cut that no
    # threshold sees)
    d, afresh = Dehazer(scene_cut=0.5), Dehazer(scene_cut=0.5)
    cuts = 0
    for k in range(60):
        d(first if k < 30 else second, timestamp=k / 30)
        cuts += k > 0 and d.last.scene_cut
    afresh(second)
    assert cuts == 0  # the premise: no cut detected
    for mine, fresh in ((d._veil_t, afresh._veil_t), (d._dense_t, afresh._dense_t)):
        assert mine.value is not None and fresh.value is not None
        assert abs(mine.value - fresh.value) < 0.03, (mine.value, fresh.value)  # was 0.14


def test_a_hard_cut_between_two_foggy_shots_starts_the_airlight_afresh() -> None:
    # Foggy shots have narrow grey histograms: a hard cut between two of them
    # moved the histogram by 0.19-0.49 (half-L1), under the 0.5 that made a
    # cut, and the old shot's airlight was held for 3 s, then followed at its
    # rate limit: the output 4-4.5 levels darker and bluer than a fresh
    # dehaze for 3 s, 2 levels off 9 s later (trial 53, a forest cut to a
    # train). Within a pan the distance stays under 0.05 (pans over the tuning
    # images) and 0.08 (over the real hazy stills); 0.15 sees the cut.
    def pan(name: str) -> list[np.ndarray]:
        still = _load(DATA / "hazy-stills" / name, 1024)
        w = still.shape[1]
        return [np.ascontiguousarray(cv2.resize(still[:, x:x + w // 2], (384, 216),
                                                interpolation=cv2.INTER_AREA))
                for x in np.linspace(0, w // 2, 12).astype(int)]

    before, after = pan("he_forest1.jpg"), pan("he_train.bmp")
    d, afresh = Dehazer(), Dehazer()
    flags = [d.process(f, k / 30).scene_cut for k, f in enumerate(before + after)]
    assert flags == [True] + [False] * 11 + [True] + [False] * 11
    for k, f in enumerate(after):
        afresh.process(f, k / 30)
    assert np.abs(d.airlight - afresh.airlight).max() < 1e-6, (d.airlight, afresh.airlight)
    assert np.abs(d.last.image.astype(int) - afresh.last.image).mean() < 0.01


def _with_strip(frame: np.ndarray, level: int) -> np.ndarray:
    """``frame`` with a dashcam's time and GPS strip burnt in: the bottom 9 %, dark text on it."""
    out = frame.copy()
    h = out.shape[0]
    top = h - round(h * 0.09)
    out[top:] = level
    cv2.putText(out, "2024/05/01 12:34:56  N22.30 E114.17  63 km/h", (4, h - 6),
                cv2.FONT_HERSHEY_SIMPLEX, 0.35, (20, 20, 20), 1, cv2.LINE_AA)
    return out


@pytest.mark.parametrize("name, rows, scale", [
    ("he_hongkong", 25, 0.45),  # 12.5 working rows (the frame is block-averaged by 2)
    ("he_ny1", 35, 0.75)])  # 17.5 working rows, the text taller than the plain rows
def test_a_dark_strip_with_light_text_leaves_the_picture_above_as_without_it(
        name: str, rows: int, scale: float) -> None:
    # The common dashcam style, white text on black. Found after a second, it
    # still left the road above it veiled, +14 to +17 levels (trial 68): a
    # strip whose height is no whole number of working rows left a sliver of
    # itself in the picture's statistics, the darkest 0.5 % of the frame; and
    # bold text that covers most of a tall strip's rows ended the band at the
    # text, so the rest stayed in (+58 levels).
    still = _load(DATA / "hazy-stills" / f"{name}.bmp", 800)
    h = still.shape[0]
    height, width = 360, 640  # and the picture above it too, by 2
    y0 = (h - height) // 2
    # under thicker fog (t 0.5 over the photo's own haze), whose darkest
    # pixels carry a veil that the strip's black would hide
    foggy = (0.5 * still.astype(np.float32) + 0.5 * 215).astype(np.uint8)
    crops = [np.ascontiguousarray(foggy[y0:y0 + height, x:x + width]) for x in range(75)]
    above = height - rows - 2
    strip, alone = Dehazer(), Dehazer()
    for i, crop in enumerate(crops):
        marked = crop.copy()
        marked[height - rows:] = 12
        cv2.putText(marked, f"2024/05/01 12:34:{56 + i // 30:02d}  N22.30 E114.17",
                    (4, height - rows // 4), cv2.FONT_HERSHEY_SIMPLEX, scale, (235, 235, 235),
                    2, cv2.LINE_AA)
        got = strip(marked, timestamp=i / 30)
        if i < 30:  # found after a second: from then on as a dehazer of the picture alone
            continue
        want = alone(np.ascontiguousarray(crop[:above]), timestamp=i / 30)
        diff = np.abs(got[:above].astype(np.float32) - want).mean()
        assert diff < 1.5, (i, diff, strip._bands)


@pytest.mark.parametrize("name, level, speed", [("he_ny1", 230, None), ("he_train", 255, None),
                                                ("he_ny1", 230, 0.5), ("he_train", 255, 0.5)])
def test_a_light_strip_burnt_in_at_the_bottom_is_no_airlight(name: str, level: int,
                                                            speed: float | None) -> None:
    # A grey or white strip across a dashcam frame was read as opaque haze: the
    # airlight search took its level for the whole clip and the scene above it
    # came out 7.5 levels darker than without it (trial 53, a pan over
    # he_hongkong, where the thresholds were set; checked here on others).
    # Once its rows and level have held for a second over a moving picture,
    # the picture above it is dehazed as if it were the whole frame: from
    # then on as by a dehazer that started there on that picture alone.
    still = _load(DATA / "hazy-stills" / f"{name}.bmp", 1024)
    h, w = still.shape[:2]
    height, width = min(h, 216) // 4 * 4, 384
    y0 = (h - height) // 2
    # 2.5 s at 30 fps, across the still, or half a pixel a frame (slow traffic:
    # trial 67's strip over such a pan was never found)
    crops = [np.ascontiguousarray(still[y0:y0 + height, x:x + width])
             for x in (round((w - width) * i / 74 if speed is None else speed * i)
                       for i in range(75))]
    above = height - round(height * 0.09)
    strip, alone = Dehazer(), Dehazer()
    for i, crop in enumerate(crops):
        got = strip(_with_strip(crop, level), timestamp=i / 30)
        if i < 30:
            continue
        want = alone(np.ascontiguousarray(crop[:above]), timestamp=i / 30)
        assert np.abs(strip.airlight - alone.airlight).max() < 0.01, (i, strip.airlight)
        assert np.abs(got[:above].astype(np.float32) - want).mean() < 1.5, i
