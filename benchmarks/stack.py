"""A stack run at two sizes: ``pep simulate --stack``, ``pep stack init``, ``make velocity``.

Issue 17, item 4. For each number of dates (``--dates``, default 4 and 8)
a stack of ``--shape`` is simulated once (8 dates; the smaller stacks use
its first dates), and for each ``--mpi`` setting (``0``: threads only;
``N``: ``pep run make --mpi N``) a fresh stack run (``--network``, default
``sequential:3``) makes ``velocity`` in a child process under
``/usr/bin/time -v``: its wall time and peak RSS (the largest process of
the tree), the number of rules run, and the velocity's RMS error against
the simulator's truth over its RMS propagated deviation (both referred to
the network's reference window), so a faster run is also seen to be right.

The load average is printed beside each run: on a shared machine compare
ratios measured in one invocation.

Usage::

    python benchmarks/stack.py                                # 4 and 8 dates, threads and --mpi 2
    python benchmarks/stack.py --shape 300 300 --dates 8 --mpi 0
    python benchmarks/stack.py --dates 8 --mpi 0 --atmosphere 0.005 --json stack_atmosphere
    python benchmarks/stack.py --dates 8 --mpi 0 --streams 1 2 --json stack_streams

With ``--atmosphere RMS`` each date gets a turbulent delay screen and the
velocity error is also given against the atmosphere's own part of the
estimate (the least-squares slope of ``-(delay_k - delay_0)``, computed from
the truth screens and referred like the estimate): ``error / sqrt(sigma^2 +
atm^2)`` and the error left once that part is taken out.

Writes ``benchmarks/results/stack.json`` (``--json NAME`` to rename).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import _common as common

TARGET = "velocity"


def pep_child(*args: str) -> dict:
    """``pep ARGS`` in a child under ``/usr/bin/time``: wall seconds, peak RSS."""
    return common.run_child(["-m", "peppers.cli.main", *args])


def velocity_ratio(run: Path, sim: Path) -> dict:
    """RMS velocity error against the truth, RMS propagated sigma, their ratio (m/year)."""
    from peppers.drs.rules import image_path
    from peppers.hkv import RunDatabase
    from peppers.io.raw import RawImage
    from peppers.image import Region
    from peppers.operators.simulate.stack import load_stack_truth, read_stack_raster

    def read(name):
        with RawImage.open(run / image_path(name)) as img:
            return img.read(Region.full(img.spec.shape)).astype(np.float64)

    vel, std = read("velocity"), read("velocity_std")

    def box(name):
        full = read_stack_raster(sim, name)
        la, lr = full.shape[0] // vel.shape[0], full.shape[1] // vel.shape[1]
        return full[:vel.shape[0] * la, :vel.shape[1] * lr].reshape(
            vel.shape[0], la, vel.shape[1], lr).mean(axis=(1, 3))

    db = RunDatabase.open(run)
    ref = db.get("stack.reference")
    h = ref["half"]
    window = (slice(ref["row"] - h, ref["row"] + h + 1), slice(ref["col"] - h, ref["col"] + h + 1))

    def referred(field):
        return field - np.nanmean(field[window])

    err = referred(vel - box("velocity"))
    good = np.isfinite(err) & np.isfinite(std)
    rms, sigma = float(np.sqrt(np.mean(err[good] ** 2))), float(np.sqrt(np.mean(std[good] ** 2)))
    out = {"rms_error_m_per_year": rms, "rms_sigma_m_per_year": sigma, "ratio": rms / sigma,
           "valid_fraction": float(good.mean())}
    truth = load_stack_truth(sim)
    if truth["atmosphere"]["rms_m"] > 0:
        # the atmosphere's part of the estimate: -(delay_k - delay_0) per date (the phase holds
        # +4 pi delay / lambda), its least-squares slope, referred like the estimate
        days = np.array([d["day"] for d in truth["dates"]], dtype=np.float64) / 365.25
        dates = [d["date"] for d in truth["dates"]][:len(db.get("stack.dates"))]
        years = days[:len(dates)]
        slope = (years - years.mean()) / np.sum((years - years.mean()) ** 2)
        atm = referred(-np.tensordot(slope, np.stack([box(f"atmosphere_{d}") for d in dates]),
                                     axes=1))
        rms_atm = float(np.sqrt(np.mean(atm[good] ** 2)))
        rest = err - atm
        out.update(rms_atmosphere_m_per_year=rms_atm,
                   ratio_with_atmosphere=rms / float(np.sqrt(sigma ** 2 + rms_atm ** 2)),
                   rms_error_without_atmosphere_m_per_year=float(np.sqrt(np.mean(rest[good] ** 2))))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", type=int, nargs=2, default=(300, 300),
                        metavar=("LINES", "SAMPLES"), help="scene size (default 300 300)")
    parser.add_argument("--dates", type=int, nargs="+", default=[4, 8],
                        help="stack sizes (default: 4 8)")
    parser.add_argument("--network", default="sequential:3", help="network spec")
    parser.add_argument("--threads", type=int, default=2, help="threads (default 2)")
    parser.add_argument("--mpi", type=int, nargs="+", default=[0, 2],
                        help="MPI ranks per run, 0 = threads only (default: 0 2)")
    parser.add_argument("--seed", type=int, default=17, help="simulation seed (default 17)")
    parser.add_argument("--streams", type=int, nargs="+", default=[1],
                        help="independent steps run side by side (pep run make --streams K; "
                             "default: 1)")
    parser.add_argument("--atmosphere", type=float, default=0.0,
                        help="RMS turbulent one-way delay per date, m (default 0: none)")
    parser.add_argument("--json", default="stack", help="results file name")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="folder for the stack and the runs (default: temporary)")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="stack_bench_"))
    workdir.mkdir(parents=True, exist_ok=True)
    lines, samples = args.shape
    result: dict = {"shape": [lines, samples], "network": args.network, "threads": args.threads,
                    "atmosphere_m": args.atmosphere,
                    "machine": common.machine(), "runs": []}
    try:
        sim = workdir / "sim"
        if not (sim / "truth.yaml").exists():
            load = os.getloadavg()[0]
            child = pep_child("simulate", "--stack", str(max(args.dates)), str(sim),
                              "--lines", str(lines), "--samples", str(samples), "--seed",
                              str(args.seed), "--threads", str(args.threads), "--patches", "1",
                              "--relief", "150", "--mogi-rate", "1.5e5", "--mogi-depth", "500",
                              "--rate", "-0.04", "--seasonal", "0.008", "--bowl-width", "250",
                              "--bowl-east", "-150", "--bperp-spread", "100",
                              "--atmosphere", str(args.atmosphere), "--quiet")
            child.pop("last_line", None)
            result["simulate"] = {**child, "load": load}
            print(f"simulate --stack {max(args.dates)} {lines} x {samples}: "
                  f"{child['wall_s']:.1f} s, peak RSS {child['max_rss_bytes'] / 2 ** 20:.0f} MiB "
                  f"(load {load:.1f})", flush=True)
        scenes = sorted(str(p) for p in sim.glob("[0-9]*.yaml"))
        rows = []
        runs = [(count, ranks, streams) for count in args.dates for ranks in args.mpi
                for streams in args.streams]
        for count, ranks, streams in runs:
            label = f"{count} dates, " + (f"mpi {ranks}" if ranks else
                                          f"{args.threads} threads")
            if streams > 1:
                label += f", {streams} streams"
            run = workdir / f"run_{count}_{ranks}_{streams}"
            shutil.rmtree(run, ignore_errors=True)
            pep_child("stack", "init", str(run), "--scenes", *scenes[:count],
                      "--reference-dem", str(sim / "dem.tif"), "--network", args.network)
            extra = (["--mpi", str(ranks)] if ranks else []) + ["--streams", str(streams)]
            load = os.getloadavg()[0]
            start = time.perf_counter()
            child = pep_child("--run", str(run), "run", "make", TARGET, "-j",
                              str(args.threads), *extra)
            child.pop("last_line", None)
            from peppers.hkv import RunDatabase

            db = RunDatabase.open(run)
            facts = {"label": label, "dates": count, "mpi": ranks, "streams": streams,
                     "pairs": len(db.get("stack.pairs")),
                     "rules_run": len(db.get("drs.rules", {})), **child,
                     "load": [load, os.getloadavg()[0]],
                     "elapsed_s": time.perf_counter() - start,
                     **velocity_ratio(run, sim)}
            result["runs"].append(facts)
            rows.append([label, facts["pairs"], facts["rules_run"], f"{child['wall_s']:.1f}",
                         f"{child['max_rss_bytes'] / 2 ** 20:.0f}",
                         f"{facts['rms_error_m_per_year'] * 1e3:.2f}",
                         f"{facts['ratio']:.2f}", f"{load:.1f}-{facts['load'][1]:.1f}"])
            if "rms_atmosphere_m_per_year" in facts:
                print(f"  atmosphere: RMS velocity of the delays "
                      f"{facts['rms_atmosphere_m_per_year'] * 1e3:.2f} mm/yr; error / "
                      f"sqrt(sigma^2 + atm^2) {facts['ratio_with_atmosphere']:.2f}; error "
                      f"without the atmosphere's part "
                      f"{facts['rms_error_without_atmosphere_m_per_year'] * 1e3:.2f} mm/yr",
                      flush=True)
            print(common.table(["run", "pairs", "rules", "wall s", "peak RSS MiB",
                                "vel RMS err mm/yr", "err/sigma", "load"], rows[-1:]),
                  flush=True)
            shutil.rmtree(run, ignore_errors=True)
        print("\n" + common.table(["run", "pairs", "rules", "wall s", "peak RSS MiB",
                                   "vel RMS err mm/yr", "err/sigma", "load"], rows))
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"wrote {common.save_json(args.json, result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
