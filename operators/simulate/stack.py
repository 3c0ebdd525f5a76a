"""``simulate_stack``: N acquisitions of one scene with a deformation history, with truth.

The pair simulator (:mod:`.pair`) makes two images of one scatterer field;
a stack makes ``N`` of it, the way a repeat-pass satellite sees one area:

1. **Orbits.** The reference pass (date 0) is the pair simulator's master
   orbit. Date ``k`` flies the same orbit ``k * interval_days`` whole days
   later (inertial == ECEF at the epoch, so an exact repeat in ECEF),
   displaced by a baseline drawn uniformly in ``[-spread, spread]`` per
   component (an orbital tube). Every date has the reference's line timing
   and range sampling; its offsets come from its orbit.
2. **Terrain and geometry.** One terrain; the ground point of every pixel of
   the extended reference grid is found once (:func:`.radar_grid.ground_geometry`);
   for each date the ground point is moved by that date's displacement and
   found in that date's image by ``geo2rdr`` (exact offsets and range at
   every pixel centre, as the pair's slave).
3. **Deformation history** (:mod:`.stack_config`): a Gaussian bowl moving
   vertically with a linear rate plus a seasonal term, and a Mogi source
   whose volume grows linearly in time; the displacement of date 0 is zero.
4. **Atmosphere** (optional): per date an independent turbulent delay
   screen, power spectrum ~ ``k^-8/3`` (Hanssen 2001, sec. 4.7), scaled to
   the asked RMS; it lengthens that date's range in the phase only.
5. **Scatterers.** One field of point scatterers; date ``k`` sees each with
   amplitude ``s_k`` (:mod:`._stack_kernels`: persistent part, first-order
   autoregressive part, independent part), carrying
   ``exp(-j 4 pi (r_k + delay_k - r_ref) / lambda)``; so the interferogram
   of dates ``(a, b)`` has phase ``phase_b - phase_a`` and coherence
   ``coherence * (c_inf + (1 - c_inf) exp(-|t_a - t_b| / tau))``. Independent
   thermal noise per date.
6. **Files.** ``YYYYMMDD.yaml`` + ``.slc`` per date (the ``peppers-slc/1``
   contract: ``pep init`` takes any two), ``dem.tif``, ``gcps.yaml``, and
   ``truth.yaml`` (format ``peppers-sim-stack/1``) with ``truth/`` rasters
   on the reference (date 0) grid: ``height``, ``lat``, ``lon``,
   ``coherence`` (the spatial factor), ``intensity``, per date
   ``los_displacement_DATE``, ``phase_DATE``, ``azimuth_offset_DATE``,
   ``range_offset_DATE`` and (with atmosphere) ``atmosphere_DATE``, and
   ``velocity`` (least-squares slope of the LOS displacement over the
   dates, m/year).

Written into a temporary sibling folder and renamed into place when complete.

References
----------
F. Rocca (2007), "Modeling interferogram stacks", IEEE TGRS 45(10):3289-3299
(temporal decorrelation).
R. F. Hanssen (2001), *Radar Interferometry*, Kluwer, sec. 4.7 (turbulent
atmosphere, power law).
K. Mogi (1958), Bull. Earthq. Res. Inst. 36:99-134.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Callable

import numpy as np

from peppers.errors import SimulationError
from peppers.geometry.ellipsoid import llh_to_ecef
from peppers.geometry.zero_doppler import geo2rdr
from peppers.operators.simulate import _stack_kernels as _k
from peppers.operators.simulate import orbits, scatterers, truth
from peppers.operators.simulate.deformation import (MogiSource, ecef_displacement,
                                                    local_east_north)
from peppers.operators.simulate.irf import TABLE_RATE, ImpulseResponse
from peppers.operators.simulate.pair import (_Clock, fill_folder_atomically, place_epicentre,
                                             scene_for_orbit, terrain_and_reference)
from peppers.operators.simulate.radar_grid import (GridSpec, _slave_position, ground_geometry,
                                                   parallel_map)
from peppers.operators.simulate.stack_config import YEAR_DAYS, StackConfig
from peppers.operators.simulate.terrain import fractal_surface
from peppers.scene import Scene, load_scene, write_scene

__all__ = ["simulate_stack", "StackResult", "STACK_TRUTH_FORMAT", "load_stack_truth",
           "read_stack_raster", "date_name"]

STACK_TRUTH_FORMAT = "peppers-sim-stack/1"

#: name stem -> (dtype, units, description) of the per-date truth rasters.
PER_DATE = {
    "los_displacement": ("float64", "m", "LOS displacement of the date since date 0, positive "
                         "towards the satellite: range of the still point minus that of the "
                         "moved point, to this date's antenna"),
    "phase": ("float64", "rad", "phase of this date's scatterers on the reference grid: "
              "4 pi (r_date + delay_date - r_ref) / lambda; the interferogram (a, b) has "
              "phase_b - phase_a"),
    "azimuth_offset": ("float32", "pixel", "row in this date's image minus the reference row"),
    "range_offset": ("float32", "pixel", "column in this date's image minus the reference column"),
    "atmosphere": ("float32", "m", "one-way tropospheric delay of this date (lengthens the range)"),
}


@dataclass(frozen=True)
class StackResult:
    """What :func:`simulate_stack` made.

    Attributes
    ----------
    folder : Path
    dates : list of str
        ``YYYYMMDD`` of each acquisition, in time order.
    scenes : dict
        ``date -> Scene`` loaded back from ``DATE.yaml``.
    truth : dict
        The content of ``truth.yaml``.
    """

    folder: Path
    dates: list
    scenes: dict
    truth: dict


def date_name(scene: Scene) -> str:
    """``YYYYMMDD`` of a scene's first line (UTC)."""
    return scene.first_line_utc.strftime("%Y%m%d")


