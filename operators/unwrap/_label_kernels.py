"""numba kernel of connected-component labelling (see :mod:`.masks`).

Two passes with a union-find forest of provisional labels (Rosenfeld &
Pfaltz 1966; Wu, Otoo & Suzuki 2009 for the union-by-smaller-label form):

1. raster scan; a foreground pixel takes the smallest root among its
   already-scanned neighbours (4-connectivity: up, left; 8-connectivity:
   also up-left, up-right) and unites the others with it, or opens a new
   provisional label if it has none;
2. every provisional label is replaced by a consecutive number of its root.

A component's first pixel in raster order always opens a provisional label,
and that label is the smallest of the component, so with union by the
smaller root the final labels count the components in the raster order of
their first pixels, which is the numbering of ``scipy.ndimage.label``. The
kernel releases the GIL, so tiles unwrapped in threads label in parallel
(``ndimage.label`` holds it).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(nogil=True, cache=True, inline="always")
def _find(parent: np.ndarray, x: int) -> int:
    """Root of ``x``, halving the path on the way."""
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@njit(nogil=True, cache=True, inline="always")
def _unite(parent: np.ndarray, a: int, b: int) -> int:
    """Join the trees of ``a`` and ``b`` under the smaller root; returns it."""
    ra = _find(parent, a)
    rb = _find(parent, b)
    if ra < rb:
        parent[rb] = ra
        return ra
    parent[ra] = rb
    return rb


@njit(nogil=True, cache=True)
def label(mask: np.ndarray, eight: bool) -> tuple[np.ndarray, int]:
    """Connected components of ``mask`` (bool (M, N)), labels 1..K in raster order.

    Returns the int32 label image (0 on background) and K.
    """
    m, n = mask.shape
    out = np.zeros((m, n), np.int32)
    # pixels opening a label have no scanned neighbour in the mask, so no two
    # of them are 4-adjacent: at most ceil(M N / 2) provisional labels
    parent = np.empty((m * n + 1) // 2 + 1, np.int32)
    parent[0] = 0
    nxt = 1
    for i in range(m):
        for j in range(n):
            if not mask[i, j]:
                continue
            lab = 0
            if i > 0:
                if out[i - 1, j]:
                    lab = out[i - 1, j]
                if eight:
                    if j > 0 and out[i - 1, j - 1]:
                        lab = out[i - 1, j - 1] if lab == 0 else _unite(parent, lab,
                                                                      out[i - 1, j - 1])
                    if j < n - 1 and out[i - 1, j + 1]:
                        lab = out[i - 1, j + 1] if lab == 0 else _unite(parent, lab,
                                                                      out[i - 1, j + 1])
            if j > 0 and out[i, j - 1]:
                lab = out[i, j - 1] if lab == 0 else _unite(parent, lab, out[i, j - 1])
            if lab == 0:
                lab = nxt
                parent[nxt] = nxt
                nxt += 1
            out[i, j] = lab
    final = np.zeros(nxt, np.int32)
    count = 0
    for p in range(1, nxt):
        r = _find(parent, p)
        if r == p:
            count += 1
            final[p] = count
        else:
            final[p] = final[r]
    for i in range(m):
        for j in range(n):
            out[i, j] = final[out[i, j]]
    return out, count
