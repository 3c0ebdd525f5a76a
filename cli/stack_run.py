"""A stack run: many acquisitions, one reference grid, a network of pairs, SBAS (``pep stack``).

One run directory holds every acquisition and the network; its rules are
generated into ``RUN/rules/stack.yaml`` (the packaged rules are switched off,
``drs.package_rules: false``), so ``pep run make interferograms | timeseries
| velocity`` makes only what is missing or stale, and adding an acquisition
(``pep stack add``) adds rules for the new pairs alone: the existing rules are
generated again byte for byte, and only the network rules (whose inputs and
``stack.days``/``stack.pairs`` change) rerun.

Records (HKV)
    ``inputs.master``          the reference scene (every multilook and the
                               unwrapper read its grid from it)
    ``inputs.slc_DATE``        each acquisition's scene record (its image is
                               the run input ``slc_DATE``)
    ``inputs.reference_pair``  ``{master, slave}`` = the reference twice (the
                               ``run_inputs`` of its own radar geometry)
    ``inputs.reference_dem``, ``inputs.gcps``
    ``stack.dates``, ``stack.days``, ``stack.bperp_m``, ``stack.reference_date``,
    ``stack.network`` (the spec), ``stack.pairs`` (``[i, j]`` into the dates),
    ``stack.wavelength_m``, ``stack.looks`` (equivalent looks, for the phase CRB),
    ``stack.heights`` (what fixed the products' heights: ``reference_dem``).

Rules, from the packaged templates (``rules/insar.yaml``, with the
``reference_dem`` variant's replacements), names and images suffixed:

reference
    ``radar_geometry`` (the reference's ground points on the DEM, once).
per secondary ``S``
    ``secondary_geometry_S`` (:class:`~peppers.operators.stack_pairs.SecondaryGeometry`:
    ``geometric_row_offset_S``, ``geometric_col_offset_S``,
    ``topographic_phase_S`` from the reference's ground points),
    ``coregistration_S``, ``resample_filter_S`` (the secondary on the
    reference grid: ``slave_resampled_S``): every secondary coregistered to
    the one reference; the geometry and the resampled secondaries are kept
    (a pair added later reads them instead of computing them again).
per pair ``A_B``
    ``stack_interferogram_A_B`` (:mod:`peppers.operators.stack_pairs`), then
    the packaged ``fringe_slope``, ``coherence_single_look``,
    ``multilook_coherence``, ``multilook_differential``,
    ``adaptive_filter_differential``, ``unwrap_differential``:
    ``unwrapped_differential_A_B``, ``coherence_A_B``.
network
    ``interferograms`` (a summary reduction over every pair: the target that
    makes them all), ``network_reference`` (reference pixel and phases:
    ``stack.reference``), ``timeseries`` (SBAS inversion: ``displacement_DATE``,
    ``displacement_std_DATE``, ``velocity``, ``velocity_std``,
    ``temporal_coherence``).
"""

from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import yaml

from peppers.errors import SceneError
from peppers.io.atomic import atomic_write_bytes
from peppers.scene import Scene

__all__ = ["SECONDARY_RULES", "PAIR_RULES", "acquisition_date", "stack_rules", "init_stack",
           "add_to_stack", "write_stack_rules", "export_mintpy", "mintpy_template"]

#: Rules made once per secondary date (the last two from the packaged templates).
SECONDARY_RULES = ("secondary_geometry", "coregistration", "resample_filter")
#: Packaged rules made once per pair, after ``stack_interferogram``.
PAIR_RULES = ("fringe_slope", "coherence_single_look", "multilook_coherence",
              "multilook_differential", "adaptive_filter_differential", "unwrap_differential")
#: Outputs kept of the secondary rules (the others are not needed on a stack).
_KEEP = {"resample_filter": {"slave"}}
#: Settings of a stack run: no common-band filtering (every date is resampled once onto the
#: reference grid and paired with every other; a per-pair band would need per-pair resampling).
STACK_SETTINGS = {"insar.filtering.range": False, "insar.filtering.azimuth": False,
                  "drs.package_rules": False}


def acquisition_date(scene: Scene) -> str:
    """``YYYYMMDD`` (UTC) of a scene's first line."""
    return scene.first_line_utc.strftime("%Y%m%d")


