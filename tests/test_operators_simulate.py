"""Tests of the scene simulator against independent truth.

The geometry checks recompute everything from the written files with the
geometry module (``geo2rdr``/``rdr2geo`` on ``Scene.orbit()`` and the DEM read
back from ``dem.tif``); the radiometric checks form the interferogram from the
written SLCs with a resampler written here (Kaiser-windowed sinc), so none of
the simulator's own code is used to judge it.
"""

from __future__ import annotations

import contextlib
import math
import warnings

import numpy as np
import pytest
import rasterio
import yaml
from rasterio.errors import NotGeoreferencedWarning

from peppers.errors import SimulationError
from peppers.geometry.dem import GridDem
from peppers.geometry.ellipsoid import llh_to_ecef
from peppers.geometry.zero_doppler import geo2rdr, rdr2geo
from peppers.operators.simulate import SimulationConfig, simulate
from peppers.operators.simulate.irf import ImpulseResponse
from peppers.operators.simulate.orbits import measure_baseline
from peppers.operators.simulate.scatterers import synthesize, thermal_noise
from peppers.operators.simulate.terrain import slope_limits
from peppers.scene import check_reference_dem, load_gcps, load_scene

SMALL = dict(lines=320, samples=256, relief_m=300.0, patches=2, gcps=16, threads=2)


@pytest.fixture(scope="module")
def right_scene(tmp_path_factory):
    cfg = SimulationConfig(seed=11, low_coherence=0.2, **SMALL)
    return simulate(tmp_path_factory.mktemp("sim") / "right", cfg)


@pytest.fixture(scope="module")
def left_scene(tmp_path_factory):
    cfg = SimulationConfig(seed=5, look_side="left", bperp_m=-120.0, bpar_m=-40.0,
                           along_track_m=-15.0, ascending=True, **SMALL)
    return simulate(tmp_path_factory.mktemp("sim") / "left", cfg)


@pytest.fixture(params=["right", "left"])
def scene(request, right_scene, left_scene):
    return right_scene if request.param == "right" else left_scene


