"""Encode frames to a file with PyAV, copying audio and subtitles unchanged.

The file is written under a temporary name beside the requested one and
renamed when :meth:`EncoderSink.close` has written the trailer, so a failed
run never leaves a broken file under the name the user asked for. A symbolic
link is written through, as FFmpeg does: the file it points to is replaced and
the link stays. A target that is not a regular file (``/dev/null``, a FIFO) is
written directly, unseekably, and never renamed over. A crash-safe
container (fragmented MP4, Matroska, MPEG-TS) is playable up to the last
fragment even after a hard kill; it then remains under the temporary name,
which is printed when the sink opens.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import io
import math
import os
import stat
import sys
from collections import Counter
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from vidclear.config.sections import OutputConfig, parse_bitrate
from vidclear.core.convert import BT601, colour_standard, rgb_to_av
from vidclear.core.frame import Frame
from vidclear.core.source import Chapter, SidePackets, StreamInfo
from vidclear.errors import ArrayError, ConfigError, OutputError
from vidclear.io.joins import FORWARD_GAP_S, Timeline, joinable
from vidclear.io.orientation import KEEPS_DISPLAY_MATRIX, describe
from vidclear.io.side_data import frame_side_data
from vidclear.io.sinks.audio import (
    FLV_RATES,
    OGG_AUDIO,
    AudioTranscode,
    is_ogg,
    ordered_layout,
    own_audio_codec,
)
from vidclear.io.sinks.marks import ENCODING_TAGS, keep_marks
from vidclear.io.sinks.paths import is_special_file, partial_path, publish, wait_for_reader
from vidclear.io.sinks.subtitles import SubtitleConvert, text_target

__all__ = ["EncoderSink", "StreamsRefused"]

_CRF_ENCODERS = ("libx264", "libx264rgb", "libx265", "libvpx", "libvpx-vp9", "libaom-av1",
                 "libsvtav1")
# x264 and x265, which take -preset and -bf (libx264rgb is libx264 on RGB:
# it was written at FFmpeg's default bitrate, its crf and preset unused)
_X26X = ("libx264", "libx264rgb", "libx265")
_DEFAULT_CODEC = OutputConfig().codec
_DEFAULT_PIX_FMT = OutputConfig().pix_fmt
# x264's presets that ask speed first: libvpx runs in its real-time mode for them
_FAST_PRESETS = ("ultrafast", "superfast", "veryfast")
_BT709, _BT2020 = 1, 9  # AVCOL_PRI_* (BT.709 is 1 in AVCOL_TRC_* too)
_HDR_TRC = (16, 18)  # AVCOL_TRC_SMPTE2084 (PQ), AVCOL_TRC_ARIB_STD_B67 (HLG)
_STREAMING_FORMATS = {"matroska", "webm", "mpegts"}
_MP4_FORMATS = {"mp4", "mov", "ipod", "ismv"}
# a correction: copied packets an MP4 input's edit list hides, in an output without edit lists
_CUT_AWAY = "{} packets the input's edit list cuts away, left out"
# Encoders whose bitstream says which YUV matrix and range it holds (H.264 and
# HEVC VUI, VP9 and AV1 headers, MPEG-2's sequence display extension,
# ProRes); Matroska and WebM say it for any codec but VP8 (libvpx tags its
# stream BT.601 limited range, whatever it is given). Elsewhere (MPEG-4 part
# 2 in AVI or MP4) players read the video as BT.601 limited range.
_TAGGING_ENCODERS = {"libx264", "libx265", "libvpx-vp9", "libaom-av1", "libsvtav1",
                     "librav1e", "mpeg2video", "prores", "prores_ks", "prores_aw"}
_TAGGING_PREFIXES = ("h264_", "hevc_", "av1_", "vp9_")
_LISTED_FORMATS = _MP4_FORMATS | {"matroska", "webm"}
# Codecs a muxer has tags for but refuses when the header is written: FLAC and
# Opus in MOV ("only supported in MP4"), FLAC in MP4 ("experimental"). FLAC
# audio sent to .mov was copied and the header failed, where FFmpeg's CLI
# writes AAC (trial 61); it is re-encoded with the container's own codec now.
_MUXER_REFUSES = {"mov": {"flac", "opus"}, "mp4": {"flac"}}
# The muxers that keep a start timecode: MOV and MP4 as a tmcd track, Matroska as a
# tag (MPEG-TS has no place for it).
TIMECODE_FORMATS = frozenset({"mov", "mp4", "matroska", "webm"})
# encoders whose time base is the frame rate they code (FFmpeg's mpeg12enc)
_RATE_CODECS = ("mpeg1video", "mpeg2video")
# the frame rates MPEG-1/2 code (ISO/IEC 13818-2, table 6-4)
_MPEG_RATES = tuple(Fraction(n, d) for n, d in ((24000, 1001), (24, 1), (25, 1), (30000, 1001),
                                                 (30, 1), (50, 1), (60000, 1001), (60, 1)))


def _mpeg_rate(rate: Fraction) -> Fraction:
    """``rate``, or the MPEG-1/2 rate within 0.1 % of it.

    A Matroska file's rate, guessed on its millisecond ticks, is 19001/317
    for 59.94 fps, which the encoder refused ("MPEG-1/2 does not support
    19001/317 fps", trial 142 F2); FFmpeg's CLI takes the nearest coded rate.
    """
    near = min(_MPEG_RATES, key=lambda r: abs(r - rate))
    return near if abs(near / rate - 1) < Fraction(1, 1000) else rate


def _hdr10_static(av_frame: Any) -> bool:
    """Whether a decoded frame carries SMPTE ST 2086 or CTA-861.3 side data."""
    try:
        kinds = {getattr(sd.type, "name", str(sd.type)) for sd in frame_side_data(av_frame)}
    except (AttributeError, TypeError, ValueError):
        return False
    return bool(kinds & {"MASTERING_DISPLAY_METADATA", "CONTENT_LIGHT_LEVEL"})


def _trc_name(trc: int) -> str:
    """FFmpeg's name of an AVColorTransferCharacteristic, as ffprobe says it."""
    return _TRC_NAMES.get(trc, f"transfer {trc}")


_TRC_NAMES = {1: "bt709", 2: "unknown", 4: "gamma22", 5: "gamma28", 6: "smpte170m",
              8: "linear", 13: "iec61966-2-1", 14: "bt2020-10", 15: "bt2020-12",
              16: "smpte2084", 18: "arib-std-b67"}


def _rgb_format(name: str) -> bool:
    """Whether the pixel format ``name`` holds RGB samples (packed or planar GBR)."""
    return name.lstrip("0x2a").startswith(("rgb", "bgr", "gbr"))


# The full-range formats the MJPEG encoder takes in place of the limited ones.
_JPEG_FORMATS = {"yuv420p": "yuvj420p", "yuv422p": "yuvj422p", "yuv444p": "yuvj444p"}
# The MP4 muxer refuses MP3 below this rate (MPEG-2.5: 8, 11.025, 12 kHz) unless strict -1.
_MP4_MP3_MIN_RATE = 16_000
# Audio copied into the old constant-rate containers. Their tag tables list
# more than their muxers and demuxers handle: Vorbis copied into AVI came
# back with its second beep 2 s late, FLAC in ASF 1 s (trial 62), E-AC-3 in
# AVI 1.8 s early (trial 64); Opus and ALAC they refuse; FLV writes FLAC,
# Opus and AC-3 as Enhanced FLV (FFmpeg before 6.1 cannot read it), and PCM
# and Flash's own ADPCM aborted the process in its muxer ("Assertion 0
# failed at flvenc.c"), Nellymoser and Speex at rates FLV lacks failed
# mid-run ("Function not implemented").
# Anything else is re-encoded with the container's own codec (MP3, WMAv2
# for ASF, MP2 for MPEG-PS), as FFmpeg's CLI does.
_LEGACY_AUDIO = {
    "avi": {"mp3", "mp2", "aac", "ac3", "pcm_u8", "pcm_s16le", "pcm_s24le",
            "pcm_alaw", "pcm_mulaw"},  # (WMA copied into AVI was 45 ms late: trial 64)
    "asf": {"wmav1", "wmav2", "wmapro", "mp3", "mp2", "ac3", "aac", "pcm_s16le",
            "pcm_s24le"},
    "flv": {"mp3", "aac"},
    # MPEG-PS (.mpg): its muxer takes MPEG audio, AC-3, DTS and DVD's LPCM
    # and refuses the rest at the header (AAC from every phone: trial 106 F3)
    "mpeg": {"mp1", "mp2", "mp3", "ac3", "dts", "pcm_dvd", "pcm_s16be"},
}
# Containers whose muxers write chapters (Matroska's Chapters element, MP4's
# and QuickTime's chapter track).
CHAPTER_FORMATS = frozenset({"matroska", "webm", "mov", "mp4", "ipod"})
# What an MPEG-TS stream can carry (ISO/IEC 13818-1 stream types, as FFmpeg's
# muxer maps them); anything else it writes as an opaque private stream that
# no player or demuxer reads back (SubRip became "bin_data").
_TS_CODECS = {
    "audio": {"aac", "aac_latm", "mp2", "mp3", "ac3", "eac3", "dts", "truehd", "opus", "s302m"},
    "subtitle": {"dvb_subtitle", "dvb_teletext"},
}
# Crash-safe outputs are cut into pieces of at most this long, so a hard kill
# loses this plus the encoder's own delay (x264 lookahead), under a second in
# all (fragments need no keyframe: the GOP is kept).
CRASH_SAFE_PIECE_S = 0.5


def input_timeline(info: StreamInfo | None) -> Timeline:
    """A :class:`~vidclear.io.joins.Timeline` for ``info``'s input: joinable
    where its format is, or unknown (no stream: synthetic, or its input closed).

    A live input is not: its frames carry the time they came (a network
    stream's outage is kept as the gap it was, not closed as a join: a 14 s
    outage was written as none, trial 55).
    """
    if info is not None and info.is_live:
        return Timeline(False)
    if info is not None and info.rebased:
        # Matroska files joined with cat, re-based by their source where each
        # file starts: a first file's sound outlasting its picture by 0.6 s
        # stepped back at the join, and taken for a join of its own it put
        # the second file's sound 0.6 s late (trial 115 F2)
        return Timeline(False, back=False)
    try:
        joins = joinable(info.video_stream.container)  # type: ignore[union-attr]
    except (AttributeError, TypeError):
        return Timeline(True)
    # A file of a joinable format had its steps back re-based by its source,
    # in file order (vidclear.io.joins.Unjoiner): one met here is a frame the
    # decoder gave out of order, a late frame. Taken for a join, one frame of
    # a damaged MPEG-TS (6.43 s after 7.40 s) moved the rest of the picture a
    # second after its sound (trial 72). A Matroska or MP4 file whose clock
    # restarts is re-based here (taking every step back as a late frame
    # bunched the rest of such an MKV into 25 ms, trial 77); a frame a
    # processor hands back late is marked so by the pipeline (``meta["late"]``).
    return Timeline(joins, back=not joins)


# corrections of the pictures, not of their timestamps
_REPEATS = "frames repeated to fill gaps of the input (the container keeps a constant rate)"
# AVI leaves its gaps to the muxer: only the last frame is held to its end
_END_REPEATS = ("frames repeated to hold the input's last frame to its end (the container "
                "keeps a constant rate)")
_CFR_DROPS = ("frames dropped where two fell on one tick (the container keeps a constant "
              "rate)")
_CFR_MOVED = ("frames moved onto the next free tick where two fell on one (the container "
              "keeps a constant rate)")
_FRAME_CORRECTIONS = {"frames scaled to the first size",
                      "frames converted to the stream's colour standard", _REPEATS,
                      _END_REPEATS, _CFR_DROPS, _CFR_MOVED}
# FFmpeg's video sync (fftools, 5.1's do_video_out): a frame early for the next
# free tick by more than its own duration and this many ticks is dropped; one
# less early is moved onto that tick. AVI is written in its variable-rate mode
# (0.6), the other constant-rate muxers in its constant-rate mode (1.1).
_VFR_EARLY = 0.6
_CFR_EARLY = 1.1
# ... which moves every time it rounds off an exact midpoint, by 2**-17 of a
# tick: a frame half a tick from two ticks goes on the later one
_OFF_MIDPOINT = Fraction(1, 1 << 17)
# A jump ahead of the picture longer than this that is kept (no join: a pause
# of the recording) is named in a note, the first few of them (a 5 s pause in
# a Matroska file was kept without the note the README promised, trial 60).
_PAUSE_NOTE_S = 0.5  # (1 s let a 0.84 s hole a damaged Matroska file lost pass unsaid:
# trial 143 F3)
_PAUSE_NOTES = 3
# Damaged copied packets that are left out (counted) before the run fails;
# or one in twenty of a stream's packets, if more.
_DAMAGED_PACKETS = 10
# libavformat's muxer flags (AVOutputFormat.flags)
_AVFMT_NOTIMESTAMPS = 0x80
_AVFMT_VARIABLE_FPS = 0x400


def _whole_adts(data: bytes) -> bool:
    """Whether ``data`` is one or more whole ADTS frames (ISO/IEC 13818-7, 6.2):
    each with the sync word and a frame length that ends where the next begins."""
    pos = 0
    while pos < len(data):
        head = data[pos:pos + 7]
        if len(head) < 7 or head[0] != 0xFF or head[1] & 0xF6 != 0xF0:
            return False
        length = ((head[3] & 3) << 11) | (head[4] << 3) | (head[5] >> 5)
        if length < 7:
            return False
        pos += length
    return pos == len(data) and pos > 0


def constant_rate(fmt: Any) -> bool:
    """Whether the muxer ``fmt`` (an output container's ``.format``) stores video at a
    constant rate, one frame a tick.

    Muxers without ``AVFMT_VARIABLE_FPS`` that keep timestamps (AVI, Ogg,
    MPEG-PS, ASF, IVF, DV): FFmpeg's CLI writes them at a constant rate, time
    base 1 / rate (the rate it guesses for the input), frames over gaps
    repeated (AVI alone it writes in its variable-rate mode, on the same
    ticks, a gap left to the muxer's empty index entries; so does
    :class:`EncoderSink`). Written at the input's own time base, an AVI of
    15 frames at 1/600 claimed 300 frames at 600 fps, 285 of them empty
    index entries (trial 60).
    """
    flags = int(getattr(fmt, "flags", 0) or 0)
    return not flags & (_AVFMT_VARIABLE_FPS | _AVFMT_NOTIMESTAMPS)


# The video track's handler name of every output (MP4, MOV and Matroska keep
# it; FFmpeg rewrites the container's "encoder" tag), and MPEG-TS outputs'
# service provider: a folder of chunk files that also holds an earlier output
# is told apart by it (see mark_output and trip.py).
OUTPUT_HANDLER = "vidclear"
# Single-image outputs (FFmpeg's image2 muxer with -update 1): codec, pixel format.
_IMAGE_CODECS = {"png": ("png", "rgb24"), "jpg": ("mjpeg", "yuvj444p"),
                 "jpeg": ("mjpeg", "yuvj444p"), "bmp": ("bmp", "bgr24"),
                 "tif": ("tiff", "rgb24"), "tiff": ("tiff", "rgb24")}
#: Output extensions written as one picture (the last frame), not as video.
IMAGE_SUFFIXES = frozenset(_IMAGE_CODECS)


# x265 prints its own log, past FFmpeg's: errors only, as FFmpeg's log shows
# only with -vv ("Source height < 720p; disabling lookahead-slices" came
# between vidclear's lines: trial 37); set_x265_log follows -vv and -vvv.
_x265_log = "error"


def set_x265_log(level: str) -> None:
    """x265's log level for encoders opened from now on: ``error``, ``info`` or ``debug``."""
    global _x265_log
    if level not in ("error", "warning", "info", "debug"):
        raise ValueError(f"unknown x265 log level {level!r}")
    _x265_log = level


def mark_output(container: Any, video: Any) -> None:
    """Name vidclear as the writer of an output opened for writing.

    The video track's handler name (MP4, MOV, Matroska, NUT; the input's is
    not copied) and the container's service provider: in MPEG-TS, which has
    no handler names, that of its service description table; FLV and NUT
    keep it as a global tag. Trips and batches read them back to leave
    earlier outputs out of their inputs (:mod:`vidclear.io.sources.trip`).
    Call after copying the source's metadata, which it overrides.
    """
    video.metadata["handler_name"] = OUTPUT_HANDLER
    container.metadata["service_provider"] = OUTPUT_HANDLER


#: Encoders to suggest when a name is none of this FFmpeg's.
ENCODER_HINT = "try libx264, libx265, libvpx-vp9 (WebM), libvpx (WebM, Ogg), mpeg4 or ffv1"


def check_encoder(cfg: OutputConfig) -> Any:
    """The FFmpeg encoder ``cfg.codec`` names, checked against ``cfg.pix_fmt``.

    Raises
    ------
    ConfigError
        This FFmpeg has no such video encoder, or it cannot take the pixel format.
    """
    try:
        codec = av.codec.Codec(cfg.codec, "w")
    except (av.codec.codec.UnknownCodecError, ValueError):
        raise ConfigError(
            f"output.codec = {cfg.codec!r} is not an encoder this FFmpeg has: {ENCODER_HINT}"
        ) from None
    if codec.type != "video":
        raise ConfigError(f"output.codec = {cfg.codec!r} is not a video encoder")
    formats = [f.name for f in (codec.video_formats or ())]
    if formats and cfg.pix_fmt not in formats and cfg.pix_fmt != _DEFAULT_PIX_FMT:
        raise ConfigError(
            f"output.pix_fmt = {cfg.pix_fmt!r} is not supported by {cfg.codec}: "
            f"allowed are {', '.join(formats)}"
        )
    return codec


def encoder_format(codec: str, pix_fmt: str, source: str | None = None) -> str:
    """The pixel format ``codec`` writes for ``output.pix_fmt = pix_fmt``.

    ``pix_fmt`` where the encoder takes it. The default, yuv420p, gives way
    to the encoder's own where it takes none such, as FFmpeg picks one when
    no ``-pix_fmt`` is given: among the formats it lists with three colour
    components of 8 bits or more and no alpha (else all it lists), the
    first that keeps the chroma and depth of the frames it is given
    (``source``, a pixel format name), else the first that loses least
    (libx264rgb bgr0, qtrle and png rgb24, prores_ks yuv422p10le, and
    yuv444p10le for 4:4:4 or RGB frames: FFmpeg's 4:4:4 footage written
    4:2:2 lost 23 dB, trial 147 F1). Any other format is refused by
    :func:`check_encoder`.
    """
    formats = _video_formats(codec)
    if not formats or pix_fmt in {f.name for f in formats} or pix_fmt != _DEFAULT_PIX_FMT:
        return pix_fmt
    colour = [f for f in formats
              if len(f.components) == 3 and not any(c.is_alpha for c in f.components)
              and min(c.bits for c in f.components) >= 8] or formats
    return str(min(colour, key=lambda f: _loss(f.name, source)).name)


def _loss(name: str, source: str | None) -> tuple[int, int]:
    """What writing frames of format ``source`` as ``name`` loses: (chroma, depth), 0 for none."""
    if source is None:
        return 0, 0
    try:
        ours, theirs = _chroma_size(name), _chroma_size(source)
        bits = [_format_bits(av.VideoFormat(n, 2, 2)) for n in (name, source)]
    except ValueError:
        return 0, 0
    coarser = ours is not None and theirs is not None and (
        ours[0] < theirs[0] or ours[1] < theirs[1])
    return int(coarser), int(bits[0] < bits[1])


def _frame_format(frame: Frame) -> str:
    """The pixel format of a frame as the encoder is given it, without converting it."""
    if frame.av_frame is not None:
        return str(frame.av_frame.format.name)
    return "rgb48le" if frame.image.dtype == np.uint16 else "rgb24"


# What a muxer answers when its header cannot hold a stream (Ogg: EINVAL for
# H.264; MXF: EPERM for 44.1 kHz audio).
_REFUSED = frozenset({errno.EINVAL, errno.EPERM})


class StreamsRefused(OutputError):
    """The container cannot hold a stream: refused when it is added, or when the header is
    written (Ogg and H.264, ...). No receiver mends it: a network output does not wait."""


# Containers that carry AAC as raw frames plus an AudioSpecificConfig in the header.
_ASC_FORMATS = {"matroska", "webm", "mp4", "mov", "ipod", "ismv", "flv"}
_AAC_OBJECT = {"Main": 1, "LC": 2, "SSR": 3, "LTP": 4, "HE-AAC": 2, "HE-AACv2": 2}
_AAC_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025,
              8000, 7350)


