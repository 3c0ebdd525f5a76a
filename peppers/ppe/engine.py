"""The engine: run a stream's tasks through an executor, pulling tiles upstream.

Policy
------
The calling thread is the *driver*. It submits tasks (target tiles, in the
plan's row-major order) to the executor, never more than twice the number
of workers at once, so the tiles in flight are neighbours and their shared
upstream tiles stay cached. A worker runs one task as a *pull*: to compute a
tile of a node it asks, for each input port, for the upstream tiles covering
the region its operator requested, recursively, through that node's
:class:`~peppers.ppe.cache.TileCache` (hit, wait for another worker's
computation of the same tile, or compute), assembles the region from them
(a view when one tile covers it), fills what lies outside the image by the
operator's edge mode, and calls ``compute`` once. Stored sources are read
directly by region. Computed tiles are made read-only: operators must not
modify their inputs.

The driver collects finished tasks, calls the progress hook, and every
``sync_every`` seconds makes them durable: flush every sink (fdatasync),
*then* append the tasks to the journal, so a tile is never marked done
before its data is on disk. Near the end (a tenth of the tasks, at least
2 x workers, left to submit) a helper thread flushes the sinks once,
beside the driver and the workers, so the flush after the last task,
which nothing overlaps, writes only the last tiles (it journals nothing:
tasks are journaled after a flush that followed them). A journal is marked complete only after every
task succeeded and the sinks were flushed.

Threads: a worker holds the GIL only for bookkeeping. Operator kernels,
file I/O (:mod:`peppers.io.raw`) and edge filling
(:mod:`peppers.ppe._edge_kernels`) release it; an input covered by one tile
is a view of it. Two workers needing the same upstream tile do not queue
behind each other: the second computes the other tiles it needs first and
waits for the shared one last.

Failure: an exception inside an operator becomes an
:class:`~peppers.errors.OperatorError` naming the operator, its tile and
the input regions (the original is ``__cause__``). A failed task is retried
up to ``retries`` times; after that the driver starts no new task, lets the
tasks in flight finish (their tiles are journaled, so a rerun resumes past
them), and raises the first error. Nothing is marked complete.

Steering: a *control* (:class:`Control`, e.g. the run monitor's
:class:`peppers.rmi.control.RunControl`), passed to :func:`run_stream` or
installed for the whole process with :func:`steering` (so the scheduler and
the script layer, in whatever thread they run a stream, need not know of
it), gives each stream a :class:`Steer` that the driver asks before each
submission whether new tasks may start: *run*; *hold* (paused: tasks in
flight finish and are journaled, none start); or *stop* (abort: no new
task, the tasks in flight finish, the journal is synced and
:class:`~peppers.errors.RunAborted` is raised, so a rerun resumes). The
steer may change the thread count and the cache budgets between tasks
through the objects :meth:`Control.begin` receives.

Task states: *todo* (not submitted; skipped if the journal has it done),
*in flight*, *finished* (written, not yet durable), *done* (flushed and in
the journal), *failed* (retried or fatal).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import Any, Callable, Iterable, Iterator, Mapping, Protocol, Sequence

import numpy as np

from peppers.errors import OperatorError, PeppersError, RunAborted
from peppers.image import Region, TileGrid
from peppers.ppe.cache import MemoryMeter, TileCache
from peppers.ppe.edges import fill, fill_from, fill_value
from peppers.ppe.executor import Executor, ThreadExecutor
from peppers.ppe.graph import Ref
from peppers.ppe.plan import Plan, Request
from peppers.ppe.stats import CacheStats, RunStats, TileEvent

log = logging.getLogger("peppers.ppe")


class Sink(Protocol):
    """Where a target image goes: region writes (thread-safe for disjoint regions).

    A sink that buffers (a file) also has ``flush()``, which makes the writes
    so far durable; in-memory sinks need none.
    """

    def write(self, region: Region, array: np.ndarray) -> None: ...


class Journal(Protocol):
    """The per-tile completion journal (:class:`peppers.ppe.journal.TileJournal`)."""

    def done(self) -> set[int]: ...

    def mark_done(self, index: int) -> None: ...

    def sync(self) -> None: ...

    def mark_complete(self) -> None: ...

    def is_complete(self) -> bool: ...


class Observer(Protocol):
    """Watches a run (e.g. :class:`peppers.ppe.testing.RequestMonitor`)."""

    def start(self, plan: Plan) -> None: ...

    def computed(self, node: int, tile: int) -> None: ...


class Steer(Protocol):
    """Steers one stream between tasks (see "Steering" above); called from its driver thread."""

    def gate(self) -> str: ...

    def wait(self, timeout: float) -> None: ...

    def finished(self, event: TileEvent) -> None: ...

    def end(self, stats: RunStats | None) -> None: ...


class Control(Protocol):
    """Hands each stream that starts its :class:`Steer`."""

    def begin(self, plan: Plan, executor: Executor, caches: Mapping[int, TileCache],
              stats: RunStats, todo: Sequence[int]) -> Steer: ...


_STEERING: list[Control] = []


@contextlib.contextmanager
def steering(control: Control) -> Iterator[None]:
    """Make ``control`` steer every stream :func:`run_stream` runs in this process
    (in any thread) while the block runs; the innermost such block wins."""
    _STEERING.append(control)
    try:
        yield
    finally:
        _STEERING.remove(control)


def stop_requested() -> bool:
    """Whether a control installed by :func:`steering` has been told to stop.

    The *stop switch* of work outside the tile loop (a command rule, a
    global operator before its commit): a control whose ``mode`` is
    ``"stop"`` (:class:`peppers.rmi.control.RunControl` after an abort, a
    SIGTERM or a SIGINT) stops it.
    """
    return any(getattr(control, "mode", "run") == "stop" for control in list(_STEERING))


def check_stop(what: str) -> None:
    """Raise :class:`~peppers.errors.RunAborted` naming ``what`` if :func:`stop_requested`."""
    if stop_requested():
        raise RunAborted(f"{what}: stopped before its commit (nothing of it is kept); "
                         "'pep run make' runs it again")


def assemble(region: Region, grid: TileGrid, tiles: Sequence[tuple[int, np.ndarray]],
             dtype: np.dtype) -> np.ndarray:
    """The pixels of ``region`` from the covering tiles ``(number, array)`` of ``grid``.

    A view of the tile when one tile contains the region; a new array otherwise.
    """
    if len(tiles) == 1:
        where = grid.tile(tiles[0][0])
        if where.contains(region):
            return tiles[0][1][region.relative_to(where)]
    out = np.empty(region.shape, dtype)
    for index, array in tiles:
        where = grid.tile(index)
        part = where.intersection(region)
        out[part.relative_to(region)] = array[part.relative_to(where)]
    return out


class _Puller:
    """Computes tiles by pulling them upstream through the caches (thread-safe)."""

    def __init__(self, plan: Plan, sinks: Mapping[Ref, Sink], budgets: Mapping[int, int],
                 tasks: Sequence[int], stats: RunStats, observers: Sequence[Observer]) -> None:
        self.plan = plan
        self.sinks = sinks
        self.nodes = plan.graph.nodes
        self.stats = stats
        self.observers = observers
        self.meter = MemoryMeter()
        refs = plan.refcounts(tasks)
        self.caches = {n: TileCache(plan.node_name(n), budgets.get(n, 0), refs[n], self.meter,
                                    on_evict=lambda i, n=n: self._rearm(n, i))
                       for n in plan.grids}

    def _rearm(self, node: int, tile: int) -> None:
        """A tile with reads to come was dropped: its recomputation reads its inputs again.

        Inputs no longer held will be recomputed too, so their inputs are
        re-armed in turn.
        """
        for req in self.plan.requests(node, tile):
            cache = self.caches.get(req.ref.node)
            if cache is not None:
                for j in req.tiles:
                    if not cache.rearm(j):
                        self._rearm(req.ref.node, j)

    def task(self, k: int) -> tuple[int, float, dict[str, float]]:
        """Compute task ``k`` and return it with its seconds and per-node seconds."""
        node, tile = self.plan.tasks[k]
        start = time.perf_counter()
        timings: dict[str, float] = {}
        value = self.tile(node, tile, timings)
        region = self.plan.tile(node, tile)
        for port in self.plan.target_ports[node]:
            self.sinks[Ref(node, port)].write(region, value[port])
        self.caches[node].release(tile)
        return k, time.perf_counter() - start, timings

    def tile(self, node: int, index: int, timings: dict[str, float]) -> dict[str, np.ndarray]:
        return self.caches[node].get(index, lambda: self._compute(node, index, timings))

    def _input(self, req: Request, mode: str, timings: dict[str, float]) -> np.ndarray:
        """The array of one input request: read or assembled, outside pixels filled."""
        spec = self.plan.graph.spec(req.ref)
        up = req.ref.node
        value = fill_value(mode, spec)
        if req.source.is_empty:
            return fill(np.empty((0, 0), spec.dtype), req.source, req.region, spec.shape,
                        mode, value)
        if up not in self.caches:
            return fill(self.nodes[up].source.read(req.source), req.source, req.region,
                        spec.shape, mode, value)
        # tiles another worker is computing come last: compute the others meanwhile
        cache = self.caches[up]
        order = sorted(req.tiles, key=cache.busy) if len(req.tiles) > 1 else req.tiles
        grid = self.plan.grids[up]
        parts = [(j, self.tile(up, j, timings)[req.ref.port]) for j in order]
        if req.region == req.source:  # inside the image: a view, or one copy
            data = assemble(req.source, grid, parts, spec.dtype)
        else:  # at an edge: one pass from the tiles, filling
            data = fill_from([(grid.tile(j), a) for j, a in parts], req.region, spec.shape,
                             mode, value, spec.dtype)
        for j in req.tiles:
            cache.release(j)
        return data

    def _compute(self, node: int, index: int, timings: dict[str, float]) -> dict[str, np.ndarray]:
        op_node = self.nodes[node]
        op = op_node.op
        mode = type(op).edge_mode
        region = self.plan.tile(node, index)
        requests = self.plan.requests(node, index)
        inputs = {req.port: self._input(req, mode, timings) for req in requests}
        start = time.perf_counter()
        try:
            out = op.compute(inputs, region)
        except Exception as error:
            asked = ", ".join(f"{r.port}={_fmt(r.region)}" for r in requests)
            raise OperatorError(
                f"operator {op_node.name!r} ({type(op).__name__}) failed on its tile "
                f"{index} {_fmt(region)} with input regions {asked}: "
                f"{type(error).__name__}: {error}") from error
        seconds = time.perf_counter() - start
        out = self._check(op_node, index, region, out)
        timings[op_node.name] = timings.get(op_node.name, 0.0) + seconds
        self.stats.add_compute(op_node.name, seconds)
        for observer in self.observers:
            observer.computed(node, index)
        return out

    @staticmethod
    def _check(op_node: Any, index: int, region: Region, out: Any) -> dict[str, np.ndarray]:
        """Validate a compute result: every port, the tile's shape, a castable dtype."""
        where = f"operator {op_node.name!r} on its tile {index} {_fmt(region)}"
        if not isinstance(out, Mapping) or set(out) != set(op_node.specs):
            got = sorted(out) if isinstance(out, Mapping) else type(out).__name__
            raise OperatorError(f"{where}: compute returned {got}, expected a dict with "
                                f"ports {sorted(op_node.specs)}")
        checked = {}
        for port, spec in op_node.specs.items():
            array = np.asarray(out[port])
            if array.shape != region.shape:
                raise OperatorError(f"{where}: port {port!r} has shape {array.shape}, "
                                    f"expected {region.shape}")
            if array.dtype != spec.dtype:
                if not np.can_cast(array.dtype, spec.dtype, "same_kind"):
                    raise OperatorError(f"{where}: port {port!r} has dtype {array.dtype}, "
                                        f"expected {spec.dtype}")
                array = array.astype(spec.dtype)
            array.flags.writeable = False
            checked[port] = array
        return checked


