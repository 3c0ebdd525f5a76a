"""The package layout maps the fixed top-level folders into ``peppers.*``."""

from __future__ import annotations

import pathlib
import subprocess
import sys
import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[1]
MAPPED = {"peppers": "peppers", "hkv": "peppers.hkv", "operators": "peppers.operators",
          "cli": "peppers.cli", "rules": "peppers.rules"}


def test_every_package_folder_is_listed_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    found = set()
    for top, namespace in MAPPED.items():
        for init in (ROOT / top).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / top).parts
            found.add(".".join((namespace, *rel)))
    assert found == listed


def test_namespace_imports():
    import peppers.cli
    import peppers.hkv
    import peppers.operators
    import peppers.ppe.region  # noqa: F401


def test_pep_help_is_quick_and_lists_commands(tmp_path):
    result = subprocess.run([sys.executable, "-m", "peppers.cli.main", "--help"],
                            capture_output=True, text=True, cwd=tmp_path, check=True)
    for command in ("init", "get", "set", "history", "audit", "demo"):
        assert command in result.stdout


def test_demo_does_not_pretend(tmp_path):
    result = subprocess.run([sys.executable, "-m", "peppers.cli.main", "demo"],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode != 0
    assert "not available yet" in result.stderr
    assert "Traceback" not in result.stderr
