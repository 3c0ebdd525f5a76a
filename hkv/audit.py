"""The audit trail: an append-only log of every change and every command.

``.peppers/audit.jsonl`` holds one JSON object per line::

    {"time": "2024-05-01T12:00:00.123456+00:00", "user": "ana", "host": "n1",
     "pid": 4242, "argv": ["pep", "set", "insar.looks", "4"], "kind": "change",
     "txid": "...", "message": null,
     "changes": [{"key": "insar.looks", "old": "2", "new": "4"}]}

``old`` and ``new`` are the values' one-line YAML text (see
:func:`~peppers.hkv.values.value_text`), or ``null`` when the key did not
exist before / does not exist after. Kinds: ``create``, ``command`` (a
``pep`` command line), ``change`` (a set, delete or transaction),
``snapshot``, ``restore`` and ``abort``.

Ordering against a crash: a write appends its entry (synced) *before* its
change becomes visible. If the writer dies in between, crash recovery finds
its temporary files and appends an ``abort`` entry with the same ``txid``;
:meth:`AuditLog.entries` drops the aborted entry. So every change that
happened is in the trail, and no change that did not happen is reported.
Appends are serialised by ``.peppers/locks/audit.lock`` and done with one
``write`` on an ``O_APPEND`` descriptor.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import getpass
import json
import os
import socket
import sys
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from peppers.errors import HKVError, naming
from peppers.hkv.locks import FileLock
from peppers.hkv import storage
from peppers.hkv.storage import Layout
from peppers.hkv.values import UTC, parse_value, value_text


class _Absent:
    """The value of a key that does not exist (before creation, after deletion)."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ABSENT"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self):
        return (_Absent, ())


#: Marks "no value": the old value of a created key, the new one of a deleted key.
ABSENT: Any = _Absent()


@dataclass(frozen=True)
class Change:
    """One key's change: ``old`` and ``new`` values, :data:`ABSENT` if missing.

    Examples
    --------
    >>> Change("insar.looks", 2, 4).kind
    'changed'
    """

    key: str
    old: Any = ABSENT
    new: Any = ABSENT

    @property
    def kind(self) -> str:
        """``added``, ``removed`` or ``changed``."""
        if self.old is ABSENT:
            return "added"
        if self.new is ABSENT:
            return "removed"
        return "changed"

    def to_plain(self) -> dict[str, Any]:
        """JSON-ready form: values as one-line YAML text, absent as null."""
        return {"key": self.key,
                "old": None if self.old is ABSENT else value_text(self.old),
                "new": None if self.new is ABSENT else value_text(self.new)}

    @classmethod
    def from_plain(cls, data: dict[str, Any]) -> "Change":
        def value(text):
            return ABSENT if text is None else parse_value(text, f"audit change of {data['key']}")
        return cls(data["key"], value(data.get("old")), value(data.get("new")))


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit trail (see the module docstring for the fields)."""

    time: _dt.datetime
    user: str
    host: str
    pid: int
    argv: list[str]
    kind: str
    txid: str | None = None
    message: str | None = None
    changes: list[Change] = field(default_factory=list)

    def to_plain(self) -> dict[str, Any]:
        """The JSON object written for this entry."""
        return {"time": self.time.isoformat(), "user": self.user, "host": self.host,
                "pid": self.pid, "argv": list(self.argv), "kind": self.kind,
                "txid": self.txid, "message": self.message,
                "changes": [c.to_plain() for c in self.changes]}


def current_user() -> str:
    """The login name, or ``uid<N>`` where there is none (containers)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid{os.getuid()}"


class AuditLog:
    """Appends to and reads ``.peppers/audit.jsonl``.

    Parameters
    ----------
    layout : Layout
        The run's paths.
    """

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.argv: list[str] = list(sys.argv)
        self._user = current_user()
        self._host = socket.gethostname()

    def append(self, kind: str, *, txid: str | None = None, changes: Iterable[Change] = (),
               message: str | None = None, argv: Sequence[str] | None = None) -> AuditEntry:
        """Append one entry (synced to disk) and return it."""
        entry = AuditEntry(_dt.datetime.now(UTC), self._user, self._host, os.getpid(),
                           list(self.argv if argv is None else argv), kind, txid, message,
                           list(changes))
        line = (json.dumps(entry.to_plain(), ensure_ascii=False) + "\n").encode("utf-8")
        with FileLock(self.layout.locks / "audit.lock"):
            fd = os.open(self.layout.audit, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            size = os.fstat(fd).st_size
            try:
                with naming(self.layout.audit):   # a full disk names the file
                    if os.write(fd, line) != len(line):
                        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                    if storage.SYNC:
                        os.fsync(fd)
            except OSError:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, size)         # no half line in the trail
                raise
            finally:
                os.close(fd)
        return entry

    def entries(self, *, include_aborted: bool = False) -> list[AuditEntry]:
        """All entries, oldest first, without aborted changes and abort notes.

        Raises
        ------
        HKVError
            Naming the file and line of an entry that does not parse (a torn
            last line, from a power cut mid-append, is skipped).
        """
        try:
            data = self.layout.audit.read_bytes()
        except FileNotFoundError:
            return []
        lines = data.split(b"\n")
        torn = lines.pop()  # b"" when the file ends with a newline
        entries = []
        for number, line in enumerate(lines, 1):
            if line.strip():
                entries.append(self._parse(line, number))
        if torn.strip():
            try:
                entries.append(self._parse(torn, len(lines) + 1))
            except HKVError:
                pass
        if include_aborted:
            return entries
        aborted = {e.txid for e in entries if e.kind == "abort"}
        return [e for e in entries if e.kind != "abort" and e.txid not in aborted]

    def _parse(self, line: bytes, number: int) -> AuditEntry:
        try:
            d = json.loads(line)
            return AuditEntry(_dt.datetime.fromisoformat(d["time"]), d["user"], d["host"],
                              int(d["pid"]), list(d["argv"]), d["kind"], d.get("txid"),
                              d.get("message"), [Change.from_plain(c) for c in d["changes"]])
        except (ValueError, KeyError, TypeError) as error:
            raise HKVError(f"{self.layout.audit}, line {number}: audit entry does not parse "
                           f"({error})") from None
