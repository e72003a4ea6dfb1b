"""scripts/quality_dehaze.py on your own material: pairing, measures, bad input."""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest

from tests.dehaze.dehaze_refs import add_haze, textured_scene, to_u8
from tests.media import colour_gradient, tagged_clip

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
sys.path.insert(0, str(SCRIPTS))
import quality_dehaze as q  # noqa: E402  (scripts/ is no package)


def _write(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def _pair(seed: int, h: int = 120, w: int = 160) -> tuple[np.ndarray, np.ndarray]:
    scene = textured_scene(h, w, seed)
    hazy, _ = add_haze(scene, np.array([0.85, 0.86, 0.88]), beta=1.5)
    return to_u8(hazy), to_u8(scene)


def _psnr_ref(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / mse))


def test_pairs_are_found_in_both_layouts_of_the_public_sets(tmp_path: Path) -> None:
    img = np.zeros((8, 8, 3), np.uint8)
    flat = tmp_path / "flat"
    for name in ("27_outdoor_hazy.jpg", "27_outdoor_GT.jpg", "01_hazy.png", "01_GT.jpg",
                 "02_hazy.png", "hazy-05.png", "clear-05.png", "notes_GT.png"):
        _write(flat / name, img)
    pairs, lone = q.find_pairs(flat)
    assert [(label, h.name, c.name) for label, h, c in pairs] == [
        ("01", "01_hazy.png", "01_GT.jpg"), ("27_outdoor", "27_outdoor_hazy.jpg",
                                             "27_outdoor_GT.jpg"),
        ("05", "hazy-05.png", "clear-05.png")]
    assert lone == ["02_hazy.png"]

    sub = tmp_path / "reside"
    for name in ("hazy/0025_0.8_0.2.jpg", "hazy/0352.png", "hazy/0999_1.jpg",
                 "gt/0025.png", "gt/0352.png"):
        _write(sub / name, img)
    pairs, lone = q.find_pairs(sub)
    assert [(h.name, c.name) for _, h, c in pairs] == [("0025_0.8_0.2.jpg", "0025.png"),
                                                       ("0352.png", "0352.png")]
    assert lone == ["0999_1.jpg"]


def _clip(path: Path, frames: int = 6) -> None:
    hazy, _ = _pair(3, 48, 64)
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=30)
        vs.width, vs.height, vs.pix_fmt = 64, 48, "yuv420p"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(np.roll(hazy, 2 * i, axis=1), format="rgb24")
            for p in vs.encode(frame):
                out.mux(p)
        for p in vs.encode(None):
            out.mux(p)


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPTS / "quality_dehaze.py"), *args],
                          capture_output=True, text=True, timeout=300)


def test_the_report_runs_on_your_own_pairs_and_videos(tmp_path: Path) -> None:
    truth = {}
    for seed in (1, 2):
        hazy, clear = _pair(seed)
        _write(tmp_path / "mine" / f"{seed:02d}_hazy.png", hazy)
        _write(tmp_path / "mine" / f"{seed:02d}_GT.png", clear)
        truth[f"{seed:02d}"] = _psnr_ref(hazy, clear)
    _write(tmp_path / "mine" / "03_hazy.png", _pair(3)[0])  # no clear one: a note
    _clip(tmp_path / "clip.mp4")
    # a one-frame clip (flicker needs two) is a note too; it stopped the whole report
    _clip(tmp_path / "one.mp4", frames=1)
    res = _run("--json", "--sheets", str(tmp_path / "sheets"), "--pairs", str(tmp_path / "mine"),
               "--videos", str(tmp_path / "one.mp4"), str(tmp_path / "clip.mp4"),
               "--video-frames", "5")
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert report["notes"] == [f"{tmp_path / 'mine'}: 1 hazy image(s) without a clear one: "
                               "03_hazy.png",
                               f"{tmp_path / 'one.mp4'}: 1 frame(s) decoded, flicker needs two; "
                               "left out"]
    assert {r["video"] for r in report["own_videos"]["rows"]} == {"clip"}
    # it says what it wrote, and each file is there
    assert report["sheets_written"] and all(
        (tmp_path / "sheets" / name).is_file() for name in report["sheets_written"])
    assert "own_videos.png" in report["sheets_written"]
    rows = report["own_pairs"]["mine"]["rows"]
    by = {(r["image"], r["method"]): r for r in rows}
    for label, value in truth.items():  # the input's own score, measured independently
        assert by[label, "hazy input"]["psnr"] == pytest.approx(value, abs=1e-6)
        assert by[label, "vidclear"]["psnr"] > value + 3  # the haze is removed
    assert report["own_pairs"]["mine"]["worse_than_input"]["vidclear"] == []

    videos = [r for r in report["own_videos"]["rows"] if r["method"] == "vidclear"]
    assert len(videos) == 1 and videos[0]["frames"] == 5
    with av.open(str(tmp_path / "clip.mp4")) as c:  # the input's flicker, from PyAV directly
        frames = list(itertools.islice(c.decode(video=0), 5))
    lum = [float((f.to_ndarray(format="rgb24") / 255.0 @ q.LUMA).mean()) for f in frames]
    assert videos[0]["flicker_input"] == pytest.approx(np.abs(np.diff(lum)).mean(), abs=2e-4)
    m = np.array(lum)
    assert videos[0]["pumping_input"] == pytest.approx(
        np.abs(m[1:-1] - (m[:-2] + m[2:]) / 2).mean(), abs=2e-4)
    assert {p.name for p in (tmp_path / "sheets").iterdir()} == {
        "mine.png", "own_videos.png", "own_videos_brightness.png"}
    plot = cv2.imread(str(tmp_path / "sheets" / "own_videos_brightness.png"))
    assert plot is not None and plot.shape[0] > 100 and plot.shape[1] > 100
    assert report["own_videos"]["brightness_plot"] is True
    # which vidclear was measured: the checkout beside the script, not an
    # installed one (a trial measured an edited checkout without knowing)
    import vidclear

    assert report["vidclear"].startswith(
        f"vidclear {vidclear.__version__} from {Path(vidclear.__file__).resolve().parent}")


