#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh machine, then run it.
#   - ffmpeg (for ffprobe, the independent reader the tests check outputs with)
#   - a virtual environment .venv with vidclear and its test extras
#   - opencv-contrib's cv2.ximgproc (the guided-filter reference), in the build
#     with a GUI (Qt HighGUI) for the window-preview test, as the only OpenCV wheel
#   - Xvfb, xdotool, Chromium and ChromeDriver for the live preview tests
#   - vidclear's Numba kernels, compiled and cached (vidclear compile)
# Extra arguments go to pytest, e.g. scripts/test.sh tests/io -x
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v ffprobe >/dev/null 2>&1; then
  echo "test.sh: installing ffmpeg (for ffprobe)" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq ffmpeg >/dev/null
fi

# The live preview tests drive a real window (Xvfb + xdotool) and a real browser
# (headless Chromium); with VIDCLEAR_REQUIRE_LIVE_TOOLS=1 they fail, never skip,
# when something is missing.
missing=""
for tool in Xvfb:xvfb xdotool:xdotool chromium:chromium chromedriver:chromium-driver; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || missing="$missing ${tool#*:}"
done
# System libraries of OpenCV's Qt GUI build.
[ -e /usr/lib/x86_64-linux-gnu/libGL.so.1 ] || [ -e /usr/lib/aarch64-linux-gnu/libGL.so.1 ] \
  || missing="$missing libgl1 libglib2.0-0 libsm6 libxext6"
if [ -n "$missing" ]; then
  echo "test.sh: installing$missing (for the live preview tests)" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi
export VIDCLEAR_REQUIRE_LIVE_TOOLS=1

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e ".[test]"
# The README's first command installs vidclear into site-packages, and running it
# leaves Numba's compiled kernels in site-packages/vidclear/**/__pycache__, which
# pip's uninstall (done by the editable install above) does not know about. The
# folder left behind has no Python in it but shadows the editable install
# ("No module named vidclear.dehaze.synth"): an editable install has no such
# folder, so one found now is that leftover and goes.
SITE=$(.venv/bin/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
if [ -d "$SITE/vidclear" ] && [ -z "$(find "$SITE/vidclear" -name '*.py' -print -quit)" ]; then
  echo "test.sh: removing $SITE/vidclear (Numba caches left by an earlier non-editable install)" >&2
  rm -rf "$SITE/vidclear"
fi

# OpenCV's four wheels (opencv-python, -headless, -contrib-python, -contrib-python-headless)
# all install the same cv2 and overwrite each other (opencv/opencv-python#467), so vidclear
# depends on none of them. The tests need exactly one: the contrib build with a GUI
# (cv2.ximgproc is the guided-filter reference; HighGUI runs the window-preview test).
# The [test] extra installs it; an older .venv may still hold others: start that one over.
if ! .venv/bin/python - 2>/dev/null <<'PY'
import importlib.metadata as m, sys
names = ("opencv-python", "opencv-python-headless", "opencv-contrib-python",
         "opencv-contrib-python-headless")
have = []
for n in names:
    try:
        m.version(n)
        have.append(n)
    except m.PackageNotFoundError:
        pass
import cv2
gui = [l for l in cv2.getBuildInformation().splitlines() if l.strip().startswith("GUI:")]
ok = have == ["opencv-contrib-python"] and hasattr(cv2, "ximgproc") and gui and "NONE" not in gui[0]
sys.exit(0 if ok else 1)
PY
then
  echo "test.sh: reinstalling OpenCV as opencv-contrib-python alone" >&2
  .venv/bin/python -m pip uninstall -q -y opencv-python opencv-python-headless \
    opencv-contrib-python opencv-contrib-python-headless >/dev/null 2>&1 || true
  .venv/bin/python -m pip install -q "opencv-contrib-python>=4.8"
fi

# Compile every Numba kernel first, one process per core: on a fresh checkout
# this takes about as long as the slowest group instead of the sum, spread
# over the tests that would otherwise each wait for their kernels; with a warm
# cache it takes a few seconds.
.venv/bin/vidclear compile

# The tests run in one worker per core (pytest-xdist; at most four, each
# starts its own interpreter with Numba, OpenCV and PyAV), an idle worker
# taking tests from a busy one's queue (worksteal: a few tests take 10-20 s):
# on two cores 8.5-11 minutes (12 in one process when the suite took 7.5), since
# many tests wait on FFmpeg, child processes and sockets. `scripts/test.sh -n 0` runs one process.
exec .venv/bin/python -m pytest -q -n auto --maxprocesses=4 --dist worksteal "$@"
