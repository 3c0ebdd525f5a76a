"""Numba kernels of the simulator's radar-grid geometry (see ``radar_grid``).

``intersect_rows``
    For each azimuth line (antenna position S and ECEF velocity V given) and
    each slant range r, the ground point on a DEM in the zero-Doppler plane:
    P(theta) = S + r (cos(theta) n + sin(theta) c), with n the nadir
    direction made perpendicular to V and c = side * (n x V/|V|), is exactly
    at range r and zero Doppler for every theta; the look angle theta is the
    root of F(theta) = h(P) - dem(lat(P), lon(P)). Newton's method with the
    exact derivative (ellipsoid normal and the bilinear DEM gradient) from a
    start extrapolated from the two previous pixels of the line usually needs
    one or two steps; should a step misbehave (it cannot, without layover, F
    rising monotonically, except at DEM cell edges), the root is bracketed
    and closed by the Illinois variant of regula falsi (superlinear, never
    leaves the bracket). ``use_dem=False`` intersects the surface at a
    constant height.
``surface_fields``
    The local incidence angle and the ground area of each radar pixel from
    the cross product of the ground positions' row and column differences,
    and a count of folded (layover) and shadowed pixels.

References
----------
Dowell & Jarratt (1971), "A modified regula falsi method for computing the
root of an equation", BIT 11:168-174 (the Illinois algorithm).
ISCE2 ``topozero`` (zero-Doppler plane, look-angle iteration on a DEM).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from peppers.geometry._dem_kernels import height_at as dem_height
from peppers.geometry._ellipsoid_kernels import A, E2, xyz_to_llh_1

#: Status codes of ``intersect_rows``.
OK, OFF_DEM, NO_CONVERGENCE = 0, 1, 2


@njit(nogil=True, cache=True)
def _point(s, nb, cb, r, theta):
    ct = math.cos(theta)
    st = math.sin(theta)
    return (s[0] + r * (ct * nb[0] + st * cb[0]), s[1] + r * (ct * nb[1] + st * cb[1]),
            s[2] + r * (ct * nb[2] + st * cb[2]))


@njit(nogil=True, cache=True)
def _dem_gradient(dem, lat0, lon0, dlat, dlon, lat_deg, lon_deg):
    """Height and its derivatives along latitude and longitude (m per radian)."""
    m, n = dem.shape
    r = min(max((lat_deg - lat0) / dlat - 0.5, 0.0), m - 1.0)
    c = min(max((lon_deg - lon0) / dlon - 0.5, 0.0), n - 1.0)
    i = min(int(math.floor(r)), m - 2)
    j = min(int(math.floor(c)), n - 2)
    fr = r - i
    fc = c - j
    top = (1.0 - fc) * dem[i, j] + fc * dem[i, j + 1]
    bottom = (1.0 - fc) * dem[i + 1, j] + fc * dem[i + 1, j + 1]
    d_col = (1.0 - fr) * (dem[i, j + 1] - dem[i, j]) + fr * (dem[i + 1, j + 1] - dem[i + 1, j])
    return (bottom - top) * (180.0 / math.pi) / dlat, d_col * (180.0 / math.pi) / dlon


@njit(nogil=True, cache=True)
def _residual(s, nb, cb, r, theta, dem, lat0, lon0, dlat, dlon, use_dem, height):
    """F(theta) = h(P) - surface height, and dF/dtheta (module docstring)."""
    ct = math.cos(theta)
    st = math.sin(theta)
    x = s[0] + r * (ct * nb[0] + st * cb[0])
    y = s[1] + r * (ct * nb[1] + st * cb[1])
    z = s[2] + r * (ct * nb[2] + st * cb[2])
    dx = r * (ct * cb[0] - st * nb[0])
    dy = r * (ct * cb[1] - st * nb[1])
    dz = r * (ct * cb[2] - st * nb[2])
    lat, lon, h = xyz_to_llh_1(x, y, z)
    sl, cl, so, co = math.sin(lat), math.cos(lat), math.sin(lon), math.cos(lon)
    d_up = cl * co * dx + cl * so * dy + sl * dz
    if not use_dem:
        return h - height, d_up
    surface = dem_height(dem, lat0, lon0, dlat, dlon, math.degrees(lat), math.degrees(lon))
    if not math.isfinite(surface):
        return np.nan, np.nan
    w = 1.0 - E2 * sl * sl
    prime = A / math.sqrt(w)                        # N, prime vertical radius
    meridian = prime * (1.0 - E2) / w               # M, meridian radius
    d_north = -sl * co * dx - sl * so * dy + cl * dz
    d_east = -so * dx + co * dy
    g_lat, g_lon = _dem_gradient(dem, lat0, lon0, dlat, dlon, math.degrees(lat),
                                 math.degrees(lon))
    slope = d_up - g_lat * d_north / (meridian + h) - g_lon * d_east / ((prime + h) * cl)
    return h - surface, slope


@njit(nogil=True, cache=True)
def _sphere_angle(norm_s, radius, r):
    """Look angle at which range r meets a sphere of ``radius`` (clipped)."""
    c = (norm_s * norm_s + r * r - radius * radius) / (2.0 * norm_s * r)
    return math.acos(min(1.0, max(-1.0, c)))


@njit(nogil=True, cache=True)
def _solve(s, nb, cb, r, x0, dem, lat0, lon0, dlat, dlon, use_dem, height, tol):
    """Root of the residual in theta from ``x0``; returns (theta, status).

    Newton steps while they behave (positive slope, shrinking residual);
    otherwise a bracket is grown from the best point and closed by Illinois.
    """
    x, (f, slope) = x0, _residual(s, nb, cb, r, x0, dem, lat0, lon0, dlat, dlon, use_dem, height)
    if not math.isfinite(f):
        return x, OFF_DEM
    for _ in range(6):
        if abs(f) < tol:
            return x, OK
        if not slope > 0.0:
            break
        xn = x - f / slope
        fn, sn = _residual(s, nb, cb, r, xn, dem, lat0, lon0, dlat, dlon, use_dem, height)
        if not math.isfinite(fn):
            return xn, OFF_DEM
        if abs(fn) >= abs(f):
            break
        x, f, slope = xn, fn, sn
    if abs(f) < tol:
        return x, OK
    # bracket from the best point, steps of a nominal slope doubled while |F| grows
    nominal = r * 0.5
    a, fa = x, f
    b, fb = x, f
    grow = 1.0
    for _ in range(80):
        b = a - grow * fa / nominal
        fb = _residual(s, nb, cb, r, b, dem, lat0, lon0, dlat, dlon, use_dem, height)[0]
        if not math.isfinite(fb):
            return b, OFF_DEM
        if abs(fb) < tol:
            return b, OK
        if (fb > 0.0) != (fa > 0.0):
            break
        grow = 2.0 * grow if abs(fb) >= abs(fa) else 1.0
        a, fa = b, fb
    if (fb > 0.0) == (fa > 0.0):
        return a, NO_CONVERGENCE
    last = 0
    c = a
    for _ in range(200):
        c = (a * fb - b * fa) / (fb - fa)
        fc = _residual(s, nb, cb, r, c, dem, lat0, lon0, dlat, dlon, use_dem, height)[0]
        if not math.isfinite(fc):
            return c, OFF_DEM
        if abs(fc) < tol or abs(b - a) < 1e-15:
            return c, OK
        if (fc > 0.0) == (fb > 0.0):
            b, fb = c, fc
            if last == -1:
                fa *= 0.5
            last = -1
        else:
            a, fa = c, fc
            if last == 1:
                fb *= 0.5
            last = 1
    return c, NO_CONVERGENCE


@njit(nogil=True, cache=True)
def intersect_rows(sat_pos, sat_vel, ranges, side, dem, lat0, lon0, dlat, dlon, use_dem,
                   height, tol, xyz, llh, status):
    """Ground points of a block of radar lines (module docstring).

    Parameters
    ----------
    sat_pos, sat_vel : (R, 3) float64
        Antenna ECEF position and velocity at each line's zero-Doppler time.
    ranges : (C,) float64
        Slant range of each column.
    side : int
        +1 right-looking, -1 left-looking.
    dem, lat0, lon0, dlat, dlon
        The DEM grid (used when ``use_dem``).
    use_dem : bool
        Intersect the DEM, else the surface at constant ``height``.
    height : float
        Constant height (and the starting height when ``use_dem``).
    tol : float
        Height residual at convergence, metres.
    xyz, llh : (R, C, 3) float64
        Out: ECEF points; latitude, longitude (degrees) and height.
    status : (R, C) int8
        Out: ``OK``, ``OFF_DEM`` or ``NO_CONVERGENCE`` (points then NaN).
    """
    n_rows, n_cols = status.shape
    s = np.empty(3)
    nb = np.empty(3)
    cb = np.empty(3)
    for i in range(n_rows):
        vn = math.sqrt(sat_vel[i, 0] ** 2 + sat_vel[i, 1] ** 2 + sat_vel[i, 2] ** 2)
        v = sat_vel[i] / vn
        s[:] = sat_pos[i]
        sv = s[0] * v[0] + s[1] * v[1] + s[2] * v[2]
        for k in range(3):
            nb[k] = -(s[k] - sv * v[k])
        nn = math.sqrt(nb[0] ** 2 + nb[1] ** 2 + nb[2] ** 2)
        nb /= nn
        cb[0] = side * (nb[1] * v[2] - nb[2] * v[1])
        cb[1] = side * (nb[2] * v[0] - nb[0] * v[2])
        cb[2] = side * (nb[0] * v[1] - nb[1] * v[0])
        norm_s = math.sqrt(s[0] ** 2 + s[1] ** 2 + s[2] ** 2)
        sub_h = xyz_to_llh_1(s[0], s[1], s[2])[2]
        earth = norm_s - sub_h
        prev1 = np.nan
        prev2 = np.nan
        for j in range(n_cols):
            r = ranges[j]
            if math.isfinite(prev2):
                guess = 2.0 * prev1 - prev2
            elif math.isfinite(prev1):
                guess = prev1 + (_sphere_angle(norm_s, earth + height, r)
                                 - _sphere_angle(norm_s, earth + height, ranges[j - 1]))
            else:
                guess = _sphere_angle(norm_s, earth + height, r)
            theta, code = _solve(s, nb, cb, r, guess, dem, lat0, lon0, dlat, dlon,
                                 use_dem, height, tol)
            status[i, j] = code
            if code != OK:
                prev1 = np.nan
                prev2 = np.nan
                for k in range(3):
                    xyz[i, j, k] = np.nan
                    llh[i, j, k] = np.nan
                continue
            x, y, z = _point(s, nb, cb, r, theta)
            lat, lon, h = xyz_to_llh_1(x, y, z)
            xyz[i, j, 0] = x
            xyz[i, j, 1] = y
            xyz[i, j, 2] = z
            llh[i, j, 0] = math.degrees(lat)
            llh[i, j, 1] = math.degrees(lon)
            llh[i, j, 2] = h
            prev2 = prev1
            prev1 = theta


@njit(nogil=True, cache=True)
def _diff(xyz, i, j, axis, out):
    """Central (one-sided at the edges) difference of ``xyz`` along ``axis``."""
    n = xyz.shape[axis]
    k = i if axis == 0 else j
    lo = max(k - 1, 0)
    hi = min(k + 1, n - 1)
    for c in range(3):
        if axis == 0:
            out[c] = (xyz[hi, j, c] - xyz[lo, j, c]) / (hi - lo)
        else:
            out[c] = (xyz[i, hi, c] - xyz[i, lo, c]) / (hi - lo)


@njit(nogil=True, cache=True)
def surface_fields(xyz, sat_pos, orientation, range_spacing, cos_inc, area_ratio,
                   count_lo, count_hi):
    """Local incidence and pixel ground area on the radar grid.

    Parameters
    ----------
    xyz : (R, C, 3) float64
        Ground points of the radar pixels.
    sat_pos : (R, 3) float64
        Antenna position of each line.
    orientation : float
        +1 or -1: the sign of ``(d/drow x d/dcol) . up`` of unfolded terrain
        (set by the pass direction and look side).
    range_spacing : float
        Slant-range pixel spacing, metres.
    cos_inc : (R, C) float32
        Out: cosine of the local incidence angle (angle between the surface
        normal and the direction to the antenna).
    area_ratio : (R, C) float32
        Out: ground area of the pixel over its slant-plane area
        ``|d/drow| * range_spacing`` (1/sin(local incidence) for range tilts).

    count_lo, count_hi : int
        Rows whose pixels are counted in the result (the others are halo).

    Returns
    -------
    folded, shadowed : int
        Pixels whose surface faces away from the grid orientation (layover)
        and pixels whose surface faces away from the antenna (shadow).
    """
    n_rows, n_cols = cos_inc.shape
    dr = np.empty(3)
    dc = np.empty(3)
    folded = 0
    shadowed = 0
    for i in range(n_rows):
        for j in range(n_cols):
            _diff(xyz, i, j, 0, dr)
            _diff(xyz, i, j, 1, dc)
            nx = orientation * (dr[1] * dc[2] - dr[2] * dc[1])
            ny = orientation * (dr[2] * dc[0] - dr[0] * dc[2])
            nz = orientation * (dr[0] * dc[1] - dr[1] * dc[0])
            area = math.sqrt(nx * nx + ny * ny + nz * nz)
            up = nx * xyz[i, j, 0] + ny * xyz[i, j, 1] + nz * xyz[i, j, 2]
            counted = count_lo <= i < count_hi
            if up <= 0.0 and counted:
                folded += 1
            lx = sat_pos[i, 0] - xyz[i, j, 0]
            ly = sat_pos[i, 1] - xyz[i, j, 1]
            lz = sat_pos[i, 2] - xyz[i, j, 2]
            ln = math.sqrt(lx * lx + ly * ly + lz * lz)
            c = (nx * lx + ny * ly + nz * lz) / (area * ln)
            if c <= 0.0 and counted:
                shadowed += 1
            cos_inc[i, j] = c
            az = math.sqrt(dr[0] ** 2 + dr[1] ** 2 + dr[2] ** 2)
            area_ratio[i, j] = area / (az * range_spacing)
    return folded, shadowed
