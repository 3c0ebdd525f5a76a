"""The operators map pixels <-> ground as each scene declares (docs/geometry.md).

A zero-Doppler scene ``Z`` is re-expressed (a) as processed to a Doppler
centroid (``native-doppler``, its line times shifted by the squint offset) and
(b) with a Sentinel-1-like azimuth time offset ``dt(R)``. Ground points come
from ``Z`` by the plain zero-Doppler ``rdr2geo``; where they appear in the
re-expressed scene is found here independently (a Brent root of the Doppler
formula written in this file, or ``t - dt(R)``). The operators' geometry
(coregistration offsets, flat earth, absolute-phase prediction, radar
geometry layers) must put the same ground points at those pixels.
``insar.geometry.orbit_nodes`` must reach the orbit the operators build.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import numpy as np
import pytest
from scipy.optimize import brentq

from peppers.errors import ParameterError
from peppers.geometry.ellipsoid import ecef_to_llh, llh_to_ecef
from peppers.geometry.scene_geometry import scene_geo2rdr, scene_rdr2geo
from peppers.geometry.zero_doppler import geo2rdr, rdr2geo
from peppers.operators.absolute_phase import predicted_phase
from peppers.operators.coregister import orbit_offsets
from peppers.operators.flat_earth import FlatEarthModel
from peppers.operators.interferogram import Interferogram
from peppers.operators.radar_geometry import geometry_layers
from peppers.scene import DopplerCentroid, Polynomial, Polynomial2D, scene_metadata
from support.scenes import make_scene

H = 120.0          # ellipsoidal height of the test points, m
F_DC = 350.0       # Hz at the reference range
SLOPE = 2e-3       # Hz per metre of range


def _fdc(r):
    return F_DC + SLOPE * (np.asarray(r, dtype=np.float64) - 8.3e5)


@pytest.fixture(scope="module")
def scenes():
    zero = make_scene(lines=60, samples=40)
    orbit = zero.orbit()
    _, vel = orbit.interpolate(0.0)
    r_mid = zero.slant_range(20.0)
    # the squint offset of a target at the centroid: t_f - t_0 ~ -f lambda R / (2 v^2)
    shift = float(_fdc(r_mid)) * zero.wavelength_m * r_mid / (2.0 * float(vel @ vel))
    native = dataclasses.replace(
        zero, first_line_utc=zero.first_line_utc - timedelta(microseconds=round(shift * 1e6)),
        doppler=DopplerCentroid("native-doppler",
                                Polynomial2D.make(8.3e5, 0.0, [[F_DC, SLOPE]])))
    offset = dataclasses.replace(
        zero, azimuth_time_offset=Polynomial.make(8.3e5, [90e-6, 2.0 / 299_792_458.0]))
    rows, cols = np.meshgrid([3.0, 21.5, 44.0, 57.0], [1.0, 13.25, 30.0, 38.0], indexing="ij")
    xyz, llh = rdr2geo(zero.azimuth_seconds(rows), zero.slant_range(cols), orbit,
                       zero.look_side, H)
    return zero, native, offset, rows, cols, xyz, llh


def _native_pixel(scene, p):
    """Row, column of ECEF point ``p`` in a native-Doppler scene: a Brent root of
    ``2 v . (p - s) / (lambda |p - s|) = f_dc(|p - s|)`` (written out here)."""
    orbit = scene.orbit()

    def g(t):
        s, v = orbit.interpolate(t)
        d = p - s
        r = np.linalg.norm(d)
        return 2.0 * float(v @ d) / (scene.wavelength_m * r) - float(_fdc(r))

    t = brentq(g, -2.0, 2.0, xtol=1e-13, rtol=1e-15, maxiter=200)
    r = float(np.linalg.norm(p - orbit.interpolate(t)[0]))
    return t / scene.line_interval_s, (r - scene.first_sample_m) / scene.sample_spacing_m


def _truth_native(scenes):
    zero, native, _, rows, cols, xyz, _ = scenes
    pix = np.array([_native_pixel(native, p) for p in xyz.reshape(-1, 3)])
    return pix[:, 0].reshape(rows.shape), pix[:, 1].reshape(rows.shape)


def test_native_scene_pixels_of_zero_doppler_points(scenes):
    zero, native, _, rows, cols, xyz, _ = scenes
    n_rows, n_cols = _truth_native(scenes)
    # the re-expression is real: every point moves by a third of a column (and ~28 rows)
    assert np.abs(n_cols - cols).min() > 0.05
    t_row, r = scene_geo2rdr(native, xyz)
    assert np.abs(t_row / native.line_interval_s - n_rows).max() < 1e-5
    assert np.abs((r - native.first_sample_m) / native.sample_spacing_m - n_cols).max() < 1e-6
    back, _ = scene_rdr2geo(native, native.azimuth_seconds(n_rows), native.slant_range(n_cols), H)
    assert np.abs(back - xyz).max() < 1e-4          # metres


def test_coregistration_offsets_through_a_native_doppler_scene(scenes):
    zero, native, _, rows, cols, xyz, _ = scenes
    n_rows, n_cols = _truth_native(scenes)
    dr, dc = orbit_offsets(native, zero, n_rows, n_cols, H)
    assert np.abs(n_rows + dr - rows).max() < 1e-5 and np.abs(n_cols + dc - cols).max() < 1e-5
    dr, dc = orbit_offsets(zero, native, rows, cols, H)
    assert np.abs(rows + dr - n_rows).max() < 1e-5 and np.abs(cols + dc - n_cols).max() < 1e-5


def test_flat_earth_and_absolute_phase_see_the_same_ground(scenes):
    zero, native, _, rows, cols, xyz, llh = scenes
    n_rows, n_cols = _truth_native(scenes)
    # master native, slave zero-Doppler with the same orbit: r2 - r1 = R_zero - R_native
    phase = FlatEarthModel(native, zero, height=H).exact(n_rows, n_cols)
    want = zero.slant_range(cols) - native.slant_range(n_cols)
    assert np.abs(phase * zero.wavelength_m / (4 * np.pi) - want).max() < 1e-6
    r_ml, c_ml, _ = predicted_phase(llh.reshape(-1, 3), native, zero, (1, 1), H)
    assert np.abs(r_ml - n_rows.ravel()).max() < 1e-5
    assert np.abs(c_ml - n_cols.ravel()).max() < 1e-6


def test_radar_geometry_layers_of_a_native_doppler_master(scenes):
    zero, native, *_ = scenes
    rows, cols = np.array([5.0, 30.0, 55.0]), np.array([2.0, 20.0, 37.0])
    out = geometry_layers(native, zero, lambda lat, lon: np.full(np.shape(lat), H), rows, cols)
    p = llh_to_ecef(out["lat"], out["lon"], np.full(out["lat"].shape, H))
    orbit = native.orbit()
    t = native.azimuth_seconds(rows)[:, None]
    s, v = orbit.interpolate(np.broadcast_to(t, p.shape[:-1]))
    d = p - s
    r = np.linalg.norm(d, axis=-1)
    doppler = 2.0 * np.sum(v * d, axis=-1) / (native.wavelength_m * r)
    assert np.abs(doppler - _fdc(r)).max() < 1e-6
    assert np.abs(r - native.slant_range(cols)[None, :]).max() < 1e-5
    z_t, z_r = geo2rdr(p, zero.orbit())
    assert np.abs(out["row_offset"] - (z_t / zero.line_interval_s - rows[:, None])).max() < 1e-5
    assert np.abs(out["col_offset"] - ((z_r - zero.first_sample_m) / zero.sample_spacing_m
                                       - cols[None, :])).max() < 1e-6


def test_azimuth_time_offset_scene(scenes):
    zero, _, offset, rows, cols, xyz, _ = scenes
    r = zero.slant_range(cols)
    o_rows = rows - offset.azimuth_time_offset_s(r) / offset.line_interval_s
    assert np.abs(o_rows - rows).min() > 0.1         # 90 us + 2R/c is > 0.1 line
    dr, dc = orbit_offsets(offset, zero, o_rows, cols, H)
    assert np.abs(o_rows + dr - rows).max() < 1e-5 and np.abs(dc).max() < 1e-6
    phase = FlatEarthModel(offset, zero, height=H).exact(o_rows, cols)
    assert np.abs(phase).max() < 1e-3                  # radians: same ground, same range


def test_zero_doppler_scene_functions_are_the_plain_ones(scenes):
    zero, _, _, rows, cols, xyz, _ = scenes
    t, r = zero.azimuth_seconds(rows), zero.slant_range(cols)
    for a, b in zip(scene_rdr2geo(zero, t, r, H), rdr2geo(t, r, zero.orbit(), "right", H)):
        assert np.array_equal(a, b)
    for a, b in zip(scene_geo2rdr(zero, xyz), geo2rdr(xyz, zero.orbit())):
        assert np.array_equal(a, b)


def test_orbit_nodes_reach_the_operators_orbit():
    # 60 s state vectors: the cubic (nodes=2) is off by decimetres, degree 7 is not
    m = make_scene(n_vectors=9, spacing_s=60.0)
    s = dataclasses.replace(m, positions_m=m.positions_m + np.array([0.0, 150.0, 100.0]))
    meta = scene_metadata(m, "m.slc.vrt"), scene_metadata(s, "s.slc.vrt")
    default = Interferogram(master=meta[0], slave=meta[1])
    cubic = Interferogram(master=meta[0], slave=meta[1], orbit_nodes=2)
    assert default.orbit_nodes == 4 and cubic.orbit_nodes == 2
    assert np.array_equal(default.model.nodes,
                          FlatEarthModel(m, s, spacing=(64, 64), nodes=4).nodes)
    # the two schemes differ by ~4e-5 rad here, the geometry converges to ~1e-9 rad
    assert np.abs(cubic.model.nodes - default.model.nodes).max() > 1e-5   # radians
    rows, cols = np.array([0.0, 39.0]), np.array([0.0, 23.0])
    assert np.abs(orbit_offsets(m, s, rows, cols, 0.0, 2)[0]
                  - orbit_offsets(m, s, rows, cols, 0.0, 4)[0]).max() > 1e-6
    with pytest.raises(ParameterError, match="orbit_nodes"):
        Interferogram(master=meta[0], slave=meta[1], orbit_nodes=1)


def test_phase_to_height_of_a_native_doppler_master(scenes):
    from peppers.operators.height import PhaseToHeight
    from peppers.operators.scene_height import scene_phase_to_height

    zero, native, *_ = scenes
    slave = dataclasses.replace(zero, positions_m=zero.positions_m + np.array([0.0, 150.0, 100.0]))
    rows, cols = np.meshgrid([4.0, 30.0, 52.0], [2.0, 19.0, 36.0], indexing="ij")
    h_true = np.array([[0.0, 350.0, 800.0], [-50.0, 1200.0, 40.0], [600.0, 10.0, 2500.0]])
    p, _ = rdr2geo(zero.azimuth_seconds(rows), zero.slant_range(cols), zero.orbit(), "right",
                   h_true)
    pix = np.array([_native_pixel(native, q) for q in p.reshape(-1, 3)])
    t_n = native.azimuth_seconds(pix[:, 0])
    r_n = native.slant_range(pix[:, 1])
    ref, _ = scene_rdr2geo(native, t_n, r_n, 0.0)
    phase = 4 * np.pi / zero.wavelength_m * (geo2rdr(p.reshape(-1, 3), slave.orbit())[1]
                                             - geo2rdr(ref, slave.orbit())[1])
    h, lat, lon, status = scene_phase_to_height(native, slave, t_n, r_n, phase,
                                                reference_height_m=0.0, fill_height_m=0.0,
                                                m_orbit=native.orbit(), s_orbit=slave.orbit())
    assert (status == 0).all()
    assert np.abs(h - h_true.ravel()).max() < 1e-3
    truth = ecef_to_llh(p.reshape(-1, 3))
    assert np.abs(lat - truth[:, 0]).max() < 1e-8 and np.abs(lon - truth[:, 1]).max() < 1e-8
    # the operator takes this path for such a scene; on a zero-Doppler pair the two solvers agree
    op = PhaseToHeight(master=scene_metadata(native, "m.slc.vrt"),
                       slave=scene_metadata(slave, "s.slc.vrt"), looks=(1, 1))
    from peppers.ppe.region import Region
    region = Region(0, 0, 2, 3)
    wrapped = np.array([[0.5, 1.0, np.nan], [2.0, -1.0, 3.0]])
    got = op.solve(wrapped, region)
    la, lr = op.looks
    tr, cc = op._master.azimuth_seconds(np.arange(2) * la + (la - 1) / 2), \
        op._master.slant_range(np.arange(3) * lr + (lr - 1) / 2)
    want = scene_phase_to_height(native, slave, tr[:, None], cc[None, :], wrapped,
                                 reference_height_m=0.0, fill_height_m=0.0,
                                 m_orbit=native.orbit(), s_orbit=slave.orbit())
    assert np.array_equal(got[3], want[3]) and np.allclose(got[0], want[0], equal_nan=True)
    plain = PhaseToHeight(master=scene_metadata(zero, "m.slc.vrt"),
                          slave=scene_metadata(slave, "s.slc.vrt"), looks=(1, 1))
    kernel = plain.solve(wrapped, region)
    general = scene_phase_to_height(zero, slave, tr[:, None], cc[None, :], wrapped,
                                    reference_height_m=0.0, fill_height_m=0.0,
                                    m_orbit=zero.orbit(), s_orbit=slave.orbit())
    assert np.array_equal(kernel[3], general[3])
    assert np.nanmax(np.abs(kernel[0] - general[0])) < 1e-3
