"""Still-image I/O for HDR: EXIF exposure times, radiance files (.hdr, .exr), response plots.

EXIF is read with Pillow (and pillow-heif for HEIC) and OpenEXR files are
written with the OpenEXR project's own Python bindings; these come with the
``stills`` extra (``pip install 'vidclear[stills]'``) and are imported only
when a function needs them.
"""

from __future__ import annotations

import contextlib
import math
import os
import warnings
import zlib
from collections.abc import Callable
from numbers import Real
from pathlib import Path
from types import ModuleType
from typing import Any

import cv2
import numpy as np

from vidclear.errors import ConfigError, InputError, OutputError
from vidclear.hdr.response import as_response

__all__ = ["HEIF_SUFFIXES", "exif_exposure_time", "plot_response", "read_image",
           "require_openexr", "write_exr", "write_image_atomic"]

STILLS_EXTRA = "pip install 'vidclear[stills]'"
#: File name endings read as HEIF/HEIC through pillow-heif (OpenCV cannot decode them).
HEIF_SUFFIXES = (".heic", ".heif", ".hif")
_HALF_MAX = 65504.0  # the largest finite IEEE 754 half-precision value

# EXIF 2.32 (CIPA DC-008) tags.
_EXIF_IFD = 0x8769
_EXPOSURE_TIME = 0x829A  # seconds, RATIONAL by the standard
_SHUTTER_SPEED_VALUE = 0x9201  # APEX Tv = -log2(seconds), SRATIONAL by the standard


def _pillow(path: str | os.PathLike[str], *, what: str, alt: str = "") -> ModuleType:
    """``PIL.Image``, with pillow-heif's opener registered when ``path`` is a HEIF file."""
    try:
        from PIL import Image
    except ImportError:
        raise ConfigError(f"{what} needs Pillow: {STILLS_EXTRA}{alt}") from None
    if Path(path).suffix.lower() in HEIF_SUFFIXES:
        try:
            import pillow_heif
        except ImportError:
            # no --times hint here: the pixels need pillow-heif too
            raise ConfigError(f"reading HEIC/HEIF ({path}) needs pillow-heif: "
                              f"{STILLS_EXTRA}") from None
        pillow_heif.register_heif_opener()
    return Image


def _seconds(value: Any) -> float | None:
    """A tag value of any EXIF number type as a float, or None if it is not one finite number.

    Pillow gives RATIONAL / SRATIONAL as ``IFDRational`` (NaN for a zero
    denominator), SHORT / LONG and the signed integer types as ``int``, BYTE
    as ``bytes``, FLOAT / DOUBLE as ``float``, and a tuple when
    the count is above one (the first value is taken).
    """
    if isinstance(value, tuple):
        value = value[0] if len(value) >= 1 else None
    if isinstance(value, bytes):
        value = value[0] if len(value) == 1 else None
    if isinstance(value, bool) or not isinstance(value, Real):
        return None
    x = float(value)
    return x if math.isfinite(x) else None


