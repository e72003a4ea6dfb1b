"""What a frame shows of its haze, read at working resolution.

The dehazer's frame-wide decisions rest on these measures of the min channel
of ``I / A`` and of the working luma:

* the darkest pixels' levels over the frame and per tile of a 3 × 3 split,
  without near objects (:func:`scene_levels`, :func:`near_object_tiles`),
  and the veil of the darkest pixels around each pixel (:func:`veil_around`),
  both readings of He et al.'s dark channel prior (CVPR 2009) over windows
  wider than its patch;
* the weight of the light-haze guards for a veil (:func:`light_haze_weight`),
  whether the picture has depth (:func:`depth_weight`, after Koschmieder's
  law) and texture (:func:`texture_weight`);
* how much of a brighter airlight measurement the frame shows once the
  objects that entered are left out (:func:`drifted_haze`,
  :func:`lifted_haze`), which bounds the rules that let the tracked airlight
  follow it.
"""

from __future__ import annotations

import itertools

import cv2
import numpy as np

from vidclear.dehaze import _kernels as _k
from vidclear.dehaze.airlight import LUMA, candidates, smoothstep
from vidclear.dehaze.picture import inside
from vidclear.dehaze.workspace import Workspace
from vidclear.kernels import _filters as _kf

__all__ = ["depth_weight", "drifted_haze", "lifted_haze", "light_haze_weight", "near_object_tiles",
           "scene_levels", "texture_weight", "veil_around"]

# the dense-haze regime needs an airlight at least this bright (luma): from none
# at _DENSE_MIN_AIR to full at _DENSE_FULL_AIR
_DENSE_MIN_AIR = 0.15
_DENSE_FULL_AIR = 0.3
# The veil and dense-haze levels are also measured in each tile of a 3 x 3
# split: a drop of the frame's levels that fewer than half of the tiles show,
# the others staying put, is local (a dark car entering a hazy view) and is
# held like a bright object at A's gate (VeilTracker).
_TILE_GRID = 3
# A near object: a group of tiles (connected, inside a 2 x 2 block) whose
# darkest 2 % carry at least this much less veil (units of A) than every tile
# around the group. Its darkness says how little haze lies in front of it,
# not in front of the scene behind: the frame's levels are measured without
# its pixels (see near_object_tiles). On ../shared's hazy and clear photos
# and the haze made on them the largest such gap is 0.13 (O-HAZE 35), but
# for he_gugong's dark-clothed people before a misty palace, 0.23 (a near
# object by this measure too); a dark car in those views' fog, 0.22-0.76.
_NEAR_GAP = 0.2
# ... when its pixels cover at least this share of its tiles (the objects
# set's car, 23-47 %; he_gugong's people, 17 %; the windows of the tests'
# clear facade, 3 %, are no object)
_NEAR_SHARE = 0.05
# ... at most this many tiles of near objects in all (fewer than half: the
# rest is the scene)
_NEAR_TILES = 4
# ... and the level its pixels are given (above any veil: left out)
_HIDDEN_LEVEL = 2.0
# share of the gap to a held, brighter airlight measurement that the working
# grey's per-pixel median change must reach for it to count as thickening haze
_LIFT_SHARE = 0.1
# a pixel that rose by this share of that gap since A last agreed, and by as
# much, at least _OBJECT_STEP of luma, from one frame to the next, is a bright
# object's that entered (its edge passing), not the haze's: fog rolling in
# within a second lifts a pixel 0.03 a frame (see drifted_haze)
_LIFT_OBJECT = 0.5
_OBJECT_STEP = 0.1
# ... less so as they cover this share of the picture, and not at all beyond:
# a wall of fog sweeping in (or a fast pan into one, or the same at 10 fps)
# rises by as much at its edge, and held until it covered nine tenths of the
# view, the output overshot and then fell by 12-17 levels in 8 frames (trial
# 98); a bound let go at once when they passed half the view stepped the
# output by 19 levels as a bright sky tilted in (trial 94's clip)
_OBJECT_SHARE = (0.35, 0.65)
# t >= 1 - k (haze around + min(haze around, margin)): the haze around a
# pixel is the dark channel's minimum within this share of the short side
# (box-smoothed over the same reach), and the margin is in units of A. Chosen
# on the tuning sets among reaches 0.1 and 0.15 and margins 0.1 to 0.2: 0.15
# gained most on light haze (RESIDE light +1.3 dB) but cost the synthetic
# road scenes 0.8 dB (their far haze sits within reach of the clear road);
# 0.1 keeps two thirds of the gain for half the cost. The margin is for depth
# growing across the window, and growing depth multiplies the haze there is
# (thin haze is about beta times depth): with none around, it made haze out
# of nothing (a trial's clear scenes came out 0.9-8.4 % darker, about half of
# it through the margin). So it is at most the haze around itself: a depth up
# to twice the nearest's within the window.
_AROUND = 0.1
_AROUND_MARGIN = 0.1


