"""``pep monitor attach`` in a pseudo-terminal: it draws the view, keys work, q detaches."""

from __future__ import annotations

import fcntl
import os
import select
import struct
import subprocess
import sys
import termios
import time

from rich.console import Console

from peppers.rmi import RunStatus, detach, run_status, wait_started
from peppers.rmi.view import render

from support.rmi import DEADLINE, gate, wait_for, write_script


class Terminal:
    """A command running on a pseudo-terminal of 120 x 40, its screen output collected."""

    def __init__(self, argv):
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        self.process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave,
                                        start_new_session=True,
                                        env=dict(os.environ, TERM="xterm-256color"))
        os.close(slave)
        self.screen = b""

    def read_until(self, *needles: bytes, timeout: float = DEADLINE) -> None:
        deadline = time.monotonic() + timeout
        while not all(n in self.screen for n in needles):
            left = deadline - time.monotonic()
            assert left > 0, f"never drew {needles}; screen tail: {self.screen[-2000:]!r}"
            ready, _, _ = select.select([self.master], [], [], min(left, 0.2))
            if ready:
                try:
                    self.screen += os.read(self.master, 65536)
                except OSError:
                    break

    def key(self, data: bytes) -> None:
        os.write(self.master, data)

    def exit_code(self, timeout: float = DEADLINE) -> int:
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                try:
                    self.screen += os.read(self.master, 65536)
                except OSError:
                    pass
        return self.process.wait(timeout=DEADLINE)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self.master)


def test_attach_renders_controls_and_detaches_in_a_pty(tmp_path):
    script = write_script(tmp_path)
    root = tmp_path / "run"
    root.mkdir()
    gate(root, 64)  # 16 tiles, then the run waits: it is still running when the test looks
    pid = detach(root, [sys.executable, str(script), str(root), "0.15"])
    pep = [sys.executable, "-m", "peppers.cli.main", "--run", str(root), "monitor", "attach"]
    try:
        wait_started(root, pid, timeout=DEADLINE)
        wait_for((root / ".peppers" / "monitor.sock").exists, what="the socket")
        watcher = Terminal(pep)
        try:
            watcher.read_until(b"peppers monitor", b"streams", b"s1", b"tiles/s", b"ETA",
                               b"cache hits", b"q detach")
            watcher.key(b"p")                                    # not the controller
            watcher.read_until(b"needs control")
            watcher.key(b"q")
            assert watcher.exit_code() == 0
        finally:
            watcher.close()
        assert run_status(root).state == "running"               # detaching left it running

        controller = Terminal(pep + ["--control"])
        try:
            controller.read_until(b"(you)", b"p pause")
            controller.key(b"p")
            wait_for(lambda: run_status(root).state == "paused", what="paused from the view")
            controller.key(b"q")
            assert controller.exit_code() == 0
        finally:
            controller.close()
        # The controller left: control is free again, and anyone may take it.
        resume = subprocess.run(pep[:-1] + ["resume"], capture_output=True, text=True,
                                timeout=DEADLINE)
        assert resume.returncode == 0, resume.stderr
        wait_for(lambda: run_status(root).state == "running", what="resumed")
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)


def test_view_renders_state_without_a_terminal():
    state = RunStatus.fold([
        {"t": 100.0, "kind": "run_start", "process": {"user": "ana", "host": "h1", "pid": 42}},
        {"t": 101.0, "kind": "stream_start", "stream": "stream-1", "rules": ["flat", "filt"],
         "total": 40, "skipped": 4, "threads": 2},
        {"t": 105.0, "kind": "tile", "stream": "stream-1", "done": 24, "total": 40,
         "elapsed": 4.0, "threads": 2, "hit_rate": 0.5,
         "nodes": {"flat": [20, 1.0], "filt": [20, 3.0]}},
        {"t": 105.5, "kind": "log", "level": "INFO", "message": "hello from the run"},
    ])
    with open(os.devnull, "w") as sink:
        console = Console(width=120, record=True, file=sink)
        console.print(render(state, run="/runs/r1"))
    text = console.export_text()
    for piece in ("ana@h1 pid 42", "stream-1", "24/40", "5.0", "2s", "50%", "flat", "filt",
                  "50.0", "150.0", "hello from the run", "/runs/r1"):
        assert piece in text, piece
    # ETA: 20 tiles ran costing 4.0 s of compute -> 0.2 s each; 16 left on 2 threads: 1.6 s.
    assert abs(state.streams["stream-1"].eta - 1.6) < 1e-9