@contextlib.contextmanager
def open_radar_raster(path):
    """rasterio dataset of a radar-grid raster (no georeferencing, on purpose)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path) as ds:
            yield ds


def read_truth(result, name: str) -> np.ndarray:
    with open_radar_raster(result.folder / result.truth["rasters"][name]["path"]) as ds:
        return ds.read(1)


def read_slc(scene) -> np.ndarray:
    with open_radar_raster(scene.image_path) as ds:
        return ds.read(1)


def dem_sampler(result) -> GridDem:
    with rasterio.open(result.folder / "dem.tif") as ds:
        return GridDem.from_gdal_geotransform(ds.read(1).astype(np.float64),
                                              ds.transform.to_gdal())


def sample_pixels(shape, n=60, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, shape[0], n), rng.integers(0, shape[1], n)


def kaiser_sinc_resample(image, rows, cols, taps=16, beta=6.0):
    """Values of a band-limited ``image`` at fractional (rows, cols) (all inside)."""
    half = taps // 2
    i0, j0 = np.floor(rows).astype(int), np.floor(cols).astype(int)
    fr, fc = rows - i0, cols - j0

    def weights(frac):
        lags = np.arange(-half + 1, half + 1)[:, None, None] - frac[None]
        w = np.sinc(lags) * np.i0(beta * np.sqrt(np.clip(1 - (lags / half) ** 2, 0, None)))
        return w / w.sum(axis=0)

    wa, wb = weights(fr), weights(fc)
    out = np.zeros(rows.shape, dtype=np.complex128)
    for a in range(taps):
        part = np.zeros(rows.shape, dtype=np.complex128)
        for b in range(taps):
            part += image[i0 + a - half + 1, j0 + b - half + 1] * wb[b]
        out += part * wa[a]
    return out


def aligned_interferogram(result, border=24):
    """master * conj(slave resampled with the truth offsets) * exp(-j truth phase), inner part."""
    master, slave = read_slc(result.master), read_slc(result.slave)
    az, rg = read_truth(result, "azimuth_offset"), read_truth(result, "range_offset")
    phase = read_truth(result, "phase_unflattened")
    inner = (slice(border, master.shape[0] - border), slice(border, master.shape[1] - border))
    rows, cols = np.mgrid[inner]
    s = kaiser_sinc_resample(slave, rows + az[inner], cols + rg[inner])
    m = master[inner].astype(np.complex128)
    return m * np.conj(s) * np.exp(-1j * phase[inner]), m, s, inner


# --------------------------------------------------------------------------- files
def test_outputs_are_contract_scenes_with_truth(scene):
    master = load_scene(scene.folder / "master.yaml")
    slave = load_scene(scene.folder / "slave.yaml")
    assert master.shape == slave.shape == (SMALL["lines"], SMALL["samples"])
    assert master.look_side == scene.truth["config"]["look_side"]
    assert len(master.orbit_utc) >= 8
    image = read_slc(master)
    assert image.dtype == np.complex64 and np.all(image != 0)
    for name, entry in scene.truth["rasters"].items():
        with open_radar_raster(scene.folder / entry["path"]) as ds:
            assert ds.shape == master.shape and ds.dtypes[0] == entry["dtype"], name
    info = check_reference_dem(scene.folder / "dem.tif")
    assert "4326" in str(info.crs)
    points = load_gcps(scene.folder / "gcps.yaml")
    assert len(points) == len(scene.truth["gcps"]["points"]) >= 12
    with open(scene.folder / "truth.yaml") as handle:
        assert yaml.safe_load(handle)["format"] == "peppers-sim-truth/1"


# ------------------------------------------------------------------------ geometry
def test_truth_geometry_agrees_with_geo2rdr(scene):
    """Offsets and phase equal geo2rdr of the truth ground point against both orbits."""
    master, slave = scene.master, scene.slave
    i, j = sample_pixels(master.shape)
    lat, lon, h = (read_truth(scene, k)[i, j].astype(np.float64) for k in ("lat", "lon", "height"))
    xyz = llh_to_ecef(lat, lon, h)
    t1, r1 = geo2rdr(xyz, master.orbit())
    np.testing.assert_allclose(t1 / master.line_interval_s, i, atol=1e-3)
    np.testing.assert_allclose((r1 - master.first_sample_m) / master.sample_spacing_m, j,
                               atol=1e-3)
    t2, r2 = geo2rdr(xyz, slave.orbit())
    np.testing.assert_allclose(t2 / slave.line_interval_s - i,
                               read_truth(scene, "azimuth_offset")[i, j], atol=1e-3)
    np.testing.assert_allclose((r2 - slave.first_sample_m) / slave.sample_spacing_m - j,
                               read_truth(scene, "range_offset")[i, j], atol=1e-3)
    phase = 4 * np.pi / master.wavelength_m * (r2 - r1)
    np.testing.assert_allclose(phase, read_truth(scene, "phase_unflattened")[i, j], atol=2e-3)


def test_truth_ground_points_lie_on_the_dem(scene):
    """rdr2geo of the master pixel on dem.tif gives the truth point; heights equal the DEM."""
    master = scene.master
    dem = dem_sampler(scene)
    i, j = sample_pixels(master.shape, n=40, seed=1)
    xyz, llh = rdr2geo(master.azimuth_seconds(i), master.slant_range(j), master.orbit(),
                       master.look_side, dem, dem_max_iter=400)
    truth = llh_to_ecef(*(read_truth(scene, k)[i, j].astype(np.float64)
                          for k in ("lat", "lon", "height")))
    assert np.max(np.linalg.norm(xyz - truth, axis=-1)) < 2e-3
    h = read_truth(scene, "height")
    lat, lon = read_truth(scene, "lat"), read_truth(scene, "lon")
    np.testing.assert_allclose(dem(lat[::7, ::7], lon[::7, ::7]), h[::7, ::7], atol=2e-3)


def test_flattened_phase_removes_the_ellipsoid_phase(scene):
    master, slave = scene.master, scene.slave
    i, j = sample_pixels(master.shape, n=40, seed=2)
    t, r = master.azimuth_seconds(i), master.slant_range(j)
    xyz0, _ = rdr2geo(t, r, master.orbit(), master.look_side, 0.0)
    _, r2 = geo2rdr(xyz0, slave.orbit())
    flat = 4 * np.pi / master.wavelength_m * (r2 - r)
    removed = read_truth(scene, "phase_unflattened")[i, j] - read_truth(scene, "phase_flattened")[i, j]
    np.testing.assert_allclose(removed, flat, atol=2e-3)


def test_baseline_and_phase_sign(scene):
    """The measured centre baseline is the asked one, and dphi/dh has the documented sign."""
    cfg = scene.truth["config"]
    centre = scene.truth["baseline"]["centre"]
    assert centre["bperp_m"] == pytest.approx(cfg["bperp_m"], abs=0.05)
    assert centre["bpar_m"] == pytest.approx(cfg["bpar_m"], abs=0.05)
    assert centre["along_track_m"] == pytest.approx(cfg["along_track_m"], rel=0.02)
    assert np.sign(centre["dphi_dh_rad_per_m"]) == -np.sign(cfg["bperp_m"])
    h = read_truth(scene, "height").astype(np.float64)
    phase = read_truth(scene, "phase_flattened").astype(np.float64)
    slope = np.polyfit(h.ravel(), phase.ravel(), 1)[0]
    assert slope == pytest.approx(centre["dphi_dh_rad_per_m"], rel=0.05)


def test_gcps_lie_on_coherent_ground_at_dem_heights(right_scene):
    points = right_scene.truth["gcps"]["points"]
    coherence = read_truth(right_scene, "coherence")
    cfg = right_scene.truth["config"]
    dem = dem_sampler(right_scene)
    for p in points:
        assert coherence[p["row"], p["col"]] >= 0.85 * cfg["coherence"]
        assert float(dem(p["lat"], p["lon"])) == pytest.approx(p["height_m"], abs=2e-3)


# ---------------------------------------------------------------------- radiometry
def test_interferogram_phase_matches_truth_on_coherent_ground(right_scene):
    """arg(master * conj(slave)) averaged over the coherent background equals the truth."""
    ifg, m, s, inner = aligned_interferogram(right_scene)
    coherence = read_truth(right_scene, "coherence_unfiltered")[inner]
    mask = coherence >= 0.97 * coherence.max()
    n_eff = mask.sum() * 0.85 ** 2
    gamma = float(np.mean(coherence[mask]))
    sigma = math.sqrt((1 - gamma ** 2) / (2 * n_eff * gamma ** 2))
    assert abs(np.angle(ifg[mask].sum())) < 5 * sigma + 2e-3
    # local 8x8 averages follow the truth too (no leftover fringes)
    blocks = ifg[: ifg.shape[0] // 8 * 8, : ifg.shape[1] // 8 * 8]
    blocks = blocks.reshape(blocks.shape[0] // 8, 8, -1, 8).sum(axis=(1, 3))
    good = mask[: ifg.shape[0] // 8 * 8, : ifg.shape[1] // 8 * 8].reshape(
        blocks.shape[0], 8, -1, 8).all(axis=(1, 3))
    assert np.median(np.abs(np.angle(blocks[good]))) < 0.15


def test_realised_coherence_matches_truth(right_scene):
    """Aligned slave: sample coherence over homogeneous areas equals the truth map's."""
    ifg, m, s, inner = aligned_interferogram(right_scene)
    truth = read_truth(right_scene, "coherence_unfiltered")[inner]
    for mask in (truth >= 0.97 * truth.max(),
                 truth <= 1.03 * truth.min()):
        assert mask.sum() > 500
        realised = np.abs(ifg[mask].sum()) / np.sqrt(np.sum(np.abs(m[mask]) ** 2)
                                                     * np.sum(np.abs(s[mask]) ** 2))
        n_eff = mask.sum() * 0.85 ** 2
        expected = float(np.mean(truth[mask]))
        # 3 sigma of the large-N estimator plus 0.01 for the test's 16-tap resampler
        assert realised == pytest.approx(expected, abs=3 * (1 - expected ** 2)
                                         / math.sqrt(n_eff) + 0.01)


