"""A real detached run, watched by three observers and steered by one controller.

The run is ``tests/support/rmi.py``'s slow stream (64 tiles, a sleep
per tile) started with :func:`peppers.rmi.detach` in its own session. The
truth the outputs are checked against is ``2 * input``, computed here.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from peppers.errors import MonitorError
from peppers.rmi import detach, run_status, wait_started
from peppers.rmi.client import MonitorClient
from peppers.rmi.state import RunStatus

from support.rmi import (DEADLINE, TILES, computed, expected, gate, output, run_foreground,
                          wait_for, write_script)

DELAY = 0.06  # seconds per tile: slow enough to watch; a rerun must use the same


def _start(tmp_path, delay: float, open_rows: float):
    script = write_script(tmp_path)
    root = tmp_path / "run"
    root.mkdir()
    held = gate(root, open_rows)
    pid = detach(root, [sys.executable, str(script), str(root), str(delay)])
    wait_started(root, pid, timeout=DEADLINE)
    wait_for(lambda: (root / ".peppers" / "monitor.sock").exists(), what="the socket")
    return script, root, pid, held


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


class Watcher:
    """A subscribed client folding what it receives, like ``pep monitor attach``."""

    def __init__(self, root, role="observe"):
        self.client = MonitorClient.connect(root, role=role)
        self.client.request("subscribe")
        self.state = RunStatus()
        self.closed = False

    def pump(self, timeout=0.05):
        try:
            while (message := self.client.poll(timeout)) is not None:
                if message["type"] == "snapshot":
                    self.state = RunStatus.from_dict(message["state"])
                elif message["type"] == "event":
                    self.state.apply(message["event"])
                timeout = 0.0
        except MonitorError:  # the run ended and closed the connection
            self.closed = True
        return self.state

    def done(self):
        stream = self.pump().streams.get("s1")
        return 0 if stream is None else stream.done


def test_detached_run_observers_controller_pause_resume_threads_abort(tmp_path):
    script, root, pid, held_at = _start(tmp_path, DELAY, open_rows=64)  # 2 stripes, 16 tiles
    try:
        observers = [Watcher(root) for _ in range(3)]
        controller = Watcher(root, role="control")
        controller.client.request("control", action="take")
        wait_for(lambda: all(o.done() >= 4 for o in observers), what="progress everywhere")

        # A second controller is refused, and told who holds control.
        with MonitorClient.connect(root, role="control") as second:
            with pytest.raises(MonitorError, match=rf"held by .*@.* pid {os.getpid()}"):
                second.request("control", action="take")
            with pytest.raises(MonitorError, match="commands need control"):
                second.request("command", action="pause")

        # Pause: running tiles finish, none start; every observer sees it.
        controller.client.request("command", action="pause")
        at_pause = computed(root)
        wait_for(lambda: all(o.pump().state == "paused" for o in observers), what="paused")
        held_at.open_to(128)  # two more stripes could run now: a pause must hold them
        # The engine had at most 2 x threads tiles submitted at the pause; they finish.
        wait_for(lambda: run_status(root).streams["s1"].done == controller.done()
                 == computed(root) > 0, what="settled count")
        # A thread count while paused: the driver applies it at its gate and says so
        # (stream_settings), so it went round its loop, paused, after the gate opened
        # wider -- and started no tile (a state to wait for, not a window of time).
        controller.client.request("command", action="threads", value=3)
        wait_for(lambda: controller.pump().streams["s1"].threads == 3,
                 what="the paused stream applying 3 threads")
        held = controller.done()
        assert held == computed(root) <= at_pause + 4 < TILES
        assert run_status(root).state == "paused"

        # Cache budget on the fly, then resume.
        controller.client.request("command", action="mem", value="16M")
        with pytest.raises(MonitorError, match="threads must be an integer"):
            controller.client.request("command", action="threads", value=0)
        controller.client.request("command", action="resume")
        wait_for(lambda: controller.done() > held + 2, what="progress after resume")
        assert controller.pump().streams["s1"].threads == 3
        assert controller.state.settings["mem"] == "16.0 MiB"

        # Abort: a clean stop, not every tile done, the run says so.
        controller.client.request("command", action="abort")
        held_at.open()  # the tiles waiting at the gate finish; no new one starts
        wait_for(lambda: run_status(root).state == "aborted", what="aborted")
        _reap(pid)
        assert all(o.pump(0.5).state == "aborted" and o.closed for o in observers)
        aborted = run_status(root).streams["s1"]
        assert aborted.state == "aborted" and aborted.done < TILES
    finally:
        _kill(pid)

    # make again: resumes past the journaled tiles, output identical to the truth.
    again = run_foreground(script, root, DELAY)
    assert again.returncode == 0, again.stderr
    final = run_status(root)
    assert final.state == "finished"
    assert final.streams["s1"].skipped >= aborted.done - 4  # journaled before the abort
    np.testing.assert_array_equal(output(root), expected())


def test_sigkill_status_reports_dead_and_make_resumes(tmp_path):
    script, root, pid, held_at = _start(tmp_path, DELAY, open_rows=128)  # 32 tiles
    wait_for(lambda: run_status(root).streams.get("s1") and
             run_status(root).streams["s1"].done >= 12, what="some tiles")
    os.kill(pid, signal.SIGKILL)
    _reap(pid)
    state = run_status(root)
    assert state.state == "dead" and f"pid {pid}" in state.note
    cli = subprocess.run([sys.executable, "-m", "peppers.cli.main", "--run", str(root),
                          "monitor", "status", "--json"], capture_output=True, text=True,
                         timeout=DEADLINE)
    assert cli.returncode == 3 and json.loads(cli.stdout)["state"] == "dead"
    with pytest.raises(MonitorError, match="no live run monitor"):
        MonitorClient.connect(root)

    held_at.open()
    again = run_foreground(script, root, DELAY)
    assert again.returncode == 0, again.stderr
    resumed = run_status(root)
    assert resumed.state == "finished" and resumed.streams["s1"].skipped > 0
    np.testing.assert_array_equal(output(root), expected())


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    _reap(pid)
