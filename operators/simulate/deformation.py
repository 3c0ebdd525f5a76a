"""Ground deformation between the two passes: Mogi and Okada sources in a half-space.

The slave acquisition sees every ground point moved by the displacement
``u`` of an elastic source buried in a homogeneous, isotropic, elastic
half-space. The surface of the half-space is the tangent plane of the WGS84
ellipsoid at the source's epicentre (``lat_deg, lon_deg`` at height
``surface_height_m``); positions are measured there in local east-north
coordinates (the projection of each ground point on that frame), and the
displacement, given in the same east-north-up frame, is turned into an ECEF
vector added to the ground point for the slave geometry (:func:`ecef_displacement`).

Mogi point source (Mogi 1958), a spherical pressure source of volume change
``dV`` at depth ``d``, Poisson's ratio ``nu``:

    u = (1 - nu) dV / pi * (x, y, d) / R^3,   R^2 = x^2 + y^2 + d^2

(east, north, up; Segall 2010 eq. 7.14), so the uplift above the source is
``(1 - nu) dV / (pi d^2)``.

Okada rectangular dislocation (Okada 1985): a rectangular fault of length
``L`` (along strike) and width ``W`` (down dip), top-centre at depth
``d_top`` below the epicentre, strike ``phi`` clockwise from north, dip
``delta``, uniform slip ``U1`` (strike-slip, left-lateral positive),
``U2`` (dip-slip, thrust positive) and ``U3`` (tensile opening). The
surface displacement is Okada's closed-form expression (eqs. 25-30 with
the I-terms of eq. 28), evaluated with Chinnery's notation ``f(xi, eta)||``
over the four corners.

Both sources are written as ``deformation`` in ``truth.yaml``.

References
----------
K. Mogi (1958), "Relations between the eruptions of various volcanoes and
the deformations of the ground surfaces around them", Bull. Earthq. Res.
Inst. Univ. Tokyo 36:99-134.
Y. Okada (1985), "Surface deformation due to shear and tensile faults in a
half-space", Bull. Seism. Soc. Am. 75(4):1135-1154.
P. Segall (2010), *Earthquake and Volcano Deformation*, Princeton, ch. 7.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from peppers.errors import SimulationError
from peppers.geometry.ellipsoid import enu_basis, llh_to_ecef

__all__ = ["MogiSource", "OkadaSource", "ecef_displacement", "local_east_north",
           "okada_surface_okada_frame"]


@dataclass(frozen=True)
class MogiSource:
    """A Mogi point pressure source (module docstring).

    Parameters
    ----------
    lat_deg, lon_deg : float
        Epicentre.
    depth_m : float
        Depth of the source below the half-space surface (> 0).
    volume_change_m3 : float
        ``dV``; positive inflates (uplift).
    poisson : float
        Poisson's ratio ``nu`` (0.25 for a Poisson solid).
    """

    lat_deg: float
    lon_deg: float
    depth_m: float
    volume_change_m3: float
    poisson: float = 0.25

    def __post_init__(self) -> None:
        if not self.depth_m > 0:
            raise SimulationError(f"simulate: Mogi depth {self.depth_m} m must be positive")
        if not 0.0 <= self.poisson < 0.5:
            raise SimulationError(f"simulate: Poisson ratio {self.poisson} must be in [0, 0.5)")

    def enu(self, east: np.ndarray, north: np.ndarray) -> np.ndarray:
        """Surface displacement (east, north, up), metres, at local positions.

        Examples
        --------
        >>> src = MogiSource(0.0, 0.0, depth_m=1000.0, volume_change_m3=1e6)
        >>> u = src.enu(np.array([0.0]), np.array([0.0]))
        >>> round(float(u[0, 2]), 6) == round(0.75 * 1e6 / (math.pi * 1e6), 6)
        True
        """
        x, y = np.asarray(east, dtype=np.float64), np.asarray(north, dtype=np.float64)
        d = self.depth_m
        r3 = (x * x + y * y + d * d) ** 1.5
        c = (1.0 - self.poisson) * self.volume_change_m3 / math.pi
        return np.stack([c * x / r3, c * y / r3, c * d / r3 * np.ones_like(x)], axis=-1)

    def describe(self) -> dict:
        return {"model": "mogi", **asdict(self),
                "peak_uplift_m": (1.0 - self.poisson) * self.volume_change_m3
                / (math.pi * self.depth_m ** 2)}


@dataclass(frozen=True)
class OkadaSource:
    """A rectangular dislocation (Okada 1985), module docstring for the geometry.

    Parameters
    ----------
    lat_deg, lon_deg : float
        Epicentre of the fault's top-edge centre.
    depth_m : float
        Depth of the top edge (>= 0; the fault must not cut the surface
        exactly at ``depth_m = 0`` with zero dip).
    length_m, width_m : float
        Along strike and down dip.
    strike_deg, dip_deg : float
        Strike clockwise from north; dip in (0, 90].
    strike_slip_m, dip_slip_m, opening_m : float
        ``U1``, ``U2``, ``U3``.
    poisson : float
    """

    lat_deg: float
    lon_deg: float
    depth_m: float
    length_m: float
    width_m: float
    strike_deg: float
    dip_deg: float
    strike_slip_m: float = 0.0
    dip_slip_m: float = 0.0
    opening_m: float = 0.0
    poisson: float = 0.25

    def __post_init__(self) -> None:
        if not (self.length_m > 0 and self.width_m > 0 and self.depth_m >= 0):
            raise SimulationError("simulate: Okada fault needs length, width > 0 and depth >= 0")
        if not 0.0 < self.dip_deg <= 90.0:
            raise SimulationError(f"simulate: Okada dip {self.dip_deg} must be in (0, 90]")
        if self.depth_m + self.width_m * math.sin(math.radians(self.dip_deg)) <= 0:
            raise SimulationError("simulate: the Okada fault lies above the surface")

    def enu(self, east: np.ndarray, north: np.ndarray) -> np.ndarray:
        """Surface displacement (east, north, up), metres, at local positions."""
        return _okada_surface(np.asarray(east, dtype=np.float64),
                              np.asarray(north, dtype=np.float64), self)

    def describe(self) -> dict:
        return {"model": "okada", **asdict(self)}


def _okada_surface(e: np.ndarray, n: np.ndarray, src: OkadaSource) -> np.ndarray:
    """East-north-up displacement of ``src`` from its top-edge-centre frame.

    Okada's frame has x along strike, y to its left, z up, and its origin
    above the start of the fault's *bottom* edge; the fault dips towards -y
    (to the right of strike, the Aki-Richards convention). From the
    top-edge centre that origin is ``L/2`` back along strike and
    ``W cos(dip)`` towards -y, at depth ``depth + W sin(dip)``.
    """
    strike = math.radians(src.strike_deg)
    delta = math.radians(src.dip_deg)
    ss, cs = math.sin(strike), math.cos(strike)
    along = e * ss + n * cs                          # x: along strike
    left = -e * cs + n * ss                          # y: left of strike
    ux, uy, uz = okada_surface_okada_frame(
        along + 0.5 * src.length_m, left + src.width_m * math.cos(delta),
        src.depth_m + src.width_m * math.sin(delta), src.dip_deg, src.length_m,
        src.width_m, src.strike_slip_m, src.dip_slip_m, src.opening_m, src.poisson)
    east = ux * ss - uy * cs
    north = ux * cs + uy * ss
    return np.stack([east, north, uz], axis=-1)


def okada_surface_okada_frame(x, y, depth_m: float, dip_deg: float, length_m: float,
                              width_m: float, u1: float, u2: float, u3: float,
                              poisson: float = 0.25):
    """Okada (1985) eqs. 25-30: surface displacement in Okada's own frame.

    Parameters
    ----------
    x, y : array_like
        Surface positions; x along strike, y to its left, origin above the
        start of the bottom edge.
    depth_m : float
        ``d``, depth of the bottom edge.
    dip_deg, length_m, width_m : float
    u1, u2, u3 : float
        Strike-slip, dip-slip and tensile dislocation.
    poisson : float

    Returns
    -------
    ux, uy, uz : ndarray
        Displacement along x, y and up.

    Examples
    --------
    Okada (1985) Table 2, case 2 (x=2, y=3, d=4, dip 70, L=3, W=2), strike slip:

    >>> [round(float(v), 6) for v in okada_surface_okada_frame(2.0, 3.0, 4.0, 70.0, 3.0, 2.0,
    ...                                                         1.0, 0.0, 0.0)]
    [-0.008689, -0.004298, -0.002747]
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    delta = math.radians(dip_deg)
    sd, cd = math.sin(delta), math.cos(delta)
    if abs(cd) < 1e-12:
        cd, sd = 0.0, (1.0 if sd > 0 else -1.0)
    p = y * cd + depth_m * sd
    q = y * sd - depth_m * cd
    out = [np.zeros(np.broadcast(x, y).shape) for _ in range(3)]
    for xi, eta, sign in ((x, p, 1.0), (x, p - width_m, -1.0), (x - length_m, p, -1.0),
                          (x - length_m, p - width_m, 1.0)):
        for k, f in enumerate(_chinnery(xi, eta, q, sd, cd, 1.0 - 2.0 * poisson,
                                        u1, u2, u3)):
            out[k] = out[k] + sign * f
    return tuple(v / (2.0 * math.pi) for v in out)


