"""HDR video signals from merged radiance: PQ (SMPTE ST 2084) and HLG, BT.2020, 10 bits.

The rolling bracket merges relative scene radiance; a display needs absolute
luminance. The mapping used here, in order:

1. **Exposure.** Radiance is scaled so that the scene's log-average
   luminance (smoothed over time like the SDR tone mapper's key, see
   :class:`~vidclear.hdr.rolling.TemporalSmoother`) lands at ``key ×
   reference_white`` cd/m². With the defaults (key 0.18, reference white
   203 cd/m², ITU-R BT.2408) a mid-grey scene sits at 36.5 cd/m² and a
   diffuse white about 5.6 times the log-average sits at 203 cd/m².
2. **Primaries.** Linear BT.709 / sRGB camera RGB is converted to BT.2020
   primaries (ITU-R BT.2087 matrix).
3. **Highlights.** Above 75 % of ``peak`` (the mastering display's peak, 1000
   cd/m² by default) the largest channel of each pixel is compressed smoothly
   so that no pixel exceeds ``peak``; the other channels are scaled by the
   same factor, so hue is kept.
4. **Transfer.** PQ: the ST 2084 inverse EOTF of absolute luminance (10 000
   cd/m² = 1). HLG: scene light normalised so that reference white gives the
   BT.2408 HLG reference level of 75 % (``E = L / reference_white × 0.2647``),
   then the BT.2100 HLG OETF; a 1000 cd/m² HLG display then shows reference
   white near 203 cd/m².
5. **Signal.** Y'CbCr with the BT.2020 non-constant-luminance matrix,
   10-bit limited ("TV") range, chroma averaged over 2×2 pixels (4:2:0).

The transfer curves are evaluated through a 65 536-entry table indexed by
the bits of the half-float value (relative step 2**-11, far finer than a
10-bit code), so a frame costs a few array passes.

References
----------
.. [1] SMPTE ST 2084:2014, "High Dynamic Range Electro-Optical Transfer
   Function of Mastering Reference Displays".
.. [2] ITU-R BT.2100-2, "Image parameter values for high dynamic range
   television" (PQ and HLG, Y'CbCr, signal ranges).
.. [3] ITU-R BT.2020-2 (primaries, luma coefficients); ITU-R BT.2087-0
   (BT.709 to BT.2020 conversion); ITU-R BT.2408-4 (reference white 203 cd/m²,
   HLG reference level 75 %).
.. [4] SMPTE ST 2086:2018 (mastering display colour volume) and CTA-861.3
   (MaxCLL, MaxFALL).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import av
import cv2
import numpy as np

from vidclear.errors import HDRInputError

__all__ = [
    "BT709_TO_BT2020",
    "HDRSignal",
    "hlg_inverse_oetf",
    "hlg_oetf",
    "pq_eotf",
    "pq_inverse_eotf",
]

#: Linear BT.709 RGB to linear BT.2020 RGB (ITU-R BT.2087-0, equation 3).
BT709_TO_BT2020 = np.array([[0.6274, 0.3293, 0.0433],
                            [0.0691, 0.9195, 0.0114],
                            [0.0164, 0.0880, 0.8956]], dtype=np.float64)
KR_2020, KB_2020 = 0.2627, 0.0593
# ST 2084 constants
_M1, _M2 = 2610 / 16384, 2523 / 4096 * 128
_C1, _C2, _C3 = 3424 / 4096, 2413 / 4096 * 32, 2392 / 4096 * 32
# BT.2100 HLG constants
_HA = 0.17883277
_HB = 1 - 4 * _HA
_HC = 0.5 - _HA * math.log(4 * _HA)
HLG_REFERENCE = 0.2647  # scene light giving the 75 % HLG signal (BT.2408)
# x265 ``master-display`` chromaticities of BT.2020 and D65, in 0.00002 units
_BT2020_DISPLAY = "G(8500,39850)B(6550,2300)R(35400,14600)WP(15635,16450)"
# FFmpeg colour enum values (libavutil/pixfmt.h)
AVCOL_PRI_BT2020, AVCOL_SPC_BT2020_NCL = 9, 9
AVCOL_TRC = {"pq": 16, "hlg": 18}  # SMPTE2084, ARIB_STD_B67


def pq_inverse_eotf(luminance: np.ndarray | float) -> np.ndarray:
    """PQ signal (0..1) of absolute luminance in cd/m² (SMPTE ST 2084); clipped to 0..10 000."""
    y = np.clip(np.asarray(luminance, dtype=np.float64) / 10000.0, 0.0, 1.0)
    p = y ** _M1
    return ((_C1 + _C2 * p) / (1.0 + _C3 * p)) ** _M2


def pq_eotf(signal: np.ndarray | float) -> np.ndarray:
    """Absolute luminance in cd/m² of a PQ signal (0..1): the inverse of :func:`pq_inverse_eotf`."""
    e = np.clip(np.asarray(signal, dtype=np.float64), 0.0, 1.0) ** (1.0 / _M2)
    return 10000.0 * (np.maximum(e - _C1, 0.0) / (_C2 - _C3 * e)) ** (1.0 / _M1)


def hlg_oetf(scene: np.ndarray | float) -> np.ndarray:
    """HLG signal (0..1) of normalised scene light 0..1 (ITU-R BT.2100 OETF)."""
    e = np.clip(np.asarray(scene, dtype=np.float64), 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        log = _HA * np.log(np.maximum(12.0 * e - _HB, 1e-12)) + _HC
    return np.where(e <= 1.0 / 12.0, np.sqrt(3.0 * e), log)


def hlg_inverse_oetf(signal: np.ndarray | float) -> np.ndarray:
    """Normalised scene light of an HLG signal: the inverse of :func:`hlg_oetf`."""
    s = np.clip(np.asarray(signal, dtype=np.float64), 0.0, 1.0)
    return np.where(s <= 0.5, s * s / 3.0, (np.exp((s - _HC) / _HA) + _HB) / 12.0)


def _half_table(fn: Any) -> np.ndarray:
    """float32 table of ``fn`` over every float16 bit pattern (NaN and negatives give 0)."""
    v = np.arange(65536, dtype=np.uint16).view(np.float16).astype(np.float64)
    v = np.where(np.isfinite(v) & (v > 0), v, np.where(v == np.inf, 1e30, 0.0))
    return np.asarray(fn(v), dtype=np.float32)


@dataclass
class HDRSignal:
    """Turn linear scene radiance into a 10-bit PQ or HLG BT.2020 video frame.

    Parameters
    ----------
    transfer : {"pq", "hlg"}
        SMPTE ST 2084 (HDR10) or ARIB STD-B67 / BT.2100 HLG.
    key : float
        The scene's log-average luminance is shown at ``key × reference_white``.
    reference_white : float
        Diffuse white in cd/m² (BT.2408: 203).
    peak : float
        Mastering display peak in cd/m², also the ceiling of the mapping.
    min_luminance : float
        Mastering display black in cd/m² (for the metadata).

    Attributes
    ----------
    max_cll, max_fall : float
        Largest pixel and largest frame-average light level written so far
        (cd/m², CTA-861.3), measured on the mapped frames.
    """

    transfer: str = "pq"
    key: float = 0.18
    reference_white: float = 203.0
    peak: float = 1000.0
    min_luminance: float = 0.005
    max_cll: float = 0.0
    max_fall: float = 0.0
    _table: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.transfer not in AVCOL_TRC:
            raise HDRInputError(f"transfer must be 'pq' or 'hlg', got {self.transfer!r}")
        if not 0 < self.reference_white <= self.peak <= 10000:
            raise HDRInputError("need 0 < reference_white <= peak <= 10000 cd/m²")
        if not 0 <= self.min_luminance < self.reference_white:
            raise HDRInputError("min_luminance must lie in [0, reference_white)")
        if self.transfer == "pq":  # table input: cd/m² / 10000
            self._table = _half_table(lambda v: pq_inverse_eotf(v * 10000.0))
        else:  # table input: normalised scene light
            self._table = _half_table(hlg_oetf)

    # ------------------------------------------------------------ metadata

    @property
    def master_display(self) -> str:
        """x265 ``master-display`` value: BT.2020 primaries, D65, peak and black (ST 2086)."""
        return (f"{_BT2020_DISPLAY}L({round(self.peak * 10000)},"
                f"{round(self.min_luminance * 10000)})")

    def content_light(self) -> str:
        """x265 ``max-cll`` value written at the start: the mapping's bounds.

        MaxCLL is ``peak`` (no pixel is mapped above it); MaxFALL is the
        reference white (a frame averages above diffuse white only in
        extreme scenes). The measured levels are in :attr:`max_cll` and
        :attr:`max_fall` at the end.
        """
        return f"{round(self.peak)},{round(self.reference_white)}"

    def colour_meta(self) -> dict[str, Any]:
        """What an encoder needs: codec, pixel format, tags and x265 parameters."""
        return {"codec": "libx265", "pix_fmt": "yuv420p10le",
                "transfer": "smpte2084" if self.transfer == "pq" else "arib-std-b67",
                "primaries": "bt2020", "matrix": "bt2020nc", "range": "tv",
                "x265-params": {"master-display": self.master_display,
                                "max-cll": self.content_light(),
                                "colorprim": "bt2020", "colormatrix": "bt2020nc",
                                "transfer": "smpte2084" if self.transfer == "pq"
                                else "arib-std-b67", "range": "limited",
                                "hdr10": "1" if self.transfer == "pq" else "0",
                                "repeat-headers": "1"}}

    # ------------------------------------------------------------ mapping

    def luminance(self, radiance: np.ndarray, log_average: float) -> np.ndarray:
        """BT.2020 linear RGB in cd/m² (H×W×3 float32) of BT.709 ``radiance``.

        ``log_average`` is the scene's (smoothed) log-average luminance in
        the units of ``radiance``, > 0.
        """
        rad = np.asarray(radiance, dtype=np.float32)
        if rad.ndim != 3 or rad.shape[2] != 3:
            raise HDRInputError(f"radiance has shape {rad.shape}: expected H×W×3")
        if not log_average > 0 or not math.isfinite(log_average):
            raise HDRInputError(f"log_average must be > 0, got {log_average}")
        scale = self.key * self.reference_white / log_average
        m = (BT709_TO_BT2020 * scale).astype(np.float32)
        lin = cv2.transform(rad, m)
        np.maximum(lin, 0.0, out=lin)
        top = lin.max(axis=2)
        knee = 0.75 * self.peak
        hot = top > knee
        if np.any(hot):
            t = top[hot]
            # rational shoulder: slope 1 at the knee, approaches peak
            room = self.peak - knee
            mapped = knee + room * (t - knee) / (t - knee + room)
            lin[hot] *= (mapped / t)[:, None]
        return lin

    def encode(self, radiance: np.ndarray, log_average: float) -> tuple[np.ndarray, Any]:
        """The signal of one frame: R'G'B' as uint16 and a ``yuv420p10le`` ``av.VideoFrame``.

        Parameters
        ----------
        radiance : ndarray
            H×W×3 float32 linear BT.709 scene radiance (relative units); even H, W.
        log_average : float
            The (smoothed) log-average luminance of the scene, in the same units.

        Returns
        -------
        rgb16 : ndarray
            H×W×3 uint16 non-linear BT.2020 R'G'B', full scale 65535 (for
            previews and checks).
        frame : av.VideoFrame
            10-bit limited-range BT.2020 NCL Y'CbCr 4:2:0, tagged with the
            primaries, transfer, matrix and range.
        """
        lin = self.luminance(radiance, log_average)
        h, w = lin.shape[:2]
        if h % 2 or w % 2:
            raise HDRInputError(f"HDR output needs even frame sizes, got {w}x{h}")
        y_lum = KR_2020 * lin[..., 0] + (1 - KR_2020 - KB_2020) * lin[..., 1] + \
            KB_2020 * lin[..., 2]
        self.max_cll = max(self.max_cll, float(lin.max()))
        self.max_fall = max(self.max_fall, float(y_lum.mean()))
        if self.transfer == "pq":
            lin *= np.float32(1.0 / 10000.0)
        else:
            lin *= np.float32(HLG_REFERENCE / self.reference_white)
        sig = self._table[lin.astype(np.float16).view(np.uint16)]  # R'G'B' 0..1
        yp = KR_2020 * sig[..., 0] + (1 - KR_2020 - KB_2020) * sig[..., 1] + \
            KB_2020 * sig[..., 2]
        cb = (sig[..., 2] - yp) / (2 * (1 - KB_2020))
        cr = (sig[..., 0] - yp) / (2 * (1 - KR_2020))
        cb2 = cv2.resize(cb, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
        cr2 = cv2.resize(cr, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
        frame = av.VideoFrame(w, h, "yuv420p10le")
        planes = (np.rint(64.0 + 876.0 * yp), np.rint(512.0 + 896.0 * cb2),
                  np.rint(512.0 + 896.0 * cr2))
        for plane, src, top in zip(frame.planes, planes, (940, 960, 960), strict=True):
            rows, cols = src.shape
            dst = np.frombuffer(memoryview(plane), np.uint16).reshape(-1, plane.line_size // 2)
            dst[:rows, :cols] = np.clip(src, 64, top)  # nominal limited range
        frame.color_primaries = AVCOL_PRI_BT2020
        frame.colorspace = AVCOL_SPC_BT2020_NCL
        frame.color_trc = AVCOL_TRC[self.transfer]
        frame.color_range = 1  # MPEG / limited
        rgb16 = np.rint(sig * 65535.0).astype(np.uint16)
        return rgb16, frame
