"""``simulate``: a physically faithful interferometric pair with its truth.

The steps, in order (each timed into ``truth.yaml``):

1. **Orbits.** A circular master orbit that sees the scene centre at the
   asked look angle at ``centre_utc``; the slave displaced by the baseline
   (:mod:`.orbits`). State vectors every 10 s, 40 s beyond the image at both
   ends, sampled from the exact Keplerian motion; both scenes are built as
   :class:`peppers.scene.Scene` values, and all geometry below uses
   ``Scene.orbit()`` - the interpolation of the very numbers written to the
   YAML files, so a processor reading them sees the truth's geometry.
2. **Grids.** Master and slave share line timing, first line time, range
   spacing and first range; their offsets come from the orbits alone.
3. **Terrain.** The footprint of the image (plus margins) at the lowest and
   highest possible heights sets the DEM area; a fractal DEM is synthesised
   there and its relief reduced if it would cause layover or shadow
   (:mod:`.terrain`).
4. **Geometry**, streamed: exact per-pixel ground points, slave offsets,
   phase, local incidence, backscatter and coherence map on the extended
   master grid, a block of lines at a time (:mod:`.geometry_pass`); the
   fields the synthesis needs go to scratch files, the geometric truth
   rasters straight into theirs.
5. **Scatterers and noise**, streamed: the two SLCs made in waves of
   scatterer blocks into a row buffer, thermal noise and the expected
   coherence added to each finished block of rows, which is written and
   dropped (:mod:`.image_pass`).
6. **Truth and files.** GCPs (read back from the coherence file), the scene
   YAML files, ``truth.yaml`` (:mod:`.truth`).

Only blocks are held (``block_lines`` lines, the terrain and its FFT), so the
memory does not grow with the scene's lines; the files do not depend on the
block size (every value is a per-pixel function, the random streams are per
fixed block).

Everything is written into a temporary sibling folder, which replaces
``outdir`` only when complete: a failed or killed simulation never leaves a
half-written pair behind.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable

import numpy as np

from peppers.errors import SimulationError
from peppers.geometry.ellipsoid import (ecef_to_enu, ecef_to_llh, enu_basis,
                                        incidence_angle_deg, llh_to_ecef)
from peppers.geometry.zero_doppler import geo2rdr, rdr2geo
from peppers.image import ImageSpec, Region
from peppers.io.raw import RawImage
from peppers.geometry.geoid import GeoidGrid
from peppers.operators.simulate import orbits, scatterers, truth
from peppers.operators.simulate.config import SimulationConfig
from peppers.operators.simulate.deformation import MogiSource, OkadaSource, ecef_displacement
from peppers.operators.simulate.dem_errors import reference_dem, write_reference_dem
from peppers.operators.simulate.geometry_pass import Scratch, geometry_pass
from peppers.operators.simulate.image_pass import image_pass
from peppers.operators.simulate.irf import ImpulseResponse
from peppers.operators.simulate.radar_grid import (GridSpec, _intersect,
                                                    ellipsoid_phase_spline, refuse_layover,
                                                    surface_orientation)
from peppers.operators.simulate.terrain import make_terrain
from peppers.scene import Scene, load_scene, write_scene

__all__ = ["simulate", "SimulationResult"]

#: Pixels of the extended grid per block (``block_lines`` = this over the width): the
#: memory of the geometry blocks and of each written block of rows.
BLOCK_PIXELS = 2 ** 19

#: State-vector spacing and the margin they cover beyond the image, seconds.
STATE_VECTOR_STEP_S = 10.0
STATE_VECTOR_MARGIN_S = 40.0


@dataclass(frozen=True)
class SimulationResult:
    """What :func:`simulate` made.

    Attributes
    ----------
    folder : Path
        The simulation folder.
    master, slave : Scene
        The scenes as loaded back from ``master.yaml`` / ``slave.yaml``.
    truth : dict
        The content of ``truth.yaml``.
    """

    folder: Path
    master: Scene
    slave: Scene
    truth: dict


class _Clock:
    """Stage timer feeding ``truth.yaml`` and an optional progress callback."""

    def __init__(self, progress: Callable[[str], None] | None):
        self.progress = progress
        self.timings: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self._start = self._last = time.perf_counter()
        self._cpu_start = self._cpu_last = time.process_time()

    def done(self, stage: str) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        self.timings[stage] = round(now - self._last, 3)
        self.cpu[stage] = round(cpu - self._cpu_last, 3)
        self._last, self._cpu_last = now, cpu
        if self.progress is not None:
            self.progress(f"{stage}: {self.timings[stage]:.1f} s "
                          f"(cpu {self.cpu[stage]:.1f} s)")

    def summary(self) -> dict[str, dict[str, float]]:
        """Wall and process-CPU seconds per stage and in total."""
        return {"wall_s": {**self.timings,
                           "total": round(time.perf_counter() - self._start, 3)},
                "cpu_s": {**self.cpu,
                          "total": round(time.process_time() - self._cpu_start, 3)}}


def _round_us(when: datetime) -> datetime:
    return when.replace(microsecond=0) + timedelta(microseconds=round(when.microsecond))


def scene_for_orbit(cfg: SimulationConfig, kepler, range_centre: float,
                    shift: timedelta = timedelta(0)) -> Scene:
    """Scene metadata (no image yet) of the image grid seen from one orbit.

    ``shift`` moves every time of the scene (first line, state vectors) by
    a whole number of days for the dates of a stack: with inertial == ECEF
    at the orbit's epoch, the same orbit ``shift`` later is an exact repeat
    pass in ECEF.
    """
    half = (cfg.lines - 1) / 2 * cfg.line_interval_s
    first_line = _round_us(cfg.centre_utc - timedelta(seconds=half))
    step = STATE_VECTOR_STEP_S
    start = first_line - timedelta(seconds=STATE_VECTOR_MARGIN_S)
    start = start.replace(microsecond=0) - timedelta(seconds=start.second % int(step))
    last_line = first_line + timedelta(seconds=(cfg.lines - 1) * cfg.line_interval_s)
    count = int(math.ceil((last_line + timedelta(seconds=STATE_VECTOR_MARGIN_S) - start)
                          / timedelta(seconds=step))) + 1
    utc = [start + timedelta(seconds=step * k) for k in range(max(count, 8))]
    seconds = np.array([(t - cfg.centre_utc) / timedelta(seconds=1) for t in utc])
    first_sample = range_centre - (cfg.samples - 1) / 2 * cfg.sample_spacing_m
    pos, vel = kepler.ecef(seconds)
    return Scene(cfg.sensor_name, cfg.wavelength_m, cfg.look_side, cfg.lines, cfg.samples,
                 first_line + shift, cfg.line_interval_s, first_sample, cfg.sample_spacing_m,
                 tuple(t + shift for t in utc), pos, vel)


def _scenes(cfg: SimulationConfig, master_k, slave_k, range_centre: float) -> tuple[Scene, Scene]:
    """Master and slave scene metadata (no image yet)."""
    return (scene_for_orbit(cfg, master_k, range_centre),
            scene_for_orbit(cfg, slave_k, range_centre))


def _dem_bounds(cfg, grid, master_orbit, margin, heights,
                pad_m: float = 1000.0) -> tuple[float, float, float, float]:
    """Lat/lon box of the extended footprint at the extreme heights, padded ~``pad_m``."""
    ma, mr = margin
    rows = np.array([-ma, grid.lines / 2, grid.lines + ma])
    cols = np.array([-mr, grid.samples / 2, grid.samples + mr])
    t, r = np.meshgrid(grid.times(rows), grid.ranges(cols), indexing="ij")
    lats, lons = [], []
    for h in heights:
        llh = rdr2geo(t, r, master_orbit, cfg.look_side, height=h)[1]
        lats.append(llh[..., 0])
        lons.append(llh[..., 1])
    lat, lon = np.concatenate(lats, axis=None), np.concatenate(lons, axis=None)
    pad_lat = pad_m / 111_320.0
    pad_lon = pad_lat / math.cos(math.radians(cfg.lat_deg))
    return (lat.min() - pad_lat, lat.max() + pad_lat, lon.min() - pad_lon, lon.max() + pad_lon)


def _look_geometry(cfg, grid, master_orbit, centre_xyz):
    """Ground-range direction (east, north) at the centre and the swath's incidence range."""
    t_c, _ = geo2rdr(centre_xyz, master_orbit)
    sat, _ = master_orbit.interpolate(t_c)
    enu = ecef_to_enu(sat, cfg.lat_deg, cfg.lon_deg, cfg.base_height_m)
    away = -enu[:2] / np.hypot(*enu[:2])
    near_far = rdr2geo(np.full(2, t_c), grid.ranges(np.array([0.0, grid.samples - 1.0])),
                       master_orbit, cfg.look_side, height=cfg.base_height_m)[0]
    inc = incidence_angle_deg(near_far, sat[None, :])
    return float(away[0]), float(away[1]), (float(inc.min()), float(inc.max()))


