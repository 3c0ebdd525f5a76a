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

- ``mcf`` (one tile), ``mcf-tiled`` (the automatic layout of
  ``auto_tile_shape`` for ``--threads`` workers, ``--overlap`` 128, sides at
  most ``--max-tile``, none by default: two tiles for 2 threads),
  ``mcf-tiled-2x2`` (the former fixed 2 x 2 layout, for comparison),
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
of each, after a warm-up of the numba kernels on a small case, except for
the peppers MCF variants (``REPEATED``): they run ``--reps`` times (default
3), interleaved (untiled, tiled, 2 x 2, untiled, ...), and the table gives
the median wall time; every repetition's wall and CPU seconds and load
average are in the JSON, and a summary line per case gives the medians and
the untiled / tiled ratio. Results: a table on stdout and
``benchmarks/results/unwrap.json``.

Usage::

    python benchmarks/unwrap.py [--sizes 1000 2000 1200x4000] [--sim-sizes 1000 2000]
                                [--no-simulated] [--skip snaphu ...] [--workdir DIR]
                                [--reps 3] [--overlap 128] [--max-tile 0]

``--sizes`` with no value runs the simulated cases only; a size is ``N``
(square) or ``ROWSxCOLS``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from _common import save_json, table  # noqa: E402
from support.unwrap_cases import Case, make_case, score, simulated_case  # noqa: E402

from peppers.operators.unwrap import (unwrap_branch_cut, unwrap_mcf, unwrap_tiled,  # noqa: E402
                                      unwrap_wls)
from peppers.operators.unwrap.tiled import auto_tile_shape, plan_tiles  # noqa: E402

LOOKS = 14
#: the simulated scene (SimulationConfig fields; lines/samples follow the size):
#: moderate coherence with decorrelated patches, a long baseline
SIM_SCENE = dict(seed=21, relief_m=800.0, bperp_m=400.0, coherence=0.6, low_coherence=0.15,
                 patches=6, snr_db=30.0)
SIM_LOOKS = 2
WORKDIR = Path(__file__).resolve().parent / "results" / "unwrap-work"
#: methods timed ``--reps`` times, interleaved, median reported
REPEATED = ("mcf", "mcf-tiled", "mcf-tiled-2x2")


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


