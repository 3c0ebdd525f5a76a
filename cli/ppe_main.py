"""``pep-ppe RUN --stream STREAM``: run one stream of a run, on one rank or many.

Streams are cut by the scheduler (DRS) from the rule graph; the MPI executor
runs the very same tile plan as the thread executor. Until the scheduler
exists there are no streams to run, and this command says so plainly.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from peppers.cli.main import run_guarded


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pep-ppe",
        description=__doc__,
        epilog="example:\n  mpirun -n 4 pep-ppe myrun --stream stream1",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run_dir", metavar="RUN", help="run directory")
    parser.add_argument("--stream", required=True, help="name of the stream to run")
    parser.add_argument("--debug", action="store_true", help="full tracebacks")
    return parser


def _run(args: argparse.Namespace) -> int:
    from peppers.cli.cmd_demo import NotAvailableError

    raise NotAvailableError(
        f"pep-ppe: cannot run stream {args.stream!r} of {args.run_dir}: streams "
        "are cut by the dependency scheduler, which is not built yet."
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    return run_guarded(args.debug, lambda: _run(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
