"""The engine's GIL-free paths give the same pixels as the plain numpy ones.

Edge filling straight from several tiles (``fill_from``) against
``numpy.pad`` of the whole image; row-by-row positional I/O in a numba
kernel against numpy slicing (and its error path); the tile cache's
``busy`` snapshot; the benchmark's per-thread time split; and that every
kernel on the engine's path really releases the GIL.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peppers.errors import ImageError
from peppers.io import _raw_kernels
from peppers.io.raw import RawImage
from peppers.ppe import _edge_kernels
from peppers.ppe.cache import TileCache
from peppers.ppe.edges import axis_map, fill_from
from peppers.ppe.operator import ImageSpec
from peppers.ppe.region import Region, TileGrid
from peppers.ppe.testing import padded

MODES = ["reflect", "constant", "nodata"]


@settings(max_examples=150, deadline=None)
@given(rows=st.integers(1, 17), cols=st.integers(1, 17), tile=st.integers(1, 7),
       row=st.integers(-25, 25), col=st.integers(-25, 25), height=st.integers(0, 30),
       width=st.integers(0, 30), mode=st.sampled_from(MODES),
       dtype=st.sampled_from(["complex64", "float32", "int16", ">f8"]))
def test_fill_from_tiles_equals_numpy_pad(rows, cols, tile, row, col, height, width, mode,
                                          dtype):
    image = (np.arange(rows * cols).reshape(rows, cols) + 1).astype(dtype)
    region = Region(row, col, height, width)
    grid = TileGrid((rows, cols), (tile, tile))
    pieces = [(grid.tile(i), image[grid.tile(i).slices]) for i in range(len(grid))]
    value = -7 if mode == "nodata" else 0
    got = fill_from(pieces, region, image.shape, mode, value, image.dtype)
    assert got.dtype == image.dtype and got.shape == region.shape
    np.testing.assert_array_equal(got, padded(image, region, mode, value))


def test_fill_from_refuses_pieces_that_miss_pixels():
    image = np.ones((6, 6), np.float32)
    with pytest.raises(ValueError, match="maps to image pixels"):
        fill_from([(Region(0, 0, 3, 6), image[:3])], Region(-1, 0, 6, 6), (6, 6), "constant",
                  0, np.float32)


def test_fill_from_a_request_wholly_outside_is_all_fill_value():
    got = fill_from([], Region(-5, -5, 2, 3), (4, 4), "nodata", np.nan, np.complex64)
    assert got.shape == (2, 3) and np.isnan(got).all()


def test_axis_map_mirrors_or_marks_outside():
    assert axis_map(-3, 6, 4, "reflect").tolist() == [3, 2, 1, 0, 1, 2, 3, 2, 1]
    assert axis_map(-1, 5, 4, "nodata").tolist() == [-1, 0, 1, 2, 3, -1]
    assert axis_map(0, 3, 1, "reflect").tolist() == [0, 0, 0]


@pytest.mark.parametrize("dtype", ["complex64", "uint8", "float64"])
def test_narrow_regions_round_trip_through_the_row_kernel(tmp_path, dtype):
    rng = np.random.default_rng(3)
    shape = (37, 53)
    truth = (rng.standard_normal(shape) * 50).astype(dtype)
    with RawImage.create(tmp_path / "a.vrt", ImageSpec(shape, dtype)) as img:
        for r0, c0, h, w in [(0, 0, 37, 20), (0, 20, 37, 33), (5, 7, 1, 1)]:
            region = Region(r0, c0, h, w)
            img.write(region, truth[region.slices])
        for r0, c0, h, w in [(3, 5, 20, 11), (36, 52, 1, 1), (0, 1, 37, 52)]:
            region = Region(r0, c0, h, w)
            np.testing.assert_array_equal(img.read(region), truth[region.slices])
    on_disk = np.fromfile(tmp_path / "a.raw", dtype=dtype).reshape(shape)
    np.testing.assert_array_equal(on_disk, truth)


def test_narrow_read_of_a_shrunk_file_names_it(tmp_path):
    with RawImage.create(tmp_path / "t.vrt", ImageSpec((10, 10), "float32")) as img:
        img.write(Region(0, 0, 10, 10), np.ones((10, 10), np.float32))
        img.flush()
        os.truncate(tmp_path / "t.raw", 4 * 10 * 6 + 8)
        with pytest.raises(ImageError, match=r"t\.raw: truncated image"):
            img.read(Region(4, 3, 4, 5))
        np.testing.assert_array_equal(img.read(Region(0, 1, 5, 2)), 1)


def test_row_kernel_reports_the_first_row_it_could_not_read(tmp_path):
    path = tmp_path / "short.bin"
    path.write_bytes(bytes(range(40)))
    out = np.zeros((4, 6), np.uint8)
    fd = os.open(path, os.O_RDONLY)
    try:
        failed = _raw_kernels.transfer_rows(fd, out, 2, 12, False)
    finally:
        os.close(fd)
    assert failed == 3                 # rows start at 2, 14, 26, 38: the last ends past byte 40
    assert out[:3].tolist() == [list(range(s, s + 6)) for s in (2, 14, 26)]
    assert out[3, :2].tolist() == [38, 39]


def test_engine_kernels_release_the_gil():
    for kernel in (_raw_kernels.transfer_rows, _edge_kernels.remap):
        assert kernel.targetoptions.get("nogil") is True, kernel


def test_busy_is_true_only_while_another_thread_computes():
    cache = TileCache("node", 1 << 20, {7: 2})
    started, release = threading.Event(), threading.Event()

    def compute():
        started.set()
        release.wait(5)
        return np.zeros(3)

    worker = threading.Thread(target=cache.get, args=(7, compute))
    worker.start()
    assert started.wait(5)
    assert cache.busy(7) and not cache.busy(8)
    release.set()
    worker.join(5)
    assert not cache.busy(7) and 7 in cache


def test_measured_threads_split_the_workers_time():
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    try:
        import _common
    finally:
        sys.path.pop(0)
    executor = _common.MeasuredThreads(2)
    try:
        futures = [executor.submit(sum, range(200_000)) for _ in range(4)]
        assert [f.result() for f in futures] == [sum(range(200_000))] * 4
        times = executor.times()
    finally:
        executor.shutdown()
    assert set(times) == {"running", "runnable", "blocked"}
    assert times["running"] > 0 and times["runnable"] >= 0


def _chain_plan(shape, tile):
    from peppers.operators.filters import BoxFilter
    from peppers.operators.pixelwise import PhaseRamp
    from peppers.ppe import Pipeline

    p = Pipeline(tile_shape=tile)
    x = p.add(PhaseRamp(row_rate=0.1), p.add(BoxFilter(size=(5, 5)),
                                             p.source(np.zeros(shape, np.complex64))))
    p.output(x)
    return p.plan()


@given(rows=st.integers(1, 9), cols=st.integers(1, 9), workers=st.integers(1, 5),
       skip=st.sets(st.integers(0, 80)))
@settings(max_examples=60, deadline=None)
def test_spread_is_a_permutation_that_keeps_stripes_and_splits_them(rows, cols, workers,
                                                                    skip):
    plan = _chain_plan((rows * 10, cols * 10), (10, 10))
    todo = [k for k in range(len(plan.tasks)) if k not in skip]
    order = plan.spread(todo, workers)
    assert sorted(order) == sorted(todo)
    row_of = [plan.tile(*plan.tasks[k]).row for k in order]
    assert row_of == sorted(row_of)                        # stripe after stripe
    if workers == 1:
        assert order == todo
    elif len(todo) == len(plan.tasks) and cols >= 2:       # the second task is a stripe away
        part = -(-cols // workers)
        assert order[:2] == [0, part]


def test_two_workers_start_stripes_half_a_stripe_apart():
    plan = _chain_plan((30, 80), (10, 10))
    assert plan.spread(range(len(plan.tasks)), 2)[:8] == [0, 4, 1, 5, 2, 6, 3, 7]
