"""A height sampler for a DEM held in memory on a regular latitude/longitude grid.

:func:`peppers.geometry.zero_doppler.rdr2geo` intersects lines of sight with
a surface given as any callable ``h = dem(lat_deg, lon_deg)``; :class:`GridDem`
is that callable for a north-up array in EPSG:4326 (the DEM product's and the
simulator's CRS), with bilinear interpolation between pixel centres.

Grid convention: GDAL's, pixel-is-area. The geotransform
``(lon0, dlon, 0, lat0, 0, dlat)`` puts the *outer corner* of pixel (0, 0)
at (lat0, lon0); pixel (i, j) has its centre at
``(lat0 + (i + 0.5) dlat, lon0 + (j + 0.5) dlon)``. With rasterio,
``GridDem.from_gdal_geotransform(band, dataset.transform.to_gdal())``.

Between the outermost pixel centres and the raster's edge the height is held
at the edge value; outside the raster the sampler returns NaN, and NaN pixels
(voids) poison the samples that touch them. Longitudes are not wrapped: a DEM
across the antimeridian must use longitudes continuous over it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from peppers.errors import GeometryError
from peppers.geometry import _dem_kernels as _k


class GridDem:
    """Bilinear height sampler on a regular lat/lon grid (callable).

    Parameters
    ----------
    heights : array_like of shape (M, N)
        Ellipsoidal heights, metres; NaN marks voids.
    lat0, lon0 : float
        Latitude and longitude of the outer corner of pixel (0, 0), degrees.
    dlat, dlon : float
        Pixel size, degrees (``dlat`` is negative for north-up rasters).

    Raises
    ------
    GeometryError
        If the grid is not 2-D with at least 2x2 pixels, or a pixel size is 0.

    Examples
    --------
    >>> dem = GridDem([[0.0, 10.0], [20.0, 30.0]], lat0=1.0, lon0=0.0, dlat=-1.0, dlon=1.0)
    >>> float(dem(0.0, 1.0))  # halfway between the four pixel centres
    15.0
    """

    def __init__(self, heights: ArrayLike, lat0: float, lon0: float, dlat: float, dlon: float):
        grid = np.ascontiguousarray(heights, dtype=np.float64)
        if grid.ndim != 2 or min(grid.shape) < 2:
            raise GeometryError(f"GridDem: heights must be a 2-D grid of at least 2x2, "
                                f"got shape {grid.shape}")
        if dlat == 0 or dlon == 0 or not np.isfinite([lat0, lon0, dlat, dlon]).all():
            raise GeometryError(f"GridDem: bad grid lat0={lat0}, lon0={lon0}, dlat={dlat}, dlon={dlon}")
        self.heights = grid
        self.lat0, self.lon0, self.dlat, self.dlon = float(lat0), float(lon0), float(dlat), float(dlon)

    @classmethod
    def from_gdal_geotransform(cls, heights: ArrayLike, geotransform) -> "GridDem":
        """Build from a GDAL geotransform ``(lon0, dlon, 0, lat0, 0, dlat)``.

        Raises
        ------
        GeometryError
            If the geotransform is rotated (non-zero terms 2 or 4).
        """
        lon0, dlon, rot1, lat0, rot2, dlat = (float(v) for v in geotransform)
        if rot1 != 0.0 or rot2 != 0.0:
            raise GeometryError(f"GridDem: rotated geotransform {tuple(geotransform)} is not supported")
        return cls(heights, lat0=lat0, lon0=lon0, dlat=dlat, dlon=dlon)

    def __call__(self, lat_deg: ArrayLike, lon_deg: ArrayLike) -> np.ndarray:
        """Heights at geodetic positions (degrees); NaN outside the grid.

        Returns
        -------
        ndarray of the broadcast shape of ``lat_deg`` and ``lon_deg``
        """
        lat, lon = np.broadcast_arrays(np.asarray(lat_deg, dtype=np.float64),
                                       np.asarray(lon_deg, dtype=np.float64))
        out = np.empty(lat.size)
        _k.heights_at(self.heights, self.lat0, self.lon0, self.dlat, self.dlon,
                      np.ascontiguousarray(lat).ravel(), np.ascontiguousarray(lon).ravel(), out)
        return out.reshape(lat.shape)

    def __repr__(self) -> str:
        m, n = self.heights.shape
        return (f"GridDem({m}x{n}, corner=({self.lat0:g}, {self.lon0:g}), "
                f"step=({self.dlat:g}, {self.dlon:g}) deg)")
