#!/usr/bin/env python
"""Time vidclear's enhancers against OpenCV / plain-NumPy peers in the same run.

For each enhancer (ace, histeq, clahe, msrcr) and frame size (1280×720 and
1920×1080 by default) this runs vidclear's function and a peer on the same
seeded synthetic RGB frame, after warm-up calls that compile the Numba
kernels, and reports the median and interquartile range of ``--repeat``
runs. Peers:

- ace: the same level-interpolation algorithm written in plain NumPy
  (vectorized block sums, ``numpy.fft``, ``cv2.resize`` for the bilinear
  step): what the Numba kernels save.
- histeq: OpenCV ``cvtColor`` to YCrCb, ``equalizeHist`` on Y, back to RGB.
- clahe: the same with ``cv2.createCLAHE(2.0, (8, 8)).apply`` on Y.
- msrcr: the same algorithm and reduced surrounds in plain NumPy
  (``np.log``, ``np.percentile`` for the stretch).

Usage::

    NUMBA_NUM_THREADS=2 python scripts/bench_enhance.py [--repeat 7] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numba
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vidclear.enhance import ace, clahe, equalize_hist, gaussian_surround, msrcr
from vidclear.enhance.ace import _kernel_spectrum, block_factor

SIZES = {"720p": (720, 1280), "1080p": (1080, 1920)}


def make_frame(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A seeded, natural-ish RGB uint8 frame: smooth gradients, edges, noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([
        110 + 70 * np.sin(x / 97.0) * np.cos(y / 61.0),
        90 + 60 * np.cos(y / 45.0) + 40 * (x > w / 2),
        120 + 50 * np.sin((x + y) / 130.0),
    ], axis=-1)
    img += rng.normal(0, 10, img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


# ------------------------------------------------------------------- peers
def ace_numpy(img: np.ndarray, alpha: float = 5.0, levels: int = 8, grid: int = 128) -> np.ndarray:
    """ACE by level interpolation in plain NumPy (same algorithm as vidclear's)."""
    h, w = img.shape[:2]
    f = block_factor((h, w), grid)
    hb, wb = -(-h // f), -(-w // f)
    planes = img.astype(np.float32) / 255.0
    pad = np.zeros((hb * f, wb * f, 3), np.float32)
    pad[:h, :w] = planes
    valid = np.zeros((hb * f, wb * f), np.float32)
    valid[:h, :w] = 1
    lv = np.linspace(0, 1, levels, dtype=np.float32)
    sums = np.empty((3 * levels + 1, hb, wb), np.float32)
    for c in range(3):
        for j, level in enumerate(lv):
            s = np.clip(alpha * (level - pad[..., c]), -1, 1) * valid
            sums[c * levels + j] = s.reshape(hb, f, wb, f).sum(axis=(1, 3))
    sums[-1] = valid.reshape(hb, f, wb, f).sum(axis=(1, 3))
    spec, p, q = _kernel_spectrum(hb, wb, f)
    conv = np.fft.irfft2(np.fft.rfft2(sums, s=(p, q)) * spec, s=(p, q))[:, :hb, :wb]
    rlev = (conv[:-1] / np.maximum(conv[-1], 1e-12)).astype(np.float32)
    out = np.empty_like(img)
    for c in range(3):
        up = np.stack([cv2.resize(rlev[c * levels + j], (w, h), interpolation=cv2.INTER_LINEAR)
                       for j in range(levels)])
        t = planes[..., c] * (levels - 1)
        n0 = np.minimum(t.astype(np.int32), levels - 2)
        ft = t - n0
        r0 = np.take_along_axis(up, n0[None], 0)[0]
        r1 = np.take_along_axis(up, n0[None] + 1, 0)[0]
        r = r0 * (1 - ft) + r1 * ft
        out[..., c] = np.rint((r - r.min()) / max(r.max() - r.min(), 1e-4) * 255)
    return out


def histeq_opencv(img: np.ndarray) -> np.ndarray:
    ycc = cv2.cvtColor(img, cv2.COLOR_RGB2YCrCb)
    ycc[..., 0] = cv2.equalizeHist(ycc[..., 0])
    return cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB)


_CLAHE = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))


