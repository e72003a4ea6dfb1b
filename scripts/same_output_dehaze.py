"""Whether this checkout's dehazer gives the same bytes as another checkout's, frame for frame.

For a change meant to keep the output (moving code between modules, a
faster kernel): every output of a set of clips is hashed (SHA-1) by each
checkout in its own subprocess, and the two lists are compared. The clips
are made here, once, so both checkouts read the same input:

* ``road``: the demo's road scene (``RoadScene``, 640×360, 3 s at 30 fps)
  under fog that thickens from β 0.3 to 1.5, a white van driving in from
  the right in the second half;
* ``road_bars``: the same letterboxed (2.39:1 bars) with a white subtitle
  in the lower bar for a second, and the clock jumping back 2 s (a seek)
  at frame 60;
* ``pan_<still>``: for each hazy still in ``../shared/data/dehaze/hazy-stills``
  (when present), a 60-frame pan across it that fades to 70 % in its
  second half;
* ``still_<still>``: ``dehaze_image`` on each still.

Each clip goes through ``Dehazer.process`` (RGB) and, in a second
``Dehazer``, through ``process_yuv420`` (BT.601 planes made with OpenCV).
Prints each clip's verdict and the first frame that differs; exits 0 when
every output is the same, 1 otherwise. Usage::

    git worktree add /tmp/before HEAD~1
    python scripts/same_output_dehaze.py --against /tmp/before
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
STILLS = ROOT.parent / "shared" / "data" / "dehaze" / "hazy-stills"
sys.path.insert(0, str(ROOT))

from vidclear.dehaze.synth import scatter, transmission  # noqa: E402
from vidclear.io.sources.synthetic import RoadScene  # noqa: E402

RUN = """
import hashlib, json, sys
sys.path.insert(0, {tree!r})
import cv2
import numpy as np
import vidclear
from vidclear.dehaze import Dehazer, dehaze_image
assert vidclear.__file__.startswith({tree!r}), vidclear.__file__
clips = np.load({path!r})
sha = lambda a: hashlib.sha1(np.ascontiguousarray(a).tobytes()).hexdigest()
out = {{}}
for name in clips.files:
    if name.endswith("_times"):
        continue
    frames = clips[name]
    if name.startswith("still_"):
        out[name] = [sha(dehaze_image(frames[0]))]
        continue
    times = clips[name + "_times"]
    rgb, yuv = Dehazer(), Dehazer()
    a, b = [], []
    for frame, t in zip(frames, times, strict=True):
        a.append(sha(rgb.process(frame, float(t)).image))
        h, w = frame.shape[:2]
        i420 = cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420)
        rest = i420[h:].ravel()
        q = (h // 2) * (w // 2)
        res = yuv.process_yuv420(i420[:h], rest[:q].reshape(h // 2, w // 2),
                                 rest[q:].reshape(h // 2, w // 2), float(t))
        b.append(sha(np.concatenate([p.ravel() for p in res.planes])))
    out[name + " (RGB)"], out[name + " (YUV 4:2:0)"] = a, b
print(json.dumps(out))
"""


def road_clips(count: int | None = None) -> dict[str, np.ndarray]:
    """The road scene in thickening fog with a van, plain and letterboxed (module doc);
    its first ``count`` frames only when given."""
    scene = RoadScene(width=640, height=360, seconds=3.0, rate=30)
    frames = []
    for i in range(scene.frames if count is None else min(count, scene.frames)):
        clear, depth = scene.render_with_depth(i / 30)
        beta = 0.3 + 1.2 * i / (scene.frames - 1)
        img = scatter(clear, transmission(np.minimum(depth, 150.0) / 150.0, beta=beta), 0.85)
        if i >= scene.frames // 2:  # a white van driving in from the right
            img[200:300, max(640 - 8 * (i - scene.frames // 2), 0):] = 245
        frames.append(img)
    road = np.stack(frames)
    bars = road.copy()
    bars[:, :46], bars[:, -46:] = 0, 0
    bars[30:60, -30:-20, 200:440] = 235  # a subtitle in the lower bar
    times = np.arange(len(road)) / 30.0
    jumped = times.copy()
    jumped[60:] -= 2.0  # a seek back
    return {"road": road, "road_times": times, "road_bars": bars, "road_bars_times": jumped}


def still_clips() -> dict[str, np.ndarray]:
    """A pan with a fade over each hazy still in ../shared, and the still itself."""
    out: dict[str, np.ndarray] = {}
    if not STILLS.is_dir():
        return out
    for path in sorted(STILLS.iterdir()):
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            continue
        img = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        h, w = img.shape[:2]
        ch, cw = (h * 2 // 3) // 2 * 2, (w * 2 // 3) // 2 * 2
        pan = []
        for i in range(60):
            x = (w - cw) * i // 59
            gain = 1.0 if i < 30 else 1.0 - 0.01 * (i - 30)
            pan.append((img[h - ch:, x:x + cw].astype(np.float32) * gain + 0.5).astype(np.uint8))
        out["pan_" + path.stem] = np.stack(pan)
        out["pan_" + path.stem + "_times"] = np.arange(60) / 30.0
        out["still_" + path.stem] = img[None]
    return out


def hashes(tree: Path, path: str) -> dict[str, list[str]]:
    run = subprocess.run([sys.executable, "-c", RUN.format(tree=str(tree), path=path)],
                         cwd=tempfile.gettempdir(), capture_output=True, text=True)
    if run.returncode != 0:
        tail = run.stderr.strip().splitlines()[-1] if run.stderr.strip() else "no message"
        raise SystemExit(f"same_output_dehaze: the checkout {tree} failed: {tail}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def compare(this: dict[str, list[str]], that: dict[str, list[str]]) -> dict[str, str]:
    """Each clip's verdict: "same (n outputs)", the first output that differs, or one side only."""
    verdicts = {}
    for name in sorted(this.keys() | that.keys()):
        a, b = this.get(name), that.get(name)
        if a is None or b is None:
            verdicts[name] = "only in " + ("that checkout" if a is None else "this checkout")
        elif a == b:
            verdicts[name] = f"same ({len(a)} outputs)"
        else:
            pairs = enumerate(zip(a, b, strict=False))
            first = next((i for i, (x, y) in pairs if x != y), min(len(a), len(b)))
            verdicts[name] = f"DIFFERS from output {first} of {len(a)}"
    return verdicts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--against", type=Path, required=True, metavar="DIR",
                    help="another checkout of vidclear (a git worktree of an older commit)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of text")
    ap.add_argument("--quick", action="store_true",
                    help="only the first 24 frames of the road clip (a smoke test)")
    args = ap.parse_args()
    if not (args.against / "vidclear" / "__init__.py").is_file():
        print(f"same_output_dehaze: {args.against} is no vidclear checkout "
              "(no vidclear/__init__.py)", file=sys.stderr)
        return 2
    if args.quick:
        road = road_clips(24)
        clips = {"road": road["road"], "road_times": road["road_times"]}
    else:
        clips = road_clips() | still_clips()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "clips.npz")
        np.savez(path, **clips)
        this, that = hashes(ROOT, path), hashes(args.against.resolve(), path)
    verdicts = compare(this, that)
    same = all(v.startswith("same") for v in verdicts.values())
    if args.json:
        print(json.dumps({"against": str(args.against.resolve()), "same": same,
                          "clips": verdicts}, indent=2))
    else:
        print(f"this checkout ({ROOT}) against {args.against.resolve()}:")
        for name, verdict in verdicts.items():
            print(f"  {name:36s} {verdict}")
        print("every output the same" if same else "outputs differ")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
