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

References
----------
A. Ferretti, C. Prati, F. Rocca (2001), "Permanent scatterers in SAR
interferometry", IEEE TGRS 39(1):8-20 (one master grid for a stack).
R. F. Hanssen (2001), *Radar Interferometry*, Kluwer, sec. 2.5.
"""

from __future__ import annotations

from typing import ClassVar, Mapping

import numpy as np

from peppers.errors import OperatorError
from peppers.image import ImageSpec, Region
from peppers.operator import LocalOperator

__all__ = ["StackInterferogram", "StackInterferogramFromReference",
           "StackInterferogramToReference", "pair_on_reference_grid"]


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
