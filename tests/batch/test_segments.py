"""A long file in keyframe segments matches one sequential pass.

Both runs encode losslessly (x264 crf 0, one thread) so that only the
processing can differ, and the dehaze state's memory (airlight median window,
smoothing, outlier hold) is shorter than the 1.5 s overlap, with the density
hysteresis off (hysteresis is path-dependent: no finite warm-up reproduces it
exactly). Tolerances: mean absolute difference <= 0.5 levels per frame; the
mean luminance of the frames around each seam within 0.3 levels of the
one-pass output, and the luminance change across a seam no larger than the
largest frame-to-frame change of the one-pass output plus 0.3 (no step).
With lossy encoding, expect about 3-4 levels of encoder noise on top (the
encoder restarts its GOP and rate control at each cut).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from media import (
    ffprobe_frame_times,
    ffprobe_packets,
    ffprobe_streams,
    remux,
    srt_dump,
    subtitled_clip,
)

from vidclear.batch import BatchOptions, run_batch
from vidclear.batch.segments import plan_segments
from vidclear.io.sources.trip import written_by_vidclear

SETTINGS = ['pipeline.processors=["dehaze"]', "dehaze.airlight_tau=0.3",
            "dehaze.airlight_hold=0.3", "dehaze.airlight_window=0.3", "dehaze.airlight_rate=1.0",
            "dehaze.auto_hysteresis=0", "output.threads=1", "output.crf=0"]


def decode(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def luma(img: np.ndarray) -> float:
    return float((img.astype(np.float64) @ [0.299, 0.587, 0.114]).mean())


@pytest.fixture(scope="module")
def segmented_and_sequential(clips: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("seg")
    src = clips / "long.mp4"
    seg = run_batch([str(src)], BatchOptions(outdir=out / "seg", overrides=SETTINGS, jobs=2,
                                             segment_seconds=1.0, overlap=1.5,
                                             progress=False))
    seq = run_batch([str(src)], BatchOptions(outdir=out / "seq", overrides=SETTINGS, jobs=1,
                                             segment_seconds=0, progress=False))
    return src, seg, seq, out / "seg" / "long.mp4", out / "seq" / "long.mp4"


def test_plan_cuts_at_keyframes(clips: Path) -> None:
    segs = plan_segments(clips / "long.mp4", segment_seconds=1.0, overlap=1.0)
    assert segs is not None and len(segs) == 4
    tb = segs[0].time_base
    starts = [float(s.start * tb) for s in segs]
    np.testing.assert_allclose(starts, [0.0, 1.0, 2.0, 3.0], atol=1e-6)  # GOP = 25 frames
    assert sum(s.frames for s in segs) == 100
    assert segs[0].warm is None and all(s.warm is not None for s in segs[1:])
    assert plan_segments(clips / "long.mp4", segment_seconds=3.0, overlap=1.0) is None


def test_segments_match_one_pass(segmented_and_sequential) -> None:
    src, seg, seq, seg_out, seq_out = segmented_and_sequential
    assert seg["files"][0]["status"] == "done" and seg["files"][0]["segments"] == 4
    assert seg["files"][0]["warm_frames"] > 0
    assert seq["files"][0]["status"] == "done" and "segments" not in seq["files"][0]
    a, b = decode(seg_out), decode(seq_out)
    assert len(a) == len(b) == 100
    diffs = [np.abs(x.astype(np.int16) - y).mean() for x, y in zip(a, b, strict=True)]
    assert max(diffs) <= 0.5, max(diffs)
    # Dehazing really changed the picture (so the comparison is not trivial); it keeps
    # the exposure close, so the change is in contrast and colour, not mean brightness.
    change = np.abs(decode(src)[50].astype(np.int16) - b[50]).mean()
    assert change > 5, change


def test_timestamps_continuous_and_audio_identical(segmented_and_sequential) -> None:
    src, _, _, seg_out, seq_out = segmented_and_sequential
    t_seg, t_seq = ffprobe_frame_times(seg_out), ffprobe_frame_times(seq_out)
    np.testing.assert_allclose(t_seg, t_seq, atol=1e-6)
    steps = np.diff(t_seg)
    np.testing.assert_allclose(steps, 1 / 25, atol=1e-6)
    audio = [(p["pts"], p["size"], p["data_hash"]) for p in ffprobe_packets(seg_out, "a:0")]
    assert audio == [(p["pts"], p["size"], p["data_hash"])
                     for p in ffprobe_packets(seq_out, "a:0")]
    assert audio == [(p["pts"], p["size"], p["data_hash"]) for p in ffprobe_packets(src, "a:0")]


def test_no_brightness_step_at_seams(segmented_and_sequential) -> None:
    _, _, _, seg_out, seq_out = segmented_and_sequential
    ya = np.array([luma(f) for f in decode(seg_out)])
    yb = np.array([luma(f) for f in decode(seq_out)])
    typical = np.abs(np.diff(yb)).max()
    for seam in (25, 50, 75):
        window = slice(seam - 3, seam + 3)
        assert np.abs(ya[window] - yb[window]).max() < 0.3
        assert abs(ya[seam] - ya[seam - 1]) <= typical + 0.3


def test_cold_segments_would_step(clips: Path, tmp_path: Path) -> None:
    """Control: with no overlap the seams do show up, so the test above can fail."""
    src = clips / "long.mp4"
    cold = run_batch([str(src)], BatchOptions(outdir=tmp_path / "cold", overrides=SETTINGS,
                                              jobs=2, segment_seconds=1.0, overlap=0.0,
                                              progress=False))
    warm = run_batch([str(src)], BatchOptions(outdir=tmp_path / "warm", overrides=SETTINGS,
                                              jobs=1, segment_seconds=0, progress=False))
    assert cold["files"][0]["segments"] == 4 and warm["files"][0]["status"] == "done"
    ya = np.array([luma(f) for f in decode(tmp_path / "cold" / "long.mp4")])
    yb = np.array([luma(f) for f in decode(tmp_path / "warm" / "long.mp4")])
    assert max(abs(ya[s] - yb[s]) for s in (25, 50, 75)) > 0.3


def _segmented_and_whole(src: Path, tmp_path: Path, overrides: list[str],
                         suffix: str | None = None) -> tuple[Path, Path]:
    """``src`` through batch in 1 s segments (overlap 1 s) and whole; both must succeed."""
    seg = run_batch([str(src)], BatchOptions(outdir=tmp_path / "seg", overrides=overrides,
                                             jobs=2, segment_seconds=1.0, overlap=1.0,
                                             suffix=suffix, progress=False))
    one = run_batch([str(src)], BatchOptions(outdir=tmp_path / "one", overrides=overrides,
                                             jobs=1, segment_seconds=0, suffix=suffix,
                                             progress=False))
    assert seg["files"][0]["status"] == "done", seg["files"][0]
    assert one["files"][0]["status"] == "done", one["files"][0]
    name = src.with_suffix(suffix).name if suffix else src.name
    return tmp_path / "seg" / name, tmp_path / "one" / name


def test_a_late_starting_input_is_joined_in_step_from_0(clips: Path, tmp_path: Path) -> None:
    # Segments keep the source's timestamps for the join; the joined file then
    # starts at 0 as a whole run's output does, its audio shifted alike.
    late = remux(clips / "long.mp4", tmp_path / "late.mkv", shift=11.4)
    fast = ['pipeline.processors=["copy"]', "output.threads=1", "output.preset=ultrafast"]
    seg, one = _segmented_and_whole(late, tmp_path, fast)
    t_seg, t_one = ffprobe_frame_times(seg), ffprobe_frame_times(one)
    assert t_one[0] == pytest.approx(0.0, abs=0.05)
    np.testing.assert_allclose(t_seg, t_one, atol=1e-3)
    a_seg = [float(p["pts_time"]) for p in ffprobe_packets(seg, "a:0")]
    a_one = [float(p["pts_time"]) for p in ffprobe_packets(one, "a:0")]
    np.testing.assert_allclose(a_seg, a_one, atol=1e-3)
    assert a_one[0] == pytest.approx(0.0, abs=0.05)


def test_segments_starting_off_a_whole_millisecond_keep_exact_times(tmp_path: Path) -> None:
    # An MP4 part holds its start in an edit list in the movie's timescale
    # (1/1000 s by default): at 24 fps with keyframes every 13 frames the
    # segments started at 1.083333 s and every frame after the first seam moved
    # by up to 0.65 ms (trial 37). Compared at ffprobe's full precision.
    import subprocess

    src = tmp_path / "alt.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=96x64:rate=24:duration=3.3", "-c:v", "libx264", "-preset",
                    "ultrafast", "-g", "13", "-keyint_min", "13", "-sc_threshold", "0",
                    "-video_track_timescale", "12288", str(src)], check=True, timeout=60)
    fast = ['pipeline.processors=["copy"]', "output.threads=1", "output.preset=ultrafast"]
    seg, one = _segmented_and_whole(src, tmp_path, fast)
    t_src, t_seg, t_one = (ffprobe_frame_times(p) for p in (src, seg, one))
    assert len(t_seg) == len(t_src) == 80
    assert t_seg == t_one == t_src, [(a, b) for a, b in zip(t_seg, t_src, strict=True)
                                     if a != b][:3]


def test_matroska_segments_are_joined(clips: Path, tmp_path: Path) -> None:
    # Matroska stores no DTS: with B-frames the join's muxer refused the
    # packets ("Invalid argument") and every .mkv longer than a segment failed.
    mkv = remux(clips / "long.mp4", tmp_path / "long.mkv")
    fast = ['pipeline.processors=["copy"]', "output.threads=1",
            "output.preset=veryfast"]  # B-frames on (ultrafast has none)
    seg, one = _segmented_and_whole(mkv, tmp_path, fast)
    t_seg, t_one = ffprobe_frame_times(seg), ffprobe_frame_times(one)
    assert len(t_seg) == len(t_one) == 100
    np.testing.assert_allclose(t_seg, t_one, atol=1e-3)
    assert written_by_vidclear(str(seg)) and written_by_vidclear(str(one))  # marked


def test_hevc_stays_tagged_hvc1_through_the_join(clips: Path, tmp_path: Path) -> None:
    # Apple's players need HEVC in MP4 tagged 'hvc1'; the join copied the
    # video under FFmpeg's default 'hev1' (trial 85 F12)
    seg = run_batch([str(clips / "long.mp4")], BatchOptions(
        outdir=tmp_path, overrides=['pipeline.processors=["copy"]', "output.codec=libx265"],
        jobs=2, segment_seconds=1.0, overlap=0.0, progress=False))
    assert seg["files"][0]["status"] == "done" and seg["files"][0]["segments"] >= 2, seg
    (video,) = [s for s in ffprobe_streams(tmp_path / "long.mp4")["streams"]
                if s["codec_type"] == "video"]
    assert (video["codec_name"], video["codec_tag_string"]) == ("hevc", "hvc1")


def test_a_pcm_avis_segments_are_joined_into_mov(tmp_path: Path) -> None:
    # A dashcam's AVI stores its PCM stereo as "2 channels" with no layout:
    # the join's MP4 muxer failed at the trailer (trial 81 F1); the join
    # gives it FFmpeg's guess, stereo, as a whole run does.
    src = tmp_path / "dash.avi"
    subprocess.run([shutil.which("ffmpeg") or "ffmpeg", "-v", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=96x64:rate=30", "-f", "lavfi", "-i", "sine=f=440:r=48000",
                    "-t", "3", "-c:v", "mjpeg", "-c:a", "pcm_s16le", "-ac", "2", str(src)],
                   check=True, timeout=60)
    fast = ['pipeline.processors=["copy"]', "output.threads=1", "output.preset=ultrafast"]
    seg, one = _segmented_and_whole(src, tmp_path, fast, suffix=".mov")
    audio = ffprobe_streams(seg)["streams"][1]
    assert (audio["codec_name"], audio["channel_layout"]) == ("pcm_s16le", "stereo")
    a_seg, a_one = ffprobe_packets(seg, "a:0"), ffprobe_packets(one, "a:0")
    assert len(a_seg) == len(a_one) > 0
    assert [p["pts_time"] for p in a_seg] == [p["pts_time"] for p in a_one]
    assert len(ffprobe_frame_times(seg)) == 90


@pytest.mark.parametrize("late", [0.0, 11.4])
def test_text_subtitles_are_converted_at_the_join(tmp_path: Path, late: float) -> None:
    # SubRip GPS captions of a long MKV into .mp4: the join refused them after
    # every segment had run; converted to timed text as a whole run does. (A
    # source starting late had its last cue shifted twice and the join failed,
    # "Invalid argument": found in review.)
    src = subtitled_clip(tmp_path / "dash.mkv", "1\n00:00:00,500 --> 00:00:02,000\nN 51.50\n\n"
                         "2\n00:00:02,000 --> 00:00:02,900\nN 51.51\n\n", codec="srt",
                         extra=("-bf", "0", "-g", "30"))  # (remux copies packets with a DTS)
    if late:
        src = remux(src, tmp_path / "late.mkv", shift=late)
    fast = ['pipeline.processors=["copy"]', "output.threads=1", "output.preset=ultrafast"]
    seg, one = _segmented_and_whole(src, tmp_path, fast, suffix=".mp4")
    assert srt_dump(seg) == srt_dump(one) != ""
    report = json.loads((tmp_path / "seg" / "batch-report.json").read_text())
    assert report["files"][0]["segments"] >= 2  # it was cut and joined
    if not late:
        assert srt_dump(seg) == srt_dump(src)


@pytest.mark.parametrize("trc", ["arib-std-b67", "smpte2084"])
def test_a_processed_hdr_videos_transfer_and_primaries_survive_the_join(tmp_path: Path,
                                                                       trc: str) -> None:
    # A processed picture is converted from RGB to BT.601 YUV, and its
    # transfer and primaries (HLG or PQ, BT.2020) are the source's, read from
    # its decoder: a segment's source had none to ask, and the joined file was
    # tagged "unknown", shown as SDR (trial 179 F3).
    src = tmp_path / "hdr.mkv"
    subprocess.run([shutil.which("ffmpeg") or "ffmpeg", "-v", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=96x64:rate=25:d=3", "-c:v", "libx265", "-x265-params",
                    "log-level=error:keyint=25", "-pix_fmt", "yuv420p10le",
                    "-color_primaries", "bt2020", "-color_trc", trc, "-colorspace", "bt2020nc",
                    str(src)], check=True, timeout=60)
    seg, one = _segmented_and_whole(src, tmp_path, [*SETTINGS, "output.preset=ultrafast"])

    def tags(path: Path) -> tuple[str, str, str]:
        v = ffprobe_streams(path)["streams"][0]
        return v.get("color_space"), v.get("color_transfer"), v.get("color_primaries")

    assert tags(src) == ("bt2020nc", trc, "bt2020")
    assert tags(seg) == tags(one) == ("smpte170m", trc, "bt2020"), (tags(seg), tags(one))


def test_tags_and_dispositions_survive_the_join(tmp_path: Path) -> None:
    # A whole run keeps the video's language and title and which track is the
    # default or a commentary, as FFmpeg does; the join of segments set every
    # disposition to 0 and dropped the video's tags (trial 100 F1). And its
    # attached files (trial 101 F2) and its frame rate (F5).
    src = tmp_path / "cam.mkv"
    font = tmp_path / "Caption.ttf"
    font.write_bytes(bytes(range(256)) * 40)
    subprocess.run([shutil.which("ffmpeg") or "ffmpeg", "-v", "error",
                    "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25:d=3",
                    "-f", "lavfi", "-i", "sine=f=440:d=3", "-f", "lavfi", "-i", "sine=f=660:d=3",
                    "-map", "0", "-map", "1", "-map", "2", "-c:v", "libx264", "-g", "25",
                    "-c:a", "aac", "-metadata:s:v:0", "language=deu",
                    "-metadata:s:v:0", "title=Front camera", "-metadata:s:a:1", "language=eng",
                    "-disposition:a:0", "0", "-disposition:a:1", "default+comment",
                    "-attach", str(font), "-metadata:s:t", "mimetype=font/ttf",
                    str(src)], check=True, timeout=60)
    fast = ['pipeline.processors=["copy"]', "output.threads=1", "output.preset=ultrafast"]
    seg, one = _segmented_and_whole(src, tmp_path, fast, suffix=".mkv")

    def marks(path: Path) -> list[tuple]:
        return [(s["codec_type"], s["disposition"]["default"], s["disposition"]["comment"],
                 {k.lower(): v for k, v in s.get("tags", {}).items()}.get("language"),
                 s.get("tags", {}).get("title"))
                for s in ffprobe_streams(path)["streams"] if s["codec_type"] != "attachment"]

    def attached(path: Path) -> list[tuple[str, str, bytes]]:
        with av.open(str(path)) as c:
            return [(s.name, s.mimetype, bytes(s.data)) for s in c.streams
                    if s.type == "attachment"]


    assert marks(seg) == marks(one) == marks(src) == [("video", 0, 0, "deu", "Front camera"),
                                                      ("audio", 0, 0, None, None),
                                                      ("audio", 1, 1, "eng", None)], marks(seg)
    assert attached(seg) == attached(one) == [("Caption.ttf", "font/ttf", font.read_bytes())]
    # and the rate: made from a segment's template, the joined video declared
    # a 1 ms default frame duration (trial 101 F5)
    rates = [(v["r_frame_rate"], v["avg_frame_rate"])
             for v in (ffprobe_streams(p)["streams"][0] for p in (seg, one, src))]
    assert rates == [("25/1", "25/1")] * 3, rates
    report = json.loads((tmp_path / "seg" / "batch-report.json").read_text())
    assert report["files"][0]["segments"] == 3  # it was cut


@pytest.mark.parametrize("suffix", [".mov", ".mkv"])
def test_the_start_timecode_survives_the_join(tmp_path: Path, suffix: str) -> None:
    # A whole run keeps a MOV's start timecode (a tmcd track, or Matroska's
    # tag); the join of its segments lost it without a word (trial 83 F2).
    src = tmp_path / "cam.mov"
    subprocess.run([shutil.which("ffmpeg") or "ffmpeg", "-v", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=96x64:rate=25:d=3", "-timecode", "10:00:00:00",
                    "-c:v", "libx264", "-g", "25", str(src)], check=True, timeout=60)
    fast = ['pipeline.processors=["copy"]', "output.threads=1", "output.preset=ultrafast"]
    seg, one = _segmented_and_whole(src, tmp_path, fast, suffix=suffix)

    def timecode(path: Path) -> str | None:
        video = ffprobe_streams(path)["streams"][0]
        return {k.lower(): v for k, v in video.get("tags", {}).items()}.get("timecode")

    assert timecode(seg) == timecode(one) == "10:00:00:00"
    assert len(ffprobe_frame_times(seg)) == 75
    report = json.loads((tmp_path / "seg" / "batch-report.json").read_text())
    assert report["files"][0]["segments"] == 3  # it was cut


def test_chapters_survive_the_join(tmp_path: Path) -> None:
    # A whole run keeps the input's chapters (trial 106 F4), and so does the
    # join of its segments, on the joined file's clock.
    meta = tmp_path / "chapters.txt"
    meta.write_text(";FFMETADATA1\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=1200\ntitle=A\n"
                    "[CHAPTER]\nTIMEBASE=1/1000\nSTART=1200\nEND=3000\ntitle=B\n")
    src = tmp_path / "cam.mkv"
    subprocess.run([shutil.which("ffmpeg") or "ffmpeg", "-v", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=96x64:rate=25:d=3", "-i", str(meta), "-map", "0:v",
                    "-map_chapters", "1", "-c:v", "libx264", "-g", "25", str(src)],
                   check=True, timeout=60)
    fast = ['pipeline.processors=["copy"]', "output.threads=1", "output.preset=ultrafast"]
    seg, one = _segmented_and_whole(src, tmp_path, fast)

    def chapters(path: Path) -> list[tuple[float, float, str]]:
        with av.open(str(path)) as c:
            return [(round(float(ch["start"] * ch["time_base"]), 3),
                     round(float(ch["end"] * ch["time_base"]), 3), ch["metadata"].get("title"))
                    for ch in c.chapters()]

    assert chapters(seg) == chapters(one) == [(0.0, 1.2, "A"), (1.2, 3.0, "B")]
    report = json.loads((tmp_path / "seg" / "batch-report.json").read_text())
    assert report["files"][0]["segments"] == 3  # it was cut


def test_a_segmented_file_says_what_a_whole_run_says_once(tmp_path: Path) -> None:
    # A segment's notes of its source and encoder were dropped: a 10-bit
    # file with a second camera, cut into segments, said nothing of either
    # (trial 111 F4). Now the join says what the whole run says, once, with
    # the output's name where the segment's run named its part.
    src = tmp_path / "two.mkv"
    subprocess.run([shutil.which("ffmpeg") or "ffmpeg", "-v", "error",
                    "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25:d=3",
                    "-f", "lavfi", "-i", "testsrc=size=64x48:rate=25:d=3", "-map", "0", "-map",
                    "1", "-c:v", "libx264", "-pix_fmt", "yuv420p10le", "-g", "25", str(src)],
                   check=True, timeout=60)
    fast = ['pipeline.processors=["copy"]', "output.threads=1", "output.preset=ultrafast"]
    _segmented_and_whole(src, tmp_path, fast)
    said = {}
    for run in ("seg", "one"):
        entry = json.loads((tmp_path / run / "batch-report.json").read_text())["files"][0]
        said[run] = entry.get("notes", [])
    assert json.loads((tmp_path / "seg" / "batch-report.json").read_text()
                      )["files"][0]["segments"] == 3
    assert any("1 more video stream" in n for n in said["one"]), said["one"]
    assert any("written as 8-bit" in n for n in said["one"]), said["one"]
    assert said["seg"] == said["one"]


def test_the_join_copies_the_sound_of_the_videos_program(tmp_path: Path) -> None:
    # A broadcast TS of two programs: the join copied every stream of the
    # source, both programs' sound beside program 1's picture (trial 110 F4,
    # as a whole run did); now the picture's program alone, as FFmpeg does.
    src = tmp_path / "two.ts"
    subprocess.run([shutil.which("ffmpeg") or "ffmpeg", "-v", "error",
                    "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25:d=3",
                    "-f", "lavfi", "-i", "sine=frequency=500:d=3",
                    "-f", "lavfi", "-i", "testsrc=size=96x64:rate=25:d=3",
                    "-f", "lavfi", "-i", "sine=frequency=1500:d=3", "-map", "0", "-map", "1",
                    "-map", "2", "-map", "3", "-c:v", "libx264", "-g", "25", "-c:a", "aac",
                    "-program", "program_num=1:st=0:st=1", "-program",
                    "program_num=2:st=2:st=3", str(src)], check=True, timeout=60)
    fast = ['pipeline.processors=["copy"]', "output.threads=1", "output.preset=ultrafast"]
    seg, one = _segmented_and_whole(src, tmp_path, fast, suffix=".mkv")
    entry = json.loads((tmp_path / "seg" / "batch-report.json").read_text())["files"][0]
    assert entry["segments"] == 3
    assert any("holds 2 programs" in n for n in entry["notes"]), entry
    for out in (seg, one):
        with av.open(str(out)) as c:
            assert len(c.streams.audio) == 1, out
            frames = [f for _, f in zip(range(8), c.decode(audio=0), strict=False)]
            samples = np.concatenate([f.to_ndarray()[0] for f in frames]).astype(float)
            rate = frames[0].sample_rate
            peak = np.argmax(np.abs(np.fft.rfft(samples))) * rate / len(samples)
        assert abs(peak - 500) < 50, (out, peak)


def test_segment_notes_name_the_output_and_keep_a_segments_own_note_apart() -> None:
    from vidclear.batch.runner import _segment_notes

    parts = [Path("/o/.seg/part-0000.mp4"), Path("/o/.seg/part-0001.mp4")]
    notes = [["/o/.seg/part-0000.mp4: 8-bit", "haze: dense"],
             ["/o/.seg/part-0001.mp4: 8-bit", "haze: light"]]
    assert _segment_notes(notes, parts, Path("/o/a.mp4")) == [
        "/o/a.mp4: 8-bit", "segment 1: haze: dense", "segment 2: haze: light"]
    assert _segment_notes([], [], Path("/o/a.mp4")) == []


def test_a_segmented_batch_refuses_cut_files_and_runs_joined_or_trimmed_ones_whole(
        tmp_path: Path) -> None:
    # A segment's run reads only its own span: a cut Matroska file came out
    # "done" (trial 111 F1), a trim was ignored (F2), and two recordings
    # joined with cat failed at the join (F3). Now the cut file fails with
    # the reason a whole run gives, and the others run in one piece.
    ffmpeg = shutil.which("ffmpeg") or "ffmpeg"
    src = tmp_path / "in"
    src.mkdir()
    whole = tmp_path / "whole.mkv"
    subprocess.run([ffmpeg, "-v", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=96x64:rate=25:duration=3", "-c:v", "libx264", "-g", "25",
                    str(whole)], check=True, timeout=60)
    data = whole.read_bytes()
    (src / "cut.mkv").write_bytes(data[: len(data) * 9 // 10])
    (src / "joined.mkv").write_bytes(data + data)
    # three parts of FFmpeg's segment muxer, their clock running on: cut into
    # segments on what the demuxer reads (two of them), it came out with 200
    # of 300 frames, "done" (trial 113 F1)
    parts = tmp_path / "parts"
    parts.mkdir()
    subprocess.run([shutil.which("ffmpeg") or "ffmpeg", "-v", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=96x64:rate=25:duration=6", "-c:v", "libx264", "-g", "25",
                    "-f", "segment", "-segment_time", "2", "-segment_format", "matroska",
                    str(parts / "p%d.mkv")], check=True, timeout=60)
    (src / "muxed.mkv").write_bytes(b"".join((parts / f"p{i}.mkv").read_bytes()
                                             for i in range(3)))
    fast = ['pipeline.processors=["copy"]', "output.threads=1", "output.preset=ultrafast"]
    report = run_batch([str(src)], BatchOptions(outdir=tmp_path / "out", overrides=fast,
                                                jobs=2, segment_seconds=1.0, overlap=1.0,
                                                progress=False))
    rows = {Path(r["output"]).name: r for r in report["files"]}
    assert rows["cut.mkv"]["status"] == "failed"
    assert "is truncated: its Matroska segment ends at byte" in rows["cut.mkv"]["error"]
    assert not (tmp_path / "out" / "cut.mkv").exists()
    assert rows["joined.mkv"]["status"] == "done", rows["joined.mkv"]
    assert "clock that goes back" in rows["joined.mkv"]["note"]
    assert len(ffprobe_frame_times(tmp_path / "out" / "joined.mkv")) == 150
    assert rows["muxed.mkv"]["status"] == "failed", rows["muxed.mkv"]
    assert "is 3 Matroska files joined end to end (cat)" in rows["muxed.mkv"]["error"]
    assert not (tmp_path / "out" / "muxed.mkv").exists()
    # with input.allow_truncated, what decodes of the cut file is kept
    kept = run_batch([str(src / "cut.mkv")], BatchOptions(
        outdir=tmp_path / "kept", overrides=[*fast, "input.allow_truncated=true"], jobs=2,
        segment_seconds=1.0, overlap=1.0, progress=False))
    assert kept["files"][0]["status"] == "done", kept["files"][0]
    assert 60 <= len(ffprobe_frame_times(tmp_path / "kept" / "cut.mkv")) < 75
    trimmed = run_batch([str(whole)], BatchOptions(
        outdir=tmp_path / "trim", overrides=[*fast, "input.start=0.5", "input.duration=2"],
        jobs=2, segment_seconds=1.0, overlap=1.0, progress=False))
    assert "it is trimmed" in trimmed["files"][0]["note"]
    assert len(ffprobe_frame_times(tmp_path / "trim" / "whole.mkv")) == 50


def test_mpegts_outputs_of_segments_are_joined(clips: Path, tmp_path: Path) -> None:
    # An MPEG-TS muxer shifts every file it writes by its own start delay:
    # TS parts of an MP4 input could not be joined ("timestamps go backwards
    # at a seam"), so every TS output longer than a segment failed.
    fast = ['pipeline.processors=["copy"]', "output.threads=1", "output.preset=veryfast"]
    seg, one = _segmented_and_whole(clips / "long.mp4", tmp_path, fast, suffix=".ts")
    t_seg, t_one = np.array(ffprobe_frame_times(seg)), np.array(ffprobe_frame_times(one))
    assert len(t_seg) == len(t_one) == 100
    # The TS muxer moves each file by its own decoding delay (B-frames), every
    # stream alike: frame spacing and audio against video are what must agree,
    # to the tick (Matroska parts rounded them to the millisecond: steps of
    # 2970 and 3060 ticks where the source's were 3000, trial 83 F1).
    np.testing.assert_allclose(t_seg - t_seg[0], t_one - t_one[0], atol=2e-6)
    a_seg = np.array([float(p["pts_time"]) for p in ffprobe_packets(seg, "a:0")])
    a_one = np.array([float(p["pts_time"]) for p in ffprobe_packets(one, "a:0")])
    assert len(a_seg) == len(a_one) > 0
    np.testing.assert_allclose(a_seg - t_seg[0], a_one - t_one[0], atol=2e-6)
    # marked as vidclear's (the SDT's service provider), as a whole run's output is
    assert written_by_vidclear(str(seg)) and written_by_vidclear(str(one))


def test_segments_of_a_30_fps_ts_keep_its_ticks(tmp_path: Path) -> None:
    # 30 fps on a 90 kHz clock is 3000 ticks a frame, no whole millisecond:
    # Matroska parts moved each frame by up to 30 ticks (trial 83 F1).
    src = tmp_path / "drive.ts"
    subprocess.run([shutil.which("ffmpeg") or "ffmpeg", "-v", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=96x64:rate=30:d=3", "-f", "lavfi", "-i",
                    "sine=r=48000:d=3", "-c:v", "libx264", "-g", "30", "-c:a", "aac", str(src)],
                   check=True, timeout=60)
    fast = ['pipeline.processors=["copy"]', "output.threads=1", "output.preset=ultrafast"]
    seg, one = _segmented_and_whole(src, tmp_path, fast)

    def ticks(path: Path, selector: str) -> list[int]:
        return sorted(int(p["pts"]) for p in ffprobe_packets(path, selector))

    assert ticks(seg, "v:0") == ticks(one, "v:0") and len(ticks(seg, "v:0")) == 90
    assert ticks(seg, "a:0") == ticks(one, "a:0")


@pytest.mark.parametrize("rate", ["30000/1001", "25"])
def test_ts_segments_without_warm_up_keep_every_frame(tmp_path: Path, rate: str) -> None:
    # MPEG-TS seeks by bytes and can land past the keyframe a segment starts
    # on: with --overlap 0 every segment lost its first GOP (15 frames a cut,
    # the file "done"), or the file failed with no frames (trial 84 F4).
    src = tmp_path / "drive.ts"
    subprocess.run([shutil.which("ffmpeg") or "ffmpeg", "-v", "error", "-f", "lavfi", "-i",
                    f"testsrc2=size=96x64:rate={rate}:d=8", "-f", "lavfi", "-i",
                    "sine=r=48000:d=8", "-c:v", "libx264", "-g", "15", "-c:a", "aac", str(src)],
                   check=True, timeout=60)
    fast = ['pipeline.processors=["copy"]', "output.threads=1", "output.preset=ultrafast"]
    rep = run_batch([str(src)], BatchOptions(outdir=tmp_path / "out", overrides=fast, jobs=2,
                                             segment_seconds=2.0, overlap=0.0, progress=False))
    row = rep["files"][0]
    assert row["status"] == "done" and row["segments"] >= 3, row
    assert len(ffprobe_frame_times(tmp_path / "out" / "drive.ts")) == \
        len(ffprobe_frame_times(src))


def test_a_segments_progress_leaves_its_warm_up_out(clips: Path, tmp_path: Path) -> None:
    # A segment decodes and processes its warm-up frames, then drops them:
    # counted in, the batch bar ran past its total (773 f of 640, trial 84 F5).
    import queue
    from types import SimpleNamespace

    from vidclear.batch.worker import _reporter, run_task
    from vidclear.config.loader import load_config

    src = clips / "long.mp4"
    seg = plan_segments(src, segment_seconds=1.0, overlap=1.0)[-1]  # the last: warm-up first
    res = run_task("t", {"kind": "segment", "input": str(src), "output": str(tmp_path / "p.mp4"),
                         "tables": load_config(overrides=SETTINGS).to_dict(),
                         "segment": seg.to_dict()}, queue.Queue())
    assert res["ok"] and res["warm_frames"] > 0, res  # a segment's frames out include them
    progress: queue.Queue = queue.Queue()
    report = _reporter("t", progress, lambda: res["warm_frames"])
    assert report is not None
    report(SimpleNamespace(frames_out=res["frames"] + res["warm_frames"]))
    assert progress.get_nowait() == ("t", res["frames"])


def test_webm_outputs_of_segments_re_encode_the_audio_as_a_whole_run_does(
        clips: Path, tmp_path: Path) -> None:
    # WebM cannot hold the input's AAC: a whole run re-encodes it as Opus, but
    # the segments' join only copied audio and refused every WebM (and Ogg)
    # output longer than a segment (trial 48)
    fast = ['pipeline.processors=["copy"]', "output.threads=1"]
    seg, one = _segmented_and_whole(clips / "long.mp4", tmp_path, fast, suffix=".webm")

    def sound(path: Path) -> tuple[np.ndarray, float]:
        with av.open(str(path)) as c:
            frames = list(c.decode(audio=0))
        assert frames[0].format.name in ("flt", "fltp") and frames[0].sample_rate == 48000
        return np.concatenate([f.to_ndarray()[0] for f in frames]), float(frames[0].time)

    (a_seg, start_seg), (a_one, start_one) = sound(seg), sound(one)
    assert abs(start_seg - start_one) < 1e-3 and abs(len(a_seg) - len(a_one)) <= 960
    n = min(len(a_seg), len(a_one))
    # the same samples through the same encoder (Opus is lossy: not the input's)
    assert np.abs(a_seg[:n] - a_one[:n]).max() < 0.02
    assert float(np.sqrt((a_one ** 2).mean())) > 0.05  # there is sound in it
    t_seg, t_one = ffprobe_frame_times(seg), ffprobe_frame_times(one)
    assert len(t_seg) == len(t_one) == 100
    # and both say so (the segments' join said nothing: trial 49)
    for run in ("seg", "one"):
        report = json.loads((tmp_path / run / "batch-report.json").read_text())
        assert any("aac audio: stream #1 audio (aac) re-encoded as libopus" in n
                   for n in report["files"][0]["notes"]), report["files"][0]


def test_a_long_file_that_cannot_be_cut_says_why_it_ran_whole(tmp_path: Path) -> None:
    # --segment-seconds 1 on a 4 s clip with one keyframe ran it whole without a word.
    clip = tmp_path / "in" / "onekey.mp4"
    clip.parent.mkdir()
    with av.open(str(clip), "w") as out:
        vs = out.add_stream("libx264", rate=25)
        vs.width, vs.height, vs.pix_fmt = 96, 64, "yuv420p"
        vs.codec_context.gop_size = 1000
        for i in range(100):
            img = np.full((64, 96, 3), i * 2, np.uint8)
            for p in vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(p)
        for p in vs.encode():
            out.mux(p)
    rep = run_batch([str(clip.parent)], BatchOptions(
        outdir=tmp_path / "out", overrides=['pipeline.processors=["copy"]'], jobs=1,
        segment_seconds=1.0, overlap=0.5, progress=False))
    entry = rep["files"][0]
    assert entry["status"] == "done" and "segments" not in entry
    assert "one piece" in entry["note"] and "keyframes" in entry["note"]


@pytest.mark.parametrize(("suffix", "why"), [
    (".avi", "the .avi container keeps a constant rate"),
    (".flv", "its FLV parts do not join")])
def test_constant_rate_and_flv_outputs_run_in_one_piece(clips: Path, tmp_path: Path,
                                                        suffix: str, why: str) -> None:
    # Each segment of an AVI (Ogg, ASF) output ticked at its own piece's
    # guessed rate: a variable-rate clip came out at 20 fps with 80 frames
    # dropped and no note, a constant-rate one a frame late from the first
    # seam; ASF and FLV parts did not join at all (trial 64). They run whole,
    # and say why.
    fast = ['pipeline.processors=["copy"]', "output.threads=1", "output.preset=veryfast"]
    seg, one = _segmented_and_whole(clips / "long.mp4", tmp_path, fast, suffix=suffix)
    report = json.loads((tmp_path / "seg" / "batch-report.json").read_text())
    assert why in report["files"][0]["note"], report["files"][0]
    assert not (tmp_path / "seg" / ".vidclear-segments").exists()
    for path in (seg, one):
        video = next(s for s in ffprobe_streams(path)["streams"] if s["codec_type"] == "video")
        assert int(video["nb_read_frames"]) == 100



def test_segments_are_kept_for_a_failed_join_and_dropped_for_a_failed_segment(
        clips: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A file whose processing failed kept its finished parts in
    # `.vidclear-segments/` in the user's output folder (trial 64); they go
    # with the failure. A join that failed (a full disk, say) keeps them, and
    # the rerun joins them instead of doing every frame again (trial 70); a
    # rerun with other settings drops them (they were kept for good).
    import vidclear.batch.engines as engines
    import vidclear.batch.runner as runner
    from vidclear.errors import OutputError

    fast = ['pipeline.processors=["copy"]', "output.threads=1", "output.preset=ultrafast"]
    out = tmp_path / "seg"

    def batch(overrides: list[str]) -> dict:
        return run_batch([str(clips / "long.mp4")], BatchOptions(
            outdir=out, overrides=overrides, jobs=2, segment_seconds=1.0, overlap=1.0,
            progress=False))

    def no_room(*_args: object, **_kwargs: object) -> dict[str, object]:
        raise OutputError("no space left on device")

    with monkeypatch.context() as m:
        m.setattr(runner, "join_segments", no_room)
        report = batch(fast)
    entry = report["files"][0]
    assert entry["status"] == "failed" and "no space left" in entry["error"], entry
    assert entry["error"].endswith("OutputError: no space left on device"), entry["error"]
    assert "finished segments kept for the same command run again" in entry["error"]
    # the kept frames counted, and the cause shown in full below the table
    # (trial 72: "0 frames", and the table cut the error before its cause)
    assert report["totals"]["frames_kept_for_rerun"] == entry["frames_kept"] > 0, report
    from vidclear.cli.batch import format_table

    table = format_table(report).splitlines()
    assert f"long.mp4: {entry['error']}" in table, table
    assert f"{entry['frames_kept']} kept in finished segments for a rerun" in table[-1]
    kept = sorted(p.name for p in (out / runner.SEGMENT_DIR).rglob("part-*"))
    assert len(kept) >= 2 and not (out / "long.mp4").exists()
    # the rerun joins them: no segment is run again
    submitted: list[str] = []
    make = engines.make_engine

    def counting(*args: object, **kwargs: object) -> object:
        engine = make(*args, **kwargs)
        submit = engine.submit
        engine.submit = lambda tid, task: (submitted.append(tid), submit(tid, task))[1]
        return engine

    with monkeypatch.context() as m:
        m.setattr(runner, "join_segments", no_room)
        batch(fast)  # fails at the join again, keeping them
    with monkeypatch.context() as m:
        m.setattr(engines, "make_engine", counting)
        entry = batch(fast)["files"][0]
    assert entry["status"] == "done" and submitted == [], (entry, submitted)
    assert not (out / runner.SEGMENT_DIR).exists()
    # kept parts are the input's as it was: an input changed since (here only
    # its time; trial 71 edited its middle, same size) has its segments run
    # again, not the old ones joined
    (out / "long.mp4").unlink()
    with monkeypatch.context() as m:
        m.setattr(runner, "join_segments", no_room)
        batch(fast)
    src = clips / "long.mp4"
    stat = src.stat()
    try:
        os.utime(src, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
        submitted.clear()
        with monkeypatch.context() as m:
            m.setattr(engines, "make_engine", counting)
            entry = batch(fast)["files"][0]
    finally:
        os.utime(src, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert entry["status"] == "done" and len(submitted) >= 2, (entry, submitted)
    assert not (out / runner.SEGMENT_DIR).exists()
    # ... and a rerun that runs the file whole drops them too
    (out / "long.mp4").unlink()
    with monkeypatch.context() as m:
        m.setattr(runner, "join_segments", no_room)
        batch(fast)
    assert (out / runner.SEGMENT_DIR).exists()
    entry = run_batch([str(src)], BatchOptions(outdir=out, overrides=fast, jobs=1,
                                               segment_seconds=0, progress=False))["files"][0]
    assert entry["status"] == "done" and not (out / runner.SEGMENT_DIR).exists(), entry
    # parts kept by a failed join, then a rerun with another setting: dropped
    with monkeypatch.context() as m:
        m.setattr(runner, "join_segments", no_room)
        batch([*fast, "output.crf=30"])
    assert (out / runner.SEGMENT_DIR).exists()
    entry = run_batch([str(clips / "long.mp4")], BatchOptions(
        outdir=out, overrides=[*fast, "output.crf=28"], jobs=2, segment_seconds=1.0, overlap=1.0,
        progress=False, overwrite=True))["files"][0]
    assert entry["status"] == "done", entry
    assert not (out / runner.SEGMENT_DIR).exists()
    # a segment that fails takes the finished ones with it
    (out / "long.mp4").unlink()

    def spoiling(segment: str, failure: dict) -> object:
        """make_engine whose engine reports ``failure`` for task ``...#segment``."""
        def make_spoiled(*args: object, **kwargs: object) -> object:
            engine = make(*args, **kwargs)
            results = engine.results
            engine.results = lambda timeout: [
                (tid, {"ok": False, **failure} if tid.endswith(f"#{segment}") else r)
                for tid, r in results(timeout)]
            return engine
        return make_spoiled

    with monkeypatch.context() as m:
        m.setattr(engines, "make_engine", spoiling(
            "1", {"error": "decoder gave up", "error_type": "DecodeError"}))
        entry = batch([*fast, "output.crf=26"])["files"][0]
    assert entry["status"] == "failed" and "decoder gave up" in entry["error"], entry
    assert not (out / runner.SEGMENT_DIR).exists()
    # ... but a segment that failed for want of room keeps them: the disk was
    # full, not the segments wrong (trial 71: 250 of 500 frames thrown away)
    import errno

    with monkeypatch.context() as m:
        m.setattr(engines, "make_engine", spoiling("2", {
            "error": "[Errno 28] No space left on device", "error_type": "OutputError",
            "errno": errno.ENOSPC}))
        entry = batch([*fast, "output.crf=26"])["files"][0]
    assert entry["status"] == "failed" and "No space left" in entry["error"], entry
    assert "kept for the same command run again" in entry["error"], entry
    for part in (out / runner.SEGMENT_DIR).rglob("part-00002*"):
        part.unlink()  # (the worker here did finish it: only its report was spoiled)
    kept = len(list((out / runner.SEGMENT_DIR).rglob("part-*")))
    submitted.clear()
    with monkeypatch.context() as m:
        m.setattr(engines, "make_engine", counting)
        entry = batch([*fast, "output.crf=26"])["files"][0]
    assert entry["status"] == "done" and kept >= 2, (entry, kept)
    ids = [t.rsplit("#", 1)[1] for t in submitted]
    assert "2" in ids and len(ids) < entry["segments"], (ids, entry["segments"])
    assert not (out / runner.SEGMENT_DIR).exists()


