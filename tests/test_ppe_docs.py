"""The documented examples really run: docs/operators.md and the ppe doctests."""

from __future__ import annotations

import doctest
import importlib
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
MODULES = ["cache", "edges", "estimate", "graph", "pipeline", "testing"]


def test_operators_md_examples_run(capsys):
    text = (ROOT / "docs" / "operators.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) == 4
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "docs/operators.md", "exec"), namespace)  # noqa: S102
    printed = capsys.readouterr().out
    assert "16 output tiles" in printed and "16/16 tiles" in printed
    assert namespace["slope"].shape == (1000, 800)


@pytest.mark.parametrize("name", MODULES)
def test_module_doctests(name):
    module = importlib.import_module(f"peppers.ppe.{name}")
    failures, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert tried > 0 and failures == 0
