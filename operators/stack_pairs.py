"""Differential interferograms of a stack's pairs, all on the one reference grid.

In a stack every secondary ``S`` is coregistered to the one reference ``R``
and resampled onto its grid (``slave_resampled_S``), and the reference
DEM's geometry of ``R`` against ``S`` gives ``topographic_phase_S =
4 pi (r_S - r_R) / lambda`` of each pixel's DEM ground point (flat earth and
topography; ``radar_geometry``, ``docs/dinsar.md``). The differential
interferogram of any two dates ``(A, B)`` is then the plain product on the
reference grid with the difference of their predicted phases removed:

    d_AB = z_A * conj(z_B) * exp(-j (topo_B - topo_A)),      topo_R = 0,

whose phase follows the project's sign, ``arg(master * conj(slave))``: a
displacement towards the satellite between ``A`` and ``B`` adds
``-4 pi d_los / lambda``. Because the two geometries share the reference
grid, ``d_AR`` and ``d_RB`` close: ``d_AB = d_AR d_RB / |z_R|^2`` (Ferretti
et al. 2001; Hanssen 2001, sec. 2.5). Pixels without a DEM ground point
(NaN phase) are 0 (no signal), as in
:class:`peppers.operators.differential.TopographicPhaseRemoval`.

Three classes, by which date (if any) is the reference (whose topographic
phase is zero, so it has no port): :class:`StackInterferogram` (two
secondaries), :class:`StackInterferogramFromReference` (``A = R``),
:class:`StackInterferogramToReference` (``B = R``).

The radar geometry of the reference on the DEM (``rdr2geo`` of every
reference pixel: ``geometry_lat``, ``geometry_lon``, ``geometry_height``) is
computed once; :class:`SecondaryGeometry` turns it into each secondary's
``row_offset``, ``col_offset`` and ``topographic_phase`` by ``geo2rdr`` of
those ground points on the secondary's orbit (and on the reference's, so
that the rounding of the stored height cancels in ``r_S - r_R``): the layers
:class:`peppers.operators.radar_geometry.RadarGeometry` gives for a pair,
without its ``rdr2geo`` per secondary.

References
----------
A. Ferretti, C. Prati, F. Rocca (2001), "Permanent scatterers in SAR
interferometry", IEEE TGRS 39(1):8-20 (one master grid for a stack).
R. F. Hanssen (2001), *Radar Interferometry*, Kluwer, sec. 2.5.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Mapping

import numpy as np

from peppers.errors import OperatorError
from peppers.geometry.ellipsoid import llh_to_ecef
from peppers.geometry.scene_geometry import scene_geo2rdr
from peppers.image import ImageSpec, Region
from peppers.operator import LocalOperator, Param
from peppers.operators.flat_earth import ORBIT_NODES
from peppers.scene import scene_from_mapping

__all__ = ["StackInterferogram", "StackInterferogramFromReference",
           "StackInterferogramToReference", "pair_on_reference_grid", "SecondaryGeometry"]


def pair_on_reference_grid(first: np.ndarray, second: np.ndarray,
                           topographic_first: np.ndarray | None,
                           topographic_second: np.ndarray | None) -> np.ndarray:
    """``first * conj(second) * exp(-j (topo_second - topo_first))``, 0 where NaN.

    Parameters
    ----------
    first, second : ndarray (M, N), complex
        The two dates' SLCs on the reference grid.
    topographic_first, topographic_second : ndarray (M, N) or None
        Their predicted phases against the reference (None: the reference).

    Returns
    -------
    ndarray (M, N), complex64

    Examples
    --------
    >>> z = np.array([[1 + 0j]]); a = np.exp(-1j * np.array([[0.3]]))
    >>> d = pair_on_reference_grid(z, a, None, np.array([[0.3]]))
    >>> bool(np.allclose(d, 1.0))
    True
    """
    residual = np.zeros(first.shape, dtype=np.float64)
    if topographic_second is not None:
        residual = residual + np.asarray(topographic_second, dtype=np.float64)
    if topographic_first is not None:
        residual = residual - np.asarray(topographic_first, dtype=np.float64)
    good = np.isfinite(residual)
    rotation = np.where(good, np.exp(-1j * np.where(good, residual, 0.0)), 0.0)
    return (np.asarray(first) * np.conj(np.asarray(second)) * rotation).astype(np.complex64)


class StackInterferogram(LocalOperator):
    """Differential interferogram of two secondaries on the reference grid (module docstring)."""

    name: ClassVar[str] = "stack_interferogram"
    inputs: ClassVar[tuple[str, ...]] = ("first", "second", "topographic_first",
                                         "topographic_second")
    outputs: ClassVar[tuple[str, ...]] = ("output",)

    def output_spec(self, input_specs: Mapping[str, ImageSpec]) -> dict[str, ImageSpec]:
        first = input_specs["first"]
        for port, spec in input_specs.items():
            if spec.shape != first.shape:
                raise OperatorError(f"{self.label}: input {port} is {spec.shape}, first is "
                                    f"{first.shape}: every input must be on the reference grid")
        return {"output": ImageSpec(first.shape, np.complex64, first.nodata, first.geo)}

    def compute(self, inputs: Mapping[str, np.ndarray],
                output_region: Region) -> dict[str, np.ndarray]:
        return {"output": pair_on_reference_grid(inputs["first"], inputs["second"],
                                                 inputs.get("topographic_first"),
                                                 inputs.get("topographic_second"))}


class StackInterferogramFromReference(StackInterferogram):
    """As :class:`StackInterferogram` with ``first`` the reference (its phase is zero)."""

    name: ClassVar[str] = "stack_interferogram_from_reference"
    inputs: ClassVar[tuple[str, ...]] = ("first", "second", "topographic_second")


class StackInterferogramToReference(StackInterferogram):
    """As :class:`StackInterferogram` with ``second`` the reference (its phase is zero)."""

    name: ClassVar[str] = "stack_interferogram_to_reference"
    inputs: ClassVar[tuple[str, ...]] = ("first", "second", "topographic_first")


class SecondaryGeometry(LocalOperator):
    """A secondary's offsets and topographic phase from the reference's ground points.

    Inputs ``lat``, ``lon``, ``height`` (the reference's radar geometry on
    the DEM, full resolution); outputs ``row_offset``, ``col_offset`` (pixels:
    ``secondary row - reference row``, as ``RadarGeometry``'s) and
    ``topographic_phase`` (``4 pi (r_S - r_R) / lambda``, rad), NaN where the
    reference has no ground point.

    Parameters
    ----------
    master, slave : dict
        Reference and secondary scene metadata (``inputs.master``,
        ``inputs.slc_DATE``).
    orbit_nodes : int
        ``insar.geometry.orbit_nodes``.
    """

    name: ClassVar[str] = "secondary_geometry"
    inputs: ClassVar[tuple[str, ...]] = ("lat", "lon", "height")
    outputs: ClassVar[tuple[str, ...]] = ("row_offset", "col_offset", "topographic_phase")
    params = (Param("master", dict, {}, "reference scene metadata (inputs.master)"),
              Param("slave", dict, {}, "secondary scene metadata (inputs.slc_DATE)"),
              ORBIT_NODES)

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        if not self.master or not self.slave:
            raise OperatorError(f"{self.label}: needs the reference and secondary scenes "
                                "(params master: inputs.master, slave: inputs.slc_DATE)")
        self._master = scene_from_mapping(self.master, "master", image=False)
        self._slave = scene_from_mapping(self.slave, "slave", image=False)

    def output_spec(self, input_specs: Mapping[str, ImageSpec]) -> dict[str, ImageSpec]:
        shape = input_specs["lat"].shape
        return {name: ImageSpec(shape, np.float64, float("nan")) for name in self.outputs}

    def compute(self, inputs: Mapping[str, np.ndarray],
                output_region: Region) -> dict[str, np.ndarray]:
        lat = np.asarray(inputs["lat"], np.float64)
        lon = np.asarray(inputs["lon"], np.float64)
        h = np.asarray(inputs["height"], np.float64)
        good = np.isfinite(lat) & np.isfinite(lon) & np.isfinite(h)
        rows, cols = np.nonzero(good)
        out = {name: np.full(lat.shape, np.nan) for name in self.outputs}
        if rows.size:
            m, s = self._master, self._slave
            xyz = llh_to_ecef(lat[good], lon[good], h[good])
            row = rows + output_region.row
            guess = m.azimuth_seconds(row.astype(np.float64))
            _, r1 = scene_geo2rdr(m, xyz, nodes=self.orbit_nodes, t_guess=guess,
                                  on_failure="nan")
            t2, r2 = scene_geo2rdr(s, xyz, nodes=self.orbit_nodes, t_guess=guess,
                                   on_failure="nan")
            out["row_offset"][good] = (t2 - s.azimuth_seconds(0.0)) / s.line_interval_s - row
            out["col_offset"][good] = (r2 - s.first_sample_m) / s.sample_spacing_m \
                - (cols + output_region.col)
            out["topographic_phase"][good] = 4.0 * math.pi / m.wavelength_m * (r2 - r1)
        return out
