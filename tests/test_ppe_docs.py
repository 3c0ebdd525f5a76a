"""The documented examples of docs/operators.md really run (module doctests: test_peppers_doctests.py)."""

from __future__ import annotations

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_operators_md_examples_run(capsys):
    text = (ROOT / "docs" / "operators.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) == 5
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "docs/operators.md", "exec"), namespace)  # noqa: S102
    printed = capsys.readouterr().out
    assert "16 output tiles" in printed and "16/16 tiles" in printed
    assert namespace["slope"].shape == (1000, 800)
