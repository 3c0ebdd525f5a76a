"""Pixel-wise operators: a linear phase ramp and the product of two images.

Design
------
Pixel-wise operators have no halo: the input region is the output region.
They still matter to the engine's correctness: :class:`PhaseRamp` depends on
the *absolute* pixel coordinates of the output region, so an engine that
passes a wrong region offset gives a visibly wrong ramp, and
:class:`Multiply` has two inputs (the interferogram ``m * conj(s)`` later),
so an engine that mixes up ports or misaligns two inputs is caught.

Both call fused numba loops (:mod:`peppers.operators._pixelwise_kernels`)
that release the GIL; the ramp phase is computed in double precision.
Edge mode ``nodata``: with no halo it never applies.
"""

from __future__ import annotations

from typing import ClassVar, Mapping

import numpy as np

from peppers.errors import OperatorError
from peppers.image import ImageSpec, Region
from peppers.operator import LocalOperator, Param
from peppers.operators import _pixelwise_kernels as kernels
from peppers.operators._arrays import complex_dtype, prepare_input, working_dtype


class PhaseRamp(LocalOperator):
    """Multiply by a linear phase ramp in absolute pixel coordinates.

    ``out[r, c] = x[r, c] * exp(-1j * (row_rate * r + col_rate * c))`` where
    ``(r, c)`` are pixel coordinates in the whole image. A real input gives
    a complex output of the same precision.

    Parameters
    ----------
    row_rate : float
        Phase rate along rows (azimuth), radians per line.
    col_rate : float
        Phase rate along columns (range), radians per sample.

    Notes
    -----
    Demodulating by a ramp is the basic step of flat-earth phase removal
    and of shifting a spectrum to baseband (a ramp of rate ``a`` shifts the
    spectrum by ``-a / (2 pi)`` cycles per pixel).

    References
    ----------
    .. [1] R. Bamler, P. Hartl, "Synthetic aperture radar interferometry",
       Inverse Problems 14(4):R1-R54, 1998, sec. 4 (flat-earth phase).

    Examples
    --------
    >>> import numpy as np
    >>> from peppers.ppe import apply
    >>> out = apply(PhaseRamp(row_rate=0.0, col_rate=np.pi / 2), np.ones((1, 3), np.complex64))
    >>> np.round(out, 6).tolist()
    [[(1+0j), -1j, (-1-0j)]]
    """

    name: ClassVar[str] = "phase_ramp"
    edge_mode: ClassVar[str] = "nodata"
    params = (Param("row_rate", float, 0.0, "phase rate along rows, rad/line"),
              Param("col_rate", float, 0.0, "phase rate along columns, rad/sample"))

    def output_spec(self, input_specs: Mapping[str, ImageSpec]) -> dict[str, ImageSpec]:
        spec = input_specs["input"]
        dtype = complex_dtype(working_dtype(spec.dtype, self.label))
        return {"output": ImageSpec(spec.shape, dtype, spec.nodata, spec.geo)}

    def compute(self, inputs: Mapping[str, np.ndarray],
                output_region: Region) -> dict[str, np.ndarray]:
        dtype = working_dtype(inputs["input"].dtype, self.label)
        x = prepare_input(self.label, "input", inputs["input"], output_region.shape, dtype)
        out = np.empty(output_region.shape, dtype=complex_dtype(dtype))
        kernels.phase_ramp(x, output_region.row, output_region.col,
                           self.row_rate, self.col_rate, out)
        return {"output": out}


class Multiply(LocalOperator):
    """Product of two images, ``a * conj(b)`` (default) or ``a * b``.

    With two co-registered SLCs ``a = master``, ``b = slave`` this is the
    complex interferogram. Both images must have the same shape; the output
    dtype is the common working dtype of the two (``complex64`` for two
    ``complex64`` images).

    Parameters
    ----------
    conjugate : bool
        Conjugate the second input (default True).

    Raises
    ------
    OperatorError
        From :meth:`output_spec` if the two inputs differ in shape.

    References
    ----------
    .. [1] R. Bamler, P. Hartl, "Synthetic aperture radar interferometry",
       Inverse Problems 14(4):R1-R54, 1998, eq. (9) (interferogram formation).

    Examples
    --------
    >>> import numpy as np
    >>> from peppers.ppe import apply
    >>> a = np.full((1, 1), 1j, np.complex64)
    >>> apply(Multiply(), a=a, b=a).tolist()
    [[(1+0j)]]
    """

    name: ClassVar[str] = "multiply"
    edge_mode: ClassVar[str] = "nodata"
    inputs: ClassVar[tuple[str, ...]] = ("a", "b")
    params = (Param("conjugate", bool, True, "multiply by the conjugate of the second input"),)

    def _dtype(self, a_dtype, b_dtype) -> np.dtype:
        return np.result_type(working_dtype(a_dtype, self.label, "a"),
                              working_dtype(b_dtype, self.label, "b"))

    def output_spec(self, input_specs: Mapping[str, ImageSpec]) -> dict[str, ImageSpec]:
        a, b = input_specs["a"], input_specs["b"]
        if a.shape != b.shape:
            raise OperatorError(f"{self.label}: inputs 'a' {a.shape} and 'b' {b.shape} "
                                "differ in shape; resample one onto the other's grid first")
        return {"output": ImageSpec(a.shape, self._dtype(a.dtype, b.dtype), a.nodata, a.geo)}

    def compute(self, inputs: Mapping[str, np.ndarray],
                output_region: Region) -> dict[str, np.ndarray]:
        dtype = self._dtype(inputs["a"].dtype, inputs["b"].dtype)
        a = prepare_input(self.label, "a", inputs["a"], output_region.shape, dtype)
        b = prepare_input(self.label, "b", inputs["b"], output_region.shape, dtype)
        out = np.empty(output_region.shape, dtype=dtype)
        kernels.multiply(a, b, self.conjugate, out)
        return {"output": out}
