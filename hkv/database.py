"""The run database: the public face of HKV.

A run directory looks like this (``docs/run-directory.md`` has the whole
story)::

    RUN/
      records.yaml                 top-level keys
      records/insar/coherence.yaml keys insar.coherence.*
      images/  products/           binary images (raw + VRT), GeoTIFF products
      .peppers/                    run.yaml (marker), parameters.yaml, locks/,
                                   tmp/, journal/, stamps/, history/, audit.jsonl

:class:`RunDatabase` reads and writes the records under the locking policy
of :mod:`peppers.hkv.locks`: a single ``set`` takes the global lock shared
and its record's lock exclusively, so writers of different records run in
parallel and two writers of one record serialise (no lost update); a
:meth:`~RunDatabase.transaction` takes the global lock exclusively. Every
write is atomic (:mod:`peppers.hkv.storage`), logged in the audit trail
first (:mod:`peppers.hkv.audit`) and stamped per key for the scheduler.
Reads of one key take no lock. Paths stored in a run are relative to its
root, so a run directory can be moved or archived and opened elsewhere.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import yaml

from peppers.errors import HKVError, ImageError, KeyPathError
from peppers.files import sha256_file
from peppers.hkv import storage
from peppers.hkv.audit import ABSENT, AuditEntry, AuditLog, Change
from peppers.hkv.keys import locate, lock_name, split_key
from peppers.hkv.locks import FileLock
from peppers.hkv.records import RecordStore, render_record
from peppers.hkv.schema import Schema
from peppers.hkv.transaction import Transaction
from peppers.hkv.values import (DUMP_OPTIONS, UTC, ImageRef, Loader, check_relative,
                                normalize, same_value)
from peppers.hkv.view import RAISE, View

#: The value of ``format`` in ``.peppers/run.yaml``.
FORMAT = "peppers-run/1"


@dataclass(frozen=True)
class KeyStamp:
    """When a key last changed, and a hash of its content.

    Attributes
    ----------
    mtime : datetime
        Last modification (UTC). For a group: the latest of its leaves.
    hash : str
        Hex sha256 of the value's canonical text; for a group, of the sorted
        ``key hash`` lines of its leaves.
    """

    mtime: _dt.datetime
    hash: str


def utc_from_ns(ns: int) -> _dt.datetime:
    """A UTC datetime from integer nanoseconds since the epoch (microsecond precision)."""
    seconds, rest = divmod(int(ns), 1_000_000_000)
    return _dt.datetime.fromtimestamp(seconds, UTC).replace(microsecond=rest // 1000)


class RunDatabase:
    """A run directory opened for reading and writing.

    Use :meth:`create` or :meth:`open`; do not call the constructor.
    """

    def __init__(self, layout: storage.Layout, schema: Schema) -> None:
        self._layout = layout
        self._schema = schema
        self._store = RecordStore(layout, schema)
        self._audit = AuditLog(layout)
        self._local = threading.local()

    # -- opening ----------------------------------------------------------------
    @classmethod
    def create(cls, run_dir: str | Path,
               parameters: Mapping[str, Mapping[str, Any]] | None = None) -> "RunDatabase":
        """Make a new run in ``run_dir`` (created if missing).

        Parameters
        ----------
        run_dir : path-like
            The run directory; it may exist, but must not hold a run.
        parameters : mapping, optional
            The declared parameter set, ``key -> {type, default, doc}`` (see
            :mod:`peppers.hkv.schema`); defaults become the first values.

        Returns
        -------
        RunDatabase

        Raises
        ------
        HKVError
            If ``run_dir`` already holds a run, or the parameter set is invalid.
        """
        layout = storage.Layout(Path(run_dir).absolute())
        schema = Schema(parameters)
        if layout.marker.exists():
            raise HKVError(f"{layout.root}: already holds a peppers run ({layout.marker}); "
                           "open it, or choose another directory")
        for folder in [*layout.private_dirs(), layout.root / "images", layout.root / "products"]:
            folder.mkdir(parents=True, exist_ok=True)
        db = cls(layout, schema)
        with db._global(shared=False):
            if layout.marker.exists():
                raise HKVError(f"{layout.root}: another process created a run here just now")
            storage.atomic_write(layout, layout.parameters, _dump(schema.to_plain()))
            db._write(dict(schema.defaults()), storage.new_txid(), "run created", kind="create")
            marker = {"format": FORMAT, "created": _dt.datetime.now(UTC)}
            storage.atomic_write(layout, layout.marker, _dump(marker))
        return db

    @classmethod
    def open(cls, run_dir: str | Path) -> "RunDatabase":
        """Open an existing run, finishing any commit a crash interrupted.

        Raises
        ------
        HKVError
            If ``run_dir`` is not a run, or its marker or parameter file is damaged.
        """
        layout = storage.Layout(Path(run_dir).absolute())
        if not layout.marker.is_file():
            raise HKVError(f"{layout.root}: not a peppers run (no {layout.marker.name} in "
                           ".peppers/); create one with 'pep init' or RunDatabase.create")
        marker = _load(layout.marker)
        if not isinstance(marker, dict) or marker.get("format") != FORMAT:
            raise HKVError(f"{layout.marker}: format is {marker!r}, expected "
                           f"{{format: {FORMAT}, ...}}")
        try:
            schema = Schema(_load(layout.parameters) or {})
        except HKVError as error:
            raise HKVError(f"{layout.parameters}: {error}") from None
        for folder in layout.private_dirs():  # archives may drop empty folders
            folder.mkdir(parents=True, exist_ok=True)
        db = cls(layout, schema)
        if storage.pending(layout):
            db._settle()
        return db

    @property
    def root(self) -> Path:
        """The run directory (absolute, where it is now)."""
        return self._layout.root

    @property
    def parameters(self) -> Schema:
        """The declared parameter set."""
        return self._schema

    # -- reading ----------------------------------------------------------------
    def get(self, key: str, default: Any = RAISE) -> Any:
        """The value of a leaf key, or the nested mapping of a group.

        Parameters
        ----------
        key : str
            Dotted key path.
        default : object, optional
            Returned when nothing is stored at or below ``key``; without it,
            that raises.

        Raises
        ------
        KeyPathError
            If ``key`` is malformed, or names nothing and no default is given.
        RecordError
            If the record holding ``key`` is damaged (names file, line, key).
        """
        if storage.pending(self._layout):
            self._settle()
        value = View(self._store).leaf(locate(key).key)
        if value is not ABSENT:
            return value
        with self._global(shared=True):
            return View(self._store).get(key, default)

    def keys(self, prefix: str = "") -> list[str]:
        """Sorted leaf keys equal to or below ``prefix`` (all keys for ``""``)."""
        with self._global(shared=True):
            return View(self._store).keys(prefix)

    def subtree(self, prefix: str) -> dict[str, Any]:
        """The leaves below ``prefix`` as a nested mapping (``{}`` if none)."""
        with self._global(shared=True):
            return View(self._store).subtree(prefix)

    def stamp(self, key: str) -> KeyStamp:
        """Modification time and content hash of a key (see :class:`KeyStamp`).

        Cheap: one record read (cached) and one small stamp file per record.

        Raises
        ------
        KeyPathError
            If nothing is stored at or below ``key``.
        """
        loc = locate(key)
        record = self._store.read(loc.group)
        if loc.field in record.values:
            ns, digest = self._store.field_stamp(record, loc.field)
            return KeyStamp(utc_from_ns(ns), digest)
        latest, lines = 0, []
        for leaf in self.keys(key):
            leaf_loc = locate(leaf)
            ns, digest = self._store.field_stamp(self._store.read(leaf_loc.group), leaf_loc.field)
            latest = max(latest, ns)
            lines.append(f"{leaf} {digest}\n")
        if not lines:
            raise KeyPathError(f"key {key}: no such key in {self.root}")
        return KeyStamp(utc_from_ns(latest), hashlib.sha256("".join(lines).encode()).hexdigest())

    # -- writing ----------------------------------------------------------------
    def set(self, key: str, value: Any) -> None:
        """Store ``value`` at leaf ``key`` (atomically, logged, stamped).

        Raises
        ------
        KeyPathError
            If ``key`` is malformed, lies below a value, or is a group.
        RecordError
            If the value cannot be stored, or is not of the declared type.
        """
        self._not_in_transaction("set")
        value = self._checked(key, value)
        loc = locate(key)
        with self._global(shared=True), FileLock(self._layout.locks / lock_name(loc.group)):
            if loc.field in self._store.read(loc.group).values:
                self._write({key: value}, storage.new_txid(), None)
            else:
                with FileLock(self._layout.locks / "structure.lock"):
                    self._write({key: value}, storage.new_txid(), None)

    def delete(self, key: str) -> None:
        """Delete a leaf, or every leaf below a group (as one transaction).

        Raises
        ------
        KeyPathError
            If nothing is stored at or below ``key``.
        """
        self._not_in_transaction("delete")
        loc = locate(key)
        with self._global(shared=True), FileLock(self._layout.locks / lock_name(loc.group)):
            if loc.field in self._store.read(loc.group).values:
                self._write({key: ABSENT}, storage.new_txid(), None)
                return
        with self.transaction() as tx:
            tx.delete(key)

    @contextlib.contextmanager
    def transaction(self, message: str | None = None) -> Iterator[Transaction]:
        """A block whose changes commit together, or not at all.

        Parameters
        ----------
        message : str, optional
            Why; stored with the changes in the audit trail.

        Yields
        ------
        Transaction
            With ``get``, ``keys``, ``subtree``, ``set``, ``delete``.
        """
        self._not_in_transaction("transaction")
        with self._global(shared=False):
            tx = Transaction(self, message)
            self._local.tx = tx
            try:
                yield tx
            except BaseException:
                tx._abandon()
                raise
            else:
                tx._commit(storage.new_txid())
            finally:
                self._local.tx = None

    # -- history and audit ------------------------------------------------------
    def snapshot(self, label: str, message: str | None = None) -> str:
        """Record the whole text state under ``label``; returns its id (sha256).

        See :func:`peppers.hkv.history.take_snapshot`.
        """
        from peppers.hkv import history
        with self._global(shared=False):
            return history.take_snapshot(self, label, message)

    def snapshots(self) -> list:
        """Every snapshot, oldest first (:class:`~peppers.hkv.history.SnapshotInfo`)."""
        from peppers.hkv import history
        return history.list_snapshots(self._layout)

    def diff(self, a: str, b: str = "current") -> list[Change]:
        """Key changes from state ``a`` to ``b`` (snapshot labels or ids, or
        ``"current"`` for the live state)."""
        from peppers.hkv import history
        with self._global(shared=True):
            return history.diff_states(self, a, b)

    def restore(self, label: str) -> list[Change]:
        """Make the records what they were in snapshot ``label``, atomically.

        The current state is snapshotted first (label ``pre-restore-<time>``)
        unless it is already recorded. Returns the changes made.
        """
        from peppers.hkv import history
        self._not_in_transaction("restore")
        with self._global(shared=False):
            return history.restore_snapshot(self, label)

    def audit_log(self) -> list[AuditEntry]:
        """Every audit entry, oldest first (aborted writes left out)."""
        if storage.pending(self._layout) or any(True for _ in self._layout.tmp.iterdir()):
            with self._global(shared=False):
                pass
        return self._audit.entries()

    def record_command(self, argv: list[str]) -> None:
        """Log a command line; later changes by this process carry it."""
        self._audit.argv = [str(a) for a in argv]
        self._audit.append("command", argv=self._audit.argv)

    # -- files ------------------------------------------------------------------
    def path_of(self, relative: str) -> Path:
        """The absolute path of a file given relative to the run root."""
        try:
            return self.root / check_relative(relative)
        except ValueError as error:
            raise HKVError(f"{self.root}: {error}") from None

    def image_ref(self, relative: str, compute_hash: bool = True) -> ImageRef:
        """An :class:`ImageRef` to an existing file of the run (size, mtime, sha256).

        Raises
        ------
        ImageError
            If the file does not exist.
        """
        path = self.path_of(relative)
        try:
            info = path.stat()
        except FileNotFoundError:
            raise ImageError(f"{path}: image not found (referenced as {relative})") from None
        digest = sha256_file(path) if compute_hash else None
        return ImageRef(check_relative(relative), digest, info.st_size,
                        utc_from_ns(info.st_mtime_ns))

    # -- internals --------------------------------------------------------------
    def _checked(self, key: str, value: Any) -> Any:
        split_key(key)
        return self._schema.check(key, normalize(value, f"key {key}"))

    def _not_in_transaction(self, what: str) -> None:
        if getattr(self._local, "tx", None) is not None:
            raise HKVError(f"{self.root}: db.{what}() inside db.transaction(); use the "
                           "transaction object (tx.set, tx.delete) or finish the block first")

    @contextlib.contextmanager
    def _global(self, *, shared: bool) -> Iterator[None]:
        """Hold the global lock; recover an interrupted commit first if needed."""
        held = getattr(self._local, "held", None)
        if held is not None:
            if not shared:
                raise HKVError(f"{self.root}: this operation needs the run to itself and "
                               "cannot run inside a transaction or another operation")
            yield
            return
        path = self._layout.locks / "global.lock"
        lock = FileLock(path, shared=shared).acquire()
        try:
            if not shared:
                self._recover()
            elif storage.pending(self._layout):
                lock.release()
                with FileLock(path):
                    self._recover()
                lock = FileLock(path, shared=True).acquire()
            self._local.held = "shared" if shared else "exclusive"
            yield
        finally:
            self._local.held = None
            lock.release()

    def _settle(self) -> None:
        with self._global(shared=True):
            pass

    def _recover(self) -> None:
        for txid in storage.recover(self._layout):
            self._audit.append("abort", txid=txid, message="the writer stopped before its "
                               "commit point; its changes were not made")

    def _write(self, ops: dict[str, Any], txid: str, message: str | None,
               kind: str = "change") -> list[Change]:
        """Commit leaf changes (key -> value or ABSENT); the caller holds the locks."""
        view = View(self._store, ops)
        by_group: dict[str, dict[str, tuple[str, Any]]] = {}
        for key, value in ops.items():
            loc = locate(key)
            by_group.setdefault(loc.group, {})[loc.field] = (key, value)
        changes, writes, jobs = [], {}, []
        for group in sorted(by_group):
            record = self._store.read(group)
            new = dict(record.values)
            changed = set()
            for name, (key, value) in by_group[group].items():
                old = record.values.get(name, ABSENT)
                if value is ABSENT:
                    if old is ABSENT:
                        continue
                    del new[name]
                else:
                    if old is not ABSENT and same_value(old, value):
                        continue
                    if old is ABSENT:
                        view.check_new(key)
                    new[name] = value
                changed.add(name)
                changes.append(Change(key, old, value))
            if changed:
                writes[self.root / record.relpath] = render_record(group, new, self._schema)
                jobs.append((record, new, changed))
        if not changes:
            return []
        changes.sort(key=lambda c: c.key)
        storage.commit_files(self._layout, writes, txid, lambda: self._audit.append(
            kind, txid=txid, changes=changes, message=message))
        now = time.time_ns()
        for record, new, changed in jobs:
            self._store.write_stamps(record, new, changed, now, txid)
        return changes


def _dump(data: Any) -> bytes:
    return yaml.dump(data, default_flow_style=False, sort_keys=False, **DUMP_OPTIONS).encode()


def _load(path: Path) -> Any:
    try:
        return yaml.load(path.read_bytes(), Loader=Loader)
    except FileNotFoundError:
        return None
    except yaml.YAMLError as error:
        raise HKVError(f"{path}: not valid YAML ({error}); restore it from a backup or "
                       "a snapshot") from None
