"""A stack run end to end: ``pep simulate --stack``, ``pep stack init``, make, ``pep stack add``.

The velocity and the displacement per date are judged against the
simulator's truth (box-averaged onto the multilooked grid, both referred to
the network's reference window): the RMS error over the valid pixels must be
within 1.5 times the RMS of the propagated standard deviation (issue 17's
acceptance). Adding a date must rerun exactly its coregistration, its new
pairs and the inversion (the rules run are counted from the scheduler's
records).
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest

from support.drs import finished, read_image, rerun

from peppers.cli import stack_run
from peppers.drs import make
from peppers.drs.rules import image_path
from peppers.errors import SceneError
from peppers.hkv import RunDatabase
from peppers.operators.simulate import SimulationConfig
from peppers.operators.simulate.stack import read_stack_raster, simulate_stack
from peppers.operators.simulate.stack_config import StackConfig


def _simulate(folder, dates, size, seed=21):
    scene = SimulationConfig(lines=size, samples=size, seed=seed, relief_m=150.0, patches=1,
                             mogi_depth_m=500.0, gcps=4, threads=2)
    cfg = StackConfig(scene, dates=dates, interval_days=12, bperp_spread_m=100.0,
                      mogi_rate_m3_per_year=1.5e5, rate_m_per_year=-0.04, seasonal_m=0.008,
                      bowl_width_m=250.0, bowl_east_m=-150.0)
    return simulate_stack(folder, cfg)


def _box(truth, shape):
    la, lr = truth.shape[0] // shape[0], truth.shape[1] // shape[1]
    cut = truth[:shape[0] * la, :shape[1] * lr]
    return cut.reshape(shape[0], la, shape[1], lr).mean(axis=(1, 3))


def accuracy(db, sim) -> dict:
    """RMS error / RMS propagated sigma of the velocity and each date's displacement."""
    ref = db.get("stack.reference")
    win = (slice(ref["row"] - ref["half"], ref["row"] + ref["half"] + 1),
           slice(ref["col"] - ref["half"], ref["col"] + ref["half"] + 1))

    def ratio(estimate, sigma, truth):
        err = estimate - _box(truth, estimate.shape)
        err = err - np.nanmean(err[win])
        good = np.isfinite(err) & np.isfinite(sigma)
        return (float(np.sqrt(np.mean(err[good] ** 2))),
                float(np.sqrt(np.mean(sigma[good] ** 2))), float(good.mean()))

    def image(name):
        return read_image(db.root / image_path(name))

    out = {"velocity": ratio(image("velocity"), image("velocity_std"),
                             read_stack_raster(sim, "velocity"))}
    for date in db.get("stack.dates")[1:]:
        out[date] = ratio(image(f"displacement_{date}"), image(f"displacement_std_{date}"),
                          read_stack_raster(sim, f"los_displacement_{date}"))
    return out


def _check(acc):
    for what, (rms, sigma, valid) in acc.items():
        assert valid > 0.8, what
        assert rms <= 1.5 * sigma, (what, rms, sigma)


def test_stack_run_velocity_within_its_sigma_and_adding_a_date_reruns_only_its_pairs(tmp_path):
    """4 dates, sequential:2 (128 x 128): init, make velocity, then add a fifth date."""
    sim = _simulate(tmp_path / "sim", 5, 128)
    first4 = [sim.folder / f"{d}.yaml" for d in sim.dates[:4]]
    db = stack_run.init_stack(tmp_path / "run", first4, reference=None,
                              dem_path=sim.folder / "dem.tif", network="sequential:2")
    db.set("ppe.threads", 2)
    assert db.get("stack.pairs") == [[0, 1], [0, 2], [1, 2], [1, 3], [2, 3]]
    make(db, ["velocity"], threads=2)
    _check(accuracy(db, sim.folder))
    before = finished(db)
    make(db, ["velocity"], threads=2)
    assert rerun(before, finished(db)) == set()

    stack_run.add_to_stack(db, [sim.folder / f"{sim.dates[4]}.yaml"])
    new = sim.dates[4]
    assert db.get("stack.pairs")[-2:] == [[2, 4], [3, 4]]
    make(db, ["velocity"], threads=2)
    ran = rerun(before, finished(db))
    new_pairs = [f"{sim.dates[2]}_{new}", f"{sim.dates[3]}_{new}"]
    expected = {f"{name}_{new}" for name in stack_run.SECONDARY_RULES}
    expected |= {f"{name}_{tag}" for tag in new_pairs
                 for name in ("stack_interferogram",) + stack_run.PAIR_RULES}
    expected |= {"network_reference", "timeseries"}
    assert ran == expected
    _check(accuracy(db, sim.folder))
    # the export's rules (HyP3-style sets, geocoded velocity) plan on the same run
    from peppers.drs.make import plan_make

    tags = [f"{sim.dates[i]}_{sim.dates[j]}" for i, j in db.get("stack.pairs")]
    plan = plan_make(db, [f"hyp3_product_{t}" for t in tags] + ["geocoded_velocity"]
                     + [f"geocoded_displacement_{d}" for d in sim.dates])
    stale = {rule for rule, why in plan.analysis.reasons.items() if why}
    assert {f"hyp3_product_{t}" for t in tags} <= stale
    # what is on disk stays (in-memory pair intermediates are recomputed: trigger 'needed')
    kept = {"timeseries", "network_reference"} | {f"{n}_{d}" for n in stack_run.SECONDARY_RULES
                                                  for d in sim.dates[1:]}
    assert not stale & kept


