"""Weighted least-squares phase unwrapping (Ghiglia & Romero 1994).

The unwrapped phase ``phi`` minimises ``sum_e w_e (phi_q - phi_p - d_e)^2``
over the row and column edges, with ``d`` the wrapped gradients and ``w_e =
min(g_p, g_q)^2`` from the coherence ``g`` (0 on edges touching invalid
pixels). The normal equations ``A phi = b`` (a weighted Neumann Laplacian)
are solved by preconditioned conjugate gradients; the preconditioner is the
unweighted Neumann Poisson problem, solved exactly in the DCT-II domain
(eigenvalues ``4 - 2 cos(pi k / M) - 2 cos(pi l / N)``) with pyFFTW.

Least squares spreads the error of each residue over the whole image, so
its solution is smooth but biased; the result is made congruent with the
wrapped phase (``psi + 2 pi round((phi - psi) / 2 pi)``), which is exact
wherever the least-squares bias stays below pi.
"""

from __future__ import annotations

import os

import numpy as np
import pyfftw.interfaces.scipy_fft as fftw

from peppers.operators.unwrap import _wls_kernels as kern
from peppers.operators.unwrap.masks import prepare
from peppers.operators.unwrap.residues import TWO_PI, wrapped_gradients


class PoissonDCT:
    """Exact solver of the unweighted Neumann Poisson equation ``D^T D z = r`` by DCT.

    Parameters
    ----------
    shape : tuple of int
        Image shape ``(M, N)``.
    threads : int
        FFTW threads.

    References
    ----------
    Ghiglia, D. C. & Romero, L. A. (1994). Robust two-dimensional weighted and
    unweighted phase unwrapping that uses fast transforms and iterative
    methods. JOSA A 11(1), 107-117, eq. (13).
    """

    def __init__(self, shape: tuple[int, int], threads: int = 1) -> None:
        m, n = shape
        lam = (2 - 2 * np.cos(np.pi * np.arange(m) / m))[:, None] + \
              (2 - 2 * np.cos(np.pi * np.arange(n) / n))[None, :]
        lam[0, 0] = 1.0
        self.inv = 1.0 / lam
        self.inv[0, 0] = 0.0
        self.threads = max(1, int(threads))

    def __call__(self, r: np.ndarray) -> np.ndarray:
        spec = fftw.dctn(r, type=2, norm="ortho", workers=self.threads)
        spec *= self.inv
        return fftw.idctn(spec, type=2, norm="ortho", workers=self.threads)


def solve_wls(d_r: np.ndarray, d_c: np.ndarray, w_r: np.ndarray, w_c: np.ndarray, *,
              tol: float = 1e-4, max_iter: int = 200, threads: int = 1) -> tuple[np.ndarray, int]:
    """Weighted least-squares integration of a gradient field by PCG.

    Parameters
    ----------
    d_r, d_c : ndarray
        Row (M-1, N) and column (M, N-1) gradients.
    w_r, w_c : ndarray
        Non-negative edge weights of the same shapes.
    tol : float
        Stop when ``|r| <= tol |b|``.
    max_iter : int
        Iteration limit.
    threads : int
        FFTW threads of the preconditioner.

    Returns
    -------
    phi : float64 ndarray (M, N)
    iterations : int

    References
    ----------
    Ghiglia & Romero (1994), section 4 (preconditioned conjugate gradient).
    """
    m, n = d_c.shape[0], d_r.shape[1]
    w_r = np.ascontiguousarray(w_r, np.float64)
    w_c = np.ascontiguousarray(w_c, np.float64)
    b = kern.divergence(np.ascontiguousarray(d_r, np.float64),
                        np.ascontiguousarray(d_c, np.float64), w_r, w_c)
    precond = PoissonDCT((m, n), threads)
    x = np.zeros((m, n))
    r = b.copy()
    norm_b = np.sqrt(np.vdot(b, b).real)
    if norm_b == 0.0:
        return x, 0
    z = precond(r)
    p = z.copy()
    rz = np.vdot(r, z).real
    ap = np.empty_like(x)
    it = 0
    for it in range(1, max_iter + 1):
        kern.apply_laplacian(p, w_r, w_c, ap)
        pap = np.vdot(p, ap).real
        if pap <= 0.0:
            break
        alpha = rz / pap
        x += alpha * p
        r -= alpha * ap
        if np.sqrt(np.vdot(r, r).real) <= tol * norm_b:
            break
        z = precond(r)
        rz_new = np.vdot(r, z).real
        p *= rz_new / rz
        p += z
        rz = rz_new
    return x, it


def unwrap_wls(data: np.ndarray, coherence: np.ndarray | None = None, *,
               threshold: float = 0.0, tol: float = 1e-4, max_iter: int = 200,
               min_component_size: int = 50, nodata: complex | float | None = None,
               threads: int | None = None):
    """Unwrap by weighted least squares, then snap to the wrapped phase.

    Parameters
    ----------
    data : ndarray of shape (M, N)
        Complex interferogram or wrapped phase.
    coherence : ndarray of shape (M, N), optional
        Weights ``min(g_p, g_q)^2``; also the mask with ``threshold``.
    threshold : float
        Pixels with coherence below it are not unwrapped.
    tol, max_iter : float, int
        PCG stopping rule.
    min_component_size : int
        Smaller components are not unwrapped.
    nodata : scalar, optional
        No-data value of ``data``.
    threads : int, optional
        FFTW threads (default: all cores).

    Returns
    -------
    unwrapped : float32 ndarray (M, N)
        ``psi + 2 pi n``, NaN where not unwrapped.
    components : int32 ndarray (M, N)

    References
    ----------
    Ghiglia, D. C. & Romero, L. A. (1994). JOSA A 11(1), 107-117.

    Examples
    --------
    >>> y, x = np.mgrid[0:50, 0:60]
    >>> truth = 0.3 * x + 0.002 * (y - 25.0) ** 2
    >>> unw, comp = unwrap_wls(np.exp(1j * truth))
    >>> bool(np.allclose(unw - unw[0, 0], truth - truth[0, 0], atol=1e-4))
    True
    """
    psi, components, psi0 = prepare(data, coherence, threshold, min_component_size, nodata)
    valid = components > 0
    d_r, d_c = wrapped_gradients(psi0)
    g = np.ones(psi.shape) if coherence is None else np.nan_to_num(np.asarray(coherence, float))
    g = np.where(valid, np.clip(g, 0.0, 1.0), 0.0)
    w_r = np.minimum(g[1:], g[:-1]) ** 2
    w_c = np.minimum(g[:, 1:], g[:, :-1]) ** 2
    phi, _ = solve_wls(d_r, d_c, w_r, w_c, tol=tol, max_iter=max_iter,
                       threads=threads or os.cpu_count() or 1)
    unw = psi0 + TWO_PI * np.rint((phi - psi0) / TWO_PI)
    unw[~valid] = np.nan
    return unw.astype(np.float32), components
