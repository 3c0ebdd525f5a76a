"""DEM refinement against the simulator's truth: exact residual, median constant.

Truth: ``pep simulate`` writes the ground height of every master pixel
(``truth/height``) and its flattened phase (``truth/phase_flattened``) from its
own geometry. A reference DEM with 5 m RMS error (truth + noise), and the
residual phase ``truth phase - DEM phase + a constant``, must give back the
truth height after the refinement.
"""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from peppers.io.raw import RawImage
from peppers.operators.dem_refinement import (absolute_from_residual, dem_phase,
                                              median_constant)
from peppers.operators.height import PhaseToHeight
from peppers.operators.simulate import SimulationConfig, simulate
from peppers.ppe.region import Region
from peppers.scene import load_scene


def _truth(folder, name):
    with RawImage.open(folder / "truth" / f"{name}.vrt") as image:
        return image.read(Region.full(image.spec.shape)).astype(np.float64)


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    out = tmp_path_factory.mktemp("demref") / "sim"
    result = simulate(out, SimulationConfig(lines=96, samples=80, seed=7, gcps=8,
                                            relief_m=400.0, bperp_m=2500.0))
    return result.folder


def test_refined_height_is_truth_from_a_5m_dem(scene):
    master = load_scene(scene / "master.yaml")
    slave = load_scene(scene / "slave.yaml")
    h_true = _truth(scene, "height")
    phase_true = _truth(scene, "phase_flattened")
    rng = np.random.default_rng(3)
    dem = h_true + rng.normal(0.0, 5.0, h_true.shape)
    dem[10:14, 20:26] = np.nan                         # a void
    rows, cols = np.arange(h_true.shape[0]), np.arange(h_true.shape[1])
    t = master.azimuth_seconds(rows)[:, None]
    r1 = master.slant_range(cols)[None, :]
    phi_dem = dem_phase(master, slave, t, r1, dem)
    assert np.isnan(phi_dem[10:14, 20:26]).all()
    offset = 2 * np.pi * 3 + 0.7                       # unknown constant of the unwrapper
    residual = phase_true - phi_dem + offset
    # Bperp 2500 m: 5 m of DEM error is about a cycle, the residual wraps many times
    assert np.nanstd(residual) > np.pi
    c = median_constant(residual)
    op = PhaseToHeight(master=yaml.safe_load((scene / "master.yaml").read_text()),
                       slave=yaml.safe_load((scene / "slave.yaml").read_text()), looks=(1, 1))
    h_exact, *_ = op.solve(absolute_from_residual(residual, offset, phi_dem),
                           Region.full(h_true.shape))
    assert np.nanmax(np.abs(h_exact - h_true)) < 0.01   # exact with the true constant
    h, *_ = op.solve(absolute_from_residual(residual, c, phi_dem), Region.full(h_true.shape))
    err = h - h_true
    assert np.isnan(h[10:14, 20:26]).all()
    assert np.isfinite(err).sum() == h_true.size - 24
    # median constant: off by the median DEM error, ~1.25 * 5 m / sqrt(N) ~ 0.07 m
    assert abs(np.nanmedian(err)) < 0.3
    assert np.sqrt(np.nanmean((err - np.nanmedian(err)) ** 2)) < 0.01
    assert np.sqrt(np.nanmean(err ** 2)) < 5.0 / 10
