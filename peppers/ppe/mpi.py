"""The MPI executor: one stream's tile plan spread over the ranks of an MPI job.

``mpiexec -n N pep-ppe RUN --stream NAME`` starts N copies; each loads the
same :class:`~peppers.ppe.streamspec.StreamSpec`, rebuilds the same
deterministic :class:`~peppers.ppe.plan.Plan` and runs its share of the
tasks with the ordinary engine (:func:`~peppers.ppe.engine.run_stream`, a
thread pool per rank: *hybrid* MPI x threads). No pixels travel through
MPI: each rank reads what its tiles need from the shared run directory and
writes its own tiles into the shared raw images (positional writes,
disjoint byte ranges), exactly as threads do on one machine. Only task
indices, a stop signal and the final statistics are messages.

Phases (every rank)
-------------------
1. **Setup.** Build the stream and its plan; the ranks agree that every
   one built it and that the plan signatures match (a collective check, so
   a bad spec is one error, never a hang).
2. **Open.** Rank 0 opens the journal (``RUN/.peppers/streams/NAME.journal``,
   writer ``"0"``), decides resume or fresh start (as the thread executor
   does), creates or reopens the target images and broadcasts the tasks
   still to do. Then every other rank opens the images for writing and its
   own journal writer file (its rank number).
3. **Work.** The request strategy (:mod:`peppers.ppe.strategies`) gives
   each rank its tasks: fixed shares (``static``, ``round-robin``) or
   chunks asked of rank 0's dispatcher thread (``dynamic``; rank 0 computes
   too). Each finished tile is flushed, then journaled, by its own rank.
4. **Finish.** A barrier; the outcomes are gathered; only when every rank
   succeeded does rank 0 check the union of the journal and mark it
   complete. An output is complete only after every rank has finished.

Failure: a rank whose task raises (after ``retries``) sends a *stop*
message to every other rank; they stop starting tiles, journal the ones
they finished, and all ranks raise :class:`~peppers.errors.MPIRunError`
naming the failed rank, its host and the operator and tile. Running again
resumes from the journal.

Waiting never spins: MPICH's blocking calls busy-poll a core, which on an
oversubscribed node would steal it from ranks still computing, so every
wait here is a non-blocking test with a short, growing sleep.

Launching: :func:`launch_command` builds the command the scheduler runs
(``pep run make --mpi N``); the launcher (``mpiexec``, ``mpirun``, ``srun``
or a template) comes from HKV ``ppe.mpi.launcher``, else the site file
(``$PEPPERS_SITE`` or ``~/.config/peppers/site.yaml``), else ``mpiexec``.
"""

from __future__ import annotations

import logging
import os
import shlex
import socket
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from peppers.errors import ImageMismatchError, JournalError, MPIRunError, PeppersError
from peppers.ppe.stats import NodeStats, RunStats, TileEvent
from peppers.ppe.strategies import ChunkQueue, assign, check_strategy

log = logging.getLogger("peppers.ppe")

DEFAULT_LAUNCHER = "mpiexec"
SITE_ENV = "PEPPERS_SITE"
TAG_REQUEST, TAG_WORK, TAG_STOP = 71, 72, 73
_POLL_MIN, _POLL_MAX = 5e-5, 1e-3


# -- launching ----------------------------------------------------------------------
def site_config_path() -> Path:
    """The site configuration file: ``$PEPPERS_SITE``, else ``~/.config/peppers/site.yaml``."""
    env = os.environ.get(SITE_ENV)
    return Path(env) if env else Path.home() / ".config" / "peppers" / "site.yaml"


