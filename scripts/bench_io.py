"""Throughput of a vidclear pipeline against a plain PyAV decode-and-encode loop.

Both decode the same H.264 clip and encode it with identical libx264
settings; the plain loop does nothing else, vidclear runs its threaded
pipeline (decode, process, encode threads, stats, atomic output) with the
given processors. Runs are interleaved and the median of ``--runs`` is
reported with the ratio. The first run warms caches (and the Numba JIT).

    python scripts/bench_io.py                                 # copy, 720p and 1080p
    python scripts/bench_io.py --processors dehaze --sizes 1080p --haze   # end-to-end dehazing
    python scripts/bench_io.py ... --output-peer   # also a transcode of vidclear's own output
    python scripts/bench_io.py --json                          # machine-readable
    python scripts/bench_io.py --processors dehaze --input dashcam.mp4   # your own footage
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np
from _cli import positive_int  # scripts/, the folder of this script

from vidclear import load_config, transcode
from vidclear._version import __version__
from vidclear.errors import VidclearError
from vidclear.io.sources.av_source import video_stream

SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}


def make_input(path: Path, width: int, height: int, frames: int, haze: bool = False) -> Path:
    """An H.264 test clip made from FFmpeg's testsrc2 (moving, textured).

    With ``haze`` every frame is hazed first, ``I = J t + A (1 - t)`` with
    grey airlight A = 0.85 and t from 0.35 at the top to 0.85 at the bottom,
    so a dehazer has work to do (testsrc2 itself reads as clear: the
    automatic strength leaves it untouched).
    """
    graph = f"testsrc2=size={width}x{height}:rate=30:duration={frames / 30}"
    t = np.linspace(0.35, 0.85, height, dtype=np.float32)[:, None, None]
    veil = np.float32(0.85 * 255) * (1 - t)
    with av.open(graph, format="lavfi") as src, av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=30)
        vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
        vs.codec_context.options = {"preset": "ultrafast", "crf": "18"}
        for frame in src.decode(video=0):
            if haze:
                rgb = frame.to_ndarray(format="rgb24").astype(np.float32) * t + veil
                frame = av.VideoFrame.from_ndarray(np.rint(rgb).astype(np.uint8), format="rgb24")
            for p in vs.encode(frame):
                out.mux(p)
        for p in vs.encode(None):
            out.mux(p)
    return path


def plain_loop(src: Path, dst: Path, *, preset: str, crf: int) -> int:
    """The peer: decode and re-encode with PyAV, no pipeline.

    The video stream vidclear would process; odd sizes are scaled to even
    ones for 4:2:0 (vidclear pads them); frames go out in decoding order
    with their own pts when those increase, else on a fresh count.
    """
    n = 0
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        ivs = video_stream(inp)
        if ivs is None:
            raise ValueError("no video stream")
        ivs.thread_type = "AUTO"
        w, h = ivs.codec_context.width, ivs.codec_context.height
        ovs = out.add_stream("libx264", rate=ivs.average_rate or 30)
        ovs.width, ovs.height, ovs.pix_fmt = w + w % 2, h + h % 2, "yuv420p"
        ovs.time_base = ivs.time_base
        ovs.codec_context.time_base = ivs.time_base
        ovs.thread_type = "AUTO"
        ovs.codec_context.options = {"preset": preset, "crf": str(crf)}
        last = None
        for frame in inp.decode(ivs):
            if (w, h) != (ovs.width, ovs.height) or frame.format.name != "yuv420p":
                pts = frame.pts
                frame = frame.reformat(width=ovs.width, height=ovs.height, format="yuv420p")
                frame.pts = pts
            if frame.pts is None or (last is not None and frame.pts <= last):
                frame.pts = (last or 0) + 1  # a VFR or damaged clock: keep it increasing
            last = frame.pts
            frame.time_base = ivs.time_base
            frame.pict_type = av.video.frame.PictureType.NONE
            for p in ovs.encode(frame):
                out.mux(p)
            n += 1
        for p in ovs.encode(None):
            out.mux(p)
    return n


def vidclear_run(src: Path, dst: Path, *, preset: str, crf: int,
                 processors: list[str]) -> int:
    cfg = load_config(overrides=[f"output.preset={preset}", f"output.crf={crf}",
                                 "output.pix_fmt=yuv420p",
                                 f"pipeline.processors={json.dumps(processors)}"])
    return transcode(str(src), dst, config=cfg, overwrite=True).frames_out


def machine() -> dict:
    return {"python": platform.python_version(), "platform": platform.platform(),
            "cpus": os.cpu_count(), "pyav": av.__version__,
            "ffmpeg": ".".join(map(str, av.library_versions["libavcodec"])),
            "vidclear": __version__}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    ap.add_argument("--frames", type=positive_int, default=150,
                    help="frames per clip (default 150)")
    ap.add_argument("--runs", type=positive_int, default=3,
                    help="timed runs per variant (default 3)")
    ap.add_argument("--preset", default="veryfast")
    ap.add_argument("--crf", type=int, default=20)
    ap.add_argument("--processors", nargs="+", default=["copy"],
                    help="vidclear processors to run (default: copy)")
    ap.add_argument("--haze", action="store_true",
                    help="haze the test clip first (for dehaze: testsrc2 alone reads as clear)")
    ap.add_argument("--output-peer", action="store_true",
                    help="also time the plain loop on vidclear's output (a transcode of "
                         "content like vidclear's)")
    ap.add_argument("--input", type=Path, nargs="+", default=[], metavar="FILE",
                    help="time on these video files (whole) instead of made testsrc2 clips "
                         "(--sizes, --frames and --haze then do not apply)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = ap.parse_args()
    for path in args.input:
        try:
            with av.open(str(path)) as c:
                if not c.streams.video:
                    raise ValueError("no video stream")
        except (av.FFmpegError, OSError, ValueError) as exc:
            print(f"bench_io: --input {path}: cannot read ({exc})", file=sys.stderr)
            return 2
    try:  # a bad processor name, preset or crf: one line, before any clip is made
        load_config(overrides=[f"pipeline.processors={json.dumps(args.processors)}",
                               f"output.preset={args.preset}", f"output.crf={args.crf}"])
    except VidclearError as exc:
        print(f"bench_io: {exc}", file=sys.stderr)
        return 2

    results = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        cases = [(p.name, p) for p in args.input] or [(name, None) for name in args.sizes]
        for name, src in cases:
            expected = None if src is not None else args.frames
            if src is None:
                w, h = SIZES[name]
                src = make_input(Path(tmp) / f"{name}.mp4", w, h, args.frames, args.haze)
            times: dict[str, list[float]] = {"plain": [], "vidclear": []}
            runners = {"plain": plain_loop,
                       "vidclear": functools.partial(vidclear_run, processors=args.processors)}
            inputs = {"plain": src, "vidclear": src}
            if args.output_peer:
                # the plain loop again, on vidclear's first output: a transcode of
                # content like vidclear's (restored detail costs the encoder more)
                times["plain_on_output"] = []
                runners["plain_on_output"] = plain_loop
                inputs["plain_on_output"] = Path(tmp) / "peer_input.mp4"
            for run in range(args.runs + 1):  # run 0 warms caches and is not counted
                for label, fn in runners.items():
                    t0 = time.perf_counter()
                    try:
                        n = fn(inputs[label], Path(tmp) / f"out_{label}.mp4",
                               preset=args.preset, crf=args.crf)
                    except (VidclearError, av.FFmpegError, ValueError) as exc:
                        who = "vidclear" if label == "vidclear" else "the plain PyAV loop"
                        reason = str(exc).removeprefix("vidclear: ").splitlines()[0]
                        raise SystemExit(f"bench_io: {name}: {who} cannot transcode it "
                                         f"({reason})") from None
                    dt = time.perf_counter() - t0
                    if expected is None:  # a file of yours: the plain loop's count
                        expected = n
                    if n != expected:
                        raise SystemExit(f"bench_io: {name}: {label} wrote {n} frames, "
                                         f"the plain loop {expected}")
                    if run:
                        times[label].append(dt)
                    elif label == "vidclear" and args.output_peer:
                        (Path(tmp) / "out_vidclear.mp4").rename(inputs["plain_on_output"])
            if statistics.median(times["plain"]) < 2.0:
                notes.append(f"{name}: the plain loop takes under 2 s; fixed start-up costs "
                             "(opening, threads, warming the encoder) weigh in the ratio: "
                             "a longer clip measures the steady rate")
            fps = {k: expected / statistics.median(v) for k, v in times.items()}
            spread = {k: (expected / max(v), expected / min(v)) for k, v in times.items()}
            results.append({"size": name, "frames": expected, "runs": args.runs,
                            "plain_fps": round(fps["plain"], 1),
                            "vidclear_fps": round(fps["vidclear"], 1),
                            "plain_fps_range": [round(x, 1) for x in spread["plain"]],
                            "vidclear_fps_range": [round(x, 1) for x in spread["vidclear"]],
                            "ratio": round(fps["vidclear"] / fps["plain"], 3)})
            if args.output_peer:
                results[-1]["plain_on_output_fps"] = round(fps["plain_on_output"], 1)
                results[-1]["ratio_vs_output_transcode"] = round(
                    fps["vidclear"] / fps["plain_on_output"], 3)
    made = " (hazed testsrc2)" if args.haze else ""
    report = {"benchmark": f"vidclear {'+'.join(args.processors)} vs plain PyAV decode+encode"
                           f"{' (your files)' if args.input else made}",
              "encoder": f"libx264 preset={args.preset} crf={args.crf} yuv420p",
              "machine": machine(), "results": results, "notes": notes}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{report['benchmark']} ({report['encoder']})")
    m = report["machine"]
    print(f"machine: {m['cpus']} logical CPUs, {m['platform']}, Python {m['python']}, "
          f"PyAV {m['pyav']} (libavcodec {m['ffmpeg']}), vidclear {m['vidclear']}")
    col = max(7, *(len(r["size"]) + 1 for r in results))
    print(f"{'clip':<{col}}{'plain fps':>12}{'vidclear fps':>15}{'ratio':>8}"
          f"   (median of {args.runs})")
    for r in results:
        print(f"{r['size']:<{col}}{r['plain_fps']:>12.1f}{r['vidclear_fps']:>15.1f}"
              f"{r['ratio']:>8.3f}")
        if "plain_on_output_fps" in r:
            print(f"{'':<{col}}plain loop on vidclear's output: "
                  f"{r['plain_on_output_fps']:.1f} fps, "
                  f"vidclear = {r['ratio_vs_output_transcode']:.3f} of it")
    for note in notes:
        print(f"note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
