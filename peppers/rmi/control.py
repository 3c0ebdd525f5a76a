"""Run control: pause, resume, abort, threads and cache budget, between tiles.

:class:`RunControl` is the engine's :class:`~peppers.ppe.engine.Control`:
the monitor server's thread calls the commands (:meth:`pause`,
:meth:`resume`, :meth:`abort`, :meth:`set_threads`, :meth:`set_mem`), and
the engine's driver thread asks :meth:`gate` before it starts each task:

``run``
    Start tasks as usual. Pending setting changes are applied here, in the
    driver thread, so the engine never sees them change under its feet:
    the executor is resized (tasks already running finish on the old
    threads) and every tile cache gets its share of the new budget
    (evictions, if any, happen at the next tile stored).
``hold``
    Paused: tiles running now finish and are journaled; none start.
``stop``
    Aborted: no new tile starts; the engine lets the running ones finish,
    syncs the journal and raises :class:`~peppers.errors.RunAborted`. The
    run stops cleanly and a later ``pep run make`` resumes it.

Each stream that starts gets its own :class:`StreamSteer` (streams may run
side by side); the switches are shared, the executor and caches are the
stream's own. The steer also reports: ``stream_start`` and ``stream_end``
events, and rate-limited ``tile`` events with the per-operator compute
times and the live cache hit rate (the ETA's inputs), and a
``stream_settings`` event each time the driver applies a new thread count
or cache budget (paused or not: it shows the driver passed its gate), so
the run's scheduler need not know of the monitor beyond naming its streams
(:meth:`RunControl.name_stream`, per thread). A pause also holds a run
between steps (:meth:`RunControl.checkpoint`).
"""

from __future__ import annotations

import itertools
import threading
from typing import Any, Mapping, Sequence

from peppers.errors import RunAborted
from peppers.ppe.cache import format_bytes, parse_mem
from peppers.rmi.events import EventLog


class RunControl:
    """Shared switches between the monitor (commands) and the engine (one steer per stream).

    Parameters
    ----------
    log : EventLog
        Where control, stream and tile events go.
    """

    def __init__(self, log: EventLog) -> None:
        self.log = log
        self.mode = "run"
        self.cond = threading.Condition()
        self.threads: int | None = None
        self.mem: int | None = None
        self.version = 0
        self._names = threading.local()
        self._count = itertools.count(1)

    # -- commands (any thread) ---------------------------------------------------
    def pause(self, by: str = "") -> None:
        self._switch("hold", "pause", by)

    def resume(self, by: str = "") -> None:
        self._switch("run", "resume", by)

    def abort(self, by: str = "") -> None:
        self._switch("stop", "abort", by)

    def set_threads(self, n: Any, by: str = "") -> None:
        """Use ``n`` threads per stream from the next tile on (and for later streams).

        Raises
        ------
        ValueError
            If ``n`` is not an integer from 1 to 1024.
        """
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 1024:
            raise ValueError(f"threads must be an integer from 1 to 1024, got {n!r}")
        with self.cond:
            self.threads = n
            self.version += 1
            self.cond.notify_all()
        self.log.emit("control", action="threads", value=n, by=by)

    def set_mem(self, mem: Any, by: str = "") -> None:
        """Give each stream's tile caches ``mem`` (bytes or e.g. ``"1G"``) from the next tile on.

        Raises
        ------
        ValueError
            If ``mem`` is not a size.
        """
        size = parse_mem(mem)
        with self.cond:
            self.mem = size
            self.version += 1
            self.cond.notify_all()
        self.log.emit("control", action="mem", value=format_bytes(size), by=by)

    def _switch(self, mode: str, action: str, by: str) -> None:
        with self.cond:
            if self.mode == "stop" and mode != "stop":
                raise ValueError(f"cannot {action}: the run is aborting")
            changed = self.mode != mode
            self.mode = mode
            self.cond.notify_all()
        if changed:
            self.log.emit("control", action=action, by=by)

    # -- the run's threads ---------------------------------------------------------
    def checkpoint(self) -> None:
        """Block while paused; raise :class:`RunAborted` once aborted (between steps)."""
        with self.cond:
            while self.mode == "hold":
                self.cond.wait(0.5)
            if self.mode == "stop":
                raise RunAborted("run aborted by its controller before its next step; "
                                 "'pep run make' resumes it")

    def name_stream(self, name: str | None, rules: Sequence[str] = ()) -> None:
        """Name the next stream this thread runs (None: forget the name)."""
        self._names.value = None if name is None else (name, list(rules))

    # -- the engine's Control protocol ------------------------------------------------
    def begin(self, plan: Any, executor: Any, caches: Mapping[int, Any], stats: Any,
              todo: Sequence[int]) -> "StreamSteer":
        named = getattr(self._names, "value", None)
        name, rules = named if named else (f"stream-{next(self._count)}", [])
        steer = StreamSteer(self, name, plan, executor, caches, stats, todo)
        self.log.emit("stream_start", stream=name, rules=rules, total=stats.total,
                      skipped=stats.skipped, threads=executor.n_workers)
        steer.gate()
        return steer


