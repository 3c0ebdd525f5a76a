"""Quality of a run's height product: the absolute-phase gates and the bound used.

Two parts of the ``pep report`` page (:func:`quality_section`):

* the per-product quality summary recorded by the absolute-phase estimate
  (HKV ``insar.absolute_phase.quality``, :mod:`peppers.operators.absolute_phase`):
  whether the heights are absolute or why that was refused, the fraction of
  pixels unwrapped and referenced, the components, the GCP residuals, the
  components flagged as blunders;
* the Cramer-Rao bound for the looks the chain actually uses
  (:func:`chain_bound`): the multilook's independent looks ``la lr B^2``
  divided by the filter's measured gain
  (:func:`peppers.report.accuracy.filter_noise_gain`), at the median coherence
  of coherent ground, in radians and, with the height of ambiguity at the
  scene centre, in metres.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

import numpy as np

from peppers.io.run_paths import find_intermediate, intermediate_path

__all__ = ["chain_bound", "quality_section", "COHERENT"]

#: coherence of "coherent ground", as in the accuracy checks
COHERENT = 0.6
#: band of the SLC spectrum as a fraction of the sampling rate (docs/stream1.md)
BANDWIDTH = 0.85


def _image(root: Path, name: str) -> np.ndarray | None:
    from peppers.io.raw import RawImage
    from peppers.ppe.region import Region

    path = find_intermediate(root / intermediate_path(name))
    if not path.is_file():
        return None
    with RawImage.open(path) as img:
        return img.read(Region.full(img.spec.shape))


def _filter(db: Any) -> Any:
    """The run's adaptive filter, from its declared keys."""
    from peppers.operators.adaptive import AdaptiveFilter

    values = {p.name: db.get(p.key, p.default) for p in AdaptiveFilter.params if p.key}
    return AdaptiveFilter(**values)


def chain_bound(db: Any) -> dict[str, Any] | None:
    """The Cramer-Rao bound of the run's filtered multilooked phase and height.

    Returns
    -------
    dict or None
        ``looks`` (azimuth, range), ``posting_looks`` (``la lr B^2``),
        ``filter_gain``, ``equivalent_looks``, ``coherence`` (median over
        coherent ground), ``phase_crb_rad`` for the posting's looks and for
        the equivalent looks, ``ambiguity_m`` and ``height_crb_m`` (both);
        None when the run has no filtered interferogram and coherence yet.
    """
    from peppers.operators.coherence import phase_crb
    from peppers.scene import scene_from_mapping
    from peppers.operators.height import height_of_ambiguity, radar_looks
    from peppers.report.accuracy import chain_looks, filter_noise_gain

    root = Path(db.root)
    filtered, coherence = _image(root, "filtered_interferogram"), _image(root, "coherence")
    if filtered is None or coherence is None:
        return None
    looks = radar_looks(db.get("inputs.master"), db.get("insar.multilook.looks"))
    nominal = chain_looks(looks, BANDWIDTH)["posting_looks"]
    gain = filter_noise_gain(_filter(db), filtered, coherence, nominal, threshold=COHERENT)
    result = chain_looks(looks, BANDWIDTH, gain)
    coherent = coherence[(coherence >= COHERENT) & np.isfinite(coherence)]
    gamma = float(np.median(coherent)) if coherent.size else math.nan
    out: dict[str, Any] = {"looks": list(looks), "posting_looks": result["posting_looks"],
                           "filter_gain": result["filter_gain"],
                           "equivalent_looks": result["looks"], "coherence": gamma}
    if not math.isfinite(gamma):
        return out
    out["phase_crb_posting_rad"] = phase_crb(min(gamma, 0.999), result["posting_looks"])
    out["phase_crb_rad"] = phase_crb(min(gamma, 0.999), result["looks"])
    master = scene_from_mapping(db.get("inputs.master"), "inputs.master")
    slave = scene_from_mapping(db.get("inputs.slave"), "inputs.slave")
    height = float(db.get("insar.absolute_phase.fill_height_m", 0.0))
    ambiguity = float(height_of_ambiguity(master, slave, np.array([(master.lines - 1) / 2]),
                                          np.array([(master.samples - 1) / 2]),
                                          np.array([height]))[0])
    out.update(ambiguity_m=ambiguity,
               height_crb_posting_m=ambiguity * out["phase_crb_posting_rad"] / (2 * math.pi),
               height_crb_m=ambiguity * out["phase_crb_rad"] / (2 * math.pi))
    return out