def _template_rules(variants: Sequence[str] = ("reference_dem",)) -> dict[str, dict]:
    """The packaged rules as YAML mappings, with the variants' replacements."""
    folder = resources.files("peppers.rules")
    rules: dict[str, dict] = {}
    for name in ("insar.yaml", "dinsar.yaml"):
        rules.update(yaml.safe_load(folder.joinpath(name).read_text(encoding="utf-8"))["rules"])
    for variant in variants:
        for entry in sorted(folder.joinpath(variant).iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".yaml"):
                rules.update(yaml.safe_load(entry.read_text(encoding="utf-8")).get("rules") or {})
    return rules


def _rename(rule: dict, images: dict[str, str], keys: dict[str, str],
            keep: Iterable[str] | None = None) -> dict:
    """A copy of ``rule`` with its image names and parameter keys replaced."""
    out = copy.deepcopy(rule)
    out["inputs"] = {port: images.get(name, name) for port, name in rule["inputs"].items()}
    if rule["kind"] == "reduction":
        out["outputs"] = {port: keys.get(key, key) for port, key in rule["outputs"].items()}
    else:
        out["outputs"] = {port: images.get(name, name) for port, name in rule["outputs"].items()
                          if keep is None or port in keep}
    if "params" in rule:
        out["params"] = {name: keys.get(key, key) for name, key in rule["params"].items()}
    return out


def _on_reference(date: str, reference: str) -> str:
    """The image of ``date`` on the reference grid."""
    return f"slc_{reference}" if date == reference else f"slave_resampled_{date}"


