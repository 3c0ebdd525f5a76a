"""Adaptive interferogram filtering: Goldstein & Werner, coherence-driven (Baran).

Design
------
Goldstein & Werner (1998) filter an interferogram patch by patch: each
``P x P`` patch is transformed, its spectrum ``S`` is multiplied by
``|S|_k^alpha``, ``|S|_k`` the magnitude smoothed by a ``k x k`` mean (as
published; ``smooth``), and the patch is transformed back. A local fringe is one
strong spectral line, so the weighting keeps it and damps the noise spread
over the other frequencies: the filter follows the local fringe slope by
construction. ``alpha`` in ``[0, 1]`` sets the strength. Without the
smoothing (``k = 1``) the weight follows the noise's own random spectral
peaks; measured on simulated scenes with truth (``docs/stream1.md``) this
makes the coherent-ground phase error of the multilook it filters 1.3-1.8
times *worse*, while ``k = 7..9`` brings it well below. Defaults ``alpha = 0.5``, ``P = 24``,
``s = 12``, ``k = 9`` were chosen by that measurement (on steep, curved
fringes ``P = 32`` smooths the relief and can exceed the multilook's error).
Patches overlap (step ``s`` <= ``P``); overlapping results are blended with triangular
(Bartlett) weights, as ISCE2 ``psfilt`` and dolphin do.

Slope awareness. A fixed ``alpha`` over-smooths where the fringe is steep
and the coherence low, and under-smooths flat, noisy areas.
``method="baran"`` uses Baran et al. (2003): each patch gets ``alpha = 1 -
mean coherence`` over the patch's valid pixels (inside the image, interferogram
not 0), from the slope-compensated coherence
(:class:`~peppers.operators.coherence.Coherence`), so steep-but-coherent
fringes are left almost untouched while incoherent patches are filtered
hard (GMTSAR ``phasefilt`` with ``alpha < 0``, PyGMTSAR).
``method="goldstein"`` uses the fixed ``alpha``; ``method="none"`` copies
the input.

Tiling. Patch ``(a, b)`` covers rows ``a s - o .. a s - o + P - 1`` with
``o = (P - s) // 2`` (the same for columns): patches are anchored to the
image, each is computed from the same pixels wherever the tile lies, and a
pixel's output ``sum_k w_k F_k / sum_k w_k`` adds the same patches in the
same order. The triangular weight ``w(i) = 1 - |i + 1/2 - P/2| / (P/2)`` is
positive over the whole patch, so the normalisation never divides by zero.
Edges: ``constant`` (zero), so no mirrored fringe enters a border patch.
"""

from __future__ import annotations

from typing import Any, ClassVar, Mapping

import numpy as np

from peppers.errors import OperatorError
from peppers.image import ImageSpec, Region
from peppers.operator import LocalOperator, Param
from peppers.operators import _adaptive_kernels as kernels
from peppers.operators._arrays import complex_dtype, prepare_input, working_dtype
from peppers.operators.fft import get_plan

__all__ = ["AdaptiveFilter", "METHODS"]

METHODS = ("goldstein", "baran", "none")


