"""Coherence: the Touzi expected value, homogeneous patches, fringe compensation, tiling."""

from __future__ import annotations

import math

import numpy as np
import pytest

from peppers.errors import OperatorError
from peppers.operators import _coherence_kernels as kernels
from peppers.operators._trig_kernels import cos_sin_turns
from peppers.operators.coherence import Coherence, expected_sample_coherence, phase_crb
from peppers.operators.pixelwise import Multiply
from peppers.operators.slope import FringeSlope
from peppers.ppe import Pipeline
from peppers.ppe.operator import ImageSpec

SHAPE = (260, 300)
INNER = (slice(20, -20), slice(30, -30))


def _series(gamma: float, n: int) -> float:
    """E|gamma_hat| by summing the 3F2 series term by term (independent of scipy)."""
    z = gamma * gamma
    total, k = 0.0, 0
    log_prefix = math.lgamma(n) + math.lgamma(1.5) - math.lgamma(n + 0.5) + n * math.log1p(-z)
    while True:
        log_term = (math.lgamma(1.5 + k) - math.lgamma(1.5)
                    + 2 * (math.lgamma(n + k) - math.lgamma(n))
                    - (math.lgamma(n + 0.5 + k) - math.lgamma(n + 0.5))
                    - 2 * math.lgamma(k + 1))
        if k == 0:
            term = math.exp(log_prefix)
        elif z == 0:
            term = 0.0
        else:
            term = math.exp(log_prefix + log_term + k * math.log(z))
        total += term
        if k > 10 and term < 1e-15 * total:
            return total
        k += 1


def pair(gamma: float, fringe=(0.0, 0.0), seed: int = 1, shape=SHAPE):
    """Correlated circular Gaussian SLCs with coherence ``gamma`` and a plane fringe in m s*."""
    rng = np.random.default_rng(seed)
    n1 = rng.normal(size=shape) + 1j * rng.normal(size=shape)
    n2 = rng.normal(size=shape) + 1j * rng.normal(size=shape)
    r, c = np.mgrid[:shape[0], :shape[1]]
    slave = (gamma * n1 + math.sqrt(1 - gamma * gamma) * n2)
    slave = slave * np.exp(-2j * np.pi * (fringe[0] * r + fringe[1] * c))
    return n1.astype(np.complex64), slave.astype(np.complex64)


def estimate(master, slave, window, compensate=True, tile_shape=(128, 128), threads=2):
    """Interferogram -> fringe slope -> coherence, through the engine."""
    p = Pipeline(tile_shape=tile_shape, threads=threads, mem="64M")
    m, s = p.source(master), p.source(slave)
    ifg = p.add(Multiply(), a=m, b=s)
    rows, cols = p.add(FringeSlope(), ifg)
    coh = p.add(Coherence(window=window, slope_compensation=compensate),
                interferogram=ifg, master=m, slave=s, slope_rows=rows, slope_cols=cols)
    p.output(coh, name="coherence")
    return p.run()["coherence"]


@pytest.mark.parametrize("n, expected", [
    (25, (0.178, 0.254, 0.512, 0.802, 0.950)),   # 5 x 5 (reference notes, Touzi 1999)
    (9, (0.300, 0.344, 0.539, 0.806, 0.950)),
])
def test_expected_coherence_reference_values(n, expected):
    got = [expected_sample_coherence(g, n) for g in (0.0, 0.2, 0.5, 0.8, 0.95)]
    np.testing.assert_allclose(got, expected, atol=6e-4)


@pytest.mark.parametrize("n", [2, 9, 25, 49, 125])
@pytest.mark.parametrize("gamma", [0.0, 0.3, 0.5, 0.8, 0.95])
def test_expected_coherence_equals_series(n, gamma):
    assert expected_sample_coherence(gamma, n) == pytest.approx(_series(gamma, n), abs=1e-9)


def test_expected_coherence_limits_and_errors():
    assert expected_sample_coherence(0.7, 1) == 1.0
    assert expected_sample_coherence(1.0, 25) == 1.0
    with pytest.raises(ValueError):
        expected_sample_coherence(1.2, 25)
    with pytest.raises(ValueError):
        expected_sample_coherence(0.5, 0.5)
    assert phase_crb(0.8, 20) == pytest.approx(0.1186, abs=1e-4)


@pytest.mark.parametrize("window", [(5, 5), (5, 25)])
@pytest.mark.parametrize("gamma", [0.0, 0.5, 0.8])
def test_homogeneous_patch_matches_touzi(window, gamma):
    """Mean estimate on a homogeneous patch = E|gamma_hat| for N = rows * cols (+-0.02)."""
    master, slave = pair(gamma, seed=int(10 * gamma) + window[1])
    expected = expected_sample_coherence(gamma, window[0] * window[1])
    plain = estimate(master, slave, window, compensate=False)[INNER].mean()
    compensated = estimate(master, slave, window)[INNER].mean()
    assert plain == pytest.approx(expected, abs=0.01)
    # demodulating a fitted fringe can only raise |sum| a little (most at gamma = 0)
    assert compensated == pytest.approx(expected, abs=0.02)