def site_setting(key: str, default: Any = None) -> Any:
    """A dotted key of the site file (flat ``ppe.mpi.launcher:`` or nested mappings).

    Raises
    ------
    HKVError
        If the site file exists but is not a YAML mapping (names the file).
    """
    import yaml

    from peppers.errors import HKVError

    path = site_config_path()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return default
    except (OSError, yaml.YAMLError) as error:
        raise HKVError(f"{path}: cannot read the site configuration: {error}") from None
    if data is None:
        return default
    if not isinstance(data, dict):
        raise HKVError(f"{path}: the site configuration must be a mapping, got "
                       f"{type(data).__name__}")
    if key in data:
        return data[key]
    node: Any = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def run_setting(run_root: str | os.PathLike | None, key: str, default: Any = None) -> Any:
    """``key`` from the run's HKV (if ``run_root`` holds a run), else the site file, else default."""
    if run_root is not None and (Path(run_root) / ".peppers" / "run.yaml").is_file():
        from peppers.hkv import RunDatabase

        value = RunDatabase.open(run_root).get(key, None)
        if value is not None:
            return value
    return site_setting(key, default)


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
        (:mod:`peppers.ppe.mpi_global`) instead of ``--stream NAME``.
    launcher : str, optional
        The launcher: a command (``mpiexec``, ``mpirun``, ``srun``, with
        options, e.g. ``"srun --mpi=pmix"``), to which ``-n N`` is appended,
        or a template holding ``{n}`` (``"mpirun -np {n} --oversubscribe"``).
        Default: HKV ``ppe.mpi.launcher``, else the site file's, else
        ``mpiexec``. A bare ``mpiexec``/``mpirun`` is taken from beside this
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
    template = launcher if launcher is not None else run_setting(
        run_root, "ppe.mpi.launcher", DEFAULT_LAUNCHER)
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


# -- statistics -----------------------------------------------------------------------
@dataclass
class RankStats:
    """What one rank did. Seconds are wall time on that rank.

    ``setup``: build, open and agree; ``work``: computing its tiles;
    ``request``: waiting for the dispatcher's answers (dynamic); ``idle``:
    waiting at the final barrier for slower ranks (load imbalance);
    ``finish``: rank 0's reconciliation and commit of a global rule.
    """

    rank: int
    host: str
    threads: int
    tasks: int = 0
    chunks: int = 0
    computations: dict[str, int] = field(default_factory=dict)
    compute_seconds: dict[str, float] = field(default_factory=dict)
    setup: float = 0.0
    work: float = 0.0
    request: float = 0.0
    idle: float = 0.0
    finish: float = 0.0
    outcome: str = "ok"
    error: str = ""

    def add(self, stats: RunStats) -> None:
        """Count the operator computations of one finished chunk (tiles count as they finish)."""
        self.chunks += 1
        for name, node in stats.nodes.items():
            self.computations[name] = self.computations.get(name, 0) + node.tiles
            self.compute_seconds[name] = self.compute_seconds.get(name, 0.0) + node.seconds


@dataclass
class MPIStats:
    """A whole MPI run: the merged :class:`RunStats` and every rank's :class:`RankStats`.

    ``what`` is ``"stream"`` (a stream of tiles) or ``"rule"`` (a tiled
    global rule, :mod:`peppers.ppe.mpi_global`).
    """

    stream: str
    strategy: str
    total: int
    todo: int
    wall_seconds: float
    ranks: list[RankStats]
    what: str = "stream"

    def run_stats(self) -> RunStats:
        """The merged engine statistics (tiles and compute seconds summed over ranks)."""
        stats = RunStats(total=self.total, run=sum(r.tasks for r in self.ranks),
                         skipped=self.total - self.todo,
                         threads=sum(r.threads for r in self.ranks),
                         wall_seconds=self.wall_seconds)
        for r in self.ranks:
            for name, tiles in r.computations.items():
                node = stats.nodes.setdefault(name, NodeStats())
                node.tiles += tiles
                node.seconds += r.compute_seconds.get(name, 0.0)
        return stats

    def to_dict(self) -> dict[str, Any]:
        return {"what": self.what, "stream": self.stream, "strategy": self.strategy,
                "total": self.total, "todo": self.todo, "wall_seconds": self.wall_seconds,
                "ranks": [asdict(r) for r in self.ranks]}

    def summary(self) -> str:
        """A table: one line per rank, then the totals."""
        lines = [(f"{self.what} {self.stream!r}: {self.todo} of {self.total} tiles on "
                  f"{len(self.ranks)} rank(s), strategy {self.strategy}, "
                  f"{self.wall_seconds:.2f} s"),
                 ("  rank host             thr tiles chunks  setup s   work s  request s"
                  "  idle s  computations")]
        for r in self.ranks:
            lines.append(f"  {r.rank:4d} {r.host[:16]:<16} {r.threads:3d} {r.tasks:5d} "
                         f"{r.chunks:6d} {r.setup:8.2f} {r.work:8.2f} {r.request:10.3f} "
                         f"{r.idle:7.2f}  {sum(r.computations.values())}")
        if self.what == "rule":
            lines.append(f"  rank 0 reconciled, stitched and committed in "
                         f"{self.ranks[0].finish:.2f} s")
        return "\n".join(lines)


