"""Geometric coregistration through the command line, with defaults only (issue 14).

``pep simulate`` the hard pairs of the issue (dense fringes, bperp 1200 m; low
coherence, gamma 0.4), ``pep init ... --reference-dem
dem_reference.tif`` (5 m RMS DEM error), ``pep run make geocoded_dem``: the
reference_dem rule variant coregisters by the geometric offsets, the run goes
through, the record says which method was used, and the coherence of the chain
is that of a coregistered pair (above 0.8 x the simulator's truth). The dense-fringe
pair through the plain chip correlation (today's chain without a DEM) stops at
coregistration. The default test is a small scene and stops at the coherence; the
slow ones are the acceptance sizes (numbers in docs/coregistration.md).
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import yaml
from support.drs import pep

from peppers.drs.rules import image_path
from peppers.errors import OperatorError
from peppers.image import Region
from peppers.io.raw import RawImage
from peppers.io.source import ArraySource
from peppers.operators.coregister import Coregistration
from peppers.operators.simulate.truth import read_truth_raster
from peppers.scene import load_scene, scene_metadata


def image(run, name):
    with RawImage.open(run / image_path(name)) as img:
        return img.read(Region.full(img.spec.shape))


def run_pair(folder, lines, samples, bperp, coherence, target="geocoded_dem"):
    """Simulate, init with the reference DEM, make ``target`` with defaults: (run, seconds)."""
    pep("simulate", "sim", "--lines", str(lines), "--samples", str(samples), "--seed", "3",
        "--bperp", str(bperp), "--coherence", str(coherence), "--patches", "1",
        "--dem-error", "5", "--gcps", "12", "--threads", "2", cwd=folder)
    pep("init", "run", "--master", "sim/master.yaml", "--slave", "sim/slave.yaml",
        "--gcps", "sim/gcps.yaml", "--reference-dem", "sim/dem_reference.tif", cwd=folder)
    start = time.perf_counter()
    pep("--run", "run", "run", "make", target, "-j", "2", cwd=folder)
    return folder / "run", time.perf_counter() - start


def check_run(folder, run, product=True):
    record = yaml.safe_load(pep("--run", str(run), "get", "insar.coregistration.offsets",
                                cwd=folder))
    assert record["method"] == "geometry" and record["used"] == "geometry"
    assert record["rasters"] is True
    assert (run / "products" / "geocoded_dem.tif").exists() == product
    # the chain's coherence against the simulator's (filtered-estimator) truth
    coherence = float(np.nanmedian(image(run, "coherence")))
    truth = float(np.median(read_truth_raster(folder / "sim", "coherence")))
    return record, coherence, truth


def plain_correlation(folder):
    """Today's chip correlation (defaults of the plain chain) on the same pair.

    Returns None when it stops ("only N of 512 chips passed ..."), else the chips it accepted.
    """
    master, slave = (load_scene(folder / "sim" / f"{n}.yaml") for n in ("master", "slave"))
    with RawImage.open(folder / "sim" / "master.slc.vrt") as m, \
            RawImage.open(folder / "sim" / "slave.slc.vrt") as s:
        arrays = [img.read(Region.full(img.spec.shape)) for img in (m, s)]
    op = Coregistration(master_scene=scene_metadata(master, "master.slc"),
                        slave_scene=scene_metadata(slave, "slave.slc"), threads=2)
    try:
        result = op.reduce({"master": ArraySource(arrays[0]), "slave": ArraySource(arrays[1])})
    except OperatorError as error:
        assert "chips" in str(error)
        return None
    return result["n_accepted"]


def test_dense_fringes_coregister_with_defaults(tmp_path):
    """The default test stops at the coherence (stream 1): the same rules, seconds not minutes."""
    run, _ = run_pair(tmp_path, 192, 160, 1200, 0.85, target="coherence")
    record, coherence, truth = check_run(tmp_path, run, product=False)
    assert record["geometry"]["void_pixels"] == 0
    assert record["raster_bound"][1] < 1.0      # terrain residual of the smooth model, px
    assert coherence > 0.8 * truth, (coherence, truth)
    assert plain_correlation(tmp_path) is None


@pytest.mark.slow
@pytest.mark.parametrize("bperp,gamma", [(1200, 0.85), (150, 0.4)])
def test_acceptance_scenes_go_through_with_defaults(tmp_path, bperp, gamma):
    run, seconds = run_pair(tmp_path, 1024, 512, bperp, gamma)
    record, coherence, truth = check_run(tmp_path, run)
    plain = plain_correlation(tmp_path)
    print(f"bperp {bperp} gamma {gamma}: make geocoded_dem {seconds:.0f} s, coherence "
          f"{coherence:.3f} (truth {truth:.3f}), bound {record['raster_bound']}, plain "
          f"correlation chips accepted: {plain}")
    assert coherence > 0.8 * truth, (coherence, truth)
    if bperp == 1200:   # the dense fringes stop the plain chain (the gamma-0.4 pair: see docs)
        assert plain is None