def clahe_opencv(img: np.ndarray) -> np.ndarray:
    ycc = cv2.cvtColor(img, cv2.COLOR_RGB2YCrCb)
    ycc[..., 0] = _CLAHE.apply(ycc[..., 0])
    return cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB)


def msrcr_numpy(img: np.ndarray, sigmas=(15.0, 80.0, 250.0)) -> np.ndarray:
    """MSRCR with the same reduced surrounds, plain NumPy for the rest."""
    v = img.astype(np.float32) + 1
    msr = np.zeros_like(v)
    for s in sigmas:
        msr += np.log(v) - np.log(gaussian_surround(v, s))
    msr /= len(sigmas)
    msr *= 46.0 * (np.log(125.0 * v) - np.log(v.sum(axis=2, keepdims=True)))
    out = np.empty_like(img)
    for c in range(3):
        lo, hi = np.percentile(msr[..., c], [1, 99])
        out[..., c] = np.rint(np.clip((msr[..., c] - lo) / (hi - lo), 0, 1) * 255)
    return out


CASES: dict[str, tuple[Callable, str, Callable]] = {
    "ace": (ace, "numpy (same algorithm)", ace_numpy),
    "histeq": (equalize_hist, "opencv YCrCb equalizeHist", histeq_opencv),
    "clahe": (clahe, "opencv YCrCb CLAHE", clahe_opencv),
    "msrcr": (msrcr, "numpy (same surrounds)", msrcr_numpy),
}


# ----------------------------------------------------------------- timing
def timeit(fn: Callable, img: np.ndarray, repeat: int) -> dict[str, float]:
    fn(img)  # warm-up: JIT compile, caches, allocator
    fn(img)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(img)
        times.append((time.perf_counter() - t0) * 1e3)
    q = statistics.quantiles(times, n=4) if len(times) > 1 else [times[0]] * 3
    return {"median_ms": statistics.median(times), "q1_ms": q[0], "q3_ms": q[2],
            "min_ms": min(times), "runs": len(times)}


def machine() -> dict[str, object]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu, "cores": os.cpu_count(), "numba_threads": numba.get_num_threads(),
        "python": platform.python_version(), "numpy": np.__version__,
        "numba": numba.__version__, "opencv": cv2.__version__,
        "platform": platform.platform(),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=7, help="timed runs per case (median)")
    ap.add_argument("--sizes", nargs="+", choices=list(SIZES), default=list(SIZES))
    ap.add_argument("--only", nargs="+", choices=list(CASES), default=list(CASES))
    ap.add_argument("--json", action="store_true", help="print one JSON document")
    args = ap.parse_args(argv)
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    info = machine()
    if not args.json:
        print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))
        print(f"{'case':8} {'size':6} {'vidclear ms (IQR)':>22} {'peer ms (IQR)':>22}  "
              f"{'speed-up':>8}  peer")
    rows = []
    for size in args.sizes:
        img = make_frame(*SIZES[size])
        for name in args.only:
            fn, peer_name, peer = CASES[name]
            ours = timeit(fn, img, args.repeat)
            theirs = timeit(peer, img, args.repeat)
            row = {"case": name, "size": size, "vidclear": ours, "peer": peer_name,
                   "peer_timing": theirs, "speedup": theirs["median_ms"] / ours["median_ms"]}
            rows.append(row)
            if not args.json:
                def fmt(t: dict[str, float]) -> str:
                    return f"{t['median_ms']:8.1f} ({t['q1_ms']:.1f}-{t['q3_ms']:.1f})"
                print(f"{name:8} {size:6} {fmt(ours):>22} {fmt(theirs):>22}  "
                      f"{row['speedup']:7.2f}x  {peer_name}", flush=True)
    if args.json:
        print(json.dumps({"machine": info, "results": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
