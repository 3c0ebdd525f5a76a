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

The variants alternate, ``--repeats`` times each after one untimed warm-up
of each (numba caches, page cache); medians are reported. Throughput is
pixels of the master grid per second of the child's wall time (interpreter
start included) and per second of its compute time (the child's own clock
around the work). The outputs of the two variants are compared.

Usage::

    python benchmarks/stream1.py                      # 4000 x 2000, 3 repeats
    python benchmarks/stream1.py --shape 1000 600 --repeats 1   # quick
    python benchmarks/stream1.py --workdir /tmp/s1 --keep       # keep the pair and run

Writes ``benchmarks/results/stream1.json`` (``--json NAME`` to rename) and prints a table.
"""

from __future__ import annotations

import argparse
import json
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


def whole_stream(run: Path, outdir: Path) -> dict[str, float]:
    """Stream 1 on whole images, every intermediate through ``outdir``; seconds per node."""
    import importlib

    from peppers.ppe.streamspec import StreamSpec, stream_path
    from peppers.ppe.testing import whole_image

    spec = StreamSpec.load(stream_path(run, STREAM))
    where = {image: run / path for image, path in spec.sources.items()}
    seconds = {}
    for node in spec.nodes:
        start = time.perf_counter()
        module, _, name = node.operator.partition(":")
        op = getattr(importlib.import_module(module), name)(**node.params)
        arrays = {port: _read_whole(where[image]) for port, image in node.inputs.items()}
        outputs = whole_image(op, **arrays)
        del arrays
        for port, image in node.outputs.items():
            where[image] = outdir / f"{image}.vrt"
            _write_whole(where[image], outputs[port])
        del outputs
        seconds[node.name] = time.perf_counter() - start
    return seconds


def _child(args: argparse.Namespace) -> None:
    """One variant in this (child) process; prints one JSON line of facts."""
    run = Path(args.run)
    start = time.perf_counter()
    if args.child == "ppe":
        for name in TARGETS:
            for suffix in (".vrt", ".raw"):
                (run / "images" / f"{name}{suffix}").unlink(missing_ok=True)
        from peppers.cli.main import main as pep_main

        code = pep_main(["--run", str(run), "run", "make", *TARGETS, "-j", str(args.threads)])
        if code:
            raise SystemExit(code)
        facts: dict = {}
    else:
        facts = {"node_seconds": whole_stream(run, Path(args.outdir))}
    facts["seconds"] = time.perf_counter() - start
    print(json.dumps(facts))


def _summary(runs: list[dict], pixels: int) -> dict:
    """Medians over repeats: wall, compute seconds, peak RSS, throughputs."""
    wall = statistics.median(r["wall_s"] for r in runs)
    compute = statistics.median(r["facts"]["seconds"] for r in runs)
    rss = statistics.median(r["max_rss_bytes"] for r in runs)
    return {"wall_s": wall, "compute_s": compute, "max_rss_bytes": rss,
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
    parser.add_argument("--child", choices=("ppe", "whole"), help=argparse.SUPPRESS)
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
    runs: dict[str, list[dict]] = {"ppe": [], "whole": []}
    try:
        print(f"stream 1 on a simulated {shape[0]} x {shape[1]} pair in {workdir}", flush=True)
        setup = _setup(workdir, shape, args.seed, args.threads)
        print("  " + ", ".join(f"{k} {v:.1f}" for k, v in setup.items()), flush=True)
        for k in range(args.repeats + 1):
            for variant in ("ppe", "whole"):
                child = common.run_child([*base, "--child", variant, "--outdir", str(whole_dir)])
                child["facts"] = json.loads(child.pop("last_line"))
                label = "warm-up" if k == 0 else f"run {k}"
                print(f"  {variant:5s} {label}: {child['wall_s']:.1f} s, peak RSS "
                      f"{child['max_rss_bytes'] / 2 ** 20:.0f} MiB", flush=True)
                if k:
                    runs[variant].append(child)
        check = {name: common.compare_images(workdir / "run" / "images" / f"{name}.vrt",
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
    ratio = summary["whole"]["max_rss_bytes"] / summary["ppe"]["max_rss_bytes"]
    speed = summary["whole"]["wall_s"] / summary["ppe"]["wall_s"]
    print(f"\nPPE: {speed:.2f}x the whole-image throughput (wall), {1 / ratio:.2f}x its peak RSS")
    for name, c in check.items():
        print(f"{name}: bit-identical {c.get('bit_identical')} "
              f"(max |diff| {c.get('max_abs_diff', float('nan')):.3g})")
    path = common.save_json(args.json, {
        "shape": shape, "pixels": pixels, "threads": args.threads, "repeats": args.repeats,
        "seed": args.seed, "setup": setup, "summary": summary, "comparison": check})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
