"""``vidclear compile``: compile and cache every Numba kernel now, on all cores.

vidclear's kernels are compiled by Numba on first use and cached on disk
(``cache=True``, next to the package or in ``NUMBA_CACHE_DIR``). The first
run of each processor therefore waits for its compile (a minute or two on
two cores). This command does all of that ahead of time, one process per
group of processors, so it takes about as long as the slowest group rather
than the sum: run it when building a container image, on each machine of a
batch cluster, or before a test run.

It works by running every built-in processor on a few tiny synthetic frames
(RGB 8 and 16 bit, and decoded YUV 4:2:0 frames) and the still HDR functions
on a synthetic bracket, exactly the code paths real frames take; kernels it
does not reach still compile on first use.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import IO, Any

from vidclear._numba_cache import writable
from vidclear.core.signals import stop_signals
from vidclear.errors import OutputError

__all__ = ["GROUPS", "add_parser", "exit_with_parent", "run", "warm_group"]

# Processor chains per group, each a sequence of (processor, settings), run
# on every kind of frame. Groups share few kernels, so their processes do
# not compile the same thing twice; the slowest (dehaze) comes first. The
# settings reach paths the defaults skip on a short synthetic clip: the
# dehazer's tone curve (every pixel through RGB on the YUV path), the other
# video tone mapper, motion compensation. synth_bracket's own pattern is
# typed for hdr_bracket: detecting it would take more frames.
_BRACKET = {"exposures": (0.25, 1.0, 4.0)}
Chain = tuple[tuple[str, dict[str, Any]], ...]
GROUPS: dict[str, tuple[Chain, ...]] = {
    "dehaze": ((("dehaze", {}),), (("dehaze", {"brightness": 1.0}),),
               (("synth_haze", {}), ("dehaze_debug", {}))),
    "hdr video": ((("synth_bracket", {}), ("hdr_bracket", _BRACKET)),
                  (("synth_bracket", {}), ("hdr_bracket", {**_BRACKET, "tonemap": "durand",
                                                           "flow": True}))),
    "enhance": ((("ace", {}),), (("msrcr", {}),), (("clahe", {}),),
                (("histeq", {}), ("side_by_side", {}))),
    "hdr stills": (),
}
_FRAMES = 6  # enough for the temporal paths (trackers, a bracket merged twice)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compile", help="compile and cache every kernel now (images, clusters, CI)",
        description="Compile and cache every Numba kernel now, one process per group of "
                    "processors, instead of on each processor's first use (a minute or two "
                    "on two cores). For container images, the machines of a batch cluster "
                    "and test runs. The cache lives next to the package, or in "
                    "NUMBA_CACHE_DIR when set.",
        epilog="""\
examples:
  vidclear compile                        # one process per core
  vidclear compile -j 1                   # one group after another
  NUMBA_CACHE_DIR=/opt/numba vidclear compile   # cache somewhere shared
""", formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-j", "--jobs", type=int, default=0,
                   help="processes compiling at once (default: the CPU count, at most one "
                        "per group)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=run)


def _frames() -> list[Any]:
    """A short hazy road clip as RGB uint8, RGB uint16 and BT.601 YUV 4:2:0 frames."""
    import numpy as np

    from vidclear.core.convert import rgb_to_av
    from vidclear.core.frame import Frame
    from vidclear.dehaze.synth import synthesize_haze
    from vidclear.io.sources.synthetic import RoadScene

    scene = RoadScene(width=320, height=180)
    frames = []
    for i in range(_FRAMES):
        clear, depth = scene.render_with_depth(i / 30)
        hazy = synthesize_haze(clear, depth=np.minimum(depth / 150.0, 1.0), beta=2.0)
        tb = Fraction(1, 30)
        frames.append([Frame(hazy, pts=i, time_base=tb, meta={"index": i}),
                       Frame(hazy.astype(np.uint16) * 257, pts=i, time_base=tb,
                             meta={"index": i}),
                       Frame(av_frame=rgb_to_av(hazy, "yuv420p"), pts=i, time_base=tb,
                             meta={"index": i})])
    return frames


def _hdr_stills() -> None:
    """The ``vidclear hdr`` path: response, merge, fusion, alignment, every tone mapper."""
    import numpy as np

    from vidclear.hdr import (
        OPERATORS,
        ToneMapper,
        align_mtb,
        camera_response_Debevec1997,
        camera_response_Robertson2003,
        exposure_fusion_Mertens2007,
        merge_Debevec1997,
        merge_Robertson2003,
        synthesize_bracket,
    )

    rng = np.random.default_rng(0)
    radiance = np.exp(rng.normal(0.0, 1.0, (48, 64, 3))).astype(np.float32)
    times = [0.25, 1.0, 4.0]
    bracket = synthesize_bracket(radiance, times)
    aligned, _ = align_mtb(bracket)
    for response in (camera_response_Debevec1997(aligned, times),
                     camera_response_Robertson2003(aligned, times, max_iter=2)):
        hdr = merge_Debevec1997(aligned, times, response=response)
        merge_Robertson2003(aligned, times, response=response)
    exposure_fusion_Mertens2007(aligned)
    for name in OPERATORS:
        ToneMapper(name)(hdr)


def warm_group(name: str) -> float:
    """Compile one group's kernels by running it; returns the seconds it took.

    Raises
    ------
    KeyError
        ``name`` is not in :data:`GROUPS`.
    """
    from vidclear.core import registry

    chains = GROUPS[name]
    t0 = time.perf_counter()
    if name == "hdr stills":
        _hdr_stills()
        _mark(name)
        return time.perf_counter() - t0
    clip = _frames()
    for kind in range(3):  # RGB 8 bit, RGB 16 bit, YUV 4:2:0: each its own kernels
        for chain in chains:
            procs = [registry.get(p)(**params) for p, params in chain]
            for proc in procs:  # what a run does first: its kernels too
                proc.warm_up()
            for frames in clip:
                out = [frames[kind]]
                for proc in procs:  # a processor may hold frames back (bracket detection)
                    out = [g for f in out for g in [proc(f)] if g is not None]
            for i, proc in enumerate(procs):  # and hand them over at the end
                out = proc.flush()
                for later in procs[i + 1:]:
                    out = [g for f in out for g in [later(f)] if g is not None]
    _mark(name)
    return time.perf_counter() - t0


def _mark(group: str) -> None:
    """Mark a compiled group's package (dehaze, hdr, enhance) as cached from this code:
    a run says it will compile where it is not (:func:`vidclear._numba_cache.kernel_marker`)."""
    from vidclear._numba_cache import kernel_marker, mark_cached

    marker = kernel_marker(group.split()[0])
    if marker is not None:
        mark_cached(marker)


def _start(group: str) -> tuple[subprocess.Popen[bytes], IO[bytes]]:
    """One group in a child interpreter; it prints the seconds it took.

    ``-P``: the child imports the vidclear that is installed, never a source
    tree in the current directory (its cache would be one nobody reads).

    Its output goes to a temporary file, not a pipe: a child that wrote more
    than a pipe holds (compiler warnings) would block while nobody reads.
    """
    code = ("import sys\nfrom vidclear.cli.compile import warm_group, exit_with_parent\n"
            "exit_with_parent(int(sys.argv[2]))\nprint(warm_group(sys.argv[1]))")
    log = tempfile.TemporaryFile()
    return subprocess.Popen([sys.executable, "-P", "-c", code, group, str(os.getpid())],
                            stdout=log, stderr=subprocess.STDOUT), log


def exit_with_parent(parent: int, interval: float = 0.5) -> None:
    """In a child: exit as soon as process ``parent`` is gone.

    A parent killed outright (SIGKILL, the OOM killer) cannot stop its
    children; without this they would compile on for a minute, orphaned.
    """
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()


def run(args: argparse.Namespace) -> int:
    from vidclear.errors import ConfigError

    if args.jobs < 0:
        raise ConfigError(f"--jobs {args.jobs} is not allowed: expected 0 (one per CPU) or more")
    jobs = min(args.jobs or os.cpu_count() or 1, len(GROUPS))
    say: Callable[[str], None] = (lambda _: None) if args.quiet else (
        lambda s: print(s, file=sys.stderr, flush=True))
    named = os.environ.get("NUMBA_CACHE_DIR")
    if named and not writable(Path(named)):
        # Numba falls back to the package's __pycache__ without a word: "cache:
        # /proc/nope ... done" cached nothing there (trial 39)
        raise OutputError(f"NUMBA_CACHE_DIR={named} cannot be written: no kernels would be "
                          "cached there (give a folder this user can create files in)")
    cache = named or "next to the package (__pycache__)"
    say(f"vidclear compile: {len(GROUPS)} groups on {jobs} process(es); cache: {cache}")
    t0 = time.perf_counter()
    waiting = list(GROUPS)
    running: dict[str, tuple[subprocess.Popen[bytes], IO[bytes]]] = {}
    failed = 0

    starting = interrupted = False

    def stop(signum: int, frame: object) -> None:
        nonlocal interrupted
        if starting:  # a child started now but not yet in `running` would be orphaned
            interrupted = True
            return
        raise KeyboardInterrupt

    # SIGINT, SIGTERM and SIGHUP (the terminal closed; not under nohup): stop
    # the children, then exit 130.
    with stop_signals(stop):
        try:
            while waiting or running:
                while waiting and len(running) < jobs:
                    group = waiting.pop(0)
                    starting = True
                    try:
                        running[group] = _start(group)
                    finally:
                        starting = False
                    if interrupted:
                        raise KeyboardInterrupt
                time.sleep(0.05)
                for group, (child, log) in list(running.items()):
                    if child.poll() is None:
                        continue
                    del running[group]
                    log.seek(0)
                    lines = log.read().decode(errors="replace").strip().splitlines()
                    log.close()
                    if child.returncode == 0:
                        say(f"  {group:<11} {float(lines[-1]):6.1f} s")
                    else:  # report every group, then fail
                        failed += 1
                        last = (lines or [f"exit status {child.returncode}"])[-1]
                        print(f"vidclear: error: compiling {group!r} failed: {last}",
                              file=sys.stderr)
        finally:
            for child, log in running.values():  # interrupted: stop the groups still compiling
                child.kill()
                child.wait()
                log.close()
    say(f"done in {time.perf_counter() - t0:.1f} s")
    return 1 if failed else 0
