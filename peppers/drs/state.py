"""What the run database knows for the scheduler: run inputs, rule records, parameters.

Run inputs
----------
An image no rule makes is read from HKV, first match wins:

=========================  =========================================
image                      HKV key holding its path
=========================  =========================================
``master_slc``             ``inputs.master.image.path`` (``pep init``)
``slave_slc``              ``inputs.slave.image.path``
``reference_dem``          ``inputs.reference_dem.path``
any ``NAME``               ``inputs.NAME.path``, else ``inputs.NAME.image.path``
=========================  =========================================

Paths are relative to the run directory or absolute
(:func:`peppers.scene.inputs.resolve_input`). The file records ``pep init``
keeps beside them (``inputs.<role>.files``) seed the hash cache.

Rule records
------------
Each completed rule is recorded under ``drs.rules.<rule>`` in one HKV
transaction (so one audit entry per rule): ``finished`` (UTC), ``seconds``,
``kind``, ``operator``, ``version``, ``stream``, ``params`` (parameter ->
``{key, hash, value}``, the value only when short), ``inputs`` (image ->
identity, :mod:`peppers.drs.signatures`), ``outputs`` (image -> identity; for
a reduction, key -> ``{key, hash}``) and ``recipe`` (the hash naming what
was computed). Run-input hashes the scheduler computed are cached under
``drs.inputs.<image>``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from pathlib import Path
from typing import Any

from peppers.drs.rules import Rule
from peppers.drs.signatures import Signer
from peppers.hkv import ABSENT, RunDatabase
from peppers.scene.inputs import _flatten  # nested mappings -> dotted leaves

ALIASES = {"master_slc": ("inputs.master.image.path", "inputs.master.files"),
           "slave_slc": ("inputs.slave.image.path", "inputs.slave.files"),
           "reference_dem": ("inputs.reference_dem.path", "inputs.reference_dem.files")}
_SHORT = 200


def _hash_text(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


class RunState:
    """The scheduler's view of one run: inputs, parameters, records, file signatures.

    Parameters
    ----------
    db : RunDatabase
        The open run.
    """

    def __init__(self, db: RunDatabase) -> None:
        self.db = db
        self.root = Path(db.root)
        self.signer = Signer(self.root)
        records = db.get("drs.rules", {})
        self.records: dict[str, dict[str, Any]] = records if isinstance(records, dict) else {}
        for record in self.records.values():
            for ident in (record.get("outputs") or {}).values():
                if isinstance(ident, dict):
                    self.signer.learn(ident.get("files", ()))
        cached = db.get("drs.inputs", {})
        for ident in (cached.values() if isinstance(cached, dict) else ()):
            if isinstance(ident, dict):
                self.signer.learn(ident.get("files", ()))
        for _, files_key in ALIASES.values():
            self.signer.learn(db.get(files_key, None) or ())
        self._inputs: dict[str, str | None] = {}

    # -- run inputs -----------------------------------------------------------------
    def input_path(self, image: str) -> str | None:
        """The recorded path of run input ``image`` (as stored), or None."""
        if image not in self._inputs:
            keys = [ALIASES[image][0]] if image in ALIASES else []
            keys += [f"inputs.{image}.path", f"inputs.{image}.image.path"]
            found = None
            for key in keys:
                value = self.db.get(key, None)
                if isinstance(value, str) and value:
                    found = value
                    break
            if found is not None and image not in ALIASES:
                self.signer.learn(self.db.get(f"inputs.{image}.files", None) or ())
            self._inputs[image] = found
        return self._inputs[image]

    def is_run_input(self, image: str) -> bool:
        return self.input_path(image) is not None

    def input_abspath(self, image: str) -> Path:
        from peppers.scene.inputs import resolve_input

        return resolve_input(self.input_path(image), self.root)

    # -- parameters -----------------------------------------------------------------
    def param_state(self, key: str) -> dict[str, Any]:
        """``{key, hash, value?}`` of a parameter key now (``hash`` None if absent)."""
        value = self.db.get(key, ABSENT)
        if value is ABSENT:
            return {"key": key, "hash": None}
        state = {"key": key, "hash": self.db.stamp(key).hash}
        text = json.dumps(value, default=str)
        if len(text) <= _SHORT:
            state["value"] = value
        return state

    def param_value(self, key: str) -> Any:
        """The value of a parameter key (a mapping for a group)."""
        return self.db.get(key)

    # -- records --------------------------------------------------------------------
    def record(self, rule: str) -> dict[str, Any] | None:
        return self.records.get(rule)

    def output_identity(self, rule: str, image: str) -> dict[str, Any] | None:
        """What ``rule``'s record says about its output ``image``."""
        record = self.records.get(rule) or {}
        ident = (record.get("outputs") or {}).get(image)
        return ident if isinstance(ident, dict) else None

    def on_disk(self, rule: Rule, image: str) -> bool:
        """Whether ``image`` (made by ``rule``) is stored and still as recorded."""
        ident = self.output_identity(rule.name, image)
        if ident is None or "files" not in ident:
            return False
        return self.signer.compare(ident, Path(rule.output_path(image)))[0]

    def commit_record(self, rule: Rule, record: dict[str, Any], *,
                      extra: dict[str, Any] | None = None, message: str) -> None:
        """Store ``drs.rules.<rule>`` (and ``extra`` leaves) in one transaction."""
        leaves: dict[str, Any] = {}
        for key, value in (extra or {}).items():
            _flatten(key, value, leaves)
        prefix = f"drs.rules.{rule.name}"
        for key in ("finished", "seconds", "kind", "operator", "version", "stream",
                    "params", "inputs", "outputs", "recipe"):
            leaves[f"{prefix}.{key}"] = record.get(key)
        leaves.update(self._hash_leaves())
        replaced = [k for k in (extra or {}) if self.db.get(k, ABSENT) is not ABSENT]
        with self.db.transaction(message=message) as tx:
            for key in [prefix, *replaced]:
                if tx.keys(key):
                    tx.delete(key)
            for key, value in leaves.items():
                tx.set(key, value)
        self.records[rule.name] = record

    def save_hashes(self) -> None:
        """Store run-input hashes computed since the last record (``drs.inputs.*``).

        A touched but unchanged input is hashed once; afterwards its new size
        and mtime match the cache and it is not read again.
        """
        leaves = self._hash_leaves()
        if leaves:
            with self.db.transaction(message="pep run make: cache input hashes") as tx:
                for key, value in leaves.items():
                    tx.set(key, value)

    def _hash_leaves(self) -> dict[str, Any]:
        leaves = {}
        for path, size, mtime in list(self.signer.computed):
            del self.signer.computed[(path, size, mtime)]
            image = self._input_of(path)
            if image is not None:
                ident = self.signer.identity(self.input_abspath(image))
                if ident is not None:
                    leaves[f"drs.inputs.{image}"] = ident
        return leaves

    def _input_of(self, abspath: str) -> str | None:
        for image, recorded in self._inputs.items():
            if recorded is not None:
                from peppers.drs.signatures import image_files

                if abspath in {str(p) for p in image_files(self.input_abspath(image))}:
                    return image
        return None


def recipe_token(rule: Rule, version: str, params: dict[str, Any],
                 inputs: dict[str, Any]) -> str:
    """Hash of what a rule computes: operator, version, parameter and input identities.

    Input identities enter by content (file hashes, or the token of an
    in-memory intermediate), so a rule rerun on the same data with the same
    parameters gets the same token and its in-memory outputs stay "the same".
    """
    def content(ident: Any) -> Any:
        if isinstance(ident, dict) and "files" in ident:
            return [f.get("sha256") for f in ident["files"]]
        return ident

    return _hash_text({"rule": rule.name, "operator": rule.operator or rule.command,
                       "version": version,
                       "params": {p: s.get("hash") for p, s in params.items()},
                       "inputs": {i: content(v) for i, v in inputs.items()}})[:32]


def now_utc() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)
