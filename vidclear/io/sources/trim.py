"""Part of an input: FFmpeg's ``-ss``, ``-t`` and ``-to`` on the input side.

:class:`TrimSource` seeks to the keyframe at or before the start, decodes from
there and drops the frames before the start (an exact, decode-side trim),
stops at the end, and shifts every timestamp so the output starts at 0, as
FFmpeg does. Passed-through audio, subtitle and data packets are trimmed to
the same span and shifted by the same amount.

Positions are seconds from the first timestamp of the input (FFmpeg adds the
input's start time to ``-ss`` the same way), so ``-ss 10`` means ten seconds
into the clip whatever its container's clock says.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

from vidclear.core.frame import Frame
from vidclear.core.source import SidePackets, Source, StreamInfo
from vidclear.errors import ConfigError, InputError
from vidclear.io.sources.av_source import AVSource

__all__ = ["TrimSource", "parse_time"]

# Frames and packets closer than this to a bound count as on it (timestamp rounding).
_EPS = 1e-6


def parse_time(text: str, *, option: str = "time") -> float:
    """Seconds from an FFmpeg time duration: ``[-][HH:]MM:SS[.m...]`` or ``[-]S[.m...]``.

    >>> parse_time("01:02:03.5")
    3723.5
    >>> parse_time("90")
    90.0

    Raises
    ------
    ConfigError
        ``text`` is not a time, or is not finite.
    """
    raw = text.strip()
    sign = -1.0 if raw.startswith("-") else 1.0
    body = raw.lstrip("+-")
    parts = body.split(":")
    try:
        if not body or len(parts) > 3 or any(p == "" for p in parts):
            raise ValueError
        values = [float(p) for p in parts]
        if any(v < 0 for v in values) or any(v >= 60 for v in values[1:]):
            raise ValueError
        seconds = 0.0
        for v in values:
            seconds = seconds * 60 + v
    except ValueError:
        raise ConfigError(f"{option} {text!r} is not a time: expected seconds (12.5) or "
                          "[HH:]MM:SS[.m] (00:01:30)") from None
    if not math.isfinite(seconds):
        raise ConfigError(f"{option} {text!r} is not a finite time")
    return sign * seconds


class _TrimmedPackets(SidePackets):
    """The inner source's side packets, kept in [start, end) and shifted to start at 0."""

    def __init__(self, start: float, end: float | None) -> None:
        super().__init__()
        self.start, self.end = start, end
        self.dropped = 0

    def put(self, packet: Any) -> None:
        ts = packet.pts if packet.pts is not None else packet.dts
        if ts is not None:
            t = float(ts * packet.time_base)
            cue = packet.stream.type == "subtitle" and bool(packet.duration)
            shown_to = t + float(packet.duration * packet.time_base) if cue else t
            if t < self.start - _EPS and cue and shown_to > self.start + _EPS:
                # a cue still shown at the start is shown from it, as FFmpeg keeps
                # it: a GPS caption from 0 to 2 s was dropped from -ss 0.5, its
                # track empty for the whole span (trial 82 F4)
                packet.pts = packet.dts = round(self.start / packet.time_base)
                t = float(packet.pts * packet.time_base)
                packet.duration = max(1, round((shown_to - t) / packet.time_base))
            if t < self.start - _EPS or (self.end is not None and t >= self.end - _EPS):
                self.dropped += 1
                return
            if self.end is not None and cue and shown_to > self.end + _EPS:
                # a cue shown past the span ends with it, as the picture does: the
                # file lasted a second past its last frame (trial 81 F5)
                packet.duration = max(1, round((self.end - t) / packet.time_base))
        shift = round(self.start / packet.time_base)
        if packet.pts is not None:
            packet.pts -= shift
        if packet.dts is not None:
            packet.dts -= shift
        super().put(packet)


