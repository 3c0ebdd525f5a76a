"""Tiled unwrapping: overlapping tiles unwrapped independently, then reconciled.

Stream 2 of the 1999 design. Three separate steps, so that the tiles can
later be spread over MPI ranks and reconciled on one:

1. :func:`plan_tiles` cuts the image into overlapping *outer* tiles; each
   owns a *core* (the outer tile minus half of every overlap), and the cores
   tile the image exactly once. :func:`auto_tile_shape` chooses the layout
   from the image shape, the number of workers and the largest tile side
   allowed (the memory bound): the grid of tiles that finishes first when
   the workers take equal tiles in rounds, i.e. the smallest
   ``rounds x tile area`` (so, for 2 workers on a 2048^2 grid with no side
   bound, two 2048 x 1088 tiles: 6 % of the pixels unwrapped twice, where a
   2 x 2 layout repeats 13 % and a 3 x 3 layout leaves one worker idle in
   the last round).
2. :func:`unwrap_tile` is a pure function of the tile's arrays and the
   parameters (one of the three solvers); tiles run in a thread pool (the
   numba kernels release the GIL).
3. :func:`reconcile` chooses an integer number of cycles for every
   *unit* (a component of one tile). Two units that overlap vote, pixel by
   pixel, for the cycle difference ``round((u_a - u_b) / 2 pi)``; the most
   common difference is the relation, the number of pixels voting for it
   its weight. A maximum-weight spanning forest of the unit graph (Kruskal)
   keeps the most reliable relations and fixes the offsets by walking the
   trees; units of one tree become one output component.
   :func:`stitch` then writes each tile's core with its offsets (a nogil
   kernel per tile, in threads; :mod:`._tiled_kernels`).

Costs (2048^2, 4 looks, CPU seconds of one thread, measured on the shared
2-core machine): the MCF set-up (variances, costs, residues) and the flow
solve are linear in the tile area (the searches are local: ~9 nodes settled
per residue), so serially tiles cost what their area costs, plus the
overlap; reconcile takes 0.015 s, stitch 0.1 s before it became a kernel
run per tile. Tiling therefore wins by the threads; its price is the
overlap, which the layout keeps small.

Inside a connected region the stitched phase has no 2 pi jump at a core
border as long as the two tiles agree there up to their offset, which is
what the overlap buys: errors near a tile's edge (where its solver saw no
context) fall outside its core.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from peppers.errors import OperatorError
from peppers.image import Region
from peppers.operators.unwrap import _tiled_kernels as kern
from peppers.operators.unwrap.fill import fill_holes
from peppers.operators.unwrap.masks import wrapped_phase
from peppers.operators.unwrap.residues import TWO_PI


@dataclass(frozen=True)
class TilePlan:
    """One tile: ``outer`` is unwrapped, ``core`` is written to the output."""

    outer: Region
    core: Region


def _starts(size: int, tile: int, overlap: int) -> list[int]:
    """Fewest evenly spaced tile starts with at least ``overlap`` shared pixels."""
    if tile >= size:
        return [0]
    count = -(-(size - overlap) // (tile - overlap))
    return sorted({round(k * (size - tile) / (count - 1)) for k in range(count)})


def plan_tiles(shape: tuple[int, int], tile_shape: tuple[int, int],
               overlap: int) -> list[TilePlan]:
    """Overlapping tiles whose cores partition the image.

    Parameters
    ----------
    shape : (int, int)
        Image shape.
    tile_shape : (int, int)
        Outer tile shape (clipped to the image).
    overlap : int
        Pixels shared by neighbouring outer tiles (at least; the last row
        and column of tiles are aligned to the image edge).

    Returns
    -------
    list of TilePlan

    Raises
    ------
    ValueError
        If the overlap is not smaller than the tile.

    Examples
    --------
    >>> [(t.outer.col, t.core.col, t.core.width) for t in plan_tiles((10, 100), (10, 60), 20)]
    [(0, 0, 50), (40, 50, 50)]
    """
    if overlap < 0 or any(overlap >= t for t, n in zip(tile_shape, shape) if t < n):
        raise ValueError(f"overlap {overlap} must be >= 0 and smaller than the tile {tile_shape}")
    axes = []
    for size, tile in zip(shape, tile_shape):
        tile = min(tile, size)
        starts = _starts(size, tile, overlap)
        bounds = [0] + [(starts[k] + tile + starts[k + 1]) // 2
                        for k in range(len(starts) - 1)] + [size]
        axes.append([(s, tile, bounds[k], bounds[k + 1]) for k, s in enumerate(starts)])
    plans = []
    for rs, rt, r0, r1 in axes[0]:
        for cs, ct, c0, c1 in axes[1]:
            plans.append(TilePlan(Region(rs, cs, rt, ct), Region(r0, c0, r1 - r0, c1 - c0)))
    return plans


#: Tile counts tried beyond ``2 * workers`` per axis: ceiling division can make
#: a few more tiles waste fewer pixels (20 x 1165 in sides <= 700: 5 x 233 = 1165
#: exactly, where 2 x 583 = 1166).
_ROUNDING_SEARCH = 6


def _tile_side(size: int, count: int, overlap: int) -> int:
    """Outer side of ``count`` tiles covering ``size`` pixels with ``overlap``."""
    return size if count == 1 else -(-(size + (count - 1) * overlap) // count)


def _counts(size: int, overlap: int, max_tile: int, extra: int) -> list[int]:
    """Tile counts along one axis whose side fits ``max_tile`` (0: any), ``extra`` beyond the fewest."""
    fewest = 1
    if max_tile and size > max_tile:
        fewest = -(-(size - overlap) // (max_tile - overlap))
    out = []
    for count in range(fewest, fewest + extra + 1):
        side = _tile_side(size, count, overlap)
        if count == 1 or side > 2 * overlap:
            out.append(count)
    return out


def auto_tile_shape(shape: tuple[int, int], workers: int, overlap: int,
                    max_tile: int = 0) -> tuple[int, int]:
    """Outer tile shape of the layout that ``workers`` finish soonest.

    Among grids of ``ry x rx`` tiles of equal outer shape ``(th, tw)``
    (``th = ceil((M + (ry - 1) overlap) / ry)``, sides at most ``max_tile``,
    every split tile longer than twice the overlap), the one with the
    smallest ``ceil(ry rx / workers) th tw`` (work of the busiest worker
    when tiles go out in rounds), then the smallest total area, then the
    fewest tiles.

    Parameters
    ----------
    shape : (int, int)
        Image shape.
    workers : int
        Threads or ranks the tiles are spread over.
    overlap : int
        Overlap of neighbouring tiles.
    max_tile : int
        Largest outer side (the memory bound; 0: none).

    Returns
    -------
    (int, int)
        Outer tile shape for :func:`plan_tiles`.

    Raises
    ------
    ValueError
        If no tile side at most ``max_tile`` leaves room beyond the overlap.

    Examples
    --------
    >>> auto_tile_shape((2048, 2048), 2, 128)
    (2048, 1088)
    >>> auto_tile_shape((2048, 2048), 1, 128)
    (2048, 2048)
    >>> auto_tile_shape((1200, 4000), 2, 256, max_tile=2048)
    (1200, 1192)
    """
    if max_tile and max_tile <= 2 * overlap and max_tile < max(shape):
        raise ValueError(f"tile side {max_tile} must exceed twice the overlap {overlap} "
                         f"to tile a {shape[0]} x {shape[1]} image; raise the tile size "
                         f"or lower the overlap")
    workers = max(1, int(workers))
    best = None
    extra = 2 * workers + _ROUNDING_SEARCH
    for ry in _counts(shape[0], overlap, max_tile, extra):
        for rx in _counts(shape[1], overlap, max_tile, extra):
            th, tw = _tile_side(shape[0], ry, overlap), _tile_side(shape[1], rx, overlap)
            rounds = -(-(ry * rx) // workers)
            key = (rounds * th * tw, ry * rx * th * tw, ry * rx)
            if best is None or key < best[0]:
                best = (key, (th, tw))
    if best is None:
        raise ValueError(f"no tiling of a {shape[0]} x {shape[1]} image with overlap {overlap} "
                         f"and tile side <= {max_tile}; raise the tile size or lower the overlap")
    return best[1]


def unwrap_tile(method: Callable[..., tuple[np.ndarray, np.ndarray]], data: np.ndarray,
                coherence: np.ndarray | None, params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Unwrap one tile: a pure function of its arrays and the parameters."""
    return method(data, coherence, **params)


