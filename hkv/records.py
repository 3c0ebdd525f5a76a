"""Record files: parsing with line numbers, rendering, caching, stamps.

A record is one YAML mapping ``field: value`` holding the leaves of one
group (see :mod:`peppers.hkv.keys` for which file holds which key)::

    # insar.coherence.*: peppers run record (YAML). ...
    # Estimation window (rows, cols) in pixels.
    window: [5, 5]
    looks: 4

Reading checks everything a hand edit could break: the text must be UTF-8
YAML, the top level a mapping, every field an identifier (and written only
once), every value of a storable type, and every declared parameter of its
declared type. A failure is a :class:`~peppers.errors.RecordError` that
names the file, the line (from the YAML parser's mark) and the key; the
other records are untouched and stay usable.

Parsed records are cached per process and reused while the file's bytes are
unchanged. Comparing bytes (not mtime) is exact: file times are coarse and
inode numbers are recycled, so a cache keyed on them can miss an update.

Per-key stamps
--------------
``.peppers/stamps/<group>.log`` is an append-only log of lines
``field mtime_ns hash16`` (``field - -`` for a deletion), appended after
each write of the record and compacted now and then; the last line of a
field wins. The stamp of a key is the logged time if the logged hash matches
the value's hash now, else the record file's mtime (the record was edited
by hand, or a writer died between the two files) -- never older than the
truth, and cheap: one small read, no rename and no sync when writing.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from peppers.errors import RecordError, naming
from peppers.hkv import storage
from peppers.hkv.keys import check_field, group_of_relpath, join_key, record_relpath
from peppers.hkv.schema import Schema
from peppers.hkv.values import DUMP_OPTIONS, Dumper, Loader, normalize, value_hash

_STR_TAG = "tag:yaml.org,2002:str"
_FIELD_LINE = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*|'[^']*'|\"[^\"]*\")\s*:")
_CACHE_LIMIT = 4096
_STAMP_HASH = 16  # hex digits of the value hash kept in the stamp log (a check, not an id)
_STAMP_LINE = 48  # typical bytes per stamp-log line, for the compaction threshold


@dataclass
class Record:
    """One parsed record file.

    Attributes
    ----------
    group : str
        The group it holds.
    relpath : str
        Its path relative to the run root.
    raw : bytes or None
        Its bytes as read (None: the file does not exist).
    values : dict
        Field -> value.
    lines : dict
        Field -> 1-based line of the field in the file.
    mtime_ns : int
        The file's modification time (0 if missing).
    """

    group: str
    relpath: str
    raw: bytes | None
    values: dict[str, Any]
    lines: dict[str, int]
    mtime_ns: int = 0
    _hashes: dict[str, str] = field(default_factory=dict, repr=False)

    def hash(self, name: str) -> str:
        """Content hash of one field's value (memoised)."""
        digest = self._hashes.get(name)
        if digest is None:
            digest = self._hashes[name] = value_hash(self.values[name])
        return digest


def parse_record(raw: bytes, group: str, schema: Schema, mtime_ns: int = 0) -> Record:
    """Parse and check the bytes of one record file.

    Parameters
    ----------
    raw : bytes
        The file content.
    group : str
        The group the file holds (gives the full key of each field).
    schema : Schema
        Declared parameters, checked by type.
    mtime_ns : int
        The file's mtime, kept on the record.

    Returns
    -------
    Record

    Raises
    ------
    RecordError
        ``FILE, line N, key K: problem`` for any problem.
    """
    relpath = record_relpath(group)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        raise RecordError(f"{relpath}, line {line}: not UTF-8 text") from None
    values: dict[str, Any] = {}
    lines: dict[str, int] = {}
    loader = Loader(text)
    try:
        node = loader.get_single_node()
        if node is not None and not (isinstance(node, yaml.ScalarNode) and node.value == ""):
            if not isinstance(node, yaml.MappingNode):
                raise RecordError(f"{relpath}, line {node.start_mark.line + 1}: a record must "
                                  "be a mapping of 'field: value' lines")
            for key_node, value_node in node.value:
                _add_field(loader, key_node, value_node, group, relpath, schema, values, lines)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        if error.context_mark is not None and mark is not None and mark.index >= len(text):
            mark = error.context_mark  # "unexpected end of stream": where the item began
        line = mark.line + 1 if mark else 1
        key = _key_near(text, line, group)
        raise RecordError(f"{relpath}, line {line}{key}: not valid YAML: "
                          f"{error.problem or error.context}") from None
    except yaml.YAMLError as error:
        raise RecordError(f"{relpath}: not valid YAML: {error}") from None
    finally:
        loader.dispose()
    return Record(group, relpath, raw, values, lines, mtime_ns)


