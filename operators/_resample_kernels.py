"""Numba kernel of :class:`peppers.operators.resample.PolynomialResampler`.

Private: the public operator validates the polynomial and the input region
first. ``@njit(nogil=True, cache=True)`` so tiles resample in parallel.

Method
------
Output pixel ``(R, C)`` (absolute image coordinates) takes the input at
``P = (R + dr(R, C), C + dc(R, C))``. With ``f = floor(P)`` and the
fraction ``P - f`` rounded to one of ``n_lut`` sub-pixel steps, the value
is the separable sum ``sum_b w_c[b] sum_a w_r[a] x[f_r + a - t/2 + 1,
f_c + b - t/2 + 1]`` over ``t`` taps per axis, with the Kaiser-windowed
sinc weights of that step read from a table (as ISCE2's GPU resampler does,
8 taps and 8192 steps). Everything is computed from absolute coordinates,
in a fixed order, so a pixel's value does not depend on the tile it falls
in. Sums accumulate in double precision. Complex images are processed as
(real, imaginary) pairs of floats, which the compiler handles better than
complex arithmetic; the weights are real, so the sums are the same.

Polynomials are evaluated in normalised coordinates ``u = (R - r0) / sr``,
``v = (C - c0) / sc`` as ``sum_t coef[t] * u**pu[t] * v**pv[t]``: per row
the terms are gathered into a polynomial in ``v`` alone, evaluated per pixel
with the powers of ``v`` tabulated once per column.
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
             center_row, center_col, scale_row, scale_col, lut, ncomp, out):
    """Windowed-sinc resampling through a polynomial offset field.

    Parameters
    ----------
    x : ndarray (H, W * ncomp), real
        The input region, complex pixels viewed as (real, imaginary) pairs
        (``ncomp = 2``) or real pixels (``ncomp = 1``); its pixel ``[0, 0]``
        is image pixel ``(in_row0, in_col0)``.
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
    ncomp : int
        Real numbers per pixel: 2 for complex images, 1 for real ones.
    out : ndarray (h, w * ncomp), real
        Receives the resampled values (the same view as ``x``).

    Returns
    -------
    int
        How many output pixels needed input outside ``x`` (they are set to
        zero); non-zero means the input region was too small.
    """
    n_lut, taps = lut.shape
    half = taps // 2 - 1
    h = out.shape[0]
    w = out.shape[1] // ncomp
    order = 0
    for t in range(pu.shape[0]):
        order = max(order, pu[t], pv[t])
    cols = np.empty(w)
    for j in range(w):
        cols[j] = (out_col0 + j - center_col) / scale_col
    vpow = _powers(cols, order)
    upow = np.empty(order + 1)
    row_in_v = np.empty(order + 1)
    col_in_v = np.empty(order + 1)
    span = taps * ncomp
    column = np.empty(span)
    outside = 0
    for i in range(h):
        big_r = out_row0 + i
        u = (big_r - center_row) / scale_row
        upow[0] = 1.0
        for p in range(1, order + 1):
            upow[p] = upow[p - 1] * u
        # along this row the polynomials are polynomials in v alone
        row_in_v[:] = 0.0
        col_in_v[:] = 0.0
        for t in range(pu.shape[0]):
            row_in_v[pv[t]] += row_coef[t] * upow[pu[t]]
            col_in_v[pv[t]] += col_coef[t] * upow[pu[t]]
        for j in range(w):
            big_c = out_col0 + j
            dr = 0.0
            dc = 0.0
            for q in range(order + 1):
                dr += row_in_v[q] * vpow[j, q]
                dc += col_in_v[q] * vpow[j, q]
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
            if r0 < 0 or c0 < 0 or r0 + taps > x.shape[0] or (c0 + taps) * ncomp > x.shape[1]:
                outside += 1
                for k in range(ncomp):
                    out[i, j * ncomp + k] = 0.0
                continue
            # columns first: a contiguous multiply-add over the taps x ncomp
            # floats of each row (vectorised), then the weighted sum along the row
            c0 *= ncomp
            for k in range(span):
                column[k] = 0.0
            for a in range(taps):
                weight = lut[qr, a]
                xa = x[r0 + a, c0:c0 + span]
                for k in range(span):
                    column[k] += weight * xa[k]
            for k in range(ncomp):
                acc = 0.0
                for b in range(taps):
                    acc += lut[qc, b] * column[b * ncomp + k]
                out[i, j * ncomp + k] = acc
    return outside
