"""Stills I/O: EXIF exposure times in every number type and container, OpenEXR output.

The EXIF payloads are built here byte by byte (TIFF 6.0 / EXIF 2.32 layout),
so each number type is exactly what the test says, and Pillow / pillow-heif
write the JPEG, PNG, TIFF and HEIC files around them. OpenEXR files are read
back with FFmpeg's own EXR decoder (libavcodec, through PyAV), which shares no
code with the OpenEXR library vidclear writes them with.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import av
import cv2
import numpy as np
import OpenEXR
import pillow_heif
import pytest
from PIL import Image
from PIL.TiffImagePlugin import ImageFileDirectory_v2

from tests.hdr.conftest import DATA, _need
from vidclear.cli.main import main
from vidclear.errors import ConfigError, InputError, OutputError
from vidclear.hdr.io import exif_exposure_time, read_image, write_exr, write_image_atomic
from vidclear.hdr.merge import merge_Debevec1997
from vidclear.hdr.response import camera_response_Debevec1997

pillow_heif.register_heif_opener()  # lets Pillow write the HEIC test files

EXPOSURE_TIME, SHUTTER_SPEED_VALUE, EXIF_IFD = 0x829A, 0x9201, 0x8769
# EXIF/TIFF field types: code and the struct format of one value.
TYPES = {"BYTE": (1, "B"), "SHORT": (3, "H"), "LONG": (4, "I"), "RATIONAL": (5, "II"),
         "SSHORT": (8, "h"), "SLONG": (9, "i"), "SRATIONAL": (10, "ii"), "FLOAT": (11, "f"),
         "DOUBLE": (12, "d")}


def exif_blob(entries: list[tuple[int, str, tuple]], *, order: str = "<") -> bytes:
    """An EXIF payload: ``Exif\\0\\0``, a TIFF header, IFD0 holding only the Exif IFD
    pointer, and an Exif IFD holding ``entries`` (tag, type name, flat values)."""
    head = (b"II" if order == "<" else b"MM") + struct.pack(order + "HI", 42, 8)
    exif_at = 8 + 2 + 12 + 4
    ifd0 = struct.pack(order + "HHHII", 1, EXIF_IFD, 4, 1, exif_at) + struct.pack(order + "I", 0)
    data_at = exif_at + 2 + 12 * len(entries) + 4
    table, data = struct.pack(order + "H", len(entries)), b""
    for tag, name, values in sorted(entries):
        code, fmt = TYPES[name]
        payload = struct.pack(order + fmt * (len(values) // len(fmt)), *values)
        count = len(values) // len(fmt)
        if len(payload) <= 4:
            table += struct.pack(order + "HHI", tag, code, count) + payload.ljust(4, b"\0")
        else:
            table += struct.pack(order + "HHII", tag, code, count, data_at + len(data))
            data += payload + b"\0" * (len(payload) % 2)
    return b"Exif\x00\x00" + head + ifd0 + table + struct.pack(order + "I", 0) + data


def small_image(seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8))


# (type, values as stored, seconds expected)
NUMBER_TYPES = [
    ("RATIONAL", (1, 250), 0.004),
    ("SRATIONAL", (1, 250), 0.004),
    ("BYTE", (4,), 4.0),
    ("SHORT", (2,), 2.0),
    ("LONG", (30,), 30.0),
    ("SSHORT", (15,), 15.0),
    ("SLONG", (6,), 6.0),
    ("FLOAT", (1 / 60,), float(np.float32(1 / 60))),
    ("DOUBLE", (1 / 3,), 1 / 3),
]
CONTAINERS = [("JPEG", "jpg"), ("PNG", "png"), ("HEIF", "heic")]


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("fmt,ext", CONTAINERS)
@pytest.mark.parametrize("name,values,seconds", NUMBER_TYPES)
def test_exposure_time_of_every_number_type_in_every_container(tmp_path, name, values, seconds,
                                                               fmt, ext, order):
    blob = exif_blob([(EXPOSURE_TIME, name, values)], order=order)
    path = tmp_path / f"shot.{ext}"
    small_image().save(path, fmt, exif=blob)
    assert blob[6:] in path.read_bytes()  # the payload went in as built, type and all
    assert exif_exposure_time(path) == pytest.approx(seconds, rel=1e-12)


@pytest.mark.parametrize("name,values,seconds", NUMBER_TYPES)
def test_exposure_time_of_every_number_type_in_a_tiff(tmp_path, name, values, seconds):
    """TIFF/EP keeps ExposureTime in the image's own IFD: Pillow writes it with our type."""
    code = TYPES[name][0]
    ifd = ImageFileDirectory_v2()
    ifd.tagtype[EXPOSURE_TIME] = code
    ifd[EXPOSURE_TIME] = values[0] / values[1] if len(values) == 2 else values[0]
    path = tmp_path / "shot.tif"
    small_image().save(path, tiffinfo=ifd)
    with Image.open(path) as im:
        assert im.tag_v2.tagtype[EXPOSURE_TIME] == code
    assert exif_exposure_time(path) == pytest.approx(seconds, rel=1e-6)


