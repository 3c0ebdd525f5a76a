"""Coregistration and resampling on real speckle: Sentinel-1 TOPS burst, UAVSAR (issue 13).

Each real SLC is the master; the slave is the same SLC moved by a smooth known
offset field (up to about 2 px, varying across the scene) with the test's own
16-tap sinc, carrying the scene's real azimuth carrier (the TOPS ramp of the
burst; the UAVSAR product's Doppler LUT, which is zero) so the pair looks like
a real repeat (``support.real_repeat``). The chain takes the carrier from the
scene ``pep import s1`` writes (checked against the test's own evaluation of
the annotation to 1e-4 cycles per line). The chain's coregistration must find
the offsets to 0.02 px RMS, and after resampling the pair's coherence must be
at least 0.98, measurably lower with the carrier switched off. Numbers in
docs/coregistration.md.
"""

from __future__ import annotations

import numpy as np
import pytest
from support import real_repeat as rr
from support.drs import pep

from peppers.io.source import ArraySource
from peppers.operators.coregister import Coregistration, design_matrix
from peppers.operators.doppler import carrier_grid, scene_carrier
from peppers.operators.slave_resample import SlaveResampleFilter
from peppers.ppe import apply
from peppers.scene import load_scene

MARGIN = 20


def _fitted_error(offsets, truth_r, truth_c):
    """RMS of the fitted polynomial minus the truth over the image interior, px."""
    h, w = truth_r.shape
    rows, cols = np.meshgrid(np.arange(h, dtype=float), np.arange(w, dtype=float),
                             indexing="ij")
    a = design_matrix(rows.ravel(), cols.ravel(), offsets["order"],
                      tuple(offsets["center"]), tuple(offsets["scale"]))
    inner = (slice(MARGIN, -MARGIN), slice(MARGIN, -MARGIN))
    err_r = (a @ np.array(offsets["row_coeffs"])).reshape(h, w) - truth_r
    err_c = (a @ np.array(offsets["col_coeffs"])).reshape(h, w) - truth_c
    return (float(np.sqrt(np.mean(err_r[inner] ** 2))),
            float(np.sqrt(np.mean(err_c[inner] ** 2))))


def _chain(master, slave, carrier, *, doppler, grid, chip=(64, 64)):
    """The chain's coregistration and resampling (no range filter: one acquisition)."""
    offsets = Coregistration(coarse="correlation", grid=grid, chip_size=chip, search=(6, 6),
                             polynomial_order=2, min_chips=20, threads=2, doppler=doppler,
                             master_carrier=carrier, slave_carrier=carrier).reduce(
        {"master": ArraySource(master), "slave": ArraySource(slave)})
    pm, ps = apply(SlaveResampleFilter(offsets=offsets, range_filter=False, doppler=doppler,
                                       slave_carrier=carrier),
                   master=master, slave=slave, tile_shape=(256, 256), threads=2)
    return offsets, rr.coherence(pm, ps)


@pytest.fixture(scope="module")
def s1_pair(tmp_path_factory):
    """The crop, its repeat, the true offsets, and the chain's carrier from ``pep import s1``."""
    master = rr.s1_crop()
    phase, carrier_hz, prf = rr.s1_tops_phase()
    slave, d_row, d_col = rr.make_repeat(master, phase, rr.offset_field(master.shape))
    out = tmp_path_factory.mktemp("s1")
    pep("import", "s1", "-", str(out), "--swath", "3", "--burst", str(rr.S1_CROP[2] + 1),
        "--annotation", str(rr.S1_XML.absolute()), "--measurement", str(rr.S1_TIFF.absolute()),
        "--measurement-offset", str(rr.S1_CROP[0]), str(rr.S1_CROP[1]), "--name", "b7",
        cwd=out)
    scene = load_scene(out / "b7.yaml")
    assert scene.shape == master.shape and scene.tops is not None
    carrier = scene_carrier(scene)
    # the scene's TOPS ramp (importer + TopsBurst.doppler) agrees with the test's own
    ours = carrier_grid(carrier_hz, *master.shape, prf)
    assert np.abs(np.asarray(carrier["values"]) - np.asarray(ours["values"])).max() < 1e-4
    return master, slave, d_row, d_col, carrier


def test_s1_tops_burst_coregistration_and_resampling(s1_pair):
    master, slave, d_row, d_col, carrier = s1_pair
    assert 1.5 < max(np.abs(d_row).max(), np.abs(d_col).max()) < 2.5
    # the crop's azimuth carrier sweeps several PRFs: a steered TOPS spectrum
    values = np.asarray(carrier["values"])
    assert values.max() - values.min() > 3.0
    # chips of 128 lines x 64 samples: about square on the ground (14 m x 4 m pixels)
    offsets, (coh, total) = _chain(master, slave, carrier, doppler=True, grid=(16, 32),
                                   chip=(128, 64))
    rms = _fitted_error(offsets, d_row, d_col)
    assert max(rms) <= 0.02, rms
    assert coh >= 0.98 and total >= 0.98
    off_offsets, (off_coh, off_total) = _chain(master, slave, carrier, doppler=False,
                                               grid=(16, 32), chip=(128, 64))
    assert max(_fitted_error(off_offsets, d_row, d_col)) > 2 * max(rms)
    assert off_coh < coh - 0.05 and off_total < 0.6


@pytest.fixture(scope="module")
def winnipeg_pair():
    master, prf, lut = rr.winnipeg()
    assert not np.any(lut)  # the product states zero Doppler everywhere
    slave, d_row, d_col = rr.make_repeat(master, None, rr.offset_field(master.shape))
    return master, slave, d_row, d_col, prf


def test_uavsar_winnipeg_coregistration_and_resampling(winnipeg_pair):
    master, slave, d_row, d_col, _ = winnipeg_pair
    offsets, (coh, total) = _chain(master, slave, {}, doppler=True, grid=(8, 8))
    assert max(_fitted_error(offsets, d_row, d_col)) <= 0.02
    assert coh >= 0.98 and total >= 0.98


@pytest.mark.parametrize("doppler_prf", [0.17])
def test_uavsar_winnipeg_as_a_native_doppler_product(winnipeg_pair, doppler_prf):
    """The same speckle with an Envisat-like Doppler centroid (0.17 PRF) imposed."""
    master, _, _, _, prf = winnipeg_pair
    phase = lambda rows, cols: 2 * np.pi * doppler_prf * rows  # noqa: E731
    dopplered = (master * np.exp(1j * phase(*np.indices(master.shape)))).astype(np.complex64)
    slave, d_row, d_col = rr.make_repeat(dopplered, phase, rr.offset_field(master.shape))
    carrier = carrier_grid(lambda r, c: np.full(np.broadcast(r, c).shape, doppler_prf * prf),
                           *master.shape, prf)
    offsets, (coh, total) = _chain(dopplered, slave, carrier, doppler=True, grid=(8, 8))
    assert max(_fitted_error(offsets, d_row, d_col)) <= 0.02
    assert coh >= 0.98 and total >= 0.98
    off_offsets, (off_coh, off_total) = _chain(dopplered, slave, carrier, doppler=False,
                                               grid=(8, 8))
    assert max(_fitted_error(off_offsets, d_row, d_col)) > 0.05
    assert off_coh < coh - 0.05 and off_total < total - 0.05
