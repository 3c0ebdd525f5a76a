"""MPI scaling of the PPE: 1 vs 2 ranks, strategies under cost skew, a model for 32/256 ranks.

Run: ``python benchmarks/mpi_scaling.py [--rows 16384] [--cols 2048]``.

1. **Speed-up.** The four-operator chain of ``_common.py`` (box, Gaussian
   FFT, phase ramp, sinc resampler) over a complex64 image, 512 x 512
   tiles, run by ``mpiexec -n 1`` and ``-n 2`` (one thread per rank,
   ``static`` and ``dynamic``). Times are the stream's own wall time
   (``pep-ppe --stats``), without interpreter start-up, and the outputs are
   checked identical.
2. **Measured costs.** Per-operator seconds per tile computation (from the
   1-rank run), the extra computations halo borders cost, and the round
   trip of a dynamic chunk request (``--chunk 1`` run: request seconds /
   chunks on rank 1).
3. **Skew.** A ``Skewed`` operator sleeps 40 ms on the tiles of the top
   half of a 64-tile image (sleeping keeps it immune to CPU noise): static
   blocks vs round-robin vs dynamic on 2 ranks.
4. **Model.** With those measured numbers, each strategy is replayed on the
   real tile plan of a 20000 x 6000 image for 32 and 256 ranks: every
   chunk costs the operator computations its own pull needs
   (``Plan.refcounts`` of the chunk: halo borders recomputed), plus a
   request round trip for dynamic chunks; dynamic chunks go to whichever
   simulated rank is free first. Uniform costs, and a skew where a quarter
   of the image (a stripe band) costs 4x.

Prints a table and writes ``benchmarks/results/mpi_scaling.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import heapq
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import chain_operators, make_input, save_json  # noqa: E402

from peppers.image import ImageSpec  # noqa: E402
from peppers.operator import LocalOperator, Param  # noqa: E402
from peppers.ppe.graph import Graph  # noqa: E402
from peppers.ppe.mpi import launch_command  # noqa: E402
from peppers.ppe.plan import Plan  # noqa: E402
from peppers.ppe.strategies import guided_size, round_robin, static_blocks  # noqa: E402
from peppers.ppe.streamspec import NodeSpec, StreamSpec, stream_path  # noqa: E402

HERE = Path(__file__).resolve().parent
OPS = ["peppers.operators.filters:BoxFilter", "peppers.operators.filters:GaussianFilter",
       "peppers.operators.pixelwise:PhaseRamp", "peppers.operators.resample:PolynomialResampler"]


class Skewed(LocalOperator):
    """Copies its input; sleeps ``seconds`` on tiles starting above row ``below``."""

    name = "skewed"
    params = (Param("seconds", float, 0.04, "sleep per slow tile, s"),
              Param("below", int, 0, "tiles starting above this row are slow"))

    def compute(self, inputs, region):
        if region.row < self.below:
            time.sleep(self.seconds)
        return {"output": np.array(inputs["input"])}


def chain_spec(name: str, shape: tuple[int, int]) -> StreamSpec:
    nodes, image = [], "slc"
    for rule, (path, op) in zip(["box", "gauss", "ramp", "resample"],
                                zip(OPS, chain_operators(shape))):
        nodes.append(NodeSpec(rule, path, op.param_values(), {"input": image},
                              {"output": rule}))
        image = rule
    return StreamSpec(name, {"slc": "inputs/slc.vrt"}, nodes, {image: f"images/{name}.vrt"},
                      (512, 512), "512M")


def pep_ppe(run: Path, stream: str, n: int, *extra: str) -> dict:
    """Run ``pep-ppe`` on ``n`` ranks; the stats it wrote, plus the process wall time."""
    stats = run / f"{stream}-{n}.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE),
                                                       os.environ.get("PYTHONPATH", "")])}
    start = time.perf_counter()
    done = subprocess.run([*launch_command(run, stream, n, launcher="mpiexec", stats=stats),
                           "--force", "--quiet", *extra], capture_output=True, text=True,
                          env=env)
    if done.returncode:
        raise SystemExit(f"pep-ppe failed:\n{done.stderr}")
    result = json.loads(stats.read_text())
    result["process_seconds"] = time.perf_counter() - start
    result["work_seconds"] = max(r["work"] + r["request"] for r in result["ranks"])
    return result


# -- the model ------------------------------------------------------------------------
class _Shape:
    def __init__(self, shape):
        self.spec = ImageSpec(shape, np.complex64)
        self.path = None

    def read(self, region):  # pragma: no cover - the model never reads pixels
        raise AssertionError


def model_plan(shape: tuple[int, int]) -> Plan:
    graph = Graph()
    ref = graph.add_source(_Shape(shape), "slc")
    for name, op in zip(["box", "gauss", "ramp", "resample"], chain_operators(shape)):
        ref = graph.add_operator(op, {"input": ref}, name)["output"]
    return Plan(graph, [ref], (512, 512))


def chunk_cost(plan: Plan, tasks, node_seconds: dict[int, float], weight) -> float:
    """Seconds of one chunk: every node tile its pull computes, the target's weighted."""
    counts = plan.refcounts(tasks)
    target = plan.tasks[0][0]
    return sum(node_seconds[n] * (sum(weight(t) for t in tiles) if n == target else len(tiles))
               for n, tiles in counts.items())


