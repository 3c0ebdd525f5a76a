"""Stream cutting: local chains become streams, boundaries break them, intermediates stay in memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from support.drs import finished, make_run, read_image, source_array
from peppers.drs import Maker, make, plan_make
from peppers.errors import MakeError

# L1 -> L2 -> G -> L3
CHAIN = """\
rules:
  l1:
    kind: local
    operator: support.drs:AddConst
    inputs: {input: src}
    outputs: {output: a}
    params: {offset: t.offset}
  l2:
    kind: local
    operator: peppers.ppe.testing:Scale
    inputs: {input: a}
    outputs: {output: b}
    params: {factor: t.factor}
  g:
    kind: global
    operator: peppers.operators.statistics:RemoveMean
    inputs: {input: b}
    outputs: {output: c}
  l3:
    kind: local
    operator: support.drs:AddConst
    inputs: {input: c}
    outputs: {output: d}
    params: {offset: t.offset}
"""


def images(db) -> set[str]:
    return {p.name.split(".")[0] for p in (Path(db.root) / "images").glob("*.raw.vrt")}


def test_l1_l2_g_l3_gives_two_streams_and_l1_output_stays_in_memory(tmp_path):
    db = make_run(tmp_path, CHAIN)
    plan = plan_make(db, ["d"])
    assert [(s.name, s.kind, s.rules) for s in plan.steps] == [
        ("stream-1", "stream", ["l1", "l2"]), ("g", "global", ["g"]),
        ("stream-2", "stream", ["l3"])]
    first, _, last = plan.steps
    assert first.targets == {"b": "images/b.raw.vrt"} and first.memory == ["a"]
    assert first.sources == {"src": "data/src.vrt"}
    assert last.after == {"g"} and plan.steps[1].after == {"stream-1"}
    make(db, ["d"])
    assert images(db) == {"b", "c", "d"}
    b = (source_array() + 1.0) * 2.0
    np.testing.assert_allclose(read_image(Path(db.root) / "images" / "d.raw.vrt"),
                               b - b.mean() + 1.0, atol=2e-5)


def test_keep_writes_the_intermediate(tmp_path):
    db = make_run(tmp_path, CHAIN.replace("    params: {offset: t.offset}\n  l2:",
                                          "    params: {offset: t.offset}\n    keep: true\n  l2:"))
    plan = plan_make(db, ["d"])
    assert plan.steps[0].targets == {"a": "images/a.raw.vrt", "b": "images/b.raw.vrt"}
    make(db, ["d"])
    assert images(db) == {"a", "b", "c", "d"}


def test_requested_intermediate_is_written_even_later(tmp_path):
    db = make_run(tmp_path, CHAIN)
    make(db, ["d"])
    before = finished(db)
    plan = plan_make(db, ["a", "d"])
    assert [r.trigger for r in plan.analysis.reasons["l1"]] == ["needed"]
    assert plan.steps[0].targets == {"a": "images/a.raw.vrt"}
    make(db, ["a", "d"])
    assert "a" in images(db) and set(finished(db)) == set(before)
    np.testing.assert_allclose(read_image(Path(db.root) / "images" / "a.raw.vrt"),
                               source_array() + 1.0, atol=1e-6)


def test_a_stream_never_both_feeds_and_waits_for_a_boundary(tmp_path):
    # l1 -> mix directly and through g: joining l1 and mix would make a cycle of steps
    rules = """\
rules:
  l1:
    kind: local
    operator: support.drs:AddConst
    inputs: {input: src}
    outputs: {output: a}
    params: {offset: t.offset}
  g:
    kind: global
    operator: peppers.operators.statistics:RemoveMean
    inputs: {input: a}
    outputs: {output: c}
  mix:
    kind: local
    operator: peppers.operators.pixelwise:Multiply
    inputs: {a: a, b: c}
    outputs: {output: m}
"""
    db = make_run(tmp_path, rules)
    db.set("t.offset", 0.0)
    plan = plan_make(db, ["m"])
    assert [s.rules for s in plan.steps] == [["l1"], ["g"], ["mix"]]
    assert plan.steps[0].targets == {"a": "images/a.raw.vrt"}
    make(db, ["m"])
    a = source_array().astype(np.float64)
    expect = a * (a - a.mean())
    np.testing.assert_allclose(read_image(Path(db.root) / "images" / "m.raw.vrt"), expect,
                               atol=1e-4)


def test_independent_streams_run_side_by_side(tmp_path):
    # Each stream's tiles wait until the other stream has started one (support.gate):
    # run one after the other, the first would wait for ever (a clear TimeoutError).
    rules = """\
rules:
  p:
    kind: local
    operator: support.drs:GatedCopy
    inputs: {input: src}
    outputs: {output: p_out}
    params: {gate: t.q_mark, mark: t.p_mark}
  q:
    kind: local
    operator: support.drs:GatedCopy
    inputs: {input: src2}
    outputs: {output: q_out}
    params: {gate: t.p_mark, mark: t.q_mark}
"""
    db = make_run(tmp_path, rules)
    db.set("t.p_mark", str(tmp_path / "p.mark"))
    db.set("t.q_mark", str(tmp_path / "q.mark"))
    plan = plan_make(db, ["p_out", "q_out"])
    assert [s.name for s in plan.steps] == ["stream-1", "stream-2"]
    Maker(plan, parallel=2).run()
    np.testing.assert_array_equal(read_image(Path(db.root) / "images" / "p_out.raw.vrt"),
                                  source_array())
    np.testing.assert_array_equal(read_image(Path(db.root) / "images" / "q_out.raw.vrt"),
                                  source_array(8))


def test_failure_stops_reports_and_keeps_completed_work(tmp_path):
    db = make_run(tmp_path, CHAIN.replace("operator: support.drs:AddConst\n    inputs: {input: c}",
                                          "operator: support.drs:Explode\n    inputs: {input: c}")
                  .replace("outputs: {output: d}\n    params: {offset: t.offset}",
                           "outputs: {output: d}"))
    with pytest.raises(MakeError) as info:
        make(db, ["d"])
    message = str(info.value)
    assert "2 step(s) done" in message and "failed: stream-2" in message
    assert "'l3'" in message and "boom" in message and "tile" in message
    assert set(finished(db)) == {"l1", "l2", "g"}
    assert plan_make(db, ["d"]).analysis.stale == ["l3"]
