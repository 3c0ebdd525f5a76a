"""``pep get / set / history / audit`` on a run directory."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from peppers.cli.main import main
from peppers.hkv import RunDatabase

pytestmark = pytest.mark.usefixtures("no_fsync")  # throw-away runs: no fsync

PARAMETERS = {
    "insar.coherence.window": {"type": "list[int]", "default": [5, 5], "doc": "Window."},
    "insar.looks": {"type": "int", "default": 4},
    "insar.method": {"type": "str", "default": "goldstein"},
}


@pytest.fixture
def run(tmp_path):
    RunDatabase.create(tmp_path / "run", PARAMETERS)
    return tmp_path / "run"


def pep(capsys, *argv) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_get_prints_yaml(run, capsys):
    assert pep(capsys, "--run", str(run), "get", "insar.coherence.window") == (0, "[5, 5]\n", "")
    status, out, _ = pep(capsys, "--run", str(run), "get", "insar")
    assert status == 0
    assert out == "coherence:\n  window: [5, 5]\nlooks: 4\nmethod: goldstein\n"
    status, out, _ = pep(capsys, "--run", str(run), "get", "--stamp", "insar.looks")
    assert status == 0 and out.startswith("mtime: ") and "hash: " in out


def test_set_parses_yaml_and_checks_types(run, capsys):
    assert pep(capsys, "--run", str(run), "set", "insar.coherence.window", "[5, 9]")[:2] == (
        0, "insar.coherence.window: [5, 5] -> [5, 9]\n")
    assert RunDatabase.open(run).get("insar.coherence.window") == [5, 9]
    status, _, err = pep(capsys, "--run", str(run), "set", "insar.looks", "many")
    assert status == 1
    assert err.startswith("pep: error: key insar.looks: expected int") and err.count("\n") == 1
    assert pep(capsys, "--run", str(run), "set", "insar.method", "123")[0] == 0
    assert RunDatabase.open(run).get("insar.method") == "123"  # declared str: taken literally
    assert pep(capsys, "--run", str(run), "set", "notes.when", "2024-05-01T12:00:00Z")[0] == 0
    assert RunDatabase.open(run).get("notes.when").year == 2024
    status, _, err = pep(capsys, "--run", str(run), "set", "notes.x", "[1, 2")
    assert status == 1 and "VALUE for notes.x: not valid YAML" in err


def test_run_from_environment_and_cwd(run, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("PEP_RUN", str(run))
    assert pep(capsys, "get", "insar.looks")[:2] == (0, "4\n")
    monkeypatch.delenv("PEP_RUN")
    monkeypatch.chdir(run)
    assert pep(capsys, "get", "insar.looks")[:2] == (0, "4\n")
    monkeypatch.chdir(tmp_path)
    status, _, err = pep(capsys, "get", "insar.looks")
    assert status == 1 and "not a peppers run" in err and str(tmp_path) in err


def test_errors_are_one_line(run, capsys):
    for argv in (["get", "no.such"], ["get", "bad key"], ["history", "--restore", "nope"]):
        status, out, err = pep(capsys, "--run", str(run), *argv)
        assert status == 1 and err.startswith("pep: error: ") and err.count("\n") == 1, argv
    (run / "records/insar.yaml").write_text("looks: [4\n")
    status, _, err = pep(capsys, "--run", str(run), "get", "insar.looks")
    assert status == 1 and "records/insar.yaml, line 1, key insar.looks" in err


def test_history_snapshot_diff_restore(run, capsys):
    r = ["--run", str(run)]
    status, out, _ = pep(capsys, *r, "history", "--snapshot", "base", "-m", "defaults")
    assert status == 0 and out.startswith("snapshot base ")
    pep(capsys, *r, "set", "insar.looks", "8")
    pep(capsys, *r, "set", "extra.key", "1")
    status, out, _ = pep(capsys, *r, "history", "--diff", "base", "current")
    assert out == "+ extra.key: (absent) -> 1\n~ insar.looks: 4 -> 8\n"
    status, out, _ = pep(capsys, *r, "history")
    assert status == 0 and out.startswith("base  ") and "defaults" in out
    status, out, _ = pep(capsys, *r, "history", "--restore", "base")
    assert status == 0 and "restored base: 2 key(s) changed" in out
    assert RunDatabase.open(run).get("insar.looks") == 4


def test_audit_lists_commands_and_changes(run, capsys):
    r = ["--run", str(run)]
    pep(capsys, *r, "set", "insar.looks", "6")
    status, out, _ = pep(capsys, *r, "audit")
    assert status == 0
    assert "command: pep --run" in out and "    insar.looks: 4 -> 6" in out
    status, out, _ = pep(capsys, *r, "audit", "--json", "--limit", "4")
    entries = [json.loads(line) for line in out.splitlines()]
    assert [e["kind"] for e in entries] == ["command", "change", "command", "command"]
    assert entries[1]["argv"] == ["pep", *r, "set", "insar.looks", "6"]  # the command behind it
    assert entries[1]["changes"] == [{"key": "insar.looks", "old": "4", "new": "6"}]
    assert entries[3]["argv"] == ["pep", *r, "audit", "--json", "--limit", "4"]


def test_every_command_has_help_with_example(tmp_path):
    for command in ("get", "set", "history", "audit"):
        result = subprocess.run([sys.executable, "-m", "peppers.cli.main", command, "--help"],
                                capture_output=True, text=True, cwd=tmp_path, check=True)
        assert "example:" in result.stdout and f"pep --run myrun {command}" in result.stdout
