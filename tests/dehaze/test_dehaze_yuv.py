"""The dehazer's YUV 4:2:0 path: kernels vs NumPy, and vs the RGB path on decoded video."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from tests.dehaze.dehaze_refs import (
    STANDARDS,
    add_haze,
    bilinear_ref,
    knee_ref,
    recover_yuv_linear_ref,
    rgb_of_yuv_ref,
    textured_scene,
    to_u8,
    yuv_of_rgb_ref,
    yuv_planes_ref,
)
from vidclear.core.convert import av_to_rgb, rgb_to_av
from vidclear.core.frame import Frame
from vidclear.dehaze import Dehazer
from vidclear.dehaze import _yuv_kernels as _ky
from vidclear.kernels._filters import guided_coeffs
from vidclear.processors.dehaze import DehazeProcessor


def _coeffs(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    low = (rng.random((h, w)) * 0.5).astype(np.float32)
    return guided_coeffs(low, (0.3 + low).astype(np.float32), 1, 1e-2)


MODELS = sorted(_ky.YUV_MODELS)  # (colorspace, full range)


def test_matrices_are_bt601_limited_range() -> None:
    model = _ky.BT601_TV
    white = model.to_yuv @ np.full(3, 255.0) + model.offset
    np.testing.assert_allclose(white, [235, 128, 128], atol=1e-9)
    np.testing.assert_allclose(model.to_rgb[0], [255 / 219, 0, 1.402 * 255 / 224], atol=1e-9)


@pytest.mark.parametrize(("space", "full"), MODELS)
def test_every_yuv_model_is_its_standard_as_swscale_and_opencv_write_it(space: str,
                                                                        full: bool) -> None:
    model = _ky.YUV_MODELS[space, full]
    rgb = np.random.default_rng(9).integers(0, 256, (64, 3)).astype(np.float64)
    yuv = rgb @ model.to_yuv.T + model.offset
    np.testing.assert_allclose(yuv, yuv_of_rgb_ref(rgb, space, full), atol=1e-9)
    np.testing.assert_allclose((yuv - model.offset) @ model.to_rgb.T, rgb, atol=1e-9)
    np.testing.assert_allclose(rgb_of_yuv_ref(yuv, space, full), rgb, atol=1e-9)
    kr, kb = STANDARDS[space]
    np.testing.assert_allclose(model.luma, [kr, 1 - kr - kb, kb], rtol=1e-6)
    assert model.guide[0] == (0 if full else 16) and model.guide[1] == np.float32(
        1 / (255 if full else 219))
    # FFmpeg (swscale, through PyAV) on flat colours, so chroma subsampling plays no part
    tags = {"bt601": 6, "bt709": 1}[space], 2 if full else 1
    for colour in rgb[:8]:
        img = np.broadcast_to(colour.astype(np.uint8), (4, 4, 3)).copy()
        frame = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(
            format="yuv420p", dst_colorspace=tags[0], dst_color_range=tags[1])
        got = frame.to_ndarray()[[0, 4, 5], 0].astype(float)
        want = colour.astype(np.uint8) @ model.to_yuv.T + model.offset
        assert np.abs(got - want).max() <= 1.0, (colour, got, want)
    if (space, full) == ("bt601", True):  # OpenCV's YCrCb is full-range BT.601 (JPEG)
        ycrcb = cv2.cvtColor(rgb.astype(np.uint8)[None], cv2.COLOR_RGB2YCrCb)[0].astype(float)
        want = rgb.astype(np.uint8) @ model.to_yuv.T + model.offset
        assert np.abs(ycrcb[:, [0, 2, 1]] - want).max() <= 1.0


@pytest.mark.parametrize(("shape", "s"), [((48, 64), 4), ((50, 62), 3), ((20, 30), 1),
                                          ((34, 46), 8)])
def test_chroma_area_is_block_mean_of_upsampled_chroma(shape: tuple[int, int], s: int) -> None:
    rng = np.random.default_rng(1)
    rows, cols = shape
    c = rng.integers(0, 256, (rows // 2, cols // 2), dtype=np.uint8)
    h, w = -(-rows // s), -(-cols // s)
    out = np.empty((h, w), np.float32)
    _ky.chroma_area(c, s, rows, cols, out)
    up = np.repeat(np.repeat(c.astype(np.float64), 2, axis=0), 2, axis=1)
    ref = np.array([[up[i * s:(i + 1) * s, j * s:(j + 1) * s].mean() for j in range(w)]
                    for i in range(h)])
    np.testing.assert_allclose(out, ref, atol=1e-3)


@pytest.mark.parametrize(("rows", "cols"), [(720, 1280), (1080, 1920), (364, 642), (540, 962)])
def test_the_working_chroma_is_the_block_mean_whatever_the_block_size(rows: int,
                                                                      cols: int) -> None:
    # an even block size takes the chroma planes' plain (s/2)² block means
    # (downsample_area_u8, on the Numba threads); an odd one chroma_area
    rng = np.random.default_rng(3)
    y = rng.integers(16, 236, (rows, cols), dtype=np.uint8)
    u, v = (rng.integers(16, 241, (rows // 2, cols // 2), dtype=np.uint8) for _ in range(2))
    d = Dehazer()
    d.process_yuv420(y, u, v, 0.0)
    ws = d._ws
    assert ws is not None
    s = d._factor(rows, cols)
    for plane, got in ((u, ws.yuvlow()[1]), (v, ws.yuvlow()[2])):
        ref = np.empty_like(got)
        _ky.chroma_area(plane, s, rows, cols, ref)
        np.testing.assert_allclose(got, ref, atol=1e-3)


@pytest.mark.parametrize(("space", "full"), MODELS)
def test_yuv_to_low_matches_numpy(space: str, full: bool) -> None:
    model = _ky.YUV_MODELS[space, full]
    rng = np.random.default_rng(2)
    yuv = (rng.random((3, 9, 11)) * 255).astype(np.float32)
    low = np.empty((9, 11, 3), np.float32)
    guide = np.empty((9, 11), np.float32)
    planes = np.empty((3, 9, 11), np.float32)
    _ky.yuv_to_low(yuv[0], yuv[1], yuv[2], model.mats[0], model.guide, planes, low, guide)
    np.testing.assert_array_equal(planes, np.moveaxis(low, -1, 0))
    ref = rgb_of_yuv_ref(np.moveaxis(yuv, 0, -1), space, full) / 255
    np.testing.assert_allclose(low, np.clip(ref, 0, 1), atol=1e-5)
    y0, ys = (0, 255) if full else (16, 219)
    np.testing.assert_allclose(guide, (yuv[0] - y0) / ys, atol=1e-5)


@pytest.mark.parametrize(("shape", "s", "full"), [((48, 64), 4, False), ((50, 62), 3, False),
                                                  ((2, 2), 1, False), ((48, 64), 4, True)])
def test_recover_yuv_linear_matches_reference(shape: tuple[int, int], s: int,
                                              full: bool) -> None:
    rng = np.random.default_rng(3)
    rows, cols = shape
    y = rng.integers(0, 256, shape, dtype=np.uint8)
    u = rng.integers(0, 256, (rows // 2, cols // 2), dtype=np.uint8)
    v = rng.integers(0, 256, (rows // 2, cols // 2), dtype=np.uint8)
    coeffs = _coeffs(rng, -(-rows // s), -(-cols // s))
    air = np.array([200.0, 120.0, 135.0], np.float32)
    out = tuple(np.empty_like(p) for p in (y, u, v))
    guide = _ky.YUV_MODELS["bt601", full].guide
    _ky.recover_yuv_linear(y, u, v, coeffs, s, air, np.float32(0.1), guide, *out)
    refs = recover_yuv_linear_ref(y, u, v, coeffs, s, air, 0.1, full)
    for got, ref in zip(out, refs, strict=True):
        assert np.abs(got.astype(float) - ref).max() <= 1  # float32 rounding only


@pytest.mark.parametrize(("gamma", "space", "full"), [
    (0.8, "bt601", False), (1.0, "bt601", False), (0.8, "bt709", False), (1.0, "bt709", True),
    (0.8, "bt601", True)])
def test_recover_yuv_rgb_is_the_rgb_recovery_between_conversions(gamma: float, space: str,
                                                                 full: bool) -> None:
    model = _ky.YUV_MODELS[space, full]
    rng = np.random.default_rng(4)
    rows, cols, s = 40, 56, 4
    y = rng.integers(16, 236, (rows, cols), dtype=np.uint8)
    u = rng.integers(90, 170, (rows // 2, cols // 2), dtype=np.uint8)
    v = rng.integers(90, 170, (rows // 2, cols // 2), dtype=np.uint8)
    coeffs = _coeffs(rng, rows // s, cols // s)
    air = np.array([0.85, 0.8, 0.9])
    gains = np.array([1.05, 1.0, 0.95])
    if gamma < 1:
        lut = np.rint(255 * np.linspace(0, 1, 4096) ** gamma).astype(np.uint8)
        top = 4095.0
    else:
        lut, top = np.empty(0, np.uint8), 255.0
    kr, kb = STANDARDS[space]
    la = float(np.array([kr, 1 - kr - kb, kb]) @ air)
    y0, ys = (0.0, 255.0) if full else (16.0, 219.0)
    prm = np.concatenate([gains * top / 255, air * gains * top, [0.1, top, la, y0, 1 / ys]]
                         ).astype(np.float32)
    out = tuple(np.empty_like(p) for p in (y, u, v))
    _ky.recover_yuv_rgb(y, u, v, coeffs, s, prm, lut, model.mats, *out)
    # reference: nearest-upsampled chroma -> RGB -> RGB recovery -> 4:2:0 with 2×2 means
    yuv = np.stack([y, np.repeat(np.repeat(u, 2, 0), 2, 1), np.repeat(np.repeat(v, 2, 0), 2, 1)],
                   axis=-1).astype(np.float64)
    rgb = np.clip(rgb_of_yuv_ref(yuv, space, full), 0, 255) / 255
    g = (y - y0) / ys
    t = np.clip(bilinear_ref(coeffs[0], s, (rows, cols)) * g
                + bilinear_ref(coeffs[1], s, (rows, cols)), 0.1, 1.0)
    inv = knee_ref(g, la, 1.0 / t)[..., None]
    j = np.clip(((rgb - air) * inv + air) * gains, 0, 1) ** gamma
    ref = yuv_planes_ref(to_u8(j), space, full)
    tol = 3 if gamma < 1 else 1  # LUT grid / float32 rounding
    for got, want in zip(out, ref, strict=True):
        d = np.abs(got.astype(float) - want)
        assert d.max() <= tol and d.mean() < 0.6


# AVColorSpace and AVColorRange values of the standards (FFmpeg's pixfmt.h)
_AV_SPACE = {"bt601": 6, "bt709": 1}
_AV_RANGE = {False: 1, True: 2}


def _encode(path: Path, images: list[np.ndarray], standard: tuple[str, bool] | None = None,
            ) -> list[Frame]:
    """Encode RGB images to near-lossless H.264 and decode them as pipeline frames.

    With ``standard`` = (colorspace, full range), swscale converts with that
    matrix and range and the stream is tagged so; else untagged BT.601.
    """
    h, w = images[0].shape[:2]
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=30)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.codec_context.options = {"crf": "4", "preset": "ultrafast"}
        if standard is not None:
            ctx = vs.codec_context
            ctx.colorspace, ctx.color_range = _AV_SPACE[standard[0]], _AV_RANGE[standard[1]]
        for img in images:
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            if standard is not None:
                frame = frame.reformat(format="yuv420p", dst_colorspace=_AV_SPACE[standard[0]],
                                       dst_color_range=_AV_RANGE[standard[1]])
            for p in vs.encode(frame):
                out.mux(p)
        for p in vs.encode(None):
            out.mux(p)
    with av.open(str(path)) as inp:
        return [Frame(pts=f.pts, time_base=f.time_base, av_frame=f)
                for f in inp.decode(video=0)]


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(float) - b.astype(float)) ** 2)
    return float(10 * np.log10(255.0**2 / max(mse, 1e-12)))


def _close(got: np.ndarray, rgb_out: np.ndarray) -> None:
    """The YUV path's output (decoded to RGB) against the RGB path's, both as the encoder gets them.

    The RGB path's output reaches a yuv420p encoder through ``rgb_to_av``
    (4:2:0 chroma), so that is the fair reference; against the raw RGB
    output the chroma subsampling alone costs a few dB.
    """
    want = av_to_rgb(rgb_to_av(rgb_out, "yuv420p"))
    diff = np.abs(got.astype(float) - want)
    print(f"psnr {_psnr(got, want):.2f} dB, mean {diff.mean():.3f}, "
          f"vs raw RGB {_psnr(got, rgb_out):.2f} dB")
    assert _psnr(got, want) > 35  # measured 35.8-44.2 dB (see the report)
    assert diff.mean() < 2.5  # measured 1.06-2.20 levels


def _hazy(seed: int, airlight: tuple[float, float, float], shape: tuple[int, int] = (120, 160),
          ) -> np.ndarray:
    return to_u8(add_haze(textured_scene(*shape, seed), np.array(airlight), 1.8)[0])


@pytest.mark.parametrize("params", [
    {"subsample": 4},                                   # linear path, s even
    {},                                                 # linear path, s = 1
    {"subsample": 3, "brightness": 1.0},               # tone curve: fused RGB kernel
    {"subsample": 4, "airlight": "quadtree", "t_tau": 0.2},
])
def test_yuv_path_matches_rgb_path_on_decoded_video(tmp_path: Path, params: dict) -> None:
    images = [_hazy(k % 2, (0.85, 0.88, 0.92)) for k in range(4)]
    frames = _encode(tmp_path / "hazy.mp4", images)
    proc = DehazeProcessor(**params)
    ref = Dehazer(**params)
    gammas = []
    for f in frames:
        out = proc(f)
        assert out.av_frame is not None and out.av_frame.format.name == "yuv420p"
        want = ref.process(f.image, timestamp=f.time)
        got = proc.dehazer.last
        assert got is not None and got.planes is not None
        # same temporal state: airlight, strength and cuts follow the RGB path
        np.testing.assert_allclose(got.airlight, want.airlight, atol=0.01)
        assert abs(got.strength - want.strength) < 0.01 and got.scene_cut == want.scene_cut
        assert abs(got.gamma - want.gamma) < 0.01
        gammas.append(got.gamma)
        _close(out.image, want.image)
    if params.get("brightness") == 1.0:
        assert min(gammas) < 0.95  # the tone curve really was active


def test_yuv_path_with_tinted_airlight(tmp_path: Path) -> None:
    # a strongly tinted airlight left un-neutralised (gains != 1 in the fused
    # kernel are covered by test_recover_yuv_rgb_is_the_rgb_recovery_between_conversions)
    images = [_hazy(3, (0.95, 0.75, 0.45)) for _ in range(3)]
    frames = _encode(tmp_path / "tint.mp4", images)
    params = {"subsample": 4, "airlight_neutral": 0.0, "airlight": "quadtree"}
    proc, ref = DehazeProcessor(**params), Dehazer(**params)
    for f in frames:
        want = ref.process(f.image, timestamp=f.time)
        _close(proc(f).image, want.image)


def _rgb_fallback(frame: Frame, params: dict) -> None:
    out = DehazeProcessor(**params)(frame)
    assert out.av_frame is None  # went through the RGB path
    np.testing.assert_array_equal(out.image, Dehazer(**params)(frame.image, timestamp=frame.time))


def test_odd_sizes_10_bit_and_other_matrices_use_the_rgb_path() -> None:
    img = _hazy(5, (0.85, 0.85, 0.85), (61, 83))
    tb = Fraction(1, 30)
    odd = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")
    _rgb_fallback(Frame(pts=0, time_base=tb, av_frame=odd), {})
    even = np.ascontiguousarray(img[:60, :82])
    deep = av.VideoFrame.from_ndarray(even, format="rgb24").reformat(format="yuv420p10le")
    _rgb_fallback(Frame(pts=0, time_base=tb, av_frame=deep), {})
    for space in (9, 7):  # BT.2020 non-constant luminance, SMPTE 240M
        other = av.VideoFrame.from_ndarray(even, format="rgb24").reformat(format="yuv420p")
        other.colorspace = space
        _rgb_fallback(Frame(pts=0, time_base=tb, av_frame=other), {})


@pytest.mark.parametrize(("space", "full"), [("bt709", False), ("bt709", True),
                                             ("bt601", True)])
@pytest.mark.parametrize("params", [{"subsample": 4}, {"subsample": 3, "brightness": 1.0}])
def test_bt709_and_full_range_video_is_dehazed_on_its_planes(tmp_path: Path, space: str,
                                                             full: bool, params: dict) -> None:
    # HD cameras tag BT.709, many dashcams and webcams (MJPEG) write full range:
    # their planes take the YUV path in their own standard, and the colours are
    # those of the RGB path on the same frames (decoded by swscale with the tags)
    images = [_hazy(k % 2, (0.85, 0.88, 0.92)) for k in range(3)]
    frames = _encode(tmp_path / "hazy.mp4", images, (space, full))
    proc, ref = DehazeProcessor(**params), Dehazer(**params)
    for f in frames:
        planes = f.yuv420()
        assert planes is not None
        assert (planes.colorspace, planes.color_range) == (space, "pc" if full else "tv")
        out = proc(f)
        assert out.av_frame is not None  # the planes' path
        assert (out.av_frame.colorspace, out.av_frame.color_range) == (
            f.av_frame.colorspace, f.av_frame.color_range)
        want = ref.process(f.image, timestamp=f.time)
        got = proc.dehazer.last
        assert got is not None
        np.testing.assert_allclose(got.airlight, want.airlight, atol=0.01)
        assert abs(got.strength - want.strength) < 0.01
        # the guided filter's guide is the standard's luma: BT.709's weights
        # differ from the RGB path's BT.601 grey (measured 0.020 apart)
        assert abs(got.gamma - want.gamma) < (0.01 if space == "bt601" else 0.03)
        _close(out.image, want.image)


def test_planes_read_with_the_wrong_standard_come_out_in_the_wrong_colours(tmp_path: Path,
                                                                           ) -> None:
    # the check above can fail: BT.709 planes dehazed as BT.601 are far off
    images = [_hazy(1, (0.85, 0.88, 0.92))]
    (f,) = _encode(tmp_path / "hazy.mp4", images, ("bt709", False))
    planes = f.yuv420()
    assert planes is not None
    want = Dehazer(subsample=4).process(f.image).image
    res = Dehazer(subsample=4).process_yuv420(planes.y, planes.u, planes.v, colorspace="bt601")
    assert res.planes is not None
    got = av_to_rgb(Frame(pts=0, time_base=Fraction(1, 30), av_frame=f.av_frame)
                    .replace_yuv420(*res.planes).av_frame)
    wrong = _psnr(got, av_to_rgb(rgb_to_av(want, "yuv420p")))
    print(f"read as BT.601: {wrong:.2f} dB")
    assert wrong < 33


def test_process_yuv420_validates_planes() -> None:
    d = Dehazer()
    y = np.zeros((4, 6), np.uint8)
    c = np.zeros((2, 3), np.uint8)
    with pytest.raises(ValueError, match="even"):
        d.process_yuv420(np.zeros((3, 6), np.uint8), c, c)
    with pytest.raises(ValueError, match="chroma"):
        d.process_yuv420(y, np.zeros((2, 2), np.uint8), c)
    with pytest.raises(ValueError, match="uint8"):
        d.process_yuv420(y.astype(np.uint16), c, c)
    res = d.process_yuv420(y, c, c)
    assert res.image is None and res.planes is not None
    assert [p.shape for p in res.planes] == [(4, 6), (2, 3), (2, 3)]
    with pytest.raises(ValueError, match="colorspace 'bt2020nc'.*one of bt601"):
        d.process_yuv420(y, c, c, colorspace="bt2020nc")
    with pytest.raises(ValueError, match="color_range 'full range'"):
        d.process_yuv420(y, c, c, color_range="full range")
    for space, rng in (("smpte170m", "mpeg"), ("bt470bg", "jpeg"), ("bt709", "pc")):
        assert d.process_yuv420(y, c, c, colorspace=space, color_range=rng).planes is not None


def test_planes_of_mixed_read_only_flags_use_the_warmed_recovery():
    # A decoder hands read-only planes; one whose rows it padded is copied,
    # writable. Numba compiles a kernel per mix of the flags, and a clip whose
    # chroma was copied beside its read-only luma compiled the recovery for
    # 6 s mid-run after `vidclear compile` (trial 60), which warms one layout
    # (warm_yuv_recovery): every plane goes in read-only now.
    from vidclear.dehaze.dehazer import warm_yuv_recovery

    warm_yuv_recovery()
    known = {k: set(getattr(_ky, k).signatures)
             for k in ("recover_yuv_linear", "recover_yuv_rgb")}
    scene = textured_scene(96, 128, 3)
    for air in ([0.8, 0.8, 0.82], [0.9, 0.75, 0.5]):  # a warm cast: gains, through RGB
        hazy = to_u8(add_haze(scene, np.array(air), beta=1.2, sky=0.0)[0])
        yuv = cv2.cvtColor(hazy, cv2.COLOR_RGB2YUV_I420)
        y = yuv[:96].copy()
        u, v = yuv[96:].reshape(2, 48, 64).copy()
        y.flags.writeable = False
        res = Dehazer().process_yuv420(y, u, v, timestamp=0.0)
        assert res.strength > 0
    for name, sigs in known.items():
        assert set(getattr(_ky, name).signatures) == sigs, name


def test_a_read_only_or_writable_image_uses_one_recovery():
    # A read-only array given to dehaze_image compiled the RGB recovery for
    # 6 s after `vidclear compile` (trial 60): inputs go in read-only, so
    # the writable image and the read-only one share one signature.
    from vidclear.dehaze import _kernels as _k

    scene = textured_scene(96, 128, 3)
    hazy = to_u8(add_haze(scene, np.array([0.8, 0.8, 0.82]), beta=1.2, sky=0.0)[0])
    assert Dehazer().process(hazy).strength > 0
    known = set(_k.recover.signatures)
    frozen = hazy.copy()
    frozen.flags.writeable = False
    out = Dehazer().process(frozen).image
    assert set(_k.recover.signatures) == known
    np.testing.assert_array_equal(out, Dehazer().process(hazy).image)