def _fmt(region: Region) -> str:
    return f"(row={region.row}, col={region.col}, {region.height}x{region.width})"


def run_stream(plan: Plan, sinks: Mapping[Ref, Sink], *, executor: Executor | None = None,
               threads: int | None = None, mem: int | str | None = None,
               journal: Journal | None = None, retries: int = 0,
               progress: Callable[[TileEvent], None] | None = None,
               observers: Sequence[Observer] = (), tasks: Iterable[int] | None = None,
               sync_every: float = 1.0,
               echo: Callable[[str], None] | None = None,
               control: Control | None = None) -> RunStats:
    """Run the tasks of ``plan``, writing every target into its sink.

    Parameters
    ----------
    plan : Plan
        The stream's tile plan.
    sinks : mapping
        Target :class:`~peppers.ppe.graph.Ref` -> sink (``write(region,
        array)``, ``flush()``), one per target of the plan.
    executor : Executor, optional
        Where tasks run; default a :class:`ThreadExecutor` of ``threads``
        (default all cores), shut down at the end.
    threads : int, optional
        Threads of the default executor.
    mem : int or str, optional
        The memory budget of the stream's tile caches (default ``512M``).
    journal : Journal, optional
        Completion journal: tasks it has done are skipped; finished tasks
        are appended after their sinks are flushed; marked complete at the
        end of a full run.
    retries : int
        How many times a failed task is tried again before the stream stops.
    progress : callable, optional
        Called with a :class:`TileEvent` per finished task (driver thread).
    observers : sequence, optional
        :class:`Observer` objects told of the plan and of every computation.
    tasks : iterable of int, optional
        Task indices to run (default all). A partial run (an MPI rank's
        share) never marks the journal complete.
    sync_every : float
        Seconds between flushes of the sinks and journal appends.
    echo : callable, optional
        Receives the estimate line before the stream starts (default: the
        ``peppers.ppe`` logger at INFO level).
    control : Control, optional
        Pauses, resumes, aborts and retunes the stream between tasks
        (default: the one installed by :func:`steering`, if any).

    Returns
    -------
    RunStats

    Raises
    ------
    OperatorError
        An operator failed on a tile (after ``retries``), or a task failed
        otherwise; the message names the operator or node and the tile.
    RunAborted
        The control aborted the stream (finished tiles are journaled).
    ValueError
        If a target has no sink or ``retries`` is negative.
    """
    missing = [plan.node_name(t.node) + "." + t.port for t in plan.targets if t not in sinks]
    if missing:
        raise ValueError(f"stream: no sink for target(s) {missing}")
    if not isinstance(retries, int) or retries < 0:
        raise ValueError(f"retries must be an integer >= 0, got {retries!r}")
    own = executor is None
    if control is None and _STEERING:
        control = _STEERING[-1]
    steer: Steer | None = None
    executor = ThreadExecutor(threads) if executor is None else executor
    stats = RunStats(total=len(plan.tasks), threads=executor.n_workers)
    start = time.perf_counter()
    try:
        chosen = list(range(len(plan.tasks)) if tasks is None else tasks)
        done = set() if journal is None else journal.done()
        complete = journal is not None and journal.is_complete()
        todo = [] if complete else [k for k in chosen if k not in done]
        stats.skipped = len(chosen) - len(todo)
        estimate = plan.estimate(mem, executor.n_workers, todo)
        todo = plan.spread(todo, executor.n_workers)  # as the estimate replayed them
        (echo or log.info)(f"stream: {estimate}")
        for observer in observers:
            observer.start(plan)
        puller = _Puller(plan, sinks, estimate.budgets, todo, stats, observers)
        if control is not None:
            steer = control.begin(plan, executor, puller.caches, stats, todo)
        _drive(executor, puller, todo, stats, journal, list(sinks.values()), retries,
               progress, sync_every, start, steer)
        if journal is not None and tasks is None and not complete:
            journal.mark_complete()
    except BaseException:
        if steer is not None:
            steer.end(None)
        raise
    finally:
        if own:
            executor.shutdown()
    stats.wall_seconds = time.perf_counter() - start
    stats.caches = {c.name: CacheStats.of(c) for c in puller.caches.values()
                    if c.budget or c.misses or c.shared}
    stats.peak_cache_bytes = puller.meter.peak
    if steer is not None:
        steer.end(stats)
    return stats


