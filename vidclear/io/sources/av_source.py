"""Frames from anything FFmpeg demuxes: files, network URLs and lavfi graphs."""

from __future__ import annotations

import errno
import io
import os
import re
import socket
import stat
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from vidclear.config.sections import InputConfig
from vidclear.core.frame import Frame
from vidclear.core.source import Chapter, Source, StreamInfo
from vidclear.errors import InputError
from vidclear.io.joins import FileJoins, Unjoiner, joinable
from vidclear.io.orientation import describe, display_matrix, orient, placement, quarter_turns
from vidclear.io.sequence import ffmpeg_pattern, first_of_sequence, has_number
from vidclear.io.sources.remote import accepts_ranges, asked
from vidclear.io.sources.structure import (
    EBML_MAGIC,
    MATROSKA_HEAD,
    TRUNCATED_HINT,
    TS_HEAD,
    TS_TAIL,
    cut_part_phrase,
    first_cut_part,
    joined_tracks_differ,
    matroska_cut_part,
    matroska_segment,
    matroska_starts,
    mp4_without_index,
    segment_end,
    segment_shortfall,
    ts_cut_phrase,
    ts_ends_whole,
    ts_file_cut,
    ts_programs,
)

__all__ = ["CAPTURE_TIME_BASE", "AVSource", "camera_device", "classify_input", "video_stream"]

#: The time base of frames stamped with their capture time (microseconds):
#: cameras, and streams that carry no times of their own.
CAPTURE_TIME_BASE = Fraction(1, 1_000_000)

_NETWORK_SCHEMES = ("rtsp", "rtsps", "rtmp", "udp", "tcp", "http", "https", "srt", "rtp")
# How far past a trim's end the video may run while the copied streams'
# packets before that end are still read: muxers place audio up to their
# interleaving delay after the video of the same time (MPEG-TS 0.7 s).
_SIDE_SLACK_S = 2.0
# A Matroska file without a duration changed less than this long (s) before
# its end was read may be a recording still being written: it is watched
# this long (s) more for its writer's next write.
_RECENT_S = 10.0
_WRITER_WAIT_S = 2.0


def classify_input(spec: str) -> str:
    """'file', 'url', 'lavfi', 'camera' or 'pipe' for an INPUT given on the command line."""
    if spec in ("-", "pipe:") or spec.startswith("pipe:"):
        return "pipe"
    if spec.startswith("lavfi:"):
        return "lavfi"
    if spec.startswith("camera:") or spec.startswith("/dev/video"):
        return "camera"
    scheme, sep, _ = spec.partition("://")
    if sep and scheme.lower() in _NETWORK_SCHEMES:
        return "url"
    return "file"


def camera_device(spec: str) -> str:
    """The V4L2 device path of ``camera:N`` or ``/dev/videoN``.

    Raises
    ------
    InputError
        ``camera:`` is not followed by a device number.
    """
    if spec.startswith("camera:"):
        number = spec[len("camera:"):]
        if not number.isdigit():
            raise InputError(f"camera input {spec!r}: expected camera:N with a device number, "
                             "like camera:0, or a device path like /dev/video0")
        return f"/dev/video{int(number)}"
    return spec


# A video packet this far (s) before the latest end starts a new run of time
# (a clock restart), not B-frame reordering
_RESTART_S = 0.5


class UnsizedStreamError(InputError):
    """The probe found the video stream but not its frame size: a file's damage, or a
    live stream joined between its headers (see :class:`~vidclear.io.sources.NetworkSource`)."""


def container_start(container: Any) -> float:
    """Seconds an open PyAV container's timestamps start after 0 (0 when unknown).

    Negative where they start before 0: an MPEG-TS that starts just before
    its 33-bit clock wraps is read with the part before the wrap below 0
    (libavformat's wrap correction; -2.34 s for one starting at 95441 s).
    FFmpeg's CLI shifts that part to 0 too; taken as 0, its sound was cut as
    "before the start" and Ogg wrote its frames 5.4 years on (trial 51).
    """
    start = container.start_time  # AV_TIME_BASE units, or None
    return float(start) / av.time_base if start else 0.0


def attachment(stream: Any) -> tuple[str, str, bytes]:
    """An attachment stream's file name, MIME type and bytes (Matroska's attached fonts).

    The name falls back to ``attachment-INDEX`` and the type to
    ``application/octet-stream`` where the container gives none.
    """
    meta = {k.lower(): v for k, v in stream.metadata.items()}
    name = getattr(stream, "name", None) or meta.get("filename") or f"attachment-{stream.index}"
    mime = (getattr(stream, "mimetype", None) or meta.get("mimetype")
            or "application/octet-stream")
    return str(name), str(mime), bytes(getattr(stream, "data", b"") or b"")


def attachments(container: Any) -> list[tuple[str, str, bytes]]:
    """Every attached file of an open input ``container`` (see :func:`attachment`)."""
    return [attachment(s) for s in container.streams if s.type == "attachment"]


def chapters(container: Any) -> list[Chapter]:
    """The chapters ``container`` lists, in seconds on its streams' clock, by start time.

    Empty where it lists none, or where PyAV cannot read them (before 13).
    """
    try:
        listed = container.chapters()
    except (AttributeError, av.FFmpegError, ValueError):
        return []
    out = []
    for ch in listed:
        tb = ch.get("time_base")
        if not tb or ch.get("start") is None or ch.get("end") is None:
            continue
        start, end = float(ch["start"] * tb), float(ch["end"] * tb)
        if end >= start:  # a point too (trial 108 F6)
            out.append(Chapter(start, end, dict(ch.get("metadata") or {})))
    return sorted(out, key=lambda c: c.start)


_AVDISCARD_ALL = 48  # libavcodec/avcodec.h: the demuxer presents none of its packets
# Frames decoded with errors this near a gap in the video, or its end: the
# demuxer skipped damaged data there, or gave up at it
_DAMAGED_AT_END = 3
_SKIP_NOTES = 3  # such skips named in a note (allow_truncated, live), the first ones


def _discarded(stream: Any) -> bool:
    """Whether the demuxer itself set ``stream`` aside: an MP4's or MOV's chapter track,
    which it reads into the file's chapters and presents no packet of (copied, its
    promised packets went missing, and a file with three chapters was refused as
    damaged: trial 110 F1)."""
    try:
        return int(stream.discard) >= _AVDISCARD_ALL
    except (AttributeError, TypeError, ValueError):
        return False


def side_streams(container: Any, vs: Any, path: str | None = None) -> tuple[list[Any], list[str]]:
    """The streams of an open input that a run copies beside video stream ``vs``, and notes.

    Audio, subtitle and data streams, but not a timecode track (kept as the
    output's start timecode), nor one the demuxer sets aside
    (:func:`_discarded`). An MPEG-TS file (``path``) that carries several
    programs (a broadcast recording: channels, each its picture and sound)
    gives the streams of the video's program only: every program's sound
    was copied beside the first one's picture (trial 110 F4). (FFmpeg 5.1's
    default selection takes the best sound of any program, another
    channel's too: trial 113 F4.) The programs are read from the file's own tables
    (:func:`ts_programs`); a stream no table names is kept. The notes name
    what was left out.
    """
    side = [s for s in container.streams if s.index != vs.index
            and s.type in ("audio", "subtitle", "data") and not _is_timecode(s)
            and not _discarded(s)]
    if (path is None or "mpegts" not in container.format.name.split(",")
            or not os.path.isfile(path)):
        return side, []
    try:
        with open(path, "rb") as fh:
            programs = ts_programs(fh.read(TS_HEAD))
    except OSError:
        return side, []
    if programs is None or vs.id not in programs:
        return side, []
    mine = programs[vs.id]
    kept = [s for s in side if programs.get(s.id, mine) == mine]
    others = len(side) - len(kept)
    if not others:
        return kept, []
    count = len(set(programs.values()))
    return kept, [f"the input holds {count} programs (channels): the streams of program "
                  f"{mine}, whose video is processed, are copied; {others} stream"
                  f"{'s' if others != 1 else ''} of the other{'s' if count > 2 else ''} "
                  f"{'are' if others != 1 else 'is'} left out"]


def _is_attached_picture(stream: Any) -> bool:
    return bool(int(stream.disposition) & int(av.stream.Disposition.attached_pic))


def _best_video(streams: list[Any]) -> Any:
    """The video stream FFmpeg's CLI picks by default: the most pixels, a stream
    marked default counting 5 000 000 pixels more, the lowest index on a tie
    (ffmpeg documentation, "Stream selection"; ``map_auto_video``)."""
    default = int(av.stream.Disposition.default)

    def score(s: Any) -> int:
        ctx = s.codec_context
        pixels = max(ctx.width, 0) * max(ctx.height, 0) if ctx is not None else 0
        return pixels + (5_000_000 if int(s.disposition) & default else 0)

    return max(streams, key=lambda s: (score(s), -s.index))


def start_timecode(container: Any, vs: Any) -> str:
    """The start timecode (``HH:MM:SS:FF``) of video stream ``vs``: its own tag, else a
    QuickTime ``tmcd`` track's; empty when there is none."""
    return str(vs.metadata.get("timecode", "")) or next(
        (str(s.metadata.get("timecode", "")) for s in container.streams if _is_timecode(s)),
        "")


