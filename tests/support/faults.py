"""Fault injection for ``pep run make``: signals at random moments, then compare outputs.

:func:`kill_through` starts ``pep --run ROOT run make TARGETS`` again and
again; each time it waits (on the run's event log, a state) until the step
it aims at -- every stream and boundary rule in turn -- has started, or a
later one has, waits a random moment inside that step, and sends the next
signal (``SIGKILL``, ``SIGTERM`` or ``SIGINT``). Then a last ``make`` runs
to the end. :func:`outputs` and :func:`compare` check every output -- each
file under ``images/`` and ``products/`` byte for byte and every value a
reduction rule stored in HKV -- against an uninterrupted run.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Mapping, Sequence

from peppers.operators.statistics import RemoveMean
from peppers.ppe.operator import Param
from peppers.rmi.events import last_run
from peppers.rmi.paths import RunPaths

#: Seconds any wait here may take at most (a loaded machine is slow, not wrong).
DEADLINE = 900.0
SIGNALS = (signal.SIGKILL, signal.SIGTERM, signal.SIGINT)


@dataclass
class Kill:
    """One injected fault: the signal, the step aimed at, what ran, the exit status."""

    signal: str
    aimed: str
    running: str
    delay: float
    returncode: int
    stderr: str
    landed: bool = False  # the signal reached a make still under way and stopped it
    pid: int = 0


def steps_of(root: Path) -> list[tuple[str, float]]:
    """(step, seconds) of the last run at ``root``, in order: streams and boundary rules."""
    events = last_run(RunPaths(root).events)
    out, begun = [], {}
    for e in events:
        name = e.get("stream") if e["kind"].startswith("stream_") else e.get("rule")
        if e["kind"] in ("stream_start", "rule_start"):
            begun[name] = e["t"]
        elif e["kind"] in ("stream_end", "rule_end") and name in begun:
            out.append((name, e["t"] - begun.pop(name)))
    return out


def _started(root: Path, pid: int) -> list[str]:
    """Steps the run of process ``pid`` has started so far (empty before its run_start)."""
    events = events_of(root, pid)
    if not events:
        return []
    return [e.get("stream") or e.get("rule") for e in events
            if e["kind"] in ("stream_start", "rule_start")] + \
        (["<end>"] if events[-1]["kind"] == "run_end" else [])


class GatedRemoveMean(RemoveMean):
    """:class:`~peppers.operators.statistics.RemoveMean` that first waits for its gate.

    Holds a global rule mid-way (until the :class:`~support.gate.Gate` file
    ``gate`` is open), so a test can stop the make while it runs.
    """

    name: ClassVar[str] = "gated_remove_mean"
    params = RemoveMean.params + (Param("gate", str, "", "gate file (empty: no gate)"),)

    def run(self, sources: Mapping[str, Any], sinks: Mapping[str, Any]) -> None:
        from support.gate import Gate

        if self.gate:
            Gate(self.gate).wait(0)
        super().run(sources, sinks)


def wait_for(what: str, ready, process: subprocess.Popen | None = None) -> None:
    """Poll ``ready()`` until true (deadline :data:`DEADLINE`); fails if ``process`` ended."""
    end = time.monotonic() + DEADLINE
    while not ready():
        assert process is None or process.poll() is None, \
            f"make ended (status {process.returncode}) before {what}: {process.stderr.read()}"
        assert time.monotonic() < end, f"timed out after {DEADLINE:.0f} s waiting for {what}"
        time.sleep(0.01)


def events_of(root: Path, pid: int) -> list[dict]:
    """The events of the last run at ``root`` if process ``pid`` runs it, else []."""
    events = last_run(RunPaths(root).events)
    if not events or events[0].get("process", {}).get("pid") != pid:
        return []
    return events


def make(root: Path, targets: Sequence[str], env: dict | None = None,
         **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "peppers.cli.main", "--run", str(root),
                             "run", "make", *targets], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, **popen)


def kill_through(root: Path, targets: Sequence[str], plan: Sequence[tuple[str, float]],
                 signals: Sequence[signal.Signals], rng: random.Random,
                 env: dict | None = None) -> list[Kill]:
    """Interrupt ``make`` once per entry of ``signals``, aiming at the steps of ``plan`` in turn.

    ``plan`` is :func:`steps_of` an uninterrupted run; ``len(signals) /
    len(plan)`` kills aim at each step, at a random moment within its
    reference duration after it (or a later step) started.
    """
    order = [name for name, _ in plan]
    per_step = max(1, len(signals) // len(order))
    kills: list[Kill] = []
    for k, sig in enumerate(signals):
        aimed = order[min(k // per_step, len(order) - 1)]
        kills.append(kill_once(root, targets, plan, aimed, sig, rng, env,
                               force=bool(kills) and kills[-1].returncode == 0))
    return kills


def kill_until_landed(root: Path, targets: Sequence[str], plan: Sequence[tuple[str, float]],
                      rng: random.Random, per_step: int = 3, tries_per_step: int = 8,
                      env: dict | None = None) -> list[Kill]:
    """Interrupt ``make`` until ``per_step`` signals aimed at each step of ``plan`` landed.

    A signal *lands* when it stopped a make still under way; one that found
    the make ended (its random moment fell after the last step: warm steps
    of a small scene take tenths of a second) is sent again, aimed at the
    same step, at most ``tries_per_step`` times per step, so the total is
    bounded. The signals cycle through SIGKILL, SIGTERM and SIGINT, each
    cycle in a random order.
    """
    kills: list[Kill] = []
    cycle: list[signal.Signals] = []
    for aimed, _ in plan:
        landed = 0
        for _ in range(tries_per_step):
            if landed >= per_step:
                break
            if not cycle:
                cycle = rng.sample(SIGNALS, len(SIGNALS))
            kill = kill_once(root, targets, plan, aimed, cycle.pop(), rng, env,
                             force=bool(kills) and kills[-1].returncode == 0)
            kills.append(kill)
            landed += kill.landed
    return kills


def kill_once(root: Path, targets: Sequence[str], plan: Sequence[tuple[str, float]],
              aimed: str, sig: signal.Signals, rng: random.Random, env: dict | None = None,
              force: bool = False) -> Kill:
    """Start ``make`` (``--force`` if asked: the last one ran to the end), wait until step
    ``aimed`` of ``plan`` or a later one has started, wait a random moment within its
    reference duration, send ``sig``; the :class:`Kill`."""
    order = [name for name, _ in plan]
    process = make(root, [*targets, *(["--force"] if force else [])], env)
    try:
        end = time.monotonic() + DEADLINE
        while True:
            started = _started(root, process.pid)
            if aimed in started or any(s not in order[:order.index(aimed)] for s in started):
                break
            if process.poll() is not None:
                break
            assert time.monotonic() < end, f"make never reached {aimed}"
            time.sleep(0.01)
        delay = rng.uniform(0.0, max(0.05, dict(plan)[aimed]))
        time.sleep(delay)  # the random moment inside the step: the point of the test
        running = (_started(root, process.pid) or ["<start>"])[-1]
        sent = process.poll() is None
        if sent:
            process.send_signal(sig)
        process.wait(DEADLINE)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    kill = Kill(sig.name, aimed, running, round(delay, 3), process.returncode,
                process.stderr.read(), sent and process.returncode != 0, process.pid)
    process.stderr.close()
    return kill


def finish(root: Path, targets: Sequence[str], env: dict | None = None) -> str:
    """Run ``make`` to the end; its stderr (the test fails on a non-zero status)."""
    process = make(root, targets, env)
    _, err = process.communicate(timeout=DEADLINE)
    assert process.returncode == 0, err[-3000:]
    return err


def outputs(root: Path) -> dict[str, object]:
    """Every output of a run: file bytes under images/ and products/, reduction values."""
    from peppers.drs.ruleset import RuleSet
    from peppers.hkv import RunDatabase

    found: dict[str, object] = {}
    for folder in ("images", "products"):
        for path in sorted((root / folder).rglob("*")):
            rel = path.relative_to(root)
            if path.is_file() and not any(part.startswith(".") for part in rel.parts):
                found[rel.as_posix()] = path.read_bytes()  # temporaries: leftovers()
    db = RunDatabase.open(root)
    rules = RuleSet.load(root, package=bool(db.get("drs.package_rules", True)))
    for rule in rules.rules.values():
        if rule.kind == "reduction":
            for key in rule.outputs.values():
                value = db.get(key, None)
                if value is not None:
                    found[f"hkv:{key}"] = value
    return found


def compare(got: dict[str, object], truth: dict[str, object]) -> None:
    """Same outputs, each identical; names the first that differs."""
    assert sorted(got) == sorted(truth), (sorted(set(got) ^ set(truth)))
    for name in truth:
        assert got[name] == truth[name], f"{name} differs from the uninterrupted run"


def leftovers(root: Path) -> list[str]:
    """Temporary files left under images/ and products/ (there must be none)."""
    return [p.relative_to(root).as_posix() for folder in ("images", "products")
            for p in (root / folder).rglob(".*")]


def env_with_tests() -> dict[str, str]:
    tests = str(Path(__file__).resolve().parents[1])
    return dict(os.environ, PYTHONPATH=os.pathsep.join([tests, os.environ.get("PYTHONPATH", "")]))