def test_kept_segments_carry_their_results_and_stopped_workers_leave_no_partials(
        clips: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Trial 71: after Ctrl-C the stopped workers' `part-N.partial-PID` files
    # stayed in the segment folder; a rerun that only joined kept parts said
    # "9602 fps on 0 local workers" and lost the segments' results; folders
    # of the layout before `OUTPUT-KEY/RUN-TAG` were never swept.
    import vidclear.batch.engines as engines
    import vidclear.batch.runner as runner
    from vidclear.cli.batch import format_table

    out = tmp_path / "seg"
    old = out / runner.SEGMENT_DIR / "0123456789abcdef0123"
    old.mkdir(parents=True)
    (old / "part-00000.mp4").write_bytes(b"an old run's part")
    dead = 2 ** 22 + 1  # above Linux's largest pid: no such process
    make = engines.make_engine
    handed: list[str] = []

    def stopping(*args: object, **kwargs: object) -> object:
        """An engine whose workers each leave a partial; Ctrl-C after the first result."""
        engine = make(*args, **kwargs)
        submit, results = engine.submit, engine.results

        def submitted(tid: str, task: dict) -> None:
            part = Path(task["output"])
            part.with_name(f"{part.stem}.partial-{dead}{part.suffix}").write_bytes(b"cut")
            submit(tid, task)

        def answered(timeout: float) -> list:
            if handed:
                raise KeyboardInterrupt
            got = list(results(timeout))
            handed.extend(tid for tid, _ in got)
            return got

        engine.submit, engine.results = submitted, answered
        return engine

    opts = BatchOptions(outdir=out, overrides=['pipeline.processors=["copy"]', "output.threads=1",
                                               "output.preset=ultrafast"],
                        jobs=2, segment_seconds=1.0, overlap=1.0, progress=False)
    with monkeypatch.context() as m:
        m.setattr(engines, "make_engine", stopping)
        report = run_batch([str(clips / "long.mp4")], opts)
    assert report["interrupted"], report
    assert not old.exists()
    left = sorted(p.name for p in (out / runner.SEGMENT_DIR).rglob("*"))
    assert not [n for n in left if ".partial-" in n], left
    kept = [n for n in left if n.startswith("part-") and n.endswith(".mp4")]
    # each part whose result was handed before the stop is kept with it (which
    # finish first is the workers' race); a worker may also finish its part
    # while the batch stops: joined without its result
    assert handed and all(f"part-{int(tid.rsplit('#', 1)[1]):05d}.mp4.json" in left
                          and f"part-{int(tid.rsplit('#', 1)[1]):05d}.mp4" in kept
                          for tid in handed), (handed, left)
    # the rest run, the kept ones joined with what their run said of them
    entry = run_batch([str(clips / "long.mp4")], opts)["files"][0]
    assert entry["status"] == "done", entry
    assert 0 < entry["frames_reused"] < entry["frames"], entry
    assert entry["worker_seconds"] > 0 and entry["segments"] >= 2, entry
    # every part kept (a failed join): the rerun runs no job and says so
    (out / "long.mp4").unlink()

    def no_room(*_args: object, **_kwargs: object) -> dict[str, object]:
        from vidclear.errors import OutputError

        raise OutputError("no space left on device")

    with monkeypatch.context() as m:
        m.setattr(runner, "join_segments", no_room)
        assert run_batch([str(clips / "long.mp4")], opts)["files"][0]["status"] == "failed"
    busy = sum(json.loads(p.read_text())["seconds"]
               for p in (out / runner.SEGMENT_DIR).rglob("part-*.json"))
    # the output is recorded done before its parts go (a kill between the
    # two redid five of six segments, trial 71)
    recorded: list[str] = []
    drop = runner._drop_segments

    def dropping(seg_dir: Path) -> None:
        jobs = json.loads((out / ".vidclear-batch.json").read_text())["jobs"]
        recorded.extend(r["status"] for r in jobs.values())
        drop(seg_dir)

    with monkeypatch.context() as m:
        m.setattr(runner, "_drop_segments", dropping)
        report = run_batch([str(clips / "long.mp4")], opts)
    assert recorded == ["done"], recorded
    entry = report["files"][0]
    assert entry["status"] == "done" and entry["frames_reused"] == entry["frames"], entry
    assert entry["worker_seconds"] == pytest.approx(busy, rel=1e-6), entry
    assert entry["fps"] == 0.0 and report["totals"]["fps"] == 0.0, report["totals"]
    last = format_table(report).splitlines()[-1]
    assert "with no job run" in last and "of them made by an earlier run" in last, last


def test_the_frames_kept_for_a_rerun_are_the_parts_on_disk(tmp_path):
    # After Ctrl-C the summary counted the segments whose results the batch
    # had received: a part finished as the signal landed was left out ("60
    # not kept" of frames the rerun reused), and a result counted before the
    # row's frames were added made "-60 not kept" (trial 146 F5). The parts
    # on disk are what the rerun reuses.
    from vidclear.batch.inputs import BatchItem
    from vidclear.batch.runner import _entry, _File, _parts, _save_result
    from vidclear.batch.segments import Segment

    segs = [Segment(index=i, start=60 * i, end=60 * (i + 1), warm=None,
                    time_base=Fraction(1, 30), frames=60) for i in range(4)]
    f = _File(item=BatchItem(input=tmp_path / "in.mp4", output=tmp_path / "out.mp4"),
              status="interrupted", segments=segs, seg_dir=tmp_path / "parts")
    f.seg_dir.mkdir()
    parts = _parts(f)
    for part in parts[:3]:  # three finished on disk ...
        part.write_bytes(b"part")
    _save_result(parts[1], {"frames": 58, "ok": True})  # (its own count, as saved)
    f.seg_results[0] = {"frames": 60, "ok": True}  # ... of which one result came in
    f.frames_done = 30  # and the row's count lagged behind
    entry = _entry(f)
    assert entry["frames_kept"] == 60 + 58 + 60
    assert entry["frames"] >= entry["frames_kept"]


def test_the_default_warm_up_covers_the_airlight_jump_hold(clips: Path, tmp_path: Path) -> None:
    # A fall of the airlight estimate is remembered for airlight_hold, and
    # the hold of a rise it spares lasts as long again: a segment warmed up
    # for less than both had not seen a fall that one pass had, and held an
    # uncovering of the brightest haze that one pass followed, 22-24 levels
    # apart after the seam (trial 177 F1 with --overlap 3, F2 with
    # airlight_hold=6 and the default --overlap 6).
    from vidclear.batch.runner import warm_up_seconds
    from vidclear.config.loader import load_config

    assert warm_up_seconds(load_config(preset="dashcam")) == 6.0
    held = load_config(preset="dashcam", overrides=["dehaze.airlight_hold=6"])
    assert warm_up_seconds(held) == 12.0
    assert warm_up_seconds(load_config(preset="transcode")) == 6.0
    # a shorter --overlap given is said, once, with what it costs
    report = run_batch([str(clips / "long.mp4")], BatchOptions(
        outdir=tmp_path / "out", overrides=[*SETTINGS[:2], "dehaze.airlight_hold=1.0",
                                            *SETTINGS[3:]],
        jobs=2, segment_seconds=1.0, overlap=1.5, progress=False))
    assert report["files"][0]["status"] == "done"
    said = [n for n in report["notes"] if "--overlap" in n]
    assert said == ["--overlap 1.5 is shorter than twice dehaze.airlight_hold (2 s): after a "
                    "seam a segment may hold an airlight that one pass followed, and differ "
                    "from it (the airlight's jump hold)"]
