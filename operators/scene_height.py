"""Phase to height for scenes outside the kernel's zero-Doppler geometry.

The per-pixel kernel of :mod:`peppers.operators._height_kernels` solves on the
master's zero-Doppler range circle at the row time. A scene that declares an
azimuth time offset (Sentinel-1) or a native-Doppler geometry
(docs/input-format.md) needs the scene's own geometry: this module solves the
same equation through :func:`~peppers.geometry.scene_geometry.scene_rdr2geo`
and :func:`~peppers.geometry.scene_geometry.scene_geo2rdr`, vectorised over a
tile, with the height as the unknown:

    F(h) = r2(P(h)) - r2_ref - lambda phi / (4 pi) = 0

``P(h)`` the master pixel's ground point at height ``h`` (its range sphere,
its Doppler cone or zero-Doppler plane at ``t_row + dt(R)``), ``r2`` its slave
range, ``r2_ref`` that of the reference-surface point (the flat earth the
interferogram removed). ``F`` is smooth and nearly linear in ``h``
(``dF/dh = lambda / (2 h_amb)``), so the secant from ``h_ref`` and
``h_ref + 100 m`` converges in a few steps (Rodriguez & Martin 1992, sec. II;
the same three-surface intersection as the kernel).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from peppers.geometry.scene_geometry import scene_geo2rdr, scene_rdr2geo
from peppers.operators._height_kernels import NO_CONVERGENCE, NO_PHASE, NO_REFERENCE, OK

__all__ = ["needs_scene_geometry", "scene_phase_to_height"]


def needs_scene_geometry(*scenes: Any) -> bool:
    """True when a scene declares a time offset or a native-Doppler geometry."""
    return any(s.azimuth_time_offset is not None or s.doppler_geometry == "native-doppler"
               for s in scenes)


def scene_phase_to_height(master: Any, slave: Any, t_row: np.ndarray, range_m: np.ndarray,
                          phase: np.ndarray, *, reference_height_m: float, fill_height_m: float,
                          m_orbit: Any, s_orbit: Any, tol_m: float = 1e-7,
                          max_iter: int = 30) -> tuple[np.ndarray, ...]:
    """Height, latitude, longitude and status of pixels from their absolute phase.

    Parameters
    ----------
    master, slave : Scene
    t_row, range_m : ndarray
        Master row times (s since ``first_line_utc``) and slant ranges (m),
        broadcast with ``phase``.
    phase : ndarray
        Absolute flattened phase, radians (NaN: no phase).
    reference_height_m, fill_height_m : float
        The flat-earth reference surface; the height at which pixels without
        phase are located.
    m_orbit, s_orbit : Orbit
        The scenes' orbits (``scene.orbit(nodes)``).
    tol_m : float
        Stop when ``|F(h)|`` (slave range, m) is below this.
    max_iter : int
        Secant steps at most.

    Returns
    -------
    h (float32), lat, lon (float64 degrees), status (int8)
        As :func:`peppers.operators._height_kernels.phase_to_height`.
    """
    phase = np.asarray(phase, dtype=np.float64)
    tt, rr, phase = np.broadcast_arrays(np.asarray(t_row, np.float64),
                                        np.asarray(range_m, np.float64), phase)
    shape = phase.shape
    h_out = np.full(shape, np.nan)
    lat = np.full(shape, np.nan)
    lon = np.full(shape, np.nan)
    status = np.full(shape, NO_REFERENCE, np.int8)

    def ground(h, mask):
        return scene_rdr2geo(master, tt[mask], rr[mask], h, orbit=m_orbit, on_failure="nan")

    def slave_range(xyz):
        return scene_geo2rdr(slave, xyz, orbit=s_orbit, on_failure="nan")[1]

    nophase = ~np.isfinite(phase)
    if nophase.any():
        _, llh = ground(float(fill_height_m), nophase)
        lat[nophase], lon[nophase] = llh[:, 0], llh[:, 1]
        status[nophase] = NO_PHASE
    todo = ~nophase
    if not todo.any():
        return h_out.astype(np.float32), lat, lon, status
    ref, _ = ground(float(reference_height_m), todo)
    target = slave_range(ref) + master.wavelength_m * phase[todo] / (4.0 * math.pi)
    idx = np.flatnonzero(todo.ravel())
    ok = np.isfinite(target)
    idx, target = idx[ok], target[ok]
    flat = (tt.ravel(), rr.ravel())

    def f(h, sel):
        xyz, llh = scene_rdr2geo(master, flat[0][sel], flat[1][sel], h, orbit=m_orbit,
                                 on_failure="nan")
        return slave_range(xyz) - target_of[sel], llh

    target_of = np.full(phase.size, np.nan)
    target_of[idx] = target
    h0 = np.full(idx.size, float(reference_height_m))
    h1 = h0 + 100.0
    f0, _ = f(h0, idx)
    f1, llh = f(h1, idx)
    done_h = np.full(idx.size, np.nan)
    done_llh = np.full((idx.size, 3), np.nan)
    active = np.isfinite(f0) & np.isfinite(f1)
    for _ in range(int(max_iter)):
        conv = active & (np.abs(f1) < tol_m)
        done_h[conv], done_llh[conv] = h1[conv], llh[conv]
        active &= ~conv
        if not active.any():
            break
        a = np.flatnonzero(active)
        denom = f1[a] - f0[a]
        step = np.where(denom != 0.0, f1[a] * (h1[a] - h0[a]) / np.where(denom != 0.0, denom, 1.0),
                        np.nan)
        h0[a], f0[a] = h1[a], f1[a]
        h1[a] = h1[a] - step
        f1[a], llh[a] = f(h1[a], idx[a])
        active[a] &= np.isfinite(f1[a])
    good = np.isfinite(done_h)
    fl_h, fl_lat, fl_lon, fl_st = (h_out.reshape(-1), lat.reshape(-1), lon.reshape(-1),
                                   status.reshape(-1))
    fl_st[idx] = NO_CONVERGENCE
    fl_st[idx[good]] = OK
    fl_h[idx[good]] = done_h[good]
    fl_lat[idx[good]] = done_llh[good, 0]
    fl_lon[idx[good]] = done_llh[good, 1]
    return h_out.astype(np.float32), lat, lon, status
