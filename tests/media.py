"""Test media the tests make themselves, and an independent reader (ffprobe)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

__all__ = [
    "colour_gradient",
    "ffprobe_packets",
    "ffprobe_streams",
    "make_clip",
    "moving_frame",
    "need_ffprobe",
    "remux",
    "restart_matroska_clock",
    "tagged_clip",
    "x264_yuv420",
]


def need_ffprobe() -> str:
    """ffprobe's path; the test command installs it, so its absence is a failure."""
    path = shutil.which("ffprobe")
    if path is None:
        raise RuntimeError("ffprobe is not installed; run the README's test command (.ci/run)")
    return path


def moving_frame(i: int, w: int, h: int, *, deep: bool = False) -> np.ndarray:
    """A textured RGB frame that changes with ``i`` (so encoders do real work)."""
    y, x = np.mgrid[0:h, 0:w]
    r = (x * 255 // max(w - 1, 1) + 4 * i) % 256
    g = (y * 255 // max(h - 1, 1) + 2 * i) % 256
    b = ((x // 8 + y // 8 + i) % 2) * 200 + 20
    img = np.stack([r, g, b], axis=-1)
    if deep:
        return (img * 257).astype(np.uint16)
    return img.astype(np.uint8)


def make_clip(
    path: Path,
    *,
    n: int = 30,
    size: tuple[int, int] = (160, 120),
    rate: int = 30,
    audio: bool = True,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    pts: list[int] | None = None,
    time_base: Fraction | None = None,
    rotation: int = 0,
    matrix: list[int] | None = None,
    subtitle: bool = False,
    audio_rate: int = 48000,
    audio_layout: str = "mono",
    sar: Fraction | None = None,
) -> Path:
    """Encode a clip with PyAV: video from :func:`moving_frame`, AAC sine audio.

    ``pts`` (in ``time_base``) gives variable frame rate timing; ``audio_rate``
    (Hz) and ``audio_layout`` (``"mono"``, ``"stereo"``) shape the audio;
    ``sar`` makes the pixels anamorphic (width / height); ``matrix`` is a
    display matrix of nine ints (``rotation`` a plain turn, in degrees).
    """
    w, h = size
    deep = "10" in pix_fmt or "16" in pix_fmt
    with av.open(str(path), "w") as out:
        vs = out.add_stream(codec, rate=rate)
        vs.width, vs.height, vs.pix_fmt = w, h, pix_fmt
        tb = time_base or Fraction(1, rate)
        vs.time_base = tb
        vs.codec_context.time_base = tb
        if codec == "libx264":
            vs.codec_context.options = {"preset": "ultrafast"}
        if rotation:
            vs.set_display_rotation(rotation)
        if matrix is not None:
            vs.set_display_matrix(list(matrix))
        if sar is not None:
            vs.codec_context.sample_aspect_ratio = sar
        as_ = None
        if audio:
            as_ = out.add_stream("aac", rate=audio_rate)
            as_.layout = audio_layout
        if subtitle:
            ss = out.add_stream("mov_text")
            del ss
        for i in range(n):
            fr = av.VideoFrame.from_ndarray(
                moving_frame(i, w, h, deep=deep), format="rgb48le" if deep else "rgb24")
            fr.pts = pts[i] if pts is not None else i
            fr.time_base = tb
            for p in vs.encode(fr):
                out.mux(p)
        for p in vs.encode(None):
            out.mux(p)
        if as_ is not None:
            seconds = n / rate if pts is None else float((pts[-1] + 1) * tb)
            total = int(audio_rate * seconds)
            t = np.arange(total) / audio_rate
            tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            channels = 2 if audio_layout == "stereo" else 1
            for k, start in enumerate(range(0, total, 1024)):
                chunk = np.repeat(tone[None, start:start + 1024], channels, axis=0)
                af = av.AudioFrame.from_ndarray(chunk.reshape(1, -1, order="F"), format="flt",
                                                layout=audio_layout)
                af.sample_rate = audio_rate
                af.pts = k * 1024
                af.time_base = Fraction(1, audio_rate)
                for p in as_.encode(af):
                    out.mux(p)
            for p in as_.encode(None):
                out.mux(p)
    return path


def ffprobe_streams(path: Path) -> dict:
    """ffprobe's view of the streams (with counted frames) and the format."""
    cmd = [need_ffprobe(), "-v", "error", "-count_frames", "-show_streams", "-show_format",
           "-of", "json", str(path)]
    return json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)


def ffprobe_packets(path: Path, selector: str) -> list[dict]:
    """Packets of one stream (e.g. ``"a:0"``), each with an MD5 of its data."""
    cmd = [need_ffprobe(), "-v", "error", "-select_streams", selector, "-show_packets",
           "-show_data_hash", "MD5", "-of", "json", str(path)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out).get("packets", [])


def ffprobe_frame_times(path: Path) -> list[float]:
    """Presentation times (s) of every decoded video frame, by ffprobe."""
    cmd = [need_ffprobe(), "-v", "error", "-select_streams", "v:0", "-show_entries",
           "frame=pts_time,best_effort_timestamp_time", "-of", "json", str(path)]
    frames = json.loads(subprocess.run(cmd, capture_output=True, text=True,
                                       check=True).stdout)["frames"]
    return [float(f.get("pts_time", f.get("best_effort_timestamp_time"))) for f in frames]


def restart_matroska_clock(src: Path, dst: Path, *, at_ms: int, back_ms: int) -> Path:
    """``src`` (Matroska) with every cluster from ``at_ms`` on ``back_ms`` earlier.

    A recorder whose clock starts again (or a copy of pieces that each start
    at 0) writes such a file; FFmpeg's muxer cannot (it clamps a step back),
    so the clusters' Timestamp elements (EBML ID 0xE7, first in a Cluster,
    0x1F43B675, after its CRC-32 if any: write ``src`` with ``-write_crc32 0``,
    the checksums are not updated) are rewritten in place. The stream
    durations written by the muxer stay those of ``src``.
    """
    data = bytearray(src.read_bytes())

    def vint(pos: int) -> tuple[int, int]:  # an EBML variable-size integer: value, length
        length = 1
        while not data[pos] & (0x80 >> (length - 1)):
            length += 1
        value = data[pos] & (0xFF >> length)
        for k in range(1, length):
            value = (value << 8) | data[pos + k]
        return value, length

    pos = data.find(b"\x1f\x43\xb6\x75")
    while pos >= 0:
        _, n = vint(pos + 4)
        at = pos + 4 + n
        if data[at] == 0xBF:  # a CRC-32 element first (FFmpeg's write_crc32): make it with 0
            size, m = vint(at + 1)
            at += 1 + m + size
        if data[at] == 0xE7:
            size, m = vint(at + 1)
            start = at + 1 + m
            stamp = int.from_bytes(data[start:start + size], "big")
            if stamp >= at_ms:
                data[start:start + size] = (stamp - back_ms).to_bytes(size, "big")
        pos = data.find(b"\x1f\x43\xb6\x75", pos + 4)
    dst.write_bytes(bytes(data))
    return dst


def remux(src: Path, dst: Path, *, shift: float = 0.0, video_only: bool = False) -> Path:
    """``src`` copied packet for packet into ``dst`` (its extension picks the container).

    ``shift`` seconds are added to every timestamp (a recording cut from a
    broadcast starts late); ``video_only`` leaves the other streams out.
    """
    with av.open(str(src)) as i, av.open(str(dst), "w") as o:
        streams = {s.index: o.add_stream_from_template(s) for s in i.streams
                   if s.type == "video" or not video_only}
        for p in i.demux():
            if p.dts is None or p.stream.index not in streams:
                continue
            ticks = round(shift / p.time_base)
            p.dts += ticks
            p.pts = None if p.pts is None else p.pts + ticks
            p.stream = streams[p.stream.index]
            o.mux(p)
    return dst


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def x264_yuv420(frames: list[np.ndarray], *, rate: int = 30, crf: int = 28) -> list[np.ndarray]:
    """RGB uint8 frames through libx264 (veryfast, in memory) and back: yuv420p planes each."""
    import io

    h, w = frames[0].shape[:2]
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": str(crf), "preset": "veryfast"}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    buf.seek(0)
    with av.open(buf) as inp:
        return [f.to_ndarray(format="yuv420p") for f in inp.decode(video=0)]


def noise_ts(path: Path, n: int = 12, preset: str = "ultrafast") -> Path:
    """An H.264 MPEG-TS of noise frames, each frame many transport packets long."""
    rng = np.random.default_rng(3)
    with av.open(str(path), "w", format="mpegts") as out:
        vs = out.add_stream("libx264", rate=25)
        vs.width, vs.height, vs.pix_fmt = 160, 120, "yuv420p"
        vs.codec_context.options = {"preset": preset, "crf": "10"}
        for _ in range(n):
            img = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
            for p in vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(p)
        for p in vs.encode(None):
            out.mux(p)
    return path


def cut_in_last_frame(ts: Path, dst: Path) -> Path:
    """``ts`` cut on a 188-byte boundary 8 packets into its last video PES (PID 0x100).

    Whole to a sync-byte check, but its last frame in decoding order is damaged.
    """
    data = ts.read_bytes()
    starts = [i for i in range(0, len(data), 188)
              if data[i + 1] & 0x40 and ((data[i + 1] & 0x1F) << 8 | data[i + 2]) == 0x100]
    dst.write_bytes(data[:starts[-1] + 188 * 8])
    return dst


def colour_gradient(h: int = 64, w: int = 96) -> np.ndarray:
    """A smooth colourful RGB uint8 picture: 4:2:0 costs it little, a wrong matrix a lot."""
    yy, xx = np.mgrid[0:h, 0:w] / np.array([h - 1.0, w - 1.0])[:, None, None]
    rgb = np.stack([0.15 + 0.75 * xx, 0.85 - 0.6 * yy, 0.25 + 0.6 * xx * yy], axis=-1)
    return np.rint(rgb * 255).astype(np.uint8)


def tagged_clip(path: Path, img: np.ndarray, fmt: str, space: int, rng: int, n: int = 6,
                rate: int = 25) -> Path:
    """A lossless H.264 clip of ``n`` copies of ``img``, converted by swscale into ``fmt``
    with AVColorSpace ``space`` and AVColorRange ``rng``, and tagged so."""
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=rate)
        vs.width, vs.height, vs.pix_fmt = img.shape[1], img.shape[0], fmt
        vs.codec_context.colorspace, vs.codec_context.color_range = space, rng
        vs.codec_context.options = {"qp": "0", "preset": "ultrafast"}
        for _ in range(n):
            f = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(
                format=fmt, dst_colorspace=space, dst_color_range=rng)
            for p in vs.encode(f):
                out.mux(p)
        for p in vs.encode(None):
            out.mux(p)
    return path


def subtitled_clip(path: Path, srt: str, *, seconds: float = 3.0, codec: str = "mov_text",
                   size: str = "96x64", rate: str = "30", extra: tuple[str, ...] = (),
                   audio: bool = False) -> Path:
    """A clip with one text subtitle track of the SubRip cues ``srt``, by FFmpeg.

    ``codec``: ``mov_text`` (MP4, MOV) or ``srt`` (Matroska); ``extra`` goes
    before the output (more inputs' maps, encoder options); ``audio`` adds
    a sine tone as AAC (its priming moves the cues' samples a little, as a
    camera's sound does).
    """
    cues = path.with_suffix(".srt")
    cues.write_text(srt)
    sound = (["-f", "lavfi", "-i", f"sine=sample_rate=48000:d={seconds:g}", "-map", "0:v",
              "-map", "2:a", "-map", "1:s", "-c:a", "aac"] if audio else [])
    subprocess.run([shutil.which("ffmpeg") or "ffmpeg", "-v", "error", "-f", "lavfi", "-i",
                    f"testsrc2=size={size}:rate={rate}:d={seconds:g}", "-i", str(cues), *sound,
                    "-c:v", "libx264", "-c:s", codec, *extra, str(path)], check=True, timeout=60)
    return path


def gps_cues(n: int) -> str:
    """SubRip text of ``n`` one-second cues from 0 s: "80 km/h", "81 km/h", ... (GPS)."""
    return "".join(f"{k + 1}\n00:00:{k:02d},000 --> 00:00:{k + 1:02d},000\n{80 + k} km/h\n\n"
                   for k in range(n))


def srt_dump(path: Path) -> str:
    """The first subtitle stream of ``path`` as SubRip text, FFmpeg's reading of it."""
    return subprocess.run([shutil.which("ffmpeg") or "ffmpeg", "-v", "error", "-i", str(path),
                           "-map", "0:s:0", "-f", "srt", "-"], capture_output=True, text=True,
                          check=True, timeout=60).stdout
