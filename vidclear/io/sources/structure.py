"""Whole-file checks read from a container's own structure, not from its packets.

Where a demuxer simply stops at the end of the bytes, the structure tells
a whole file from one cut short: ISO BMFF's top-level boxes (an MP4 whose
``moov`` index never arrived), MPEG-TS's fixed-size packets (a file that
ends inside one), Matroska's Segment size (a file shorter than its
Segment says it is). It also tells what a demuxer reads past without a
word: the files joined end to end in a Matroska file (``cat a.mkv
b.mkv``), each with its Segment, Tracks and timestamp scale, and the
programs of an MPEG-TS broadcast recording.
"""

from __future__ import annotations

import functools
import itertools
import mmap
import os
import stat
import struct
from collections.abc import Iterator
from typing import BinaryIO

__all__ = ["EBML_MAGIC", "MATROSKA_HEAD", "MATROSKA_TRACKS_HEAD", "TRUNCATED_HINT", "TS_HEAD",
           "TS_TAIL", "cut_part_phrase", "first_cut_part", "joined_tracks_differ",
           "matroska_cut_part", "matroska_segment", "matroska_starts", "mp4_without_index",
           "segment_end", "segment_shortfall", "segment_tracks", "ts_cut_phrase", "ts_ends_whole",
           "ts_file_cut", "ts_programs"]

_EBML = 0x1A45DFA3
#: An EBML header's first bytes (RFC 8794, 8.1).
EBML_MAGIC = _EBML.to_bytes(4, "big")
_SEGMENT = 0x18538067
_VOID = 0xEC
_CLUSTER = 0x1F43B675
_TRACKS = 0x1654AE6B
_TRACK_ENTRY = 0xAE
_TRACK_NUMBER = 0xD7
_CODEC_ID = 0x86
_VIDEO = 0xE0
_AUDIO = 0xE1
_INFO = 0x1549A966
_TIMESTAMP_SCALE = 0x2AD7B1
_SEEK_HEAD = 0x114D9B74
_SEEK = 0x4DBB
_SEEK_ID = 0x53AB
_SEEK_POSITION = 0x53AC
_PRIVATE = 0x63A2
_SIMPLE_BLOCK = 0xA3
_BLOCK_GROUP = 0xA0
_BLOCK = 0xA1
_RATE = 0xB5
_VIDEO_TYPE = 1
#: TrackEntry fields (and those of its Video and Audio) a packet is decoded under
_TRACK_FIELDS = {0x83: "type", _CODEC_ID: "codec", _PRIVATE: "private", 0xB0: "width",
                 0xBA: "height", _RATE: "rate", 0x9F: "channels"}
_FIELD_WORDS = {"private": "codec parameters", "width": "width", "height": "height",
                "rate": "sampling rate", "channels": "channel count"}
#: Bytes of a Segment searched for its Tracks (they come before the first Cluster).
MATROSKA_TRACKS_HEAD = 1 << 18
#: What every refusal of a cut input offers instead.
TRUNCATED_HINT = "(use --set input.allow_truncated=true to keep what decodes)"
#: Bytes read for a Matroska file's EBML header and its Segment's size.
MATROSKA_HEAD = 4096
#: Bytes of an MPEG-TS stream's end that show whether its last packets are whole.
TS_TAIL = 2 * 204
#: Bytes of an MPEG-TS file's start searched for its program tables.
TS_HEAD = 1 << 20


def mp4_without_index(path: str) -> bool:
    """Whether ``path`` is an ISO BMFF file (MP4, MOV) whose top-level boxes hold no ``moov``.

    The boxes are walked by their sizes (ISO/IEC 14496-12, 4.2: a 32-bit
    size, 1 for a 64-bit one after the type, 0 for "to the end of the
    file"); a file whose first box is no ``ftyp`` (or QuickTime's
    ``wide``, ``mdat``, ``free``, ``skip``) is not judged.
    """
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            pos, first = 0, True
            while pos + 8 <= size:
                f.seek(pos)
                head = f.read(16)
                n, kind = int.from_bytes(head[:4], "big"), head[4:8]
                if first and kind not in (b"ftyp", b"wide", b"mdat", b"free", b"skip"):
                    return False
                first = False
                if kind == b"moov":
                    return False
                if n == 1 and len(head) == 16:
                    n = int.from_bytes(head[8:16], "big")
                elif n == 0:
                    n = size - pos
                if n < 8:
                    return True  # a broken box where the index should follow
                pos += n
            return not first
    except OSError:
        return False


