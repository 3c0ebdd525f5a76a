"""A run's MPI jobs, seen from the scheduler: settings, launcher, tiled global rules.

The engine's MPI executor (:mod:`peppers.ppe.mpi`) knows streams and tiled
jobs, not runs. This module adds what needs the run: a setting read from
the run's HKV before the site file (:func:`run_setting`), the launch
command with the run's launcher (:func:`launch`), and a tiled global rule
opened from the rule set and the run's parameters and run on every rank
(:func:`run_global_mpi`, ``mpiexec -n N pep-ppe RUN --rule NAME``):

1. **Setup** (every rank, agreed collectively): load the rule set and the
   run's HKV, build the rule's operator with its current parameters, open
   its input images and ask the operator for its tiles. Every rank builds
   the same deterministic tile list.
2. **Work and gather**: :func:`peppers.ppe.mpi.tiled.run_tiled`.
3. **Commit** on rank 0: the gathered tiles are reconciled and written
   through :func:`peppers.drs.boundary.run_global` (the one operator-run
   layer, :mod:`peppers.ppe.runner`), so the outputs appear under
   ``images/`` atomically and only after every rank finished.

The result is identical to the thread executor's: the unwrapping operator's
``run`` computes the same tiles (its ``tiles``) in threads and finishes
them the same way.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable

from peppers.drs.boundary import run_global
from peppers.drs.resolve import make_operator
from peppers.drs.ruleset import RuleSet
from peppers.drs.state import RunState
from peppers.drs.streams import stored_path
from peppers.errors import MPIRunError
from peppers.hkv import RunDatabase
from peppers.io.source import open_source
from peppers.ppe.mpi import MPIStats, agree, launch_command, run_tiled, tiled_job
from peppers.ppe.mpi.tiled import Finisher, is_tiled
from peppers.ppe.runner import close_all
from peppers.ppe.site import site_setting


def run_setting(run_root: str | os.PathLike | None, key: str, default: Any = None) -> Any:
    """``key`` from the run's HKV (if ``run_root`` holds a run), else the site file, else default."""
    if run_root is not None and (Path(run_root) / ".peppers" / "run.yaml").is_file():
        value = RunDatabase.open(run_root).get(key, None)
        if value is not None:
            return value
    return site_setting(key, default)


def launch(run_root: str | os.PathLike, name: str, n: int, **options: Any) -> list[str]:
    """:func:`~peppers.ppe.mpi.launch_command` with the run's ``ppe.mpi.launcher``.

    Examples
    --------
    >>> launch("no-run-here", "stream-1", 2, launcher="srun")[:3]
    ['srun', '-n', '2']
    """
    if options.get("launcher") is None:
        options["launcher"] = run_setting(run_root, "ppe.mpi.launcher", None)
    return launch_command(run_root, name, n, **options)


def supports_mpi(op: Any) -> bool:
    """Whether global operator ``op`` runs tile by tile across ranks (a tiled unwrapper)."""
    return is_tiled(op)


def open_global_job(root: Path, rule_name: str) -> tuple:
    """Rule, rule set, run state, operator, sources and tiles of global rule ``rule_name``.

    Raises
    ------
    MPIRunError
        No such global rule, or its operator cannot be tiled.
    """
    db = RunDatabase.open(root)
    rules = RuleSet.for_run(db)
    rule = rules.rules.get(rule_name)
    if rule is None or rule.kind != "global":
        what = "no such rule" if rule is None else f"a {rule.kind} rule, not global"
        raise MPIRunError(f"{root}: rule {rule_name!r}: {what}")
    state = RunState(db)
    op = make_operator(rule, state)
    sources = {port: open_source(root / stored_path(rules, state, image))
               for port, image in rule.inputs.items()}
    try:
        return rule, rules, state, op, sources, tiled_job(op, sources)
    except BaseException:
        close_all(sources)
        raise


def run_global_mpi(run_root: str | Path, rule_name: str, *, comm: Any = None,
                   strategy: str = "dynamic", threads: int | None = None,
                   chunk: int | None = None, retries: int = 0,
                   echo: Callable[[str], None] | None = None) -> MPIStats:
    """Run global rule ``rule_name`` of a run across every rank of ``comm`` (collective).

    Parameters
    ----------
    run_root : path-like
        The run directory, shared by all ranks.
    rule_name : str
        A global rule whose operator :func:`supports_mpi`.
    comm : mpi4py communicator, optional
        Default ``MPI.COMM_WORLD``.
    strategy, threads, chunk, retries, echo
        As for :func:`peppers.ppe.mpi.tiled.run_tiled`.

    Returns
    -------
    MPIStats
        The same on every rank (``what`` is ``"rule"``).

    Raises
    ------
    MPIRunError
        On every rank: setup failed anywhere, a tile failed (names rank, host,
        operator and tile), or the reconciliation/commit on rank 0 failed.
    """
    from mpi4py import MPI

    comm = MPI.COMM_WORLD if comm is None else comm
    start = time.perf_counter()
    root = Path(run_root)
    rule, rules, state, op, sources, job = agree(
        comm, lambda: open_global_job(root, rule_name), f"opening global rule {rule_name!r}")

    def finish(results: list[Any]) -> None:
        run_global(rule, rules, state, operator=Finisher(op, job, results))

    try:
        return run_tiled(job, rule_name, finish, comm=comm, strategy=strategy,
                         threads=threads, chunk=chunk, retries=retries, echo=echo,
                         setup=time.perf_counter() - start)
    finally:
        close_all(sources)
