"""Full-reference quality of vidclear's dehazer on the real O-HAZE pairs.

For each hazy / haze-free pair in ``<repo>/../shared/data/dehaze/o-haze``
this reports PSNR (dB, higher is better), SSIM (higher is better) and mean
CIEDE2000 (lower is better) against the haze-free image for: the hazy input,
the textbook dark channel prior (scripts/baselines_dehaze.py) and vidclear
with its default settings. Images are downscaled with area averaging so
their long side is ``--size`` pixels (default 1024; the originals are up to
2556 pixels wide); all three methods see the same downscaled input.

The two pairs are for reporting only: vidclear's defaults were not fitted
to them.

Data: C. O. Ancuti, C. Ancuti, R. Timofte, C. De Vleeschouwer, "O-HAZE: a
dehazing benchmark with real hazy and haze-free outdoor images", CVPR
Workshops (NTIRE) 2018.

Usage::

    python scripts/quality_dehaze.py [--size 1024] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baselines_dehaze import textbook_dcp

from vidclear.dehaze import dehaze_image
from vidclear.metrics import ciede2000, psnr, ssim

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "dehaze" / "o-haze"
PAIRS = ["27", "35"]


def load(path: Path, size: int) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise SystemExit(f"cannot read {path}")
    h, w = bgr.shape[:2]
    scale = size / max(h, w)
    if scale < 1:
        bgr = cv2.resize(bgr, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=1024, help="long side after downscaling")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = ap.parse_args()
    if not DATA.is_dir():
        print(f"O-HAZE data not found in {DATA}", file=sys.stderr)
        return 1
    rows = []
    for name in PAIRS:
        hazy = load(DATA / f"{name}_outdoor_hazy.jpg", args.size)
        gt = load(DATA / f"{name}_outdoor_GT.jpg", args.size)
        outputs = {"hazy input": hazy, "textbook DCP": textbook_dcp(hazy),
                   "vidclear": dehaze_image(hazy)}
        for method, img in outputs.items():
            rows.append({"pair": name, "size": list(hazy.shape[:2]), "method": method,
                         "psnr": psnr(img, gt), "ssim": ssim(img, gt),
                         "ciede2000": ciede2000(img, gt)})
    wins = {}
    for name in PAIRS:
        r = {row["method"]: row for row in rows if row["pair"] == name}
        v, others = r["vidclear"], [r["hazy input"], r["textbook DCP"]]
        wins[name] = (all(v["psnr"] > o["psnr"] for o in others)
                      and all(v["ssim"] > o["ssim"] for o in others)
                      and all(v["ciede2000"] < o["ciede2000"] for o in others))
    if args.json:
        print(json.dumps({"rows": rows, "vidclear_beats_all": wins}, indent=2))
        return 0
    print(f"O-HAZE, long side {args.size} px (PSNR dB up, SSIM up, CIEDE2000 down)")
    print(f"{'pair':>4} {'method':<13} {'PSNR':>7} {'SSIM':>7} {'CIEDE2000':>10}")
    for row in rows:
        print(f"{row['pair']:>4} {row['method']:<13} {row['psnr']:7.2f} {row['ssim']:7.4f} "
              f"{row['ciede2000']:10.2f}")
    for name, ok in wins.items():
        print(f"pair {name}: vidclear beats input and textbook DCP on every metric: {ok}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
