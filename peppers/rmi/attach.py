"""``pep monitor attach``: watch (and, with ``--control``, steer) a live run.

The client subscribes to the run's monitor: it receives a snapshot of the
run's state, then every event, and folds them into its own
:class:`~peppers.rmi.state.RunStatus`, redrawn with rich's ``Live`` a few
times a second. The terminal is put in cbreak mode (keys arrive one at a
time, without Enter) and restored on the way out, whatever happens.

Keys: ``q`` detaches -- it closes this connection only; the run goes on
(if this client held control, control is released). A controller also has
``p`` pause, ``r`` resume, ``a`` abort (press twice), ``+``/``-`` one thread
more/less, ``]``/``[`` double/halve the cache budget, ``h`` hand control to
the first observer who asked for it, ``c`` release control; an observer's
``c`` asks for control (taken if free; otherwise the holder is named and
may hand it over). When the run ends, the view shows the final state and
returns.
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
import termios
import tty
from typing import Any, Iterator, TextIO

from rich.console import Console
from rich.live import Live

from peppers.errors import MonitorError
from peppers.ppe.cache import format_bytes, parse_mem
from peppers.rmi.client import MonitorClient
from peppers.rmi.state import TERMINAL, RunStatus
from peppers.rmi.view import render


@contextlib.contextmanager
def cbreak(stream: TextIO) -> Iterator[int | None]:
    """Put a terminal in cbreak mode for the block; yields its fd (None if not a tty)."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        yield None
        return
    if not os.isatty(fd):
        yield fd
        return
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        yield fd
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


class Attached:
    """The state of one attached view: the client, the folded run state, the keys."""

    def __init__(self, client: MonitorClient, run: str) -> None:
        self.client = client
        self.run = run
        self.state = RunStatus()
        self.clients: list[dict[str, Any]] = []
        self.message = ""
        self.confirm_abort = False
        self.mem: int | None = None
        self.ended = False

    def receive(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "snapshot":
            self.state = RunStatus.from_dict(message["state"])
            self.clients = list(message["state"].get("clients") or [])
        elif kind == "event":
            self.state.apply(message["event"])
        elif kind == "clients":
            self.clients = list(message.get("clients") or [])
        if self.state.state in TERMINAL:
            self.ended = True

    @property
    def controlling(self) -> bool:
        holder = self.state.controller
        return bool(holder) and holder.get("id") == self.client.cid

    def key(self, key: str) -> bool:
        """Act on one key; False means detach."""
        if key == "q":
            return False
        abort_pending, self.confirm_abort = self.confirm_abort, False
        try:
            if key == "c":
                action = "release" if self.controlling else "take"
                self.client.request("control", action=action)
                self.message = "control released" if action == "release" else "you have control"
            elif not self.controlling:
                if key in "prah+-[]":
                    self.message = "that key needs control: press c to ask for it"
            elif key == "p":
                self._command("pause")
            elif key == "r":
                self._command("resume")
            elif key == "a":
                if abort_pending:
                    self._command("abort")
                else:
                    self.confirm_abort = True
                    self.message = "press a again to abort the run (resumable)"
            elif key in "+-":
                now = self._threads()
                self._command("threads", max(1, now + (1 if key == "+" else -1)))
            elif key in "[]":
                base = self.mem or parse_mem("512M")
                self.mem = max(1 << 20, base * 2 if key == "]" else base // 2)
                self._command("mem", format_bytes(self.mem))
            elif key == "h":
                self.client.request("control", action="handover", to="next")
                self.message = "control handed over"
        except MonitorError as error:
            self.message = str(error)
        return True

    def _command(self, action: str, value: Any = None) -> None:
        fields = {"action": action} if value is None else {"action": action, "value": value}
        self.client.request("command", **fields)
        self.message = f"{action}" + ("" if value is None else f" {value}") + ": done"

    def _threads(self) -> int:
        running = [s.threads for s in self.state.streams.values() if s.state == "running"]
        return int(self.state.settings.get("threads") or (running[-1] if running else 1))

    def view(self) -> Any:
        return render(self.state, run=self.run, clients=self.clients, me=self.client.cid,
                      message=self.message)


def attach(run_root: str | os.PathLike, *, control: bool = False, console: Console | None = None,
           keys: TextIO | None = None, refresh: float = 4.0) -> int:
    """Attach to the run in ``run_root`` until ``q`` or the run's end; return 0.

    Parameters
    ----------
    run_root : path-like
        The run directory.
    control : bool
        Take the control lock first (refused, naming the holder, if taken).
    console : rich.console.Console, optional
        Where to draw (default: the terminal).
    keys : text stream, optional
        Where keys come from (default ``sys.stdin``).
    refresh : float
        Redraws per second.

    Raises
    ------
    MonitorError
        No live monitor, refused, or control held by someone else.
    """
    keys = sys.stdin if keys is None else keys
    client = MonitorClient.connect(run_root, role="control" if control else "observe")
    with client, cbreak(keys) as fd:
        if control:
            client.request("control", action="take")
        client.request("subscribe")
        view = Attached(client, os.fspath(run_root))
        for message in list(client.pushed):
            view.receive(message)
        client.pushed.clear()
        with Live(view.view(), console=console, refresh_per_second=refresh,
                  auto_refresh=False) as live:
            running = True
            while running and not view.ended:
                waiting = [client.sock] + ([fd] if fd is not None else [])
                readable, _, _ = select.select(waiting, [], [], 1.0 / refresh)
                try:
                    while (message := client.poll(0.0)) is not None:
                        view.receive(message)
                except MonitorError:
                    view.ended = True
                    view.message = "the run closed the connection"
                if fd is not None and fd in readable:
                    data = os.read(fd, 64).decode(errors="replace")
                    if not data:
                        fd = None
                    for key in data:
                        if not view.key(key):
                            running = False
                            break
                live.update(view.view(), refresh=True)
    return 0
