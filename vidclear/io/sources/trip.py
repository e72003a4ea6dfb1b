"""A trip: the chunk files of one recording, played back to back as one input.

Dashcams and action cameras write a new file every one to five minutes.
:class:`TripSource` opens them in order and makes one continuous input of
them: each file's frames follow the last frame of the one before, in the
first file's time base, and its audio (and other passed-through packets) is
shifted by the same amount, so the output plays as one recording. Processors
see continuous time, so their smoothed state (airlight, strength, tone-map
key) carries across the joins instead of restarting.

Where two chunks overlap by a few audio packets at a join (their clocks are
not sample-exact), the packets that would go back in time are left out and
counted in :attr:`TripSource.packets_dropped_at_joins`; a subtitle or data
packet is moved to just after the one before it instead, and counted.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator, Sequence
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from vidclear.config.sections import InputConfig
from vidclear.core.frame import Frame
from vidclear.core.source import SidePackets, Source, StreamInfo
from vidclear.errors import InputError
from vidclear.io.orientation import describe, file_display_matrix, placement
from vidclear.io.sinks.paths import PARTIAL_MARK
from vidclear.io.sources.av_source import EMPTY_INPUT, AVSource, classify_input
from vidclear.io.suffixes import SCANNED_SUFFIXES, broken_links_note

__all__ = ["TripSource", "expand_inputs", "written_by_vidclear"]



def _creation_time(path: str) -> tuple[str, float]:
    """The container's creation_time tag (ISO 8601 sorts as text), else the file's mtime."""
    import av

    try:
        with av.open(path) as c:
            tag = c.metadata.get("creation_time", "")
    except (av.FFmpegError, OSError, ValueError):
        tag = ""
    return tag, os.path.getmtime(path)


def written_by_vidclear(path: str) -> bool:
    """Whether ``path`` is an earlier output of vidclear.

    Its video track carries vidclear's handler name (MP4, MOV, Matroska,
    NUT) or the container names vidclear as its service provider: a global
    tag in FLV and NUT, the service description table in MPEG-TS
    (:func:`_ts_provider`). See :func:`~vidclear.io.sinks.encoder.mark_output`.
    """
    import av

    from vidclear.io.sinks.encoder import OUTPUT_HANDLER

    try:
        with av.open(path) as c:
            tags = dict(c.streams.video[0].metadata) if c.streams.video else {}
            glob_tags = dict(c.metadata)
            ts = "mpegts" in c.format.name.split(",")
    except (av.FFmpegError, OSError, ValueError):
        return False
    if ts:
        return _ts_provider(path) == OUTPUT_HANDLER
    return any(k.lower() == "handler_name" and v == OUTPUT_HANDLER for k, v in tags.items()) \
        or any(k.lower() == "service_provider" and v == OUTPUT_HANDLER
               for k, v in glob_tags.items())


_TS_PACKET = 188
_M2TS_PACKET = 192
_SDT_PID = 0x0011
_SERVICE_DESCRIPTOR = 0x48


def _ts_provider(path: str, packets: int = 1000) -> str | None:
    """The service provider named in an MPEG-TS file's first SDT, or None.

    Reads at most ``packets`` transport packets (188 bytes, or 192 in M2TS)
    from the start and parses the first service description table section
    on PID 0x0011 that starts in one packet (ISO/IEC 13818-1 §2.4.4, ETSI EN 300 468 §5.2.3
    and its service descriptor, tag 0x48, §6.2.33). PyAV does not expose
    programs' metadata, where FFmpeg puts it.
    """
    try:
        with open(path, "rb") as f:
            data = f.read(_M2TS_PACKET * packets)
    except OSError:
        return None
    # 188-byte packets, or 192 with a 4-byte time code before each (M2TS, AVCHD)
    size, skip = next(((n, k) for n, k in ((_TS_PACKET, 0), (_M2TS_PACKET, 4))
                       if len(data) >= k + 2 * n + 1 and data[k] == data[k + n] == 0x47),
                      (_TS_PACKET, 0))
    for i in range(skip, len(data) - _TS_PACKET + 1, size):
        pkt = data[i:i + _TS_PACKET]
        if pkt[0] != 0x47 or not pkt[1] & 0x40:  # not in sync, or no section starts here
            continue
        if ((pkt[1] & 0x1F) << 8 | pkt[2]) != _SDT_PID:
            continue
        pos = 4
        if pkt[3] & 0x20:  # adaptation field
            pos += 1 + pkt[4]
        if pos >= _TS_PACKET:
            continue
        sec = pkt[pos + 1 + pkt[pos]:]  # after the pointer field
        if len(sec) < 11 or sec[0] != 0x42:  # SDT of the actual transport stream
            continue
        end = min(3 + ((sec[1] & 0x0F) << 8 | sec[2]) - 4, len(sec))  # before the CRC
        pos = 11
        while pos + 5 <= end:  # services
            loop = (sec[pos + 3] & 0x0F) << 8 | sec[pos + 4]
            d, stop = pos + 5, min(pos + 5 + loop, end)
            while d + 2 <= stop:  # descriptors
                tag, size = sec[d], sec[d + 1]
                if tag == _SERVICE_DESCRIPTOR and d + 4 <= stop:
                    n = sec[d + 3]
                    return sec[d + 4:d + 4 + n].decode("latin-1")
                d += 2 + size
            pos = stop
        return None
    return None


def hidden_below(path: Path, root: Path) -> bool:
    """Whether ``path`` or a folder between it and ``root`` is hidden (its name starts with ``.``).

    What macOS leaves on a card (``._clip.mp4`` resource forks, ``.Trashes/``)
    is no video; shells and ``glob`` leave such names out of ``*`` too.
    """
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        parts = (path.name,)
    return any(part.startswith(".") for part in parts)


def leave_out(files: list[Path], root: Path, spec: str,
              notes: list[str] | None) -> list[Path]:
    """``files`` found in the folder ``root`` (named ``spec``), less what is no input.

    A killed run's unfinished outputs (``NAME.partial-PID.EXT``) and hidden
    files and folders (what macOS leaves on a card: ``._clip.mp4``,
    ``.Trashes/``) are left out, and a line in ``notes`` says so for each
    kind: read as chunks, they failed a folder trip; in a batch, failed jobs.
    """
    partial = [f for f in files if PARTIAL_MARK in f.name]
    hidden = [f for f in files if hidden_below(f, root) and PARTIAL_MARK not in f.name]
    if notes is not None and partial:
        notes.append(f"skipped {len(partial)} unfinished output(s) of vidclear in {spec} "
                     f"(e.g. {partial[0].relative_to(root)}: a run that was killed)")
    if notes is not None and hidden:
        notes.append(f"skipped {len(hidden)} hidden file(s) in {spec} (names starting with "
                     f"'.', e.g. {hidden[0].relative_to(root)})")
    gone = set(partial) | set(hidden)
    return [f for f in files if f not in gone]


def expand_inputs(specs: Sequence[str], *, order: str = "name",
                  notes: list[str] | None = None) -> list[str]:
    """Files named directly, in folders (their video files) or by glob patterns.

    A folder's hidden files (names starting with ``.``, such as macOS's
    ``._clip.mp4``) are left out, as a glob leaves them out.

    Parameters
    ----------
    specs : sequence of str
        Paths, folders and glob patterns (``'clips/*.MP4'``); URLs, cameras
        and lavfi graphs pass through unchanged.
    order : {"name", "time"}
        How the files of a folder or pattern are sorted: by file name (what
        dashcams' numbered names give), or by the container's
        ``creation_time`` tag, then the file's modification time. Files named
        one by one keep the order given.
    notes : list of str, optional
        One line is added for each folder whose subfolders or hidden files
        hold videos left out (a folder plays its own files; ``DIR/**/*.MP4``
        takes a whole tree).

    Raises
    ------
    InputError
        An input is empty, a folder holds no video files, a pattern matches nothing, or a
        folder or pattern takes in an earlier output of vidclear (its video
        track's handler name says so): played as a chunk, a trip re-read its
        own output.
    """
    out: list[str] = []
    for spec in specs:
        if not str(spec).strip():  # Path("") is the current folder: every video in it
            raise InputError(EMPTY_INPUT)
        if spec in out:
            raise InputError(f"{spec} is given twice: a trip plays each file once")
        path = Path(spec)
        if path.is_dir():
            videos = [p for p in path.rglob("*")
                      if p.is_file() and p.suffix.lower() in SCANNED_SUFFIXES]
            said: list[str] = []
            kept = leave_out(videos, path, spec, said)
            found = sorted(str(p) for p in kept if p.parent == path)
            deeper = [p for p in kept if p.parent != path]
            tree = f"'{Path(spec) / '**' / ('*' + (deeper or videos or [path])[0].suffix)}'"
            if not found:
                if deeper:  # DCIM/100MEDIA, DCIM/101MEDIA
                    raise InputError(f"folder {spec} holds no video files itself, but "
                                     f"{len(deeper)} in its subfolders (e.g. "
                                     f"{deeper[0].relative_to(path)}): name them, or a "
                                     f"pattern such as {tree}")
                raise InputError(f"folder {spec} holds no video files "
                                 f"({', '.join(sorted(SCANNED_SUFFIXES))})")
            if notes is not None and deeper:  # left out without a word (trial 38)
                notes.append(f"{len(deeper)} video file(s) in subfolders of {spec} are left "
                             f"out (a folder plays its own files; {tree} takes them all)")
            if notes is not None:  # a killed run's output (trial 39), hidden files (37)
                notes.extend(said)
                broken = broken_links_note(spec, path.iterdir())
                if broken:  # a card not mounted: skipped without a word (trial 124 F4)
                    notes.append(broken)
        elif (any(ch in spec for ch in "*?[") and not path.exists()
              and classify_input(spec) == "file"):  # lavfi:a[out0];b[out1] is no pattern
            # ** spans folders, as in vidclear batch (it matched one level here)
            found = sorted(p for p in glob.glob(spec, recursive=True) if Path(p).is_file())
            if not found:
                raise InputError(f"no file matches {spec}")
        else:
            out.append(spec)
            continue
        ours = [f for f in found if written_by_vidclear(f)]
        if ours and len(found) > 1:
            # the mark is copied by tools that cut such a file (ffmpeg -c copy
            # keeps its handler name): "an output of vidclear" named chunks
            # cut from a clip vidclear made (trial 121 F3)
            raise InputError(f"{spec} holds {ours[0]}, which carries vidclear's mark (an "
                             "output of vidclear, or a file cut from one): a trip would play "
                             "it as a chunk; move it away, or name the chunk files to join them")
        if order == "time":
            found.sort(key=_creation_time)
        twice = [f for f in found if f in out]
        if twice:
            raise InputError(f"{twice[0]} is given twice: a trip plays each file once")
        out.extend(found)
    return out


# A passed-through stream as the trip compares it: kind, codec and, for audio,
# sample rate and channel count. Packets copied from a second chunk go into
# the first chunk's output stream, whose header carries these: 48 kHz packets
# under a 44.1 kHz header decode 9 % slow, stereo ones under a mono header
# change the channel count mid-stream.
# The codec's profile and its setup bytes (extradata: AAC's AudioSpecificConfig)
# count too: AAC Main packets under an AAC-LC header did not decode at all.
_Stream = tuple[str, str | None, int | None, int | None, str | None, bytes]


def _layout(streams: Any) -> list[_Stream]:
    out = []
    for s in streams:
        ctx = s.codec_context
        audio = s.type == "audio" and ctx is not None
        # the codec's name (mp3, ass), not its decoder's (mp3float, ssa)
        codec = ctx.codec.canonical_name if ctx is not None and ctx.codec is not None else None
        out.append((s.type, codec, ctx.sample_rate if audio else None,
                    ctx.channels if audio else None, (ctx.profile or None) if audio else None,
                    bytes(ctx.extradata or b"") if audio else b""))
    return out


def _streams(layout: list[_Stream] | None) -> str:
    """Passed-through streams as words: ``aac audio LC 48000 Hz 2 ch, mov_text subtitle``."""
    words = []
    for kind, codec, rate, channels, profile, _setup in layout or []:
        word = f"{codec or 'unknown'} {kind}"
        if profile:
            word += f" {profile}"
        if rate:
            word += f" {rate} Hz"
        if channels:
            word += f" {channels} ch"
        words.append(word)
    return ", ".join(words) or "none"


class _ShiftedPackets(SidePackets):
    """One channel for every chunk: packets shifted onto the trip's clock, kept monotonic.

    An audio packet that would go back in time overlaps the chunk before
    (their clocks are not sample-exact) and is left out; a subtitle or data
    packet is no repeat of one before it: it is moved to just after the
    last one, and counted. A chunk FFmpeg's segment muxer cut holds its
    last cue's end past its picture's end, and the next chunk's cues were
    left out as overlapping it: a trip's GPS text lost every cue after the
    first chunk's (trial 137 F4).
    """

    def __init__(self) -> None:
        super().__init__()
        self.shift_s = 0.0
        self.dropped = 0
        self.moved = 0
        self._last: dict[int, int] = {}  # the last timestamp of each stream, its ticks

    def put(self, packet: Any) -> None:
        tb = packet.time_base
        shift = round(self.shift_s / tb) if tb else 0
        if packet.pts is not None:
            packet.pts += shift
        if packet.dts is not None:
            packet.dts += shift
        ts = packet.dts if packet.dts is not None else packet.pts
        if ts is not None:
            index = packet.stream.index
            last = self._last.get(index)
            if last is not None and ts <= last:
                if packet.stream.type == "audio":
                    self.dropped += 1  # overlaps the chunk before: would go back in time
                    return
                step = last + 1 - ts
                if packet.pts is not None:
                    packet.pts += step
                if packet.dts is not None:
                    packet.dts += step
                ts += step
                self.moved += 1
            self._last[index] = ts
        super().put(packet)


def _shown(spec: str, info: StreamInfo, autorotate: bool
           ) -> tuple[tuple[int, int], tuple[int, ...] | None]:
    """A file's frame size as its frames come out, and the display matrix handed on with them.

    A quarter turn (mirrored or not) is applied to the pixels when
    ``autorotate``; any other matrix, or every one without it, goes to the
    output (see :meth:`AVSource._make_frame`).
    """
    turned, kept = placement(file_display_matrix(spec), autorotate)
    quarter = turned is not None and turned[0] == 0
    return ((info.height, info.width) if quarter else (info.width, info.height)), kept


class TripSource(Source):
    """Several files of one recording as one continuous input.

    Parameters
    ----------
    specs : sequence of str
        The files, in playback order (see :func:`expand_inputs`).
    config : InputConfig, optional
        Decoder settings, applied to every file.
    copy_streams : bool
        Pass the files' audio, subtitle and data packets through.
    split : bool
        Keep each file's passed-through packets on its own channel
        (:meth:`packets_for`) with their own timestamps, for one output per
        file (``--split``); frames still carry the trip's clock, and their
        own in ``meta["trip_pts"]``.

    Raises
    ------
    InputError
        A file cannot be opened, or the files do not fit together: another
        frame size, or other passed-through streams than the first file's.
    """

    def __init__(self, specs: Sequence[str], *, config: InputConfig | None = None,
                 copy_streams: bool = True, split: bool = False) -> None:
        if len(specs) < 1:
            raise InputError("a trip needs at least one file")
        super().__init__(str(specs[0]) if len(specs) == 1 else f"{specs[0]} (+{len(specs) - 1})")
        self.specs = [str(s) for s in specs]
        #: one-line notes for the user (videos a folder left out)
        self.notes: list[str] = []
        self.config = config or InputConfig()
        self.copy_streams = copy_streams
        self.split = split
        self._packets = _ShiftedPackets()
        self.side_packets = self._packets
        self._file_packets = [SidePackets() for _ in specs]
        # Open (not decoding) sources whose streams are the templates of copied ones: a
        # template must outlive every packet muxed from it, so it is not the decoding one.
        self._holders: dict[int, AVSource] = {}
        self.file_infos: list[StreamInfo] = []
        first_layout: list[_Stream] | None = None
        first_shown: tuple[tuple[int, int], tuple[int, ...] | None] | None = None
        for spec in self.specs:  # check every chunk before the first frame is written
            with AVSource(spec, config=self.config, copy_streams=copy_streams) as probe:
                info = probe.info
                layout = _layout(info.side_streams)
                shown = _shown(spec, info, self.config.autorotate)
                if self.file_infos:
                    assert first_shown is not None  # set with the first file
                    (w, h), kept = shown
                    (fw, fh), first_kept = first_shown
                    if (w, h) != (fw, fh):
                        # compared as shown: a file turned a quarter by its
                        # display matrix beside one that is not was squashed
                        # into the other's shape (trial 122 F3)
                        raise InputError(
                            f"trip: {spec} shows {w}x{h}, the first file {self.specs[0]} "
                            f"shows {fw}x{fh} (after their display matrices); a trip's "
                            "files must share one frame size")
                    if kept != first_kept and not split:
                        # one output holds one matrix: the first file's turned
                        # every other, or a later one's was lost (trial 122 F4)
                        said = describe(kept) if kept else "has none"
                        first_said = describe(first_kept) if first_kept else "has none"
                        raise InputError(
                            f"trip: {spec}'s display matrix {said}, the first file "
                            f"{self.specs[0]}'s {first_said}: the output holds one, for "
                            "players to apply; run them with --split, or one by one")
                    if layout != first_layout and not split:
                        # (split, each output is set up from its own file's streams: an
                        # MKV and a TS of one AAC track were refused, trial 79)
                        setup = (" (the same codecs, set up otherwise)"
                                 if _streams(layout) == _streams(first_layout) else "")
                        raise InputError(
                            f"trip: {spec} has other audio/subtitle streams "
                            f"({_streams(layout)}) than {self.specs[0]} "
                            f"({_streams(first_layout)}){setup}; use --set "
                            "output.copy_streams=false to drop them")
                else:
                    first_layout, first_shown = layout, shown
                # Facts only: the probe's streams die with it (reading one after
                # close reads freed memory), live streams come from stream_info(k).
                self.file_infos.append(replace(info, video_stream=None, side_streams=(),
                                               attached_pictures=()))
        self._current: AVSource | None = None
        self.stream_info(0)  # held open: its streams are the templates of the output's

    @property
    def info(self) -> StreamInfo:
        """The first file's info over the whole trip; live streams while file 0 is held."""
        holder = self._holders.get(0)
        first = holder.info if holder is not None else self.file_infos[0]
        counts = [i.frame_count for i in self.file_infos]
        durations = [i.duration for i in self.file_infos]
        # the trip's clock starts at 0 (chunks re-stamped here); the first
        # file's chapters move with it (the later files' are not joined on)
        moved = (c.within(first.start, None) for c in first.chapters)
        return replace(first, spec=self.spec,
                       frame_count=sum(c for c in counts if c) if all(counts) else None,
                       duration=sum(d for d in durations if d) if all(durations) else None,
                       start=0.0, chapters=tuple(c for c in moved if c is not None))

    @property
    def inputs(self) -> list[str]:
        return list(self.specs)

    def stream_info(self, k: int) -> StreamInfo:
        """File ``k``'s own StreamInfo; its side streams stay valid until :meth:`release`."""
        if k not in self._holders:
            self._holders[k] = AVSource(self.specs[k], config=self.config,
                                        copy_streams=self.copy_streams)
        return self._holders[k].info

    def packets_for(self, k: int) -> SidePackets:
        """File ``k``'s passed-through packets, unshifted (``split=True`` only)."""
        return self._file_packets[k]

    def release(self, k: int) -> None:
        """Close the template holder of file ``k`` once its output is finished."""
        holder = self._holders.pop(k, None)
        if holder is not None:
            holder.close()

    @property
    def decode_errors(self) -> int:
        return self._decode_errors + (self._current.decode_errors if self._current else 0)

    @property
    def packets_dropped_at_joins(self) -> int:
        return self._packets.dropped

    def report(self) -> dict[str, Any]:
        return {"trip_files": len(self.specs),
                "packets_dropped_at_joins": self.packets_dropped_at_joins,
                "packets_moved_at_joins": self._packets.moved}

    def _open(self, k: int) -> AVSource:
        src = AVSource(self.specs[k], config=self.config, copy_streams=self.copy_streams)
        src.side_packets = self._file_packets[k] if self.split else self._packets
        self._current = src
        return src

    def stop(self) -> None:
        super().stop()
        if self._current is not None:
            self._current.stop()

    def _frames(self) -> Iterator[Frame]:
        tb: Fraction = self.file_infos[0].time_base
        offset = 0  # trip ticks where the current file's first frame goes
        count = 0
        k = 0
        while k < len(self.specs) and not self.stopped:
            src = self._open(k)
            first_t = src.first_time or 0.0
            self._packets.shift_s = float(offset * tb) - first_t
            step = round(1 / (src.rate * tb)) if src.rate else 1
            last = offset - step
            try:
                for frame in src:
                    t = frame.time if frame.time is not None else first_t
                    pts = offset + round((t - first_t) / tb)
                    pts = max(pts, last + 1)  # strictly increasing across a join
                    last = pts
                    frame.meta.update(index=count, trip_file=k, trip_pts=frame.pts)
                    count += 1
                    self._frames_decoded += 1
                    yield Frame(frame.image if frame.av_frame is None else None, pts=pts,
                                time_base=tb, meta=frame.meta, av_frame=frame.av_frame)
            finally:
                self._decode_errors += src.decode_errors
                # what a run of the file alone says of it (a display matrix
                # kept, a shorter video stream): lost in a trip (trial 120 F6)
                self.notes.extend(n for n in src.notes if n not in self.notes)
                src.close()
                self._current = None
            offset = last + step
            k += 1

    def _close(self) -> None:
        if self._current is not None:
            self._current.close()
        for k in list(self._holders):
            self.release(k)

    def __repr__(self) -> str:
        return f"TripSource({len(self.specs)} files, first {self.specs[0]!r})"
