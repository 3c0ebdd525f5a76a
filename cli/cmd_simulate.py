"""``pep simulate OUTDIR``: a realistic synthetic interferometric pair, with truth.

Writes ``OUTDIR/master.yaml`` and ``OUTDIR/slave.yaml`` (the input contract
``peppers-slc/1``), ``dem.tif``, ``gcps.yaml``, and the truth (unwrapped
phase, offsets, coherence, heights on the radar grid) described in
``truth.yaml``. Baseline signs: ``--bperp`` along increasing look angle
(the phase of master*conj(slave) then falls with height), ``--bpar`` towards
the target, ``--along-track`` ahead of the master. See ``docs/simulator.md``.

With ``--stack N``: N acquisitions of one scene instead of a pair
(``OUTDIR/YYYYMMDD.yaml`` per date, ``dem.tif``, ``gcps.yaml``, the truth per
date): baselines drawn in an orbital tube, a deformation history (a bowl with
a linear rate and a seasonal term, a Mogi source growing in time), temporal
decorrelation and optionally a turbulent atmosphere per date.
"""

from __future__ import annotations

import argparse

EXAMPLE = """\
example:
  pep simulate /tmp/pair --lines 2000 --samples 1000 --seed 7 --bperp 120 --relief 400
  pep init /tmp/run --master /tmp/pair/master.yaml --slave /tmp/pair/slave.yaml \\
      --gcps /tmp/pair/gcps.yaml
  pep simulate --stack 8 /tmp/stack --lines 300 --samples 300 --mogi-rate 2e5 --mogi-depth 600
"""

#: stack option -> (StackConfig field, type, help)
STACK_OPTIONS = (
    ("--interval", "interval_days", int, "days between acquisitions (default 12)"),
    ("--bperp-spread", "bperp_spread_m", float,
     "perpendicular baselines to the first date drawn in [-S, S], m (default 150)"),
    ("--bpar-spread", "bpar_spread_m", float, "parallel baselines in [-S, S], m (default 40)"),
    ("--along-track-spread", "along_track_spread_m", float,
     "along-track baselines in [-S, S], m (default 10)"),
    ("--tau", "tau_days", float, "temporal decorrelation e-folding time, days (default 40)"),
    ("--long-term-coherence", "long_term_coherence", float,
     "coherence fraction that never decorrelates (default 0.6)"),
    ("--rate", "rate_m_per_year", float,
     "vertical linear rate at the bowl's peak, m/year (default -0.03)"),
    ("--seasonal", "seasonal_m", float, "seasonal amplitude at the bowl's peak, m (default 0.01)"),
    ("--bowl-width", "bowl_width_m", float, "Gaussian width of the bowl, m (default 400)"),
    ("--bowl-east", "bowl_east_m", float, "bowl centre east of the scene centre, m"),
    ("--bowl-north", "bowl_north_m", float, "bowl centre north of the scene centre, m"),
    ("--mogi-rate", "mogi_rate_m3_per_year", float,
     "Mogi source volume change rate, m^3/year (default 0; depth and place: --mogi-*)"),
    ("--atmosphere", "atmosphere_m", float,
     "RMS turbulent one-way delay per date, m (default 0 = none)"),
    ("--atmosphere-exponent", "atmosphere_exponent", float,
     "power-law exponent of the delay spectrum (default 8/3)"),
)
#: pair options a stack replaces by its own
PAIR_ONLY = {"bperp_m": "--bperp-spread", "bpar_m": "--bpar-spread",
             "along_track_m": "--along-track-spread"}

