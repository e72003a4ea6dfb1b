"""Brightness steps of the video dehazer on fades and exposure ramps.

A fade or an auto-exposure ramp scales every radiance in the frame; a
dehazer whose airlight lags makes the output outgrow the input and then
drop when it catches up, a saw-tooth in brightness; a fade trips a scene-cut
detector that reads histograms, and each false cut starts the state afresh
from one frame. For each clip this prints the worst frame-to-frame step of
the output's mean luma beyond the input's own step (levels of 255;
negative: the output darkened while the input did not), the mean absolute
such step, and how far the output's mean luma is from a dehazer started
afresh after the transition (mean |difference| over the last half second,
0.5 to 1 s after it; a stale airlight or colour gain shows here).

The clips are made here from a hazy still (``../shared/data``, or a
synthetic hazy road when it is absent), through libx264 (CRF 20) and back,
and run through :class:`vidclear.Dehazer` on the decoded YUV planes, as
``vidclear run`` does. ``--into`` adds a 1 s dissolve and a fade through
black into a second still; ``--fog T`` takes the stills as clear and fogs
them first (``I = J T + 0.85 (1 - T)``, with 1.5 levels of noise), for a dark
scene under thick fog, and adds fog rolling in (t from T + 0.6, at most
0.95, down to T over 2 s) and thinning out (the reverse) over the clear
still: a scene whose levels fill a narrow band brightens under thickening
fog by nearly one ratio everywhere, as an exposure step would.

    python scripts/fade_dehaze.py [--still PATH] [--into PATH] [--fog T] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import av
import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from quality_dehaze import x264_round_trip  # noqa: E402

from vidclear import Dehazer  # noqa: E402
from vidclear.io.sources.synthetic import RoadScene  # noqa: E402

STILL = HERE.parent / ".." / "shared" / "data" / "dehaze" / "hazy-stills" / "he_hongkong.bmp"
FPS = 25
SETTLED = 2 * FPS  # every transition is over by then


def _still(path: Path | None) -> np.ndarray:
    if path is not None and path.exists():
        with av.open(str(path)) as c:
            img = next(c.decode(video=0)).to_ndarray(format="rgb24")
    else:  # a synthetic hazy road
        img = RoadScene(width=640, height=360).render(1.0)
        img = (img.astype(np.float64) * 0.6 + 0.4 * 230).astype(np.uint8)
    h, w = img.shape[:2]
    return img[: h // 2 * 2, : w // 2 * 2]


def _fog(still: np.ndarray, t: float) -> np.ndarray:
    """``still`` (uint8 RGB) taken as clear, under fog of transmission ``t`` (airlight 0.85)."""
    noise = np.random.default_rng(1).normal(0.0, 1.5, still.shape)
    return np.clip(still * t + 255 * 0.85 * (1.0 - t) + noise + 0.5, 0, 255).astype(np.uint8)


def clips(still: np.ndarray, other: np.ndarray | None = None, *,
          clear: np.ndarray | None = None, fog: float | None = None
          ) -> dict[str, list[np.ndarray]]:
    """name -> RGB frames (uint8): fades, an exposure ramp, a pan and a static shot.

    With ``other`` (the same shape as ``still``), also a 1 s dissolve and a
    fade through black (0.5 s out, 0.5 s in) from ``still`` into it, from 1 s.
    With ``clear`` and ``fog`` (``still`` before fogging, and its
    transmission), also fog rolling in over it to ``fog`` and thinning out
    from it, over the first 2 s.
    """
    f = still.astype(np.float64)
    n = 3 * FPS
    ramp = np.linspace(0.0, 1.0, 2 * FPS)

    def at(k: int) -> float:
        return float(ramp[min(k, ramp.size - 1)])
    out: dict[str, list[np.ndarray]] = {
        "fade from black": [f * (0.05 + 0.95 * at(k)) for k in range(n)],
        "fade from white": [f * at(k) + 255 * (1 - at(k)) for k in range(n)],
        "exposure ramp 0.6 to 1.0": [f * (0.6 + 0.4 * at(k)) for k in range(n)],
        "static": [f for _ in range(n)],
    }
    w = still.shape[1]
    cw = w // 2 // 2 * 2
    out["pan"] = [f[:, round((w - cw) * k / (n - 1)):][:, :cw] for k in range(n)]
    if clear is not None and fog is not None:
        thin = min(fog + 0.6, 0.95)
        c = clear.astype(np.float64)
        noise = np.random.default_rng(1).normal(0.0, 1.5, c.shape)

        def fogged(t: float) -> np.ndarray:
            return c * t + 255 * 0.85 * (1.0 - t) + noise
        out["fog rolling in"] = [fogged(thin + (fog - thin) * at(k)) for k in range(n)]
        out["fog thinning out"] = [fogged(fog + (thin - fog) * at(k)) for k in range(n)]
    if other is not None:
        g = other.astype(np.float64)

        def mix(k: int) -> float:  # 0 before 1 s, 1 after 2 s
            return float(np.clip((k - FPS) / FPS, 0.0, 1.0))
        out["dissolve into another"] = [f + mix(k) * (g - f) for k in range(n)]
        out["through black into another"] = [
            f * max(1.0 - 2.0 * mix(k), 0.0) + g * max(2.0 * mix(k) - 1.0, 0.0)
            for k in range(n)]
    return {k: [np.clip(v + 0.5, 0, 255).astype(np.uint8) for v in frames]
            for k, frames in out.items()}


def _planes(yuv: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    h = yuv.shape[0] * 2 // 3
    rest = yuv[h:].reshape(2, h // 2, -1)
    return yuv[:h], rest[0], rest[1]


def steps(planes: list[np.ndarray]) -> dict[str, float]:
    d, fresh = Dehazer(), Dehazer()
    lum_in, lum_out, gap = [], [], []
    for k, yuv in enumerate(planes):
        y, u, v = _planes(yuv)
        res = d.process_yuv420(y, u, v, timestamp=k / FPS)
        lum_in.append(float(y.mean()))
        lum_out.append(float(res.planes[0].astype(np.float64).mean()))
        if k >= SETTLED:
            ref = fresh.process_yuv420(y, u, v, timestamp=k / FPS)
            gap.append(lum_out[-1] - float(ref.planes[0].astype(np.float64).mean()))
    extra = np.diff(lum_out) - np.diff(lum_in)
    k = int(np.argmax(np.abs(extra)))
    return {"worst_step": float(extra[k]), "at_frame": k + 1,
            "mean_abs_step": float(np.abs(extra).mean()),
            "off_fresh": float(np.abs(gap[-FPS // 2:]).mean())}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--still", type=Path, default=STILL, help="hazy still to make clips of")
    ap.add_argument("--into", type=Path, default=None,
                    help="a second still: adds a dissolve and a fade through black into it")
    ap.add_argument("--fog", type=float, default=None, metavar="T",
                    help="take the stills as clear and fog them to transmission T in (0, 1]")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = ap.parse_args()
    for path in (args.still, args.into):
        if path is not None and not path.exists() and path != STILL:
            print(f"fade_dehaze.py: error: {path} not found", file=sys.stderr)
            return 2
    if args.fog is not None and not 0.0 < args.fog <= 1.0:
        print(f"fade_dehaze.py: error: --fog must be in (0, 1], got {args.fog}", file=sys.stderr)
        return 2
    still = _still(args.still)
    other = None
    if args.into is not None:
        other = cv2.resize(_still(args.into), (still.shape[1], still.shape[0]),
                           interpolation=cv2.INTER_AREA)
    clear = still
    if args.fog is not None:
        still = _fog(still, args.fog)
        other = None if other is None else _fog(other, args.fog)
    report = {name: steps(x264_round_trip(frames, rate=FPS, crf=20)[0])
              for name, frames in clips(still, other, clear=clear, fog=args.fog).items()}
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    src = args.still if args.still.exists() else "synthetic hazy road"
    into = "" if args.into is None else f" into {args.into}"
    fog = "" if args.fog is None else f", fogged to t = {args.fog:g}"
    print(f"output luma steps beyond the input's, levels of 255 ({src}{into}{fog}, "
          f"{FPS} fps, 3 s)")
    print(f"  {'clip':<26} {'worst':>7} {'frame':>6} {'mean |step|':>12} {'off fresh':>10}")
    for name, r in report.items():
        print(f"  {name:<26} {r['worst_step']:>+7.1f} {r['at_frame']:>6d} "
              f"{r['mean_abs_step']:>12.2f} {r['off_fresh']:>10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
