"""Pixel <-> ground for a :class:`~peppers.scene.Scene`, as its contract says.

The plain functions of :mod:`peppers.geometry.zero_doppler` take times and
ranges; these take a scene's pixels and apply what contract v2 declares:

- the **azimuth time offset** ``dt(R)`` (``azimuth.time_offset``): row ``i``,
  column ``j`` images targets of zero-Doppler time ``t_i + dt(R_j)``
  (the Sentinel-1 bistatic delay, added as ISCE3 and s1-reader do);
- the **Doppler geometry** (``doppler.geometry``): ``zero-doppler``, or
  ``native-doppler``, where the target's Doppler equals the centroid
  ``f_dc(R, t_i)`` (``f_D = 2 v . (x - p) / (lambda R)``);
- the **orbit interpolation** order (``insar.geometry.orbit_nodes``,
  ``nodes=``).

References
----------
ISCE3 ``geometry/Topo`` and ``Geo2rdr`` (Doppler LUT, native-Doppler
grids); Gisinger et al. (2021), IEEE TGRS 59(2), eq. 21 (bistatic delay).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from peppers.geometry.ellipsoid import llh_to_ecef
from peppers.geometry.zero_doppler import HeightLike, geo2rdr, rdr2geo

__all__ = ["scene_pixel_to_geo", "scene_geo_to_pixel", "scene_rdr2geo", "scene_geo2rdr"]


def _native(scene) -> bool:
    return scene.doppler is not None and scene.doppler_geometry == "native-doppler"


def scene_rdr2geo(scene, t_row: ArrayLike, range_m: ArrayLike, height: HeightLike = 0.0, *,
                  nodes: int = 4, orbit=None, **options) -> tuple[np.ndarray, np.ndarray]:
    """:func:`rdr2geo` at a scene's row times and ranges, as the scene declares.

    The operators' entry (they work in row times, ``scene.azimuth_seconds``,
    and slant ranges): the target's zero-Doppler time is ``t_row + dt(R)``
    and, for a native-Doppler scene, its Doppler is ``f_dc(R, t_row)``. For a
    zero-Doppler scene without time offset this is ``rdr2geo(t_row, R, ...)``
    exactly (``dt = 0``, no Doppler).

    Parameters
    ----------
    scene : Scene
    t_row : array_like
        Row times, seconds since ``first_line_utc`` (``scene.azimuth_seconds(row)``).
    range_m : array_like
        Slant ranges, metres (broadcast with ``t_row``).
    height : float, array_like or callable
        As :func:`rdr2geo`.
    nodes : int
        Orbit interpolation nodes (``insar.geometry.orbit_nodes``).
    orbit : Orbit, optional
        Reuse ``scene.orbit(nodes)``.
    **options
        Passed to :func:`rdr2geo` (``on_failure``, ``dem_max_iter``, ...).

    Returns
    -------
    xyz, llh : ndarray (..., 3)
    """
    t_row = np.asarray(t_row, dtype=np.float64)
    r = np.asarray(range_m, dtype=np.float64)
    orbit = scene.orbit(nodes) if orbit is None else orbit
    doppler = scene.doppler_centroid(r, t_row) if _native(scene) else None
    return rdr2geo(t_row + scene.azimuth_time_offset_s(r), r, orbit, scene.look_side,
                   height, doppler=doppler, wavelength_m=scene.wavelength_m, **options)


def scene_geo2rdr(scene, xyz: ArrayLike, *, nodes: int = 4, orbit=None,
                  **options) -> tuple[np.ndarray, np.ndarray]:
    """Row time and slant range of ECEF points in a scene, as it declares.

    The inverse of :func:`scene_rdr2geo`: :func:`geo2rdr` (with the scene's
    centroid for a native-Doppler scene, at each candidate row time), then the
    time offset removed: ``t_row = t - dt(R)`` (seconds since
    ``first_line_utc``; ``row = t_row / line_interval_s``).

    Parameters
    ----------
    scene : Scene
    xyz : array_like (..., 3)
        ECEF positions, metres.
    nodes, orbit
        As :func:`scene_rdr2geo`.
    **options
        Passed to :func:`geo2rdr` (``t_guess``, ``on_failure``, ...).

    Returns
    -------
    t_row, range_m : ndarray
    """
    orbit = scene.orbit(nodes) if orbit is None else orbit
    doppler = None
    if _native(scene):
        def doppler(r, t):
            return scene.doppler_centroid(r, t - scene.azimuth_time_offset_s(r))
    t, r = geo2rdr(xyz, orbit, doppler=doppler, wavelength_m=scene.wavelength_m, **options)
    return t - scene.azimuth_time_offset_s(r), r


def scene_pixel_to_geo(scene, row: ArrayLike, col: ArrayLike, height: HeightLike = 0.0, *,
                       nodes: int = 4, orbit=None, on_failure: str = "raise") -> np.ndarray:
    """Latitude, longitude (degrees) and height (m) of scene pixels.

    Parameters
    ----------
    scene : Scene
    row, col : array_like
        Pixel coordinates (fractional allowed), broadcast together.
    height : float, array_like or callable
        Ellipsoidal height, or a DEM surface, as :func:`rdr2geo`.
    nodes : int
        Orbit interpolation nodes (``insar.geometry.orbit_nodes``).
    orbit : Orbit, optional
        Reuse an orbit built from the scene (epoch ``first_line_utc``).
    on_failure : {"raise", "nan"}

    Returns
    -------
    ndarray of shape (..., 3)
    """
    row, col = np.broadcast_arrays(np.asarray(row, dtype=np.float64),
                                   np.asarray(col, dtype=np.float64))
    r = scene.slant_range(col)
    t_row = scene.azimuth_seconds(row)
    t = t_row + scene.azimuth_time_offset_s(r)
    orbit = scene.orbit(nodes) if orbit is None else orbit
    doppler = scene.doppler_centroid(r, t_row) if _native(scene) else None
    return rdr2geo(t, r, orbit, scene.look_side, height, doppler=doppler,
                   wavelength_m=scene.wavelength_m, on_failure=on_failure)[1]


def scene_geo_to_pixel(scene, lat_deg: ArrayLike, lon_deg: ArrayLike, h: ArrayLike, *,
                       nodes: int = 4, orbit=None,
                       on_failure: str = "raise") -> tuple[np.ndarray, np.ndarray]:
    """Fractional (row, col) where ground points appear in the scene.

    The inverse of :func:`scene_pixel_to_geo`: geo2rdr (with the scene's
    Doppler for a native-Doppler product, evaluated at each candidate row
    time), then the time offset removed: ``row = (t - dt(R)) / line_interval``.
    """
    orbit = scene.orbit(nodes) if orbit is None else orbit
    doppler = None
    if _native(scene):
        def doppler(r, t):
            return scene.doppler_centroid(r, t - scene.azimuth_time_offset_s(r))
    t, r = geo2rdr(llh_to_ecef(lat_deg, lon_deg, h), orbit, doppler=doppler,
                   wavelength_m=scene.wavelength_m, on_failure=on_failure)
    row = (t - scene.azimuth_time_offset_s(r)) / scene.line_interval_s
    col = (r - scene.first_sample_m) / scene.sample_spacing_m
    return row, col
