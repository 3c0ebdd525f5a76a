"""Cutting the stale rules into steps: streams of local rules and boundary rules.

Policy
------
A *stream* is a maximal connected group of stale **local** rules; it runs
as one PPE pipeline, its intermediates pulled tile by tile through memory.
Global, reduction and command rules are *boundaries*: each is a step of its
own, and every image it reads is on disk before it starts.

Connected groups alone could make a cycle of steps (``L1 -> G -> L2`` plus
``L1 -> L2`` would put L1 and L2 in one stream that both feeds and waits
for G), so rules are first given a *depth*: the largest number of
boundaries on a path of stale rules leading to them. Only local rules of
equal depth are joined. Depth never decreases along an edge and grows
across every boundary, so the steps form a DAG by construction.

What a stream writes (its *targets*): outputs read by a stale rule outside
the stream (a boundary or a later stream), outputs whose rule says
``keep: true``, and images the user asked for by name. Everything else
stays in memory. A stream with nothing to write (its readers are up to
date) writes its last outputs, so its work is not lost.

Step states (glossary): *pending* (waits for ``after``), *running*,
*done* (recorded in HKV), *failed*, *skipped* (a step it waits for failed).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

from peppers.drs.ruleset import RuleSet
from peppers.drs.stale import Analysis
from peppers.drs.state import RunState


@dataclass
class Step:
    """One unit of execution: a stream, or one boundary rule.

    Attributes
    ----------
    name : str
        ``stream-N`` for a stream, the rule name for a boundary.
    kind : str
        ``stream``, ``global``, ``reduction`` or ``command``.
    rules : list of str
        Its rules, in dependency order.
    sources : dict
        Image -> run-relative path of every stored image it reads.
    targets : dict
        Image -> run-relative path of every image it writes.
    memory : list of str
        Intermediates kept in memory (streams).
    after : set of str
        Steps that must finish first.
    """

    name: str
    kind: str
    rules: list[str]
    sources: dict[str, str] = field(default_factory=dict)
    targets: dict[str, str] = field(default_factory=dict)
    memory: list[str] = field(default_factory=list)
    after: set[str] = field(default_factory=set)


def stored_path(rules: RuleSet, state: RunState, image: str) -> str:
    """Where image ``image`` is read from: a rule's output path or a run input's path."""
    maker = rules.image_maker.get(image)
    if maker is not None:
        return rules.rules[maker].output_path(image)
    return state.input_path(image)


def cut(rules: RuleSet, state: RunState, analysis: Analysis) -> list[Step]:
    """The steps that bring the targets up to date, in a runnable order.

    Parameters
    ----------
    rules : RuleSet
    state : RunState
    analysis : Analysis
        From :func:`peppers.drs.stale.analyse`.

    Returns
    -------
    list of Step
        Every step after the steps it waits for.
    """
    stale = analysis.stale
    index = {name: i for i, name in enumerate(stale)}
    is_local = {n: rules.rules[n].kind == "local" for n in stale}
    depth: dict[str, int] = {}
    for name in stale:
        depth[name] = max((depth[p] + (0 if is_local[p] else 1)
                           for p in rules.graph.predecessors(name) if p in index), default=0)
    joined = nx.Graph()
    joined.add_nodes_from(n for n in stale if is_local[n])
    for a, b in rules.graph.edges:
        if a in index and b in index and is_local[a] and is_local[b] and depth[a] == depth[b]:
            joined.add_edge(a, b)
    groups = sorted((sorted(c, key=index.get) for c in nx.connected_components(joined)),
                    key=lambda c: index[c[0]])
    step_of: dict[str, str] = {}
    steps: dict[str, Step] = {}
    for k, group in enumerate(groups, 1):
        step = Step(f"stream-{k}", "stream", group)
        steps[step.name] = step
        step_of.update({n: step.name for n in group})
    for name in stale:
        if not is_local[name]:
            steps[name] = Step(name, rules.rules[name].kind, [name])
            step_of[name] = name
    for a, b in rules.graph.edges:
        if a in index and b in index and step_of[a] != step_of[b]:
            steps[step_of[b]].after.add(step_of[a])
    for step in steps.values():
        _wire(rules, state, analysis, step, step_of)
    order = nx.DiGraph()
    order.add_nodes_from(steps)
    order.add_edges_from((a, s.name) for s in steps.values() for a in s.after)
    first = {s.name: min(index[r] for r in s.rules) for s in steps.values()}
    return [steps[n] for n in nx.lexicographical_topological_sort(order, key=first.get)]


def _wire(rules: RuleSet, state: RunState, analysis: Analysis, step: Step,
          step_of: dict[str, str]) -> None:
    """Fill a step's sources, targets and in-memory images."""
    inside = set(step.rules)
    made = {img: n for n in step.rules for img in rules.rules[n].outputs.values()}
    for name in step.rules:
        for image in rules.rules[name].inputs.values():
            if image not in made:
                step.sources[image] = stored_path(rules, state, image)
    for name in step.rules:
        rule = rules.rules[name]
        if rule.kind == "reduction":
            continue
        for image in rule.outputs.values():
            outside = [r for r in rules.readers(image)
                       if r not in inside and r in step_of]
            if (step.kind != "stream" or rule.keep or outside
                    or image in analysis.requested.get(name, ())):
                step.targets[image] = rule.output_path(image)
            else:
                step.memory.append(image)
    if step.kind == "stream" and not step.targets:
        read_inside = {i for n in step.rules for i in rules.rules[n].inputs.values()}
        for image in list(step.memory):
            if image not in read_inside:
                step.targets[image] = rules.rules[made[image]].output_path(image)
                step.memory.remove(image)
