"""Long files cut at keyframes, processed in parallel and joined by stream copy.

A file longer than ``segment_seconds`` is cut at keyframes roughly every
``segment_seconds``. Each segment is decoded from the keyframe at or before
``overlap`` seconds ahead of its first frame: those warm-up frames go through
the processors (so temporal state such as the smoothed airlight or the
tone-map key settles as it would in one pass) and are then discarded. The
segment's own frames keep their source timestamps, so joining is a plain
packet copy in order; the audio (and subtitle/data) packets are copied once
from the source while joining.

The result differs from one sequential pass only by the encoder restarting
at each cut (a new GOP, fresh rate control) and by any temporal state older
than the overlap; with an overlap of three time constants the state is
within e^-3 (5%) of its one-pass value at the seam.
"""

from __future__ import annotations

import contextlib
import heapq
import os
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from vidclear.config.sections import OutputConfig
from vidclear.core.frame import Frame
from vidclear.core.source import Source, StreamInfo
from vidclear.errors import ConfigError, InputError, OutputError
from vidclear.io.joins import Timeline, joinable
from vidclear.io.orientation import file_display_matrix, placement
from vidclear.io.sinks.audio import AudioTranscode, is_ogg, own_audio_codec
from vidclear.io.sinks.encoder import (
    TIMECODE_FORMATS,
    TS_SUFFIXES,
    add_attachments,
    add_chapters,
    audio_unfit,
    cannot_hold,
    codec_name,
    constant_rate,
    container_for,
    mark_output,
    name_layout,
    output_shift,
    re_encoding_note,
    tag_hevc_for_apple,
)
from vidclear.io.sinks.marks import ENCODING_TAGS, keep_marks
from vidclear.io.sinks.paths import publish
from vidclear.io.sinks.subtitles import SubtitleConvert, text_target
from vidclear.io.sources.av_source import (
    attachments,
    chapters,
    container_start,
    moving_video_streams,
    open_error,
    side_streams,
    start_timecode,
    video_stream,
)
from vidclear.io.sources.structure import (
    TRUNCATED_HINT,
    matroska_segment,
    matroska_starts,
    segment_shortfall,
    ts_cut_phrase,
    ts_file_cut,
)

__all__ = ["Segment", "SegmentSource", "estimate_frames", "join_segments",
           "plan_segments", "unjoinable"]

_MP4 = {".mp4", ".m4v", ".mov"}


@dataclass(frozen=True)
class Segment:
    """Frames with ``start <= pts < end`` (``end`` None: to the end of the file).

    ``warm`` is the pts the decoder seeks back to before ``start`` (None: the
    segment starts the file). Times are in ``time_base`` units.
    """

    index: int
    start: int
    end: int | None
    warm: int | None
    time_base: Fraction
    frames: int

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "start": self.start, "end": self.end, "warm": self.warm,
                "time_base": str(self.time_base), "frames": self.frames}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Segment:
        return cls(d["index"], d["start"], d["end"], d["warm"], Fraction(d["time_base"]),
                   d["frames"])


def estimate_frames(path: Path) -> tuple[int, float]:
    """``(frames, seconds)`` of a file from its header (0 when unknown); never raises."""
    try:
        with av.open(str(path)) as c:
            vs = video_stream(c)
            if vs is None:
                return 0, 0.0
            seconds = (float(vs.duration * vs.time_base) if vs.duration and vs.time_base
                       else (c.duration or 0) / av.time_base)
            rate = float(vs.average_rate or vs.guessed_rate or 0)
            return int(vs.frames or round(seconds * rate)), seconds
    except Exception:
        return 0, 0.0


