"""Sweeping the temporaries that killed writers leave beside their outputs."""

from __future__ import annotations

import os
import subprocess
import sys

from peppers.io.atomic import sweep_temporaries, temporary_name
from peppers.ppe.runner import Staging


def dead_pid() -> int:
    """The pid of a process that has ended."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


def test_temporaries_of_dead_writers_are_removed_and_live_ones_kept(tmp_path):
    pid = dead_pid()
    dead = [tmp_path / f".dem.tif.tmp-{pid}-0a1b", tmp_path / f".coherence.tmp-{pid}.vrt",
            tmp_path / f".unwrapped.vrt.tmp-{pid}"]
    for path in dead[:2]:
        path.write_bytes(b"partial")
    dead[2].mkdir()
    (dead[2] / "unwrapped.raw").write_bytes(b"partial")
    live = temporary_name(tmp_path / "amplitude.tif")
    live.write_bytes(b"being written")
    kept = [tmp_path / "dem.tif", tmp_path / ".hidden-by-user", tmp_path / ".x.tmp-notapid"]
    for path in kept:
        path.write_bytes(b"keep")

    removed = sweep_temporaries(tmp_path)

    assert sorted(removed) == sorted(dead)
    assert not any(path.exists() for path in dead)
    assert live.exists() and all(path.exists() for path in kept)


def test_sweeping_a_missing_folder_is_a_no_op(tmp_path):
    assert sweep_temporaries(tmp_path / "absent") == []


def test_staging_an_output_sweeps_what_a_killed_run_left_beside_it(tmp_path):
    left = tmp_path / f".filtered.vrt.tmp-{dead_pid()}"
    left.mkdir()
    (left / "filtered.raw").write_bytes(b"partial")
    with Staging() as staging:
        staged = staging.stage(tmp_path / "filtered.vrt")
        assert not left.exists()
        assert staged.parent.name == f".filtered.vrt.tmp-{os.getpid()}"
