"""The benchmark chain gives the same pixels on the PPE, on whole arrays and on dask."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def common():
    sys.path.insert(0, str(BENCH))
    try:
        import _common
    finally:
        sys.path.remove(str(BENCH))
    return _common


def test_three_implementations_agree_bit_for_bit(common, tmp_path):
    pytest.importorskip("dask.array")
    shape = (700, 530)  # not a multiple of the tile or FFT block: ragged edges
    source = tmp_path / "input.vrt"
    common.make_input(source, shape, strip_rows=128).close()
    common.ppe_chain(source, tmp_path / "ppe.vrt", shape, threads=2, tile=(256, 192))
    common.whole_array_chain(source, tmp_path / "whole.vrt", shape)
    common.dask_chain(source, tmp_path / "dask.vrt", shape, threads=2, chunk=(200, 256))
    for other in ("whole.vrt", "dask.vrt"):
        check = common.compare_images(tmp_path / "ppe.vrt", tmp_path / other, strip_rows=300)
        assert check["bit_identical"], (other, check)
        assert check["max_abs_value"] > 0.1


def test_child_peak_rss_is_measured(common):
    run = common.run_child(["-c", "import numpy as np; a = np.ones(60_000_000); "
                                  "print(a.sum())"])
    assert run["last_line"] == "60000000.0"
    assert 480e6 < run["max_rss_bytes"] < 2e9  # 480 MB array + interpreter


def test_table_and_json(common, tmp_path, monkeypatch):
    monkeypatch.setattr(common, "RESULTS", tmp_path)
    text = common.table(["a", "bb"], [["x", 1], ["yyy", 22]])
    assert text.splitlines() == ["a    bb", "---  --", "x     1", "yyy  22"]
    path = common.save_json("demo", {"value": 1.5})
    import json

    data = json.loads(path.read_text())
    assert data["value"] == 1.5 and data["machine"]["cpus"] >= 1
    assert [p.name for p in tmp_path.iterdir()] == ["demo.json"]
