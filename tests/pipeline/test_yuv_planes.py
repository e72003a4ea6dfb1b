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
        y, u, v = planes
        return frame.replace_yuv420(255 - y, u, v)


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
