"""From rules to runnable things: parameter values, operators, image specs, stream specs.

A rule names HKV keys; an operator needs values. :func:`param_values`
reads them (a group key gives its subtree as a mapping) at the moment the
step runs, so a reduction's output written by an earlier step is seen by
the rules after it. :func:`make_operator` builds the operator with them and
turns a refusal into a :class:`~peppers.errors.RuleError` naming the rule.

Before anything runs (``--dry-run``), :class:`SpecOracle` works out the
shape and dtype of every image: stored images from their headers, images
still to be made from the operators' ``output_spec`` -- so a stream's tile
count and memory estimate are known up front (OTB's lesson: print the
estimate before starting). An image behind a rule whose parameters are not
known yet (they come from a reduction that has not run) has no spec, and
the estimate says so instead of guessing.
"""

from __future__ import annotations

import threading
import weakref
from pathlib import Path
from typing import Any

from peppers.drs.rules import Rule
from peppers.drs.ruleset import RuleSet
from peppers.drs.state import RunState
from peppers.drs.streams import Step, stored_path
from peppers.errors import PeppersError, RuleError
from peppers.hkv import ABSENT
from peppers.io.source import open_source
from peppers.operator import build_operator
from peppers.ppe.graph import Graph
from peppers.ppe.plan import Plan
from peppers.ppe.streamspec import NodeSpec, StreamSpec


def param_values(rule: Rule, state: RunState) -> dict[str, Any]:
    """Parameter name -> current HKV value for ``rule``.

    Raises
    ------
    RuleError
        If a key is absent (names the rule, the line, the key).
    """
    values = {}
    for param, key in rule.params.items():
        value = state.db.get(key, ABSENT)
        if value is ABSENT:
            raise rule.error(f"parameter {param} reads HKV key {key}, which the run does not "
                             f"have (yet); set it with 'pep set {key} VALUE'", f"params.{param}")
        values[param] = value
    return values


def make_operator(rule: Rule, state: RunState) -> Any:
    """The rule's operator instance with its current parameter values.

    Built once per run state and parameter values
    (:func:`peppers.operator.build_operator`): the dry-run estimate, the
    spec oracle, the MPI check and the run of one ``pep run make`` share
    the instance; new values (a reduction wrote them) build a new one.

    Raises
    ------
    RuleError
        Missing key, or the operator refuses a value (names rule and line).
    """
    values = param_values(rule, state)
    token = repr(sorted(values.items()))
    with _BUILT_LOCK:
        built = _BUILT.setdefault(state, {})
        cached = built.get(rule.name)
        if cached is not None and cached[0] == token:
            return cached[1]
    op = build_operator(rule.operator_class(), values, rule.where("params"),
                        error=lambda part, message: rule.error(message, part))
    with _BUILT_LOCK:
        _BUILT.setdefault(state, {})[rule.name] = (token, op)
    return op


#: Operators built per run state: rule name -> (parameter values token, operator).
_BUILT: "weakref.WeakKeyDictionary[RunState, dict[str, tuple[str, Any]]]" = \
    weakref.WeakKeyDictionary()
_BUILT_LOCK = threading.Lock()


class _SpecOnly:
    """An image source that only knows its spec (for plans and estimates)."""

    def __init__(self, spec: Any, path: str | None = None) -> None:
        self.spec = spec
        self.path = path

    def read(self, region: Any) -> Any:
        raise RuntimeError("a spec-only source cannot be read")


class SpecOracle:
    """Image specs of a rule set before (and while) anything runs.

    Parameters
    ----------
    rules : RuleSet
    state : RunState
    fresh : set of str
        Rules that will run (their outputs on disk are out of date).
    """

    def __init__(self, rules: RuleSet, state: RunState, fresh: set[str]) -> None:
        self.rules, self.state, self.fresh = rules, state, fresh
        self._specs: dict[str, Any] = {}
        #: Image -> why its spec is unknown.
        self.unknown: dict[str, str] = {}

    def spec(self, image: str) -> Any:
        """The :class:`ImageSpec` of ``image``, or None (see :attr:`unknown`)."""
        if image not in self._specs:
            self._specs[image] = self._find(image)
        return self._specs[image]

    def _find(self, image: str) -> Any:
        maker = self.rules.image_maker.get(image)
        path = stored_path(self.rules, self.state, image)
        if maker is None or maker not in self.fresh:
            full = Path(self.state.root) / path
            if full.exists():
                try:
                    source = open_source(full)
                except PeppersError as error:
                    self.unknown[image] = str(error)
                    return None
                spec = source.spec
                getattr(source, "close", lambda: None)()
                return spec
        if maker is None:
            self.unknown[image] = f"run input {path} does not exist"
            return None
        rule = self.rules.rules[maker]
        if rule.kind not in ("local", "global"):
            self.unknown[image] = f"made by {rule.kind} rule {maker}; known once it has run"
            return None
        inputs = {port: self.spec(img) for port, img in rule.inputs.items()}
        missing = [img for img in rule.inputs.values() if self.spec(img) is None]
        if missing:
            self.unknown[image] = f"depends on {missing[0]} ({self.unknown[missing[0]]})"
            return None
        try:
            op = make_operator(rule, self.state)
        except RuleError as error:
            self.unknown[image] = str(error).split(": ", 1)[-1]
            return None
        specs = op.output_spec(inputs)
        port = next(p for p, img in rule.outputs.items() if img == image)
        return specs[port]

    def estimate(self, step: Step, tile_shape: tuple[int, int], mem: Any,
                 threads: int | None) -> tuple[Any, str]:
        """``(Estimate or None, note)`` of a stream step."""
        graph, refs = Graph(), {}
        for image in step.sources:
            spec = self.spec(image)
            if spec is None:
                return None, f"unknown until {image} exists ({self.unknown[image]})"
            refs[image] = graph.add_source(_SpecOnly(spec, step.sources[image]), name=image)
        for name in step.rules:
            rule = self.rules.rules[name]
            try:
                op = make_operator(rule, self.state)
            except RuleError as error:
                return None, f"unknown until the parameters exist ({error})"
            made = graph.add_operator(op, {p: refs[i] for p, i in rule.inputs.items()}, name)
            refs.update({img: made[port] for port, img in rule.outputs.items()})
        plan = Plan(graph, [refs[i] for i in step.targets], tile_shape)
        return plan.estimate(mem, threads), ""


def stream_spec(step: Step, rules: RuleSet, state: RunState, tile_shape: tuple[int, int],
                mem: str) -> Any:
    """The :class:`~peppers.ppe.streamspec.StreamSpec` of a stream step, values resolved now."""
    nodes = []
    for name in step.rules:
        rule = rules.rules[name]
        values = param_values(rule, state)
        nodes.append(NodeSpec(name, rule.operator, values, dict(rule.inputs),
                              dict(rule.outputs)))
    return StreamSpec(step.name, dict(step.sources), nodes, dict(step.targets),
                      tuple(tile_shape), str(mem))
