"""Numba kernel that makes the N SLCs of a stack from one scatterer field (see ``stack``).

``synthesize_stack_block``
    One block of scatterer cells (rows of the extended reference grid), as
    :func:`._synthesis_kernels.synthesize_block` for a pair, but every
    scatterer is splatted into all ``N`` images. Its complex amplitude on
    date ``k`` is

        s_k = sqrt(g) (sqrt(c_inf) p + sqrt(1 - c_inf) e_k) + sqrt(1 - g) n_k

    with ``p`` a persistent circular Gaussian, ``e_k`` a first-order
    autoregressive sequence over the dates (``e_k = rho_k e_{k-1} +
    sqrt(1 - rho_k^2) w_k``, ``rho_k = exp(-(t_k - t_{k-1}) / tau)``) and
    ``n_k`` independent per date; all of unit variance. Then
    ``E[s_k conj s_l] = g (c_inf + (1 - c_inf) exp(-|t_k - t_l| / tau))`` for
    ``k != l``: the spatial coherence map ``g`` times the temporal
    decorrelation model (Rocca 2007; Zebker & Villasenor 1992). Each date's
    amplitude carries ``exp(-j phi_k)`` and sits at the position given by
    that date's offsets, both interpolated bilinearly like the pair's.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from peppers.operators.simulate._synthesis_kernels import _bilinear, _place, _splat


@njit(nogil=True, cache=True)
def _normal():
    return complex(np.random.standard_normal(), np.random.standard_normal())


@njit(nogil=True, cache=True)
def synthesize_stack_block(seed, row_lo, row_hi, k, jitter, beta, gamma, c_inf, rho,
                           row_offset, col_offset, phase, margin_rows, margin_cols, lut_a,
                           lut_r, q, support, pad, images):
    """Scatterers of extended-grid rows ``row_lo .. row_hi-1`` into every date's image.

    Parameters
    ----------
    seed, row_lo, row_hi, k, jitter, beta, gamma, margin_rows, margin_cols, lut_a, lut_r, q, support, pad
        As :func:`._synthesis_kernels.synthesize_block`.
    c_inf : float
        Long-term fraction of the coherence (``c_inf`` above).
    rho : (N,) float64
        Correlation of the autoregressive part between date ``k - 1`` and
        ``k`` (``rho[0]`` unused).
    row_offset, col_offset, phase : (N, R, C) float64
        Per date: position minus reference-grid position, and the phase.
    images : (N, lines + 2 pad, samples + 2 pad) complex64
        Padded images accumulated in place.
    """
    np.random.seed(seed)
    n_cols = beta.shape[1]
    n_dates = images.shape[0]
    wa = np.empty(support, dtype=np.float32)
    wr = np.empty(support, dtype=np.float32)
    scale = 1.0 / (k * math.sqrt(2.0))
    a_inf = math.sqrt(c_inf)
    b_inf = math.sqrt(1.0 - c_inf)
    for i in range(row_lo, row_hi):
        for a in range(k):
            for j in range(n_cols):
                for b in range(k):
                    ye, xe, ci, cj, fy, fx, sigma = _place(beta, i, a, j, b, k, jitter, scale)
                    g = min(max(_bilinear(gamma, ci, cj, fy, fx), 0.0), 1.0)
                    sg, sn = math.sqrt(g), math.sqrt(1.0 - g)
                    persistent = _normal()
                    ar = _normal()
                    y = ye - margin_rows
                    x = xe - margin_cols
                    for d in range(n_dates):
                        if d > 0:
                            ar = rho[d] * ar + math.sqrt(1.0 - rho[d] * rho[d]) * _normal()
                        amp = sigma * (sg * (a_inf * persistent + b_inf * ar) + sn * _normal())
                        phi = _bilinear(phase[d], ci, cj, fy, fx)
                        amp = amp * complex(math.cos(phi), -math.sin(phi))
                        _splat(images[d], pad, y + _bilinear(row_offset[d], ci, cj, fy, fx),
                               x + _bilinear(col_offset[d], ci, cj, fy, fx), amp,
                               lut_a, lut_r, q, support, wa, wr)
