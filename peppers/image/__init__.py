"""The image vocabulary: regions, tile grids, image specs, source and sink protocols.

The ground floor of peppers: :mod:`peppers.io`, :mod:`peppers.geometry`,
:mod:`peppers.operators`, the engine (:mod:`peppers.ppe`) and the scheduler
(:mod:`peppers.drs`) all speak it, and it imports nothing of peppers
itself. The operator base classes built on it are in :mod:`peppers.operator`.

- :class:`~peppers.image.region.Region`, :class:`~peppers.image.region.TileGrid`
  -- rectangles of pixels and an image cut into tiles;
- :class:`~peppers.image.spec.ImageSpec` -- shape, dtype, no-data, georeferencing;
- :class:`~peppers.image.spec.ImageSource`, :class:`~peppers.image.spec.ImageSink`
  -- read and write by region.
"""

from peppers.image.region import Region, TileGrid
from peppers.image.spec import ImageSink, ImageSource, ImageSpec

__all__ = ["ImageSink", "ImageSource", "ImageSpec", "Region", "TileGrid"]
