"""The one assembler: a source, a processor chain and sinks, run as one job.

Every way of running vidclear goes through :class:`Session`: ``vidclear run``
on files, streams and cameras, the live previews, batch segments, the demo,
``vidclear synth`` and :func:`transcode`. A session

- resolves the flow mode (``pipeline.mode = "auto"``: live for cameras and
  streams, file otherwise) and the crash-safe policy (``output.crash_safe =
  "auto"``: crash-safe containers for live runs);
- refuses an output that would overwrite an input, or an existing file
  without ``overwrite``, before anything is written;
- opens an :class:`~vidclear.io.sinks.EncoderSink` per output, fed with the
  source's :class:`~vidclear.core.StreamInfo` and passed-through packets,
  beside any other sinks (previews);
- runs the threaded :class:`~vidclear.pipeline.Pipeline`, turning SIGINT,
  SIGTERM and SIGHUP into a graceful stop (a second signal aborts the queue);
- closes the source and whatever else it was given to close.

>>> from vidclear import load_config, transcode
>>> stats = transcode("drive.mp4", "clear.mp4", config=load_config(preset="dashcam"))
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from vidclear._version import __version__
from vidclear.config.loader import Config, canonical_tables
from vidclear.core import registry
from vidclear.core.frame import Frame
from vidclear.core.processor import Processor
from vidclear.core.signals import stop_signals
from vidclear.core.sink import Sink
from vidclear.core.source import Source
from vidclear.errors import ConfigError, InputError, OutputError, ProcessorError, VidclearError
from vidclear.io.sinks.encoder import EncoderSink
from vidclear.io.sinks.paths import check_output_path
from vidclear.io.sinks.split import SplitSink, split_outputs
from vidclear.io.sinks.stream import StreamSink, classify_output
from vidclear.io.sinks.tee import TeeSink
from vidclear.io.sources import TripSource, classify_input, expand_inputs, open_source
from vidclear.io.sources.network import remote_file
from vidclear.io.suffixes import SCANNED_SUFFIXES
from vidclear.pipeline.runner import Pipeline
from vidclear.pipeline.stats import PipelineStats

__all__ = ["Session", "WarmupSink", "build_processors", "transcode"]

MODES = ("file", "live")

# A second signal of the same kind this soon after the first is a copy of it,
# not a second Ctrl-C: coreutils' `timeout` sends its signal to the process and
# then to the process group, so one scripted stop arrived twice, microseconds
# apart, and dropped the queued frames as if the user had pressed again.
_SAME_SIGNAL_S = 0.25

# Names that are files, not folders, to a user of `--split -o DIR`
_FILE_LIKE = SCANNED_SUFFIXES | {".gif"}


def build_processors(config: Config) -> list[Processor[Any]]:
    """Instantiate the processor chain named in ``config.pipeline.processors``."""
    return [registry.get(name)(config.processor_config(name))
            for name in config.pipeline.processors]


class WarmupSink:
    """Drop frames before ``start`` (pts) after processing; pass the rest to ``sink``.

    A batch segment first runs some frames before its start through the
    processors, so smoothed state (airlight, tone-map key) has no seam; those
    warm-up frames are counted in :attr:`dropped` and never written.
    """

    def __init__(self, sink: Sink, start: int) -> None:
        self.sink = sink
        self.start = start
        self.dropped = 0

    def write(self, frame: Frame) -> None:
        if frame.pts is not None and frame.pts < self.start:
            self.dropped += 1
            return
        self.sink.write(frame)

    def close(self, *, complete: bool = True) -> None:
        self.sink.close(complete=complete)

    def abort(self) -> None:
        self.sink.abort()


class Session:
    """A source, processors and sinks, assembled into one run.

    Parameters
    ----------
    source : Source
        Where frames come from (see :func:`vidclear.open_source`). The
        session closes it when the run ends.
    processors : sequence of Processor
        Applied in order to every frame.
    outputs : sequence of path-like or str
        Files to encode to (an :class:`~vidclear.io.sinks.EncoderSink` each,
        written atomically), or ``"-"`` (standard output) and network URLs
        (``udp://``, ``srt://``, ``rtmp://``, ``rtsp://``, ``tcp://``; a
        :class:`~vidclear.io.sinks.stream.StreamSink` each). The first also
        receives the source's passed-through audio, subtitle and data packets.
    sinks : sequence of Sink
        Further sinks written after the outputs (previews).
    config : Config, optional
        The run's settings: ``pipeline`` (mode, queue size, processing
        threads) and ``output`` (encoder, crash safety).
    mode : {"file", "live"}, optional
        Overrides ``pipeline.mode``.
    overwrite : bool
        Replace existing outputs (never an input).
    warmup_until : int, optional
        Frames with ``pts`` below this are processed but not written.
    on_close : sequence of callables
        Called after the run, once the source is closed (a preview server).
    label : str, optional
        What the summary calls the destination when there is no output file
        (``"http preview"``).

    Raises
    ------
    ConfigError
        An unknown mode, a crash-safe request for a container that cannot
        survive a hard kill, an encoder setting FFmpeg refuses.
    OutputError
        An output would overwrite an input or an existing file, or cannot be
        created.
    """

    def __init__(
        self,
        source: Source,
        processors: Sequence[Processor[Any]],
        *,
        outputs: Sequence[str | os.PathLike[str]] = (),
        sinks: Sequence[Sink] = (),
        config: Config | None = None,
        mode: str | None = None,
        overwrite: bool = False,
        warmup_until: int | None = None,
        on_close: Sequence[Callable[[], Any]] = (),
        label: str | None = None,
    ) -> None:
        cfg = config or Config()
        self.config = cfg
        self.source = source
        self.processors = list(processors)
        for proc in self.processors:
            if not isinstance(proc, Processor):
                raise ProcessorError(
                    f"processors must be vidclear.Processor instances, got "
                    f"{type(proc).__name__}: subclass Processor and set name and Config")
        mode = mode or cfg.pipeline.mode
        if mode == "auto":
            mode = "live" if source.is_live else "file"
        if mode not in MODES:
            raise ConfigError(f"pipeline.mode = {mode!r} is not allowed: expected file or live")
        self.mode = mode
        crash = cfg.output.crash_safe
        self.crash_safe = crash == "on" or (crash == "auto" and mode == "live")
        if not outputs and not sinks:
            raise ConfigError("a run needs an output file or a preview")
        self.outputs: list[str | Path] = [
            o if isinstance(o, str) and classify_output(o) != "file" else Path(o)
            for o in outputs]
        self.recorders: list[EncoderSink] = []
        self._reporters: list[Callable[[], dict[str, Any]]] = []
        self._on_close = list(on_close)
        self._quit = False
        self._started = False
        self._label = label
        try:
            info = source.info
            for i, out in enumerate(self.outputs):
                side = source.side_packets if i == 0 else None
                if isinstance(out, str):
                    self.recorders.append(StreamSink(out, config=cfg.output, info=info,
                                                     side_packets=side,
                                                     size_change=cfg.input.size_change,
                                                     live=mode == "live"))
                    continue
                check_output_path(out, inputs=source.inputs, overwrite=overwrite)
                self.recorders.append(EncoderSink(out, config=cfg.output, info=info,
                                                  side_packets=side,
                                                  crash_safe=self.crash_safe,
                                                  size_change=cfg.input.size_change,
                                                  # a batch segment: joined with the
                                                  # source's audio by source time
                                                  keep_source_time=warmup_until is not None,
                                                  live=mode == "live"))
            for proc in self.processors:  # HDR video: a container that cannot hold it
                meta = proc.output_colour()
                for rec in self.recorders:
                    if meta and isinstance(rec, EncoderSink):
                        rec.check_video_codec(meta["codec"], meta["transfer"])
        except BaseException:
            for rec in self.recorders:
                rec.abort()
            raise
        self.tee = TeeSink([*self.recorders, *sinks])
        self.warmup = WarmupSink(self.tee, warmup_until) if warmup_until is not None else None
        self.pipeline = Pipeline(
            source, self.processors, self.warmup or self.tee, mode=mode,
            queue_size=cfg.pipeline.queue_size,
            processing_threads=cfg.pipeline.processing_threads)

    # -- opening from a spec -------------------------------------------
    @classmethod
    def open(
        cls,
        input: str | os.PathLike[str] | Sequence[str],
        output: str | os.PathLike[str] | None = None,
        *,
        config: Config | None = None,
        overwrite: bool = False,
        live: bool | None = None,
        sinks: Sequence[Sink] | Callable[[Source], Sequence[Sink]] = (),
        processors: Sequence[Processor[Any]] | None = None,
        on_event: Callable[[str], Any] | None = None,
        on_close: Sequence[Callable[[], Any]] = (),
        label: str | None = None,
        split: bool = False,
        pace: bool | None = None,
    ) -> Session:
        """Open ``input`` and assemble a session writing ``output``.

        Everything that can be checked before opening is checked first
        (processor names and settings, the output path), so a bad argument
        fails before any file is created.

        Parameters
        ----------
        input : str or sequence of str
            A file, URL, ``camera:N`` / ``/dev/videoN`` or ``lavfi:<graph>``;
            several files, a folder or a glob make one trip (see
            :func:`vidclear.open_source`).
        output : path-like, optional
            The file to write; optional when ``sinks`` (a preview) are given.
        live : bool, optional
            Run live (drop oldest, reconnect, pace graphs). Default: by
            ``pipeline.mode``, else live for cameras and URLs, but for a file
            on a server (an HTTP(S) or FTP URL of known length), which is
            read as a file.
        pace : bool, optional
            Release a file's frames at their own rate while every frame still
            goes out (file mode): what a preview of a file being recorded
            needs. Default: for files sent to a network output.
        sinks : sequence of Sink, or callable
            Further sinks (previews), or a function that makes them once the
            source is open (so a preview is not served before there is input).
        split : bool
            Several input files run as one trip (state carried), written to
            one file each in the folder ``output``, named like the inputs.
        processors : sequence of Processor, optional
            Use these instead of building ``config.pipeline.processors``.
        on_event : callable, optional
            One-line reports from a reconnecting stream.
        config : Config, optional
            Every setting (:func:`vidclear.load_config`); the defaults without.
        overwrite : bool
            Replace an existing output (``-y``); an input is never replaced.

        Returns
        -------
        Session
            Ready to :meth:`run` (once).

        Raises
        ------
        InputError
            An input is empty, missing, unreadable, not video, or the files of
            a trip do not fit together.
        OutputError
            An output would overwrite an input or an existing file, or its
            folder is missing or not writable.
        ConfigError
            A processor name or setting, or an encoder or container choice, is
            not allowed.
        """
        if config is not None and not isinstance(config, Config):
            raise TypeError(f"config must be a vidclear Config (vidclear.load_config(...)), "
                            f"got {type(config).__name__}")
        if isinstance(input, bytes | os.PathLike):
            input = os.fsdecode(input)
        if isinstance(output, bytes | os.PathLike):
            output = os.fsdecode(output)
        if output is not None and not isinstance(output, str):
            raise TypeError(f"output must be a path or URL, got {type(output).__name__}")
        if isinstance(output, str) and not output.strip():  # Path("") is the current folder
            raise OutputError("the output is empty (\"\", an unset shell variable?)")
        cfg = config or Config()
        if not isinstance(input, str | Sequence):
            raise TypeError("input must be a path, URL or lavfi graph, or a list of them, got "
                            f"{type(input).__name__}")
        specs = [input] if isinstance(input, str) else [os.fsdecode(s) for s in input]
        if not isinstance(input, str):
            input = specs  # bytes and path objects as str from here on
        if not specs:
            raise InputError("no input given: name a file, folder, pattern, URL or lavfi graph")
        if split:
            return cls._open_split(specs, output, config=cfg, overwrite=overwrite,
                                   processors=processors)
        outputs: list[str | Path] = []
        if output is not None:
            if isinstance(output, str) and classify_output(output) != "file":
                outputs.append(output)
            else:
                outputs.append(Path(output))
                check_output_path(Path(output), inputs=specs, overwrite=overwrite)
        # Sending a file over the network: release its frames at their own rate.
        if pace is None:
            pace = True if any(isinstance(o, str) and classify_output(o) == "url"
                               for o in outputs) and cfg.input.realtime == "auto" else None
        procs = list(processors) if processors is not None else build_processors(cfg)
        if live is None:
            kind = classify_input(specs[0])
            # a file on a server is read as a file: every frame, its audio (trial 54)
            live = cfg.pipeline.mode == "live" or (cfg.pipeline.mode == "auto" and (
                kind == "camera" or (kind == "url" and not remote_file(specs[0], cfg.input))))
        mode = "live" if live and cfg.pipeline.mode == "auto" else None
        if pace and not live and cfg.pipeline.mode == "auto":
            mode = "file"  # a file sent in real time: paced, but every frame goes out
        source = open_source(input, config=cfg.input, live=live, pace=pace,
                             copy_streams=cfg.output.copy_streams, on_event=on_event)
        try:
            extra = sinks(source) if callable(sinks) else sinks
            return cls(source, procs, outputs=outputs, sinks=extra, config=cfg, mode=mode,
                       overwrite=overwrite, on_close=on_close, label=label)
        except BaseException:
            source.close()
            raise

    @classmethod
    def _open_split(cls, specs: list[str], folder: str | os.PathLike[str] | None, *,
                    config: Config, overwrite: bool,
                    processors: Sequence[Processor[Any]] | None) -> Session:
        files = expand_inputs(specs, order=config.input.order)
        if config.input.trim is not None:
            # each file was written whole, exit 0, not a word (trial 129 F1)
            raise ConfigError(f"-ss / -t / -to cut one input into one output, and --split "
                              f"writes each of its {len(files)} input(s) whole: drop --split "
                              "and name the output file (-o DIR/NAME) to cut a file")
        if folder is None:
            raise ConfigError("--split writes one file per input into a folder: give -o DIR")
        if isinstance(folder, str) and classify_output(folder) != "file":
            # -o - made a folder named "-" of Matroska files called .mp4 (trial 38)
            raise ConfigError(f"--split writes one file per input into a folder: -o {folder} "
                              "is a stream, which holds one (drop --split to send the trip "
                              "there as one)")
        outputs = split_outputs(files, folder, config.output.format)
        if len(set(outputs)) != len(outputs):
            twins = sorted({o.name for o in outputs if outputs.count(o) > 1})
            raise ConfigError(f"--split: two inputs would be written as {twins[0]} "
                              "(one output per input, named as the input)")
        if not Path(folder).is_dir():
            if Path(folder).exists() or not Path(folder).parent.is_dir():
                raise ConfigError(f"--split writes one file per input into a folder: -o {folder} "
                                  "is not a folder, nor one that can be made")
            if Path(folder).suffix.lower() in _FILE_LIKE:  # made a folder named out.mkv
                raise ConfigError(f"--split writes one file per input into a folder: -o {folder} "
                                  f"is a video file's name (a missing folder is made: -o "
                                  f"{Path(folder).with_suffix('')})")
            Path(folder).mkdir()
        for out in outputs:
            check_output_path(out, inputs=files, overwrite=overwrite)
        procs = list(processors) if processors is not None else build_processors(config)
        trip = TripSource(files, config=config.input, copy_streams=config.output.copy_streams,
                          split=True)
        try:
            crash = config.output.crash_safe == "on"
            splitter = SplitSink(trip, outputs, config=config.output, crash_safe=crash,
                                 size_change=config.input.size_change)
            session = cls(trip, procs, sinks=[splitter], config=config, mode="file",
                          overwrite=overwrite)
        except BaseException:
            trip.close()
            raise
        return session

    # -- running -------------------------------------------------------
    def run(
        self,
        *,
        on_progress: Callable[[PipelineStats], Any] | None = None,
        signals: bool = True,
        on_signal: Callable[[int], Any] | None = None,
    ) -> PipelineStats:
        """Run to the end of the input (or :meth:`stop`); returns the stats.

        Parameters
        ----------
        on_progress : callable, optional
            Called about four times a second with the live stats.
        signals : bool
            Turn SIGINT, SIGTERM and SIGHUP (:data:`~vidclear.core.signals.STOP_SIGNALS`) into
            :meth:`stop` (a second one into
            :meth:`abort`) while running; only from the main thread. Like
            FFmpeg, the output is finalized with every frame processed so far.
        on_signal : callable, optional
            Told the signal number first (to print a line).

        Raises
        ------
        VidclearError
            The session has run already: its input is read and its outputs
            finished (open a new one).
        """
        if self._started:
            raise VidclearError("this session has run already: its input is read and its "
                                "outputs are finished; open a new one (Session.open)")
        self._started = True
        try:
            with self._signals(signals, on_signal):
                stats = self.pipeline.run(on_progress=on_progress)
            if self._quit:
                stats.interrupted = False  # quitting a preview is a normal end
            return stats
        finally:
            self.source.close()
            for fn in self._on_close:
                fn()

    def add_sink(self, sink: Sink) -> None:
        """Write every frame to ``sink`` as well (after the outputs); call before :meth:`run`."""
        if self._started:
            raise ConfigError("add_sink() after the run started")
        self.tee.sinks.append(sink)

    def stop(self, *, interrupted: bool = True) -> None:
        """Graceful stop: read no more input, finish what is queued, finalize.

        ``interrupted=False`` (quitting a preview) counts as a normal end.
        """
        self._quit = not interrupted
        self.pipeline.stop()
        for rec in self.recorders:
            rec.cancel()  # a network output stops waiting for a lost receiver

    def abort(self) -> None:
        """Drop what is queued and finalize at once."""
        self.pipeline.abort()
        for rec in self.recorders:
            rec.cancel()

    def close(self) -> None:
        """Release a session that will not run: its input, outputs and previews.

        Outputs are discarded (nothing was written to them) and a preview
        window's process ends; a session that ran has released them already,
        and this does nothing. A session opened and never run held its input
        (a camera, a port) and its preview window until the interpreter
        exited (trial 156 F2).
        """
        if self._started:
            return
        self._started = True  # run() refuses from now on
        try:
            self.tee.abort()
        finally:
            self.source.close()
            for fn in self._on_close:
                fn()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _signals(self, enabled: bool,
                 on_signal: Callable[[int], Any] | None) -> Iterator[None]:
        if not enabled:
            yield
            return
        count = 0
        last = (0, -1.0)  # the last signal counted and when (time.monotonic)

        def handler(signum: int, _frame: Any) -> None:
            nonlocal count, last
            now = time.monotonic()
            if signum == last[0] and now - last[1] < _SAME_SIGNAL_S:
                return  # a copy of the same one, sent to the process and to its group
            last = (signum, now)
            count += 1
            if count == 1:
                self.stop()
            else:
                self.abort()
            if on_signal is not None:
                # after the stop: a line it cannot write (a terminal that has
                # gone, EIO) left a run that SIGTERM never stopped
                with contextlib.suppress(OSError):
                    on_signal(signum)

        with stop_signals(handler):
            yield

    # -- reporting -----------------------------------------------------
    @property
    def output_label(self) -> str:
        """The first output's path, or what the session shows instead."""
        if self.outputs:
            return str(self.outputs[0])
        for sink in self.tee.sinks:
            if isinstance(sink, SplitSink):  # the files written, once the run has begun
                n = sink.files_started or len(sink.outputs)
                return f"{n} file{'s' if n != 1 else ''} in {sink.outputs[0].parent}"
        return self._label or ", ".join(type(s).__name__ for s in self.tee.sinks)

    @property
    def packets_copied(self) -> int:
        return self.tee.packets_copied

    @property
    def skipped_streams(self) -> list[str]:
        return self.tee.skipped_streams

    @property
    def notes(self) -> list[str]:
        """One-line notes for the user: timestamp corrections, streams left out, padding."""
        out = []
        decoder = self.source
        while not hasattr(decoder, "other_video_streams") and hasattr(decoder, "source"):
            decoder = decoder.source  # through trims and real-time pacing
        others = getattr(decoder, "other_video_streams", 0)
        if others and self.recorders:
            index, w, h = getattr(decoder, "video_choice", (0, 0, 0))
            out.append(f"the input has {others} more video stream{'s' if others > 1 else ''} "
                       f"(a second camera?): only stream #{index} ({w}x{h}) is processed and "
                       "written, the one ffmpeg picks by default")
        out.extend(getattr(decoder, "notes", []))
        uncopied = getattr(decoder, "uncopied_streams", [])
        if uncopied and self.recorders and self.mode == "live" and self.config.output.copy_streams:
            kinds = ", ".join(sorted(set(uncopied)))
            out.append(f"the input's {kinds} stream(s) were not copied: a live run drops frames, "
                       "so they would drift out of sync (pipeline.mode = \"file\" keeps them)")
        for rec in self.recorders:
            out.extend(rec.notes)
            line = rec.correction_line()
            if line:
                out.append(line)
        for sink in self.tee.sinks:
            if isinstance(sink, SplitSink):  # its outputs' own notes (trial 122 F2)
                out.extend(sink.notes)
        facts = self.source.report()
        joins = facts.get("packets_dropped_at_joins", 0)
        if joins:
            out.append(f"{joins} audio/subtitle packet{'s' if joins != 1 else ''} that "
                       "overlapped the previous file at a join "
                       f"{'were' if joins != 1 else 'was'} left out")
        moved = facts.get("packets_moved_at_joins", 0)
        if moved:
            out.append(f"{moved} subtitle/data packet{'s' if moved != 1 else ''} that "
                       "overlapped the previous file at a join "
                       f"{'were' if moved != 1 else 'was'} moved to just after it")
        return out

    def on_processor_event(self, fn: Callable[[str], Any]) -> None:
        """Tell ``fn`` the one-line events of processors that have them (a detected pattern)."""
        for proc in self.processors:
            if hasattr(proc, "on_event"):
                proc.on_event = fn

    def add_report(self, fn: Callable[[], dict[str, Any]]) -> None:
        """Merge ``fn()`` into :meth:`report` (live input state, previews, ...)."""
        self._reporters.append(fn)

    def report(self) -> dict[str, Any]:
        """Facts about the run besides the pipeline stats, for ``--stats``.

        ``config_sha256`` is a SHA-256 of the run's whole configuration (every
        section, as ``config`` shows it) and the processor chain, so two stats
        files with the same ``vidclear_version`` and hash came from the same
        settings.
        """
        config = self.config.to_dict()
        names = [getattr(p, "name", "") or type(p).__name__ for p in self.processors]
        canonical = json.dumps({"config": canonical_tables(config), "processors": names},
                               sort_keys=True, default=str, separators=(",", ":"))
        data: dict[str, Any] = {
            "vidclear_version": __version__,
            "config_sha256": hashlib.sha256(canonical.encode()).hexdigest(),
            "config": json.loads(json.dumps(config, default=str)),
            "input": self.source.spec,
            "output": self.output_label,
            "processors": names,
            "packets_copied": self.packets_copied,
            "skipped_streams": self.skipped_streams,
            "decode_errors": self.source.decode_errors,
            "timestamp_corrections": {k: v for rec in self.recorders
                                      for k, v in rec.corrections.items()},
            "notes": self.notes,
        }
        data.update(self.source.report())
        if self.source.duration_limit is not None:  # -t on a camera or live stream
            data["duration_limit_s"] = self.source.duration_limit
            data["ended_at_duration_limit"] = self.source.limit_reached
        if self.warmup is not None:
            data["warm_frames"] = self.warmup.dropped
        for rec in self.recorders:
            data.update(rec.report())
        data.update(self.processor_reports())
        for fn in self._reporters:
            data.update(fn())
        return data

    def processor_reports(self) -> dict[str, Any]:
        """The processors' own blocks for the stats (a detected exposure pattern, ...)."""
        data: dict[str, Any] = {}
        for proc in self.processors:
            report = getattr(proc, "report", None)
            if callable(report):
                data.update(report())
        return data

    def processor_notes(self) -> list[str]:
        """What the processors said as they ran (a bracket found, a clip passed through)."""
        return [n for proc in self.processors for n in getattr(proc, "notes", []) or []]

    def __repr__(self) -> str:
        return (f"Session({self.source!r}, mode={self.mode}, processors={self.processors!r}, "
                f"sinks={self.tee.sinks!r})")


