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

Runs. Along an output row the offsets vary slowly, so neighbouring pixels
usually share the first input row and the row fraction (with 8192 steps, a
row offset that changes by 3e-6 px per column keeps its step for about 40
columns). Such a run of pixels shares its azimuth sums ``sum_a w_r[a]
x[f_r + a - t/2 + 1, c]``: they are made once per input column of the run
(:func:`_flush_run`), then each pixel takes its ``t`` range taps of them.
Each value is still the same floating-point expression, summed in the same
order, as a pixel interpolated alone (bit-identical to the per-pixel
method). Where every pixel starts a new run (offsets that change quickly,
e.g. dense rasters over steep terrain) the cost is the per-pixel one.

Polynomials are evaluated in normalised coordinates ``u = (R - r0) / sr``,
``v = (C - c0) / sc`` as ``sum_t coef[t] * u**pu[t] * v**pv[t]``: per row
the terms are gathered into a polynomial in ``v`` alone, evaluated per pixel
with the powers of ``v`` tabulated once per column. Dense offset rasters
(``row_raster``, ``col_raster``: one value per output pixel) are added to the
polynomials when given (an empty array means none).

Azimuth carrier (Doppler centroid, TOPS ramp)
---------------------------------------------
A SAR image whose azimuth spectrum is centred at ``f`` cycles per line (the
Doppler centroid over the PRF; for a TOPS burst ``f`` drifts along the burst
by the steering ramp) must be demodulated before a baseband interpolator
touches it, and remodulated after (ISCE3 ``ResampSlc``, ISCE2
``resamp_slc``/``resamp_withCarrier``; ESA COPE-GSEG-EOPG-TN-14-0025 for
TOPS). With ``f`` and its azimuth rate ``k = df/dr`` (cycles per line^2)
read at the anchor line ``f_r`` and the mapped column from a bilinear table
on the input grid, the carrier phase about the anchor is
``psi(t) = 2 pi (f t + k t^2 / 2)``; tap ``a`` (at ``t_a = a - taps/2 + 1``)
is demodulated by ``exp(-i psi(t_a))`` and the interpolated value
remodulated by ``exp(i psi(t_out))`` at the fraction ``t_out``. Both factors
fold into complex azimuth weights ``w_a exp(i (psi(t_out) - psi(t_a)))``
(by a recurrence over the taps: three sin/cos per pixel), so the cost is one
complex multiply-add per tap row. Everything still follows
from absolute coordinates: results do not depend on the tiling.
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
def _carrier_at(table, row0, col0, drow, dcol, row, col):
    """Bilinear carrier ``f`` and its row derivative ``df/drow`` at ``(row, col)``.

    Along columns the table is clamped at its edges; along rows the edge
    cells extend linearly, so ``f`` and its derivative stay consistent (the
    derivative is that of the bilinear cell holding the point; 0 for a
    one-row table).
    """
    m, n = table.shape
    u = (row - row0) / drow if m > 1 else 0.0
    v = (col - col0) / dcol if n > 1 else 0.0
    v = min(max(v, 0.0), n - 1.0)
    i = min(max(int(math.floor(u)), 0), max(m - 2, 0))
    j = min(int(v), max(n - 2, 0))
    fu = u - i
    fv = v - j
    i1 = min(i + 1, m - 1)
    j1 = min(j + 1, n - 1)
    top = table[i, j] * (1.0 - fv) + table[i, j1] * fv
    bottom = table[i1, j] * (1.0 - fv) + table[i1, j1] * fv
    slope = (bottom - top) / drow if m > 1 else 0.0
    return top + (bottom - top) * fu, slope


