"""vidclear: clean up video in real time.

Frames are RGB (never BGR) everywhere in this API: ``H×W×3`` ``uint8``
arrays, ``uint16`` for high-bit-depth video.

>>> import vidclear
>>> out = vidclear.dehaze_image(rgb)                 # one image
>>> stats = vidclear.transcode("in.mp4", "out.mp4",  # one video
...                            config=vidclear.load_config(preset="dashcam"))
"""

from __future__ import annotations

import os
import sys


def _as_command() -> bool:
    """Whether this package is being loaded by the `vidclear` command, not by a program."""
    command = os.path.basename(sys.argv[0]) if sys.argv else ""
    if command == "-m":
        # `python -m vidclear` ("-m" while the package is being located), not
        # `python -m yourtool` importing vidclear (trial 142 F1: its ignored
        # SIGINT was taken as the command's)
        # (-m may close a run of short flags: python -um yourtool, trial 143 F1)
        orig = list(getattr(sys, "orig_argv", []))[1:]
        at = next((i for i, a in enumerate(orig[:-1]) if a.startswith("-")
                   and not a.startswith("--") and a.endswith("m")), None)
        module = orig[at + 1] if at is not None else "vidclear"
        return module.split(".")[0] == "vidclear"
    # the console script ("vidclear", "vidclear.exe", "vidclear-script.py")
    return command.split(".")[0] in ("vidclear", "vidclear-script")


def _interrupted_as_command() -> None:
    """Ctrl-C while the `vidclear` command loads this package: exit 130 quietly.

    The command's own handler (``vidclear.cli.main.main``) is not running yet
    while its module is imported, and Python printed a 28-line traceback.
    Imported from a program of yours, KeyboardInterrupt goes on as usual.
    """
    if _as_command():
        sys.stderr.write("vidclear: interrupted\n")
        raise SystemExit(130)


def _take_sigint_as_command() -> None:
    """The command takes SIGINT from its first moment, even where it started ignored.

    A shell starts a script's ``&`` jobs with SIGINT ignored; the run's own
    handlers take it anyway (:func:`vidclear.core.signals.stop_signals`, as
    FFmpeg does), but not until the modules have loaded: a ``kill -INT``
    in the first half second was lost, and the run went on to its end with
    exit 0 (trial 119 F2). Until then :mod:`vidclear._sigint` raises
    KeyboardInterrupt, as Python's own handler does for a terminal's
    Ctrl-C, and remembers the signal for the run's handlers (trial 141 F2).
    Imported from a program of yours, nothing is changed.
    """
    if _as_command():
        from vidclear import _sigint

        _sigint.take()


_take_sigint_as_command()


try:
    from typing import Any

    # Before any kernel module: a read-only install run by another user still caches.
    from vidclear import _numba_cache  # noqa: F401  (configures Numba's cache on import)

    # OpenCV before PyAV: with PyAV's bundled libraries loaded first, OpenCV's Qt
    # window (the live preview) hangs on open. vidclear depends on no particular
    # OpenCV wheel (they all overwrite one cv2): say which to install when none is.
    try:
        import cv2  # noqa: F401  (import order only)
    except ImportError as _exc:
        from vidclear._opencv import missing_message

        if _as_command():  # one line and status 1, not two chained tracebacks (trial 121 F1)
            sys.stderr.write(f"vidclear: error: {missing_message(_exc)}\n")
            raise SystemExit(1) from None
        raise ImportError(missing_message(_exc)) from _exc

    from vidclear._version import __version__
    from vidclear.config import Config, load_config
    from vidclear.core import Frame, Processor, Sink, Source, StreamInfo
    from vidclear.core.registry import register as register_processor
    from vidclear.errors import (
        ArrayError,
        ConfigError,
        InputError,
        OutputError,
        ProcessorError,
        VidclearError,
    )
    from vidclear.io import open_sink, open_source
    from vidclear.pipeline import Pipeline
    from vidclear.session import Session, transcode
except BaseException as _exc:
    # a KeyboardInterrupt raised while a dataclass is made comes out of
    # Python 3.11 inside a RuntimeError (trial 141 F3)
    from vidclear._sigint import interrupted_by

    if interrupted_by(_exc):
        _interrupted_as_command()
    raise

__all__ = [
    "ArrayError", "Config", "ConfigError", "DehazeConfig", "Dehazer", "Frame", "InputError",
    "OutputError", "Pipeline", "Processor", "ProcessorError", "Session", "Sink", "Source",
    "StreamInfo", "VidclearError", "__version__", "dehaze_image", "load_config", "open_sink",
    "open_source", "register_processor", "transcode",
]

# Imported on first use so `import vidclear` does not load the Numba kernels.
_LAZY = {"dehaze_image": "vidclear.dehaze", "Dehazer": "vidclear.dehaze",
         "DehazeConfig": "vidclear.dehaze"}


def __getattr__(name: str) -> Any:
    if name == "Job":  # deprecated: one assembler, Session
        import warnings

        warnings.warn("vidclear.Job is deprecated; use vidclear.Session.open(input, output, "
                      "config=...) (removed in the next release)", DeprecationWarning,
                      stacklevel=2)
        return Session.open
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'vidclear' has no attribute {name!r}")
