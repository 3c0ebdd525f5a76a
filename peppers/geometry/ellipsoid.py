"""The WGS84 ellipsoid: geodetic <-> ECEF coordinates and local east-north-up frames.

Conventions kept across :mod:`peppers.geometry`:

- ECEF ("Earth-centred, Earth-fixed", the spec's ``ECEF-WGS84``) positions are
  metres, arrays of shape ``(..., 3)`` holding ``x, y, z``.
- Geodetic coordinates are latitude and longitude in **degrees** (east
  positive, longitude in (-180, 180]) and ellipsoidal height in metres.
- Everything is vectorised: scalars and arrays of any shape broadcast.

The ECEF -> geodetic direction is the closed form of Vermeille (2002) with one
Newton polish of the latitude, so a round trip is exact to the last few units
in the last place of float64 (see ``docs/geometry.md``); the kernels are in
:mod:`peppers.geometry._ellipsoid_kernels`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from peppers.geometry import _ellipsoid_kernels as _k

#: WGS84 semi-major axis, metres.
WGS84_A: float = _k.A
#: WGS84 flattening.
WGS84_F: float = _k.F
#: WGS84 semi-minor axis, metres.
WGS84_B: float = _k.B
#: WGS84 first eccentricity squared.
WGS84_E2: float = _k.E2
#: Earth's rotation rate used by WGS84 and by :mod:`peppers.geometry.kepler`, rad/s.
OMEGA_EARTH: float = 7.2921150e-5
#: WGS84 geocentric gravitational constant GM, m^3/s^2.
GM_EARTH: float = 3.986004418e14


def llh_to_ecef(lat_deg: ArrayLike, lon_deg: ArrayLike, h: ArrayLike) -> np.ndarray:
    """Geodetic latitude, longitude and ellipsoidal height to ECEF.

    Parameters
    ----------
    lat_deg, lon_deg : array_like
        Geodetic latitude and longitude, degrees.
    h : array_like
        Height above the WGS84 ellipsoid, metres.

    Returns
    -------
    ndarray of shape (..., 3), float64
        ECEF ``x, y, z`` in metres; ``...`` is the broadcast shape of the inputs.

    References
    ----------
    NIMA TR8350.2 (2000), "Department of Defense World Geodetic System 1984",
    eq. 4-14.

    Examples
    --------
    >>> llh_to_ecef(0.0, 0.0, 0.0).tolist()
    [6378137.0, 0.0, 0.0]
    """
    lat, lon, hh = np.broadcast_arrays(np.asarray(lat_deg, dtype=np.float64),
                                       np.asarray(lon_deg, dtype=np.float64),
                                       np.asarray(h, dtype=np.float64))
    shape = lat.shape
    out = np.empty((lat.size, 3))
    _k.llh_to_xyz_many(np.radians(lat).ravel(), np.radians(lon).ravel(),
                       np.ascontiguousarray(hh).ravel(), out)
    return out.reshape(shape + (3,))


def ecef_to_llh(xyz: ArrayLike) -> np.ndarray:
    """ECEF coordinates to geodetic latitude, longitude (degrees) and height.

    Parameters
    ----------
    xyz : array_like of shape (..., 3)
        ECEF positions, metres. Points closer than ~45 km to the Earth's
        centre (inside the evolute of the ellipse) are outside the domain.

    Returns
    -------
    ndarray of shape (..., 3), float64
        ``lat_deg, lon_deg, h_m`` along the last axis.

    Raises
    ------
    ValueError
        If the last axis is not of length 3.

    References
    ----------
    H. Vermeille (2002), "Direct transformation from geocentric coordinates
    to geodetic coordinates", Journal of Geodesy 76:451-454, eqs. (1)-(10).

    Examples
    --------
    >>> ecef_to_llh([0.0, 0.0, WGS84_B + 10.0]).round(9).tolist()
    [90.0, 0.0, 10.0]
    """
    arr = np.asarray(xyz, dtype=np.float64)
    if arr.ndim == 0 or arr.shape[-1] != 3:
        raise ValueError(f"ecef_to_llh: xyz must have shape (..., 3), got {arr.shape}")
    flat = np.ascontiguousarray(arr.reshape(-1, 3))
    out = np.empty_like(flat)
    _k.xyz_to_llh_many(flat, out)
    out[:, :2] = np.degrees(out[:, :2])
    return out.reshape(arr.shape)


def enu_basis(lat_deg: ArrayLike, lon_deg: ArrayLike) -> np.ndarray:
    """Unit east, north and up vectors (ECEF components) at geodetic positions.

    Parameters
    ----------
    lat_deg, lon_deg : array_like
        Geodetic latitude and longitude, degrees.

    Returns
    -------
    ndarray of shape (..., 3, 3)
        Rows ``[east, north, up]``; ``up`` is the ellipsoid normal, so
        ``enu_basis(...) @ d`` expresses an ECEF vector ``d`` in the local frame.
    """
    lat = np.radians(np.asarray(lat_deg, dtype=np.float64))
    lon = np.radians(np.asarray(lon_deg, dtype=np.float64))
    lat, lon = np.broadcast_arrays(lat, lon)
    sl, cl = np.sin(lat), np.cos(lat)
    so, co = np.sin(lon), np.cos(lon)
    zero = np.zeros_like(lat)
    east = np.stack([-so, co, zero], axis=-1)
    north = np.stack([-sl * co, -sl * so, cl], axis=-1)
    up = np.stack([cl * co, cl * so, sl], axis=-1)
    return np.stack([east, north, up], axis=-2)


def ecef_to_enu(xyz: ArrayLike, origin_lat_deg: float, origin_lon_deg: float,
               origin_h: float) -> np.ndarray:
    """ECEF positions to local east-north-up coordinates about an origin.

    Parameters
    ----------
    xyz : array_like of shape (..., 3)
        ECEF positions, metres.
    origin_lat_deg, origin_lon_deg, origin_h : float
        Geodetic origin of the local frame.

    Returns
    -------
    ndarray of shape (..., 3)
        East, north, up offsets from the origin, metres.
    """
    origin = llh_to_ecef(origin_lat_deg, origin_lon_deg, origin_h)
    basis = enu_basis(origin_lat_deg, origin_lon_deg)
    return (np.asarray(xyz, dtype=np.float64) - origin) @ basis.T


def incidence_angle_deg(target_xyz: ArrayLike, sensor_xyz: ArrayLike) -> np.ndarray:
    """Angle between the ellipsoid normal at the target and the line of sight.

    Parameters
    ----------
    target_xyz, sensor_xyz : array_like of shape (..., 3)
        ECEF positions of the imaged point and of the antenna, metres.

    Returns
    -------
    ndarray
        Incidence angle on the ellipsoid (not on the local terrain), degrees.
    """
    target = np.asarray(target_xyz, dtype=np.float64)
    llh = ecef_to_llh(target)
    up = enu_basis(llh[..., 0], llh[..., 1])[..., 2, :]
    los = np.asarray(sensor_xyz, dtype=np.float64) - target
    cosang = np.sum(los * up, axis=-1) / np.linalg.norm(los, axis=-1)
    return np.degrees(np.arccos(np.clip(cosang, -1.0, 1.0)))
