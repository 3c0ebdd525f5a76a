"""Shared fixtures for the peppers test suite."""

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
