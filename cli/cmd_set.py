"""``pep set KEY VALUE``: store a value, parsed as YAML.

VALUE is YAML: ``4`` is an int, ``4.0`` a float, ``[5, 9]`` a list,
``{a: 1}`` a mapping, ``2024-05-01T12:00:00Z`` a UTC datetime, ``null``
nothing; quote it to force a string (``"'4'"``). For a parameter declared
as ``str``, VALUE is taken as the literal text. The value is checked against
the parameter's declared type; the change goes into the audit trail with the
old and new values.
"""

from __future__ import annotations

import argparse

from peppers.cli.common import command_parser


def add_parser(sub) -> argparse.ArgumentParser:
    parser = command_parser(
        sub, "set", "set a key to a value (parsed as YAML, type-checked)", __doc__,
        '  pep --run myrun set insar.coherence.window "[5, 9]"\n'
        "  pep --run myrun set insar.looks 4")
    parser.add_argument("key", metavar="KEY", help="dotted key path, e.g. insar.looks")
    parser.add_argument("value", metavar="VALUE", help="the new value, as YAML")
    return parser


def run(args: argparse.Namespace) -> int:
    from peppers.cli.common import absent_or, open_run
    from peppers.hkv import ABSENT
    from peppers.hkv.values import parse_value

    db = open_run(args)
    declared = db.parameters.parameters.get(args.key)
    if declared is not None and declared.type == "str":
        value = args.value
    else:
        value = parse_value(args.value, f"VALUE for {args.key}")
    old = db.get(args.key, ABSENT)
    db.set(args.key, value)
    print(f"{args.key}: {absent_or(old)} -> {absent_or(db.get(args.key))}")
    return 0
