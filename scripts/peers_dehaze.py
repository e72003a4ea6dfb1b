"""Classical single-image dehazing peers for the quality report (scripts only).

Every peer takes and returns RGB uint8 H×W×3. None of them is a vidclear
dependency; they exist so that ``scripts/quality_dehaze.py`` can put
vidclear beside the methods it is usually compared with, in the same run.

* :func:`clahe` -- contrast-limited adaptive histogram equalisation of the
  L* channel (Zuiderveld, Graphics Gems IV, 1994) through OpenCV; the usual
  "just add contrast" baseline.
* :func:`meng2013` -- Meng et al.'s boundary constraint and contextual
  regularisation (ICCV 2013) through the PyPI package ``image-dehazer``
  (its common Python implementation, run with its defaults). The package is
  optional: ``pip install --no-deps image-dehazer scipy`` (its own
  requirements pull in ``opencv-python`` beside the OpenCV build already
  there); without it the peer is skipped and the report says so.
* :func:`zhu2015` -- Zhu, Mai and Shao's colour attenuation prior (IEEE TIP
  24(11), 2015), written here from the paper: scene depth is linear in
  brightness and saturation, ``d = 0.121779 + 0.959710 v - 0.780245 s``
  (the paper's learnt coefficients), refined by a 15×15 minimum filter and
  a guided filter; A is the brightest input pixel among the 0.1 % deepest;
  ``t = exp(-d)`` clipped to [0.1, 0.9].
* :func:`galdran2018` -- Galdran's artificial multi-exposure image fusion
  (Signal Processing 149, 2018), written here from the paper: a set of
  gamma-underexposed versions of the hazy image (each with a little
  spatially-linear saturation boost), fused with contrast and saturation
  weights through a Laplacian pyramid (Mertens et al. 2007).

The textbook dark channel prior lives in ``baselines_dehaze.py``.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

__all__ = ["PEERS", "clahe", "galdran2018", "meng2013", "zhu2015"]


def clahe(rgb: np.ndarray, *, clip: float = 2.0, tiles: int = 8) -> np.ndarray:
    """CLAHE on the L* channel of CIE L*a*b* (OpenCV), chroma untouched."""
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)
    op = cv2.createCLAHE(clipLimit=clip, tileGridSize=(tiles, tiles))
    lab[:, :, 0] = op.apply(lab[:, :, 0])
    return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)


def _meng_impl() -> Callable[..., tuple[np.ndarray, np.ndarray]] | None:
    try:
        import image_dehazer  # optional peer, not a vidclear dependency
    except ImportError:
        return None
    if not hasattr(np, "alltrue"):  # the package still calls np.alltrue, gone in NumPy 2
        setattr(np, "alltrue", np.all)  # noqa: B010
    return image_dehazer.remove_haze  # type: ignore[no-any-return]


def meng2013(rgb: np.ndarray) -> np.ndarray:
    """Meng et al. 2013 through ``image-dehazer`` (BGR inside), defaults, no window."""
    impl = _meng_impl()
    if impl is None:
        raise RuntimeError("the Meng et al. peer needs `pip install --no-deps image-dehazer scipy`")
    out, _ = impl(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), showHazeTransmissionMap=False)
    return cv2.cvtColor(np.clip(out, 0, 255).astype(np.uint8), cv2.COLOR_BGR2RGB)


def _guided(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """He et al.'s guided filter, float64, box means by OpenCV."""
    def box(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, cv2.CV_64F, (2 * radius + 1, 2 * radius + 1),
                             borderType=cv2.BORDER_REFLECT)

    mi, mp = box(guide), box(src)
    a = (box(guide * src) - mi * mp) / (box(guide * guide) - mi * mi + eps)
    b = mp - a * mi
    return box(a) * guide + box(b)


