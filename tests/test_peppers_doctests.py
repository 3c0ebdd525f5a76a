"""Every ``>>>`` example in the packages runs and gives what it shows.

No hand-kept list: every module of the installed ``peppers`` namespace
(``peppers.*``, ``peppers.operators.*``, ``peppers.cli.*``, ``peppers.hkv.*``)
is imported and its docstring examples run with ``doctest`` (ELLIPSIS and
NORMALIZE_WHITESPACE on), one test per module that has examples. This runs
with a plain ``pytest`` (and with ``pytest --doctest-modules``, whose own
collection covers only ``tests/``: the packages are mapped from the
top-level folders, so they are imported here by their package names).
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _modules() -> list[str]:
    """Every module below ``peppers``, including the packages mapped from other folders."""
    names: set[str] = set()
    for package in ("peppers", "peppers.operators", "peppers.cli", "peppers.hkv"):
        module = importlib.import_module(package)
        names.add(package)
        names.update(info.name for info in pkgutil.walk_packages(module.__path__, f"{package}."))
    return sorted(names)


def _with_examples() -> list[str]:
    finder = doctest.DocTestFinder(exclude_empty=True)
    out = []
    for name in _modules():
        if name.endswith("__main__"):
            continue
        module = importlib.import_module(name)
        if any(t.examples for t in finder.find(module, name)):
            out.append(name)
    return out


MODULES = _with_examples()


def test_every_package_is_walked():
    assert {"peppers.operators.coherence", "peppers.cli.registry", "peppers.hkv.schema",
            "peppers.bounds"} <= set(_modules())
    assert len(MODULES) >= 40


@pytest.mark.parametrize("name", MODULES)
def test_module_examples(name):
    module = importlib.import_module(name)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    for test in doctest.DocTestFinder(exclude_empty=True).find(module, name):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted > 0 and result.failed == 0, f"{name}: {result.failed} failed"
