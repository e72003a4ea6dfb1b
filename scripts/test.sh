#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh machine, then run it.
#   - ffmpeg (for ffprobe, the independent reader the tests check outputs with)
#   - a virtual environment .venv with vidclear and its test extras
#   - opencv-contrib's cv2.ximgproc (the guided-filter reference), in the build
#     with a GUI (Qt HighGUI) for the window-preview test
#   - Xvfb, xdotool, Chromium and ChromeDriver for the live preview tests
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

# opencv-python and opencv-contrib-python share the cv2 package; make sure the
# contrib build with a GUI (a superset of both) is the one on disk, at the same version.
if ! .venv/bin/python -c "import cv2, sys; gui = [l for l in cv2.getBuildInformation().splitlines() if l.strip().startswith('GUI:')]; sys.exit(0 if hasattr(cv2, 'ximgproc') and gui and 'NONE' not in gui[0] else 1)"; then
  ver=$(.venv/bin/python -c "import importlib.metadata as m; print(m.version('opencv-python'))")
  .venv/bin/python -m pip install -q --force-reinstall --no-deps "opencv-contrib-python==$ver"
fi

exec .venv/bin/python -m pytest -q "$@"