def zhu2015(rgb: np.ndarray, *, patch: int = 15, beta: float = 1.0) -> np.ndarray:
    """Colour attenuation prior (Zhu, Mai and Shao, TIP 2015)."""
    img = rgb.astype(np.float64) / 255.0
    v = img.max(axis=2)
    s = np.where(v > 0, (v - img.min(axis=2)) / np.maximum(v, 1e-6), 0.0)
    depth = 0.121779 + 0.959710 * v - 0.780245 * s
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (patch, patch))
    depth = cv2.erode(depth, kernel)
    grey = img @ np.array([0.299, 0.587, 0.114])
    depth = _guided(grey, depth, radius=patch * 4, eps=1e-3)
    flat = depth.reshape(-1)
    n = max(1, int(0.001 * flat.size))
    idx = np.argpartition(flat, flat.size - n)[flat.size - n:]
    cand = img.reshape(-1, 3)[idx]
    air = cand[np.argmax(cand.sum(axis=1))]
    t = np.clip(np.exp(-beta * depth), 0.1, 0.9)[..., None]
    out = (img - air) / t + air
    return np.rint(np.clip(out, 0.0, 1.0) * 255.0).astype(np.uint8)


def _pyramid_fuse(images: list[np.ndarray], weights: list[np.ndarray]) -> np.ndarray:
    """Mertens-style Laplacian-pyramid fusion of float images with normalised weights."""
    h, w = images[0].shape[:2]
    levels = max(1, int(np.log2(min(h, w))) - 3)
    total = np.sum(weights, axis=0) + 1e-12
    fused: list[np.ndarray] | None = None
    for img, wgt in zip(images, weights, strict=True):
        gw = [wgt / total]
        gi = [img]
        for _ in range(levels):
            gw.append(cv2.pyrDown(gw[-1]))
            gi.append(cv2.pyrDown(gi[-1]))
        lap = [gi[k] - cv2.pyrUp(gi[k + 1], dstsize=gi[k].shape[1::-1])
               for k in range(levels)] + [gi[levels]]
        contrib = [lp * gw[k][..., None] for k, lp in enumerate(lap)]
        fused = contrib if fused is None else [f + c for f, c in zip(fused, contrib, strict=True)]
    if fused is None:
        raise ValueError("nothing to fuse")
    out = fused[-1]
    for k in range(levels - 1, -1, -1):
        out = cv2.pyrUp(out, dstsize=fused[k].shape[1::-1]) + fused[k]
    return out


def galdran2018(rgb: np.ndarray, *, gammas: tuple[float, ...] = (1.0, 2.0, 3.0, 4.0, 5.0)
                ) -> np.ndarray:
    """Artificial multi-exposure fusion (Galdran, Signal Processing 2018).

    Each artificial exposure is the image raised to a gamma >= 1 (haze is
    bright, so under-exposure brings out the contrast hidden in it) after a
    linear saturation stretch; the exposures are fused with weights from
    local contrast (absolute Laplacian of the grey) and saturation (standard
    deviation across channels), as in the paper.
    """
    img = rgb.astype(np.float32) / 255.0
    images, weights = [], []
    for g in gammas:
        grey = img.mean(axis=2, keepdims=True)
        sat = np.clip(grey + (img - grey) * (1.0 + 0.1 * (g - 1.0)), 0.0, 1.0)
        e = np.power(sat, g).astype(np.float32)
        eg = cv2.cvtColor(e, cv2.COLOR_RGB2GRAY)
        contrast = np.abs(cv2.Laplacian(eg, cv2.CV_32F, ksize=3))
        saturation = e.std(axis=2)
        images.append(e)
        weights.append((contrast + 1e-3) * (saturation + 1e-3))
    out = _pyramid_fuse(images, weights)
    return np.rint(np.clip(out, 0.0, 1.0) * 255.0).astype(np.uint8)


def available_peers() -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """The peers runnable here, by report name (Meng et al. only with image-dehazer)."""
    from baselines_dehaze import textbook_dcp

    peers: dict[str, Callable[[np.ndarray], np.ndarray]] = {"textbook DCP": textbook_dcp}
    if _meng_impl() is not None:
        peers["Meng 2013"] = meng2013
    peers["CLAHE"] = clahe
    peers["Zhu 2015 CAP"] = zhu2015
    peers["Galdran 2018 AMEF"] = galdran2018
    return peers


PEERS = ("textbook DCP", "Meng 2013", "CLAHE", "Zhu 2015 CAP", "Galdran 2018 AMEF")
