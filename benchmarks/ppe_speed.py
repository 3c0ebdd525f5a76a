"""Speed of the four-operator chain: PPE vs whole arrays on disk vs dask map_overlap.

Issue 3's acceptance, in one run: the chain of ``_common.py`` (box filter,
FFT Gaussian, phase ramp, sinc resampler), from a raw complex64 image on disk
to a raw image on disk, run

* on the PPE with 1 and 2 threads,
* on whole arrays, every intermediate written to disk and read back (the
  1999 baseline; the same kernels, called once per image, one core),
* with ``dask.array.map_overlap`` calling the same kernels (1 and 2 threads,
  the threaded scheduler, the input memory-mapped).

Every variant runs ``--repeats`` times, round-robin so that load from other
processes spreads evenly; the table gives medians and ratios. Goals: the
PPE faster than both others, and 2 PPE threads at least 1.7x faster than 1.
All outputs are checked against the first PPE output (bit-identical).

Usage::

    python benchmarks/ppe_speed.py                        # 6000 x 4000, 3 repeats
    python benchmarks/ppe_speed.py --shape 2000 2000 --repeats 2   # quick

Writes ``benchmarks/results/ppe_speed.json`` (``--json NAME`` to rename) and prints a table.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import _common as common

SPEEDUP_GOAL = 1.7


def _variants(source: Path, workdir: Path, shape, args) -> dict:
    """Name -> (threads, callable writing the chain's output)."""
    def ppe(threads):
        return lambda: common.ppe_chain(source, workdir / f"ppe{threads}.vrt", shape,
                                        threads=threads, mem=args.mem,
                                        tile=tuple(args.tile))

    def dask(threads):
        return lambda: common.dask_chain(source, workdir / f"dask{threads}.vrt", shape,
                                         threads=threads, chunk=tuple(args.tile))

    return {
        "ppe-1": (1, ppe(1), workdir / "ppe1.vrt"),
        "ppe-2": (2, ppe(2), workdir / "ppe2.vrt"),
        "whole+disk": (1, lambda: common.whole_array_chain(source, workdir / "whole.vrt",
                                                           shape), workdir / "whole.vrt"),
        "dask-1": (1, dask(1), workdir / "dask1.vrt"),
        "dask-2": (2, dask(2), workdir / "dask2.vrt"),
    }


def _warm_up(workdir: Path, args) -> None:
    """Compile the kernels and make the FFT plans on a small image first."""
    small = (600, 500)
    source = workdir / "warm.vrt"
    common.make_input(source, small).close()
    for _, run, _ in _variants(source, workdir / "warm", small, args).values():
        (workdir / "warm").mkdir(exist_ok=True)
        run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", type=int, nargs=2, default=(6000, 4000),
                        metavar=("ROWS", "COLS"), help="image shape (default 6000 4000)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per variant (default 3)")
    parser.add_argument("--tile", type=int, nargs=2, default=(512, 512),
                        metavar=("ROWS", "COLS"), help="PPE tile = dask chunk (default 512 512)")
    parser.add_argument("--mem", default=None, help="PPE memory budget (default: engine's)")
    parser.add_argument("--json", default="ppe_speed",
                        help="results file name in benchmarks/results (default ppe_speed)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="folder for the images (default: a temporary folder, removed)")
    args = parser.parse_args(argv)
    shape = tuple(args.shape)
    pixels = shape[0] * shape[1]

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="ppe_speed_"))
    workdir.mkdir(parents=True, exist_ok=True)
    times: dict[str, list[float]] = {}
    try:
        _warm_up(workdir, args)
        source = workdir / "input.vrt"
        common.make_input(source, shape).close()
        variants = _variants(source, workdir, shape, args)
        load_before = common.machine()["load_average"]
        for k in range(args.repeats):
            for name, (_, run, _) in variants.items():
                times.setdefault(name, []).extend(common.timed(run, 1))
                print(f"  run {k + 1}/{args.repeats} {name:<11} {times[name][-1]:7.2f} s",
                      flush=True)
        reference = variants["ppe-1"][2]
        checks = {name: common.compare_images(reference, out)
                  for name, (_, _, out) in variants.items() if out != reference}
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)

    median = {name: statistics.median(t) for name, t in times.items()}
    ppe2 = median["ppe-2"]
    rows = []
    for name, (threads, _, _) in variants.items():
        t = times[name]
        rows.append([name, threads, f"{median[name]:.2f}", f"{min(t):.2f}", f"{max(t):.2f}",
                     f"{pixels / median[name] / 1e6:.2f}", f"{median[name] / ppe2:.2f}"])
    print()
    print(f"chain over {shape[0]} x {shape[1]} complex64, tile {tuple(args.tile)}, "
          f"{args.repeats} runs each; load average before {load_before}")
    print(common.table(["variant", "threads", "median s", "min s", "max s", "Mpx/s",
                        "x ppe-2 time"], rows))
    speedup = median["ppe-1"] / ppe2
    goals = {
        "ppe_faster_than_whole": ppe2 < median["whole+disk"],
        "ppe_faster_than_dask": ppe2 < median["dask-2"] and median["ppe-1"] < median["dask-1"],
        "two_threads_speedup": speedup,
        "two_threads_goal_met": speedup >= SPEEDUP_GOAL,
    }
    print(f"\nPPE 2 threads vs 1: {speedup:.2f}x (goal >= {SPEEDUP_GOAL})")
    print(f"PPE faster than whole+disk: {goals['ppe_faster_than_whole']} "
          f"({median['whole+disk'] / ppe2:.2f}x); than dask at equal threads: "
          f"{goals['ppe_faster_than_dask']} (1 thread {median['dask-1'] / median['ppe-1']:.2f}x, "
          f"2 threads {median['dask-2'] / ppe2:.2f}x)")
    identical = all(c.get("bit_identical") for c in checks.values())
    print(f"all outputs bit-identical to ppe-1: {identical}")
    path = common.save_json(args.json, {
        "shape": shape, "tile": args.tile, "repeats": args.repeats, "mem": args.mem,
        "times_s": times, "median_s": median, "goals": goals, "comparisons": checks,
        "load_average_before": load_before, "finished": time.strftime("%H:%M:%S")})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
