"""The dehaze and dehaze_debug pipeline processors."""

from __future__ import annotations

from fractions import Fraction

import cv2
import numpy as np
import pytest

from tests.dehaze.dehaze_refs import add_haze, textured_scene, to_u8
from vidclear.core import registry
from vidclear.core.frame import Frame
from vidclear.dehaze import DehazeConfig, Dehazer
from vidclear.errors import ConfigError
from vidclear.processors.dehaze import DehazeDebug, DehazeProcessor


def _frames(n: int, tb: Fraction = Fraction(1, 90000)) -> list[Frame]:
    img = to_u8(add_haze(textured_scene(72, 96, 0), np.array([0.85, 0.85, 0.85]), 2.0)[0])
    pts = np.cumsum([0, 3000, 3003, 2997, 6000, 3000, 3000, 3000][:n])  # VFR
    return [Frame(img, pts=int(p), time_base=tb) for p in pts]


def test_registry_names_resolve() -> None:
    assert registry.get("dehaze") is DehazeProcessor
    assert registry.get("dehaze_debug") is DehazeDebug
    assert DehazeProcessor.Config is DehazeConfig


def test_processor_matches_dehazer_with_frame_times() -> None:
    frames = _frames(6)
    proc = DehazeProcessor(strength=0.9)
    ref = Dehazer(strength=0.9)
    for f in frames:
        out = proc(f)
        expect = ref(f.image, timestamp=f.time)
        assert out is not None
        np.testing.assert_array_equal(out.image, expect)
        assert out.pts == f.pts and out.time_base == f.time_base
        assert out.original is f
        meta = out.meta["dehaze"]
        assert len(meta["airlight"]) == 3 and 0 <= meta["strength"] <= 0.9
    assert proc.flush() == []
    assert "strength=0.9" in repr(proc)


def test_processor_does_not_modify_frame_and_accepts_views() -> None:
    f = _frames(1)[0]
    before = f.image.copy()
    out = DehazeProcessor()(Frame(f.image[:, ::-1], pts=0, time_base=Fraction(1, 30)))
    np.testing.assert_array_equal(f.image, before)
    assert out is not None and out.image.shape == before.shape


def test_processor_reset() -> None:
    frames = _frames(4)
    proc = DehazeProcessor()
    first = proc(frames[0])
    proc(frames[1])
    proc.reset()
    again = proc(frames[2])
    assert again is not None and first is not None
    assert again.meta["dehaze"]["scene_cut"]
    np.testing.assert_array_equal(again.image, first.image)


def test_processor_config_errors() -> None:
    with pytest.raises(ConfigError, match="dehaze.omega"):
        DehazeProcessor(omega=3)
    with pytest.raises(ConfigError, match="unknown key dehaze.nope"):
        DehazeProcessor(nope=1)
    proc = DehazeProcessor(DehazeConfig(radius=10), eps=0.01)
    assert proc.config.radius == 10 and proc.config.eps == 0.01


@pytest.mark.parametrize("shape", [(72, 96), (73, 97), (1, 1), (2, 3)])
def test_debug_mosaic_shape_and_content(shape: tuple[int, int]) -> None:
    img = to_u8(add_haze(textured_scene(*shape, 1), np.array([0.8, 0.8, 0.8]), 2.0)[0])
    out = DehazeDebug()(Frame(img, pts=0, time_base=Fraction(1, 25)))
    assert out is not None
    assert out.image.shape == img.shape and out.image.dtype == np.uint8
    assert "dehaze" in out.meta


def test_debug_mosaic_layout_and_labels() -> None:
    img = to_u8(add_haze(textured_scene(240, 320, 2), np.array([0.8, 0.8, 0.8]), 2.0)[0])
    frame = Frame(img, pts=0, time_base=Fraction(1, 25))
    out = DehazeDebug()(frame).image
    plain = DehazeProcessor()(frame).image
    # bottom-right quadrant: the dark channel, shown in grey (equal channels)
    br = out[150:, 200:].astype(int)
    assert (br[..., 0] == br[..., 1]).all() and (br[..., 1] == br[..., 2]).all()
    # top-right: the dehazed image at half size, away from the label
    half = cv2.resize(plain, (160, 120), interpolation=cv2.INTER_AREA)
    assert np.abs(out[40:120, 160:].astype(int) - half[40:, :]).max() <= 1
    # labels: text drawn over the first rows of the input tile, not below them
    tile = cv2.resize(img, (160, 120), interpolation=cv2.INTER_AREA).astype(int)
    assert (np.abs(out[:25, :80].astype(int) - tile[:25, :80]).max(axis=2) > 40).sum() > 20
    np.testing.assert_array_equal(out[60:120, :160], tile[60:120])


