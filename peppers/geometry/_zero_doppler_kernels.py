"""Numba kernels for range-Doppler geometry: geo2rdr and rdr2geo, point by point.

Doppler. A target P seen from the antenna S(t), V(t) has the Doppler
``f_D = 2 V . (P - S) / (lambda R)``, R = |P - S|. A zero-Doppler product
images P at the time where ``f_D = 0``; a native-Doppler product where
``f_D`` equals the product's Doppler centroid. The kernels take the Doppler
per point as ``k = f_D lambda / 2`` (m/s), so that the condition reads
``(P - S) . V = k R``; ``k = 0`` is zero Doppler.

``doppler_time`` (one point) and ``geo2rdr_many``: Newton's method on
g(t) = (P - S(t)) . V(t) - k R(t), with the exact derivative of the
interpolating polynomial g'(t) = -|V|^2 + (P - S) . A + k (P - S) . V / R.
This is the one Newton loop of the project (phase-to-height calls it too,
through :func:`zero_doppler_time`). The start is found without
interpolation: f at the state vectors is decreasing in t, so a bisection over
the nodes brackets the root and a secant inside the bracket starts Newton
within metres of it (two to three steps then reach 1e-10 s).

``rdr2geo_many``: for each (t, R, h), the antenna S and velocity V at t fix
the zero-Doppler plane; every point S + R (cos th e1 + sin th e2), with e1 the
nadir direction projected into that plane and e2 = +-(e1 x V^) the look side,
is at range R with zero Doppler. With a Doppler ``k`` the points at range R
and that Doppler form the cone circle S + R (a V^ + b (cos th e1 + sin th e2)),
a = k / |V|, b = sqrt(1 - a^2) (ISCE3 ``geometry.cpp`` ``rdr2geo`` with a
Doppler LUT; Curlander & McDonough 1991, eq. 8.2.6). Newton on the look angle th solves
height(P(th)) = h, with the exact derivative n(P) . dP/dth (n the ellipsoid
normal at P). This is the TCN-basis construction of ISCE's ``rdr2geo``
carried to an exact ellipsoidal height.

Return codes (per point, in ``status``): 0 converged, 1 time outside the
orbit span, 2 no intersection (range shorter than the distance to the surface
below the antenna), 3 no convergence.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from peppers.geometry._ellipsoid_kernels import A, E2, xyz_to_llh_1
from peppers.geometry._orbit_kernels import state_at

OK, OUT_OF_SPAN, NO_INTERSECTION, NO_CONVERGENCE = 0, 1, 2, 3


@njit(nogil=True, cache=True)
def _doppler_at_node(pos, vel, k, px, py, pz):
    return (px - pos[k, 0]) * vel[k, 0] + (py - pos[k, 1]) * vel[k, 1] + (pz - pos[k, 2]) * vel[k, 2]


@njit(nogil=True, cache=True)
def _start_time(times, pos, vel, px, py, pz):
    """Secant start inside the node interval where (P - S).V changes sign.

    Returns NaN if the point's zero-Doppler time is outside the span.
    """
    n = times.shape[0]
    f_lo = _doppler_at_node(pos, vel, 0, px, py, pz)
    f_hi = _doppler_at_node(pos, vel, n - 1, px, py, pz)
    if f_lo < 0.0 or f_hi > 0.0:
        return np.nan
    lo, hi = 0, n - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        f_mid = _doppler_at_node(pos, vel, mid, px, py, pz)
        if f_mid >= 0.0:
            lo, f_lo = mid, f_mid
        else:
            hi, f_hi = mid, f_mid
    return times[lo] + f_lo / (f_lo - f_hi) * (times[hi] - times[lo])


@njit(nogil=True, cache=True)
def doppler_time(px, py, pz, times, coef, znodes, origin, scale, t, tol_s, max_iter, st, k):
    """Time where point P has Doppler ``k = f_D lambda / 2`` (m/s), Newton from ``t``.

    Returns the time (NaN without convergence); ``st`` then holds the
    antenna state (position, velocity, acceleration) at that time.
    """
    for _ in range(max_iter):
        state_at(times, coef, znodes, origin, scale, t, st)
        dx = px - st[0, 0]
        dy = py - st[0, 1]
        dz = pz - st[0, 2]
        dv = dx * st[1, 0] + dy * st[1, 1] + dz * st[1, 2]
        g = dv
        gp = -(st[1, 0] ** 2 + st[1, 1] ** 2 + st[1, 2] ** 2) \
            + dx * st[2, 0] + dy * st[2, 1] + dz * st[2, 2]
        if k != 0.0:
            rng = math.sqrt(dx * dx + dy * dy + dz * dz)
            g -= k * rng
            gp += k * dv / rng
        step = -g / gp
        t += step
        if abs(step) < tol_s:
            state_at(times, coef, znodes, origin, scale, t, st)
            return t
    return np.nan


@njit(nogil=True, cache=True)
def zero_doppler_time(p, times, coef, znodes, origin, scale, t, tol_s, max_iter, st):
    """Zero-Doppler time of point ``p`` (3,) on an orbit, Newton from ``t``; ``st`` gets
    the state there (NaN without convergence)."""
    return doppler_time(p[0], p[1], p[2], times, coef, znodes, origin, scale, t, tol_s,
                        max_iter, st, 0.0)


@njit(nogil=True, cache=True)
def geo2rdr_many(xyz, t_guess, times, pos, vel, coef, znodes, origin, scale,
                 tol_s, max_iter, k_doppler, out_t, out_r, status):
    """Time and slant range of points ``xyz`` (n, 3) at Doppler ``k_doppler`` (n,).

    ``t_guess`` is (n,) with NaN where no guess is given; ``k_doppler`` is
    ``f_D lambda / 2`` per point (0: zero Doppler). Outputs are NaN where
    ``status`` is not 0.
    """
    st = np.empty((3, 3))
    t_first = times[0]
    t_last = times[times.shape[0] - 1]
    for i in range(xyz.shape[0]):
        px, py, pz = xyz[i, 0], xyz[i, 1], xyz[i, 2]
        t = t_guess[i]
        if not (t >= t_first and t <= t_last):
            t = _start_time(times, pos, vel, px, py, pz)
        out_t[i] = np.nan
        out_r[i] = np.nan
        if not math.isfinite(t):
            status[i] = OUT_OF_SPAN
            continue
        t = doppler_time(px, py, pz, times, coef, znodes, origin, scale, t, tol_s, max_iter,
                         st, k_doppler[i])
        if not math.isfinite(t):
            status[i] = NO_CONVERGENCE
            continue
        if not (t >= t_first and t <= t_last):
            status[i] = OUT_OF_SPAN
            continue
        status[i] = OK
        out_t[i] = t
        out_r[i] = math.sqrt((px - st[0, 0]) ** 2 + (py - st[0, 1]) ** 2 + (pz - st[0, 2]) ** 2)


@njit(nogil=True, cache=True)
def plane_basis(st, side, e1, e2):
    """Unit vectors of the zero-Doppler plane of the antenna state ``st`` (3, 3).

    ``e1`` is the nadir direction (towards the Earth's centre) made
    perpendicular to the velocity; ``e2 = side * (e1 x v/|v|)`` points to the
    right of the flight direction for ``side = +1``, to the left for -1.
    Every point ``S + r (cos th e1 + sin th e2)`` is at range ``r`` and zero
    Doppler.
    """
    sx, sy, sz = st[0, 0], st[0, 1], st[0, 2]
    vx, vy, vz = st[1, 0], st[1, 1], st[1, 2]
    vn = math.sqrt(vx * vx + vy * vy + vz * vz)
    vx, vy, vz = vx / vn, vy / vn, vz / vn
    dot = -(sx * vx + sy * vy + sz * vz)
    e1[0], e1[1], e1[2] = -sx - dot * vx, -sy - dot * vy, -sz - dot * vz
    n1 = math.sqrt(e1[0] * e1[0] + e1[1] * e1[1] + e1[2] * e1[2])
    e1[0], e1[1], e1[2] = e1[0] / n1, e1[1] / n1, e1[2] / n1
    e2[0] = side * (e1[1] * vz - e1[2] * vy)
    e2[1] = side * (e1[2] * vx - e1[0] * vz)
    e2[2] = side * (e1[0] * vy - e1[1] * vx)


@njit(nogil=True, cache=True)
def rdr2geo_many(t_s, range_m, height, side, times, coef, znodes, origin, scale,
                 tol_m, max_iter, k_doppler, look, out_xyz, out_llh, status):
    """Ground point at time ``t_s``, slant range, height and Doppler ``k_doppler``.

    ``k_doppler`` (n,) is ``f_D lambda / 2`` in m/s per point (0: zero Doppler).

    ``side`` is +1 for right looking, -1 for left. ``look`` (in/out) holds
    the look angle th: a finite value on entry is the Newton start (a warm
    start when only the height changed), NaN asks for the spherical guess; the
    solution is written back. ``out_llh`` receives latitude and longitude in
    radians and the height in metres. Rows of the outputs are NaN where
    ``status`` is not 0.
    """
    st = np.empty((3, 3))
    e1 = np.empty(3)
    e2 = np.empty(3)
    t_first = times[0]
    t_last = times[times.shape[0] - 1]
    for i in range(t_s.shape[0]):
        for ax in range(3):
            out_xyz[i, ax] = np.nan
            out_llh[i, ax] = np.nan
        t = t_s[i]
        rng = range_m[i]
        h = height[i]
        if not (t >= t_first and t <= t_last):
            status[i] = OUT_OF_SPAN
            continue
        state_at(times, coef, znodes, origin, scale, t, st)
        sx, sy, sz = st[0, 0], st[0, 1], st[0, 2]
        plane_basis(st, side, e1, e2)
        # the cone of the Doppler: centre S + rng a V^, radius rng b
        vn = math.sqrt(st[1, 0] ** 2 + st[1, 1] ** 2 + st[1, 2] ** 2)
        a = k_doppler[i] / vn
        if not abs(a) < 1.0:
            status[i] = NO_INTERSECTION
            continue
        b = math.sqrt(1.0 - a * a)
        cx = sx + rng * a * st[1, 0] / vn
        cy = sy + rng * a * st[1, 1] / vn
        cz = sz + rng * a * st[1, 2] / vn
        rb = rng * b
        # the range circle's lowest point (nadir side) must reach the surface
        lat, lon, hp = xyz_to_llh_1(cx + rb * e1[0], cy + rb * e1[1], cz + rb * e1[2])
        if hp > h + tol_m:
            status[i] = NO_INTERSECTION
            continue
        # start: a sphere of the local geocentric radius (+h) below the antenna
        snorm = math.sqrt(cx * cx + cy * cy + cz * cz)
        sin2 = cz * cz / (snorm * snorm)
        rho = A * math.sqrt((1.0 - E2) / (1.0 - E2 * (1.0 - sin2))) + h
        cos_th = (snorm * snorm + rb * rb - rho * rho) / (2.0 * snorm * rb)
        th = look[i] if math.isfinite(look[i]) else math.acos(min(1.0, max(-1.0, cos_th)))
        code = NO_CONVERGENCE
        px = py = pz = 0.0
        nx = ny = nz = 0.0
        for _ in range(max_iter):
            c, s = math.cos(th), math.sin(th)
            px = cx + rb * (c * e1[0] + s * e2[0])
            py = cy + rb * (c * e1[1] + s * e2[1])
            pz = cz + rb * (c * e1[2] + s * e2[2])
            lat, lon, hp = xyz_to_llh_1(px, py, pz)
            g = hp - h
            clat = math.cos(lat)
            nx, ny, nz = clat * math.cos(lon), clat * math.sin(lon), math.sin(lat)
            if abs(g) < tol_m:
                code = OK
                break
            # height rises with the look angle on (0, pi): dg > 0 there
            dg = rb * (nx * (-s * e1[0] + c * e2[0]) + ny * (-s * e1[1] + c * e2[1])
                       + nz * (-s * e1[2] + c * e2[2]))
            new = th - g / dg if dg > 0.0 else th + 1e-3
            if new <= 0.0:
                new = 0.5 * th
            elif new >= math.pi:
                new = 0.5 * (th + math.pi)
            th = new
        # beyond the horizon the line of sight reaches P from below
        if code == OK and (px - sx) * nx + (py - sy) * ny + (pz - sz) * nz >= 0.0:
            code = NO_INTERSECTION
        status[i] = code
        if code != OK:
            continue
        look[i] = th
        out_xyz[i, 0] = px
        out_xyz[i, 1] = py
        out_xyz[i, 2] = pz
        out_llh[i, 0] = lat
        out_llh[i, 1] = lon
        out_llh[i, 2] = hp
