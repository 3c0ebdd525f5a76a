"""Numba kernels of the exact phase-to-height solution (``operators/height.py``).

For every pixel of the (multilooked) master grid, at zero-Doppler time ``t1``
and slant range ``r1``, the ground point lies on the master *range circle*:
the intersection of the master range sphere ``|P - S1(t1)| = r1`` with the
master zero-Doppler plane ``(P - S1) . V1 = 0``, parametrised by the look
angle ``th``::

    P(th) = S1 + r1 (cos th e1 + sin th e2)

(``e1`` the nadir direction projected into the plane, ``e2 = side (e1 x V1^)``,
the construction of :mod:`peppers.geometry._zero_doppler_kernels`). The third
surface is the slave range sphere ``|P - S2(t2(P))| = r2``, ``t2(P)`` being the
slave's own zero-Doppler time of ``P``. ``r2`` comes from the absolute phase:

    r2 = r2_ref + lambda phi_abs / (4 pi)

where ``r2_ref`` is the slave range of the reference-surface point of the same
pixel (ellipsoid + ``h_ref``), whose phase ``4 pi (r2_ref - r1) / lambda`` the
interferogram removed (the flat earth; the simulator's sign convention
``arg(m s*) = 4 pi (r2 - r1) / lambda``). The reference point is also the
Newton start. Newton on ``f(th) = |P(th) - S2(t2)| - r2`` has the exact
derivative ``f'(th) = u . dP/dth`` with ``u`` the unit vector from the slave
antenna: ``t2`` enters only to second order because ``P - S2`` is orthogonal
to ``V2`` at zero Doppler (the envelope theorem), so the iteration converges
quadratically, typically in three or four steps.

Every pixel starts from the same deterministic guesses (spherical look
angle, slave time = master time), never from its neighbour's solution, so a
pixel's result does not depend on where its tile begins.

Status codes per pixel: 0 converged, 1 no phase (filled at ``h_fill``),
2 reference point not found, 3 no convergence.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from peppers.geometry._ellipsoid_kernels import xyz_to_llh_1
from peppers.geometry._orbit_kernels import state_at
from peppers.geometry._zero_doppler_kernels import plane_basis
from peppers.geometry._zero_doppler_kernels import zero_doppler_time as zero_doppler

OK, NO_PHASE, NO_REFERENCE, NO_CONVERGENCE = 0, 1, 2, 3


@njit(nogil=True, cache=True)
def circle_point(st, e1, e2, rng, th, p):
    """``p = S + rng (cos th e1 + sin th e2)``."""
    c, s = math.cos(th), math.sin(th)
    for ax in range(3):
        p[ax] = st[0, ax] + rng * (c * e1[ax] + s * e2[ax])


@njit(nogil=True, cache=True)
def look_at_height(st, e1, e2, rng, h, th, tol_m, max_iter, p):
    """Look angle of the range-circle point at ellipsoidal height ``h`` (NaN if none).

    Newton on ``height(P(th)) - h`` with ``d height / d th = n . dP/dth``;
    ``th`` is the start (NaN: the spherical law-of-cosines guess).
    """
    if not math.isfinite(th):
        sx, sy, sz = st[0, 0], st[0, 1], st[0, 2]
        snorm = math.sqrt(sx * sx + sy * sy + sz * sz)
        rho = 6371000.0 + h
        cos_th = (snorm * snorm + rng * rng - rho * rho) / (2.0 * snorm * rng)
        th = math.acos(min(1.0, max(-1.0, cos_th)))
    for _ in range(max_iter):
        circle_point(st, e1, e2, rng, th, p)
        lat, lon, hp = xyz_to_llh_1(p[0], p[1], p[2])
        g = hp - h
        if abs(g) < tol_m:
            return th
        clat = math.cos(lat)
        nx, ny, nz = clat * math.cos(lon), clat * math.sin(lon), math.sin(lat)
        c, s = math.cos(th), math.sin(th)
        dg = rng * (nx * (-s * e1[0] + c * e2[0]) + ny * (-s * e1[1] + c * e2[1])
                    + nz * (-s * e1[2] + c * e2[2]))
        if not dg > 0.0:
            return np.nan
        th -= g / dg
    return np.nan


@njit(nogil=True, cache=True)
def phase_to_height(t1, r1, phase, side, wavelength, h_ref, h_fill,
                    m_times, m_coef, m_znodes, m_origin, m_scale,
                    s_times, s_coef, s_znodes, s_origin, s_scale,
                    tol_rad, max_iter, out_h, out_lat, out_lon, status):
    """Height, latitude and longitude of every pixel of a tile.

    Parameters
    ----------
    t1 : (rows,) float64
        Master zero-Doppler time of each row (seconds on the orbit clock).
    r1 : (cols,) float64
        Master slant range of each column, metres.
    phase : (rows, cols) float
        Absolute (flattened) phase, radians; NaN where unknown.
    side : int
        +1 right looking, -1 left.
    wavelength, h_ref, h_fill : float
        Radar wavelength (m), height of the flat-earth reference surface,
        height at which pixels without phase are placed (lat/lon only).
    m_*, s_* : arrays
        Hermite tables of the master and slave orbits.
    tol_rad : float
        Newton stops when the look-angle step is below this.
    max_iter : int
        Newton steps at most (per solve).
    out_h : (rows, cols) float32; out_lat, out_lon : (rows, cols) float64 degrees
    status : (rows, cols) int8
    """
    st1 = np.empty((3, 3))
    st2 = np.empty((3, 3))
    e1 = np.empty(3)
    e2 = np.empty(3)
    p = np.empty(3)
    scale = wavelength / (4.0 * math.pi)
    deg = 180.0 / math.pi
    for i in range(t1.shape[0]):
        state_at(m_times, m_coef, m_znodes, m_origin, m_scale, t1[i], st1)
        plane_basis(st1, side, e1, e2)
        for j in range(r1.shape[0]):
            rng = r1[j]
            phi = phase[i, j]
            out_h[i, j] = np.nan
            out_lat[i, j] = np.nan
            out_lon[i, j] = np.nan
            if not math.isfinite(phi):
                th = look_at_height(st1, e1, e2, rng, h_fill, np.nan, 1e-6, max_iter, p)
                status[i, j] = NO_PHASE
                if math.isfinite(th):
                    lat, lon, h = xyz_to_llh_1(p[0], p[1], p[2])
                    out_lat[i, j] = lat * deg
                    out_lon[i, j] = lon * deg
                continue
            th0 = look_at_height(st1, e1, e2, rng, h_ref, np.nan, 1e-6, max_iter, p)
            if not math.isfinite(th0):
                status[i, j] = NO_REFERENCE
                continue
            t2 = zero_doppler(p, s_times, s_coef, s_znodes, s_origin, s_scale,
                              t1[i], 1e-10, 30, st2)
            if not math.isfinite(t2):
                status[i, j] = NO_REFERENCE
                continue
            r2 = math.sqrt((p[0] - st2[0, 0]) ** 2 + (p[1] - st2[0, 1]) ** 2
                           + (p[2] - st2[0, 2]) ** 2) + scale * phi
            th = th0
            code = NO_CONVERGENCE
            t2n = t2
            for _ in range(max_iter):
                circle_point(st1, e1, e2, rng, th, p)
                t2n = zero_doppler(p, s_times, s_coef, s_znodes, s_origin, s_scale,
                                   t2n, 1e-10, 30, st2)
                if not math.isfinite(t2n):
                    break
                dx, dy, dz = p[0] - st2[0, 0], p[1] - st2[0, 1], p[2] - st2[0, 2]
                d = math.sqrt(dx * dx + dy * dy + dz * dz)
                c, s = math.cos(th), math.sin(th)
                fp = rng * (dx * (-s * e1[0] + c * e2[0]) + dy * (-s * e1[1] + c * e2[1])
                            + dz * (-s * e1[2] + c * e2[2])) / d
                if fp == 0.0:
                    break
                step = (d - r2) / fp
                th -= step
                if abs(step) < tol_rad:
                    circle_point(st1, e1, e2, rng, th, p)
                    code = OK
                    break
            status[i, j] = code
            if code != OK:
                continue
            lat, lon, h = xyz_to_llh_1(p[0], p[1], p[2])
            out_h[i, j] = h
            out_lat[i, j] = lat * deg
            out_lon[i, j] = lon * deg
