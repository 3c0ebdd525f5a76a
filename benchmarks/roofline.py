"""The machine's limits for the stream-1 roofline table (``docs/stream1.md``).

Two numba kernels on one thread, the way the operators' kernels are
compiled (``@njit``, no fastmath):

* **peak flops**: ``8`` independent multiply-add chains over a small array
  that stays in L1, float64 and float32, the innermost loop over a
  contiguous array so the compiler vectorises it (the best the operators'
  own vectorised loops can reach);
* **scalar flops**: one dependent multiply-add chain per value (a
  reduction the compiler may not reorder, as the operators' per-pixel
  window sums are);
* **memory bandwidth**: the STREAM triad ``a = b + s c`` over arrays of
  64 MiB each (24 bytes per element moved), and the same with two threads.

Usage::

    python benchmarks/roofline.py [--repeats 5]

Prints the medians (GFLOP/s, GB/s) with the load average, and writes
``benchmarks/results/roofline.json``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time

import numba
import numpy as np

import _common as common


@numba.njit(nogil=True)
def _fma_vector(x, n):
    """``n`` rounds of ``acc = acc * 0.999 + x`` on every element (2 flops each)."""
    acc = np.zeros_like(x)
    for _ in range(n):
        for i in range(x.shape[0]):
            acc[i] = acc[i] * 0.999 + x[i]
    return acc


@numba.njit(nogil=True)
def _fma_chain(x, n):
    """The same flops as one dependent chain (a reduction the compiler keeps in order)."""
    acc = 0.0
    for _ in range(n):
        for i in range(x.shape[0]):
            acc = acc * 0.999 + x[i]
    return acc


@numba.njit(nogil=True)
def _triad(a, b, c, s):
    for i in range(a.shape[0]):
        a[i] = b[i] + s * c[i]


def _timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def measure(repeats: int) -> dict:
    """Medians over ``repeats`` of each limit."""
    out: dict = {"load": [os.getloadavg()[0]]}
    rounds = 20000
    for dtype in (np.float64, np.float32):
        x = np.random.default_rng(0).random(256).astype(dtype)
        _fma_vector(x, 1)
        _fma_chain(x, 1)
        flops = 2.0 * rounds * x.size
        out[f"gflops_vector_{np.dtype(dtype).name}"] = statistics.median(
            flops / _timed(_fma_vector, x, rounds) / 1e9 for _ in range(repeats))
        out[f"gflops_chain_{np.dtype(dtype).name}"] = statistics.median(
            flops / _timed(_fma_chain, x, rounds) / 1e9 for _ in range(repeats))
    n = 8 * 2 ** 20
    a, b, c = np.zeros(n), np.ones(n), np.ones(n)
    _triad(a[:10], b[:10], c[:10], 3.0)
    out["gbytes_triad_1"] = statistics.median(
        24.0 * n / _timed(_triad, a, b, c, 3.0) / 1e9 for _ in range(repeats))

    def two() -> None:
        half = n // 2
        threads = [threading.Thread(target=_triad, args=(a[k:k + half], b[k:k + half],
                                                         c[k:k + half], 3.0))
                   for k in (0, half)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    out["gbytes_triad_2"] = statistics.median(24.0 * n / _timed(two) / 1e9
                                              for _ in range(repeats))
    out["load"].append(os.getloadavg()[0])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="medians of (default 5)")
    args = parser.parse_args(argv)
    result = measure(args.repeats)
    rows = [[k, f"{v:.2f}"] for k, v in result.items() if k != "load"]
    print(common.table(["limit (one thread unless _2)", "median"], rows))
    print(f"load average {result['load'][0]:.1f} -> {result['load'][1]:.1f}")
    print(f"wrote {common.save_json('roofline', result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
