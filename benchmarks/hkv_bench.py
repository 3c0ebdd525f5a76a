"""Benchmark of the HKV run database: get / set / stamp latency vs number of keys.

For 10, 100, 1,000 and 10,000 keys, in two layouts:

``grouped``
    Keys ``bench.g<i // 100>.k<i % 100>``: 100 keys per record file (the
    intended use: one record per small group of related values).
``one-record``
    Keys ``bench.k<i>``: every key in one record file (the worst case: a
    set rewrites the whole file).

and measures, as the median over ``--repeats`` runs of the mean of
``--ops`` operations on random keys (fixed seed):

``get``        ``db.get`` of a leaf, record cached in the process
``get-cold``   ``db.get`` from a freshly opened database (parses the record)
``stamp``      ``db.stamp`` (mtime and hash, what the scheduler asks)
``set``        ``db.set`` of a new value (lock, fsync'ed temporary file,
               audit entry, rename, stamp log)

Run: ``python benchmarks/hkv_bench.py`` (``--no-sync`` to measure without
``fsync``, i.e. the CPU cost alone). Prints a table and writes
``benchmarks/results/hkv_bench.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from peppers.hkv import RunDatabase, storage

SIZES = (10, 100, 1000, 10000)
LAYOUTS = {"grouped": lambda i: f"bench.g{i // 100}.k{i % 100}",
           "one-record": lambda i: f"bench.k{i}"}


def populate(root: Path, size: int, key_of) -> RunDatabase:
    """A new run holding ``size`` int keys (written 1000 per transaction)."""
    db = RunDatabase.create(root)
    for start in range(0, size, 1000):
        with db.transaction("populate") as tx:
            for i in range(start, min(size, start + 1000)):
                tx.set(key_of(i), i)
    return db


def mean_seconds(action, keys: list[str]) -> float:
    began = time.perf_counter()
    for key in keys:
        action(key)
    return (time.perf_counter() - began) / len(keys)


def measure(db: RunDatabase, size: int, key_of, ops: int, repeats: int,
            rng: random.Random) -> dict[str, float]:
    """Median (over repeats) of the mean latency of each operation, in ms."""
    samples: dict[str, list[float]] = {"get": [], "get-cold": [], "stamp": [], "set": []}
    counter = iter(range(10**9))
    for _ in range(repeats):
        keys = [key_of(rng.randrange(size)) for _ in range(ops)]
        for key in keys:  # warm the cache
            db.get(key)
        samples["get"].append(mean_seconds(db.get, keys))
        samples["get-cold"].append(mean_seconds(
            lambda k: RunDatabase.open(db.root).get(k), keys))
        samples["stamp"].append(mean_seconds(db.stamp, keys))
        samples["set"].append(mean_seconds(lambda k: db.set(k, -next(counter)), keys))
    return {name: statistics.median(values) * 1e3 for name, values in samples.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=20, help="operations per run (default 20)")
    parser.add_argument("--repeats", type=int, default=5, help="runs per cell (default 5)")
    parser.add_argument("--no-sync", action="store_true", help="skip fsync (CPU cost only)")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--output", type=Path,
                        default=Path(__file__).parent / "results" / "hkv_bench.json")
    args = parser.parse_args(argv)
    storage.SYNC = not args.no_sync
    rng = random.Random(1999)
    rows = []
    print(f"HKV latency, ms (median of {args.repeats} runs x {args.ops} ops; "
          f"fsync {'off' if args.no_sync else 'on'})")
    print(f"{'layout':<11} {'keys':>6} {'get':>8} {'get-cold':>9} {'stamp':>8} {'set':>8}")
    with tempfile.TemporaryDirectory(prefix="hkv-bench-") as folder:
        for layout, key_of in LAYOUTS.items():
            for size in args.sizes:
                root = Path(folder) / f"{layout}-{size}"
                began = time.perf_counter()
                db = populate(root, size, key_of)
                fill = time.perf_counter() - began
                result = measure(db, size, key_of, args.ops, args.repeats, rng)
                rows.append({"layout": layout, "keys": size, "populate_s": fill, **result})
                print(f"{layout:<11} {size:>6} {result['get']:>8.3f} {result['get-cold']:>9.3f} "
                      f"{result['stamp']:>8.3f} {result['set']:>8.3f}", flush=True)
    report = {"benchmark": "hkv", "unit": "ms", "fsync": not args.no_sync, "ops": args.ops,
              "repeats": args.repeats, "python": sys.version.split()[0],
              "machine": platform.machine(), "cpus": os.cpu_count(),
              "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "rows": rows}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