# -- messaging --------------------------------------------------------------------------
class _Stopped(Exception):
    """Another rank failed: stop starting tiles."""


class _Channel:
    """This rank's messages, every MPI call under one lock (threads share it)."""

    def __init__(self, comm: Any) -> None:
        from mpi4py import MPI

        self.MPI = MPI
        self.comm = comm
        self.rank = comm.Get_rank()
        self.lock = threading.Lock()
        self.stop_reason: str | None = None
        self.failed: set[int] = set()
        self._sends: list[Any] = []

    def poll_stop(self) -> bool:
        """True once any rank asked to stop (this one included)."""
        with self.lock:
            status = self.MPI.Status()
            while self.comm.Iprobe(self.MPI.ANY_SOURCE, TAG_STOP, status):
                source = status.Get_source()
                message = self.comm.recv(source=source, tag=TAG_STOP)
                self.failed.add(source)
                self.stop_reason = self.stop_reason or message
        return self.stop_reason is not None

    def broadcast_stop(self, message: str) -> None:
        """Tell every other rank to stop (non-blocking sends)."""
        with self.lock:
            self.stop_reason = self.stop_reason or message
            for dest in range(self.comm.Get_size()):
                if dest != self.rank:
                    self._sends.append(self.comm.isend(message, dest=dest, tag=TAG_STOP))

    def probe(self, source: int, tag: int) -> tuple[bool, int, Any]:
        """``(found, source, message)``: receive one waiting message, if there is one."""
        with self.lock:
            status = self.MPI.Status()
            if not self.comm.Iprobe(source, tag, status):
                return False, -1, None
            source = status.Get_source()
            return True, source, self.comm.recv(source=source, tag=tag)

    def send(self, message: Any, dest: int, tag: int) -> None:
        with self.lock:
            self._sends.append(self.comm.isend(message, dest=dest, tag=tag))

    def request_work(self) -> list[int] | None:
        """Ask the dispatcher (rank 0) for the next chunk and wait for it, sleeping."""
        self.send("more", 0, TAG_REQUEST)
        return _poll(lambda: self.probe(0, TAG_WORK))[2]

    def finish(self) -> None:
        """Complete this rank's sends and drop stop messages nobody needed."""
        while self.probe(self.MPI.ANY_SOURCE, TAG_STOP)[0]:
            pass
        with self.lock:
            for request in self._sends:
                request.wait()
            self._sends.clear()


def _poll(attempt: Callable[[], Any]) -> Any:
    """Call ``attempt`` until its result's first item is true, sleeping 50 us .. 1 ms."""
    delay = _POLL_MIN
    while True:
        result = attempt()
        if result[0]:
            return result
        time.sleep(delay)
        delay = min(2 * delay, _POLL_MAX)


def _quiet_barrier(comm: Any) -> float:
    """A barrier that sleeps instead of spinning; returns the seconds waited."""
    start = time.perf_counter()
    request = comm.Ibarrier()
    _poll(lambda: (request.Test(),))
    return time.perf_counter() - start


def agree(comm: Any, action: Callable[[], Any], what: str) -> Any:
    """Run ``action`` on every rank (collective); if it fails anywhere, raise everywhere.

    Raises
    ------
    MPIRunError
        ``"{what} failed on rank R: message"`` (identical messages merged).
    """
    try:
        result, error = action(), None
    except (PeppersError, OSError, ValueError, TypeError) as exc:
        result, error = None, f"{exc}"
    _quiet_barrier(comm)
    errors = comm.allgather(error)
    failed = [(r, e) for r, e in enumerate(errors) if e is not None]
    if failed:
        raise MPIRunError(f"{what} failed on {_ranks_text(failed)}")
    return result


