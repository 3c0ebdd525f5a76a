"""Array plumbing shared by the operators: dtypes, input checks, edge filling.

Design
------
Every public operator follows the same steps before it calls its private
numba kernel: check that each input array has exactly the shape of the
region it asked for, coerce it to a C-contiguous array of the working dtype,
and allocate the output. Those steps live here so that each operator module
holds only its own method.

:func:`read_region` cuts an operator's requested input region out of an
in-memory image (or out of a window of it, such as a dask chunk with its
overlap) and fills the part outside the image per the operator's
``edge_mode``, as the tile engine does; :func:`apply_local` uses it to run a
local operator on whole arrays without the engine. (The tests take their
whole-array reference from :func:`peppers.ppe.testing.whole_image`, which
pads with ``numpy.pad`` instead, so the two edge codes check each other.)

Dtype policy
------------
``float32``/``complex64`` stay single precision, ``float64``/``complex128``
stay double; integer and boolean images become ``float64``. Anything else
(strings, objects) is refused.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from peppers.errors import OperatorError
from peppers.image import ImageSpec, Region

_FLOATS = {np.dtype(t) for t in (np.float32, np.float64, np.complex64, np.complex128)}


def working_dtype(dtype, owner: str, port: str = "input") -> np.dtype:
    """The floating dtype an operator computes in for an input ``dtype``.

    Raises
    ------
    OperatorError
        If the dtype is not numeric.
    """
    dtype = np.dtype(dtype)
    if dtype in _FLOATS:
        return dtype
    if dtype.kind in "biu":
        return np.dtype(np.float64)
    raise OperatorError(f"{owner}: input {port!r} has dtype {dtype}; "
                        "expected a real or complex numeric image")


def complex_dtype(dtype) -> np.dtype:
    """The complex dtype of the same precision as a floating ``dtype``."""
    return np.result_type(np.dtype(dtype), np.complex64)


def accumulator_dtype(dtype) -> np.dtype:
    """Double-precision dtype (real or complex) to accumulate sums of ``dtype``."""
    return np.dtype(np.complex128 if np.dtype(dtype).kind == "c" else np.float64)


def prepare_input(owner: str, port: str, array: np.ndarray, shape: tuple[int, int],
                  dtype) -> np.ndarray:
    """Check an input tile's shape and return it C-contiguous in ``dtype``.

    Parameters
    ----------
    owner : str
        Operator label, for the message.
    port : str
        Input port name, for the message.
    array : ndarray
        What the engine passed.
    shape : tuple of int
        The shape of the region the operator asked for.
    dtype : numpy dtype
        The working dtype.

    Raises
    ------
    OperatorError
        If ``array`` is not 2-D of exactly ``shape``.
    """
    array = np.asarray(array)
    if array.shape != tuple(shape):
        raise OperatorError(f"{owner}: input {port!r} has shape {array.shape}, "
                            f"but the requested input region has shape {tuple(shape)}")
    return np.ascontiguousarray(array, dtype=dtype)


def positive_pair(owner: str, name: str, value, *, minimum: int = 1) -> tuple[int, int]:
    """Validate a ``(rows, cols)`` pair of integers >= ``minimum``."""
    try:
        pair = tuple(value)
    except TypeError:
        pair = (value,)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                 and v >= minimum for v in pair):
        raise ValueError(f"{owner}: {name} must be two integers >= {minimum} "
                         f"(rows, cols), got {value!r}")
    return (int(pair[0]), int(pair[1]))


def reflect_index(index: np.ndarray, n: int) -> np.ndarray:
    """Map indices into ``[0, n)`` mirroring without repeating the edge pixel."""
    if n == 1:
        return np.zeros_like(index)
    period = 2 * n - 2
    m = np.mod(index, period)
    return np.where(m >= n, period - m, m)


def read_region(image: np.ndarray, region: Region, edge_mode: str, nodata=None, *,
                window: Region | None = None,
                image_shape: tuple[int, int] | None = None) -> np.ndarray:
    """Cut ``region`` out of an image, filling outside pixels per ``edge_mode``.

    Parameters
    ----------
    image : ndarray
        The image pixels: the whole image, or only the part ``window`` of
        an image of ``image_shape`` (a chunk with its overlap, say).
    region : Region
        Any region in image coordinates; it may reach outside the image.
    edge_mode : {"reflect", "constant", "nodata"}
        ``reflect`` mirrors without repeating the edge pixel (as
        ``numpy.pad(mode="reflect")``), ``constant`` fills zero, ``nodata``
        fills ``nodata`` (NaN for floats when it is None, zero otherwise).
    window : Region, optional
        Where ``image`` lies in the image; default ``Region.full(image.shape)``.
    image_shape : tuple of int, optional
        Shape of the whole image; default ``image.shape``.

    Returns
    -------
    ndarray of ``region.shape``
        A new array.

    Raises
    ------
    ValueError
        If a pixel the region needs (after reflection) is not in ``window``,
        or the edge mode is unknown.
    """
    window = Region.full(image.shape) if window is None else window
    shape = tuple(image.shape) if image_shape is None else tuple(image_shape)
    rows = np.arange(region.row, region.row_stop)
    cols = np.arange(region.col, region.col_stop)
    if edge_mode == "reflect":
        if min(shape) == 0:
            raise ValueError("cannot reflect an empty image")
        rows, cols = reflect_index(rows, shape[0]), reflect_index(cols, shape[1])
        fill = None
    elif edge_mode == "constant":
        fill = 0
    elif edge_mode == "nodata":
        fill = nodata if nodata is not None else (np.nan if image.dtype.kind in "fc" else 0)
    else:
        raise ValueError(f"unknown edge mode {edge_mode!r}")
    keep_r = (rows >= 0) & (rows < shape[0])
    keep_c = (cols >= 0) & (cols < shape[1])
    local_r, local_c = rows[keep_r] - window.row, cols[keep_c] - window.col
    for local, extent in ((local_r, window.height), (local_c, window.width)):
        if local.size and (local.min() < 0 or local.max() >= extent):
            raise ValueError(f"{region} needs pixels outside the window {window} held")
    if fill is None:
        return image[np.ix_(local_r, local_c)]
    out = np.full(region.shape, fill, dtype=image.dtype)
    out[np.ix_(keep_r, keep_c)] = image[np.ix_(local_r, local_c)]
    return out


def apply_local(op, images: Mapping[str, np.ndarray],
                output_region: Region | None = None) -> dict[str, np.ndarray]:
    """Run a local operator on whole in-memory images, as the engine would.

    Parameters
    ----------
    op : LocalOperator
        The operator.
    images : mapping of port to ndarray
        One whole image per input port.
    output_region : Region, optional
        The output region to compute; default the whole output image.

    Returns
    -------
    dict of port to ndarray
        The outputs for ``output_region``.
    """
    specs = {port: ImageSpec(images[port].shape, images[port].dtype) for port in op.inputs}
    out_specs = op.output_spec(specs)
    if output_region is None:
        output_region = Region.full(out_specs[op.outputs[0]].shape)
    wanted = op.input_region(output_region, specs)
    tiles = {port: read_region(images[port], wanted[port], op.edge_mode, specs[port].nodata)
             for port in op.inputs}
    return op.compute(tiles, output_region)
