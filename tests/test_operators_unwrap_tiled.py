"""Tiled unwrapping: the plan, reconciliation, agreement with untiled, no border jumps."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from peppers.operators.unwrap import unwrap_mcf
from peppers.operators.unwrap.tiled import (auto_tile_shape, plan_tiles, reconcile, stitch,
                                            unwrap_tiled)
from peppers.ppe.region import Region
from support.unwrap_cases import make_case, score


@given(st.integers(5, 300), st.integers(5, 300), st.integers(4, 120), st.integers(4, 120),
       st.integers(0, 60))
def test_cores_cover_every_pixel_once(rows, cols, th, tw, overlap):
    overlap = min(overlap, min(th, tw) - 1)
    plans = plan_tiles((rows, cols), (th, tw), overlap)
    hits = np.zeros((rows, cols), int)
    for p in plans:
        assert p.outer.contains(p.core) and Region.full((rows, cols)).contains(p.outer)
        hits[p.core.slices] += 1
    assert (hits == 1).all()


def _busiest(plans, workers):
    """Pixels of the busiest worker when equal tiles go out in rounds (from the plan itself)."""
    rounds = -(-len(plans) // workers)
    return rounds * max(p.outer.height * p.outer.width for p in plans)


@given(st.integers(20, 3000), st.integers(20, 3000), st.integers(1, 4), st.integers(0, 64),
       st.sampled_from([0, 300, 700]))
def test_auto_layout_fits_the_bound_and_beats_every_small_grid(rows, cols, workers, overlap,
                                                               max_tile):
    shape = (rows, cols)
    tile = auto_tile_shape(shape, workers, overlap, max_tile)
    plans = plan_tiles(shape, tile, overlap)
    if max_tile:
        assert max(tile) <= max_tile
    hits = np.zeros(shape, np.int32)
    for p in plans:
        hits[p.core.slices] += 1
    assert (hits == 1).all()
    # no grid of up to 6 x 6 equal tiles within the bound gives the busiest worker less work
    best = _busiest(plans, workers)
    for ry in range(1, 7):
        for rx in range(1, 7):
            th = rows if ry == 1 else -(-(rows + (ry - 1) * overlap) // ry)
            tw = cols if rx == 1 else -(-(cols + (rx - 1) * overlap) // rx)
            if (max_tile and max(th, tw) > max_tile) or (ry > 1 and th <= 2 * overlap) or \
                    (rx > 1 and tw <= 2 * overlap):
                continue
            assert best <= _busiest(plan_tiles(shape, (th, tw), overlap), workers)


def test_auto_layout_for_two_workers_splits_once_and_refuses_an_impossible_bound():
    # one worker: one tile; two: two tiles along the longer axis (the least overlap)
    assert len(plan_tiles((2048, 2048), auto_tile_shape((2048, 2048), 1, 128), 128)) == 1
    assert auto_tile_shape((1200, 4000), 2, 256) == (1200, 2128)
    assert auto_tile_shape((1200, 4000), 2, 256, max_tile=2048) == (1200, 1192)
    with pytest.raises(ValueError, match="twice the overlap"):
        auto_tile_shape((1000, 1000), 2, 256, max_tile=400)


def test_reconcile_recovers_cycle_offsets():
    y, x = np.mgrid[0:60, 0:100]
    truth = 0.3 * x + 0.1 * y
    plans = plan_tiles(truth.shape, (60, 40), 10)
    results = []
    for t, p in enumerate(plans):
        results.append((truth[p.outer.slices] + 2 * np.pi * (3 * t - 2),
                        np.ones(p.outer.shape, np.int32)))
    offsets, labels = reconcile(plans, results)
    unw, comps = stitch(truth.shape, plans, results, offsets, labels)
    assert comps.max() == 1
    d = unw - truth
    assert np.allclose(d, d[0, 0], atol=1e-4)


def _border_jumps(unw, comps, plans):
    """Adjacent pixel pairs across core borders, same component, that differ by > pi."""
    jumps = 0
    for p in plans:
        r, c = p.core.row, p.core.col
        if r > 0:
            a, b = unw[r - 1, c:p.core.col_stop], unw[r, c:p.core.col_stop]
            same = (comps[r - 1, c:p.core.col_stop] == comps[r, c:p.core.col_stop]) & \
                (comps[r, c:p.core.col_stop] > 0)
            jumps += int((np.abs(a - b)[same] > np.pi).sum())
        if c > 0:
            a, b = unw[r:p.core.row_stop, c - 1], unw[r:p.core.row_stop, c]
            same = (comps[r:p.core.row_stop, c - 1] == comps[r:p.core.row_stop, c]) & \
                (comps[r:p.core.row_stop, c] > 0)
            jumps += int((np.abs(a - b)[same] > np.pi).sum())
    return jumps


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tiled_agrees_with_untiled_and_has_no_border_jumps(seed):
    case = make_case((600, 600), 30 + seed, looks=14, patches=2)
    u0, c0 = unwrap_mcf(case.ifg, case.coherence, nlooks=14)
    shape, overlap = (256, 256), 64
    u1, c1 = unwrap_tiled(case.ifg, case.coherence, tile_shape=shape, overlap=overlap,
                          threads=2, nlooks=14)
    both = (c0 > 0) & (c1 > 0)
    n = np.rint((u1 - u0)[both] / (2 * np.pi)).astype(int)
    agree = np.bincount(n - n.min()).max() / max(case.data.sum(), 1)
    assert agree >= 0.999
    plans = plan_tiles(case.ifg.shape, shape, overlap)
    assert len(plans) == 9
    # the noise-free truth has no jump above pi: neither may the border
    clean = np.exp(1j * case.truth).astype(np.complex64)
    clean[~case.data] = 0
    u2, c2 = unwrap_tiled(clean, None, tile_shape=shape, overlap=overlap, threads=2)
    assert _border_jumps(u2, c2, plans) == 0
    # on the noisy case, every border jump is one the untiled solution has too
    assert _border_jumps(u1, c1, plans) <= _border_jumps(u0, np.where(c1 > 0, c0, 0), plans)
    assert score(u1, c1, case)["coherent"] >= 0.9995
    # the automatic layout (here 2 tiles for 2 threads) is as good
    u3, c3 = unwrap_tiled(case.ifg, case.coherence, overlap=overlap, threads=2, nlooks=14)
    both = (c0 > 0) & (c3 > 0)
    n = np.rint((u3 - u0)[both] / (2 * np.pi)).astype(int)
    assert np.bincount(n - n.min()).max() / max(case.data.sum(), 1) >= 0.999
