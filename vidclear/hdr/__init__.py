"""HDR from exposure brackets: alignment, camera response, merging, tone mapping, video.

Stills: :func:`align_mtb` (Ward 2003) → :func:`debevec1997` /
:func:`robertson2003` → :func:`merge_debevec` / :func:`merge_robertson` (or
:func:`mertens2007` fusion) → a tone mapper from :data:`OPERATORS`.
Video: :class:`RollingBracket` (engine) and the ``hdr_bracket`` /
``synth_bracket`` processors in :mod:`vidclear.processors.hdr`.
"""

from vidclear.hdr._validate import HDRInputError
from vidclear.hdr.align import MTBAligner, align_mtb, shift_image
from vidclear.hdr.merge import (
    MergeDebevec,
    MergeMertens,
    MergeRobertson,
    merge_debevec,
    merge_robertson,
    mertens2007,
)
from vidclear.hdr.response import (
    CalibrateDebevec,
    CalibrateRobertson,
    apply_response,
    debevec1997,
    gamma_response,
    linear_response,
    load_response,
    robertson2003,
    save_response,
    srgb_response,
)
from vidclear.hdr.rolling import RollingBracket, TemporalSmoother
from vidclear.hdr.synth import synthesize_bracket
from vidclear.hdr.tonemap import (
    OPERATORS,
    ToneMapper,
    drago2003,
    durand_style,
    linear,
    mantiuk2006,
    reinhard2002,
    reinhard2002_local,
    reinhard2005,
    to_uint8,
    tonemap_gamma,
)

__all__ = [
    "OPERATORS", "CalibrateDebevec", "CalibrateRobertson", "HDRInputError", "MTBAligner",
    "MergeDebevec", "MergeMertens", "MergeRobertson", "RollingBracket", "TemporalSmoother",
    "ToneMapper", "align_mtb", "apply_response", "debevec1997", "drago2003", "durand_style",
    "gamma_response", "linear", "linear_response", "load_response", "mantiuk2006",
    "merge_debevec", "merge_robertson", "mertens2007", "reinhard2002", "reinhard2002_local",
    "reinhard2005", "robertson2003", "save_response", "shift_image", "srgb_response",
    "synthesize_bracket", "to_uint8", "tonemap_gamma",
]
