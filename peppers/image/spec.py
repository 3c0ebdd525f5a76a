"""Image specs and the source/sink protocols: what an image is, to every layer.

:class:`ImageSpec` (shape, dtype, no-data, georeferencing) describes an
image before any pixel exists; :class:`ImageSource` and :class:`ImageSink`
are the read-by-region and write-by-region interfaces that stored images
(:mod:`peppers.io`), in-memory arrays and the tile engine's outputs all
provide. Nothing here imports anything of peppers but
:mod:`peppers.image.region`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol

import numpy as np

from peppers.image.region import Region


@dataclass(frozen=True)
class ImageSpec:
    """Shape, dtype and no-data value of an image.

    Parameters
    ----------
    shape : tuple of int
        ``(rows, cols)`` = ``(azimuth lines, range samples)``.
    dtype : numpy dtype
        Element type, e.g. ``complex64`` or ``float32``.
    nodata : float or complex or None
        Value marking missing pixels (NaN is allowed), or None.
    geo : mapping or None
        Optional georeferencing (``crs`` WKT/EPSG string and ``transform``
        6-tuple in GDAL order) carried to the file headers.
    """

    shape: tuple[int, int]
    dtype: np.dtype
    nodata: Any = None
    geo: Mapping[str, Any] | None = field(default=None, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", (int(self.shape[0]), int(self.shape[1])))
        object.__setattr__(self, "dtype", np.dtype(self.dtype))

    @property
    def nbytes(self) -> int:
        return self.shape[0] * self.shape[1] * self.dtype.itemsize



class ImageSource(Protocol):
    """Read access to a stored image, by region (for global/reduction operators)."""

    spec: ImageSpec

    def read(self, region: Region) -> np.ndarray: ...


class ImageSink(Protocol):
    """Write access to an output image, by region (for global operators)."""

    spec: ImageSpec

    def write(self, region: Region, array: np.ndarray) -> None: ...
