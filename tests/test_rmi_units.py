"""Unit tests of the monitor's parts: framing, event log, state fold, paths, engine control."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peppers.errors import RunAborted
from peppers.ppe import Pipeline
from peppers.ppe.engine import steering
from peppers.ppe.executor import ThreadExecutor
from peppers.ppe.region import Region
from peppers.ppe.testing import Scale
from peppers.rmi import EventLog, RunControl, RunStatus, last_run
from peppers.rmi.paths import MAX_SOCKET_PATH, RunPaths
from peppers.rmi.protocol import MAX_MESSAGE, LineBuffer, ProtocolError, encode

messages = st.dictionaries(st.text(max_size=8).filter(lambda key: key != "v"), st.one_of(st.integers(), st.text(max_size=30),
                                                          st.booleans()), max_size=5)


@settings(max_examples=60, deadline=None)
@given(st.lists(messages, min_size=1, max_size=6), st.data())
def test_line_buffer_reassembles_any_split(batch, data):
    stream = b"".join(encode(m) for m in batch)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    buffer, got = LineBuffer(), []
    for a, b in zip([0, *cuts], [*cuts, len(stream)]):
        got.extend(buffer.feed(stream[a:b]))
    assert got == [{"v": 1, **m} for m in batch] and buffer.pending == 0


def test_encode_refuses_a_message_with_its_own_version_key():
    # hypothesis found it: {"v": 0} used to replace the version, and the reader refused the line
    with pytest.raises(ProtocolError, match="'v' is reserved"):
        encode({"v": 0})


def test_line_buffer_refuses_oversized_lines_after_reading_at_most_the_limit():
    buffer = LineBuffer()
    assert buffer.feed(b"x" * (MAX_MESSAGE - 1)) == []
    [error] = buffer.feed(b"x")
    assert isinstance(error, ProtocolError) and error.fatal and buffer.pending == 0
    assert buffer.feed(b'{"v":1}\n') == []           # broken: nothing more accepted
    out = LineBuffer().feed(b"garbage\n" + encode({"op": "status"}))
    assert isinstance(out[0], ProtocolError) and not out[0].fatal and out[1]["op"] == "status"
    with pytest.raises(ProtocolError, match="over the"):
        encode({"blob": "y" * MAX_MESSAGE})


def test_event_log_skips_torn_lines_and_rate_limits_tiles(tmp_path):
    path = tmp_path / "events.jsonl"
    with EventLog(path, min_interval=10.0) as log:
        log.emit("run_start", process={"pid": 1})
        assert log.tile("s", False, done=1, total=3) is not None
        assert log.tile("s", False, done=2, total=3) is None       # too soon
        assert log.tile("s", True, done=3, total=3) is not None    # the last always goes
        log.emit("run_end", status="ok")
    with open(path, "ab") as handle:
        handle.write(b'{"kind": "run_st')                          # a torn last line
    assert [e["kind"] for e in last_run(path)] == ["run_start", "tile", "tile", "run_end"]


def test_state_fold_pause_abort_and_round_trip():
    events = [
        {"t": 1.0, "kind": "run_start", "process": {"pid": 5}, "argv": ["pep"]},
        {"t": 2.0, "kind": "stream_start", "stream": "a", "rules": ["r1"], "total": 10,
         "skipped": 0, "threads": 1},
        {"t": 3.0, "kind": "tile", "stream": "a", "done": 5, "total": 10, "elapsed": 1.0,
         "threads": 1, "nodes": {"r1": [5, 2.5]}},
        {"t": 3.5, "kind": "control", "action": "pause", "by": "ana@h pid 3"},
    ]
    state = RunStatus.fold(events)
    assert state.state == "paused" and state.streams["a"].state == "paused"
    assert state.eta == pytest.approx(2.5)                 # 5 left x 0.5 s, one thread
    again = RunStatus.from_dict(json.loads(json.dumps(state.to_dict())))
    assert again.to_dict() == state.to_dict()
    state.apply({"t": 4.0, "kind": "stream_end", "stream": "a", "status": "aborted"})
    state.apply({"t": 4.1, "kind": "run_end", "status": "aborted", "error": "stop"})
    assert (state.state, state.rules["r1"], state.eta) == ("aborted", "aborted", 0.0)
    state.apply({"t": 5.0, "kind": "tile", "stream": "a"})  # malformed: noted, not fatal
    assert "unreadable tile event" in state.logs[-1]


def test_long_run_paths_fall_back_to_a_short_socket_with_a_pointer(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "xdg"))
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    paths = RunPaths(deep)
    paths.ensure()
    address = paths.socket_for_server()
    assert len(str(paths.default_socket)) > MAX_SOCKET_PATH >= len(str(address))
    assert address.parent == tmp_path / "xdg" / "peppers"
    assert paths.socket_for_client() == address
    short = RunPaths(tmp_path / "r")
    short.ensure()
    assert short.socket_for_server() == short.default_socket == short.socket_for_client()


class _Gate(Scale):
    """Scale that records how many tiles compute at once and can be held.

    Tiles started after the first ``limit`` wait (counted as computing) until
    ``opened`` is set: the run cannot finish before the test aborts it, and
    the resized executor's threads are seen computing side by side.
    """

    name = "gate"
    active = 0
    peak = 0
    computed = 0
    started = 0
    limit = 24
    opened = threading.Event()
    lock = threading.Lock()

    def compute(self, inputs, region):
        cls = type(self)
        with cls.lock:
            cls.active += 1
            cls.peak = max(cls.peak, cls.active)
            held = cls.started >= cls.limit
            cls.started += 1
        if held:
            assert cls.opened.wait(600), "the test never opened the gate"
        with cls.lock:
            cls.active -= 1
            cls.computed += 1
        return super().compute(inputs, region)


def _events(tmp_path, kind: str) -> list[dict]:
    return [e for e in last_run(tmp_path / "events.jsonl") if e["kind"] == kind]


def _pipeline(tmp_path, data):
    p = Pipeline(tile_shape=(16, 16), threads=1, mem="1M")
    p.output(p.add(_Gate(factor=3.0), p.source(data)), tmp_path / "out.vrt")
    return p


def test_engine_pause_resume_threads_and_abort_then_resume(tmp_path):
    data = np.random.default_rng(1).normal(size=(128, 128)).astype("float32")
    with EventLog(tmp_path / "events.jsonl", min_interval=0.0) as log:
        control = RunControl(log)
        control.pause()
        errors = []

        def work():
            try:
                _pipeline(tmp_path, data).run(journal=tmp_path / "j")
            except RunAborted as error:
                errors.append(error)

        with steering(control):
            thread = threading.Thread(target=work)
            thread.start()
            wait = time.monotonic() + 600
            # a thread count while paused: its stream_settings event shows the driver went
            # through its gate after the pause (a state, not a time) and started no tile
            while not _events(tmp_path, "stream_start"):
                assert time.monotonic() < wait, "the stream never started"
                time.sleep(0.005)
            control.set_threads(3)
            while not [e for e in _events(tmp_path, "stream_settings") if e["threads"] == 3]:
                assert time.monotonic() < wait, "the paused driver never applied threads"
                time.sleep(0.005)
            assert _Gate.computed == _Gate.started == 0    # paused before the first tile
            control.resume()
            wait = time.monotonic() + 600
            while _Gate.computed < 20 or _Gate.active < 3:    # the 3 threads at the gate
                assert time.monotonic() < wait, (_Gate.computed, _Gate.active)
                time.sleep(0.005)
            control.abort()
            _Gate.opened.set()                             # tiles under way finish
            thread.join(600)
        assert errors and "rerun resumes" in str(errors[0])
        assert 20 <= _Gate.computed <= _Gate.limit + 6 and _Gate.peak >= 3  # 1 -> 3 threads
    events = last_run(tmp_path / "events.jsonl")   # no run_start: every event
    ends = [e for e in events if e["kind"] == "stream_end"]
    assert ends[-1]["status"] == "aborted"
    done_before = _Gate.computed
    stats = _pipeline(tmp_path, data).run(journal=tmp_path / "j").stats   # resume, no control
    assert stats.skipped >= done_before - 6 and stats.skipped + stats.run == 64
    from peppers.io.raw import RawImage

    image = RawImage.open(tmp_path / "out.vrt")
    out = image.read(Region.full(image.spec.shape))
    np.testing.assert_array_equal(out, data * np.float32(3.0))


def test_thread_executor_resize_keeps_running_tasks():
    held = threading.Event()
    with ThreadExecutor(1) as executor:
        slow = executor.submit(held.wait, 600)  # holds the only worker until released
        executor.resize(4)
        assert executor.n_workers == 4
        futures = [executor.submit(lambda k=k: k * k) for k in range(8)]
        # only the new workers can run them: the first one is still held
        assert [f.result(600) for f in futures] == [k * k for k in range(8)]
        assert not slow.done()
        held.set()
        assert slow.result(600) is True
        with pytest.raises(ValueError):
            executor.resize(0)
