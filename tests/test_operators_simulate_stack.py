"""The stack simulator (``pep simulate --stack N``): files, geometry, deformation, decorrelation.

Truth is checked against independent computations: ``geo2rdr`` of the
ground point moved by an independently written deformation field on each
date's orbit; the interferogram of two dates formed from the written SLCs
(both resampled onto the reference grid with the truth offsets) against
the truth phase and the temporal-decorrelation model; the atmosphere's
RMS, independence and power law.
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from peppers.errors import SimulationError
from peppers.geometry.ellipsoid import ecef_to_llh, enu_basis, llh_to_ecef
from peppers.geometry.zero_doppler import geo2rdr
from peppers.operators.simulate import SimulationConfig
from peppers.operators.simulate.irf import ImpulseResponse
from peppers.operators.simulate.scatterers import fringe_frequency
from peppers.operators.simulate.stack import load_stack_truth, read_stack_raster, simulate_stack
from peppers.operators.simulate.stack_config import StackConfig
from peppers.scene import load_scene
from peppers.scene.inputs import check_pair

from test_operators_simulate import kaiser_sinc_resample, read_slc


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    scene = SimulationConfig(lines=192, samples=160, seed=11, relief_m=200.0, patches=1,
                             mogi_depth_m=700.0, mogi_east_m=80.0, gcps=8, threads=2)
    cfg = StackConfig(scene, dates=5, interval_days=12, bperp_spread_m=80.0,
                      mogi_rate_m3_per_year=3e5, rate_m_per_year=-0.04, seasonal_m=0.01,
                      bowl_width_m=300.0, bowl_north_m=-100.0)
    return simulate_stack(tmp_path_factory.mktemp("stack") / "s", cfg), cfg


def test_every_date_is_a_contract_scene_and_any_two_form_a_pair(stack):
    result, cfg = stack
    assert result.dates == sorted(result.dates) and len(result.dates) == 5
    scenes = [load_scene(result.folder / f"{d}.yaml") for d in result.dates]
    gaps = [(b.first_line_utc - a.first_line_utc).total_seconds() for a, b in
            zip(scenes, scenes[1:])]
    assert gaps == [12 * 86400.0] * 4
    for a in scenes:
        for b in scenes:
            if a is not b:
                check_pair(a, b)
    truth = load_stack_truth(result.folder)
    bperp = [d["baseline_to_reference"]["bperp_m"] for d in truth["dates"][1:]]
    assert all(abs(b) <= 80.0 * 1.01 for b in bperp) and np.ptp(bperp) > 20.0
    first = result.dates[0]
    assert np.all(read_stack_raster(result.folder, f"los_displacement_{first}") == 0.0)
    assert np.abs(read_stack_raster(result.folder, f"range_offset_{first}")).max() < 1e-3
    with pytest.raises(SimulationError, match="no raster 'nope'"):
        read_stack_raster(result.folder, "nope")


def _independent_displacement(cfg, day, lat, lon, height):
    """Bowl + Mogi displacement in ECEF, written here from their formulas (not the simulator's)."""
    s = cfg.scene
    years = day / 365.25
    centre = llh_to_ecef(s.lat_deg, s.lon_deg, s.base_height_m)
    basis = enu_basis(s.lat_deg, s.lon_deg)
    xyz = llh_to_ecef(lat, lon, height)
    out = np.zeros_like(xyz)
    for east0, north0, kind in ((s.mogi_east_m, s.mogi_north_m, "mogi"),
                                (cfg.bowl_east_m, cfg.bowl_north_m, "bowl")):
        origin = centre + east0 * basis[0] + north0 * basis[1]
        o_llh = ecef_to_llh(origin)
        o = llh_to_ecef(o_llh[0], o_llh[1], s.base_height_m)
        frame = enu_basis(o_llh[0], o_llh[1])
        e, n = (xyz - o) @ frame[0], (xyz - o) @ frame[1]
        if kind == "mogi":
            dv = cfg.mogi_rate_m3_per_year * years
            c = (1 - s.poisson) * dv / math.pi
            r3 = (e * e + n * n + s.mogi_depth_m ** 2) ** 1.5
            enu = np.stack([c * e / r3, c * n / r3, c * s.mogi_depth_m / r3], axis=-1)
        else:
            amp = cfg.rate_m_per_year * years + cfg.seasonal_m * math.sin(2 * math.pi * years)
            bowl = amp * np.exp(-(e * e + n * n) / (2 * cfg.bowl_width_m ** 2))
            enu = np.stack([0 * bowl, 0 * bowl, bowl], axis=-1)
        out += enu @ frame
    return xyz, out


def test_truth_per_date_is_geo2rdr_of_the_moved_ground_point(stack):
    result, cfg = stack
    truth = load_stack_truth(result.folder)
    lat, lon, h = (read_stack_raster(result.folder, n) for n in ("lat", "lon", "height"))
    rng = np.random.default_rng(1)
    rows, cols = rng.integers(0, 192, 40), rng.integers(0, 160, 40)
    ref = result.scenes[result.dates[0]]
    # the reference range of the (float32-height) truth point, as the pair test does
    r_ref = geo2rdr(llh_to_ecef(lat[rows, cols], lon[rows, cols],
                                h[rows, cols].astype(np.float64)), ref.orbit())[1]
    for entry in truth["dates"][1:]:
        date, day = entry["date"], entry["day"]
        scene = result.scenes[date]
        orbit = scene.orbit()
        xyz, u = _independent_displacement(cfg, day, lat[rows, cols], lon[rows, cols],
                                           h[rows, cols].astype(np.float64))
        t, r = geo2rdr(xyz + u, orbit, t_guess=ref.azimuth_seconds(rows))
        _, r_still = geo2rdr(xyz, orbit, t_guess=ref.azimuth_seconds(rows))
        az = read_stack_raster(result.folder, f"azimuth_offset_{date}")[rows, cols]
        rg = read_stack_raster(result.folder, f"range_offset_{date}")[rows, cols]
        los = read_stack_raster(result.folder, f"los_displacement_{date}")[rows, cols]
        phase = read_stack_raster(result.folder, f"phase_{date}")[rows, cols]
        assert np.abs(t / scene.line_interval_s - rows - az).max() < 1e-3
        assert np.abs((r - scene.first_sample_m) / scene.sample_spacing_m - cols - rg).max() < 1e-3
        assert np.abs(r_still - r - los).max() < 1e-6
        sat = orbit.interpolate(t)[0]
        towards = (sat - xyz) / np.linalg.norm(sat - xyz, axis=-1, keepdims=True)
        assert np.abs(np.sum(u * towards, axis=-1) - los).max() < 1e-5
        assert np.abs(4 * np.pi / scene.wavelength_m * (r - r_ref) - phase).max() < 2e-3
    # inflation lifts the ground towards the satellite over the Mogi source
    last = result.dates[-1]
    assert read_stack_raster(result.folder, f"los_displacement_{last}").max() > 0.005
    years = np.array([d["day"] for d in truth["dates"]]) / 365.25
    stackd = np.stack([read_stack_raster(result.folder, f"los_displacement_{d}")
                       for d in result.dates])
    slope = np.polyfit(years, stackd.reshape(len(years), -1), 1)[0]
    np.testing.assert_allclose(read_stack_raster(result.folder, "velocity").ravel(), slope,
                               atol=1e-9)


@pytest.mark.parametrize("pair", [(0, 1), (1, 3), (0, 4)])
def test_interferograms_follow_the_truth_phase_and_the_decorrelation_model(stack, pair):
    """Both dates resampled onto the reference grid: phase = truth, coherence = the model."""
    result, cfg = stack
    a, b = (result.dates[i] for i in pair)
    border = 24
    inner = (slice(border, 192 - border), slice(border, 160 - border))
    rows, cols = np.mgrid[inner]
    z = {}
    for d in (a, b):
        img = read_slc(result.scenes[d])
        az = read_stack_raster(result.folder, f"azimuth_offset_{d}")[inner]
        rg = read_stack_raster(result.folder, f"range_offset_{d}")[inner]
        z[d] = kaiser_sinc_resample(img, rows + az, cols + rg)
    dphi = (read_stack_raster(result.folder, f"phase_{b}")
            - read_stack_raster(result.folder, f"phase_{a}"))
    ifg = z[a] * np.conj(z[b]) * np.exp(-1j * dphi[inner])
    f_rows, f_cols = fringe_frequency(dphi)
    irf = ImpulseResponse(cfg.scene.bandwidth, cfg.scene.irf_support)
    spectral = irf.fringe_coherence(f_rows[inner]) * irf.fringe_coherence(f_cols[inner])
    span = abs(pair[1] - pair[0]) * cfg.interval_days
    expected = (read_stack_raster(result.folder, "coherence")[inner] * spectral
                * cfg.temporal_coherence(span))
    mask = expected >= 0.97 * expected.max()
    assert mask.sum() > 2000
    n_eff = mask.sum() * 0.85 ** 2
    gamma = float(np.mean(expected[mask]))
    sigma = math.sqrt((1 - gamma ** 2) / (2 * n_eff * gamma ** 2))
    assert abs(np.angle(ifg[mask].sum())) < 5 * sigma + 2e-3
    realised = np.abs(ifg[mask].sum()) / np.sqrt(np.sum(np.abs(z[a][mask]) ** 2)
                                                 * np.sum(np.abs(z[b][mask]) ** 2))
    assert realised == pytest.approx(gamma, abs=3 * (1 - gamma ** 2) / math.sqrt(n_eff) + 0.01)


def test_temporal_decorrelation_is_one_consistent_scatterer_field(tmp_path):
    """Zero baselines, flat, still: every pair's coherence is g (c + (1-c) e^(-dt/tau)) / (1+N/P)."""
    scene = SimulationConfig(lines=160, samples=160, seed=4, relief_m=0.0, patches=0,
                             coherence=0.9, snr_db=30.0, gcps=2, threads=2)
    cfg = StackConfig(scene, dates=5, interval_days=10, bperp_spread_m=0.0, bpar_spread_m=0.0,
                      along_track_spread_m=0.0, rate_m_per_year=0.0, seasonal_m=0.0,
                      tau_days=15.0, long_term_coherence=0.4)
    result = simulate_stack(tmp_path / "flat", cfg)
    z = [read_slc(result.scenes[d]).astype(complex) for d in result.dates]
    for i in range(5):
        for j in range(i + 1, 5):
            realised = np.abs(np.sum(z[i] * np.conj(z[j]))) / np.sqrt(
                np.sum(np.abs(z[i]) ** 2) * np.sum(np.abs(z[j]) ** 2))
            expected = 0.9 * cfg.temporal_coherence(10 * (j - i)) / (1 + 10 ** -3.0)
            assert realised == pytest.approx(expected, abs=0.015), (i, j)


def test_atmosphere_per_date_has_its_rms_a_power_law_and_is_independent(tmp_path):
    scene = SimulationConfig(lines=128, samples=128, seed=2, relief_m=0.0, patches=0, gcps=2,
                             threads=2)
    cfg = StackConfig(scene, dates=3, atmosphere_m=0.01, bperp_spread_m=0.0, bpar_spread_m=0.0,
                      along_track_spread_m=0.0, rate_m_per_year=0.0, seasonal_m=0.0)
    result = simulate_stack(tmp_path / "atm", cfg)
    screens = [read_stack_raster(result.folder, f"atmosphere_{d}").astype(float)
               for d in result.dates]
    for screen, d in zip(screens, result.dates):
        assert math.sqrt(np.mean(screen ** 2)) == pytest.approx(0.01, rel=1e-3)
        phase = read_stack_raster(result.folder, f"phase_{d}")
        # no baseline, no motion: the date's phase is its delay alone
        np.testing.assert_allclose(phase, 4 * np.pi / scene.wavelength_m * screen, atol=2e-3)
    a, b = (s - s.mean() for s in screens[:2])
    assert abs(np.sum(a * b)) / math.sqrt(np.sum(a * a) * np.sum(b * b)) < 0.6
    # radially averaged power spectrum falls as k^(-8/3) (fit over mid frequencies)
    power = np.abs(np.fft.fft2(screens[0] - screens[0].mean())) ** 2
    k = np.hypot(*np.meshgrid(np.fft.fftfreq(128), np.fft.fftfreq(128), indexing="ij"))
    bins = np.geomspace(0.02, 0.3, 10)
    idx = np.digitize(k.ravel(), bins)
    centre = [np.mean(k.ravel()[idx == i]) for i in range(1, 10)]
    level = [np.mean(power.ravel()[idx == i]) for i in range(1, 10)]
    slope = np.polyfit(np.log(centre), np.log(level), 1)[0]
    assert slope == pytest.approx(-8 / 3, abs=0.5)


def test_bad_stack_options_are_one_line_errors():
    with pytest.raises(SimulationError, match="option dates = 1"):
        StackConfig(dates=1)
    with pytest.raises(SimulationError, match="pair deformation"):
        StackConfig(SimulationConfig(mogi_volume_m3=1e5))
    with pytest.raises(SimulationError, match="option tau_days"):
        StackConfig(tau_days=0.0)


def test_cli_simulate_stack(tmp_path):
    out = tmp_path / "cli"
    done = subprocess.run([sys.executable, "-m", "peppers", "simulate", "--stack", "3", str(out),
                           "--lines", "80", "--samples", "72", "--threads", "2", "--quiet"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "3 scenes" in done.stdout
    assert len(list(out.glob("2026*.yaml"))) == 3
    bad = subprocess.run([sys.executable, "-m", "peppers", "simulate", "--stack", "3",
                          str(tmp_path / "x"), "--bperp", "10"], capture_output=True, text=True)
    assert bad.returncode != 0 and "--bperp-spread" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
