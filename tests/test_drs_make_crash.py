"""SIGKILL during a stream, then make again: it resumes from the tile journal, same outputs.

The stream is held mid-way by the test's gate (``support.gate``): the first
stripe of tiles runs, the rest waits, so the kill always lands inside the
stream however loaded the machine is; the gate is opened for the rerun.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import numpy as np

from support.drs import (PEP, SLOW_CHAIN as RULES, env, finished, gated_run, make_run,
                         read_image, source_array)
from peppers.drs import make, plan_make

DEADLINE = 600.0  # seconds a wait for the journal may take at most


def done_lines(root: Path) -> int:
    """Tiles journaled so far by stream-1's writers.

    A writer's journal may be replaced while we look (the make resets a
    stream's journals when it starts the stream afresh), so a file that is
    gone between the listing and the read counts as no line yet.
    """
    journal = root / ".peppers" / "streams"
    count = 0
    for path in journal.glob("stream-1.journal.*"):
        if path.name.endswith(".complete"):
            continue
        try:
            count += path.read_text().count("done ")
        except FileNotFoundError:
            continue
    return count


def _kill_after_journaled(root: Path, tiles: int) -> int:
    """Start ``pep run make scaled``, SIGKILL it once ``tiles`` are journaled; the count."""
    process = subprocess.Popen([*PEP, "--run", str(root), "run", "make", "scaled"],
                               env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + DEADLINE
        while done_lines(root) < tiles and process.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.02)
        assert process.poll() is None, process.stderr.read().decode()
        assert done_lines(root) >= tiles, "no tiles journaled before the deadline"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stderr.close()
    return done_lines(root)


def test_sigkill_then_make_resumes_with_identical_outputs(tmp_path):
    reference = make_run(tmp_path, RULES, name="reference")
    reference.set("ppe.tile_shape", [64, 64])
    make(reference, ["scaled"])
    expected = read_image(Path(reference.root) / "images" / "scaled.raw.vrt")
    np.testing.assert_array_equal(expected, source_array() * np.float32(2.0))

    db, gate = gated_run(tmp_path, 64)   # 20 tiles; the first stripe (4) passes the gate
    root = Path(db.root)
    killed_after = _kill_after_journaled(root, 2)
    assert 2 <= killed_after <= 4
    assert finished(db) == {}                       # nothing was recorded as done
    plan = plan_make(db, ["scaled"])
    assert plan.analysis.stale == ["slow", "scale"]  # an interrupted rule is stale

    gate.open()  # same parameters: the attempt key and the journal still match
    report = make(db, ["scaled"])
    stats = report.stats["stream-1"]
    assert stats.skipped >= killed_after and stats.run == 20 - stats.skipped
    np.testing.assert_array_equal(read_image(root / "images" / "scaled.raw.vrt"), expected)
    assert plan_make(db, ["scaled"]).steps == []


def test_changed_input_after_a_kill_does_not_resume_old_tiles(tmp_path):
    db, gate = gated_run(tmp_path, 64)
    root = Path(db.root)
    _kill_after_journaled(root, 2)
    from support.drs import write_image

    changed = source_array() + np.float32(1.0)
    write_image(root / "data" / "src.vrt", changed)  # same spec, different data
    gate.open()
    report = make(db, ["scaled"])
    assert report.stats["stream-1"].skipped == 0
    np.testing.assert_array_equal(read_image(root / "images" / "scaled.raw.vrt"),
                                  changed * np.float32(2.0))
