"""Frame sources: anything PyAV opens (files, URLs, lavfi graphs)."""

from __future__ import annotations

from typing import Any

from vidclear.io.sources.av_source import AVSource, classify_input

__all__ = ["AVSource", "classify_input", "open_source"]


def open_source(spec: str, **kwargs: Any) -> AVSource:
    """Open a file path, URL or ``lavfi:<graph>`` as a frame iterator.

    Use it as a context manager::

        with vidclear.open_source("drive.mp4") as src:
            for frame in src:
                rgb = frame.image
    """
    return AVSource(spec, **kwargs)
