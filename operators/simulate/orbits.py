"""The pair's orbits: a master that sees the scene centre at the asked look angle,
a slave displaced by the asked baseline, and the baseline measured back.

Master. A circular Keplerian orbit (:class:`peppers.geometry.kepler.KeplerOrbit`,
exact in the inertial frame, rotated into ECEF with the Earth's rotation) whose
epoch is the scene-centre instant, with the inertial and ECEF frames aligned
then. Its right ascension of the ascending node and mean anomaly are solved
(Newton, finite-difference Jacobian) so that at the epoch the scene centre C
is at zero Doppler, ``(C - S) . V = 0`` with the ECEF velocity, and at the
signed off-nadir look angle ``atan2((C-S).c, (C-S).n) = theta`` where
``n = -S/|S|`` (geocentric nadir) and ``c = side * (n x V/|V|)`` (right of
the velocity for ``side = +1``).

Slave. At the epoch its antenna is at ``S + b`` with
``b = bperp p + bpar l + along v``: ``l`` the unit line of sight from S to C,
``v`` the unit ECEF velocity, ``p = dl/dtheta`` the unit vector of increasing
look angle (perpendicular to ``l`` in the zero-Doppler plane, pointing up).
It is the circular orbit through ``S + b`` whose inertial velocity is the
master's made perpendicular to the new radius and scaled to circular speed,
so the two orbits stay nearly parallel over the scene and both are exact
two-body orbits (the small difference in radius gives a real, slowly varying
along-track drift).

Measurement. :func:`measure_baseline` finds, for ground points, the
zero-Doppler times and ranges on both orbits (:func:`geo2rdr`) and reports
the baseline components at those times, the look and incidence angles, the
phase-to-height sensitivity ``dphi/dh`` (finite difference of the exact
geometry, ``phi = 4 pi (r2 - r1) / lambda``) and the height of ambiguity.

References
----------
D. A. Vallado (2013), *Fundamentals of Astrodynamics and Applications*, 4th
ed., algorithm 9 (RV2COE, circular inclined case: argument of latitude).
R. F. Hanssen (2001), *Radar Interferometry*, sec. 2.4 (baseline
decomposition into parallel and perpendicular components).
"""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np

from peppers.errors import SimulationError
from peppers.geometry.ellipsoid import (GM_EARTH, OMEGA_EARTH, WGS84_A, ecef_to_llh,
                                        incidence_angle_deg)
from peppers.geometry.kepler import KeplerOrbit
from peppers.geometry.orbit import Orbit
from peppers.geometry.zero_doppler import geo2rdr, look_sign, rdr2geo

__all__ = ["design_master_orbit", "displace_orbit", "measure_baseline", "look_frame"]


def look_frame(sat_pos: np.ndarray, sat_vel: np.ndarray, target: np.ndarray,
               side: int) -> dict[str, np.ndarray]:
    """Unit vectors of the radar geometry at one instant (ECEF).

    Parameters
    ----------
    sat_pos, sat_vel : ndarray of shape (..., 3)
        Antenna position and ECEF velocity.
    target : ndarray of shape (..., 3)
        Ground point.
    side : int
        +1 right-looking, -1 left-looking.

    Returns
    -------
    dict
        ``nadir``, ``cross`` (horizontal, towards the look side), ``los``
        (unit antenna-to-target), ``perp`` (unit of increasing look angle),
        ``along`` (unit velocity); and ``look_angle`` (signed, radians).
    """
    along = sat_vel / np.linalg.norm(sat_vel, axis=-1, keepdims=True)
    nadir = -sat_pos / np.linalg.norm(sat_pos, axis=-1, keepdims=True)
    cross = side * np.cross(nadir, along)
    cross /= np.linalg.norm(cross, axis=-1, keepdims=True)
    los = target - sat_pos
    los = los / np.linalg.norm(los, axis=-1, keepdims=True)
    perp = np.cross(along, los)
    perp /= np.linalg.norm(perp, axis=-1, keepdims=True)
    perp *= np.sign(np.sum(perp * -nadir, axis=-1, keepdims=True))
    look = np.arctan2(np.sum(los * cross, axis=-1), np.sum(los * nadir, axis=-1))
    return {"nadir": nadir, "cross": cross, "los": los, "perp": perp, "along": along,
            "look_angle": look}


