"""Fractal terrain for the simulator: synthesis, the layover/shadow check, the DEM file.

The terrain is a random fractal surface (Voss 1988): white Gaussian noise
shaped in the Fourier domain by the amplitude ``(k^2 + k0^2)^(-exponent/4)``,
so its power spectrum falls as ``k^-exponent`` above the outer scale
``1/k0`` (exponent 3 to 4 resembles natural relief; Turcotte 1997). It is
synthesised on a regular latitude/longitude grid (EPSG:4326, GDAL
pixel-is-area) with metric wavenumbers, scaled to the requested peak-to-peak
relief around a mean height, and held as a :class:`Terrain`, whose
:meth:`Terrain.sampler` is the :class:`peppers.geometry.dem.GridDem` used for
every height query (radar geometry, tests, the chain).

No layover, no shadow. Along the ground-range direction ``g`` (horizontal,
pointing away from the radar) a terrain slope rising away from the radar
(facing it) folds the image when ``tan(slope) >= tan(incidence)``; one
falling away from it is in shadow when ``tan(slope) >= cot(incidence)``.
:func:`slope_limits` measures the largest of both over every DEM cell (the
bilinear surface's gradient inside a cell is a convex combination of its
edge differences, so the extreme over the four edge-difference combinations
is exact); :func:`make_terrain` shrinks the relief until both stay below
``slope_margin`` times their limits at the nearest and farthest incidence of
the swath, and records the factor.

References
----------
R. F. Voss (1988), "Fractals in nature: from characterization to
simulation", in *The Science of Fractal Images*, Springer, pp. 21-70
(spectral synthesis of fractional Brownian surfaces).
D. L. Turcotte (1997), *Fractals and Chaos in Geology and Geophysics*,
2nd ed., ch. 7 (topography spectra ~ k^-2 per profile, k^-3..-4 in 2-D).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyfftw.interfaces.numpy_fft as fftw

from peppers.errors import SimulationError
from peppers.geometry.dem import GridDem

__all__ = ["Terrain", "fractal_surface", "slope_limits", "make_terrain"]

#: Metres per degree of latitude (mean; only used to give the fractal metric wavenumbers).
_M_PER_DEG = 111_320.0


@dataclass(frozen=True)
class Terrain:
    """A north-up DEM on a lat/lon grid with its provenance.

    Parameters
    ----------
    heights : ndarray of shape (M, N), float64
        Ellipsoidal heights, metres; row 0 is the northern edge.
    lat0, lon0 : float
        Outer (north-west) corner of pixel (0, 0), degrees.
    dlat, dlon : float
        Pixel size in degrees (``dlat`` < 0).
    relief_requested_m, relief_m : float
        Peak-to-peak relief asked for and used (smaller if it was rescaled
        to avoid layover or shadow).
    """

    heights: np.ndarray
    lat0: float
    lon0: float
    dlat: float
    dlon: float
    relief_requested_m: float
    relief_m: float

    @property
    def shape(self) -> tuple[int, int]:
        return self.heights.shape

    @property
    def geotransform(self) -> tuple[float, float, float, float, float, float]:
        """GDAL geotransform ``(lon0, dlon, 0, lat0, 0, dlat)``."""
        return (self.lon0, self.dlon, 0.0, self.lat0, 0.0, self.dlat)

    def sampler(self) -> GridDem:
        """The bilinear height sampler ``h(lat_deg, lon_deg)`` (NaN off the grid)."""
        return GridDem(self.heights, self.lat0, self.lon0, self.dlat, self.dlon)

    def write_geotiff(self, path: str | Path) -> Path:
        """Write the DEM as a tiled float32 GeoTIFF, EPSG:4326, atomically.

        Returns
        -------
        Path
            ``path``.
        """
        from peppers.io.geotiff import write_geotiff
        from peppers.io.source import ArraySource

        source = ArraySource(self.heights.astype(np.float32), nodata=float("nan"))
        return write_geotiff(path, source, crs="EPSG:4326", transform=self.geotransform,
                             block=256)


def fractal_surface(shape: tuple[int, int], spacing_m: tuple[float, float], exponent: float,
                    outer_scale_m: float, rng: np.random.Generator) -> np.ndarray:
    """A zero-mean fractal surface of unit peak-to-peak range.

    Parameters
    ----------
    shape : (int, int)
        Grid size (rows, cols).
    spacing_m : (float, float)
        Metric spacing of rows and columns.
    exponent : float
        Power spectrum ~ ``(k^2 + k0^2)^(-exponent/2)``.
    outer_scale_m : float
        ``1/k0``: wavelengths longer than this are not amplified further.
    rng : numpy.random.Generator
        Source of the white noise.

    Returns
    -------
    ndarray of shape ``shape``, float64
        Mean 0, ``max - min == 1``.

    References
    ----------
    Voss (1988), sec. 1.6.7 (spectral synthesis, "FFT filtering").
    """
    rows, cols = shape
    spectrum = fftw.rfft2(rng.standard_normal(shape))
    ky = np.fft.fftfreq(rows, d=spacing_m[0])
    kx = np.fft.rfftfreq(cols, d=spacing_m[1])
    # in place, one half-spectrum-sized temporary (the same values as out of place)
    amplitude = ky[:, None] ** 2 + kx[None, :] ** 2
    amplitude += outer_scale_m ** -2
    amplitude **= -exponent / 4.0
    amplitude[0, 0] = 0.0
    spectrum *= amplitude
    del amplitude
    surface = fftw.irfft2(spectrum, s=shape)
    del spectrum
    surface -= surface.mean()
    surface /= surface.max() - surface.min()
    return surface


def slope_limits(heights: np.ndarray, dlat: float, dlon: float, lat_deg: float,
                 away_east: float, away_north: float) -> tuple[float, float]:
    """Largest tangent of the terrain slope along the ground-range direction.

    Parameters
    ----------
    heights : ndarray of shape (M, N)
        North-up grid, metres.
    dlat, dlon : float
        Pixel size, degrees (``dlat`` < 0 for north-up).
    lat_deg : float
        Latitude that sets the metric size of a degree of longitude.
    away_east, away_north : float
        Unit horizontal vector pointing away from the radar (ground range).

    Returns
    -------
    facing, away : float
        Largest ``tan(slope)`` of terrain rising away from the radar (facing
        it: layover side) and of terrain falling away from it (shadow side),
        over all cells of the bilinear surface; 0 when there is none.
    """
    dy = dlat * _M_PER_DEG                       # metres per row step (northwards +)
    dx = dlon * _M_PER_DEG * math.cos(math.radians(lat_deg))
    # edge differences of every cell: two for d/drow, two for d/dcol
    high, low = -math.inf, math.inf
    for lo in range(0, heights.shape[0] - 1, 256):       # bands of cells: bounded memory
        band = heights[lo:lo + 257]
        d_row = (band[1:, :] - band[:-1, :]) / dy        # dh/dnorth along columns j
        d_col = (band[:, 1:] - band[:, :-1]) / dx        # dh/deast along rows i
        for north in (d_row[:, :-1], d_row[:, 1:]):
            for east in (d_col[:-1, :], d_col[1:, :]):
                along = away_east * east + away_north * north
                high, low = max(high, float(along.max())), min(low, float(along.min()))
    return max(high, 0.0), max(-low, 0.0)


def make_terrain(bounds: tuple[float, float, float, float], *, posting_arcsec: float,
                 base_height_m: float, relief_m: float, exponent: float,
                 away_east: float, away_north: float, incidence_deg: tuple[float, float],
                 slope_margin: float, rng: np.random.Generator,
                 reduce: bool = True) -> Terrain:
    """Synthesise the DEM over ``bounds`` and make it free of layover and shadow.

    Parameters
    ----------
    bounds : (south, north, west, east)
        Area to cover, degrees (the grid snaps outwards to the posting).
    posting_arcsec : float
        Pixel size, arc-seconds.
    base_height_m, relief_m : float
        Mean height and requested peak-to-peak relief, metres.
    exponent : float
        Spectral exponent of :func:`fractal_surface`.
    away_east, away_north : float
        Unit horizontal ground-range direction (away from the radar).
    incidence_deg : (float, float)
        Smallest and largest incidence angle on the ellipsoid over the swath.
    slope_margin : float
        Allowed fraction of the layover (``tan(inc)``) and shadow
        (``cot(inc)``) limits.
    rng : numpy.random.Generator
    reduce : bool
        Shrink the relief to avoid layover and shadow (False keeps the
        requested relief: ``--allow-layover``).

    Returns
    -------
    Terrain

    Raises
    ------
    SimulationError
        If the area is degenerate.
    """
    south, north, west, east = bounds
    step = posting_arcsec / 3600.0
    if not (north > south and east > west):
        raise SimulationError(f"simulate: empty DEM area {bounds}")
    lat0 = math.ceil(north / step) * step
    lon0 = math.floor(west / step) * step
    rows = int(math.ceil((lat0 - south) / step)) + 1
    cols = int(math.ceil((east - lon0) / step)) + 1
    lat_mid = 0.5 * (south + north)
    spacing = (step * _M_PER_DEG, step * _M_PER_DEG * math.cos(math.radians(lat_mid)))
    outer = 0.5 * max(rows * spacing[0], cols * spacing[1])
    unit = fractal_surface((rows, cols), spacing, exponent, outer, rng)
    facing, away = slope_limits(unit, -step, step, lat_mid, away_east, away_north)
    inc_near, inc_far = (math.radians(a) for a in incidence_deg)
    allowed = [slope_margin * math.tan(inc_near) / facing if facing > 0 else math.inf,
               slope_margin / math.tan(inc_far) / away if away > 0 else math.inf]
    used = min(relief_m, *allowed) if reduce else relief_m
    # float32 values, so that dem.tif holds exactly the surface the simulation used
    unit *= used                                  # base + used * unit, in place
    unit += base_height_m
    heights = unit.astype(np.float32)
    del unit
    heights = heights.astype(np.float64)
    return Terrain(heights, lat0, lon0, -step, step, float(relief_m), float(used))