def test_opencvs_own_warnings_about_a_tiffs_exposure_time_are_not_printed(tmp_path, capfd):
    # libtiff, through OpenCV, warned of the unknown tag 33434 (ExposureTime
    # in IFD0) on every file, a raw "[ WARN:0@...] TIFF_Warning" line among
    # vidclear's own (trial 118 F4); the time itself is read, and the image
    from vidclear.cli.hdr import _bits
    from vidclear.hdr.io import read_image

    ifd = ImageFileDirectory_v2()
    ifd[EXPOSURE_TIME] = 1 / 8
    path = tmp_path / "shot.tif"
    small_image().save(path, tiffinfo=ifd)
    capfd.readouterr()
    assert read_image(path).shape[2] == 3 and _bits(path) == 8
    assert exif_exposure_time(path) == pytest.approx(1 / 8)
    err = capfd.readouterr().err
    assert "WARN" not in err and "TIFF" not in err, err


def test_exposure_time_in_a_tiffs_exif_ifd(tmp_path):
    ifd = ImageFileDirectory_v2()
    ifd[EXIF_IFD] = {EXPOSURE_TIME: 1 / 60}  # a camera's layout: IFD0 -> Exif IFD
    path = tmp_path / "shot.tif"
    small_image().save(path, tiffinfo=ifd)
    with Image.open(path) as im:
        assert EXPOSURE_TIME not in im.tag_v2
    assert exif_exposure_time(path) == pytest.approx(1 / 60, rel=1e-9)


@pytest.mark.parametrize("entries,seconds", [
    # APEX: t = 2 ** -Tv; 6.965784 is what cameras write for 1/125 s
    ([(SHUTTER_SPEED_VALUE, "SRATIONAL", (6965784, 1000000))], 2 ** -6.965784),
    ([(SHUTTER_SPEED_VALUE, "SRATIONAL", (-3, 1))], 8.0),  # long exposures: Tv < 0
    ([(SHUTTER_SPEED_VALUE, "RATIONAL", (5, 1))], 1 / 32),
    # ExposureTime wins over a (rounded) ShutterSpeedValue
    ([(EXPOSURE_TIME, "RATIONAL", (1, 100)), (SHUTTER_SPEED_VALUE, "SRATIONAL", (7, 1))], 0.01),
    # unusable ExposureTimes fall back to the APEX value
    ([(EXPOSURE_TIME, "RATIONAL", (1, 0)), (SHUTTER_SPEED_VALUE, "SRATIONAL", (5, 1))], 1 / 32),
    ([(EXPOSURE_TIME, "SRATIONAL", (-1, 50)), (SHUTTER_SPEED_VALUE, "SRATIONAL", (2, 1))], 0.25),
    ([(EXPOSURE_TIME, "FLOAT", (float("nan"),)), (SHUTTER_SPEED_VALUE, "SRATIONAL", (0, 1))],
     1.0),
    # and with nothing usable there is no time
    ([(EXPOSURE_TIME, "RATIONAL", (0, 1))], None),
    ([(EXPOSURE_TIME, "DOUBLE", (float("inf"),))], None),
    ([(0x829D, "RATIONAL", (8, 1))], None),  # an FNumber, no time
])
def test_shutter_speed_value_and_unusable_values(tmp_path, entries, seconds):
    path = tmp_path / "shot.jpg"
    small_image().save(path, "JPEG", exif=exif_blob(entries))
    got = exif_exposure_time(path)
    assert got == (None if seconds is None else pytest.approx(seconds, rel=1e-12))


def test_files_without_or_with_broken_exif_have_no_time(tmp_path):
    plain = tmp_path / "plain.png"
    small_image().save(plain)
    assert exif_exposure_time(plain) is None
    blob = exif_blob([(EXPOSURE_TIME, "RATIONAL", (1, 250))])
    # cut inside IFD0, and right after it (the Exif IFD pointer then points past the end)
    for cut in (30, 32):
        broken = tmp_path / f"broken{cut}.jpg"
        small_image().save(broken, "JPEG", exif=blob[:cut])
        assert exif_exposure_time(broken) is None  # no warning escapes (warnings are errors)


def test_real_photos(frobisher):
    """The colour-hdri Frobisher JPEGs carry RATIONAL times; the tripod brackets none."""
    rows = [ln.split() for ln in (frobisher / "exposure_times.txt").read_text().splitlines()
            if ln.strip() and not ln.startswith("#")]
    assert len(rows) == 3
    for name, seconds, *_ in rows:
        assert exif_exposure_time(frobisher / name) == float(seconds)
    bracket = _need(DATA / "brackets" / "desktop")
    assert exif_exposure_time(bracket / "DSC_0104.jpg") is None


