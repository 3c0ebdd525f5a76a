"""Stream 1, tiled unwrapping and the whole chain under MPI equal the thread executor.

One small simulated scene (``pep simulate``, 400 x 300, multilooked to
80 x 60) is made twice: once with threads (the reference: ``pep run make
geocoded_dem``, unwrapping on 12 overlapping tiles of at most 32 x 32, the automatic layout for 2 workers), and once per
case under MPI (the ``mpich`` wheel's ``mpiexec``, oversubscribed):

* ``pep run make filtered_interferogram coherence --mpi N`` (N = 1, 4), and
  ``pep run make geocoded_dem --mpi 2`` (stream 1, the unwrap rule through
  ``pep-ppe --rule``, and the streams and products after it): identical
  images and product;
* ``mpiexec -n N pep-ppe RUN --rule unwrap`` with each request strategy:
  identical ``unwrapped`` and ``components``, every tile computed exactly
  once over the ranks;
* a tile failing on rank 1: every rank stops, the error names rank and
  tile, and nothing is committed;
* in-process: the tiles of :class:`UnwrapTiles` computed in any order and
  finished give the thread executor's output (no MPI at all).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from support.drs import pep

from peppers.io.raw import RawImage
from peppers.ppe.mpi import launch_command
from peppers.ppe.region import Region

pytestmark = pytest.mark.mpi
TESTS = Path(__file__).resolve().parent
STREAM1 = ("filtered_interferogram", "coherence")


def pixels(run: Path, name: str) -> np.ndarray:
    with RawImage.open(run / "images" / f"{name}.raw.vrt") as image:
        return image.read(Region.full(image.spec.shape))


def product(run: Path, name: str) -> np.ndarray:
    import rasterio

    with rasterio.open(run / "products" / f"{name}.tif") as ds:
        return ds.read()


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """(folder with a fresh run ``base``, the thread run ``threads`` with geocoded_dem made)."""
    folder = tmp_path_factory.mktemp("mpi-global")
    pep("simulate", "sim", "--lines", "400", "--samples", "300", "--seed", "3", cwd=folder)
    pep("init", "base", "--master", "sim/master.yaml", "--slave", "sim/slave.yaml",
        "--gcps", "sim/gcps.yaml", "--reference-dem", "sim/dem.tif", cwd=folder)
    for key, value in (("insar.unwrap.tile_size", "32"), ("insar.unwrap.overlap", "8"),
                       ("insar.unwrap.nlooks", "18"), ("ppe.threads", "2"),
                       ("drs.rule_variants", "[]")):     # the plain chain's unwrap rule
        pep("--run", "base", "set", key, value, cwd=folder)
    shutil.copytree(folder / "base", folder / "threads", symlinks=True)
    pep("--run", "threads", "run", "make", "geocoded_dem", "-j", "2", cwd=folder)
    return folder


def fresh(scene: Path, name: str) -> Path:
    """A copy of the un-made run."""
    shutil.copytree(scene / "base", scene / name, symlinks=True)
    return scene / name


def pep_ppe_rule(run: Path, n: int, *extra: str, env: dict | None = None
                 ) -> subprocess.CompletedProcess:
    command = launch_command(run, "unwrap", n, launcher="mpiexec", rule=True) + list(extra)
    full_env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(TESTS), os.environ.get("PYTHONPATH", "")]), **(env or {})}
    return subprocess.run(command, capture_output=True, text=True, timeout=600, env=full_env,
                          check=False)


def unwrap_ready(scene: Path, name: str) -> Path:
    """A copy of the thread run without its unwrapping outputs."""
    run = scene / name
    shutil.copytree(scene / "threads", run, symlinks=True)
    for image in ("unwrapped", "components"):
        for file in (run / "images").glob(f"{image}.*"):
            file.unlink()
    return run


@pytest.mark.parametrize("n", [1, 4])
def test_stream1_make_mpi_equals_threads(scene, n):
    run = fresh(scene, f"stream1-{n}")
    pep("--run", run.name, "run", "make", *STREAM1, "--mpi", str(n), cwd=scene)
    log = (run / ".peppers" / "logs" / "stream-1.log").read_text()
    assert f"-n {n} " in log and "--stream stream-1" in log
    for name in STREAM1:
        assert np.array_equal(pixels(run, name), pixels(scene / "threads", name),
                              equal_nan=True), name


def test_geocoded_dem_make_mpi2_equals_threads(scene):
    run = fresh(scene, "chain-2")
    pep("--run", run.name, "run", "make", "geocoded_dem", "--mpi", "2", cwd=scene)
    log = (run / ".peppers" / "logs" / "unwrap.log").read_text()
    assert "--rule unwrap" in log and "12 tiles" in log
    for name in (*STREAM1, "unwrapped", "components", "height"):
        assert np.array_equal(pixels(run, name), pixels(scene / "threads", name),
                              equal_nan=True), name
    assert np.array_equal(product(run, "geocoded_dem"), product(scene / "threads",
                                                                "geocoded_dem"), equal_nan=True)


@pytest.mark.parametrize("n, strategy", [(1, "dynamic"), (2, "static"), (2, "dynamic"),
                                         (4, "round-robin")])
def test_unwrap_rule_on_ranks_equals_threads(scene, n, strategy):
    run = unwrap_ready(scene, f"unwrap-{n}-{strategy}")
    stats_file = run / "stats.json"
    done = pep_ppe_rule(run, n, "--strategy", strategy, "--threads", "1",
                        "--stats", str(stats_file))
    assert done.returncode == 0, done.stderr + done.stdout
    for name in ("unwrapped", "components"):
        assert np.array_equal(pixels(run, name), pixels(scene / "threads", name),
                              equal_nan=True), name
    assert int(pixels(run, "components").max()) >= 1
    stats = json.loads(stats_file.read_text())
    assert stats["what"] == "rule" and stats["strategy"] == strategy
    tasks = [r["tasks"] for r in stats["ranks"]]
    assert len(tasks) == n and sum(tasks) == stats["total"] == 12
    if strategy != "dynamic":
        assert min(tasks) >= 2
    assert not list((run / "images").glob("*.tmp-*"))


def test_failing_tile_stops_every_rank_and_commits_nothing(scene):
    run = unwrap_ready(scene, "unwrap-failing")
    (run / "rules").mkdir(exist_ok=True)
    (run / "rules" / "failing.yaml").write_text(
        "rules:\n  unwrap:\n    kind: global\n    operator: support.mpi_ops:FailingUnwrap\n"
        "    inputs: {interferogram: filtered_interferogram, coherence: coherence}\n"
        "    outputs: {unwrapped: unwrapped, components: components}\n"
        "    params: {threshold: insar.unwrap.coherence_threshold,\n"
        "             min_component_size: insar.unwrap.min_region_size,\n"
        "             tile_size: insar.unwrap.tile_size, overlap: insar.unwrap.overlap}\n")
    done = pep_ppe_rule(run, 2, "--strategy", "static", env={"PEPPERS_TEST_FAIL_RANK": "1"})
    assert done.returncode == 1, done.stderr + done.stdout
    error = done.stderr.strip().splitlines()[-1]
    assert "rule 'unwrap' stopped: rank 1 on" in error
    assert "failed on tile" in error and "deliberate unwrapping failure" in error
    assert not (run / "images" / "unwrapped.raw.vrt").exists()
    assert not list((run / "images").glob("*.tmp-*"))


def test_not_a_tiled_global_rule_is_one_error(scene):
    run = unwrap_ready(scene, "unwrap-untiled")
    pep("--run", run.name, "set", "insar.unwrap.tile_size", "0", cwd=scene)
    done = pep_ppe_rule(run, 2)
    assert done.returncode == 1
    assert "cannot run across MPI ranks" in done.stderr and "ranks 0, 1" in done.stderr


def test_tiles_in_any_order_equal_the_operator(scene):
    from peppers.hkv import RunDatabase

    from peppers.drs.resolve import make_operator
    from peppers.drs.ruleset import RuleSet
    from peppers.drs.state import RunState
    from peppers.io.source import open_source
    from peppers.drs.mpi import supports_mpi
    from peppers.ppe.mpi import tiled_job as tiled_global

    run = scene / "threads"
    op = make_operator(RuleSet.load(run).rules["unwrap"], RunState(RunDatabase.open(run)))
    assert supports_mpi(op)
    sources = {port: open_source(run / "images" / f"{image}.raw.vrt")
               for port, image in (("interferogram", "filtered_interferogram"),
                                   ("coherence", "coherence"))}
    job = tiled_global(op, sources)
    assert len(job) == 12
    results = dict(reversed([(i, job.compute(i)) for i in reversed(range(len(job)))]))
    out: dict[str, np.ndarray] = {}

    class Sink:
        def __init__(self, name: str) -> None:
            self.name = name

        def write(self, region: Region, block: np.ndarray) -> None:
            out.setdefault(self.name, np.zeros((80, 60), block.dtype))[region.slices] = block

    job.finish([results[i] for i in range(len(job))],
               {"unwrapped": Sink("unwrapped"), "components": Sink("components")})
    for name in ("unwrapped", "components"):
        assert np.array_equal(out[name], pixels(run, name), equal_nan=True), name