def audio_specific_config(profile: str | None, sample_rate: int, channels: int) -> bytes | None:
    """The 2-byte MPEG-4 AudioSpecificConfig of an AAC stream (ISO/IEC 14496-3, 1.6.2.1).

    None when the rate is not one of the 13 indexed rates or there are more
    than 7 channels (those need an explicit, longer form).
    """
    if sample_rate not in _AAC_RATES or not 0 < channels <= 7:
        return None
    obj = _AAC_OBJECT.get(profile or "LC", 2)
    word = (obj << 11) | (_AAC_RATES.index(sample_rate) << 7) | (channels << 3)
    return word.to_bytes(2, "big")


def _standard_name(standard: tuple[str, str]) -> str:
    """``("bt709", "pc")`` as "BT.709 full range"."""
    matrix, rng = standard
    names = {"bt601": "BT.601", "bt709": "BT.709", "9": "BT.2020", "7": "SMPTE 240M"}
    return (f"{names.get(matrix, 'colour space ' + matrix)} "
            f"{'full' if rng == 'pc' else 'limited'} range")


# chroma plane size at 64 x 64 -> the J:a:b name of its subsampling
_CHROMA_KINDS = {(64, 64): "4:4:4", (32, 64): "4:2:2", (64, 32): "4:4:0", (16, 64): "4:1:1",
                 (32, 32): "4:2:0"}


def _chroma_size(name: str) -> tuple[int, int] | None:
    """(width, height) of a format's chroma at 64 x 64 (RGB: full), or None without colour."""
    f = av.VideoFormat(name, 64, 64)
    if f.is_rgb:
        return 64, 64
    planes = [c for c in f.components if not (c.is_luma or c.is_alpha)]
    return (planes[0].width, planes[0].height) if planes else None


def tag_hevc_for_apple(stream: Any, container: Any) -> None:
    """Tag an HEVC video stream of a MOV or MP4 output 'hvc1'.

    'hvc1' keeps the parameter sets in the sample description, which
    Apple's players need; FFmpeg's default 'hev1' (``ffmpeg -tag:v hvc1``
    changes it) plays nowhere on iOS or macOS (trial 85). Other codecs
    and containers are left alone.
    """
    name = stream.codec_context.name
    if ("hevc" in name or "265" in name) and {"mov", "mp4"} & set(
            container.format.name.split(",")):
        stream.codec_tag = "hvc1"


def _video_formats(codec: str) -> list[Any]:
    """The pixel formats encoder ``codec`` lists (none for an unknown one)."""
    try:
        return list(av.codec.Codec(codec, "w").video_formats or ())
    except (av.codec.codec.UnknownCodecError, ValueError):
        return []


def _chroma_lost(stream: Any, pix_fmt: str) -> tuple[Any, str, str] | None:
    """The source stream's format, its kind of chroma (4:2:2, 4:4:4, RGB ...) and the
    YUV family that keeps it (``yuv422p``, ``yuv444p``) where ``pix_fmt`` loses it, or None.

    None for grey sources or outputs, streams without a known format, and
    outputs whose chroma is as fine in both directions.
    """
    fmt = _stream_format(stream)
    if fmt is None:
        return None
    try:
        ours, theirs = _chroma_size(pix_fmt), _chroma_size(fmt.name)
    except ValueError:
        return None
    if ours is None or theirs is None or (theirs[0] <= ours[0] and theirs[1] <= ours[1]):
        return None
    kind = "RGB" if fmt.is_rgb else _CHROMA_KINDS.get(theirs, "finer")
    # 4:2:2 into 4:2:0 is kept by 4:2:2; anything else by 4:4:4
    return fmt, kind, "yuv422p" if kind == "4:2:2" and ours == (32, 32) else "yuv444p"


def _chroma_kept(stream: Any, pix_fmt: str, codec: str | None = None) -> str | None:
    """What ``pix_fmt`` loses of the source stream's finer chroma (4:2:2, 4:4:4, RGB ...), or None.

    None for grey sources or outputs, streams without a known format, and
    outputs whose chroma is as fine in both directions. The format advised
    keeps the source's bits too where the encoder takes it (a 12-bit 4:4:4
    source was told yuv444p10le here and yuv420p12le by the bit-depth note,
    trial 180 F7).
    """
    lost = _chroma_lost(stream, pix_fmt)
    if lost is None:
        return None
    fmt, kind, family = lost
    keep = family
    depth = _format_bits(fmt)
    if depth > 8:
        keep = f"{family}{depth}le"
        takes = [f.name for f in _video_formats(codec)] if codec is not None else []
        if takes and keep not in takes and f"{family}10le" in takes:
            keep = f"{family}10le"  # the most bits this encoder takes (libx264: 10)
    if codec is not None:
        # advice the encoder takes (prores_ks, v210 and huffyuv refuse
        # yuv444p: following it was an error, trial 147 F2)
        takes = [f.name for f in _video_formats(codec)]
        if takes and keep not in takes:
            kept = [n for n in takes if _loss(n, fmt.name) == (0, 0)]
            if not kept:
                return (f"the input's {kind} colour ({fmt.name}) is written as {pix_fmt} "
                        f"({codec} takes no format that keeps its chroma)")
            keep = kept[0]
    return (f"the input's {kind} colour ({fmt.name}) is written as {pix_fmt} "
            f"(--set output.pix_fmt={keep} keeps its chroma; fewer players play it)")


def _alpha_dropped(stream: Any) -> str | None:
    """The note that the source stream's alpha channel is not written, or None (no alpha).

    Frames are processed and written as colour alone (FFmpeg too drops alpha
    for an encoder without it); a palette's transparency is not looked for.
    """
    fmt = _stream_format(stream)
    if fmt is None or not any(c.is_alpha for c in fmt.components):
        return None
    return (f"the input's alpha channel ({fmt.name}) is dropped: vidclear processes and "
            "writes colour only (vidclear.dehaze_image keeps an RGBA image's alpha)")


def _stream_format(stream: Any) -> Any | None:
    """A video stream's decoded pixel format (``av.VideoFormat``), None when unknown."""
    try:
        return stream.codec_context.format
    except (AttributeError, ValueError):
        return None


def _format_bits(fmt: Any | None) -> int:
    """Bits per component of an ``av.VideoFormat`` (8 when unknown or None)."""
    return max((c.bits for c in fmt.components), default=8) if fmt is not None else 8


def _bits(frame: Frame) -> int:
    """Bits per component of a frame, without converting it."""
    av_frame = frame.av_frame
    if av_frame is not None:
        return _format_bits(av_frame.format)
    return 16 if frame.image.dtype == np.uint16 else 8


# An MPEG-TS output keeps up to 1.4 s of the source's start offset, where
# FFmpeg's TS outputs start (its default mux delay and preload): a TS input
# made by FFmpeg keeps its timestamps exactly.
#: MPEG-TS file names
TS_SUFFIXES = frozenset({".ts", ".m2t", ".m2ts", ".mts"})
_TS_START_S = 1.4


# The containers suggested for a stream another output cannot take, in turn.
_HOLDERS = ((".mkv", "matroska"), (".mp4", "mp4"), (".mov", "mov"))


@functools.cache
def _supported_codecs(fmt: str) -> frozenset[str]:
    """The codecs FFmpeg's ``fmt`` muxer lists as ones it can hold."""
    with av.open(io.BytesIO(), "w", format=fmt) as c:
        return frozenset(c.supported_codecs)


def cannot_hold(container: Any, ist: Any) -> bool:
    """Whether the output ``container`` cannot carry a copy of input stream ``ist``.

    Muxers with codec tag tables (MP4, MOV, Matroska) list what they take;
    MPEG-TS takes anything but writes what it has no stream type for as an
    unreadable private stream, so it is checked against :data:`_TS_CODECS`,
    and MPEG-PS writes any subtitle as DVD's bitmaps.
    Elsewhere the muxer itself refuses at the first packet.
    """
    formats = set(container.format.name.split(","))
    name = codec_name(ist)
    if "mpegts" in formats and ist.type in _TS_CODECS:
        return name not in _TS_CODECS[ist.type]
    if "mpeg" in formats and ist.type == "subtitle":
        # MPEG-PS carries DVD's bitmap subtitles only: SubRip's text went into
        # their private stream, which reads back as broken bitmaps (trial 108 F4)
        return name != "dvd_subtitle"
    if _muxer_refuses(formats, name):
        return True
    if ist.type == "subtitle" and is_ogg(container):
        return True  # no subtitle mapping: the header fails, blaming every stream
    return bool(formats & _LISTED_FORMATS) and name not in container.supported_codecs


