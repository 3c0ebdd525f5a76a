"""Neighbourhood filters: box mean and FFT convolution (Gaussian low-pass).

Design
------
Both filters are local operators with a halo, and both give bit-identical
results whatever the tiling, so a stream's output does not depend on the
tile size or the thread count.

:class:`BoxFilter` is the moving average used for coherence estimation and
multilooking. Its numba kernel (:func:`~peppers.operators._filter_kernels.box_mean`)
sums the window separably in a fixed order.

:class:`FFTConvolve` (any small real kernel) and :class:`GaussianFilter`
convolve by overlap-save (Oppenheim & Schafer, *Discrete-Time Signal
Processing*, 3rd ed., sec. 8.7.3) through pyFFTW. The blocks of overlap-save
are anchored to the *image*, not the tile: block ``(i, j)`` always covers
output rows ``[i B, (i + 1) B)`` and columns ``[j B, (j + 1) B)``. Each block
transforms its input (the block plus the kernel radius on every side),
zero-padded to a fast FFT length ``N >= B + 2 radius``, so the circular
convolution does not wrap into the valid part; the valid ``B x B`` part is
cropped out. An output pixel is thus always computed by the same transform
of the same numbers: FFT rounding does not change with the tiling. The
price is that :meth:`FFTConvolve.input_region` widens a request to whole
blocks; with tile sizes that are multiples of ``block`` (the default 128
divides the usual 256..1024) nothing is wasted.

Edge mode of both: ``reflect`` (mirror without repeating the edge pixel).
No-data pixels (NaN) spread over the window, as in any linear filter.
"""

from __future__ import annotations

import threading
from abc import abstractmethod
from typing import Any, ClassVar, Mapping

import numpy as np

from peppers.image import ImageSpec, Region
from peppers.operator import LocalOperator, Param
from peppers.operators import _filter_kernels as kernels
from peppers.operators._arrays import (accumulator_dtype, positive_pair, prepare_input,
                                       working_dtype)
from peppers.operators.fft import get_plan, next_fast_length


def _filtered_spec(owner: str, spec: ImageSpec) -> ImageSpec:
    """An output like ``spec`` in the working dtype of the filter."""
    return ImageSpec(spec.shape, working_dtype(spec.dtype, owner), spec.nodata, spec.geo)


