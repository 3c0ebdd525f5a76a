"""Ellipsoid, DEM sampler and zero-Doppler geometry against independent truths.

Truths used: closed-form points of the ellipsoid and an independent Bowring
iteration; the defining equations of zero-Doppler geometry checked directly
(range, Doppler, height, side); the zero-Doppler time found by a bracketing
root finder on the *analytic* Kepler orbit; exact bilinear reproduction of
planes.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import brentq

from peppers.errors import GeometryError
from peppers.geometry.dem import GridDem
from peppers.geometry.ellipsoid import (WGS84_A, WGS84_B, WGS84_E2, ecef_to_enu, ecef_to_llh,
                                        enu_basis, incidence_angle_deg, llh_to_ecef)
from peppers.geometry.kepler import KeplerOrbit
from peppers.geometry.surface import NO_SURFACE, intersect_surface
from peppers.geometry.zero_doppler import geo2rdr, geo_to_pixel, pixel_to_geo, rdr2geo

EPOCH = datetime(2026, 3, 1, 5, 12, 3, tzinfo=timezone.utc)
# A typical C-band stripmap grid (the spec's example scene)
LINE_S, FIRST_R, SPACING = 0.000604, 830000.0, 2.329562
LINES, SAMPLES = 3000, 1500


@pytest.fixture(scope="module")
def kepler():
    return KeplerOrbit.circular_over(EPOCH, 36.3, -117.2, altitude_m=700e3, inclination_deg=98.0)


@pytest.fixture(scope="module")
def orbit(kepler):
    return kepler.to_orbit(-30.0, 10.0, 10)  # 10 vectors, 10 s apart, image in [0, 1.8] s


def grid(orbit, first_line=0.0):
    return dict(first_line=first_line, line_interval_s=LINE_S, first_sample_m=FIRST_R,
                sample_spacing_m=SPACING)


# --------------------------------------------------------------- ellipsoid
def bowring_llh(xyz):
    """Independent reference: fixed-point iteration on the latitude, to convergence."""
    x, y, z = np.moveaxis(np.asarray(xyz, dtype=np.float64), -1, 0)
    p = np.hypot(x, y)
    lat = np.arctan2(z, p * (1 - WGS84_E2))
    for _ in range(50):
        n = WGS84_A / np.sqrt(1 - WGS84_E2 * np.sin(lat) ** 2)
        lat = np.arctan2(z + WGS84_E2 * n * np.sin(lat), p)
    n = WGS84_A / np.sqrt(1 - WGS84_E2 * np.sin(lat) ** 2)
    h = p * np.cos(lat) + z * np.sin(lat) - WGS84_A ** 2 / n
    return np.degrees(lat), np.degrees(np.arctan2(y, x)), h


def test_ellipsoid_known_points():
    assert np.allclose(llh_to_ecef(0.0, 0.0, 0.0), [WGS84_A, 0, 0], atol=1e-9)
    assert np.allclose(llh_to_ecef(0.0, 90.0, 100.0), [0, WGS84_A + 100, 0], atol=1e-9)
    assert np.allclose(llh_to_ecef(90.0, 0.0, 0.0), [0, 0, WGS84_B], atol=1e-9)
    assert np.allclose(llh_to_ecef(-90.0, 33.0, 5.0), [0, 0, -WGS84_B - 5], atol=1e-9)
    assert np.allclose(ecef_to_llh([0.0, 0.0, -WGS84_B - 7.0]), [-90.0, 0.0, 7.0], atol=1e-9)
    assert np.allclose(ecef_to_llh([0.0, -WGS84_A - 3.0, 0.0]), [0.0, -90.0, 3.0], atol=1e-9)
    assert llh_to_ecef(np.zeros((4, 5)), 0.0, 0.0).shape == (4, 5, 3)
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 3\)"):
        ecef_to_llh([1.0, 2.0])


@given(st.floats(-90, 90), st.floats(-180, 180, exclude_min=True), st.floats(-1e4, 1e6))
def test_ellipsoid_round_trip(lat, lon, h):
    """Round trips to 1e-8 m: ~10 ulp of float64 at the Earth's radius (ulp 9.3e-10 m)."""
    xyz = llh_to_ecef(lat, lon, h)
    back = ecef_to_llh(xyz)
    assert np.linalg.norm(llh_to_ecef(*back) - xyz) < 1e-8
    assert abs(back[2] - h) < 1e-8
    assert abs(back[0] - lat) * 111e3 < 1e-8
    if abs(lat) < 89.9999:
        assert abs((back[1] - lon + 180) % 360 - 180) * 111e3 * np.cos(np.radians(lat)) < 1e-8


