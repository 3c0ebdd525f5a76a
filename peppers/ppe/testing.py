"""Test helpers for code that runs on the engine (compare ITK's
``PipelineMonitorImageFilter``).

:class:`RequestMonitor` is an engine observer: it counts every tile
computation of every node and checks the input regions each computation
requested. ``assert_streaming()`` fails if any local operator, computing a
tile that is only part of its output, asked for the whole of a non-tiny
input image -- the sign of an operator (or an engine)
that does not stream. ``assert_computed_once()`` fails if any tile was
computed twice (no double computation under threads, no recomputation when
the budget is ample).

:func:`whole_image` is the reference a tiled run must equal: the operator's
``compute`` called once on whole arrays, padded by ``numpy.pad`` (not by
the engine's edge code) as its edge mode says.

:class:`Scale` is the smallest useful local operator (pixel-wise), for
examples and tests.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import ClassVar, Mapping

import numpy as np

from peppers.image import ImageSpec, Region
from peppers.operator import LocalOperator, Param
from peppers.ppe.plan import Plan


class RequestMonitor:
    """Counts tile computations and flags whole-image requests (thread-safe).

    Parameters
    ----------
    min_pixels : int
        Input images smaller than this are *tiny*: asking for all of them is
        allowed.

    Examples
    --------
    >>> import numpy as np
    >>> from peppers.ppe import Pipeline
    >>> p = Pipeline(tile_shape=(64, 64), threads=1)
    >>> p.output(p.add(Scale(factor=2.0), p.source(np.ones((200, 100)))), name="out")
    >>> monitor = RequestMonitor()
    >>> _ = p.run(observers=[monitor])
    >>> monitor.assert_streaming(); monitor.assert_computed_once()
    >>> monitor.computations("scale")
    8
    """

    def __init__(self, min_pixels: int = 64 * 64) -> None:
        self.min_pixels = min_pixels
        self.calls: Counter[tuple[int, int]] = Counter()
        self.whole: list[str] = []
        self.largest = 0
        self.plan: Plan | None = None
        self._lock = threading.Lock()

    def start(self, plan: Plan) -> None:
        self.plan = plan

    def computed(self, node: int, tile: int) -> None:
        plan = self.plan
        whole = []
        largest = 0
        partial = len(plan.grids[node]) > 1  # a one-tile image may read everything
        for req in plan.requests(node, tile):
            shape = plan.graph.spec(req.ref).shape
            largest = max(largest, req.region.clip(shape).size)
            if (partial and shape[0] * shape[1] >= self.min_pixels
                    and req.region.contains(Region.full(shape))):
                whole.append(f"{plan.node_name(node)} tile {tile} asked {req.region} for its "
                             f"input {req.port!r}, the whole {shape} image")
        with self._lock:
            self.calls[(node, tile)] += 1
            self.largest = max(self.largest, largest)
            self.whole.extend(whole)

    def computations(self, name: str | None = None) -> int:
        """Tile computations in all, or of the node called ``name``."""
        return sum(count for (node, _), count in self.calls.items()
                   if name is None or self.plan.node_name(node) == name)

    def assert_streaming(self) -> None:
        """Fail if a local operator asked for a whole non-tiny input image."""
        if self.whole:
            raise AssertionError(f"{len(self.whole)} whole-image request(s): {self.whole[0]}")

    def assert_computed_once(self) -> None:
        """Fail if any node tile was computed more than once."""
        twice = sorted((self.plan.node_name(n), t, c) for (n, t), c in self.calls.items() if c > 1)
        if twice:
            raise AssertionError(f"{len(twice)} tile(s) computed more than once, e.g. "
                                 f"{twice[0][0]} tile {twice[0][1]} {twice[0][2]} times")


def padded(image: np.ndarray, region: Region, mode: str, value=0) -> np.ndarray:
    """``region`` of ``image`` extended beyond its edges by ``numpy.pad``.

    ``mode`` is an edge mode: ``reflect`` pads with ``numpy.pad(mode="reflect")``,
    ``constant``/``nodata`` with ``value``.
    """
    pad = max(0, -region.row, -region.col, region.row_stop - image.shape[0],
              region.col_stop - image.shape[1])
    if mode == "reflect":
        big = np.pad(image, pad, mode="reflect")
    else:
        big = np.pad(image, pad, mode="constant", constant_values=value)
    return big[region.shift(pad, pad).slices]


def whole_image(op: LocalOperator, **arrays: np.ndarray) -> dict[str, np.ndarray]:
    """Apply ``op`` once to whole arrays (by input port), edges by ``numpy.pad``.

    The fill value of ``nodata`` is NaN (the arrays carry no no-data value).
    """
    specs = {port: ImageSpec(a.shape, a.dtype) for port, a in arrays.items()}
    shape = op.output_spec(specs)[op.outputs[0]].shape
    full = Region.full(shape)
    asked = op.input_region(full, specs)
    mode = type(op).edge_mode
    value = np.nan if mode == "nodata" else 0
    return op.compute({port: padded(arrays[port], asked[port], mode, value) for port in arrays},
                      full)


class Scale(LocalOperator):
    """Multiply every pixel by ``factor`` (pixel-wise; no halo).

    Examples
    --------
    >>> Scale(factor=3.0).compute({"input": np.ones((1, 2))}, Region(0, 0, 1, 2))["output"]
    array([[3., 3.]])
    """

    name: ClassVar[str] = "scale"
    params = (Param("factor", float, 1.0, "the multiplier"),)

    def compute(self, inputs: Mapping[str, np.ndarray],
                output_region: Region) -> dict[str, np.ndarray]:
        return {"output": inputs["input"] * np.asarray(self.factor, inputs["input"].dtype)}
