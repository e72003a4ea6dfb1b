"""One output per input file of a trip (``--split``), with the processors' state carried."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from vidclear.config.sections import OutputConfig
from vidclear.core.frame import Frame
from vidclear.errors import ConfigError
from vidclear.io.sinks.encoder import EncoderSink, suffix_for_container
from vidclear.io.sources.trip import TripSource
from vidclear.io.suffixes import output_suffix

__all__ = ["SplitSink", "split_outputs"]

def split_outputs(files: Sequence[str | os.PathLike[str]], folder: str | os.PathLike[str],
                  container: str = "") -> list[Path]:
    """The files a ``--split`` run writes: one per input in ``folder``, named as the input.

    With a container forced (``-f`` / ``output.format``), each takes that
    container's extension where its own is not one (:func:`suffix_for_container`);
    an input whose extension no muxer writes (``.MOD``) takes
    :func:`~vidclear.io.suffixes.output_suffix`'s.
    """
    return [Path(folder) / Path(f).with_suffix(
        suffix_for_container(container, output_suffix(Path(f).suffix))).name for f in files]


class SplitSink:
    """Write the frames of trip file ``k`` to ``outputs[k]``, each with its own timestamps.

    The trip runs as one input, so every processor sees one continuous clock
    and keeps its smoothed state across the joins; this sink cuts the result
    back into one file per input. Output ``k`` gets file ``k``'s timestamps
    (``meta["trip_pts"]``), its container tags and its own audio, subtitle and
    data packets, and is finished (trailer written, renamed into place) as
    soon as the first frame of file ``k + 1`` arrives.

    Parameters
    ----------
    trip : TripSource
        Opened with ``split=True``.
    outputs : sequence of path
        One per trip file, in the same order.
    config : OutputConfig
        Encoder settings for every output.
    crash_safe : bool
        Write crash-safe containers.
    """

    def __init__(self, trip: TripSource, outputs: Sequence[Path], *, config: OutputConfig,
                 crash_safe: bool = False, size_change: str = "scale") -> None:
        if not trip.split or len(outputs) != len(trip.specs):
            raise ConfigError("SplitSink needs a TripSource(split=True) and one output per file")
        self.trip = trip
        self.outputs = list(outputs)
        self.config = config
        self.crash_safe = crash_safe
        self.size_change = size_change
        self.finished: list[EncoderSink] = []
        self._current: EncoderSink | None = None
        self._k = -1

    @property
    def frames_written(self) -> int:
        return sum(s.frames_written for s in self._all())

    @property
    def files_started(self) -> int:
        """Outputs opened so far (an interrupted run leaves the later inputs unwritten)."""
        return len(self._all())

    @property
    def packets_copied(self) -> int:
        return sum(s.packets_copied for s in self._all())

    @property
    def skipped_streams(self) -> list[str]:
        return [x for s in self._all() for x in s.skipped_streams]

    @property
    def written(self) -> list[Path]:
        """The outputs finished whole: every one before the input being read."""
        return [s.path for s in self.finished]

    @property
    def notes(self) -> list[str]:
        """What each output's own run would say of it: padding, bit depth, a matrix not kept.

        A single run says these; ``--split`` dropped every one (trial 122
        F2). A note every output begun gave is said once; the others name
        their output.
        """
        sinks = self._all()
        said: dict[str, list[str]] = {}  # note without its output's name -> the outputs
        for sink in sinks:
            for note in [*sink.notes, sink.correction_line()]:
                if not note:
                    continue
                bare = note.removeprefix(f"{sink.name}: ")
                names = said.setdefault(bare, [])
                if sink.name not in names:
                    names.append(sink.name)
        out: list[str] = []
        for bare, names in said.items():
            if len(sinks) > 1 and len(names) == len(sinks):
                out.append(f"every output: {bare}")
            else:
                out.extend(f"{name}: {bare}" for name in names)
        return out

    def interrupted_note(self) -> str:
        """What a run stopped early left: the output cut short, the ones whole, those not begun.

        The last output started holds its input's frames up to the stop,
        finished and playable under its own name; the summary said only
        "wrote 899 frames to 2 files" (trial 119 F4).
        """
        sinks = self._all()
        if not sinks:
            return f"no output was started: {len(self.outputs)} inputs not read"
        last = sinks[-1]
        expected = self.trip.file_infos[len(sinks) - 1].frame_count
        # the stop can come after an input's last frame, before the next one's
        # first: that output is whole (a file of 100 of 100 frames was called
        # cut short: trial 120 F3)
        cut = expected is None or last.frames_written < expected
        parts = ([f"{last.path} holds the first {last.frames_written} frames of its input "
                  "(cut short by the stop)"] if cut else [])
        whole = [str(s.path) for s in (sinks[:-1] if cut else sinks)]
        if whole:
            parts.append(f"finished whole: {', '.join(whole)}")
        rest = self.outputs[len(sinks):]
        if rest:
            parts.append(f"not started: {', '.join(str(p) for p in rest)}")
        return "; ".join(parts)

    def _all(self) -> list[EncoderSink]:
        return [*self.finished, *([self._current] if self._current is not None else [])]

    def write(self, frame: Frame) -> None:
        k = int(frame.meta["trip_file"])
        if k != self._k:
            self._finish(complete=True)
            info = self.trip.stream_info(k)
            self._current = EncoderSink(self.outputs[k], config=self.config, info=info,
                                        side_packets=self.trip.packets_for(k),
                                        crash_safe=self.crash_safe,
                                        size_change=self.size_change)
            self._k = k
        # Back on the file's own clock (the frame is not used after the sink).
        frame.pts = frame.meta["trip_pts"]
        frame.time_base = self.trip.stream_info(k).time_base
        assert self._current is not None
        self._current.write(frame)

    def _finish(self, *, complete: bool) -> None:
        if self._current is None:
            return
        sink, self._current = self._current, None
        sink.close(complete=complete)
        self.finished.append(sink)
        self.trip.release(self._k)

    def close(self, *, complete: bool = True) -> None:
        self._finish(complete=complete)

    def abort(self) -> None:
        if self._current is not None:
            self._current.abort()
            self._current = None

    def __repr__(self) -> str:
        return f"SplitSink({len(self.outputs)} outputs, {len(self.finished)} finished)"
