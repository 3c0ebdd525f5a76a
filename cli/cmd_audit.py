"""``pep audit``: show the audit trail of a run.

Every change (with the old and new value of each key) and every ``pep``
command is in it, with time, user, host, pid and command line. Entries of
writes that a crash stopped before they took effect are left out.
"""

from __future__ import annotations

import argparse
import json

from peppers.cli.common import command_parser


def add_parser(sub) -> argparse.ArgumentParser:
    parser = command_parser(
        sub, "audit", "show who changed what, when, with which command", __doc__,
        "  pep --run myrun audit --limit 20\n"
        "  pep --run myrun audit --json | jq .changes")
    parser.add_argument("--limit", type=int, default=None, metavar="N",
                        help="only the last N entries")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    return parser


def run(args: argparse.Namespace) -> int:
    from peppers.cli.common import absent_or, open_run
    from peppers.errors import PeppersError

    if args.limit is not None and args.limit < 0:
        raise PeppersError(f"--limit {args.limit}: must be >= 0")
    db = open_run(args)
    entries = db.audit_log()
    if args.limit is not None:
        entries = entries[len(entries) - args.limit:] if args.limit else []
    for entry in entries:
        if args.json:
            print(json.dumps(entry.to_plain(), ensure_ascii=False))
            continue
        what = entry.message or " ".join(entry.argv)
        print(f"{entry.time:%Y-%m-%d %H:%M:%S}Z {entry.user}@{entry.host} pid {entry.pid} "
              f"{entry.kind}: {what}")
        for change in entry.changes:
            print(f"    {change.key}: {absent_or(change.old)} -> {absent_or(change.new)}")
    return 0
