"""``pep demo``: the main job on a built-in simulated scene.

The full chain (simulate, init, ``make geocoded_dem``, accuracy against
truth) needs the InSAR operators and the scheduler. Until they exist this
command says so plainly and exits non-zero; it never pretends.
"""

from __future__ import annotations

import argparse

from peppers.errors import PeppersError


class NotAvailableError(PeppersError, RuntimeError):
    """A command whose machinery is not built yet."""


def add_parser(sub) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "demo",
        help="simulate a scene, make its geocoded DEM, print the accuracy",
        description=__doc__,
        epilog="example:\n  pep demo /tmp/peppers-demo",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("directory", nargs="?", default="peppers-demo",
                        help="where to put the simulated scene and the run")
    return parser


def run(args: argparse.Namespace) -> int:
    raise NotAvailableError(
        "pep demo is not available yet: the InSAR chain and the scheduler "
        "that it runs are still being built (see the project's open issues). "
        "What works today: pep init, get, set, history, audit."
    )
