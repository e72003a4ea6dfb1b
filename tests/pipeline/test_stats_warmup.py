"""JIT warm-up is kept out of the stats' figures and reported on its own."""

from __future__ import annotations

import time
from fractions import Fraction

import numba
import numpy as np

from vidclear.core import Frame, Processor
from vidclear.io import NullSink
from vidclear.pipeline import Pipeline
from vidclear.pipeline.stats import jit_seconds


def frames(n: int):
    for i in range(n):
        yield Frame(np.full((8, 8, 3), i % 256, np.uint8), pts=i, time_base=Fraction(1, 30),
                    meta={"index": i, "capture_time": time.monotonic()})


def _fresh_kernel():
    """A new Numba function (no on-disk cache): its first call compiles."""

    @numba.njit(cache=False)
    def brighten(img, k):
        out = np.empty_like(img)
        for i in range(img.shape[0]):
            for j in range(img.shape[1]):
                for c in range(img.shape[2]):
                    out[i, j, c] = min(255, img[i, j, c] + k)
        return out

    return brighten


class Jitted(Processor):
    name = "jitted_test"

    def __init__(self, kernel) -> None:
        super().__init__()
        self.kernel = kernel

    def __call__(self, frame: Frame) -> Frame:
        time.sleep(0.002)
        return frame.replace(self.kernel(frame.image, 1))


def test_the_frame_that_compiles_is_warmup_and_stays_out_of_the_figures():
    kernel = _fresh_kernel()
    stats = Pipeline(frames(30), [Jitted(kernel)], NullSink(), queue_size=4).run()
    snap = stats.snapshot()
    warm = snap["warmup"]
    assert warm["frames"] == 1
    assert warm["jit_s"] > 0.05  # compiling even a tiny kernel takes this long
    assert warm["first_frame_ms"] >= 1000 * warm["jit_s"]
    # Frames queued behind the compile are reported with it, not in the percentiles.
    assert warm["frames_waiting"] >= 1
    assert warm["latency_max_ms"] >= 1000 * warm["jit_s"]
    assert snap["latency_ms"]["max"] < 1000 * warm["jit_s"]
    assert snap["frames_out"] == 30
    # ms_per_frame is the steady cost (2 ms sleep + a microsecond kernel), not the compile.
    proc = snap["stages"]["process"]
    assert proc["warmup_frames"] == 1
    assert 1.5 < proc["ms_per_frame"] < 1000 * warm["jit_s"] / 2
    assert snap["fps_after_warmup"] > snap["fps"]
    # ... and so is each processor's figure: the compiling call is left out
    # (with it, the mean over 30 calls would be at least jit_s / 30 more)
    ms = snap["processors_ms_per_frame"]["0:jitted_test"]
    assert 1.5 < ms < 2 + 1000 * warm["jit_s"] / 30
    assert ms < proc["ms_per_frame"] + 1.0


def test_a_second_run_with_compiled_kernels_has_no_warmup():
    kernel = _fresh_kernel()
    kernel(np.zeros((2, 2, 3), np.uint8), 1)  # compiled here, before the run
    snap = Pipeline(frames(10), [Jitted(kernel)], NullSink()).run().snapshot()
    assert snap["warmup"] == {}
    assert "warmup_frames" not in snap["stages"]["process"]
    assert snap["fps_after_warmup"] == snap["fps"]


def test_jit_seconds_counts_this_threads_compiles_only():
    before = jit_seconds()
    kernel = _fresh_kernel()
    kernel(np.zeros((2, 2, 3), np.uint8), 1)
    after = jit_seconds()
    assert after - before > 0.05
    kernel(np.zeros((3, 3, 3), np.uint8), 2)  # same types: no compile
    assert jit_seconds() == after


def test_the_report_marks_the_same_frames_the_stats_leave_out(tmp_path):
    from vidclear.io.sinks.report import ReportSink
    from vidclear.io.sinks.tee import TeeSink

    report = ReportSink(tmp_path / "rep")
    pipe = Pipeline(frames(30), [Jitted(_fresh_kernel())], TeeSink([NullSink(), report]),
                    queue_size=4)
    report.describe({}, stats=pipe.stats)
    snap = pipe.run().snapshot()
    from vidclear.io.sinks.report import _COLUMNS

    warm_at = _COLUMNS.index("jit_warmup")
    marked = [row[warm_at] for row in report.rows]
    warm = snap["warmup"]
    assert sum(marked) == warm["frames_waiting"] >= 2  # the compiling frame and its queue
    assert marked[: sum(marked)] == [True] * sum(marked)  # all at the start here
    assert (tmp_path / "rep" / "timeline.png").stat().st_size > 10_000
    # the page counts the same frames as the plot and frames.csv (it gave the
    # compiling frames alone: 3 where 21 were marked, trial 74)
    page = (tmp_path / "rep" / "report.html").read_text()
    assert (f"over {warm['frames']} frame(s), {warm['frames_waiting']} frame(s) in flight "
            "meanwhile") in page


def test_a_later_compile_marks_only_the_frames_in_flight_during_it():
    # A kernel first used (loaded from the cache) a second into a run marked
    # every frame before it as waiting for the JIT: 21 frames on the report
    # where the warm-up counted 3 (trial 74).
    from vidclear.pipeline.stats import PipelineStats

    stats = PipelineStats()
    stage = stats.stage("process")
    before = time.monotonic()
    stage.add(0.02, compiled=0.015)  # the first frame compiles: a span ending now
    first_end = time.monotonic()
    time.sleep(0.05)
    between = time.monotonic()  # a frame entering and done between the two compiles
    assert not stats.waited_for_jit(between, between + 0.001)
    time.sleep(0.05)
    stage.add(0.01, compiled=0.004)  # a later first use
    assert stats.waited_for_jit(before - 0.01, first_end)  # queued behind the first
    assert stats.waited_for_jit(between)  # in flight during the second (done now)
    assert not stats.waited_for_jit(between, between + 0.001)
    assert stage.warm_frames == 2
