"""Azimuth carrier tables of SAR images for the resampler: Doppler centroid, TOPS ramp.

Design
------
A focused SLC's azimuth spectrum at pixel ``(row, col)`` is centred at the
carrier ``f(row, col)`` (Hz): the Doppler centroid of the product, plus, for
a TOPS burst, the steering ramp ``f_dc(R) + k_t(R) (eta - eta_ref(R))`` of
ESA's "Definition of the TOPS SLC deramping function for products generated
by the S-1 IPF" (COPE-GSEG-EOPG-TN-14-0025; ISCE2 ``topsApp``), evaluated by
:meth:`peppers.scene.radar.TopsBurst.doppler`. A baseband interpolator must
see the spectrum at zero frequency, so
:class:`~peppers.operators.resample.PolynomialResampler` takes the carrier
as a table ``f / PRF`` (cycles per line) on a regular grid of the image's
pixels and demodulates around each output pixel (ISCE3 ``ResampSlc`` with
its Doppler LUT). :func:`carrier_grid` tabulates any ``f(row, col)``;
:func:`scene_carrier` does it for a scene's metadata
(:func:`peppers.operators.scene_spectra.scene_spectrum`).

Where a scene carries no Doppler, the carrier is zero (baseband, zero-Doppler
focused data: the ``peppers-slc/1`` assumption), recorded as an assumption.
Limit: across a burst boundary of a debursted scene the table's bilinear
cells blend two ramps; the grid is fine (:data:`GRID_STEP` lines), so only
the lines next to a boundary are affected.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

#: Grid spacing of carrier tables (rows, cols), pixels: the carrier is smooth in
#: range; in azimuth fine enough to confine a burst boundary's blend to a few lines.
GRID_STEP = (8, 64)


def carrier_grid(carrier_hz: Callable[[np.ndarray, np.ndarray], np.ndarray], lines: int,
                 samples: int, prf_hz: float,
                 step: tuple[int, int] = GRID_STEP) -> dict[str, Any]:
    """Tabulate ``carrier_hz(rows, cols)`` for the resampler (cycles per line).

    Parameters
    ----------
    carrier_hz : callable
        Carrier in Hz at image pixel positions (arrays broadcast).
    lines, samples : int
        Image shape; the grid covers it, one step beyond each edge.
    prf_hz : float
        Line rate (1 / line interval).
    step : (int, int)
        Grid spacing (rows, cols), pixels.

    Returns
    -------
    dict
        ``values``, ``row0``, ``col0``, ``row_step``, ``col_step``: the
        ``carrier`` parameter of
        :class:`~peppers.operators.resample.PolynomialResampler`.
    """
    sr, sc = step
    rows = np.arange(-sr, lines + 2 * sr, sr, dtype=np.float64)
    cols = np.arange(-sc, samples + 2 * sc, sc, dtype=np.float64)
    values = np.asarray(carrier_hz(rows[:, None], cols[None, :]), dtype=np.float64)
    values = np.ascontiguousarray(np.broadcast_to(values, (rows.size, cols.size)) / prf_hz)
    return {"values": values, "row0": float(rows[0]), "col0": float(cols[0]),
            "row_step": float(sr), "col_step": float(sc)}


def scene_carrier(record: Any) -> dict[str, Any] | None:
    """The resampler's carrier table of a scene (contract mapping), or None for baseband.

    Reads the contract v2 Doppler fields when present (a Doppler centroid
    LUT, or the TOPS burst parameters); None means the scene states no
    Doppler: zero-Doppler baseband focusing is assumed (contract v1).
    """
    from peppers.operators.scene_spectra import scene_spectrum

    spectrum = scene_spectrum(record)
    if spectrum.carrier_hz is None:
        return None
    return carrier_grid(spectrum.carrier_hz, spectrum.lines, spectrum.samples, spectrum.prf_hz)


def deramp(array: np.ndarray, carrier: dict[str, Any] | None, row0: int, col0: int,
           centre: tuple[float, float]) -> np.ndarray:
    """Bring a chip's azimuth spectrum to baseband about ``centre`` (a copy).

    Multiplies ``array`` (its pixel ``[0, 0]`` at image position ``(row0,
    col0)``) by ``exp(-2 pi i (f t + k t^2 / 2))``, ``t = row - centre[0]``,
    with ``f`` and ``k = df/drow`` of the carrier table at ``centre``: the
    local expansion the resampler uses. Chip correlation needs it for a
    steered (TOPS) spectrum, which sweeps across the whole band within a chip
    so that no frequency interval holds it (the band-limited interpolation of
    the correlation surface then fails). ``carrier`` empty or None: a copy.
    """
    from peppers.operators import _resample_kernels
    from peppers.operators.resample import carrier_table

    out = np.array(array, dtype=np.complex128)
    if not carrier:
        return out
    table, r0, c0, dr, dc = carrier_table(carrier, "deramp")
    f, k = _resample_kernels._carrier_at(table, r0, c0, dr, dc, float(centre[0]),
                                         float(centre[1]))
    t = np.arange(out.shape[0], dtype=np.float64) + row0 - centre[0]
    out *= np.exp(-2j * np.pi * (f * t + 0.5 * k * t * t))[:, None]
    return out
