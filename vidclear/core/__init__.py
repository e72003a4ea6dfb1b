"""The contracts every layer above shares: frames, processors, sources, sinks.

``core`` imports only :mod:`vidclear.errors`, numpy, PyAV and OpenCV. It
holds :class:`Frame` (and its colour conversions), the :class:`Processor`
base class and the processor registry, the :class:`Source` base class with
its :class:`StreamInfo` and :class:`SidePackets` channel, the :class:`Sink`
protocol, the typed :class:`Section` every configuration derives from, and
the image layouts the restoration functions take (:mod:`vidclear.core.images`).
"""

from vidclear.core import registry
from vidclear.core.frame import Frame, Yuv420
from vidclear.core.processor import Processor
from vidclear.core.schema import Section, param
from vidclear.core.sink import Sink
from vidclear.core.source import SidePackets, Source, StreamInfo

__all__ = ["Frame", "Processor", "Section", "SidePackets", "Sink", "Source", "StreamInfo",
           "Yuv420", "param", "registry"]
