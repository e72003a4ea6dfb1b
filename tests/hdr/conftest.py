from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "hdr"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"test data {path} not available")
    return path


@pytest.fixture(scope="session")
def memorial():
    """Memorial bracket (RGB, halved to 256×384) and OpenCV's exposure times."""
    d = _need(DATA / "memorial")
    lst = _need(DATA / "opencv-reference" / "list.txt").read_text().split("\n")
    times = np.array([1.0 / float(line.split()[1]) for line in lst if line.strip()], np.float32)
    imgs = [np.ascontiguousarray(cv2.imread(str(d / f"memorial{61 + i:04d}.png"))[::2, ::2, ::-1])
            for i in range(16)]
    return imgs, times


@pytest.fixture(scope="session")
def memorial_full():
    d = _need(DATA / "memorial")
    lst = _need(DATA / "opencv-reference" / "list.txt").read_text().split("\n")
    times = np.array([1.0 / float(line.split()[1]) for line in lst if line.strip()], np.float32)
    imgs = [np.ascontiguousarray(cv2.imread(str(d / f"memorial{61 + i:04d}.png"))[:, :, ::-1])
            for i in range(16)]
    return imgs, times


@pytest.fixture(scope="session")
def refdir():
    return _need(DATA / "opencv-reference")


@pytest.fixture(scope="session")
def frobisher():
    return _need(DATA / "frobisher")


@pytest.fixture(scope="session")
def brackets():
    """The desktop and street brackets (``image_list.txt``: file, time in s, 1 / time)."""
    return _need(DATA / "brackets")


def scene(h=48, w=64, seed=0, span=6.0):
    """A smooth random radiance map spanning about 2**span, H×W×3 float32."""
    rng = np.random.default_rng(seed)
    small = rng.random((h // 8 + 2, w // 8 + 2, 3)).astype(np.float32)
    big = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    ramp = np.linspace(-span / 2, span / 2, w, dtype=np.float32)[None, :, None]
    return (np.exp2(ramp + (big - 0.5) * 2.0)).astype(np.float32)


def shoot(light, times, *, srgb=True, seed=1):
    """8-bit exposures of the radiance maps ``light`` (H×W×3, one per time), with noise.

    sRGB's curve or a linear camera, clipped at 1, noise of one level.
    """
    rng = np.random.default_rng(seed)
    out = []
    for t, e in zip(times, light, strict=True):
        x = np.clip(e * t, 0, 1)
        if srgb:
            x = np.where(x <= 0.0031308, 12.92 * x, 1.055 * x ** (1 / 2.4) - 0.055)
        out.append(np.clip(np.rint(x * 255 + rng.normal(0, 1, x.shape)), 0, 255)
                   .astype(np.uint8))
    return np.stack(out)


def night(pos, h=240, w=320):
    """A night street lit from one side, with a lit bus 120 px wide at column ``pos``."""
    yy, xx = np.mgrid[0:h, 0:w] / np.array([h, w])[:, None, None]
    e = 2.0 ** (-7 + 1.5 * yy + 0.5 * xx)
    e[h // 4:h * 5 // 6, pos:pos + 120] = 1.0
    return np.repeat(e[..., None], 3, 2) * np.array([1.0, 0.9, 0.8])
