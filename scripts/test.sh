#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh machine, then run it.
#   - ffmpeg (for ffprobe, the independent reader the tests check outputs with)
#   - a virtual environment .venv with vidclear and its test extras
#   - opencv-contrib's cv2.ximgproc (the guided-filter reference)
# Extra arguments go to pytest, e.g. scripts/test.sh tests/io -x
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v ffprobe >/dev/null 2>&1; then
  echo "test.sh: installing ffmpeg (for ffprobe)" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq ffmpeg >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e ".[test]"

# opencv-python and opencv-contrib-python share the cv2 package; make sure the
# contrib build (a superset) is the one on disk, at the same version.
if ! .venv/bin/python -c "import cv2, sys; sys.exit(0 if hasattr(cv2, 'ximgproc') else 1)"; then
  ver=$(.venv/bin/python -c "import importlib.metadata as m; print(m.version('opencv-python'))")
  .venv/bin/python -m pip install -q --force-reinstall --no-deps "opencv-contrib-python-headless==$ver"
fi

exec .venv/bin/python -m pytest -q "$@"
