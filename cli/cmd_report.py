"""``pep report``: an HTML report of the run, in one folder with its pictures.

The page (``RUN/report/index.html`` unless ``-o`` names another) shows the
inputs (scene metadata, GCPs, reference DEM), the rules with the time each
took, the rule graph, the accuracy of ``products/geocoded_dem.tif`` against
the GCPs (bias, std, RMS), a quicklook of every input, image and product,
and every parameter with its default (changed values highlighted). It has
no scripts and no outside links: copy the folder anywhere. See
docs/pictures.md.
"""

from __future__ import annotations

import argparse

from peppers.cli.common import command_parser


def add_parser(sub) -> argparse.ArgumentParser:
    parser = command_parser(
        sub, "report", "write an HTML report of the run (inputs, timings, graph, pictures)",
        __doc__,
        "  pep --run myrun report\n"
        "  pep --run myrun report -o /tmp/myrun-report/index.html --no-dot")
    parser.add_argument("-o", "--output", default=None, metavar="REPORT.html",
                        help="the HTML file (default RUN/report/index.html); PNGs go beside it")
    parser.add_argument("--no-dot", action="store_true",
                        help="draw the rule graph without Graphviz even if dot is installed")
    return parser


def run(args: argparse.Namespace) -> int:
    from peppers.cli.common import open_run
    from peppers.errors import ImageError
    from peppers.report import write_report

    if args.output is not None and not str(args.output).lower().endswith((".html", ".htm")):
        raise ImageError(f"{args.output}: pep report writes HTML; name the file *.html")
    db = open_run(args)
    report = write_report(db, args.output, use_dot=not args.no_dot)
    for problem in report.problems:
        print(f"warning: {problem}")
    print(f"wrote {report.path} with {len(report.pictures)} picture(s)")
    return 0