def plan_segments(
    path: Path, *, segment_seconds: float, overlap: float, check: bool = True
) -> list[Segment] | None:
    """Cut points at keyframes, or None when the file should run in one piece.

    A file runs in one piece when it is shorter than 1.5 segments, has fewer
    than two usable keyframes, carries a display rotation, its packets lack
    timestamps, or its clock goes back (recordings joined end to end: their
    segments could not be joined, trial 111 F3; a whole run re-bases them),
    or it is Matroska files joined with ``cat``.

    A segment's run reads only its own span, so what a whole run tells at
    the input's end is told here: a file shorter than its structure says
    (a Matroska Segment, an MPEG-TS ending inside a transport packet) or
    holding fewer video packets than its index promises is refused (cut
    files came out "done": trial 111 F1), unless ``check`` is False
    (``input.allow_truncated``: what decodes is kept).

    Raises
    ------
    InputError
        The file cannot be opened or demuxed, or is cut short (it is then
        failed as a whole).
    """
    if segment_seconds <= 0:
        return None
    if check:
        _refuse_if_cut(path)
    if len(matroska_starts(str(path))) > 1:
        # Matroska files joined with cat: FFmpeg's demuxer stops in the
        # second, and segments planned on what it reads wrote 200 of 300
        # frames, "done" (trial 113 F1); a whole run refuses that, and
        # checks the files' tracks
        return None
    _, seconds = estimate_frames(path)
    if seconds and seconds < 1.5 * segment_seconds:
        return None  # short by its header: no need to read its packets
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise open_error(str(path), exc) from None
    try:
        vs = video_stream(container)  # the one a run processes
        if vs is None:
            raise InputError(f"input has no video stream: {path}")
        tb = vs.time_base
        if tb is None:
            return None
        keys: list[int] = []
        all_pts: list[int] = []
        back = round(1 / tb)  # a second, in ticks
        last_dts = None
        try:
            for packet in container.demux(vs):
                if packet.pts is None:
                    if packet.size:
                        return None
                    continue
                if packet.dts is not None:
                    if last_dts is not None and packet.dts < last_dts - back:
                        return None  # the clock goes back: joined recordings
                    last_dts = packet.dts
                all_pts.append(packet.pts)
                if packet.is_keyframe:
                    keys.append(packet.pts)
        except av.FFmpegError as exc:
            raise InputError(f"input {path} is damaged: {exc}") from None
        declared = int(vs.frames or 0)
        if check and declared and len(all_pts) < declared - max(2, declared // 50) \
                and "avi" not in container.format.name.split(","):
            raise InputError(f"input {path} is truncated: its index promises {declared} video "
                             f"frames, the file holds {len(all_pts)} {TRUNCATED_HINT}")
        if len(all_pts) < 2:
            return None
        if _rotated(path):
            return None
    finally:
        container.close()
    all_pts.sort()
    first, last = all_pts[0], all_pts[-1]
    step = float(tb)
    if (last - first) * step < 1.5 * segment_seconds:
        return None
    cuts = [first]
    for k in sorted(set(keys)):
        if (k - cuts[-1]) * step >= segment_seconds:
            cuts.append(k)
    if len(cuts) > 1 and (last - cuts[-1]) * step < 0.5 * segment_seconds:
        cuts.pop()  # a short tail joins the previous segment
    if len(cuts) < 2:
        return None
    segments = []
    for i, start in enumerate(cuts):
        end = cuts[i + 1] if i + 1 < len(cuts) else None
        warm = None if i == 0 else max(first, start - round(overlap / step))
        n = sum(1 for p in all_pts if p >= start and (end is None or p < end))
        segments.append(Segment(i, start, end, warm, Fraction(tb), n))
    return segments


def _refuse_if_cut(path: Path) -> None:
    """Refuse a Matroska file shorter than its Segments say, or an MPEG-TS file that
    ends inside a transport packet (see :mod:`vidclear.io.sources.structure`)."""
    cut = segment_shortfall(matroska_segment(str(path)))
    if cut is not None:
        raise InputError(f"input {path} is truncated: {cut} {TRUNCATED_HINT}")
    size = ts_file_cut(str(path)) if path.suffix.lower() in TS_SUFFIXES else None
    if size is not None:
        raise InputError(f"input {path} is truncated: {ts_cut_phrase(size)} {TRUNCATED_HINT}")


def _rotated(path: Path) -> bool:
    """Whether the file's first frame carries a display matrix that moves its picture.

    A mirror alone reads as no rotation (``frame.rotation`` 0 for a flip
    upside down); the matrix says it.
    """
    return placement(file_display_matrix(str(path)), True) != (None, None)


class SegmentSource(Source):
    """Decode the frames of one segment, warm-up frames first.

    Yields :class:`Frame` objects with ``pts < segment.end``, starting at the
    keyframe at or before ``segment.warm``; the session.s :class:`~vidclear.session.WarmupSink`
    drops those before ``segment.start`` after processing.
    """

    def __init__(self, path: str, segment: Segment, *, threads: int = 0) -> None:
        super().__init__(path)
        self.segment = segment
        try:
            self._container = av.open(path)
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise open_error(str(path), exc) from None
        vs = video_stream(self._container)
        if vs is None:
            self._container.close()
            raise InputError(f"input has no video stream: {path}")
        vs.thread_type = "AUTO"
        if threads:
            vs.codec_context.thread_count = threads
        self.video_stream = vs
        # what a whole run says of the streams it leaves (trial 111 F4: a
        # segmented file's second camera went unmentioned)
        self.other_video_streams = len(moving_video_streams(self._container)) - 1
        self.video_choice = (vs.index, vs.codec_context.width, vs.codec_context.height)
        self.time_base: Fraction = vs.time_base or Fraction(1, 90000)
        self.rate = vs.average_rate or vs.guessed_rate or None
        self.metadata = dict(self._container.metadata)

    @property
    def info(self) -> StreamInfo:
        """Timing of the file; no container tags and no side streams (the join adds them)."""
        cc = self.video_stream.codec_context
        return StreamInfo(spec=self.spec, width=cc.width, height=cc.height,
                          time_base=self.time_base, rate=self.rate)

    def _frames(self) -> Iterator[Frame]:
        seg = self.segment
        vs = self.video_stream
        rate = float(self.rate) if self.rate else 0.0
        # A seek lands at the keyframe at or before ``warm`` in an indexed file,
        # but MPEG-TS and -PS seek by bytes and can land past it: with no
        # warm-up (--overlap 0) the segment lost its first GOP, 15 frames at
        # every cut with the file "done" (trial 84 F4). Where the first frame
        # decoded comes after the segment's start, it is read again from the
        # file's start, the frames before the start being warm-up.
        if seg.warm is None:  # the file's first segment
            yield from self._decoded(seg, vs, rate, check=False)
            return
        self._container.seek(seg.warm, stream=vs, backward=True, any_frame=False)
        if (yield from self._decoded(seg, vs, rate, check=True)):  # landed past the start
            self._container.seek(0, stream=vs, backward=True, any_frame=False)
            yield from self._decoded(seg, vs, rate, check=False)

    def _decoded(self, seg: Segment, vs: Any, rate: float, *,
                 check: bool) -> Generator[Frame, None, bool]:
        """The segment's frames from where the container stands; True (and none
        yielded) when ``check`` and the first frame comes after ``seg.start``."""
        first = True
        try:
            for packet in self._container.demux(vs):
                if self.stopped:
                    return False
                for av_frame in packet.decode():
                    pts = av_frame.pts
                    if pts is None:
                        continue
                    if first and check and pts > seg.start:
                        return True
                    first = False
                    if seg.end is not None and pts >= seg.end:
                        return False
                    self._frames_decoded += 1
                    index = round(pts * float(self.time_base) * rate) if rate else 0
                    yield Frame(pts=pts, time_base=self.time_base, av_frame=av_frame,
                                meta={"index": index, "capture_time": time.monotonic()})
        except av.FFmpegError as exc:
            raise InputError(f"input {self.spec} is damaged: {exc}") from None
        return first and check  # nothing decoded after the seek: read from the start

    def _close(self) -> None:
        self._container.close()


def unjoinable(output: Path) -> str | None:
    """Why ``output``'s container cannot be made of segments joined, or None when it can.

    A constant-rate container (AVI, Ogg, ASF: one frame a tick of the rate
    guessed for the input) had each segment tick at its own piece's guessed
    rate: a variable-rate clip's AVI came out at 20 fps with 80 frames
    dropped and no note, a constant-rate one a frame late from its first
    seam, and ASF (and FLV) parts did not join (trial 64). Such outputs run
    in one piece.
    """
    try:
        muxer = container_for(output)
        fmt = av.format.ContainerFormat(muxer, "w")
    except (ConfigError, ValueError):
        return None  # refused later, where the run opens it
    if muxer == "flv":
        return "its FLV parts do not join (their timestamps go back at the seams)"
    if muxer != "image2" and constant_rate(fmt):
        return (f"the {output.suffix} container keeps a constant rate, which segments "
                "would each pick from their own piece")
    return None


def part_suffix(output: Path) -> str:
    """The file extension of ``output``'s segment parts: its own, MOV for MPEG-TS.

    TS parts of an MP4 input could not be joined: their timestamps went
    backwards at the first seam (the TS muxer moves each file it writes by
    an amount of its own, the first part's by the encoder's delay). MOV
    parts keep the source time to the tick (Matroska's, in milliseconds,
    moved a 90 kHz source's frames by up to 30 ticks, trial 83 F1) and hold
    the codecs a TS output does; the join muxes into the requested container.
    """
    return ".mov" if output.suffix.lower() in TS_SUFFIXES else output.suffix


def _rebuilt_dts(parts: list[Path]) -> list[list[int]]:
    """Per part, the DTS its video packets get in the join.

    Each part's sorted PTS minus one delay for all parts (the most any
    packet is presented before its turn), so the DTS rise across every
    seam. Matroska parts carry no DTS at all: with B-frames the join's
    muxer refused them ("Invalid argument") and every ``.mkv`` longer than a
    segment failed.
    """
    orders = []
    for part in parts:
        with av.open(str(part)) as c:
            orders.append([p.pts for p in c.demux(c.streams.video[0])
                           if p.size and p.pts is not None])
    delay = max((max(s - p for s, p in zip(sorted(pts), pts, strict=True))
                 for pts in orders if pts), default=0)
    return [[t - delay for t in sorted(pts)] for pts in orders]


def _packets(container: Any, streams: list[Any], order: int,
             dts: list[int] | None = None) -> Iterator[tuple]:
    """(time, order, n, packet) of ``streams``, the video's DTS replaced by ``dts`` in turn."""
    n = 0
    k = 0
    for packet in container.demux(streams):
        if not packet.size:
            continue
        if dts is not None and packet.pts is not None and k < len(dts):
            packet.dts = dts[k]
            k += 1
        ts = packet.dts if packet.dts is not None else packet.pts
        t = float(ts * packet.time_base) if ts is not None else float("-inf")
        n += 1
        yield (t, order, n, packet)


def join_segments(
    source: Path,
    parts: list[Path],
    output: Path,
    *,
    config: OutputConfig,
    tmp: Path,
) -> dict[str, Any]:
    """Concatenate the video of ``parts`` with stream copy, audio copied from ``source``.

    Parameters
    ----------
    source : Path
        The original input; its audio/subtitle/data streams are copied once
        (when ``config.copy_streams``), together with its container tags.
    parts : list of Path
        Segment files in order, each holding one video stream whose packets
        carry the source timestamps.
    output : Path
        The final file; written to ``tmp`` and moved into place at the end.

    Returns
    -------
    dict
        ``{"video_packets": n, "packets_copied": m, "notes": [...]}``: the notes
        say what was re-encoded, filled or closed up, one line each.
    """
    if not parts:
        raise OutputError(f"no segments to join for {output}")
    options: dict[str, str] = {}
    if output.suffix.lower() in _MP4:
        options["movflags"] = ("frag_keyframe+empty_moov+default_base_moof"
                               if config.crash_safe == "on" else "+faststart")
    inputs = [av.open(str(p)) for p in parts]
    src = av.open(str(source))
    counts = {"video_packets": 0, "packets_copied": 0}
    notes: list[str] = []
    try:
        out = av.open(str(tmp), "w", options=options)
        try:
            v0 = inputs[0].streams.video[0]
            ovs = out.add_stream_from_template(v0)
            ovs.time_base = v0.time_base
            # the source's video tags and dispositions, as a whole run keeps them
            # (the parts carry none: a joined file lost its camera's language and
            # title, trial 100 F1)
            source_video = video_stream(src)
            if source_video is not None:
                keep_marks(source_video, ovs, ENCODING_TAGS)
            tag_hevc_for_apple(ovs, out)  # parts in Matroska carry no tag
            # the start timecode a whole run keeps (MOV and MP4 write it as a tmcd
            # track): the join lost it (trial 83 F2)
            timecode = start_timecode(src, source_video)
            # A stream made from a template has no rate: the tmcd track, which
            # counts frames at it, was refused, and Matroska declared a 1 ms
            # default frame duration for a 24 fps film (trial 101 F5). The joined
            # stream declares the rate a whole run does (EncoderSink): the
            # source's guessed rate.
            rate = ((source_video.guessed_rate if source_video is not None else None)
                    or v0.average_rate or v0.guessed_rate)
            if rate:
                ovs.codec_context.framerate = rate
            if timecode and set(out.format.name.split(",")) & TIMECODE_FORMATS:
                if rate:
                    ovs.metadata["timecode"] = timecode
                else:
                    notes.append(f"{output}: the start timecode {timecode} was not kept: "
                                 "the joined video has no frame rate to count it in")
            out.metadata.update({k: v for k, v in src.metadata.items()
                                 if k.lower() != "encoder"})
            mark_output(out, ovs)
            side = []
            transcode: dict[int, AudioTranscode] = {}
            subtitles: dict[int, SubtitleConvert] = {}
            if config.copy_streams and source_video is not None:
                copied, left_out = side_streams(src, source_video, str(source))
                notes.extend(left_out)
                for ist in copied:
                    own = own_audio_codec(out) if ist.type == "audio" else None
                    if own is not None and audio_unfit(out, ist):
                        # re-encoded as a whole run's EncoderSink does (the
                        # packets are shifted to the output's time below)
                        transcode[ist.index] = AudioTranscode(
                            out, ist, own, 0.0, timeline=Timeline(joinable(src)),
                            pad=is_ogg(out))
                        side.append((ist, transcode[ist.index].stream))
                        notes.append(re_encoding_note(
                            transcode[ist.index], out, ist, str(output), output.suffix,
                            f"#{ist.index} audio ({codec_name(ist)})"))
                        continue
                    target = text_target(out, ist) if cannot_hold(out, ist) else None
                    if target is not None:  # as a whole run's EncoderSink converts them
                        conv = subtitles[ist.index] = SubtitleConvert(out, ist, target)
                        keep_marks(ist, conv.stream)
                        side.append((ist, conv.stream))
                        notes.append(conv.note(str(output), output.suffix,
                                               f"#{ist.index} subtitle ({codec_name(ist)})"))
                        continue
                    if cannot_hold(out, ist):
                        if ist.type == "data":
                            continue
                        raise OutputError(f"{output}: the {output.suffix} container cannot "
                                          f"hold input stream #{ist.index} {ist.type}; use "
                                          ".mkv or --set output.copy_streams=false")
                    try:
                        ost = out.add_stream_from_template(ist)
                    except (av.FFmpegError, ValueError) as exc:
                        if ist.type == "data":
                            continue
                        raise OutputError(f"{output}: cannot copy stream #{ist.index} "
                                          f"{ist.type}: {exc}") from None
                    keep_marks(ist, ost)  # the default and commentary tracks too (F1)
                    name_layout(ist, ost)
                    side.append((ist, ost))
                # attached files (a Matroska source's fonts), as a whole run keeps them
                notes.extend(add_attachments(out, attachments(src), output.suffix))
            # and the chapters, moved as the joined file's timestamps are below
            notes.extend(add_chapters(out, chapters(src), output_shift(container_start(src),
                                                                        output), output.suffix))
            streams = {ist.index: ost for ist, ost in side}

            dts = _rebuilt_dts(parts)

            def video() -> Iterator[tuple]:
                for c, part_dts in zip(inputs, dts, strict=True):
                    yield from _packets(c, [c.streams.video[0]], 0, part_dts)

            gens = [video()]
            if side:
                gens.append(_packets(src, [ist for ist, _ in side], 1))
            last_dts = None
            # the segments carry the source's timestamps; the joined file starts
            # at 0 as a whole run's does (EncoderSink), every stream shifted alike
            start = output_shift(container_start(src), output)
            for _t, order, _n, packet in heapq.merge(*gens, key=lambda x: x[:3]):
                if start and packet.time_base:
                    shift = round(start / packet.time_base)
                    if packet.dts is not None:
                        packet.dts -= shift
                    if packet.pts is not None:
                        packet.pts -= shift
                if order == 0:
                    dts = packet.dts
                    if dts is not None and last_dts is not None and \
                            dts * packet.time_base <= last_dts:
                        raise OutputError(
                            f"joining segments of {output}: timestamps go backwards at a seam "
                            "(the encoder's delay changed between segments)")
                    if dts is not None:
                        last_dts = dts * packet.time_base
                    packet.stream = ovs
                    counts["video_packets"] += 1
                elif packet.stream.index in transcode:
                    tr = transcode[packet.stream.index]
                    for coded in tr.packets(packet):
                        coded.stream = tr.stream
                        out.mux(coded)
                    continue
                else:
                    index = packet.stream.index
                    if index in subtitles:
                        packet = subtitles[index].convert(packet)
                        if packet is None:  # an empty cue
                            continue
                    packet.stream = streams[index]
                    counts["packets_copied"] += 1
                out.mux(packet)
            for tr in transcode.values():
                for coded in tr.packets(None):
                    coded.stream = tr.stream
                    out.mux(coded)
                notes.extend(tr.end_notes(str(output)))
            for index, conv in subtitles.items():
                cue = conv.flush()
                if cue is not None:  # the last timed-text cue, held (and shifted) already
                    cue.stream = streams[index]
                    counts["packets_copied"] += 1
                    out.mux(cue)
            out.close()
        except BaseException:
            with contextlib.suppress(Exception):
                out.close()
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
    except av.FFmpegError as exc:
        raise OutputError(f"joining segments into {output} failed: {exc}") from None
    finally:
        for c in inputs:
            c.close()
        src.close()
    publish(tmp, Path(os.path.realpath(output)))  # a link is written through
    return {**counts, "notes": notes}
