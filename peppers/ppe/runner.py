"""One way to run an operator on stored images: staging, atomic commit, failure wrapping.

The scheduler's boundary rules (:mod:`peppers.drs.boundary`), ``pep op
NAME`` and rank 0 of a tiled global rule under MPI all run an operator
through these functions, with the project's write discipline -- an output
appears under its name only when complete, never half-written:

``run_local(op, inputs, outputs)``
    A local operator as the only step of a
    :class:`~peppers.ppe.pipeline.Pipeline`: tiles pulled in parallel,
    memory bounded by the tile-cache budget.
``run_global(op, inputs, outputs)``
    ``op.run(sources, sinks)`` with sources from
    :func:`~peppers.io.source.open_source` and raw-image sinks.
``run_reduction(op, inputs)``
    ``op.reduce(sources)``; the values come back as a mapping.

Staging (:class:`Staging`): every output is first written as a raw image in
a hidden folder beside it (``.NAME.tmp-PID/``). A ``*.vrt`` output is then
renamed into place, pixels first, header last (a header in place always has
its pixels); a ``*.tif`` output is converted with
:func:`~peppers.io.geotiff.write_geotiff`, itself atomic. The folders are
removed whatever happens. An operator's own exception (anything but a
:class:`~peppers.errors.PeppersError`) becomes an
:class:`~peppers.errors.OperatorError` naming what ran (:func:`guarded`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from peppers.errors import OperatorError, PeppersError
from peppers.image import ImageSpec
from peppers.io.atomic import fsync_dir, sweep_temporaries
from peppers.io.geotiff import write_geotiff
from peppers.io.raw import RawImage, raw_path_for
from peppers.io.source import open_source
from peppers.operator import GlobalOperator, LocalOperator, ReductionOperator
from peppers.ppe.cache import DEFAULT_MEM
from peppers.ppe.engine import check_stop
from peppers.ppe.pipeline import Pipeline
from peppers.ppe.stats import RunStats

GEOTIFF_SUFFIXES = (".tif", ".tiff")


def close_all(objects: Mapping[str, Any]) -> None:
    """Close every object that has a ``close`` (sources, sinks); errors are ignored."""
    for obj in objects.values():
        with contextlib.suppress(Exception):
            obj.close()


def open_sources(inputs: Mapping[str, Path]) -> dict[str, Any]:
    """Port -> :func:`~peppers.io.source.open_source` of each path; all closed on failure."""
    sources: dict[str, Any] = {}
    try:
        for port, path in inputs.items():
            sources[port] = open_source(path)
    except BaseException:
        close_all(sources)
        raise
    return sources


def describe(op: Any) -> str:
    """``"global operator unwrap"``: how a failure names an operator by default."""
    return f"{op.kind} operator {op.label}"


@contextlib.contextmanager
def guarded(what: str) -> Iterator[None]:
    """Turn an operator's own failure into an :class:`OperatorError` naming ``what``.

    Errors peppers raised on purpose pass unchanged; the original is
    ``__cause__``.

    Examples
    --------
    >>> with guarded("global rule unwrap (Unwrap)"):
    ...     1 / 0
    Traceback (most recent call last):
    ...
    peppers.errors.OperatorError: global rule unwrap (Unwrap) failed: ZeroDivisionError: \
