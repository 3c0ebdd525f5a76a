"""The monitor endpoint of a running run: a Unix socket served by one thread.

The run process starts a :class:`MonitorServer` beside its work. One
thread multiplexes every connection with :mod:`selectors` on non-blocking
sockets, so no client -- slow, stuck, hostile -- can block the run: the run
only appends events to a queue (:meth:`MonitorServer.publish`) and wakes
the thread through a socket pair.

Per connection: the kernel's peer credentials are checked first
(:mod:`peppers.rmi.peercred`; a refused peer gets one ``refused`` line and
is closed); then messages are read through a
:class:`~peppers.rmi.protocol.LineBuffer` (64 KiB per line; see
:mod:`peppers.rmi.protocol` for what is refused and how); a subscriber whose
unsent output passes :data:`MAX_BACKLOG` is dropped rather than buffered
without end.

Control: at most one connection holds control. ``take`` succeeds when no
one holds it, else the reply names the holder (user, host, pid -- from the
kernel, not from what the client claims) and the client is remembered as
wanting control; the holder may ``release`` it or ``handover`` to another
connection; when the holder's connection closes, control is free again.
Only the holder's ``command`` requests reach the :class:`RunControl`.
"""

from __future__ import annotations

import logging
import os
import pwd
import selectors
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from peppers.rmi.control import RunControl
from peppers.rmi.paths import RunPaths
from peppers.rmi.peercred import PeerCredentials, authorize, peer_credentials
from peppers.rmi.protocol import LineBuffer, ProtocolError, check_request, encode
from peppers.rmi.state import RunStatus

log = logging.getLogger("peppers.rmi")

#: Unsent bytes after which a client is dropped.
MAX_BACKLOG = 4 * 1024 * 1024


@dataclass
class _Client:
    cid: int
    sock: socket.socket
    creds: PeerCredentials
    user: str
    since: float
    reader: LineBuffer = field(default_factory=LineBuffer)
    out: bytearray = field(default_factory=bytearray)
    role: str = "observe"
    subscribed: bool = False
    wants_control: bool = False
    closing: bool = False

    def who(self) -> dict[str, Any]:
        return {"id": self.cid, "user": self.user, "host": socket.gethostname(),
                "pid": self.creds.pid, "role": self.role, "since": round(self.since, 3),
                "wants_control": self.wants_control}


