"""Shared pieces of the PPE benchmarks: the chain, test images, timing, RSS, JSON.

The chain (both benchmarks run the same one) has the four operators of
issue 3, with the parameters a small InSAR stream would use:

1. :class:`BoxFilter` 5 x 5 (halo 2),
2. :class:`GaussianFilter` sigma 1.5 (FFT, radius 6, 128-pixel blocks),
3. :class:`PhaseRamp` in absolute coordinates (pixel-wise),
4. :class:`PolynomialResampler` 8-tap sinc through a quadratic offset field
   of up to about 3 pixels (the form coregistration produces).

It is run three ways: on the PPE (:func:`ppe_chain`), on whole arrays with
every intermediate written to disk and read back (:func:`whole_array_chain`,
the 1999 baseline), and with ``dask.array.map_overlap`` calling the same
kernels (:func:`dask_chain`). Peak memory is measured as ``/usr/bin/time
-v`` reports it, on a child process (:func:`run_child`).

Results go to ``benchmarks/results/NAME.json`` (atomic write) with the
machine's state (cores, load average), since the machine may be shared.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from peppers.image import ImageSpec, Region
from peppers.io.raw import RawImage
from peppers.operators._arrays import read_region, reflect_index
from peppers.operators.filters import BoxFilter, GaussianFilter
from peppers.operators.pixelwise import PhaseRamp
from peppers.operators.resample import PolynomialResampler
from peppers.ppe import Pipeline
from peppers.ppe.executor import ThreadExecutor
from peppers.ppe.testing import whole_image

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
GIB = 1024 ** 3


# -- the chain ------------------------------------------------------------------------
def chain_operators(shape: tuple[int, int]) -> list:
    """The four operators, the resampler's polynomial normalised to ``shape``."""
    rows, cols = shape
    return [
        BoxFilter(size=(5, 5)),
        GaussianFilter(sigma=1.5),
        PhaseRamp(row_rate=0.013, col_rate=-0.021),
        PolynomialResampler(row_coeffs=[1.5, 0.8, -0.3, 0.2, 0.1, -0.15],
                            col_coeffs=[-2.25, 0.2, 0.6, -0.1, 0.05, 0.3],
                            center=(rows / 2, cols / 2), scale=(rows / 2, cols / 2)),
    ]


def make_input(path: Path, shape: tuple[int, int], seed: int = 0,
               strip_rows: int = 512) -> RawImage:
    """Write a complex64 Gaussian-noise image as raw + VRT, a strip at a time."""
    rng = np.random.default_rng(seed)
    image = RawImage.create(path, ImageSpec(shape, np.complex64), overwrite=True)
    for row in range(0, shape[0], strip_rows):
        n = min(strip_rows, shape[0] - row)
        strip = np.empty((n, shape[1]), np.complex64)
        strip.real = rng.standard_normal((n, shape[1]), dtype=np.float32)
        strip.imag = rng.standard_normal((n, shape[1]), dtype=np.float32)
        image.write(Region(row, 0, n, shape[1]), strip)
    image.flush()
    return image


def ppe_chain(source: Path, target: Path, shape: tuple[int, int], *, threads: int,
              mem: str | int | None = None, tile: tuple[int, int] | None = None,
              echo: Callable[[str], None] | None = None, executor: Any = None):
    """Run the chain on the PPE from one raw image to another; return the stats.

    ``executor`` (e.g. a :class:`MeasuredThreads`) replaces the default
    thread pool of ``threads``.
    """
    kwargs: dict[str, Any] = {"threads": threads}
    if mem is not None:
        kwargs["mem"] = mem
    if tile is not None:
        kwargs["tile_shape"] = tile
    p = Pipeline(**kwargs)
    x = p.source(str(source))
    for op in chain_operators(shape):
        x = p.add(op, x)
    p.output(x, path=str(target))
    result = p.run(echo=echo or (lambda line: None), executor=executor)
    result[next(iter(result))].close()
    return result.stats


def whole_array_chain(source: Path, target: Path, shape: tuple[int, int]) -> None:
    """The 1999 baseline: each operator on the whole image, intermediates on disk.

    Every step reads its input image whole, calls the operator's kernel once
    on it (edges padded by ``numpy.pad``), and writes the result whole to a
    raw image (flushed) beside ``target`` that the next step reads back; the
    last step writes ``target``.
    """
    current = source
    ops = chain_operators(shape)
    for k, op in enumerate(ops):
        with RawImage.open(current) as image:
            x = image.read(Region.full(image.spec.shape))
        y = whole_image(op, input=x)["output"]
        del x
        current = target if k == len(ops) - 1 else target.with_name(f"whole_step{k}.vrt")
        with RawImage.create(current, ImageSpec(y.shape, y.dtype), overwrite=True) as out:
            out.write(Region.full(y.shape), y)
            out.flush()
        del y


# -- dask -----------------------------------------------------------------------------
class _RawTarget:
    """``da.store`` target writing into a raw image by slices."""

    def __init__(self, image: RawImage) -> None:
        self.image = image

    def __setitem__(self, key: tuple[slice, slice], value: np.ndarray) -> None:
        self.image.write(Region.from_slices(*key), value)


