"""numba kernels of the weighted least-squares unwrapper (see :mod:`.wls`).

With ``(D phi)_e = phi_q - phi_p`` over the row and column edges ``e = (p, q)``
and edge weights ``w``, the normal equations are ``A phi = b`` with
``A = D^T W D`` (a weighted graph Laplacian) and ``b = D^T W d``.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(nogil=True, cache=True)
def apply_laplacian(phi, w_r, w_c, out):
    """``out = D^T W D phi``: ``sum_e w_e (phi_p - phi_neighbour)`` at every pixel."""
    m, n = phi.shape
    for i in range(m):
        for j in range(n):
            p = phi[i, j]
            acc = 0.0
            if i > 0:
                acc += w_r[i - 1, j] * (p - phi[i - 1, j])
            if i < m - 1:
                acc += w_r[i, j] * (p - phi[i + 1, j])
            if j > 0:
                acc += w_c[i, j - 1] * (p - phi[i, j - 1])
            if j < n - 1:
                acc += w_c[i, j] * (p - phi[i, j + 1])
            out[i, j] = acc
    return out


@njit(nogil=True, cache=True)
def divergence(d_r, d_c, w_r, w_c):
    """``b = D^T W d`` for row gradients ``d_r`` (M-1, N) and column gradients ``d_c`` (M, N-1)."""
    m = d_c.shape[0]
    n = d_r.shape[1]
    b = np.zeros((m, n))
    for i in range(m - 1):
        for j in range(n):
            f = w_r[i, j] * d_r[i, j]
            b[i, j] -= f
            b[i + 1, j] += f
    for i in range(m):
        for j in range(n - 1):
            f = w_c[i, j] * d_c[i, j]
            b[i, j] -= f
            b[i, j + 1] += f
    return b
