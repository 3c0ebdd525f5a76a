"""The honest bound (filter gain measured on a replica) and the quality section of pep report."""

from __future__ import annotations

import math

import numpy as np
import pytest

from peppers.operators.adaptive import AdaptiveFilter
from peppers.ppe import apply
from peppers.report.accuracy import chain_looks, filter_noise_gain
from peppers.report.quality import quality_section


def scene(gamma=0.8, looks=18.0, seed=1, shape=(160, 192)):
    """A multilooked interferogram: curved fringes, noise of ``looks`` independent looks."""
    rng = np.random.default_rng(seed)
    r, c = np.mgrid[:shape[0], :shape[1]]
    phase = 2 * np.pi * (0.02 * r + 0.00015 * r * r + 0.04 * c)
    sigma = math.sqrt((1 - gamma ** 2) / (2 * looks))
    w = sigma * (rng.normal(size=shape) + 1j * rng.normal(size=shape))
    z = (np.exp(1j * phase) * (gamma + w)).astype(np.complex64)
    return z, phase, np.full(shape, gamma, np.float32)


@pytest.mark.parametrize("smooth", [7, 1])
def test_replica_gain_matches_the_gain_against_truth(smooth):
    z, phase, coh = scene()
    op = AdaptiveFilter(smooth=smooth)
    out = apply(op, interferogram=z, coherence=coh)
    inner = (slice(16, -16), slice(16, -16))
    err = lambda x: np.mean(np.angle(x * np.exp(-1j * phase))[inner] ** 2)  # noqa: E731
    truth_gain = err(out) / err(z)
    measured = filter_noise_gain(op, out, coh, 18.0)
    print(f"\nsmooth {smooth}: gain against truth {truth_gain:.3f}, replica {measured:.3f}")
    assert measured == pytest.approx(truth_gain, rel=0.25)
    looks = chain_looks((5, 5), 0.85, measured)
    assert looks["looks"] == pytest.approx(25 * 0.85 ** 2 / measured)


class FakeRun:
    def __init__(self, root, values):
        self.root, self.values = str(root), values

    def get(self, key, default=None):
        return self.values.get(key, default)


def test_quality_section_shows_refusal_and_components(tmp_path):
    refused = "absolute heights refused: component 1: misclosure 2.2 rad; refine the baseline"
    absolute = {"method": "relative", "relative": True, "misclosure_rad": 2.2,
                "quality": {"fraction_unwrapped": 0.97, "fraction_referenced": 0.0,
                            "components": 2, "components_referenced": 0,
                            "flagged_components": [1], "gcp_rms_rad": 2.1, "refused": refused,
                            "table": [{"id": 1, "pixels": 900, "source": "gcps", "points": 9,
                                       "rms_rad": 2.1, "misclosure_rad": 2.2,
                                       "blunder_points": 0, "failed": "misclosure 2.2 rad"}]}}
    problems = []
    page = quality_section(FakeRun(tmp_path, {"insar.absolute_phase": absolute}), problems)
    assert "relative (method relative)" in page and "refine the baseline" in page
    assert "misclosure 2.2 rad" in page and "0.9700" in page
    assert "no bound" in page and problems == []
    empty = quality_section(FakeRun(tmp_path, {}), problems)
    assert "No absolute-phase estimate yet" in empty
