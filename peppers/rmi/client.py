"""Talking to a run's monitor: :class:`MonitorClient`.

A blocking client for the command line and tests. Replies and pushed
messages share the connection, so :meth:`MonitorClient.request` reads
until the reply carrying its ``id`` arrives and keeps the pushed messages
it passes (snapshot, events, client lists) for :meth:`MonitorClient.poll`.

Example (needs a running monitored run, so it is not a doctest)::

    with MonitorClient.connect("myrun") as c:
        c.request("control", action="take")
        c.request("command", action="pause")
"""

from __future__ import annotations

import os
import select
import socket
import time
from collections import deque
from typing import Any

from peppers.errors import MonitorError
from peppers.rmi.paths import RunPaths
from peppers.rmi.protocol import LineBuffer, ProtocolError, encode


class MonitorClient:
    """One connection to a run's monitor socket."""

    def __init__(self, sock: socket.socket, where: str) -> None:
        self.sock = sock
        self.where = where
        self.reader = LineBuffer()
        self.pushed: deque[dict[str, Any]] = deque()
        self.cid: int | None = None
        self._ready: deque[dict[str, Any]] = deque()
        self._next = 1

    @classmethod
    def connect(cls, run_root: str | os.PathLike, role: str = "observe",
                timeout: float = 5.0) -> "MonitorClient":
        """Connect to the run in ``run_root`` and say hello.

        Raises
        ------
        MonitorError
            No live monitor there (names the socket and what to do), or the
            server refused this user.
        """
        address = RunPaths(run_root).socket_for_client()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(os.fspath(address))
        except OSError as error:
            sock.close()
            raise MonitorError(f"{address}: no live run monitor ({error.strerror or error}); "
                               "'pep monitor status' reads the event log instead") from None
        client = cls(sock, str(address))
        welcome = client.next_message(timeout)
        if welcome.get("type") == "refused":
            client.close()
            raise MonitorError(f"{address}: refused: {welcome.get('error')}")
        client.cid = welcome.get("id")
        client.request("hello", role=role, pid=os.getpid(), host=socket.gethostname())
        return client

    def send(self, message: dict[str, Any]) -> None:
        try:
            self.sock.sendall(encode(message))
        except OSError as error:
            raise MonitorError(f"{self.where}: connection lost ({error})") from None

    def request(self, op: str, timeout: float = 10.0, **fields: Any) -> dict[str, Any]:
        """Send a request and return its ``ok`` reply.

        Raises
        ------
        MonitorError
            The server answered with an error (its message), or went away.
        """
        rid = self._next
        self._next += 1
        self.send({"op": op, "id": rid, **fields})
        deadline = time.monotonic() + timeout
        while True:
            message = self.next_message(max(0.0, deadline - time.monotonic()), pushed=False)
            if message.get("id") == rid:
                if message.get("type") != "ok":
                    raise MonitorError(f"{op}: {message.get('error', message)}")
                return message
            self.pushed.append(message)

    def next_message(self, timeout: float | None = None, pushed: bool = True) -> dict[str, Any]:
        """The next message from the server (held pushed ones first).

        Raises
        ------
        MonitorError
            On timeout, a closed connection or a protocol violation.
        """
        if pushed and self.pushed:
            return self.pushed.popleft()
        message = self.poll(timeout, hold=False)
        if message is None:
            raise MonitorError(f"{self.where}: no answer within {timeout} s")
        return message

    def poll(self, timeout: float | None = 0.0, hold: bool = True) -> dict[str, Any] | None:
        """A message if one arrives within ``timeout`` seconds, else None."""
        if hold and self.pushed:
            return self.pushed.popleft()
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if self._ready:
                return self._ready.popleft()
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            readable, _, _ = select.select([self.sock], [], [], left)
            if not readable:
                return None
            try:
                data = self.sock.recv(65536)
            except OSError as error:
                raise MonitorError(f"{self.where}: connection lost ({error})") from None
            if not data:
                raise MonitorError(f"{self.where}: the run closed the connection")
            items = self.reader.feed(data)
            bad = [i for i in items if isinstance(i, ProtocolError)]
            if bad:
                raise MonitorError(f"{self.where}: bad message from the server: {bad[0]}")
            self._ready.extend(items)

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "MonitorClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
