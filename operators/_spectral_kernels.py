"""Numba kernels of :mod:`peppers.operators.spectral` (common-band FIR filters).

Private: the public operators check shapes and dtypes first. Every kernel is
``@njit(nogil=True, cache=True)``. Each output pixel is the same sum of the
same input pixels, in a fixed order, wherever the tile starts, so filtered
images do not depend on the tiling. Sums accumulate in double precision,
except in :func:`fir_rows_shifted` (single precision, twice the SIMD lanes:
1e-6 of the largest value, 1.6e-5 rad of interferometric phase at the
weakest pixels of a stream-1 scene; measured against the double-precision
complex taps).
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
def fir_rows_shifted(x, lowpass, centre, first_col, row0, col0, out):
    """Band-pass FIR along rows as demodulation, real low-pass and remodulation.

    With the band-pass taps of :func:`~peppers.operators.spectral.bandpass_taps`,
    ``h[n] = l[n] exp(2 pi i c n)`` (``l`` the real, symmetric low-pass of
    :func:`~peppers.operators.spectral.lowpass_taps`), the filter is
    ``y[J] = sum_M h[J - M] x[M] = exp(2 pi i c J) sum_M l[J - M] (exp(-2 pi i c M) x[M])``
    over absolute columns ``M, J``: the input is moved to baseband, filtered
    by the real taps (folded: ``l[k] (u[j + k] + u[j + n - 1 - k])``, half the
    multiplies), and moved back: a third of the arithmetic of the complex
    taps, in single precision (the phasors in double). The phasors follow
    from absolute columns, so a pixel's value does not depend on the tile.

    Parameters
    ----------
    x : ndarray (H, W), complex64 or complex128
        Input; must hold columns ``col0 .. col0 + out.shape[1] + len(lowpass) - 2``.
    lowpass : ndarray (n,), float64
        The symmetric low-pass taps (odd ``n``; only the first half and the
        centre are read).
    centre : float
        Pass band centre, cycles per sample.
    first_col : int
        Absolute image column of ``x[:, 0]``.
    row0, col0 : int
        Where ``out[0, 0]``'s window starts in ``x``.
    out : ndarray (h, w), complex
        Receives the filtered values.
    """
    n = lowpass.shape[0]
    half = n // 2
    w = out.shape[1]
    span = w + n - 1
    down_re = np.empty(span)
    down_im = np.empty(span)
    for m in range(span):
        cycles = centre * (first_col + col0 + m)
        phase = -2.0 * np.pi * (cycles - np.floor(cycles))
        down_re[m] = np.cos(phase)
        down_im[m] = np.sin(phase)
    up_re = np.empty(w)
    up_im = np.empty(w)
    for j in range(w):
        cycles = centre * (first_col + col0 + j + half)
        phase = 2.0 * np.pi * (cycles - np.floor(cycles))
        up_re[j] = np.cos(phase)
        up_im[j] = np.sin(phase)
    ur = np.empty(span, np.float32)
    ui = np.empty(span, np.float32)
    acc_re = np.empty(w, np.float32)
    acc_im = np.empty(w, np.float32)
    lp = lowpass.astype(np.float32)
    centre_tap = lp[half]
    for i in range(out.shape[0]):
        row = x[row0 + i]
        for m in range(span):
            z = row[col0 + m]
            re = np.float64(z.real)
            im = np.float64(z.imag)
            ur[m] = re * down_re[m] - im * down_im[m]
            ui[m] = re * down_im[m] + im * down_re[m]
        for j in range(w):
            acc_re[j] = centre_tap * ur[j + half]
            acc_im[j] = centre_tap * ui[j + half]
        for k in range(half):
            a = lp[k]
            near = ur[k:k + w]
            far = ur[n - 1 - k:n - 1 - k + w]
            near_i = ui[k:k + w]
            far_i = ui[n - 1 - k:n - 1 - k + w]
            for j in range(w):
                acc_re[j] += a * (near[j] + far[j])
                acc_im[j] += a * (near_i[j] + far_i[j])
        for j in range(w):
            out[i, j] = complex(acc_re[j] * up_re[j] - acc_im[j] * up_im[j],
                                acc_re[j] * up_im[j] + acc_im[j] * up_re[j])


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