def _residuals(orbit: KeplerOrbit, target: np.ndarray, side: int, look_rad: float) -> np.ndarray:
    pos, vel = orbit.ecef(0.0)
    frame = look_frame(pos, vel, target, side)
    return np.array([float(np.dot(frame["los"], frame["along"])),
                     float(frame["look_angle"]) - look_rad])


def design_master_orbit(epoch: datetime, target_xyz: np.ndarray, target_lat_deg: float,
                        target_lon_deg: float, *, look_side: str, look_angle_deg: float,
                        altitude_m: float, inclination_deg: float,
                        ascending: bool) -> KeplerOrbit:
    """The circular orbit that images ``target_xyz`` at ``epoch`` at the look angle.

    Parameters
    ----------
    epoch : datetime
        Tz-aware UTC instant of the scene centre (the orbit's epoch).
    target_xyz : ndarray of shape (3,)
        ECEF scene centre.
    target_lat_deg, target_lon_deg : float
        Its geodetic position (the starting guess).
    look_side : {"right", "left"}
    look_angle_deg, altitude_m, inclination_deg : float
    ascending : bool
        Northbound or southbound pass.

    Returns
    -------
    KeplerOrbit
        With ``earth_angle0_deg = 0`` (inertial == ECEF at the epoch).

    Raises
    ------
    SimulationError
        If Newton's method does not converge.
    """
    side = look_sign(look_side)
    target = np.asarray(target_xyz, dtype=np.float64)
    guess = KeplerOrbit.circular_over(epoch, target_lat_deg, target_lon_deg,
                                      altitude_m=altitude_m, inclination_deg=inclination_deg,
                                      ascending=ascending)
    x = np.array([guess.raan_deg, guess.mean_anomaly_deg])
    look = math.radians(look_angle_deg)

    def orbit_of(v: np.ndarray) -> KeplerOrbit:
        return KeplerOrbit(epoch, WGS84_A + altitude_m, 0.0, inclination_deg,
                           float(v[0]), 0.0, float(v[1]))

    for _ in range(50):
        f = _residuals(orbit_of(x), target, side, look)
        if np.max(np.abs(f)) < 1e-13:
            return orbit_of(x)
        jac = np.empty((2, 2))
        for k in range(2):
            dx = np.zeros(2)
            dx[k] = 1e-6
            jac[:, k] = (_residuals(orbit_of(x + dx), target, side, look) - f) / 1e-6
        step = np.linalg.solve(jac, -f)
        x = x + np.clip(step, -5.0, 5.0)
    raise SimulationError(f"simulate: no orbit found that sees ({target_lat_deg}, "
                          f"{target_lon_deg}) at look angle {look_angle_deg} deg "
                          f"(residual {np.abs(f).max():.3g})")


def circular_orbit_through(epoch: datetime, pos: np.ndarray, vel: np.ndarray,
                           gm: float = GM_EARTH) -> KeplerOrbit:
    """The circular orbit through inertial ``pos`` moving nearly along ``vel``.

    ``vel`` is made perpendicular to ``pos`` and scaled to the circular speed
    ``sqrt(gm/|pos|)``; the elements follow Vallado's RV2COE for the
    circular inclined case (argument of latitude as mean anomaly).
    """
    radius = float(np.linalg.norm(pos))
    v = vel - np.dot(vel, pos) / radius ** 2 * pos
    v *= math.sqrt(gm / radius) / np.linalg.norm(v)
    h = np.cross(pos, v)
    h /= np.linalg.norm(h)
    inc = math.acos(max(-1.0, min(1.0, h[2])))
    raan = math.atan2(h[0], -h[1])
    node = np.array([math.cos(raan), math.sin(raan), 0.0])
    u = math.atan2(float(np.dot(pos, np.cross(h, node))), float(np.dot(pos, node)))
    return KeplerOrbit(epoch, radius, 0.0, math.degrees(inc), math.degrees(raan), 0.0,
                       math.degrees(u), gm=gm)


