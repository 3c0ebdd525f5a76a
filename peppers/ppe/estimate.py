"""The memory model: estimate a stream before it runs, and split the budget.

One knob, ``mem``, bounds the bytes held in tile caches. Before a stream
starts, :func:`estimate` replays the plan's task order on one thread with
the engine's cache policy (store a tile only while more than one read of it
remains, drop it after its last read) and records, per operator node, the
peak bytes its cache holds: the node's *working set*. Halo overlap between
neighbouring tile rows makes this about one to three tile stripes per node.

The budget is then split across the caches in proportion to the working
sets: when they fit, every cache gets its working set plus a proportional
share of the slack (room for the extra tiles threads keep in flight); when
they do not, every cache gets the same fraction of its working set and LRU
eviction enforces it (evicted tiles are recomputed when needed again:
slower, never wrong). Nodes whose tiles are read once get no cache.

Peak memory = cache bytes (the smaller of the working sets and the budget)
+ threads x the working memory of one task (each node's input regions and
output tile for one tile of the chain).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Iterator

from peppers.ppe.cache import DEFAULT_MEM, format_bytes, parse_mem
from peppers.ppe.executor import default_threads

if TYPE_CHECKING:  # pragma: no cover
    from peppers.ppe.plan import Plan


@dataclass(frozen=True)
class Estimate:
    """What a stream will do and hold, computed before it runs.

    Attributes
    ----------
    tasks : int
        Target tiles to produce.
    computations : dict
        Node name -> tile computations with an ample budget.
    working_sets : dict
        Node index -> peak bytes its cache holds with an ample budget.
    budgets : dict
        Node index -> cache budget in bytes (0: no cache).
    cache_peak : int
        Peak bytes of all caches together with an ample budget.
    per_task : int
        Working bytes of one task (inputs and outputs along the chain).
    mem, threads : int
        The budget and thread count the estimate is for.
    """

    tasks: int
    computations: dict[str, int]
    working_sets: dict[int, int]
    budgets: dict[int, int]
    cache_peak: int
    per_task: int
    mem: int
    threads: int

    @property
    def peak_bytes(self) -> int:
        """Estimated peak bytes of tile data (caches plus tasks in flight)."""
        return min(self.cache_peak, self.mem) + self.threads * self.per_task

    def __str__(self) -> str:
        ops = len(self.computations)
        total = sum(self.computations.values())
        caches = sum(1 for b in self.budgets.values() if b)
        return (f"{self.tasks} output tiles, {total} tile computations over {ops} "
                f"operator(s); {caches} cache(s) holding at most "
                f"{format_bytes(min(self.cache_peak, self.mem))} (budget "
                f"{format_bytes(self.mem)}); {self.threads} thread(s) x "
                f"{format_bytes(self.per_task)} working; estimated peak "
                f"{format_bytes(self.peak_bytes)}")


def _tile_bytes(plan: "Plan", node: int, index: int) -> int:
    size = plan.tile(node, index).size
    return size * sum(s.dtype.itemsize for s in plan.graph.nodes[node].specs.values())


def _replay(plan: "Plan", order: list[int]) -> tuple[dict[int, int], dict[int, int], int]:
    """Replay ``order`` on one thread; working sets, computations, total peak."""
    refs = plan.refcounts(order)
    resident: dict[int, set[int]] = {n: set() for n in plan.grids}
    held = {n: 0 for n in plan.grids}
    peak = dict(held)
    computed = dict(held)
    total = [0, 0]

    def release(n: int, i: int) -> None:
        refs[n][i] -= 1
        if refs[n][i] <= 0 and i in resident[n]:
            resident[n].discard(i)
            size = _tile_bytes(plan, n, i)
            held[n] -= size
            total[0] -= size

    def steps(n: int, i: int) -> Iterator[tuple[int, int]]:
        """The visit of tile ``i`` of node ``n``; yields each upstream tile to visit first."""
        if i in resident[n]:
            return
        computed[n] += 1
        for req in plan.requests(n, i):
            if req.ref.node in plan.grids:  # as the engine: gather all, then release
                for j in req.tiles:
                    yield req.ref.node, j
                for j in req.tiles:
                    release(req.ref.node, j)
        if refs[n][i] > 1:
            resident[n].add(i)
            size = _tile_bytes(plan, n, i)
            held[n] += size
            peak[n] = max(peak[n], held[n])
            total[0] += size
            total[1] = max(total[1], total[0])

    def visit(n: int, i: int) -> None:
        # depth-first with an explicit stack: a long chain of operators needs no
        # recursion limit (and the interpreter's limit stays as it is)
        stack = [steps(n, i)]
        while stack:
            child = next(stack[-1], None)
            if child is None:
                stack.pop()
            else:
                stack.append(steps(*child))

    for k in order:
        n, i = plan.tasks[k]
        visit(n, i)
        release(n, i)
    return peak, computed, total[1]


def _per_task(plan: "Plan") -> int:
    """Bytes one task holds: each node's input regions and output, largest tile."""
    total = 0
    for n, grid in plan.grids.items():
        first = 0  # tile 0 is a full-size tile whenever the image has one
        inputs = sum(req.region.size * plan.graph.spec(req.ref).dtype.itemsize
                     for req in plan.requests(n, first))
        total += inputs + _tile_bytes(plan, n, first)
    return total


def split_budget(mem: int, working_sets: dict[int, int]) -> dict[int, int]:
    """Split ``mem`` bytes across caches in proportion to their working sets.

    Parameters
    ----------
    mem : int
        The stream's budget.
    working_sets : dict
        Node -> working-set bytes (0: the node needs no cache).

    Returns
    -------
    dict
        Node -> budget; zero for nodes without a working set.

    Examples
    --------
    >>> split_budget(100, {1: 10, 2: 30, 3: 0})
    {1: 25, 2: 75, 3: 0}
    >>> split_budget(20, {1: 10, 2: 30})
    {1: 5, 2: 15}
    """
    need = sum(working_sets.values())
    if need == 0:
        return {n: 0 for n in working_sets}
    return {n: mem * ws // need for n, ws in working_sets.items()}


def estimate(plan: "Plan", mem: int | str | None = None, threads: int | None = None,
             tasks: Iterable[int] | None = None) -> Estimate:
    """Estimate a stream's tiles and memory, and the cache budgets to use.

    Parameters
    ----------
    plan : Plan
        The stream's plan.
    mem : int or str, optional
        The memory budget (bytes or a string like ``"512M"``); default
        :data:`peppers.ppe.cache.DEFAULT_MEM`.
    threads : int, optional
        Threads the run will use; default all cores.
    tasks : iterable of int, optional
        The task indices to run, in plan order (default all; a resumed run
        passes the unfinished ones). They are replayed in the order the
        engine runs them on ``threads`` (:meth:`~peppers.ppe.plan.Plan.spread`).

    Returns
    -------
    Estimate
    """
    budget = parse_mem(DEFAULT_MEM if mem is None else mem)
    threads = threads or default_threads()
    order = list(range(len(plan.tasks)) if tasks is None else tasks)
    # the order the engine submits them in (Plan.spread for several threads)
    working, computed, cache_peak = _replay(plan, plan.spread(order, threads))
    return Estimate(
        tasks=len(order),
        computations={plan.node_name(n): c for n, c in computed.items()},
        working_sets=working, budgets=split_budget(budget, working),
        cache_peak=cache_peak, per_task=_per_task(plan) if order else 0,
        mem=budget, threads=threads)
