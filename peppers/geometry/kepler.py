"""Analytic two-body (Keplerian) orbits, exact in an inertial frame, seen from ECEF.

The scene simulator and the tests need orbits whose true position and
velocity are known at every instant, to generate consistent state vectors and
to measure interpolation and geometry errors against exact values.

Frames. The inertial frame is Earth-centred with its z axis on the Earth's
rotation axis; the ECEF frame turns about z at ``OMEGA_EARTH`` and coincides
with the inertial frame, rotated by ``earth_angle0_deg``, at the epoch:

    r_ecef = R3(theta(t)) r_inertial,    theta(t) = theta0 + omega_E t
    v_ecef = R3(theta(t)) v_inertial - omega x r_ecef

so ECEF velocities are the exact time derivatives of ECEF positions.
No perturbations (J2, drag): the orbit is an exact conic.

References: Vallado, "Fundamentals of Astrodynamics and Applications",
4th ed., algorithms 2 (Kepler's equation by Newton) and 10 (COE2RV);
Curtis, "Orbital Mechanics for Engineering Students", sec. 4.6.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import ArrayLike

from peppers.errors import GeometryError
from peppers.geometry.ellipsoid import GM_EARTH, OMEGA_EARTH, WGS84_A
from peppers.geometry.orbit import Orbit


def solve_kepler(mean_anomaly: ArrayLike, e: float, tol: float = 1e-15,
                 max_iter: int = 30) -> np.ndarray:
    """Eccentric anomaly E from M = E - e sin E, by Newton's method.

    Parameters
    ----------
    mean_anomaly : array_like
        Mean anomaly, radians (any value; reduced to (-pi, pi]).
    e : float
        Eccentricity, 0 <= e < 1.
    tol, max_iter : float, int
        Stop when every |dE| < tol (radians), at most ``max_iter`` steps.

    Returns
    -------
    ndarray
        Eccentric anomaly, radians, in the same branch as the reduced M.

    Raises
    ------
    GeometryError
        If Newton's method does not converge (it always does for e < 1).
    """
    m = np.remainder(np.asarray(mean_anomaly, dtype=np.float64) + np.pi, 2 * np.pi) - np.pi
    ecc = np.where(m >= 0, np.pi, -np.pi) if e > 0.8 else m
    ecc = np.array(ecc, dtype=np.float64)
    for _ in range(max_iter):
        step = (ecc - e * np.sin(ecc) - m) / (1.0 - e * np.cos(ecc))
        ecc = ecc - step
        if np.all(np.abs(step) < tol):
            return ecc
    if np.all(np.abs(step) < 1e3 * tol):  # limit cycle of one ulp
        return ecc
    raise GeometryError(f"solve_kepler: no convergence for e={e!r} (last |dE|={np.abs(step).max():.3g})")


def _rot3(angle) -> np.ndarray:
    """Frame rotation about z by ``angle`` (radians): (..., 3, 3)."""
    c, s = np.cos(angle), np.sin(angle)
    z, o = np.zeros_like(c), np.ones_like(c)
    return np.stack([np.stack([c, s, z], -1), np.stack([-s, c, z], -1),
                     np.stack([z, z, o], -1)], -2)


@dataclass(frozen=True)
class KeplerOrbit:
    """A Keplerian orbit by its classical elements at an epoch.

    Parameters
    ----------
    epoch : datetime
        Timezone-aware UTC instant of ``t = 0``.
    semi_major_axis_m : float
        a, metres.
    eccentricity : float
        e, 0 <= e < 1.
    inclination_deg, raan_deg, arg_perigee_deg, mean_anomaly_deg : float
        i, right ascension of the ascending node, argument of perigee, and
        mean anomaly at the epoch, degrees (inertial frame).
    earth_angle0_deg : float, optional
        Angle from the inertial x axis to the ECEF x axis at the epoch.
    gm : float, optional
        Gravitational parameter, m^3/s^2 (WGS84 GM by default).
    """

    epoch: datetime
    semi_major_axis_m: float
    eccentricity: float
    inclination_deg: float
    raan_deg: float
    arg_perigee_deg: float
    mean_anomaly_deg: float
    earth_angle0_deg: float = 0.0
    gm: float = GM_EARTH

    def __post_init__(self):
        if not 0.0 <= self.eccentricity < 1.0:
            raise GeometryError(f"KeplerOrbit: eccentricity must be in [0, 1), "
                                f"got {self.eccentricity!r}")
        perigee = self.semi_major_axis_m * (1 - self.eccentricity)
        if perigee <= WGS84_A * 0.5:
            raise GeometryError(f"KeplerOrbit: perigee radius {perigee!r} m is inside the Earth")
        if self.epoch.tzinfo is None:
            raise GeometryError(f"KeplerOrbit: epoch must be timezone-aware UTC, got {self.epoch!r}")

    @classmethod
    def circular_over(cls, epoch: datetime, lat_deg: float, lon_deg: float, *,
                      altitude_m: float = 700e3, inclination_deg: float = 98.0,
                      ascending: bool = True) -> "KeplerOrbit":
        """A circular orbit whose sub-satellite point at the epoch is (lat, lon).

        ``lat_deg`` is geocentric here (within 0.2 deg of geodetic), and must
        satisfy |lat| <= min(i, 180 - i). ``ascending`` chooses the northbound
        or southbound pass. The semi-major axis is ``WGS84_A + altitude_m``.
        """
        inc = np.radians(inclination_deg)
        lat = np.radians(lat_deg)
        sin_u = np.sin(lat) / np.sin(inc)
        if abs(sin_u) > 1.0:
            raise GeometryError(f"KeplerOrbit.circular_over: latitude {lat_deg} is not reached "
                                f"by inclination {inclination_deg}")
        u = np.arcsin(sin_u) if ascending else np.pi - np.arcsin(sin_u)
        # longitude of the point in the orbit plane, measured from the node
        dlon = np.arctan2(np.cos(inc) * np.sin(u), np.cos(u))
        raan = np.radians(lon_deg) - dlon  # with earth_angle0 = 0: inertial == ECEF at t=0
        return cls(epoch, WGS84_A + altitude_m, 0.0, float(inclination_deg),
                   float(np.degrees(raan)), 0.0, float(np.degrees(u)))

    @property
    def mean_motion(self) -> float:
        """n = sqrt(GM / a^3), rad/s."""
        return float(np.sqrt(self.gm / self.semi_major_axis_m ** 3))

    @property
    def period_s(self) -> float:
        """Orbital period 2*pi/n, seconds."""
        return 2 * np.pi / self.mean_motion

    def inertial(self, t_s: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """Exact inertial position and velocity at ``t_s`` seconds after the epoch.

        Returns
        -------
        pos, vel : ndarray of shape ``np.shape(t_s) + (3,)``
        """
        t = np.asarray(t_s, dtype=np.float64)
        a, e = self.semi_major_axis_m, self.eccentricity
        n = self.mean_motion
        ecc = solve_kepler(np.radians(self.mean_anomaly_deg) + n * t, e)
        ce, se = np.cos(ecc), np.sin(ecc)
        root = np.sqrt(1.0 - e * e)
        denom = 1.0 - e * ce
        r_pf = np.stack([a * (ce - e), a * root * se, np.zeros_like(ce)], -1)
        v_pf = np.stack([-a * n * se / denom, a * n * root * ce / denom, np.zeros_like(ce)], -1)
        rot = self._perifocal_to_inertial()
        return r_pf @ rot.T, v_pf @ rot.T

    def _perifocal_to_inertial(self) -> np.ndarray:
        o, i, w = np.radians([self.raan_deg, self.inclination_deg, self.arg_perigee_deg])
        co, so, ci, si, cw, sw = np.cos(o), np.sin(o), np.cos(i), np.sin(i), np.cos(w), np.sin(w)
        return np.array([
            [co * cw - so * sw * ci, -co * sw - so * cw * ci, so * si],
            [so * cw + co * sw * ci, -so * sw + co * cw * ci, -co * si],
            [sw * si, cw * si, ci]])

    def earth_angle(self, t_s: ArrayLike) -> np.ndarray:
        """Rotation angle of ECEF relative to the inertial frame, radians."""
        return np.radians(self.earth_angle0_deg) + OMEGA_EARTH * np.asarray(t_s, dtype=np.float64)

    def ecef(self, t_s: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """Exact ECEF position and velocity (``v = R v_i - omega x r``).

        Returns
        -------
        pos, vel : ndarray of shape ``np.shape(t_s) + (3,)``
        """
        r_i, v_i = self.inertial(t_s)
        rot = _rot3(self.earth_angle(t_s))
        r = np.einsum("...ij,...j->...i", rot, r_i)
        v = np.einsum("...ij,...j->...i", rot, v_i)
        v = v - np.cross([0.0, 0.0, OMEGA_EARTH], r)
        return r, v

    def state_vectors(self, t0_s: float, dt_s: float,
                      n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """ECEF state vectors at ``t0_s + k*dt_s``, k = 0..n-1.

        Returns
        -------
        times, pos, vel : ndarray of shapes (n,), (n, 3), (n, 3)
        """
        if n < 1 or dt_s <= 0:
            raise GeometryError(f"state_vectors: need n >= 1 and dt_s > 0, got n={n}, dt_s={dt_s}")
        times = t0_s + dt_s * np.arange(n, dtype=np.float64)
        pos, vel = self.ecef(times)
        return times, pos, vel

    def to_orbit(self, t0_s: float, dt_s: float, n: int, *, nodes: int = 4) -> Orbit:
        """An interpolated :class:`Orbit` from ``n`` state vectors (epoch shared)."""
        return Orbit(self.epoch, *self.state_vectors(t0_s, dt_s, n), nodes=nodes)
