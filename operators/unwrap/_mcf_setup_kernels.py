"""numba kernels that build the minimum-cost-flow network (see :mod:`.mcf`).

Everything between the wrapped phase and the solver runs here, with the GIL
released, so that tiles unwrapped in threads overlap fully: the pixel phase
variances, the wrapped gradients of one direction with their local fringe
rate (an inverse-variance weighted box mean of unit phasors, edges replicated as
``scipy.ndimage.uniform_filter(mode="nearest")`` does), the initial
whole-cycle corrections and the two integer costs per arc, the loop
residues summed per network node, and the flood-fill integration snapped to
the wrapped phase. The formulas are those of :mod:`.mcf`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

TWO_PI = 2.0 * np.pi


@njit(nogil=True, cache=True)
def pixel_variance(coherence: np.ndarray, nlooks: float, cap: float) -> np.ndarray:
    """``min((1 - g^2) / (2 L g^2), cap)`` per pixel, g clipped to [0.05, 0.995], NaN as 0.05."""
    m, n = coherence.shape
    out = np.empty((m, n))
    for i in range(m):
        for j in range(n):
            g = coherence[i, j]
            if not np.isfinite(g):
                g = 0.05
            g = min(max(g, 0.05), 0.995)
            out[i, j] = min((1.0 - g * g) / (2.0 * nlooks * g * g), cap)
    return out


@njit(nogil=True, cache=True)
def _box_sum(x: np.ndarray, window: int) -> np.ndarray:
    """Separable box sum of ``window`` samples, edges replicated (origin as scipy's).

    Both passes run along rows: the vertical one adds whole (clamped) rows
    of the horizontal sums, tap by tap in the same order as a plain loop
    over the taps, so the sums are bit-identical to it while the memory
    access stays sequential (a column-by-column vertical pass was the
    largest single cost of the MCF set-up on 2048^2 grids).
    """
    m, n = x.shape
    lo = window // 2
    tmp = np.empty((m, n))
    out = np.zeros((m, n))
    for i in range(m):
        for j in range(n):
            s = 0.0
            for t in range(j - lo, j - lo + window):
                s += x[i, min(max(t, 0), n - 1)]
            tmp[i, j] = s
    for i in range(m):
        for t in range(i - lo, i - lo + window):
            r = min(max(t, 0), m - 1)
            for j in range(n):
                out[i, j] += tmp[r, j]
    return out


@njit(nogil=True, cache=True)
def arc_costs(psi: np.ndarray, valid: np.ndarray, var: np.ndarray, axis: int,
              smoothness: float, window: int, scale: float, cmin: int, cmax: int,
              reliability: float):
    """Corrected gradients, initial corrections and integer costs of one direction.

    Parameters
    ----------
    psi : float64 (M, N)
        Wrapped phase, 0 outside components.
    valid : bool (M, N)
        Component pixels.
    var : float64 (M, N)
        Pixel phase variances.
    axis : int
        0: row gradients (shape (M-1, N)); 1: column gradients (M, N-1).
    smoothness, window : float, int
        As in :func:`.mcf.arc_costs`.
    scale, cmin, cmax : float, int, int
        Cost scale and integer bounds.
    reliability : float
        Least relative length of the weighted mean phasor for the rate to be used.

    Returns
    -------
    d : float64
        Wrapped gradient plus ``2 pi k0``.
    k0 : int32
        Initial corrections (0 on arcs not between two valid pixels).
    cp, cm : int64
        Costs of one cycle added / removed.
    """
    m, n = psi.shape
    h = m - 1 if axis == 0 else m
    w = n if axis == 0 else n - 1
    d = np.empty((h, w))
    ok = np.zeros((h, w), np.bool_)
    re = np.zeros((h, w))
    im = np.zeros((h, w))
    wt = np.zeros((h, w))
    for i in range(h):
        for j in range(w):
            i2 = i + 1 if axis == 0 else i
            j2 = j if axis == 0 else j + 1
            x = psi[i2, j2] - psi[i, j]
            x -= TWO_PI * np.round(x / TWO_PI)
            d[i, j] = x
            if valid[i, j] and valid[i2, j2]:
                ok[i, j] = True
                q = 1.0 / (var[i, j] + var[i2, j2])
                wt[i, j] = q
                re[i, j] = q * np.cos(x)
                im[i, j] = q * np.sin(x)
    if window > 1:
        re = _box_sum(re, window)
        im = _box_sum(im, window)
        wt = _box_sum(wt, window)
    k0 = np.zeros((h, w), np.int32)
    cp = np.empty((h, w), np.int64)
    cm = np.empty((h, w), np.int64)
    for i in range(h):
        for j in range(w):
            i2 = i + 1 if axis == 0 else i
            j2 = j if axis == 0 else j + 1
            mu = 0.0
            if window > 1 and np.hypot(re[i, j], im[i, j]) > reliability * wt[i, j]:
                mu = np.arctan2(im[i, j], re[i, j])
            k = np.round((mu - d[i, j]) / TWO_PI)
            e = d[i, j] + TWO_PI * k - mu
            s2 = 2.0 * (var[i, j] + var[i2, j2] + smoothness * smoothness)
            base = 4.0 * np.pi * np.pi / s2
            lean = 4.0 * np.pi * e / s2
            cp[i, j] = int(min(max(np.round(scale * (base + lean)), cmin), cmax))
            cm[i, j] = int(min(max(np.round(scale * (base - lean)), cmin), cmax))
            if ok[i, j]:
                k0[i, j] = np.int32(k)
                d[i, j] += TWO_PI * k
    return d, k0, cp, cm


@njit(nogil=True, cache=True)
def loop_excess(d_r: np.ndarray, d_c: np.ndarray, nodes: np.ndarray, n_nodes: int):
    """Residues of the loops summed per network node, and the count of charged loops.

    Parameters
    ----------
    d_r, d_c : float64
        Gradients whose loop sums are multiples of 2 pi.
    nodes : int64
        Node of every loop (:func:`._mcf_kernels.loop_nodes`).
    n_nodes : int
        Loops + earth + holes.

    Returns
    -------
    excess : int64 (n_nodes,)
        Supplies; the earth's (index ``n_loops``) is 0.
    charged : int
        Loops with a non-zero residue.
    """
    m = d_c.shape[0]
    n = d_r.shape[1]
    c = n - 1
    excess = np.zeros(n_nodes, np.int64)
    charged = 0
    for i in range(m - 1):
        for j in range(c):
            s = d_c[i, j] + d_r[i, j + 1] - d_c[i + 1, j] - d_r[i, j]
            q = int(np.round(s / TWO_PI))
            if q != 0:
                charged += 1
                excess[nodes[i * c + j]] += q
    excess[(m - 1) * c] = 0
    return excess, charged


@njit(nogil=True, cache=True)
def integrate_snapped(gr: np.ndarray, gc: np.ndarray, psi: np.ndarray,
                      components: np.ndarray) -> np.ndarray:
    """Breadth-first integration of curl-free gradients, snapped to the wrapped phase.

    Each component starts at its first pixel in raster order with ``psi``
    there; every pixel becomes ``psi + 2 pi round((phi - psi) / 2 pi)``.

    Parameters
    ----------
    gr, gc : float64
        Corrected row (M-1, N) and column (M, N-1) gradients.
    psi : float64 (M, N)
        Wrapped phase.
    components : int32 (M, N)
        Labels, 0 = not unwrapped.

    Returns
    -------
    float64 (M, N)
        Unwrapped phase, NaN outside components.
    """
    m, n = components.shape
    phi = np.full((m, n), np.nan)
    queue = np.empty(m * n, np.int64)
    for start in range(m * n):
        si = start // n
        sj = start - si * n
        lab = components[si, sj]
        if lab == 0 or not np.isnan(phi[si, sj]):
            continue
        phi[si, sj] = psi[si, sj]
        head = 0
        tail = 1
        queue[0] = start
        while head < tail:
            p = queue[head]
            head += 1
            i = p // n
            j = p - i * n
            base = phi[i, j]
            if i > 0 and components[i - 1, j] == lab and np.isnan(phi[i - 1, j]):
                phi[i - 1, j] = base - gr[i - 1, j]
                queue[tail] = p - n
                tail += 1
            if i < m - 1 and components[i + 1, j] == lab and np.isnan(phi[i + 1, j]):
                phi[i + 1, j] = base + gr[i, j]
                queue[tail] = p + n
                tail += 1
            if j > 0 and components[i, j - 1] == lab and np.isnan(phi[i, j - 1]):
                phi[i, j - 1] = base - gc[i, j - 1]
                queue[tail] = p - 1
                tail += 1
            if j < n - 1 and components[i, j + 1] == lab and np.isnan(phi[i, j + 1]):
                phi[i, j + 1] = base + gc[i, j]
                queue[tail] = p + 1
                tail += 1
    for i in range(m):
        for j in range(n):
            if components[i, j] != 0:
                phi[i, j] = psi[i, j] + TWO_PI * np.round((phi[i, j] - psi[i, j]) / TWO_PI)
    return phi
