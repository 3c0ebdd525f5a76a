"""Optional run inputs beside the scenes: ground control points and a reference DEM.

Both are optional in a run (``pep init --gcps G.yaml --reference-dem DEM.tif``)
and both are checked as strictly as the scenes, with
:class:`~peppers.errors.SceneError` naming the file and the field:

- ``gcps.yaml`` holds ``gcps: [{lat, lon, height_m}, ...]``: degrees and
  WGS84 ellipsoidal metres; at least one point; latitude in [-90, 90],
  longitude in [-180, 360), heights finite;
- the reference DEM is any raster GDAL opens, with a CRS, whose first band
  is real-valued (heights in metres; complex or missing CRS is refused).
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from peppers.errors import SceneError
from peppers.scene.reader import load_yaml_strict

__all__ = ["GroundControlPoint", "DemInfo", "load_gcps", "check_reference_dem"]


@dataclass(frozen=True)
class GroundControlPoint:
    """A point of known WGS84 ellipsoidal height.

    Parameters
    ----------
    lat, lon : float
        Geodetic latitude and longitude, degrees.
    height_m : float
        Ellipsoidal height, metres.
    """

    lat: float
    lon: float
    height_m: float


@dataclass(frozen=True)
class DemInfo:
    """What ``pep init`` records about a reference DEM.

    Parameters
    ----------
    path : Path
        Absolute path of the raster.
    crs : str
        Its CRS as a string (``EPSG:4326`` or WKT).
    shape : tuple of int
        ``(rows, columns)``.
    dtype : str
        Numpy dtype name of band 1.
    """

    path: Path
    crs: str
    shape: tuple[int, int]
    dtype: str


def load_gcps(path: str | os.PathLike) -> list[GroundControlPoint]:
    """Load and check a ground-control-point file.

    Parameters
    ----------
    path : path
        YAML with ``gcps: [{lat: 36.51, lon: -117.02, height_m: 812.4}, ...]``.

    Returns
    -------
    list of GroundControlPoint
        In file order; at least one.

    Raises
    ------
    SceneError
        Naming the file and the field, e.g. ``gcps[2].lat``.
    """
    path = Path(path).absolute()
    doc = load_yaml_strict(path)
    if not isinstance(doc, dict) or "gcps" not in doc:
        raise SceneError(path, "gcps", "missing; expected gcps: [{lat, lon, height_m}, ...]")
    items = doc["gcps"]
    if not isinstance(items, list) or not items:
        raise SceneError(path, "gcps", f"is {items!r}; expected a non-empty list of points")
    points = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise SceneError(path, f"gcps[{i}]", f"is {item!r}; expected {{lat, lon, height_m}}")
        values = {}
        for key, low, high in (("lat", -90.0, 90.0), ("lon", -180.0, 360.0),
                               ("height_m", -math.inf, math.inf)):
            value = item.get(key)
            field = f"gcps[{i}].{key}"
            if key not in item:
                raise SceneError(path, field, "missing")
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise SceneError(path, field, f"is {value!r}; expected a number")
            if not math.isfinite(value) or not low <= value <= high or (key == "lon"
                                                                        and value == high):
                raise SceneError(path, field, f"is {value!r}; expected a finite value in "
                                              f"[{low:g}, {high:g}{')' if key == 'lon' else ']'}")
            values[key] = float(value)
        points.append(GroundControlPoint(**values))
    return points


def check_reference_dem(path: str | os.PathLike) -> DemInfo:
    """Check a reference DEM: GDAL opens it, it has a CRS, band 1 is real.

    Parameters
    ----------
    path : path
        Any raster GDAL opens.

    Returns
    -------
    DemInfo

    Raises
    ------
    SceneError
        Field ``(file)`` if it is missing or GDAL cannot open it, ``crs`` if
        it has none, ``band 1`` if that band is complex or absent.
    """
    import numpy as np
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioError

    path = Path(path).absolute()
    if not path.exists():
        raise SceneError(path, "(file)", "no such file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path) as dataset:
                crs, count = dataset.crs, dataset.count
                shape = (dataset.height, dataset.width)
                dtype = np.dtype(dataset.dtypes[0]) if count else None
    except RasterioError as error:
        raise SceneError(path, "(file)", f"GDAL cannot open it: {error}") from None
    if crs is None:
        raise SceneError(path, "crs", "the DEM has no CRS; set one, e.g. "
                                      "gdal_edit.py -a_srs EPSG:4326")
    if dtype is None or np.issubdtype(dtype, np.complexfloating):
        raise SceneError(path, "band 1", f"is {dtype}; expected real heights in metres")
    return DemInfo(path=path, crs=crs.to_string(), shape=shape, dtype=dtype.name)
