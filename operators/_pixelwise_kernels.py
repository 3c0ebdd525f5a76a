"""Numba kernels of the pixel-wise operators in :mod:`peppers.operators.pixelwise`.

Private: the public operators check shapes and dtypes first. Each kernel is
one fused loop (no temporaries the size of the tile) and releases the GIL.
Phases are computed in double precision from *absolute* pixel coordinates,
so a pixel's value does not depend on which tile it falls in.
"""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(nogil=True, cache=True)
def phase_ramp(x, row0, col0, row_rate, col_rate, out):
    """``out[i, j] = x[i, j] * exp(-1j * (row_rate * (row0 + i) + col_rate * (col0 + j)))``.

    The ramp is separable: one complex factor per row and one per column,
    each a function of its absolute coordinate only.
    """
    h, w = out.shape
    col_factor = np.empty(w, dtype=np.complex128)
    for j in range(w):
        phase = col_rate * (col0 + j)
        col_factor[j] = complex(math.cos(phase), -math.sin(phase))
    for i in range(h):
        phase = row_rate * (row0 + i)
        row_factor = complex(math.cos(phase), -math.sin(phase))
        for j in range(w):
            out[i, j] = x[i, j] * (row_factor * col_factor[j])


@numba.njit(nogil=True, cache=True)
def multiply(a, b, conjugate, out):
    """``out = a * conj(b)`` if ``conjugate`` else ``a * b``, element-wise."""
    h, w = out.shape
    if conjugate:
        for i in range(h):
            for j in range(w):
                out[i, j] = a[i, j] * b[i, j].conjugate()
    else:
        for i in range(h):
            for j in range(w):
                out[i, j] = a[i, j] * b[i, j]
