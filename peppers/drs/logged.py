"""Run a program with its output in a log file: command rules and MPI launches.

The log (``RUN/.peppers/logs/STEP.log``) starts with the command line
(``$ ...``), then everything the program printed (stdout and stderr
interleaved). The caller gets the exit status and the last line the program
printed, for a one-line error that points at the log.

Stopping: the program runs in a session (and process group) of its own, so
a Ctrl-C at the terminal reaches the make only, and the make decides. While
it runs, ``stop()`` is asked every :data:`POLL` seconds; once it says yes
(the make got SIGTERM or SIGINT, :func:`peppers.ppe.engine.stop_requested`)
the whole group gets SIGTERM, then SIGKILL after :data:`GRACE` seconds, and
the outcome says ``stopped``. :func:`kill_all` does the same at once for
every program still running (a make stopped hard, by a second signal).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from peppers.errors import naming

#: Seconds between two questions to ``stop()`` while the program runs.
POLL = 0.1
#: Seconds a stopped program's group has between SIGTERM and SIGKILL.
GRACE = 10.0

_LIVE: set[int] = set()        # process groups of the programs running now
_LIVE_LOCK = threading.Lock()


@dataclass(frozen=True)
class Logged:
    """The outcome of :func:`run_logged`.

    Attributes
    ----------
    status : int
        Exit status (negative: the signal that ended it).
    last_line : str
        The last line the program printed, or ``(no output)``.
    log : Path
        The log file.
    stopped : bool
        ``stop()`` said yes and the program's group was stopped.
    """

    status: int
    last_line: str
    log: Path
    stopped: bool = False


def run_logged(command: str | Sequence[str], log: Path, *, cwd: Path | None = None,
               stop: Callable[[], bool] | None = None) -> Logged:
    """Run ``command`` (a shell line, or an argument list), output into ``log``.

    Parameters
    ----------
    command : str or sequence of str
        A string runs through the shell (command rules); a list runs as is.
    log : Path
        Written anew; its folder is created.
    cwd : Path, optional
        Working directory.
    stop : callable, optional
        Asked while the program runs; True stops its whole process group
        (see the module notes).

    Returns
    -------
    Logged
    """
    shell = isinstance(command, str)
    text = command if shell else " ".join(str(c) for c in command)
    log.parent.mkdir(parents=True, exist_ok=True)
    stopped = False
    with naming(log), open(log, "w", encoding="utf-8") as out:
        out.write(f"$ {text}\n")
        out.flush()
    with open(log, "a", encoding="utf-8") as out:
        process = subprocess.Popen(command if shell else [str(c) for c in command],
                                   shell=shell, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        with _LIVE_LOCK:
            _LIVE.add(process.pid)
        try:
            while True:
                try:
                    process.wait(POLL)
                    break
                except subprocess.TimeoutExpired:
                    if stop is not None and stop():
                        stopped = True
                        _stop_group(process)
                        break
        except BaseException:
            _stop_group(process)
            raise
        finally:
            with _LIVE_LOCK:
                _LIVE.discard(process.pid)
    lines = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[1:]
    return Logged(process.returncode, lines[-1] if lines else "(no output)", log, stopped)


def _stop_group(process: subprocess.Popen) -> None:
    """SIGTERM to the program's process group, SIGKILL after :data:`GRACE` s; reaped."""
    _signal_group(process.pid, signal.SIGTERM)
    try:
        process.wait(GRACE)
    except subprocess.TimeoutExpired:
        pass
    _signal_group(process.pid, signal.SIGKILL)  # what of the group outlived the leader
    process.wait()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def kill_all() -> None:
    """SIGKILL the process group of every program :func:`run_logged` runs now."""
    with _LIVE_LOCK:
        groups = list(_LIVE)
    for pgid in groups:
        _signal_group(pgid, signal.SIGKILL)
