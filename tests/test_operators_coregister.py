"""Coregistration against synthetic pairs of known offsets.

The pairs (:func:`support.pairs.make_pair`) are built independently of the operator: one
white complex reflectivity, a slave reflectivity mixed with independent
speckle for coherence ``gamma`` and carrying an interferometric fringe, both
band-limited (rectangular spectrum) and evaluated exactly, by their Fourier
series, at the master grid and at the slave positions ``y - e(y)`` (a
separable polynomial warp). The true offset ``d(R)`` (slave position minus
master position) solves ``d = e(R + d)``.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import numpy as np
import pytest

from peppers.errors import OperatorError
from peppers.io.source import ArraySource
from peppers.operators.coregister import (Coregistration, bamler_eineder_sigma,
                                          correlate_chip, design_matrix, orbit_offsets)
from peppers.scene import scene_from_mapping, scene_metadata
from support.pairs import PAD, make_pair
from support.scenes import make_scene

def test_chip_scatter_within_bamler_eineder_bound():
    """Per-chip offsets scatter by at most 1.5x the coherent Cramer-Rao bound at gamma 0.8."""
    shift = (0.37, -0.21)
    m, s, _, _ = make_pair((768, 768), lambda y: shift[0] + 0 * y, lambda x: shift[1] + 0 * x,
                           0.8, band=(0.95, 0.95), seed=0)
    errors = []
    for r0 in range(20, 768 - 84, 48):
        for c0 in range(20, 768 - 84, 48):
            res = correlate_chip(m[r0:r0 + 64, c0:c0 + 64], s[r0 - 20:r0 + 84, c0 - 20:c0 + 84])
            errors.append((res.row - shift[0], res.col - shift[1]))
    errors = np.array(errors)
    bound = bamler_eineder_sigma(0.8, 64 * 64)
    assert len(errors) == 196
    assert np.all(np.abs(errors.mean(axis=0)) < 0.002)
    assert np.all(errors.std(axis=0) <= 1.5 * bound), errors.std(axis=0) / bound


def test_fit_recovers_polynomial_offsets_and_culls_decorrelated_chips():
    n = 1024
    e_row = lambda y: 2.3 + 0.8 * (y / n) - 0.5 * (y / n) ** 2  # noqa: E731
    e_col = lambda x: -1.6 + 0.6 * (x / n) + 0.4 * (x / n) ** 2  # noqa: E731
    m, s, dr, dc = make_pair((n, n), e_row, e_col, 0.8, fringe=(0.02, 0.15), seed=3)
    rng = np.random.default_rng(1)
    s[100:260, 600:800] = (rng.standard_normal((160, 200))
                           + 1j * rng.standard_normal((160, 200))).astype(np.complex64)
    op = Coregistration(coarse="correlation", grid=(16, 16), search=(8, 8), threads=2)
    res = op.reduce({"master": ArraySource(m), "slave": ArraySource(s)})
    rows = np.arange(n)
    grid_r, grid_c = np.meshgrid(rows[::8], rows[::8], indexing="ij")
    a = design_matrix(grid_r.ravel(), grid_c.ravel(), 2, res["center"], res["scale"])
    err_r = a @ res["row_coeffs"] - dr[grid_r.ravel()]
    err_c = a @ res["col_coeffs"] - dc[grid_c.ravel()]
    assert np.sqrt(np.mean(err_r ** 2)) < 0.05 and np.sqrt(np.mean(err_c ** 2)) < 0.05
    assert np.sqrt(np.mean(err_r ** 2)) < 0.01 and np.sqrt(np.mean(err_c ** 2)) < 0.01
    chips = res["chips"]
    status = np.array(chips["status"])
    inside = ((np.array(chips["row"]) > 110) & (np.array(chips["row"]) < 250)
              & (np.array(chips["col"]) > 610) & (np.array(chips["col"]) < 790))
    assert inside.any() and not np.any(status[inside] == "accepted")
    assert res["n_accepted"] >= 150 and res["rms_row"] < 0.02 and res["rms_col"] < 0.02
    assert res["coarse"]["method"] == "correlation"


def test_magnitude_method_and_thread_invariance():
    m, s, dr, dc = make_pair((384, 384), lambda y: -1.3 + 0 * y, lambda x: 0.45 + 0 * x, 0.9,
                             seed=5)
    sources = {"master": ArraySource(m), "slave": ArraySource(s)}
    results = [Coregistration(coarse="correlation", grid=(6, 6), search=(6, 6),
                              chip_method=method, polynomial_order=0, min_chips=10,
                              threads=threads).reduce(sources)
               for method, threads in (("magnitude", 1), ("complex", 1), ("complex", 2))]
    for res in results:
        assert abs(res["row_coeffs"][0] - dr[0]) < 0.05
        assert abs(res["col_coeffs"][0] - dc[0]) < 0.05
    assert results[1] == results[2]


def test_orbit_seed_from_scene_records():
    """Same orbit, slave starts 5 lines later and 3 samples farther: offsets (-5, -3)."""
    master = make_scene(lines=400, samples=300)
    slave = dataclasses.replace(
        master, first_line_utc=master.first_line_utc + timedelta(
            seconds=5 * master.line_interval_s),
        first_sample_m=master.first_sample_m + 3 * master.sample_spacing_m)
    m_rec = scene_from_mapping(scene_metadata(master, "m.slc"), "inputs.master")
    s_rec = scene_from_mapping(scene_metadata(slave, "s.slc"), "inputs.slave")
    dr, dc = orbit_offsets(m_rec, s_rec, np.array([0.0, 200.0, 399.0]),
                           np.array([0.0, 150.0, 299.0]), height_m=500.0)
    np.testing.assert_allclose(dr, -5.0, atol=1e-3)
    np.testing.assert_allclose(dc, -3.0, atol=1e-6)


def test_errors_are_clear():
    with pytest.raises(ValueError, match="coarse='orbit' needs master_scene"):
        Coregistration()
    with pytest.raises(ValueError, match="method"):
        Coregistration(coarse="correlation", chip_method="phase")
    with pytest.raises(Exception, match="inputs.master"):
        scene_from_mapping({"sensor": {}}, "inputs.master")
    rng = np.random.default_rng(2)
    m = (rng.standard_normal((256, 256)) + 1j * rng.standard_normal((256, 256))).astype("c8")
    s = (rng.standard_normal((256, 256)) + 1j * rng.standard_normal((256, 256))).astype("c8")
    op = Coregistration(coarse="correlation", grid=(4, 4), search=(4, 4), min_chips=10)
    with pytest.raises(OperatorError, match="passed the SNR/correlation tests"):
        op.reduce({"master": ArraySource(m), "slave": ArraySource(s)})


def _scatterer_pair(shift: float, fringe: float, shape=(160, 448), seed=11):
    """The simulator's own synthesis: point scatterers, Kaiser-sinc IRF, constant offsets."""
    from peppers.operators.simulate.irf import ImpulseResponse
    from peppers.operators.simulate.scatterers import synthesize

    margin = 16
    ext = (shape[0] + 2 * margin, shape[1] + 2 * margin)
    cols = np.broadcast_to(np.arange(ext[1]) - margin, ext)
    irf = ImpulseResponse(0.85, 12)
    m, s = synthesize(shape, (margin, margin), beta=np.ones(ext, np.float32),
                      gamma=np.full(ext, 0.9, np.float32), row_offset=np.zeros(ext),
                      col_offset=np.full(ext, shift), phase=2 * np.pi * fringe * cols,
                      irf_azimuth=irf, irf_range=irf, per_axis=2, jitter=1.0, seed=seed,
                      threads=2)
    return m, s, lambda c0: 2 * np.pi * fringe * np.broadcast_to(np.arange(c0, c0 + 64),
                                                                 (64, 64))


