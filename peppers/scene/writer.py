"""Writing a ``peppers-slc/1`` scene: YAML metadata, flat complex64 image, VRT header.

:func:`write_scene` writes the usual form of the contract beside the YAML:
``NAME.slc`` (flat little-endian complex64, row-major, no header) and
``NAME.slc.vrt`` (a GDAL ``VRTRawRasterBand`` of type ``CFloat32``,
``ByteOrder LSB``, no-data 0, path relative to the VRT: the raw-image header
of :mod:`peppers.io.vrt`), where ``NAME`` is the YAML's stem. Each file is written to a temporary name in the same folder, flushed,
fsynced and renamed into place (:mod:`peppers.io.atomic`); the YAML comes
last, so a reader that finds the YAML finds a complete image behind it.

The metadata a scene writes is :func:`scene_metadata`, the contract's
mapping; ``pep init`` records the same mapping in the run database.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from peppers.errors import SceneError
from peppers.io.atomic import atomic_path, atomic_write_bytes
from peppers.io.vrt import dense_layout, layout_to_xml
from peppers.scene.contract_v2 import v2_sections
from peppers.scene.model import Scene
from peppers.scene.utc import format_utc

__all__ = ["write_scene", "scene_metadata"]

#: Rows written per chunk when the raw image goes to disk (bounds the copy).
_CHUNK_BYTES = 64 << 20


def scene_metadata(scene: Scene, image_path: str) -> dict[str, Any]:
    """The contract's metadata mapping of ``scene``.

    Parameters
    ----------
    scene : Scene
        The scene.
    image_path : str
        What to write as ``image.path`` (relative to the YAML file in a
        scene file; relative to the run in the run database).

    Returns
    -------
    dict
        Plain Python values only (str, int, float, lists, dicts); times as
        contract strings, in the contract's section order. ``format`` is
        ``peppers-slc/2`` when the scene has any v2 field (merged into its
        sections), else ``peppers-slc/1``.
    """
    doc = {
        "format": scene.format,
        "sensor": {"name": scene.sensor_name, "wavelength_m": scene.wavelength_m,
                   "look_side": scene.look_side},
        "image": {"path": image_path, "lines": scene.lines, "samples": scene.samples},
        "azimuth": {"first_line_utc": format_utc(scene.first_line_utc),
                    "line_interval_s": scene.line_interval_s},
        "range": {"first_sample_m": scene.first_sample_m,
                  "sample_spacing_m": scene.sample_spacing_m},
        "orbit": {
            "frame": scene.orbit_frame,
            "state_vectors": [
                {"utc": format_utc(t), "position_m": p.tolist(), "velocity_mps": v.tolist()}
                for t, p, v in zip(scene.orbit_utc, scene.positions_m, scene.velocities_mps)
            ],
        },
    }
    for section, values in v2_sections(scene).items():
        doc.setdefault(section, {}).update(values)
    return doc


def write_scene(yaml_path: str | os.PathLike, scene: Scene,
                image: np.ndarray | None = None) -> Scene:
    """Write a contract-conforming scene: YAML, and the image if given.

    Parameters
    ----------
    yaml_path : path
        The metadata file to write (``NAME.yaml``); its folder must exist.
    scene : Scene
        The metadata. Its ``image_path`` is used only when ``image`` is None.
    image : ndarray of shape (lines, samples), complex, optional
        The SLC. Written as ``NAME.slc`` + ``NAME.slc.vrt`` beside the YAML
        (complex128 is converted to complex64). If None, the YAML points at
        ``scene.image_path``, which must be set (the image is not checked).

    Returns
    -------
    Scene
        ``scene`` with ``yaml_path`` and ``image_path`` set to what was written
        (absolute paths).

    Raises
    ------
    SceneError
        If ``image`` is not a complex 2-D array of the scene's shape, or
        ``image`` is None and the scene has no image path.
    OSError
        If a file cannot be written (nothing is left at a final path).
    """
    yaml_path = Path(yaml_path).absolute()
    if image is not None:
        image = np.asarray(image)
        if not np.issubdtype(image.dtype, np.complexfloating):
            raise SceneError(yaml_path, "image", f"the array is {image.dtype}, not complex")
        if image.shape != scene.shape:
            raise SceneError(yaml_path, "image", f"the array has shape {image.shape}; the scene "
                                                 f"declares (lines, samples) = {scene.shape}")
        stem = yaml_path.name.removesuffix(".yaml").removesuffix(".yml")
        raw_path = yaml_path.with_name(f"{stem}.slc")
        image_path = yaml_path.with_name(f"{stem}.slc.vrt")
        with atomic_path(raw_path) as tmp, open(tmp, "wb") as handle:
            for chunk in _raw_chunks(image):
                handle.write(chunk)
        layout = dense_layout(image_path, raw_path, scene.shape, np.complex64, nodata=0)
        atomic_write_bytes(image_path, layout_to_xml(layout, image_path))
    elif scene.image_path is None:
        raise SceneError(yaml_path, "image.path", "no image array given and the scene has no "
                                                  "image_path to point at")
    else:
        image_path = Path(scene.image_path).absolute()
    relative = os.path.relpath(image_path, yaml_path.parent)
    text = yaml.safe_dump(scene_metadata(scene, relative), sort_keys=False,
                          default_flow_style=None, width=100)
    atomic_write_bytes(yaml_path, text.encode("utf-8"))
    return dataclasses.replace(scene, yaml_path=yaml_path, image_path=image_path)


def _raw_chunks(image: np.ndarray):
    """Yield the image as little-endian complex64 bytes, a bounded block of rows at a time."""
    rows = max(1, _CHUNK_BYTES // max(1, 8 * image.shape[1]))
    for start in range(0, image.shape[0], rows):
        block = np.ascontiguousarray(image[start:start + rows], dtype="<c8")
        yield memoryview(block).cast("B")