def displace_orbit(master: KeplerOrbit, target_xyz: np.ndarray, *, look_side: str,
                   bperp_m: float, bpar_m: float, along_track_m: float) -> KeplerOrbit:
    """The slave orbit: the master's antenna at the epoch moved by the baseline.

    Parameters
    ----------
    master : KeplerOrbit
        From :func:`design_master_orbit` (inertial == ECEF at its epoch).
    target_xyz : ndarray of shape (3,)
        The scene centre the baseline is defined at.
    look_side : {"right", "left"}
    bperp_m, bpar_m, along_track_m : float
        Baseline components (module docstring; signs in ``config``).

    Returns
    -------
    KeplerOrbit
        Circular, same epoch, ``earth_angle0_deg = 0``.
    """
    pos, vel = master.ecef(0.0)
    frame = look_frame(pos, vel, np.asarray(target_xyz, dtype=np.float64), look_sign(look_side))
    shift = bperp_m * frame["perp"] + bpar_m * frame["los"] + along_track_m * frame["along"]
    vel_inertial = vel + np.cross([0.0, 0.0, OMEGA_EARTH], pos)
    return circular_orbit_through(master.epoch, pos + shift, vel_inertial, master.gm)


def measure_baseline(xyz: np.ndarray, master: Orbit, slave: Orbit, *, look_side: str,
                     wavelength_m: float) -> dict[str, np.ndarray]:
    """Baseline and interferometric sensitivity at ground points.

    Parameters
    ----------
    xyz : ndarray of shape (n, 3)
        ECEF ground points.
    master, slave : Orbit
        Interpolated orbits on the same epoch.
    look_side : {"right", "left"}
    wavelength_m : float

    Returns
    -------
    dict of ndarray of shape (n,)
        ``bperp_m``, ``bpar_m`` (baseline at the two zero-Doppler times,
        components along ``perp`` and ``los`` of the master), ``along_track_m``
        (``|V1| (t1 - t2)``: positive when the slave passes first),
        ``look_angle_deg``, ``incidence_deg`` (on the ellipsoid),
        ``range_m`` (master), ``dphi_dh_rad_per_m`` and
        ``height_of_ambiguity_m`` (``2 pi / |dphi/dh|``).
    """
    side = look_sign(look_side)
    t1, r1 = geo2rdr(xyz, master)
    t2, r2 = geo2rdr(xyz, slave, t_guess=t1)
    s1, v1 = master.interpolate(t1)
    s2, _ = slave.interpolate(t2)
    frame = look_frame(s1, v1, xyz, side)
    base = s2 - s1
    inc = incidence_angle_deg(xyz, s1)
    # exact phase sensitivity: the point 1 m higher at the same master (t, r)
    llh_hi = rdr2geo(t1, r1, master, look_side,
                     height=ecef_to_llh(xyz)[..., 2] + 1.0)[0]
    t2h, r2h = geo2rdr(llh_hi, slave, t_guess=t2)
    dphi = 4 * np.pi / wavelength_m * ((r2h - r1) - (r2 - r1))
    with np.errstate(divide="ignore"):
        ambiguity = np.where(dphi != 0, 2 * np.pi / np.abs(dphi), np.inf)
    return {"bperp_m": np.sum(base * frame["perp"], axis=-1),
            "bpar_m": np.sum(base * frame["los"], axis=-1),
            "along_track_m": np.linalg.norm(v1, axis=-1) * (t1 - t2),
            "look_angle_deg": np.degrees(np.abs(frame["look_angle"])),
            "incidence_deg": inc, "range_m": r1,
            "dphi_dh_rad_per_m": dphi, "height_of_ambiguity_m": ambiguity}
