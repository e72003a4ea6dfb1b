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


def test_kernel_sources_are_the_kernels_and_what_they_import() -> None:
    from vidclear._numba_cache import PACKAGE, kernel_sources

    names = {p.relative_to(PACKAGE).as_posix() for p in kernel_sources()}
    assert {"dehaze/_kernels.py", "dehaze/_yuv_kernels.py", "hdr/_video_kernels.py",
            "enhance/_kernels.py", "hdr/_kernels.py", "kernels/_filters.py"} <= names
    # imported by kernel modules: a callee's module, constants frozen into machine code
    assert {"kernels/_order.py", "kernels/colour.py", "kernels/_fastmath.py"} <= names
    assert not {n for n in names if n.startswith(("cli/", "io/"))}


def test_kernel_sources_follow_relative_and_indirect_imports(tmp_path: Path) -> None:
    from vidclear._numba_cache import kernel_sources

    pkg = tmp_path / "vidclear"
    files = {
        "__init__.py": "",
        "a/__init__.py": "",
        "a/_k.py": "from numba import njit\nfrom ..b.c import X\nfrom . import d\n",
        "a/d.py": "Y = 2\n",
        "b/__init__.py": "",
        "b/c.py": "import vidclear.e as e\nX = e.Z + 1\n",  # a constant two imports away
        "e.py": "Z = 3\n",
        "f.py": "import vidclear.e\n",  # imports, holds no kernel, imported by none
    }
    for name, text in files.items():
        (pkg / name).parent.mkdir(parents=True, exist_ok=True)
        (pkg / name).write_text(text)
    got = {p.relative_to(pkg).as_posix() for p in kernel_sources(pkg)}
    assert got == {"a/_k.py", "a/d.py", "a/__init__.py", "b/c.py", "e.py"}
    # an editor's lock file (a dangling link) and a Latin-1 module: read past,
    # where they stopped every kernel module from loading (trial 47)
    (pkg / "a" / ".#_k.py").symlink_to("user@host.1234:1700000000")
    (pkg / "g.py").write_bytes(b"# caf\xe9\nfrom numba import njit\nimport vidclear.e\n")
    got = {p.relative_to(pkg).as_posix() for p in kernel_sources(pkg)}
    assert got == {"a/_k.py", "a/d.py", "a/__init__.py", "b/c.py", "e.py", "g.py"}


def test_every_kernel_is_stamped_and_import_vidclear_loads_no_numba() -> None:
    # the stamps must be in place before a kernel is decorated; they come
    # with vidclear._numba_cache.njit, so ``import vidclear`` stays light
    code = """
import importlib, sys
import vidclear
assert "numba" not in sys.modules, "import vidclear loaded Numba"
from numba.core.registry import CPUDispatcher
from vidclear._numba_cache import PACKAGE, kernel_sources
seen = 0
for path in kernel_sources():
    if b"njit" not in path.read_bytes():
        continue
    name = "vidclear." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
    for obj in vars(importlib.import_module(name)).values():
        if isinstance(obj, CPUDispatcher) and getattr(obj._cache, "_impl", None) is not None:
            loc = type(obj._cache._impl._locator)
            assert getattr(loc, "_vidclear", False), (name, obj.__name__, loc)
            seen += 1
print(seen)
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert int(res.stdout) > 50
    # and no module makes kernels with Numba's own decorators: imported on its
    # own, before any other kernel module, it would have no stamps
    import re

    own = re.compile(r"from numba import[^\n]*\b(n?jit)\b|\b(numba|nb)\.n?jit\b")
    pkg = Path(vidclear.__file__).parent
    wrong = [str(p.relative_to(pkg)) for p in pkg.rglob("*.py")
             if p.name != "_numba_cache.py" and own.search(p.read_text())]
    assert not wrong, f"kernels made without vidclear._numba_cache.njit: {wrong}"


STALE = """
import numpy as np
from vidclear.dehaze import _kernels as k
x = np.arange(100, dtype=np.float32).reshape(10, 10)
q = k.strided_quantile(x, 1, 0.5)
s = k.strided_quantile.stats
print(q, sum(s.cache_hits.values()), sum(s.cache_misses.values()))
"""


def test_a_change_to_a_kernels_callee_recompiles_it(tmp_path: Path) -> None:
    # dehaze/_kernels.strided_quantile calls kernels/_order.select: Numba
    # stamps a cached kernel with its own file only, and after select
    # changed it went on running the old one from the cache
    pkg = Path(vidclear.__file__).parent
    copy = tmp_path / "site" / "vidclear"
    shutil.copytree(pkg, copy, ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(copy.parent),
           "NUMBA_CACHE_DIR": str(tmp_path / "cache")}

    def run() -> tuple[float, int, int]:
        res = subprocess.run([sys.executable, "-c", STALE], capture_output=True, text=True,
                             env=env, cwd=tmp_path, timeout=300)
        assert res.returncode == 0, res.stderr[-2000:]
        q, hits, misses = res.stdout.split()
        return float(q), int(hits), int(misses)

    assert run() == (49.5, 0, 1)  # compiled and cached
    assert run() == (49.5, 1, 0)  # loaded from the cache
    order = copy / "kernels" / "_order.py"
    text = order.read_text()
    head = '    """\n    nb = 1024\n'
    assert text.count(head) == 1
    order.write_text(text.replace(head, '    """\n    return d[0] + 7.0\n    nb = 1024\n'))
    q, hits, misses = run()
    assert (hits, misses) == (0, 1) and q != 49.5  # recompiled with the new select
    assert run() == (q, 1, 0)  # and cached again