def _add_field(loader: Loader, key_node: yaml.Node, value_node: yaml.Node, group: str,
               relpath: str, schema: Schema, values: dict, lines: dict) -> None:
    line = key_node.start_mark.line + 1
    name = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
    if key_node.tag != _STR_TAG or not check_field(name):
        shown = name if isinstance(name, str) else "(a collection)"
        raise RecordError(f"{relpath}, line {line}, key {join_key(group, str(shown))}: field "
                          f"name {shown!r} is not an identifier [A-Za-z_][A-Za-z0-9_-]* (names "
                          "YAML reads as booleans or numbers, like 'on' or 'yes', need quotes)")
    key = join_key(group, name)
    if name in values:
        raise RecordError(f"{relpath}, line {line}, key {key}: written twice (first on line "
                          f"{lines[name]}); keep one")
    where = f"{relpath}, line {line}, key {key}"
    value = normalize(loader.construct_object(value_node, deep=True), where)
    try:
        value = schema.check(key, value)
    except RecordError as error:
        raise RecordError(f"{relpath}, line {line}, {error}") from None
    values[name] = value
    lines[name] = line


def _key_near(text: str, line: int, group: str) -> str:
    """``", key K"`` for the last top-level field at or above ``line``."""
    for candidate in reversed(text.splitlines()[:line]):
        match = _FIELD_LINE.match(candidate)
        if match:
            return f", key {join_key(group, match.group(1).strip(chr(39) + chr(34)))}"
    return ""


def render_record(group: str, values: dict[str, Any], schema: Schema) -> bytes | None:
    """The bytes of a record file (None when ``values`` is empty).

    Fields are sorted; a declared parameter's doc is written as comment
    lines above it. Mappings and lists of scalars use YAML flow style.
    """
    if not values:
        return None
    title = f"{group}.*" if group else "top-level keys"
    out = [f"# {title}: peppers run record (YAML). Hand edits are checked when read; "
           "comments are rewritten.\n"]
    ordered = BlockMapping(sorted(values.items()))
    docs = {name: schema.doc(join_key(group, name)) for name in ordered} if len(schema) else {}
    if any(docs.values()):
        for name, value in ordered.items():
            for doc_line in docs[name].splitlines():
                out.append(f"# {doc_line}\n".replace("# \n", "#\n"))
            out.append(yaml.dump(BlockMapping({name: value}), default_flow_style=None,
                                 sort_keys=False, **DUMP_OPTIONS))
    else:
        out.append(yaml.dump(ordered, default_flow_style=None, sort_keys=False, **DUMP_OPTIONS))
    return "".join(out).encode("utf-8")


class BlockMapping(dict):
    """A record's top-level mapping: always block style, one field per line."""


Dumper.add_representer(BlockMapping, lambda dumper, data: dumper.represent_mapping(
    "tag:yaml.org,2002:map", data, flow_style=False))


