"""Deformation sources and the reference DEM of the simulator, against independent truth.

- Okada's rectangular dislocation against Okada (1985) Table 2 (the
  checklist for numerical calculations, cases 2-4, all three modes).
- Mogi's point source against its closed form written here again.
- A simulated pair with a Mogi source: the truth offsets, phase and LOS
  displacement equal ``geo2rdr`` of the displaced ground point on the slave
  orbit (the slave sees each point moved, in the exact geometry), the LOS
  sign is towards the satellite over an inflating source.
- Its reference DEM: read back through :class:`ReferenceDem` (geoid heights
  found from the file's compound CRS, made ellipsoidal with EGM96) it
  differs from the true surface by the requested RMS, with NaN voids.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.errors import NotGeoreferencedWarning

from peppers.errors import SimulationError
from peppers.geometry.ellipsoid import ecef_to_enu, enu_basis, llh_to_ecef
from peppers.geometry.reference_dem import ReferenceDem
from peppers.geometry.zero_doppler import geo2rdr
from peppers.operators.simulate import SimulationConfig, simulate
from peppers.operators.simulate.deformation import (MogiSource, OkadaSource,
                                                    okada_surface_okada_frame)

EGM96 = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "geoid" / \
    "egm96_15_lon_0_360.gtx"

#: Okada (1985) Table 2: (x, y, d, dip) -> mode -> (ux, uy, uz); L = 3, W = 2, nu = 0.25.
OKADA_TABLE_2 = {
    (2.0, 3.0, 4.0, 70.0): {"strike": (-8.689e-3, -4.298e-3, -2.747e-3),
                            "dip": (-4.682e-3, -3.527e-2, -3.564e-2),
                            "tensile": (-2.660e-4, 1.056e-2, 3.214e-3)},
    (0.0, 0.0, 4.0, 90.0): {"strike": (0.0, 5.253e-3, 0.0), "dip": (0.0, 0.0, 0.0),
                            "tensile": (1.223e-2, 0.0, -1.606e-2)},
    # case 4 in the table is dip -90 at d = 4; it equals dip +90 at d = 6 with the
    # strike slip reversed (the fault's other edge at the origin)
    (0.0, 0.0, 6.0, 90.0): {"strike": (0.0, -1.303e-3, 0.0), "dip": (0.0, 0.0, 0.0),
                            "tensile": (3.507e-3, 0.0, -7.740e-3)},
}
MODES = {"strike": (1.0, 0.0, 0.0), "dip": (0.0, 1.0, 0.0), "tensile": (0.0, 0.0, 1.0)}


@pytest.mark.parametrize("case", list(OKADA_TABLE_2))
@pytest.mark.parametrize("mode", list(MODES))
def test_okada_matches_table_2_of_okada_1985(case, mode):
    x, y, d, dip = case
    u1, u2, u3 = MODES[mode]
    if d == 6.0:
        u1 = -u1
    got = okada_surface_okada_frame(x, y, d, dip, 3.0, 2.0, u1, u2, u3, poisson=0.25)
    want = OKADA_TABLE_2[case][mode]
    for g, w in zip(got, want):       # the table's 4 significant digits
        assert float(g) == pytest.approx(w, abs=max(1e-9, 5.01e-4 * abs(w)))


def test_okada_source_frame_rotates_with_strike():
    """A fault striking east is the north-striking one with the map turned 90 degrees."""
    north = OkadaSource(0.0, 0.0, 500.0, 2000.0, 1000.0, strike_deg=0.0, dip_deg=50.0,
                        strike_slip_m=0.7, dip_slip_m=0.4, opening_m=0.1)
    east = OkadaSource(0.0, 0.0, 500.0, 2000.0, 1000.0, strike_deg=90.0, dip_deg=50.0,
                       strike_slip_m=0.7, dip_slip_m=0.4, opening_m=0.1)
    rng = np.random.default_rng(3)
    e, n = rng.uniform(-4000, 4000, (2, 50))
    a = north.enu(e, n)                 # position (e, n) for the north-striking fault
    b = east.enu(n, -e)                 # the same position turned clockwise by 90 degrees
    np.testing.assert_allclose(b[..., 0], a[..., 1], atol=1e-12)
    np.testing.assert_allclose(b[..., 1], -a[..., 0], atol=1e-12)
    np.testing.assert_allclose(b[..., 2], a[..., 2], atol=1e-12)
    # a thrust (dip slip) lifts its hanging wall: the side the fault dips to (east of a
    # north-striking fault, Aki-Richards)
    thrust = OkadaSource(0.0, 0.0, 200.0, 4000.0, 2000.0, strike_deg=0.0, dip_deg=45.0,
                         dip_slip_m=1.0)
    assert float(thrust.enu(np.array([600.0]), np.array([0.0]))[0, 2]) > 0.1


def test_mogi_closed_form():
    src = MogiSource(0.0, 0.0, depth_m=2000.0, volume_change_m3=3e6, poisson=0.25)
    r = np.array([0.0, 1000.0, 2000.0, 5000.0])
    u = src.enu(r, np.zeros_like(r))
    c = 0.75 * 3e6 / math.pi
    np.testing.assert_allclose(u[:, 2], c * 2000.0 / (r ** 2 + 2000.0 ** 2) ** 1.5)
    np.testing.assert_allclose(u[:, 0], c * r / (r ** 2 + 2000.0 ** 2) ** 1.5)
    assert src.describe()["peak_uplift_m"] == pytest.approx(c / 2000.0 ** 2)
    with pytest.raises(SimulationError, match="depth"):
        MogiSource(0.0, 0.0, depth_m=-1.0, volume_change_m3=1.0)


# ------------------------------------------------------------------ simulated pair
MOGI = dict(mogi_volume_m3=2.0e5, mogi_depth_m=600.0, mogi_east_m=80.0, mogi_north_m=-50.0)


@pytest.fixture(scope="module")
def deformed(tmp_path_factory):
    extra = dict(dem_error_m=5.0, dem_voids=3)
    if EGM96.exists():
        extra["dem_geoid"] = str(EGM96)
    cfg = SimulationConfig(lines=256, samples=224, relief_m=250.0, patches=1, gcps=12,
                           threads=2, seed=21, **MOGI, **extra)
    return simulate(tmp_path_factory.mktemp("sim") / "mogi", cfg)


def read_truth(result, name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(result.folder / result.truth["rasters"][name]["path"]) as ds:
            return ds.read(1)


def mogi_here(lat, lon, h, result):
    """The Mogi displacement, ECEF, written independently of the simulator.

    The half-space surface is the tangent plane at the epicentre recorded in
    truth.yaml, at the mean terrain height (docs/simulator.md).
    """
    cfg = result.truth["config"]
    src = result.truth["deformation"]["sources"][0]
    basis = enu_basis(src["lat_deg"], src["lon_deg"])
    source = llh_to_ecef(src["lat_deg"], src["lon_deg"], cfg["base_height_m"])
    rel = llh_to_ecef(lat, lon, h) - source
    x, y = rel @ basis[0], rel @ basis[1]
    d = cfg["mogi_depth_m"]
    c = (1 - cfg["poisson"]) * cfg["mogi_volume_m3"] / math.pi / (x * x + y * y + d * d) ** 1.5
    return (c * x)[..., None] * basis[0] + (c * y)[..., None] * basis[1] + \
        (c * d)[..., None] * basis[2]


def test_slave_sees_each_ground_point_displaced(deformed):
    master, slave = deformed.master, deformed.slave
    rng = np.random.default_rng(4)
    i, j = rng.integers(0, master.shape[0], 60), rng.integers(0, master.shape[1], 60)
    lat, lon, h = (read_truth(deformed, k)[i, j].astype(np.float64) for k in ("lat", "lon",
                                                                              "height"))
    xyz = llh_to_ecef(lat, lon, h)
    moved = xyz + mogi_here(lat, lon, h, deformed)
    t2, r2 = geo2rdr(moved, slave.orbit())
    _, r2_still = geo2rdr(xyz, slave.orbit())
    _, r1 = geo2rdr(xyz, master.orbit())
    np.testing.assert_allclose(t2 / slave.line_interval_s - i,
                               read_truth(deformed, "azimuth_offset")[i, j], atol=1e-3)
    np.testing.assert_allclose((r2 - slave.first_sample_m) / slave.sample_spacing_m - j,
                               read_truth(deformed, "range_offset")[i, j], atol=1e-3)
    phase = 4 * np.pi / master.wavelength_m * (r2 - r1)
    np.testing.assert_allclose(phase, read_truth(deformed, "phase_unflattened")[i, j], atol=2e-3)
    np.testing.assert_allclose(r2_still - r2, read_truth(deformed, "los_displacement")[i, j],
                               atol=1e-6)
    np.testing.assert_allclose(read_truth(deformed, "phase_deformation")[i, j],
                               -4 * np.pi / master.wavelength_m * (r2_still - r2), atol=1e-4)


def test_inflation_moves_the_ground_towards_the_satellite(deformed):
    """LOS displacement positive over an inflating source; equals u . (unit vector to sat)."""
    cfg = deformed.truth["config"]
    src = deformed.truth["deformation"]["sources"][0]
    offset = ecef_to_enu(llh_to_ecef(src["lat_deg"], src["lon_deg"], cfg["base_height_m"]),
                         cfg["lat_deg"], cfg["lon_deg"], cfg["base_height_m"])
    np.testing.assert_allclose(offset, [MOGI["mogi_east_m"], MOGI["mogi_north_m"], 0.0],
                               atol=0.01)
    los = read_truth(deformed, "los_displacement")
    assert los.min() > 0 and 0.05 < los.max() < 0.15
    lat, lon, h = (read_truth(deformed, k).astype(np.float64) for k in ("lat", "lon", "height"))
    i, j = np.unravel_index(np.argmax(los), los.shape)
    xyz = llh_to_ecef(lat[i, j], lon[i, j], h[i, j])
    t2, _ = geo2rdr(xyz, deformed.slave.orbit())
    sat, _ = deformed.slave.orbit().interpolate(t2)
    unit = (sat - xyz) / np.linalg.norm(sat - xyz)
    u = mogi_here(lat[i, j], lon[i, j], h[i, j], deformed)
    assert float(u @ unit) == pytest.approx(float(los[i, j]), abs=1e-6)
    assert deformed.truth["deformation"]["sources"][0]["model"] == "mogi"


def test_reference_dem_has_the_asked_errors_and_voids(deformed):
    folder = deformed.folder
    described = deformed.truth["reference_dem"]
    geoid = EGM96 if EGM96.exists() else None
    dem = ReferenceDem(folder / "dem_reference.tif", geoid=geoid)
    truth = ReferenceDem(folder / "dem.tif")
    assert dem.vertical == ("geoid" if geoid else "ellipsoid")
    south, north, west, east = truth.extent_lonlat()
    rng = np.random.default_rng(0)
    lat = rng.uniform(south, north, 4000)
    lon = rng.uniform(west, east, 4000)
    error = dem.heights(lat, lon) - truth.heights(lat, lon)
    good = np.isfinite(error)
    assert 0.0005 < 1 - good.mean() < 0.2          # voids, NaN
    # bilinear sampling of a field correlated over 60 m on 15 m pixels keeps its RMS
    assert float(np.sqrt(np.mean(error[good] ** 2))) == pytest.approx(5.0, rel=0.12)
    assert described["error_rms_m"] == pytest.approx(5.0, rel=0.02)
    radar = read_truth(deformed, "reference_dem_error")
    assert np.isnan(radar).any() or described["void_fraction"] < 0.01
    assert float(np.sqrt(np.nanmean(radar.astype(np.float64) ** 2))) == pytest.approx(5.0,
                                                                                      rel=0.25)
