"""Atmospheric light (airlight) estimation for a single frame.

Two estimators, both run on a working-size RGB float32 image in [0, 1]:

* ``"dcp"``: He et al.'s rule. Take the pixels whose dark channel is in the
  top ``fraction`` (0.1 %), then average the colour of the brightest tenth of
  them. Averaging instead of taking the single brightest pixel keeps one
  specular highlight or noisy pixel from setting A.
* ``"quadtree"``: Kim et al.'s hierarchical search. Split the image into
  quadrants, keep the one with the largest mean minus standard deviation of
  grey, repeat until the region is small, and within it average the tenth of
  the pixels closest to white. Bright but textured objects (cars, lamps)
  score low because of their standard deviation.

Temporal smoothing of A lives in :mod:`vidclear.dehaze.temporal`.
"""

from __future__ import annotations

import numpy as np

from vidclear._arrays import native
from vidclear.dehaze import _kernels as _k
from vidclear.errors import ArrayError, ConfigError
from vidclear.kernels import _filters as _kf
from vidclear.kernels.colour import BT601

__all__ = ["LUMA", "airlight_dcp", "airlight_quadtree", "candidates", "drop_small_clipped",
           "estimate_airlight", "neutral_pull", "veil_colour"]

#: Rec. 601 luma weights used for every grey plane in the dehazer.
LUMA = BT601  # BT.601 luma weights (R, G, B), float32


def _work_image(img: np.ndarray) -> np.ndarray:
    arr = native(np.asarray(img))
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.size == 0:
        raise ArrayError(f"img must be a non-empty H×W×3 RGB array, got shape {arr.shape}")
    if arr.dtype == np.uint8:
        return np.ascontiguousarray(arr, dtype=np.float32) / np.float32(255)
    if arr.dtype == np.uint16:
        return np.ascontiguousarray(arr, dtype=np.float32) / np.float32(65535)
    if arr.dtype.kind == "f":
        out = np.ascontiguousarray(arr, dtype=np.float32)
        if not np.isfinite(out).all() or out.min() < 0 or out.max() > 1:
            raise ArrayError("float img must be finite and in [0, 1]")
        return out
    raise ArrayError(f"img dtype must be uint8, uint16 or float in [0, 1], got {arr.dtype}")


def _brightest_mean(colours: np.ndarray, key: np.ndarray, share: float = 0.1) -> np.ndarray:
    n = max(1, int(np.ceil(share * len(key))))
    idx = np.argpartition(key, len(key) - n)[len(key) - n:]
    return colours[idx].mean(axis=0).astype(np.float32)


# A pixel at least this bright in every channel is clipped: its true level is
# unknown. Clipped pixels that cover less than _CLIPPED_SHARE of the frame are
# lights, reflections and overlays, not opaque haze (a clipped overcast sky
# covers more).
_CLIPPED = 0.98
_CLIPPED_SHARE = 0.03


def drop_small_clipped(dark: np.ndarray, minc: np.ndarray) -> np.ndarray:
    """``dark`` with small clipped regions zeroed, so the airlight search passes them by.

    A white region larger than the dark channel's window reads as opaque
    haze to the prior. A dashcam's white time-stamp box (1.6 % of the
    frame) pinned the airlight at white and the haze stayed on the whole
    clip. Where clipped pixels (``minc`` >= 0.98) cover less than 3 % of the
    frame their dark channel is set to 0; a larger clipped area (an
    over-exposed sky, a fade from white) is kept as a candidate.

    Parameters
    ----------
    dark, minc : ndarray
        Dark channel and per-pixel minimum over channels of the same image,
        H×W float32 in [0, 1] of full scale.

    Returns
    -------
    ndarray
        ``dark`` itself, changed in place where it had small clipped regions.
    """
    clipped = minc >= np.float32(_CLIPPED)
    share = float(clipped.mean())
    if 0.0 < share < _CLIPPED_SHARE:
        dark[clipped] = 0.0
    return dark


