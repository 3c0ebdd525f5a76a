"""Compatibility name of :mod:`peppers.image.region`; import from :mod:`peppers.image`."""

from peppers.image.region import Region, TileGrid

__all__ = ["Region", "TileGrid"]
