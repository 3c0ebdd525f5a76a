"""Interpolation of small holes in an unwrapped phase.

A *hole* is a 4-connected group of pixels that were not unwrapped (label 0)
with at most ``max_size`` pixels, not touching the image edge, and
surrounded by one component only. Its pixels are filled from the outside
in (each layer the mean of its already-known 8-neighbours, see
:func:`._fill_kernels.onion_fill`); where the wrapped phase is known there
(a pixel masked for low coherence), the interpolated value only picks the
cycle: the result is ``psi + 2 pi round((interp - psi) / 2 pi)``. Filled
pixels join the surrounding component.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from peppers.operators.unwrap._fill_kernels import onion_fill
from peppers.operators.unwrap.residues import TWO_PI


def fill_holes(unwrapped: np.ndarray, components: np.ndarray, psi: np.ndarray | None = None,
               max_size: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Fill the small enclosed holes of an unwrapped phase.

    Parameters
    ----------
    unwrapped : float ndarray (M, N)
        Unwrapped phase, NaN where not unwrapped.
    components : int ndarray (M, N)
        Component labels, 0 where not unwrapped.
    psi : float ndarray (M, N), optional
        Wrapped phase (NaN where unknown): filled values are made congruent
        to it where it is finite.
    max_size : int
        Largest hole (pixels) that is filled.

    Returns
    -------
    unwrapped, components : ndarrays
        New arrays with the holes filled and labelled.

    Examples
    --------
    >>> u = np.arange(25.0).reshape(5, 5); u[2, 2] = np.nan
    >>> c = np.ones((5, 5), np.int32); c[2, 2] = 0
    >>> u2, c2 = fill_holes(u, c)
    >>> float(u2[2, 2]), int(c2[2, 2])
    (12.0, 1)
    """
    holes, count = ndimage.label(components == 0)
    out_u = np.array(unwrapped, np.float64)
    out_c = np.array(components, copy=True)
    if count == 0:
        return out_u.astype(unwrapped.dtype), out_c
    sizes = np.bincount(holes.ravel())
    edge = np.unique(np.concatenate([holes[0], holes[-1], holes[:, 0], holes[:, -1]]))
    ok = (sizes <= max_size)
    ok[0] = False
    ok[edge] = False
    todo = np.zeros(components.shape, bool)
    for lab, sl in enumerate(ndimage.find_objects(holes), start=1):
        if not ok[lab]:
            continue
        grown = tuple(slice(max(s.start - 1, 0), s.stop + 1) for s in sl)
        hole = holes[grown] == lab
        ring = ndimage.binary_dilation(hole) & ~hole
        around = np.unique(components[grown][ring])
        if around.size == 1 and around[0] > 0:
            todo[grown] |= hole
            out_c[grown][hole] = around[0]
    if not todo.any():
        return out_u.astype(unwrapped.dtype), out_c
    out_u[todo] = np.nan
    onion_fill(out_u, todo)
    if psi is not None:
        snap = todo & np.isfinite(psi)
        out_u[snap] = psi[snap] + TWO_PI * np.rint((out_u[snap] - psi[snap]) / TWO_PI)
    return out_u.astype(unwrapped.dtype), out_c