def simulate_stack(outdir: str | os.PathLike, config: StackConfig | None = None, *,
                   overwrite: bool = False,
                   progress: Callable[[str], None] | None = None) -> StackResult:
    """Simulate a stack of acquisitions with its truth into ``outdir`` (module docstring).

    Parameters
    ----------
    outdir : path
        Folder to create (its parent must exist).
    config : StackConfig, optional
    overwrite : bool
        Replace ``outdir`` if it exists and is not empty.
    progress : callable, optional
        Called with one line per finished stage.

    Returns
    -------
    StackResult

    Raises
    ------
    SimulationError
        As :func:`.pair.simulate`.
    """
    cfg = config or StackConfig()
    out = Path(outdir).absolute()
    content = fill_folder_atomically(out, overwrite,
                                     lambda work: _stack_into(work, cfg, progress))
    dates = [d["date"] for d in content["dates"]]
    return StackResult(out, dates, {d: load_scene(out / f"{d}.yaml") for d in dates}, content)


def _displacement(cfg: StackConfig, day: float):
    """``f(xyz) -> dxyz``: the ECEF displacement of ground points ``day`` days after date 0."""
    s = cfg.scene
    years = day / YEAR_DAYS
    amplitude = cfg.rate_m_per_year * years + cfg.seasonal_m * math.sin(2.0 * math.pi * years)
    bowl_lat, bowl_lon = place_epicentre(s, cfg.bowl_east_m, cfg.bowl_north_m)
    sources = []
    if cfg.mogi_rate_m3_per_year != 0.0 and day != 0:
        lat, lon = place_epicentre(s, s.mogi_east_m, s.mogi_north_m)
        sources.append(MogiSource(lat, lon, s.mogi_depth_m, cfg.mogi_rate_m3_per_year * years,
                                  s.poisson))

    def displacement(xyz: np.ndarray) -> np.ndarray:
        out = ecef_displacement(xyz, sources, s.base_height_m)
        if amplitude != 0.0:
            east, north, basis = local_east_north(xyz, bowl_lat, bowl_lon, s.base_height_m)
            bowl = np.exp(-(east ** 2 + north ** 2) / (2.0 * cfg.bowl_width_m ** 2))
            out += (amplitude * bowl)[..., None] * basis[2]
        return out

    return displacement


def _ground_spacing(xyz: np.ndarray) -> tuple[float, float]:
    """Ground distance between neighbouring rows and columns at the grid centre, m."""
    i, j = xyz.shape[0] // 2, xyz.shape[1] // 2
    return (float(np.linalg.norm(xyz[i + 1, j] - xyz[i, j])),
            float(np.linalg.norm(xyz[i, j + 1] - xyz[i, j])))


