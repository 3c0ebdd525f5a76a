"""Global operators under MPI: ``mpiexec -n N pep-ppe RUN --rule NAME``.

A global operator needs whole images, so it cannot be cut into PPE tiles;
but a *tiled* global operator splits itself into independent pieces and
a final step that needs all of them. Tiled phase unwrapping is the case
(:mod:`peppers.operators.unwrap.tiled`): ``plan_tiles`` cuts overlapping
tiles, ``unwrap_tile`` is a pure function of a tile's arrays and the
parameters, and ``reconcile`` + ``stitch`` join the tiles. Under MPI:

1. **Setup** (every rank, agreed collectively): load the rule set and the
   run's HKV, build the rule's operator with its current parameters, open
   its input images and ask :func:`tiled_global` for its pieces. Every rank
   builds the same deterministic tile list.
2. **Work.** The request strategy of :mod:`peppers.ppe.strategies` deals
   the tile indices (``static``, ``round-robin``) or rank 0's dispatcher
   hands them out on request (``dynamic``, rank 0 computes too; the same
   dispatcher as for streams, :func:`peppers.ppe.mpi.share_work`). A rank
   reads only its tiles' outer regions and unwraps them in its own thread
   pool (hybrid). A failing tile (after ``retries``) stops every rank.
3. **Gather.** A barrier and the outcomes; if every rank succeeded the
   tile results are gathered on rank 0 (pickled arrays: each tile's
   unwrapped phase and component labels, ``8 bytes`` per outer pixel).
4. **Reconcile and commit** on rank 0: ``reconcile`` (maximum-weight
   spanning forest of the tile components), ``stitch``, hole filling, and
   the write through :func:`peppers.drs.boundary.run_global`, so the
   outputs appear under ``images/`` atomically (private folder, raw file
   then header renamed) and only after every rank finished. Rank 0's
   outcome is broadcast, so all ranks exit alike.

The result is identical to the thread executor's (``_Unwrap.run`` with
``unwrap_tiled``): the same tiles, the same pure per-tile solver, the same
reconciliation in the same tile order.

Which global rules run this way: those whose operator :func:`supports_mpi`
(a tiled unwrapper with ``tile_size > 0``); ``pep run make --mpi N`` runs
the others in-process as before.
"""

from __future__ import annotations

import socket
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol, Sequence

import numpy as np

from peppers.errors import MPIRunError, PeppersError
from peppers.ppe.mpi import (MPIStats, RankStats, _Channel, _node_threads, _ranks_text, agree,
                             share_work)
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