def ts_ends_whole(tail: bytes, size: int) -> bool:
    """Whether an MPEG-TS stream of ``size`` bytes whose last bytes are ``tail`` ends whole.

    Its packets are 188 bytes (192 in M2TS, whose 4-byte time stamp comes
    first; 204 with Reed-Solomon bytes) and start with the sync byte 0x47: a
    whole stream has one where its last two packets start. Streams shorter
    than two packets are not judged.
    """
    def whole(n: int, head: int) -> bool:
        at = [len(tail) - k * n + head for k in (1, 2)]
        return all(0 <= i < len(tail) and tail[i] == 0x47 for i in at)

    return size < TS_TAIL or any(whole(n, h) for n, h in ((188, 0), (192, 4), (204, 0)))


def ts_cut_phrase(size: int) -> str:
    """``"it ends inside an MPEG-TS packet (N bytes)"``: a cut of :func:`ts_file_cut`."""
    return f"it ends inside an MPEG-TS packet ({size} bytes)"


def ts_file_cut(path: str) -> int | None:
    """The size of an MPEG-TS file that ends inside a transport packet (see
    :func:`ts_ends_whole`), else None (whole, or unreadable: not judged)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - TS_TAIL))
            tail = fh.read()
    except OSError:
        return None
    return None if ts_ends_whole(tail, size) else size


def _ts_section(payload: bytes, table: int) -> bytes | None:
    """The PSI section of ``table`` that a transport packet's payload starts, whole, or None."""
    if not payload:
        return None
    sec = payload[1 + payload[0]:]  # after the pointer field
    if len(sec) < 3 or sec[0] != table:
        return None
    end = 3 + (((sec[1] & 0x0F) << 8) | sec[2])
    return sec[:end - 4] if len(sec) >= end else None  # without its CRC


def ts_programs(head: bytes) -> dict[int, int] | None:
    """The program each elementary stream of an MPEG-TS belongs to, by PID, from its first bytes.

    Read from the program association table (PID 0) and each program's map
    table (ISO/IEC 13818-1, 2.4.4.3 and 2.4.4.8), in 188-byte packets (192
    in M2TS). None where ``head`` holds no such tables whole (each in one
    transport packet, as muxers write them) or only one program.
    """
    for size, lead in ((188, 0), (192, 4)):
        if len(head) >= lead + 2 * size and head[lead] == 0x47 and head[lead + size] == 0x47:
            break
    else:
        return None
    pmts: dict[int, int] = {}  # PMT PID -> program number
    owner: dict[int, int] = {}
    done: set[int] = set()
    for at in range(lead, len(head) - size + lead + 1, size):
        pkt = head[at:at + 188]
        if len(pkt) < 188 or pkt[0] != 0x47 or not pkt[1] & 0x40:  # sync, payload unit start
            continue
        pid = ((pkt[1] & 0x1F) << 8) | pkt[2]
        control = (pkt[3] >> 4) & 3
        start = 4 + (1 + pkt[4] if control == 3 else 0)
        if not control & 1 or start >= 188:
            continue
        if pid == 0 and not pmts:
            pat = _ts_section(pkt[start:], 0x00) or b""
            for i in range(8, len(pat) - 3, 4):
                number = (pat[i] << 8) | pat[i + 1]
                if number:  # 0 is the network information table
                    pmts[((pat[i + 2] & 0x1F) << 8) | pat[i + 3]] = number
        elif pid in pmts and pid not in done:
            pmt = _ts_section(pkt[start:], 0x02)
            if pmt is None or len(pmt) < 12:
                continue
            done.add(pid)
            i = 12 + (((pmt[10] & 0x0F) << 8) | pmt[11])
            while i + 5 <= len(pmt):
                owner[((pmt[i + 1] & 0x1F) << 8) | pmt[i + 2]] = pmts[pid]
                i += 5 + (((pmt[i + 3] & 0x0F) << 8) | pmt[i + 4])
        if pmts and done == set(pmts):
            break
    if len(set(pmts.values())) < 2 or done != set(pmts):
        return None
    return owner


