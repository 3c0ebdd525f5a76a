"""Interferogram formation with flat-earth phase removal.

Design
------
The complex interferogram of a master SLC ``m`` and a slave SLC ``s``
resampled onto the master grid is ``m s*`` (Bamler & Hartl 1998, eq. 9);
its phase is the two-way range difference ``4 pi (r2 - r1) / lambda`` plus
noise. Most of that phase is the *flat-earth* ramp of the reference
surface; :class:`Interferogram` removes it in the same pass, multiplying
each pixel by ``exp(-j phi_flat)`` from a
:class:`~peppers.operators.flat_earth.FlatEarthModel` built once from the
orbits of the two scenes. What is left is the topographic phase, slow
enough for slope estimation, coherence and filtering.

The scenes come as parameters: the metadata mappings that ``pep init``
records (``inputs.master`` and ``inputs.slave``), so the operator needs no
file access and its parameters fully describe it (a changed orbit reruns
the rule). The model is built when the operator is made (a few thousand
geometry solutions, milliseconds); every tile then evaluates it at absolute
pixel coordinates, so the result does not depend on the tiling.

Pixel-wise: no halo. One fused numba loop
(:func:`~peppers.operators._interferogram_kernels.interfere`); the product
is formed in the inputs' precision and the phase in double precision.

Range oversampling (``oversampling = 2``). The product ``m s*`` has twice
the bandwidth of each SLC: with the band filling 0.85 of the sampling rate
its spectrum reaches +-0.85 cycles per pixel and aliases. As ISCE3
``crossmul`` does, both SLCs are then interpolated at the half samples
(16-tap Kaiser-windowed sinc of :func:`~peppers.operators.resample.sinc_table`),
the products at ``c`` and ``c +- 1/2`` formed and flattened each with its
own phase, and averaged back onto the grid with weights ``1/4, 1/2, 1/4``
(a low-pass at the doubled rate, centred on ``c``, where ISCE3's two-tap
average shifts by a quarter pixel). The halo is 8 columns; the result
does not depend on the tiling. The measured effect on the multilooked phase
is in ``docs/stream1.md``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Mapping

import numpy as np

from peppers.errors import OperatorError
from peppers.image import ImageSpec, Region
from peppers.operator import LocalOperator, Param
from peppers.operators import _interferogram_kernels as kernels
from peppers.operators._arrays import complex_dtype, positive_pair, prepare_input, working_dtype
from peppers.operators.flat_earth import ORBIT_NODES, FlatEarthModel
from peppers.scene import scene_from_mapping

__all__ = ["Interferogram"]

_NO_PHASE = np.zeros((0, 0))


class Interferogram(LocalOperator):
    """``master * conj(slave) * exp(-j phi_flat)`` on the master grid.

    Inputs ``master`` and ``slave`` (complex, same shape: the slave already
    resampled onto the master grid); output ``output``, complex of the
    inputs' precision.

    Parameters
    ----------
    master, slave : dict
        Scene metadata mappings (``peppers-slc/1`` sections, as recorded by
        ``pep init`` under ``inputs.master`` / ``inputs.slave``). Needed
        when ``flat_earth`` is True.
    flat_earth : bool
        Remove the flat-earth phase (default True).
    reference_height_m : float
        Ellipsoidal height of the reference surface, metres (default 0).
    grid_spacing : tuple of int
        Node spacing of the flat-earth model, master pixels (default 64 x 64).

    Raises
    ------
    SceneError
        If a scene mapping is incomplete or breaks the contract.
    ValueError
        If ``flat_earth`` is True and a scene mapping is missing.
    OperatorError
        From :meth:`output_spec` if the inputs differ in shape, or differ
        from the master scene's ``image.lines`` x ``image.samples``.

    References
    ----------
    .. [1] R. Bamler, P. Hartl, "Synthetic aperture radar interferometry",
       Inverse Problems 14(4):R1-R54, 1998, eqs. 9 and 13.
    .. [2] ISCE3 ``crossmul`` (``flatten: True``): the same product with the
       geometric range difference removed.

    Examples
    --------
    >>> import numpy as np
    >>> from peppers.operators._arrays import apply_local
    >>> m = np.full((2, 2), 2j, np.complex64)
    >>> s = np.full((2, 2), 1 + 0j, np.complex64)
    >>> out = apply_local(Interferogram(flat_earth=False), {"master": m, "slave": s})["output"]
    >>> complex(out[0, 0])
    2j
    """

    name: ClassVar[str] = "interferogram"
    edge_mode: ClassVar[str] = "nodata"
    inputs: ClassVar[tuple[str, ...]] = ("master", "slave")
    params = (Param("master", dict, {}, "master scene metadata (inputs.master)"),
              Param("slave", dict, {}, "slave scene metadata (inputs.slave)"),
              Param("flat_earth", bool, True, "remove the flat-earth phase from the orbits",
                    key="insar.interferogram.flat_earth"),
              Param("reference_height_m", float, 0.0,
                    "ellipsoidal height of the reference surface, m",
                    key="insar.interferogram.reference_height_m"),
              Param("grid_spacing", tuple, (64, 64), "flat-earth node spacing (rows, cols), px"),
              Param("oversampling", int, 1, "range oversampling of the product: 1 or 2",
                    key="insar.interferogram.oversampling", choices=(1, 2)),
              ORBIT_NODES)

    #: taps and Kaiser beta of the half-sample interpolator (``oversampling = 2``)
    TAPS: ClassVar[int] = 16
    BETA: ClassVar[float] = 2.7

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        self.grid_spacing = positive_pair(self.label, "grid_spacing", self.grid_spacing)
        if self.oversampling not in (1, 2):
            raise ValueError(f"{self.label}: oversampling must be 1 or 2, got {self.oversampling}")
        self.model: FlatEarthModel | None = None
        if self.flat_earth:
            if not self.master or not self.slave:
                raise ValueError(f"{self.label}: flat_earth needs the master and slave scene "
                                 "metadata (params master: inputs.master, slave: inputs.slave)")
            master = scene_from_mapping(self.master, "inputs.master")
            slave = scene_from_mapping(self.slave, "inputs.slave")
            self.model = FlatEarthModel(master, slave, height=self.reference_height_m,
                                        spacing=self.grid_spacing, nodes=self.orbit_nodes)

    def _dtype(self, m_dtype, s_dtype) -> np.dtype:
        return complex_dtype(np.result_type(working_dtype(m_dtype, self.label, "master"),
                                            working_dtype(s_dtype, self.label, "slave")))

    def output_spec(self, input_specs: Mapping[str, ImageSpec]) -> dict[str, ImageSpec]:
        m, s = input_specs["master"], input_specs["slave"]
        if m.shape != s.shape:
            raise OperatorError(f"{self.label}: master {m.shape} and slave {s.shape} differ in "
                                "shape; resample the slave onto the master grid first")
        if self.model is not None and m.shape != self.model.shape:
            raise OperatorError(f"{self.label}: the images are {m.shape} but inputs.master "
                                f"describes {self.model.shape} (image.lines, image.samples)")
        return {"output": ImageSpec(m.shape, self._dtype(m.dtype, s.dtype), m.nodata, m.geo)}

    def input_region(self, output_region: Region,
                     input_specs: Mapping[str, ImageSpec]) -> dict[str, Region]:
        if self.oversampling == 1:
            return {"master": output_region, "slave": output_region}
        grown = output_region.grow(0, self.TAPS // 2)
        return {"master": grown, "slave": grown}

    def compute(self, inputs: Mapping[str, np.ndarray],
                output_region: Region) -> dict[str, np.ndarray]:
        if self.oversampling == 2:
            return {"output": self._oversampled(inputs, output_region)}
        dtype = self._dtype(inputs["master"].dtype, inputs["slave"].dtype)
        m = prepare_input(self.label, "master", inputs["master"], output_region.shape, dtype)
        s = prepare_input(self.label, "slave", inputs["slave"], output_region.shape, dtype)
        out = np.empty(output_region.shape, dtype=dtype)
        if out.size == 0:
            return {"output": out}
        phase = self.model.phase(output_region) if self.model is not None else _NO_PHASE
        kernels.interfere(m, s, phase, self.model is not None, out)
        return {"output": out}

    def _oversampled(self, inputs: Mapping[str, np.ndarray], output_region: Region) -> np.ndarray:
        """The product at twice the range rate, averaged back onto the grid (ISCE3 crossmul)."""
        from peppers.operators.resample import sinc_table

        dtype = self._dtype(inputs["master"].dtype, inputs["slave"].dtype)
        grown = output_region.grow(0, self.TAPS // 2).shape
        m = prepare_input(self.label, "master", inputs["master"], grown, dtype)
        s = prepare_input(self.label, "slave", inputs["slave"], grown, dtype)
        # beyond the image the halo holds NaN (no data): it carries no signal
        m, s = (np.where(np.isfinite(a), a, 0) for a in (m, s))
        out = np.empty(output_region.shape, dtype=dtype)
        if out.size == 0:
            return out
        phase = _NO_PHASE
        if self.model is not None:
            # columns c0 - 1 .. c0 + W; those outside the image are extrapolated linearly
            first = max(0, output_region.col - 1)
            last = min(self.model.shape[1] - 1, output_region.col_stop)
            phase = self.model.phase(Region(output_region.row, first, output_region.height,
                                            last + 1 - first))
            if first == output_region.col:
                phase = np.concatenate([2 * phase[:, :1] - phase[:, 1:2], phase], axis=1)
            if last < output_region.col_stop:
                phase = np.concatenate([phase, 2 * phase[:, -1:] - phase[:, -2:-1]], axis=1)
        weights = np.ascontiguousarray(sinc_table(self.TAPS, self.BETA, 2)[1])
        kernels.interfere_oversampled(m, s, weights, phase, self.model is not None, out)
        return out
