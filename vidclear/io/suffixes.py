"""The file extensions vidclear takes for video when it lists a folder.

One list for every folder scan (``vidclear run FOLDER``, ``vidclear batch
FOLDER``, the ``--split`` output check): three lists had drifted apart, and
a folder batch left ``.ogv`` and ``.vob`` files out without a word while a
glob of the same folder ran them (trial 123 F2). A file named on its own,
or matched by a glob, is read whatever its extension.
"""

from __future__ import annotations

__all__ = ["VIDEO_SUFFIXES"]

#: Containers FFmpeg reads video from, by their usual extensions (lower case).
VIDEO_SUFFIXES = frozenset({
    ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".ts", ".m2ts", ".mts", ".mpg", ".mpeg",
    ".vob", ".flv", ".wmv", ".asf", ".3gp", ".3g2", ".mxf", ".nut", ".ogv", ".y4m",
})
