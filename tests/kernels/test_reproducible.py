"""The same input gives the same bytes whether a kernel was compiled in this run or cached.

Numba optimises a ``parallel=True`` kernel compiled in the running process
differently from the same kernel loaded from its on-disk cache (numba issue
10617). With LLVM's ``reassoc`` fast-math flag the two builds may also
regroup arithmetic differently, and the dehazer's first run after an
install wrote pixels one level off the later runs' (55 of 90 frames of a
720p clip). These tests hold every fast-math kernel to results that do not
depend on the build: no kernel may allow reassociation, and each one a
small dehaze and rolling-HDR run calls from Python gives the same bytes
freshly compiled (an empty ``NUMBA_CACHE_DIR``) and loaded from that cache.
"""

from __future__ import annotations

import importlib
import os
import pickle
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from numba.core.registry import CPUDispatcher

# every module that holds fast-math kernels
FAST_MODULES = ("vidclear.dehaze._kernels", "vidclear.dehaze._yuv_kernels",
                "vidclear.hdr._video_kernels")
# the fast-math kernels Python calls (the others are called, or inlined, by these)
ENTRIES = {"vidclear.dehaze._kernels": ("recover",),
           "vidclear.dehaze._yuv_kernels": ("yuv_to_low", "recover_yuv_linear",
                                            "recover_yuv_rgb"),
           "vidclear.hdr._video_kernels": ("merge_reinhard_k", "merge_luma_k", "base_detail_k",
                                           "compose_flow_k")}


def _kernels(module: str) -> dict[str, CPUDispatcher]:
    mod = importlib.import_module(module)
    return {name: obj for name, obj in vars(mod).items() if isinstance(obj, CPUDispatcher)}


def _fastmath(disp: CPUDispatcher) -> set[str]:
    flags = disp.targetoptions.get("fastmath", False)
    if flags is True:
        return {"fast"}  # every flag, reassoc included
    return set(flags) if flags else set()


def test_no_kernel_in_the_package_allows_reassociation() -> None:
    import vidclear

    root = Path(vidclear.__file__).parent
    found = {}
    for path in root.rglob("*.py"):
        module = "vidclear." + ".".join(path.relative_to(root).with_suffix("").parts)
        if module.endswith("__main__") or "fastmath" not in path.read_text():
            continue
        for name, disp in _kernels(module).items():
            flags = _fastmath(disp)
            found[f"{module}:{name}"] = flags
    assert found, "no fast-math kernel found: the search is broken"
    assert {m.rsplit(":", 1)[0] for m in found} == set(FAST_MODULES)
    wrong = {k: v for k, v in found.items() if v & {"fast", "reassoc"}}
    assert not wrong, f"reassociating kernels (results depend on the build): {wrong}"


RUN = r"""
import hashlib, pickle, sys
import importlib
import numpy as np
calls = pickle.load(open(sys.argv[1], "rb"))
for key, (module, name, args) in sorted(calls.items()):
    disp = getattr(importlib.import_module(module), name)
    res = disp(*args)
    h = hashlib.sha1()
    for a in (*args, res):
        if isinstance(a, np.ndarray):
            h.update(np.ascontiguousarray(a).tobytes())
        elif isinstance(a, (float, int, np.floating, np.integer)):
            h.update(repr(float(a)).encode())
    s = disp.stats
    print(key, h.hexdigest(), sum(s.cache_hits.values()), sum(s.cache_misses.values()))
"""


