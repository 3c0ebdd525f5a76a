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


def test_demo_runs_and_prints_accuracy(tmp_path):
    """``pep demo`` on a small scene: the chain, the accuracy and the bound."""
    import re

    result = subprocess.run([sys.executable, "-m", "peppers.cli.main", "demo", "d",
                             "--lines", "400", "--samples", "320"],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    rms = re.search(r"RMS height error\s+([0-9.]+) m", result.stdout)
    bound = re.search(r"Cramer-Rao bound\s+([0-9.]+) m", result.stdout)
    assert rms and bound and float(bound.group(1)) > 0
    assert float(rms.group(1)) < 3 * float(bound.group(1))
    assert (tmp_path / "d" / "run" / "products" / "geocoded_dem.tif").is_file()