def test_ellipsoid_matches_bowring_iteration(rng):
    xyz = llh_to_ecef(rng.uniform(-89, 89, 5000), rng.uniform(-180, 180, 5000),
                      rng.uniform(-1e4, 1e6, 5000))
    lat, lon, h = bowring_llh(xyz)
    llh = ecef_to_llh(xyz)
    assert np.abs(llh[:, 0] - lat).max() * 111e3 < 1e-8
    assert np.abs(llh[:, 1] - lon).max() * 111e3 < 1e-8
    assert np.abs(llh[:, 2] - h).max() < 1e-8


def test_enu_frame_and_incidence():
    basis = enu_basis(36.0, -117.0)
    assert np.allclose(basis @ basis.T, np.eye(3), atol=1e-15)
    assert np.allclose(np.cross(basis[0], basis[1]), basis[2], atol=1e-15)
    # the normal is the direction in which only the height changes
    assert np.allclose(ecef_to_enu(llh_to_ecef(36.0, -117.0, 1234.5), 36.0, -117.0, 0.0),
                       [0, 0, 1234.5], atol=1e-6)
    east = ecef_to_enu(llh_to_ecef(36.0, -116.99, 0.0), 36.0, -117.0, 0.0)
    assert east[0] > 900 and abs(east[1]) < 1.0
    ground = llh_to_ecef(36.0, -117.0, 0.0)
    assert incidence_angle_deg(ground, llh_to_ecef(36.0, -117.0, 7e5)) == pytest.approx(0, abs=1e-6)
    # line of sight 700 km up and 700 km east in the local frame: 45 deg
    sensor = llh_to_ecef(36.0, -117.0, 7e5) + 7e5 * basis[0]
    assert incidence_angle_deg(ground, sensor) == pytest.approx(45.0, abs=1e-9)


# ------------------------------------------------------------- DEM sampler
def test_grid_dem_reproduces_planes_and_refuses_outside(rng):
    lat0, lon0, dlat, dlon = 37.0, -118.0, -0.01, 0.01
    rows, cols = np.mgrid[0:50, 0:60]
    lat_c, lon_c = lat0 + (rows + 0.5) * dlat, lon0 + (cols + 0.5) * dlon

    def plane(lat, lon):
        return 100.0 + 2000.0 * (lat - 36.7) - 3000.0 * (lon + 117.8)

    dem = GridDem.from_gdal_geotransform(plane(lat_c, lon_c), (lon0, dlon, 0.0, lat0, 0.0, dlat))
    lat = rng.uniform(lat_c.min(), lat_c.max(), 1000)
    lon = rng.uniform(lon_c.min(), lon_c.max(), 1000)
    assert np.abs(dem(lat, lon) - plane(lat, lon)).max() < 1e-9
    # within half a pixel of the edge: held at the edge; farther out: NaN
    assert dem(lat0 - 0.002, -117.7) == pytest.approx(dem(lat_c[0, 0], -117.7), abs=1e-9)
    assert np.isnan(dem(lat0 + 0.001, -117.7)) and np.isnan(dem(36.6, lon0 - 0.001))
    with pytest.raises(GeometryError, match="rotated"):
        GridDem.from_gdal_geotransform(np.zeros((3, 3)), (0, 1, 0.1, 0, 0, -1))
    with pytest.raises(GeometryError, match="2x2"):
        GridDem(np.zeros(5), 0, 0, -1, 1)


# ------------------------------------------------------- zero-Doppler geometry
@pytest.mark.parametrize("side", ["right", "left"])
def test_rdr2geo_satisfies_the_defining_equations(orbit, rng, side):
    t = rng.uniform(0.0, LINES * LINE_S, 2000)
    r = FIRST_R + rng.uniform(0, SAMPLES, 2000) * SPACING
    h = rng.uniform(-100.0, 9000.0, 2000)
    xyz, llh = rdr2geo(t, r, orbit, side, h)
    s, v = orbit.interpolate(t)
    d = xyz - s
    assert np.abs(np.linalg.norm(d, axis=1) - r).max() < 1e-6
    assert np.abs(np.sum(d * v, axis=1) / np.linalg.norm(v, axis=1)).max() < 1e-6
    assert np.abs(ecef_to_llh(xyz)[:, 2] - h).max() < 1e-6
    assert np.abs(llh - ecef_to_llh(xyz)).max() < 1e-9
    # look side: (V x D) . S < 0 means D is to the right of V seen from above
    side_sign = np.sign(np.sum(np.cross(v, d) * s, axis=1))
    assert np.all(side_sign == (-1 if side == "right" else 1))
    assert np.all((20 < incidence_angle_deg(xyz, s)) & (incidence_angle_deg(xyz, s) < 50))


