"""The HDR names of vidclear 0.1 still work, warn, and match the new names."""

from __future__ import annotations

import numpy as np
import pytest

import vidclear.hdr as H
from vidclear.config.loader import load_config
from vidclear.errors import ConfigError
from vidclear.hdr import align, merge, response, tonemap
from vidclear.processors.hdr import HDRBracket, HDRBracketConfig

# a ramp (a flat bracket is refused: nothing to calibrate a response from)
_RAMP = np.linspace(10.0, 80.0, 64).reshape(8, 8, 1).repeat(3, axis=2)
EXPOSURES = [np.clip(_RAMP * g, 0, 255).astype(np.uint8) for g in (1.0, 2.0, 3.2)]
TIMES = [0.25, 1.0, 4.0]
RAD = np.random.default_rng(0).random((16, 16, 3)).astype(np.float32) * 4

FUNCTIONS = [
    (response, "debevec1997", "camera_response_Debevec1997", (EXPOSURES, TIMES)),
    (response, "robertson2003", "camera_response_Robertson2003", (EXPOSURES, TIMES)),
    (merge, "merge_debevec", "merge_Debevec1997", (EXPOSURES, TIMES)),
    (merge, "merge_robertson", "merge_Robertson2003", (EXPOSURES, TIMES)),
    (merge, "mertens2007", "exposure_fusion_Mertens2007", (EXPOSURES,)),
    (align, "align_mtb", "align_Ward2003", (EXPOSURES,)),
    (tonemap, "reinhard2002", "tonemapping_operator_Reinhard2002", (RAD,)),
    (tonemap, "reinhard2002_local", "tonemapping_operator_Reinhard2002_local", (RAD,)),
    (tonemap, "reinhard2005", "tonemapping_operator_Reinhard2005", (RAD,)),
    (tonemap, "drago2003", "tonemapping_operator_Drago2003", (RAD,)),
    (tonemap, "mantiuk2006", "tonemapping_operator_Mantiuk2006", (RAD,)),
    (tonemap, "durand_style", "tonemapping_operator_Durand2002", (RAD,)),
    (tonemap, "linear", "tonemapping_operator_linear", (RAD,)),
    (tonemap, "tonemap_gamma", "tonemapping_operator_gamma", (RAD,)),
]
CLASSES = [
    (response, "CalibrateDebevec", "CameraResponseDebevec1997"),
    (response, "CalibrateRobertson", "CameraResponseRobertson2003"),
    (merge, "MergeDebevec", "MergeDebevec1997"),
    (merge, "MergeRobertson", "MergeRobertson2003"),
    (merge, "MergeMertens", "ExposureFusionMertens2007"),
    (align, "MTBAligner", "AlignWard2003"),
]


def _same(a: object, b: object) -> None:
    if isinstance(a, tuple):
        for x, y in zip(a, b, strict=True):  # type: ignore[call-overload]
            _same(x, y)
    else:
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize(("module", "old", "new", "args"), FUNCTIONS)
def test_old_function_names_warn_and_agree(module, old, new, args) -> None:
    with pytest.warns(DeprecationWarning, match=f"{old} is deprecated.*use {new}"):
        got = getattr(module, old)(*args)
    _same(got, getattr(module, new)(*args))
    assert getattr(H, old) is getattr(module, old) and getattr(H, new) is getattr(module, new)


@pytest.mark.parametrize(("module", "old", "new"), CLASSES)
def test_old_class_names_warn_and_build_the_new_class(module, old, new) -> None:
    with pytest.warns(DeprecationWarning, match=f"{old} is deprecated.*use {new}"):
        obj = getattr(module, old)()
    assert isinstance(obj, getattr(module, new))


def test_tonemap_filters_moved_to_kernels() -> None:
    img = RAD[:, :, 0]
    with pytest.warns(DeprecationWarning, match="box_mean"):
        box = tonemap.box_mean(img, 2)
    assert box.shape == img.shape
    with pytest.warns(DeprecationWarning, match="guided_filter"):
        assert tonemap.guided_filter(img, radius=2).shape == img.shape


def test_old_time_constant_key_still_loads(tmp_path) -> None:
    with pytest.warns(FutureWarning, match="hdr_bracket.time_constant is deprecated.*tonemap_tau"):
        p = HDRBracket(exposures=[1.0, 4.0], time_constant=0.3)
    assert p.config.tonemap_tau == 0.3
    toml = tmp_path / "old.toml"
    toml.write_text("[hdr_bracket]\ntime_constant = 0.2\n")
    with pytest.warns(FutureWarning, match="time_constant"):
        cfg = load_config(config_file=toml)
    section = cfg.processors["hdr_bracket"]
    assert isinstance(section, HDRBracketConfig) and section.tonemap_tau == 0.2
    with pytest.raises(ConfigError, match="same setting"):
        HDRBracketConfig.from_mapping({"time_constant": 0.2, "tonemap_tau": 0.3})
