"""Stream 1 throughput and peak memory: the PPE (through the DRS) vs whole images on disk.

Issue 9's benchmark. A simulated pair (``pep simulate``, default 4000 x 2000)
is set up as a run (``pep init``) and coregistered once (``pep run make
insar.coregistration.offsets``: a reduction, the same for both variants and
timed apart). Then stream 1 — ``resample_filter`` (slave resampling and
common-band filters), ``interferogram`` (flat earth), ``fringe_slope``,
``coherence_single_look``, ``multilook_interferogram``,
``multilook_coherence``, ``adaptive_filter`` — runs two ways, each in its own
child process so that its peak RSS (``/usr/bin/time -v``) is its own:

* ``ppe``: ``pep run make filtered_interferogram coherence -j THREADS``
  after deleting those two outputs, so the scheduler reruns the whole stream
  (the intermediates are never written) and nothing else;
* ``whole``: the same operators, built from the stream spec that the DRS
  wrote (``RUN/.peppers/streams/stream-1.yaml``, resolved parameters), each
  applied once to whole images (:func:`peppers.ppe.testing.whole_image`),
  every intermediate written to a raw image, flushed and read back by the
  next step (the 1999 design's baseline).

Each variant runs once per fringe-slope method in ``--slope`` (default
``local spectrum``: the coarse-to-fine search and the full padded FFT of
every window, the reference), set with ``pep set insar.slope.method`` for
``ppe`` and as the node's parameter for ``whole``: the old and the new
slope kernel in one run. ``whole`` also records each operator's CPU time
(``time.thread_time`` of the one thread that runs it, so other jobs on a
loaded machine do not count) and wall time, and apart from them the
process's first numba call (``numba_start``: the runtime's start, about 0.6
CPU-s, which the first operator would otherwise carry); ``ppe`` records the run's own
per-node compute seconds (``events.jsonl``, wall time inside ``compute``
summed over both threads). The load average is printed beside every run.

The variants alternate, ``--repeats`` times each after one untimed warm-up
of each (numba caches, page cache); medians are reported. Throughput is
pixels of the master grid per second of the child's wall time (interpreter
start included) and per second of its compute time (the child's own clock
around the work). The outputs of the two variants are compared.

Usage::

    python benchmarks/stream1.py                      # 4000 x 2000, 3 repeats
    python benchmarks/stream1.py --shape 1000 600 --repeats 1   # quick
    python benchmarks/stream1.py --workdir /tmp/s1 --keep       # keep the pair and run
    python benchmarks/stream1.py --slope local                  # the new slope kernel only

Writes ``benchmarks/results/stream1.json`` (``--json NAME`` to rename) and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common as common

#: The two images the stream is made for, and the rule files' stream name.
TARGETS = ("filtered_interferogram", "coherence")
STREAM = "stream-1"


def pep(*args: str, cwd: Path) -> str:
    """Run ``pep ARGS`` in ``cwd`` with this interpreter; raise with its output on failure."""
    proc = subprocess.run([sys.executable, "-m", "peppers.cli.main", *args], cwd=cwd,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"pep {' '.join(args)} failed:\n{proc.stderr}{proc.stdout}")
    return proc.stdout


def _read_whole(path: Path):
    """A whole raster (raw VRT or any source peppers opens)."""
    from peppers.image import Region
    from peppers.io.source import open_source

    source = open_source(path)
    try:
        return source.read(Region.full(source.spec.shape))
    finally:
        getattr(source, "close", lambda: None)()


def _write_whole(path: Path, array) -> None:
    """Write ``array`` as a raw image + VRT, flushed to disk."""
    from peppers.image import ImageSpec, Region
    from peppers.io.raw import RawImage

    with RawImage.create(path, ImageSpec(array.shape, array.dtype), overwrite=True) as out:
        out.write(Region.full(array.shape), array)
        out.flush()


def whole_stream(run: Path, outdir: Path, slope: str) -> dict[str, dict[str, float]]:
    """Stream 1 on whole images, every intermediate through ``outdir``.

    Returns per node its ``wall`` seconds (read, compute, write) and ``cpu``,
    the thread CPU seconds of the compute alone; ``slope`` is the fringe
    slope's ``method``.
    """
    import importlib

    from peppers.ppe.streamspec import StreamSpec, stream_path
    from peppers.ppe.testing import whole_image

    spec = StreamSpec.load(stream_path(run, STREAM))
    where = {image: run / path for image, path in spec.sources.items()}
    seconds = {"numba_start": _numba_start()}
    for node in spec.nodes:
        start = time.perf_counter()
        module, _, name = node.operator.partition(":")
        params = dict(node.params)
        if node.name == "fringe_slope":
            params["method"] = slope
        op = getattr(importlib.import_module(module), name)(**params)
        arrays = {port: _read_whole(where[image]) for port, image in node.inputs.items()}
        cpu = time.thread_time()
        outputs = whole_image(op, **arrays)
        cpu = time.thread_time() - cpu
        del arrays
        for port, image in node.outputs.items():
            where[image] = outdir / f"{image}.vrt"
            _write_whole(where[image], outputs[port])
        del outputs
        seconds[node.name] = {"wall": time.perf_counter() - start, "cpu": cpu}
    return seconds


def _numba_start() -> dict[str, float]:
    """The process's first numba call (runtime start, ~0.6 s of CPU), timed apart.

    Otherwise the first operator of the stream would carry it.
    """
    import numpy as np

    from peppers.operators._spectral_kernels import column_power

    start, cpu = time.perf_counter(), time.thread_time()
    column_power(np.zeros((1, 1), np.complex128))
    return {"wall": time.perf_counter() - start, "cpu": time.thread_time() - cpu}


def _event_node_seconds(run: Path) -> dict[str, float]:
    """Per-node compute seconds of the run's last stream-1 tile event."""
    last = {}
    for line in (run / ".peppers" / "events.jsonl").read_text().splitlines():
        event = json.loads(line)
        if event.get("kind") == "tile" and event.get("stream") == STREAM:
            last = event
    return {name: float(v[1]) for name, v in last.get("nodes", {}).items()}


