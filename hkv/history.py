"""History: content-addressed snapshots of a run's text state.

A snapshot records the bytes of every record file and of the parameter set.
Each distinct file content is stored once, as a blob named by its sha256
under ``.peppers/history/objects/ab/cdef...``; a snapshot itself is a small
manifest, ``.peppers/history/snapshots/<label>.json``, mapping each record
path to its blob, plus every image the records reference with its size,
mtime and sha256. Images are never copied: a snapshot keeps the reference
and the hash, so a later run can tell whether the pixels changed. Taking a
snapshot of an unchanged run costs only the manifest.

The snapshot id is the sha256 of its state (files and images), so two
snapshots of the same state have the same id.

``diff`` compares two states key by key (``"current"`` is the live one);
``restore`` puts a snapshot's record bytes back -- comments and all --
through the journal, so it happens entirely or not at all, snapshotting the
current state first unless it is already recorded. Both are logged in the
audit trail with every key changed.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator

from peppers.errors import HKVError, RecordError
from peppers.hkv import storage
from peppers.hkv.audit import ABSENT, Change, current_user
from peppers.hkv.keys import group_of_relpath, join_key, record_relpath
from peppers.hkv.records import parse_record
from peppers.hkv.schema import Schema
from peppers.hkv.values import UTC, ImageRef, same_value

if TYPE_CHECKING:  # pragma: no cover
    from peppers.hkv.database import RunDatabase

#: Snapshot labels: letters, digits, ``_ . -``; ``current`` is reserved.
LABEL = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}\Z")
CURRENT = "current"
PARAMETERS = ".peppers/parameters.yaml"


@dataclass(frozen=True)
class SnapshotInfo:
    """One snapshot, as listed by ``db.snapshots()``.

    Attributes
    ----------
    label, id : str
        Its name and its content id (sha256 of the state).
    time : datetime
        When it was taken (UTC).
    user, message : str
        Who took it and why (message may be empty).
    records, images : int
        How many record files and image references it holds.
    """

    label: str
    id: str
    time: _dt.datetime
    user: str
    message: str
    records: int
    images: int


def _state_id(files: dict[str, str], images: dict[str, Any]) -> str:
    text = json.dumps({"files": files, "images": images}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _blob_path(db: "RunDatabase", digest: str):
    return db._layout.history / "objects" / digest[:2] / digest[2:]


def current_files(db: "RunDatabase") -> dict[str, bytes]:
    """Record path -> bytes of the live state (plus the parameter set)."""
    files = {}
    for group in db._store.groups_under(""):
        relpath = record_relpath(group)
        try:
            files[relpath] = (db.root / relpath).read_bytes()
        except FileNotFoundError:
            continue
    files[PARAMETERS] = db._layout.parameters.read_bytes()
    return files


def _image_refs(value: Any) -> Iterator[ImageRef]:
    if isinstance(value, ImageRef):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _image_refs(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _image_refs(item)


def _images(db: "RunDatabase", files: dict[str, bytes]) -> dict[str, dict[str, Any]]:
    """Every image the records reference: path -> {sha256, size, mtime}."""
    from peppers.files import sha256_file
    from peppers.hkv.database import utc_from_ns

    images: dict[str, dict[str, Any]] = {}
    for relpath, raw in files.items():
        group = group_of_relpath(relpath)
        if group is None:
            continue
        for value in parse_record(raw, group, Schema()).values.values():
            for ref in _image_refs(value):
                entry = {"sha256": ref.sha256, "size": ref.size,
                         "mtime": ref.mtime.isoformat() if ref.mtime else None}
                path = db.path_of(ref.path)
                if ref.sha256 is None and path.is_file():
                    info = path.stat()
                    entry = {"sha256": sha256_file(path), "size": info.st_size,
                             "mtime": utc_from_ns(info.st_mtime_ns).isoformat()}
                images[ref.path] = entry
    return dict(sorted(images.items()))


def take_snapshot(db: "RunDatabase", label: str, message: str | None = None) -> str:
    """Store the current text state as snapshot ``label`` (caller holds the lock).

    Returns
    -------
    str
        The snapshot id.

    Raises
    ------
    HKVError
        If the label is malformed or taken.
    RecordError
        If a record does not parse (fix it first; the message names it).
    """
    if not isinstance(label, str) or not LABEL.match(label) or label == CURRENT:
        raise HKVError(f"snapshot label {label!r}: use 1-100 letters, digits, '_', '.', '-' "
                       f"(not starting with '.' or '-'); {CURRENT!r} is reserved")
    manifest_path = db._layout.history / "snapshots" / f"{label}.json"
    if manifest_path.exists():
        raise HKVError(f"snapshot {label}: already exists ({manifest_path}); choose another "
                       "label")
    files = current_files(db)
    hashes = {}
    for relpath, raw in sorted(files.items()):
        digest = hashlib.sha256(raw).hexdigest()
        hashes[relpath] = digest
        blob = _blob_path(db, digest)
        if not blob.exists():
            blob.parent.mkdir(parents=True, exist_ok=True)
            storage.atomic_write(db._layout, blob, raw)
    images = _images(db, files)
    snapshot_id = _state_id(hashes, images)
    manifest = {"label": label, "id": snapshot_id, "time": _dt.datetime.now(UTC).isoformat(),
                "user": current_user(), "message": message or "", "files": hashes,
                "images": images}
    storage.atomic_write(db._layout, manifest_path,
                         json.dumps(manifest, indent=1, sort_keys=True).encode())
    db._audit.append("snapshot", message=f"snapshot {label} ({snapshot_id[:12]})"
                     + (f": {message}" if message else ""))
    return snapshot_id


def _manifests(layout: storage.Layout) -> list[dict[str, Any]]:
    out = []
    for path in sorted((layout.history / "snapshots").glob("*.json")):
        try:
            out.append(json.loads(path.read_bytes()))
        except ValueError as error:
            raise HKVError(f"{path}: snapshot manifest does not parse ({error})") from None
    return sorted(out, key=lambda m: m["time"])


def list_snapshots(layout: storage.Layout) -> list[SnapshotInfo]:
    """Every snapshot, oldest first."""
    return [SnapshotInfo(m["label"], m["id"], _dt.datetime.fromisoformat(m["time"]), m["user"],
                         m["message"], sum(1 for f in m["files"] if f != PARAMETERS),
                         len(m["images"])) for m in _manifests(layout)]


def _find(db: "RunDatabase", name: str) -> dict[str, Any]:
    """The manifest of a snapshot given by label, id, or unique id prefix (>= 6)."""
    manifests = _manifests(db._layout)
    for manifest in manifests:
        if manifest["label"] == name:
            return manifest
    matches = [m for m in manifests if len(name) >= 6 and m["id"].startswith(name)]
    if len({m["id"] for m in matches}) == 1:
        return matches[-1]
    known = ", ".join(m["label"] for m in manifests) or "none yet"
    raise HKVError(f"snapshot {name!r}: no such snapshot in {db.root} (snapshots: {known})")


def _files_of(db: "RunDatabase", name: str) -> dict[str, bytes]:
    if name == CURRENT:
        return current_files(db)
    files = {}
    for relpath, digest in _find(db, name)["files"].items():
        try:
            files[relpath] = _blob_path(db, digest).read_bytes()
        except FileNotFoundError:
            raise HKVError(f"snapshot {name}: blob {digest} of {relpath} is missing from "
                           f"{db._layout.history / 'objects'}") from None
    return files


def _values(files: dict[str, bytes], where: str) -> dict[str, Any]:
    """Key -> value over all record files of one state."""
    values = {}
    for relpath, raw in files.items():
        group = group_of_relpath(relpath)
        if group is None:
            continue
        try:
            record = parse_record(raw, group, Schema())
        except RecordError as error:
            raise RecordError(f"{where}: {error}") from None
        for name, value in record.values.items():
            values[join_key(group, name)] = value
    return values


def _changes(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    changes = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key, ABSENT), new.get(key, ABSENT)
        if a is ABSENT or b is ABSENT or not same_value(a, b):
            changes.append(Change(key, a, b))
    return changes


def diff_states(db: "RunDatabase", a: str, b: str = CURRENT) -> list[Change]:
    """Key changes going from state ``a`` to state ``b`` (labels, ids or ``current``)."""
    files_a, files_b = _files_of(db, a), _files_of(db, b)
    changed = {p for p in set(files_a) | set(files_b) if files_a.get(p) != files_b.get(p)}
    return _changes(_values({p: files_a[p] for p in changed if p in files_a}, f"state {a}"),
                    _values({p: files_b[p] for p in changed if p in files_b}, f"state {b}"))


def restore_snapshot(db: "RunDatabase", name: str) -> list[Change]:
    """Put snapshot ``name``'s records back (caller holds the exclusive lock)."""
    target = _files_of(db, name)
    manifest = _find(db, name)
    current = current_files(db)
    current_id = _state_id({p: hashlib.sha256(r).hexdigest() for p, r in current.items()},
                           _images(db, current))
    if all(m["id"] != current_id for m in _manifests(db._layout)):
        stamp = _dt.datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        take_snapshot(db, f"pre-restore-{stamp}", f"automatic, before restoring {name}")
    changed = sorted(p for p in set(target) | set(current) if target.get(p) != current.get(p))
    changes = _changes(_values({p: current[p] for p in changed if p in current}, "current"),
                       _values({p: target[p] for p in changed if p in target}, f"snapshot {name}"))
    if not changed:
        return []
    txid = storage.new_txid()
    writes = {db.root / p: target.get(p) for p in changed}
    storage.commit_files(db._layout, writes, txid, lambda: db._audit.append(
        "restore", txid=txid, changes=changes,
        message=f"restored snapshot {manifest['label']} ({manifest['id'][:12]})"))
    if PARAMETERS in changed:
        from peppers.hkv.database import _load
        db._schema = db._store.schema = Schema(_load(db._layout.parameters) or {})
    _restamp(db, changed, current, changes)
    return changes


def _restamp(db: "RunDatabase", changed_paths: list[str], before: dict[str, bytes],
             changes: list[Change]) -> None:
    """Stamp the changed keys of the restored records with the time of the restore."""
    import time

    changed_keys = {c.key for c in changes}
    now = time.time_ns()
    txid = storage.new_txid()
    for relpath in changed_paths:
        group = group_of_relpath(relpath)
        if group is None:
            continue
        old = parse_record(before.get(relpath, b""), group, Schema(), now)
        new_values = db._store.read(group).values
        names = {n for n in set(old.values) | set(new_values) if join_key(group, n) in changed_keys}
        db._store.write_stamps(old, new_values, names, now, txid)
