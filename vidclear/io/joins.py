"""Discontinuities of an input's timestamps, re-based alike for every stream written.

An MPEG-TS made by joining recordings (``cat a.ts b.ts``, a dashcam's
chunks) or whose clock restarts jumps back, or far ahead, at the join.
The outputs' timestamps must go on smoothly there, and every stream must
move by the same amount, or the sound drifts from the picture at each join
(each stream re-based to go on after its own last packet gained the
~31 ms by which a piece's AAC outlasts its video: 155 ms after five
joins, trial 50). FFmpeg's CLI keeps one offset per discontinuity for the
whole input for the same reason (``ts_offset_discont`` in fftools).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Hashable, Sequence
from typing import Any

__all__ = ["DISCONTINUITY_S", "FORWARD_GAP_S", "JOIN_AHEAD_S", "FileJoins", "Timeline",
           "joinable"]

# A jump of a stream's timestamps back by more than this is a discontinuity
# (a smaller one is a late frame or packet, put just after the one before).
# FFmpeg takes a step back of more than 0.1 s so in MPEG-TS. (At 1 s, a
# joined 24-frame clip, 0.92 s long, was put on one instant.)
DISCONTINUITY_S = 0.1
# ... or, for the picture, forward by more than this in inputs that can be
# joined: FFmpeg's CLI takes a DTS jump of over 10 s (``dts_delta_threshold``)
# for a discontinuity in formats flagged AVFMT_TS_DISCONT (MPEG-TS).
JOIN_AHEAD_S = 10.0
# A pause of a stream's own longer than this is named in a note; re-encoded
# audio fills holes up to this long with silence (a longer one is kept as a
# jump of the timestamps, or filled in Ogg).
FORWARD_GAP_S = 60.0
# Forward jumps are discontinuities only in inputs made to be cut and joined
# or that restart their clock (MPEG-TS/PS, FLV, raw elementary streams,
# network streams). In MP4 or Matroska a long jump of the audio is a pause in
# the recording (a muted microphone) and is kept: re-basing it played the
# sound after it a minute early (trial 49); FFmpeg keeps it too.
_JOINABLE_FORMATS = {"mpegts", "mpeg", "mpegvideo", "flv", "h264", "hevc", "rtsp", "rtp",
                     "sdp", "hls", "dash", "udp", "rtmp"}
# The streams of one join land within this of each other in the input's
# time (a TS muxer interleaves them within 0.7 s).
_SAME_JOIN_S = 1.0


def joinable(container: Any) -> bool:
    """Whether the input ``container``'s timestamps can jump ahead at a join or a
    restart of its clock (MPEG-TS and the like), so such a jump is a discontinuity."""
    return bool(set(container.format.name.split(",")) & _JOINABLE_FORMATS)


class Timeline:
    """The discontinuities met so far in one input, shared by the streams written from it.

    Parameters
    ----------
    joins : bool
        The input is :func:`joinable`: a jump of the picture forward past
        :data:`JOIN_AHEAD_S` is a discontinuity too (else a pause, kept).
    back : bool
        A step back of over 0.1 s is a discontinuity. False where the
        source re-based its steps back already, in file order
        (:class:`Unjoiner`): a step back met after that is a frame the
        decoder gave out of order (a damaged stream), a late frame.

    Notes
    -----
    Each stream finds its own jumps (its packets arrive in its own order).
    The picture asks :meth:`shift` at a jump back of over 0.1 s or ahead
    past ``forward_gap_s`` (:meth:`jumped`: 10 s, as FFmpeg); the other streams ask
    :meth:`follow`, which takes a jump ahead for a join only where the
    picture jumped there too. The first stream to reach a join sets the
    shift: its own, to go on just after its last packet. The others
    reaching the same join (their time after the jump within a second of
    the first's) take that same shift, so the picture and the sound keep
    the offset they had in the piece after the join. A stream then landing
    on or before its own last packet (a piece's AAC outlasts its picture
    by its padding) overlaps the piece before: the caller nudges copied
    packets past it and cuts re-encoded samples; the picture, whose frames
    are never left out, keeps its own shift then.
    """

    def __init__(self, joins: bool = True, *, back: bool = True) -> None:
        self.forward_gap_s = JOIN_AHEAD_S if joins else float("inf")
        self.back = back
        # (input s after the jump, shift s, the clock went ahead)
        self._events: list[tuple[float, float, bool]] = []
        self._used: dict[Hashable, int] = {}  # events each stream has passed

    def jumped(self, gap_s: float) -> bool:
        """Whether a step of ``gap_s`` seconds between a stream's packets is a discontinuity."""
        return (self.back and gap_s < -DISCONTINUITY_S) or gap_s > self.forward_gap_s

    def follow(self, key: Hashable, gap_s: float, at_s: float, own_s: float) -> float | None:
        """The shift for a stream other than the picture whose timestamps stepped by
        ``gap_s`` s to ``at_s`` s (``own_s``: on just after its last packet), or None.

        A step back of over 0.1 s is a discontinuity (:meth:`shift`); a step
        ahead of over 0.1 s is one only where the picture jumped ahead there
        too (:meth:`joined`), of any size: the picture's rule (ahead past
        ``forward_gap_s``) and this stream's own size of the jump could
        disagree at the boundary (a join 60.0 s ahead for the picture, 59.97
        for its sound, filled a minute of silence).
        """
        if gap_s < -DISCONTINUITY_S:
            return self.shift(key, at_s, own_s, ahead=False) if self.back else None
        if gap_s > DISCONTINUITY_S:
            return self.joined(key, at_s, ahead=True)
        return None

    def joined(self, key: Hashable, at_s: float, *, ahead: bool) -> float | None:
        """The shift another stream took at a join it met at ``at_s`` (s), or None.

        Only joins whose clock went the same way (``ahead``) count: with
        every piece on one clock (``cat a.ts a.ts``), a 0.15 s hole in a
        piece's sound, met after the picture had reached the next join,
        took that join's shift and moved the rest of the piece's sound by a
        piece (trial 51). For a stream's jump ahead: its packets are written
        once the picture has passed their time, so at a join the picture's
        own jump is here already; without it the jump is a pause of this
        stream alone (a TS whose microphone was muted for minutes), kept.
        """
        used = self._used.get(key, 0)
        for i in range(used, len(self._events)):
            t, s, went_ahead = self._events[i]
            if went_ahead == ahead and abs(t - at_s) < _SAME_JOIN_S:
                self._used[key] = i + 1
                return s
        return None

    def shift(self, key: Hashable, at_s: float, own_s: float, *, ahead: bool) -> float:
        """Seconds to add to stream ``key``'s input times from its jump to ``at_s`` on.

        ``own_s`` is the stream's own choice (its timeline going on just
        after its last packet); it is taken, and kept for the other streams,
        unless another stream already met this join (its clock going the
        same way, ``ahead`` or back).
        """
        found = self.joined(key, at_s, ahead=ahead)
        if found is not None:
            return found
        self._events.append((at_s, own_s, ahead))
        self._used[key] = len(self._events)
        return own_s


class Unjoiner:
    """Joins found in file order, while demuxing: one shift per join for every stream.

    FFmpeg's CLI re-bases an input's timestamps at a discontinuity as it
    reads the packets, in file order, for every stream alike
    (``ts_offset_discont``). Done there, downstream (the decoder, trims,
    the interleaving of copied packets) sees one continuous clock. Only
    the order of the file tells joins apart when every piece runs on the
    same clock (``cat a.ts a.ts``): a piece without sound put the next
    piece's sound under its picture when each stream was matched to the
    joins by time alone (trial 51).

    Call :meth:`place` for each packet, in the order demuxed; it returns
    the seconds to add to that packet's timestamps.

    Notes
    -----
    A stream's own step back of over 0.1 s is a join. It is the join
    another stream began just before in the file when the packet belongs
    to that piece: the picture has not run on past it there by over a
    second (a TS muxer interleaves its streams within 0.7 s). Otherwise it
    begins a join of its own, placed just after the last picture's end (of
    any stream's before the first picture). Steps ahead are left to
    :class:`Timeline` downstream: which stream of a piece comes first in the
    file is the muxer's choice, and a step ahead of the sound alone is a
    pause.
    """

    def __init__(self) -> None:
        self._shifts = [0.0]  # seconds, per join
        self._began: list[float] = [0.0]  # input time of the packet that began each join
        self._on: dict[Hashable, int] = {}  # the join each stream is on
        self._last: dict[Hashable, float] = {}  # input time of each stream's last packet
        self._video: float | None = None  # input time of the picture's latest packet
        self._end: float | None = None  # latest end of any packet, shifted
        self._video_end: float | None = None  # latest end of a picture, shifted

    @property
    def joins(self) -> int:
        """How many joins were found so far."""
        return len(self._shifts) - 1

    def place(self, key: Hashable, video: bool, t: float, shown: float | None = None,
              duration: float = 0.0) -> float:
        """The shift (s) for a packet of stream ``key`` decoded at input time ``t`` (s, its
        DTS) and shown at ``shown`` (its PTS; ``t`` when None) for ``duration`` s."""
        shown = t if shown is None else shown
        current = len(self._shifts) - 1
        on = self._on.get(key, current)
        last = self._last.get(key)
        if last is not None and t - last < -DISCONTINUITY_S:
            fits = on < current and (
                abs(t - self._began[current]) < _SAME_JOIN_S if video
                else self._video is None or self._video - t < _SAME_JOIN_S)
            if not fits:
                # shown (a keyframe's PTS, after its DTS by the B-frames'
                # delay: 80 ms of gap at each join from the DTS) just after the
                # last picture shown, so the picture runs on without a gap (a
                # piece's sound outlasting it by its padding is cut or nudged
                # downstream)
                end = self._video_end if self._video_end is not None else self._end
                self._shifts.append((end if end is not None else shown) - shown)
                self._began.append(t)
                current += 1
            elif video and self._video_end is not None:
                # the sound began this join before the last picture of the piece
                # before was read (MPEG-TS hands a picture on when its next one
                # starts): the picture runs on from its true end, and the sound's
                # next packets with it (a few ms of gap in the sound, no overlap)
                self._shifts[current] = max(self._shifts[current], self._video_end - shown)
            on = current
        self._on[key] = on
        self._last[key] = t
        shift = self._shifts[on]
        if video:
            self._video = t
        end = shown + shift + duration
        self._end = end if self._end is None else max(self._end, end)
        if video:
            self._video_end = end if self._video_end is None else max(self._video_end, end)
        return shift


# A copied packet this far inside the time the file before still covers is
# left out at a join (less is nudged downstream, as at any join)
_OVERLAP_S = 0.005


class FileJoins:
    """Joins at known byte positions: files joined end to end (``cat a.mkv b.mkv``), one shift
    per file, every stream alike.

    Matroska carries no decoding timestamps, and a picture's presentation
    time goes back by its B-frames' delay within a file, so a step back of
    the clock does not tell a join there (:class:`Unjoiner`'s rule); where
    each file starts does (:func:`vidclear.io.sources.structure.matroska_starts`).
    A file whose clock starts before the end of what came before (each
    recording from 0) is moved to follow it; one whose clock runs on (the
    parts of FFmpeg's segment muxer) keeps the shift before it. Without
    this the trim and the copied streams saw each file's own clock: ``-ss
    1`` dropped the first second of every file, and a later file's subtitle
    landed on the first file's (trial 114 F1, F5).

    Parameters
    ----------
    starts : callable
        Returns where each file starts (bytes, ascending); called per packet
        (standard input learns them as the bytes pass).
    """

    def __init__(self, starts: Callable[[], Sequence[int]]) -> None:
        self._starts = starts
        self._k = 0  # the file the last packet came from
        self._shift = 0.0
        self._video_end: float | None = None  # latest end of a picture, shifted
        self._stream_end: dict[Hashable, float] = {}  # each stream's latest end, shifted
        self._before: dict[Hashable, float] = {}  # the same, where the current file began
        #: files whose clock went back and were moved
        self.joins = 0
        #: packets left out where the file before still covered their time
        self.dropped = 0

    def place(self, pos: int | None, video: bool, shown: float, duration: float = 0.0,
              key: Hashable = None) -> float | None:
        """The shift (s) for a packet of stream ``key`` at byte ``pos``, shown at ``shown`` (s)
        for ``duration`` s; None for a packet other than the picture's that the file before
        still covers (its sound outlasting its picture), to be left out as a trip leaves it:
        moved past it, the next file's sound played 0.6 s late (trial 115 F2)."""
        if pos is not None and pos >= 0:
            k = bisect.bisect_right(self._starts(), pos) - 1
            if k > self._k:  # packets come in file order: the first of a new file
                self._k = k
                self._before = dict(self._stream_end)
                end = self._video_end if self._video_end is not None else max(
                    self._stream_end.values(), default=None)
                if end is not None and shown + self._shift < end - DISCONTINUITY_S:
                    self._shift = end - shown
                    self.joins += 1
        end = shown + self._shift + duration
        if not video and shown + self._shift < self._before.get(key, -math.inf) - _OVERLAP_S:
            self.dropped += 1
            return None
        self._stream_end[key] = max(self._stream_end.get(key, end), end)
        if video:
            self._video_end = end if self._video_end is None else max(self._video_end, end)
        return self._shift

