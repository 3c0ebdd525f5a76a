"""DEM-error cycle check of DEM refinement: the reference DEM's error is smooth on the ground.

A blunder of a refined DEM is a wrong whole cycle of the unwrapped
differential phase. With a reference DEM the residual phase is the DEM's
error seen along each master range circle, and on slopes facing the radar
that error is *amplified* (:func:`amplification`): the residual's gradient
aliases there first, and the unwrapper, which prefers small gradients, loses
a cycle towards the DEM. The DEM error itself is smooth on the ground (SRTM:
correlated over hundreds of metres, Rodriguez et al. 2006), so
:func:`check_cycles` compares each pixel's DEM error ``-r / A`` with the
median of its neighbourhood and moves whole cycles where that fits
(DEM-assisted unwrapping). :func:`circle_sensitivity` gives the exact phase
per metre of height and the incidence from two ``rdr2geo`` points.
:class:`~peppers.operators.dem_refinement.DemRefinedPhase` runs it before the
voids are filled (docs/geocoding.md, "DEM refinement").
"""

from __future__ import annotations

from typing import Any

import numpy as np

from peppers.geometry.zero_doppler import geo2rdr, rdr2geo

__all__ = ["circle_sensitivity", "amplification", "windowed_nanmedian", "check_cycles",
           "RELIABLE_SIGMAS", "MAD_TO_SIGMA"]

#: :func:`check_cycles` acts only where the model is this many sigmas (the
#: neighbourhood's scatter of the DEM error, from the median absolute deviation) inside
#: the tolerance.
RELIABLE_SIGMAS = 1.0
MAD_TO_SIGMA = 1.4826