def exif_exposure_time(path: str | os.PathLike[str]) -> float | None:
    """The exposure time of a photo from its EXIF metadata, in seconds.

    Reads ``ExposureTime`` (tag 0x829A) from the Exif IFD, or from the first
    IFD where TIFF/EP files keep it. Every EXIF number type is accepted, not
    only the RATIONAL the standard prescribes: SRATIONAL, BYTE/SHORT/LONG
    (and signed), FLOAT and DOUBLE. Without a usable ExposureTime the APEX
    ``ShutterSpeedValue`` Tv (tag 0x9201) is used, as ``2 ** -Tv`` seconds:
    cameras write it from the same shutter setting, though often rounded, so
    it can be a few percent off the nominal time (Tv = 7 gives 1/128 s for a
    1/125 s exposure).

    Parameters
    ----------
    path : str or os.PathLike
        A JPEG, TIFF, PNG (``eXIf`` chunk) or HEIC/HEIF file; WebP and the
        other formats Pillow reads EXIF from work too.

    Returns
    -------
    float or None
        Exposure time in seconds, finite and positive; None when the file has
        no EXIF, neither tag, only zero / negative / non-finite values, or
        EXIF too corrupt to read.

    Raises
    ------
    InputError
        The file cannot be read or is not an image Pillow can open.
    ConfigError
        Pillow (or, for HEIC/HEIF, pillow-heif) is not installed: both come
        with ``pip install 'vidclear[stills]'``.

    References
    ----------
    .. [1] CIPA DC-008-2019, "Exchangeable image file format for digital
       still cameras: Exif Version 2.32", tags ExposureTime and
       ShutterSpeedValue (APEX).
    """
    if Path(path).is_dir():
        raise InputError(f"cannot read {path}: it is a folder")
    image_mod = _pillow(path, what="reading exposure times from EXIF",
                        alt=", or give the times with --times")
    try:
        with warnings.catch_warnings():
            # Pillow warns about corrupt EXIF and reads what it can; what it
            # cannot read counts as absent.
            warnings.simplefilter("ignore")
            with image_mod.open(path) as im:
                exif = im.getexif()
                tags = [dict(exif.get_ifd(_EXIF_IFD)), dict(exif)]
    except FileNotFoundError:
        raise InputError(f"cannot read {path}: no such file") from None
    except OSError as exc:  # PIL.UnidentifiedImageError is an OSError too
        raise InputError(f"cannot read EXIF from {path}: {exc}") from None
    except (SyntaxError, ValueError, TypeError, KeyError, IndexError):
        return None  # EXIF so broken that Pillow gave up on it
    for ifd in tags:
        t = _seconds(ifd.get(_EXPOSURE_TIME))
        if t is not None and t > 0:
            return t
    for ifd in tags:
        tv = _seconds(ifd.get(_SHUTTER_SPEED_VALUE))
        if tv is not None and abs(tv) < 64:  # 2**±64 s is no camera's
            return float(2.0 ** -tv)
    return None



def imread_quietly(path: str | os.PathLike[str], flags: int) -> np.ndarray | None:
    """``cv2.imread`` without OpenCV's own WARN lines; None where it cannot decode.

    OpenCV logs what libtiff and its decoders say (``TIFF_Warning ...
    Unknown field with tag 33434``, an EXIF exposure time in a TIFF's first
    directory: trial 118 F4; its own line before ours for a file it cannot
    read: trial 74); vidclear says what matters in one line of its own.
    """
    logging = cv2.utils.logging
    level = logging.getLogLevel()
    logging.setLogLevel(logging.LOG_LEVEL_ERROR)
    try:
        return cv2.imread(str(path), flags)
    finally:
        logging.setLogLevel(level)

