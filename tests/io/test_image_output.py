"""Single pictures in and out: FFmpeg's image2 demuxer and muxer."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.media import moving_frame
from vidclear import load_config, transcode
from vidclear.errors import OutputError


@pytest.mark.parametrize("deep", [False, True])
def test_png_round_trip_is_lossless(tmp_path, deep):
    rgb = moving_frame(2, 97, 61, deep=deep)  # odd size on purpose
    src = tmp_path / "in.png"
    cv2.imwrite(str(src), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    out = tmp_path / "out.png"
    stats = transcode(str(src), out)
    assert stats.frames_out == 1
    back = cv2.cvtColor(cv2.imread(str(out), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGR2RGB)
    assert back.dtype == rgb.dtype
    np.testing.assert_array_equal(back, rgb)


def test_processed_picture_keeps_its_size(tmp_path):
    rgb = moving_frame(4, 120, 80)
    src = tmp_path / "in.png"
    cv2.imwrite(str(src), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    out = tmp_path / "out.jpg"
    transcode(str(src), out, config=load_config(
        overrides=['pipeline.processors=["side_by_side"]', "side_by_side.label_before=''",
                   "side_by_side.label_after=''"]))
    back = cv2.cvtColor(cv2.imread(str(out)), cv2.COLOR_BGR2RGB).astype(int)
    assert back.shape == (80, 240, 3)
    # near-lossless JPEG (q 2): both halves close to the input
    assert np.abs(back[:, :120] - rgb).mean() < 3 and np.abs(back[:, 120:] - rgb).mean() < 3


def test_image_sequences_are_refused(tmp_path):
    src = tmp_path / "in.png"
    cv2.imwrite(str(src), np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(OutputError, match="image sequences"):
        transcode(str(src), tmp_path / "out_%04d.png")


def test_a_clip_to_one_picture_holds_its_last_frame(tmp_path):
    # Every frame used to be encoded to PNG in turn (a 5 s clip took 5.6 s
    # against 1.0 s to .mp4); only the last is kept, so only it is encoded.
    import av

    from tests.media import make_clip

    clip = make_clip(tmp_path / "in.mkv", n=12, size=(96, 64), audio=False, codec="ffv1",
                     pix_fmt="yuv444p")
    with av.open(str(clip)) as c:
        last = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)][-1]
    out = tmp_path / "last.png"
    stats = transcode(str(clip), out)
    assert stats.frames_out == 12
    back = cv2.cvtColor(cv2.imread(str(out)), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(back, last)


def test_a_dropped_alpha_channel_is_said(tmp_path, caplog):
    # Trial 89 F7: a transparent PNG came back opaque RGB without a word.
    rgb = moving_frame(3, 64, 48)
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
    rgba[:, :20, 3] = 0
    src = tmp_path / "in.png"
    cv2.imwrite(str(src), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    plain = tmp_path / "plain.png"
    cv2.imwrite(str(plain), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    with caplog.at_level("INFO", logger="vidclear"):
        transcode(str(src), tmp_path / "out.png")
        said = [r.getMessage() for r in caplog.records if "alpha" in r.getMessage()]
        caplog.clear()
        transcode(str(plain), tmp_path / "plain_out.png")
        assert not [r for r in caplog.records if "alpha" in r.getMessage()]
    assert said == ["the input's alpha channel (rgba) is dropped: vidclear processes and "
                    "writes colour only (vidclear.dehaze_image keeps an RGBA image's alpha)"]
    back = cv2.imread(str(tmp_path / "out.png"), cv2.IMREAD_UNCHANGED)
    assert back.shape == (48, 64, 3)  # the colour itself is kept exactly
    np.testing.assert_array_equal(cv2.cvtColor(back, cv2.COLOR_BGR2RGB), rgb)
