"""The file extensions vidclear takes for video when it lists a folder.

One list for every folder scan (``vidclear run FOLDER``, ``vidclear batch
FOLDER``, the ``--split`` output check): three lists had drifted apart, and
a folder batch left ``.ogv`` and ``.vob`` files out without a word while a
glob of the same folder ran them (trial 123 F2). A file named on its own,
or matched by a glob, is read whatever its extension.

Some video that FFmpeg reads has an extension no muxer writes, or none
that holds what vidclear writes (a camcorder's MPEG-PS as ``.MOD``, raw
``.y4m``): where an output is named like its input (batch, ``--split``) it
takes the extension :func:`output_suffix` gives. Taken in under their own
names, ``.y4m`` failed a batch's job and stopped a ``--split`` run part
way (trial 124 F2); left out, a folder of ``.MOD`` chunks "held no video
files" (trial 126 F2). HDV's ``.m2t`` is MPEG-TS, which
:func:`~vidclear.io.sinks.encoder.container_for` finds by the muxers'
extension lists, as FFmpeg does (named ``.ts`` until then, trial 126 F1).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

__all__ = ["SCANNED_SUFFIXES", "VIDEO_SUFFIXES", "broken_links_note", "output_suffix"]

#: Containers FFmpeg reads video from and writes under the same extension
#: (lower case): an output named like its input works.
VIDEO_SUFFIXES = frozenset({
    ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".ts", ".m2t", ".m2ts", ".mts", ".mpg",
    ".mpeg", ".vob", ".flv", ".wmv", ".asf", ".3gp", ".3g2", ".mxf", ".nut", ".ogv",
})
# read, but written under another extension: the container that holds what
# vidclear writes (H.264 and the input's sound) nearest the input's
_WRITTEN_AS = {".mod": ".mp4", ".tod": ".mp4", ".dv": ".mp4",
               ".divx": ".avi", ".y4m": ".mp4"}
#: Every extension a folder scan takes.
SCANNED_SUFFIXES = VIDEO_SUFFIXES | frozenset(_WRITTEN_AS)


def output_suffix(suffix: str) -> str:
    """The extension an output named like an input with ``suffix`` takes (``.MOD`` -> ``.mp4``)."""
    return _WRITTEN_AS.get(suffix.lower(), suffix)


def broken_links_note(spec: str, paths: Iterable[Path]) -> str | None:
    """A note naming the links to nothing among ``paths`` that a scan of ``spec`` would take."""
    broken = sorted(str(p) for p in paths
                    if p.suffix.lower() in SCANNED_SUFFIXES and p.is_symlink() and not p.exists())
    if not broken:
        return None
    more = ", ..." if len(broken) > 3 else ""
    return f"skipped {len(broken)} link(s) in {spec} to nothing: {', '.join(broken[:3])}{more}"
