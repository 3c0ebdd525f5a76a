"""The ``pep`` command: a thin dispatcher over one module per subcommand.

Each subcommand lives in ``cli/cmd_<name>.py`` and exposes two functions:

``add_parser(subparsers) -> argparse.ArgumentParser``
    Declares the subcommand, its ``--help`` text and an example.
``run(args) -> int``
    Does the work and returns the exit status.

Subcommand modules import nothing heavy at module level (numpy, numba,
rasterio are imported inside ``run``), so ``pep --help`` is instant.

Errors: a :class:`~peppers.errors.PeppersError` is printed as one line,
``pep: error: ...``, with exit status 1; any other exception as one line
with exit status 2 and a hint to rerun with ``--debug``, which shows the
full traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

#: Subcommand name -> module under ``peppers.cli``, in ``--help`` order.
COMMANDS: dict[str, str] = {
    "init": "cmd_init",
    "import": "cmd_import",
    "get": "cmd_get",
    "set": "cmd_set",
    "history": "cmd_history",
    "audit": "cmd_audit",
    "simulate": "cmd_simulate",
    "demo": "cmd_demo",
    "monitor": "cmd_monitor",
    "queue": "cmd_queue",
    "run": "cmd_run",
    "dag": "cmd_dag",
    "show": "cmd_show",
    "report": "cmd_report",
    "op": "cmd_op",
}

EPILOG = """\
examples:
  pep init myrun --master master.yaml --slave slave.yaml
  pep --run myrun get insar.coherence.window
  pep --run myrun set insar.coherence.window "[5, 9]"
  pep demo

Run 'pep COMMAND --help' for the options and an example of each command.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pep",
        description="peppers: interferometric SAR processing, run after run.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--debug", action="store_true",
                        help="show full tracebacks instead of one-line errors")
    parser.add_argument("--run", metavar="DIR", default=None,
                        help="run directory (default: $PEP_RUN, else the current directory)")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(f"peppers.cli.{module_name}")
        sub_parser = module.add_parser(sub)
        sub_parser.set_defaults(_module=module)
    return parser


def _version() -> str:
    from peppers import __version__
    return f"peppers {__version__}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``pep``; returns (and, from the shell, exits with) the status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = ["pep", *argv]
    if args.command is None:
        parser.print_help()
        return 2
    return run_guarded(args.debug, lambda: args._module.run(args))


def run_guarded(debug: bool, action) -> int:
    """Run ``action``, turning exceptions into one-line errors unless ``debug``."""
    from peppers.errors import PeppersError

    try:
        status = action()
    except KeyboardInterrupt:
        print("pep: interrupted", file=sys.stderr)
        return 130
    except PeppersError as error:
        if debug:
            raise
        print(f"pep: error: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # noqa: BLE001 - the one place that catches all
        if debug:
            raise
        print(f"pep: internal error: {type(error).__name__}: {error} "
              "(rerun with --debug for the traceback)", file=sys.stderr)
        return 2
    return int(status or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
