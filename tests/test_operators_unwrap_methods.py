"""Residues, masks, hole filling, WLS and branch cut; the three methods side by side."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import ndimage

from peppers.errors import ImageMismatchError
from peppers.operators.unwrap import fill_holes, unwrap_branch_cut, unwrap_mcf, unwrap_wls
from peppers.operators.unwrap._label_kernels import label
from peppers.operators.unwrap.masks import invalid_regions, valid_mask, wrapped_phase
from peppers.operators.unwrap.residues import TWO_PI, residues, wrap
from peppers.operators.unwrap.wls import PoissonDCT
from support.unwrap_cases import make_case, score


@given(st.integers(0, 2 ** 31))
def test_residues_of_smooth_field_vanish_and_charges_balance(seed):
    rng = np.random.default_rng(seed)
    smooth = np.cumsum(np.cumsum(rng.uniform(-0.5, 0.5, (12, 12)), 0), 1) * 0.2
    assert not residues(wrap(smooth)).any()
    q = residues(rng.uniform(-np.pi, np.pi, (10, 11)))
    # Stokes: the total charge is the circulation round the border
    psi = rng.uniform(-np.pi, np.pi, (10, 11))
    ring = np.concatenate([psi[0, :], psi[1:, -1], psi[-1, -2::-1], psi[-2:0:-1, 0], psi[:1, 0]])
    assert residues(psi).sum() == np.rint(wrap(np.diff(ring)).sum() / TWO_PI)
    assert set(np.unique(q)) <= {-1, 0, 1}


@given(st.integers(0, 2 ** 31), st.integers(1, 40), st.integers(1, 40), st.floats(0.2, 0.8),
       st.booleans())
def test_label_kernel_matches_ndimage_label(seed, rows, cols, density, eight):
    # random masks, smoothed so that components have shapes (U-turns, spirals of merges)
    rng = np.random.default_rng(seed)
    mask = ndimage.uniform_filter(rng.random((rows, cols)), 3) < density
    expected, count = ndimage.label(mask, ndimage.generate_binary_structure(2, 2 if eight else 1))
    got, n = label(mask, eight)
    assert n == count and got.dtype == np.int32
    assert (got == expected).all()


def test_masks_and_regions():
    data = np.ones((6, 6), np.complex64)
    data[0, 0] = 0
    data[3, 3] = np.nan
    psi = wrapped_phase(data)
    coh = np.full((6, 6), 0.9, np.float32)
    coh[1, 4] = 0.1
    valid = valid_mask(psi, coh, 0.2)
    assert valid.sum() == 33
    regions, holes = invalid_regions(valid)
    assert holes == 2 and regions[0, 0] == 0 and regions[3, 3] > 0 and regions[1, 4] > 0
    with pytest.raises(ImageMismatchError, match="coherence shape"):
        valid_mask(psi, coh[:5], 0.2)


def test_fill_holes_snaps_to_wrapped_phase_and_skips_edge_gaps():
    y, x = np.mgrid[0:40, 0:40]
    truth = 0.4 * x + 0.3 * y
    unw = truth.astype(np.float32).copy()
    comps = np.ones(truth.shape, np.int32)
    unw[18:22, 18:23] = np.nan
    comps[18:22, 18:23] = 0
    unw[0:3, 10:14] = np.nan  # touches the edge: left alone
    comps[0:3, 10:14] = 0
    out, c2 = fill_holes(unw, comps, wrap(truth), max_size=50)
    assert np.allclose(out[18:22, 18:23], truth[18:22, 18:23], atol=1e-4)
    assert (c2[18:22, 18:23] == 1).all() and np.isnan(out[0, 10]) and c2[0, 10] == 0


def test_poisson_dct_inverts_neumann_laplacian():
    rng = np.random.default_rng(1)
    z = rng.standard_normal((17, 23))
    z -= z.mean()
    pad = np.pad(z, 1, mode="edge")
    lap = 4 * z - pad[:-2, 1:-1] - pad[2:, 1:-1] - pad[1:-1, :-2] - pad[1:-1, 2:]
    assert np.allclose(PoissonDCT(z.shape)(lap), z, atol=1e-10)


@pytest.mark.parametrize("method", [unwrap_wls, unwrap_branch_cut])
def test_noise_free_is_exact(method):
    y, x = np.mgrid[0:120, 0:150].astype(float)
    truth = 0.5 * x - 0.3 * y + 2.0 * np.sin(y / 15.0)
    unw, comps = method(np.exp(1j * truth))
    err = unw - truth
    assert comps.max() == 1 and np.std(err - err[0, 0]) < 1e-5


@pytest.mark.parametrize("seed", [0, 1])
def test_fourteen_looks_all_methods(seed):
    case = make_case((320, 320), 20 + seed, looks=14, patches=0)
    results = {f.__name__: score(*f(case.ifg, case.coherence), case)
               for f in (unwrap_wls, unwrap_branch_cut)}
    results["mcf"] = score(*unwrap_mcf(case.ifg, case.coherence, nlooks=14), case)
    assert results["mcf"]["all"] >= 0.999
    assert results["unwrap_wls"]["coherent"] >= 0.99
    assert results["unwrap_branch_cut"]["coherent"] >= 0.99


@pytest.mark.parametrize("seed", [10, 11])
def test_hard_case_separates_methods(seed):
    """4 looks, coherence 0.3-0.6, steep fringes: MCF clearly best, LS congruent fails."""
    case = make_case((320, 320), seed, looks=4, low=0.3, high=0.6, max_slope=1.5,
                     ramp=(0.3, 0.5), patches=0)
    mcf = score(*unwrap_mcf(case.ifg, case.coherence, nlooks=4), case)["all"]
    bc = score(*unwrap_branch_cut(case.ifg, case.coherence), case)["all"]
    wls = score(*unwrap_wls(case.ifg, case.coherence), case)["all"]
    assert mcf >= 0.98 and mcf > bc > wls, (mcf, bc, wls)
