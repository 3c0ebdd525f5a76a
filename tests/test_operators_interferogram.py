"""Interferogram formation and the flat-earth model against exact per-pixel geometry."""

from __future__ import annotations

import numpy as np
import pytest

from peppers.errors import OperatorError, SceneError
from peppers.operators.flat_earth import FlatEarthModel
from peppers.operators.interferogram import Interferogram
from peppers.ppe import apply
from peppers.ppe.operator import ImageSpec
from peppers.ppe.region import Region
from peppers.scene import scene_from_mapping, scene_metadata
from support.scenes import scene_pair


@pytest.fixture(scope="module")
def pair():
    master, slave = scene_pair(300, 240)
    return master, slave, scene_metadata(master, "m.slc.vrt"), scene_metadata(slave, "s.slc.vrt")


@pytest.mark.parametrize("spacing", [(64, 64), (128, 32)])
def test_flat_earth_model_matches_exact_geometry(pair, spacing):
    master, slave, _, _ = pair
    model = FlatEarthModel(master, slave, spacing=spacing)
    rng = np.random.default_rng(0)
    rows, cols = rng.integers(0, 300, 500), rng.integers(0, 240, 500)
    rows[:4], cols[:4] = [0, 0, 299, 299], [0, 239, 0, 239]
    exact = model.exact(rows, cols)
    approx = model.phase(Region.full(master.shape))[rows, cols]
    assert np.abs(approx - exact).max() < 1e-4
    # and the phase is a real flat-earth ramp: thousands of radians, fringes in range
    assert exact.min() > 1e3 and np.ptp(exact) > 30


def test_flat_earth_phase_from_independent_range_difference(pair):
    """phi = 4 pi (r2 - r1) / lambda with r2 the distance to the slave orbit at closest approach."""
    master, slave, _, _ = pair
    from peppers.geometry.zero_doppler import rdr2geo

    model = FlatEarthModel(master, slave)
    row, col = 150, 120
    xyz, _ = rdr2geo(master.azimuth_seconds(row), master.slant_range(col), master.orbit(),
                     master.look_side, 0.0)
    times = np.linspace(-2.0, 2.0, 400001)  # brute-force closest approach on the slave orbit
    pos, _ = slave.orbit().interpolate(times)
    r2 = np.linalg.norm(pos - xyz, axis=1).min()
    expected = 4 * np.pi / master.wavelength_m * (r2 - master.slant_range(col))
    assert model.phase(Region(row, col, 1, 1))[0, 0] == pytest.approx(expected, abs=2e-3)


def test_flattened_interferogram_leaves_the_topographic_phase(pair):
    master, slave, m_meta, s_meta = pair
    rng = np.random.default_rng(1)
    shape = master.shape
    r, c = np.mgrid[:shape[0], :shape[1]]
    topo = 0.02 * r + 3.0 * np.sin(c / 40.0)
    flat = FlatEarthModel(master, slave).exact(r, c)
    speckle = rng.normal(size=shape) + 1j * rng.normal(size=shape)
    m = (speckle * np.exp(1j * (flat + topo))).astype(np.complex64)
    s = speckle.astype(np.complex64)
    op = Interferogram(master=m_meta, slave=s_meta)
    out = apply(op, master=m, slave=s, tile_shape=(64, 96), threads=2)
    residual = np.angle(out * np.exp(-1j * topo))
    assert np.abs(residual).max() < 2e-3  # complex64 products of phases of ~1e4 rad
    for tile_shape in ((300, 240), (37, 53)):
        np.testing.assert_array_equal(apply(op, master=m, slave=s, tile_shape=tile_shape), out)
    plain = apply(Interferogram(flat_earth=False), master=m, slave=s)
    np.testing.assert_allclose(plain, m * np.conj(s), rtol=1e-6, atol=1e-5)


def band_limited(shape, band, rng):
    """Complex Gaussian noise whose range spectrum fills ``band`` of the sampling rate."""
    x = rng.normal(size=shape) + 1j * rng.normal(size=shape)
    spectrum = np.fft.fft(x, axis=1)
    spectrum[:, np.abs(np.fft.fftfreq(shape[1])) > band / 2] = 0
    return np.fft.ifft(spectrum, axis=1)


