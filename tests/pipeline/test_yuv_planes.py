"""Processors that work on the decoder's YUV planes, skipping the RGB round trip."""

from __future__ import annotations

import av
import numpy as np
import pytest

from tests.media import make_clip
from vidclear import Processor, register_processor, transcode
from vidclear.config import load_config
from vidclear.core.convert import yuv420_to_av


@register_processor
class InvertLuma(Processor):
    name = "test_invert_luma"

    def __call__(self, frame):
        planes = frame.yuv420()
        assert planes is not None
        return frame.replace_yuv420(255 - planes.y, planes.u, planes.v)


def _luma(path):
    with av.open(str(path)) as c:
        return [f.to_ndarray()[: f.height].astype(int) for f in c.decode(video=0)]


def test_plane_processor_output_is_encoded_without_rgb(tmp_path):
    src = make_clip(tmp_path / "in.mp4", n=6, audio=False)
    out = tmp_path / "out.mp4"
    transcode(str(src), out, config=load_config(
        overrides=['pipeline.processors=["test_invert_luma"]', "output.crf=0"]))
    for a, b in zip(_luma(src), _luma(out), strict=True):
        np.testing.assert_array_equal(b, 255 - a)  # lossless: exact, no conversion drift


def test_yuv420_is_none_for_rgb_frames_and_planes_are_checked():
    from vidclear.core import Frame

    assert Frame(np.zeros((4, 4, 3), np.uint8)).yuv420() is None
    with pytest.raises(ValueError, match="even sizes"):
        yuv420_to_av(np.zeros((3, 4), np.uint8), np.zeros((1, 2), np.uint8),
                     np.zeros((1, 2), np.uint8))


def _frame(fmt, space, rng):
    from vidclear.core import Frame

    img = np.full((8, 8, 3), 120, np.uint8)
    f = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format=fmt)
    f.colorspace, f.color_range = space, rng
    return Frame(pts=0, av_frame=f)


@pytest.mark.parametrize(("fmt", "space", "rng", "standard"), [
    ("yuv420p", 2, 0, ("bt601", "tv")),     # untagged: BT.601, as swscale reads it
    ("yuv420p", 5, 1, ("bt601", "tv")),     # BT.470BG
    ("yuv420p", 1, 1, ("bt709", "tv")),
    ("yuv420p", 1, 2, ("bt709", "pc")),
    ("yuvj420p", 2, 0, ("bt601", "pc")),    # MJPEG cameras: full range by format
    ("yuvj420p", 1, 2, ("bt709", "pc")),
    ("yuv420p", 9, 1, None),                # BT.2020
    ("yuv420p10le", 1, 1, None),
    ("yuv422p", 1, 1, None),
])
def test_yuv420_names_the_standard_of_the_planes(fmt, space, rng, standard):
    planes = _frame(fmt, space, rng).yuv420()
    if standard is None:
        assert planes is None
    else:
        assert planes is not None and (planes.colorspace, planes.color_range) == standard
        assert planes.y.shape == (8, 8) and planes.u.shape == planes.v.shape == (4, 4)
        assert not planes.y.flags.writeable


def test_a_full_range_bt709_dashcam_clip_is_dehazed_in_its_own_standard(tmp_path):
    # yuvj420p BT.709 (as many dashcams write it) took the RGB path, with a
    # swscale conversion each way, and came out as limited-range BT.601; its
    # planes are now dehazed as they are and keep their tags
    from tests.dehaze.dehaze_refs import add_haze, textured_scene, to_u8
    from tests.media import ffprobe_streams
    from vidclear.dehaze import Dehazer

    images = [to_u8(add_haze(textured_scene(120, 160, k % 2), np.array([0.85, 0.88, 0.92]),
                             1.8)[0]) for k in range(6)]
    src = tmp_path / "dashcam.mp4"
    with av.open(str(src), "w") as out:
        vs = out.add_stream("libx264", rate=30)
        vs.width, vs.height, vs.pix_fmt = 160, 120, "yuvj420p"
        vs.codec_context.colorspace, vs.codec_context.color_range = 1, 2
        vs.codec_context.options = {"crf": "4", "preset": "ultrafast"}
        for img in images:
            f = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(
                format="yuvj420p", dst_colorspace=1, dst_color_range=2)
            for p in vs.encode(f):
                out.mux(p)
        for p in vs.encode(None):
            out.mux(p)
    dst = tmp_path / "out.mp4"
    transcode(str(src), dst, config=load_config(
        overrides=['pipeline.processors=["dehaze"]', "output.crf=4"]))
    (video,) = [s for s in ffprobe_streams(dst)["streams"] if s["codec_type"] == "video"]
    assert (video["color_space"], video["color_range"]) == ("bt709", "pc")
    assert int(video["nb_read_frames"]) == 6
    # the colours (decoded by PyAV with the tags) are the RGB path's on the same frames
    ref = Dehazer()
    with av.open(str(src)) as a, av.open(str(dst)) as b:
        pairs = list(zip(a.decode(video=0), b.decode(video=0), strict=True))
    for fin, fout in pairs:
        want = ref.process(fin.to_ndarray(format="rgb24"), timestamp=float(fin.time)).image
        got = fout.to_ndarray(format="rgb24")
        mse = np.mean((got.astype(float) - want.astype(float)) ** 2)
        print(f"{10 * np.log10(255**2 / mse):.2f} dB")
        assert 10 * np.log10(255**2 / mse) > 33
