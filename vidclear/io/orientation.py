"""A video's display matrix: how its stored picture is turned and mirrored to be shown.

The matrix is FFmpeg's ``AV_FRAME_DATA_DISPLAYMATRIX`` (the MP4/MOV track
header's ``matrix``, ISO/IEC 14496-12 8.3.2): nine int32, the first two
columns in 16.16 fixed point. A stored pixel (x, y), y down, is shown at
``x' = a x + c y``, ``y' = b x + d y`` (then moved back into the frame),
with ``a, b, c, d`` the entries 0, 1, 3 and 4.

A quarter turn, mirrored or not (the eight ways a picture can lie in a
rectangle), is applied to the pixels, as FFmpeg's ``autorotate`` applies it
with ``transpose``, ``hflip`` and ``vflip``. Any other matrix (a 45° turn)
is no rearrangement of pixels: FFmpeg turns the picture within its frame
and cuts the corners; vidclear keeps the picture as stored and hands the
matrix on to the output.
"""

from __future__ import annotations

import math
from typing import Any

import av
import numpy as np
from av.sidedata.sidedata import Type

from vidclear.io.side_data import frame_side_data

__all__ = ["IDENTITY", "KEEPS_DISPLAY_MATRIX", "describe", "display_matrix", "file_display_matrix",
           "orient", "placement", "quarter_turns"]

#: The muxers that store a display matrix (FFmpeg's, checked by writing one
#: and reading it back with ffprobe); MPEG-TS, AVI, FLV and NUT drop it.
KEEPS_DISPLAY_MATRIX = frozenset({"mp4", "mov", "ipod", "3gp", "3g2", "ismv", "psp", "f4v",
                                  "matroska", "webm"})

_ONE = 1 << 16  # 1.0 in 16.16 fixed point
#: ``(a, b, c, d)`` of a matrix that leaves the picture as it is
IDENTITY = (1, 0, 0, 1)


def display_matrix(av_frame: Any) -> tuple[int, ...] | None:
    """The decoded frame's display matrix as nine ints, or None where it has none."""
    for data in frame_side_data(av_frame):
        if data.type == Type.DISPLAYMATRIX:
            values = np.frombuffer(bytes(data), dtype=np.int32)
            return tuple(int(v) for v in values) if values.size == 9 else None
    return None


def file_display_matrix(path: str) -> tuple[int, ...] | None:
    """The display matrix of a file's first video frame: None for none, or no frame decoding.

    PyAV reads the matrix from decoded frames only (a stream has none to
    read), so the first frame is decoded.
    """
    try:
        with av.open(path) as container:
            for frame in container.decode(video=0):
                return display_matrix(frame)
    except (av.FFmpegError, OSError, IndexError):
        return None
    return None


def quarter_turns(matrix: tuple[int, ...]) -> tuple[int, int, int, int] | None:
    """``(a, b, c, d)``, each -1, 0 or 1, of a matrix that turns by quarter turns, or None.

    None for any other matrix: another angle, a scale, a shear.
    """
    entries = [matrix[i] / _ONE for i in (0, 1, 3, 4)]
    a, b, c, d = (round(v) for v in entries)
    if any(abs(v - q) > 1e-3 for v, q in zip(entries, (a, b, c, d), strict=True)):
        return None
    if abs(a * d - b * c) != 1:
        return None
    return a, b, c, d


def placement(matrix: tuple[int, ...] | None, autorotate: bool
              ) -> tuple[tuple[int, int, int, int] | None, tuple[int, ...] | None]:
    """What becomes of a frame's display matrix: (turns applied to the pixels, matrix handed on).

    ``(None, None)`` for none, or one that leaves the picture as it is; a
    quarter turn, mirrored or not, is applied when ``autorotate``; any other
    matrix, or every one without it, goes to the output as it is.
    """
    if matrix is None:
        return None, None
    turns = quarter_turns(matrix)
    if turns == IDENTITY:
        return None, None
    if autorotate and turns is not None:
        return turns, None
    return None, matrix


def orient(image: np.ndarray, turns: tuple[int, int, int, int]) -> np.ndarray:
    """The (H, W, C) ``image`` as shown under ``turns`` (from :func:`quarter_turns`).

    Returns a C-contiguous array, (W, H, C) where the picture is turned a
    quarter (``a == 0``).
    """
    a, b, c, d = turns
    if a == 0:  # shown rows follow stored columns: x' = c y, y' = b x
        shown = image.swapaxes(0, 1)
        if b < 0:
            shown = shown[::-1]
        if c < 0:
            shown = shown[:, ::-1]
    else:  # x' = a x, y' = d y
        shown = image
        if d < 0:
            shown = shown[::-1]
        if a < 0:
            shown = shown[:, ::-1]
    return np.ascontiguousarray(shown)


def describe(matrix: tuple[int, ...]) -> str:
    """The matrix in words: "turns the picture 45 degrees clockwise", "... and mirrors it"."""
    a, b, c, d = (matrix[i] / _ONE for i in (0, 1, 3, 4))
    mirrored = a * d - b * c < 0
    if mirrored:  # the turn that follows a mirror across the vertical axis
        a, c = -a, -c
    angle = math.degrees(math.atan2(b, a))  # clockwise on a screen (y down)
    turn = (f"turns the picture {abs(angle):.4g} degrees "
            f"{'clockwise' if angle > 0 else 'counter-clockwise'}" if abs(angle) > 1e-3 else "")
    if mirrored:
        return f"{turn} and mirrors it" if turn else "mirrors the picture"
    return turn or "leaves the picture as it is"
