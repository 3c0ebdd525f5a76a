"""Hand-edited records that break: errors name file, line and key; the rest stays usable."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peppers.errors import HKVError, KeyPathError, RecordError
from peppers.hkv import RunDatabase
from support.hkv import fresh_run, identifiers

pytestmark = pytest.mark.usefixtures("no_fsync")  # throw-away runs: no fsync

PARAMETERS = {
    "insar.looks": {"type": "int", "default": 4, "doc": "Looks."},
    "insar.coherence.window": {"type": "list[int]", "default": [5, 5], "doc": "Window."},
    "dem.spacing": {"type": "float | null", "default": None},
}


@pytest.fixture
def db(tmp_path):
    db = RunDatabase.create(tmp_path / "run", PARAMETERS)
    db.set("insar.method", "goldstein")
    db.set("other.kept", [1, 2])
    return db


def _edit(db, relpath, text):
    (db.root / relpath).write_text(text)


def _message(action) -> str:
    with pytest.raises(RecordError) as info:
        action()
    return str(info.value)


@pytest.mark.parametrize("text, line, key, problem", [
    ("looks: 4\nmethod: [goldstein\n", 2, "insar.method", "not valid YAML"),
    ("looks: 4\nmethod: goldstein\n  bad: indent\n", 3, "insar.method", "not valid YAML"),
    ("looks: 4\nmethod: goldstein\nlooks: 5\n", 3, "insar.looks", "written twice"),
    ("looks: four\nmethod: goldstein\n", 1, "insar.looks", "expected int"),
    ("looks: 4\nmethod: goldstein\nbad key: 1\n", 3, "insar.bad key", "not an identifier"),
    ("looks: 4\n1x: 2\n", 2, "insar.1x", "not an identifier"),
    ("looks: 4\nwhen: 2024-01-01 12:00:00\n", 2, "insar.when", "no time zone"),
    ("looks: 4\nday: 2024-01-01\n", 2, "insar.day", "date"),
    ("looks: 4\nimg: !image {path: /abs/x.raw}\n", 2, "insar.img", "absolute"),
    ("- just\n- a list\n", 1, None, "must be a mapping"),
    ("looks: 4\nmethod: \"unterminated\n", 2, "insar.method", "not valid YAML"),
])
def test_broken_record_names_file_line_key(db, text, line, key, problem):
    _edit(db, "records/insar.yaml", text)
    message = _message(lambda: db.get("insar.looks"))
    assert message.startswith(f"records/insar.yaml, line {line}")
    if key:
        assert f"key {key}" in message
    assert problem in message
    assert "\n" not in message
    # Other records stay usable, for reading and writing.
    assert db.get("other.kept") == [1, 2]
    assert db.get("insar.coherence.window") == [5, 5]
    db.set("other.new", 3)
    assert RunDatabase.open(db.root).get("other.new") == 3
    # Writing into the broken record is refused, not silently repaired.
    with pytest.raises(RecordError):
        db.set("insar.method", "x")


def test_not_utf8_names_the_line(db):
    (db.root / "records/insar.yaml").write_bytes(b"looks: 4\nmethod: \xff\xfe\n")
    assert _message(lambda: db.get("insar.method")).startswith("records/insar.yaml, line 2")


def test_wrong_type_through_the_api_names_the_key(db):
    message = _message(lambda: db.set("insar.coherence.window", [5, "x"]))
    assert "key insar.coherence.window" in message and "expected list[int]" in message
    assert db.get("insar.coherence.window") == [5, 5]
    db.set("dem.spacing", 30)  # an int for a float parameter is stored as float
    assert db.get("dem.spacing") == 30.0 and type(db.get("dem.spacing")) is float
    db.set("dem.spacing", None)
    with pytest.raises(RecordError, match="expected float | null"):
        db.set("dem.spacing", "thirty")


@settings(max_examples=30)
@given(st.lists(identifiers, min_size=2, max_size=6, unique=True), st.data())
def test_wrong_type_line_is_the_fields_line(names, data):
    """Wherever a declared int sits in a hand-written record, the line is its line."""
    target = data.draw(st.sampled_from(names))
    with fresh_run({f"g.{target}": {"type": "int", "default": 1}}) as db:
        lines = [f"{name}: 'text'" if name == target else f"{name}: 1" for name in names]
        (db.root / "records/g.yaml").write_text("# edited\n" + "\n".join(lines) + "\n")
        message = _message(lambda: db.get(f"g.{target}"))
        assert re.match(rf"records/g\.yaml, line {names.index(target) + 2}, key g\.{target}: ",
                        message), message


def test_a_key_that_is_value_and_group_is_reported(db):
    _edit(db, "records/other.yaml", "kept: [1, 2]\ninsar: 1\n")  # other.insar is a value
    (db.root / "records/other").mkdir()
    _edit(db, "records/other/insar.yaml", "x: 1\n")  # and other.insar.x makes it a group
    assert db.get("other.insar") == 1
    with pytest.raises(RecordError, match="other.insar: is both a value"):
        db.subtree("other")


def test_bad_parameter_sets_are_refused(tmp_path):
    with pytest.raises(HKVError, match="expected int"):
        RunDatabase.create(tmp_path / "a", {"x.y": {"type": "int", "default": "no"}})
    with pytest.raises(HKVError, match="unknown type"):
        RunDatabase.create(tmp_path / "b", {"x.y": {"type": "integer"}})
    with pytest.raises(HKVError, match="value or a group"):
        RunDatabase.create(tmp_path / "c", {"x": {"type": "int"}, "x.y": {"type": "int"}})
    with pytest.raises(KeyPathError):
        RunDatabase.create(tmp_path / "d", {"x y": {"type": "int"}})


def test_open_and_create_refuse_the_wrong_directory(tmp_path):
    with pytest.raises(HKVError, match="not a peppers run"):
        RunDatabase.open(tmp_path)
    RunDatabase.create(tmp_path / "run")
    with pytest.raises(HKVError, match="already holds a peppers run"):
        RunDatabase.create(tmp_path / "run")


def test_missing_keys_and_clashes(db):
    with pytest.raises(KeyPathError, match="key nothing.here: no such key"):
        db.get("nothing.here")
    assert db.get("nothing.here", None) is None
    with pytest.raises(KeyPathError, match="no such key to delete"):
        db.delete("nothing")
    with pytest.raises(KeyPathError, match="insar.looks is a value"):
        db.set("insar.looks.deeper", 1)
    with pytest.raises(KeyPathError, match="is a group"):
        db.set("insar", 1)