def stack_rules(dates: Sequence[str], reference: str, pairs: Sequence[Sequence[int]],
                templates: dict[str, dict] | None = None) -> dict[str, dict]:
    """Every rule of a stack run (module docstring), by name, in data-flow order.

    Parameters
    ----------
    dates : sequence of str
        ``YYYYMMDD`` in time order.
    reference : str
        One of ``dates``.
    pairs : sequence of (i, j)
        Indices into ``dates``, ``i < j``.
    templates : dict, optional
        The packaged rules (default: read from the package).

    Returns
    -------
    dict
        ``name -> rule mapping`` (the ``rules:`` of a rule file).
    """
    templates = templates or _template_rules()
    rules: dict[str, dict] = {}
    for date in dates:
        if date == reference:
            continue
        images = {"master_slc": f"slc_{reference}", "slave_slc": f"slc_{date}",
                  "slave_resampled": f"slave_resampled_{date}",
                  "topographic_phase": f"topographic_phase_{date}",
                  "geometric_row_offset": f"geometric_row_offset_{date}",
                  "geometric_col_offset": f"geometric_col_offset_{date}"}
        keys = {"inputs.slave": f"inputs.slc_{date}",
                "insar.coregistration.offsets": f"stack.coregistration.s{date}"}
        rules[f"secondary_geometry_{date}"] = {
            "kind": "local", "operator": "peppers.operators.stack_pairs:SecondaryGeometry",
            "inputs": {"lat": "geometry_lat", "lon": "geometry_lon", "height": "geometry_height"},
            "outputs": {"row_offset": images["geometric_row_offset"],
                        "col_offset": images["geometric_col_offset"],
                        "topographic_phase": images["topographic_phase"]},
            "params": {"master": "inputs.master", "slave": f"inputs.slc_{date}"},
            "doc": "offsets and topographic phase of the secondary from the reference's "
                   "ground points (geo2rdr on its orbit)"}
        for name in SECONDARY_RULES[1:]:
            rules[f"{name}_{date}"] = _rename(templates[name], images, keys, _KEEP.get(name))
            rules[f"{name}_{date}"]["doc"] = f"{date} onto the reference {reference}: " \
                + templates[name].get("doc", "")
        for name in ("secondary_geometry", "resample_filter"):
            # kept on disk: a pair added later reads them without computing them again
            rules[f"{name}_{date}"]["keep"] = True
    for i, j in pairs:
        a, b = dates[i], dates[j]
        tag = f"{a}_{b}"
        inputs = {"first": _on_reference(a, reference), "second": _on_reference(b, reference)}
        if a != reference:
            inputs["topographic_first"] = f"topographic_phase_{a}"
        if b != reference:
            inputs["topographic_second"] = f"topographic_phase_{b}"
        kind = ("StackInterferogramFromReference" if a == reference else
                "StackInterferogramToReference" if b == reference else "StackInterferogram")
        rules[f"stack_interferogram_{tag}"] = {
            "kind": "local", "operator": f"peppers.operators.stack_pairs:{kind}",
            "inputs": inputs, "outputs": {"output": f"differential_interferogram_{tag}"},
            "doc": f"differential interferogram {a} x conj({b}) on the reference grid"}
        images = {name: f"{name}_{tag}" for name in (
            "fringe_azimuth", "fringe_range", "coherence_single_look", "coherence",
            "differential_multilooked", "filtered_differential", "unwrapped_differential",
            "components_differential", "differential_interferogram")}
        images.update(interferogram=f"differential_interferogram_{tag}",
                      master_filtered=inputs["first"], slave_resampled=inputs["second"])
        for name in PAIR_RULES:
            rules[f"{name}_{tag}"] = _rename(templates[name], images, {})
    rules.update(_export_rules(templates, dates, reference, pairs))
    tags = [f"{dates[i]}_{dates[j]}" for i, j in pairs]
    ports = {**{f"phase_{k}": f"unwrapped_differential_{t}" for k, t in enumerate(tags)},
             **{f"coherence_{k}": f"coherence_{t}" for k, t in enumerate(tags)}}
    m, n = len(pairs), len(dates)
    rules["interferograms"] = {
        "kind": "reduction", "operator": f"peppers.operators.timeseries:InterferogramSummary_m{m}",
        "inputs": dict(ports), "outputs": {"result": "stack.interferograms"},
        "doc": "every pair's unwrapped interferogram: valid fraction and mean coherence"}
    rules["network_reference"] = {
        "kind": "reduction", "operator": f"peppers.operators.timeseries:NetworkReference_m{m}",
        "inputs": dict(ports), "outputs": {"result": "stack.reference"},
        "params": {"pixel": "stack.reference_pixel"},
        "doc": "reference pixel of the network and each interferogram's phase there"}
    outputs = {f"displacement_{k}": f"displacement_{d}" for k, d in enumerate(dates)}
    outputs.update({f"displacement_std_{k}": f"displacement_std_{d}" for k, d in enumerate(dates)})
    outputs.update(velocity="velocity", velocity_std="velocity_std",
                   temporal_coherence="temporal_coherence")
    rules["timeseries"] = {
        "kind": "local", "operator": f"peppers.operators.timeseries:SbasInversion_m{m}_n{n}",
        "inputs": dict(ports), "outputs": outputs,
        "params": {"days": "stack.days", "pairs": "stack.pairs",
                   "wavelength_m": "stack.wavelength_m", "looks": "stack.looks",
                   "weighted": "stack.weighted", "reference": "stack.reference",
                   "min_temporal_coherence": "stack.min_temporal_coherence"},
        "keep": True,
        "doc": "SBAS inversion (Berardino 2002): displacement per date, velocity, uncertainty"}
    return rules


#: Packaged rules of the reference's geometry and the product grid, used unchanged.
GEOMETRY_RULES = ("multilook_geometry_lat", "multilook_geometry_lon",
                  "multilook_geometry_height", "multilook_los_east", "multilook_los_north",
                  "multilook_los_up", "multilook_incidence", "multilook_layover_shadow",
                  "map_grid_geometry")
#: radar_geometry outputs of the reference itself (paired with itself).
_REFERENCE_LAYERS = {"lat", "lon", "height", "los_east", "los_north", "los_up", "incidence",
                     "layover_shadow"}


def _geocoded(templates: dict[str, dict], value: str, out: str) -> dict:
    """The packaged masked geocoding (of the LOS displacement) for another image."""
    rule = _rename(templates["geocode_los_displacement"],
                   {"los_displacement": value, "los_displacement_map": out}, {})
    rule["doc"] = f"geocoding of {value} onto products.geometry_grid, layover/shadow left out"
    return rule


