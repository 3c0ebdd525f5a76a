"""Common-band filtering of an SLC pair: range spectral shift and azimuth Doppler.

Design
------
Two SLCs of the same ground see its reflectivity spectrum through the same
band, but the range band of the slave is shifted against the master's by the
local fringe frequency ``f`` (Gatelli et al. 1994: ``df = -f0 B_perp /
(R tan(theta - alpha))``, in cycles per range sample the fringe frequency of
the interferogram). Only the common part of the two bands interferes; the
rest is noise. With the interferogram ``master * conj(slave)`` having its
fringe at ``+f``, the master keeps ``[-B/2 + f, B/2]`` and the slave
``[-B/2, B/2 - f]`` (for ``f > 0``; mirrored for ``f < 0``): complex FIR
band-pass filters of width ``B - |f|`` centred at ``+f/2`` and ``-f/2``.

:class:`RangeCommonBand` measures ``f`` on image-anchored blocks
(``estimate_window``, Doris: about 500 lines x 128 samples): the peak of the
range power spectrum of the block's interferogram, summed over its lines,
refined by a parabola (Doris range filter, ISCE3 ``rangeFrequencyShift``).
A block whose peak is not ``snr_threshold`` times the mean power (no
coherent fringe) takes the flat-terrain value from the orbits instead (the
Gatelli shift with ``alpha = 0``: the fringe frequency of the ellipsoid at
``height_m``), or no shift without scene metadata. Every pixel of a block
is filtered with that block's pair of filters; the blocks are anchored to
the image and their estimate reads only the block, so results do not
depend on the tiling.

Bands come from the scenes' metadata (:mod:`peppers.operators.scene_spectra`):
:func:`range_bands` cuts the common part ``[lo, hi]`` (Hz, radio frequency)
of the two processed range bands ``f0 +- B/2`` and expresses it in each
image's own frequency frame (cycles per sample of its own grid, relative to
its own centre frequency ``f0``). Two modes of one scene (NISAR 20 MHz at
1243 MHz and 40 MHz at 1253 MHz) then share the band 1233..1253 MHz: in the
first image its whole band, in the second its lower half, centred at -10
MHz. Where a scene states no bandwidth, :data:`~peppers.operators.scene_spectra.DEFAULT_BANDWIDTH_FRACTION`
of its sampling rate is assumed (and recorded).

:class:`AzimuthCommonBand` filters both images to the common part of their
azimuth bands (Doppler centroids ``f_dc`` and bandwidths in cycles per
line; no fringe shift in azimuth). For zero-Doppler focused data with equal
centroids and bandwidths, the case of the ``peppers-slc/1`` contract, the
common band is the whole band and the operator is the identity (it copies,
computing nothing), as ISCE3 leaves it off by default; unequal bandwidths
give a mild band match.

Edge mode: ``constant`` (0+0j, the SLC no-data value).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

import numpy as np
import scipy.fft

from peppers.image import ImageSpec, Region
from peppers.operator import LocalOperator, Param
from peppers.operators import _spectral_kernels as kernels
from peppers.operators._arrays import positive_pair, prepare_input
from peppers.operators.fft import next_fast_length
from peppers.operators.scene_spectra import (DEFAULT_BANDWIDTH_FRACTION, SPEED_OF_LIGHT,
                                             SceneSpectrum, scene_spectrum)

#: Zero-padding of the range spectrum of a block's interferogram.
SPECTRUM_PADDING = 4
#: Narrowest common band kept (fraction of the sampling rate).
MIN_WIDTH = 0.05


def lowpass_taps(width: float, ntaps: int) -> np.ndarray:
    """Real low-pass FIR taps (Hamming-windowed sinc), symmetric, summing to one.

    Parameters
    ----------
    width : float
        Pass band width, cycles per sample (the band ``[-width/2, width/2]``).
    ntaps : int
        Odd number of taps.

    Returns
    -------
    ndarray (ntaps,), float64
        ``h[n]`` for ``n = -ntaps // 2 .. ntaps // 2``, exactly symmetric.

    References
    ----------
    .. [1] A. V. Oppenheim, R. W. Schafer, *Discrete-Time Signal Processing*,
       3rd ed., sec. 7.5 (window design of FIR filters).
    """
    half = ntaps // 2
    n = np.arange(-half, half + 1, dtype=np.float64)
    lowpass = width * np.sinc(width * n) * np.hamming(ntaps)
    lowpass /= lowpass.sum()
    lowpass[half + 1:] = lowpass[:half][::-1]
    return lowpass


def bandpass_taps(center: float, width: float, ntaps: int) -> np.ndarray:
    """Complex FIR band-pass taps (Hamming-windowed sinc), correlation order.

    Parameters
    ----------
    center, width : float
        Pass band centre and width, cycles per sample.
    ntaps : int
        Odd number of taps.

    Returns
    -------
    ndarray (ntaps,), complex128
        ``w[k]`` such that ``y[j] = sum_k w[k] x[j + k - ntaps // 2]``; unit
        gain at ``center``: :func:`lowpass_taps` (design and reference there)
        moved to ``center``.
    """
    n = np.arange(-(ntaps // 2), ntaps // 2 + 1, dtype=np.float64)
    h = lowpass_taps(width, ntaps) * np.exp(2j * np.pi * center * n)
    return np.ascontiguousarray(h[::-1])


def common_band(shift: float, bandwidth: float,
                centre: float = 0.0) -> tuple[float, float, float]:
    """Master and slave pass-band centres and the common width for a fringe ``shift``.

    Parameters
    ----------
    shift : float
        Fringe frequency of ``master * conj(slave)``, cycles per sample.
    bandwidth : float
        Width of the pair's common band (before the shift), fraction of the
        sampling rate.
    centre : float
        Its centre, cycles per sample (0: both bands centred at baseband).

    Returns
    -------
    master_center, slave_center, width : float

    References
    ----------
    .. [1] F. Gatelli, A. Monti Guarnieri, F. Parizzi, P. Pasquali, C. Prati,
       F. Rocca, "The wavenumber shift in SAR interferometry", IEEE TGRS
       32(4):855-865, 1994.
    """
    return centre + shift / 2, centre - shift / 2, max(bandwidth - abs(shift), MIN_WIDTH)


@dataclass(frozen=True)
class RangeBands:
    """The common range band of a pair, in each image's own frame.

    Attributes
    ----------
    lo_hz, hi_hz : float
        The common band, radio frequency.
    master_centre, master_width : float
        Its centre and width, cycles per master sample, relative to the
        master's centre frequency.
    slave_centre, slave_width : float
        The same for the slave (its own grid and centre frequency).
    master_offset_hz, slave_offset_hz : float
        ``f_c - f0`` of each image (``f_c`` the common band's centre): the
        baseband frequency at which it sits in that image.
    master_band, slave_band : float
        Each image's own processed band, fraction of its sampling rate.
    """

    lo_hz: float
    hi_hz: float
    master_centre: float
    master_width: float
    slave_centre: float
    slave_width: float
    master_offset_hz: float
    slave_offset_hz: float
    master_band: float
    slave_band: float

    @staticmethod
    def _cut(offset_hz: float, width: float, band: float, hi_hz: float) -> bool:
        return abs(offset_hz) > 1e-9 * hi_hz or width < band * (1 - 1e-9)

    @property
    def slave_needs_cut(self) -> bool:
        """Whether the slave holds more than the common band, or holds it off baseband.

        Then it is band-passed and brought to baseband on its own grid before
        it is resampled onto the master's (a wider band would alias on a
        coarser master grid).
        """
        return self._cut(self.slave_offset_hz, self.slave_width, self.slave_band, self.hi_hz)

    @property
    def master_needs_cut(self) -> bool:
        """Whether the master's band is wider than the common band or off its centre."""
        return self._cut(self.master_offset_hz, self.master_width, self.master_band,
                         self.hi_hz)


def range_bands(master: SceneSpectrum, slave: SceneSpectrum) -> RangeBands:
    """Cut the common range band of two images (different modes allowed).

    Parameters
    ----------
    master, slave : SceneSpectrum
        Centre frequencies, processed range bandwidths and sampling rates.

    Returns
    -------
    RangeBands

    Raises
    ------
    ValueError
        If the bands do not overlap by at least :data:`MIN_WIDTH` of the
        master's sampling rate.

    References
    ----------
    .. [1] ISCE3 ``nisar/workflows/bandpass_insar.py`` (common band of two
       NISAR modes, each filtered in its own frame).
    """
    f0m, f0s = master.centre_frequency_hz, slave.centre_frequency_hz
    lo = max(f0m - master.range_bandwidth_hz / 2, f0s - slave.range_bandwidth_hz / 2)
    hi = min(f0m + master.range_bandwidth_hz / 2, f0s + slave.range_bandwidth_hz / 2)
    if hi - lo < MIN_WIDTH * master.range_sampling_hz:
        raise ValueError(f"the range bands {f0m:.9g} +- {master.range_bandwidth_hz / 2:.6g} Hz "
                         f"and {f0s:.9g} +- {slave.range_bandwidth_hz / 2:.6g} Hz have no "
                         "common band to interfere")
    fc = (lo + hi) / 2
    return RangeBands(lo, hi, (fc - f0m) / master.range_sampling_hz,
                      (hi - lo) / master.range_sampling_hz,
                      (fc - f0s) / slave.range_sampling_hz, (hi - lo) / slave.range_sampling_hz,
                      fc - f0m, fc - f0s, master.range_fraction, slave.range_fraction)


def range_carrier(offset_hz: float, first_sample_m: float, sample_spacing_m: float,
                  cols: np.ndarray) -> np.ndarray:
    """``exp(2 pi i offset tau)`` at (fractional) columns ``cols`` (``tau = 2 R / c``).

    Multiplying a basebanded SLC by it moves its spectrum up by ``offset_hz``
    consistently with its phase ``-2 pi f0 tau`` of a target at two-way delay
    ``tau`` (absolute delay, so a band moved down on one grid and up on
    another keeps the interferometric phase exactly).
    """
    tau = 2.0 * (first_sample_m + np.asarray(cols, np.float64) * sample_spacing_m) / SPEED_OF_LIGHT
    cycles = offset_hz * tau
    return np.exp(2j * np.pi * (cycles - np.floor(cycles)))


def fringe_frequency(interferogram: np.ndarray) -> tuple[float, float]:
    """Range fringe frequency of an interferogram block and its spectral SNR.

    The range power spectra of the lines, zero-padded to ``n =``
    :data:`SPECTRUM_PADDING` times the width, are summed; the peak bin,
    refined by a parabola, is the frequency; the SNR is the peak over the
    mean power.

    The sum is computed through the lines' autocorrelation (Wiener-Khinchin):
    ``sum_i |F_n(z_i)|^2 = F_n(R)`` with ``R[l] = sum_i sum_j z_i[j + l]
    conj(z_i[j])``, ``|l| < W``. ``R`` is exact from transforms of length
    ``m >= 2 W - 1`` (no circular wrap): one ``m``-point FFT per line (single
    precision when the block is, :func:`scipy.fft.fft` of all lines at once,
    GIL released), the power summed over lines in double precision
    (:func:`~peppers.operators._spectral_kernels.column_power`), then one
    inverse ``m``-point and one ``n``-point transform for the whole block.
    About half the per-line work of padding every line to ``n``.

    Returns
    -------
    frequency : float
        Cycles per sample, in [-0.5, 0.5).
    snr : float
        0 for an all-zero block.

    References
    ----------
    .. [1] Doris user manual, range filtering (peak of the summed range
       spectra of the block's interferogram).
    .. [2] A. V. Oppenheim, R. W. Schafer, *Discrete-Time Signal Processing*,
       3rd ed., sec. 8.7 (linear correlation by the DFT).
    """
    width = interferogram.shape[1]
    n = next_fast_length(SPECTRUM_PADDING * width)
    m = next_fast_length(2 * width - 1)
    line_power = kernels.column_power(scipy.fft.fft(interferogram, n=m, axis=1))
    lags = scipy.fft.ifft(line_power)
    padded = np.zeros(n, np.complex128)
    padded[:width] = lags[:width]
    padded[n - width + 1:] = lags[m - width + 1:]
    power = scipy.fft.fft(padded).real
    mean = power.mean()
    if not mean > 0:
        return 0.0, 0.0
    k = int(np.argmax(power))
    ym, y0, yp = power[k - 1], power[k], power[(k + 1) % n]
    den = ym - 2 * y0 + yp
    frac = 0.0 if den >= 0 else float(np.clip(0.5 * (ym - yp) / den, -0.5, 0.5))
    f = (k + frac) / n
    return (f - 1.0 if f >= 0.5 else f), float(y0 / mean)


def pair_spec(input_specs: Mapping[str, ImageSpec]) -> dict[str, ImageSpec]:
    """Output specs of a filtered pair: both complex64 on the master grid."""
    spec = input_specs["master"]
    out = ImageSpec(spec.shape, np.complex64, spec.nodata, spec.geo)
    return {"master": out, "slave": out}


def block_area(region: Region, block: tuple[int, int]) -> Region:
    """The union of the image-anchored ``block`` cells that ``region`` touches."""
    br, bc = block
    r0, c0 = (region.row // br) * br, (region.col // bc) * bc
    return Region.from_bounds(r0, -(-region.row_stop // br) * br,
                              c0, -(-region.col_stop // bc) * bc)


class RangeCommonBand(LocalOperator):
    """Range common-band (spectral shift) filter of a coregistered SLC pair.

    Inputs ``master`` and ``slave`` (the slave on the master grid); outputs
    the filtered ``master`` and ``slave``. Method in the module docstring.

    Parameters
    ----------
    bandwidth : float
        Width of the pair's common range band, fraction of the master's
        sampling rate (0..1]; 0 (default): from the scenes (:func:`range_bands`),
        or :data:`~peppers.operators.scene_spectra.DEFAULT_BANDWIDTH_FRACTION`
        without them.
    centre : float
        Centre of that band, cycles per master sample (used with an explicit
        ``bandwidth``; from the scenes otherwise).
    fir_taps : int
        Odd FIR length.
    estimate_window : tuple of int
        Image-anchored blocks ``(rows, cols)`` of one shift estimate.
    snr_threshold : float
        Spectral peak over mean power needed to trust a block's estimate.
    estimate : bool
        Estimate the spectral shift per block (default); False: both images
        are cut to the common band only (a pair of different modes without
        spectral-shift filtering).
    master_scene, slave_scene : dict
        Scene metadata for the flat-terrain fallback (optional).
    height_m : float
        Height of the fallback's reference surface.

    References
    ----------
    .. [1] F. Gatelli et al., IEEE TGRS 32(4):855-865, 1994.
    .. [2] Doris user manual, range filtering (adaptive, peak of the
       interferogram spectrum, SNR test).
    """

    name: ClassVar[str] = "range_common_band"
    inputs: ClassVar[tuple[str, ...]] = ("master", "slave")
    outputs: ClassVar[tuple[str, ...]] = ("master", "slave")
    edge_mode: ClassVar[str] = "constant"
    params = (
        Param("bandwidth", float, 0.0, "common range band / sampling rate; 0: from the scenes",
              ge=0, le=1),
        Param("centre", float, 0.0, "common band centre, cycles/sample (explicit bandwidth)"),
        Param("fir_taps", int, 33, "FIR length (odd)", "insar.filtering.fir_taps", ge=1),
        Param("estimate_window", tuple, (512, 128), "shift-estimate blocks (rows, cols)",
              "insar.filtering.estimate_window", ge=1),
        Param("snr_threshold", float, 3.0, "spectral peak / mean power to trust a block",
              "insar.filtering.snr_threshold", ge=0),
        Param("master_scene", dict, {}, "master scene metadata (flat-terrain fallback)"),
        Param("slave_scene", dict, {}, "slave scene metadata (flat-terrain fallback)"),
        Param("height_m", float, 0.0, "reference height of the fallback, m"),
        Param("estimate", bool, True, "estimate the spectral shift (false: cut the common "
                                      "band only)"),
    )

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        label = self.label
        if self.fir_taps < 3 or self.fir_taps % 2 == 0:
            raise ValueError(f"{label}: fir_taps must be odd and >= 3, got {self.fir_taps}")
        if not 0 <= self.bandwidth <= 1:
            raise ValueError(f"{label}: bandwidth must be in (0, 1] (0: from the scenes), "
                             f"got {self.bandwidth}")
        self.estimate_window = positive_pair(label, "estimate_window", self.estimate_window)
        self.halo = (0, self.fir_taps // 2)
        self._geometry = None
        if self.master_scene and self.slave_scene:
            from peppers.scene import scene_from_mapping

            self._geometry = (scene_from_mapping(self.master_scene, "inputs.master"),
                              scene_from_mapping(self.slave_scene, "inputs.slave"))
        if self.bandwidth == 0:
            if self._geometry is not None:
                try:
                    bands = range_bands(*(scene_spectrum(g) for g in self._geometry))
                except ValueError as error:
                    raise ValueError(f"{label}: {error}") from None
                self.bandwidth, self.centre = bands.master_width, bands.master_centre
            else:
                self.bandwidth, self.centre = DEFAULT_BANDWIDTH_FRACTION, 0.0

    def output_spec(self, input_specs: Mapping[str, ImageSpec]) -> dict[str, ImageSpec]:
        return pair_spec(input_specs)

    def area(self, output_region: Region) -> Region:
        """The estimate blocks an output region needs, without the FIR halo."""
        return block_area(output_region, self.estimate_window)

    def input_region(self, output_region: Region,
                     input_specs: Mapping[str, ImageSpec]) -> dict[str, Region]:
        grown = self.area(output_region).grow(*self.halo)
        return {"master": grown, "slave": grown}

    def flat_terrain_shift(self, block: Region) -> float:
        """Fringe frequency of the reference ellipsoid at a block's centre (0 without scenes)."""
        if self._geometry is None:
            return 0.0
        from peppers.operators.coregister import orbit_offsets

        master, slave = self._geometry
        row = block.row + block.height / 2
        col = np.array([block.col + block.width / 2 - 0.5, block.col + block.width / 2 + 0.5])
        _, dc = orbit_offsets(master, slave, np.full(2, row), col, self.height_m)
        # slave range minus master range, metres; its change per sample is the fringe
        r2_r1 = (slave.slant_range(col + dc) - master.slant_range(col))
        return float(2.0 * (r2_r1[1] - r2_r1[0]) / master.wavelength_m)

    def block_shift(self, master: np.ndarray, slave: np.ndarray, block: Region) -> float:
        """The shift used for one block: measured, or the flat-terrain fallback (0 without
        ``estimate``)."""
        if not self.estimate:
            return 0.0
        f, snr = fringe_frequency(kernels.interferogram(master, slave))
        return f if snr >= self.snr_threshold else self.flat_terrain_shift(block)

    def filter_area(self, master: np.ndarray, slave: np.ndarray, area: Region,
                    output_region: Region) -> tuple[np.ndarray, np.ndarray]:
        """Filter arrays covering ``area`` grown by the halo; return ``output_region``.

        Parameters
        ----------
        master, slave : ndarray, complex
            Pixels of ``area.grow(*self.halo)``.
        area : Region
            Whole estimate blocks covering ``output_region``.
        output_region : Region

        Returns
        -------
        master, slave : ndarray of ``output_region.shape``, complex64
        """
        h = self.halo[1]
        outs = (np.empty(output_region.shape, np.complex64),
                np.empty(output_region.shape, np.complex64))
        br, bc = self.estimate_window
        for row in range(area.row, area.row_stop, br):
            for col in range(area.col, area.col_stop, bc):
                block = Region(row, col, br, bc)
                piece = block.intersection(output_region)
                if piece.is_empty:
                    continue
                r, c = row - area.row, col - area.col + h
                shift = self.block_shift(master[r:r + br, c:c + bc],
                                         slave[r:r + br, c:c + bc], block)
                centers = common_band(shift, self.bandwidth, self.centre)
                lowpass = lowpass_taps(centers[2], self.fir_taps)
                for image, center, out in zip((master, slave), centers[:2], outs):
                    kernels.fir_rows_shifted(image, lowpass, center, area.col - h,
                                             piece.row - area.row, piece.col - area.col,
                                             out[piece.relative_to(output_region)])
        return outs

    def compute(self, inputs: Mapping[str, np.ndarray],
                output_region: Region) -> dict[str, np.ndarray]:
        area = self.area(output_region)
        shape = area.grow(*self.halo).shape
        m = prepare_input(self.label, "master", inputs["master"], shape, np.complex64)
        s = prepare_input(self.label, "slave", inputs["slave"], shape, np.complex64)
        out_m, out_s = self.filter_area(m, s, area, output_region)
        return {"master": out_m, "slave": out_s}


class AzimuthCommonBand(LocalOperator):
    """Azimuth common-band filter (Doppler centroids) of a coregistered SLC pair.

    Both images are band-passed to the intersection of
    ``[f_dc - B/2, f_dc + B/2]`` of master and slave; with equal centroids
    and bandwidths this is the identity (see the module docstring).

    Parameters
    ----------
    master_doppler, slave_doppler : float
        Doppler centroids, cycles per line (0 for zero-Doppler data).
    master_bandwidth, slave_bandwidth : float
        Azimuth bandwidths, fraction of the (master's) PRF; default the
        assumption for scenes without metadata (:class:`SlaveResampleFilter
        <peppers.operators.slave_resample.SlaveResampleFilter>` passes the
        scenes' values).
    fir_taps : int
        Odd FIR length.

    References
    ----------
    .. [1] ISCE3 ``cxx/isce3/signal/Filter.cpp`` (azimuth common-band
       filter); Doris user manual, ``S_FILTAZI``.
    """

    name: ClassVar[str] = "azimuth_common_band"
    inputs: ClassVar[tuple[str, ...]] = ("master", "slave")
    outputs: ClassVar[tuple[str, ...]] = ("master", "slave")
    edge_mode: ClassVar[str] = "constant"
    params = (
        Param("master_doppler", float, 0.0, "master Doppler centroid, cycles/line"),
        Param("slave_doppler", float, 0.0, "slave Doppler centroid, cycles/line"),
        Param("master_bandwidth", float, DEFAULT_BANDWIDTH_FRACTION,
              "master azimuth bandwidth / PRF"),
        Param("slave_bandwidth", float, DEFAULT_BANDWIDTH_FRACTION,
              "slave azimuth bandwidth / PRF"),
        Param("fir_taps", int, 33, "FIR length (odd)", "insar.filtering.fir_taps", ge=1),
    )

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        if self.fir_taps < 3 or self.fir_taps % 2 == 0:
            raise ValueError(f"{self.label}: fir_taps must be odd and >= 3, got {self.fir_taps}")
        lo = max(self.master_doppler - self.master_bandwidth / 2,
                 self.slave_doppler - self.slave_bandwidth / 2)
        hi = min(self.master_doppler + self.master_bandwidth / 2,
                 self.slave_doppler + self.slave_bandwidth / 2)
        self.identity = (self.master_doppler == self.slave_doppler
                         and self.master_bandwidth == self.slave_bandwidth)
        self._taps = bandpass_taps((lo + hi) / 2, max(hi - lo, MIN_WIDTH), self.fir_taps)
        self.halo = (0, 0) if self.identity else (self.fir_taps // 2, 0)

    def output_spec(self, input_specs: Mapping[str, ImageSpec]) -> dict[str, ImageSpec]:
        return pair_spec(input_specs)

    def filter_grown(self, image: np.ndarray, output_region: Region) -> np.ndarray:
        """Filter an array covering ``output_region`` grown by the halo."""
        if self.identity:
            return np.array(image, dtype=np.complex64)
        out = np.empty(output_region.shape, np.complex64)
        kernels.fir_cols(image, self._taps, 0, 0, out)
        return out

    def compute(self, inputs: Mapping[str, np.ndarray],
                output_region: Region) -> dict[str, np.ndarray]:
        shape = output_region.grow(*self.halo).shape
        return {port: self.filter_grown(
                    prepare_input(self.label, port, inputs[port], shape, np.complex64),
                    output_region)
                for port in self.outputs}