class MonitorServer:
    """Serves the monitor protocol for one run (see the module notes).

    Parameters
    ----------
    paths : RunPaths
        The run's files (the socket's place).
    control : RunControl
        Receives the controller's commands.
    group : str, optional
        A group whose members may attach besides the owner (HKV ``rmi.group``).
    """

    def __init__(self, paths: RunPaths, control: RunControl, group: str | None = None) -> None:
        self.paths = paths
        self.control = control
        self.group = group
        self.owner = os.geteuid()
        self.state = RunStatus()
        self.refused = 0
        self.address = None
        self._clients: dict[int, _Client] = {}
        self._controller: int | None = None
        self._inbox: deque[dict[str, Any]] = deque()
        self._next = 1
        self._stop = False
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------
    def start(self) -> "MonitorServer":
        """Bind the socket (mode 0600) and start serving in a daemon thread."""
        self.address = self.paths.socket_for_server()
        self.address.unlink(missing_ok=True)
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(os.fspath(self.address))
        os.chmod(self.address, 0o600)
        self._listener.listen(64)
        self._listener.setblocking(False)
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._sel = selectors.DefaultSelector()
        self._sel.register(self._listener, selectors.EVENT_READ, "accept")
        self._sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        self._thread = threading.Thread(target=self._serve, name="rmi-monitor", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Flush what can be sent, close every connection and remove the socket."""
        if self._thread is None:
            return
        self._stop = True
        self._wake()
        self._thread.join(5.0)
        self._thread = None
        for client in list(self._clients.values()):
            self._close(client, quiet=True)
        for sock in (self._listener, self._wake_r, self._wake_w):
            sock.close()
        self._sel.close()
        if self.address is not None:
            self.address.unlink(missing_ok=True)
        self.paths.pointer.unlink(missing_ok=True)

    def publish(self, event: dict[str, Any]) -> None:
        """Hand one event to the server thread (any thread; never blocks on clients)."""
        self._inbox.append(event)
        self._wake()

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except (BlockingIOError, OSError):
            pass

    # -- the loop -------------------------------------------------------------------
    def _serve(self) -> None:
        while not self._stop:
            for key, mask in self._sel.select(timeout=1.0):
                try:
                    if key.data == "accept":
                        self._accept()
                    elif key.data == "wake":
                        self._drain_wake()
                    else:
                        self._io(key.data, mask)
                except Exception:  # noqa: BLE001 - one client must never stop the server
                    log.exception("monitor: error serving a connection")
                    if isinstance(key.data, _Client):
                        self._close(key.data)
            self._dispatch_events()
        self._dispatch_events()
        for client in list(self._clients.values()):
            self._flush(client)

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass

    def _accept(self) -> None:
        try:
            sock, _ = self._listener.accept()
        except BlockingIOError:
            return
        creds = peer_credentials(sock)
        reason = authorize(creds, self.owner, self.group)
        if reason is not None:
            self.refused += 1
            self.control.log.emit("log", level="WARNING",
                                  message=f"monitor: refused pid {creds.pid}: {reason}")
            try:
                sock.setblocking(True)
                sock.settimeout(1.0)
                sock.sendall(encode({"type": "refused", "error": reason}))
            except OSError:
                pass
            sock.close()
            return
        sock.setblocking(False)
        client = _Client(self._next, sock, creds, _user_name(creds.uid), time.time())
        self._next += 1
        self._clients[client.cid] = client
        self._sel.register(sock, selectors.EVENT_READ, client)
        self._send(client, {"type": "welcome", "id": client.cid, "run": str(self.paths.root)})
        self._broadcast_clients()

    def _io(self, client: _Client, mask: int) -> None:
        if mask & selectors.EVENT_WRITE:
            self._flush(client)
        if mask & selectors.EVENT_READ and client.cid in self._clients:
            try:
                data = client.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            if not data:
                if client.reader.pending:
                    log.info("monitor: client %d closed mid-message (%d bytes dropped)",
                             client.cid, client.reader.pending)
                self._close(client)
                return
            for item in client.reader.feed(data):
                if isinstance(item, ProtocolError):
                    self._send(client, {"type": "error", "error": str(item)})
                    if item.fatal:
                        client.closing = True
                        break
                else:
                    self._request(client, item)
            if client.closing:
                self._flush(client)
                self._close(client)

    # -- requests -------------------------------------------------------------------
    def _request(self, client: _Client, msg: dict[str, Any]) -> None:
        reply: dict[str, Any] = {"type": "ok"}
        if "id" in msg:
            reply["id"] = msg["id"]
        try:
            check_request(msg)
            op = msg["op"]
            if op == "hello":
                client.role = "control" if msg.get("role") == "control" else "observe"
                reply["you"] = client.who()
            elif op == "status":
                reply["state"] = self.snapshot()
            elif op == "subscribe":
                client.subscribed = True
                self._send(client, {"type": "snapshot", "state": self.snapshot()})
            elif op == "control":
                self._control(client, msg)
                reply["holder"] = self._holder()
            else:
                self._command(client, msg)
        except (ProtocolError, ValueError, TypeError) as error:
            reply = {"type": "error", "error": str(error), **({"id": msg["id"]} if "id" in msg
                                                             else {})}
        self._send(client, reply)

    def _control(self, client: _Client, msg: dict[str, Any]) -> None:
        action, holder = msg["action"], self._controller
        if action == "take":
            if holder not in (None, client.cid):
                client.wants_control = True
                who = self._clients[holder].who()
                raise ValueError(f"control is held by {who['user']}@{who['host']} pid "
                                 f"{who['pid']} (connection {holder}); ask them to hand it over")
            self._set_controller(client.cid)
        elif holder != client.cid:
            raise ValueError(f"cannot {action}: this connection does not hold control")
        elif action == "release":
            self._set_controller(None)
        else:
            target = msg.get("to")
            if target == "next":
                target = next((c.cid for c in self._clients.values()
                               if c.wants_control and c.cid != client.cid), None)
            if target not in self._clients or target == client.cid:
                raise ValueError(f"handover: no other connection {msg.get('to')!r} to hand "
                                 "control to")
            self._set_controller(target)

    def _command(self, client: _Client, msg: dict[str, Any]) -> None:
        if self._controller != client.cid:
            holder = self._holder()
            raise ValueError("commands need control; " + (
                f"it is held by {holder['user']}@{holder['host']} pid {holder['pid']}"
                if holder else "take it first (pep monitor attach --control)"))
        who = client.who()
        by = f"{who['user']}@{who['host']} pid {who['pid']}"
        action = msg["action"]
        if action == "threads":
            self.control.set_threads(msg.get("value"), by)
        elif action == "mem":
            self.control.set_mem(msg.get("value"), by)
        else:
            getattr(self.control, action)(by)

    def _set_controller(self, cid: int | None) -> None:
        if cid == self._controller:
            return
        self._controller = cid
        if cid is not None:
            self._clients[cid].wants_control = False
            self._clients[cid].role = "control"
        self.control.log.emit("controller", holder=self._holder())

    def _holder(self) -> dict[str, Any] | None:
        client = self._clients.get(self._controller) if self._controller else None
        return client.who() if client else None

    def snapshot(self) -> dict[str, Any]:
        """The run's state as the server knows it, with the connected clients."""
        data = self.state.to_dict()
        data["clients"] = [c.who() for c in self._clients.values()]
        data["refused"] = self.refused
        return data

    # -- output ---------------------------------------------------------------------
    def _dispatch_events(self) -> None:
        while self._inbox:
            event = self._inbox.popleft()
            self.state.apply(event)
            for client in list(self._clients.values()):
                if client.subscribed:
                    self._send(client, {"type": "event", "event": event})

    def _broadcast_clients(self) -> None:
        clients = [c.who() for c in self._clients.values()]
        for client in list(self._clients.values()):
            if client.subscribed:
                self._send(client, {"type": "clients", "clients": clients})

    def _send(self, client: _Client, message: dict[str, Any]) -> None:
        if client.cid not in self._clients:
            return
        try:
            client.out += encode(message)
        except ProtocolError as error:
            client.out += encode({"type": "error", "error": f"reply not sent: {error}"})
        if len(client.out) > MAX_BACKLOG:
            log.warning("monitor: dropping client %d, %d bytes unread", client.cid,
                        len(client.out))
            self._close(client)
            return
        self._flush(client)

    def _flush(self, client: _Client) -> None:
        if client.cid not in self._clients:
            return
        try:
            while client.out:
                sent = client.sock.send(client.out)
                del client.out[:sent]
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self._close(client)
            return
        mask = selectors.EVENT_READ | (selectors.EVENT_WRITE if client.out else 0)
        self._sel.modify(client.sock, mask, client)

    def _close(self, client: _Client, quiet: bool = False) -> None:
        if self._clients.pop(client.cid, None) is None:
            return
        try:
            self._sel.unregister(client.sock)
        except (KeyError, ValueError):
            pass
        client.sock.close()
        if quiet:
            return
        if self._controller == client.cid:
            self._set_controller(None)
        self._broadcast_clients()


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)
