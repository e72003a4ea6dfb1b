"""Bars burnt into a video at its top or bottom edge: a dashcam's time and GPS strip.

A light strip across the whole width (a grey or white bar with the date,
speed and position in dark text) is the brightest wide region of a dashcam
frame, and the dark channel prior reads it as opaque haze: the airlight
search took the bar's level (0.90 for a bar at 230 of 255, 1.0 for a white
one) for the whole clip, and the scene above came out 7.5 levels darker
than the same footage without the bar (trial 53).

Such a strip is told from the sky, the airlight's own candidate, by what the
sky never does for long: it keeps the same rows and the same level, its
edge is one straight step across the frame, it carries text, and it stays
put while the picture moves as a whole (most of its pixels change, or a
shift of it explains its change: a slow pan over a flat sky and road, a pan
across fog). One
frame is not enough: a zoom out of a canyon under a flat sky has the same
straight step for a few frames, at a height that changes.
A still image is therefore never given a band.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["OverlayBands", "edge_band"]

# A band is at most this share of the rows (dashcam strips: 4-10 %) ...
_BAND_SHARE = 0.12
# ... its rows have at least _ROW_SHARE of their pixels (the rest: text)
# within _LEVEL of its level, and all its pixels together _BAND_FILL ...
_LEVEL = 0.03
_ROW_SHARE = 0.3
_BAND_FILL = 0.6
# ... and within two rows of its edge the picture's median column is _STEP
# away from that level (a sky fades over many rows: rows that leave the
# level by _LEVEL at a time; a mid-grey strip over haze of nearly its level
# stood 0.07 off it, and at 0.1 was never found, trial 57). It carries text: at
# least _GLYPHS of its pixels are _GLYPH away from its level (a flat sky
# over a straight horizon, panned across, kept its rows and level and was
# taken for a strip, trial 56; at the working size thin white strokes on a
# grey strip stand 0.1 off it, not 0.25, trial 57: 6-9 % of the strip's
# pixels, short text 3 %, sixteen birds in a flat sky 1.1 %), and the text
# stays where it was: at least _GLYPHS_KEPT of the pixels that were text
# when the band was first seen still are (a clock changes a few digits;
# birds fly across a sky).
_STEP = 0.05
_GLYPH = 0.1
_GLYPHS = 0.02
_GLYPHS_KEPT = 0.5
# Confirmed as an overlay once it has kept its rows and its level (within
# _SAME_LEVEL) for _HOLD_S seconds while the picture moved: most of its
# pixels (the median) changed by _MOVED from when the band was first seen. A
# car entering a steady view changes a minority: under a flat sky whose
# edge is a straight canyon rim, the mean read it as motion and the sky,
# the airlight's own region, was left out (the dark car moved the
# background 0.3 levels more on average).
_SAME_LEVEL = 0.01
_HOLD_S = 1.0
_MOVED = 0.03
# A slow pan (half a working pixel a frame) over a flat sky and a flat road
# leaves the median pixel as it was: the strip was never confirmed (trial
# 67). The picture has also moved as a whole when shifting its column (or
# row) profile, the mean over rows (columns), by up to a quarter of its
# length explains at least half of the profile's change, and that change is
# over _PROFILE_NOISE (x264's noise, averaged over the rows, is a few
# thousandths). A car entering a steady view changes the profile where it
# is; no shift of the rest explains that.
_EXPLAINED = 0.5
_PROFILE_NOISE = 0.005
# Over fog with nothing upright in it the profile, an average over the rows,
# all but loses the texture, and fog takes the contrast out of the pixels'
# change (0.01 at the median): a light strip at 720p and 1080p was never found
# over such a pan, slow or fast, and stayed the airlight (the picture 16-17
# levels dark, trial 69). Then a shift of the sampled picture itself, pixel
# by pixel, must explain half its mean change, and that change be over
# _PIXEL_NOISE (a still view's noise: 0.001-0.002 uncompressed, none where
# x264 skips the blocks). Tried only when the cheaper tests find no motion.
_PIXEL_NOISE = 0.004


def _mid(values: np.ndarray) -> float:
    """The upper median of a 1-D array (a partition: np.median took 27 µs a row)."""
    k = values.size // 2
    return float(np.partition(values, k)[k])


def _translated(ref: np.ndarray, picture: np.ndarray) -> bool:
    """Whether ``picture`` is ``ref`` moved as a whole along x or y (see _EXPLAINED)."""
    for axis in (0, 1):  # the column profile (a pan), then the row profile (a tilt)
        before, after = ref.mean(axis=axis), picture.mean(axis=axis)
        n = before.size
        if n < 4 or float(np.abs(after - before).mean()) < _PROFILE_NOISE:
            continue
        # mean |after[i] - before[j]| along each diagonal j - i = shift, all at once
        # (a loop over the shifts took 0.4-0.9 ms a frame beside a steady camera's strip)
        pos = np.arange(n)
        shift = (pos[None, :] - pos[:, None]).ravel() + (n - 1)
        sums = np.bincount(shift, np.abs(after[:, None] - before[None, :]).ravel(), 2 * n - 1)
        means = sums / (n - np.abs(np.arange(2 * n - 1) - (n - 1)))
        reach = n // 4
        moved = min(means[n - 1 - reach:n - 1].min(), means[n:n + reach].min())
        if moved < _EXPLAINED * means[n - 1]:
            return True
    return False


def _shifted(ref: np.ndarray, picture: np.ndarray) -> bool:
    """Whether ``picture`` is ``ref`` moved along x or y, pixel by pixel (see _PIXEL_NOISE)."""
    zero = float(np.abs(picture - ref).mean())
    if zero < _PIXEL_NOISE:
        return False
    for axis in (1, 0):  # a pan, then a tilt
        n = ref.shape[axis]
        best = zero
        for k in range(1, n // 4 + 1):
            a, b = (picture[:, k:], ref[:, :-k]) if axis else (picture[k:], ref[:-k])
            c, d = (picture[:, :-k], ref[:, k:]) if axis else (picture[:-k], ref[k:])
            best = min(best, float(np.abs(a - b).mean()), float(np.abs(c - d).mean()))
        if best < _EXPLAINED * zero:
            return True
    return False


def _glyphs(band: np.ndarray, level: float) -> np.ndarray:
    """The text pixels of a band at ``level``: (rows, w) bool."""
    return np.abs(band - np.float32(level)) > _GLYPH


def edge_band(minc: np.ndarray, *, text: bool = True) -> tuple[int, float]:
    """Rows of a flat band at the top edge of ``minc`` ending in one straight step, and its level.

    Parameters
    ----------
    minc : ndarray
        (h, w) float32, the per-pixel minimum over channels in [0, 1] of
        full scale; flip it (``minc[::-1]``) for the bottom edge.

    text : bool
        Whether the band must carry text (False: a band already confirmed,
        whose text may come and go, as subtitles in a letterbox bar do).

    Returns
    -------
    rows, level : int, float
        ``rows`` 0 when there is no such band (more than 12 % of the rows,
        fewer than 2, rows that leave its level, no text on it, or an edge
        that fades).
    """
    h = minc.shape[0]
    limit = int(h * _BAND_SHARE)
    if h < 8 or limit < 2:
        return 0, 0.0
    level = _mid(minc[0])
    if np.count_nonzero(np.abs(minc[0] - np.float32(level)) < _LEVEL) < _ROW_SHARE * minc.shape[1]:
        return 0, 0.0  # the edge row itself is no band's (most frames: at once)
    level = _mid(minc[:2].ravel())
    near = np.abs(minc[:limit + 3] - np.float32(level)) < _LEVEL  # one pass over the edge rows
    share = near.mean(axis=1)
    outside = share < _ROW_SHARE
    first = int(np.argmax(outside)) if outside.any() else limit + 3
    # Text taller and bolder than the strip's plain rows above it covers most
    # of its rows: the band goes on below them where its level comes back
    # (a 54 px dark strip at 540p was found down to its text, 11 of its 18
    # working rows, and the rest, dark, kept the picture's dehaze all but
    # off, trial 68). The first end is kept where that longer band fails.
    back = np.flatnonzero(share[first:limit] >= _ROW_SHARE)
    for n in ([first + int(back[-1]) + 1] if back.size else []) + [first]:
        if _band_ends(minc, near, n, level, limit, text):
            return n, level
    return 0, 0.0


def _band_ends(minc: np.ndarray, near: np.ndarray, n: int, level: float, limit: int,
               text: bool = True) -> bool:
    """Whether rows ``:n`` of ``minc`` are a band at ``level``: mostly at it, with text
    (if ``text``), ending in a straight step (see :func:`edge_band`)."""
    if n < 2 or n > limit or near[:n].mean() < _BAND_FILL:
        return False
    if text and np.count_nonzero(_glyphs(minc[:n], level)) < _GLYPHS * near[:n].size:
        return False  # no text on it
    return max(_mid(np.abs(minc[j] - np.float32(level))) for j in (n, n + 1)) >= _STEP


@dataclass
class _Side:
    rows: int = 0
    level: float = 0.0
    since: float = 0.0
    ref: np.ndarray | None = None  # the picture, sampled, when the band was first seen
    glyphs: np.ndarray | None = None  # the band's text pixels then (bool)
    moved: bool = False
    waited: int = 0  # frames the band has waited for the picture to move
    confirmed: bool = False

    def update(self, rows: int, level: float, picture: np.ndarray | None,
               glyphs: np.ndarray | None, now: float) -> int:
        if (self.confirmed and rows == self.rows and glyphs is not None
                and abs(level - self.level) <= _SAME_LEVEL):
            # Once confirmed, a band at the same rows and level stays one
            # whatever its text does: its text is read afresh. (The light
            # glinting off a car's bonnet, taken for a strip, slid away and
            # the band was lost and found again every second, the picture
            # stepping by 20-28 levels each time, trial 69.)
            self.glyphs = glyphs
            return rows
        if (rows == 0 or picture is None or glyphs is None or rows != self.rows
                or abs(level - self.level) > _SAME_LEVEL
                or self.ref is None or self.ref.shape != picture.shape
                or self.glyphs is None or self.glyphs.shape != glyphs.shape
                or np.count_nonzero(glyphs & self.glyphs)
                < _GLYPHS_KEPT * np.count_nonzero(self.glyphs)):
            self.rows, self.level, self.since, self.ref, self.glyphs, self.moved = \
                rows, level, now, picture, glyphs, False
            self.confirmed, self.waited = False, 0
            return 0
        if not self.moved:
            self.waited += 1
            # the pixel-by-pixel shift (0.3-0.4 ms) on every fourth frame: a
            # still view whose picture keeps changing (traffic, night noise)
            # paid it on every frame (0.50 against 0.12 ms, trial 70)
            self.moved = (_mid(np.abs(picture - self.ref).ravel()) > _MOVED
                          or _translated(self.ref, picture)
                          or (self.waited % 4 == 0 and _shifted(self.ref, picture)))
        self.confirmed = self.moved and now - self.since >= _HOLD_S
        return rows if self.confirmed else 0


class OverlayBands:
    """Tracks light strips burnt in at a video's top and bottom edges.

    :meth:`update` returns how many working rows at the top and at the
    bottom are an overlay: a band found by :func:`edge_band` on every frame
    for :data:`_HOLD_S` seconds with the same rows and level while the rest
    of the picture moved. The dehazer leaves those rows out of the airlight
    search and the haze statistics, as it does black letterbox bars. Any
    frame without the band, or with it at other rows or another level,
    starts the count again.
    """

    def __init__(self) -> None:
        self._top = _Side()
        self._bottom = _Side()

    def reset(self) -> None:
        self._top = _Side()
        self._bottom = _Side()

    def update(self, minc: np.ndarray, now: float) -> tuple[int, int]:
        """Overlay rows ``(top, bottom)`` of a frame at ``now`` seconds.

        ``minc`` is its working-size per-pixel minimum over channels,
        (h, w) float32 in [0, 1].
        """
        h = minc.shape[0]
        top, top_level = edge_band(minc)
        bottom, bottom_level = edge_band(minc[::-1])
        # a confirmed band whose text is gone for now (a letterbox bar between
        # subtitles) is still one: it was dropped at every blank and found a
        # second after the next subtitle, the picture stepping each time
        if not top and self._top.confirmed:
            top, top_level = edge_band(minc, text=False)
        if not bottom and self._bottom.confirmed:
            bottom, bottom_level = edge_band(minc[::-1], text=False)
        if not (top or bottom):  # the common case: nothing to sample
            self._top.update(0, 0.0, None, None, now)
            self._bottom.update(0, 0.0, None, None, now)
            return 0, 0
        edge = int(h * _BAND_SHARE) + 2  # the rows no band reaches, sampled
        picture = minc[edge:h - edge:4, ::4].copy()
        return (self._top.update(top, top_level, picture, _glyphs(minc[:top], top_level), now),
                self._bottom.update(bottom, bottom_level, picture,
                                    _glyphs(minc[::-1][:bottom], bottom_level), now))
