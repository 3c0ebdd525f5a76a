"""The tile plan: which tiles of which node a stream computes, and who reads them.

Policy
------
Every operator node has its own :class:`~peppers.image.region.TileGrid` over
its output image, with the stream's tile shape. The *tasks* of a stream are
the tiles of the target nodes, in row-major stripes (sorted by the tile's
top-left pixel, targets interleaved), so that consecutive tasks share
upstream tiles while they are still cached (several workers take each
stripe in parts, :meth:`Plan.spread`); a target node with several
target ports is one task per tile, which writes all of them (several
targets, one pass).

A tile of an operator node needs, for each input port, the region its
operator's ``input_region`` asks for. That region is answered from the
upstream image: :func:`~peppers.ppe.edges.source_region` says which pixels
are read (clipped, or mirrored for ``reflect``), and those pixels are
assembled from the upstream node's covering tiles -- never by asking the
upstream operator for an enlarged chunk, so halos are never copied into new
chunks and the halos of neighbouring tiles are served by the same cached
upstream tiles. Stored sources are read directly.

Walking the nodes from the last to the first (graph order is topological),
the plan counts for every upstream tile how many reads the given tasks will
make of it: its *refcount*. The engine evicts a tile after its last read.

The plan is deterministic and light: tasks are ``(node, tile)`` integer
pairs and a task is named by its index in :attr:`Plan.tasks`, so another
executor (MPI ranks) can rebuild the same plan and hand out task indices.

Glossary
--------
task
    One tile of a target node: compute it, write its target ports.
request
    One input port of one node tile: the region asked for, the pixels read
    and the upstream tiles covering them (:class:`Request`).
refcount
    Number of reads still to come of one node tile.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from typing import Iterable, NamedTuple, Sequence

from peppers.image import Region, TileGrid
from peppers.ppe.edges import source_region
from peppers.ppe.estimate import Estimate, estimate
from peppers.ppe.graph import Graph, OpNode, Ref

#: Default tile shape (rows, cols).
DEFAULT_TILE = (512, 512)


class Request(NamedTuple):
    """What one input port of one node tile needs."""

    port: str
    ref: Ref
    region: Region
    source: Region
    tiles: tuple[int, ...]


class Plan:
    """Tile grids, tasks and requests of one stream.

    Parameters
    ----------
    graph : Graph
        The stream graph.
    targets : sequence of Ref
        The images to produce (operator outputs).
    tile_shape : tuple of int
        Nominal tile shape (rows, cols) of every operator node.

    Raises
    ------
    ValueError
        If there are no targets, a target is not an operator output, it is
        given twice, or a multi-output operator's outputs differ in shape.
    """

    def __init__(self, graph: Graph, targets: Sequence[Ref],
                 tile_shape: tuple[int, int] = DEFAULT_TILE) -> None:
        self.graph = graph
        self.tile_shape = (int(tile_shape[0]), int(tile_shape[1]))
        if min(self.tile_shape) <= 0:
            raise ValueError(f"tile shape must be positive, got {tile_shape}")
        self.targets = [Ref(*t) for t in targets]
        if not self.targets:
            raise ValueError("a stream needs at least one target image")
        if len(set(self.targets)) != len(self.targets):
            raise ValueError(f"a target is given twice: {self.targets}")
        self.grids: dict[int, TileGrid] = {}
        for n, node in enumerate(graph.nodes):
            if isinstance(node, OpNode):
                shapes = {spec.shape for spec in node.specs.values()}
                if len(shapes) != 1:
                    raise ValueError(f"operator {node.name!r}: output ports differ in shape "
                                     f"{sorted(shapes)}; one tile must cover all ports")
                self.grids[n] = TileGrid(shapes.pop(), self.tile_shape)
        self.target_ports: dict[int, tuple[str, ...]] = {}
        for ref in self.targets:
            graph.spec(ref)
            if ref.node not in self.grids:
                raise ValueError(f"target {graph.nodes[ref.node].name!r} is a stored source, "
                                 "not an operator output")
            self.target_ports[ref.node] = self.target_ports.get(ref.node, ()) + (ref.port,)
        order = list(self.target_ports)
        tasks = [(n, i) for n in order for i in range(len(self.grids[n]))]
        tasks.sort(key=lambda t: (self.grids[t[0]].tile(t[1]).row,
                                  self.grids[t[0]].tile(t[1]).col, order.index(t[0])))
        #: ``(node, tile)`` of every task, in run order.
        self.tasks: tuple[tuple[int, int], ...] = tuple(tasks)
        self._requests: dict[tuple[int, int], tuple[Request, ...]] = {}

    # -- requests -----------------------------------------------------------
    def tile(self, node: int, index: int) -> Region:
        """Region of tile ``index`` of operator node ``node``."""
        return self.grids[node].tile(index)

    def requests(self, node: int, index: int) -> tuple[Request, ...]:
        """The input requests of tile ``index`` of operator node ``node`` (memoised)."""
        key = (node, index)
        found = self._requests.get(key)
        if found is None:
            found = self._requests[key] = self._make_requests(node, index)
        return found

    def _make_requests(self, node: int, index: int) -> tuple[Request, ...]:
        op_node = self.graph.nodes[node]
        tile = self.grids[node].tile(index)
        in_specs = {port: self.graph.spec(ref) for port, ref in op_node.inputs.items()}
        asked = op_node.op.input_region(tile, in_specs)
        mode = type(op_node.op).edge_mode
        requests = []
        for port, ref in op_node.inputs.items():
            region = asked.get(port) if hasattr(asked, "get") else None
            if not isinstance(region, Region):
                raise ValueError(f"operator {op_node.name!r}: input_region gave no Region for "
                                 f"port {port!r} on tile {index} {tile}")
            src = source_region(region, in_specs[port].shape, mode)
            tiles = () if self.graph.is_source(ref.node) else tuple(
                self.grids[ref.node].covering(src))
            requests.append(Request(port, ref, region, src, tiles))
        return tuple(requests)

    # -- refcounts ----------------------------------------------------------
    def refcounts(self, tasks: Iterable[int] | None = None) -> dict[int, dict[int, int]]:
        """Reads per operator-node tile made by ``tasks`` (default: all tasks).

        A target tile counts one read for its write, plus one per
        downstream request that covers it.

        Returns
        -------
        dict
            ``{node: {tile: reads}}`` for every operator node; tiles that no
            task needs are absent.
        """
        chosen = range(len(self.tasks)) if tasks is None else tasks
        counts: dict[int, dict[int, int]] = {n: {} for n in self.grids}
        for k in chosen:
            n, i = self.tasks[k]
            counts[n][i] = counts[n].get(i, 0) + 1
        for n in sorted(self.grids, reverse=True):
            for i in counts[n]:
                for req in self.requests(n, i):
                    up = counts.get(req.ref.node)
                    if up is None:
                        continue
                    for j in req.tiles:
                        up[j] = up.get(j, 0) + 1
        return counts

    # -- order on several workers -------------------------------------------
    def spread(self, tasks: Sequence[int], workers: int) -> list[int]:
        """``tasks`` in an order for ``workers`` threads that keeps them out of each other's way.

        Neighbouring tasks of a stripe need some of the same new upstream
        tiles (the halo of one is the edge of the other), so two workers
        taking neighbours at once wait for each other's computation of those
        tiles. So each stripe (a run of tasks on one tile row; stripes keep
        their order) is cut into ``workers`` contiguous parts taken in turn
        -- ``a0, b0, a1, b1, ...`` for two parts ``a`` and ``b``; with eight
        tiles a stripe and two workers ``0, 4, 1, 5, 2, 6, 3, 7`` -- and the
        workers, taking tasks in this order, walk separate parts of the
        stripe, as far apart as the stripe allows. Memory stays that of
        row-major order: the tiles of the stripe below are held until the
        next stripe in both orders.

        Parameters
        ----------
        tasks : sequence of int
            Task indices, in plan order.
        workers : int
            Threads that will run them; 1 keeps the order.

        Returns
        -------
        list of int
            The same task indices, reordered.
        """
        stripes: list[list[int]] = []
        last_row = None
        for k in tasks:
            row = self.tile(*self.tasks[k]).row
            if row != last_row:
                stripes.append([])
                last_row = row
            stripes[-1].append(k)
        order = []
        for stripe in stripes:
            size = -(-len(stripe) // max(1, workers))
            parts = [stripe[i:i + size] for i in range(0, len(stripe), size)]
            order.extend(k for turn in itertools.zip_longest(*parts) for k in turn
                         if k is not None)
        return order

    # -- summaries ----------------------------------------------------------
    def signature(self) -> str:
        """A hash of the plan: shapes, tile shape, operators, versions, parameters.

        A journal written under another signature is never resumed.
        """
        text = json.dumps({"tile_shape": list(self.tile_shape),
                           "nodes": self.graph.describe(),
                           "targets": [list(t) for t in self.targets]}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def estimate(self, mem: int | str | None = None, threads: int | None = None,
                 tasks: Iterable[int] | None = None) -> "Estimate":
        """Tiles, cache working sets, per-cache budgets and peak memory before a run.

        See :func:`peppers.ppe.estimate.estimate`.
        """
        return estimate(self, mem=mem, threads=threads, tasks=tasks)

    def node_name(self, node: int) -> str:
        return self.graph.nodes[node].name
