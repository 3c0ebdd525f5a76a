"""Process identity: who runs a run, and is it still alive?

A pid alone does not name a process for long: pids are reused, and a spool
directory or a run directory on a shared file system is seen from several
hosts. peppers names a process by its **identity** -- host name, pid, and
the kernel's start time of that pid (field 22 of ``/proc/PID/stat``, in
clock ticks since boot, together with the boot id) -- and asks three
questions of it:

``alive``
    Same host, ``/proc/PID`` exists, is not a zombie, and started at the
    recorded time: the very process still runs.
``dead``
    Same host and any of those fails: it crashed, was killed, or its pid now
    belongs to someone else.
``unknown``
    Another host: it cannot be checked from here, so callers treat it as
    alive (waiting is safe; stealing a lock is not).
"""

from __future__ import annotations

import getpass
import os
import socket
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

_PROC = Path("/proc")


def _boot_id() -> str:
    try:
        return (_PROC / "sys/kernel/random/boot_id").read_text().strip()
    except OSError:  # pragma: no cover - not Linux
        return ""


def _stat(pid: int) -> tuple[str, int] | None:
    """State letter and start time (ticks since boot) of ``pid``, or None if gone."""
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except (OSError, ValueError):
        return None
    fields = text[text.rindex(")") + 2:].split()  # the name may hold spaces and ')'
    return fields[0], int(fields[19])


@dataclass(frozen=True)
class ProcessId:
    """A process named beyond pid reuse.

    Attributes
    ----------
    host : str
        Host name.
    pid : int
        Process id on that host.
    start : str
        ``BOOT_ID:TICKS``, the kernel's start time of the pid in this boot.
    user : str
        Login name of its owner (for messages).
    """

    host: str
    pid: int
    start: str
    user: str = ""

    @classmethod
    def of(cls, pid: int | None = None) -> "ProcessId":
        """The identity of ``pid`` (default: this process) on this host."""
        pid = os.getpid() if pid is None else int(pid)
        stat = _stat(pid)
        start = f"{_boot_id()}:{stat[1]}" if stat else ""
        return cls(socket.gethostname(), pid, start, _user())

    @classmethod
    def from_dict(cls, data: Any) -> "ProcessId":
        """Rebuild from :meth:`to_dict` output (as read from JSON).

        Raises
        ------
        ValueError
            If a field is missing or has the wrong type.
        """
        if not isinstance(data, dict):
            raise ValueError(f"a process identity must be a mapping, got {type(data).__name__}")
        try:
            return cls(str(data["host"]), int(data["pid"]), str(data["start"]),
                       str(data.get("user", "")))
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"bad process identity {data!r}: {error}") from None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def state(self) -> str:
        """``alive``, ``dead`` or ``unknown`` (another host); see the module notes."""
        if self.host != socket.gethostname():
            return "unknown"
        stat = _stat(self.pid)
        if stat is None or stat[0] in ("Z", "X"):
            return "dead"
        if self.start and self.start != f"{_boot_id()}:{stat[1]}":
            return "dead"
        return "alive"

    def __str__(self) -> str:
        who = f"{self.user}@" if self.user else ""
        return f"{who}{self.host} pid {self.pid}"


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - no passwd entry
        return str(os.getuid())