def reconcile(plans: list[TilePlan], results: list[tuple[np.ndarray, np.ndarray]],
              min_votes: int = 10) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Integer cycle offsets and merged labels of every tile component.

    Parameters
    ----------
    plans : list of TilePlan
    results : list of (unwrapped, components)
        Per tile, on its outer region.
    min_votes : int
        Relations with fewer agreeing pixels are not used.

    Returns
    -------
    offsets : list of int64 arrays
        Per tile, indexed by the tile's component label (entry 0 unused):
        cycles to add.
    labels : list of int64 arrays
        Per tile, indexed the same way: the merged unit (tree) number, >= 1.
    """
    base = np.cumsum([0] + [int(r[1].max(initial=0)) for r in results])
    n_units = int(base[-1])
    rel_a, rel_b, rel_n, rel_w = [], [], [], []
    for a in range(len(plans)):
        for b in range(a + 1, len(plans)):
            inter = plans[a].outer.intersection(plans[b].outer)
            if inter.is_empty:
                continue
            sa = inter.relative_to(plans[a].outer)
            sb = inter.relative_to(plans[b].outer)
            ua, ca = results[a][0][sa], results[a][1][sa]
            ub, cb = results[b][0][sb], results[b][1][sb]
            both = (ca > 0) & (cb > 0)
            if not both.any():
                continue
            n = np.rint((ua[both] - ub[both]) / TWO_PI).astype(np.int64)
            la, lb = ca[both].astype(np.int64), cb[both].astype(np.int64)
            # one int64 key per (la, lb, n) vote, in the lexicographic order of the triple
            n0, span_n, span_b = n.min(), int(n.max() - n.min()) + 1, int(lb.max()) + 1
            uniq, counts = np.unique((la * span_b + lb) * span_n + (n - n0), return_counts=True)
            pair, nn = np.divmod(uniq, span_n)
            # most votes per pair, the smallest n among ties (as the triple order gives)
            order = np.lexsort((-counts, pair))
            first = np.r_[True, pair[order][1:] != pair[order][:-1]]
            for k in order[first]:
                if counts[k] >= min_votes:
                    rel_a.append(base[a] + int(pair[k] // span_b) - 1)
                    rel_b.append(base[b] + int(pair[k] % span_b) - 1)
                    rel_n.append(int(nn[k] + n0))
                    rel_w.append(int(counts[k]))
    parent = np.arange(n_units)

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    adj: list[list[tuple[int, int]]] = [[] for _ in range(n_units)]
    for idx in np.argsort(-np.asarray(rel_w, np.int64), kind="stable"):
        a, b = find(rel_a[idx]), find(rel_b[idx])
        if a != b:
            parent[a] = b
            # u_a - u_b ~ 2 pi n  =>  offset_b = offset_a + n
            adj[rel_a[idx]].append((rel_b[idx], rel_n[idx]))
            adj[rel_b[idx]].append((rel_a[idx], -rel_n[idx]))
    offset = np.zeros(n_units, np.int64)
    tree = np.zeros(n_units, np.int64)
    n_trees = 0
    for root in range(n_units):
        if tree[root]:
            continue
        n_trees += 1
        tree[root] = n_trees
        stack = [root]
        while stack:
            u = stack.pop()
            for v, nn in adj[u]:
                if not tree[v]:
                    tree[v] = n_trees
                    offset[v] = offset[u] + nn
                    stack.append(v)
    offsets = [np.concatenate([[0], offset[base[t]:base[t + 1]]]) for t in range(len(plans))]
    labels = [np.concatenate([[0], tree[base[t]:base[t + 1]]]) for t in range(len(plans))]
    return offsets, labels


def stitch(shape: tuple[int, int], plans: list[TilePlan],
           results: list[tuple[np.ndarray, np.ndarray]], offsets: list[np.ndarray],
           labels: list[np.ndarray], threads: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Write every tile's core with its offsets; components numbered by decreasing size.

    The cores are disjoint, so with ``threads`` > 1 they are written from
    threads at once (:func:`._tiled_kernels.write_core` releases the GIL).
    """
    unw = np.empty(shape, np.float32)
    comps = np.empty(shape, np.int32)

    def one(t: int) -> None:
        plan, (u, c), off, lab = plans[t], results[t], offsets[t], labels[t]
        rel = plan.core.relative_to(plan.outer)
        kern.write_core(unw, comps, np.ascontiguousarray(u, np.float32), np.ascontiguousarray(c),
                        off, lab, plan.core.row, plan.core.col, rel[0].start, rel[1].start,
                        plan.core.height, plan.core.width)

    _map(one, range(len(plans)), threads)
    kern.renumber(comps, max((int(lab.max(initial=0)) for lab in labels), default=0))
    return unw, comps


