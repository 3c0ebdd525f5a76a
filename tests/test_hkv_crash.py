"""A writer killed with SIGKILL at random moments never damages the run.

Fifty times, a writer process is started on the same run and, once it has
finished its first step, killed at a random moment (uniform within the next
80 ms; writes are a few milliseconds each, so most kills land inside a
write). Waiting for the first step keeps the test meaningful on a loaded
machine, where a writer may be slow to get going. Its steps cycle through
the three commit paths: a transaction over two records (journal), a single
set (one rename), and a delete that empties a record (journal with a
delete). The writer logs ``begin n`` / ``done n`` around each step. After
each kill the run must open; every record must parse; the values must be
those after the last finished step, or after the step in flight (old or
new, never a mixture: the two keys of a transaction always agree); and the
audit trail, replayed from an empty run, must give exactly the current
state (every change that happened is logged, none that did not).
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from pathlib import Path

from peppers.hkv import storage
from peppers.hkv import ABSENT, RunDatabase
from peppers.hkv.keys import group_of_relpath
from peppers.hkv.records import parse_record
from peppers.hkv.schema import Schema

KILLS = 50


def plan(n: int, state: dict) -> dict:
    """The changes of step ``n`` given the state before it (key -> value or ABSENT)."""
    if n % 3 == 0:
        return {"a.x": n, "b.y": n}
    if n % 3 == 1:
        return {"c.z": n}
    return {"d.w": ABSENT} if "d.w" in state else {"d.w": n}


def apply(state: dict, changes: dict) -> dict:
    out = dict(state)
    for key, value in changes.items():
        if value is ABSENT:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def _writer(root: str, first: int, log_path: str, ready) -> None:
    db = RunDatabase.open(root)
    state = {k: db.get(k) for k in db.keys()}
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    ready.set()
    n = first
    while True:
        changes = plan(n, state)
        os.write(log, f"begin {n}\n".encode())
        if len(changes) > 1:
            with db.transaction(message=f"step {n}") as tx:
                for key, value in changes.items():
                    tx.set(key, value)
        elif next(iter(changes.values())) is ABSENT:
            db.delete(next(iter(changes)))
        else:
            db.set(*next(iter(changes.items())))
        os.write(log, f"done {n}\n".encode())
        state = apply(state, changes)
        n += 1


def _state(root: Path) -> dict:
    db = RunDatabase.open(root)  # must open, finishing any interrupted commit
    for path in root.rglob("*.yaml"):
        group = group_of_relpath(path.relative_to(root).as_posix())
        if group is not None:
            parse_record(path.read_bytes(), group, Schema())  # must parse
    return {k: db.get(k) for k in db.keys()}


def _replay_audit(root: Path) -> dict:
    state: dict = {}
    for entry in RunDatabase.open(root).audit_log():
        for change in entry.changes:
            state = apply(state, {change.key: change.new})
    return state


def _wait_for_first_step(log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log_path.exists() and "done" in log_path.read_text():
            return
        time.sleep(0.002)
    raise AssertionError(f"writer finished no step within {timeout} s")


def test_sigkill_at_random_moments_leaves_old_or_new(tmp_path):
    assert storage.SYNC, "this test checks the real configuration, fsync on"
    root = tmp_path / "run"
    RunDatabase.create(root)
    context = multiprocessing.get_context("fork")
    rng = random.Random(20240501)
    state, n = {}, 0
    in_flight = 0
    for attempt in range(KILLS):
        log_path = tmp_path / f"log{attempt}"
        ready = context.Event()
        child = context.Process(target=_writer, args=(str(root), n, str(log_path), ready))
        child.start()
        assert ready.wait(600), "writer did not start"
        _wait_for_first_step(log_path, timeout=600)
        time.sleep(rng.uniform(0, 0.08))
        os.kill(child.pid, signal.SIGKILL)
        child.join(600)
        assert child.exitcode == -signal.SIGKILL

        lines = log_path.read_text().split()
        done = [int(v) for k, v in zip(lines[::2], lines[1::2]) if k == "done"]
        begun = [int(v) for k, v in zip(lines[::2], lines[1::2]) if k == "begin"]
        for step in done:
            state = apply(state, plan(step, state))
        n = (done[-1] + 1) if done else n
        actual = _state(root)
        if begun and (not done or begun[-1] > done[-1]):
            in_flight += 1
            new = apply(state, plan(begun[-1], state))
            assert actual in (state, new), (attempt, begun[-1], actual, state, new)
            if actual == new and new != state:
                state, n = new, begun[-1] + 1
        else:
            assert actual == state, (attempt, actual, state)
        assert actual.get("a.x") == actual.get("b.y")
    assert in_flight >= KILLS // 2, f"only {in_flight} kills landed inside a write"
    assert n >= KILLS, "every writer finishes one step before it is killed"
    assert _replay_audit(root) == _state(root)
    # Some kills landed between a write's audit entry and its commit point:
    # recovery marked those writes aborted (and they are not in the replay).
    raw = RunDatabase.open(root)._audit.entries(include_aborted=True)
    assert any(entry.kind == "abort" for entry in raw)