@numba.njit(nogil=True, cache=True)
def resample(x, in_row0, in_col0, out_row0, out_col0, row_coef, col_coef, pu, pv,
             center_row, center_col, scale_row, scale_col, lut, ncomp, out,
             row_raster, col_raster, carrier, car_row0, car_col0, car_drow, car_dcol):
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
    row_raster, col_raster : ndarray (h, w) or (0, 0), float
        Dense offsets added to the polynomials at each output pixel, or
        empty arrays for none.
    carrier : ndarray (m, n) or (0, 0), float64
        Azimuth carrier ``f`` in cycles per line at input rows
        ``car_row0 + i car_drow`` and columns ``car_col0 + j car_dcol``
        (bilinear, clamped at the edges); empty: baseband (no demodulation).
        Complex images only (``ncomp = 2``).
    car_row0, car_col0, car_drow, car_dcol : float
        The carrier table's grid.

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
    flat = x.ravel()
    row_len = x.shape[1]
    # the pending run of baseband pixels of the current output row
    colsum = np.empty(x.shape[1])
    run_j = np.empty(w, dtype=np.int64)
    run_col = np.empty(w, dtype=np.int64)
    run_qc = np.empty(w, dtype=np.int64)
    run_n = run_key = run_r0 = run_qr = run_lo = run_max = 0
    outside = 0
    dense = row_raster.shape[0] > 0
    with_carrier = carrier.shape[0] > 0 and ncomp == 2
    wre = np.empty(taps)
    wim = np.empty(taps)
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
            if dense:
                dr += row_raster[i, j]
                dc += col_raster[i, j]
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
            if with_carrier:
                f, slope = _carrier_at(carrier, car_row0, car_col0, car_drow, car_dcol,
                                       fr, pc)
                t_out = qr / n_lut
                t0 = -half
                # exp(i (psi(t_out) - psi(t_a))) by recurrence over the taps: the
                # ratio of neighbours is exp(-2 pi i (f + k (t + 1/2))), itself
                # turned by exp(-2 pi i k) per tap (three sin/cos per pixel)
                phase = 2.0 * math.pi * (f * (t_out - t0)
                                         + 0.5 * slope * (t_out * t_out - t0 * t0))
                ure, uim = math.cos(phase), math.sin(phase)
                step = -2.0 * math.pi * (f + slope * (t0 + 0.5))
                dre, dim = math.cos(step), math.sin(step)
                tre, tim = math.cos(2.0 * math.pi * slope), -math.sin(2.0 * math.pi * slope)
                for a in range(taps):
                    wre[a] = lut[qr, a] * ure
                    wim[a] = lut[qr, a] * uim
                    ure, uim = ure * dre - uim * dim, ure * dim + uim * dre
                    dre, dim = dre * tre - dim * tim, dre * tim + dim * tre
                for k in range(span):
                    column[k] = 0.0
                # complex weights on the (re, im) pairs of each column
                for a in range(taps):
                    xa = x[r0 + a, c0:c0 + span]
                    ca = wre[a]
                    sa = wim[a]
                    for b in range(taps):
                        re = xa[2 * b]
                        im = xa[2 * b + 1]
                        column[2 * b] += ca * re - sa * im
                        column[2 * b + 1] += ca * im + sa * re
                acc_re = 0.0
                acc_im = 0.0
                for b in range(taps):
                    acc_re += lut[qc, b] * column[2 * b]
                    acc_im += lut[qc, b] * column[2 * b + 1]
                out[i, j * 2] = acc_re
                out[i, j * 2 + 1] = acc_im
                continue
            # baseband: pixels that share the first row and the row fraction (a run
            # along the output row; offsets vary slowly) share their azimuth column
            # sums, made once per run over its columns (see _flush_run)
            col = c0 // ncomp
            key = r0 * n_lut + qr
            if run_n and (key != run_key or col < run_lo or col > run_max + 2):
                _flush_run(flat, row_len, lut, run_r0, run_qr, run_lo, run_max + taps, ncomp,
                           colsum, run_j, run_col, run_qc, run_n, out[i])
                run_n = 0
            if run_n == 0:
                run_key, run_r0, run_qr, run_lo, run_max = key, r0, qr, col, col
            run_max = max(run_max, col)
            run_j[run_n] = j
            run_col[run_n] = col
            run_qc[run_n] = qc
            run_n += 1
        if run_n:
            _flush_run(flat, row_len, lut, run_r0, run_qr, run_lo, run_max + taps, ncomp,
                       colsum, run_j, run_col, run_qc, run_n, out[i])
            run_n = 0
    return outside


@numba.njit(nogil=True, cache=True, inline='always')
def _flush_run(flat, row_len, lut, r0, qr, lo, hi, ncomp, colsum, run_j, run_col, run_qc,
               count, out_row):
    """Interpolate a run of pixels sharing the first input row ``r0`` and row fraction ``qr``.

    The azimuth sums ``colsum[c] = sum_a lut[qr, a] x[r0 + a, c]`` (``a`` in
    order, from 0) are made once for the input columns ``lo .. hi - 1`` with
    the columns innermost (long contiguous loops, vectorised; ``flat`` is the
    input ravelled, unsigned indices so that no load tests for a negative
    index); each pixel ``p`` then sums its ``taps`` columns from
    ``run_col[p]`` with the range weights of its fraction ``run_qc[p]`` into
    ``out_row`` at pixel ``run_j[p]``. Every value is the same floating-point
    expression as a pixel interpolated alone, so results do not depend on
    how pixels group into runs (nor on the tiling).
    """
    taps = lut.shape[1]
    start = lo * ncomp
    length = (hi - lo) * ncomp
    for k in range(length):
        colsum[np.uint64(start + k)] = 0.0
    for a in range(taps):
        weight = lut[qr, a]
        base = np.uint64((r0 + a) * row_len + start)
        for k in range(length):
            colsum[np.uint64(start + k)] += weight * flat[base + np.uint64(k)]
    for p in range(count):
        first = run_col[p] * ncomp
        qc = run_qc[p]
        for comp in range(ncomp):
            acc = 0.0
            for b in range(taps):
                acc += lut[qc, b] * colsum[np.uint64(first + b * ncomp + comp)]
            out_row[run_j[p] * ncomp + comp] = acc
