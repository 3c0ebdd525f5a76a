"""``pep unset KEY``: remove a key that is not a declared parameter.

Removes a leaf, or every leaf below a group, in one change that goes into
the audit trail (old value -> ``(absent)``). Declared parameters always
have a value: set them back to their default with ``pep set`` instead.
"""

from __future__ import annotations

import argparse

from peppers.cli.common import command_parser


def add_parser(sub) -> argparse.ArgumentParser:
    parser = command_parser(
        sub, "unset", "remove a user key (audited); declared parameters stay", __doc__,
        "  pep --run myrun unset user.note")
    parser.add_argument("key", metavar="KEY", help="dotted key path, e.g. user.note")
    return parser


def run(args: argparse.Namespace) -> int:
    from peppers.cli.common import absent_or, open_run
    from peppers.errors import KeyPathError
    from peppers.hkv import ABSENT
    from peppers.hkv.schema import NO_DEFAULT
    from peppers.hkv.values import value_text

    db = open_run(args)
    declared = db.parameters.parameters.get(args.key)
    if declared is not None:
        default = ("" if declared.default is NO_DEFAULT
                   else f" (default: pep set {args.key} '{value_text(declared.default)}')")
        raise KeyPathError(f"pep unset: {args.key} is a declared parameter and keeps a value; "
                           f"set it instead{default}")
    old = db.get(args.key, ABSENT)
    if old is ABSENT:
        raise KeyPathError(f"pep unset: nothing is stored at or below {args.key}")
    db.delete(args.key)
    print(f"{args.key}: {absent_or(old)} -> (absent)")
    return 0
