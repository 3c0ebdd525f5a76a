"""Image sources: read any raster by region, whatever its format.

:func:`open_source` is the one door through which stored inputs enter a
pipeline. It answers an object with ``.spec`` (an
:class:`~peppers.image.ImageSpec`) and ``.read(region)``:

- our raw images (a one-band ``VRTRawRasterBand`` VRT, including the scene
  format's ``NAME.slc.vrt``) open as :class:`~peppers.io.raw.RawImage`:
  positional reads, no GDAL in the path, fully thread-safe;
- anything else GDAL opens (GeoTIFF, other VRTs, ENVI, ...) opens as
  :class:`GdalSource`: windowed reads of band 1 through rasterio.

GDAL dataset handles are not safe to share between threads (before GDAL's
RFC 101), so :class:`GdalSource` opens one handle per thread, lazily, and
closes them all on :meth:`GdalSource.close`. Reads release the GIL inside
GDAL, so threads do read in parallel.

:class:`ArraySource` wraps an in-memory array in the same interface (and
also accepts writes, so it can stand in for an output image in tests and in
the script layer).
"""

from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from peppers.errors import ImageError, ImageMismatchError
from peppers.image import ImageSource, ImageSpec, Region
from peppers.io.raw import RawImage, check_region
from peppers.io.vrt import parse_vrt

#: Complex integer types GDAL has and numpy does not: read widened.
_WIDENED = {"complex_int16": np.dtype("complex64")}


class ArraySource:
    """An in-memory image with the source (and sink) interface.

    Parameters
    ----------
    array : array_like, 2-D
        The pixels; kept by reference (writes change it).
    nodata : optional
        No-data value for the spec.
    geo : mapping, optional
        ``{"crs": ..., "transform": ...}`` for the spec.

    Examples
    --------
    >>> src = ArraySource(np.arange(12.0).reshape(3, 4))
    >>> src.read(Region(1, 1, 2, 2))
    array([[ 5.,  6.],
           [ 9., 10.]])
    """

    def __init__(self, array: Any, *, nodata: Any = None, geo: Any = None) -> None:
        array = np.asarray(array)
        if array.ndim != 2:
            raise ImageMismatchError(f"ArraySource needs a 2-D array, got shape {array.shape}")
        self.array = array
        self.spec = ImageSpec(array.shape, array.dtype, nodata, geo)

    def read(self, region: Region) -> np.ndarray:
        """A copy of ``region`` (inside the image)."""
        check_region(region, self.spec.shape, "ArraySource")
        return self.array[region.slices].copy()

    def write(self, region: Region, array: np.ndarray) -> None:
        """Store ``array`` into ``region`` (same shape; dtype cast like numpy)."""
        check_region(region, self.spec.shape, "ArraySource")
        array = np.asarray(array)
        if array.shape != region.shape:
            raise ImageMismatchError(f"ArraySource: array of shape {array.shape} does not fit "
                                     f"{region!r}")
        self.array[region.slices] = array

    def close(self) -> None:
        """Nothing to release; present for symmetry with file sources."""

    def __repr__(self) -> str:
        return f"ArraySource(shape={self.spec.shape}, dtype={self.spec.dtype})"


class GdalSource:
    """Band 1 of any raster GDAL opens, read by region through rasterio.

    Parameters
    ----------
    path : path-like
        The raster.

    Raises
    ------
    ImageError
        If GDAL cannot open the file (names it and gives GDAL's reason).
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._handles: list[Any] = []
        self._lock = threading.Lock()
        self._closed = False
        ds = self._dataset()
        dtype = _WIDENED.get(ds.dtypes[0], np.dtype(ds.dtypes[0]))
        geo = None
        if ds.crs is not None or not ds.transform.is_identity:
            geo = {"crs": ds.crs.to_wkt() if ds.crs is not None else None,
                   "transform": tuple(ds.transform.to_gdal())}
        self.spec = ImageSpec((ds.height, ds.width), dtype, ds.nodata, geo)

    def _dataset(self) -> Any:
        ds = getattr(self._local, "dataset", None)
        if ds is not None and not self._closed:
            return ds
        import rasterio
        from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

        with self._lock:
            if self._closed:
                raise ImageError(f"{self.path}: image source is closed")
            try:
                with warnings.catch_warnings():  # SAR images in radar geometry have no geotransform
                    warnings.simplefilter("ignore", NotGeoreferencedWarning)
                    ds = rasterio.open(self.path)
            except RasterioIOError as exc:
                raise ImageError(f"{self.path}: GDAL cannot open it ({exc})") from None
            self._handles.append(ds)
        self._local.dataset = ds
        return ds

    def read(self, region: Region) -> np.ndarray:
        """Read ``region`` (inside the image) of band 1 as ``spec.dtype``.

        Raises
        ------
        ImageMismatchError
            If the region is not inside the image.
        ImageError
            If GDAL fails to read (names the file and region).
        """
        check_region(region, self.spec.shape, self.path)
        if region.is_empty:
            return np.empty(region.shape, self.spec.dtype)
        from rasterio.errors import RasterioError
        from rasterio.windows import Window

        window = Window(region.col, region.row, region.width, region.height)
        try:
            return self._dataset().read(1, window=window, out_dtype=self.spec.dtype)
        except RasterioError as exc:
            raise ImageError(f"{self.path}: read of {region!r} failed ({exc})") from None

    def close(self) -> None:
        """Close every per-thread handle (idempotent)."""
        with self._lock:
            self._closed = True
            handles, self._handles = self._handles, []
        for ds in handles:
            ds.close()

    def __enter__(self) -> "GdalSource":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"GdalSource({str(self.path)!r}, shape={self.spec.shape}, dtype={self.spec.dtype})"


def is_raw_vrt(path: str | os.PathLike) -> bool:
    """True if ``path`` is a one-band ``VRTRawRasterBand`` VRT (our raw image form)."""
    path = Path(path)
    if path.suffix.lower() != ".vrt":
        return False
    try:
        parse_vrt(path)
    except ImageError:
        return False
    return True


def open_source(path: str | os.PathLike) -> ImageSource:
    """Open any raster for reading by region.

    Parameters
    ----------
    path : path-like
        A raw image VRT (fast path, :class:`~peppers.io.raw.RawImage`) or
        any raster GDAL opens (:class:`GdalSource`, band 1).

    Returns
    -------
    ImageSource
        An object with ``.spec``, ``.read(region)`` and ``.close()``.

    Raises
    ------
    ImageError
        If the file does not exist, a raw image is truncated, or GDAL cannot
        open it.
    """
    path = Path(path)
    if not path.exists():
        raise ImageError(f"{path}: no such image")
    if path.suffix.lower() == ".vrt":
        try:
            layout = parse_vrt(path)
        except ImageError:
            return GdalSource(path)  # a VRT of another kind: GDAL reads it
        return RawImage(path, layout, "r")
    return GdalSource(path)
