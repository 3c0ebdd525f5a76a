"""Unwrapping acceptance on the simulator's interferograms (issue 5).

Each scene is a pair from ``peppers.operators.simulate`` taken through
stream 1 by ``pep init`` + ``pep run make`` (``tests/support/unwrap_cases.py:
simulated_case``): the Goldstein-filtered multilooked interferogram (the
``unwrap`` rule's input) and the estimated coherence. The truth is the
simulator's unwrapped flattened phase averaged over the same multilook
blocks; blocks with a master pixel the slave never imaged (the resampled
slave's no-data edge, from the truth offsets) are masked. A pixel counts as
right when its cycle count matches its component's most common one; pixels
left out count as wrong. "coherent" means the truth coherence of the block
is above 0.3.

Scenes: three easy ones (4 x 4 looks, 16 looks nominal, about 11.6
equivalent; several seeds, reliefs, baselines and coherence maps), one with
decorrelated patches (gamma 0.1), and a hard one (2 x 2 looks of the
unfiltered interferogram, coherence 0.3-0.6, a 450 m baseline).
"""

from __future__ import annotations

import numpy as np
import pytest
from support.unwrap_cases import score, simulated_case

from peppers.errors import OperatorError
from peppers.operators.scene_spectra import DEFAULT_BANDWIDTH_FRACTION
from peppers.operators.unwrap import unwrap_branch_cut, unwrap_mcf, unwrap_wls
from peppers.operators.unwrap.unwrappers import Unwrap, UnwrapMCF, equivalent_looks

SIZE = {"lines": 1000, "samples": 520, "snr_db": 30.0}
#: name -> simulated_case options
SCENES = {
    "easy-1": dict(seed=11, relief_m=400.0, bperp_m=150.0, coherence=0.85, low_coherence=0.4),
    "easy-2": dict(seed=12, relief_m=900.0, bperp_m=250.0, coherence=0.7, low_coherence=0.3),
    "easy-3": dict(seed=13, relief_m=250.0, bperp_m=-120.0, coherence=0.9, low_coherence=0.5,
                   look_side="left"),
    "patches": dict(seed=14, relief_m=500.0, bperp_m=200.0, coherence=0.8, low_coherence=0.1,
                    patches=6),
    "hard": dict(seed=15, relief_m=700.0, bperp_m=450.0, coherence=0.6, low_coherence=0.3,
                 looks=2, filtered=False),
}


def solve(case, method: str):
    """(unwrapped, components) of one method with the rule's defaults (threshold 0)."""
    if method == "mcf":
        return unwrap_mcf(case.ifg, case.coherence, nlooks=case.looks)
    if method == "wls":
        return unwrap_wls(case.ifg, case.coherence)
    return unwrap_branch_cut(case.ifg, case.coherence)


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    """Every scene: the case and the three methods' scores."""
    out = {}
    for name, options in SCENES.items():
        folder = tmp_path_factory.mktemp(f"unwrap-{name}")
        case = simulated_case(folder, name=name, **SIZE, **options)
        results = {m: solve(case, m) for m in ("mcf", "wls", "branch_cut")}
        scores = {m: score(*r, case) for m, r in results.items()}
        out[name] = (folder, case, results, scores)
    print("\nscene     shape      looks  data%  " + "  ".join(
        f"{m:>10} all/coh" for m in ("mcf", "wls", "branch_cut")))
    for name, (_, case, _, scores) in out.items():
        cells = "  ".join(f"{100 * s['all']:8.3f}/{100 * s['coherent']:7.3f}"
                          for s in scores.values())
        print(f"{name:8} {str(case.ifg.shape):10} {case.looks:6.2f} "
              f"{100 * case.data.mean():5.1f}  {cells}")
    return out


