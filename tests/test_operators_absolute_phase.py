"""Absolute phase: the 2 pi k of each component from GCPs, the DEM, or said to be relative.

Truth: a small simulated pair (``pep simulate``); its flattened truth phase,
shifted by known whole cycles per component and made noisy, plays the
unwrapped phase; its GCPs (with blunders added) and DEM are the references.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from peppers.errors import OperatorError
from peppers.io.raw import RawImage
from peppers.io.source import ArraySource
from peppers.operators._arrays import apply_local
from peppers.operators.absolute_phase import AbsolutePhase, AbsolutePhaseEstimate, robust_mean
from peppers.operators.simulate import SimulationConfig, simulate
from peppers.ppe.region import Region

TWO_PI = 2 * math.pi
CYCLES = {1: 3, 2: -2}


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    out = tmp_path_factory.mktemp("absphase") / "sim"
    result = simulate(out, SimulationConfig(lines=200, samples=160, seed=11, gcps=16))
    with RawImage.open(out / "truth" / "phase_flattened.vrt") as image:
        truth = image.read(Region.full(image.spec.shape)).astype(np.float64)
    comps = np.ones(truth.shape, dtype=np.int32)
    comps[:, truth.shape[1] // 2:] = 2
    rng = np.random.default_rng(4)
    unwrapped = truth - TWO_PI * np.vectorize(CYCLES.get)(comps) \
        + rng.normal(0, 0.2, truth.shape)
    inputs = {"master": yaml.safe_load((out / "master.yaml").read_text()),
              "slave": yaml.safe_load((out / "slave.yaml").read_text())}
    points = [{k: p[k] for k in ("lat", "lon", "height_m")} for p in result.truth["gcps"]["points"]]
    return dict(folder=out, truth=truth, comps=comps, unwrapped=unwrapped, inputs=inputs,
                gcps=points, gcp_cols=[p["col"] for p in result.truth["gcps"]["points"]],
                gcp_rowcol=[(p["row"], p["col"]) for p in result.truth["gcps"]["points"]])


def _estimate(scene, unwrapped=None, **params):
    op = AbsolutePhaseEstimate(looks=(1, 1), **params)
    assert op.looks == (1, 1)
    unw = scene["unwrapped"] if unwrapped is None else unwrapped
    return op.reduce({"unwrapped": ArraySource(unw.astype(np.float32)),
                      "components": ArraySource(scene["comps"])})


def _offsets(result):
    return dict(zip(result["component_ids"], result["offsets_rad"]))


def test_gcps_fix_whole_cycles_and_reject_blunders(scene):
    half = scene["truth"].shape[1] // 2
    # 40 m is 3 rad of phase, and moves the point ~15 pixels in range (layover)
    clear = [p for p, c in zip(scene["gcps"], scene["gcp_cols"])
             if abs(c - half) > 30 and 30 < c < 2 * half - 30]
    blunders = [dict(clear[0], height_m=clear[0]["height_m"] + 40.0),
                dict(clear[1], height_m=clear[1]["height_m"] - 35.0)]
    inputs = dict(scene["inputs"], gcps={"points": scene["gcps"] + blunders})
    result = _estimate(scene, run_inputs=inputs)
    assert result["method"] == "gcps" and result["relative"] is False
    assert _offsets(result) == {c: TWO_PI * k for c, k in CYCLES.items()}
    assert result["gcps"]["rejected"] >= 2
    assert result["gcps"]["rms_rad"] < 0.6
    assert result["misclosure_rad"] < 0.5


def test_dem_when_no_gcps(scene):
    inputs = dict(scene["inputs"], reference_dem={"path": str(scene["folder"] / "dem.tif")})
    result = _estimate(scene, run_inputs=inputs, dem_points=50)
    assert result["method"] == "dem"
    assert _offsets(result) == {c: TWO_PI * k for c, k in CYCLES.items()}


def test_unreached_component_is_dropped(scene):
    cols = np.array(scene["gcp_cols"])
    left = [p for p, c in zip(scene["gcps"], cols) if c < scene["truth"].shape[1] // 2 - 2]
    inputs = dict(scene["inputs"], gcps={"points": left})
    result = _estimate(scene, run_inputs=inputs)
    assert result["component_ids"] == [1] and result["dropped_components"] == [2]
    out = apply_local(AbsolutePhase(absolute=result),
                      {"unwrapped": scene["unwrapped"].astype(np.float32),
                       "components": scene["comps"]})["output"]
    left_half = scene["comps"] == 1
    assert np.all(np.isnan(out[~left_half]))
    err = out[left_half] - scene["truth"][left_half]
    assert abs(err.mean()) < 0.02 and err.std() < 0.25


def test_relative_when_nothing_references(scene, caplog):
    result = _estimate(scene, run_inputs=scene["inputs"])
    assert result["relative"] is True and result["method"] == "relative"
    assert _offsets(result) == {1: 0.0, 2: 0.0}
    assert "RELATIVE" in caplog.text


def test_refined_plane_removes_a_baseline_ramp(scene):
    rows, cols = np.mgrid[0:scene["truth"].shape[0], 0:scene["truth"].shape[1]]
    ramp = 4e-3 * rows - 6e-3 * cols
    inputs = dict(scene["inputs"], gcps={"points": scene["gcps"]})
    result = _estimate(scene, unwrapped=scene["unwrapped"] - ramp, run_inputs=inputs,
                       refine_baseline=True)
    a_row, a_col = result["ramp_rad_per_pixel"]
    # ~10 GCPs with 0.1 rad of noise: the slopes are known to ~6e-4 rad/pixel
    assert abs(a_row - 4e-3) < 2.5e-3 and abs(a_col + 6e-3) < 2.5e-3
    out = apply_local(AbsolutePhase(absolute=result),
                      {"unwrapped": (scene["unwrapped"] - ramp).astype(np.float32),
                       "components": scene["comps"]})["output"]
    assert np.sqrt(np.mean((out - scene["truth"]) ** 2)) < 0.35


def test_apply_refuses_a_wrong_mapping():
    with pytest.raises(OperatorError, match="insar.absolute_phase"):
        AbsolutePhase(absolute={"method": "gcps"})


@settings(max_examples=40, deadline=None)
@given(centre=st.floats(-50, 50), outliers=st.lists(st.floats(5, 100), max_size=6),
       seed=st.integers(0, 1000))
def test_robust_mean_ignores_a_minority_of_blunders(centre, outliers, seed):
    rng = np.random.default_rng(seed)
    good = centre + rng.normal(0, 0.2, 20)
    values = np.concatenate([good, centre + np.array(outliers)])
    mean, inliers = robust_mean(values)
    assert abs(mean - good.mean()) < 0.2
    assert not inliers[20:].any()


# -- quality gates (issue 15) ---------------------------------------------------------
def _wrong_baseline(inputs, metres):
    """The run inputs with the slave orbit moved ``metres`` radially (a baseline error)."""
    slave = yaml.safe_load(yaml.safe_dump(inputs["slave"]))
    for sv in slave["orbit"]["state_vectors"]:
        p = np.array(sv["position_m"])
        sv["position_m"] = (p * (1 + metres / np.linalg.norm(p))).tolist()
    return dict(inputs, slave=slave)


def test_good_references_pass_the_gates(scene):
    inputs = dict(scene["inputs"], gcps={"points": scene["gcps"]})
    result = _estimate(scene, run_inputs=inputs)
    quality = result["quality"]
    assert result["method"] == "gcps" and "refused" not in result
    assert quality["refused"] is None and quality["flagged_components"] == []
    assert quality["fraction_unwrapped"] == 1.0 and quality["fraction_referenced"] == 1.0
    assert quality["components"] == quality["components_referenced"] == 2
    assert [row["id"] for row in quality["table"]] == [1, 2]
    assert all(row["rms_rad"] < 0.6 and row["blunder_points"] == 0 for row in quality["table"])


@pytest.mark.parametrize("metres", [60.0, -20.0, 300.0])
def test_wrong_baseline_never_gives_absolute_heights(scene, metres, caplog):
    inputs = _wrong_baseline(dict(scene["inputs"], gcps={"points": scene["gcps"]}), metres)
    result = _estimate(scene, run_inputs=inputs)
    assert result["method"] == "relative" and result["relative"] is True
    message = result["refused"]
    assert "absolute heights refused" in message and "refine_baseline" in message
    assert "reference-dem" in message and "GCPs" in message
    assert result["quality"]["refused"] == message and result["quality"]["fraction_referenced"] == 0
    assert "RELATIVE" in caplog.text
    with pytest.raises(OperatorError, match="absolute heights refused"):
        _estimate(scene, run_inputs=inputs, on_failure="fail")


def test_half_cycle_misclosure_refuses_and_a_bad_small_component_is_dropped(scene):
    inputs = dict(scene["inputs"], gcps={"points": scene["gcps"]})
    # the whole phase off by half a cycle: rounding cannot pick the cycle
    result = _estimate(scene, unwrapped=scene["unwrapped"] + math.pi, run_inputs=inputs)
    assert result["method"] == "relative" and "misclosure" in result["refused"]
    # a small third component around one GCP, off by half a cycle: flagged and dropped
    row, col = (int(round(v)) for v in scene["gcp_rowcol"][0])
    box = (slice(max(0, row - 15), row + 16), slice(max(0, col - 15), col + 16))
    comps = scene["comps"].copy()
    comps[box] = 3
    unwrapped = scene["unwrapped"].copy()
    unwrapped[box] += math.pi
    op = AbsolutePhaseEstimate(looks=(1, 1), run_inputs=inputs)
    result = op.reduce({"unwrapped": ArraySource(unwrapped.astype(np.float32)),
                        "components": ArraySource(comps)})
    assert result["method"] == "gcps" and result["quality"]["flagged_components"] == [3]
    assert result["dropped_components"] == [3] and result["component_ids"] == [1, 2]
    assert _offsets(result) == {c: TWO_PI * k for c, k in CYCLES.items()}
    row3 = [r for r in result["quality"]["table"] if r["id"] == 3][0]
    assert "misclosure" in row3["failed"] and row3["points"] >= 1


def test_reference_dem_flags_a_component_whose_gcp_picks_the_wrong_cycle(scene):
    """Component 2 referenced by one GCP whose height is off by one h_a: the DEM flags it."""
    half = scene["truth"].shape[1] // 2
    left = [p for p, c in zip(scene["gcps"], scene["gcp_cols"]) if c < half - 2]
    right = [(p, c) for p, c in zip(scene["gcps"], scene["gcp_cols"]) if c > half + 30]
    point, col = right[0]
    row = [rc[0] for rc, p in zip(scene["gcp_rowcol"], scene["gcps"]) if p is point][0]
    folder = scene["folder"]
    # the height of ambiguity at that GCP, from the geometry
    from peppers.operators.height import height_of_ambiguity
    from peppers.scene import scene_from_mapping
    master = scene_from_mapping(scene["inputs"]["master"])
    slave = scene_from_mapping(scene["inputs"]["slave"])
    h_a = float(height_of_ambiguity(master, slave, np.array([row]), np.array([col]),
                                    np.array([point["height_m"]]))[0])
    wrong = dict(point, height_m=point["height_m"] + h_a)
    inputs = dict(scene["inputs"], gcps={"points": left + [wrong]},
                  reference_dem={"path": str(folder / "dem.tif")})
    result = _estimate(scene, run_inputs=inputs, dem_points=50)
    quality = result["quality"]
    assert quality["flagged_components"] == [2]
    # component 2 holds half of the referenced pixels: the product is refused, not trimmed
    assert result["method"] == "relative" and "reference DEM off" in result["refused"]
    row2 = [r for r in quality["table"] if r["id"] == 2][0]
    assert "reference DEM off by more than half an ambiguity" in row2["failed"]
    assert row2["dem_disagree"] > 0.5 * row2["dem_points"] > 10
    row1 = [r for r in quality["table"] if r["id"] == 1][0]
    assert row1["dem_disagree"] == 0 and not row1["failed"]
    # with the right height the DEM agrees and both stay absolute
    inputs["gcps"] = {"points": left + [point]}
    result = _estimate(scene, run_inputs=inputs, dem_points=50)
    assert result["quality"]["flagged_components"] == [] and result["component_ids"] == [1, 2]
    assert result["method"] == "gcps"
