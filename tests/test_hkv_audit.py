"""Every change appears in the audit trail, with who, where, which command, old and new."""

from __future__ import annotations

import getpass
import json
import os
import socket

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peppers.hkv import ABSENT, RunDatabase
from support.hkv import fresh_run, key_paths, same, values

pytestmark = pytest.mark.usefixtures("no_fsync")  # throw-away runs: no fsync

steps = st.lists(st.tuples(st.sampled_from(["set", "delete", "tx"]), key_paths, values,
                           key_paths, values), min_size=1, max_size=8)


@settings(max_examples=30)
@given(steps)
def test_replaying_the_audit_trail_gives_the_state(plan):
    with fresh_run() as db:
        db.record_command(["pep", "test", "run"])
        for action, key, value, key2, value2 in plan:
            try:
                if action == "set":
                    db.set(key, value)
                elif action == "delete":
                    db.delete(key)
                else:
                    with db.transaction("two at once") as tx:
                        tx.set(key, value)
                        tx.set(key2, value2)
            except KeyError:  # refused (missing key, value/group clash): nothing changes
                pass
        replayed: dict = {}
        for entry in db.audit_log():
            assert entry.pid == os.getpid() and entry.argv == ["pep", "test", "run"]
            for change in entry.changes:
                assert same(change.old, replayed.get(change.key, ABSENT))
                if change.new is ABSENT:
                    del replayed[change.key]
                else:
                    replayed[change.key] = change.new
        state = {k: db.get(k) for k in db.keys()}
        assert sorted(replayed) == sorted(state)
        assert all(same(replayed[k], state[k]) for k in state)


def test_entry_fields_and_file_format(tmp_path):
    db = RunDatabase.create(tmp_path / "run", {"insar.looks": {"type": "int", "default": 2}})
    db.record_command(["pep", "set", "insar.looks", "4"])
    db.set("insar.looks", 4)
    db.set("insar.looks", 4)  # no change: no entry
    with db.transaction("move") as tx:
        tx.delete("insar.looks")
        tx.set("insar.n_looks", 4)
    entries = db.audit_log()
    assert [e.kind for e in entries] == ["create", "command", "change", "change"]
    created, command, change, moved = entries
    assert [(c.key, c.old, c.new) for c in created.changes] == [("insar.looks", ABSENT, 2)]
    assert command.argv == ["pep", "set", "insar.looks", "4"]
    assert change.user == getpass.getuser() and change.host == socket.gethostname()
    assert change.argv == command.argv and change.time.tzinfo is not None
    assert [(c.key, c.old, c.new) for c in change.changes] == [("insar.looks", 2, 4)]
    assert moved.message == "move"
    assert [(c.key, c.kind) for c in moved.changes] == [("insar.looks", "removed"),
                                                        ("insar.n_looks", "added")]
    lines = (tmp_path / "run/.peppers/audit.jsonl").read_text().splitlines()
    record = json.loads(lines[2])
    assert record["changes"] == [{"key": "insar.looks", "old": "2", "new": "4"}]
    assert {"time", "user", "host", "pid", "argv", "kind", "txid"} <= set(record)


def test_failed_transaction_leaves_no_trace(tmp_path):
    db = RunDatabase.create(tmp_path / "run")
    db.set("a.x", 1)
    count = len(db.audit_log())
    try:
        with db.transaction() as tx:
            tx.set("a.x", 2)
            tx.set("b.y", 3)
            raise RuntimeError("changed my mind")
    except RuntimeError:
        pass
    assert db.get("a.x") == 1 and db.keys() == ["a.x"]
    assert len(db.audit_log()) == count
