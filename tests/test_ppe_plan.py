"""The tile plan: task order, refcounts, signature, estimate, graph validation."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest

from peppers.io.source import ArraySource
from peppers.ppe.estimate import split_budget
from peppers.ppe.graph import Graph
from peppers.ppe.operator import GlobalOperator, LocalOperator, Param
from peppers.ppe.plan import Plan
from peppers.ppe.region import Region
from peppers.ppe.testing import Scale


class Halo(LocalOperator):
    """Sum over a (2h+1)^2 window; numpy, for plan tests."""

    name: ClassVar[str] = "halo"
    params = (Param("h", int, 2, "halo"),)

    def input_region(self, output_region, input_specs):
        return {"input": output_region.grow(self.h)}

    def compute(self, inputs, output_region):
        x, h = inputs["input"], self.h
        out = np.zeros(output_region.shape, x.dtype)
        for dr in range(2 * h + 1):
            for dc in range(2 * h + 1):
                out += x[dr:dr + output_region.height, dc:dc + output_region.width]
        return {"output": out}


def _chain(shape=(64, 64), tile=(16, 16)):
    g = Graph()
    src = g.add_source(ArraySource(np.zeros(shape, "f4")))
    a = g.add_operator(Halo(h=2), {"input": src}, name="a")["output"]
    b = g.add_operator(Halo(h=2), {"input": a}, name="b")["output"]
    return g, Plan(g, [b], tile)


def test_refcounts_of_a_halo_chain():
    g, plan = _chain()
    counts = plan.refcounts()
    grid = plan.grids[1]
    expected = {}
    for i in range(len(grid)):
        r, c = grid.position(i)
        expected[i] = (2 if r in (0, 3) else 3) * (2 if c in (0, 3) else 3)
    assert counts[1] == expected            # 9 inside, 6 on edges, 4 in corners
    assert counts[2] == {i: 1 for i in range(16)}
    sub = plan.refcounts([0])               # only the first task: a 2x2 block of `a`
    assert sub[1] == {0: 1, 1: 1, 4: 1, 5: 1}


def test_tasks_are_row_major_stripes_over_all_targets():
    g = Graph()
    src = g.add_source(ArraySource(np.zeros((40, 30), "f4")))
    a = g.add_operator(Scale(factor=2.0), {"input": src}, name="a")["output"]
    b = g.add_operator(Scale(factor=3.0), {"input": a}, name="b")["output"]
    plan = Plan(g, [b, a], (16, 16))
    assert len(plan.tasks) == 2 * 6
    tops = [(plan.tile(n, i).row, plan.tile(n, i).col) for n, i in plan.tasks]
    assert tops == sorted(tops)
    assert plan.tasks[:2] == ((2, 0), (1, 0))  # same tile: targets in the order given


def test_requests_answer_halos_from_covering_tiles():
    g, plan = _chain()
    (req,) = plan.requests(2, 5)             # tile (1, 1) of b: rows/cols 16..32
    assert req.region == Region(14, 14, 20, 20) and req.source == req.region
    assert req.tiles == (0, 1, 2, 4, 5, 6, 8, 9, 10)
    (edge,) = plan.requests(2, 0)            # reflect: reads rows 0..18 only
    assert edge.region == Region(-2, -2, 20, 20) and edge.source == Region(0, 0, 18, 18)


def test_signature_tracks_plan_parameters():
    _, plan = _chain()
    assert plan.signature() == _chain()[1].signature()
    assert plan.signature() != _chain(tile=(32, 16))[1].signature()
    g = Graph()
    src = g.add_source(ArraySource(np.zeros((64, 64), "f4")))
    a = g.add_operator(Halo(h=1), {"input": src}, name="a")["output"]
    b = g.add_operator(Halo(h=2), {"input": a}, name="b")["output"]
    assert Plan(g, [b], (16, 16)).signature() != plan.signature()


def test_estimate_counts_tiles_and_splits_the_budget():
    _, plan = _chain()
    est = plan.estimate(mem="1M", threads=2)
    assert est.tasks == 16 and est.computations == {"a": 16, "b": 16}
    assert est.working_sets[2] == 0 and est.budgets[2] == 0      # b: read once, no cache
    assert est.working_sets[1] > 0 and est.budgets[1] == 2 ** 20
    assert est.working_sets[1] <= 16 * 16 * 16 * 4               # at most the image of a
    assert "16 output tiles" in str(est) and est.peak_bytes > 0
    assert split_budget(10, {1: 0}) == {1: 0}


def test_graph_rejects_what_cannot_stream():
    class Unwrap(GlobalOperator):
        name = "unwrap"

        def run(self, sources, sinks):
            pass

    g = Graph()
    src = g.add_source(ArraySource(np.zeros((8, 8), "f4")))
    with pytest.raises(TypeError, match="unwrap is a 'global' operator"):
        g.add_operator(Unwrap(), {"input": src})
    with pytest.raises(ValueError, match=r"input ports \['input'\], got \['x'\]"):
        g.add_operator(Scale(), {"x": src})
    with pytest.raises(ValueError, match="stored source"):
        Plan(g, [src])
    with pytest.raises(TypeError, match="needs .spec and .read"):
        g.add_source(np.zeros((3, 3)))

    class Broken(Scale):
        def input_region(self, output_region, input_specs):
            return {"input": (0, 0, 1, 1)}

    out = g.add_operator(Broken(), {"input": src}, name="broken")["output"]
    with pytest.raises(ValueError, match="'broken': input_region gave no Region"):
        Plan(g, [out], (4, 4)).requests(out.node, 0)
