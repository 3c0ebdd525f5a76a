"""Transactions: several changes that commit together or not at all.

``with db.transaction(message) as tx:`` takes the exclusive global lock for
the whole block, so the block reads a state no one else changes and its
writes interleave with no other write. ``tx.set`` and ``tx.delete`` only
buffer; ``tx.get`` and ``tx.keys`` see the buffered changes. When the block
ends without an exception the changes are checked (types, the value/group
rule) and committed through the journal (see :mod:`peppers.hkv.storage`):
after a crash at any moment, either all of them are visible or none. An
exception inside the block discards them all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from peppers.errors import HKVError, KeyPathError
from peppers.hkv.audit import ABSENT
from peppers.hkv.keys import split_key
from peppers.hkv.view import RAISE, View

if TYPE_CHECKING:  # pragma: no cover
    from peppers.hkv.database import RunDatabase


class Transaction:
    """Buffered changes of one ``db.transaction()`` block.

    Not created directly: use :meth:`RunDatabase.transaction`.
    """

    def __init__(self, db: "RunDatabase", message: str | None) -> None:
        self._db = db
        self.message = message
        self.pending: dict[str, Any] = {}
        self._view = View(db._store, self.pending)
        self._open = True

    def _check_open(self) -> None:
        if not self._open:
            raise HKVError(f"{self._db.root}: transaction already ended; start a new one")

    def get(self, key: str, default: Any = RAISE) -> Any:
        """Like :meth:`RunDatabase.get`, seeing this transaction's changes."""
        self._check_open()
        return self._view.get(key, default)

    def keys(self, prefix: str = "") -> list[str]:
        """Like :meth:`RunDatabase.keys`, seeing this transaction's changes."""
        self._check_open()
        return self._view.keys(prefix)

    def subtree(self, prefix: str) -> dict[str, Any]:
        """Like :meth:`RunDatabase.subtree`, seeing this transaction's changes."""
        self._check_open()
        return self._view.subtree(prefix)

    def set(self, key: str, value: Any) -> None:
        """Buffer ``key = value`` (checked now: key syntax, type, declared type)."""
        self._check_open()
        self.pending[key] = self._db._checked(key, value)

    def delete(self, key: str) -> None:
        """Buffer the deletion of a leaf, or of every leaf below a group.

        Raises
        ------
        KeyPathError
            If nothing is stored at or below ``key``.
        """
        self._check_open()
        split_key(key)
        leaves = self._view.keys(key)
        if not leaves:
            raise KeyPathError(f"key {key}: no such key to delete in {self._db.root}")
        for leaf in leaves:
            self.pending[leaf] = ABSENT

    def _commit(self, txid: str) -> list:
        self._open = False
        return self._db._write(dict(self.pending), txid, self.message)

    def _abandon(self) -> None:
        self._open = False
        self.pending.clear()
