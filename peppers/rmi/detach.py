"""Detached runs: ``pep run make ... --detach``.

:func:`detach` starts the same command line, without ``--detach``, as a
new process in its own session (``setsid``: no controlling terminal, so
closing the terminal or logging off sends it no SIGHUP), with stdin from
``/dev/null`` and stdout and stderr appended to
``RUN/.peppers/logs/detached-STAMP.log``. The environment variable
``PEPPERS_DETACHED=1`` tells the child it is detached (no progress bars).
The caller prints :func:`attach_hint` and returns at once; the run writes
its events and serves its monitor socket like any other run.

:func:`wait_started` lets a caller wait until the child has written its
``run_start`` event (or has already failed, whose log tail it reports).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

from peppers.errors import MonitorError
from peppers.rmi.events import last_run
from peppers.rmi.paths import RunPaths
from peppers.rmi.process import ProcessId

#: The variable set in a detached child.
DETACHED_ENV = "PEPPERS_DETACHED"


def detach(run_root: str | os.PathLike, argv: Sequence[str]) -> int:
    """Start ``argv`` in the background for the run in ``run_root``; return its pid.

    Parameters
    ----------
    run_root : path-like
        The run directory (its ``.peppers/logs/`` receives the output).
    argv : sequence of str
        The full command line to run, e.g. ``["pep", "--run", R, "run", "make", T]``
        (already without ``--detach``). A first element ``pep`` is run as
        ``python -m peppers.cli.main`` of this interpreter, so the child uses
        the same installation.

    Returns
    -------
    int
        The pid of the background process.

    Raises
    ------
    MonitorError
        If the program cannot be started.
    """
    paths = RunPaths(run_root)
    log = paths.new_log("detached", time.strftime("%Y%m%dT%H%M%S"))
    command = list(argv)
    if command and Path(command[0]).name == "pep":
        command = [sys.executable, "-m", "peppers.cli.main", *command[1:]]
    env = dict(os.environ, **{DETACHED_ENV: "1"})
    with open(log, "ab") as out:
        try:
            child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     close_fds=True, env=env)
        except OSError as error:
            raise MonitorError(f"{command[0]}: cannot start the detached run: "
                               f"{error.strerror or error}") from None
    child.returncode = 0  # never waited for here: the run outlives this process
    return child.pid


def wait_started(run_root: str | os.PathLike, pid: int, timeout: float = 30.0) -> None:
    """Block until process ``pid`` has written ``run_start`` in the run's event log.

    Raises
    ------
    MonitorError
        If the process exits first (with the tail of its log) or ``timeout`` passes.
    """
    paths = RunPaths(run_root)
    deadline = time.monotonic() + timeout
    me = ProcessId.of(pid)
    while time.monotonic() < deadline:
        events = last_run(paths.events)
        if events and (events[0].get("process") or {}).get("pid") == pid:
            return
        if me.state() == "dead":
            raise MonitorError(f"the detached run (pid {pid}) exited before starting: "
                               f"{_tail(paths)}")
        time.sleep(0.05)
    raise MonitorError(f"the detached run (pid {pid}) did not start within {timeout} s; "
                       f"see {paths.logs}")


def attach_hint(run_root: str | os.PathLike, pid: int) -> str:
    """What to tell the user after detaching."""
    run = os.fspath(run_root)
    return (f"detached: pid {pid}, logs in {RunPaths(run_root).logs}\n"
            f"  watch:   pep --run {run} monitor attach\n"
            f"  steer:   pep --run {run} monitor attach --control\n"
            f"  summary: pep --run {run} monitor status")


def _tail(paths: RunPaths, lines: int = 5) -> str:
    logs = sorted(paths.logs.glob("detached-*.log"), key=lambda p: p.stat().st_mtime)
    if not logs:
        return "no log"
    text = logs[-1].read_text(errors="replace").strip().splitlines()[-lines:]
    return f"{logs[-1]}: " + " | ".join(text)
