"""Invariance: a tiled, threaded run equals the operators applied to whole arrays.

The chain has four operators with halos or moving pixels -- a box filter
(numba running sums), an FFT filter (pyFFTW), a pixel-wise phase ramp in
absolute coordinates and a windowed-sinc polynomial resampler -- plus a
two-input operator fed twice from one node (fan-out). The reference calls
each operator's ``compute`` once on whole arrays, edges padded by
``numpy.pad``.
"""

from __future__ import annotations

import numpy as np
import pytest

from peppers.operators.filters import BoxFilter, GaussianFilter
from peppers.operators.pixelwise import Multiply, PhaseRamp
from peppers.operators.resample import PolynomialResampler
from peppers.ppe import Pipeline, SerialExecutor
from peppers.ppe.testing import RequestMonitor, whole_image

SHAPE = (600, 440)


def _operators():
    return [BoxFilter(size=(5, 7)), GaussianFilter(sigma=(2.0, 1.5)),
            PhaseRamp(row_rate=0.013, col_rate=-0.021),
            PolynomialResampler(row_coeffs=[1.5, 0.001, 0.0],
                                col_coeffs=[-2.25, 0.0, 0.002])]


@pytest.fixture(scope="module")
def image():
    rng = np.random.default_rng(7)
    return (rng.normal(size=SHAPE) + 1j * rng.normal(size=SHAPE)).astype("complex64")


@pytest.fixture(scope="module")
def reference(image):
    x = image
    for op in _operators():
        x = whole_image(op, input=x)["output"]
    return x, whole_image(Multiply(), a=x, b=x)["output"]


def _run(image, tile, threads, mem="512M", executor=None):
    p = Pipeline(tile_shape=tile, threads=threads, mem=mem)
    x = p.source(image, name="slc")
    for op in _operators():
        x = p.add(op, x)
    p.output(x, name="chain")
    p.output(p.add(Multiply(), a=x, b=x, name="power"), name="power")
    monitor = RequestMonitor()
    result = p.run(observers=[monitor], executor=executor)
    return result, monitor


@pytest.mark.parametrize("tile, threads", [
    ((64, 64), 1), ((64, 64), 4), ((96, 160), 2), ((256, 256), 3), ((1024, 1024), 1),
    ((1024, 1024), 4)])
def test_tiled_equals_whole_array(image, reference, tile, threads):
    result, monitor = _run(image, tile, threads)
    chain, power = reference
    scale = np.abs(chain).max()
    np.testing.assert_allclose(result["chain"], chain, rtol=0, atol=2e-5 * scale)
    np.testing.assert_allclose(result["power"], power, rtol=0, atol=4e-5 * scale ** 2)
    monitor.assert_streaming()
    monitor.assert_computed_once()            # ample budget: no tile computed twice
    n_tiles = -(-SHAPE[0] // tile[0]) * -(-SHAPE[1] // tile[1])
    assert result.stats.run == 2 * n_tiles    # a task per tile of each target node
    assert monitor.computations() == 5 * n_tiles


def test_small_budget_evicts_and_stays_exact(image, reference):
    full, _ = _run(image, (64, 64), 1, executor=SerialExecutor())
    result, monitor = _run(image, (64, 64), 2, mem="1M")
    np.testing.assert_array_equal(result["chain"], full["chain"])
    stats = result.stats
    assert stats.peak_cache_bytes <= 2 ** 20
    assert sum(c.evictions for c in stats.caches.values()) > 0
    assert monitor.computations() > 5 * stats.run  # evicted tiles were recomputed
    assert full.stats.hit_rate > 0.5 and 0 < stats.hit_rate < full.stats.hit_rate