def _record_calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, tuple[str, str, tuple]]:
    """The first call from Python of each fast-math kernel in a small dehaze and HDR run."""
    calls: dict[str, tuple[str, str, tuple]] = {}
    for module, names in ENTRIES.items():
        mod = importlib.import_module(module)
        for name in names:
            disp = getattr(mod, name)
            assert _fastmath(disp), f"{module}:{name} has no fast-math flags: update ENTRIES"

            def spy(*args, _disp=disp, _key=f"{module}:{name}", _name=name, _module=module):
                sig = tuple(a.dtype.str if isinstance(a, np.ndarray) else type(a).__name__
                            for a in args)
                key = f"{_key}[{','.join(sig)}]"
                if key not in calls:  # the inputs as they were before the call
                    calls[key] = (_module, _name, tuple(
                        a.copy() if isinstance(a, np.ndarray) else a for a in args))
                return _disp(*args)

            monkeypatch.setattr(mod, name, spy)

    from vidclear.dehaze import Dehazer
    from vidclear.hdr.rolling import RollingBracket

    rng = np.random.default_rng(3)
    h, w = 96, 128
    base = np.kron(rng.uniform(0.05, 0.9, (h // 8, w // 8, 3)), np.ones((8, 8, 1)))
    t = np.exp(-1.6 * np.linspace(1.0, 0.2, h))[:, None, None]
    for air in ((0.86, 0.86, 0.86), (0.9, 0.75, 0.5)):  # the second brings colour gains
        hazy = base * t + np.asarray(air) * (1 - t)
        for full, dtype in ((255, np.uint8), (65535, np.uint16)):
            frame = np.clip(hazy * full + 0.5, 0, full).astype(dtype)
            d = Dehazer()
            for i in range(3):
                d(frame, timestamp=i / 30)
        i420 = cv2.cvtColor(np.clip(hazy * 255 + 0.5, 0, 255).astype(np.uint8),
                            cv2.COLOR_RGB2YUV_I420)
        y, u, v = i420[:h], i420[h:h + h // 4], i420[h + h // 4:]
        d = Dehazer()
        for i in range(3):
            d.process_yuv420(np.ascontiguousarray(y), u.reshape(h // 2, w // 2).copy(),
                             v.reshape(h // 2, w // 2).copy(), i / 30)
    ex = [0.25, 1.0, 4.0]
    scene = np.kron(rng.uniform(0.02, 3.0, (h // 8, w // 8, 3)), np.ones((8, 8, 1)))
    shots = [np.clip((scene * e) ** (1 / 2.2) * 255, 0, 255).astype(np.uint8) for e in ex]
    for kw in ({"tonemap": "reinhard"}, {"tonemap": "durand"}, {"flow": True},
               {"output": "radiance"}):
        rb = RollingBracket(ex, align=False, **kw)
        for k in range(4):
            rb.push(np.roll(shots[k % 3], k, axis=1), exposure=ex[k % 3])
    return calls


def test_fresh_and_cached_kernels_give_the_same_bytes(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _record_calls(monkeypatch)
    reached = {k.split("[")[0] for k in calls}
    assert reached == {f"{m}:{n}" for m, names in ENTRIES.items() for n in names}
    assert sum(k.startswith("vidclear.dehaze._kernels:recover[") for k in calls) == 2  # 8, 16 bit
    # two processes at a time, the dehaze kernels in one and the HDR ones in
    # the other: compiling them is most of this test's time
    paths = []
    for part in ("vidclear.dehaze", "vidclear.hdr"):
        paths.append(tmp_path / f"{part}.pkl")
        paths[-1].write_bytes(pickle.dumps({k: v for k, v in calls.items()
                                            if k.startswith(part)}))
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    runs = []
    for _ in range(2):  # compiled here, then loaded from the cache just written
        procs = [subprocess.Popen([sys.executable, "-c", RUN, str(p)], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=env) for p in paths]
        got = {}
        for proc in procs:
            out, err = proc.communicate(timeout=600)
            assert proc.returncode == 0, err[-3000:]
            got.update({line.split(" ")[0]: line.split(" ")[1:] for line in out.splitlines()})
        runs.append(got)
    fresh, cached = runs
    assert set(fresh) == set(cached) and len(fresh) == len(calls)
    for key in fresh:
        assert int(fresh[key][2]) > 0, f"{key}: not compiled in the first run"
        assert int(cached[key][1]) > 0 and int(cached[key][2]) == 0, \
            f"{key}: not loaded from the cache in the second run"
    differ = sorted(k for k in fresh if fresh[k][0] != cached[k][0])
    assert not differ, f"compiled and cached builds disagree: {differ}"
