"""AdaptiveFilter: identity at alpha 0, noise and residues, fringe fidelity, Baran, tiling."""

from __future__ import annotations

import math

import numpy as np
import pytest

from peppers.errors import OperatorError
from peppers.operators.adaptive import AdaptiveFilter
from peppers.ppe import apply
from peppers.ppe.operator import ImageSpec
from peppers.ppe.region import Region
from peppers.ppe.testing import whole_image

SHAPE = (192, 256)
INNER = (slice(24, -24), slice(24, -24))


def noisy(gamma, seed=0, shape=SHAPE):
    """A curved fringe pattern (truth phase) times single-look noise of coherence ``gamma``."""
    rng = np.random.default_rng(seed)
    r, c = np.mgrid[:shape[0], :shape[1]]
    phase = 2 * np.pi * (0.05 * r + 0.0002 * r * r + 0.1 * c)
    n1 = rng.normal(size=shape) + 1j * rng.normal(size=shape)
    n2 = rng.normal(size=shape) + 1j * rng.normal(size=shape)
    ifg = n1 * np.conj(gamma * n1 + math.sqrt(1 - gamma**2) * n2) * np.exp(1j * phase)
    return ifg.astype(np.complex64), phase


def rms_error(z, phase):
    return float(np.sqrt(np.mean(np.angle(z * np.exp(-1j * phase))[INNER] ** 2)))


def residues(z):
    """Number of phase residues (non-zero circulation around 2 x 2 loops)."""
    p = np.angle(z)
    wrap = lambda d: np.angle(np.exp(1j * d))  # noqa: E731
    loop = (wrap(p[1:, :-1] - p[:-1, :-1]) + wrap(p[1:, 1:] - p[1:, :-1])
            + wrap(p[:-1, 1:] - p[1:, 1:]) + wrap(p[:-1, :-1] - p[:-1, 1:]))
    return int(np.count_nonzero(np.round(loop / (2 * np.pi))))


def run(op, ifg, coherence=None, tile_shape=(64, 96), threads=2):
    coherence = np.full(ifg.shape, 0.5, np.float32) if coherence is None else coherence
    return apply(op, interferogram=ifg, coherence=coherence, tile_shape=tile_shape,
                 threads=threads)


def test_alpha_zero_and_none_are_the_identity():
    ifg, _ = noisy(0.5)
    identity = run(AdaptiveFilter(alpha=0.0), ifg)
    np.testing.assert_allclose(identity, ifg, atol=2e-5 * np.abs(ifg).max())
    np.testing.assert_array_equal(run(AdaptiveFilter(method="none"), ifg), ifg)


def test_filter_reduces_noise_and_residues_with_alpha():
    ifg, phase = noisy(0.6)
    before = rms_error(ifg, phase), residues(ifg)
    isce2 = dict(smooth=1, window=32, step=16)     # ISCE2 psfilt
    half = run(AdaptiveFilter(alpha=0.5, **isce2), ifg)
    full = run(AdaptiveFilter(alpha=1.0, **isce2), ifg)
    assert rms_error(half, phase) < 0.3 * before[0] and residues(half) < 0.01 * before[1]
    assert rms_error(full, phase) < rms_error(half, phase) and residues(full) <= residues(half)
    smooth = run(AdaptiveFilter(alpha=0.5, smooth=3, window=32, step=16), ifg)
    assert rms_error(smooth, phase) < 0.5 * before[0]
    # single-look, gamma 0.6: a 9 x 9 mean lowers the fringe line's contrast ~81 x, so the
    # chain's default (chosen on multilooked interferograms) filters this far less
    default = run(AdaptiveFilter(), ifg)
    assert rms_error(smooth, phase) < rms_error(default, phase) < 0.9 * before[0]


def test_clean_steep_fringe_passes():
    """A noise-free fringe of 0.3 cycles/pixel comes out with its phase unchanged."""
    r, c = np.mgrid[:SHAPE[0], :SHAPE[1]]
    phase = 2 * np.pi * (0.3 * r - 0.17 * c)
    ifg = np.exp(1j * phase).astype(np.complex64)
    out = run(AdaptiveFilter(alpha=0.8), ifg)
    assert rms_error(out, phase) < 0.02


def test_baran_alpha_follows_coherence():
    """alpha = 1 - coherence: a coherent area is left almost as it is, an incoherent one is not."""
    ifg, phase = noisy(0.6, seed=3)
    high = run(AdaptiveFilter(method="baran"), ifg, np.full(SHAPE, 0.97, np.float32))
    low = run(AdaptiveFilter(method="baran"), ifg, np.full(SHAPE, 0.1, np.float32))
    change = lambda z: float(np.mean(np.abs(np.angle(z * np.conj(ifg)))[INNER]))  # noqa: E731
    assert change(high) < 0.25 * change(low)
    fixed = run(AdaptiveFilter(alpha=0.9), ifg)
    np.testing.assert_allclose(low, fixed, rtol=1e-4, atol=1e-4 * np.abs(fixed).max())


def test_tiles_and_threads_identical_to_whole_image():
    ifg, _ = noisy(0.5, seed=4, shape=(133, 150))
    coherence = np.random.default_rng(5).uniform(0.2, 0.9, size=(133, 150)).astype(np.float32)
    for op in (AdaptiveFilter(), AdaptiveFilter(method="baran", window=16, step=5, smooth=3)):
        whole = whole_image(op, interferogram=ifg, coherence=coherence)["output"]
        for tile_shape, threads in (((32, 32), 2), ((50, 77), 1), ((133, 150), 2)):
            np.testing.assert_array_equal(run(op, ifg, coherence, tile_shape, threads), whole)


def test_patch_layout_and_errors():
    op = AdaptiveFilter(window=32, step=16)
    assert op.offset == 8 and op.taper.min() > 0
    # every pixel of a tile is covered by the patches input_region asks for
    assert op.input_region(Region(0, 0, 16, 16), {})["interferogram"] == Region(-24, -24, 64, 64)
    for bad in (dict(method="gauss"), dict(alpha=-1.0), dict(window=30 + 1), dict(step=40),
                dict(smooth=2)):
        with pytest.raises(ValueError):
            AdaptiveFilter(**bad)
    with pytest.raises(OperatorError, match="complex"):
        op.output_spec({"interferogram": ImageSpec((8, 8), np.float32),
                        "coherence": ImageSpec((8, 8), np.float32)})
    with pytest.raises(OperatorError, match="shape"):
        op.output_spec({"interferogram": ImageSpec((8, 8), np.complex64),
                        "coherence": ImageSpec((8, 9), np.float32)})
