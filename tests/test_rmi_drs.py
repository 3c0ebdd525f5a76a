"""``pep run make --detach`` through the scheduler: watch, pause, resume, SIGKILL, resume.

The rule set is a gated local stream (``support.drs.GatedCopy``, then
``Scale`` doubles): 20 tiles of 64 x 64 on 2 threads, the first stripe of
4 tiles free, the rest held at the test's gate (``support.gate``). The run
therefore cannot end while the test watches it pause and resume, whatever
the machine's load; the gate is opened only for the make after the kill.
The truth is ``2 * input``, and an uninterrupted ``make`` of the same rules.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import numpy as np

from support.drs import PEP, env, gated_run, read_image, source_array
from peppers.drs import make
from peppers.rmi import run_status
from peppers.rmi.client import MonitorClient

from support.rmi import DEADLINE, wait_for


def _pep(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*PEP, "--run", str(root), *args], env=env(), capture_output=True,
                          text=True, timeout=DEADLINE)


def _done(root: Path) -> int:
    stream = run_status(root).streams.get("stream-1")
    return 0 if stream is None else stream.done


def _journaled(root: Path) -> int:
    return sum(p.read_text().count("done ") for p in
               (root / ".peppers" / "streams").glob("stream-1.journal.*")
               if not p.name.endswith(".complete"))


def test_detached_make_pause_abort_kill_and_resume(tmp_path):
    truth_db, truth_gate = gated_run(tmp_path, 0, name="truth")
    truth_gate.open()
    make(truth_db, ["scaled"])
    truth = read_image(Path(truth_db.root) / "images" / "scaled.raw.vrt")
    np.testing.assert_array_equal(truth, source_array() * np.float32(2.0))

    db, gate = gated_run(tmp_path, 64)  # the first stripe (4 tiles) runs; the rest waits
    root = Path(db.root)
    started = _pep(root, "run", "make", "scaled", "--detach")
    assert started.returncode == 0, started.stderr
    assert "pep --run" in started.stdout and "monitor attach" in started.stdout
    pid = int(started.stdout.split("pid ")[1].split(",")[0])
    try:
        wait_for(lambda: _done(root) >= 1 and _journaled(root) >= 2,
                 what="journaled tiles of the detached make")
        state = run_status(root)
        assert state.state == "running" and state.process["pid"] == pid
        assert state.streams["stream-1"].rules == ["slow", "scale"]

        paused = _pep(root, "monitor", "pause")
        assert paused.returncode == 0, paused.stderr
        wait_for(lambda: run_status(root).state == "paused", what="paused")
        with MonitorClient.connect(root) as observer:
            snapshot = observer.request("status")["state"]
            assert snapshot["state"] == "paused" and snapshot["controller"] is None
        assert _pep(root, "monitor", "resume").returncode == 0
        wait_for(lambda: run_status(root).state == "running", what="resumed")

        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: run_status(root).state == "dead", what="dead status")
        status = _pep(root, "monitor", "status")
        assert status.returncode == 3 and "dead" in status.stdout and f"pid {pid}" in status.stdout
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    killed_after = _journaled(root)
    assert 2 <= killed_after <= 4       # only the first stripe could pass the gate
    gate.open()
    again = _pep(root, "run", "make", "scaled")
    assert again.returncode == 0, again.stderr
    final = run_status(root)
    assert final.state == "finished" and final.streams["stream-1"].skipped >= killed_after
    np.testing.assert_array_equal(read_image(root / "images" / "scaled.raw.vrt"), truth)
