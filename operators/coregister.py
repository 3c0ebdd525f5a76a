"""Coregistration: chip cross-correlation on a grid and an offset polynomial.

Design
------
:class:`Coregistration` is a reduction: two SLCs in, values out (stored in
HKV by the scheduler). It measures where each of a grid of master chips lies
in the slave, culls the unreliable measurements, and fits one 2-D
polynomial per axis to the rest, in the form the slave resampler
(:class:`~peppers.operators.resample.PolynomialResampler`) takes:
``slave position = master position + (dr(R, C), dc(R, C))``.

Steps (Doris FINE + COREGPM, ISCE2 ampcor + offoutliers, GMTSAR xcorr +
fitoffset, all of the same shape):

1. *Coarse offset.* ``orbit``: the geometric offset of each chip centre,
   from the orbits (rdr2geo of the master pixel onto the ellipsoid at
   ``height_m``, geo2rdr of that point against the slave orbit; ISCE2/ISCE3
   coregister geometrically first). ``correlation``: one large chip at the
   scene centre, amplitude-correlated over a wide search.
2. *Chip correlation* (:func:`correlate_chip`), around each chip's coarse
   offset rounded to a pixel, over ``+-search`` pixels, by FFT (pyFFTW):

   a. amplitude correlation (zero-mean master amplitude against the slave
      amplitude, normalised by the slave's local mean and energy under the
      chip, summed-area tables) gives the integer peak; it is insensitive
      to interferometric fringes;
   b. ``method="complex"``: the fringe of the chip interferogram at that
      peak is measured (peak of its 4x zero-padded 2-D spectrum) and
      removed from the slave window, which is then correlated coherently;
      the fringe would otherwise average the complex correlation to zero;
      a fringe above ``FRINGE_OVERSAMPLE`` (0.05 cycles/px) shifts a
      spectrum past Nyquist, so such chips are oversampled by 2 first
      (:func:`correlate_chip` Notes; issue 14's bperp-1200 m range bias);
   c. the correlation surface is evaluated on a ``1/oversampling`` pixel
      grid over +-1 pixel around the peak by a matrix DFT of the
      cross-spectrum (Guizar-Sicairos et al. 2008; the same numbers as
      FFT-oversampling the surface by zero-padding, at a fraction of the
      cost), and a parabola through the finest grid's maximum and its
      neighbours gives the sub-pixel peak.

   The offset is assigned to the chip's energy centroid (``|z|^2``-weighted
   mean position of the master chip): the correlation peak is the
   energy-weighted mean offset over the chip. Each chip records its peak
   correlation (the normalised coherence) and a peak-to-mean SNR of the
   surface. Chips of a steered (TOPS) or Doppler-centred spectrum are first
   brought to baseband by the scenes' azimuth carriers
   (:func:`peppers.operators.doppler.deramp`): the band-limited interpolation
   of the correlation surface assumes a baseband cross-spectrum.
3. *Culling*: SNR below ``snr_threshold`` or peak correlation below
   ``correlation_threshold``; then gross outliers, fitted distance above
   10, 5, 3, 1 px in turn (ISCE2 ``Offoutliers``); then the w-test of
   Doris COREGPM: while the largest normalised residual
   ``|e| / (sigma_chip * s)`` exceeds ``cull_threshold``, drop that chip and
   refit (at most ``cull_max_iterations`` times). ``sigma_chip`` is the
   Bamler-Eineder bound at the chip's measured coherence and ``s >= 1`` a
   robust (median absolute deviation) variance factor.
4. *Fit*: weighted least squares, weights ``1 / sigma_chip^2`` (Doris
   ``CPM_WEIGHT BAMLER``), polynomial ``order`` in normalised coordinates
   ``u = (R - center_r) / scale_r``, ``v = (C - center_c) / scale_c`` with
   the image centre and half-size, coefficients ordered as in
   :mod:`peppers.operators.resample`.

Chips correlate in a thread pool (pyFFTW plans per thread, numba kernels
without the GIL); results do not depend on the thread count.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Mapping

import numpy as np

from peppers.errors import OperatorError
from peppers.image import ImageSource, Region
from peppers.operator import Param, ReductionOperator
from peppers.operators import _coregister_kernels as kernels
from peppers.operators._arrays import positive_pair
from peppers.operators.doppler import deramp
from peppers.operators.fft import get_plan, next_fast_length
from peppers.operators.flat_earth import ORBIT_NODES
from peppers.operators.resample import polynomial_powers
from peppers.scene import scene_from_mapping

if TYPE_CHECKING:
    from peppers.scene import Scene

#: Gross-outlier distances in pixels, applied in turn (ISCE2 Offoutliers).
GROSS_DISTANCES = (10.0, 5.0, 3.0, 1.0)
#: Zero-padding factor of the chip-interferogram spectrum for the fringe.
FRINGE_PADDING = 4
#: Chips whose master chip or slave window hold more no-data than this are skipped.
MAX_NODATA_FRACTION = 0.1
METHODS = ("complex", "magnitude")
#: Oversampling of the SLCs before amplitude detection (ISCE3 dense offsets: 2).
SLC_OVERSAMPLING = 2
#: ``complex`` chips whose fringe to remove exceeds this (cycles/px) are oversampled first.
FRINGE_OVERSAMPLE = 0.05
COARSE = ("orbit", "correlation")


def bamler_eineder_sigma(coherence: np.ndarray | float, n_pixels: int) -> np.ndarray:
    """Cramer-Rao bound of a coherent chip offset, pixels.

    ``sigma = sqrt(3 / (2 N)) * sqrt(1 - g^2) / (pi g)``.

    Parameters
    ----------
    coherence : float or ndarray
        Coherence ``g`` of the chip pair (clipped to [0.01, 0.9999]).
    n_pixels : int
        Pixels in the chip, ``N``.

    Returns
    -------
    ndarray
        Standard deviation per axis, pixels.

    References
    ----------
    .. [1] R. Bamler, M. Eineder, "Accuracy of differential shift estimation
       by correlation and split-bandwidth interferometry for wideband and
       Delta-k SAR systems", IEEE GRSL 2(2):151-155, 2005.
    """
    g = np.clip(np.asarray(coherence, dtype=np.float64), 0.01, 0.9999)
    return np.sqrt(3.0 / (2.0 * n_pixels)) * np.sqrt(1.0 - g * g) / (np.pi * g)


@dataclass(frozen=True)
class ChipResult:
    """Offset of one chip relative to its coarse (integer) position.

    ``row``/``col`` are sub-pixel offsets inside the search window, relative
    to the window's centre; ``correlation`` the normalised peak, ``snr``
    its ratio to the surface mean, ``fringe`` the removed fringe (cycles
    per row, per column).
    """

    row: float
    col: float
    correlation: float
    snr: float
    fringe: tuple[float, float]


def _fft(array: np.ndarray, shape: tuple[int, int], inverse: bool = False) -> np.ndarray:
    """2-D complex FFT of ``array`` zero-padded to ``shape`` (a copy)."""
    plan = get_plan(shape, np.complex128, "ifft2" if inverse else "fft2")
    plan.input_array[...] = 0
    plan.input_array[:array.shape[0], :array.shape[1]] = array
    return plan().copy()


def _oversample(x: np.ndarray) -> np.ndarray:
    """``x`` oversampled by :data:`SLC_OVERSAMPLING` per axis (spectrum zero-padding)."""
    n = x.shape
    big = tuple(SLC_OVERSAMPLING * k for k in n)
    spectrum = _fft(x, n)
    padded = np.zeros(big, dtype=np.complex128)
    hr, hc = (n[0] + 1) // 2, (n[1] + 1) // 2
    for rows_from, rows_to in ((slice(0, hr), slice(0, hr)),
                               (slice(hr, n[0]), slice(big[0] - n[0] + hr, big[0]))):
        padded[rows_to, :hc] = spectrum[rows_from, :hc]
        padded[rows_to, big[1] - n[1] + hc:] = spectrum[rows_from, hc:]
    return _fft(padded, big, inverse=True) * (SLC_OVERSAMPLING ** 2)


def _parabola(ym: float, y0: float, yp: float) -> float:
    """Vertex of the parabola through (-1, ym), (0, y0), (1, yp), in [-0.5, 0.5]."""
    den = ym - 2.0 * y0 + yp
    return 0.0 if den >= 0 else float(np.clip(0.5 * (ym - yp) / den, -0.5, 0.5))


def _fringe(interferogram: np.ndarray) -> tuple[float, float]:
    """Dominant 2-D fringe frequency (cycles/row, cycles/col) of a chip interferogram."""
    shape = tuple(FRINGE_PADDING * n for n in interferogram.shape)
    power = np.abs(_fft(interferogram, shape)) ** 2
    k = np.unravel_index(int(np.argmax(power)), shape)
    freq = []
    for axis in (0, 1):
        n = shape[axis]
        take = [k[0], k[1]]
        values = []
        for step in (-1, 0, 1):
            take[axis] = (k[axis] + step) % n
            values.append(power[take[0], take[1]])
        f = (k[axis] + _parabola(*values)) / n
        freq.append(f - 1.0 if f >= 0.5 else f)
    return freq[0], freq[1]


def _upsampled_surface(cross: np.ndarray, center: tuple[int, int], factor: int) -> np.ndarray:
    """Correlation at ``center + k / factor``, ``|k| <= factor``, by matrix DFT.

    ``cross`` is the cross-spectrum on an ``(Lr, Lc)`` grid; the result is
    ``(2 factor + 1)^2`` values of its inverse DFT at fractional shifts
    (Guizar-Sicairos et al. 2008, eq. 12, with signed frequencies so that
    the interpolation is the band-limited one).
    """
    lr, lc = cross.shape
    offsets = np.arange(-factor, factor + 1) / factor
    fr = np.fft.fftfreq(lr) * lr
    fc = np.fft.fftfreq(lc) * lc
    er = np.exp(2j * np.pi * np.outer(center[0] + offsets, fr) / lr)
    ec = np.exp(2j * np.pi * np.outer(fc, center[1] + offsets) / lc)
    out = np.empty((offsets.size, offsets.size), dtype=np.complex128)
    kernels.matrix_dft(er, np.ascontiguousarray(cross), ec, out)
    return out / (lr * lc)


def _normalised(surface: np.ndarray, window: np.ndarray, chip_shape: tuple[int, int],
                chip_energy: float, zero_mean: bool) -> np.ndarray:
    """Correlation surface divided by the chip and slave-window energies per shift."""
    nr, nc = chip_shape
    valid = (window.shape[0] - nr + 1, window.shape[1] - nc + 1)
    energy = np.empty(valid)
    kernels.window_sums(np.abs(window) ** 2, nr, nc, energy)
    if zero_mean:
        sums = np.empty(valid)
        kernels.window_sums(np.ascontiguousarray(window.real), nr, nc, sums)
        energy -= sums ** 2 / (nr * nc)
    denom = np.sqrt(np.maximum(energy, 0.0) * chip_energy)
    value = np.abs(surface[:valid[0], :valid[1]])
    return np.where(denom > 0, value / np.where(denom > 0, denom, 1.0), 0.0)


def _peak_and_snr(rho: np.ndarray) -> tuple[tuple[int, int], float]:
    """Integer peak of a normalised surface and its peak-to-mean ratio (peak excluded)."""
    peak = np.unravel_index(int(np.argmax(rho)), rho.shape)
    mask = np.ones(rho.shape, dtype=bool)
    mask[max(peak[0] - 2, 0):peak[0] + 3, max(peak[1] - 2, 0):peak[1] + 3] = False
    rest = float(rho[mask].mean()) if mask.any() else 0.0
    return (int(peak[0]), int(peak[1])), (float(rho[peak]) / rest if rest > 0 else np.inf)


def _max_fringe(phase: np.ndarray) -> float:
    """Largest local fringe of an unwrapped phase, cycles per pixel, either axis."""
    steps = [np.abs(np.diff(phase, axis=a)) for a in (0, 1) if phase.shape[a] > 1]
    return max((float(d.max()) for d in steps), default=0.0) / (2.0 * np.pi)


def _midpoints(phase: np.ndarray) -> np.ndarray:
    """``phase`` (unwrapped) on the :data:`SLC_OVERSAMPLING` = 2 grid of :func:`_oversample`.

    Fine sample ``i`` lies at coarse position ``i / 2``: even samples are the
    phase itself, odd ones the mean of their neighbours, the last one (past
    the chip's edge, where the oversampled chip is periodic) extrapolated.
    """
    out = np.asarray(phase, dtype=np.float64)
    for axis in (0, 1):
        x = np.moveaxis(out, axis, 0)
        fine = np.empty((2 * x.shape[0],) + x.shape[1:])
        fine[0::2] = x
        if x.shape[0] > 1:
            fine[1:-1:2] = 0.5 * (x[:-1] + x[1:])
            fine[-1] = 1.5 * x[-1] - 0.5 * x[-2]
        else:
            fine[1] = x[0]
        out = np.moveaxis(fine, 0, axis)
    return out


def correlate_chip(master: np.ndarray, window: np.ndarray, *, oversampling: int = 16,
                   method: str = "complex", phase: np.ndarray | None = None) -> ChipResult:
    """Sub-pixel offset of a master chip inside a larger slave window.

    Parameters
    ----------
    master : ndarray (nr, nc), complex
        The master chip.
    window : ndarray (nr + 2 sr, nc + 2 sc), complex
        The slave pixels around the chip's coarse position; shift 0 puts
        the chip at the window's centre.
    oversampling : int
        Sub-pixel grid of the peak search, ``1 / oversampling`` px (then
        refined by a parabola).
    method : {"complex", "magnitude", "amplitude"}
        Coherent correlation of the fringe-removed SLCs; correlation of
        amplitudes; or of amplitudes as they are. ``magnitude`` first
        oversamples both SLCs by :data:`SLC_OVERSAMPLING` (spectrum
        zero-padding); so does ``complex`` where the fringe it removes
        exceeds :data:`FRINGE_OVERSAMPLE` cycles/px anywhere (the phase's
        steepest step, or the plane fringe measured on the pixel grid; the
        chip is then correlated again), see Notes.
    phase : ndarray (nr, nc), optional
        The phase the geometry predicts for the chip interferogram
        ``master * conj(slave)`` (the topographic phase of a reference DEM,
        radians, unwrapped; ``complex`` only): removed from the master chip
        before the plane fringe is measured, so that a chip of dense, curved
        topographic fringes correlates coherently (a plane fringe removes
        only the mean slope of the chip).

    Returns
    -------
    ChipResult
        Offset relative to the coarse position (window centre); ``fringe``
        in cycles per pixel of the input.

    Notes
    -----
    Why ``complex`` oversamples: removing a fringe of ``f`` cycles/px
    (``exp(-j phi)`` on the master, or the plane on the slave) shifts that
    image's spectrum by ``f`` (the wavenumber shift, Gatelli et al. 1994).
    At the simulator's bandwidth of 0.85 of the sampling rate, any
    ``|f| > 0.075`` pushes part of the band past Nyquist, where it wraps;
    the band-limited interpolation of the correlation surface then pulls
    the peak towards the integer shift ("pixel locking"). Measured on
    simulated chips (64 x 64, bperp-1200 m topographic phase, offsets
    constant at a quarter pixel, exact phase removed): -0.0066 +- 0.0008 px
    in range on the pixel grid, -0.0014 +- 0.0004 px after oversampling by
    2 (the band edge is then at 0.21 + |f|/2 of the fine grid's sampling
    rate, below Nyquist up to |f| = 0.57; oversampling by 4 measured the
    same); on the scene's own fields (noise-free, varying offsets) +0.021
    -> +0.002 px (docs/coregistration.md).

    References
    ----------
    .. [1] M. Guizar-Sicairos, S. T. Thurman, J. R. Fienup, "Efficient
       subpixel image registration algorithms", Opt. Lett. 33(2):156-158, 2008.
    .. [2] R. Bamler, M. Eineder, IEEE GRSL 2(2):151-155, 2005 (coherent
       versus incoherent correlation).
    .. [3] F. Gatelli et al., "The wavenumber shift in SAR interferometry",
       IEEE TGRS 32(4):855-865, 1994.
    """
    master = np.asarray(master, dtype=np.complex128)
    window = np.ascontiguousarray(window, dtype=np.complex128)
    if phase is not None and method == "complex":
        phase = np.asarray(phase, dtype=np.float64)
    if method == "complex" and (phase is None or _max_fringe(phase) <= FRINGE_OVERSAMPLE):
        result = _correlate(master, window.copy(), oversampling, method, phase)
        if max(abs(result.fringe[0]), abs(result.fringe[1])) <= FRINGE_OVERSAMPLE:
            return result
    if method in ("complex", "magnitude"):
        # complex: room for the shifted spectra; magnitude: detection
        # doubles the bandwidth (ISCE3)
        fine = None
        if phase is not None and method == "complex":
            fine = _midpoints(phase)
        result = _correlate(_oversample(master), _oversample(window), oversampling,
                            "complex" if method == "complex" else "amplitude", fine)
        k = SLC_OVERSAMPLING
        return ChipResult(result.row / k, result.col / k, result.correlation, result.snr,
                          (result.fringe[0] * k, result.fringe[1] * k))
    return _correlate(master, window, oversampling, method, None)


def _correlate(master: np.ndarray, window: np.ndarray, oversampling: int, method: str,
               phase: np.ndarray | None) -> ChipResult:
    """:func:`correlate_chip` on chips as given (``complex`` or ``amplitude``)."""
    if phase is not None:
        master = master * np.exp(-1j * phase)
    nr, nc = master.shape
    sr, sc = (window.shape[0] - nr) // 2, (window.shape[1] - nc) // 2
    shape = (next_fast_length(window.shape[0]), next_fast_length(window.shape[1]))
    # (a) amplitude correlation: integer peak, insensitive to fringes
    amp = np.abs(master)
    amp -= amp.mean()
    amp_window = np.abs(window).astype(np.complex128)
    cross = _fft(amp_window, shape) * np.conj(_fft(amp, shape))
    rho = _normalised(_fft(cross, shape, inverse=True).real, amp_window, (nr, nc),
                      float(np.sum(amp ** 2)), zero_mean=True)
    peak, snr = _peak_and_snr(rho)
    fringe = (0.0, 0.0)
    if method == "complex":
        # (b) remove the chip interferogram's fringe, correlate coherently
        aligned = window[peak[0]:peak[0] + nr, peak[1]:peak[1] + nc]
        fringe = _fringe(master * np.conj(aligned))
        kernels.demodulate(window, fringe[0], fringe[1])
        cross = _fft(window, shape) * np.conj(_fft(master, shape))
        rho = _normalised(_fft(cross, shape, inverse=True), window, (nr, nc),
                          float(np.sum(np.abs(master) ** 2)), zero_mean=False)
        peak, snr = _peak_and_snr(rho)
    # (c) oversampled peak by matrix DFT, then a parabola
    fine = _upsampled_surface(cross, peak, oversampling)
    fine = np.abs(fine) if method == "complex" else fine.real
    k = np.unravel_index(int(np.argmax(fine)), fine.shape)
    k = (int(np.clip(k[0], 1, fine.shape[0] - 2)), int(np.clip(k[1], 1, fine.shape[1] - 2)))
    dr = _parabola(fine[k[0] - 1, k[1]], fine[k], fine[k[0] + 1, k[1]])
    dc = _parabola(fine[k[0], k[1] - 1], fine[k], fine[k[0], k[1] + 1])
    row = peak[0] + (k[0] - oversampling + dr) / oversampling - sr
    col = peak[1] + (k[1] - oversampling + dc) / oversampling - sc
    # the coherence at the sub-pixel peak: the surface maximum, normalised
    # like the integer peak
    at_peak = abs(fine[oversampling, oversampling])
    coherence = rho[peak] * float(np.max(fine)) / at_peak if at_peak > 0 else rho[peak]
    return ChipResult(float(row), float(col), float(min(coherence, 1.0)), float(snr),
                      (float(fringe[0]), float(fringe[1])))


# -- coarse offsets from the orbits ---------------------------------------------------
def orbit_offsets(master: "Scene", slave: "Scene", rows: np.ndarray, cols: np.ndarray,
                  height_m: float = 0.0, nodes: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Geometric slave-minus-master offsets of master pixels, from the orbits.

    Each master pixel is mapped onto the ellipsoid raised by ``height_m``
    (rdr2geo against the master orbit) and that point back into the slave
    grid (geo2rdr against the slave orbit).

    Parameters
    ----------
    master, slave : Scene
        The pair's metadata.
    rows, cols : ndarray
        Master pixel coordinates (broadcast together).
    height_m : float
        Ellipsoidal height of the reference surface, metres.
    nodes : int
        Orbit interpolation nodes (``insar.geometry.orbit_nodes``). The geometry
        is each scene's own (``scene_rdr2geo`` / ``scene_geo2rdr``: azimuth time
        offset, native-Doppler geometry; docs/geometry.md).

    Returns
    -------
    dr, dc : ndarray
        Slave row and column minus master row and column.

    References
    ----------
    ISCE2 stripmapApp (topo + geo2rdr before ``refineSecondaryTiming``);
    ISCE3 ``Geo2rdr.h``.
    """
    from peppers.geometry.scene_geometry import scene_geo2rdr, scene_rdr2geo

    rows, cols = np.broadcast_arrays(np.asarray(rows, float), np.asarray(cols, float))
    xyz, _ = scene_rdr2geo(master, master.azimuth_seconds(rows), master.slant_range(cols),
                           height_m, nodes=nodes)
    t_s, r_s = scene_geo2rdr(slave, xyz, nodes=nodes)
    slave_row = t_s / slave.line_interval_s
    slave_col = (r_s - slave.first_sample_m) / slave.sample_spacing_m
    return slave_row - rows, slave_col - cols


# -- culling and the polynomial fit ------------------------------------------------------
@dataclass(frozen=True)
class OffsetFit:
    """Weighted least-squares offset polynomials and the chips they kept."""

    row_coeffs: np.ndarray
    col_coeffs: np.ndarray
    accepted: np.ndarray
    residual_row: np.ndarray
    residual_col: np.ndarray


def design_matrix(rows: np.ndarray, cols: np.ndarray, order: int,
                  center: tuple[float, float], scale: tuple[float, float]) -> np.ndarray:
    """Columns ``u^p v^q`` in the ordering of :mod:`peppers.operators.resample`."""
    pu, pv = polynomial_powers((order + 1) * (order + 2) // 2)
    u = (np.asarray(rows, float) - center[0]) / scale[0]
    v = (np.asarray(cols, float) - center[1]) / scale[1]
    return u[:, None] ** pu[None, :] * v[:, None] ** pv[None, :]


def _wls(a: np.ndarray, y: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    w = 1.0 / sigma
    return np.linalg.lstsq(a * w[:, None], y * w, rcond=None)[0]


def fit_offsets(rows: np.ndarray, cols: np.ndarray, dr: np.ndarray, dc: np.ndarray,
                sigma: np.ndarray, keep: np.ndarray, *, order: int,
                center: tuple[float, float], scale: tuple[float, float],
                cull_threshold: float, cull_max_iterations: int) -> OffsetFit:
    """Cull outliers and fit the offset polynomials by weighted least squares.

    Parameters
    ----------
    rows, cols : ndarray
        Chip centres (master pixels).
    dr, dc : ndarray
        Measured offsets.
    sigma : ndarray
        A-priori standard deviation of each chip (Bamler-Eineder bound).
    keep : ndarray of bool
        Chips that passed the SNR and correlation tests.
    order, center, scale
        The polynomial (see :func:`design_matrix`).
    cull_threshold, cull_max_iterations
        The w-test: drop the chip with the largest normalised residual while
        it exceeds the threshold, at most this many times.

    Returns
    -------
    OffsetFit

    References
    ----------
    .. [1] Doris user manual, COREGPM (weighted fit, w-test outlier removal,
       CPM_K_ALPHA, CPM_MAXITER).
    .. [2] ISCE2 ``Offoutliers`` (distance culling 10, 5, 3, 1 px).
    """
    a = design_matrix(rows, cols, order, center, scale)
    keep = keep.copy()
    n_coef = a.shape[1]

    def fit() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        cr = _wls(a[keep], dr[keep], sigma[keep])
        cc = _wls(a[keep], dc[keep], sigma[keep])
        return cr, cc, dr - a @ cr, dc - a @ cc

    for distance in GROSS_DISTANCES:
        if keep.sum() <= n_coef:
            break
        cr, cc, er, ec = fit()
        keep &= np.maximum(np.abs(er), np.abs(ec)) <= distance
    for _ in range(cull_max_iterations):
        if keep.sum() <= n_coef + 1:
            break
        cr, cc, er, ec = fit()
        t = np.maximum(np.abs(er), np.abs(ec)) / sigma
        factor = max(1.0, 1.4826 * float(np.median(t[keep])))
        t = np.where(keep, t / factor, -np.inf)
        worst = int(np.argmax(t))
        if t[worst] <= cull_threshold:
            break
        keep[worst] = False
    if keep.sum() < n_coef:
        raise OperatorError(f"coregistration: {int(keep.sum())} chips left after culling, "
                            f"a polynomial of order {order} needs {n_coef}")
    cr, cc, er, ec = fit()
    return OffsetFit(cr, cc, keep, er, ec)


# -- the operator --------------------------------------------------------------------------
class Coregistration(ReductionOperator):
    """Fine coregistration of a slave SLC to a master SLC (reduction).

    Inputs ``master`` and ``slave`` (complex SLCs); the result (see
    :meth:`reduce`) holds the offset polynomials in the parameters of
    :class:`~peppers.operators.resample.PolynomialResampler`, the chip table
    and the residuals. The method is described in the module docstring.

    Parameters
    ----------
    master_scene, slave_scene : dict
        The scenes' contract metadata (HKV ``inputs.master`` and
        ``inputs.slave``); needed for ``coarse="orbit"``.
    coarse : {"orbit", "correlation"}
        Where the chip search is centred.
    grid : tuple of int
        Chips along azimuth and range.
    chip_size, search : tuple of int
        Chip ``(rows, cols)`` and half search range around the coarse offset.
    oversampling : int
        Sub-pixel grid of the peak (then a parabola), 1 / oversampling px.
    chip_method : {"complex", "magnitude"}
        Coherent (fringe-removed) or amplitude correlation of the chips
        (HKV ``insar.coregistration.chip_method``).
    snr_threshold, correlation_threshold : float
        Chips below either are dropped before the fit.
    polynomial_order : int
        Degree of the 2-D offset polynomials (0..5).
    cull_threshold : float
        w-test critical value for outlier removal.
    cull_max_iterations : int
        At most this many w-test removals.
    min_chips : int
        Fewer chips left than this is an error.
    height_m : float
        Reference height of the orbit coarse offsets, metres.
    threads : int
        Chips correlated in parallel; 0 = all cores.

    Raises
    ------
    ValueError
        On bad parameters.
    OperatorError
        From :meth:`reduce` when too few chips survive, or a coarse offset
        cannot be found.
    """

    name: ClassVar[str] = "coregistration"
    inputs: ClassVar[tuple[str, ...]] = ("master", "slave")
    params = (
        Param("master_scene", dict, {}, "master scene metadata (HKV inputs.master)"),
        Param("slave_scene", dict, {}, "slave scene metadata (HKV inputs.slave)"),
        Param("coarse", str, "orbit", "coarse offsets: orbit or correlation",
              "insar.coregistration.coarse", choices=("orbit", "correlation")),
        Param("grid", tuple, (32, 16), "chips along (azimuth, range)",
              "insar.coregistration.grid", ge=1),
        Param("chip_size", tuple, (64, 64), "chip (rows, cols)",
              "insar.coregistration.chip_size", ge=1),
        Param("search", tuple, (20, 20), "half search range (rows, cols), px",
              "insar.coregistration.search", ge=0),
        Param("oversampling", int, 16, "peak oversampling factor",
              "insar.coregistration.oversampling", ge=1),
        Param("chip_method", str, "complex", "chip correlation: complex (fringe-removed) or "
              "magnitude", "insar.coregistration.chip_method", choices=METHODS),
        Param("snr_threshold", float, 5.0, "minimum peak-to-mean ratio",
              "insar.coregistration.snr_threshold", ge=0),
        Param("correlation_threshold", float, 0.4, "minimum peak correlation",
              "insar.coregistration.correlation_threshold", ge=0),
        Param("polynomial_order", int, 2, "degree of the offset polynomials",
              "insar.coregistration.polynomial_order", ge=0),
        Param("cull_threshold", float, 1.97, "w-test critical value",
              "insar.coregistration.cull_threshold", gt=0),
        Param("cull_max_iterations", int, 10, "w-test rounds at most",
              "insar.coregistration.cull_max_iterations", ge=0),
        Param("min_chips", int, 20, "fewest chips accepted", "insar.coregistration.min_chips",
              ge=1),
        Param("height_m", float, 0.0, "height of the orbit coarse offsets, m"),
        ORBIT_NODES,
        Param("threads", int, 0, "parallel chips; 0 = all cores"),
        Param("doppler", bool, True, "deramp chips by the scenes' azimuth carriers",
              "insar.resampling.doppler"),
        Param("master_carrier", dict, {}, "explicit master carrier table (cycles/line)"),
        Param("slave_carrier", dict, {}, "explicit slave carrier table (cycles/line)"),
    )

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        label = self.label
        self.grid = positive_pair(label, "grid", self.grid)
        self.chip_size = positive_pair(label, "chip_size", self.chip_size, minimum=8)
        self.search = positive_pair(label, "search", self.search, minimum=2)
        if self.coarse not in COARSE:
            raise ValueError(f"{label}: coarse must be one of {COARSE}, got {self.coarse!r}")
        if self.chip_method not in METHODS:
            raise ValueError(f"{label}: chip_method must be one of {METHODS}, "
                             f"got {self.chip_method!r}")
        if not 1 <= self.oversampling <= 256:
            raise ValueError(f"{label}: oversampling must be 1..256, got {self.oversampling}")
        if not 0 <= self.polynomial_order <= 5:
            raise ValueError(f"{label}: polynomial_order must be 0..5, "
                             f"got {self.polynomial_order}")
        if self.min_chips < 1 or self.cull_max_iterations < 0 or self.threads < 0:
            raise ValueError(f"{label}: min_chips >= 1, cull_max_iterations >= 0 and "
                             f"threads >= 0 are required")
        self._carriers = (self._carrier("master"), self._carrier("slave"))
        if self.coarse == "orbit" and not (self.master_scene and self.slave_scene):
            raise ValueError(f"{label}: coarse='orbit' needs master_scene and slave_scene "
                             "(rule params: inputs.master, inputs.slave); or use "
                             "coarse='correlation'")

    def _carrier(self, role: str) -> dict[str, Any]:
        """The azimuth carrier table of one image: explicit, from its scene, or none."""
        from peppers.operators.doppler import scene_carrier

        scene = getattr(self, f"{role}_scene")
        explicit = getattr(self, f"{role}_carrier")
        if not self.doppler:
            return {}
        return explicit or (scene_carrier(scene) if scene else None) or {}

    def _matched_windows(self):
        """Slave windows on the master's sampling for a pair of two modes, else None."""
        from peppers.operators.mode_match import MatchedWindows
        from peppers.operators.scene_spectra import scene_spectrum

        if not (self.master_scene and self.slave_scene):
            return None
        spectra = scene_spectrum(self.master_scene), scene_spectrum(self.slave_scene)
        return MatchedWindows(*spectra) if MatchedWindows.needed(*spectra) else None

    def _spectra(self) -> dict[str, Any]:
        """What the chain takes of each scene's spectrum, and what it assumes (run record)."""
        from peppers.operators.scene_spectra import DEFAULT_BANDWIDTH_FRACTION, scene_spectrum

        out: dict[str, Any] = {}
        for role in ("master", "slave"):
            scene = getattr(self, f"{role}_scene")
            out[role] = scene_spectrum(scene).record() if scene else {
                "assumed": [f"no scene metadata: bandwidths {DEFAULT_BANDWIDTH_FRACTION} of "
                            "the sampling rates, zero Doppler"]}
            out[role]["chip_deramp"] = bool(self._carriers[0 if role == "master" else 1])
        return out

    # -- coarse offsets -----------------------------------------------------------------
    def _coarse_correlation(self, master: ImageSource,
                            slave: ImageSource) -> tuple[int, int]:
        """One large chip at the scene centre, amplitude-correlated: integer offset."""
        shape = master.spec.shape
        size = [min(4 * c, s // 2) for c, s in zip(self.chip_size, shape)]
        search = [max(min(4 * h, (s - c) // 2 - 1), 1)
                  for h, c, s in zip(self.search, size, slave.spec.shape)]
        top = [(s - c) // 2 for s, c in zip(shape, size)]
        chip = master.read(Region(top[0], top[1], size[0], size[1]))
        window = _read_inside(slave, Region(top[0] - search[0], top[1] - search[1],
                                            size[0] + 2 * search[0], size[1] + 2 * search[1]))
        if window is None:
            raise OperatorError(f"{self.label}: the slave ({slave.spec.shape}) is too small "
                                f"for a coarse correlation chip of {size}")
        result = correlate_chip(chip, window, oversampling=1, method="magnitude")
        return round(result.row), round(result.col)

    def _coarse(self, master: ImageSource, slave: ImageSource, rows: np.ndarray,
                cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.coarse == "orbit":
            m = scene_from_mapping(self.master_scene, "inputs.master")
            s = scene_from_mapping(self.slave_scene, "inputs.slave")
            return orbit_offsets(m, s, rows, cols, self.height_m, self.orbit_nodes)
        g = self._coarse_correlation(master, slave)
        return np.full(rows.shape, float(g[0])), np.full(cols.shape, float(g[1]))

    # -- reduction ----------------------------------------------------------------------
    def chip_grid(self, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """Top-left corners of the master chips, evenly spread over the image."""
        tops = []
        for n, size, extent, half in zip(self.grid, self.chip_size, shape, self.search):
            if extent < size:
                raise OperatorError(f"{self.label}: image {shape} is smaller than a chip "
                                    f"{self.chip_size}")
            margin = half if extent - size >= 2 * half else 0  # room for the search
            tops.append(np.unique(np.round(
                np.linspace(margin, extent - size - margin, n)).astype(int)))
        r, c = np.meshgrid(*tops, indexing="ij")
        return r.ravel(), c.ravel()

    def reduce(self, sources: Mapping[str, ImageSource]) -> dict[str, Any]:
        """Measure the chips, cull, fit.

        Returns
        -------
        dict
            ``row_coeffs``, ``col_coeffs``, ``center``, ``scale`` (the
            resampler's parameters), ``order``, ``rms_row``/``rms_col``
            (weighted fit residuals of the accepted chips, px),
            ``predicted_sigma`` (median Bamler-Eineder bound of the
            accepted chips, px), ``n_chips``, ``n_accepted``, ``coarse``
            (method and the offset at the image centre) and ``chips``: a
            table of lists ``row``, ``col`` (chip centres), ``row_offset``,
            ``col_offset``, ``correlation``, ``snr``, ``status``.
        """
        master, slave = sources["master"], sources["slave"]
        shape = master.spec.shape
        nr, nc = self.chip_size
        sr, sc = self.search
        tops, lefts = self.chip_grid(shape)
        rows, cols = tops + (nr - 1) / 2, lefts + (nc - 1) / 2
        coarse_r, coarse_c = self._coarse(master, slave, rows, cols)
        g_r, g_c = np.round(coarse_r).astype(int), np.round(coarse_c).astype(int)

        # where each chip's offset applies: its energy centroid (below), else its centre
        centroids = np.stack([rows, cols], axis=1)

        matched = self._matched_windows()
        # the slave position of each chip's window centre
        at = np.stack([rows + (coarse_r if matched else g_r), cols + (coarse_c if matched
                                                                      else g_c)], axis=1)

        def measure(k: int) -> tuple[str, ChipResult | None]:
            if matched is None:
                window = _read_inside(slave, Region(tops[k] + g_r[k] - sr,
                                                    lefts[k] + g_c[k] - sc,
                                                    nr + 2 * sr, nc + 2 * sc))
            else:  # two modes: the window on the master's sampling and band (mode_match)
                window = matched.window(lambda region: _read_inside(slave, region),
                                        tuple(at[k]), (nr + 2 * sr, nc + 2 * sc))
            if window is None:
                return "outside", None
            chip = master.read(Region(int(tops[k]), int(lefts[k]), nr, nc))
            centroids[k] = _energy_centroid(chip, tops[k], lefts[k])
            if max(kernels.zero_fraction(np.ascontiguousarray(chip, np.complex128)),
                   kernels.zero_fraction(window)) > MAX_NODATA_FRACTION:
                return "nodata", None
            if any(self._carriers):  # steered / Doppler spectra to baseband (doppler.deramp)
                chip = deramp(chip, self._carriers[0], tops[k], lefts[k], (rows[k], cols[k]))
                if matched is None:
                    window = deramp(window, self._carriers[1], tops[k] + g_r[k] - sr,
                                    lefts[k] + g_c[k] - sc, tuple(at[k]))
                else:  # on the master's sampling: the master's carrier about the chip
                    window = deramp(window, self._carriers[0], tops[k] - sr, lefts[k] - sc,
                                    (rows[k], cols[k]))
            return "measured", correlate_chip(chip, window, oversampling=self.oversampling,
                                              method=self.chip_method)

        from peppers.ppe.executor import default_threads

        with ThreadPoolExecutor(self.threads or default_threads()) as pool:
            measured = list(pool.map(measure, range(rows.size)))
        status = np.array([s for s, _ in measured], dtype=object)
        # offset at each chip's centroid: slave position of the centroid minus it
        ratio = matched.ratio if matched else (1.0, 1.0)
        nan = float("nan")
        dr = np.array([at[k, 0] + ratio[0] * (r.row + centroids[k, 0] - rows[k])
                       - centroids[k, 0] if r else nan for k, (_, r) in enumerate(measured)])
        dc = np.array([at[k, 1] + ratio[1] * (r.col + centroids[k, 1] - cols[k])
                       - centroids[k, 1] if r else nan for k, (_, r) in enumerate(measured)])
        rows, cols = centroids[:, 0].copy(), centroids[:, 1].copy()
        corr = np.array([r.correlation if r else 0.0 for _, r in measured])
        snr = np.array([r.snr if r else 0.0 for _, r in measured])
        status[(status == "measured") & (snr < self.snr_threshold)] = "low_snr"
        status[(status == "measured") & (corr < self.correlation_threshold)] = "low_correlation"
        keep = status == "measured"
        if keep.sum() < self.min_chips:
            counts = {s: int((status == s).sum()) for s in sorted(set(status))}
            raise OperatorError(f"{self.label}: only {int(keep.sum())} of {rows.size} chips "
                                f"passed the SNR/correlation tests (need min_chips="
                                f"{self.min_chips}); chips by status: {counts}")
        sigma = bamler_eineder_sigma(corr, nr * nc)
        center = ((shape[0] - 1) / 2, (shape[1] - 1) / 2)
        scale = (max(shape[0] / 2, 1.0), max(shape[1] / 2, 1.0))
        fit = fit_offsets(rows, cols, np.nan_to_num(dr), np.nan_to_num(dc), sigma, keep,
                          order=self.polynomial_order, center=center, scale=scale,
                          cull_threshold=self.cull_threshold,
                          cull_max_iterations=self.cull_max_iterations)
        status[keep & ~fit.accepted] = "culled"
        status[fit.accepted] = "accepted"
        n_accepted = int(fit.accepted.sum())
        if n_accepted < self.min_chips:
            raise OperatorError(f"{self.label}: {n_accepted} chips accepted after culling, "
                                f"fewer than min_chips={self.min_chips}")
        w = 1.0 / sigma[fit.accepted] ** 2

        def rms(e: np.ndarray) -> float:
            return float(np.sqrt(np.sum(w * e[fit.accepted] ** 2) / np.sum(w)))

        centre = design_matrix([center[0]], [center[1]], self.polynomial_order, center, scale)
        return {
            "row_coeffs": fit.row_coeffs.tolist(), "col_coeffs": fit.col_coeffs.tolist(),
            "center": list(center), "scale": list(scale), "order": self.polynomial_order,
            "rms_row": rms(fit.residual_row), "rms_col": rms(fit.residual_col),
            "predicted_sigma": float(np.median(sigma[fit.accepted])),
            "n_chips": int(rows.size), "n_accepted": n_accepted,
            "spectra": self._spectra(),
            "coarse": {"method": self.coarse,
                       "row": float(np.median(coarse_r)), "col": float(np.median(coarse_c))},
            "centre_offset": [float((centre @ fit.row_coeffs)[0]), float((centre @ fit.col_coeffs)[0])],
            "chips": {"row": rows.tolist(), "col": cols.tolist(),
                      "row_offset": [None if np.isnan(v) else float(v) for v in dr],
                      "col_offset": [None if np.isnan(v) else float(v) for v in dc],
                      "correlation": corr.tolist(), "snr": snr.tolist(),
                      "status": status.tolist()},
        }


def _energy_centroid(chip: np.ndarray, top: int, left: int) -> tuple[float, float]:
    """Image position of a chip's ``|z|^2``-weighted centroid (its geometric centre if empty).

    A chip's correlation peak gives the energy-weighted mean of the offset
    over the chip; for an offset field that is linear across the chip that is
    the offset *at the energy centroid*, not at the centre. On real speckle,
    where a few bright scatterers dominate a chip, assigning the measurement
    to the centroid removes an error of (offset gradient) x (centroid - centre):
    measured on UAVSAR Winnipeg with a 2 px field over 250 px, 64 x 64
    chips, from 0.06 to 0.02 px per chip (docs/coregistration.md).
    """
    power = np.abs(np.asarray(chip, dtype=np.complex128)) ** 2
    total = float(power.sum())
    if not total > 0:
        return top + (chip.shape[0] - 1) / 2, left + (chip.shape[1] - 1) / 2
    return (top + float(power.sum(axis=1) @ np.arange(chip.shape[0])) / total,
            left + float(power.sum(axis=0) @ np.arange(chip.shape[1])) / total)


def _read_inside(source: ImageSource, region: Region) -> np.ndarray | None:
    """``region`` of ``source`` as complex128, or None if it is not inside the image."""
    if region.intersection(Region.full(source.spec.shape)) != region:
        return None
    return np.ascontiguousarray(source.read(region), dtype=np.complex128)
