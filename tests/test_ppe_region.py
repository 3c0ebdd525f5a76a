"""Properties of Region and TileGrid (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from peppers.ppe.region import Region, TileGrid

coords = st.integers(-50, 200)
sizes = st.integers(0, 120)
regions = st.builds(Region, coords, coords, sizes, sizes)
shapes = st.tuples(st.integers(1, 300), st.integers(1, 300))
tile_shapes = st.tuples(st.integers(1, 128), st.integers(1, 128))


def _mask(region: Region, shape=(600, 600), offset=100) -> np.ndarray:
    """Boolean picture of a region on a canvas that also shows negative coordinates."""
    canvas = np.zeros(shape, bool)
    canvas[region.row + offset:region.row_stop + offset,
           region.col + offset:region.col_stop + offset] = True
    return canvas


@given(regions, regions)
def test_intersection_is_the_pixelwise_and(a, b):
    assert (_mask(a) & _mask(b)).sum() == a.intersection(b).size
    if not a.intersection(b).is_empty:
        assert np.array_equal(_mask(a) & _mask(b), _mask(a.intersection(b)))


@given(regions, regions)
def test_union_contains_both_and_is_tight(a, b):
    u = a.union(b)
    assert u.contains(a) and u.contains(b)
    if not a.is_empty and not b.is_empty:
        assert u.row == min(a.row, b.row) and u.col_stop == max(a.col_stop, b.col_stop)


@given(regions, st.integers(0, 20), st.integers(0, 20))
def test_grow_adds_a_halo_on_every_side(r, dr, dc):
    g = r.grow(dr, dc)
    assert g.shape == (r.height + 2 * dr, r.width + 2 * dc)
    assert g.contains(r)
    assert r.slices == tuple(slice(s.start + d, s.stop - d) for s, d in zip(g.slices, (dr, dc)))


@given(regions, shapes)
def test_clip_keeps_only_pixels_inside(r, shape):
    c = r.clip(shape)
    assert Region.full(shape).contains(c)
    assert c.size == (_mask(r) & _mask(Region.full(shape))).sum()


@given(regions, st.integers(0, 10))
def test_relative_to_selects_the_same_pixels(r, halo):
    outer = r.grow(halo)
    base = np.arange(600 * 600).reshape(600, 600)
    shifted = outer.shift(100, 100)
    block = base[shifted.slices]
    assert np.array_equal(block[r.relative_to(outer)], base[r.shift(100, 100).slices])


def test_relative_to_refuses_a_region_outside():
    with pytest.raises(ValueError, match="not inside"):
        Region(0, 0, 10, 10).relative_to(Region(1, 1, 5, 5))


def test_negative_size_is_refused():
    with pytest.raises(ValueError, match="size must be >= 0"):
        Region(0, 0, -1, 3)


@given(shapes, tile_shapes)
def test_tiles_cover_every_pixel_exactly_once(shape, tile_shape):
    grid = TileGrid(shape, tile_shape)
    count = np.zeros(shape, int)
    for index, tile in enumerate(grid):
        count[tile.slices] += 1
        assert grid.index_of(tile) == index
        assert grid.tile_at(*grid.position(index)) == tile
    assert (count == 1).all()


@given(shapes, tile_shapes, regions)
def test_covering_lists_exactly_the_intersecting_tiles(shape, tile_shape, r):
    grid = TileGrid(shape, tile_shape)
    expected = [i for i, t in enumerate(grid) if not t.intersection(r).is_empty]
    assert grid.covering(r) == expected


def test_index_of_refuses_a_non_tile():
    grid = TileGrid((100, 100), (32, 32))
    with pytest.raises(ValueError, match="not a tile"):
        grid.index_of(Region(1, 0, 32, 32))
    with pytest.raises(IndexError):
        grid.tile(len(grid))
