"""`vidclear hdr --deghost`: a bracket whose scene moved between the shots."""

from __future__ import annotations

import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.hdr.conftest import DATA
from tests.hdr.test_merge import TIMES, _moving_bracket
from vidclear.cli.main import main
from vidclear.hdr.deghost import best_exposed


def _write(tmp_path: Path, imgs: list[np.ndarray]) -> list[str]:
    files = []
    for k, img in enumerate(imgs):
        p = tmp_path / f"shot{k}.png"
        cv2.imwrite(str(p), img[:, :, ::-1])
        files.append(str(p))
    return files


def _radiance(path: Path) -> np.ndarray:
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)[:, :, ::-1].astype(np.float64)


def test_deghost_takes_what_moved_from_the_reference(tmp_path, capsys):
    # trial 74 H2: the boxes that moved between the shots came out as
    # translucent copies; with --deghost they are where the reference saw
    # them and the background is whole where the other shots saw them
    imgs, shots, still = _moving_bracket()
    files = _write(tmp_path, imgs)
    times = [str(t) for t in TIMES]
    out = {}
    for name, flags in (("plain", []), ("ghost", ["--deghost"]),
                        ("mid", ["--deghost", "0.5", "--reference", files[1]])):
        rc = main(["hdr", *files, "--times", *times, "-o", str(tmp_path / f"{name}.hdr"),
                   "--tonemap", "none", "--no-align", *flags])
        printed = capsys.readouterr().out
        assert rc == 0
        out[name] = (_radiance(tmp_path / f"{name}.hdr"), printed)
    assert "de-ghosted" not in out["plain"][1]
    best = best_exposed(np.stack(imgs))
    assert f"de-ghosted against {files[best]})" in out["ghost"][1]  # the best exposed
    assert f"de-ghosted against {files[1]})" in out["mid"][1]
    moved = np.any([np.any(s != still, axis=2) for s in shots], axis=0)
    err = {}
    for name, ref in (("plain", best), ("ghost", best), ("mid", 1)):
        rad = out[name][0]
        # the response is calibrated from the shots (its toe is a guess): compare in
        # ratios to the still parts, where the others saw a box and the reference did not
        scale = np.median(rad[~moved] / still[~moved])
        ghosts = moved & np.all(shots[ref] == still, axis=2)
        err[name] = np.abs(np.log(rad / scale) - np.log(still)).mean(axis=2)[ghosts].mean()
    assert err["plain"] > 0.4, err
    assert err["ghost"] < 0.6 * err["plain"] and err["mid"] < 0.6 * err["plain"], err


def test_deghost_settings_are_refused_in_one_line(tmp_path, capsys):
    imgs, _, _ = _moving_bracket()
    files = _write(tmp_path, imgs)
    times = [str(t) for t in TIMES]
    with pytest.raises(SystemExit) as exc:
        main(["hdr", *files, "--times", *times, "-o", str(tmp_path / "x.hdr"),
              "--deghost", "-1"])
    assert exc.value.code == 2 and "expected a width >= 0" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:  # before the images, it took the first for a width
        main(["hdr", "--deghost", *files, "--times", *times, "-o", str(tmp_path / "x.hdr")])
    assert exc.value.code == 2 and "put --deghost after the images" in capsys.readouterr().err
    rc = main(["hdr", *files, "--times", *times, "-o", str(tmp_path / "x.hdr"), "--deghost",
               "--reference", str(tmp_path / "other.png")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "is not one of the exposures merged" in err[0], err
    # without --deghost it was taken without a word, and the run said "de-ghosted" (trial 79)
    rc = main(["hdr", *files, "--times", *times, "-o", str(tmp_path / "x.hdr"),
               "--reference", files[1]])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "add --deghost" in err[0], err
    assert not (tmp_path / "x.hdr").exists()


def test_real_people_walking_between_the_shots(tmp_path, capsys):
    # Three frames of a real alternating-exposure clip (Chen et al. 2021),
    # people walking: merged plainly, each leaves a translucent copy in
    # every shot; de-ghosted, the picture follows the reference where they
    # moved. Measured as the mean log disagreement with the reference's own
    # radiance where another shot disagrees with it by over half a stop.
    clip = DATA / "altexp-video" / "3exp" / \
        "10-11-15.42.34_seq_grab_loop_0912_2stop_3exps_3s_wb.mp4"
    if not clip.exists():
        pytest.skip("../shared/data/hdr/altexp-video is not here")
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(clip), "-vf",
                    "select='eq(n,30)+eq(n,34)+eq(n,38)'", "-vsync", "0",
                    str(tmp_path / "f%d.png")], check=True)
    files = sorted((str(p) for p in tmp_path.glob("f*.png")),
                   key=lambda p: cv2.imread(p).mean())
    res = {}
    for name, flags in (("plain", []), ("ghost", ["--deghost", "--reference", files[1]])):
        rc = main(["hdr", *files, "--times", "1", "4", "16", "-o", str(tmp_path / f"{name}.hdr"),
                   "--tonemap", "none", "--no-align", *flags])
        assert rc == 0, capsys.readouterr().err
        res[name] = np.log(_radiance(tmp_path / f"{name}.hdr").mean(axis=2))
    mid = cv2.imread(files[1])[:, :, ::-1].astype(np.float64)
    usable = (mid.max(axis=2) < 240) & (mid.min(axis=2) > 20)
    # the reference's radiance up to the response: ranks of its luminance follow the merge's
    # where nothing moved, so compare each merge with a monotone fit of it on the reference
    grey = mid.mean(axis=2)
    differ = {}
    for name, logr in res.items():
        levels = np.clip(grey.astype(int), 0, 255)
        fit = np.zeros(256)
        for v in np.unique(levels[usable]):
            fit[v] = np.median(logr[usable & (levels == v)])
        differ[name] = np.abs(logr - fit[levels])[usable]
    moved = differ["plain"] > 0.35
    assert moved.mean() > 0.005  # people walked: a part of the picture disagrees
    assert differ["ghost"][moved].mean() < 0.6 * differ["plain"][moved].mean()
