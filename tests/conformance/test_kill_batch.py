"""``kill -9`` of the ``vidclear batch`` driver alone, then the same command again.

The workers must die with their driver (not finish files the driver will
never record), and the rerun must finish every file and leave no
``NAME.partial-PID.EXT`` behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av

from tests.media import make_clip

ROOT = Path(__file__).resolve().parents[2]


def _children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(d.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_kill_9_of_the_driver_kills_workers_and_the_rerun_finishes(tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    make_clip(inp / "f0.mp4", n=60, size=(96, 64))
    for i in range(1, 4):
        (inp / f"f{i}.mp4").write_bytes((inp / "f0.mp4").read_bytes())
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "vidclear", "batch", str(inp), "-o", str(out), "-j", "2", "-q",
           "--set", "output.preset=ultrafast", "--set", "output.threads=1",
           "--set", "pipeline.processors=[\"copy\"]"]
    env = {**os.environ, "NUMBA_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            if list(out.glob("*.partial-*")):  # a worker is writing
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the batch ended before it could be killed"
        workers = _children(proc.pid)
        assert workers
        os.kill(proc.pid, signal.SIGKILL)  # the driver only: no cleanup, no signal to workers
        proc.wait()
        t0 = time.monotonic()
        while any(_alive(w) for w in workers) and time.monotonic() - t0 < 5:
            time.sleep(0.05)
        assert not any(_alive(w) for w in workers), "workers outlived their driver"
        assert time.monotonic() - t0 < 2.0
    finally:
        os.killpg(proc.pid, signal.SIGKILL) if proc.poll() is None else None
    rerun = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert rerun.returncode == 0, rerun.stderr
    for i in range(4):
        with av.open(str(out / f"f{i}.mp4")) as c:
            assert sum(1 for _ in c.decode(video=0)) == 60
    assert not list(out.rglob("*.partial-*"))