def _vint(buf: bytes, pos: int, *, marker: bool) -> tuple[int, int] | None:
    """An EBML variable-size integer at ``buf[pos]``: (value, length), None if cut or invalid.

    The count of leading zero bits of the first byte, plus one, is the
    length (1 to 8 bytes); element IDs keep the length marker bit
    (``marker``), sizes drop it (RFC 8794, 4).
    """
    if pos >= len(buf) or buf[pos] == 0:
        return None
    length = 9 - buf[pos].bit_length()
    if pos + length > len(buf):
        return None
    value = int.from_bytes(buf[pos:pos + length], "big")
    return (value if marker else value & ((1 << (7 * length)) - 1)), length


def segment_end(buf: bytes) -> int | None:
    """The end, counted from ``buf[0]``, of the Segment that an EBML header at ``buf[0]`` opens.

    None where ``buf`` holds no EBML header, where something other than
    Void elements stands between it and the Segment, or where the
    Segment's size is unknown (all ones). Where ``buf`` is shorter than
    :data:`MATROSKA_HEAD` (the file's end) and ends inside an EBML header, that
    file was cut there: an end past ``buf``'s is returned.
    """
    ebml = buf[:4] == _EBML.to_bytes(4, "big")
    cut = len(buf) + 1 if len(buf) < MATROSKA_HEAD and ebml else None
    pos = 0
    while pos < len(buf):
        ident = _vint(buf, pos, marker=True)
        if ident is None:
            return cut if pos + 4 > len(buf) else None
        n = _vint(buf, pos + ident[1], marker=False)
        if n is None:
            return cut if pos + ident[1] + 8 > len(buf) else None
        body = pos + ident[1] + n[1]
        if pos == 0 and ident[0] != _EBML:
            return None
        if ident[0] == _SEGMENT:
            if n[0] == (1 << (7 * n[1])) - 1:  # all ones: unknown size
                return None
            return body + n[0]
        if ident[0] not in (_EBML, _VOID):
            return None  # something else before the Segment: not judged
        pos = body + n[0]
    return cut


def _elements(buf: bytes, start: int, end: int) -> Iterator[tuple[int, int, int]]:
    """(ID, body start, body size) of the EBML elements in ``buf[start:end]``, in order.

    Stops at the first element whose header is cut or invalid; an element of
    unknown size (all ones) or running past ``buf`` is yielded with its body
    to ``end``, and is the last.
    """
    pos = start
    while pos < end:
        ident = _vint(buf, pos, marker=True)
        n = _vint(buf, pos + ident[1], marker=False) if ident is not None else None
        if ident is None or n is None:
            return
        body = pos + ident[1] + n[1]
        if n[0] == (1 << (7 * n[1])) - 1 or body + n[0] > end:
            yield ident[0], body, end - body
            return
        yield ident[0], body, n[0]
        pos = body + n[0]


def _uint(data: bytes) -> int:
    return int.from_bytes(data, "big")


def _value(ident: int, data: bytes) -> object:
    """A track field's value: text, a float, bytes or an unsigned integer (RFC 8794, 7)."""
    if ident == _CODEC_ID:
        return data.rstrip(b"\0").decode("ascii", "replace")
    if ident == _RATE:
        return struct.unpack(">f" if len(data) == 4 else ">d", data)[0] if len(data) in (
            4, 8) else data
    return data if ident == _PRIVATE else _uint(data)


def _track(buf: bytes, start: int, end: int) -> tuple[int, dict[str, object]]:
    """A TrackEntry's number and what its packets are read under (RFC 9559, 5.1.4.1)."""
    number, fields = 0, {}
    for ident, body, size in _elements(buf, start, end):
        data = buf[body:body + size]
        if ident == _TRACK_NUMBER:
            number = _uint(data)
        elif ident in _TRACK_FIELDS:
            fields[_TRACK_FIELDS[ident]] = _value(ident, data)
        elif ident in (_VIDEO, _AUDIO):
            for sub, b2, n2 in _elements(buf, body, body + size):
                if sub in _TRACK_FIELDS:
                    fields[_TRACK_FIELDS[sub]] = _value(sub, buf[b2:b2 + n2])
    return number, fields


def _tracks_of(buf: bytes, start: int, n: int) -> dict[int, dict[str, object]]:
    return dict(_track(buf, b, b + m) for entry, b, m in _elements(buf, start, start + n)
                if entry == _TRACK_ENTRY)


def _segment_body(buf: bytes) -> tuple[int, int] | None:
    """Where the data of the Segment that an EBML header at ``buf[0]`` opens starts in
    ``buf``, and its size (to ``buf``'s end where unknown or longer); None where ``buf``
    opens no EBML header and Segment."""
    top = list(_elements(buf, 0, len(buf)))
    if not top or top[0][0] != _EBML:
        return None
    return next(((body, size) for ident, body, size in top if ident == _SEGMENT), None)


