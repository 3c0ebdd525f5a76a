"""Local fringe slope from the peak of the interferogram's 2-D spectrum.

Design
------
Over a small window a topographic fringe is close to a plane wave
``exp(2 pi j (f_r r + f_c c))``: its 2-D spectrum is one line at the fringe
frequency ``(f_r, f_c)``, in cycles per pixel along azimuth (rows) and range
(columns). :class:`FringeSlope` zero-pads each window by ``oversampling``,
transforms it with pyFFTW (:mod:`peppers.operators.fft`), takes the bin of
maximum power and refines it by a parabola through the log-power of the
peak and its neighbours (:func:`peppers.operators._slope_kernels.spectral_peak`).
This is the local fringe-frequency estimator of Doris' range filter and of
the 1999 InSAR-Peppers design (windows 16 x 16 to 16 x 64).

Estimates are made on a grid of *nodes* anchored to the image: node
``(a, b)`` is centred on pixel ``(a step_r, b step_c)`` and its window covers
rows ``a step_r - rows // 2 ..`` (``rows`` of them) and the same for columns.
Each pixel gets the bilinear interpolation of the four nodes around it,
unwrapped across the +-0.5 cycles/pixel wrap. A node's estimate is the same FFT of the same pixels in
whatever tile it is computed, so the output does not depend on the tiling
(nodes on a tile border are computed by both tiles, identically). The
default step is half the window: estimates overlap by half.

Two methods give the peak. ``spectrum`` (the reference) transforms each
zero-padded window with pyFFTW and searches all ``o^2 N_r N_c`` bins.
``local`` (the default) finds the strongest bin of the plain spectrum (pyFFTW,
``BATCH`` windows per call) and evaluates the padded spectrum only within one
plain bin of it
(:func:`peppers.operators._slope_kernels.peaks_from_spectra`): the same bin on
clean fringes, 1e-6 cycles/pixel apart (float64 against pyFFTW's float32),
about ten times less arithmetic per node (``docs/stream1.md``).

Edges: ``constant`` (zero). A window sticking out of the image sees zeros,
which lower the peak but add no spurious frequency (a mirrored border would
fold the fringe into its negative frequency).

The sign convention matches :mod:`peppers.operators.coherence`: an
interferogram ``exp(2 pi j (f_r r + f_c c))`` gives ``(f_r, f_c)``, and the
phase gradient of the interferogram is ``2 pi (f_r, f_c)`` radians per pixel.
"""

from __future__ import annotations

from typing import Any, ClassVar, Mapping

import numpy as np

from peppers.errors import OperatorError
from peppers.image import ImageSpec, Region
from peppers.operator import LocalOperator, Param
from peppers.operators import _slope_kernels as kernels
from peppers.operators._arrays import complex_dtype, positive_pair, prepare_input, working_dtype
from peppers.operators.fft import get_plan

__all__ = ["FringeSlope", "METHODS"]

#: Peak searches: coarse-to-fine (default) and the full padded FFT (reference).
METHODS = ("local", "spectrum")

#: Windows per FFTW call of the ``local`` search (a fixed batch: one plan for all tiles).
BATCH = 32


