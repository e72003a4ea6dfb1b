"""Progress bar and end-of-run summary for long commands."""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm

from vidclear.io.sinks.paths import STDOUT_NAMES
from vidclear.pipeline.stats import PipelineStats, seconds_text

__all__ = ["Progress", "burst_note", "summary_line"]


class Progress:
    """A tqdm bar fed from :class:`PipelineStats`: frames, fps, speed, ETA."""

    def __init__(self, *, total: int | None, enabled: bool | None, desc: str = "vidclear") -> None:
        # enabled=None lets tqdm decide: on for a terminal, off for pipes and logs.
        self.bar = tqdm(total=total, unit="f", desc=desc, disable=None if enabled is None
                        else not enabled, dynamic_ncols=True, file=sys.stderr, leave=True)

    def __call__(self, stats: PipelineStats) -> None:
        done = stats.frames_out
        if done > self.bar.n:
            self.bar.update(done - self.bar.n)
        post: dict[str, Any] = {"fps": f"{stats.frames_out / max(stats.wall_s, 1e-9):.1f}",
                                "speed": f"{stats.speed:.2f}x"}
        if stats.dropped:
            post["dropped"] = stats.dropped
        self.bar.set_postfix(post, refresh=False)

    def close(self, stats: PipelineStats | None = None) -> None:
        if stats is not None:
            self(stats)
        self.bar.close()


def damaged_line(stats: PipelineStats) -> str:
    """The damaged frames of a run in one line: how many, where, and a cut-short hint."""
    return damaged_text(stats.damaged, stats.damaged_times(), stats.damaged_at_end)


def damaged_text(n: int, at: list[float], at_end: bool) -> str:
    """``n`` damaged frames, the first at ``at`` seconds of the output, in one line."""
    where = ", ".join(f"{t:.2f}" for t in at) + (", ..." if n > len(at) else "")
    text = (f"{n} frame{'s' if n != 1 else ''} decoded with errors the decoder concealed "
            f"(damaged input data){f' at {where} s of the output' if at else ''}")
    if at_end:
        text += "; the last is among the final frames: the input may be cut short"
    return text


def burst_note(stats: PipelineStats, queue_size: int) -> str:
    """Why a live run dropped many frames, when its input came in bursts ('' otherwise).

    A stream that delivers a few frames at once (an MPEG-TS muxer's
    interleaving over UDP: up to 250 ms apart) loses all but the newest of
    each burst to the latest-frame flow, on an idle machine too: the webcam
    preset kept 176 of 447 frames and nothing said why (trial 78 F5). Said
    for any drop of such an input: 13 of 150 frames went unexplained under
    a 10 % threshold (trial 112 F2).
    """
    frames = stats.stages["decode"].frames if "decode" in stats.stages else 0
    longest = stats.longest_burst
    if (stats.mode != "live" or not frames or not stats.dropped
            or (stats.burst_frames < 0.25 * frames and longest <= queue_size)):
        return ""
    # a queue as long as the longest burst keeps it: a probe's backlog of 19
    # frames lost 18 under the dashcam preset's 8, without a word (trial 158 F1)
    need = max(8, longest)
    if queue_size >= need:
        return ""
    return (f"{stats.burst_frames} of the {frames} frames read came in bursts (much sooner "
            f"after the one before than their times are apart; the longest brought {longest} "
            f"frames at once, its first included): the latest-frame flow "
            f"(pipeline.queue_size = {queue_size}) keeps the newest of each, which is where the "
            f"drops come from; --set pipeline.queue_size={need} keeps them, at the cost of "
            "latency")


def summary_line(stats: PipelineStats, output: str, *, unsent: int = 0) -> str:
    """The run's last line: frames written, time, speed, drops, latency.

    ``unsent`` frames went to a network output no receiver took: they are
    not counted as written.
    """
    snap = stats.snapshot()
    lat = snap["latency_ms"]
    # a preview alone (labelled "http preview", "window preview") writes no file
    shown = output.endswith(" preview")
    written = max(snap["frames_out"] - unsent, 0)
    held = f" ({unsent} not sent)" if unsent else ""
    parts = [
        f"{written} frame{'s' if written != 1 else ''} "
        f"{'in the' if shown else 'to'} "
        f"{'standard output' if output in STDOUT_NAMES else output}{held}",
        f"in {seconds_text(snap['wall_s'])}",
        f"{snap['fps']:.1f} fps",
        f"dropped {snap['dropped']}",
    ]
    if snap["speed"] > 0:  # a single frame (a picture) spans no media time
        parts.insert(3, f"{snap['speed']:.2f}x real time")
    if snap["frames_absorbed"] and snap["interrupted"]:
        # Decoded but still queued or in a processor when the run stopped.
        parts.append(f"{snap['frames_absorbed']} of {snap['frames_in']} decoded frames were "
                     "still in the pipeline and not written")
    elif snap["frames_absorbed"]:
        parts.append(f"{snap['frames_absorbed']} of {snap['frames_in']} input frames absorbed "
                     "by processors")
    if lat:
        parts.append(f"latency p50 {lat['p50']:.0f} ms")
    warm = snap["warmup"]
    if warm and warm["jit_s"] >= 0.5:
        # the frames processed while compiling leave that fps; those that
        # waited for them, the latency (it said 2 for both where 10 waited:
        # trial 86)
        waiting = warm.get("frames_waiting", warm["frames"])
        parts.append(f"{snap['fps_after_warmup']:.1f} fps without {warm['jit_s']:.1f} s of JIT "
                     f"warm-up ({warm['frames']} frame(s); {waiting} that waited for it are "
                     "left out of the latency figures)")
    verb = "showed " if shown else "wrote "
    prefix = "interrupted: " + verb if snap["interrupted"] else verb
    return prefix + ", ".join(parts)
