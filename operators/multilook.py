"""Multilook: average blocks of looks into near-square ground pixels.

Design
------
A single-look interferogram's pixels are long in ground range and short in
azimuth (a slant-range spacing ``dr`` projects to ``dr / sin(theta)`` on the
ground at incidence ``theta``; the azimuth spacing is the ground-track
speed times the line interval). :class:`Multilook` averages ``la x lr``
blocks into one pixel (the box average of ISCE2 ``looks`` and of every
InSAR processor), which lowers the phase noise like ``1 / sqrt(L)`` and,
with :func:`square_looks`, makes the output pixels near-square on the
ground (ISCE2 stripmapApp picks looks from a posting the same way).

Output pixel ``(i, j)`` is the mean of input rows ``i la .. (i + 1) la - 1``
and columns ``j lr .. (j + 1) lr - 1``; the output has ``H // la`` rows and
``W // lr`` columns (a partial last block is dropped). Blocks are anchored
to the image, so every output tile is the same computation whatever the
tiling. Complex images are averaged as complex numbers (the multilooked
interferogram), real ones as real (coherence, amplitude).

For ``L = la lr`` independent samples the phase of the multilooked
interferogram has the Cramer-Rao standard deviation
``sqrt((1 - g^2) / (2 L g^2))`` (:func:`peppers.operators.coherence.phase_crb`).
Samples of a band-limited SLC sampled at ``1/0.85`` of its bandwidth are
correlated: the independent looks are then ``L (0.85)^2`` (the equivalent
looks ``n_e = k_r k_a (d_r d_a)/(rho_r rho_a)`` of SNAPHU).

Slope-aware multilooking. A topographic fringe of ``f`` cycles per pixel
turns the phase across a block of ``L`` pixels by ``2 pi f L``; the box
average then sums phasors of different phases and keeps only
``|sinc(f L)|`` of the signal per axis (0.76 at ``f = 0.1``, ``L = 5``)
while the noise is unchanged, so the phase error grows.
:class:`FringeMultilook` removes the local fringe first: the block is
multiplied by ``exp(-2 pi j (f_r (p - p0) + f_c (q - q0)))`` around its
centre ``(p0, q0)`` with the fringe frequency of
:class:`~peppers.operators.slope.FringeSlope` at the block, averaged, and
the fringe restored (it is zero at the block centre, so nothing is left to
multiply back). This is the demodulate-filter-remodulate scheme of the
1999 InSAR-Peppers design and of slope-adaptive spectral filters
(Trouve et al. 1998). The multilooked coherence needs no such step: it is
the block mean of the single-look coherence, which is already estimated
with the fringe removed (:mod:`peppers.operators.coherence`).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Mapping

import numpy as np

from peppers.errors import OperatorError
from peppers.image import ImageSpec, Region
from peppers.operator import LocalOperator, Param
from peppers.operators import _multilook_kernels as kernels
from peppers.operators._arrays import (accumulator_dtype, complex_dtype, positive_pair,
                                       prepare_input, working_dtype)

__all__ = ["FringeMultilook", "Multilook", "ground_spacing", "square_looks"]


def ground_spacing(scene_mapping: Mapping[str, Any]) -> tuple[float, float, float]:
    """Ground pixel spacing at the scene centre, from the orbit and the ellipsoid.

    Parameters
    ----------
    scene_mapping : mapping
        Scene metadata (``peppers-slc/1`` sections, e.g. ``inputs.master``).

    Returns
    -------
    azimuth_m, ground_range_m, incidence_deg : float
        Distance on the ellipsoid between the centre pixel and its azimuth
        neighbour; slant spacing over ``sin(incidence)``; the incidence angle.
    """
    from peppers.geometry.ellipsoid import incidence_angle_deg
    from peppers.geometry.scene_geometry import scene_rdr2geo
    from peppers.scene import scene_from_mapping

    scene = scene_from_mapping(scene_mapping)
    orbit = scene.orbit()
    row, col = (scene.lines - 1) / 2.0, (scene.samples - 1) / 2.0
    t = scene.azimuth_seconds(np.array([row - 0.5, row + 0.5]))
    xyz, _ = scene_rdr2geo(scene, t, scene.slant_range(col), 0.0, orbit=orbit)
    azimuth_m = float(np.linalg.norm(xyz[1] - xyz[0]))
    sensor, _ = orbit.interpolate(np.array([scene.azimuth_seconds(row)
                                            + scene.azimuth_time_offset_s(scene.slant_range(col))]))
    target, _ = scene_rdr2geo(scene, scene.azimuth_seconds(row), scene.slant_range(col), 0.0,
                              orbit=orbit)
    incidence = float(incidence_angle_deg(target, sensor[0]))
    return azimuth_m, scene.sample_spacing_m / math.sin(math.radians(incidence)), incidence


def square_looks(scene_mapping: Mapping[str, Any], range_looks: int) -> tuple[int, int]:
    """Looks ``(azimuth, range)`` making near-square ground pixels.

    ``range_looks`` are kept; the azimuth looks are
    ``max(1, round(range_looks * ground_range / azimuth))``.

    Parameters
    ----------
    scene_mapping : mapping
        Scene metadata of the grid being multilooked.
    range_looks : int
        Looks in range, >= 1.

    Returns
    -------
    tuple of int
    """
    azimuth_m, ground_range_m, _ = ground_spacing(scene_mapping)
    return (max(1, round(range_looks * ground_range_m / azimuth_m)), int(range_looks))


class Multilook(LocalOperator):
    """Box average of ``la x lr`` blocks, decimated (real or complex).

    Parameters
    ----------
    looks : tuple of int
        ``(azimuth, range)`` looks, each >= 1. Default ``(5, 5)``.
    scene : dict
        Optional scene metadata (``inputs.master``). When given, only the
        range looks are taken from ``looks``; the azimuth looks are chosen by
        :func:`square_looks` for near-square ground pixels.

    Raises
    ------
    ValueError
        On looks that are not two integers >= 1.

    References
    ----------
    .. [1] R. Bamler, P. Hartl, "Synthetic aperture radar interferometry",
       Inverse Problems 14(4):R1-R54, 1998, sec. 6.2 (multilooking).
    .. [2] ISCE2 ``StripmapProc.numberOfLooks`` (looks from a posting).

    Examples
    --------
    >>> import numpy as np
    >>> from peppers.operators._arrays import apply_local
    >>> x = np.arange(24, dtype=np.float32).reshape(4, 6)
    >>> apply_local(Multilook(looks=(2, 3)), {"input": x})["output"].tolist()
    [[4.0, 7.0], [16.0, 19.0]]
    """

    name: ClassVar[str] = "multilook"
    edge_mode: ClassVar[str] = "nodata"
    params = (Param("looks", tuple, (5, 5), "looks (azimuth, range)",
                    key="insar.multilook.looks", ge=1),
              Param("scene", dict, {}, "scene metadata; if given, azimuth looks for square pixels"))

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        looks = positive_pair(self.label, "looks", self.looks)
        if self.scene:
            looks = square_looks(self.scene, looks[1])
        self.looks = looks

    def output_spec(self, input_specs: Mapping[str, ImageSpec]) -> dict[str, ImageSpec]:
        spec = input_specs["input"]
        dtype = working_dtype(spec.dtype, self.label)
        shape = (spec.shape[0] // self.looks[0], spec.shape[1] // self.looks[1])
        return {"output": ImageSpec(shape, dtype, spec.nodata, None)}

    def input_region(self, output_region: Region,
                     input_specs: Mapping[str, ImageSpec]) -> dict[str, Region]:
        la, lr = self.looks
        return {"input": Region(output_region.row * la, output_region.col * lr,
                                output_region.height * la, output_region.width * lr)}

    def compute(self, inputs: Mapping[str, np.ndarray],
                output_region: Region) -> dict[str, np.ndarray]:
        la, lr = self.looks
        dtype = working_dtype(inputs["input"].dtype, self.label)
        shape = (output_region.height * la, output_region.width * lr)
        x = prepare_input(self.label, "input", inputs["input"], shape, dtype)
        out = np.empty(output_region.shape, dtype=dtype)
        if out.size:
            acc = np.empty(output_region.width, dtype=accumulator_dtype(dtype))
            kernels.block_mean(x, la, lr, acc, out)
        return {"output": out}


class FringeMultilook(Multilook):
    """Multilook of a complex interferogram with the local fringe removed per block.

    Inputs ``input`` (complex interferogram), ``slope_rows`` and
    ``slope_cols`` (its local fringe frequency, cycles per pixel, on the same
    grid: :class:`~peppers.operators.slope.FringeSlope`). Output as
    :class:`Multilook`.

    Parameters
    ----------
    looks, scene
        As :class:`Multilook`.
    slope_compensation : bool
        Remove the local fringe before averaging (default True); False is
        the plain box average of :class:`Multilook`.

    Raises
    ------
    OperatorError
        From :meth:`output_spec` if the inputs differ in shape or the
        interferogram is not complex.

    References
    ----------
    .. [1] E. Trouve, J.-M. Nicolas, H. Maitre, "Improving phase unwrapping
       techniques by the use of local frequency estimates", IEEE TGRS
       36(6):1963-1972, 1998 (local-frequency adaptive complex filtering).
    .. [2] A. Taylor et al., GeoComputation 99 (InSAR-Peppers: the local
       fringe is demodulated before filtering).

    Examples
    --------
    >>> import numpy as np
    >>> from peppers.operators._arrays import apply_local
    >>> r, c = np.mgrid[:10, :10]
    >>> ifg = np.exp(2j * np.pi * 0.2 * c).astype(np.complex64)
    >>> slopes = {"slope_rows": np.zeros((10, 10)), "slope_cols": np.full((10, 10), 0.2)}
    >>> out = apply_local(FringeMultilook(looks=(5, 5)), {"input": ifg, **slopes})["output"]
    >>> round(float(abs(out[0, 0])), 4)
    1.0
    """

    name: ClassVar[str] = "fringe_multilook"
    inputs: ClassVar[tuple[str, ...]] = ("input", "slope_rows", "slope_cols")
    params = Multilook.params + (
        Param("slope_compensation", bool, True,
              "remove the local fringe of each block before averaging",
              key="insar.multilook.slope_compensation"),)

    def output_spec(self, input_specs: Mapping[str, ImageSpec]) -> dict[str, ImageSpec]:
        spec = input_specs["input"]
        if spec.dtype.kind != "c":
            raise OperatorError(f"{self.label}: input has dtype {spec.dtype}; expected a "
                                "complex interferogram")
        for port in ("slope_rows", "slope_cols"):
            if input_specs[port].shape != spec.shape:
                raise OperatorError(f"{self.label}: {port!r} {input_specs[port].shape} and "
                                    f"'input' {spec.shape} differ in shape; give both on one grid")
        return super().output_spec(input_specs)

    def input_region(self, output_region: Region,
                     input_specs: Mapping[str, ImageSpec]) -> dict[str, Region]:
        region = super().input_region(output_region, input_specs)["input"]
        return {"input": region, "slope_rows": region, "slope_cols": region}

    def compute(self, inputs: Mapping[str, np.ndarray],
                output_region: Region) -> dict[str, np.ndarray]:
        if not self.slope_compensation:
            return super().compute({"input": inputs["input"]}, output_region)
        la, lr = self.looks
        dtype = complex_dtype(working_dtype(inputs["input"].dtype, self.label))
        shape = (output_region.height * la, output_region.width * lr)
        x = prepare_input(self.label, "input", inputs["input"], shape, dtype)
        fr, fc = (prepare_input(self.label, port, inputs[port], shape, np.float64)
                  for port in ("slope_rows", "slope_cols"))
        out = np.empty(output_region.shape, dtype=dtype)
        if out.size:
            kernels.block_mean_demodulated(x, fr, fc, la, lr, out)
        return {"output": out}