def _map(f: Callable[[Any], Any], items: Sequence[Any], threads: int) -> list[Any]:
    """``[f(x) for x in items]``, in a pool of ``threads`` threads when that is above 1."""
    if threads <= 1 or len(items) <= 1:
        return [f(x) for x in items]
    with ThreadPoolExecutor(min(threads, len(items))) as pool:
        return list(pool.map(f, items))


def unwrap_tiled(data: np.ndarray, coherence: np.ndarray | None = None, *,
                 method: Callable[..., tuple[np.ndarray, np.ndarray]] | None = None,
                 tile_shape: tuple[int, int] | None = None, overlap: int = 128,
                 threads: int | None = None, max_tile: int = 0, min_votes: int = 10,
                 **params: Any) -> tuple[np.ndarray, np.ndarray]:
    """Unwrap on overlapping tiles in threads and reconcile the cycle offsets.

    Parameters
    ----------
    data : ndarray (M, N)
        Complex interferogram or wrapped phase.
    coherence : ndarray (M, N), optional
    method : callable, optional
        ``method(data, coherence, **params) -> (unwrapped, components)``;
        default :func:`.mcf.unwrap_mcf`.
    tile_shape : (int, int), optional
        Outer tile shape; default :func:`auto_tile_shape` for ``threads``
        workers and sides at most ``max_tile``.
    overlap : int
        Overlap of neighbouring tiles in pixels.
    threads : int, optional
        Worker threads (default: all cores).
    max_tile : int
        Largest outer tile side of the automatic layout (0: none).
    min_votes : int
        Fewest agreeing overlap pixels that link two tile components.
    **params
        Passed to ``method``.

    Returns
    -------
    unwrapped : float32 ndarray (M, N)
    components : int32 ndarray (M, N)

    References
    ----------
    Chen, C. W. & Zebker, H. A. (2002). Phase unwrapping for large SAR
    interferograms: statistical segmentation and generalized network
    models. IEEE TGRS 40(8), 1709-1719 (tiles joined by a secondary problem;
    here the secondary problem is a maximum-weight spanning forest).
    """
    if method is None:
        from peppers.operators.unwrap.mcf import unwrap_mcf as method
    workers = threads or os.cpu_count() or 1
    if tile_shape is None:
        tile_shape = auto_tile_shape(np.shape(data), workers, overlap, max_tile)
    plans = plan_tiles(np.shape(data), tile_shape, overlap)

    def one(plan: TilePlan) -> tuple[np.ndarray, np.ndarray]:
        coh = None if coherence is None else coherence[plan.outer.slices]
        return unwrap_tile(method, data[plan.outer.slices], coh, params)

    results = _map(one, plans, workers)
    offsets, labels = reconcile(plans, results, min_votes)
    return stitch(np.shape(data), plans, results, offsets, labels, workers)


