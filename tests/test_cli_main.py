"""The ``pep`` command line itself: global options anywhere, closed pipes, -B/--forcerun,
the progress view, the event log of every make, ``python -m peppers``."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest

from support.drs import TESTS, env, finished, make_run, rerun
from peppers.cli.main import main
from peppers.cli.progress import WIDTH, ProgressView, label
from peppers.drs.streams import Step

CHAIN = (TESTS / "rules" / "chain.yaml").read_text()


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A run whose chain was made once (events, records and images to print)."""
    db = make_run(tmp_path_factory.mktemp("cli"), CHAIN)
    assert main(["--run", str(db.root), "run", "make", "t.stats", "other_out", "-j", "1"]) == 0
    assert main(["--run", str(db.root), "history", "--snapshot", "one"]) == 0
    db.set("notes.drop", 1)  # for the closed-pipe unset
    return db


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    """A folder with two small valid scenes, master.yaml and slave.yaml (for pep init)."""
    from support.scenes import write_test_scene

    folder = tmp_path_factory.mktemp("scenes")
    write_test_scene(folder, "master", seed=1)
    write_test_scene(folder, "slave", seed=2)
    return folder


def closed_pipe_run(argv: list[str], cwd=None) -> subprocess.CompletedProcess:
    """Run ``pep ARGV`` with stdout a pipe whose reader has already gone (as ``| head -0``)."""
    read_end, write_end = os.pipe()
    os.close(read_end)                   # every write now fails with EPIPE
    try:
        return subprocess.run([sys.executable, "-m", "peppers", *argv], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, env=env(), cwd=cwd,
                              timeout=600)
    finally:
        os.close(write_end)


#: Every command that prints, with arguments for the run ``made`` (RUN replaced).
PRINTING = {
    "help": ["--help"],
    "get": ["--run", "RUN", "get", "t"],
    "set": ["--run", "RUN", "set", "notes.pipe", "1"],
    "history": ["--run", "RUN", "history"],
    "history-diff": ["--run", "RUN", "history", "--diff", "one", "current"],
    "audit": ["--run", "RUN", "audit"],
    "audit-json": ["--run", "RUN", "audit", "--json"],
    "dag": ["--run", "RUN", "dag", "t.stats"],
    "dry-run": ["--run", "RUN", "run", "make", "t.stats", "-n", "--why", "-B"],
    "make": ["--run", "RUN", "run", "make", "other_out", "-B", "-j", "1"],
    "monitor-status": ["--run", "RUN", "monitor", "status"],
    "monitor-json": ["--run", "RUN", "monitor", "status", "--json"],
    "queue": ["queue"],
    "queue-reap": ["queue", "--reap"],
    "op-list": ["op", "--list"],
    "op-run": ["op", "remove_mean", "--input", "RUN/data/src.vrt", "--output", "out.vrt"],
    "unset": ["--run", "RUN", "unset", "notes.drop"],
    "show": ["--run", "RUN", "show", "final", "-o", "final.png"],
    "report": ["--run", "RUN", "report", "-o", "report.html"],
    "init": ["init", "newrun", "--master", "SCENES/master.yaml", "--slave", "SCENES/slave.yaml"],
    "simulate": ["simulate", "sim", "--lines", "64", "--samples", "64"],
}
# Not here: ``pep demo`` (the whole chain, minutes; it prints through the same make as
# "make" above) and ``pep monitor attach`` (a full-screen view of a live run).


@pytest.mark.parametrize("name", sorted(PRINTING))
def test_closed_pipe_ends_quietly(made, scenes, name, tmp_path):
    argv = [a.replace("RUN", str(made.root)).replace("SCENES", str(scenes))
            for a in PRINTING[name]]
    result = closed_pipe_run(argv, cwd=tmp_path)
    assert result.returncode in (0, 141), (name, result.returncode, result.stderr)
    # no message: only a make's own progress lines may be on stderr
    progress = [line for line in result.stderr.splitlines()
                if not line.startswith(("start  ", "done   "))]
    assert progress == [], (name, result.stderr)


