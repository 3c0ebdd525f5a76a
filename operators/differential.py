"""Topographic phase removal: the differential interferogram, inside stream 1.

The interferogram of stream 1 is ``master * conj(slave)`` with the
flat-earth phase ``phi_flat`` (ellipsoid at the reference height) removed.
The geometry of the reference DEM predicts the whole phase of every pixel,
``phi_geo = 4 pi (r2 - r1) / lambda`` of its DEM ground point (the
``topographic_phase`` layer of ``radar_geometry``: flat earth plus
topography). Removing the rest of it,

    d = interferogram * exp(-j (phi_geo - phi_flat)),

leaves the **differential interferogram** (Massonnet et al. 1993; Hanssen
2001, sec. 2.5): deformation along the line of sight, the phase of the
reference DEM's height errors (``dphi/dh * e``), atmosphere and noise. Its
phase follows the sign of the interferogram, ``arg(master * conj(slave))``:
a displacement ``d_los`` towards the satellite (positive, the MintPy/HyP3
convention) shortens the slave range and adds ``-4 pi d_los / lambda``.

A local operator: one pass over the tile, no extra disk pass of the
interferogram (the geometry layer is read beside it). Pixels without a DEM
ground point (NaN topographic phase) are 0 (no signal).

References
----------
D. Massonnet et al. (1993), "The displacement field of the Landers
earthquake mapped by radar interferometry", Nature 364:138-142.
R. F. Hanssen (2001), *Radar Interferometry*, Kluwer, sec. 2.5.
"""

from __future__ import annotations

from typing import Any, ClassVar, Mapping

import numpy as np

from peppers.errors import OperatorError
from peppers.image import ImageSpec, Region
from peppers.operator import LocalOperator
from peppers.operators._arrays import positive_pair
from peppers.operators.flat_earth import FlatEarthModel
from peppers.operators.interferogram import Interferogram
from peppers.scene import scene_from_mapping

__all__ = ["TopographicPhaseRemoval"]


class TopographicPhaseRemoval(LocalOperator):
    """``interferogram * exp(-j (topographic_phase - flat-earth phase))`` (module docstring).

    Parameters
    ----------
    master, slave : dict
        Scene metadata (``inputs.master``, ``inputs.slave``).
    flat_earth, reference_height_m, grid_spacing
        As in :class:`~peppers.operators.interferogram.Interferogram`: the
        flat-earth phase that operator removed (so the same keys).
    """

    name: ClassVar[str] = "topographic_phase_removal"
    inputs: ClassVar[tuple[str, ...]] = ("interferogram", "topographic_phase")
    outputs: ClassVar[tuple[str, ...]] = ("output",)
    #: The very parameters (and keys) of the interferogram whose flat earth it completes.
    params = Interferogram.params

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        self.grid_spacing = positive_pair(self.label, "grid_spacing", self.grid_spacing)
        self.model = None
        if self.flat_earth:
            if not self.master or not self.slave:
                raise OperatorError(f"{self.label}: needs the master and slave scene metadata "
                                    "(params master: inputs.master, slave: inputs.slave)")
            self.model = FlatEarthModel(scene_from_mapping(self.master, "inputs.master"),
                                        scene_from_mapping(self.slave, "inputs.slave"),
                                        height=self.reference_height_m,
                                        spacing=self.grid_spacing)

    def output_spec(self, input_specs: Mapping[str, ImageSpec]) -> dict[str, ImageSpec]:
        ifg, topo = input_specs["interferogram"], input_specs["topographic_phase"]
        if ifg.shape != topo.shape:
            raise OperatorError(f"{self.label}: interferogram {ifg.shape} and topographic_phase "
                                f"{topo.shape} differ in shape (both on the master grid)")
        return {"output": ImageSpec(ifg.shape, ifg.dtype, ifg.nodata, ifg.geo)}

    def compute(self, inputs: Mapping[str, np.ndarray],
                output_region: Region) -> dict[str, np.ndarray]:
        ifg = np.asarray(inputs["interferogram"])
        residual = np.asarray(inputs["topographic_phase"], dtype=np.float64)
        if self.model is not None:
            residual = residual - self.model.phase(output_region)
        good = np.isfinite(residual)
        rotation = np.where(good, np.exp(-1j * np.where(good, residual, 0.0)), 0.0)
        return {"output": (ifg * rotation).astype(ifg.dtype)}