def _depth(op, shape: tuple[int, int], chunks: tuple[tuple[int, ...], tuple[int, ...]]):
    """The overlap ``map_overlap`` needs so every chunk holds the pixels ``op`` reads.

    Pixels outside the image are either mirrored from inside (edge mode
    ``reflect``) or filled, so only the image pixels behind a request count.
    """
    depth = [0, 0]
    edges = [np.cumsum((0,) + chunks[0]), np.cumsum((0,) + chunks[1])]
    spec = {"input": ImageSpec(shape, np.complex64)}
    for r0, r1 in zip(edges[0][:-1], edges[0][1:]):
        for c0, c1 in zip(edges[1][:-1], edges[1][1:]):
            out = Region.from_bounds(int(r0), int(r1), int(c0), int(c1))
            need = op.input_region(out, spec)["input"]
            for axis, (lo, hi, first, stop) in enumerate((
                    (need.row, need.row_stop, out.row, out.row_stop),
                    (need.col, need.col_stop, out.col, out.col_stop))):
                index = np.arange(lo, hi)
                if op.edge_mode == "reflect":
                    index = reflect_index(index, shape[axis])
                index = index[(index >= 0) & (index < shape[axis])]
                if index.size:
                    depth[axis] = max(depth[axis], first - int(index.min()),
                                      int(index.max()) + 1 - stop)
    return tuple(depth)


def _merge_small(chunks: tuple[int, ...], depth: int) -> tuple[int, ...]:
    """Merge chunks smaller than ``depth`` into their left neighbour."""
    merged: list[int] = []
    for size in chunks:
        if merged and (size < depth or merged[-1] < depth):
            merged[-1] += size
        else:
            merged.append(size)
    return tuple(merged)


def dask_chain(source: Path, target: Path, shape: tuple[int, int], *, threads: int,
               chunk: tuple[int, int] = (512, 512)) -> None:
    """The chain with ``dask.array.map_overlap`` calling the same operator kernels.

    The input is a memory map of the raw file. Each operator becomes one
    ``map_overlap`` with ``boundary="none"`` and the smallest uniform depth
    that covers its input regions; inside each chunk the operator's input
    region is cut out and edge-filled exactly as the PPE does, so the result
    equals the PPE's. Written with ``da.store`` on ``threads`` threads.
    """
    import dask
    import dask.array as da

    with RawImage.open(source) as image:
        raw_path = image.raw_path
    memmap = np.memmap(raw_path, dtype=np.complex64, mode="r", shape=shape)
    x = da.from_array(memmap, chunks=chunk)
    for op in chain_operators(shape):
        depth = _depth(op, shape, x.chunks)
        # map_overlap needs every chunk >= depth; merging ends (fewer chunks each time)
        while (merged := tuple(map(_merge_small, x.chunks, depth))) != x.chunks:
            x = x.rechunk(merged)
            depth = _depth(op, shape, x.chunks)

        starts = [np.cumsum((0,) + c) for c in x.chunks]

        def run(block: np.ndarray, block_info=None, op=op, depth=depth,
                starts=starts) -> np.ndarray:
            # block_info's array-location is in overlapped coordinates: use the chunk index
            i, j = block_info[None]["chunk-location"]
            out = Region.from_bounds(int(starts[0][i]), int(starts[0][i + 1]),
                                     int(starts[1][j]), int(starts[1][j + 1]))
            held = out.grow(*depth).clip(shape)
            need = op.input_region(out, {})["input"]
            tile = read_region(block, need, op.edge_mode, window=held, image_shape=shape)
            result = op.compute({"input": tile}, out)["output"]
            # map_overlap trims `depth` off the result: give it a block of the input's size
            full = np.zeros(block.shape, result.dtype)
            full[out.relative_to(held)] = result
            return full

        dtype = op.output_spec({"input": ImageSpec(shape, x.dtype)})["output"].dtype
        x = x.map_overlap(run, depth=depth, boundary="none", dtype=dtype, trim=True,
                          allow_rechunk=False)
    with RawImage.create(target, ImageSpec(shape, x.dtype), overwrite=True) as out:
        with dask.config.set(scheduler="threads", num_workers=threads):
            da.store(x, _RawTarget(out), lock=False)
        out.flush()