class FringeSlope(LocalOperator):
    """Local fringe frequency of an interferogram, cycles per pixel.

    Input ``input``: a complex interferogram (flattened or not). Outputs
    ``rows`` and ``cols``: ``float32`` fringe frequency along azimuth and
    range, in ``[-0.5, 0.5)`` cycles per pixel.

    Parameters
    ----------
    window : tuple of int
        Estimation window ``(rows, cols)``, each >= 2 (1999 design: 16 x 16
        to 16 x 64). Default ``(16, 32)``.
    oversampling : int
        Zero-padding factor of the FFT (>= 1; default 4): the spectrum is
        sampled every ``1 / (oversampling * window)`` cycles per pixel
        before the sub-bin refinement.
    step : tuple of int
        Spacing of the estimation nodes ``(rows, cols)``; ``(0, 0)`` (the
        default) means half the window.
    method : {"local", "spectrum"}
        ``local`` (default): coarse-to-fine peak search; ``spectrum``: the
        full zero-padded FFT of every window (the reference).

    Raises
    ------
    ValueError
        On a bad window, oversampling, step or method.

    Notes
    -----
    Accuracy, measured by ``tests/test_operators_slope.py``: on a noise-free plane
    fringe the error is below 1e-3 cycles/pixel; at coherence 0.5 in a
    16 x 32 window, below 0.01 cycles/pixel (std). Cost per node: ``spectrum``
    one complex FFT of ``oversampling^2 rows cols`` points; ``local`` one of
    ``rows cols`` points and ``(2 oversampling + 3)^2 rows`` more
    multiply-adds.

    References
    ----------
    .. [1] B. M. Kampes, R. F. Hanssen, Z. Perski, "Radar interferometry
       with public domain tools" (Doris), FRINGE 2003; Doris user manual,
       range filtering: local fringe frequency from the peak of the
       interferogram's power spectrum.
    .. [2] M. Gasior, J. L. Gonzalez, "Improving FFT frequency measurement
       resolution by parabolic and Gaussian spectrum interpolation", AIP
       Conf. Proc. 732:276-285, 2004.
    .. [3] A. Taylor et al., GeoComputation 99 (InSAR-Peppers: fringe slope
       from the 2-D spectrum over 16 x 16 to 16 x 64 windows).

    Examples
    --------
    >>> import numpy as np
    >>> from peppers.operators._arrays import apply_local
    >>> r, c = np.mgrid[:64, :64]
    >>> ifg = np.exp(2j * np.pi * (0.1 * r - 0.2 * c)).astype(np.complex64)
    >>> out = apply_local(FringeSlope(), {"input": ifg})
    >>> round(float(out["rows"][32, 32]), 3), round(float(out["cols"][32, 32]), 3)
    (0.1, -0.2)
    """

    name: ClassVar[str] = "fringe_slope"
    edge_mode: ClassVar[str] = "constant"
    outputs: ClassVar[tuple[str, ...]] = ("rows", "cols")
    params = (Param("window", tuple, (16, 32), "estimation window (rows, cols)",
                    key="insar.slope.window", ge=2),
              Param("oversampling", int, 4, "zero-padding factor of the slope FFT",
                    key="insar.slope.oversampling", ge=1),
              Param("step", tuple, (0, 0), "node spacing (rows, cols); (0, 0) = half the window"),
              Param("method", str, "local", "peak search: local (coarse-to-fine) or spectrum "
                    "(full padded FFT, the reference)", key="insar.slope.method",
                    choices=METHODS))

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        self.window = positive_pair(self.label, "window", self.window, minimum=2)
        if self.oversampling < 1:
            raise ValueError(f"{self.label}: oversampling must be >= 1, got {self.oversampling}")
        step = positive_pair(self.label, "step", self.step, minimum=0)
        if step == (0, 0):
            step = (max(1, self.window[0] // 2), max(1, self.window[1] // 2))
        self.step = positive_pair(self.label, "step", step)
        if self.method not in METHODS:
            raise ValueError(f"{self.label}: method must be one of {METHODS}, got {self.method!r}")
        self.fft_shape = (self.window[0] * self.oversampling, self.window[1] * self.oversampling)
        self._tables = None
        if self.method == "local":
            self._tables = tuple(part for n in self.window
                                 for part in kernels.split(kernels.dft_table(n, self.oversampling)))

    def output_spec(self, input_specs: Mapping[str, ImageSpec]) -> dict[str, ImageSpec]:
        spec = input_specs["input"]
        if spec.dtype.kind != "c":
            raise OperatorError(f"{self.label}: input has dtype {spec.dtype}; expected a "
                                "complex interferogram")
        out = ImageSpec(spec.shape, np.float32, None, spec.geo)
        return {"rows": out, "cols": out}

    def nodes(self, output_region: Region) -> Region:
        """The estimation nodes (in node coordinates) that ``output_region`` uses."""
        sr, sc = self.step
        a0, b0 = output_region.row // sr, output_region.col // sc
        a1 = (output_region.row_stop - 1) // sr + 2
        b1 = (output_region.col_stop - 1) // sc + 2
        return Region.from_bounds(a0, a1, b0, b1)

    def input_region(self, output_region: Region,
                     input_specs: Mapping[str, ImageSpec]) -> dict[str, Region]:
        nodes = self.nodes(output_region)
        (sr, sc), (wr, wc) = self.step, self.window
        return {"input": Region(nodes.row * sr - wr // 2, nodes.col * sc - wc // 2,
                                (nodes.height - 1) * sr + wr, (nodes.width - 1) * sc + wc)}

    def compute(self, inputs: Mapping[str, np.ndarray],
                output_region: Region) -> dict[str, np.ndarray]:
        nodes = self.nodes(output_region)
        asked = self.input_region(output_region, {})["input"]
        dtype = complex_dtype(working_dtype(inputs["input"].dtype, self.label))
        x = prepare_input(self.label, "input", inputs["input"], asked.shape, dtype)
        out_r = np.empty(output_region.shape, dtype=np.float32)
        out_c = np.empty(output_region.shape, dtype=np.float32)
        if out_r.size == 0:
            return {"rows": out_r, "cols": out_c}
        node_fr = np.empty(nodes.shape)
        node_fc = np.empty(nodes.shape)
        (sr, sc), (wr, wc) = self.step, self.window
        if self._tables is not None:
            # plain spectra by FFTW, BATCH windows a call (always a full batch, so
            # every node goes through the same plan whatever the tile)
            plan = get_plan(self.window, dtype, "fft2", batch=BATCH)
            total = nodes.height * nodes.width
            for first in range(0, total, BATCH):
                count = min(BATCH, total - first)
                kernels.gather_windows(x, first, nodes.width, sr, sc, count, plan.input_array)
                kernels.peaks_from_spectra(x, plan(), first, nodes.width, sr, sc, count,
                                           self.oversampling, *self._tables, node_fr, node_fc)
        else:
            plan = get_plan(self.fft_shape, dtype, "fft2")
            staging = plan.input_array
            for a in range(nodes.height):
                for b in range(nodes.width):
                    staging[...] = 0
                    staging[:wr, :wc] = x[a * sr:a * sr + wr, b * sc:b * sc + wc]
                    node_fr[a, b], node_fc[a, b] = kernels.spectral_peak(plan())
        kernels.interpolate_frequencies(node_fr, node_fc, output_region.row, output_region.col,
                                        nodes.row, nodes.col, sr, sc, out_r, out_c)
        return {"rows": out_r, "cols": out_c}