def test_geo2rdr_matches_root_of_analytic_doppler(kepler, orbit, rng):
    """The zero-Doppler time on the exact orbit, found by Brent's method, is the truth."""
    xyz, _ = rdr2geo(rng.uniform(0.0, 1.8, 50), rng.uniform(830e3, 835e3, 50), orbit, "right",
                     rng.uniform(0.0, 3000.0, 50))
    t, r = geo2rdr(xyz, orbit)
    for p, ti, ri in zip(xyz, t, r):
        def doppler(tt, p=p):
            s, v = kepler.ecef(tt)
            return np.dot(p - s, v)
        truth = brentq(doppler, -20.0, 20.0, xtol=1e-13, rtol=1e-15)
        assert abs(ti - truth) < 1e-8
        assert abs(ri - np.linalg.norm(p - kepler.ecef(truth)[0])) < 1e-5


@pytest.mark.parametrize("side", ["right", "left"])
def test_round_trip_below_a_thousandth_pixel_and_a_millimetre(orbit, rng, side):
    """Acceptance: pixel -> ground -> pixel < 1e-3 px; ground -> pixel -> ground < 1 mm."""
    n = 20000
    row, col = rng.uniform(0, LINES, n), rng.uniform(0, SAMPLES, n)
    h = rng.uniform(-100.0, 9000.0, n)
    llh = pixel_to_geo(row, col, orbit, look_side=side, height=h, **grid(orbit))
    row2, col2 = geo_to_pixel(llh[:, 0], llh[:, 1], llh[:, 2], orbit, **grid(orbit))
    assert np.abs(row2 - row).max() < 1e-3 and np.abs(col2 - col).max() < 1e-3
    xyz = llh_to_ecef(llh[:, 0], llh[:, 1], llh[:, 2])
    t, r = geo2rdr(xyz, orbit)
    xyz2, _ = rdr2geo(t, r, orbit, side, h)
    assert np.linalg.norm(xyz2 - xyz, axis=1).max() < 1e-3


@given(st.floats(0, LINES), st.floats(0, SAMPLES), st.floats(-100.0, 9000.0), st.booleans())
def test_round_trip_property(orbit, row, col, h, right):
    side = "right" if right else "left"
    first = EPOCH + timedelta(seconds=0.25)  # a datetime first line, as a scene has it
    llh = pixel_to_geo(row, col, orbit, look_side=side, height=h, **grid(orbit, first))
    row2, col2 = geo_to_pixel(*llh, orbit, **grid(orbit, first))
    assert abs(row2 - row) < 1e-3 and abs(col2 - col) < 1e-3
    assert abs(llh[2] - h) < 1e-6


def test_geo2rdr_guess_and_shapes(orbit, rng):
    xyz, _ = rdr2geo(rng.uniform(0, 1.8, (4, 6)), rng.uniform(830e3, 833e3, (4, 6)), orbit, "right")
    assert xyz.shape == (4, 6, 3)
    t, r = geo2rdr(xyz, orbit)
    assert t.shape == r.shape == (4, 6)
    t2, r2 = geo2rdr(xyz, orbit, t_guess=0.9)
    assert np.abs(t2 - t).max() < 1e-9 and np.abs(r2 - r).max() < 1e-6


