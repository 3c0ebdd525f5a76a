"""pyFFTW plans, cached per thread, for the FFT-based operators.

Design
------
FFTW plans are expensive to make and not safe to execute on the same arrays
from two threads at once, while the tile engine runs one operator on many
tiles in a thread pool. So each thread keeps its own small LRU cache of plans,
keyed on ``(shape, dtype, kind)``: a thread reuses its plans tile after tile
and never shares them. Planning itself goes through one process-wide lock
because the FFTW planner is not thread-safe; executing a plan releases the
GIL, so transforms on different threads run in parallel.

Plans are made with ``FFTW_ESTIMATE`` and one FFTW thread (the parallelism is
across tiles). ``FFTW_ESTIMATE`` picks the algorithm from the problem alone,
so two plans for the same shape compute bit-identical results: an operator
gives the same numbers on every thread and in every run, which the tiling
invariance tests rely on. Arrays are allocated with
:func:`pyfftw.empty_aligned` at :data:`pyfftw.simd_alignment` so SIMD kernels
are used.

Glossary
--------
kind
    ``"fft2"``/``"ifft2"``: complex to complex, forward/backward.
    ``"rfft2"``/``"irfft2"``: real to half-spectrum and back.
shape
    The real-space (image) shape of the transform. For ``rfft2`` the
    spectrum has shape ``(shape[0], shape[1] // 2 + 1)``.
dtype
    The real-space dtype: ``complex64``/``complex128`` for the complex
    kinds, ``float32``/``float64`` for the real ones. Single precision stays
    single.

Usage::

    plan = get_plan((144, 144), np.complex64, "fft2")
    plan.input_array[...] = block
    spectrum = plan()            # executes, returns plan.output_array

Inverse plans called as ``plan()`` normalise by ``1/N`` (pyFFTW's default),
so ``ifft2(fft2(x)) == x``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
import pyfftw

KINDS = ("fft2", "ifft2", "rfft2", "irfft2")

#: Plans each thread keeps before dropping the least recently used.
PLANS_PER_THREAD = 32

_COMPLEX_OF = {np.dtype(np.float32): np.dtype(np.complex64),
               np.dtype(np.float64): np.dtype(np.complex128)}
_REAL_OF = {c: r for r, c in _COMPLEX_OF.items()}

_plan_lock = threading.Lock()
_local = threading.local()


def next_fast_length(n: int) -> int:
    """The smallest FFTW-friendly length (factors 2, 3, 5, 7) that is >= ``n``.

    Parameters
    ----------
    n : int
        Minimum length, >= 1.

    Returns
    -------
    int
        A length at least ``n`` whose FFT is fast.
    """
    if n < 1:
        raise ValueError(f"FFT length must be >= 1, got {n}")
    return int(pyfftw.next_fast_len(int(n)))


def spectrum_shape(shape: tuple[int, int], kind: str) -> tuple[int, int]:
    """Shape of the spectrum of a real-space ``shape`` for transform ``kind``."""
    if kind in ("rfft2", "irfft2"):
        return (shape[0], shape[1] // 2 + 1)
    return (shape[0], shape[1])


def _plan_arrays(shape: tuple[int, int], dtype: np.dtype, kind: str, batch: tuple[int, ...]):
    """Aligned (input, output) arrays and FFTW direction for a plan."""
    if kind in ("fft2", "ifft2"):
        if dtype not in _REAL_OF:
            raise ValueError(f"{kind} needs complex64 or complex128, got {dtype}")
        a = pyfftw.empty_aligned(batch + shape, dtype=dtype)
        b = pyfftw.empty_aligned(batch + shape, dtype=dtype)
        return a, b, "FFTW_FORWARD" if kind == "fft2" else "FFTW_BACKWARD"
    if dtype not in _COMPLEX_OF:
        raise ValueError(f"{kind} needs float32 or float64, got {dtype}")
    real = pyfftw.empty_aligned(batch + shape, dtype=dtype)
    spec = pyfftw.empty_aligned(batch + spectrum_shape(shape, kind), dtype=_COMPLEX_OF[dtype])
    if kind == "rfft2":
        return real, spec, "FFTW_FORWARD"
    return spec, real, "FFTW_BACKWARD"


def get_plan(shape: tuple[int, int], dtype, kind: str, batch: int = 0) -> pyfftw.FFTW:
    """This thread's cached FFTW plan for a 2-D transform (or a batch of them).

    Parameters
    ----------
    shape : tuple of int
        Real-space shape ``(rows, cols)`` of the transform.
    dtype : numpy dtype
        Real-space dtype: complex for ``fft2``/``ifft2``, real for
        ``rfft2``/``irfft2``; single or double precision.
    kind : {"fft2", "ifft2", "rfft2", "irfft2"}
        Which transform.
    batch : int
        ``0`` (default): one transform, arrays of ``shape``. ``n >= 1``: ``n``
        transforms in one call, arrays of shape ``(n, *shape)`` transformed
        over their last two axes. Keep ``n`` fixed for results that must not
        depend on how many transforms a caller has (one plan, the same
        arithmetic for every slot).

    Returns
    -------
    pyfftw.FFTW
        A plan owned by the calling thread. Fill ``plan.input_array`` and
        call ``plan()``; the result is ``plan.output_array`` (overwritten by
        the next call, copy it if it must live longer). Backward plans
        normalise by ``1/N``.

    Raises
    ------
    ValueError
        Unknown ``kind``, a dtype that does not fit it, or a bad shape.
    """
    if kind not in KINDS:
        raise ValueError(f"FFT kind must be one of {KINDS}, got {kind!r}")
    shape = (int(shape[0]), int(shape[1]))
    if min(shape) < 1 or batch < 0:
        raise ValueError(f"FFT shape must be positive and batch >= 0, got {shape}, {batch}")
    dtype = np.dtype(dtype)
    cache = _thread_cache()
    key = (shape, dtype.str, kind, int(batch))
    plan = cache.get(key)
    if plan is not None:
        cache.move_to_end(key)
        return plan
    lead = (int(batch),) if batch else ()
    a, b, direction = _plan_arrays(shape, dtype, kind, lead)
    with _plan_lock:
        plan = pyfftw.FFTW(a, b, axes=(-2, -1), direction=direction,
                           flags=("FFTW_ESTIMATE",), threads=1)
    cache[key] = plan
    while len(cache) > PLANS_PER_THREAD:
        cache.popitem(last=False)
    return plan


def _thread_cache() -> OrderedDict:
    cache = getattr(_local, "plans", None)
    if cache is None:
        cache = _local.plans = OrderedDict()
    return cache


def cached_plan_count() -> int:
    """Number of plans the calling thread holds (for tests and diagnostics)."""
    return len(_thread_cache())


def clear_plans() -> None:
    """Drop the calling thread's plans."""
    _thread_cache().clear()
