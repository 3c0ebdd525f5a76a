"""Resampling through a 2-D polynomial offset field (windowed sinc).

Design
------
:class:`PolynomialResampler` moves pixels: output ``(R, C)`` takes the input
at ``(R + dr(R, C), C + dc(R, C))``, where ``dr`` and ``dc`` are the 2-D
polynomials that coregistration fits (slave resampled onto the master
grid). The interpolator is a Kaiser-windowed sinc with normalised weights
tabulated at 8192 sub-pixel steps (the kernel of
:mod:`peppers.operators._resample_kernels`).

Because it moves pixels, the operator cannot answer
:meth:`~PolynomialResampler.input_region` with a fixed halo: it bounds the
mapped positions over the output region and adds the interpolator's half
width. The bound is conservative by construction: the mapping is sampled
on a grid (corners, border and interior, at most 65 x 65 points), and the
largest possible excursion between samples is added, ``h/2`` times an
interval-arithmetic bound of the mapping's derivative over the region (mean
value theorem). Interior extrema and a polynomial that bulges between the
corners are therefore covered. The kernel still checks every access and the
operator raises if any pixel fell outside (that would be a bug, not bad
data).

Polynomial convention
---------------------
Coefficients are listed by total degree, and within a degree by decreasing
power of ``u``: ``[1, u, v, u^2, u v, v^2, u^3, u^2 v, u v^2, v^3, ...]``,
with ``u = (R - center[0]) / scale[0]`` and ``v = (C - center[1]) / scale[1]``
(normalised coordinates keep high-order fits well conditioned). A list of
length 1, 3, 6, 10 ... is a polynomial of order 0, 1, 2, 3 ...

Edge mode ``constant``: input pixels outside the image are zero, the
natural fill for a complex SLC (whose no-data value is 0+0j).

Azimuth carrier
---------------
``carrier`` (see :func:`carrier_table`) gives the azimuth carrier of the
*input* image (Doppler centroid over PRF, plus the TOPS steering ramp), in
cycles per line on a regular grid of input pixel positions; the kernel
demodulates before and remodulates after the interpolation (method in
:mod:`peppers.operators._resample_kernels`). Without it the input is taken
as baseband, today's assumption for zero-Doppler ``peppers-slc/1`` scenes.

Dense offsets
-------------
:class:`OffsetRasterResampler` adds two offset rasters on the output grid
(inputs ``row_offset`` and ``col_offset``, float pixels, input position
minus output position) to the polynomial; the parameter ``raster_bound``
bounds ``|raster|`` per axis so the input region stays computable without
reading the rasters (the kernel still checks every pixel). With a
``raster_reference`` polynomial ``q`` the rasters are taken relative to it:
the kernel is given ``raster - q`` (bounded by ``raster_bound``) while ``q``
is already part of the polynomial, so that a large smooth geometric offset
costs no wider slave read than its terrain-driven residual. A non-finite
raster value (a reference-DEM void) and a pixel outside ``image_shape``
(the filter halos) take the reference alone. The contract is in
``docs/coregistration.md``.
"""

from __future__ import annotations

import functools
import math
from typing import Any, ClassVar, Mapping

import numpy as np

from peppers.errors import OperatorError
from peppers.image import ImageSpec, Region
from peppers.operator import LocalOperator, Param
from peppers.operators import _resample_kernels as kernels
from peppers.operators._arrays import positive_pair, prepare_input, working_dtype

#: Sub-pixel steps of the weight table (as ISCE2's resampler: SINC_SUB 8192).
LUT_STEPS = 8192
#: Grid samples per axis used to bound the mapping over a region.
BOUND_SAMPLES = 65


