"""One input to one output with one config: the unit the CLI (and batches) run.

>>> from vidclear import load_config, transcode
>>> stats = transcode("drive.mp4", "clear.mp4", config=load_config(preset="dashcam"))
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from vidclear.config.loader import Config
from vidclear.io.sinks.encoder import EncoderSink, check_output_path
from vidclear.io.sources.av_source import AVSource
from vidclear.pipeline import registry
from vidclear.pipeline.processor import Processor
from vidclear.pipeline.runner import Pipeline
from vidclear.pipeline.stats import PipelineStats

__all__ = ["Job", "build_processors", "graceful_signals", "transcode"]


def build_processors(config: Config) -> list[Processor]:
    """Instantiate the processor chain named in ``config.pipeline.processors``."""
    return [registry.get(name)(config.processor_config(name))
            for name in config.pipeline.processors]


class Job:
    """An opened source, processor chain and sink, ready to :meth:`run`.

    Opening validates everything first (config, output path, input, encoder),
    so a bad argument fails before any output file is created.
    """

    def __init__(
        self,
        input: str,
        output: str | os.PathLike[str],
        *,
        config: Config | None = None,
        overwrite: bool = False,
    ) -> None:
        self.config = config or Config()
        self.output = Path(output)
        check_output_path(self.output, inputs=[input], overwrite=overwrite)
        self.processors = build_processors(self.config)
        self.source = AVSource(input, config=self.config.input,
                               copy_streams=self.config.output.copy_streams)
        try:
            mode = self.config.pipeline.mode
            if mode == "auto":
                mode = "live" if self.source.is_live else "file"
            crash = self.config.output.crash_safe
            crash_safe = crash == "on" or (crash == "auto" and self.source.is_live)
            self.sink = EncoderSink(self.output, config=self.config.output,
                                    source=self.source, crash_safe=crash_safe)
        except BaseException:
            self.source.close()
            raise
        self.pipeline = Pipeline(self.source, self.processors, self.sink,
                                 mode=mode, queue_size=self.config.pipeline.queue_size,
                                 processing_threads=self.config.pipeline.processing_threads)

    def run(self, *, on_progress: Callable[[PipelineStats], Any] | None = None) -> PipelineStats:
        try:
            return self.pipeline.run(on_progress=on_progress)
        finally:
            self.source.close()

    def stop(self) -> None:
        self.pipeline.stop()


@contextlib.contextmanager
def graceful_signals(job: Job, on_signal: Callable[[int], Any] | None = None) -> Iterator[None]:
    """Turn SIGINT/SIGTERM into a graceful stop (a second one aborts the queue).

    Like FFmpeg, the output is finalized with every frame processed so far.
    Only installs handlers when called from the main thread.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    count = 0

    def handler(signum: int, _frame: Any) -> None:
        nonlocal count
        count += 1
        if on_signal is not None:
            on_signal(signum)
        if count == 1:
            job.stop()
        else:
            job.pipeline.abort()

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


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
    """
    job = Job(input, output, config=config, overwrite=overwrite)
    return job.run(on_progress=on_progress)
