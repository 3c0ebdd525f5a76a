"""``pep dag TARGET...``: draw the rules the targets need.

Stale rules are red with their triggers, up-to-date rules green; each
stream is a dashed box; global, reduction and command rules (the breaks
between streams) are hexagons; dashed edges are images that stay in
memory. ``--format dot`` and ``mermaid`` print text (paste Mermaid into
Markdown); ``png`` needs Graphviz's ``dot`` and writes ``--output``.
"""

from __future__ import annotations

import argparse

from peppers.cli.common import command_parser


def add_parser(sub) -> argparse.ArgumentParser:
    parser = command_parser(
        sub, "dag", "draw the rule graph of targets (dot, mermaid, png)", __doc__,
        "  pep --run myrun dag geocoded_dem --format mermaid\n"
        "  pep --run myrun dag geocoded_dem --format png --output dag.png")
    parser.add_argument("targets", nargs="+", metavar="TARGET",
                        help="image, rule or HKV key to draw the graph of")
    parser.add_argument("--format", choices=("dot", "mermaid", "png"), default="dot",
                        help="output format (default dot)")
    parser.add_argument("--output", "-o", default=None, metavar="FILE",
                        help="write here instead of printing (required for png)")
    parser.add_argument("--force", action="store_true",
                        help="draw as if every rule were forced to rerun")
    return parser


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from peppers.cli.common import open_run
    from peppers.drs.dag import render_png, to_dot, to_mermaid
    from peppers.drs.make import plan_make
    from peppers.errors import RuleError

    db = open_run(args)
    plan = plan_make(db, args.targets, force=args.force)
    if args.format == "png":
        if args.output is None:
            raise RuleError("pep dag --format png: give the file with --output FILE.png")
        render_png(to_dot(plan), Path(args.output))
        print(f"wrote {args.output}")
        return 0
    text = to_dot(plan) if args.format == "dot" else to_mermaid(plan)
    if args.output is None:
        print(text, end="")
    else:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    return 0
