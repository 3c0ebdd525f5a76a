"""Operators for the MPI tests, imported by the ``pep-ppe`` ranks (``test_mpi_ops:Name``).

Kept free of pytest at module level so ranks import it fast. ``Sleepy``
sleeps on the tiles of the top half of the image (a deliberate cost skew
that sleeping makes immune to CPU noise); ``Flaky`` adds one, logs every
tile it computes, and raises on one tile while ``$PEPPERS_TEST_FAIL`` names
its row (the failure test switches it off for the rerun).
"""

from __future__ import annotations

import os
import time

import numpy as np

from peppers.ppe.operator import LocalOperator, Param
from peppers.ppe.region import Region


class Sleepy(LocalOperator):
    """Copies its input; sleeps ``seconds`` on tiles starting above row ``below``."""

    name = "sleepy"
    params = (Param("seconds", float, 0.05, "sleep per slow tile, s"),
              Param("below", int, 0, "tiles starting above this row are slow"))

    def compute(self, inputs, region: Region):
        if region.row < self.below:
            time.sleep(self.seconds)
        return {"output": np.array(inputs["input"])}


class Flaky(LocalOperator):
    """Adds one; appends ``row col`` per computed tile to ``$PEPPERS_TEST_LOG``; fails on demand."""

    name = "flaky"
    halo = (1, 1)

    def compute(self, inputs, region: Region):
        fail = os.environ.get("PEPPERS_TEST_FAIL")
        if fail is not None and (region.row, region.col) == tuple(map(int, fail.split(","))):
            raise RuntimeError("deliberate failure")
        log = os.environ.get("PEPPERS_TEST_LOG")
        if log:
            fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
            os.write(fd, f"{region.row} {region.col}\n".encode())
            os.close(fd)
        time.sleep(0.01)
        return {"output": inputs["input"][1:-1, 1:-1] + 1}


def test_sleepy_sleeps_only_above_its_row():
    op = Sleepy(seconds=0.05, below=32)
    x = np.arange(16.0).reshape(4, 4)
    start = time.perf_counter()
    out = op.compute({"input": x}, Region(32, 0, 4, 4))["output"]
    fast = time.perf_counter() - start
    start = time.perf_counter()
    op.compute({"input": x}, Region(0, 0, 4, 4))
    slow = time.perf_counter() - start
    assert np.array_equal(out, x) and fast < 0.02 <= 0.04 < slow


def test_flaky_adds_one_logs_and_fails_on_its_tile(tmp_path, monkeypatch):
    import pytest

    log = tmp_path / "log"
    monkeypatch.setenv("PEPPERS_TEST_LOG", str(log))
    monkeypatch.setenv("PEPPERS_TEST_FAIL", "8,16")
    x = np.arange(36.0).reshape(6, 6)
    out = Flaky().compute({"input": x}, Region(0, 0, 4, 4))["output"]
    assert np.array_equal(out, x[1:-1, 1:-1] + 1)
    assert log.read_text() == "0 0\n"
    with pytest.raises(RuntimeError, match="deliberate"):
        Flaky().compute({"input": x}, Region(8, 16, 4, 4))
