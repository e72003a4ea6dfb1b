"""Shared primitives: min and box filters, guided filter, resampling, luma
weights, exposure weights and text labels.

Every filter vidclear uses is written once, here; the processors call these.
This package imports nothing from vidclear but its lowest layer (errors,
array layouts), so every processor can build on it.
"""

from vidclear.kernels.colour import BT601, BT709, luma
from vidclear.kernels.draw import draw_label
from vidclear.kernels.exposure import exposure_weights
from vidclear.kernels.filters import (
    GuidedFilter,
    box_filter,
    downsample_area,
    fast_guided_filter,
    guided_coefficients,
    guided_filter,
    min_filter,
    upsample_bilinear,
)

__all__ = [
    "BT601",
    "BT709",
    "GuidedFilter",
    "box_filter",
    "downsample_area",
    "draw_label",
    "exposure_weights",
    "fast_guided_filter",
    "guided_coefficients",
    "guided_filter",
    "luma",
    "min_filter",
    "upsample_bilinear",
]