def test_unreadable_files_are_input_errors(tmp_path):
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"not an image at all")
    with pytest.raises(InputError, match="junk.jpg"):
        exif_exposure_time(junk)
    with pytest.raises(InputError, match="no such file"):
        exif_exposure_time(tmp_path / "missing.jpg")


def test_heic_pixels_are_read_through_pillow_heif(tmp_path):
    rgb = np.zeros((32, 48, 3), np.uint8)
    rgb[:, :24] = (200, 40, 20)
    rgb[:, 24:] = (30, 90, 220)
    path = tmp_path / "shot.heic"
    Image.fromarray(rgb).save(path, quality=95)
    got = read_image(path)
    assert got.shape == rgb.shape and got.dtype == np.uint8
    # lossy HEVC with 4:2:0 chroma: compare away from the colour edge
    assert np.abs(got[:, 4:20].astype(int) - rgb[:, 4:20]).max() <= 8
    assert np.abs(got[:, 28:].astype(int) - rgb[:, 28:]).max() <= 8
    # turned by EXIF orientation 6 (90° clockwise) once, as OpenCV turns a JPEG
    exif = Image.Exif()
    exif[0x0112] = 6
    for ext in ("heic", "jpg"):
        Image.fromarray(rgb).save(tmp_path / f"turned.{ext}", quality=95, exif=exif.tobytes())
    heic, jpg = read_image(tmp_path / "turned.heic"), read_image(tmp_path / "turned.jpg")
    assert heic.shape == jpg.shape == (48, 32, 3)
    assert np.abs(heic[4:20].astype(int) - jpg[4:20]).max() <= 10  # the red half on top
    assert np.abs(heic[4:20].astype(int) - (200, 40, 20)).max() <= 10


def test_missing_extras_say_what_to_install(tmp_path, monkeypatch):
    jpg, heic = tmp_path / "a.jpg", tmp_path / "a.heic"
    small_image().save(jpg, exif=exif_blob([(EXPOSURE_TIME, "RATIONAL", (1, 8))]))
    small_image().save(heic)
    with monkeypatch.context() as m:
        m.setitem(sys.modules, "pillow_heif", None)  # as if pillow-heif were not installed
        with pytest.raises(ConfigError, match=r"pillow-heif: pip install 'vidclear\[stills\]'") \
                as err:
            exif_exposure_time(heic)
        assert "--times" not in str(err.value)  # the pixels need pillow-heif as well
        with pytest.raises(ConfigError, match="pillow-heif"):
            read_image(heic)
        assert exif_exposure_time(jpg) == 0.125  # Pillow alone reads the rest
    with monkeypatch.context() as m:
        m.setitem(sys.modules, "PIL", None)
        with pytest.raises(ConfigError, match=r"Pillow: pip install 'vidclear\[stills\]'.*--times"):
            exif_exposure_time(jpg)
    with monkeypatch.context() as m:
        m.setitem(sys.modules, "OpenEXR", None)
        with pytest.raises(ConfigError, match=r"OpenEXR package: pip install 'vidclear\[stills\]'"):
            write_exr(tmp_path / "r.exr", np.ones((4, 4, 3), np.float32))
    assert not list(tmp_path.glob("*.exr"))


# --- OpenEXR ----------------------------------------------------------------------------