def simulate(plan: Plan, strategy: str, n: int, node_seconds, weight, t_req: float,
             stripe: int) -> float:
    tasks = list(range(len(plan.tasks)))
    if strategy == "static":
        return max(chunk_cost(plan, s, node_seconds, weight) for s in static_blocks(tasks, n))
    if strategy == "round-robin":
        shares = round_robin(tasks, n, stripe)
        return max(sum(chunk_cost(plan, share[i:i + stripe], node_seconds, weight)
                       for i in range(0, len(share), stripe)) for share in shares)
    free = [(0.0, r) for r in range(n)]          # (time the rank is free, rank)
    start, end = 0, 0.0
    while start < len(tasks):
        at, r = heapq.heappop(free)
        size = guided_size(len(tasks) - start, n, stripe)
        at += (t_req if r else 0.0) + chunk_cost(plan, tasks[start:start + size],
                                                 node_seconds, weight)
        start += size
        end = max(end, at)
        heapq.heappush(free, (at, r))
    return end


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=16384)
    parser.add_argument("--cols", type=int, default=2048)
    args = parser.parse_args()
    shape = (args.rows, args.cols)
    out: dict = {"shape": list(shape)}
    with tempfile.TemporaryDirectory(dir=HERE / "results" if (HERE / "results").is_dir()
                                     else None) as tmp:
        run = Path(tmp) / "run"
        (run / "inputs").mkdir(parents=True)
        make_input(run / "inputs" / "slc.vrt", shape)
        chain_spec("chain", shape).save(stream_path(run, "chain"))
        runs = {}
        for n, strategy in [(1, "static"), (2, "static"), (2, "dynamic")]:
            runs[f"{n}-{strategy}"] = r = pep_ppe(run, "chain", n, "--strategy", strategy,
                                                  "--threads", "1")
            raw = (run / "images" / "chain.raw").read_bytes()
            r["digest"] = hashlib.sha256(raw).hexdigest()
        assert len({r["digest"] for r in runs.values()}) == 1, "outputs differ"
        one = runs["1-static"]["ranks"][0]
        node_seconds = {k: one["compute_seconds"][k] / one["computations"][k]
                        for k in one["computations"]}
        out["chain"] = runs
        out["seconds_per_tile"] = node_seconds
        for key in ("2-static", "2-dynamic"):
            runs[key]["speedup"] = runs["1-static"]["work_seconds"] / runs[key]["work_seconds"]
            runs[key]["extra_computations"] = sum(
                sum(r["computations"].values()) for r in runs[key]["ranks"]) - sum(
                one["computations"].values())
        # skew, and the request round trip with one-tile chunks
        make_input(run / "inputs" / "flat.vrt", (256, 256))
        StreamSpec("skew", {"flat": "inputs/flat.vrt"},
                   [NodeSpec("skewed", "mpi_scaling:Skewed", {"seconds": 0.04, "below": 128},
                             {"input": "flat"}, {"output": "out"})],
                   {"out": "images/skew.vrt"}, (32, 32), "64M").save(stream_path(run, "skew"))
        skew = {s: pep_ppe(run, "skew", 2, "--strategy", s, "--threads", "1")
                for s in ("static", "round-robin", "dynamic")}
        fine = pep_ppe(run, "skew", 2, "--strategy", "dynamic", "--threads", "1", "--chunk", "1")
        t_req = fine["ranks"][1]["request"] / max(1, fine["ranks"][1]["chunks"])
        out["skew"] = {s: r["work_seconds"] for s, r in skew.items()}
        out["request_round_trip_seconds"] = t_req
    # the model
    plan = model_plan((20000, 6000))
    seconds = {n: node_seconds[plan.node_name(n)] for n in plan.grids}
    stripe = sum(1 for node, tile in plan.tasks if plan.tile(node, tile).row == 0)
    rows = len(plan.tasks) // stripe
    weights = {"uniform": lambda t: 1.0,
               "skewed": lambda t: 4.0 if rows // 4 <= t // stripe < rows // 2 else 1.0}
    serial = {w: chunk_cost(plan, range(len(plan.tasks)), seconds, f)
              for w, f in weights.items()}
    model = {}
    for w, f in weights.items():
        for n in (32, 256):
            for s in ("static", "round-robin", "dynamic"):
                t = simulate(plan, s, n, seconds, f, t_req, stripe)
                model[f"{w} n={n} {s}"] = {"seconds": t, "speedup": serial[w] / t}
    # a pointwise stream of the same per-tile cost: no halo, so no border recomputation
    flat = Graph()
    ref = flat.add_source(_Shape((20000, 6000)), "slc")
    ref = flat.add_operator(chain_operators((20000, 6000))[2], {"input": ref}, "all")["output"]
    flat_plan = Plan(flat, [ref], (512, 512))
    flat_seconds = {n: sum(node_seconds.values()) for n in flat_plan.grids}
    for w, f in weights.items():
        serial_flat = chunk_cost(flat_plan, range(len(flat_plan.tasks)), flat_seconds, f)
        for n in (32, 256):
            for s in ("static", "round-robin", "dynamic"):
                t = simulate(flat_plan, s, n, flat_seconds, f, t_req, stripe)
                model[f"pointwise {w} n={n} {s}"] = {"seconds": t, "speedup": serial_flat / t}
    out["model"] = {"image": [20000, 6000], "tiles": len(plan.tasks), "serial": serial,
                    "runs": model}
    path = save_json("mpi_scaling", out)
    print(f"chain {shape[0]}x{shape[1]} complex64, 512x512 tiles ({len(plan.tasks)} tiles in "
          "the model image)")
    print(f"{'run':<12}{'work s':>9}{'process s':>11}{'speed-up':>10}{'extra comps':>13}")
    for key, r in runs.items():
        print(f"{key:<12}{r['work_seconds']:9.2f}{r['process_seconds']:11.2f}"
              f"{r.get('speedup', 1.0):10.2f}{r.get('extra_computations', 0):13d}")
    print("seconds per tile computation: " + ", ".join(
        f"{k} {1000 * v:.1f} ms" for k, v in node_seconds.items()))
    print(f"dynamic request round trip: {1000 * t_req:.2f} ms")
    print("skew (2 ranks, 32 of 64 tiles sleep 40 ms): " + ", ".join(
        f"{s} {t:.2f} s" for s, t in out["skew"].items()))
    print(f"model, 20000x6000 ({len(plan.tasks)} tiles), serial {serial['uniform']:.1f} s "
          f"uniform / {serial['skewed']:.1f} s skewed:")
    for key, m in model.items():
        print(f"  {key:<28}{m['seconds']:8.2f} s  speed-up {m['speedup']:6.1f}")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
