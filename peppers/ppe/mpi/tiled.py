"""Tiled global operators under MPI: independent tiles across the ranks, one final step.

A global operator needs whole images, so it cannot be cut into PPE tiles;
but a *tiled* global operator splits itself into independent pieces and a
final step that needs all of them. It says so with a true ``tiled``
attribute and ``tiles(sources)``, which answers a :class:`TiledGlobal`
(tiled phase unwrapping does, :mod:`peppers.operators.unwrap.tiled`; its
thread path runs the same tiles). :func:`run_tiled` runs one on every rank:

1. **Work.** The request strategy of :mod:`peppers.ppe.strategies` deals
   the tile indices (``static``, ``round-robin``) or rank 0's dispatcher
   hands them out on request (``dynamic``, rank 0 computes too; the same
   dispatcher as for streams, :func:`peppers.ppe.mpi.share.share_work`). A
   rank reads only its tiles' regions and computes them in its own thread
   pool (hybrid). A failing tile (after ``retries``) stops every rank.
2. **Gather.** A barrier and the outcomes; if every rank succeeded the
   tile results are gathered on rank 0 (pickled).
3. **Finish** on rank 0: the caller's ``finish(results)`` -- the scheduler
   commits the outputs through :func:`peppers.ppe.runner.run_global`
   (:mod:`peppers.drs.mpi`). Rank 0's outcome is broadcast, so all ranks
   exit alike.

The engine knows neither the run database nor the rules: opening the job
(which rule, which operator, which images) is the scheduler's.
"""

from __future__ import annotations

import socket
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Any, Callable, Mapping, Protocol, Sequence

from peppers.errors import MPIRunError, PeppersError
from peppers.ppe.mpi.comm import Channel, node_threads, ranks_text
from peppers.ppe.mpi.share import share_work
from peppers.ppe.mpi.stats import MPIStats, RankStats
from peppers.ppe.strategies import check_strategy


class TiledGlobal(Protocol):
    """A global operator cut into independent tiles and a final step.

    ``compute(i)`` must be a pure function of the inputs and parameters (the
    same on every rank) and return something picklable; ``finish`` gets
    every tile's result in tile order and writes the outputs.
    """

    label: str

    def __len__(self) -> int: ...

    def describe(self, index: int) -> str: ...

    def compute(self, index: int) -> Any: ...

    def finish(self, results: list[Any], sinks: Mapping[str, Any]) -> None: ...


def is_tiled(op: Any) -> bool:
    """Whether global operator ``op`` splits into tiles for MPI ranks (``op.tiled``)."""
    return bool(getattr(op, "tiled", False)) and callable(getattr(op, "tiles", None))


def tiled_job(op: Any, sources: Mapping[str, Any]) -> TiledGlobal:
    """The tiles of global operator ``op`` on ``sources``.

    Raises
    ------
    MPIRunError
        If the operator cannot be split (names it and says what would).
    """
    if not is_tiled(op):
        raise MPIRunError(f"global operator {op.label} ({type(op).__name__}) cannot run "
                          "across MPI ranks: only tiled global operators can (the "
                          "unwrapping operators with tile_size > 0; set "
                          "insar.unwrap.tile_size)")
    return op.tiles(sources)


class Finisher:
    """A stand-in global operator that writes gathered tile results (rank 0's commit)."""

    def __init__(self, op: Any, job: TiledGlobal, results: list[Any]) -> None:
        self.op, self.job, self.results = op, job, results
        self.kind, self.label = op.kind, op.label
        self.outputs = op.outputs
        self.output_spec = op.output_spec

    def run(self, sources: Mapping[str, Any], sinks: Mapping[str, Any]) -> None:
        self.job.finish(self.results, sinks)


