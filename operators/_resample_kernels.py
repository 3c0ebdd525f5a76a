"""Numba kernel of :class:`peppers.operators.resample.PolynomialResampler`.

Private: the public operator validates the polynomial and the input region
first. ``@njit(nogil=True, cache=True)`` so tiles resample in parallel.

Method
------
Output pixel ``(R, C)`` (absolute image coordinates) takes the input at
``P = (R + dr(R, C), C + dc(R, C))``. With ``f = floor(P)`` and the
fraction ``P - f`` rounded to one of ``n_lut`` sub-pixel steps, the value
is the separable sum ``sum_a sum_b w_r[a] w_c[b] x[f_r + a - t/2 + 1,
f_c + b - t/2 + 1]`` over ``t`` taps per axis, with the Kaiser-windowed
sinc weights of that step read from a table (as ISCE2's GPU resampler does,
8 taps and 8192 steps). Everything is computed from absolute coordinates,
in a fixed order, so a pixel's value does not depend on the tile it falls
in. Sums accumulate in double precision.

Polynomials are evaluated in normalised coordinates ``u = (R - r0) / sr``,
``v = (C - c0) / sc`` as ``sum_t coef[t] * u**pu[t] * v**pv[t]``; the powers
of ``v`` are tabulated once per column and those of ``u`` once per row.
"""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(nogil=True, cache=True)
def _powers(values, order):
    """``table[k, p] = values[k] ** p`` for ``p <= order``, by repeated products."""
    table = np.empty((values.shape[0], order + 1))
    for k in range(values.shape[0]):
        table[k, 0] = 1.0
        for p in range(1, order + 1):
            table[k, p] = table[k, p - 1] * values[k]
    return table


@numba.njit(nogil=True, cache=True)
def resample(x, in_row0, in_col0, out_row0, out_col0, row_coef, col_coef, pu, pv,
             center_row, center_col, scale_row, scale_col, lut, acc_zero, out):
    """Windowed-sinc resampling through a polynomial offset field.

    Parameters
    ----------
    x : ndarray (H, W)
        The input region; its pixel ``[0, 0]`` is image pixel
        ``(in_row0, in_col0)``.
    in_row0, in_col0, out_row0, out_col0 : int
        Absolute positions of the input and output arrays.
    row_coef, col_coef : ndarray of float64
        Coefficients of ``dr`` and ``dc``.
    pu, pv : ndarray of int64
        Powers of ``u`` and ``v`` of each coefficient.
    center_row, center_col, scale_row, scale_col : float
        Normalisation of the polynomial coordinates.
    lut : ndarray (n_lut, taps) of float64
        Normalised weights per sub-pixel step; row 0 is the unit impulse at
        tap ``taps // 2 - 1``.
    acc_zero : scalar
        Zero of the accumulator type (0.0 or 0j).
    out : ndarray (h, w)
        Receives the resampled values.

    Returns
    -------
    int
        How many output pixels needed input outside ``x`` (they are set to
        zero); non-zero means the input region was too small.
    """
    n_lut, taps = lut.shape
    half = taps // 2 - 1
    h, w = out.shape
    order = 0
    for t in range(pu.shape[0]):
        order = max(order, pu[t], pv[t])
    cols = np.empty(w)
    for j in range(w):
        cols[j] = (out_col0 + j - center_col) / scale_col
    vpow = _powers(cols, order)
    upow = np.empty(order + 1)
    outside = 0
    for i in range(h):
        big_r = out_row0 + i
        u = (big_r - center_row) / scale_row
        upow[0] = 1.0
        for p in range(1, order + 1):
            upow[p] = upow[p - 1] * u
        for j in range(w):
            big_c = out_col0 + j
            dr = 0.0
            dc = 0.0
            for t in range(pu.shape[0]):
                term = upow[pu[t]] * vpow[j, pv[t]]
                dr += row_coef[t] * term
                dc += col_coef[t] * term
            pr = big_r + dr
            pc = big_c + dc
            fr = math.floor(pr)
            fc = math.floor(pc)
            qr = int((pr - fr) * n_lut + 0.5)
            qc = int((pc - fc) * n_lut + 0.5)
            if qr == n_lut:
                qr = 0
                fr += 1
            if qc == n_lut:
                qc = 0
                fc += 1
            r0 = int(fr) - half - in_row0
            c0 = int(fc) - half - in_col0
            if r0 < 0 or c0 < 0 or r0 + taps > x.shape[0] or c0 + taps > x.shape[1]:
                outside += 1
                out[i, j] = acc_zero
                continue
            acc = acc_zero
            for a in range(taps):
                line = acc_zero
                xa = x[r0 + a]
                for b in range(taps):
                    line += lut[qc, b] * xa[c0 + b]
                acc += lut[qr, a] * line
            out[i, j] = acc
    return outside