def re_encoding_note(tr: AudioTranscode, container: Any, ist: Any, output: str,
                     suffix: str, label: str) -> str:
    """The note that ``ist`` is re-encoded by ``tr`` for ``container``: whether the
    container lists its codec (and carries it badly) or only not at its rate.
    (One for a run and a batch's join, which said "cannot hold" of all.)"""
    name = codec_name(ist)
    formats = set(container.format.name.split(","))
    return tr.chosen_note(output, suffix, label, name or "its",
                          held=not is_ogg(container) and name in container.supported_codecs
                          and not _muxer_refuses(formats, name),
                          at_rate=rate_refused(container, ist))


def _muxer_refuses(formats: set[str], name: str | None) -> bool:
    """Whether a muxer of ``formats`` lists ``name`` but refuses it (:data:`_MUXER_REFUSES`)."""
    return any(name in _MUXER_REFUSES.get(f, ()) for f in formats)


def attached_picture_bytes(ist: Any) -> bytes | None:
    """The image of an input's cover-art stream ``ist``, read from its file; None if none can be.

    The demuxer hands the picture out once, as the stream's first packet; the
    input file is opened again for it, so the run's own reading is not
    moved. Not for pipes or streams (None).
    """
    path = getattr(getattr(ist, "container", None), "name", None)
    if not path or not os.path.isfile(path):
        return None
    try:
        with av.open(path) as c:
            for packet in c.demux(c.streams[ist.index]):
                if packet.size:
                    return bytes(packet)
    except (av.FFmpegError, OSError, IndexError, ValueError):
        return None
    return None


def add_attachments(container: Any, attachments: Sequence[tuple[str, str, bytes]],
                    kind: str) -> list[str]:
    """Attach each ``(name, MIME type, bytes)`` to an output ``container``; notes for the rest.

    Matroska holds attached files (the fonts ASS subtitles are drawn with);
    other containers do not, and each file left out gets a note naming it
    (it was dropped without a word, trial 101 F2). ``kind`` names the
    container in the note (its extension, or the muxer's name).
    """
    notes = []
    holds = "matroska" in set(container.format.name.split(","))
    for name, mime, data in attachments:
        if holds:
            try:
                container.add_attachment(name, mime, data)
                continue
            except (av.FFmpegError, ValueError, TypeError) as exc:
                notes.append(f"attachment {name} ({mime}) was left out: {exc}")
                continue
        notes.append(f"attachment {name} ({mime}) was left out: the {kind} container "
                     "cannot hold attached files (.mkv keeps them)")
    return notes


# FFmpeg's AVFieldOrder: the top field first, coded first (TT) or shown first (TB), ...
_FIELDS_TT, _FIELDS_BB, _FIELDS_TB, _FIELDS_BT = 2, 3, 4, 5


def keep_field_order(src: StreamInfo, stream: Any) -> None:
    """Tag the output ``stream`` interlaced as the input's video is, as FFmpeg does.

    An interlaced input (top or bottom field first) came out tagged
    progressive, so players showed its combing (trial 106 F5). FFmpeg's
    CLI (5.1, ``do_video_out``) tags an interlaced picture's encoder output
    with the field shown first, ``tb`` or ``bt``, and MJPEG's with the
    field stored first, ``tt`` or ``bb``; the fields are coded as one
    picture either way.
    """
    decoder = getattr(getattr(src, "video_stream", None), "codec_context", None)
    order = getattr(decoder, "field_order", None)
    if order not in (_FIELDS_TT, _FIELDS_BB, _FIELDS_TB, _FIELDS_BT):
        return
    top = order in (_FIELDS_TT, _FIELDS_TB)
    mjpeg = stream.codec_context.codec.name == "mjpeg"
    with contextlib.suppress(AttributeError, TypeError, ValueError):
        stream.codec_context.field_order = (
            (_FIELDS_TT if top else _FIELDS_BB) if mjpeg else (_FIELDS_TB if top else _FIELDS_BT))


def add_chapters(container: Any, chapters: Sequence[Chapter], shift: float,
                 kind: str) -> list[str]:
    """Give an output ``container`` the input's ``chapters``, ``shift`` seconds earlier; notes.

    Chapters were left out of every output without a word, where ``ffmpeg
    -i IN OUT`` keeps them (trial 106 F4). Those the shift moves before 0
    are clipped there or left out. A container that holds none (see
    :data:`CHAPTER_FORMATS`) gets a note; ``kind`` names it.
    """
    moved = [c for c in (ch.within(shift, None) for ch in chapters) if c is not None]
    if not moved:
        return []
    if not set(container.format.name.split(",")) & CHAPTER_FORMATS or \
            not hasattr(container, "set_chapters"):
        n = len(moved)
        return [f"{n} chapter{'s' if n != 1 else ''} of the input left out: the {kind} "
                "container cannot hold chapters (.mkv and .mp4 keep them)"]
    tb = Fraction(1, 1_000_000)
    container.set_chapters([
        {"id": k + 1, "start": round(c.start / tb), "end": round(c.end / tb), "time_base": tb,
         "metadata": dict(c.metadata)} for k, c in enumerate(moved)])
    return []


def name_layout(ist: Any, ost: Any) -> None:
    """Give a copied audio stream whose layout names only its channel count FFmpeg's
    default order for that count (:func:`~vidclear.io.sinks.audio.ordered_layout`).

    AVI and WAV store PCM with a channel count alone; copied into MP4 or MOV
    the muxer refused such a stream at the trailer ("unsupported channel
    layout 2 channels"), after the whole run (trial 81: a dashcam's MJPEG
    and PCM AVI).
    """
    ctx = ist.codec_context if ist.type == "audio" else None
    if ctx is None:
        return
    with contextlib.suppress(AttributeError, ValueError, TypeError):
        layout = ordered_layout(ctx.layout)
        if isinstance(layout, str):  # a count alone, given its default order
            ost.codec_context.layout = layout


def audio_unfit(container: Any, ist: Any) -> bool:
    """Whether audio stream ``ist`` cannot be copied into ``container``: it cannot hold its codec.

    Ogg has no codec tag table (its muxer refuses at the header), so it is
    checked against :data:`~vidclear.io.sinks.audio.OGG_AUDIO`; AVI, ASF and
    FLV list more than they carry well, so they are checked against
    :data:`_LEGACY_AUDIO`; MP4 lists PCM, which few players read there.
    """
    if is_ogg(container):
        return codec_name(ist) not in OGG_AUDIO
    name = codec_name(ist)
    formats = set(container.format.name.split(","))
    for fmt in formats & _LEGACY_AUDIO.keys():
        if name not in _LEGACY_AUDIO[fmt]:
            return True
    if "flv" in formats and (ist.codec_context.channels or 0) > 2:
        # FFmpeg 7.1 on writes more than two channels as Enhanced FLV's
        # multichannel audio, which FFmpeg 5.1 and FLV players before it
        # misread (trial 81 F8); FFmpeg's own re-encode for FLV is stereo MP3
        return True
    if "mp4" in formats and name and name.startswith("pcm_"):
        # MP4 takes PCM only as ISO 23003-5 'ipcm' (FFmpeg 6.1 on): FFmpeg 5.1
        # refuses to write it and many players play it silent (trial 81 F6);
        # `ffmpeg -i IN OUT.mp4` writes AAC. MOV and Matroska carry PCM.
        return True
    return rate_refused(container, ist) is not None or cannot_hold(container, ist)


def rate_refused(container: Any, ist: Any) -> int | None:
    """The sample rate of audio stream ``ist`` where ``container`` holds its codec
    but not at that rate, else None: FLV's MP3 flags are 44.1 kHz and its halves
    (48 kHz stored as 44.1); the MP4 muxer refuses MP3 under 16 kHz ("not
    standard", trial 68: the whole run failed at the header, blaming the video too)."""
    rate = ist.codec_context.sample_rate if ist.codec_context is not None else None
    if codec_name(ist) != "mp3" or not rate:
        return None
    formats = set(container.format.name.split(","))
    if "flv" in formats and rate not in (*FLV_RATES, 48_000):
        return int(rate)
    if "mp4" in formats and rate < _MP4_MP3_MIN_RATE:
        return int(rate)
    return None


def codec_name(ist: Any) -> str | None:
    """The codec of input stream ``ist`` by FFmpeg's codec name (``mp3``, not the
    decoder's ``mp3float``), as muxers list what they hold; None if unknown."""
    ctx = ist.codec_context
    if ctx is None:
        return None
    return getattr(ctx.codec, "canonical_name", None) or ctx.name


def output_shift(source_start: float, path: Path) -> float:
    """Seconds taken off every timestamp written to ``path``, as FFmpeg does without ``-copyts``.

    ``source_start`` is how far the source's timestamps start after 0
    (:attr:`StreamInfo.start`); the output starts at 0, or at 1.4 s for
    MPEG-TS (``.ts``, ``.m2t``, ``.m2ts``, ``.mts``). Negative for a source that
    starts before 0 (its timestamps are moved up to 0).
    """
    if source_start < 0:
        return source_start
    if path.suffix.lower() in TS_SUFFIXES:
        return max(source_start - _TS_START_S, 0.0)
    return source_start


def _singular(what: str) -> str:
    """A correction's kind for a count of one ("audio packets ..." -> "audio packet ...")."""
    for plural, one in (("discontinuities", "discontinuity"), ("packets", "packet"),
                        ("frames", "frame")):
        what = what.replace(plural, one, 1)
    return what


# the extension a forced container gives a file name: where its muxer lists several, or an odd one
_CONTAINER_SUFFIX = {"mpegts": ".ts", "ogg": ".ogv", "asf": ".wmv"}


def suffix_for_container(container: str, suffix: str) -> str:
    """The extension an output named by vidclear takes when ``container`` is forced.

    ``suffix`` (the input's, ``".mkv"``) where the FFmpeg muxer ``container``
    lists it, or no container is forced (``""``) or known; else the
    muxer's own (``-f avi`` -> ``".avi"``), so a ``--split`` or ``batch``
    output is not AVI under a ``.mkv`` name.
    """
    if not container:
        return suffix
    try:
        listed = {f".{e}" for e in av.format.ContainerFormat(container, "w").extensions}
    except ValueError:
        return suffix  # the encoder names the unknown container
    if not listed or suffix.lower() in listed:
        return suffix
    return _CONTAINER_SUFFIX.get(container, min(listed))


def container_for(path: Path, name: str | None = None) -> str:
    """The FFmpeg muxer that writes ``path``, chosen by its extension (``image2`` for pictures).

    Raises
    ------
    ConfigError
        No extension, or one no muxer takes (the message names ``name``,
        default the path, and the usual extensions).
    """
    name = str(path) if name is None else name
    suffix = path.suffix.lower().lstrip(".")
    if suffix in _IMAGE_CODECS:
        return "image2"
    if not suffix:
        raise ConfigError(f"output {name} has no extension to choose a container by "
                          "(add one, or name the container with -f / output.format)")
    # (.wmv was refused, trial 64; .mpg, MPEG-PS as FFmpeg writes it, trial 104 F6)
    aliases = {"mkv": "matroska", "ts": "mpegts", "m2ts": "mpegts", "mts": "mpegts",
               "m4v": "mp4", "wmv": "asf", "mpg": "mpeg"}
    muxer = aliases.get(suffix, suffix)
    try:
        av.format.ContainerFormat(muxer, "w")
    except ValueError:
        listing = _muxer_listing(suffix)  # .m2t is MPEG-TS (trial 126 F1), as FFmpeg writes it
        if listing is None:
            raise ConfigError(
                f"output {name}: no container for extension .{suffix}; use .mp4, .mkv, "
                ".mov, .ts, .m2ts, .webm, .avi, .ogv, .mpg, .wmv, .flv, .mxf or .nut (or "
                "name the container with -f)"
            ) from None
        muxer = listing
    return muxer


#: Muxers that write one file holding compressed video and sound, which
#: :func:`_muxer_listing` may choose by their extension lists. The others
#: that list an extension are no such file: ``.mpd`` (DASH) and ``.m3u8``
#: (HLS) write segment files beside it, the same names for every output of a
#: batch (each overwrote the last, trial 130 F1, F2); ``.yuv``/``.rgb``
#: (rawvideo) and ``.y4m`` hold raw pixels, and took H.264 (F3, F4).
_FILE_MUXERS = frozenset({
    "3g2", "3gp", "asf", "avi", "dvd", "f4v", "flv", "gxf", "ipod", "ismv", "matroska", "mov",
    "mp4", "mpeg", "mpegts", "mxf", "nut", "ogg", "ogv", "psp", "svcd", "vob", "webm", "wtv",
})


def _muxer_listing(suffix: str) -> str | None:
    """The file muxer that lists ``suffix`` (no dot) among its extensions, by name order.

    FFmpeg guesses a muxer from the output's name the same way (the
    extension lists of ``ffmpeg -h muxer=NAME``) where no muxer is named
    like the extension; only :data:`_FILE_MUXERS` are asked. None if none
    lists it.
    """
    for fmt in sorted(_FILE_MUXERS & set(av.formats_available)):
        try:
            if suffix in av.format.ContainerFormat(fmt, "w").extensions:
                return fmt
        except ValueError:  # not in this build
            continue
    return None


