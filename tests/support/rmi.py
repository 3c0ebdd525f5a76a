"""Helpers of the run-monitor tests (no tests here): a slow monitored run as a script.

``SCRIPT`` is a complete program: ``python slow_run.py RUN DELAY [RESOURCE]``
runs one stream of 64 tiles (256 x 256 float32, 32 x 32 tiles) of an
operator that sleeps ``DELAY`` seconds per tile and doubles its input, on
2 threads, with a tile journal, inside :class:`peppers.rmi.MonitoredRun`
-- the same wrapping ``pep run make`` gets. Its output must equal
``2 * INPUT`` whatever happened to the run (pause, abort, SIGKILL, resume).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SHAPE = (256, 256)
TILES = 64

SCRIPT = '''
import sys, time
from typing import ClassVar
import numpy as np
from peppers.ppe import Pipeline
from peppers.ppe.operator import LocalOperator, Param
from peppers.rmi import MonitoredRun


class SlowDouble(LocalOperator):
    name: ClassVar[str] = "slow_double"
    params = (Param("delay", float, 0.05, "seconds of sleep per tile"),)

    def compute(self, inputs, region):
        time.sleep(self.delay)
        return {"output": inputs["input"] * np.float32(2.0)}


root, delay = sys.argv[1], float(sys.argv[2])
resource = sys.argv[3] if len(sys.argv) > 3 else None
with MonitoredRun(root, sys.argv, threads=2, resource=resource, tile_interval=0.1) as run:
    data = np.arange(256 * 256, dtype=np.float32).reshape(256, 256)
    p = Pipeline(tile_shape=(32, 32), threads=2, mem="8M")
    p.output(p.add(SlowDouble(delay=delay), p.source(data)), root + "/out.vrt")
    with run.stream("s1", rules=["slow_double"]):
        p.run(journal=root + "/out.journal", sync_every=0.05)
'''


def expected() -> np.ndarray:
    """What the script's output must hold."""
    return np.arange(SHAPE[0] * SHAPE[1], dtype=np.float32).reshape(SHAPE) * np.float32(2.0)


def write_script(folder: Path) -> Path:
    path = folder / "slow_run.py"
    path.write_text(SCRIPT)
    return path


def output(root: Path) -> np.ndarray:
    """The run's output image."""
    return np.fromfile(root / "out.raw", dtype="<f4").reshape(SHAPE)


def run_foreground(script: Path, root: Path, delay: float = 0.0, *extra: str,
                   timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(script), str(root), str(delay), *extra],
                          capture_output=True, text=True, timeout=timeout, env=env())


def env() -> dict[str, str]:
    return dict(os.environ, PYTHONUNBUFFERED="1")


def wait_for(predicate, timeout: float = 20.0, what: str = "condition", step: float = 0.02):
    """Poll ``predicate`` until it returns a true value; return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
