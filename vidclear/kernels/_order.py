"""Order statistics for the Numba kernels: selection and the median.

Shared by the dehazer (airlight candidates, strided quantiles) and the HDR
code (bracket detection, alignment checks). Written here rather than calling
``np.partition``, whose Numba implementation costs over ten seconds of
first-run compile time; ``np.sort`` is avoided for the same reason.
"""

from __future__ import annotations

import numpy as np

from vidclear._numba_cache import njit

__all__ = ["median", "select", "select_next"]


@njit(cache=True, nogil=True)
def select(d: np.ndarray, k: int) -> float:
    """The ``k``-th smallest (from 0) of a non-empty 1-D array of finite values.

    ``d`` is not modified. A 1024-bin histogram between the extremes finds
    the bin holding it; the values in that bin are histogrammed again between
    their own extremes, and so on until few are left (or all are equal),
    which are sorted. The extremes fall in the first and the last bin, so
    every round keeps fewer values; each is one pass over what is left.
    """
    nb = 1024
    counts = np.empty(nb, np.int64)
    sub = np.empty((4, nb), np.int64)
    cand = d
    while True:
        n = cand.shape[0]
        lo = cand[0]
        hi = cand[0]
        for i in range(n):
            lo = min(lo, cand[i])
            hi = max(hi, cand[i])
        if hi <= lo:  # all equal
            return lo
        if n <= 64:  # insertion sort of a copy
            s = cand.copy()
            for i in range(1, n):
                v = s[i]
                j = i - 1
                while j >= 0 and s[j] > v:
                    s[j + 1] = s[j]
                    j -= 1
                s[j + 1] = v
            return s[k]
        scale = nb / (hi - lo)
        sub[:] = 0  # four interleaved histograms: runs of equal values do not serialise
        for i in range(n):
            sub[i & 3, min(int((cand[i] - lo) * scale), nb - 1)] += 1
        for b in range(nb):
            counts[b] = sub[0, b] + sub[1, b] + sub[2, b] + sub[3, b]
        cum = 0
        sel = nb - 1
        for b in range(nb):
            if cum + counts[b] > k:
                sel = b
                break
            cum += counts[b]
        buf = np.empty(n, d.dtype)
        j = 0
        for i in range(n):  # branch-free: write every value, keep those in the bin
            v = cand[i]
            buf[j] = v
            j += min(int((v - lo) * scale), nb - 1) == sel
        k -= cum
        cand = buf[:j]


@njit(cache=True, nogil=True)
def select_next(d: np.ndarray, k: int, a: float) -> float:
    """The ``k + 1``-th smallest (from 0) of ``d``, given ``a``, its ``k``-th smallest.

    One pass: ``a`` again if more than ``k + 1`` values are at most ``a``,
    else the smallest value above it (``a`` when there is none). A second
    :func:`select` costs several passes.
    """
    n = d.shape[0]
    at_most = 0
    above = np.inf
    for i in range(n):
        v = d[i]
        at_most += v <= a
        if v > a:
            above = min(above, v)
    if at_most > k + 1 or above == np.inf:
        return a
    return above


@njit(cache=True, nogil=True)
def median(d: np.ndarray) -> float:
    """The median of a non-empty 1-D array of finite values, equal to ``np.median``."""
    n = d.shape[0]
    a = select(d, (n - 1) // 2)
    if n % 2 == 1:
        return a
    return (a + select_next(d, (n - 1) // 2, a)) / 2.0