# -- measuring ------------------------------------------------------------------------
def run_child(argv: Sequence[str]) -> dict[str, Any]:
    """Run ``python argv...`` and return its wall time, peak RSS and last stdout line.

    Peak RSS is "Maximum resident set size" of ``/usr/bin/time -v`` where it
    exists, else ``ru_maxrss`` of that one child from ``os.wait4`` (the
    same kernel counter).
    """
    cmd = [sys.executable, *argv]
    timer = Path("/usr/bin/time")
    start = time.perf_counter()
    if timer.exists():
        proc = subprocess.run([str(timer), "-v", *cmd], capture_output=True, text=True)
        wall = time.perf_counter() - start
        found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
        rss = int(found.group(1)) * 1024 if found else -1
        code, out, err = proc.returncode, proc.stdout, proc.stderr
    else:
        with tempfile.TemporaryFile("w+") as out_f, tempfile.TemporaryFile("w+") as err_f:
            child = subprocess.Popen(cmd, stdout=out_f, stderr=err_f, text=True)
            _, status, usage = os.wait4(child.pid, 0)
            child.returncode = os.waitstatus_to_exitcode(status)
            wall = time.perf_counter() - start
            out_f.seek(0)
            err_f.seek(0)
            code, out, err = child.returncode, out_f.read(), err_f.read()
        rss = usage.ru_maxrss * 1024
    if code != 0:
        tail = "\n".join(err.strip().splitlines()[-15:])
        raise RuntimeError(f"child {' '.join(argv)} failed with exit code {code}:\n{tail}")
    lines = [line for line in out.strip().splitlines() if line.strip()]
    return {"wall_s": wall, "max_rss_bytes": rss, "last_line": lines[-1] if lines else ""}


def _schedstat(tid: int) -> tuple[float, float] | None:
    """Seconds thread ``tid`` of this process ran and waited to run (Linux), or None."""
    try:
        with open(f"/proc/self/task/{tid}/schedstat") as f:
            ran, waited, _ = f.read().split()
    except (OSError, ValueError):
        return None
    return int(ran) / 1e9, int(waited) / 1e9


class MeasuredThreads(ThreadExecutor):
    """A PPE thread pool that measures where its workers' time went.

    From each worker's first task to :meth:`times`, the kernel's scheduler
    statistics (``/proc/self/task/TID/schedstat``) split the wall time into
    *running* (on a CPU), *runnable* (ready, waiting for a CPU that other
    processes hold: the machine's load) and the rest, *blocked* (waiting for
    the GIL, a lock, another worker's tile, I/O, or for work). Running and
    blocked time do not depend on the load of the machine the way wall time
    does, so ``running / (running + blocked)`` -- the workers' efficiency
    -- says how well the threads would use the cores of a quiet machine.
    """

    def __init__(self, n_threads: int) -> None:
        super().__init__(n_threads)
        self._start: dict[int, tuple[float, float, float]] = {}
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], *args: Any):
        return super().submit(self._first, fn, *args)

    def _first(self, fn: Callable[..., Any], *args: Any) -> Any:
        tid = threading.get_native_id()
        if tid not in self._start:
            stat = _schedstat(tid) or (time.thread_time(), 0.0)
            with self._lock:
                self._start.setdefault(tid, (time.perf_counter(), *stat))
        return fn(*args)

    def times(self) -> dict[str, float]:
        """Summed over workers: ``running``, ``runnable``, ``blocked`` seconds (call before
        :meth:`shutdown`); ``runnable`` is 0 where the kernel does not tell."""
        now = time.perf_counter()
        total = {"running": 0.0, "runnable": 0.0, "blocked": 0.0}
        for tid, (start, ran0, waited0) in self._start.items():
            ran, waited = _schedstat(tid) or (ran0, waited0)
            total["running"] += ran - ran0
            total["runnable"] += waited - waited0
            total["blocked"] += (now - start) - (ran - ran0) - (waited - waited0)
        return total


def cpu_seconds() -> float:
    """User plus system CPU seconds of this process so far."""
    t = os.times()
    return t.user + t.system


def timed(func: Callable[[], Any], repeats: int) -> list[float]:
    """Wall times of ``repeats`` calls of ``func``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return times


def compare_images(a: Path, b: Path, strip_rows: int = 1024) -> dict[str, Any]:
    """Largest difference between two raw images, read a strip at a time."""
    with RawImage.open(a) as ia, RawImage.open(b) as ib:
        if ia.spec.shape != ib.spec.shape:
            return {"same_shape": False}
        rows, cols = ia.spec.shape
        worst, scale, equal = 0.0, 0.0, True
        for row in range(0, rows, strip_rows):
            region = Region(row, 0, min(strip_rows, rows - row), cols)
            x, y = ia.read(region), ib.read(region)
            equal = equal and bool(np.array_equal(x, y))
            worst = max(worst, float(np.abs(x - y).max()))
            scale = max(scale, float(np.abs(x).max()))
    return {"same_shape": True, "bit_identical": equal, "max_abs_diff": worst,
            "max_abs_value": scale}


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table with aligned columns."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.rjust(w) if k else c.ljust(w) for k, (c, w) in enumerate(zip(r, widths)))
             for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    """Facts about the machine and code the numbers were measured on."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = ""
    return {"cpus": os.cpu_count(), "load_average": os.getloadavg(),
            "platform": platform.platform(), "python": platform.python_version(),
            "numpy": np.__version__, "commit": commit,
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def save_json(name: str, payload: dict[str, Any]) -> Path:
    """Write ``benchmarks/results/NAME.json`` atomically (temporary file, fsync, rename)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    fd, tmp = tempfile.mkstemp(dir=RESULTS, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump({"machine": machine(), **payload}, f, indent=2, default=float)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
