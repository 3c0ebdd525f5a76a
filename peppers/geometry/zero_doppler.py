"""Range-Doppler radar geometry: ground <-> (azimuth time, slant range) <-> pixel.

A focused zero-Doppler SLC images a ground point P at the instant t when the
antenna S(t) passes closest to it, i.e. when the Doppler vanishes,

    f(t) = (P - S(t)) . V(t) = 0,                          (zero-Doppler)

at the slant range R = |P - S(t)|. A product focused to a native Doppler
centroid f_dc(R, t) images P where its Doppler equals the centroid,

    f_D = 2 V . (P - S) / (lambda R) = f_dc(R, t),          (native Doppler)

which both functions accept through ``doppler=`` (Hz: a number, an array, or
a callable ``f(range_m, t_s)``) with ``wavelength_m``. Row and column follow linearly:
``row = (t - t_first_line) / line_interval``,
``col = (R - first_sample_range) / sample_spacing``.

- :func:`geo2rdr` (ground -> radar): Newton on f(t) with the exact derivative
  of the interpolated orbit.
- :func:`rdr2geo` (radar -> ground): the point at range R in the zero-Doppler
  plane of S(t), on the look side, at ellipsoidal height h, or on a DEM
  surface by iterating h = dem(lat, lon).
- :func:`pixel_to_geo` / :func:`geo_to_pixel`: the same with the row/column
  grid of a scene given as plain numbers.

The radar wavelength plays no part in zero-Doppler geometry; the look side
does. Times are seconds since the orbit's epoch. Kernels (numba, nogil) are in
:mod:`peppers.geometry._zero_doppler_kernels`; this module validates, shapes
and reports.

References
----------
Cumming & Wong (2005), "Digital Processing of Synthetic Aperture Radar Data",
sec. 4.5 (zero-Doppler geometry); ISCE2 ``components/zerodop`` (``geo2rdr``,
``topozero``) and ISCE3 ``cxx/isce3/geometry/{Geo2rdr,Topo}.h``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable, Union

import numpy as np
from numpy.typing import ArrayLike

from peppers.errors import GeometryError
from peppers.geometry import _zero_doppler_kernels as _k
from peppers.geometry.ellipsoid import llh_to_ecef
from peppers.geometry.orbit import Orbit
from peppers.geometry.surface import NO_SURFACE, intersect_surface

HeightLike = Union[float, np.ndarray, Callable[[np.ndarray, np.ndarray], np.ndarray]]

#: Per-point failure reasons, by status code (NO_SURFACE from the DEM iteration).
FAILURES = {
    _k.OUT_OF_SPAN: "zero-Doppler time outside the orbit's state-vector span",
    _k.NO_INTERSECTION: "the range circle does not meet the surface on the look side "
                        "(range too short, or beyond the horizon)",
    _k.NO_CONVERGENCE: "no convergence",
    NO_SURFACE: "the DEM gives no height there (outside the DEM or a void)",
}


def look_sign(look_side: str) -> int:
    """+1 for ``"right"``, -1 for ``"left"`` (of the flight direction).

    Raises
    ------
    GeometryError
        For any other value.
    """
    side = str(look_side).strip().lower()
    if side not in ("right", "left"):
        raise GeometryError(f"look_side must be 'right' or 'left', got {look_side!r}")
    return 1 if side == "right" else -1


def _report(status: np.ndarray, what: str, on_failure: str, detail) -> None:
    bad = np.flatnonzero(status != 0)
    if bad.size == 0:
        return
    if on_failure == "nan":
        return
    k = int(bad[0])
    raise GeometryError(
        f"{what}: {bad.size} of {status.size} points failed; first at flat index {k} "
        f"({detail(k)}): {FAILURES[int(status[k])]}; pass on_failure='nan' to get NaN there")


def _check_on_failure(on_failure: str) -> None:
    if on_failure not in ("raise", "nan"):
        raise GeometryError(f"on_failure must be 'raise' or 'nan', got {on_failure!r}")


DopplerLike = Union[None, float, np.ndarray, Callable[[np.ndarray, np.ndarray], np.ndarray]]


def _doppler_k(doppler: DopplerLike, wavelength_m: float | None, r, t, n: int) -> np.ndarray:
    """``k = f_D lambda / 2`` (m/s) per point, for the kernels."""
    if doppler is None:
        return np.zeros(n)
    if wavelength_m is None or not wavelength_m > 0:
        raise GeometryError("a Doppler needs wavelength_m > 0 (f_D = 2 v . (x - p) / (lambda R))")
    f = doppler(r, t) if callable(doppler) else doppler
    f = np.broadcast_to(np.asarray(f, dtype=np.float64), (n,)) if np.ndim(f) == 0 \
        else np.asarray(f, dtype=np.float64).reshape(-1)
    if f.shape != (n,):
        raise GeometryError(f"doppler has {f.size} values for {n} points")
    return np.ascontiguousarray(0.5 * wavelength_m * f)


def geo2rdr(xyz: ArrayLike, orbit: Orbit, *, t_guess: ArrayLike | None = None,
            tol_s: float = 1e-10, max_iter: int = 25,
            on_failure: str = "raise", doppler: DopplerLike = None,
            wavelength_m: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Azimuth time and slant range of ground points (zero or native Doppler).

    Parameters
    ----------
    xyz : array_like of shape (..., 3)
        ECEF positions, metres.
    orbit : Orbit
        The antenna's orbit.
    t_guess : float or array_like, optional
        Starting times (seconds since the orbit epoch), broadcast to ``...``;
        by default each point is bracketed between state vectors.
    tol_s : float
        Newton stops when the time step is below this (default 1e-10 s,
        under a micrometre along track).
    max_iter : int
        Newton steps at most.
    on_failure : {"raise", "nan"}
        What to do with points whose time is outside the orbit span or that
        do not converge: raise :class:`GeometryError`, or return NaN there.
    doppler : float, array_like or callable, optional
        The Doppler (Hz) the points are imaged at: ``None`` (zero Doppler),
        per point values broadcast to ``...``, or ``f(range_m, t_s)`` (a
        product's centroid), then solved by fixed-point passes over the
        Newton solution (each pass evaluates ``f`` at the last (R, t)),
        as ISCE3 ``geo2rdr`` with a Doppler LUT.
    wavelength_m : float, optional
        Needed with ``doppler``.

    Returns
    -------
    t_s, range_m : ndarray of shape ``...``
        Azimuth time (seconds since the orbit epoch) and slant range (m).

    Raises
    ------
    GeometryError
        If ``xyz`` is malformed or, with ``on_failure="raise"``, any point fails.

    References
    ----------
    ISCE3 ``Geo2rdr.h`` (Newton-Raphson on azimuth time, threshold 1e-8 s);
    Cumming & Wong (2005), eq. 4.35 (range equation at closest approach).
    """
    _check_on_failure(on_failure)
    arr = np.asarray(xyz, dtype=np.float64)
    if arr.ndim == 0 or arr.shape[-1] != 3:
        raise GeometryError(f"geo2rdr: xyz must have shape (..., 3), got {arr.shape}")
    shape = arr.shape[:-1]
    flat = np.ascontiguousarray(arr.reshape(-1, 3))
    n = flat.shape[0]
    if t_guess is None:
        guess = np.full(n, np.nan)
    else:
        guess = np.broadcast_to(np.asarray(t_guess, dtype=np.float64), shape).reshape(-1).copy()
    out_t, out_r = np.empty(n), np.empty(n)
    status = np.empty(n, dtype=np.int8)
    times, coef, znodes, origin, scale = orbit._tables
    fixed = not callable(doppler)
    k = _doppler_k(doppler, wavelength_m, None, None, n) if fixed else np.zeros(n)
    for _ in range(1 if fixed else 8):
        _k.geo2rdr_many(flat, guess, times, orbit.positions, orbit.velocities, coef, znodes,
                        origin, scale, float(tol_s), int(max_iter), k, out_t, out_r, status)
        if fixed:
            break
        ok = status == 0
        new = np.zeros(n)
        new[ok] = _doppler_k(doppler, wavelength_m, out_r[ok], out_t[ok], int(ok.sum()))
        done = np.all(np.abs(new - k)[ok] * 2.0 / wavelength_m < 1e-6)  # 1 uHz
        guess, k = np.where(ok, out_t, guess), new
        if done:
            break
    _report(status, "geo2rdr", on_failure, lambda k: f"xyz={flat[k].tolist()}")
    return out_t.reshape(shape), out_r.reshape(shape)