def sample_aspect(stream: Any) -> Fraction | None:
    """The shape of a video stream's pixels (width / height) when they are not square.

    The container's value where it states one, else the codec's, as FFmpeg
    chooses (``av_guess_sample_aspect_ratio``); None for square or unknown
    (0/1) pixels. Anamorphic video (PAL DV at 16:15, HDV at 4:3) lost it in
    every output and was shown squeezed (trial 81 F2).
    """
    for sar in (getattr(stream, "sample_aspect_ratio", None),
                getattr(stream.codec_context, "sample_aspect_ratio", None)):
        if sar is not None and sar.numerator > 0 and sar.denominator > 0:
            return None if sar == 1 else Fraction(sar.numerator, sar.denominator)
    return None


def moving_video_streams(container: Any) -> list[Any]:
    """The video streams of an open PyAV input container that are not cover art."""
    return [s for s in container.streams.video if not _is_attached_picture(s)]


def video_stream(container: Any) -> Any | None:
    """The video stream of an open PyAV input container that vidclear processes.

    FFmpeg's default choice (:func:`_best_video`) among the video streams
    that are not cover art (attached pictures); None when there is none.
    """
    moving = moving_video_streams(container)
    return _best_video(moving) if moving else None


def _is_timecode(stream: Any) -> bool:
    ctx = stream.codec_context
    return stream.type == "data" and (
        getattr(ctx, "codec_tag", "") == "tmcd" or "timecode" in stream.metadata)


def _is_sdp(path: str) -> bool:
    """Whether the file ``path`` is a session description (RFC 8866: it starts with ``v=0``)."""
    if not os.path.isfile(path):  # a FIFO or a device: opening it could wait for a writer
        return False
    try:
        with open(path, "rb") as fh:
            return fh.read(4).lstrip().startswith(b"v=0")
    except OSError:
        return False


def open_error(spec: str, exc: Exception) -> InputError:
    if classify_input(spec) == "file" and os.path.isfile(spec) and os.path.getsize(spec) == 0:
        # one message wherever it is opened (a batch's planning said "Invalid
        # data found when processing input", trial 83 F3)
        return InputError(f"input is empty (0 bytes): {spec}")
    text = str(getattr(exc, "strerror", None) or exc).strip() or type(exc).__name__
    host = _unresolved_host(spec) if getattr(exc, "errno", None) == errno.EIO else None
    if host is not None:  # FFmpeg logs the reason and returns a bare I/O error
        text = f"the host name {host!r} does not resolve"
    elif text == "Protocol not found" and "://" in spec:
        # as the output side says it (trial 54: FFmpeg's bare words on input)
        text = (f"the FFmpeg inside PyAV was built without the "
                f"{spec.split('://', 1)[0].lower()}:// protocol")
    elif getattr(exc, "errno", None) == errno.ECONNREFUSED and asked(spec):
        # FFmpeg's one-client HTTP server (-listen 1) answers vidclear's
        # question for the length (HEAD) and is gone (trial 72)
        # (pipeline.mode=live is no way round: it lost the sound and 21
        # frames, and reconnected to the gone server for good, trial 73)
        text = (f"{text} (the server answered vidclear's first request, which asks for "
                "the file's length, and then no more: a server for one client, such as "
                "ffmpeg -listen 1? --set pipeline.mode=file reads it, every frame and its "
                "sound, without asking)")
    elif classify_input(spec) == "file" and _is_sdp(spec):
        # FFmpeg refuses the protocols an SDP file names unless whitelisted,
        # and says only "Invalid data" (trial 72)
        text = (f"{text} (an SDP file describes an RTP stream, which FFmpeg opens only with "
                "-protocol_whitelist file,udp,rtp; vidclear reads network streams from "
                "rtsp://, udp://, srt://, rtmp:// and http:// URLs, not from SDP files)")
    elif classify_input(spec) == "file" and mp4_without_index(spec):
        # a dashcam's power cut: FFmpeg logs "moov atom not found" and returns
        # "Invalid data found" (trial 53)
        text = ("it is an MP4/MOV without its index (no moov box): the recording was "
                "cut off before it was finished, and needs a repair tool (such as "
                "untrunc) and a whole file from the same camera")
    return InputError(f"cannot open input {spec}: {text}")


def _unresolved_host(spec: str) -> str | None:
    """The host of a network URL when a name lookup for it fails, else None."""
    if classify_input(spec) != "url":
        return None
    host = urllib.parse.urlsplit(spec).hostname
    if not host:
        return None
    try:
        socket.getaddrinfo(host, None)
    except (socket.gaierror, UnicodeError):
        return host
    except OSError:
        pass  # no verdict from the resolver: FFmpeg's own message stands
    return None


#: The error for an input given as an empty string (``Path("")`` is the current folder)
EMPTY_INPUT = ("an input is empty (\"\", an unset shell variable?): name a file, folder, "
               "pattern, URL or lavfi graph")


_AVFMT_NOTIMESTAMPS = 0x0080  # libavformat/avformat.h: the format carries no timestamps
# A corrupt packet among an MPEG-TS file's last this many demuxed packets is a
# PES packet cut short: the streams' last packets, flushed at the end, follow it.
_CORRUPT_AT_END = 4


def _files_reached(starts: list[int], furthest: int) -> int:
    """How many of the files joined at byte offsets ``starts`` begin at or before byte
    ``furthest`` (the furthest packet a demuxer handed on)."""
    return sum(1 for at in starts if at <= furthest)


def _counts_samples(stream: Any) -> bool:
    """Whether a stream's declared frame count is of PCM samples (AVI's), not packets."""
    cc = stream.codec_context
    return (stream.type == "audio" and cc.name.startswith("pcm_")
            and bool(cc.sample_rate) and stream.frames > 0)


class _CountingReader(io.RawIOBase):
    """Standard input as PyAV reads it, counting the bytes and keeping the last few.

    It also follows Matroska Segments as they pass (:attr:`segments_end`):
    the bytes where each one starts are parsed for its size, and the next
    is looked for where it ends (files joined by ``cat``). Where that walk
    finds no header (a part cut short, whose next file starts earlier), the
    EBML headers seen on the way count instead (:attr:`parts`), as a file's
    are searched for (:func:`matroska_cut_part`; trial 115 F1).
    """

    def __init__(self, raw: Any) -> None:
        super().__init__()
        self._raw = raw
        self.count = 0
        self.tail = b""
        #: where the last Matroska Segment walked to declares the stream ends (bytes)
        self.segments_end: int | None = None
        self._next_at: int | None = 0  # where the next Segment's EBML header would start
        self._probe = b""  # the bytes from there, up to MATROSKA_HEAD
        self._walked: list[tuple[int, int]] = []  # (start, declared end) of each Segment walked
        self._broke = False  # the walk found no header where a Segment ended, bytes after it
        self._carry = b""  # the last bytes of the chunk before, for a header across two
        self._pending: dict[int, bytes] = {}  # EBML headers seen, their first bytes so far
        self._seen: list[tuple[int, int]] = []  # those that open a Segment: (start, end)

    @property
    def parts(self) -> list[tuple[int, int]]:
        """(start, declared end) of each file joined in the Matroska stream so far."""
        if self._broke and len(self._seen) + 1 > len(self._walked):
            return [*self._walked[:1], *self._seen]
        return list(self._walked)

    @property
    def starts(self) -> list[int]:
        """Where each file joined in the Matroska stream starts (bytes), as far as read."""
        return [a for a, _ in self.parts]

    @property
    def cut(self) -> tuple[int, int, int, int] | None:
        """The first part cut short with more after it (:func:`first_cut_part`)."""
        return first_cut_part(self.parts)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read1(len(buffer)) if hasattr(self._raw, "read1") else \
            self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        start = self.count
        self.count += n
        if n and (self._walked or start == 0):  # a Matroska stream (or its first bytes)
            self._headers(data, start)
        while self._next_at is not None and self._next_at < self.count:
            take = data[max(self._next_at + len(self._probe) - start, 0):]
            self._probe += take[:MATROSKA_HEAD - len(self._probe)]
            if len(self._probe) < MATROSKA_HEAD and n:
                break  # more to come
            self._segment_passed()
        if not n:
            if self._probe and self._next_at is not None:
                self._segment_passed()  # the end: a short last probe
            for at in sorted(self._pending):
                self._header_read(at)
        self.tail = (self.tail + data)[-TS_TAIL:]
        return n

    def _headers(self, data: bytes, start: int) -> None:
        """Note the EBML headers in ``data`` (at byte ``start``) and feed those being read."""
        for at, got in list(self._pending.items()):
            self._pending[at] = got + data[max(at + len(got) - start, 0):][
                :MATROSKA_HEAD - len(got)]
            if len(self._pending[at]) >= MATROSKA_HEAD:
                self._header_read(at)
        seen = self._carry + data
        base = start - len(self._carry)
        at = seen.find(EBML_MAGIC)
        while at >= 0 and len(self._pending) < 64:
            where = base + at
            if where > 0 and where not in self._pending and all(
                    where != a for a, _ in self._seen):
                self._pending[where] = bytes(seen[at:at + MATROSKA_HEAD])
                if len(self._pending[where]) >= MATROSKA_HEAD:
                    self._header_read(where)
            at = seen.find(EBML_MAGIC, at + 1)
        self._carry = seen[-3:]

    def _header_read(self, at: int) -> None:
        size = segment_end(self._pending.pop(at))
        if size is not None:
            self._seen.append((at, at + size))
            self._seen.sort()

    def _segment_passed(self) -> None:
        """Parse the probe at the next Segment's place; look for one after it."""
        assert self._next_at is not None
        size = segment_end(self._probe)
        self._probe = b""
        if size is None:  # no further file joined on, a Segment of unknown size, or a
            # part cut short: its next file's header came earlier
            self._broke = bool(self._walked)
            self._next_at = None
            return
        self._walked.append((self._next_at, self._next_at + size))
        self.segments_end = self._next_at + size
        self._next_at = self.segments_end


