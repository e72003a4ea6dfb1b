"""vidclear demo and vidclear synth, end to end through real encoders."""

from __future__ import annotations

import subprocess
import sys

import av
import numpy as np

from tests.media import ffprobe_streams, make_clip
from vidclear.io.sources.synthetic import RoadScene
from vidclear.metrics import psnr

PY = [sys.executable, "-m", "vidclear"]


def _frames(path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def test_demo_writes_a_labelled_before_after_video(tmp_path):
    out = tmp_path / "demo.mp4"
    res = subprocess.run([*PY, "demo", "-o", str(out), "--seconds", "1", "--size", "192x108"],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    v = ffprobe_streams(out)["streams"][0]
    assert (v["width"], v["height"], int(v["nb_read_frames"])) == (384, 108, 30)
    last = _frames(out)[-1].astype(np.float64)
    hazy, dehazed = last[30:, :192], last[30:, 192:]  # below the labels
    # The demo scene is deterministic: the dehazed half must be closer to the
    # clear scene than the hazy half is.
    truth = RoadScene(width=192, height=108, seconds=1).render(29 / 30)[30:].astype(np.float64)
    assert psnr(dehazed, truth, data_range=255) > psnr(hazy, truth, data_range=255) + 2.0
    assert "before/after video" in res.stderr
    # A second run never overwrites the first.
    again = subprocess.run([*PY, "demo", "-o", str(out), "--seconds", "1", "--size", "64x48"],
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 1 and "already exists" in again.stderr


def test_demo_rejects_a_bad_size(tmp_path):
    res = subprocess.run([*PY, "demo", "-o", str(tmp_path / "d.mp4"), "--size", "big"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "WxH" in res.stderr and "Traceback" not in res.stderr
    # -o - advised "-f matroska", which demo does not take (trial 38)
    res = subprocess.run([*PY, "demo", "-o", "-", "--seconds", "0.5"], capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 2 and "demo writes a video file, not to -" in res.stderr, \
        res.stderr
    # each option named alone: --seconds 0 blamed --size too (trial 37)
    for args, want, other in ((["--seconds", "0"], "--seconds 0 is not allowed", "--size"),
                              (["--size", "8x8"], "--size 8x8 is not allowed", "--seconds")):
        res = subprocess.run([*PY, "demo", "-o", str(tmp_path / "d.mp4"), *args],
                             capture_output=True, text=True, timeout=60)
        assert res.returncode == 2 and want in res.stderr and other not in res.stderr, \
            res.stderr


def test_synth_haze_lowers_contrast_and_keeps_timing(tmp_path):
    src = make_clip(tmp_path / "clear.mp4", n=12, size=(160, 120))
    out = tmp_path / "hazy.mp4"
    res = subprocess.run([*PY, "synth", "haze", str(src), str(out), "--beta", "3",
                          "--depth-model", "constant", "--noise", "0.01", "--seed", "3"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "no effect" not in res.stderr, res.stderr  # the flags are the chain's own settings
    a, b = _frames(src), _frames(out)
    assert len(a) == len(b) == 12
    assert np.std(b[5].astype(float)) < 0.7 * np.std(a[5].astype(float))
    # Audio is copied through synthesis too.
    kinds = [s["codec_type"] for s in ffprobe_streams(out)["streams"]]
    assert kinds == ["video", "audio"]


def test_synth_haze_takes_a_coloured_airlight_on_its_flag(tmp_path):
    # --airlight refused R,G,B that --set synth_haze.airlight=[r,g,b] took
    # (trial 125 F7): a warm airlight warms a grey scene's haze
    src = make_clip(tmp_path / "clear.mp4", n=3, size=(96, 64), audio=False)
    out = tmp_path / "warm.mp4"
    res = subprocess.run([*PY, "synth", "haze", str(src), str(out), "--beta", "3",
                          "--depth-model", "constant", "--airlight", "0.95,0.85,0.6"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    r, g, b = _frames(out)[1].reshape(-1, 3).mean(axis=0)
    assert r > g > b and r - b > 40
    res = subprocess.run([*PY, "synth", "haze", str(src), str(out), "--airlight", "0.9,0.8"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "expected a grey level or R,G,B" in res.stderr


def test_synth_bracket_alternates_exposure(tmp_path):
    src = make_clip(tmp_path / "clear.mp4", n=12, size=(160, 120), audio=False)
    out = tmp_path / "bracket.mp4"
    res = subprocess.run([*PY, "synth", "bracket", str(src), str(out), "--ev", "-2", "0", "2"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    # --ev is synth_bracket.exposures: it was noted as "has no effect" (trial 34)
    assert "no effect" not in res.stderr, res.stderr
    # a setting of another processor has none, and synth's chain is its own
    res = subprocess.run([*PY, "synth", "bracket", str(src), str(tmp_path / "b2.mp4"),
                          "--set", "dehaze.strength=0.5"], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0 and "--set dehaze.strength has no effect" in res.stderr
    assert "this command runs only that" in res.stderr and "add 'dehaze'" not in res.stderr
    means = [f.mean() for f in _frames(out)]
    assert len(means) == 12
    # Brightness follows the -2/0/+2 EV cycle.
    for k in range(0, 9, 3):
        assert means[k] < means[k + 1] < means[k + 2]


def test_synth_rejects_bad_values(tmp_path):
    src = make_clip(tmp_path / "clear.mp4", n=2, audio=False)
    res = subprocess.run([*PY, "synth", "haze", str(src), str(tmp_path / "o.mp4"),
                          "--beta", "-1"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "synth_haze.beta" in res.stderr
    assert not (tmp_path / "o.mp4").exists()
    # nan / inf were re-quoted as strings: "'[NaN, 1.0]' is not allowed: expected a
    # list"; --ev 0 0 (no bracket at all) was taken (trial 37)
    for kind, args, want in (("bracket", ["--ev", "nan", "1"], "invalid value 'nan'"),
                             ("bracket", ["--ev", "1e400", "0"], "invalid value '1e400'"),
                             ("haze", ["--beta", "nan"], "invalid value 'nan'"),
                             ("haze", ["--noise", "inf"], "invalid value 'inf'"),
                             ("bracket", ["--ev", "0", "0"], "holds no bracket")):
        res = subprocess.run([*PY, "synth", kind, str(src), str(tmp_path / "o.mp4"), *args],
                             capture_output=True, text=True, timeout=60)
        assert res.returncode == 2 and want in res.stderr, (args, res.stderr)
        assert len(res.stderr.strip().splitlines()) == 1 and "expected a list" not in res.stderr
    assert not (tmp_path / "o.mp4").exists()


def test_synth_haze_help_gives_every_default():
    # The defaults (a road's ground plane, beta 2.5) whitened the top half of
    # a non-road clip, and --help showed none of them (a new-user trial).
    from vidclear.processors.synth import SynthHazeConfig

    res = subprocess.run([*PY, "synth", "haze", "--help"], capture_output=True, text=True,
                         timeout=60)
    text = " ".join(res.stdout.split())
    assert res.returncode == 0
    cfg = SynthHazeConfig()
    for key in ("beta", "airlight", "horizon", "density", "noise"):
        assert f"(default: {getattr(cfg, key)})" in text, key
    assert "default: scattering" in text and "(default: ground_plane)" in text
    assert "--seed SEED default: 0" in text
    assert "constant: one depth everywhere" in text


def test_demo_refuses_an_extension_no_container_takes_before_rendering(tmp_path):
    # It rendered the 4 s clip first, then failed on ".xyz" (trial 54).
    res = subprocess.run([*PY, "demo", "-o", str(tmp_path / "out.xyz")], capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 2, res.stderr
    assert res.stderr == (f"vidclear: error: output {tmp_path / 'out.xyz'}: no container for "
                          "extension .xyz; use .mp4, .mkv, .mov, .ts, .m2ts, .webm, .avi, "
                          ".ogv, .mpg, .wmv, .flv, .mxf or .nut (or name the container with "
                          "-f)\n")
    assert not list(tmp_path.iterdir())


def test_demo_names_without_o_and_keep_input_checked_first(tmp_path):
    # Without -o, -y wrote vidclear-demo-1.mp4 beside the default name rather
    # than replacing it (trial 158 F7); --keep-input naming the -o file was
    # written first, then refused as the input (trial 158 F4).
    base = [*PY, "demo", "--seconds", "0.5", "--size", "64x48", "-q"]
    for _ in range(2):
        res = subprocess.run([*base, "-y"], cwd=tmp_path, capture_output=True, text=True,
                             timeout=300)
        assert res.returncode == 0, res.stderr
    res = subprocess.run(base, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vidclear-demo-1.mp4",
                                                          "vidclear-demo.mp4"]
    res = subprocess.run([*base, "-o", "d.mp4", "--keep-input", "./d.mp4"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 1, res.stderr
    assert res.stderr == "vidclear: error: --keep-input ./d.mp4 is also the -o file\n"
    assert not (tmp_path / "d.mp4").exists()
