"""Boundary rules: global operators, reductions and commands, each committed atomically.

Every boundary reads stored images only (the streams before it wrote them)
and never leaves a half-written output under a final name:

global
    :meth:`GlobalOperator.run(sources, sinks) <peppers.operator.GlobalOperator.run>`
    through :func:`peppers.ppe.runner.run_global`: sinks are raw images in a
    hidden folder beside each output (``images/.NAME.raw.vrt.tmp-PID/``); on
    success each raw file and then its header are renamed into ``images/``
    (the header last: a header in place always has its pixels).
reduction
    :meth:`ReductionOperator.reduce(sources)` returns values; they are
    stored in HKV together with the rule's record in one transaction.
command
    The command line, placeholders filled (``{inputs.X}`` absolute input
    paths, ``{outputs.X}`` a temporary path beside the final one with the
    same extension, ``{params.X}`` values, ``{run}`` the run directory, all
    shell-quoted), runs in the run directory, in a process group of its
    own that a stopped make stops (SIGTERM, then SIGKILL); its output goes to
    ``.peppers/logs/RULE.log``. Exit status 0 and every output written:
    the outputs are fsynced and renamed into place. Otherwise the
    temporaries are removed and the error names the rule and the status.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import string
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from peppers.drs.logged import run_logged
from peppers.drs.resolve import make_operator, param_values
from peppers.drs.rules import Rule
from peppers.drs.ruleset import RuleSet
from peppers.drs.state import RunState
from peppers.drs.streams import stored_path
from peppers.errors import OperatorError, RunAborted
from peppers.io.atomic import commit, sweep_temporaries
from peppers.ppe import runner
from peppers.ppe.engine import stop_requested


def _inputs(rule: Rule, rules: RuleSet, state: RunState) -> dict[str, Path]:
    return {port: state.root / stored_path(rules, state, image)
            for port, image in rule.inputs.items()}


def _what(rule: Rule) -> str:
    return f"{rule.kind} rule {rule.name} ({rule.operator or 'command'})"


def run_global(rule: Rule, rules: RuleSet, state: RunState, *, operator: Any = None) -> None:
    """Run a global rule; its outputs appear under ``images/`` only on success.

    :func:`peppers.ppe.runner.run_global` with the rule's operator, inputs
    and outputs. ``operator`` replaces the rule's operator (rank 0 of an MPI
    run passes one that writes the reconciled tiles, :mod:`peppers.drs.mpi`).

    Raises
    ------
    OperatorError
        The operator failed (names the rule; the original is ``__cause__``).
    RuleError, ImageError
        Bad parameters, unreadable inputs.
    """
    op = make_operator(rule, state) if operator is None else operator
    outputs = {port: state.root / rule.output_path(image) for port, image in rule.outputs.items()}
    for path in outputs.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    runner.run_global(op, _inputs(rule, rules, state), outputs, what=_what(rule))


def run_reduction(rule: Rule, rules: RuleSet, state: RunState) -> dict[str, Any]:
    """Run a reduction; return ``{HKV key: value}`` for the caller to commit.

    A result entry named like an output port goes to that port's key; with
    a single output and no such entry, the whole result mapping does.

    Raises
    ------
    OperatorError
        The operator failed, or returned no value for an output port.
    """
    result = runner.run_reduction(make_operator(rule, state), _inputs(rule, rules, state),
                                  what=_what(rule))
    values = {}
    for port, key in rule.outputs.items():
        if port in result:
            values[key] = result[port]
        elif len(rule.outputs) == 1:
            values[key] = result
        else:
            raise OperatorError(f"reduction rule {rule.name}: reduce() gave {sorted(result)}, "
                                f"with no value for output port {port!r}")
    return values


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def command_line(rule: Rule, rules: RuleSet, state: RunState,
                 outputs: dict[str, Path]) -> str:
    """The command line of a command rule with every placeholder filled and quoted."""
    q = shlex.quote
    fields = {
        "inputs": SimpleNamespace(**{p: q(str(state.root / stored_path(rules, state, i)))
                                     for p, i in rule.inputs.items()}),
        "outputs": SimpleNamespace(**{p: q(str(path)) for p, path in outputs.items()}),
        "params": SimpleNamespace(**{p: q(_text(v))
                                     for p, v in param_values(rule, state).items()}),
        "run": q(str(state.root)),
        "python": q(sys.executable),
    }
    return string.Formatter().vformat(rule.command, (), fields)


def _full(finals: dict[str, Path]) -> str:
    """``"; [Errno 28] No space left on device: 'DIR'"`` if an output's disk is full, else ''."""
    for path in finals.values():
        with contextlib.suppress(OSError):
            if os.statvfs(path.parent).f_bavail == 0:
                return f"; [Errno 28] No space left on device: '{path.parent}'"
    return ""


def run_command(rule: Rule, rules: RuleSet, state: RunState) -> None:
    """Run a command rule; outputs are renamed into place only if it succeeds.

    Raises
    ------
    OperatorError
        Non-zero exit status (with the last line it printed and the log
        file), or an output it did not write.
    RunAborted
        The make was told to stop while the command ran: its process group
        was stopped (:func:`~peppers.drs.logged.run_logged`), nothing of it
        is committed.
    """
    finals = {port: state.root / rule.output_path(img) for port, img in rule.outputs.items()}
    temps = {port: path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")
             for port, path in finals.items()}
    for path in finals.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        sweep_temporaries(path.parent)
    line = command_line(rule, rules, state, temps)
    log = state.root / ".peppers" / "logs" / f"{rule.name}.log"
    try:
        done = run_logged(line, log, cwd=state.root, stop=stop_requested)
        if done.stopped:
            raise RunAborted(f"command rule {rule.name}: stopped (its process group got "
                             f"SIGTERM), nothing of it is kept; 'pep run make' runs it again")
        if done.status != 0:
            raise OperatorError(f"command rule {rule.name}: exit status {done.status}: "
                                f"{done.last_line} (full output in {log}){_full(finals)}")
        for port, tmp in temps.items():
            if not tmp.exists():
                raise OperatorError(f"command rule {rule.name}: the command did not write "
                                    f"output {port} ({{outputs.{port}}}); see {log}")
        for port, tmp in temps.items():
            commit(tmp, finals[port])
    finally:
        for tmp in temps.values():
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
