"""Numbered image sequences named the FFmpeg way (``img%03d.png``).

FFmpeg's image2 demuxer reads ``img%03d.png`` as the files ``img000.png``,
``img001.png``, ... in turn, starting from the first of the numbers 0 to 4
that exists (its ``start_number_range``) or from ``-start_number``, at 25 fps
or ``-framerate``, until the first number missing. A width pads with zeros
whether or not it starts with 0 (``%3d`` is ``%03d``), and ``%%`` is a
percent sign. vidclear opens such a name the same
way, and refuses an output that is one of its files.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["ffmpeg_pattern", "first_of_sequence", "has_number", "in_sequence"]

# printf's decimal conversion as av_get_frame_filename reads it, or a %% escape
_TOKEN = re.compile(r"%%|%(\d*)d")


def has_number(spec: str) -> bool:
    """Whether the file name in ``spec`` holds a ``%d`` / ``%0Nd`` number."""
    return any(m.group(0) != "%%" for m in _TOKEN.finditer(Path(spec).name))


def _numbered(name: str, number: int) -> str:
    return _TOKEN.sub(lambda m: "%" if m.group(0) == "%%"
                      else str(number).zfill(int(m.group(1) or 0)), name)


def first_of_sequence(spec: str, start: int = -1) -> tuple[Path, int] | None:
    """The first file of the numbered sequence ``spec`` names and its number, or None.

    ``start`` is the number the sequence starts at (FFmpeg's
    ``-start_number``); -1 looks for the first of 0 to 4 that exists (its
    default ``start_number_range``). None when the file name holds no
    ``%d`` / ``%0Nd`` or no such file exists. The folder part is taken as
    it is written.
    """
    pattern = Path(spec)
    if not has_number(spec):
        return None
    for number in (range(5) if start < 0 else (start,)):
        first = pattern.with_name(_numbered(pattern.name, number))
        if first.is_file():
            return first, number
    return None


def ffmpeg_pattern(spec: str) -> str:
    """``spec`` as FFmpeg's image2 demuxer needs it: a ``%`` in the folder doubled.

    FFmpeg numbers the whole path, so a folder named ``100%`` would otherwise
    be read as part of the pattern.
    """
    pattern = Path(spec)
    if pattern.parent == Path("."):  # no folder part to escape
        return spec
    return str(pattern.parent).replace("%", "%%") + "/" + pattern.name


def in_sequence(spec: str, path: Path) -> bool:
    """Whether ``path`` is (or would be) one of the files of the sequence ``spec`` names.

    Any number counts, wherever the sequence starts.
    """
    if not has_number(spec):
        return False
    pattern = Path(spec)
    regex = ""
    last = 0
    for m in _TOKEN.finditer(pattern.name):
        regex += re.escape(pattern.name[last:m.start()])
        regex += "%" if m.group(0) == "%%" else (
            rf"\d{{{int(m.group(1))},}}" if (m.group(1) or "").lstrip("0") else r"\d+")
        last = m.end()
    regex += re.escape(pattern.name[last:])
    return (path.parent.resolve() == pattern.parent.resolve()
            and re.fullmatch(regex, path.name) is not None)