def veil_around(haze: np.ndarray, bounds: tuple[int, int, int, int],
                work: np.ndarray, near: np.ndarray | None = None, reach: int = 0
                ) -> np.ndarray:
    """The veil of the darkest pixels around each pixel: the dark channel prior over a wide window.

    Parameters
    ----------
    haze : ndarray
        (h, w) float32, the haze read by the dark channel (units of A).
    bounds : tuple of int
        The picture inside its black bars (:func:`~vidclear.dehaze.picture.picture_bounds`); bars
        take the largest haze, so they are never the darkest pixels.
    work : ndarray
        (2, 1, ceil(h / 2), ceil(w / 2)) float32 scratch space.
    near : ndarray, optional
        (r1 - r0, c1 - c0) bool, the near objects' pixels inside the bounds
        (:func:`scene_levels`); with ``reach``, the dark channel's patch
        radius, they and the pixels within ``reach`` of them (the dark
        channel spreads the object's darkness that far) bound no other
        pixel's haze: a dark car ahead in fog says nothing of the fog beside
        it (read as the veil around it, it kept the fog within a tenth of the
        frame of the car hazier, 20-34 levels brighter).

    Returns
    -------
    ndarray
        (ceil(h / 2), ceil(w / 2)) float32, a view of ``work``: the minimum
        of ``haze`` within :data:`_AROUND` of the picture's short side,
        box-smoothed over the same reach, on every second row and column
        (pixel (y, x) reads sample (y // 2, x // 2): the field is smooth and
        the dark channel already a patch minimum). Over so wide a window a
        pixel with no radiance of its own is all but certain (He et al.'s
        prior, CVPR 2009, needs it only within the patch), so only depth
        growing across the window puts more haze on a pixel.
    """
    h, w = haze.shape
    r0, r1, c0, c1 = bounds
    reach = max(1, round(_AROUND * min(r1 - r0, c1 - c0) / 2))
    src = work[1, 0]
    np.copyto(src, haze[::2, ::2])
    if near is not None:
        scene = np.ones((h, w), np.float32)
        scene[r0:r1, c0:c1][near] = 0.0
        grown = np.empty_like(scene)
        _kf.min_filter2d(scene, reach, grown)
        src[grown[::2, ::2] == 0.0] = 1.0
    if (r0, r1, c0, c1) != (0, h, 0, w):
        src[:-(-r0 // 2)] = 1.0  # sample i is row 2 i
        src[-(-r1 // 2):] = 1.0
        src[:, :-(-c0 // 2)] = 1.0
        src[:, -(-c1 // 2):] = 1.0
    _kf.min_filter2d(src, reach, work[0, 0])
    _kf.box_planes(work[0], reach, work[1])
    return work[1, 0]


def _tile_groups(grid: int) -> tuple[np.ndarray, np.ndarray]:
    """Every connected group of tiles inside a 2 × 2 block of a ``grid`` × ``grid`` split.

    Returns (members, around): boolean (groups, grid²) masks of each group's
    tiles and of the tiles 4-adjacent to them outside it.
    """
    def neighbours(i: int) -> list[int]:
        r, c = divmod(i, grid)
        return [rr * grid + cc for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1))
                if 0 <= rr < grid and 0 <= cc < grid]

    groups: set[tuple[int, ...]] = set()
    for r in range(grid - 1):
        for c in range(grid - 1):
            block = (r * grid + c, r * grid + c + 1, (r + 1) * grid + c, (r + 1) * grid + c + 1)
            for k in range(1, 5):
                for group in itertools.combinations(block, k):
                    linked, todo = {group[0]}, [group[0]]
                    while todo:
                        for j in neighbours(todo.pop()):
                            if j in group and j not in linked:
                                linked.add(j)
                                todo.append(j)
                    if len(linked) == k:  # (two diagonal tiles are two groups)
                        groups.add(group)
    members = np.zeros((len(groups), grid * grid), bool)
    around = np.zeros_like(members)
    for n, group in enumerate(sorted(groups)):
        members[n, list(group)] = True
        around[n, [j for i in group for j in neighbours(i)]] = True
    return members, around & ~members


_GROUP_MEMBERS, _GROUP_AROUND = _tile_groups(_TILE_GRID)


def near_object_tiles(levels: np.ndarray, gap: float) -> list[tuple[np.ndarray, float]]:
    """The tiles of near objects: much less veiled than every tile around them.

    Parameters
    ----------
    levels : ndarray
        (9,) float, the darkest pixels' level (units of A) in each tile of
        the 3 × 3 split, row by row.
    gap : float
        How much lower (units of A) every tile of a group must be than
        every tile around it.

    Returns
    -------
    list of (ndarray, float)
        For each object, ``(tiles, below)``: (9,) bool, a group of tiles
        (connected, inside a 2 × 2 block) that falls more than ``gap``
        below the tiles around it, and the level ``gap`` under their lowest
        (the other objects' tiles left out), below which its pixels are the
        object's.
        The group that falls furthest comes first; each next one is looked
        for among the tiles left, its surroundings without the objects
        found (two cars), as long as the objects take at most four tiles.
        Empty if no group falls that far.

    Notes
    -----
    In haze the veil grows with depth (Koschmieder's law, ``1 - t`` with
    ``t = exp(-β d)``), smoothly over most of a picture; a jump of a
    fifth of A between neighbouring tiles is an object far nearer than
    what lies around it, such as a dark car ahead in fog. The darkest pixels
    of the frame are then the car's: taken as the scene's veil they switched
    the whole frame to the light-haze guards, and the untouched fog behind
    the car came out 15-35 levels brighter (the dark channel prior's own
    bound holds per patch, He et al., CVPR 2009; the frame-wide regime is
    vidclear's). A group of up to four tiles in a 2 × 2 block leaves at
    least five: the ground of a clear foreground fills a whole row and is no
    object. (Nor is a vehicle as wide as the frame's three columns.)
    """
    found: list[tuple[int, float]] = []
    taken = np.zeros(levels.shape, bool)
    free = ~(_GROUP_MEMBERS & taken).any(axis=1)
    while True:
        around = _GROUP_AROUND & ~taken
        lowest_around = np.where(around, levels, np.inf).min(axis=1)
        highest = np.where(_GROUP_MEMBERS, levels, -np.inf).max(axis=1)
        drop = np.where(free & around.any(axis=1), lowest_around - highest, -np.inf)
        best = int(np.argmax(drop))
        members = _GROUP_MEMBERS[best]
        if not drop[best] > gap or int(taken.sum() + members.sum()) > _NEAR_TILES:
            break
        found.append((best, float(lowest_around[best]) - gap))
        taken |= members
        free = ~(_GROUP_MEMBERS & taken).any(axis=1)
    # each object's pixels: under its surroundings without the other objects
    # (a car's roof reaching into the tile above made that tile a second
    # object, and its level had set the first one's threshold under the
    # car's body)
    out = []
    for best, below in found:
        rest = _GROUP_AROUND[best] & ~taken
        if rest.any():
            below = max(below, float(levels[rest].min()) - gap)
        out.append((_GROUP_MEMBERS[best], below))
    return out


def scene_levels(picture: np.ndarray, step: int, shares: tuple[float, ...]
                 ) -> tuple[list[float], list[np.ndarray], np.ndarray | None]:
    """The darkest pixels' levels of the scene, over the frame and per tile, without near objects.

    Parameters
    ----------
    picture : ndarray
        (h, w) float32, the min channel of ``I / A`` inside the black bars.
    step : int
        Every ``step``-th row and column is sampled.
    shares : tuple of float
        The quantiles (the darkest shares, e.g. 0.005 and 0.02); the last
        one's tile levels find near objects (:func:`near_object_tiles`).

    Returns
    -------
    levels : list of float
        Each quantile of ``picture[::step, ::step]``.
    tiles : list of ndarray
        Each quantile in every tile of the 3 × 3 split, (9,) float32.
    near : ndarray or None
        (h, w) bool, the near objects' pixels (None without one).

    With near objects in view, their pixels (those of their tiles under the
    level each found) are left out of both, and each share is taken of the
    pixels left; the scene's own pixels in those tiles are kept (the darkest
    corner of a view that a car drives into still holds the frame's darkest
    pixels). An object must cover :data:`_NEAR_SHARE` of its tiles. A tile
    an object covers all but 2 % of reads :data:`_HIDDEN_LEVEL`, hidden as
    a white lorry hides it (:class:`~vidclear.dehaze.temporal.VeilTracker`).
    """
    qs = np.array(shares, np.float64)
    tiles = list(_k.tile_quantiles(picture, step, qs, _TILE_GRID))
    h, w = picture.shape
    g = _TILE_GRID
    hidden = np.zeros((h, w), bool)
    for members, below in near_object_tiles(tiles[-1], _NEAR_GAP):
        mine = np.zeros((h, w), bool)
        for i in np.flatnonzero(members):
            r, c = divmod(int(i), g)
            rows, cols = slice(h * r // g, h * (r + 1) // g), slice(w * c // g, w * (c + 1) // g)
            mine[rows, cols] = picture[rows, cols] < below
        # a few dark pixels scattered over bright ones (the windows of a
        # clear facade) are no solid object
        if float(mine.mean()) >= _NEAR_SHARE * float(members.mean()):
            hidden |= mine
    if not hidden.any():
        return [float(v) for v in _k.strided_quantiles(picture, step, qs)], tiles, None
    far = picture.copy()
    far[hidden] = _HIDDEN_LEVEL
    kept = 1.0 - float(hidden[::step, ::step].mean())
    return ([float(v) for v in _k.strided_quantiles(far, step, qs * kept)],
            list(_k.tile_quantiles(far, step, qs, _TILE_GRID)), hidden)


# depth_weight: how far the median haze (min(I / A)) of a third of the picture
# may lie from the opposite third's (top against bottom, left against right)
# with no depth read (weight 0), and from which the scene has depth (weight 1).
# Walls filling the view: at most 0.006; thick haze over photos and rendered
# roads with depth: 0.019 to 0.22 (trials 89-91).
_DEPTH_SPREAD = (0.008, 0.025)


def lifted_haze(ws: Workspace, grey: np.ndarray, ref: np.ndarray, steps: np.ndarray,
                bounds: tuple[int, int, int, int], gap: float, r: int, fraction: float) -> float:
    """The share of a held airlight measurement shown by a frame that lifted towards it.

    The parameters are :func:`drifted_haze`'s. 0 unless the median
    per-pixel change ``grey - ref`` passed :data:`_LIFT_SHARE` of ``gap``
    (most of the frame brightened towards the measurement); then
    :func:`drifted_haze`'s share. (Its first form left out every pixel that
    moved half the gap, which is also what a pan brings into view: a pan
    from a dark street into bright fog at 640×360 left A at 0.57 where a
    fresh dehaze finds 0.92, the fog 34 levels light for seconds, trial 97
    F4.)
    """
    moved = (grey - ref) * np.float32(1.0 / gap)
    if _k.strided_median(moved, ws.step) <= _LIFT_SHARE:
        return 0.0
    return _share_shown(ws, grey, moved, steps, bounds, gap, r, fraction)


def drifted_haze(ws: Workspace, grey: np.ndarray, ref: np.ndarray, steps: np.ndarray,
                 bounds: tuple[int, int, int, int], gap: float, r: int, fraction: float) -> float:
    """The share of a brighter airlight measurement the frame shows without the objects that rose.

    Parameters
    ----------
    ws : Workspace
        Holds the frame's working image (``ws.low``, ``ws.planes``).
    grey, ref : ndarray
        This frame's working luma and the one from when the tracked
        airlight last agreed with its measurement, (h, w) float32 in [0, 1].
    steps : ndarray
        Each working pixel's largest rise from one frame to the next since
        ``ref`` (h, w) float32, luma.
    bounds : tuple of int
        The picture inside black bars and burnt-in strips (rows, columns).
    gap : float
        The measurement's luma minus the tracked airlight's (> 0).
    r : int
        The dark channel's patch radius, working pixels.
    fraction : float
        The airlight search's share of the dark channel (``airlight_fraction``).

    Returns
    -------
    float
        In (0, 1]: the luma of the airlight the search finds (the 15 px
        dark channel of ``I``, small clipped regions passed by, as
        :func:`~vidclear.dehaze.airlight.airlight_top` reads it) with the
        objects that entered left out, over the same search's with them;
        1 when the median pixel did not rise since ``ref``, when nothing
        entered, or when nothing is left without it (a new view). A pixel
        is an object's when it rose by :data:`_LIFT_OBJECT` of ``gap`` in
        all and by as much (at least :data:`_OBJECT_STEP`) from one frame to
        the next: an edge passing. Fog thickening, a fog bank rolling in or
        a pan into a smooth fog region lift pixels a little each frame,
        the far ones further than the near. The objects are widened by the
        patch radius: a van's first pixels, in view before the measurement
        left ``A``, did not rise, but the dark channel of their patches is
        the van's.
    """
    moved = (grey - ref) * np.float32(1.0 / gap)
    if _k.strided_median(moved, ws.step) <= 0.0:
        return 1.0
    return _share_shown(ws, grey, moved, steps, bounds, gap, r, fraction)


def _share_shown(ws: Workspace, grey: np.ndarray, moved: np.ndarray, steps: np.ndarray,
                 bounds: tuple[int, int, int, int], gap: float, r: int, fraction: float
                 ) -> float:
    """:func:`drifted_haze`'s share once its median test passed; ``moved`` is
    ``(grey - ref) / gap`` (computed once for it and :func:`lifted_haze`)."""
    half = np.float32(_LIFT_OBJECT)
    step = np.float32(max(_LIFT_OBJECT * gap, _OBJECT_STEP))
    jumped = ((steps >= step) & (moved >= half)).astype(np.uint8)
    if not jumped.any():
        return 1.0
    picture = inside(jumped, bounds)
    covered = np.count_nonzero(picture) / picture.size
    lifted = smoothstep(covered, *_OBJECT_SHARE)  # how far the view itself is what came in
    if lifted >= 1.0:
        return 1.0
    widened = cv2.dilate(jumped, np.ones((2 * r + 1, 2 * r + 1), np.uint8)) > 0
    grey_i, minc, dark = (np.empty_like(grey) for _ in range(3))
    _k.grey_minc(ws.planes, LUMA, ws.ones, grey_i, minc)
    _kf.min_filter2d(minc, r, dark)
    dark = candidates(dark, minc, bounds)
    with_all = float(LUMA @ _k.airlight_top(ws.low, dark, fraction, 0.1, LUMA))
    dark[widened] = 0.0
    if with_all <= 0.0 or not dark.any():
        return 1.0
    found = float(LUMA @ _k.airlight_top(ws.low, dark, fraction, 0.1, LUMA))
    share = min(found / with_all, 1.0) if found > 0.0 else 1.0
    return share + (1.0 - share) * lifted


def depth_weight(haze: np.ndarray, step: int) -> float:
    """Weight in [0, 1] that the picture has depth: its haze differs between opposite thirds.

    ``haze`` (h×w float32) is a haze measure per working pixel (the min
    channel of ``I / A``), sampled every ``step`` rows and columns. Haze
    grows with distance (Koschmieder), so a scene in depth veils its far
    part more; the largest gap between the medians of the top and bottom
    or the left and right thirds is mapped through a smoothstep from 0.008
    to 0.025 (:data:`_DEPTH_SPREAD`).
    """
    x = haze[::step, ::step]
    n, m = max(1, x.shape[0] // 3), max(1, x.shape[1] // 3)
    gap = max(abs(float(np.median(x[:n])) - float(np.median(x[-n:]))),
              abs(float(np.median(x[:, :m])) - float(np.median(x[:, -m:]))))
    return smoothstep(gap, *_DEPTH_SPREAD)


# texture_weight: the spread (0.5 % to 99.5 % quantile) of a frame's working
# luma (its 15 px local means in the dehazer), 0..1, under which it has no
# texture (weight 0) and from which it has its full strength (weight 1); a
# smoothstep between. Dense-Haze's thickest fog spans over 30 levels of 255.
_FLAT_SPREAD = (1.5 / 255, 4.0 / 255)
_FLAT_QUANTILES = np.array([0.005, 0.995])


def texture_weight(grey: np.ndarray, step: int) -> float:
    """Weight in [0, 1] of the dehaze on a frame by its texture: 0 for a flat frame.

    Parameters
    ----------
    grey : ndarray
        The working luma inside the picture (no black bars), or its local
        means (so that sensor noise is no texture), h×w float32 in [0, 1].
    step : int
        Sampling step of the rows and columns read (as the haze statistics).

    Returns
    -------
    float
        0 while 99 % of the sampled values lie within 1.5 levels (of 255)
        of each other, 1 from 4 levels (:data:`_FLAT_SPREAD`), a smoothstep
        between.
    """
    lo, hi = _k.strided_quantiles(grey, step, _FLAT_QUANTILES)
    return smoothstep(hi - lo, *_FLAT_SPREAD)


def light_haze_weight(veil: float, low: float, high: float, air_luma: float = 1.0) -> float:
    """Weight in [0, 1] of the light-haze guards for a veil of the darkest pixels.

    Parameters
    ----------
    veil : float
        Level of the darkest 2 % of pixels, min channel of ``I / A`` (units
        of A, about 1 - t of the nearest scene).
    low, high : float
        ``dehaze.dense_low`` and ``dehaze.dense_high``, ``low < high``.
    air_luma : float
        Luma of the airlight in [0, 1]. A dark airlight (below 0.3, none
        below 0.15: a night scene, a fade from black) is no evidence of thick
        fog, since every pixel is near it in units of A: the weight then
        stays nearer 1.

    Returns
    -------
    float
        1 up to ``low``, 0 from ``high``, a smoothstep between (the guards
        of light haze: 1 = in full).
    """
    f = min(max((veil - low) / (high - low), 0.0), 1.0)
    lit = min(max((air_luma - _DENSE_MIN_AIR) / (_DENSE_FULL_AIR - _DENSE_MIN_AIR), 0.0), 1.0)
    f *= lit * lit * (3.0 - 2.0 * lit)
    return 1.0 - f * f * (3.0 - 2.0 * f)
