"""Classic image enhancers: ACE, histogram equalization, CLAHE and MSRCR.

Functions take an RGB ``H×W×3`` (or grey ``H×W``) ``uint8``/``uint16`` image
first and return a new image of the same shape and dtype; the pipeline
processors of the same names live in :mod:`vidclear.processors.enhance`.
"""

from vidclear.enhance.ace import ace, ace_contrast
from vidclear.enhance.histogram import (
    apply_luma,
    apply_table,
    clahe,
    equalization_lut,
    equalize_hist,
    luma,
    luma_histogram,
)
from vidclear.enhance.retinex import gaussian_surround, msrcr

__all__ = [
    "ace",
    "ace_contrast",
    "apply_luma",
    "apply_table",
    "clahe",
    "equalization_lut",
    "equalize_hist",
    "gaussian_surround",
    "luma",
    "luma_histogram",
    "msrcr",
]