def _unknown_filters(graph: str) -> list[str]:
    """The filter names in a lavfi ``graph`` that PyAV's FFmpeg does not have.

    The graph is split at the commas and semicolons FFmpeg splits it at:
    not inside quotes or ``[labels]`` nor escaped (an expression's
    ``if(gt(X,80),255,0)`` was read as filters named 80, 255 and 0: trial
    159 F4).
    """
    import av.filter

    parts: list[str] = []
    part: list[str] = []
    quoted = escaped = labelled = False
    for ch in graph:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "'":
            quoted = not quoted
        elif ch in "[]" and not quoted:
            labelled = ch == "["  # a [label] may hold commas (trial 161 F4)
        elif ch in ",;" and not quoted and not labelled:
            parts.append("".join(part))
            part = []
            continue
        part.append(ch)
    parts.append("".join(part))
    names = []
    for text in parts:
        # leading [labels], then the name as FFmpeg reads it: up to its
        # =arguments or [label], without an @instance (hflip:bogus and 2hflip
        # are names, not found: trial 161 F5)
        found = re.match(r"(?:\s*\[[^\]]*\])*\s*([^=\[]*)", text)
        name = found.group(1).split("@", 1)[0].strip() if found else ""
        if name and name not in av.filter.filters_available:
            names.append(name)
    return names


def _ffmpeg_errors(target: str, fmt: str | None, options: dict[str, str]) -> list[str]:
    """FFmpeg's own error lines for an input that failed to open, opened once more.

    Its exceptions carry the error code's text alone ("Option not found"),
    its log names the option and the filter (trial 161 F5). Empty when
    FFmpeg's log is printed anyway (``-vv``) or the second attempt opens.
    """
    import av.logging

    if av.logging.get_level() is not None:
        return []
    av.logging.set_level(av.logging.ERROR)
    try:
        with av.logging.Capture() as logs:
            try:
                av.open(target, "r", format=fmt, options=options).close()
            except (av.FFmpegError, OSError, ValueError):
                pass
    finally:
        av.logging.set_level(None)
    lines = []
    for _, name, message in logs:
        # the filter's instance, as FFmpeg prints it: [Parsed_scale_1] ...
        line = message.strip()
        if name and name.startswith("Parsed_"):
            line = f"[{name}] {line}"
        if line and line not in lines and not line.startswith("Error processing filtergraph"):
            lines.append(line)
    return lines


