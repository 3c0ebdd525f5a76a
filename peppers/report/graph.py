"""The rule graph of a run, as a picture for the report.

The graph drawn is the one ``pep dag`` draws for the rules the run has
records of (what ran; colours say stale or up to date) -- or, in a run
where nothing ran yet, for every rule whose inputs the run has. With
Graphviz's ``dot`` on PATH it is rendered by :func:`peppers.drs.dag.render_png`;
without it, :func:`draw_layers` draws it with Pillow: rules in columns by
dependency depth (networkx topological generations), boxes coloured like
``pep dag``, arrows from maker to reader. The Mermaid text goes into the
report either way, so the graph can be pasted into Markdown.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx

from peppers.errors import RuleError
from peppers.pictures.figure import font

BOX_W, BOX_H, GAP_X, GAP_Y, PAD = 190, 38, 60, 18, 16


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
    package = bool(db.get("drs.package_rules", True))
    rules = RuleSet.load(db.root, package=package)
    candidates = [r for r in recorded if r in rules.rules]
    if candidates:
        return plan_make(db, candidates, package=package)
    makeable = []
    for name in rules.rules:
        try:
            plan_make(db, [name], package=package)
        except RuleError:
            continue
        makeable.append(name)
    if not makeable:
        raise RuleError("no rule of this run has its inputs yet")
    return plan_make(db, makeable, package=package)


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
    tallest = max((len(layer) for layer in layers), default=1)
    width = PAD * 2 + len(layers) * BOX_W + max(0, len(layers) - 1) * GAP_X
    height = PAD * 2 + tallest * BOX_H + max(0, tallest - 1) * GAP_Y
    canvas = Image.new("RGB", (max(width, 200), max(height, 60)), "white")
    draw = ImageDraw.Draw(canvas)
    where: dict[str, tuple[int, int]] = {}
    for i, layer in enumerate(layers):
        top = PAD + (tallest - len(layer)) * (BOX_H + GAP_Y) // 2
        for j, name in enumerate(layer):
            where[name] = (PAD + i * (BOX_W + GAP_X), top + j * (BOX_H + GAP_Y))
    for a, b in graph.edges:
        (xa, ya), (xb, yb) = where[a], where[b]
        start, end = (xa + BOX_W, ya + BOX_H // 2), (xb, yb + BOX_H // 2)
        draw.line((*start, *end), fill=(90, 90, 90), width=1)
        draw.polygon([end, (end[0] - 7, end[1] - 4), (end[0] - 7, end[1] + 4)],
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
            render_png(to_dot(plan), path)
            return RuleGraph(path, to_mermaid(plan), "Graphviz dot")
        except RuleError:
            pass  # fall back to our own drawing
    draw_layers(plan, path)
    return RuleGraph(path, to_mermaid(plan), "drawn by peppers (Graphviz dot not used)")