def test_debug_uint16_frames() -> None:
    img = to_u8(add_haze(textured_scene(48, 64, 3), np.array([0.8, 0.8, 0.8]), 2.0)[0])
    out = DehazeDebug()(Frame(img.astype(np.uint16) * 257, pts=0, time_base=Fraction(1, 25)))
    assert out is not None and out.image.dtype == np.uint16 and out.image.shape == (48, 64, 3)


def test_debug_refuses_non_rgb() -> None:
    with pytest.raises(ValueError, match="RGB"):
        DehazeDebug()(Frame(np.zeros((8, 8), np.uint8), pts=0, time_base=Fraction(1, 25)))


def test_debug_mosaic_of_decoded_planes_shows_what_dehaze_writes() -> None:
    # Decoded 8-bit 4:2:0 frames go through dehaze's planes path; the mosaic
    # took the RGB path, whose airlight differs, and its "dehazed" tile was
    # 7-13 levels from what dehaze wrote (trial 133 F1). A warm airlight
    # makes the two paths' estimates part most.
    import av

    scene = add_haze(textured_scene(144, 192, 3), np.array([0.9, 0.82, 0.7]), 2.0)[0]
    rgb = to_u8(scene)
    frames = []
    for i in range(6):
        vf = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
        frames.append(Frame(av_frame=vf, pts=i * 3000, time_base=Fraction(1, 90000)))
    plain, debug = DehazeProcessor(), DehazeDebug()
    for f in frames:
        written = plain(f)
        shown = debug(f)
    assert frames[-1].yuv420() is not None and written.av_frame is not None  # the planes' path
    half = cv2.resize(written.image, (96, 72), interpolation=cv2.INTER_AREA).astype(float)
    tile = shown.image[:72, 96:].astype(float)
    body = (slice(16, 72), slice(0, 96))  # below the tile's label
    assert np.abs(tile[body] - half[body]).mean() < 1.0
    assert shown.meta["dehaze"]["airlight"] == written.meta["dehaze"]["airlight"]


def _pq_clip(path, cll: int | None, *, lamp=(1000.0, 1000.0, 1000.0), trc="smpte2084") -> None:
    """A hazy 10-bit clip (HEVC) with a lamp of ``lamp`` cd/m² (R, G, B) above the haze.

    PQ-coded (BT.2020) with MaxCLL ``cll`` (None: no HDR10 metadata), or
    with ``trc="bt709"`` the same signal tagged SDR.
    """
    import shutil
    import subprocess

    from vidclear.hdr.signal import pq_inverse_eotf

    h, w = 96, 128
    scene = textured_scene(h, w, 3) * 0.5 + 0.05  # the clear scene's PQ signal
    air = float(pq_inverse_eotf(200.0))  # the haze at about diffuse white
    t = np.linspace(0.9, 0.3, h)[:, None, None]
    hazy = scene * t + air * (1 - t)
    yy, xx = np.mgrid[:h, :w]
    hazy[(yy - 70) ** 2 + (xx - 90) ** 2 < 100] = pq_inverse_eotf(np.asarray(lamp))
    raw = np.rint(np.clip(hazy, 0, 1) * 65535).astype("<u2").tobytes() * 8
    params = "log-level=error"
    if cll is not None:
        params += (":hdr10=1:master-display=G(13250,34500)B(7500,3000)R(34000,16000)"
                   f"WP(15635,16450)L(40000000,1):max-cll={cll},400")
    subprocess.run([shutil.which("ffmpeg") or "ffmpeg", "-v", "error", "-f", "rawvideo",
                    "-pix_fmt", "rgb48le", "-s", f"{w}x{h}", "-r", "25", "-i", "-",
                    "-c:v", "libx265", "-x265-params", params, "-pix_fmt", "yuv420p10le",
                    "-vf", "scale=out_color_matrix=bt2020:out_range=tv",
                    "-color_primaries", "bt2020", "-color_trc", trc,
                    "-colorspace", "bt2020nc", str(path)], input=raw, check=True, timeout=60)


def _decoded(path) -> list[Frame]:
    import av

    with av.open(str(path)) as c:
        return [Frame(pts=i, time_base=Fraction(1, 25), av_frame=f)
                for i, f in enumerate(c.decode(video=0))]


def _lamp_nits(image: np.ndarray) -> np.ndarray:
    """The lamp's light per channel, cd/m² (the median of its middle)."""
    from vidclear.hdr.signal import pq_eotf

    return np.median(pq_eotf(image[66:75, 86:95] / 65535.0).reshape(-1, 3), axis=0)


