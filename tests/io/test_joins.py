"""The shared shift at an input's joins (`vidclear.io.sinks.joins.Timeline`).

The end-to-end checks (cat-joined MPEG-TS, copied and re-encoded, beeps
against the picture) are in tests/conformance/test_edge_inputs.py; these
pin the rules the encoder relies on.
"""

from __future__ import annotations

import pytest

from vidclear.io.sinks.joins import FORWARD_GAP_S, Timeline


def test_the_first_stream_at_a_join_sets_the_shift_for_the_others() -> None:
    t = Timeline()
    # the sound reaches the join first (its packets are due before the picture's)
    assert t.follow(1, -10.0, 1.40, 8.631) == 8.631
    assert t.shift("video", 1.4232, 8.6) == 8.631  # within a second: the same join
    # the next join: same input times again (`cat a.ts a.ts a.ts`), in order
    assert t.shift("video", 1.4232, 18.6) == 18.6
    assert t.follow(1, -10.0, 1.40, 18.631) == 18.6


def test_a_jump_ahead_of_the_sound_alone_is_a_pause() -> None:
    t = Timeline()
    assert t.follow(1, 61.0, 66.4, -1.4) is None  # the picture never jumped there
    assert t.follow(1, 0.02, 66.42, -1.4) is None  # an ordinary step
    # where the picture jumped ahead (by any amount past the sound's), it is a join
    assert t.shift("video", 71.42, -61.4) == -61.4
    assert t.follow(1, 59.97, 71.40, -61.43) == -61.4


@pytest.mark.parametrize(("joins", "ahead"), [(True, True), (False, False)])
def test_the_picture_jumps_ahead_past_a_minute_only_in_joinable_inputs(joins: bool,
                                                                       ahead: bool) -> None:
    t = Timeline(joins)
    assert t.jumped(-0.2) and not t.jumped(-0.05) and not t.jumped(FORWARD_GAP_S - 1)
    assert t.jumped(FORWARD_GAP_S + 1) is ahead


def test_a_stream_does_not_take_a_join_another_stream_met_elsewhere() -> None:
    t = Timeline()
    assert t.shift("video", 1.42, 8.6) == 8.6
    # the sound's own jump back at another time: its own shift, not the picture's
    assert t.follow(1, -5.0, 30.0, 3.0) == 3.0
    # and the picture's later join at 30 s takes the sound's
    assert t.shift("video", 30.02, 2.9) == 3.0
