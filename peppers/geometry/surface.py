"""Intersecting radar lines of sight with a terrain surface (a DEM).

For one radar sample (zero-Doppler time t, slant range R) the candidate
ground points form a curve parametrised by their ellipsoidal height h:
P(h) = rdr2geo(t, R, h), unique on the look side. The imaged point is where
that curve meets the terrain, a root of

    F(h) = dem(lat(P(h)), lon(P(h))) - h.

Policy, vectorised over all points still unsolved:

1. The first step is the classical fixed point h <- dem(P(h)) from h = 0
   (ISCE ``topozero``).
2. Then the **secant** through the last two (h, F) pairs, which converges
   superlinearly on smooth terrain where the fixed point crawls (its rate is
   the ratio of the slope towards the radar to the tangent of the incidence).
3. Every evaluation also records a **bracket**: the latest h with F > 0 and
   the latest with F < 0. Once a point is bracketed, a secant step that
   leaves the bracket or fails to halve |F| is replaced by bisection, so
   convergence is guaranteed (on fore-slopes and in layover a root is still
   found). Before a point is bracketed the secant goes unguarded (it is
   exact where F is linear in h); where F does not change between two
   trials, the step h + F is taken with a doubling factor.

A point converges when |F| < tolerance; its position is then on the surface
to that tolerance. A surface value of NaN (outside the DEM, a void) ends the
point with status 4.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from peppers.errors import GeometryError

#: Status code of a point whose surface height is NaN.
NO_SURFACE = 4


def intersect_surface(solve: Callable, surface: Callable, status: np.ndarray, xyz: np.ndarray,
                      llh: np.ndarray, tol_m: float, max_iter: int, no_convergence: int) -> np.ndarray:
    """Move every solved point onto ``surface``; updates the arrays in place.

    Parameters
    ----------
    solve : callable
        ``solve(index, h) -> (xyz, llh, status)`` for the points ``index`` at
        heights ``h`` (one kernel call of :func:`~peppers.geometry.zero_doppler.rdr2geo`).
    surface : callable
        ``surface(lat_deg, lon_deg) -> h``, vectorised.
    status : ndarray of int8, shape (n,)
        Kernel status per point; only points with status 0 are iterated.
    xyz, llh : ndarray of shape (n, 3)
        The points at h = 0 on entry, on the surface on return (NaN on failure).
    tol_m : float
        Convergence: |dem(P) - h(P)| < tol_m.
    max_iter : int
        Surface evaluations at most.
    no_convergence : int
        Status code given to points still unsolved at the end.

    Returns
    -------
    ndarray
        ``status``, with NO_SURFACE or ``no_convergence`` where a point failed.

    Raises
    ------
    GeometryError
        If ``surface`` does not return one height per point.
    """
    n = status.shape[0]
    h = np.zeros(n)
    track = {name: np.full(n, np.nan) for name in ("h_prev", "f_prev", "lo", "hi")}
    track["growth"] = np.ones(n)
    active = np.flatnonzero(status == 0)
    for it in range(max_iter):
        if active.size == 0:
            return status
        h_dem = np.asarray(surface(llh[active, 0], llh[active, 1]), dtype=np.float64)
        if h_dem.shape != active.shape:
            raise GeometryError(f"rdr2geo: the height callable returned shape {h_dem.shape} "
                                f"for {active.size} points; it must be vectorised")
        f = h_dem - h[active]
        void = ~np.isfinite(f)
        _fail(active[void], NO_SURFACE, status, xyz, llh)
        keep = ~void & (np.abs(f) >= tol_m)
        idx, f, h_dem = active[keep], f[keep], h_dem[keep]
        h_next = h_dem if it == 0 else _next_height(idx, h[idx], f, track)
        up = f > 0
        track["lo"][idx[up]] = h[idx[up]]
        track["hi"][idx[~up]] = h[idx[~up]]
        track["h_prev"][idx], track["f_prev"][idx] = h[idx], f
        h[idx] = h_next
        xyz[idx], llh[idx], status[idx] = solve(idx, h[idx])
        active = idx[status[idx] == 0]
    _fail(active, no_convergence, status, xyz, llh)
    return status


def _next_height(idx, h, f, track):
    """Safeguarded secant step for the points ``idx`` at heights ``h`` with residuals ``f``.

    Runaway trials may turn inf or NaN here (warnings silenced); the kernel
    then reports those points as not converged.
    """
    h0, f0 = track["h_prev"][idx], track["f_prev"][idx]
    # the bracket including the newest evaluation
    lo = np.where(f > 0, h, track["lo"][idx])
    hi = np.where(f < 0, h, track["hi"][idx])
    growth = track["growth"]
    with np.errstate(all="ignore"):
        secant = h - f * (h - h0) / (f - f0)
        progress = np.abs(f) < 0.5 * np.abs(f0)
        bracketed = np.isfinite(lo) & np.isfinite(hi)
        inside = (secant > np.minimum(lo, hi)) & (secant < np.maximum(lo, hi))
        inner = np.where(inside & progress, secant, 0.5 * (lo + hi))
        flat = ~np.isfinite(secant)
        growth[idx] = np.where(bracketed | ~flat, 1.0, 2.0 * growth[idx])
        outer = np.where(flat, h + f * growth[idx], secant)
    return np.where(bracketed, inner, outer)


def _fail(index, code, status, xyz, llh):
    status[index] = code
    xyz[index] = np.nan
    llh[index] = np.nan
