"""Request strategies (pure: no MPI) and the launcher command."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peppers.ppe.mpi import launch_command, site_setting
from peppers.ppe.strategies import (ChunkQueue, assign, check_strategy, guided_chunks,
                                    round_robin, static_blocks)

tasks_st = st.lists(st.integers(0, 10_000), unique=True, max_size=300)


@given(tasks_st, st.integers(1, 40))
def test_static_blocks_are_contiguous_balanced_and_cover_once(tasks, n):
    blocks = static_blocks(tasks, n)
    assert len(blocks) == n and [t for b in blocks for t in b] == tasks
    sizes = [len(b) for b in blocks]
    assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)


@given(tasks_st, st.integers(1, 40), st.integers(1, 17))
def test_round_robin_deals_chunks_in_turn(tasks, n, chunk):
    shares = round_robin(tasks, n, chunk)
    assert sorted(t for s in shares for t in s) == sorted(tasks)
    for c, start in enumerate(range(0, len(tasks), chunk)):
        part = tasks[start:start + chunk]
        owner = shares[c % n]
        i = owner.index(part[0])
        assert owner[i:i + len(part)] == part


@given(tasks_st, st.integers(1, 40), st.integers(1, 17))
def test_guided_chunks_shrink_in_multiples_of_the_unit(tasks, n, chunk):
    chunks = guided_chunks(tasks, n, chunk)
    assert [t for c in chunks for t in c] == tasks
    sizes = [len(c) for c in chunks]
    assert sizes == sorted(sizes, reverse=True)
    assert all(s % chunk == 0 for s in sizes[:-1])
    if sizes:
        assert sizes[0] >= min(len(tasks), len(tasks) / (2 * n))


def test_chunk_queue_hands_each_task_once_across_threads_and_stops():
    queue = ChunkQueue(range(5000), 4, 3)
    taken: list[list[int]] = [[] for _ in range(4)]

    def take(k: int) -> None:
        while (chunk := queue.next()) is not None:
            taken[k].extend(chunk)

    threads = [threading.Thread(target=take, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(t for share in taken for t in share) == list(range(5000))
    stopped = ChunkQueue(range(10), 2)
    assert stopped.next() == [0, 1, 2]
    stopped.stop()
    assert stopped.next() is None and stopped.stopped


def test_assign_and_strategy_names():
    assert assign("static", range(5), 2, 1) == [[0, 1, 2], [3, 4]]
    assert assign("round_robin", range(5), 2, 2) == [[0, 1, 4], [2, 3]]
    assert check_strategy("round_robin") == "round-robin"
    with pytest.raises(ValueError, match="unknown request strategy 'fastest'"):
        check_strategy("fastest")
    with pytest.raises(ValueError, match="no fixed shares"):
        assign("dynamic", range(5), 2, 1)
    with pytest.raises(ValueError, match="positive integer"):
        static_blocks(range(5), 0)
    with pytest.raises(ValueError, match="chunk must be"):
        round_robin(range(5), 2, 0)


def test_launch_command_forms(tmp_path, monkeypatch):
    monkeypatch.setenv("PEPPERS_SITE", str(tmp_path / "absent.yaml"))
    run = tmp_path / "run"
    tail = [sys.executable, "-m", "peppers.cli.ppe_main", str(run), "--stream", "s1"]
    default = launch_command(run, "s1", 4)
    assert Path(default[0]).name == "mpiexec" and default[1:3] == ["-n", "4"]
    assert default[3:] == tail
    assert launch_command(run, "s1", 2, launcher="srun --mpi=pmix") == [
        "srun", "--mpi=pmix", "-n", "2", *tail]
    templated = launch_command(run, "s1", 8, launcher="mpirun -np {n} --oversubscribe")
    assert Path(templated[0]).name == "mpirun"
    assert templated[1:4] == ["-np", "8", "--oversubscribe"] and templated[4:] == tail
    options = launch_command(run, "s1", 2, launcher="srun", strategy="static", threads=2,
                             mem="1G", chunk=4)
    assert options[3:] == [*tail, "--strategy", "static", "--threads", "2", "--mem", "1G",
                           "--chunk", "4"]
    with pytest.raises(ValueError, match="positive integer"):
        launch_command(run, "s1", 0)


def test_launcher_from_site_file_then_run_database(tmp_path, monkeypatch):
    from peppers.drs.mpi import launch
    from peppers.errors import SiteConfigError
    from peppers.hkv import RunDatabase

    site = tmp_path / "site.yaml"
    monkeypatch.setenv("PEPPERS_SITE", str(site))
    site.write_text("ppe:\n  mpi:\n    launcher: srun --mpi=pmi2\n")
    run = tmp_path / "run"
    assert launch_command(run, "s1", 3)[:4] == ["srun", "--mpi=pmi2", "-n", "3"]
    site.write_text("ppe.mpi.launcher: mpirun -np {n}\n")
    assert site_setting("ppe.mpi.launcher") == "mpirun -np {n}"
    db = RunDatabase.create(run)
    assert Path(launch(run, "s1", 3)[0]).name == "mpirun"
    db.set("ppe.mpi.launcher", "srun")
    assert launch(run, "s1", 3)[:3] == ["srun", "-n", "3"]
    # the engine alone reads only the site file; the run's HKV is the scheduler's
    assert Path(launch_command(run, "s1", 3)[0]).name == "mpirun"
    site.write_text("- not a mapping\n")
    with pytest.raises(SiteConfigError, match="site.yaml: the site configuration must be a mapping"):
        site_setting("ppe.mpi.launcher")
