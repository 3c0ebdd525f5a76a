"""``make`` on a small rule set with real PPE operators: what runs, what does not, and why.

The rule set is ``tests/rules/chain.yaml``: ``src -> smooth -> scale ->
center (global) -> shift -> stats (reduction)`` and an independent branch
``src2 -> other``. Truth is computed with numpy/scipy on whole arrays.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from support.drs import (TESTS, finished, make_run, read_image, rerun, source_array,
                         write_image)
from peppers.drs import make, plan_make

CHAIN = (TESTS / "rules" / "chain.yaml").read_text()
TARGETS = ["t.stats", "other_out"]


@pytest.fixture
def db(tmp_path):
    db = make_run(tmp_path, CHAIN)
    make(db, TARGETS)
    return db


def truth(src: np.ndarray, size=(3, 3), factor=2.0, offset=1.0) -> np.ndarray:
    smoothed = ndimage.uniform_filter(src.astype(np.float64), size, mode="mirror")
    scaled = smoothed * factor
    return scaled - scaled.mean() + offset


def test_make_runs_everything_with_correct_results(db):
    root = Path(db.root)
    final = read_image(root / "images" / "final.raw.vrt")
    np.testing.assert_allclose(final, truth(source_array()), rtol=0, atol=2e-5)
    np.testing.assert_allclose(read_image(root / "images" / "other_out.raw.vrt"),
                               source_array(8) + 1.0, rtol=0, atol=1e-6)
    stats = db.get("t.stats")
    assert stats["count"] == 300 * 200
    assert stats["mean"] == pytest.approx(float(truth(source_array()).mean()), abs=1e-5)
    assert set(finished(db)) == {"smooth", "scale", "center", "shift", "stats", "other"}
    # smoothed stayed in memory inside stream-1; scaled was written for the global rule
    assert not (root / "images" / "smoothed.raw.vrt").exists()
    assert (root / "images" / "scaled.raw.vrt").exists()


def test_one_audit_entry_and_a_full_record_per_rule(db):
    entries = [e for e in db.audit_log() if (e.message or "").startswith("pep run make: rule")]
    assert sorted(e.message.split()[4] for e in entries) == sorted(finished(db))
    record = db.get("drs.rules.smooth")
    assert record["version"] == "1" and record["stream"].startswith("stream-")
    assert record["params"]["size"]["key"] == "t.size"
    assert record["params"]["size"]["hash"] == db.stamp("t.size").hash
    assert record["inputs"]["src"]["files"][0]["path"] == "data/src.vrt"
    assert record["outputs"]["smoothed"] == {"memory": record["recipe"]}
    assert record["seconds"] >= 0 and record["finished"] is not None


def test_make_again_runs_nothing(db):
    before = finished(db)
    plan = plan_make(db, TARGETS)
    assert plan.steps == [] and plan.analysis.stale == []
    make(db, TARGETS)
    assert rerun(before, finished(db)) == set()


def test_changed_input_reruns_only_its_dependents(db):
    before = finished(db)
    data = source_array()
    data[10, 10] += 1.0
    write_image(Path(db.root) / "data" / "src.vrt", data)
    plan = plan_make(db, TARGETS)
    assert "changed in content" in str(plan.analysis.reasons["smooth"][0])
    make(db, TARGETS)
    assert rerun(before, finished(db)) == {"smooth", "scale", "center", "shift", "stats"}
    np.testing.assert_allclose(read_image(Path(db.root) / "images" / "final.raw.vrt"),
                               truth(data), rtol=0, atol=2e-5)


def test_touched_input_reruns_nothing_and_is_hashed_once(db, monkeypatch):
    raw = Path(db.root) / "data" / "src.raw"
    os.utime(raw, ns=(raw.stat().st_atime_ns, raw.stat().st_mtime_ns + 10**9))
    before = finished(db)
    assert plan_make(db, TARGETS).analysis.stale == []
    make(db, TARGETS)  # caches the new (size, mtime) -> hash
    assert rerun(before, finished(db)) == set()
    import peppers.drs.signatures as signatures

    def no_hashing(path):
        raise AssertionError(f"{path} was hashed although its signature is recorded")

    monkeypatch.setattr(signatures, "sha256_file", no_hashing)
    assert plan_make(db, TARGETS).analysis.stale == []


def test_changed_parameter_reruns_only_its_readers(db):
    before = finished(db)
    db.set("t.offset", 5.0)
    plan = plan_make(db, TARGETS)
    assert [str(r) for r in plan.analysis.reasons["shift"]] == [
        "[params] parameter offset (t.offset) changed: 1.0 -> 5.0"]
    make(db, TARGETS)
    assert rerun(before, finished(db)) == {"shift", "other", "stats"}
    # the same value again: nothing to do (hashes, not times)
    db.set("t.offset", 4.0)
    db.set("t.offset", 5.0)
    assert plan_make(db, TARGETS).analysis.stale == []


def test_force_reruns_everything(db):
    before = finished(db)
    plan = plan_make(db, TARGETS, force=True)
    assert all(plan.analysis.reasons[name][0].trigger == "force"
               for name in plan.analysis.order)
    make(db, TARGETS, force=True)
    assert rerun(before, finished(db)) == set(before)


def test_switched_off_trigger_is_reported_as_ignored(db):
    db.set("t.size", [5, 5])
    plan = plan_make(db, TARGETS, triggers=("input", "code"))
    assert plan.analysis.stale == []
    assert "changed: [3, 3] -> [5, 5]" in str(plan.analysis.ignored["smooth"][0])


def test_operator_version_change_is_a_code_reason(db, monkeypatch):
    from support import drs

    monkeypatch.setattr(drs.AddConst, "version", "2")
    plan = plan_make(db, TARGETS)
    assert [r.trigger for r in plan.analysis.reasons["shift"]] == ["code"]
    assert "operator version 1 -> 2" in str(plan.analysis.reasons["shift"][0])
    assert set(plan.analysis.stale) == {"shift", "stats", "other"}
    assert plan_make(db, TARGETS, triggers=("input", "params")).analysis.stale == []


def test_deleted_output_reruns_its_rule_only(db):
    for suffix in (".raw.vrt", ".raw"):
        (Path(db.root) / "images" / f"final{suffix}").unlink()
    before = finished(db)
    plan = plan_make(db, TARGETS)
    assert plan.analysis.stale == ["shift"]
    assert plan.analysis.reasons["shift"][0].trigger == "missing"
    make(db, TARGETS)
    assert rerun(before, finished(db)) == {"shift"}


def test_half_written_output_is_not_taken_as_done(db):
    path = Path(db.root) / "images" / "centered.raw"
    with open(path, "r+b") as handle:
        handle.write(b"\0" * 64)
    plan = plan_make(db, TARGETS)
    assert plan.analysis.reasons["center"][0].trigger == "missing"
    assert "centered.raw changed in content" in plan.analysis.reasons["center"][0].text


def test_intermediate_needed_again_is_recomputed_not_changed(db):
    before = finished(db)
    db.set("t.factor", 3.0)
    plan = plan_make(db, TARGETS)
    assert [r.trigger for r in plan.analysis.reasons["smooth"]] == ["needed"]
    make(db, TARGETS)
    assert rerun(before, finished(db)) == {"smooth", "scale", "center", "shift", "stats"}
    # smooth's recipe is unchanged, so nothing that reads it is stale afterwards
    assert plan_make(db, TARGETS).analysis.stale == []
