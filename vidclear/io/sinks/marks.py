"""An input stream's tags and dispositions carried onto the output stream made from it.

FFmpeg copies both by default (``-map_metadata`` and ``-disposition`` left
alone): a stream's ``language`` and ``title``, and which audio track is the
default, which a commentary, which subtitle is forced.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection
from typing import Any

__all__ = ["ENCODING_TAGS", "keep_marks"]

# tags that describe how the input was encoded or muxed, not the stream: left
# behind on a re-encoded stream, as FFmpeg leaves them
ENCODING_TAGS = frozenset({"encoder", "duration", "handler_name", "vendor_id"})


def keep_marks(ist: Any, ost: Any, drop: Collection[str] = ()) -> None:
    """Copy ``ist``'s tags (but those named in ``drop``, lower case) and dispositions to ``ost``.

    Parameters
    ----------
    ist, ost : av.stream.Stream
        The input stream and the output stream written from it.
    drop : collection of str
        Tag names, lower case, that describe the input's encoding rather than
        the stream (``encoder``, ``duration``, ...) and are left behind.

    A disposition PyAV or the muxer cannot set is left at the muxer's
    default rather than refused.
    """
    ost.metadata.update({k: v for k, v in ist.metadata.items() if k.lower() not in drop})
    with contextlib.suppress(AttributeError, ValueError, TypeError):
        ost.disposition = ist.disposition
