"""Numba kernels of the Goldstein-Werner filter in :mod:`peppers.operators.adaptive`.

Private. Every kernel is ``@njit(nogil=True, cache=True)``.

:func:`weight_spectrum` forms ``H = (|S|_smooth / max |S|_smooth)^alpha``
and writes ``H S``: the spectral magnitude, optionally smoothed by a
circular ``k x k`` mean (Goldstein & Werner smooth it; ISCE2 ``psfilt`` and
dolphin do not, ``k = 1``), raised to ``alpha``. Normalising by the maximum
keeps the filtered patch on the input's amplitude scale and makes
``alpha = 0`` the identity.

:func:`accumulate` adds a filtered patch, tapered by the triangular
(Bartlett) weights, into the output tile, and the weights into the weight
sum; patches are added in a fixed order, so every output pixel is the same
sum wherever its tile lies.
"""

from __future__ import annotations

import math

import numba


@numba.njit(nogil=True, cache=True)
def weight_spectrum(spectrum, alpha, k, magnitude, out):
    """``out = (m / max m)^alpha * spectrum`` with ``m`` the smoothed ``|spectrum|``.

    Parameters
    ----------
    spectrum : ndarray (P, P), complex
    alpha : float
        Exponent >= 0.
    k : int
        Odd side of the circular smoothing window of the magnitude (1: none).
    magnitude : ndarray (P, P), float64
        Scratch.
    out : ndarray (P, P), complex
    """
    n0, n1 = spectrum.shape
    h = k // 2
    peak = 0.0
    for i in range(n0):
        for j in range(n1):
            acc = 0.0
            for di in range(-h, h + 1):
                for dj in range(-h, h + 1):
                    z = spectrum[(i + di) % n0, (j + dj) % n1]
                    acc += math.sqrt(z.real * z.real + z.imag * z.imag)
            acc /= k * k
            magnitude[i, j] = acc
            if acc > peak:
                peak = acc
    for i in range(n0):
        for j in range(n1):
            if peak > 0.0 and magnitude[i, j] > 0.0:
                out[i, j] = spectrum[i, j] * (magnitude[i, j] / peak) ** alpha
            else:
                out[i, j] = 0.0


@numba.njit(nogil=True, cache=True)
def patch_mean(x, valid, r0, c0, p):
    """Mean of ``x`` over the ``p x p`` patch at ``(r0, c0)`` where ``valid != 0``.

    Pixels beyond the image edge (filled with zero) and no-data pixels
    (interferogram exactly 0) do not count; 0 if the patch has none.
    """
    acc = 0.0
    n = 0
    for i in range(p):
        for j in range(p):
            if valid[r0 + i, c0 + j] != 0:
                acc += x[r0 + i, c0 + j]
                n += 1
    return acc / n if n else 0.0


@numba.njit(nogil=True, cache=True)
def accumulate(patch, taper, row, col, acc, weights):
    """Add ``taper * patch`` at ``(row, col)`` of the tile, clipped to the tile.

    Parameters
    ----------
    patch : ndarray (P, P), complex
        The filtered patch.
    taper : ndarray (P,), float64
        1-D triangular weights (the 2-D taper is their outer product).
    row, col : int
        Position of the patch's first pixel relative to the tile (may be negative).
    acc : ndarray (H, W), complex128
    weights : ndarray (H, W), float64
    """
    p = patch.shape[0]
    h, w = acc.shape
    for i in range(max(0, -row), min(p, h - row)):
        for j in range(max(0, -col), min(p, w - col)):
            t = taper[i] * taper[j]
            z = patch[i, j]
            acc[row + i, col + j] += complex(z.real * t, z.imag * t)
            weights[row + i, col + j] += t
