"""Running one operator on image files, outside the scheduler (``pep op NAME``).

The three kinds, each with the project's write discipline (an output
appears under its name only when complete, never half-written):

local
    :class:`~peppers.ppe.pipeline.Pipeline` with the operator as its only
    step: tiles pulled in parallel, memory bounded by the tile-cache budget.
global
    ``op.run(sources, sinks)`` with sources from
    :func:`~peppers.io.source.open_source` and raw-image sinks.
reduction
    ``op.reduce(sources)``; the values come back as YAML text.

Staging: every output is first written as a raw image in a hidden folder
beside it (``.NAME.tmp-PID/``). A ``*.vrt`` output is then renamed into
place, pixels first, header last (a header in place always has its pixels);
a ``*.tif`` output is converted with
:func:`~peppers.io.geotiff.write_geotiff`, itself atomic. The folder is
removed whatever happens.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from peppers.errors import OperatorError, PeppersError
from peppers.image import ImageSpec
from peppers.operator import GlobalOperator, LocalOperator, ReductionOperator

GEOTIFF_SUFFIXES = (".tif", ".tiff")


def _staged(final: Path) -> Path:
    """A fresh hidden folder beside ``final``; the raw image to write in it."""
    folder = final.parent / f".{final.name}.tmp-{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    name = final.name if final.suffix.lower() == ".vrt" else f"{final.stem}.vrt"
    return folder / name


def _commit(staged: Path, final: Path, spec: ImageSpec) -> None:
    """Move a finished staged raw image to ``final`` (``.vrt``) or convert it (``.tif``)."""
    from peppers.io.atomic import fsync_dir
    from peppers.io.raw import RawImage, raw_path_for

    if final.suffix.lower() in GEOTIFF_SUFFIXES:
        from peppers.io.geotiff import write_geotiff

        geo = _geotiff_geo(final, spec)
        with RawImage.open(staged) as source:
            write_geotiff(final, source, crs=geo["crs"], transform=geo["transform"],
                          nodata=spec.nodata)
        return
    os.replace(raw_path_for(staged), raw_path_for(final))
    os.replace(staged, final)
    fsync_dir(final.parent)


def _geotiff_geo(final: Path, spec: ImageSpec) -> Mapping[str, Any]:
    """The georeferencing a GeoTIFF output needs, or an error before any work."""
    geo = spec.geo or {}
    if final.suffix.lower() in GEOTIFF_SUFFIXES and not (geo.get("crs") and
                                                         geo.get("transform")):
        raise OperatorError(f"{final}: a GeoTIFF needs a CRS and geotransform and the "
                            "inputs have none; write a .vrt output instead")
    return geo


def _check_outputs(outputs: Mapping[str, Path]) -> None:
    for path in outputs.values():
        if path.suffix.lower() not in (".vrt", *GEOTIFF_SUFFIXES):
            raise OperatorError(f"{path}: an output must be *.vrt (raw image) or *.tif "
                                "(GeoTIFF)")
        if not path.parent.is_dir():
            raise OperatorError(f"{path}: folder {path.parent} does not exist")


def _open(inputs: Mapping[str, Path]) -> dict[str, Any]:
    from peppers.io.source import open_source

    sources: dict[str, Any] = {}
    try:
        for port, path in inputs.items():
            sources[port] = open_source(path)
    except BaseException:
        _close(sources)
        raise
    return sources


def _close(objects: Mapping[str, Any]) -> None:
    for obj in objects.values():
        with contextlib.suppress(Exception):
            obj.close()


def _guarded(op: Any, call: Callable[[], Any]) -> Any:
    """``call()``, with an operator's own failure turned into an OperatorError naming it."""
    try:
        return call()
    except PeppersError:
        raise
    except Exception as error:  # noqa: BLE001 - an operator's failure, reported
        raise OperatorError(f"{op.kind} operator {op.label} failed: "
                            f"{type(error).__name__}: {error}") from error


