"""scripts/same_output_dehaze.py: its verdicts, a run against this checkout, its bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
sys.path.insert(0, str(SCRIPTS))
import same_output_dehaze as so  # noqa: E402  (scripts/ is no package)


def test_verdicts_name_the_first_output_that_differs() -> None:
    this = {"a": ["1", "2", "3"], "b": ["1", "2"], "c": ["x"]}
    that = {"a": ["1", "2", "3"], "b": ["1", "9"], "d": ["y"]}
    assert so.compare(this, that) == {
        "a": "same (3 outputs)", "b": "DIFFERS from output 1 of 2",
        "c": "only in this checkout", "d": "only in that checkout"}
    assert so.compare({"a": ["1", "2"]}, {"a": ["1"]})["a"] == "DIFFERS from output 1 of 2"


def test_this_checkout_gives_its_own_bytes() -> None:
    out = subprocess.run([sys.executable, str(SCRIPTS / "same_output_dehaze.py"), "--quick",
                          "--against", str(ROOT)], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "road (RGB)                           same (24 outputs)" in out.stdout
    assert "road (YUV 4:2:0)                     same (24 outputs)" in out.stdout


def test_no_checkout_is_one_line_and_exit_2(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, str(SCRIPTS / "same_output_dehaze.py"),
                          "--against", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert out.stderr.strip() == (f"same_output_dehaze: {tmp_path} is no vidclear checkout "
                                  "(no vidclear/__init__.py)")
