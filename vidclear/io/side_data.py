"""The side data of a decoded PyAV frame, read the same way across PyAV releases."""

from __future__ import annotations

from typing import Any


def frame_side_data(av_frame: Any) -> list[Any]:
    """The side data entries of a decoded frame, each with ``.type`` and the buffer protocol.

    Parameters
    ----------
    av_frame : av.VideoFrame
        A decoded frame.

    Returns
    -------
    list of av.sidedata.sidedata.SideData
        In the frame's order; empty where it has none.

    Notes
    -----
    PyAV 18.1.1 made ``frame.side_data`` a mapping whose iteration gives
    the entries' types (``av.sidedata.sidedata.Type``), where earlier
    releases give the entries themselves (and 18.1.0's ``values()``
    fails). Read the one way, every H.264 frame of libx264's, which carries
    its encoder's unregistered SEI, stopped the run with an internal error
    on 18.1.1 (trial 171 F1), and the HDR10 metadata test read no
    metadata at all.
    """
    container = av_frame.side_data
    return [entry if hasattr(entry, "type") else container[entry] for entry in container]
