"""Where an image is, what it shows, and how large its pixels are on the ground.

``pep show NAME`` accepts a file path, an image of the run (``images/NAME.raw.vrt``,
``images/NAME.tif``, ``products/NAME.tif``), a run input (``master_slc``,
``slave_slc``, ``reference_dem``) or an HKV key whose value is a path:
:func:`resolve_image`.

What a picture shows is guessed from the name, then the dtype
(:func:`guess_kind`): ``*coherence*`` is coherence, ``*dem*``/``*height*``
heights, ``*unwrapped*``/``*unw*`` unwrapped phase (continuous), ``*components*``
labels, ``*mask*`` masks, ``*lat*``/``*lon*``/look-vector/displacement names
plain values, ``*interferogram*``/``*phase*`` wrapped phase,
``*slc*``/``*amplitude*`` amplitude; otherwise complex images are phase and
real ones amplitude.

Pixel size on the ground (:func:`ground_spacing`), for the scale bar:

- georeferenced rasters: from the geotransform; degrees become metres at the
  image's centre latitude on the WGS84 ellipsoid;
- radar-geometry images of a run: ground-range spacing = slant spacing /
  sin(incidence) at mid swath, azimuth spacing = line interval x ground
  speed (satellite speed x R_earth / r_satellite), from the master scene in
  HKV, scaled by the ratio of the master's size to the image's (multilooked
  images cover the master grid with fewer pixels). A spherical-Earth
  estimate, good to a few per cent: enough for a scale bar.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from peppers.errors import ImageError
from peppers.image import ImageSpec
from peppers.io.run_paths import intermediate_path, legacy_intermediate_path

KINDS = ("phase", "unwrapped", "amplitude", "coherence", "height", "value", "labels", "mask")
_NAME_HINTS = (("coherence", ("coherence", "correlation", "coh", "corr")),
               ("height", ("dem", "height", "elevation", "topo")),
               ("unwrapped", ("unwrapped", "unw", "absolute")),
               ("labels", ("components", "conncomp", "labels", "component")),
               ("mask", ("mask",)),
               ("value", ("latitude", "longitude", "lat", "lon", "lv", "theta", "los", "disp",
                          "displacement", "incidence", "heading")),
               ("phase", ("interferogram", "ifg", "phase", "wrapped")),
               ("amplitude", ("amplitude", "slc", "intensity", "amp", "master", "slave")))
#: Run inputs by image name -> the HKV key of their path (as the scheduler knows them).
_RUN_INPUTS = {"master_slc": "inputs.master.image.path", "slave_slc": "inputs.slave.image.path",
               "reference_dem": "inputs.reference_dem.path"}
_WGS84_A, _WGS84_B = 6378137.0, 6356752.314245


def image_name(path: str | os.PathLike) -> str:
    """``images/coherence.raw.vrt`` -> ``coherence``; ``master.slc.vrt`` -> ``master``."""
    return Path(path).name.split(".")[0]


def resolve_image(target: str, root: Path | None = None, db: Any = None) -> Path:
    """The file of ``target``: a path, a run image, a run input or an HKV key.

    Parameters
    ----------
    target : str
        What the user named.
    root : Path, optional
        The run directory (images and products are looked up there).
    db : RunDatabase, optional
        The open run (run inputs and HKV keys are looked up there).

    Returns
    -------
    Path

    Raises
    ------
    ImageError
        If nothing matches; the message lists what was tried.
    """
    path = Path(target)
    if path.is_file():
        return path
    tried = [str(path)]
    if root is not None:
        for rel in (intermediate_path(target), f"images/{target}.tif", f"products/{target}.tif",
                    legacy_intermediate_path(target)):             # a run not yet renamed
            candidate = Path(root) / rel
            if candidate.is_file():
                return candidate
            tried.append(rel)
    if db is not None:
        from peppers.scene.inputs import resolve_input

        key = _RUN_INPUTS.get(target, target)
        try:
            value = db.get(key, None)
        except Exception:  # noqa: BLE001 - a malformed key is just "not a key"
            value = None
        if isinstance(value, str) and value:
            candidate = resolve_input(value, Path(root or db.root))
            if candidate.is_file():
                return candidate
            tried.append(f"{key} -> {candidate}")
        else:
            tried.append(f"HKV key {key}")
    raise ImageError(f"{target}: no such image (tried {', '.join(tried)})")


def guess_kind(name: str, spec: ImageSpec) -> str:
    """The picture kind for an image called ``name`` with ``spec`` (see module docstring)."""
    tokens = name.lower().replace("-", "_").replace(".", "_").split("_")
    for kind, hints in _NAME_HINTS:
        if any(hint in tokens or (len(hint) > 4 and hint in name.lower()) for hint in hints):
            return kind
    return "phase" if spec.dtype.kind == "c" else "amplitude"


def _geographic(crs: Any) -> tuple[bool, float]:
    """Whether ``crs`` is geographic, and its linear unit in metres (1 if unknown)."""
    from rasterio.crs import CRS
    from rasterio.errors import CRSError

    try:
        parsed = CRS.from_user_input(crs)
    except CRSError:
        return False, 1.0
    if parsed.is_geographic:
        return True, 1.0
    try:
        return False, float(parsed.linear_units_factor[1])
    except (CRSError, TypeError, ValueError, IndexError):
        return False, 1.0


def metres_per_degree(lat_deg: float) -> tuple[float, float]:
    """Metres per degree of latitude and of longitude at ``lat_deg`` on WGS84.

    References
    ----------
    .. [1] J. P. Snyder, "Map projections: a working manual", USGS PP 1395,
       1987, eqs. 4-18 and 4-21 (radii of curvature M and N).
    """
    phi = math.radians(lat_deg)
    e2 = 1.0 - (_WGS84_B / _WGS84_A) ** 2
    w = math.sqrt(1.0 - e2 * math.sin(phi) ** 2)
    meridian = _WGS84_A * (1.0 - e2) / w ** 3
    normal = _WGS84_A / w
    return math.radians(1.0) * meridian, math.radians(1.0) * normal * math.cos(phi)


def _geo_spacing(spec: ImageSpec) -> tuple[float, float] | None:
    geo = spec.geo or {}
    t = geo.get("transform")
    if not t or len(t) != 6:
        return None
    x0, a, b, y0, d, e = (float(v) for v in t)
    dx, dy = math.hypot(a, d), math.hypot(b, e)
    if geo.get("crs") is None or dx <= 0 or dy <= 0:
        return None
    geographic, unit = _geographic(geo["crs"])
    if not geographic:
        return dy * unit, dx * unit
    lat = y0 + e * spec.shape[0] / 2 + d * spec.shape[1] / 2
    m_lat, m_lon = metres_per_degree(max(-89.9, min(89.9, lat)))
    return dy * m_lat, dx * m_lon


def _radar_spacing(spec: ImageSpec, db: Any) -> tuple[float, float] | None:
    master = db.get("inputs.master", None)
    try:
        lines, samples = int(master["image"]["lines"]), int(master["image"]["samples"])
        spacing = float(master["range"]["sample_spacing_m"])
        near = float(master["range"]["first_sample_m"])
        dt = float(master["azimuth"]["line_interval_s"])
        vectors = master["orbit"]["state_vectors"]
        mid = vectors[len(vectors) // 2]
        pos = [float(v) for v in mid["position_m"]]
        vel = [float(v) for v in mid["velocity_mps"]]
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    r_sat = math.sqrt(sum(v * v for v in pos))
    lat = math.asin(pos[2] / r_sat)
    r_earth = _WGS84_A * _WGS84_B / math.hypot(_WGS84_B * math.cos(lat), _WGS84_A * math.sin(lat))
    rho = near + spacing * samples / 2
    cos_inc = (r_sat ** 2 - r_earth ** 2 - rho ** 2) / (2 * r_earth * rho)
    if not -1.0 < cos_inc < 1.0:
        return None
    ground_range = spacing / math.sqrt(1.0 - cos_inc ** 2)
    azimuth = math.sqrt(sum(v * v for v in vel)) * r_earth / r_sat * dt
    return azimuth * lines / spec.shape[0], ground_range * samples / spec.shape[1]


def ground_spacing(spec: ImageSpec, db: Any = None) -> tuple[float, float] | None:
    """Ground size ``(dy, dx)`` in metres of one pixel, or None if unknown.

    Parameters
    ----------
    spec : ImageSpec
        The image (its ``geo`` carries CRS and geotransform when it has them).
    db : RunDatabase, optional
        For images in radar geometry: the run whose master scene they share.

    Returns
    -------
    tuple of float or None
    """
    spacing = _geo_spacing(spec)
    if spacing is None and db is not None:
        spacing = _radar_spacing(spec, db)
    return spacing


def is_georeferenced(spec: ImageSpec) -> bool:
    """Whether the image has a CRS and a geotransform (a map, not radar geometry)."""
    return _geo_spacing(spec) is not None