def _ranks_text(failed: Sequence[tuple[Any, str]]) -> str:
    """``rank 1: msg`` lines, identical messages merged (``ranks 0, 1, 2: msg``)."""
    by_message: dict[str, list[Any]] = {}
    for rank, message in failed:
        by_message.setdefault(message, []).append(rank)
    return "; ".join(f"rank{'s' if len(r) > 1 else ''} {', '.join(map(str, r))}: {m}"
                     for m, r in by_message.items())


# -- the run --------------------------------------------------------------------------------
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


def _node_threads(comm: Any) -> int:
    """Default threads per rank: this node's cores shared by its ranks."""
    from mpi4py import MPI

    from peppers.ppe.executor import default_threads

    local = comm.Split_type(MPI.COMM_TYPE_SHARED)
    try:
        return max(1, default_threads() // local.Get_size())
    finally:
        local.Free()


def _open_rank0(plan: Any, spec: Any, run_root: Path, images: dict, journal_file: Path,
                force: bool) -> tuple[Any, dict, list[int]]:
    """Rank 0: journal, resume-or-create the targets, and the tasks still to do."""
    from peppers.io.raw import RawImage
    from peppers.ppe.journal import TileJournal

    journal = TileJournal(journal_file, signature=plan.signature(), n_tiles=len(plan.tasks),
                          writer="0", sync_each=False)
    if force:
        journal.reset()
    paths = {name: run_root / path for name, path in spec.targets.items()}
    done = journal.done()
    resume = bool(done) and all(path.exists() for path in paths.values())
    if not resume:
        journal.reset()
        done = set()
    sinks = {}
    for name, path in paths.items():
        image = images[name]
        if resume:
            sink = RawImage.open(path, "r+")
            if sink.spec.shape != image.spec.shape or sink.spec.dtype != image.spec.dtype:
                raise ImageMismatchError(
                    f"{path}: existing image is {sink.spec.shape} {sink.spec.dtype}, stream "
                    f"{spec.name!r} makes {image.spec.shape} {image.spec.dtype}; delete it "
                    "or run with --force")
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            sink = RawImage.create(path, image.spec, overwrite=True)
        sinks[image.ref] = sink
    complete = resume and journal.is_complete()
    todo = [] if complete else [k for k in range(len(plan.tasks)) if k not in done]
    return journal, sinks, todo


def _open_other(plan: Any, spec: Any, run_root: Path, images: dict, journal_file: Path,
                rank: int) -> tuple[Any, dict]:
    """Ranks > 0: this rank's journal writer and the targets opened for writing."""
    from peppers.io.raw import RawImage
    from peppers.ppe.journal import TileJournal

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

    from peppers.ppe.cache import parse_mem
    from peppers.ppe.streamspec import journal_path

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
    me.threads = threads if threads is not None else _node_threads(comm)
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
        chunk = _stripe(plan)
    if rank == 0:
        (echo or log.info)(f"stream {spec.name!r}: {len(todo)} of {len(plan.tasks)} tiles to "
                           f"do on {size} rank(s) x {me.threads} thread(s), strategy "
                           f"{strategy}")
    me.setup = time.perf_counter() - start

    channel = _Channel(comm)
    worker = _RankWorker(plan, sinks, _ShareJournal(journal), budget, me, channel, retries,
                         progress, sync_every)
    ranks = share_work(worker, channel, todo, strategy, chunk)
    journal.close()
    failed = [(f"{r.rank} on {r.host}", r.error) for r in ranks if r.outcome == "failed"]
    complete_error = None
    if rank == 0 and not failed and todo:
        try:
            from peppers.ppe.journal import TileJournal

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
        raise MPIRunError(f"stream {spec.name!r} stopped: {_ranks_text(failed)}; {done} of "
                          f"{len(plan.tasks)} tiles are done and journaled, run again to "
                          "resume")
    if complete_error:
        raise MPIRunError(f"stream {spec.name!r}: {complete_error}")
    return stats


def share_work(worker: Any, channel: _Channel, todo: Sequence[int], strategy: str,
               chunk: int) -> list[RankStats]:
    """Run this rank's share of ``todo`` with ``worker``, then wait for all; every rank's stats.

    ``worker`` has ``run(tasks) -> bool``, ``close()`` and ``me`` (its
    :class:`RankStats`, whose ``work`` and ``idle`` are filled in here).
    Collective: the final barrier sleeps, then the stats are allgathered.
    """
    comm, me = channel.comm, worker.me
    size = comm.Get_size()
    work_start = time.perf_counter()
    try:
        if size == 1:
            worker.run(todo)
        elif strategy == "dynamic":
            _run_dynamic(worker, channel, todo, size, chunk)
        else:
            worker.run(assign(strategy, todo, size, chunk)[channel.rank])
    finally:
        worker.close()
        me.work = time.perf_counter() - work_start - me.request
    me.idle = _quiet_barrier(comm)
    channel.finish()
    return comm.allgather(me)


def _stripe(plan: Any) -> int:
    """Tasks in one stripe of tiles across the image (the default round-robin chunk)."""
    if not plan.tasks:
        return 1
    first_row = plan.tile(*plan.tasks[0]).row
    return sum(1 for node, tile in plan.tasks if plan.tile(node, tile).row == first_row)


class _RankWorker:
    """Runs chunks of tasks on this rank through the engine, watching for stop messages."""

    def __init__(self, plan: Any, sinks: dict, journal: _ShareJournal, mem: int,
                 me: RankStats, channel: _Channel, retries: int,
                 progress: Callable[[TileEvent], None] | None, sync_every: float) -> None:
        from peppers.ppe.executor import ThreadExecutor

        self.plan, self.sinks, self.journal, self.mem = plan, sinks, journal, mem
        self.me, self.channel, self.retries = me, channel, retries
        self.user_progress, self.sync_every = progress, sync_every
        self.executor = ThreadExecutor(me.threads)

    def _progress(self, event: TileEvent) -> None:
        self.me.tasks += 1
        if self.user_progress is not None:
            self.user_progress(event)
        if self.channel.poll_stop():
            raise _Stopped(self.channel.stop_reason)

    def run(self, tasks: Sequence[int]) -> bool:
        """Run ``tasks``; False if this rank stopped (failed, or told to stop)."""
        from peppers.ppe.engine import run_stream

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
        except _Stopped:
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


def _run_dynamic(worker: _RankWorker, channel: _Channel, todo: Sequence[int], size: int,
                 chunk: int) -> None:
    """Dynamic strategy: rank 0 dispatches (in a thread) and computes; others ask."""
    if channel.rank != 0:
        while True:
            asked = time.perf_counter()
            tasks = channel.request_work()
            worker.me.request += time.perf_counter() - asked
            if tasks is None:
                return
            if not worker.run(tasks):
                channel.send("bye", 0, TAG_REQUEST)
                return
    queue = ChunkQueue(todo, size, chunk)
    # The dispatcher thread must get the GIL quickly while rank 0 computes.
    switch = sys.getswitchinterval()
    sys.setswitchinterval(min(switch, 5e-4))
    dispatcher = threading.Thread(target=_dispatch, args=(channel, queue, size),
                                  name="ppe-dispatcher", daemon=True)
    dispatcher.start()
    try:
        while True:
            tasks = queue.next()
            if tasks is None or not worker.run(tasks):
                break
    finally:
        queue.stop()
        dispatcher.join()
        sys.setswitchinterval(switch)


def _dispatch(channel: _Channel, queue: ChunkQueue, size: int) -> None:
    """Rank 0's dispatcher thread: answer chunk requests until every other rank is done.

    A rank is done when it was answered None (no more work) or said ``bye``
    (it failed or was told to stop).
    """
    from mpi4py import MPI

    remaining = size - 1
    delay = _POLL_MIN
    while remaining:
        if channel.poll_stop():
            queue.stop()
        found, source, message = channel.probe(MPI.ANY_SOURCE, TAG_REQUEST)
        if not found:
            time.sleep(delay)
            delay = min(2 * delay, _POLL_MAX)
            continue
        delay = _POLL_MIN
        if message == "bye":
            remaining -= 1
            continue
        tasks = queue.next()
        channel.send(tasks, source, TAG_WORK)
        if tasks is None:
            remaining -= 1
