"""One stream's tile plan spread over the ranks of an MPI job (see :mod:`peppers.ppe.mpi`)."""

from __future__ import annotations

import logging
import os
import socket
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from peppers.errors import JournalError, MPIRunError, PeppersError
from peppers.io.raw import RawImage
from peppers.ppe.cache import parse_mem
from peppers.ppe.engine import run_stream
from peppers.ppe.executor import ThreadExecutor
from peppers.ppe.journal import TileJournal
from peppers.ppe.mpi.comm import Channel, Stopped, agree, node_threads, ranks_text
from peppers.ppe.mpi.share import share_work, stripe
from peppers.ppe.mpi.stats import MPIStats, RankStats
from peppers.ppe.stats import TileEvent
from peppers.ppe.streamspec import journal_path
from peppers.ppe.strategies import check_strategy
from peppers.ppe.targets import open_targets

log = logging.getLogger("peppers.ppe")


class _ShareJournal:
    """A rank's view of the journal: its tasks come from rank 0, and it never completes."""

    def __init__(self, journal: Any) -> None:
        self._journal = journal

    def done(self) -> set[int]:
        return set()

    def is_complete(self) -> bool:
        return False

    def mark_done(self, index: int) -> None:
        self._journal.mark_done(index)

    def sync(self) -> None:
        self._journal.sync()

    def mark_complete(self) -> None:
        raise JournalError("only rank 0 marks a stream complete, after every rank finished")


def _open_rank0(plan: Any, spec: Any, run_root: Path, images: dict, journal_file: Path,
                force: bool) -> tuple[Any, dict, list[int]]:
    """Rank 0: journal, resume-or-create the targets, and the tasks still to do."""
    journal = TileJournal(journal_file, signature=plan.signature(), n_tiles=len(plan.tasks),
                          writer="0", sync_each=False)
    if force:
        journal.reset()
    done = journal.done()
    sinks, resume = open_targets(
        {images[name].ref: (run_root / path, images[name].spec)
         for name, path in spec.targets.items()},
        journal, what=f"stream {spec.name!r}", hint="delete it or run with --force")
    done = done if resume else set()
    complete = resume and journal.is_complete()
    todo = [] if complete else [k for k in range(len(plan.tasks)) if k not in done]
    return journal, sinks, todo


def _open_other(plan: Any, spec: Any, run_root: Path, images: dict, journal_file: Path,
                rank: int) -> tuple[Any, dict]:
    """Ranks > 0: this rank's journal writer and the targets opened for writing."""
    journal = TileJournal(journal_file, signature=plan.signature(), n_tiles=len(plan.tasks),
                          writer=str(rank), sync_each=False)
    sinks = {images[name].ref: RawImage.open(run_root / path, "r+")
             for name, path in spec.targets.items()}
    return journal, sinks


