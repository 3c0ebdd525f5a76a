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
slope the demodulating phasors are 1. Since ``|num|`` is all
that is kept, the constant phasor ``exp(2 pi j (f_r h_r + f_c h_c))`` is
dropped and the double sum is evaluated by Horner's rule with the pixel's
step phasors ``e_r = exp(-2 pi j f_r)`` and ``e_c = exp(-2 pi j f_c)``::

    S_i = (...((I[i, n_c - 1] e_c + I[i, n_c - 2]) e_c + ...) e_c + I[i, 0]
    num = (...((S_{n_r - 1} e_r + S_{n_r - 2}) e_r + ...) e_r + S_0

``(n_c - 1) n_r + n_r - 1`` complex multiply-adds per pixel and no phasor
table: the step phasors come from a branch-free polynomial
(:func:`peppers.operators._trig_kernels.cos_sin_turns`, within 6e-16 of the
C library's), two per pixel. The rounding of the nested products is a few
1e-16, far below the estimator's noise. Each output pixel is the same
floating-point expression of the same input pixels, in a fixed order, in
double precision, so the result does not depend on the tiling.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from peppers.operators._trig_kernels import cos_sin_turns


@numba.njit(nogil=True, cache=True)
def _steps(freqs, compensate, step_re, step_im):
    """``step_re + j step_im = exp(-2 pi j freqs)`` per pixel of a row (1 without compensation)."""
    if not compensate:
        step_re[:] = 1.0
        step_im[:] = 0.0
        return
    for c in range(step_re.shape[0]):
        cs, sn = cos_sin_turns(freqs[c])
        step_re[c] = cs
        step_im[c] = -sn


@numba.njit(nogil=True, cache=True)
def _horner_step(acc_re, acc_im, e_re, e_im, x_re, x_im):
    """``acc = acc e + x`` elementwise, complex in real parts. A function of its
    own so that numba sees distinct arrays and the loop vectorises."""
    for c in range(acc_re.shape[0]):
        a = acc_re[c]
        b = acc_im[c]
        acc_re[c] = a * e_re[c] - b * e_im[c] + x_re[c]
        acc_im[c] = a * e_im[c] + b * e_re[c] + x_im[c]


@numba.njit(nogil=True, cache=True)
def _add(acc, x):
    """``acc += x`` elementwise."""
    for c in range(acc.shape[0]):
        acc[c] += x[c]


@numba.njit(nogil=True, cache=True)
def _row_power(x, nc, p, out):
    """``out[c] = sum_{j < nc} |x[c + j]|^2`` (left to right), float64; ``p`` is scratch."""
    for c in range(x.shape[0]):
        z = x[c]
        p[c] = z.real * z.real + z.imag * z.imag
    out[:] = 0.0
    for j in range(nc):
        _add(out, p[j:j + out.shape[0]])


@numba.njit(nogil=True, cache=True)
def _load_row(ifg, master, slave, k, nc, zr, zi, row_m, row_s, p):
    """Input row ``k`` into ring slot ``k % nr``: the interferogram's parts and
    both images' ``nc``-sums of power."""
    slot = k % zr.shape[0]
    for c in range(ifg.shape[1]):
        z = ifg[k, c]
        zr[slot, c] = z.real
        zi[slot, c] = z.imag
    _row_power(master[k], nc, p, row_m[slot])
    _row_power(slave[k], nc, p, row_s[slot])


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
    then ``nr`` of them per pixel, top to bottom (the same additions in the
    same order as a per-pixel double loop, so the same numbers). Input rows
    pass through a ring of ``nr`` rows, so the kernel's memory is a few
    rows, whatever the tile. The numerator follows
    Horner's rule (module docstring), one output row at a time with the
    row's pixels innermost so the loops vectorise; every pixel still does
    its own operations in its own order.
    """
    h, w = out.shape
    # the nr input rows of the current output row, in a ring (slot = row % nr):
    # each input row is converted and power-summed once, and nothing of tile
    # size is allocated (whole-tile intermediates made the kernel memory-bound)
    zr = np.empty((nr, ifg.shape[1]))
    zi = np.empty((nr, ifg.shape[1]))
    row_m = np.empty((nr, w))
    row_s = np.empty((nr, w))
    p = np.empty(ifg.shape[1])
    for k in range(nr - 1):
        _load_row(ifg, master, slave, k, nc, zr, zi, row_m, row_s, p)
    er = np.empty(w)
    ei = np.empty(w)
    ecr = np.empty(w)
    eci = np.empty(w)
    acc_re = np.empty(w)
    acc_im = np.empty(w)
    num_re = np.empty(w)
    num_im = np.empty(w)
    pm = np.empty(w)
    ps = np.empty(w)
    for r in range(h):
        _load_row(ifg, master, slave, r + nr - 1, nc, zr, zi, row_m, row_s, p)
        _steps(f_rows[r], compensate, er, ei)
        _steps(f_cols[r], compensate, ecr, eci)
        num_re[:] = 0.0
        num_im[:] = 0.0
        pm[:] = 0.0
        ps[:] = 0.0
        for i in range(nr - 1, -1, -1):
            xr_row = zr[(r + i) % nr]
            xi_row = zi[(r + i) % nr]
            acc_re[:] = xr_row[nc - 1:nc - 1 + w]
            acc_im[:] = xi_row[nc - 1:nc - 1 + w]
            for j in range(nc - 2, -1, -1):
                _horner_step(acc_re, acc_im, ecr, eci, xr_row[j:j + w], xi_row[j:j + w])
            _horner_step(num_re, num_im, er, ei, acc_re, acc_im)
        for i in range(nr):
            _add(pm, row_m[(r + i) % nr])
            _add(ps, row_s[(r + i) % nr])
        for c in range(w):
            den = math.sqrt(pm[c] * ps[c])
            if den > 0.0:
                g = math.sqrt(num_re[c] * num_re[c] + num_im[c] * num_im[c]) / den
                out[r, c] = g if g < 1.0 else 1.0
            else:
                out[r, c] = 0.0