def methods(threads: int, snaphu_tiled: bool, overlap: int = 128, max_tile: int = 0):
    """Name -> callable(case) -> (unwrapped, components)."""
    return {
        "mcf": lambda c: unwrap_mcf(c.ifg, c.coherence, nlooks=c.looks),
        "mcf-tiled": lambda c: unwrap_tiled(c.ifg, c.coherence, overlap=overlap, threads=threads,
                                            max_tile=max_tile, nlooks=c.looks),
        "mcf-tiled-2x2": lambda c: unwrap_tiled(c.ifg, c.coherence,
                                                tile_shape=_half(c.ifg.shape, overlap),
                                                overlap=overlap, threads=threads,
                                                nlooks=c.looks),
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


def _layout(shape: tuple[int, int], threads: int, overlap: int, max_tile: int) -> str:
    """The automatic layout of ``mcf-tiled`` in words: tiles x outer shape, area repeated."""
    tile = auto_tile_shape(shape, threads, overlap, max_tile)
    plans = plan_tiles(shape, tile, overlap)
    area = sum(p.outer.height * p.outer.width for p in plans) / (shape[0] * shape[1])
    return f"{len(plans)} tiles of {tile[0]}x{tile[1]}, {area:.3f} x the pixels"


def _timed(f, case):
    """``(result, wall s, CPU s of the process)`` of one call."""
    w, c = time.perf_counter(), time.process_time()
    out = f(case)
    return out, time.perf_counter() - w, time.process_time() - c


def run_case(kind: str, size: tuple[int, int], case: Case, args, rows: list,
             records: list) -> None:
    """Every method on one case: one row and one record each (speed-ups filled at the end).

    The ``REPEATED`` methods run ``args.reps`` times, interleaved, first of all.
    """
    label = f"{size[0]}^2" if size[0] == size[1] else f"{size[0]}x{size[1]}"
    table_ = methods(args.threads, max(size) > args.snaphu_tile_above, args.overlap,
                     args.max_tile)
    names = [n for n in table_ if n not in args.skip]
    repeated = [n for n in names if n in REPEATED]
    runs: dict = {n: [] for n in names}
    results: dict = {}
    for _ in range(args.reps):
        for name in repeated:
            results[name], wall, cpu = _timed(table_[name], case)
            runs[name].append((wall, cpu, os.getloadavg()[0]))
    for name in names:
        if name not in repeated:
            results[name], wall, cpu = _timed(table_[name], case)
            runs[name].append((wall, cpu, os.getloadavg()[0]))
    for name in names:
        unw, comps = results[name]
        wall = float(np.median([r[0] for r in runs[name]]))
        unw = np.asarray(unw, np.float64)
        one = (np.isfinite(unw) & case.data).astype(np.int64)  # one constant for the image
        s = score(unw, one, case)
        rec = {"case": kind, "size": label, "shape": list(case.ifg.shape), "method": name,
               "nlooks": round(float(case.looks), 3), "wall_s": round(wall, 2),
               "runs": [{"wall_s": round(w, 3), "cpu_s": round(c, 3), "load": round(ld, 2)}
                        for w, c, ld in runs[name]],
               "correct_all": s["all"], "correct_coherent": s["coherent"],
               "load_average": os.getloadavg()[0]}
        if name == "mcf-tiled":
            rec["layout"] = _layout(case.ifg.shape, args.threads, args.overlap, args.max_tile)
        if name == "snaphu":
            rec["snaphu_tiled"] = max(size) > args.snaphu_tile_above
        records.append(rec)
        rows.append([kind, label, name + (" (2x2 tiles)" if rec.get("snaphu_tiled") else ""),
                     f"{wall:.2f}", f"{100 * s['all']:.3f}", f"{100 * s['coherent']:.3f}", ""])
        print(table(HEADERS, rows[-1:]), flush=True)
    if "mcf" in repeated and "mcf-tiled" in repeated:
        med = {n: (float(np.median([r[0] for r in runs[n]])),
                   float(np.median([r[1] for r in runs[n]]))) for n in repeated}
        (u0, c0), (u1, c1) = results["mcf"], results["mcf-tiled"]
        both = (c0 > 0) & (c1 > 0)
        cycles = np.rint((np.asarray(u1, np.float64) - u0)[both] / (2 * np.pi)).astype(np.int64)
        agree = np.bincount(cycles - cycles.min()).max() / max(both.sum(), 1) if both.any() else 1.0
        print(f"{kind} {label}: {args.reps} interleaved reps, median wall / CPU s: "
              + ", ".join(f"{n} {w:.2f} / {c:.2f}" for n, (w, c) in med.items())
              + f"; untiled / tiled wall {med['mcf'][0] / med['mcf-tiled'][0]:.2f}; layout "
              + _layout(case.ifg.shape, args.threads, args.overlap, args.max_tile)
              + f"; tiled = untiled + one constant on {100 * agree:.4f} % of the pixels both "
              f"unwrap", flush=True)


def _hwm_mb() -> float:
    """Peak RSS of this process image in MB: ``VmHWM`` (Linux; reset by exec, unlike
    ``ru_maxrss``, which a spawned child inherits from its parent), else ``ru_maxrss``."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child_rss(path: str, name: str, threads: int, overlap: int, max_tile: int,
               looks: float) -> tuple[float, float]:
    """In a fresh process: peak RSS (MB) before and after one ``name`` run on the saved case."""
    with np.load(path) as z:
        case = Case("rss", z["ifg"], z["coherence"], z["ifg"].real * 0, z["data"], looks)
    before = _hwm_mb()
    methods(threads, False, overlap, max_tile)[name](case)
    return before, _hwm_mb()


def peak_rss(case: Case, args) -> dict:
    """Peak RSS of each ``REPEATED`` method, each in a fresh spawned process (``--peak-rss``)."""
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "case.npz")
        np.savez(path, ifg=case.ifg, coherence=case.coherence, data=case.data)
        ctx = multiprocessing.get_context("spawn")
        for name in REPEATED:
            if name in args.skip:
                continue
            with ctx.Pool(1) as pool:
                before, after = pool.apply(_child_rss, (path, name, args.threads, args.overlap,
                                                        args.max_tile, float(case.looks)))
            out[name] = {"before_mb": round(before), "peak_mb": round(after)}
            print(f"peak RSS {name}: {after:.0f} MB (process before the call {before:.0f} MB; "
                  f"inputs {(case.ifg.nbytes + case.coherence.nbytes) / 2 ** 20:.0f} MB)",
                  flush=True)
    return out


def _size(text: str) -> tuple[int, int]:
    """``N`` or ``ROWSxCOLS``."""
    rows, _, cols = text.lower().partition("x")
    return int(rows), int(cols or rows)


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
    parser.add_argument("--sizes", type=_size, nargs="*", default=["1000", "2000", "4000"],
                        help="synthetic case sizes, N or ROWSxCOLS (none: simulated only)")
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
    parser.add_argument("--reps", type=int, default=3,
                        help="interleaved repetitions of the peppers MCF variants")
    parser.add_argument("--overlap", type=int, default=128, help="tile overlap of mcf-tiled")
    parser.add_argument("--max-tile", type=int, default=0,
                        help="largest tile side of mcf-tiled's layout (0: none)")
    parser.add_argument("--peak-rss", action="store_true",
                        help="also measure the peak RSS of the MCF variants, each in a fresh "
                             "process (the cases' first numba call compiles or loads the cache)")
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
        size = _size(size) if isinstance(size, str) else size
        for looks in args.looks:
            case = make_case(size, args.seed, looks=looks)
            run_case(f"synth-L{looks}", size, case, args, rows, records)
            if args.peak_rss:
                rss = peak_rss(case, args)
                for rec in records:
                    if (rec["case"], rec["size"]) == (f"synth-L{looks}", records[-1]["size"]) \
                            and rec["method"] in rss:
                        rec["peak_rss"] = rss[rec["method"]]
    for size, case in sims.items():
        run_case("sim", (size, size), case, args, rows, records)
    speedups(records, rows)
    print()
    print(table(HEADERS, rows))
    load_end = os.getloadavg()
    print(f"load average: start {load_start[0]:.2f}, end {load_end[0]:.2f} {load_end[1]:.2f} "
          f"{load_end[2]:.2f}")
    path = save_json(args.json, {"looks": args.looks, "seed": args.seed, "threads": args.threads,
                                 "reps": args.reps, "overlap": args.overlap,
                                 "max_tile": args.max_tile, "load_average_end": load_end,
                                 "sim_scene": SIM_SCENE, "sim_looks": args.sim_looks,
                                 "load_average_start": load_start, "results": records})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
