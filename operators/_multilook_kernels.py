"""Numba kernel of :class:`peppers.operators.multilook.Multilook`.

Private. Each output pixel is the mean of its ``la x lr`` block, summed in a
fixed order (each block row left to right, then the row sums top to bottom)
in double precision, so a pixel's value does not depend on the tiling.
:func:`block_mean_demodulated` first removes the block's local fringe
(slope-aware multilooking of :class:`~peppers.operators.multilook.FringeMultilook`).
"""

from __future__ import annotations

import math

import numba


@numba.njit(nogil=True, cache=True)
def block_mean(x, la, lr, acc, out):
    """``out[i, j] = mean(x[i la:(i + 1) la, j lr:(j + 1) lr])``.

    Parameters
    ----------
    x : ndarray (H la, W lr)
    la, lr : int
        Looks along rows and columns.
    acc : ndarray (W,), float64 or complex128
        Scratch for the block sums of one output row.
    out : ndarray (H, W)
    """
    h, w = out.shape
    count = la * lr
    for i in range(h):
        for j in range(w):
            acc[j] = 0
        for k in range(la):
            xr = x[i * la + k]
            for j in range(w):
                s = xr[j * lr]
                for q in range(1, lr):
                    s += xr[j * lr + q]
                acc[j] += s
        for j in range(w):
            out[i, j] = acc[j] / count


@numba.njit(nogil=True, cache=True)
def block_mean_demodulated(x, fr, fc, la, lr, out):
    """Block mean of ``x`` after removing the block's local fringe.

    ``out[i, j] = mean_{p, q} x[i la + p, j lr + q] exp(-2 pi j (f_r (p - p0)
    + f_c (q - q0)))`` with ``(p0, q0) = ((la - 1) / 2, (lr - 1) / 2)`` the
    block centre and ``(f_r, f_c)`` the fringe frequency (cycles per pixel)
    at the block's pixel ``(la // 2, lr // 2)``. The fringe is removed around
    the block centre, so its phase there is kept: removing and restoring the
    fringe is one step. Sums in a fixed order, in double precision.

    Parameters
    ----------
    x : ndarray (H la, W lr), complex
    fr, fc : ndarray (H la, W lr), float64
        Local fringe frequency along rows and columns.
    la, lr : int
    out : ndarray (H, W), complex
    """
    h, w = out.shape
    count = la * lr
    p0 = (la - 1) / 2.0
    q0 = (lr - 1) / 2.0
    two_pi = 2.0 * math.pi
    for i in range(h):
        for j in range(w):
            r = i * la + la // 2
            c = j * lr + lr // 2
            a = -two_pi * fr[r, c]
            b = -two_pi * fc[r, c]
            sr = 0.0
            si = 0.0
            for p in range(la):
                xr = x[i * la + p]
                for q in range(lr):
                    z = xr[j * lr + q]
                    t = a * (p - p0) + b * (q - q0)
                    ct = math.cos(t)
                    st = math.sin(t)
                    sr += z.real * ct - z.imag * st
                    si += z.real * st + z.imag * ct
            out[i, j] = complex(sr / count, si / count)
