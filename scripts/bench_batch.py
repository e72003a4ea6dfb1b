#!/usr/bin/env python
"""Benchmark ``vidclear batch``: throughput with 1 and 2 workers against one file after another.

Makes ``--files`` synthetic clips (H.264 + AAC), then times, each ``--repeat``
times (median reported):

* ``sequential``: :func:`vidclear.transcode` on each file in turn, in this
  process, kernels already compiled (the best case for one process);
* ``local -j1`` / ``local -j2``: :func:`vidclear.batch.run_batch` on the
  local process pool (pool start and per-worker warm-up included);
* ``ray -j1`` / ``ray -j2``: the same on Ray actors, with the runtime
  started once beforehand (its start-up time is reported separately), and
  the per-job overhead of Ray as (ray wall - local wall) / files, plus the
  round trip of an empty actor call.

Usage::

    python scripts/bench_batch.py [--files 6] [--frames 90] [--size 320x240]
        [--repeat 3] [--no-ray] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def machine() -> dict:
    info = {"python": platform.python_version(), "platform": platform.platform(),
            "machine": platform.machine(), "cpus": os.cpu_count(),
            "processor": platform.processor()}
    try:
        info["cpu_model"] = next(line.split(":", 1)[1].strip()
                                 for line in open("/proc/cpuinfo")
                                 if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return info


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=6)
    ap.add_argument("--frames", type=int, default=90)
    ap.add_argument("--size", default="320x240")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--processors", default="dehaze")
    ap.add_argument("--no-ray", action="store_true")
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))

    from media import make_clip
    from vidclear.job import transcode

    from vidclear.batch import BatchOptions, run_batch
    from vidclear.config.loader import load_config

    sets = [f"pipeline.processors={json.dumps(args.processors.split(','))}",
            "output.threads=1"]
    config = load_config(overrides=sets)
    work = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    src = work / "in"
    src.mkdir()
    for i in range(args.files):
        make_clip(src / f"clip{i}.mp4", n=args.frames, size=(w, h))
    total_frames = args.files * args.frames

    def sequential(out: Path) -> float:
        out.mkdir()
        t0 = time.perf_counter()
        for f in sorted(src.glob("*.mp4")):
            transcode(str(f), out / f.name, config=config)
        return time.perf_counter() - t0

    def batch(out: Path, engine: str, jobs: int) -> float:
        t0 = time.perf_counter()
        rep = run_batch([str(src)], BatchOptions(outdir=out, overrides=sets, jobs=jobs,
                                                 engine=engine, progress=False))
        if rep["totals"]["done"] != args.files:
            raise SystemExit(f"bench: batch failed: {rep['files']}")
        return time.perf_counter() - t0

    transcode(str(src / "clip0.mp4"), work / "warm.mp4", config=config)  # compile kernels
    runs: dict[str, list[float]] = {"sequential": [], "local-j1": [], "local-j2": []}
    ray_info: dict = {}
    if not args.no_ray:
        import ray

        t0 = time.perf_counter()
        ray.init(include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})
        ray_info["startup_s"] = round(time.perf_counter() - t0, 3)
        ray_info["version"] = ray.__version__
        from vidclear.batch.engines.ray_engine import BatchActor

        actor = ray.remote(BatchActor).options(num_cpus=1).remote(1, None)
        ray.get(actor.ping.remote())
        rtts = []
        for _ in range(20):
            t0 = time.perf_counter()
            ray.get(actor.ping.remote())
            rtts.append(time.perf_counter() - t0)
        ray.kill(actor)
        ray_info["actor_call_ms"] = round(1000 * statistics.median(rtts), 3)
        runs.update({"ray-j1": [], "ray-j2": []})
    for r in range(args.repeat):
        runs["sequential"].append(sequential(work / f"seq{r}"))
        for jobs in (1, 2):
            runs[f"local-j{jobs}"].append(batch(work / f"l{jobs}-{r}", "local", jobs))
            if not args.no_ray:
                runs[f"ray-j{jobs}"].append(batch(work / f"r{jobs}-{r}", "ray", jobs))
    med = {k: statistics.median(v) for k, v in runs.items()}
    result = {
        "machine": machine(), "files": args.files, "frames_per_file": args.frames,
        "size": args.size, "processors": args.processors, "repeat": args.repeat,
        "wall_s": {k: round(v, 3) for k, v in med.items()},
        "fps": {k: round(total_frames / v, 1) for k, v in med.items()},
        "speedup_vs_sequential": {k: round(med["sequential"] / v, 2) for k, v in med.items()},
        "runs": {k: [round(x, 3) for x in v] for k, v in runs.items()},
    }
    if not args.no_ray:
        ray_info["overhead_per_job_s"] = {
            f"j{j}": round((med[f"ray-j{j}"] - med[f"local-j{j}"]) / args.files, 3)
            for j in (1, 2)}
        result["ray"] = ray_info
        import ray

        ray.shutdown()
    print(f"{args.files} files x {args.frames} frames {args.size}, {args.processors}, "
          f"median of {args.repeat}")
    for k in runs:
        print(f"  {k:<11} {med[k]:7.2f} s  {total_frames / med[k]:7.1f} fps  "
              f"x{med['sequential'] / med[k]:.2f}")
    if ray_info:
        print(f"  ray: start-up {ray_info['startup_s']} s, empty actor call "
              f"{ray_info['actor_call_ms']} ms, overhead per job "
              f"{ray_info['overhead_per_job_s']}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
