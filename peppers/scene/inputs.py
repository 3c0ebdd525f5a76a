"""A run's inputs in the run database: what ``pep init`` records, and reading it back.

``pep init`` checks the two scenes (and the optional ground control points
and reference DEM), then records them under ``inputs.*`` in one transaction:

``inputs.master.*``, ``inputs.slave.*``
    The scene's contract metadata, section by section, as in its YAML file
    (``inputs.master.sensor.wavelength_m``, ``inputs.master.image.lines``,
    ``inputs.master.orbit.state_vectors``...), except that ``image.path`` is
    the image's path as seen from the run; plus ``assumptions`` (one line
    per contract-v2 field the scene leaves out, saying what the chain then
    assumes: :meth:`Scene.assumptions`), ``yaml`` (the metadata
    file's path) and ``files`` (path, size, mtime and sha256 of the YAML,
    the image and, behind a raw VRT, the raw file), so a later change of an
    input can be noticed.
``inputs.gcps.*``
    ``path``, ``files`` and ``points`` (a list of ``{lat, lon, height_m}``).
``inputs.reference_dem.*``
    ``path``, ``files``, ``crs``, ``shape``.

Paths are stored relative to the run directory when the file lies inside
the run's parent folder (a project folder holding the data and the run
moves as a whole), otherwise absolute; :func:`resolve_input` turns either
back into an absolute path, and :func:`load_run_scene` reloads a scene
with full validation.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from peppers.errors import SceneError
from peppers.files import sha256_file
from peppers.scene.ancillary import DemInfo, GroundControlPoint
from peppers.scene.model import Scene
from peppers.scene.reader import load_scene
from peppers.scene.writer import scene_metadata

__all__ = ["ROLES", "input_path", "resolve_input", "file_record", "scene_record",
           "record_inputs", "load_run_scene", "check_pair"]

ROLES = ("master", "slave")
#: Relative wavelength difference beyond which two scenes do not form a pair.
WAVELENGTH_TOLERANCE = 1e-3


def input_path(path: Path, run_dir: Path) -> str:
    """How a run records the path of an input file.

    Parameters
    ----------
    path : Path
        The input file.
    run_dir : Path
        The run directory.

    Returns
    -------
    str
        Relative to ``run_dir`` (POSIX separators) if ``path`` lies inside
        ``run_dir``'s parent folder, else absolute.
    """
    path, run_dir = Path(os.path.abspath(path)), Path(os.path.abspath(run_dir))
    if path.is_relative_to(run_dir.parent):
        return Path(os.path.relpath(path, run_dir)).as_posix()
    return str(path)


def resolve_input(recorded: str, run_dir: Path) -> Path:
    """The absolute path of an input recorded by :func:`input_path`."""
    return Path(os.path.normpath(Path(run_dir).absolute() / recorded))


def file_record(path: Path, run_dir: Path) -> dict[str, Any]:
    """Identity of one input file: recorded path, size, mtime (UTC), sha256."""
    stat = os.stat(path)
    return {"path": input_path(path, run_dir), "size": stat.st_size,
            "mtime": datetime.fromtimestamp(stat.st_mtime, timezone.utc),
            "sha256": sha256_file(path)}


def _image_files(scene: Scene) -> list[Path]:
    """The scene's files: YAML, image, and the raw file behind a raw VRT."""
    from peppers.errors import ImageError
    from peppers.io.vrt import parse_vrt

    files = [scene.yaml_path, scene.image_path]
    if scene.image_path.suffix.lower() == ".vrt":
        try:
            files.append(parse_vrt(scene.image_path).source)
        except ImageError:
            pass  # another kind of VRT; its sources are GDAL's business
    return files


def scene_record(scene: Scene, run_dir: Path) -> dict[str, Any]:
    """The mapping recorded under ``inputs.<role>`` for a loaded scene."""
    record = scene_metadata(scene, input_path(scene.image_path, run_dir))
    record["yaml"] = input_path(scene.yaml_path, run_dir)
    record["assumptions"] = [f"{field}: {text}" for field, text in scene.assumptions().items()]
    record["files"] = [file_record(p, run_dir) for p in _image_files(scene)]
    return record


