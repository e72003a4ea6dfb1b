"""Frame sinks: the encoder and a null sink."""

from __future__ import annotations

import os
from typing import Any

# OpenCV before PyAV (whose import comes next, with the encoder): PyAV's wheel
# bundles its own libxcb, and when that is loaded first OpenCV's Qt HighGUI
# backend hangs on its first window (the window preview). Importing cv2 first
# lets Qt bind the system X libraries.
import cv2  # noqa: F401

from vidclear.io.sinks.encoder import EncoderSink
from vidclear.io.sinks.null import NullSink

__all__ = ["EncoderSink", "NullSink", "open_sink"]


def open_sink(path: str | os.PathLike[str], **kwargs: Any) -> EncoderSink:
    """Open an encoded file for writing; see :class:`EncoderSink`."""
    return EncoderSink(path, **kwargs)
