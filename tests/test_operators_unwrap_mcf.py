"""Minimum-cost-flow unwrapping: solver optimality (networkx oracle), exactness, accuracy."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from peppers.operators.unwrap.masks import connected_components, invalid_regions
from peppers.operators.unwrap.mcf import solve_corrections, unwrap_mcf
from peppers.operators.unwrap.residues import TWO_PI, loop_sums, wrapped_gradients
from support.unwrap_cases import make_case, score


def _oracle_cost(q, valid, cost_r, cost_c):
    """Optimal cost from networkx on the dual graph built from the geometry alone.

    Row edge (i, j)-(i+1, j) separates loop (i, j-1) (left) and (i, j) (right);
    column edge (i, j)-(i, j+1) separates (i-1, j) (up) and (i, j) (down).
    Loops outside the image are the earth. Edges touching an invalid pixel
    cost nothing.
    """
    m, n = valid.shape
    g = nx.DiGraph()

    def loop(i, j):
        return (i, j) if 0 <= i < m - 1 and 0 <= j < n - 1 else "earth"

    for i in range(m - 1):
        for j in range(n - 1):
            g.add_node((i, j), demand=-int(q[i, j]))
    g.add_node("earth", demand=int(q.sum()))

    def arc(tag, a, b, cost):
        mid = (tag, a, b)  # split node: parallel arcs between the same loops
        g.add_edge(a, mid, weight=int(cost))
        g.add_edge(mid, b, weight=0)

    for i in range(m - 1):
        for j in range(n):
            free = not (valid[i, j] and valid[i + 1, j])
            right, left = loop(i, j), loop(i, j - 1)
            arc(("r", i, j, "+"), right, left, 0 if free else cost_r[0][i, j])
            arc(("r", i, j, "-"), left, right, 0 if free else cost_r[1][i, j])
    for i in range(m):
        for j in range(n - 1):
            free = not (valid[i, j] and valid[i, j + 1])
            up, down = loop(i - 1, j), loop(i, j)
            arc(("c", i, j, "+"), up, down, 0 if free else cost_c[0][i, j])
            arc(("c", i, j, "-"), down, up, 0 if free else cost_c[1][i, j])
    return nx.min_cost_flow_cost(g)


def _our_cost(k, cost, ok):
    cp, cm = cost
    return int((np.where(k > 0, cp * k, -cm * k) * ok).sum())


@pytest.mark.parametrize("seed", range(12))
def test_solver_matches_networkx_optimum(seed):
    rng = np.random.default_rng(seed)
    m, n = rng.integers(4, 9, 2)
    psi = rng.uniform(-np.pi, np.pi, (m, n))
    valid = rng.random((m, n)) > (0.0 if seed < 4 else 0.2)
    if seed % 3 == 0:  # an enclosed hole
        valid[m // 2, n // 2] = False
        valid[m // 2 - 1:m // 2 + 2, n // 2 - 1:n // 2 + 2] &= ~np.eye(3, dtype=bool)[::-1]
    psi[~valid] = 0.0
    d_r, d_c = wrapped_gradients(psi)
    cost_r = (rng.integers(1, 50, d_r.shape), rng.integers(1, 50, d_r.shape))
    cost_c = (rng.integers(1, 50, d_c.shape), rng.integers(1, 50, d_c.shape))
    k_r, k_c, _ = solve_corrections(d_r, d_c, valid, cost_r, cost_c)
    ok_r = valid[1:] & valid[:-1]
    ok_c = valid[:, 1:] & valid[:, :-1]
    ours = _our_cost(k_r, cost_r, ok_r) + _our_cost(k_c, cost_c, ok_c)
    q = np.rint(loop_sums(d_r, d_c) / TWO_PI).astype(int)
    assert ours == _oracle_cost(q, valid, cost_r, cost_c)
    # feasibility: every loop of four valid pixels is curl-free after correction
    curl = loop_sums(d_r + TWO_PI * k_r, d_c + TWO_PI * k_c)
    loops_ok = valid[:-1, :-1] & valid[1:, :-1] & valid[:-1, 1:] & valid[1:, 1:]
    assert np.abs(curl[loops_ok]).max(initial=0) < 1e-9


def test_hole_charge_leaves_by_a_costly_cut():
    """A vortex around an enclosed hole must be cut to the edge, not teleported."""
    y, x = np.mgrid[0:40, 0:40] - 19.5
    psi = np.arctan2(y, x)
    valid = np.hypot(y, x) > 3
    regions, holes = invalid_regions(valid)
    assert holes == 1 and (regions == 1).sum() == (~valid).sum()
    unw, comps = unwrap_mcf(np.where(valid, np.exp(1j * psi), 0))
    # the unwrapped field is curl-free: a 2 pi cut exists somewhere from the hole out
    ok = np.isfinite(unw)
    j0 = (np.abs(np.diff(unw, axis=0)) > np.pi) & ok[1:] & ok[:-1]
    j1 = (np.abs(np.diff(unw, axis=1)) > np.pi) & ok[:, 1:] & ok[:, :-1]
    # one straight cut from the hole (radius 3) to the nearest edge: about 16 pixels
    assert 14 <= j0.sum() + j1.sum() <= 18 and comps.max() == 1


def test_noise_free_steep_surface_is_exact():
    y, x = np.mgrid[0:200, 0:300].astype(float)
    truth = 0.004 * (x - 150) ** 2 + 0.003 * (y - 80) ** 2 + 2.5 * np.sin(x / 17.0) + 0.4 * x
    unw, comps = unwrap_mcf(np.exp(1j * truth).astype(np.complex64))
    err = (unw - truth) - (unw - truth)[0, 0]
    assert comps.max() == 1 and np.std(err) < 1e-5


def test_small_components_are_not_unwrapped():
    valid = np.zeros((30, 30), bool)
    valid[:, :20] = True
    valid[5:8, 25:28] = True
    comps = connected_components(valid, min_size=10)
    assert comps.max() == 1 and comps[6, 26] == 0


@pytest.mark.parametrize("seed,slope,ramp", [(0, 1.0, (0.05, 0.1)), (1, 1.5, (0.3, -0.2)),
                                             (2, 0.7, (-0.4, 0.6)), (3, 1.2, (0.0, 0.9))])
def test_accuracy_fourteen_looks(seed, slope, ramp):
    case = make_case((384, 384), seed, looks=14, max_slope=slope, ramp=ramp, patches=0)
    unw, comps = unwrap_mcf(case.ifg, case.coherence, nlooks=14)
    s = score(unw, comps, case)
    assert s["all"] >= 0.999 and s["coherent"] >= 0.9995, s


@pytest.mark.parametrize("seed", [4, 5])
def test_accuracy_with_decorrelated_patches(seed):
    case = make_case((384, 384), seed, looks=14, patches=3)
    unw, comps = unwrap_mcf(case.ifg, case.coherence, nlooks=14)
    s = score(unw, comps, case)
    assert s["coherent"] >= 0.9995 and s["all"] >= 0.995, s