def test_stack_init_refuses_bad_input_in_one_line(tmp_path):
    sim = _simulate(tmp_path / "sim", 2, 64)
    scenes = [sim.folder / f"{d}.yaml" for d in sim.dates]
    dem = sim.folder / "dem.tif"
    with pytest.raises(SceneError, match="--reference 20990101: not one of the dates"):
        stack_run.init_stack(tmp_path / "a", scenes, reference="20990101", dem_path=dem,
                             network="all")
    with pytest.raises(SceneError, match="--network sequential:x"):
        stack_run.init_stack(tmp_path / "b", scenes, reference=None, dem_path=dem,
                             network="sequential:x")
    with pytest.raises(SceneError, match="a second acquisition of"):
        stack_run.init_stack(tmp_path / "c", scenes + scenes[:1], reference=None,
                             dem_path=dem, network="all")
    assert not any((tmp_path / n).exists() for n in "abc")
    db = stack_run.init_stack(tmp_path / "d", scenes, reference=sim.dates[1], dem_path=dem,
                              network="all")
    with pytest.raises(SceneError, match="the stack already has"):
        stack_run.add_to_stack(db, scenes[:1])
    # the rules name the reference's own image for its side of the pair
    rules = stack_run.stack_rules(sim.dates, sim.dates[1], [[0, 1]])
    pair = rules[f"stack_interferogram_{sim.dates[0]}_{sim.dates[1]}"]
    assert pair["operator"].endswith(":StackInterferogramToReference")
    assert pair["inputs"]["second"] == f"slc_{sim.dates[1]}"
    cli = subprocess.run([sys.executable, "-m", "peppers", "stack", "init", str(tmp_path / "e"),
                          "--scenes", *map(str, scenes), "--reference-dem", str(dem),
                          "--network", "bogus"], capture_output=True, text=True)
    assert cli.returncode != 0 and len(cli.stderr.strip().splitlines()) == 1
    assert "--network bogus" in cli.stderr
    pep = [sys.executable, "-m", "peppers", "stack"]
    made = subprocess.run(pep + ["init", str(tmp_path / "f"), "--scenes", *map(str, scenes),
                                 "--reference-dem", str(dem), "--network", "all"],
                          capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    assert "2 acquisitions" in made.stdout and "1 pairs" in made.stdout
    again = subprocess.run(pep + ["add", str(tmp_path / "f"), str(scenes[1])],
                           capture_output=True, text=True)
    assert again.returncode != 0 and "the stack already has" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_acceptance_eight_dates_sequential_3(tmp_path):
    """Issue 17: 8 dates, deformation, no atmosphere, sequential:3, 300 x 300."""
    sim = _simulate(tmp_path / "sim", 8, 300, seed=17)
    db = stack_run.init_stack(tmp_path / "run", [sim.folder / f"{d}.yaml" for d in sim.dates],
                              reference=None, dem_path=sim.folder / "dem.tif",
                              network="sequential:3")
    assert len(db.get("stack.pairs")) == 18
    make(db, ["velocity"], threads=2)
    acc = accuracy(db, sim.folder)
    for what, (rms, sigma, valid) in acc.items():
        print(f"{what}: RMS error {rms * 1e3:.3f} mm(/yr), RMS sigma {sigma * 1e3:.3f}, "
              f"ratio {rms / sigma:.3f}, valid {valid:.3f}")
    _check(acc)
    shutil.rmtree(tmp_path / "sim")


def test_secondary_geometry_equals_the_pair_radar_geometry(tmp_path):
    """Offsets and topographic phase from the reference's ground points = RadarGeometry's."""
    from peppers.geometry.reference_dem import ReferenceDem
    from peppers.operators._arrays import apply_local
    from peppers.operators.radar_geometry import geometry_layers
    from peppers.operators.stack_pairs import SecondaryGeometry
    from peppers.scene.writer import scene_metadata

    sim = _simulate(tmp_path / "sim", 3, 64)
    ref, sec = sim.scenes[sim.dates[0]], sim.scenes[sim.dates[2]]
    dem = ReferenceDem(sim.folder / "dem.tif")
    rows, cols = np.arange(0, 64, 3.0), np.arange(0, 64, 1.0)
    truth = np.stack([read_stack_raster(sim.folder, n) for n in ("lat", "lon")])
    grid = dem.grid(truth[0].min() - 0.01, truth[0].max() + 0.01, truth[1].min() - 0.01,
                    truth[1].max() + 0.01)
    pair = geometry_layers(ref, sec, grid, rows, cols)
    op = SecondaryGeometry(master=scene_metadata(ref, str(ref.image_path)),
                           slave=scene_metadata(sec, str(sec.image_path)))
    lat = np.full((64, 64), np.nan)
    lon, height = lat.copy(), lat.copy().astype(np.float32)
    lat[::3], lon[::3], height[::3] = pair["lat"], pair["lon"], pair["height"]
    out = apply_local(op, {"lat": lat, "lon": lon, "height": height})
    for name, tol in (("row_offset", 1e-4), ("col_offset", 1e-4), ("topographic_phase", 1e-3)):
        np.testing.assert_allclose(out[name][::3], pair[name], atol=tol, err_msg=name)
    assert np.isnan(out["topographic_phase"][1]).all()     # no ground point, no value
