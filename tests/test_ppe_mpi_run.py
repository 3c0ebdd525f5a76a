"""``mpiexec -n N pep-ppe``: identical to the thread executor, failure and resume, skew.

Every test launches real MPI jobs (the ``mpich`` wheel's ``mpiexec``,
oversubscribed on a 2-core machine) through
:func:`peppers.ppe.mpi.launch_command`, the same command ``pep run make
--mpi N`` runs. The stream is the invariance chain of real operators (box
filter, Gaussian FFT filter, phase ramp, polynomial resampler); its thread
executor output (:func:`~peppers.ppe.streamspec.run_spec`) is the reference,
and that in turn equals the operators applied to whole arrays.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from peppers.io.raw import RawImage
from peppers.operators.filters import BoxFilter, GaussianFilter
from peppers.operators.pixelwise import PhaseRamp
from peppers.operators.resample import PolynomialResampler
from peppers.ppe.journal import TileJournal
from peppers.ppe.mpi import launch_command
from peppers.ppe.operator import ImageSpec
from peppers.ppe.region import Region
from peppers.ppe.streamspec import NodeSpec, StreamSpec, journal_path, run_spec, stream_path
from peppers.ppe.testing import whole_image

pytestmark = pytest.mark.mpi
TESTS = Path(__file__).resolve().parent
SHAPE = (200, 168)
CHAIN = [
    ("box", "peppers.operators.filters:BoxFilter", {"size": [5, 7]}),
    ("gauss", "peppers.operators.filters:GaussianFilter", {"sigma": [2.0, 1.5]}),
    ("ramp", "peppers.operators.pixelwise:PhaseRamp", {"row_rate": 0.013, "col_rate": -0.021}),
    ("resample", "peppers.operators.resample:PolynomialResampler",
     {"row_coeffs": [1.5, 0.001, 0.0], "col_coeffs": [-2.25, 0.0, 0.002]}),
]


def _write_input(run: Path, array: np.ndarray, name: str = "slc") -> None:
    (run / "inputs").mkdir(parents=True, exist_ok=True)
    image = RawImage.create(run / "inputs" / f"{name}.vrt", ImageSpec(array.shape, array.dtype),
                            overwrite=True)
    image.write(Region.full(array.shape), array)
    image.flush()


def _chain_spec(name: str, tile: int = 48) -> StreamSpec:
    nodes, image = [], "slc"
    for rule, operator, params in CHAIN:
        nodes.append(NodeSpec(rule, operator, params, {"input": image}, {"output": rule}))
        image = rule
    return StreamSpec(name, {"slc": "inputs/slc.vrt"}, nodes, {image: f"images/{name}.vrt"},
                      (tile, tile), "64M")


def _pep_ppe(run: Path, stream: str, n: int, *extra: str, env: dict | None = None,
             timeout: float = 600) -> subprocess.CompletedProcess:
    command = launch_command(run, stream, n, launcher="mpiexec")
    command += list(extra)
    full_env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(TESTS), os.environ.get("PYTHONPATH", "")]), **(env or {})}
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                          env=full_env)


def _pixels(run: Path, stream: str) -> np.ndarray:
    return RawImage.open(run / "images" / f"{stream}.vrt").read(Region.full(SHAPE))


@pytest.fixture(scope="module")
def chain_run(tmp_path_factory):
    """A run with the input image; the thread executor's output of the chain as reference."""
    run = tmp_path_factory.mktemp("mpi") / "run"
    rng = np.random.default_rng(7)
    image = (rng.normal(size=SHAPE) + 1j * rng.normal(size=SHAPE)).astype("complex64")
    _write_input(run, image)
    spec = _chain_spec("threads")
    spec.save(stream_path(run, "threads"))
    run_spec(StreamSpec.load(stream_path(run, "threads")), run, threads=2)
    reference = _pixels(run, "threads")
    expected = image
    for op in (BoxFilter(size=(5, 7)), GaussianFilter(sigma=(2.0, 1.5)),
               PhaseRamp(row_rate=0.013, col_rate=-0.021),
               PolynomialResampler(row_coeffs=[1.5, 0.001, 0.0],
                                   col_coeffs=[-2.25, 0.0, 0.002])):
        expected = whole_image(op, input=expected)["output"]
    np.testing.assert_allclose(reference, expected, rtol=0, atol=1e-4)
    return run, reference


@pytest.mark.parametrize("n, strategy", [
    (1, "dynamic"), (2, "static"), (2, "round-robin"), (2, "dynamic"),
    (4, "static"), (4, "round-robin"), (4, "dynamic")])
def test_ranks_equal_the_thread_executor(chain_run, n, strategy):
    run, reference = chain_run
    stream = f"n{n}-{strategy}"
    spec = _chain_spec(stream)
    spec.save(stream_path(run, stream))
    stats_file = run / f"{stream}.json"
    done = _pep_ppe(run, stream, n, "--strategy", strategy, "--threads", "1",
                    "--stats", str(stats_file))
    assert done.returncode == 0, done.stderr
    assert np.array_equal(_pixels(run, stream), reference)
    stats = json.loads(stats_file.read_text())
    assert len(stats["ranks"]) == n and stats["strategy"] == strategy
    assert sum(r["tasks"] for r in stats["ranks"]) == stats["total"] == 20
    plan = spec.build(run).plan()
    journal = TileJournal(journal_path(run, stream), signature=plan.signature(),
                          n_tiles=len(plan.tasks))
    assert journal.is_complete()
    if (n, strategy) == (2, "static"):    # a complete stream is not run again
        again = _pep_ppe(run, stream, n, "--strategy", strategy, "--stats", str(stats_file))
        assert again.returncode == 0, again.stderr
        assert json.loads(stats_file.read_text())["todo"] == 0