class AVSource(Source):
    """Decode the video stream of a file, URL or lavfi graph with PyAV.

    Iterating yields :class:`~vidclear.core.frame.Frame` objects in
    presentation order with the exact ``pts`` of the stream (variable frame
    rate is kept). Audio, subtitle and data packets of the streams in
    ``info.side_streams`` go on the :attr:`side_packets` channel for the
    encoder to mux unchanged.

    Parameters
    ----------
    spec : str
        A path, a URL (rtsp, udp, http, srt, ...) or ``lavfi:<graph>``.
    config : InputConfig, optional
        Decoder threads, rotation, tolerance for truncated files.
    copy_streams : bool
        Collect packets of audio, subtitle and data streams.
    options : mapping, optional
        Extra FFmpeg demuxer/protocol options (e.g. V4L2's ``video_size``,
        low-latency ``fflags=nobuffer`` for streams).
    live : bool, optional
        The input is a live stream (no end to wait for, no audio kept in
        step). Default: URLs and cameras are; ``False`` reads a URL as a
        file (a file on a server, see
        :func:`~vidclear.io.sources.network.remote_file`).

    Raises
    ------
    InputError
        The input does not exist, cannot be opened, has no video stream or
        its video codec cannot be decoded.
    """

    def __init__(
        self,
        spec: str,
        *,
        config: InputConfig | None = None,
        copy_streams: bool = True,
        options: Mapping[str, str] | None = None,
        live: bool | None = None,
    ) -> None:
        super().__init__(spec)
        self.config = config or InputConfig()
        self.kind = classify_input(spec)
        self._live = self.kind in ("url", "camera") if live is None else live
        self._extra_options = dict(options or {})
        self._last_time: float | None = None
        self._seeked = False
        self._stdin: _CountingReader | None = None  # standard input, read and counted here
        self._facts: dict[str, Any] = {}  # what close() keeps of the closed container
        #: one-line notes for the user (a numbered sequence ending at a gap)
        self.notes: list[str] = []
        self._state_at_open = self._file_state()
        self._container = self._open()
        try:
            self._setup(copy_streams)
        except BaseException:
            self._container.close()
            raise

    # -- opening ---------------------------------------------------------
    def _file_state(self) -> tuple[int, int] | None:
        """The input's size (bytes) and modification time (ns) when it is a regular file."""
        if self.kind != "file":
            return None
        try:
            st = os.stat(self.spec)
        except OSError:
            return None
        return (st.st_size, st.st_mtime_ns) if stat.S_ISREG(st.st_mode) else None

    def _open(self) -> Any:
        cfg = self.config
        options: dict[str, str] = {}
        fmt = cfg.format or None
        target: Any = self.spec  # a path or URL; standard input as a reader
        if self.kind == "lavfi":
            target, fmt = self.spec[len("lavfi:"):], "lavfi"
            if not target:
                raise InputError("lavfi: input needs a filter graph, e.g. lavfi:testsrc2=rate=30")
        elif self.kind == "url":
            if self.spec.lower().startswith("rtsp"):
                options["rtsp_transport"] = cfg.rtsp_transport
        elif self.kind == "pipe":
            # Standard input (or pipe:N): FFmpeg probes MPEG-TS, Matroska and NUT as they
            # stream; input.format names the demuxer when probing cannot tell. Standard
            # input is read here, counted, so an MPEG-TS cut inside a packet is told
            # (FFmpeg's pipe protocol gives no byte count)
            target = "pipe:0" if self.spec in ("-", "pipe:") else self.spec
            if target in ("pipe:0", "pipe:") and sys.stdin is not None:
                self._stdin = _CountingReader(sys.stdin.buffer)
                target = self._stdin
        elif self.kind == "camera":
            target, fmt = camera_device(self.spec), fmt or "v4l2"
            if not os.path.exists(target):
                raise InputError(f"no camera at {target}")
        else:
            if not self.spec.strip():
                raise InputError(EMPTY_INPUT)
            path = Path(self.spec)
            first = None if path.exists() else first_of_sequence(self.spec, cfg.start_number)
            if first is not None:  # FFmpeg's numbered image sequence, img%03d.png
                fmt, path, target = fmt or "image2", first[0], ffmpeg_pattern(self.spec)
                options["start_number"] = str(first[1])
                if cfg.framerate:
                    options["framerate"] = f"{cfg.framerate:g}"
            if not path.exists():
                hint = ""
                if has_number(self.spec):
                    hint = (f" (no file numbered {cfg.start_number}: input.start_number)"
                            if cfg.start_number >= 0 else
                            " (a numbered sequence starts at one of the numbers 0 to 4, as for "
                            "FFmpeg; --set input.start_number=N starts it at N)")
                raise InputError(f"input not found: {self.spec}{hint}")
            if path.is_dir():
                raise InputError(f"input is a directory, not a video file: {self.spec}")
            if not os.access(path, os.R_OK):
                raise InputError(f"input cannot be read (permission denied): {self.spec}")
            if path.is_file() and path.stat().st_size == 0:  # a FIFO or /dev/stdin has no size
                raise InputError(f"input is empty (0 bytes): {self.spec}")
            if ":" in str(target).split("/", 1)[0]:
                # a:b.mp4 is a file here, but FFmpeg reads "a:" as a protocol
                # ("Protocol not found"); file: says which it is
                target = "file:" + target
        options.update(self._extra_options)
        # a server that stops answering fails the read, live or not
        timeout = cfg.timeout if self.is_live or self.kind == "url" else None
        try:
            return av.open(target, "r", format=fmt, options=options, timeout=timeout)
        except av.ExitError:
            # the timeout's interrupt ("Immediate exit requested"): nothing came
            # that the demuxer could open, which is silence or bytes that are
            # no stream (random datagrams were called "no data": trial 112 F1)
            raise InputError(
                f"cannot open input {self.spec}: no stream arrived within input.timeout = "
                f"{cfg.timeout:g} s: no data, or none FFmpeg reads as a stream (is the "
                "sender running, and sending a stream such as MPEG-TS? --set "
                "input.timeout=SECONDS waits longer)") from None
        except (av.FFmpegError, OSError, ValueError) as exc:
            if self._stdin is not None and self._stdin.count == 0:
                raise InputError("standard input is empty (0 bytes): nothing was piped "
                                 "in") from None
            unknown = _unknown_filters(target) if self.kind == "lavfi" else []
            if unknown:  # FFmpeg logs the name; its error says "Invalid argument" (trial 158 F8)
                raise InputError(f"cannot open input {self.spec}: the FFmpeg in PyAV has no "
                                 f"filter named {', '.join(map(repr, unknown))} (vidclear reads "
                                 "through PyAV's FFmpeg, which may lack filters a system "
                                 "ffmpeg has)") from None
            said = _ffmpeg_errors(target, fmt, options) if self.kind == "lavfi" else []
            if said:
                raise InputError(f"cannot open input {self.spec}: {'; '.join(said)}") from None
            raise open_error(self.spec, exc) from None

    def _check_joined_tracks(self, copy_streams: bool) -> None:
        """Refuse Matroska files joined end to end whose tracks differ from the first file's.

        The demuxer reads every packet under the first file's tracks: a
        second file's PCM sound was copied as the first's AAC, a corrupt
        stream, with a note on its timestamps alone (trial 108 F5); a
        second file's other frame size or codec parameters would be decoded
        under the first's. Where only other streams differ, leaving them out
        (``output.copy_streams = false``) reads the video as it is.
        """
        differ = joined_tracks_differ(self.spec)
        if differ is None:
            return
        k, what, video = differ
        if not video and not copy_streams:
            return
        start = (f"input {self.spec} is Matroska files joined end to end (cat) whose tracks "
                 f"differ: in file {k} of it, {what}; ")
        if video:
            raise InputError(start + "its packets would be decoded under the first file's "
                             "(split it back into its files and run each)")
        raise InputError(start + "its packets would be copied under the first file's, a "
                         "corrupt stream (--set output.copy_streams=false leaves the other "
                         "streams out)")

    def _setup(self, copy_streams: bool) -> None:
        c = self._container
        self._check_ts_end()
        # a Matroska file's Segments, read once (see _segment)
        self._file_segment = (matroska_segment(self.spec) if self.kind == "file" and
                              {"matroska", "webm"} & set(c.format.name.split(",")) else None)
        #: where each file joined in a Matroska file starts (bytes), for
        #: _check_every_file_read
        self._file_starts: list[int] = []
        if self._file_segment is not None:
            self._file_starts = matroska_starts(self.spec)
            self._check_joined_tracks(copy_streams)
            part = matroska_cut_part(self.spec) if len(self._file_starts) > 1 else None
            if part is not None:
                what = cut_part_phrase(part)
                if not self.config.allow_truncated:
                    raise InputError(f"input {self.spec} is truncated: {what} {TRUNCATED_HINT}")
                self.notes.append(f"{self.spec}: {what}: what decodes is kept")
            trim = self.config.trim
            if len(self._file_starts) > 2 and (trim is None or trim[1] is None):
                # (a span that ends is judged by what it reads: -t inside the
                # first files keeps what it asked for)
                self._check_demuxer_reach()
        cut = segment_shortfall(self._file_segment)
        if cut is not None and not self.config.allow_truncated:
            # Named at once: a run stopped early (Ctrl-C, -t) keeps what it read,
            # and said nothing of a file it would have refused at its end
            # (trial 109 F7); read to the end, it is refused there.
            self.notes.append(f"{self.spec} is cut short: {cut}")
        # Cover art (an MP3's or M4A's picture) is a video stream of one still:
        # not the video, but kept as an attached picture where the output can hold it.
        pictures = [s for s in c.streams.video if _is_attached_picture(s)]
        vs = video_stream(c)
        if vs is None:
            extra = " (only cover art)" if pictures else ""
            raise InputError(f"input has no video stream{extra}: {self.spec}")
        #: video streams besides the one processed (FFmpeg's default selection too)
        self.other_video_streams = len(moving_video_streams(c)) - 1
        ctx = vs.codec_context
        if ctx is None or ctx.codec is None or not getattr(ctx.codec, "is_decoder", True):
            raise InputError(f"input {self.spec}: no decoder for its video codec")
        if vs.codec_context.width <= 0 or vs.codec_context.height <= 0:
            raise UnsizedStreamError(f"input {self.spec}: video stream has no frame size "
                                     "(corrupt?)")
        #: the processed stream's index, width and height (they outlive the container)
        self.video_choice = (vs.index, vs.codec_context.width, vs.codec_context.height)
        # Keeping what decodes of a damaged file decodes on one thread, as
        # FFmpeg's CLI delivers it (frame for frame, concealed alike). Frame
        # threads lose the frames they hold when a damaged packet is decoded:
        # FFmpeg reports the error on a later send, PyAV raises there, and
        # those frames are never drained. Slice threads let H.264's error
        # concealment write into pictures already handed on (and held: a file
        # is read a frame ahead, and the pipeline's queue holds more): 300
        # bytes of garbage in an MP4 turned 19 frames to green blocks, 7-9 dB
        # where FFmpeg's reading is 20-22 dB, none flagged (trial 143 F4).
        vs.thread_type = "AUTO"
        if self.config.allow_truncated:
            ctx.thread_count = 1
        elif self.config.threads:
            ctx.thread_count = self.config.threads
        self.video_stream = vs
        side, left_out = side_streams(c, vs, self.spec if self.kind == "file" else None)
        if copy_streams:
            self.notes.extend(left_out)
        self.copy_streams = side if copy_streams else []
        #: kinds of the streams there were to copy when copying was off (a live run
        #: drops frames); strings, as they outlive the container
        self.uncopied_streams = [] if copy_streams else [str(s.type) for s in side]
        self.attached_pictures = [s for s in pictures if copy_streams]
        #: attached files (name, MIME type, bytes), copied with the other streams
        self.attachments = attachments(c) if copy_streams else []
        self.timecode = start_timecode(c, vs)
        self._video_packets = 0  # demuxed, with data
        self.corrupt_video_packets = 0  # of them flagged corrupt (see _count_packet)
        # the decoder's use: by the reading thread, or once by held() after a stop
        self._decoding = threading.Lock()
        self._drained = False  # held() took the decoder's last frames: decode no more
        self._last_pts: int | None = None  # the last frame's (as frame_of placed it)
        self._last_damaged: int | None = None  # frames decoded when the last damaged one came
        self._skips = 0  # stretches of video the demuxer skipped beside damaged frames
        self._side_read: dict[int, int] = {}  # copied streams' packets demuxed, by index
        # packets demuxed (video and copied), and the stream and place in that
        # order of the last one flagged corrupt
        self._demuxed = 0
        self._furthest = -1  # the byte position of the furthest packet demuxed
        self._last_corrupt: tuple[int, int] | None = None
        # each copied stream's last packet, and whether it is AAC
        self._last_side: dict[int, tuple[bool, Any]] = {}
        self._side_end: dict[int, int] = {}  # copied streams' latest pts + duration, by index
        self._discarded_packets = 0  # flagged for the decoder to drop (edit lists)
        self._packet_end: float | None = None  # latest pts + duration of a video packet
        # the duration each video packet carries, by pts, until its frame is made
        self._packet_ticks: dict[int, int] = {}
        # the current run of video time forward: its first time, its end, and the
        # extent of the runs before it (seconds; see _count_packet)
        self._run: list[float] | None = None
        self.time_base: Fraction = vs.time_base or Fraction(1, 90000)
        self.rate: Fraction | None = vs.average_rate or vs.guessed_rate or None
        self.start_time = None if vs.start_time is None else float(vs.start_time * self.time_base)
        self.orientation: tuple[int, int, int, int] | None = None  # a quarter turn applied
        self._kept_matrix: tuple[int, ...] | None = None  # another one, handed on (noted)
        self.sample_aspect = sample_aspect(vs)
        # joined recordings (`cat a.ts b.ts`) re-based as demuxed, every stream
        # alike, so trims and the copied streams see one clock (not live inputs)
        self._unjoin: Unjoiner | FileJoins | None = None
        if not self._live and joinable(c):
            self._unjoin = Unjoiner()
        elif not self._live and {"matroska", "webm"} & set(c.format.name.split(",")) and (
                len(self._file_starts) > 1 or self._stdin is not None):
            # Matroska files joined with cat: re-based where each file starts
            # (on standard input as the bytes pass)
            stdin = self._stdin
            self._unjoin = FileJoins((lambda: stdin.starts) if stdin is not None
                                     else (lambda: self._file_starts))

    # -- properties ------------------------------------------------------
    @property
    def info(self) -> StreamInfo:
        if self._closed:  # its streams died with the container
            raise InputError(f"input {self.spec} is closed: its stream info went with it "
                             "(read it before closing, or open it again)")
        return StreamInfo(
            spec=self.spec, width=self.width, height=self.height, time_base=self.time_base,
            rate=self.rate, frame_count=None if self._live else self.frame_count,
            duration=self.duration, metadata=self.metadata,
            side_streams=tuple(self.copy_streams), is_live=self._live,
            video_stream=self.video_stream, timecode=self.timecode,
            attached_pictures=tuple(self.attached_pictures),
            attachments=tuple(self.attachments),
            start=container_start(self._container),
            chapters=() if self._live else tuple(chapters(self._container)),
            rebased=isinstance(self._unjoin, FileJoins))

    @property
    def is_live(self) -> bool:
        return self._live

    @property
    def width(self) -> int:
        if self._facts:
            return int(self._facts["width"])
        return int(self.video_stream.codec_context.width)

    @property
    def height(self) -> int:
        if self._facts:
            return int(self._facts["height"])
        return int(self.video_stream.codec_context.height)

    @property
    def metadata(self) -> dict[str, str]:
        """Container-level tags (title, creation_time, ...)."""
        if self._facts:
            return dict(self._facts["metadata"])
        return dict(self._container.metadata)

    @property
    def stamps_time(self) -> bool:
        """Whether the container carries the frames' times (False: FFmpeg makes them up).

        Multipart JPEG over HTTP (``mpjpeg``), raw H.264/HEVC and MJPEG
        elementary streams carry none (AVFMT_NOTIMESTAMPS): FFmpeg counts
        frames at a guessed 25 fps, whatever the sender's rate.
        """
        if self._container is None:
            return True
        return not int(self._container.format.flags) & _AVFMT_NOTIMESTAMPS

    @property
    def byte_size(self) -> int:
        """Bytes of the input as its protocol knows them (0 when it cannot tell: a stream)."""
        size = getattr(self._container, "size", 0) if self._container is not None else 0
        return int(size) if size and size > 0 else 0

    @property
    def duration(self) -> float | None:
        """Seconds of video, when the container declares it."""
        if self._facts:
            return self._facts["duration"]
        vs = self.video_stream
        if vs.duration:
            return float(vs.duration * self.time_base)
        if self._container.duration:
            return self._container.duration / av.time_base
        return None

    @property
    def declared_frames(self) -> int:
        """The frame count the container's index declares (0 when unknown)."""
        if self._facts:
            return int(self._facts["declared_frames"])
        return int(self.video_stream.frames or 0)

    @property
    def frame_count(self) -> int | None:
        """Best estimate of the number of frames, for progress bars."""
        if self.declared_frames:
            return self.declared_frames
        if self.duration and self.rate:
            return max(1, round(self.duration * float(self.rate)))
        return None

    @property
    def origin(self) -> float:
        """Seconds of the input's first timestamp over all its streams: the origin of ``-ss``.

        FFmpeg counts an input's ``-ss``, ``-t`` and ``-to`` from the
        container's start time, the earliest stream's first timestamp (the
        sound, in a recording whose picture starts later), and so does a
        player's timeline; counted from the video's own first timestamp,
        a cut in a Matroska file whose sound led its picture by 0.54 s
        started 13 frames late (trial 119 F1). The video's first
        timestamp where the container gives none.
        """
        if self._container.start_time is not None:
            return container_start(self._container)
        return self.first_time or 0.0

    @property
    def first_time(self) -> float | None:
        """Seconds of the video's first timestamp, if known (:attr:`origin` counts ``-ss``)."""
        if self.start_time is not None:
            return self.start_time
        start = self._container.start_time
        return None if start is None else start / av.time_base

    def seek(self, seconds: float) -> None:
        """Position every stream at the keyframe at or before ``seconds`` (before iterating).

        The frames from there on are decoded (a trim drops those before its
        start), and the completeness check is off: the file is read in part.

        Raises
        ------
        InputError
            The input cannot seek (a pipe or a live stream).
        """
        self._seeked = True
        if self.kind in ("pipe", "lavfi") or {"mpegts", "mpeg", "mpegvideo", "image2"} & set(
                self._container.format.name.split(",")):
            # MPEG-TS and MPEG-PS seek by bytes and can land past the keyframe
            # (or at the end: -ss found no frame at all; a .mpg trimmed at 1.25 s
            # lost 20 of 38 frames, trial 52); an image sequence cannot seek
            # ("Invalid argument"); a pipe cannot go back, and Matroska on stdin
            # "seeked" by reading on past a second more, or past every frame
            # with -t (trial 38); a lavfi graph has nothing to seek in ("Invalid
            # argument", trial 61). They are read from their start and the trim
            # drops the frames before the start.
            return
        if len(self._file_starts) > 1:
            # Matroska files joined with cat: a seek lands in each file's
            # clock, and -ss 1 dropped the first second of every file, 50
            # frames of 75 written, exit 0 (trial 114 F1); read from the
            # start, the trim drops what comes before it on the joined clock
            return
        if self.kind == "url" and accepts_ranges(self.spec, self.config.timeout or None) is False:
            # A server that takes no range requests cannot seek either: FFmpeg
            # reads on to where it guesses the time is, and -ss on a Matroska
            # file landed 1.5 s late, 37 frames lost without a word (trial 55).
            return
        try:
            self._container.seek(max(0, int(seconds * av.time_base)), backward=True,
                                 any_frame=False)
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise InputError(f"input {self.spec} cannot seek to {seconds:g} s: {exc}") from None

    # -- iteration -------------------------------------------------------
    def _frames(self) -> Iterator[Frame]:
        """The decoded frames, each shown until the next (read one ahead in files).

        A decoded frame's duration is its packet's, and MP4 times packets in
        decoding order: with B-frames the picture's pause went to a frame
        shown later, and the frame before the pause, shown through it, had
        one frame's time (trial 81 F9, F10: outputs 7 s too long, a trim
        inside the pause without its picture). In a file each frame but the
        last lasts until the next one's time, as a player shows it; the last
        keeps its own (a held last frame). Live inputs are not held back. In
        joinable inputs (MPEG-TS) a jump ahead of the clock may be a join of
        two recordings, not a picture shown through it: there a frame's time
        is only ever shortened to the gap.
        """
        if self._live:
            yield from self._decoded()
            return
        held: Frame | None = None
        for frame in self._decoded():
            if held is not None:
                gap = (frame.pts or 0) - (held.pts or 0)
                own = held.meta.get("duration")
                if gap > 0 and (self._unjoin is None or (own and gap < own)):
                    held.meta["duration"] = gap
                yield held
            held = frame
        if held is not None:
            yield held

    def _decoded(self) -> Iterator[Frame]:
        vs = self.video_stream
        streams = [vs, *self.copy_streams, *self.attached_pictures]
        copied = {s.index for s in (*self.copy_streams, *self.attached_pictures)}
        last_pts: int | None = None
        step = self._pts_step()
        # AVI stores no presentation times: its demuxer stamps each packet in
        # decoding order, so with B-frames the frames came out with pts 1, 4,
        # 3, 5, 2, ... (100 frames spread over 7 s, trial 52). Their DTS run
        # in order; FFmpeg's guess_correct_pts turns to them the same way.
        # The first frame shown goes where the first packet was stored, the
        # stream's start (the demuxer's PTS, a tick past the DTS for H.264,
        # put the picture a frame after the sound, trial 82 F1).
        from_dts = "avi" in self._container.format.name.split(",")
        dts_shift: int | None = None
        first_dts: int | None = None  # the first video packet's

        # the last gap of more than two frames (its ends and the frame count
        # there), to tell a skip past damage (self._last_damaged)
        gap: tuple[int, int, int] | None = None

        def frame_of(av_frame: Any) -> Frame:
            nonlocal last_pts, dts_shift, gap
            pts = av_frame.pts
            dts = getattr(av_frame, "dts", None)
            if from_dts and dts is not None:
                if dts_shift is None:
                    dts_shift = 0 if first_dts is None else first_dts - dts
                pts = dts + dts_shift
            elif from_dts and last_pts is not None:
                pts = last_pts + step  # the frames the decoder held to the end: no DTS
            if pts is None:
                pts = 0 if last_pts is None else last_pts + step
            n = self._frames_decoded
            if last_pts is not None and pts - last_pts > 2 * step:
                gap = (last_pts, pts, n)
            if av_frame.is_corrupt:  # decoded with errors the decoder concealed
                self._last_damaged = n
            damaged = self._last_damaged
            if (gap is not None and damaged is not None
                    and abs(gap[2] - damaged) <= _DAMAGED_AT_END):
                self._skipped_damage(gap[0], gap[1], step)
                gap = None
            last_pts = self._last_pts = pts
            self._last_time = float(pts * self.time_base)
            return self._make_frame(av_frame, pts)

        try:
            for packet in self._container.demux(streams):
                if self.stopped:
                    break
                if not self._unjoined(packet):
                    continue
                if packet.stream.index in copied:
                    if packet.size:
                        self._side_reached(packet)
                        self.side_packets.put(packet)
                    continue
                if packet.size:
                    self._count_packet(packet)
                    if first_dts is None:
                        first_dts = packet.dts
                for av_frame in self._decode(packet):
                    yield frame_of(av_frame)
        except av.FFmpegError as exc:
            if (getattr(exc, "errno", None) == errno.ENOENT
                    and "image2" in self._container.format.name.split(",")):
                # A numbered sequence ends at its first missing number, as FFmpeg
                # reads it ("damaged after 0.00 s" before): the decoder's frames
                # are flushed and the gap noted
                for av_frame in vs.codec_context.decode(None):
                    yield frame_of(av_frame)
                self.notes.append(f"the sequence {self.spec} ends at its first missing "
                                  f"number, after {self._frames_decoded} frames (as FFmpeg "
                                  "reads it)")
                return
            if (self.kind == "pipe" and self._last_time is None
                    and "mp4" in self._container.format.name.split(",")):
                # The mov demuxer found the index at the end by reading through the
                # media, and a pipe cannot go back to it: not damage, nor truncation.
                raise InputError(
                    f"input {self.spec}: an MP4/MOV whose index comes after its media cannot be "
                    "read from a pipe (FFmpeg cannot either); give the file's path, remux it "
                    "with -movflags +faststart, or pipe MPEG-TS or Matroska") from None
            if (self.kind == "url" and "mp4" in self._container.format.name.split(",")
                    and accepts_ranges(self.spec, self.config.timeout or None) is False):
                # likewise a server that cannot go back (no range requests): it
                # was called "damaged: Input/output error" (trial 55)
                raise InputError(
                    f"input {self.spec}: the server takes no range requests, and an MP4/MOV "
                    "whose index comes after its media cannot be read without them (FFmpeg "
                    "cannot either); download it first, serve it from a server that takes "
                    "them, or remux it with -movflags +faststart") from None
            if not (self.config.allow_truncated or self.is_live):
                where = "" if self._last_time is None else f" after {self._last_time:.2f} s"
                reason = getattr(exc, "strerror", None) or str(exc)
                raise InputError(f"input {self.spec} is damaged{where}: {reason} "
                                 f"{TRUNCATED_HINT}") from None
            if not (self.is_live and isinstance(exc, av.ExitError | av.EOFError)):
                # (a live stream's read that waited out input.timeout, or its end, is
                # no damaged packet: a sender that stopped was warned about as one,
                # trial 78 F8)
                self._decode_errors += 1
        if self.stopped or self.is_live:
            # Stopped (Ctrl-C) or the stream ended: the frames the decoder still holds
            # (its frame threads, B-frames) were received; a live UDP recording lost its
            # last 6 frames to that (trial 38). At the file's own end demux flushed it.
            for av_frame in self._flush_decoder():
                yield frame_of(av_frame)
        if self._unjoin is not None and self._unjoin.joins:
            self.notes.append(f"{self._unjoin.joins} join(s) where the input's clock goes "
                              "back (joined recordings): every stream re-based alike there")
        self._check_every_file_read()
        self._check_complete()

    def report(self) -> dict[str, Any]:
        """Copied packets left out at the joins of Matroska files joined with cat (see
        :class:`FileJoins`), as a trip counts them."""
        if isinstance(self._unjoin, FileJoins) and self._unjoin.dropped:
            return {"packets_dropped_at_joins": self._unjoin.dropped}
        return {}

    def _check_demuxer_reach(self) -> None:
        """Refuse at once Matroska files joined with cat whose last file the demuxer never
        reaches: its packets are read through (not decoded) on a second opening.

        Told only at the end of the read, a stream output (``-o -``) had been
        sent two thirds of the recording by then (trial 116 F1). Only for
        three files or more (FFmpeg 5.1 reads two); :meth:`_check_every_file_read`
        still judges what the run itself read.
        """
        furthest = -1
        try:
            with av.open(self.spec) as probe:
                for packet in probe.demux():
                    if packet.pos is not None and packet.pos > furthest:
                        furthest = packet.pos
        except (av.FFmpegError, OSError, ValueError):
            return  # judged as the run reads it
        self._raise_unread(self._file_starts, furthest)

    def _check_every_file_read(self) -> None:
        """Refuse Matroska files joined with ``cat`` whose later files the demuxer never reached.

        FFmpeg's Matroska demuxer (5.1) goes on past the first file's end into
        the second but stops at the third: three or four files joined gave
        the first two, exit 0 and no word (trial 113 F1). The packets' byte
        positions show how far it read.
        """
        reader = self._stdin
        if reader is not None and reader.cut is not None and not self.config.allow_truncated:
            return  # a part cut short: refused as truncated (_check_complete), its reason
        starts = self._file_starts or (reader.starts if reader is not None else [])
        if self.stopped:
            return
        last_cut = segment_shortfall(self._segment()) is not None
        if last_cut and not self.config.allow_truncated:
            # the last file cut short (a copy stopped 200 bytes in was called a
            # lost file, trial 115 F3): refused as truncated, its reason
            return
        if last_cut and _files_reached(starts, self._furthest) + 1 == len(starts):
            # kept what decodes, as asked: only the cut last file went unread
            self.notes.append(f"{self.spec}: the last of the {len(starts)} Matroska files "
                              "joined in it is cut short, and none of it was read")
            return
        self._raise_unread(starts, self._furthest)

    def _raise_unread(self, starts: list[int], furthest: int) -> None:
        """Refuse when the furthest packet demuxed (byte ``furthest``) lies before the last
        joined file's start."""
        if len(starts) < 2 or furthest < 0 or furthest >= starts[-1]:
            return
        n = len(starts)
        reached = _files_reached(starts, furthest)
        lost = f"file {n}" if reached + 1 == n else f"files {reached + 1} to {n}"
        shown = ", ".join(str(at) for at in starts[:8]) + (", ..." if n > 8 else "")
        raise InputError(
            f"input {self.spec} is {n} Matroska files joined end to end (cat), and FFmpeg's "
            f"demuxer, which reads it, stops in file {reached}: {lost} would be lost; run the "
            f"files as separate inputs (vidclear run a.mkv b.mkv ...): they start at bytes "
            f"{shown}")

    def _unjoined(self, packet: Any) -> bool:
        """Re-base ``packet`` at the input's joins, in file order (:class:`Unjoiner`,
        :class:`FileJoins`); False for a copied packet to leave out there."""
        if self._unjoin is None:
            return True
        ts = packet.dts if packet.dts is not None else packet.pts
        tb = packet.time_base
        if ts is None or not tb:
            return True
        shown = None if packet.pts is None else float(packet.pts * tb)
        video = packet.stream.index == self.video_stream.index
        duration = float(packet.duration * tb) if packet.duration else (
            1 / float(self.rate) if video and self.rate else 0.0)  # a TS may carry none
        if isinstance(self._unjoin, FileJoins):
            placed = self._unjoin.place(packet.pos, video, float(ts * tb) if shown is None
                                        else shown, duration, packet.stream.index)
            if placed is None:
                return False
            shift = placed
        else:
            shift = self._unjoin.place(packet.stream.index, video, float(ts * tb), shown,
                                       duration)
        if shift:
            ticks = round(shift / float(tb))
            if packet.dts is not None:
                packet.dts += ticks
            if packet.pts is not None:
                packet.pts += ticks
        return True

    def after_stop(self) -> None:
        """The copied streams' packets up to the end of the last frame read, after a stop.

        The file holds them later (a muxer places audio after the video of the
        same time): after Ctrl-C an MPEG-TS's sound ended 0.2 s before its
        picture (trial 72). As at a trim's end (:meth:`drain_side_packets`).
        """
        # a file only: a pipe or a server may have nothing more to give, and
        # waiting for it would hang the stop
        if self.stopped and self.kind == "file" and not self.is_live \
                and self._last_time is not None and not self._closed:
            step = 1.0 / float(self.rate) if self.rate else 0.0
            self.drain_side_packets(self._last_time + step)

    def drain_side_packets(self, until: float) -> None:
        """Pass on the copied streams' packets before ``until`` that the file holds later.

        For a trim that ends at ``until`` seconds (this source's clock): its
        video stopped at the first frame past the end, but a muxer places
        audio after the video of the same time (MPEG-TS by up to 0.7 s), so
        those packets were not read yet (a TS trim lost its last 70–80 ms of
        audio). Reads on, without decoding, until every copied stream has
        reached ``until``, the video has passed it by ``_SIDE_SLACK_S``, or
        the file ends. Nothing for live inputs.
        """
        if not self.copy_streams or self.is_live or self._container is None:
            return
        vs = self.video_stream
        pending = {s.index for s in self.copy_streams}
        try:
            for packet in self._container.demux([vs, *self.copy_streams]):
                if not self._unjoined(packet):
                    continue
                ts = packet.pts if packet.pts is not None else packet.dts
                if ts is None:
                    continue
                t = float(ts * packet.time_base)
                if packet.stream.index == vs.index:
                    if t > until + _SIDE_SLACK_S:
                        return
                elif t >= until:
                    pending.discard(packet.stream.index)
                    if not pending:
                        return
                elif packet.size:
                    self.side_packets.put(packet)
        except av.FFmpegError:
            return  # a damaged tail: what was read is kept

    def _count_packet(self, packet: Any) -> None:
        """What the demuxer presents: the reference the completeness check uses."""
        self._video_packets += 1
        if getattr(packet, "is_corrupt", False):
            #: video packets the demuxer flagged corrupt (MPEG-TS: a continuity
            #: counter that jumped, data lost on the way)
            self.corrupt_video_packets += 1
        self._note_corrupt(packet)
        if getattr(packet, "is_discard", False):
            self._discarded_packets += 1
        if packet.pts is not None:
            if len(self._packet_ticks) > 256:  # packets that never came back as frames
                self._packet_ticks.clear()
            self._packet_ticks[packet.pts] = int(packet.duration or 0)
            at = float(packet.pts * self.time_base)
            end = float((packet.pts + (packet.duration or 0)) * self.time_base)
            if self._packet_end is None or end > self._packet_end:
                self._packet_end = end
            # the video's extent over clock restarts: each run of time forward
            # counted once (a Matroska file whose clock starts again was refused
            # as cut short, its last time short of its duration, trial 77 T3)
            if self._run is None:
                self._run = [at, end, 0.0]
            elif at < self._run[1] - _RESTART_S:  # back by more than B-frames reorder
                self._run = [at, end, self._run[2] + self._run[1] - self._run[0]]
            else:
                self._run[1] = max(self._run[1], end)

    def _skipped_damage(self, last_pts: int, pts: int, step: int) -> None:
        """Frames missing beside a damaged one: the demuxer skipped damaged data.

        Garbage in the middle of a Matroska or MPEG-TS file lost a second
        of picture and sound behind one frame decoded with errors, and the
        run ended with exit 0 (trial 141 F1; the same damage in an MP4 was
        refused). A file is refused, as a truncated one is; with
        ``input.allow_truncated`` (and live) the gap is kept and said.
        """
        missing = max(1, round((pts - last_pts) / step) - 1)
        at = float(last_pts * self.time_base)
        what = (f"about {missing} frame{'s' if missing != 1 else ''} of its video "
                f"({float((pts - last_pts) * self.time_base):.2f} s) are missing after "
                f"{at:.2f} s, beside data decoded with errors: the demuxer skipped damaged data")
        if not (self.config.allow_truncated or self.is_live):
            raise InputError(f"input {self.spec} is damaged: {what} {TRUNCATED_HINT}")
        self._skips += 1
        if self._skips <= _SKIP_NOTES:  # (a live stream's losses go on: the first few)
            self.notes.append(f"input {self.spec}: {what}; the output keeps the gap")

    def _flush_decoder(self) -> list[Any]:
        """The frames the decoder holds, once: none after :meth:`held` took them."""
        with self._decoding:
            if self._drained:
                return []
            self._drained = True
            try:
                return list(self.video_stream.codec_context.decode(None))
            except (av.FFmpegError, ValueError):
                return []

    def held(self) -> list[Frame]:
        """The frames the decoder holds of the packets read (see :meth:`Source.held`).

        Only for a live input: a file's end flushes its decoder, and a file
        stopped early keeps the frames read so far. Placed after the last
        frame read, a frame step apart where the decoder gives no time.
        """
        if not self.is_live:
            return []
        step = self._pts_step()
        out = []
        for av_frame in self._flush_decoder():
            pts = av_frame.pts
            if pts is None or (self._last_pts is not None and pts <= self._last_pts):
                pts = 0 if self._last_pts is None else self._last_pts + step
            self._last_pts = pts
            out.append(self._make_frame(av_frame, pts))
        return out

    def _decode(self, packet: Any) -> list[Any]:
        with self._decoding:
            if self._drained:  # held() took the decoder's last frames (a stop)
                return []
            try:
                return packet.decode()
            except av.FFmpegError as exc:
                # Broken packets are expected on live streams; in files they mean damage.
                if not (self.config.allow_truncated or self.is_live) or isinstance(
                        exc, av.EOFError):
                    raise
                self._decode_errors += 1
                return []

    def _pts_step(self) -> int:
        if self.rate:
            return max(1, round(1 / (self.rate * self.time_base)))
        return 1

    def _make_frame(self, av_frame: Any, pts: int) -> Frame:
        meta: dict[str, Any] = {"index": self.frames_decoded, "capture_time": time.monotonic()}
        # as its packet said it, 0 for none (``duration`` becomes the time to
        # the next frame, and the decoder makes one up from the rate where the
        # packet has none): FFmpeg's video sync for constant-rate outputs reads
        # it. With B-frames a packet's duration is its place in decoding order
        # and lands on another frame (FFmpeg 5.1 reads none there): taken as
        # the frame's, an Ogg output dropped 26 frames of 130 (trial 104 F2).
        reordered = bool(getattr(self.video_stream.codec_context, "has_b_frames", False))
        ticks = self._packet_ticks.pop(av_frame.pts, 0) if av_frame.pts is not None else 0
        meta["packet_duration"] = 0 if reordered else ticks
        if av_frame.duration:  # ticks of the time base; a held last frame keeps its time
            meta["duration"] = int(av_frame.duration)
        if av_frame.is_corrupt:  # decoded with errors the decoder concealed (damaged data)
            meta["damaged"] = True
        self._frames_decoded += 1
        matrix = display_matrix(av_frame) if av_frame.side_data else None
        turned, kept = placement(matrix, self.config.autorotate)
        if kept is not None:  # handed on to the output, as ffmpeg -noautorotate does
            meta["display_matrix"] = kept
            if quarter_turns(kept) is None and self._kept_matrix != kept:
                # FFmpeg turns the picture within its frame (its rotate filter:
                # corners cut, black beside); vidclear keeps every pixel and the
                # matrix, where before the angle was dropped without a word
                # (trial 119 F3)
                self._kept_matrix = kept
                self.notes.append(
                    f"{self.spec}: its display matrix {describe(kept)}, which is no quarter "
                    "turn: the picture is processed as stored, and the matrix goes with it "
                    "to an output that holds one (MP4, MOV, Matroska, WebM) for players to "
                    "apply (FFmpeg's autorotate turns the picture within its frame, cutting "
                    "the corners)")
        if self.sample_aspect is not None:  # anamorphic: turned a quarter, its inverse
            quarter = turned is not None and turned[0] == 0
            meta["sample_aspect_ratio"] = 1 / self.sample_aspect if quarter else \
                self.sample_aspect
        if turned is not None:
            # a quarter turn, mirrored or not, applied as FFmpeg's autorotate
            # applies it; read as a plain angle, a mirror came out upside
            # down and a transpose as a turn (trial 120 F1)
            self.orientation = turned
            image = av_frame.to_ndarray(
                format="rgb48le" if any(c.bits > 8 for c in av_frame.format.components)
                else "rgb24"
            )
            return Frame(orient(image, turned), pts=pts, time_base=self.time_base, meta=meta)
        return Frame(pts=pts, time_base=self.time_base, meta=meta, av_frame=av_frame)

    def _note_corrupt(self, packet: Any) -> None:
        """Count a demuxed packet; remember where the last one flagged corrupt came,
        and each copied stream's last packet."""
        self._demuxed += 1
        if packet.pos is not None and packet.pos > self._furthest:
            self._furthest = packet.pos
        if getattr(packet, "is_corrupt", False):
            self._last_corrupt = (packet.stream.index, self._demuxed)
        if packet.stream.type != "video":
            # (its codec read now: a muxed packet is given the output's stream)
            ctx = packet.stream.codec_context  # None for a data stream (trial 109 F1)
            self._last_side[packet.stream.index] = (ctx is not None and ctx.name == "aac",
                                                    packet)

    def _ends_in_a_cut_frame(self) -> int | None:
        """The copied AAC stream whose last packet is shorter than its ADTS header says, if any.

        MPEG-TS carries AAC as ADTS frames, each header giving the frame's
        length (ISO/IEC 13818-7, 6.2: 13 bits from the header's 31st); a file
        cut inside the last one hands on the part there is.
        """
        for index, (aac, packet) in self._last_side.items():
            if not aac:
                continue
            data = bytes(packet)
            if len(data) >= 7 and data[0] == 0xFF and data[1] & 0xF0 == 0xF0:
                length = ((data[3] & 0x03) << 11) | (data[4] << 3) | (data[5] >> 5)
                if length > len(data):
                    return int(index)
        return None

    def _side_reached(self, packet: Any) -> None:
        """Count a copied stream's ``packet`` and note how far it reaches (pts + duration)."""
        index = packet.stream.index
        self._side_read[index] = self._side_read.get(index, 0) + 1
        self._note_corrupt(packet)
        start = packet.pts if packet.pts is not None else packet.dts
        if start is None:
            return
        end = int(start) + int(packet.duration or 0)
        if end > self._side_end.get(index, end - 1):
            self._side_end[index] = end

    def _check_complete(self) -> None:
        """Refuse a file whose index promises video that never arrives.

        The reference is what the demuxer presents, as in FFmpeg: packets
        after edit lists (pre-roll packets flagged for discarding are not
        frames), each lasting its own duration (a held last frame is fine).
        A file is truncated only when its index declares more video packets
        than the file holds, or declares video beyond the end of the last one.
        """
        if self.kind not in ("file", "pipe") or self.config.allow_truncated:
            return
        hint = TRUNCATED_HINT
        if self.stopped:
            return  # stopped early (Ctrl-C, -t): a cut Matroska file was named when opened
        # A Matroska file says how long its Segments are: one cut short in its
        # sound-only tail was read to the cut without a word (trial 106 F1), a
        # whole one whose video stops early was refused (F2). The structure
        # holds whatever was read of it, after a seek too (-ss skipped every
        # check below, and a cut file was read to the cut: trial 108 F1), and
        # on standard input (trial 108 F3).
        segment = self._segment()
        cut_short = segment_shortfall(segment)
        if cut_short is not None:
            raise InputError(f"input {self.spec} is truncated: {cut_short} {hint}")
        part = self._stdin.cut if self._stdin is not None else None
        if part is not None:  # a file's parts are judged when it is opened
            raise InputError(f"input {self.spec} is truncated: {cut_part_phrase(part)} {hint}")
        # An MPEG-TS file cut on a transport packet's boundary ends whole, but
        # inside the last PES packet of a stream, whose frames the demuxer hands
        # on flagged corrupt, with at most the other streams' last packets after
        # them, or (where the PES gives no length) inside the last AAC frame:
        # cut in the sound after the picture had ended, it was read with a note
        # alone (trial 106 F7). A stream damaged on the way ends whole.
        if "mpegts" in self._container.format.name.split(","):
            corrupt = self._last_corrupt
            near_end = corrupt is not None and self._demuxed - corrupt[1] < _CORRUPT_AT_END
            cut = corrupt[0] if corrupt is not None and near_end else self._ends_in_a_cut_frame()
            if cut is not None:
                raise InputError(
                    f"input {self.spec} is truncated: it ends inside a packet of stream "
                    f"#{cut} (an MPEG-TS cut short) {hint}")
        # a pipe too: a faststart MP4 cut short on stdin promised 900 frames in its
        # index and quietly gave 270
        if self._seeked:
            return
        now, then = self._file_state(), self._state_at_open
        unfinished = (then is not None and self._declared_video_end() is None
                      and {"matroska", "webm"} & set(self._container.format.name.split(",")))
        if unfinished and now is not None and now == then and \
                time.time_ns() - now[1] < _RECENT_S * 1e9:
            # no size nor duration recorded and written a moment ago: its
            # writer may not have flushed while it was read (trial 73: 68 of
            # 300 frames, exit 0); a finished one stays as it is
            time.sleep(_WRITER_WAIT_S)
            now = self._file_state()
        if then is not None and now is not None and now != then:
            # a recording still being written (a Matroska file whose size and
            # duration are not written yet) was read to where its writer had
            # got, 136 of 300 frames, without a word (trial 72)
            raise InputError(
                f"input {self.spec} is still being written: it changed while it was read "
                f"({then[0]} bytes, then {now[0]}), and its end is not there yet; run "
                f"again once the recording is finished {hint}")
        if unfinished:
            # no size nor duration recorded: written as a stream, or cut off
            # before it was finished; read to its end as FFmpeg does
            self.notes.append(
                f"{self.spec} records no duration (a Matroska file written as a stream, "
                "still being written, or one whose recording stopped before it was "
                f"finished): read to its end, {self.frames_decoded} frames")
        reader = self._stdin
        if (reader is not None and "mpegts" in self._container.format.name.split(",")
                and not ts_ends_whole(reader.tail, reader.count)):
            # the same bytes as a file are refused when opened (trial 38)
            raise InputError(f"input {self.spec} is truncated: {ts_cut_phrase(reader.count)} "
                             f"{TRUNCATED_HINT}")
        if self.frames_decoded == 0:
            raise InputError(f"input {self.spec} holds no decodable video frames")
        declared = self.declared_frames
        if declared and self._video_packets < declared and not self._avi_ticks(declared):
            raise InputError(
                f"input {self.spec} is truncated: its index promises {declared} video "
                f"frames, the file holds {self._video_packets} {hint}"
            )
        for stream in self.copy_streams:
            # A damaged sample table (MP4/MOV) leaves a copied stream short: the
            # sound stopped after 1.3 s of 8 with no word, while FFmpeg said
            # "wrong sample count" (trial 55). Short in packets and in time:
            # PCM in MOV declares its samples (57600) and packs them by the
            # thousand (57 packets), and edit lists and sparse subtitles make
            # the time alone a poor measure.
            promised, read = int(stream.frames or 0), self._side_read.get(stream.index, 0)
            if not promised or read >= promised - max(2, promised // 50):
                continue
            if stream.type in ("subtitle", "data"):
                # a clip FFmpeg cut with -ss and -c:s copy keeps the cues before
                # the cut under an edit list, which the demuxer leaves out: such
                # a file was refused as damaged (trial 137 F1). Said, not refused.
                self.notes.append(
                    f"{self.spec}: its index holds {promised} {stream.type} packets in "
                    f"stream #{stream.index}, {read} were read (an edit list cuts the rest "
                    "away, or the table is damaged)")
                continue
            tb = stream.time_base
            # the length promised: in time where the stream states one; AVI counts
            # PCM in samples, not packets (a dashcam's MJPEG and PCM file, 240000
            # samples in 235 packets, was refused as damaged, trial 81 F1)
            samples = _counts_samples(stream)
            length = (promised / stream.codec_context.sample_rate if samples else
                      float(stream.duration * tb) if stream.duration and tb else None)
            if length is not None and tb and stream.index in self._side_end:
                held = float((self._side_end[stream.index] - (stream.start_time or 0)) * tb)
                if held >= length - max(0.25, 0.02 * length):
                    continue
                what = f"{promised} samples" if samples else f"{promised} packets"
                raise InputError(
                    f"input {self.spec} is damaged: its index promises {length:.2f} s of "
                    f"{stream.type} in stream #{stream.index} ({what}), the file holds "
                    f"{max(held, 0.0):.2f} s ({read} packets) {hint}")
            raise InputError(
                f"input {self.spec} is damaged: its index promises {promised} {stream.type} "
                f"packets in stream #{stream.index}, {read} could be read {hint}")
        end = self._declared_video_end()
        last = self._packet_end if self._packet_end is not None else self._last_time
        if last is not None and self._run is not None and self._run[2] > 0:
            # clock restarts: where the video would end, its runs laid end to end
            first = self.first_time or 0.0
            last = max(last, first + self._run[2] + self._run[1] - self._run[0])
        if end is not None and last is not None:
            step = 1.0 / float(self.rate) if self.rate else 0.04
            slack = max(0.25, 3 * step)
            if last < end - slack:
                if segment is None:
                    raise InputError(
                        f"input {self.spec} is truncated: video stops at {last:.2f} s "
                        f"of {end:.2f} s {hint}"
                    )
                if (self._last_damaged is not None
                        and self._frames_decoded - self._last_damaged <= _DAMAGED_AT_END):
                    # ... where its last frames decoded with errors: the demuxer
                    # gave up at damaged data (garbage in the middle lost the
                    # second half of a clip without a word, trial 141 F1)
                    raise InputError(
                        f"input {self.spec} is damaged: its video stops at {last:.2f} s of "
                        f"the {end:.2f} s it declares, after data decoded with errors (the "
                        f"demuxer gave up there) {hint}")
                # a whole file (its Segment is all there) whose video stops
                # early, or whose last frame lasts without its duration
                # recorded (a Matroska remux: trial 103 F4); FFmpeg reads it
                # the same
                self.notes.append(
                    f"{self.spec}: its video stops at {last:.2f} s of the {end:.2f} s it "
                    "declares, and the file is whole (a shorter video stream, or a last "
                    "frame held without its duration recorded): the video is read as it "
                    "is, as FFmpeg reads it")

    def _segment(self) -> tuple[int, int] | None:
        """A Matroska input's declared end and the bytes it holds (see :func:`matroska_segment`).

        A file's Segments, read when it was opened, or standard input's as
        they passed; None for other inputs and formats, or where the
        Segment's size is not recorded.
        """
        if self.kind == "file":
            return self._file_segment
        if not {"matroska", "webm"} & set(self._container.format.name.split(",")):
            return None
        reader = self._stdin
        if reader is not None and reader.segments_end is not None:
            return reader.segments_end, reader.count
        return None

    def _avi_ticks(self, declared: int) -> bool:
        """Whether an AVI's declared length is ticks its packets' timestamps cover.

        AVI declares a stream's length in ticks of its time base
        (``dwLength`` in ``dwScale / dwRate`` units), a frame count only when
        a tick is a frame; a VFR source written with a finer time base leaves
        the ticks between frames empty (vidclear's own AVI outputs were
        refused as truncated). Such a file is whole when its last packet
        reaches the declared length; the end check still applies.
        """
        if "avi" not in self._container.format.name.split(",") or self._packet_end is None:
            return False
        tb = self.video_stream.time_base
        start = self.first_time or 0.0
        step = (self._packet_end - start) / max(self._video_packets, 1)  # a frame, on average
        return self._packet_end >= start + float(declared * tb) - 1.5 * step

    def _check_ts_end(self) -> None:
        """Refuse an MPEG-TS file that ends inside a transport packet (it was cut short).

        MPEG-TS has no index to check against: a cut file just ends, and its
        last frames decode damaged or not at all. Its packets are 188 bytes
        (192 in M2TS, whose 4-byte time stamp comes first; 204 with
        Reed-Solomon bytes) and start with the sync byte 0x47: a whole file
        has one where its last two packets start. Where it begins does not
        matter (a file cut at its head is resynchronised by the demuxer).
        """
        if self.kind != "file" or self.config.allow_truncated:
            return
        if "mpegts" not in self._container.format.name.split(","):
            return
        if not os.path.isfile(self.spec):  # a FIFO or a device: reading it would take its data
            return
        size = ts_file_cut(self.spec)
        if size is not None:
            raise InputError(f"input {self.spec} is truncated: {ts_cut_phrase(size)} "
                             f"{TRUNCATED_HINT}")

    def _declared_video_end(self) -> float | None:
        """Where the container says the video stream ends (seconds), if it says."""
        vs = self.video_stream
        if vs.duration:
            start = vs.start_time or 0
            return float((start + vs.duration) * self.time_base)
        tag = vs.metadata.get("DURATION")  # Matroska writes it per stream
        if tag:
            try:
                h, m, sec = tag.split(":")
                return int(h) * 3600 + int(m) * 60 + float(sec)
            except ValueError:
                return None
        return None

    def close(self) -> None:
        if not self._closed:
            # Plain facts outlive the container; its stream objects do not: read
            # after close they were freed memory (repr() of a closed source
            # crashed the interpreter).
            self._facts = {key: getattr(self, key) for key in
                           ("width", "height", "metadata", "duration", "declared_frames")}
            self._facts["copy_streams"] = [str(s.type) for s in self.copy_streams]
        super().close()

    def _close(self) -> None:
        self._container.close()

    @property
    def discarded_packets(self) -> int:
        """Video packets the container flags for dropping (edit-list pre-roll)."""
        return self._discarded_packets

    def __repr__(self) -> str:
        kinds = (self._facts["copy_streams"] if self._facts
                 else [str(s.type) for s in self.copy_streams])
        closed = ", closed" if self._closed else ""
        return (f"AVSource({self.spec!r}, {self.width}x{self.height}, rate={self.rate}, "
                f"copy_streams={kinds}{closed})")