def simulate(outdir: str | os.PathLike, config: SimulationConfig | None = None, *,
             overwrite: bool = False,
             progress: Callable[[str], None] | None = None) -> SimulationResult:
    """Simulate an interferometric pair with its truth into ``outdir``.

    Parameters
    ----------
    outdir : path
        Folder to create (its parent must exist). See :mod:`.truth` for its
        layout.
    config : SimulationConfig, optional
        The options; the defaults give the standard 4000 x 2000 scene.
    overwrite : bool
        Replace ``outdir`` if it exists and is not empty.
    progress : callable, optional
        Called with one line per finished stage.

    Returns
    -------
    SimulationResult

    Raises
    ------
    SimulationError
        If ``outdir`` exists and is not empty (without ``overwrite``), its
        parent is missing, or the geometry has no solution.
    """
    cfg = config or SimulationConfig()
    out = Path(outdir).absolute()
    content = fill_folder_atomically(out, overwrite, lambda work: _simulate_into(work, cfg,
                                                                                progress))
    return SimulationResult(out, load_scene(out / "master.yaml"),
                            load_scene(out / "slave.yaml"), content)


def fill_folder_atomically(out: Path, overwrite: bool, fill: Callable[[Path], dict]) -> dict:
    """Run ``fill(work)`` on a temporary sibling of ``out``, then rename it into place.

    Raises
    ------
    SimulationError
        If ``out``'s parent is missing, or ``out`` exists and is not empty
        (without ``overwrite``).
    """
    if not out.parent.is_dir():
        raise SimulationError(f"simulate: {out.parent}: the parent folder does not exist")
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise SimulationError(f"simulate: {out}: exists and is not empty; choose another "
                              "folder or pass --overwrite")
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        content = fill(work)
        if out.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            os.rename(out, trash / out.name)
            os.rename(work, out)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.rename(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return content


def terrain_and_reference(folder: Path, cfg: SimulationConfig, grid: GridSpec, master_orbit,
                          margin: tuple[int, int], centre: np.ndarray,
                          rng_terrain: np.random.Generator, rng_reference: np.random.Generator):
    """The terrain over the extended footprint (``dem.tif``) and the optional reference DEM.

    Returns
    -------
    terrain : Terrain
    reference : ReferenceDemTruth or None
        With ``cfg.has_reference_dem`` (``dem_reference.tif`` written).
    incidence : (float, float)
        Ellipsoid incidence at near and far range, degrees.
    """
    low = cfg.base_height_m - cfg.relief_m - 100.0
    high = cfg.base_height_m + cfg.relief_m + 100.0
    bounds = _dem_bounds(cfg, grid, master_orbit, margin, (low, high),
                         1000.0 + (4.0 * cfg.relief_m if cfg.allow_layover else 0.0))
    away_e, away_n, incidence = _look_geometry(cfg, grid, master_orbit, centre)
    terrain = make_terrain(bounds, posting_arcsec=cfg.dem_posting_arcsec,
                           base_height_m=cfg.base_height_m, relief_m=cfg.relief_m,
                           exponent=cfg.spectral_exponent, away_east=away_e,
                           away_north=away_n, incidence_deg=incidence,
                           slope_margin=cfg.slope_margin, rng=rng_terrain,
                           reduce=not cfg.allow_layover)
    terrain.write_geotiff(folder / "dem.tif")
    reference = None
    if cfg.has_reference_dem:
        geoid = GeoidGrid(cfg.dem_geoid) if cfg.dem_geoid else None
        reference = reference_dem(terrain, error_m=cfg.dem_error_m,
                                  correlation_m=cfg.dem_error_correlation_m,
                                  voids=cfg.dem_voids, geoid=geoid, rng=rng_reference)
        write_reference_dem(folder / "dem_reference.tif", terrain, reference)
    return terrain, reference, incidence


def _simulate_into(folder: Path, cfg: SimulationConfig,
                   progress: Callable[[str], None] | None) -> dict:
    """All the work of :func:`simulate`, writing into ``folder``; returns truth.yaml's content."""
    clock = _Clock(progress)
    threads = cfg.threads or os.cpu_count() or 1
    streams = np.random.SeedSequence(cfg.seed).spawn(6)
    rng_terrain, rng_patches, rng_noise_m, rng_noise_s, rng_gcps, rng_reference = \
        (np.random.default_rng(s) for s in streams)

    # 1-2: orbits, scenes, grids
    centre = llh_to_ecef(cfg.lat_deg, cfg.lon_deg, cfg.base_height_m)
    master_k = orbits.design_master_orbit(
        cfg.centre_utc, centre, cfg.lat_deg, cfg.lon_deg, look_side=cfg.look_side,
        look_angle_deg=cfg.look_angle_deg, altitude_m=cfg.altitude_m,
        inclination_deg=cfg.inclination_deg, ascending=cfg.ascending)
    slave_k = orbits.displace_orbit(master_k, centre, look_side=cfg.look_side,
                                    bperp_m=cfg.bperp_m, bpar_m=cfg.bpar_m,
                                    along_track_m=cfg.along_track_m)
    range_centre = float(np.linalg.norm(centre - master_k.ecef(0.0)[0]))
    master_scene, slave_scene = _scenes(cfg, master_k, slave_k, range_centre)
    master_orbit, slave_orbit = master_scene.orbit(), slave_scene.orbit()
    grid = GridSpec(cfg.lines, cfg.samples, 0.0, cfg.line_interval_s,
                    master_scene.first_sample_m, cfg.sample_spacing_m)
    centre_baseline = orbits.measure_baseline(centre[None, :], master_orbit, slave_orbit,
                                              look_side=cfg.look_side,
                                              wavelength_m=cfg.wavelength_m)
    t1, _ = geo2rdr(centre, master_orbit)
    t2, r2 = geo2rdr(centre, slave_orbit, t_guess=t1)
    lag = float(t2 - t1)
    half = cfg.irf_support // 2
    margin = (int(math.ceil(abs(lag) / cfg.line_interval_s)) + half + 4,
              int(math.ceil(abs(r2 - range_centre) / cfg.sample_spacing_m)) + half + 4)
    clock.done("orbits")

    # 3: terrain
    terrain, reference, incidence = terrain_and_reference(folder, cfg, grid, master_orbit,
                                                          margin, centre, rng_terrain,
                                                          rng_reference)
    sources = deformation_sources(cfg)
    displacement = None
    if sources:
        def displacement(xyz):
            return ecef_displacement(xyz, sources, cfg.base_height_m)
    clock.done("terrain")

    # 4: geometry, block by block of rows, into scratch fields and the truth rasters
    ma, mr = margin
    ext_shape = (cfg.lines + 2 * ma, cfg.samples + 2 * mr)
    block_lines = cfg.block_lines or max(16, BLOCK_PIXELS // ext_shape[1])
    patches = scatterers.draw_patches(ext_shape, margin, low=cfg.low_coherence,
                                      patches=cfg.patches, rng=rng_patches)
    names = _raster_names(cfg, reference is not None)
    rasters = truth.create_rasters(folder, names, (cfg.lines, cfg.samples))
    scratch = Scratch(folder / ".scratch", ext_shape)
    try:
        kw = dict(look_side=cfg.look_side, terrain=terrain, margin=margin, threads=threads)
        stats = geometry_pass(
            scratch, rasters, cfg=cfg, grid=grid, master_orbit=master_orbit,
            slave_orbit=slave_orbit, terrain=terrain, margin=margin, lag=lag, patches=patches,
            flat_phase=ellipsoid_phase_spline(grid, master_orbit, grid, slave_orbit,
                                              look_side=cfg.look_side,
                                              wavelength_m=cfg.wavelength_m, along_lag_s=lag,
                                              threads=threads),
            displacement=displacement, reference=reference,
            orientation=surface_orientation(grid, master_orbit, **kw), threads=threads,
            block_lines=block_lines)
        refuse_layover(stats.folded, stats.shadowed, cfg.allow_layover)
        clock.done("geometry")

        # 5: scatterers, speckle, noise, expected coherence, block by block into the files
        irf = ImpulseResponse(cfg.bandwidth, cfg.irf_support)
        mean_beta = stats.mean_beta(cfg.lines * cfg.samples)
        noise_power = mean_beta / 10.0 ** (cfg.snr_db / 10.0)
        spec = ImageSpec((cfg.lines, cfg.samples), np.dtype(np.complex64), 0)
        images = [RawImage.create(folder / f"{name}.slc.vrt", spec,
                                  raw_path=folder / f"{name}.slc")
                  for name in ("master", "slave")]
        image_pass(scratch, rasters, *images, cfg=cfg, margin=margin, stats=stats, irf=irf,
                   noise_power=noise_power, threads=threads, block_lines=block_lines)
        clock.done("images")
    finally:
        scratch.remove()

    # 6: files
    for image in images:
        image.flush()
        image.close()
    write_scene(folder / "master.yaml", replace(master_scene, image_path=images[0].path))
    write_scene(folder / "slave.yaml", replace(slave_scene, image_path=images[1].path))
    for image in rasters.values():
        image.flush()
        image.close()
    raster_entries = {name: truth.raster_entry(name) for name in names}

    def ground(row: int, col: int) -> np.ndarray:
        """(lat, lon, height) of one image pixel, as the geometry pass found it.

        The intersection kernel starts each pixel from its neighbour's solution,
        so the pixel's row of the extended grid is solved again whole.
        """
        cols = np.arange(-mr, cfg.samples + mr, dtype=np.float64)
        return _intersect(grid, master_orbit, cfg.look_side, np.array([float(row)]), cols,
                          terrain, float(np.mean(terrain.heights)), 1,
                          retry=cfg.allow_layover)[1][0, col + mr]

    coherence = truth_raster_rows(folder, "coherence")
    gcps = truth.pick_gcps_by_rows((cfg.lines, cfg.samples), coherence, ground, cfg.gcps,
                                   0.9 * cfg.coherence / (1.0 + 10 ** (-cfg.snr_db / 10)),
                                   rng_gcps)
    truth.write_gcps(folder / "gcps.yaml", gcps)
    clock.done("write")
    content = _describe(cfg, terrain, raster_entries, gcps, scatterers.describe_patches(patches),
                        centre_baseline, irf, noise_power, mean_beta, incidence, master_orbit,
                        slave_orbit, stats, clock, threads)
    if sources:
        content["deformation"] = {
            "sources": [src.describe() for src in sources],
            "half_space_surface_height_m": cfg.base_height_m,
            "los_displacement_range_m": list(stats.los),
            "convention": "los_displacement = r2(still) - r2(moved): positive towards the slave "
                          "antenna (the MintPy/HyP3 sign); phase_deformation = "
                          "-4 pi / wavelength * los_displacement, part of phase_unflattened"}
    if reference is not None:
        content["reference_dem"] = reference.description
    content["layover_shadow"] = {"allowed": cfg.allow_layover, "folded_pixels": stats.folded,
                                 "shadowed_pixels": stats.shadowed}
    if cfg.allow_layover:
        pixels = cfg.lines * cfg.samples
        content["layover_shadow"].update(layover_fraction=stats.layover_pixels / pixels,
                                         shadow_fraction=stats.shadow_pixels / pixels)
    truth.write_truth_yaml(folder / "truth.yaml", content)
    return content


def _raster_names(cfg: SimulationConfig, has_reference: bool) -> list[str]:
    """The truth rasters of a pair, in ``truth.yaml`` order."""
    names = ["phase_unflattened", "phase_flattened", "azimuth_offset", "range_offset",
             "coherence", "coherence_unfiltered", "height", "lat", "lon", "intensity"]
    if cfg.has_deformation:
        names += ["los_displacement", "phase_deformation"]
    if cfg.allow_layover:
        names.append("layover_shadow")
    if has_reference:
        names.append("reference_dem_error")
    return names


def truth_raster_rows(folder: Path, name: str) -> Callable[[int, int], np.ndarray]:
    """``rows(lo, hi)``: rows ``lo .. hi - 1`` of a written truth raster."""
    def rows(lo: int, hi: int) -> np.ndarray:
        with RawImage.open(folder / "truth" / f"{name}.vrt") as image:
            return image.read(Region(lo, 0, hi - lo, image.spec.shape[1]))
    return rows


def place_epicentre(cfg: SimulationConfig, east: float, north: float) -> tuple[float, float]:
    """Latitude and longitude of the point ``east``, ``north`` metres from the scene centre.

    On the tangent plane at the centre (mean terrain height), then onto the
    ellipsoid, as the deformation sources' epicentres.
    """
    basis = enu_basis(cfg.lat_deg, cfg.lon_deg)
    centre = llh_to_ecef(cfg.lat_deg, cfg.lon_deg, cfg.base_height_m)
    llh = ecef_to_llh(centre + east * basis[0] + north * basis[1])
    return float(llh[0]), float(llh[1])


def deformation_sources(cfg: SimulationConfig) -> list:
    """The Mogi and Okada sources the options ask for, epicentres placed from the centre."""
    sources = []
    if cfg.mogi_volume_m3 != 0.0:
        lat, lon = place_epicentre(cfg, cfg.mogi_east_m, cfg.mogi_north_m)
        sources.append(MogiSource(lat, lon, cfg.mogi_depth_m, cfg.mogi_volume_m3, cfg.poisson))
    if cfg.okada_length_m > 0.0:
        lat, lon = place_epicentre(cfg, cfg.okada_east_m, cfg.okada_north_m)
        sources.append(OkadaSource(lat, lon, cfg.okada_depth_m, cfg.okada_length_m,
                                   cfg.okada_width_m, cfg.okada_strike_deg, cfg.okada_dip_deg,
                                   cfg.okada_strike_slip_m, cfg.okada_dip_slip_m,
                                   cfg.okada_opening_m, cfg.poisson))
    return sources


def _describe(cfg, terrain, rasters, gcps, patches, centre_baseline, irf, noise_power,
              mean_beta, incidence, master_orbit, slave_orbit, stats, clock,
              threads) -> dict:
    """The content of ``truth.yaml``."""
    last_row, last_col = cfg.lines - 1, cfg.samples - 1
    corners = [(0, 0), (0, last_col), (last_row, 0), (last_row, last_col)]
    corner_xyz = np.stack([stats.corner_xyz[corner] for corner in corners])
    corner_baseline = orbits.measure_baseline(corner_xyz, master_orbit, slave_orbit,
                                              look_side=cfg.look_side,
                                              wavelength_m=cfg.wavelength_m)
    return {
        "config": cfg.as_dict(),
        "scenes": {"master": "master.yaml", "slave": "slave.yaml"},
        "conventions": {
            "pixels": "(row, col) = (azimuth line, range sample); pixel centres at integers",
            "phase": "arg(master * conj(slave)) = 4*pi*(r2 - r1)/wavelength, radians, "
                     "unwrapped; both SLCs are baseband, the slave carries exp(-j*phase)",
            "flattening": "phase_flattened = phase_unflattened - the phase of the same "
                          "(azimuth time, range) on the WGS84 ellipsoid at height 0",
            "offsets": "slave_row = row + azimuth_offset, slave_col = col + range_offset",
            "baseline": "slave minus master antenna at the two zero-Doppler times; bperp along "
                        "increasing look angle, bpar along the master line of sight towards "
                        "the target, along_track = |V|*(t_master - t_slave)",
        },
        "rasters": rasters,
        "dem": {"path": "dem.tif", "crs": "EPSG:4326", "heights": "WGS84 ellipsoidal, m",
                "shape": list(terrain.shape), "geotransform": list(terrain.geotransform),
                "posting_arcsec": cfg.dem_posting_arcsec,
                "relief_requested_m": terrain.relief_requested_m,
                "relief_m": terrain.relief_m,
                "height_range_m": [float(terrain.heights.min()), float(terrain.heights.max())]},
        "gcps": {"path": "gcps.yaml", "points": gcps},
        "baseline": {"centre": {k: float(v[0]) for k, v in centre_baseline.items()},
                     "corners": [{k: float(v[i]) for k, v in corner_baseline.items()}
                                 for i in range(len(corners))]},
        "geometry": {"incidence_deg_near_far": list(incidence),
                     "scene_centre_llh": stats.centre_llh,
                     "range_offset_px": list(stats.col_offset),
                     "azimuth_offset_px": list(stats.row_offset)},
        "irf": {"model": "separable Kaiser-windowed sinc", "bandwidth": irf.bandwidth,
                "support_px": irf.support, "kaiser_beta": irf.kaiser_beta,
                "scatterers_per_pixel": cfg.scatterers_per_axis ** 2},
        "noise": {"snr_db": cfg.snr_db, "noise_power": noise_power,
                  "mean_intensity": mean_beta},
        "coherence": {"background": cfg.coherence, "low": cfg.low_coherence,
                      "patches": patches},
        "run": {"threads": threads, **clock.summary()},
    }