def _synthesize(shape, margin, beta, gamma, c_inf, rho, row_offset, col_offset, phase, irf,
                scene_cfg, threads) -> np.ndarray:
    """The noise-free SLC of every date, ``(N, lines, samples)`` complex64."""
    support = irf.support
    n = row_offset.shape[0]
    images = np.zeros((n, shape[0] + 2 * support, shape[1] + 2 * support), dtype=np.complex64)
    spread = float(max(np.ptp(r) for r in row_offset))
    block = max(64, 2 * (support + 4 + int(math.ceil(spread))))
    starts = list(range(0, beta.shape[0], block))
    seeds = np.random.SeedSequence([scene_cfg.seed, 0x57AC]).generate_state(len(starts))

    def work(index: int) -> None:
        lo = starts[index]
        _k.synthesize_stack_block(int(seeds[index]), lo, min(lo + block, beta.shape[0]),
                                  scene_cfg.scatterers_per_axis, float(scene_cfg.jitter), beta,
                                  gamma, float(c_inf), rho, row_offset, col_offset, phase,
                                  margin[0], margin[1], irf.table, irf.table, TABLE_RATE,
                                  support, support, images)

    for parity in (0, 1):  # blocks of one parity never touch the same rows
        parallel_map(work, range(parity, len(starts), 2), threads)
    return np.ascontiguousarray(images[:, support:support + shape[0],
                                       support:support + shape[1]])


