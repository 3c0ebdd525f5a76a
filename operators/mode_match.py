"""Two acquisition modes as one pair: the slave's common band on the master's sampling.

Design
------
Two images of different modes (NISAR 20 MHz at 1243 MHz against 40 MHz at
1253 MHz; or different range sampling or PRF) share only part of their range
spectra (:func:`~peppers.operators.spectral.range_bands`) and are sampled
differently. Before anything compares them pixel by pixel, the slave is

1. band-passed to the common band on its own grid and brought to baseband
   (:func:`cut_to_common_band`: complex FIR, then ``exp(-2 pi i (f_c - f0_s)
   tau)`` with the absolute two-way delay ``tau``);
2. interpolated onto the master's sampling (the resampler; at baseband, so a
   coarser master grid does not alias it);
3. moved to the common band's place in the master's frame,
   ``exp(+2 pi i (f_c - f0_m) tau)``.

Then master and slave hold the same radio band in the same frame, with a
consistent phase (ISCE3 ``bandpass_insar``: the secondary is band-passed and
resampled in range to the reference's sampling before coregistration).
:class:`SlaveResampleFilter <peppers.operators.slave_resample.SlaveResampleFilter>`
does it tile by tile; for the chip correlation of the coregistration
:class:`MatchedWindows` builds each slave search window directly on the
master's sampling (the chips would otherwise compare speckle at different
scales) and converts the measured offset back to slave pixels.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from peppers.operators import _spectral_kernels
from peppers.operators.resample import PolynomialResampler
from peppers.operators.scene_spectra import SceneSpectrum
from peppers.operators.spectral import RangeBands, bandpass_taps, range_bands, range_carrier
from peppers.image import Region


def cut_to_common_band(raw: np.ndarray, region: Region, bands: RangeBands,
                       slave: SceneSpectrum, taps: np.ndarray) -> np.ndarray:
    """Band-pass slave pixels to the common band on their grid, then to baseband.

    Parameters
    ----------
    raw : ndarray, complex
        Slave pixels of ``region`` (absolute slave coordinates).
    region : Region
        Where ``raw`` lies; the result covers it less ``len(taps) // 2``
        columns each side.
    bands : RangeBands
    slave : SceneSpectrum
        The slave's range axis.
    taps : ndarray
        :func:`~peppers.operators.spectral.bandpass_taps` of the slave's
        common band (``bands.slave_centre``, ``bands.slave_width``).

    Returns
    -------
    ndarray, complex64
    """
    inner = region.grow(0, -(taps.size // 2))
    out = np.empty(inner.shape, np.complex64)
    _spectral_kernels.fir_rows(np.ascontiguousarray(raw), taps, 0, 0, out)
    cols = np.arange(inner.col, inner.col_stop)
    out *= np.conj(range_carrier(bands.slave_offset_hz, slave.first_sample_m,
                                 slave.sample_spacing_m, cols))[None, :]
    return out


class MatchedWindows:
    """Slave search windows on the master's sampling, for chip correlation.

    Parameters
    ----------
    master, slave : SceneSpectrum
        The two images' spectra (range axis, line rates, bands).
    fir_taps : int
        Length of the common-band cut (odd).
    taps : int
        Interpolator taps of the resampling onto the master's sampling.

    Attributes
    ----------
    ratio : tuple of float
        Slave pixels per master pixel (rows, cols).
    """

    def __init__(self, master: SceneSpectrum, slave: SceneSpectrum, *, fir_taps: int = 33,
                 taps: int = 8) -> None:
        self.master, self.slave = master, slave
        self.bands = range_bands(master, slave)
        self.ratio = (slave.prf_hz / master.prf_hz,
                      master.sample_spacing_m / slave.sample_spacing_m)
        self.cut = (bandpass_taps(self.bands.slave_centre, self.bands.slave_width, fir_taps)
                    if self.bands.slave_needs_cut else None)
        self.taps = taps

    @staticmethod
    def needed(master: SceneSpectrum, slave: SceneSpectrum) -> bool:
        """Whether two images differ in sampling or bands (else plain windows do)."""
        close = lambda a, b: abs(a - b) <= 1e-9 * max(abs(a), abs(b))  # noqa: E731
        return not (close(master.prf_hz, slave.prf_hz)
                    and close(master.sample_spacing_m, slave.sample_spacing_m)
                    and close(master.range_bandwidth_hz, slave.range_bandwidth_hz)
                    and close(master.centre_frequency_hz, slave.centre_frequency_hz))

    def window(self, read: Any, centre_slave: tuple[float, float],
               shape: tuple[int, int]) -> np.ndarray | None:
        """A slave window of ``shape`` on the master's sampling, centred at a slave position.

        Window pixel ``(i, j)`` is the slave at ``centre_slave + ratio * ((i, j)
        - (shape - 1) / 2)``, cut to the common band, in the master's frame.

        Parameters
        ----------
        read : callable
            ``read(region)`` -> slave pixels, or None if the region is not
            inside the slave image.
        centre_slave : (float, float)
            Slave position of the window's centre.
        shape : (int, int)

        Returns
        -------
        ndarray (shape), complex128, or None if it needs pixels outside the slave.
        """
        h, w = shape
        (rr, rc), (cr, cc) = self.ratio, centre_slave
        # output pixel (i, j) of a resampler over Region(0, 0, h, w) takes the slave at
        # (i + dr, j + dc): linear polynomials in (i, j)
        op = PolynomialResampler(row_coeffs=[cr - rr * (h - 1) / 2, rr - 1.0, 0.0],
                                 col_coeffs=[cc - rc * (w - 1) / 2, 0.0, rc - 1.0],
                                 taps=self.taps, beta=2.7 if self.taps == 8 else 4.0)
        out_region = Region(0, 0, h, w)
        need = op.input_region(out_region, {})["input"]
        grown = need.grow(0, self.cut.size // 2) if self.cut is not None else need
        raw = read(grown)
        if raw is None:
            return None
        if self.cut is not None:
            raw = cut_to_common_band(raw, grown, self.bands, self.slave, self.cut)
        out = op.resample(np.asarray(raw, np.complex64), out_region).astype(np.complex128)
        cols = cc + rc * (np.arange(w) - (w - 1) / 2)  # slave columns ~ master columns
        master_cols = (self.slave.first_sample_m + cols * self.slave.sample_spacing_m
                       - self.master.first_sample_m) / self.master.sample_spacing_m
        if self.bands.master_offset_hz:
            out *= range_carrier(self.bands.master_offset_hz, self.master.first_sample_m,
                                 self.master.sample_spacing_m, master_cols)[None, :]
        return out

    def to_slave(self, centre_slave: tuple[float, float],
                 shift: tuple[float, float]) -> tuple[float, float]:
        """Slave position of a chip measured ``shift`` (master pixels) from the window centre."""
        return (centre_slave[0] + self.ratio[0] * shift[0],
                centre_slave[1] + self.ratio[1] * shift[1])
