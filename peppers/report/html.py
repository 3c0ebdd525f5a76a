"""The HTML report of a run: one page plus its PNGs, in one folder.

:func:`write_report` gathers the facts (:mod:`.collect`), draws the rule
graph (:mod:`.graph`) and a quicklook of every image
(:func:`peppers.pictures.quicklook`), compares the DEM product with the
GCPs (:mod:`.accuracy`), and writes ``index.html`` (or the name given)
beside the pictures. The page has no scripts and no outside links: the
folder can be copied or mailed as it is. Every text is HTML-escaped.

A picture that cannot be drawn (an unreadable image) becomes a line saying
why; the rest of the report is still written. The page is written
atomically (temporary file, fsync, rename), after all its pictures.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peppers.errors import PeppersError
from peppers.report import collect
from peppers.report.accuracy import Accuracy, gcp_accuracy
from peppers.report.graph import rule_graph
from peppers.report.quality import quality_section

STYLE = """
body { font-family: Helvetica, Arial, sans-serif; margin: 2em; color: #222; max-width: 1200px; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.num { text-align: right; font-family: monospace; }
tr.changed td { background: #fff6d5; } tr.notrun td { color: #888; }
figure { display: inline-block; margin: 0.5em; vertical-align: top; }
figcaption { font-size: 0.85em; color: #555; } pre { background: #f7f7f7; padding: 0.5em; }
"""
_MAX_TEXT = 160


@dataclass(frozen=True)
class Report:
    """What :func:`write_report` wrote."""

    path: Path
    pictures: tuple[Path, ...]
    problems: tuple[str, ...]


def _e(value: Any) -> str:
    """A value as escaped, shortened text (mappings and lists as one-line JSON)."""
    if isinstance(value, (dict, list, tuple)):
        text = json.dumps(value, default=str)
    elif isinstance(value, float):
        text = f"{value:.6g}"
    else:
        text = str(value)
    if len(text) > _MAX_TEXT:
        text = text[:_MAX_TEXT - 1] + "…"
    return html.escape(text)


def _table(head: list[str], rows: list[list[Any]], classes: list[str] | None = None,
           numeric: set[int] = frozenset()) -> str:
    out = ["<table>", "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"]
    for i, row in enumerate(rows):
        cls = f' class="{classes[i]}"' if classes and classes[i] else ""
        cells = "".join(f'<td class="num">{_e(v)}</td>' if j in numeric else f"<td>{_e(v)}</td>"
                        for j, v in enumerate(row))
        out.append(f"<tr{cls}>{cells}</tr>")
    out.append("</table>")
    return "\n".join(out)


def _seconds(value: float | None) -> str:
    return "not run" if value is None else f"{value:.2f} s"


def _accuracy_rows(label: str, acc: Accuracy) -> list[Any]:
    if acc.covered == 0:
        return [label, f"0 of {acc.total}", "-", "-", "-", "-"]
    return [label, f"{acc.covered} of {acc.total}", f"{acc.bias:+.2f}", f"{acc.std:.2f}",
            f"{acc.rms:.2f}", f"{acc.max_abs:.2f}"]


def _accuracy_section(db: Any, problems: list[str]) -> str:
    points = db.get("inputs.gcps.points", None)
    product = Path(db.root) / "products" / "geocoded_dem.tif"
    if not isinstance(points, list) or not points:
        return "<p>No GCPs in this run (pep init --gcps), so no accuracy check.</p>"
    if not product.is_file():
        return ("<p>No DEM product yet (products/geocoded_dem.tif; "
                "<code>pep run make geocoded_dem</code>), so no accuracy check.</p>")
    rows, worst = [], ""
    try:
        acc = gcp_accuracy(product, points)
        rows.append(_accuracy_rows("products/geocoded_dem.tif", acc))
        checks = sorted((c for c in acc.checks if math.isfinite(c.product)),
                        key=lambda c: -abs(c.difference))[:10]
        worst = _table(["lat", "lon", "GCP height (m)", "product (m)", "difference (m)"],
                       [[f"{c.lat:.6f}", f"{c.lon:.6f}", f"{c.height:.2f}", f"{c.product:.2f}",
                         f"{c.difference:+.2f}"] for c in checks], numeric={2, 3, 4})
    except PeppersError as error:
        problems.append(str(error))
        return f"<p>Accuracy check failed: {html.escape(str(error))}</p>"
    dem = db.get("inputs.reference_dem.path", None)
    if isinstance(dem, str):
        from peppers.scene.inputs import resolve_input

        try:
            rows.append(_accuracy_rows("reference DEM (for comparison)",
                                       gcp_accuracy(resolve_input(dem, Path(db.root)), points)))
        except PeppersError as error:
            problems.append(str(error))
    head = ["surface", "GCPs covered", "bias (m)", "std (m)", "RMS (m)", "max |error| (m)"]
    return (_table(head, rows, numeric={2, 3, 4, 5}) + _same_gcps_note(db)
            + "<p>Product minus GCP height, bilinear at each GCP; the largest differences:</p>"
            + worst)


def _same_gcps_note(db: Any) -> str:
    """Say so when these GCPs also fixed the absolute phase: the check is then not independent."""
    result = db.get("insar.absolute_phase", None)
    method = result.get("method") if isinstance(result, dict) else None
    if method is None:
        return "<p>The absolute phase of this run has not been fixed yet.</p>"
    if method != "gcps":
        return (f"<p>The absolute phase was fixed by <code>{html.escape(str(method))}</code>, "
                "not by these GCPs: an independent check.</p>")
    return ("<p><strong>These same GCPs fixed the absolute phase</strong> "
            "(<code>insar.absolute_phase.method = gcps</code>): the table shows how well "
            "the product fits the points it was tied to, not an independent accuracy. Hold "
            "some GCPs out of <code>pep init --gcps</code> for an independent check.</p>")


def _pictures(db: Any, folder: Path, problems: list[str]) -> tuple[str, list[Path]]:
    from peppers.pictures import quicklook

    parts, written, section = [], [], None
    for item in collect.image_items(db):
        if item.section != section:
            if section is not None:
                parts.append("</div>")
            section = item.section
            parts.append(f"<h3>{html.escape(section)}</h3><div>")
        png = folder / f"{item.section}_{item.name}.png"
        try:
            result = quicklook(item.path, png, db=db, max_size=600)
        except (PeppersError, ValueError, OSError) as error:
            problems.append(f"{item.path}: {error}")
            parts.append(f"<p>{html.escape(item.name)}: could not draw it "
                         f"({html.escape(str(error))})</p>")
            continue
        written.append(png)
        caption = (f"{item.name} ({result.kind}, {result.source_shape[0]} x "
                   f"{result.source_shape[1]})")
        parts.append(f'<figure><img src="{html.escape(png.name)}" alt="{html.escape(item.name)}">'
                     f"<figcaption>{html.escape(caption)}</figcaption></figure>")
    if section is not None:
        parts.append("</div>")
    if not written and not parts:
        parts.append("<p>No images yet.</p>")
    return "\n".join(parts), written


def write_report(db: Any, output: str | Path | None = None, *, use_dot: bool = True) -> Report:
    """Write the HTML report of the run ``db``.

    Parameters
    ----------
    db : RunDatabase
        The open run.
    output : path-like, optional
        The HTML file; default ``RUN/report/index.html``. The PNGs go beside it.
    use_dot : bool
        Render the rule graph with Graphviz when available.

    Returns
    -------
    Report
    """
    from peppers.io.atomic import atomic_write_bytes

    root = Path(db.root)
    path = Path(output) if output is not None else root / "report" / "index.html"
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    rules = collect.rule_rows(db)
    total = sum(r.seconds for r in rules if r.seconds is not None)
    graph = rule_graph(db, folder, use_dot=use_dot)
    pictures_html, pictures = _pictures(db, folder, problems)
    params = collect.parameter_rows(db)
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>peppers run {html.escape(root.name)}</title><style>{STYLE}</style></head><body>",
        f"<h1>peppers run <code>{html.escape(str(root))}</code></h1>",
        f"<p>Report written {now}.</p>",
        "<h2>Inputs</h2>",
        _table(["", "master", "slave"], [list(r) for r in collect.scene_table(db)]),
        _table(["input", ""], [list(r) for r in collect.other_inputs(db)]),
        "<h2>Rules and timings</h2>",
        _table(["rule", "kind", "operator", "stream", "time", "finished"],
               [[r.name, r.kind, r.operator, r.stream, _seconds(r.seconds), r.finished]
                for r in rules],
               ["notrun" if r.seconds is None else "" for r in rules], numeric={4}),
        f"<p>{sum(r.seconds is not None for r in rules)} of {len(rules)} rules run; "
        f"{total:.2f} s in all.</p>",
        "<h2>Rule graph</h2>",
        (f'<p><img src="{html.escape(graph.png.name)}" alt="rule graph" '
         f'style="max-width:100%"></p>' if graph.png else ""),
        f"<p>{html.escape(graph.how)}.</p><details><summary>Mermaid text (to paste into "
        f"Markdown)</summary><pre>{html.escape(graph.mermaid)}</pre></details>"
        if graph.mermaid else f"<p>{html.escape(graph.how)}</p>",
        "<h2>Accuracy against GCPs</h2>", _accuracy_section(db, problems),
        "<h2>Quality and bound</h2>", quality_section(db, problems),
        "<h2>Pictures</h2>", pictures_html,
        "<h2>Parameters</h2>",
        _table(["key", "value", "default", "meaning"], [list(r[:4]) for r in params],
               ["changed" if r[4] else "" for r in params]),
    ]
    if problems:
        parts += ["<h2>Problems</h2><ul>"] + [f"<li>{html.escape(p)}</li>" for p in problems]
        parts.append("</ul>")
    parts.append("</body></html>\n")
    atomic_write_bytes(path, "\n".join(parts).encode("utf-8"))
    if graph.png is not None:
        pictures.append(graph.png)
    return Report(path, tuple(pictures), tuple(problems))