def test_a_pq_sources_highlights_stay_as_they_came_whatever_its_metadata(tmp_path) -> None:
    # The dehazer read PQ signals as SDR levels, whose white is 10 000 cd/m²
    # there: a 1000 cd/m² lamp above the airlight came out at 6400 (trial
    # 179 F2); scaled to the declared peak, it came out at up to that peak,
    # 3000 under a 4000 cd/m² mastering display and 6800 under MaxCLL 10 000,
    # and the ground's light depended on the number (trial 180 F1). Dehazed
    # in an SDR-like working signal of its light, the picture is the same
    # whatever the metadata, the lamp stays at its light, and the haze comes
    # off with the ground as bright as the SDR path leaves it.
    outs = {}
    for cll in (1000, 10000, None):
        clip = tmp_path / f"pq{cll}.mkv"
        _pq_clip(clip, cll)
        frames = _decoded(clip)
        assert frames[0].av_frame.color_trc == 16  # AVCOL_TRC_SMPTE2084
        proc = DehazeProcessor()
        outs[cll] = [proc(f).image for f in frames][-1]
    src = frames[-1].image
    assert all(np.array_equal(o, outs[None]) for o in outs.values())
    out = outs[None]
    lamp_in, lamp_out = _lamp_nits(src), _lamp_nits(out)
    assert np.all((900 < lamp_in) & (lamp_in < 1100)), lamp_in
    assert np.all(np.abs(lamp_out / lamp_in - 1) < 0.1), (lamp_in, lamp_out)
    # read as SDR levels (no transfer known), the same pixels' lamp is pushed up
    sdr = DehazeProcessor()
    as_sdr = [sdr(Frame(f.image, pts=f.pts, time_base=f.time_base)).image for f in frames][-1]
    assert np.all(_lamp_nits(as_sdr) > 2 * lamp_in), _lamp_nits(as_sdr)
    # the haze still comes off: the far (hazy) rows gain contrast in light
    from vidclear.hdr.signal import pq_eotf

    def contrast(image: np.ndarray) -> float:  # of the hazy rows' light
        light = pq_eotf(image[40:60] / 65535.0)
        return float(light.std() / light.mean())

    assert contrast(out) > 1.15 * contrast(src), (contrast(out), contrast(src))  # 0.92, 0.76


def test_a_pq_lamp_past_the_working_white_keeps_its_colour(tmp_path) -> None:
    # A red lamp of R 3000, G 400, B 150 cd/m² had its channels under the
    # declared peak brightened and those over it kept: G / R 0.136 -> 0.199
    # (trial 180 F1). Light past the working white is kept whole-pixel.
    clip = tmp_path / "red.mkv"
    _pq_clip(clip, 1000, lamp=(3000.0, 400.0, 150.0))
    frames = _decoded(clip)
    proc = DehazeProcessor()
    out = [proc(f).image for f in frames][-1]
    lamp_in, lamp_out = _lamp_nits(frames[-1].image), _lamp_nits(out)
    assert lamp_in[0] > 2000 and abs(lamp_in[1] / lamp_in[0] - 0.133) < 0.02, lamp_in
    np.testing.assert_allclose(lamp_out, lamp_in, rtol=0.02)


def test_a_trip_of_pq_and_sdr_files_dehazes_each_as_what_it_is(tmp_path) -> None:
    # The transfer was read once: a PQ file's SDR successor in a trip went
    # through the PQ mapping, and an SDR file's PQ successor was read as SDR
    # levels (trial 180 F2). Each frame's own transfer decides, and a change
    # starts the temporal state over, as a fresh processor would.
    pq, sdr = tmp_path / "pq.mkv", tmp_path / "sdr.mkv"
    _pq_clip(pq, 1000)
    _pq_clip(sdr, None, trc="bt709")
    first, second = _decoded(pq), _decoded(sdr)
    assert second[0].av_frame.color_trc == 1
    trip = DehazeProcessor()
    for f in first:
        trip(f)
    got = [trip(f).image for f in second]
    fresh = DehazeProcessor()
    np.testing.assert_array_equal(got, [fresh(f).image for f in second])
    back = [trip(f).image for f in first]  # and back to PQ
    fresh = DehazeProcessor()
    np.testing.assert_array_equal(back, [fresh(f).image for f in first])


def test_dehaze_debug_draws_a_pq_sources_maps_within_the_working_white(tmp_path) -> None:
    # The mosaic's maps and labels, 0..1, were written as PQ signal: the
    # dark channel's quarter at 5137 cd/m² on average, its white at 10 000
    # (trial 180 F4). Drawn in the working signal, their white is 1000.
    from vidclear.hdr.signal import pq_eotf

    clip = tmp_path / "pq.mkv"
    _pq_clip(clip, 1000)
    frames = _decoded(clip)
    debug = DehazeDebug()
    mosaic = [debug(f).image for f in frames][-1]
    light = pq_eotf(mosaic / 65535.0)
    assert light.max() <= 1000.5, light.max()
    maps = light[48:, :]  # transmission and dark channel
    assert maps.max() > 500, maps.max()  # the maps' white is there, not black
