"""Wrapped gradients and residues: the charges of the 2 x 2 loops.

A wrapped phase ``psi`` has wrapped differences ``dr`` (along rows) and
``dc`` (along columns). Going round the loop with corner ``(i, j)``::

    (i, j) --dc[i, j]--> (i, j+1)
      ^                     |
   -dr[i, j]            dr[i, j+1]
      |                     v
    (i+1, j) <-dc[i+1,j]- (i+1, j+1)

the sum ``dc[i, j] + dr[i, j+1] - dc[i+1, j] - dr[i, j]`` is an integer
multiple ``2 pi q`` of 2 pi; ``q`` in {-1, 0, 1} is the loop's residue
(Goldstein, Zebker & Werner 1988). An unwrapping is an integer correction
``k`` of every gradient that makes every loop sum zero; with the corrections
``kr`` (row gradients) and ``kc`` (column gradients) the loop condition is
``kc[i, j] + kr[i, j+1] - kc[i+1, j] - kr[i, j] = -q[i, j]``.
"""

from __future__ import annotations

import numpy as np

TWO_PI = 2.0 * np.pi


def wrap(phase: np.ndarray) -> np.ndarray:
    """Wrap a phase into ``[-pi, pi)``.

    Parameters
    ----------
    phase : ndarray
        Any real array.

    Returns
    -------
    ndarray
        ``phase - 2 pi round(phase / 2 pi)``, same dtype.

    Examples
    --------
    >>> float(wrap(np.array([3 * np.pi / 2]))[0]) == -np.pi / 2
    True
    """
    return phase - TWO_PI * np.round(phase / TWO_PI)


def wrapped_gradients(psi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Wrapped row and column differences of a wrapped phase.

    Parameters
    ----------
    psi : ndarray of shape (M, N), float
        Wrapped phase (NaN must have been replaced before).

    Returns
    -------
    dr : ndarray of shape (M-1, N), float64
        ``wrap(psi[1:, :] - psi[:-1, :])``.
    dc : ndarray of shape (M, N-1), float64
        ``wrap(psi[:, 1:] - psi[:, :-1])``.
    """
    psi = np.asarray(psi, dtype=np.float64)
    return wrap(np.diff(psi, axis=0)), wrap(np.diff(psi, axis=1))


def loop_sums(kr: np.ndarray, kc: np.ndarray) -> np.ndarray:
    """Circulation of a field of row/column differences round every 2 x 2 loop.

    Parameters
    ----------
    kr : ndarray of shape (M-1, N)
        Row differences (or their integer corrections).
    kc : ndarray of shape (M, N-1)
        Column differences (or corrections).

    Returns
    -------
    ndarray of shape (M-1, N-1)
        ``kc[i, j] + kr[i, j+1] - kc[i+1, j] - kr[i, j]``.
    """
    return kc[:-1, :] + kr[:, 1:] - kc[1:, :] - kr[:, :-1]


def residues(psi: np.ndarray) -> np.ndarray:
    """Residue charge of every 2 x 2 loop of a wrapped phase.

    Parameters
    ----------
    psi : ndarray of shape (M, N), float
        Wrapped phase without NaN.

    Returns
    -------
    ndarray of shape (M-1, N-1), int8
        +1, -1 or 0 (see the module docstring for the orientation).

    References
    ----------
    Goldstein, R. M., Zebker, H. A. & Werner, C. L. (1988). Satellite radar
    interferometry: two-dimensional phase unwrapping. Radio Science 23(4),
    713-720.

    Examples
    --------
    A vortex ``atan2(y, x)`` has one residue at its centre:

    >>> y, x = np.mgrid[-2:2, -2:2] + 0.5
    >>> residues(np.arctan2(y, x)).sum()
    np.int64(1)
    """
    dr, dc = wrapped_gradients(psi)
    return np.rint(loop_sums(dr, dc) / TWO_PI).astype(np.int8)