def _export_rules(templates: dict[str, dict], dates: Sequence[str], reference: str,
                  pairs: Sequence[Sequence[int]]) -> dict[str, dict]:
    """Geocoded products of a stack: the HyP3-style set of every pair, velocity, geometry.

    All on the reference's product grid (``products.geometry_grid``, from the
    reference DEM's geometry of the reference), so every pair's maps align
    pixel for pixel (MintPy loads them without clipping).
    """
    ref_images = {"master_slc": f"slc_{reference}"}
    rules = {"radar_geometry": _rename(templates["radar_geometry"], ref_images,
                                       {"inputs": "inputs.reference_pair"}, _REFERENCE_LAYERS)}
    rules["radar_geometry"]["doc"] = "the reference's own radar geometry (lat, lon, height, " \
        "line of sight, incidence, layover/shadow) for the stack's products"
    for name in GEOMETRY_RULES:
        rules[name] = copy.deepcopy(templates[name])
    rules["multilook_amplitude"] = _rename(templates["multilook_amplitude"], ref_images, {})
    rules["geocode_amplitude"] = _geocoded(templates, "amplitude", "amplitude_map")
    rules["geocode_height"] = _geocoded(templates, "geometry_height_multilooked", "height_map")
    for name in ("velocity", "velocity_std"):
        rules[f"geocode_{name}"] = _geocoded(templates, name, f"{name}_map")
        rules[f"geocoded_{name}"] = {
            "kind": "command", "store": "product",
            "command": "{python} -m peppers.operators.export {inputs.src} {outputs.dst} "
                       "--kind value --block {params.block} --tag UNITS=m/year "
                       f"--tag QUANTITY=los_{name}_m_per_year "
                       "--tag SIGN=positive_towards_the_satellite",
            "inputs": {"src": f"{name}_map"}, "outputs": {"dst": f"geocoded_{name}"},
            "params": {"block": "products.block"},
            "doc": f"products/geocoded_{name}.tif: SBAS LOS {name.replace('_', ' ')}, m/year"}
    for date in dates:
        rules[f"geocode_displacement_{date}"] = _geocoded(templates, f"displacement_{date}",
                                                          f"displacement_map_{date}")
        rules[f"geocoded_displacement_{date}"] = {
            "kind": "command", "store": "product",
            "command": "{python} -m peppers.operators.export {inputs.src} {outputs.dst} "
                       "--kind los_displacement --block {params.block} "
                       "--tag SIGN=positive_towards_the_satellite "
                       f"--tag REFERENCE=date_{dates[0]}_and_the_stack_reference_pixel",
            "inputs": {"src": f"displacement_map_{date}"},
            "outputs": {"dst": f"geocoded_displacement_{date}"},
            "params": {"block": "products.block"},
            "doc": f"products/geocoded_displacement_{date}.tif: SBAS LOS displacement of {date} "
                   f"since {dates[0]}, m, positive towards the satellite"}
    hyp3 = templates["hyp3_product"]
    for k, (i, j) in enumerate(pairs):
        a, b = dates[i], dates[j]
        tag = f"{a}_{b}"
        rules[f"geocode_unwrapped_{tag}"] = _geocoded(templates, f"unwrapped_differential_{tag}",
                                                      f"unwrapped_map_{tag}")
        rules[f"geocode_coherence_{tag}"] = _geocoded(templates, f"coherence_{tag}",
                                                      f"coherence_map_{tag}")
        rules[f"geocode_components_{tag}"] = _rename(
            templates["geocode_components_differential"],
            {"components_differential": f"components_differential_{tag}",
             "components_differential_map": f"components_map_{tag}"}, {})
        # the packaged rule, or the reference_dem variant's (differential phase, --lat/--lon)
        unw, comps = f"unwrapped_map_{tag}", f"components_map_{tag}"
        rule = _rename(hyp3, {"unwrapped_map": unw, "unwrapped_differential_hyp3_map": unw,
                              "components_map": comps,
                              "components_differential_hyp3_map": comps,
                              "coherence_map": f"coherence_map_{tag}",
                              "hyp3_product": f"hyp3_product_{tag}"},
                       {"inputs.master": f"inputs.slc_{a}", "inputs.slave": f"inputs.slc_{b}",
                        "insar.absolute_phase.method": "stack.heights",
                        "insar.displacement.result": "stack.reference"})
        rule["command"] += (f" --master-key inputs.slc_{a} --slave-key inputs.slc_{b}"
                            " --grid-key products.geometry_grid")
        if "--differential" in rule["command"]:
            rule["command"] += f" --reference-key stack.reference --reference-index {k}"
        rule["doc"] = f"products/{{PRODUCT}}/: the HyP3-style set of the pair {a}, {b}"
        rules[f"hyp3_product_{tag}"] = rule
    return rules


