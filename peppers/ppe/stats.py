"""Run statistics and progress events of a stream.

The engine fills a :class:`RunStats` while it runs and calls the progress
hook with a :class:`TileEvent` per finished task, from the thread that
called ``run`` (hooks need no locking). The command line draws progress
bars from the events; the run monitor computes the ETA from them and from
the per-operator tile times.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from peppers.image import Region
from peppers.ppe.cache import TileCache, format_bytes


@dataclass(frozen=True)
class TileEvent:
    """One finished task.

    Attributes
    ----------
    task : int
        Index of the task in the plan.
    node : str
        Name of the target node.
    tile : int
        Tile number in the target node's grid.
    region : Region
        The tile.
    seconds : float
        Wall time of the task (its own pull, waits included).
    node_seconds : dict
        Node name -> compute seconds this task spent in that operator.
    done, total : int
        Tasks finished (skipped ones included) and tasks of the stream.
    elapsed : float
        Seconds since the stream started.
    """

    task: int
    node: str
    tile: int
    region: Region
    seconds: float
    node_seconds: dict[str, float]
    done: int
    total: int
    elapsed: float

    @property
    def eta(self) -> float:
        """Seconds left at the rate so far (0 when done)."""
        ran = self.done
        return 0.0 if ran >= self.total or ran == 0 else self.elapsed / ran * (self.total - ran)


@dataclass
class NodeStats:
    """Tile computations of one operator node and their compute time."""

    tiles: int = 0
    seconds: float = 0.0

    @property
    def seconds_per_tile(self) -> float:
        return self.seconds / self.tiles if self.tiles else 0.0


@dataclass
class CacheStats:
    """Counters of one node's tile cache (see :mod:`peppers.ppe.cache`)."""

    budget: int
    hits: int
    shared: int
    misses: int
    direct: int
    evictions: int
    peak_bytes: int

    @classmethod
    def of(cls, cache: TileCache) -> "CacheStats":
        return cls(cache.budget, cache.hits, cache.shared, cache.misses, cache.direct,
                   cache.evictions, cache.peak)

    @property
    def hit_rate(self) -> float:
        """Reads served without computing, among reads that went through the cache."""
        reads = self.hits + self.shared + self.misses
        return (self.hits + self.shared) / reads if reads else 0.0


@dataclass
class RunStats:
    """What a stream did: tasks, per-operator times, cache counters, memory.

    Attributes
    ----------
    total, run, skipped, retries : int
        Tasks of the stream; run now; skipped (done in the journal); retried.
    threads : int
        Workers of the executor.
    wall_seconds : float
        Wall time of the run.
    nodes : dict
        Node name -> :class:`NodeStats`.
    caches : dict
        Node name -> :class:`CacheStats` (nodes with a cache only).
    peak_cache_bytes : int
        Peak bytes held by all caches together.
    """

    total: int = 0
    run: int = 0
    skipped: int = 0
    retries: int = 0
    threads: int = 1
    wall_seconds: float = 0.0
    nodes: dict[str, NodeStats] = field(default_factory=dict)
    caches: dict[str, CacheStats] = field(default_factory=dict)
    peak_cache_bytes: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False,
                                  compare=False)

    def add_compute(self, node: str, seconds: float) -> None:
        """Record one tile computation of ``node`` (thread-safe)."""
        with self._lock:
            entry = self.nodes.setdefault(node, NodeStats())
            entry.tiles += 1
            entry.seconds += seconds

    @property
    def hit_rate(self) -> float:
        """Hit rate over all caches."""
        hits = sum(c.hits + c.shared for c in self.caches.values())
        reads = hits + sum(c.misses for c in self.caches.values())
        return hits / reads if reads else 0.0

    def summary(self) -> str:
        """A small table: per-operator tiles and times, per-cache hit rates."""
        lines = [f"{self.run} of {self.total} tiles run ({self.skipped} skipped, "
                 f"{self.retries} retried) in {self.wall_seconds:.2f} s on "
                 f"{self.threads} thread(s); cache peak {format_bytes(self.peak_cache_bytes)}, "
                 f"hit rate {self.hit_rate:.1%}"]
        for name, node in self.nodes.items():
            line = (f"  {name:<20} {node.tiles:6d} tiles {node.seconds:8.2f} s "
                    f"({1000 * node.seconds_per_tile:.1f} ms/tile)")
            cache = self.caches.get(name)
            if cache is not None:
                line += (f"  cache {format_bytes(cache.peak_bytes)}/"
                         f"{format_bytes(cache.budget)} hits {cache.hits + cache.shared} "
                         f"misses {cache.misses} evicted {cache.evictions}")
            lines.append(line)
        return "\n".join(lines)