def test_the_made_haze_sets_are_laid_over_your_clear_photos(tmp_path: Path) -> None:
    # --clear: the light, thin and dense haze made on ../shared's photos,
    # laid over other photos (material the defaults never saw) and scored as
    # pairs. An unreadable file, a photo too small for SSIM and a flat photo
    # the colour of an airlight (its made haze changes nothing) are named in
    # notes and left out; x.png beside x.jpg keeps both apart.
    photos = {f"p{seed}": to_u8(textured_scene(90, 120, seed)) for seed in (4, 5)}
    for name, img in photos.items():
        _write(tmp_path / "clear" / f"{name}.png", img)
    _write(tmp_path / "clear" / "p5.jpg", photos["p5"][::-1].copy())
    _write(tmp_path / "clear" / "tiny.png", photos["p4"][:8, :8].copy())
    _write(tmp_path / "clear" / "flat.png", np.full((40, 40, 3), 217, np.uint8))  # 0.85 grey
    (tmp_path / "clear" / "broken.jpg").write_bytes(b"no image")
    res = _run("--json", "--sheets", str(tmp_path / "sheets"), "--clear", str(tmp_path / "clear"))
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    folder = tmp_path / "clear"
    assert report["notes"] == [
        f"{folder}: cannot read broken.jpg; left out",
        f"{folder}: tiny under the 11 px SSIM needs at this size; left out",
        f"{folder}: thin haze made leaves flat [grey] unchanged (its PSNR would be "
        "infinite); left out"]
    sets = report["own_pairs"]
    assert set(sets) == {"clear: light haze made", "clear: thin haze made",
                         "clear: dense haze made"}
    by = {(k[7:12], r["image"], r["method"]): r for k, s in sets.items() for r in s["rows"]}
    images = {k: sorted({r["image"] for r in s["rows"]}) for k, s in sets.items()}
    assert images["clear: light haze made"] == sorted(
        f"{p} [{a}]" for p in ("flat", "p4", "p5.jpg", "p5.png") for a in ("grey-blue", "warm"))
    assert len(images["clear: thin haze made"]) == 4 * 3 - 1
    assert len(images["clear: dense haze made"]) == 4 * 2 * 3
    # the input's score, from the haze model written out here: t = exp(-beta d),
    # d from 1 (top row) to 0.05 (bottom), I = J t + A (1 - t), rounded
    for beta, kind, label, air in ((0.3, "light", "p4 [grey-blue]", [0.88, 0.88, 0.9]),
                                   (0.3, "light", "p5.png [warm]", [0.9, 0.86, 0.78]),
                                   (0.15, "thin ", "p5.jpg [warm]", [0.9, 0.86, 0.78])):
        name = label.split()[0]
        path = folder / (name if "." in name else f"{name}.png")
        clear = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        t = np.exp(-beta * np.linspace(1.0, 0.05, clear.shape[0]))[:, None, None]
        hazy = np.rint(np.clip((clear / 255.0 * t + np.array(air) * (1 - t)) * 255, 0, 255))
        assert by[kind, label, "hazy input"]["psnr"] == pytest.approx(
            _psnr_ref(hazy.astype(np.uint8), clear), abs=1e-6)
    dense = [r for r in sets["clear: dense haze made"]["rows"] if r["method"] == "hazy input"]
    assert all(r["psnr"] < 15 for r in dense if not r["image"].startswith("flat"))
    # contact sheets are plain files in --sheets, whatever the set's name
    assert {p.name for p in (tmp_path / "sheets").iterdir()} == {
        "clear_light_haze_made.png", "clear_thin_haze_made.png", "clear_dense_haze_made.png"}