def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a photo as an H×W×3 uint8 RGB array (grayscale repeated).

    OpenCV decodes it (applying the EXIF orientation; 16-bit files are
    scaled to 8 bits). HEIC/HEIF files, which OpenCV cannot decode, go
    through pillow-heif (``vidclear[stills]``), high bit depths reduced to 8.

    Raises
    ------
    InputError
        The file is missing or not an image the decoder can read.
    ConfigError
        A HEIC/HEIF file without pillow-heif installed.
    """
    if Path(path).is_dir():
        raise InputError(f"cannot read image {path}: it is a folder")
    if not Path(path).is_file():  # before OpenCV, which would print its own warning
        raise InputError(f"cannot read image {path}: no such file")
    if Path(path).suffix.lower() in HEIF_SUFFIXES:
        image_mod = _pillow(path, what=f"reading {path}")
        try:
            from PIL import ImageOps

            with image_mod.open(path) as im:
                rgb = ImageOps.exif_transpose(im).convert("RGB")
                return np.array(rgb, dtype=np.uint8)
        except (OSError, ValueError, SyntaxError) as exc:
            raise InputError(f"cannot read image {path}: {exc}") from None
    _check_whole(Path(path))
    img = imread_quietly(path, cv2.IMREAD_COLOR)
    raw = imread_quietly(path, cv2.IMREAD_UNCHANGED) if img is None else None
    if raw is not None and raw.dtype.kind == "f":
        # a 32-bit float TIFF: OpenCV reads it only unchanged, and it is no
        # camera's exposure ("not an image OpenCV can decode", trial 74)
        raise InputError(f"cannot read image {path}: it holds floating-point samples (a "
                         "radiance map or an edited image?); a bracket's exposures are the "
                         "camera's 8- or 16-bit pictures")
    if img is None:
        raise InputError(f"cannot read image {path}: missing or not an image OpenCV can decode")
    return np.ascontiguousarray(img[:, :, ::-1])


def _check_whole(path: Path) -> None:
    """Refuse a JPEG or PNG cut short, before the decoder conceals it or prints its own lines.

    libjpeg decodes a truncated JPEG (grey below the cut, merged as if real);
    libpng prints an error line of its own before failing. A JPEG is whole
    when an end-of-image marker follows its last start-of-scan (markers
    cannot occur inside entropy-coded data; a thumbnail's end marker comes
    before the main image's scans); a PNG when it ends with its IEND chunk.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read image {path}: {exc.strerror or exc}") from None
    if data[:2] == b"\xff\xd8":
        if data.rfind(b"\xff\xd9") < data.rfind(b"\xff\xda"):
            raise InputError(f"image {path} is truncated: its JPEG data stops before the end "
                             "of the picture")
    elif data[:8] == b"\x89PNG\r\n\x1a\n":
        if b"IEND" not in data[-12:]:
            raise InputError(f"image {path} is truncated: its PNG data has no end chunk")
        bad = _png_bad_chunk(data)
        if bad:
            raise InputError(f"image {path} is damaged: {bad}")


def _png_bad_chunk(data: bytes) -> str:
    """The first PNG chunk whose length or CRC-32 is wrong, described; "" if all hold.

    Each chunk is a 4-byte big-endian length, a 4-byte type, the data and a
    CRC-32 of type and data (PNG specification, ISO/IEC 15948, section 5.3).
    libpng refused such a file with a line of its own on stderr.
    """
    pos = 8
    while pos + 12 <= len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        end = pos + 12 + length
        if end > len(data):
            return f"its {kind.decode('latin-1')!r} chunk at byte {pos} runs past the end"
        crc = int.from_bytes(data[end - 4:end], "big")
        if zlib.crc32(data[pos + 4:end - 4]) != crc:
            return f"its {kind.decode('latin-1')!r} chunk at byte {pos} fails its checksum"
        if kind == b"IEND":
            return ""
        pos = end
    return "its chunks end without an end chunk"


def require_openexr() -> ModuleType:
    """The ``OpenEXR`` module, or a ConfigError saying which extra installs it."""
    try:
        import OpenEXR
    except ImportError:
        raise ConfigError(f"writing .exr needs the OpenEXR package: {STILLS_EXTRA}") from None
    return OpenEXR


def write_exr(path: str | os.PathLike[str], radiance: np.ndarray, *, half: bool = False) -> None:
    """Write a radiance map to an OpenEXR file as scanlines of R, G, B channels.

    The values are written as they are: linear radiance in the merge's
    units (the response divided by seconds), Rec. 709 / sRGB primaries
    (what OpenEXR assumes when a file names no chromaticities), lossless ZIP
    compression. The pixel type is 32-bit float by default, because the
    merge computes float32 and the file should hold exactly that: 16-bit
    half floats keep about 3 significant digits, hold nothing above 65504
    (a bright reading in a 1/8000 s exposure can pass it) and lose precision
    below 6.1e-5 (three shots of the desktop test bracket reach 7e-5).
    ``half=True`` writes half floats anyway, half the size and what many
    compositing tools expect, and refuses values above 65504; values under
    6e-8, half's smallest step, are written as 0 (scale the map first to
    keep them).

    The file is written under a temporary name beside ``path`` and renamed,
    so ``path`` is never left holding a partial file.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.exr`` file to write; an existing file is replaced.
    radiance : ndarray
        H×W×3 RGB (or H×W gray, written to all three channels), any real
        dtype, finite and non-negative values (converted to float32).
    half : bool
        Store 16-bit half floats instead of 32-bit floats.

    Raises
    ------
    OutputError
        The values are not finite, negative, too large for ``half``, or the
        file cannot be written.
    ConfigError
        The OpenEXR package is missing (``pip install 'vidclear[stills]'``).

    References
    ----------
    .. [1] F. Kainz, R. Bogart, P. Stanczyk, "Technical Introduction to
       OpenEXR", Industrial Light & Magic / Academy Software Foundation.
    """
    exr = require_openexr()
    arr = np.asarray(radiance)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.size == 0 or arr.dtype.kind not in "fiu":
        raise OutputError(f"cannot write {path}: expected an H×W×3 real array, got "
                          f"{arr.dtype} {arr.shape}")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    bad = int(np.count_nonzero(~np.isfinite(arr)) + np.count_nonzero(arr < 0))
    if bad:
        raise OutputError(f"cannot write {path}: {bad} radiance values are NaN, infinite "
                          "or negative")
    if half:
        top = float(arr.max())
        if top > _HALF_MAX:
            raise OutputError(f"cannot write {path} as half floats: radiance reaches "
                              f"{top:.6g}, above half's largest value {_HALF_MAX:g}")
        arr = arr.astype(np.float16)
    header = {"compression": exr.ZIP_COMPRESSION, "type": exr.scanlineimage}

    def write(tmp: Path) -> None:
        with exr.File(header, {"RGB": arr}) as f:
            f.write(str(tmp))

    _atomic(Path(path), write)


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` for a temporary name beside ``path``, then rename it to ``path``.

    Whatever goes wrong (an exception, Ctrl-C), the temporary file is
    removed and ``path`` is left as it was.
    """
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")

    def discard() -> None:  # on a read-only folder removing fails too (EROFS)
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)

    try:
        write(tmp)
        os.replace(tmp, path)
    except OutputError:
        discard()
        raise
    except (OSError, RuntimeError, cv2.error) as exc:
        discard()
        why = (exc.strerror if isinstance(exc, OSError) and exc.strerror
               else str(exc).replace(str(tmp), str(path)))  # name the file asked for
        raise OutputError(f"cannot write {path}: {why}") from None
    except BaseException:
        discard()
        raise


def write_image_atomic(path: str | os.PathLike[str], image: np.ndarray) -> None:
    """Write an RGB image via a temporary name and a rename.

    ``.exr`` goes through :func:`write_exr` (32-bit float); other names
    through OpenCV: uint8 for 8-bit formats, float32 for Radiance ``.hdr``.

    Raises
    ------
    OutputError
        The file cannot be written; ``path`` is left as it was.
    """
    p = Path(path)
    if p.suffix.lower() == ".exr":
        write_exr(p, image)
        return
    arr = np.ascontiguousarray(np.asarray(image)[:, :, ::-1])

    def write(tmp: Path) -> None:
        # encoded in memory and written here: OpenCV's own writes said only
        # "refused" on a full disk, after its log lines (trial 158 F5)
        try:
            ok, data = cv2.imencode(p.suffix or ".png", arr)
        except cv2.error:
            ok = False
        if not ok:
            raise OutputError(f"cannot write {p}: OpenCV cannot encode a {p.suffix or 'PNG'} "
                              "image")
        tmp.write_bytes(data.tobytes())

    _atomic(p, write)


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
