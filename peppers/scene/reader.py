"""Reading a ``peppers-slc/1`` or ``/2`` scene: YAML metadata to a validated :class:`Scene`.

:func:`load_scene` works in three named steps, each refusing a breach with
a :class:`~peppers.errors.SceneError` that names the YAML file and the dotted
contract field (``orbit.state_vectors[3].utc``):

1. **parse** the YAML strictly: timestamps stay strings (PyYAML would turn an
   unquoted ``2026-03-01T05:12:03Z`` into a datetime and accept forms the
   contract does not), and a key given twice is an error instead of the
   last one silently winning;
2. **type** every field: present, of the right YAML type (an integer for
   ``image.lines``, a number for ``sensor.wavelength_m``, a contract time
   string for ``azimuth.first_line_utc``, three numbers for a position), and
   build the :class:`Scene`, whose constructor checks the value rules (look
   side, spacings, the state vectors' count, order, spacing and coverage);
3. **open the image** with rasterio and check it is one band of complex64
   with ``lines`` rows and ``samples`` columns, and that its last line can be
   read (a truncated raw file behind a VRT fails here, not mid-run).

Fields the contract does not name are ignored, so a converter may keep its
own notes in the file. A ``peppers-slc/2`` file may carry the optional v2
sections (:mod:`peppers.scene.contract_v2`); in a ``peppers-slc/1`` file they
are not part of the contract and are ignored like any other unknown key.
:func:`scene_from_mapping` is steps 1-2 for a mapping already in hand (the
metadata a run records under ``inputs.<role>``).
"""

from __future__ import annotations

import os
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping

import yaml

from peppers.errors import OperatorError, SceneError
from peppers.scene.contract_v2 import parse_v2
from peppers.scene.model import FORMAT_V1, FORMAT_V2, FORMATS, Scene
from peppers.scene.utc import parse_utc

FORMAT = FORMAT_V1
__all__ = ["load_scene", "load_yaml_strict", "pair_from_run_inputs", "scene_from_mapping"]