def read_exr_ffmpeg(path: Path) -> np.ndarray:
    """H×W×3 RGB float32 as FFmpeg's EXR decoder (libavcodec/exr.c) reads ``path``."""
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
    dtype = {"gbrpf32le": np.float32, "gbrpf16le": np.float16}[frame.format.name]
    size = np.dtype(dtype).itemsize
    g, b, r = (np.frombuffer(p, dtype).reshape(frame.height, p.line_size // size)[:, :frame.width]
               for p in frame.planes)
    return np.stack([r, g, b], axis=-1).astype(np.float32)


def known_radiance() -> np.ndarray:
    """Every power of two from 2**-30 to 2**30 (past half's range both ways), distinct
    per channel, and random values between."""
    rng = np.random.default_rng(11)
    rad = np.exp2(rng.uniform(-20.0, 20.0, (17, 23, 3))).astype(np.float32)
    k = np.arange(-30, 31, dtype=np.float32)
    rad[0, :, 0] = np.exp2(k[:23])
    rad[1, :, 1] = np.exp2(k[23:46])
    rad[2, :15, 2] = np.exp2(k[46:])
    rad[3, :3] = [[1.0, 0.0, 3.0], [70000.0, 1e-7, 0.5], [1 / 3, 2 / 3, 1.0]]
    return rad


def test_exr_round_trip_is_exact_in_float(tmp_path):
    rad = known_radiance()
    path = tmp_path / "scene.exr"
    write_exr(path, rad)
    np.testing.assert_array_equal(read_exr_ffmpeg(path), rad)
    with OpenEXR.File(str(path), separate_channels=True) as f:  # the layout, by the library
        assert f.header()["compression"] == OpenEXR.ZIP_COMPRESSION
        channels = f.channels()
        assert sorted(channels) == ["B", "G", "R"]
        assert {c.type() for c in channels.values()} == {OpenEXR.FLOAT}
        np.testing.assert_array_equal(channels["R"].pixels, rad[:, :, 0])
    assert [p.name for p in tmp_path.iterdir()] == ["scene.exr"]  # no temporary left


def test_exr_half_rounds_to_half_and_refuses_what_half_cannot_hold(tmp_path):
    rad = np.minimum(known_radiance(), 65504.0)
    path = tmp_path / "half.exr"
    write_exr(path, rad, half=True)
    np.testing.assert_array_equal(read_exr_ffmpeg(path), rad.astype(np.float16).astype(np.float32))
    with pytest.raises(OutputError, match="65504"):
        write_exr(tmp_path / "big.exr", known_radiance(), half=True)
    assert not (tmp_path / "big.exr").exists()


def test_exr_gray_and_non_contiguous_input(tmp_path):
    rad = known_radiance()
    write_exr(tmp_path / "gray.exr", rad[:, :, 1])
    np.testing.assert_array_equal(read_exr_ffmpeg(tmp_path / "gray.exr"),
                                  np.repeat(rad[:, :, 1:2], 3, axis=2))
    view = rad[::2, ::-1]
    write_image_atomic(tmp_path / "view.exr", view)  # the .exr route of the generic writer
    np.testing.assert_array_equal(read_exr_ffmpeg(tmp_path / "view.exr"), view)


@pytest.mark.parametrize("bad,match", [
    (np.full((4, 4, 3), np.nan, np.float32), "NaN"),
    (-np.ones((4, 4, 3), np.float32), "negative"),
    (np.ones((4, 4, 4), np.float32), "H×W×3"),
    (np.ones((4, 4, 3), complex), "H×W×3"),
])
def test_exr_refuses_bad_radiance_and_keeps_the_old_file(tmp_path, bad, match):
    path = tmp_path / "scene.exr"
    path.write_bytes(b"precious")
    with pytest.raises(OutputError, match=match):
        write_exr(path, bad)
    assert path.read_bytes() == b"precious"


@pytest.mark.parametrize("failure", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_exr_write_interrupted_leaves_no_broken_file(tmp_path, monkeypatch, failure):
    class FailingFile:  # writes part of the file, then fails as a full disk or Ctrl-C would
        def __init__(self, header, channels):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def write(self, name):
            Path(name).write_bytes(b"v/1\x01partial")
            raise failure

    path = tmp_path / "scene.exr"
    path.write_bytes(b"precious")
    monkeypatch.setattr(OpenEXR, "File", FailingFile)
    with pytest.raises(OutputError if isinstance(failure, Exception) else KeyboardInterrupt) as err:
        write_exr(path, np.ones((4, 4, 3), np.float32))
    if isinstance(failure, Exception):
        assert str(err.value) == f"cannot write {path}: disk full"
    assert path.read_bytes() == b"precious"
    assert [p.name for p in tmp_path.iterdir()] == ["scene.exr"]


def test_exr_unwritable_place_names_the_requested_file(tmp_path):
    target = tmp_path / "no-such-dir" / "scene.exr"
    with pytest.raises(OutputError, match="cannot write .*no-such-dir/scene.exr") as err:
        write_exr(target, np.ones((4, 4, 3), np.float32))
    assert ".tmp" not in str(err.value)


# --- vidclear hdr -------------------------------------------------------------------------

def _desktop(picks: list[int], step: int = 2) -> tuple[list[np.ndarray], list[float]]:
    d = _need(DATA / "brackets" / "desktop")
    rows = sorted((ln.split() for ln in (d / "image_list.txt").read_text().splitlines()
                   if ln.strip() and not ln.startswith("#")), key=lambda r: float(r[1]))
    rows = [rows[i] for i in picks]
    imgs = [np.ascontiguousarray(cv2.imread(str(d / r[0]))[::step, ::step, ::-1]) for r in rows]
    return imgs, [float(r[1]) for r in rows]


def test_cli_writes_exr_of_a_real_bracket_with_times_from_exif(tmp_path, capsys):
    """The desktop tripod bracket (1/32 s, 1/2 s, 8 s) carries no EXIF: copies of its
    pixels go into a PNG, a TIFF and a PNG with each time in a different number type."""
    imgs, times = _desktop([2, 6, 10])
    assert times == [0.03125, 0.5, 8.0]
    tagged = [tmp_path / "short.png", tmp_path / "mid.tif", tmp_path / "long.png"]
    Image.fromarray(imgs[0]).save(tagged[0], exif=exif_blob(
        [(EXPOSURE_TIME, "RATIONAL", (1, 32))]))
    ifd = ImageFileDirectory_v2()
    ifd.tagtype[EXPOSURE_TIME] = TYPES["FLOAT"][0]
    ifd[EXPOSURE_TIME] = 0.5
    Image.fromarray(imgs[1]).save(tagged[1], tiffinfo=ifd)
    Image.fromarray(imgs[2]).save(tagged[2], exif=exif_blob(
        [(SHUTTER_SPEED_VALUE, "SRATIONAL", (-3, 1))], order=">"))
    out = tmp_path / "scene.exr"
    # in any order of the files
    assert main(["hdr", *map(str, tagged[::-1]), "-o", str(out), "--tonemap", "reinhard"]) == 0
    assert "wrote" in capsys.readouterr().out
    assert (tmp_path / "scene_reinhard.png").exists()
    got = read_exr_ffmpeg(out)
    # what the merge computes from the same pixels and the true times (tripod: no shift)
    response = camera_response_Debevec1997(imgs, times)
    np.testing.assert_array_equal(got, merge_Debevec1997(imgs, times, response=response))
    assert got.shape == (340, 512, 3) and got.min() > 0 and got.max() / got.min() > 1e4
    leftovers = {p.name for p in tmp_path.iterdir()} - {p.name for p in tagged}
    assert leftovers == {"scene.exr", "scene_reinhard.png"}


def _one_error(capsys) -> str:
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and err[0].startswith("vidclear: error: "), err
    return err[0]


def test_cli_bad_input_gives_one_line(tmp_path, capsys, monkeypatch):
    good = [tmp_path / "a.png", tmp_path / "b.png"]
    for i, p in enumerate(good):
        Image.fromarray(np.full((16, 16, 3), 60 * (i + 1), np.uint8)).save(p)
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"\xff\xd8\xff\xe0 truncated")
    out = tmp_path / "o.exr"
    assert main(["hdr", str(junk), str(good[0]), "-o", str(out)]) == 1  # EXIF: cannot open
    assert "junk.jpg" in _one_error(capsys)
    assert main(["hdr", str(good[0]), str(junk), "--times", "1", "2", "-o", str(out)]) == 1
    assert "junk.jpg" in _one_error(capsys)  # pixels: cannot decode
    assert main(["hdr", *map(str, good), "-o", str(out)]) == 1
    assert "no usable EXIF exposure time: give --times" in _one_error(capsys)
    assert main(["hdr", *map(str, good), "--times", "1", "2", "-o", str(tmp_path / "o.tiff")]) == 2
    assert ".hdr or .exr" in _one_error(capsys)
    monkeypatch.setitem(sys.modules, "OpenEXR", None)  # as if the extra were not installed
    assert main(["hdr", *map(str, good), "--times", "1", "2", "-o", str(out)]) == 2
    assert "vidclear[stills]" in _one_error(capsys)
    monkeypatch.setitem(sys.modules, "PIL", None)
    assert main(["hdr", *map(str, good), "-o", str(tmp_path / "o.hdr")]) == 2
    line = _one_error(capsys)
    assert "vidclear[stills]" in line and "--times" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "b.png", "junk.jpg"]


