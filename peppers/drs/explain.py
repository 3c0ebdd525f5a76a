"""The one-view explanation of a make: ``pep run make --dry-run [--why]``.

For each step in run order it shows, in one place, what snakemake, OTB and
GPF each show only part of: the rules and why each is stale (``--why``),
the stream's tile count and memory estimate, what it reads and writes and
what stays in memory, and the breaks where a global, reduction or command
rule stops the stream. Rules that are up to date are listed last.
Example (from ``docs/scheduler.md``)::

    make final: 5 rules needed, 5 stale -> 2 streams, 2 breaks; tiles 128x128, ...
    stream-1  local: smooth, scale
      6 output tiles, 12 tile computations over 2 operator(s); ...
      reads   src (data/src.vrt)
      writes  scaled -> images/scaled.raw.vrt (read by center)
      memory  smoothed
      smooth  stale
        - [new] never run (no record drs.rules.smooth)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from peppers.ppe.cache import format_bytes

if TYPE_CHECKING:  # pragma: no cover
    from peppers.drs.make import MakePlan

_BREAK = {"global": "global rule: whole images in and out",
          "reduction": "reduction: image(s) to HKV values",
          "command": "command rule: an external program"}


def _rule_line(plan: "MakePlan", name: str, why: bool, indent: str) -> list[str]:
    reasons = plan.analysis.reasons.get(name, [])
    lines = [f"{indent}{name:<14} {'stale' if reasons else 'up to date'}"]
    if why:
        lines += [f"{indent}  - {reason}" for reason in reasons]
        lines += [f"{indent}  - ignored {reason} (trigger switched off)"
                  for reason in plan.analysis.ignored.get(name, [])]
    return lines


def _readers(plan: "MakePlan", image: str, inside: list[str]) -> str:
    readers = [r for r in plan.rules.readers(image)
               if r not in inside and r in plan.analysis.reasons]
    if readers:
        return f" (read by {', '.join(readers)})"
    return " (kept)" if any(plan.rules.rules[r].keep for r in inside
                             if image in plan.rules.rules[r].outputs.values()) else " (target)"


def explain(plan: "MakePlan", *, why: bool = False) -> str:
    """The dry-run text of a plan.

    Parameters
    ----------
    plan : MakePlan
    why : bool
        Print every reason (and the ignored ones) under each stale rule.

    Returns
    -------
    str
    """
    analysis = plan.analysis
    streams = [s for s in plan.steps if s.kind == "stream"]
    breaks = [s for s in plan.steps if s.kind != "stream"]
    head = (f"make {' '.join(plan.targets)}: {len(analysis.order)} rules needed, "
            f"{len(analysis.stale)} stale -> {len(streams)} stream(s), {len(breaks)} "
            f"break(s); tiles {plan.tile_shape[0]}x{plan.tile_shape[1]}, budget "
            f"{plan.mem}, {plan.threads} thread(s)")
    lines = [head]
    oracle = plan.oracle()
    for step in plan.steps:
        lines.append("")
        if step.kind == "stream":
            lines.append(f"{step.name}  local: {', '.join(step.rules)}")
            estimate, note = oracle.estimate(step, plan.tile_shape, plan.mem, plan.threads)
            if estimate is not None:
                lines.append(f"  {estimate.tasks} output tiles, "
                             f"{sum(estimate.computations.values())} tile computations; "
                             f"estimated peak {format_bytes(estimate.peak_bytes)} "
                             f"(caches {format_bytes(min(estimate.cache_peak, estimate.mem))} "
                             f"+ {estimate.threads} x {format_bytes(estimate.per_task)} "
                             "working)")
            else:
                lines.append(f"  tiles and memory: {note}")
        else:
            rule = plan.rules.rules[step.name]
            what = rule.operator or rule.command
            lines.append(f"break: {step.name}  ({_BREAK[step.kind]}; {what})")
            if step.after:
                lines.append(f"  after {', '.join(sorted(step.after))}")
        for image, path in step.sources.items():
            lines.append(f"  reads   {image} ({path})")
        for image, path in step.targets.items():
            lines.append(f"  writes  {image} -> {path}{_readers(plan, image, step.rules)}")
        if step.kind == "reduction":
            rule = plan.rules.rules[step.name]
            lines.append(f"  stores  {', '.join(rule.outputs.values())} (HKV)")
        if step.memory:
            lines.append(f"  memory  {', '.join(step.memory)}")
        for name in step.rules:
            lines += _rule_line(plan, name, why, "  ")
    fresh = [r for r in analysis.order if not analysis.is_stale(r)]
    if fresh:
        lines.append("")
        lines.append(f"up to date: {', '.join(fresh)}")
        if why:
            for name in fresh:
                lines += [f"  {name}: ignored {r} (trigger switched off)"
                          for r in analysis.ignored.get(name, [])]
    if not analysis.stale:
        lines.append("nothing to do")
    return "\n".join(lines)
