"""The operators release the GIL, so tiles on two threads run in parallel.

What is checked here is the cause: every numba kernel the box filter and
the resampler run is compiled ``nogil`` (the Gaussian filter's transforms
are pyFFTW's, which release the GIL themselves), and a tile computed on a
worker thread equals the same tile computed here. How much that buys --
main-thread progress while tiles compute, 2 threads against 1 -- is a
speed, measured by ``benchmarks/operators_gil.py``, never asserted.
"""

from __future__ import annotations

import threading

import numba
import numpy as np
import pytest

from peppers.operators import _filter_kernels, _resample_kernels
from peppers.operators._arrays import read_region
from peppers.operators.filters import BoxFilter, GaussianFilter
from peppers.operators.resample import PolynomialResampler
from peppers.ppe.region import Region

RNG = np.random.default_rng(8)
IMAGE = (RNG.standard_normal((300, 300)) + 1j * RNG.standard_normal((300, 300))
         ).astype(np.complex64)

OPERATORS = {
    "box": lambda: BoxFilter(size=(9, 25)),
    "gaussian": lambda: GaussianFilter(sigma=3.0),
    "resample": lambda: PolynomialResampler(row_coeffs=[0.3, 1e-4, 2e-4],
                                            col_coeffs=[-0.6, 0.0, 1e-4]),
}


@pytest.mark.parametrize("module", [_filter_kernels, _resample_kernels])
def test_every_kernel_is_compiled_without_the_gil(module):
    dispatcher = numba.core.registry.CPUDispatcher
    kernels = [k for k in vars(module).values() if isinstance(k, dispatcher)]
    assert kernels, module.__name__
    for kernel in kernels:
        assert kernel.targetoptions.get("nogil") is True, kernel


@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_tiles_on_threads_equal_tiles_here(name):
    op = OPERATORS[name]()
    regions = [Region(64 * k, 32, 128, 128) for k in range(3)]
    tiles = [read_region(IMAGE, op.input_region(r, {})["input"], op.edge_mode) for r in regions]
    here = [op.compute({"input": t}, r)["output"] for t, r in zip(tiles, regions)]
    there: dict[int, np.ndarray] = {}
    threads = [threading.Thread(target=lambda k=k: there.__setitem__(
        k, op.compute({"input": tiles[k]}, regions[k])["output"])) for k in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for k in range(3):
        np.testing.assert_array_equal(there[k], here[k])
