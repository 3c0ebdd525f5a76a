"""Numba kernels of :mod:`peppers.operators.spectral` (common-band FIR filters).

Private: the public operators check shapes and dtypes first. Every kernel is
``@njit(nogil=True, cache=True)``. Each output pixel is the same sum of the
same input pixels, in a fixed order, wherever the tile starts, so filtered
images do not depend on the tiling. Sums accumulate in double precision.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(nogil=True, cache=True)
def fir_rows(x, taps, row0, col0, out):
    """Complex FIR filter along rows (range): ``out[i, j] = sum_k taps[k] x[row0 + i, col0 + j + k]``.

    Parameters
    ----------
    x : ndarray (H, W), complex64 or complex128
        Input; must hold columns ``col0 .. col0 + out.shape[1] + len(taps) - 2``.
    taps : ndarray (n,), complex128
        Filter taps in correlation order (the impulse response reversed).
    row0, col0 : int
        Where ``out[0, 0]``'s window starts in ``x``.
    out : ndarray (h, w), complex
        Receives the filtered values.
    """
    n = taps.shape[0]
    for i in range(out.shape[0]):
        xi = x[row0 + i]
        for j in range(out.shape[1]):
            acc = 0j
            for k in range(n):
                acc += taps[k] * xi[col0 + j + k]
            out[i, j] = acc


@numba.njit(nogil=True, cache=True)
def fir_cols(x, taps, row0, col0, out):
    """Complex FIR filter along columns (azimuth): ``out[i, j] = sum_k taps[k] x[row0 + i + k, col0 + j]``."""
    n = taps.shape[0]
    acc = np.empty(out.shape[1], dtype=np.complex128)
    for i in range(out.shape[0]):
        acc[:] = 0j
        for k in range(n):
            xk = x[row0 + i + k]
            t = taps[k]
            for j in range(out.shape[1]):
                acc[j] += t * xk[col0 + j]
        for j in range(out.shape[1]):
            out[i, j] = acc[j]
