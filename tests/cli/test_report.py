"""``--report DIR``: the files a user opens after a run, checked against ffprobe and the frames."""

from __future__ import annotations

import base64
import csv
import itertools
import json
import re
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.media import ffprobe_frame_times, ffprobe_streams, make_clip, remux
from vidclear.cli.main import main
from vidclear.core import Frame
from vidclear.errors import ConfigError, OutputError
from vidclear.io.sinks import report as report_mod
from vidclear.io.sinks.report import REPORT_FILES, ReportSink

PY = [sys.executable, "-m", "vidclear"]


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("media") / "clip.mp4", n=30)


def test_run_report_matches_the_output(clip, tmp_path):
    out, rep, stats = tmp_path / "out.mp4", tmp_path / "rep", tmp_path / "stats.json"
    res = subprocess.run([*PY, "run", str(clip), "-o", str(out), "--set",
                          'pipeline.processors=["dehaze"]', "--report", str(rep),
                          "--stats", str(stats)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert f"report: {rep / 'report.html'}" in res.stderr
    assert sorted(p.name for p in rep.iterdir()) == sorted(REPORT_FILES)

    # One CSV row per frame written, at the times ffprobe reads from the output.
    with open(rep / "frames.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    n = int(ffprobe_streams(out)["streams"][0]["nb_read_frames"])
    assert len(rows) == n == 30
    times = ffprobe_frame_times(out)
    got = [float(r["time_s"]) for r in rows]
    start = got[0] - times[0]  # the muxer may shift the start (edit list)
    assert np.allclose(np.array(got) - start, times, atol=1e-3)
    # The dehazer's figures are there, in range.
    for key in ("airlight_r", "airlight_g", "airlight_b", "strength", "density"):
        vals = np.array([float(r[key]) for r in rows])
        assert np.all((vals >= 0) & (vals <= 1)), key
    assert all(float(r["latency_ms"]) > 0 for r in rows)

    # The pictures decode, and the page embeds exactly those files.
    page = (rep / "report.html").read_text()
    for name in ("contact_sheet.png", "timeline.png"):
        img = cv2.imread(str(rep / name))
        assert img is not None and img.shape[0] > 200 and img.shape[1] > 600
        embedded = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
        assert base64.b64decode(embedded[0 if name == "contact_sheet.png" else 1]) \
            == (rep / name).read_bytes()
    data = json.loads(stats.read_text())
    assert data["config_sha256"] in page and str(clip) in page


def _run_report(*args: str, report: Path) -> tuple[subprocess.CompletedProcess, list[dict]]:
    """``vidclear run ARGS --report REPORT``, checked to succeed, and frames.csv's rows."""
    res = subprocess.run([*PY, "run", *args, "--report", str(report)],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    with open(report / "frames.csv", newline="") as fh:
        return res, list(csv.DictReader(fh))


def test_report_times_are_the_outputs_and_its_notes_are_on_the_page(tmp_path):
    # An MPEG-TS starting at 1.5 s: the report's time axis and frames.csv ran on
    # the input's clock (1.48..7.44 s where the output ran 0..5.96), late frames
    # stepped back across the plot, and the notes the console printed (a pause
    # kept, frames re-timed) were not on the page (trial 74).
    tb = Fraction(1, 1000)
    pts = [40 * i for i in range(15)] + [40 * 14 + 3000 + 40 * i for i in range(15)]
    mkv = make_clip(tmp_path / "paused.mkv", n=len(pts), pts=pts, time_base=tb, audio=False)
    src = remux(mkv, tmp_path / "paused.ts", shift=1.5)
    assert ffprobe_frame_times(src)[0] > 1.4
    out, rep = tmp_path / "out.mkv", tmp_path / "rep"
    res, rows = _run_report(str(src), "-o", str(out), report=rep)
    got = [float(r["time_s"]) for r in rows]
    assert got == pytest.approx(ffprobe_frame_times(out), abs=2e-3)
    assert got[0] == pytest.approx(0.0, abs=1e-6)
    page = (rep / "report.html").read_text()
    note = "the input&#x27;s video pauses for 3.0 s at 0.6 s: kept"
    assert "the input's video pauses for 3.0 s at 0.6 s: kept" in res.stderr, res.stderr
    assert f"<th>note</th><td>{out}: {note}" in page


def _frames(n: int, *, size=(48, 64)):
    red = np.zeros((*size, 3), np.uint8)
    red[..., 0] = 230
    blue = np.zeros((*size, 3), np.uint8)
    blue[..., 2] = 230
    for i in range(n):
        src = Frame(red, pts=i, time_base=Fraction(1, 25), meta={"capture_time": time.monotonic()})
        yield src.replace(blue, dehaze={"airlight": [0.8, 0.8, 0.9], "strength": 0.5,
                                        "density": 0.2, "scene_cut": i == 40})


def test_contact_sheet_shows_input_above_result(tmp_path):
    sink = ReportSink(tmp_path / "rep", thumbnails=4)
    for f in _frames(50):
        sink.write(f)
    sink.close()
    img = cv2.imread(str(tmp_path / "rep" / "contact_sheet.png"))[:, :, ::-1]
    r, g, b = (img[..., c].astype(int) for c in range(3))
    red_rows = np.flatnonzero(((r > 180) & (g < 80) & (b < 80)).any(axis=1))
    blue_rows = np.flatnonzero(((b > 180) & (r < 80) & (g < 80)).any(axis=1))
    assert red_rows.size and blue_rows.size
    assert red_rows.max() < blue_rows.min()  # input row entirely above the result row
    # Four thumbnails side by side in each row.
    red_cols = ((r > 180) & (g < 80) & (b < 80)).any(axis=0).astype(int)
    assert np.count_nonzero(np.diff(red_cols) == 1) == 4


def test_thumbnails_stay_few_and_spread_over_a_long_run(tmp_path):
    sink = ReportSink(tmp_path / "rep", thumbnails=6, thumb_width=16)
    for f in _frames(2000, size=(8, 8)):
        sink.write(f)
        assert len(sink._thumbs) <= 8 * 6
    chosen = [t[0] for t in sink._chosen_thumbs()]
    assert len(chosen) == 6 and chosen[0] == 0 and chosen[-1] >= 1900
    gaps = np.diff(chosen)
    assert gaps.max() <= 1.5 * gaps.min()


def test_report_refusals(tmp_path, monkeypatch):
    (tmp_path / "rep").mkdir()
    (tmp_path / "rep" / "report.html").write_text("mine")
    with pytest.raises(OutputError, match="-y"):
        ReportSink(tmp_path / "rep")
    ReportSink(tmp_path / "rep", overwrite=True)  # -y
    with pytest.raises(OutputError, match="does not exist"):
        ReportSink(tmp_path / "no" / "rep")
    monkeypatch.setattr(report_mod, "_have_matplotlib", lambda: False)
    with pytest.raises(ConfigError, match=r"vidclear\[report\]"):
        ReportSink(tmp_path / "rep2")


def test_cli_refuses_report_before_writing_anything(clip, tmp_path, capsys):
    (tmp_path / "rep").mkdir()
    (tmp_path / "rep" / "timeline.png").write_bytes(b"mine")
    out = tmp_path / "out.mp4"
    assert main(["run", str(clip), "-o", str(out), "--report", str(tmp_path / "rep")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("vidclear: error: report folder")
    assert not out.exists() and (tmp_path / "rep" / "timeline.png").read_bytes() == b"mine"


def test_response_plot_has_a_curve_per_channel():
    from vidclear.cli.hdr import response_plot

    z = np.arange(256) + 1.0
    img = response_plot(np.stack([z**2.2, z**2.0, z**1.8], axis=1), title="test response")
    assert img.shape == (480, 640, 3) and img.dtype == np.uint8
    for colour in ((214, 39, 40), (44, 160, 44), (31, 119, 180)):  # matplotlib's tab: colours
        near = np.abs(img.astype(int) - colour).sum(axis=2) < 40
        assert near.sum() > 300, colour  # the curve and its legend entry


def test_a_one_frame_timeline_shows_its_points():
    # -t 0.04: four empty panels, single points drawn as lines (trial 37)
    from vidclear.io.sinks._report_plots import timeline

    cols = {k: np.array([v]) for k, v in (
        ("time_s", 0.0), ("wall_s", 0.0), ("latency_ms", 40.0), ("airlight_r", 0.8),
        ("airlight_g", 0.8), ("airlight_b", 0.85), ("strength", 0.9), ("density", 0.4),
        ("scene_cut", 1.0), ("jit_warmup", 0.0))}
    img = cv2.imdecode(np.frombuffer(timeline(cols, title="one"), np.uint8), cv2.IMREAD_COLOR)
    middle = img[:, int(0.35 * img.shape[1]):int(0.65 * img.shape[1])]  # legends sit right
    for bgr in ((180, 119, 31), (40, 39, 214), (189, 103, 148)):  # tab: blue, red, purple
        near = np.abs(middle.astype(int) - bgr).sum(axis=2) < 40
        assert near.sum() > 20, bgr  # the point itself (none before)


def test_hdr_output_thumbnails_are_shown_mapped_to_sdr(tmp_path):
    # PQ / HLG output's thumbnails showed the raw signal: washed out, grey, and
    # the page never said the output was HDR (trial 37)
    from vidclear.hdr.signal import BT709_TO_BT2020, hlg_oetf, pq_inverse_eotf
    from vidclear.io.sinks.report import sdr_preview

    grey709 = np.array([[[20.3, 20.3, 20.3], [203.0, 203.0, 203.0], [0.0, 0.0, 0.0]]])
    lin2020 = grey709 @ BT709_TO_BT2020.T
    pq = np.rint(pq_inverse_eotf(lin2020) * 65535).astype(np.uint16)
    got = sdr_preview(pq, "smpte2084").astype(float)
    np.testing.assert_allclose(got[0, :, 0], [255 * 0.1 ** (1 / 2.2), 255, 0], atol=1.5)
    hlg = np.rint(hlg_oetf(lin2020 / 1000.0) * 65535).astype(np.uint16)
    np.testing.assert_allclose(sdr_preview(hlg, "arib-std-b67").astype(float)[0, :, 0],
                               [255 * 0.1 ** (1 / 2.2), 255, 0], atol=1.5)
    sink = ReportSink(tmp_path / "R")
    img = np.zeros((32, 48, 3), np.uint16)
    img[:] = pq[0, 1]  # reference white everywhere
    sink.write(Frame(img, pts=0, time_base=Fraction(1, 30),
                     meta={"colour": {"transfer": "smpte2084"}}))
    sink.close()
    page = (tmp_path / "R" / "report.html").read_text()
    assert "HDR output" in page and "PQ: its thumbnails are shown mapped to SDR" in page
    assert sink._thumbs[0][3].min() >= 254  # white, not the raw signal's grey (148)


def test_an_hdr_run_shows_both_exposures_its_levels_and_its_events(tmp_path):
    # The thumbnails are every 2**k-th frame: of an alternating camera, all
    # of one exposure (the input row was all short exposures); half the
    # timeline said "no dehaze processor"; the bracket found was not on the
    # page (trial 63).
    sink = ReportSink(tmp_path / "rep", thumbnails=4, thumb_width=64)
    dark, bright, out = (np.full((48, 64, 3), v, np.uint8) for v in (20, 220, 120))
    for i in range(40):
        src = Frame(bright if i % 2 else dark, pts=i, time_base=Fraction(1, 24))
        sink.write(src.replace(out, hdr_phase=i % 2))
    sink.event("hdr_bracket: found 2 exposures repeating [1, 8]")
    sink.close()
    with open(tmp_path / "rep" / "frames.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["hdr_phase"]) for r in rows[:4]] == [0, 1, 0, 1]
    assert [round(float(r["level_in"])) for r in rows[:2]] == [20, 220]
    assert all(round(float(r["level_out"])) == 120 for r in rows)
    assert all(t[0] % 2 == 0 for t in sink._chosen_thumbs())  # all of one exposure...
    for _, _, shown, _ in sink._chosen_thumbs()[1:]:  # ...shown beside the frame before
        assert shown.min() == 20 and shown.max() == 220, (shown.min(), shown.max())
    page = (tmp_path / "rep" / "report.html").read_text()
    assert "<th>event</th><td>hdr_bracket: found 2 exposures repeating [1, 8]" in page


def test_vidclear_run_puts_the_bracket_found_on_the_report(tmp_path):
    src = make_clip(tmp_path / "clear.mp4", n=24, size=(160, 120), audio=False)
    bracket = tmp_path / "bracket.mp4"
    res = subprocess.run([*PY, "synth", "bracket", str(src), str(bracket), "--ev", "-2", "0",
                          "2"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    rep = tmp_path / "rep"
    res = subprocess.run([*PY, "run", str(bracket), "-o", str(tmp_path / "hdr.mp4"), "-q",
                          "--preset", "hdr-bracket", "--report", str(rep)],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    page = (rep / "report.html").read_text()
    # (what it found or did not find in this clip: the events reach the page)
    said = res.stderr.count("vidclear: hdr_bracket: ")
    assert page.count("<th>event</th><td>hdr_bracket: ") >= 1 and said == 0, page[-1500:]


def test_hdr_thumbnails_are_pairs_from_the_first_frame(tmp_path):
    # An HDR run's input thumbnails show the frame before beside each; the
    # first frame had none and was one picture twice the others' height
    # (trial 74): a grey half keeps it a pair of the same size.
    sink = ReportSink(tmp_path / "rep", thumbnails=4, thumb_width=32)
    for i, f in enumerate(_frames(12, size=(24, 32))):
        sink.write(f.replace(f.image, hdr_phase=i % 2))
    shapes = {t[2].shape for t in sink._thumbs}
    assert shapes == {(12, 32, 3)}, shapes
    first = sink._thumbs[0][2]
    assert (first[:, :16] == 128).all() and not (first[:, 16:] == 128).all()


def test_report_rows_are_the_frames_in_the_files_each_after_the_one_before(tmp_path):
    # A constant-rate output (AVI) leaves out a frame too early for the next
    # free tick: the report showed it at a made-up time, its panels jumping
    # back; with --split both files' frames ran over one span and the plots
    # drew lines back across them (trial 76). Three frames within 15 ms of
    # one tick (40 ms): the first two are moved onto the next free ticks, as
    # FFmpeg moves them, and later ones left out until the picture is back
    # within a tick of its time.
    tb = Fraction(1, 1000)
    pts = ([40 * i for i in range(12)] + [40 * 11 + 5, 40 * 11 + 10, 40 * 11 + 15]
           + [40 * i for i in range(12, 24)])
    src = make_clip(tmp_path / "near.mkv", n=len(pts), pts=pts, time_base=tb, audio=False)
    out, rep = tmp_path / "near.avi", tmp_path / "rep"
    _, rows = _run_report(str(src), "-o", str(out), report=rep)
    got = [float(r["time_s"]) for r in rows]
    kept = ffprobe_frame_times(out)
    assert got == pytest.approx(kept, abs=1e-3) and all(b > a for a, b in itertools.pairwise(got))
    assert 0 < len(pts) - len(kept) < 4
    assert (f"<th>frames left out by the output</th><td>{len(pts) - len(kept)} ("
            in (rep / "report.html").read_text())
    a = make_clip(tmp_path / "a.mp4", n=10, audio=False)
    b = make_clip(tmp_path / "b.mp4", n=10, audio=False)
    folder, split = tmp_path / "split", tmp_path / "rep_split"
    folder.mkdir()
    _, rows = _run_report(str(a), str(b), "--split", "-o", str(folder), report=split)
    times = [float(r["time_s"]) for r in rows]
    assert [r["trip_file"] for r in rows] == ["0"] * 10 + ["1"] * 10
    assert all(y > x for x, y in itertools.pairwise(times)), times
    assert times[10] - times[9] == pytest.approx(times[9] - times[8], abs=1e-3)


def test_a_report_that_cannot_be_written_leaves_the_stats_and_the_summary(tmp_path,
                                                                         monkeypatch, capsys):
    # A full disk under --report ended the run at the report: no --stats
    # file, no summary, the finished video unmentioned and an empty report
    # folder left (trial 158 F2). The report's second picture fails here.
    real = report_mod.write_file

    def full(path, data, *, label):
        if Path(path).name == "timeline.png":
            raise OutputError(f"cannot write {label} {path}: No space left on device")
        return real(path, data, label=label)

    monkeypatch.setattr(report_mod, "write_file", full)
    out, stats, rep = tmp_path / "out.mp4", tmp_path / "s.json", tmp_path / "rep"
    code = main(["run", "lavfi:testsrc2=size=96x64:rate=10:duration=1", "-o", str(out),
                 "--stats", str(stats), "--report", str(rep)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert err[-1] == (f"vidclear: error: cannot write report file {rep / 'timeline.png'}: "
                       f"No space left on device (the output, {out}, is written whole)"), err
    assert any(line.startswith(f"wrote 10 frames to {out}") for line in err), err
    assert json.loads(stats.read_text())["frames_out"] == 10
    assert int(ffprobe_streams(out)["streams"][0]["nb_read_frames"]) == 10
    assert not rep.exists()  # neither the contact sheet written before nor the folder