def carrier_table(carrier: Mapping[str, Any], label: str) -> tuple[np.ndarray, float, float,
                                                                 float, float]:
    """Validate a carrier mapping; return ``(values, row0, col0, row_step, col_step)``.

    Parameters
    ----------
    carrier : mapping
        ``values`` (2-D list, cycles per line: Doppler centroid / PRF, plus
        the TOPS ramp), ``row0``, ``col0`` (input pixel position of
        ``values[0][0]``) and ``row_step``, ``col_step`` (grid spacing in
        input pixels; ignored along an axis of length 1). Empty: no carrier.
    label : str
        Names the operator in errors.

    Raises
    ------
    ValueError
        If a key is missing, the table is not a finite 2-D array or a step
        is not positive.
    """
    if not carrier:
        return np.zeros((0, 0)), 0.0, 0.0, 1.0, 1.0
    try:
        values = np.array(carrier["values"], dtype=np.float64)
        grid = [float(carrier[k]) for k in ("row0", "col0", "row_step", "col_step")]
    except KeyError as missing:
        raise ValueError(f"{label}: carrier lacks {missing}; expected values, row0, col0, "
                         "row_step, col_step") from None
    except (TypeError, ValueError):
        raise ValueError(f"{label}: carrier values must be a 2-D list of numbers") from None
    if values.ndim != 2 or values.size == 0 or not np.all(np.isfinite(values)):
        raise ValueError(f"{label}: carrier values must be a non-empty finite 2-D table, "
                         f"got shape {values.shape}")
    if not all(math.isfinite(g) for g in grid) or grid[2] <= 0 or grid[3] <= 0:
        raise ValueError(f"{label}: carrier row_step and col_step must be positive, "
                         f"got {grid[2:]}")
    return np.ascontiguousarray(values), *grid


def polynomial_powers(n_coefficients: int) -> tuple[np.ndarray, np.ndarray]:
    """Powers ``(pu, pv)`` of each coefficient in the module's ordering.

    Raises
    ------
    ValueError
        If ``n_coefficients`` is not a triangular number (1, 3, 6, 10, ...).
    """
    pu, pv = [], []
    degree = 0
    while len(pu) < n_coefficients:
        for i in range(degree, -1, -1):
            pu.append(i)
            pv.append(degree - i)
        degree += 1
    if len(pu) != n_coefficients:
        raise ValueError(f"a 2-D polynomial has 1, 3, 6, 10, ... coefficients, "
                         f"got {n_coefficients}")
    return np.array(pu, dtype=np.int64), np.array(pv, dtype=np.int64)


