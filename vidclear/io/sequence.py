"""Numbered image sequences named the FFmpeg way (``img%03d.png``).

FFmpeg's image2 demuxer reads ``img%03d.png`` as the files ``img000.png``,
``img001.png``, ... in turn, starting from the first of the numbers 0 to 4
that exists (its ``start_number_range``), at 25 fps. vidclear opens such a
name the same way, and refuses an output that is one of its files.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["first_of_sequence", "in_sequence"]

# printf's decimal conversion, as av_get_frame_filename reads it: %d or %0Nd
_NUMBER = re.compile(r"%(0?\d*)d")


def first_of_sequence(spec: str) -> Path | None:
    """The first file of the numbered sequence ``spec`` names, or None.

    None when the name holds no ``%d`` / ``%0Nd``, holds another ``%``
    conversion, or no file numbered 0 to 4 exists.
    """
    pattern = Path(spec)
    if not _NUMBER.search(pattern.name):
        return None
    for number in range(5):
        try:
            first = pattern.with_name(pattern.name % number)
        except (TypeError, ValueError):  # another % conversion: not a sequence
            return None
        if first.is_file():
            return first
    return None


def in_sequence(spec: str, path: Path) -> bool:
    """Whether ``path`` is (or would be) one of the files of the sequence ``spec`` names."""
    if first_of_sequence(spec) is None:
        return False
    pattern = Path(spec)
    parts = _NUMBER.split(pattern.name)  # text, width, text, width, ..., text
    regex = "".join(re.escape(p.replace("%%", "%")) if i % 2 == 0
                    else (rf"\d{{{int(p)},}}" if p.lstrip("0") else r"\d+")
                    for i, p in enumerate(parts))
    return (path.parent.resolve() == pattern.parent.resolve()
            and re.fullmatch(regex, path.name) is not None)
