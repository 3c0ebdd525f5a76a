"""Phase to height: the exact three-surface solution on the multilooked grid.

Design
------
Stream 3 turns the absolute (flattened) phase of the multilooked
interferogram into a ground point per pixel. The textbook route is linear:
``h = -phi / (d phi / d h)`` with ``d phi / d h = -4 pi B_perp / (lambda r
sin theta)`` (the height of ambiguity). It is only a first-order
approximation: it ignores the curvature of the range circles and the change
of the perpendicular baseline with height, which reach metres over a few
hundred metres of relief. :class:`PhaseToHeight` instead solves the geometry
exactly, per pixel (Rodriguez & Martin 1992, sec. II; Small 1998, ch. 4):

1. the master range sphere and zero-Doppler plane give a circle of candidate
   points, parametrised by the look angle;
2. the flat-earth phase that stream 1 removed is put back as a range: the
   reference point (ellipsoid + ``reference_height_m``) of the same pixel is
   found on that circle and its slave range ``r2_ref`` computed on the
   slave orbit (``geo2rdr``); then ``r2 = r2_ref + lambda phi / (4 pi)``,
   with the simulator's sign convention ``arg(m s*) = 4 pi (r2 - r1) /
   lambda`` (``docs/simulator.md``);
3. Newton on the look angle intersects the circle with the slave range
   sphere ``|P - S2(t2)| = r2`` (``t2`` the slave zero-Doppler time of P).

No approximation enters besides the orbit interpolation; the solution is
independent of wavelength, look side, pass direction and baseline sign.

Pixel ``(i, j)`` of the multilooked grid is the mean of master rows
``i la .. i la + la - 1`` and columns ``j lr .. j lr + lr - 1``
(:class:`~peppers.operators.multilook.Multilook`), so its geometry is that
of the block centre ``(i la + (la - 1)/2, j lr + (lr - 1)/2)``.

Pixels without phase (NaN: not unwrapped, or in a component with no
reference) get NaN height; their latitude and longitude are those of the
range circle at ``fill_height_m``, so amplitude and coherence can still be
geocoded there.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Mapping

import numpy as np

from peppers.errors import OperatorError
from peppers.image import ImageSpec, Region
from peppers.operator import LocalOperator, Param
from peppers.operators import _height_kernels as kernels
from peppers.operators.flat_earth import ORBIT_NODES
from peppers.operators.scene_height import needs_scene_geometry, scene_phase_to_height

__all__ = ["PhaseToHeight", "multilook_centres", "scene_pair", "radar_looks", "height_of_ambiguity",
           "height_crb"]


def radar_looks(master: Mapping[str, Any], looks: Any) -> tuple[int, int]:
    """The looks of the multilooked grid, as :class:`Multilook` chooses them.

    Parameters
    ----------
    master : mapping
        Master scene metadata (``inputs.master``); empty to take ``looks`` as given.
    looks : pair of int
        ``insar.multilook.looks``; with a scene only the range looks count.

    Returns
    -------
    tuple of int
        ``(azimuth, range)`` looks.
    """
    from peppers.operators._arrays import positive_pair
    from peppers.operators.multilook import square_looks

    la, lr = positive_pair("looks", "looks", looks)
    return square_looks(master, lr) if master else (la, lr)


def scene_pair(label: str, master: Mapping[str, Any], slave: Mapping[str, Any]):
    """The master and slave :class:`~peppers.scene.Scene` of an operator's metadata params.

    Raises
    ------
    OperatorError
        When either is missing.
    """
    from peppers.scene import scene_from_mapping

    if not master or not slave:
        raise OperatorError(f"{label}: parameters master and slave (the scene "
                            "metadata, inputs.master / inputs.slave) are required")
    return scene_from_mapping(master, "inputs.master"), scene_from_mapping(slave, "inputs.slave")


def multilook_centres(rows: Any, cols: Any, looks: tuple[int, int]) -> tuple[Any, Any]:
    """Master (single-look) coordinates of multilooked pixel centres."""
    la, lr = looks
    return (np.asarray(rows, dtype=np.float64) * la + (la - 1) / 2.0,
            np.asarray(cols, dtype=np.float64) * lr + (lr - 1) / 2.0)


class PhaseToHeight(LocalOperator):
    """Height, latitude and longitude of every pixel from its absolute phase.

    Parameters
    ----------
    master, slave : dict
        Scene metadata (``inputs.master``, ``inputs.slave``).
    looks : tuple of int
        ``insar.multilook.looks``; the azimuth looks follow :func:`square_looks`
        as in the multilook rules.
    reference_height_m : float
        Height of the flat-earth reference surface the interferogram removed
        (``insar.interferogram.reference_height_m``).
    fill_height_m : float
        Height at which pixels without phase are located (their latitude and
        longitude only; their height is NaN).
    tolerance_rad : float
        Newton stops when the look-angle step is below this (1e-10 rad is
        0.05 mm of height at 900 km range; the float64 noise of the step is
        about 1e-12 rad).

    Raises
    ------
    OperatorError
        On missing scene metadata or a pair of different wavelengths.

    References
    ----------
    .. [1] E. Rodriguez, J. M. Martin, "Theory and design of interferometric
       synthetic aperture radars", IEE Proc. F 139(2):147-159, 1992, sec. II.
    .. [2] D. Small, "Generation of digital elevation models through spaceborne
       SAR interferometry", PhD thesis, University of Zurich, 1998, ch. 4
       (range-sphere / Doppler-plane intersection).
    .. [3] R. Bamler, P. Hartl, "Synthetic aperture radar interferometry",
       Inverse Problems 14:R1-R54, 1998, eq. 13.
    """

    name: ClassVar[str] = "phase_to_height"
    inputs: ClassVar[tuple[str, ...]] = ("phase",)
    outputs: ClassVar[tuple[str, ...]] = ("height", "lat", "lon")
    edge_mode: ClassVar[str] = "nodata"
    params = (Param("master", dict, {}, "master scene metadata (inputs.master)"),
              Param("slave", dict, {}, "slave scene metadata (inputs.slave)"),
              Param("looks", tuple, (5, 5), "multilook looks (azimuth, range)",
                    key="insar.multilook.looks", ge=1),
              Param("reference_height_m", float, 0.0, "flat-earth reference height, m",
                    key="insar.interferogram.reference_height_m"),
              Param("fill_height_m", float, 0.0,
                    "height locating pixels without phase (lat/lon only), m"),
              Param("tolerance_rad", float, 1e-10, "Newton tolerance on the look angle"),
              Param("max_iterations", int, 30, "Newton steps at most"),
              ORBIT_NODES)

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        self._master, self._slave = scene_pair(self.label, self.master, self.slave)
        if abs(self._master.wavelength_m - self._slave.wavelength_m) > \
                1e-6 * self._master.wavelength_m:
            raise OperatorError(f"{self.label}: master and slave wavelengths differ "
                                f"({self._master.wavelength_m} vs {self._slave.wavelength_m} m)")
        self.looks = radar_looks(self.master, self.looks)
        self._m_orbit = self._master.orbit(self.orbit_nodes)
        self._s_orbit = self._slave.orbit(self.orbit_nodes)
        self._side = 1 if self._master.look_side == "right" else -1

    def output_spec(self, input_specs: Mapping[str, ImageSpec]) -> dict[str, ImageSpec]:
        shape = input_specs["phase"].shape
        nan = float("nan")
        return {"height": ImageSpec(shape, np.float32, nan),
                "lat": ImageSpec(shape, np.float64, nan),
                "lon": ImageSpec(shape, np.float64, nan)}

    def solve(self, phase: np.ndarray, region: Region) -> tuple[np.ndarray, ...]:
        """Height, lat, lon and status of ``region`` given its phase (script entry)."""
        rows, cols = multilook_centres(np.arange(region.row, region.row + region.height),
                                       np.arange(region.col, region.col + region.width),
                                       self.looks)
        t1 = np.ascontiguousarray(self._master.azimuth_seconds(rows), dtype=np.float64)
        r1 = np.ascontiguousarray(self._master.slant_range(cols), dtype=np.float64)
        phase = np.ascontiguousarray(phase, dtype=np.float64)
        if needs_scene_geometry(self._master, self._slave):   # time offset / native Doppler
            return scene_phase_to_height(
                self._master, self._slave, t1[:, None], r1[None, :], phase,
                reference_height_m=self.reference_height_m, fill_height_m=self.fill_height_m,
                m_orbit=self._m_orbit, s_orbit=self._s_orbit, max_iter=self.max_iterations)
        h = np.empty(region.shape, np.float32)
        lat = np.empty(region.shape, np.float64)
        lon = np.empty(region.shape, np.float64)
        status = np.empty(region.shape, np.int8)
        if h.size:
            kernels.phase_to_height(t1, r1, phase, self._side, self._master.wavelength_m,
                                    self.reference_height_m, self.fill_height_m,
                                    *self._m_orbit._tables, *self._s_orbit._tables,
                                    self.tolerance_rad, self.max_iterations, h, lat, lon,
                                    status)
        return h, lat, lon, status

    def compute(self, inputs: Mapping[str, np.ndarray],
                output_region: Region) -> dict[str, np.ndarray]:
        h, lat, lon, _ = self.solve(inputs["phase"], output_region)
        return {"height": h, "lat": lat, "lon": lon}


def height_of_ambiguity(master: Any, slave: Any, rows: Any, cols: Any,
                        height: Any = 0.0, nodes: int = 4) -> np.ndarray:
    """Height of ambiguity ``2 pi / |d phi / d h|`` at master pixels, metres.

    ``d phi / d h`` is the exact derivative of ``4 pi (r2 - r1) / lambda``
    along the range circle, by a central difference of +-1 m.

    Parameters
    ----------
    master, slave : Scene
    rows, cols : array_like
        Master (single-look, fractional) pixel coordinates.
    height : float or array_like
        Ellipsoidal height of the points, m.
    nodes : int
        Orbit interpolation nodes; the geometry is each scene's own
        (``scene_rdr2geo`` / ``scene_geo2rdr``, docs/geometry.md).

    Returns
    -------
    ndarray
        Positive heights of ambiguity, metres (the sign of the phase
        derivative is ``-sign(B_perp)``, see ``docs/simulator.md``).

    References
    ----------
    R. F. Hanssen, *Radar Interferometry*, Kluwer 2001, eq. 2.5.15.
    """
    from peppers.geometry.scene_geometry import scene_geo2rdr, scene_rdr2geo

    t = master.azimuth_seconds(np.asarray(rows, dtype=np.float64))
    r1 = master.slant_range(np.asarray(cols, dtype=np.float64))
    h = np.asarray(height, dtype=np.float64)
    phases = []
    for dh in (-1.0, 1.0):
        xyz, _ = scene_rdr2geo(master, t, r1, h + dh, nodes=nodes)
        _, r2 = scene_geo2rdr(slave, xyz, nodes=nodes)
        phases.append(4.0 * math.pi * (r2 - r1) / master.wavelength_m)
    return 2.0 * math.pi / np.abs((phases[1] - phases[0]) / 2.0)


def height_crb(coherence: Any, looks: float, ambiguity_m: Any) -> np.ndarray:
    """Cramer-Rao bound of the height standard deviation, metres.

    ``sigma_h = h_a sigma_phi / (2 pi)`` with the phase bound
    ``sigma_phi = sqrt((1 - g^2) / (2 L g^2))``.

    Parameters
    ----------
    coherence : array_like
        True coherence ``0 < g <= 1``.
    looks : float
        Independent looks ``L``.
    ambiguity_m : array_like
        Height of ambiguity, metres.

    Returns
    -------
    ndarray

    References
    ----------
    E. Rodriguez, J. M. Martin (1992), IEE Proc. F 139(2), eq. 25; R. F.
    Hanssen (2001), eq. 4.2.32.

    Examples
    --------
    >>> round(float(height_crb(0.8, 20, 100.0)), 2)
    1.89
    """
    g = np.asarray(coherence, dtype=np.float64)
    sigma_phi = np.sqrt((1.0 - g * g) / (2.0 * looks * g * g))
    return np.asarray(ambiguity_m, dtype=np.float64) * sigma_phi / (2.0 * math.pi)
