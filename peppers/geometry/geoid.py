"""Geoid undulation from a gridded geoid model (EGM96, EGM2008, any GDAL grid).

A DEM referred to the geoid (orthometric heights H, "metres above mean sea
level") becomes ellipsoidal by ``h = H + N``, with ``N`` the geoid
undulation above the WGS84 ellipsoid (Hofmann-Wellenhof & Moritz 2006,
eq. 2.403). :class:`GeoidGrid` reads ``N`` from any raster GDAL opens in a
geographic CRS — the PROJ ``.gtx`` grids (``egm96_15.gtx``: 15' posting,
longitudes 0..360) as well as GeoTIFFs — and interpolates it bilinearly
between pixel centres.

Only the rows (latitude band) that the asked points need are read, a
window at a time; a grid that spans the whole globe in longitude wraps
(the first column is repeated past the last), so longitudes may be given
in -180..180 or 0..360 whatever the grid's convention. Points the grid
does not cover raise a one-line :class:`~peppers.errors.GeometryError`
naming the file, the grid's extent and the extent asked.

References
----------
B. Hofmann-Wellenhof, H. Moritz (2006), *Physical Geodesy*, 2nd ed.,
Springer, sec. 2.7 and 5.6 (orthometric and ellipsoidal heights).
F. G. Lemoine et al. (1998), "The development of the joint NASA GSFC and
NIMA geopotential model EGM96", NASA/TP-1998-206861.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from peppers.errors import GeometryError

__all__ = ["GeoidGrid"]


class GeoidGrid:
    """Bilinear geoid undulation ``N(lat, lon)`` from a raster grid.

    Parameters
    ----------
    path : path
        Any raster GDAL opens, band 1 = undulation in metres, in a
        geographic (latitude/longitude) CRS, north-up, not rotated.

    Raises
    ------
    GeometryError
        If the file is missing, GDAL cannot open it, it has no geographic
        CRS, or its geotransform is rotated.
    """

    def __init__(self, path: str | os.PathLike):
        import rasterio
        from rasterio.errors import RasterioError

        self.path = Path(path)
        if not self.path.exists():
            raise GeometryError(f"geoid grid {self.path}: no such file")
        try:
            with rasterio.open(self.path) as ds:
                crs, transform, shape, nodata = ds.crs, ds.transform, ds.shape, ds.nodata
        except RasterioError as error:
            raise GeometryError(f"geoid grid {self.path}: GDAL cannot open it: {error}") from None
        if crs is None or not crs.is_geographic:
            raise GeometryError(f"geoid grid {self.path}: needs a geographic (lat/lon) CRS, "
                                f"has {crs}")
        if transform.b != 0 or transform.d != 0 or transform.e >= 0:
            raise GeometryError(f"geoid grid {self.path}: rotated or south-up grids are not "
                                "supported")
        self.shape = shape
        self.nodata = nodata
        self.lon0, self.dlon = transform.c, transform.a
        self.lat0, self.dlat = transform.f, transform.e
        self.global_lon = abs(shape[1] * self.dlon - 360.0) < 1e-6 * 360.0

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """(south, north, west, east) of the grid's outer edges, degrees."""
        return (self.lat0 + self.shape[0] * self.dlat, self.lat0,
                self.lon0, self.lon0 + self.shape[1] * self.dlon)

    def _columns(self, lon: np.ndarray) -> np.ndarray:
        """Fractional column of pixel-centre coordinates (wrapped for global grids)."""
        if self.global_lon:           # into [first centre, first centre + 360)
            first = self.lon0 + 0.5 * self.dlon
            lon = first + np.mod(lon - first, 360.0)
        return (lon - self.lon0) / self.dlon - 0.5

    def undulation(self, lat_deg: ArrayLike, lon_deg: ArrayLike) -> np.ndarray:
        """Geoid height N above the WGS84 ellipsoid at the points, metres.

        Parameters
        ----------
        lat_deg, lon_deg : array_like
            Geodetic positions, broadcast together.

        Returns
        -------
        ndarray of the broadcast shape

        Raises
        ------
        GeometryError
            If some point is outside the grid or on a void of it (one line:
            the file, its extent, the extent asked).
        """
        import rasterio
        from rasterio.windows import Window

        lat, lon = np.broadcast_arrays(np.asarray(lat_deg, dtype=np.float64),
                                       np.asarray(lon_deg, dtype=np.float64))
        if lat.size == 0:
            return np.empty(lat.shape)
        rows = (lat - self.lat0) / self.dlat - 0.5
        cols = self._columns(lon)
        m, n = self.shape
        n_cols = n + 1 if self.global_lon else n
        inside = (rows >= -0.5) & (rows <= m - 0.5) & (cols >= -0.5) & (cols <= n_cols - 0.5)
        if not np.all(inside) or not np.all(np.isfinite(lat) & np.isfinite(lon)):
            self._uncovered(lat, lon)
        rows = np.clip(rows, 0.0, m - 1.0)
        cols = np.clip(cols, 0.0, n_cols - 1.0)
        top = int(math.floor(rows.min()))
        bottom = min(int(math.floor(rows.max())) + 2, m)
        with rasterio.open(self.path) as ds:
            band = ds.read(1, window=Window(0, top, n, bottom - top)).astype(np.float64)
        if self.nodata is not None:
            band[band == self.nodata] = np.nan
        if self.global_lon:
            band = np.concatenate([band, band[:, :1]], axis=1)
        r = rows - top
        i = np.minimum(np.floor(r).astype(np.int64), band.shape[0] - 2) if band.shape[0] > 1 \
            else np.zeros(r.shape, dtype=np.int64)
        j = np.minimum(np.floor(cols).astype(np.int64), band.shape[1] - 2)
        if band.shape[0] == 1:
            band = np.concatenate([band, band], axis=0)
        fr, fc = r - i, cols - j
        value = ((1 - fr) * ((1 - fc) * band[i, j] + fc * band[i, j + 1])
                 + fr * ((1 - fc) * band[i + 1, j] + fc * band[i + 1, j + 1]))
        if not np.all(np.isfinite(value)):
            bad = ~np.isfinite(value)
            raise GeometryError(f"geoid grid {self.path}: {int(bad.sum())} points fall on its "
                                f"voids (lat {lat[bad].min():.4f}..{lat[bad].max():.4f}, "
                                f"lon {lon[bad].min():.4f}..{lon[bad].max():.4f})")
        return value

    def _uncovered(self, lat: np.ndarray, lon: np.ndarray) -> None:
        south, north, west, east = self.extent
        raise GeometryError(
            f"geoid grid {self.path} covers lat {south:.4f}..{north:.4f}, lon "
            f"{west:.4f}..{east:.4f} (pixel centres half a pixel inside); the points asked "
            f"span lat {np.nanmin(lat):.4f}..{np.nanmax(lat):.4f}, lon "
            f"{np.nanmin(lon):.4f}..{np.nanmax(lon):.4f}: use a grid that covers the scene")

    def __repr__(self) -> str:
        return f"GeoidGrid({self.path.name}, {self.shape[0]}x{self.shape[1]}, extent={self.extent})"
