"""Stream specs: YAML round trip, errors naming file and field, build, run_spec and resume."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from peppers.errors import StreamSpecError
from peppers.io.raw import RawImage
from peppers.operators.filters import BoxFilter
from peppers.operators.pixelwise import Multiply, PhaseRamp
from peppers.ppe.operator import ImageSpec
from peppers.ppe.region import Region
from peppers.ppe.streamspec import NodeSpec, StreamSpec, journal_path, run_spec, stream_path
from peppers.ppe.testing import whole_image


def _spec(name: str = "s1") -> StreamSpec:
    return StreamSpec(name, {"a": "inputs/a.vrt", "b": "inputs/b.vrt"}, [
        NodeSpec("ifg", "peppers.operators.pixelwise:Multiply", {"conjugate": True},
                 {"a": "a", "b": "b"}, {"output": "ifg"}),
        NodeSpec("smooth", "peppers.operators.filters:BoxFilter", {"size": (5, 3)},
                 {"input": "ifg"}, {"output": "smooth"}),
        NodeSpec("ramp", "peppers.operators.pixelwise:PhaseRamp", {"row_rate": 0.02},
                 {"input": "smooth"}, {"output": "flat"})],
        {"flat": "images/flat.vrt", "ifg": "images/ifg.vrt"}, (32, 48), "16M")


@pytest.fixture
def run(tmp_path, rng):
    root = tmp_path / "run"
    (root / "inputs").mkdir(parents=True)
    arrays = {}
    for name in "ab":
        x = (rng.normal(size=(90, 130)) + 1j * rng.normal(size=(90, 130))).astype("complex64")
        image = RawImage.create(root / "inputs" / f"{name}.vrt", ImageSpec(x.shape, x.dtype))
        image.write(Region.full(x.shape), x)
        image.flush()
        arrays[name] = x
    return root, arrays


def test_save_load_round_trip(tmp_path):
    spec = _spec()
    path = stream_path(tmp_path, "s1")
    spec.save(path)
    assert path == tmp_path / ".peppers" / "streams" / "s1.yaml"
    loaded = StreamSpec.load(path)
    assert loaded.to_plain() == spec.to_plain()
    assert loaded.tile_shape == (32, 48) and loaded.nodes[1].params == {"size": [5, 3]}
    assert not list(path.parent.glob("*.tmp*"))


@given(st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True),
                       st.recursive(st.none() | st.booleans() | st.integers() |
                                    st.floats(allow_nan=False) | st.text(max_size=8),
                                    lambda c: st.lists(c, max_size=3) |
                                    st.dictionaries(st.text(min_size=1, max_size=5), c,
                                                    max_size=3), max_leaves=8), max_size=4))
def test_params_survive_the_file(tmp_path_factory, params):
    spec = _spec()
    spec.nodes[0].params = params
    path = tmp_path_factory.mktemp("p") / "s.yaml"
    spec.save(path)
    assert StreamSpec.load(path).nodes[0].params == params


@pytest.mark.parametrize("text, field, problem", [
    ("[1, 2]", "(top)", "expected a mapping"),
    ("name: s\nsources: {}\nnodes: []\ntargets: {}\ntile_shape: [8, 8]\nmem: 1M\nextra: 1",
     "extra", "unknown field"),
    ("name: s\nsources: {}\nnodes: []\ntargets: {}\nmem: 1M", "tile_shape", "missing"),
    ("name: s\nsources: {}\nnodes: [3]\ntargets: {}\ntile_shape: [8, 8]\nmem: 1M",
     "nodes[0]", "expected a mapping"),
    ("name: s\nsources: {a: a.vrt}\nnodes: [{name: n, operator: m:C, inputs: {input: a}}]\n"
     "targets: {}\ntile_shape: [8, 8]\nmem: 1M", "nodes[0].outputs", "missing"),
    ("name: s\nsources: {a: a.vrt}\nnodes: [{name: n, operator: m:C, inputs: {input: z}, "
     "outputs: {output: b}}]\ntargets: {b: b.vrt}\ntile_shape: [8, 8]\nmem: 1M",
     "nodes[0].inputs.input", "image 'z' is made by no source and no earlier node"),
    ("name: s\nsources: {a: a.vrt}\nnodes: [{name: n, operator: nocolon, inputs: {input: a}, "
     "outputs: {output: b}}]\ntargets: {b: b.vrt}\ntile_shape: [8, 8]\nmem: 1M",
     "nodes[0].operator", "expected 'module:Class'"),
    ("name: s\nsources: {a: a.vrt}\nnodes: [{name: n, operator: m:C, inputs: {input: a}, "
     "outputs: {output: a}}]\ntargets: {a: a.vrt}\ntile_shape: [8, 8]\nmem: 1M",
     "nodes[0].outputs.output", "image 'a' is already made by sources"),
    ("name: s\nsources: {a: a.vrt}\nnodes: [{name: n, operator: m:C, inputs: {input: a}, "
     "outputs: {output: b}}]\ntargets: {a: a.vrt}\ntile_shape: [8, 8]\nmem: 1M",
     "targets.a", "not made by a node"),
    ("name: s\nsources: {a: a.vrt}\nnodes: [{name: n, operator: m:C, inputs: {input: a}, "
     "outputs: {output: b}}]\ntargets: {b: b.tif}\ntile_shape: [8, 8]\nmem: 1M",
     "targets.b", "ending in .vrt"),
    ("name: s\nsources: {}\nnodes: []\ntargets: {}\ntile_shape: [8, 0]\nmem: 1M",
     "tile_shape", "two positive integers"),
    ("name: s\nsources: {}\nnodes: []\ntargets: {}\ntile_shape: [8, 8]\nmem: lots",
     "mem", ""),
    ("name: s\nsources: {}\nnodes: []\ntargets: {}\ntile_shape: [8, 8]\nmem: 1M",
     "nodes", "at least one node"),
    ("name: s\nsources: {a: a.vrt}\nnodes: [{name: n, operator: m:C, inputs: {input: a}, "
     "outputs: {output: b}}, {name: n, operator: m:C, inputs: {input: b}, outputs: "
     "{output: c}}]\ntargets: {c: c.vrt}\ntile_shape: [8, 8]\nmem: 1M",
     "nodes[1].name", "appears twice"),
    ("name: s\nsources: {a: a.vrt\n", "line 3", "not valid YAML"),
])
def test_load_errors_name_file_and_field(tmp_path, text, field, problem):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(StreamSpecError) as info:
        StreamSpec.load(path)
    assert str(info.value).startswith(f"{path}: {field}: ")
    assert problem in str(info.value)


def test_missing_spec_file_says_who_writes_it(tmp_path):
    with pytest.raises(StreamSpecError, match=r"s9\.yaml: \(file\): no such stream spec"):
        StreamSpec.load(stream_path(tmp_path, "s9"))


@pytest.mark.parametrize("node, field, problem", [
    (NodeSpec("x", "peppers.no_such:Op", {}, {"input": "a"}, {"output": "o"}),
     "nodes[0].operator", "cannot import peppers.no_such"),
    (NodeSpec("x", "peppers.operators.filters:Nope", {}, {"input": "a"}, {"output": "o"}),
     "nodes[0].operator", "has no 'Nope'"),
    (NodeSpec("x", "peppers.ppe.operator:ImageSpec", {}, {"input": "a"}, {"output": "o"}),
     "nodes[0].operator", "is not a local operator"),
    (NodeSpec("x", "peppers.operators.filters:BoxFilter", {"sizes": [3, 3]}, {"input": "a"},
              {"output": "o"}), "nodes[0].params", "unknown parameter"),
    (NodeSpec("x", "peppers.operators.filters:BoxFilter", {"size": "big"}, {"input": "a"},
              {"output": "o"}), "nodes[0].params", "must be tuple"),
    (NodeSpec("x", "peppers.operators.pixelwise:Multiply", {}, {"a": "a"}, {"output": "o"}),
     "nodes[0].inputs", "has input ports ['a', 'b']"),
    (NodeSpec("x", "peppers.operators.filters:BoxFilter", {}, {"input": "a"}, {"coh": "o"}),
     "nodes[0].outputs.coh", "has output ports ['output']"),
])
def test_build_errors_name_the_node(run, node, field, problem):
    root, _ = run
    spec = StreamSpec("bad", {"a": "inputs/a.vrt"}, [node], {"o": "images/o.vrt"}, (32, 32),
                      "8M")
    with pytest.raises(StreamSpecError) as info:
        spec.build(root)
    assert str(info.value).startswith(f"stream 'bad': {field}: ")
    assert problem in str(info.value)


def test_run_spec_equals_whole_arrays_and_resumes_from_a_moved_run(run, tmp_path):
    root, arrays = run
    spec = _spec()
    spec.save(stream_path(root, "s1"))
    lines = []
    stats = run_spec(StreamSpec.load(stream_path(root, "s1")), root, threads=2, echo=lines.append)
    assert stats.run == stats.total == 2 * 9 and lines[0].startswith("stream: 18 output tiles")
    ifg = whole_image(Multiply(), a=arrays["a"], b=arrays["b"])["output"]
    flat = whole_image(PhaseRamp(row_rate=0.02),
                       input=whole_image(BoxFilter(size=(5, 3)), input=ifg)["output"])["output"]
    full = Region.full((90, 130))
    assert np.array_equal(RawImage.open(root / "images/ifg.vrt").read(full), ifg)
    np.testing.assert_allclose(RawImage.open(root / "images/flat.vrt").read(full), flat,
                               rtol=0, atol=1e-5)
    assert journal_path(root, "s1").with_name("s1.journal.complete").exists()
    moved = tmp_path / "moved"
    shutil.copytree(root, moved)
    again = run_spec(spec, moved, threads=1)
    assert (again.run, again.skipped) == (0, 18)
    forced = run_spec(spec, moved, threads=1, mem="4M", force=True)
    assert (forced.run, forced.skipped) == (18, 0)