def circle_sensitivity(master: Any, slave: Any, t_s: np.ndarray, range_m: np.ndarray,
                       dem_height: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Phase per metre of height along the range circle and the incidence's cosine.

    Two ``rdr2geo`` points of each pixel's master range circle, at the DEM
    height and 1 m above: ``d phi / d h = 4 pi/lambda (r2(P+1) - r2(P))``
    (exact, ``geo2rdr`` into the slave) and, since a metre of height along
    the circle moves the point by ``1 / sin(theta)``, ``cos(theta) =
    sqrt(1 - 1/|P+1 - P|^2)``. NaN where the DEM is void.
    """
    t_s, range_m, h = np.broadcast_arrays(np.asarray(t_s, float), np.asarray(range_m, float),
                                          np.asarray(dem_height, float))
    dphi, cos_t = np.full(h.shape, np.nan), np.full(h.shape, np.nan)
    ok = np.isfinite(h)
    if ok.any():
        m_orbit, s_orbit = master.orbit(), slave.orbit()
        p0, _ = rdr2geo(t_s[ok], range_m[ok], m_orbit, master.look_side, h[ok])
        p1, _ = rdr2geo(t_s[ok], range_m[ok], m_orbit, master.look_side, h[ok] + 1.0)
        _, r0 = geo2rdr(p0, s_orbit)
        _, r1 = geo2rdr(p1, s_orbit)
        dphi[ok] = 4.0 * np.pi / master.wavelength_m * (r1 - r0)
        sin_t = 1.0 / np.linalg.norm(np.asarray(p1) - np.asarray(p0), axis=-1)
        cos_t[ok] = np.sqrt(np.clip(1.0 - sin_t ** 2, 0.0, 1.0))
    return dphi, cos_t


def amplification(dem_height: np.ndarray, range_m: np.ndarray,
                  cos_incidence: np.ndarray) -> np.ndarray:
    """How much a radar pixel's residual height exceeds the DEM error under it.

    Along one master range circle, a point at height ``h`` sits at ground
    range ``x(h)``; the DEM surface crosses the circle at ``h_dem`` and the
    true surface at ``h_true``. With the DEM's slope ``alpha`` across range
    and the incidence ``theta``, linearised around ``h_dem`` (slant range
    ``r = x sin(theta) - h cos(theta)`` locally)::

        h_true - h_dem = -A e,    A = 1 / (1 - tan(alpha) / tan(theta))
                                    = 1 + cos(theta) d h_dem / d r

    ``e`` the DEM error at the true point (DEM minus truth) and ``d h_dem /
    d r`` the DEM height's gradient along slant range in radar geometry. On
    slopes facing the radar (foreshortening) ``A > 1``: the residual phase is
    the DEM error amplified, and its gradient aliases first there; ``A -> inf``
    at the layover limit, ``A < 1`` on back slopes.

    Parameters
    ----------
    dem_height : ndarray (M, N)
        The reference DEM's height at each pixel (NaN: void).
    range_m : ndarray (N,)
        Master slant range of each column.
    cos_incidence : ndarray, broadcast to (M, N)
        Cosine of the incidence angle (to the ellipsoid normal).
    """
    h = np.asarray(dem_height, dtype=np.float64)
    if h.shape[1] < 2:
        return np.full(h.shape, np.nan)
    slope = np.gradient(h, np.asarray(range_m, dtype=np.float64), axis=1)
    return 1.0 + np.asarray(cos_incidence, dtype=np.float64) * slope


def windowed_nanmedian(a: np.ndarray, size: int, rows_per_block: int = 64) -> np.ndarray:
    """Median of the finite values in the ``size x size`` box around each pixel (NaN if none).

    Row blocks bound the memory to ``rows_per_block * N * size**2`` values.
    """
    a = np.asarray(a, dtype=np.float64)
    half = size // 2
    padded = np.pad(a, half, constant_values=np.nan)
    out = np.full(a.shape, np.nan)
    for r0 in range(0, a.shape[0], rows_per_block):
        r1 = min(a.shape[0], r0 + rows_per_block)
        win = np.lib.stride_tricks.sliding_window_view(padded[r0:r1 + 2 * half], (size, size))
        flat = win.reshape(win.shape[0], win.shape[1], -1)
        has = np.isfinite(flat).any(axis=-1)
        block = np.full(has.shape, np.nan)
        if has.any():
            block[has] = np.nanmedian(flat[has], axis=-1)
        out[r0:r1] = block
    return out


def check_cycles(residual_m: np.ndarray, ambiguity_m: np.ndarray, amp: np.ndarray,
                 window: int, tolerance: float, max_iterations: int = 10
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Whole-cycle check of the residual height against a smooth DEM error (DEM-assisted).

    The reference DEM's error ``e`` is smooth on the ground (SRTM-like:
    correlated over hundreds of metres), so each pixel's error estimate
    ``e = -r / A`` (``r`` the residual height, ``A`` of :func:`amplification`)
    must agree with the median ``S`` of its ``window x window`` neighbours. A
    wrong whole cycle moves ``r`` by one height of ambiguity ``h_a`` and ``e``
    by ``h_a / A``. Per pixel, the disagreement in height ``d_k = A |-(r + k
    h_a) / A - S|`` is computed for ``k`` in -1, 0, 1; where ``d_0`` exceeds
    ``tolerance |h_a|`` and some ``d_k`` does not, the smallest is taken; repeated
    (``S`` again) until nothing changes. Pixels still above the tolerance do
    not fit the DEM's error model and are rejected. The model is trusted only
    where it is sharp: ``sigma_S A <= tolerance |h_a|``, ``sigma_S`` the
    neighbourhood's scatter of ``e`` about ``S`` (1.4826 x the median
    absolute deviation); elsewhere (a DEM error rough at the posting) nothing
    is moved or rejected. The comparison is in the
    DEM error's domain, where it is smooth: in radar geometry the residual
    itself is not (``A`` varies with the slope), so a smoothness check of the
    residual phase would move correct cycles.

    Parameters
    ----------
    residual_m : ndarray
        Refined minus reference-DEM height (m), NaN where unknown.
    ambiguity_m : ndarray
        Signed height change of one cycle of the residual phase (m).
    amp : ndarray
        :func:`amplification`; pixels with ``A <= 0.25`` (layover-like) are
        neither used nor checked.
    window : int
        Side of the neighbourhood (pixels, odd).
    tolerance : float
        Largest height disagreement with the DEM's error model kept, in
        heights of ambiguity (a blunder is half of one).

    Returns
    -------
    cycles : ndarray of int
        Whole cycles to add to each pixel's residual phase.
    rejected : ndarray of bool
        Checked pixels still disagreeing by more than ``tolerance |h_a|``.
    model : ndarray
        The model's residual height ``-A S`` where it is trusted, else NaN.

    References
    ----------
    E. Rodriguez et al. (2006), PE&RS 72(3):249-260 (SRTM error correlation);
    DEM-assisted unwrapping as in GAMMA / ISCE practice (the DEM's phase removed
    first, the residual bounded by the DEM's error).
    """
    r = np.asarray(residual_m, dtype=np.float64)
    ha = np.asarray(ambiguity_m, dtype=np.float64)
    a = np.where(np.asarray(amp, dtype=np.float64) > 0.25, amp, np.nan)
    checked = np.isfinite(r) & np.isfinite(a) & np.isfinite(ha)
    tol = tolerance * np.abs(np.nan_to_num(ha))
    cycles = np.zeros(r.shape, dtype=np.int64)
    dev = np.zeros(r.shape)
    for _ in range(max_iterations):
        err = np.where(checked, -(r + cycles * ha) / a, np.nan)
        smooth = windowed_nanmedian(err, window)
        dev = np.nan_to_num(np.where(checked, a * np.abs(err - smooth), 0.0))
        spread = windowed_nanmedian(np.abs(err - smooth), window)
        with np.errstate(invalid="ignore"):
            reliable = RELIABLE_SIGMAS * MAD_TO_SIGMA * a * spread <= tol
        best, best_dev = cycles.copy(), dev.copy()
        for k in (-1, 1):
            dk = a * np.abs(-(r + (cycles + k) * ha) / a - smooth)
            better = checked & reliable & (dev > tol) & (dk <= tol) & (dk < best_dev)
            best = np.where(better, cycles + k, best)
            best_dev = np.where(better, dk, best_dev)
        if np.array_equal(best, cycles):
            break
        cycles = best
    return cycles, checked & reliable & (dev > tol), np.where(reliable, -a * smooth, np.nan)