@pytest.mark.parametrize("pair", ["fourier, plane fringe", "scatterers, exact phase"])
def test_complex_chips_not_locked_to_the_pixel_under_dense_fringes(pair):
    """Range fringe of -0.3 cycles/px at band 0.85: no pull towards the integer shift.

    Removing the fringe shifts a spectrum by 0.3 cycles/px, past Nyquist of the pixel
    grid (issue 14, the bperp-1200 m range bias of the chips). Mean error at +0.25 /
    -0.25 px before the chips were oversampled: -0.336 / +0.338 px (Fourier pair, the
    plane fringe measured and removed) and -0.006 / +0.016 px (the simulator's scatterers,
    the exact phase removed); after: -0.0014 / -0.0012 and about -0.0015 / -0.0015 px.
    """
    fringe, means = -0.3, []
    for shift in (0.25, -0.25):
        if pair.startswith("fourier"):
            m, s, _, _ = make_pair((160, 448), lambda y: 0 * y, lambda x: shift + 0 * x, 0.9,
                                   band=(0.85, 0.85), fringe=(0.0, fringe), seed=11)
            phase_of = None
        else:
            m, s, phase_of = _scatterer_pair(shift, fringe)
        errors = [correlate_chip(m[r0:r0 + 64, c0:c0 + 64], s[r0 - 6:r0 + 70, c0 - 6:c0 + 70],
                                 phase=None if phase_of is None else phase_of(c0)).col - shift
                  for r0 in range(12, 160 - 76, 32) for c0 in range(12, 448 - 76, 32)]
        means.append(float(np.mean(errors)))
    assert max(abs(v) for v in means) < 0.004, means
    assert abs(means[0] - means[1]) < 0.003, means
