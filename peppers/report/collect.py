"""What a run report says, gathered from the run database and the run folder.

Everything here reads; nothing writes. Sections:

inputs
    The master and slave scenes (sensor, wavelength, look side, size,
    timing, range sampling, orbit span), the GCPs and the reference DEM, as
    ``pep init`` recorded them under ``inputs.*``.
parameters
    Every declared parameter (``.peppers/parameters.yaml``) with its value,
    default and meaning; values that differ from the default are flagged.
rules
    Every rule of the run's rule set and every rule with a record, with
    kind, operator, stream, the seconds it took and when it finished
    (``drs.rules.<rule>``), or ``not run``.
images
    The run inputs (``master_slc``, ``slave_slc``, ``reference_dem``), then
    ``images/*.vrt``/``*.tif`` and ``products/*.tif``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peppers.errors import RuleError

SCENE_FIELDS = (("sensor", ("sensor", "name")), ("wavelength (m)", ("sensor", "wavelength_m")),
                ("look side", ("sensor", "look_side")), ("lines", ("image", "lines")),
                ("samples", ("image", "samples")), ("image", ("image", "path")),
                ("first line (UTC)", ("azimuth", "first_line_utc")),
                ("line interval (s)", ("azimuth", "line_interval_s")),
                ("first sample (m)", ("range", "first_sample_m")),
                ("sample spacing (m)", ("range", "sample_spacing_m")))
RUN_INPUTS = {"master_slc": "inputs.master.image.path", "slave_slc": "inputs.slave.image.path",
              "reference_dem": "inputs.reference_dem.path"}


@dataclass(frozen=True)
class RuleRow:
    """One line of the timing table."""

    name: str
    kind: str
    operator: str
    stream: str
    seconds: float | None  # None: not run
    finished: str


@dataclass(frozen=True)
class ImageItem:
    """An image to draw: its section, name and file."""

    section: str
    name: str
    path: Path


def _dig(mapping: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(mapping, dict) or part not in mapping:
            return None
        mapping = mapping[part]
    return mapping


def scene_table(db: Any) -> list[tuple[str, Any, Any]]:
    """``(field, master value, slave value)`` rows of the two scenes."""
    scenes = [db.get(f"inputs.{role}", None) for role in ("master", "slave")]
    rows = [(label, *(_dig(s, path) for s in scenes)) for label, path in SCENE_FIELDS]
    spans = []
    for scene in scenes:
        vectors = _dig(scene, ("orbit", "state_vectors")) or []
        spans.append(f"{len(vectors)} state vectors, {vectors[0].get('utc')} .. "
                     f"{vectors[-1].get('utc')}" if vectors else None)
    rows.append(("orbit", *spans))
    return [row for row in rows if row[1] is not None or row[2] is not None]


def other_inputs(db: Any) -> list[tuple[str, str]]:
    """``(what, description)`` of the GCPs and reference DEM, if the run has them."""
    out = []
    points = db.get("inputs.gcps.points", None)
    if isinstance(points, list):
        out.append(("GCPs", f"{len(points)} points, {db.get('inputs.gcps.path', '?')}"))
    dem = db.get("inputs.reference_dem", None)
    if isinstance(dem, dict):
        shape = dem.get("shape") or ["?", "?"]
        out.append(("reference DEM", f"{shape[0]} x {shape[1]}, {dem.get('crs', '?')}, "
                                     f"{dem.get('path', '?')}"))
    return out


def parameter_rows(db: Any) -> list[tuple[str, Any, Any, str, bool]]:
    """``(key, value, default, doc, changed)`` for every declared parameter."""
    from peppers.hkv import ABSENT

    schema = db.parameters
    defaults = schema.defaults()
    rows = []
    for key in sorted(schema.parameters):
        value = db.get(key, ABSENT)
        default = defaults.get(key, ABSENT)
        shown = "(absent)" if value is ABSENT else value
        rows.append((key, shown, "-" if default is ABSENT else default, schema.doc(key),
                     value is not ABSENT and default is not ABSENT and value != default))
    return rows


def rule_rows(db: Any) -> list[RuleRow]:
    """Every rule of the run's rule set and every recorded rule, in rule-file order."""
    from peppers.drs.ruleset import RuleSet

    records = db.get("drs.rules", {})
    records = records if isinstance(records, dict) else {}
    try:
        rules = RuleSet.for_run(db).rules
    except RuleError:
        rules = {}
    rows = []
    for name in [*rules, *(r for r in records if r not in rules)]:
        record = records.get(name) or {}
        rule = rules.get(name)
        seconds = record.get("seconds")
        finished = record.get("finished")
        rows.append(RuleRow(
            name, str(record.get("kind") or (rule.kind if rule else "?")),
            str(record.get("operator") or (rule.operator or "command" if rule else "?")),
            str(record.get("stream") or "-"),
            None if seconds is None else float(seconds),
            "" if finished is None else str(finished)))
    return rows


def image_items(db: Any) -> list[ImageItem]:
    """The images to draw (see the module docstring), each file once."""
    from peppers.scene.inputs import resolve_input

    root = Path(db.root)
    items, seen = [], set()
    for name, key in RUN_INPUTS.items():
        value = db.get(key, None)
        if isinstance(value, str) and value:
            path = resolve_input(value, root)
            if path.is_file():
                items.append(ImageItem("inputs", name, path))
    for section, patterns in (("images", ("*.vrt", "*.tif")), ("products", ("*.tif",))):
        for pattern in patterns:
            for path in sorted((root / section).glob(pattern)):
                if not path.name.startswith("."):
                    items.append(ImageItem(section, path.name.split(".")[0], path))
    unique = []
    for item in items:
        if item.path.resolve() not in seen:
            seen.add(item.path.resolve())
            unique.append(item)
    return unique
