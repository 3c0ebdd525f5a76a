"""The command that starts a stream or a tiled global rule on MPI ranks.

:func:`launch_command` builds ``mpiexec -n N pep-ppe RUN --stream NAME``
(or ``--rule NAME``); the launcher (``mpiexec``, ``mpirun``, ``srun`` or a
template) is given by the caller (the scheduler reads HKV
``ppe.mpi.launcher``), else taken from the site file
(:mod:`peppers.ppe.site`), else ``mpiexec``.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from peppers.ppe.site import site_setting

DEFAULT_LAUNCHER = "mpiexec"


def launch_command(run_root: str | os.PathLike, stream: str, n: int, *,
                   strategy: str | None = None, threads: int | None = None,
                   mem: str | int | None = None, chunk: int | None = None,
                   launcher: str | None = None, stats: str | os.PathLike | None = None,
                   rule: bool = False) -> list[str]:
    """The command that runs stream ``stream`` of ``run_root`` on ``n`` MPI ranks.

    Parameters
    ----------
    run_root : path-like
        The run directory.
    stream : str
        The stream name (its spec is ``RUN/.peppers/streams/<stream>.yaml``).
    n : int
        Number of ranks.
    strategy, threads, mem, chunk, stats : optional
        Passed to ``pep-ppe`` (``--strategy``, ``--threads``, ``--mem``,
        ``--chunk``, ``--stats``).
    rule : bool
        ``stream`` names a global rule: ``pep-ppe RUN --rule NAME``
        (:mod:`peppers.drs.mpi`) instead of ``--stream NAME``.
    launcher : str, optional
        The launcher: a command (``mpiexec``, ``mpirun``, ``srun``, with
        options, e.g. ``"srun --mpi=pmix"``), to which ``-n N`` is appended,
        or a template holding ``{n}`` (``"mpirun -np {n} --oversubscribe"``).
        Default: the site file's ``ppe.mpi.launcher``, else ``mpiexec``
        (the scheduler passes the run's HKV value). A bare ``mpiexec``/``mpirun`` is taken from beside this
        Python when there is one (the ``mpich`` wheel's), so the launcher
        matches the MPI library mpi4py uses.

    Returns
    -------
    list of str

    Raises
    ------
    ValueError
        If ``n`` is not a positive integer or the launcher is empty.

    Examples
    --------
    >>> cmd = launch_command("run", "stream-1", 4, launcher="srun --mpi=pmix")
    >>> cmd[:4], cmd[-3:]
    (['srun', '--mpi=pmix', '-n', '4'], ['run', '--stream', 'stream-1'])
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"number of MPI ranks must be a positive integer, got {n!r}")
    template = launcher if launcher is not None else site_setting(
        "ppe.mpi.launcher", DEFAULT_LAUNCHER)
    words = shlex.split(str(template).replace("{n}", str(n)))
    if not words:
        raise ValueError(f"empty MPI launcher {template!r}")
    if "{n}" not in str(template):
        words += ["-n", str(n)]
    if words[0] in ("mpiexec", "mpirun"):
        beside = Path(sys.executable).parent / words[0]
        if beside.is_file() and os.access(beside, os.X_OK):
            words[0] = str(beside)
    command = [*words, sys.executable, "-m", "peppers.cli.ppe_main", str(run_root),
               "--stream", stream]
    for flag, value in (("--strategy", strategy), ("--threads", threads), ("--mem", mem),
                        ("--chunk", chunk), ("--stats", stats)):
        if value is not None:
            command += [flag, str(value)]
    if rule:
        command[command.index("--stream")] = "--rule"
    return command
