"""A reference DEM distinct from the simulated surface: SRTM-like errors, voids, geoid.

The simulated terrain (``dem.tif``) is the exact surface; a processor is
usually given something worse. :func:`reference_dem` makes that DEM on the
terrain's own grid:

- **random error**: a stationary Gaussian random field of RMS ``error_m``
  with a Gaussian correlation function of length ``correlation_m``
  (white noise convolved with a Gaussian kernel, FFT, rescaled to the exact
  RMS asked); SRTM's errors are of a few metres with correlation over
  tens to hundreds of metres (Rodriguez et al. 2006, Farr et al. 2007);
- **voids**: ``voids`` hard-edged elliptical holes (NaN, the nodata value),
  semi-axes 40 to 150 m, anywhere in the DEM's inner 80 %;
- **geoid reference** (optional): with a geoid grid, the heights written are
  orthometric, ``H = h + e - N`` (``N`` the undulation of the grid at each
  pixel), and the file's CRS is the compound ``EPSG:4326+5773`` (WGS 84 +
  EGM96 height), so a reader can tell from the file.

The error field itself (``reference - terrain`` in ellipsoidal heights) is
returned for the truth.

References
----------
E. Rodriguez, C. S. Morris, J. E. Belz (2006), "A global assessment of the
SRTM performance", Photogramm. Eng. Remote Sens. 72(3):249-260.
T. G. Farr et al. (2007), "The Shuttle Radar Topography Mission", Rev.
Geophys. 45, RG2004.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyfftw.interfaces.numpy_fft as fftw

from peppers.geometry.geoid import GeoidGrid
from peppers.operators.simulate.terrain import _M_PER_DEG, Terrain

__all__ = ["ReferenceDemTruth", "reference_dem", "correlated_field", "write_reference_dem"]


@dataclass(frozen=True)
class ReferenceDemTruth:
    """The reference DEM made from a terrain.

    Attributes
    ----------
    written : ndarray (M, N) float32
        The heights as written (orthometric with a geoid), NaN on voids.
    error : ndarray (M, N) float64
        Ellipsoidal reference minus the true surface, NaN on voids.
    undulation : ndarray (M, N) float64 or None
        Geoid undulation per pixel, when a geoid was used.
    crs : str
    description : dict
        For ``truth.yaml``.
    """

    written: np.ndarray
    error: np.ndarray
    undulation: np.ndarray | None
    crs: str
    description: dict


def correlated_field(shape: tuple[int, int], spacing_m: tuple[float, float], rms: float,
                     correlation_m: float, rng: np.random.Generator) -> np.ndarray:
    """A zero-mean Gaussian random field with a Gaussian correlation, exact RMS.

    White noise filtered by ``exp(-(k L)^2 pi^2 / 2)`` in the Fourier domain
    (a Gaussian kernel whose autocorrelation has e-folding length ``L``),
    then shifted to mean 0 and scaled to RMS ``rms``.
    """
    if rms == 0.0:
        return np.zeros(shape)
    noise = rng.standard_normal(shape)
    ky = np.fft.fftfreq(shape[0], d=spacing_m[0])
    kx = np.fft.rfftfreq(shape[1], d=spacing_m[1])
    k2 = ky[:, None] ** 2 + kx[None, :] ** 2
    field = fftw.irfft2(fftw.rfft2(noise) * np.exp(-0.5 * (math.pi * correlation_m) ** 2 * k2),
                        s=shape)
    field -= field.mean()
    return field * (rms / np.sqrt(np.mean(field ** 2)))


def reference_dem(terrain: Terrain, *, error_m: float, correlation_m: float, voids: int,
                  geoid: GeoidGrid | None, rng: np.random.Generator) -> ReferenceDemTruth:
    """The reference DEM of ``terrain`` (module docstring).

    Parameters
    ----------
    terrain : Terrain
    error_m : float
        RMS of the random height error, metres.
    correlation_m : float
        Its correlation length, metres.
    voids : int
        Number of elliptical voids.
    geoid : GeoidGrid, optional
        Write orthometric heights over this geoid.
    rng : numpy.random.Generator

    Returns
    -------
    ReferenceDemTruth
    """
    m, n = terrain.shape
    lat_mid = terrain.lat0 + 0.5 * m * terrain.dlat
    spacing = (abs(terrain.dlat) * _M_PER_DEG,
               abs(terrain.dlon) * _M_PER_DEG * math.cos(math.radians(lat_mid)))
    error = correlated_field((m, n), spacing, error_m, correlation_m, rng)
    rows = np.arange(m)[:, None] * spacing[0]
    cols = np.arange(n)[None, :] * spacing[1]
    holes = []
    for _ in range(voids):
        centre = (rng.uniform(0.1, 0.9) * m * spacing[0], rng.uniform(0.1, 0.9) * n * spacing[1])
        axes = (rng.uniform(40.0, 150.0), rng.uniform(40.0, 150.0))
        angle = rng.uniform(0.0, math.pi)
        dy, dx = rows - centre[0], cols - centre[1]
        ca, sa = math.cos(angle), math.sin(angle)
        inside = ((ca * dy + sa * dx) / axes[0]) ** 2 + ((-sa * dy + ca * dx) / axes[1]) ** 2 <= 1
        error[inside] = np.nan
        holes.append({"row": centre[0] / spacing[0], "col": centre[1] / spacing[1],
                      "semi_axes_m": [float(axes[0]), float(axes[1])],
                      "angle_deg": float(math.degrees(angle))})
    ellipsoidal = terrain.heights + error
    undulation = None
    crs = "EPSG:4326"
    written = ellipsoidal
    if geoid is not None:
        lat = terrain.lat0 + (np.arange(m) + 0.5) * terrain.dlat
        lon = terrain.lon0 + (np.arange(n) + 0.5) * terrain.dlon
        la, lo = np.meshgrid(lat, lon, indexing="ij")
        undulation = geoid.undulation(la, lo)
        written = ellipsoidal - undulation
        crs = "EPSG:4326+5773"
    written = written.astype(np.float32)
    # the error as a reader recovers it from the float32 file
    back = written.astype(np.float64) + (undulation if undulation is not None else 0.0)
    error = back - terrain.heights
    valid = np.isfinite(error)
    description = {
        "path": "dem_reference.tif", "crs": crs,
        "heights": "EGM96 geoid (orthometric) heights, m" if geoid is not None
        else "WGS84 ellipsoidal, m",
        "geoid": str(geoid.path.name) if geoid is not None else None,
        "error_rms_requested_m": float(error_m), "correlation_m": float(correlation_m),
        "error_rms_m": float(np.sqrt(np.mean(error[valid] ** 2))) if valid.any() else None,
        "error_mean_m": float(np.mean(error[valid])) if valid.any() else None,
        "void_fraction": float(1.0 - valid.mean()), "voids": holes,
        "undulation_range_m": [float(undulation.min()), float(undulation.max())]
        if undulation is not None else None,
    }
    return ReferenceDemTruth(written, error, undulation, crs, description)


def write_reference_dem(path: Path, terrain: Terrain, made: ReferenceDemTruth) -> Path:
    """Write ``made.written`` beside the terrain (same grid), nodata NaN, atomically."""
    from peppers.io.geotiff import write_geotiff
    from peppers.io.source import ArraySource

    source = ArraySource(made.written, nodata=float("nan"))
    return write_geotiff(path, source, crs=made.crs, transform=terrain.geotransform, block=256)
