"""Shared media for the batch tests: small clips with short GOPs."""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def hazy_frame(i: int, w: int, h: int) -> np.ndarray:
    """A textured scene under haze whose density drifts slowly (so dehaze state matters)."""
    y, x = np.mgrid[0:h, 0:w]
    scene = np.stack([(x * 3 + i * 2) % 200, (y * 4 + i) % 180, ((x // 10 + y // 10) % 2) * 150],
                     axis=-1).astype(np.float32)
    t = 0.45 + 0.15 * np.sin(i / 25.0) + 0.3 * (y / h)
    air = 225.0
    return np.clip(scene * t[..., None] + air * (1 - t[..., None]), 0, 255).astype(np.uint8)


def make_long_clip(path: Path, *, seconds: float = 4.0, rate: int = 25, size=(160, 120),
                   gop: int = 25) -> Path:
    """H.264 (keyframe every ``gop`` frames, B-frames on) + AAC clip of hazy frames."""
    w, h = size
    n = int(seconds * rate)
    tb = Fraction(1, 12800)
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=rate)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.time_base = tb
        vs.codec_context.time_base = tb
        vs.codec_context.options = {"preset": "ultrafast", "g": str(gop), "bf": "2",
                                    "keyint_min": str(gop), "sc_threshold": "0"}
        as_ = out.add_stream("aac", rate=48000)
        as_.layout = "mono"
        step = int(1 / (rate * tb))
        for i in range(n):
            fr = av.VideoFrame.from_ndarray(hazy_frame(i, w, h), format="rgb24")
            fr.pts, fr.time_base = i * step, tb
            for p in vs.encode(fr):
                out.mux(p)
        for p in vs.encode(None):
            out.mux(p)
        total = int(48000 * seconds)
        tone = (0.3 * np.sin(2 * np.pi * 330 * np.arange(total) / 48000)).astype(np.float32)
        for k, start in enumerate(range(0, total, 1024)):
            af = av.AudioFrame.from_ndarray(tone[None, start:start + 1024], format="flt",
                                            layout="mono")
            af.sample_rate, af.pts, af.time_base = 48000, k * 1024, Fraction(1, 48000)
            for p in as_.encode(af):
                out.mux(p)
        for p in as_.encode(None):
            out.mux(p)
    return path


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """in/a.mp4, in/sub/b.mp4, in/c.mp4 (short) and long.mp4 (4 s, GOP 1 s)."""
    from media import make_clip

    root = tmp_path_factory.mktemp("batch-media")
    (root / "in" / "sub").mkdir(parents=True)
    make_clip(root / "in" / "a.mp4", n=12, size=(96, 64))
    make_clip(root / "in" / "sub" / "b.mp4", n=12, size=(96, 64))
    make_clip(root / "in" / "c.mp4", n=12, size=(96, 64), audio=False)
    make_long_clip(root / "long.mp4")
    return root
