"""Pictures of the rule graph: Graphviz dot, Mermaid, and PNG through ``dot``.

``pep dag TARGET`` draws the rules a target needs, left to right:

- run inputs as dashed ellipses; rules as boxes, global/reduction/command
  rules (the stream *breaks*) as hexagons;
- stale rules filled red with their triggers (``stale: params, input``),
  up-to-date rules green;
- each stream as a dashed cluster named ``stream-N``;
- edges labelled with the image (or HKV key) they carry, dashed when the
  image stays in memory inside a stream, solid when it is written.

PNG needs Graphviz's ``dot`` on ``PATH``; without it the error says so and
points at ``--format dot`` / ``mermaid``, which need nothing.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from peppers.drs.stale import Analysis, Reason
from peppers.drs.streams import cut
from peppers.errors import RuleError

if TYPE_CHECKING:  # pragma: no cover
    from peppers.drs.make import MakePlan

STALE, FRESH = "#f4cccc", "#d9ead3"
FORMATS = ("dot", "mermaid", "png")
NL = "\\n"  # a line break inside a dot label


def _label(plan: "MakePlan", name: str) -> list[str]:
    rule = plan.rules.rules[name]
    what = (rule.operator or "").rpartition(":")[2] if rule.kind != "command" else "command"
    lines = [name, f"{rule.kind} {what}"]
    reasons = plan.analysis.reasons.get(name, [])
    if reasons:
        lines.append("stale: " + ", ".join(dict.fromkeys(r.trigger for r in reasons)))
    return lines


def layout(plan: "MakePlan") -> list:
    """The steps to draw: every needed rule cut as if all were stale.

    So the stream boundaries show even when everything is up to date; the
    colours still come from the real analysis.
    """
    order = plan.analysis.order
    forced = Analysis(order, reasons={r: [Reason("force", "")] for r in order},
                      requested=plan.analysis.requested)
    return cut(plan.rules, plan.state, forced)


def _edges(plan: "MakePlan", steps: list) -> list[tuple[str, str, str, bool]]:
    """``(from, to, label, in_memory)``; run inputs come from ``in:NAME``."""
    stream_of = {r: s.name for s in steps if s.kind == "stream" for r in s.rules}
    needed = set(plan.analysis.order)
    edges = []
    for name in plan.analysis.order:
        rule = plan.rules.rules[name]
        for image in rule.inputs.values():
            maker = plan.rules.image_maker.get(image)
            if maker is None:
                edges.append((f"in:{image}", name, image, False))
            else:
                memory = stream_of.get(maker) is not None and stream_of.get(maker) == \
                    stream_of.get(name) and not plan.rules.rules[maker].keep
                edges.append((maker, name, image, memory))
        for key in rule.params.values():
            for maker in plan.rules.key_makers(key):
                if maker in needed:
                    edges.append((maker, name, key, False))
    return edges


def to_dot(plan: "MakePlan") -> str:
    """The graph in Graphviz dot."""
    q = lambda text: '"' + str(text).replace('"', r'\"') + '"'  # noqa: E731
    lines = ["digraph peppers {", "  rankdir=LR;",
             '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];',
             '  edge [fontname="Helvetica", fontsize=9];']
    steps = layout(plan)
    edges = _edges(plan, steps)
    for source in sorted({a for a, *_ in edges if a.startswith("in:")}):
        lines.append(f"  {q(source)} [shape=ellipse, style=dashed, "
                     "label=" + q(source[3:] + NL + "(run input)") + "];")
    for step in steps:
        if step.kind == "stream":
            lines.append(f"  subgraph {q('cluster_' + step.name)} {{")
            lines.append(f"    label={q(step.name)}; style=dashed; color=gray40;")
            lines += [f"    {q(r)};" for r in step.rules]
            lines.append("  }")
    for name in plan.analysis.order:
        rule = plan.rules.rules[name]
        color = STALE if plan.analysis.is_stale(name) else FRESH
        shape = ", shape=hexagon" if rule.kind != "local" else ""
        label = q(NL.join(_label(plan, name)))
        lines.append(f"  {q(name)} [label={label}, "
                     f"fillcolor={q(color)}{shape}];")
    for a, b, label, memory in edges:
        style = ", style=dashed" if memory else ""
        lines.append(f"  {q(a)} -> {q(b)} [label={q(label)}{style}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _mid(name: str) -> str:
    return "n_" + "".join(c if c.isalnum() else "_" for c in name)


def to_mermaid(plan: "MakePlan") -> str:
    """The graph as a Mermaid flowchart."""
    lines = ["flowchart LR",
             f"  classDef stale fill:{STALE},stroke:#cc0000",
             f"  classDef fresh fill:{FRESH},stroke:#38761d",
             "  classDef input fill:#ffffff,stroke-dasharray: 3 3"]
    steps = layout(plan)
    edges = _edges(plan, steps)
    for source in sorted({a for a, *_ in edges if a.startswith("in:")}):
        lines.append(f'  {_mid(source)}(["{source[3:]} (run input)"]):::input')

    def node(name: str) -> str:
        rule = plan.rules.rules[name]
        text = "<br/>".join(_label(plan, name))
        cls = "stale" if plan.analysis.is_stale(name) else "fresh"
        shape = ('{{"', '"}}') if rule.kind != "local" else ('["', '"]')
        return f"{_mid(name)}{shape[0]}{text}{shape[1]}:::{cls}"

    grouped = set()
    for step in steps:
        if step.kind == "stream":
            lines.append(f'  subgraph {_mid(step.name)}["{step.name}"]')
            lines += [f"    {node(r)}" for r in step.rules]
            lines.append("  end")
            grouped.update(step.rules)
    lines += [f"  {node(r)}" for r in plan.analysis.order if r not in grouped]
    for a, b, label, memory in edges:
        arrow = "-.->" if memory else "-->"
        lines.append(f"  {_mid(a)} {arrow}|{label}| {_mid(b)}")
    return "\n".join(lines) + "\n"


def render_png(dot_text: str, path: Path) -> None:
    """Render dot text to a PNG file with Graphviz.

    Raises
    ------
    RuleError
        If ``dot`` is not on PATH or fails.
    """
    exe = shutil.which("dot")
    if exe is None:
        raise RuleError(f"{path}: --format png needs Graphviz's 'dot' on PATH (e.g. apt-get "
                        "install graphviz); --format dot or mermaid need nothing")
    done = subprocess.run([exe, "-Tpng", "-o", str(path)], input=dot_text.encode(),
                          capture_output=True, check=False)
    if done.returncode != 0:
        raise RuleError(f"{path}: dot failed: {done.stderr.decode(errors='replace').strip()}")
