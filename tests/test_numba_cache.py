"""A read-only install run by a user with no writable home still imports and caches."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import vidclear
from vidclear._numba_cache import fallback_dir, writable


def test_writable_is_tried_for_real(tmp_path: Path) -> None:
    assert writable(tmp_path / "new" / "folder") and (tmp_path / "new" / "folder").is_dir()
    assert not writable(Path("/proc/vidclear-cache"))  # not even root makes files there
    (tmp_path / "file").write_text("")
    assert not writable(tmp_path / "file")


def test_fallback_only_when_neither_numba_place_can_be_written(tmp_path: Path) -> None:
    assert fallback_dir(tmp_path, None) is None  # next to the package works
    assert fallback_dir(Path("/proc/pkg"), tmp_path / "cache") is None  # the user's works
    chosen = fallback_dir(Path("/proc/pkg"), Path("/proc/home/.cache/numba"))
    assert chosen is not None and chosen.name == f"vidclear-numba-{os.getuid()}"


def test_import_with_no_writable_cache_place(tmp_path: Path) -> None:
    # A copy of the package where no __pycache__ folder can be made (a file
    # holds the name), run with a home that cannot be written: Numba alone
    # would refuse every cache=True kernel at import ("no locator available").
    pkg = Path(vidclear.__file__).parent
    copy = tmp_path / "site" / "vidclear"
    shutil.copytree(pkg, copy, ignore=shutil.ignore_patterns("__pycache__"))
    for folder in [copy, *[p for p in copy.rglob("*") if p.is_dir()]]:
        (folder / "__pycache__").write_text("not a folder")
    env = {k: v for k, v in os.environ.items()
           if k not in ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME", "PYTHONPATH")}
    env.update(HOME="/proc/no-home", TMPDIR=str(tmp_path), PYTHONPATH=str(copy.parent),
               PYTHONDONTWRITEBYTECODE="1")
    code = ("import os, numpy as np, vidclear\n"
            "from vidclear.kernels._filters import _min_pad_rows\n"
            "out = np.empty((2, 5), np.float32)\n"
            "_min_pad_rows(np.arange(10, dtype=np.float32).reshape(2, 5), 1, out)\n"
            "assert out.tolist() == [[0, 0, 1, 2, 3], [5, 5, 6, 7, 8]], out\n"
            "print(vidclear.__file__); print(os.environ['NUMBA_CACHE_DIR'])")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, cwd=tmp_path, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    where, cache = res.stdout.split()
    assert Path(where).parent == copy
    assert Path(cache) == tmp_path / f"vidclear-numba-{os.getuid()}"
    assert list(Path(cache).rglob("*.nbi"))  # the kernel was cached there