class BoxFilter(LocalOperator):
    """Moving average over a ``rows x cols`` window (real or complex).

    Output pixel ``(r, c)`` is the mean of input rows ``r - rows//2 ..
    r - rows//2 + rows - 1`` and the same for columns (for odd sizes, the
    window centred on the pixel; for even sizes the centre is the lower
    middle, as :func:`scipy.ndimage.uniform_filter` with ``origin=0``).

    Parameters
    ----------
    size : tuple of int
        Window ``(rows, cols)``, each >= 1. Default ``(5, 5)``.

    Notes
    -----
    Separable window sums in a fixed summation order, accumulated in double
    precision (see :mod:`peppers.operators._filter_kernels`); ``rows + cols``
    additions per pixel. Integer inputs give ``float64``.

    References
    ----------
    .. [1] R. Touzi, A. Lopes, J. Bruniquel, P. W. Vachon, "Coherence
       estimation for SAR imagery", IEEE TGRS 37(1):135-149, 1999 (the
       boxcar coherence estimator this filter serves).

    Examples
    --------
    >>> import numpy as np
    >>> from peppers.ppe import apply
    >>> out = apply(BoxFilter(size=(3, 3)), np.ones((4, 5), np.float32))
    >>> out.dtype, float(out.mean())
    (dtype('float32'), 1.0)
    """

    name: ClassVar[str] = "box_filter"
    params = (Param("size", tuple, (5, 5), "window (rows, cols) of the moving average"),)

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        self.size = positive_pair(self.label, "size", self.size)
        self.halo = (self.size[0] // 2, self.size[1] // 2)

    def output_spec(self, input_specs: Mapping[str, ImageSpec]) -> dict[str, ImageSpec]:
        return {"output": _filtered_spec(self.label, input_specs["input"])}

    def input_region(self, output_region: Region,
                     input_specs: Mapping[str, ImageSpec]) -> dict[str, Region]:
        nr, nc = self.size
        return {"input": Region(output_region.row - nr // 2, output_region.col - nc // 2,
                                output_region.height + nr - 1, output_region.width + nc - 1)}

    def compute(self, inputs: Mapping[str, np.ndarray],
                output_region: Region) -> dict[str, np.ndarray]:
        nr, nc = self.size
        dtype = working_dtype(inputs["input"].dtype, self.label)
        shape = (output_region.height + nr - 1, output_region.width + nc - 1)
        x = prepare_input(self.label, "input", inputs["input"], shape, dtype)
        out = np.empty(output_region.shape, dtype=dtype)
        ring = np.empty((nr, output_region.width), dtype=accumulator_dtype(dtype))
        if out.size:
            kernels.box_mean(x, nr, nc, ring, out)
        return {"output": out}


class _SpectralFilter(LocalOperator):
    """Overlap-save convolution on image-anchored blocks (see module docstring).

    Subclasses provide :meth:`kernel_array`, a real 2-D array of odd shape
    whose centre is the output pixel.
    """

    def _setup(self) -> None:
        if not isinstance(self.block, int) or self.block < 1:
            raise ValueError(f"{self.label}: block must be an integer >= 1, got {self.block!r}")
        kernel = self.kernel_array()
        self.halo = (kernel.shape[0] // 2, kernel.shape[1] // 2)
        self._kernel = kernel
        self._spectra: dict[tuple, np.ndarray] = {}
        self._spectra_lock = threading.Lock()

    @abstractmethod
    def kernel_array(self) -> np.ndarray:
        """The validated real convolution kernel (odd shape, centred)."""

    def output_spec(self, input_specs: Mapping[str, ImageSpec]) -> dict[str, ImageSpec]:
        return {"output": _filtered_spec(self.label, input_specs["input"])}

    def block_area(self, output_region: Region) -> Region:
        """The union of the image-anchored blocks that ``output_region`` touches."""
        b = self.block
        r0, c0 = (output_region.row // b) * b, (output_region.col // b) * b
        r1 = -(-output_region.row_stop // b) * b
        c1 = -(-output_region.col_stop // b) * b
        return Region.from_bounds(r0, r1, c0, c1)

    def input_region(self, output_region: Region,
                     input_specs: Mapping[str, ImageSpec]) -> dict[str, Region]:
        return {"input": self.block_area(output_region).grow(*self.halo)}

    def _spectrum(self, fft_shape: tuple[int, int], dtype: np.dtype, real: bool) -> np.ndarray:
        """The kernel's spectrum on an FFT grid, computed once and shared."""
        key = (fft_shape, dtype.str, real)
        spectrum = self._spectra.get(key)
        if spectrum is None:
            padded = np.zeros(fft_shape)
            padded[:self._kernel.shape[0], :self._kernel.shape[1]] = self._kernel
            full = np.fft.rfft2(padded) if real else np.fft.fft2(padded)
            spectrum = full.astype(np.result_type(dtype, np.complex64))
            with self._spectra_lock:
                spectrum = self._spectra.setdefault(key, spectrum)
        return spectrum

    def compute(self, inputs: Mapping[str, np.ndarray],
                output_region: Region) -> dict[str, np.ndarray]:
        dtype = working_dtype(inputs["input"].dtype, self.label)
        area = self.block_area(output_region)
        hr, hc = self.halo
        x = prepare_input(self.label, "input", inputs["input"],
                          area.grow(hr, hc).shape, dtype)
        out = np.empty(output_region.shape, dtype=dtype)
        if out.size == 0:
            return {"output": out}
        b = self.block
        span = (b + 2 * hr, b + 2 * hc)
        fft_shape = (next_fast_length(span[0]), next_fast_length(span[1]))
        real = dtype.kind == "f"
        forward = get_plan(fft_shape, dtype, "rfft2" if real else "fft2")
        inverse = get_plan(fft_shape, dtype, "irfft2" if real else "ifft2")
        spectrum = self._spectrum(fft_shape, dtype, real)
        staging = forward.input_array
        for row in range(area.row, area.row_stop, b):
            for col in range(area.col, area.col_stop, b):
                block = Region(row, col, b, b)
                piece = block.intersection(output_region)
                if piece.is_empty:
                    continue
                r, c = row - area.row, col - area.col
                staging[:span[0], :span[1]] = x[r:r + span[0], c:c + span[1]]
                staging[span[0]:, :] = 0
                staging[:span[0], span[1]:] = 0
                np.multiply(forward(), spectrum, out=inverse.input_array)
                valid = inverse()[2 * hr:2 * hr + b, 2 * hc:2 * hc + b]
                out[piece.relative_to(output_region)] = valid[piece.relative_to(block)]
        return {"output": out}


class FFTConvolve(_SpectralFilter):
    """Linear 2-D convolution with a small real kernel, by FFT (pyFFTW).

    ``out[r, c] = sum_{i, j} kernel[i, j] * x[r + h_r - i, c + h_c - j]``
    with ``(h_r, h_c) = (rows // 2, cols // 2)`` of the kernel: true
    convolution (the kernel is flipped), centred on the pixel, equal to
    ``scipy.signal.convolve2d(x_reflect_padded, kernel, mode="valid")``.

    Parameters
    ----------
    kernel : list of list of float
        The kernel, odd numbers of rows and columns.
    block : int
        Side of the image-anchored overlap-save blocks, pixels (default 128).

    Raises
    ------
    ValueError
        If the kernel is not a finite 2-D array of odd shape, or ``block < 1``.

    References
    ----------
    .. [1] A. V. Oppenheim, R. W. Schafer, *Discrete-Time Signal Processing*,
       3rd ed., Pearson 2010, sec. 8.7.3 (linear convolution by the DFT,
       overlap-save).
    .. [2] M. Frigo, S. G. Johnson, "The design and implementation of
       FFTW3", Proc. IEEE 93(2):216-231, 2005.
    """

    name: ClassVar[str] = "fft_convolve"
    params = (Param("kernel", list, [[1.0]], "convolution kernel (odd rows and columns)"),
              Param("block", int, 128, "side of the image-anchored FFT blocks, pixels"))

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        self._setup()

    def kernel_array(self) -> np.ndarray:
        try:
            kernel = np.array(self.kernel, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{self.label}: kernel must be a 2-D list of real numbers "
                             f"({exc})") from None
        if kernel.ndim != 2 or kernel.shape[0] % 2 == 0 or kernel.shape[1] % 2 == 0:
            raise ValueError(f"{self.label}: kernel must be 2-D with odd rows and columns, "
                             f"got shape {kernel.shape}")
        if not np.all(np.isfinite(kernel)):
            raise ValueError(f"{self.label}: kernel has non-finite values")
        return kernel


class GaussianFilter(_SpectralFilter):
    """Gaussian low-pass filter, by FFT convolution (see :class:`FFTConvolve`).

    The kernel is the outer product of two sampled, normalised 1-D Gaussians
    ``exp(-x^2 / (2 sigma^2))``, truncated at radius
    ``int(truncate * sigma + 0.5)`` per axis (the convention of
    :func:`scipy.ndimage.gaussian_filter`); the radius is the halo.

    Parameters
    ----------
    sigma : float or tuple of float
        Standard deviation ``(rows, cols)`` in pixels, >= 0 (0: no filtering
        along that axis). A single number applies to both axes.
    truncate : float
        Radius in standard deviations (default 4).
    block : int
        Side of the image-anchored overlap-save blocks, pixels (default 128).

    References
    ----------
    .. [1] A. V. Oppenheim, R. W. Schafer, *Discrete-Time Signal Processing*,
       3rd ed., sec. 8.7.3.
    """

    name: ClassVar[str] = "gaussian_filter"
    params = (Param("sigma", tuple, (2.0, 2.0), "Gaussian standard deviation (rows, cols), px"),
              Param("truncate", float, 4.0, "kernel radius in standard deviations"),
              Param("block", int, 128, "side of the image-anchored FFT blocks, pixels"))

    def __init__(self, **values: Any) -> None:
        sigma = values.get("sigma")
        if isinstance(sigma, (int, float)) and not isinstance(sigma, bool):
            values["sigma"] = (float(sigma), float(sigma))
        super().__init__(**values)
        self._setup()

    def kernel_array(self) -> np.ndarray:
        sigma = tuple(self.sigma)
        if (len(sigma) != 2 or not all(isinstance(s, (int, float)) and s >= 0 for s in sigma)
                or not self.truncate > 0):
            raise ValueError(f"{self.label}: sigma must be two numbers >= 0 and truncate > 0, "
                             f"got sigma={self.sigma!r} truncate={self.truncate!r}")
        self.sigma = (float(sigma[0]), float(sigma[1]))
        axes = []
        for s in self.sigma:
            radius = int(self.truncate * s + 0.5)
            x = np.arange(-radius, radius + 1, dtype=np.float64)
            w = np.exp(-0.5 * (x / s) ** 2) if s > 0 else np.ones(1)
            axes.append(w / w.sum())
        return np.outer(axes[0], axes[1])
