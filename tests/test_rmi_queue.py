"""Resource queues: first come, one at a time, crashed holders recovered."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace

import numpy as np

from peppers.rmi import ProcessId, ResourceQueue, detach, last_run, wait_started
from peppers.rmi.paths import RunPaths

from support.rmi import DEADLINE, expected, gate, output, wait_for, write_script


def _sleeper() -> subprocess.Popen:
    """A live process until killed (its pid holds a ticket)."""
    return subprocess.Popen([sys.executable, "-c", "import signal; signal.pause()"])


def _kill_all(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


def _events(root, kind: str) -> list[dict]:
    return [e for e in last_run(RunPaths(root).events) if e["kind"] == kind]


def test_two_runs_on_one_resource_run_one_after_the_other(tmp_path, monkeypatch):
    monkeypatch.setenv("PEPPERS_SPOOL", str(tmp_path / "spool"))
    script = write_script(tmp_path)
    roots, pids = [tmp_path / "a", tmp_path / "b"], []
    for root in roots:
        root.mkdir()
    try:
        first_gate = gate(roots[0], 0)  # the first run holds the resource until the test lets go
        pids.append(detach(roots[0], [sys.executable, str(script), str(roots[0]), "0.03",
                                      "cluster"]))
        wait_for(lambda: _events(roots[0], "stream_start"), what="the first run's stream")
        pids.append(detach(roots[1], [sys.executable, str(script), str(roots[1]), "0.03",
                                      "cluster"]))
        wait_for(lambda: any(e["position"] == 1 for e in _events(roots[1], "queue")),
                 what="the second run waiting in the queue")
        first_gate.open()
        for root, pid in zip(roots, pids):
            wait_for(lambda: _events(root, "run_end"), what=f"the end of {root.name}")
            os.waitpid(pid, 0)
    finally:
        _kill_all(pids)
    runs = {root.name: last_run(RunPaths(root).events) for root in roots}
    for events in runs.values():
        assert events[-1]["kind"] == "run_end" and events[-1]["status"] == "ok"
    first, second = sorted(runs.values(), key=lambda ev: next(
        e["t"] for e in ev if e["kind"] == "stream_start"))
    # The second waited in position 1 and started only after the first ended.
    assert any(e["kind"] == "queue" and e["position"] == 1 for e in second)
    start = next(e["t"] for e in second if e["kind"] == "stream_start")
    assert start >= first[-1]["t"]
    for root in roots:
        np.testing.assert_array_equal(output(root), expected())
    assert ResourceQueue("cluster").tickets() == []   # both gave the resource up


def test_stale_ticket_of_a_killed_holder_is_recovered(tmp_path):
    queue = ResourceQueue("cluster", tmp_path)
    holder = _sleeper()
    try:
        stale = queue.enqueue(ProcessId.of(holder.pid), "/runs/dead")
    finally:
        holder.kill()
        holder.wait()
    listing = subprocess.run([sys.executable, "-m", "peppers.cli.main", "queue", "--json"],
                             env=dict(os.environ, PEPPERS_SPOOL=str(tmp_path)),
                             capture_output=True, text=True, timeout=DEADLINE)
    assert listing.returncode == 0, listing.stderr
    rows = json.loads(listing.stdout)
    assert [(r["resource"], r["position"], r["state"]) for r in rows] == [("cluster", 0, "stale")]

    mine = queue.acquire(ProcessId.of(), "/runs/mine", poll=0.01)   # does not wait forever
    assert not stale.path.exists() and queue.position(mine) == 0
    queue.release(mine)
    assert queue.tickets() == []


def test_order_positions_and_what_counts_as_dead(tmp_path):
    queue = ResourceQueue("gpu.0", tmp_path)
    me = ProcessId.of()
    first = queue.enqueue(me, "/runs/1")
    second = queue.enqueue(me, "/runs/2")
    remote = queue.enqueue(replace(me, host="elsewhere.invalid"), "/runs/3")
    recycled = queue.enqueue(replace(me, start=me.start + "0"), "/runs/4")  # pid reused
    assert [queue.position(t) for t in (first, second, remote, recycled)] == [0, 1, 2, 3]
    assert remote.state() == "unknown" and recycled.state() == "dead"
    assert [t.number for t in queue.reap()] == [recycled.number]
    queue.release(first)
    assert queue.position(second) == 0 and queue.position(remote) == 1
    assert queue.enqueue(me, "/runs/5").number == recycled.number + 1  # never reused
