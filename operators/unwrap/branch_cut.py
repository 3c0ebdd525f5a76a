"""Branch-cut phase unwrapping (Goldstein, Zebker & Werner 1988).

Residues are joined by *branch cuts* so that no integration path can go
round an unbalanced set of residues: from each unvisited residue a tree is
grown by searching boxes of increasing size (3, 5, ... ``max_box``) around
every residue of the tree, joining every residue found (and the image edge
or an invalid region, which neutralises the tree) until the tree's total
charge is zero; a tree still charged after the largest box is joined to its
nearest border pixel. The phase is then integrated by flood fill from one
seed per component (in the largest cut-free region of it), never crossing
a cut; the cut pixels themselves are unwrapped last from their unwrapped
neighbours.

This is the fast baseline: no costs, no coherence except the mask, and
regions enclosed by cuts can end up a whole cycle off.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from peppers.operators.unwrap import _branch_cut_kernels as kern
from peppers.operators.unwrap.masks import prepare
from peppers.operators.unwrap.residues import residues


def _nearest_border(valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of the nearest invalid pixel or edge (one pixel outside) of each pixel."""
    padded = np.pad(valid, 1, constant_values=False)
    _, (ni, nj) = ndimage.distance_transform_edt(padded, return_indices=True)
    return (np.clip(ni[1:-1, 1:-1] - 1, 0, valid.shape[0] - 1).astype(np.int64),
            np.clip(nj[1:-1, 1:-1] - 1, 0, valid.shape[1] - 1).astype(np.int64))


def unwrap_branch_cut(data: np.ndarray, coherence: np.ndarray | None = None, *,
                      threshold: float = 0.0, max_box: int = 41,
                      min_component_size: int = 50, nodata: complex | float | None = None):
    """Unwrap with Goldstein branch cuts and flood fill.

    Parameters
    ----------
    data : ndarray of shape (M, N)
        Complex interferogram or wrapped phase.
    coherence : ndarray of shape (M, N), optional
        Only used for the mask (with ``threshold``).
    threshold : float
        Pixels with coherence below it are not unwrapped.
    max_box : int
        Largest residue search box (odd, pixels).
    min_component_size : int
        Smaller components are not unwrapped.
    nodata : scalar, optional
        No-data value of ``data``.

    Returns
    -------
    unwrapped : float32 ndarray (M, N)
        NaN where not unwrapped.
    components : int32 ndarray (M, N)

    References
    ----------
    Goldstein, R. M., Zebker, H. A. & Werner, C. L. (1988). Satellite radar
    interferometry: two-dimensional phase unwrapping. Radio Science 23(4),
    713-720.
    Ghiglia, D. C. & Pritt, M. D. (1998). Two-Dimensional Phase Unwrapping.
    Wiley, section 4.2.

    Examples
    --------
    >>> y, x = np.mgrid[0:40, 0:50]
    >>> truth = 0.5 * x - 0.4 * y
    >>> unw, comp = unwrap_branch_cut(np.exp(1j * truth))
    >>> bool(np.allclose(unw - unw[0, 0], truth, atol=1e-4))
    True
    """
    if max_box < 3 or max_box % 2 == 0:
        raise ValueError(f"max_box must be odd and >= 3, got {max_box}")
    psi, components, psi0 = prepare(data, coherence, threshold, min_component_size, nodata)
    valid = components > 0
    q = residues(psi0)
    loop_invalid = ~(valid[:-1, :-1] & valid[1:, :-1] & valid[:-1, 1:] & valid[1:, 1:])
    q[loop_invalid] = 0
    near_i, near_j = _nearest_border(valid)
    cut = np.zeros(psi.shape, bool)
    kern.place_cuts(q, loop_invalid, near_i, near_j, int(max_box), cut)
    regions, _ = ndimage.label(valid & ~cut)
    seeds = []
    for lab in range(1, int(components.max(initial=0)) + 1):
        sub = regions[components == lab]
        sub = sub[sub > 0]
        if sub.size:
            best = np.bincount(sub).argmax()
            seeds.append(int(np.flatnonzero(regions == best)[0]))
        else:
            seeds.append(int(np.flatnonzero(components == lab)[0]))
    unw = kern.flood_fill(psi0, valid, cut, np.array(seeds, np.int64))
    return unw.astype(np.float32), components
