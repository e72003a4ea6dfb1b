"""Shared Numba primitives: min and box filters, guided filter, resampling.

This package imports nothing else from vidclear, so every processor can build
on it.
"""

from vidclear.kernels.filters import (
    GuidedFilter,
    box_filter,
    downsample_area,
    fast_guided_filter,
    guided_filter,
    min_filter,
    upsample_bilinear,
)

__all__ = [
    "GuidedFilter",
    "box_filter",
    "downsample_area",
    "fast_guided_filter",
    "guided_filter",
    "min_filter",
    "upsample_bilinear",
]
