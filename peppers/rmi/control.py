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

It also reports: :meth:`begin`/:meth:`end` write ``stream_start`` and
``stream_end`` events, and :meth:`finished` writes rate-limited ``tile``
events with the per-operator compute times and the live cache hit rate
(the ETA's inputs), so the run's scheduler need not know of the monitor.
A pause also holds a run between streams (:meth:`checkpoint`).
"""

from __future__ import annotations

import threading
from typing import Any, Mapping, Sequence

from peppers.errors import RunAborted
from peppers.ppe.cache import format_bytes, parse_mem
from peppers.rmi.events import EventLog


class RunControl:
    """Shared switches between the monitor (commands) and the engine (gate).

    Parameters
    ----------
    log : EventLog
        Where control, stream and tile events go.
    threads : int, optional
        Thread count to apply to every stream (None: the stream's own).
    """

    def __init__(self, log: EventLog, threads: int | None = None) -> None:
        self.log = log
        self.mode = "run"
        self._cond = threading.Condition()
        self._threads = threads
        self._mem: int | None = None
        self._dirty = threads is not None
        self.stream_name: str | None = None
        self.stream_rules: list[str] = []
        self._count = 0
        self._plan: Any = None
        self._executor: Any = None
        self._caches: Mapping[int, Any] = {}
        self._stats: Any = None
        self._todo: Sequence[int] = ()
        self._unsent: Any = None

    # -- commands (any thread) ---------------------------------------------------
    def pause(self, by: str = "") -> None:
        self._switch("hold", "pause", by)

    def resume(self, by: str = "") -> None:
        self._switch("run", "resume", by)

    def abort(self, by: str = "") -> None:
        self._switch("stop", "abort", by)

    def set_threads(self, n: Any, by: str = "") -> None:
        """Use ``n`` threads from the next tile on (and for later streams).

        Raises
        ------
        ValueError
            If ``n`` is not an integer from 1 to 1024.
        """
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 1024:
            raise ValueError(f"threads must be an integer from 1 to 1024, got {n!r}")
        with self._cond:
            self._threads, self._dirty = n, True
            self._cond.notify_all()
        self.log.emit("control", action="threads", value=n, by=by)

    def set_mem(self, mem: Any, by: str = "") -> None:
        """Use a tile-cache budget of ``mem`` (bytes or e.g. ``"1G"``) from the next tile on.

        Raises
        ------
        ValueError
            If ``mem`` is not a size.
        """
        size = parse_mem(mem)
        with self._cond:
            self._mem, self._dirty = size, True
            self._cond.notify_all()
        self.log.emit("control", action="mem", value=format_bytes(size), by=by)

    def _switch(self, mode: str, action: str, by: str) -> None:
        with self._cond:
            if self.mode == "stop" and mode != "stop":
                raise ValueError(f"cannot {action}: the run is aborting")
            changed = self.mode != mode
            self.mode = mode
            self._cond.notify_all()
        if changed:
            self.log.emit("control", action=action, by=by)

    # -- between streams (the run's thread) --------------------------------------------
    def checkpoint(self) -> None:
        """Block while paused; raise :class:`RunAborted` once aborted."""
        with self._cond:
            while self.mode == "hold":
                self._cond.wait(0.5)
            if self.mode == "stop":
                raise RunAborted("run aborted by its controller before its next step; "
                                 "'pep run make' resumes it")

    @property
    def threads(self) -> int | None:
        return self._threads

    # -- the engine's Control protocol (driver thread) -------------------------------
    def begin(self, plan: Any, executor: Any, caches: Mapping[int, Any], stats: Any,
              todo: Sequence[int]) -> None:
        self._count += 1
        name = self.stream_name or f"stream-{self._count}"
        self._plan, self._executor, self._caches = plan, executor, caches
        self._stats, self._todo = stats, list(todo)
        self._unsent = None
        self._current = name
        self._dirty = self._dirty or self._threads is not None
        self.log.emit("stream_start", stream=name, rules=self.stream_rules, total=stats.total,
                      skipped=stats.skipped, threads=executor.n_workers)
        self.gate()

    def gate(self) -> str:
        with self._cond:
            mode, dirty = self.mode, self._dirty
            self._dirty = False
        if dirty and self._executor is not None:
            self._apply()
        return mode

    def _apply(self) -> None:
        executor = self._executor
        if self._threads is not None and self._threads != executor.n_workers:
            resize = getattr(executor, "resize", None)
            if resize is None:
                self.log.emit("log", level="WARNING", message=(
                    f"{type(executor).__name__} cannot change its thread count; "
                    f"keeping {executor.n_workers}"))
            else:
                resize(self._threads)
        if self._mem is not None and self._plan is not None:
            budgets = self._plan.estimate(self._mem, executor.n_workers, self._todo).budgets
            for node, cache in self._caches.items():
                cache.budget = int(budgets.get(node, 0))

    def wait(self, timeout: float) -> None:
        if self._unsent is not None:  # paused: show the exact count, not a rate-limited one
            self._tile_event(self._unsent, True)
        with self._cond:
            if self.mode == "hold" and not self._dirty:
                self._cond.wait(timeout)

    def finished(self, event: Any) -> None:
        self._tile_event(event, event.done >= event.total)

    def _tile_event(self, event: Any, final: bool) -> None:
        stats = self._stats
        with stats._lock:
            nodes = {name: [n.tiles, round(n.seconds, 6)] for name, n in stats.nodes.items()}
        sent = self.log.tile(self._current, final, done=event.done, total=event.total,
                             elapsed=round(event.elapsed, 3), nodes=nodes,
                             threads=self._executor.n_workers, hit_rate=round(self.hit_rate(), 4))
        self._unsent = None if sent is not None else event

    def hit_rate(self) -> float:
        """Live hit rate over the running stream's caches."""
        hits = reads = 0
        for cache in list(self._caches.values()):
            hits += cache.hits + cache.shared
            reads += cache.hits + cache.shared + cache.misses
        return hits / reads if reads else 0.0

    def end(self, stats: Any) -> None:
        if self._plan is None:
            return
        if self._unsent is not None:
            self._tile_event(self._unsent, True)
        status = "ok" if stats is not None else ("aborted" if self.mode == "stop" else "failed")
        fields: dict[str, Any] = {"hit_rate": round(self.hit_rate(), 4)}
        if stats is not None:
            fields.update(run=stats.run, skipped=stats.skipped,
                          wall_seconds=round(stats.wall_seconds, 3))
        self.log.emit("stream_end", stream=self._current, status=status, **fields)
        self._plan = self._executor = None
        self._caches, self._stats = {}, None
