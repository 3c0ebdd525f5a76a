"""A read view of the records, optionally overlaid with pending changes.

Both plain reads and transactions read through a :class:`View`: the records
on disk, plus (inside a transaction) the changes made so far and not yet
committed. The view also enforces the one structural rule of the key tree:
a key is either a *value* (a leaf) or a *group* (it has keys below it),
never both. ``a.b = 1`` and ``a.b.c = 2`` cannot coexist; the second write
is refused with a message that names both keys.
"""

from __future__ import annotations

from typing import Any, Iterator

from peppers.errors import KeyPathError, RecordError
from peppers.hkv.audit import ABSENT
from peppers.hkv.keys import is_under, join_key, locate, record_relpath, split_key
from peppers.hkv.records import RecordStore

#: ``get``'s default meaning "raise KeyPathError if missing".
RAISE: Any = object()


class View:
    """Records on disk overlaid with ``pending`` (key -> value or ABSENT).

    Parameters
    ----------
    store : RecordStore
        Reads record files.
    pending : dict, optional
        Uncommitted leaf changes; :data:`~peppers.hkv.audit.ABSENT` deletes.
    """

    def __init__(self, store: RecordStore, pending: dict[str, Any] | None = None) -> None:
        self.store = store
        self.pending = pending if pending is not None else {}
        self._groups: tuple[int, dict[str, str]] | None = None

    def leaf(self, key: str) -> Any:
        """The value of leaf ``key``, or ABSENT (also for a group)."""
        if key in self.pending:
            return self.pending[key]
        loc = locate(key)
        return self.store.read(loc.group).values.get(loc.field, ABSENT)

    def leaves(self, prefix: str) -> Iterator[tuple[str, Any]]:
        """``(key, value)`` of every leaf equal to or below ``prefix``, sorted."""
        found: dict[str, Any] = {}
        if prefix:
            value = self.leaf(prefix)
            if value is not ABSENT:
                found[prefix] = value
        for group in self.store.groups_under(prefix):
            for name, value in self.store.read(group).values.items():
                found[join_key(group, name)] = value
        for key, value in self.pending.items():
            if is_under(key, prefix):
                found[key] = value
        for key in sorted(found):
            if found[key] is not ABSENT:
                yield key, found[key]

    def keys(self, prefix: str = "") -> list[str]:
        """Sorted leaf keys equal to or below ``prefix``."""
        split_key(prefix, allow_empty=True)
        return [key for key, _ in self.leaves(prefix)]

    def get(self, key: str, default: Any = RAISE) -> Any:
        """A leaf's value, or the nested mapping of a group (see RunDatabase.get)."""
        split_key(key)
        value = self.leaf(key)
        if value is not ABSENT:
            return value
        # One read of the leaves decides: another process may create ``key``
        # as a value between the read above and this one (then it is returned,
        # not refused as "a value, not a group").
        items = list(self.leaves(key))
        for found, value in items:
            if found == key:
                return value
        tree = self._nest(key, items)
        if tree:
            return tree
        if default is RAISE:
            raise KeyPathError(f"key {key}: no such key in {self.store.layout.root} "
                               f"(record {record_relpath(locate(key).group)})")
        return default

    def subtree(self, prefix: str) -> dict[str, Any]:
        """Nested mapping of the leaves below ``prefix`` (``{}`` if none).

        Raises
        ------
        KeyPathError
            If ``prefix`` is itself a value, not a group.
        RecordError
            If a hand edit made a key both a value and a group.
        """
        return self._nest(prefix, list(self.leaves(prefix)))

    @staticmethod
    def _nest(prefix: str, items: list[tuple[str, Any]]) -> dict[str, Any]:
        """The nested mapping of ``items`` (from :meth:`leaves`) below ``prefix``."""
        parts = split_key(prefix, allow_empty=True)
        present = {key for key, _ in items}
        tree: dict[str, Any] = {}
        for key, value in items:
            if key == prefix:
                raise KeyPathError(f"key {prefix}: is a value, not a group; use get()")
            path = split_key(key)
            for i in range(len(parts) + 1, len(path)):
                above = ".".join(path[:i])
                if above in present:
                    raise _conflict(above, key)
            node = tree
            for part in path[len(parts):-1]:
                node = node.setdefault(part, {})
            node[path[-1]] = value
        return tree

    def check_new(self, key: str) -> None:
        """Refuse to create leaf ``key`` where it would be both value and group.

        Meant for a frozen ``pending`` (a commit): the index of pending groups
        is rebuilt only when the number of pending changes differs.

        Raises
        ------
        KeyPathError
            If a key above ``key`` is a value, or keys exist below ``key``.
        """
        parts = split_key(key)
        for i in range(1, len(parts)):
            above = ".".join(parts[:i])
            if self.leaf(above) is not ABSENT:
                raise KeyPathError(f"key {key}: cannot be created because {above} is a value "
                                   f"(in {record_relpath(locate(above).group)}); delete "
                                   f"{above} first to make it a group")
        below = self._pending_groups().get(key)
        if below is None:
            for group in self.store.groups_under(key):
                for name in self.store.read(group).values:
                    candidate = join_key(group, name)
                    if self.pending.get(candidate) is not ABSENT:
                        below = candidate
                        break
                if below is not None:
                    break
        if below is not None:
            raise KeyPathError(f"key {key}: is a group holding {below} (and maybe more); "
                               f"delete the group first to store a value at {key}")

    def _pending_groups(self) -> dict[str, str]:
        """Group key -> one pending leaf below it (memoised while pending is unchanged)."""
        if self._groups is None or self._groups[0] != len(self.pending):
            groups: dict[str, str] = {}
            for key, value in self.pending.items():
                if value is not ABSENT:
                    parts = key.split(".")
                    for i in range(1, len(parts)):
                        groups.setdefault(".".join(parts[:i]), key)
            self._groups = (len(self.pending), groups)
        return self._groups[1]


def _conflict(value_key: str, group_key: str) -> RecordError:
    return RecordError(
        f"key {value_key}: is both a value (in {record_relpath(locate(value_key).group)}) and "
        f"a group holding {group_key} (in {record_relpath(locate(group_key).group)}); "
        "a hand edit made them clash: remove one of the two")
