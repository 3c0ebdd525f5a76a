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
def _phasor_table(freqs, half, re, im):
    """``re[k, c] + j im[k, c] = exp(-2 pi j freqs[c] (k - half))`` for every pixel of a row.

    By repeated multiplication from ``k = half`` outwards, in real arithmetic.
    """
    n = re.shape[0]
    for c in range(freqs.shape[0]):
        angle = 2.0 * math.pi * freqs[c]
        sr = math.cos(angle)
        si = -math.sin(angle)
        re[half, c] = 1.0
        im[half, c] = 0.0
        for k in range(half + 1, n):
            a = re[k - 1, c]
            b = im[k - 1, c]
            re[k, c] = a * sr - b * si
            im[k, c] = a * si + b * sr
        for k in range(half - 1, -1, -1):
            a = re[k + 1, c]
            b = im[k + 1, c]
            re[k, c] = a * sr + b * si
            im[k, c] = b * sr - a * si


@numba.njit(nogil=True, cache=True)
def _row_powers(x, nc, w):
    """``out[r, c] = sum_{j < nc} |x[r, c + j]|^2`` (left to right), float64."""
    out = np.empty((x.shape[0], w))
    for r in range(x.shape[0]):
        for c in range(w):
            acc = 0.0
            for j in range(nc):
                z = x[r, c + j]
                acc += z.real * z.real + z.imag * z.imag
            out[r, c] = acc
    return out


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

    Notes
    -----
    The powers are separable box sums: each input row's ``nc``-sums once,
    then ``nr`` of them per pixel (the same additions in the same order as
    a per-pixel double loop, so the same numbers). The numerator is summed
    in real arithmetic with its phasors (the pixel's own) tabulated per
    output row, the row's pixels innermost so the loops vectorise; every
    pixel still adds its own terms in the order above.
    """
    h, w = out.shape
    hr, hc = nr // 2, nc // 2
    row_m = _row_powers(master, nc, w)
    row_s = _row_powers(slave, nc, w)
    zr = np.empty(ifg.shape)
    zi = np.empty(ifg.shape)
    for r in range(ifg.shape[0]):
        for c in range(ifg.shape[1]):
            zr[r, c] = ifg[r, c].real
            zi[r, c] = ifg[r, c].imag
    # one output row at a time, the pixels of the row in the innermost loop
    # (each pixel's own sums, in the order of the module docstring)
    prr = np.ones((nr, w))
    pri = np.zeros((nr, w))
    pcr = np.ones((nc, w))
    pci = np.zeros((nc, w))
    sum_re = np.empty(w)
    sum_im = np.empty(w)
    num_re = np.empty(w)
    num_im = np.empty(w)
    pm = np.empty(w)
    ps = np.empty(w)
    for r in range(h):
        if compensate:
            _phasor_table(f_rows[r], hr, prr, pri)
            _phasor_table(f_cols[r], hc, pcr, pci)
        num_re[:] = 0.0
        num_im[:] = 0.0
        pm[:] = 0.0
        ps[:] = 0.0
        for i in range(nr):
            sum_re[:] = 0.0
            sum_im[:] = 0.0
            xr_row = zr[r + i]
            xi_row = zi[r + i]
            for j in range(nc):
                a = pcr[j]
                b = pci[j]
                for c in range(w):
                    x = xr_row[c + j]
                    y = xi_row[c + j]
                    sum_re[c] += x * a[c] - y * b[c]
                    sum_im[c] += x * b[c] + y * a[c]
            a = prr[i]
            b = pri[i]
            m_row = row_m[r + i]
            s_row = row_s[r + i]
            for c in range(w):
                num_re[c] += sum_re[c] * a[c] - sum_im[c] * b[c]
                num_im[c] += sum_re[c] * b[c] + sum_im[c] * a[c]
                pm[c] += m_row[c]
                ps[c] += s_row[c]
        for c in range(w):
            den = math.sqrt(pm[c] * ps[c])
            if den > 0.0:
                g = math.sqrt(num_re[c] * num_re[c] + num_im[c] * num_im[c]) / den
                out[r, c] = g if g < 1.0 else 1.0
            else:
                out[r, c] = 0.0
