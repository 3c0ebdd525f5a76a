"""``pep demo [DIR]``: the main job on a small simulated scene, with its accuracy.

Simulates an interferometric pair with its truth (``DIR/sim``, ``pep
simulate``), creates a run from it with the ground control points and the
reference DEM (``DIR/run``, ``pep init``), makes the geocoded DEM and the
other products (``pep run make geocoded_dem ...``, with progress), and
writes quicklooks of the products (``DIR/pictures``, ``pep show``), and
prints the accuracy of ``products/geocoded_dem.tif`` against the truth:
RMS height error over coherent ground beside the Cramer-Rao bound for the
coherence and looks used, the blunder fraction (errors above half the height
of ambiguity) and the coverage of the imaged footprint.

The default scene (1200 x 800 pixels) runs in about a minute here, numba
compilation included; ``--lines``/``--samples`` make it smaller or larger,
``--look-side left --bperp -150`` shows the same on a left-looking pair with
a negative baseline.
"""

from __future__ import annotations

import argparse

TARGETS = ("geocoded_dem", "geocoded_coherence", "geocoded_unwrapped_phase", "geocoded_amplitude")


def add_parser(sub) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "demo",
        help="simulate a scene, make its geocoded DEM, print the accuracy",
        description=__doc__,
        epilog="example:\n  pep demo /tmp/peppers-demo\n"
               "  pep demo /tmp/left --look-side left --bperp -150 --lines 800 --samples 600",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("directory", nargs="?", default="peppers-demo",
                        help="new folder for the simulated scene (sim/) and the run (run/)")
    parser.add_argument("--lines", type=int, default=1200, help="azimuth lines (default 1200)")
    parser.add_argument("--samples", type=int, default=800, help="range samples (default 800)")
    parser.add_argument("--seed", type=int, default=3, help="simulation seed (default 3)")
    parser.add_argument("--look-side", choices=("right", "left"), default="right")
    parser.add_argument("--bperp", type=float, default=150.0,
                        help="perpendicular baseline, m (negative allowed; default 150)")
    parser.add_argument("--ascending", action="store_true", help="ascending pass")
    parser.add_argument("-j", "--threads", type=int, default=None, metavar="N",
                        help="threads (default all cores)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace DIR if it exists")
    return parser


def run(args: argparse.Namespace) -> int:
    import shutil
    import time
    from pathlib import Path

    from peppers.errors import PeppersError

    folder = Path(args.directory).absolute()
    if folder.exists() and any(folder.iterdir()):
        if not args.overwrite:
            raise PeppersError(f"{folder}: exists and is not empty; choose a new folder or "
                               "pass --overwrite")
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    sim = _simulate(args, folder / "sim")
    db = _init(folder / "run", sim)
    _make(db, args.threads, getattr(args, "argv", None) or ["pep", "demo"])
    _report(folder, db, time.perf_counter() - start)
    return 0


def _simulate(args: argparse.Namespace, out) -> object:
    from peppers.operators.simulate import SimulationConfig, simulate

    config = SimulationConfig(lines=args.lines, samples=args.samples, seed=args.seed,
                              look_side=args.look_side, bperp_m=args.bperp,
                              ascending=args.ascending)
    print(f"simulating a {args.lines} x {args.samples} pair ({args.look_side}-looking, "
          f"bperp {args.bperp:g} m) into {out}")
    return simulate(out, config, progress=lambda text: print(f"  {text}"))


def _init(run_dir, sim) -> object:
    from peppers.cli.main import main
    from peppers.errors import PeppersError
    from peppers.hkv import RunDatabase

    folder = sim.folder
    status = main(["init", str(run_dir), "--master", str(folder / "master.yaml"),
                   "--slave", str(folder / "slave.yaml"), "--gcps", str(folder / "gcps.yaml"),
                   "--reference-dem", str(folder / "dem.tif")])
    if status != 0:
        raise PeppersError(f"{run_dir}: pep init failed (status {status})")
    # the unwrapping defaults fit (one tile; looks derived for 0.85 bandwidth)
    return RunDatabase.open(run_dir)


def _make(db, threads, argv) -> None:
    """Make the products as ``pep run make`` does: same monitor, event log and progress."""
    from peppers.cli.cmd_run import execute
    from peppers.drs.make import plan_make
    from peppers.errors import PeppersError

    print(f"making {', '.join(TARGETS)}")
    plan = plan_make(db, list(TARGETS), threads=threads)
    if execute(db, plan, list(argv), threads=threads, label=" ".join(TARGETS)) != 0:
        raise PeppersError(f"{db.root}: making the demo products failed (see above)")


def _report(folder, db, seconds: float) -> None:
    from peppers.operators.height import radar_looks
    from peppers.report.truth import COHERENT, assess_dem

    run_dir = folder / "run"
    looks = radar_looks(db.get("inputs.master"), db.get("insar.multilook.looks"))
    acc = assess_dem(str(run_dir / "products" / "geocoded_dem.tif"), str(folder / "sim"), looks)
    absolute = db.get("insar.absolute_phase")
    ratio = acc["rms_m"] / acc["crb_m"]
    print(f"\naccuracy of products/geocoded_dem.tif against the simulated terrain "
          f"(coherent ground: true coherence >= {COHERENT}):")
    print(f"  RMS height error      {acc['rms_m']:.2f} m  (bias {acc['bias_m']:+.2f} m)")
    print(f"  Cramer-Rao bound      {acc['crb_m']:.2f} m  (looks {looks[0]} x {looks[1]}, "
          f"{acc['looks_independent']:.1f} independent; RMS / bound = {ratio:.2f})")
    print(f"  height of ambiguity   {acc['ambiguity_m']:.1f} m (median)")
    print(f"  blunders              {100 * acc['blunders']:.3f} % "
          f"(error > half the height of ambiguity)")
    print(f"  coverage              {100 * acc['coverage']:.1f} % of "
          f"{acc['pixels']} coherent footprint pixels")
    print(f"  absolute phase        {absolute['method']}"
          + (" (heights are RELATIVE)" if absolute.get("relative") else ""))
    print(f"\nproducts in {run_dir / 'products'}:")
    for name in TARGETS:
        print(f"  {name}.tif")
    _pictures(run_dir, folder / "pictures")
    print(f"report: pep --run {run_dir} report")
    print(f"demo done in {seconds:.0f} s")


def _pictures(run_dir, out) -> None:
    """Quicklooks of the products with ``pep show``, when that command is installed."""
    import contextlib
    import io

    from peppers.cli.main import COMMANDS, main

    if "show" not in COMMANDS:
        return
    out.mkdir(exist_ok=True)
    made = []
    for name in TARGETS:
        with contextlib.redirect_stdout(io.StringIO()):
            status = main(["--run", str(run_dir), "show", name, "-o", str(out / f"{name}.png")])
        if status == 0:
            made.append(f"{name}.png")
    if made:
        print(f"pictures in {out}: {', '.join(made)}")
