"""Configuration mistakes: exit 2, one line naming the key, nothing opened or written.

Each case is a mistake that was once reported as something else (an internal
error, a raw FFmpeg message, a RecursionError, a segfault). The command runs
in-process through ``vidclear.cli.main.main``; the input path does not even
exist, so a case that got past validation would fail with exit 1 instead.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vidclear.cli.main import main
from vidclear.config import load_config
from vidclear.errors import ConfigError
from vidclear.hdr._validate import HDRInputError, as_times
from vidclear.hdr.rolling import RollingBracket

CASES = [
    # (overrides, the key the message must name)
    (['output.bitrate="inf"'], "output.bitrate"),
    (['output.bitrate="1e30"'], "output.bitrate"),
    (['output.bitrate="-5M"'], "output.bitrate"),
    (["output.bitrate=nan"], "output.bitrate"),
    (["output.preset=warp9"], "output.preset"),
    (["output.preset=" + "x" * 100_000], "output.preset"),
    (["output.preset=" + "y" * 3000], "output.preset"),
    (["input.format=nosuch"], "input.format"),
    (["input.format=null"], "input.format"),  # a muxer, not a demuxer
    (["output.format=nosuchmux"], "output.format"),
    (["output.format=mpegts_demux_only" + "z" * 100], "output.format"),
    (["input.start=5", "input.end=2"], "input.end"),
    (["input.start=-1"], "input.start"),
    (["hdr_bracket.unit=ev", "hdr_bracket.exposures=[-1000,0,1000]"], "hdr_bracket.exposures"),
    (["hdr_bracket.unit=ev", "hdr_bracket.exposures=[0,40]"], "hdr_bracket.exposures"),
    (["hdr_bracket.exposures=[1e-300,1,1e300]"], "hdr_bracket.exposures"),
    (["hdr_bracket.exposures=[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]"],
     "hdr_bracket.exposures"),
    (["synth_bracket.unit=ev", "synth_bracket.exposures=[-1000,1000]"],
     "synth_bracket.exposures"),
    (["output.bitrate=" + "[" * 3000 + "]" * 3000], "output.bitrate"),
]


def run_cli(tmp_path: Path, *extra: str) -> int:
    return main(["run", str(tmp_path / "missing.mp4"), "-o", str(tmp_path / "out.mp4"), "-q",
                 *extra])


@pytest.mark.parametrize(("overrides", "key"), CASES, ids=lambda v: str(v)[:40])
def test_config_mistake_is_exit_2_naming_the_key(tmp_path, capsys, overrides, key):
    args = [a for o in overrides for a in ("--set", o)]
    assert run_cli(tmp_path, *args) == 2
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("vidclear: error: "), err[:500]
    assert key in lines[0]
    assert len(lines[0]) < 400  # a 100 KB value is not echoed back
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("text", [
    "a = " + "[" * 3000 + "]" * 3000 + "\n",
    "a = " + "{b = " * 2000 + "1" + "}" * 2000 + "\n",
    '[output]\npreset = "' + "x" * 100_000 + '"\n',
    "[input]\n" + "".join(f"k{i} = {i}\n" for i in range(3000)),
])
def test_hostile_toml_files(tmp_path, capsys, text):
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    (tmp_path / "cfg").mkdir()
    cfg = cfg.rename(tmp_path / "cfg" / "c.toml")
    assert run_cli(tmp_path, "--config", str(cfg)) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and "c.toml" in lines[0], lines
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cfg"]


def test_key_with_a_newline_is_reported_on_one_line(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[output]\n"bad\\nkey" = 1\n')
    assert main(["run", "x.mp4", "-o", str(tmp_path / "o.mp4"), "--config", str(cfg)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and "output.bad" in lines[0]


@pytest.mark.parametrize("override", [
    "output.preset=medium", "output.preset=", 'output.bitrate="8M"', 'output.bitrate="1500k"',
    "input.format=mpegts", "input.format=v4l2"])
def test_valid_values_still_load(override):
    load_config(overrides=[override])


def test_real_configs_fit_the_limits():
    from vidclear.config import available_presets

    for name in available_presets():
        load_config(preset=name)


def test_exposure_span_bounds_every_entry_point():
    # 2**-1000 is a finite float64 but 0 in float32: the kind of overflow that
    # once indexed tone-mapping tables with NaN and crashed the process.
    with pytest.raises(HDRInputError, match="stops"):
        as_times([2.0 ** -1000, 1.0, 2.0 ** 1000], 3)
    with pytest.raises(HDRInputError, match="stops"):
        RollingBracket([1e-30, 1.0])
    with pytest.raises(ConfigError, match="hdr_bracket.exposures"):
        load_config(overrides=["hdr_bracket.unit=ev", "hdr_bracket.exposures=[-20,20]"])
    assert as_times([2.0 ** -16, 2.0 ** 16], 2).dtype == np.float32


@pytest.mark.parametrize("tonemap", ["reinhard", "durand"])
def test_widest_allowed_span_renders_finite_frames(tonemap):
    rb = RollingBracket([2.0 ** -16, 1.0, 2.0 ** 16], tonemap=tonemap, align=False)
    rng = np.random.default_rng(3)
    for _ in range(4):
        out = rb.push(rng.integers(0, 256, (32, 40, 3), dtype=np.uint8))
    assert out.shape == (32, 40, 3) and out.dtype == np.uint8
    # a frame that claims an absurd exposure of its own is placed by brightness instead
    out = rb.push(np.full((32, 40, 3), 128, np.uint8), exposure=1e-300)
    assert out.dtype == np.uint8


@pytest.mark.parametrize("name", ["out.xyz", "out"])
def test_an_output_name_without_a_container_is_a_usage_error(tmp_path, capsys, name):
    from tests.media import make_clip

    clip = make_clip(tmp_path / "in.mp4", n=3, size=(32, 24))
    assert main(["run", str(clip), "-o", str(tmp_path / name), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("vidclear: error: output ") and "\n" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]  # nothing written
