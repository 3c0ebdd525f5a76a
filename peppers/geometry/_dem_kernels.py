"""Numba kernel for :class:`peppers.geometry.dem.GridDem`: bilinear sampling."""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(nogil=True, cache=True)
def bilinear(grid: np.ndarray, row: np.ndarray, col: np.ndarray, out: np.ndarray) -> None:
    """Bilinear samples of ``grid`` at fractional (row, col) of pixel centres.

    Positions within half a pixel outside the centres are clamped to the edge;
    farther out (or NaN positions) give NaN.
    """
    m, n = grid.shape
    for k in range(row.shape[0]):
        r = row[k]
        c = col[k]
        if not (r >= -0.5 and r <= m - 0.5 and c >= -0.5 and c <= n - 0.5):
            out[k] = np.nan
            continue
        r = min(max(r, 0.0), m - 1.0)
        c = min(max(c, 0.0), n - 1.0)
        i = min(int(math.floor(r)), m - 2)
        j = min(int(math.floor(c)), n - 2)
        fr = r - i
        fc = c - j
        out[k] = ((1.0 - fr) * ((1.0 - fc) * grid[i, j] + fc * grid[i, j + 1])
                  + fr * ((1.0 - fc) * grid[i + 1, j] + fc * grid[i + 1, j + 1]))
