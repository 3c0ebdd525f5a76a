"""The differential interferogram (topographic phase removal in stream 1) against truth.

A Mogi source between the passes (up to ~15 cm towards the satellite at C
band) and a reference DEM with 5 m RMS error go through ``pep init
--reference-dem`` and ``pep run make differential_interferogram`` (the real
rules: correlation coregistration, resampling, interferogram, the
``radar_geometry`` layers and the local topographic phase removal). The
differential phase must be what the truth says is left: the deformation
phase ``-4 pi d_los / lambda`` minus the phase of the DEM's height error,
``dphi/dh * e`` — its complex mean over 8 x 8 blocks on coherent ground has
a residual phase of mean ~0, far below the residual left when the
deformation is ignored (which also tests the sign).
"""

from __future__ import annotations

import numpy as np
import pytest
from support.drs import pep

from peppers.image import Region
from peppers.io.raw import RawImage
from peppers.operators.simulate.truth import load_truth, read_truth_raster


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    folder = tmp_path_factory.mktemp("differential")
    pep("simulate", "sim", "--lines", "480", "--samples", "384", "--seed", "4", "--relief", "300",
        "--mogi-volume", "4e5", "--mogi-depth", "800", "--dem-error", "5", "--dem-voids", "2",
        "--patches", "1", "--threads", "2", "--quiet", cwd=folder)
    pep("init", "run", "--master", "sim/master.yaml", "--slave", "sim/slave.yaml",
        "--reference-dem", "sim/dem_reference.tif", cwd=folder)
    pep("--run", "run", "run", "make", "differential_interferogram", "-j", "2", cwd=folder)
    return folder / "sim", folder / "run"


def block_means(values, ok, b=8):
    h, w = (values.shape[0] // b) * b, (values.shape[1] // b) * b
    s = np.where(ok, values, 0)[:h, :w].reshape(h // b, b, w // b, b).sum(axis=(1, 3))
    n = ok[:h, :w].reshape(h // b, b, w // b, b).sum(axis=(1, 3))
    return s[n >= 0.9 * b * b]


def test_differential_phase_is_deformation_minus_dem_error(made):
    sim, run = made
    with RawImage.open(run / "images" / "differential_interferogram.vrt") as img:
        diff = img.read(Region.full(img.spec.shape))
    truth = load_truth(sim)
    deformation = read_truth_raster(sim, "phase_deformation").astype(np.float64)
    dem_error = read_truth_raster(sim, "reference_dem_error").astype(np.float64)
    dphi_dh = truth["baseline"]["centre"]["dphi_dh_rad_per_m"]
    expected = deformation - dphi_dh * dem_error
    ok = np.isfinite(expected) & (np.abs(diff) > 0) & (read_truth_raster(sim, "coherence") > 0.6)
    assert ok.mean() > 0.5
    assert deformation.min() < -20.0          # >= 9 cm towards the satellite somewhere
    rotated = diff * np.exp(-1j * np.where(ok, expected, 0.0))
    blocks = block_means(rotated, ok)
    assert abs(float(np.angle(blocks.sum()))) < 0.05
    rms = float(np.sqrt(np.mean(np.angle(blocks) ** 2)))
    # ignoring the deformation, or taking it with the wrong sign, leaves its fringes
    for model in (-dphi_dh * dem_error, -deformation - dphi_dh * dem_error):
        other = block_means(diff * np.exp(-1j * np.where(ok, model, 0.0)), ok)
        other = other * np.exp(-1j * np.angle(other.sum()))
        assert float(np.sqrt(np.mean(np.angle(other) ** 2))) > 3 * rms
    assert rms < 0.5
