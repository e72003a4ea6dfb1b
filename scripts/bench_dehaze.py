"""Benchmark of the dehaze stage alone on 1920×1080 RGB uint8 frames.

Measures, in one run on this machine:

* vidclear's ``Dehazer`` (default settings, steady-state video: timestamps
  advance 1/30 s per frame);
* the fastest OpenCV-only version of the same algorithm
  (``baselines_dehaze.opencv_fast_dcp``: float32, cv2.erode,
  cv2.ximgproc.guidedFilter, transmission at quarter size);
* the textbook dark channel prior (``baselines_dehaze.textbook_dcp``: float64,
  patch 15, guided filter r=60, eps=1e-4 on the grey image);
* cold start: time from a fresh interpreter to the first dehazed frame with
  the Numba cache warm, and with an empty ``NUMBA_CACHE_DIR`` (first-run
  compile time), each in a subprocess.

Timings are medians after a warm-up, with the interquartile range; seeds
are fixed. The warm-up (``--warmup``, 60 frames: two seconds of video, for
both fast methods) covers more than the JIT: the dehazer's first frames
choose between one thread and two by running both
(:class:`vidclear.kernels.threads.ThreadChoice`, about ten frames on one
thread), and a fresh process ran its frames slower for about two seconds
(on 6 December, frame by frame: 7.7 ms in the first fifteen against
5.1–5.3 ms later; a second dehazer in the same process was at 5.3 ms from
its first fifteen). With 5 frames of warm-up, as until then, the median
took in that start: three pairs of runs, alternately, gave 5.50 / 5.56 /
8.55 ms after 5 frames and 5.38 / 5.34 / 6.12 ms after 60 (IQR 1.08 /
0.77 / 0.59 against 0.65 / 0.52 / 0.17 ms). The cold start is timed on
its own (below). The input is a synthetic hazy frame (textured scene, haze
with depth), the same in every run, or with ``--frame PATH`` a real image
resized to 1920×1080. The script prints the exponent of the brightness tone
curve the dehazer chose: below 1 the recovery runs through its lookup table
(on the hazy stills in ``../shared`` it stayed at 1 in video steady state).
The OpenCV peer needs OpenCV's contrib build (``cv2.ximgproc``), which the
test environment of ``scripts/test.sh`` has.

With ``--against DIR`` (another checkout of vidclear, e.g. a ``git
worktree`` of an older commit) the stage of that checkout and of this one
are timed alternately in fresh subprocesses, ``--rounds`` rounds each (the
median of 60 frames after 20 of warm-up, RGB and the YUV 4:2:0 path), and
the script reports the median of the per-round ratios this / that: on a
noisy host the two codes' times move together within a round.

Usage::

    NUMBA_NUM_THREADS=2 python scripts/bench_dehaze.py [--runs 50] [--json] [--skip-cold]
        [--frame ../shared/data/dehaze/hazy-stills/he_hongkong.bmp]
    NUMBA_NUM_THREADS=2 python scripts/bench_dehaze.py --against ../old-checkout [--rounds 8]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
from _cli import positive_int  # noqa: E402
from baselines_dehaze import opencv_fast_dcp, textbook_dcp  # noqa: E402

W, H = 1920, 1080


def make_frame(seed: int = 0) -> np.ndarray:
    """A hazy 1080p RGB uint8 frame: coloured textured blocks, haze rising with height."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.2, 0.9, (H // 16 + 1, W // 16 + 1, 3))
    base = cv2.resize(base, (W, H), interpolation=cv2.INTER_NEAREST)
    tex = cv2.GaussianBlur(rng.random((H, W)), (0, 0), 1.0)[..., None]
    scene = np.clip(base * (0.6 + 0.8 * tex), 0, 1)
    t = np.exp(-2.0 * np.linspace(1.0, 0.1, H))[:, None, None]
    t[: H // 6] = 0.02
    airlight = np.array([0.86, 0.87, 0.88])
    return np.rint((scene * t + airlight * (1 - t)) * 255).astype(np.uint8)


def timeit(fn: Callable[[], object], runs: int, warmup: int) -> dict[str, float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    ms = np.array(times) * 1e3
    q1, med, q3 = np.percentile(ms, [25, 50, 75])
    return {"median_ms": float(med), "iqr_ms": float(q3 - q1), "min_ms": float(ms.min()),
            "max_ms": float(ms.max()), "runs": runs, "fps": float(1e3 / med)}


COLD = """
import time
t0 = time.perf_counter()
import numpy as np
from vidclear.dehaze import Dehazer
frame = np.load({path!r})
d = Dehazer()
d(frame, timestamp=0.0)
t1 = time.perf_counter()
d(frame, timestamp=1 / 30)
print(t1 - t0)
"""


def cold_start(frame: np.ndarray, cache_dir: str | None) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "frame.npy")
        np.save(path, frame)
        env = dict(os.environ)
        if cache_dir is not None:
            env["NUMBA_CACHE_DIR"] = cache_dir
        out = subprocess.run([sys.executable, "-c", COLD.format(path=path)], env=env, cwd=ROOT,
                             capture_output=True, text=True, check=True)
        return float(out.stdout.strip().splitlines()[-1])


AGAINST = """
import sys, time
sys.path.insert(0, {tree!r})
import numpy as np
import vidclear
from vidclear.dehaze import Dehazer
assert vidclear.__file__.startswith({tree!r}), vidclear.__file__
frame = np.load({path!r})
y = np.ascontiguousarray(frame[..., 1])
u = np.full((frame.shape[0] // 2, frame.shape[1] // 2), 120, np.uint8)
v = np.full_like(u, 135)
rgb, yuv = Dehazer(), Dehazer()
times = ([], [])
for i in range(80):
    t = time.perf_counter()
    rgb.process(frame, i / 30)
    t1 = time.perf_counter()
    yuv.process_yuv420(y, u, v, i / 30)
    t2 = time.perf_counter()
    if i >= 20:
        times[0].append(t1 - t)
        times[1].append(t2 - t1)
print(1e3 * np.median(times[0]), 1e3 * np.median(times[1]))
"""


def against(frame: np.ndarray, other: Path, rounds: int) -> dict[str, object]:
    """This checkout's stage and ``other``'s, timed alternately in subprocesses (module doc)."""
    trees = {"this": str(ROOT), "that": str(other.resolve())}
    got: dict[str, list[tuple[float, float]]] = {"this": [], "that": []}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "frame.npy")
        np.save(path, frame)
        for _ in range(rounds):
            for name in ("that", "this"):
                out = subprocess.run(
                    [sys.executable, "-c", AGAINST.format(tree=trees[name], path=path)],
                    cwd=tmp, capture_output=True, text=True, check=True)
                a, b = out.stdout.split()
                got[name].append((float(a), float(b)))
    this, that = np.array(got["this"]), np.array(got["that"])
    ratio = this / that
    return {"against": trees["that"], "rounds": rounds,
            "this_ms": {"rgb": float(np.median(this[:, 0])), "yuv": float(np.median(this[:, 1]))},
            "that_ms": {"rgb": float(np.median(that[:, 0])), "yuv": float(np.median(that[:, 1]))},
            "ratio_this_over_that": {"rgb": float(np.median(ratio[:, 0])),
                                     "yuv": float(np.median(ratio[:, 1]))}}


