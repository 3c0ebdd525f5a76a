"""``pep get KEY``: print a value, or a whole group of keys, as YAML.

A leaf prints as one line of YAML (``[5, 5]``); a group prints as a block
mapping of everything below it. ``--stamp`` prints the key's modification
time and content hash instead (what the scheduler compares).
"""

from __future__ import annotations

import argparse

from peppers.cli.common import command_parser


def add_parser(sub) -> argparse.ArgumentParser:
    parser = command_parser(
        sub, "get", "print the value of a key (or a group of keys) as YAML", __doc__,
        "  pep --run myrun get insar.coherence.window\n"
        "  pep --run myrun get insar            # the whole insar group")
    parser.add_argument("key", metavar="KEY", help="dotted key path, e.g. insar.looks")
    parser.add_argument("--stamp", action="store_true",
                        help="print the modification time and content hash instead")
    return parser


def run(args: argparse.Namespace) -> int:
    from peppers.cli.common import format_value, open_run

    db = open_run(args)
    if args.stamp:
        stamp = db.stamp(args.key)
        print(f"mtime: {stamp.mtime.isoformat()}\nhash: {stamp.hash}")
    else:
        print(format_value(db.get(args.key)))
    return 0
