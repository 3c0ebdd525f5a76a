"""The monitor's ETA: measured tile costs, the plan's steps, never 0 s while work is left.

It used to read 0 s during coregistration: a global rule runs outside any
stream, and the ETA summed the running streams only. The fold now adds the
make's plan (``plan`` event, the seconds each step's rules took in the
run's last make) and reports an incomplete ETA as a lower bound or ``?``.
"""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from support.drs import TESTS, make_run
from peppers.cli.cmd_run import execute
from peppers.drs import plan_make
from peppers.rmi.events import last_run
from peppers.rmi.paths import RunPaths
from peppers.rmi.state import RunStatus, format_eta
from peppers.rmi.view import render

CHAIN = (TESTS / "rules" / "chain.yaml").read_text()
TARGETS = ["t.stats", "other_out"]


def _events(plan_expected: dict[str, float | None]) -> list[dict]:
    """A make of stream-1, the global rule ``coregistration``, then stream-2."""
    return [
        {"t": 0.0, "kind": "run_start", "process": {"pid": 5}},
        {"t": 0.0, "kind": "plan", "steps": [
            {"step": "stream-1", "kind": "stream", "rules": ["slc"],
             "expected": plan_expected["stream-1"]},
            {"step": "coregistration", "kind": "global", "rules": ["coregistration"],
             "expected": plan_expected["coregistration"]},
            {"step": "stream-2", "kind": "stream", "rules": ["resample", "ifg"],
             "expected": plan_expected["stream-2"]}]},
        {"t": 1.0, "kind": "stream_start", "stream": "stream-1", "rules": ["slc"], "total": 8,
         "skipped": 0, "threads": 2},
        {"t": 3.0, "kind": "tile", "stream": "stream-1", "done": 4, "total": 8, "elapsed": 2.0,
         "threads": 2, "nodes": {"slc": [4, 6.0]}},
    ]


def _coregistering(events: list[dict]) -> list[dict]:
    return events + [
        {"t": 6.0, "kind": "tile", "stream": "stream-1", "done": 8, "total": 8, "elapsed": 5.0,
         "threads": 2, "nodes": {"slc": [8, 12.0]}},
        {"t": 6.0, "kind": "stream_end", "stream": "stream-1", "status": "ok"},
        {"t": 6.0, "kind": "rule_start", "rule": "coregistration", "rule_kind": "global"}]


def test_eta_during_a_global_rule_counts_the_rule_and_the_steps_after_it():
    expected = {"stream-1": 6.0, "coregistration": 30.0, "stream-2": 20.0}
    state = RunStatus.fold(_events(expected))
    # stream-1 measured: 4 tiles left x 1.5 s / 2 threads = 3 s; then 30 s and 20 s
    assert state.eta_at(3.0) == (pytest.approx(53.0), True)
    state = RunStatus.fold(_coregistering(_events(expected)))
    assert state.eta_at(6.0) == (pytest.approx(50.0), True)     # not 0 s
    assert state.eta_at(16.0) == (pytest.approx(40.0), True)    # 10 s of it ran
    assert state.eta == pytest.approx(50.0)
    assert format_eta(*state.eta_at(16.0)) == "40s"
    ran_long = state.eta_at(40.0)                               # past its expected 30 s
    assert ran_long == (pytest.approx(20.0), False)
    assert format_eta(*ran_long) == ">= 20s"
    again = RunStatus.from_dict(state.to_dict())       # what an attached client folds
    assert again.eta_at(16.0) == state.eta_at(16.0)


def test_first_make_eta_is_unknown_during_the_global_rule_never_zero():
    state = RunStatus.fold(_coregistering(_events(dict.fromkeys(
        ("stream-1", "coregistration", "stream-2")))))
    assert state.eta_at(6.0) == (0.0, False) and state.eta is None
    assert format_eta(*state.eta_at(6.0)) == "?"
    console = Console(file=io.StringIO(), width=120, color_system=None)
    console.print(render(state, run="/runs/r", now=6.0))
    head = [line for line in console.file.getvalue().splitlines() if "ETA" in line][0]
    assert head.split("ETA")[1].split()[0] == "?", head
    # an event log without a plan (older makes) during a global rule: unknown, not 0
    old = [e for e in _coregistering(_events(dict.fromkeys(
        ("stream-1", "coregistration", "stream-2")))) if e["kind"] != "plan"]
    assert RunStatus.fold(old).eta_at(6.0) == (0.0, False)


def test_a_real_make_announces_its_plan_with_the_last_makes_seconds(tmp_path):
    db = make_run(tmp_path, CHAIN)
    first = plan_make(db, TARGETS)
    assert all(step["expected"] is None for step in first.estimates())   # nothing recorded
    assert execute(db, first, ["pep", "run", "make", *TARGETS], label="first") == 0
    records = db.get("drs.rules")
    db.set("t.factor", 3.0)                                 # scale, center, shift, stats rerun
    second = plan_make(db, TARGETS)
    estimates = {step["step"]: step for step in second.estimates()}
    assert estimates["center"]["kind"] == "global"
    assert estimates["center"]["expected"] == pytest.approx(records["center"]["seconds"])
    assert execute(db, second, ["pep", "run", "make", *TARGETS], label="second") == 0
    events = last_run(RunPaths(db.root).events)
    [plan] = [e for e in events if e["kind"] == "plan"]
    assert {s["step"]: s["expected"] for s in plan["steps"]} == pytest.approx(
        {name: step["expected"] for name, step in estimates.items()})
    # fold the log up to the global rule's start: the ETA there is what is left of the plan
    upto = events[:next(i for i, e in enumerate(events)
                        if e["kind"] == "rule_start" and e["rule"] == "center") + 1]
    state = RunStatus.fold(upto)
    left = sum(step["expected"] for name, step in estimates.items()
               if name not in state.streams and not any(r in state.rules and r != "center"
                                                        for r in step["rules"]))
    seconds, complete = state.eta_at(upto[-1]["t"])
    assert complete and seconds == pytest.approx(left) and seconds > 0
    assert RunStatus.fold(events).eta_at(upto[-1]["t"]) == (0.0, True)   # finished