def run_mpi(spec: Any, run_root: str | os.PathLike, *, comm: Any = None,
            strategy: str = "dynamic", threads: int | None = None,
            mem: int | str | None = None, chunk: int | None = None, retries: int = 0,
            force: bool = False, progress: Callable[[TileEvent], None] | None = None,
            echo: Callable[[str], None] | None = None, sync_every: float = 1.0) -> MPIStats:
    """Run one stream on every rank of ``comm`` (collective: call it on all ranks).

    Parameters
    ----------
    spec : StreamSpec
        The stream (the same on every rank).
    run_root : path-like
        The run directory, shared by all ranks.
    comm : mpi4py communicator, optional
        Default ``MPI.COMM_WORLD``.
    strategy : str
        ``static``, ``round-robin`` or ``dynamic`` (:mod:`peppers.ppe.strategies`).
    threads : int, optional
        Threads per rank; default this node's cores divided by its ranks.
    mem : int or str, optional
        Tile-cache budget *per rank*; default the spec's.
    chunk : int, optional
        Tasks per round-robin chunk, or the unit of dynamic chunk sizes
        (default: one stripe of tiles across the image).
    retries : int
        Tries a failed tile again this many times before the stream stops.
    force : bool
        Forget the journal: recompute every tile.
    progress : callable, optional
        Called on each rank with a :class:`TileEvent` per tile it finished.
    echo : callable, optional
        Rank 0's one-line announcement (default: the ``peppers.ppe`` logger).
    sync_every : float
        Seconds between flushes and journal appends on each rank.

    Returns
    -------
    MPIStats
        The same on every rank.

    Raises
    ------
    MPIRunError
        On every rank, if setup failed anywhere or any rank's task failed;
        the message names the rank(s), host and the operator and tile.
    """
    from mpi4py import MPI

    comm = MPI.COMM_WORLD if comm is None else comm
    if MPI.Query_thread() < MPI.THREAD_SERIALIZED:
        raise MPIRunError("MPI was initialised without thread support; the dispatcher "
                          "thread needs MPI_THREAD_SERIALIZED or better")
    rank, size = comm.Get_rank(), comm.Get_size()
    start = time.perf_counter()
    strategy = check_strategy(strategy)
    root = Path(run_root)
    journal_file = journal_path(root, spec.name)
    me = RankStats(rank, socket.gethostname(), 0)

    def build() -> tuple:
        p, images = spec.build_images(root)
        budget = parse_mem(mem if mem is not None else spec.mem)
        return p.plan(), images, budget

    plan, images, budget = agree(comm, build, f"building stream {spec.name!r}")
    signatures = comm.allgather(plan.signature())
    if len(set(signatures)) != 1:
        raise MPIRunError(f"stream {spec.name!r}: ranks built different plans (signatures "
                          f"{sorted(set(signatures))}); check that every rank sees the same "
                          "spec, sources and peppers version")
    me.threads = threads if threads is not None else node_threads(comm)
    if rank == 0:
        journal, sinks, todo = agree(comm, lambda: _open_rank0(
            plan, spec, root, images, journal_file, force), f"opening stream {spec.name!r}")
    else:
        agree(comm, lambda: None, f"opening stream {spec.name!r}")
        todo = None
    todo = comm.bcast(todo, root=0)
    if rank != 0:
        journal, sinks = agree(comm, lambda: _open_other(
            plan, spec, root, images, journal_file, rank), f"opening stream {spec.name!r}")
    else:
        agree(comm, lambda: None, f"opening stream {spec.name!r}")
    if chunk is None:
        chunk = stripe(plan)
    if rank == 0:
        (echo or log.info)(f"stream {spec.name!r}: {len(todo)} of {len(plan.tasks)} tiles to "
                           f"do on {size} rank(s) x {me.threads} thread(s), strategy "
                           f"{strategy}")
    me.setup = time.perf_counter() - start

    channel = Channel(comm)
    worker = _RankWorker(plan, sinks, _ShareJournal(journal), budget, me, channel, retries,
                         progress, sync_every)
    ranks = share_work(worker, channel, todo, strategy, chunk)
    journal.close()
    failed = [(f"{r.rank} on {r.host}", r.error) for r in ranks if r.outcome == "failed"]
    complete_error = None
    if rank == 0 and not failed and todo:
        try:
            with TileJournal(journal_file, signature=plan.signature(),
                             n_tiles=len(plan.tasks), writer="0") as final:
                final.mark_complete()
        except PeppersError as error:
            complete_error = str(error)
    complete_error = comm.bcast(complete_error, root=0)
    stats = MPIStats(spec.name, strategy, len(plan.tasks), len(todo),
                     time.perf_counter() - start, ranks)
    if failed:
        done = len(plan.tasks) - len(todo) + sum(r.tasks for r in ranks)
        raise MPIRunError(f"stream {spec.name!r} stopped: {ranks_text(failed)}; {done} of "
                          f"{len(plan.tasks)} tiles are done and journaled, run again to "
                          "resume")
    if complete_error:
        raise MPIRunError(f"stream {spec.name!r}: {complete_error}")
    return stats


class _RankWorker:
    """Runs chunks of tasks on this rank through the engine, watching for stop messages."""

    def __init__(self, plan: Any, sinks: dict, journal: _ShareJournal, mem: int,
                 me: RankStats, channel: Channel, retries: int,
                 progress: Callable[[TileEvent], None] | None, sync_every: float) -> None:
        self.plan, self.sinks, self.journal, self.mem = plan, sinks, journal, mem
        self.me, self.channel, self.retries = me, channel, retries
        self.user_progress, self.sync_every = progress, sync_every
        self.executor = ThreadExecutor(me.threads)

    def _progress(self, event: TileEvent) -> None:
        self.me.tasks += 1
        if self.user_progress is not None:
            self.user_progress(event)
        if self.channel.poll_stop():
            raise Stopped(self.channel.stop_reason)

    def run(self, tasks: Sequence[int]) -> bool:
        """Run ``tasks``; False if this rank stopped (failed, or told to stop)."""
        if self.me.outcome != "ok" or not tasks:
            return self.me.outcome == "ok"
        if self.channel.poll_stop():
            self.me.outcome = "stopped"
            return False
        try:
            stats = run_stream(self.plan, self.sinks, executor=self.executor, mem=self.mem,
                               journal=self.journal, retries=self.retries,
                               progress=self._progress, tasks=tasks,
                               sync_every=self.sync_every, echo=log.debug)
        except Stopped:
            self.me.outcome = "stopped"
            return False
        except Exception as error:  # noqa: BLE001 - reported to every rank, then raised
            self.me.outcome = "failed"
            self.me.error = f"{type(error).__name__}: {error}" if not isinstance(
                error, PeppersError) else str(error)
            self.channel.broadcast_stop(f"rank {self.me.rank}: {self.me.error}")
            log.error("rank %d: %s", self.me.rank, self.me.error)
            return False
        self.me.add(stats)
        return True

    def close(self) -> None:
        self.executor.shutdown()
