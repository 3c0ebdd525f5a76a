"""BoxFilter, FFTConvolve and GaussianFilter against scipy, and their tiling invariance."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import ndimage, signal

from peppers.errors import OperatorError
from peppers.operators._arrays import read_region
from peppers.operators.filters import BoxFilter, FFTConvolve, GaussianFilter
from peppers.ppe.operator import ImageSpec
from peppers.ppe.region import Region
from peppers.ppe.testing import whole_image

SHAPE = (131, 97)


def _image(dtype, seed=7, shape=SHAPE):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 3 + 1
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype)


def _per_part(func, x):
    """Apply a real scipy filter to a real or complex image, in float64."""
    if x.dtype.kind == "c":
        return func(x.real.astype(np.float64)) + 1j * func(x.imag.astype(np.float64))
    return func(x.astype(np.float64))


regions = st.builds(
    lambda r, c, h, w: Region(r, c, min(h, SHAPE[0] - r), min(w, SHAPE[1] - c)),
    st.integers(0, SHAPE[0] - 1), st.integers(0, SHAPE[1] - 1),
    st.integers(1, 80), st.integers(1, 80))


# -- box filter ---------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
@pytest.mark.parametrize("size", [(5, 5), (3, 11), (4, 6), (1, 1), (7, 2)])
def test_box_filter_matches_scipy_uniform_filter(dtype, size):
    x = _image(dtype)
    out = whole_image(BoxFilter(size=size), input=x)["output"]
    ref = _per_part(lambda a: ndimage.uniform_filter(a, size, mode="mirror"), x)
    assert out.dtype == x.dtype and out.shape == x.shape
    tol = 1e-5 if x.dtype in (np.float32, np.complex64) else 1e-12
    np.testing.assert_allclose(out, ref, rtol=0, atol=tol * np.abs(ref).max())


def test_box_filter_integer_input_gives_float64_exact_mean():
    x = np.arange(40, dtype=np.int16).reshape(5, 8)
    out = whole_image(BoxFilter(size=(3, 3)), input=x)["output"]
    assert out.dtype == np.float64
    assert out[2, 3] == x[1:4, 2:5].mean()


def test_box_filter_declares_window_as_halo_and_region():
    op = BoxFilter(size=(5, 25))
    assert op.halo == (2, 12)
    assert op.input_region(Region(10, 20, 4, 6), {})["input"] == Region(8, 8, 8, 30)
    assert BoxFilter(size=(4, 4)).input_region(Region(10, 10, 1, 1), {})["input"] == \
        Region(8, 8, 4, 4)


@pytest.mark.parametrize("size", [(0, 3), (3,), (2.5, 3), "5x5", (True, 3)])
def test_box_filter_rejects_bad_size(size):
    with pytest.raises((ValueError, TypeError), match="size"):
        BoxFilter(size=size)


def test_box_filter_refuses_wrong_input_shape():
    op = BoxFilter(size=(3, 3))
    with pytest.raises(OperatorError, match=r"box_filter: input 'input' has shape \(4, 4\)"):
        op.compute({"input": np.zeros((4, 4))}, Region(0, 0, 4, 4))


# -- FFT convolution ----------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
def test_fft_convolve_equals_direct_convolution(dtype):
    rng = np.random.default_rng(3)
    kernel = rng.standard_normal((7, 5))
    x = _image(dtype)
    out = whole_image(FFTConvolve(kernel=kernel.tolist(), block=32), input=x)["output"]
    padded = np.pad(x.astype(np.complex128 if x.dtype.kind == "c" else np.float64),
                    ((3, 3), (2, 2)), mode="reflect")
    ref = signal.convolve2d(padded, kernel, mode="valid")
    assert out.dtype == x.dtype and out.shape == x.shape
    tol = 2e-6 if x.dtype in (np.float32, np.complex64) else 1e-12
    np.testing.assert_allclose(out, ref, rtol=0, atol=tol * np.abs(ref).max())


@pytest.mark.parametrize("sigma", [1.0, (2.5, 0.8), (0.0, 3.0)])
def test_gaussian_filter_matches_scipy(sigma):
    x = _image(np.complex64)
    op = GaussianFilter(sigma=sigma)
    out = whole_image(op, input=x)["output"]
    ref = _per_part(lambda a: ndimage.gaussian_filter(a, op.sigma, mode="mirror", truncate=4.0), x)
    np.testing.assert_allclose(out, ref, rtol=0, atol=2e-6 * np.abs(ref).max())
    assert op.halo == tuple(int(4.0 * s + 0.5) for s in op.sigma)


@pytest.mark.parametrize("block", [1, 16, 37, 128, 1000])
def test_fft_block_size_changes_rounding_only(block):
    x = _image(np.float64)
    ref = ndimage.gaussian_filter(x, 1.5, mode="mirror")
    out = whole_image(GaussianFilter(sigma=1.5, block=block), input=x)["output"]
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-12 * np.abs(ref).max())


def test_fft_input_region_covers_whole_anchored_blocks():
    op = GaussianFilter(sigma=2.0, block=64)  # radius 8
    assert op.input_region(Region(70, 10, 20, 100), {})["input"] == Region(56, -8, 80, 144)
    assert op.block_area(Region(0, 0, 64, 64)) == Region(0, 0, 64, 64)


@pytest.mark.parametrize("kernel", [[[1.0, 2.0]], [1.0, 2.0, 3.0], [[float("nan")]], [["a"]]])
def test_fft_convolve_rejects_bad_kernels(kernel):
    with pytest.raises(ValueError, match="kernel"):
        FFTConvolve(kernel=kernel)


def test_gaussian_rejects_negative_sigma_and_bad_block():
    with pytest.raises(ValueError, match="sigma"):
        GaussianFilter(sigma=-1.0)
    with pytest.raises(ValueError, match="block"):
        GaussianFilter(sigma=1.0, block=0)


# -- tiling invariance: a sub-region from exactly the requested input ----------------
OPERATORS = {
    "box": lambda: BoxFilter(size=(5, 9)),
    "box_even": lambda: BoxFilter(size=(4, 2)),
    "gauss": lambda: GaussianFilter(sigma=(2.0, 1.0), block=32),
    "conv": lambda: FFTConvolve(kernel=np.arange(15.0).reshape(3, 5).tolist(), block=24),
}


@pytest.mark.parametrize("name", sorted(OPERATORS))
@given(region=regions)
def test_sub_region_from_requested_input_is_bit_identical(name, region):
    op = OPERATORS[name]()
    x = _image(np.complex64, seed=11)
    whole = whole_image(op, input=x)["output"]
    spec = {"input": ImageSpec(x.shape, x.dtype)}
    wanted = op.input_region(region, spec)["input"]
    assert wanted.contains(region)
    tile = read_region(x, wanted, op.edge_mode)
    part = op.compute({"input": tile}, region)["output"]
    assert part.shape == region.shape
    assert np.array_equal(part, whole[region.slices])