def _segment_head(buf: bytes) -> tuple[dict[int, dict[str, object]] | None, int | None, int,
                                       int]:
    """What the Segment that an EBML header at ``buf[0]`` opens says of its tracks:
    (its tracks or None, where its SeekHead puts its Tracks from the Segment's data,
    its timestamp scale in ns, where its data starts in ``buf``)."""
    scale, seek = 1_000_000, None  # TimestampScale's default (RFC 9559, 5.1.2.1)
    segment = _segment_body(buf)
    if segment is None:
        return None, None, scale, 0
    body, size = segment
    for child, start, n in _elements(buf, body, body + size):
        if child == _CLUSTER:
            break
        if child == _INFO:
            for sub, b, m in _elements(buf, start, start + n):
                if sub == _TIMESTAMP_SCALE:
                    scale = _uint(buf[b:b + m])
        elif child == _SEEK_HEAD:
            for entry, b, m in _elements(buf, start, start + n):
                fields = {i: buf[b2:b2 + m2] for i, b2, m2 in _elements(buf, b, b + m)}
                if entry == _SEEK and fields.get(_SEEK_ID) == _TRACKS.to_bytes(4, "big"):
                    seek = _uint(fields.get(_SEEK_POSITION, b""))
        elif child == _TRACKS:
            return _tracks_of(buf, start, n), seek, scale, body
    return None, seek, scale, body


def segment_tracks(buf: bytes) -> dict[int, dict[str, object]] | None:
    """The tracks of the Segment that an EBML header at ``buf[0]`` opens, by track number.

    Each track maps its codec ID (``"codec"``, text) and, as raw bytes,
    what else its packets are decoded under: type, codec private data,
    frame size, sampling frequency, channels (RFC 9559, 5.1.4). None where
    ``buf`` holds no EBML header and Segment, or no Tracks element before
    the first Cluster or ``buf``'s end (:func:`joined_tracks_differ` follows
    the SeekHead there).
    """
    return _segment_head(buf)[0]


def _read_tracks(f: BinaryIO, start: int) -> tuple[dict[int, dict[str, object]] | None, int,
                                                    bytes]:
    """The tracks and timestamp scale of the file joined at byte ``start`` of ``f``, and its
    first bytes; Tracks written after the Clusters (``mkvpropedit``) are found through the
    SeekHead (trial 114 F4: an AAC and a PCM file joined so were not compared)."""
    f.seek(start)
    head = f.read(MATROSKA_TRACKS_HEAD)
    tracks, seek, scale, body = _segment_head(head)
    if tracks is None and seek is not None:
        f.seek(start + body + seek)
        buf = f.read(MATROSKA_TRACKS_HEAD)
        found = next(iter(_elements(buf, 0, len(buf))), None)
        if found is not None and found[0] == _TRACKS:
            tracks = _tracks_of(buf, found[1], found[2])
    return tracks, scale, head


def _segment_parts(f: BinaryIO, size: int) -> list[tuple[int, int]] | None:
    """Where each file joined in an open Matroska file starts (its EBML header) and where its
    Segment says it ends, in bytes; None where the first cannot be read.

    The Segments are walked by their sizes. Where that walk does not end
    at the file's end (a part cut short, with more files after it, or junk
    after the last), the file is searched for EBML headers that open a
    Segment: a first part cut short by a power loss hid the files after it
    (trial 114 F2), and a cut part in the middle was read with a note of one
    damaged frame (F6).
    """
    first = segment_end(f.read(MATROSKA_HEAD))
    if first is None:
        return None
    parts, end = [(0, first)], first
    while end < size:
        f.seek(end)
        more = segment_end(f.read(MATROSKA_HEAD))
        if more is None:
            break  # no further file joined on: junk, a cut part, or a Segment of unknown size
        parts.append((end, end + more))
        end += more
    if end == size or size <= 0:
        return parts
    found = []
    with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        at = 0
        while at != -1:
            length = segment_end(mm[at:at + MATROSKA_HEAD])
            if length is not None:
                found.append((at, at + length))
            at = mm.find(EBML_MAGIC, at + 1)
    return found if len(found) > len(parts) else parts


@functools.lru_cache(maxsize=8)
def _parts_of(path: str, size: int, mtime_ns: int) -> list[tuple[int, int]] | None:
    with open(path, "rb") as f:
        return _segment_parts(f, size)


