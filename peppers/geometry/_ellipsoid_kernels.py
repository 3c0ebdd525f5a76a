"""Numba kernels for the WGS84 ellipsoid: geodetic <-> Earth-centred, Earth-fixed.

Scalar functions (``llh_to_xyz_1``, ``xyz_to_llh_1``) are called from other
kernels (zero-Doppler geometry); the ``*_many`` loops serve the vectorised
public functions of :mod:`peppers.geometry.ellipsoid`. Angles are radians here,
degrees only in the public layer.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: WGS84 semi-major axis, metres (NIMA TR8350.2).
A = 6378137.0
#: WGS84 flattening.
F = 1.0 / 298.257223563
#: Semi-minor axis, metres.
B = A * (1.0 - F)
#: First eccentricity squared.
E2 = F * (2.0 - F)


@njit(nogil=True, cache=True)
def llh_to_xyz_1(lat: float, lon: float, h: float) -> tuple[float, float, float]:
    """Geodetic (radians, metres) to ECEF metres, one point."""
    slat = math.sin(lat)
    clat = math.cos(lat)
    n = A / math.sqrt(1.0 - E2 * slat * slat)
    return ((n + h) * clat * math.cos(lon),
            (n + h) * clat * math.sin(lon),
            (n * (1.0 - E2) + h) * slat)


@njit(nogil=True, cache=True)
def xyz_to_llh_1(x: float, y: float, z: float) -> tuple[float, float, float]:
    """ECEF metres to geodetic (radians, metres), one point, closed form.

    Vermeille (2002), J. Geodesy 76:451-454, eqs. (1)-(10), followed by one
    Newton step on the latitude (Bowring form) that removes the last
    floating-point residue of the closed form; valid for every point farther
    than ~45 km from the Earth's centre (the evolute region excluded).
    """
    e4 = E2 * E2
    w2 = x * x + y * y
    w = math.sqrt(w2)
    p = w2 / (A * A)
    q = (1.0 - E2) / (A * A) * z * z
    r = (p + q - e4) / 6.0
    s = e4 * p * q / (4.0 * r * r * r)
    t = (1.0 + s + math.sqrt(s * (2.0 + s))) ** (1.0 / 3.0)
    u = r * (1.0 + t + 1.0 / t)
    v = math.sqrt(u * u + e4 * q)
    ww = E2 * (u + v - q) / (2.0 * v)
    k = math.sqrt(u + v + ww * ww) - ww
    d = k * w / (k + E2)
    lat = 2.0 * math.atan2(z, d + math.sqrt(d * d + z * z))
    lon = math.atan2(y, x)
    # One Newton refinement of the latitude on the exact relation
    # z*cos(lat) - w*sin(lat) + E2*N(lat)*sin(lat)*cos(lat) = 0.
    slat = math.sin(lat)
    clat = math.cos(lat)
    n = A / math.sqrt(1.0 - E2 * slat * slat)
    g = z * clat - w * slat + E2 * n * slat * clat
    dg = -z * slat - w * clat + E2 * n * (clat * clat - slat * slat) \
        + E2 * E2 * n * slat * slat * clat * clat / (1.0 - E2 * slat * slat)
    if dg != 0.0:
        lat -= g / dg
        slat = math.sin(lat)
        clat = math.cos(lat)
        n = A / math.sqrt(1.0 - E2 * slat * slat)
    # Height, well conditioned at every latitude.
    h = w * clat + z * slat - A * A / n
    return lat, lon, h


@njit(nogil=True, cache=True)
def llh_to_xyz_many(lat: np.ndarray, lon: np.ndarray, h: np.ndarray,
                    out: np.ndarray) -> None:
    """Vector loop over :func:`llh_to_xyz_1`; ``out`` is (n, 3)."""
    for i in range(lat.shape[0]):
        x, y, z = llh_to_xyz_1(lat[i], lon[i], h[i])
        out[i, 0] = x
        out[i, 1] = y
        out[i, 2] = z


@njit(nogil=True, cache=True)
def xyz_to_llh_many(xyz: np.ndarray, out: np.ndarray) -> None:
    """Vector loop over :func:`xyz_to_llh_1`; ``out`` is (n, 3): lat, lon (rad), h."""
    for i in range(xyz.shape[0]):
        lat, lon, h = xyz_to_llh_1(xyz[i, 0], xyz[i, 1], xyz[i, 2])
        out[i, 0] = lat
        out[i, 1] = lon
        out[i, 2] = h