class TrimSource(Source):
    """The frames of ``source`` from ``start`` to ``end`` seconds, starting at time 0.

    Parameters
    ----------
    source : AVSource
        An opened file (or stream) source, not yet iterated.
    start : float
        Seconds from the input's first timestamp over all its streams
        (:attr:`AVSource.origin`, as FFmpeg counts ``-ss``); 0 keeps the beginning.
    end : float, optional
        Where to stop, in the same clock; None runs to the end.

    Raises
    ------
    ConfigError
        ``start`` is negative or ``end`` is not after ``start``.
    """

    def __init__(self, source: AVSource, *, start: float = 0.0,
                 end: float | None = None) -> None:
        if start < 0 or not math.isfinite(start):
            raise ConfigError(f"input.start = {start!r} is not allowed: expected seconds >= 0")
        if end is not None and not end > start:
            raise ConfigError(f"the trim ends at {end:g} s, not after its start {start:g} s")
        super().__init__(source.spec)
        self.source = source
        origin = source.origin
        self.start, self.end = origin + start, (None if end is None else origin + end)
        self.length = None if end is None else end - start
        self._packets = _TrimmedPackets(self.start, self.end)
        source.side_packets = self.side_packets = self._packets
        first = source.first_time
        if start > 0 and (first is None or self.start > first):
            # not into the stretch before the picture starts: the seek went to
            # its first keyframe, and the sound from -ss up to it was lost
            # (trial 124 F1; FFmpeg 5.1 loses it too)
            source.seek(self.start)

    @property
    def info(self) -> StreamInfo:
        inner = self.source.info
        duration = inner.duration
        if duration is not None:  # the video's, from its first timestamp
            first = self.source.first_time
            video_end = (self.source.origin if first is None else first) + duration
            duration = max(0.0, video_end - self.start)
        if self.length is not None:
            duration = self.length if duration is None else min(duration, self.length)
        frames = None
        if duration is not None and inner.rate:
            frames = max(1, round(duration * float(inner.rate)))
        # its timestamps start at 0 already (shifted here), and so do its chapters
        moved = (c.within(self.start, self.end) for c in inner.chapters)
        return dataclasses.replace(inner, duration=duration, frame_count=frames, start=0.0,
                                   chapters=tuple(c for c in moved if c is not None))

    @property
    def decode_errors(self) -> int:
        return self.source.decode_errors

    @property
    def packets_trimmed(self) -> int:
        """Passed-through packets left out because they lie outside the span."""
        return self._packets.dropped

    def report(self) -> dict[str, Any]:
        return {**self.source.report(), "trim_s": [self.start, self.end],
                "packets_trimmed": self.packets_trimmed}

    def stop(self) -> None:
        super().stop()
        self.source.stop()

    def after_stop(self) -> None:
        self.source.after_stop()

    def _frames(self) -> Iterator[Frame]:
        tb = self.source.time_base
        shift = round(Fraction(self.start).limit_denominator(10**9) / tb)
        end = None if self.end is None else round(Fraction(self.end).limit_denominator(10**9) / tb)
        # an ordinary frame's length: the stream's base rate (the shortest
        # frame interval; the average rate of a clip with held frames is lower)
        vs = getattr(self.source, "video_stream", None)
        rate = (getattr(vs, "base_rate", None) or getattr(vs, "guessed_rate", None)
                or self.source.info.rate)
        step = 1 / float(rate) if rate else _EPS
        last: float | None = None
        held: Frame | None = None  # the frame before the start that is still shown there
        last_before: float | None = None  # the time of the last frame before the start
        ended = False
        video_end = self.end  # where the picture stops (see below)
        for frame in self.source:
            last = frame.time if frame.time is not None else last
            t = frame.time
            if t is not None:
                if t < self.start - _EPS:
                    # decoded from the keyframe before the start: trimmed exactly,
                    # but for a frame held over the start (see _held_over)
                    held = frame if self._held_over(frame, t, step) else None
                    last_before = t
                    continue
                if (self._frames_decoded == 0 and held is None and self.end is not None
                        and self.length is not None
                        and (t < self.end - _EPS or last_before is None)):
                    # the picture runs -t from its first frame shown, as FFmpeg's
                    # trim does (its copied sound ends on the input's clock):
                    # a picture starting after the sound keeps -t's frames, even
                    # where the span ends before it (-t 0.2 with the picture at
                    # 0.5 s: no frames were written, trial 122 F1). A gap in a
                    # joined recording's clock (frames before the start, none
                    # in the span) is still refused below.
                    video_end = t + self.length
                    end = round(Fraction(video_end).limit_denominator(10**9) / tb)
                if video_end is not None and t >= video_end - _EPS:
                    assert self.end is not None  # video_end is set only with an end
                    if self._frames_decoded == 0 and held is None and last_before is not None:
                        # the whole span lies in a gap of the input's clock (a
                        # joined TS whose next piece's clock starts later: a
                        # jump ahead is counted on the input's own clock); it
                        # said only "no frames were written" (trial 52)
                        origin = self.source.origin
                        raise InputError(
                            f"input {self.spec}: no frame from {self.start - origin:g} s to "
                            f"{self.end - origin:g} s: its clock jumps from "
                            f"{last_before - origin:.3f} s to {t - origin:.3f} s there "
                            "(joined recordings count -ss/-t on the input's own clock "
                            "across a jump ahead)")
                    self.source.drain_side_packets(self.end)
                    self.source.stop()
                    ended = True
                    break
            for f in (held, frame) if held is not None else (frame,):
                yield self._shifted(f, shift, end)
            held = None
        if held is not None:  # nothing after it within the span
            yield self._shifted(held, shift, end)
        if self._frames_decoded == 0 and not (self.stopped or ended):
            origin = self.source.origin
            end_note = "" if last is None else f" (its last frame is at {last - origin:.3f} s)"
            raise InputError(f"input {self.spec}: -ss {self.start - origin:g} s starts after "
                             f"the last frame{end_note}")

    def _shifted(self, frame: Frame, shift: int, end: int | None) -> Frame:
        """``frame`` moved to the output's clock (the start at 0), its hold cut at the end."""
        if frame.pts is not None:
            if end is not None and frame.meta.get("duration"):
                # a frame held past the end is shown up to the end, as -t does
                room = end - max(frame.pts, shift)  # from where it is shown
                frame.meta["duration"] = max(1, min(frame.meta["duration"], room))
            frame.pts = max(0, frame.pts - shift)
        self._frames_decoded += 1
        return frame

    def _held_over(self, frame: Frame, t: float, step: float) -> bool:
        """Whether ``frame``, from before the start, is still shown a frame past it.

        Such a frame (a held picture, a slide) is what the start shows: it is
        kept, at time 0, for the rest of its duration. Dropping it, as FFmpeg
        does, left the output without a picture for up to its whole hold (a
        0.35 s gap at the head of the media case ``held-last-frame.mp4``
        trimmed at 0.5 s). A frame of ordinary length is never kept this way,
        so frame-exact trims stay as they were.
        """
        ticks = frame.meta.get("duration")
        if not ticks or not frame.time_base:
            return False
        rest = t + float(ticks * frame.time_base) - self.start
        if rest <= step + _EPS:
            return False
        frame.meta["duration"] = max(1, round(rest / frame.time_base))
        return True

    def _close(self) -> None:
        self.source.close()

    def __repr__(self) -> str:
        end = "end" if self.end is None else f"{self.end:g}"
        return f"TrimSource({self.source!r}, {self.start:g}..{end} s)"