def write_stack_rules(root: Path, rules: dict[str, dict]) -> Path:
    """Write ``RUN/rules/stack.yaml`` atomically; returns its path."""
    path = root / "rules" / "stack.yaml"
    path.parent.mkdir(exist_ok=True)
    head = ("# Generated by pep stack init / pep stack add from the packaged rules "
            "(cli/stack_run.py); regenerated on every pep stack add.\n")
    text = head + yaml.safe_dump({"rules": rules}, sort_keys=False, width=100)
    atomic_write_bytes(path, text.encode("utf-8"))
    return path


def _bperp(reference: Scene, scenes: Sequence[Scene]) -> list[float]:
    """Perpendicular baseline of each scene to the reference at the scene centre, m."""
    from peppers.geometry.zero_doppler import rdr2geo
    from peppers.operators.simulate.orbits import measure_baseline

    orbit = reference.orbit()
    t = reference.azimuth_seconds((reference.lines - 1) / 2)
    r = reference.first_sample_m + (reference.samples - 1) / 2 * reference.sample_spacing_m
    xyz = rdr2geo(np.array([t]), np.array([r]), orbit, reference.look_side, height=0.0)[0]
    return [0.0 if s is reference else float(measure_baseline(
        xyz, orbit, s.orbit(), look_side=reference.look_side,
        wavelength_m=reference.wavelength_m)["bperp_m"][0]) for s in scenes]


def _network_records(scenes: dict[str, Scene], reference: str, network: str) -> dict[str, Any]:
    """``stack.*`` records of the dates, the baselines and the network's pairs."""
    from peppers.operators.timeseries import network_from_spec

    dates = sorted(scenes)
    first = scenes[dates[0]].first_line_utc
    days = [(scenes[d].first_line_utc - first).total_seconds() / 86400.0 for d in dates]
    bperp = _bperp(scenes[reference], [scenes[d] for d in dates])
    try:
        pairs = network_from_spec(network, days, bperp)
    except ValueError as error:
        raise SceneError("pep stack", f"--network {network}", str(error)) from None
    if not pairs:
        raise SceneError("pep stack", f"--network {network}", f"gives no pair for the dates {dates}")
    return {"stack.dates": dates, "stack.days": days, "stack.bperp_m": bperp,
            "stack.reference_date": reference, "stack.network": network,
            "stack.pairs": [[int(i), int(j)] for i, j in pairs]}


def _scene_leaves(db, scenes: dict[str, Scene], reference: str) -> dict[str, Any]:
    """``inputs.slc_DATE`` leaves of ``scenes`` (and ``inputs.reference_pair``)."""
    from peppers.scene.inputs import _flatten, scene_record

    root = Path(db.root)
    records = {d: scene_record(s, root) for d, s in scenes.items()}
    ref = records.get(reference)
    leaves: dict[str, Any] = {}
    if reference in records:  # the reference paired with itself: its own geometry layers
        _flatten("inputs.reference_pair", {"master": ref, "slave": ref}, leaves)
    for date, record in records.items():
        _flatten(f"inputs.slc_{date}", record, leaves)
    return leaves


def _load(paths: Sequence[str | Path]) -> dict[str, Scene]:
    from peppers.scene import load_scene

    scenes: dict[str, Scene] = {}
    for path in paths:
        scene = load_scene(path)
        date = acquisition_date(scene)
        if date in scenes:
            raise SceneError(path, "first line time", f"a second acquisition of {date} (also "
                             f"{scenes[date].yaml_path}); one scene per date")
        scenes[date] = scene
    return scenes


def _check_against(reference: Scene, scenes: dict[str, Scene]) -> None:
    from peppers.scene.inputs import check_pair

    for scene in scenes.values():
        if scene is not reference:
            check_pair(reference, scene)