def candidates(dark: np.ndarray, minc: np.ndarray, bounds: tuple[int, int, int, int]
               ) -> np.ndarray:
    """``dark`` with what is no airlight candidate zeroed in place: small clipped regions, bars.

    Parameters
    ----------
    dark : ndarray
        (h, w) float32, the dark channel of the working image in [0, 1];
        written in place.
    minc : ndarray
        (h, w) float32, its per-pixel channel minimum (before the patch
        minimum), which tells clipped pixels.
    bounds : tuple of int
        Rows ``r0:r1`` and columns ``c0:c1`` of the picture: inside black
        bars (:func:`~vidclear.dehaze.picture.picture_bounds`) and a light
        strip burnt in at an edge
        (:class:`~vidclear.dehaze.overlay.OverlayBands`).

    Returns
    -------
    ndarray
        ``dark`` itself: 0 outside ``bounds`` and on clipped regions smaller
        than ``_CLIPPED_SHARE`` of the picture (:func:`drop_small_clipped`,
        measured inside the bounds), so that
        :func:`~vidclear.dehaze._kernels.airlight_top` never picks them.
    """
    h, w = dark.shape
    r0, r1, c0, c1 = bounds
    if (r0, r1, c0, c1) != (0, h, 0, w):
        drop_small_clipped(dark[r0:r1, c0:c1], minc[r0:r1, c0:c1])
        dark[:r0] = 0.0
        dark[r1:] = 0.0
        dark[:, :c0] = 0.0
        dark[:, c1:] = 0.0
        return dark
    return drop_small_clipped(dark, minc)


def airlight_dcp(img: np.ndarray, *, dark: np.ndarray, fraction: float = 0.001) -> np.ndarray:
    """Airlight from the brightest ``fraction`` of the dark channel.

    Parameters
    ----------
    img : ndarray
        Working RGB image, H×W×3 float32 in [0, 1].
    dark : ndarray
        Its dark channel (not normalised by A), H×W float32.
    fraction : float
        Share of pixels taken as haze-opaque candidates, in (0, 1].

    Returns
    -------
    ndarray
        A, float32 (3,) in [0, 1], RGB.

    References
    ----------
    .. [1] K. He, J. Sun and X. Tang, "Single image haze removal using dark
       channel prior", CVPR 2009, section 4.4.
    """
    return _k.airlight_top(np.ascontiguousarray(img, dtype=np.float32),
                           np.ascontiguousarray(dark, dtype=np.float32), float(fraction), 0.1,
                           LUMA)


def airlight_quadtree(img: np.ndarray, *, grey: np.ndarray, min_side: int = 16) -> np.ndarray:
    """Airlight by Kim et al.'s quad-tree search.

    Parameters
    ----------
    img : ndarray
        Working RGB image, H×W×3 float32 in [0, 1].
    grey : ndarray
        Its grey plane, H×W float32.
    min_side : int
        The search stops once the region's longer side is at most this.

    Returns
    -------
    ndarray
        A, float32 (3,) in [0, 1], RGB.

    References
    ----------
    .. [1] J.-H. Kim, W.-D. Jang, J.-Y. Sim and C.-S. Kim, "Optimized contrast
       enhancement for real-time image and video dehazing", J. Visual
       Communication and Image Representation 24(3), 2013, section 3.1.
    """
    y0, y1, x0, x1 = _k.quadtree_region(np.ascontiguousarray(grey, dtype=np.float32),
                                        int(min_side))
    region = img[y0:y1, x0:x1].reshape(-1, 3)
    dist = ((1.0 - region) ** 2).sum(axis=1)
    return _brightest_mean(region, -dist)


