"""A repeat pass made from one real SLC: known smooth offsets, the scene's own carrier.

Used by the real-speckle coregistration and resampling tests. The second image
is built independently of the project's resampler and of its carrier tables:

1. the real SLC is brought to baseband by its azimuth carrier *phase*
   ``phi(row, col)`` (the test's own integral of the carrier: a Doppler
   centroid, or the Sentinel-1 TOPS ramp of ESA COPE-GSEG-EOPG-TN-14-0025
   evaluated from the annotation in :func:`s1_tops_phase`);
2. it is moved by a smooth offset field with two passes of a long
   (:data:`TAPS`-point) Kaiser-windowed sinc evaluated directly in numpy (no
   table, no project code): azimuth ``y(r, c) = x(r + a(r, c), c)``, then
   range ``s(r, c) = y(r, c + b(r, c))``, so the slave pixel ``Q`` holds the
   master content at ``Q + e(Q)`` with ``e = (a(Q_r, Q_c + b(Q)), b(Q))``
   exactly;
3. the carrier is put back at the content's position, ``exp(i phi(Q + e(Q)))``:
   a target keeps its own Doppler history, as in a real repeat.

The true coregistration offsets (slave position minus master position at
master pixel ``P``) solve ``d = -e(P + d)`` (fixed-point iteration to machine
precision).
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

TAPS = 16
BETA = 5.0
REAL = Path("../shared/data/real")
S1_DIR = REAL / "s1-iw3-azores-20220918"
S1_XML = S1_DIR / "s1a-iw3-slc-vv-20220918t074921-20220918t074946-045056-056232-006.xml"
S1_TIFF = S1_DIR / "s1a-iw3-slc-vv_subset_hight9800_10400_width11000_11000.tiff"
#: 0-based swath position of the crop's first line and sample, and its burst (data README).
S1_CROP = (9799, 10999, 6)
WINNIPEG = REAL / "uavsar-winnipeg" / "winnipeg.h5"


def _kaiser_sinc(x: np.ndarray) -> np.ndarray:
    half = TAPS / 2
    window = np.i0(BETA * np.sqrt(np.clip(1 - (x / half) ** 2, 0, None))) / np.i0(BETA)
    return np.sinc(x) * window


def _shift_axis0(x: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """``x`` at fractional rows ``pos`` (same shape as ``x``), column by column."""
    floor = np.floor(pos).astype(int)
    out = np.zeros(x.shape, np.complex128)
    norm = np.zeros(x.shape)
    cols = np.arange(x.shape[1])[None, :]
    for a in range(-TAPS // 2 + 1, TAPS // 2 + 1):
        idx = floor + a
        w = _kaiser_sinc(idx - pos)
        inside = (idx >= 0) & (idx < x.shape[0])
        out += np.where(inside, w * x[np.clip(idx, 0, x.shape[0] - 1), cols], 0)
        norm += w
    return out / norm


def offset_field(shape: tuple[int, int], amplitude: float = 2.0):
    """A smooth test field ``(a(r, c), b(r, c))``, up to about ``amplitude`` px, both axes."""
    h, w = shape

    def field(rows, cols):
        u, v = (rows - h / 2) / (h / 2), (cols - w / 2) / (w / 2)
        a = amplitude * (0.35 + 0.45 * u - 0.3 * v + 0.15 * u * v - 0.1 * u * u)
        b = amplitude * (-0.4 + 0.25 * u + 0.5 * v - 0.15 * v * v + 0.1 * u * v)
        return a, b

    return field


def make_repeat(master: np.ndarray, phase, field):
    """Slave image and the true offsets ``(d_row, d_col)`` at every master pixel.

    Parameters
    ----------
    master : ndarray (H, W), complex
    phase : callable or None
        ``phi(rows, cols)``, radians: the azimuth carrier phase (None: baseband).
    field : callable
        ``(a, b) = field(rows, cols)``: the two passes' offsets.
    """
    h, w = master.shape
    rows, cols = np.meshgrid(np.arange(h, dtype=float), np.arange(w, dtype=float), indexing="ij")
    x = master.astype(np.complex128)
    if phase is not None:
        x = x * np.exp(-1j * phase(rows, cols))
    a, _ = field(rows, cols)
    y = _shift_axis0(x, rows + a)
    _, b = field(rows, cols)
    s = _shift_axis0(y.T, (cols + b).T).T
    e_row, e_col = field(rows, cols + b)[0], b
    if phase is not None:
        s = s * np.exp(1j * phase(rows + e_row, cols + e_col))
    d_row, d_col = -e_row, -e_col
    for _ in range(50):
        p_r, p_c = rows + d_row, cols + d_col
        _, bb = field(p_r, p_c)
        d_row, d_col = -field(p_r, p_c + bb)[0], -bb
    return s.astype(np.complex64), d_row, d_col


# -- Sentinel-1 annotation: the test's own reading of the TOPS ramp -------------------------
def _t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _poly(coefficients, t0, t):
    return np.polynomial.polynomial.polyval(np.asarray(t, float) - t0,
                                            np.asarray(coefficients, float))


def s1_crop() -> np.ndarray:
    """The Sentinel-1 IW3 crop (complex64)."""
    import warnings

    import rasterio
    from rasterio.errors import NotGeoreferencedWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(S1_TIFF) as dataset:
            return dataset.read(1).astype(np.complex64)


def s1_tops_phase():
    """``(phi(rows, cols), carrier_hz(rows, cols), prf)`` of the crop from the annotation.

    ESA TN-14-0025: ``k_s = 2 v k_psi / lambda``, ``k_t = k_a k_s / (k_a - k_s)``,
    ``eta_ref = -f_dc / k_a + f_dc(tau_mid) / k_a(tau_mid)``, carrier
    ``f_dc + k_t (eta - eta_ref)`` and phase ``2 pi (f_dc e + k_t e^2 / 2)``,
    ``e = eta - eta_ref``, ``eta`` from the burst's mid line. The Doppler
    centroid (``dataDcPolynomial``) and FM rate records nearest the burst's
    mid time, the orbit speed of the nearest state vector.
    """
    root = ET.parse(S1_XML).getroot()
    num = lambda path: float(root.find(path).text)  # noqa: E731
    line_dt = num(".//imageInformation/azimuthTimeInterval")
    tau0 = num(".//imageInformation/slantRangeTime")
    fs = num(".//productInformation/rangeSamplingRate")
    wavelength = 299792458.0 / num(".//productInformation/radarFrequency")
    k_psi = np.radians(num(".//productInformation/azimuthSteeringRate"))
    lines = int(root.find(".//swathTiming/linesPerBurst").text)
    samples = int(root.find(".//swathTiming/samplesPerBurst").text)
    first_line, first_sample, burst = S1_CROP
    start = _t(root.findall(".//swathTiming/burstList/burst")[burst].find("azimuthTime").text)
    mid = start + dt.timedelta(seconds=lines / 2 * line_dt)

    def nearest(path, tag="azimuthTime"):
        return min(root.findall(path), key=lambda e: abs((_t(e.find(tag).text) - mid)
                                                        .total_seconds()))

    dc = nearest(".//dopplerCentroid/dcEstimateList/dcEstimate")
    fm = nearest(".//generalAnnotation/azimuthFmRateList/azimuthFmRate")
    orbit = nearest(".//orbitList/orbit", "time")
    speed = float(np.linalg.norm([float(orbit.find(f"velocity/{k}").text) for k in "xyz"]))
    dc_c, dc_t0 = dc.find("dataDcPolynomial").text.split(), float(dc.find("t0").text)
    fm_c, fm_t0 = fm.find("azimuthFmRatePolynomial").text.split(), float(fm.find("t0").text)
    tau_mid = tau0 + samples / 2 / fs
    row0 = first_line - burst * lines

    def terms(rows, cols):
        eta = (row0 + np.asarray(rows, float) - lines / 2) * line_dt
        tau = tau0 + (first_sample + np.asarray(cols, float)) / fs
        ka = _poly(fm_c, fm_t0, tau)
        ks = 2 * speed * k_psi / wavelength
        fdc = _poly(dc_c, dc_t0, tau)
        eta_ref = -fdc / ka + _poly(dc_c, dc_t0, tau_mid) / _poly(fm_c, fm_t0, tau_mid)
        return fdc, ka * ks / (ka - ks), eta - eta_ref

    def phase(rows, cols):
        fdc, kt, e = terms(rows, cols)
        return 2 * np.pi * (fdc * e + 0.5 * kt * e * e)

    def carrier(rows, cols):
        fdc, kt, e = terms(rows, cols)
        return fdc + kt * e

    return phase, carrier, 1.0 / line_dt


def winnipeg():
    """The UAVSAR Winnipeg SLC, its line rate and its Doppler centroid LUT (Hz)."""
    import h5py

    with h5py.File(WINNIPEG, "r") as f:
        g = f["science/LSAR/SLC"]
        slc = g["swaths/frequencyA/HH"][()].astype(np.complex64)
        prf = 1.0 / float(g["swaths/zeroDopplerTimeSpacing"][()])
        lut = g["metadata/processingInformation/parameters/frequencyA/dopplerCentroid"][()]
    return slc, prf, lut


def coherence(a: np.ndarray, b: np.ndarray, window: int = 5, margin: int = 20):
    """Mean boxcar coherence (``window`` square) and the global complex correlation."""
    from scipy.ndimage import uniform_filter

    a, b = a.astype(np.complex128), b.astype(np.complex128)
    ifg = a * np.conj(b)
    num = uniform_filter(ifg.real, window) + 1j * uniform_filter(ifg.imag, window)
    den = np.sqrt(uniform_filter(np.abs(a) ** 2, window) * uniform_filter(np.abs(b) ** 2, window))
    inner = (slice(margin, -margin), slice(margin, -margin))
    gamma = np.abs(num[inner]) / np.maximum(den[inner], 1e-30)
    aa, bb = a[inner], b[inner]
    total = abs(np.vdot(bb, aa)) / np.sqrt(np.vdot(aa, aa).real * np.vdot(bb, bb).real)
    return float(gamma.mean()), float(total)
