"""Atomic, crash-safe file replacement for the run database.

Every file a reader may see is replaced, never rewritten in place: the new
content is written to ``.peppers/tmp/<txid>.<n>``, ``fsync``-ed, renamed
over the final name (``rename`` is atomic on one file system), and the
destination directory is ``fsync``-ed. Keeping every temporary file in one
folder lets recovery find what a killed writer left behind with one
``listdir``.

Several files that must change together (a transaction, a restore) go
through a *journal*: first all temporary files are written and synced, then
``.peppers/journal/<txid>.json`` lists the renames (writing it is the commit
point), then the renames are done and the journal removed. After a crash,
:func:`recover` -- run under the exclusive global lock -- completes every
journal it finds (roll forward: each rename is idempotent) and deletes every
temporary file left over; those files belong to writes that never committed,
and their transaction ids are returned so the audit trail can mark them
aborted.

Invariant: temporary files are only created while the creator holds the
global lock (shared or exclusive), so under the exclusive lock every
temporary file is garbage.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from peppers.errors import HKVError, naming

#: Suffix of temporary files whose loss does not abort their transaction
#: (the per-key stamp side files).
SOFT_SUFFIX = ".soft"

#: ``fsync`` files and folders (``$PEPPERS_SYNC=0`` turns it off: only for
#: throw-away runs, e.g. property tests; atomicity against a killed process
#: does not depend on it, durability against a power cut does).
SYNC = os.environ.get("PEPPERS_SYNC", "1") != "0"
_counter = itertools.count()


@dataclass(frozen=True)
class Layout:
    """The paths of one run directory.

    Attributes
    ----------
    root : Path
        The run directory.
    """

    root: Path

    @property
    def private(self) -> Path:
        """``.peppers/``: everything that is not a record, image or product."""
        return self.root / ".peppers"

    @property
    def marker(self) -> Path:
        """``.peppers/run.yaml``: its presence makes a directory a run."""
        return self.private / "run.yaml"

    @property
    def parameters(self) -> Path:
        """``.peppers/parameters.yaml``: the declared parameter set."""
        return self.private / "parameters.yaml"

    @property
    def locks(self) -> Path:
        return self.private / "locks"

    @property
    def tmp(self) -> Path:
        return self.private / "tmp"

    @property
    def journal(self) -> Path:
        return self.private / "journal"

    @property
    def stamps(self) -> Path:
        """Per-key modification times and hashes, one JSON file per record."""
        return self.private / "stamps"

    @property
    def history(self) -> Path:
        return self.private / "history"

    @property
    def audit(self) -> Path:
        """The append-only audit trail (JSON lines)."""
        return self.private / "audit.jsonl"

    def private_dirs(self) -> list[Path]:
        """Every folder of ``.peppers`` that must exist."""
        return [self.private, self.locks, self.tmp, self.journal, self.stamps,
                self.history / "objects", self.history / "snapshots"]


def new_txid() -> str:
    """A unique, time-ordered transaction id: ``<ns hex>-<pid>-<random>``."""
    return f"{time.time_ns():016x}-{os.getpid()}-{secrets.token_hex(3)}"


def fsync_dir(path: Path) -> None:
    """Make renames and creations in ``path`` durable."""
    if not SYNC:
        return
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_tmp(layout: Layout, data: bytes, txid: str, *, durable: bool = True,
              soft: bool = False) -> Path:
    """Write ``data`` to a fresh temporary file of transaction ``txid``."""
    name = f"{txid}.{next(_counter)}{SOFT_SUFFIX if soft else ''}"
    path = layout.tmp / name
    with naming(path):                       # a full disk names the file
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if durable and SYNC:
                os.fsync(fd)
        finally:
            os.close(fd)
    return path


def replace(tmp: Path, final: Path, *, durable: bool = True) -> None:
    """Rename ``tmp`` over ``final`` (creating folders) and sync the folder."""
    try:
        os.replace(tmp, final)
    except FileNotFoundError:
        if not tmp.exists():
            raise
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)
    if durable:
        fsync_dir(final.parent)


def atomic_write(layout: Layout, final: Path, data: bytes, txid: str | None = None, *,
                 durable: bool = True, soft: bool = False) -> None:
    """Replace ``final`` with ``data`` atomically (temporary file + rename)."""
    tmp = write_tmp(layout, data, txid or new_txid(), durable=durable, soft=soft)
    replace(tmp, final, durable=durable)


def commit_files(layout: Layout, writes: dict[Path, bytes | None], txid: str,
                 before_commit: Callable[[], object] | None = None) -> None:
    """Replace or delete several files, all or none even across a crash.

    A single replacement is one ``rename``; anything else goes through a
    journal. Either way every new byte is on disk before ``before_commit``
    runs (the audit entry), and the commit point comes after it.

    Parameters
    ----------
    layout : Layout
        The run.
    writes : dict
        Final path -> new bytes, or None to delete the file.
    txid : str
        The transaction id (names the temporary files and the journal).
    before_commit : callable, optional
        Called once everything is staged, just before the commit point.
    """
    items = list(writes.items())
    if len(items) == 1 and items[0][1] is not None:
        final, data = items[0]
        tmp = write_tmp(layout, data, txid)
        if before_commit is not None:
            before_commit()
        replace(tmp, final)
        return
    ops = []
    for final, data in items:
        if data is None:
            ops.append(["delete", _rel(layout, final)])
        else:
            ops.append(["replace", _rel(layout, write_tmp(layout, data, txid)),
                        _rel(layout, final)])
    staged = write_tmp(layout, json.dumps({"txid": txid, "ops": ops}).encode(), txid)
    if before_commit is not None:
        before_commit()
    journal = layout.journal / f"{txid}.json"
    replace(staged, journal)  # the commit point
    _apply(layout, ops)
    journal.unlink()


def _rel(layout: Layout, path: Path) -> str:
    return path.relative_to(layout.root).as_posix()


def _apply(layout: Layout, ops: list[list[str]]) -> None:
    """Carry out journal operations; each one is idempotent."""
    touched = set()
    for op in ops:
        if op[0] == "replace":
            tmp, final = layout.root / op[1], layout.root / op[2]
            if tmp.exists():
                replace(tmp, final, durable=False)
                touched.add(final.parent)
        elif op[0] == "delete":
            final = layout.root / op[1]
            try:
                final.unlink()
                touched.add(final.parent)
            except FileNotFoundError:
                pass
        else:
            raise HKVError(f"{layout.journal}: unknown journal operation {op!r}")
    for folder in touched:
        fsync_dir(folder)


def pending(layout: Layout) -> bool:
    """Whether a journal is waiting (a commit in flight or interrupted)."""
    try:
        return any(True for _ in os.scandir(layout.journal))
    except FileNotFoundError:
        return False


def recover(layout: Layout) -> list[str]:
    """Finish interrupted commits and clear temporary files.

    Call only under the exclusive global lock.

    Returns
    -------
    list of str
        Ids of transactions that had started writing but never committed
        (their changes were not made), oldest first.

    Raises
    ------
    HKVError
        If a journal file cannot be read (it names the file).
    """
    for entry in sorted(os.scandir(layout.journal), key=lambda e: e.name):
        path = Path(entry.path)
        try:
            ops = json.loads(path.read_bytes())["ops"]
        except (ValueError, KeyError, TypeError) as error:
            raise HKVError(f"{path}: journal does not parse ({error}); move it aside to "
                           "drop the interrupted transaction") from None
        _apply(layout, ops)
        path.unlink()
    aborted = set()
    for entry in os.scandir(layout.tmp):
        if not entry.name.endswith(SOFT_SUFFIX):
            aborted.add(entry.name.rsplit(".", 1)[0])
        os.unlink(entry.path)
    return sorted(aborted)
