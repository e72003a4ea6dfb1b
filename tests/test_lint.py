"""The code base stays lint-clean (ruff) and type-clean (mypy), as pyproject.toml sets them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_is_clean():
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    res = subprocess.run([ruff, "check", "vidclear", "tests", "scripts"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr


def test_mypy_is_clean():
    """The package type-checks with the project's own mypy configuration."""
    mypy = shutil.which("mypy") or str(Path(sys.executable).with_name("mypy"))
    res = subprocess.run([mypy], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert "Success: no issues found" in res.stdout
