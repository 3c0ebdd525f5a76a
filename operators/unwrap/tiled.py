"""Tiled unwrapping: overlapping tiles unwrapped independently, then reconciled.

Stream 2 of the 1999 design. Three separate steps, so that the tiles can
later be spread over MPI ranks and reconciled on one:

1. :func:`plan_tiles` cuts the image into overlapping *outer* tiles; each
   owns a *core* (the outer tile minus half of every overlap), and the cores
   tile the image exactly once.
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
   :func:`stitch` then writes each tile's core with its offsets.

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

from peppers.image import Region
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
           labels: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Write every tile's core with its offsets; components numbered by decreasing size."""
    unw = np.full(shape, np.nan, np.float32)
    comps = np.zeros(shape, np.int64)
    for plan, (u, c), off, lab in zip(plans, results, offsets, labels):
        rel = plan.core.relative_to(plan.outer)
        cc = c[rel]
        unw[plan.core.slices] = u[rel] + TWO_PI * off[cc]
        comps[plan.core.slices] = np.where(cc > 0, lab[cc], 0)
    sizes = np.bincount(comps.ravel())
    sizes[0] = 0
    order = np.argsort(-sizes, kind="stable")
    new = np.zeros(sizes.size, np.int32)
    keep = order[sizes[order] > 0]
    new[keep] = np.arange(1, keep.size + 1)
    return unw, new[comps]


def unwrap_tiled(data: np.ndarray, coherence: np.ndarray | None = None, *,
                 method: Callable[..., tuple[np.ndarray, np.ndarray]] | None = None,
                 tile_shape: tuple[int, int] = (1024, 1024), overlap: int = 128,
                 threads: int | None = None, min_votes: int = 10,
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
    tile_shape : (int, int)
        Outer tile shape.
    overlap : int
        Overlap of neighbouring tiles in pixels.
    threads : int, optional
        Worker threads (default: all cores).
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
    plans = plan_tiles(np.shape(data), tile_shape, overlap)

    def one(plan: TilePlan) -> tuple[np.ndarray, np.ndarray]:
        coh = None if coherence is None else coherence[plan.outer.slices]
        return unwrap_tile(method, data[plan.outer.slices], coh, params)

    workers = threads or os.cpu_count() or 1
    if workers == 1 or len(plans) == 1:
        results = [one(p) for p in plans]
    else:
        with ThreadPoolExecutor(workers) as pool:
            results = list(pool.map(one, plans))
    offsets, labels = reconcile(plans, results, min_votes)
    return stitch(np.shape(data), plans, results, offsets, labels)


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
        Outer tile size and overlap in pixels.
    fill_max_hole : int
        Largest enclosed hole interpolated (0: none).
    sources : mapping
        ``interferogram`` and ``coherence`` image sources.
    """

    def __init__(self, label: str, solver: Callable[..., tuple[np.ndarray, np.ndarray]],
                 params: Mapping[str, Any], tile_size: int, overlap: int, fill_max_hole: int,
                 sources: Mapping[str, Any]) -> None:
        self.label, self.solver, self.params = label, solver, dict(params)
        self.fill_max_hole = fill_max_hole
        self.ifg, self.coh = sources["interferogram"], sources["coherence"]
        self.shape = tuple(self.ifg.spec.shape)
        self.nodata = self.params.get("nodata")
        self.plans = plan_tiles(self.shape, (tile_size, tile_size), overlap)

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
        unw, comps = stitch(self.shape, self.plans, list(results), offsets, labels)
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
