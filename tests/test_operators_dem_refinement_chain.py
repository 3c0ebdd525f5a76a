"""DEM refinement in the chain: the refined phase, void filling, constants and gates.

Truth: a small simulated Bperp-2500 m pair (height of ambiguity ~5 m). Its
flattened truth phase plays the interferogram; a reference DEM is the truth
height plus a smooth error of 5 m RMS (two height-of-ambiguity cycles peak to
peak) with a void. The differential phase ``truth - DEM phase`` shifted by
whole cycles plays the unwrapped differential phase. :class:`DemRefinedPhase`
must give back the truth phase (plus those cycles) on the DEM *and* in the
void (filled from the interferogram), and :class:`RefinementEstimate` must
find the cycles from the GCPs or from the DEM's median, and refuse the
absolute tag when the gates fail.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml

from peppers.io.raw import RawImage
from peppers.io.source import ArraySource
from peppers.operators.dem_refinement import (SOURCE_CODES, DemRefinedPhase,
                                              RefinementEstimate, dem_phase, fill_voids)
from peppers.operators.export import height_tags
from peppers.operators.height import height_of_ambiguity
from peppers.operators.simulate import SimulationConfig, simulate
from peppers.ppe.region import Region
from peppers.scene import load_scene

TWO_PI = 2 * math.pi
CYCLES = 3
VOID = (slice(30, 38), slice(40, 49))


def _truth(folder, name):
    with RawImage.open(folder / "truth" / f"{name}.vrt") as image:
        return image.read(Region.full(image.spec.shape)).astype(np.float64)


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    out = tmp_path_factory.mktemp("demrefchain") / "sim"
    result = simulate(out, SimulationConfig(lines=96, samples=80, seed=7, gcps=12,
                                            relief_m=400.0, bperp_m=2500.0))
    master, slave = load_scene(out / "master.yaml"), load_scene(out / "slave.yaml")
    height, phase = _truth(out, "height"), _truth(out, "phase_flattened")
    r, c = np.mgrid[0:height.shape[0], 0:height.shape[1]]
    error = 10.0 * np.sin(TWO_PI * r / 48 + 0.3) * np.cos(TWO_PI * c / 60 + 0.2)
    dem = height + error
    dem[VOID] = np.nan
    t = master.azimuth_seconds(np.arange(height.shape[0]))[:, None]
    r1 = master.slant_range(np.arange(height.shape[1]))[None, :]
    residual = phase - dem_phase(master, slave, t, r1, dem) + TWO_PI * CYCLES
    meta = {"master": yaml.safe_load((out / "master.yaml").read_text()),
            "slave": yaml.safe_load((out / "slave.yaml").read_text())}
    gcps = [{k: p[k] for k in ("lat", "lon", "height_m")} for p in result.truth["gcps"]["points"]]
    ha = float(height_of_ambiguity(master, slave, [48.0], [40.0], [float(np.mean(height))])[0])
    return dict(master=master, slave=slave, phase=phase, height=height, dem=dem, error=error,
                residual=residual, meta=meta, gcps=gcps, ambiguity=ha, t=t, r1=r1)


def _refine(scene, residual=None, dem=None, coherence=1.0, check_window=0):
    # the DEM error here is put on the radar grid, not on the ground, so the
    # DEM-error check's model (smooth on the ground) does not hold: off, except
    # in test_dem_error_check_leaves_a_rough_error_alone
    op = DemRefinedPhase(looks=(1, 1), check_window=check_window, **scene["meta"])
    assert op.looks == (1, 1)
    res = scene["residual"] if residual is None else residual
    comps = np.where(np.isfinite(res), 1, 0)
    dem = scene["dem"] if dem is None else dem
    fringe = [g / TWO_PI for g in np.gradient(scene["phase"])]   # cycles per pixel
    return op.refine(res, comps, dem, np.exp(1j * scene["phase"]),
                     np.full(res.shape, coherence), fringe)


def test_refined_phase_is_the_truth_on_the_dem_and_in_the_void(scene):
    assert scene["ambiguity"] == pytest.approx(5.1, abs=0.3)
    # the residual wraps: 2 cycles peak to peak, more than pi per 12 pixels
    assert np.nanmax(scene["residual"]) - np.nanmin(scene["residual"]) > 2 * TWO_PI
    phase, comps, source = _refine(scene)
    err = phase - scene["phase"] - TWO_PI * CYCLES
    assert (source[VOID] == SOURCE_CODES["void_filled"]).all()
    assert (source[np.isfinite(scene["dem"])] == SOURCE_CODES["refined"]).all()
    assert (comps == 1).all()
    dem_pixels = np.isfinite(scene["dem"])
    assert np.max(np.abs(err[dem_pixels])) < 0.01      # exact algebra (float32 out)
    # the void: the interferogram's phase, unwrapped from the rim (no cycle slip)
    assert np.max(np.abs(err[VOID])) < 0.01


def test_dem_error_check_leaves_a_rough_error_alone(scene):
    # 10 m error, +-2 ambiguities over 24 single-look pixels and amplified by
    # the slopes: the check's model is not sharp there, so it moves no cycle
    phase, comps, source = _refine(scene, check_window=9)
    err = phase - scene["phase"] - TWO_PI * CYCLES
    assert np.nanmax(np.abs(err)) < math.pi
    assert np.count_nonzero(source == SOURCE_CODES["dem_model"]) < 0.03 * source.size


def test_void_not_filled_when_its_rim_does_not_refill(scene):
    # 0.6 cycle per pixel along range on top of the truth and no fringe
    # frequency to follow: the void's fill aliases; cross-validated on the
    # void's rim it comes back cycles off, so the void keeps no height
    ramp = 0.6 * TWO_PI * np.arange(scene["phase"].shape[1])[None, :]
    res = scene["residual"] + ramp
    ifg = np.exp(1j * (scene["phase"] + ramp))
    comps = np.where(np.isfinite(res), 1, 0)
    op = DemRefinedPhase(looks=(1, 1), check_window=0, **scene["meta"])
    phase, _, source = op.refine(res, comps, scene["dem"], ifg, np.ones(res.shape), None)
    assert (source[VOID] == SOURCE_CODES["none"]).all() and np.isnan(phase[VOID]).all()
    always = DemRefinedPhase(looks=(1, 1), check_window=0, void_max_wrong=1.0, **scene["meta"])
    phase, _, source = always.refine(res, comps, scene["dem"], ifg, np.ones(res.shape), None)
    assert (source[VOID] == SOURCE_CODES["void_filled"]).all()
    err = phase - scene["phase"] - ramp - TWO_PI * CYCLES
    assert np.max(np.abs(err[VOID])) > math.pi           # the fill it refused: cycles off


def test_no_coherence_no_fill(scene):
    phase, comps, source = _refine(scene, coherence=0.1)
    assert np.isnan(phase[VOID]).all() and (comps[VOID] == 0).all()
    assert (source[VOID] == SOURCE_CODES["none"]).all()
    assert np.isfinite(phase[np.isfinite(scene["dem"])]).all()


def test_fill_follows_the_fringe_frequency():
    c = np.mgrid[0:20, 0:30][1].astype(float)
    truth = 4.0 * c                              # 4 rad per pixel along range: aliased
    void = np.zeros(truth.shape, bool)
    void[:, 8:20] = True                         # rims left and right only
    known = np.where(void, np.nan, truth)
    wrapped = np.angle(np.exp(1j * truth))
    gradient = (np.zeros(truth.shape), np.full(truth.shape, 4.0))
    out, comp = fill_voids(known, (~void).astype(int), wrapped, void, void, gradient)
    np.testing.assert_allclose(out, truth, atol=1e-9)
    assert (comp == 1).all()
    blind, _ = fill_voids(known, (~void).astype(int), wrapped, void, void)
    assert np.max(np.abs(blind[void] - truth[void])) > 3.0   # without it: cycle slips


def _estimate(scene, phase, comps, residual, gcps=True):
    inputs = dict(scene["meta"])
    if gcps:
        inputs["gcps"] = {"points": scene["gcps"]}
    op = RefinementEstimate(looks=(1, 1), run_inputs=inputs)
    return op.reduce({"unwrapped": ArraySource(phase.astype(np.float32)),
                      "components": ArraySource(comps.astype(np.int32)),
                      "differential": ArraySource(residual.astype(np.float32)),
                      "dem_height": ArraySource(scene["dem"].astype(np.float32))})


@pytest.mark.parametrize("gcps", [True, False])
def test_constants_from_gcps_or_the_dem_median(scene, gcps):
    phase, comps, _ = _refine(scene)
    result = _estimate(scene, phase, comps, scene["residual"], gcps=gcps)
    assert result["method"] == "dem_refinement" and result["relative"] is False
    assert result["constants_from"] == ("gcps" if gcps else "dem_median")
    assert result["offsets_rad"] == [pytest.approx(-TWO_PI * CYCLES)]
    assert height_tags(result["method"])["HEIGHTS"] == "refined"
    assert result["fill_height_m"] == pytest.approx(np.nanmedian(scene["dem"]), abs=0.01)
    if gcps:
        assert result["gcps"]["used"] >= 8 and result["gcps"]["rms_rad"] < 0.05
        assert abs(result["quality"]["table"][0]["dem_median_rad"]) < 1.0
        row = result["quality"]["table"][0]      # pep report's DEM column reads both
        assert 0 < row["dem_disagree"] < row["dem_points"] == np.isfinite(scene["dem"]).sum()


def test_biased_dem_is_refused(scene):
    """A DEM biased by half an ambiguity: its median cannot pick the cycle (refused);
    by a whole ambiguity: the GCPs pick it, but the DEM check flags the disagreement."""
    for bias, gcps, reason in ((0.5, False, "from whole cycles"),
                               (1.0, True, "median residual against the reference DEM")):
        dem = scene["dem"] + bias * scene["ambiguity"]
        residual = scene["phase"] - dem_phase(scene["master"], scene["slave"], scene["t"],
                                              scene["r1"], dem) + TWO_PI * CYCLES
        phase, comps, _ = _refine(scene, residual=residual, dem=dem)
        result = _estimate(scene, phase, comps, residual, gcps=gcps)
        assert result["method"] == "relative" and result["relative"] is True
        assert reason in result["refused"]
        assert height_tags(result["method"])["HEIGHTS"] == "relative"
