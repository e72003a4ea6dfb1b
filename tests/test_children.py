"""The suite's guard against children outliving their test (tests/children.py)."""

from __future__ import annotations

import subprocess
import sys

from tests.children import children_killed


def test_a_child_left_running_is_killed_and_one_that_ended_is_left_alone():
    with children_killed() as started:
        endless = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        done = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
        assert done.wait(60) == 3
        ran = subprocess.run([sys.executable, "-c", "print('x')"], capture_output=True,
                             text=True, check=True)
        assert ran.stdout == "x\n"
        assert started[0] is endless and started[1] is done and len(started) == 3
        assert endless.poll() is None
    assert endless.returncode == -9  # SIGKILL, reaped
    assert done.returncode == 3
    # The wrapper is gone: a child started after the block is not tracked.
    later = subprocess.Popen([sys.executable, "-c", "pass"])
    later.wait(60)
    assert later not in started
