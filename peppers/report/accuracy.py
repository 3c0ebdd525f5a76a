"""Accuracy of a height product against ground control points.

Each GCP (latitude, longitude, WGS84 ellipsoidal height) is carried into the
product's CRS (:func:`rasterio.warp.transform`; nothing to do for
EPSG:4326) and the product is sampled there by bilinear interpolation of the
four surrounding pixel centres (a GCP whose four neighbours are not all
finite, or that lies outside the grid, is counted as *not covered*). The
statistics of ``product - gcp`` over the covered points: bias (mean),
standard deviation, RMS and largest absolute difference.

Only the 2 x 2 window around each GCP is read, so a large product costs a
few kilobytes per point.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from peppers.errors import ImageError


@dataclass(frozen=True)
class GcpCheck:
    """One GCP against the product."""

    lat: float
    lon: float
    height: float
    product: float  # NaN when not covered

    @property
    def difference(self) -> float:
        return self.product - self.height


@dataclass(frozen=True)
class Accuracy:
    """Statistics of ``product - gcp`` over the GCPs the product covers."""

    checks: tuple[GcpCheck, ...] = field(repr=False)
    covered: int
    bias: float
    std: float
    rms: float
    max_abs: float

    @property
    def total(self) -> int:
        return len(self.checks)


def bilinear(window: np.ndarray, frac_row: float, frac_col: float) -> float:
    """Bilinear interpolation inside a 2 x 2 window (NaN if any corner is NaN).

    Examples
    --------
    >>> bilinear(np.array([[0.0, 1.0], [2.0, 3.0]]), 0.5, 0.5)
    1.5
    """
    (a, b), (c, d) = window.astype(np.float64)
    top = a + (b - a) * frac_col
    bottom = c + (d - c) * frac_col
    return float(top + (bottom - top) * frac_row)


def sample_heights(path: str | os.PathLike, lats: Sequence[float],
                   lons: Sequence[float]) -> np.ndarray:
    """The product at each (lat, lon), bilinear between pixel centres; NaN if not covered.

    Raises
    ------
    ImageError
        If the product has no CRS or cannot be read (names it).
    """
    import rasterio
    from rasterio.errors import RasterioError
    from rasterio.warp import transform as warp
    from rasterio.windows import Window

    try:
        with rasterio.open(path) as ds:
            if ds.crs is None:
                raise ImageError(f"{path}: the product has no CRS; cannot place the GCPs")
            xs, ys = list(lons), list(lats)
            if not ds.crs.is_geographic or ds.crs.to_epsg() != 4326:
                xs, ys = warp("EPSG:4326", ds.crs, xs, ys)
            a, b, c, d, e, f = (ds.transform[k] for k in range(6))
            det = a * e - b * d
            nodata = ds.nodata
            out = np.full(len(xs), np.nan)
            for i, (x, y) in enumerate(zip(xs, ys)):
                col = (e * (x - c) - b * (y - f)) / det  # the inverse geotransform
                row = (a * (y - f) - d * (x - c)) / det
                r0, c0 = math.floor(row - 0.5), math.floor(col - 0.5)  # centre-based
                if not (0 <= r0 < ds.height - 1 and 0 <= c0 < ds.width - 1):
                    continue
                window = ds.read(1, window=Window(c0, r0, 2, 2)).astype(np.float64)
                if nodata is not None and not math.isnan(nodata):
                    window[window == nodata] = np.nan
                out[i] = bilinear(window, row - 0.5 - r0, col - 0.5 - c0)
            return out
    except RasterioError as error:
        raise ImageError(f"{path}: cannot read the product ({error})") from None


def gcp_accuracy(path: str | os.PathLike, points: Sequence[dict[str, Any]]) -> Accuracy:
    """Compare a height product with GCPs.

    Parameters
    ----------
    path : path-like
        The product (any raster with a CRS, heights in metres).
    points : sequence of mapping
        GCPs with ``lat``, ``lon`` (degrees) and ``height_m``.

    Returns
    -------
    Accuracy
        NaN statistics when no GCP is covered.
    """
    lats = [float(p["lat"]) for p in points]
    lons = [float(p["lon"]) for p in points]
    heights = np.array([float(p["height_m"]) for p in points])
    product = sample_heights(path, lats, lons) if points else np.empty(0)
    checks = tuple(GcpCheck(la, lo, h, float(v))
                   for la, lo, h, v in zip(lats, lons, heights, product))
    diff = product - heights
    diff = diff[np.isfinite(diff)]
    if diff.size == 0:
        return Accuracy(checks, 0, math.nan, math.nan, math.nan, math.nan)
    return Accuracy(checks, int(diff.size), float(diff.mean()), float(diff.std()),
                    float(np.sqrt(np.mean(diff ** 2))), float(np.abs(diff).max()))