def _child(args: argparse.Namespace) -> None:
    """One variant in this (child) process; prints one JSON line of facts."""
    run = Path(args.run)
    start = time.perf_counter()
    if args.child == "ppe":
        from peppers.cli.main import main as pep_main
        from peppers.drs.rules import image_path

        for name in TARGETS:
            vrt = run / image_path(name)
            for path in (vrt, vrt.with_suffix("")):
                path.unlink(missing_ok=True)
        code = pep_main(["--run", str(run), "run", "make", *TARGETS, "-j", str(args.threads)])
        if code:
            raise SystemExit(code)
        facts: dict = {"node_seconds": _event_node_seconds(run)}
    else:
        facts = {"node_seconds": whole_stream(run, Path(args.outdir), args.slope_method)}
    facts["seconds"] = time.perf_counter() - start
    print(json.dumps(facts))


def _summary(runs: list[dict], pixels: int) -> dict:
    """Medians over repeats: wall, compute seconds, peak RSS, throughputs."""
    wall = statistics.median(r["wall_s"] for r in runs)
    compute = statistics.median(r["facts"]["seconds"] for r in runs)
    rss = statistics.median(r["max_rss_bytes"] for r in runs)
    nodes: dict = {}
    for r in runs:
        for name, value in r["facts"]["node_seconds"].items():
            nodes.setdefault(name, []).append(value["cpu"] if isinstance(value, dict) else value)
    node_median = {name: statistics.median(v) for name, v in nodes.items()}
    return {"wall_s": wall, "compute_s": compute, "max_rss_bytes": rss,
            "node_seconds": node_median,
            "node_pixels_per_s": {n: pixels / v for n, v in node_median.items() if v > 0},
            "load": [r["load"] for r in runs],
            "pixels_per_s_wall": pixels / wall, "pixels_per_s_compute": pixels / compute,
            "runs": runs}


