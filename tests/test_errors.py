"""Bad arrays and bad parameters through the public API: vidclear's own errors, also ValueError.

The CLI reports every VidclearError as the user's mistake (one line, exit 1 or
2); a bare ValueError would be reported as an internal error (exit 3).
"""

from __future__ import annotations

import numpy as np
import pytest

import vidclear
from vidclear import enhance, metrics
from vidclear.errors import ArrayError, ConfigError, HDRInputError, VidclearError
from vidclear.kernels import box_filter, fast_guided_filter

BAD_ARRAYS = [
    np.zeros((8, 8, 3), np.int32),                      # an unsupported dtype
    np.zeros((8, 8, 5), np.uint8),                      # five channels
    np.zeros((0, 8, 3), np.uint8),                      # empty
    np.full((8, 8, 3), np.nan, np.float32),             # NaN
]


@pytest.mark.parametrize("image", BAD_ARRAYS, ids=["int32", "5ch", "empty", "nan"])
def test_dehaze_image_refuses_bad_arrays_with_an_array_error(image):
    with pytest.raises(ArrayError) as info:
        vidclear.dehaze_image(image)
    assert isinstance(info.value, ValueError) and isinstance(info.value, VidclearError)


@pytest.mark.parametrize("fn", [enhance.clahe, enhance.equalize_hist, enhance.ace, enhance.msrcr])
def test_enhancers_refuse_an_int32_image(fn):
    with pytest.raises(ArrayError):
        fn(np.zeros((8, 8, 3), np.int32))


def test_kernels_and_metrics_refuse_bad_arrays_and_parameters():
    with pytest.raises(ArrayError):
        box_filter(np.zeros((4, 4, 4, 4), np.float32), radius=1)
    with pytest.raises(ConfigError):
        box_filter(np.zeros((8, 8), np.float32), radius=-1)
    with pytest.raises(ArrayError):
        fast_guided_filter(np.zeros((8, 8), np.float32), np.zeros((9, 9), np.float32),
                           radius=2, eps=1e-3, subsample=1)
    with pytest.raises(ArrayError):
        metrics.psnr(np.zeros((4, 4), np.uint8), np.zeros((5, 5), np.uint8))
    with pytest.raises(ConfigError):
        metrics.psnr(np.zeros((4, 4), np.uint8), np.zeros((4, 4), np.uint8), data_range=-1)


def test_hdr_refuses_a_mismatched_bracket():
    from vidclear.hdr import merge_Debevec1997

    imgs = [np.zeros((8, 8, 3), np.uint8), np.zeros((9, 9, 3), np.uint8)]
    with pytest.raises(HDRInputError) as info:
        merge_Debevec1997(imgs, [1.0, 2.0])
    assert isinstance(info.value, ArrayError)


def test_the_cli_calls_a_bad_array_the_users_mistake(tmp_path, capsys):
    """A processor that hands dehaze_image an int32 frame: exit 1, one line, not 'internal'."""
    from tests.media import make_clip
    from vidclear.cli.main import main
    from vidclear.processors.basic import CopyConfig

    @vidclear.register_processor
    class Int32Dehaze(vidclear.Processor[CopyConfig]):
        name = "int32_dehaze"
        Config = CopyConfig

        def __call__(self, frame):
            return frame.replace(vidclear.dehaze_image(frame.image.astype(np.int32)))

    clip = make_clip(tmp_path / "in.mp4", n=3, size=(32, 24))
    code = main(["run", str(clip), "-o", str(tmp_path / "o.mp4"), "-q",
                 "--set", 'pipeline.processors=["int32_dehaze"]'])
    err = capsys.readouterr().err.strip()
    assert code == 1, err
    assert err.startswith("vidclear: error: ") and "int32" in err and "\n" not in err
    assert "internal error" not in err and not (tmp_path / "o.mp4").exists()