def _write_records(db, leaves: dict[str, Any], message: str) -> None:
    with db.transaction(message=message) as tx:
        for key, value in leaves.items():
            tx.set(key, value)


def init_stack(run_dir: Path, scene_paths: Sequence[str | Path], *, reference: str | None,
               dem_path: str | Path, network: str, gcps_path: str | Path | None = None,
               parameters: dict | None = None, argv: Sequence[str] = ()) -> Any:
    """Create a stack run (module docstring); returns its :class:`RunDatabase`.

    Raises
    ------
    SceneError
        A scene that is not a contract scene, two scenes of one date, a
        scene that does not pair with the reference, an unknown reference
        date, a bad network spec; nothing is created then.
    """
    import shutil

    from peppers.hkv import RunDatabase
    from peppers.scene import check_reference_dem, load_gcps
    from peppers.scene.inputs import record_inputs

    scenes = _load(scene_paths)
    if len(scenes) < 2:
        raise SceneError("pep stack init", "--scenes", f"{len(scenes)} acquisition given; a "
                         "stack needs at least 2")
    dates = sorted(scenes)
    reference = reference or dates[0]
    if reference not in scenes:
        raise SceneError("pep stack init", f"--reference {reference}",
                         f"not one of the dates {', '.join(dates)}")
    ref = scenes[reference]
    _check_against(ref, scenes)
    dem = check_reference_dem(dem_path)
    gcps = (Path(gcps_path).absolute(), load_gcps(gcps_path)) if gcps_path else None
    stack_keys = _network_records(scenes, reference, network)
    if parameters is None:
        from peppers.cli.cmd_init import default_parameters

        parameters = default_parameters()
    run_dir = Path(run_dir).absolute()
    existed = run_dir.exists()
    db = RunDatabase.create(run_dir, parameters=parameters)
    try:
        if argv:
            db.record_command(list(argv))
        second = next(s for d, s in sorted(scenes.items()) if d != reference)
        record_inputs(db, master=ref, slave=second, gcps=gcps, dem=dem)
        from peppers.operators.unwrap.unwrappers import equivalent_looks

        leaves = _scene_leaves(db, scenes, reference)
        leaves.update(stack_keys)
        leaves.update(STACK_SETTINGS)
        leaves.update({"stack.wavelength_m": ref.wavelength_m, "stack.weighted": False,
                       "stack.heights": "reference_dem",
                       "stack.min_temporal_coherence": 0.7, "stack.reference_pixel": [],
                       "stack.looks": float(equivalent_looks(db.get("inputs.master"),
                                                             db.get("insar.multilook.looks")))})
        _write_records(db, leaves, "pep stack init: record the stack")
        write_stack_rules(run_dir, stack_rules(stack_keys["stack.dates"], reference,
                                               stack_keys["stack.pairs"]))
    except BaseException:
        if not existed:  # never leave a half-made run behind
            shutil.rmtree(run_dir, ignore_errors=True)
        raise
    return db


def add_to_stack(db, scene_paths: Sequence[str | Path]) -> dict[str, Any]:
    """Add acquisitions to a stack run: records, network, regenerated rules.

    Returns
    -------
    dict
        The new ``stack.*`` records.

    Raises
    ------
    SceneError
        A date already in the stack, or a scene that does not pair with
        the reference.
    """
    from peppers.scene import load_scene
    from peppers.scene.inputs import resolve_input

    reference = db.get("stack.reference_date")
    dates = list(db.get("stack.dates"))
    new = _load(scene_paths)
    for date in new:
        if date in dates:
            raise SceneError(new[date].yaml_path, "first line time",
                             f"the stack already has {date}")
    known = {d: load_scene(resolve_input(db.get(f"inputs.slc_{d}.yaml"), Path(db.root)))
             for d in dates}
    _check_against(known[reference], new)
    records = _network_records({**known, **new}, reference, db.get("stack.network"))
    leaves = _scene_leaves(db, new, reference)
    leaves.update(records)
    _write_records(db, leaves, f"pep stack add: {', '.join(sorted(new))}")
    write_stack_rules(Path(db.root), stack_rules(records["stack.dates"], reference,
                                                 records["stack.pairs"]))
    return records


