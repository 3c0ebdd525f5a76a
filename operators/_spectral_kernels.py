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
    w = out.shape[1]
    span = w + n - 1
    tr = np.empty(n)
    ti = np.empty(n)
    for k in range(n):
        tr[k] = taps[k].real
        ti[k] = taps[k].imag
    # real arithmetic, the row's pixels innermost (vectorised); each pixel adds
    # its taps in order k = 0, 1, ..., as a per-pixel loop would
    xr = np.empty(span)
    xim = np.empty(span)
    acc_re = np.empty(w)
    acc_im = np.empty(w)
    for i in range(out.shape[0]):
        row = x[row0 + i]
        for j in range(span):
            z = row[col0 + j]
            xr[j] = z.real
            xim[j] = z.imag
        acc_re[:] = 0.0
        acc_im[:] = 0.0
        for k in range(n):
            a = tr[k]
            b = ti[k]
            for j in range(w):
                acc_re[j] += a * xr[j + k] - b * xim[j + k]
                acc_im[j] += a * xim[j + k] + b * xr[j + k]
        for j in range(w):
            out[i, j] = complex(acc_re[j], acc_im[j])


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


@numba.njit(nogil=True, cache=True)
def column_power(spectra):
    """``power[k] = sum_i |spectra[i, k]|^2`` (rows in order), float64."""
    power = np.zeros(spectra.shape[1])
    for i in range(spectra.shape[0]):
        row = spectra[i]
        for k in range(spectra.shape[1]):
            z = row[k]
            power[k] += z.real * z.real + z.imag * z.imag
    return power


@numba.njit(nogil=True, cache=True)
def interferogram(master, slave):
    """``master * conj(slave)`` in one pass, complex64 (products in double precision)."""
    out = np.empty(master.shape, np.complex64)
    for i in range(master.shape[0]):
        for j in range(master.shape[1]):
            a = master[i, j]
            b = slave[i, j]
            ar, ai, br, bi = np.float64(a.real), np.float64(a.imag), np.float64(b.real), \
                np.float64(b.imag)
            out[i, j] = complex(ar * br + ai * bi, ai * br - ar * bi)
    return out
