"""Numba kernels of the coherence estimator in :mod:`peppers.operators.coherence`.

Private: :class:`~peppers.operators.coherence.Coherence` checks shapes and
dtypes first. Every kernel is ``@njit(nogil=True, cache=True)`` so tiles run
in parallel on threads.

The estimator (Touzi et al. 1999, eq. 1, with the local fringe removed as in
the 1999 InSAR-Peppers design) at output pixel ``(r, c)`` with local fringe
frequency ``(f_r, f_c)`` cycles per pixel is::

    num = sum_{i, j} I[r + i, c + j] * exp(-2 pi j (f_r (i - h_r) + f_c (j - h_c)))
    gamma = |num| / sqrt(sum |m|^2 * sum |s|^2)

over the ``n_r x n_c`` window centred on the pixel (``h = n // 2``), where
``I = m s* exp(-j phi_flat)`` is the flattened interferogram. Without a
slope the demodulating phasors are 1. Each output pixel is the same
floating-point expression of the same input pixels, summed in a fixed order
(rows of the window left to right, then the row sums top to bottom, in
double precision), so the result does not depend on the tiling.

The demodulating phasors are built by repeated multiplication from the
window centre outwards (at most 12 steps for a 25-pixel window): the
accumulated rounding is a few 1e-16 rad, far below the estimator's noise.
"""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(nogil=True, cache=True)
def _phasors(freq, n, half, out):
    """``out[k] = exp(-2 pi j freq (k - half))`` for ``k`` in ``[0, n)``."""
    step = complex(math.cos(2.0 * math.pi * freq), -math.sin(2.0 * math.pi * freq))
    back = step.conjugate()
    out[half] = 1.0 + 0.0j
    for k in range(half + 1, n):
        out[k] = out[k - 1] * step
    for k in range(half - 1, -1, -1):
        out[k] = out[k + 1] * back


@numba.njit(nogil=True, cache=True)
def coherence(ifg, master, slave, f_rows, f_cols, nr, nc, compensate, out):
    """Slope-compensated sample coherence, valid part only.

    Parameters
    ----------
    ifg, master, slave : ndarray (H + nr - 1, W + nc - 1), complex
        Flattened interferogram and the two SLCs over the input region.
    f_rows, f_cols : ndarray (H, W), float
        Local fringe frequency at each output pixel, cycles per pixel
        (ignored unless ``compensate``).
    nr, nc : int
        Window height and width.
    compensate : bool
        Remove the local fringe inside the window before summing.
    out : ndarray (H, W), float32
        Receives the coherence magnitude; 0 where both powers are zero.
    """
    h, w = out.shape
    hr, hc = nr // 2, nc // 2
    pr = np.ones(nr, dtype=np.complex128)
    pc = np.ones(nc, dtype=np.complex128)
    for r in range(h):
        for c in range(w):
            if compensate:
                _phasors(f_rows[r, c], nr, hr, pr)
                _phasors(f_cols[r, c], nc, hc, pc)
            num = 0.0 + 0.0j
            pm = 0.0
            ps = 0.0
            for i in range(nr):
                row_sum = 0.0 + 0.0j
                row_pm = 0.0
                row_ps = 0.0
                for j in range(nc):
                    z = ifg[r + i, c + j]
                    row_sum += complex(z.real, z.imag) * pc[j]
                    a = master[r + i, c + j]
                    b = slave[r + i, c + j]
                    row_pm += a.real * a.real + a.imag * a.imag
                    row_ps += b.real * b.real + b.imag * b.imag
                num += row_sum * pr[i]
                pm += row_pm
                ps += row_ps
            den = math.sqrt(pm * ps)
            if den > 0.0:
                g = abs(num) / den
                out[r, c] = g if g < 1.0 else 1.0
            else:
                out[r, c] = 0.0
