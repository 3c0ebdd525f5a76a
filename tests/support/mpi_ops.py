"""Operators for the MPI tests, imported by the ``pep-ppe`` ranks (``test_mpi_ops:Name``).

Kept free of pytest at module level so ranks import it fast. ``Sleepy``
sleeps on the tiles of the top half of the image (a deliberate cost skew
that sleeping makes immune to CPU noise); ``Flaky`` adds one, logs every
tile it computes, and raises on one tile while ``$PEPPERS_TEST_FAIL`` names
its row (the failure test switches it off for the rerun); ``FailingUnwrap``
is tiled MCF unwrapping that fails on the MPI rank ``$PEPPERS_TEST_FAIL_RANK``.
"""

from __future__ import annotations

import os
import time

import numpy as np
from peppers.operators.unwrap.operators import UnwrapMCF

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


def _fail_on_rank(data, coherence, **params):
    """``unwrap_mcf``, except on the MPI rank named by ``$PEPPERS_TEST_FAIL_RANK``."""
    from peppers.operators.unwrap.mcf import unwrap_mcf

    if os.environ.get("PMI_RANK", "0") == os.environ.get("PEPPERS_TEST_FAIL_RANK"):
        raise RuntimeError("deliberate unwrapping failure")
    return unwrap_mcf(data, coherence, **params)


class FailingUnwrap(UnwrapMCF):
    """Tiled MCF unwrapping whose tiles fail on one MPI rank (``$PEPPERS_TEST_FAIL_RANK``)."""

    name = "failing_unwrap"
    solver = staticmethod(_fail_on_rank)


def test_failing_unwrap_fails_only_on_its_rank(monkeypatch):
    import pytest

    x = np.exp(1j * np.linspace(0, 6, 64)).reshape(8, 8).astype(np.complex64)
    coherence = np.ones((8, 8), np.float32)
    monkeypatch.setenv("PMI_RANK", "0")
    monkeypatch.setenv("PEPPERS_TEST_FAIL_RANK", "1")
    unw, comps = FailingUnwrap(nlooks=4.0, min_component_size=1).unwrap(x, coherence)
    assert np.all(comps == 1) and np.isfinite(unw).all()
    monkeypatch.setenv("PMI_RANK", "1")
    with pytest.raises(RuntimeError, match="deliberate"):
        FailingUnwrap(nlooks=4.0, min_component_size=1).unwrap(x, coherence)
