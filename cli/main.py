"""The ``pep`` command: a thin dispatcher over one module per subcommand.

Each subcommand lives in ``cli/cmd_<name>.py`` and exposes two functions:

``add_parser(subparsers) -> argparse.ArgumentParser``
    Declares the subcommand, its ``--help`` text and an example.
``run(args) -> int``
    Does the work and returns the exit status.

Subcommand modules import nothing heavy at module level (numpy, numba,
rasterio are imported inside ``run``), so ``pep --help`` is instant.

Global options (``--run DIR``, ``--debug``) are accepted before the
subcommand and after it, at any depth (``pep show --run . X``,
``pep run make --run . geocoded_dem``); one given after the subcommand wins.

Errors: a :class:`~peppers.errors.PeppersError` is printed as one line,
``pep: error: ...``, with exit status 1; any other exception as one line
with exit status 2 and a hint to rerun with ``--debug``, which shows the
full traceback instead -- except a full disk (``ENOSPC``, ``EDQUOT``): one
line naming the file, status 1. SIGINT (Ctrl-C) outside a make is one line, ``pep:
interrupted``, status 130; a make stops cleanly on SIGINT and SIGTERM
(``docs/testing.md``). A closed output pipe (``pep audit | head -1``) is
no error: the command stops quietly with status 141 (128 + SIGPIPE, what
a shell reports for a command killed by the signal).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Sequence

#: Subcommand name -> module under ``peppers.cli``, in ``--help`` order.
COMMANDS: dict[str, str] = {
    "init": "cmd_init",
    "stack": "cmd_stack",
    "import": "cmd_import",
    "get": "cmd_get",
    "set": "cmd_set",
    "unset": "cmd_unset",
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
        accept_global_options(sub_parser)
    return parser


def accept_global_options(parser: argparse.ArgumentParser) -> None:
    """Let ``parser`` and its nested subcommands take ``--run`` and ``--debug`` too.

    The copies default to :data:`argparse.SUPPRESS`, so they set the value
    only when given and leave the one given before the subcommand alone.
    """
    taken = {option for action in parser._actions for option in action.option_strings}
    if "--run" not in taken:
        parser.add_argument("--run", metavar="DIR", default=argparse.SUPPRESS,
                            help="run directory (as before the subcommand)")
    if "--debug" not in taken:
        parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                            help="full tracebacks (as before the subcommand)")
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in set(action.choices.values()):
                accept_global_options(child)


def _version() -> str:
    from peppers import __version__
    return f"peppers {__version__}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``pep``; returns (and, from the shell, exits with) the status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        finally:
            sys.stdout.flush()             # --help into a closed pipe fails here
        if args.command is None:
            parser.print_help()
            sys.stdout.flush()
            return 2
    except BrokenPipeError:
        return quiet_broken_pipe()
    except KeyboardInterrupt:              # Ctrl-C while the subcommands load
        print("pep: interrupted", file=sys.stderr)
        return 130
    args.argv = ["pep", *argv]
    return run_guarded(args.debug, lambda: args._module.run(args))


#: Exit status after the reader closed the output pipe: 128 + SIGPIPE.
EXIT_BROKEN_PIPE = 141


def quiet_broken_pipe() -> int:
    """After a closed output pipe: point stdout at /dev/null, return :data:`EXIT_BROKEN_PIPE`.

    The redirection keeps Python's final flush of ``sys.stdout`` from
    raising again (and printing "Exception ignored ...") at exit.
    """
    with _suppress_os_errors():
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return EXIT_BROKEN_PIPE


def _suppress_os_errors():
    import contextlib

    return contextlib.suppress(OSError, ValueError)


def run_guarded(debug: bool, action) -> int:
    """Run ``action``, turning exceptions into one-line errors unless ``debug``.

    A :class:`BrokenPipeError` (the reader of stdout went away) ends the
    command quietly with status 141, whatever ``debug`` says.
    """
    from peppers.errors import PeppersError

    try:
        status = action()
        sys.stdout.flush()                 # a closed pipe shows here, not at exit
    except BrokenPipeError:
        return quiet_broken_pipe()
    except KeyboardInterrupt:
        print("pep: interrupted", file=sys.stderr)
        return 130
    except PeppersError as error:
        if debug:
            raise
        print(f"pep: error: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # noqa: BLE001 - the one place that catches all
        if _pipe_closed(error):
            return quiet_broken_pipe()
        if _disk_full(error) and not debug:
            print(f"pep: error: {error}; free some space and run the command again",
                  file=sys.stderr)
            return 1
        if debug:
            raise
        print(f"pep: internal error: {type(error).__name__}: {error} "
              "(rerun with --debug for the traceback)", file=sys.stderr)
        return 2
    return int(status or 0)


def _disk_full(error: BaseException) -> bool:
    """Whether ``error`` is a full disk or quota (a state of the machine, not a bug)."""
    import errno

    return isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)


def _pipe_closed(error: BaseException) -> bool:
    """Whether ``error`` (or an error it came from) is a closed pipe (EPIPE)."""
    import errno

    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, BrokenPipeError) or getattr(error, "errno", None) == errno.EPIPE:
            return True
        error = error.__cause__ or error.__context__
    return False


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
