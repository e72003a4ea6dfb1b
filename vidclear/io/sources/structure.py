"""Whole-file checks read from a container's own structure, not from its packets.

Where a demuxer simply stops at the end of the bytes, the structure tells
a whole file from one cut short: ISO BMFF's top-level boxes (an MP4 whose
``moov`` index never arrived), MPEG-TS's fixed-size packets (a file that
ends inside one), Matroska's Segment size (a file shorter than its
Segment says it is).
"""

from __future__ import annotations

import os

__all__ = ["MATROSKA_HEAD", "TRUNCATED_HINT", "TS_TAIL", "matroska_segment", "mp4_without_index",
           "segment_end", "segment_shortfall", "ts_ends_whole", "ts_file_cut"]

_EBML = 0x1A45DFA3
_SEGMENT = 0x18538067
_VOID = 0xEC
#: What every refusal of a cut input offers instead.
TRUNCATED_HINT = "(use --set input.allow_truncated=true to keep what decodes)"
#: Bytes read for a Matroska file's EBML header and its Segment's size.
MATROSKA_HEAD = 4096
#: Bytes of an MPEG-TS stream's end that show whether its last packets are whole.
TS_TAIL = 2 * 204


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
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            first = segment_end(f.read(MATROSKA_HEAD))
            if first is None:
                return None
            end = first
            while end < size:
                f.seek(end)
                more = segment_end(f.read(MATROSKA_HEAD))
                if more is None:
                    break  # no further file joined on: junk, or a Segment of unknown size
                end += more
    except OSError:
        return None
    return end, size


def segment_shortfall(segment: tuple[int, int] | None) -> str | None:
    """What a (declared end, size) of :func:`matroska_segment` says of a cut file, or None.

    ``"its Matroska segment ends at byte N, the file holds M bytes"`` where
    the file is shorter than its Segments; None where it is whole or was
    not judged.
    """
    if segment is None or segment[1] >= segment[0]:
        return None
    return f"its Matroska segment ends at byte {segment[0]}, the file holds {segment[1]} bytes"
