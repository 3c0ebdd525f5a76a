"""Slave resampling + common-band filtering: phase kept, offsets honoured, tiling invariant."""

from __future__ import annotations

import numpy as np
import pytest
from support.pairs import coherence_and_phase, make_pair

from peppers.io.source import ArraySource
from peppers.operators.coregister import Coregistration
from peppers.operators.resample import PolynomialResampler
from peppers.operators.slave_resample import SlaveResampleFilter
from peppers.ppe import Pipeline, apply

N = 512
FRINGE = (0.02, 0.12)


@pytest.fixture(scope="module")
def pair():
    e_row = lambda y: 2.4 + 0.5 * (y / N)  # noqa: E731
    e_col = lambda x: -1.7 + 0.3 * (x / N)  # noqa: E731
    m, s, _, _ = make_pair((N, N), e_row, e_col, 0.8, fringe=FRINGE, seed=21)
    offsets = Coregistration(coarse="correlation", grid=(8, 8), search=(6, 6), min_chips=20,
                             polynomial_order=1, threads=2).reduce(
        {"master": ArraySource(m), "slave": ArraySource(s)})
    return m, s, offsets


def test_resample_and_filter_keep_the_interferometric_phase(pair):
    m, s, offsets = pair
    plain = SlaveResampleFilter(offsets=offsets, range_filter=False)
    pm, ps = apply(plain, master=m, slave=s, tile_shape=(256, 256), threads=2)
    np.testing.assert_array_equal(pm, m)
    coh_plain, phase_plain = coherence_and_phase(pm, ps, FRINGE)
    op = SlaveResampleFilter(offsets=offsets, estimate_window=(256, 128))
    fm, fs = apply(op, master=m, slave=s, tile_shape=(256, 256), threads=2)
    coh, phase = coherence_and_phase(fm, fs, FRINGE)
    assert abs(phase_plain) < 0.03 and abs(phase) < 0.03
    assert coh_plain > 0.6 and coh > 0.74 and coh > coh_plain + 0.05


def test_resampled_slave_equals_the_resampler(pair):
    m, s, offsets = pair
    op = SlaveResampleFilter(offsets=offsets, range_filter=False, taps=8, beta=2.7)
    _, ps = apply(op, master=m, slave=s, tile_shape=(200, 300))
    ref = apply(PolynomialResampler(row_coeffs=offsets["row_coeffs"],
                                    col_coeffs=offsets["col_coeffs"],
                                    center=tuple(offsets["center"]),
                                    scale=tuple(offsets["scale"]), taps=8, beta=2.7),
                s, tile_shape=(512, 512))
    np.testing.assert_array_equal(ps, ref)


def test_identical_for_tiles_and_threads(pair):
    m, s, offsets = pair
    op = SlaveResampleFilter(offsets=offsets, estimate_window=(128, 128), azimuth_filter=True)
    results = []
    for tile, threads in (((512, 512), 1), ((128, 128), 2), ((96, 200), 2)):
        p = Pipeline(tile_shape=tile, mem="64M", threads=threads)
        fm, fs = p.add(op, master=p.source(m), slave=p.source(s))
        p.output(fm, name="m")
        p.output(fs, name="s")
        out = p.run(echo=lambda line: None)
        results.append((out["m"], out["s"]))
    for other in results[1:]:
        np.testing.assert_array_equal(results[0][0], other[0])
        np.testing.assert_array_equal(results[0][1], other[1])


def test_bad_offsets_are_refused():
    with pytest.raises(ValueError, match="offsets lacks"):
        SlaveResampleFilter(offsets={"row_coeffs": [0.0]})