class StreamSteer:
    """The engine's :class:`~peppers.ppe.engine.Steer` of one stream (its driver thread)."""

    def __init__(self, control: RunControl, name: str, plan: Any, executor: Any,
                 caches: Mapping[int, Any], stats: Any, todo: Sequence[int]) -> None:
        self.control, self.log, self.name = control, control.log, name
        self.plan, self.executor, self.caches = plan, executor, caches
        self.stats, self.todo = stats, list(todo)
        self.applied = 0
        self._unsent: Any = None

    def gate(self) -> str:
        control = self.control
        with control.cond:
            mode, version = control.mode, control.version
            threads, mem = control.threads, control.mem
        if version != self.applied:
            self.applied = version
            self._apply(threads, mem)
        return mode

    def _apply(self, threads: int | None, mem: int | None) -> None:
        executor = self.executor
        if threads is not None and threads != executor.n_workers:
            resize = getattr(executor, "resize", None)
            if resize is None:
                self.log.emit("log", level="WARNING", message=(
                    f"{self.name}: {type(executor).__name__} cannot change its thread count; "
                    f"keeping {executor.n_workers}"))
            else:
                resize(threads)
        if mem is not None:
            budgets = self.plan.estimate(mem, executor.n_workers, self.todo).budgets
            for node, cache in self.caches.items():
                cache.budget = int(budgets.get(node, 0))
        self.log.emit("stream_settings", stream=self.name, threads=executor.n_workers,
                      mem=None if mem is None else format_bytes(mem))

    def wait(self, timeout: float) -> None:
        if self._unsent is not None:  # paused: show the exact count, not a rate-limited one
            self._tile_event(self._unsent, True)
        control = self.control
        with control.cond:
            if control.mode == "hold" and control.version == self.applied:
                control.cond.wait(timeout)

    def finished(self, event: Any) -> None:
        self._tile_event(event, event.done >= event.total)

    def _tile_event(self, event: Any, final: bool) -> None:
        stats = self.stats
        with stats._lock:
            nodes = {name: [n.tiles, round(n.seconds, 6)] for name, n in stats.nodes.items()}
        sent = self.log.tile(self.name, final, done=event.done, total=event.total,
                             elapsed=round(event.elapsed, 3), nodes=nodes,
                             threads=self.executor.n_workers, hit_rate=round(self.hit_rate(), 4))
        self._unsent = None if sent is not None else event

    def hit_rate(self) -> float:
        """Live hit rate over the stream's caches."""
        hits = reads = 0
        for cache in list(self.caches.values()):
            hits += cache.hits + cache.shared
            reads += cache.hits + cache.shared + cache.misses
        return hits / reads if reads else 0.0

    def end(self, stats: Any) -> None:
        if self._unsent is not None:
            self._tile_event(self._unsent, True)
        status = "ok" if stats is not None else (
            "aborted" if self.control.mode == "stop" else "failed")
        fields: dict[str, Any] = {"hit_rate": round(self.hit_rate(), 4)}
        if stats is not None:
            fields.update(run=stats.run, skipped=stats.skipped,
                          wall_seconds=round(stats.wall_seconds, 3))
        self.log.emit("stream_end", stream=self.name, status=status, **fields)