def _rows(pairs: list[tuple[str, Any]]) -> str:
    cells = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>"
                    for k, v in pairs)
    return f"<table>{cells}</table>"


def _f(value: Any, fmt: str = ".3f") -> str:
    try:
        return format(float(value), fmt)
    except (TypeError, ValueError):
        return "-"


def quality_section(db: Any, problems: list[str]) -> str:
    """HTML of the quality summary and the bound (never raises for a missing part)."""
    from peppers.errors import PeppersError

    parts = []
    absolute = db.get("insar.absolute_phase", None)
    if not isinstance(absolute, dict):
        parts.append("<p>No absolute-phase estimate yet (<code>pep run make "
                     "absolute_phase</code>), so no quality summary.</p>")
    else:
        q = absolute.get("quality") or {}
        tag = "relative" if absolute.get("relative") else "absolute"
        parts.append(_rows([
            ("heights", f"{tag} (method {absolute.get('method')})"),
            ("refused", q.get("refused") or "no"),
            ("fraction of pixels unwrapped", _f(q.get("fraction_unwrapped"), ".4f")),
            ("fraction with an absolute height", _f(q.get("fraction_referenced"), ".4f")),
            ("components (referenced)",
             f"{q.get('components', '-')} ({q.get('components_referenced', '-')})"),
            ("flagged components (blunders, dropped)", q.get("flagged_components", [])),
            ("GCP residual RMS (rad)", _f(q.get("gcp_rms_rad"))),
            ("largest misclosure (rad)", _f(absolute.get("misclosure_rad"))),
        ]))
        table = q.get("table") or []
        if table:
            head = ["component", "pixels", "source", "points", "RMS residual (rad)",
                    "misclosure (rad)", "points > half a cycle", "DEM points off / checked",
                    "gate failed"]
            rows = "".join(
                "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in (
                    r["id"], r["pixels"], r["source"], r["points"], _f(r["rms_rad"]),
                    _f(r["misclosure_rad"]), r["blunder_points"],
                    f"{r['dem_disagree']} / {r['dem_points']}" if "dem_points" in r else "-",
                    r["failed"] or "-")) + "</tr>"
                for r in sorted(table, key=lambda r: -r["pixels"])[:20])
            parts.append("<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"
                         + rows + "</table>")
    try:
        bound = chain_bound(db)
    except (PeppersError, KeyError, ValueError) as error:
        problems.append(f"bound: {error}")
        bound = None
    if bound is None:
        parts.append("<p>No filtered interferogram and coherence yet, so no bound.</p>")
    else:
        parts.append("<p>Cramér–Rao bound for the looks the chain uses (multilook "
                     f"{bound['looks'][0]} x {bound['looks'][1]}, B = {BANDWIDTH}; the "
                     "filter's gain measured on a replica of this scene):</p>")
        parts.append(_rows([
            ("posting's independent looks la lr B^2", _f(bound["posting_looks"], ".2f")),
            ("filter gain (phase variance after / before)", _f(bound["filter_gain"])),
            ("equivalent looks of multilook + filter", _f(bound["equivalent_looks"], ".2f")),
            ("median coherence of coherent ground", _f(bound["coherence"])),
            ("phase CRB, posting's / equivalent looks (rad)",
             f"{_f(bound.get('phase_crb_posting_rad'), '.4f')} / "
             f"{_f(bound.get('phase_crb_rad'), '.4f')}"),
            ("height of ambiguity at the centre (m)", _f(bound.get("ambiguity_m"), ".1f")),
            ("height CRB, posting's / equivalent looks (m)",
             f"{_f(bound.get('height_crb_posting_m'), '.2f')} / "
             f"{_f(bound.get('height_crb_m'), '.2f')}"),
        ]))
    return "\n".join(parts)
