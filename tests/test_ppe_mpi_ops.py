"""The operators the MPI tests run on their ranks (``tests/support/mpi_ops.py``) do what they say."""

from __future__ import annotations

import time

import numpy as np
import pytest

from peppers.ppe.region import Region
from support.mpi_ops import FailingUnwrap, Flaky, Sleepy


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
    log = tmp_path / "log"
    monkeypatch.setenv("PEPPERS_TEST_LOG", str(log))
    monkeypatch.setenv("PEPPERS_TEST_FAIL", "8,16")
    x = np.arange(36.0).reshape(6, 6)
    out = Flaky().compute({"input": x}, Region(0, 0, 4, 4))["output"]
    assert np.array_equal(out, x[1:-1, 1:-1] + 1)
    assert log.read_text() == "0 0\n"
    with pytest.raises(RuntimeError, match="deliberate"):
        Flaky().compute({"input": x}, Region(8, 16, 4, 4))


def test_failing_unwrap_fails_only_on_its_rank(monkeypatch):
    x = np.exp(1j * np.linspace(0, 6, 64)).reshape(8, 8).astype(np.complex64)
    coherence = np.ones((8, 8), np.float32)
    monkeypatch.setenv("PMI_RANK", "0")
    monkeypatch.setenv("PEPPERS_TEST_FAIL_RANK", "1")
    unw, comps = FailingUnwrap(nlooks=4.0, min_component_size=1).unwrap(x, coherence)
    assert np.all(comps == 1) and np.isfinite(unw).all()
    monkeypatch.setenv("PMI_RANK", "1")
    with pytest.raises(RuntimeError, match="deliberate"):
        FailingUnwrap(nlooks=4.0, min_component_size=1).unwrap(x, coherence)