@pytest.mark.parametrize("name", ["easy-1", "easy-2", "easy-3"])
def test_mcf_meets_acceptance_on_simulated_scenes(scenes, name):
    """MCF: >= 99.9 % of all pixels and >= 99.95 % of coherent ones exactly right."""
    _, case, _, scores = scenes[name]
    assert case.data.mean() > 0.85 and (~case.data).any()   # an edge was masked
    assert scores["mcf"]["all"] >= 0.999
    assert scores["mcf"]["coherent"] >= 0.9995


def test_decorrelated_patches_hold_the_errors(scenes):
    """With gamma = 0.1 patches MCF keeps >= 99.95 % of the coherent pixels and
    >= 99.9 % of the pixels outside the patches; what is wrong lies in them."""
    _, case, results, scores = scenes["patches"]
    unw, comps = results["mcf"]
    patch = case.true_coherence < 0.2
    assert 0.005 < patch[case.data].mean() < 0.2
    assert scores["mcf"]["coherent"] >= 0.9995
    n = np.rint((unw - case.truth) / (2 * np.pi))
    main = comps == 1
    vals, counts = np.unique(n[main], return_counts=True)
    right = main & (n == vals[np.argmax(counts)])
    outside = case.data & ~patch
    assert right[outside].mean() >= 0.999
    print(f"\npatches: {100 * patch[case.data].mean():.2f} % of the data in gamma < 0.2; "
          f"MCF right outside them {100 * right[outside].mean():.3f} %, inside "
          f"{100 * right[case.data & patch].mean():.2f} %")


def test_hard_scene_separates_methods(scenes):
    """2 x 2 looks, gamma 0.3-0.6, long baseline: MCF is the best of the three."""
    _, case, _, scores = scenes["hard"]
    assert case.looks < 4
    assert scores["mcf"]["coherent"] >= 0.995   # measured 99.72 %
    assert scores["mcf"]["all"] >= max(scores["wls"]["all"], scores["branch_cut"]["all"])
    assert scores["mcf"]["all"] > min(scores["wls"]["all"], scores["branch_cut"]["all"]) + 1e-3


def test_unwrap_operator_selects_method_and_derives_looks(scenes):
    """``Unwrap`` = the chosen solver; nlooks 0 -> looks of the grid x 0.85^2."""
    _, case, results, _ = scenes["easy-1"]
    assert equivalent_looks({}, (4, 4)) == pytest.approx(16 * DEFAULT_BANDWIDTH_FRACTION ** 2)
    for method, solver in (("mcf", UnwrapMCF), ("wls", None), ("branch_cut", None)):
        op = Unwrap(method=method, looks=(4, 4), fill_max_hole=0, min_component_size=50,
                    threshold=0.0, tile_size=0)
        unw, comps = op.unwrap(case.ifg, case.coherence, 0)
        np.testing.assert_array_equal(comps, results[method][1])
        np.testing.assert_allclose(unw, results[method][0], atol=1e-5)
        if solver is not None:
            assert op.solver_instance().nlooks == pytest.approx(case.looks)
    with pytest.raises(OperatorError, match="insar.unwrap.method"):
        Unwrap(method="isce_icu")


def test_plain_init_makes_geocoded_dem(scenes):
    """``pep init`` + ``pep run make geocoded_dem`` with no ``pep set`` works."""
    from peppers.cli.main import main
    from peppers.hkv import RunDatabase

    folder = scenes["easy-1"][0]
    sim, run = folder / "sim", folder / "plain"
    assert main(["init", str(run), "--master", str(sim / "master.yaml"),
                 "--slave", str(sim / "slave.yaml"), "--gcps", str(sim / "gcps.yaml"),
                 "--reference-dem", str(sim / "dem.tif")]) == 0
    assert main(["--run", str(run), "run", "make", "geocoded_dem", "-j", "2"]) == 0
    db = RunDatabase.open(run)
    assert db.get("insar.unwrap.method") == "mcf" and db.get("insar.unwrap.nlooks") == 0
    assert (run / "products" / "geocoded_dem.tif").stat().st_size > 0
