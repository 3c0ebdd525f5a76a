"""GeoTIFF products: a tiled, georeferenced GeoTIFF written block by block.

Products leave peppers as GeoTIFF (``products/geocoded_dem.tif``) because
every GIS opens it. A GeoTIFF cannot be written safely by many processes at
once, so the pipeline writes its raw images in parallel and this module
converts the finished raw image in one sequential pass:

1. the output is created under a hidden temporary name beside ``path``
   (GTiff, ``TILED=YES``, square blocks of ``block`` pixels,
   ``BIGTIFF=IF_SAFER``, deflate compression by default, done by GDAL in
   worker threads with ``NUM_THREADS=ALL_CPUS``) with its CRS, geotransform
   and no-data value set;
2. the source is read one block-sized region at a time, in row-major block
   order, and each region is written into exactly one TIFF tile, so memory
   is bounded by one block (plus GDAL's own block cache, ``GDAL_CACHEMAX``),
   never by the image;
3. optional overviews are built (GDAL reads the base level block-wise);
4. the file is closed, ``fsync``-ed and renamed to ``path`` atomically.

If anything fails on the way (a source read, GDAL, an interrupt), the
temporary file is removed and nothing appears at ``path`` (an older file
there is left as it was).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Sequence

from peppers.errors import ImageError, PeppersError
from peppers.image import ImageSource, TileGrid
from peppers.io.atomic import atomic_path

#: Signature of the progress callback: ``progress(blocks_done, blocks_total)``.
Progress = Callable[[int, int], None]


def _affine(transform: Any) -> Any:
    from affine import Affine

    if isinstance(transform, Affine):
        return transform
    values = tuple(float(v) for v in transform)
    if len(values) != 6:
        raise ValueError(f"transform must be an affine.Affine or 6 numbers in GDAL order, "
                         f"got {len(values)} numbers")
    return Affine.from_gdal(*values)


def geotiff_profile(shape: tuple[int, int], dtype: Any, *, crs: Any, transform: Any,
                    nodata: Any = None, block: int = 512,
                    compress: str | None = "deflate") -> dict[str, Any]:
    """The rasterio creation profile of a peppers GeoTIFF product.

    Parameters
    ----------
    shape : (int, int)
        ``(rows, cols)``.
    dtype : numpy dtype
        Pixel type (any rasterio can write, complex included).
    crs : str, int, dict or rasterio CRS
        Anything ``rasterio.crs.CRS.from_user_input`` accepts, e.g. ``"EPSG:4326"``.
    transform : affine.Affine or 6 numbers
        Pixel-to-map transform; a plain sequence is read in GDAL order.
    nodata : number, optional
        No-data value (NaN allowed for floats).
    block : int
        TIFF tile size in pixels, a positive multiple of 16.
    compress : str or None
        GDAL ``COMPRESS`` value (``"deflate"``, ``"lzw"``, ``"zstd"``) or None.

    Raises
    ------
    ValueError
        For a block size GDAL's GTiff driver refuses, an unknown compression
        (GDAL would silently ignore it) or a bad transform.
    """
    import numpy as np
    from rasterio.crs import CRS
    from rasterio.enums import Compression

    if block <= 0 or block % 16:
        raise ValueError(f"GeoTIFF block size must be a positive multiple of 16, got {block}")
    if compress and compress.lower() not in Compression.__members__:
        raise ValueError(f"unknown compression {compress!r}; use one of "
                         f"{', '.join(Compression.__members__)} or None")
    profile: dict[str, Any] = {
        "driver": "GTiff", "height": int(shape[0]), "width": int(shape[1]), "count": 1,
        "dtype": np.dtype(dtype).name, "crs": CRS.from_user_input(crs),
        "transform": _affine(transform), "nodata": nodata, "tiled": True,
        "blockxsize": block, "blockysize": block, "BIGTIFF": "IF_SAFER",
    }
    if compress:
        profile["compress"] = compress
        profile["NUM_THREADS"] = "ALL_CPUS"   # GDAL compresses finished blocks in worker threads
    return profile


def write_geotiff(path: str | os.PathLike, source: ImageSource, *, crs: Any, transform: Any,
                  nodata: Any = None, block: int = 512, compress: str | None = "deflate",
                  progress: Progress | None = None, overviews: Sequence[int] = (),
                  overview_resampling: str = "average") -> Path:
    """Write ``source`` as a tiled GeoTIFF, block by block, committed atomically.

    Parameters
    ----------
    path : path-like
        The product to write; replaced atomically if it exists.
    source : ImageSource
        Anything with ``.spec`` and ``.read(region)``, e.g. a
        :class:`~peppers.io.raw.RawImage`.
    crs, transform, block, compress
        See :func:`geotiff_profile`.
    nodata : number, optional
        No-data value; default the source's ``spec.nodata``.
    progress : callable, optional
        Called as ``progress(blocks_done, blocks_total)`` after each block.
    overviews : sequence of int
        Overview decimation factors to build, e.g. ``(2, 4, 8)``; none by default.
    overview_resampling : str
        A ``rasterio.enums.Resampling`` name for the overviews.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ImageError
        If GDAL fails (names the file); nothing is left at ``path``.
    ValueError
        For a bad block size, transform or resampling name.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from peppers.io.source import ArraySource
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "dem.tif"
    >>> src = ArraySource(np.zeros((40, 50), "float32"), nodata=float("nan"))
    >>> write_geotiff(out, src, crs="EPSG:4326", block=16,
    ...               transform=(-117.5, 1e-3, 0.0, 36.7, 0.0, -1e-3)) == out
    True
    """
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.errors import RasterioError
    from rasterio.windows import Window

    path = Path(path)
    spec = source.spec
    if nodata is None:
        nodata = spec.nodata
    profile = geotiff_profile(spec.shape, spec.dtype, crs=crs, transform=transform,
                              nodata=nodata, block=block, compress=compress)
    try:
        resampling = Resampling[overview_resampling]
    except KeyError:
        raise ValueError(f"unknown overview resampling {overview_resampling!r}; use one of "
                         f"{', '.join(r.name for r in Resampling)}") from None
    grid = TileGrid(spec.shape, (block, block))
    try:
        with atomic_path(path) as tmp:
            with rasterio.open(tmp, "w", **profile) as dst:
                for done, tile in enumerate(grid, start=1):
                    data = source.read(tile)
                    dst.write(data, 1, window=Window(tile.col, tile.row, tile.width, tile.height))
                    if progress is not None:
                        progress(done, len(grid))
                if overviews:
                    dst.build_overviews([int(f) for f in overviews], resampling)
                    dst.update_tags(ns="rio_overview", resampling=resampling.name)
    except PeppersError:
        raise
    except RasterioError as exc:
        raise ImageError(f"{path}: cannot write GeoTIFF ({exc})") from exc
    return path
