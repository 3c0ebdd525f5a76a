"""The RunDatabase API: layout, groups, stamps, transactions, threads, portability."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import tarfile
import threading
import time

import pytest

from peppers.errors import HKVError, KeyPathError
from peppers.hkv import ImageRef, KeyStamp, RunDatabase
from peppers.hkv.database import utc_from_ns
from peppers.hkv.values import value_hash

pytestmark = pytest.mark.usefixtures("no_fsync")  # throw-away runs: no fsync

PARAMETERS = {
    "insar.coherence.window": {"type": "list[int]", "default": [5, 5],
                               "doc": "Coherence estimation window [rows, cols]."},
    "insar.looks": {"type": "int", "default": 4, "doc": "Multilook factor."},
}


@pytest.fixture
def db(tmp_path):
    return RunDatabase.create(tmp_path / "run", PARAMETERS)


def test_layout_one_file_per_group(db):
    db.set("top", 1)
    db.set("insar.filter.alpha", 0.5)
    root = db.root
    assert (root / "records.yaml").read_text().splitlines()[1] == "top: 1"
    text = (root / "records/insar/coherence.yaml").read_text()
    assert "# Coherence estimation window [rows, cols].\nwindow: [5, 5]\n" in text
    assert "alpha: 0.5" in (root / "records/insar/filter.yaml").read_text()
    assert (root / ".peppers/run.yaml").is_file() and (root / ".peppers/audit.jsonl").is_file()
    assert "insar.looks" in (root / ".peppers/parameters.yaml").read_text()


def test_groups_keys_subtree(db):
    db.set("insar.filter.alpha", 0.5)
    assert db.keys() == ["insar.coherence.window", "insar.filter.alpha", "insar.looks"]
    assert db.keys("insar.coherence") == ["insar.coherence.window"]
    assert db.keys("insar.looks") == ["insar.looks"]
    assert db.keys("insar.co") == []  # prefixes are whole identifiers
    tree = {"coherence": {"window": [5, 5]}, "filter": {"alpha": 0.5}, "looks": 4}
    assert db.get("insar") == tree == db.subtree("insar")
    assert db.subtree("") == {"insar": tree}
    assert db.subtree("nothing") == {}
    with pytest.raises(KeyPathError, match="is a value"):
        db.subtree("insar.looks")
    db.delete("insar")
    assert db.keys() == []


def test_mapping_values_are_leaves(db):
    db.set("meta.info", {"any key": [1, 2], "1": None})
    assert db.keys("meta") == ["meta.info"]
    assert db.get("meta.info") == {"any key": [1, 2], "1": None}
    with pytest.raises(KeyPathError, match="meta.info is a value"):
        db.set("meta.info.x", 1)


def _file_clock_past(folder, moment: dt.datetime) -> None:
    """Wait until a file written in ``folder`` now gets an mtime later than ``moment``.

    A state, not a time: file times come from the kernel's coarse clock, so a
    test that needs a later stamp waits for that clock to move on.
    """
    probe = folder / ".clock-probe"
    end = time.monotonic() + 600
    try:
        while True:
            probe.write_bytes(b"")
            if utc_from_ns(probe.stat().st_mtime_ns) > moment:
                return
            assert time.monotonic() < end, f"the file clock never passed {moment}"
    finally:
        probe.unlink(missing_ok=True)


def test_stamps_are_per_key(db):
    db.set("g.a", 1)
    db.set("g.b", 1)
    a = db.stamp("g.a")
    assert isinstance(a, KeyStamp) and a.hash == value_hash(1)
    assert a.mtime.tzinfo is not None
    _file_clock_past(db.root, a.mtime)
    db.set("g.b", 2)  # a sibling in the same record changes
    assert db.stamp("g.a") == a
    assert db.stamp("g.b").mtime > a.mtime
    db.set("g.b", 2)  # no change, no new stamp
    assert db.stamp("g.b") == db.stamp("g.b")
    group = db.stamp("g")
    assert group.mtime == db.stamp("g.b").mtime
    _file_clock_past(db.root, group.mtime)
    db.set("g.a", 5)
    assert db.stamp("g").hash != group.hash
    with pytest.raises(KeyPathError):
        db.stamp("g.missing")


def test_hand_edit_moves_the_stamp_to_the_file_time(db):
    db.set("g.a", 1)
    db.set("g.b", 1)
    before = db.stamp("g.a")
    _file_clock_past(db.root, before.mtime)
    path = db.root / "records/g.yaml"
    path.write_text(path.read_text().replace("a: 1", "a: 7"))
    after = db.stamp("g.a")
    assert after.hash == value_hash(7) and after.mtime > before.mtime
    assert abs(after.mtime.timestamp() - path.stat().st_mtime) < 1e-3
    assert db.stamp("g.b").mtime < after.mtime  # untouched key keeps its time


def test_transaction_sees_its_own_changes_and_commits_all(db):
    with db.transaction("both") as tx:
        tx.set("a.x", 1)
        tx.set("b.y", tx.get("a.x") + 1)
        assert tx.get("a") == {"x": 1}
        assert db.get("a.x", None) is None  # not visible outside before commit
        tx.delete("insar.looks")
        assert tx.keys("insar") == ["insar.coherence.window"]
        with pytest.raises(HKVError, match="inside db.transaction"):
            db.set("c.z", 1)
    assert (db.get("a.x"), db.get("b.y")) == (1, 2)
    assert db.get("insar.looks", None) is None
    with pytest.raises(HKVError, match="already ended"):
        tx.set("a.x", 3)


def test_transaction_refuses_clashes_atomically(db):
    with pytest.raises(KeyPathError):
        with db.transaction() as tx:
            tx.set("new.value", 1)
            tx.set("insar.looks.sub", 1)
    assert db.get("new.value", None) is None


def test_threads_share_a_database(db):
    db.set("count.n", 0)

    def work():
        for _ in range(25):
            with db.transaction() as tx:
                tx.set("count.n", tx.get("count.n") + 1)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert db.get("count.n") == 100


def test_a_moved_or_archived_run_opens_elsewhere(db, tmp_path):
    image = db.path_of("images/dem.raw")
    image.write_bytes(bytes(range(256)) * 100)
    db.set("products.dem", db.image_ref("images/dem.raw"))
    db.set("when.created", dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc))
    db.snapshot("s")
    moved = tmp_path / "elsewhere" / "run2"
    shutil.move(str(db.root), moved)
    again = RunDatabase.open(moved)
    ref = again.get("products.dem")
    assert isinstance(ref, ImageRef) and not os.path.isabs(ref.path)
    data = again.path_of(ref.path).read_bytes()
    assert hashlib.sha256(data).hexdigest() == ref.sha256 and len(data) == ref.size
    assert again.diff("s") == []
    # Nothing in the run names where it used to be.
    for path in moved.rglob("*"):
        if path.is_file() and not path.name.endswith(".lock"):
            assert str(tmp_path) not in path.read_text(errors="replace"), path
    with tarfile.open(tmp_path / "run.tar", "w") as archive:
        archive.add(moved, arcname="run")
    with tarfile.open(tmp_path / "run.tar") as archive:
        archive.extractall(tmp_path / "unpacked", filter="data")
    assert RunDatabase.open(tmp_path / "unpacked/run").get("products.dem") == ref


def test_paths_must_stay_inside(db):
    with pytest.raises(HKVError, match="leaves the run"):
        db.path_of("../x")
    with pytest.raises(HKVError, match="absolute"):
        db.path_of("/etc/passwd")
