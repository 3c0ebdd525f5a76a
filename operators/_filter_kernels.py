"""Numba kernels of the filters in :mod:`peppers.operators.filters`.

Private: the public operators check shapes and dtypes first. Every kernel is
``@njit(nogil=True, cache=True)`` so tiles run in parallel on threads.

Box sums
--------
The box mean is separable: a horizontal pass sums ``nc`` neighbours of each
input row, a vertical pass sums ``nr`` of those row sums. Both passes add the
window's terms in a fixed order (left to right, top to bottom), so every
output pixel is the same floating-point expression of the same inputs
wherever the tile starts: results are bit-identical for any tiling. (A
running sum that adds the entering and subtracts the leaving pixel would do
O(1) work per pixel, but its rounding would depend on where the tile begins.)
The loops run along contiguous rows, which the compiler vectorises; the cost
is ``nr + nc`` additions per pixel. Sums accumulate in double precision.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(nogil=True, cache=True)
def box_mean(x, nr, nc, ring, out):
    """Mean over an ``nr`` x ``nc`` window, valid part only.

    Parameters
    ----------
    x : ndarray (H + nr - 1, W + nc - 1), C-contiguous
        The input region.
    nr, nc : int
        Window height and width.
    ring : ndarray (nr, W), float64 or complex128
        Scratch: the horizontal sums of the last ``nr`` input rows; row
        ``k`` of the ring holds input row ``r`` with ``r % nr == k``.
    out : ndarray (H, W)
        Receives ``out[i, j] = mean(x[i:i + nr, j:j + nc])``.
    """
    h, w = out.shape
    count = nr * nc
    acc = np.empty(w, dtype=ring.dtype)
    for r in range(h + nr - 1):
        row = ring[r % nr]
        xr = x[r]
        for j in range(w):
            row[j] = xr[j]
        for k in range(1, nc):
            for j in range(w):
                row[j] += xr[j + k]
        i = r - nr + 1
        if i < 0:
            continue
        first = ring[i % nr]
        for j in range(w):
            acc[j] = first[j]
        for k in range(1, nr):
            other = ring[(i + k) % nr]
            for j in range(w):
                acc[j] += other[j]
        orow = out[i]
        for j in range(w):
            orow[j] = acc[j] / count
