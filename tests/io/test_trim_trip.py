"""Part of a clip (-ss/-t/-to) and trips of chunk files, checked frame by frame and by ffprobe."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from tests.media import (
    ffprobe_frame_times,
    ffprobe_packets,
    ffprobe_streams,
    gps_cues,
    make_clip,
    srt_dump,
    subtitled_clip,
)
from vidclear import Frame, Processor, Session, load_config, open_source
from vidclear import errors as vidclear_errors
from vidclear import transcode as vidclear_transcode
from vidclear.errors import ConfigError, InputError
from vidclear.io.sinks.split import SplitSink
from vidclear.io.sources.synthetic import RoadScene
from vidclear.io.sources.trim import parse_time
from vidclear.io.sources.trip import _ts_provider, expand_inputs, written_by_vidclear
from vidclear.processors.basic import CopyConfig

ROOT = Path(__file__).resolve().parents[2]


def _decode(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24").astype(np.float32) for f in c.decode(video=0)]


def _match(frames: list[np.ndarray], refs: list[np.ndarray]) -> list[int]:
    """For each frame, the index of the reference frame it is closest to (MSE)."""
    return [int(np.argmin([np.mean((f - r) ** 2) for r in refs])) for f in frames]


def _audio_span(path: Path) -> tuple[float, float]:
    times = [float(p["pts_time"]) for p in ffprobe_packets(path, "a:0")]
    return min(times), max(times)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vidclear", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("trim") / "in.mp4", n=90, size=(96, 64))


def test_trim_keeps_exactly_the_frames_of_the_span(clip, tmp_path):
    out = tmp_path / "part.mp4"
    res = _run("run", str(clip), "-o", str(out), "-ss", "1", "-t", "1.5", "-q")
    assert res.returncode == 0, res.stderr
    frames, refs = _decode(out), _decode(clip)
    assert len(frames) == 45
    assert _match(frames, refs) == list(range(30, 75))  # frame by frame, no shift
    times = ffprobe_frame_times(out)
    assert times[0] == pytest.approx(0.0, abs=1e-3)  # the output starts at 0, as FFmpeg's
    assert np.allclose(np.diff(times), 1 / 30, atol=1e-3)
    a0, a1 = _audio_span(out)  # audio trimmed to the same span and shifted with it
    assert a0 == pytest.approx(0.0, abs=0.03) and a1 == pytest.approx(1.5, abs=0.05)


def test_a_lavfi_graph_is_trimmed_by_reading_it_from_its_start(tmp_path):
    # A graph has nothing to seek in: -ss 2 failed "cannot seek to 2 s:
    # Invalid argument" (trial 61), where FFmpeg decodes and drops.
    graph = "testsrc2=size=96x64:rate=30:duration=4"
    out = tmp_path / "graph.mp4"
    res = _run("run", f"lavfi:{graph}", "-o", str(out), "-ss", "2", "-t", "1", "-q",
               "--set", "output.crf=0")
    assert res.returncode == 0, res.stderr
    with av.open(graph, format="lavfi") as c:
        refs = [f.to_ndarray(format="rgb24").astype(np.float32) for f in c.decode(video=0)]
    frames = _decode(out)
    assert len(frames) == 30
    assert _match(frames, refs) == list(range(60, 90))


@pytest.mark.parametrize("ext", [".ts", ".mkv"])
def test_a_trim_keeps_the_audio_the_file_holds_after_the_video(clip, tmp_path, ext):
    # An MPEG-TS muxer places audio up to 0.7 s after the video of the same
    # time: the trim stopped reading at the first frame past its end and
    # lost the last 70-80 ms of audio (a new-user trial).
    src = tmp_path / f"in{ext}"  # muxed as FFmpeg's command line does (its mux delay)
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(clip), "-c", "copy", str(src)],
                   check=True)
    out = tmp_path / "part.mkv"
    for start, length in (("0.5", 0.5), ("1", 1.5)):
        res = _run("run", str(src), "-o", str(out), "-ss", start, "-t", str(length), "-q",
                   "--overwrite")
        assert res.returncode == 0, res.stderr
        last = max(float(p["pts_time"]) for p in ffprobe_packets(out, "a:0"))
        assert length - 0.045 <= last < length  # within two AAC frames of the end
        assert len(ffprobe_frame_times(out)) == round(30 * length)


def test_ss_counts_from_the_first_timestamp_of_any_stream_as_ffmpeg_does(clip, tmp_path):
    # A recording whose sound starts before its picture: FFmpeg counts -ss
    # from the container's start (the sound's), as a player's timeline does;
    # counted from the video's own first timestamp the cut started 0.5 s (15
    # frames) late in Matroska (trial 119 F1). As in FFmpeg, the picture
    # runs -t from its first frame shown (so with no -ss it ends 0.5 s after
    # the sound), the copied sound ends on the input's clock.
    src = tmp_path / "late_picture.mkv"
    subprocess.run(["ffmpeg", "-v", "error", "-itsoffset", "0.5", "-i", str(clip), "-i",
                    str(clip), "-map", "0:v", "-map", "1:a", "-c", "copy", str(src)],
                   check=True)
    video, audio = (float(s["start_time"]) for s in ffprobe_streams(src)["streams"])
    assert video >= 0.5 and audio == 0.0
    refs = _decode(src)
    for span, before, after, length in (
            (["-ss", "2", "-t", "1"], ["-ss", "2", "-t", "1"], [], 1.0),
            (["-ss", "1", "-to", "2.5"], ["-ss", "1", "-to", "2.5"], [], 1.5),
            (["-t", "1.5"], ["-t", "1.5"], [], 1.5),
            # a span that ends before the picture starts: -t of frames from its
            # first, as FFmpeg writes them ("no frames were written", trial 122 F1)
            (["-t", "0.2"], ["-t", "0.2"], [], 0.2),
            # -ss in the stretch of sound before the picture: the seek went to
            # the picture's first keyframe and the sound up to it was lost
            # (trial 124 F1; FFmpeg's copied sound loses it too)
            (["-ss", "0.1", "-t", "1"], ["-ss", "0.1", "-t", "1"], [], 1.0)):
        ours, theirs = tmp_path / "ours.mkv", tmp_path / "theirs.mkv"
        res = _run("run", str(src), "-o", str(ours), *span, "-q", "--overwrite")
        assert res.returncode == 0, res.stderr
        subprocess.run(["ffmpeg", "-v", "error", "-y", *before, "-i", str(src), *after,
                        "-map", "0:v", "-c:v", "ffv1", str(theirs)], check=True)
        shown, cut = _match(_decode(ours), refs), _match(_decode(theirs), refs)
        assert shown == cut, span
        # the picture keeps its place behind the sound, as in FFmpeg's cut
        # (whose encoder rounds its times to the 1/30 s grid)
        first_video = float(ffprobe_frame_times(ours)[0])
        assert first_video == pytest.approx(float(ffprobe_frame_times(theirs)[0]), abs=1 / 30)
        late = video - (float(span[1]) if span[0] == "-ss" else 0.0)
        assert first_video == pytest.approx(max(late, 0.0), abs=1 / 30)
        a0, a1 = _audio_span(ours)
        assert a0 == pytest.approx(0.0, abs=0.03) and a1 == pytest.approx(length, abs=0.05)


def test_to_is_a_position_and_config_keys_do_the_same(clip, tmp_path):
    a, b = tmp_path / "a.mkv", tmp_path / "b.mkv"
    assert _run("run", str(clip), "-o", str(a), "-ss", "00:00:00.5", "-to", "2", "-q") \
        .returncode == 0
    cfg = load_config(overrides=["input.start=0.5", "input.end=2.0"])
    Session.open(str(clip), b, config=cfg).run(signals=False)
    for out in (a, b):
        assert _match(_decode(out), _decode(clip)) == list(range(15, 60))


def test_duration_alone_needs_no_seek_and_counts_for_progress(clip):
    cfg = load_config(overrides=["input.duration=0.5"])
    with open_source(str(clip), config=cfg.input) as src:
        assert src.info.frame_count == 15
        assert sum(1 for _ in src) == 15


def test_bad_times_are_one_line_config_errors(clip, tmp_path):
    for args, text in [(("-ss", "1:75"), "-ss '1:75' is not a time"),
                       (("-t", "abc"), "-t 'abc' is not a time"),
                       (("-ss", "2", "-to", "1"), "input.end = 1 is not allowed"),
                       (("-t", "0"), "-t '0' selects no frames")]:
        res = _run("run", str(clip), "-o", str(tmp_path / "x.mp4"), *args)
        assert res.returncode == 2, res.stderr
        assert text in res.stderr and "Traceback" not in res.stderr
        assert len(res.stderr.strip().splitlines()) == 1
    assert parse_time("01:02:03.5") == 3723.5 and parse_time("-2") == -2.0
    res = _run("run", str(clip), "-o", str(tmp_path / "y.mp4"), "-ss", "20")
    assert res.returncode == 1 and "starts after the last frame" in res.stderr
    assert not (tmp_path / "y.mp4").exists()
    with pytest.raises(ConfigError):
        open_source("udp://127.0.0.1:9", config=load_config(overrides=["input.start=1"]).input)


def test_a_source_limited_to_a_duration_ends_before_it():
    # -t on a camera or live stream was refused ("need a file or a graph",
    # trial 78 F11): such a source is read for that span of its own clock.
    scene = RoadScene(width=32, height=32, seconds=2.0, rate=30)
    scene.limit_duration(1.0)
    times = [f.time for f in scene]
    assert len(times) == 30 and times[0] == 0 and times[-1] == pytest.approx(29 / 30)
    assert scene.limit_reached and scene.stopped
    short = RoadScene(width=32, height=32, seconds=0.5, rate=30)
    short.limit_duration(1.0)
    assert sum(1 for _ in short) == 15 and not short.limit_reached
    for bad in (0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ConfigError, match="seconds > 0"):
            short.limit_duration(bad)


class TimeLog(Processor[CopyConfig]):
    """Records the time every frame reaches the processors (one instance: carried state)."""

    name = "timelog"
    Config = CopyConfig

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def __call__(self, frame: Frame) -> Frame:
        self.times.append(frame.time)
        return frame


class MisplacedDuration(Processor[CopyConfig]):
    """Gives the 10th frame a 10 s duration, as a decoder hands a pause in an MP4
    with B-frames to a frame shown after it (trial 81 F9)."""

    name = "misplaced_duration"
    Config = CopyConfig

    def __call__(self, frame: Frame) -> Frame:
        if frame.meta.get("index") == 10:
            frame.meta["duration"] = round(10 / frame.time_base)
        return frame


@pytest.mark.parametrize("ext", [".mp4", ".mkv"])
def test_the_output_ends_where_the_frame_shown_last_ends(clip, tmp_path, ext):
    # The end was the latest end of any frame: one mid-clip frame that claimed
    # 10 s stretched 3 s of video to 10.3 s, the rest a frozen frame. (An
    # encoder that hands a packet out before the next frame comes, mpeg4 on
    # one thread, still muxes that claim: a file's frames are timed right
    # where they are read, test_a_pause_in_the_picture_does_not_lengthen...)
    out = tmp_path / f"out{ext}"
    for spec in (str(clip), "lavfi:testsrc2=size=96x64:rate=30:d=1"):  # a file and a graph
        Session.open(spec, out, processors=[MisplacedDuration()],
                     overwrite=True).run(signals=False)
        times = ffprobe_frame_times(out)
        end = float(ffprobe_streams(out)["format"]["duration"])
        assert end == pytest.approx(times[-1] + 1 / 30, abs=0.03), (spec, end, times[-1])


@pytest.fixture(scope="module")
def chunks(tmp_path_factory) -> list[Path]:
    d = tmp_path_factory.mktemp("trip")
    return [make_clip(d / f"chunk{i:02d}.mp4", n=30, size=(96, 64)) for i in range(3)]


def test_chunk_files_run_as_one_trip(chunks, tmp_path):
    out = tmp_path / "trip.mp4"
    log = TimeLog()
    session = Session.open([str(c) for c in chunks], out, processors=[log])
    stats = session.run(signals=False)
    assert stats.frames_out == 90
    # The processors saw one continuous clock, so smoothed state runs on across joins.
    assert np.allclose(np.diff(log.times), 1 / 30, atol=1e-6)
    times = ffprobe_frame_times(out)
    assert len(times) == 90 and np.allclose(np.diff(times), 1 / 30, atol=1e-3)
    # Audio: every chunk's packets, shifted onto the trip's clock without a gap.
    audio = [float(p["pts_time"]) for p in ffprobe_packets(out, "a:0")]
    per_chunk = len(ffprobe_packets(chunks[0], "a:0"))
    report = session.report()
    assert len(audio) == 3 * per_chunk - report["packets_dropped_at_joins"]
    assert report["packets_dropped_at_joins"] <= 2  # at most the overlap at each join
    assert np.max(np.diff(audio)) < 0.03 and audio[-1] == pytest.approx(2.98, abs=0.03)
    assert report["trip_files"] == 3


def test_trip_streams_for_the_encoder_belong_to_open_files(chunks):
    """Regression: the trip handed the encoder the video stream of a probe it had closed.

    Reading its disposition read freed memory; now and then it said "attached
    picture" and the MP4 muxer refused the h264 track (the batch trip test's flake).
    A closed PyAV container refuses ``duration``, so every stream handed out must
    answer it.
    """
    with open_source([str(c) for c in chunks]) as src:
        info = src.info
        live = [info.video_stream, *info.side_streams]
        assert info.video_stream is not None and info.side_streams
        for stream in live:
            assert stream.container.duration is not None  # raises when closed
        assert not info.video_stream.disposition & av.stream.Disposition.attached_pic
        for k in range(len(chunks)):
            assert src.file_infos[k].video_stream is None  # facts only, no dead streams


def test_a_folder_and_a_glob_are_trips_in_name_order(chunks, tmp_path):
    folder = chunks[0].parent
    assert expand_inputs([str(folder)]) == [str(c) for c in chunks]
    assert expand_inputs([str(folder / "chunk0[12].mp4")]) == [str(c) for c in chunks[1:]]
    res = _run("run", str(folder), "-o", str(tmp_path / "t.mkv"), "-q")
    assert res.returncode == 0, res.stderr
    video = next(s for s in ffprobe_streams(tmp_path / "t.mkv")["streams"]
                 if s["codec_type"] == "video")
    assert int(video["nb_read_frames"]) == 90


def test_a_killed_runs_partial_file_is_no_chunk(chunks, tmp_path):
    # DCIM/0003.partial-PID.mp4 left by kill -9 was read as a chunk and failed
    # the whole trip; batch left it out without a word (trial 39)
    import shutil

    from vidclear.batch import collect_inputs

    card = tmp_path / "DCIM"
    card.mkdir()
    shutil.copy(chunks[0], card / "0001.mp4")
    shutil.copy(chunks[1], card / "0002.mp4")
    (card / "0003.partial-4242.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    notes: list[str] = []
    assert expand_inputs([str(card)], notes=notes) == [str(card / "0001.mp4"),
                                                      str(card / "0002.mp4")]
    assert notes == [f"skipped 1 unfinished output(s) of vidclear in {card} (e.g. "
                     "0003.partial-4242.mp4: a run that was killed)"]
    batch_notes: list[str] = []
    assert len(collect_inputs([str(card)], tmp_path / "out", notes=batch_notes)) == 2
    assert any("unfinished output(s) of vidclear" in n for n in batch_notes), batch_notes


def test_a_lavfi_graph_with_link_labels_is_no_pattern():
    # "no file matches lavfi:testsrc2...[out0]": FFmpeg's lavfi device names its
    # outputs [out0], [out1] (trial 38)
    spec = "lavfi:testsrc2=size=64x64:duration=1[out0];sine=duration=1[out1]"
    assert expand_inputs([spec]) == [spec]
    with open_source(spec) as src:
        assert src.info.width == 64


def test_a_folders_subfolders_and_hidden_files_are_named_and_double_star_spans_folders(
        chunks, tmp_path):
    # `run DIR` left DIR/sub/*.mp4 out without a word, a DCIM/100MEDIA layout
    # was "no video files"; `run 'DIR/**/*.mp4'` matched one level only while
    # batch took the whole tree (trial 38)
    import shutil

    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    shutil.copy(chunks[0], tree / "a.mp4")
    shutil.copy(chunks[1], tree / "sub" / "b.mp4")
    (tree / "._a.mp4").write_bytes(b"\x00\x05\x16\x07Mac OS X")
    notes: list[str] = []
    assert expand_inputs([str(tree)], notes=notes) == [str(tree / "a.mp4")]
    assert notes == [f"1 video file(s) in subfolders of {tree} are left out (a folder plays its "
                     f"own files; '{tree}/**/*.mp4' takes them all)",
                     f"skipped 1 hidden file(s) in {tree} (names starting with '.', e.g. "
                     "._a.mp4)"]
    assert expand_inputs([str(tree / "**" / "*.mp4")]) == [str(tree / "a.mp4"),
                                                          str(tree / "sub" / "b.mp4")]
    res = _run("run", str(tree), "-o", str(tmp_path / "t.mkv"))
    assert res.returncode == 0 and "in subfolders of" in res.stderr, res.stderr
    dcim = tmp_path / "DCIM"
    (dcim / "100MEDIA").mkdir(parents=True)
    shutil.copy(chunks[0], dcim / "100MEDIA" / "x.mp4")
    with pytest.raises(InputError, match=r"holds no video files itself, but 1 in its "
                                         r"subfolders \(e.g. 100MEDIA/x.mp4\)"):
        expand_inputs([str(dcim)])


@pytest.mark.parametrize("ext", [".mp4", ".mkv", ".ts", ".m2ts", ".mts", ".flv"])
def test_a_folder_holding_an_earlier_output_is_refused(chunks, tmp_path, ext):
    # `vidclear run SD/trip -o SD/trip/clean.mp4`, then again to another name,
    # played the first run's output as one more chunk of the trip. (MPEG-TS
    # has no handler names: its mark is the SDT's service provider, in M2TS's
    # 192-byte packets too; FLV keeps it as a global tag.)
    folder = tmp_path / "trip"
    folder.mkdir()
    for c in chunks:
        (folder / c.name).write_bytes(c.read_bytes())
    res = _run("run", str(folder), "-o", str(folder / f"clean{ext}"), "-q")
    assert res.returncode == 0, res.stderr
    res = _run("run", str(folder), "-o", str(tmp_path / "again.mp4"), "-q")
    assert res.returncode == 1 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert f"clean{ext}, which carries vidclear's mark (an output of vidclear" in res.stderr
    assert not (tmp_path / "again.mp4").exists()
    # named on its own, an output is an input like any other
    res = _run("run", str(folder / f"clean{ext}"), "-o", str(tmp_path / "once.mp4"), "-q")
    assert res.returncode == 0, res.stderr


def test_the_ts_mark_is_read_from_the_service_description_table(tmp_path):
    # ffprobe's reading of the same table is the reference
    plain = make_clip(tmp_path / "plain.mp4", n=5, size=(96, 64), audio=False)
    for name, provider in (("ours.ts", "vidclear"), ("theirs.ts", None)):
        with av.open(str(plain)) as inp, av.open(str(tmp_path / name), "w") as out:
            if provider:
                out.metadata["service_provider"] = provider
            ost = out.add_stream_from_template(inp.streams.video[0])
            for packet in inp.demux(inp.streams.video[0]):
                if packet.dts is not None:
                    packet.stream = ost
                    out.mux(packet)
        probe = subprocess.run(["ffprobe", "-v", "error", "-show_programs", "-of", "json",
                                str(tmp_path / name)], capture_output=True, text=True,
                               check=True)
        tags = json.loads(probe.stdout)["programs"][0]["tags"]
        assert _ts_provider(str(tmp_path / name)) == tags["service_provider"]
        assert written_by_vidclear(str(tmp_path / name)) == (provider is not None)
    assert _ts_provider(str(plain)) is None  # not a transport stream


def test_trips_refuse_files_that_do_not_fit(chunks, tmp_path):
    other = make_clip(tmp_path / "big.mp4", n=5, size=(128, 96))
    with pytest.raises(InputError, match="must share one frame size"):
        open_source([str(chunks[0]), str(other)])
    silent = make_clip(tmp_path / "silent.mp4", n=5, size=(96, 64), audio=False)
    with pytest.raises(InputError, match="other audio/subtitle streams"):
        open_source([str(chunks[0]), str(silent)])
    # Same codec, another sample rate or channel count: copied under the first
    # chunk's header, 44.1 kHz packets decoded 9 % slow (trial 34).
    for name, kw, words in [("44k.mp4", {"audio_rate": 44100}, "aac audio LC 44100 Hz 1 ch"),
                            ("stereo.mp4", {"audio_layout": "stereo"},
                             "aac audio LC 48000 Hz 2 ch")]:
        other = make_clip(tmp_path / name, n=5, size=(96, 64), **kw)
        with pytest.raises(InputError, match="other audio/subtitle streams") as err:
            open_source([str(chunks[0]), str(other)])
        assert words in str(err.value) and "aac audio LC 48000 Hz 1 ch" in str(err.value)
    # Another AAC profile: its packets did not decode under the first chunk's
    # header (trial 36)
    main = tmp_path / "main.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(chunks[1]), "-c:v", "copy",
                    "-c:a", "aac", "-profile:a", "aac_main", "-ar", "48000", "-ac", "1",
                    str(main)], check=True)
    with pytest.raises(InputError, match=r"aac audio Main 48000 Hz 1 ch\) than .*LC 48000"):
        open_source([str(chunks[0]), str(main)])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="holds no video files"):
        expand_inputs([str(empty)])
    res = _run("run", str(chunks[0]), str(chunks[1]), "-o", str(tmp_path / "x.mp4"),
               "-ss", "1")
    assert res.returncode == 2 and "not to a trip" in res.stderr
    # --split wrote every file whole and exit 0, the trim unsaid (trial 129 F1)
    split = tmp_path / "split"
    for trim in (["-ss", "1", "-t", "0.5"], ["--set", "input.duration=0.5"]):
        res = _run("run", str(chunks[0]), str(chunks[1]), "-o", str(split), "--split", *trim)
        assert res.returncode == 2, res.stderr
        assert ("-ss / -t / -to cut one input into one output, and --split writes each of "
                "its 2 input(s) whole: drop --split") in res.stderr
        assert not split.exists()


def test_a_folder_or_a_glob_as_one_string_is_a_trip(chunks, tmp_path):
    # As the docstring and the command line have it; from Python a str folder
    # was "input is a directory" and a str glob "input not found" (trial 36).
    folder = chunks[0].parent
    for spec in (str(folder), str(folder / "chunk*.mp4")):
        with open_source(spec) as src:
            assert src.inputs == [str(c) for c in chunks]
    stats = vidclear_transcode(str(folder), tmp_path / "all.mp4")
    assert stats.frames_out == 30 * len(chunks)


def test_an_empty_input_is_refused_not_the_current_folder(chunks, tmp_path, monkeypatch):
    # `vidclear run "$CLIP" -o out.mp4` with the variable unset joined every
    # video in the working folder into one file: Path("") is "." (trial 34).
    monkeypatch.chdir(chunks[0].parent)
    for spec in ("", [""], [str(chunks[0]), ""], "  "):
        with pytest.raises(InputError, match=r'an input is empty \(""'):
            open_source(spec)
    res = _run("run", "", "-o", str(tmp_path / "x.mp4"))
    assert res.returncode == 1 and "an input is empty" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and not (tmp_path / "x.mp4").exists()


class StopAt(Processor[CopyConfig]):
    """Stops its session at the ``n``-th frame (an interrupted run)."""

    name = "stopat"
    Config = CopyConfig

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n, self.seen = n, 0
        self.session: Session | None = None

    def __call__(self, frame: Frame) -> Frame:
        self.seen += 1
        if self.seen == self.n and self.session is not None:
            self.session.stop()
        return frame


def test_an_interrupted_split_names_the_files_it_wrote(chunks, tmp_path):
    # Stopped in the first input, it said "wrote N frames to 3 files" (trial 34).
    out_dir = tmp_path / "cut"
    stop = StopAt(5)
    session = Session.open([str(c) for c in chunks], out_dir, split=True, processors=[stop])
    stop.session = session
    assert session.output_label == f"3 files in {out_dir}"
    stats = session.run(signals=False)
    assert stats.interrupted
    written = sorted(p.name for p in out_dir.iterdir())
    assert written == [chunks[0].name]
    assert session.output_label == f"1 file in {out_dir}"
    # and which output is cut short, and which were not begun (trial 119 F4;
    # the signal's line says "finishing" the label as the signal finds it)
    (split,) = [s for s in session.tee.sinks if isinstance(s, SplitSink)]
    frames = len(ffprobe_frame_times(out_dir / chunks[0].name))
    assert split.interrupted_note() == (
        f"{out_dir / chunks[0].name} holds the first {frames} frames of its input (cut short "
        f"by the stop); not started: {out_dir / chunks[1].name}, {out_dir / chunks[2].name}")


def test_a_split_stopped_after_an_inputs_last_frame_calls_its_output_whole(chunks, tmp_path):
    # Stopped between an input's last frame and the next one's first, the
    # output of all 30 frames was called "cut short by the stop" (trial 120 F3)
    out_dir = tmp_path / "at_join"
    stop = StopAt(30)
    session = Session.open([str(c) for c in chunks], out_dir, split=True, processors=[stop])
    stop.session = session
    assert session.run(signals=False).interrupted
    (split,) = [s for s in session.tee.sinks if isinstance(s, SplitSink)]
    first = out_dir / chunks[0].name
    assert len(ffprobe_frame_times(first)) == 30
    note = split.interrupted_note()
    assert f"finished whole: {first}" in note and f"{first} holds" not in note, note


def test_a_trip_says_what_a_run_of_each_file_says(tmp_path):
    # A file's own notes (here a display matrix of 45 degrees, kept) were
    # said by a run of it alone and by a batch, not by a trip or --split
    # (trial 120 F6)
    turned = [46341, 46341, 0, -46341, 46341, 0, 0, 0, 1 << 30]
    files = [make_clip(tmp_path / f"t{i}.mp4", n=5, size=(96, 64), matrix=turned)
             for i in range(2)]
    for split in (False, True):
        out = tmp_path / ("split" if split else "trip.mp4")
        session = Session.open([str(f) for f in files], out, split=split)
        session.run(signals=False)
        said = [n for n in session.notes if "display matrix turns the picture 45" in n]
        assert [n.split(":")[0] for n in said] == [str(f) for f in files], session.notes


def test_a_trip_compares_its_files_as_shown_and_holds_one_display_matrix(tmp_path):
    # Sizes were compared as stored: a file turned a quarter by its matrix
    # beside one that is not was squashed into the other's shape, exit 0
    # (trial 122 F3); the first file's matrix was written for the whole
    # output, turning every other file, or a later file's was lost (F4)
    quarter = [0, 65536, 0, -65536, 0, 0, 0, 0, 1 << 30]
    turned = [46341, 46341, 0, -46341, 46341, 0, 0, 0, 1 << 30]
    plain = make_clip(tmp_path / "plain.mp4", n=5, size=(96, 64))
    upright = make_clip(tmp_path / "upright.mp4", n=5, size=(96, 64), matrix=quarter)
    tall = make_clip(tmp_path / "tall.mp4", n=5, size=(64, 96))
    tilted = make_clip(tmp_path / "tilted.mp4", n=5, size=(96, 64), matrix=turned)
    with pytest.raises(InputError, match=r"upright.mp4 shows 64x96, the first file .*plain.mp4 "
                                         r"shows 96x64 \(after their display matrices\)"):
        Session.open([str(plain), str(upright)], tmp_path / "a.mp4")
    session = Session.open([str(tall), str(upright)], tmp_path / "b.mp4")  # both 64x96 shown
    assert session.run(signals=False).frames_out == 10
    with pytest.raises(InputError, match=r"tilted.mp4's display matrix turns the picture 45 "
                                         r"degrees clockwise, the first file .*plain.mp4's has "
                                         r"none: the output holds one"):
        Session.open([str(plain), str(tilted)], tmp_path / "c.mp4")
    # each output of --split holds its own
    session = Session.open([str(plain), str(tilted)], tmp_path / "d", split=True)
    assert session.run(signals=False).frames_out == 10


def test_split_says_what_each_outputs_own_run_says(tmp_path):
    # padding an odd size, a matrix the container cannot hold: a single
    # run says these, --split said none (trial 122 F2)
    files = [make_clip(tmp_path / f"odd{i}.mkv", n=3, size=(97, 65), codec="ffv1",
                       pix_fmt="yuv444p", audio=False) for i in range(2)]
    out_dir = tmp_path / "split"
    session = Session.open([str(f) for f in files], out_dir, split=True)
    session.run(signals=False)
    padded = [n for n in session.notes if "98x66" in n]
    assert padded == ["every output: 97x65 frames are padded to 98x66 (the last column/row "
                      "repeated): yuv420p needs even sizes"], session.notes
    # one output's own note names it
    deep = make_clip(tmp_path / "deep.mkv", n=3, size=(96, 64), codec="ffv1",
                     pix_fmt="yuv420p10le", audio=False)
    plain = make_clip(tmp_path / "plain.mkv", n=3, size=(96, 64), codec="ffv1", audio=False)
    mixed = tmp_path / "mixed"
    session = Session.open([str(deep), str(plain)], mixed, split=True)
    session.run(signals=False)
    bits = [n for n in session.notes if "10-bit" in n or "10 bit" in n]
    assert bits and all(n.startswith(f"{mixed / 'deep.mkv'}: ") for n in bits), session.notes


def test_a_split_refused_at_a_cut_input_names_the_outputs_it_kept(chunks, tmp_path):
    # The third input cut short: the run is refused there, and the two
    # outputs finished before it stayed without a word (trial 111 F5).
    cut = tmp_path / "in" / "c2.mkv"
    cut.parent.mkdir()
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(chunks[2]), "-c", "copy", str(cut)],
                   check=True, timeout=60)
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size * 8 // 10])
    out = tmp_path / "out"
    res = subprocess.run([sys.executable, "-m", "vidclear", "run", str(chunks[0]),
                          str(chunks[1]), str(cut), "--split", "-o", str(out), "--set",
                          'pipeline.processors=["copy"]'],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 1, res.stderr
    lines = res.stderr.strip().splitlines()
    assert lines[-1].startswith(f"vidclear: error: input {cut} is truncated"), res.stderr
    kept = [out / chunks[0].name, out / chunks[1].name]
    assert lines[-2] == ("vidclear: note: 2 of 3 outputs were finished whole before the error "
                         f"below and are kept: {kept[0]}, {kept[1]}"), res.stderr
    assert sorted(out.iterdir()) == kept


def test_split_to_a_stream_is_refused(chunks, tmp_path):
    # --split -o - made a folder named "-" holding Matroska files named .mp4 (trial 38)
    for out in ("-", "udp://127.0.0.1:5999"):
        res = subprocess.run([sys.executable, "-m", "vidclear", "run", str(chunks[0]),
                              str(chunks[1]), "--split", "-o", out, "-f", "matroska"],
                             cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert res.returncode == 2 and "is a stream, which holds one" in res.stderr, res.stderr
    assert list(tmp_path.iterdir()) == []


def test_split_and_batch_outputs_are_named_and_set_up_per_input(chunks, tmp_path):
    # -f avi with --split (or output.format in a batch) wrote AVI files named
    # chunk00.mp4 (stop 51, left alone then): each output takes the
    # container's extension where its input's is not one the muxer lists.
    names = [c.name for c in chunks[:2]]
    res = _run("run", *map(str, chunks[:2]), "--split", "-o", str(tmp_path / "avi"),
               "-f", "avi", "-q")
    assert res.returncode == 0, res.stderr
    res = _run("batch", *map(str, chunks[:2]), "-o", str(tmp_path / "nut"),
               "--set", "output.format=nut", "-q")
    assert res.returncode == 0, res.stderr
    for folder, suffix, muxer in (("avi", ".avi", "avi"), ("nut", ".nut", "nut")):
        outs = sorted(p for p in (tmp_path / folder).iterdir() if p.suffix != ".json")
        assert [p.name for p in outs] == [Path(n).with_suffix(suffix).name for n in names]
        for out in outs:
            assert ffprobe_streams(out)["format"]["format_name"] == muxer
    # an input whose extension the container lists keeps its name; two that
    # would meet under one name are refused before anything is written
    res = _run("run", str(chunks[0]), "--split", "-o", str(tmp_path / "mp4"), "-f", "mp4", "-q")
    assert res.returncode == 0 and [p.name for p in (tmp_path / "mp4").iterdir()] == [names[0]]
    # an MKV and an MPEG-TS of one AAC track (its setup differs) were refused as a
    # trip whose files "have other audio streams", though each has its own output
    # (trial 79)
    ts = tmp_path / "chunk02.ts"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(chunks[2]), "-c", "copy", str(ts)],
                   check=True)
    res = _run("run", str(chunks[0]), str(ts), "--split", "-o", str(tmp_path / "mixed"), "-q")
    assert res.returncode == 0, res.stderr
    for out, src in ((tmp_path / "mixed" / chunks[0].name, chunks[0]),
                     (tmp_path / "mixed" / ts.name, ts)):
        assert len(ffprobe_packets(out, "a:0")) == len(ffprobe_packets(src, "a:0"))
    twin = tmp_path / "twin"
    twin.mkdir()
    (twin / "chunk00.mkv").write_bytes(chunks[1].read_bytes())
    res = _run("run", str(chunks[0]), str(twin / "chunk00.mkv"), "--split", "-o",
               str(tmp_path / "both"), "-f", "avi")
    assert res.returncode == 2 and "would be written as chunk00.avi" in res.stderr, res.stderr
    assert not (tmp_path / "both").exists()


def test_split_writes_one_file_per_input_with_state_carried(chunks, tmp_path):
    out_dir = tmp_path / "split"
    out_dir.mkdir()
    log = TimeLog()
    session = Session.open([str(c) for c in chunks], out_dir, split=True, processors=[log])
    stats = session.run(signals=False)
    assert np.allclose(np.diff(log.times), 1 / 30, atol=1e-6)  # one clock through the joins
    # The speed counts every part's media time: it counted the last part's
    # alone (each part's clock starts at 0), 3.7x against a trip's 8.7x.
    # It counts each part to its last frame's end, as FFmpeg's time= does (a
    # 4.00 s clip counted 3.96 s, trial 86).
    media = len(chunks) * 30 / 30
    assert stats.speed * stats.wall_s == pytest.approx(media, abs=0.1 / 30)
    for chunk in chunks:
        out = out_dir / chunk.name
        times = ffprobe_frame_times(out)
        assert len(times) == 30 and times[0] == pytest.approx(0.0, abs=1e-3)
        assert len(ffprobe_packets(out, "a:0")) == len(ffprobe_packets(chunk, "a:0"))
        assert _match(_decode(out), _decode(chunk)) == list(range(30))
    with pytest.raises(ConfigError, match="nor one that can be made"):
        Session.open([str(c) for c in chunks], tmp_path / "no" / "such", split=True)
    # A file name is no folder to make: it made a folder called split.mkv (trial 34).
    with pytest.raises(ConfigError, match="is a video file's name"):
        Session.open([str(c) for c in chunks], tmp_path / "split.mkv", split=True)
    assert not (tmp_path / "split.mkv").exists()
    with pytest.raises(InputError, match="given twice"):
        Session.open([str(chunks[0]), str(chunks[0])], tmp_path / "dup.mp4")
    with pytest.raises(vidclear_errors.OutputError, match="already exists"):
        Session.open([str(c) for c in chunks], out_dir, split=True)


@pytest.mark.parametrize("ext", [".mp4", ".mov", ".mkv"])
def test_subtitle_cues_are_cut_to_the_trimmed_span(tmp_path, ext):
    # A cue from 1 s to 4 s trimmed with -ss 0.5 -t 2 kept its 3 s: the file
    # lasted a second past its last frame (trial 81 F5); a cue shown at the
    # start (0 to 1 s) was dropped, the caption missing (trial 82 F4).
    src = subtitled_clip(tmp_path / "sub.mp4", "1\n00:00:00,000 --> 00:00:01,000\nN 51.50\n\n"
                         "2\n00:00:01,000 --> 00:00:04,000\nN 51.51\n\n", seconds=5)
    out = tmp_path / f"out{ext}"
    res = _run("run", str(src), "-o", str(out), "-ss", "0.5", "-t", "2")
    assert res.returncode == 0, res.stderr
    cues = srt_dump(out)
    assert cues == ("1\n00:00:00,000 --> 00:00:00,500\nN 51.50\n\n"
                    "2\n00:00:00,500 --> 00:00:02,000\nN 51.51\n\n"), cues
    assert float(ffprobe_streams(out)["format"]["duration"]) == pytest.approx(2.0, abs=0.05)


def test_a_trip_of_segment_muxer_chunks_keeps_every_subtitle_cue(tmp_path):
    # FFmpeg's segment muxer leaves a chunk's last cue ending past its
    # picture; the next chunk's cues then started before that end and were
    # left out as "overlapping the previous file": a dashcam trip's GPS text
    # lost every cue after the first chunk's (trial 137 F4). They are moved
    # to just after it (and said), not lost.
    src = subtitled_clip(tmp_path / "drive.mp4", gps_cues(4), seconds=4, rate="60", audio=True)
    card = tmp_path / "DCIM"
    card.mkdir()
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(src), "-map", "0", "-c:v", "libx264",
                    "-preset", "ultrafast", "-force_key_frames", "expr:gte(t,n_forced*1.5)",
                    "-c:a", "copy", "-c:s", "copy", "-f", "segment", "-segment_time", "1.5",
                    "-reset_timestamps", "1", str(card / "C%04d.MP4")], check=True)
    out = tmp_path / "trip.mkv"
    res = _run("run", str(card), "-o", str(out))
    assert res.returncode == 0, res.stderr
    cues = subprocess.run(["ffmpeg", "-v", "error", "-i", str(out), "-map", "0:s", "-f", "srt",
                           "-"], capture_output=True, text=True, check=True).stdout
    kept = [f"{80 + k} km/h" for k in range(4) if f"{80 + k} km/h" in cues]
    assert kept[:3] == ["80 km/h", "81 km/h", "82 km/h"], (cues, res.stderr)
    assert "moved to just after it" in res.stderr and "left out" not in res.stderr.replace(
        "edit list cuts away, left out", "")