def estimate_airlight(
    img: np.ndarray, *, method: str = "dcp", patch: int = 15, fraction: float = 0.001
) -> np.ndarray:
    """Airlight of one RGB image at its own resolution.

    Parameters
    ----------
    img : ndarray
        RGB image, H×W×3: uint8, uint16, or float in [0, 1].
    method : {"dcp", "quadtree"}
        Estimator, see the module docstring.
    patch : int
        Dark-channel window for ``"dcp"``, odd, >= 1.
    fraction : float
        Candidate share for ``"dcp"``, in (0, 1].

    Returns
    -------
    ndarray
        A, float32 (3,) in [0, 1], RGB.
    """
    work = _work_image(img)
    if method not in ("dcp", "quadtree"):
        raise ConfigError(f"method = {method!r} is not allowed: expected 'dcp' or 'quadtree'")
    if isinstance(patch, bool) or not isinstance(patch, int) or patch < 1 or patch % 2 == 0:
        raise ConfigError(f"patch must be an odd integer >= 1, got {patch!r}")
    if not 0 < fraction <= 1:
        raise ConfigError(f"fraction must be in (0, 1], got {fraction!r}")
    h, w = work.shape[:2]
    grey = np.empty((h, w), np.float32)
    minc = np.empty((h, w), np.float32)
    _k.grey_minc(np.ascontiguousarray(np.moveaxis(work, -1, 0)), LUMA, np.ones(3, np.float32),
                 grey, minc)
    if method == "quadtree":
        return airlight_quadtree(work, grey=grey)
    dark = np.empty_like(minc)
    _kf.min_filter2d(minc, patch // 2, dark)
    return airlight_dcp(work, dark=drop_small_clipped(dark, minc), fraction=fraction)


# Saturation (HSV) of a measured airlight colour: haze, fog and light smog stay
# below the lower end; a bright coloured region picked as the airlight (clear
# blue sky, a lit sign, a sandstone wall) lies above the upper end and is
# pulled all the way to grey. Thick smog, dust and smoke can be as saturated:
# they keep their colour only on the evidence of :func:`veil_colour` (the
# forty-third round); keeping every warm, bright airlight's colour instead
# (the twenty-seventh round) gained 0.4-0.8 dB on warm haze but doubled the
# darkening of clear warm scenes (a frame-filling sandstone wall -24 -> -47
# levels, golden-hour photos).
_AIRLIGHT_SATURATION = (0.15, 0.25)


def neutral_pull(air: np.ndarray, neutral: float, veil: float = 0.0) -> float:
    """Share of the way to grey an airlight colour is moved (cast control).

    Parameters
    ----------
    air : ndarray
        Measured airlight, (3,) RGB in [0, 1].
    neutral : float
        The share for colours haze can have (``dehaze.airlight_neutral``).
    veil : float
        Evidence in [0, 1] that the colour is a veil laid over the scene
        (:func:`veil_colour`, in thick haze): it takes a saturated colour's
        share back towards 0.

    Returns
    -------
    float
        ``neutral`` up to an HSV saturation of 0.15, rising to 1 at 0.25
        and beyond (a clear blue sky or a lit sign picked as the airlight
        goes all the way to grey); that share times ``1 - veil * ramp``,
        ``ramp`` the same rise from 0 to 1, so a saturated veil in evidence
        keeps its colour and a haze-coloured one keeps ``neutral``.
    """
    top = float(air.max())
    sat = (top - float(air.min())) / top if top > 1e-6 else 0.0
    lo, hi = _AIRLIGHT_SATURATION
    ramp = min(max((sat - lo) / (hi - lo), 0.0), 1.0)
    return (neutral + (1.0 - neutral) * ramp) * (1.0 - min(max(veil, 0.0), 1.0) * ramp)


# veil_colour: a working patch (radius in working pixels) is textured when the
# local standard deviation of its luma reaches _VEIL_TEXTURE (2 levels of 255);
# the evidence rises from 0 to 1 as the patch means are more of A's colour than
# their texture by the span _VEIL_SPAN (in units of A's own colour offset: a
# veil laid over half of a scene's light or more gives at least 0.5).
_VEIL_RADIUS = 3
_VEIL_TEXTURE = 0.008
_VEIL_SPAN = (0.4, 0.8)
# ... and falls back to 0 as the texture is the opposite of A's colour by as
# much as A is coloured (-1.2 to -0.9 along A's offset): light neutral marks
# on a surface of A's colour (a tan wall with white lines, trial 90 F1) are
# that surface, not a veil; texture under a veil lay at -0.9 to 0.3.
_VEIL_ANTI = (-1.2, -0.9)
_VEIL_MIN_PATCHES = 50


def veil_colour(planes: np.ndarray, air: np.ndarray) -> float:
    """Evidence in [0, 1] that the airlight's colour is a veil over the scene, not the scene's.

    Haze adds ``A (1 - t)`` to every pixel and scales the scene's texture
    by ``t`` (Koschmieder's model, as in He et al. 2009): the local means
    take A's colour while the texture keeps the scene's. A scene that is
    itself the colour of A (a sandstone wall, golden light, a warm grade)
    colours its texture as much as its means, since reflectance and light
    multiply. So over the haziest half of the textured patches (their mean's
    min channel over ``A``) this compares how far, along A's colour offset
    from grey, the patch means lie (1 for A's own colour) with how far their
    texture (the per-channel local standard deviations) lies; the medians'
    difference, clipped at a texture of 0, is mapped through a smoothstep
    from :data:`_VEIL_SPAN`'s 0.4 to its 0.8. A texture opposite to A's
    colour by as much as A is coloured (light neutral marks on a surface of
    A's colour) takes the evidence back to 0 (:data:`_VEIL_ANTI`).

    Parameters
    ----------
    planes : ndarray
        The working image as (3, h, w) float32 RGB planes in [0, 1] (black
        bars and burnt-in strips cut off).
    air : ndarray
        The measured airlight, (3,) RGB, before any pull towards grey.

    Returns
    -------
    float
        0 where A is grey, the patches are too few (under 50 textured) or
        their texture is as coloured as their means; 1 for a coloured veil
        over a scene of other colours.
    """
    a = np.maximum(np.asarray(air, np.float64), 1e-3)
    offset = a - a.mean()
    norm = float(offset @ offset)
    if norm < 1e-8 or min(planes.shape[1:]) < 2 * _VEIL_RADIUS + 1:
        return 0.0
    stack = np.concatenate([planes, planes * planes]).astype(np.float32, copy=False)
    means = np.empty_like(stack)
    _kf.box_planes(stack, _VEIL_RADIUS, means)
    m = means[:3].reshape(3, -1).T.astype(np.float64)
    sd = np.sqrt(np.maximum(means[3:].reshape(3, -1).T - m * m, 0.0))
    textured = sd @ LUMA.astype(np.float64) > _VEIL_TEXTURE
    if int(textured.sum()) < _VEIL_MIN_PATCHES:
        return 0.0
    haze = (m / a).min(axis=1)
    pick = textured & (haze >= np.median(haze[textured]))
    m, sd = m[pick], sd[pick]

    def along(x: np.ndarray) -> np.ndarray:
        # each row's offset from its own grey, along A's, relative to A's offset from
        # A's grey for the row's level: 1 for A's colour, 0 for grey
        return ((x - x.mean(axis=1, keepdims=True)) @ offset / norm
                * a.mean() / np.maximum(x.mean(axis=1), 1e-9))

    texture = float(np.median(along(sd)))
    lead = float(np.median(along(m))) - max(texture, 0.0)
    return smoothstep(lead, *_VEIL_SPAN) * smoothstep(texture, *_VEIL_ANTI)


def smoothstep(x: float, lo: float, hi: float) -> float:
    """0 up to ``lo``, 1 from ``hi`` (``lo < hi``), ``3f² - 2f³`` of the way between."""
    f = min(max((x - lo) / (hi - lo), 0.0), 1.0)
    return f * f * (3.0 - 2.0 * f)