def test_range_oversampling_matches_an_fft_reference(pair):
    """oversampling 2 = the product at twice the rate (FFT zero padding), 1/4 1/2 1/4 back."""
    master, slave, m_meta, s_meta = pair
    rng = np.random.default_rng(5)
    shape = master.shape
    a = band_limited(shape, 0.85, rng)
    b = 0.8 * a + 0.6 * band_limited(shape, 0.85, rng)
    m, s = a.astype(np.complex64), b.astype(np.complex64)

    def doubled(x):  # exact band-limited interpolation of a periodic signal
        n = x.shape[1]
        spectrum = np.fft.fft(x, axis=1)
        padded = np.zeros((x.shape[0], 2 * n), complex)
        padded[:, :n // 2], padded[:, -n // 2:] = spectrum[:, :n // 2], spectrum[:, -n // 2:]
        return 2 * np.fft.ifft(padded, axis=1)

    p = doubled(a) * np.conj(doubled(b))
    reference = 0.5 * p[:, 0::2] + 0.25 * (np.roll(p, 1, axis=1)[:, 0::2] + p[:, 1::2])
    op = Interferogram(flat_earth=False, oversampling=2)
    out = apply(op, master=m, slave=s, tile_shape=(64, 96), threads=2)
    inner = (slice(None), slice(20, -20))   # away from the periodic wrap of the reference
    err = np.abs(out[inner] - reference[inner]) / np.sqrt(np.mean(np.abs(reference) ** 2))
    assert np.sqrt(np.mean(err ** 2)) < 0.02   # 16-tap Kaiser sinc at a 0.85 band: ~1.2 %
    # the plain product differs from it by the aliased part, far more than the interpolator
    plain = apply(Interferogram(flat_earth=False), master=m, slave=s)
    assert np.sqrt(np.mean(np.abs(plain - reference)[inner] ** 2)) > 0.1 * np.sqrt(
        np.mean(np.abs(reference) ** 2))
    for tile_shape, threads in (((300, 240), 1), ((37, 53), 2)):
        np.testing.assert_array_equal(apply(op, master=m, slave=s, tile_shape=tile_shape,
                                            threads=threads), out)
    # flattened: each sample with its own flat-earth phase; the topographic phase is left
    r, c = np.mgrid[:shape[0], :shape[1]]
    flat = FlatEarthModel(master, slave).exact(r, c)
    flattened = apply(Interferogram(master=m_meta, slave=s_meta, oversampling=2),
                      master=(a * np.exp(1j * flat)).astype(np.complex64), slave=s,
                      tile_shape=(64, 96), threads=2)
    residual = np.angle(flattened[inner] * np.conj(out[inner]))
    weight = np.abs(out[inner])
    assert np.sum(weight * np.abs(residual)) / np.sum(weight) < 0.02
    with pytest.raises(ValueError, match="oversampling"):
        Interferogram(flat_earth=False, oversampling=3)


def test_scene_mapping_errors_name_the_field(pair):
    _, _, m_meta, s_meta = pair
    broken = {**m_meta, "range": {"sample_spacing_m": 2.3}}
    with pytest.raises(SceneError, match=r"inputs.master: range.first_sample_m"):
        Interferogram(master=broken, slave=s_meta)
    assert scene_from_mapping(m_meta).shape == (300, 240)
    with pytest.raises(ValueError, match="flat_earth needs"):
        Interferogram(master=m_meta)
    op = Interferogram(master=m_meta, slave=s_meta)
    with pytest.raises(OperatorError, match="describes"):
        op.output_spec({"master": ImageSpec((10, 10), np.complex64),
                         "slave": ImageSpec((10, 10), np.complex64)})
    with pytest.raises(OperatorError, match="resample"):
        op.output_spec({"master": ImageSpec((300, 240), np.complex64),
                        "slave": ImageSpec((300, 241), np.complex64)})