def _file_parts(path: str) -> tuple[list[tuple[int, int]] | None, int]:
    """:func:`_segment_parts` of the file ``path`` and its size, read once for each state of
    the file (the source, the planner and the checks each ask; a search is not repeated)."""
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):  # a FIFO or a device: reading it would take its data
        return None, st.st_size
    return _parts_of(os.path.abspath(path), st.st_size, st.st_mtime_ns), st.st_size


def first_cut_part(parts: list[tuple[int, int]]) -> tuple[int, int, int, int] | None:
    """Of the (start, declared end) of each file joined in a Matroska file, the first that is
    cut short with more after it: (its 1-based number, the files joined, where its Segment
    says it ends, where the next starts); None where none is. The last file's cut is
    :func:`matroska_segment`'s to tell."""
    for k, ((_, end), (nxt, _)) in enumerate(itertools.pairwise(parts), start=1):
        if end > nxt:
            return k, len(parts), end, nxt
    return None


def cut_part_phrase(part: tuple[int, int, int, int]) -> str:
    """What :func:`first_cut_part` found, in words: ``"it is 3 Matroska files joined end to
    end (cat), and file 1 is cut short (its segment ends at byte N, the next file starts at
    byte M)"``."""
    k, n, end, nxt = part
    return (f"it is {n} Matroska files joined end to end (cat), and file {k} is cut short "
            f"(its segment ends at byte {end}, the next file starts at byte {nxt})")


def matroska_cut_part(path: str) -> tuple[int, int, int, int] | None:
    """:func:`first_cut_part` of the Matroska file ``path`` (``cat a.mkv b.mkv``); None where
    no part is cut short, or the file is no such join."""
    try:
        parts = _file_parts(path)[0] or []
    except (OSError, ValueError):
        return None
    return first_cut_part(parts)


def _describe(fields: dict[str, object]) -> str:
    return str(fields.get("codec", "a track"))


def _first_block(buf: bytes, track: int) -> bytes | None:
    """The frame data of ``track``'s first block in the Segment that ``buf`` opens (no lacing).

    A SimpleBlock or a BlockGroup's Block: the track number (a variable-size
    integer), a 16-bit timestamp, flags, then the frame (RFC 9559, 10).
    """
    segment = _segment_body(buf)
    if segment is None:
        return None
    body, size = segment
    for child, start, n in _elements(buf, body, body + size):
        if child != _CLUSTER:
            continue
        for item, b, m in _elements(buf, start, start + n):
            if item == _BLOCK_GROUP:
                item, b, m = next(((i, b2, m2) for i, b2, m2 in _elements(buf, b, b + m)
                                   if i == _BLOCK), (0, 0, 0))
            if item not in (_SIMPLE_BLOCK, _BLOCK):
                continue
            number = _vint(buf, b, marker=False)
            if number is None or number[0] != track:
                continue
            head = b + number[1] + 3
            if head > b + m or buf[head - 1] & 0x06:  # laced: not judged
                return None
            return buf[head:b + m]
    return None


def _parameter_sets_inline(codec: str, private: bytes, frame: bytes | None) -> bool:
    """Whether an H.264 or HEVC ``frame`` (length-prefixed NAL units, sized as its codec
    private data says) carries its own sequence and picture parameter sets.

    ISO/IEC 14496-15: the length size is ``lengthSizeMinusOne + 1``, in byte 4
    of an AVC configuration record and byte 21 of an HEVC one; NAL unit types
    7 and 8 (H.264), 33 and 34 (HEVC) are the SPS and PPS.
    """
    if frame is None:
        return False
    hevc = codec == "V_MPEGH/ISO/HEVC"
    at = 21 if hevc else 4
    if codec not in ("V_MPEG4/ISO/AVC", "V_MPEGH/ISO/HEVC") or len(private) <= at:
        return False
    size = (private[at] & 3) + 1
    kinds, pos = set(), 0
    while pos + size < len(frame):
        n = int.from_bytes(frame[pos:pos + size], "big")
        nal = frame[pos + size]
        kinds.add((nal >> 1) & 0x3F if hevc else nal & 0x1F)
        pos += size + n
    return {33, 34} <= kinds if hevc else {7, 8} <= kinds