#: option -> (SimulationConfig field, type, help)
OPTIONS = (
    ("--lines", "lines", int, "azimuth lines of both images (default 4000)"),
    ("--samples", "samples", int, "range samples of both images (default 2000)"),
    ("--seed", "seed", int, "seed of every random draw (default 0)"),
    ("--bperp", "bperp_m", float, "perpendicular baseline at the scene centre, m (default 150)"),
    ("--bpar", "bpar_m", float, "parallel baseline, m (default 60)"),
    ("--along-track", "along_track_m", float, "along-track baseline, m (default 20)"),
    ("--relief", "relief_m", float,
     "peak-to-peak terrain relief, m (default 500; reduced if it would cause layover)"),
    ("--base-height", "base_height_m", float, "mean terrain height, m (default 1000)"),
    ("--coherence", "coherence", float, "background coherence (default 0.85)"),
    ("--low-coherence", "low_coherence", float, "coherence of the patches (default 0.3)"),
    ("--patches", "patches", int, "number of low-coherence patches (default 4)"),
    ("--look-angle", "look_angle_deg", float, "off-nadir look angle, deg (default 30)"),
    ("--wavelength", "wavelength_m", float, "radar wavelength, m (default 0.05546576)"),
    ("--snr", "snr_db", float, "signal to thermal noise ratio, dB (default 20)"),
    ("--lat", "lat_deg", float, "scene centre latitude, deg (default 36.5)"),
    ("--lon", "lon_deg", float, "scene centre longitude, deg (default -117.0)"),
    ("--scatterers", "scatterers_per_axis", int,
     "point scatterers per pixel along each axis (default 2)"),
    ("--spectral-exponent", "spectral_exponent", float,
     "terrain power spectrum ~ k^-exponent; larger is smoother (default 4.0)"),
    ("--slope-margin", "slope_margin", float,
     "largest range slope as a fraction of the layover/shadow limit (default 0.8)"),
    ("--gcps", "gcps", int, "ground control points to write (default 36)"),
    ("--mogi-volume", "mogi_volume_m3", float,
     "Mogi source between the passes: volume change, m^3 (default 0 = none)"),
    ("--mogi-depth", "mogi_depth_m", float, "Mogi source depth, m (default 1500)"),
    ("--mogi-east", "mogi_east_m", float, "Mogi epicentre east of the scene centre, m"),
    ("--mogi-north", "mogi_north_m", float, "Mogi epicentre north of the scene centre, m"),
    ("--okada-length", "okada_length_m", float,
     "Okada rectangular fault between the passes: length, m (default 0 = none)"),
    ("--okada-width", "okada_width_m", float, "Okada fault width down dip, m (default 1000)"),
    ("--okada-depth", "okada_depth_m", float, "Okada fault top-edge depth, m (default 300)"),
    ("--okada-strike", "okada_strike_deg", float, "Okada strike, deg from north (default 0)"),
    ("--okada-dip", "okada_dip_deg", float, "Okada dip, deg (default 60)"),
    ("--okada-strike-slip", "okada_strike_slip_m", float, "Okada left-lateral slip, m"),
    ("--okada-dip-slip", "okada_dip_slip_m", float, "Okada thrust slip, m"),
    ("--okada-opening", "okada_opening_m", float, "Okada tensile opening, m"),
    ("--okada-east", "okada_east_m", float, "Okada epicentre east of the scene centre, m"),
    ("--okada-north", "okada_north_m", float, "Okada epicentre north of the scene centre, m"),
    ("--dem-error", "dem_error_m", float,
     "RMS error of the reference DEM dem_reference.tif, m (default 0 = no reference DEM)"),
    ("--dem-error-correlation", "dem_error_correlation_m", float,
     "correlation length of that error, m (default 60)"),
    ("--dem-voids", "dem_voids", int, "voids (nodata) in the reference DEM (default 0)"),
    ("--dem-geoid", "dem_geoid", str,
     "geoid grid (e.g. EGM96 .gtx): the reference DEM holds geoid heights"),
    ("--threads", "threads", int, "worker threads, 0 = all cores (default 0)"),
    ("--block-lines", "block_lines", int,
     "lines computed and held at a time (memory), 0 = 2^19 pixels / width (default 0)"),
)


def add_parser(sub) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "simulate",
        help="simulate an interferometric SAR pair with its truth",
        description=__doc__,
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("outdir", help="folder to create for the pair (or stack) and its truth")
    parser.add_argument("--stack", type=int, default=None, metavar="N",
                        help="simulate N acquisitions of one scene instead of a pair")
    for flag, dest, kind, text in STACK_OPTIONS:
        parser.add_argument(flag, dest=dest, type=kind, default=None,
                            help=f"(--stack) {text}", metavar=flag[2:].upper().replace("-", "_"))
    for flag, dest, kind, text in OPTIONS:
        parser.add_argument(flag, dest=dest, type=kind, default=None, help=text,
                            metavar=flag[2:].upper().replace("-", "_"))
    parser.add_argument("--look-side", dest="look_side", choices=("right", "left"),
                        default=None, help="side of the flight direction (default right)")
    parser.add_argument("--ascending", dest="ascending", action="store_true", default=None,
                        help="northbound pass (default southbound)")
    parser.add_argument("--allow-layover", dest="allow_layover", action="store_true",
                        default=None, help="keep the relief even where it lays over or "
                        "shadows; the truth gets a layover_shadow mask")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace OUTDIR if it exists and is not empty")
    parser.add_argument("--quiet", action="store_true", help="print only the summary")
    return parser