def _solve_height(t, r, h, sign, orbit, tol_m, max_iter, look, k):
    """Kernel call for flat arrays: (xyz, llh_deg, status); ``look`` is updated in place."""
    n = t.shape[0]
    xyz, llh = np.empty((n, 3)), np.empty((n, 3))
    status = np.empty(n, dtype=np.int8)
    times, coef, znodes, origin, scale = orbit._tables
    _k.rdr2geo_many(t, r, h, sign, times, coef, znodes, origin, scale,
                    float(tol_m), int(max_iter), k, look, xyz, llh, status)
    llh[:, :2] = np.degrees(llh[:, :2])
    return xyz, llh, status


def rdr2geo(t_s: ArrayLike, range_m: ArrayLike, orbit: Orbit, look_side: str,
            height: HeightLike = 0.0, *,
            tol_m: float = 1e-7, max_iter: int = 30, dem_tol_m: float = 1e-4,
            dem_max_iter: int = 60, on_failure: str = "raise", doppler: DopplerLike = None,
            wavelength_m: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Ground point seen at an azimuth time and slant range (zero or native Doppler).

    Parameters
    ----------
    t_s, range_m : array_like
        Zero-Doppler time (seconds since the orbit epoch) and slant range (m);
        broadcast together.
    orbit : Orbit
    look_side : {"right", "left"}
        Side of the flight direction the antenna looks to.
    height : float, array_like or callable
        Ellipsoidal height of the point (m), broadcast with the times; or a
        surface ``height(lat_deg, lon_deg) -> h`` such as
        :class:`peppers.geometry.dem.GridDem`, intersected by iterating
        h <- height(lat, lon), then bracketing (:mod:`peppers.geometry.surface`).
    tol_m : float
        Height tolerance of the Newton solution on the look angle, metres.
    max_iter : int
        Newton steps at most per height.
    dem_tol_m, dem_max_iter : float, int
        Convergence of the DEM iteration: |h - dem(lat, lon)| < dem_tol_m.
    on_failure : {"raise", "nan"}
        Points outside the orbit span, whose range does not reach the surface,
        beyond the horizon, off the DEM, or not converged: raise, or NaN rows.
    doppler : float, array_like or callable, optional
        The Doppler (Hz) of the pixels (``None``: zero Doppler), per point
        or ``f(range_m, t_s)``: the point lies on the cone
        ``(P - S) . V = f_D lambda R / 2`` instead of the zero-Doppler plane.
    wavelength_m : float, optional
        Needed with ``doppler``.

    Returns
    -------
    xyz : ndarray of shape (..., 3)
        ECEF position, metres.
    llh : ndarray of shape (..., 3)
        Latitude, longitude (degrees) and ellipsoidal height (m).

    Raises
    ------
    GeometryError
        On a bad ``look_side`` or, with ``on_failure="raise"``, any failed point.

    References
    ----------
    ISCE2 ``components/zerodop/topozero`` (TCN basis, height iteration);
    ISCE3 ``Topo.h``/``geometry.dox`` (rdr2geo iterates the height until
    convergence); Cumming & Wong (2005), sec. 4.5.
    """
    _check_on_failure(on_failure)
    sign = look_sign(look_side)
    surface = height if callable(height) else None
    h_arr = 0.0 if surface is not None else height
    t, r, h = np.broadcast_arrays(np.asarray(t_s, dtype=np.float64),
                                  np.asarray(range_m, dtype=np.float64),
                                  np.asarray(h_arr, dtype=np.float64))
    shape = t.shape
    tf = np.ascontiguousarray(t).reshape(-1)
    rf = np.ascontiguousarray(r).reshape(-1)
    hf = np.ascontiguousarray(h).reshape(-1).copy()
    look = np.full(tf.shape[0], np.nan)
    k = _doppler_k(doppler, wavelength_m, rf, tf, tf.shape[0])
    xyz, llh, status = _solve_height(tf, rf, hf, sign, orbit, tol_m, max_iter, look, k)
    if surface is not None:
        def solve(index, h_new):
            warm = look[index]
            out = _solve_height(tf[index], rf[index], h_new, sign, orbit, tol_m, max_iter, warm,
                                k[index])
            look[index] = warm
            return out

        status = intersect_surface(solve, surface, status, xyz, llh, dem_tol_m, dem_max_iter,
                                   _k.NO_CONVERGENCE)
    _report(status, "rdr2geo", on_failure,
            lambda k: f"t={tf[k]!r} s, range={rf[k]!r} m, look_side={look_side}")
    return xyz.reshape(shape + (3,)), llh.reshape(shape + (3,))


def _first_line_s(orbit: Orbit, first_line) -> float:
    return orbit.time_of(first_line) if isinstance(first_line, datetime) else float(first_line)


def pixel_to_geo(row: ArrayLike, col: ArrayLike, orbit: Orbit, *, first_line: datetime | float,
                 line_interval_s: float, first_sample_m: float, sample_spacing_m: float, look_side: str,
                 height: HeightLike = 0.0, on_failure: str = "raise") -> np.ndarray:
    """Geodetic position of (fractional) pixels of a zero-Doppler SLC grid.

    Parameters
    ----------
    row, col : array_like
        Azimuth line and range sample, broadcast together.
    orbit : Orbit
    first_line : datetime or float
        Zero-Doppler time of row 0 (UTC datetime, or seconds since the orbit epoch).
    line_interval_s, first_sample_m, sample_spacing_m : float
        The scene's ``azimuth.line_interval_s``, ``range.first_sample_m`` and
        ``range.sample_spacing_m``.
    look_side : {"right", "left"}
    height : float, array_like or callable
        As in :func:`rdr2geo`.
    on_failure : {"raise", "nan"}

    Returns
    -------
    ndarray of shape (..., 3)
        Latitude, longitude (degrees) and ellipsoidal height (m).
    """
    t = _first_line_s(orbit, first_line) + np.asarray(row, dtype=np.float64) * line_interval_s
    r = first_sample_m + np.asarray(col, dtype=np.float64) * sample_spacing_m
    return rdr2geo(t, r, orbit, look_side, height, on_failure=on_failure)[1]


def geo_to_pixel(lat_deg: ArrayLike, lon_deg: ArrayLike, h: ArrayLike, orbit: Orbit, *,
                 first_line: datetime | float, line_interval_s: float,
                 first_sample_m: float, sample_spacing_m: float,
                 on_failure: str = "raise") -> tuple[np.ndarray, np.ndarray]:
    """Fractional (row, col) where ground points appear in a zero-Doppler SLC grid.

    Parameters
    ----------
    lat_deg, lon_deg, h : array_like
        Geodetic position (degrees, ellipsoidal metres), broadcast together.
    orbit, first_line, line_interval_s, first_sample_m, sample_spacing_m
        As in :func:`pixel_to_geo`.
    on_failure : {"raise", "nan"}

    Returns
    -------
    row, col : ndarray
        Azimuth line and range sample (fractional; may lie outside the image).
    """
    t, r = geo2rdr(llh_to_ecef(lat_deg, lon_deg, h), orbit, on_failure=on_failure)
    row = (t - _first_line_s(orbit, first_line)) / line_interval_s
    col = (r - first_sample_m) / sample_spacing_m
    return row, col


__all__ = ["geo2rdr", "rdr2geo", "pixel_to_geo", "geo_to_pixel", "look_sign"]
