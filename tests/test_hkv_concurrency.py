"""Several processes write the same run at once: no lost update, records always parse.

Four writer processes make 200 writes each. Even writes are transactions
that increment shared counters (read-modify-write of two record files); odd
writes set the writer's own key in a record file all writers share. A
reader process parses every record file and reads every key throughout,
checking that each record parses and no per-writer value ever goes
backwards. At the end every counter must equal the number of increments
made: a single lost update would show.

Made for a loaded machine: the processes are *spawned* (a fork of the
multi-threaded pytest process can inherit a lock some other thread held and
hang); the writers start only after the reader's first pass and, every
:data:`CHECKPOINT` writes, wait until the reader has made another, so reads
and writes overlap by construction, not by the scheduler's grace; the
reader reports any error it meets (it never dies silently), and every wait
is for a state, with a deadline of minutes.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import time
from pathlib import Path

from peppers.hkv import storage
from peppers.hkv import RunDatabase
from peppers.hkv.keys import group_of_relpath
from peppers.hkv.records import parse_record
from peppers.hkv.schema import Schema

WRITERS = 4
WRITES = 200
CHECKPOINT = 50  # writes between two waits for a new reader pass
DEADLINE = 600.0  # seconds any wait of this test may take at most


def _wait_passes(passes, more_than: int, what: str) -> int:
    """Block until the reader made more than ``more_than`` passes; the count."""
    deadline = time.monotonic() + DEADLINE
    while passes.value <= more_than:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the reader made no pass in {DEADLINE:.0f} s ({what})")
        time.sleep(0.005)
    return passes.value


def _writer(root: str, index: int, start, passes, report) -> None:
    db = RunDatabase.open(root)
    start.wait()
    last = -1
    seen = passes.value
    for n in range(WRITES):
        if n % CHECKPOINT == CHECKPOINT - 1:
            seen = _wait_passes(passes, seen, f"writer {index} at write {n}")
        if n % 2 == 0:
            with db.transaction(message=f"writer {index} step {n}") as tx:
                tx.set("counters.total", tx.get("counters.total") + 1)
                tx.set("tallies.increments", tx.get("tallies.increments") + 1)
                tx.set(f"tallies.w{index}", n)
        else:
            # Only this writer writes shared.w<index>: if another writer's
            # read-modify-write of the shared record clobbered it, we see it here.
            found = db.get(f"shared.w{index}", -1)
            if found != last:
                report.put(f"writer {index}: shared.w{index} is {found}, last written {last}")
            db.set(f"shared.w{index}", n)
            last = n


def _reader(root: str, stop, passes, report) -> None:
    reads = problems = 0
    try:
        db = RunDatabase.open(root)
        seen: dict[str, int] = {}
        while not stop.is_set():
            for path in sorted(Path(root).rglob("*.yaml")):
                group = group_of_relpath(path.relative_to(root).as_posix())
                if group is None:
                    continue
                try:
                    parse_record(path.read_bytes(), group, Schema())
                except Exception as error:  # noqa: BLE001 - the reader reports any failure
                    report.put(f"parse {path}: {error}")
                    problems += 1
            for key in [f"shared.w{i}" for i in range(WRITERS)] + ["counters.total"]:
                value = db.get(key, -1)
                if value < seen.get(key, -1):
                    report.put(f"{key} went back from {seen[key]} to {value}")
                    problems += 1
                seen[key] = value
                reads += 1
            total = db.subtree("tallies")
            if total["increments"] < seen.get("tallies", 0):
                report.put("tallies.increments went back")
                problems += 1
            seen["tallies"] = total["increments"]
            with passes.get_lock():
                passes.value += 1
    except BaseException as error:  # noqa: BLE001 - reported, never a silent death
        report.put(f"reader stopped by {type(error).__name__}: {error}")
        problems += 1
    report.put(("done", reads, problems))


def test_four_writers_lose_no_update(tmp_path):
    assert storage.SYNC, "this test checks the real configuration, fsync on"
    root = tmp_path / "run"
    db = RunDatabase.create(root, {"counters.total": {"type": "int", "default": 0},
                                   "tallies.increments": {"type": "int", "default": 0}})
    context = multiprocessing.get_context("spawn")
    start, stop, report = context.Event(), context.Event(), context.Queue()
    passes = context.Value("i", 0)
    reader = context.Process(target=_reader, args=(str(root), stop, passes, report))
    writers = [context.Process(target=_writer, args=(str(root), i, start, passes, report))
               for i in range(WRITERS)]
    reader.start()
    for writer in writers:
        writer.start()
    messages = []
    try:
        _wait_passes(passes, 0, "before the writers start")
        began = time.monotonic()
        start.set()
        for writer in writers:
            writer.join(timeout=DEADLINE)
            assert writer.exitcode == 0, f"writer {writer.pid} exited with {writer.exitcode}"
        elapsed = time.monotonic() - began
        stop.set()
        # Drain while waiting: a process with queued messages cannot exit before they
        # are read. The reader always ends with its ("done", ...) tuple.
        deadline = time.monotonic() + DEADLINE
        while True:
            try:
                message = report.get(timeout=1.0)
            except queue.Empty:
                assert reader.is_alive() or reader.exitcode is None, \
                    f"the reader died (exit {reader.exitcode}) without its report"
                assert time.monotonic() < deadline, "the reader did not stop"
                continue
            if isinstance(message, tuple):
                break
            messages.append(message)
        reader.join(timeout=DEADLINE)
    finally:
        stop.set()
        start.set()
        for process in [reader, *writers]:
            if process.is_alive():
                process.kill()
                process.join()
    _, reads, problems = message
    assert problems == 0 and not messages, messages[:5]
    # The checkpoints made the reader pass at least once per CHECKPOINT writes of each writer.
    assert passes.value >= WRITES // CHECKPOINT

    db = RunDatabase.open(root)
    increments = WRITERS * (WRITES // 2)
    assert db.get("counters.total") == increments
    assert db.get("tallies.increments") == increments
    for i in range(WRITERS):
        assert db.get(f"shared.w{i}") == WRITES - 1
        assert db.get(f"tallies.w{i}") == WRITES - 2
    # Every write is in the audit trail, once.
    changes = [c for e in db.audit_log() if e.kind == "change" for c in e.changes]
    assert sum(c.key == "counters.total" for c in changes) == increments
    assert sum(c.key.startswith("shared.") for c in changes) == WRITERS * (WRITES // 2)
    assert not os.listdir(root / ".peppers" / "journal")
    print(f"{WRITERS} x {WRITES} writes in {elapsed:.1f} s, reader made {reads} reads "
          f"in {passes.value} passes")


def test_get_of_a_key_created_between_its_two_reads_returns_the_value(tmp_path, monkeypatch):
    # get() reads the leaf, then the leaves below it; another process may create the
    # key in between. The race, made deterministic: the first two leaf reads (the
    # database's quick look and the view's) are from before the write. It used to raise "is a value, not a group" (the reader of the test
    # above died of it under load).
    from peppers.hkv import view as view_module

    root = tmp_path / "run"
    db = RunDatabase.create(root, {})
    db.set("shared.w1", 7)
    real_leaf = view_module.View.leaf
    calls = []

    def leaf_read_before_the_write(self, key):
        calls.append(key)
        return view_module.ABSENT if len(calls) <= 2 else real_leaf(self, key)

    monkeypatch.setattr(view_module.View, "leaf", leaf_read_before_the_write)
    assert RunDatabase.open(root).get("shared.w1", -1) == 7
    assert len(calls) >= 3
