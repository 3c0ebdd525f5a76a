"""Multilook: block means, square ground pixels, and the phase-noise acceptance vs the CRB."""

from __future__ import annotations

import math

import numpy as np
import pytest

from peppers.operators.coherence import phase_crb
from peppers.operators.flat_earth import FlatEarthModel
from peppers.operators.interferogram import Interferogram
from peppers.operators.multilook import Multilook, ground_spacing, square_looks
from peppers.ppe import Pipeline, apply
from peppers.ppe.region import Region
from peppers.ppe.testing import whole_image
from peppers.scene import scene_metadata
from support.scenes import scene_pair


def test_block_means_real_and_complex():
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(53, 47)) + 1j * rng.normal(size=(53, 47))).astype(np.complex64)
    out = apply(Multilook(looks=(4, 3)), x, tile_shape=(5, 4), threads=2)
    assert out.shape == (13, 15) and out.dtype == np.complex64
    expected = x[:52, :45].reshape(13, 4, 15, 3).astype(np.complex128).mean(axis=(1, 3))
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)
    real = apply(Multilook(looks=(1, 2)), np.arange(12.0).reshape(2, 6))
    np.testing.assert_array_equal(real, [[0.5, 2.5, 4.5], [6.5, 8.5, 10.5]])
    with pytest.raises(ValueError, match="looks"):
        Multilook(looks=(0, 2))


def test_tiles_and_threads_identical():
    rng = np.random.default_rng(1)
    x = (rng.normal(size=(203, 157)) + 1j * rng.normal(size=(203, 157))).astype(np.complex64)
    op = Multilook(looks=(5, 3))
    whole = whole_image(op, input=x)["output"]
    for tile_shape, threads in (((7, 11), 2), ((40, 52), 1), ((64, 64), 2)):
        np.testing.assert_array_equal(apply(op, x, tile_shape=tile_shape, threads=threads), whole)


def test_square_looks_from_incidence_and_spacing():
    master, _ = scene_pair(400, 300)
    meta = scene_metadata(master, "m.slc.vrt")
    azimuth_m, ground_m, incidence = ground_spacing(meta)
    # independent check: spherical-Earth incidence from the orbit radius and slant range
    sat = np.linalg.norm(master.positions_m[4])
    earth = 6371e3
    rng = master.slant_range(150)
    look = math.acos((sat**2 + rng**2 - earth**2) / (2 * sat * rng))
    spherical = math.degrees(math.asin(sat / earth * math.sin(look)))
    assert incidence == pytest.approx(spherical, abs=0.5)
    assert ground_m == pytest.approx(master.sample_spacing_m / math.sin(math.radians(incidence)))
    speed = np.linalg.norm(master.velocities_mps[4]) * earth / sat  # ground-track speed, roughly
    assert azimuth_m == pytest.approx(speed * master.line_interval_s, rel=0.03)
    looks = square_looks(meta, 2)
    assert looks[1] == 2 and abs(looks[0] * azimuth_m - 2 * ground_m) <= azimuth_m / 2
    assert Multilook(looks=(9, 2), scene=meta).looks == looks


@pytest.mark.parametrize("gamma", [0.8, 0.9])
@pytest.mark.parametrize("looks", [(5, 5), (4, 8)])
def test_multilooked_flattened_phase_meets_crb(gamma, looks):
    """Phase error of the flattened, multilooked interferogram within 20 % of the CRB.

    The SLC samples are independent (white circular Gaussian speckle), so the
    independent looks are L = looks[0] * looks[1].
    """
    lines, samples = 600, 480
    master, slave = scene_pair(lines, samples)
    rng = np.random.default_rng(int(gamma * 10) + looks[1])
    r, c = np.mgrid[:lines, :samples]
    topo = 0.015 * r + 2.0 * np.sin(c / 60.0)  # a gentle "topographic" phase, radians
    flat = FlatEarthModel(master, slave).phase(Region.full((lines, samples)))
    n1 = rng.normal(size=(lines, samples)) + 1j * rng.normal(size=(lines, samples))
    n2 = rng.normal(size=(lines, samples)) + 1j * rng.normal(size=(lines, samples))
    m = (n1 * np.exp(1j * (flat + topo))).astype(np.complex64)
    s = (gamma * n1 + math.sqrt(1 - gamma**2) * n2).astype(np.complex64)
    p = Pipeline(tile_shape=(100, 120), threads=2, mem="64M")
    ifg = p.add(Interferogram(master=scene_metadata(master, "m"), slave=scene_metadata(slave, "s")),
                master=p.source(m), slave=p.source(s))
    p.output(p.add(Multilook(looks=looks), ifg), name="ml")
    ml = p.run()["ml"]
    la, lr = looks
    h, w = ml.shape
    truth = np.angle(np.exp(1j * topo[:h * la, :w * lr]).reshape(h, la, w, lr).mean(axis=(1, 3)))
    error = np.angle(ml * np.exp(-1j * truth))
    measured = float(np.sqrt(np.mean(error**2)))
    bound = phase_crb(gamma, la * lr)
    assert abs(float(np.mean(error))) < 0.1 * bound  # unbiased: the flat earth is gone
    assert measured == pytest.approx(bound, rel=0.20), (measured, bound)


def test_fringe_multilook_keeps_the_signal_of_a_steep_fringe():
    """A 0.15 cycle/px fringe: the box average keeps sinc(0.75)^2 of it, slope-aware all of it."""
    from peppers.operators.multilook import FringeMultilook

    rng = np.random.default_rng(3)
    rows, cols = np.mgrid[0:200, 0:150]
    f_r, f_c = 0.05, 0.15
    phase = 2 * np.pi * (f_r * rows + f_c * cols)
    noise = 0.5 * (rng.normal(size=rows.shape) + 1j * rng.normal(size=rows.shape))
    ifg = (np.exp(1j * phase) + noise).astype(np.complex64)
    slopes = {"slope_rows": np.full(rows.shape, f_r, np.float32),
              "slope_cols": np.full(rows.shape, f_c, np.float32)}
    op = FringeMultilook(looks=(5, 5))
    out = apply(op, ifg, tile_shape=(64, 64), threads=2, **slopes)
    box = apply(Multilook(looks=(5, 5)), ifg)
    centre = 2 * np.pi * (f_r * (rows[2::5, 2::5]) + f_c * (cols[2::5, 2::5]))
    assert out.shape == box.shape == centre.shape
    gain = np.sinc(5 * f_r) * np.sinc(5 * f_c)
    assert np.mean(box * np.exp(-1j * centre)).real == pytest.approx(gain, rel=0.05)
    assert np.mean(out * np.exp(-1j * centre)).real == pytest.approx(1.0, rel=0.03)
    err_box = np.angle(box * np.exp(-1j * centre))
    err = np.angle(out * np.exp(-1j * centre))
    assert abs(np.mean(err)) < 0.01 and abs(np.mean(err_box)) < 0.02
    assert np.std(err) < 0.85 * np.std(err_box)
    # tiles, threads; off = the plain box average
    whole = whole_image(op, input=ifg, **slopes)["output"]
    for tile_shape, threads in (((7, 11), 2), ((40, 52), 1)):
        np.testing.assert_array_equal(apply(op, ifg, tile_shape=tile_shape, threads=threads,
                                            **slopes), whole)
    plain = apply(FringeMultilook(looks=(5, 5), slope_compensation=False), ifg, **slopes)
    np.testing.assert_array_equal(plain, box)
