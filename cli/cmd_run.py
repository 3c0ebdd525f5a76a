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
or a key a reduction makes; ``products`` means every product rule the run's
inputs allow. See docs/scheduler.md.

``-B`` (``--force``, as make's ``-B``) reruns every rule the targets need;
``--forcerun RULE`` (as snakemake's ``-R``, repeatable) reruns RULE and, by
propagation, every rule downstream of it.

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
    make.add_argument("-B", "--force", action="store_true",
                      help="rerun every rule the targets need (as make -B)")
    make.add_argument("-R", "--forcerun", action="append", default=[], metavar="RULE",
                      help="rerun RULE and everything downstream of it (as snakemake -R; "
                           "repeatable)")
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
    from peppers.cli.common import open_run
    from peppers.drs.make import plan_make
    from peppers.drs.explain import explain

    db = open_run(args)
    force = True if args.force else (set(args.forcerun) or False)
    plan = plan_make(db, expand_targets(db, args.targets), force=force,
                     triggers=args.rerun_triggers, threads=args.threads, mem=args.mem)
    if args.dry_run or args.why:
        print(explain(plan, why=args.why))
    if args.dry_run:
        return 0
    if not plan.steps:
        from peppers.drs.make import sweep_run_temporaries

        sweep_run_temporaries(db.root)  # what a make killed after its last commit staged
        if not args.why:
            print(f"make {' '.join(args.targets)}: up to date")
        return 0
    if args.detach:
        return _detach(db.root, args.argv)
    return execute(db, plan, args.argv, streams=args.streams, mpi=args.mpi,
                   threads=args.threads, queue=args.queue, debug=args.debug,
                   label=" ".join(args.targets))


def expand_targets(db, targets: list[str]) -> list[str]:
    """The targets with ``products`` replaced by every product rule the run's inputs allow."""
    if "products" not in targets:
        return list(targets)
    from peppers.drs.product_set import product_targets

    chosen = product_targets(db)
    return [t for name in targets for t in (chosen if name == "products" else [name])]


def execute(db, plan, argv: list[str], *, streams: int = 1, mpi: int | None = None,
            threads: int | None = None, queue: str | None = None, debug: bool = False,
            label: str = "") -> int:
    """Run ``plan`` as every make runs: monitored (event log, socket) with the progress view.

    ``pep run make`` and ``pep demo`` both come here, so both leave the same
    event log for ``pep monitor status``.
    """
    import sys

    from peppers.cli.progress import ProgressView
    from peppers.drs.logged import kill_all
    from peppers.drs.make import Maker
    from peppers.errors import MakeError, RunAborted
    from peppers.rmi import MonitoredRun

    monitor = MonitoredRun(db.root, argv, threads=threads,
                           resource=queue or db.get("rmi.resource", None),
                           group=db.get("rmi.group", None), hard_stop=kill_all)
    with monitor, ProgressView() as view:
        monitor.plan(plan.estimates())
        maker = Maker(plan, parallel=streams, mpi=mpi, display=monitor.display(view))
        try:
            report = maker.run()
        except MakeError as error:
            print(f"pep: error: {error}", file=sys.stderr)
            cause = error.__cause__
            monitor.outcome("aborted" if isinstance(cause, RunAborted) else "failed", str(error))
            if cause is not None and debug:
                raise cause
            # stopped by a signal: 1 for SIGTERM, 130 for SIGINT (what a shell expects)
            return (monitor.stop_status() or 1) if isinstance(cause, RunAborted) else 1
    for name, stats in report.stats.items():
        print(f"{name}: {stats.summary().splitlines()[0]}")
    print(f"make {label}: {report.summary()}")
    return 0


def _detach(root, argv: list[str]) -> int:
    """Start this make again in the background, without ``--detach``; say how to attach."""
    from peppers.rmi import attach_hint, detach, wait_started

    pid = detach(root, [a for a in argv if a != "--detach"])
    wait_started(root, pid)
    print(attach_hint(root, pid))
    return 0
