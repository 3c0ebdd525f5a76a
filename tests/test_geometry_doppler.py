"""Native-Doppler geometry: rdr2geo / geo2rdr on the Doppler cone, and scene pixels with a
declared Doppler centroid and azimuth time offset."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peppers.errors import GeometryError
from peppers.geometry.scene_geometry import scene_geo_to_pixel, scene_pixel_to_geo
from peppers.geometry.zero_doppler import geo2rdr, rdr2geo
from peppers.scene import DopplerCentroid, Polynomial, Polynomial2D
from support.scenes import make_scene

WAVELENGTH = 0.05546576


def _doppler_of(xyz, t, orbit):
    """Independent Doppler 2 v . (x - p) / (lambda R) from the interpolated orbit."""
    p, v = orbit.interpolate(t)
    d = xyz - p
    return 2.0 * np.sum(v * d, axis=-1) / (WAVELENGTH * np.linalg.norm(d, axis=-1))


@settings(max_examples=30, deadline=None)
@given(f_hz=st.floats(-3000.0, 3000.0), row=st.floats(0.0, 39.0), r=st.floats(8.3e5, 8.6e5),
       h=st.floats(-100.0, 4000.0))
def test_rdr2geo_puts_the_point_at_the_requested_doppler_and_geo2rdr_returns(f_hz, row, r, h):
    scene = make_scene()
    orbit = scene.orbit()
    t = scene.azimuth_seconds(row)
    xyz, llh = rdr2geo(t, r, orbit, "right", h, doppler=f_hz, wavelength_m=WAVELENGTH)
    assert llh[2] == pytest.approx(h, abs=1e-6)
    assert np.linalg.norm(xyz - orbit.interpolate(t)[0]) == pytest.approx(r, abs=1e-6)
    assert _doppler_of(xyz, t, orbit) == pytest.approx(f_hz, abs=1e-6)
    t2, r2 = geo2rdr(xyz, orbit, doppler=f_hz, wavelength_m=WAVELENGTH)
    assert t2 == pytest.approx(t, abs=1e-9) and r2 == pytest.approx(r, abs=1e-5)


def test_zero_doppler_is_the_default_and_a_doppler_moves_the_point():
    scene = make_scene()
    orbit = scene.orbit()
    a, _ = rdr2geo(0.01, 8.4e5, orbit, "right", 0.0)
    b, _ = rdr2geo(0.01, 8.4e5, orbit, "right", 0.0, doppler=0.0, wavelength_m=WAVELENGTH)
    c, _ = rdr2geo(0.01, 8.4e5, orbit, "right", 0.0, doppler=500.0, wavelength_m=WAVELENGTH)
    assert np.array_equal(a, b)
    # 500 Hz at 5.5 cm and 7.5 km/s: a squint of ~1.8 mrad, ~1.5 km along track at 840 km
    assert 1000 < np.linalg.norm(c - a) < 2000
    with pytest.raises(GeometryError, match="wavelength"):
        rdr2geo(0.01, 8.4e5, orbit, "right", 0.0, doppler=500.0)


def test_geo2rdr_with_a_range_and_time_dependent_centroid():
    scene = make_scene()
    orbit = scene.orbit()

    def centroid(r, t):
        return 300.0 + 1e-3 * (np.asarray(r) - 8.4e5) + 50.0 * np.asarray(t)

    t = np.array([0.0, 0.01, 0.02])
    r = np.array([8.35e5, 8.4e5, 8.5e5])
    xyz, _ = rdr2geo(t, r, orbit, "right", 100.0, doppler=centroid(r, t), wavelength_m=WAVELENGTH)
    t2, r2 = geo2rdr(xyz, orbit, doppler=centroid, wavelength_m=WAVELENGTH)
    assert np.abs(t2 - t).max() < 1e-9 and np.abs(r2 - r).max() < 1e-5


@pytest.mark.parametrize("geometry", ["zero-doppler", "native-doppler"])
def test_scene_pixels_round_trip_with_offset_and_doppler(geometry):
    scene = make_scene(doppler=DopplerCentroid(geometry, Polynomial2D.make(8.3e5, 0.0, [[400.0, 1e-3]])),
                       azimuth_time_offset=Polynomial.make(8.3e5, [90e-6, 1 / 299_792_458.0]))
    rows, cols = np.meshgrid([0.0, 20.0, 39.0], [0.0, 11.5, 23.0], indexing="ij")
    llh = scene_pixel_to_geo(scene, rows, cols, 250.0)
    back_r, back_c = scene_geo_to_pixel(scene, llh[..., 0], llh[..., 1], llh[..., 2])
    assert np.abs(back_r - rows).max() < 1e-5 and np.abs(back_c - cols).max() < 1e-6
    xyz = rdr2geo(scene.azimuth_seconds(rows) + scene.azimuth_time_offset_s(scene.slant_range(cols)),
                  scene.slant_range(cols), scene.orbit(), "right", 250.0,
                  doppler=(scene.doppler_centroid(scene.slant_range(cols), scene.azimuth_seconds(rows))
                           if geometry == "native-doppler" else None),
                  wavelength_m=WAVELENGTH)[0]
    t = scene.azimuth_seconds(rows) + scene.azimuth_time_offset_s(scene.slant_range(cols))
    want = scene.doppler_centroid(scene.slant_range(cols), scene.azimuth_seconds(rows)) \
        if geometry == "native-doppler" else 0.0
    assert np.allclose(_doppler_of(xyz, t, scene.orbit()), want, atol=1e-6)


def test_orbit_nodes_reach_the_interpolation():
    scene = make_scene()
    assert scene.orbit(2).nodes == 2 and scene.orbit().nodes == 4
