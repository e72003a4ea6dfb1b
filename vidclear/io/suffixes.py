"""The file extensions vidclear takes for video when it lists a folder.

One list for every folder scan (``vidclear run FOLDER``, ``vidclear batch
FOLDER``, the ``--split`` output check): three lists had drifted apart, and
a folder batch left ``.ogv`` and ``.vob`` files out without a word while a
glob of the same folder ran them (trial 123 F2). A file named on its own,
or matched by a glob, is read whatever its extension.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__ = ["UNWRITABLE_VIDEO_SUFFIXES", "VIDEO_SUFFIXES", "left_out_note"]

#: Containers FFmpeg reads video from and writes under the same extension
#: (lower case): an output named like its input (batch, ``--split``) works.
VIDEO_SUFFIXES = frozenset({
    ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".ts", ".m2ts", ".mts", ".m2t", ".mpg",
    ".mpeg", ".vob", ".flv", ".wmv", ".asf", ".3gp", ".3g2", ".mxf", ".nut", ".ogv",
})
#: Video that FFmpeg reads but writes under no muxer of that extension (a
#: camcorder's MPEG-PS as ``.mod``/``.tod``, DV, ``.divx``, raw ``.y4m``):
#: a folder scan leaves them out with a note, for an output named like them
#: could not be written (``.y4m`` taken in failed a batch's job and stopped
#: a ``--split`` run, trial 124 F2); named with ``--ext`` they run.
UNWRITABLE_VIDEO_SUFFIXES = frozenset({".mod", ".tod", ".dv", ".divx", ".y4m"})


def left_out_note(spec: str, files: Sequence[Path]) -> str | None:
    """A note naming the video files of ``files`` a folder scan of ``spec`` leaves out, or None."""
    skipped = sorted(str(f) for f in files if f.suffix.lower() in UNWRITABLE_VIDEO_SUFFIXES)
    if not skipped:
        return None
    kinds = ", ".join(sorted({Path(f).suffix.lower() for f in skipped}))
    more = ", ..." if len(skipped) > 3 else ""
    return (f"skipped {len(skipped)} video file(s) in {spec} whose extension ({kinds}) no "
            f"output can keep: {', '.join(skipped[:3])}{more}; name them with --ext .mp4 "
            "(batch) or one by one to process them")
