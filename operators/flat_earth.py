"""Flat-earth (reference surface) phase of an interferometric pair, from the orbits.

Design
------
For master pixel ``(row, col)`` the point on the reference surface (the
WGS84 ellipsoid raised by ``height`` metres) seen at the master's zero-Doppler
time ``t1 = row * line_interval`` and slant range ``r1 = first_sample +
col * spacing`` is found by ``rdr2geo`` against the master orbit; its slant
range ``r2`` from the slave orbit by ``geo2rdr``. The flat-earth phase is
``phi = 4 pi (r2 - r1) / lambda`` (Bamler & Hartl 1998, eq. 13), the phase a
flat surface would put into ``m s*``; removing it leaves the topographic
phase.

Exact geometry for every pixel costs two Newton solutions per pixel.
``phi`` is smooth (a near-linear ramp in range with a slight curvature, a
slow drift in azimuth), so :class:`FlatEarthModel` evaluates it exactly on a
coarse grid of nodes anchored to the image (every ``spacing`` pixels, from
one node spacing before the first pixel to two after the last) and
interpolates between nodes with the 4-point Lagrange cubic along each axis
(tensor product, 16 nodes per pixel), an interpolant exact for cubics with
an error of order ``h^4 phi''''``. The value at a pixel depends only on its
absolute coordinates and the fixed nodes, so tiles agree exactly.

Accuracy (``tests/test_operators_interferogram.py`` measures it against exact
per-pixel geometry on a 700 km, 830 km-range pair with a 200 m baseline):
below 1e-4 rad with 64 x 64 node spacing, against a flat-earth phase of
several thousand radians across the swath. The geometry itself converges to
1e-7 m in height and 1e-10 s in time, i.e. 1e-5 rad of phase or better.

Scenes arrive as the metadata mappings ``pep init`` records under
``inputs.master`` / ``inputs.slave`` (the contract's YAML sections);
:func:`peppers.scene.scene_from_mapping` validates one into a
:class:`~peppers.scene.Scene`.
"""

from __future__ import annotations

import numpy as np

from peppers.errors import GeometryError, OperatorError
from peppers.image import Region
from peppers.operator import Param
from peppers.operators import _interferogram_kernels as kernels
from peppers.scene import Scene

__all__ = ["FlatEarthModel", "ORBIT_NODES"]

#: The run's orbit interpolation order, read by every operator that builds an
#: orbit from a scene (``Scene.orbit(nodes)``; docs/geometry.md).
ORBIT_NODES = Param("orbit_nodes", int, 4,
                    "orbit Hermite interpolation: state vectors per polynomial (2 = cubic)",
                    key="insar.geometry.orbit_nodes", ge=2, le=8)


class FlatEarthModel:
    """Flat-earth phase of a pair on the master grid, from a coarse exact grid.

    Parameters
    ----------
    master, slave : Scene
        The two acquisitions (metadata only).
    height : float
        Ellipsoidal height of the reference surface, metres (default 0).
    spacing : tuple of int
        Node spacing ``(rows, cols)`` in master pixels (default 64 x 64).
    nodes : int
        Orbit interpolation nodes (``insar.geometry.orbit_nodes``, default 4).
        The geometry is the scenes' own (``scene_rdr2geo`` / ``scene_geo2rdr``:
        azimuth time offset, native-Doppler geometry; docs/geometry.md).

    Raises
    ------
    OperatorError
        If the geometry fails at a node (a pixel outside the orbit spans,
        a range that does not reach the surface); the message names the
        node and the reason.

    Attributes
    ----------
    nodes : ndarray (K, L), float64
        The exact phase at node rows ``(k - 1) spacing[0]``, cols
        ``(l - 1) spacing[1]``, radians (unwrapped).

    References
    ----------
    .. [1] R. Bamler, P. Hartl, "Synthetic aperture radar interferometry",
       Inverse Problems 14(4):R1-R54, 1998, sec. 4 (flat-earth phase).
    .. [2] ISCE2 ``topozero`` / ``geo2rdr`` (the same rdr2geo -> geo2rdr
       construction for the geometric coregistration).
    """

    def __init__(self, master: Scene, slave: Scene, *, height: float = 0.0,
                 spacing: tuple[int, int] = (64, 64), nodes: int = 4) -> None:
        from peppers.geometry.scene_geometry import scene_geo2rdr, scene_rdr2geo

        self.shape = master.shape
        self.spacing = (int(spacing[0]), int(spacing[1]))
        if min(self.spacing) < 1:
            raise ValueError(f"flat-earth node spacing must be >= 1, got {spacing!r}")
        self.wavelength_m = master.wavelength_m
        dr, dc = self.spacing
        rows = dr * (np.arange(-(-(master.lines - 1) // dr) + 4) - 1)
        cols = dc * (np.arange(-(-(master.samples - 1) // dc) + 4) - 1)
        t1 = master.azimuth_seconds(rows.astype(np.float64))[:, None]
        r1 = master.slant_range(cols.astype(np.float64))[None, :]
        try:
            xyz, _ = scene_rdr2geo(master, t1, r1, float(height), nodes=nodes)
            _, r2 = scene_geo2rdr(slave, xyz, nodes=nodes)
        except GeometryError as error:
            raise OperatorError(f"flat earth of {master.sensor_name} / {slave.sensor_name}: "
                                f"geometry failed on the node grid (rows {rows[0]}..{rows[-1]}, "
                                f"cols {cols[0]}..{cols[-1]}): {error}") from None
        self.nodes = np.ascontiguousarray(4.0 * np.pi / self.wavelength_m * (r2 - r1))
        self._master, self._slave, self._height = master, slave, float(height)
        self._nodes = int(nodes)

    def phase(self, region: Region) -> np.ndarray:
        """Interpolated flat-earth phase over ``region`` (master pixels), float64."""
        out = np.empty(region.shape, dtype=np.float64)
        if out.size:
            kernels.flat_phase(self.nodes, region.row, region.col, self.spacing[0],
                               self.spacing[1], out)
        return out

    def exact(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Exact flat-earth phase at pixels ``(rows, cols)`` by per-pixel geometry."""
        from peppers.geometry.scene_geometry import scene_geo2rdr, scene_rdr2geo

        m = self._master
        t1 = m.azimuth_seconds(np.asarray(rows, dtype=np.float64))
        r1 = m.slant_range(np.asarray(cols, dtype=np.float64))
        xyz, _ = scene_rdr2geo(m, t1, r1, self._height, nodes=self._nodes)
        _, r2 = scene_geo2rdr(self._slave, xyz, nodes=self._nodes)
        return 4.0 * np.pi / self.wavelength_m * (r2 - r1)
