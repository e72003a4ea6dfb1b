"""Still-image I/O for HDR: EXIF exposure times, Radiance .hdr, response plots."""

from __future__ import annotations

import os
import struct
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from vidclear.errors import InputError, OutputError
from vidclear.hdr.response import as_response

__all__ = ["exif_exposure_time", "plot_response", "read_image", "write_image_atomic"]

_EXPOSURE_TIME = 0x829A
_EXIF_IFD = 0x8769


def _ifd_entries(data: bytes, off: int, en: str) -> list[tuple[int, int, int, bytes]]:
    (n,) = struct.unpack_from(en + "H", data, off)
    out = []
    for i in range(n):
        tag, typ, cnt = struct.unpack_from(en + "HHI", data, off + 2 + 12 * i)
        out.append((tag, typ, cnt, data[off + 2 + 12 * i + 8: off + 2 + 12 * i + 12]))
    return out


def exif_exposure_time(path: str | os.PathLike[str]) -> float | None:
    """ExposureTime (seconds) from a JPEG's EXIF APP1 segment, or None if absent."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    if data[:2] != b"\xff\xd8":
        return None
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker in (0xD9, 0xDA):
            break
        (size,) = struct.unpack_from(">H", data, pos + 2)
        seg = data[pos + 4: pos + 2 + size]
        pos += 2 + size
        if marker != 0xE1 or not seg.startswith(b"Exif\x00\x00"):
            continue
        tiff = seg[6:]
        try:
            en = "<" if tiff[:2] == b"II" else ">"
            (ifd0,) = struct.unpack_from(en + "I", tiff, 4)
            for tag, _typ, _cnt, val in _ifd_entries(tiff, ifd0, en):
                if tag != _EXIF_IFD:
                    continue
                (sub,) = struct.unpack_from(en + "I", val)
                for tag2, typ2, _c2, val2 in _ifd_entries(tiff, sub, en):
                    if tag2 == _EXPOSURE_TIME and typ2 == 5:  # RATIONAL
                        (voff,) = struct.unpack_from(en + "I", val2)
                        num, den = struct.unpack_from(en + "II", tiff, voff)
                        return float(Fraction(num, den)) if den and num else None
        except struct.error:
            return None
    return None


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an 8-bit image as H×W×3 uint8 RGB (grayscale repeated)."""
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise InputError(f"cannot read image {path}: missing or not an image OpenCV can decode")
    return np.ascontiguousarray(img[:, :, ::-1])


def write_image_atomic(path: str | os.PathLike[str], image: np.ndarray) -> None:
    """Write an RGB image (uint8, or float32 for .hdr) via a temporary name and rename."""
    p = Path(path)
    tmp = p.with_name(f".{p.stem}.tmp{p.suffix}")
    arr = np.ascontiguousarray(np.asarray(image)[:, :, ::-1])
    try:
        ok = cv2.imwrite(str(tmp), arr)
    except cv2.error as exc:
        raise OutputError(f"cannot write {p}: {exc}") from None
    if not ok:
        if tmp.exists():
            tmp.unlink()
        raise OutputError(f"cannot write {p}: OpenCV refused the file")
    os.replace(tmp, p)


def plot_response(response: np.ndarray, *, size: tuple[int, int] = (640, 480),
                  title: str = "camera response") -> np.ndarray:
    """Draw log2 response curves (R, G, B) against pixel value with OpenCV.

    Returns
    -------
    ndarray
        H×W×3 uint8 RGB plot, white background.
    """
    resp = as_response(response)
    w, h = size
    img = np.full((h, w, 3), 255, dtype=np.uint8)
    ml, mr, mt, mb = 60, 20, 30, 40
    logr = np.log2(resp.astype(np.float64))
    lo, hi = float(logr.min()), float(logr.max())
    hi = hi if hi > lo else lo + 1.0
    pw, ph = w - ml - mr, h - mt - mb

    def pt(z: float, v: float) -> tuple[int, int]:
        return (int(ml + pw * z / 255.0), int(mt + ph * (1.0 - (v - lo) / (hi - lo))))

    cv2.rectangle(img, (ml, mt), (ml + pw, mt + ph), (0, 0, 0), 1)
    for z in range(0, 256, 64):
        cv2.putText(img, str(z), (pt(z, lo)[0] - 8, h - mb + 18), cv2.FONT_HERSHEY_SIMPLEX,
                    0.4, (0, 0, 0), 1, cv2.LINE_AA)
    for v in range(int(np.ceil(lo)), int(np.floor(hi)) + 1, max(1, int((hi - lo) // 6) or 1)):
        cv2.putText(img, f"2^{v}", (4, pt(0, v)[1] + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.35,
                    (0, 0, 0), 1, cv2.LINE_AA)
    colours = [(220, 0, 0), (0, 160, 0), (0, 0, 220)]
    for c in range(3):
        pts = np.array([pt(z, logr[z, c]) for z in range(256)], dtype=np.int32)
        cv2.polylines(img, [pts], False, colours[c], 1, cv2.LINE_AA)
    cv2.putText(img, f"{title} (log2 exposure vs value)", (ml, 20), cv2.FONT_HERSHEY_SIMPLEX,
                0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return img
