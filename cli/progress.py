"""The progress view of ``pep run make``: one line per running step, 80 columns wide.

On a terminal, each running stream gets a bar -- a short description (the
stream name, its rule count and its rules, cut to fit), tiles done of
total, elapsed time and the time left from the measured tile rate (rich's
speed estimate over the last tiles) -- and each boundary rule (global,
reduction, command) a spinner line with its kind. Several lines show at
once when independent streams run side by side. A step that ends leaves
the live area and prints exactly one line, ``done  NAME: TEXT`` or
``FAILED NAME: TEXT``, so nothing keeps spinning after it finished and no
line is printed twice. The whole view fits 80 columns.

Off a terminal (a log file, a test) the view prints one plain line when a
step starts and one when it ends, so logs stay readable. Callbacks come
from the step threads; rich's ``Progress`` is thread-safe and the view's
own table of tasks is guarded by a lock.
"""

from __future__ import annotations

import sys
import threading
from typing import Any, TextIO

from peppers.drs.streams import Step

#: Width of the description column (characters); with the bar and the
#: counters the line is at most :data:`WIDTH` characters.
LABEL = 30
#: Width of the bar.
BAR = 16
#: The widest line the view draws.
WIDTH = 80


def label(step: Step, width: int = LABEL) -> str:
    """A step's description in at most ``width`` characters.

    A stream reads ``stream-2 6 rules: interferogram,...``; a boundary rule
    ``unwrap (global)``. Longer text is cut with an ellipsis.

    Examples
    --------
    >>> from peppers.drs.streams import Step
    >>> label(Step("stream-1", "stream", ["interferogram", "fringe_slope", "coherence"]))
    'stream-1 3 rules: interferogr…'
    >>> label(Step("unwrap", "global", ["unwrap"]))
    'unwrap (global)'
    """
    if step.kind == "stream":
        count = len(step.rules)
        text = f"{step.name} {count} rule{'s' if count != 1 else ''}: {', '.join(step.rules)}"
    else:
        text = f"{step.name} ({step.kind})"
    return text if len(text) <= width else text[:width - 1] + "…"


class ProgressView:
    """A :class:`peppers.drs.make.Display` drawing with rich.

    Parameters
    ----------
    stream : file, optional
        Where to draw (default stderr).
    live : bool, optional
        Draw bars; default: when ``stream`` is a terminal.
    """

    def __init__(self, stream: TextIO | None = None, live: bool | None = None) -> None:
        from rich.console import Console

        self.console = Console(file=stream or sys.stderr, highlight=False, width=WIDTH)
        self.live = self.console.is_terminal if live is None else live
        self._lock = threading.Lock()
        self._tasks: dict[str, Any] = {}
        self._finished: set[str] = set()
        self._progress = None
        if self.live:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn,
                                       TextColumn, TimeElapsedColumn, TimeRemainingColumn)

            self._progress = Progress(
                SpinnerColumn(), TextColumn(f"{{task.description:<{LABEL}}}"),
                BarColumn(bar_width=BAR), MofNCompleteColumn(), TimeElapsedColumn(),
                TimeRemainingColumn(), console=self.console, expand=False)

    def __enter__(self) -> "ProgressView":
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def start(self, step: Step, total: int | None) -> None:
        with self._lock:
            self._finished.discard(step.name)
            if self._progress is not None:
                self._tasks[step.name] = self._progress.add_task(label(step), total=total)
            else:
                self.console.print(f"start  {label(step, WIDTH - 7)}", soft_wrap=True)

    def advance(self, step: Step, done: int, total: int) -> None:
        with self._lock:
            task = self._tasks.get(step.name)
            if self._progress is not None and task is not None:
                self._progress.update(task, completed=done, total=total)

    def finish(self, step: Step, ok: bool, text: str) -> None:
        with self._lock:
            if step.name in self._finished:          # reported once, whoever calls twice
                return
            self._finished.add(step.name)
            task = self._tasks.pop(step.name, None)
            if self._progress is not None and task is not None:
                self._progress.remove_task(task)     # stops its spinner and its bar
                self._progress.refresh()
            word = "done  " if ok else "FAILED"
            text = text if len(text) <= WIDTH // 2 else text[:WIDTH // 2 - 1] + "…"
            self.console.print(f"{word} {label(step, WIDTH - 9 - len(text))}: {text}",
                               soft_wrap=True)
