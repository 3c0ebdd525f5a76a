"""DEM refinement: the reference DEM's height plus the interferometric residual, exactly.

With a reference DEM the interferogram has had the DEM's topographic phase
removed (the differential interferogram of ``operators/differential.py``). Its
unwrapped phase ``phi_res`` is, per pixel, the phase of the true surface
relative to the DEM surface (the simulator's sign convention
``arg(m s*) = 4 pi (r2 - r1) / lambda``)::

    phi_res = 4 pi / lambda (r2(P_true) - r2(P_dem)) + c

``c`` is one unknown constant (whole cycles plus the unwrapper's offset).
Instead of linearising (``dh = phi_res / (dphi/dh)``, the height of
ambiguity), the residual is put back on the flattened phase the exact
range-sphere solution of :class:`peppers.operators.height.PhaseToHeight`
expects::

    phi_abs = phi_res + 4 pi / lambda (r2(P_dem) - r2(P_ref))

with ``P_dem`` the master range-circle point at the DEM height (``rdr2geo``)
and ``P_ref`` the flat-earth reference point at ``reference_height_m``, each
projected into the slave with ``geo2rdr`` (ISCE2 topo/geo2rdr). The solution
is then exact at any residual, not only in the linear regime.

The constant ``c``: DEM errors are zero-mean (SRTM-like random error), so the
median residual height over coherent ground is ~0; :func:`median_constant`
takes the constant that makes the median residual phase zero (a GCP-fixed
constant may be given instead). Where the DEM is void (NaN) the DEM's point is
missing, so the residual has no reference: those pixels stay NaN here (void
filling is not done by this module).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from peppers.geometry.zero_doppler import geo2rdr, rdr2geo


def median_constant(residual_phase: np.ndarray, valid: np.ndarray | None = None) -> float:
    """Constant that makes the median residual phase over ``valid`` finite pixels zero.

    DEM errors being zero-mean, the residual height's median over coherent
    ground is ~0; the median (not the mean) keeps unwrapping errors out.
    """
    ok = np.isfinite(residual_phase)
    if valid is not None:
        ok &= valid
    if not ok.any():
        raise ValueError("median_constant: no finite residual phase on valid ground")
    return float(np.median(residual_phase[ok]))


def dem_phase(master: Any, slave: Any, t_s: np.ndarray, range_m: np.ndarray,
              dem_height: np.ndarray, reference_height_m: float = 0.0) -> np.ndarray:
    """Flattened phase of the DEM surface, ``4 pi/lambda (r2(P_dem) - r2(P_ref))`` (rad).

    ``t_s`` and ``range_m`` broadcast against ``dem_height`` (master zero-Doppler
    time and slant range of each pixel); NaN where the DEM is void.
    """
    t_s, range_m, h = np.broadcast_arrays(np.asarray(t_s, float), np.asarray(range_m, float),
                                          np.asarray(dem_height, float))
    out = np.full(h.shape, np.nan)
    ok = np.isfinite(h)
    if not ok.any():
        return out
    m_orbit, s_orbit = master.orbit(), slave.orbit()
    xyz, _ = rdr2geo(t_s[ok], range_m[ok], m_orbit, master.look_side, h[ok])
    _, r2 = geo2rdr(xyz, s_orbit)
    ref, _ = rdr2geo(t_s[ok], range_m[ok], m_orbit, master.look_side, reference_height_m)
    _, r2_ref = geo2rdr(ref, s_orbit)
    out[ok] = 4.0 * np.pi / master.wavelength_m * (r2 - r2_ref)
    return out


def absolute_from_residual(residual_phase: np.ndarray, constant: float,
                           dem_phase_rad: np.ndarray) -> np.ndarray:
    """Flattened absolute phase for ``PhaseToHeight``: ``phi_res - c + phi_dem``."""
    return (np.asarray(residual_phase, float) - constant) + dem_phase_rad