def test_rdr2geo_on_a_dem(orbit):
    """Intersection with a hill: the point lies on the DEM and maps back to its pixel."""
    centre = pixel_to_geo(LINES / 2, SAMPLES / 2, orbit, look_side="right", **grid(orbit))
    lat0, lon0 = centre[0] + 0.1, centre[1] - 0.1
    rows, cols = np.mgrid[0:120, 0:120]
    lat, lon = lat0 - (rows + 0.5) * 0.002, lon0 + (cols + 0.5) * 0.002
    hill = 400.0 + 1500.0 * np.exp(-((lat - centre[0]) ** 2 + (lon - centre[1]) ** 2) / 0.03 ** 2)
    dem = GridDem(hill, lat0=lat0, lon0=lon0, dlat=-0.002, dlon=0.002)
    row, col = np.mgrid[0:LINES:150, 0:SAMPLES:75].astype(float)
    llh = pixel_to_geo(row, col, orbit, look_side="right", height=dem, **grid(orbit))
    assert np.abs(llh[..., 2] - dem(llh[..., 0], llh[..., 1])).max() < 1e-3
    assert llh[..., 2].max() > 1000.0  # the hill was hit
    row2, col2 = geo_to_pixel(llh[..., 0], llh[..., 1], llh[..., 2], orbit, **grid(orbit))
    assert np.abs(row2 - row).max() < 1e-3 and np.abs(col2 - col).max() < 1e-3


@pytest.mark.parametrize("gain", [3.0, -3.0, 0.5, -0.9])
def test_surface_iteration_converges_where_the_fixed_point_diverges(gain):
    """A model where the terrain moves ``gain`` metres per metre of trial height.

    P(h) lies at lat = h * 1e-5 deg; the surface is 100 + gain * (lat / 1e-5), so
    the fixed point h <- dem(P(h)) diverges for |gain| > 1; the root is
    h = (100 + k) / (1 - gain) for point k (its offset rides in the longitude).
    """
    n = 5

    def solve(index, h):
        llh = np.stack([h * 1e-5, index.astype(float), h], axis=1)
        return np.zeros((index.size, 3)), llh, np.zeros(index.size, dtype=np.int8)

    def surface(lat, lon):
        return 100.0 + lon + gain * lat / 1e-5

    status = np.zeros(n, dtype=np.int8)
    xyz, llh = np.zeros((n, 3)), np.stack([np.zeros(n), np.arange(n, dtype=float), np.zeros(n)], 1)
    intersect_surface(solve, surface, status, xyz, llh, 1e-6, 80, 3)
    assert np.all(status == 0)
    assert np.allclose(llh[:, 2], (100.0 + np.arange(n)) / (1.0 - gain), atol=1e-5)
    # a surface with no height there ends the point with NO_SURFACE
    status[:] = 0
    intersect_surface(solve, lambda lat, lon: np.full(lat.shape, np.nan), status, xyz, llh,
                      1e-6, 80, 3)
    assert np.all(status == NO_SURFACE) and np.isnan(llh).all()


def test_surface_iteration_survives_a_secant_trap():
    """F(h) = -1000 atan((h - root) / 50): the fixed point and the plain secant both fly off
    (the fixed point has gain -19 at the root); the bracket still homes in."""
    n = 7
    roots = np.linspace(-80.0, 4000.0, n)

    def solve(index, h):
        llh = np.stack([h * 1e-5, index.astype(float), h], axis=1)
        return np.zeros((index.size, 3)), llh, np.zeros(index.size, dtype=np.int8)

    def surface(lat, lon):
        h = lat / 1e-5
        return h - 1000.0 * np.arctan((h - roots[lon.astype(int)]) / 50.0)

    status = np.zeros(n, dtype=np.int8)
    xyz, llh = np.zeros((n, 3)), np.stack([np.zeros(n), np.arange(n, dtype=float), np.zeros(n)], 1)
    intersect_surface(solve, surface, status, xyz, llh, 1e-6, 60, 3)
    assert np.all(status == 0)
    assert np.allclose(llh[:, 2], roots, atol=1e-5)


def test_rdr2geo_on_a_fore_slope_steeper_than_the_incidence(orbit):
    """A 60-degree ridge face towards the radar (layover): still on the surface, same pixel."""
    centre = pixel_to_geo(LINES / 2, SAMPLES / 2, orbit, look_side="right", **grid(orbit))
    lat0, lon0 = centre[0] + 0.05, centre[1] - 0.05
    rows, cols = np.mgrid[0:100, 0:100]
    lon = lon0 + (cols + 0.5) * 0.001
    metres_east = (lon - centre[1]) * 111e3 * np.cos(np.radians(centre[0]))
    ridge = np.clip(800.0 - np.tan(np.radians(60)) * metres_east, 0.0, 1500.0)  # rises westwards
    dem = GridDem(ridge, lat0=lat0, lon0=lon0, dlat=-0.001, dlon=0.001)
    row, col = np.meshgrid(np.linspace(1000, 2000, 21), np.linspace(0, SAMPLES, 301), indexing="ij")
    llh = pixel_to_geo(row, col, orbit, look_side="right", height=dem, **grid(orbit))
    assert np.abs(llh[..., 2] - dem(llh[..., 0], llh[..., 1])).max() < 1e-3
    assert ((llh[..., 2] > 50) & (llh[..., 2] < 1450)).sum() > 100  # many points on the face
    row2, col2 = geo_to_pixel(llh[..., 0], llh[..., 1], llh[..., 2], orbit, **grid(orbit))
    assert np.abs(row2 - row).max() < 1e-3 and np.abs(col2 - col).max() < 1e-3


