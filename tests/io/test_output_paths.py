"""Where the bytes go: links, devices, FIFOs, and the files besides the video.

The video is written under a temporary name and renamed when complete. That
must never replace what the name stands for: a symbolic link is written
through (the link stays), a device or FIFO is written into (never renamed
over), and the ``--stats`` and ``--report`` paths are refused before the run,
not after it.
"""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import av
import pytest

from tests.media import ffprobe_streams, make_clip
from vidclear import transcode
from vidclear.errors import OutputError
from vidclear.io.sinks.paths import check_output_path, is_special_file, unwritable, write_file

PY = [sys.executable, "-m", "vidclear"]


def vidclear(*args: str, cwd: Path | None = None):
    return subprocess.run([*PY, *args], capture_output=True, cwd=cwd, timeout=120)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("media") / "clip.mp4", n=12, audio=False)


def _frames(path: Path) -> int:
    video = [s for s in ffprobe_streams(path)["streams"] if s["codec_type"] == "video"]
    return int(video[0]["nb_read_frames"])


def test_a_link_is_written_through_and_stays_a_link(clip, tmp_path):
    target = tmp_path / "real.mp4"
    target.write_bytes(b"old")
    link = tmp_path / "link.mp4"
    link.symlink_to("real.mp4")
    transcode(str(clip), link, overwrite=True)
    assert link.is_symlink() and os.readlink(link) == "real.mp4"
    assert _frames(target) == 12
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.mp4", "real.mp4"]


def test_a_dangling_link_creates_its_target(clip, tmp_path):
    (tmp_path / "media").mkdir()
    link = tmp_path / "out.mp4"
    link.symlink_to(tmp_path / "media" / "made.mp4")
    transcode(str(clip), link)
    assert link.is_symlink() and _frames(tmp_path / "media" / "made.mp4") == 12


def test_a_dangling_link_into_a_missing_folder_is_refused_up_front(clip, tmp_path):
    link = tmp_path / "out.mp4"
    link.symlink_to(tmp_path / "gone" / "x.mp4")
    with pytest.raises(OutputError, match=r"folder does not exist: .*gone.*links to"):
        transcode(str(clip), link)
    assert link.is_symlink() and sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]


def test_a_fifo_is_written_into_not_replaced(clip, tmp_path):
    fifo = tmp_path / "out.mkv"
    os.mkfifo(fifo)
    got = io.BytesIO()

    def read() -> None:
        with open(fifo, "rb") as f:
            got.write(f.read())

    reader = threading.Thread(target=read)
    reader.start()
    transcode(str(clip), fifo, overwrite=True)
    reader.join(timeout=30)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)  # still the FIFO
    got.seek(0)
    with av.open(got, format="matroska") as c:
        assert sum(1 for _ in c.decode(video=0)) == 12
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mkv"]


def test_devices_are_special_and_need_y(tmp_path):
    assert is_special_file(Path("/dev/null")) and not is_special_file(tmp_path)
    assert not is_special_file(tmp_path / "nothing.mp4")
    with pytest.raises(OutputError, match="already exists"):
        check_output_path(Path("/dev/null"), inputs=[], overwrite=False)
    check_output_path(Path("/dev/null"), inputs=[], overwrite=True)


def test_unwritable_is_tried_for_real(tmp_path):
    assert unwritable(tmp_path) is None
    assert list(tmp_path.iterdir()) == []  # the probe is gone
    assert unwritable(Path("/proc")) is not None  # no regular files there, even for root
    with pytest.raises(OutputError, match="cannot create files in /proc"):
        check_output_path(Path("/proc/out.mp4"), inputs=[], overwrite=False)


def test_write_file_replaces_whole_and_keeps_links(tmp_path):
    real = tmp_path / "stats.json"
    real.write_text("old")
    link = tmp_path / "s.json"
    link.symlink_to(real)
    write_file(link, b"new")
    assert link.is_symlink() and real.read_text() == "new"
    with pytest.raises(OutputError, match="cannot write --stats"):
        write_file(tmp_path / "gone" / "s.json", b"x", label="--stats")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json", "stats.json"]


def _one_line_error(res, match: str) -> None:
    err = res.stderr.decode()
    assert res.returncode == 1 and "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("vidclear: error:") and match in lines[0], err


