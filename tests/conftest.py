"""Shared fixtures for the peppers test suite.

Layout: one file per tested module, ``test_<package>_<module>[_<aspect>].py``
(``test_operators_coherence.py``, ``test_drs_make_crash.py``); helpers that
several files share (scenes, synthetic pairs, small runs, test operators,
scripts) live in ``tests/support/`` and are imported as ``support.NAME``;
fixtures that several files use live here. Every ``>>>`` example of the
packages runs in ``test_peppers_doctests.py`` (no hand-kept module lists).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

# Hypothesis: deterministic in CI, a little more thorough locally.
settings.register_profile("ci", derandomize=True, deadline=None, max_examples=60)
settings.register_profile("dev", deadline=None, max_examples=100)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture
def rng():
    """A seeded random generator, the same in every run."""
    import numpy as np

    return np.random.default_rng(12345)


@pytest.fixture(scope="module")
def no_fsync():
    """Skip fsync for a module's throw-away runs (property tests make hundreds;
    atomicity does not depend on fsync). Apply with
    ``pytestmark = pytest.mark.usefixtures("no_fsync")``."""
    from peppers.hkv import storage

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(storage, "SYNC", False)
        yield
