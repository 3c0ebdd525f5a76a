"""Numba kernel of terrain-corrected geocoding: radar quads onto a map tile.

Each radar pixel has a map position (from its latitude and longitude, the
phase-to-height solution). Four neighbouring radar pixels span a quad in the
map; the map pixels whose centres fall inside it take the value at their
radar coordinates ``(i + t, j + s)``, found by inverting the bilinear map of
the quad with Newton's method (a 2 x 2 system, three or four steps), and
interpolated bilinearly (or from the nearest corner) in radar coordinates;
corners without a value drop out of the bilinear weights while the others
hold at least half of them.
This is the inverse of the radar lat/lon field followed by bilinear
interpolation in radar geometry (ISCE3 geocode's BILINEAR), done by a scan
over quads so every map pixel is touched only by the quads that cover it.

Determinism: quads are visited in radar row-major order; a map pixel keeps
the first finite value it receives (edges shared by two quads, layover), so
the result does not depend on the tiling as long as each call sees every
quad that overlaps its tile (``Geocode.input_region`` guarantees it).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

EMPTY, COVERED, VALUE = 0, 1, 2


@njit(nogil=True, cache=True)
def _inverse_bilinear(a0, a1, a2, a3, b0, b1, b2, b3, ta, tb):
    """(s, t) with bilinear(a, b)(s, t) = (ta, tb); corners 00, 01, 10, 11. NaN if none."""
    s, t = 0.5, 0.5
    for _ in range(12):
        fa = a0 * (1 - s) * (1 - t) + a1 * s * (1 - t) + a2 * (1 - s) * t + a3 * s * t - ta
        fb = b0 * (1 - s) * (1 - t) + b1 * s * (1 - t) + b2 * (1 - s) * t + b3 * s * t - tb
        das = (a1 - a0) * (1 - t) + (a3 - a2) * t
        dat = (a2 - a0) * (1 - s) + (a3 - a1) * s
        dbs = (b1 - b0) * (1 - t) + (b3 - b2) * t
        dbt = (b2 - b0) * (1 - s) + (b3 - b1) * s
        det = das * dbt - dat * dbs
        if det == 0.0:
            return np.nan, np.nan
        ds = (fa * dbt - fb * dat) / det
        dt = (das * fb - dbs * fa) / det
        s -= ds
        t -= dt
        if abs(ds) < 1e-12 and abs(dt) < 1e-12:
            return s, t
    return np.nan, np.nan


@njit(nogil=True, cache=True)
def _bilinear(values, i, j, s, t):
    """Bilinear value at ``(i + t, j + s)`` over the finite corners.

    Unknown corners are left out and the weights of the others renormalised,
    as long as those carry at least half the weight; otherwise NaN. (GDAL's
    bilinear warping treats no-data corners the same way.)
    """
    total = 0.0
    weight = 0.0
    for di in range(2):
        for dj in range(2):
            w = (t if di else 1.0 - t) * (s if dj else 1.0 - s)
            val = values[i + di, j + dj]
            if math.isfinite(val) and w > 0.0:
                total += w * val
                weight += w
    return total / weight if weight >= 0.5 else np.nan


@njit(nogil=True, cache=True)
def rasterize_quads(v, u, values, row0, col0, nearest, out, state):
    """Geocode one map tile.

    Parameters
    ----------
    v, u : (H, W) float64
        Map row and column (pixel-centre coordinates, fractional) of each
        radar pixel of the input region; NaN where unknown.
    values : (H, W) float
        The radar values; NaN = no measurement.
    row0, col0 : int
        Map coordinates of the tile's first pixel.
    nearest : bool
        Nearest corner instead of bilinear interpolation.
    out : (h, w) float32
        The tile; NaN where no quad covers a pixel or the value is unknown.
    state : (h, w) int8
        Work array, set here.
    """
    h, w = out.shape
    for r in range(h):
        for c in range(w):
            out[r, c] = np.nan
            state[r, c] = EMPTY
    eps = 1e-9
    for i in range(v.shape[0] - 1):
        for j in range(v.shape[1] - 1):
            a0, a1, a2, a3 = v[i, j], v[i, j + 1], v[i + 1, j], v[i + 1, j + 1]
            b0, b1, b2, b3 = u[i, j], u[i, j + 1], u[i + 1, j], u[i + 1, j + 1]
            if not (math.isfinite(a0) and math.isfinite(a1) and math.isfinite(a2)
                    and math.isfinite(a3) and math.isfinite(b0) and math.isfinite(b1)
                    and math.isfinite(b2) and math.isfinite(b3)):
                continue
            r_lo = max(int(math.ceil(min(min(a0, a1), min(a2, a3)) - eps)) - row0, 0)
            r_hi = min(int(math.floor(max(max(a0, a1), max(a2, a3)) + eps)) - row0, h - 1)
            c_lo = max(int(math.ceil(min(min(b0, b1), min(b2, b3)) - eps)) - col0, 0)
            c_hi = min(int(math.floor(max(max(b0, b1), max(b2, b3)) + eps)) - col0, w - 1)
            for r in range(r_lo, r_hi + 1):
                for c in range(c_lo, c_hi + 1):
                    if state[r, c] == VALUE:
                        continue
                    s, t = _inverse_bilinear(a0, a1, a2, a3, b0, b1, b2, b3,
                                             float(r + row0), float(c + col0))
                    if not (s >= -eps and s <= 1 + eps and t >= -eps and t <= 1 + eps):
                        continue
                    if nearest:
                        val = values[i + (1 if t >= 0.5 else 0), j + (1 if s >= 0.5 else 0)]
                    else:
                        val = _bilinear(values, i, j, s, t)
                    if math.isfinite(val):
                        out[r, c] = val
                        state[r, c] = VALUE
                    else:
                        state[r, c] = COVERED
