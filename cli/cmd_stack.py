"""``pep stack``: a stack run — many acquisitions, one reference, a network, SBAS time series.

``pep stack init RUN --scenes A.yaml B.yaml ... --reference-dem DEM`` creates a
run holding every acquisition (``peppers-slc/1`` scenes: simulated or
imported), the network of pairs and the rules that make them
(``RUN/rules/stack.yaml``): every secondary coregistered and resampled onto
the one reference grid, a differential interferogram per pair, unwrapped,
then the SBAS inversion. ``pep run make interferograms``, ``pep run make
timeseries``, ``pep run make velocity`` make only what is missing or stale;
``pep stack add RUN C.yaml`` adds an acquisition: the next make runs only
its coregistration, its new pairs and the inversion. ``pep stack export RUN
OUTDIR`` makes every pair's HyP3-style product set on one map grid and writes
the ``smallbaselineApp.py`` template that loads them. See ``docs/stacks.md``.
"""

from __future__ import annotations

import argparse

EXAMPLE = """\
example:
  pep simulate --stack 8 sim --lines 300 --samples 300 --mogi-rate 2e5 --mogi-depth 600
  pep stack init run --scenes sim/2026*.yaml --reference-dem sim/dem.tif --network sequential:3
  pep --run run run make velocity
  pep stack add run sim2/20260517.yaml && pep --run run run make velocity
  pep stack export run mintpy && (cd mintpy && smallbaselineApp.py smallbaselineApp.cfg)
"""


def add_parser(sub) -> argparse.ArgumentParser:
    parser = sub.add_parser("stack", help="create or extend a stack run (time series)",
                            description=__doc__, epilog=EXAMPLE,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    init = actions.add_parser("init", help="create a stack run from many scenes",
                              description=__doc__, epilog=EXAMPLE,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    init.add_argument("run_dir", metavar="RUN", help="the run directory to create")
    init.add_argument("--scenes", nargs="+", required=True, metavar="S.yaml",
                      help="the acquisitions (one per date)")
    init.add_argument("--reference", metavar="YYYYMMDD", default=None,
                      help="the reference date, whose grid every product is on (default: "
                           "the first)")
    init.add_argument("--reference-dem", required=True, metavar="DEM.tif",
                      help="reference DEM (geometry of every secondary against the reference)")
    init.add_argument("--network", default="sequential:3",
                      help="sequential:N | sbas:MAX_DAYS,MAX_BPERP | all (default sequential:3)")
    init.add_argument("--gcps", metavar="G.yaml", help="ground control points (recorded)")
    add = actions.add_parser("add", help="add acquisitions to a stack run",
                             description=__doc__, epilog=EXAMPLE,
                             formatter_class=argparse.RawDescriptionHelpFormatter)
    add.add_argument("run_dir", metavar="RUN", help="the stack run")
    add.add_argument("scenes", nargs="+", metavar="S.yaml", help="the new acquisitions")
    export = actions.add_parser("export", help="the stack for MintPy (HyP3-style sets)",
                                description=__doc__, epilog=EXAMPLE,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    export.add_argument("run_dir", metavar="RUN", help="the stack run")
    export.add_argument("outdir", metavar="OUTDIR",
                        help="folder for stack/{PRODUCT}/ and smallbaselineApp.cfg")
    export.add_argument("-j", "--threads", type=int, default=None, help="threads of the make")
    return parser


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from peppers.cli import stack_run

    if args.action == "init":
        db = stack_run.init_stack(Path(args.run_dir), args.scenes, reference=args.reference,
                                  dem_path=args.reference_dem, network=args.network,
                                  gcps_path=args.gcps,
                                  argv=list(getattr(args, "argv", [])))
        print(f"created stack run {args.run_dir}")
    elif args.action == "export":
        from peppers.hkv import RunDatabase

        db = RunDatabase.open(Path(args.run_dir))
        done = stack_run.export_mintpy(db, Path(args.outdir), threads=args.threads)
        print(f"exported {len(done['products'])} HyP3-style sets to {args.outdir}/stack")
        print(f"MintPy: cd {args.outdir} && smallbaselineApp.py {done['template'].name}")
        return 0
    else:
        from peppers.hkv import RunDatabase

        db = RunDatabase.open(Path(args.run_dir))
        before = set(db.get("stack.dates"))
        stack_run.add_to_stack(db, args.scenes)
        added = sorted(set(db.get("stack.dates")) - before)
        print(f"added {', '.join(added)} to {args.run_dir}")
    for line in stack_run.describe(db):
        print(line)
    print(f"next: pep --run {args.run_dir} run make velocity")
    return 0