def test_zero_baseline_flat_scene_realises_the_chosen_coherence(tmp_path):
    """No baseline, no relief: the slave needs no resampling; coherence = chosen x SNR term."""
    cfg = SimulationConfig(lines=256, samples=256, seed=3, bperp_m=0.0, bpar_m=0.0,
                           along_track_m=0.0, relief_m=0.0, patches=0, coherence=0.6,
                           snr_db=30.0, gcps=4, threads=2)
    result = simulate(tmp_path / "flat", cfg)
    assert np.abs(read_truth(result, "azimuth_offset")).max() < 1e-3
    assert np.abs(read_truth(result, "range_offset")).max() < 1e-3
    m, s = read_slc(result.master).astype(complex), read_slc(result.slave).astype(complex)
    realised = np.abs(np.sum(m * np.conj(s))) / np.sqrt(np.sum(np.abs(m) ** 2)
                                                        * np.sum(np.abs(s) ** 2))
    expected = 0.6 / (1 + 10 ** (-3.0))
    assert np.mean(read_truth(result, "coherence")) == pytest.approx(expected, abs=2e-3)
    assert realised == pytest.approx(expected, abs=0.012)


def test_synthesis_kernel_gives_spectral_shift_decorrelation():
    """A phase ramp across the response lowers coherence by |FT h^2(f)|, phase unbiased."""
    irf = ImpulseResponse(0.85, 12)
    shape, margin = (192, 192), (10, 10)
    ext = (shape[0] + 20, shape[1] + 20)
    f = 0.2  # cycles per pixel in range
    phase = np.broadcast_to(2 * np.pi * f * np.arange(ext[1]), ext).copy()
    zeros = np.zeros(ext)
    m, s = synthesize(shape, margin, beta=np.ones(ext, np.float32),
                      gamma=np.full(ext, 0.9, np.float32), row_offset=zeros + 0.25,
                      col_offset=zeros - 1.5, phase=phase, irf_azimuth=irf, irf_range=irf,
                      per_axis=2, jitter=1.0, seed=4, threads=2)
    assert np.mean(np.abs(m) ** 2) == pytest.approx(1.0, rel=0.05)
    # align the slave exactly (constant offsets): Fourier shift
    fy, fx = np.fft.fftfreq(shape[0])[:, None], np.fft.fftfreq(shape[1])[None, :]
    aligned = np.fft.ifft2(np.fft.fft2(s) * np.exp(2j * np.pi * (0.25 * fy - 1.5 * fx)))
    inner = (slice(16, -16), slice(16, -16))
    ifg = (m * np.conj(aligned) * np.exp(-1j * phase[10:-10, 10:-10]))[inner]
    gamma = np.abs(ifg.sum()) / np.sqrt(np.sum(np.abs(m[inner]) ** 2)
                                        * np.sum(np.abs(aligned[inner]) ** 2))
    assert gamma == pytest.approx(0.9 * float(irf.fringe_coherence(f)), abs=0.015)
    assert 0.9 * float(irf.fringe_coherence(f)) < 0.9 * 0.85  # a real loss at this slope
    assert abs(np.angle(ifg.sum())) < 0.02


