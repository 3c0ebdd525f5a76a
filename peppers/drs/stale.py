"""Staleness: which rules a target needs to rerun, and why.

Each rule the targets need is checked in dependency order against its
record (:mod:`peppers.drs.state`). A rule is *stale* when it has at least
one :class:`Reason`; the reasons, by trigger:

``new``      never run (no record), or its record lacks something it needs;
``missing``  an output is missing or differs from what the rule wrote
             (also: a half-written output of an interrupted run);
``input``    an input image changed in content (size and mtime first, the
             hash only when they differ, so a touched file is no reason), or
             an input will be remade by a rule that is itself changing;
``params``   a parameter value it reads changed (recorded value hashes), or
             it reads a new parameter;
``code``     the operator (or command line) or its ``version`` changed;
``force``    ``--force`` (``-B``), or ``--forcerun RULE`` for that rule;
``needed``   not a change: an intermediate it made stayed in memory (or was
             deleted) and a stale rule needs it now, so it is recomputed.

The triggers ``input``, ``params`` and ``code`` can be switched off
(``--rerun-triggers``); the reasons they would give are kept as *ignored*
so ``--why`` can still show them. Propagation: a rule whose input is made
by a rule with a *content* reason (``new``, ``input``, ``params``, ``code``,
``force``) is stale too; ``missing`` and ``needed`` do not propagate,
because recomputing the same recipe gives the same data (the recorded
recipe hash of the maker is what consumers compare).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Collection

from peppers.drs.ruleset import RuleSet
from peppers.drs.state import RunState
from peppers.errors import RuleError
from peppers.hkv import ABSENT

TRIGGERS = ("input", "params", "code")
CONTENT = frozenset({"new", "input", "params", "code", "force"})


@dataclass(frozen=True)
class Reason:
    """Why a rule reruns: its ``trigger`` and one line of ``text``."""

    trigger: str
    text: str

    def __str__(self) -> str:
        return f"[{self.trigger}] {self.text}"


@dataclass
class Analysis:
    """The result of :func:`analyse`.

    Attributes
    ----------
    order : list of str
        Every rule the targets need, in dependency order.
    reasons : dict
        Rule -> reasons it reruns (empty: up to date).
    ignored : dict
        Rule -> reasons of switched-off triggers.
    requested : dict
        Rule -> the images the user asked for by name (they are written).
    """

    order: list[str]
    reasons: dict[str, list[Reason]] = field(default_factory=dict)
    ignored: dict[str, list[Reason]] = field(default_factory=dict)
    requested: dict[str, set[str]] = field(default_factory=dict)

    def is_stale(self, rule: str) -> bool:
        return bool(self.reasons.get(rule))

    def changes(self, rule: str) -> bool:
        """Whether ``rule`` reruns for a reason that can change its outputs."""
        return any(r.trigger in CONTENT for r in self.reasons.get(rule, ()))

    @property
    def stale(self) -> list[str]:
        return [r for r in self.order if self.is_stale(r)]


def _format(value: object) -> str:
    text = repr(value) if not isinstance(value, (list, dict)) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def analyse(rules: RuleSet, state: RunState, targets: list[str], *,
            force: bool | Collection[str] = False,
            triggers: tuple[str, ...] = TRIGGERS) -> Analysis:
    """Find the stale rules for ``targets`` with their reasons.

    Parameters
    ----------
    rules : RuleSet
    state : RunState
    targets : list of str
        Rule names, image names or reduction keys.
    force : bool or collection of str
        ``True``: rerun every rule the targets need; rule names: rerun those
        (and, by propagation, every rule downstream of them, as snakemake's
        ``--forcerun``).
    triggers : tuple of str
        The triggers that count (a subset of :data:`TRIGGERS`).

    Returns
    -------
    Analysis

    Raises
    ------
    RuleError
        Unknown target or trigger, an input no rule makes and the run does
        not have, a parameter key nobody sets, or a forced rule the targets
        do not need.
    """
    bad = sorted(set(triggers) - set(TRIGGERS))
    if bad:
        raise RuleError(f"--rerun-triggers: unknown trigger(s) {bad}; choose from "
                        f"{', '.join(TRIGGERS)}")
    requested: dict[str, set[str]] = {}
    for target in targets:
        rule, image = rules.resolve_target(target)
        wanted = {image} if image else {o for o in rules.rules[rule].outputs.values()
                                        if rules.rules[rule].kind != "reduction"}
        requested.setdefault(rule, set()).update(wanted)
    order = rules.needed(requested)
    rules.check_inputs(order, state.is_run_input)
    if not isinstance(force, bool):
        unknown = sorted(set(force) - set(order))
        if unknown:
            raise RuleError(f"--forcerun: {', '.join(unknown)} not among the rules "
                            f"{', '.join(targets)} need{'s' if len(targets) == 1 else ''} "
                            f"({', '.join(order)})")
    result = Analysis(order, requested=requested)
    for name in order:
        forced = force if isinstance(force, bool) else name in force
        found = _reasons(rules, state, name, result, forced)
        result.reasons[name] = [r for r in found if r.trigger not in TRIGGERS
                                or r.trigger in triggers]
        result.ignored[name] = [r for r in found if r not in result.reasons[name]]
    for name in reversed(order):
        _needed(rules, state, name, result)
    return result


def _reasons(rules: RuleSet, state: RunState, name: str, result: Analysis,
             force: bool) -> list[Reason]:
    rule = rules.rules[name]
    record = state.record(name)
    found: list[Reason] = [Reason("force", "forced (--force, -B or --forcerun)")] \
        if force else []
    if record is None:
        return found + [Reason("new", f"never run (no record drs.rules.{name})")]
    operator = rule.operator or rule.command
    if record.get("operator") != operator:
        found.append(Reason("code", f"operator changed: {_format(record.get('operator'))} -> "
                                    f"{_format(operator)}"))
    elif str(record.get("version")) != rule.version:
        found.append(Reason("code", f"operator version {record.get('version')} -> "
                                    f"{rule.version}"))
    found += _param_reasons(rules, state, name, record, result)
    found += _input_reasons(rules, state, name, record, result)
    outputs = record.get("outputs") or {}
    for out in rule.outputs.values():
        ident = outputs.get(out)
        if rule.kind == "reduction":
            if state.db.get(out, ABSENT) is ABSENT:
                found.append(Reason("missing", f"output key {out} is missing"))
        elif ident is None:
            found.append(Reason("missing", f"output {out} was not made by the last run"))
        elif "files" in ident:
            same, why = state.signer.compare(ident, Path(rule.output_path(out)))
            if not same:
                found.append(Reason("missing", f"output {rule.output_path(out)} {why}"))
    return found


def _param_reasons(rules: RuleSet, state: RunState, name: str, record: dict,
                   result: Analysis) -> list[Reason]:
    rule = rules.rules[name]
    found = []
    before_all = record.get("params") or {}
    for param, key in rule.params.items():
        makers = rules.key_makers(key)
        changing = [m for m in makers if result.changes(m)]
        if changing:
            found.append(Reason("input", f"parameter {param} ({key}) will be remade by "
                                         f"{', '.join(changing)}"))
            continue
        now = state.param_state(key)
        if now["hash"] is None and not makers:
            raise rule.error(f"parameter {param} reads HKV key {key}, which the run does not "
                             f"have; set it with 'pep set {key} VALUE'", f"params.{param}")
        before = before_all.get(param)
        if not isinstance(before, dict):
            found.append(Reason("params", f"parameter {param} ({key}) is new for this rule"))
        elif before.get("key") != key:
            found.append(Reason("params", f"parameter {param} now reads {key} (was "
                                          f"{before.get('key')})"))
        elif before.get("hash") != now["hash"]:
            change = ""
            if "value" in before or "value" in now:
                change = (f": {_format(before.get('value', '(long)'))} -> "
                          f"{_format(now.get('value', '(long)'))}")
            found.append(Reason("params", f"parameter {param} ({key}) changed{change}"))
    return found


def _input_reasons(rules: RuleSet, state: RunState, name: str, record: dict,
                   result: Analysis) -> list[Reason]:
    rule = rules.rules[name]
    found = []
    before_all = record.get("inputs") or {}
    for port, image in rule.inputs.items():
        before = before_all.get(image)
        maker = rules.image_maker.get(image)
        if maker is not None and result.changes(maker):
            found.append(Reason("input", f"input {image} will be remade by {maker}"))
        elif not isinstance(before, dict):
            found.append(Reason("new", f"input {port} ({image}) was not read by the last run"))
        elif maker is not None:
            made = (state.record(maker) or {}).get("recipe")
            if before.get("recipe") != made:
                found.append(Reason("input", f"input {image} was remade by {maker} after "
                                             "this rule last ran"))
        else:
            same, why = state.signer.compare(before, state.input_abspath(image))
            if not same:
                found.append(Reason("input", f"input {image} (run input) {why}"))
    return found


def _needed(rules: RuleSet, state: RunState, name: str, result: Analysis) -> None:
    """Make ``name`` stale if a stale reader (or the user) needs an output not on disk."""
    if result.is_stale(name):
        return
    rule = rules.rules[name]
    if rule.kind == "reduction":
        return
    for image in sorted(set(rule.outputs.values())):
        if state.on_disk(rule, image):
            continue
        readers = [r for r in rules.readers(image) if r in result.reasons and result.is_stale(r)]
        if image in result.requested.get(name, ()):
            result.reasons[name].append(Reason(
                "needed", f"requested target {image} is not on disk"))
            return
        if readers:
            result.reasons[name].append(Reason(
                "needed", f"{image} is not on disk and {', '.join(readers)} needs it "
                          "(recomputed, not changed)"))
            return
