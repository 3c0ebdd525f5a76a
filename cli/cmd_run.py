"""``pep run make TARGET...``: bring targets up to date, explaining what and why.

The scheduler reads the rule files (packaged ``rules/*.yaml`` and the
run's ``rules/*.yaml``), finds the rules the targets need that are stale,
cuts them into streams (chains of local rules run tile by tile through
memory) separated by global, reduction and command rules, and runs them.
Every finished rule is recorded in the run database (``drs.rules.<rule>``)
with one audit entry.

``--dry-run`` prints the plan in one view: per stream its rules, tiles and
memory estimate, what it reads and writes; the breaks between streams;
with ``--why`` the reason for every stale rule. TARGET is an image, a rule
or a key a reduction makes. See docs/scheduler.md.

Every run writes its events to ``RUN/.peppers/events.jsonl`` and serves a
monitor socket (``pep monitor attach|status|pause|resume|abort``).
``--detach`` runs make in the background, in its own session, logging to
``RUN/.peppers/logs/``. ``--queue NAME`` (or HKV ``rmi.resource``) waits for
a shared resource first, one run at a time. See docs/monitor.md.
"""

from __future__ import annotations

import argparse

from peppers.cli.common import command_parser

TRIGGERS = ("input", "params", "code")


def _triggers(text: str) -> tuple[str, ...]:
    chosen = tuple(t.strip() for t in text.split(",") if t.strip()) if text != "none" else ()
    bad = [t for t in chosen if t not in TRIGGERS]
    if bad:
        raise argparse.ArgumentTypeError(f"unknown trigger(s) {bad}; choose from "
                                         f"{', '.join(TRIGGERS)} (comma-separated) or none")
    return chosen


def add_parser(sub) -> argparse.ArgumentParser:
    parser = command_parser(
        sub, "run", "run the scheduler (pep run make TARGET...)", __doc__,
        "  pep --run myrun run make geocoded_dem --dry-run --why\n"
        "  pep --run myrun run make geocoded_dem -j 4 --mem 2G")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    make = actions.add_parser(
        "make", help="bring targets up to date", description=__doc__,
        epilog="example:\n  pep --run myrun run make interferogram --dry-run --why\n"
               "  pep --run myrun run make interferogram --rerun-triggers input,code\n",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    make.add_argument("targets", nargs="+", metavar="TARGET",
                      help="image, rule or HKV key (made by a reduction) to bring up to date")
    make.add_argument("-n", "--dry-run", action="store_true",
                      help="print the plan (streams, tiles, memory, breaks) and stop")
    make.add_argument("--why", action="store_true", help="print the reason for each stale rule")
    make.add_argument("--force", action="store_true",
                      help="rerun every rule the targets need")
    make.add_argument("--rerun-triggers", type=_triggers, default=TRIGGERS, metavar="LIST",
                      help="which changes make a rule stale, comma-separated from "
                           f"{','.join(TRIGGERS)} (default all; 'none' for missing outputs "
                           "only)")
    make.add_argument("-j", "--threads", type=int, default=None, metavar="N",
                      help="threads per stream (default HKV ppe.threads, else all cores)")
    make.add_argument("--mem", default=None, metavar="SIZE",
                      help="tile-cache budget, e.g. 512M, 2G (default HKV ppe.memory)")
    make.add_argument("--streams", type=int, default=1, metavar="K",
                      help="independent steps run side by side, sharing threads and memory "
                           "(default 1)")
    make.add_argument("--mpi", type=int, default=None, metavar="N",
                      help="run streams, and tiled global rules such as unwrap, on N MPI ranks "
                           "(mpiexec -n N pep-ppe RUN --stream S | --rule R; launcher from "
                           "HKV ppe.mpi.launcher)")
    make.add_argument("--detach", action="store_true",
                      help="run in the background (own session, logs in RUN/.peppers/logs); "
                           "watch with 'pep monitor attach'")
    make.add_argument("--queue", default=None, metavar="NAME",
                      help="wait for the shared resource NAME first, one run at a time "
                           "(default HKV rmi.resource; see 'pep queue')")
    return parser


def run(args: argparse.Namespace) -> int:
    import sys

    from peppers.cli.common import open_run
    from peppers.drs.make import Maker, plan_make
    from peppers.drs.progress import ProgressView
    from peppers.drs.report import explain
    from peppers.errors import MakeError

    db = open_run(args)
    plan = plan_make(db, args.targets, force=args.force, triggers=args.rerun_triggers,
                     threads=args.threads, mem=args.mem)
    if args.dry_run or args.why:
        print(explain(plan, why=args.why))
    if args.dry_run:
        return 0
    if not plan.steps:
        if not args.why:
            print(f"make {' '.join(args.targets)}: up to date")
        return 0
    if args.detach:
        return _detach(db.root, args.argv)
    from peppers.errors import RunAborted
    from peppers.rmi import MonitoredRun

    monitor = MonitoredRun(db.root, args.argv, threads=args.threads,
                           resource=args.queue or db.get("rmi.resource", None),
                           group=db.get("rmi.group", None))
    with monitor, ProgressView() as view:
        maker = Maker(plan, parallel=args.streams, mpi=args.mpi, display=monitor.display(view))
        try:
            report = maker.run()
        except MakeError as error:
            print(f"pep: error: {error}", file=sys.stderr)
            cause = error.__cause__
            monitor.outcome("aborted" if isinstance(cause, RunAborted) else "failed", str(error))
            if cause is not None and args.debug:
                raise cause
            return 1
    for name, stats in report.stats.items():
        print(f"{name}: {stats.summary().splitlines()[0]}")
    print(f"make {' '.join(args.targets)}: {report.summary()}")
    return 0


def _detach(root, argv: list[str]) -> int:
    """Start this make again in the background, without ``--detach``; say how to attach."""
    from peppers.rmi import attach_hint, detach, wait_started

    pid = detach(root, [a for a in argv if a != "--detach"])
    wait_started(root, pid)
    print(attach_hint(root, pid))
    return 0
