"""MCF costs on noisy data, what steep fringes do, and the optional SNAPHU method."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest

from peppers.errors import OperatorError
from peppers.operators.unwrap import unwrap_mcf
from peppers.operators.unwrap.unwrappers import Unwrap
from support.unwrap_cases import make_case, score

HAVE_SNAPHU = importlib.util.find_spec("snaphu") is not None


def test_noisy_four_looks_with_decorrelated_patches():
    """4 looks, coherence 0.3-0.95 and 0.1 patches: the weighted, gated fringe rate
    keeps the decorrelated patches right (an unweighted rate there is noise)."""
    case = make_case((384, 384), 7, looks=4, patches=4)
    s = score(*unwrap_mcf(case.ifg, case.coherence, nlooks=4), case)
    assert s["all"] >= 0.995 and s["coherent"] >= 0.998, s  # ungated rate: 0.9924
    # the rate off (window 1) is no better: the gate already ignores noisy rates
    s1 = score(*unwrap_mcf(case.ifg, case.coherence, nlooks=4, gradient_window=1), case)
    assert s["all"] >= s1["all"] - 0.002, (s, s1)


@pytest.mark.parametrize("rate", [0.8, 0.95])
def test_steep_fringes_below_pi_per_pixel_unwrap(rate):
    """Fringes up to (but below) pi/px with 14-look noise: wrapped gradients often
    exceed pi, the local rate shifts them back, every pixel right."""
    case = make_case((200, 200), 3, looks=14, max_slope=0.0, ramp=(0.0, rate * np.pi),
                     low=0.9, high=0.95, patches=0, edge=0)
    s = score(*unwrap_mcf(case.ifg, case.coherence, nlooks=14), case)
    assert s["all"] >= 0.999, s


def test_aliased_fringes_above_pi_per_pixel_come_out_aliased():
    """A 1.1 pi/px ramp is sampled like a -0.9 pi/px one: no unwrapper can tell them
    apart, and MCF returns the alias (docs/unwrapping.md, steep fringes)."""
    y, x = np.mgrid[0:100, 0:100].astype(float)
    truth = 1.1 * np.pi * x
    unw, comps = unwrap_mcf(np.exp(1j * truth))
    slope = np.median(np.diff(unw.astype(float), axis=1))
    assert comps.max() == 1 and abs(slope - (1.1 - 2.0) * np.pi) < 1e-3, slope


def test_snaphu_method_without_snaphu_py_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "snaphu", None)  # import snaphu raises ImportError
    case = make_case((32, 32), 0, looks=14, patches=0)
    with pytest.raises(OperatorError, match=r"snaphu-py.*pip install"):
        Unwrap(method="snaphu", tile_size=0, nlooks=14).unwrap(case.ifg, case.coherence)


@pytest.mark.skipif(not HAVE_SNAPHU, reason="snaphu-py not installed (pip install "
                    "'peppers[unwrap]'): insar.unwrap.method snaphu untestable here")
def test_snaphu_method_unwraps():
    case = make_case((160, 160), 5, looks=14, patches=0)
    unw, comps = Unwrap(method="snaphu", tile_size=0, nlooks=14).unwrap(case.ifg,
                                                                          case.coherence)
    assert unw.dtype == np.float32 and comps.dtype == np.int32
    assert np.isnan(unw[comps == 0]).all() and (comps[~case.data] == 0).all()
    s = score(unw, comps, case)
    assert s["coherent"] >= 0.99, s
