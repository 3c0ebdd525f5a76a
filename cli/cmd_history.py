"""``pep history``: list, take, compare and restore snapshots of a run.

Without options it lists the snapshots, oldest first. A snapshot records
every record file (content-addressed, so unchanged files cost nothing) and
every referenced image by path and hash; images are never copied.
``--diff A B`` prints the keys that differ from A to B (a label, an id
prefix, or ``current`` for the live state). ``--restore A`` puts snapshot
A's records back, all at once, after snapshotting the current state.
"""

from __future__ import annotations

import argparse

from peppers.cli.common import command_parser


def add_parser(sub) -> argparse.ArgumentParser:
    parser = command_parser(
        sub, "history", "list, take, diff and restore snapshots of the run", __doc__,
        "  pep --run myrun history --snapshot before-coreg -m 'defaults'\n"
        "  pep --run myrun history --diff before-coreg current\n"
        "  pep --run myrun history --restore before-coreg")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--snapshot", metavar="LABEL", help="take a snapshot named LABEL")
    action.add_argument("--diff", nargs=2, metavar=("A", "B"),
                        help="keys changed from A to B (labels, ids or 'current')")
    action.add_argument("--restore", metavar="A", help="restore the records of snapshot A")
    parser.add_argument("-m", "--message", default=None, help="why (with --snapshot)")
    return parser


def run(args: argparse.Namespace) -> int:
    from peppers.cli.common import absent_or, open_run

    db = open_run(args)
    if args.snapshot:
        snapshot_id = db.snapshot(args.snapshot, args.message)
        print(f"snapshot {args.snapshot} {snapshot_id}")
        return 0
    if args.diff or args.restore:
        changes = db.diff(*args.diff) if args.diff else db.restore(args.restore)
        for change in changes:
            print(f"{'+-~'[('added', 'removed', 'changed').index(change.kind)]} {change.key}: "
                  f"{absent_or(change.old)} -> {absent_or(change.new)}")
        if args.restore:
            print(f"restored {args.restore}: {len(changes)} key(s) changed")
        return 0
    snapshots = db.snapshots()
    if not snapshots:
        print("no snapshots yet (take one with: pep history --snapshot LABEL)")
    for info in snapshots:
        print(f"{info.label}  {info.id[:12]}  {info.time:%Y-%m-%d %H:%M:%S}Z  {info.user}  "
              f"{info.records} records, {info.images} images  {info.message}".rstrip())
    return 0
