"""The script layer: build and run a tile pipeline from Python in a few lines.

Usage
-----
>>> import numpy as np
>>> from peppers.ppe import Pipeline
>>> from peppers.ppe.testing import Scale
>>> a = np.random.default_rng(0).normal(size=(300, 200)).astype("float32")
>>> p = Pipeline(tile_shape=(128, 128), mem="64M", threads=2)
>>> doubled = p.add(Scale(factor=2.0), p.source(a))
>>> tripled = p.add(Scale(factor=1.5), doubled)
>>> p.output(tripled, name="out")                        # in memory
>>> result = p.run()
>>> bool(np.allclose(result["out"], 3 * a)), result.stats.run
(True, 6)

The InSAR operators (``peppers.operators``: interferogram, filters,
coherence, ...) plug in the same way; ``docs/operators.md`` shows a chain.

The pieces:

``Pipeline(tile_shape=(512, 512), mem="512M", threads=None)``
    One stream. ``mem`` is the one memory knob (tile-cache budget);
    ``threads`` defaults to all cores.
``p.source(x, name=None) -> Image``
    A stored input: a numpy array, a path (any raster GDAL opens; our raw
    VRTs open directly) or any object with ``.spec`` and ``.read(region)``.
``p.add(op, *images, name=None, **ports) -> Image | tuple[Image, ...]``
    A local operator; inputs by position (in ``op.inputs`` order) or by
    port name. Returns its output image, or a tuple of them (in
    ``op.outputs`` order) when it has several.
``p.output(image, path=None, name=None)``
    A target: written tile by tile into a raw image at ``path`` (``.vrt``
    header + ``.raw`` pixels; make a GeoTIFF from it with
    :func:`peppers.io.geotiff.write_geotiff`), or kept in memory (small
    cases). All targets are computed in one pass.
``p.estimate() -> Estimate``
    Tiles, cache working sets and peak memory, before running.
``p.run(journal=None, retries=0, progress=None, ...) -> Result``
    Runs the stream. With ``journal`` (a path), finished tiles are recorded
    and a killed run resumes where it stopped. ``Result`` maps output names
    to arrays (memory) or :class:`~peppers.io.raw.RawImage` (files) and has
    ``.stats``.

:func:`apply` runs one operator over arrays tile by tile.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from peppers.image import ImageSpec
from peppers.io.source import ArraySource, open_source
from peppers.operator import Operator
from peppers.ppe.cache import DEFAULT_MEM, parse_mem
from peppers.ppe.engine import Observer, run_stream
from peppers.ppe.estimate import Estimate
from peppers.ppe.executor import Executor
from peppers.ppe.graph import Graph, Ref
from peppers.ppe.journal import TileJournal
from peppers.ppe.plan import DEFAULT_TILE, Plan
from peppers.ppe.stats import RunStats, TileEvent
from peppers.ppe.targets import open_targets


class Image:
    """One image of a pipeline (a handle; holds no pixels)."""

    def __init__(self, pipeline: "Pipeline", ref: Ref) -> None:
        self.pipeline = pipeline
        self.ref = ref

    @property
    def spec(self) -> ImageSpec:
        return self.pipeline.graph.spec(self.ref)

    @property
    def name(self) -> str:
        node = self.pipeline.graph.nodes[self.ref.node]
        return node.name if self.ref.port == "output" else f"{node.name}.{self.ref.port}"

    def __repr__(self) -> str:
        return f"Image({self.name!r}, shape={self.spec.shape}, dtype={self.spec.dtype})"


class Result(Mapping[str, Any]):
    """Outputs of a run by name (arrays, or raw images for file outputs), and stats."""

    def __init__(self, outputs: dict[str, Any], stats: RunStats) -> None:
        self._outputs = outputs
        self.stats = stats

    def __getitem__(self, name: str) -> Any:
        return self._outputs[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._outputs)

    def __len__(self) -> int:
        return len(self._outputs)


class Pipeline:
    """A stream built from Python: sources, local operators, outputs.

    Parameters
    ----------
    tile_shape : tuple of int
        Tile shape (rows, cols) of every operator.
    mem : int or str
        Tile-cache budget, bytes or e.g. ``"512M"``.
    threads : int, optional
        Worker threads; default all cores.
    """

    def __init__(self, *, tile_shape: tuple[int, int] = DEFAULT_TILE,
                 mem: int | str = DEFAULT_MEM, threads: int | None = None) -> None:
        self.graph = Graph()
        self.tile_shape = tuple(tile_shape)
        self.mem = parse_mem(mem)
        self.threads = threads
        self._outputs: dict[str, tuple[Ref, Path | None]] = {}

    def source(self, data: Any, name: str | None = None) -> Image:
        """Add a stored input: an array, a raster path, or an image source."""
        if isinstance(data, (str, os.PathLike)):
            source = open_source(data)
        elif isinstance(data, np.ndarray):
            source = ArraySource(data)
        else:
            source = data
        return Image(self, self.graph.add_source(source, name))

    def add(self, op: Operator, *images: Image, name: str | None = None,
            **ports: Image) -> Image | tuple[Image, ...]:
        """Add operator ``op`` reading ``images`` (by position) and ``ports`` (by name).

        Raises
        ------
        ValueError
            If the inputs do not match ``op.inputs``.
        TypeError
            If an input is not an :class:`Image` of this pipeline, or ``op``
            is not a local operator.
        """
        label = getattr(op, "label", type(op).__name__)
        if len(images) > len(op.inputs):
            raise ValueError(f"{label} takes inputs {list(op.inputs)}, got {len(images)} "
                             "positional images")
        wired = dict(zip(op.inputs, images))
        for port, image in ports.items():
            if port in wired:
                raise ValueError(f"{label}: input {port!r} given twice")
            wired[port] = image
        for port, image in wired.items():
            if not isinstance(image, Image) or image.pipeline is not self:
                raise TypeError(f"{label}: input {port!r} must be an Image of this pipeline, "
                                f"got {type(image).__name__}")
        refs = self.graph.add_operator(op, {p: i.ref for p, i in wired.items()}, name)
        images_out = tuple(Image(self, refs[port]) for port in op.outputs)
        return images_out[0] if len(images_out) == 1 else images_out

    def output(self, image: Image, path: str | os.PathLike | None = None,
               name: str | None = None) -> None:
        """Make ``image`` a target: a raw image at ``path`` (a ``.vrt``), or in memory."""
        if not isinstance(image, Image) or image.pipeline is not self:
            raise TypeError(f"output needs an Image of this pipeline, got {image!r}")
        name = name or (Path(path).name.split(".")[0] if path is not None else image.name)
        if name in self._outputs:
            raise ValueError(f"output name {name!r} is used twice")
        self._outputs[name] = (image.ref, None if path is None else Path(path))

    def plan(self) -> Plan:
        """The tile plan of the outputs declared so far."""
        return Plan(self.graph, [ref for ref, _ in self._outputs.values()], self.tile_shape)

    def estimate(self) -> Estimate:
        """Tiles and memory of a run, before running it."""
        return self.plan().estimate(self.mem, self.threads)

    def run(self, *, journal: str | os.PathLike | None = None, retries: int = 0,
            progress: Callable[[TileEvent], None] | None = None,
            executor: Executor | None = None, observers: Sequence[Observer] = (),
            echo: Callable[[str], None] | None = None, sync_every: float = 1.0) -> Result:
        """Run the stream; see :func:`peppers.ppe.engine.run_stream`.

        Parameters
        ----------
        journal : path-like, optional
            Completion journal; needs every output to be a file. A rerun
            with the same plan skips the tiles already done.
        retries : int
            Tries again a failed tile this many times before stopping.
        progress : callable, optional
            Called with a :class:`~peppers.ppe.stats.TileEvent` per tile.
        executor : Executor, optional
            Default: a thread pool of ``threads``.
        observers : sequence, optional
            E.g. :class:`peppers.ppe.testing.RequestMonitor`.
        echo : callable, optional
            Receives the estimate line (default: logging).
        sync_every : float
            Seconds between flushes of the outputs and journal appends.

        Returns
        -------
        Result
        """
        plan = self.plan()
        resume = None
        if journal is not None:
            in_memory = [n for n, (_, path) in self._outputs.items() if path is None]
            if in_memory:
                raise ValueError(f"a journal needs file outputs; {in_memory} are in memory "
                                 "(pass a path to output())")
            resume = TileJournal(journal, signature=plan.signature(),
                                 n_tiles=len(plan.tasks), sync_each=False)
        try:
            sinks, outputs = self._open_outputs(resume)
            stats = run_stream(plan, sinks, executor=executor, threads=self.threads,
                               mem=self.mem, journal=resume, retries=retries,
                               progress=progress, observers=observers, echo=echo,
                               sync_every=sync_every)
        finally:
            if resume is not None:
                resume.close()
        return Result(outputs, stats)

    def _open_outputs(self, journal: Any) -> tuple[dict[Ref, Any], dict[str, Any]]:
        """Sinks by target and outputs by name; file outputs resume if the journal has tiles."""
        files = {name: (path, self.graph.spec(ref))
                 for name, (ref, path) in self._outputs.items() if path is not None}
        opened, _ = open_targets(files, journal)
        sinks, outputs = {}, {}
        for name, (ref, path) in self._outputs.items():
            spec = self.graph.spec(ref)
            if path is None:
                sink = ArraySource(np.empty(spec.shape, spec.dtype))
                outputs[name] = sink.array
            else:
                sink = outputs[name] = opened[name]
            sinks[ref] = sink
        return sinks, outputs


def apply(op: Operator, *arrays: np.ndarray, tile_shape: tuple[int, int] = DEFAULT_TILE,
          threads: int | None = None, mem: int | str = DEFAULT_MEM,
          **ports: np.ndarray) -> np.ndarray | tuple[np.ndarray, ...]:
    """Run one local operator over in-memory arrays, tile by tile.

    Parameters
    ----------
    op : LocalOperator
        The operator.
    *arrays, **ports : ndarray
        Its inputs, by position or by port name.
    tile_shape, threads, mem
        As for :class:`Pipeline`.

    Returns
    -------
    ndarray or tuple of ndarray
        The output image(s), in ``op.outputs`` order.
    """
    p = Pipeline(tile_shape=tile_shape, mem=mem, threads=threads)
    images = p.add(op, *(p.source(a) for a in arrays),
                   **{port: p.source(a) for port, a in ports.items()})
    images = images if isinstance(images, tuple) else (images,)
    for k, image in enumerate(images):
        p.output(image, name=f"out{k}")
    result = p.run()
    out = tuple(result[f"out{k}"] for k in range(len(images)))
    return out[0] if len(out) == 1 else out
