"""vidclear batch on the local engine: tree mirroring, corrupt files, resume, manifests."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import pytest

from tests.media import cut_in_last_frame, ffprobe_streams, make_clip, noise_ts
from vidclear.batch import BatchOptions, BatchState, collect_inputs, input_identity, run_batch
from vidclear.batch.inputs import collect_trips
from vidclear.cli.main import main
from vidclear.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
FAST = ["output.threads=1", "output.preset=ultrafast"]


def sets(values: list[str]) -> list[str]:
    return [arg for v in values for arg in ("--set", v)]


def frames(path: Path) -> int:
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


def test_collect_inputs_mirrors_tree(clips: Path, tmp_path: Path) -> None:
    items = collect_inputs([str(clips / "in")], tmp_path)
    rel = sorted(str(i.output.relative_to(tmp_path)) for i in items)
    assert rel == ["a.mp4", "c.mp4", "sub/b.mp4"]
    items = collect_inputs([str(clips / "in" / "*.mp4"), str(clips / "in" / "sub" / "b.mp4")],
                           tmp_path, suffix=".mkv")
    assert sorted(str(i.output.relative_to(tmp_path)) for i in items) == [
        "a.mkv", "c.mkv", "sub/b.mkv"]


def test_an_empty_input_is_refused_not_the_current_folder(clips: Path, tmp_path: Path,
                                                          monkeypatch) -> None:
    # `vidclear batch "$CLIPS"` with the variable unset ran every video in the
    # working folder: Path("") is "." (trial 34).
    monkeypatch.chdir(clips / "in")
    with pytest.raises(InputError, match="an input is empty"):
        collect_inputs([""], tmp_path)
    assert main(["batch", "", "-o", str(tmp_path / "out"), "-q"]) == 1
    with pytest.raises(InputError, match="an input is empty"):  # --trips too (trial 36)
        collect_trips([""], tmp_path)
    assert main(["batch", "--trips", "", "-o", str(tmp_path / "out"), "-q"]) == 1
    # -o "" wrote the outputs, state and report into the working folder (trial 37)
    assert main(["batch", str(clips / "in" / "a.mp4"), "-o", "", "-q"]) == 2
    assert sorted(p.name for p in (clips / "in").iterdir()) == ["a.mp4", "c.mp4", "sub"]
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").rglob("*.mp4"))


def test_two_rows_of_one_input_with_different_settings_need_their_own_outputs(
        clips: Path, tmp_path: Path) -> None:
    # a pq row and an hlg row for one clip, neither naming an output: one table
    # row, "1 done", the hlg row gone without a word (trial 37)
    a = clips / "in" / "a.mp4"
    rows = tmp_path / "rows.jsonl"
    rows.write_text("\n".join(json.dumps({"input": str(a), "hdr_bracket.output": o})
                              for o in ("pq", "hlg")) + "\n")
    with pytest.raises(InputError, match="two rows for .*a.mp4 with different settings would "
                                         "both write .*: give each row its own output"):
        collect_inputs([str(rows)], tmp_path / "out")
    same = tmp_path / "same.jsonl"  # the same row twice is one job, as before
    same.write_text(json.dumps({"input": str(a)}) + "\n" + json.dumps({"input": str(a)}) + "\n")
    assert len(collect_inputs([str(same)], tmp_path / "out")) == 1


def test_a_manifest_cannot_write_over_another_jobs_input(clips: Path, tmp_path: Path) -> None:
    # a.mp4 -> b.mp4 and b.mp4 -> c.mp4 in one folder: with -y the first job
    # replaced b.mp4 before the second read it (a new-user trial).
    work = tmp_path / "w"
    shutil.copytree(clips / "in", work)
    manifest = work / "jobs.csv"
    manifest.write_text("input,output\na.mp4,c.mp4\nc.mp4,d.mp4\n")
    before = (work / "c.mp4").read_bytes()
    with pytest.raises(InputError, match="would overwrite an input of this batch"):
        collect_inputs([str(manifest)], work)
    assert main(["batch", str(manifest), "-o", str(work), "-y", "-q"]) == 1
    assert (work / "c.mp4").read_bytes() == before
    assert not (work / "d.mp4").exists()


def _tree_with_outputs(clips: Path, inp: Path, outdir: Path) -> list:
    """A copy of the clips' input tree at ``inp``, with the batch's outputs in ``outdir``."""
    shutil.copytree(clips / "in", inp)
    items = collect_inputs([str(inp)], outdir)
    for item in items:
        item.output.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(item.input, item.output)
    return items


def test_outdir_inside_an_input_folder_is_not_read_back(clips: Path, tmp_path: Path) -> None:
    # `batch in -o in/out` twice found in/out/*.mp4 the second time and wrote
    # in/out/out/..., one level deeper on every run.
    inp = tmp_path / "in"
    first = _tree_with_outputs(clips, inp, inp / "out")
    again = collect_inputs([str(inp)], inp / "out")
    assert [i.input for i in again] == [i.input for i in first]
    assert not any(i.input.is_relative_to(inp / "out") for i in again)
    globbed = collect_inputs([str(inp / "**" / "*.mp4")], inp / "out")
    assert not any(i.input.is_relative_to(inp / "out") for i in globbed)


def test_another_batchs_outdir_below_an_input_is_skipped_with_a_note(clips: Path,
                                                                     tmp_path: Path) -> None:
    # `batch in -o in/prev` and then `batch in -o elsewhere` dehazed in/prev's
    # outputs a second time, as if they were footage.
    inp = tmp_path / "in"
    prev = _tree_with_outputs(clips, inp, inp / "prev")
    BatchState(inp / "prev").save()
    for spec in (str(inp), str(inp / "**" / "*.mp4")):
        notes: list[str] = []
        items = collect_inputs([spec], tmp_path / "elsewhere", notes=notes)
        assert sorted(i.input for i in items) == sorted(i.input for i in prev)
        assert len(notes) == 1 and "another batch's output folder" in notes[0]
        assert str(inp / "prev") in notes[0]
    # named itself, that folder is an input like any other
    named = collect_inputs([str(inp / "prev")], tmp_path / "again")
    assert len(named) == len(prev)


def test_identity_hash_is_bounded_and_content_sensitive(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(b"\0" * (3 << 20))
    a = input_identity(big)
    with open(big, "r+b") as fh:  # a change in the last MiB is seen...
        fh.seek((3 << 20) - 10)
        fh.write(b"x")
    b = input_identity(big)
    assert a["sha256_sample"] != b["sha256_sample"]
    with open(big, "r+b") as fh:  # ...one in the unsampled middle is not (documented)
        fh.seek(3 << 19)
        fh.write(b"y")
    os.utime(big, ns=(b["mtime_ns"], b["mtime_ns"]))
    assert input_identity(big) == b


def test_batch_with_corrupt_file_and_resume(clips: Path, tmp_path: Path) -> None:
    inp = tmp_path / "in"
    shutil.copytree(clips / "in", inp)
    (inp / "broken.mp4").write_bytes(b"\0\0\0\x18ftypmp42" + os.urandom(2000))
    out = tmp_path / "out"
    rc = main(["batch", str(inp), "-o", str(out), "-j", "2", "-q", *sets(FAST)])
    assert rc == 1  # one file failed
    report = json.loads((out / "batch-report.json").read_text())
    status = {Path(e["input"]).name: e for e in report["files"]}
    assert status["broken.mp4"]["status"] == "failed"
    assert "broken.mp4" in status["broken.mp4"]["error"]
    # a bad input is no transient failure: tried once, not retried (a trial
    # saw "attempts": 2 for it)
    assert "retries" not in status["broken.mp4"]
    assert [status[n]["status"] for n in ("a.mp4", "b.mp4", "c.mp4")] == ["done"] * 3
    assert frames(out / "a.mp4") == frames(out / "sub" / "b.mp4") == 12
    assert not list(out.rglob("*.partial-*"))
    state = BatchState(out)
    assert set(state.jobs) == {"a.mp4", "sub/b.mp4", "c.mp4", "broken.mp4"}  # inside OUTDIR
    rec = state.get(str(out / "a.mp4"))
    assert rec is not None
    assert rec["status"] == "done" and rec["identity"]["size"] == (inp / "a.mp4").stat().st_size
    assert rec["frames"] == 12 and rec["stats"]["frames_out"] == 12

    # Rerun: done files are skipped; change one input and it alone is redone.
    mtime = (out / "a.mp4").stat().st_mtime_ns
    shutil.copy(clips / "in" / "c.mp4", inp / "sub" / "b.mp4")
    again = run_batch([str(inp)], BatchOptions(outdir=out, overrides=FAST, jobs=2,
                                               progress=False))
    st = {Path(e["input"]).name: e["status"] for e in again["files"]}
    assert st == {"a.mp4": "skipped", "b.mp4": "done", "c.mp4": "skipped",
                  "broken.mp4": "failed"}
    assert (out / "a.mp4").stat().st_mtime_ns == mtime
    # A config change redoes everything that succeeded.
    third = run_batch([str(inp)], BatchOptions(outdir=out, overrides=[*FAST, "output.crf=30"],
                                               jobs=2, progress=False))
    assert third["totals"]["done"] == 3 and third["totals"]["skipped"] == 0


def _finished_batch(clips: Path, tmp_path: Path) -> tuple[Path, Path]:
    """The three test clips batched once into OUTDIR: (their folder, OUTDIR)."""
    inp = tmp_path / "in"
    shutil.copytree(clips / "in", inp)
    out = tmp_path / "out"
    first = run_batch([str(inp)], BatchOptions(outdir=out, overrides=FAST, jobs=2,
                                               progress=False))
    assert first["totals"]["done"] == 3
    return inp, out


def test_a_finished_batch_folder_moved_or_copied_still_resumes(clips: Path,
                                                               tmp_path: Path) -> None:
    # Its state was keyed by absolute paths: a copy of a finished OUTDIR run
    # again gave "0 done, 0 skipped, 7 failed", every file "already exists and
    # was not written by this batch" (trial 54). Keys are paths inside OUTDIR.
    inp, out = _finished_batch(clips, tmp_path)
    moved = tmp_path / "moved"
    shutil.copytree(out, moved)
    mtimes = {p: p.stat().st_mtime_ns for p in moved.rglob("*.mp4")}
    again = run_batch([str(inp)], BatchOptions(outdir=moved, overrides=FAST, jobs=2,
                                               progress=False))
    assert (again["totals"]["skipped"], again["totals"]["done"], again["totals"]["failed"]) \
        == (3, 0, 0), again["totals"]
    assert {p: p.stat().st_mtime_ns for p in moved.rglob("*.mp4")} == mtimes
    # A state file of version 1 (absolute keys of where it was) reads as well.
    state = json.loads((moved / ".vidclear-batch.json").read_text())
    state["version"] = 1
    state["jobs"] = {str(out / k): rec for k, rec in state["jobs"].items()}
    (moved / ".vidclear-batch.json").write_text(json.dumps(state))
    assert set(BatchState(moved).jobs) == {"a.mp4", "sub/b.mp4", "c.mp4"}
    third = run_batch([str(inp)], BatchOptions(outdir=moved, overrides=FAST, jobs=2,
                                               progress=False))
    assert third["totals"]["skipped"] == 3, third["totals"]


def test_an_output_changed_since_the_batch_wrote_it_is_the_users(clips: Path, tmp_path: Path,
                                                                 monkeypatch) -> None:
    # A rerun with another config replaced an output the user had edited
    # since the batch wrote it, without -y (trial 60): the batch knew the
    # name, not the file. The size and content hashes are recorded now.
    import vidclear.batch.state as batch_state

    monkeypatch.setattr(batch_state, "_SAMPLE", 1024)  # the test clips are small
    inp, out = _finished_batch(clips, tmp_path)
    edited = out / "a.mp4"
    data = bytearray(edited.read_bytes())
    data[-100] ^= 0xFF  # same size, other content
    edited.write_bytes(bytes(data))
    again = run_batch([str(inp)], BatchOptions(outdir=out, overrides=[*FAST, "output.crf=30"],
                                               jobs=2, progress=False))
    st = {Path(e["input"]).name: e for e in again["files"]}
    assert st["a.mp4"]["status"] == "failed", st["a.mp4"]
    assert st["a.mp4"]["error"] == ("OutputError: a.mp4 already exists and is not the file "
                                    "this batch wrote (use -y)")
    assert edited.read_bytes() == bytes(data)
    assert st["b.mp4"]["status"] == st["c.mp4"]["status"] == "done"  # untouched: redone
    # an edit in the middle, which the sample of the first and last MiB (here
    # KiB) does not see (trial 61), is found by the whole file's hash, even
    # with the mtime set back as rsync -t or a tagger does (trial 62): the
    # inode change time moved
    middle = out / "c.mp4"
    was = middle.stat()
    blob = bytearray(middle.read_bytes())
    assert len(blob) > 4096
    blob[len(blob) // 2] ^= 0xFF
    middle.write_bytes(bytes(blob))
    os.utime(middle, ns=(was.st_atime_ns, was.st_mtime_ns))
    fourth = run_batch([str(inp)], BatchOptions(outdir=out, overrides=[*FAST, "output.crf=29"],
                                                jobs=2, progress=False))
    st = {Path(e["input"]).name: e for e in fourth["files"]}
    assert st["c.mp4"]["status"] == "failed" and "use -y" in st["c.mp4"]["error"], st["c.mp4"]
    assert st["b.mp4"]["status"] == "done", st["b.mp4"]
    assert middle.read_bytes() == bytes(blob)
    # a copy of the folder (new mtimes, the same bytes) is still the batch's own
    copied = tmp_path / "copied"
    shutil.copytree(out, copied, copy_function=shutil.copyfile)
    fifth = run_batch([str(inp)], BatchOptions(outdir=copied, overrides=[*FAST, "output.crf=28"],
                                               jobs=2, progress=False))
    st = {Path(e["input"]).name: e["status"] for e in fifth["files"]}
    # a and c were edited: refused there too
    assert (st["a.mp4"], st["b.mp4"], st["c.mp4"]) == ("failed", "done", "failed"), st
    # and a failed redo keeps the batch's claim on its earlier, untouched output
    third = run_batch([str(inp)], BatchOptions(outdir=out, overrides=[*FAST, "output.crf=31"],
                                               jobs=2, progress=False, overwrite=True))
    assert third["totals"]["done"] == 3


def test_batch_says_what_a_run_says_file_by_file(tmp_path: Path, capsys) -> None:
    # A batch finished damaged files as a plain "done" and dropped the notes
    # a single run prints (a new-user trial).
    inp = tmp_path / "in"
    inp.mkdir()
    cut_in_last_frame(noise_ts(tmp_path / "full.ts"), inp / "cut.ts")
    make_clip(inp / "odd.mkv", n=6, size=(97, 64), audio=False, codec="ffv1",
              pix_fmt="yuv444p")  # padded to 98 for yuv420p: a note
    rc = main(["batch", str(inp), "-o", str(tmp_path / "out"), "-j", "1", "-q", *sets(FAST)])
    err = capsys.readouterr().err
    assert rc == 0, err
    warn = next(ln for ln in err.splitlines() if ln.startswith("vidclear: warning:"))
    assert warn.startswith(f"vidclear: warning: {inp / 'cut.ts'}: 1 frame decoded with errors")
    assert "s of the output" in warn and "may be cut short" in warn  # as a single run says
    assert f"vidclear: note: {inp / 'odd.mkv'}: 97x64 frames are padded to 98x64" in err
    report = json.loads((tmp_path / "out" / "batch-report.json").read_text())
    by = {Path(e["input"]).name: e for e in report["files"]}
    assert by["cut.ts"]["frames_damaged"] == 1 and by["odd.mkv"]["frames_damaged"] == 0


def test_skipped_rows_show_no_times_of_this_run(tmp_path: Path) -> None:
    # A rerun's skipped rows showed an fps and a time matching neither run.
    from vidclear.cli.batch import format_table

    report = {"files": [
        {"output": "a.mp4", "status": "skipped", "frames": 12, "fps": 58.2, "wall_s": 1.5},
        {"output": "b.mp4", "status": "done", "frames": 12, "fps": 30.0, "wall_s": 0.4}],
        "totals": {"done": 1, "skipped": 1, "failed": 0, "pending": 0, "frames": 12,
                   "fps": 30.0}, "wall_s": 0.5, "workers": 1, "engine": "local"}
    rows = format_table(report).splitlines()
    assert rows[1].split()[2:] == ["12", "-", "-", "done", "by", "an", "earlier", "run"]
    assert rows[2].split()[2:5] == ["12", "30.0", "0.4"]
    # A long error is cut at a word's end with "...", not mid-word (a trial).
    error = "the input could not be decoded " * 6
    report["files"][1]["error"] = error
    note = format_table(report).splitlines()[2].split("0.4", 1)[1].strip()
    assert note.endswith("...") and len(note) <= 100
    assert error.startswith(note[:-3]) and error[len(note) - 3] == " "


def test_table_columns_line_up_under_wide_file_names() -> None:
    # A file named in Japanese took twice the columns len() counted and
    # pushed its row's status and numbers out of line (trial 123 F3); a
    # macOS name's decomposed Hangul and a zero-width space too (trial 130
    # F6). The cells each name takes in a terminal, counted by hand:
    import unicodedata

    from vidclear.cli.batch import format_table

    cells = {"ドライブ映像.mp4": 16, "cafe\u0301.mp4": 8,
             unicodedata.normalize("NFD", "한글.mp4"): 8, "a\u200bb.mp4": 6, "a.mp4": 5}
    report = {"files": [{"output": name, "status": "done", "frames": 12, "fps": 30.0,
                         "wall_s": 0.4} for name in cells],
              "totals": {"done": 5, "skipped": 0, "failed": 0, "pending": 0, "frames": 60,
                         "fps": 30.0}, "wall_s": 0.5, "workers": 1, "engine": "local"}
    rows = format_table(report).splitlines()[1:6]
    ends = set()
    for name, row in zip(cells, rows, strict=True):
        assert row.startswith(name), (name, row)
        status_end = row.index("done", len(name)) + len("done")
        ends.add(cells[name] + status_end - len(name))  # the status column's last cell
    assert len(ends) == 1, format_table(report)


def test_rows_name_files_below_the_output_folder(clips: Path, tmp_path: Path, capsys) -> None:
    # a/x.mp4 and b/x.mp4 were both "x.mp4" in the table (trial 37)
    for d in ("a", "b"):
        (tmp_path / "in" / d).mkdir(parents=True)
        shutil.copy(clips / "in" / "a.mp4", tmp_path / "in" / d / "x.mp4")
    rc = main(["batch", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "-j", "1",
               *sets(FAST)])
    err = capsys.readouterr().err
    names = [line.split()[0] for line in err.splitlines() if " done " in f" {line} "]
    assert rc == 0 and {"a/x.mp4", "b/x.mp4"} <= set(names), err


def test_existing_output_needs_overwrite(clips: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.mp4").write_bytes(b"mine")
    rep = run_batch([str(clips / "in" / "a.mp4")], BatchOptions(outdir=out, overrides=FAST,
                                                                progress=False))
    assert rep["files"][0]["status"] == "failed" and "-y" in rep["files"][0]["error"]
    assert (out / "a.mp4").read_bytes() == b"mine"
    rep = run_batch([str(clips / "in" / "a.mp4")], BatchOptions(outdir=out, overrides=FAST,
                                                                overwrite=True, progress=False))
    assert rep["files"][0]["status"] == "done" and frames(out / "a.mp4") == 12


def test_manifest_overrides_per_file(clips: Path, tmp_path: Path) -> None:
    man = tmp_path / "jobs.csv"
    man.write_text(f"input,output,output.crf\n{clips / 'in' / 'a.mp4'},low.mp4,40\n"
                   f"{clips / 'in' / 'c.mp4'},high.mp4,\n")
    rep = run_batch([str(man)], BatchOptions(outdir=tmp_path / "o", overrides=FAST,
                                             progress=False))
    assert rep["totals"]["done"] == 2
    state = BatchState(tmp_path / "o")
    hashes = {Path(k).name: r["config_hash"] for k, r in state.jobs.items()}
    assert hashes["low.mp4"] != hashes["high.mp4"]
    jl = tmp_path / "jobs.jsonl"
    jl.write_text(json.dumps({"input": str(clips / "in" / "a.mp4"),
                              "set": {"output.codec": "nope"}}) + "\n")
    rep = run_batch([str(jl)], BatchOptions(outdir=tmp_path / "o2", progress=False))
    assert rep["files"][0]["status"] == "failed" and "output.codec" in rep["files"][0]["error"]


def test_sigkill_mid_batch_then_resume(clips: Path, tmp_path: Path) -> None:
    """Kill the whole batch with SIGKILL once some files are recorded; rerun finishes the rest."""
    inp = tmp_path / "in"
    inp.mkdir()
    for i in range(6):
        shutil.copy(clips / "in" / "a.mp4", inp / f"f{i}.mp4")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "vidclear", "batch", str(inp), "-o", str(out), "-j", "1",
           "-q", *sets([*FAST, 'pipeline.processors=["dehaze"]'])]
    env = {**os.environ, "NUMBA_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
    state_file = out / ".vidclear-batch.json"
    # generous: on a fresh checkout this process compiles every dehaze kernel
    # first (about 80 s on 2 idle cores, far more on a loaded machine)
    deadline = time.monotonic() + 400
    done_before: set[str] = set()
    while time.monotonic() < deadline and proc.poll() is None:
        if state_file.exists():
            jobs = json.loads(state_file.read_text())["jobs"]
            done_before = {k for k, r in jobs.items() if r["status"] == "done"}
            if len(done_before) >= 2:
                break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its workers, no cleanup at all
    proc.wait()
    jobs = json.loads(state_file.read_text())["jobs"]
    # keyed by the path inside OUTDIR
    done_before = {str(out / k) for k, r in jobs.items() if r["status"] == "done"}
    assert 2 <= len(done_before) < 6, "the batch should have been killed mid-way"
    rep = run_batch([str(inp)], BatchOptions(outdir=out, overrides=[
        *FAST, 'pipeline.processors=["dehaze"]'], jobs=2, progress=False))
    status = {e["output"]: e["status"] for e in rep["files"]}
    assert {k for k, s in status.items() if s == "skipped"} == done_before
    assert {k for k, s in status.items() if s == "done"} == set(status) - done_before
    assert all(frames(out / f"f{i}.mp4") == 12 for i in range(6))
    assert not list(out.rglob("*.partial-*"))


def _batch_running(clips: Path, tmp_path: Path, sigint: Any,
                   stderr: Any = None) -> tuple[subprocess.Popen, Path]:
    """A 10-file dehaze batch in a process of its own, SIGINT set to ``sigint``,
    once its first file is done: (the process, OUTDIR)."""
    inp = tmp_path / "in"
    inp.mkdir()
    for i in range(10):  # 4 s clips: the batch runs for seconds after the first is done
        shutil.copy(clips / "long.mp4", inp / f"f{i}.mp4")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "vidclear", "batch", str(inp), "-o", str(out), "-j", "1",
           "-q", *sets([*FAST, 'pipeline.processors=["dehaze"]'])]
    env = {**os.environ, "NUMBA_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True, stderr=stderr,
                            text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, sigint))
    state_file = out / ".vidclear-batch.json"
    deadline = time.monotonic() + 400  # compiles the kernels on a fresh checkout
    while time.monotonic() < deadline and proc.poll() is None:
        if state_file.exists():
            jobs = json.loads(state_file.read_text())["jobs"]
            if any(r["status"] == "done" for r in jobs.values()):
                break
        time.sleep(0.01)
    return proc, out


def test_ctrl_c_leaves_no_job_marked_running(clips: Path, tmp_path: Path) -> None:
    """Jobs are claimed ("running") before they start; after Ctrl-C none may stay so."""
    # SIGINT restored: a shell that started the suite in the background has it ignored
    proc, out = _batch_running(clips, tmp_path, signal.SIG_DFL)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's process group
    assert proc.wait(timeout=120) == 130
    jobs = json.loads((out / ".vidclear-batch.json").read_text())["jobs"]
    status = sorted(r["status"] for r in jobs.values())
    assert "running" not in status, status
    assert "done" in status and "pending" in status, status
    report = json.loads((out / "batch-report.json").read_text())
    assert report["interrupted"] and report["totals"]["done"] < 10
    assert {e["status"] for e in report["files"]} <= {"done", "interrupted", "pending"}
    assert report["totals"]["frames_not_kept"] == sum(
        e["frames"] - e.get("frames_kept", 0) for e in report["files"]
        if e["status"] == "interrupted")


def test_an_interrupted_row_counts_the_frames_it_had_processed(tmp_path: Path) -> None:
    # The row of a file Ctrl-C stopped said 0 frames after 500 had been
    # processed (trial 60): the worker's progress is its count.
    inp = tmp_path / "in"
    inp.mkdir()
    make_clip(inp / "long.mp4", n=900, size=(320, 240), audio=False)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "vidclear", "batch", str(inp), "-o", str(out), "-j", "1",
           "-q", *sets([*FAST, 'pipeline.processors=["dehaze"]'])]
    env = {**os.environ, "NUMBA_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 400  # compiles the kernels on a fresh checkout
    while time.monotonic() < deadline and proc.poll() is None:
        partial = list(out.glob("long.partial-*.mp4"))
        if partial and partial[0].stat().st_size > 20000:  # frames are being written
            break
        time.sleep(0.05)
    time.sleep(1.1)  # the worker reports its count every half second
    assert proc.poll() is None
    os.killpg(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=120) == 130
    report = json.loads((out / "batch-report.json").read_text())
    stopped = [e for e in report["files"] if e["status"] == "interrupted"]
    assert len(stopped) == 1, report["files"]
    assert 0 < stopped[0]["frames"] < 900, stopped
    assert stopped[0]["wall_s"] > 1.0 and stopped[0]["fps"] > 0, stopped  # were 0.0
    assert report["totals"]["frames_not_kept"] == stopped[0]["frames"]


def test_a_closing_terminal_interrupts_a_batch_as_ctrl_c_does(clips: Path, tmp_path: Path) -> None:
    # The terminal or SSH session closing sends SIGHUP to the process group: it
    # killed the batch and its workers at once, with jobs left "running".
    proc, out = _batch_running(clips, tmp_path, signal.SIG_DFL, stderr=subprocess.PIPE)
    os.killpg(proc.pid, signal.SIGHUP)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    # multiprocessing's resource tracker died with the group's SIGHUP: eight
    # tracebacks and a leak warning (trial 56)
    assert "Traceback" not in err and "resource_tracker" not in err, err
    jobs = json.loads((out / ".vidclear-batch.json").read_text())["jobs"]
    status = sorted(r["status"] for r in jobs.values())
    assert "running" not in status and "failed" not in status, status
    report = json.loads((out / "batch-report.json").read_text())
    assert report["interrupted"] and 0 < report["totals"]["done"] < 10
    assert not list(out.rglob("*.partial-*"))


def test_sigint_stops_a_batch_that_inherited_it_ignored(clips: Path, tmp_path: Path) -> None:
    # A batch started in the background by a non-interactive shell has SIGINT
    # ignored: `kill -INT PID` did nothing and it ran to the end (a trial).
    proc, out = _batch_running(clips, tmp_path, signal.SIG_IGN)
    os.kill(proc.pid, signal.SIGINT)  # the batch process alone, as `kill -INT PID`
    assert proc.wait(timeout=120) == 130
    report = json.loads((out / "batch-report.json").read_text())
    assert report["interrupted"]


def test_a_signal_while_the_batch_finishes_keeps_its_report(clips: Path, tmp_path: Path,
                                                            monkeypatch) -> None:
    # A SIGINT that landed after every file was done, while the report was
    # being made, lost the table and batch-report.json (a trial).
    import vidclear.batch.runner as runner

    made = runner._report

    def report_with_a_signal(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)  # in the middle of finishing
        return made(*args, **kwargs)

    monkeypatch.setattr(runner, "_report", report_with_a_signal)
    inp = tmp_path / "in"
    inp.mkdir()
    shutil.copy(clips / "in" / "a.mp4", inp / "a.mp4")
    before = signal.getsignal(signal.SIGINT)  # ignored when the suite runs in the background
    report = run_batch([str(inp)], BatchOptions(outdir=tmp_path / "out", overrides=FAST,
                                                jobs=1, progress=False))
    assert report["totals"]["done"] == 1 and not report["interrupted"]
    assert json.loads((tmp_path / "out" / "batch-report.json").read_text())["totals"]["done"] == 1
    assert signal.getsignal(signal.SIGINT) == before  # restored


def test_a_report_given_as_a_link_is_written_through(clips: Path, tmp_path: Path) -> None:
    real = tmp_path / "reports" / "run.json"
    real.parent.mkdir()
    link = tmp_path / "run.json"
    link.symlink_to(real)
    report = run_batch([str(clips / "in" / "a.mp4")],
                       BatchOptions(outdir=tmp_path / "out", overrides=FAST, report=link))
    assert report["totals"]["done"] == 1
    assert link.is_symlink() and json.loads(real.read_text())["totals"]["done"] == 1
    assert sorted(p.name for p in real.parent.iterdir()) == ["run.json"]


def test_a_report_path_that_is_an_input_an_output_or_a_typo_is_refused_first(
        clips: Path, tmp_path: Path, capsys) -> None:
    # `--report victim.mp4` replaced an input video of the same batch with
    # JSON, even with -n; a report in a missing folder was refused only after
    # every file had run (trial 37).
    a = clips / "in" / "a.mp4"
    victim = tmp_path / "victim.mp4"
    shutil.copy(a, victim)
    before = victim.read_bytes()
    out = tmp_path / "out"
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    made = {i.input.name: i.output for i in collect_inputs([str(a), str(victim)], out)}
    cases = [
        (["-y", "--report", str(victim)], "is an input of this batch"),
        (["--report", str(made["victim.mp4"])], "is also the output of victim.mp4"),
        (["--report", str(notes)], "already exists and is no batch report (use -y"),
        (["-n", "--report", str(notes)], "already exists and is no batch report"),
        (["--report", str(tmp_path / "nodir" / "r.json")], "nodir"),
        (["--report", str(tmp_path)], f"is a directory; give a file name such as "
                                      f"{tmp_path / 'report.json'}"),
    ]
    for extra, match in cases:
        rc = main(["batch", str(a), str(victim), "-o", str(out), "-q", "-j", "1",
                   *sets(FAST), *extra])
        err = capsys.readouterr().err
        assert rc == 1 and match in err and len(err.strip().splitlines()) == 1, (extra, err)
        assert not out.exists() or not list(out.rglob("*.mp4")), extra  # nothing ran
    assert victim.read_bytes() == before and notes.read_text() == "my notes\n"
    # the batch's own earlier report is replaced when it runs again (resume), and
    # -y replaces another file
    report = tmp_path / "r.json"
    for _ in range(2):
        assert main(["batch", str(a), "-o", str(out), "-q", "-j", "1", *sets(FAST),
                     "--report", str(report)]) == 0
    assert json.loads(report.read_text())["totals"]["skipped"] == 1
    assert main(["batch", str(a), "-o", str(out), "-q", "-y", *sets(FAST),
                 "--report", str(notes)]) == 0
    assert json.loads(notes.read_text())["totals"]
    capsys.readouterr()


def test_a_quiet_batch_names_each_failed_file(clips: Path, tmp_path: Path, capsys) -> None:
    # -q prints errors: a batch whose files failed printed nothing and exited
    # 1, the failures said only in batch-report.json (trial 146 F1)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    text = tmp_path / "text.mp4"
    text.write_text("not a video\n")
    rc = main(["batch", str(empty), str(text), str(clips / "in" / "a.mp4"), "-o",
               str(tmp_path / "out"), "-q", "-j", "1", *sets(FAST)])
    lines = capsys.readouterr().err.strip().splitlines()
    assert rc == 1
    assert [line.split(": ")[2] for line in lines] == [str(empty), str(text)], lines
    assert all(line.startswith("vidclear: error: ") for line in lines)
    assert "0 bytes" in lines[0]


def test_a_folder_leaves_out_earlier_outputs_of_vidclear(clips: Path, tmp_path: Path,
                                                          capsys) -> None:
    # an earlier run's output beside its input was processed again without a
    # word, though a folder or pattern never reads outputs back (trial 146 F2);
    # named, it is processed
    import shutil

    folder = tmp_path / "rb"
    folder.mkdir()
    shutil.copy(clips / "in" / "a.mp4", folder / "a.mp4")
    assert main(["run", str(folder / "a.mp4"), "-o", str(folder / "a_clear.mp4"), "-q",
                 *sets(FAST)]) == 0
    out = tmp_path / "out"
    assert main(["batch", str(folder), "-o", str(out), "-j", "1", *sets(FAST)]) == 0
    err = capsys.readouterr().err
    assert "skipped 1 file(s) that carry vidclear's mark" in err and "a_clear.mp4" in err
    assert sorted(p.name for p in out.glob("*.mp4")) == ["a.mp4"]
    assert main(["batch", str(folder / "a_clear.mp4"), "-o", str(out), "-j", "1", "-q",
                 *sets(FAST)]) == 0
    assert (out / "a_clear.mp4").is_file()


def test_an_input_that_does_not_exist_is_refused_before_anything_is_made(
        clips: Path, tmp_path: Path, capsys) -> None:
    # `batch missingdir -o out` made out/, wrote a report with one failed
    # "job" and exited 1; a typo is now one line, and nothing is created.
    out = tmp_path / "out"
    rc = main(["batch", str(clips / "in"), str(tmp_path / "missingdir"), "-o", str(out), "-q"])
    err = capsys.readouterr().err
    assert rc == 1 and err.strip().splitlines() == [
        f"vidclear: error: no such file or folder: {tmp_path / 'missingdir'}"]
    assert not out.exists()
    # a URL was "no such file or folder" too (trial 55)
    rc = main(["batch", "http://127.0.0.1:9/clip.mp4", "-o", str(out), "-q"])
    err = capsys.readouterr().err
    assert rc == 1 and err.strip().splitlines() == [
        "vidclear: error: http://127.0.0.1:9/clip.mp4: a batch takes local files, folders, "
        "patterns and manifests, not URLs (download it first, or `vidclear run` it)"]
    assert not out.exists()


def test_a_batch_without_a_processor_says_it_only_re_encoded(clips: Path, tmp_path: Path,
                                                              capsys) -> None:
    # The default chain is copy: a batch of a whole folder without a preset
    # was a plain transcode of every file, without a word (as a single run).
    inp = clips / "in"
    rc = main(["batch", str(inp), "-o", str(tmp_path / "out"), "-j", "1", *sets(FAST)])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert err.count("vidclear: note: no processor chosen") == 1, err
    rc = main(["batch", str(inp), "-o", str(tmp_path / "out2"), "-j", "1", "--preset",
               "transcode", *sets(FAST)])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert "no processor chosen" not in err


def test_non_finite_segment_options_are_refused_in_one_line(clips: Path, tmp_path: Path,
                                                            capsys) -> None:
    # --overlap nan / inf: "internal error (ValueError: cannot convert float NaN
    # to integer)", exit 3; --segment-seconds nan ran as 0 (trial 37)
    for opt, value in (("--overlap", "nan"), ("--overlap", "inf"), ("--overlap", "-1"),
                       ("--segment-seconds", "nan"), ("--segment-seconds", "-5"),
                       ("--cpus-per-job", "nan")):
        try:  # argparse refuses them itself (SystemExit 2)
            rc = main(["batch", str(clips / "in" / "a.mp4"), "-o", str(tmp_path / "o"), "-q",
                       opt, value])
        except SystemExit as exc:
            rc = exc.code
        err = capsys.readouterr().err
        assert rc == 2 and len(err.strip().splitlines()) == 1, (opt, value, err)
        assert opt in err and "internal error" not in err, err
        if opt != "--cpus-per-job":  # durations refused in one wording (trial 178 F3)
            assert f"invalid value '{value}': expected a finite number of seconds, 0 or more" \
                in err, err
    assert not (tmp_path / "o").exists()


def test_hidden_files_in_a_folder_are_skipped_with_a_note(clips: Path, tmp_path: Path,
                                                          capsys) -> None:
    # macOS leaves ._a.mp4 resource forks and .Trashes/ on a card: the folder
    # trip failed on them and a batch counted them as failed jobs (trial 37).
    card = tmp_path / "card"
    (card / ".Trashes").mkdir(parents=True)
    shutil.copy(clips / "in" / "a.mp4", card / "a.mp4")
    fork = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + os.urandom(4000)
    (card / "._a.mp4").write_bytes(fork)
    (card / ".Trashes" / "x.mp4").write_bytes(fork)
    rc = main(["batch", str(card), "-o", str(tmp_path / "out"), "-j", "1", *sets(FAST)])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert "skipped 2 hidden file(s)" in err, err
    assert sorted(p.name for p in (tmp_path / "out").rglob("*.mp4")) == ["a.mp4"]
    rc = main(["run", str(card), "-o", str(tmp_path / "trip.mp4"), "-q", *sets(FAST)])
    assert rc == 0, capsys.readouterr().err
    assert frames(tmp_path / "trip.mp4") == frames(card / "a.mp4")


# the disk full: while jobs are claimed (3); after one is done (5); at the
# last record (0); at the last record and free again as the batch stops (-1)
@pytest.mark.parametrize("full_at", [3, 5, 0, -1])
def test_a_state_file_that_cannot_be_saved_stops_the_batch_with_its_table(
        clips: Path, tmp_path: Path, capsys, monkeypatch, full_at: int) -> None:
    # A full disk at the state's save ended the batch in one line: no table,
    # no report, files done or in flight not said, no word of resuming
    # (trial 123 F1). It stops as for Ctrl-C and says what it did. At the
    # last file's record (full_at 0) the table said a plain "done" for a
    # file the rerun processed again (trial 126 F5); saved as the batch stops
    # (the disk full for a moment), the note went on saying so (trial 130 F7).
    from vidclear.batch import runner
    from vidclear.batch import state as state_mod

    real = state_mod.BatchState.save
    calls = {"n": 0}

    def save(self) -> None:  # a later save finds the disk full
        calls["n"] += 1
        done = sum(r.get("status") == "done" for r in self.jobs.values())
        last = done == 3 and (full_at == 0 or (full_at == -1 and not calls.get("failed")))
        if calls["n"] >= full_at > 0 or last:
            calls["failed"] = 1
            raise state_mod.StateWriteError(f"cannot write batch state {self.path}: "
                                            "No space left on device")
        real(self)

    monkeypatch.setattr(state_mod.BatchState, "save", save)
    out = tmp_path / "out"
    args = ["batch", str(clips / "in"), "-o", str(out), "-j", "1", *sets(FAST)]
    rc = main(args)
    err = capsys.readouterr().err
    assert rc == 1, err
    assert "a.mp4" in err and "done" in err  # the table
    assert err.strip().splitlines()[-1] == (
        f"vidclear: error: cannot write batch state {out / '.vidclear-batch.json'}: No space "
        "left on device: the batch stopped there; the table above is what it did; free space "
        "and run the same command again to resume")
    report = json.loads((out / "batch-report.json").read_text())
    assert report["state_error"] and report["interrupted"]
    unrecorded = [e["output"] for e in report["files"] if e.get("note") == runner.UNRECORDED_NOTE]
    if full_at == 0:  # the last file: whole, its record lost, and the table says so
        assert len(unrecorded) == 1, report["files"]
        assert "its record could not be saved" in err, err
    if full_at == -1:  # its record was saved as the batch stopped: nothing to redo
        assert not unrecorded and "its record could not be saved" not in err, err
    before = {p.name: p.stat().st_mtime_ns for p in out.rglob("*.mp4")}
    monkeypatch.setattr(state_mod.BatchState, "save", real)
    assert main(args) == 0, capsys.readouterr().err  # resumed
    after = {p.name: p.stat().st_mtime_ns for p in out.rglob("*.mp4")}
    if full_at <= 0:  # the rerun redoes what the table said it would, and no more
        redone = [n for n in sorted(after) if n in before and after[n] != before[n]]
        assert redone == [Path(o).name for o in unrecorded], (redone, unrecorded)
    assert sorted(p.name for p in out.rglob("*.mp4")) == ["a.mp4", "b.mp4", "c.mp4"]


def test_every_folder_scan_takes_the_same_video_extensions(tmp_path: Path) -> None:
    # Three lists had drifted apart: a folder batch left .ogv and .vob out
    # without a word ("4 done, 0 failed") while a glob ran them, and a link
    # to nothing was skipped silently (trial 123 F2). Video whose extension
    # no muxer writes is taken, and written under one that is: .y4m and
    # .m2t named like the input failed their jobs and stopped --split
    # (trials 124 F2, 126 F1); left out, a folder of camcorder .MOD chunks
    # "held no video files" (trial 126 F2)
    from vidclear.io.sinks.split import split_outputs
    from vidclear.io.sources.trip import expand_inputs
    from vidclear.io.suffixes import SCANNED_SUFFIXES

    folder = tmp_path / "card"
    folder.mkdir()
    names = ["a.mp4", "b.OGV", "c.vob", "d.wmv", "e.mxf", "f.m2t", "g.y4m", "h.MOD"]
    written = ["a.mp4", "b.OGV", "c.vob", "d.wmv", "e.mxf", "f.m2t", "g.mp4", "h.mp4"]
    for name in names:
        (folder / name).write_bytes(b"x")
    (folder / "notes.txt").write_bytes(b"x")
    (folder / "gone.MOD").symlink_to(tmp_path / "nowhere.MOD")
    notes: list[str] = []
    out = tmp_path / "out"
    items = collect_inputs([str(folder)], out, notes=notes)
    assert sorted((i.input.name, i.output.name) for i in items) == sorted(
        zip(names, written, strict=True))
    gone = f"skipped 1 link(s) in {folder} to nothing: {folder / 'gone.MOD'}"
    assert notes == [gone]
    said: list[str] = []
    found = expand_inputs([str(folder)], notes=said)
    assert sorted(Path(f).name for f in found) == sorted(names) and gone in said
    assert sorted(p.name for p in split_outputs(found, out)) == sorted(written)
    assert {".ogv", ".vob", ".wmv", ".mxf", ".m2t", ".mod"} <= SCANNED_SUFFIXES


def test_outdir_that_is_the_input_folder_resumes(clips: Path, tmp_path: Path, capsys) -> None:
    # `batch t6 -o t6 --ext .mkv` run again read its own a.mkv back as an input
    # and stopped: "would overwrite its input" (trial 37)
    folder = tmp_path / "t6"
    folder.mkdir()
    shutil.copy(clips / "in" / "a.mp4", folder / "a.mp4")
    shutil.copy(clips / "in" / "a.mp4", folder / "b.mp4")
    args = ["batch", str(folder), "-o", str(folder), "--ext", ".mkv", "-j", "1", *sets(FAST)]
    assert main(args) == 0, capsys.readouterr().err
    capsys.readouterr()
    rc = main(args)
    err = capsys.readouterr().err
    assert rc == 0 and "0 done, 2 skipped" in err, err
    assert sorted(p.name for p in folder.glob("*.mk*")) == ["a.mkv", "b.mkv"]


def test_the_report_counts_the_workers_that_ran(clips: Path, tmp_path: Path) -> None:
    # -j 100000 on one file said "on 100000 local workers" (trial 37)
    rep = run_batch([str(clips / "in" / "a.mp4")],
                    BatchOptions(outdir=tmp_path / "o", overrides=FAST, jobs=64,
                                 progress=False))
    assert rep["totals"]["done"] == 1 and rep["workers"] == 1


def test_processor_notes_and_reports_reach_the_batch_report(tmp_path: Path, capsys) -> None:
    # A clip hdr_bracket passed through unprocessed was a plain "done": the
    # note a single run prints and its hdr_bracket stats block were lost (trial 37).
    (tmp_path / "in").mkdir()
    make_clip(tmp_path / "in" / "short4.mp4", n=4, size=(64, 48))
    rc = main(["batch", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "-j", "1",
               "--preset", "hdr-bracket", *sets(FAST)])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert "the video ended before a bracket pattern showed" in err, err
    entry = json.loads((tmp_path / "out" / "batch-report.json").read_text())["files"][0]
    assert entry["processors"]["hdr_bracket"]["passthrough"] is True
    assert any("bracket pattern" in n for n in entry["notes"])


def test_no_copy_only_note_when_a_manifest_row_chose_a_processor(clips: Path, tmp_path: Path,
                                                                 capsys) -> None:
    # "no processor chosen: the frames are only re-encoded" after a batch whose
    # only file ran the processors its manifest row named (trial 37)
    rows = tmp_path / "jobs.jsonl"
    rows.write_text(json.dumps({"input": str(clips / "in" / "a.mp4"),
                                "pipeline.processors": ["clahe"]}) + "\n")
    rc = main(["batch", str(rows), "-o", str(tmp_path / "o1"), "-j", "1", *sets(FAST)])
    err = capsys.readouterr().err
    assert rc == 0 and "only re-encoded" not in err, err
    rc = main(["batch", str(clips / "in" / "a.mp4"), "-o", str(tmp_path / "o2"), "-j", "1",
               *sets(FAST)])
    err = capsys.readouterr().err
    assert rc == 0 and "only re-encoded" in err, err


def test_an_encoder_this_ffmpeg_lacks_is_refused_before_any_job(clips: Path, tmp_path: Path,
                                                                capsys) -> None:
    # --set output.codec=nosuch failed each file on its own (trial 37)
    rc = main(["batch", str(clips / "in"), "-o", str(tmp_path / "o"), "-q",
               "--set", "output.codec=nosuch"])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1, err
    assert "output.codec = 'nosuch' is not an encoder this FFmpeg has" in err
    assert not (tmp_path / "o").exists()
    # --ext with no container likewise (trial 146 F4: every file failed on its own)
    rc = main(["batch", str(clips / "in"), "-o", str(tmp_path / "o"), "-q", "--ext", ".txt"])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1, err
    assert "no container for extension .txt" in err
    assert not (tmp_path / "o").exists()


def test_the_summary_counts_the_frames_of_interrupted_rows_apart() -> None:
    # row "s.mp4 interrupted 350", summary "0 frames in 4.6 s" (trial 37)
    from vidclear.cli.batch import format_table

    report = {"files": [
        {"output": "s.mp4", "status": "interrupted", "frames": 350, "fps": 76.0,
         "wall_s": 4.6}],
        "totals": {"done": 0, "skipped": 0, "failed": 0, "interrupted": 1, "pending": 0,
                   "frames": 0, "fps": 0.0, "frames_not_kept": 350},
        "wall_s": 4.6, "workers": 2, "engine": "local"}
    last = format_table(report).splitlines()[-1]
    assert "0 frames (and of the interrupted files 350 not kept) in 4.6 s" in last, last
    # a long file's finished segments are kept for the rerun, and said to be
    # (trial 70: "not kept", they were)
    report["totals"].update(frames_not_kept=50, frames_kept_for_rerun=300)
    last = format_table(report).splitlines()[-1]
    assert ("(and of the interrupted files 50 not kept, 300 kept in finished segments for a "
            "rerun)") in last, last


def test_the_summary_counts_the_frames_an_output_dropped(tmp_path: Path, capsys) -> None:
    # A variable-rate clip into AVI: frames too early for the next free tick
    # are dropped, as FFmpeg drops them; each file's notes and stats said so,
    # the batch's last line only "229 frames" (trial 104, a batch into AVI).
    pts = [100 * b + 3 * k for b in range(10) for k in range(3)]  # bursts 3 ms apart
    (tmp_path / "in").mkdir()
    src = make_clip(tmp_path / "in" / "bursts.mp4", n=len(pts), pts=pts,
                    time_base=Fraction(1, 1000), audio=False)
    assert main(["batch", str(src), "-o", str(tmp_path / "out"), "--ext", "avi"]) == 0
    last = capsys.readouterr().err.strip().splitlines()
    summary = next(ln for ln in last if " done, " in ln)
    written = int(ffprobe_streams(tmp_path / "out" / "bursts.avi")["streams"][0]
                  ["nb_read_frames"])
    assert 0 < written < len(pts)
    assert f"; {written} frames (and {len(pts) - written} dropped) in " in summary, summary
    report = json.loads((tmp_path / "out" / "batch-report.json").read_text())
    assert report["totals"]["frames_dropped"] == len(pts) - written


def test_a_report_is_never_a_file_the_batch_reads_or_its_state(clips: Path, tmp_path: Path,
                                                               capsys) -> None:
    # with -y the manifest (an input), the --config file and the state file
    # became the report: the job list gone, a rerun unable to resume (trial 38)
    a = clips / "in" / "a.mp4"
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"input\n{a}\n")
    config = tmp_path / "c.toml"
    config.write_text("[output]\ncrf = 30\n")
    out = tmp_path / "o"
    cases = [([str(manifest), "--report", str(manifest)], "a file this batch reads"),
             ([str(a), "--config", str(config), "--report", str(config)],
              "a file this batch reads"),
             ([str(a), "--report", str(out / ".vidclear-batch.json")], "the batch's state file")]
    for args, match in cases:
        rc = main(["batch", *args, "-o", str(out), "-y", "-q", *sets(FAST)])
        err = capsys.readouterr().err
        assert rc == 1 and match in err, (args, err)
    assert manifest.read_text() == f"input\n{a}\n" and config.read_text() == "[output]\ncrf = 30\n"
    assert not out.exists() or not list(out.rglob("*.mp4"))


def test_a_file_whose_name_looks_like_a_pattern_is_that_file(clips: Path, tmp_path: Path) -> None:
    # 'clip[1].mp4' ran clip1.mp4; 'My trip [dQw4w9WgXcQ].mp4' matched nothing (trial 39)
    shutil.copy(clips / "in" / "a.mp4", tmp_path / "clip1.mp4")
    (tmp_path / "clip1.mp4").write_bytes(b"not this one")
    named = tmp_path / "clip[1].mp4"
    shutil.copy(clips / "in" / "a.mp4", named)
    yt = tmp_path / "My trip [dQw4w9WgXcQ].mp4"
    shutil.copy(clips / "in" / "a.mp4", yt)
    for path in (named, yt):
        items = collect_inputs([str(path)], tmp_path / "out")
        assert [i.input for i in items] == [path.resolve()]


def test_an_empty_file_is_named_as_such(tmp_path: Path) -> None:
    # A card's 0-byte file: "input is empty (0 bytes)" in a run and with
    # --trips, but FFmpeg's "Invalid data found when processing input" in a
    # batch (trial 83 F3).
    inp = tmp_path / "card"
    inp.mkdir()
    (inp / "EMPTY.MP4").write_bytes(b"")
    out = tmp_path / "out"  # not there yet: a --report in it waits for the batch to make it
    rc = main(["batch", str(inp), "-o", str(out), "--report", str(out / "card.json"), "-q",
               *sets(FAST)])  # (refused, "folder does not exist", trial 83 F4)
    assert rc == 1
    (row,) = json.loads((out / "card.json").read_text())["files"]
    assert row["status"] == "failed"
    assert row["error"].endswith(f"input is empty (0 bytes): {inp / 'EMPTY.MP4'}"), row


def test_the_batch_eta_counts_from_the_first_frame() -> None:
    # The workers compile their kernels for up to a minute before any frame:
    # counted in, the first ETA said 7 hours for a 1-minute batch (trial 83 F5).
    from vidclear.batch.runner import _Bar

    bar = _Bar(total=1000, files=4, enabled=True)
    try:
        bar.update(0, 0, 0)
        time.sleep(0.6)  # compiling: no frame yet
        bar.update(100, 0, 0)
        time.sleep(0.1)
        bar.update(200, 0, 0)
        info = bar.bar.format_dict  # 200 frames in about 0.1 s, not in 0.7 s
        assert info["n"] == 200 and info["elapsed"] < 0.5, info
    finally:
        bar.close()


def test_batch_takes_ffmpegs_encoder_options(clips: Path, tmp_path: Path, capsys) -> None:
    # `vidclear batch -c:v ...` was "unrecognized arguments" where `vidclear
    # run` takes it (trial 87); equal values written differently agree, other
    # values are refused before any job
    a = clips / "in" / "a.mp4"
    rc = main(["batch", str(a), "-o", str(tmp_path / "x"), "-q", "-j", "1", *sets(FAST),
               "-c:v", "libx265", "-crf", "30", "-b:v", "1M", "--set", "output.bitrate=1000k"])
    assert rc == 0, capsys.readouterr().err
    (video,) = [s for s in ffprobe_streams(tmp_path / "x" / "a.mp4")["streams"]
                if s["codec_type"] == "video"]
    assert video["codec_name"] == "hevc"
    rc = main(["batch", str(a), "-o", str(tmp_path / "y"), "-q", "-c:v", "libx265", "--set",
               "output.codec=libx264"])
    assert rc == 2 and "-c:v libx265 and --set output.codec=libx264 disagree" in \
        capsys.readouterr().err
    assert not (tmp_path / "y").exists()


def test_an_engine_that_does_not_start_leaves_no_folder_or_claims(clips: Path, tmp_path: Path,
                                                                   monkeypatch) -> None:
    # A Ray address that refused the connection after the address check (a
    # cluster asking for a token, `--address auto` with none running) left
    # the new OUTDIR holding only a state file with every job "running"
    # (trial 96 F4). The engine's start fails here as Ray's did.
    import vidclear.batch.engines as engines
    from vidclear.errors import ConfigError

    def refuse(*_a: Any, **_k: Any) -> Any:
        raise ConfigError("--address auto: Could not find any running Ray instance.")

    monkeypatch.setattr(engines, "make_engine", refuse)
    fresh = tmp_path / "new" / "out"
    with pytest.raises(ConfigError):
        run_batch([str(clips / "in")], BatchOptions(outdir=fresh, overrides=FAST,
                                                    progress=False))
    assert not fresh.exists() and (tmp_path / "new").exists()
    # a folder the user had, with an earlier batch's records: left as it was
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "notes.txt").write_text("mine")
    BatchState(kept).record("old.mp4", {"status": "done", "input": "x", "output": "y"})
    before = json.loads((kept / ".vidclear-batch.json").read_text())["jobs"]
    with pytest.raises(ConfigError):
        run_batch([str(clips / "in")], BatchOptions(outdir=kept, overrides=FAST,
                                                    progress=False))
    assert json.loads((kept / ".vidclear-batch.json").read_text())["jobs"] == before
    assert sorted(p.name for p in kept.iterdir()) == [".vidclear-batch.json", "notes.txt"]


def test_the_progress_total_follows_what_the_files_really_give(tmp_path: Path) -> None:
    # A variable-rate clip's header guessed 119 frames (its duration at the
    # top rate) for 60: the bar stopped at 50 % (trial 146 F3). A file's
    # count once done, else its guess or what it has given, whichever is more.
    from vidclear.batch.inputs import BatchItem
    from vidclear.batch.runner import _File, _frames_expected

    def made(status: str, total: int, done: int) -> _File:
        f = _File(item=BatchItem(input=tmp_path / "in.mkv", output=tmp_path / "out.mkv"),
                  status=status, frames_total=total, frames_done=done)
        return f

    finished, running, guessed = made("done", 119, 60), made("running", 100, 50), \
        made("pending", 80, 0)
    tasks = {"r": (running, {}), "f": (finished, {})}
    assert _frames_expected(finished, {}, tasks) == 60
    assert _frames_expected(running, {"r": 70}, tasks) == 120
    assert _frames_expected(running, {"r": 10}, tasks) == 100
    assert _frames_expected(guessed, {"r": 70}, tasks) == 80
