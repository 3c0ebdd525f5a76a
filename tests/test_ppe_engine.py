"""The engine: errors, retries, progress, statistics, several targets, file outputs."""

from __future__ import annotations

import threading
from typing import ClassVar

import numpy as np
import pytest

from peppers.errors import OperatorError
from peppers.io.raw import RawImage
from peppers.operators.filters import BoxFilter
from peppers.ppe import Pipeline, Region, SerialExecutor, apply
from peppers.ppe.journal import TileJournal
from peppers.ppe.operator import LocalOperator, Param
from peppers.ppe.testing import RequestMonitor, Scale, whole_image

SHAPE = (200, 150)


class Flaky(LocalOperator):
    """Box-free pass-through that raises on one tile a given number of times."""

    name: ClassVar[str] = "flaky"
    params = (Param("row", int, 64, "raise on the tile starting at this row"),
              Param("times", int, 1, "how many times to raise"))
    failures: ClassVar[dict] = {}
    lock = threading.Lock()

    def compute(self, inputs, output_region):
        if output_region.row == self.row and output_region.col == 0:
            with self.lock:
                seen = self.failures.setdefault(id(self), 0)
                if seen < self.times:
                    self.failures[id(self)] = seen + 1
                    raise ZeroDivisionError("bad pixel")
        return {"output": inputs["input"] + 1}


class Split(LocalOperator):
    """Two outputs from one input in one pass: real and imaginary parts."""

    name: ClassVar[str] = "split"
    outputs: ClassVar[tuple[str, ...]] = ("re", "im")

    def output_spec(self, input_specs):
        spec = input_specs["input"]
        return {p: type(spec)(spec.shape, "float32") for p in self.outputs}

    def compute(self, inputs, output_region):
        x = inputs["input"]
        return {"re": x.real.copy(), "im": x.imag.copy()}


@pytest.fixture
def image(rng):
    return rng.normal(size=SHAPE).astype("float32")


def _flaky_pipeline(image, tmp_path, times, threads=1):
    p = Pipeline(tile_shape=(64, 64), threads=threads)
    out = p.add(Flaky(row=64, times=times), p.add(BoxFilter(size=(3, 3)), p.source(image)))
    p.output(out, tmp_path / "out.vrt")
    return p


def test_operator_error_names_operator_tile_and_inputs(image, tmp_path):
    p = _flaky_pipeline(image, tmp_path, times=99)
    monitor = RequestMonitor()
    with pytest.raises(OperatorError) as info:
        p.run(journal=tmp_path / "out.journal", observers=[monitor])
    message = str(info.value)
    assert "operator 'flaky' (Flaky) failed on its tile 3 (row=64, col=0, 64x64)" in message
    assert "input regions input=(row=64, col=0, 64x64)" in message
    assert "ZeroDivisionError: bad pixel" in message
    assert isinstance(info.value.__cause__, ZeroDivisionError)
    journal = TileJournal(tmp_path / "out.journal", signature=p.plan().signature(),
                          n_tiles=len(p.plan().tasks))
    assert not journal.is_complete()
    assert journal.done() == {0, 1, 2} | (journal.done() & {4})   # in flight may finish
    assert monitor.computations("flaky") <= 5                     # no new tiles started


def test_retries_recover_a_transient_failure(image, tmp_path):
    p = _flaky_pipeline(image, tmp_path, times=1, threads=2)
    result = p.run(retries=1)
    assert result.stats.retries == 1
    expected = whole_image(BoxFilter(size=(3, 3)), input=image)["output"] + 1
    np.testing.assert_allclose(result["out"].read(Region.full(SHAPE)), expected, rtol=1e-6)
    with pytest.raises(ValueError, match="retries must be"):
        p.run(retries=-1)


def test_bad_results_are_reported_with_the_tile(image):
    class Wrong(Scale):
        name = "wrong"

        def compute(self, inputs, output_region):
            return {"output": inputs["input"][:-1]}

    with pytest.raises(OperatorError, match=r"'wrong' on its tile 0 .* has shape \(63, 64\)"):
        apply(Wrong(), image, tile_shape=(64, 64), threads=1)

    class InPlace(Scale):
        def compute(self, inputs, output_region):
            inputs["input"][...] = 0
            return {"output": inputs["input"]}

    p = Pipeline(tile_shape=(64, 64), threads=1)
    p.output(p.add(InPlace(), p.add(BoxFilter(size=(3, 3)), p.source(image))), name="x")
    with pytest.raises(OperatorError, match="read-only"):
        p.run()


def test_progress_events_and_statistics(image):
    events = []
    p = Pipeline(tile_shape=(64, 64), threads=2)
    scaled = p.add(Scale(factor=2.0), p.source(image))
    p.output(p.add(BoxFilter(size=(5, 5)), scaled), name="out")
    lines = []
    result = p.run(progress=events.append, echo=lines.append)
    assert [e.done for e in events] == list(range(1, 13)) and events[-1].total == 12
    assert sorted(e.task for e in events) == list(range(12))
    assert all(e.seconds > 0 and set(e.node_seconds) <= {"box_filter", "scale"}
               for e in events)
    assert events[-1].eta == 0
    assert lines[0].startswith("stream: 12 output tiles, 24 tile computations")
    stats = result.stats
    assert stats.nodes["box_filter"].tiles == 12 and stats.nodes["scale"].tiles == 12
    assert set(stats.caches) == {"scale"}       # only the node read by a halo caches
    cache = stats.caches["scale"]
    assert cache.misses == 12 and cache.hits + cache.shared > 0
    assert 0 < stats.hit_rate == cache.hit_rate < 1
    assert "box_filter" in stats.summary() and "hit rate" in stats.summary()


def test_estimate_matches_a_serial_run(image):
    p = Pipeline(tile_shape=(32, 32), threads=1)
    box = p.add(BoxFilter(size=(5, 5)), p.source(image))
    p.output(p.add(BoxFilter(size=(3, 3)), box), name="out")
    est = p.estimate()
    result = p.run(executor=SerialExecutor())
    assert result.stats.peak_cache_bytes == est.cache_peak
    assert result.stats.caches["box_filter"].peak_bytes == est.working_sets[1]
    assert {k: v.tiles for k, v in result.stats.nodes.items()} == est.computations


def test_several_targets_of_one_node_in_one_pass(rng, tmp_path):
    z = (rng.normal(size=SHAPE) + 1j * rng.normal(size=SHAPE)).astype("complex64")
    p = Pipeline(tile_shape=(64, 64), threads=3)
    re, im = p.add(Split(), p.source(z))
    p.output(re, tmp_path / "re.vrt")
    p.output(im, name="im")
    monitor = RequestMonitor()
    result = p.run(observers=[monitor])
    monitor.assert_computed_once()
    assert monitor.computations("split") == 12 and result.stats.run == 12
    np.testing.assert_array_equal(RawImage.open(tmp_path / "re.vrt").read(Region.full(SHAPE)),
                                  z.real)
    np.testing.assert_array_equal(result["im"], z.imag)
    with pytest.raises(ValueError, match="journal needs file outputs"):
        p.run(journal=tmp_path / "j")


def test_script_layer_errors(image):
    p = Pipeline(tile_shape=(64, 64))
    src = p.source(image)
    with pytest.raises(ValueError, match="takes inputs"):
        p.add(Scale(), src, src)
    with pytest.raises(TypeError, match="must be an Image of this pipeline"):
        p.add(Scale(), Pipeline().source(image))
    p.output(p.add(Scale(), src), name="a")
    with pytest.raises(ValueError, match="output name 'a' is used twice"):
        p.output(p.add(Scale(), src), name="a")