def test_a_photos_made_pairs_do_not_depend_on_the_other_photos() -> None:
    a, b = (to_u8(textured_scene(60, 80, seed)) for seed in (6, 7))
    alone = q.made_on([("b", b)])
    with_a = q.made_on([("a", a), ("b", b)])
    for kind, items in alone.items():
        mine = [x for x in with_a[kind] if x[0].startswith("b")]
        assert [x[0] for x in mine] == [x[0] for x in items]
        for (_, h1, c1), (_, h2, c2) in zip(mine, items, strict=True):
            assert np.array_equal(h1, h2) and np.array_equal(c1, c2)


@pytest.mark.parametrize(("args", "message"), [
    (["--pairs", "{tmp}/none"], "--pairs {tmp}/none: not a folder"),
    (["--pairs", "{tmp}"], "--pairs {tmp}: no hazy / clear pairs found"),
    (["--stills", "{tmp}"], "--stills {tmp}: no images"),
    (["--clear", "{tmp}"], "--clear {tmp}: no images"),
    (["--clear", "{tmp}/none"], "--clear {tmp}/none: not a folder"),
    (["--videos", "{tmp}/bad.mp4"], "--videos {tmp}/bad.mp4: cannot read"),
    (["--sets", "pairs,nope"], "--sets: unknown set(s) nope (the sets: pairs, dense, light, thin,"),
    (["--sheets", "{tmp}/bad.mp4", "--pairs", "{tmp}"],
     "--sheets {tmp}/bad.mp4: cannot make the folder"),
])
def test_bad_material_is_refused_in_one_line(tmp_path: Path, args: list[str],
                                             message: str) -> None:
    (tmp_path / "bad.mp4").write_bytes(b"not a video")
    res = _run(*(a.format(tmp=tmp_path) for a in args))
    assert res.returncode != 0
    assert res.stderr.strip().startswith(message.format(tmp=tmp_path)), res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_a_folder_whose_pairs_cannot_be_scored_says_why(tmp_path: Path) -> None:
    hazy, clear = _pair(1)
    _write(tmp_path / "t" / "hazy" / "t.png", hazy[:8, :8])
    _write(tmp_path / "t" / "gt" / "t.png", clear[:8, :8])
    with pytest.raises(SystemExit, match=r"none of its 1 pair\(s\) can be scored \(the "
                                         r"last: t.png is 8x8 at this size"):
        q.own_pair_set(tmp_path / "t", 1024)


@pytest.mark.parametrize(("args", "message"), [
    (["--size", "8"], "argument --size: expected an integer >= 32, got 8"),
    (["--video-width", "1"], "argument --video-width: expected an integer >= 32, got 1"),
    (["--video-frames", "1"], "argument --video-frames: expected an integer >= 2, got 1"),
    (["--clear", ""], "argument --clear: an empty path (use . for this folder)"),
    (["--pairs", " "], "argument --pairs: an empty path (use . for this folder)"),
])
def test_bad_options_are_refused_by_argparse(args: list[str], message: str) -> None:
    res = _run(*args)  # usage, then the one error line (argparse's convention)
    assert res.returncode == 2 and res.stderr.strip().splitlines()[-1].endswith(message)


def test_a_pair_of_two_sizes_is_left_out_even_when_scaling_would_hide_it(
        tmp_path: Path) -> None:
    hazy, clear = _pair(1)
    _write(tmp_path / "p" / "01_hazy.png", hazy)
    _write(tmp_path / "p" / "01_GT.png", clear)
    _write(tmp_path / "p" / "02_hazy.png", hazy)
    _write(tmp_path / "p" / "02_GT.png", clear[:-1, :-1])  # 159x119: both scale to 64x48
    items, notes = q.own_pair_set(tmp_path / "p", 64)
    assert [label for label, *_ in items] == ["01"]
    assert notes == [f"{tmp_path / 'p'}: 02_hazy.png and 02_GT.png differ in size "
                     "(160x120 against 159x119); left out"]


@pytest.mark.parametrize("size", [(64, 38), (100, 66)])  # scaled: 38 and 42 rows
def test_videos_of_any_shape_are_read(tmp_path: Path, size: tuple[int, int]) -> None:
    w, h = size
    with av.open(str(tmp_path / "c.mp4"), "w") as out:
        vs = out.add_stream("libx264", rate=25)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        for i in range(4):
            img = np.full((h, w, 3), 40 * i, np.uint8)
            for p in vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(p)
        for p in vs.encode(None):
            out.mux(p)
    label, planes, frames, times = q.read_video(tmp_path / "c.mp4", 10, 64)
    assert label == "c" and len(frames) == 4 == len(planes)
    assert frames[0].shape[0] % 4 == 0 and frames[0].shape[1] == 64
    assert frames[0].shape[0] == pytest.approx(64 * h / w, abs=4)
    np.testing.assert_allclose(times, [0, 0.04, 0.08, 0.12], atol=1e-6)
    res = q.run_video({"hazy input": lambda x: x, "vidclear": q.dehaze_image},
                      [(label, planes, frames, times)], None)
    assert res["rows"][0]["frames"] == 4


