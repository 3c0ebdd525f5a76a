"""``pep queue``: the queues of shared resources, with positions.

Runs that need the same shared resource (HKV ``rmi.resource``, or
``pep run make --queue NAME``) run one at a time, first come first served;
the others wait in the resource's queue. This lists every queue in the spool
directory (``$PEPPERS_SPOOL``, default ``~/.local/share/peppers/spool``), or
one resource's: position 0 holds the resource. A ticket whose process died
is shown ``stale``; the next waiter removes it (``--reap`` does it now).
"""

from __future__ import annotations

import argparse

from peppers.cli.common import command_parser


def add_parser(sub) -> argparse.ArgumentParser:
    parser = command_parser(
        sub, "queue", "list the queues of shared resources", __doc__,
        "  pep queue\n  pep queue cluster --json")
    parser.add_argument("resource", nargs="?", default=None, help="only this resource")
    parser.add_argument("--json", action="store_true", help="print the queues as JSON")
    parser.add_argument("--reap", action="store_true",
                        help="remove tickets of dead processes first")
    return parser


def run(args: argparse.Namespace) -> int:
    import json
    import time

    from peppers.rmi.queue import ResourceQueue, describe, list_queues, spool_dir

    if args.resource:
        queues = {args.resource: ResourceQueue(args.resource)}
    else:
        queues = {name: ResourceQueue(name) for name in list_queues()}
    if args.reap:
        for queue in queues.values():
            for ticket in queue.reap():
                print(f"removed stale ticket {ticket.number} of {ticket.holder} "
                      f"({ticket.resource})")
    rows = [describe(t, k) for q in queues.values() for k, t in enumerate(q.tickets())]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"no runs queued in {spool_dir()}")
        return 0
    now = time.time()
    print(f"{'resource':<12} {'pos':>3}  {'state':<8} {'ticket':>6}  {'holder':<28} "
          f"{'waiting':>8}  run")
    for r in rows:
        h = r["holder"]
        who = f"{h['user']}@{h['host']} pid {h['pid']}"
        print(f"{r['resource']:<12} {r['position']:>3}  {r['state']:<8} {r['ticket']:>6}  "
              f"{who:<28} {now - r['since']:7.0f}s  {r['run']}")
    return 0
