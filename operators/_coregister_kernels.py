"""Numba kernels of :mod:`peppers.operators.coregister`.

Private: the public operator checks shapes and dtypes first. Every kernel is
``@njit(nogil=True, cache=True)`` so that chips correlate in parallel on
threads.

Sliding window sums
-------------------
The correlation of a master chip (``nr x nc``) against every shift inside a
larger slave search window is normalised by the energy of the slave pixels
under the chip at that shift. :func:`window_sums` computes those sums for
all shifts at once from a summed-area table (Crow 1984): one pass to build
the table, four look-ups per shift. Sums are accumulated in double
precision.

Demodulation
------------
:func:`demodulate` multiplies a complex window by ``exp(+j 2 pi (fr r + fc c))``
in place. The coregistration uses it to remove the interferometric fringe
from a slave window before correlating it coherently with the master chip.
"""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(nogil=True, cache=True)
def window_sums(x, nr, nc, out):
    """Sums of ``x`` over every ``nr x nc`` window.

    Parameters
    ----------
    x : ndarray (H, W), float64
        The values to sum (e.g. ``|s|^2`` of a slave search window).
    nr, nc : int
        Window height and width, ``nr <= H``, ``nc <= W``.
    out : ndarray (H - nr + 1, W - nc + 1), float64
        Receives ``out[i, j] = x[i:i + nr, j:j + nc].sum()``.

    References
    ----------
    .. [1] F. C. Crow, "Summed-area tables for texture mapping", SIGGRAPH
       1984, pp. 207-212.
    """
    h, w = x.shape
    table = np.zeros((h + 1, w + 1))
    for i in range(h):
        line = 0.0
        for j in range(w):
            line += x[i, j]
            table[i + 1, j + 1] = table[i, j + 1] + line
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = (table[i + nr, j + nc] - table[i, j + nc]
                         - table[i + nr, j] + table[i, j])


@numba.njit(nogil=True, cache=True)
def demodulate(x, fr, fc):
    """Multiply ``x[r, c]`` by ``exp(+j 2 pi (fr r + fc c))`` in place.

    Parameters
    ----------
    x : ndarray (H, W), complex128
        The window.
    fr, fc : float
        Frequencies in cycles per row and per column.
    """
    h, w = x.shape
    for i in range(h):
        for j in range(w):
            phase = 2.0 * math.pi * (fr * i + fc * j)
            x[i, j] *= complex(math.cos(phase), math.sin(phase))


@numba.njit(nogil=True, cache=True)
def zero_fraction(x):
    """Fraction of pixels of a complex window that are exactly 0 (no-data)."""
    h, w = x.shape
    count = 0
    for i in range(h):
        for j in range(w):
            if x[i, j].real == 0.0 and x[i, j].imag == 0.0:
                count += 1
    return count / max(h * w, 1)


@numba.njit(nogil=True, cache=True)
def matrix_dft(left, spectrum, right, out):
    """``out = left @ spectrum @ right`` for small complex matrices.

    The two products of the matrix-DFT upsampling of a correlation surface
    (Guizar-Sicairos et al. 2008); plain loops, because a BLAS call on
    matrices this small costs more in threading than in arithmetic.

    Parameters
    ----------
    left : ndarray (k, Lr), complex128
    spectrum : ndarray (Lr, Lc), complex128
    right : ndarray (Lc, m), complex128
    out : ndarray (k, m), complex128
    """
    k, lr = left.shape
    lc = spectrum.shape[1]
    m = right.shape[1]
    tmp = np.zeros((k, lc), dtype=np.complex128)
    for i in range(k):
        for a in range(lr):
            w = left[i, a]
            for b in range(lc):
                tmp[i, b] += w * spectrum[a, b]
    for i in range(k):
        for j in range(m):
            acc = 0j
            for b in range(lc):
                acc += tmp[i, b] * right[b, j]
            out[i, j] = acc
