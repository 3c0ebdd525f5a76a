"""Every value type and every key path round-trips exactly through the run database."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peppers.errors import KeyPathError, RecordError
from peppers.hkv import ImageRef, RunDatabase
from peppers.hkv.keys import record_relpath, split_key
from peppers.hkv.values import normalize, parse_value, value_hash, value_text
from peppers.hkv.records import parse_record, render_record
from peppers.hkv.schema import Schema
from support.hkv import UTC, fresh_run, identifiers, key_paths, same, values

pytestmark = pytest.mark.usefixtures("no_fsync")  # throw-away runs: no fsync


@given(values)
def test_yaml_text_round_trips(value):
    assert same(parse_value(value_text(value)), value)


@given(values)
def test_hash_depends_only_on_value(value):
    assert value_hash(parse_value(value_text(value))) == value_hash(value)


@settings(max_examples=40)
@given(st.lists(st.tuples(key_paths, values), min_size=1, max_size=6))
def test_values_round_trip_through_records(pairs):
    with fresh_run() as db:
        stored = {}
        for key, value in pairs:
            try:
                db.set(key, value)
            except KeyPathError:  # value/group clash with an earlier key: legal refusal
                assert any(k.startswith(key + ".") or key.startswith(k + ".") for k in stored)
                continue
            stored[key] = value
        reopened = RunDatabase.open(db.root)  # a fresh reader: no cache, parses the files
        assert reopened.keys() == sorted(stored)
        for key, value in stored.items():
            assert same(reopened.get(key), value), key


@given(key_paths)
def test_key_paths_map_to_one_record(key):
    parts = split_key(key)
    assert record_relpath(".".join(parts[:-1])).endswith(".yaml")
    assert ".".join(parts) == key


@pytest.mark.parametrize("bad", ["", "a..b", ".a", "a.", "1a", "a.-b", "a b", "a/b", "ä", "a.b c",
                                 "a:b", "-x"])
def test_bad_key_names_the_key(tmp_path, bad):
    db = RunDatabase.create(tmp_path / "run")
    for action in (lambda: db.set(bad, 1), lambda: db.get(bad), lambda: db.delete(bad)):
        with pytest.raises(KeyPathError) as info:
            action()
        assert repr(bad) in str(info.value)


@given(st.text(max_size=12).filter(lambda s: not all(
    p and (p[0].isascii() and (p[0].isalpha() or p[0] == "_")) and all(
        c.isascii() and (c.isalnum() or c in "_-") for c in p) for p in s.split("."))))
def test_any_invalid_key_is_refused(text):
    with pytest.raises(KeyPathError):
        split_key(text)


def test_normalisation_of_foreign_types():
    assert normalize((1, (2, 3))) == [1, [2, 3]]
    assert type(normalize(np.float32(0.5))) is float and normalize(np.int64(3)) == 3
    assert type(normalize(np.bool_(True))) is bool
    plus2 = dt.timezone(dt.timedelta(hours=2))
    converted = normalize(dt.datetime(2024, 1, 1, 12, tzinfo=plus2))
    assert converted == dt.datetime(2024, 1, 1, 10, tzinfo=UTC) and converted.tzinfo is UTC


@pytest.mark.parametrize("value, needle", [
    (dt.datetime(2024, 1, 1), "no time zone"),
    (dt.date(2024, 1, 1), "date"),
    ({1: "x"}, "mapping keys must be str"),
    ({"a": [1, {2}]}, r"\['a'\]\[1\] is a set"),
    (b"bytes", "bytes"),
    (np.zeros(3), "tolist"),
    ("\ud800", "surrogate"),
])
def test_unstorable_values_are_refused_with_position(tmp_path, value, needle):
    db = RunDatabase.create(tmp_path / "run")
    with pytest.raises(RecordError, match=needle) as info:
        db.set("x.y", value)
    assert "key x.y" in str(info.value)
    assert db.keys() == []


def test_special_floats_and_image_refs_in_the_file(tmp_path):
    db = RunDatabase.create(tmp_path / "run")
    when = dt.datetime(2024, 5, 1, 12, 0, 0, 250000, tzinfo=UTC)
    ref = ImageRef("images/ifg.raw", "ab" * 32, 1024, when)
    db.set("x.values", [float("nan"), float("inf"), -float("inf"), -0.0])
    db.set("x.image", ref)
    db.set("x.when", when)
    text = (db.root / "records/x.yaml").read_text()
    assert "[.nan, .inf, -.inf, -0.0]" in text
    assert "!image {path: images/ifg.raw" in text
    assert "when: 2024-05-01T12:00:00.250000+00:00" in text
    again = RunDatabase.open(db.root)
    got = again.get("x.values")
    assert math.isnan(got[0]) and got[1:3] == [math.inf, -math.inf]
    assert math.copysign(1, got[3]) == -1
    assert again.get("x.image") == ref and again.get("x.when") == when


@pytest.mark.parametrize("path", ["/abs/file.raw", "../outside.raw", "a/../../b", ""])
def test_image_refs_must_stay_inside_the_run(path):
    with pytest.raises(ValueError):
        ImageRef(path)


@given(st.dictionaries(identifiers, values, min_size=1, max_size=5), key_paths | st.just(""))
def test_record_files_round_trip(fields, group):
    # Field names include YAML 1.1 keywords ('on', 'yes', 'null') by chance.
    raw = render_record(group, fields, Schema())
    record = parse_record(raw, group, Schema())
    assert list(record.values) == sorted(fields)
    assert all(same(record.values[k], v) for k, v in fields.items())
    assert all(raw.splitlines()[record.lines[k] - 1].decode().lstrip("'\"").startswith(k)
               for k in fields)


def test_keyword_fields():
    with fresh_run() as db:
        for name in ("on", "yes", "null", "true", "No", "y"):
            db.set(f"g.{name}", 1)
        assert RunDatabase.open(db.root).keys("g") == sorted(
            f"g.{n}" for n in ("on", "yes", "null", "true", "No", "y"))


def test_same_is_exact():
    assert same(float("nan"), float("nan"))
    assert not same(1, 1.0) and not same(1, True) and not same(0.0, -0.0)
    assert not same({"a": 1, "b": 2}, {"b": 2, "a": 1})  # order matters for round trips
    assert same([{"x": [float("inf")]}], [{"x": [float("inf")]}])


@given(values)
def test_same_is_reflexive(value):
    assert same(value, value)