def transcode(
    input: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    config: Config | None = None,
    overwrite: bool = False,
    on_progress: Callable[[PipelineStats], Any] | None = None,
) -> PipelineStats:
    """Process ``input`` into ``output``; returns the run's stats.

    Parameters
    ----------
    input : str
        File path, URL or ``lavfi:<graph>``.
    output : path-like
        File to write; refused if it exists unless ``overwrite``.
    config : Config, optional
        From :func:`vidclear.load_config`; defaults to a plain copy.

    Raises
    ------
    InputError, OutputError, ConfigError
        See :meth:`Session.open`.

    Returns
    -------
    PipelineStats
        ``stats.snapshot()`` holds the pipeline's figures, ``stats.report``
        what ``--stats`` writes besides them (:meth:`Session.report`: notes,
        a detected exposure pattern, ...).

    Warns
    -----
    UserWarning
        A processor took frames it never gave back (they are not in
        ``output``; ``stats.processors_kept`` counts them): the CLI warns of
        it, and this said nothing (trial 77). A processor's warning as it
        ran (typed exposures the video contradicts, ...). The other lines
        the CLI prints as notes (a bracket found, a video passed through
        unchanged, an output setting changed) go to the ``vidclear`` logger
        at INFO (they were nowhere: trial 85).
    """
    session = Session.open(input, output, config=config, overwrite=overwrite)
    log = logging.getLogger("vidclear")

    def event(text: str) -> None:
        if "warning:" in text:
            warnings.warn(text, UserWarning, stacklevel=2)
        else:
            log.info("%s", text)

    session.on_processor_event(event)
    stats = session.run(on_progress=on_progress, signals=False)
    for note in session.notes:
        log.info("%s", note)
    for name, n in stats.processors_kept.items():
        warnings.warn(f"processor {name} took {n} frame{'s' if n != 1 else ''} it never gave "
                      f"back: not in {output}", UserWarning, stacklevel=2)
    stats.report = session.report()
    return stats