def _chinnery(xi, eta, q, sd, cd, mu_ratio, u1, u2, u3):
    """One corner of Okada's ``f(xi, eta)||``, already signed per mode (eqs. 25-28).

    ``mu_ratio`` is mu / (lambda + mu) = 1 - 2 nu.
    """
    r = np.sqrt(xi * xi + eta * eta + q * q)
    yt = eta * cd + q * sd
    dt = eta * sd - q * cd
    with np.errstate(divide="ignore", invalid="ignore"):
        # ln(R + eta) with its singular limit taken as -ln(R - eta) (Okada 1985, p. 1144)
        log_re = np.where(r + eta > 1e-12 * np.maximum(r, 1.0),
                          np.log(np.abs(r + eta) + (r + eta == 0)), -np.log(r - eta))
        inv_re = np.where(r + eta > 1e-12 * np.maximum(r, 1.0), 1.0 / (r + eta), 0.0)
        inv_rx = np.where(r + xi > 1e-12 * np.maximum(r, 1.0), 1.0 / (r + xi), 0.0)
        theta = np.where(q == 0, 0.0, np.arctan(xi * eta / (q * r)))
        if cd != 0.0:
            xx = np.sqrt(xi * xi + q * q)
            i5 = np.where(xi == 0, 0.0, mu_ratio * 2.0 / cd * np.arctan(
                (eta * (xx + q * cd) + xx * (r + xx) * sd) / (xi * (r + xx) * cd)))
            i4 = mu_ratio / cd * (np.log(r + dt) - sd * log_re)
            i3 = mu_ratio * (yt / (cd * (r + dt)) - log_re) + sd / cd * i4
            i2 = mu_ratio * (-log_re) - i3
            i1 = mu_ratio * (-xi / (cd * (r + dt))) - sd / cd * i5
        else:
            i1 = -mu_ratio / 2.0 * xi * q / (r + dt) ** 2
            i3 = mu_ratio / 2.0 * (eta / (r + dt) + yt * q / (r + dt) ** 2 - log_re)
            i2 = mu_ratio * (-log_re) - i3
            i4 = -mu_ratio * q / (r + dt)
            i5 = -mu_ratio * xi * sd / (r + dt)
        fx = fy = fz = 0.0
        if u1:
            fx = fx - u1 * (xi * q / r * inv_re + theta + i1 * sd)
            fy = fy - u1 * (yt * q / r * inv_re + q * cd * inv_re + i2 * sd)
            fz = fz - u1 * (dt * q / r * inv_re + q * sd * inv_re + i4 * sd)
        if u2:
            fx = fx - u2 * (q / r - i3 * sd * cd)
            fy = fy - u2 * (yt * q / r * inv_rx + cd * theta - i1 * sd * cd)
            fz = fz - u2 * (dt * q / r * inv_rx + sd * theta - i5 * sd * cd)
        if u3:
            fx = fx + u3 * (q * q / r * inv_re - i3 * sd * sd)
            fy = fy + u3 * (-dt * q / r * inv_rx - sd * (xi * q / r * inv_re - theta)
                            - i1 * sd * sd)
            fz = fz + u3 * (yt * q / r * inv_rx + cd * (xi * q / r * inv_re - theta)
                            - i5 * sd * sd)
    return fx, fy, fz


