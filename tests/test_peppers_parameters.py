"""Every parameter is declared once: ``Param`` (operators), rule ``params:`` and
``peppers/parameters.yaml`` agree in type, default and bounds; no key is dead.

An operator parameter that a run reads (its ``Param.key``, or the key a
packaged rule maps it to) is declared by the ``Param``; its entry in
``parameters.yaml`` must say the same. A failure prints the entry to paste.
Keys a Param may read without a declaration: the run's inputs (``inputs.*``)
and results of reduction rules (their output keys and below).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

import peppers
from peppers.bounds import BOUNDS
from peppers.cli.cmd_init import default_parameters
from peppers.drs.rules import parse_rule_file
from peppers.drs.ruleset import rule_files
from peppers.hkv.schema import NO_DEFAULT, Schema
from peppers.plain import plain

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = Schema(default_parameters())
RULES = [rule for layer in rule_files(None, package=True) for path in layer
         for rule in parse_rule_file(path)]
RESULTS = [key for rule in RULES if rule.kind == "reduction" for key in rule.outputs.values()]
#: Declared keys whose reader another open issue adds (a test below fails
#: once something reads them: then drop them from here).
PENDING: dict[str, str] = {}   # keys declared ahead of the code that reads them (none now)

_PLAIN = {int: "int", float: "float", str: "str", bool: "bool", dict: "mapping"}


def schema_type(param) -> str:
    """The ``parameters.yaml`` type of a ``Param`` (lists typed by their default's items)."""
    if param.type in (tuple, list):
        items = {type(v) for v in param.default}
        return f"list[{_PLAIN[items.pop()]}]" if len(items) == 1 else "list"
    return _PLAIN[param.type]


def yaml_entry(key: str, param) -> str:
    """The ``parameters.yaml`` entry a ``Param`` declares."""
    entry = {"type": schema_type(param), "default": plain(param.default)}
    entry.update({b: plain(v) for b, v in param.bounds.items()})
    entry["doc"] = param.doc
    return yaml.safe_dump({key: entry}, sort_keys=False, default_flow_style=None)


def is_free(key: str) -> bool:
    """A key a parameter may read without a declaration (inputs, rule results)."""
    return key == "inputs" or key.startswith("inputs.") or any(
        key == r or key.startswith(r + ".") for r in RESULTS)


def readers() -> list[tuple[str, str, object]]:
    """(where, key, Param) for every keyed Param and every rule ``params:`` mapping."""
    from peppers.cli.registry import discover

    out = []
    registry = discover(package_rules=False)
    for entry in registry.entries.values():
        for p in entry.params:
            if p.key:
                out.append((f"{entry.path} Param {p.name!r}", p.key, p))
    assert not registry.problems, registry.problems
    for rule in RULES:
        if rule.kind == "command":
            continue
        params = {p.name: p for p in rule.operator_class().params}
        for name, key in rule.params.items():
            out.append((f"rule {rule.name} params {name!r}", key, params[name]))
    return out


READERS = readers()


def test_the_readers_are_found():
    keys = {key for _, key, _ in READERS}
    assert {"insar.coherence.window", "insar.unwrap.coherence_threshold",
            "insar.coregistration.chip_size", "products.posting"} <= keys


@pytest.mark.parametrize("where,key,param", READERS, ids=[f"{w}:{k}" for w, k, _ in READERS])
def test_param_rule_and_parameters_yaml_agree(where, key, param):
    if is_free(key):
        return
    assert key in SCHEMA, (f"{where} reads {key}, which peppers/parameters.yaml does not "
                           f"declare; add:\n{yaml_entry(key, param)}")
    declared = SCHEMA.parameters[key]
    expected = yaml_entry(key, param)
    assert declared.type == schema_type(param), f"{where}: type differs; entry:\n{expected}"
    assert declared.default is not NO_DEFAULT
    default = plain(param.default)
    assert (declared.default, type(declared.default)) == (default, type(default)), \
        f"{where}: default {default!r} vs parameters.yaml {declared.default!r}; entry:\n{expected}"
    bounds = {b: plain(v) for b, v in param.bounds.items()}
    assert dict(declared.bounds) == bounds, \
        f"{where}: bounds {bounds} vs parameters.yaml {dict(declared.bounds)}; entry:\n{expected}"


def test_keyed_params_of_one_key_agree_with_each_other():
    by_key: dict[str, set[str]] = {}
    for _, key, param in READERS:
        if not is_free(key):
            by_key.setdefault(key, set()).add(repr((schema_type(param), plain(param.default),
                                                    sorted(param.bounds.items()))))
    assert {k: v for k, v in by_key.items() if len(v) > 1} == {}


def _sources() -> str:
    """The text of every module and rule file of the packages (what may read a key)."""
    folders = [Path(peppers.__file__).parent, ROOT / "operators", ROOT / "cli", ROOT / "hkv",
               ROOT / "rules"]
    return "\n".join(p.read_text(encoding="utf-8") for folder in folders
                     for p in sorted(folder.rglob("*")) if p.suffix in (".py", ".yaml")
                     and p.name != "parameters.yaml")


def test_every_declared_key_is_read():
    read = {key for _, key, _ in READERS}
    text = _sources()
    dead = [key for key in SCHEMA.parameters if key not in read and key not in PENDING
            and not re.search(rf"[\"'`]{re.escape(key)}[\"'`]", text)]
    assert dead == [], f"declared in peppers/parameters.yaml but read by nothing: {dead}"
    still_pending = [key for key in PENDING if key not in read
                     and not re.search(rf"[\"'`]{re.escape(key)}[\"'`]", text)]
    assert still_pending == list(PENDING), "a pending key is read now: drop it from PENDING"


def test_parameters_yaml_entries_only_use_known_fields():
    raw = yaml.safe_load((Path(peppers.__file__).parent / "parameters.yaml").read_text())
    fields = {"type", "default", "doc", *BOUNDS}
    assert {k: sorted(set(v) - fields) for k, v in raw.items() if set(v) - fields} == {}
    assert all(isinstance(v.get("doc"), str) and v["doc"] for v in raw.values())
