"""Boundary rules: global operators, reductions and commands, each committed atomically.

Every boundary reads stored images only (the streams before it wrote them)
and never leaves a half-written output under a final name:

global
    :meth:`GlobalOperator.run(sources, sinks) <peppers.operator.GlobalOperator.run>`
    with sources from :func:`~peppers.io.source.open_source` and sinks
    :meth:`RawImage.create <peppers.io.raw.RawImage.create>` in a private
    folder ``images/.tmp-RULE-PID/``; on success each raw file and then its
    header are renamed into ``images/`` (the header last: a header in place
    always has its pixels).
reduction
    :meth:`ReductionOperator.reduce(sources)` returns values; they are
    stored in HKV together with the rule's record in one transaction.
command
    The command line, placeholders filled (``{inputs.X}`` absolute input
    paths, ``{outputs.X}`` a temporary path beside the final one with the
    same extension, ``{params.X}`` values, ``{run}`` the run directory, all
    shell-quoted), runs in the run directory; its output goes to
    ``.peppers/logs/RULE.log``. Exit status 0 and every output written:
    the outputs are fsynced and renamed into place. Otherwise the
    temporaries are removed and the error names the rule and the status.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import string
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from peppers.drs.resolve import make_operator, param_values
from peppers.drs.rules import Rule
from peppers.drs.ruleset import RuleSet
from peppers.drs.state import RunState
from peppers.drs.streams import stored_path
from peppers.errors import OperatorError, PeppersError
from peppers.io.atomic import commit, fsync_dir


def _sources(rule: Rule, rules: RuleSet, state: RunState) -> dict[str, Any]:
    from peppers.io.source import open_source

    return {port: open_source(state.root / stored_path(rules, state, image))
            for port, image in rule.inputs.items()}


def _close(objects: dict[str, Any]) -> None:
    for obj in objects.values():
        with contextlib.suppress(Exception):
            obj.close()


def _failed(rule: Rule, error: Exception) -> OperatorError:
    failure = OperatorError(f"{rule.kind} rule {rule.name} ({rule.operator or 'command'}) "
                            f"failed: {type(error).__name__}: {error}")
    failure.__cause__ = error
    return failure


def run_global(rule: Rule, rules: RuleSet, state: RunState, *, operator: Any = None) -> None:
    """Run a global rule; its outputs appear under ``images/`` only on success.

    ``operator`` replaces the rule's operator (rank 0 of an MPI run passes
    one that writes the reconciled tiles, :mod:`peppers.ppe.mpi_global`).

    Raises
    ------
    OperatorError
        The operator failed (names the rule; the original is ``__cause__``).
    RuleError, ImageError
        Bad parameters, unreadable inputs.
    """
    from peppers.io.raw import RawImage, raw_path_for

    op = make_operator(rule, state) if operator is None else operator
    tmp = state.root / "images" / f".tmp-{rule.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    sources, sinks = _sources(rule, rules, state), {}
    try:
        specs = op.output_spec({port: s.spec for port, s in sources.items()})
        names = {port: rule.outputs.get(port, f"_unused_{port}") for port in op.outputs}
        sinks = {port: RawImage.create(tmp / f"{names[port]}.vrt", specs[port])
                 for port in op.outputs}
        try:
            op.run(sources, sinks)
        except PeppersError:
            raise
        except Exception as error:  # noqa: BLE001 - an operator's failure, reported
            raise _failed(rule, error) from error
        for sink in sinks.values():
            sink.flush()
        _close(sinks)
        for port, image in rule.outputs.items():
            final = state.root / rule.output_path(image)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(raw_path_for(tmp / f"{image}.vrt"), raw_path_for(final))
            os.replace(tmp / f"{image}.vrt", final)
            fsync_dir(final.parent)
    finally:
        _close(sources)
        _close(sinks)
        shutil.rmtree(tmp, ignore_errors=True)


def run_reduction(rule: Rule, rules: RuleSet, state: RunState) -> dict[str, Any]:
    """Run a reduction; return ``{HKV key: value}`` for the caller to commit.

    A result entry named like an output port goes to that port's key; with
    a single output and no such entry, the whole result mapping does.

    Raises
    ------
    OperatorError
        The operator failed, or returned no value for an output port.
    """
    op = make_operator(rule, state)
    sources = _sources(rule, rules, state)
    try:
        try:
            result = op.reduce(sources)
        except PeppersError:
            raise
        except Exception as error:  # noqa: BLE001
            raise _failed(rule, error) from error
    finally:
        _close(sources)
    if not isinstance(result, dict):
        raise OperatorError(f"reduction rule {rule.name}: reduce() returned "
                            f"{type(result).__name__}, expected a dict")
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


def run_command(rule: Rule, rules: RuleSet, state: RunState) -> None:
    """Run a command rule; outputs are renamed into place only if it succeeds.

    Raises
    ------
    OperatorError
        Non-zero exit status (with the last line it printed and the log
        file), or an output it did not write.
    """
    finals = {port: state.root / rule.output_path(img) for port, img in rule.outputs.items()}
    temps = {port: path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")
             for port, path in finals.items()}
    for path in finals.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    line = command_line(rule, rules, state, temps)
    log = state.root / ".peppers" / "logs" / f"{rule.name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(log, "w", encoding="utf-8") as out:
            out.write(f"$ {line}\n")
            out.flush()
            status = subprocess.run(line, shell=True, cwd=state.root, stdout=out,
                                    stderr=subprocess.STDOUT, check=False).returncode
        if status != 0:
            lines = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
            last = lines[-1] if len(lines) > 1 else "(no output)"
            raise OperatorError(f"command rule {rule.name}: exit status {status}: {last} "
                                f"(full output in {log})")
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
