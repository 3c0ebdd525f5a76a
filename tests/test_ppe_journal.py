"""TileJournal: durability under SIGKILL, torn lines, plan changes, many writers."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from peppers.errors import JournalError
from peppers.ppe.journal import TileJournal


def journal(tmp_path, **kw):
    args = {"signature": "plan-a", "n_tiles": 20} | kw
    return TileJournal(tmp_path / "s1.journal", **args)


def test_marks_are_durable_and_reopen(tmp_path):
    with journal(tmp_path) as j:
        for i in (3, 0, 19):
            j.mark_done(i)
        assert j.done() == {0, 3, 19} and j.remaining()[:3] == [1, 2, 4]
    again = journal(tmp_path)
    assert again.done() == {0, 3, 19} and not again.is_complete()
    assert (tmp_path / "s1.journal").read_text() == \
        "peppers-journal/1\nsignature plan-a\nn_tiles 20\n"
    assert (tmp_path / "s1.journal.0").read_text() == \
        "peppers-journal/1 plan-a 20\ndone 3\ndone 0\ndone 19\n"
    with pytest.raises(IndexError, match="tile 20 outside 0..19"):
        again.mark_done(20)


def test_mark_complete_refuses_while_tiles_are_missing(tmp_path):
    j = journal(tmp_path, n_tiles=12)
    for i in range(12):
        if i not in (4, 9):
            j.mark_done(i)
    with pytest.raises(JournalError, match=r"s1\.journal: cannot mark complete: 2 of 12 tiles "
                                           r"not done \(tiles 4, 9\)"):
        j.mark_complete()
    assert not j.is_complete() and not j.marker_path.exists()
    j.mark_done(4)
    j.mark_done(9)
    j.mark_complete()
    assert j.is_complete() and journal(tmp_path, n_tiles=12).is_complete()


def test_a_changed_plan_discards_the_old_journal(tmp_path):
    old = journal(tmp_path, n_tiles=3)
    for i in range(3):
        old.mark_done(i)
    old.mark_complete()
    old.close()
    new = journal(tmp_path, signature="plan-b", n_tiles=3)
    assert new.done() == set() and not new.is_complete() and not new.marker_path.exists()
    assert (tmp_path / "s1.journal").read_text().splitlines()[1] == "signature plan-b"
    new.mark_done(1)
    assert journal(tmp_path, signature="plan-b", n_tiles=4).done() == set()   # tile count changed too


def test_stale_writer_files_never_count(tmp_path):
    """A file of another plan appearing beside the journal (e.g. a late rank) is ignored."""
    j = journal(tmp_path)
    j.mark_done(1)
    (tmp_path / "s1.journal.7").write_text("peppers-journal/1 plan-OLD 20\ndone 5\ndone 6\n")
    assert j.done() == {1}
    journal(tmp_path, signature="plan-b")                  # a plan change deletes it
    assert not (tmp_path / "s1.journal.7").exists()


def test_torn_and_garbage_lines_are_ignored_and_cut_before_appending(tmp_path):
    j = journal(tmp_path)
    j.mark_done(0)
    j.mark_done(5)
    j.close()
    path = tmp_path / "s1.journal.0"
    with open(path, "ab") as f:                            # garbage, then a torn "done 12\n"
        f.write(b"done x\ndone 99\n\x00\x00\x00\ndone -3\ndone 1")
    reader = journal(tmp_path, writer="1")
    assert reader.done() == {0, 5}                         # the torn "done 1" is not tile 1
    owner = journal(tmp_path)                              # reopening the writer cuts the tear
    assert path.read_bytes().endswith(b"done -3\n")
    owner.mark_done(7)
    assert reader.done() == {0, 5, 7}
    assert path.read_bytes().endswith(b"done -3\ndone 7\n")


def test_threads_mark_concurrently_without_losing_or_tearing_lines(tmp_path):
    j = journal(tmp_path, n_tiles=2000, sync_each=False)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(j.mark_done, range(2000)))
    j.sync()
    lines = (tmp_path / "s1.journal.0").read_text().splitlines()
    assert len(lines) == 2001 and sorted(lines[1:]) == sorted(f"done {i}" for i in range(2000))
    j.mark_complete()


def _mark_share(path, writer: int, n_writers: int, n_tiles: int) -> None:
    with TileJournal(path, signature="plan-a", n_tiles=n_tiles, writer=str(writer)) as j:
        for i in range(writer, n_tiles, n_writers):
            j.mark_done(i)


def test_several_writer_processes_union(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    path = tmp_path / "s1.journal"
    procs = [ctx.Process(target=_mark_share, args=(path, w, 3, 60)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    j = TileJournal(path, signature="plan-a", n_tiles=60, writer="0")
    assert j.done() == set(range(60))
    assert [p.name for p in j.writer_paths()] == ["s1.journal.0", "s1.journal.1", "s1.journal.2"]
    j.mark_complete()
    # A resume with fewer writers still sees every tile.
    assert TileJournal(path, signature="plan-a", n_tiles=60, writer="9").is_complete()


KILLED_WRITER = textwrap.dedent("""
    import sys
    from peppers.ppe.journal import TileJournal
    j = TileJournal(sys.argv[1], signature="plan-a", n_tiles=1_000_000, sync_each=sys.argv[2] == "1")
    print("ready", flush=True)
    for i in range(1_000_000):
        j.mark_done(i)
""")


@pytest.mark.parametrize("sync_each", [True, False])
def test_sigkill_while_marking_leaves_a_clean_prefix(tmp_path, sync_each):
    path = tmp_path / "s1.journal"
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(path), str(int(sync_each))],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "ready\n"
        deadline = time.monotonic() + 600
        while (path.with_name("s1.journal.0").stat().st_size < 2000
               and time.monotonic() < deadline):
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(600)
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    j = TileJournal(path, signature="plan-a", n_tiles=1_000_000)
    done = j.done()
    assert len(done) >= 100 and done == set(range(len(done)))     # a prefix, nothing else
    assert not j.is_complete()
    j.mark_done(len(done))                                          # and it resumes cleanly
    assert TileJournal(path, signature="plan-a", n_tiles=1_000_000, writer="1").done() == \
        set(range(len(done) + 1))


def test_reset_forgets_everything(tmp_path):
    j = journal(tmp_path, n_tiles=2)
    j.mark_done(0)
    j.mark_done(1)
    j.mark_complete()
    (tmp_path / "s1.journal.3").write_text("peppers-journal/1 plan-a 2\ndone 0\n")
    j.reset()
    assert j.done() == set() and not j.is_complete()
    assert [p.name for p in j.writer_paths()] == ["s1.journal.0"]
    j.mark_done(1)
    assert journal(tmp_path, n_tiles=2).done() == {1}


@pytest.mark.parametrize("kw, match", [
    ({"signature": "has space"}, "one token"),
    ({"signature": ""}, "one token"),
    ({"writer": "a.b"}, "writer name 'a.b'"),
    ({"writer": "complete"}, "writer name 'complete'"),
    ({"n_tiles": -1}, "n_tiles must be an integer >= 0"),
])
def test_bad_arguments(tmp_path, kw, match):
    with pytest.raises(ValueError, match=match):
        journal(tmp_path, **kw)
    j = journal(tmp_path)
    j.close()
    with pytest.raises(JournalError, match="closed"):
        j.mark_done(0)
