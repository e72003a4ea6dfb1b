"""The fast YUV/RGB conversions agree with FFmpeg's swscale."""

from __future__ import annotations

import av
import numpy as np
import pytest

from tests.media import ffprobe_streams, make_clip, moving_frame
from vidclear import load_config, transcode
from vidclear.core.convert import av_to_rgb, rgb_to_av


def _yuv(img: np.ndarray) -> av.VideoFrame:
    return av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")


def test_yuv_to_rgb_matches_swscale():
    frame = _yuv(moving_frame(3, 320, 240))
    ours = av_to_rgb(frame).astype(int)
    ref = frame.to_ndarray(format="rgb24").astype(int)
    assert ours.shape == (240, 320, 3)
    # OpenCV rounds slightly differently (about +1 level); never more than 3.
    assert np.abs(ours - ref).max() <= 3 and np.abs(ours - ref).mean() < 1.5


def test_rgb_to_yuv_matches_swscale():
    img = moving_frame(5, 320, 240)
    ours = rgb_to_av(img, "yuv420p")
    assert ours.format.name == "yuv420p"
    y_ours = ours.to_ndarray()[:240].astype(int)
    y_ref = _yuv(img).to_ndarray()[:240].astype(int)
    assert np.abs(y_ours - y_ref).max() <= 2  # luma: same BT.601 limited-range matrix
    back = av_to_rgb(ours).astype(int)
    assert np.abs(back - img.astype(int)).mean() < 4  # round trip through 4:2:0


@pytest.mark.parametrize(("size", "pix_fmt"), [((161, 121), "yuv420p"), ((160, 120), "yuv444p")])
def test_other_layouts_fall_back_to_swscale(size, pix_fmt):
    img = moving_frame(1, *size)
    frame = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format=pix_fmt)
    ours = av_to_rgb(frame)
    np.testing.assert_array_equal(ours, frame.to_ndarray(format="rgb24"))
    assert rgb_to_av(img, pix_fmt).format.name == "rgb24"


def test_converted_output_is_tagged_bt601(tmp_path):
    src = make_clip(tmp_path / "in.mp4", n=4, audio=False)
    out = tmp_path / "out.mp4"
    transcode(str(src), out, config=load_config(
        overrides=['pipeline.processors=["side_by_side"]']))
    v = ffprobe_streams(out)["streams"][0]
    assert v.get("color_space") == "smpte170m" and v.get("color_range") == "tv"
