"""Numba kernels for :class:`peppers.geometry.dem.GridDem`: bilinear sampling.

``height_at`` is the scalar sampler, callable from other kernels (a DEM
intersection loop, the simulator's radar grid); ``heights_at`` is its
vector loop.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(nogil=True, cache=True)
def height_at(grid, lat0, lon0, dlat, dlon, lat_deg, lon_deg):
    """Bilinear height at a geodetic position on a pixel-is-area lat/lon grid.

    ``(lat0, lon0)`` is the outer corner of pixel (0, 0) and ``(dlat, dlon)``
    the pixel size (degrees). Positions within half a pixel outside the
    outermost pixel centres are held at the edge value; farther out (or NaN
    positions) give NaN.
    """
    m, n = grid.shape
    r = (lat_deg - lat0) / dlat - 0.5
    c = (lon_deg - lon0) / dlon - 0.5
    if not (r >= -0.5 and r <= m - 0.5 and c >= -0.5 and c <= n - 0.5):
        return np.nan
    r = min(max(r, 0.0), m - 1.0)
    c = min(max(c, 0.0), n - 1.0)
    i = min(int(math.floor(r)), m - 2)
    j = min(int(math.floor(c)), n - 2)
    fr = r - i
    fc = c - j
    return ((1.0 - fr) * ((1.0 - fc) * grid[i, j] + fc * grid[i, j + 1])
            + fr * ((1.0 - fc) * grid[i + 1, j] + fc * grid[i + 1, j + 1]))


@njit(nogil=True, cache=True)
def heights_at(grid, lat0, lon0, dlat, dlon, lat_deg, lon_deg, out):
    """Vector loop over :func:`height_at` (flat arrays)."""
    for k in range(lat_deg.shape[0]):
        out[k] = height_at(grid, lat0, lon0, dlat, dlon, lat_deg[k], lon_deg[k])
