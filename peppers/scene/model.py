"""The :class:`Scene` value: one SAR acquisition of the ``peppers-slc/1`` / ``/2`` contract.

A ``Scene`` is the typed, validated form of a scene's YAML metadata plus the
location of its image. Constructing one checks every metadata rule of the
contract that does not need the image file (positive spacings, a known look
side, at least 8 evenly spaced, strictly increasing state vectors whose
velocities agree with their positions and which cover the image with a margin),
so a ``Scene`` in hand is always a valid one; :func:`peppers.scene.load_scene`
adds the checks on the image itself. A breach raises
:class:`~peppers.errors.SceneError` naming the YAML file (``<scene>`` for a
scene built in code) and the dotted contract field.

Time convention: the scene's own clock starts at ``first_line_utc``. Row
``i`` is imaged at ``azimuth_seconds(i) = i * line_interval_s`` on that clock,
and :meth:`Scene.orbit` returns the orbit with the same epoch, so azimuth
times and orbit times need no conversion. Column ``j`` lies at slant range
``first_sample_m + j * sample_spacing_m``.

Contract v2 (``peppers-slc/2``, ``docs/input-format.md``) adds optional
radar parameters as further attributes (``centre_frequency_hz``,
``range_bandwidth_hz``, ``doppler``, ``azimuth_time_offset``, ``tops``...).
``None`` means the product did not say; :meth:`Scene.assumptions` lists what
the chain then assumes, so that a run can record it. The values of those
attributes live in :mod:`peppers.scene.radar`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, fields
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from peppers.errors import SceneError
from peppers.image import Region
from peppers.scene.radar import (DOPPLER_GEOMETRIES, SPEED_OF_LIGHT, DopplerCentroid,
                                 Polynomial, Tops)
from peppers.scene.utc import format_utc

if TYPE_CHECKING:  # pragma: no cover
    from peppers.geometry.orbit import Orbit

__all__ = ["Scene", "FORMAT", "FORMAT_V1", "FORMAT_V2", "FORMATS", "FRAMES", "LOOK_SIDES", "MIN_STATE_VECTORS",
           "SPACING_TOLERANCE", "VELOCITY_TOLERANCE"]

FORMAT_V1 = "peppers-slc/1"
FORMAT_V2 = "peppers-slc/2"
#: The formats a reader accepts; a scene with any v2 field is written as v2.
FORMATS = (FORMAT_V1, FORMAT_V2)
FORMAT = FORMAT_V1
#: Attributes of contract v2 (all optional); see :meth:`Scene.assumptions`.
V2_FIELDS = ("centre_frequency_hz", "range_sampling_rate_hz", "range_bandwidth_hz",
             "prf_hz", "azimuth_bandwidth_hz", "doppler", "azimuth_time_offset", "tops")
FRAMES = ("ECEF-WGS84",)
LOOK_SIDES = ("right", "left")
MIN_STATE_VECTORS = 8
#: State-vector intervals may differ from their mean by this fraction.
SPACING_TOLERANCE = 1e-3
#: |chord velocity - mean of the two velocities| may reach this fraction of the speed.
VELOCITY_TOLERANCE = 0.02
#: Plausible ECEF radius (m) and speed (m/s); outside means wrong units or frame.
_RADIUS_RANGE = (6.2e6, 1.0e8)
_SPEED_RANGE = (10.0, 2.0e4)


@dataclass(frozen=True, eq=False)
class Scene:
    """One focused zero-Doppler SLC acquisition (contract ``peppers-slc/1``).

    Parameters
    ----------
    sensor_name : str
        Free text (``sensor.name``).
    wavelength_m : float
        Radar wavelength in metres (``sensor.wavelength_m``).
    look_side : {"right", "left"}
        Side of the flight direction the antenna looks to.
    lines, samples : int
        Image rows (azimuth) and columns (range).
    first_line_utc : datetime
        Tz-aware zero-Doppler time of row 0.
    line_interval_s : float
        Time between rows, seconds.
    first_sample_m, sample_spacing_m : float
        Slant range of column 0 and the spacing between columns, metres.
    orbit_utc : sequence of datetime
        Tz-aware times of the state vectors.
    positions_m, velocities_mps : array_like of shape (n, 3)
        ECEF-WGS84 state vectors, metres and metres per second.
    image_path : path, optional
        The image (absolute once loaded or written); ``None`` while unset.
    yaml_path : path, optional
        The metadata file this scene came from or was written to.
    orbit_frame : str
        ``"ECEF-WGS84"``, the only frame of the contract.
    centre_frequency_hz : float, optional
        Radar centre frequency of the processed image (``sensor.centre_frequency_hz``).
    range_sampling_rate_hz, range_bandwidth_hz : float, optional
        Range sampling rate and processed range bandwidth
        (``range.sampling_rate_hz``, ``range.processed_bandwidth_hz``).
    prf_hz, azimuth_bandwidth_hz : float, optional
        Azimuth line rate (PRF of the focused lines) and processed azimuth
        bandwidth (``azimuth.prf_hz``, ``azimuth.processed_bandwidth_hz``).
    doppler : DopplerCentroid, optional
        Doppler centroid (Hz) as a function of slant range and scene time,
        and the geometry the image is focused to (``doppler``).
    azimuth_time_offset : Polynomial, optional
        ``dt(R)`` (s, polynomial in slant range): the zero-Doppler time of a
        target in row ``i``, column ``j`` is ``azimuth_seconds(i) + dt(R_j)``
        (the Sentinel-1 bistatic delay; ``azimuth.time_offset``).
    tops : Tops, optional
        TOPS steering rate and burst timing (``tops``).

    Raises
    ------
    SceneError
        If any metadata rule of the contract is broken; the error names
        ``yaml_path`` (or ``<scene>``) and the contract field.

    Notes
    -----
    Arrays are stored as read-only float64 copies, so the frozen value
    really is immutable. Two scenes are equal when every field is.
    """

    sensor_name: str
    wavelength_m: float
    look_side: str
    lines: int
    samples: int
    first_line_utc: datetime
    line_interval_s: float
    first_sample_m: float
    sample_spacing_m: float
    orbit_utc: tuple[datetime, ...]
    positions_m: np.ndarray
    velocities_mps: np.ndarray
    image_path: Path | None = None
    yaml_path: Path | None = None
    orbit_frame: str = FRAMES[0]
    centre_frequency_hz: float | None = None
    range_sampling_rate_hz: float | None = None
    range_bandwidth_hz: float | None = None
    prf_hz: float | None = None
    azimuth_bandwidth_hz: float | None = None
    doppler: DopplerCentroid | None = None
    azimuth_time_offset: Polynomial | None = None
    tops: Tops | None = None

    # -- validation ---------------------------------------------------------
    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "orbit_utc", tuple(self.orbit_utc))
        for name in ("image_path", "yaml_path"):
            value = getattr(self, name)
            if value is not None:
                set_(self, name, Path(value))
        self._check_header()
        for name in ("positions_m", "velocities_mps"):
            try:
                array = np.array(getattr(self, name), dtype=np.float64)
            except (TypeError, ValueError) as error:
                raise self._fail("orbit.state_vectors",
                                 f"{name} is not an (n, 3) array of numbers: {error}") from None
            array.setflags(write=False)
            set_(self, name, array)
        self._check_state_vectors()
        self._check_orbit_timing()
        self._check_v2()

    def _fail(self, field: str, problem: str) -> SceneError:
        return SceneError(self.yaml_path if self.yaml_path is not None else "<scene>",
                          field, problem)

    def _check_header(self) -> None:
        if not isinstance(self.sensor_name, str) or not self.sensor_name.strip():
            raise self._fail("sensor.name", f"must be a non-empty string, got {self.sensor_name!r}")
        if self.look_side not in LOOK_SIDES:
            raise self._fail("sensor.look_side",
                             f"unknown look side {self.look_side!r}; use 'right' or 'left'")
        if self.orbit_frame not in FRAMES:
            raise self._fail("orbit.frame",
                             f"unknown frame {self.orbit_frame!r}; the contract knows {FRAMES[0]!r}")
        for name, field in (("lines", "image.lines"), ("samples", "image.samples")):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise self._fail(field, f"must be a positive integer, got {value!r}")
            object.__setattr__(self, name, int(value))
        for name, field in (("wavelength_m", "sensor.wavelength_m"),
                            ("line_interval_s", "azimuth.line_interval_s"),
                            ("first_sample_m", "range.first_sample_m"),
                            ("sample_spacing_m", "range.sample_spacing_m")):
            value = getattr(self, name)
            if (isinstance(value, bool) or not isinstance(value, (int, float, np.number))
                    or not math.isfinite(value) or value <= 0):
                raise self._fail(field, f"must be a finite number > 0, got {value!r}")
            object.__setattr__(self, name, float(value))
        object.__setattr__(self, "first_line_utc",
                           _utc(self, self.first_line_utc, "azimuth.first_line_utc"))
        object.__setattr__(self, "orbit_utc", tuple(
            _utc(self, t, f"orbit.state_vectors[{i}].utc") for i, t in enumerate(self.orbit_utc)))

    def _check_state_vectors(self) -> None:
        n = len(self.orbit_utc)
        if n < MIN_STATE_VECTORS:
            raise self._fail("orbit.state_vectors",
                             f"has {n} state vectors; the contract needs at least "
                             f"{MIN_STATE_VECTORS}, evenly spaced, covering the image with margin")
        for name, key, unit, (low, high), norm_name in (
                ("positions_m", "position_m", "m", _RADIUS_RANGE, "|r|"),
                ("velocities_mps", "velocity_mps", "m/s", _SPEED_RANGE, "|v|")):
            array = getattr(self, name)
            if array.shape != (n, 3):
                raise self._fail("orbit.state_vectors",
                                 f"{name} has shape {array.shape}; expected ({n}, 3), "
                                 "one [x, y, z] per state vector")
            norms = np.linalg.norm(array, axis=1)
            for i in range(n):
                if not np.all(np.isfinite(array[i])):
                    raise self._fail(f"orbit.state_vectors[{i}].{key}",
                                     f"holds a non-finite value {array[i].tolist()}")
                if not low <= norms[i] <= high:
                    raise self._fail(f"orbit.state_vectors[{i}].{key}",
                                     f"{norm_name} = {norms[i]:.6g} {unit} is outside "
                                     f"[{low:g}, {high:g}] {unit}: wrong units, or not "
                                     f"ECEF-WGS84? the contract wants {unit}")

    def _check_orbit_timing(self) -> None:
        seconds = self.orbit_times_s
        steps = np.diff(seconds)
        for i, step in enumerate(steps, start=1):
            if step <= 0:
                raise self._fail(f"orbit.state_vectors[{i}].utc",
                                 f"{format_utc(self.orbit_utc[i])} is not after the previous "
                                 f"state vector ({format_utc(self.orbit_utc[i - 1])}); "
                                 "times must strictly increase")
        mean_step = float(seconds[-1] - seconds[0]) / (len(seconds) - 1)
        for i, step in enumerate(steps, start=1):
            if abs(step - mean_step) > SPACING_TOLERANCE * mean_step:
                raise self._fail(f"orbit.state_vectors[{i}].utc",
                                 f"is {step:.6f} s after the previous state vector, but the "
                                 f"mean interval is {mean_step:.6f} s; state vectors must be "
                                 "evenly spaced")
        chord = np.diff(self.positions_m, axis=0) / steps[:, None]
        mean_velocity = 0.5 * (self.velocities_mps[1:] + self.velocities_mps[:-1])
        speed = np.linalg.norm(mean_velocity, axis=1)
        mismatch = np.linalg.norm(chord - mean_velocity, axis=1)
        for i in range(len(steps)):
            if mismatch[i] > VELOCITY_TOLERANCE * speed[i]:
                raise self._fail(f"orbit.state_vectors[{i + 1}].velocity_mps",
                                 f"disagrees with the positions: (p[{i + 1}] - p[{i}]) / dt "
                                 f"differs from the mean velocity by {mismatch[i]:.3g} m/s "
                                 f"({mismatch[i] / speed[i]:.1%} of the speed); "
                                 "velocities in an inertial frame, or in other units?")
        margin = mean_step
        need_start = -margin
        need_stop = self.azimuth_seconds(self.lines - 1) + margin
        if seconds[0] > need_start + 1e-6 or seconds[-1] < need_stop - 1e-6:
            raise self._fail(
                "orbit.state_vectors",
                f"cover {format_utc(self.orbit_utc[0])} .. {format_utc(self.orbit_utc[-1])}, "
                f"but the image spans {format_utc(self.first_line_utc)} .. "
                f"{format_utc(self.last_line_utc)}; with a margin of one state-vector interval "
                f"({mean_step:g} s) they must cover at least "
                f"{format_utc(self.azimuth_time(-margin / self.line_interval_s))} .. "
                f"{format_utc(self.azimuth_time(need_stop / self.line_interval_s))}")

    def _check_v2(self) -> None:
        for name, field in (("centre_frequency_hz", "sensor.centre_frequency_hz"),
                            ("range_sampling_rate_hz", "range.sampling_rate_hz"),
                            ("range_bandwidth_hz", "range.processed_bandwidth_hz"),
                            ("prf_hz", "azimuth.prf_hz"),
                            ("azimuth_bandwidth_hz", "azimuth.processed_bandwidth_hz")):
            value = getattr(self, name)
            if value is None:
                continue
            if (isinstance(value, bool) or not isinstance(value, (int, float, np.number))
                    or not math.isfinite(value) or value <= 0):
                raise self._fail(field, f"must be a finite number > 0 (Hz), got {value!r}")
            object.__setattr__(self, name, float(value))
        if self.centre_frequency_hz is not None:
            implied = SPEED_OF_LIGHT / self.centre_frequency_hz
            if abs(implied - self.wavelength_m) > 1e-6 * self.wavelength_m:
                raise self._fail("sensor.centre_frequency_hz",
                                 f"{self.centre_frequency_hz!r} Hz means a wavelength of "
                                 f"{implied!r} m, but sensor.wavelength_m is "
                                 f"{self.wavelength_m!r}; they must agree (lambda = c / f)")
        if (self.range_bandwidth_hz is not None and self.range_sampling_rate_hz is not None
                and self.range_bandwidth_hz > self.range_sampling_rate_hz * (1 + 1e-9)):
            raise self._fail("range.processed_bandwidth_hz",
                             f"{self.range_bandwidth_hz!r} Hz exceeds the sampling rate "
                             f"{self.range_sampling_rate_hz!r} Hz")
        if self.doppler is not None:
            if not isinstance(self.doppler, DopplerCentroid):
                raise self._fail("doppler", f"must be a DopplerCentroid, got {self.doppler!r}")
            if self.doppler.geometry not in DOPPLER_GEOMETRIES:
                raise self._fail("doppler.geometry", f"is {self.doppler.geometry!r}; use one "
                                                     f"of {', '.join(DOPPLER_GEOMETRIES)}")
        if self.azimuth_time_offset is not None \
                and not isinstance(self.azimuth_time_offset, Polynomial):
            raise self._fail("azimuth.time_offset", "must be a Polynomial in slant range")
        if self.tops is not None:
            if not isinstance(self.tops, Tops) or not self.tops.bursts:
                raise self._fail("tops.bursts", "a TOPS scene needs at least one burst")
            for i, burst in enumerate(self.tops.bursts):
                if burst.lines < 1:
                    raise self._fail(f"tops.bursts[{i}].lines",
                                     f"must be a positive integer, got {burst.lines!r}")
                for name in ("first_line_utc", "mid_utc"):
                    object.__setattr__(burst, name, _utc(self, getattr(burst, name),
                                                         f"tops.bursts[{i}].{name}"))
            rows = [b.first_row for b in self.tops.bursts]
            if rows != sorted(rows) or len(set(rows)) != len(rows):
                raise self._fail("tops.bursts", f"first_row values {rows} must strictly increase")

    # -- contract v2 --------------------------------------------------------
    @property
    def format(self) -> str:
        """``peppers-slc/2`` if any v2 field is set, else ``peppers-slc/1``."""
        return FORMAT_V2 if any(getattr(self, n) is not None for n in V2_FIELDS) else FORMAT_V1

    @property
    def range_sampling_rate(self) -> float:
        """Range sampling rate in Hz: the declared one, else ``c / (2 sample_spacing_m)``
        (the same thing for a slant-range grid; not an assumption)."""
        if self.range_sampling_rate_hz is not None:
            return self.range_sampling_rate_hz
        return SPEED_OF_LIGHT / (2.0 * self.sample_spacing_m)

    @property
    def line_rate_hz(self) -> float:
        """Azimuth line rate: ``azimuth.prf_hz`` if given, else ``1 / line_interval_s``."""
        return self.prf_hz if self.prf_hz is not None else 1.0 / self.line_interval_s

    @property
    def centre_frequency(self) -> float:
        """Centre frequency in Hz: the declared one, else ``c / wavelength_m``."""
        if self.centre_frequency_hz is not None:
            return self.centre_frequency_hz
        return SPEED_OF_LIGHT / self.wavelength_m

    @property
    def doppler_geometry(self) -> str:
        """``zero-doppler`` (the v1 rule, and the default) or ``native-doppler``."""
        return self.doppler.geometry if self.doppler is not None else "zero-doppler"

    def doppler_centroid(self, range_m, time_s):
        """Doppler centroid in Hz at slant range(s) ``range_m`` and scene time(s) ``time_s``.

        Parameters
        ----------
        range_m : array_like
            Slant range, metres.
        time_s : array_like
            Seconds since ``first_line_utc`` (the scene clock).

        Returns
        -------
        float or ndarray
            ``doppler(range_m, time_s)``, broadcast; 0 Hz when the scene
            declares no Doppler (the v1 assumption, see :meth:`assumptions`).
            For a TOPS burst this is the burst-centre centroid; the steering
            ramp along the burst is :meth:`tops_doppler`.
        """
        if self.doppler is None:
            return np.zeros(np.broadcast(np.asarray(range_m), np.asarray(time_s)).shape)[()]
        return self.doppler(range_m, time_s)

    def azimuth_time_offset_s(self, range_m):
        """The range-dependent offset (s) from a row's time to the zero-Doppler time
        of its targets (0 when the scene declares none)."""
        if self.azimuth_time_offset is None:
            return np.zeros(np.shape(range_m))[()]
        return self.azimuth_time_offset(range_m)

    def tops_doppler(self, row, col):
        """Azimuth Doppler (Hz) of a TOPS scene at (fractional) rows and columns.

        Parameters
        ----------
        row, col : array_like
            Scene pixel coordinates, broadcast together.

        Returns
        -------
        ndarray
            The burst's Doppler ``f_dc(R) + k_t(R) (eta - eta_ref(R))`` of
            :meth:`peppers.scene.radar.TopsBurst.doppler`, with ``eta`` the row's
            time from its burst's mid time and ``v_s`` the orbit speed there.

        Raises
        ------
        SceneError
            Field ``tops`` if the scene is not TOPS.
        """
        if self.tops is None:
            raise self._fail("tops", "this scene has no TOPS burst timing")
        rows, cols = np.broadcast_arrays(np.asarray(row, dtype=np.float64),
                                         np.asarray(col, dtype=np.float64))
        out = np.empty(rows.shape)
        orbit = self.orbit()
        starts = np.array([b.first_row for b in self.tops.bursts])
        which = np.clip(np.searchsorted(starts, rows, side="right") - 1, 0, len(starts) - 1)
        for k, burst in enumerate(self.tops.bursts):
            mask = which == k
            if not mask.any():
                continue
            mid_s = (burst.mid_utc - self.first_line_utc) / timedelta(seconds=1)
            _, vel = orbit.interpolate(mid_s)
            eta = self.azimuth_seconds(rows[mask]) - mid_s
            out[mask] = burst.doppler(self.slant_range(cols[mask]), eta,
                                      steering_rate_rad_s=self.tops.steering_rate_rad_s,
                                      speed_mps=float(np.linalg.norm(vel)),
                                      wavelength_m=self.wavelength_m,
                                      mid_range_m=self.tops.mid_range_m)
        return out[()]

    def assumptions(self) -> dict[str, str]:
        """What the chain assumes for each v2 field this scene leaves out.

        Returns
        -------
        dict
            Contract field -> the assumption, in words; empty when the scene
            declares every field that applies. ``pep init`` records it under
            ``inputs.<role>.assumptions``.
        """
        out: dict[str, str] = {}
        if self.centre_frequency_hz is None:
            out["sensor.centre_frequency_hz"] = (
                f"c / wavelength_m = {self.centre_frequency:.9g} Hz")
        if self.range_sampling_rate_hz is None:
            out["range.sampling_rate_hz"] = (
                f"c / (2 sample_spacing_m) = {self.range_sampling_rate:.9g} Hz")
        if self.range_bandwidth_hz is None:
            out["range.processed_bandwidth_hz"] = (
                "not declared: the chain's default fraction of the range sampling rate")
        if self.prf_hz is None:
            out["azimuth.prf_hz"] = f"1 / line_interval_s = {self.line_rate_hz:.9g} Hz"
        if self.azimuth_bandwidth_hz is None:
            out["azimuth.processed_bandwidth_hz"] = (
                "not declared: the chain's default fraction of the line rate")
        if self.doppler is None:
            out["doppler"] = "zero-Doppler geometry, Doppler centroid 0 Hz everywhere"
        if self.azimuth_time_offset is None:
            out["azimuth.time_offset"] = "0 s: row times are the targets' zero-Doppler times"
        if self.tops is None:
            out["tops"] = "not a TOPS burst: no azimuth steering ramp"
        return out

    # -- derived values -----------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        """``(lines, samples)``: the image shape, ``(azimuth, range)``."""
        return (self.lines, self.samples)

    @property
    def last_line_utc(self) -> datetime:
        """Zero-Doppler time of the last row."""
        return self.azimuth_time(self.lines - 1)

    @property
    def orbit_times_s(self) -> np.ndarray:
        """State-vector times in seconds since ``first_line_utc``, shape (n,)."""
        epoch = self.first_line_utc
        return np.array([(t - epoch) / timedelta(seconds=1) for t in self.orbit_utc])

    def azimuth_seconds(self, row: float | np.ndarray) -> float | np.ndarray:
        """Zero-Doppler time of ``row`` in seconds since ``first_line_utc``.

        Parameters
        ----------
        row : float or ndarray
            Row coordinate(s); fractional rows are allowed.

        Returns
        -------
        float or ndarray
            ``row * line_interval_s``.
        """
        return np.multiply(row, self.line_interval_s)[()]

    def azimuth_time(self, row: float) -> datetime:
        """Zero-Doppler UTC time of one (possibly fractional) row.

        Parameters
        ----------
        row : float
            Row coordinate.

        Returns
        -------
        datetime
            ``first_line_utc + row * line_interval_s``, to the microsecond.
        """
        return self.first_line_utc + timedelta(seconds=float(row) * self.line_interval_s)

    def slant_range(self, col: float | np.ndarray) -> float | np.ndarray:
        """Slant range of column(s) ``col`` in metres.

        Parameters
        ----------
        col : float or ndarray
            Column coordinate(s); fractional columns are allowed.

        Returns
        -------
        float or ndarray
            ``first_sample_m + col * sample_spacing_m``.
        """
        return np.add(self.first_sample_m, np.multiply(col, self.sample_spacing_m))[()]

    def orbit(self, nodes: int = 4) -> "Orbit":
        """The interpolating orbit, with its epoch at ``first_line_utc``.

        Parameters
        ----------
        nodes : int
            State vectors per Hermite polynomial (``insar.geometry.orbit_nodes``;
            2 is the contract's cubic minimum, 4 the default degree-7 scheme).

        Returns
        -------
        peppers.geometry.orbit.Orbit
            ``Orbit(first_line_utc, orbit_times_s, positions_m, velocities_mps)``;
            its times are on the same clock as :meth:`azimuth_seconds`.
        """
        from peppers.geometry.orbit import Orbit

        return Orbit(self.first_line_utc, self.orbit_times_s,
                     self.positions_m.copy(), self.velocities_mps.copy(), nodes=nodes)

    def read(self, region: "Region") -> np.ndarray:
        """Read a window of the image, windowed through rasterio.

        Parameters
        ----------
        region : peppers.image.region.Region
            Rows and columns to read; parts outside the image come back as
            0+0j, the contract's no-data value.

        Returns
        -------
        ndarray of shape ``region.shape``, complex64

        Raises
        ------
        SceneError
            If the scene has no image path or GDAL cannot read the window.
        """
        import rasterio
        from rasterio.errors import NotGeoreferencedWarning, RasterioError
        from rasterio.windows import Window

        if self.image_path is None:
            raise self._fail("image.path", "this scene has no image file")
        out = np.zeros(region.shape, dtype=np.complex64)
        inside = region.intersection(Region.full(self.shape))
        if inside.is_empty:
            return out
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NotGeoreferencedWarning)
                with rasterio.open(self.image_path) as dataset:
                    data = dataset.read(1, window=Window(inside.col, inside.row,
                                                         inside.width, inside.height))
        except RasterioError as error:
            raise SceneError(self.image_path, "image.path",
                             f"cannot read rows {inside.row}..{inside.row_stop - 1}, columns "
                             f"{inside.col}..{inside.col_stop - 1}: {error}") from None
        out[inside.relative_to(region)] = data
        return out

    # -- comparison ---------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Scene):
            return NotImplemented
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if isinstance(a, np.ndarray):
                if not np.array_equal(a, b):
                    return False
            elif a != b:
                return False
        return True

    __hash__ = None  # type: ignore[assignment]  # holds arrays: not hashable


def _utc(scene: Scene, value: object, field: str) -> datetime:
    """``value`` as a UTC datetime; SceneError unless it is a tz-aware datetime."""
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise scene._fail(field, f"must be a tz-aware UTC datetime, got {value!r}")
    return value.astimezone(timezone.utc)
