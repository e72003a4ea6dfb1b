"""``kill -9`` during a crash-safe recording loses at most about a second.

A child process records a paced 30 fps graph through a Session and prints
how many frames the encoder has taken, every 0.1 s. The test kills it with
SIGKILL and reads what is left under the temporary name with ffprobe: every
frame the encoder had more than a second before the kill must be there.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.media import need_ffprobe

ROOT = Path(__file__).resolve().parents[2]
RATE = 30

CHILD = """
import sys, threading, time
from vidclear import Session, load_config
cfg = load_config(overrides=["input.realtime=on", "pipeline.mode=live", "output.crash_safe=on",
                             "output.preset=ultrafast", "pipeline.queue_size=64"])
s = Session.open("lavfi:testsrc2=size=160x120:rate=RATE", sys.argv[1], config=cfg)
rec = s.recorders[0]
def report():
    while True:
        print(rec.frames_written, flush=True)
        time.sleep(0.1)
threading.Thread(target=report, daemon=True).start()
s.run(signals=False)
""".replace("RATE", str(RATE))


def _frames_in(path: Path) -> int:
    out = subprocess.run([need_ffprobe(), "-v", "error", "-select_streams", "v:0",
                          "-count_packets", "-show_entries", "stream=nb_read_packets",
                          "-of", "csv=p=0", str(path)], capture_output=True, text=True,
                         timeout=60)
    text = out.stdout.strip().strip(",")
    return int(text) if text.isdigit() else 0


@pytest.mark.parametrize("ext", ["mkv", "mp4"])
def test_kill_9_loses_at_most_a_second(tmp_path, ext):
    target = tmp_path / f"rec.{ext}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(target)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    written: list[tuple[float, int]] = []
    with proc, proc.stdout:
        deadline = time.monotonic() + 60
        for line in proc.stdout:
            written.append((time.monotonic(), int(line)))
            if written[-1][1] >= 4 * RATE or time.monotonic() > deadline:
                break
        killed_at = time.monotonic()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert written and written[-1][1] >= 4 * RATE, written[-3:]
    partial = list(tmp_path.glob(f"rec.partial-*.{ext}"))
    assert len(partial) == 1 and not target.exists()  # never a broken file under the name
    # Frames the encoder held more than a second before the kill must be in the file.
    due = max(n for t, n in written if t <= killed_at - 1.0)
    kept = _frames_in(partial[0])
    assert kept >= due, f"{kept} frames kept, {due} were written a second before the kill"
