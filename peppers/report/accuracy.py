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


# -- the bound for the looks the chain actually uses (issue 15) -------------------------
def filter_noise_gain(op: Any, filtered: np.ndarray, coherence: np.ndarray, looks: float, *,
                      threshold: float = 0.6, seed: int = 0) -> float:
    """Phase-error variance of the filter over the multilook's, measured on a replica.

    The filter is data-driven (its weights come from the noisy spectrum),
    so its gain is measured rather than derived: a replica of the scene is
    made from the run's own filtered phase ``phi`` (the signal, with the
    scene's fringes and relief) and coherence ``g``: ``z = exp(j phi) (g +
    w)``, ``w`` complex Gaussian of variance ``(1 - g^2) / L`` per pixel (the
    multilooked noise of ``L`` independent looks, whose phase variance is the
    Cramer-Rao ``(1 - g^2) / (2 L g^2)``). The replica is filtered, and the
    ratio of the phase-error variances after and before, over pixels of
    coherence ``>= threshold``, is the gain ``g_f``: the filter's equivalent
    looks are ``L / g_f``. A filter that distorts the phase (e.g. unsmoothed
    Goldstein weights on coherent ground) gets a gain above 1.

    Parameters
    ----------
    op : LocalOperator
        The filter as the run builds it (inputs ``interferogram``, ``coherence``).
    filtered, coherence : ndarray
        The run's filtered interferogram and coherence (multilooked grid).
    looks : float
        Independent looks of the multilook, ``la lr B^2``.
    threshold, seed : float, int
        Coherence of the pixels counted; random seed of the replica.

    Returns
    -------
    float
        ``g_f``; NaN if no pixel qualifies.
    """
    from peppers.ppe import apply

    g = np.clip(np.nan_to_num(np.asarray(coherence, dtype=np.float64)), 1e-3, 0.999)
    phase = np.angle(np.asarray(filtered, dtype=np.complex128))
    rng = np.random.default_rng(seed)
    w = np.sqrt((1.0 - g * g) / (2.0 * looks)) * (rng.normal(size=g.shape)
                                                  + 1j * rng.normal(size=g.shape))
    replica = np.exp(1j * phase) * (g + w)
    out = apply(op, interferogram=replica.astype(np.complex64),
                coherence=g.astype(np.float32))
    ok = (g >= threshold) & (np.abs(np.asarray(filtered)) > 0)
    if not ok.any():
        return math.nan
    before = np.angle(replica[ok] * np.exp(-1j * phase[ok]))
    after = np.angle(out[ok] * np.exp(-1j * phase[ok]))
    return float(np.mean(after ** 2) / np.mean(before ** 2))


def chain_looks(looks: tuple[int, int], bandwidth: float = 0.85,
                filter_gain: float = 1.0) -> dict[str, float]:
    """Independent looks of the multilook and of the multilook + filter.

    ``L_ml = la lr B^2`` (samples of a band ``B`` of the sampling rate are
    correlated: the equivalent number of looks of SNAPHU, ``docs/stream1.md``)
    and ``L = L_ml / g`` with ``g`` the filter's measured noise gain
    (:func:`filter_noise_gain`).

    Examples
    --------
    >>> round(chain_looks((5, 5), 0.85, 0.5)["looks"], 9)
    36.125
    """
    nominal = float(looks[0] * looks[1]) * bandwidth ** 2
    gain = filter_gain if math.isfinite(filter_gain) and filter_gain > 0 else 1.0
    return {"posting_looks": nominal, "filter_gain": float(gain), "looks": nominal / gain}
