"""The rule graph of a run, as a picture for the report.

The graph drawn is the one ``pep dag`` draws for the *last* rules the run
has records of (those no other recorded rule reads: what a make was asked
for), so intermediates a stream kept in memory are not drawn "stale:
needed" -- nothing up to date needs them again. In a run where nothing ran
yet it is every rule whose inputs the run has. The graph runs top to
bottom, so its width is that of its widest layer (a few boxes), not of its
longest chain. With Graphviz's ``dot`` on PATH it is rendered by
:func:`peppers.drs.dag.render_png`; without it, :func:`draw_layers` draws it
with Pillow: rules in rows by dependency depth (networkx topological
generations), boxes coloured like ``pep dag``, arrows from maker to reader.
The Mermaid text is kept for the report's collapsed "Mermaid" section.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx

from peppers.errors import RuleError
from peppers.pictures.figure import font

BOX_W, BOX_H, GAP_X, GAP_Y, PAD = 190, 38, 24, 26, 16


@dataclass(frozen=True)
class RuleGraph:
    """What the report shows of the rule graph."""

    png: Path | None
    mermaid: str
    how: str  # "graphviz dot", "drawn by peppers", or why there is no picture


def _plan(db: Any) -> Any:
    """A make plan of the recorded rules, else of every rule the run can make."""
    from peppers.drs.make import plan_make
    from peppers.drs.ruleset import RuleSet

    records = db.get("drs.rules", {})
    recorded = sorted(records) if isinstance(records, dict) else []
    rules = RuleSet.for_run(db)
    candidates = [r for r in recorded if r in rules.rules]
    if candidates:
        inside = set(candidates)
        last = [r for r in candidates
                if not any(reader in inside for reader in rules.graph.successors(r))]
        return plan_make(db, last or candidates)
    makeable = []
    for name in rules.rules:
        try:
            plan_make(db, [name])
        except RuleError:
            continue
        makeable.append(name)
    if not makeable:
        raise RuleError("no rule of this run has its inputs yet")
    return plan_make(db, makeable)


def draw_layers(plan: Any, path: Path) -> None:
    """Draw the plan's rule graph with Pillow (no Graphviz needed)."""
    from PIL import Image, ImageDraw

    from peppers.drs.dag import FRESH, STALE

    graph = nx.DiGraph()
    graph.add_nodes_from(plan.analysis.order)
    for name in plan.analysis.order:
        for maker in plan.rules.graph.predecessors(name):
            if maker in graph:
                graph.add_edge(maker, name)
    layers = [sorted(layer) for layer in nx.topological_generations(graph)]
    widest = max((len(layer) for layer in layers), default=1)
    width = PAD * 2 + widest * BOX_W + max(0, widest - 1) * GAP_X
    height = PAD * 2 + len(layers) * BOX_H + max(0, len(layers) - 1) * GAP_Y
    canvas = Image.new("RGB", (max(width, 200), max(height, 60)), "white")
    draw = ImageDraw.Draw(canvas)
    where: dict[str, tuple[int, int]] = {}
    for i, layer in enumerate(layers):
        left = PAD + (widest - len(layer)) * (BOX_W + GAP_X) // 2
        for j, name in enumerate(layer):
            where[name] = (left + j * (BOX_W + GAP_X), PAD + i * (BOX_H + GAP_Y))
    for a, b in graph.edges:
        (xa, ya), (xb, yb) = where[a], where[b]
        start, end = (xa + BOX_W // 2, ya + BOX_H), (xb + BOX_W // 2, yb)
        draw.line((*start, *end), fill=(90, 90, 90), width=1)
        draw.polygon([end, (end[0] - 4, end[1] - 7), (end[0] + 4, end[1] - 7)],
                     fill=(90, 90, 90))
    for name, (x, y) in where.items():
        rule = plan.rules.rules[name]
        colour = STALE if plan.analysis.is_stale(name) else FRESH
        draw.rounded_rectangle((x, y, x + BOX_W, y + BOX_H), radius=6, fill=colour,
                               outline=(60, 60, 60), width=2 if rule.kind != "local" else 1)
        draw.text((x + 6, y + 4), name[:28], fill=(0, 0, 0), font=font(12))
        what = (rule.operator or "command").rpartition(":")[2]
        draw.text((x + 6, y + 21), f"{rule.kind} {what}"[:32], fill=(70, 70, 70), font=font(10))
    canvas.save(path, format="PNG")


def rule_graph(db: Any, folder: Path, *, use_dot: bool = True) -> RuleGraph:
    """Write ``folder/rule_graph.png`` and return it with the Mermaid text.

    Parameters
    ----------
    db : RunDatabase
    folder : Path
        The report folder.
    use_dot : bool
        Render with Graphviz when ``dot`` is on PATH.

    Returns
    -------
    RuleGraph
        ``png`` None (and ``how`` saying why) if the run's rules cannot be
        planned (e.g. a broken rule file).
    """
    from peppers.drs.dag import render_png, to_dot, to_mermaid

    try:
        plan = _plan(db)
    except RuleError as error:
        return RuleGraph(None, "", f"no rule graph: {error}")
    path = folder / "rule_graph.png"
    if use_dot and shutil.which("dot"):
        try:
            render_png(to_dot(plan).replace("rankdir=LR;", "rankdir=TB;", 1), path)
            return RuleGraph(path, to_mermaid(plan), "Graphviz dot")
        except RuleError:
            pass  # fall back to our own drawing
    draw_layers(plan, path)
    return RuleGraph(path, to_mermaid(plan), "drawn by peppers (Graphviz dot not used)")