def test_pairs_that_cannot_be_scored_are_noted_and_names_stay_apart(tmp_path: Path) -> None:
    # A second trial: an 8x8 pair crashed SSIM, an identical pair made the
    # mean PSNR infinite, 01_hazy.png and 01_hazy.jpg showed as one row, and
    # Hazy/ + GT/ folders were not read.
    hazy, clear = _pair(1)
    folder = tmp_path / "p"
    _write(folder / "Hazy" / "01_hazy.png", hazy)
    _write(folder / "Hazy" / "01_hazy.jpg", hazy)
    _write(folder / "Hazy" / "02_hazy.png", hazy[:8, :8])
    _write(folder / "Hazy" / "03_hazy.png", clear)
    for name, img in (("01_hazy", clear), ("02_hazy", clear[:8, :8]), ("03_hazy", clear)):
        _write(folder / "GT" / f"{name}.png", img)
    items, notes = q.own_pair_set(folder, 1024)
    assert [label for label, *_ in items] == ["01_hazy", "01_hazy.png"]
    assert notes == [f"{folder}: 02_hazy.png is 8x8 at this size, under the 11 px SSIM needs; "
                     "left out",
                     f"{folder}: 03_hazy.png is identical to 03_hazy.png (no haze; its PSNR "
                     "would be infinite); left out"]


def test_an_unreadable_image_is_left_out_with_a_note(tmp_path: Path) -> None:
    # A new-user trial: one broken file ended the whole report ("cannot read
    # ..."), while a pair of two sizes was only left out.
    hazy, clear = _pair(1)
    folder = tmp_path / "p"
    _write(folder / "01_hazy.png", hazy)
    _write(folder / "01_GT.png", clear)
    _write(folder / "02_hazy.png", hazy)
    (folder / "02_GT.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    items, notes = q.own_pair_set(folder, 1024)
    assert [label for label, *_ in items] == ["01"]
    assert notes == [f"{folder}: cannot read 02_GT.png; left out"]
    # hazy/ and gt/ folders name both files alike: the note says which one
    # ("cannot read bad.png or bad.png", trial 67)
    sub = tmp_path / "sub"
    _write(sub / "hazy" / "a.png", hazy)
    _write(sub / "gt" / "a.png", clear)
    _write(sub / "hazy" / "bad.png", hazy)
    (sub / "gt" / "bad.png").write_bytes(b"not a png")
    items, notes = q.own_pair_set(sub, 1024)
    assert [label for label, *_ in items] == ["a"]
    assert notes == [f"{sub}: cannot read {Path('gt', 'bad.png')}; left out"]
    _write(tmp_path / "s" / "a.png", hazy)
    (tmp_path / "s" / "b.jpg").write_bytes(b"not a jpeg")
    stills, notes = q.own_stills(tmp_path / "s", 64)
    assert [label for label, _ in stills] == ["a"] and stills[0][1].shape[1] == 64
    assert notes == [f"{tmp_path / 's'}: cannot read b.jpg; left out"]
    (tmp_path / "s" / "a.png").write_bytes(b"")
    with pytest.raises(SystemExit, match=r"none of its 2 image\(s\) can be read"):
        q.own_stills(tmp_path / "s", 64)


def test_videos_are_read_from_the_stream_vidclear_processes(tmp_path: Path) -> None:
    # Stream 0 a one-frame picture, stream 1 the video: the report read the
    # picture ("fewer than two frames decoded").
    path = tmp_path / "two.mkv"
    with av.open(str(path), "w") as out:
        still = out.add_stream("mjpeg", rate=1)
        still.width, still.height, still.pix_fmt = 32, 24, "yuvj420p"
        vs = out.add_stream("libx264", rate=25)
        vs.width, vs.height, vs.pix_fmt = 64, 48, "yuv420p"
        for p in still.encode(av.VideoFrame.from_ndarray(np.zeros((24, 32, 3), np.uint8),
                                                         format="rgb24")):
            out.mux(p)
        for p in still.encode(None):
            out.mux(p)
        for i in range(6):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 30 * i, np.uint8),
                                               format="rgb24")
            for p in vs.encode(frame):
                out.mux(p)
        for p in vs.encode(None):
            out.mux(p)
    _, _, frames, _ = q.read_video(path, 10, 64)
    assert len(frames) == 6 and frames[0].shape == (48, 64, 3)