def _flaky_run(tmp_path) -> tuple[Path, np.ndarray, list[tuple[int, int]]]:
    run = tmp_path / "run"
    rng = np.random.default_rng(3)
    image = rng.normal(size=(128, 128)).astype("float32")
    _write_input(run, image, "field")
    spec = StreamSpec("flaky", {"field": "inputs/field.vrt"},
                      [NodeSpec("box", "peppers.operators.filters:BoxFilter", {"size": [3, 3]},
                                {"input": "field"}, {"output": "smooth"}),
                       NodeSpec("flaky", "support.mpi_ops:Flaky", {}, {"input": "smooth"},
                                {"output": "out"})],
                      {"out": "images/out.vrt"}, (16, 16), "32M")
    spec.save(stream_path(run, "flaky"))
    smooth = whole_image(BoxFilter(size=(3, 3)), input=image)["output"]
    padded = np.pad(smooth, 1, mode="reflect")
    return run, padded[1:-1, 1:-1] + 1, [(r, c) for r in range(0, 128, 16)
                                           for c in range(0, 128, 16)]


def test_a_failing_rank_stops_all_and_a_rerun_resumes(tmp_path):
    run, expected, tiles = _flaky_run(tmp_path)
    log = tmp_path / "computed.log"
    failed = _pep_ppe(run, "flaky", 4, "--strategy", "static", "--threads", "1",
                      env={"PEPPERS_TEST_FAIL": "80,48", "PEPPERS_TEST_LOG": str(log)})
    assert failed.returncode == 1
    message = failed.stderr.strip().splitlines()[-1]
    # tile (80, 48) is task 43 of 64: the static block of rank 2 (tasks 32..47)
    assert message.startswith("pep-ppe: error: stream 'flaky' stopped: rank 2 on ")
    assert "operator 'flaky' (Flaky) failed on its tile 43 (row=80, col=48, 16x16)" in message
    assert "deliberate failure" in message and "run again to resume" in message
    assert len(message.splitlines()) == 1 and failed.stderr.count("pep-ppe: error") == 1
    first = log.read_text().splitlines()
    assert 0 < len(first) < len(tiles)
    spec = StreamSpec.load(stream_path(run, "flaky"))
    plan = spec.build(run).plan()
    journal = TileJournal(journal_path(run, "flaky"), signature=plan.signature(),
                          n_tiles=len(plan.tasks))
    assert not journal.is_complete() and 0 < len(journal.done()) < len(tiles)
    journaled = {plan.tasks[k][1] for k in journal.done()}
    log.unlink()
    rerun = _pep_ppe(run, "flaky", 2, "--strategy", "dynamic",
                     env={"PEPPERS_TEST_LOG": str(log)})
    assert rerun.returncode == 0, rerun.stderr
    second = {tuple(map(int, line.split())) for line in log.read_text().splitlines()}
    assert len(log.read_text().splitlines()) == len(tiles) - len(journaled)
    assert second == {t for i, t in enumerate(tiles) if i not in journaled}
    out = RawImage.open(run / "images" / "out.vrt").read(Region.full((128, 128)))
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-5)
    assert journal.is_complete()


def test_dynamic_hands_the_skewed_half_to_the_free_rank_static_does_not(tmp_path):
    """Which rank computes which tile, from the ranks' own log (the speed is a benchmark's:
    ``benchmarks/mpi_scaling.py``). On rank 0 the top half waits until rank 1 has computed
    a tile (``Skewed``): static blocks still give rank 0 the whole top half; dynamic, whose
    dispatcher answers rank 1 while rank 0 is stuck, must give rank 1 top-half tiles."""
    run = tmp_path / "run"
    _write_input(run, np.zeros((256, 256), "float32"), "flat")
    spec = StreamSpec("skew", {"flat": "inputs/flat.vrt"},
                      [NodeSpec("skewed", "support.mpi_ops:Skewed", {"below": 128},
                                {"input": "flat"}, {"output": "out"})],
                      {"out": "images/skew.vrt"}, (32, 32), "32M")
    spec.save(stream_path(run, "skew"))
    every = {(row, col) for row in range(0, 256, 32) for col in range(0, 256, 32)}
    top = {(row, col) for row, col in every if row < 128}
    tiles = {}
    for strategy in ("static", "dynamic"):
        log = tmp_path / f"{strategy}.log"
        done = _pep_ppe(run, "skew", 2, "--strategy", strategy, "--threads", "1", "--force",
                        env={"PEPPERS_TEST_LOG": str(log)})
        assert done.returncode == 0, done.stderr
        lines = [line.split() for line in log.read_text().splitlines()]
        computed = [(int(row), int(col)) for _, row, col in lines]
        assert sorted(computed) == sorted(every)          # every tile once, on one rank
        tiles[strategy] = {rank: {(int(r), int(c)) for k, r, c in lines if k == rank}
                           for rank in ("0", "1")}
    assert tiles["static"]["0"] == top                    # the skew all on rank 0
    assert tiles["dynamic"]["1"] & top                    # shared out by the dispatcher
    assert tiles["dynamic"]["0"] | tiles["dynamic"]["1"] == every


def test_bad_spec_is_one_clear_error_from_every_rank(tmp_path):
    run = tmp_path / "run"
    path = stream_path(run, "broken")
    path.parent.mkdir(parents=True)
    path.write_text("name: broken\nsources: {}\nnodes: []\ntargets: {}\n"
                    "tile_shape: [32, 32]\nmem: 1X\n")
    done = _pep_ppe(run, "broken", 2)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("pep-ppe: error: loading the stream spec failed on ranks 0, 1: ")
    assert f"{path}: mem: " in lines[0]