def local_east_north(xyz: np.ndarray, lat_deg: float, lon_deg: float,
                     surface_height_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """East and north coordinates of ECEF points in the source's tangent frame.

    Returns
    -------
    east, north : ndarray
        Metres from the epicentre.
    basis : ndarray (3, 3)
        Rows east, north, up (ECEF components) of the frame.
    """
    origin = llh_to_ecef(lat_deg, lon_deg, surface_height_m)
    basis = enu_basis(lat_deg, lon_deg)
    local = (np.asarray(xyz, dtype=np.float64) - origin) @ basis.T
    return local[..., 0], local[..., 1], basis


def ecef_displacement(xyz: np.ndarray, sources, surface_height_m: float) -> np.ndarray:
    """Sum of the sources' displacements at ECEF points, as ECEF vectors.

    Parameters
    ----------
    xyz : ndarray (..., 3)
        Ground points (master pass).
    sources : sequence of MogiSource / OkadaSource
    surface_height_m : float
        Ellipsoidal height of the half-space surface.

    Returns
    -------
    ndarray (..., 3)
        Displacement to add to ``xyz`` for the slave pass, metres.
    """
    out = np.zeros(np.shape(xyz), dtype=np.float64)
    for src in sources:
        east, north, basis = local_east_north(xyz, src.lat_deg, src.lon_deg, surface_height_m)
        out += src.enu(east, north) @ basis
    return out