def test_the_stable_dehaze_reference_never_changes_its_mind() -> None:
    # The pans' reference: one airlight and one transmission for the whole
    # still, so a point of the still comes out the same in every frame that
    # shows it (vidclear's own video output, which re-estimates, need not).
    clear = textured_scene(96, 320, 4)
    hazy = to_u8(add_haze(clear, np.array([0.85, 0.86, 0.88]), beta=1.5)[0])
    wins = q.pan_windows(hazy, frames=5, width=128)
    assert [(w[0].stop - w[0].start, w[1].stop - w[1].start) for w in wins] == [(72, 128)] * 5
    assert [w[1].start for w in wins] == [0, 48, 96, 144, 192]  # left to right, evenly
    frames = [np.ascontiguousarray(hazy[w]) for w in wins]  # no codec: exact crops
    outs = q.stable_dehaze(hazy, frames, width=128)
    for a, b in itertools.pairwise(outs):  # 48 px apart in the still
        np.testing.assert_array_equal(a[:, 48:], b[:, :-48])
    truth = to_u8(clear)
    for w, out in zip(wins, outs, strict=True):  # and it is a dehaze
        assert _psnr_ref(out, truth[w]) > _psnr_ref(hazy[w], truth[w]) + 3


def test_the_brightness_plot_says_when_matplotlib_is_missing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    series = [("pan", {"hazy input": [100.0, 101.0, 99.0], "vidclear": [90.0, 92.0, 88.0]})]
    assert q.brightness_plot(tmp_path / "a.png", series)
    assert cv2.imread(str(tmp_path / "a.png")) is not None
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # as if not installed
    assert not q.brightness_plot(tmp_path / "b.png", series)
    assert not (tmp_path / "b.png").exists()


