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

from collections.abc import Hashable
from typing import Any

__all__ = ["DISCONTINUITY_S", "FORWARD_GAP_S", "Timeline", "joinable"]

# A jump of a stream's timestamps back by more than this is a discontinuity
# (a smaller one is a late frame or packet, put just after the one before).
# FFmpeg takes a step back of more than 0.1 s so in MPEG-TS. (At 1 s, a
# joined 24-frame clip, 0.92 s long, was put on one instant.)
DISCONTINUITY_S = 0.1
# ... or forward by more than this, in inputs that can be joined.
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
        :data:`FORWARD_GAP_S` is a discontinuity too (else a pause, kept).

    Notes
    -----
    Each stream finds its own jumps (its packets arrive in its own order).
    The picture asks :meth:`shift` at a jump back of over 0.1 s or ahead
    past ``forward_gap_s`` (:meth:`jumped`); the other streams ask
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

    def __init__(self, joins: bool = True) -> None:
        self.forward_gap_s = FORWARD_GAP_S if joins else float("inf")
        self._events: list[tuple[float, float]] = []  # (input s after the jump, shift s)
        self._used: dict[Hashable, int] = {}  # events each stream has passed

    def jumped(self, gap_s: float) -> bool:
        """Whether a step of ``gap_s`` seconds between a stream's packets is a discontinuity."""
        return gap_s < -DISCONTINUITY_S or gap_s > self.forward_gap_s

    def follow(self, key: Hashable, gap_s: float, at_s: float, own_s: float) -> float | None:
        """The shift for a stream other than the picture whose timestamps stepped by
        ``gap_s`` s to ``at_s`` s (``own_s``: on just after its last packet), or None.

        A step back of over 0.1 s is a discontinuity (:meth:`shift`); a step
        ahead of over 0.1 s is one only where the picture jumped there too
        (:meth:`joined`), of any size: the picture's rule (ahead past
        ``forward_gap_s``) and this stream's own size of the jump could
        disagree at the boundary (a join 60.0 s ahead for the picture, 59.97
        for its sound, filled a minute of silence).
        """
        if gap_s < -DISCONTINUITY_S:
            return self.shift(key, at_s, own_s)
        if gap_s > DISCONTINUITY_S:
            return self.joined(key, at_s)
        return None

    def joined(self, key: Hashable, at_s: float) -> float | None:
        """The shift another stream took at a join it met at ``at_s`` (s), or None.

        For a stream's jump *ahead*: its packets are written once the
        picture has passed their time, so at a join the picture's own jump
        is here already; without it the jump is a pause of this stream alone
        (a TS whose microphone was muted for minutes), kept as a pause.
        """
        used = self._used.get(key, 0)
        for i in range(used, len(self._events)):
            t, s = self._events[i]
            if abs(t - at_s) < _SAME_JOIN_S:
                self._used[key] = i + 1
                return s
        return None

    def shift(self, key: Hashable, at_s: float, own_s: float) -> float:
        """Seconds to add to stream ``key``'s input times from its jump to ``at_s`` on.

        ``own_s`` is the stream's own choice (its timeline going on just
        after its last packet); it is taken, and kept for the other streams,
        unless another stream already met this join.
        """
        found = self.joined(key, at_s)
        if found is not None:
            return found
        self._events.append((at_s, own_s))
        self._used[key] = len(self._events)
        return own_s