@pytest.mark.parametrize("where, match", [
    ("gone/stats.json", "--stats folder does not exist"),
    ("clip", "is the input file"),
    ("out.mp4", "is also the video output"),
])
def test_bad_stats_paths_are_refused_before_the_run(clip, tmp_path, where, match):
    stats = str(clip) if where == "clip" else str(tmp_path / where)
    before = clip.read_bytes()
    res = vidclear("run", str(clip), "-o", str(tmp_path / "out.mp4"), "--stats", stats)
    _one_line_error(res, match)
    assert list(tmp_path.iterdir()) == [] and clip.read_bytes() == before


def test_an_existing_stats_file_is_replaced_with_y_only(clip, tmp_path):
    # --stats replaced any existing file without -y, where the video and
    # --report refuse (trial 37: a typo destroyed an unrelated file).
    keep = tmp_path / "keep.txt"
    keep.write_text("important\n")
    res = vidclear("run", str(clip), "-o", str(tmp_path / "out.mp4"), "--stats", str(keep))
    _one_line_error(res, "--stats")
    assert "already exists" in res.stderr.decode() and "-y" in res.stderr.decode()
    assert keep.read_text() == "important\n" and not (tmp_path / "out.mp4").exists()
    res = vidclear("run", str(clip), "-o", str(tmp_path / "out.mp4"), "--stats", str(keep),
                   "-y", "-q")
    assert res.returncode == 0, res.stderr.decode()
    assert json.loads(keep.read_text())["frames_out"] == 12
    res = vidclear("run", str(clip), "-o", str(tmp_path / "o2.mp4"), "--stats", "/dev/null",
                   "-q")  # a device is written into, as before
    assert res.returncode == 0, res.stderr.decode()


def test_stats_to_standard_output(clip, tmp_path):
    res = vidclear("run", str(clip), "-o", str(tmp_path / "out.mp4"), "--stats", "/dev/stdout",
                   "-q")
    assert res.returncode == 0, res.stderr.decode()
    assert json.loads(res.stdout)["frames_out"] == 12


def test_an_uncreatable_report_folder_is_refused_before_the_run(clip, tmp_path):
    res = vidclear("run", str(clip), "-o", str(tmp_path / "out.mp4"), "--report",
                   "/proc/vidclear-report")
    _one_line_error(res, "cannot create report folder /proc/vidclear-report")
    assert list(tmp_path.iterdir()) == []


def test_a_report_file_name_taken_by_a_folder_is_refused_before_the_run(clip, tmp_path):
    # with -y it failed after the run, the video already written (trial 37)
    rep = tmp_path / "R"
    (rep / "timeline.png").mkdir(parents=True)
    res = vidclear("run", str(clip), "-o", str(tmp_path / "out.mp4"), "--report", str(rep),
                   "-y")
    _one_line_error(res, "holds folders named timeline.png")
    assert not (tmp_path / "out.mp4").exists()


def test_a_picture_output_says_it_holds_one_frame(clip, tmp_path):
    res = vidclear("run", str(clip), "-o", str(tmp_path / "last.png"))
    assert res.returncode == 0, res.stderr.decode()
    assert "last.png is one picture: it holds the last of the 12 frames" in res.stderr.decode()


def test_stats_and_video_cannot_share_standard_output(clip, tmp_path):
    for stats in ("-", "/dev/stdout"):
        res = vidclear("run", str(clip), "-o", "-", "-f", "matroska", "--stats", stats, "-y")
        _one_line_error(res, "--stats and the video both go to standard output")
        assert res.stdout == b""


def test_stats_dash_is_standard_output(clip, tmp_path):
    res = vidclear("run", str(clip), "-o", str(tmp_path / "out.mp4"), "--stats", "-", "-q")
    assert res.returncode == 0, res.stderr.decode()
    assert json.loads(res.stdout)["frames_out"] == 12
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]


@pytest.mark.parametrize("clash", ["output", "stats"])
def test_a_report_folder_may_not_be_another_output(clip, tmp_path, clash):
    target = str(tmp_path / "same")
    args = ["run", str(clip), "-o", target if clash == "output" else str(tmp_path / "o.mp4"),
            "-f", "mp4", "--report", target]
    if clash == "stats":
        args += ["--stats", target]
    res = vidclear(*args)
    _one_line_error(res, "is also the video output" if clash == "output" else "is also --stats")
    assert list(tmp_path.iterdir()) == []


