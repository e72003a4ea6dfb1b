"""HDR from exposure brackets: alignment, camera response, merging, tone mapping, video.

Stills: :func:`align_Ward2003` (median threshold bitmaps) →
:func:`camera_response_Debevec1997` / :func:`camera_response_Robertson2003` →
:func:`merge_Debevec1997` / :func:`merge_Robertson2003` (or
:func:`exposure_fusion_Mertens2007`) → a tone mapping operator from
:data:`OPERATORS`. Video: :class:`RollingBracket` (engine) and the
``hdr_bracket`` / ``synth_bracket`` processors in :mod:`vidclear.processors.hdr`.

Names
-----
Algorithms are named by kind plus paper, as colour-hdri does:
``<kind>_<Author><year>`` for functions (``camera_response_Debevec1997``,
``merge_Robertson2003``, ``tonemapping_operator_Reinhard2002``) and
``<Kind><Author><year>`` for the classes that hold their settings
(``CameraResponseDebevec1997``, ``MergeDebevec1997``). Operators that come
from no paper take a plain word (``tonemapping_operator_gamma``,
``tonemapping_operator_linear``). Smoothing time constants are ``tau``, in
seconds (``*_tau`` in configuration sections holding several).

The names of vidclear 0.1 (``debevec1997``, ``robertson2003``,
``merge_debevec``, ``merge_robertson``, ``mertens2007``, ``align_mtb``,
``reinhard2002``, ``reinhard2002_local``, ``reinhard2005``, ``drago2003``,
``mantiuk2006``, ``durand_style``, ``linear``, ``tonemap_gamma`` and the classes
``CalibrateDebevec``, ``CalibrateRobertson``, ``MergeDebevec``,
``MergeRobertson``, ``MergeMertens``, ``MTBAligner``) still work for one
release and emit a :class:`DeprecationWarning` when called.
"""

from vidclear.errors import HDRInputError
from vidclear.hdr.align import (
    AlignWard2003,
    MTBAligner,
    align_mtb,
    align_Ward2003,
    shift_image,
    valid_region,
)
from vidclear.hdr.merge import (
    ExposureFusionMertens2007,
    MergeDebevec,
    MergeDebevec1997,
    MergeMertens,
    MergeRobertson,
    MergeRobertson2003,
    exposure_fusion_Mertens2007,
    merge_debevec,
    merge_Debevec1997,
    merge_robertson,
    merge_Robertson2003,
    mertens2007,
)
from vidclear.hdr.response import (
    CalibrateDebevec,
    CalibrateRobertson,
    CameraResponseDebevec1997,
    CameraResponseRobertson2003,
    apply_response,
    camera_response_Debevec1997,
    camera_response_Robertson2003,
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
    tonemapping_operator_Drago2003,
    tonemapping_operator_Durand2002,
    tonemapping_operator_gamma,
    tonemapping_operator_linear,
    tonemapping_operator_Mantiuk2006,
    tonemapping_operator_Reinhard2002,
    tonemapping_operator_Reinhard2002_local,
    tonemapping_operator_Reinhard2005,
)

__all__ = [
    "OPERATORS", "AlignWard2003", "CalibrateDebevec", "CalibrateRobertson",
    "CameraResponseDebevec1997", "CameraResponseRobertson2003", "ExposureFusionMertens2007",
    "HDRInputError", "MTBAligner", "MergeDebevec", "MergeDebevec1997", "MergeMertens",
    "MergeRobertson", "MergeRobertson2003", "RollingBracket", "TemporalSmoother", "ToneMapper",
    "align_Ward2003", "align_mtb", "apply_response", "camera_response_Debevec1997",
    "camera_response_Robertson2003", "debevec1997", "drago2003", "durand_style",
    "exposure_fusion_Mertens2007", "gamma_response", "linear", "linear_response",
    "load_response", "mantiuk2006", "merge_Debevec1997", "merge_Robertson2003",
    "merge_debevec", "merge_robertson", "mertens2007", "reinhard2002", "reinhard2002_local",
    "reinhard2005", "robertson2003", "save_response", "shift_image", "srgb_response",
    "synthesize_bracket", "to_uint8", "tonemap_gamma", "tonemapping_operator_Drago2003",
    "tonemapping_operator_Durand2002", "tonemapping_operator_Mantiuk2006",
    "tonemapping_operator_Reinhard2002", "tonemapping_operator_Reinhard2002_local",
    "tonemapping_operator_Reinhard2005", "tonemapping_operator_gamma",
    "tonemapping_operator_linear", "valid_region",
]
