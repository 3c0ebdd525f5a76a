"""A reference DEM in any CRS, read in windows, with ellipsoidal heights out.

Radar geometry needs WGS84 ellipsoidal heights at geodetic positions. A
reference DEM arrives in any CRS GDAL knows (geographic or projected: UTM,
polar stereographic, ...) and with heights above the ellipsoid or above a
geoid (SRTM, Copernicus GLO-30 and most national DEMs are orthometric, over
EGM96 or EGM2008). :class:`ReferenceDem`

- transforms geodetic positions into the DEM's CRS with pyproj (``always_xy``)
  and interpolates bilinearly between pixel centres (GDAL pixel-is-area
  grid, the outer corner of pixel (0, 0) at the geotransform's origin);
- reads the raster **in windows**: the points asked are grouped by blocks of
  ``block`` x ``block`` DEM pixels and each block is read with a one-pixel
  halo, so the whole DEM is never in memory;
- turns geoid heights into ellipsoidal ones, ``h = H + N`` (Hofmann-Wellenhof
  & Moritz 2006), with ``N`` from a geoid grid (:class:`GeoidGrid`). Whether
  the heights are ellipsoidal or geoid heights is *declared* (``vertical=
  "ellipsoid"`` or ``"geoid"``) or read from the file's vertical CRS
  (``"auto"``: a compound CRS whose vertical part is a gravity-related
  height means geoid; anything else means ellipsoid, recorded as assumed);
- refuses what it cannot honour with one line naming the file: no CRS, a
  geoid DEM without a geoid grid, points outside the DEM (saying how much of
  the area asked is missing, and on which side).

:meth:`ReferenceDem.grid` resamples the DEM onto a regular latitude/longitude
grid over a box (a :class:`~peppers.geometry.dem.GridDem`, the surface
``rdr2geo`` intersects), so a DEM in UTM serves the radar geometry exactly as
an EPSG:4326 one.

Voids (the nodata value, or NaN) come out as NaN.

References
----------
B. Hofmann-Wellenhof, H. Moritz (2006), *Physical Geodesy*, 2nd ed., sec. 2.7.
T. G. Farr et al. (2007), "The Shuttle Radar Topography Mission", Rev.
Geophys. 45, RG2004 (heights over EGM96, voids, errors of a few metres).
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from peppers.errors import GeometryError
from peppers.geometry.dem import GridDem
from peppers.geometry.geoid import GeoidGrid

__all__ = ["ReferenceDem", "DemCoverage", "VERTICAL_CHOICES"]

#: Accepted values of ``vertical``.
VERTICAL_CHOICES = ("auto", "ellipsoid", "geoid")

#: Metres per degree of latitude (for the size of what is missing in messages).
_M_PER_DEG = 111_320.0


@dataclass(frozen=True)
class DemCoverage:
    """How much of an area a DEM covers.

    Attributes
    ----------
    fraction_missing : float
        Share of the points asked that fall outside the DEM.
    missing_m : dict
        Distance by which the points asked pass each edge (``south``,
        ``north``, ``west``, ``east``), metres (0 where none).
    """

    fraction_missing: float
    missing_m: dict


class ReferenceDem:
    """A windowed, CRS-aware, ellipsoidal-height reader of a DEM raster.

    Parameters
    ----------
    path : path
        Any raster GDAL opens; band 1 holds heights in metres.
    vertical : {"auto", "ellipsoid", "geoid"}
        What the heights are referred to (module docstring).
    geoid : path or GeoidGrid, optional
        Geoid undulation grid, needed when the heights are geoid heights.
    block : int
        Side of the DEM blocks read at a time, pixels.

    Raises
    ------
    GeometryError
        If the file is missing or unreadable, has no CRS, a rotated grid, or
        geoid heights without a geoid grid; or ``vertical`` is not a choice.
    """

    def __init__(self, path: str | os.PathLike, *, vertical: str = "auto",
                 geoid: str | os.PathLike | GeoidGrid | None = None, block: int = 1024):
        import rasterio
        from pyproj import CRS, Transformer
        from rasterio.errors import NotGeoreferencedWarning, RasterioError

        self.path = Path(path)
        if vertical not in VERTICAL_CHOICES:
            raise GeometryError(f"reference DEM {self.path}: vertical = {vertical!r} must be one "
                                f"of {', '.join(VERTICAL_CHOICES)}")
        if not self.path.exists():
            raise GeometryError(f"reference DEM {self.path}: no such file")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NotGeoreferencedWarning)
                with rasterio.open(self.path) as ds:
                    crs, transform, shape = ds.crs, ds.transform, ds.shape
                    nodata, count = ds.nodata, ds.count
        except RasterioError as error:
            raise GeometryError(f"reference DEM {self.path}: GDAL cannot open it: {error}") \
                from None
        if crs is None:
            raise GeometryError(f"reference DEM {self.path}: has no CRS (extent in pixels "
                                f"{shape[1]} x {shape[0]}); set one, e.g. "
                                "gdal_edit.py -a_srs EPSG:4326")
        if count < 1:
            raise GeometryError(f"reference DEM {self.path}: has no band")
        if transform.b != 0 or transform.d != 0:
            raise GeometryError(f"reference DEM {self.path}: rotated geotransform "
                                f"{tuple(transform)[:6]} is not supported")
        full = CRS.from_wkt(crs.to_wkt())
        horizontal = full.sub_crs_list[0] if full.is_compound else full
        declared = vertical
        if vertical == "auto":
            vertical = "geoid" if _has_gravity_height(full) else "ellipsoid"
        self.vertical = vertical
        self.vertical_source = "declared" if declared != "auto" else (
            "vertical CRS" if full.is_compound else "assumed (no vertical CRS)")
        if vertical == "geoid":
            if geoid is None:
                raise GeometryError(f"reference DEM {self.path}: heights are geoid heights "
                                    f"({self.vertical_source}); give a geoid grid "
                                    "(insar.dem.geoid, e.g. EGM96 egm96_15.gtx)")
            geoid = geoid if isinstance(geoid, GeoidGrid) else GeoidGrid(geoid)
        self.geoid = geoid if vertical == "geoid" else None
        self.crs = horizontal
        self.crs_name = crs.to_string()
        self.shape = shape
        self.nodata = nodata
        self.transform = transform
        self.block = int(block)
        self._to_dem = Transformer.from_crs(CRS.from_epsg(4326), horizontal, always_xy=True)
        self._from_dem = Transformer.from_crs(horizontal, CRS.from_epsg(4326), always_xy=True)
        self.reads = 0          # windows read so far (tests check the DEM is never read whole)

    # ------------------------------------------------------------------ extent
    def extent_lonlat(self) -> tuple[float, float, float, float]:
        """(south, north, west, east) of the DEM's pixel centres, degrees (densified edges)."""
        m, n = self.shape
        along_cols = np.linspace(0.5, n - 0.5, 65)
        along_rows = np.linspace(0.5, m - 0.5, 65)
        cols = np.concatenate([along_cols, np.full(65, n - 0.5), along_cols, np.full(65, 0.5)])
        rows = np.concatenate([np.full(65, 0.5), along_rows, np.full(65, m - 0.5), along_rows])
        t = self.transform
        x, y = t.c + t.a * cols + t.b * rows, t.f + t.d * cols + t.e * rows
        lon, lat = self._from_dem.transform(np.asarray(x), np.asarray(y))
        return float(np.min(lat)), float(np.max(lat)), float(np.min(lon)), float(np.max(lon))

    def _pixels(self, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fractional (row, col) of pixel centres, DEM grid."""
        x, y = (np.asarray(v) for v in self._to_dem.transform(lon, lat))
        t = self.transform           # not rotated (checked on opening)
        return (y - t.f) / t.e - 0.5, (x - t.c) / t.a - 0.5

    def coverage(self, lat_deg: ArrayLike, lon_deg: ArrayLike) -> DemCoverage:
        """How much of the points asked fall outside the DEM (see :class:`DemCoverage`)."""
        lat, lon = (np.ravel(np.asarray(v, dtype=np.float64)) for v in
                    np.broadcast_arrays(lat_deg, lon_deg))
        row, col = self._pixels(lat, lon)
        m, n = self.shape
        outside = ~((row >= -0.5) & (row <= m - 0.5) & (col >= -0.5) & (col <= n - 0.5))
        a, b = self.transform.a, self.transform.e
        # distances past each edge, in metres of the DEM grid (pixel size x pixels)
        px_m = self._pixel_metres()
        past = {"north": max(0.0, -0.5 - float(np.min(row))) if b < 0 else
                max(0.0, float(np.max(row)) - (m - 0.5)),
                "south": max(0.0, float(np.max(row)) - (m - 0.5)) if b < 0 else
                max(0.0, -0.5 - float(np.min(row))),
                "west": max(0.0, -0.5 - float(np.min(col))) if a > 0 else
                max(0.0, float(np.max(col)) - (n - 0.5)),
                "east": max(0.0, float(np.max(col)) - (n - 0.5)) if a > 0 else
                max(0.0, -0.5 - float(np.min(col)))}
        scale = {"north": px_m[0], "south": px_m[0], "west": px_m[1], "east": px_m[1]}
        return DemCoverage(float(outside.mean()) if outside.size else 0.0,
                           {k: round(v * scale[k], 1) for k, v in past.items()})

    def _pixel_metres(self) -> tuple[float, float]:
        """Approximate pixel size in metres (rows, cols)."""
        a, e = abs(self.transform.a), abs(self.transform.e)
        if self.crs.is_geographic:
            south, north, _, _ = self.extent_lonlat()
            lat = math.radians(0.5 * (south + north))
            return e * _M_PER_DEG, a * _M_PER_DEG * math.cos(lat)
        return e, a

    def posting_deg(self) -> float:
        """Pixel size in degrees of latitude (approximate for a projected DEM)."""
        return self._pixel_metres()[0] / _M_PER_DEG

    def check_covers(self, lat_deg: ArrayLike, lon_deg: ArrayLike, what: str = "the scene") -> None:
        """Raise a one-line :class:`GeometryError` if any point is off the DEM.

        The message names the file, the DEM's extent, the area asked, the
        share of it outside and by how far it passes each edge.
        """
        lat, lon = (np.asarray(v, dtype=np.float64) for v in np.broadcast_arrays(lat_deg, lon_deg))
        cover = self.coverage(lat, lon)
        if cover.fraction_missing == 0.0:
            return
        south, north, west, east = self.extent_lonlat()
        sides = ", ".join(f"{v / 1000:.2f} km past its {k} edge"
                          for k, v in cover.missing_m.items() if v > 0)
        raise GeometryError(
            f"reference DEM {self.path} does not cover {what}: {100 * cover.fraction_missing:.1f} "
            f"% of it is missing ({sides}); the DEM spans lat {south:.4f}..{north:.4f}, lon "
            f"{west:.4f}..{east:.4f}, {what} lat {np.nanmin(lat):.4f}..{np.nanmax(lat):.4f}, "
            f"lon {np.nanmin(lon):.4f}..{np.nanmax(lon):.4f}")

    # ----------------------------------------------------------------- heights
    def heights(self, lat_deg: ArrayLike, lon_deg: ArrayLike, *, check: bool = True) -> np.ndarray:
        """Ellipsoidal heights at geodetic positions (bilinear), metres.

        Parameters
        ----------
        lat_deg, lon_deg : array_like
            Broadcast together.
        check : bool
            Raise if any point is off the DEM (else NaN there).

        Returns
        -------
        ndarray of the broadcast shape; NaN on voids.
        """
        lat, lon = (np.asarray(v, dtype=np.float64) for v in np.broadcast_arrays(lat_deg, lon_deg))
        if check:
            self.check_covers(lat, lon)
        shape = lat.shape
        lat, lon = lat.ravel(), lon.ravel()
        row, col = self._pixels(lat, lon)
        out = self._sample(row, col)
        if self.geoid is not None:
            good = np.isfinite(out)
            if good.any():
                out[good] += self.geoid.undulation(lat[good], lon[good])
        return out.reshape(shape)

    def _sample(self, row: np.ndarray, col: np.ndarray) -> np.ndarray:
        """Bilinear samples at fractional pixel-centre positions, block by block."""
        import rasterio
        from rasterio.windows import Window

        m, n = self.shape
        out = np.full(row.shape, np.nan)
        inside = (row >= -0.5) & (row <= m - 0.5) & (col >= -0.5) & (col <= n - 0.5)
        if not inside.any():
            return out
        r = np.clip(row, 0.0, m - 1.0)
        c = np.clip(col, 0.0, n - 1.0)
        i = np.minimum(np.floor(r).astype(np.int64), max(m - 2, 0))
        j = np.minimum(np.floor(c).astype(np.int64), max(n - 2, 0))
        key = (i // self.block) * (n // self.block + 1) + j // self.block
        index = np.flatnonzero(inside)
        order = index[np.argsort(key[index], kind="stable")]
        bounds = np.flatnonzero(np.diff(key[order])) + 1
        with warnings.catch_warnings():
            from rasterio.errors import NotGeoreferencedWarning
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(self.path) as ds:
                for group in np.split(order, bounds):
                    r0, c0 = int(i[group].min()), int(j[group].min())
                    r1 = min(int(i[group].max()) + 2, m)
                    c1 = min(int(j[group].max()) + 2, n)
                    window = ds.read(1, window=Window(c0, r0, c1 - c0, r1 - r0),
                                     masked=True)
                    self.reads += 1
                    data = np.asarray(window.astype(np.float64).filled(np.nan))
                    if data.shape[0] == 1:
                        data = np.vstack([data, data])
                    if data.shape[1] == 1:
                        data = np.hstack([data, data])
                    ii, jj = i[group] - r0, j[group] - c0
                    fr, fc = r[group] - i[group], c[group] - j[group]
                    out[group] = ((1 - fr) * ((1 - fc) * data[ii, jj] + fc * data[ii, jj + 1])
                                  + fr * ((1 - fc) * data[ii + 1, jj]
                                          + fc * data[ii + 1, jj + 1]))
        return out

    def grid(self, south: float, north: float, west: float, east: float,
             posting_deg: float | None = None) -> GridDem:
        """The DEM resampled onto a lat/lon grid over a box, as a :class:`GridDem`.

        Parameters
        ----------
        south, north, west, east : float
            The box, degrees (the grid snaps outwards to the posting).
        posting_deg : float, optional
            Grid spacing; by default a geographic DEM's own pixels (no
            resampling: its values, plus the geoid), and for a projected DEM
            its pixel size in degrees of latitude.

        Raises
        ------
        GeometryError
            If the box is not covered (:meth:`check_covers`).
        """
        if posting_deg is None and self.crs.is_geographic and self.transform.e < 0:
            # the DEM's own pixels (exact: no second interpolation)
            t = self.transform
            lat0 = t.f + math.floor((north - t.f) / t.e) * t.e
            lon0 = t.c + math.floor((west - t.c) / t.a) * t.a
            rows = int(math.ceil((south - lat0) / t.e)) + 1
            cols = int(math.ceil((east - lon0) / t.a)) + 1
            step_lat, step_lon = t.e, t.a
        else:
            step = float(posting_deg if posting_deg is not None
                         else self._pixel_metres()[0] / _M_PER_DEG)
            lat0 = math.ceil(north / step) * step + 0.5 * step
            lon0 = math.floor(west / step) * step - 0.5 * step
            rows = int(math.ceil((lat0 - south) / step)) + 1
            cols = int(math.ceil((east - lon0) / step)) + 1
            step_lat, step_lon = -step, step
        lat = lat0 + (np.arange(rows) + 0.5) * step_lat
        lon = lon0 + (np.arange(cols) + 0.5) * step_lon
        la, lo = np.meshgrid(lat, lon, indexing="ij")
        self.check_covers(la, lo, "the area asked")
        return GridDem(self.heights(la, lo, check=False), lat0, lon0, step_lat, step_lon)

    def describe(self) -> dict:
        """Plain values for the run record."""
        return {"path": str(self.path), "crs": self.crs_name, "shape": list(self.shape),
                "vertical": self.vertical, "vertical_source": self.vertical_source,
                "geoid": str(self.geoid.path) if self.geoid is not None else None}


def _has_gravity_height(crs) -> bool:
    """True when a pyproj CRS carries a gravity-related (geoid) vertical part."""
    if not crs.is_compound:
        return False
    for sub in crs.sub_crs_list[1:]:
        if sub.is_vertical:
            return True
    return False