class AdaptiveFilter(LocalOperator):
    """Goldstein-Werner patch filter with a fixed or coherence-driven exponent.

    Inputs: ``interferogram`` (complex) and ``coherence`` (real, same
    grid; read only by ``method="baran"``). Output ``output``: the filtered
    interferogram, same dtype.

    Parameters
    ----------
    method : {"goldstein", "baran", "none"}
        Fixed ``alpha``; ``alpha = 1 - mean patch coherence`` (Baran 2003);
        or no filtering. Default ``goldstein``.
    alpha : float
        Exponent of the spectral weighting for ``goldstein``, >= 0
        (default 0.5, as ISCE2, GMTSAR and dolphin).
    window : int
        Patch side ``P``, even, >= 4 (default 24; ISCE2, GMTSAR, dolphin: 32).
    step : int
        Patch step ``s``, ``1 <= s <= P`` (default 12 = ``P / 2``).
    smooth : int
        Odd side of the circular mean applied to ``|S|`` before weighting
        (default 9). Goldstein & Werner smooth the spectrum magnitude; 1
        (none, as ISCE2 ``psfilt``) weights the noise by its own random
        peaks and, on coherent ground, makes the phase *worse* than the
        unfiltered multilook (``docs/stream1.md``, measured).

    Raises
    ------
    ValueError
        On an unknown method or out-of-range parameter.
    OperatorError
        From :meth:`output_spec` if the inputs differ in shape or the
        interferogram is not complex.

    References
    ----------
    .. [1] R. M. Goldstein, C. L. Werner, "Radar interferogram filtering for
       geophysical applications", GRL 25(21):4035-4038, 1998.
    .. [2] I. Baran, M. P. Stewart, B. M. Kampes, Z. Perski, P. Lilly, "A
       modification to the Goldstein radar interferogram filter", IEEE TGRS
       41(9):2114-2118, 2003.
    .. [3] ISCE2 ``mroipac/filter/src/psfilt.c`` (NFFT 32, step 16,
       triangular weights).
    """

    name: ClassVar[str] = "adaptive_filter"
    edge_mode: ClassVar[str] = "constant"
    inputs: ClassVar[tuple[str, ...]] = ("interferogram", "coherence")
    params = (Param("method", str, "goldstein", "goldstein, baran (alpha = 1 - coherence) "
                                                "or none", key="insar.adaptive_filter.method",
                    choices=("goldstein", "baran", "none")),
              Param("alpha", float, 0.5, "spectral weighting exponent (goldstein)",
                    key="insar.adaptive_filter.alpha", ge=0),
              Param("window", int, 24, "patch side, pixels (even)",
                    key="insar.adaptive_filter.window", ge=2),
              Param("step", int, 12, "step between patches, pixels",
                    key="insar.adaptive_filter.step", ge=1),
              Param("smooth", int, 9, "odd side of the spectral magnitude smoothing",
                    key="insar.adaptive_filter.smooth"))

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        if self.method not in METHODS:
            raise ValueError(f"{self.label}: method must be one of {METHODS}, "
                             f"got {self.method!r}")
        if not self.alpha >= 0:
            raise ValueError(f"{self.label}: alpha must be >= 0, got {self.alpha!r}")
        if self.window < 4 or self.window % 2:
            raise ValueError(f"{self.label}: window must be even and >= 4, got {self.window}")
        if not 1 <= self.step <= self.window:
            raise ValueError(f"{self.label}: step must be in [1, window={self.window}], "
                             f"got {self.step}")
        if self.smooth < 1 or self.smooth % 2 == 0:
            raise ValueError(f"{self.label}: smooth must be odd and >= 1, got {self.smooth}")
        p = self.window
        self.offset = (p - self.step) // 2
        self.taper = 1.0 - np.abs(np.arange(p) + 0.5 - p / 2) / (p / 2)

    def output_spec(self, input_specs: Mapping[str, ImageSpec]) -> dict[str, ImageSpec]:
        ifg, coh = input_specs["interferogram"], input_specs["coherence"]
        if ifg.dtype.kind != "c":
            raise OperatorError(f"{self.label}: input 'interferogram' has dtype {ifg.dtype}; "
                                "expected a complex image")
        if coh.shape != ifg.shape:
            raise OperatorError(f"{self.label}: 'coherence' {coh.shape} and 'interferogram' "
                                f"{ifg.shape} differ in shape; give both on one grid")
        return {"output": ImageSpec(ifg.shape, ifg.dtype, ifg.nodata, ifg.geo)}

    def patches(self, output_region: Region) -> Region:
        """The patches (in patch coordinates) that overlap ``output_region``."""
        p, s, o = self.window, self.step, self.offset
        a0 = -((-(output_region.row + o - p + 1)) // s)
        b0 = -((-(output_region.col + o - p + 1)) // s)
        a1 = (output_region.row_stop - 1 + o) // s + 1
        b1 = (output_region.col_stop - 1 + o) // s + 1
        return Region.from_bounds(a0, a1, b0, b1)

    def input_region(self, output_region: Region,
                     input_specs: Mapping[str, ImageSpec]) -> dict[str, Region]:
        if self.method == "none":
            return {"interferogram": output_region, "coherence": output_region}
        patches = self.patches(output_region)
        p, s, o = self.window, self.step, self.offset
        area = Region(patches.row * s - o, patches.col * s - o,
                      (patches.height - 1) * s + p, (patches.width - 1) * s + p)
        return {"interferogram": area, "coherence": area}

    def compute(self, inputs: Mapping[str, np.ndarray],
                output_region: Region) -> dict[str, np.ndarray]:
        area = self.input_region(output_region, {})["interferogram"]
        dtype = complex_dtype(working_dtype(inputs["interferogram"].dtype, self.label,
                                            "interferogram"))
        x = prepare_input(self.label, "interferogram", inputs["interferogram"], area.shape, dtype)
        if self.method == "none":
            return {"output": x.copy()}
        coherence = None
        if self.method == "baran":
            coherence = prepare_input(self.label, "coherence", inputs["coherence"], area.shape,
                                      np.float64)
        p, s = self.window, self.step
        acc = np.zeros(output_region.shape, dtype=np.complex128)
        weights = np.zeros(output_region.shape, dtype=np.float64)
        if acc.size:
            forward = get_plan((p, p), dtype, "fft2")
            inverse = get_plan((p, p), dtype, "ifft2")
            magnitude = np.empty((p, p))
            patches = self.patches(output_region)
            row0, col0 = area.row - output_region.row, area.col - output_region.col
            for a in range(patches.height):
                for b in range(patches.width):
                    r, c = a * s, b * s
                    forward.input_array[...] = x[r:r + p, c:c + p]
                    alpha = self.alpha
                    if coherence is not None:
                        alpha = max(0.0, 1.0 - kernels.patch_mean(coherence, x, r, c, p))
                    kernels.weight_spectrum(forward(), alpha, self.smooth, magnitude,
                                            inverse.input_array)
                    kernels.accumulate(inverse(), self.taper, row0 + r, col0 + c, acc, weights)
        return {"output": (acc / weights).astype(dtype)}
