"""``vidclear compile``: every group runs, reaches the kernels it is for, and fails clearly."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vidclear.cli.compile import GROUPS

PY = [sys.executable, "-m", "vidclear"]

# Kernels each group must have compiled (or loaded from the cache): the paths
# real frames take, 8-bit and 16-bit RGB and decoded YUV 4:2:0 alike.
REACHES = {
    "dehaze": {"vidclear.dehaze._kernels:recover": 2,  # uint8 and uint16 recovery
               "vidclear.dehaze._yuv_kernels:recover_yuv_linear": 1},
    "hdr video": {"vidclear.hdr._video_kernels:merge_reinhard_k": 1},
    "enhance": {"vidclear.enhance._kernels:ace_block_sums": 1,
                "vidclear.enhance._kernels:clahe_interpolate": 1,
                "vidclear.enhance._kernels:msr_combine": 1,
                "vidclear.enhance._kernels:apply_luma": 2},
    "hdr stills": {"vidclear.hdr._kernels:merge_debevec_k": 1,
                   "vidclear.hdr._kernels:merge_robertson_k": 1,
                   "vidclear.hdr._kernels:mtb_k": 1},
}


def test_every_group_is_checked() -> None:
    assert set(REACHES) == set(GROUPS)


@pytest.mark.parametrize("group", list(GROUPS))
def test_group_compiles_its_kernels(group: str) -> None:
    # a fresh interpreter, so only this group's run can have given the
    # dispatchers their signatures
    checks = REACHES[group]
    code = f"""
import importlib
from vidclear.cli.compile import warm_group
seconds = warm_group({group!r})
for name, want in {checks!r}.items():
    mod, fn = name.split(":")
    got = len(getattr(importlib.import_module(mod), fn).signatures)
    print(name, got, want)
    assert got >= want, (name, got, want)
print("seconds", seconds)
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "seconds" in res.stdout