def run(args: argparse.Namespace) -> int:
    from peppers.errors import SimulationError
    from peppers.operators.simulate import SimulationConfig, simulate

    fields = [dest for _, dest, _, _ in OPTIONS] + ["look_side", "ascending", "allow_layover"]
    changes = {name: getattr(args, name) for name in fields if getattr(args, name) is not None}
    config = SimulationConfig(**changes)
    if args.stack is not None:
        return _run_stack(args, config, changes)
    unused = [flag for flag, dest, _, _ in STACK_OPTIONS if getattr(args, dest) is not None]
    if unused:
        raise SimulationError(f"simulate: {unused[0]} is an option of --stack N")
    progress = None if args.quiet else (lambda line: print(f"  {line}", flush=True))
    if progress is not None:
        print(f"simulating {config.lines} x {config.samples} into {args.outdir}", flush=True)
    result = simulate(args.outdir, config, overwrite=args.overwrite, progress=progress)
    centre = result.truth["baseline"]["centre"]
    dem = result.truth["dem"]
    print(f"wrote {result.folder}: master.yaml, slave.yaml, dem.tif, gcps.yaml, truth.yaml, "
          f"truth/ ({len(result.truth['rasters'])} rasters)")
    print(f"baseline at centre: bperp {centre['bperp_m']:.2f} m, bpar {centre['bpar_m']:.2f} m, "
          f"along-track {centre['along_track_m']:.2f} m; height of ambiguity "
          f"{centre['height_of_ambiguity_m']:.1f} m")
    relief = f"relief {dem['relief_m']:.0f} m"
    if dem["relief_m"] < dem["relief_requested_m"]:
        relief += f" (reduced from {dem['relief_requested_m']:.0f} m to avoid layover/shadow)"
    run_info = result.truth["run"]
    print(f"{relief}; {run_info['wall_s']['total']:.1f} s "
          f"(cpu {run_info['cpu_s']['total']:.1f} s) with {run_info['threads']} threads")
    return 0


def _run_stack(args: argparse.Namespace, scene, changes: dict) -> int:
    from peppers.errors import SimulationError
    from peppers.operators.simulate.stack import simulate_stack
    from peppers.operators.simulate.stack_config import StackConfig

    for dest, flag in PAIR_ONLY.items():
        if dest in changes:
            raise SimulationError(f"simulate --stack: --{dest[:-2].replace('_', '-')} is a pair "
                                  f"option; a stack draws its baselines with {flag}")
    stack = {dest: getattr(args, dest) for _, dest, _, _ in STACK_OPTIONS
             if getattr(args, dest) is not None}
    config = StackConfig(scene.replace(bperp_m=0.0, bpar_m=0.0, along_track_m=0.0),
                         dates=args.stack, **stack)
    progress = None if args.quiet else (lambda line: print(f"  {line}", flush=True))
    if progress is not None:
        print(f"simulating a stack of {config.dates} dates, {scene.lines} x {scene.samples}, "
              f"into {args.outdir}", flush=True)
    result = simulate_stack(args.outdir, config, overwrite=args.overwrite, progress=progress)
    truth = result.truth
    bperp = [d["baseline_to_reference"]["bperp_m"] for d in truth["dates"][1:]]
    vel = truth["deformation"]["velocity_range_m_per_year"]
    print(f"wrote {result.folder}: {len(result.dates)} scenes ({result.dates[0]} ... "
          f"{result.dates[-1]}), dem.tif, gcps.yaml, truth.yaml, truth/ "
          f"({len(truth['rasters'])} rasters)")
    print(f"bperp to {result.dates[0]}: {min(bperp):.1f} .. {max(bperp):.1f} m; LOS velocity "
          f"{vel[0] * 1e3:.1f} .. {vel[1] * 1e3:.1f} mm/year; "
          f"{truth['run']['wall_s']['total']:.1f} s")
    return 0
