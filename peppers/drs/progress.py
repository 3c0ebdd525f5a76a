"""The progress view of ``pep run make``: one rich progress bar per running step.

On a terminal, each stream gets a bar (tiles done of total, rate, time
left) and each boundary rule a spinner line; several bars show at once
when independent streams run side by side. Off a terminal (a log file, a
test) the view prints one plain line when a step starts and one when it
ends, so logs stay readable. Callbacks come from the step threads; rich's
``Progress`` is thread-safe.
"""

from __future__ import annotations

import sys
import threading
from typing import Any, TextIO

from peppers.drs.streams import Step


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

        self.console = Console(file=stream or sys.stderr, highlight=False)
        self.live = self.console.is_terminal if live is None else live
        self._lock = threading.Lock()
        self._tasks: dict[str, Any] = {}
        self._progress = None
        if self.live:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn,
                                       TextColumn, TimeElapsedColumn, TimeRemainingColumn)

            self._progress = Progress(SpinnerColumn(), TextColumn("{task.description:<24}"),
                                      BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                      TimeRemainingColumn(), console=self.console)

    def __enter__(self) -> "ProgressView":
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    @staticmethod
    def _label(step: Step) -> str:
        if step.kind == "stream":
            return f"{step.name} ({', '.join(step.rules)})"
        return f"{step.name} ({step.kind})"

    def start(self, step: Step, total: int | None) -> None:
        with self._lock:
            if self._progress is not None:
                self._tasks[step.name] = self._progress.add_task(self._label(step), total=total)
            else:
                self.console.print(f"start  {self._label(step)}")

    def advance(self, step: Step, done: int, total: int) -> None:
        if self._progress is not None and step.name in self._tasks:
            self._progress.update(self._tasks[step.name], completed=done, total=total)

    def finish(self, step: Step, ok: bool, text: str) -> None:
        with self._lock:
            word = "done  " if ok else "FAILED"
            if self._progress is not None and step.name in self._tasks:
                task = self._tasks[step.name]
                total = self._progress.tasks[task].total if ok else None
                self._progress.update(task, completed=total or 0, total=total or 1,
                                      description=f"{self._label(step)} {word.strip()}")
            self.console.print(f"{word} {self._label(step)}: {text}")
