"""Run a program with its output in a log file: command rules and MPI launches.

The log (``RUN/.peppers/logs/STEP.log``) starts with the command line
(``$ ...``), then everything the program printed (stdout and stderr
interleaved). The caller gets the exit status and the last line the program
printed, for a one-line error that points at the log.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence


@dataclass(frozen=True)
class Logged:
    """The outcome of :func:`run_logged`.

    Attributes
    ----------
    status : int
        Exit status.
    last_line : str
        The last line the program printed, or ``(no output)``.
    log : Path
        The log file.
    """

    status: int
    last_line: str
    log: Path


def run_logged(command: str | Sequence[str], log: Path, *, cwd: Path | None = None) -> Logged:
    """Run ``command`` (a shell line, or an argument list), output into ``log``.

    Parameters
    ----------
    command : str or sequence of str
        A string runs through the shell (command rules); a list runs as is.
    log : Path
        Written anew; its folder is created.
    cwd : Path, optional
        Working directory.

    Returns
    -------
    Logged
    """
    shell = isinstance(command, str)
    text = command if shell else " ".join(str(c) for c in command)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w", encoding="utf-8") as out:
        out.write(f"$ {text}\n")
        out.flush()
        status = subprocess.run(command if shell else [str(c) for c in command], shell=shell,
                                cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                check=False).returncode
    lines = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[1:]
    return Logged(status, lines[-1] if lines else "(no output)", log)
