"""The command line as a user meets it: exit codes, one-line errors, no debris."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import shutil
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import av
import numpy as np
import pytest

from tests.media import ffprobe_frame_times, ffprobe_streams, make_clip

PY = [sys.executable, "-m", "vidclear"]


def vidclear(*args: str, cwd: Path | None = None, timeout: float = 120):
    return subprocess.run([*PY, *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout)


def assert_clean_failure(res, match: str, outdir: Path, code: int | None = None) -> None:
    assert res.returncode != 0
    if code is not None:
        assert res.returncode == code
    assert "Traceback" not in res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("vidclear: error:"), lines[0]
    assert match in lines[0], lines[0]
    assert not list(outdir.glob("out*")), list(outdir.iterdir())


def test_version():
    res = vidclear("--version")
    assert res.returncode == 0 and res.stdout.startswith("vidclear ")


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("media") / "clip.mp4", n=20)


def test_run_writes_stats_json(clip, tmp_path):
    out, stats = tmp_path / "out.mp4", tmp_path / "stats.json"
    res = vidclear("run", str(clip), "-o", str(out), "--stats", str(stats))
    assert res.returncode == 0, res.stderr
    data = json.loads(stats.read_text())
    assert data["frames_out"] == 20
    assert set(data["stages"]) == {"decode", "process", "encode"}
    for stage in data["stages"].values():
        assert stage["frames"] == 20 and stage["drops"] == 0
    assert data["packets_copied"] > 0
    assert "wrote 20 frames" in res.stderr


def test_stats_that_cannot_be_written_leave_the_summary_and_the_video(clip, tmp_path,
                                                                       monkeypatch, capsys):
    # A full disk at the --stats file: only its error was printed, exit 1,
    # though the video was there whole (trial 141 F4). The summary comes
    # first, then the error, which says the output is whole.
    import vidclear.cli.run as run_cmd
    from vidclear.cli.main import main
    from vidclear.errors import OutputError

    def full(path, data, *, label):
        raise OutputError(f"cannot write {label} {path}: No space left on device")

    monkeypatch.setattr(run_cmd, "write_file", full)
    out = tmp_path / "out.mp4"
    assert main(["run", str(clip), "-o", str(out), "--stats", str(tmp_path / "s.json")]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == (f"vidclear: error: cannot write --stats {tmp_path / 's.json'}: No space "
                       f"left on device (the output, {out}, is written whole)")
    assert any(line.startswith("wrote 20 frames") for line in err)
    assert int(ffprobe_streams(out)["streams"][0]["nb_read_frames"]) == 20


def test_a_run_without_a_processor_says_it_only_re_encodes(clip, tmp_path):
    # The default chain is copy: without a preset the run is a transcode, and
    # a new user's "vidclear run drive.mp4 -o clear.mp4" said nothing of it.
    res = vidclear("run", str(clip), "-o", str(tmp_path / "out.mp4"))
    assert res.returncode == 0, res.stderr
    notes = [ln for ln in res.stderr.splitlines() if "no processor chosen" in ln]
    assert len(notes) == 1 and "--preset dashcam" in notes[0], res.stderr
    assert "wrote 20 frames" in res.stderr and ", in " in res.stderr
    for chosen in (["--preset", "transcode"], ["--set", 'pipeline.processors=["copy"]'], ["-q"]):
        res = vidclear("run", str(clip), "-o", str(tmp_path / "again.mp4"), "-y", *chosen)
        assert res.returncode == 0, res.stderr
        assert "no processor chosen" not in res.stderr, (chosen, res.stderr)


def test_lavfi_input(tmp_path):
    out = tmp_path / "out.mkv"
    res = vidclear("run", "lavfi:testsrc2=size=128x96:rate=25:duration=1", "-o", str(out))
    assert res.returncode == 0, res.stderr
    v = ffprobe_streams(out)["streams"][0]
    assert int(v["nb_read_frames"]) == 25 and v["width"] == 128


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda d: d / "missing.mp4", "input not found"),
        (lambda d: _write(d / "notes.mp4", b"this is not a video\n" * 50), "cannot open input"),
        (lambda d: _write(d / "empty.mp4", b""), "empty"),
        (lambda d: d, "directory"),
    ],
    ids=["missing", "not-video", "zero-length", "directory"],
)
def test_bad_inputs(tmp_path, make, match):
    src = make(tmp_path)
    res = vidclear("run", str(src), "-o", str(tmp_path / "out.mp4"))
    assert_clean_failure(res, match, tmp_path, code=1)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_truncated_input(clip, tmp_path):
    # Write a faststart MP4 (index first), then cut it in half.
    full = tmp_path / "full.mp4"
    assert vidclear("run", str(clip), "-o", str(full)).returncode == 0
    data = full.read_bytes()
    cut = _write(tmp_path / "cut.mp4", data[: len(data) // 2])
    res = vidclear("run", str(cut), "-o", str(tmp_path / "out.mp4"))
    assert_clean_failure(res, "truncated", tmp_path, code=1)


def test_unknown_codec(tmp_path):
    src = make_clip(tmp_path / "x.mkv", n=5, audio=False)
    data = src.read_bytes()
    assert data.count(b"V_MPEG4/ISO/AVC") == 1
    bad = _write(tmp_path / "unknown.mkv", data.replace(b"V_MPEG4/ISO/AVC", b"V_VIDCLEAR/NOPE"))
    res = vidclear("run", str(bad), "-o", str(tmp_path / "out.mp4"))
    assert_clean_failure(res, "decoder", tmp_path, code=1)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--set", "output.crf=99"], "output.crf"),
        (["--set", "output.nope=1"], "unknown key output.nope"),
        (["--set", "pipeline.processors=[\"warp\"]"], "unknown processor 'warp'"),
        (["--set", "pipeline.mode=fast"], "pipeline.mode"),
        (["--set", "output.codec=nonexistent264"], "output.codec"),
        (["--set", "output.pix_fmt=rgb0"], "output.pix_fmt"),
        (["--set", "nonsense"], "section.key=value"),
        (["--preset", "nope"], "unknown preset 'nope'"),
    ],
)
def test_bad_config(clip, tmp_path, args, match):
    res = vidclear("run", str(clip), "-o", str(tmp_path / "out.mp4"), *args)
    assert_clean_failure(res, match, tmp_path, code=2)


def test_a_setting_for_a_processor_the_chain_does_not_run_is_pointed_out(clip, tmp_path):
    # `run --help` showed `--set dehaze.strength=0.7` without a preset: the
    # default chain is copy, so the run only transcoded, without a word.
    res = vidclear("run", str(clip), "-o", str(tmp_path / "a.mp4"),
                   "--set", "dehaze.strength=0.7", "--set", "dehaze.omega=0.9")
    assert res.returncode == 0
    notes = [ln for ln in res.stderr.splitlines() if "has no effect" in ln]
    assert len(notes) == 1 and "dehaze.strength" in notes[0] and "['copy']" in notes[0]
    assert "add 'dehaze' there, or use a preset that runs it: --preset dashcam" in notes[0]
    res = vidclear("run", str(clip), "-o", str(tmp_path / "b.mp4"), "--preset", "dashcam",
                   "--set", "dehaze.strength=0.7")
    assert res.returncode == 0 and "has no effect" not in res.stderr
    cfg = _write(tmp_path / "mine.toml", b"[dehaze]\nstrength = 0.7\n")  # a file alike
    res = vidclear("run", str(clip), "-o", str(tmp_path / "c.mp4"), "--config", str(cfg))
    assert res.returncode == 0 and "[dehaze] in the config file has no effect" in res.stderr


def test_a_live_run_says_it_leaves_the_audio_out(clip, tmp_path):
    # A live run drops frames, so it copies no audio; it used to say nothing.
    res = vidclear("run", str(clip), "-o", str(tmp_path / "live.mp4"),
                   "--set", "pipeline.mode=live")
    assert res.returncode == 0, res.stderr
    assert "audio stream(s) were not copied: a live run" in res.stderr
    with av.open(str(tmp_path / "live.mp4")) as c:
        assert not c.streams.audio
    res = vidclear("run", str(clip), "-o", str(tmp_path / "file.mp4"))
    assert res.returncode == 0 and "not copied" not in res.stderr


def test_a_file_in_a_live_run_can_be_trimmed(clip, tmp_path):
    # The webcam config's pipeline.mode = "live" with -t on a file was
    # refused as "not a live stream or camera" (trial 60): a file is
    # trimmed, then played at its own rate.
    out = tmp_path / "live.mp4"
    res = vidclear("run", str(clip), "-o", str(out), "-t", "0.5",
                   "--set", "pipeline.mode=live")
    assert res.returncode == 0, res.stderr
    times = ffprobe_frame_times(out)
    assert 0 < len(times) <= 15 and times[-1] < 0.5, times


@pytest.mark.parametrize("sizes", [((64, 48), (64, 48)), ((64, 48), (96, 64))])
def test_a_second_video_stream_is_mentioned_and_ffmpegs_choice_is_taken(tmp_path, sizes):
    # A front-and-rear dashcam file: the rear camera was left out without a
    # word; and the first stream was taken where ffmpeg takes the largest.
    src = tmp_path / "two.mkv"
    with av.open(str(src), "w") as out:
        streams = []
        for w, h in sizes:
            vs = out.add_stream("libx264", rate=25)
            vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
            streams.append(vs)
        for i in range(5):
            for k, vs in enumerate(streams):
                img = np.full((vs.height, vs.width, 3), 50 + 40 * k + i, np.uint8)
                for packet in vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                    out.mux(packet)
        for vs in streams:
            for packet in vs.encode():
                out.mux(packet)
    res = vidclear("run", str(src), "-o", str(tmp_path / "out.mkv"))
    assert res.returncode == 0, res.stderr
    assert "1 more video stream" in res.stderr
    ref = tmp_path / "ref.mkv"
    subprocess.run([shutil.which("ffmpeg") or "ffmpeg", "-v", "error", "-i", str(src),
                    str(ref)], check=True)
    want = ffprobe_streams(ref)["streams"][0]
    got = ffprobe_streams(tmp_path / "out.mkv")["streams"][0]
    assert (got["width"], got["height"]) == (want["width"], want["height"])
    index = 1 if sizes[1] != sizes[0] else 0
    assert f"stream #{index} ({sizes[index][0]}x{sizes[index][1]})" in res.stderr


def test_bad_config_file(clip, tmp_path):
    cfg = _write(tmp_path / "bad.toml", b"[output]\ncrf = 'high'\n")
    res = vidclear("run", str(clip), "-o", str(tmp_path / "out.mp4"), "--config", str(cfg))
    assert_clean_failure(res, "output.crf", tmp_path, code=2)
    broken = _write(tmp_path / "broken.toml", b"[output\n")
    res = vidclear("run", str(clip), "-o", str(tmp_path / "out.mp4"), "--config", str(broken))
    assert_clean_failure(res, "not valid TOML", tmp_path, code=2)


def test_refuses_to_overwrite(clip, tmp_path):
    out = _write(tmp_path / "out.mp4", b"precious")
    res = vidclear("run", str(clip), "-o", str(out))
    assert res.returncode == 1 and "already exists" in res.stderr and "-y" in res.stderr
    assert out.read_bytes() == b"precious"
    res = vidclear("run", str(clip), "-o", str(out), "-y")
    assert res.returncode == 0, res.stderr
    assert out.stat().st_size > 1000


def test_never_overwrites_the_input_even_with_y(clip, tmp_path):
    src = tmp_path / "in.mp4"
    src.write_bytes(clip.read_bytes())
    before = src.read_bytes()
    res = vidclear("run", str(src), "-o", str(tmp_path / "." / "in.mp4"), "-y")
    assert res.returncode == 1 and "input" in res.stderr
    assert src.read_bytes() == before


def test_unwritable_output_folder(clip, tmp_path):
    res = vidclear("run", str(clip), "-o", str(tmp_path / "no" / "such" / "out.mp4"))
    assert res.returncode == 1 and "does not exist" in res.stderr
    res = vidclear("run", str(clip), "-o", str(tmp_path / "out.xyz"))
    # An extension no container has is a usage error (exit 2), as for -f with no muxer.
    assert res.returncode == 2 and ".xyz" in res.stderr and "Traceback" not in res.stderr


def _wait_for_partial(folder: Path, stem: str) -> None:
    """Until the run writing ``folder/stem.mp4`` has 20 kB in its partial file (60 s at most)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(0.3)
        partial = list(folder.glob(f"{stem}.partial-*.mp4"))
        if partial and partial[0].stat().st_size > 20000:
            return


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signal_mid_run_leaves_a_playable_file(tmp_path, sig):
    out = tmp_path / "live.mp4"
    # An endless lavfi source: only the signal ends this run.
    proc = subprocess.Popen(
        [*PY, "run", "lavfi:testsrc2=size=320x240:rate=30", "-o", str(out),
         "--set", "output.preset=ultrafast"],
        stderr=subprocess.PIPE, text=True)
    _wait_for_partial(tmp_path, "live")
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, err  # 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP
    assert "Traceback" not in err and "interrupted: wrote" in err
    assert out.exists() and not list(tmp_path.glob("*.partial-*"))
    info = ffprobe_streams(out)
    frames = int(info["streams"][0]["nb_read_frames"])
    assert frames > 10
    assert f"interrupted: wrote {frames} frames" in err


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_after_the_summary_leaves_the_exit_status_alone(tmp_path, sig):
    # The run is over and said so; a Ctrl-C landing while the interpreter
    # shut down (a tenth of a second and more) made the status 130 under a
    # summary of a whole run (trial 142 F10), a SIGTERM 143 (trial 147 F7)
    out = tmp_path / "done.mkv"
    proc = subprocess.Popen(
        [*PY, "run", "lavfi:testsrc2=size=160x120:rate=25:duration=1", "-o", str(out),
         "--preset", "transcode"], stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if line.startswith("wrote "):
            proc.send_signal(sig)
            break
    err = "".join(lines) + proc.communicate(timeout=60)[1]
    assert proc.returncode == 0, err
    assert "wrote 25 frames" in err and "interrupted" not in err
    assert int(ffprobe_streams(out)["streams"][0]["nb_read_frames"]) == 25


def _ignore_sigint() -> None:
    """In the child: SIGINT ignored, as a shell starts a script's ``&`` jobs."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def test_sigint_while_the_command_loads_stops_a_background_job(tmp_path):
    # A script's background job starts with SIGINT ignored; the run's
    # handlers take it anyway, but a kill -INT while the modules loaded (the
    # first half second) was lost and the run went on to its end with exit 0
    # (trial 119 F2). The signal here lands as numpy loads, inside vidclear's
    # import; the source is endless, so only the signal ends the run.
    out = tmp_path / "early.mkv"
    proc = subprocess.Popen(
        [*PY, "run", "lavfi:testsrc2=size=320x240:rate=30", "-o", str(out),
         "--set", "output.preset=ultrafast"],
        stderr=subprocess.PIPE, text=True, preexec_fn=_ignore_sigint)
    maps = Path(f"/proc/{proc.pid}/maps")
    deadline = time.monotonic() + 30
    while "_multiarray_umath" not in maps.read_text() and time.monotonic() < deadline:
        time.sleep(0.002)
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("the run went on after SIGINT")
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    assert not list(tmp_path.glob("*.partial-*"))


def _ignore_hangups() -> None:
    """In the child: SIGHUP ignored, as ``nohup`` leaves it."""
    signal.signal(signal.SIGHUP, signal.SIG_IGN)


def test_a_run_under_nohup_outlives_a_hangup(tmp_path):
    # nohup ignores SIGHUP so that a job outlives its terminal; vidclear put
    # its own handler over that, and a hangup 3 s in ended the run at 163 of
    # 900 frames (trial 60). It finishes the whole clip now.
    out = tmp_path / "long.mp4"
    proc = subprocess.Popen(
        [*PY, "run", "lavfi:testsrc2=size=320x240:rate=30:duration=5,realtime", "-o", str(out),
         "--set", "output.preset=ultrafast"],
        stderr=subprocess.PIPE, text=True, preexec_fn=_ignore_hangups)
    _wait_for_partial(tmp_path, "long")
    assert proc.poll() is None  # mid-run: the graph plays in real time
    proc.send_signal(signal.SIGHUP)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "interrupted" not in err
    info = ffprobe_streams(out)
    assert int(info["streams"][0]["nb_read_frames"]) == 150


def _own_terminal() -> None:
    """In the child: a session of its own, with its standard input's pty as its terminal."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def test_a_closed_terminal_still_gets_its_file_finished(tmp_path):
    # SIGHUP killed the run at once and left NAME.partial-PID.mp4 (trial 55).
    # A terminal that closes is hung up first: every write to it (the progress
    # bar, the summary) fails with EIO from then on, before the kernel's SIGHUP
    # arrives, and the run failed and deleted its partial file (trial 56). Here
    # the pty is the run's controlling terminal, and closing it is all the test
    # does, as closing a terminal window or an SSH session does.
    out = tmp_path / "hup.mp4"
    master, slave = pty.openpty()  # an 80-column terminal (0 columns: tqdm draws nothing)
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen(
        [*PY, "run", "lavfi:testsrc2=size=320x240:rate=30", "-o", str(out),
         "--set", "output.preset=ultrafast"],
        stdin=slave, stdout=slave, stderr=slave, preexec_fn=_own_terminal)
    os.close(slave)
    seen = bytearray()

    def drain() -> None:  # the bar must not block on a full terminal buffer
        with contextlib.suppress(OSError):
            while chunk := os.read(master, 4096):
                seen.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        _wait_for_partial(tmp_path, "hup")
        assert b"f/s" in seen  # the progress bar was drawn on the terminal
        os.close(master)  # the terminal closes: hung up, then the kernel's SIGHUP
        assert proc.wait(timeout=60) == 128 + signal.SIGHUP
    finally:
        if proc.poll() is None:  # an endless run: never left behind by a failure
            proc.kill()
            proc.wait()
    assert out.exists() and not list(tmp_path.glob("*.partial-*"))
    assert int(ffprobe_streams(out)["streams"][0]["nb_read_frames"]) > 10


def test_quiet_says_nothing_when_a_signal_stops_the_run(tmp_path):
    # -q printed "vidclear: signal 2: finishing ... with the frames so far" (trial 38)
    out = tmp_path / "q.mp4"
    proc = subprocess.Popen(
        [*PY, "run", "lavfi:testsrc2=size=160x120:rate=30", "-o", str(out), "-q",
         "--set", "output.preset=ultrafast"], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(tmp_path.glob("q.partial-*.mp4")):
        time.sleep(0.2)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err == "", err
    assert int(ffprobe_streams(out)["streams"][0]["nb_read_frames"]) > 0


def test_hard_kill_leaves_a_playable_crash_safe_recording(tmp_path):
    out = tmp_path / "rec.mp4"
    proc = subprocess.Popen(
        [*PY, "run", "lavfi:testsrc2=size=320x240:rate=30", "-o", str(out),
         "--set", "output.crash_safe=on", "--set", "output.preset=ultrafast"],
        stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    partial: list[Path] = []
    while time.monotonic() < deadline:
        time.sleep(0.3)
        partial = list(tmp_path.glob("rec.partial-*.mp4"))
        if partial and partial[0].stat().st_size > 200000:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert not out.exists()  # never a broken file under the requested name
    assert len(partial) == 1
    frames = int(ffprobe_streams(partial[0])["streams"][0]["nb_read_frames"])
    assert frames > 10


def test_a_ctrl_c_a_library_call_swallowed_still_stops_the_run(tmp_path):
    # A kill -INT that lands inside a library call can come out as that
    # library's own error (PyAV's "exit requested", taken by a probe for an
    # unreadable stream): the run went on to its end with exit 0 (trial 141
    # F2). The command remembers the signal and its run stops at once.
    out = tmp_path / "o.mkv"
    code = f"""
import os, signal, sys, time
sys.argv[0] = "/usr/local/bin/vidclear"
import vidclear
try:  # a library call that swallows the KeyboardInterrupt
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(1)
except KeyboardInterrupt:
    pass
from vidclear.cli.main import main
sys.exit(main(["run", "lavfi:testsrc2=size=64x48:rate=30", "-o", {str(out)!r}]))
"""
    try:
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=60, cwd=Path(__file__).parents[2])
    except subprocess.TimeoutExpired:
        pytest.fail("the run went on after SIGINT")
    assert res.returncode == 130, res.stderr
    assert "Traceback" not in res.stderr and "interrupted" in res.stderr


@pytest.mark.parametrize("flags", [["-m"], ["-um"], ["-B", "-Om"]])
def test_a_program_run_with_python_m_that_imports_vidclear_keeps_its_sigint(tmp_path, flags):
    # `python -m yourtool` reads as "-m" while the module is located, as
    # `python -m vidclear` does: vidclear took its ignored SIGINT for the
    # command's and a background job of that program died at kill -INT
    # (trial 142 F1)
    pkg = tmp_path / "mytool"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("import vidclear\n")
    (pkg / "cli.py").write_text("import signal\n"
                                "print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN)\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path),
                                                        str(Path(__file__).parents[2])])}
    # (-m closing a run of short flags too: trial 143 F1)
    res = subprocess.run([sys.executable, *flags, "mytool.cli"], capture_output=True, text=True,
                         timeout=120, env=env, preexec_fn=_ignore_sigint)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "True"  # still ignored, not vidclear's handler


