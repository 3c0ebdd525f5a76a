"""The stream graph: sources and local operators wired port to port.

A stream is a directed acyclic graph. Its nodes are numbered in the order
they are added, and a node may only read nodes added before it, so the
numbering is a topological order by construction (no cycle can be built,
and the planner walks nodes backwards to visit every consumer of a node
before the node itself).

``SourceNode``
    A stored image: anything with ``.spec`` and ``.read(region)`` (a
    :class:`~peppers.io.raw.RawImage`, a GDAL source, an in-memory array).
    Its single port is ``"output"``.
``OpNode``
    A :class:`~peppers.operator.LocalOperator` and, for each of its
    input ports, the :class:`Ref` (node, port) it reads. Output specs are
    derived once, when the node is added.

A :class:`Ref` names one image of the stream. The graph holds no tiles and
no run state; :mod:`peppers.ppe.plan` turns it into tile requests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, NamedTuple

from peppers.image import ImageSource, ImageSpec
from peppers.operator import LocalOperator, Operator
from peppers.ppe.edges import check_mode


class Ref(NamedTuple):
    """One image of a stream: output ``port`` of node number ``node``."""

    node: int
    port: str


@dataclass(eq=False)
class SourceNode:
    """A stored input image."""

    name: str
    source: ImageSource
    specs: dict[str, ImageSpec] = field(init=False)

    def __post_init__(self) -> None:
        self.specs = {"output": self.source.spec}

    def describe(self) -> dict[str, Any]:
        path = getattr(self.source, "path", None)
        return {"source": self.name, "path": None if path is None else str(path),
                "spec": _describe_spec(self.source.spec)}


@dataclass(eq=False)
class OpNode:
    """A local operator reading its input ports from earlier nodes."""

    name: str
    op: LocalOperator
    inputs: dict[str, Ref]
    specs: dict[str, ImageSpec]

    def describe(self) -> dict[str, Any]:
        cls = type(self.op)
        return {"operator": f"{cls.__module__}.{cls.__qualname__}", "name": self.name,
                "version": cls.version, "params": {k: repr(v) for k, v in
                                                   self.op.param_values().items()},
                "edge_mode": cls.edge_mode, "halo": list(cls.halo),
                "inputs": {p: list(r) for p, r in self.inputs.items()},
                "specs": {p: _describe_spec(s) for p, s in self.specs.items()}}


def _describe_spec(spec: ImageSpec) -> list:
    return [list(spec.shape), spec.dtype.str, repr(spec.nodata)]


class Graph:
    """Nodes of one stream, in topological order.

    Examples
    --------
    >>> import numpy as np
    >>> from peppers.io.source import ArraySource
    >>> from peppers.ppe.testing import Scale
    >>> g = Graph()
    >>> src = g.add_source(ArraySource(np.ones((4, 5), "f4")))
    >>> out = g.add_operator(Scale(factor=2.0), {"input": src})["output"]
    >>> g.spec(out).shape
    (4, 5)
    """

    def __init__(self) -> None:
        self.nodes: list[SourceNode | OpNode] = []
        self._names: set[str] = set()

    def _name(self, wanted: str | None, default: str) -> str:
        name = wanted or default
        if wanted is None and name in self._names:
            name = f"{default}{len(self.nodes)}"
        if name in self._names:
            raise ValueError(f"stream graph: node name {name!r} is used twice; pass another name=")
        self._names.add(name)
        return name

    def add_source(self, source: ImageSource, name: str | None = None) -> Ref:
        """Add a stored image; return its :class:`Ref`.

        Its default name is the file's stem when it has a ``path``.
        """
        if not hasattr(source, "spec") or not callable(getattr(source, "read", None)):
            raise TypeError(f"stream graph: a source needs .spec and .read(region), "
                            f"got {type(source).__name__}")
        path = getattr(source, "path", None)
        default = "source" if path is None else Path(path).name.split(".")[0] or "source"
        self.nodes.append(SourceNode(self._name(name, default), source))
        return Ref(len(self.nodes) - 1, "output")

    def add_operator(self, op: Operator, inputs: Mapping[str, Ref],
                     name: str | None = None) -> dict[str, Ref]:
        """Add a local operator reading ``inputs`` (port -> Ref); return its outputs.

        Raises
        ------
        TypeError
            If ``op`` is not a local operator (global and reduction operators
            are stream boundaries and run on stored images).
        ValueError
            If the input ports do not match ``op.inputs``, a Ref names no
            image, or ``op.output_spec`` does not give every output port.
        """
        label = getattr(op, "label", type(op).__name__)
        if not isinstance(op, LocalOperator):
            kind = getattr(op, "kind", "?")
            raise TypeError(f"stream graph: {label} is a {kind!r} operator; only local "
                            "operators run inside a stream (global and reduction "
                            "operators are boundaries)")
        check_mode(type(op).edge_mode, label)
        if set(inputs) != set(op.inputs):
            raise ValueError(f"stream graph: {label} has input ports {list(op.inputs)}, "
                             f"got {sorted(inputs)}")
        wired = {port: Ref(*inputs[port]) for port in op.inputs}
        in_specs = {port: self.spec(ref) for port, ref in wired.items()}
        specs = dict(op.output_spec(in_specs))
        if set(specs) != set(op.outputs):
            raise ValueError(f"stream graph: {label}.output_spec gave ports {sorted(specs)}, "
                             f"declared outputs are {list(op.outputs)}")
        node = OpNode(self._name(name, label), op, wired,
                      {port: specs[port] for port in op.outputs})
        self.nodes.append(node)
        return {port: Ref(len(self.nodes) - 1, port) for port in op.outputs}

    def spec(self, ref: Ref) -> ImageSpec:
        """The spec of the image ``ref`` names."""
        node, port = ref
        if not 0 <= node < len(self.nodes) or port not in self.nodes[node].specs:
            raise ValueError(f"stream graph: no image {port!r} of node {node}")
        return self.nodes[node].specs[port]

    def is_source(self, node: int) -> bool:
        return isinstance(self.nodes[node], SourceNode)

    def describe(self) -> list[dict[str, Any]]:
        """A JSON-able description of every node (for the plan signature)."""
        return [node.describe() for node in self.nodes]