def machine() -> dict[str, object]:
    import numba

    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": model, "logical_cpus": os.cpu_count(), "numba_threads": numba.get_num_threads(),
            "opencv_threads": cv2.getNumThreads(), "python": platform.python_version(),
            "numpy": np.__version__, "numba": numba.__version__, "opencv": cv2.__version__,
            "platform": platform.platform()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=positive_int, default=50, help="timed runs of the fast methods")
    ap.add_argument("--textbook-runs", type=positive_int, default=3,
                    help="timed runs of textbook DCP")
    ap.add_argument("--warmup", type=positive_int, default=60,
                    help="frames each fast method runs before it is timed (default 60: "
                         "two seconds of video; the first frames of a run are slower, see "
                         "the module doc)")
    ap.add_argument("--skip-cold", action="store_true", help="skip the cold-start subprocesses")
    ap.add_argument("--json", action="store_true", help="print JSON instead of text")
    ap.add_argument("--frame", default="", help="image to time on, resized to 1920x1080 "
                    "(default: the synthetic hazy frame)")
    ap.add_argument("--against", type=Path, default=None, metavar="DIR",
                    help="another checkout of vidclear: time its stage and this one's "
                    "alternately and report the ratio (see the module doc)")
    ap.add_argument("--rounds", type=positive_int, default=8,
                    help="rounds of --against (one subprocess per tree and round)")
    args = ap.parse_args()
    if args.against is not None and not (args.against / "vidclear" / "__init__.py").is_file():
        print(f"bench_dehaze: --against {str(args.against)!r} is no checkout of vidclear "
              "(no vidclear/__init__.py in it)", file=sys.stderr)
        return 2
    if args.against is None and not hasattr(cv2, "ximgproc"):
        # the OpenCV peer's guided filter lives in contrib; --against times no peer
        print("bench_dehaze: the OpenCV peer needs cv2.ximgproc, which only the contrib build "
              "has: pip install opencv-contrib-python-headless (or run scripts/test.sh, "
              "whose .venv has it)", file=sys.stderr)
        return 2

    from vidclear.dehaze import Dehazer

    if args.frame:
        bgr = cv2.imread(args.frame, cv2.IMREAD_COLOR)
        if bgr is None:
            print(f"bench_dehaze: cannot read an image from {args.frame!r}", file=sys.stderr)
            return 2
        frame = cv2.cvtColor(cv2.resize(bgr, (W, H), interpolation=cv2.INTER_AREA),
                             cv2.COLOR_BGR2RGB)
    else:
        frame = make_frame()
    if args.against is not None:
        try:
            res_a = {"machine": machine(), **against(frame, args.against, args.rounds)}
        except subprocess.CalledProcessError as exc:
            last = (exc.stderr or "").strip().splitlines() or ["no message"]
            print(f"bench_dehaze: timing the stage failed: {last[-1]}", file=sys.stderr)
            return 2
        if args.json:
            print(json.dumps(res_a, indent=2))
            return 0
        print(f"this checkout ({ROOT}) against {res_a['against']}, {args.rounds} rounds "
              "alternately, each the median of 60 frames of 1920x1080:")
        for key, label in (("rgb", "RGB"), ("yuv", "YUV 4:2:0")):
            print(f"  {label:<10} this {res_a['this_ms'][key]:6.2f} ms  "  # type: ignore[index]
                  f"that {res_a['that_ms'][key]:6.2f} ms  "  # type: ignore[index]
                  f"this / that {res_a['ratio_this_over_that'][key]:.3f}")  # type: ignore[index]
        return 0
    dehazer = Dehazer()
    clock = [0.0]

    def run_vidclear() -> None:
        clock[0] += 1 / 30
        dehazer(frame, timestamp=clock[0])

    res: dict[str, object] = {"machine": machine(), "frame": [H, W, 3],
                              "frame_source": args.frame or "synthetic"}
    res["warmup_frames"] = args.warmup
    res["vidclear"] = timeit(run_vidclear, args.runs, warmup=args.warmup)
    res["vidclear_threads"] = dehazer._threads.last  # one or all Numba threads, see Dehazer
    assert dehazer.last is not None
    res["tone_curve_gamma"] = dehazer.last.gamma
    res["opencv_fast_dcp"] = timeit(lambda: opencv_fast_dcp(frame), args.runs,
                                    warmup=args.warmup)
    res["textbook_dcp"] = timeit(lambda: textbook_dcp(frame), args.textbook_runs, warmup=1)
    v = res["vidclear"]["median_ms"]  # type: ignore[index]
    res["speedup_vs_opencv_fast"] = res["opencv_fast_dcp"]["median_ms"] / v  # type: ignore[index]
    res["speedup_vs_textbook"] = res["textbook_dcp"]["median_ms"] / v  # type: ignore[index]
    if not args.skip_cold:
        res["first_frame_warm_cache_s"] = cold_start(frame, None)
        with tempfile.TemporaryDirectory() as cache:
            res["first_frame_empty_cache_s"] = cold_start(frame, cache)

    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    m = res["machine"]
    print(f"machine: {m['cpu']}, {m['logical_cpus']} logical CPUs, "  # type: ignore[index]
          f"numba threads {m['numba_threads']}, opencv threads {m['opencv_threads']}")  # type: ignore[index]
    print(f"frame: {W}x{H} RGB uint8, {res['frame_source']}; "
          f"tone curve exponent {res['tone_curve_gamma']:.3f}"
          f"{' (identity: no lookup table)' if res['tone_curve_gamma'] >= 0.999 else ''}")  # type: ignore[operator]
    for key in ("vidclear", "opencv_fast_dcp", "textbook_dcp"):
        r = res[key]
        print(f"{key:<16} median {r['median_ms']:9.2f} ms  IQR {r['iqr_ms']:7.2f} ms  "  # type: ignore[index]
              f"{r['fps']:8.1f} fps  ({r['runs']} runs)")  # type: ignore[index]
    print(f"speed-up vs OpenCV-only: {res['speedup_vs_opencv_fast']:.1f}x, "
          f"vs textbook DCP: {res['speedup_vs_textbook']:.0f}x")
    print(f"vidclear ran on {res['vidclear_threads']} thread(s) at the end "
          "(chosen per frame from measured times)")
    if not args.skip_cold:
        print(f"cold start, first frame out with a warm Numba cache: "
              f"{res['first_frame_warm_cache_s']:.2f} s")
        print(f"first run, empty Numba cache (compile included): "
              f"{res['first_frame_empty_cache_s']:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