def test_thermal_noise_power_and_band():
    irf = ImpulseResponse(0.85, 12)
    noise = thermal_noise((256, 256), 3.0, irf, irf, np.random.default_rng(0))
    assert np.mean(np.abs(noise) ** 2) == pytest.approx(3.0, rel=0.03)
    spectrum = np.mean(np.abs(np.fft.fft(noise, axis=1)) ** 2, axis=0)
    freq = np.abs(np.fft.fftfreq(256))
    passband = spectrum[freq < 0.3]
    assert passband.std() < 0.1 * passband.mean()             # flat inside the band
    assert spectrum[freq > 0.47].mean() < 0.05 * passband.mean()  # ~15 dB down at Nyquist


# ------------------------------------------------------------------ determinism etc.
def test_same_seed_same_bytes_any_thread_count(tmp_path):
    base = dict(lines=96, samples=80, relief_m=100.0, patches=1, gcps=4)
    one = simulate(tmp_path / "a", SimulationConfig(seed=9, threads=1, **base))
    two = simulate(tmp_path / "b", SimulationConfig(seed=9, threads=2, **base))
    other = simulate(tmp_path / "c", SimulationConfig(seed=10, threads=2, **base))
    for name in ("master.slc", "slave.slc", "truth/phase_unflattened.raw",
                 "truth/coherence.raw", "gcps.yaml"):
        assert (one.folder / name).read_bytes() == (two.folder / name).read_bytes(), name
    assert (one.folder / "master.slc").read_bytes() != (other.folder / "master.slc").read_bytes()


def test_slope_limits_of_a_plane():
    """A plane rising 0.3 m/m eastwards: facing slope 0.3 seen from the west, 0 away."""
    step = 1.0 / 3600.0
    lat = 36.5
    dx = step * 111_320.0 * math.cos(math.radians(lat))
    east = np.arange(50) * dx
    heights = np.tile(0.3 * east, (40, 1))
    facing, away = slope_limits(heights, -step, step, lat, away_east=1.0, away_north=0.0)
    assert facing == pytest.approx(0.3, rel=1e-9) and away == 0.0
    facing, away = slope_limits(heights, -step, step, lat, away_east=-1.0, away_north=0.0)
    assert away == pytest.approx(0.3, rel=1e-9) and facing == 0.0


def test_relief_is_reduced_to_avoid_layover(right_scene):
    dem = right_scene.truth["dem"]
    assert dem["relief_m"] <= dem["relief_requested_m"]
    assert dem["height_range_m"][1] - dem["height_range_m"][0] == pytest.approx(
        dem["relief_m"], rel=1e-3)


