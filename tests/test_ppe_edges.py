"""Edge handling equals numpy.pad on the whole image, for any request."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from peppers.io.source import ArraySource
from peppers.ppe.edges import fetch, fill, reflect_index, source_region
from peppers.ppe.operator import ImageSpec
from peppers.ppe.region import Region
from peppers.ppe.testing import padded


regions = st.builds(Region, st.integers(-40, 40), st.integers(-40, 40),
                    st.integers(0, 50), st.integers(0, 50))


@given(region=regions, rows=st.integers(1, 13), cols=st.integers(1, 13),
       mode=st.sampled_from(["reflect", "constant", "nodata"]))
def test_fetch_equals_numpy_pad(region, rows, cols, mode):
    image = np.arange(rows * cols, dtype="float64").reshape(rows, cols) + 1
    source = ArraySource(image)
    reads = []

    def read(r):
        reads.append(r)
        return source.read(r)

    got = fetch(read, region, source.spec, mode)
    value = np.nan if mode == "nodata" else 0.0
    np.testing.assert_array_equal(got, padded(image, region, mode, value))
    for r in reads:  # only pixels inside the image are ever read
        assert r.clip(image.shape) == r


def test_reflect_index_matches_numpy_pad_for_long_requests():
    for n in (1, 2, 3, 7):
        line = np.arange(n)
        padded = np.pad(line, 3 * n + 2, mode="reflect")
        np.testing.assert_array_equal(reflect_index(np.arange(-3 * n - 2, 4 * n + 2), n), padded)


def test_inside_requests_are_not_copied():
    data = np.arange(100.0).reshape(10, 10)
    inside = Region(2, 3, 4, 5)
    assert fill(data, Region(0, 0, 10, 10), Region(0, 0, 10, 10), (10, 10), "reflect") is data
    view = fill(data, Region(0, 0, 10, 10), inside, (10, 10), "reflect")
    assert np.shares_memory(view, data)
    np.testing.assert_array_equal(view, data[inside.slices])


def test_source_region_of_a_request_wholly_outside():
    assert source_region(Region(-9, 0, 3, 4), (10, 10), "reflect") == Region(7, 0, 3, 4)
    assert source_region(Region(-9, 0, 3, 4), (10, 10), "constant").is_empty


def test_nodata_fill_uses_the_spec_value():
    spec = ImageSpec((4, 4), "int16", nodata=-9999)
    got = fetch(ArraySource(np.ones((4, 4), "int16")).read, Region(-1, -1, 3, 3), spec, "nodata")
    assert got[0, 0] == -9999 and got[2, 2] == 1


def test_unknown_mode_is_rejected():
    from peppers.ppe.edges import check_mode

    with pytest.raises(ValueError, match="edge_mode 'wrap'"):
        check_mode("wrap", "my_op")
