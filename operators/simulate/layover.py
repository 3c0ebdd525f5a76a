"""The truth layover/shadow mask: the terrain profile of every azimuth line.

For azimuth line ``i`` the antenna is at ``S`` with velocity ``V``; every
point the line images lies in the zero-Doppler plane through ``S``
perpendicular to ``V``, with in-plane axes ``n`` (towards nadir,
perpendicular to ``V``) and ``c = side * (n x V/|V|)`` (cross-track,
towards the look side). The terrain's trace in that plane is sampled
densely: for cross-track distances ``x`` a quarter of a ground pixel apart,
the point ``P = S + x c + z n`` on the terrain is found by iterating on
``z`` (``n`` is within a few degrees of the vertical there, so the iteration
``z <- z + (h(P) - dem(P)) / (n . up)`` contracts by the terrain slope times
that tilt). Each sample has its slant range ``r = |P - S|`` and look angle
``theta = atan2(x, z)``.

- A sample is **visible** when no nearer part of the profile rises above its
  line of sight: ``theta >= max(theta of every sample nearer nadir)``.
- A radar pixel at range ``r_j`` is in **layover** when two or more visible
  stretches of the profile cross the range ``r_j`` (their echoes add up in
  the pixel), and in **shadow** when the profile crosses ``r_j`` only where
  it is hidden (the pixel receives no echo).

This is a brute-force, independent construction (the processor's mask comes
from per-pixel ``rdr2geo`` and the monotonicity of ground range and look
angle along each range line, ISCE2 ``topozero`` style), used only as truth.

Codes: 0 clear, 1 layover, 2 shadow.
"""

from __future__ import annotations

import numpy as np

from peppers.geometry.dem import GridDem
from peppers.geometry.ellipsoid import ecef_to_llh, enu_basis

__all__ = ["truth_layover_shadow", "LAYOVER", "SHADOW"]

LAYOVER, SHADOW = 1, 2


def _plane_basis(pos: np.ndarray, vel: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    v = vel / np.linalg.norm(vel, axis=-1, keepdims=True)
    n = -(pos - np.sum(pos * v, axis=-1, keepdims=True) * v)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    c = side * np.cross(n, v)
    return n, c


def truth_layover_shadow(sat_pos: np.ndarray, sat_vel: np.ndarray, side: int,
                         ranges: np.ndarray, ground_xyz: np.ndarray, dem: GridDem,
                         *, relief_pad_m: float, oversample: int = 4,
                         iterations: int = 12) -> np.ndarray:
    """Layover/shadow codes of a radar grid from the terrain profiles (module docstring).

    Parameters
    ----------
    sat_pos, sat_vel : ndarray (R, 3)
        Antenna position and velocity of each azimuth line.
    side : int
        +1 right-looking, -1 left-looking.
    ranges : ndarray (C,)
        Slant range of each column (increasing).
    ground_xyz : ndarray (R, C, 3)
        A ground point per pixel (any root): sets the cross-track extent.
    dem : GridDem
        The true surface.
    relief_pad_m : float
        Extra cross-track distance sampled on both sides (the relief's reach).
    oversample : int
        Profile samples per ground pixel.
    iterations : int
        Iterations of the height solution per sample.

    Returns
    -------
    ndarray (R, C) uint8
    """
    n_rows, n_cols = ground_xyz.shape[:2]
    codes = np.zeros((n_rows, n_cols), dtype=np.uint8)
    dr = float(ranges[1] - ranges[0]) if n_cols > 1 else 1.0
    for i in range(n_rows):
        s = sat_pos[i]
        n, c = _plane_basis(s, sat_vel[i], side)
        rel = ground_xyz[i] - s
        x = rel @ c
        z = rel @ n
        good = np.isfinite(x)
        step = float(np.nanmedian(np.abs(np.diff(x)))) / oversample
        xs = np.arange(np.nanmin(x[good]) - relief_pad_m, np.nanmax(x[good]) + relief_pad_m,
                       max(step, 1e-3))
        zs = np.interp(xs, x[good][np.argsort(x[good])], z[good][np.argsort(x[good])])
        for _ in range(iterations):
            p = s + xs[:, None] * c + zs[:, None] * n
            llh = ecef_to_llh(p)
            up = enu_basis(llh[:, 0], llh[:, 1])[:, 2, :]
            surface = dem(llh[:, 0], llh[:, 1])
            zs = zs - (llh[:, 2] - surface) / (up @ n)      # dh/dz = up . n (about -1)
        p = s + xs[:, None] * c + zs[:, None] * n
        r = np.linalg.norm(p - s, axis=-1)
        theta = np.arctan2(xs, zs)
        ok = np.isfinite(r)
        r, theta = r[ok], theta[ok]
        visible = theta >= np.maximum.accumulate(theta) - 1e-12
        lo = np.minimum(r[:-1], r[1:])
        hi = np.maximum(r[:-1], r[1:])
        seg_visible = visible[:-1] & visible[1:]
        j_lo = np.ceil((lo - ranges[0]) / dr).astype(np.int64)
        j_hi = np.floor((hi - ranges[0]) / dr).astype(np.int64)
        keep = (j_hi >= j_lo) & (j_hi >= 0) & (j_lo < n_cols)
        j_lo, j_hi = np.clip(j_lo[keep], 0, n_cols - 1), np.clip(j_hi[keep], 0, n_cols - 1)
        total = _interval_counts(j_lo, j_hi, n_cols)
        seen = _interval_counts(j_lo[seg_visible[keep]], j_hi[seg_visible[keep]], n_cols)
        codes[i] = np.where(seen >= 2, LAYOVER, np.where((seen == 0) & (total >= 1), SHADOW, 0))
    return codes


def _interval_counts(lo: np.ndarray, hi: np.ndarray, n: int) -> np.ndarray:
    """How many of the closed integer intervals [lo, hi] hold each of 0..n-1."""
    diff = np.zeros(n + 1, dtype=np.int64)
    np.add.at(diff, lo, 1)
    np.add.at(diff, hi + 1, -1)
    return np.cumsum(diff[:-1])
