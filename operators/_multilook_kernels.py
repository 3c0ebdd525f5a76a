"""Numba kernel of :class:`peppers.operators.multilook.Multilook`.

Private. Each output pixel is the mean of its ``la x lr`` block, summed in a
fixed order (each block row left to right, then the row sums top to bottom)
in double precision, so a pixel's value does not depend on the tiling.
"""

from __future__ import annotations

import numba


@numba.njit(nogil=True, cache=True)
def block_mean(x, la, lr, acc, out):
    """``out[i, j] = mean(x[i la:(i + 1) la, j lr:(j + 1) lr])``.

    Parameters
    ----------
    x : ndarray (H la, W lr)
    la, lr : int
        Looks along rows and columns.
    acc : ndarray (W,), float64 or complex128
        Scratch for the block sums of one output row.
    out : ndarray (H, W)
    """
    h, w = out.shape
    count = la * lr
    for i in range(h):
        for j in range(w):
            acc[j] = 0
        for k in range(la):
            xr = x[i * la + k]
            for j in range(w):
                s = xr[j * lr]
                for q in range(1, lr):
                    s += xr[j * lr + q]
                acc[j] += s
        for j in range(w):
            out[i, j] = acc[j] / count
