"""Orbits: the analytic Kepler orbit against physics, Hermite interpolation against it.

Truths used: two-body conservation laws; a numerical integration of the
two-body equations (scipy DOP853); finite differences; scipy's own cubic
Hermite spline; exact reproduction of polynomials of the interpolant's degree.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.integrate import solve_ivp
from scipy.interpolate import CubicHermiteSpline

from peppers.errors import GeometryError
from peppers.geometry.ellipsoid import GM_EARTH, OMEGA_EARTH, ecef_to_llh
from peppers.geometry.kepler import KeplerOrbit, solve_kepler
from peppers.geometry.orbit import Orbit

EPOCH = datetime(2026, 3, 1, 5, 12, 3, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def kepler():
    """A slightly eccentric ~700 km, 98 deg orbit (eccentricity exercises Kepler's equation)."""
    return KeplerOrbit(EPOCH, 7078137.0, 0.0012, 98.2, 31.0, 87.0, 12.0, earth_angle0_deg=17.0)


# ------------------------------------------------------------------ Kepler
@given(st.floats(-20.0, 20.0), st.floats(0.0, 0.99))
def test_solve_kepler_satisfies_keplers_equation(m, e):
    ecc = solve_kepler(m, e)
    m_red = np.remainder(m + np.pi, 2 * np.pi) - np.pi
    assert abs(ecc - e * np.sin(ecc) - m_red) < 1e-12


def test_kepler_velocity_is_derivative_of_position(kepler):
    t = np.linspace(-300.0, 300.0, 41)
    h = 0.5
    for frame in (kepler.inertial, kepler.ecef):
        p = [frame(t + k * h)[0] for k in (-2, -1, 1, 2)]
        fd = (p[0] - 8 * p[1] + 8 * p[2] - p[3]) / (12 * h)  # 5-point stencil, error ~1e-9 m/s
        _, v = frame(t)
        assert np.abs(fd - v).max() < 1e-5


def test_kepler_conserves_radius_energy_and_momentum(kepler):
    t = np.linspace(0.0, kepler.period_s, 500)
    r, v = kepler.inertial(t)
    rn = np.linalg.norm(r, axis=1)
    energy = 0.5 * np.sum(v * v, axis=1) - GM_EARTH / rn
    assert np.allclose(energy, -GM_EARTH / (2 * kepler.semi_major_axis_m), rtol=1e-12, atol=0)
    hvec = np.cross(r, v)
    assert np.abs(hvec - hvec[0]).max() / np.linalg.norm(hvec[0]) < 1e-12
    a, e = kepler.semi_major_axis_m, kepler.eccentricity
    assert rn.min() == pytest.approx(a * (1 - e), abs=1.0)  # perigee
    assert rn.max() == pytest.approx(a * (1 + e), abs=1.0)  # apogee
    circ = KeplerOrbit.circular_over(EPOCH, 10.0, 20.0)
    rc = np.linalg.norm(circ.inertial(t)[0], axis=1)
    assert np.abs(rc - circ.semi_major_axis_m).max() < 1e-6
    # ECEF is a rotation of the inertial frame: radius and z unchanged
    re, _ = kepler.ecef(t)
    assert np.abs(np.linalg.norm(re, axis=1) - rn).max() < 1e-6
    assert np.abs(re[:, 2] - r[:, 2]).max() < 1e-6


def test_kepler_matches_numerical_two_body_integration(kepler):
    r0, v0 = kepler.inertial(0.0)

    def rhs(_t, y):
        rr = y[:3]
        return np.concatenate([y[3:], -GM_EARTH * rr / np.linalg.norm(rr) ** 3])

    t = np.linspace(0.0, 900.0, 31)
    sol = solve_ivp(rhs, (0.0, 900.0), np.concatenate([r0, v0]), method="DOP853",
                    t_eval=t, rtol=1e-13, atol=1e-7)
    r, v = kepler.inertial(t)
    assert np.abs(sol.y[:3].T - r).max() < 1e-3
    assert np.abs(sol.y[3:].T - v).max() < 1e-6


def test_ecef_velocity_includes_earth_rotation(kepler):
    t = np.array([0.0, 100.0])
    r_i, v_i = kepler.inertial(t)
    r_e, v_e = kepler.ecef(t)
    # |v_ecef + omega x r_ecef| is the inertial speed
    v_back = v_e + np.cross([0.0, 0.0, OMEGA_EARTH], r_e)
    assert np.allclose(np.linalg.norm(v_back, axis=1), np.linalg.norm(v_i, axis=1), rtol=1e-14)


@pytest.mark.parametrize("ascending", [True, False])
def test_circular_over_passes_over_the_point(ascending):
    k = KeplerOrbit.circular_over(EPOCH, 36.5, -117.0, altitude_m=700e3, inclination_deg=98.0,
                                  ascending=ascending)
    r, v = k.ecef(0.0)
    lat_c = np.degrees(np.arcsin(r[2] / np.linalg.norm(r)))
    lon = np.degrees(np.arctan2(r[1], r[0]))
    assert lat_c == pytest.approx(36.5, abs=1e-9)
    assert lon == pytest.approx(-117.0, abs=1e-9)
    assert (v[2] > 0) == ascending
    assert 690e3 < ecef_to_llh(r)[2] < 725e3
    with pytest.raises(GeometryError, match="not reached"):
        KeplerOrbit.circular_over(EPOCH, 85.0, 0.0, inclination_deg=98.0)


def test_kepler_refuses_bad_elements():
    with pytest.raises(GeometryError, match="eccentricity"):
        KeplerOrbit(EPOCH, 7e6, 1.0, 98.0, 0.0, 0.0, 0.0)
    with pytest.raises(GeometryError, match="inside the Earth"):
        KeplerOrbit(EPOCH, 3e6, 0.0, 98.0, 0.0, 0.0, 0.0)
    with pytest.raises(GeometryError, match="timezone"):
        KeplerOrbit(EPOCH.replace(tzinfo=None), 7e6, 0.0, 98.0, 0.0, 0.0, 0.0)
    with pytest.raises(GeometryError, match="dt_s"):
        KeplerOrbit(EPOCH, 7e6, 0.0, 98.0, 0.0, 0.0, 0.0).state_vectors(0.0, 0.0, 5)


# ----------------------------------------------------------- interpolation
@pytest.mark.parametrize("nodes,spacing,tol_pos,tol_vel", [
    (2, 10.0, 1e-3, 1e-3),  # the acceptance: cubic Hermite, 10 s vectors, 1 mm and 1 mm/s
    (4, 10.0, 1e-6, 1e-7),  # the default degree-7 scheme is micrometre exact
    (4, 60.0, 1e-6, 1e-7),  # ... even at the 60 s spacing of many products
])
def test_hermite_accuracy_on_kepler_orbit(kepler, rng, nodes, spacing, tol_pos, tol_vel):
    n = int(1200 / spacing) + 1
    orbit = kepler.to_orbit(-600.0, spacing, n, nodes=nodes)
    t = rng.uniform(-600.0, 600.0, 20000)
    p, v = orbit.interpolate(t)
    pt, vt = kepler.ecef(t)
    assert np.linalg.norm(p - pt, axis=1).max() < tol_pos
    assert np.linalg.norm(v - vt, axis=1).max() < tol_vel


def test_cubic_hermite_equals_scipy(kepler, rng):
    times, pos, vel = kepler.state_vectors(0.0, 10.0, 12)
    orbit = Orbit(EPOCH, times, pos, vel, nodes=2)
    t = rng.uniform(0.0, 110.0, 3000)
    p, v = orbit.interpolate(t)
    spline = CubicHermiteSpline(times, pos, vel, axis=0)
    assert np.abs(p - spline(t)).max() < 1e-6
    assert np.abs(v - spline(t, 1)).max() < 1e-9


@pytest.mark.parametrize("nodes", [2, 3, 4, 5])
def test_hermite_reproduces_polynomials_of_its_degree(nodes):
    rng = np.random.default_rng(nodes)
    deg = 2 * nodes - 1
    coeffs = rng.normal(size=(deg + 1, 3)) * 10.0 ** -np.arange(deg + 1)[:, None]
    times = np.sort(rng.uniform(0.0, 12.0, 9))  # uneven spacing on purpose
    times[0], times[-1] = 0.0, 12.0
    poly = np.polynomial.polynomial
    der = poly.polyder(coeffs, 1)
    orbit = Orbit(EPOCH, times, poly.polyval(times, coeffs).T, poly.polyval(times, der).T, nodes=nodes)
    t = np.linspace(0.0, 12.0, 301)
    pos, vel, acc = orbit.state(t)
    scale = np.abs(poly.polyval(t, coeffs)).max()
    assert np.abs(pos - poly.polyval(t, coeffs).T).max() < 1e-11 * scale
    assert np.abs(vel - poly.polyval(t, der).T).max() < 1e-9 * scale
    assert np.abs(acc - poly.polyval(t, poly.polyder(coeffs, 2)).T).max() < 1e-8 * scale


def test_interpolation_hits_state_vectors_and_acceleration_is_right(kepler):
    orbit = kepler.to_orbit(0.0, 10.0, 10)
    p, v = orbit.interpolate(orbit.times_s)
    assert np.abs(p - orbit.positions).max() < 1e-8
    assert np.abs(v - orbit.velocities).max() < 1e-10
    t = np.linspace(5.0, 85.0, 17)
    _, _, acc = orbit.state(t)
    h = 0.01
    acc_true = (kepler.ecef(t + h)[1] - kepler.ecef(t - h)[1]) / (2 * h)
    assert np.abs(acc - acc_true).max() < 1e-5


def test_interpolate_keeps_shapes(kepler):
    orbit = kepler.to_orbit(0.0, 10.0, 10)
    p, v = orbit.interpolate(12.5)
    assert p.shape == v.shape == (3,)
    p, v = orbit.interpolate(np.full((2, 5), 30.0))
    assert p.shape == (2, 5, 3) and np.all(p == p[0, 0])


# ---------------------------------------------------------- time and errors
def test_time_base(kepler):
    orbit = kepler.to_orbit(-20.0, 10.0, 10)
    assert orbit.span == (-20.0, 70.0)
    when = EPOCH + timedelta(seconds=12, microseconds=345678)
    assert orbit.time_of(when) == pytest.approx(12.345678, abs=1e-9)
    assert orbit.datetime_of(orbit.time_of(when)) == when
    with pytest.raises(GeometryError, match="timezone-aware"):
        orbit.time_of(when.replace(tzinfo=None))
    assert "10 state vectors" in repr(orbit)


def test_refuses_times_outside_span(kepler):
    orbit = kepler.to_orbit(0.0, 10.0, 10)
    with pytest.raises(GeometryError, match=r"time 90\.5 s .* index 1 .*span \[0\.0, 90\.0\]"):
        orbit.interpolate([45.0, 90.5])
    with pytest.raises(GeometryError, match="not finite"):
        orbit.interpolate(np.nan)


@pytest.mark.parametrize("change,match", [
    (dict(epoch=EPOCH.replace(tzinfo=None)), "timezone-aware UTC"),
    (dict(epoch=EPOCH.astimezone(timezone(timedelta(hours=2)))), "timezone-aware UTC"),
    (dict(times_s=[0, 10, 20, 20, 40, 50, 60, 70]), r"times_s\[3\] = 20.0 follows 20.0"),
    (dict(positions=np.zeros((7, 3))), r"must both be \(8, 3\)"),
    (dict(velocities=np.zeros((8, 2))), r"must both be \(8, 3\)"),
    (dict(nodes=9), "8 state vectors, need at least nodes=9"),
    (dict(nodes=1), "nodes must be an integer >= 2"),
    (dict(positions=np.where(np.arange(24).reshape(8, 3) == 7, np.nan, 1e6)),
     r"positions\[2\] is not finite"),
])
def test_constructor_refuses_bad_state_vectors(change, match):
    args = dict(epoch=EPOCH, times_s=np.arange(8) * 10.0, positions=np.full((8, 3), 7e6),
                velocities=np.full((8, 3), 7e3), nodes=4)
    args.update(change)
    nodes = args.pop("nodes")
    with pytest.raises(GeometryError, match=match):
        Orbit(*args.values(), nodes=nodes)