def check_pair(master: Scene, slave: Scene) -> None:
    """Refuse two scenes that cannot form an interferogram.

    Two scenes pair when they share the look side and their range spectra
    overlap: the same wavelength (within 0.1 %), or, where both declare
    their centre frequency and processed range bandwidth (contract v2,
    e.g. two NISAR modes of one acquisition), overlapping bands
    ``|f1 - f2| < (B1 + B2) / 2``; the common-band filter then cuts the
    common part.

    Raises
    ------
    SceneError
        Naming the slave's file: ``sensor.look_side`` if the look sides
        differ, ``sensor.wavelength_m`` (or ``sensor.centre_frequency_hz``)
        if the spectra do not overlap.
    """
    if slave.look_side != master.look_side:
        raise SceneError(slave.yaml_path, "sensor.look_side",
                         f"is {slave.look_side!r} but the master ({master.yaml_path}) looks "
                         f"{master.look_side!r}; an interferometric pair shares its look side")
    if abs(slave.wavelength_m - master.wavelength_m) <= WAVELENGTH_TOLERANCE * master.wavelength_m:
        return
    bands = [(s.centre_frequency_hz, s.range_bandwidth_hz) for s in (master, slave)]
    if all(f is not None and b is not None for f, b in bands):
        (f1, b1), (f2, b2) = bands
        if abs(f1 - f2) < 0.5 * (b1 + b2):
            return
        raise SceneError(slave.yaml_path, "sensor.centre_frequency_hz",
                         f"the slave's band {f2:.6g} Hz +- {b2 / 2:.6g} Hz does not overlap "
                         f"the master's {f1:.6g} Hz +- {b1 / 2:.6g} Hz ({master.yaml_path}); "
                         "no common band to interfere")
    raise SceneError(slave.yaml_path, "sensor.wavelength_m",
                     f"is {slave.wavelength_m} m but the master's is {master.wavelength_m} m; "
                     "an interferometric pair shares its wavelength (or declares overlapping "
                     "bands: sensor.centre_frequency_hz and range.processed_bandwidth_hz)")


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> dict[str, Any]:
    """Nested mappings -> dotted leaf keys (lists stay values)."""
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _flatten(f"{prefix}.{key}", item, out)
    else:
        out[prefix] = value
    return out


def record_inputs(db, *, master: Scene, slave: Scene,
                  gcps: tuple[Path, list[GroundControlPoint]] | None = None,
                  dem: DemInfo | None = None) -> dict[str, Any]:
    """Record a run's inputs under ``inputs.*`` in one transaction.

    Parameters
    ----------
    db : peppers.hkv.RunDatabase
        The run.
    master, slave : Scene
        Loaded (validated) scenes.
    gcps : (Path, list of GroundControlPoint), optional
        The GCP file and its points.
    dem : DemInfo, optional
        The checked reference DEM.

    Returns
    -------
    dict
        Every leaf key written and its value.
    """
    run_dir = Path(db.root)
    leaves: dict[str, Any] = {}
    for role, scene in (("master", master), ("slave", slave)):
        _flatten(f"inputs.{role}", scene_record(scene, run_dir), leaves)
    if gcps is not None:
        path, points = gcps
        _flatten("inputs.gcps", {
            "path": input_path(path, run_dir), "files": [file_record(path, run_dir)],
            "points": [{"lat": p.lat, "lon": p.lon, "height_m": p.height_m} for p in points],
        }, leaves)
    if dem is not None:
        _flatten("inputs.reference_dem", {
            "path": input_path(dem.path, run_dir), "files": [file_record(dem.path, run_dir)],
            "crs": dem.crs, "shape": list(dem.shape),
        }, leaves)
    with db.transaction(message="pep init: record inputs") as tx:
        for key, value in leaves.items():
            tx.set(key, value)
    return leaves


def load_run_scene(db, role: str) -> Scene:
    """Reload and revalidate the scene a run recorded as ``role``.

    Parameters
    ----------
    db : peppers.hkv.RunDatabase
        The run.
    role : {"master", "slave"}

    Returns
    -------
    Scene

    Raises
    ------
    SceneError
        If the run has no such input, or the file no longer passes the contract.
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, got {role!r}")
    recorded = db.get(f"inputs.{role}.yaml", None)
    if recorded is None:
        raise SceneError(Path(db.root), f"inputs.{role}.yaml",
                         "the run records no such scene; create it with pep init")
    return load_scene(resolve_input(recorded, Path(db.root)))