def _drive(executor: Executor, puller: _Puller, todo: Sequence[int], stats: RunStats,
           journal: Journal | None, sinks: Sequence[Sink], retries: int,
           progress: Callable[[TileEvent], None] | None, sync_every: float,
           start: float, control: Steer | None = None) -> None:
    """The driver loop: bounded submission, retries, progress, durable journaling, steering."""
    plan = puller.plan
    queue = deque(todo)
    pending: dict[Future, int] = {}
    attempts: dict[int, int] = {}
    finished: list[int] = []
    error: PeppersError | None = None
    aborted = 0
    early: threading.Thread | None = None
    tail = max(2 * executor.n_workers, len(todo) // 10)
    last_sync = time.monotonic()
    try:
        while queue or pending:
            mode = "run" if control is None else control.gate()
            if mode == "stop" and queue:
                aborted = len(queue)
                queue.clear()
            while (mode == "run" and error is None and queue
                   and len(pending) < 2 * executor.n_workers):
                k = queue.popleft()
                pending[executor.submit(puller.task, k)] = k
            if (early is None and error is None and len(queue) <= tail
                    and any(hasattr(sink, "flush") for sink in sinks)):
                # near the end: flush what is written, beside the driver, so the
                # final flush (nothing left to overlap) has only the last tiles
                early = threading.Thread(target=_flush_quietly, args=(sinks,),
                                         name="ppe-flush", daemon=True)
                early.start()
            if not pending:
                if mode == "hold" and queue and error is None:
                    _sync(sinks, journal, finished)
                    control.wait(0.25)
                    continue
                break
            # wake for the control, and to journal finished tasks within sync_every
            # even while the tasks still in flight take long
            timeout = 0.25 if control is not None else (
                sync_every if journal is not None and finished else None)
            ready, _ = wait(pending, timeout=timeout, return_when=FIRST_COMPLETED)
            for future in ready:
                k = pending.pop(future)
                failure = future.exception()
                if failure is not None:
                    if error is None and attempts.get(k, 0) < retries:
                        attempts[k] = attempts.get(k, 0) + 1
                        stats.retries += 1
                        log.warning("stream: retrying task %d (attempt %d of %d): %s",
                                    k, attempts[k] + 1, retries + 1, failure)
                        queue.appendleft(k)
                    elif error is None:
                        error = _task_error(plan, k, failure)
                    continue
                _, seconds, timings = future.result()
                stats.run += 1
                finished.append(k)
                if progress is not None or control is not None:
                    node, tile = plan.tasks[k]
                    event = TileEvent(k, plan.node_name(node), tile, plan.tile(node, tile),
                                      seconds, timings, stats.run + stats.skipped,
                                      stats.total, time.perf_counter() - start)
                    if progress is not None:
                        progress(event)
                    if control is not None:
                        control.finished(event)
            if journal is not None and finished and time.monotonic() - last_sync >= sync_every:
                _sync(sinks, journal, finished)
                last_sync = time.monotonic()
    except BaseException:
        for future in pending:
            future.cancel()
        wait(pending)
        raise
    finally:
        if early is not None:
            early.join()
        _sync(sinks, journal, finished)
    if error is not None:
        raise error
    if aborted:
        raise RunAborted(f"stream aborted by its controller with {aborted} of {stats.total} "
                         "tasks not started; finished tiles are journaled and a rerun resumes")


def _flush_quietly(sinks: Sequence[Sink]) -> None:
    """Flush the sinks ahead of the final flush; an error is left for that one to raise."""
    for sink in sinks:
        flush = getattr(sink, "flush", None)
        if flush is not None:
            with contextlib.suppress(OSError):
                flush()


def _sync(sinks: Sequence[Sink], journal: Journal | None, finished: list[int]) -> None:
    """Flush the sinks, then journal the finished tasks (the durability order)."""
    for sink in sinks:
        flush = getattr(sink, "flush", None)
        if flush is not None:
            flush()
    if journal is not None and finished:
        for k in finished:
            journal.mark_done(k)
        journal.sync()
    finished.clear()


def _task_error(plan: Plan, k: int, failure: BaseException) -> PeppersError:
    """The error a failed task stops the stream with."""
    if isinstance(failure, PeppersError):
        return failure
    node, tile = plan.tasks[k]
    error = OperatorError(f"stream: task {k} (tile {tile} {_fmt(plan.tile(node, tile))} of "
                          f"{plan.node_name(node)!r}) failed: {type(failure).__name__}: "
                          f"{failure}")
    error.__cause__ = failure
    return error