def joined_tracks_differ(path: str) -> tuple[int, str, bool] | None:
    """How a Matroska file made of files joined end to end (``cat a.mkv b.mkv``) differs in its
    tracks from its first file's, or None where it does not (or is no such file).

    A demuxer reads every packet under the first file's tracks: a second
    file whose sound is PCM where the first's is AAC was copied as AAC,
    a corrupt stream. Returns (the 1-based file, what differs, whether a
    video track differs) for the first file that differs, what differs as
    ``"track 2 is A_PCM/INT/LIT where the first file's is A_AAC"`` or
    ``"track 1 (V_MPEG4/ISO/AVC) has other codec parameters, width and
    height"``. Each file's Tracks are read before its first Cluster, or
    where its SeekHead says (written after the Clusters); a file whose
    Tracks are found in neither place (within :data:`MATROSKA_TRACKS_HEAD`
    bytes) is not judged.
    """
    try:
        parts = _file_parts(path)[0]
        if parts is None or len(parts) < 2:
            return None
        with open(path, "rb") as f:
            tracks, heads, scales = [], [], []
            for start, _ in parts:
                got, scale, head = _read_tracks(f, start)
                tracks.append(got)
                scales.append(scale)
                heads.append(head)
    except OSError:
        return None
    first = tracks[0]
    if first is None:
        return None
    for k, other in enumerate(tracks[1:], start=2):
        if scales[k - 1] != scales[0]:
            # every timestamp read under the first file's scale: a 4 s
            # recording came out 21.8 s long (trial 114 F3)
            return k, (f"its timestamps count in units of {scales[k - 1]} ns where the first "
                       f"file's count in {scales[0]} ns"), True
        if other is None or other == first:
            continue
        for number in sorted(set(first) | set(other)):
            a, b = first.get(number), other.get(number)
            if a == b:
                continue
            private = b.get("private") if b is not None else None
            if a is not None and b is not None and {**a, "private": None} == {
                    **b, "private": None} and isinstance(private, bytes) and \
                    _parameter_sets_inline(str(b.get("codec")), private,
                                           _first_block(heads[k - 1], number)):
                # other codec parameters, but its frames carry their own:
                # decoded as the file alone (trial 113 F2)
                continue
            video = any(t is not None and t.get("type") == _VIDEO_TYPE for t in (a, b))
            if a is None or b is None:
                what = (f"track {number} ({_describe(a or b or {})}) only in "
                        f"{'the first' if b is None else 'it'}")
            elif a.get("codec") != b.get("codec"):
                what = f"track {number} is {_describe(b)} where the first file's is {_describe(a)}"
            else:
                changed = [name for name in ("private", "width", "height", "rate", "channels")
                           if a.get(name) != b.get(name)]
                words = [_FIELD_WORDS[n] for n in changed] or ["settings"]
                listed = ", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 \
                    else words[0]
                what = f"track {number} ({_describe(a)}) has other {listed}"
            return k, what, video
    return None


def matroska_starts(path: str) -> list[int]:
    """Where each file joined in a Matroska file (``cat a.mkv b.mkv``) starts, in bytes.

    ``[0]`` for a single file; ``[]`` where that cannot be read (see
    :func:`matroska_segment`).
    """
    try:
        parts = _file_parts(path)[0]
    except (OSError, ValueError):
        return []
    return [] if parts is None else [start for start, _ in parts]


def matroska_segment(path: str) -> tuple[int, int] | None:
    """Where a Matroska (WebM) file's Segments say the file ends, and the file's size (bytes).

    Each EBML header is skipped and its Segment's size read (RFC 8794 for
    EBML, RFC 9559, 8, for the Segment). Files joined end to end (``cat
    a.mkv b.mkv``) hold one Segment after another: the end returned is the
    last one's, so a cut in the second file is told too. None where that
    cannot be told: no EBML file, a first Segment of unknown size (written
    as a stream, or by a recorder that stopped before it finished), or a
    file that cannot be read. Bytes after a Segment that open no further
    EBML header (trailing junk) end the walk.
    """
    try:
        parts, size = _file_parts(path)
    except (OSError, ValueError):
        return None
    return None if parts is None else (parts[-1][1], size)


def segment_shortfall(segment: tuple[int, int] | None) -> str | None:
    """What a (declared end, size) of :func:`matroska_segment` says of a cut file, or None.

    ``"its Matroska segment ends at byte N, the file holds M bytes"`` where
    the file is shorter than its Segments; None where it is whole or was
    not judged.
    """
    if segment is None or segment[1] >= segment[0]:
        return None
    return f"its Matroska segment ends at byte {segment[0]}, the file holds {segment[1]} bytes"
