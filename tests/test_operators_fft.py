"""The per-thread pyFFTW plan cache."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from peppers.operators import fft


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_complex_plans_match_numpy(dtype, rng):
    x = (rng.standard_normal((24, 30)) + 1j * rng.standard_normal((24, 30))).astype(dtype)
    forward = fft.get_plan(x.shape, dtype, "fft2")
    forward.input_array[...] = x
    spectrum = forward().copy()
    tol = 1e-4 if dtype == np.complex64 else 1e-10
    np.testing.assert_allclose(spectrum, np.fft.fft2(x), atol=tol * np.abs(spectrum).max())
    inverse = fft.get_plan(x.shape, dtype, "ifft2")
    inverse.input_array[...] = spectrum
    np.testing.assert_allclose(inverse(), x, atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_real_plans_match_numpy(dtype, rng):
    x = rng.standard_normal((21, 33)).astype(dtype)
    forward = fft.get_plan(x.shape, dtype, "rfft2")
    forward.input_array[...] = x
    spectrum = forward().copy()
    assert spectrum.shape == fft.spectrum_shape(x.shape, "rfft2") == (21, 17)
    tol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(spectrum, np.fft.rfft2(x), atol=tol * np.abs(spectrum).max())
    inverse = fft.get_plan(x.shape, dtype, "irfft2")
    inverse.input_array[...] = spectrum
    np.testing.assert_allclose(inverse(), x, atol=tol)


def test_batch_plan_matches_numpy_and_every_slot_alike(rng):
    """A batch plan transforms each slot as numpy does, and one window gives the
    same bits in every slot (what the fringe slope's tiling invariance needs)."""
    window = (rng.standard_normal((16, 32)) + 1j * rng.standard_normal((16, 32))).astype(np.complex64)
    plan = fft.get_plan((16, 32), np.complex64, "fft2", batch=8)
    assert plan.input_array.shape == (8, 16, 32)
    plan.input_array[...] = (rng.standard_normal((8, 16, 32))
                             + 1j * rng.standard_normal((8, 16, 32)))
    expected = np.fft.fft2(plan.input_array.astype(np.complex128))
    np.testing.assert_allclose(plan(), expected, atol=1e-4 * np.abs(expected).max())
    slots = []
    for slot in (0, 3, 7):
        plan.input_array[...] = 0
        plan.input_array[slot] = window
        slots.append(plan()[slot].copy())
    for other in slots[1:]:
        np.testing.assert_array_equal(other, slots[0])
    with pytest.raises(ValueError, match="batch"):
        fft.get_plan((16, 32), np.complex64, "fft2", batch=-1)


def test_plans_are_aligned_reused_per_thread_and_bounded():
    fft.clear_plans()
    plan = fft.get_plan((16, 16), np.complex64, "fft2")
    assert fft.get_plan((16, 16), np.complex64, "fft2") is plan
    assert plan.input_array.ctypes.data % 16 == 0 and plan.simd_aligned
    others = []
    worker = threading.Thread(target=lambda: others.append(
        fft.get_plan((16, 16), np.complex64, "fft2")))
    worker.start()
    worker.join()
    assert others[0] is not plan
    for n in range(fft.PLANS_PER_THREAD + 5):
        fft.get_plan((8, 8 + n), np.float32, "rfft2")
    assert fft.cached_plan_count() == fft.PLANS_PER_THREAD
    fft.clear_plans()
    assert fft.cached_plan_count() == 0


def test_same_shape_plans_give_bit_identical_results(rng):
    x = rng.standard_normal((40, 40)).astype(np.float32)
    results = []

    def run():
        plan = fft.get_plan(x.shape, np.float32, "rfft2")
        plan.input_array[...] = x
        results.append(plan().copy())

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(np.array_equal(results[0], r) for r in results[1:])


def test_next_fast_length_and_errors():
    assert fft.next_fast_length(145) == 147
    assert fft.next_fast_length(128) == 128
    with pytest.raises(ValueError, match="kind"):
        fft.get_plan((8, 8), np.complex64, "dct")
    with pytest.raises(ValueError, match="complex64 or complex128"):
        fft.get_plan((8, 8), np.float32, "fft2")
    with pytest.raises(ValueError, match="float32 or float64"):
        fft.get_plan((8, 8), np.complex64, "rfft2")
    with pytest.raises(ValueError, match="positive"):
        fft.get_plan((0, 8), np.complex64, "fft2")
    with pytest.raises(ValueError, match=">= 1"):
        fft.next_fast_length(0)
