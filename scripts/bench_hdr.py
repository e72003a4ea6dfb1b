"""Benchmark rolling-bracket HDR video against OpenCV's photo module, same run.

Cases: a 3-exposure rolling bracket at 1920×1080 (alignment, merge, global
Reinhard), at 1280×720 (local guided base/detail operator), and at 1280×720
with DIS optical-flow motion compensation (``flow = true``; the peer warps
with OpenCV's DIS flow and remap too). The OpenCV
peer does the same work per output frame: AlignMTB, MergeDebevec and
TonemapReinhard (global) or TonemapMantiuk (local). Timings are per output
frame after JIT warm-up and window fill (``--warmup`` frames, untimed):
median, p10/p90 and min/max, with the machine, its load average and the
thread setting our engine settled on, and whether the median reaches 30 fps
(33.3 ms per output frame; say at which load). Seeds fixed.

    NUMBA_NUM_THREADS=2 python scripts/bench_hdr.py [--frames 60] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from fractions import Fraction

import cv2
import numpy as np

from vidclear.core.frame import Frame
from vidclear.hdr.response import srgb_response
from vidclear.processors.hdr import HDRBracket, SynthBracket

EXPOSURES = (0.25, 1.0, 4.0)


def clip(w: int, h: int, n: int, seed: int = 0) -> list[Frame]:
    rng = np.random.default_rng(seed)
    small = rng.random((h // 16 + 4, w // 16 + 4, 3)).astype(np.float32)
    big = cv2.resize(small, (w + 64, h + 64), interpolation=cv2.INTER_CUBIC)
    base = np.clip(big * 255, 0, 255).astype(np.uint8)
    sb = SynthBracket(exposures=EXPOSURES)
    return [sb(Frame(np.ascontiguousarray(base[i % 8:i % 8 + h, 2 * (i % 8):2 * (i % 8) + w]),
                     pts=i, time_base=Fraction(1, 30))) for i in range(n)]


def ours(frames: list[Frame], tonemap: str, warmup: int, flow: bool = False
         ) -> tuple[list[float], str]:
    p = HDRBracket(exposures=EXPOSURES, tonemap=tonemap, flow=flow)
    for f in frames[:warmup]:  # JIT warm-up, window fill, thread probe
        p(f)
    times = []
    for f in frames[warmup:]:
        t0 = time.perf_counter()
        out = p(f)
        times.append(time.perf_counter() - t0)
        if out is None or not np.all(np.isfinite(out.image)):
            raise SystemExit("no output or non-finite output")
    return times, repr(p.engine.threads)


def opencv(frames: list[Frame], tonemap: str, runs: int, flow: bool = False) -> list[float]:
    align = cv2.createAlignMTB()
    dis = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
    merge = cv2.createMergeDebevec()
    tm = cv2.createTonemapReinhard() if tonemap == "reinhard" else cv2.createTonemapMantiuk()
    times_s = np.array([EXPOSURES[int(f.pts) % 3] for f in frames], np.float32)
    resp = np.ascontiguousarray(srgb_response()[:, None, :])
    out = []
    for i in range(3, 3 + runs):
        win = [frames[j].image for j in range(i - 2, i + 1)]
        t0 = time.perf_counter()
        aligned = list(win)
        if flow:  # DIS flow at half size from the newest frame, older frames remapped
            h, w = win[0].shape[:2]
            gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
            ref = cv2.resize(cv2.cvtColor(win[-1], cv2.COLOR_RGB2GRAY), (w // 2, h // 2))
            for k in range(2):
                mov = cv2.resize(cv2.cvtColor(win[k], cv2.COLOR_RGB2GRAY), (w // 2, h // 2))
                fl = cv2.resize(dis.calc(ref, mov, None), (w, h)) * 2.0
                aligned[k] = cv2.remap(win[k], gx + fl[..., 0], gy + fl[..., 1],
                                       cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        else:
            align.process(win, aligned)
        rad = merge.process(aligned, times_s[i - 2:i + 1], resp)
        ldr = tm.process(rad)
        np.clip(ldr * 255, 0, 255).astype(np.uint8)
        out.append(time.perf_counter() - t0)
    return out


def summary(ts: list[float]) -> dict[str, float]:
    med = statistics.median(ts)
    return {"n": len(ts), "median_ms": med * 1e3, "fps": 1.0 / med,
            "p10_ms": float(np.percentile(ts, 10)) * 1e3,
            "p90_ms": float(np.percentile(ts, 90)) * 1e3,
            "min_ms": min(ts) * 1e3, "max_ms": max(ts) * 1e3,
            "fps_at_p90": 1e3 / (float(np.percentile(ts, 90)) * 1e3)}


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=60, help="timed frames per case")
    ap.add_argument("--warmup", type=int, default=12, help="untimed frames first (>= 6)")
    ap.add_argument("--opencv-runs", type=int, default=6, help="timed OpenCV frames per case")
    ap.add_argument("--json", action="store_true", help="print JSON")
    args = ap.parse_args()
    cv2.setNumThreads(int(os.environ.get("NUMBA_NUM_THREADS", os.cpu_count() or 1)))
    warmup = max(6, args.warmup)
    result = {"machine": {"platform": platform.platform(), "cpu": cpu_name(),
                          "cores": os.cpu_count(), "loadavg_start": os.getloadavg(),
                          "numba_threads": os.environ.get("NUMBA_NUM_THREADS"),
                          "opencv": cv2.__version__}, "cases": []}
    for w, h, tonemap, peer, flow in (
            (1920, 1080, "reinhard", "TonemapReinhard", False),
            (1280, 720, "durand", "TonemapMantiuk", False),
            (1280, 720, "reinhard", "TonemapReinhard", True)):
        frames = clip(w, h, args.frames + warmup)
        ts, threads = ours(frames, tonemap, warmup, flow=flow)
        a = summary(ts)
        b = summary(opencv(frames, tonemap, args.opencv_runs, flow=flow))
        first = "DIS flow" if flow else "align"
        result["cases"].append({
            "case": f"rolling 3-exposure {w}x{h} {first}+merge+{tonemap}",
            "vidclear": a, "opencv": b,
            "opencv_peer": f"{'DIS+remap' if flow else 'AlignMTB'}+MergeDebevec+{peer}",
            "threads": threads, "speedup": b["median_ms"] / a["median_ms"],
            "meets_30_fps": a["median_ms"] <= 1e3 / 30})
    result["machine"]["loadavg_end"] = os.getloadavg()
    if args.json:
        print(json.dumps(result, indent=2))
        return
    m = result["machine"]
    print(f"# {m['cpu']} | {m['platform']} | {m['cores']} cores | numba threads "
          f"{m['numba_threads']} | OpenCV {m['opencv']} | load avg "
          f"{m['loadavg_start'][0]:.2f} -> {m['loadavg_end'][0]:.2f}")
    print("# per output frame after warm-up: median [p10..p90] (min..max), n timed")
    for c in result["cases"]:
        v, o = c["vidclear"], c["opencv"]
        print(f"{c['case']}")
        print(f"  vidclear {v['median_ms']:6.1f} ms = {v['fps']:5.1f} fps  "
              f"[{v['p10_ms']:.1f}..{v['p90_ms']:.1f}] ({v['min_ms']:.1f}..{v['max_ms']:.1f}) "
              f"n={v['n']}  {c['threads']}")
        print(f"  OpenCV   {o['median_ms']:6.1f} ms = {o['fps']:5.1f} fps  "
              f"[{o['p10_ms']:.1f}..{o['p90_ms']:.1f}] ({o['min_ms']:.1f}..{o['max_ms']:.1f}) "
              f"n={o['n']}  {c['opencv_peer']}")
        print(f"  speed ratio vs OpenCV (median): x{c['speedup']:.1f}; 30 fps "
              f"{'reached' if c['meets_30_fps'] else 'not reached'} at this load")


if __name__ == "__main__":
    main()
