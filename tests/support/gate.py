"""A gate in the file system that holds a test run in the middle of a stream.

A test that watches, pauses, aborts or kills a run while it is under way
must not race the run to its end: a per-tile sleep only makes the race
likely to be won, and a loaded machine loses it. The test operators here
(``support.drs.GatedCopy``, the monitored script of ``support.rmi``)
instead wait, before computing a tile, until the gate is open to that
tile's first row. The gate is one small file holding the number of rows
open (``all``: every row); the test widens it when it has seen what it
waits for, so the run can never finish, or even move on, before that --
however slow the machine is.

Waiting on the gate has a deadline of minutes (:data:`DEADLINE`): a test
that forgot to open it fails with the file named, it does not hang.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

#: Seconds a gated tile waits at most before failing (a test that never opens the gate).
DEADLINE = 600.0


class Gate:
    """The gate file at ``path``: rows from :meth:`rows` on wait."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def open_to(self, rows: float) -> "Gate":
        """Let tiles starting above row ``rows`` run (``math.inf``: all); atomic."""
        tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        tmp.write_text("all" if rows == math.inf else str(int(rows)))
        os.replace(tmp, self.path)
        return self

    def open(self) -> "Gate":
        """Let every tile run."""
        return self.open_to(math.inf)

    def rows(self) -> float:
        """How many rows are open now (0 while the file does not exist)."""
        try:
            text = self.path.read_text().strip()
        except FileNotFoundError:
            return 0
        return math.inf if text == "all" else int(text)

    def wait(self, row: int, deadline: float = DEADLINE) -> None:
        """Block until the gate is open beyond ``row``.

        Raises
        ------
        TimeoutError
            If it was not opened within ``deadline`` seconds (naming the file).
        """
        end = time.monotonic() + deadline
        while self.rows() <= row:
            if time.monotonic() > end:
                raise TimeoutError(f"{self.path}: the test's gate was not opened to row "
                                   f"{row} within {deadline:.0f} s")
            time.sleep(0.01)
