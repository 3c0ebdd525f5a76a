"""The operators the MPI tests run on their ranks (``tests/support/mpi_ops.py``) do what they say."""

from __future__ import annotations

import numpy as np
import pytest

from peppers.ppe.region import Region
from support.mpi_ops import FailingUnwrap, Flaky, Skewed


def test_skewed_waits_on_rank_0_above_its_row_until_another_rank_logs(tmp_path, monkeypatch):
    log = tmp_path / "log"
    monkeypatch.setenv("PEPPERS_TEST_LOG", str(log))
    x = np.arange(16.0).reshape(4, 4)
    monkeypatch.setenv("PMI_RANK", "0")
    op = Skewed(below=32, deadline=0.2)
    assert np.array_equal(op.compute({"input": x}, Region(32, 0, 4, 4))["output"], x)
    with pytest.raises(TimeoutError, match="no other rank computed a tile"):
        op.compute({"input": x}, Region(0, 0, 4, 4))   # alone: it would wait forever
    monkeypatch.setenv("PMI_RANK", "1")
    op.compute({"input": x}, Region(0, 4, 4, 4))       # other ranks never wait
    monkeypatch.setenv("PMI_RANK", "0")
    op.compute({"input": x}, Region(0, 0, 4, 4))       # rank 1 logged: rank 0 goes on
    assert log.read_text() == "0 32 0\n1 0 4\n0 0 0\n"


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
