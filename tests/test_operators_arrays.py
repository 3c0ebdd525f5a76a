"""Edge filling of requested regions (the reference the operator tests rely on)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from peppers.errors import OperatorError
from peppers.operators._arrays import (positive_pair, prepare_input, read_region,
                                       reflect_index, working_dtype)
from peppers.ppe.region import Region

IMAGE = np.arange(7 * 9, dtype=np.float32).reshape(7, 9)


@given(row=st.integers(-20, 20), col=st.integers(-20, 20),
       height=st.integers(0, 30), width=st.integers(0, 30),
       mode=st.sampled_from(["reflect", "constant", "nodata"]))
def test_read_region_matches_numpy_pad(row, col, height, width, mode):
    region = Region(row, col, height, width)
    pad = 60
    if mode == "reflect":
        big = np.pad(IMAGE, pad, mode="reflect")
    else:
        big = np.pad(IMAGE, pad, mode="constant",
                     constant_values=np.nan if mode == "nodata" else 0)
    expected = big[region.shift(pad, pad).slices]
    got = read_region(IMAGE, region, mode)
    assert got.shape == region.shape and got.dtype == IMAGE.dtype
    np.testing.assert_array_equal(got, expected)


@given(row=st.integers(-4, 10), col=st.integers(-4, 12), height=st.integers(0, 6),
       width=st.integers(0, 6), mode=st.sampled_from(["reflect", "constant"]))
def test_read_region_from_a_window_equals_from_the_whole(row, col, height, width, mode):
    region = Region(row, col, height, width)
    window = Region(0, 0, 7, 9)
    if mode == "reflect":  # the window must hold every mirrored pixel
        rows = reflect_index(np.arange(region.row, region.row_stop), 7)
        cols = reflect_index(np.arange(region.col, region.col_stop), 9)
    else:
        rows = np.clip(np.arange(region.row, region.row_stop), 0, 6)
        cols = np.clip(np.arange(region.col, region.col_stop), 0, 8)
    if rows.size and cols.size:
        window = Region.from_bounds(int(rows.min()), int(rows.max()) + 1,
                                    int(cols.min()), int(cols.max()) + 1)
    part = IMAGE[window.slices]
    got = read_region(part, region, mode, window=window, image_shape=IMAGE.shape)
    np.testing.assert_array_equal(got, read_region(IMAGE, region, mode))


def test_read_region_refuses_pixels_the_window_lacks():
    with pytest.raises(ValueError, match="outside the window"):
        read_region(IMAGE[2:5], Region(0, 0, 3, 3), "reflect", window=Region(2, 0, 3, 9),
                    image_shape=IMAGE.shape)
    with pytest.raises(ValueError, match="edge mode"):
        read_region(IMAGE, Region(0, 0, 1, 1), "wrap")


def test_dtype_policy_and_input_checks():
    assert working_dtype(np.int32, "op") == np.float64
    assert working_dtype(np.complex64, "op") == np.complex64
    with pytest.raises(OperatorError, match="op: input 'x' has dtype <U3"):
        working_dtype(np.dtype("U3"), "op", "x")
    arr = np.asfortranarray(np.ones((3, 4), np.float64))
    out = prepare_input("op", "input", arr, (3, 4), np.float32)
    assert out.flags.c_contiguous and out.dtype == np.float32
    with pytest.raises(OperatorError, match=r"op: input 'input' has shape \(3, 4\), but"):
        prepare_input("op", "input", arr, (4, 4), np.float32)
    assert positive_pair("op", "size", (3, 4)) == (3, 4)
    with pytest.raises(ValueError, match="op: size must be two integers >= 1"):
        positive_pair("op", "size", 5)