@pytest.mark.parametrize("wrapped", [False, True])
@pytest.mark.parametrize("argv0", ["/usr/local/bin/vidclear", "-m", "my_script.py"])
def test_ctrl_c_while_the_package_loads(argv0: str, wrapped: bool) -> None:
    # Ctrl-C in the first fraction of a second, while `import av` runs inside
    # the package's import and before the command's own handler: a 28-line
    # traceback (a helper's trial). The command now exits 130 in one line;
    # a program of yours that imports vidclear still gets its KeyboardInterrupt.
    # wrapped: as Python 3.11 raises it from inside a dataclass being made,
    # a RuntimeError caused by the KeyboardInterrupt (a traceback and exit 1,
    # trial 141 F3)
    code = f"""
import sys
class Interrupt:  # Ctrl-C arriving while PyAV is imported
    def find_spec(self, name, path=None, target=None):
        if name == "av":
            if {wrapped!r}:
                try:
                    raise KeyboardInterrupt
                except KeyboardInterrupt as exc:
                    raise RuntimeError("Error calling __set_name__") from exc
            raise KeyboardInterrupt
sys.meta_path.insert(0, Interrupt())
sys.argv[0] = {argv0!r}
from vidclear.cli.main import main
sys.exit(main(["--version"]))
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=Path(__file__).parents[2])
    if argv0 == "my_script.py":  # Python's own ending: killed by SIGINT, traceback
        if wrapped:
            assert res.returncode == 1 and "RuntimeError" in res.stderr
        else:
            assert res.returncode == -signal.SIGINT
            assert res.stderr.strip().splitlines()[-1] == "KeyboardInterrupt"
    else:
        assert (res.returncode, res.stderr) == (130, "vidclear: interrupted\n")
    assert res.stdout == ""


def test_an_empty_path_option_is_refused_in_one_line(tmp_path):
    # "" meant the current folder or nothing: `-o ""` was "output . is a
    # directory", `--stats ""` wrote no stats without a word, `vidclear hdr ""`
    # read EXIF from "." (trial 36).
    from tests.media import make_clip

    clip = str(make_clip(tmp_path / "in.mp4", n=3, size=(32, 24), audio=False))
    for argv, said in ((["run", clip, "-o", ""], "the output is empty"),
                       (["run", clip, "-o", str(tmp_path / "o.mp4"), "--stats", ""],
                        "--stats is empty"),
                       (["run", clip, "-o", str(tmp_path / "o.mp4"), "--report", " "],
                        "--report is blank"),  # not "" (trial 38)
                       (["run", clip, "-o", str(tmp_path / "o.mp4"), "--preset", ""],
                        "--preset is empty"),
                       (["synth", "haze", clip, ""], "the output is empty"),
                       (["hdr", "", clip, "-o", str(tmp_path / "e.hdr")], "an input is empty")):
        res = subprocess.run([*PY, *argv], capture_output=True, text=True, timeout=120)
        assert res.returncode == 2 and said in res.stderr, (argv, res.stderr)
        assert len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o.mp4").exists()


def test_ffmpegs_encoder_options_set_the_output(clip, tmp_path):
    # -c:v was "unrecognized arguments" and said nothing of output.codec
    # (trial 81 F3); FFmpeg users reach for -c:v, -crf, -b:v and -pix_fmt.
    out = tmp_path / "x.mkv"
    res = vidclear("run", str(clip), "-o", str(out), "-c:v", "libx265", "-crf", "32",
                   "-pix_fmt", "yuv444p", "--stats", str(tmp_path / "s.json"))
    assert res.returncode == 0, res.stderr
    video = ffprobe_streams(out)["streams"][0]
    assert (video["codec_name"], video["pix_fmt"]) == ("hevc", "yuv444p")
    config = json.loads((tmp_path / "s.json").read_text())["config"]["output"]
    assert (config["codec"], config["crf"]) == ("libx265", 32)
    # HEVC in MP4 as 'hvc1', which Apple's players need (FFmpeg's default
    # 'hev1' plays nowhere there; trial 85 F12)
    res = vidclear("run", str(clip), "-o", str(tmp_path / "h.mp4"), "-c:v", "libx265")
    assert res.returncode == 0, res.stderr
    assert ffprobe_streams(tmp_path / "h.mp4")["streams"][0]["codec_tag_string"] == "hvc1"
    res = vidclear("run", str(clip), "-o", str(tmp_path / "y.mp4"), "-vcodec", "mpeg4",
                   "-b:v", "300k")
    assert res.returncode == 0 and "constant rate factor" not in res.stderr, res.stderr
    assert ffprobe_streams(tmp_path / "y.mp4")["streams"][0]["codec_name"] == "mpeg4"
    # -crf with an encoder that has none was dropped without a word; FFmpeg
    # warns that it "has not been used" (trial 82 F3)
    res = vidclear("run", str(clip), "-o", str(tmp_path / "c.mp4"), "-c:v", "mpeg4",
                   "-crf", "12")
    assert res.returncode == 0, res.stderr
    assert "mpeg4 has no constant rate factor (crf 12 is not used)" in res.stderr, res.stderr
    # MJPEG takes JPEG's full-range formats: yuv420p was refused ("could not
    # start"), where FFmpeg picks yuvj420p (trial 82 F3)
    res = vidclear("run", str(clip), "-o", str(tmp_path / "j.avi"), "-c:v", "mjpeg")
    assert res.returncode == 0 and "mjpeg writes yuvj420p" in res.stderr, res.stderr
    assert ffprobe_streams(tmp_path / "j.avi")["streams"][0]["pix_fmt"] == "yuvj420p"
    # -crf 20 --set output.crf=30 ran at 30 whatever the order, without a
    # word; an emptied chain was a plain transcode without the note the
    # default chain gets (trial 86)
    res = vidclear("run", str(clip), "-o", str(tmp_path / "e.mp4"), "--set",
                   "pipeline.processors=[]", "-c:v", "h264", "--set", "output.codec=libx264",
                   "-b:v", "1M", "--set", "output.bitrate=1000k")  # the same, written otherwise
    assert res.returncode == 0 and "pipeline.processors is empty" in res.stderr, res.stderr
    for args, text in ((("-crf", "abc"), "-crf 'abc' is not allowed"),
                       (("-crf", "20", "--set", "output.crf=30"),
                        "-crf 20 and --set output.crf=30 disagree"),
                       (("-c:v", "nope1", "--set", "output.codec=nope2"),  # (trial 88)
                        "-c:v 'nope1' is not an encoder this FFmpeg has"),
                       (("-c:v", "nope"), "output.codec = 'nope' is not an encoder"),
                       (("-c:v", "copy"), "-c:v copy is not possible: vidclear re-encodes")):
        res = vidclear("run", str(clip), "-o", str(tmp_path / "z.mp4"), *args)
        assert res.returncode == 2 and text in res.stderr, res.stderr
        assert len(res.stderr.strip().splitlines()) == 1 and not (tmp_path / "z.mp4").exists()


def test_the_compile_message_says_first_run_only_on_the_first(tmp_path, monkeypatch):
    # After the demo had cached the dehaze kernels, a run adding clahe said
    # "first run: compiling the Numba kernels (a minute or two ...)" for 4 s
    # of compiling one package (trial 133 F4).
    import types

    from vidclear._numba_cache import MARKER, code_digest
    from vidclear.cli.run import _uncompiled

    def package(name: str, cached: bool, digest: str | None = None) -> types.ModuleType:
        folder = tmp_path / name
        (folder / "__pycache__").mkdir(parents=True)
        if cached:
            (folder / "__pycache__" / "k.py311.nbi").write_bytes(b"")
            (folder / "__pycache__" / MARKER).write_text((digest or code_digest()) + "\n")
        module = types.ModuleType(f"vidclear.{name}")
        module.__file__ = str(folder / "__init__.py")
        return module

    def processor(domain: str) -> object:
        return type("P", (), {"__module__": f"vidclear.processors.{domain}"})()

    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    session = types.SimpleNamespace(processors=[processor("dehaze"), processor("enhance")])
    for dehaze, enhance, hdr, want in ((False, False, False, (["dehaze", "enhance"], True)),
                                       (True, False, False, (["enhance"], False)),
                                       (False, False, True, (["dehaze", "enhance"], False)),
                                       (True, True, False, ([], False))):
        for name, cached in (("dehaze", dehaze), ("enhance", enhance), ("hdr", hdr)):
            shutil.rmtree(tmp_path / name, ignore_errors=True)
            monkeypatch.setitem(sys.modules, f"vidclear.{name}", package(name, cached))
        assert _uncompiled(session) == want, (dehaze, enhance, hdr)
    # Kernels cached from other code (a kernel module changed: git pull) are
    # compiled again: said, where the cache files' presence alone said
    # nothing for 32 s (trial 134 F5)
    for name in ("dehaze", "enhance", "hdr"):
        shutil.rmtree(tmp_path / name, ignore_errors=True)
        monkeypatch.setitem(sys.modules, f"vidclear.{name}",
                            package(name, True, digest="0" * 64 if name == "dehaze" else None))
    assert _uncompiled(session) == (["dehaze"], False)
