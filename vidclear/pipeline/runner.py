"""The threaded runner: decode, process and encode overlap on three threads."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from vidclear.core.frame import Frame
from vidclear.core.processor import Processor
from vidclear.core.signals import call_until
from vidclear.core.sink import Sink
from vidclear.errors import ConfigError, ProcessorError
from vidclear.pipeline.channel import Cancelled, Channel
from vidclear.pipeline.stats import BURST_SHARE, PipelineStats, StageStats, jit_seconds

__all__ = ["Pipeline"]

# After an abort, how long run() waits for each of the decode and process
# threads once the encoder has finished (seconds)
_ABORT_GRACE_S = 0.5
# After a graceful stop, how long run() waits for a source that may block in a
# read (a live stream gone silent: FFmpeg waits out input.timeout) before the
# rest of the pipeline finishes without it (seconds)
_DETACH_S = 1.0


class Pipeline:
    """Run frames from ``source`` through ``processors`` into ``sink``.

    Decoding, processing and encoding run on their own threads, joined by
    bounded :class:`~vidclear.pipeline.channel.Channel` objects. In ``"file"``
    mode a full channel blocks its producer (backpressure, no frame is ever
    dropped). In ``"live"`` mode a full channel drops its oldest frame, so the
    output never falls behind; every drop is counted in the stats.

    Parameters
    ----------
    source : iterable of Frame
        Usually an :class:`~vidclear.io.sources.AVSource`. If it has a
        ``stop()`` method, :meth:`stop` calls it.
    processors : sequence of Processor
        Applied in order to every frame.
    sink : Sink
        Receives the processed frames; :meth:`run` closes it.
    mode : {"file", "live"}
        Flow policy.
    queue_size : int
        Frames each channel holds.
    processing_threads : int
        Numba threads of the processing stage; 0 picks half the cores in
        file mode (the codec threads use the rest) and all in live mode.

    Notes
    -----
    Numba kernels release the GIL, so processing overlaps with FFmpeg's
    decoding and encoding (which release it too).
    """

    def __init__(
        self,
        source: Iterable[Frame],
        processors: Sequence[Processor],
        sink: Sink,
        *,
        mode: str = "file",
        queue_size: int = 4,
        processing_threads: int = 0,
    ) -> None:
        if mode not in ("file", "live"):
            raise ConfigError(f"pipeline.mode = {mode!r} is not allowed: expected file or live")
        self.source = source
        self.processors = list(processors)
        self.processing_threads = processing_threads
        self.sink = sink
        self.mode = mode
        live = mode == "live"
        self._decoded: Channel[Frame] = Channel(queue_size, drop_oldest=live)
        self._processed: Channel[Frame] = Channel(queue_size, drop_oldest=live)
        self.stats = PipelineStats(mode=mode)
        for name in ("decode", "process", "encode"):
            self.stats.stage(name)
        self._errors: list[BaseException] = []
        self._stopping = threading.Event()
        self._stopped_at: float | None = None
        self._aborted = threading.Event()
        self._detached = threading.Event()  # the reader was left blocked in its source
        # per processor: its calls, counted like a stage's frames (JIT warm-up apart)
        self._proc_stats = [StageStats(repr_name(p, i)) for i, p in enumerate(self.processors)]
        # frames into and out of each processor (flush() included), to name one
        # that never gives some back
        self._proc_in = [0] * len(self.processors)
        self._proc_out = [0] * len(self.processors)
        # the latest time (s) into and out of each processor, to tell a frame it
        # hands back late from a clock restart passing through it
        self._time_in: list[float | None] = [None] * len(self.processors)
        self._time_out: list[float | None] = [None] * len(self.processors)
        # where each processor's input clock last started again (s), until a frame
        # of that new clock has come out of it (a processor may delay frames)
        self._restart: list[float | None] = [None] * len(self.processors)

    # -- control ---------------------------------------------------------
    def stop(self) -> None:
        """Graceful stop: read no more input, finish what is queued, finalize.

        A source that blocks in a read (``detachable``: a live stream gone
        silent, whose read FFmpeg ends only after ``input.timeout``) is left
        to end by itself after :data:`_DETACH_S`: Ctrl-C waited the whole
        timeout, 9 s by default (trial 78 F1).
        """
        if self._stopped_at is None:
            self._stopped_at = time.monotonic()
        self._stopping.set()
        stop = getattr(self.source, "stop", None)
        if stop is not None:
            stop()

    def abort(self) -> None:
        """Immediate stop: drop what is queued; frames written so far are kept.

        :meth:`run` then waits for the encoder only, not for a stage that
        cannot be interrupted (a first run compiling its kernels for a
        minute): that stage's thread is left to end with the process.
        """
        self._aborted.set()
        self.stop()
        self._decoded.cancel()
        self._processed.cancel()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    # -- threads ---------------------------------------------------------
    def _guard(self, fn: Callable[[], None], out: Channel[Frame] | None) -> Callable[[], None]:
        def body() -> None:
            try:
                fn()
            except Cancelled:
                pass
            except BaseException as exc:
                self._errors.append(exc)
                self._decoded.cancel()
                self._processed.cancel()
            finally:
                if out is not None:
                    out.close()

        return body

    def _read(self) -> None:
        st = self.stats.stage("decode")
        it = iter(self.source)
        last: tuple[float, float] | None = None  # the previous frame's capture and media time
        run = 1  # frames in the burst the last one came in
        while not self._stopping.is_set():
            t0 = time.perf_counter()
            waited = getattr(self.source, "paced_s", 0.0)  # a paced source's waiting
            try:
                frame = next(it)
            except StopIteration:
                return
            # waiting for the frame's time is no decoding
            waited = getattr(self.source, "paced_s", 0.0) - waited
            st.add(max(time.perf_counter() - t0 - waited, 0.0))
            if frame.meta.get("damaged"):
                self.stats.add_damaged(frame.time)
            else:
                self.stats.after_damage += 1
            captured, media = frame.meta.get("capture_time"), frame.time
            if self.mode == "live" and captured is not None and media is not None:
                now = (float(captured), media)
                if last is not None and 0 < now[1] - last[1] and (
                        now[0] - last[0] < BURST_SHARE * (now[1] - last[1])):
                    self.stats.burst_frames += 1
                    run += 1
                    self.stats.longest_burst = max(self.stats.longest_burst, run)
                else:
                    run = 1
                last = now
            try:
                self._decoded.put(frame)
            except RuntimeError:  # the run finished without this blocked read
                if self._detached.is_set():
                    return
                raise
            st.queue_depth, st.queue_max = self._decoded.depth, self._decoded.max_depth
            st.drops = self._decoded.drops
        if self.mode == "live":
            self._put_held()
        after = getattr(self.source, "after_stop", None)
        if after is not None and not self._detached.is_set():
            after()  # stopped: what the input holds of its last frames' sound

    def _apply(self, frames: list[Frame], start: int) -> list[Frame]:
        for i in range(start, len(self.processors)):
            proc = self.processors[i]
            jit0 = jit_seconds()
            t0 = time.perf_counter()
            self._proc_in[i] += len(frames)
            frames = [self._late(i, f, g) for f in frames
                      if (g := _checked(proc, proc(f))) is not None]
            self._proc_out[i] += len(frames)
            self._proc_stats[i].add(time.perf_counter() - t0, compiled=jit_seconds() - jit0)
            if not frames:
                break
        return frames

    def _late(self, i: int, given: Frame, out: Frame) -> Frame:
        """``out``, marked ``meta["late"]`` when processor ``i`` handed it back before a
        frame it gave already while its input ran on (``given`` no earlier than the
        frame before it).

        The encoder re-times such a frame just after the one before; a step back
        of the input's own clock (a Matroska file that restarts it) passes
        through unmarked and is re-based there. Unmarked, a processor's frame
        from 9 frames back in an MP4 was taken for a join, and the rest of the
        picture ran 0.36 s behind its sound (trial 76).
        """
        t_in, t_out = given.time, out.time
        if t_in is not None:
            before = self._time_in[i]
            if before is not None and t_in < before:
                self._restart[i] = t_in  # the input's clock started again here
            self._time_in[i] = t_in
        last, restart = self._time_out[i], self._restart[i]
        if t_out is None:
            return out
        if last is not None and t_out < last:
            if restart is not None and t_out >= restart:
                self._restart[i] = None  # the new clock has come through (delayed or not)
            else:
                out.meta = {**{k: v for k, v in out.meta.items() if k != "output_time"},
                            "late": True}
                return out
        self._time_out[i] = t_out
        return out

    def _threads_for_processing(self) -> int:
        """Numba threads for the processing thread (see ``pipeline.processing_threads``)."""
        if self.processing_threads:
            return self.processing_threads
        cores = os.cpu_count() or 1
        # In file mode the decoder and the encoder keep the other cores busy, so a
        # processor that spreads over every core only competes with them. A live
        # run leaves them one core: on 2 cores with one other busy process, two
        # workers took 7.4 ms a frame and dropped 15 frames in 5 s, one 4.3 ms and 7.
        return max(1, cores - 1) if self.mode == "live" else max(1, cores // 2)

    def _process(self) -> None:
        import numba  # the processors' kernels; the setting is per thread

        most = int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]
        numba.set_num_threads(min(self._threads_for_processing(), most))
        st = self.stats.stage("process")
        for frame in self._decoded:
            t0 = time.perf_counter()
            outs = self._apply([frame], 0)
            st.add(time.perf_counter() - t0)
            for out in outs:
                self._processed.put(out)
            st.queue_depth, st.queue_max = self._processed.depth, self._processed.max_depth
            st.drops = self._processed.drops
        # End of stream: drain every processor in order, feeding what each
        # releases through the ones after it.
        for i, proc in enumerate(self.processors):
            held = [g for f in proc.flush() if (g := _checked(proc, f)) is not None]
            self._proc_out[i] += len(held)
            for out in self._apply(held, i + 1):
                self._processed.put(out)
        if not self._stopping.is_set():  # a stopped run need not have drained them
            # a processor holding frames whose flush() gives back fewer lost them
            # without a word: "dropped 0" (trial 76)
            self.stats.processors_kept = {
                st.name: n_in - n_out for st, n_in, n_out
                in zip(self._proc_stats, self._proc_in, self._proc_out, strict=True)
                if n_in > n_out}

    def _write(self) -> None:
        st = self.stats.stage("encode")
        for frame in self._processed:
            t0 = time.perf_counter()
            self.sink.write(frame)
            now = time.perf_counter()
            if frame.meta.get("dropped_at_output"):
                # left out by the output itself (a constant-rate container's
                # taken tick): dropped, not written
                st.add(now - t0, frames=0)
                st.drops += 1
                continue
            st.add(now - t0)
            captured = frame.meta.get("capture_time")
            if captured is not None:
                self.stats.add_latency(time.monotonic() - captured)
            ticks = frame.meta.get("duration")
            self.stats.add_media_time(frame.time, float(ticks * frame.time_base)
                                      if ticks and frame.time_base else 0.0)

    # -- running ---------------------------------------------------------
    def run(
        self,
        *,
        on_progress: Callable[[PipelineStats], Any] | None = None,
        interval: float = 0.25,
    ) -> PipelineStats:
        """Run to the end of the source (or :meth:`stop`) and close the sink.

        Returns
        -------
        PipelineStats
            Final counters. ``stats.interrupted`` is True after :meth:`stop`.

        Raises
        ------
        Exception
            The first error any stage raised; the sink is then aborted.
        """
        if self.mode == "live":  # before the source's clock starts: no frames dropped meanwhile
            self._warm_up()
        threads = [
            threading.Thread(target=self._guard(self._read, self._decoded), name="vc-decode"),
            threading.Thread(target=self._guard(self._process, self._processed), name="vc-process"),
            threading.Thread(target=self._guard(self._write, None), name="vc-encode"),
        ]
        self.stats.started_s = time.perf_counter()
        for t in threads:
            t.daemon = True
            t.start()
        try:
            while any(t.is_alive() for t in threads[self._detached.is_set():]):
                if self._aborted.is_set() and not threads[-1].is_alive():
                    for t in threads[:-1]:
                        t.join(_ABORT_GRACE_S)
                    break
                threads[-1].join(interval)
                self._detach_blocked_reader(threads[0])
                if on_progress is not None:
                    self._update_processor_stats()
                    on_progress(self.stats)
        except BaseException:
            self.abort()
            for t in threads:
                t.join()
            self.sink.abort()
            raise
        self.stats.ended_s = time.perf_counter()
        self.stats.interrupted = self._stopping.is_set()
        self._update_processor_stats()
        if self._errors:
            self.sink.abort()
            raise self._errors[0]
        self.sink.close(complete=not self.stats.interrupted)
        return self.stats

    def _warm_up(self) -> None:
        """The processors' :meth:`~vidclear.core.Processor.warm_up`, given up on a stop.

        A first run compiles its kernels there (half a minute on two cores),
        and Ctrl-C, twice too, waited for it: 24 s from the signal to the
        exit (trial 80 F3). It runs through
        :func:`~vidclear.core.signals.call_until`; a stop leaves it to end with
        the process, and the run finishes with what it has (nothing).

        Raises
        ------
        Exception
            What a processor's warm-up raised.
        """
        def warm() -> None:
            for proc in self.processors:
                proc.warm_up()

        call_until(warm, self._stopping.is_set)

    def _detach_blocked_reader(self, reader: threading.Thread) -> None:
        """End the decoded stream without a reader still blocked :data:`_DETACH_S` after a stop."""
        if (self._stopped_at is None or self._detached.is_set() or not reader.is_alive()
                or not getattr(self.source, "detachable", False)
                or time.monotonic() - self._stopped_at < _DETACH_S):
            return
        self._put_held()  # (the blocked read holds no frame: the decoder's are safe to take)
        self._detached.set()
        self._decoded.close()

    def _put_held(self) -> None:
        """Queue the frames a stopped live source's decoder holds (:meth:`Source.held`).

        They are of data already received: a Ctrl-C after a UDP sender had
        stopped lost the last 6 frames unsaid (trial 144 F1). Once: a second
        call finds none.
        """
        held = getattr(self.source, "held", None)
        t0 = time.perf_counter()
        frames = held() if held is not None and self._stopping.is_set() else []
        if frames:  # read, as the reading thread counts its frames
            self.stats.stage("decode").add(time.perf_counter() - t0, frames=len(frames),
                                           compiled=0.0)
        st = self.stats.stage("decode")
        for frame in frames:
            if frame.meta.get("damaged"):
                self.stats.add_damaged(frame.time)
            try:
                self._decoded.put(frame)
            except RuntimeError:  # closed meanwhile
                return
            finally:  # a frame the latest-frame flow pushed out is counted as dropped
                st.drops = self._decoded.drops

    def _update_processor_stats(self) -> None:
        """ms per call of each processor, without the calls that waited for the JIT."""
        self.stats.processors_ms = {st.name: st.ms_per_frame() for st in self._proc_stats}


def _checked(proc: Processor[Any], out: object) -> Frame | None:
    """``out`` if it is a Frame (holding H×W×3 uint8 or uint16 RGB, when it holds an
    image) or None; a ProcessorError naming the processor otherwise."""
    name = getattr(proc, 'name', '') or type(proc).__name__
    if out is None:
        return out
    if not isinstance(out, Frame):
        hint = " (wrap an image with frame.replace(image))" if hasattr(out, "shape") else ""
        raise ProcessorError(f"processor {name} returned {type(out).__name__}, "
                             f"expected a Frame or None{hint}")
    image = out._image  # only what the processor set: a decoded frame converts on demand
    if image is None:
        return out
    if not isinstance(image, np.ndarray):
        raise ProcessorError(f"processor {name} returned a Frame whose image is "
                             f"{type(image).__name__}, expected an H×W×3 uint8 or uint16 array")
    if image.ndim != 3 or image.shape[2] != 3 or 0 in image.shape:
        raise ProcessorError(f"processor {name} returned an image of shape {image.shape}, "
                             "expected H×W×3 RGB")
    if image.dtype not in (np.uint8, np.uint16):
        hint = (" (scale and convert it, e.g. np.clip(img * 255, 0, 255).astype(np.uint8))"
                if image.dtype.kind == "f" else "")
        raise ProcessorError(f"processor {name} returned an image of dtype {image.dtype}, "
                             f"expected uint8 or uint16{hint}")
    return out


def repr_name(proc: Processor, index: int) -> str:
    return f"{index}:{getattr(proc, 'name', '') or type(proc).__name__}"
