"""Several processes write the same run at once: no lost update, records always parse.

Four writer processes make 200 writes each. Even writes are transactions
that increment shared counters (read-modify-write of two record files); odd
writes set the writer's own key in a record file all writers share. A
reader process parses every record file and reads every key throughout,
checking that each record parses and no per-writer value ever goes
backwards. At the end every counter must equal the number of increments
made: a single lost update would show.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

from peppers.hkv import storage
from peppers.hkv import RunDatabase
from peppers.hkv.keys import group_of_relpath
from peppers.hkv.records import parse_record
from peppers.hkv.schema import Schema

WRITERS = 4
WRITES = 200


def _writer(root: str, index: int, start: multiprocessing.Event, report) -> None:
    db = RunDatabase.open(root)
    start.wait()
    last = -1
    for n in range(WRITES):
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


def _reader(root: str, stop: multiprocessing.Event, report) -> None:
    db = RunDatabase.open(root)
    seen: dict[str, int] = {}
    reads = problems = 0
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
        seen["tallies"] = total["increments"]
    report.put(("done", reads, problems))


def test_four_writers_lose_no_update(tmp_path):
    assert storage.SYNC, "this test checks the real configuration, fsync on"
    root = tmp_path / "run"
    db = RunDatabase.create(root, {"counters.total": {"type": "int", "default": 0},
                                   "tallies.increments": {"type": "int", "default": 0}})
    context = multiprocessing.get_context("fork")
    start, stop, report = context.Event(), context.Event(), context.Queue()
    reader = context.Process(target=_reader, args=(str(root), stop, report))
    writers = [context.Process(target=_writer, args=(str(root), i, start, report))
               for i in range(WRITERS)]
    reader.start()
    for writer in writers:
        writer.start()
    began = time.monotonic()
    start.set()
    for writer in writers:
        writer.join(timeout=120)
        assert writer.exitcode == 0, f"writer {writer.pid} exited with {writer.exitcode}"
    elapsed = time.monotonic() - began
    stop.set()
    messages = []
    while True:
        message = report.get(timeout=60)
        if isinstance(message, tuple):
            break
        messages.append(message)
    reader.join(timeout=30)
    _, reads, problems = message
    assert problems == 0 and not messages, messages[:5]
    assert reads > 100, "the reader hardly ran: the test would not show torn reads"

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
    print(f"{WRITERS} x {WRITES} writes in {elapsed:.1f} s, reader made {reads} reads")
