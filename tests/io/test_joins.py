"""The shared shift at an input's joins (`vidclear.io.joins.Timeline`).

The end-to-end checks (cat-joined MPEG-TS, copied and re-encoded, beeps
against the picture) are in tests/conformance/test_edge_inputs.py; these
pin the rules the encoder relies on.
"""

from __future__ import annotations

import pytest

from vidclear.io.joins import JOIN_AHEAD_S, Timeline, Unjoiner


def test_the_first_stream_at_a_join_sets_the_shift_for_the_others() -> None:
    t = Timeline()
    # the sound reaches the join first (its packets are due before the picture's)
    assert t.follow(1, -10.0, 1.40, 8.631) == 8.631
    assert t.shift("video", 1.4232, 8.6, ahead=False) == 8.631  # within a second: the same
    # the next join: same input times again (`cat a.ts a.ts a.ts`), in order
    assert t.shift("video", 1.4232, 18.6, ahead=False) == 18.6
    assert t.follow(1, -10.0, 1.40, 18.631) == 18.6


def test_a_jump_ahead_of_the_sound_alone_is_a_pause() -> None:
    t = Timeline()
    assert t.follow(1, 61.0, 66.4, -1.4) is None  # the picture never jumped there
    assert t.follow(1, 0.02, 66.42, -1.4) is None  # an ordinary step
    # where the picture jumped ahead (by any amount past the sound's), it is a join
    assert t.shift("video", 71.42, -61.4, ahead=True) == -61.4
    assert t.follow(1, 59.97, 71.40, -61.43) == -61.4
    # a hole in the sound is no join the picture made going back
    assert t.shift("video", 1.42, 70.0, ahead=False) == 70.0
    assert t.follow(1, 0.15, 2.05, 70.0) is None


@pytest.mark.parametrize(("joins", "ahead"), [(True, True), (False, False)])
def test_the_picture_jumps_ahead_past_a_minute_only_in_joinable_inputs(joins: bool,
                                                                       ahead: bool) -> None:
    t = Timeline(joins)
    assert t.jumped(-0.2) and not t.jumped(-0.05) and not t.jumped(JOIN_AHEAD_S - 1)
    assert t.jumped(JOIN_AHEAD_S + 1) is ahead


def test_a_stream_does_not_take_a_join_another_stream_met_elsewhere() -> None:
    t = Timeline()
    assert t.shift("video", 1.42, 8.6, ahead=False) == 8.6
    # the sound's own jump back at another time: its own shift, not the picture's
    assert t.follow(1, -5.0, 30.0, 3.0) == 3.0
    # and the picture's later join at 30 s takes the sound's
    assert t.shift("video", 30.02, 2.9, ahead=False) == 3.0


def _cat(unjoiner: Unjoiner, pieces: list[list[tuple[str, float]]]) -> list[float]:
    """Shifted times of ``(stream, t)`` packets, piece after piece, in file order."""
    out = []
    for piece in pieces:
        for key, t in piece:
            video = key == "v"
            out.append(t + unjoiner.place(key, video, t, t, 0.04 if video else 0.02))
    return out


def test_joins_found_in_file_order_keep_a_piece_without_sound_in_its_place() -> None:
    # every piece on one clock (`cat a.ts a.ts ...`): 2 s of picture from 1.42 s,
    # its sound from 1.40 s, interleaved; the second piece without sound. Each
    # later piece goes on after the picture before it, its sound with it.
    piece = sorted([("v", 1.42 + 0.04 * k) for k in range(50)]
                   + [("a", 1.40 + 0.02 * k) for k in range(100)], key=lambda p: p[1])
    silent = [p for p in piece if p[0] == "v"]
    u = Unjoiner()
    times = _cat(u, [piece, silent, piece])
    assert u.joins == 2
    first, third = times[:150], times[200:]
    # two pieces of picture (2 s each) before the third (and the 20 ms by which its
    # sound, first in the file, leads its picture), its sound as it was against it
    moved = {round(b - a, 9) for a, b in zip(first, third, strict=True)}
    assert len(moved) == 1 and 4.0 <= moved.pop() <= 4.02 + 1e-9


def test_joins_found_in_file_order_leave_steps_ahead_and_small_steps_alone() -> None:
    u = Unjoiner()
    assert u.place("v", True, 1.0) == 0 and u.place("v", True, 1.04) == 0
    assert u.place("v", True, 1.02) == 0  # a B-frame's small step back
    assert u.place("v", True, 101.0) == 0  # ahead: left to Timeline downstream
    assert u.joins == 0


def test_a_live_input_keeps_its_gaps():
    # A network recording's outage, dated by the time the frames came, was
    # closed as a join when it lasted over 10 s (a 14 s outage written as none,
    # trial 55): a live input's timeline takes no jump ahead for a join.
    from fractions import Fraction

    from vidclear.core.source import StreamInfo
    from vidclear.io.sinks.encoder import input_timeline

    live = StreamInfo(spec="udp://127.0.0.1:9", width=16, height=16, time_base=Fraction(1, 90000),
                      rate=Fraction(25), is_live=True)
    assert input_timeline(live).forward_gap_s == float("inf")
    assert input_timeline(None).forward_gap_s == 10.0


def test_urls_make_no_trip_and_the_message_says_files_on_a_server_too():
    # files on a server are read as files now, but a trip joins local files only
    # (trial 55: the message still called two HTTP files "streams")
    import pytest

    from vidclear.errors import ConfigError
    from vidclear.io.sources import open_source

    with pytest.raises(ConfigError, match=r"^several inputs make a trip of local files; URLs "
                                          r"\(files on a server too\), cameras and lavfi graphs "
                                          "can only be run one at a time$"):
        open_source(["http://127.0.0.1:9/a.mp4", "http://127.0.0.1:9/b.mp4"])