class EncoderSink:
    """Write frames to ``path`` with the encoder settings of ``config``.

    Parameters
    ----------
    path : path-like
        The file to create. Its extension picks the container.
    config : OutputConfig
        Codec, crf or bitrate, preset, pixel format, crash safety.
    info : StreamInfo, optional
        The source's stream description: frame rate, time base, container
        tags, and the streams to copy (``side_streams``).
    side_packets : SidePackets, optional
        The source's channel of passed-through packets, muxed unchanged and
        interleaved with the video.
    crash_safe : bool
        Write a container that survives a hard kill (fragmented MP4 for
        .mp4/.mov; Matroska and MPEG-TS are crash-safe by nature).
    size_change : {"scale", "error"}
        A frame whose size differs from the first is scaled to it, as FFmpeg
        does, or refused (``input.size_change``).
    keep_source_time : bool
        Write the source's timestamps unchanged (batch segments, joined
        later with the source's audio) instead of starting at 0.
    live : bool
        The frames come from a live run, which drops the frames it cannot
        keep: a gap in their times is no pause of the input to name.

    Notes
    -----
    Frame timestamps are written in the source's time base, so variable
    frame rate survives, and shifted as FFmpeg shifts them without
    ``-copyts``: an input whose container starts later than 0 (an MPEG-TS
    at 11.4 s, ``info.start``) starts at 0, every stream by the same amount,
    and an MPEG-TS output at 1.4 s. Copied packets keep their own timestamps
    otherwise, so audio does not drift.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        config: OutputConfig | None = None,
        info: StreamInfo | None = None,
        side_packets: SidePackets | None = None,
        crash_safe: bool = False,
        size_change: str = "scale",
        keep_source_time: bool = False,
        live: bool = False,
    ) -> None:
        self.path = Path(path)
        #: frames reach it from a live run, which drops what it cannot keep:
        #: a gap is a drop (counted), not the input's pause (trial 153 F8)
        self.live = live
        self.name = str(path)  # what messages call the output
        self.config = config or OutputConfig()
        self.image = _IMAGE_CODECS.get(self.path.suffix.lower().lstrip("."))
        if self.image is None:
            check_encoder(self.config)
        elif "%" in self.path.name:
            raise OutputError(f"output {self.name}: image sequences are not supported; "
                              "write a video (.mkv with ffv1 for lossless) instead")
        self.info = info
        self.side_packets = side_packets
        self.crash_safe = crash_safe
        # Where the bytes finally go: through a symbolic link, and straight into
        # a device or FIFO (nothing is renamed over those).
        self.direct = is_special_file(self.path)
        self.final_path = self.path if self.direct else Path(os.path.realpath(self.path))
        if self.direct:
            self.seekable = False
        self.tmp_path = self.final_path if self.direct else partial_path(self.final_path,
                                                                     self.path.suffix)
        self.frames_written = 0
        self.packets_copied = 0
        self.skipped_streams: list[str] = []
        self.notes: list[str] = []  # one line each, for the user
        self.corrections: Counter[str] = Counter()  # timestamp fixes, by kind
        self.quiet = False  # set before the first frame: encoders print errors only
        self.size_change = size_change
        self._side_dts: dict[int, int] = {}  # last muxed dts per output stream
        self._side_seen: dict[int, int] = {}  # copied packets muxed or left out, per stream
        self._side_offset: dict[int, int] = {}  # re-basing offset per input stream
        self._video_offset = 0
        # seconds taken off every timestamp: the input's start, as FFmpeg does
        self._t0 = 0.0 if keep_source_time or info is None else output_shift(info.start,
                                                                             self.path)
        self._keep_source_time = keep_source_time
        self._timeline = input_timeline(info)  # discontinuities, shared by the streams
        self._tick_phase: Fraction | None = None  # see _video_pts
        self._pauses = 0  # pauses of the input's video kept (see _note_pause)
        self._phase_s = 0.0  # seconds the picture moved onto Ogg's ticks
        self._cfr = False  # one frame a tick (constant_rate)
        # a gap filled with the frame before (AVI leaves it to the muxer's
        # empty index entries, as FFmpeg writes it)
        self._fill_gaps = True
        self._drop = False  # this frame falls on a tick already taken (constant rate)
        self._ahead = 0  # more ticks the frame being written holds (constant rate)
        self._last_av: Any = None  # that frame
        self._last_pts: int | None = None
        # pts -> duration (codec ticks) of frames in the encoder, set on their packets:
        # a held last frame keeps its display time (libx264 does not pass it on)
        self._durations: dict[int, int] = {}
        self._end_pts: int | None = None  # where the last frame shown ends, codec ticks
        self._noted_pts: int | None = None  # the pts of the frame noted last
        self._first_dts: int | None = None  # of the first video packet (negative: B-frames)
        self._first_pts: int | None = None  # the earliest video packet's
        self._held: Any = None  # a picture output's latest frame, encoded at close
        self._stream: Any = None
        # the format, AVColorSpace and AVColorRange of the frames the stream is
        # tagged for (the first decoded frame's), None for BT.601 limited range
        self._reference: tuple[str, int, int] | None = None
        self._standard = ("bt601", "tv")
        self._first_standard = self._standard  # the first frame's, noted when converted
        self._standard_changed = False
        # the first decoded picture's AVColorTransferCharacteristic
        self._first_trc: int | None = None
        self._trc_changed = False
        self._rgb_into_yuv = False  # RGB-coded input converted for a YUV encoder here
        self._copy_map: dict[int, Any] = {}
        self._preroll: dict[int, Any] = {}  # a copied stream's held cut-away packet, by index
        self._started = False  # a packet went into the container: its header is written
        self._fragmented = False  # fragmented MP4: no edit list
        self._adts: set[int] = set()  # input streams whose ADTS headers are stripped
        self._framed: set[int] = set()  # copied input streams of ADTS frames (AAC in MPEG-TS)
        self._transcode: dict[int, AudioTranscode] = {}  # audio re-encoded, by input index
        self._subtitles: dict[int, SubtitleConvert] = {}  # text converted, by input index
        self._last_time = float("-inf")
        self._size: tuple[int, int] = (0, 0)
        self._frame_shape: tuple[int, int] = (0, 0)
        self._input_shape: tuple[int, int] = (0, 0)
        self._closed = False
        self._fifo_hold: int | None = None  # our write end of a FIFO output, see _open_target
        self._container = self._open()

    @property
    def _holds_edit_lists(self) -> bool:
        """Whether the output keeps copied packets before 0 under an edit list (MP4, MOV)."""
        names = set(self._container.format.name.split(","))
        return bool(names & _MP4_FORMATS) and not self._fragmented

    # -- setup -----------------------------------------------------------
    def _open(self) -> Any:
        options: dict[str, str] = {}
        guessed = self._guess_format()  # a ConfigError names an unusable extension
        try:
            fmt_name = av.format.ContainerFormat(guessed, "w").name
        except ValueError:
            fmt_name = ""
        names = set(fmt_name.split(","))
        if self.image is not None:
            options["update"] = "1"  # one picture: the last frame written
        elif names & _MP4_FORMATS:
            self._fragmented = self.crash_safe or not self.seekable
            options["movflags"] = (
                "frag_keyframe+empty_moov+default_base_moof" if self._fragmented
                else "+faststart"
            )
            tags = self.info.metadata if self.info is not None else {}
            if any(k.lower().startswith("com.") for k in tags):
                # reverse-DNS keys (an iPhone's com.apple.quicktime.location.ISO6709,
                # make, model, local date) are written in QuickTime's mdta form,
                # as FFmpeg does with -movflags use_metadata_tags; the muxer's
                # own list dropped them without a word (trial 138 F3)
                options["movflags"] += "+use_metadata_tags"
            if self.crash_safe:  # a fragment at each keyframe or each second, whichever first
                options["frag_duration"] = str(int(CRASH_SAFE_PIECE_S * 1e6))
            tb = self.info.time_base if self.info is not None else None
            if self._keep_source_time and tb and tb.numerator == 1:
                # A batch segment starts at its source time, which the edit list
                # holds in the movie's timescale (1/1000 s by default): a segment
                # starting off a whole millisecond moved every frame of it by up
                # to 1 ms in the join (trial 37). The video's own ticks keep it.
                options["movie_timescale"] = str(tb.denominator)
        elif self.crash_safe and not names & _STREAMING_FORMATS:
            raise ConfigError(
                f"output.crash_safe: the {self.path.suffix or 'given'} container cannot "
                "survive a hard kill; use .mp4, .mov, .mkv or .ts"
            )
        if self.crash_safe and names & {"matroska", "webm"}:
            options["cluster_time_limit"] = str(int(CRASH_SAFE_PIECE_S * 1000))
        container_options: dict[str, str] = {}
        if self.crash_safe:  # what the muxer has written reaches the file at once
            container_options["flush_packets"] = "1"
        try:
            return self._open_target(options, container_options)
        except (av.FFmpegError, ValueError) as exc:
            if not self.direct:
                with contextlib.suppress(OSError):
                    self.tmp_path.unlink()
            raise OutputError(f"cannot create output {self.name}: {exc}") from None
        except OSError as exc:
            raise OutputError(f"cannot create output {self.name}: {exc.strerror or exc}") from None

    # Where the bytes go: a file here; a pipe or a network URL in StreamSink.
    seekable = True

    def _open_target(self, options: dict[str, str], container_options: dict[str, str]) -> Any:
        # The temporary name keeps the extension; a device has none to go by.
        fmt = self._guess_format() if self.direct else (self.config.format or None)
        if not (self.direct and stat.S_ISFIFO(os.stat(self.tmp_path).st_mode)):
            return av.open(str(self.tmp_path), "w", format=fmt, options=options,
                           container_options=container_options)
        # A reader is there once this returns. FFmpeg opens the file only when
        # it writes the header, so this descriptor stays open until the
        # container is closed: the reader must not see the end before that.
        self._fifo_hold = wait_for_reader(self.tmp_path, on_wait=self._say_waiting)
        try:
            return av.open(str(self.tmp_path), "w", format=fmt, options=options,
                           container_options=container_options)
        except BaseException:
            self._release_fifo()
            raise

    def _release_fifo(self) -> None:
        if self._fifo_hold is not None:
            with contextlib.suppress(OSError):
                os.close(self._fifo_hold)
            self._fifo_hold = None

    def _say_waiting(self) -> None:
        print(f"vidclear: waiting for a reader on the FIFO {self.name} (Ctrl-C to give up)",
              file=sys.stderr, flush=True)

    def _publish(self) -> None:
        """Move the finished file to the name asked for (through a link)."""
        if self.direct:
            return
        try:
            publish(self.tmp_path, self.final_path)
        except OSError as exc:
            raise OutputError(f"cannot move {self.tmp_path} to {self.name}: {exc}") from None

    def report(self) -> dict[str, Any]:
        """Facts for ``--stats`` beyond frames and packets (none for files)."""
        return {}

    def cancel(self) -> None:
        """The run is ending: stop any waiting (files never wait)."""

    def _prepare_packet(self, index: int, packet: Any, data: bytes | None) -> Any:
        """A copied packet of input stream ``index``, about to be muxed (ADTS stripped).

        ``data`` is the packet's bytes where they were read already (the
        streams of ADTS frames, among them every one stripped here).
        """
        if index not in self._adts:
            return packet
        data = bytes(packet) if data is None else data
        if len(data) < 7 or data[0] != 0xFF or data[1] & 0xF6 != 0xF0:
            return packet  # not an ADTS frame: leave it
        header = 7 if data[1] & 1 else 9
        raw = av.Packet(data[header:])
        raw.pts, raw.dts, raw.time_base = packet.pts, packet.dts, packet.time_base
        raw.duration = packet.duration
        return raw

    def _guess_format(self) -> str:
        return self.config.format or container_for(self.path, self.name)

    def _subsampling(self, pix_fmt: str) -> tuple[int, int]:
        fmt = av.VideoFormat(pix_fmt, 2, 2)
        chroma = [c for c in fmt.components if c.is_chroma]
        if not chroma:
            return 1, 1
        return (2 if chroma[0].width == 1 else 1, 2 if chroma[0].height == 1 else 1)

    def _start(self, frame: Frame) -> None:
        h, w = frame.shape
        self._frame_shape = (h, w)
        # the input frame's size, to tell a processor's change of size from the input's
        self._input_shape = frame.original.shape if frame.original is not None else (h, w)
        src = self.info
        # the rate every frame's time is a multiple of (r_frame_rate, through
        # FFmpeg's av_guess_frame_rate), as FFmpeg gives its encoder and muxer:
        # declared at the average rate, a variable-rate phone clip's .mkv and
        # .webm said 22.2 fps where its frames came at up to 30, and a
        # constant-rate conversion of the file by FFmpeg dropped 13 of its 111
        # frames (trial 100 F2)
        guessed = getattr(getattr(src, "video_stream", None), "guessed_rate", None)
        rate = guessed or (src.rate if src is not None else None) or 30
        time_base = frame.time_base or (src.time_base if src is not None else None)
        cfg = self.config
        alpha = None if src is None else _alpha_dropped(src.video_stream)
        if alpha:  # a transparent PNG came back opaque without a word (trial 89 F7)
            self.notes.append(alpha)
        if self.image is not None:
            self._start_image(frame, rate)
            return
        hdr = frame.meta.get("colour")  # HDR signal made upstream: its codec, format, tags
        codec, pix_fmt = (hdr["codec"], hdr["pix_fmt"]) if hdr else (self._video_codec(),
                                                                    cfg.pix_fmt)
        chosen = encoder_format(codec, pix_fmt, _frame_format(frame))
        if chosen != pix_fmt:
            # libx264rgb, prores_ks without -pix_fmt were refused for the default
            # yuv420p the user had not asked for (trial 142 F3)
            pix_fmt = chosen
            self.notes.append(f"{self.name}: {codec} takes no {cfg.pix_fmt}: written as "
                              f"{pix_fmt}, its own format, as FFmpeg picks it "
                              "(-pix_fmt picks another)")
        sx, sy = self._subsampling(pix_fmt)
        self._size = (w + (-w) % sx, h + (-h) % sy)
        if self._size != (w, h):
            self.notes.append(
                f"{w}x{h} frames are padded to {self._size[0]}x{self._size[1]} (the last "
                f"column/row repeated): {pix_fmt} needs even sizes")
        if codec == "mjpeg" and pix_fmt in _JPEG_FORMATS:
            # JPEG's Y'CbCr is full range: the encoder refused yuv420p ("could not
            # start"), where FFmpeg picks yuvj420p itself (trial 82 F3)
            pix_fmt = _JPEG_FORMATS[pix_fmt]
            self.notes.append(f"{self.name}: mjpeg writes {pix_fmt} (JPEG's full range), "
                              f"not output.pix_fmt = {cfg.pix_fmt}, as FFmpeg does")
        if hdr and (codec, pix_fmt) != (cfg.codec, cfg.pix_fmt):
            self.notes.append(f"HDR video ({hdr['transfer']}, {hdr['primaries']}) is written "
                              f"as {codec} {pix_fmt}, not output.codec = {cfg.codec}, "
                              f"output.pix_fmt = {cfg.pix_fmt}")
        if not hdr and _bits(frame) > 8 and _format_bits(av.VideoFormat(pix_fmt)) <= 8:
            # whose: a processor that made 16-bit frames of 8-bit input was
            # called "the input's" (trial 151 F6)
            stream = getattr(src, "video_stream", None)
            depth = _format_bits(_stream_format(stream)) if stream is not None else 0
            whose = "the processed frames'" if stream is not None and depth <= 8 \
                else "the input's"
            # a 12- or 16-bit input was told 10 bits keep it (trial 179 F4);
            # of finer chroma, the family that keeps that too (trial 180 F7)
            finer = _chroma_lost(stream, pix_fmt) if stream is not None else None
            family = finer[2] if finer else "yuv420p"
            keeps = (f"--set output.pix_fmt={family}10le keeps 10 bits" if depth <= 10 else
                     f"--set output.pix_fmt={family}{depth}le keeps its {depth} bits with an "
                     f"encoder that takes them ({'libx265, ' if depth == 12 else ''}ffv1), "
                     f"{family}10le 10 of them")
            self.notes.append(f"{whose} high-bit-depth video is written as 8-bit {pix_fmt} "
                              f"({keeps})")
        lost = None if hdr or src is None else _chroma_kept(src.video_stream, pix_fmt, codec)
        if lost:  # 4:2:2 camera footage became 4:2:0 without a word (trial 58)
            self.notes.append(lost)
        try:
            stream = self._container.add_stream(codec, rate=rate)
        except (av.FFmpegError, ValueError) as exc:
            raise self._cannot_hold(codec, exc, hdr["transfer"] if hdr else None) from None
        stream.width, stream.height = self._size
        stream.pix_fmt = pix_fmt
        tag_hevc_for_apple(stream, self._container)

        sar = frame.meta.get("sample_aspect_ratio")
        if sar:  # anamorphic pixels keep their shape, as FFmpeg keeps them
            stream.codec_context.sample_aspect_ratio = sar
            self._sar_note(stream, sar)
        matrix = frame.meta.get("display_matrix")
        if matrix:  # input.autorotate = false, or no quarter turn: still shown turned
            if set(self._container.format.name.split(",")) & KEEPS_DISPLAY_MATRIX:
                stream.set_display_matrix(list(matrix))
            else:  # said, not claimed kept (trial 120 F2)
                self.notes.append(
                    f"{self.name}: {self._container.format.name} holds no display matrix: the "
                    f"input's, which {describe(matrix)}, is not kept, and players show the "
                    "picture as stored (.mp4, .mov, .mkv and .webm keep it)")
        if constant_rate(self._container.format) and src is not None and src.rate:
            # One frame a tick: Ogg's VP8 and Theora mappings count frames (at
            # any other time base the demuxer put the first frame one frame
            # late, 0.04 s at 25 fps, trial 49), and AVI's index does (an empty
            # entry for each tick between frames). FFmpeg uses 1 / rate too, at
            # the rate it guesses (r_frame_rate, the one every frame's time
            # is a multiple of): at the average rate of a variable-rate phone
            # clip (13.3 fps where frames came up to 30 a second) frames landed
            # on ticks already taken and were re-timed late, 3.9 s became 5.1.
            rate = Fraction(guessed or src.rate)
            # (MPEG-1/2 in AVI or MPEG-PS: the nearest rate they code, trial 143 F2)
            time_base = 1 / (_mpeg_rate(rate) if codec in _RATE_CODECS else rate)
            self._cfr = True
            # FFmpeg writes AVI in its variable-rate mode on the same ticks: the
            # muxer leaves an empty index entry for each tick of a gap (a 30 fps
            # clip missing 21 frames: 99 frames, where repeating gave 120; a
            # 1000-tick Matroska clip: 241 frames, not 3,978: trial 101 F4)
            self._fill_gaps = "avi" not in self._container.format.name.split(",")
        elif codec in _RATE_CODECS and src is not None and src.rate:
            # MPEG-1/2 video codes the frame rate from the encoder's time base
            # ("MPEG-1/2 does not support 12800/1 fps" at a file's own time
            # base: every input but an .mpg refused, trial 138 F1); FFmpeg's
            # CLI gives its encoders 1 / rate. The frames go on those ticks as
            # in AVI's variable-rate mode: a gap stays a gap.
            time_base = 1 / _mpeg_rate(Fraction(guessed or src.rate))
            self._cfr = True
            self._fill_gaps = False
        if time_base is not None:
            stream.time_base = time_base
            stream.codec_context.time_base = time_base
        if cfg.threads:
            stream.codec_context.thread_count = cfg.threads
        stream.thread_type = "AUTO"
        options: dict[str, str] = {}
        if cfg.bitrate:
            stream.bit_rate = parse_bitrate(cfg.bitrate)
        elif codec in _CRF_ENCODERS:
            options["crf"] = str(cfg.crf)
            if codec.startswith("libvpx"):
                stream.bit_rate = 0
        elif stream.codec_context.codec.lossy and codec != "prores_ks":
            # mpeg4, mjpeg, mpeg2video...: no constant rate factor; FFmpeg
            # warns that -crf was not used and writes its default bitrate
            # (mpeg4 at 640x360: about 400 kb/s, 27 dB from its input)
            self.notes.append(f"{self.name}: {codec} has no constant rate factor (crf "
                              f"{cfg.crf} is not used) and is written at FFmpeg's default "
                              "bitrate, as ffmpeg writes it; -b:v (output.bitrate) sets it")
        if codec in _X26X and cfg.preset:
            options["preset"] = cfg.preset
        elif codec.startswith("libvpx") and cfg.preset in _FAST_PRESETS:
            # libvpx's own default (deadline good, cpu-used 0-1) wrote VP9
            # 1080p at about 1 frame/s here, against x264 veryfast's 100+:
            # x264's fast presets map to its real-time mode (FFmpeg's
            # -deadline realtime -cpu-used 8, VP9 rows in parallel)
            options.update({"deadline": "realtime", "cpu-used": "8"})
            if codec == "libvpx-vp9":
                options["row-mt"] = "1"
        if self._fragmented and codec in _X26X:
            # A fragmented MP4 has no edit list to hide the B-frames' reordering
            # delay: the video started 2 frames (67 ms at 30 fps) after the
            # copied audio and after the input's first frame. Without B-frames
            # the first frame is shown at its own time (FFmpeg keeps the delay).
            options["bf"] = "0"
        if codec in _X26X and self._container.format.name == "avi":
            # AVI stores no presentation times: a player took the B-frames'
            # reordering delay as the frames' time, the picture 67 ms late
            # against its sound at 30 fps (FFmpeg's own AVI codec, MPEG-4
            # Part 2, writes none)
            options["bf"] = "0"
        if codec == "libx265":  # x265 prints its banner itself, past FFmpeg's logging
            options["x265-params"] = "log-level=" + ("error" if self.quiet else _x265_log)
            if hdr:  # mastering display and content light level SEI, VUI colour tags
                options["x265-params"] += "".join(
                    f":{k}={v}" for k, v in hdr.get("x265-params", {}).items())
        stream.codec_context.options = options
        ctx = stream.codec_context
        first = frame.av_frame
        # the decoded picture the first frame came from, also where a
        # processor replaced it: a dehazed PQ video's metadata went unsaid
        # (trial 179 F1), a segment's colour tags were lost (F3)
        decoded = frame.decoded
        self._first_trc = decoded.color_trc if decoded is not None else None
        if (decoded is not None and not hdr and not frame.meta.get("display_sdr")
                and _hdr10_static(decoded)):
            # dropped without a word (trial 138 F6; FFmpeg 5.1 drops it too)
            self.notes.append("the input's HDR10 static metadata (mastering display, content "
                              "light level) is not written to the output; players fall back "
                              "to their defaults for this PQ video")
        tagged = codec != "libvpx" and (  # VP8: BT.601 limited range, whatever is asked
            codec in _TAGGING_ENCODERS or codec.startswith(_TAGGING_PREFIXES)
            or self._container.format.name in ("matroska", "webm"))
        if first is not None and first.format.name.startswith("yuv") and (tagged or (
                colour_standard(first.colorspace, first.color_range, first.format.name)
                == ("bt601", "tv"))):
            # no RGB conversion here: keep the source's colour tags (a file that
            # cannot say its matrix or range is read as BT.601 limited range:
            # then frames in another standard are converted, below)
            ctx.colorspace, ctx.color_range = first.colorspace, first.color_range
            ctx.color_primaries, ctx.color_trc = first.color_primaries, first.color_trc
            self._reference = (first.format.name, first.colorspace, first.color_range)
            self._standard = colour_standard(first.colorspace, first.color_range,
                                             first.format.name)
            self._first_standard = self._standard
        elif (first is not None and not first.format.name.startswith("yuv")
              and not (_rgb_format(first.format.name) and not _rgb_format(pix_fmt))):
            # grey, or RGB into RGB: the samples keep their meaning, and their tags
            ctx.colorspace, ctx.color_range = first.colorspace, first.color_range
            ctx.color_primaries, ctx.color_trc = first.color_primaries, first.color_trc
        elif first is not None and _rgb_format(first.format.name):
            # RGB-coded video (libx264rgb, FFV1 bgr0: the identity matrix, full
            # range) into a YUV format: converted here as processed pictures are,
            # BT.601 limited range. Its matrix tag carried over made decoders
            # read the YUV samples as G, B, R (trial 138 F4: 12 dB).
            self._rgb_into_yuv = True
            ctx.colorspace, ctx.color_range = BT601, 1
            ctx.color_primaries, ctx.color_trc = first.color_primaries, first.color_trc
        else:  # converted from RGB here or by swscale: BT.601, limited range
            if first is not None:  # a YUV standard the output cannot name
                self._first_standard = colour_standard(first.colorspace, first.color_range,
                                                       first.format.name)
                self.notes.append(
                    f"{codec} in {self.path.suffix or self._container.format.name} cannot say "
                    f"the input's colour standard ({_standard_name(self._first_standard)}): "
                    "the video is converted to BT.601 limited range, as players read it")
            ctx.colorspace, ctx.color_range = BT601, 1
            # The RGB values are still in the source's primaries and transfer
            # (only the YUV matrix changed): keep those tags, or a BT.709 or
            # HLG source is shown as untagged SDR.
            # A batch segment's source has no stream to ask: its decoded
            # picture says the same (trial 179 F3: an HLG file's joined
            # segments were tagged "unknown", shown as SDR).
            decoder = getattr(getattr(src, "video_stream", None), "codec_context", None)
            decoder = decoder if decoder is not None else decoded
            if decoder is not None and not frame.meta.get("colour"):
                ctx.color_primaries = decoder.color_primaries
                ctx.color_trc = decoder.color_trc
                if frame.meta.get("display_sdr") and (
                        decoder.color_trc in _HDR_TRC or decoder.color_primaries == _BT2020):
                    # a tone mapper's SDR picture of a PQ / HLG / BT.2020 source was
                    # labelled HLG, BT.2020: players showed it too dark or too
                    # saturated (trial 37)
                    ctx.color_primaries = ctx.color_trc = _BT709
                    self.notes.append("the tone-mapped output is SDR: tagged BT.709, not "
                                      "with the input's HDR transfer and primaries")
        self._stream = stream
        if src is not None:
            self._container.metadata.update(
                {k: v for k, v in src.metadata.items() if k.lower() != "encoder"}
            )
            self._copy_video_tags(src)
            keep_field_order(src, stream)
            self._add_copy_streams(src)
            self._add_chapters(src)
        mark_output(self._container, stream)
        self._streams_added()

    def _streams_added(self) -> None:
        """Called once every stream of the container is added, before anything is muxed."""

    def _add_chapters(self, src: StreamInfo) -> None:
        """Write the input's chapters, moved as the timestamps are (see :func:`add_chapters`).

        Batch segments carry none (the joined file is given them).
        """
        if not self._keep_source_time:
            self.notes.extend(add_chapters(self._container, src.chapters, self._t0, self._kind))

    def _sar_note(self, stream: Any, sar: Fraction) -> None:
        """Name an anamorphic picture that this output shows with square pixels.

        MP4 and MOV carry the shape in the container; Matroska and WebM only
        where the codec's own bitstream does (H.264, HEVC, MPEG-4 Part 2,
        MPEG-1/2, JPEG's density): FFmpeg writes Matroska's display size from
        a stream field PyAV does not set, so VP8, VP9, AV1 and FFV1 there lose
        it (trial 82 F2: a 4:3 SAR shown at 16:9 instead of 64:27).
        """
        formats = set(self._container.format.name.split(","))
        if not formats & {"matroska", "webm"} or stream.codec_context.codec.canonical_name in (
                "h264", "hevc", "mpeg4", "mpeg1video", "mpeg2video", "mjpeg"):
            return
        w, h = self._size
        dar, square = Fraction(w, h) * sar, Fraction(w, h)
        self.notes.append(
            f"{self.name}: the input's pixels are not square (sample aspect ratio "
            f"{sar.numerator}:{sar.denominator}) and {stream.codec_context.name} in "
            f"{self.path.suffix or 'Matroska'} keeps no such shape here: it shows "
            f"{square.numerator}:{square.denominator} where the input shows "
            f"{dar.numerator}:{dar.denominator} (.mp4 and .mov keep it)")

    def _start_image(self, frame: Frame, rate: Any) -> None:
        assert self.image is not None  # only called for picture outputs
        codec, pix_fmt = self.image
        deep = frame.image.dtype == np.uint16
        if deep and codec in ("png", "tiff"):
            pix_fmt = "rgb48be" if codec == "png" else "rgb48le"
        stream = self._container.add_stream(codec, rate=rate)
        h, w = frame.shape
        self._size = (w, h)
        stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
        time_base = frame.time_base or Fraction(1, 25)
        stream.time_base = stream.codec_context.time_base = time_base
        if codec == "mjpeg":  # FFmpeg's -q:v 2, near-lossless JPEG
            stream.codec_context.qmin = stream.codec_context.qmax = 2
        decoded = frame.decoded
        if (decoded is not None and decoded.color_trc in _HDR_TRC
                and not frame.meta.get("display_sdr")):
            # a PQ picture written untagged was shown as sRGB, its sky at
            # 56 % grey, without a word (trial 180 F6)
            self.notes.append(f"{self.name}: the picture keeps the input's "
                              f"{_trc_name(decoded.color_trc)} signal, but a {codec} file "
                              "carries no transfer tag: viewers show it as SDR (a video "
                              "output keeps the tag)")
        self._stream = stream

    def _copy_video_tags(self, src: StreamInfo) -> None:
        """The input video stream's tags, dispositions and timecode onto the output's."""
        ist, ost = src.video_stream, self._stream
        if ist is not None:
            keep_marks(ist, ost, ENCODING_TAGS)
        if src.timecode:
            names = set(self._container.format.name.split(","))
            # (MP4 was said not to keep it where it had, trial 81 F4)
            if names & TIMECODE_FORMATS:
                ost.metadata["timecode"] = src.timecode
            else:
                self.notes.append(f"the start timecode {src.timecode} was not kept: the "
                                  f"{self._kind} container has no timecode track "
                                  "(use .mov or .mkv)")

    def _convert_subtitles(self, ist: Any, target: str, label: str) -> None:
        """Copy text subtitle stream ``ist`` converted to ``target``, with its tags and a note."""
        try:
            conv = SubtitleConvert(self._container, ist, target)
        except (av.FFmpegError, ValueError) as exc:
            raise StreamsRefused(f"output {self.name}: cannot convert input stream {label} "
                                 f"to {target} ({exc}); {self._advice(ist)}") from None
        keep_marks(ist, conv.stream)
        self._subtitles[ist.index] = conv
        self._copy_map[ist.index] = conv.stream
        self.notes.append(conv.note(self.name, self._kind, label))

    @property
    def _kind(self) -> str:
        """The container as messages name it: the file's extension, or the muxer's name
        where there is none (a pipe, ``-o out -f mpegts``: "the  container", trial 100)."""
        return self.path.suffix or self._container.format.name.split(",")[0]

    def _advice(self, ist: Any = None) -> str:
        """What to do about an input stream this output cannot take: a container that
        holds ``ist``'s codec, if one of .mkv, .mp4 and .mov does, or leaving it out.

        (A phone's mov_text subtitles sent to .ts were told "use .mkv", which
        refuses them too, trial 60.) An output without an extension (a pipe) is
        told the muxer to name with ``-f``.
        """
        leave = "--set output.copy_streams=false to leave it out"
        own = self.path.suffix.lower()
        muxers = set(self._container.format.name.split(","))
        name = codec_name(ist) if ist is not None else None
        fits = [(ext, fmt) for ext, fmt in _HOLDERS
                if ext != own and not (not own and fmt in muxers)
                and (name is None or name in _supported_codecs(fmt))]
        if not fits:
            return f"use {leave}"
        ext, fmt = fits[0]
        return f"use {ext if own else '-f ' + fmt} or {leave}"

    def _add_copy_streams(self, src: StreamInfo) -> None:
        # FFmpeg's codec lists are only complete for muxers with codec tag tables;
        # elsewhere (MPEG-TS, ...) the muxer itself refuses at the first packet.
        formats = set(self._container.format.name.split(","))
        one_audio = "flv" in formats  # see below
        for ist in src.side_streams:
            name = codec_name(ist)
            # a data stream has no codec context; its codec is named all the
            # same (KLV was "unknown codec", trial 150 F5)
            known = name or getattr(ist, "name", None)
            label = f"#{ist.index} {ist.type} ({known or 'unknown codec'})"
            ctx = ist.codec_context
            if one_audio and ist.type == "audio" and (self._transcode or any(
                    s.type == "audio" for s in self._copy_map.values())):
                # FLV holds one audio track: a second was written as Enhanced
                # FLV's multitrack audio, which FFmpeg before 7.1 reads as one
                # track and fails on (trial 81 F8); FFmpeg's CLI keeps one
                self.notes.append(f"stream {label} was left out: the {self._kind} "
                                  "container holds one audio track (.mkv or .mp4 hold them all)")
                continue
            if ist.type == "audio" and ctx is None:
                # A codec this FFmpeg cannot name (Matroska's ADPCM of Flash
                # copied by FFmpeg, "A_MS/ACM"): neither copied nor decodable
                # (was an internal error)
                self.notes.append(f"stream {label} was left out: this FFmpeg does not know "
                                  "its codec, so it can be neither copied nor re-encoded")
                continue
            if ist.type == "audio" and ctx is not None and not (ctx.sample_rate
                                                                 and ctx.channels):
                # Its parameters never arrived (an MPEG-TS cut before the stream's
                # first packet): the MP4 muxer refused the whole file at its header.
                self.notes.append(f"stream {label} was left out: its sample rate and "
                                  "channels are unknown (no packet of it was found; the "
                                  "input may be cut short)")
                continue
            if ist.type == "audio" and audio_unfit(self._container, ist):
                codec = own_audio_codec(self._container)
                if codec is not None:
                    try:
                        tr = AudioTranscode(
                            self._container, ist, codec, self._t0, max_gap=FORWARD_GAP_S,
                            timeline=self._timeline, pad=is_ogg(self._container))
                    except OutputError as exc:
                        raise StreamsRefused(
                            f"output {self.name}: {exc}; {self._advice(ist)}") from None
                    self._transcode[ist.index] = tr
                    self.notes.append(re_encoding_note(tr, self._container, ist, self.name,
                                                       self._kind, label))
                    continue
            if cannot_hold(self._container, ist):
                if ist.type == "data":
                    self.skipped_streams.append(label)
                    continue
                target = text_target(self._container, ist)
                if target is not None:
                    # a dashcam's GPS captions as SubRip into .mp4, or as timed text
                    # into .mkv, were refused, where FFmpeg converts them (trial 81 F7)
                    self._convert_subtitles(ist, target, label)
                    continue
                raise StreamsRefused(
                    f"output {self.name}: the {self._kind} container cannot hold input "
                    f"stream {label}; {self._advice(ist)}"
                )
            try:
                ost = self._container.add_stream_from_template(ist)
            except (av.FFmpegError, ValueError) as exc:
                if ist.type == "data":
                    self.skipped_streams.append(label)
                    continue
                target = text_target(self._container, ist)
                if target is not None:
                    # SubRip into NUT, which lists no tag for it but holds ASS
                    # (trial 101 F7)
                    self._convert_subtitles(ist, target, label)
                    continue
                raise StreamsRefused(
                    f"output {self.name}: cannot copy stream {label}: {exc}; "
                    f"{self._advice(ist)}"
                ) from None
            keep_marks(ist, ost)
            name_layout(ist, ost)
            self._copy_map[ist.index] = ost
        self._add_pictures(src, formats)
        self.notes.extend(add_attachments(self._container, src.attachments, self._kind))
        self._framed = {ist.index for ist in src.side_streams
                        if ist.index in self._copy_map and ist.codec_context is not None
                        and ist.codec_context.name == "aac" and not ist.codec_context.extradata}
        self._adts_to_asc(src, formats)

    def _adts_to_asc(self, src: StreamInfo, formats: set[str]) -> None:
        """AAC from MPEG-TS into a container whose header needs its config record.

        ADTS frames carry no AudioSpecificConfig. A finished file's muxer
        builds it at the end; a pipe, a socket or a fragmented MP4 writes its
        header first (FFmpeg's CLI fails there too: "Operation not
        permitted" for a crash-safe MP4), so the record is built from the
        stream's parameters and the ADTS headers are stripped from the
        packets, as FFmpeg's aac_adtstoasc filter does.
        """
        if (self.seekable and not self._fragmented) or not formats & _ASC_FORMATS:
            return
        for ist in src.side_streams:
            cc, ost = ist.codec_context, self._copy_map.get(ist.index)
            if ost is None or cc is None or cc.name != "aac" or cc.extradata:
                continue
            asc = audio_specific_config(cc.profile, cc.sample_rate, cc.layout.nb_channels)
            if asc is not None:
                ost.codec_context.extradata = asc
                self._adts.add(ist.index)

    def _add_pictures(self, src: StreamInfo, formats: set[str]) -> None:
        """Cover art: kept by MP4/MOV and Matroska, noted as left out elsewhere."""
        for ist in src.attached_pictures:
            name = ist.codec_context.name if ist.codec_context else "unknown"
            label = f"#{ist.index} cover art ({name})"
            ok = bool(formats & (_MP4_FORMATS | {"matroska"})) and name in ("mjpeg", "png")
            if ok:
                try:
                    ost = self._container.add_stream_from_template(ist)
                    ost.metadata.update(ist.metadata)
                    ost.disposition = ist.disposition
                    self._copy_map[ist.index] = ost
                    continue
                except (av.FFmpegError, ValueError, AttributeError, TypeError):
                    pass
                if "matroska" in formats:
                    if self._attach_picture(ist, name):
                        continue
                    # (not "cannot hold": it can, from a file; trial 142 F4)
                    self.notes.append(f"stream {label} was left out: read from a pipe, its "
                                      "image cannot be read again to attach it to the "
                                      f"{self._kind} output (give the file's path)")
                    continue
            self.notes.append(f"stream {label} was left out: the {self._kind} "
                              "container cannot hold an attached picture")

    def _attach_picture(self, ist: Any, codec: str) -> bool:
        """A Matroska input's cover image, attached to a Matroska output as the file it was.

        FFmpeg reads an image attached to a Matroska file as a cover-art
        stream, which PyAV will not add to a Matroska output ("does not
        support 'png' codec"): it was left out with a note that Matroska
        holds none (trial 138 F2). Its bytes are read again from the input
        file (the picture's one packet) and attached under its own name.
        """
        data = attached_picture_bytes(ist)
        if data is None:
            return False
        tags = {k.lower(): v for k, v in ist.metadata.items()}
        mime = tags.get("mimetype") or ("image/png" if codec == "png" else "image/jpeg")
        filename = tags.get("filename") or f"cover.{'png' if codec == 'png' else 'jpg'}"
        try:
            self._container.add_attachment(filename, mime, data)
        except (av.FFmpegError, ValueError, TypeError):
            return False
        return True

    # -- writing ---------------------------------------------------------
    def write(self, frame: Frame) -> None:
        """Encode one frame (RGB image or untouched decoded frame)."""
        if self._closed:
            raise OutputError("write() on a closed sink")
        if self._stream is None:
            self._start(frame)
        av_frame = self._to_av(frame)
        before = self._last_pts
        av_frame.pts = self._video_pts(frame)
        av_frame.time_base = self._stream.codec_context.time_base
        av_frame.pict_type = av.video.frame.PictureType.NONE
        if self._drop:  # too early for the next free tick (constant rate)
            self._drop = False
            self.corrections[_CFR_DROPS] += 1
            # not in the file: a report beside it leaves it out (it showed the
            # frame at a made-up time, trial 76); the first recorder's word
            frame.meta.setdefault("output_time", None)
            # and the run's summary counts it as dropped, not as written (it
            # said "wrote 150 frames ... dropped 0" of an AVI holding 122:
            # trial 103 F1)
            frame.meta["dropped_at_output"] = True
            if self._fill_gaps:  # still the picture a gap after it repeats, as in FFmpeg's
                self._last_av = av_frame
            return
        if av_frame.pts is not None and av_frame.time_base:
            # where the frame lands in this file, for a report beside it (the
            # input's clock, a TS's 1.48 s start and its late frames stepping
            # back, was the report's time axis: trial 74); the first recorder's
            frame.meta.setdefault("output_time", float(av_frame.pts * av_frame.time_base))
        if self._cfr and av_frame.pts is not None:
            if before is not None and self._fill_gaps:
                self._fill_ticks(before, av_frame.pts)
            self._last_av = av_frame
        if self.image is not None:
            # One picture, the last frame: encoded once at close (encoding every
            # frame to PNG made a 5 s clip take 5.6 s instead of 1.0).
            self._held = av_frame
            self.frames_written += 1
            return
        self._note_duration(frame, av_frame.pts)
        try:
            packets = self._stream.encode(av_frame)
        except (av.FFmpegError, ValueError) as exc:
            raise self._encode_failed(exc) from None
        try:
            self._mux_video(packets)
        except (av.FFmpegError, ValueError) as exc:
            raise self._mux_failed(exc, f"writing {self.name}") from None
        if self._ahead:  # the frame's own ticks past its first (constant rate)
            self._fill_ticks(av_frame.pts, av_frame.pts + self._ahead + 1)
            self._ahead = 0
        self.frames_written += 1
        t = frame.time
        if t is not None:
            self._last_time = t
        self._mux_side(self._last_time)

    def _fill_ticks(self, before: int, pts: int) -> None:
        """Repeat the last frame on the ticks between ``before`` and ``pts`` (constant rate).

        Ogg's VP8 and Theora mappings time a page's last packet only and
        count the others back a tick each: a frame after a gap of a
        variable-rate input was shown early by the whole gap, then frozen
        (trial 50). FFmpeg writes such outputs at a constant rate the same
        way; every repeated frame is counted.
        """
        if self._last_av is None:
            return
        for tick in range(before + 1, pts):
            self._last_av.pts = tick
            try:
                self._mux_video(self._stream.encode(self._last_av))
            except (av.FFmpegError, ValueError) as exc:
                raise self._encode_failed(exc) from None
            self.corrections[_REPEATS if self._fill_gaps else _END_REPEATS] += 1

    def _note_duration(self, frame: Frame, pts: int | None) -> None:
        """Remember how long the frame at ``pts`` is shown, in the codec's ticks.

        A frame is shown until the next one replaces it, and the video ends
        where the frame shown last ends. A decoded frame's duration is its
        packet's, and MP4 times packets in decoding order: with B-frames a
        pause in the picture lands on a frame shown later, which then
        seemed to last the whole pause; taken as the end, 15 s of input
        came out 22 s long, the last 7 s one frozen frame (trial 81 F9).
        """
        tb = self._stream.codec_context.time_base
        if pts is None or not tb:
            return
        before, self._noted_pts = self._noted_pts, pts
        if before is not None and before in self._durations:  # not muxed yet
            self._durations[before] = max(1, min(self._durations[before], pts - before))
        ticks = frame.meta.get("duration")
        if not ticks or not frame.time_base:
            self._end_pts = None  # its end is the muxer's to judge
            return
        if len(self._durations) > 1024:  # packets that never came back with their pts
            self._durations.clear()
        shown = max(1, round(ticks * frame.time_base / tb))
        self._end_pts = pts + shown
        if not self._cfr:  # (there every packet is one tick: _mux_video)
            self._durations[pts] = shown

    def _mux_video(self, packets: Any, *, last: bool = False) -> None:
        """Mux encoded packets with their frames' durations.

        ``last``: these are the encoder's final packets. MP4 and MOV store a
        sample's duration as the gap to the next one in decoding order, so
        the file ends where the last packet in decoding order ends; with
        B-frames that is not the frame shown last, and a held last frame
        lost its time (4.5 s came out as 2.0). That packet is stretched to
        the end of the frame shown last.
        """
        packets = list(packets) if last else packets
        stretch = last and self._end_pts is not None and bool(
            set(self._container.format.name.split(",")) & _MP4_FORMATS)
        for k, packet in enumerate(packets):
            ticks = self._durations.pop(packet.pts, None) if packet.pts is not None else None
            if self._cfr:
                # One frame a tick, repeats included. Ogg's VP8 page is timed
                # by its last packet's end (pts + duration) and the demuxer
                # counts back a tick per frame: a repeat without a duration,
                # or a frame carrying a whole gap, read back as ...8, 9, 15,
                # 11... and the picture one tick late (trial 62)
                ticks = 1
            if ticks:
                packet.duration = ticks
            if self._first_dts is None and packet.dts is not None:
                self._first_dts = packet.dts
            if packet.pts is not None:
                self._first_pts = packet.pts if self._first_pts is None else \
                    min(self._first_pts, packet.pts)
            if stretch and k == len(packets) - 1 and packet.dts is not None:
                # the samples then span as long as the frames shown: first_dts
                # .. end_pts less the decoding delay (first_pts - first_dts)
                delay = (self._first_pts or 0) - (self._first_dts or 0)
                end = (self._end_pts or 0) - max(delay, 0)
                packet.duration = max(packet.duration or 0, end - packet.dts)
            self._container.mux(packet)
            self._started = True

    def _video_pts(self, frame: Frame) -> int | None:
        """The frame's pts, made strictly increasing; every change is counted.

        A jump back of more than 0.1 s (or, in joinable inputs such as
        MPEG-TS, forward past 10 s, FFmpeg's threshold) is a discontinuity
        and re-bases what follows, by the shift every stream takes at that
        join (:class:`~vidclear.io.joins.Timeline`); a smaller step
        back (a late frame) is re-timed to just after the previous frame.
        """
        pts = frame.pts
        if pts is None:
            return None
        tb = self._stream.codec_context.time_base or frame.time_base
        if tb and frame.time_base and frame.time_base != tb:
            # Ogg's time base of 1 / rate: the first frame's place between two
            # ticks (a trim at 2.3 s of 25 fps puts it at 0.5 of a tick) is
            # kept for all, so a tick stays a frame (rounding each alone put
            # every other frame on the tick before); the video moves by under
            # half a frame
            exact = Fraction(pts) * Fraction(frame.time_base) / Fraction(tb)
            if self._tick_phase is None:
                self._tick_phase = exact - round(exact)
                # the picture moves by -phase ticks, and by what rounding the
                # output's start to a tick (below) leaves: the sound moves with
                # it (the input's picture 0.023 s in put the sound 17 ms early)
                t0 = Fraction(self._t0).limit_denominator(10**9) / Fraction(tb)
                self._phase_s = float((t0 - round(t0) - self._tick_phase) * Fraction(tb))
                for tr in self._transcode.values():
                    tr.delay(self._phase_s)
            ticks_in = exact - self._tick_phase + _OFF_MIDPOINT
            pts = round(ticks_in)
        else:
            ticks_in = Fraction(pts)
        if self._last_pts is None and self._t0 and tb:
            self._video_offset -= round(self._t0 / tb)
        raw = pts
        pts += self._video_offset
        last = self._last_pts
        if last is None and self._cfr and self._fill_gaps and tb:
            # the first frame holds its own ticks too (see _constant_rate_tick)
            self._ahead = self._shown_ticks(frame, tb) - 1
        if last is not None and tb:
            step = self._frame_ticks(tb)
            gap = float((pts - last) * tb)
            if self._timeline.jumped(gap) and not frame.meta.get("late"):
                own = self._video_offset + last + step - pts  # on just after the last frame
                offset = round(Fraction(self._timeline.shift(
                    "video", float(raw * tb), float(own * tb), ahead=gap > 0)
                ).limit_denominator(10**9) / tb)
                # the sound's shift at this join, unless it puts the frame on its past
                self._video_offset = offset if raw + offset > last else own
                pts = raw + self._video_offset
                self.corrections["video discontinuities re-based"] += 1
            elif self._cfr and (self._fill_gaps or pts <= last):
                placed = self._constant_rate_tick(frame, tb, ticks_in + self._video_offset, last)
                if placed is None:
                    self._drop = True
                    return last
                if pts <= last:
                    self.corrections[_CFR_MOVED] += 1
                pts, self._ahead = placed
            elif pts <= last:
                pts = last + 1
                self.corrections["late video frames re-timed"] += 1
            elif gap > _PAUSE_NOTE_S and not (self._cfr and self._fill_gaps) and not self.live:
                # (a live run's gaps are its drops; a paced file's pauses, its
                # source "live" too, went unnamed: trial 154 F2)
                self._note_pause(gap, float(last * tb))
        self._last_pts = pts + self._ahead
        return pts

    def _constant_rate_tick(self, frame: Frame, tb: Fraction, ticks: Fraction,
                            last: int) -> tuple[int, int] | None:
        """Where FFmpeg's video sync puts ``frame`` in a constant-rate container: None to drop it.

        ``ticks`` is the frame's exact time in ticks, ``last`` the last tick
        written. Returns the frame's first tick and how many more ticks it
        holds. A container holds one frame a tick: every frame on a taken
        tick re-timed one tick late, the frames of a variable-rate Matroska
        clip (whose guessed rate is its average) piled up and its picture
        ran 1.7 s behind its sound (trial 62); every one dropped, that clip
        lost 28 frames of 150 where FFmpeg loses 9 (trial 103 F1). So, as
        FFmpeg: a frame early for the next free tick by more than its
        duration and 0.6 of a tick (AVI, the variable-rate mode) or 1.1 (the
        others, the constant-rate mode) is dropped; one less early goes on
        that tick, so the picture runs at most about two ticks late. In the
        constant-rate mode the frame's own duration is written at once, and
        a gap of more than 1.1 ticks before it is filled with the frame
        before for all but the last 0.6 of a tick (rounded), then with this
        frame: in a gap it shows up to half a tick early, as in FFmpeg's Ogg
        and MPEG-PS outputs. (AVI's gaps are left to the muxer.)
        """
        after = last + 1
        shown = self._shown_ticks(frame, tb)
        drift = float(ticks - after)
        span = drift + shown  # (as FFmpeg has it, not changed by the move below)
        if not self._fill_gaps:
            return None if span <= -_VFR_EARLY else (max(after, round(ticks)), 0)
        if drift < 0 < span:  # early: put on the next free tick
            drift = 0.0
        if span < -_CFR_EARLY:
            return None
        if span <= _CFR_EARLY:
            return after, 0
        # rounded as llrintf rounds them: in single precision, half to even
        copies = round(float(np.float32(span)))
        before = round(float(np.float32(drift - 0.6))) if drift > _CFR_EARLY else 0
        return after + before, copies - before - 1

    def _note_pause(self, gap: float, at: float) -> None:
        """Name a pause of the input's video that is kept (the first few; then count them)."""
        self._pauses += 1
        if self._pauses <= _PAUSE_NOTES:
            self.notes.append(f"{self.name}: the input's video pauses for {gap:.1f} s at "
                              f"{at:.1f} s: kept, as in the input (a pause of the recording, or "
                              "frames lost from damaged data)")
        elif self._pauses == _PAUSE_NOTES + 1:
            self.notes.append(f"{self.name}: the input's video pauses more than "
                              f"{_PAUSE_NOTES} times; the later pauses are kept unnamed")

    @staticmethod
    def _shown_ticks(frame: Frame, tb: Fraction) -> int:
        """How long ``frame`` lasts as FFmpeg's video sync reads it, in whole ticks of ``tb``.

        Its packet's duration (not the time to the next frame: a Matroska
        file's packets often have none, and FFmpeg then counts a tick),
        rounded half to even as ``lrintf`` rounds it; 1 when it has none.
        """
        ticks = frame.meta.get("packet_duration")
        if not ticks or not frame.time_base:
            return 1
        return round(Fraction(ticks) * Fraction(frame.time_base) / Fraction(tb)) or 1

    def _frame_ticks(self, tb: Fraction) -> int:
        rate = self.info.rate if self.info is not None else None
        if not rate:
            return 1
        return max(1, round(1 / (float(rate) * float(tb))))

    def _to_av(self, frame: Frame) -> Any:
        w, h = self._size
        decoded = frame.decoded
        if (decoded is not None and self._first_trc is not None and not self._trc_changed
                and decoded.color_trc != self._first_trc
                and {decoded.color_trc, self._first_trc} & set(_HDR_TRC)):
            # a trip of SDR and PQ files: the SDR file's signal written as PQ
            # without a word, its sky at 6500 cd/m² (trial 180 F2)
            self._trc_changed = True
            self.notes.append(
                f"the input's transfer changed mid-stream (from {_trc_name(self._first_trc)} "
                f"to {_trc_name(decoded.color_trc)}): such frames are written as they are "
                f"under the first's {_trc_name(self._first_trc)} tag, not converted, and "
                "show too bright or too dark; run the files apart")
        if frame.shape != self._frame_shape:
            h0, w0 = self._frame_shape
            # the input kept its size: a processor changed it (the note blamed
            # the input, trial 74)
            whose = ("the processed frames' size" if frame.original is not None
                     and frame.original.shape == self._input_shape
                     else "the input's frame size")
            if self.size_change == "error":
                raise OutputError(
                    f"{whose} changed mid-stream from {w0}x{h0} to "
                    f"{frame.shape[1]}x{frame.shape[0]} (input.size_change = \"error\"; "
                    "\"scale\" scales to the first size)")
            if not self.corrections["frames scaled to the first size"]:
                self.notes.append(f"{whose} changed mid-stream from {w0}x{h0} to "
                                  f"{frame.shape[1]}x{frame.shape[0]}: scaled to {w0}x{h0}")
            self.corrections["frames scaled to the first size"] += 1
            image = cv2.resize(np.ascontiguousarray(frame.image), (w0, h0),
                               interpolation=cv2.INTER_AREA)
            frame = frame.replace(image)
        fh, fw = frame.shape
        av_frame = frame.av_frame
        if av_frame is not None and (fw, fh) == (w, h):
            if not av_frame.format.name.startswith("yuv"):
                if not self._rgb_into_yuv:
                    return av_frame  # grey, or RGB into RGB: the encoder's conversion
                # RGB-coded into YUV: converted below, as a processed picture is
            else:
                standard = colour_standard(av_frame.colorspace, av_frame.color_range,
                                           av_frame.format.name)
                if standard == self._standard:
                    return av_frame  # decoded format (untouched or as planes): no RGB trip
                # another YUV standard than the stream says (a trip or a join of
                # differently tagged files): its values are converted, else they
                # are read in the stream's standard, off by 5-12 levels (trial 43)
                if self.image is None:  # a picture is converted to RGB or JPEG's YUV anyway
                    if standard != self._first_standard and not self._standard_changed:
                        self._standard_changed = True
                        self.notes.append(
                            f"the input's colour standard changed mid-stream (to "
                            f"{_standard_name(standard)}; the output is "
                            f"{_standard_name(self._standard)}): such frames are converted")
                    self.corrections["frames converted to the stream's colour standard"] += 1
        image = frame.image
        if image.ndim != 3 or image.shape[2] != 3:
            raise ArrayError(f"processor output must be H×W×3 RGB, got shape {image.shape}")
        if (fw, fh) != (w, h):
            # Chroma-subsampled formats need even sizes: repeat the last row/column.
            image = np.pad(image, ((0, h - fh), (0, w - fw), (0, 0)), mode="edge")
        if image.dtype not in (np.uint8, np.uint16):
            raise ArrayError(f"processor output must be uint8 or uint16, got {image.dtype}")
        if self._reference is None or self._standard == ("bt601", "tv"):
            return rgb_to_av(image, self._stream.codec_context.pix_fmt)
        # into the first frame's format and standard, as the stream is tagged
        # (swscale; unasked it writes BT.601 limited range)
        fmt, space, rng = self._reference
        contiguous: Any = np.ascontiguousarray(image)  # uint8 or uint16, checked above
        rgb = av.VideoFrame.from_ndarray(contiguous,
                                         format="rgb48le" if image.dtype == np.uint16 else "rgb24")
        out = rgb.reformat(format=fmt, dst_colorspace=space, dst_color_range=rng)
        out.colorspace, out.color_range = space, rng
        return out

    def _mux_side(self, until: float, *, everything: bool = False) -> None:
        if self.side_packets is None or not (self._copy_map or self._transcode):
            return
        for index, packet in self.side_packets.take_until(None if everything else until):
            tr = self._transcode.get(index)
            if tr is not None:
                self._mux_audio(tr, packet)
                continue
            ost = self._copy_map.get(index)
            if ost is None:
                continue
            if getattr(packet, "is_discard", False) and not self._holds_edit_lists:
                # what an MP4's edit list cuts away: Matroska and MPEG-TS have no such
                # list, and the muxer moved the whole file up to these packets' negative
                # times, playing a trim's cut-away second of sound over no picture
                # (trial 77 T4). The last one is the decoder's pre-roll (an AAC frame
                # overlaps the one before), muxed before the first packet presented.
                if self._preroll.pop(index, None) is not None:
                    self.corrections[_CUT_AWAY.format(ost.type)] += 1
                self._preroll[index] = packet
                continue
            held = self._preroll.pop(index, None)
            if held is not None:
                self._copy_packet(index, ost, held)
            self._copy_packet(index, ost, packet)
        if everything:  # cut-away packets no presented one followed
            for index in list(self._preroll):
                ost = self._copy_map[index]
                del self._preroll[index]
                self.corrections[_CUT_AWAY.format(ost.type)] += 1

    def _copy_packet(self, index: int, ost: Any, packet: Any, *,
                     converted: bool = False) -> None:
        """Mux one copied packet of input stream ``index`` into output stream ``ost``
        (``converted``: a subtitle packet converted already)."""
        conv = None if converted else self._subtitles.get(index)
        if conv is not None:  # text subtitles in the output's own text format
            try:
                packet = conv.convert(packet)
            except (av.FFmpegError, ValueError) as exc:
                self._leave_out(index, ost, exc)
                return
            if packet is None:  # an empty cue (timed text's gap between cues)
                return
        data = bytes(packet) if index in self._framed else None  # once, for both
        if data is not None and not _whole_adts(data):
            # A damaged ADTS frame (a broken header in an MPEG-TS) failed the
            # whole run, blaming the output, in the muxer or its AAC filter
            # (trial 73): left out and counted, as FFmpeg's decoder skips it
            self._leave_out(index, ost, None)
            return
        packet = self._prepare_packet(index, packet, data)
        self._fix_side_timestamps(packet, ost, index)
        packet.stream = ost
        try:
            self._container.mux(packet)
        except av.InvalidDataError as exc:
            self._leave_out(index, ost, exc)  # damaged otherwise
            return
        except (av.FFmpegError, ValueError) as exc:
            raise self._mux_failed(exc, f"copying {ost.type} packets to {self.name}") from None
        self._started = True
        self.packets_copied += 1
        self._side_seen[index] = self._side_seen.get(index, 0) + 1

    def _leave_out(self, index: int, ost: Any, exc: Exception | None) -> None:
        """Count a damaged copied packet of input stream ``index`` left out.

        More than :data:`_DAMAGED_PACKETS` of them, and more than one in
        twenty of the stream's packets, is no damage but a stream that
        cannot be written: the run fails.
        """
        seen = self._side_seen[index] = self._side_seen.get(index, 0) + 1
        key = f"damaged {ost.type} packets of the input left out"
        if self.corrections[key] + 1 > max(_DAMAGED_PACKETS, seen // 20):
            what = f"copying {ost.type} packets to {self.name}"
            if exc is None:
                raise OutputError(f"{what} failed: more than {self.corrections[key]} of its "
                                  f"{seen} packets are no whole AAC (ADTS) frames; the input's "
                                  f"{ost.type} is damaged throughout")
            raise self._mux_failed(exc, what) from None
        self.corrections[key] += 1

    def _mux_audio(self, tr: AudioTranscode, packet: Any | None) -> None:
        """Re-encode one packet of a transcoded audio stream (None: flush it) and mux the result."""
        coded = iter(tr.packets(packet))  # a generator: a long hole's silence is not held
        while True:
            try:
                out = next(coded)
            except StopIteration:
                break
            except OutputError as exc:
                raise OutputError(f"output {self.name}: {exc}; {self._advice()}") from None
            out.stream = tr.stream
            try:
                self._container.mux(out)
            except (av.FFmpegError, ValueError) as exc:
                raise self._mux_failed(exc, f"writing {tr.codec} audio to {self.name}") from None
            self._started = True

    def _video_codec(self) -> str:
        """``output.codec``, or the container's own encoder where it cannot hold H.264.

        FFmpeg without ``-c:v`` writes each muxer's default codec. vidclear's
        default, libx264, gives way in the same way to the container's own
        codec where its list of codecs lacks H.264 and that codec has a
        constant-rate-factor encoder here: VP9 (libvpx-vp9) in WebM, VP8
        (libvpx) in Ogg video (``-o clip.webm`` was refused). A note says so.
        Other containers (MXF, whose MPEG-2 would be written at FFmpeg's
        200 kb/s) and any other ``output.codec`` are left to refuse with advice.
        """
        codec = self.config.codec
        container = self._container
        fmt = container.format.name
        if (codec != _DEFAULT_CODEC or "mpegts" in fmt
                or {"h264", "libx264"} & set(container.supported_codecs)):
            return codec
        try:
            own = av.codec.Codec(container.default_video_codec, "w").name
        except (av.codec.codec.UnknownCodecError, ValueError, TypeError):
            return codec
        if own not in _CRF_ENCODERS:
            return codec
        self.notes.append(f"{self.name}: {fmt} cannot hold H.264 video; written as {own}, "
                          "FFmpeg's choice for it (--set output.codec=... picks another)")
        return own

    def check_video_codec(self, codec: str, hdr_transfer: str) -> None:
        """Refuse now a container that cannot hold ``codec``, which an HDR signal will choose.

        The HDR processor picks the codec (libx265) at its first frame, after
        its bracket detection; a container with a list of the codecs it holds
        (WebM, AVI) is asked up front instead. Containers without such a list
        (Ogg, MXF) still refuse when the file is started (:meth:`_mux_failed`).

        Raises
        ------
        ConfigError
            The container's list lacks ``codec``.
        """
        if self.image is not None:
            return
        try:
            probe = av.open(io.BytesIO(), "w", format=self._container.format.name)
        except (av.FFmpegError, ValueError):
            return
        try:
            probe.add_stream(codec)
        except (av.FFmpegError, ValueError) as exc:
            raise self._cannot_hold(codec, exc, hdr_transfer) from None

    def _cannot_hold(self, codec: str, exc: Exception, hdr_transfer: str | None) -> ConfigError:
        if hdr_transfer:  # the HDR signal chose the codec: output.codec would not change it
            hint = (f"; HDR video ({hdr_transfer}) is written as {codec}: use .mkv, .mp4, .mov "
                    "or .ts")
        else:
            hint = {"webm": "; WebM holds VP8/VP9/AV1: --set output.codec=libvpx-vp9"}.get(
                self.path.suffix.lower().lstrip("."), "")
        return ConfigError(
            f"output {self.name}: the container cannot hold {codec} video{hint} ({exc})")

    def _encode_failed(self, exc: Exception) -> OutputError:
        """The one-line error for a frame the encoder did not take.

        At the first frame the encoder opens: a failure there is the codec's
        refusal of these frames (ffv1 and a 1-pixel-wide picture), named
        with the codec, size and pixel format; FFmpeg's own reason is in its
        log (``-vv``).
        """
        reason = getattr(exc, "strerror", None) or str(exc)
        code = getattr(exc, "errno", None)
        if self.frames_written:
            return OutputError(f"writing {self.name} failed: {reason}", errno=code)
        ctx = self._stream.codec_context
        return OutputError(
            f"output {self.name}: the {ctx.name} encoder could not start for "
            f"{ctx.width}x{ctx.height} {ctx.pix_fmt} video ({reason}; -vv shows FFmpeg's "
            "reason); another codec or pixel format may (--set output.codec=..., "
            "output.pix_fmt=...)", errno=code)

    def _mux_failed(self, exc: Exception, doing: str) -> OutputError:
        """The one-line error for a packet the container did not take.

        The first packet writes the file's header, where a muxer without a
        list of the codecs it holds (Ogg, MXF, ...) refuses streams it cannot
        carry: that is named as such, with the streams, not as a failure of
        whichever packet came first. FFmpeg's reason is kept without the
        temporary file's name.
        """
        reason = getattr(exc, "strerror", None) or str(exc)
        code = getattr(exc, "errno", None)
        if self._started or code not in _REFUSED:  # a full disk, a lost connection, ...
            return OutputError(f"{doing} failed: {reason}", errno=code)
        streams = [f"{self._stream.codec_context.name} video"] + [
            f"{ost.codec_context.name} {ost.type} (copied)" for ost in self._copy_map.values()] + [
            f"{tr.codec} audio (re-encoded)" for tr in self._transcode.values()]
        advice = ("choose a container that holds them (.mkv holds nearly every codec) or "
                  "another codec (--set output.codec=...)")
        if self._copy_map:
            advice += "; leave the copied streams out with --set output.copy_streams=false"
        return StreamsRefused(
            f"output {self.name}: the {self._container.format.name} container refused "
            f"{', '.join(streams)} when the file was started ({reason}; -vv shows FFmpeg's "
            f"reason); {advice}", errno=code)

    def _fix_side_timestamps(self, packet: Any, ost: Any, key: int) -> None:
        """Monotonic DTS for a copied packet, as FFmpeg's muxing does; counted.

        At a discontinuity (see :class:`~vidclear.io.joins.Timeline`)
        the stream is re-based by the shift the input's streams share there.
        A DTS that does not increase (there too: a piece's AAC outlasts its
        picture by its padding, and the next piece's first packets land on
        it) is nudged to one tick after the previous one, as FFmpeg's
        muxing does, and pts kept >= dts: no packet is left out (leaving
        out the next piece's first packet, its decoder's start, smeared the
        first 11 ms of its sound). ``key`` is the packet's input stream
        index (its input may be closed by now).
        """
        tb = packet.time_base
        if packet.dts is None:
            if packet.pts is None:
                return
            packet.dts = packet.pts
        if key not in self._side_offset:
            start = self._t0 - self._phase_s
            self._side_offset[key] = -round(start / tb) if start and tb else 0
        offset = self._side_offset[key]
        raw = packet.dts
        if offset:
            packet.dts += offset
            if packet.pts is not None:
                packet.pts += offset
        last = self._side_dts.get(key)
        if last is not None and tb:
            gap = float((packet.dts - last) * tb)
            own = offset + last + max(1, packet.duration or 1) - packet.dts
            shift = self._timeline.follow(key, gap, float(raw * tb), float(own * tb))
            if shift is not None:
                new = round(Fraction(shift).limit_denominator(10**9) / tb)
                self._side_offset[key] = new
                packet.dts += new - offset
                if packet.pts is not None:
                    packet.pts += new - offset
                self.corrections[f"{ost.type} discontinuities re-based"] += 1
            elif gap > FORWARD_GAP_S:
                self.notes.append(f"{self.name}: the input's {ost.type} (stream #{key}) pauses "
                                  f"for {gap:.1f} s at {float(last * tb):.1f} s: kept, as "
                                  "copied")
            if packet.dts <= last:
                # a tick of the output's time base: one of the input's (1/90000
                # in MPEG-TS) vanished in Matroska's milliseconds
                tick = Fraction(ost.time_base) / Fraction(tb) if ost.time_base else 1
                packet.dts = last + max(1, math.ceil(tick))
                self.corrections[f"{ost.type} packets with a repeated DTS nudged"] += 1
            if packet.pts is not None and packet.pts < packet.dts:
                packet.pts = packet.dts
        self._side_dts[key] = packet.dts

    def correction_line(self) -> str:
        """The corrections of this output on one line ('' when none): timestamps, then frames."""
        if not self.corrections:
            return ""
        def counted(pictures: bool) -> str:
            return ", ".join(f"{n} {what if n != 1 else _singular(what)}"
                             for what, n in sorted(self.corrections.items())
                             if (what in _FRAME_CORRECTIONS or what.startswith("damaged ")
                                 or what.endswith(" left out")) == pictures)

        times, frames = counted(False), counted(True)
        return f"{self.name}: " + "; ".join(
            part for part in (f"timestamps fixed: {times}" if times else "", frames) if part)

    # -- finishing -------------------------------------------------------
    def close(self, *, complete: bool = True) -> None:
        """Flush the encoder, write the trailer and move the file into place.

        Parameters
        ----------
        complete : bool
            False after an interruption: copied streams are cut at the last
            video frame instead of running on to their end.
        """
        if self._closed:
            return
        self._closed = True
        if self._stream is None and not complete:  # interrupted before the first frame
            self._discard()
            self.notes.append(f"interrupted before the first frame: {self.name} not created")
            return
        try:
            if self._stream is None:
                raise OutputError(f"no frames were written; {self.name} not created")
            if self._held is not None:
                self._mux_video(self._stream.encode(self._held))
                self._held = None
            if self._cfr and complete and self._last_pts is not None and self._end_pts:
                self._fill_ticks(self._last_pts, self._end_pts)  # the last frame's time
            self._mux_video(self._stream.encode(None), last=True)
            frame_end = self._last_time + self._frame_seconds()
            self._mux_side(frame_end, everything=complete)
            for tr in self._transcode.values():
                self._mux_audio(tr, None)
                self.notes.extend(tr.end_notes(self.name))
            for index, conv in self._subtitles.items():
                cue = conv.flush()
                if cue is not None:
                    self._copy_packet(index, conv.stream, cue, converted=True)
            self._container.close()
            self._release_fifo()
            self._held_end_note(complete)
        except BaseException as exc:
            self._discard()
            if isinstance(exc, av.FFmpegError):
                # a clip shorter than the encoder's delay reaches the muxer
                # first here: a container refusing its streams said only
                # "finishing failed: Invalid argument" (.ogg, .mxf at 10 fps)
                raise self._mux_failed(exc, f"finishing {self.name}") from None
            raise
        self._publish()
        if self.image is not None and self.frames_written > 1:
            self.notes.append(f"{self.name} is one picture: it holds the last of the "
                              f"{self.frames_written} frames (write a video, e.g. .mkv "
                              "with ffv1, to keep them all)")

    def _held_end_note(self, complete: bool) -> None:
        """Name a held last frame whose time the container cannot keep (MPEG-TS).

        TS stores no frame durations: a last frame held 2 s (a slide, a
        paused picture) is shown for one frame, the file 2 s short, as in
        FFmpeg's own output, but without a word (trial 82 F5).
        """
        tb = self._stream.codec_context.time_base if self._stream is not None else None
        if not (complete and tb and self._end_pts is not None and self._last_pts is not None
                and "mpegts" in self._container.format.name.split(",")):
            return
        hold = float((self._end_pts - self._last_pts) * tb)
        if hold > max(0.5, 2 * self._frame_seconds()):
            self.notes.append(f"{self.name}: the last frame is shown for {hold:.1f} s in the "
                              "input, but MPEG-TS stores no frame durations: players show "
                              "it for one frame (.mp4, .mkv and .mov keep its time)")

    def _frame_seconds(self) -> float:
        rate = self.info.rate if self.info is not None else None
        return 1.0 / float(rate) if rate else 0.0

    def abort(self) -> None:
        """Give up: close the container and delete the temporary file."""
        if self._closed:
            return
        self._closed = True
        self._discard()

    def _discard(self) -> None:
        with contextlib.suppress(Exception):
            self._container.close()
        self._release_fifo()
        if not self.direct:
            with contextlib.suppress(OSError):
                self.tmp_path.unlink()

    def __enter__(self) -> EncoderSink:
        return self

    def __exit__(self, exc_type: Any, *rest: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __repr__(self) -> str:
        cfg = self.config
        return (f"EncoderSink({str(self.path)!r}, codec={cfg.codec}, pix_fmt={cfg.pix_fmt}, "
                f"crash_safe={self.crash_safe}, frames={self.frames_written})")
