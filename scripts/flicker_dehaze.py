"""Flicker of the dehazer on video: does a bright truck move the brightness of the static scene?

Renders :class:`~vidclear.io.sources.synthetic.RoadScene` clips (default 6 s
at 30 fps, 480×270), hazes each frame by its true depth
(``synthesize_haze`` with ``depth = min(depth / 150 m, 1)``, ``beta = 2``,
grey airlight 0.85), in two variants:

* ``plain``: the road scene as it is;
* ``truck``: a large white truck (RGB 0.95, 12 m away, covering about 45 %
  of the height and up to 40 % of the width) drives in from the right at
  2 s, stays and leaves at 4 s; it is hazed by its own depth. Being the
  brightest thing in view it captures a per-frame airlight estimate.

Each clip is dehazed by:

* ``vidclear``: :class:`~vidclear.dehaze.Dehazer` with default settings,
  timestamps ``frame / 30``;
* ``per-frame``: the same dehazer with every temporal smoothing off
  (``airlight_tau = 0``, ``airlight_window = 0``, ``airlight_gate = 1``,
  ``airlight_hold = 0``, ``auto_tau = 0``, ``auto_hysteresis = 0``): a
  per-frame DCP with vidclear's kernels;
* ``textbook DCP``: ``baselines_dehaze.textbook_dcp`` frame by frame.

The measure is :func:`vidclear.metrics.flicker` (mean absolute change of the
mean luma between frames, 0..1 scale) on a mask of the static upper-left
region: pixels of the upper-left quarter whose clear value never changes in
either variant (sky and far field; trees, stripes and the truck are kept
out). The hazy input is therefore perfectly steady there (flicker 0), and
whatever a method adds is its own. ``drift`` is the largest excursion of
that mean luma from its first-frame value (0..1), the visible brightness
pumping. Runs use different scene seeds (textures, tree positions); the
report is the median over runs, with the ratio per-frame / vidclear.

Usage::

    NUMBA_NUM_THREADS=2 python scripts/flicker_dehaze.py [--runs 3] [--seconds 6]
        [--size 480x270] [--json]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baselines_dehaze import textbook_dcp

from vidclear.dehaze import Dehazer
from vidclear.dehaze.synth import synthesize_haze
from vidclear.io.sources.synthetic import RoadScene
from vidclear.metrics import flicker

RATE = 30
FAR = 150.0  # metres at which the relative depth reaches 1 (RoadScene's default far)
BETA = 2.0
PER_FRAME = {"airlight_tau": 0.0, "airlight_window": 0.0, "airlight_gate": 1.0,
             "airlight_hold": 0.0, "auto_tau": 0.0, "auto_hysteresis": 0.0}
LUMA709 = np.array([0.2126, 0.7152, 0.0722])


def add_truck(clear: np.ndarray, depth: np.ndarray, t: float, *, start: float = 2.0,
              stop: float = 4.0, z: float = 12.0) -> None:
    """Paint a white truck into ``clear``/``depth`` (in place) while ``start <= t < stop``.

    It slides in from the right edge during the first quarter of its time,
    stands, and slides out during the last quarter.
    """
    if not start <= t < stop:
        return
    h, w = depth.shape
    span = stop - start
    u = (t - start) / span
    shown = min(1.0, 4 * u, 4 * (1 - u))  # share of its width in view
    tw = int(0.4 * w)
    x0 = w - round(shown * tw)
    y0, y1 = int(0.25 * h), int(0.7 * h)
    if x0 >= w:
        return
    clear[y0:y1, x0:] = np.uint8(242)
    depth[y0:y1, x0:] = z


def render_clip(seed: int, seconds: float, width: int, height: int,
                truck: bool) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Clear and hazy frames of one RoadScene clip."""
    scene = RoadScene(width=width, height=height, seconds=seconds, rate=RATE, seed=seed)
    clears, hazies = [], []
    for i in range(scene.frames):
        t = i / RATE
        clear, depth = scene.render_with_depth(t)
        if truck:
            add_truck(clear, depth, t)
        rel = np.minimum(depth / FAR, 1.0).astype(np.float32)
        clears.append(clear)
        hazies.append(synthesize_haze(clear, depth=rel, beta=BETA, airlight=0.85))
    return clears, hazies


