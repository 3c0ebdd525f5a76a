"""The whole chain at size: a simulated pair through ``pep run make geocoded_dem``.

Issue 18, item 3. ``pep simulate`` makes a pair of ``--shape`` (the issue's
unit of work is 20000 x 6000; the default here is smaller so that a check
takes a minute), timed and measured apart (the simulator streams in blocks
of lines: its peak RSS does not grow with the lines, docs/simulator.md). Then for each ``--mpi`` setting (``0``: threads only;
``N``: ``pep run make --mpi N``) a fresh run (``pep init``) makes
``geocoded_dem`` in a child process under ``/usr/bin/time -v``, and the
run's own ``events.jsonl`` gives

* the wall time of every stream (``stream_end``) and global rule
  (``rule_start`` to ``rule_end``), in the order they ran;
* the compute seconds of every operator of a stream (the last ``tile``
  event's per-node totals: wall time inside ``compute``, summed over the
  threads that ran it; under ``--mpi`` the ranks do not write them to the
  run's events, so only the step walls are given);
* the child's wall time and peak RSS (the largest process of the tree, as
  ``/usr/bin/time`` reports it).

The load average is printed beside each run: on a shared machine compare
ratios measured in one invocation.

Usage::

    python benchmarks/full_size.py --shape 2000 1200            # threads, then --mpi 2
    python benchmarks/full_size.py --shape 20000 6000 --mpi 0   # the issue's size

Writes ``benchmarks/results/full_size.json`` (``--json NAME`` to rename).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import _common as common

TARGET = "geocoded_dem"


def pep_child(*args: str) -> dict:
    """``pep ARGS`` in a child under ``/usr/bin/time``: wall seconds, peak RSS."""
    return common.run_child(["-m", "peppers.cli.main", *args])


def run_events(run: Path) -> dict:
    """Stream and global-rule wall times and per-operator compute seconds of a run.

    A stream run under ``--mpi`` writes no stream events to the run's file
    (its ranks report to rank 0); its wall time is then the gap between the
    steps around it in the plan's order (``"from": "gap"``).
    """
    events = [json.loads(line)
              for line in (run / ".peppers" / "events.jsonl").read_text().splitlines()]
    plan = next((e for e in events if e.get("kind") == "plan"), {"steps": []})
    run_start = next(float(e["t"]) for e in events if e.get("kind") == "run_start")
    run_end = next((float(e["t"]) for e in events if e.get("kind") == "run_end"),
                   float(events[-1]["t"]))
    start: dict[str, float] = {}
    end: dict[str, float] = {}
    stream_wall: dict[str, float] = {}
    last_tile: dict[str, dict] = {}
    for e in events:
        kind = e.get("kind")
        if kind == "rule_start":
            start[e["rule"]] = float(e["t"])
        elif kind == "rule_end":
            end[e["rule"]] = float(e["t"])
        elif kind == "stream_end":
            stream_wall[e["stream"]] = float(e.get("wall_seconds", 0.0))
            end[e["stream"]] = float(e["t"])
        elif kind == "tile":
            last_tile[e["stream"]] = e
    steps: list[dict] = []
    names = [step["step"] for step in plan["steps"]]
    cursor = run_start
    for k, name in enumerate(names):
        if name in stream_wall:
            steps.append({"step": name, "kind": "stream", "wall_s": stream_wall[name],
                          "from": "events"})
        elif name in start and name in end:
            steps.append({"step": name, "kind": "rule", "wall_s": end[name] - start[name],
                          "from": "events"})
        else:
            later = [start[n] for n in names[k + 1:] if n in start] + [run_end]
            steps.append({"step": name, "kind": "stream", "wall_s": later[0] - cursor,
                          "from": "gap"})
        cursor = end.get(name, cursor + steps[-1]["wall_s"])
    operators: dict[str, float] = {}
    for e in last_tile.values():
        for name, (_, seconds) in e.get("nodes", {}).items():
            operators[name] = operators.get(name, 0.0) + float(seconds)
    return {"steps": steps, "operator_compute_s": operators}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", type=int, nargs=2, default=(2000, 1200),
                        metavar=("LINES", "SAMPLES"), help="pair size (default 2000 1200)")
    parser.add_argument("--threads", type=int, default=2, help="threads (default 2)")
    parser.add_argument("--mpi", type=int, nargs="+", default=[0, 2],
                        help="MPI ranks per run, 0 = threads only (default: 0 2)")
    parser.add_argument("--seed", type=int, default=0, help="simulation seed (default 0)")
    parser.add_argument("--json", default="full_size", help="results file name")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="folder for the pair and the runs (default: temporary); "
                             "a pair already there is reused")
    parser.add_argument("--keep", action="store_true", help="keep --workdir afterwards")
    args = parser.parse_args(argv)
    shape = tuple(args.shape)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="full_size_"))
    workdir.mkdir(parents=True, exist_ok=True)
    result: dict = {"shape": shape, "threads": args.threads, "seed": args.seed, "runs": {}}
    try:
        sim = workdir / "sim"
        if not (sim / "truth.yaml").exists():
            load = os.getloadavg()[0]
            child = pep_child("simulate", str(sim), "--lines", str(shape[0]), "--samples",
                              str(shape[1]), "--seed", str(args.seed),
                              "--threads", str(args.threads))
            result["simulate"] = {**child, "load": load}
            print(f"simulate {shape[0]} x {shape[1]}: {child['wall_s']:.1f} s, peak RSS "
                  f"{child['max_rss_bytes'] / 2 ** 20:.0f} MiB (load {load:.1f})", flush=True)
        for ranks in args.mpi:
            label = f"mpi {ranks}" if ranks else f"{args.threads} threads"
            run = workdir / f"run_mpi{ranks}"
            shutil.rmtree(run, ignore_errors=True)
            pep_child("init", str(run), "--master", str(sim / "master.yaml"),
                      "--slave", str(sim / "slave.yaml"))
            extra = ["--mpi", str(ranks)] if ranks else []
            load = os.getloadavg()[0]
            start = time.perf_counter()
            child = pep_child("--run", str(run), "run", "make", TARGET, "-j", str(args.threads),
                              *extra)
            child.pop("last_line", None)
            facts = {**child, "load": [load, os.getloadavg()[0]], **run_events(run),
                     "elapsed_s": time.perf_counter() - start}
            result["runs"][label] = facts
            print(f"\n{label}: {child['wall_s']:.1f} s wall, peak RSS "
                  f"{child['max_rss_bytes'] / 2 ** 20:.0f} MiB, load {load:.1f}", flush=True)
            print(common.table(["step", "kind", "wall s", "from"],
                               [[s["step"], s["kind"], f"{s['wall_s']:.1f}", s["from"]]
                                for s in facts["steps"]]))
            ops = sorted(facts["operator_compute_s"].items(), key=lambda kv: -kv[1])
            print(common.table(["operator", "compute s"], [[n, f"{v:.2f}"] for n, v in ops]))
        walls = {label: r["wall_s"] for label, r in result["runs"].items()}
        if len(walls) > 1:
            first = next(iter(walls.values()))
            print("\n" + ", ".join(f"{label}: {first / w:.2f}x" for label, w in walls.items())
                  + f" (against {next(iter(walls))})")
    finally:
        if args.workdir is None or not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"wrote {common.save_json(args.json, result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
