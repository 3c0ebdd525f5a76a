"""``pep set KEY VALUE``: store a value, parsed as YAML.

VALUE is YAML: ``4`` is an int, ``4.0`` a float, ``[5, 9]`` a list,
``{a: 1}`` a mapping, ``2024-05-01T12:00:00Z`` a UTC datetime, ``null``
nothing; quote it to force a string (``"'4'"``). For a parameter declared
as ``str``, VALUE is taken as the literal text. The value is checked against
the parameter's declared type and bounds (``ge``, ``gt``, ``le``,
``choices``); the change goes into the audit trail with the old and new
values.

Inside the declared namespaces (``insar.*``, ``ppe.*``, ``products.*``: the
first parts of the run's declared keys) only declared keys, and keys the
run already holds (results of rules), can be set: a typo is refused with the
closest declared key. Free keys go under ``user.*`` (or any other namespace
without declared keys); ``pep unset KEY`` removes one.
"""

from __future__ import annotations

import argparse

from peppers.cli.common import command_parser


def add_parser(sub) -> argparse.ArgumentParser:
    parser = command_parser(
        sub, "set", "set a key to a value (parsed as YAML, type- and bound-checked)", __doc__,
        '  pep --run myrun set insar.coherence.window "[5, 9]"\n'
        "  pep --run myrun set insar.multilook.looks \"[4, 4]\"\n"
        "  pep --run myrun set user.note \"reprocessed with the new DEM\"")
    parser.add_argument("key", metavar="KEY",
                        help="dotted key path, e.g. insar.coherence.window")
    parser.add_argument("value", metavar="VALUE", help="the new value, as YAML")
    return parser


def run(args: argparse.Namespace) -> int:
    from peppers.cli.common import absent_or, open_run
    from peppers.errors import KeyPathError
    from peppers.hkv import ABSENT
    from peppers.hkv.values import parse_value

    db = open_run(args)
    refused = db.parameters.undeclared(args.key)
    if refused is not None and db.get(args.key, ABSENT) is ABSENT:
        raise KeyPathError(f"pep set: {refused}")
    declared = db.parameters.parameters.get(args.key)
    if declared is not None and declared.type == "str":
        value = args.value
    else:
        value = parse_value(args.value, f"VALUE for {args.key}")
    old = db.get(args.key, ABSENT)
    db.set(args.key, value)
    print(f"{args.key}: {absent_or(old)} -> {absent_or(db.get(args.key))}")
    return 0