class UnwrapTiles:
    """Tiled unwrapping (``UnwrapMCF``/``WLS``/``BranchCut`` with ``tile_size > 0``) as tiles.

    Mirrors ``_Unwrap.unwrap`` of :mod:`peppers.operators.unwrap.operators`
    step by step (for ``Unwrap``, that of its ``solver_instance()``): the solver parameters, :func:`plan_tiles`, one
    :func:`unwrap_tile` per tile, :func:`reconcile`, :func:`stitch`, then
    :func:`fill_holes` and the row-block writes of ``_Unwrap.run``.

    Parameters
    ----------
    op : GlobalOperator
        The unwrapping operator, parameters set.
    sources : mapping
        ``interferogram`` and ``coherence`` image sources.
    """

    def __init__(self, op: Any, sources: Mapping[str, Any]) -> None:
        from peppers.operators.unwrap.tiled import plan_tiles

        self.label = op.label
        op = _solver_operator(op)
        self.op = op
        self.ifg, self.coh = sources["interferogram"], sources["coherence"]
        op.output_spec({"interferogram": self.ifg.spec, "coherence": self.coh.spec})
        self.shape = tuple(self.ifg.spec.shape)
        self.nodata = self.ifg.spec.nodata
        self.params = {name: getattr(op, name) for name in type(op).solver_params}
        self.params.update(threshold=op.threshold, min_component_size=op.min_component_size,
                           nodata=self.nodata)
        self.plans = plan_tiles(self.shape, (op.tile_size, op.tile_size), op.overlap)

    def __len__(self) -> int:
        return len(self.plans)

    def describe(self, index: int) -> str:
        return f"tile {index} (outer {self.plans[index].outer})"

    def compute(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Unwrap tile ``index`` from its outer region of the inputs."""
        from peppers.operators.unwrap.tiled import unwrap_tile

        outer = self.plans[index].outer
        return unwrap_tile(type(self.op).solver, self.ifg.read(outer), self.coh.read(outer),
                           self.params)

    def finish(self, results: list[Any], sinks: Mapping[str, Any]) -> None:
        """Reconcile, stitch, fill holes and write ``unwrapped`` and ``components``."""
        from peppers.operators.unwrap.fill import fill_holes
        from peppers.operators.unwrap.masks import wrapped_phase
        from peppers.operators.unwrap.tiled import reconcile, stitch
        from peppers.image import Region

        offsets, labels = reconcile(self.plans, results)
        unw, comps = stitch(self.shape, self.plans, results, offsets, labels)
        full = Region.full(self.shape)
        if self.op.fill_max_hole > 0:
            unw, comps = fill_holes(unw, comps, wrapped_phase(self.ifg.read(full), self.nodata),
                                    self.op.fill_max_hole)
        rows = max(1, (1 << 24) // max(1, full.width * 4))
        for r0 in range(0, full.height, rows):
            block = Region(r0, 0, min(rows, full.height - r0), full.width)
            sinks["unwrapped"].write(block, unw[block.slices])
            sinks["components"].write(block, comps[block.slices])


def supports_mpi(op: Any) -> bool:
    """Whether global operator ``op`` runs tile by tile across ranks (see :func:`tiled_global`)."""
    from peppers.operators.unwrap.operators import UnwrapBranchCut, UnwrapMCF, UnwrapWLS

    op = _solver_operator(op)
    return (isinstance(op, (UnwrapMCF, UnwrapWLS, UnwrapBranchCut))
            and int(getattr(op, "tile_size", 0)) > 0)


def _solver_operator(op: Any) -> Any:
    """The single-method unwrapper behind ``Unwrap`` (its ``solver_instance``), else ``op``."""
    instance = getattr(op, "solver_instance", None)
    return instance() if callable(instance) else op


def tiled_global(op: Any, sources: Mapping[str, Any]) -> TiledGlobal:
    """The tiles of global operator ``op`` on ``sources``.

    Raises
    ------
    MPIRunError
        If the operator cannot be split (names it and says what would).
    """
    if not supports_mpi(op):
        raise MPIRunError(f"global operator {op.label} ({type(op).__name__}) cannot run "
                          "across MPI ranks: only the tiled unwrapping operators with "
                          "tile_size > 0 can (set insar.unwrap.tile_size)")
    return UnwrapTiles(op, sources)


class _Finisher:
    """A stand-in operator for :func:`~peppers.drs.boundary.run_global` on rank 0."""

    def __init__(self, op: Any, job: TiledGlobal, results: list[Any]) -> None:
        self.op, self.job, self.results = op, job, results
        self.outputs = op.outputs
        self.output_spec = op.output_spec

    def run(self, sources: Mapping[str, Any], sinks: Mapping[str, Any]) -> None:
        self.job.finish(self.results, sinks)


class _TileWorker:
    """Computes chunks of tiles on this rank in a thread pool, watching for stop messages."""

    def __init__(self, job: TiledGlobal, me: RankStats, channel: _Channel, retries: int
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


def _open(root: Path, rule_name: str) -> tuple:
    """Rule, rule set, run state, operator, sources and tiles of global rule ``rule_name``."""
    from peppers.drs.resolve import make_operator
    from peppers.drs.ruleset import RuleSet
    from peppers.drs.state import RunState
    from peppers.drs.streams import stored_path
    from peppers.hkv import RunDatabase
    from peppers.io.source import open_source

    db = RunDatabase.open(root)
    rules = RuleSet.load(root, package=bool(db.get("drs.package_rules", True)))
    rule = rules.rules.get(rule_name)
    if rule is None or rule.kind != "global":
        what = "no such rule" if rule is None else f"a {rule.kind} rule, not global"
        raise MPIRunError(f"{root}: rule {rule_name!r}: {what}")
    state = RunState(db)
    op = make_operator(rule, state)
    sources = {port: open_source(root / stored_path(rules, state, image))
               for port, image in rule.inputs.items()}
    return rule, rules, state, op, sources, tiled_global(op, sources)


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
    strategy : str
        ``static``, ``round-robin`` or ``dynamic``.
    threads : int, optional
        Threads per rank (default: the node's cores divided by its ranks).
    chunk : int, optional
        Tiles per round-robin chunk / smallest dynamic chunk (default 1).
    retries : int
        Tries a failed tile again this many times.
    echo : callable, optional
        Rank 0's announcement line.

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

    from peppers.drs.boundary import run_global

    comm = MPI.COMM_WORLD if comm is None else comm
    rank, size = comm.Get_rank(), comm.Get_size()
    start = time.perf_counter()
    strategy = check_strategy(strategy)
    root = Path(run_root)
    me = RankStats(rank, socket.gethostname(), 0)
    rule, rules, state, op, sources, job = agree(
        comm, lambda: _open(root, rule_name), f"opening global rule {rule_name!r}")
    todo = list(range(len(job)))
    me.threads = threads if threads is not None else _node_threads(comm)
    chunk = 1 if chunk is None else chunk
    if rank == 0:
        (echo or (lambda line: None))(
            f"rule {rule_name!r}: {len(todo)} tiles of {job.label} on {size} rank(s) x "
            f"{me.threads} thread(s), strategy {strategy}")
    me.setup = time.perf_counter() - start
    channel = _Channel(comm)
    worker = _TileWorker(job, me, channel, retries)
    ranks = share_work(worker, channel, todo, strategy, chunk)
    failed = [(f"{r.rank} on {r.host}", r.error) for r in ranks if r.outcome == "failed"]
    if failed:
        _close(sources)
        raise MPIRunError(f"rule {rule_name!r} stopped: {_ranks_text(failed)}; nothing was "
                          "written, run again to retry")
    gathered = comm.gather(worker.results, root=0)
    error = None
    if rank == 0:
        finish = time.perf_counter()
        results: dict[int, Any] = {}
        for share in gathered:
            results.update(share)
        try:
            run_global(rule, rules, state,
                       operator=_Finisher(op, job, [results[i] for i in todo]))
        except PeppersError as exc:
            error = str(exc)
        me.finish = time.perf_counter() - finish
        ranks[0].finish = me.finish
    _close(sources)
    error = comm.bcast(error, root=0)
    ranks = comm.bcast(ranks, root=0)
    if error is not None:
        raise MPIRunError(f"rule {rule_name!r}: rank 0 could not reconcile and commit: {error}")
    return MPIStats(rule_name, strategy, len(todo), len(todo), time.perf_counter() - start,
                    ranks, what="rule")


def _close(sources: Mapping[str, Any]) -> None:
    for source in sources.values():
        close = getattr(source, "close", None)
        if close is not None:
            close()