class RecordStore:
    """Reads records (cached), lists groups, and keeps the stamp files.

    Parameters
    ----------
    layout : storage.Layout
        The run's paths.
    schema : Schema
        The declared parameters.
    """

    def __init__(self, layout: storage.Layout, schema: Schema) -> None:
        self.layout = layout
        self.schema = schema
        self._cache: dict[str, Record] = {}

    def read(self, group: str) -> Record:
        """The current record of ``group`` (empty if its file does not exist)."""
        relpath = record_relpath(group)
        try:
            with open(self.layout.root / relpath, "rb") as handle:
                mtime_ns = os.fstat(handle.fileno()).st_mtime_ns
                raw = handle.read()
        except FileNotFoundError:
            return Record(group, relpath, None, {}, {})
        cached = self._cache.get(group)
        if cached is not None and cached.raw == raw:
            cached.mtime_ns = mtime_ns
            return cached
        record = parse_record(raw, group, self.schema, mtime_ns)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[group] = record
        return record

    def groups_under(self, prefix: str) -> list[str]:
        """Groups with a record file equal to ``prefix`` or below it, sorted."""
        groups = []
        root = self.layout.root
        if prefix == "":
            if (root / record_relpath("")).is_file():
                groups.append("")
            base = root / "records"
        else:
            if (root / record_relpath(prefix)).is_file():
                groups.append(prefix)
            base = root / "records" / prefix.replace(".", "/")
        for folder, _dirs, files in os.walk(base):
            for name in files:
                relpath = os.path.relpath(os.path.join(folder, name), root).replace(os.sep, "/")
                group = group_of_relpath(relpath)
                if group is not None:
                    groups.append(group)
        return sorted(groups)

    # -- stamps -----------------------------------------------------------------
    def _stamp_path(self, group: str) -> Path:
        return self.layout.stamps / (f"{group}.log" if group else "@top.log")

    def read_stamps(self, group: str) -> dict[str, tuple[int, str]]:
        """Field -> ``(mtime_ns, hash prefix)`` as last logged (may be stale)."""
        try:
            data = self._stamp_path(group).read_bytes()
        except FileNotFoundError:
            return {}
        stamps: dict[str, tuple[int, str]] = {}
        for line in data.split(b"\n")[:-1]:  # a torn last line has no newline
            parts = line.split()
            if len(parts) != 3:
                continue
            name = parts[0].decode("ascii", "replace")
            if parts[1] == b"-":
                stamps.pop(name, None)
            elif parts[1].isdigit():
                stamps[name] = (int(parts[1]), parts[2].decode("ascii", "replace"))
        return stamps

    def field_stamp(self, record: Record, name: str) -> tuple[int, str]:
        """``(mtime_ns, sha256)`` of one field of ``record`` (see module doc)."""
        digest = record.hash(name)
        entry = self.read_stamps(record.group).get(name)
        if entry is not None and entry[1] == digest[:_STAMP_HASH]:
            return entry[0], digest
        return record.mtime_ns, digest

    def write_stamps(self, old: Record, new_values: dict[str, Any], changed: set[str],
                     now_ns: int, txid: str) -> None:
        """Log the stamps of the ``changed`` fields of ``old.group`` after a write.

        Appends one line per field (no rename, no sync: the log is only a hint
        checked against the value's hash); compacts the log once it holds more
        than about twice as many lines as the record has fields.
        """
        path = self._stamp_path(old.group)
        lines = []
        for name in sorted(changed):
            if name in new_values:
                lines.append(f"{name} {now_ns} {value_hash(new_values[name])[:_STAMP_HASH]}\n")
            else:
                lines.append(f"{name} - -\n")
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            with naming(path):                   # a full disk names the file
                os.write(fd, "".join(lines).encode("ascii"))
        finally:
            os.close(fd)
        if size > _STAMP_LINE * (2 * len(new_values) + 16):
            self._compact_stamps(old, new_values, txid)

    def _compact_stamps(self, old: Record, new_values: dict[str, Any], txid: str) -> None:
        stamps = self.read_stamps(old.group)
        out = []
        for name in sorted(new_values):
            if name in stamps:
                out.append(f"{name} {stamps[name][0]} {stamps[name][1]}\n")
            elif name in old.values:
                out.append(f"{name} {old.mtime_ns} {old.hash(name)[:_STAMP_HASH]}\n")
        storage.atomic_write(self.layout, self._stamp_path(old.group),
                             "".join(out).encode("ascii"), txid, durable=False, soft=True)
