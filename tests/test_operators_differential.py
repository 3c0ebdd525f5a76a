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

The same run goes on to ``los_displacement`` (multilook, adaptive filter,
unwrapping, reference = median of the largest component): against the
multilooked truth ``los_displacement`` after removing one constant, on
coherent ground, no blunders (|error| > lambda/4), the sign positive
towards the satellite, and — once the phase of the reference DEM's own
error is accounted for — an RMS within 1.5 x the Cramer-Rao bound
``lambda/(4 pi) sqrt((1 - g^2) / (2 L g^2))`` with L the looks.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml
from support.drs import pep

from peppers.errors import OperatorError
from peppers.operators.displacement import choose_reference

from peppers.image import Region
from peppers.io.raw import RawImage
from peppers.operators.simulate.truth import load_truth, read_truth_raster


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    folder = tmp_path_factory.mktemp("differential")
    pep("simulate", "sim", "--lines", "640", "--samples", "480", "--seed", "4", "--relief", "300",
        "--mogi-volume", "6e5", "--mogi-depth", "900", "--dem-error", "5", "--dem-voids", "2",
        "--patches", "1", "--threads", "2", "--quiet", cwd=folder)
    pep("init", "run", "--master", "sim/master.yaml", "--slave", "sim/slave.yaml",
        "--reference-dem", "sim/dem_reference.tif", cwd=folder)
    pep("--run", "run", "run", "make", "differential_interferogram", "los_displacement", "-j", "2",
        cwd=folder)
    return folder / "sim", folder / "run"


def block_means(values, ok, b=8):
    h, w = (values.shape[0] // b) * b, (values.shape[1] // b) * b
    s = np.where(ok, values, 0)[:h, :w].reshape(h // b, b, w // b, b).sum(axis=(1, 3))
    n = ok[:h, :w].reshape(h // b, b, w // b, b).sum(axis=(1, 3))
    return s[n >= 0.9 * b * b]


def test_differential_phase_is_deformation_minus_dem_error(made):
    sim, run = made
    with RawImage.open(run / "images" / "differential_interferogram.raw.vrt") as img:
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


def multilooked(values, shape):
    la, lr = values.shape[0] // shape[0], values.shape[1] // shape[1]
    h, w = shape
    return values[:h * la, :w * lr].reshape(h, la, w, lr).mean(axis=(1, 3)), la * lr


def test_los_displacement_within_the_bound_and_positive_towards_the_satellite(made):
    sim, run = made
    with RawImage.open(run / "images" / "los_displacement.raw.vrt") as img:
        disp = img.read(Region.full(img.spec.shape)).astype(np.float64)
    truth = load_truth(sim)
    lam = truth["config"]["wavelength_m"]
    los, looks = multilooked(read_truth_raster(sim, "los_displacement"), disp.shape)
    coherence, _ = multilooked(read_truth_raster(sim, "coherence"), disp.shape)
    dem_error, _ = multilooked(read_truth_raster(sim, "reference_dem_error").astype(float),
                               disp.shape)
    dphi_dh = truth["baseline"]["centre"]["dphi_dh_rad_per_m"]
    ok = np.isfinite(disp) & np.isfinite(dem_error) & (coherence > 0.7)
    assert ok.mean() > 0.7 and np.nanmax(los) > 0.08
    error = disp - los
    error -= np.median(error[ok])
    assert np.count_nonzero(np.abs(error[ok]) > lam / 4) == 0          # no blunders
    assert np.corrcoef(disp[ok], los[ok])[0, 1] > 0.99                  # the sign
    g = coherence[ok]
    crb = lam / (4 * math.pi) * math.sqrt(np.mean((1 - g ** 2) / (2 * looks * g ** 2)))
    # the reference DEM's 5 m error is imaged as lambda/(4 pi) dphi/dh e of "displacement"
    dem_part = lam / (4 * math.pi) * dphi_dh * dem_error
    left = error - dem_part
    left -= np.median(left[ok])
    assert float(np.sqrt(np.mean(left[ok] ** 2))) <= 1.5 * crb
    bound = math.sqrt(crb ** 2 + float(np.mean((dem_part[ok] - dem_part[ok].mean()) ** 2)))
    assert float(np.sqrt(np.mean(error[ok] ** 2))) <= 1.5 * bound
    reference = yaml_value(run, "insar.displacement.result")
    assert reference["method"] == "median" and reference["component"] >= 1


def yaml_value(run, key):
    return yaml.safe_load(pep("--run", str(run), "get", key, cwd=run.parent))


def test_reference_choices():
    phase = np.arange(20.0).reshape(4, 5)
    comps = np.ones((4, 5), dtype=int)
    comps[0, 0] = 0
    ref = choose_reference(phase, comps, "pixel", pixel=[2, 3])
    assert ref["phase_rad"] == pytest.approx(13.0) and ref["component"] == 1
    assert choose_reference(phase, comps, "median")["phase_rad"] == pytest.approx(10.0)
    with pytest.raises(OperatorError, match="outside"):
        choose_reference(phase, comps, "pixel", pixel=[9, 9])
    with pytest.raises(OperatorError, match="must be one of"):
        choose_reference(phase, comps, "mode")
