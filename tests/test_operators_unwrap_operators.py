"""The unwrapping global operators through the source/sink interface."""

from __future__ import annotations

import numpy as np
import pytest

from peppers.errors import OperatorError
from peppers.io.source import ArraySource
from peppers.operators.unwrap import UnwrapBranchCut, UnwrapMCF, UnwrapWLS
from support.unwrap_cases import make_case, score


@pytest.mark.parametrize("cls,extra", [(UnwrapMCF, {"nlooks": 14.0}), (UnwrapWLS, {}),
                                       (UnwrapBranchCut, {})])
def test_operator_writes_both_outputs(cls, extra):
    case = make_case((200, 220), 3, looks=14, patches=1)
    op = cls(threshold=0.2, tile_size=128, overlap=48, threads=2, **extra)
    sources = {"interferogram": ArraySource(case.ifg), "coherence": ArraySource(case.coherence)}
    specs = op.output_spec({k: s.spec for k, s in sources.items()})
    assert specs["unwrapped"].dtype == np.float32 and specs["components"].dtype == np.int32
    sinks = {"unwrapped": ArraySource(np.zeros(case.ifg.shape, np.float32)),
             "components": ArraySource(np.zeros(case.ifg.shape, np.int32))}
    op.run(sources, sinks)
    unw, comps = sinks["unwrapped"].array, sinks["components"].array
    assert np.isnan(unw[comps == 0]).all() and np.isfinite(unw[comps > 0]).all()
    assert not (comps[~case.data] > 0).any()
    assert score(unw, comps, case)["coherent"] >= 0.99


def test_phase_input_and_hole_filling_in_operator():
    y, x = np.mgrid[0:100, 0:100]
    truth = 0.2 * x + 0.1 * y
    coh = np.full(truth.shape, 0.9, np.float32)
    coh[40:45, 40:45] = 0.05
    op = UnwrapMCF(threshold=0.2, fill_max_hole=50)
    unw, comps = op.unwrap(np.angle(np.exp(1j * truth)).astype(np.float32), coh)
    assert (comps == 1).all()
    d = unw - truth
    assert np.allclose(d, d[0, 0], atol=1e-4)


def test_shape_mismatch_is_one_clear_error():
    op = UnwrapMCF()
    a = ArraySource(np.ones((10, 10), np.complex64))
    b = ArraySource(np.ones((10, 9), np.float32))
    with pytest.raises(OperatorError, match="unwrap_mcf: coherence shape"):
        op.output_spec({"interferogram": a.spec, "coherence": b.spec})


def test_unknown_parameter_is_rejected():
    with pytest.raises(TypeError, match="unknown parameter"):
        UnwrapWLS(nlooks=3.0)


def test_operator_tiles_whole_when_it_fits_else_the_automatic_layout():
    sources = {"interferogram": ArraySource(np.ones((120, 300), np.complex64)),
               "coherence": ArraySource(np.ones((120, 300), np.float32))}
    assert len(UnwrapMCF(tile_size=300, overlap=16).tiles(sources)) == 1
    job = UnwrapMCF(tile_size=128, overlap=16, tile_workers=2).tiles(sources)
    sides = [(p.outer.height, p.outer.width) for p in job.plans]
    assert max(max(s) for s in sides) <= 128 and len(job) % 2 == 0
    with pytest.raises(OperatorError, match="unwrap_mcf: tile side 20 must exceed twice"):
        UnwrapMCF(tile_size=20, overlap=16).tiles(sources)