def test_failures_are_named_or_nan(orbit):
    with pytest.raises(GeometryError, match="look_side must be 'right' or 'left', got 'up'"):
        rdr2geo(0.0, 830e3, orbit, "up")
    with pytest.raises(GeometryError, match="on_failure"):
        geo2rdr(np.zeros(3), orbit, on_failure="ignore")
    with pytest.raises(GeometryError,
                       match=r"1 of 2 points failed; first at flat index 1 .*range too short"):
        rdr2geo(0.0, [830e3, 500e3], orbit, "right")
    xyz, llh = rdr2geo([0.0, 0.0, 99.0], [830e3, 500e3, 830e3], orbit, "right", on_failure="nan")
    assert np.isfinite(xyz[0]).all() and np.isnan(xyz[1:]).all() and np.isnan(llh[1:]).all()
    with pytest.raises(GeometryError, match="beyond the horizon"):
        rdr2geo(0.0, 4000e3, orbit, "left")
    with pytest.raises(GeometryError, match="outside the orbit's state-vector span"):
        rdr2geo(70.0, 830e3, orbit, "right")
    # a point imaged 500 km along track, long after the orbit's last vector
    far = rdr2geo(0.0, 830e3, orbit, "right")[0] + 500e3 * orbit.interpolate(0.0)[1] / 7.5e3
    with pytest.raises(GeometryError, match=r"geo2rdr: 1 of 1 points failed; .* span"):
        geo2rdr(far, orbit)
    assert np.isnan(geo2rdr(far, orbit, on_failure="nan")[0])
    dem = GridDem(np.zeros((3, 3)), 0.0, 0.0, -0.1, 0.1)  # far from the scene
    with pytest.raises(GeometryError, match="DEM gives no height"):
        rdr2geo(0.0, 830e3, orbit, "right", dem)
    with pytest.raises(GeometryError, match="must be vectorised"):
        rdr2geo([0.0, 1.0], 830e3, orbit, "right", lambda lat, lon: 0.0)


def test_geo2rdr_on_a_million_points(orbit, rng):
    xyz, _ = rdr2geo(rng.uniform(0.0, 1.8, 1000), rng.uniform(830e3, 834e3, 1000), orbit, "right")
    pts = np.repeat(xyz, 1000, axis=0) + rng.normal(0, 100.0, (1_000_000, 3))
    geo2rdr(pts[:10], orbit)  # compiled already; make sure
    start = time.perf_counter()
    t, r = geo2rdr(pts, orbit)
    elapsed = time.perf_counter() - start
    print(f"geo2rdr: 1e6 points in {elapsed:.3f} s")  # a measure, not a test: load varies
    assert np.isfinite(t).all() and np.isfinite(r).all()


def test_threads_give_the_serial_result(orbit, rng):
    """The kernels release the GIL; threaded chunks must equal one serial call."""
    from concurrent.futures import ThreadPoolExecutor

    t, r = rng.uniform(0.0, 1.8, 40000), rng.uniform(830e3, 834e3, 40000)
    xyz, _ = rdr2geo(t, r, orbit, "left", 500.0)
    serial = geo2rdr(xyz, orbit)
    with ThreadPoolExecutor(4) as pool:
        parts = list(pool.map(lambda c: geo2rdr(c, orbit), np.array_split(xyz, 8)))
        back = list(pool.map(lambda a: rdr2geo(a[0], a[1], orbit, "left", 500.0)[0],
                             zip(np.array_split(t, 8), np.array_split(r, 8))))
    assert np.array_equal(np.concatenate([p[0] for p in parts]), serial[0])
    assert np.array_equal(np.concatenate([p[1] for p in parts]), serial[1])
    assert np.array_equal(np.concatenate(back), xyz)
