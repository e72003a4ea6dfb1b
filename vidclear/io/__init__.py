"""Sources that produce frames and sinks that consume them."""

from vidclear.io.sinks import EncoderSink, NullSink, open_sink
from vidclear.io.sources import AVSource, open_source

__all__ = ["AVSource", "EncoderSink", "NullSink", "open_sink", "open_source"]