def run_local(op: LocalOperator, inputs: Mapping[str, Path], outputs: Mapping[str, Path], *,
              tile_shape: tuple[int, int] = (512, 512), threads: int | None = None,
              mem: int | str | None = None, echo: Callable[[str], None] | None = None) -> Any:
    """Run local operator ``op`` over image files through the tile engine.

    Parameters
    ----------
    op : LocalOperator
    inputs : mapping
        Port -> image path (every input port).
    outputs : mapping
        Port -> ``*.vrt`` or ``*.tif`` path (the ports wanted).
    tile_shape, threads, mem
        As for :class:`~peppers.ppe.pipeline.Pipeline`.
    echo : callable, optional
        Receives the engine's estimate line.

    Returns
    -------
    RunStats

    Raises
    ------
    OperatorError
        A failing tile (names operator and tile), or a GeoTIFF output
        without georeferencing; nothing appears at the output paths.
    ImageError
        Unreadable inputs.
    """
    from peppers.ppe import DEFAULT_MEM, Pipeline

    _check_outputs(outputs)
    sources = _open(inputs)
    staged: dict[str, Path] = {}
    try:
        p = Pipeline(tile_shape=tile_shape, mem=mem or DEFAULT_MEM, threads=threads)
        images = p.add(op, **{port: p.source(src, name=port) for port, src in sources.items()})
        images = images if isinstance(images, tuple) else (images,)
        by_port = dict(zip(op.outputs, images))
        for port, final in outputs.items():
            _geotiff_geo(final, by_port[port].spec)
            staged[port] = _staged(final)
            p.output(by_port[port], path=staged[port], name=port)
        result = p.run(echo=echo)
        for port, final in outputs.items():
            image = result[port]
            image.flush()
            image.close()
            _commit(staged[port], final, by_port[port].spec)
        return result.stats
    finally:
        _close(sources)
        for path in staged.values():
            shutil.rmtree(path.parent, ignore_errors=True)


def run_global(op: GlobalOperator, inputs: Mapping[str, Path],
               outputs: Mapping[str, Path]) -> None:
    """Run global operator ``op``: whole images in, the wanted outputs written.

    Outputs not asked for are written to the staging folder and dropped.

    Raises
    ------
    OperatorError
        The operator failed (its error is ``__cause__``); nothing appears at
        the output paths.
    """
    from peppers.io.raw import RawImage

    _check_outputs(outputs)
    sources = _open(inputs)
    scratch = _staged(next(iter(outputs.values())))
    staged = {port: _staged(final) for port, final in outputs.items()}
    sinks: dict[str, Any] = {}
    try:
        specs = op.output_spec({port: s.spec for port, s in sources.items()})
        for port, final in outputs.items():
            _geotiff_geo(final, specs[port])
        for port in op.outputs:
            path = staged.get(port, scratch.parent / f"_unused_{port}.vrt")
            sinks[port] = RawImage.create(path, specs[port])
        _guarded(op, lambda: op.run(sources, sinks))
        for sink in sinks.values():
            sink.flush()
        _close(sinks)
        for port, final in outputs.items():
            _commit(staged[port], final, specs[port])
    finally:
        _close(sources)
        _close(sinks)
        for path in (scratch, *staged.values()):
            shutil.rmtree(path.parent, ignore_errors=True)


def plain(value: Any) -> Any:
    """``value`` with numpy scalars and arrays turned into YAML-safe Python."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


def run_reduction(op: ReductionOperator, inputs: Mapping[str, Path]) -> str:
    """Run reduction ``op``; return its values as YAML text.

    Raises
    ------
    OperatorError
        The operator failed, or returned something other than a mapping.
    """
    import yaml

    sources = _open(inputs)
    try:
        result = _guarded(op, lambda: op.reduce(sources))
    finally:
        _close(sources)
    if not isinstance(result, dict):
        raise OperatorError(f"reduction {op.label}: reduce() returned "
                            f"{type(result).__name__}, expected a mapping")
    return yaml.safe_dump(plain(result), sort_keys=False, default_flow_style=None)
