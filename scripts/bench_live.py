#!/usr/bin/env python3
"""Live benchmark: capture-to-output latency and throughput with dehazing on.

A lavfi ``testsrc2`` graph paced in real time stands in for a 30 fps camera.
Each run streams it through the live pipeline (latest-frame flow, queue
size 1, drops counted) into a sink that measures end-to-end latency:
``time.monotonic()`` when the frame was written minus its capture time.
The peer, measured in the same run on the same source, is the same pipeline
with ``copy`` instead of the processors, so the difference is what the
processing adds. Figures are the median over ``--runs`` runs.

    python scripts/bench_live.py                       # 720p30 and 1080p30, dehaze vs copy
    python scripts/bench_live.py --seconds 4 --runs 3 --json bench_live.json
    python scripts/bench_live.py --record              # also encode (x264 ultrafast)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import av
import cv2
import numpy as np

from vidclear import __version__
from vidclear.config.loader import load_config
from vidclear.core.frame import Frame
from vidclear.io.sinks.null import NullSink
from vidclear.io.sources import open_source
from vidclear.session import Session, build_processors

SIZES = {"720p30": (1280, 720), "1080p30": (1920, 1080)}


def machine() -> dict[str, Any]:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "numpy": np.__version__,
            "opencv": cv2.__version__, "pyav": av.__version__, "vidclear": __version__,
            "numba_threads": os.environ.get("NUMBA_NUM_THREADS", "default")}


def one_run(size: tuple[int, int], processors: list[str], seconds: float,
            record: bool) -> dict[str, Any]:
    cfg = load_config(preset="webcam", overrides=[
        f"pipeline.processors={json.dumps(processors)}", "pipeline.queue_size=1"])
    w, h = size
    src = open_source(f"lavfi:testsrc2=size={w}x{h}:rate=30", config=cfg.input, live=True)
    procs = build_processors(cfg)
    # Warm up (Numba compile, first-call allocations) outside the timed run.
    warm = Frame(np.zeros((h, w, 3), np.uint8), pts=0)
    for p in procs:
        warm = p(warm) or warm
    for p in procs:
        p.reset()
    with tempfile.TemporaryDirectory() as tmp:
        outputs = [Path(tmp) / "rec.mp4"] if record else []
        sinks = [] if record else [NullSink()]
        session = Session(src, procs, outputs=outputs, sinks=sinks, config=cfg, mode="live")
        timer = threading.Timer(seconds, session.stop)
        timer.start()
        stats = session.run(signals=False).snapshot()
        timer.cancel()
    lat = stats["latency_ms"] or {}  # every frame of the run, capture to sink
    return {"fps_in": stats["frames_in"] / stats["wall_s"],
            "fps_out": stats["frames_out"] / stats["wall_s"],
            "dropped": stats["dropped"], "frames_in": stats["frames_in"],
            "latency_p50_ms": lat.get("p50"), "latency_p95_ms": lat.get("p95"),
            "latency_max_ms": lat.get("max"),
            "process_ms": stats["stages"]["process"]["ms_per_frame"],
            "output_ms": stats["stages"]["encode"]["ms_per_frame"]}


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {k: round(statistics.median(r[k] for r in runs), 2) for k in runs[0]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    ap.add_argument("--processors", nargs="+", default=["dehaze"],
                    help="the chain under test (default: dehaze)")
    ap.add_argument("--seconds", type=float, default=5.0, help="length of each run")
    ap.add_argument("--runs", type=int, default=3, help="runs per case; the median is kept")
    ap.add_argument("--record", action="store_true", help="encode to x264 as well")
    ap.add_argument("--json", metavar="FILE", help="write the results as JSON")
    args = ap.parse_args()
    if args.runs < 1 or args.seconds <= 0:
        ap.error("--runs must be >= 1 and --seconds > 0")
    results: dict[str, Any] = {"machine": machine(), "command": " ".join(sys.argv),
                               "seconds": args.seconds, "runs": args.runs,
                               "record": args.record, "cases": []}
    print(f"# {results['machine']['cpu']}, {results['machine']['cores']} cores", file=sys.stderr)
    for name in args.sizes:
        for chain in (args.processors, ["copy"]):
            runs = []
            for _ in range(args.runs):
                runs.append(one_run(SIZES[name], chain, args.seconds, args.record))
            med = median_of(runs)
            results["cases"].append({"size": name, "processors": chain, **med})
            print(f"{name:8s} {'+'.join(chain):12s} fps in {med['fps_in']:5.1f} out "
                  f"{med['fps_out']:5.1f}  process {med['process_ms']:6.1f} ms  latency p50 "
                  f"{med['latency_p50_ms']:6.1f} ms p95 {med['latency_p95_ms']:6.1f} ms  "
                  f"dropped {med['dropped']:.0f}/{med['frames_in']:.0f}", file=sys.stderr)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    else:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
