"""Edge handling: answer an input request that reaches outside the image.

An operator asks for its input region without caring about image edges (a
3x3 filter on the first tile asks for row -1). The engine answers in two
named steps, one function each, with the edge mode normalised once
(compare ``dask/array/overlap.py``: ``boundaries`` then ``trim``):

1. :func:`source_region` -- which pixels of the stored (or upstream) image
   must be read: the clipped request for ``constant``/``nodata``; for
   ``reflect`` the bounding box of the mirrored coordinates, which may lie
   outside the clipped request (a request wholly outside the image still
   mirrors onto real pixels).
2. :func:`fill` -- build the requested array from those pixels: the pixels
   themselves where the request is inside the image (no copy at all when it
   is wholly inside), mirrored pixels or the fill value elsewhere.
   :func:`fill_from` does the same from several pieces (the upstream tiles
   covering the pixels), in one pass without assembling them first: each
   axis of the request becomes a *map* to image coordinates
   (:func:`axis_map`) and a numba kernel copies through the maps with the
   GIL released (:mod:`peppers.ppe._edge_kernels`).

Reflection follows ``numpy.pad(mode="reflect")``: the mirror does not
repeat the edge pixel, and requests longer than the image reflect again
(period ``2 * (n - 1)``); a one-pixel axis repeats its pixel. So a tiled
run equals an operator applied once to the whole image padded by
``numpy.pad`` -- the invariance the tests check.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from peppers.image import ImageSpec, Region
from peppers.operator import EDGE_MODES
from peppers.ppe import _edge_kernels as _kernels


def check_mode(mode: str, owner: str = "operator") -> str:
    """Return ``mode`` if it is a known edge mode, else raise ``ValueError``."""
    if mode not in EDGE_MODES:
        raise ValueError(f"{owner}: edge_mode {mode!r} is not one of {EDGE_MODES}")
    return mode


def reflect_index(index: np.ndarray, n: int) -> np.ndarray:
    """Map coordinates along an axis of length ``n`` into ``[0, n)`` by reflection.

    Parameters
    ----------
    index : ndarray of int
        Coordinates, any values.
    n : int
        Axis length, ``n >= 1``.

    Returns
    -------
    ndarray of int
        Reflected coordinates, as ``numpy.pad(mode="reflect")`` places them.

    Examples
    --------
    >>> reflect_index(np.arange(-3, 7), 4).tolist()
    [3, 2, 1, 0, 1, 2, 3, 2, 1, 0]
    """
    index = np.asarray(index)
    if n == 1:
        return np.zeros_like(index)
    period = 2 * (n - 1)
    m = np.mod(index, period)
    return np.where(m < n, m, period - m)


def _reflect_span(start: int, stop: int, n: int) -> tuple[int, int]:
    """Bounds ``[lo, hi)`` of the reflected coordinates of ``[start, stop)``."""
    if 0 <= start and stop <= n:
        return start, stop
    mapped = reflect_index(np.arange(start, stop), n)
    return int(mapped.min()), int(mapped.max()) + 1


def source_region(region: Region, shape: tuple[int, int], mode: str) -> Region:
    """Pixels of an image of ``shape`` that answering ``region`` reads.

    Parameters
    ----------
    region : Region
        The request; may reach outside the image.
    shape : tuple of int
        Image shape.
    mode : str
        Edge mode, one of ``reflect``, ``constant``, ``nodata``.

    Returns
    -------
    Region
        Inside the image; empty when nothing needs reading.
    """
    if mode != "reflect" or region.is_empty:
        return region.clip(shape)
    r0, r1 = _reflect_span(region.row, region.row_stop, shape[0])
    c0, c1 = _reflect_span(region.col, region.col_stop, shape[1])
    return Region.from_bounds(r0, r1, c0, c1)


def fill_value(mode: str, spec: ImageSpec):
    """The value written outside the image for ``constant`` and ``nodata`` modes.

    ``constant`` is zero. ``nodata`` is the image's no-data value, or NaN for
    float and complex images without one, or zero for integer images
    without one.
    """
    if mode == "nodata":
        if spec.nodata is not None:
            return spec.nodata
        if spec.dtype.kind in "fc":
            return np.nan
    return 0


def axis_map(start: int, stop: int, n: int, mode: str) -> np.ndarray:
    """Image coordinate of each request coordinate in ``[start, stop)`` along an axis.

    Mirrored into ``[0, n)`` for ``reflect``; ``-1`` outside the image for
    the fill modes.

    Examples
    --------
    >>> axis_map(-2, 3, 3, "reflect").tolist(), axis_map(-2, 3, 3, "constant").tolist()
    ([2, 1, 0, 1, 2], [-1, -1, 0, 1, 2])
    """
    index = np.arange(start, stop, dtype=np.int64)
    if mode == "reflect":
        return reflect_index(index, n).astype(np.int64, copy=False)
    index[(index < 0) | (index >= n)] = -1
    return index


def _compiled(dtype: np.dtype) -> bool:
    """Whether the numba kernel handles ``dtype`` (native numbers and booleans)."""
    return dtype.isnative and dtype.kind in "biufc"


def fill(data: np.ndarray, data_region: Region, region: Region,
         shape: tuple[int, int], mode: str, value=0) -> np.ndarray:
    """The array for ``region`` from ``data`` holding ``data_region`` of the image.

    Parameters
    ----------
    data : ndarray
        Pixels of ``data_region`` (as :func:`source_region` asked for).
    data_region : Region
        Where ``data`` lies in the image.
    region : Region
        The request.
    shape : tuple of int
        Image shape.
    mode : str
        Edge mode.
    value : scalar
        Fill value for ``constant`` and ``nodata`` (see :func:`fill_value`).

    Returns
    -------
    ndarray of shape ``region.shape``
        ``data`` itself (no copy) when the request lies inside the image and
        equals ``data_region``; a view when it lies inside ``data_region``;
        otherwise a new array (see :func:`fill_from`).

    Raises
    ------
    ValueError
        If the request needs image pixels that ``data_region`` does not hold.
    """
    inside = region.clip(shape)
    if inside == region and data_region.contains(region):
        if data_region == region:
            return data
        return data[region.relative_to(data_region)]
    return fill_from([(data_region, data)], region, shape, mode, value, data.dtype)


def fill_from(pieces: Sequence[tuple[Region, np.ndarray]], region: Region,
              shape: tuple[int, int], mode: str, value, dtype) -> np.ndarray:
    """A new array for ``region`` built from pieces of the image, filling outside by ``mode``.

    Each output pixel takes the image pixel it maps to (mirrored for
    ``reflect``) from the piece holding it, or ``value`` outside the image
    (``constant``/``nodata``): one pass straight from the pieces (the
    upstream tiles covering a request), in a compiled kernel that releases
    the GIL (:mod:`peppers.ppe._edge_kernels`).

    Parameters
    ----------
    pieces : sequence of (Region, ndarray)
        Disjoint regions of the image and their pixels, together holding
        every image pixel the request maps to.
    region, shape, mode, value
        As for :func:`fill`.
    dtype : numpy dtype
        Dtype of the result.

    Raises
    ------
    ValueError
        If the pieces' bounding box misses pixels the request maps to.
    """
    dtype = np.dtype(dtype)
    rows = axis_map(region.row, region.row_stop, shape[0], mode)
    cols = axis_map(region.col, region.col_stop, shape[1], mode)
    fill_with = np.empty(1, dtype)
    np.copyto(fill_with, value, casting="unsafe")
    out = np.empty(region.shape, dtype)
    image_rows, image_cols = rows[rows >= 0], cols[cols >= 0]
    if image_rows.size == 0 or image_cols.size == 0:  # nothing inside the image
        out[...] = fill_with[0]
        return out
    needed = Region.from_bounds(int(image_rows.min()), int(image_rows.max()) + 1,
                                int(image_cols.min()), int(image_cols.max()) + 1)
    held = Region(0, 0, 0, 0)
    for where, _ in pieces:
        held = held.union(where)
    if not held.contains(needed):
        raise ValueError(f"{region} maps to image pixels {needed}; the data holds {held}")
    if not (_compiled(dtype) and all(p.dtype == dtype for _, p in pieces)):
        return _fill_numpy(out, pieces, rows, cols, fill_with[0])
    for k, (where, piece) in enumerate(pieces):
        _kernels.remap(out, piece, rows, cols, where.row, where.col, fill_with, k == 0)
    return out


def _fill_numpy(out: np.ndarray, pieces: Sequence[tuple[Region, np.ndarray]],
                rows: np.ndarray, cols: np.ndarray, value) -> np.ndarray:
    """:func:`fill_from` for dtypes the kernel does not take (numpy indexing)."""
    out[...] = value
    for where, piece in pieces:
        r = rows - where.row
        c = cols - where.col
        keep_r = (rows >= 0) & (r >= 0) & (r < where.height)
        keep_c = (cols >= 0) & (c >= 0) & (c < where.width)
        out[np.ix_(keep_r, keep_c)] = piece[np.ix_(r[keep_r], c[keep_c])]
    return out


def fetch(read: Callable[[Region], np.ndarray], region: Region, spec: ImageSpec,
          mode: str) -> np.ndarray:
    """Read ``region`` of an image through ``read``, filling outside by ``mode``.

    ``read(r)`` must return the pixels of a region ``r`` inside the image.
    This is :func:`source_region` followed by :func:`fill`.
    """
    src = source_region(region, spec.shape, mode)
    data = read(src) if not src.is_empty else np.empty(src.shape, spec.dtype)
    return fill(data, src, region, spec.shape, mode, fill_value(mode, spec))
