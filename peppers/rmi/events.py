"""The structured event log of a run: ``RUN/.peppers/events.jsonl``.

Every run appends one JSON object per line: what happened, when (``t``,
Unix seconds), and the details. The log is the run's memory: ``pep monitor
status`` folds it into a summary even when no process is alive, and the
monitor server folds the same events into the state it hands attaching
clients (:mod:`peppers.rmi.state`).

Event kinds
-----------
``run_start``     process identity, user, command line, settings
``queue``         waiting for a shared resource (resource, position)
``run_end``       status ``ok``/``failed``/``aborted``, error
``stream_start``  stream, rules, tasks total/skipped, threads
``stream_end``    stream, status, run/skipped/wall seconds, hit rate
``rule_start``/``rule_end``  rule, kind, status
``tile``          progress of a stream: done/total, elapsed, per-operator
                  tiles and compute seconds, threads, cache hit rate
                  (rate-limited: at most one per stream per interval, and
                  always the last tile)
``control``       pause/resume/abort/threads/mem, and who asked
``controller``    who holds control now
``log``           a log record (level, logger, message)
``error``         an error message

Writes: one ``os.write`` of a whole line to a file opened ``O_APPEND``, so
lines from one process never interleave; boundary events (everything but
``tile`` and ``log``) are fsync-ed. A SIGKILL can leave a torn last line:
the reader skips lines that are not JSON objects.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from peppers.errors import naming

#: Event kinds that are not fsync-ed (frequent, and harmless to lose).
VOLATILE = ("tile", "log")


class EventLog:
    """Appends events to a JSON-lines file and hands each to listeners (thread-safe).

    Parameters
    ----------
    path : path-like
        The log file (created if missing; appended to).
    min_interval : float
        Least seconds between two ``tile`` events of one stream.
    """

    def __init__(self, path: str | os.PathLike, min_interval: float = 0.5) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.min_interval = min_interval
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._lock = threading.Lock()
        self._last_tile: dict[str, float] = {}
        self.listeners: list[Callable[[dict[str, Any]], None]] = []

    def emit(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Append one event; returns it as written."""
        event = {"t": round(time.time(), 3), "kind": kind, **fields}
        line = json.dumps(event, separators=(",", ":"), default=str).encode() + b"\n"
        with self._lock:
            if self._fd < 0:
                return event
            with naming(self.path):                   # a full disk names the log
                os.write(self._fd, line)
                if kind not in VOLATILE:
                    os.fsync(self._fd)
            listeners = list(self.listeners)
        for listener in listeners:
            listener(event)
        return event

    def tile(self, stream: str, final: bool, **fields: Any) -> dict[str, Any] | None:
        """A ``tile`` event for ``stream``, unless one went out less than the interval ago.

        ``final`` (the last tile) always goes out.
        """
        now = time.monotonic()
        with self._lock:
            last = self._last_tile.get(stream)
            if not final and last is not None and now - last < self.min_interval:
                return None
            self._last_tile[stream] = now
        return self.emit("tile", stream=stream, **fields)

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def __enter__(self) -> "EventLog":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def iter_events(path: str | os.PathLike) -> Iterator[dict[str, Any]]:
    """Every well-formed event of the log, oldest first (torn or foreign lines skipped)."""
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        return
    with handle:
        for line in handle:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict) and isinstance(event.get("kind"), str):
                yield event


def last_run(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The events of the latest run in the log (from its ``run_start`` on)."""
    events: list[dict[str, Any]] = []
    for event in iter_events(path):
        if event["kind"] == "run_start":
            events = []
        events.append(event)
    return events