@pytest.mark.parametrize("window", [(5, 5), (5, 25)])
@pytest.mark.parametrize("gamma", [0.5, 0.8])
@pytest.mark.parametrize("fringe", [(0.25, 0.0), (0.0, 0.25), (0.2, -0.15), (0.05, 0.25)])
def test_fringe_is_compensated(window, gamma, fringe):
    """With up to 0.25 cycles/pixel of fringe, the compensated mean stays within 0.03."""
    master, slave = pair(gamma, seed=3)
    reference = estimate(master, slave, window)[INNER].mean()
    master, slave = pair(gamma, fringe, seed=3)
    compensated = estimate(master, slave, window)[INNER].mean()
    raw = estimate(master, slave, window, compensate=False)[INNER].mean()
    assert compensated == pytest.approx(reference, abs=0.03)
    assert raw < reference - 0.1  # the uncompensated estimate really is biased


@pytest.mark.parametrize("nr, nc", [(5, 7), (1, 1), (3, 1), (1, 5)])
def test_kernel_equals_the_estimator_written_out(nr, nc):
    """Horner's evaluation against the formula of the kernels' docstring, summed
    directly with numpy's phasors, per pixel, on random data and frequencies."""
    rng = np.random.default_rng(11)
    h, w = 9, 13
    ifg, master, slave = ((rng.normal(size=(h + nr - 1, w + nc - 1))
                           + 1j * rng.normal(size=(h + nr - 1, w + nc - 1))).astype(np.complex64)
                          for _ in range(3))
    f_rows, f_cols = rng.uniform(-0.5, 0.5, (2, h, w))
    out = np.empty((h, w), np.float32)
    kernels.coherence(ifg, master, slave, f_rows, f_cols, nr, nc, True, out)
    i, j = np.mgrid[:nr, :nc]
    for r in range(h):
        for c in range(w):
            demod = np.exp(-2j * np.pi * (f_rows[r, c] * (i - nr // 2) + f_cols[r, c] * (j - nc // 2)))
            num = np.sum(ifg[r:r + nr, c:c + nc].astype(np.complex128) * demod)
            den = np.sqrt(np.sum(np.abs(master[r:r + nr, c:c + nc].astype(np.complex128)) ** 2)
                          * np.sum(np.abs(slave[r:r + nr, c:c + nc].astype(np.complex128)) ** 2))
            assert out[r, c] == pytest.approx(min(abs(num) / den, 1.0), rel=1e-6)


def test_cos_sin_turns_matches_numpy():
    import numba

    @numba.njit
    def evaluate(f, c, s):
        for k in range(f.size):
            c[k], s[k] = cos_sin_turns(f[k])

    f = np.concatenate([np.random.default_rng(2).uniform(-0.5, 0.5, 100_000),
                        [-0.5, -0.25, 0.0, 0.125, 0.25, 0.4999999]])
    c, s = np.empty_like(f), np.empty_like(f)
    evaluate(f, c, s)
    assert np.abs(c - np.cos(2 * np.pi * f)).max() < 1e-15
    assert np.abs(s - np.sin(2 * np.pi * f)).max() < 1e-15
    evaluate(f + 3.0, c, s)  # whole turns are removed first
    assert np.abs(c - np.cos(2 * np.pi * f)).max() < 1e-14


def test_tiles_and_threads_give_identical_results():
    master, slave = pair(0.6, (0.13, -0.21), seed=5, shape=(150, 170))
    first = estimate(master, slave, (5, 25), tile_shape=(150, 170), threads=1)
    for tile_shape, threads in (((32, 48), 2), ((61, 37), 2), ((100, 170), 1)):
        np.testing.assert_array_equal(estimate(master, slave, (5, 25), tile_shape=tile_shape,
                                               threads=threads), first)


def test_zero_pixels_give_zero_and_window_errors():
    master, slave = pair(0.9, shape=(40, 40))
    master[:20] = 0
    coh = estimate(master, slave, (5, 5), tile_shape=(16, 16))
    assert np.all(coh[:18] == 0) and coh[25:].min() > 0.3
    with pytest.raises(ValueError, match="odd"):
        Coherence(window=(4, 5))
    specs = {p: ImageSpec((10, 10), np.complex64) for p in Coherence.inputs}
    specs["slope_rows"] = ImageSpec((10, 11), np.float32)
    with pytest.raises(OperatorError, match="slope_rows"):
        Coherence().output_spec(specs)
