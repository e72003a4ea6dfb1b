"""Ghosting (doubled edges) of rolling-bracket HDR on the real alternating-exposure clips.

For each clip in ../shared/data/hdr/altexp-video (Chen et al., ICCV 2021) the
first 48 frames go through ``hdr_bracket`` (exposures found automatically)
three ways: no alignment and no de-ghosting; the default (translation
alignment, de-ghosting); and DIS optical-flow motion compensation plus
de-ghosting (``flow = true``). The measure: the share of the output's edge
pixels (Canny on luma, thresholds 60/140) that have no edge of the newest
input frame within 2 pixels, averaged over frames 10-47. A doubled edge left
by a moving person counts; so do edges that only the merged exposures reveal
(in clipped or black areas of the newest frame), which is why the figure is
not zero even for a perfect merge: compare the columns, not the values.
Nothing was tuned on these clips.

    python scripts/quality_hdr_ghosting.py [--json]
"""

from __future__ import annotations

import argparse
import json
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from vidclear.core.frame import Frame
from vidclear.processors.hdr import HDRBracket

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "hdr" / "altexp-video"
MODES = {"none": {"align": False, "deghost": 0.0}, "default": {},
         "flow": {"flow": True}}


def read(path: Path, n: int = 48) -> list[np.ndarray]:
    out = []
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            out.append(f.to_ndarray(format="rgb24"))
            if len(out) >= n:
                break
    return out


def _edges(img: np.ndarray) -> np.ndarray:
    return cv2.Canny(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), 60, 140) > 0


def ghost_share(outputs: list[np.ndarray], inputs: list[np.ndarray]) -> float:
    """Mean share of output edge pixels with no input edge within 2 px."""
    kernel = np.ones((5, 5), np.uint8)
    shares = []
    for o, i in zip(outputs, inputs, strict=True):
        eo = _edges(o)
        near = cv2.dilate(_edges(i).astype(np.uint8), kernel) > 0
        if eo.any():
            shares.append(float((eo & ~near).sum() / eo.sum()))
    return float(np.mean(shares)) if shares else 0.0


def run(images: list[np.ndarray], **params: object) -> list[np.ndarray]:
    p = HDRBracket(**params)  # type: ignore[arg-type]
    outs = [o for i, x in enumerate(images)
            if (o := p(Frame(x, pts=i, time_base=Fraction(1, 24)))) is not None]
    return [o.image for o in outs + p.flush()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = []
    for path in sorted(DATA.glob("*/*.mp4")):
        imgs = read(path)
        row = {"clip": f"{path.parent.name}/{path.name}"}
        for mode, params in MODES.items():
            row[mode] = ghost_share(run(imgs, **params)[10:], imgs[10:])
        rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'clip':62s} " + " ".join(f"{m:>8s}" for m in MODES))
    for r in rows:
        print(f"{r['clip']:62s} " + " ".join(f"{r[m]:8.3f}" for m in MODES))
    if rows:
        print(f"{'mean':62s} " + " ".join(f"{np.mean([r[m] for r in rows]):8.3f}"
                                          for m in MODES))


if __name__ == "__main__":
    main()
