"""Tile caches: refcount eviction, LRU budget, one computation per tile under threads."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from peppers.ppe.cache import MemoryMeter, TileCache, format_bytes, parse_mem


def _tile(value: float, n: int = 100) -> np.ndarray:
    return np.full(n, value)  # 800 bytes


def test_tile_is_dropped_after_its_last_read():
    cache = TileCache("n", budget=10_000, refs={1: 3})
    for _ in range(3):
        assert cache.get(1, lambda: _tile(1))[0] == 1
    assert 1 in cache and cache.held == 800
    cache.release(1), cache.release(1)
    assert 1 in cache
    cache.release(1)
    assert 1 not in cache and cache.held == 0 and cache.refs == {}
    assert (cache.misses, cache.hits) == (1, 2)


def test_single_read_tiles_are_never_stored():
    cache = TileCache("n", budget=10_000, refs={1: 1})
    cache.get(1, lambda: _tile(1))
    assert len(cache) == 0 and cache.direct == 1 and cache.misses == 0


def test_lru_keeps_the_budget_and_reports_what_it_drops():
    dropped = []
    meter = MemoryMeter()
    cache = TileCache("n", budget=2500, refs={i: 2 for i in range(5)}, meter=meter,
                      on_evict=dropped.append)
    for i in range(3):
        cache.get(i, lambda i=i: _tile(i))
    cache.get(0, lambda: _tile(0))          # a hit: 0 becomes the most recent
    cache.get(3, lambda: _tile(3))          # evicts the least recent: 1
    assert dropped == [1] and cache.hits == 1 and cache.evictions == 1
    assert cache.held == 2400 and meter.peak == 2400 and cache.peak == 2400
    assert 0 in cache and 3 in cache and 1 not in cache
    big = TileCache("n", budget=500, refs={7: 2}, on_evict=dropped.append)
    big.get(7, lambda: _tile(7))             # alone over budget: not stored
    assert 7 not in big and dropped[-1] == 7 and big.evictions == 1


def _until(predicate, deadline: float = 600.0) -> None:
    """Wait for a state of the cache (never for a time), at most ``deadline`` seconds."""
    end = time.monotonic() + deadline
    while not predicate():
        assert time.monotonic() < end, "the state never came"
        time.sleep(0.001)


def test_two_threads_wanting_one_tile_compute_it_once():
    cache = TileCache("n", budget=10_000, refs={5: 4})
    calls = []
    barrier = threading.Barrier(4)

    def compute():
        calls.append(1)
        _until(lambda: cache.shared == 3)  # the other three wait on this computation
        return _tile(5)

    def worker(out):
        barrier.wait()
        out.append(cache.get(5, compute))

    results: list = []
    threads = [threading.Thread(target=worker, args=(results,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(results) == 4
    assert all(r is results[0] for r in results)
    assert cache.misses == 1 and cache.shared == 3


def test_a_failed_computation_reaches_every_waiter_and_stores_nothing():
    cache = TileCache("n", budget=10_000, refs={5: 3})
    started = threading.Event()

    def fail():
        started.set()
        _until(lambda: cache.shared == 1)  # the waiter waits on this computation
        raise RuntimeError("boom")

    errors = []

    def waiter():
        started.wait()
        try:
            cache.get(5, lambda: _tile(0))
        except RuntimeError as error:
            errors.append(error)

    t = threading.Thread(target=waiter)
    t.start()
    with pytest.raises(RuntimeError, match="boom"):
        cache.get(5, fail)
    t.join()
    assert len(errors) == 1 and 5 not in cache
    assert cache.get(5, lambda: _tile(2))[0] == 2  # a later read computes again


def test_rearm_adds_a_read():
    cache = TileCache("n", budget=10_000, refs={1: 2})
    cache.get(1, lambda: _tile(1))
    assert cache.rearm(1) is True and cache.refs[1] == 3
    assert cache.rearm(9) is False and cache.refs[9] == 1


def test_parse_mem_and_format_bytes():
    assert parse_mem("512M") == 512 * 2 ** 20
    assert parse_mem("1.5g") == 3 * 2 ** 29
    assert parse_mem("800MB") == 800 * 2 ** 20
    assert parse_mem(123) == 123
    for bad in ("lots", "-1G", True, -5):
        with pytest.raises(ValueError, match="memory budget"):
            parse_mem(bad)
    assert format_bytes(512 * 2 ** 20) == "512.0 MiB"
