"""FringeSlope: accuracy on plane fringes (clean and noisy), phasor interpolation, tiling."""

from __future__ import annotations

import numpy as np
import pytest

from peppers.errors import OperatorError
from peppers.operators import _slope_kernels as kernels
from peppers.operators.slope import FringeSlope
from peppers.ppe import apply
from peppers.ppe.operator import ImageSpec
from peppers.ppe.region import Region
from peppers.ppe.testing import whole_image

SHAPE = (160, 192)
INNER = (slice(16, -16), slice(32, -32))


def fringe(f_rows, f_cols, gamma=1.0, seed=0, shape=SHAPE):
    r, c = np.mgrid[:shape[0], :shape[1]]
    ifg = np.exp(2j * np.pi * (f_rows * r + f_cols * c))
    if gamma < 1:
        rng = np.random.default_rng(seed)
        n1 = rng.normal(size=shape) + 1j * rng.normal(size=shape)
        n2 = rng.normal(size=shape) + 1j * rng.normal(size=shape)
        ifg = ifg * n1 * np.conj(gamma * n1 + np.sqrt(1 - gamma**2) * n2)
    return ifg.astype(np.complex64)


@pytest.mark.parametrize("window", [(16, 16), (16, 32), (16, 64)])
@pytest.mark.parametrize("freq", [(0.1, -0.2), (0.25, 0.013), (-0.37, 0.41), (0.0, 0.0),
                                  (0.003, -0.49)])
def test_plane_fringe_is_measured(window, freq):
    rows, cols = apply(FringeSlope(window=window), fringe(*freq), tile_shape=(64, 64))
    err_r = (rows[INNER] - freq[0] + 0.5) % 1 - 0.5
    err_c = (cols[INNER] - freq[1] + 0.5) % 1 - 0.5
    assert np.abs(err_r).max() < 1e-3 and np.abs(err_c).max() < 1e-3


@pytest.mark.parametrize("gamma, tolerance", [(0.5, 0.01), (0.3, 0.02)])
def test_noisy_fringe_scatter(gamma, tolerance):
    rows, cols = apply(FringeSlope(), fringe(0.17, -0.08, gamma, seed=4), tile_shape=(80, 96))
    assert abs(np.mean(rows[INNER]) - 0.17) < tolerance / 5
    assert np.std(rows[INNER]) < tolerance and np.std(cols[INNER] + 0.08) < tolerance


def test_interpolation_goes_through_the_wrap_not_zero():
    node_r = np.array([[0.49, -0.49], [0.49, -0.49]])
    node_c = np.zeros((2, 2))
    out_r = np.empty((1, 8), np.float32)
    out_c = np.empty((1, 8), np.float32)
    kernels.interpolate_frequencies(node_r, node_c, 0, 0, 0, 0, 8, 8, out_r, out_c)
    assert np.all(np.abs(out_r) > 0.48), out_r  # around +-0.5, never through 0
    assert np.all(out_c == 0)


def test_interpolation_is_exact_on_a_plane_of_frequencies_across_the_wrap():
    """Bilinear interpolation reproduces a frequency linear in (row, col), also where
    it passes +-0.5 cycles/pixel between nodes."""
    a, b = np.mgrid[:4, :5]
    step = (8, 16)
    truth = lambda r, c: (0.45 + 0.004 * r + 0.001 * c + 0.5) % 1 - 0.5  # noqa: E731
    nodes = truth(a * step[0], b * step[1])
    out_r = np.empty((24, 64), np.float32)
    out_c = np.empty((24, 64), np.float32)
    kernels.interpolate_frequencies(nodes, -nodes, 0, 0, 0, 0, *step, out_r, out_c)
    r, c = np.mgrid[:24, :64]
    err = (out_r - truth(r, c) + 0.5) % 1 - 0.5
    assert np.abs(err).max() < 1e-6 and np.any(np.abs(truth(r, c)) > 0.49)
    assert np.abs((out_c + truth(r, c) + 0.5) % 1 - 0.5).max() < 1e-6


@pytest.mark.parametrize("window, oversampling", [((16, 32), 4), ((12, 20), 4), ((16, 64), 2),
                                                  ((2, 3), 4), ((16, 16), 1)])
def test_local_search_finds_the_full_spectrum_peak(window, oversampling):
    """The coarse-to-fine search against the full zero-padded FFT (the reference), on
    a curved fringe at coherence 0.5: the same bin at every node but on noise ties."""
    r, c = np.mgrid[:SHAPE[0], :SHAPE[1]]
    ifg = fringe(0.0, 0.0, 0.5, seed=7) * np.exp(2j * np.pi * (0.11 * r - 0.2 * c
                                                               + 4e-4 * r * c)).astype(np.complex64)
    outs = {m: apply(FringeSlope(window=window, oversampling=oversampling, method=m), ifg,
                     tile_shape=(64, 64)) for m in ("local", "spectrum")}
    diff = np.maximum(np.abs(outs["local"][0] - outs["spectrum"][0]),
                      np.abs(outs["local"][1] - outs["spectrum"][1]))
    assert np.mean(diff < 1e-5) > 0.97, np.mean(diff < 1e-5)
    assert np.median(diff) < 1e-6


def test_tiles_and_threads_identical_to_whole_image():
    ifg = fringe(0.21, 0.33, gamma=0.6, seed=2, shape=(131, 150))
    for op in (FringeSlope(), FringeSlope(window=(16, 64), oversampling=2, step=(5, 7)),
               FringeSlope(window=(12, 20), method="spectrum")):
        whole = whole_image(op, input=ifg)
        for tile_shape, threads in (((32, 32), 2), ((45, 70), 1), ((131, 150), 2)):
            rows, cols = apply(op, ifg, tile_shape=tile_shape, threads=threads)
            np.testing.assert_array_equal(rows, whole["rows"])
            np.testing.assert_array_equal(cols, whole["cols"])


def test_regions_and_errors():
    op = FringeSlope(window=(16, 32))
    assert op.step == (8, 16)
    asked = op.input_region(Region(8, 16, 8, 16), {})["input"]
    assert asked == Region(0, 0, 24, 48)  # nodes 1..2 x 1..2, each window centred on its node
    with pytest.raises(ValueError, match="oversampling"):
        FringeSlope(oversampling=0)
    with pytest.raises(ValueError, match="window"):
        FringeSlope(window=(1, 16))
    with pytest.raises(ValueError, match="method"):
        FringeSlope(method="fast")
    with pytest.raises(OperatorError, match="complex"):
        op.output_spec({"input": ImageSpec((10, 10), np.float32)})
    zeros = apply(op, np.zeros((40, 40), np.complex64))
    assert np.all(zeros[0] == 0) and np.all(zeros[1] == 0)