def describe(db) -> list[str]:
    """Lines for the terminal: dates, reference, network."""
    dates, pairs = db.get("stack.dates"), db.get("stack.pairs")
    bperp = db.get("stack.bperp_m")
    lines = [f"  {len(dates)} acquisitions {dates[0]} .. {dates[-1]}, reference "
             f"{db.get('stack.reference_date')}, bperp {min(bperp):.1f} .. {max(bperp):.1f} m",
             f"  network {db.get('stack.network')}: {len(pairs)} pairs",
             f"  rules: {Path(db.root) / 'rules' / 'stack.yaml'}"]
    return lines


def mintpy_template(stack: str, reference_lalo: tuple[float, float] | None = None) -> str:
    """The ``smallbaselineApp.py`` template that loads an exported stack (processor hyp3)."""
    lines = [
        "mintpy.load.processor      = hyp3",
        f"mintpy.load.unwFile        = {stack}/*/*_unw_phase.tif",
        f"mintpy.load.corFile        = {stack}/*/*_corr.tif",
        f"mintpy.load.connCompFile   = {stack}/*/*_conncomp.tif",
        f"mintpy.load.demFile        = {stack}/*/*_dem.tif",
        f"mintpy.load.incAngleFile   = {stack}/*/*_lv_theta.tif",
        f"mintpy.load.azAngleFile    = {stack}/*/*_lv_phi.tif",
        "mintpy.reference.minCoherence = 0.5",
        "mintpy.networkInversion.minTempCoh = 0.3",
        "mintpy.compute.cluster     = none",
    ]
    if reference_lalo is not None:
        lines.append(f"mintpy.reference.lalo      = {reference_lalo[0]:.7f}, "
                     f"{reference_lalo[1]:.7f}")
    return "\n".join(lines) + "\n"


def export_mintpy(db, outdir: Path, *, threads: int | None = None) -> dict[str, Any]:
    """Make every pair's HyP3-style set and lay them out for MintPy under ``outdir``.

    ``outdir/stack/{PRODUCT}/`` holds hard links to each pair's product
    folder (``RUN/products/{PRODUCT}/``); ``outdir/smallbaselineApp.cfg`` the
    template (:func:`mintpy_template`), its reference point at the network's
    reference pixel. Also makes ``geocoded_velocity``,
    ``geocoded_velocity_std`` and ``geocoded_displacement_DATE`` (same grid).

    Returns
    -------
    dict
        ``products`` (folder names), ``template`` (path), ``reference_lalo``.
    """
    import os

    from peppers.drs import make
    from peppers.drs.rules import image_path
    from peppers.image import Region
    from peppers.io.raw import RawImage
    from peppers.operators.hyp3 import product_folder

    dates, pairs = db.get("stack.dates"), db.get("stack.pairs")
    tags = [f"{dates[i]}_{dates[j]}" for i, j in pairs]
    make(db, [f"hyp3_product_{t}" for t in tags] + ["geocoded_velocity", "geocoded_velocity_std"]
         + [f"geocoded_displacement_{d}" for d in dates], threads=threads)
    root = Path(db.root)
    stack = Path(outdir) / "stack"
    stack.mkdir(parents=True, exist_ok=True)
    names = []
    for tag in tags:
        folder = product_folder(root / "products" / f"hyp3_product_{tag}.tif")
        target = stack / folder.name
        target.mkdir(exist_ok=True)
        for path in folder.iterdir():
            link = target / path.name
            link.unlink(missing_ok=True)
            os.link(path, link)
        names.append(folder.name)
    ref = db.get("stack.reference")
    lalo = []
    for name in ("geometry_lat_multilooked", "geometry_lon_multilooked"):
        with RawImage.open(root / image_path(name)) as image:
            lalo.append(float(image.read(Region(ref["row"], ref["col"], 1, 1))[0, 0]))
    template = Path(outdir) / "smallbaselineApp.cfg"
    atomic_write_bytes(template, mintpy_template(str(stack.absolute()),
                                                 (lalo[0], lalo[1])).encode("utf-8"))
    return {"products": names, "template": template, "reference_lalo": lalo}
