"""Brightness steps of the video dehazer on fades and exposure ramps.

A fade or an auto-exposure ramp scales every radiance in the frame; a
dehazer whose airlight lags makes the output outgrow the input and then
drop when it catches up, a saw-tooth in brightness. For each clip this
prints the worst frame-to-frame step of the output's mean luma beyond the
input's own step (levels of 255; negative: the output darkened while the
input did not) and the mean absolute such step.

The clips are made here from a hazy still (``../shared/data``, or a
synthetic hazy road when it is absent), through libx264 (CRF 20) and back,
and run through :class:`vidclear.Dehazer` on the decoded YUV planes, as
``vidclear run`` does.

    python scripts/fade_dehaze.py [--still PATH] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import av
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from quality_dehaze import x264_round_trip  # noqa: E402

from vidclear import Dehazer  # noqa: E402
from vidclear.io.sources.synthetic import RoadScene  # noqa: E402

STILL = HERE.parent / ".." / "shared" / "data" / "dehaze" / "hazy-stills" / "he_hongkong.bmp"
FPS = 25


def _still(path: Path | None) -> np.ndarray:
    if path is not None and path.exists():
        with av.open(str(path)) as c:
            img = next(c.decode(video=0)).to_ndarray(format="rgb24")
    else:  # a synthetic hazy road
        img = RoadScene(width=640, height=360).render(1.0)
        img = (img.astype(np.float64) * 0.6 + 0.4 * 230).astype(np.uint8)
    h, w = img.shape[:2]
    return img[: h // 2 * 2, : w // 2 * 2]


def clips(still: np.ndarray) -> dict[str, list[np.ndarray]]:
    """name -> RGB frames (uint8): fades, an exposure ramp, a pan and a static shot."""
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
    return {k: [np.clip(v + 0.5, 0, 255).astype(np.uint8) for v in frames]
            for k, frames in out.items()}


def steps(planes: list[np.ndarray]) -> dict[str, float]:
    d = Dehazer()
    lum_in, lum_out = [], []
    for k, yuv in enumerate(planes):
        h = yuv.shape[0] * 2 // 3
        y, rest = yuv[:h], yuv[h:].reshape(2, h // 2, -1)
        res = d.process_yuv420(y, rest[0], rest[1], timestamp=k / FPS)
        lum_in.append(float(y.mean()))
        lum_out.append(float(res.planes[0].astype(np.float64).mean()))
    extra = np.diff(lum_out) - np.diff(lum_in)
    k = int(np.argmax(np.abs(extra)))
    return {"worst_step": float(extra[k]), "at_frame": k + 1,
            "mean_abs_step": float(np.abs(extra).mean())}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--still", type=Path, default=STILL, help="hazy still to make clips of")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = ap.parse_args()
    still = _still(args.still)
    report = {name: steps(x264_round_trip(frames, rate=FPS, crf=20)[0])
              for name, frames in clips(still).items()}
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    src = args.still if args.still.exists() else "synthetic hazy road"
    print(f"output luma steps beyond the input's, levels of 255 ({src}, {FPS} fps, 3 s)")
    print(f"  {'clip':<26} {'worst':>7} {'frame':>6} {'mean |step|':>12}")
    for name, r in report.items():
        print(f"  {name:<26} {r['worst_step']:>+7.1f} {r['at_frame']:>6d} "
              f"{r['mean_abs_step']:>12.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