@pytest.mark.parametrize("ext", [".jpg", ".png"])
def test_a_truncated_image_is_refused_before_it_is_decoded(tmp_path, ext, capfd):
    # libjpeg decoded a cut JPEG (grey band, red blotches) and the bracket was
    # merged, exit 0; libpng printed its own error line before vidclear's.
    from vidclear.errors import InputError
    from vidclear.hdr.io import read_image

    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (64, 96, 3), dtype=np.uint8)
    data = cv2.imencode(ext, img)[1].tobytes()
    whole, cut = tmp_path / f"whole{ext}", tmp_path / f"cut{ext}"
    whole.write_bytes(data)
    cut.write_bytes(data[: len(data) * 2 // 3])
    assert read_image(whole).shape == (64, 96, 3)
    with pytest.raises(InputError, match="truncated"):
        read_image(cut)
    assert capfd.readouterr().err == ""  # no decoder's own lines


def test_a_png_with_a_bad_checksum_is_refused_in_one_line(tmp_path, capfd):
    # Whole (it ends with IEND) but one byte of its pixel data flipped: libpng
    # printed "libpng error: IDAT: CRC error" before vidclear's own message.
    from vidclear.errors import InputError
    from vidclear.hdr.io import read_image

    rng = np.random.default_rng(1)
    data = bytearray(cv2.imencode(".png", rng.integers(0, 255, (64, 96, 3), np.uint8))[1])
    at = data.find(b"IDAT") + 20
    data[at] ^= 0xFF
    bad = tmp_path / "bad.png"
    bad.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"damaged: its 'IDAT' chunk at byte \d+ fails its "
                                         "checksum"):
        read_image(bad)
    assert capfd.readouterr().err == ""


def _bracket_files(tmp_path: Path) -> list[Path]:
    ramp = np.linspace(0.0, 4.0, 96)[None, :, None] * np.ones((64, 1, 3))
    files = []
    for t in (0.25, 1.0, 4.0):
        p = tmp_path / f"b_{t}.png"
        cv2.imwrite(str(p), (np.clip(ramp * t, 0, 1) ** (1 / 2.2) * 255).astype(np.uint8))
        files.append(p)
    return files


def test_hdr_outputs_that_cannot_be_made_are_refused_before_the_merge(tmp_path, capsys,
                                                                      monkeypatch):
    # A read-only folder ended in "internal error (OSError: Read-only file
    # system ...)", exit 3, after the merge; with --response-plot there, the
    # radiance and tone-mapped files were written first (trial 37).
    files = [str(p) for p in _bracket_files(tmp_path)]
    merged = []
    monkeypatch.setattr("vidclear.hdr.merge.merge_Debevec1997",
                        lambda *a, **k: merged.append(1) or merge_Debevec1997(*a, **k))
    for extra in (["-o", "/proc/x.hdr"],
                  ["-o", str(tmp_path / "ok.hdr"), "--response-plot", "/proc/r.png"],
                  ["-o", str(tmp_path / "no" / "x.hdr")]):
        rc = main(["hdr", *files, "--times", "0.25", "1", "4", *extra])
        err = capsys.readouterr().err
        assert rc == 1 and len(err.strip().splitlines()) == 1, err
        assert "internal error" not in err and ("cannot create files in" in err
                                                or "folder does not exist" in err), err
    assert not merged and not list(tmp_path.glob("ok*"))


def test_a_failed_write_whose_cleanup_fails_too_is_one_output_error(tmp_path, monkeypatch):
    # removing the temporary file raised EROFS itself, past the OutputError
    import errno
    import os

    def refuse(*a, **k):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(Path, "write_bytes", refuse)
    monkeypatch.setattr(Path, "unlink", refuse)
    with pytest.raises(OutputError, match="cannot write .*x.png: Read-only file system"):
        write_image_atomic(tmp_path / "x.png", np.zeros((4, 4, 3), np.uint8))


def test_a_full_disk_is_named_as_such(tmp_path, monkeypatch, capfd):
    # OpenCV wrote the file itself: a full disk came out as its log lines
    # ("RGBE write error", "libpng error: Write Error") and "OpenCV refused
    # the file" (trial 158 F5). The picture is encoded in memory and written
    # here, so the system's reason is the message, and nothing is left.
    import errno
    import os

    real = Path.write_bytes

    def full(self, data):
        real(self, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Path, "write_bytes", full)
    for name, image in (("x.hdr", np.ones((4, 4, 3), np.float32)),
                        ("x.png", np.zeros((4, 4, 3), np.uint8))):
        with pytest.raises(OutputError, match=rf"^cannot write .*{name}: No space left on "
                                              "device$"):
            write_image_atomic(tmp_path / name, image)
    assert list(tmp_path.iterdir()) == []
    assert capfd.readouterr().err == ""


def test_a_bad_exposure_time_is_named_as_typed(tmp_path, capsys):
    # "exposure times must be finite and > 0, got [0.0, 0.25, 1.0]" showed the
    # times sorted, not as typed (trial 37).
    files = [str(p) for p in _bracket_files(tmp_path)]
    for bad in ("0", "-4", "nan", "inf", "1/0", "x"):
        with pytest.raises(SystemExit) as exit_:
            main(["hdr", *files, "--times", "0.25", bad, "1", "-o", str(tmp_path / "x.hdr")])
        err = capsys.readouterr().err
        assert exit_.value.code == 2
        assert f"invalid exposure time {bad!r}: expected seconds > 0" in err, err
    assert not list(tmp_path.glob("x*"))


def test_a_folder_given_as_an_exposure_is_named_a_folder(tmp_path, capsys):
    # "cannot read image o: no such file" for a folder that exists (trial 37);
    # a folder now stands for its photos (trial 54), and one without any says so
    (tmp_path / "o").mkdir()
    files = [str(p) for p in _bracket_files(tmp_path)]
    for extra in (["--times", "0.25", "1", "4"], []):
        rc = main(["hdr", str(tmp_path / "o"), *files[1:], *extra, "-o", str(tmp_path / "x.hdr")])
        err = capsys.readouterr().err
        assert rc == 1 and f"folder {tmp_path / 'o'} holds no photos" in err, err
    # a pattern that matches nothing, as the shell hands it on, was "hdr needs
    # at least 2 exposures" (trial 132 F6)
    rc = main(["hdr", str(tmp_path / "nomatch" / "e*.png"), "--times", "1", "-o",
               str(tmp_path / "x.hdr")])
    err = capsys.readouterr().err
    assert rc == 1 and err.strip() == f"vidclear: error: no file matches {tmp_path}/nomatch/e*.png"


def test_sixteen_bit_exposures_are_said_to_be_read_as_8_bits(tmp_path, capsys):
    # reduced to 8 bits without a note (trial 37)
    files = _bracket_files(tmp_path)
    deep = tmp_path / "deep.png"
    cv2.imwrite(str(deep), cv2.imread(str(files[1])).astype(np.uint16) * 257)
    rc = main(["hdr", str(files[0]), str(deep), str(files[2]), "--times", "0.25", "1", "4",
               "-o", str(tmp_path / "x.hdr"), "--tonemap", "none"])
    err = capsys.readouterr().err
    assert rc == 0 and f"{deep}: is 16-bit, read as 8 bits" in err, err
    assert str(files[0]) not in err
    # -q, as run takes it: no "wrote" line, the note still (trial 133 F3)
    rc = main(["hdr", str(files[0]), str(deep), str(files[2]), "--times", "0.25", "1", "4",
               "-o", str(tmp_path / "q.hdr"), "--tonemap", "none", "-q"])
    out, err = capsys.readouterr()
    assert rc == 0 and out == "" and "read as 8 bits" in err, (out, err)
    assert (tmp_path / "q.hdr").exists()


def test_outputs_that_are_folders_are_named_for_what_they_are(tmp_path, capsys):
    # "give a file name such as o/dd_reinhard.png/out.mp4": a name the user never
    # gave, and .mp4 for an .hdr output (trial 38)
    files = [str(p) for p in _bracket_files(tmp_path)]
    (tmp_path / "o" / "dd_reinhard.png").mkdir(parents=True)
    (tmp_path / "o" / "ee.hdr").mkdir()
    for out, want in (("dd.hdr", "the tone-mapped output (from -o dd.hdr) "
                                 f"{tmp_path / 'o' / 'dd_reinhard.png'} is a folder: choose "
                                 "another -o"),
                      ("ee.hdr", f"give a file name such as {tmp_path / 'o' / 'ee.hdr'}"
                                 "/out.hdr")):
        rc = main(["hdr", *files, "--times", "0.25", "1", "4", "-o",
                   str(tmp_path / "o" / out)])
        err = capsys.readouterr().err
        assert rc == 1 and want in err and "out.mp4" not in err, err


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_ctrl_c_while_writing_the_tone_maps_names_what_was_written(tmp_path, capsys,
                                                                   monkeypatch, how):
    # Ctrl-C left the radiance map and 4 of 6 tone maps and said only
    # "interrupted" (trial 60): each file is whole, the set is not. SIGTERM
    # killed it with no word, at times leaving ".NAME.tmp.png" (trial 61).
    import os
    import signal

    from vidclear.hdr import tonemap

    imgs, times = _desktop([2, 6, 10])
    paths = []
    for img, name in zip(imgs, ("a.png", "b.png", "c.png"), strict=True):
        paths.append(tmp_path / name)
        Image.fromarray(img).save(paths[-1])
    def stopped(radiance):
        if how == "sigterm":
            os.kill(os.getpid(), signal.SIGTERM)
        raise KeyboardInterrupt  # (SIGTERM's handler raises it first)

    class Unhandled(Exception):
        pass

    def unhandled(signum, frame):  # what a SIGTERM vidclear does not take would meet
        raise Unhandled

    monkeypatch.setitem(tonemap.OPERATORS, "drago", stopped)
    out = tmp_path / "scene.hdr"
    before = signal.signal(signal.SIGTERM, unhandled)
    try:
        rc = main(["hdr", *map(str, paths), "--times", *map(str, times), "-o", str(out),
                   "--tonemap", "reinhard,drago,mantiuk"])
    finally:
        signal.signal(signal.SIGTERM, before)
    err = capsys.readouterr().err
    assert rc == (143 if how == "sigterm" else 130), err
    done, left = out, [tmp_path / "scene_drago.png", tmp_path / "scene_mantiuk.png"]
    assert (f"vidclear: interrupted: wrote {done}, {tmp_path / 'scene_reinhard.png'}; "
            f"not written: {left[0]}, {left[1]}") in err, err
    assert done.exists() and not any(p.exists() for p in left)
    assert not list(tmp_path.glob(".*.tmp*"))


def test_a_float_tiff_exposure_is_named_for_what_it_holds(tmp_path, capfd):
    # OpenCV printed its own WARN line, then vidclear called the file "not an
    # image OpenCV can decode", which it is (read unchanged, trial 74).
    path = tmp_path / "f0.tif"
    assert cv2.imwrite(str(path), np.random.default_rng(0).random((16, 24, 3), np.float32))
    assert cv2.imread(str(path), cv2.IMREAD_UNCHANGED).dtype == np.float32
    with pytest.raises(InputError, match=r"f0\.tif: it holds floating-point samples .* the "
                                         r"camera's 8- or 16-bit pictures"):
        read_image(path)
    captured = capfd.readouterr()
    assert "WARN" not in captured.err + captured.out


def test_exposures_of_two_scenes_are_warned_of(tmp_path, capsys):
    # Two unrelated photos of one size merged as a bracket, exit 0 and no
    # word (trial 132 F5). The desktop bracket's exposures in a row agree
    # (their median threshold bitmaps differ on 1.5 % of the pixels at most);
    # a street exposure of the same camera put among them does not (over 50 %).
    imgs, times = _desktop([2, 6, 10])
    street = _need(DATA / "brackets" / "street")
    other = np.ascontiguousarray(cv2.imread(str(sorted(street.glob("*.jpg"))[1]))[::2, ::2, ::-1])
    files = []
    for name, im in (("a", imgs[0]), ("b", imgs[1]), ("c", imgs[2]), ("x", other)):
        files.append(tmp_path / f"{name}.png")
        cv2.imwrite(str(files[-1]), im[:, :, ::-1])
    args = ["--times", *map(str, times), "--no-align"]
    assert main(["hdr", *map(str, files[:3]), "-o", str(tmp_path / "same.hdr"), *args]) == 0
    assert "may not show one scene" not in capsys.readouterr().err
    assert main(["hdr", str(files[0]), str(files[3]), str(files[2]), "-o",
                 str(tmp_path / "mixed.hdr"), *args]) == 0
    err = capsys.readouterr().err
    assert f"{files[0]} and {files[3]} may not show one scene" in err, err


def test_a_time_off_by_a_stop_is_warned_of_and_named(tmp_path, capsys):
    # A time one stop off (1/16 s written for a 1/8 s shot) merged without a
    # word, the radiance 36 times as far off as with the right time (trial
    # 155 F5); the checks before only caught errors of several stops.
    from tests.hdr.conftest import scene, shoot

    light = scene(120, 160, seed=5, span=8.0)
    times = [1 / 32, 1 / 8, 1 / 2, 2]
    files = []
    for k, im in enumerate(shoot([light] * 4, times)):
        files.append(tmp_path / f"img_{k}.png")
        cv2.imwrite(str(files[-1]), im[:, :, ::-1])
    out = str(tmp_path / "m.hdr")
    assert main(["hdr", *map(str, files), "-o", out, "--times", *map(str, times)]) == 0
    assert "warning" not in capsys.readouterr().err
    assert main(["hdr", *map(str, files), "-o", out, "-y", "--times", "1/32", "1/16", "1/2",
                 "2"]) == 0
    err = capsys.readouterr().err
    assert (f"vidclear: warning: {files[1]} looks 1.0 stop longer than its exposure time "
            "(0.0625 s): the pictures put it near 0.125 s") in err, err
    assert len(err.strip().splitlines()) == 1, err
    # three exposures: two steps, whose ratio is all the pictures can tell
    assert main(["hdr", *map(str, files[:3]), "-o", out, "-y", "--times", "1/32", "1/8",
                 "1"]) == 0
    err = capsys.readouterr().err
    assert (f"the pictures put the steps from {files[0]} to {files[1]} and on to {files[2]} "
            "in the ratio 1.00, the times (0.03125, 0.125, 1 s) in the ratio 1.50") in err, err



def test_times_off_in_two_places_are_said_to_be_undecidable(tmp_path, capsys):
    # The first and last of five exposures typed 1.9x off read like the two
    # middle steps gone wrong: those, right, were named (trial 157 F4).
    from tests.hdr.conftest import scene, shoot

    light = scene(120, 160, seed=6, span=8.0)
    times = [1 / 16, 1 / 8, 1 / 4, 1 / 2, 1]
    files = []
    for k, im in enumerate(shoot([light] * 5, times)):
        files.append(tmp_path / f"img_{k}.png")
        cv2.imwrite(str(files[-1]), im[:, :, ::-1])
    typed = [1 / 16 * 1.9, 1 / 8, 1 / 4, 1 / 2, 1 / 1.9]
    assert main(["hdr", *map(str, files), "-o", str(tmp_path / "m.hdr"), "--times",
                 *map(str, typed)]) == 0
    err = capsys.readouterr().err
    assert ("do not follow their times in more than one place, and which times are wrong the "
            "pictures cannot tell: in proportion the pictures read them 1.00 : 1.00 : 1.00 : "
            "1.00, the times 0.07 : 1.00 : 1.00 : 0.07") in err, err
    assert "looks" not in err and len(err.strip().splitlines()) == 1, err


def test_a_set_cut_short_by_a_full_disk_says_what_was_written(tmp_path, monkeypatch, capsys):
    # The radiance map and a tone-mapped picture written, the next picture
    # failed on a full disk: the error named that file only, and the two
    # whole files left went unmentioned (trial 159 F1).
    import errno
    import os

    files = [str(p) for p in _bracket_files(tmp_path)]
    real = Path.write_bytes

    def full(self, data):
        if "drago" in self.name:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full)
    out = tmp_path / "h.hdr"
    assert main(["hdr", *files, "--times", "0.25", "1", "4", "-o", str(out), "--tonemap",
                 "reinhard,drago"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-2:] == [
        f"vidclear: note: wrote {out}, {tmp_path / 'h_reinhard.png'} (each whole); not "
        f"written: {tmp_path / 'h_drago.png'}",
        f"vidclear: error: cannot write {tmp_path / 'h_drago.png'}: No space left on device"], err
    assert out.exists() and not (tmp_path / "h_drago.png").exists()
