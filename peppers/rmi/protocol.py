"""The monitor protocol: newline-delimited JSON over a Unix socket, version 1.

Every message is one JSON object on one line, at most :data:`MAX_MESSAGE`
bytes (64 KiB) with its newline, and carries ``"v": 1``. Clients send
requests with an ``op`` and an optional ``id`` that the reply echoes;
the server sends replies (``type`` = ``ok``/``error``/``refused``) and, to
subscribers, pushed messages (``type`` = ``snapshot``/``event``/``control``).

Requests (client -> server)::

    {"v":1, "op":"hello", "user":"ana", "host":"h1", "pid":42, "role":"observe"}
    {"v":1, "op":"status"}                     -> {"type":"ok", "state":{...}}
    {"v":1, "op":"subscribe"}                  -> snapshot, then events as they come
    {"v":1, "op":"control", "action":"take"|"release"|"handover", "to":3}
    {"v":1, "op":"command", "action":"pause"|"resume"|"abort"}
    {"v":1, "op":"command", "action":"threads", "value":4}
    {"v":1, "op":"command", "action":"mem", "value":"1G"}

A line that is not JSON, not an object, of another version or unknown
``op`` gets an ``error`` reply and the connection stays open; a line over
64 KiB (e.g. 10 MB of garbage without a newline) gets an ``error`` reply
and the connection is closed at once, after reading no more than the limit;
a connection that closes mid-line is dropped. None of this reaches the run.
"""

from __future__ import annotations

import json
from typing import Any

PROTOCOL = 1
MAX_MESSAGE = 64 * 1024

OPS = ("hello", "status", "subscribe", "control", "command")
CONTROL_ACTIONS = ("take", "release", "handover")
COMMANDS = ("pause", "resume", "abort", "threads", "mem")


class ProtocolError(ValueError):
    """A message breaks the protocol; ``fatal`` ones close the connection."""

    def __init__(self, message: str, fatal: bool = False) -> None:
        super().__init__(message)
        self.fatal = fatal


def encode(message: dict[str, Any]) -> bytes:
    """One message as a line of bytes (``v`` added).

    Raises
    ------
    ProtocolError
        If the message has its own ``v`` (the key is the protocol's: a
        message's ``v`` would replace the version and the other side would
        refuse the line), or the encoded line is longer than
        :data:`MAX_MESSAGE`.
    """
    if "v" in message:
        raise ProtocolError(f"message key 'v' is reserved for the protocol version "
                            f"(got v={message['v']!r})")
    line = json.dumps({"v": PROTOCOL, **message}, separators=(",", ":"),
                      default=str).encode() + b"\n"
    if len(line) > MAX_MESSAGE:
        raise ProtocolError(f"message of {len(line)} bytes is over the {MAX_MESSAGE}-byte limit")
    return line


def decode(line: bytes) -> dict[str, Any]:
    """Parse one line (without its newline) into a message.

    Raises
    ------
    ProtocolError
        If it is not UTF-8 JSON, not an object, or has another protocol version.
    """
    try:
        message = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise ProtocolError(f"malformed message (not JSON): {error}") from None
    if not isinstance(message, dict):
        raise ProtocolError(f"malformed message: a JSON object is needed, got "
                            f"{type(message).__name__}")
    if message.get("v") != PROTOCOL:
        raise ProtocolError(f"protocol version {message.get('v')!r} is not supported; "
                            f"this side speaks version {PROTOCOL}")
    return message


def check_request(message: dict[str, Any]) -> None:
    """Validate a request's ``op`` and its fields.

    Raises
    ------
    ProtocolError
        Naming the field at fault and the values allowed.
    """
    op = message.get("op")
    if op not in OPS:
        raise ProtocolError(f"unknown op {op!r}; expected one of {', '.join(OPS)}")
    if op == "control" and message.get("action") not in CONTROL_ACTIONS:
        raise ProtocolError(f"control: action {message.get('action')!r} is not one of "
                            f"{', '.join(CONTROL_ACTIONS)}")
    if op == "command" and message.get("action") not in COMMANDS:
        raise ProtocolError(f"command: action {message.get('action')!r} is not one of "
                            f"{', '.join(COMMANDS)}")


class LineBuffer:
    """Splits a byte stream into messages, refusing lines over the limit.

    Feed it what ``recv`` returned; it yields decoded messages and
    :class:`ProtocolError` objects (not raised, so one bad line does not hide
    the good ones after it). After a fatal error it accepts nothing more.
    """

    def __init__(self, limit: int = MAX_MESSAGE) -> None:
        self.limit = limit
        self._buffer = bytearray()
        self.broken = False

    def feed(self, data: bytes) -> list[dict[str, Any] | ProtocolError]:
        if self.broken:
            return []
        self._buffer += data
        out: list[dict[str, Any] | ProtocolError] = []
        while True:
            end = self._buffer.find(b"\n")
            if end < 0:
                break
            line = bytes(self._buffer[:end])
            del self._buffer[:end + 1]
            if end + 1 > self.limit:
                return self._fatal(out, end + 1)
            if line.strip():
                try:
                    out.append(decode(line))
                except ProtocolError as error:
                    out.append(error)
        if len(self._buffer) >= self.limit:
            return self._fatal(out, len(self._buffer))
        return out

    def _fatal(self, out: list, size: int) -> list:
        self.broken = True
        self._buffer.clear()
        out.append(ProtocolError(f"oversized message: {size} bytes or more without a newline, "
                                 f"the limit is {self.limit}", fatal=True))
        return out

    @property
    def pending(self) -> int:
        """Bytes of an unfinished line held (a truncated message if the peer closes now)."""
        return len(self._buffer)
