"""Helpers shared by the ``pep`` subcommands that work on a run directory.

The run directory comes from ``--run DIR``, else ``$PEP_RUN``, else the
current directory. :func:`open_run` opens it and records the command line in
its audit trail, so every ``pep`` command that touches a run is logged, and
the changes it makes carry that command line. Only the standard library is
imported at module level; ``peppers.hkv`` (and PyYAML) load when a command runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from peppers.hkv import RunDatabase


def run_dir(args: argparse.Namespace) -> Path:
    """The run directory named by ``--run``, ``$PEP_RUN`` or the current directory."""
    chosen = getattr(args, "run", None) or os.environ.get("PEP_RUN") or os.getcwd()
    return Path(chosen)


def open_run(args: argparse.Namespace) -> "RunDatabase":
    """Open the run of ``args`` and record the command line in its audit trail.

    Raises
    ------
    HKVError
        If the directory is not a run (the message names it).
    """
    from peppers.hkv import RunDatabase

    db = RunDatabase.open(run_dir(args))
    db.record_command(list(getattr(args, "argv", None) or ["pep", *sys.argv[1:]]))
    return db


def format_value(value: Any) -> str:
    """A value as YAML for the terminal: a leaf on one line, a mapping one key per line."""
    import yaml

    from peppers.hkv.records import BlockMapping
    from peppers.hkv.values import DUMP_OPTIONS, value_text

    if isinstance(value, dict) and value:
        return yaml.dump(BlockMapping(value), default_flow_style=None, sort_keys=False,
                         **DUMP_OPTIONS).rstrip("\n")
    return value_text(value)


def absent_or(value: Any) -> str:
    """One-line YAML of a value, or ``(absent)`` for a missing one."""
    from peppers.hkv import ABSENT
    from peppers.hkv.values import value_text

    return "(absent)" if value is ABSENT else value_text(value)


def command_parser(sub, name: str, help_text: str, description: str,
                   example: str) -> argparse.ArgumentParser:
    """Declare a subcommand with the house style: help, description, example epilog."""
    return sub.add_parser(name, help=help_text, description=description,
                          epilog=f"example:\n{example}\n",
                          formatter_class=argparse.RawDescriptionHelpFormatter)
