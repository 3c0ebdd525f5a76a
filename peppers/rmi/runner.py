"""A monitored run: the event log, the monitor socket, control and the queue, together.

The scheduler wraps a whole run in :class:`MonitoredRun`::

    with MonitoredRun(run_root, argv, resource=None) as run:
        with run.stream("stream-1", rules=["flatten", "filter"]):
            run_spec(spec, run_root)        # any engine call in here is steered
        with run.rule("unwrap", "global"):
            ...

On entry it refuses a second live run of the same directory, writes
``process.json`` and the ``run_start`` event, starts the
:class:`~peppers.rmi.server.MonitorServer`, makes its
:class:`~peppers.rmi.control.RunControl` *ambient* for the engine
(:func:`peppers.ppe.engine.steering`), copies the ``peppers`` log records
into the event log and into ``.peppers/logs/run-STAMP.log``, turns SIGTERM
and SIGINT into a clean abort (a second one into an immediate exit), and
-- when a shared resource is named -- waits for its turn in the resource's
queue (abortable from the monitor while it waits).
On exit it writes ``run_end`` (``ok``, ``aborted`` or ``failed`` with the
error), gives the resource up and closes the socket. A run killed outright
writes no ``run_end``: ``pep monitor status`` sees the dead process.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from typing import Any, Callable, Iterator, Sequence

from peppers.errors import MonitorError, QueueError, RunAborted
from peppers.ppe.engine import steering
from peppers.rmi.control import RunControl
from peppers.rmi.events import EventLog
from peppers.rmi.paths import RunPaths
from peppers.rmi.process import ProcessId
from peppers.rmi.queue import ResourceQueue, Ticket
from peppers.rmi.server import MonitorServer


class _EventHandler(logging.Handler):
    """Copies log records into the event log as ``log`` events."""

    def __init__(self, log: EventLog) -> None:
        super().__init__(logging.INFO)
        self.log = log

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.log.emit("log", level=record.levelname, logger=record.name,
                          message=record.getMessage())
        except Exception:  # noqa: BLE001 - logging must never break the run
            self.handleError(record)


class MonitoredRun:
    """Context manager that makes a run observable and steerable (see the module notes).

    Parameters
    ----------
    run_root : path-like
        The run directory.
    argv : sequence of str
        The command line (recorded in ``run_start``).
    threads : int, optional
        Thread count for the streams (the controller may change it).
    resource : str, optional
        Shared resource to queue for (HKV ``rmi.resource`` or ``--queue``).
    group : str, optional
        Group allowed to attach besides the owner (HKV ``rmi.group``).
    spool : path-like, optional
        Spool directory of the queues (default ``$PEPPERS_SPOOL``).
    tile_interval : float
        Least seconds between two ``tile`` events of a stream.
    hard_stop : callable, optional
        Called on a second SIGTERM/SIGINT, before the process exits at once
        (the scheduler kills its command rules' process groups).
    """

    def __init__(self, run_root: str | os.PathLike, argv: Sequence[str], *,
                 threads: int | None = None, resource: str | None = None,
                 group: str | None = None, spool: str | os.PathLike | None = None,
                 tile_interval: float = 0.5,
                 hard_stop: Callable[[], None] | None = None) -> None:
        self.paths = RunPaths(run_root)
        self.argv = list(argv)
        self.threads = threads
        self.resource = resource
        self.group = group
        self.spool = spool
        self.tile_interval = tile_interval
        self.identity = ProcessId.of()
        self._stack = contextlib.ExitStack()
        self.hard_stop = hard_stop
        self.stopped_by: int | None = None
        self._ticket: Ticket | None = None
        self._outcome: tuple[str, str] | None = None

    def __enter__(self) -> "MonitoredRun":
        self.paths.ensure()
        previous = self.paths.read_process()
        if previous and previous.get("pid") != self.identity.pid:
            holder = ProcessId.from_dict(previous)
            if holder.state() != "dead" and _running(self.paths):
                raise MonitorError(f"{self.paths.root}: a run is already in progress there "
                                   f"({holder}); attach with 'pep monitor attach'")
        stamp = time.strftime("%Y%m%dT%H%M%S")
        self.log = self._stack.enter_context(EventLog(self.paths.events, self.tile_interval))
        self.control = RunControl(self.log)
        self.server = MonitorServer(self.paths, self.control, self.group).start()
        self._stack.callback(self.server.stop)
        self.log.listeners.append(self.server.publish)
        self.paths.write_process(self.identity.to_dict())
        self.log.emit("run_start", process=self.identity.to_dict(), argv=self.argv,
                      root=str(self.paths.root), socket=str(self.server.address),
                      settings={"threads": self.threads, "resource": self.resource})
        self._stack.enter_context(self._logging(self.paths.new_log("run", stamp)))
        self._stack.enter_context(self._signals())
        self._stack.enter_context(steering(self.control))
        try:
            if self.resource:
                self._queue()
        except BaseException as error:
            self.__exit__(type(error), error, error.__traceback__)
            raise
        return self

    def __exit__(self, kind: Any, error: BaseException | None, tb: Any) -> None:
        try:
            if error is None and self._outcome is not None:
                status, text = self._outcome
                if status == "failed":
                    self.log.emit("error", message=text)
                self.log.emit("run_end", status=status, error=text)
            elif error is None:
                self.log.emit("run_end", status="ok")
            elif isinstance(error, (RunAborted, KeyboardInterrupt)) or (
                    isinstance(error, QueueError) and self.control.mode == "stop"):
                self.log.emit("run_end", status="aborted", error=str(error) or "interrupted")
            else:
                self.log.emit("error", message=f"{type(error).__name__}: {error}")
                self.log.emit("run_end", status="failed", error=str(error))
        finally:
            if self._ticket is not None:
                ResourceQueue(self.resource, self.spool).release(self._ticket)
                self._ticket = None
            self._stack.close()

    def outcome(self, status: str, error: str = "") -> None:
        """Set how the run ended when the caller reports it by a return code, not by raising.

        ``status`` is ``ok``, ``failed`` or ``aborted``.
        """
        if status not in ("ok", "failed", "aborted"):
            raise ValueError(f"run outcome must be ok, failed or aborted, got {status!r}")
        self._outcome = (status, error)

    def plan(self, steps: Sequence[dict[str, Any]]) -> None:
        """Announce the steps of the make (``{step, kind, rules, expected}``, for the ETA)."""
        self.log.emit("plan", steps=[dict(step) for step in steps])

    def display(self, inner: Any = None) -> "MonitorDisplay":
        """A scheduler display (``peppers.drs.make.Display``) that also reports to the monitor."""
        return MonitorDisplay(self, inner)

    # -- steps ------------------------------------------------------------------------
    @contextlib.contextmanager
    def stream(self, name: str, rules: Sequence[str] = ()) -> Iterator[RunControl]:
        """Name the engine stream run inside (its events carry ``name`` and ``rules``).

        Waits first while the run is paused; raises :class:`RunAborted` if it
        was aborted.
        """
        self.control.checkpoint()
        self.control.name_stream(name, rules)
        try:
            yield self.control
        finally:
            self.control.name_stream(None)

    @contextlib.contextmanager
    def rule(self, name: str, kind: str = "command") -> Iterator[None]:
        """A step outside the engine (global, reduction, command rule): start/end events."""
        self.control.checkpoint()
        self.log.emit("rule_start", rule=name, rule_kind=kind)
        try:
            yield
        except BaseException as error:
            self.log.emit("rule_end", rule=name, status="failed", error=str(error))
            raise
        self.log.emit("rule_end", rule=name, status="ok")

    # -- pieces ---------------------------------------------------------------------
    def _queue(self) -> None:
        def waiting(position: int, head: Ticket | None) -> None:
            self.log.emit("queue", resource=self.resource, position=position,
                          holder=None if head is None else str(head.holder))

        self._ticket = ResourceQueue(self.resource, self.spool).acquire(
            self.identity, str(self.paths.root), on_wait=waiting,
            cancelled=lambda: self.control.mode == "stop")

    @contextlib.contextmanager
    def _logging(self, path: os.PathLike) -> Iterator[None]:
        logger = logging.getLogger("peppers")
        level = logger.level
        handlers = [_EventHandler(self.log), logging.FileHandler(path, encoding="utf-8")]
        handlers[1].setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: "
                                                   "%(message)s"))
        handlers[1].setLevel(logging.INFO)
        if level == logging.NOTSET or level > logging.INFO:
            logger.setLevel(logging.INFO)
        for handler in handlers:
            logger.addHandler(handler)
        try:
            yield
        finally:
            for handler in handlers:
                logger.removeHandler(handler)
                handler.close()
            logger.setLevel(level)

    @contextlib.contextmanager
    def _signals(self) -> Iterator[None]:
        """SIGTERM and SIGINT stop the run cleanly; a second one stops the process at once.

        The first signal flips the control to ``stop`` (from a helper thread:
        the handler runs in the main thread between two bytecodes, maybe
        while it holds the event log's lock): streams stop between tiles, a
        command rule's process group is stopped, a global rule commits
        nothing, no step starts. The second calls ``hard_stop``, says so in
        one line and leaves with :meth:`stop_status`; what the run staged is
        swept by the next make.
        """
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def stop(signum: int, frame: Any) -> None:
            name = signal.Signals(signum).name
            if self.stopped_by is None:
                self.stopped_by = signum
                threading.Thread(target=self.control.abort, args=(f"signal {name}",),
                                 name="pep-stop", daemon=True).start()
                return
            if self.hard_stop is not None:
                self.hard_stop()
            os.write(2, f"pep: stopped at once by a second {name}; "
                        "'pep run make' resumes\n".encode())
            os._exit(stop_status(self.stopped_by))

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def stop_status(self) -> int | None:
        """The exit status for the signal that stopped the run (None: no signal came)."""
        return None if self.stopped_by is None else stop_status(self.stopped_by)


def stop_status(signum: int) -> int:
    """Exit status of a command stopped by ``signum``: 130 for SIGINT (128 + 2), else 1."""
    return 128 + signal.SIGINT if signum == signal.SIGINT else 1


class MonitorDisplay:
    """Wraps the scheduler's progress display: names streams, reports boundary rules.

    ``start(step)`` of a stream names the engine stream about to run in this
    thread (its events then carry the step's name and rules); a boundary
    step (global, reduction, command rule) gets ``rule_start``/``rule_end``
    events. Each step start is also a pause point: it waits while the run is
    paused and raises :class:`RunAborted` once aborted. Calls are forwarded
    to ``inner``.
    """

    def __init__(self, run: MonitoredRun, inner: Any = None) -> None:
        self.run = run
        self.inner = inner

    def start(self, step: Any, total: int | None) -> None:
        self.run.control.checkpoint()
        if step.kind == "stream":
            self.run.control.name_stream(step.name, step.rules)
        else:
            for rule in step.rules:
                self.run.log.emit("rule_start", rule=rule, rule_kind=step.kind)
        if self.inner is not None:
            self.inner.start(step, total)

    def advance(self, step: Any, done: int, total: int) -> None:
        if self.inner is not None:
            self.inner.advance(step, done, total)

    def finish(self, step: Any, ok: bool, text: str) -> None:
        if step.kind == "stream":
            self.run.control.name_stream(None)
        else:
            for rule in step.rules:
                self.run.log.emit("rule_end", rule=rule, status="ok" if ok else "failed",
                                  error="" if ok else text)
        if self.inner is not None:
            self.inner.finish(step, ok, text)


def _running(paths: RunPaths) -> bool:
    """Whether the event log's latest run has no end (a live process may be running it)."""
    from peppers.rmi.events import last_run

    events = last_run(paths.events)
    return bool(events) and not any(e["kind"] == "run_end" for e in events)
