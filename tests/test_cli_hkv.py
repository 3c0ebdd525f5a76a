"""``pep get / set / unset / history / audit`` on a run directory."""

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
    for command in ("get", "set", "unset", "history", "audit"):
        result = subprocess.run([sys.executable, "-m", "peppers.cli.main", command, "--help"],
                                capture_output=True, text=True, cwd=tmp_path, check=True)
        assert "example:" in result.stdout and f"pep --run myrun {command}" in result.stdout


@pytest.fixture
def default_run(tmp_path):
    """A run with the packaged parameter set (what ``pep init`` declares)."""
    from peppers.cli.cmd_init import default_parameters

    RunDatabase.create(tmp_path / "run", default_parameters())
    return tmp_path / "run"


def test_set_refuses_a_typo_naming_the_closest_key(default_run, capsys):
    r = ["--run", str(default_run)]
    status, _, err = pep(capsys, *r, "set", "insar.coherenc.window", "[5,5]")
    assert status == 1 and err.count("\n") == 1
    assert err.startswith("pep: error: pep set: insar.coherenc.window is not a declared "
                          "parameter; did you mean insar.coherence.window")
    status, _, err = pep(capsys, *r, "set", "insar.looks", "4")  # the old help example
    assert status == 1 and "insar.multilook.looks" in err and err.count("\n") == 1
    for key in ("ppe.tile_shap", "products.postng"):
        assert pep(capsys, *r, "set", key, "1")[0] == 1
    db = RunDatabase.open(default_run)
    assert db.keys("insar.coherenc") == [] and db.keys("insar.looks") == []


def test_set_checks_bounds_naming_them(default_run, capsys):
    r = ["--run", str(default_run)]
    cases = {("insar.coherence.window", "[-1,5]"): "item -1 must be >= 1 (bound ge: 1)",
             ("products.posting", "0"): "0.0 must be > 0 (bound gt: 0)",
             ("insar.unwrap.method", "whirlwind"): "'whirlwind' must be one of mcf, wls, branch_cut, snaphu"}
    for (key, value), message in cases.items():
        status, _, err = pep(capsys, *r, "set", key, value)
        assert status == 1 and err == f"pep: error: key {key}: {message}" + (
            " (bound choices)" if "one of" in message else "") + "\n"
    db = RunDatabase.open(default_run)
    assert db.get("insar.coherence.window") == [5, 5] and db.get("insar.unwrap.method") == "mcf"
    assert pep(capsys, *r, "set", "insar.coherence.window", "[1,25]")[0] == 0


def test_user_keys_are_free_and_unset_removes_them_with_an_audit_entry(default_run, capsys):
    r = ["--run", str(default_run)]
    assert pep(capsys, *r, "set", "user.dem.note", "from the 2024 survey")[0] == 0
    assert pep(capsys, *r, "set", "user.dem.year", "2024")[0] == 0
    assert pep(capsys, *r, "unset", "user.dem.note")[:2] == (
        0, "user.dem.note: from the 2024 survey -> (absent)\n")
    db = RunDatabase.open(default_run)
    assert db.keys("user") == ["user.dem.year"]
    entries = [json.loads(line) for line in pep(capsys, *r, "audit", "--json")[1].splitlines()]
    change = [e for e in entries if e["kind"] == "change"][-1]
    assert change["argv"] == ["pep", *r, "unset", "user.dem.note"]
    assert change["changes"] == [{"key": "user.dem.note", "old": "from the 2024 survey",
                                  "new": None}]
    status, _, err = pep(capsys, *r, "unset", "insar.coherence.window")
    assert status == 1 and "declared parameter" in err and err.count("\n") == 1
    status, _, err = pep(capsys, *r, "unset", "user.dem.note")
    assert status == 1 and "nothing is stored at or below user.dem.note" in err