_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader without implicit timestamps and without duplicate keys."""

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                mark = key_node.start_mark
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice (line {seen[key]} and "
                                f"line {mark.line + 1})", mark)
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml_strict(path: Path) -> Any:
    """Load one YAML document: timestamps stay strings, duplicate keys refused.

    Parameters
    ----------
    path : Path
        The file to read.

    Returns
    -------
    object
        The parsed document.

    Raises
    ------
    SceneError
        Field ``(file)`` if the file cannot be read, ``(yaml)`` if it is not
        valid YAML (the message gives line and column).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SceneError(path, "(file)", "no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise SceneError(path, "(file)", f"cannot be read: {error}") from None
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise SceneError(path, "(yaml)", f"not valid YAML{where}: {problem}") from None


def load_scene(yaml_path: str | os.PathLike) -> Scene:
    """Load and validate one scene's metadata and image.

    Parameters
    ----------
    yaml_path : path
        The scene's YAML metadata file.

    Returns
    -------
    Scene
        With ``yaml_path`` and ``image_path`` absolute.

    Raises
    ------
    SceneError
        For any breach of the contract, naming the YAML file and the field
        (``image.path``, ``image.lines``... for problems of the image file).

    References
    ----------
    ``docs/input-format.md``, the ``peppers-slc/1`` and ``/2`` contract.
    """
    path = Path(yaml_path).absolute()
    doc = load_yaml_strict(path)
    scene = scene_from_mapping(doc, path, base_dir=path.parent, yaml_path=path)
    check_image(scene)
    return scene


def scene_from_mapping(doc: Any, file: Path | str = "<scene>", *, base_dir: Path | None = None,
                       yaml_path: Path | None = None, image: bool = True) -> Scene:
    """A validated :class:`Scene` from a contract metadata mapping (v1 or v2).

    Parameters
    ----------
    doc : mapping
        The parsed document: ``format``, ``sensor``, ``image``, ``azimuth``,
        ``range``, ``orbit`` (and, for v2, the optional sections). Times are
        contract strings (or tz-aware datetimes, as a run database holds them).
    file : path or str
        Names the mapping in errors (the YAML file, or ``inputs.master``).
    base_dir : Path, optional
        Folder a relative ``image.path`` is relative to; without it the path
        is kept as written.
    yaml_path : Path, optional
        Recorded as the scene's ``yaml_path``.
    image : bool
        Read ``image.path`` (default); False leaves ``image_path`` unset.

    Returns
    -------
    Scene
        The image itself is not opened (:func:`check_image` does that).

    Raises
    ------
    SceneError
        Naming ``file`` and the dotted field.
    """
    path = file
    fields = _Fields(path)
    if not isinstance(doc, dict):
        raise SceneError(path, "(yaml)", f"the document is a {_kind(doc)}; expected a mapping "
                                         "with format, sensor, image, azimuth, range and orbit")
    fmt = fields.get(doc, "", "format")
    if fmt not in FORMATS:
        raise SceneError(path, "format", f"is {fmt!r}; this reader knows "
                                         f"{' and '.join(repr(f) for f in FORMATS)}")
    sensor = fields.section(doc, "sensor")
    image_section = fields.section(doc, "image")
    azimuth = fields.section(doc, "azimuth")
    range_ = fields.section(doc, "range")
    orbit = fields.section(doc, "orbit")
    vectors = fields.get(orbit, "orbit", "state_vectors")
    if not isinstance(vectors, list):
        raise SceneError(path, "orbit.state_vectors",
                         f"is a {_kind(vectors)}; expected a list of state vectors")
    times, positions, velocities = [], [], []
    for i, vector in enumerate(vectors):
        prefix = f"orbit.state_vectors[{i}]"
        if not isinstance(vector, dict):
            raise SceneError(path, prefix, f"is a {_kind(vector)}; expected a mapping "
                                           "with utc, position_m and velocity_mps")
        times.append(fields.utc(vector, prefix, "utc"))
        positions.append(fields.vector3(vector, prefix, "position_m"))
        velocities.append(fields.vector3(vector, prefix, "velocity_mps"))
    image_path = None
    if image:
        image_path = Path(fields.string(image_section, "image", "path"))
        if base_dir is not None and not image_path.is_absolute():
            image_path = Path(os.path.normpath(Path(base_dir) / image_path))
    extra = parse_v2(doc, path) if fmt == FORMAT_V2 else {}
    return Scene(
        sensor_name=fields.string(sensor, "sensor", "name"),
        wavelength_m=fields.number(sensor, "sensor", "wavelength_m"),
        look_side=fields.string(sensor, "sensor", "look_side"),
        lines=fields.integer(image_section, "image", "lines"),
        samples=fields.integer(image_section, "image", "samples"),
        first_line_utc=fields.utc(azimuth, "azimuth", "first_line_utc"),
        line_interval_s=fields.number(azimuth, "azimuth", "line_interval_s"),
        first_sample_m=fields.number(range_, "range", "first_sample_m"),
        sample_spacing_m=fields.number(range_, "range", "sample_spacing_m"),
        orbit_utc=times,
        positions_m=positions,
        velocities_mps=velocities,
        image_path=image_path,
        yaml_path=yaml_path,
        orbit_frame=fields.string(orbit, "orbit", "frame"),
        **extra,
    )


def check_image(scene: Scene) -> None:
    """Check the scene's image: it opens, one band, complex64, the declared size.

    Parameters
    ----------
    scene : Scene
        With ``image_path`` set.

    Raises
    ------
    SceneError
        Naming the scene's YAML file and ``image.path``, ``image.lines`` or
        ``image.samples``.
    """
    import numpy as np
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioError
    from rasterio.windows import Window

    file = scene.yaml_path if scene.yaml_path is not None else "<scene>"
    image = scene.image_path
    if image is None or not image.exists():
        raise SceneError(file, "image.path", f"names {image}, which does not exist")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(image) as dataset:
                count, dtype = dataset.count, np.dtype(dataset.dtypes[0])
                height, width = dataset.height, dataset.width
                if count == 1 and dtype == np.complex64 and (height, width) == scene.shape:
                    dataset.read(1, window=Window(0, height - 1, width, 1))
    except RasterioError as error:
        raise SceneError(file, "image.path", f"GDAL cannot read {image}: {error}") from None
    if count != 1:
        raise SceneError(file, "image.path", f"{image} has {count} bands; the contract needs "
                                             "exactly one")
    if dtype != np.complex64:
        what = "complex but" if np.issubdtype(dtype, np.complexfloating) else "not complex:"
        raise SceneError(file, "image.path",
                         f"{image} is {what} {dtype}; the contract needs complex64 (CFloat32), "
                         "e.g. gdal_translate -ot CFloat32")
    _check_raw_size(file, image)
    if height != scene.lines:
        raise SceneError(file, "image.lines", f"is {scene.lines}, but {image} has {height} rows")
    if width != scene.samples:
        raise SceneError(file, "image.samples",
                         f"is {scene.samples}, but {image} has {width} columns")


def _check_raw_size(file: Path | str, image: Path) -> None:
    """For a raw-image VRT, refuse a raw file shorter than its header says.

    GDAL reads the missing part of a truncated raw file as zeros without an
    error, so the size is checked here, from the header.
    """
    from peppers.errors import ImageError
    from peppers.io.vrt import parse_vrt

    if image.suffix.lower() != ".vrt":
        return
    try:
        layout = parse_vrt(image)
    except ImageError:
        return  # another kind of VRT: GDAL reads it, and reports its own errors
    size = layout.source.stat().st_size if layout.source.exists() else 0
    if size < layout.required_size:
        raise SceneError(file, "image.path",
                         f"{layout.source} holds {size} bytes but its header {image.name} needs "
                         f"{layout.required_size}: the raw image is truncated")


def _kind(value: Any) -> str:
    """A YAML-ish name for the type of ``value``, for messages."""
    return {dict: "mapping", list: "list", str: "string", bool: "boolean", int: "integer",
            float: "number", type(None): "empty value"}.get(type(value), type(value).__name__)


class _Fields:
    """Typed access to the fields of one metadata document, with contract errors."""

    def __init__(self, file: Path):
        self.file = file

    def get(self, parent: dict, prefix: str, key: str) -> Any:
        name = f"{prefix}.{key}" if prefix else key
        if key not in parent:
            raise SceneError(self.file, name, f"missing; {FORMAT} requires it")
        value = parent[key]
        if value is None:
            raise SceneError(self.file, name, "is empty; give it a value")
        return value

    def section(self, doc: dict, key: str) -> dict:
        value = self.get(doc, "", key)
        if not isinstance(value, dict):
            raise SceneError(self.file, key, f"is a {_kind(value)}; expected a mapping")
        return value

    def string(self, parent: dict, prefix: str, key: str) -> str:
        value = self.get(parent, prefix, key)
        if not isinstance(value, str):
            raise SceneError(self.file, f"{prefix}.{key}",
                             f"is a {_kind(value)} ({value!r}); expected a string")
        return value

    def integer(self, parent: dict, prefix: str, key: str) -> int:
        value = self.get(parent, prefix, key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise SceneError(self.file, f"{prefix}.{key}",
                             f"is a {_kind(value)} ({value!r}); expected an integer")
        return value

    def number(self, parent: dict, prefix: str, key: str) -> float:
        value = self.get(parent, prefix, key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SceneError(self.file, f"{prefix}.{key}",
                             f"is a {_kind(value)} ({value!r}); expected a number")
        return float(value)

    def utc(self, parent: dict, prefix: str, key: str):
        value = self.get(parent, prefix, key)
        if isinstance(value, datetime) and value.tzinfo is not None:
            return value  # a run database holds times as datetimes
        try:
            return parse_utc(value)
        except ValueError as error:
            raise SceneError(self.file, f"{prefix}.{key}", f"bad time: {error}") from None

    def vector3(self, parent: dict, prefix: str, key: str) -> list[float]:
        value = self.get(parent, prefix, key)
        if (not isinstance(value, list) or len(value) != 3
                or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in value)):
            raise SceneError(self.file, f"{prefix}.{key}",
                             f"is {value!r}; expected a list of three numbers [x, y, z]")
        return [float(v) for v in value]


def pair_from_run_inputs(inputs: Mapping[str, Any], label: str) -> tuple[Scene, Scene]:
    """The master and slave scenes of a run's ``inputs`` record.

    Parameters
    ----------
    inputs : mapping
        HKV ``inputs`` (``master`` and ``slave`` scene mappings).
    label : str
        Who asks (an operator's label), for the error.

    Raises
    ------
    OperatorError
        If either scene is missing.
    """
    if "master" not in inputs or "slave" not in inputs:
        raise OperatorError(f"{label}: run_inputs must hold the master and slave "
                            "scenes (map the parameter to HKV 'inputs')")
    return (scene_from_mapping(inputs["master"], "inputs.master"),
            scene_from_mapping(inputs["slave"], "inputs.slave"))

