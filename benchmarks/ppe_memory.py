"""Peak memory of the four-operator chain: PPE at the default budget vs whole arrays.

Issue 3's acceptance: over a 20000 x 6000 complex64 image (0.96 GB on disk)
the chain (box filter, FFT Gaussian, phase ramp, sinc resampler; see
``_common.py``) runs on the PPE with a peak RSS, as ``/usr/bin/time -v``
reports it, of at most 1.0 GB at the default memory budget, while the
whole-array version needs several times that.

Each variant runs in its own child process (this script with ``--child``),
so the peak RSS is that variant's alone, interpreter and libraries included.
The two outputs are then compared (they should be bit-identical).

Usage::

    python benchmarks/ppe_memory.py                       # 20000 x 6000, ~2 min
    python benchmarks/ppe_memory.py --shape 4000 3000     # a quick run
    python benchmarks/ppe_memory.py --skip-whole          # PPE only

Writes ``benchmarks/results/ppe_memory.json`` (``--json NAME`` to rename) and prints a table.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import _common as common

GOAL_BYTES = 1.0e9


def _child(args: argparse.Namespace) -> None:
    """One variant, in this (child) process; prints a JSON line of facts."""
    shape = tuple(args.shape)
    start = time.perf_counter()
    if args.child == "ppe":
        lines: list[str] = []
        stats = common.ppe_chain(Path(args.input), Path(args.output), shape,
                                 threads=args.threads, mem=args.mem, echo=lines.append)
        facts = {"estimate": lines[-1] if lines else "", "tiles": stats.run,
                 "peak_cache_bytes": stats.peak_cache_bytes, "hit_rate": stats.hit_rate}
    else:
        common.whole_array_chain(Path(args.input), Path(args.output), shape)
        facts = {}
    facts["seconds"] = time.perf_counter() - start
    print(json.dumps(facts))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", type=int, nargs=2, default=(20000, 6000),
                        metavar=("ROWS", "COLS"), help="image shape (default 20000 6000)")
    parser.add_argument("--mem", default=None,
                        help="PPE memory budget, e.g. 512M (default: the engine's default)")
    parser.add_argument("--threads", type=int, default=2, help="PPE threads (default 2)")
    parser.add_argument("--json", default="ppe_memory",
                        help="results file name in benchmarks/results (default ppe_memory)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="folder for the images (default: a temporary folder, removed)")
    parser.add_argument("--skip-whole", action="store_true", help="run the PPE variant only")
    parser.add_argument("--child", choices=("ppe", "whole"), help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args)
        return 0

    shape = tuple(args.shape)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="ppe_memory_"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        source = workdir / "input.vrt"
        print(f"writing a {shape[0]} x {shape[1]} complex64 input "
              f"({shape[0] * shape[1] * 8 / 1e9:.2f} GB) to {workdir}", flush=True)
        common.make_input(source, shape).close()
        script = str(Path(__file__).resolve())
        base = ["--shape", str(shape[0]), str(shape[1]), "--input", str(source),
                "--threads", str(args.threads)] + (["--mem", args.mem] if args.mem else [])
        runs = {}
        variants = ["ppe"] if args.skip_whole else ["ppe", "whole"]
        for variant in variants:
            print(f"running {variant} ...", flush=True)
            out = workdir / f"{variant}.vrt"
            runs[variant] = common.run_child([script, *base, "--child", variant,
                                              "--output", str(out)])
            runs[variant]["facts"] = json.loads(runs[variant].pop("last_line"))
        check = (common.compare_images(workdir / "ppe.vrt", workdir / "whole.vrt")
                 if "whole" in runs else None)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)

    ppe_rss = runs["ppe"]["max_rss_bytes"]
    rows = []
    for variant, run in runs.items():
        rss = run["max_rss_bytes"]
        rows.append([variant, f"{rss / 1e9:.3f}", f"{rss / ppe_rss:.2f}",
                     f"{run['wall_s']:.1f}"])
    print()
    print(common.table(["variant", "peak RSS GB", "x PPE", "wall s"], rows))
    print(f"\nPPE: {runs['ppe']['facts']['estimate']}")
    goal_met = ppe_rss <= GOAL_BYTES
    print(f"goal: PPE peak RSS <= {GOAL_BYTES / 1e9:.1f} GB: "
          f"{'met' if goal_met else 'NOT met'} ({ppe_rss / 1e9:.3f} GB)")
    if check is not None:
        print(f"outputs bit-identical: {check['bit_identical']} "
              f"(max |diff| {check['max_abs_diff']:.3g})")
    path = common.save_json(args.json, {
        "shape": shape, "input_bytes": shape[0] * shape[1] * 8, "mem": args.mem,
        "threads": args.threads, "runs": runs, "goal_bytes": GOAL_BYTES,
        "goal_met": goal_met, "comparison": check})
    print(f"wrote {path}")
    return 0 if goal_met else 1


if __name__ == "__main__":
    sys.exit(main())