def test_each_method_in_the_brightness_plot_has_its_own_colour(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the peers' colours were drawn for the two styled lines too, so two
    # peers ended up in near purples (a trial could not tell them apart)
    from matplotlib.axes import Axes
    colours: dict[str, str] = {}
    plot = Axes.plot

    def record(self: Axes, *args: Any, **kwargs: Any) -> Any:
        colours[kwargs["label"]] = kwargs["color"]
        return plot(self, *args, **kwargs)

    monkeypatch.setattr(Axes, "plot", record)
    names = ["hazy input", "vidclear", "textbook DCP", "CLAHE", "Zhu 2015 CAP",
             "Galdran 2018 AMEF"]
    assert q.brightness_plot(tmp_path / "a.png", [("pan", {n: [1.0, 2.0] for n in names})])
    assert list(colours) == names and len(set(colours.values())) == len(names)
    assert colours["textbook DCP"] == "tab:blue"  # the first of the peers' colours


def test_videos_too_small_to_measure_are_refused_in_one_line(tmp_path: Path) -> None:
    with av.open(str(tmp_path / "tiny.mp4"), "w") as out:  # 8 x 8: Meng's peer tracebacks
        vs = out.add_stream("libx264", rate=30)
        vs.width, vs.height, vs.pix_fmt = 8, 8, "yuv420p"
        for i in range(4):
            img = np.full((8, 8, 3), 60 * i, np.uint8)
            for p in vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(p)
        for p in vs.encode(None):
            out.mux(p)
    res = _run("--sheets", "", "--videos", str(tmp_path / "tiny.mp4"))
    assert res.returncode != 0
    assert res.stderr.strip() == ("--videos: none of the 1 video(s) can be measured (the last: "
                                  f"{tmp_path / 'tiny.mp4'}: 8x8 is too small to measure (8x8 "
                                  "as read at --video-width 384; at least 16 px a side))")


def test_clips_above_their_input_are_counted_not_hidden_in_a_mean() -> None:
    # one clip flickering a lot below its input, two a little above theirs:
    # the mean of flicker passes, the count says 2 of 3; a steady input (coding
    # noise only) gives no ratio, and a two-frame clip no pumping at all
    nan = float("nan")
    rows = [{"method": "vidclear", "flicker": f, "flicker_input": fi, "pumping": p,
             "pumping_input": pi} for f, fi, p, pi in
            ((0.010, 0.014, 0.002, 0.001), (0.002, 0.001, 0.001, 0.001),
             (0.003, 0.001, 0.0005, 0.001), (0.00002, 0.000005, nan, nan))]
    assert np.mean([r["flicker"] for r in rows]) < np.mean([r["flicker_input"] for r in rows])
    counts = q.above_input(rows)["vidclear"]
    assert counts["flicker"] == {"above": 2, "clips": 4,
                                 "ratio_mean": pytest.approx(np.mean([0.010 / 0.014, 2, 3]))}
    assert counts["pumping"] == {"above": 1, "clips": 3, "ratio_mean": pytest.approx(7 / 6)}
    lines = q._above_input_lines(q.above_input(rows))
    assert lines[1].split() == ["vidclear", "flicker", "2", "of", "4",
                                f"({np.mean([0.010 / 0.014, 2, 3]):.2f}", "x),", "pumping",
                                "1", "of", "3", "(1.17", "x)"]
    assert q._times(rows[3], "flicker") == "input steady"
    assert q._times(rows[3], "pumping") == "needs 3 frames"
    assert q._mean(rows, ("pumping",)) == {"pumping": pytest.approx(3.5e-3 / 3)}


def test_the_stable_dehaze_follows_the_pan_of_a_narrow_still() -> None:
    # at --size 256 some stills are narrower than the pans' 384 px: the pan
    # and the stable dehaze must cut the same windows (a traceback before)
    hazy = to_u8(add_haze(textured_scene(200, 300, 5), np.array([0.85, 0.86, 0.88]),
                          beta=1.5)[0])
    clips = q.pans([("narrow", hazy)])
    frames = clips[0][2]
    outs = q.stable_pans([("narrow", hazy)], clips)["narrow"]
    assert [o.shape for o in outs] == [f.shape for f in frames]


def test_the_json_report_is_strict_json(tmp_path: Path) -> None:
    # pumping needs three frames: on a two-frame clip it does not apply, and
    # the JSON says null rather than NaN, which strict parsers refuse
    _clip(tmp_path / "two.mp4", frames=2)
    res = _run("--json", "--sheets", "", "--videos", str(tmp_path / "two.mp4"))
    assert res.returncode == 0, res.stderr

    def refuse(name: str) -> None:
        raise ValueError(f"not strict JSON: {name}")

    report = json.loads(res.stdout, parse_constant=refuse)
    rows = report["own_videos"]["rows"]
    assert rows and all(r["pumping"] is None and r["frames"] == 2 for r in rows)


def test_images_that_are_not_8_bit_rgb_are_named_in_a_note(tmp_path: Path) -> None:
    hazy, clear = _pair(5)
    mine = tmp_path / "mine"
    _write(mine / "01_hazy.png", hazy)
    mine.mkdir(exist_ok=True)
    deep = (clear.astype(np.uint16) * 257)[:, :, ::-1]  # 16-bit BGR for OpenCV
    assert cv2.imwrite(str(mine / "01_GT.png"), deep)
    grey = cv2.cvtColor(_pair(6)[0], cv2.COLOR_RGB2GRAY)
    assert cv2.imwrite(str(mine / "02_hazy.png"), grey)
    _write(mine / "02_GT.png", _pair(6)[1])
    assert cv2.imwrite(str(mine / "03_hazy.png"), grey)  # grey on both sides: a grey pair
    assert cv2.imwrite(str(mine / "03_GT.png"), cv2.cvtColor(_pair(6)[1], cv2.COLOR_RGB2GRAY))
    items, notes = q.own_pair_set(mine, 256)
    assert [label for label, _, _ in items] == ["01", "03"]  # measured as 8-bit RGB
    np.testing.assert_array_equal(items[0][2], clear)  # 16-bit scaled back to the same 8 bits
    # a grey hazy image against a colour clear one: the missing colour would
    # count against every method (trial 89 F8: CIEDE2000 23.7 against 13.5)
    assert notes[0] == (f"{mine}: 02_hazy.png is grey and 02_GT.png in colour (the colour "
                        "would count against every method); left out")
    # the conversion note names the pairs scored only (it named 02 too: trial 90 F5)
    assert notes[-1] == (f"{mine}: measured as 8-bit RGB: 01_GT.png (16-bit), 03_hazy.png "
                         "(grey), 03_GT.png (grey)")


def test_the_luma_change_of_a_black_input_is_not_measured() -> None:
    # Trial 89 F4: a black still returned unchanged read -100 % (the worst of
    # the set), and CLAHE lifting black by a few levels read +196 063 %,
    # which swamped the set's mean.
    black = np.zeros((32, 32, 3), np.uint8)
    assert math.isnan(q.no_reference(black, black)["dY_pct"])
    assert math.isnan(q.no_reference(black + 9, black + 1)["dY_pct"])
    grey = np.full((32, 32, 3), 100, np.uint8)
    assert q.no_reference(grey - 20, grey)["dY_pct"] == pytest.approx(-20.0, abs=0.01)
    methods = {"hazy input": lambda x: x, "lift": lambda x: np.maximum(x, 8).astype(np.uint8)}
    res = q.run_nr(methods, [("black", black), ("grey", grey)], "s", None, {})
    assert res["mean"]["lift"]["dY_pct"] == pytest.approx(0.0)  # the black still left out
    assert res["worst"]["lift"]["dY_pct"] == pytest.approx(0.0)
    only_black = q.run_nr(methods, [("black", black)], "s", None, {})
    assert math.isnan(only_black["worst"]["lift"]["dY_pct"])
    assert "n/a" in q._nr_table("t", only_black["mean"])[-1]


def test_the_objects_measure_sees_a_background_that_moves() -> None:
    # The car never touches the measured pixels, so a method that leaves
    # them alone scores 0; one that brightens the frame by 10 levels whenever
    # something dark is in view scores 10, in the first 2 s and after (and
    # 7 for the white lorry, when it darkens by 7 for something white).
    bg = to_u8(add_haze(textured_scene(120, 200, 4), np.array([0.85, 0.86, 0.88]), 1.2)[0])
    frames, keep = q.car_clip(bg, 0.3, 15)
    assert keep.any() and not keep.all()
    assert all(np.array_equal(f[keep], bg[keep]) for f in frames)
    assert not np.array_equal(frames[-1][~keep], bg[~keep])  # the car is there

    def reacts(x: np.ndarray) -> np.ndarray:  # brighter when something dark is in view, darker
        shift = 10 if x.min() < 20 else -7 if x.max() > 253 else 0  # for something white
        return np.clip(x.astype(int) + shift, 0, 255).astype(np.uint8)

    assert 20 <= bg.min() and bg.max() <= 253

    res = q.run_objects({"hazy input": lambda x: x, "still": lambda x: x, "reacts": reacts},
                        [("bg", bg)])
    dark = res["mean"]["dark car"]
    assert set(res["mean"]) == {"dark car", "white lorry"} and set(dark) == {"still", "reacts"}
    assert dark["still"]["early_max"] == 0.0 == dark["still"]["later_max"]
    assert dark["reacts"]["early_max"] == pytest.approx(10.0, abs=0.01)
    assert dark["reacts"]["later_max"] == pytest.approx(10.0, abs=0.01)
    assert res["mean"]["white lorry"]["reacts"]["later_max"] == pytest.approx(7.0, abs=0.01)
    assert len(res["rows"]) == 2 * len(q.OBJECT_CARS)


def test_the_thin_haze_set_is_thin_and_counts_what_is_made_worse() -> None:
    # Thin haze on a clear photo: every pixel moves towards its airlight by
    # 1 - t, t from 0.99 at the bottom row to 0.86 at the top.
    clear = to_u8(textured_scene(100, 60, 5))
    air = q.THIN_AIRLIGHTS[0][1]
    hazy = q._haze_ramp(clear, q.THIN_BETA, air)
    j, i = clear / 255.0, hazy / 255.0
    mask = np.abs(air - j[-1]) > 0.2  # enough contrast to read t from
    t_bottom = np.median(((air - i[-1]) / (air - j[-1]))[mask])
    mask = np.abs(air - j[0]) > 0.2
    t_top = np.median(((air - i[0]) / (air - j[0]))[mask])
    assert t_bottom == pytest.approx(np.exp(-0.15 * 0.05), abs=0.01)
    assert t_top == pytest.approx(np.exp(-0.15), abs=0.01)
    # The rule's count: a method that brightens by 8 levels is worse than
    # the input on every image; one that removes the haze exactly on none.
    items = [("a", hazy, clear)]
    truth = {hazy.tobytes(): clear}
    methods = {"hazy input": lambda x: x, "exact": lambda x: truth[x.tobytes()],
               "brighter": lambda x: np.clip(x.astype(int) + 8, 0, 255).astype(np.uint8)}
    rows = q.run_pairs(methods, {"thin": items}, None, {})["thin"]["rows"]
    assert q.worse_than_input(rows, methods) == {"exact": [], "brighter": ["a"]}


def test_the_data_folder_can_be_named(tmp_path: Path) -> None:
    # The report found its data only at <repo>/../shared (a new-user trial
    # had to make a link): --data names the folder holding dehaze/ and hdr/.
    res = _run("--data", str(tmp_path / "none"), "--sets", "stills", "--sheets", "")
    assert res.returncode == 1 and len(res.stderr.strip().splitlines()) == 1
    assert f"dehaze data not found in {tmp_path / 'none' / 'dehaze'}" in res.stderr
    stills = tmp_path / "data" / "dehaze" / "hazy-stills"
    stills.mkdir(parents=True)
    hazy = to_u8(add_haze(textured_scene(64, 96, 2), np.array([0.85, 0.86, 0.88]), 1.2)[0])
    cv2.imwrite(str(stills / "mine.png"), cv2.cvtColor(hazy, cv2.COLOR_RGB2BGR))
    res = _run("--data", str(tmp_path / "data"), "--sets", "stills", "--sheets", "", "--json")
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)["stills"]["rows"]
    assert {r["image"] for r in rows} == {"mine"}


