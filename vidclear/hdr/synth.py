"""Synthetic exposure brackets with a known camera response, for tests and demos."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vidclear.errors import HDRInputError
from vidclear.hdr._validate import as_radiance
from vidclear.hdr.response import apply_response, as_response, srgb_response

__all__ = ["bracket_tables", "synthesize_bracket"]


def synthesize_bracket(radiance: np.ndarray, exposures: Sequence[float], *,
                       response: np.ndarray | None = None, noise: float = 0.0,
                       seed: int = 0) -> list[np.ndarray]:
    """The 8-bit images a camera with ``response`` records of ``radiance``.

    Parameters
    ----------
    radiance : ndarray
        H×W×3 (or H×W) float radiance, >= 0; value 1 at exposure 1 reads 128.
    exposures : sequence of float
        Exposure times (relative), each > 0.
    response : ndarray, optional
        256×3 response table; default sRGB.
    noise : float
        Standard deviation of Gaussian noise added to the exposure, relative
        to it (shot-noise-like), >= 0.
    seed : int
        Seed of the noise.

    Returns
    -------
    list of ndarray
        One H×W×3 uint8 image per exposure.
    """
    rad = as_radiance(radiance)
    ex = np.asarray(exposures, dtype=np.float64)
    if ex.ndim != 1 or ex.size < 1 or not np.all(np.isfinite(ex)) or np.any(ex <= 0):
        raise HDRInputError(f"exposures must be positive values, got {list(exposures)}")
    if not np.isfinite(noise) or noise < 0:
        raise HDRInputError(f"noise must be >= 0, got {noise}")
    resp = srgb_response() if response is None else as_response(response)
    rng = np.random.default_rng(seed)
    out = []
    for e in ex:
        x = rad.astype(np.float64) * e
        if noise > 0:
            x = np.maximum(x * (1.0 + noise * rng.standard_normal(x.shape)), 0.0)
        out.append(apply_response(x, resp))
    return out


def bracket_tables(exposures: Sequence[float], *, response: np.ndarray | None = None,
                   source_response: np.ndarray | None = None, expand: float = 1.0
                   ) -> np.ndarray:
    """Per-exposure 256→256 tables turning an ordinary 8-bit frame into a bracket member.

    The frame is linearised with ``source_response`` (default sRGB), its
    range stretched by raising to ``expand`` (> 1 widens the dynamic range
    around mid grey), multiplied by the exposure and recorded with
    ``response``.

    Returns
    -------
    ndarray
        N×256×3 uint8: ``tables[k, z, c]`` is the value channel ``c`` reads for
        input value ``z`` at exposure ``k``.
    """
    ex = np.asarray(exposures, dtype=np.float64)
    if ex.ndim != 1 or ex.size < 1 or not np.all(np.isfinite(ex)) or np.any(ex <= 0):
        raise HDRInputError(f"exposures must be positive values, got {list(exposures)}")
    if not np.isfinite(expand) or expand <= 0:
        raise HDRInputError(f"expand must be > 0, got {expand}")
    src = srgb_response() if source_response is None else as_response(source_response)
    resp = srgb_response() if response is None else as_response(response)
    rad = src.astype(np.float64) ** expand  # 256×3, value 128 -> 1
    tables = np.empty((ex.size, 256, 3), dtype=np.uint8)
    for k, e in enumerate(ex):
        tables[k] = apply_response((rad * e)[None], resp)[0]
    return tables
