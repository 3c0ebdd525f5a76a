"""Numba kernels of interferogram formation and the flat-earth phase.

Private: :mod:`peppers.operators.interferogram` and
:mod:`peppers.operators.flat_earth` check shapes and dtypes first. Every
kernel is ``@njit(nogil=True, cache=True)``.

:func:`flat_phase` evaluates the tensor-product 4-point Lagrange cubic
through a grid of exact flat-earth phases. With ``t`` the fractional
position between nodes 0 and 1, the weights of nodes -1, 0, 1, 2 are
``-t(t-1)(t-2)/6``, ``(t+1)(t-1)(t-2)/2``, ``-(t+1)t(t-2)/2`` and
``(t+1)t(t-1)/6`` (Abramowitz & Stegun 25.2.13), applied separably: once
per output row along the node rows (each node column's value at the row),
then per pixel along the node columns (4 multiply-adds a pixel, not 16; each
row's values depend on the row alone, so tiles agree). The phase is
unwrapped and may reach thousands of radians, so it is kept in double
precision until the phasor is formed, by the branch-free polynomial of
:func:`peppers.operators._trig_kernels.cos_sin_turns` on ``phase / 2 pi``
(the turn count of a 10^4 rad phase costs ~1e-12 rad).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from peppers.operators._trig_kernels import cos_sin_turns

_TURN = 1.0 / (2.0 * math.pi)


@numba.njit(nogil=True, cache=True)
def _lagrange_weights(t, w):
    w[0] = -t * (t - 1.0) * (t - 2.0) / 6.0
    w[1] = (t + 1.0) * (t - 1.0) * (t - 2.0) / 2.0
    w[2] = -(t + 1.0) * t * (t - 2.0) / 2.0
    w[3] = (t + 1.0) * t * (t - 1.0) / 6.0


@numba.njit(nogil=True, cache=True)
def flat_phase(nodes, row0, col0, step_r, step_c, out):
    """Interpolate node phases onto pixels ``(row0 + i, col0 + j)``.

    Parameters
    ----------
    nodes : ndarray (K, L), float64
        Node ``(k, l)`` holds the phase at pixel ``((k - 1) step_r, (l - 1) step_c)``.
    row0, col0 : int
        Image coordinates of ``out[0, 0]`` (>= 0).
    step_r, step_c : int
        Node spacing.
    out : ndarray (H, W), float64
    """
    h, w = out.shape
    wc = np.empty((w, 4))
    kc = np.empty(w, dtype=np.int64)
    for j in range(w):
        c = col0 + j
        b = c // step_c
        kc[j] = b
        _lagrange_weights((c - b * step_c) / step_c, wc[j])
    first = kc[0]
    along = np.empty(kc[w - 1] + 4 - first)
    wr = np.empty(4)
    for i in range(h):
        r = row0 + i
        a = r // step_r
        _lagrange_weights((r - a * step_r) / step_r, wr)
        for q in range(along.shape[0]):
            along[q] = (wr[0] * nodes[a, first + q] + wr[1] * nodes[a + 1, first + q]
                        + wr[2] * nodes[a + 2, first + q] + wr[3] * nodes[a + 3, first + q])
        for j in range(w):
            q = kc[j] - first
            out[i, j] = (wc[j, 0] * along[q] + wc[j, 1] * along[q + 1]
                         + wc[j, 2] * along[q + 2] + wc[j, 3] * along[q + 3])


@numba.njit(nogil=True, cache=True)
def _demodulator(phase):
    """``exp(-1j * phase)``."""
    c, s = cos_sin_turns(phase * _TURN)
    return complex(c, -s)


@numba.njit(nogil=True, cache=True)
def interfere(master, slave, phase, flatten, out):
    """``out = master * conj(slave) * exp(-1j * phase)`` (no phase unless ``flatten``)."""
    h, w = out.shape
    for i in range(h):
        for j in range(w):
            m = master[i, j]
            s = slave[i, j]
            # m s* in real arithmetic (numba's complex product does not vectorise)
            re = m.real * s.real + m.imag * s.imag
            im = m.imag * s.real - m.real * s.imag
            if flatten:
                c, sn = cos_sin_turns(phase[i, j] * _TURN)
                re, im = re * c + im * sn, im * c - re * sn
            out[i, j] = complex(re, im)


@numba.njit(nogil=True, cache=True)
def interfere_oversampled(master, slave, weights, phase, flatten, out):
    """The interferogram formed at twice the range rate and brought back to the grid.

    Half-sample values ``m(c + 1/2)``, ``s(c + 1/2)`` are interpolated by the
    windowed-sinc ``weights`` (taps at offsets ``-T/2 + 1 .. T/2``); the
    products at ``c`` and ``c +- 1/2``, each flattened with its own phase
    (linear between pixels for the half samples), are averaged with weights
    ``1/4, 1/2, 1/4``, centred on ``c``.

    Parameters
    ----------
    master, slave : ndarray (H, W + T), complex
        The images over the output columns plus ``T / 2`` on each side.
    weights : ndarray (T,), float64
    phase : ndarray (H, W + 2), float64
        Flat-earth phase of columns ``c0 - 1 .. c0 + W`` (unused unless ``flatten``).
    flatten : bool
    out : ndarray (H, W), complex
    """
    h, w = out.shape
    taps = weights.shape[0]
    halo = taps // 2
    off0 = -taps // 2 + 1
    half = np.empty(w + 1, dtype=np.complex128)
    for i in range(h):
        for k in range(-1, w):
            g = k + halo
            mh = 0j
            sh = 0j
            for t in range(taps):
                mh += weights[t] * master[i, g + off0 + t]
                sh += weights[t] * slave[i, g + off0 + t]
            z = mh * sh.conjugate()
            if flatten:
                p = 0.5 * (phase[i, k + 1] + phase[i, k + 2])
                z = z * _demodulator(p)
            half[k + 1] = z
        for j in range(w):
            g = j + halo
            z = complex(master[i, g]) * complex(slave[i, g]).conjugate()
            if flatten:
                p = phase[i, j + 1]
                z = z * _demodulator(p)
            out[i, j] = 0.5 * z + 0.25 * (half[j] + half[j + 1])
