"""What the spectral operators need of a scene: bands, rates, centre frequency, carrier.

Design
------
Resampling and common-band filtering need, per image, the range sampling
rate and processed range bandwidth, the centre frequency, the line rate
(PRF) and processed azimuth bandwidth, and the azimuth carrier (Doppler
centroid, TOPS steering ramp) as a function of pixel. Contract
``peppers-slc/2`` states them (``docs/input-format.md``); a ``peppers-slc/1``
scene does not, and the chain then assumes what the simulator makes:
range and azimuth bandwidths :data:`DEFAULT_BANDWIDTH_FRACTION` of the
sampling rates, centre frequency ``c / wavelength``, zero Doppler, no TOPS.
:func:`scene_spectrum` gathers the values in one :class:`SceneSpectrum` and
lists every assumption it made in :attr:`SceneSpectrum.assumed`, which the
coregistration result records in the run (``insar.coregistration.offsets.spectra``),
so an assumption is never silent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

#: Speed of light, m/s.
SPEED_OF_LIGHT = 299_792_458.0
#: Bandwidth over sampling rate assumed where a scene states no bandwidth (the
#: simulator's default; ``peppers-slc/1`` records none).
DEFAULT_BANDWIDTH_FRACTION = 0.85


@dataclass(frozen=True)
class SceneSpectrum:
    """Spectral description of one image.

    Attributes
    ----------
    lines, samples : int
    prf_hz, range_sampling_hz : float
        Line rate and range sampling rate.
    centre_frequency_hz : float
    range_bandwidth_hz, azimuth_bandwidth_hz : float
        Processed bandwidths.
    carrier_hz : callable or None
        ``f(row, col)``, Hz: the azimuth spectrum's centre at image pixel
        positions (arrays broadcast); None for a zero-Doppler baseband image.
    first_sample_m, sample_spacing_m : float
        The range axis (slant range of column ``j``: ``first + j spacing``).
    assumed : tuple of str
        ``"field: assumption"`` for each value the scene did not state.
    tops : bool
        The carrier is a TOPS steering ramp (varies along azimuth).
    """

    lines: int
    samples: int
    prf_hz: float
    range_sampling_hz: float
    centre_frequency_hz: float
    range_bandwidth_hz: float
    azimuth_bandwidth_hz: float
    carrier_hz: Callable[[np.ndarray, np.ndarray], np.ndarray] | None
    first_sample_m: float
    sample_spacing_m: float
    assumed: tuple[str, ...] = ()
    tops: bool = False

    def centre_doppler_hz(self) -> float:
        """The carrier at the image centre, Hz (0 without one)."""
        if self.carrier_hz is None:
            return 0.0
        return float(np.asarray(self.carrier_hz(np.array((self.lines - 1) / 2),
                                                np.array((self.samples - 1) / 2))))

    @property
    def range_fraction(self) -> float:
        """Range bandwidth over range sampling rate."""
        return self.range_bandwidth_hz / self.range_sampling_hz

    @property
    def azimuth_fraction(self) -> float:
        """Azimuth bandwidth over line rate."""
        return self.azimuth_bandwidth_hz / self.prf_hz

    def record(self) -> dict[str, Any]:
        """Plain values for the run record."""
        return {"centre_frequency_hz": self.centre_frequency_hz,
                "range_sampling_hz": self.range_sampling_hz,
                "range_bandwidth_hz": self.range_bandwidth_hz,
                "prf_hz": self.prf_hz, "azimuth_bandwidth_hz": self.azimuth_bandwidth_hz,
                "carrier": "none (zero Doppler)" if self.carrier_hz is None else "from metadata",
                "assumed": list(self.assumed)}


def _scene(record: Any):
    """A Scene from a Scene or a contract mapping (HKV ``inputs.<role>``)."""
    if isinstance(record, Mapping):
        from peppers.scene import scene_from_mapping

        return scene_from_mapping(record, "scene")
    return record


def _tops_carrier(scene, tops) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """``f(row, col)`` of a TOPS scene: each row's burst ramp (ESA TN-14-0025)."""
    orbit = scene.orbit()
    wavelength = scene.wavelength_m
    first = scene.first_line_utc
    bursts = sorted(tops.bursts, key=lambda b: b.first_row)
    speeds = [float(np.linalg.norm(orbit.interpolate(
        np.array([(b.mid_utc - first).total_seconds()]))[1])) for b in bursts]
    starts = np.array([b.first_row for b in bursts], dtype=float)

    def carrier(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        rows, cols = np.broadcast_arrays(np.asarray(rows, float), np.asarray(cols, float))
        which = np.clip(np.searchsorted(starts, rows, side="right") - 1, 0, len(bursts) - 1)
        out = np.empty(rows.shape)
        for k, burst in enumerate(bursts):
            sel = which == k
            eta = scene.azimuth_seconds(rows[sel]) - (burst.mid_utc - first).total_seconds()
            out[sel] = burst.doppler(scene.slant_range(cols[sel]), eta,
                                     steering_rate_rad_s=tops.steering_rate_rad_s,
                                     speed_mps=speeds[k], wavelength_m=wavelength,
                                     mid_range_m=tops.mid_range_m)
        return out

    return carrier


def scene_spectrum(record: Any) -> SceneSpectrum:
    """Gather a scene's spectral parameters, stating every assumption.

    Parameters
    ----------
    record : Scene or mapping
        A scene, or its contract mapping (HKV ``inputs.<role>``).

    Returns
    -------
    SceneSpectrum
    """
    scene = _scene(record)
    assumed = []

    def stated(attr: str, field: str, default: float, how: str) -> float:
        value = getattr(scene, attr, None)
        if value is None:
            assumed.append(f"{field}: {how} = {default:.9g}")
            return float(default)
        return float(value)

    fs = stated("range_sampling_rate_hz", "range.sampling_rate_hz",
                SPEED_OF_LIGHT / (2 * scene.sample_spacing_m), "c / (2 sample_spacing_m)")
    prf = stated("prf_hz", "azimuth.prf_hz", 1.0 / scene.line_interval_s, "1 / line_interval_s")
    f0 = stated("centre_frequency_hz", "sensor.centre_frequency_hz",
                SPEED_OF_LIGHT / scene.wavelength_m, "c / wavelength_m")
    br = stated("range_bandwidth_hz", "range.processed_bandwidth_hz",
                DEFAULT_BANDWIDTH_FRACTION * fs, f"{DEFAULT_BANDWIDTH_FRACTION} x sampling rate")
    ba = stated("azimuth_bandwidth_hz", "azimuth.processed_bandwidth_hz",
                DEFAULT_BANDWIDTH_FRACTION * prf, f"{DEFAULT_BANDWIDTH_FRACTION} x line rate")
    tops, doppler = getattr(scene, "tops", None), getattr(scene, "doppler", None)
    carrier = None
    if tops is not None:
        carrier = _tops_carrier(scene, tops)
    elif doppler is not None:
        def carrier(rows, cols, _d=doppler):
            return _d(scene.slant_range(np.asarray(cols, float)),
                      scene.azimuth_seconds(np.asarray(rows, float)))
    else:
        assumed.append("doppler: zero-Doppler baseband azimuth spectrum, no TOPS ramp")
    return SceneSpectrum(scene.lines, scene.samples, prf, fs, f0, br, ba, carrier,
                         scene.first_sample_m, scene.sample_spacing_m, tuple(assumed),
                         tops is not None)
