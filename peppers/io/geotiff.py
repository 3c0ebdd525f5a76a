"""GeoTIFF products: Cloud-Optimized GeoTIFFs written block by block, atomically.

Products leave peppers as GeoTIFF (``products/geocoded_dem.tif``) because
every GIS opens it, and as *Cloud-Optimized* GeoTIFF (COG: tiles, internal
overviews, the image file directories first) because that is what cloud
archives, QGIS over HTTP and ``rio cogeo validate`` expect. A GeoTIFF
cannot be written safely by many processes at once, so the pipeline writes
its raw images in parallel and this module converts the finished raw image
in one sequential pass:

1. a *staging* GeoTIFF is created under a hidden temporary name beside
   ``path`` (GTiff, ``TILED=YES``, square blocks of ``block`` pixels,
   ``BIGTIFF=IF_SAFER``, fast deflate) with its CRS, geotransform, no-data
   value, dataset tags, band description and band unit, all set before
   the file is closed;
2. the source is read one block-sized region at a time, in row-major block
   order, and each region is written into exactly one TIFF tile, so memory
   is bounded by one block (plus GDAL's own block cache, ``GDAL_CACHEMAX``),
   never by the image;
3. GDAL's ``COG`` driver copies the staging file into a second hidden file
   (DEFLATE with the predictor for the pixel type, internal overviews built
   block-wise, tags, descriptions and units carried over), the staging file
   is removed;
4. the COG is ``fsync``-ed and renamed to ``path`` atomically.

Nothing reopens ``path`` after the rename: every piece of metadata is in
the file before it gets its final name. If anything fails on the way (a
source read, GDAL, an interrupt), both temporary files are removed and
nothing appears at ``path`` (an older file there is left as it was).

``cog=False`` skips step 3 (a plain tiled GeoTIFF, e.g. for intermediate
``images/NAME.tif`` outputs), with overviews built in place when asked.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from peppers.errors import ImageError, PeppersError
from peppers.image import ImageSource, TileGrid
from peppers.io.atomic import atomic_path, temporary_name

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



#: ``PREDICTOR`` of the COG driver per numpy kind: 2 (horizontal differencing)
#: for integers, 3 (floating-point predictor) for floats; none for complex.
PREDICTORS = {"i": "2", "u": "2", "f": "3"}


def cog_options(dtype: Any, *, block: int, compress: str | None,
                resampling: str, overviews: str) -> dict[str, str]:
    """Creation options of GDAL's COG driver for a peppers product.

    Parameters
    ----------
    dtype : numpy dtype
        Pixel type (picks the predictor, :data:`PREDICTORS`).
    block : int
        Tile size.
    compress : str or None
        Compression (``None`` for none).
    resampling : str
        Overview resampling (a ``rasterio.enums.Resampling`` name).
    overviews : str
        The COG driver's ``OVERVIEWS`` value (``AUTO``, ``FORCE_USE_EXISTING``, ``NONE``).
    """
    import numpy as np

    options = {"BLOCKSIZE": str(block), "BIGTIFF": "IF_SAFER", "OVERVIEWS": overviews,
               "OVERVIEW_RESAMPLING": resampling.upper(), "NUM_THREADS": "ALL_CPUS",
               "COMPRESS": (compress or "NONE").upper()}
    predictor = PREDICTORS.get(np.dtype(dtype).kind)
    if compress and compress.lower() in ("deflate", "lzw", "zstd") and predictor:
        options["PREDICTOR"] = predictor
    return options


def write_geotiff(path: str | os.PathLike, source: ImageSource, *, crs: Any, transform: Any,
                  nodata: Any = None, block: int = 512, compress: str | None = "deflate",
                  progress: Progress | None = None, overviews: Sequence[int] | None = None,
                  overview_resampling: str = "average", tags: Mapping[str, Any] | None = None,
                  description: str | None = None, unit: str | None = None,
                  cog: bool = True) -> Path:
    """Write ``source`` as a Cloud-Optimized GeoTIFF, block by block, committed atomically.

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
    overviews : sequence of int, optional
        Overview decimation factors, e.g. ``(2, 4, 8)``. Default: with
        ``cog`` the COG driver's own (halving until the image fits one
        block), without ``cog`` none.
    overview_resampling : str
        A ``rasterio.enums.Resampling`` name for the overviews (``nearest``
        for classes such as connected components or masks).
    tags : mapping, optional
        Dataset tags (``HEIGHTS``, ``UNITS``, ...), written at creation.
    description, unit : str, optional
        Band description (what the values are) and unit (``m``, ``rad``, ``1``).
    cog : bool
        Write a Cloud-Optimized GeoTIFF (default) rather than a plain tiled one.

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
    >>> import numpy as np, tempfile, pathlib, rasterio
    >>> from peppers.io.source import ArraySource
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "dem.tif"
    >>> src = ArraySource(np.zeros((40, 50), "float32"), nodata=float("nan"))
    >>> write_geotiff(out, src, crs="EPSG:4979", block=16, unit="m", description="height",
    ...               transform=(-117.5, 1e-3, 0.0, 36.7, 0.0, -1e-3)) == out
    True
    >>> with rasterio.open(out) as ds:
    ...     ds.units, ds.descriptions, ds.tags(ns="IMAGE_STRUCTURE")["LAYOUT"]
    (('m',), ('height',), 'COG')
    """
    import rasterio
    import rasterio.shutil
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
    if cog and compress:                 # the staging copy only needs to be fast
        profile.update(compress="deflate", ZLEVEL=1)
    grid = TileGrid(spec.shape, (block, block))
    stage = temporary_name(path.with_name(path.name + ".stage")) if cog else None
    try:
        with atomic_path(path) as tmp:
            with rasterio.open(stage or tmp, "w", **profile) as dst:
                if tags:
                    dst.update_tags(**{str(k): str(v) for k, v in tags.items()})
                if description:
                    dst.set_band_description(1, description)
                if unit:
                    dst.set_band_unit(1, unit)
                for done, tile in enumerate(grid, start=1):
                    data = source.read(tile)
                    dst.write(data, 1, window=Window(tile.col, tile.row, tile.width, tile.height))
                    if progress is not None:
                        progress(done, len(grid))
                if overviews:
                    dst.build_overviews([int(f) for f in overviews], resampling)
                    dst.update_tags(ns="rio_overview", resampling=resampling.name)
            if stage is not None:
                chosen = "FORCE_USE_EXISTING" if overviews else \
                    ("NONE" if overviews is not None else "AUTO")
                rasterio.shutil.copy(stage, tmp, driver="COG", **cog_options(
                    spec.dtype, block=block, compress=compress, resampling=resampling.name,
                    overviews=chosen))
    except PeppersError:
        raise
    except RasterioError as exc:
        raise ImageError(f"{path}: cannot write GeoTIFF ({exc})") from exc
    finally:
        if stage is not None:
            stage.unlink(missing_ok=True)
    return path
