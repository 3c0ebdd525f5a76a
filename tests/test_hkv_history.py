"""Snapshots: content-addressed, diff-able, restorable; images by reference only."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peppers.errors import HKVError
from peppers.hkv import ABSENT, RunDatabase
from support.hkv import fresh_run, key_paths, same, values

pytestmark = pytest.mark.usefixtures("no_fsync")  # throw-away runs: no fsync

operations = st.lists(st.tuples(key_paths, values | st.just(ABSENT)), max_size=6)


def _apply(db, ops) -> None:
    for key, value in ops:
        try:
            if value is ABSENT:
                db.delete(key)
            else:
                db.set(key, value)
        except KeyError:  # a missing key to delete, or a value/group clash: refused
            pass


def _state(db) -> dict:
    return {key: db.get(key) for key in db.keys()}


def _same_state(a: dict, b: dict) -> bool:
    return sorted(a) == sorted(b) and all(same(a[k], b[k]) for k in a)


@settings(max_examples=25)
@given(operations, operations)
def test_snapshot_diff_restore(first, second):
    with fresh_run() as db:
        _apply(db, first)
        before = _state(db)
        db.snapshot("a")
        _apply(db, second)
        after = _state(db)
        changes = db.diff("a", "current")
        # The diff is exactly the set of keys whose values differ.
        differing = {k for k in set(before) | set(after)
                     if k not in before or k not in after or not same(before[k], after[k])}
        assert {c.key for c in changes} == differing
        for change in changes:
            assert same(change.old, before.get(change.key, ABSENT))
            assert same(change.new, after.get(change.key, ABSENT))
        restored = db.restore("a")
        assert {c.key for c in restored} == differing
        assert _same_state(_state(db), before)
        assert _same_state(_state(RunDatabase.open(db.root)), before)
        if differing:  # the state left behind was kept, and can come back
            label = db.snapshots()[-1].label
            assert label.startswith("pre-restore-")
            db.restore(label)
            assert _same_state(_state(db), after)


def test_snapshots_are_content_addressed(tmp_path):
    db = RunDatabase.create(tmp_path / "run", {"a.b": {"type": "int", "default": 1}})
    db.set("big.text", "x" * 10000)
    first = db.snapshot("one", "baseline")
    objects = tmp_path / "run/.peppers/history/objects"
    count = sum(1 for p in objects.rglob("*") if p.is_file())
    second = db.snapshot("two")
    assert second == first  # same state, same id
    assert sum(1 for p in objects.rglob("*") if p.is_file()) == count  # no new blobs
    db.set("a.b", 2)
    third = db.snapshot("three")
    assert third != first
    assert sum(1 for p in objects.rglob("*") if p.is_file()) == count + 1  # only the changed file
    infos = db.snapshots()
    assert [i.label for i in infos] == ["one", "two", "three"]
    assert infos[0].message == "baseline" and infos[0].records == 2
    assert [c.key for c in db.diff("one", "three")] == ["a.b"]
    assert db.diff(first[:10], "current") == db.diff("one", "current")  # id prefix works
    with pytest.raises(HKVError, match="already exists"):
        db.snapshot("one")
    with pytest.raises(HKVError, match="reserved"):
        db.snapshot("current")
    with pytest.raises(HKVError, match="no such snapshot"):
        db.restore("nope")


def test_images_are_referenced_with_hash_never_copied(tmp_path):
    db = RunDatabase.create(tmp_path / "run")
    image = db.path_of("images/ifg.raw")
    image.write_bytes(b"\x01" * 1_000_000)
    ref = db.image_ref("images/ifg.raw")
    db.set("products.ifg", ref)
    db.set("products.unhashed", db.image_ref("images/ifg.raw", compute_hash=False))
    db.snapshot("s")
    history = tmp_path / "run/.peppers/history"
    assert sum(p.stat().st_size for p in history.rglob("*") if p.is_file()) < 100_000
    manifest = (history / "snapshots/s.json").read_text()
    assert ref.sha256 in manifest and '"images/ifg.raw"' in manifest
    assert db.snapshots()[0].images == 1


def test_restore_is_logged_with_every_key(tmp_path):
    db = RunDatabase.create(tmp_path / "run")
    db.set("a.x", 1)
    db.snapshot("s")
    db.set("a.x", 2)
    db.set("b.y", 3)
    db.restore("s")
    entry = [e for e in db.audit_log() if e.kind == "restore"][-1]
    assert [(c.key, c.old, c.new) for c in entry.changes] == [("a.x", 2, 1), ("b.y", 3, ABSENT)]
    assert db.stamp("a.x").mtime >= entry.time.replace(microsecond=0)