def test_a_loop_of_links_is_refused(clip, tmp_path):
    loop = tmp_path / "loop.mp4"
    loop.symlink_to("loop.mp4")
    with pytest.raises(OutputError, match="loop of symbolic links"):
        transcode(str(clip), loop, overwrite=True)
    assert loop.is_symlink()


def test_a_replaced_file_keeps_its_permissions(clip, tmp_path):
    out = tmp_path / "private.mp4"
    out.write_bytes(b"old")
    out.chmod(0o600)
    transcode(str(clip), out, overwrite=True)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600 and _frames(out) == 12


def test_a_fifo_without_reader_waits_and_ctrl_c_ends_it(clip, tmp_path):
    import signal
    import time

    fifo = tmp_path / "out.mkv"
    os.mkfifo(fifo)
    proc = subprocess.Popen([*PY, "run", str(clip), "-o", str(fifo), "-y"],
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert proc.stderr is not None
    line = proc.stderr.readline()  # printed once the sink finds no reader
    assert "waiting for a reader on the FIFO" in line, line
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    rest = proc.communicate(timeout=20)[1]
    assert proc.returncode == 130 and "Traceback" not in rest, rest
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_fifo_as_input(clip, tmp_path):
    ts = tmp_path / "in.ts"
    transcode(str(clip), ts)
    fifo = tmp_path / "in.fifo"
    os.mkfifo(fifo)

    def feed() -> None:
        with open(fifo, "wb") as f:
            f.write(ts.read_bytes())

    writer = threading.Thread(target=feed)
    writer.start()
    res = vidclear("run", str(fifo), "-o", str(tmp_path / "out.mkv"), "-q")
    writer.join(timeout=30)
    assert res.returncode == 0, res.stderr.decode()
    assert _frames(tmp_path / "out.mkv") == 12


def _has_unnamed_temporary_files(folder: Path) -> bool:
    if not hasattr(os, "O_TMPFILE"):
        return False
    try:
        os.close(os.open(folder, os.O_WRONLY | os.O_TMPFILE))
    except OSError:
        return False
    return True


@pytest.mark.parametrize("probe", [
    "from vidclear.io.sinks.paths import unwritable as u; check = lambda f: u(f) is None",
    "from vidclear._numba_cache import writable as check",
], ids=["output folder", "numba cache folder"])
def test_a_process_killed_while_it_checks_the_folder_leaves_nothing(tmp_path: Path,
                                                                     probe: str) -> None:
    # Whether a folder can be written is tried for real. The probe was a
    # named file, created and removed: a batch killed by SIGKILL at that
    # moment left `.vidclear-probe.partial-PID` in the user's output folder,
    # and a Ctrl-C while the package loaded left `.vidclear-probe-PID` in its
    # __pycache__ (helpers' trials).
    folder = tmp_path / "out"
    folder.mkdir()
    if not _has_unnamed_temporary_files(folder):
        pytest.skip("this file system has no O_TMPFILE (Python falls back to named files)")
    code = (f"import sys; from pathlib import Path; {probe}\n"
            "folder = Path(sys.argv[1]); print('ready', flush=True)\n"
            "while True:\n    assert check(folder)\n")
    for _ in range(5):
        with subprocess.Popen([sys.executable, "-c", code, str(folder)],
                              stdout=subprocess.PIPE, text=True) as proc:
            assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
            time.sleep(0.2)  # thousands of probes
            proc.kill()
        assert not list(folder.iterdir()), list(folder.iterdir())


def test_the_summary_names_standard_output_in_words(clip):
    # "wrote 12 frames to -" (a new-user trial)
    res = vidclear("run", str(clip), "-o", "-", "-f", "matroska", "--preset", "transcode")
    err = res.stderr.decode()
    assert res.returncode == 0, err
    assert "wrote 12 frames to standard output, in " in err
    assert res.stdout[:4] == b"\x1a\x45\xdf\xa3"  # the Matroska (EBML) header


def test_a_single_frame_run_claims_no_real_time_speed(tmp_path):
    # One picture spans no media time: "0.00x real time" (a new-user trial).
    import cv2
    import numpy as np

    cv2.imwrite(str(tmp_path / "one.png"), np.full((48, 64, 3), 120, np.uint8))
    res = vidclear("run", str(tmp_path / "one.png"), "-o", str(tmp_path / "out.mp4"),
                   "--preset", "transcode")
    err = res.stderr.decode()
    assert res.returncode == 0, err
    assert "wrote 1 frame to" in err and "real time" not in err


def test_stats_never_replace_the_config_file(clip, tmp_path):
    # --stats c.toml -y replaced the --config file it had read (trial 38)
    config = tmp_path / "c.toml"
    config.write_text("[output]\ncrf = 30\n")
    res = vidclear("run", str(clip), "-o", str(tmp_path / "out.mp4"), "--config", str(config),
                   "--stats", str(config), "-y")
    _one_line_error(res, "is the --config file; refusing to overwrite it")
    assert config.read_text() == "[output]\ncrf = 30\n"


def test_a_report_file_that_is_the_input_is_refused_even_with_y(clip, tmp_path):
    # -y replaced the input video through a link named timeline.png in the report
    # folder, and an input still named contact_sheet.png there (trial 39)
    src = tmp_path / "in.mp4"
    src.write_bytes(clip.read_bytes())
    before = src.read_bytes()
    rep = tmp_path / "R"
    rep.mkdir()
    (rep / "timeline.png").symlink_to(src)
    res = vidclear("run", str(src), "-o", str(tmp_path / "out.mp4"), "--report", str(rep), "-y")
    _one_line_error(res, "its timeline.png is an input; refusing to overwrite an input")
    assert src.read_bytes() == before and not (tmp_path / "out.mp4").exists()


def test_an_output_that_is_a_report_file_is_refused(clip, tmp_path):
    # --stats R/frames.csv held the stats JSON; -o R/contact_sheet.png became the
    # contact sheet: one replaced the other without a word (trial 39)
    rep = tmp_path / "R"
    rep.mkdir()
    for args, said in ((["-o", str(tmp_path / "o.mp4"), "--stats", str(rep / "frames.csv")],
                        "--stats"),
                       (["-o", str(rep / "contact_sheet.png")], "the video output")):
        res = vidclear("run", str(clip), *args, "--report", str(rep))
        _one_line_error(res, f"{said} ")
        assert "is one of the --report files" in res.stderr.decode()
    assert list(rep.iterdir()) == [] and not (tmp_path / "o.mp4").exists()


def test_an_earlier_killed_runs_partial_file_is_named_and_kept(tmp_path):
    # After a kill -9 the next run to the same output said nothing of the
    # NAME.partial-PID.mp4 left beside it (trial 53). It is named, never
    # removed (a crash-safe recording's partial file may be all there is); one
    # a live process is writing is not "earlier".
    clip = make_clip(tmp_path / "in.mp4", n=10, size=(64, 48))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead = tmp_path / f"out.partial-{int(gone.stdout)}.mp4"
    alive = tmp_path / f"out.partial-{os.getpid()}.mp4"
    for p in (dead, alive):
        p.write_bytes(b"half a recording")
    res = subprocess.run([*PY, "run", str(clip), "-o", str(tmp_path / "out.mp4")],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert (f"vidclear: note: {dead} is an unfinished file from an earlier run of this output "
            "that was killed (a crash-safe recording plays; otherwise delete it)") in res.stderr
    assert str(alive) not in res.stderr
    assert dead.read_bytes() == alive.read_bytes() == b"half a recording"
    quiet = subprocess.run([*PY, "run", str(clip), "-o", str(tmp_path / "out.mp4"), "-y", "-q"],
                           capture_output=True, text=True, timeout=120)
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr


def test_a_split_runs_partial_files_are_named_too(tmp_path):
    # --split writes one file per input into a folder: a killed run's partial
    # file there went unsaid (trial 55)
    a = make_clip(tmp_path / "a.mp4", n=10, size=(64, 48))
    b = make_clip(tmp_path / "b.mp4", n=10, size=(64, 48))
    folder = tmp_path / "out"
    folder.mkdir()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead = folder / f"b.partial-{int(gone.stdout)}.mp4"
    dead.write_bytes(b"half a recording")
    res = subprocess.run([*PY, "run", str(a), str(b), "--split", "-o", str(folder)],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert f"vidclear: note: {dead} is an unfinished file from an earlier run" in res.stderr
    assert dead.read_bytes() == b"half a recording"
    assert (folder / "a.mp4").exists() and (folder / "b.mp4").exists()
