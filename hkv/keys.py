"""Key paths and where their values live on disk.

A key path is a dot-separated list of identifiers, ``insar.coherence.window``;
each identifier matches ``[A-Za-z_][A-Za-z0-9_-]*``. Anything else is a
:class:`~peppers.errors.KeyPathError` that names the key and says why.

Record layout
-------------
Leaves are grouped by their parent key: every leaf whose parent is
``insar.coherence`` lives in one YAML file, ``records/insar/coherence.yaml``,
under the field ``window``. Leaves with no parent (one-identifier keys) live
in ``records.yaml`` beside the ``records/`` folder. So one record file holds
one small group of related values: the files stay short and diff-able, and
two processes writing different groups never contend for the same lock.

Glossary
--------
key
    A full dotted path, ``a.b.c``.
parent / group
    The key without its last identifier, ``a.b``; ``""`` for top-level keys.
field
    The last identifier, ``c``; the name of the value inside its record.
record
    The YAML file of one group, named by :func:`record_relpath`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from peppers.errors import KeyPathError

#: One identifier of a key path.
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")

#: The folder of group records, relative to the run root.
RECORDS_DIR = "records"

#: The record of top-level keys (parent ``""``), relative to the run root.
TOP_RECORD = "records.yaml"


def split_key(key: str, *, allow_empty: bool = False) -> list[str]:
    """Validate a key path and split it into identifiers.

    Parameters
    ----------
    key : str
        The dotted key path.
    allow_empty : bool
        Accept ``""`` (the root, for prefixes) and return ``[]``.

    Returns
    -------
    list of str
        The identifiers, in order.

    Raises
    ------
    KeyPathError
        If ``key`` is not a string, is empty, or holds an identifier that does
        not match ``[A-Za-z_][A-Za-z0-9_-]*``.

    Examples
    --------
    >>> split_key("insar.coherence.window")
    ['insar', 'coherence', 'window']
    """
    if not isinstance(key, str):
        raise KeyPathError(f"key {key!r}: a key path must be a string, not {type(key).__name__}")
    if key == "":
        if allow_empty:
            return []
        raise KeyPathError("key '': a key path may not be empty")
    parts = key.split(".")
    for part in parts:
        if not IDENTIFIER.match(part):
            shown = part if part else "(empty)"
            raise KeyPathError(
                f"key {key!r}: identifier {shown!r} is not allowed; each dot-separated part "
                "must match [A-Za-z_][A-Za-z0-9_-]* (letters, digits, '_', '-', not starting "
                "with a digit or '-')")
    return parts


def check_field(name: object) -> bool:
    """Whether ``name`` is a valid single identifier."""
    return isinstance(name, str) and IDENTIFIER.match(name) is not None


def join_key(*parts: str) -> str:
    """Join identifiers or partial paths, skipping empty ones."""
    return ".".join(p for p in parts if p)


@dataclass(frozen=True)
class Location:
    """Where one key's value lives.

    Attributes
    ----------
    key : str
        The full key path.
    group : str
        The parent key (``""`` for a top-level key).
    field : str
        The last identifier: the name inside the record.
    """

    key: str
    group: str
    field: str

    @property
    def record(self) -> str:
        """The record file, relative to the run root (POSIX separators)."""
        return record_relpath(self.group)


def locate(key: str) -> Location:
    """The :class:`Location` of a leaf key (validated)."""
    parts = split_key(key)
    return Location(key, ".".join(parts[:-1]), parts[-1])


def record_relpath(group: str) -> str:
    """The record file of ``group``, relative to the run root.

    Examples
    --------
    >>> record_relpath("insar.coherence")
    'records/insar/coherence.yaml'
    >>> record_relpath("")
    'records.yaml'
    """
    if group == "":
        return TOP_RECORD
    return f"{RECORDS_DIR}/{group.replace('.', '/')}.yaml"


def group_of_relpath(relpath: str) -> str | None:
    """The group a record file holds, or ``None`` if ``relpath`` is not a record.

    The inverse of :func:`record_relpath`; files whose names are not valid
    identifiers (editor backups, notes) are not records.
    """
    if relpath == TOP_RECORD:
        return ""
    prefix = RECORDS_DIR + "/"
    if not (relpath.startswith(prefix) and relpath.endswith(".yaml")):
        return None
    parts = relpath[len(prefix):-len(".yaml")].split("/")
    if all(IDENTIFIER.match(p) for p in parts):
        return ".".join(parts)
    return None


def is_under(key: str, prefix: str) -> bool:
    """Whether ``key`` equals ``prefix`` or lies below it (``""`` holds all)."""
    return prefix == "" or key == prefix or key.startswith(prefix + ".")


def lock_name(group: str) -> str:
    """The file name (flat, under ``.peppers/locks``) of a group's lock."""
    return f"records.{group}.lock" if group else "records.lock"
