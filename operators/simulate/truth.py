"""Writing the simulation's truth: rasters, ground control points, ``truth.yaml``.

Layout of a simulation folder (all paths in ``truth.yaml`` are relative to it)::

    master.yaml  master.slc  master.slc.vrt      the pair (peppers-slc/1)
    slave.yaml   slave.slc   slave.slc.vrt
    dem.tif                                      the terrain, EPSG:4326, float32
    gcps.yaml                                    ground control points
    truth.yaml                                   this description
    truth/NAME.raw + truth/NAME.vrt              rasters on the master grid

Rasters are flat little-endian files with a GDAL VRT header
(:class:`peppers.io.raw.RawImage`), one value per master pixel; their names,
types, units and meaning are listed in :data:`RASTERS` and in ``truth.yaml``.

Ground control points are picked on coherent ground (coherence at least 90 %
of the background's, not within 5 % of the image edge), one per cell of a
regular grid of cells so they spread over the scene.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from peppers.errors import SimulationError
from peppers.image import ImageSpec, Region
from peppers.io.atomic import atomic_write_bytes
from peppers.io.raw import RawImage
from peppers.plain import plain

__all__ = ["RASTERS", "write_rasters", "write_raster", "raster_entry", "create_rasters",
           "write_rows", "pick_gcps", "pick_gcps_by_rows", "write_gcps", "write_truth_yaml",
           "TRUTH_FORMAT", "load_truth", "read_truth_raster"]

TRUTH_FORMAT = "peppers-sim-truth/1"

#: name -> (dtype, units, description) of every truth raster.
RASTERS: dict[str, tuple[str, str, str]] = {
    "phase_unflattened": (
        "float64", "rad",
        "unwrapped interferometric phase arg(master * conj(slave)) = 4 pi (r2 - r1) / lambda "
        "of the pixel's ground point (r1, r2: its ranges to the master and slave antennas at "
        "their zero-Doppler times)"),
    "phase_flattened": (
        "float32", "rad",
        "phase_unflattened minus the same phase of the pixel's point on the WGS84 ellipsoid "
        "(height 0): the topographic phase left after flat-Earth removal"),
    "azimuth_offset": (
        "float32", "pixel",
        "slave row minus master row of the pixel's ground point: slave_row = row + azimuth_offset"),
    "range_offset": (
        "float32", "pixel",
        "slave column minus master column: slave_col = col + range_offset"),
    "coherence": (
        "float32", "1",
        "expected coherence after common-band filtering: chosen coherence map (speckle "
        "decorrelation) times thermal-noise coherence 1/(1 + N/P)"),
    "coherence_unfiltered": (
        "float32", "1",
        "coherence times the spectral-shift (geometric) coherence of the local fringe "
        "frequencies: what an unfiltered, slope-compensated estimator converges to"),
    "height": ("float32", "m", "ellipsoidal (WGS84) height of the pixel's ground point"),
    "lat": ("float64", "deg", "geodetic latitude of the pixel's ground point"),
    "lon": ("float64", "deg", "longitude of the pixel's ground point"),
    "intensity": ("float32", "1",
                  "expected signal intensity |SLC|^2 of either image (radar brightness beta0 "
                  "smoothed by the impulse response; thermal noise excluded)"),
    "los_displacement": (
        "float64", "m",
        "ground displacement between the passes along the line of sight, positive towards the "
        "satellite (MintPy/HyP3 sign): slave range of the still point minus that of the moved "
        "point"),
    "phase_deformation": (
        "float32", "rad",
        "the deformation part of phase_unflattened: -4 pi / wavelength * los_displacement"),
    "reference_dem_error": (
        "float32", "m",
        "dem_reference.tif (made ellipsoidal) minus the true surface at the pixel's ground "
        "point; NaN on its voids"),
    "layover_shadow": (
        "uint8", "1",
        "0 clear, 1 layover (two or more visible stretches of terrain at the pixel's range), "
        "2 shadow (only hidden terrain there), from the terrain profile of each azimuth line"),
}


def write_rasters(folder: Path, arrays: dict[str, np.ndarray]) -> dict[str, dict[str, Any]]:
    """Write each truth array as ``folder/truth/NAME.raw`` + ``.vrt``.

    Parameters
    ----------
    folder : Path
        The simulation folder.
    arrays : dict
        ``name -> 2-D array``; names must be keys of :data:`RASTERS`.

    Returns
    -------
    dict
        ``name -> {path, dtype, units, description}`` for ``truth.yaml``.
    """
    return {name: write_raster(folder, name, array, *RASTERS[name])
            for name, array in arrays.items()}


def raster_entry(name: str) -> dict[str, Any]:
    """The ``truth.yaml`` entry of raster ``name``."""
    dtype, units, description = RASTERS[name]
    return {"path": f"truth/{name}.vrt", "dtype": dtype, "units": units,
            "description": description}


def create_rasters(folder: Path, names: list[str],
                   shape: tuple[int, int]) -> dict[str, RawImage]:
    """Create (zero-filled) truth rasters ``folder/truth/NAME`` to be written row block by block.

    Returns
    -------
    dict
        ``name -> RawImage`` open for writing, in the order of ``names``.
    """
    (folder / "truth").mkdir(exist_ok=True)
    return {name: RawImage.create(folder / "truth" / f"{name}.vrt",
                                  ImageSpec(shape, np.dtype(RASTERS[name][0]), None))
            for name in names}


def write_rows(image: RawImage, row: int, array: np.ndarray) -> None:
    """Write ``array`` as rows ``row ..`` of ``image`` (converted to its dtype)."""
    data = np.ascontiguousarray(array, dtype=image.spec.dtype)
    image.write(Region(row, 0, data.shape[0], data.shape[1]), data)


def write_raster(folder: Path, name: str, array: np.ndarray, dtype: str, units: str,
                 description: str) -> dict[str, Any]:
    """Write one array as ``folder/truth/NAME.raw`` + ``.vrt``; its ``truth.yaml`` entry."""
    (folder / "truth").mkdir(exist_ok=True)
    data = np.ascontiguousarray(array, dtype=dtype)
    vrt = folder / "truth" / f"{name}.vrt"
    with RawImage.create(vrt, ImageSpec(data.shape, data.dtype, None)) as image:
        image.write(Region.full(data.shape), data)
        image.flush()
    return {"path": f"truth/{name}.vrt", "dtype": dtype, "units": units,
            "description": description}


def pick_gcps(coherence: np.ndarray, lat: np.ndarray, lon: np.ndarray, height: np.ndarray,
              count: int, threshold: float, rng: np.random.Generator) -> list[dict[str, float]]:
    """Ground control points on coherent ground, spread over the image.

    Parameters
    ----------
    coherence, lat, lon, height : ndarray of the image shape
        Truth fields.
    count : int
        Points wanted (fewer if some cells hold no coherent pixel).
    threshold : float
        Smallest coherence of a candidate pixel.
    rng : numpy.random.Generator

    Returns
    -------
    list of dict
        ``row``, ``col``, ``lat``, ``lon``, ``height_m``, ``coherence``.
    """
    return pick_gcps_by_rows(coherence.shape, lambda lo, hi: coherence[lo:hi],
                             lambda i, j: (lat[i, j], lon[i, j], height[i, j]),
                             count, threshold, rng)


def pick_gcps_by_rows(shape: tuple[int, int], coherence_rows, ground,
                      count: int, threshold: float,
                      rng: np.random.Generator) -> list[dict[str, float]]:
    """:func:`pick_gcps` reading the coherence one band of cells at a time.

    Parameters
    ----------
    shape : (int, int)
        Image shape.
    coherence_rows : callable
        ``coherence_rows(lo, hi)``: rows ``lo .. hi - 1`` of the coherence.
    ground : callable
        ``ground(row, col) -> (lat, lon, height)`` of one pixel.
    count, threshold, rng
        As :func:`pick_gcps`.
    """
    if count == 0:
        return []
    lines, samples = shape
    cells_r = max(1, int(round(math.sqrt(count * lines / samples))))
    cells_c = max(1, int(math.ceil(count / cells_r)))
    edge_r, edge_c = int(0.05 * lines), int(0.05 * samples)
    row_edges = np.linspace(edge_r, lines - edge_r, cells_r + 1).astype(int)
    col_edges = np.linspace(edge_c, samples - edge_c, cells_c + 1).astype(int)
    points = []
    for a in range(cells_r):
        band = coherence_rows(int(row_edges[a]), int(row_edges[a + 1]))
        for b in range(cells_c):
            if len(points) == count:
                break
            block = band[:, col_edges[b]:col_edges[b + 1]]
            rows, cols = np.nonzero(block >= threshold)
            if rows.size == 0:
                continue
            k = int(rng.integers(rows.size))
            i, j = int(rows[k] + row_edges[a]), int(cols[k] + col_edges[b])
            lat, lon, height = ground(i, j)
            points.append({"row": i, "col": j, "lat": float(lat), "lon": float(lon),
                           "height_m": float(height), "coherence": float(band[rows[k], j])})
    return points


def write_gcps(path: Path, points: list[dict[str, float]]) -> None:
    """Write ``gcps.yaml`` in the run-input form ``gcps: [{lat, lon, height_m}]``."""
    body = {"gcps": [{"lat": p["lat"], "lon": p["lon"], "height_m": p["height_m"]}
                     for p in points]}
    atomic_write_bytes(path, yaml.safe_dump(body, sort_keys=False).encode("utf-8"))


def write_truth_yaml(path: Path, content: dict[str, Any], fmt: str = TRUTH_FORMAT) -> None:
    """Write ``truth.yaml`` (``format`` first), atomically."""
    body = {"format": fmt, **plain(content)}
    atomic_write_bytes(path, yaml.safe_dump(body, sort_keys=False, width=100).encode("utf-8"))


def load_truth(folder: str | Path, fmt: str = TRUTH_FORMAT) -> dict[str, Any]:
    """The content of ``folder/truth.yaml``.

    Parameters
    ----------
    folder : path
    fmt : str
        The format expected (a pair's ``peppers-sim-truth/1``, a stack's
        ``peppers-sim-stack/1``).

    Raises
    ------
    SimulationError
        If the file is missing or is not a simulator truth file of ``fmt``.
    """
    path = Path(folder) / "truth.yaml"
    try:
        content = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise SimulationError(f"{path}: cannot read the simulation truth ({error})") from None
    if not isinstance(content, dict) or content.get("format") != fmt:
        raise SimulationError(f"{path}: format: not a {fmt} file")
    return content


def read_truth_raster(folder: str | Path, name: str) -> np.ndarray:
    """One truth raster of a simulation folder as an array (master grid).

    Parameters
    ----------
    folder : path
        The simulation folder.
    name : str
        A key of :data:`RASTERS`, e.g. ``"phase_unflattened"``.

    Raises
    ------
    SimulationError
        For an unknown name.
    """
    if name not in RASTERS:
        raise SimulationError(f"read_truth_raster: unknown raster {name!r}; "
                              f"known: {sorted(RASTERS)}")
    with RawImage.open(Path(folder) / "truth" / f"{name}.vrt") as image:
        return image.read(Region.full(image.spec.shape))
