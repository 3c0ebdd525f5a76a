"""Helpers of the run-monitor tests (no tests here): a slow monitored run as a script.

``SCRIPT`` is a complete program: ``python slow_run.py RUN DELAY [RESOURCE]``
runs one stream of 64 tiles (256 x 256 float32, 32 x 32 tiles) of an
operator that sleeps ``DELAY`` seconds per tile and doubles its input, on
2 threads, with a tile journal, inside :class:`peppers.rmi.MonitoredRun`
-- the same wrapping ``pep run make`` gets. Its output must equal
``2 * INPUT`` whatever happened to the run (pause, abort, SIGKILL, resume).

If the file ``RUN.gate`` exists when the script starts (:func:`gate`), each
tile first waits until that :class:`~support.gate.Gate` is open beyond its
row: the tests hold the run mid-stream that way instead of racing its end.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from support.gate import Gate

#: Seconds a test waits at most for a state of a run or a subprocess: minutes, so a
#: loaded machine is slow, never wrong (a state that never comes still fails the test).
DEADLINE = 600.0
SHAPE = (256, 256)
TILES = 64

SCRIPT = '''
import os, sys, time
from typing import ClassVar
import numpy as np
from peppers.ppe import Pipeline
from peppers.ppe.operator import LocalOperator, Param
from peppers.rmi import MonitoredRun


class SlowDouble(LocalOperator):
    name: ClassVar[str] = "slow_double"
    params = (Param("delay", float, 0.05, "seconds of sleep per tile"),)

    def compute(self, inputs, region):
        if GATE is not None:
            GATE.wait(region.row)
        time.sleep(self.delay)
        out = inputs["input"] * np.float32(2.0)
        if GATE is not None:  # every computed tile, for the tests' counts
            fd = os.open(root + ".tiles", os.O_WRONLY | os.O_APPEND | os.O_CREAT)
            os.write(fd, f"{region.row} {region.col}\\n".encode())
            os.close(fd)
        return {"output": out}


root, delay = sys.argv[1], float(sys.argv[2])
GATE = None
if os.path.exists(root + ".gate"):
    sys.path.insert(0, TESTS)
    from support.gate import Gate
    GATE = Gate(root + ".gate")
resource = sys.argv[3] if len(sys.argv) > 3 else None
with MonitoredRun(root, sys.argv, threads=2, resource=resource, tile_interval=0.1) as run:
    data = np.arange(256 * 256, dtype=np.float32).reshape(256, 256)
    p = Pipeline(tile_shape=(32, 32), threads=2, mem="8M")
    p.output(p.add(SlowDouble(delay=delay), p.source(data)), root + "/out.vrt")
    with run.stream("s1", rules=["slow_double"]):
        p.run(journal=root + "/out.journal", sync_every=0.05)
'''.replace("TESTS", repr(str(Path(__file__).resolve().parents[1])))


def expected() -> np.ndarray:
    """What the script's output must hold."""
    return np.arange(SHAPE[0] * SHAPE[1], dtype=np.float32).reshape(SHAPE) * np.float32(2.0)


def write_script(folder: Path) -> Path:
    path = folder / "slow_run.py"
    path.write_text(SCRIPT)
    return path


def gate(root: Path, open_rows: float) -> Gate:
    """The gate of the script's run at ``root``, open to ``open_rows`` (create before start)."""
    return Gate(f"{root}.gate").open_to(open_rows)


def computed(root: Path) -> int:
    """How many tiles the gated script at ``root`` has computed (all its runs)."""
    try:
        return Path(f"{root}.tiles").read_text().count("\n")
    except FileNotFoundError:
        return 0


def output(root: Path) -> np.ndarray:
    """The run's output image."""
    return np.fromfile(root / "out.raw", dtype="<f4").reshape(SHAPE)


def run_foreground(script: Path, root: Path, delay: float = 0.0, *extra: str,
                   timeout: float = DEADLINE) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(script), str(root), str(delay), *extra],
                          capture_output=True, text=True, timeout=timeout, env=env())


def env() -> dict[str, str]:
    return dict(os.environ, PYTHONUNBUFFERED="1")


def wait_for(predicate, timeout: float = DEADLINE, what: str = "condition",
             step: float = 0.02):
    """Poll ``predicate`` until it returns a true value; return it.

    A wait on a state, with a generous deadline; never a bet on how long
    something takes.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