def test_an_image_past_opencvs_pixel_limit_is_unreadable_not_a_traceback(tmp_path: Path) -> None:
    # A 40000 x 40000 PNG header: OpenCV raises (its pixel limit) instead of
    # returning None; the report names it in a note beside the good photos.
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    huge = tmp_path / "huge.png"
    huge.write_bytes(b"\x89PNG\r\n\x1a\n"
                     + chunk(b"IHDR", struct.pack(">IIBBBBB", 40000, 40000, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b""))
    with pytest.raises(cv2.error):
        cv2.imread(str(huge))
    assert q.try_read(huge) is None
    _write(tmp_path / "ok.png", to_u8(textured_scene(40, 50, 8)))
    photos, notes = q.own_stills(tmp_path, 256, "--clear")
    assert [label for label, _ in photos] == ["ok"]
    assert notes == [f"{tmp_path}: cannot read huge.png; left out"]


def test_a_jpeg_cut_short_is_left_out_not_scored_grey(tmp_path: Path) -> None:
    photo = to_u8(textured_scene(60, 80, 9))
    _write(tmp_path / "whole.jpg", photo)
    data = (tmp_path / "whole.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    assert cv2.imread(str(tmp_path / "cut.jpg")) is not None  # OpenCV decodes it anyway
    assert q.try_read(tmp_path / "cut.jpg") is None
    assert q.try_read(tmp_path / "whole.jpg") is not None
    photos, notes = q.own_stills(tmp_path, 256, "--clear")
    assert [label for label, _ in photos] == ["whole"]
    assert notes == [f"{tmp_path}: cannot read cut.jpg; left out"]


def test_contact_sheet_labels_fit_their_tiles(tmp_path: Path) -> None:
    # Each row is headed by its image's name; each tile carries the method's
    # name alone, in a font small enough to fit a narrow (portrait) tile:
    # "name: method" in every tile had cut the method off (trial 33).
    tile = np.full((150, 100, 3), 90, np.uint8)  # portrait: 112 px wide at the sheet's height
    rows = [("grace_hopper t<=0.32 [blue-grey]",
             [("hazy input", tile), ("Galdran 2018 AMEF", tile)])]
    q.contact_sheet(tmp_path / "s.png", rows)
    sheet = cv2.imread(str(tmp_path / "s.png"))
    assert sheet.shape[0] == 22 + 22 + 150 + 4  # name band, method band, tile, gap
    width = sheet.shape[1] // 2 - 4  # two tiles, each followed by a 4 px gap
    for x0 in (0, width + 4):
        band = sheet[22:44, x0:x0 + width]
        assert (band < 128).any()  # a label is there ...
        assert (band[:, -3:] == 255).all()  # ... and ends inside its tile


@pytest.mark.parametrize(("fmt", "space", "rng"), [("yuv420p", 1, 1), ("yuvj420p", 1, 2),
                                                   ("yuv420p", 6, 1)])
def test_videos_are_read_in_their_own_colour_standard(tmp_path: Path, fmt: str, space: int,
                                                      rng: int) -> None:
    # BT.709 and full-range planes were handed on as they were and read as
    # BT.601 limited range (hazy input and every method 9-12 levels off)
    path = tagged_clip(tmp_path / "c.mp4", colour_gradient(48, 64), fmt, space, rng, n=3)
    with av.open(str(path)) as inp:  # FFmpeg's reading, with the tags
        want = [f.to_ndarray(format="rgb24").astype(float) for f in inp.decode(video=0)]
    _, _, frames, _ = q.read_video(path, 10, 64)
    assert len(frames) == len(want) == 3
    for got, ref in zip(frames, want, strict=True):
        # measured 1.2 (4:2:0 twice); BT.709 read as BT.601 5.3
        assert np.abs(got - ref).mean() < 3


def test_one_channel_crushed_or_clipped_is_counted() -> None:
    # A yellow disc whose blue went from 30 to 0 (its texture lost) and a
    # sky whose blue clipped counted as nothing: crush and clip need every
    # channel dark or bright (trial 125 F3). crush1 / clip1 count one.
    inp = np.full((10, 10, 3), (200, 190, 30), np.uint8)
    inp[5:] = (120, 170, 240)  # the lower half a blue sky
    out = inp.copy()
    out[:2, :, 2] = 0  # two rows of the disc lose their blue
    out[5:8, :, 2] = 255  # three rows of sky clip in blue
    nr = q.no_reference(out, inp)
    assert nr["crush_pct"] == 0 and nr["clip_pct"] == 0
    assert nr["crush1_pct"] == pytest.approx(20.0) and nr["clip1_pct"] == pytest.approx(30.0)
    assert q.no_reference(inp, inp)["crush1_pct"] == 0  # nothing new: nothing counted
    dark = inp.copy()
    dark[:, :, 2] = 2  # an input already crushed in blue is not newly crushed
    assert q.no_reference(dark, dark)["crush1_pct"] == 0
