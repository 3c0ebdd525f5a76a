"""Common-band filters: design, shift estimate, coherence gain, phase kept, tiling."""

from __future__ import annotations

import numpy as np
import pytest

from peppers.operators.spectral import (AzimuthCommonBand, RangeCommonBand, bandpass_taps,
                                        common_band, fringe_frequency)
from peppers.ppe import apply
from support.pairs import PAD, coherence_and_phase, make_pair

FRINGE = (0.01, 0.15)


@pytest.fixture(scope="module")
def aligned_pair():
    m, s, _, _ = make_pair((512, 512), lambda y: 0 * y, lambda x: 0 * x, 0.8, fringe=FRINGE,
                           seed=11)
    return m, s


def test_filter_design():
    assert common_band(0.1, 0.85) == pytest.approx((0.05, -0.05, 0.75))
    assert common_band(-0.2, 0.85)[2] == pytest.approx(0.65)
    taps = bandpass_taps(0.1, 0.5, 65)
    response = lambda f: abs(np.sum(taps[::-1] * np.exp(-2j * np.pi * f * np.arange(-32, 33))))  # noqa: E731,E501
    assert response(0.1) == pytest.approx(1.0, abs=0.01)
    assert response(0.1 + 0.2) > 0.95 and response(0.1 - 0.2) > 0.95
    assert response(0.1 + 0.4) < 0.02 and response(0.1 - 0.4) < 0.02


def test_fringe_frequency_estimate(aligned_pair):
    m, s = aligned_pair
    f, snr = fringe_frequency(m[:256, :128].astype(complex) * np.conj(s[:256, :128]))
    assert f == pytest.approx(FRINGE[1], abs=0.004) and snr > 10
    assert fringe_frequency(np.zeros((4, 8))) == (0.0, 0.0)


def direct_fringe_frequency(z: np.ndarray) -> tuple[float, float]:
    """The definition: every line zero-padded to 4 x the width, power spectra summed."""
    from peppers.operators.fft import next_fast_length

    n = next_fast_length(4 * z.shape[1])
    power = np.sum(np.abs(np.fft.fft(z, n=n, axis=1)) ** 2, axis=0)
    k = int(np.argmax(power))
    ym, y0, yp = power[k - 1], power[k], power[(k + 1) % n]
    f = (k + np.clip(0.5 * (ym - yp) / (ym - 2 * y0 + yp), -0.5, 0.5)) / n
    return (f - 1.0 if f >= 0.5 else f), y0 / power.mean()


@pytest.mark.parametrize("shape, dtype", [((64, 128), np.complex64), ((37, 53), np.complex128),
                                          ((5, 100), np.complex64)])
def test_fringe_frequency_through_autocorrelation_equals_padded_spectra(shape, dtype):
    rng = np.random.default_rng(sum(shape))
    cols = np.arange(shape[1])
    z = (np.exp(2j * np.pi * (0.137 * cols + rng.uniform(0, 1, (shape[0], 1))))
         + 0.7 * (rng.standard_normal(shape) + 1j * rng.standard_normal(shape))).astype(dtype)
    f, snr = fringe_frequency(z)
    want_f, want_snr = direct_fringe_frequency(z.astype(np.complex128))
    assert f == pytest.approx(want_f, abs=1e-6) and abs(f - 0.137) < 0.01
    assert snr == pytest.approx(want_snr, rel=1e-4)


@pytest.mark.parametrize("centre, width, first_col", [(0.1, 0.7, 0), (-0.23, 0.5, 12345),
                                                     (0.0, 0.85, 7)])
def test_shifted_lowpass_fir_equals_the_complex_band_pass(centre, width, first_col):
    from peppers.operators._spectral_kernels import fir_rows_shifted
    from peppers.operators.spectral import lowpass_taps

    rng = np.random.default_rng(first_col)
    x = (rng.standard_normal((6, 90)) + 1j * rng.standard_normal((6, 90))).astype(np.complex64)
    taps = bandpass_taps(centre, width, 33)
    out = np.empty((4, 40), np.complex64)
    # the definition, y[j] = sum_k taps[k] x[j + k] in complex128; x[:, 0] is image column
    # first_col, the window of out[:, 0] starts at x[1, 3]
    want = np.array([[np.sum(taps * row[3 + j:3 + j + 33]) for j in range(40)] for row in x[1:5]])
    fir_rows_shifted(x, lowpass_taps(width, 33), centre, first_col, 1, 3, out)
    np.testing.assert_allclose(out, want, atol=2e-6 * np.abs(want).max())


def test_range_filter_restores_coherence_and_keeps_phase(aligned_pair):
    m, s = aligned_pair
    before, _ = coherence_and_phase(m, s, FRINGE)
    op = RangeCommonBand(estimate_window=(256, 128))
    fm, fs = apply(op, master=m, slave=s, tile_shape=(256, 256), threads=2)
    after, phase = coherence_and_phase(fm, fs, FRINGE)
    # the spectral shift costs (B - |f|) / B of the coherence; the filter wins it back
    assert before < 0.8 * (0.85 - 0.15) / 0.85 + 0.03
    assert after > 0.77 and after > before + 0.08
    assert abs(phase) < 0.02


def test_range_filter_is_tiling_invariant(aligned_pair):
    m, s = aligned_pair
    op = RangeCommonBand(estimate_window=(128, 128), fir_taps=21)
    ref = apply(op, master=m, slave=s, tile_shape=(512, 512), threads=1)
    for tile, threads in (((128, 128), 2), ((100, 300), 2), ((64, 512), 1)):
        out = apply(op, master=m, slave=s, tile_shape=tile, threads=threads)
        for a, b in zip(ref, out):
            np.testing.assert_array_equal(a, b)


def test_low_snr_block_falls_back_to_no_shift():
    rng = np.random.default_rng(3)
    noise = (rng.standard_normal((2, 64, 64)) + 1j * rng.standard_normal((2, 64, 64)))
    op = RangeCommonBand(snr_threshold=1e6)
    from peppers.ppe.region import Region

    assert op.block_shift(noise[0], noise[1], Region(0, 0, 64, 64)) == 0.0


def test_azimuth_filter_identity_and_band_match(aligned_pair):
    m, s = aligned_pair
    same = apply(AzimuthCommonBand(), master=m, slave=s, tile_shape=(128, 128))
    np.testing.assert_array_equal(same[0], m)
    np.testing.assert_array_equal(same[1], s)
    op = AzimuthCommonBand(master_doppler=0.1, slave_doppler=-0.1, fir_taps=65)
    fm, _ = apply(op, master=m, slave=s, tile_shape=(128, 512))
    spectrum = np.mean(np.abs(np.fft.fft(fm[64:-64], axis=0)) ** 2, axis=1)
    freq = np.fft.fftfreq(spectrum.size)
    # common band [-0.325, 0.325]: power kept inside, removed outside
    inside = spectrum[np.abs(freq) < 0.28].mean()
    outside = spectrum[(np.abs(freq) > 0.37) & (np.abs(freq) < 0.42)].mean()
    assert outside < 0.02 * inside
    with pytest.raises(ValueError, match="fir_taps"):
        AzimuthCommonBand(fir_taps=4)
    with pytest.raises(ValueError, match="bandwidth"):
        RangeCommonBand(bandwidth=1.5)
