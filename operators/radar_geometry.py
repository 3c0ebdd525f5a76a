"""Radar-geometry layers on the master grid from a reference DEM.

For every master pixel (or multilooked pixel centre) ``rdr2geo`` on the
reference DEM gives the ground point; from it and the two orbits:

``lat``, ``lon``, ``height``
    The ground point (degrees, WGS84 ellipsoidal metres).
``los_east``, ``los_north``, ``los_up``
    Unit vector from the ground point to the master antenna, local ENU
    (the ISCE3 / MintPy "LOS unit vector" convention: towards the satellite).
``incidence``, ``heading``
    Ellipsoid incidence angle (between the LOS and the ellipsoid normal) and
    the flight direction projected on the ground, degrees clockwise from
    north (the heading of the master at the zero-Doppler time).
``local_incidence``
    Angle between the LOS and the DEM surface normal (from the DEM's
    bilinear gradient over +-half a pixel), degrees.
``layover_shadow``
    0 clear, 1 layover, 2 shadow, from the geometry along each range line
    (ISCE2 ``topozero``, ISCE3 ``rdr2geo``): walking from near to far range,
    a pixel whose look angle is below the largest look angle met nearer is
    in **shadow** (hidden behind that terrain), and a pixel whose ground
    position (the geocentric angle from the antenna's nadir) is nearer than
    the farthest met before, or farther than the nearest met after, lies in
    a fold: **layover**. ``rdr2geo`` finds one root per pixel, so it may
    skip a fold altogether; ground skipped between neighbouring pixels' points
    is sampled on the DEM and the pixels at the ranges of its visible part
    are marked as layover too (they hold its echo as well).
``row_offset``, ``col_offset``
    Where the ground point appears in the slave image: ``geo2rdr`` against
    the slave orbit, slave minus master pixel (the dense geometric offsets of
    ``docs/coregistration.md``).
``topographic_phase``
    ``4 pi (r2 - r1) / lambda`` of the ground point: the phase of
    ``master * conj(slave)`` the geometry alone predicts (flat earth plus
    topography), removed from the interferogram to leave the differential
    phase.

Pixels whose ground point cannot be found (off the DEM, a DEM void) are NaN
(layers) or 0 (mask).

References
----------
ISCE2 ``components/zerodop/topozero`` and ``geo2rdr``; ISCE3 ``Topo.cpp``
(layover/shadow mask) and ``geo2rdr``; R. F. Hanssen (2001), *Radar
Interferometry*, sec. 2.4 (the topographic phase).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, ClassVar, Mapping

import numpy as np

from peppers.errors import OperatorError
from peppers.geometry.ellipsoid import enu_basis
from peppers.geometry.reference_dem import ReferenceDem
from peppers.geometry.scene_geometry import scene_geo2rdr, scene_rdr2geo
from peppers.image import ImageSink, ImageSource, ImageSpec, Region
from peppers.operator import GlobalOperator, Param
from peppers.operators.flat_earth import ORBIT_NODES
from peppers.scene.reader import pair_from_run_inputs

__all__ = ["geometry_layers", "layover_shadow_mask", "RadarGeometry", "LAYERS", "LAYOVER",
           "SHADOW"]

LAYOVER, SHADOW = 1, 2

#: Layer names and dtypes.
LAYERS = {"lat": np.float64, "lon": np.float64, "height": np.float32,
          "los_east": np.float32, "los_north": np.float32, "los_up": np.float32,
          "incidence": np.float32, "heading": np.float32, "local_incidence": np.float32,
          "layover_shadow": np.uint8, "row_offset": np.float64, "col_offset": np.float64,
          "topographic_phase": np.float64}


def layover_shadow_mask(look_angle: np.ndarray, ground_angle: np.ndarray) -> np.ndarray:
    """Layover/shadow codes along range lines (module docstring).

    Parameters
    ----------
    look_angle, ground_angle : ndarray (R, C)
        Look angle from the antenna and the geocentric angle between the
        antenna and the ground point of each pixel; columns in increasing
        slant range. NaN pixels are skipped.

    Returns
    -------
    ndarray (R, C) uint8

    Examples
    --------
    >>> look = np.array([[0.1, 0.2, 0.15, 0.3]])
    >>> ground = np.array([[1.0, 2.0, 3.0, 4.0]])
    >>> layover_shadow_mask(look, ground).tolist()
    [[0, 0, 2, 0]]
    """
    look = np.where(np.isfinite(look_angle), look_angle, -np.inf)
    shadow = look < np.maximum.accumulate(look, axis=1)
    g = np.where(np.isfinite(ground_angle), ground_angle, -np.inf)
    behind = g < np.maximum.accumulate(g, axis=1)
    g_far = np.where(np.isfinite(ground_angle), ground_angle, np.inf)
    ahead = g_far > np.minimum.accumulate(g_far[:, ::-1], axis=1)[:, ::-1]
    valid = np.isfinite(look_angle) & np.isfinite(ground_angle)
    codes = np.where((behind | ahead) & valid, LAYOVER, 0)
    codes = np.where(shadow & valid & (codes == 0), SHADOW, codes)
    return codes.astype(np.uint8)


def _skipped_ground(mask: np.ndarray, sat: np.ndarray, xyz: np.ndarray, look: np.ndarray,
                    ground: np.ndarray, ranges: np.ndarray, dem, gap_factor: float = 2.5,
                    oversample: int = 4) -> None:
    """Mark pixels whose range also reaches ground skipped between neighbour roots.

    ``rdr2geo`` returns one root per pixel; in a fold it may keep to one
    side, and the ground between two neighbouring pixels' points (a gap in
    ground position well above the usual spacing) is then imaged at other
    ranges. That stretch is sampled on the DEM (chord between the two points,
    heights from the DEM), its ranges and look angles computed; pixels whose
    range its visible part crosses hold a second echo (layover), those
    reached only by its hidden part stay as they are, and pixels whose line
    of sight the stretch rises above are in shadow. Updates ``mask`` in
    place (rows of the tile).
    """
    from peppers.geometry.ellipsoid import ecef_to_llh, llh_to_ecef

    dr = float(ranges[1] - ranges[0]) if ranges.size > 1 else 1.0
    step = np.diff(ground, axis=1)
    for i in range(mask.shape[0]):
        good = np.isfinite(step[i])
        if not good.any():
            continue
        usual = float(np.median(np.abs(step[i][good])))
        row_look = np.where(np.isfinite(look[i]), look[i], -np.inf)
        top = np.maximum.accumulate(row_look)
        peaks = np.full(row_look.shape, -np.inf)     # highest look angle of skipped ground
        for j in np.flatnonzero(good & (step[i] > gap_factor * usual)):
            k = int(math.ceil(step[i, j] / usual * oversample))
            f = (np.arange(1, k) / k)[:, None]
            chord = (1 - f) * xyz[i, j] + f * xyz[i, j + 1]
            llh = ecef_to_llh(chord)
            h = dem(llh[:, 0], llh[:, 1])
            p = llh_to_ecef(llh[:, 0], llh[:, 1], h)
            rel = p - sat[i, j]
            r = np.linalg.norm(rel, axis=-1)
            s_unit = sat[i, j] / np.linalg.norm(sat[i, j])
            theta = np.arccos(np.clip(-(rel @ s_unit) / r, -1.0, 1.0))
            visible = theta >= np.maximum(np.maximum.accumulate(theta), top[j]) - 1e-12
            peaks[j + 1] = max(peaks[j + 1], float(np.max(theta)))
            if not visible.any():
                continue
            # pixels whose range a visible segment of the stretch crosses (the
            # stretch's normal place, strictly between the two pixels, marks none)
            seg = visible[:-1] & visible[1:]
            lo = np.ceil((np.minimum(r[:-1], r[1:])[seg] - ranges[0]) / dr).astype(np.int64)
            hi = np.floor((np.maximum(r[:-1], r[1:])[seg] - ranges[0]) / dr).astype(np.int64)
            for a, b in zip(np.clip(lo, 0, mask.shape[1]), np.clip(hi, -1, mask.shape[1] - 1)):
                if b >= a:
                    mask[i, a:b + 1] = LAYOVER
        # skipped ground may rise above the lines of sight of farther pixels: shadow
        hidden = row_look < np.maximum.accumulate(np.maximum(row_look, peaks)) - 1e-12
        mask[i, hidden & (mask[i] == 0) & np.isfinite(look[i])] = SHADOW


def _local_incidence(dem, lat: np.ndarray, lon: np.ndarray, los_enu: np.ndarray,
                     step_deg: float) -> np.ndarray:
    """Angle between the LOS and the DEM normal, degrees (central differences)."""
    m_lat = 111_320.0 * step_deg * 2.0
    m_lon = m_lat * np.cos(np.radians(lat))
    dh_dn = (dem(lat + step_deg, lon) - dem(lat - step_deg, lon)) / m_lat
    dh_de = (dem(lat, lon + step_deg) - dem(lat, lon - step_deg)) / m_lon
    normal = np.stack([-dh_de, -dh_dn, np.ones_like(dh_de)], axis=-1)
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
    cosine = np.clip(np.sum(normal * los_enu, axis=-1), -1.0, 1.0)
    return np.degrees(np.arccos(cosine))


class _Clamped:
    """A lat/lon grid DEM held at its edge values outside (only for the rdr2geo iteration).

    ``rdr2geo`` starts its height iteration at h = 0, where the line of sight
    may meet the ellipsoid outside a DEM cut to the footprint; the clamped
    surface carries the iteration back. Points that *converge* outside the
    grid are set to NaN afterwards (:meth:`inside`).
    """

    def __init__(self, dem):
        self.dem = dem
        m, n = dem.heights.shape
        lats = (dem.lat0 + 0.5 * dem.dlat, dem.lat0 + (m - 0.5) * dem.dlat)
        lons = (dem.lon0 + 0.5 * dem.dlon, dem.lon0 + (n - 0.5) * dem.dlon)
        self.lat_range, self.lon_range = (min(lats), max(lats)), (min(lons), max(lons))
        self.dlat = dem.dlat

    def __call__(self, lat, lon):
        return self.dem(np.clip(lat, *self.lat_range), np.clip(lon, *self.lon_range))

    def inside(self, lat, lon) -> np.ndarray:
        return ((lat >= self.lat_range[0]) & (lat <= self.lat_range[1])
                & (lon >= self.lon_range[0]) & (lon <= self.lon_range[1]))


def geometry_layers(master: Any, slave: Any, dem, rows: np.ndarray, cols: np.ndarray, *,
                    dem_step_deg: float | None = None,
                    nodes: int = 4) -> dict[str, np.ndarray]:
    """All layers of the module docstring at master pixels ``rows x cols``.

    Parameters
    ----------
    master, slave : Scene
        The scenes (``slave`` may be None: no offsets, no topographic phase).
    dem : callable
        ``dem(lat_deg, lon_deg) -> h`` ellipsoidal, e.g. a
        :class:`~peppers.geometry.dem.GridDem` from
        :meth:`peppers.geometry.reference_dem.ReferenceDem.grid`.
    rows, cols : ndarray (1-D)
        Master (fractional) rows and columns, columns increasing.
    dem_step_deg : float, optional
        Half-step of the DEM gradient (default: the DEM's posting, else 0.5").
    nodes : int
        Orbit interpolation nodes (``insar.geometry.orbit_nodes``); the
        geometry is each scene's own (``scene_rdr2geo`` / ``scene_geo2rdr``).

    Returns
    -------
    dict of name -> ndarray (len(rows), len(cols))
    """
    rows = np.asarray(rows, dtype=np.float64)
    cols = np.asarray(cols, dtype=np.float64)
    t = master.azimuth_seconds(rows)
    r1 = master.slant_range(cols)
    tt, rr = np.meshgrid(t, r1, indexing="ij")
    orbit = master.orbit(nodes)
    surface = _Clamped(dem) if hasattr(dem, "heights") else dem
    xyz, llh = scene_rdr2geo(master, tt, rr, surface, orbit=orbit, dem_max_iter=400,
                             on_failure="nan")
    if isinstance(surface, _Clamped):
        off = ~surface.inside(llh[..., 0], llh[..., 1])
        xyz[off] = np.nan
        llh[off] = np.nan
    # the antenna at each pixel's zero-Doppler time (row time + the scene's offset)
    sat, vel = orbit.interpolate(tt + master.azimuth_time_offset_s(rr))
    basis = enu_basis(llh[..., 0], llh[..., 1])          # (..., 3, 3) rows e, n, u
    los = sat - xyz
    los = los / np.linalg.norm(los, axis=-1, keepdims=True)
    los_enu = np.einsum("...ij,...j->...i", basis, los)
    v_enu = np.einsum("...ij,...j->...i", basis, vel)
    heading = np.degrees(np.arctan2(v_enu[..., 0], v_enu[..., 1])) % 360.0
    incidence = np.degrees(np.arccos(np.clip(los_enu[..., 2], -1.0, 1.0)))
    step = dem_step_deg if dem_step_deg is not None else abs(getattr(dem, "dlat", 0.5 / 3600))
    local = _local_incidence(dem, llh[..., 0], llh[..., 1], los_enu, 0.5 * step)
    # look angle from the nadir direction, geocentric angle antenna-ground point
    s_unit = sat / np.linalg.norm(sat, axis=-1, keepdims=True)
    look = np.arccos(np.clip(np.sum(los * s_unit, axis=-1), -1.0, 1.0))
    ground = np.arccos(np.clip(np.sum(s_unit * xyz, axis=-1)
                               / np.linalg.norm(xyz, axis=-1), -1.0, 1.0))
    out = {"lat": llh[..., 0], "lon": llh[..., 1], "height": llh[..., 2].astype(np.float32),
           "los_east": los_enu[..., 0].astype(np.float32),
           "los_north": los_enu[..., 1].astype(np.float32),
           "los_up": los_enu[..., 2].astype(np.float32),
           "incidence": incidence.astype(np.float32), "heading": heading.astype(np.float32),
           "local_incidence": local.astype(np.float32),
           "layover_shadow": layover_shadow_mask(look, ground)}
    _skipped_ground(out["layover_shadow"], sat, xyz, look, ground, r1, dem)
    if slave is not None:
        t2, r2 = scene_geo2rdr(slave, xyz, nodes=nodes, t_guess=tt, on_failure="nan")
        out["row_offset"] = (t2 - slave.azimuth_seconds(0.0)) / slave.line_interval_s \
            - rows[:, None]
        out["col_offset"] = (r2 - slave.first_sample_m) / slave.sample_spacing_m - cols[None, :]
        out["topographic_phase"] = 4.0 * math.pi / master.wavelength_m * (r2 - rr)
    return out


class RadarGeometry(GlobalOperator):
    """The layers of :func:`geometry_layers` for every master pixel, block by block.

    A stream boundary of its own: it reads no pixel of the master (its
    ``master`` input only gives the grid) and the reference DEM (input
    ``dem``, the run's ``reference_dem``) a window per block of
    ``block_lines`` full range lines — whole lines, so the layover/shadow
    mask sees each line from near to far range. Each block's DEM window is
    its footprint at the DEM's own heights (found by ``rdr2geo`` of the
    block's edge pixels on the windowed DEM), padded; a DEM that does not
    cover it is refused in one line naming the file and how much is missing.

    Parameters
    ----------
    run_inputs : dict
        The run's ``inputs`` subtree (scenes).
    vertical : {"auto", "ellipsoid", "geoid"}
        Heights of the DEM (``insar.dem.vertical``).
    geoid : str
        Geoid grid path for geoid heights (``insar.dem.geoid``), absolute or
        relative to the run.
    block_lines : int
        Range lines per block.
    """

    name: ClassVar[str] = "radar_geometry"
    inputs: ClassVar[tuple[str, ...]] = ("master", "dem")
    outputs: ClassVar[tuple[str, ...]] = tuple(LAYERS)
    params = (Param("run_inputs", dict, {}, "the run's inputs subtree (HKV inputs)"),
              Param("vertical", str, "auto", "reference DEM heights: auto, ellipsoid, geoid",
                    key="insar.dem.vertical", choices=("auto", "ellipsoid", "geoid")),
              Param("geoid", str, "", "geoid grid for geoid heights (EGM96 .gtx, ...)",
                    key="insar.dem.geoid"),
              Param("block_lines", int, 128, "range lines per block"),
              ORBIT_NODES)

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        inputs = self.run_inputs
        self._master, self._slave = pair_from_run_inputs(inputs, self.label)

    def output_spec(self, input_specs: Mapping[str, ImageSpec]) -> dict[str, ImageSpec]:
        shape = input_specs["master"].shape
        return {name: ImageSpec(shape, dtype, 0 if dtype == np.uint8 else float("nan"))
                for name, dtype in LAYERS.items()}

    def _dem(self, path: Path) -> ReferenceDem:
        geoid = None
        if self.geoid:
            geoid = Path(self.geoid)
            if not geoid.is_absolute():
                geoid = path.parent / geoid if not geoid.exists() else geoid
        return ReferenceDem(path, vertical=self.vertical, geoid=geoid)

    def typical_height(self, dem: ReferenceDem) -> float:
        """Median height of the DEM (a 33 x 33 sample over its extent), m; cached.

        The footprint search holds points off the DEM (or in voids) at this
        height: at 0 m a DEM whose heights are far from the ellipsoid (low
        relief on a high plateau, a small DEM margin) put the edge points
        kilometres away and asked for an area the DEM does not cover.
        """
        if getattr(self, "_typical", None) is None:
            south, north, west, east = dem.extent_lonlat()
            lat, lon = np.meshgrid(np.linspace(south, north, 33), np.linspace(west, east, 33),
                                   indexing="ij")
            h = dem.heights(lat, lon, check=False)
            self._typical = float(np.nanmedian(h)) if np.isfinite(h).any() else 0.0
        return self._typical

    def block_grid(self, dem: ReferenceDem, rows: np.ndarray, cols: np.ndarray):
        """The DEM on a lat/lon grid over the footprint of ``rows x cols``, padded."""
        m = self._master
        edge_r = np.unique(np.concatenate([rows[[0, -1]], np.linspace(rows[0], rows[-1], 5)]))
        edge_c = np.unique(np.concatenate([cols[[0, -1]], np.linspace(cols[0], cols[-1], 9)]))
        tt, rr = np.meshgrid(m.azimuth_seconds(edge_r), m.slant_range(edge_c), indexing="ij")

        fill = self.typical_height(dem)

        def surface(lat, lon):     # off the DEM or in a void: its typical height, not 0 m
            h = dem.heights(lat, lon, check=False)
            return np.where(np.isfinite(h), h, fill)

        orbit = m.orbit(self.orbit_nodes)
        _, llh = scene_rdr2geo(m, tt, rr, surface, orbit=orbit, dem_max_iter=400,
                               on_failure="nan")
        # the heights inside the block: the DEM sampled over the edge points' box
        la = np.linspace(np.nanmin(llh[..., 0]), np.nanmax(llh[..., 0]), 24)
        lo = np.linspace(np.nanmin(llh[..., 1]), np.nanmax(llh[..., 1]), 24)
        inner = dem.heights(la[:, None], lo[None, :], check=False)
        lo_h = float(np.nanmin([np.nanmin(inner), np.nanmin(llh[..., 2])])) - 20.0
        hi_h = float(np.nanmax([np.nanmax(inner), np.nanmax(llh[..., 2])])) + 20.0
        boxes = [scene_rdr2geo(m, tt, rr, h, orbit=orbit, on_failure="nan")[1]
                 for h in (lo_h, hi_h)]
        lat = np.concatenate([b[..., 0].ravel() for b in boxes])
        lon = np.concatenate([b[..., 1].ravel() for b in boxes])
        pad = 3.0 * dem.posting_deg()
        return dem.grid(np.nanmin(lat) - pad, np.nanmax(lat) + pad,
                        np.nanmin(lon) - pad, np.nanmax(lon) + pad)

    def run(self, sources: Mapping[str, ImageSource], sinks: Mapping[str, ImageSink]) -> None:
        path = getattr(sources["dem"], "path", None)
        if path is None:
            raise OperatorError(f"{self.label}: input dem has no file path")
        dem = self._dem(Path(path))
        lines, samples = sources["master"].spec.shape
        cols = np.arange(samples, dtype=np.float64)
        for lo in range(0, lines, self.block_lines):
            hi = min(lo + self.block_lines, lines)
            rows = np.arange(lo, hi, dtype=np.float64)
            grid = self.block_grid(dem, rows, cols)
            layers = geometry_layers(self._master, self._slave, grid, rows, cols,
                                     nodes=self.orbit_nodes)
            region = Region(lo, 0, hi - lo, samples)
            for name, dtype in LAYERS.items():
                sinks[name].write(region, np.asarray(layers[name]).astype(dtype))
