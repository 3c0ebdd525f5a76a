"""Image storage: raw+VRT images, readable sources of any format, GeoTIFF products.

- :class:`~peppers.io.raw.RawImage` — the format of intermediate and
  stream-end images: flat little-endian pixels (``name.raw``) plus a GDAL VRT
  header (``name.vrt``), read and written by region with positional I/O, so
  threads and MPI ranks write disjoint tiles of one file concurrently.
- :func:`~peppers.io.source.open_source` — any raster GDAL opens, read by
  region (raw VRTs take the fast path); :class:`~peppers.io.source.ArraySource`
  wraps an in-memory array in the same interface.
- :func:`~peppers.io.geotiff.write_geotiff` — a tiled, georeferenced GeoTIFF
  product written block by block and committed atomically.
- :mod:`peppers.io.atomic` — temporary file, fsync, rename: how every
  finished file is put in place.

Formats and the durability contract: ``docs/images.md``. The per-tile
completion journal that works with these images is
:class:`peppers.ppe.journal.TileJournal`.
"""

from peppers.io.geotiff import write_geotiff
from peppers.io.raw import RawImage
from peppers.io.source import ArraySource, GdalSource, open_source

__all__ = ["ArraySource", "GdalSource", "RawImage", "open_source", "write_geotiff"]