@functools.lru_cache(maxsize=8)
def sinc_table(taps: int, beta: float, steps: int = LUT_STEPS) -> np.ndarray:
    """Normalised Kaiser-windowed sinc weights per sub-pixel step.

    Row ``q`` holds the ``taps`` weights for fraction ``q / steps``, taps at
    offsets ``-taps/2 + 1 .. taps/2`` from the integer position; the window
    ``I0(beta sqrt(1 - (x / (taps/2))^2)) / I0(beta)`` spans the taps. Each
    row sums to one (so a constant is reproduced exactly); row 0 is the unit
    impulse, so integer shifts copy pixels unchanged.

    References
    ----------
    .. [1] J. F. Kaiser, "Nonrecursive digital filter design using the
       I0-sinh window function", Proc. IEEE ISCAS, 1974, pp. 20-23.
    .. [2] R. Hanssen, R. Bamler, "Evaluation of interpolation kernels for
       SAR interferometry", IEEE TGRS 37(1):318-321, 1999.
    """
    frac = np.arange(steps, dtype=np.float64) / steps
    offsets = np.arange(-taps // 2 + 1, taps // 2 + 1, dtype=np.float64)
    x = offsets[None, :] - frac[:, None]
    window = np.i0(beta * np.sqrt(np.clip(1.0 - (x / (taps / 2)) ** 2, 0.0, None)))
    weights = np.sinc(x) * window / np.i0(beta)
    weights /= weights.sum(axis=1, keepdims=True)
    weights[0] = 0.0
    weights[0, taps // 2 - 1] = 1.0
    weights.setflags(write=False)
    return weights


class PolynomialResampler(LocalOperator):
    """Resample an image through polynomial row and column offsets.

    ``out[R, C] = x(R + dr(R, C), C + dc(R, C))`` with a ``taps``-point
    Kaiser-windowed sinc per axis (separable, weights normalised to sum 1).

    Parameters
    ----------
    row_coeffs, col_coeffs : list of float
        Coefficients of ``dr`` and ``dc`` in the module's ordering (same
        length). Default: zero offsets.
    taps : int
        Interpolator length per axis, even, >= 4 (default 8).
    beta : float
        Kaiser window shape. The default 2.5 gives the smallest error for 8
        taps on a flat spectrum filling 85 % of the band (3.5 % RMS per axis,
        averaged over sub-pixel shifts; the best 8-tap least-squares filter
        reaches about 3 %); a spectrum filling half the band is best served
        by about 6 (0.06 %), and 16 taps by about 4.
    shape : tuple of int
        Output ``(rows, cols)``; empty (default) means the input's shape.
    center, scale : tuple of float
        Normalisation of the polynomial coordinates (default ``(0, 0)`` and
        ``(1, 1)``: raw pixel coordinates).
    carrier : dict
        Azimuth carrier of the input (see :func:`carrier_table`); empty
        (default): baseband input. Complex images only.

    Raises
    ------
    ValueError
        Bad coefficient lists, taps, beta, shape or scale.
    OperatorError
        From :meth:`compute` if a pixel needs input outside the supplied
        region.

    References
    ----------
    .. [1] R. Hanssen, R. Bamler, "Evaluation of interpolation kernels for
       SAR interferometry", IEEE TGRS 37(1):318-321, 1999.
    .. [2] ISCE2 ``components/zerodop/GPUresampslc`` (8 taps, 8192 steps).

    Examples
    --------
    A shift by whole pixels copies pixels. The request is the mapped box
    plus the taps (here one row and one column more than the least, as the
    bound's rounding margin reaches below the exact integer positions):

    >>> import numpy as np
    >>> from peppers.ppe import apply
    >>> op = PolynomialResampler(row_coeffs=[2.0], col_coeffs=[-1.0])
    >>> op.input_region(Region(10, 10, 4, 4), {})["input"]
    Region(row=8, col=5, height=12, width=12)
    >>> x = np.arange(48.0).reshape(6, 8)
    >>> apply(op, x)[:2, :4]
    array([[ 0., 16., 17., 18.],
           [ 0., 24., 25., 26.]])
    """

    name: ClassVar[str] = "polynomial_resample"
    edge_mode: ClassVar[str] = "constant"
    params = (
        Param("row_coeffs", list, [0.0], "coefficients of the row offset polynomial dr"),
        Param("col_coeffs", list, [0.0], "coefficients of the column offset polynomial dc"),
        Param("taps", int, 8, "windowed-sinc taps per axis (even, >= 4)"),
        Param("beta", float, 2.5, "Kaiser window beta"),
        Param("shape", tuple, (), "output (rows, cols); empty: the input's shape"),
        Param("center", tuple, (0.0, 0.0), "polynomial coordinate origin (row, col)"),
        Param("scale", tuple, (1.0, 1.0), "polynomial coordinate scale (row, col)"),
        Param("carrier", dict, {}, "azimuth carrier table of the input (cycles/line)"),
    )

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        label = self.label
        try:
            rc = np.array(self.row_coeffs, dtype=np.float64)
            cc = np.array(self.col_coeffs, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{label}: row_coeffs and col_coeffs must be lists of numbers, "
                             f"got {self.row_coeffs!r} and {self.col_coeffs!r}") from None
        if rc.ndim != 1 or rc.shape != cc.shape or not np.all(np.isfinite(rc + cc)):
            raise ValueError(f"{label}: row_coeffs ({rc.size}) and col_coeffs ({cc.size}) "
                             "must be finite lists of the same length")
        self._pu, self._pv = polynomial_powers(rc.size)
        self._row_coef, self._col_coef = rc, cc
        if self.taps < 4 or self.taps % 2:
            raise ValueError(f"{label}: taps must be even and >= 4, got {self.taps}")
        if not (math.isfinite(self.beta) and self.beta >= 0):
            raise ValueError(f"{label}: beta must be finite and >= 0, got {self.beta}")
        if self.shape:
            self.shape = positive_pair(label, "shape", self.shape)
        self.center = tuple(float(v) for v in self.center)
        self.scale = tuple(float(v) for v in self.scale)
        if len(self.center) != 2 or len(self.scale) != 2 or min(map(abs, self.scale)) == 0:
            raise ValueError(f"{label}: center and scale must be (row, col) pairs with "
                             f"non-zero scale, got {self.center!r} and {self.scale!r}")
        self.halo = (self.taps // 2, self.taps // 2)
        self._carrier = carrier_table(self.carrier, label)

    # -- geometry -------------------------------------------------------------
    def _offsets(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``dr, dc`` at the grid ``rows x cols`` (absolute pixel coordinates)."""
        u = (rows[:, None] - self.center[0]) / self.scale[0]
        v = (cols[None, :] - self.center[1]) / self.scale[1]
        dr = np.zeros((rows.size, cols.size))
        dc = np.zeros_like(dr)
        for a, b, p, q in zip(self._row_coef, self._col_coef, self._pu, self._pv):
            term = u ** p * v ** q
            dr += a * term
            dc += b * term
        return dr, dc

    def _slope_bounds(self, coef: np.ndarray, region: Region) -> tuple[float, float]:
        """Bounds of ``|d poly/dR|`` and ``|d poly/dC|`` over ``region`` (interval rule)."""
        corners_r = (region.row, region.row_stop - 1)
        corners_c = (region.col, region.col_stop - 1)
        umax = max(abs((r - self.center[0]) / self.scale[0]) for r in corners_r)
        vmax = max(abs((c - self.center[1]) / self.scale[1]) for c in corners_c)
        dr_bound = dc_bound = 0.0
        for a, p, q in zip(np.abs(coef), self._pu, self._pv):
            if p:
                dr_bound += a * p * umax ** (p - 1) * vmax ** q
            if q:
                dc_bound += a * q * umax ** p * vmax ** (q - 1)
        return dr_bound / abs(self.scale[0]), dc_bound / abs(self.scale[1])

    def mapped_bounds(self, output_region: Region) -> tuple[float, float, float, float]:
        """Conservative ``(row_min, row_max, col_min, col_max)`` of the mapped positions.

        Every output pixel of ``output_region`` maps to a position inside
        these bounds. Two valid bounds are intersected: the sampled position
        ``R + dr`` widened by its slope bound times half the sample step, and
        the range of ``R`` plus the sampled range of ``dr`` widened by the
        slope bound of ``dr`` alone (tight when the offsets vary little over
        the region, the usual case).
        """
        n_r = min(output_region.height, BOUND_SAMPLES)
        n_c = min(output_region.width, BOUND_SAMPLES)
        rows = np.linspace(output_region.row, output_region.row_stop - 1, n_r)
        cols = np.linspace(output_region.col, output_region.col_stop - 1, n_c)
        # With every pixel sampled there is nothing between samples to bound.
        half_r = 0.0 if n_r == output_region.height else (output_region.height - 1) / (n_r - 1) / 2
        half_c = 0.0 if n_c == output_region.width else (output_region.width - 1) / (n_c - 1) / 2
        offsets = self._offsets(rows, cols)
        axes = ((rows[:, None], output_region.row, output_region.row_stop - 1, (1.0, 0.0)),
                (cols[None, :], output_region.col, output_region.col_stop - 1, (0.0, 1.0)))
        bounds: list[float] = []
        for (grid, first, last, unit), off, coef in zip(axes, offsets,
                                                         (self._row_coef, self._col_coef)):
            slope_r, slope_c = self._slope_bounds(coef, output_region)
            off_margin = slope_r * half_r + slope_c * half_c
            pos_margin = off_margin + unit[0] * half_r + unit[1] * half_c
            pos = grid + off
            lo = max(float(pos.min()) - pos_margin, first + float(off.min()) - off_margin)
            hi = min(float(pos.max()) + pos_margin, last + float(off.max()) + off_margin)
            eps = 1e-6 + 1e-12 * max(abs(lo), abs(hi))
            bounds += [lo - eps, hi + eps]
        return tuple(bounds)

    # -- operator API -----------------------------------------------------------
    def output_spec(self, input_specs: Mapping[str, ImageSpec]) -> dict[str, ImageSpec]:
        spec = input_specs["input"]
        shape = tuple(self.shape) if self.shape else spec.shape
        return {"output": ImageSpec(shape, working_dtype(spec.dtype, self.label),
                                    spec.nodata, spec.geo)}

    def input_region(self, output_region: Region,
                     input_specs: Mapping[str, ImageSpec]) -> dict[str, Region]:
        """Bounding box of the mapped ``output_region`` plus the taps."""
        if output_region.is_empty:
            return {"input": Region(output_region.row, output_region.col, 0, 0)}
        r_lo, r_hi, c_lo, c_hi = self.mapped_bounds(output_region)
        half = self.taps // 2
        carry = 1.0 / LUT_STEPS  # a fraction rounded up to the next integer
        return {"input": Region.from_bounds(
            math.floor(r_lo) - half + 1, math.floor(r_hi + carry) + half + 1,
            math.floor(c_lo) - half + 1, math.floor(c_hi + carry) + half + 1)}

    def compute(self, inputs: Mapping[str, np.ndarray],
                output_region: Region) -> dict[str, np.ndarray]:
        return {"output": self.resample(inputs["input"], output_region)}

    def resample(self, image: np.ndarray, output_region: Region,
                 rasters: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """Resample ``image`` (exactly :meth:`input_region`) onto ``output_region``.

        ``rasters``: optional dense ``(row, col)`` offsets of ``output_region``'s
        shape, added to the polynomial.
        """
        dtype = working_dtype(image.dtype, self.label)
        wanted = self.input_region(output_region, {})["input"]
        x = prepare_input(self.label, "input", image, wanted.shape, dtype)
        out = np.empty(output_region.shape, dtype=dtype)
        if out.size == 0:
            return out
        ncomp = 2 if dtype.kind == "c" else 1
        if self._carrier[0].size and ncomp == 1:
            raise OperatorError(f"{self.label}: an azimuth carrier needs a complex input, "
                                f"got {dtype}")
        real = np.dtype(dtype.char.lower()) if ncomp == 2 else dtype  # complex64 -> float32
        if rasters is None:
            row_raster = col_raster = np.zeros((0, 0))
        else:
            row_raster, col_raster = (prepare_input(self.label, port, r, output_region.shape,
                                                    np.float64)
                                      for port, r in zip(("row_offset", "col_offset"), rasters))
        table, c_r0, c_c0, c_dr, c_dc = self._carrier
        outside = kernels.resample(
            x.view(real), wanted.row, wanted.col, output_region.row, output_region.col,
            self._row_coef, self._col_coef, self._pu, self._pv,
            self.center[0], self.center[1], self.scale[0], self.scale[1],
            sinc_table(self.taps, float(self.beta)), ncomp, out.view(real),
            row_raster, col_raster, table, c_r0, c_c0, c_dr, c_dc)
        if outside:
            raise OperatorError(
                f"{self.label}: {outside} pixel(s) of output {output_region} map outside "
                f"the input region {wanted} ({self._too_far})")
        return out

    #: What an access outside the requested input means (a bug, or a raster beyond its bound).
    _too_far = "input_region bound is too tight"


class OffsetRasterResampler(PolynomialResampler):
    """Resample through dense offset rasters (plus the polynomial).

    ``out[R, C] = x(R + dr(R, C) + row_offset[R, C] - qr(R, C), ...)`` (and
    likewise for columns) with the polynomial ``dr, dc`` of
    :class:`PolynomialResampler` (default zero), the rasters on the output
    grid (inputs ``row_offset`` and ``col_offset``, pixels; e.g. geometric
    offsets from the orbits and a DEM) and the optional reference
    polynomial ``qr, qc`` (default zero). The input region is the
    polynomial's, widened by ``raster_bound``.

    Parameters
    ----------
    raster_bound : tuple of float
        ``(rows, cols)``: an upper bound of ``|row_offset - qr|`` and
        ``|col_offset - qc|`` over the image, pixels.
    raster_reference : dict
        ``row_coeffs``, ``col_coeffs`` of ``qr, qc`` (the ``center`` and
        ``scale`` of the polynomial); empty: zero.
    image_shape : tuple of int
        The rasters' image shape; pixels outside it (and non-finite raster
        values) take ``raster = q``. Empty: every pixel is inside.
    **values
        The parameters of :class:`PolynomialResampler`.

    Raises
    ------
    ValueError
        If ``raster_bound`` is not two finite non-negative numbers, or the
        reference is not a pair of coefficient lists.
    OperatorError
        From :meth:`compute` if a raster value exceeds the bound (the pixel
        would need input outside the region read), naming how many pixels.
    """

    name: ClassVar[str] = "offset_raster_resample"
    inputs: ClassVar[tuple[str, ...]] = ("input", "row_offset", "col_offset")
    params = PolynomialResampler.params + (
        Param("raster_bound", tuple, (), "bound of |row_offset|, |col_offset| (rows, cols), px"),
        Param("raster_reference", dict, {}, "polynomial the rasters are taken relative to"),
        Param("image_shape", tuple, (), "image shape of the rasters (rows, cols)"),
    )
    _too_far = "an offset raster exceeds raster_bound"

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        self.raster_bound = raster_bound(self.label, self.raster_bound)
        ref = self.raster_reference or {}
        self._reference = None
        if ref:
            try:
                self._reference = PolynomialResampler(
                    row_coeffs=list(ref["row_coeffs"]), col_coeffs=list(ref["col_coeffs"]),
                    center=self.center, scale=self.scale)
            except (KeyError, TypeError, ValueError) as error:
                raise ValueError(f"{self.label}: raster_reference must hold row_coeffs and "
                                 f"col_coeffs lists ({error})") from None
        if self.image_shape:
            self.image_shape = positive_pair(self.label, "image_shape", self.image_shape)

    def mapped_bounds(self, output_region: Region) -> tuple[float, float, float, float]:
        r_lo, r_hi, c_lo, c_hi = super().mapped_bounds(output_region)
        br, bc = self.raster_bound
        return r_lo - br, r_hi + br, c_lo - bc, c_hi + bc

    def output_spec(self, input_specs: Mapping[str, ImageSpec]) -> dict[str, ImageSpec]:
        spec = input_specs["input"]
        for port in ("row_offset", "col_offset"):
            if self.shape and input_specs[port].shape != tuple(self.shape):
                raise OperatorError(f"{self.label}: {port} is {input_specs[port].shape}, "
                                    f"the output {tuple(self.shape)}")
        shape = tuple(self.shape) if self.shape else input_specs["row_offset"].shape
        return {"output": ImageSpec(shape, working_dtype(spec.dtype, self.label),
                                    spec.nodata, spec.geo)}

    def input_region(self, output_region: Region,
                     input_specs: Mapping[str, ImageSpec]) -> dict[str, Region]:
        regions = super().input_region(output_region, input_specs)
        return {**regions, "row_offset": output_region, "col_offset": output_region}

    def relative_rasters(self, rasters: tuple[np.ndarray, np.ndarray],
                         region: Region) -> tuple[np.ndarray, np.ndarray]:
        """``raster - q`` over ``region``: 0 where a raster is non-finite or outside the image."""
        out = [prepare_input(self.label, port, r, region.shape, np.float64).copy()
               for port, r in zip(("row_offset", "col_offset"), rasters)]
        if self._reference is not None:
            ref = self._reference._offsets(np.arange(region.row, region.row_stop, dtype=float),
                                           np.arange(region.col, region.col_stop, dtype=float))
            out = [r - q for r, q in zip(out, ref)]
        bad = ~(np.isfinite(out[0]) & np.isfinite(out[1]))
        if self.image_shape:
            rows = np.arange(region.row, region.row_stop)
            cols = np.arange(region.col, region.col_stop)
            bad |= ((rows < 0) | (rows >= self.image_shape[0]))[:, None]
            bad |= ((cols < 0) | (cols >= self.image_shape[1]))[None, :]
        for r in out:
            r[bad] = 0.0
        return out[0], out[1]

    def total_offsets(self, rasters: tuple[np.ndarray, np.ndarray],
                      region: Region) -> tuple[np.ndarray, np.ndarray]:
        """The offsets the resampler applies over ``region``: polynomial + relative rasters."""
        rows = np.arange(region.row, region.row_stop, dtype=float)
        cols = np.arange(region.col, region.col_stop, dtype=float)
        poly = self._offsets(rows, cols)
        rel = self.relative_rasters(rasters, region)
        return poly[0] + rel[0], poly[1] + rel[1]

    def resample(self, image: np.ndarray, output_region: Region,
                 rasters: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        if rasters is not None:
            rasters = self.relative_rasters(rasters, output_region)
        return super().resample(image, output_region, rasters)

    def compute(self, inputs: Mapping[str, np.ndarray],
                output_region: Region) -> dict[str, np.ndarray]:
        return {"output": self.resample(inputs["input"], output_region,
                                        (inputs["row_offset"], inputs["col_offset"]))}


def raster_bound(label: str, value: Any) -> tuple[float, float]:
    """Validate a ``raster_bound`` pair (rows, cols) of finite non-negative pixels."""
    try:
        pair = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        pair = ()
    if len(pair) != 2 or not all(math.isfinite(v) and v >= 0 for v in pair):
        raise ValueError(f"{label}: raster_bound must be (rows, cols) bounds of the offset "
                         f"rasters in pixels, finite and >= 0, got {value!r}")
    return pair
