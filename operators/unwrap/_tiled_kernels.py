"""numba kernels of the tiled unwrapping's stitch step (see :mod:`.tiled`).

:func:`write_core` writes one tile's core into the output with its cycle
offsets and merged labels; the cores are disjoint, so the tiles are written
from threads at once (the kernel releases the GIL). :func:`renumber` then
orders the merged components by decreasing size in one pass over the image.
"""

from __future__ import annotations

import numpy as np
from numba import njit

TWO_PI = 2.0 * np.pi


@njit(nogil=True, cache=True)
def write_core(unw: np.ndarray, comps: np.ndarray, u: np.ndarray, c: np.ndarray,
               off: np.ndarray, lab: np.ndarray, row: int, col: int, rel_row: int,
               rel_col: int, height: int, width: int) -> None:
    """``unw = u + 2 pi off[c]``, ``comps = lab[c]`` (0 where ``c`` is 0) on one core.

    ``(row, col)`` is the core's corner in the image, ``(rel_row, rel_col)``
    in the tile's outer arrays ``u`` (float32) and ``c`` (int labels); the
    sum is taken in float64 and rounded to float32 once.
    """
    for i in range(height):
        for j in range(width):
            k = c[rel_row + i, rel_col + j]
            unw[row + i, col + j] = np.float64(u[rel_row + i, rel_col + j]) + TWO_PI * off[k]
            comps[row + i, col + j] = lab[k] if k > 0 else 0


@njit(nogil=True, cache=True)
def renumber(comps: np.ndarray, n_labels: int) -> None:
    """Relabel ``comps`` (int32, in place) 1..K by decreasing size, ties by label; 0 stays 0."""
    sizes = np.zeros(n_labels + 1, np.int64)
    m, n = comps.shape
    for i in range(m):
        for j in range(n):
            sizes[comps[i, j]] += 1
    sizes[0] = 0
    order = np.argsort(-sizes, kind="mergesort")
    new = np.zeros(n_labels + 1, np.int32)
    count = 0
    for q in order:
        if sizes[q] > 0:
            count += 1
            new[q] = count
    for i in range(m):
        for j in range(n):
            comps[i, j] = new[comps[i, j]]
