"""The package layering holds: no module imports a package of a higher layer.

The import graph is read from the sources (AST), every ``import`` counted --
top-level, inside functions, under ``TYPE_CHECKING`` -- so a lazy import
cannot hide an upward dependency. The layers, lowest first::

    0 vocabulary   peppers, peppers.errors, peppers.bounds, peppers.image, peppers.operator
    1 storage      peppers.io, peppers.geometry, peppers.hkv
    2 scenes       peppers.scene
    3 engine       peppers.ppe, peppers.pictures
    4 operators    peppers.operators, peppers.importers
    5 scheduler    peppers.drs, peppers.rmi
    6 report       peppers.report
    7 commands     peppers.cli, peppers.__main__

A module may import its own package and packages of lower layers only (in
the vocabulary and the commands, its own layer too), and
the engine (:mod:`peppers.ppe`) not even the run database: it imports
nothing of ``peppers.drs``, ``peppers.hkv`` or ``peppers.operators``.
"""

from __future__ import annotations

import ast
import pathlib
from collections.abc import Iterator

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
#: Import package -> folder (pyproject's package-dir).
FOLDERS = {"peppers": "peppers", "peppers.hkv": "hkv", "peppers.operators": "operators",
           "peppers.cli": "cli", "peppers.rules": "rules"}
LAYERS = {
    "peppers": 0, "peppers.errors": 0, "peppers.bounds": 0, "peppers.image": 0,
    "peppers.operator": 0,
    "peppers.io": 1, "peppers.geometry": 1, "peppers.hkv": 1, "peppers.rules": 1,
    "peppers.scene": 2,
    "peppers.ppe": 3, "peppers.pictures": 3,
    "peppers.operators": 4, "peppers.importers": 4,
    "peppers.drs": 5, "peppers.rmi": 5,
    "peppers.report": 6,
    "peppers.cli": 7, "peppers.__main__": 7,
}
#: Layers whose packages may import each other (one floor; the commands).
SHARED = {0, 7}
#: Imports forbidden although the layers would allow them.
FORBIDDEN = {"peppers.ppe": {"peppers.hkv"}}
#: Upward imports that exist today, each with where it belongs; the test
#: fails when one disappears, so the list only shrinks.
KNOWN: dict[tuple[str, str], str] = {}


def modules() -> Iterator[tuple[str, pathlib.Path]]:
    """Every module of the import namespace, with its file."""
    for package, folder in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            if package == "peppers" and parts and f"peppers.{parts[0]}" in FOLDERS:
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            yield ".".join([package, *parts]), path


def imports(name: str, path: pathlib.Path) -> Iterator[tuple[str, int]]:
    """``(imported module, line)`` of every import statement in the file, nested ones too."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield target, node.lineno
            for alias in node.names:  # ``from peppers import drs`` imports peppers.drs
                yield f"{target}.{alias.name}", node.lineno


def layer_of(module: str) -> str | None:
    """The layered package a module belongs to (longest registered prefix)."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        if prefix in LAYERS:
            return prefix
    return None


def edges() -> list[tuple[str, str, str, str]]:
    """``(module, its package, imported package, "file:line")`` of every peppers import."""
    out = []
    for name, path in modules():
        mine = layer_of(name)
        for target, line in imports(name, path):
            if target.split(".")[0] != "peppers":
                continue
            theirs = layer_of(target)
            out.append((name, mine, theirs, f"{path.relative_to(ROOT)}:{line}"))
    return out


def test_every_package_has_a_layer():
    missing = sorted({name for name, _ in modules() if layer_of(name) is None}
                     | {str(theirs) for _, _, theirs, _ in edges() if theirs is None})
    assert not missing, f"packages without a layer (add them to LAYERS): {missing}"


def test_no_module_imports_a_higher_layer():
    bad = set()
    for name, mine, theirs, where in edges():
        if mine is None or theirs is None or mine == theirs:
            continue
        upward = LAYERS[theirs] > LAYERS[mine]
        sideways = LAYERS[theirs] == LAYERS[mine] not in SHARED
        if (upward or sideways or theirs in FORBIDDEN.get(mine, ())) \
                and (name, theirs) not in KNOWN:
            bad.add(f"{where}: {name} (layer {LAYERS[mine]}) imports {theirs} "
                       f"(layer {LAYERS[theirs]})")
    assert not bad, "layering broken:\n" + "\n".join(sorted(bad))


def test_known_exceptions_still_exist():
    found = {(name, theirs) for name, _, theirs, _ in edges()}
    gone = [f"{m} -> {t}" for m, t in KNOWN if (m, t) not in found]
    assert not gone, f"remove from KNOWN (fixed): {gone}"


@pytest.mark.parametrize("forbidden", ["peppers.drs", "peppers.hkv", "peppers.operators"])
def test_the_engine_knows_no_scheduler_database_or_operators(forbidden):
    hits = [where for name, mine, theirs, where in edges()
            if mine == "peppers.ppe" and theirs == forbidden]
    assert not hits, f"peppers.ppe imports {forbidden}: {hits}"


def test_the_reader_sees_lazy_and_relative_imports(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from peppers.drs import make\n"
                      "if TYPE_CHECKING:\n    import peppers.hkv\nfrom . import sibling\n")
    found = {target for target, _ in imports("peppers.io.m", source)}
    assert {"peppers.drs", "peppers.hkv", "peppers.io.sibling"} <= found
