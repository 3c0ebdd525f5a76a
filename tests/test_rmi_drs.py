"""``pep run make --detach`` through the scheduler: watch, pause, abort, SIGKILL, resume.

The rule set is a slow local stream (``support.drs.SlowCopy`` sleeps per
tile, then ``Scale`` doubles): 20 tiles of 64 x 64 on 2 threads. The truth
is an uninterrupted ``make`` of the same rules in another run directory.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import numpy as np

from support.drs import PEP, SLOW_CHAIN as RULES, env, make_run, read_image, source_array
from peppers.drs import make
from peppers.rmi import run_status
from peppers.rmi.client import MonitorClient

from support.rmi import wait_for



def _pep(root: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([*PEP, "--run", str(root), *args], env=env(), capture_output=True,
                          text=True, timeout=timeout)


def _done(root: Path) -> int:
    stream = run_status(root).streams.get("stream-1")
    return 0 if stream is None else stream.done


def test_detached_make_pause_abort_kill_and_resume(tmp_path):
    truth_db = make_run(tmp_path, RULES, name="truth")
    truth_db.set("ppe.tile_shape", [64, 64])
    make(truth_db, ["scaled"])
    truth = read_image(Path(truth_db.root) / "images" / "scaled.vrt")
    np.testing.assert_array_equal(truth, source_array() * np.float32(2.0))

    db = make_run(tmp_path, RULES)
    root = Path(db.root)
    db.set("ppe.tile_shape", [64, 64])  # 5 x 4 = 20 tiles
    db.set("t.delay", 0.3)
    started = _pep(root, "run", "make", "scaled", "--detach")
    assert started.returncode == 0, started.stderr
    assert "pep --run" in started.stdout and "monitor attach" in started.stdout
    pid = int(started.stdout.split("pid ")[1].split(",")[0])
    try:
        wait_for(lambda: _done(root) >= 2, what="tiles of the detached make")
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

    killed_after = _done(root)
    assert 2 <= killed_after < 20
    again = _pep(root, "run", "make", "scaled")
    assert again.returncode == 0, again.stderr
    final = run_status(root)
    assert final.state == "finished" and final.streams["stream-1"].skipped > 0
    np.testing.assert_array_equal(read_image(root / "images" / "scaled.vrt"), truth)
