"""Dark-channel-prior dehazing for images and video.

``dehaze_image(rgb)`` dehazes one image; ``Dehazer()`` keeps the temporal
state a video needs (smoothed airlight, scene cuts, automatic strength).
Both take RGB (never BGR) uint8, uint16 or float images and are configured by
the fields of :class:`DehazeConfig`. The ``dehaze`` and ``dehaze_debug``
pipeline processors live in :mod:`vidclear.processors.dehaze`.
"""

from vidclear.dehaze.airlight import airlight_dcp, airlight_quadtree, estimate_airlight
from vidclear.dehaze.config import DehazeConfig
from vidclear.dehaze.dcp import dark_channel
from vidclear.dehaze.dehazer import Dehazer, DehazeResult, dehaze_image
from vidclear.dehaze.temporal import (
    AirlightTracker,
    DensityTracker,
    SceneCutDetector,
    VeilTracker,
)

__all__ = [
    "AirlightTracker",
    "DehazeConfig",
    "DehazeResult",
    "Dehazer",
    "DensityTracker",
    "SceneCutDetector",
    "VeilTracker",
    "airlight_dcp",
    "airlight_quadtree",
    "dark_channel",
    "dehaze_image",
    "estimate_airlight",
]
