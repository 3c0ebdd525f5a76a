"""Bounded tile caches with refcount eviction, LRU, and per-tile futures.

One :class:`TileCache` per operator node, keyed on the node's own tile
numbers. The plan tells the cache how many reads of each tile will come
(refcounts); the engine calls :meth:`TileCache.get` to obtain a tile and
:meth:`TileCache.release` after each read.

Tile states
-----------
planned
    The tile has reads to come but has not been computed (or was dropped).
computing
    One thread is computing it; other threads asking for it wait on its
    future instead of computing it again (counted as *shared*).
cached
    Computed and held, because more reads remain. A read is a *hit*.
released
    Its last read happened: dropped at once, whatever the budget.
evicted
    Dropped by LRU while reads remain, because the cache exceeded its
    budget. The next read recomputes it (a *miss* again), and
    ``on_evict(tile)`` lets the engine re-arm the refcounts of the tile's
    own inputs, which that recomputation will read once more (and, for
    inputs no longer held, their inputs in turn).

A tile with at most one read to come is never stored (*direct*): a cache
only ever holds tiles that are reused, through fan-out or halo overlap.

Memory knob
-----------
:func:`parse_mem` reads the one budget (``512M``, ``1G``, bytes); the
planner splits it across caches (:mod:`peppers.ppe.estimate`). A shared
:class:`MemoryMeter` records the bytes held by all caches together and
their peak.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from concurrent.futures import Future
from typing import Any, Callable

#: Default stream memory budget for tile caches.
DEFAULT_MEM = "512M"

_UNITS = {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3, "t": 1024 ** 4}


def parse_mem(value: int | str) -> int:
    """Bytes from an int or a string like ``"512M"``, ``"1.5G"``, ``"800MB"``.

    Units are binary (``1K = 1024``); a bare number is bytes.

    Raises
    ------
    ValueError
        If the value is not understood or negative.

    Examples
    --------
    >>> parse_mem("1G"), parse_mem("512m"), parse_mem(1000)
    (1073741824, 536870912, 1000)
    """
    if isinstance(value, bool):
        raise ValueError(f"memory budget must be bytes or a size like '512M', got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"memory budget must be >= 0, got {value}")
        return value
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([kmgt]?)(?:i?b)?\s*", str(value), re.I)
    if not match:
        raise ValueError(f"memory budget {value!r} is not a size; use e.g. '512M', "
                         "'2G' or a number of bytes")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def format_bytes(n: int) -> str:
    """``n`` bytes as a short human string (binary units)."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


class MemoryMeter:
    """Bytes held by a group of caches, and their peak (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.held = 0
        self.peak = 0

    def add(self, nbytes: int) -> None:
        with self._lock:
            self.held += nbytes
            self.peak = max(self.peak, self.held)


def _nbytes(value: Any) -> int:
    if isinstance(value, dict):
        return sum(getattr(v, "nbytes", 0) for v in value.values())
    return getattr(value, "nbytes", 0)


class TileCache:
    """The tile cache of one node: refcount eviction, LRU budget, futures.

    Parameters
    ----------
    name : str
        Node name (for statistics).
    budget : int
        Bytes this cache may hold.
    refs : dict
        Tile -> reads to come (from :meth:`peppers.ppe.plan.Plan.refcounts`);
        the cache owns and updates it.
    meter : MemoryMeter, optional
        Shared meter of all caches of the stream.
    on_evict : callable, optional
        Called with the tile number when LRU drops a tile that still has
        reads to come (outside the cache lock).
    """

    def __init__(self, name: str, budget: int, refs: dict[int, int],
                 meter: MemoryMeter | None = None,
                 on_evict: Callable[[int], None] | None = None) -> None:
        self.name = name
        self.budget = int(budget)
        self.refs = refs
        self.meter = meter or MemoryMeter()
        self.on_evict = on_evict
        self._lock = threading.Lock()
        self._data: OrderedDict[int, tuple[Any, int]] = OrderedDict()
        self._computing: dict[int, Future] = {}
        self.held = 0
        self.peak = 0
        self.hits = self.shared = self.misses = self.direct = self.evictions = 0

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, tile: int) -> bool:
        return tile in self._data

    def busy(self, tile: int) -> bool:
        """Whether another thread is computing ``tile`` now (a snapshot, no lock).

        The engine asks it to take such tiles last: a worker first computes
        what nobody else is computing, then waits for the rest.
        """
        return tile in self._computing

    def get(self, tile: int, compute: Callable[[], Any]) -> Any:
        """The value of ``tile``: cached, awaited from another thread, or computed.

        ``compute()`` runs in the calling thread; if it raises, the error
        reaches every thread waiting for the tile and nothing is stored.
        """
        owner = False
        with self._lock:
            entry = self._data.get(tile)
            if entry is not None:
                self.hits += 1
                self._data.move_to_end(tile)
                return entry[0]
            future = self._computing.get(tile)
            if future is not None:
                self.shared += 1
            elif self.refs.get(tile, 0) <= 1:
                self.direct += 1
            else:
                self.misses += 1
                future = self._computing[tile] = Future()
                owner = True
        if future is None:
            return compute()
        if not owner:
            return future.result()
        try:
            value = compute()
        except BaseException as error:
            with self._lock:
                del self._computing[tile]
            future.set_exception(error)
            raise
        evicted = self._store(tile, value)
        future.set_result(value)
        if self.on_evict is not None:
            for lost in evicted:
                self.on_evict(lost)
        return value

    def _store(self, tile: int, value: Any) -> list[int]:
        """Store a computed tile if reads remain, LRU-evicting to stay in budget.

        Returns the tiles dropped while reads remain (the new one included,
        if it alone exceeds the budget).
        """
        size = _nbytes(value)
        evicted: list[int] = []
        with self._lock:
            del self._computing[tile]
            if self.refs.get(tile, 0) <= 0:
                return evicted
            before = self.held
            while self._data and self.held + size > self.budget:
                lost, (_, lost_size) = self._data.popitem(last=False)
                self.held -= lost_size
                evicted.append(lost)
            if self.held + size <= self.budget:
                self._data[tile] = (value, size)
                self.held += size
                self.peak = max(self.peak, self.held)
            else:
                evicted.append(tile)
            self.evictions += len(evicted)
            self.meter.add(self.held - before)
        return evicted

    def release(self, tile: int) -> None:
        """One read of ``tile`` is over; drop it after its last read."""
        with self._lock:
            left = self.refs.get(tile, 0) - 1
            if left > 0:
                self.refs[tile] = left
                return
            self.refs.pop(tile, None)
            entry = self._data.pop(tile, None)
            if entry is None:
                return
            self.held -= entry[1]
        self.meter.add(-entry[1])

    def rearm(self, tile: int) -> bool:
        """Add one read to come of ``tile`` (its consumer will be recomputed).

        Returns True if the tile is cached or being computed (the extra read
        will find it), False if that read will have to recompute it.
        """
        with self._lock:
            self.refs[tile] = self.refs.get(tile, 0) + 1
            return tile in self._data or tile in self._computing