def test_global_options_after_the_subcommand(made, capsys, tmp_path):
    root = str(made.root)
    assert main(["get", "--run", root, "t.factor"]) == 0
    assert capsys.readouterr().out == "2.0\n"
    assert main(["run", "make", "--run", root, "final", "-n"]) == 0     # nested: run make
    assert "nothing to do" in capsys.readouterr().out
    # after the subcommand wins over before it
    assert main(["--run", str(tmp_path), "get", "--run", root, "t.offset"]) == 0
    assert capsys.readouterr().out == "1.0\n"
    assert main(["get", "--run", str(tmp_path), "t.offset"]) == 1
    assert "not a peppers run" in capsys.readouterr().err
    with pytest.raises(ValueError):                    # --debug after: the traceback comes out
        main(["set", "--debug", "--run", root, "t.factor", "[1"])


def test_force_all_and_force_one_rule_with_its_descendants(tmp_path, capsys):
    db = make_run(tmp_path, CHAIN)
    root = str(db.root)
    assert main(["--run", root, "run", "make", "t.stats", "-j", "1"]) == 0
    before = finished(db)
    assert main(["--run", root, "run", "make", "t.stats", "-j", "1"]) == 0
    assert rerun(before, finished(db)) == set()              # up to date
    assert main(["--run", root, "run", "make", "t.stats", "--forcerun", "center", "-j", "1"]) == 0
    after_one = finished(db)
    assert rerun(before, after_one) == {"center", "shift", "stats"}      # not smooth, scale
    assert main(["--run", root, "run", "make", "t.stats", "-B", "-j", "1"]) == 0
    assert rerun(after_one, finished(db)) == {"smooth", "scale", "center", "shift", "stats"}
    capsys.readouterr()
    assert main(["--run", root, "run", "make", "t.stats", "-R", "other"]) == 1
    err = capsys.readouterr().err
    assert "--forcerun: other not among the rules t.stats needs" in err


def test_python_dash_m_peppers_is_pep():
    result = subprocess.run([sys.executable, "-m", "peppers", "--version"], capture_output=True,
                            text=True, env=env(), timeout=120)
    assert result.returncode == 0 and result.stdout.startswith("peppers ")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_fits_80_columns_and_reports_each_step_once():
    rules = ["interferogram", "fringe_slope", "coherence_single_look", "multilook_interferogram",
             "multilook_coherence", "adaptive_filter"]
    stream = Step("stream-2", "stream", rules)
    reduction = Step("absolute_phase_estimate", "reduction", ["absolute_phase_estimate"])
    assert len(label(stream)) <= 30 and label(stream).startswith("stream-2 6 rules: interfero")
    out = Terminal()
    with ProgressView(stream=out, live=True) as view:
        view.start(stream, 40)
        view.start(reduction, None)
        for done in range(1, 41):
            view.advance(stream, done, 40)
        view.finish(reduction, True, "0.50 s")
        view.finish(stream, True, "1.25 s")
        view.finish(stream, True, "1.25 s")                  # a second report prints nothing
        assert not view._progress.tasks                      # nothing left spinning
    text = out.getvalue()
    plain = [line for line in text.replace("\r", "\n").split("\n") if line.strip()]
    import re

    visible = [re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", line) for line in plain]
    assert max(len(line) for line in visible) <= WIDTH
    assert sum(line.startswith("done   stream-2") for line in visible) == 1
    assert sum(line.startswith("done   absolute_phase_estimate") for line in visible) == 1


def test_every_make_writes_the_event_log_monitor_status_reads(made, capsys):
    """``pep run make`` and ``pep demo`` share ``cmd_run.execute``: the event log is there."""
    events = made.root / ".peppers" / "events.jsonl"
    assert events.exists() and "rule_end" in events.read_text()
    assert main(["--run", str(made.root), "monitor", "status"]) == 0
    assert "finished" in capsys.readouterr().out


@pytest.mark.slow
def test_demo_leaves_the_event_log_of_a_run(tmp_path, capsys):
    """Slow (a whole small demo); the fast test above covers ``execute`` itself."""
    assert main(["demo", str(tmp_path / "demo"), "--lines", "400", "--samples", "320"]) == 0
    run = tmp_path / "demo" / "run"
    assert "rule_end" in (run / ".peppers" / "events.jsonl").read_text()
    capsys.readouterr()
    assert main(["--run", str(run), "monitor", "status"]) == 0
    assert "finished" in capsys.readouterr().out
