"""Reading an image small: decimated reads in bounded memory.

A quicklook of a 20000 x 6000 SLC must not load 0.96 GB. The image is cut
into cells of ``steps = (row_step, col_step)`` input pixels, one cell per
output pixel, and read in one of two ways:

``mean``
    Every pixel is read, in bands of whole cells no larger than ``budget``
    bytes (columns are split too when one band of cells would be larger),
    and each cell is averaged over its finite pixels after ``transform``
    (complex phasors for phase, intensity for amplitude: a multilook).
    Memory is one band; bytes read are the whole image.
``nearest``
    Only the centre row of each cell is read (in column chunks of at most
    ``budget`` bytes) and its centre columns kept: about ``1 / row_step``
    of the bytes, for images too large to read whole.
``auto``
    ``mean`` when the image is at most ``full_read_limit`` bytes (fast and
    cleaner: speckle averages out), ``nearest`` above.

Row and column steps may differ, so that an image with oblong pixels (radar
geometry: azimuth spacing differs from ground-range spacing) comes out with
near-square ground pixels: :func:`choose_steps`.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from peppers.image import ImageSource, Region

#: Largest single read, bytes.
DEFAULT_BUDGET = 16 << 20
#: ``auto`` reads every pixel of images up to this size, bytes.
FULL_READ_LIMIT = 256 << 20
METHODS = ("auto", "mean", "nearest")


def choose_steps(shape: tuple[int, int], max_size: int,
                 spacing: tuple[float, float] | None = None) -> tuple[int, int]:
    """Row and column steps that fit ``shape`` into ``max_size`` pixels a side.

    Parameters
    ----------
    shape : tuple of int
        ``(rows, cols)`` of the image.
    max_size : int
        Largest side of the decimated image, pixels.
    spacing : tuple of float, optional
        Ground pixel size ``(dy, dx)``; when given, the steps also make the
        output pixels near square on the ground.

    Returns
    -------
    tuple of int
        ``(row_step, col_step)``, each >= 1.

    Raises
    ------
    ValueError
        If ``max_size`` is below 1.

    Examples
    --------
    >>> choose_steps((20000, 6000), 1000)
    (20, 20)
    >>> choose_steps((4000, 1000), 1000, spacing=(4.0, 16.0))
    (4, 1)
    """
    if max_size < 1:
        raise ValueError(f"max_size must be >= 1, got {max_size}")
    rows, cols = int(shape[0]), int(shape[1])
    if spacing is None or not all(s > 0 and math.isfinite(s) for s in spacing):
        step = max(1, math.ceil(max(rows, cols) / max_size))
        return step, step
    dy, dx = float(spacing[0]), float(spacing[1])
    # an output pixel of p metres: row_step = p / dy, col_step = p / dx
    pixel = max(max(rows * dy, cols * dx) / max_size, min(dy, dx))
    while True:
        row_step, col_step = max(1, round(pixel / dy)), max(1, round(pixel / dx))
        if math.ceil(rows / row_step) <= max_size and math.ceil(cols / col_step) <= max_size:
            return row_step, col_step
        pixel *= 1.05


def decimated_shape(shape: tuple[int, int], steps: tuple[int, int]) -> tuple[int, int]:
    """Shape of the decimated image: one pixel per (possibly partial) cell."""
    return -(-int(shape[0]) // steps[0]), -(-int(shape[1]) // steps[1])


def _masked(block: np.ndarray, nodata, transform: Callable[[np.ndarray], np.ndarray]):
    """The block after ``transform``, with no-data pixels NaN."""
    values = transform(block)
    if nodata is None or (isinstance(nodata, float) and math.isnan(nodata)):
        return values
    bad = block == nodata
    if bad.any():
        values = values.astype(np.result_type(values.dtype, np.float32), copy=True)
        values[bad] = np.nan
    return values


def _cell_mean(values: np.ndarray, steps: tuple[int, int]) -> np.ndarray:
    """Mean of the finite pixels of each cell (NaN where a cell has none)."""
    sr, sc = steps
    h, w = values.shape
    oh, ow = -(-h // sr), -(-w // sc)
    dtype = np.complex128 if np.iscomplexobj(values) else np.float64
    padded = np.zeros((oh * sr, ow * sc), dtype)
    good = np.zeros((oh * sr, ow * sc), bool)
    finite = np.isfinite(values)
    padded[:h, :w] = np.where(finite, values, 0)
    good[:h, :w] = finite
    total = padded.reshape(oh, sr, ow, sc).sum(axis=(1, 3))
    count = good.reshape(oh, sr, ow, sc).sum(axis=(1, 3))
    out = np.full(total.shape, np.nan, dtype)
    np.divide(total, count, out=out, where=count > 0)
    return out


def read_decimated(source: ImageSource, steps: tuple[int, int], *, method: str = "auto",
                   transform: Callable[[np.ndarray], np.ndarray] | None = None,
                   budget: int = DEFAULT_BUDGET,
                   full_read_limit: int = FULL_READ_LIMIT) -> np.ndarray:
    """The image of ``source`` reduced by ``steps``, read in bounded memory.

    Parameters
    ----------
    source : ImageSource
        Anything with ``.spec`` and ``.read(region)``.
    steps : tuple of int
        ``(row_step, col_step)`` input pixels per output pixel.
    method : {"auto", "mean", "nearest"}
        See the module docstring.
    transform : callable, optional
        Applied to each block read (e.g. ``np.abs``) before averaging;
        default: as read.
    budget : int
        Largest single read, bytes (at least one row of one cell wide).
    full_read_limit : int
        ``auto`` switches from ``mean`` to ``nearest`` above this image size.

    Returns
    -------
    ndarray, shape :func:`decimated_shape`
        Float64 or complex128 (``mean``), or ``transform``'s dtype
        (``nearest``); no-data pixels are NaN.

    Raises
    ------
    ValueError
        For an unknown method or steps below 1.

    Examples
    --------
    >>> from peppers.io.source import ArraySource
    >>> a = np.arange(16.0).reshape(4, 4)
    >>> read_decimated(ArraySource(a), (2, 2), method="mean")
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """
    if method not in METHODS:
        raise ValueError(f"unknown decimation method {method!r}; use one of {METHODS}")
    sr, sc = int(steps[0]), int(steps[1])
    if sr < 1 or sc < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    spec = source.spec
    rows, cols = spec.shape
    itemsize = spec.dtype.itemsize
    transform = transform or (lambda block: block)
    if method == "auto":
        method = "mean" if rows * cols * itemsize <= full_read_limit else "nearest"
    band_rows = sr if method == "mean" else 1
    # column chunks of whole cells, at most ``budget`` bytes for one band of cells
    chunk_cols = min(cols, max(1, budget // max(1, band_rows * sc * itemsize)) * sc)
    blocks: list[list[np.ndarray]] = []
    if method == "mean":
        cell_rows = max(1, budget // max(1, sr * chunk_cols * itemsize))
        for r0 in range(0, rows, cell_rows * sr):
            height = min(cell_rows * sr, rows - r0)
            line = []
            for c0 in range(0, cols, chunk_cols):
                region = Region(r0, c0, height, min(chunk_cols, cols - c0))
                values = _masked(source.read(region), spec.nodata, transform)
                line.append(_cell_mean(values, (sr, sc)))
            blocks.append(line)
    else:
        for i in range(decimated_shape(spec.shape, (sr, sc))[0]):
            r = min(i * sr + sr // 2, rows - 1)
            line = []
            for c0 in range(0, cols, chunk_cols):
                width = min(chunk_cols, cols - c0)
                picks = np.minimum(np.arange(-(-width // sc)) * sc + sc // 2, width - 1)
                row = source.read(Region(r, c0, 1, width))
                line.append(_masked(row[:, picks], spec.nodata, transform))
            blocks.append(line)
    return np.concatenate([np.concatenate(line, axis=1) for line in blocks], axis=0)