class TileWorker:
    """Computes chunks of tiles on this rank in a thread pool, watching for stop messages."""

    def __init__(self, job: TiledGlobal, me: RankStats, channel: Channel, retries: int
                 ) -> None:
        self.job, self.me, self.channel, self.retries = job, me, channel, retries
        self.results: dict[int, Any] = {}
        self.pool = ThreadPoolExecutor(max(1, me.threads), thread_name_prefix="mpi-tile")

    def _one(self, index: int) -> tuple[Any, float]:
        for attempt in range(self.retries + 1):
            start = time.perf_counter()
            try:
                return self.job.compute(index), time.perf_counter() - start
            except Exception as error:
                if attempt == self.retries:
                    what = str(error) if isinstance(error, PeppersError) else \
                        f"{type(error).__name__}: {error}"
                    raise MPIRunError(f"operator {self.job.label} failed on "
                                      f"{self.job.describe(index)}: {what}") from error
        raise AssertionError("unreachable")

    def run(self, tasks: Sequence[int]) -> bool:
        """Compute ``tasks``; False if this rank stopped (failed, or told to stop)."""
        if self.me.outcome != "ok" or not tasks:
            return self.me.outcome == "ok"
        futures = {self.pool.submit(self._one, i): i for i in tasks}
        try:
            while futures:
                if self.channel.poll_stop():
                    self.me.outcome = "stopped"
                    return False
                done, _ = wait(futures, timeout=0.05, return_when=FIRST_COMPLETED)
                for future in done:
                    index = futures.pop(future)
                    result, seconds = future.result()
                    self.results[index] = result
                    self.me.tasks += 1
                    self.me.computations[self.job.label] = \
                        self.me.computations.get(self.job.label, 0) + 1
                    self.me.compute_seconds[self.job.label] = \
                        self.me.compute_seconds.get(self.job.label, 0.0) + seconds
        except MPIRunError as error:
            self.me.outcome, self.me.error = "failed", str(error)
            self.channel.broadcast_stop(f"rank {self.me.rank}: {error}")
            return False
        finally:
            for future in futures:
                future.cancel()
            wait(futures)
        self.me.chunks += 1
        return True

    def close(self) -> None:
        self.pool.shutdown(wait=True)


def run_tiled(job: TiledGlobal, name: str, finish: Callable[[list[Any]], None], *,
              comm: Any = None, strategy: str = "dynamic", threads: int | None = None,
              chunk: int | None = None, retries: int = 0,
              echo: Callable[[str], None] | None = None, setup: float = 0.0) -> MPIStats:
    """Compute every tile of ``job`` across the ranks of ``comm``; rank 0 calls ``finish``.

    Collective: call it on every rank with the same job.

    Parameters
    ----------
    job : TiledGlobal
        The tiles (the same, deterministic list on every rank).
    name : str
        What runs (the rule name), for messages and statistics.
    finish : callable
        ``finish(results)`` on rank 0 with every tile's result in tile order;
        its :class:`~peppers.errors.PeppersError` is reported on every rank.
    comm : mpi4py communicator, optional
        Default ``MPI.COMM_WORLD``.
    strategy, threads, chunk, retries
        As for :func:`peppers.ppe.mpi.stream.run_mpi` (``chunk`` default 1).
    echo : callable, optional
        Rank 0's announcement line.
    setup : float
        Seconds the caller spent opening the job (counted in the statistics).

    Returns
    -------
    MPIStats
        The same on every rank (``what`` is ``"rule"``).

    Raises
    ------
    MPIRunError
        On every rank: a tile failed (names rank, host, operator and tile),
        or ``finish`` failed on rank 0.
    """
    from mpi4py import MPI

    comm = MPI.COMM_WORLD if comm is None else comm
    rank, size = comm.Get_rank(), comm.Get_size()
    start = time.perf_counter() - setup
    strategy = check_strategy(strategy)
    me = RankStats(rank, socket.gethostname(), 0)
    todo = list(range(len(job)))
    me.threads = threads if threads is not None else node_threads(comm)
    chunk = 1 if chunk is None else chunk
    if rank == 0:
        (echo or (lambda line: None))(
            f"rule {name!r}: {len(todo)} tiles of {job.label} on {size} rank(s) x "
            f"{me.threads} thread(s), strategy {strategy}")
    me.setup = time.perf_counter() - start
    channel = Channel(comm)
    worker = TileWorker(job, me, channel, retries)
    ranks = share_work(worker, channel, todo, strategy, chunk)
    failed = [(f"{r.rank} on {r.host}", r.error) for r in ranks if r.outcome == "failed"]
    if failed:
        raise MPIRunError(f"rule {name!r} stopped: {ranks_text(failed)}; nothing was "
                          "written, run again to retry")
    gathered = comm.gather(worker.results, root=0)
    error = None
    if rank == 0:
        begin = time.perf_counter()
        results: dict[int, Any] = {}
        for share in gathered:
            results.update(share)
        try:
            finish([results[i] for i in todo])
        except PeppersError as exc:
            error = str(exc)
        me.finish = time.perf_counter() - begin
        ranks[0].finish = me.finish
    error = comm.bcast(error, root=0)
    ranks = comm.bcast(ranks, root=0)
    if error is not None:
        raise MPIRunError(f"rule {name!r}: rank 0 could not reconcile and commit: {error}")
    return MPIStats(name, strategy, len(todo), len(todo), time.perf_counter() - start,
                    ranks, what="rule")
