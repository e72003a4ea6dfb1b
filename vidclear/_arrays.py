"""Array layouts every layer takes alike.

A big-endian image (``>u2`` from FITS or some TIFF readers) is uint16 all
the same, but ``dtype == np.uint16`` is False for it: every function that
took uint16 refused it, naming uint16 as allowed (trials 128 F1, 130 F11).
"""

from __future__ import annotations

import numpy as np

__all__ = ["native"]


def native(arr: np.ndarray) -> np.ndarray:
    """``arr`` in the machine's byte order: a copy if it was stored the other way, else itself."""
    return arr if arr.dtype.isnative else arr.astype(arr.dtype.newbyteorder("="))