def _stack_into(folder: Path, cfg: StackConfig, progress) -> dict:
    """All the work of :func:`simulate_stack` into ``folder``; returns truth.yaml's content."""
    s = cfg.scene
    clock = _Clock(progress)
    threads = s.threads or os.cpu_count() or 1
    streams = np.random.SeedSequence(s.seed).spawn(7)
    rng_terrain, rng_patches, rng_gcps, rng_reference, rng_baseline, rng_atmosphere = \
        (np.random.default_rng(x) for x in streams[:6])
    noise_rngs = [np.random.default_rng(x) for x in streams[6].spawn(cfg.dates)]
    days = cfg.days

    # 1: orbits, one scene per date
    centre = llh_to_ecef(s.lat_deg, s.lon_deg, s.base_height_m)
    reference_k = orbits.design_master_orbit(
        s.centre_utc, centre, s.lat_deg, s.lon_deg, look_side=s.look_side,
        look_angle_deg=s.look_angle_deg, altitude_m=s.altitude_m,
        inclination_deg=s.inclination_deg, ascending=s.ascending)
    spreads = np.array([cfg.bperp_spread_m, cfg.bpar_spread_m, cfg.along_track_spread_m])
    asked = [np.zeros(3)] + [rng_baseline.uniform(-spreads, spreads)
                             for _ in range(cfg.dates - 1)]
    keplers = [reference_k] + [
        orbits.displace_orbit(reference_k, centre, look_side=s.look_side, bperp_m=b[0],
                              bpar_m=b[1], along_track_m=b[2]) for b in asked[1:]]
    range_centre = float(np.linalg.norm(centre - reference_k.ecef(0.0)[0]))
    scenes = [scene_for_orbit(s, kep, range_centre, timedelta(days=d))
              for kep, d in zip(keplers, days)]
    names = [date_name(sc) for sc in scenes]
    if len(set(names)) != len(names):
        raise SimulationError(f"simulate --stack: two dates share a day: {names}")
    orbit_of = [sc.orbit() for sc in scenes]
    grid = GridSpec(s.lines, s.samples, 0.0, s.line_interval_s, scenes[0].first_sample_m,
                    s.sample_spacing_m)
    t_ref, _ = geo2rdr(centre, orbit_of[0])
    lags, shifts = [], []
    for orbit in orbit_of:
        t2, r2 = geo2rdr(centre, orbit, t_guess=t_ref)
        lags.append(float(t2 - t_ref))
        shifts.append(float(r2 - range_centre))
    half = s.irf_support // 2
    margin = (int(math.ceil(max(map(abs, lags)) / s.line_interval_s)) + half + 4,
              int(math.ceil(max(map(abs, shifts)) / s.sample_spacing_m)) + half + 4)
    baselines = [orbits.measure_baseline(centre[None, :], orbit_of[0], orbit, look_side=s.look_side,
                                         wavelength_m=s.wavelength_m) for orbit in orbit_of[1:]]
    clock.done("orbits")

    # 2: terrain
    terrain, reference, incidence = terrain_and_reference(folder, s, grid, orbit_of[0], margin,
                                                          centre, rng_terrain, rng_reference)
    clock.done("terrain")

    # 3-4: geometry per date, displacement, atmosphere
    base = ground_geometry(grid, orbit_of[0], grid, orbit_of[0], look_side=s.look_side,
                           wavelength_m=s.wavelength_m, terrain=terrain, margin=margin,
                           along_lag_s=0.0, threads=threads, allow_layover=s.allow_layover)
    ma, mr = margin
    rows = np.arange(-ma, s.lines + ma, dtype=np.float64)
    cols = np.arange(-mr, s.samples + mr, dtype=np.float64)
    t1, r1 = grid.times(rows), grid.ranges(cols)[None, :]
    ext = base.xyz.shape[:2]
    row_off, col_off, phase = (np.empty((cfg.dates,) + ext) for _ in range(3))
    inner = (slice(ma, ext[0] - ma), slice(mr, ext[1] - mr))
    los, delay = [], []
    spacing = _ground_spacing(base.xyz)
    for k, (orbit, day, lag) in enumerate(zip(orbit_of, days, lags)):
        moved = base.xyz + _displacement(cfg, day)(base.xyz)
        srow, scol, r_k = _slave_position(moved, orbit, grid, t1 + lag, threads)
        still = _slave_position(base.xyz, orbit, grid, t1 + lag, threads)[2]
        los.append((still - r_k)[inner])
        screen = np.zeros(ext)
        if cfg.atmosphere_m > 0:
            screen = fractal_surface(ext, spacing, cfg.atmosphere_exponent,
                                     cfg.atmosphere_outer_m, rng_atmosphere)
            screen *= cfg.atmosphere_m / np.sqrt(np.mean(screen[inner] ** 2))
        delay.append(screen[inner])
        phase[k] = (4.0 * np.pi / s.wavelength_m) * (r_k + screen - r1)
        row_off[k] = srow - rows[:, None]
        col_off[k] = scol - cols[None, :]
    clock.done("geometry")

    # 5: scatterers and noise
    irf = ImpulseResponse(s.bandwidth, s.irf_support)
    beta = scatterers.backscatter(base.cos_inc, base.area_ratio)
    gamma, patches = scatterers.coherence_map(beta.shape, margin, background=s.coherence,
                                              low=s.low_coherence, patches=s.patches,
                                              rng=rng_patches)
    steps = np.diff(np.asarray(days, dtype=np.float64), prepend=0.0)
    rho = np.exp(-steps / cfg.tau_days)
    shape = (s.lines, s.samples)
    images = _synthesize(shape, margin, beta, gamma, cfg.long_term_coherence, rho, row_off,
                         col_off, phase, irf, s, threads)
    clock.done("scatterers")
    mean_beta = float(np.mean(beta[inner], dtype=np.float64))
    noise_power = mean_beta / 10.0 ** (s.snr_db / 10.0)
    coherence, _, intensity = scatterers.expected_coherence(beta, gamma, phase[0], margin,
                                                            noise_power, irf, irf)
    for k, name in enumerate(names):
        images[k] += scatterers.thermal_noise(shape, noise_power, irf, irf, noise_rngs[k])
        write_scene(folder / f"{name}.yaml", scenes[k], images[k])
    del images
    clock.done("noise and scenes")

    # 6: truth
    llh = base.interior("llh")
    rasters = truth.write_rasters(folder, {"height": llh[..., 2], "lat": llh[..., 0],
                                           "lon": llh[..., 1], "coherence": coherence,
                                           "intensity": intensity})
    per_date = {"los_displacement": los, "phase": [p[inner] for p in phase],
                "azimuth_offset": [r[inner] for r in row_off],
                "range_offset": [c[inner] for c in col_off]}
    if cfg.atmosphere_m > 0:
        per_date["atmosphere"] = delay
    for stem, arrays in per_date.items():
        for name, array in zip(names, arrays):
            rasters[f"{stem}_{name}"] = truth.write_raster(folder, f"{stem}_{name}", array,
                                                           *PER_DATE[stem])
    years = np.asarray(days, dtype=np.float64) / YEAR_DAYS
    slope = (years - years.mean()) / np.sum((years - years.mean()) ** 2)
    velocity = np.tensordot(slope, np.stack(los), axes=1)
    rasters["velocity"] = truth.write_raster(
        folder, "velocity", velocity, "float64", "m/year",
        "least-squares slope of los_displacement_DATE against the dates (the linear velocity "
        "an SBAS inversion estimates)")
    gcps = truth.pick_gcps(coherence, llh[..., 0], llh[..., 1], llh[..., 2], s.gcps,
                           0.9 * s.coherence / (1.0 + 10 ** (-s.snr_db / 10)), rng_gcps)
    truth.write_gcps(folder / "gcps.yaml", gcps)
    clock.done("truth")
    content = {
        "config": cfg.as_dict(),
        "reference_date": names[0],
        "dates": [{"date": name, "day": day, "scene": f"{name}.yaml",
                   "baseline_to_reference": ({k: float(v[0]) for k, v in
                                              baselines[i - 1].items()} if i else None)}
                  for i, (name, day) in enumerate(zip(names, days))],
        "conventions": {
            "grid": "every truth raster is on the grid of the first date (the reference)",
            "interferogram": "arg(z_a * conj(z_b)) = phase_b - phase_a, radians",
            "los_displacement": "since the first date, positive towards the satellite (the "
                                "MintPy/HyP3 sign); phase_b - phase_a holds "
                                "-4 pi / lambda * (los_b - los_a) of it",
            "coherence": "pair (a, b): coherence * temporal(|t_a - t_b|), temporal(dt) = "
                         "c_inf + (1 - c_inf) exp(-dt / tau)",
        },
        "temporal_coherence": {"tau_days": cfg.tau_days, "c_inf": cfg.long_term_coherence},
        "deformation": {
            "bowl": {"rate_m_per_year": cfg.rate_m_per_year, "seasonal_m": cfg.seasonal_m,
                     "width_m": cfg.bowl_width_m,
                     "centre_lat_lon": list(place_epicentre(s, cfg.bowl_east_m,
                                                            cfg.bowl_north_m))},
            "mogi_rate_m3_per_year": cfg.mogi_rate_m3_per_year,
            "los_displacement_range_m": [float(np.min(los)), float(np.max(los))],
            "velocity_range_m_per_year": [float(velocity.min()), float(velocity.max())]},
        "atmosphere": {"rms_m": cfg.atmosphere_m, "exponent": cfg.atmosphere_exponent,
                       "outer_scale_m": cfg.atmosphere_outer_m},
        "rasters": rasters,
        "dem": {"path": "dem.tif", "relief_m": terrain.relief_m,
                "geotransform": list(terrain.geotransform)},
        "reference_dem": reference.description if reference is not None else None,
        "gcps": {"path": "gcps.yaml", "points": gcps},
        "coherence": {"background": s.coherence, "low": s.low_coherence, "patches": patches},
        "geometry": {"incidence_deg_near_far": list(incidence), "margin": list(margin)},
        "noise": {"snr_db": s.snr_db, "noise_power": noise_power, "mean_intensity": mean_beta},
        "run": {"threads": threads, **clock.summary()},
    }
    truth.write_truth_yaml(folder / "truth.yaml", content, STACK_TRUTH_FORMAT)
    return content


def load_stack_truth(folder: str | os.PathLike) -> dict:
    """The content of a stack folder's ``truth.yaml`` (``peppers-sim-stack/1``).

    Raises
    ------
    SimulationError
        If it is missing or not a stack's truth.
    """
    return truth.load_truth(folder, STACK_TRUTH_FORMAT)


def read_stack_raster(folder: str | os.PathLike, name: str) -> np.ndarray:
    """One raster of a stack's truth (``velocity``, ``los_displacement_20260301``, ...).

    Raises
    ------
    SimulationError
        If ``truth.yaml`` does not list ``name``.
    """
    from peppers.image import Region
    from peppers.io.raw import RawImage

    listed = load_stack_truth(folder)["rasters"]
    if name not in listed:
        raise SimulationError(f"read_stack_raster: {Path(folder) / 'truth.yaml'}: no raster "
                              f"{name!r}; listed: {sorted(listed)}")
    with RawImage.open(Path(folder) / listed[name]["path"]) as image:
        return image.read(Region.full(image.spec.shape))