def _new_signatures_of_a_run(group: str, modules: list[str], clips: list[str],
                             preset: str) -> None:
    """Run ``clips`` with ``preset`` after ``warm_group(group)`` in a fresh interpreter.

    Fails with the kernels of ``modules`` the run compiled that the group had not.
    """
    code = f"""
import importlib, numba, vidclear
from vidclear.cli.compile import warm_group
mods = [importlib.import_module(m) for m in {modules!r}]
def counts():
    return {{f"{{m.__name__}}.{{n}}": len(d.signatures) for m in mods
            for n, d in vars(m).items() if isinstance(d, numba.core.registry.CPUDispatcher)}}
warm_group({group!r})
before = counts()
for clip in {clips!r}:
    session = vidclear.Session.open(clip, None, config=vidclear.load_config(preset={preset!r}),
                                    sinks=[vidclear.io.NullSink()])
    session.run(signals=False)
new = {{k: v - before.get(k, 0) for k, v in counts().items() if v != before.get(k, 0)}}
assert not new, new
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]


def test_a_dashcam_run_after_the_dehaze_group_compiles_nothing_new(tmp_path: Path) -> None:
    # The processor's warm-up passed writable planes where decoded frames are
    # read-only views: the first run after `vidclear compile` still compiled
    # writable-plane kernels for 8 s (trial 35). Sizes whose chroma rows the
    # decoder pads, and ones it does not.
    from tests.media import make_clip

    clips = [str(make_clip(tmp_path / f"{w}x{h}.mp4", n=4, size=(w, h), audio=False))
             for w, h in ((320, 180), (200, 120))]
    # and a hazy one, which the recovery runs on (the clips above read as clear: a
    # dashcam run after compile still compiled recover_yuv_linear for 17 s, trial 39)
    import av
    import numpy as np

    from tests.dehaze.dehaze_refs import add_haze, textured_scene, to_u8

    hazy = tmp_path / "hazy.mp4"
    img = to_u8(add_haze(textured_scene(180, 320, 3), np.array([0.85, 0.86, 0.88]), 2.0)[0])
    with av.open(str(hazy), "w") as out:
        st = out.add_stream("libx264", rate=10)
        st.width, st.height, st.pix_fmt = 320, 180, "yuv420p"
        for i in range(6):
            frame = av.VideoFrame.from_ndarray(np.roll(img, 4 * i, axis=1), format="rgb24")
            out.mux(st.encode(frame))
        out.mux(st.encode())
    clips.append(str(hazy))
    _new_signatures_of_a_run("dehaze", ["vidclear.dehaze._kernels", "vidclear.dehaze._yuv_kernels",
                                        "vidclear.kernels._filters"], clips, "dashcam")


def test_an_hdr_bracket_run_after_the_hdr_video_group_compiles_nothing_new() -> None:
    # The alignment handed strided views to its kernel: the first hdr-bracket run
    # on a real alternating-exposure clip compiled an 'A'-layout one mid-run
    # (trial 35).
    clips = sorted((Path(__file__).resolve().parents[2].parent / "shared" / "data" / "hdr"
                    / "altexp-video" / "2exp").glob("*.mp4"))
    if not clips:
        pytest.skip("no altexp data in ../shared")
    _new_signatures_of_a_run("hdr video", ["vidclear.hdr._kernels"], [str(clips[0])],
                             "hdr-bracket")


def test_command_reports_each_group_and_succeeds() -> None:
    res = subprocess.run([*PY, "compile", "-j", "2"], capture_output=True, text=True,
                         timeout=600)
    assert res.returncode == 0, res.stderr
    for group in GROUPS:
        assert f"  {group} " in res.stderr
    assert "done in" in res.stderr


def test_bad_jobs_is_a_one_line_error() -> None:
    res = subprocess.run([*PY, "compile", "-j", "-1"], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        "vidclear: error: --jobs -1 is not allowed: expected 0 (one per CPU) or more"]


def _processes_with(marker: str) -> list[int]:
    """PIDs whose environment holds ``marker`` (Linux /proc)."""
    found = []
    for env in Path("/proc").glob("[0-9]*/environ"):
        with contextlib.suppress(OSError):
            if marker.encode() in env.read_bytes():
                found.append(int(env.parent.name))
    return found


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGKILL])
def test_interrupt_stops_every_child(tmp_path: Path, sig: signal.Signals) -> None:
    cache = tmp_path / f"numba-cache-{sig.name}"  # empty: the groups are compiling
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    proc = subprocess.Popen([*PY, "compile", "-j", "2"], stderr=subprocess.PIPE, text=True,
                            env=env, preexec_fn=lambda: signal.signal(signal.SIGINT,
                                                                      signal.SIG_DFL))
    assert proc.stderr is not None
    assert proc.stderr.readline().startswith("vidclear compile: 4 groups on 2 process(es)")
    deadline = time.monotonic() + 60
    while len(_processes_with(str(cache))) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)  # the parent and both children are up
    assert len(_processes_with(str(cache))) == 3
    proc.send_signal(sig)
    rest = proc.communicate(timeout=20)[1]
    if sig == signal.SIGKILL:  # no handler runs: the children notice they are orphaned
        assert proc.returncode == -signal.SIGKILL
        until = time.monotonic() + 5  # they look every 0.5 s; compiling takes a minute
        while _processes_with(str(cache)) and time.monotonic() < until:
            time.sleep(0.1)
    else:
        assert proc.returncode == 130
        assert rest.strip().splitlines() == ["vidclear: interrupted"]
    assert _processes_with(str(cache)) == []


def test_an_unusable_cache_folder_is_refused_not_reported(tmp_path: Path) -> None:
    # "cache: /proc/nope ... done": Numba fell back to the package without a
    # word, nothing cached where asked (trial 39)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for folder in ("/proc/nope", str(blocker)):
        res = subprocess.run([*PY, "compile", "-q"], capture_output=True, text=True,
                             timeout=120, env={**os.environ, "NUMBA_CACHE_DIR": folder})
        assert res.returncode == 1 and f"NUMBA_CACHE_DIR={folder} cannot be written" in \
            res.stderr, res.stderr
