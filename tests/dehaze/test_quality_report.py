"""scripts/quality_dehaze.py on your own material: pairing, measures, bad input."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from tests.dehaze.dehaze_refs import add_haze, textured_scene, to_u8

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
    res = _run("--json", "--sheets", str(tmp_path / "sheets"), "--pairs", str(tmp_path / "mine"),
               "--videos", str(tmp_path / "clip.mp4"), "--video-frames", "5")
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert report["notes"] == [f"{tmp_path / 'mine'}: 1 hazy image(s) without a clear one: "
                               "03_hazy.png"]
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
    assert {p.name for p in (tmp_path / "sheets").iterdir()} == {"mine.png", "own_videos.png"}


@pytest.mark.parametrize(("args", "message"), [
    (["--pairs", "{tmp}/none"], "--pairs {tmp}/none: not a folder"),
    (["--pairs", "{tmp}"], "--pairs {tmp}: no hazy / clear pairs found"),
    (["--stills", "{tmp}"], "--stills {tmp}: no images"),
    (["--videos", "{tmp}/bad.mp4"], "--videos {tmp}/bad.mp4: cannot read"),
    (["--sets", "pairs,nope"], "--sets: unknown set(s) nope"),
])
def test_bad_material_is_refused_in_one_line(tmp_path: Path, args: list[str],
                                             message: str) -> None:
    (tmp_path / "bad.mp4").write_bytes(b"not a video")
    res = _run(*(a.format(tmp=tmp_path) for a in args))
    assert res.returncode != 0
    assert res.stderr.strip().startswith(message.format(tmp=tmp_path)), res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
