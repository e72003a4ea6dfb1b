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
- runs the threaded :class:`~vidclear.pipeline.Pipeline`, turning SIGINT and
  SIGTERM into a graceful stop (a second signal aborts the queue);
- closes the source and whatever else it was given to close.

>>> from vidclear import load_config, transcode
>>> stats = transcode("drive.mp4", "clear.mp4", config=load_config(preset="dashcam"))
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from vidclear._version import __version__
from vidclear.config.loader import Config
from vidclear.core import registry
from vidclear.core.frame import Frame
from vidclear.core.processor import Processor
from vidclear.core.sink import Sink
from vidclear.core.source import Source
from vidclear.errors import ConfigError
from vidclear.io.sinks.encoder import EncoderSink, check_output_path
from vidclear.io.sinks.tee import TeeSink
from vidclear.io.sources import classify_input, open_source
from vidclear.pipeline.runner import Pipeline
from vidclear.pipeline.stats import PipelineStats

__all__ = ["Session", "WarmupSink", "build_processors", "transcode"]

MODES = ("file", "live")


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
    outputs : sequence of path-like
        Files to encode to (an :class:`~vidclear.io.sinks.EncoderSink` each,
        written atomically). The first also receives the source's
        passed-through audio, subtitle and data packets.
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
        self.outputs = [Path(p) for p in outputs]
        self.recorders: list[EncoderSink] = []
        self._reporters: list[Callable[[], dict[str, Any]]] = []
        self._on_close = list(on_close)
        self._quit = False
        self._label = label
        try:
            info = source.info
            for i, path in enumerate(self.outputs):
                check_output_path(path, inputs=[source.spec], overwrite=overwrite)
                self.recorders.append(EncoderSink(
                    path, config=cfg.output, info=info,
                    side_packets=source.side_packets if i == 0 else None,
                    crash_safe=self.crash_safe))
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
        input: str,
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
    ) -> Session:
        """Open ``input`` and assemble a session writing ``output``.

        Everything that can be checked before opening is checked first
        (processor names and settings, the output path), so a bad argument
        fails before any file is created.

        Parameters
        ----------
        input : str
            A file, URL, ``camera:N`` / ``/dev/videoN`` or ``lavfi:<graph>``.
        output : path-like, optional
            The file to write; optional when ``sinks`` (a preview) are given.
        live : bool, optional
            Run live (drop oldest, reconnect, pace graphs). Default: by
            ``pipeline.mode``, else live for URLs and cameras.
        sinks : sequence of Sink, or callable
            Further sinks (previews), or a function that makes them once the
            source is open (so a preview is not served before there is input).
        processors : sequence of Processor, optional
            Use these instead of building ``config.pipeline.processors``.
        on_event : callable, optional
            One-line reports from a reconnecting stream.
        """
        cfg = config or Config()
        outputs = [Path(output)] if output is not None else []
        for path in outputs:
            check_output_path(path, inputs=[input], overwrite=overwrite)
        procs = list(processors) if processors is not None else build_processors(cfg)
        if live is None:
            live = cfg.pipeline.mode == "live" or (
                cfg.pipeline.mode == "auto" and classify_input(input) in ("url", "camera"))
        mode = "live" if live and cfg.pipeline.mode == "auto" else None
        source = open_source(input, config=cfg.input, live=live,
                             copy_streams=cfg.output.copy_streams, on_event=on_event)
        try:
            extra = sinks(source) if callable(sinks) else sinks
            return cls(source, procs, outputs=outputs, sinks=extra, config=cfg, mode=mode,
                       overwrite=overwrite, on_close=on_close, label=label)
        except BaseException:
            source.close()
            raise

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
            Turn SIGINT/SIGTERM into :meth:`stop` (a second one into
            :meth:`abort`) while running; only from the main thread. Like
            FFmpeg, the output is finalized with every frame processed so far.
        on_signal : callable, optional
            Told the signal number first (to print a line).
        """
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

    def stop(self, *, interrupted: bool = True) -> None:
        """Graceful stop: read no more input, finish what is queued, finalize.

        ``interrupted=False`` (quitting a preview) counts as a normal end.
        """
        self._quit = not interrupted
        self.pipeline.stop()

    def abort(self) -> None:
        """Drop what is queued and finalize at once."""
        self.pipeline.abort()

    @contextlib.contextmanager
    def _signals(self, enabled: bool,
                 on_signal: Callable[[int], Any] | None) -> Iterator[None]:
        if not enabled or threading.current_thread() is not threading.main_thread():
            yield
            return
        count = 0

        def handler(signum: int, _frame: Any) -> None:
            nonlocal count
            count += 1
            if on_signal is not None:
                on_signal(signum)
            if count == 1:
                self.stop()
            else:
                self.abort()

        old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for s, h in old.items():
                signal.signal(s, h)

    # -- reporting -----------------------------------------------------
    @property
    def output_label(self) -> str:
        """The first output's path, or what the session shows instead."""
        if self.outputs:
            return str(self.outputs[0])
        return self._label or ", ".join(type(s).__name__ for s in self.tee.sinks)

    @property
    def packets_copied(self) -> int:
        return self.tee.packets_copied

    @property
    def skipped_streams(self) -> list[str]:
        return self.tee.skipped_streams

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
        canonical = json.dumps({"config": config, "processors": names}, sort_keys=True,
                               default=str, separators=(",", ":"))
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
        }
        if self.warmup is not None:
            data["warm_frames"] = self.warmup.dropped
        for fn in self._reporters:
            data.update(fn())
        return data

    def __repr__(self) -> str:
        return (f"Session({self.source!r}, mode={self.mode}, processors={self.processors!r}, "
                f"sinks={self.tee.sinks!r})")


def transcode(
    input: str,
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
    """
    session = Session.open(input, output, config=config, overwrite=overwrite)
    return session.run(on_progress=on_progress, signals=False)