def test_measure_baseline_of_the_written_orbits(left_scene):
    """Independent of the fixture's bookkeeping: measure from the files at a corner."""
    master, slave = left_scene.master, left_scene.slave
    lat, lon, h = (read_truth(left_scene, k)[0, 0].astype(np.float64) for k in ("lat", "lon", "height"))
    b = measure_baseline(llh_to_ecef(lat, lon, h)[None, :], master.orbit(), slave.orbit(),
                         look_side="left", wavelength_m=master.wavelength_m)
    assert b["bperp_m"][0] == pytest.approx(-120.0, abs=1.0)
    assert b["height_of_ambiguity_m"][0] == pytest.approx(
        2 * np.pi / abs(left_scene.truth["baseline"]["centre"]["dphi_dh_rad_per_m"]), rel=0.02)


def test_bad_options_are_refused_by_name(tmp_path):
    with pytest.raises(SimulationError, match="coherence"):
        SimulationConfig(coherence=1.5)
    with pytest.raises(SimulationError, match="look_side"):
        SimulationConfig(look_side="up")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(SimulationError, match="not empty"):
        simulate(tmp_path / "full", SimulationConfig(lines=64, samples=64))


def test_cli_writes_the_pair(tmp_path, capsys):
    from peppers.cli.main import main

    out = tmp_path / "pair"
    assert main(["simulate", str(out), "--lines", "96", "--samples", "80", "--seed", "2",
                 "--bperp", "-90", "--look-side", "left", "--quiet"]) == 0
    assert (out / "master.yaml").is_file() and (out / "slave.yaml").is_file()
    assert "height of ambiguity" in capsys.readouterr().out
    assert main(["simulate", str(out), "--lines", "96", "--samples", "80"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not empty" in err[0]


def test_scatterers_between_pixels_follow_the_exact_geometry(right_scene):
    """Scatterers take offsets and phase by bilinear interpolation of the per-pixel
    geometry; at random sub-pixel places that agrees with exact rdr2geo + geo2rdr."""
    from scipy.ndimage import map_coordinates

    master, slave = right_scene.master, right_scene.slave
    rng = np.random.default_rng(7)
    rows = rng.uniform(2, master.lines - 3, 300)
    cols = rng.uniform(2, master.samples - 3, 300)
    t, r1 = master.azimuth_seconds(rows), master.slant_range(cols)
    xyz, _ = rdr2geo(t, r1, master.orbit(), master.look_side, dem_sampler(right_scene),
                     dem_max_iter=400)
    t2, r2 = geo2rdr(xyz, slave.orbit())
    exact = {"phase_unflattened": 4 * np.pi / master.wavelength_m * (r2 - r1),
             "azimuth_offset": t2 / slave.line_interval_s - rows,
             "range_offset": (r2 - slave.first_sample_m) / slave.sample_spacing_m - cols}
    for name, value in exact.items():
        field = read_truth(right_scene, name).astype(np.float64)
        interpolated = map_coordinates(field, [rows, cols], order=1)
        error = np.abs(interpolated - value)
        if name == "phase_unflattened":
            # measured 0.018 max, 0.0026 RMS: the bilinear DEM's kinks between pixel centres
            assert error.max() < 0.05 and np.sqrt(np.mean(error ** 2)) < 0.01
        else:
            assert error.max() < 1e-3, name


def test_flat_earth_phase_spline_equals_exact(right_scene):
    """The coarse-grid bicubic flat-Earth phase equals the every-pixel computation."""
    from peppers.operators.simulate.radar_grid import GridSpec, ellipsoid_phase

    master, slave = right_scene.master, right_scene.slave
    grid = GridSpec(master.lines, master.samples, 0.0, master.line_interval_s,
                    master.first_sample_m, master.sample_spacing_m)
    kw = dict(look_side=master.look_side, wavelength_m=master.wavelength_m, along_lag_s=0.0,
              threads=2)
    exact = ellipsoid_phase(grid, master.orbit(), grid, slave.orbit(), step=1, **kw)
    coarse = ellipsoid_phase(grid, master.orbit(), grid, slave.orbit(), step=8, **kw)
    assert np.abs(coarse - exact).max() < 1e-5


def test_truth_readers(right_scene):
    from peppers.operators.simulate.truth import load_truth, read_truth_raster

    assert load_truth(right_scene.folder)["rasters"].keys() == right_scene.truth["rasters"].keys()
    np.testing.assert_array_equal(read_truth_raster(right_scene.folder, "height"),
                                  read_truth(right_scene, "height"))
    with pytest.raises(SimulationError, match="unknown raster"):
        read_truth_raster(right_scene.folder, "nope")
    with pytest.raises(SimulationError, match="truth.yaml"):
        load_truth(right_scene.folder / "truth")
