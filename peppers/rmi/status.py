"""``pep monitor status``: a run's state from its event log, live process or not.

The event log says what the run did; the process identity it recorded says
who did it. If the latest run has no ``run_end`` and that process is not
alive, the run is *dead* -- killed, crashed, or the machine went down --
and the summary says so, and that ``pep run make`` resumes it.
"""

from __future__ import annotations

import os

from peppers.rmi.events import last_run
from peppers.rmi.paths import RunPaths
from peppers.rmi.process import ProcessId
from peppers.rmi.state import TERMINAL, RunStatus


def run_status(run_root: str | os.PathLike) -> RunStatus:
    """The state of the latest run in ``run_root`` (``none`` if it never ran)."""
    paths = RunPaths(run_root)
    state = RunStatus.fold(last_run(paths.events))
    if state.state in TERMINAL or state.state == "none":
        return state
    try:
        holder = ProcessId.from_dict(state.process)
    except ValueError:
        state.mark_dead("no process identity recorded")
        return state
    alive = holder.state()
    if alive == "dead":
        state.mark_dead(f"process {holder} is not alive and wrote no end event; "
                        "'pep run make' resumes the run")
    elif alive == "unknown":
        state.note = f"process {holder} runs on another host; liveness not checked"
    return state
