"""The picture inside a frame's black bars.

Letterbox and pillarbox bars, and subtitles set in them, are found on each
frame's working luma (:func:`picture_bounds`); the haze statistics are read
inside them (:func:`inside`), and the bars are kept out of the dark channel
(:func:`fill_bars`). Strips burnt in at an edge over many frames (a news
ticker, a dashcam's time line) are
:class:`~vidclear.dehaze.overlay.OverlayBands`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["fill_bars", "inside", "picture_bounds"]

# Black bars (letterbox, pillarbox): edge rows or columns whose brightest pixel
# (luma) stays below this, at most this share on each side
_BAR_LEVEL = 0.04
_BAR_SHARE = 0.3
# Subtitles in a bar: a block of at least _BAR_TEXT_ROWS rows, each with at
# least _BAR_TEXT of its pixels below _BAR_LEVEL, one of them at least
# _BAR_TEXT_LEVEL at its brightest (three times the bar's level), with wholly
# dark rows on both sides; at most two such blocks (two lines) in a bar. A
# long line in a bold font leaves 0.19-0.26 of a working row dark
# (anti-aliased strokes light most working pixels they touch), a short one
# 0.7-0.8; a working row that holds only the strokes' edge is 0.14 at its
# brightest, so brightness is asked of the block, not of each row. A
# subtitle is 5-11 working rows tall (3-6 % of the frame's height), and
# lights at least _BAR_TEXT_LIT of the block's pixels (a four-letter word at
# 720p 3 %), in at most three runs across the frame, each with at least
# _BAR_TEXT_SPAN of its columns holding some of it (letters and the gaps
# between words: 0.8-0.9 at the working size). Stars and lamps in a night
# sky, blocks of one to three rows, a pixel or two a row, or lights spread
# across the whole width (0.15-0.2 of its columns), end the bar where they
# start (trial 70: a starry sky and a row of lights were taken for bars down
# to 30 % of the rows when each lit row counted).
_BAR_TEXT = 0.15
_BAR_TEXT_LEVEL = 0.12
_BAR_TEXT_ROWS = 4
_BAR_TEXT_LIT = 0.02
_BAR_TEXT_SPAN = 0.5
# A bar may hold up to three runs of text on the same rows, parted by more
# than _BAR_TEXT_GAP of the width: a time code at the left and "SCREENER" at
# the right (+28 levels on every frame, trial 71). Dim text counts: a 25 %
# grey channel logo, a subtitle fading in or out (it flashed +21 levels at
# each fade-in when text had to reach 0.25 at its brightest, trial 71).
_BAR_TEXT_GAP = 0.1
# Each run of text is at least this many times as wide as its rows are high
# (a three-letter logo 1.8, a word of four 2 and more; a lamp's glow, round,
# 1: lamps at two or three heights in a night sky were taken for text)
_BAR_TEXT_WIDE = 1.5
# A subtitle set for the wide frame runs over a 4:3 film's side bars into the
# picture: no wholly black column follows it. Columns of a side bar, each
# wholly black or at least _BAR_TEXT_DARK black, whose lit pixels all lie in
# one band of at most _BAR_TEXT_CROSSING of the rows (the subtitle's line,
# 5-11 %) and reach the picture, run on to it (the picture was 10 levels
# light while such a subtitle showed, trial 70).
_BAR_TEXT_CROSSING = 0.12
_BAR_TEXT_DARK = 0.85


def picture_bounds(luma: np.ndarray) -> tuple[int, int, int, int]:
    """Rows ``r0:r1`` and columns ``c0:c1`` of the frame inside its black bars.

    Bars (letterbox, pillarbox) are whole rows (columns) at an edge whose
    brightest pixel is below :data:`_BAR_LEVEL` in ``luma`` (H×W float32 in
    [0, 1] of full scale; the minimum over channels had taken saturated
    colour at an edge, a test pattern's red and blue, for black); a run longer than
    :data:`_BAR_SHARE` of the rows (columns) is no bar, so a dark frame is
    never cropped. Letterbox bars are 25 % of a 4:3 frame: taken as the
    darkest pixels they said "no veil" and thick haze between them kept the
    guards of light haze. The veil, density and brightness-guard statistics
    are taken inside these bounds (:func:`inside`), and :func:`fill_bars`
    keeps the bars out of the dark channel.

    Subtitles set in a bar do not end it: a block of rows mostly black with
    text in it (:data:`_BAR_TEXT` and the constants after it), between
    wholly dark rows, carries the bar on to its next wholly dark rows; the
    columns of a side bar that a subtitle crosses into the picture
    (:data:`_BAR_TEXT_CROSSING`) are bar. (The bar had ended at the
    subtitle's lowest row, and a 2.39:1 film's 92 px bars with a subtitle
    showing left the picture 39 levels light, a 2:1 film's 17-19, stepping
    back each time the subtitle went: trial 69.)
    """
    h, w = luma.shape
    level = np.float32(_BAR_LEVEL)

    def text_line(lit: np.ndarray, width: int, rows: int) -> bool:
        """Whether lit columns ``lit`` (sorted) of a block ``rows`` high are at most three
        runs of text, each dense and _BAR_TEXT_WIDE times wider than high (see there)."""
        parts = np.split(lit, np.flatnonzero(np.diff(lit) > _BAR_TEXT_GAP * width) + 1)
        return len(parts) <= 3 and all(
            p.size >= _BAR_TEXT_SPAN * (p[-1] - p[0] + 1)
            and p[-1] - p[0] + 1 >= _BAR_TEXT_WIDE * rows for p in parts)

    def crossing(dark: np.ndarray, peak: np.ndarray) -> bool:
        """Whether ``dark`` (lines × pixels, bool) is a side bar a subtitle crosses."""
        lit = np.flatnonzero(~dark.all(axis=0))
        return bool(peak.max() >= _BAR_TEXT_LEVEL
                    and lit[-1] - lit[0] + 1 <= _BAR_TEXT_CROSSING * dark.shape[1])

    def run(lum: np.ndarray, limit: int, side: bool = False) -> int:
        """Bar rows of ``lum`` (rows × pixels) from its first: 0 when they run past ``limit``.

        ``side``: ``lum`` is the frame's columns (a side bar may be crossed).
        """
        if not (lum[0] < level).all():
            return 0  # no bar starts at this edge (the whole frame's statistics took 0.2 ms)
        lum = lum[:limit + 1]
        dark = lum < level
        share, peak = dark.mean(axis=1), lum.max(axis=1)
        pure = share == 1.0
        n = 0
        while n < len(pure) and pure[n]:
            n += 1
        if n > limit:
            return 0  # a dark frame, no bars
        m = n  # text running out of the bar into the picture (a side bar's)
        while m < limit and (pure[m] or share[m] >= _BAR_TEXT_DARK):
            m += 1
        if (side and m - n >= _BAR_TEXT_ROWS and m < limit and not pure[m - 1]
                and crossing(dark[n:m], peak[n:m])):
            return m
        end, blocks = n, 0
        while n < limit and blocks < 2:
            start = n
            while n < limit and not pure[n] and share[n] >= _BAR_TEXT:
                n += 1
            if (n == start or n >= limit or not pure[n] or n - start < _BAR_TEXT_ROWS
                    or peak[start:n].max() < _BAR_TEXT_LEVEL
                    or 1.0 - share[start:n].mean() < _BAR_TEXT_LIT):
                break  # the picture, or no text: the bar ends at its last dark row
            if not text_line(np.flatnonzero(~dark[start:n].all(axis=0)), dark.shape[1],
                             n - start):
                break  # lights spread across the frame, not a line of text
            blocks += 1
            while n < limit and pure[n]:
                n += 1
            end = n
        return end

    lim_r, lim_c = int(h * _BAR_SHARE), int(w * _BAR_SHARE)
    return (run(luma, lim_r), h - run(luma[::-1], lim_r),
            run(luma.T, lim_c, True), w - run(luma.T[::-1], lim_c, True))


def fill_bars(minc: np.ndarray, bounds: tuple[int, int, int, int]) -> None:
    """Give the bars of ``minc`` the picture's median, in place, before the dark channel.

    Black, the bars made the dark channel 0 (no haze) for a window's reach
    into the picture, and the guided filter carried that t of 1 further in:
    a letterboxed clip came out 17 levels brighter, with less contrast, than
    the same picture without bars.
    """
    h, w = minc.shape
    r0, r1, c0, c1 = bounds
    if (r0, r1, c0, c1) == (0, h, 0, w):
        return
    value = np.float32(np.median(minc[r0:r1, c0:c1]))
    minc[:r0] = value
    minc[r1:] = value
    minc[:, :c0] = value
    minc[:, c1:] = value


def inside(plane: np.ndarray, bounds: tuple[int, int, int, int], margin: int = 0) -> np.ndarray:
    """The part of an H×W ``plane`` inside ``bounds`` (:func:`picture_bounds`), contiguous.

    ``margin`` more pixels are left off at each edge that has a bar (a dark
    channel's window reaches that far into it). The plane itself when there
    are no bars.
    """
    h, w = plane.shape[:2]
    r0, r1, c0, c1 = bounds
    if (r0, r1, c0, c1) == (0, h, 0, w):
        return plane
    m = [margin if edge else 0 for edge in (r0, h - r1, c0, w - c1)]
    y0, y1 = r0 + m[0], max(r1 - m[1], r0 + m[0] + 1)
    x0, x1 = c0 + m[2], max(c1 - m[3], c0 + m[2] + 1)
    return np.ascontiguousarray(plane[y0:y1, x0:x1])