def static_mask(*clips: list[np.ndarray]) -> np.ndarray:
    """Upper-left quarter pixels whose value never changes in any of the clips."""
    ref = clips[0][0]
    h, w = ref.shape[:2]
    same = np.ones((h, w), bool)
    for clip in clips:
        for f in clip:
            same &= (f == ref).all(axis=2)
    mask = np.zeros((h, w), bool)
    mask[: h // 2, : w // 2] = True
    return mask & same


def drift(frames: list[np.ndarray], mask: np.ndarray) -> float:
    """Largest |mean luma(t) - mean luma(0)| over the mask, 0..1 scale."""
    levels = np.array([float((f[mask].astype(np.float64) @ LUMA709).mean()) / 255.0
                       for f in frames])
    return float(np.abs(levels - levels[0]).max())


def dehaze_clip(method: str, hazy: list[np.ndarray]) -> list[np.ndarray]:
    if method == "hazy input":
        return hazy
    if method == "textbook DCP":
        return [textbook_dcp(f) for f in hazy]
    d = Dehazer() if method == "vidclear" else Dehazer(**PER_FRAME)
    return [d(f, timestamp=i / RATE) for i, f in enumerate(hazy)]


METHODS = ["hazy input", "vidclear", "per-frame", "textbook DCP"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3, help="runs (scene seeds 7, 8, ...)")
    ap.add_argument("--seconds", type=float, default=6.0, help="clip length")
    ap.add_argument("--size", default="480x270", help="WIDTHxHEIGHT")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = ap.parse_args()
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        ap.error(f"--size must be WIDTHxHEIGHT, got {args.size!r}")
    if args.runs < 1 or args.seconds < 4.5 or width < 64 or height < 36:
        ap.error("need --runs >= 1, --seconds >= 4.5 (the truck drives 2..4 s) and "
                 "a size of at least 64x36")
    started = time.perf_counter()
    results: dict[str, dict[str, dict[str, list[float]]]] = {}
    mask_px = []
    for run in range(args.runs):
        seed = 7 + run
        clips = {v: render_clip(seed, args.seconds, width, height, v == "truck")
                 for v in ("plain", "truck")}
        mask = static_mask(*(c[0] for c in clips.values()))
        if not mask.any():
            raise SystemExit("no static pixels in the upper-left quarter")
        mask_px.append(int(mask.sum()))
        for variant, (_, hazy) in clips.items():
            for method in METHODS:
                out = dehaze_clip(method, hazy)
                if not all(np.isfinite(f).all() for f in out):
                    raise SystemExit(f"{method} produced non-finite values")
                r = results.setdefault(variant, {}).setdefault(
                    method, {"flicker": [], "drift": []})
                r["flicker"].append(flicker(out, mask=mask))
                r["drift"].append(drift(out, mask))
    summary: dict[str, dict[str, dict[str, float]]] = {}
    for variant, by_method in results.items():
        summary[variant] = {m: {k: float(np.median(v)) for k, v in r.items()}
                            for m, r in by_method.items()}
    ratios = {}
    for variant, s in summary.items():
        v = s["vidclear"]["flicker"]
        ratios[variant] = {
            other: (s[other]["flicker"] / v if v > 0 else float("inf"))
            for other in ("per-frame", "textbook DCP")
        }
    info = {"machine": f"{platform.processor() or platform.machine()}",
            "size": [width, height], "seconds": args.seconds, "rate": RATE,
            "runs": args.runs, "mask_pixels": mask_px,
            "elapsed_s": round(time.perf_counter() - started, 1)}
    if args.json:
        print(json.dumps({"info": info, "median": summary, "runs": results,
                          "ratio_vs_vidclear": ratios}, indent=2))
        return 0
    print(f"RoadScene {width}x{height}, {args.seconds:g} s at {RATE} fps, haze beta {BETA:g}, "
          f"median of {args.runs} run(s) (seeds 7..{6 + args.runs}); static upper-left mask "
          f"{mask_px} px")
    print("flicker = mean |change of mean luma| per frame; drift = max |luma - first frame| "
          "(0..1 scale)")
    print(f"{'variant':8s} {'method':14s} {'flicker':>10s} {'drift':>9s}")
    for variant, s in summary.items():
        for method in METHODS:
            print(f"{variant:8s} {method:14s} {s[method]['flicker']:10.6f} "
                  f"{s[method]['drift']:9.5f}")
    for variant, r in ratios.items():
        print(f"{variant}: per-frame / vidclear flicker = {r['per-frame']:.1f}x, "
              f"textbook DCP / vidclear = {r['textbook DCP']:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
