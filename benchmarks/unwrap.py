"""Unwrapping benchmark: peppers' methods vs snaphu and scikit-image, side by side.

For every size (default 1000, 2000, 4000 pixels square) one synthetic
interferogram is made (``tests/unwrap_cases.py``: fractal relief plus ramp,
coherence 0.3-0.95 with decorrelated patches, 14 looks with exact multilook
statistics, a slanted no-data edge), and every method unwraps the same
arrays:

- ``mcf`` (one tile), ``mcf-tiled`` (2 x 2 tiles, 128 overlap, one thread per core),
  ``wls``, ``branch-cut``: peppers;
- ``snaphu``: snaphu-py, ``cost="smooth"``, ``init="mcf"``, ``nlooks`` 14, the
  no-data edge masked; at sizes above ``--snaphu-tile-above`` it runs in its
  own tile mode (2 x 2 tiles, overlap 256, ``nproc`` = cores), as a user would;
- ``skimage``: ``unwrap_phase`` on the masked wrapped phase.

Accuracy is the fraction of pixels with data (and of those with coherence
above 0.3) unwrapped exactly right after one cycle offset per connected
component; pixels a method leaves out count as wrong. Wall time is one run
of each, after a warm-up of the numba kernels on a small case. Results:
a table on stdout and ``benchmarks/results/unwrap.json``.

Usage::

    python benchmarks/unwrap.py [--sizes 1000 2000 4000] [--skip snaphu ...]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from _common import save_json, table  # noqa: E402
from unwrap_cases import make_case, score  # noqa: E402

from peppers.operators.unwrap import (unwrap_branch_cut, unwrap_mcf, unwrap_tiled,  # noqa: E402
                                      unwrap_wls)

LOOKS = 14


def _snaphu(case, tiled: bool):
    import snaphu

    kw = dict(nlooks=LOOKS, cost="smooth", init="mcf", mask=case.data)
    if tiled:
        kw.update(ntiles=(2, 2), tile_overlap=256, nproc=os.cpu_count() or 1)
    return snaphu.unwrap(case.ifg, case.coherence, **kw)


def _skimage(case):
    from skimage.restoration import unwrap_phase

    masked = np.ma.masked_array(np.angle(case.ifg), ~case.data)
    return unwrap_phase(masked).filled(np.nan), case.data.astype(np.int32)


def _half(shape: tuple[int, int], overlap: int = 128) -> tuple[int, int]:
    """Outer tile shape giving 2 x 2 tiles with ``overlap``."""
    return tuple(-(-(n + overlap) // 2) for n in shape)


def methods(threads: int, snaphu_tiled: bool):
    """Name -> callable(case) -> (unwrapped, components)."""
    return {
        "mcf": lambda c: unwrap_mcf(c.ifg, c.coherence, nlooks=LOOKS),
        "mcf-tiled": lambda c: unwrap_tiled(c.ifg, c.coherence, tile_shape=_half(c.ifg.shape),
                                            overlap=128, threads=threads, nlooks=LOOKS),
        "wls": lambda c: unwrap_wls(c.ifg, c.coherence, threads=threads),
        "branch-cut": lambda c: unwrap_branch_cut(c.ifg, c.coherence),
        "snaphu": lambda c: _snaphu(c, snaphu_tiled),
        "skimage": _skimage,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000, 4000])
    parser.add_argument("--skip", nargs="*", default=[], help="method names to leave out")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--snaphu-tile-above", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", default="unwrap")
    args = parser.parse_args(argv)
    warm = make_case((128, 128), 0)
    for name, f in methods(args.threads, False).items():
        if name not in ("snaphu", "skimage"):
            f(warm)
    rows, records = [], []
    for size in args.sizes:
        case = make_case((size, size), args.seed, looks=LOOKS)
        for name, f in methods(args.threads, size > args.snaphu_tile_above).items():
            if name in args.skip:
                continue
            t0 = time.perf_counter()
            unw, comps = f(case)
            wall = time.perf_counter() - t0
            s = score(np.asarray(unw, np.float64), np.asarray(comps).astype(np.int64), case)
            rec = {"size": size, "method": name, "wall_s": round(wall, 2),
                   "correct_all": s["all"], "correct_coherent": s["coherent"]}
            if name == "snaphu":
                rec["snaphu_tiled"] = size > args.snaphu_tile_above
            records.append(rec)
            rows.append([f"{size}^2", name + (" (2x2 tiles)" if rec.get("snaphu_tiled") else ""),
                         f"{wall:.2f}", f"{100 * s['all']:.3f}", f"{100 * s['coherent']:.3f}"])
            print(table(["size", "method", "wall s", "% all", "% coh>0.3"], rows[-1:]),
                  flush=True)
    print()
    print(table(["size", "method", "wall s", "% all", "% coh>0.3"], rows))
    for size in args.sizes:
        ref = [r for r in records if r["size"] == size and r["method"] == "snaphu"]
        if ref:
            for r in records:
                if r["size"] == size:
                    r["speedup_vs_snaphu"] = round(ref[0]["wall_s"] / max(r["wall_s"], 1e-9), 2)
    path = save_json(args.json, {"looks": LOOKS, "seed": args.seed, "threads": args.threads,
                                 "results": records})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
