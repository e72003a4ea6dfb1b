"""FFmpeg habits: -n never overwrites, -v says what is done, examples in --help; stats carry
the version and a config hash."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import vidclear
from tests.media import make_clip

PY = [sys.executable, "-m", "vidclear"]
COMMANDS = ["run", "demo", "synth", "synth haze", "synth bracket", "hdr", "batch", "presets"]


def vidclear_cli(*args: str, timeout: float = 300):
    return subprocess.run([*PY, *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("media") / "clip.mp4", n=10)


def one_error_line(res) -> str:
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    assert lines[0].startswith("vidclear: error:")
    return lines[0]


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_has_runnable_looking_examples(command):
    res = vidclear_cli(*command.split(), "--help", timeout=60)
    assert res.returncode == 0
    text = res.stdout.split("examples:", 1)
    assert len(text) == 2, res.stdout
    examples = [ln.strip() for ln in text[1].splitlines() if ln.strip().startswith("vidclear")]
    assert len(examples) >= 2
    if command:  # each example of a command uses that command
        assert all(ln.split()[1] in (command.split()[0], "run") for ln in examples), examples


def test_n_refuses_an_existing_output_and_leaves_it(clip, tmp_path):
    out = tmp_path / "out.mp4"
    out.write_bytes(b"precious")
    res = vidclear_cli("run", str(clip), "-o", str(out), "-n")
    assert res.returncode == 1
    assert "-n" in one_error_line(res) and str(out) in res.stderr
    assert out.read_bytes() == b"precious"


def test_n_refuses_an_existing_stats_file_before_writing_the_video(clip, tmp_path):
    out, stats = tmp_path / "out.mp4", tmp_path / "stats.json"
    stats.write_text("{}")
    res = vidclear_cli("run", str(clip), "-o", str(out), "--stats", str(stats), "-n")
    assert res.returncode == 1 and "--stats" in one_error_line(res)
    assert not out.exists() and stats.read_text() == "{}"


def test_n_and_y_together_is_a_usage_error(clip, tmp_path):
    res = vidclear_cli("run", str(clip), "-o", str(tmp_path / "o.mp4"), "-n", "-y", timeout=60)
    assert res.returncode == 2 and "not allowed with argument" in one_error_line(res)


@pytest.mark.parametrize(("args", "match"), [
    ((), "required: COMMAND"),
    (("nope",), "invalid choice: 'nope'"),
    (("run",), "required: INPUT"),
    (("run", "in.mp4", "-o"), "-o/--output: expected one argument"),
    # the command's own help is named, as for every other refusal (it was the
    # top level's, which lists no option of the command: trial 101 F6)
    (("run", "in.mp4", "--bogus"), "unrecognized arguments: --bogus ('vidclear run --help'"),
    (("batch", "in/", "-o", "out/", "--gop", "30"),
     "unrecognized arguments: --gop 30 ('vidclear batch --help'"),
    (("batch",), "required"),
    # FFmpeg's options were read as one-letter options run together: -vn as
    # -v -n (a video written anyway), -vf mp4 as -v -f mp4 (MP4 written into
    # out.mkv), -vf hflip as a muxer named hflip (trial 100 F5)
    (("run", "in.mp4", "-o", "out.mkv", "-vn"),
     "unknown option -vn (FFmpeg's; vidclear always writes the video it processes)"),
    (("run", "in.mp4", "-o", "out.mkv", "-vf", "mp4"), "unknown option -vf (FFmpeg's; vidclear has"
                                                       " no filter graph"),
    (("run", "in.mp4", "-o", "out.mkv", "-an"), "unknown option -an (FFmpeg's; --set "
                                                "output.copy_streams=false leaves"),
    (("run", "in.mp4", "-o", "out.mkv", "-qy"), "unknown option -qy"),
    (("batch", "in/", "-o", "out/", "-vf", "hflip"), "unknown option -vf"),
    # and single-dash prefixes were expanded: -s 1 ran as -ss 1 and cut the
    # first second, -p as -pix_fmt (trial 101 F1)
    (("run", "in.mp4", "-o", "out.mkv", "-s", "1"), "unknown option -s (FFmpeg's; vidclear "
                                                    "keeps the input's frame size)"),
    (("run", "in.mp4", "-o", "out.mkv", "-p", "yuv444p"), "unknown option -p"),
    (("run", "-i", "in.mp4", "-o", "out.mkv"), "unknown option -i (FFmpeg's; INPUT is given "
                                               "without it"),
    # the commonest FFmpeg spellings got a bare "unknown option" (trials 138
    # F5, 141 F5)
    (("run", "in.mp4", "-o", "out.mkv", "-c", "copy"), "unknown option -c (FFmpeg's; audio, "
                                                       "subtitles and data are copied as they"),
    (("run", "in.mp4", "-o", "out.mkv", "-c:a", "copy"), "unknown option -c:a (FFmpeg's; audio"),
    (("run", "in.mp4", "-o", "out.mkv", "-acodec", "copy"), "unknown option -acodec (FFmpeg's"),
    (("run", "in.mp4", "-o", "out.mkv", "-preset", "slow"),
     "unknown option -preset (FFmpeg's; the encoder's preset is --set output.preset=NAME"),
    (("run", "in.mp4", "-o", "out.mkv", "-map", "0:v"), "unknown option -map (FFmpeg's; vidclear "
                                                        "processes the video stream FFmpeg"),
    (("run", "in.mp4", "-o", "out.mkv", "-codec:v", "libx264"),
     "unknown option -codec:v (FFmpeg's; vidclear's is -c:v CODEC)"),  # trial 142 F7
    (("run", "in.mp4", "-o", "out.mkv", "-map_metadata", "0"), "unknown option -map_metadata"
                                                              " (FFmpeg's; container and"),
])
def test_usage_errors_are_one_line_too(args, match):
    # argparse printed its whole usage block and "vidclear run: error: ...":
    # eight lines and another prefix than every other error (a new-user trial).
    res = vidclear_cli(*args, timeout=60)
    assert res.returncode == 2
    line = one_error_line(res)
    assert match in line and "--help' lists the options" in line, line


def test_a_file_named_like_an_option_is_named_in_the_error(clip, tmp_path):
    # `vidclear batch -leading.mp4 -o X` said only "unknown option" though
    # the file is there (trial 123 F4); ./NAME and -- both run it
    named = tmp_path / "-leading.mp4"
    named.write_bytes(clip.read_bytes())
    res = subprocess.run([*PY, "batch", "-leading.mp4", "-o", "out"], capture_output=True,
                         text=True, timeout=60, cwd=tmp_path)
    assert res.returncode == 2
    assert ("unknown option -leading.mp4 (-leading.mp4 is also a file: name it "
            "./-leading.mp4, or put -- before the inputs)") in one_error_line(res)
    res = subprocess.run([*PY, "run", "-o", "out.mp4", "-q", "--", "-leading.mp4"],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert res.returncode == 0, res.stderr


def test_n_on_hdr_keeps_an_existing_output(tmp_path):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    for p in (a, b):
        p.write_bytes(b"x")
    out = tmp_path / "s.hdr"
    out.write_bytes(b"precious")
    res = vidclear_cli("hdr", str(a), str(b), "--times", "1", "2", "-o", str(out), "-n",
                       timeout=60)
    assert res.returncode == 1 and "exists" in one_error_line(res)
    assert out.read_bytes() == b"precious"


def test_verbose_says_what_runs_and_vv_adds_ffmpegs_log(clip, tmp_path):
    res = vidclear_cli("run", str(clip), "-o", str(tmp_path / "a.mp4"), "-v",
                       "--set", 'pipeline.processors=["dehaze"]')
    assert res.returncode == 0, res.stderr
    err = res.stderr
    assert f"input: {clip}: 160x120, 30 fps, 10 frames" in err
    assert "processor 0: DehazeProcessor(strength=" in err
    assert "output: EncoderSink(" in err and "OpenCV " in err
    assert re.search(r"config sha256 [0-9a-f]{16}", err)
    assert re.search(r"stage process: 10 frames, [0-9.]+ ms per frame", err)
    assert "[libx264 @" not in err  # FFmpeg's own log only from -vv
    res = vidclear_cli("run", str(clip), "-o", str(tmp_path / "b.mp4"), "-vv")
    assert res.returncode == 0, res.stderr
    assert "[libx264 @" in res.stderr  # FFmpeg's encoder settings line, as ffmpeg -v verbose


def test_stats_carry_version_and_a_config_hash(clip, tmp_path):
    def stats(*overrides: str) -> dict:
        path = tmp_path / f"s{len(list(tmp_path.glob('s*.json')))}.json"
        out = tmp_path / f"{path.stem}.mp4"
        args = [a for o in overrides for a in ("--set", o)]
        res = vidclear_cli("run", str(clip), "-o", str(out), "--stats", str(path), "-q", *args)
        assert res.returncode == 0, res.stderr
        return json.loads(path.read_text())

    a, b, c = stats(), stats(), stats("output.crf=30")
    assert a["vidclear_version"] == vidclear.__version__
    assert re.fullmatch(r"[0-9a-f]{64}", a["config_sha256"])
    assert a["config_sha256"] == b["config_sha256"] != c["config_sha256"]
    assert c["config"]["output"]["crf"] == 30 and a["config"]["output"]["crf"] != 30
    assert isinstance(a["warmup"], dict) and "fps_after_warmup" in a


@pytest.mark.parametrize("interrupted", [False, True])
def test_the_summary_says_where_unwritten_frames_went(interrupted):
    # After Ctrl-C the frames still queued were said to be "absorbed by
    # processors", which only an HDR window filling up does.
    from vidclear.cli.progress import summary_line
    from vidclear.pipeline.stats import PipelineStats

    stats = PipelineStats(interrupted=interrupted)
    stats.stage("decode").frames = 40
    stats.stage("encode").frames = 33
    line = summary_line(stats, "out.mp4")
    assert line.startswith("interrupted: wrote 33" if interrupted else "wrote 33")
    if interrupted:
        assert "7 of 40 decoded frames were still in the pipeline and not written" in line
        assert "absorbed" not in line
    else:
        assert "7 of 40 input frames absorbed by processors" in line


def test_the_summary_counts_the_frames_that_waited_for_the_jit_apart():
    # "(2 frame(s), left out of the latency figures)" where 2 were processed
    # while compiling and 10 waited for them (trial 86)
    from vidclear.cli.progress import summary_line
    from vidclear.pipeline.stats import PipelineStats

    stats = PipelineStats()
    stats.stage("decode").frames = 40
    stats.stage("encode").frames = 40
    proc = stats.stage("process")
    proc.frames, proc.warm_frames, proc.jit_s = 40, 2, 3.0
    stats._warm_latency = [0.4] * 10
    line = summary_line(stats, "out.mp4")
    assert "s of JIT warm-up (2 frame(s); 10 that waited for it are left out of the latency " \
           "figures)" in line, line


def test_an_output_named_like_a_folder_is_refused_as_one(clip, tmp_path):
    # "-o 'out dir/'" (a folder that did not exist) was told it "has no
    # extension to choose a container by" (a new-user trial).
    for target in (tmp_path / "no such dir", tmp_path):
        res = vidclear_cli("run", str(clip), "-o", f"{target}/", timeout=60)
        assert res.returncode == 2
        line = one_error_line(res)
        assert "names a folder" in line and f"{target}/out.mp4" in line, line
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_second_preset_or_config_is_refused_and_ray_options_alone_are_noted(clip, tmp_path):
    # the last --preset won without a word; --address / --cpus-per-job without
    # --engine ray ran on the local engine silently (trial 37)
    res = vidclear_cli("presets", "--preset", "dashcam", "--preset", "webcam", timeout=60)
    assert res.returncode == 2 and "--preset is given twice" in one_error_line(res)
    res = vidclear_cli("run", str(clip), "-o", str(tmp_path / "o.mp4"), "--config", "a.toml",
                       "--config", "b.toml", timeout=60)
    assert res.returncode == 2 and "--config is given twice" in one_error_line(res)
    # a second -o wrote one file of the two without a word (trial 150 F4)
    for command in (["run", str(clip)], ["hdr", str(clip), str(clip)], ["batch", str(clip)]):
        res = vidclear_cli(*command, "-o", str(tmp_path / "x5.mp4"), "-o",
                           str(tmp_path / "x6.mp4"), timeout=60)
        assert res.returncode == 2 and "-o is given twice" in one_error_line(res), command
    assert not list(tmp_path.glob("x*"))
    # ... and every other option naming a file (trial 153 F1, F2)
    for command in (["batch", str(clip), "-o", str(tmp_path / "b2"), "--report"],
                    ["demo", "-o", str(tmp_path / "d.mp4"), "--keep-input"],
                    ["hdr", str(clip), str(clip), "-o", str(tmp_path / "h.hdr"),
                     "--response-plot"]):
        option = command[-1]
        res = vidclear_cli(*command, str(tmp_path / "x7"), option, str(tmp_path / "x8"),
                           timeout=60)
        assert res.returncode == 2 and f"{option} is given twice" in one_error_line(res)
    assert not list(tmp_path.glob("x*")) and not (tmp_path / "b2").exists()
    res = vidclear_cli("batch", str(clip), "-o", str(tmp_path / "b"), "-q", "--address", "auto",
                       "--set", "output.preset=ultrafast", timeout=300)
    assert res.returncode == 0, res.stderr
    assert "--address applies to --engine ray only" in res.stderr


def test_preview_options_without_the_http_preview_are_noted(tmp_path):
    # --listen / --token without --preview http were ignored without a word (trial 38)
    res = vidclear_cli("run", "lavfi:testsrc2=size=96x64:rate=10:duration=0.3", "-o",
                       str(tmp_path / "o.mp4"), "--listen", "127.0.0.1:8090", timeout=120)
    assert res.returncode == 0, res.stderr
    assert "vidclear: note: --listen applies to --preview http only" in res.stderr


def test_a_printed_preset_hashes_as_the_preset(clip, tmp_path):
    # `vidclear presets --preset transcode > t.toml` writes a [copy] table at its
    # defaults: --config t.toml hashed differently from --preset transcode, and
    # a batch switched to the file would redo every file (trial 39)
    from vidclear.batch.state import config_hash
    from vidclear.config import load_config

    res = vidclear_cli("presets", "--preset", "transcode", timeout=60)
    assert res.returncode == 0, res.stderr
    toml = tmp_path / "t.toml"
    toml.write_text(res.stdout)
    hashes = []
    for args in (["--preset", "transcode"], ["--config", str(toml)]):
        stats = tmp_path / f"s{len(hashes)}.json"
        res = vidclear_cli("run", str(clip), "-o", str(tmp_path / f"o{len(hashes)}.mp4"),
                           "--stats", str(stats), "-q", *args)
        assert res.returncode == 0, res.stderr
        hashes.append(json.loads(stats.read_text())["config_sha256"])
    assert hashes[0] == hashes[1]
    assert config_hash(load_config(preset="transcode").to_dict()) == config_hash(
        load_config(config_file=toml).to_dict())


def test_presets_offers_only_what_it_uses():
    # presets --help listed -y, -n, --stats, -q, -v, --progress, and
    # `presets --stats x.json` wrote nothing without a word (trial 39)
    res = vidclear_cli("presets", "--help", timeout=60)
    assert res.returncode == 0 and "--preset" in res.stdout
    for option in ("--stats", "--overwrite", "--progress", "--quiet"):
        assert option not in res.stdout, option
    res = vidclear_cli("presets", "--stats", "x.json", timeout=60)
    assert res.returncode == 2 and "unrecognized arguments: --stats" in one_error_line(res)


def test_ffmpegs_file_protocol_prefix_names_the_path_after_it(clip, tmp_path):
    # `-o file:w.mp4` wrote a file literally named "file:w.mp4" and the same
    # as an input was "not found" (trial 141 F6); FFmpeg reads both as w.mp4
    out = tmp_path / "w.mp4"
    res = vidclear_cli("run", f"file:{clip}", "-o", f"file:{out}", "-q")
    assert res.returncode == 0, res.stderr
    assert out.exists() and not list(tmp_path.glob("file:*"))


@pytest.mark.parametrize("graph, name", [("nosuchsrc=1", "nosuchsrc"),
                                         ("testsrc2=rate=5,null[v];[v]fooscale=2:2", "fooscale"),
                                         # names as FFmpeg reads them (trial 161 F5)
                                         ("testsrc2=rate=5,hflip:bogus", "hflip:bogus"),
                                         ("testsrc2=rate=5,2hflip", "2hflip")])
def test_a_lavfi_graph_with_an_unknown_filter_names_it(tmp_path, graph, name):
    # FFmpeg's error is "Invalid argument"; the filter's name was only in its
    # log (trial 158 F8)
    res = vidclear_cli("run", f"lavfi:{graph}", "-o", str(tmp_path / "l.mp4"))
    assert res.returncode == 1
    assert one_error_line(res) == (f"vidclear: error: cannot open input lavfi:{graph}: the "
                                   f"FFmpeg in PyAV has no filter named '{name}' (vidclear "
                                   "reads through PyAV's FFmpeg, which may lack filters a "
                                   "system ffmpeg has)")
    assert not list(tmp_path.iterdir())


def test_a_lavfi_graph_failing_otherwise_is_not_blamed_on_its_expressions(tmp_path):
    # The commas inside a quoted expression were taken for filter separators:
    # a bad option was blamed on "filters named '80', '255', '0'" (trial 159 F4),
    # commas in a [label] on filters named after it (trial 161 F4). FFmpeg's
    # log names the option and the filter, its error only "Option not found"
    # (trial 161 F5).
    for graph in ("nullsrc=s=64x48:d=1,geq=lum='if(gt(X,80),255,0)':cb=128:cr=128:bogus=1",
                  "testsrc2=s=64x48:d=1[in,x];[in,x]hflip=bogus=1"):
        res = vidclear_cli("run", f"lavfi:{graph}", "-o", str(tmp_path / "l.mp4"))
        assert res.returncode == 1
        line = one_error_line(res)
        assert line.startswith(f"vidclear: error: cannot open input lavfi:{graph}: ")
        assert "no filter named" not in line, line
        assert "non-existent option 'bogus'" in line and "[Parsed_" in line, line
    graph = "nullsrc=s=64x48:d=1,geq=lum='if(gt(X,80),255,0)':cb=128:cr=128:bogus=1"
    ok = vidclear_cli("run", f"lavfi:{graph.removesuffix(':bogus=1')}", "-o",
                      str(tmp_path / "l.mp4"), "-q")
    assert ok.returncode == 0, ok.stderr
