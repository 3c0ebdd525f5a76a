"""The operators release the GIL: loop turns of the main thread, and 2 threads vs 1.

Speed belongs here, not in the tests (a loaded machine changes any ratio).
For each operator of ``OPERATORS`` (box filter, Gaussian FFT filter,
polynomial resampler) on 1024 x 1024 complex64 tiles:

``turns``
    loop turns per second of the main thread while a worker thread computes
    4 tiles, over those while the worker only sleeps as long (a kernel that
    holds the GIL gives about 0.1; one that releases it about 1, or a share
    of a core on a busy machine);
``speed-up``
    4 tiles on 2 threads against 1 thread, beside the speed-up of a surely
    GIL-free numba loop measured at the same moment (what the machine
    offers right now).

Run: ``python benchmarks/operators_gil.py [--tries N]``; prints a table and
writes ``benchmarks/results/operators_gil.json``. The test
``tests/test_operators_threads.py`` checks the kernels are compiled
``nogil``, which is what these numbers measure.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numba
import numpy as np

from peppers.operators._arrays import read_region
from peppers.operators.filters import BoxFilter, GaussianFilter
from peppers.operators.resample import PolynomialResampler
from peppers.ppe.region import Region

RNG = np.random.default_rng(8)
IMAGE = (RNG.standard_normal((1100, 1100)) + 1j * RNG.standard_normal((1100, 1100))
         ).astype(np.complex64)

OPERATORS = {
    "box": lambda: BoxFilter(size=(9, 25)),
    "gaussian": lambda: GaussianFilter(sigma=3.0),
    "resample": lambda: PolynomialResampler(row_coeffs=[0.3, 1e-4, 2e-4],
                                            col_coeffs=[-0.6, 0.0, 1e-4]),
}


def _task(op, region):
    """A tile job: the engine hands the operator exactly its input region."""
    tile = read_region(IMAGE, op.input_region(region, {})["input"], op.edge_mode)
    return lambda: op.compute({"input": tile}, region)


def _progress(job) -> float:
    """Loop turns per second of this thread while ``job`` runs on a worker."""
    worker = threading.Thread(target=job)
    spins = 0
    start = time.perf_counter()
    worker.start()
    while worker.is_alive():
        spins += 1
    return spins / (time.perf_counter() - start)


def turns_ratio(name: str) -> float:
    """Main-thread turns/s while the worker computes, over those while it sleeps."""
    op = OPERATORS[name]()
    tile = _task(op, Region(0, 0, 1024, 1024))
    tile()  # compile and plan outside the measurement

    def job():
        for _ in range(4):
            tile()

    start = time.perf_counter()
    job()
    seconds = time.perf_counter() - start
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)  # a GIL holder is interrupted only when it returns to Python
    try:
        ours, asleep = _progress(job), _progress(lambda: time.sleep(seconds))
    finally:
        sys.setswitchinterval(interval)
    return ours / asleep


@numba.njit(nogil=True, cache=True)
def _reference_work(n):
    """A loop that certainly runs without the GIL: what the machine offers."""
    acc = 0.0
    for k in range(n):
        acc += math.sin(k * 1e-3)
    return acc


def _speedup(jobs):
    start = time.perf_counter()
    for job in jobs:
        job()
    serial = time.perf_counter() - start
    with ThreadPoolExecutor(2) as pool:
        start = time.perf_counter()
        list(pool.map(lambda job: job(), jobs))
        parallel = time.perf_counter() - start
    return serial / parallel


def speedups(name: str) -> tuple[float, float]:
    """(operator, GIL-free reference) speed-up of 2 threads over 1, measured together."""
    op = OPERATORS[name]()
    jobs = [_task(op, Region(32 * k, 32, 1024, 1024)) for k in range(4)]
    reference = [lambda: _reference_work(3_000_000)] * 4
    jobs[0]()
    reference[0]()
    return _speedup(jobs), _speedup(reference)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=3, help="measurements per operator")
    args = parser.parse_args()
    rows = []
    print(f"load {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs")
    print(f"{'operator':<10} {'turns':>6} {'speed-up':>9} {'reference':>10}")
    for name in sorted(OPERATORS):
        for _ in range(args.tries):
            turns = turns_ratio(name)
            ours, possible = speedups(name)
            rows.append({"operator": name, "turns": turns, "speedup": ours,
                         "reference": possible})
            print(f"{name:<10} {turns:6.2f} {ours:9.2f} {possible:10.2f}")
    out = Path(__file__).resolve().parent / "results" / "operators_gil.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"load": os.getloadavg()[0], "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
