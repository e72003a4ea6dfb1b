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