class UnwrapTiles:
    """Tiled unwrapping of stored images as independent tiles and one final step.

    The one tiled path of the unwrapping operators
    (:mod:`peppers.operators.unwrap.unwrappers`): their ``run`` computes the
    tiles in threads (:func:`compute_tiles`), MPI ranks compute them across
    the job (:func:`peppers.ppe.mpi.tiled.run_tiled`); :meth:`finish`
    reconciles, stitches, fills holes and writes either way. Each tile is a
    pure function of its outer region of the inputs and the parameters.

    Parameters
    ----------
    label : str
        The operator's name, for messages.
    solver : callable
        ``solver(data, coherence, **params) -> (unwrapped, components)``.
    params : mapping
        The solver's parameters (``nodata`` included).
    tile_size, overlap : int
        Largest outer tile side and overlap in pixels. An image that fits
        one tile is unwrapped whole (the untiled result, within the memory
        bound); a larger one on the layout of :func:`auto_tile_shape` for
        ``tile_workers``.
    fill_max_hole : int
        Largest enclosed hole interpolated (0: none).
    sources : mapping
        ``interferogram`` and ``coherence`` image sources.
    tile_workers : int
        Workers the layout is balanced for (:func:`auto_tile_shape`). A
        run parameter, not the machine's core count or the MPI ranks, so
        that the tiles, and with them the result, are the same on every
        executor.
    threads : int, optional
        Threads of the stitch step (default: all cores).

    Raises
    ------
    OperatorError
        If no layout fits ``tile_size`` with ``overlap``.
    """

    def __init__(self, label: str, solver: Callable[..., tuple[np.ndarray, np.ndarray]],
                 params: Mapping[str, Any], tile_size: int, overlap: int, fill_max_hole: int,
                 sources: Mapping[str, Any], tile_workers: int = 2,
                 threads: int | None = None) -> None:
        self.label, self.solver, self.params = label, solver, dict(params)
        self.fill_max_hole = fill_max_hole
        self.ifg, self.coh = sources["interferogram"], sources["coherence"]
        self.shape = tuple(self.ifg.spec.shape)
        self.nodata = self.params.get("nodata")
        self.threads = threads or os.cpu_count() or 1
        tile_shape = self.shape
        if tile_size < max(self.shape):
            try:
                tile_shape = auto_tile_shape(self.shape, tile_workers, overlap, tile_size)
            except ValueError as err:
                raise OperatorError(f"{label}: {err}") from None
        self.plans = plan_tiles(self.shape, tile_shape, overlap)

    def __len__(self) -> int:
        return len(self.plans)

    def describe(self, index: int) -> str:
        return f"tile {index} (outer {self.plans[index].outer})"

    def compute(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Unwrap tile ``index`` from its outer region of the inputs."""
        outer = self.plans[index].outer
        return unwrap_tile(self.solver, self.ifg.read(outer), self.coh.read(outer), self.params)

    def finish(self, results: Sequence[tuple[np.ndarray, np.ndarray]],
               sinks: Mapping[str, Any]) -> None:
        """Reconcile, stitch, fill holes and write ``unwrapped`` and ``components``."""
        offsets, labels = reconcile(self.plans, list(results))
        unw, comps = stitch(self.shape, self.plans, list(results), offsets, labels,
                            self.threads)
        full = Region.full(self.shape)
        if self.fill_max_hole > 0:
            unw, comps = fill_holes(unw, comps, wrapped_phase(self.ifg.read(full), self.nodata),
                                    self.fill_max_hole)
        write_rows(sinks, {"unwrapped": unw, "components": comps})


def compute_tiles(job: Any, threads: int | None = None) -> list[Any]:
    """Every tile of ``job`` in tile order, computed in ``threads`` threads (default all cores)."""
    workers = threads or os.cpu_count() or 1
    if workers == 1 or len(job) == 1:
        return [job.compute(i) for i in range(len(job))]
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(job.compute, range(len(job))))


def write_rows(sinks: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
    """Write whole-image ``arrays`` to their sinks in blocks of rows (16 MiB of float32)."""
    full = Region.full(next(iter(arrays.values())).shape)
    rows = max(1, (1 << 24) // max(1, full.width * 4))
    for r0 in range(0, full.height, rows):
        block = Region(r0, 0, min(rows, full.height - r0), full.width)
        for port, array in arrays.items():
            sinks[port].write(block, array[block.slices])
