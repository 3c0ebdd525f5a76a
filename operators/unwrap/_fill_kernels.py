"""numba kernel of hole interpolation (see :mod:`.fill`)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(nogil=True, cache=True)
def onion_fill(values, todo):
    """Fill ``todo`` pixels layer by layer with the mean of their known 8-neighbours.

    Each layer uses only values known before it, so the result does not
    depend on scan order. Pixels never reached stay NaN. ``values`` is
    modified and returned.
    """
    m, n = values.shape
    layer = np.empty(m * n, np.int64)
    new = np.empty(m * n, np.float64)
    remaining = todo.copy()
    while True:
        count = 0
        for i in range(m):
            for j in range(n):
                if not remaining[i, j]:
                    continue
                acc = 0.0
                k = 0
                for di in range(-1, 2):
                    for dj in range(-1, 2):
                        ii = i + di
                        jj = j + dj
                        if 0 <= ii < m and 0 <= jj < n and not remaining[ii, jj] \
                                and not np.isnan(values[ii, jj]):
                            acc += values[ii, jj]
                            k += 1
                if k > 0:
                    layer[count] = i * n + j
                    new[count] = acc / k
                    count += 1
        if count == 0:
            break
        for q in range(count):
            values.flat[layer[q]] = new[q]
            remaining.flat[layer[q]] = False
    return values
