"""The DEM-error cycle check of DEM refinement (operators/dem_error_check.py).

Truth: a residual height built from a smooth DEM error ``e`` and an
amplification field ``A`` (``r = -A e``, the linearised range-circle relation
of :func:`amplification`), plus small noise; whole-cycle blunders injected in
clusters where ``A`` is large (where the chain's blunders are). The check must
put back exactly the injected cycles, move no other pixel, and leave a rough
error (no smooth model) alone.
"""

from __future__ import annotations

import numpy as np

from peppers.operators.dem_error_check import amplification, check_cycles, windowed_nanmedian

HA = -5.13          # signed height of one residual cycle (m), Bperp 2500 m
SHAPE = (80, 100)


def _fields(seed=1):
    rng = np.random.default_rng(seed)
    r, c = np.mgrid[0:SHAPE[0], 0:SHAPE[1]].astype(float)
    e = 4.0 * np.sin(2 * np.pi * r / 70 + 0.4) + 3.0 * np.cos(2 * np.pi * c / 55 + 1.1)
    amp = 1.2 + 0.6 * np.sin(2 * np.pi * c / 23) * np.cos(2 * np.pi * r / 31)
    residual = -amp * e + rng.normal(0.0, 0.1, SHAPE)
    return e, amp, residual, rng


def _blunders(amp, rng, count=12):
    k = np.zeros(SHAPE, dtype=np.int64)
    peaks = np.argwhere(amp > 1.65)
    for i in rng.choice(len(peaks), count, replace=False):
        y, x = peaks[i]
        k[max(0, y - 1):y + 1, max(0, x - 1):x + 2] = rng.choice([-1, 1])
    return k


def test_windowed_nanmedian_matches_numpy():
    a = np.random.default_rng(0).normal(size=(13, 17))
    a[3, 4] = a[7, 0] = np.nan
    out = windowed_nanmedian(a, 5, rows_per_block=4)
    pad = np.pad(a, 2, constant_values=np.nan)
    want = np.array([[np.nanmedian(pad[i:i + 5, j:j + 5]) for j in range(17)] for i in range(13)])
    np.testing.assert_allclose(out, want)


def test_amplification_of_a_tilted_dem():
    # DEM rising 0.5 m per metre of slant range, incidence 40 deg: A = 1 + 0.5 cos(40)
    rng_m = 850e3 + 20.0 * np.arange(6)
    dem = np.tile(0.5 * (rng_m - rng_m[0]), (3, 1))
    np.testing.assert_allclose(amplification(dem, rng_m, np.cos(np.radians(40.0))),
                               1 + 0.5 * np.cos(np.radians(40.0)))


def test_check_puts_back_the_injected_cycles():
    e, amp, residual, rng = _fields()
    k = _blunders(amp, rng)
    assert 40 <= np.count_nonzero(k) <= 80
    cycles, rejected, model = check_cycles(residual + k * HA, np.full(SHAPE, HA), amp, 9, 0.3)
    np.testing.assert_array_equal(cycles, -k)             # every blunder back, nothing else moved
    assert rejected.sum() == 0
    # the model is the truth's residual within the noise where it is trusted
    ok = np.isfinite(model)
    assert ok.mean() > 0.95
    assert np.sqrt(np.mean((model[ok] + amp[ok] * e[ok]) ** 2)) < 0.3


def test_check_rejects_what_no_cycle_explains():
    e, amp, residual, rng = _fields(2)
    bad = residual.copy()
    bad[40, 50] += 0.5 * HA                                # half a cycle: no whole cycle fits
    cycles, rejected, model = check_cycles(bad, np.full(SHAPE, HA), amp, 9, 0.3)
    assert rejected[40, 50] and rejected.sum() == 1 and not cycles.any()
    assert abs(model[40, 50] - residual[40, 50]) < 0.5


def test_check_leaves_a_rough_dem_error_alone():
    rng = np.random.default_rng(3)
    amp = np.full(SHAPE, 1.3)
    residual = -amp * rng.normal(0.0, 5.0, SHAPE)           # white 5 m error: no smooth model
    cycles, rejected, model = check_cycles(residual, np.full(SHAPE, HA), amp, 9, 0.3)
    assert not cycles.any() and not rejected.any() and np.isnan(model).all()
