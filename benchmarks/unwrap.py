"""Unwrapping benchmark: peppers' methods vs snaphu and scikit-image, side by side.

Two kinds of case, in one run, every method unwrapping the same arrays:

- ``synth``: for every ``--sizes`` (default 1000, 2000, 4000 pixels square)
  one synthetic interferogram (``tests/support/unwrap_cases.py: make_case``:
  fractal relief plus ramp, coherence 0.3-0.95 with decorrelated patches,
  14 looks with exact multilook statistics, a slanted no-data edge);
- ``sim`` (``--simulated``, on by default): for every ``--sim-sizes``
  (default 1000) a pair from the project's simulator taken through stream 1
  (``tests/support/unwrap_cases.py: simulated_case``: ``pep init`` + ``pep run make
  filtered_interferogram coherence``) with ``--sim-looks`` x ``--sim-looks``
  looks (default 2, so a ``size``\ :sup:`2` grid needs a pair of ``2 size``
  square SLCs); the Goldstein-filtered interferogram and the estimated
  coherence are unwrapped, scored against the simulator's flattened phase
  averaged over the same blocks (the resampled slave's no-data edge
  masked; "coherent" = truth coherence above 0.3). ``nlooks`` is the
  equivalent looks the ``unwrap`` rule derives (looks x 0.85^2). Simulated
  cases are cached in ``--workdir`` (the simulation and run folders, and
  the case arrays as ``case.npz``), so a rerun only unwraps.

The methods:

- ``mcf`` (one tile), ``mcf-tiled`` (2 x 2 tiles, 128 overlap, one thread per core),
  ``wls``, ``branch-cut``: peppers;
- ``snaphu``: snaphu-py, ``cost="smooth"``, ``init="mcf"``, the case's
  ``nlooks`` (as MCF), same coherence, the no-data edge masked; at sizes above ``--snaphu-tile-above`` it runs in its
  own tile mode (2 x 2 tiles, overlap 256, ``nproc`` = cores), as a user would;
- ``whirlwind``: whirlwind-insar (Rust statistical-cost MCF), the case's
  ``nlooks``, same coherence, the no-data edge as its mask;
- ``skimage``: ``unwrap_phase`` on the masked wrapped phase.

Every synthetic size runs once per ``--looks`` (default 14 and 4: the
4-look case is the noisy one, exact multilook statistics).

Accuracy is the fraction of pixels with data (and of those with coherence
above 0.3) unwrapped exactly right after ONE constant (the most common
cycle offset over the whole image, so components a method misaligns count
as wrong); pixels a method leaves out (NaN) count as wrong. Wall time is one run
of each, after a warm-up of the numba kernels on a small case. Results:
a table on stdout and ``benchmarks/results/unwrap.json``.

Usage::

    python benchmarks/unwrap.py [--sizes 1000 2000 4000] [--sim-sizes 1000 2000]
                                [--no-simulated] [--skip snaphu ...] [--workdir DIR]

``--sizes`` with no value runs the simulated cases only.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from _common import save_json, table  # noqa: E402
from support.unwrap_cases import Case, make_case, score, simulated_case  # noqa: E402

from peppers.operators.unwrap import (unwrap_branch_cut, unwrap_mcf, unwrap_tiled,  # noqa: E402
                                      unwrap_wls)

LOOKS = 14
#: the simulated scene (SimulationConfig fields; lines/samples follow the size):
#: moderate coherence with decorrelated patches, a long baseline
SIM_SCENE = dict(seed=21, relief_m=800.0, bperp_m=400.0, coherence=0.6, low_coherence=0.15,
                 patches=6, snr_db=30.0)
SIM_LOOKS = 2
WORKDIR = Path(__file__).resolve().parent / "results" / "unwrap-work"


def _snaphu(case, tiled: bool):
    import snaphu

    kw = dict(nlooks=case.looks, cost="smooth", init="mcf", mask=case.data)
    if tiled:
        kw.update(ntiles=(2, 2), tile_overlap=256, nproc=os.cpu_count() or 1)
    return snaphu.unwrap(case.ifg, case.coherence, **kw)


def _whirlwind(case):
    import whirlwind

    return whirlwind.unwrap(case.ifg, case.coherence, float(case.looks), mask=case.data)


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
        "mcf": lambda c: unwrap_mcf(c.ifg, c.coherence, nlooks=c.looks),
        "mcf-tiled": lambda c: unwrap_tiled(c.ifg, c.coherence, tile_shape=_half(c.ifg.shape),
                                            overlap=128, threads=threads, nlooks=c.looks),
        "wls": lambda c: unwrap_wls(c.ifg, c.coherence, threads=threads),
        "branch-cut": lambda c: unwrap_branch_cut(c.ifg, c.coherence),
        "whirlwind": _whirlwind,
        "snaphu": lambda c: _snaphu(c, snaphu_tiled),
        "skimage": _skimage,
    }


def sim_case(workdir: Path, size: int, looks: int) -> Case:
    """The simulated case with a ``size``-square multilooked grid, from the cache if there.

    The simulation and run folders stay in ``workdir/sim-SIZE-LLOOKS-sSEED``;
    the case arrays are saved beside them as ``case.npz`` (written last, by
    rename), whose presence marks the folder complete.
    """
    folder = workdir / f"sim-{size}-L{looks}-s{SIM_SCENE['seed']}"
    cached = folder / "case.npz"
    if cached.exists():
        with np.load(cached) as z:
            return Case(str(z["name"]), z["ifg"], z["coherence"], z["truth"], z["data"],
                        float(z["looks"]), z["true_coherence"])
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    t0 = time.perf_counter()
    case = simulated_case(folder, looks=looks, lines=size * looks, samples=size * looks,
                          name=f"sim-{size}", **SIM_SCENE)
    print(f"simulated {case.name}: {size * looks}^2 SLC pair -> {case.ifg.shape} grid in "
          f"{time.perf_counter() - t0:.1f} s", flush=True)
    tmp = folder / "case.tmp.npz"
    np.savez(tmp, name=case.name, ifg=case.ifg, coherence=case.coherence, truth=case.truth,
             data=case.data, looks=case.looks, true_coherence=case.true_coherence)
    os.replace(tmp, cached)
    return case


HEADERS = ["case", "size", "method", "wall s", "% all", "% coh>0.3", "x snaphu"]


def run_case(kind: str, size: int, case: Case, args, rows: list, records: list) -> None:
    """Every method on one case: one row and one record each (speed-ups filled at the end)."""
    for name, f in methods(args.threads, size > args.snaphu_tile_above).items():
        if name in args.skip:
            continue
        t0 = time.perf_counter()
        unw, comps = f(case)
        wall = time.perf_counter() - t0
        unw = np.asarray(unw, np.float64)
        one = (np.isfinite(unw) & case.data).astype(np.int64)  # one constant for the image
        s = score(unw, one, case)
        rec = {"case": kind, "size": size, "shape": list(case.ifg.shape), "method": name,
               "nlooks": round(float(case.looks), 3), "wall_s": round(wall, 2),
               "correct_all": s["all"], "correct_coherent": s["coherent"],
               "load_average": os.getloadavg()[0]}
        if name == "snaphu":
            rec["snaphu_tiled"] = size > args.snaphu_tile_above
        records.append(rec)
        rows.append([kind, f"{size}^2", name + (" (2x2 tiles)" if rec.get("snaphu_tiled") else ""),
                     f"{wall:.2f}", f"{100 * s['all']:.3f}", f"{100 * s['coherent']:.3f}", ""])
        print(table(HEADERS, rows[-1:]), flush=True)


def speedups(records: list, rows: list) -> None:
    """``speedup_vs_snaphu`` of every record whose case has a snaphu run (also in the rows)."""
    for rec, row in zip(records, rows):
        ref = [r for r in records if (r["case"], r["size"]) == (rec["case"], rec["size"])
               and r["method"] == "snaphu"]
        if ref:
            rec["speedup_vs_snaphu"] = round(ref[0]["wall_s"] / max(rec["wall_s"], 1e-9), 2)
            row[-1] = f"{rec['speedup_vs_snaphu']:.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 2000, 4000],
                        help="synthetic case sizes (none: simulated cases only)")
    parser.add_argument("--looks", type=int, nargs="+", default=[LOOKS, 4],
                        help="looks of the synthetic cases (each size runs once per value)")
    parser.add_argument("--simulated", action=argparse.BooleanOptionalAction, default=True,
                        help="also run the simulator's interferograms (default on)")
    parser.add_argument("--sim-sizes", type=int, nargs="+", default=[1000],
                        help="side of the simulated multilooked grid")
    parser.add_argument("--sim-looks", type=int, default=SIM_LOOKS,
                        help="azimuth and range looks of the simulated cases")
    parser.add_argument("--workdir", type=Path, default=WORKDIR,
                        help="cache of the simulated cases")
    parser.add_argument("--skip", nargs="*", default=[], help="method names to leave out")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--snaphu-tile-above", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", default="unwrap")
    args = parser.parse_args(argv)
    load_start = os.getloadavg()
    print(f"load average at start: {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f}")
    sims = {size: sim_case(args.workdir, size, args.sim_looks)
            for size in (args.sim_sizes if args.simulated else [])}
    warm = make_case((128, 128), 0)
    for name, f in methods(args.threads, False).items():
        if name not in ("snaphu", "skimage", "whirlwind") and name not in args.skip:
            f(warm)
    rows: list = []
    records: list = []
    for size in args.sizes:
        for looks in args.looks:
            run_case(f"synth-L{looks}", size, make_case((size, size), args.seed, looks=looks),
                     args, rows, records)
    for size, case in sims.items():
        run_case("sim", size, case, args, rows, records)
    speedups(records, rows)
    print()
    print(table(HEADERS, rows))
    load_end = os.getloadavg()
    print(f"load average: start {load_start[0]:.2f}, end {load_end[0]:.2f} {load_end[1]:.2f} "
          f"{load_end[2]:.2f}")
    path = save_json(args.json, {"looks": args.looks, "seed": args.seed, "threads": args.threads,
                                 "sim_scene": SIM_SCENE, "sim_looks": args.sim_looks,
                                 "load_average_start": load_start, "results": records})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
