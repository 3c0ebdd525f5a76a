"""Phase to height: exact against the simulator's truth, any look side and baseline sign.

Truth: ``pep simulate`` writes, for every master pixel, the ground point it
images (``truth/height``, ``lat``, ``lon``) and the flattened phase
``4 pi (r2 - r1) / lambda`` minus the ellipsoid's (``truth/phase_flattened``),
all from its own geometry code (Kepler orbits, DEM intersection). Feeding the
truth phase to :class:`PhaseToHeight` must return the truth point.
"""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from peppers.io.raw import RawImage
from peppers.operators.height import (PhaseToHeight, height_crb, height_of_ambiguity,
                                      multilook_centres)
from peppers.operators.simulate import SimulationConfig, simulate
from peppers.ppe.region import Region
from peppers.ppe.testing import whole_image
from peppers.scene import load_scene

CASES = {"right+": dict(look_side="right", bperp_m=150.0),
         "left-": dict(look_side="left", bperp_m=-150.0, ascending=True)}


def _metadata(path) -> dict:
    return yaml.safe_load(path.read_text())


def _truth(folder, name):
    with RawImage.open(folder / "truth" / f"{name}.vrt") as image:
        return image.read(Region.full(image.spec.shape))


@pytest.fixture(scope="module", params=sorted(CASES))
def pair(request, tmp_path_factory):
    out = tmp_path_factory.mktemp("height") / "sim"
    config = SimulationConfig(lines=160, samples=120, seed=5, gcps=8, relief_m=400.0,
                              **CASES[request.param])
    result = simulate(out, config)
    return result, _metadata(out / "master.yaml"), _metadata(out / "slave.yaml")


def test_truth_phase_gives_truth_point(pair):
    result, master, slave = pair
    folder = result.folder
    op = PhaseToHeight(master=master, slave=slave, looks=(1, 1))
    assert op.looks == (1, 1)
    phase = _truth(folder, "phase_flattened").astype(np.float64)
    h, lat, lon, status = op.solve(phase, Region.full(phase.shape))
    assert np.all(status == 0)
    # the truth phase is stored as float32 (~1e-4 rad of ~100 rad): ~1 mm of height
    assert np.max(np.abs(h - _truth(folder, "height"))) < 0.01
    metres = np.radians(1.0) * 6.371e6
    assert np.max(np.abs(lat - _truth(folder, "lat"))) * metres < 0.01
    assert np.max(np.abs(lon - _truth(folder, "lon"))) * metres < 0.01


def test_exact_beyond_the_linear_approximation(pair):
    """Heights far from the reference surface: the linear model errs, the solution does not."""
    result, master, slave = pair
    m, s = load_scene(result.folder / "master.yaml"), load_scene(result.folder / "slave.yaml")
    rows, cols = np.array([20.0, 80.0, 140.0]), np.array([10.0, 60.0, 110.0])
    from peppers.geometry.zero_doppler import geo2rdr, rdr2geo

    h_true = np.array([-300.0, 4000.0, 8000.0])
    t, r1 = m.azimuth_seconds(rows), m.slant_range(cols)
    xyz, _ = rdr2geo(t, r1, m.orbit(), m.look_side, h_true)
    _, r2 = geo2rdr(xyz, s.orbit())
    ref, _ = rdr2geo(t, r1, m.orbit(), m.look_side, 0.0)
    _, r2_ref = geo2rdr(ref, s.orbit())
    phase = 4 * np.pi / m.wavelength_m * (r2 - r2_ref)
    op = PhaseToHeight(master=master, slave=slave, looks=(1, 1))
    grid = np.full((160, 120), np.nan)
    grid[rows.astype(int), cols.astype(int)] = phase
    h, *_ = op.solve(grid, Region.full(grid.shape))
    got = h[rows.astype(int), cols.astype(int)]
    assert np.max(np.abs(got - h_true)) < 1e-3 * 8 + 1e-3
    ha = height_of_ambiguity(m, s, rows, cols, 0.0)
    linear = -np.sign(result.truth["baseline"]["centre"]["bperp_m"]) * phase * ha / (2 * np.pi)
    assert np.max(np.abs(linear - h_true)) > 1.0   # the first-order model is metres off


def test_multilooked_centres_and_fill(pair):
    result, master, slave = pair
    op = PhaseToHeight(master=master, slave=slave, looks=(2, 3), fill_height_m=700.0)
    la, lr = op.looks
    assert lr == 3
    m = load_scene(result.folder / "master.yaml")
    phase = np.zeros((160 // la, 120 // lr))
    phase[3, 4] = np.nan
    h, lat, lon, status = op.solve(phase, Region.full(phase.shape))
    assert np.isnan(h[3, 4]) and status[3, 4] == 1 and np.isfinite(lat[3, 4])
    from peppers.geometry.zero_doppler import pixel_to_geo

    rows, cols = multilook_centres([3, 5], [4, 6], (la, lr))
    expect = pixel_to_geo(rows, cols, m.orbit(), first_line=0.0,
                          line_interval_s=m.line_interval_s, first_sample_m=m.first_sample_m,
                          sample_spacing_m=m.sample_spacing_m, look_side=m.look_side,
                          height=np.array([700.0, 0.0]))
    assert abs(lat[3, 4] - expect[0, 0]) < 1e-9 and abs(lon[3, 4] - expect[0, 1]) < 1e-9
    assert abs(h[5, 6]) < 1e-3 and abs(lat[5, 6] - expect[1, 0]) < 1e-9


def test_tiles_and_threads_agree(pair):
    _, master, slave = pair
    op = PhaseToHeight(master=master, slave=slave, looks=(1, 1))
    rng = np.random.default_rng(2)
    phase = rng.uniform(-20, 20, (160, 120))
    phase[rng.random(phase.shape) < 0.05] = np.nan
    ref = whole_image(op, phase=phase)
    from peppers.ppe import apply

    for tile, threads in (((32, 48), 1), ((50, 17), 2)):
        got = apply(op, phase=phase, tile_shape=tile, threads=threads)
        for port, array in zip(op.outputs, got):
            np.testing.assert_array_equal(array, ref[port])


def test_ambiguity_and_bound_match_the_truth_file(pair):
    result, *_ = pair
    m, s = load_scene(result.folder / "master.yaml"), load_scene(result.folder / "slave.yaml")
    centre = result.truth["baseline"]["centre"]
    ha = height_of_ambiguity(m, s, [79.5], [59.5], result.truth["dem"]["height_range_m"][0])
    assert ha[0] == pytest.approx(centre["height_of_ambiguity_m"], rel=0.02)
    sigma = height_crb(0.8, 20, ha)
    assert sigma[0] == pytest.approx(ha[0] * 0.119 / (2 * np.pi), rel=0.01)
