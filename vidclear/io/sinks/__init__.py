"""Frame sinks: the encoder and a null sink."""

from __future__ import annotations

import os
from typing import Any

from vidclear.io.sinks.encoder import EncoderSink
from vidclear.io.sinks.null import NullSink

__all__ = ["EncoderSink", "NullSink", "open_sink"]


def open_sink(path: str | os.PathLike[str], **kwargs: Any) -> EncoderSink:
    """Open an encoded file for writing; see :class:`EncoderSink`."""
    return EncoderSink(path, **kwargs)