def _setup(workdir: Path, shape: tuple[int, int], seed: int, threads: int) -> dict:
    """Simulate the pair, make the run, coregister; seconds of each step."""
    took = {}
    if not (workdir / "sim" / "truth.yaml").exists():
        start = time.perf_counter()
        pep("simulate", "sim", "--lines", str(shape[0]), "--samples", str(shape[1]),
            "--seed", str(seed), "--threads", str(threads), cwd=workdir)
        took["simulate_s"] = time.perf_counter() - start
    if not (workdir / "run").exists():
        pep("init", "run", "--master", "sim/master.yaml", "--slave", "sim/slave.yaml",
            cwd=workdir)
    start = time.perf_counter()
    pep("--run", "run", "run", "make", "insar.coregistration.offsets", "-j", str(threads),
        cwd=workdir)
    took["coregistration_s"] = time.perf_counter() - start
    return took


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", type=int, nargs=2, default=(4000, 2000),
                        metavar=("LINES", "SAMPLES"), help="pair size (default 4000 2000)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed runs of each variant (default 3); medians reported")
    parser.add_argument("--threads", type=int, default=2, help="threads (default 2)")
    parser.add_argument("--seed", type=int, default=0, help="simulation seed (default 0)")
    parser.add_argument("--json", default="stream1",
                        help="results file name in benchmarks/results (default stream1)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="folder for the pair and the run (default: temporary); "
                             "a pair already there is reused")
    parser.add_argument("--keep", action="store_true", help="keep --workdir afterwards")
    parser.add_argument("--slope", nargs="+", choices=("local", "spectrum"),
                        default=["local", "spectrum"],
                        help="fringe-slope methods to run (default: local spectrum)")
    parser.add_argument("--child", choices=("ppe", "whole"), help=argparse.SUPPRESS)
    parser.add_argument("--slope-method", default="local", help=argparse.SUPPRESS)
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--outdir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args)
        return 0
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")

    shape = tuple(args.shape)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="stream1_"))
    workdir.mkdir(parents=True, exist_ok=True)
    script = str(Path(__file__).resolve())
    base = [script, "--run", str(workdir / "run"), "--threads", str(args.threads)]
    whole_dir = workdir / "whole"
    whole_dir.mkdir(exist_ok=True)
    variants = [(v, m) for m in args.slope for v in ("ppe", "whole")]
    runs: dict[str, list[dict]] = {f"{v} ({m})": [] for v, m in variants}
    try:
        print(f"stream 1 on a simulated {shape[0]} x {shape[1]} pair in {workdir}", flush=True)
        setup = _setup(workdir, shape, args.seed, args.threads)
        print("  " + ", ".join(f"{k} {v:.1f}" for k, v in setup.items()), flush=True)
        for k in range(args.repeats + 1):
            for variant, method in variants:
                if variant == "ppe":
                    pep("--run", "run", "set", "insar.slope.method", method, cwd=workdir)
                load = os.getloadavg()[0]
                child = common.run_child([*base, "--child", variant, "--outdir", str(whole_dir),
                                          "--slope-method", method])
                child["facts"] = json.loads(child.pop("last_line"))
                child["load"] = [load, os.getloadavg()[0]]
                label = "warm-up" if k == 0 else f"run {k}"
                print(f"  {variant:5s} {method:8s} {label}: {child['wall_s']:.1f} s, peak RSS "
                      f"{child['max_rss_bytes'] / 2 ** 20:.0f} MiB, load {load:.1f}", flush=True)
                if k:
                    runs[f"{variant} ({method})"].append(child)
        from peppers.drs.rules import image_path

        check = {name: common.compare_images(workdir / "run" / image_path(name),
                                             whole_dir / f"{name}.vrt") for name in TARGETS}
    finally:
        if args.workdir is None or not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    pixels = shape[0] * shape[1]
    summary = {variant: _summary(r, pixels) for variant, r in runs.items()}
    rows = []
    for variant, s in summary.items():
        rows.append([variant, f"{s['wall_s']:.1f}", f"{s['compute_s']:.1f}",
                     f"{s['pixels_per_s_wall'] / 1e6:.3f}",
                     f"{s['pixels_per_s_compute'] / 1e6:.3f}",
                     f"{s['max_rss_bytes'] / 2 ** 20:.0f}"])
    print()
    print(common.table(["variant", "wall s", "compute s", "Mpx/s (wall)", "Mpx/s (compute)",
                        "peak RSS MiB"], rows))
    names = list(next(iter(summary.values()))["node_seconds"])
    print("\nper operator, median seconds (whole: thread CPU of one thread; ppe: compute "
          "seconds summed over the threads) and Mpx per second of them:")
    print(common.table(["operator", *summary],
                       [[n, *(f"{s['node_seconds'].get(n, 0):.2f} s / "
                              f"{s['node_pixels_per_s'].get(n, 0) / 1e6:.2f}"
                              for s in summary.values())] for n in names]))
    for method in args.slope:
        ppe, whole = summary[f"ppe ({method})"], summary[f"whole ({method})"]
        print(f"\nslope {method}: PPE {whole['wall_s'] / ppe['wall_s']:.2f}x the whole-image "
              f"throughput (wall), {ppe['max_rss_bytes'] / whole['max_rss_bytes']:.2f}x its peak RSS")
    print(f"outputs of ppe and whole, slope {args.slope[-1]}:")
    for name, c in check.items():
        print(f"{name}: bit-identical {c.get('bit_identical')} "
              f"(max |diff| {c.get('max_abs_diff', float('nan')):.3g})")
    path = common.save_json(args.json, {
        "shape": shape, "pixels": pixels, "threads": args.threads, "repeats": args.repeats,
        "seed": args.seed, "slope": args.slope, "setup": setup, "summary": summary,
        "comparison": check})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
