r"""The HyP3-style product set of a pair: the layout MintPy's ``prep_hyp3`` reads unchanged.

ASF's HyP3 delivers one folder per interferogram, every file named after
the product, and MintPy (``prep_hyp3``, ``load_data`` with ``processor =
hyp3``) finds the dates, the looks and the geometry from those names and
from the ``{PRODUCT}.txt`` parameter file. The product rule
``hyp3_product`` (``rules/insar.yaml``) runs this module::

    python3 -m peppers.operators.hyp3 RUN DST.tif --unw U.vrt --corr C.vrt --amp A.vrt \
        --dem D.vrt --conncomp K.vrt --heights gcps [--differential --lat LAT.vrt --lon LON.vrt]

and writes, into ``RUN/products/{PRODUCT}/`` (staged under a hidden name
and renamed when complete):

=====================================  =========================================  ======
file                                   content                                    unit
=====================================  =========================================  ======
``{PRODUCT}_unw_phase.tif``            geocoded unwrapped phase                   rad
``{PRODUCT}_wrapped_phase.tif``        the unwrapped phase wrapped to (-pi, pi]   rad
``{PRODUCT}_corr.tif``                 coherence                                  1
``{PRODUCT}_amp.tif``                  master amplitude                           1
``{PRODUCT}_dem.tif``                  heights (WGS 84 ellipsoid)                 m
``{PRODUCT}_lv_theta.tif``             look-vector elevation above the horizon    rad
``{PRODUCT}_lv_phi.tif``               look-vector azimuth, anticlockwise from E  rad
``{PRODUCT}_conncomp.tif``             connected component (uint16, 0: none)      1
``{PRODUCT}.txt``                      HyP3 parameter file                        --
``{PRODUCT}.README.md.txt``            what each file is                          --
``{PRODUCT}_unw_phase.png``            browse image of the unwrapped phase        --
=====================================  =========================================  ======

With a reference DEM (rule variant ``reference_dem``,
``rules/reference_dem/products.yaml``, option ``--differential``) the
unwrapped phase, its wrapped phase and components are the *differential*
ones, the reference DEM's topographic phase removed, as HyP3 delivers them
(GAMMA's differential interferogram): ``unwrapped_differential`` geocoded
with the radar geometry's positions, layover, shadow and DEM voids left out.
The ``.txt`` then gives the displacement's reference point
(``insar.displacement.result``) under HyP3's keys, and the rule
``hyp3_displacement`` adds, on the same grid, ``{PRODUCT}_los_disp.tif``
(LOS displacement, m, positive towards the satellite, ``-lambda / (4 pi) *
(unw_phase - Phase at reference point)``) and
``{PRODUCT}_layover_shadow_mask.tif`` (0 clear, 1 layover, 2 shadow):
:func:`add_displacement`. Without a reference DEM ``_unw_phase`` holds the
topographic phase (flat earth removed only).

Every GeoTIFF is a Cloud-Optimized GeoTIFF with its unit and description
(:func:`peppers.io.geotiff.write_geotiff`). The rule's tracked output
``products/hyp3_product.tif`` is a hard link to ``{PRODUCT}_unw_phase.tif``
(the scheduler follows one file per output; the folder comes with it).

The wrapped phase is the geocoded *unwrapped* phase wrapped again: equal to
the filtered interferogram's phase wherever the unwrapping is congruent
(MCF's is), NaN where nothing was unwrapped. The look vector points from
the ground to the antenna at the zero-Doppler time of each map pixel
(``geo2rdr`` on the master orbit, the pixel's geocoded height): HyP3's
convention, ``theta`` measured from the local horizontal plane (pi/2 =
straight up), ``phi`` anticlockwise from east.

Product name: HyP3's INSAR_GAMMA pattern, exactly as MintPy 1.6's
``prep_hyp3`` matches it
(``S1[ABCD]{2}(_\d{8}T\d{6}){2}_(VV|HH)[PRO]\d{3,4}_INT\d{2}_G_[uw][ec][123F]_[0-9A-F]{4}``)::

    S1AB_20190610T135156_20190622T135157_VVP012_INT80_G_ueF_1A2B

platform pair (``S1`` + the unit letters of the master and the slave),
master and slave start times, polarization + ``P`` + days between, ``INT``
+ the map posting in metres (two digits, at most 99), ``G`` (the letter
MintPy requires; HyP3 writes it for GAMMA -- the README and the ``.txt``
say the product is peppers'), HyP3's default option letters ``ueF``, and
four hex digits of a hash of the inputs and settings. For a sensor other
than Sentinel-1 the first part is the first four letters and digits of the
sensor name (``SIMC`` for the simulator's ``SIM-C``, ``NISA`` for NISAR),
upper case, padded with ``X``: the same layout, but MintPy's ``prep_hyp3``
accepts only Sentinel-1 names (it takes the wavelength and pixel sizes
from the granule's platform), so such a set is read by MintPy only after
renaming, with ``WAVELENGTH`` given in the template. Polarization is
``VV`` unless the scene says otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import re
import shutil
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from peppers.operator import Param
from peppers.operators.geocode import Geocode

__all__ = ["FILES", "DIFFERENTIAL_KINDS", "GeocodeLabels", "platform_code", "product_name",
           "look_angles", "parameters", "parameter_text", "reference_point_keys",
           "write_product_set", "main"]


class GeocodeLabels(Geocode):
    """:class:`~peppers.operators.geocode.Geocode` of labels: nearest neighbour by default.

    The connected components of the unwrapping are labels; a bilinear
    average of two labels is a third, wrong one. The resampling reads
    ``products.label_resampling`` (default ``nearest``).
    """

    name = "geocode_labels"
    params = tuple(Param("resampling", str, "nearest", "nearest or bilinear",
                         key="products.label_resampling", choices=("nearest", "bilinear"))
                   if p.name == "resampling" else p for p in Geocode.params)

#: Suffix -> (product kind of :data:`peppers.operators.export.KINDS`, source port).
FILES: dict[str, tuple[str, str]] = {
    "unw_phase": ("unwrapped_phase", "unw"),
    "wrapped_phase": ("wrapped_phase", "unw"),
    "corr": ("coherence", "corr"),
    "amp": ("amplitude", "amp"),
    "dem": ("dem", "dem"),
    "lv_theta": ("lv_theta", "dem"),
    "lv_phi": ("lv_phi", "dem"),
    "conncomp": ("components", "conncomp"),
}

#: Suffix -> product kind where the set holds the differential phase (``--differential``).
DIFFERENTIAL_KINDS: dict[str, str] = {"unw_phase": "unwrapped_phase_differential",
                                      "wrapped_phase": "wrapped_phase_differential"}


def platform_code(master_sensor: str, slave_sensor: str) -> str:
    """The four characters HyP3 puts first: ``S1`` + unit letters, else from the sensor name.

    Examples
    --------
    >>> platform_code("Sentinel-1A", "S1B")
    'S1AB'
    >>> platform_code("peppers-sim", "peppers-sim")
    'PEPP'
    """
    units = [_s1_unit(s) for s in (master_sensor, slave_sensor)]
    if all(units):
        return "S1" + "".join(units)
    letters = re.sub(r"[^A-Za-z0-9]", "", master_sensor).upper()
    return (letters + "XXXX")[:4]


def _s1_unit(sensor: str) -> str:
    match = re.fullmatch(r"(?:sentinel-?1|s1)([a-d])", sensor.strip().lower())
    return match.group(1).upper() if match else ""


def product_name(master: Any, slave: Any, *, posting_m: float, polarization: str = "VV",
                 salt: str = "") -> str:
    """The HyP3-pattern name of a pair's product (see the module docstring).

    Parameters
    ----------
    master, slave : Scene
    posting_m : float
        Map posting in metres (``INT`` + the rounded value).
    polarization : str
    salt : str
        Extra text for the four-digit hash (e.g. the looks and the method).

    Examples
    --------
    >>> from types import SimpleNamespace as S
    >>> from datetime import datetime
    >>> m = S(sensor_name="S1A", first_line_utc=datetime(2019, 6, 10, 13, 51, 56))
    >>> s = S(sensor_name="S1B", first_line_utc=datetime(2019, 6, 22, 13, 51, 57))
    >>> product_name(m, s, posting_m=80.0)[:49]
    'S1AB_20190610T135156_20190622T135157_VVP012_INT80'
    """
    t1, t2 = master.first_line_utc, slave.first_line_utc
    days = abs((t2.date() - t1.date()).days)
    digest = hashlib.sha1(f"{t1.isoformat()}|{t2.isoformat()}|{posting_m}|{salt}".encode())
    return (f"{platform_code(master.sensor_name, slave.sensor_name)}_{_stamp(t1)}_"
            f"{_stamp(t2)}_{polarization.upper()}P{days:03d}_INT{min(99, int(round(posting_m))):02d}"
            f"_G_ueF_"
            f"{digest.hexdigest()[:4].upper()}")


def _stamp(when: datetime) -> str:
    return when.strftime("%Y%m%dT%H%M%S")


def look_angles(lat: np.ndarray, lon: np.ndarray, h: np.ndarray,
                orbit: Any) -> tuple[np.ndarray, np.ndarray]:
    """HyP3's look-vector angles (radians) of ground points seen from ``orbit``.

    The look vector ``l = p_sat(t0) - p_ground`` at the zero-Doppler time
    ``t0`` (:func:`peppers.geometry.zero_doppler.geo2rdr`), in local
    east/north/up ``(e, n, u)``: ``theta = atan2(u, hypot(e, n))`` (elevation
    above the horizontal plane), ``phi = atan2(n, e)`` (anticlockwise from
    east). NaN where a height is NaN or geo2rdr fails.
    """
    from peppers.geometry.ellipsoid import enu_basis, llh_to_ecef
    from peppers.geometry.zero_doppler import geo2rdr

    theta = np.full(np.shape(h), np.nan, np.float32)
    phi = np.full(np.shape(h), np.nan, np.float32)
    ok = np.isfinite(h) & np.isfinite(lat) & np.isfinite(lon)
    if not ok.any():
        return theta, phi
    ground = llh_to_ecef(lat[ok], lon[ok], h[ok])
    t, _ = geo2rdr(ground, orbit, on_failure="nan")
    good = np.isfinite(t)
    los = np.full(ground.shape, np.nan)
    los[good] = orbit.interpolate(t[good])[0] - ground[good]
    enu = np.einsum("...ij,...j->...i", enu_basis(lat[ok], lon[ok]), los)
    theta[ok] = np.arctan2(enu[:, 2], np.hypot(enu[:, 0], enu[:, 1]))
    phi[ok] = np.arctan2(enu[:, 1], enu[:, 0])
    return theta, phi


def parameters(master: Any, slave: Any, *, looks: tuple[int, int], filter_alpha: float,
               unwrapping: str, dem_source: str,
               granules: tuple[str, str] = ("reference", "secondary")) -> dict[str, str]:
    """The keys of a HyP3 parameter file (``{PRODUCT}.txt``), in HyP3's order.

    Geometry at the master scene centre: ``Baseline`` is the perpendicular
    baseline (m): the component of ``p_slave - p_master`` (each at its
    zero-Doppler time of the centre's ground point) across the master line
    of sight and the track, positive towards larger look angles; ``Heading`` the ground-track azimuth (degrees
    clockwise from north) of the master velocity, ``UTC time`` the seconds
    of day of the centre line, ``Spacecraft height`` and ``Earth radius at
    nadir`` from the master position there, slant ranges near/centre/far of
    the master grid.
    """
    from peppers.geometry.ellipsoid import ecef_to_llh, enu_basis, llh_to_ecef
    from peppers.geometry.scene_geometry import scene_pixel_to_geo
    from peppers.geometry.zero_doppler import geo2rdr

    orbit = master.orbit()
    row, col = master.lines / 2.0, master.samples / 2.0
    # the scene's own geometry finds the centre point; the baseline is then taken
    # at both orbits' zero-Doppler (closest-approach) times of that point
    center = scene_pixel_to_geo(master, row, col, 0.0, orbit=orbit)
    ground = llh_to_ecef(*np.asarray(center, dtype=np.float64).reshape(3))
    t_m, _ = geo2rdr(ground, orbit)
    t_s, _ = geo2rdr(ground, slave.orbit())
    p_m, v_m = orbit.interpolate(float(t_m))
    p_s = slave.orbit().interpolate(float(t_s))[0]
    look = (ground - p_m) / np.linalg.norm(ground - p_m)
    along = v_m / np.linalg.norm(v_m)
    base = p_s - p_m
    perp = base - np.dot(base, look) * look - np.dot(base, along) * along
    # unit vector across the line of sight, away from nadir (towards larger look angles)
    down = -p_m / np.linalg.norm(p_m)
    away = -(down - np.dot(down, look) * look)
    away -= np.dot(away, along) * along
    away /= np.linalg.norm(away)
    bperp = float(np.dot(perp, away))
    sat = ecef_to_llh(p_m)
    enu = enu_basis(sat[0], sat[1]) @ v_m
    heading = math.degrees(math.atan2(enu[0], enu[1]))
    radius = float(np.linalg.norm(llh_to_ecef(sat[0], sat[1], 0.0)))
    mid = master.azimuth_time(row)
    utc = mid.hour * 3600 + mid.minute * 60 + mid.second + mid.microsecond * 1e-6
    near = master.first_sample_m
    far = near + (master.samples - 1) * master.sample_spacing_m
    direction = "ASCENDING" if enu[1] > 0 else "DESCENDING"
    yes = "yes" if filter_alpha > 0 else "no"
    return {
        "Reference Granule": granules[0], "Secondary Granule": granules[1],
        "Reference Pass Direction": direction, "Reference Orbit Number": "0",
        "Secondary Pass Direction": direction, "Secondary Orbit Number": "0",
        "Baseline": f"{bperp:.4f}", "UTC time": f"{utc:.6f}", "Heading": f"{heading:.6f}",
        "Spacecraft height": f"{float(sat[2]):.3f}", "Earth radius at nadir": f"{radius:.3f}",
        "Slant range near": f"{near:.3f}", "Slant range center": f"{(near + far) / 2:.3f}",
        "Slant range far": f"{far:.3f}", "Range looks": str(int(looks[1])),
        "Azimuth looks": str(int(looks[0])), "INSAR phase filter": yes,
        "Phase filter parameter": f"{filter_alpha:g}", "Range bandpass filter": "yes",
        "Azimuth bandpass filter": "yes", "DEM source": dem_source,
        "DEM resolution (m)": "0", "Unwrapping type": unwrapping, "Speckle filter": "no",
        "Water mask": "no", "Wavelength (m)": f"{master.wavelength_m:.9f}",
    }


def _granule(scene: Any, mapping: Mapping[str, Any]) -> str:
    """A granule name for the ``.txt``.

    Sentinel-1: the SAFE layout ``S1A_IW_SLC__1SSV_{start}_{stop}_000000_000000_{id}``
    (the fields MintPy reads: platform, start and stop times; orbit and
    data-take numbers are not in the scene contract and are written as 0).
    Other sensors: sensor, start time and the scene file's name (``master``).
    """
    start = scene.first_line_utc
    unit = _s1_unit(scene.sensor_name)
    if unit:
        stop = scene.azimuth_time(scene.lines - 1)
        digest = hashlib.sha1(f"{start.isoformat()}|{scene.sensor_name}".encode()).hexdigest()
        return (f"S1{unit}_IW_SLC__1SSV_{_stamp(start)}_{_stamp(stop)}_000000_000000_"
                f"{digest[:4].upper()}")
    files = mapping.get("files") or [{}]
    stem = Path(str(files[0].get("path", "scene"))).name.split(".")[0] or "scene"
    sensor = re.sub(r"[^A-Za-z0-9]", "", scene.sensor_name) or "SAR"
    return f"{sensor}_{_stamp(start)}_{re.sub(r'[^A-Za-z0-9-]', '', stem)}"


def reference_point_keys(reference: Mapping[str, Any], *, crs: str, lat: float,
                         lon: float) -> dict[str, str]:
    """HyP3's reference-point keys of the ``.txt`` from ``insar.displacement.result``.

    ``Phase at reference point`` is the reference phase (rad) the LOS
    displacement subtracts (:mod:`peppers.operators.displacement`); line
    and pixel are on the multilooked radar grid (HyP3's "SAR space" is its
    multilooked grid too); ``lat``, ``lon`` the radar geometry's position
    of that pixel, X and Y the same in the product grid's CRS.

    Examples
    --------
    >>> keys = reference_point_keys({"phase_rad": 1.5, "row": 3, "col": 4}, crs="EPSG:4326",
    ...                             lat=36.5, lon=-117.0)
    >>> keys["Phase at reference point"], keys["X coordinate of the reference point in the map projection"]
    ('1.5000', '-117.00000000')
    """
    from peppers.operators.geocode import to_map

    x, y = to_map(crs, np.array([lat]), np.array([lon]))
    return {
        "Phase at reference point": f"{float(reference['phase_rad']):.4f}",
        "Azimuth line of the reference point in SAR space": str(int(reference["row"])),
        "Range pixel of the reference point in SAR space": str(int(reference["col"])),
        "Y coordinate of the reference point in the map projection": f"{float(y[0]):.8f}",
        "X coordinate of the reference point in the map projection": f"{float(x[0]):.8f}",
        "Latitude of the reference point (WGS84)": f"{lat:.8f}",
        "Longitude of the reference point (WGS84)": f"{lon:.8f}",
    }


def _insert_after(values: Mapping[str, str], key: str,
                  extra: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in values.items():
        out[k] = v
        if k == key:
            out.update(extra)
    return out


def _pixel_value(path: str, row: int, col: int) -> float:
    import rasterio
    from rasterio.windows import Window

    with rasterio.open(path) as ds:
        return float(ds.read(1, window=Window(col, row, 1, 1))[0, 0])


def parameter_text(values: Mapping[str, str]) -> str:
    """``Key: value`` lines; a value never holds ``:`` (``prep_hyp3`` splits on it).

    Examples
    --------
    >>> parameter_text({"Baseline": "12.5", "UTC time": "3600.0"})
    'Baseline: 12.5\\nUTC time: 3600.0\\n'
    """
    lines = []
    for key, value in values.items():
        text = str(value).replace(":", "-")
        lines.append(f"{key}: {text}")
    return "\n".join(lines) + "\n"


README = """\
{name}
{rule}

InSAR product of peppers (https://github.com/ - the peppers production environment)
in the layout of ASF HyP3 INSAR_GAMMA products, readable by MintPy
(prep_hyp3, load_data with processor = hyp3).

Reference (master): {reference}
Secondary (slave):  {secondary}
Wavelength: {wavelength} m   Looks (azimuth x range): {looks}
Map grid: {crs}, posting {posting}

Files (GeoTIFFs are Cloud-Optimized, NaN no-data, band unit and description set):
{files}

{name}.txt  HyP3 parameter file (Key: value lines).
{name}_unw_phase.png  browse image of the unwrapped phase.

Heights: {heights}.
{phase}
The wrapped phase is the geocoded unwrapped phase wrapped to (-pi, pi].
Look vector angles: theta from the local horizontal (pi/2 = up), phi
anticlockwise from east, of the ground-to-sensor vector.
Non-Sentinel-1 sensors: MintPy's prep_hyp3 sets WAVELENGTH only for granules
named S1*; add "WAVELENGTH {wavelength}" to each .rsc it writes.
"""


PLAIN_PHASE = """\
Unwrapped phase: the interferogram's, flat earth removed only: it holds the
topographic phase (no reference DEM in this run)."""

DIFFERENTIAL_PHASE = """\
Unwrapped phase: differential, the topographic phase of the run's reference
DEM removed (as HyP3's), not referenced: its reference point is in the .txt.
With the reference DEM the set also holds (rule hyp3_displacement):
{name}_los_disp.tif  {disp} [m],
    = -wavelength / (4 pi) * (unw_phase - Phase at reference point)
{name}_layover_shadow_mask.tif  {mask} [1]"""


def write_product_set(run: str | os.PathLike, dst: str | os.PathLike,
                      sources: Mapping[str, str], *, block: int = 512,
                      heights: str = "relative", differential: bool = False,
                      master_key: str = "inputs.master", slave_key: str = "inputs.slave",
                      grid_key: str = "products.grid",
                      reference_key: str = "insar.displacement.result",
                      reference_index: int | None = None) -> Path:
    """Write the HyP3-style folder ``RUN/products/{PRODUCT}/`` and link ``dst`` to its unwrapped phase.

    Parameters
    ----------
    run : path-like
        The run directory (its HKV gives the scenes, looks and methods).
    dst : path-like
        The rule's tracked output (a hard link to ``{PRODUCT}_unw_phase.tif``).
    sources : mapping
        Port (``unw``, ``corr``, ``amp``, ``dem``, ``conncomp``) -> map image (VRT) path;
        with ``differential`` also ``lat`` and ``lon``, the multilooked radar
        geometry's positions (for the reference point).
    block : int
        GeoTIFF tile size.
    heights : str
        The absolute-phase method (``insar.absolute_phase.method``) for the
        DEM's height tags.
    differential : bool
        ``unw`` and ``conncomp`` are the differential unwrapping's (a run
        with a reference DEM): the bands say so, the ``.txt`` gets the
        reference point of ``insar.displacement.result``.
    master_key, slave_key, grid_key : str
        HKV keys of the two scenes and of the map grid (a stack run names
        each pair's dates, ``inputs.slc_DATE``, and ``products.geometry_grid``).
    reference_key, reference_index : str, int or None
        HKV key of the reference point (``{row, col, phase_rad}``); a stack's
        (``stack.reference``) holds one phase per pair: ``reference_index``
        picks this pair's.

    Returns
    -------
    Path
        The product folder.

    Raises
    ------
    ImageError
        If a source has no georeferencing or GDAL fails; nothing is left.
    """
    import rasterio

    from peppers.hkv import RunDatabase
    from peppers.io.atomic import fsync_dir, temporary_name
    from peppers.io.geotiff import write_geotiff
    from peppers.io.source import ArraySource
    from peppers.operators.export import KINDS, export_product, height_tags
    from peppers.scene import scene_from_mapping
    from peppers.operators.geocode import from_map
    from peppers.operators.height import radar_looks
    from peppers.pictures.quicklook import quicklook

    run = Path(run)
    db = RunDatabase.open(run)
    master = scene_from_mapping(db.get(master_key), master_key)
    slave = scene_from_mapping(db.get(slave_key), slave_key)
    looks = radar_looks(db.get("inputs.master"), db.get("insar.multilook.looks"))
    grid = db.get(grid_key)
    method = str(heights)
    posting = float(grid["posting"])
    posting_m = posting * 111_320.0 if abs(posting) < 1 else posting
    unwrapping = str(db.get("insar.unwrap.method", "mcf"))
    name = product_name(master, slave, posting_m=posting_m,
                        salt=f"{looks}|{unwrapping}|{method}")
    folder = run / "products" / name
    stage = temporary_name(folder)
    stage.mkdir(parents=True)
    try:
        with rasterio.open(sources["dem"]) as ds:
            heights = ds.read(1).astype(np.float64)
            crs, transform = ds.crs, ds.transform
        rows, cols = np.mgrid[0:heights.shape[0], 0:heights.shape[1]]
        x0, px, rx, y0, ry, py = transform.to_gdal()
        x = x0 + (cols + 0.5) * px + (rows + 0.5) * rx
        y = y0 + (cols + 0.5) * ry + (rows + 0.5) * py
        lat, lon = from_map(crs.to_string(), np.asarray(x), np.asarray(y))
        lat, lon = np.asarray(lat).reshape(heights.shape), np.asarray(lon).reshape(heights.shape)
        theta, phi = look_angles(lat, lon, heights, master.orbit())
        with rasterio.open(sources["unw"]) as ds:
            unw = ds.read(1)
        wrapped = np.angle(np.exp(1j * unw)).astype(np.float32)
        with rasterio.open(sources["conncomp"]) as ds:
            labels = ds.read(1)
        # geocoded with nearest: whole labels; outside the footprint 0 (not unwrapped)
        labels = np.where(np.isfinite(labels), labels, 0).astype(np.uint16)
        computed = {"lv_theta": theta, "lv_phi": phi, "wrapped_phase": wrapped,
                    "conncomp": labels}
        for suffix, (kind, port) in FILES.items():
            out = stage / f"{name}_{suffix}.tif"
            if differential:
                kind = DIFFERENTIAL_KINDS.get(suffix, kind)
            if suffix in computed:
                spec = KINDS[kind]
                data = computed[suffix]
                nodata = None if data.dtype.kind == "u" else float("nan")
                write_geotiff(out, ArraySource(data, nodata=nodata),
                              crs=crs, transform=transform.to_gdal(), nodata=nodata,
                              block=block, tags={"UNITS": spec.unit},
                              description=spec.description, unit=spec.unit,
                              overview_resampling=spec.resampling)
            else:
                tags = height_tags(method) if kind == "dem" else None
                export_product(str(sources[port]), str(out), block=block, kind=kind, tags=tags)
        values = parameters(master, slave, looks=looks,
                            filter_alpha=float(db.get("insar.adaptive_filter.alpha", 0.5)),
                            unwrapping=unwrapping,
                            dem_source="run input" if db.get("inputs.reference_dem", None)
                            else "none",
                            granules=(_granule(master, db.get(master_key)),
                                      _granule(slave, db.get(slave_key))))
        if differential:
            reference = dict(db.get(reference_key))
            if reference_index is not None:
                reference["phase_rad"] = reference["phase_rad"][reference_index]
            row, col = int(reference["row"]), int(reference["col"])
            values = _insert_after(values, "Unwrapping type", reference_point_keys(
                reference, crs=crs.to_string(), lat=_pixel_value(sources["lat"], row, col),
                lon=_pixel_value(sources["lon"], row, col)))
        (stage / f"{name}.txt").write_text(parameter_text(values), encoding="utf-8")
        quicklook(stage / f"{name}_unw_phase.tif", stage / f"{name}_unw_phase.png",
                  kind="unwrapped", title=f"{name} unwrapped phase", db=db)
        kinds = {s: DIFFERENTIAL_KINDS.get(s, k) if differential else k
                 for s, (k, _) in FILES.items()}
        files = "\n".join(f"{name}_{s}.tif  {KINDS[k].description} [{KINDS[k].unit}]"
                          for s, k in kinds.items())
        phase = (DIFFERENTIAL_PHASE.format(
            name=name, disp=KINDS["los_displacement"].description,
            mask=KINDS["layover_shadow"].description) if differential else PLAIN_PHASE)
        (stage / f"{name}.README.md.txt").write_text(README.format(
            name=name, rule="=" * len(name), reference=values["Reference Granule"],
            secondary=values["Secondary Granule"], wavelength=f"{master.wavelength_m:.9f}",
            looks=f"{looks[0]} x {looks[1]}", crs=crs.to_string(), posting=posting,
            files=files, heights=height_tags(method)["HEIGHT_REFERENCE"], phase=phase),
            encoding="utf-8")
        for path in stage.iterdir():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(stage, folder)
        fsync_dir(folder.parent)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    dst = Path(dst)
    dst.unlink(missing_ok=True)
    os.link(folder / f"{name}_unw_phase.tif", dst)
    return folder


#: Suffix -> product kind of the differential additions (:func:`add_displacement`).
DIFFERENTIAL_FILES: dict[str, str] = {"los_disp": "los_displacement",
                                      "layover_shadow_mask": "layover_shadow"}


def product_folder(tracked: str | os.PathLike) -> Path:
    """The HyP3 folder whose ``_unw_phase.tif`` is the hard link ``tracked`` (``hyp3_product``).

    Raises
    ------
    ImageError
        If no folder next to ``tracked`` holds it.
    """
    from peppers.errors import ImageError

    tracked = Path(tracked)
    for folder in sorted(tracked.parent.iterdir()):
        unw = folder / f"{folder.name}_unw_phase.tif"
        if folder.is_dir() and unw.exists() and unw.samefile(tracked):
            return folder
    raise ImageError(f"{tracked}: no HyP3 product folder beside it holds this unw_phase")


def add_displacement(tracked: str | os.PathLike, dst: str | os.PathLike,
                     sources: Mapping[str, str], *, block: int = 512) -> Path:
    """Add ``{PRODUCT}_los_disp.tif`` and ``{PRODUCT}_layover_shadow_mask.tif`` to a HyP3 folder.

    The rule ``hyp3_displacement`` (``rules/dinsar.yaml``, runs with a
    reference DEM) geocodes the LOS displacement (m, positive towards the
    satellite, HyP3's convention) and the layover/shadow codes onto the
    HyP3 set's own grid (``products.grid``) and calls this; each file is
    written atomically (:func:`~peppers.operators.export.export_product`),
    ``dst`` becomes a hard link to ``_los_disp.tif``.

    Parameters
    ----------
    tracked : path-like
        ``products/hyp3_product.tif`` (finds the folder).
    dst : path-like
        The rule's tracked output.
    sources : mapping
        ``los_disp`` and ``layover_shadow_mask`` -> map image (VRT) path.
    block : int
        GeoTIFF tile size.
    """
    from peppers.operators.export import export_product

    folder = product_folder(tracked)
    for suffix, kind in DIFFERENTIAL_FILES.items():
        tags = {"SIGN": "positive_towards_the_satellite"} if suffix == "los_disp" else None
        export_product(str(sources[suffix]), str(folder / f"{folder.name}_{suffix}.tif"),
                       block=block, kind=kind, tags=tags)
    dst = Path(dst)
    dst.unlink(missing_ok=True)
    os.link(folder / f"{folder.name}_los_disp.tif", dst)
    return folder


def main(argv: list[str] | None = None) -> int:
    """Command line of the ``hyp3_product`` rule (see the module docstring)."""
    from peppers.errors import PeppersError

    parser = argparse.ArgumentParser(prog="python3 -m peppers.operators.hyp3",
                                     description="write the HyP3-style product set of a pair")
    parser.add_argument("run")
    parser.add_argument("dst")
    for port in ("unw", "corr", "amp", "dem", "conncomp", "lat", "lon"):
        parser.add_argument(f"--{port}", metavar="VRT")
    parser.add_argument("--differential", action="store_true",
                        help="--unw/--conncomp are the differential unwrapping's (reference "
                             "DEM); --lat/--lon: the multilooked radar positions")
    parser.add_argument("--add-displacement", action="store_true",
                        help="RUN is products/hyp3_product.tif: add _los_disp and "
                             "_layover_shadow_mask to its folder")
    parser.add_argument("--los-disp", metavar="VRT")
    parser.add_argument("--layover-shadow-mask", metavar="VRT")
    parser.add_argument("--block", type=int, default=512)
    parser.add_argument("--heights", default="relative", metavar="METHOD",
                        help="absolute-phase method of the heights (relative, gcps, dem...)")
    parser.add_argument("--master-key", default="inputs.master", metavar="KEY",
                        help="HKV key of the master scene (a stack: inputs.slc_DATE)")
    parser.add_argument("--slave-key", default="inputs.slave", metavar="KEY",
                        help="HKV key of the slave scene")
    parser.add_argument("--grid-key", default="products.grid", metavar="KEY",
                        help="HKV key of the map grid")
    parser.add_argument("--reference-key", default="insar.displacement.result", metavar="KEY",
                        help="HKV key of the reference point (--differential)")
    parser.add_argument("--reference-index", type=int, default=None, metavar="K",
                        help="this pair's phase in a stack's reference (stack.reference)")
    args = parser.parse_args(argv)
    if args.add_displacement:
        if not (args.los_disp and args.layover_shadow_mask):
            parser.error("--add-displacement needs --los-disp and --layover-shadow-mask")
        try:
            folder = add_displacement(args.run, args.dst, {
                "los_disp": args.los_disp, "layover_shadow_mask": args.layover_shadow_mask},
                block=args.block)
        except PeppersError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        print(f"added the displacement to {folder}")
        return 0
    ports = ("unw", "corr", "amp", "dem", "conncomp") + (("lat", "lon") if args.differential
                                                         else ())
    missing = [p for p in ports if not getattr(args, p)]
    if missing:
        parser.error(f"missing --{', --'.join(missing)}")
    try:
        folder = write_product_set(args.run, args.dst, {p: getattr(args, p) for p in ports},
                                   block=args.block, heights=args.heights,
                                   differential=args.differential,
                                   master_key=args.master_key, slave_key=args.slave_key,
                                   grid_key=args.grid_key, reference_key=args.reference_key,
                                   reference_index=args.reference_index)
    except PeppersError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