division by zero
    """
    try:
        yield
    except PeppersError:
        raise
    except Exception as error:  # noqa: BLE001 - an operator's failure, reported
        raise OperatorError(f"{what} failed: {type(error).__name__}: {error}") from error


def check_outputs(outputs: Mapping[str, Path]) -> None:
    """Refuse output paths that are neither ``*.vrt`` nor ``*.tif``, or whose folder is missing."""
    for path in outputs.values():
        if path.suffix.lower() not in (".vrt", *GEOTIFF_SUFFIXES):
            raise OperatorError(f"{path}: an output must be *.vrt (raw image) or *.tif "
                                "(GeoTIFF)")
        if not path.parent.is_dir():
            raise OperatorError(f"{path}: folder {path.parent} does not exist")


def geotiff_geo(final: Path, spec: ImageSpec) -> Mapping[str, Any]:
    """The georeferencing a GeoTIFF output needs, or an error before any work."""
    geo = spec.geo or {}
    if final.suffix.lower() in GEOTIFF_SUFFIXES and not (geo.get("crs") and
                                                         geo.get("transform")):
        raise OperatorError(f"{final}: a GeoTIFF needs a CRS and geotransform and the "
                            "inputs have none; write a .vrt output instead")
    return geo


class Staging:
    """Hidden folders beside final outputs, and the atomic commit out of them.

    Use as a context manager: the folders are removed on exit, committed or not.
    """

    def __init__(self) -> None:
        self.folders: list[Path] = []

    def stage(self, final: Path, name: str | None = None) -> Path:
        """A fresh hidden folder beside ``final``; the raw image (``.vrt``) to write in it."""
        final = Path(final)
        sweep_temporaries(final.parent)
        folder = final.parent / f".{final.name}.tmp-{os.getpid()}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        self.folders.append(folder)
        name = name or (final.name if final.suffix.lower() == ".vrt" else f"{final.stem}.vrt")
        return folder / name

    @staticmethod
    def commit(staged: Path, final: Path, spec: ImageSpec) -> None:
        """Move a finished staged raw image to ``final`` (``.vrt``) or convert it (``.tif``)."""
        final = Path(final)
        if final.suffix.lower() in GEOTIFF_SUFFIXES:
            geo = geotiff_geo(final, spec)
            with RawImage.open(staged) as source:
                write_geotiff(final, source, crs=geo["crs"], transform=geo["transform"],
                              nodata=spec.nodata)
            return
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(raw_path_for(staged), raw_path_for(final))
        os.replace(staged, final)
        fsync_dir(final.parent)

    def cleanup(self) -> None:
        for folder in self.folders:
            shutil.rmtree(folder, ignore_errors=True)
        self.folders.clear()

    def __enter__(self) -> "Staging":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cleanup()


def run_local(op: LocalOperator, inputs: Mapping[str, Path], outputs: Mapping[str, Path], *,
              tile_shape: tuple[int, int] = (512, 512), threads: int | None = None,
              mem: int | str | None = None, echo: Callable[[str], None] | None = None
              ) -> RunStats:
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
    check_outputs(outputs)
    sources = open_sources(inputs)
    try:
        with Staging() as staging:
            p = Pipeline(tile_shape=tile_shape, mem=mem or DEFAULT_MEM, threads=threads)
            images = p.add(op, **{port: p.source(src, name=port)
                                  for port, src in sources.items()})
            images = images if isinstance(images, tuple) else (images,)
            by_port = dict(zip(op.outputs, images))
            staged = {}
            for port, final in outputs.items():
                geotiff_geo(final, by_port[port].spec)
                staged[port] = staging.stage(final)
                p.output(by_port[port], path=staged[port], name=port)
            result = p.run(echo=echo)
            for port, final in outputs.items():
                image = result[port]
                image.flush()
                image.close()
                staging.commit(staged[port], final, by_port[port].spec)
            return result.stats
    finally:
        close_all(sources)


def run_global(op: GlobalOperator, inputs: Mapping[str, Path], outputs: Mapping[str, Path],
               *, what: str | None = None) -> None:
    """Run global operator ``op``: whole images in, the wanted outputs written.

    Outputs not asked for are written to the staging folder and dropped.
    ``op`` needs only ``outputs``, ``output_spec`` and ``run`` (rank 0 of an
    MPI job passes a stand-in that writes the reconciled tiles).

    Parameters
    ----------
    op : GlobalOperator
    inputs, outputs : mapping
        Port -> path; outputs ``*.vrt`` or ``*.tif``.
    what : str, optional
        How a failure names what ran (default :func:`describe`).

    Raises
    ------
    OperatorError
        The operator failed (its error is ``__cause__``); nothing appears at
        the output paths.
    RunAborted
        The run's control was told to stop while the operator ran
        (:func:`~peppers.ppe.engine.check_stop`): nothing is committed.
    """
    check_outputs(outputs)
    what = what or describe(op)
    sources = open_sources(inputs)
    sinks: dict[str, Any] = {}
    try:
        with Staging() as staging:
            specs = op.output_spec({port: s.spec for port, s in sources.items()})
            for port, final in outputs.items():
                geotiff_geo(final, specs[port])
            staged = {port: staging.stage(final) for port, final in outputs.items()}
            scratch = next(iter(staged.values())).parent
            for port in op.outputs:
                path = staged.get(port) or scratch / f"_unused_{port}.vrt"
                sinks[port] = RawImage.create(path, specs[port])
            with guarded(what):
                op.run(sources, sinks)
            for sink in sinks.values():
                sink.flush()
            close_all(sinks)
            check_stop(what)  # a make stopped meanwhile (SIGTERM, SIGINT) keeps none of it
            for port, final in outputs.items():
                staging.commit(staged[port], final, specs[port])
    finally:
        close_all(sources)
        close_all(sinks)


def run_reduction(op: ReductionOperator, inputs: Mapping[str, Path], *,
                  what: str | None = None) -> dict[str, Any]:
    """Run reduction ``op``; return the mapping it reduced to.

    Raises
    ------
    OperatorError
        The operator failed, or returned something other than a mapping.
    """
    what = what or describe(op)
    sources = open_sources(inputs)
    try:
        with guarded(what):
            result = op.reduce(sources)
    finally:
        close_all(sources)
    if not isinstance(result, dict):
        raise OperatorError(f"{what}: reduce() returned {type(result).__name__}, expected a "
                            "mapping")
    return result
