"""Where the run monitor keeps its files in a run directory.

Everything lives under ``RUN/.peppers/`` beside HKV's own private files::

    RUN/.peppers/events.jsonl        structured event log (JSON lines)
    RUN/.peppers/process.json        identity of the process running the run now
    RUN/.peppers/logs/               run logs; output of detached runs
    RUN/.peppers/monitor.sock        the monitor endpoint (Unix domain socket)
    RUN/.peppers/monitor.sock.path   pointer to it when the run path is too long

A Unix socket address holds at most 107 bytes of path (108 with the NUL on
Linux). When ``RUN/.peppers/monitor.sock`` is longer, the socket goes to a
short private place -- ``$XDG_RUNTIME_DIR/peppers/`` if that variable is
set, else ``/tmp/peppers-UID/`` (mode 0700) -- under a name hashed from the
run path, and ``monitor.sock.path`` says where; clients follow the pointer.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from peppers.io.atomic import atomic_write_bytes

#: Longest socket path that fits ``sockaddr_un.sun_path`` with its NUL.
MAX_SOCKET_PATH = 107


class RunPaths:
    """The monitor's file names for the run directory ``root``."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root).absolute()
        self.private = self.root / ".peppers"
        self.events = self.private / "events.jsonl"
        self.process = self.private / "process.json"
        self.logs = self.private / "logs"
        self.default_socket = self.private / "monitor.sock"
        self.pointer = self.private / "monitor.sock.path"

    def ensure(self) -> None:
        """Create ``.peppers/`` and ``.peppers/logs/`` if missing."""
        self.logs.mkdir(parents=True, exist_ok=True)

    def socket_for_server(self) -> Path:
        """Where a new server binds: the run's own path, or a short fallback.

        The pointer file is written (fallback) or removed (own path) to match.
        """
        if len(os.fsencode(self.default_socket)) <= MAX_SOCKET_PATH:
            self.pointer.unlink(missing_ok=True)
            return self.default_socket
        digest = hashlib.sha256(os.fsencode(self.root)).hexdigest()[:20]
        base = os.environ.get("XDG_RUNTIME_DIR")
        folder = Path(base) / "peppers" if base else Path(f"/tmp/peppers-{os.getuid()}")
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
        path = folder / f"{digest}.sock"
        if len(os.fsencode(path)) > MAX_SOCKET_PATH:
            raise OSError(f"{path}: even the fallback socket path is longer than "
                          f"{MAX_SOCKET_PATH} bytes; set XDG_RUNTIME_DIR to a short folder")
        atomic_write_bytes(self.pointer, os.fsencode(path) + b"\n")
        return path

    def socket_for_client(self) -> Path:
        """Where the server of this run listens (following the pointer file if any)."""
        try:
            return Path(os.fsdecode(self.pointer.read_bytes().strip()))
        except FileNotFoundError:
            return self.default_socket

    def new_log(self, kind: str, stamp: str) -> Path:
        """``.peppers/logs/<kind>-<stamp>.log`` (the folder is created)."""
        self.ensure()
        return self.logs / f"{kind}-{stamp}.log"

    def write_process(self, data: dict[str, Any]) -> None:
        """Record the identity of the process running the run (atomically)."""
        self.ensure()
        atomic_write_bytes(self.process, json.dumps(data, sort_keys=True).encode() + b"\n")

    def read_process(self) -> dict[str, Any] | None:
        """The last recorded run process, or None if none was ever recorded."""
        try:
            return json.loads(self.process.read_text())
        except (FileNotFoundError, ValueError):
            return None
