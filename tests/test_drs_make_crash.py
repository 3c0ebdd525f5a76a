"""SIGKILL during a stream, then make again: it resumes from the tile journal, same outputs."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import numpy as np

from support.drs import PEP, SLOW_CHAIN as RULES, env, finished, make_run, read_image, source_array
from peppers.drs import make, plan_make



def done_lines(root: Path) -> int:
    journal = root / ".peppers" / "streams"
    return sum(p.read_text().count("done ") for p in journal.glob("stream-1.journal.*")
               if not p.name.endswith(".complete"))


def test_sigkill_then_make_resumes_with_identical_outputs(tmp_path):
    reference = make_run(tmp_path, RULES, name="reference")
    reference.set("ppe.tile_shape", [64, 64])
    make(reference, ["scaled"])
    expected = read_image(Path(reference.root) / "images" / "scaled.vrt")
    np.testing.assert_array_equal(expected, source_array() * np.float32(2.0))

    db = make_run(tmp_path, RULES)
    root = Path(db.root)
    db.set("ppe.tile_shape", [64, 64])   # 5 x 4 = 20 tiles
    db.set("t.delay", 0.15)              # 2 threads: about 1.5 s for the stream
    process = subprocess.Popen([*PEP, "--run", str(root), "run", "make", "scaled"],
                               env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while done_lines(root) < 2 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert process.poll() is None, process.stderr.read().decode()
    process.send_signal(signal.SIGKILL)
    process.wait()
    process.stderr.close()
    killed_after = done_lines(root)
    assert 2 <= killed_after < 20
    assert finished(db) == {}                       # nothing was recorded as done
    plan = plan_make(db, ["scaled"])
    assert plan.analysis.stale == ["slow", "scale"]  # an interrupted rule is stale

    db.set("t.delay", 0.15)  # same value: the attempt key and the journal still match
    report = make(db, ["scaled"])
    stats = report.stats["stream-1"]
    assert stats.skipped >= killed_after and stats.run == 20 - stats.skipped
    np.testing.assert_array_equal(read_image(root / "images" / "scaled.vrt"), expected)
    assert plan_make(db, ["scaled"]).steps == []


def test_changed_input_after_a_kill_does_not_resume_old_tiles(tmp_path):
    db = make_run(tmp_path, RULES)
    root = Path(db.root)
    db.set("ppe.tile_shape", [64, 64])
    db.set("t.delay", 0.15)
    process = subprocess.Popen([*PEP, "--run", str(root), "run", "make", "scaled"],
                               env=env(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while done_lines(root) < 2 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    from support.drs import write_image

    changed = source_array() + np.float32(1.0)
    write_image(root / "data" / "src.vrt", changed)  # same spec, different data
    report = make(db, ["scaled"])
    assert report.stats["stream-1"].skipped == 0
    np.testing.assert_array_equal(read_image(root / "images" / "scaled.vrt"),
                                  changed * np.float32(2.0))
