"""What a simulated interferometric pair is made of: the options and their bounds.

:class:`SimulationConfig` is the one typed, validated description of a
simulation; ``pep simulate`` builds it from its options, tests build it
directly. Every field has a default that gives the project's standard scene
(a C-band, right-looking, descending pass over fractal terrain near
36.5 N, 117.0 W); out-of-range values are refused with a
:class:`~peppers.errors.SimulationError` that names the option, the value and
the accepted range.

Units are SI (metres, seconds) and degrees for angles, as in the scene
contract. Sign conventions of the baseline are those of
``docs/simulator.md``:

``bperp_m``
    Component of the slave-minus-master antenna separation perpendicular to
    the line of sight, positive in the direction of *increasing look angle*
    (up and away from nadir). With it the interferometric phase
    ``arg(master * conj(slave))`` *decreases* with terrain height.
``bpar_m``
    Component along the master line of sight, positive towards the target
    (the slave is closer: ``r2 - r1 ~ -bpar_m``).
``along_track_m``
    Component along the master velocity: for a positive value the slave is
    ahead of the master, sees every target earlier, and its azimuth offsets
    (slave row minus master row) are negative.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from datetime import datetime, timezone

from peppers.errors import SimulationError

__all__ = ["SimulationConfig"]


def _default_time() -> datetime:
    return datetime(2026, 3, 1, 5, 12, 3, tzinfo=timezone.utc)


@dataclass(frozen=True)
class SimulationConfig:
    """Options of one simulated pair (see the module docstring for signs).

    Parameters
    ----------
    lines, samples : int
        Image size, azimuth rows by range columns (both images).
    seed : int
        Seed of every random draw (terrain, scatterers, speckle, noise,
        coherence patches, GCP choice): same seed, same bytes.
    bperp_m, bpar_m, along_track_m : float
        Baseline at the scene centre, metres (negative values allowed).
    relief_m : float
        Peak-to-peak height range of the terrain, metres; reduced (and the
        reduction recorded) if it would cause layover or shadow.
    base_height_m : float
        Mean ellipsoidal height of the terrain, metres.
    coherence : float
        Coherence of the scene background, in [0, 1].
    low_coherence : float
        Coherence inside the low-coherence patches, in [0, 1].
    patches : int
        Number of low-coherence patches (elliptical, soft-edged).
    look_side : {"right", "left"}
        Side of the flight direction the radar looks to.
    look_angle_deg : float
        Off-nadir look angle at the scene centre, degrees.
    wavelength_m : float
        Radar wavelength, metres.
    line_interval_s, sample_spacing_m : float
        Azimuth time between rows and slant-range spacing between columns.
    lat_deg, lon_deg : float
        Geodetic position of the scene centre, degrees.
    altitude_m, inclination_deg : float
        Circular orbit: height above the equatorial radius, inclination.
    ascending : bool
        Northbound (True) or southbound (False) pass.
    centre_utc : datetime
        Approximate zero-Doppler time of the scene centre (UTC).
    snr_db : float
        Signal-to-thermal-noise ratio of the mean backscatter, dB.
    scatterers_per_axis : int
        Point scatterers per pixel along each axis (their number per pixel is
        the square).
    jitter : float
        Random displacement of each scatterer inside its sub-cell, as a
        fraction of the sub-cell (0: a regular grid, 1: anywhere in it).
    bandwidth : float
        Bandwidth of the impulse response as a fraction of the sampling rate,
        both axes.
    irf_support : int
        Pixels per axis one scatterer's response touches (even).
    dem_posting_arcsec : float
        DEM pixel size, arc-seconds, both axes.
    spectral_exponent : float
        Terrain power spectrum ~ k**-spectral_exponent (fractal surfaces:
        3 to 4; larger is smoother).
    slope_margin : float
        Largest allowed |tan(terrain slope along the range direction)| as a
        fraction of tan(incidence) (the layover limit is 1).
    gcps : int
        Ground control points to pick on coherent ground.
    mogi_volume_m3, mogi_depth_m, mogi_east_m, mogi_north_m : float
        A Mogi point source between the passes (Mogi 1958): volume change
        (0 = none; positive inflates), depth below the mean terrain height,
        and its epicentre east and north of the scene centre, metres.
    okada_length_m, okada_width_m, okada_depth_m, okada_strike_deg, okada_dip_deg : float
        A rectangular Okada (1985) dislocation between the passes (length 0
        = none): size, depth of its top edge, strike and dip.
    okada_strike_slip_m, okada_dip_slip_m, okada_opening_m : float
        Its uniform slip (left-lateral, thrust) and opening.
    okada_east_m, okada_north_m : float
        Epicentre of its top-edge centre from the scene centre, metres.
    poisson : float
        Poisson's ratio of the elastic half-space.
    dem_error_m, dem_error_correlation_m : float
        RMS and correlation length of the random error of the reference DEM
        ``dem_reference.tif`` (written when any of the reference-DEM options
        is set).
    dem_voids : int
        Elliptical voids (nodata) in the reference DEM.
    dem_geoid : str
        Path of a geoid grid (e.g. EGM96 ``.gtx``): the reference DEM then
        holds geoid (orthometric) heights, CRS ``EPSG:4326+5773``.
    allow_layover : bool
        Keep the requested relief even where it lays over or shadows; the
        truth then has a ``layover_shadow`` mask.
    sensor_name : str
        Free text for the scene files.
    threads : int
        Worker threads (numba kernels release the GIL); 0 = all cores.
    block_lines : int
        Lines of the extended grid computed and held at a time (geometry
        blocks, synthesis waves, written blocks); 0 = 2^19 pixels over the
        extended width (256 at 2000 samples). The files do not depend on it;
        memory grows with it, not with the lines.
    """

    lines: int = 4000
    samples: int = 2000
    seed: int = 0
    bperp_m: float = 150.0
    bpar_m: float = 60.0
    along_track_m: float = 20.0
    relief_m: float = 500.0
    base_height_m: float = 1000.0
    coherence: float = 0.85
    low_coherence: float = 0.3
    patches: int = 4
    look_side: str = "right"
    look_angle_deg: float = 30.0
    wavelength_m: float = 0.05546576
    line_interval_s: float = 0.000604
    sample_spacing_m: float = 2.329562
    lat_deg: float = 36.5
    lon_deg: float = -117.0
    altitude_m: float = 700e3
    inclination_deg: float = 98.0
    ascending: bool = False
    centre_utc: datetime = dataclasses.field(default_factory=_default_time)
    snr_db: float = 20.0
    scatterers_per_axis: int = 2
    jitter: float = 1.0
    bandwidth: float = 0.85
    irf_support: int = 12
    dem_posting_arcsec: float = 0.5
    spectral_exponent: float = 4.0
    slope_margin: float = 0.8
    gcps: int = 36
    mogi_volume_m3: float = 0.0
    mogi_depth_m: float = 1500.0
    mogi_east_m: float = 0.0
    mogi_north_m: float = 0.0
    okada_length_m: float = 0.0
    okada_width_m: float = 1000.0
    okada_depth_m: float = 300.0
    okada_strike_deg: float = 0.0
    okada_dip_deg: float = 60.0
    okada_strike_slip_m: float = 0.0
    okada_dip_slip_m: float = 0.0
    okada_opening_m: float = 0.0
    okada_east_m: float = 0.0
    okada_north_m: float = 0.0
    poisson: float = 0.25
    dem_error_m: float = 0.0
    dem_error_correlation_m: float = 60.0
    dem_voids: int = 0
    dem_geoid: str = ""
    allow_layover: bool = False
    sensor_name: str = "SIM-C"
    threads: int = 0
    block_lines: int = 0

    def __post_init__(self) -> None:
        check_bounds(self, "simulate", _INT_BOUNDS, _FLOAT_BOUNDS)
        if self.look_side not in ("right", "left"):
            raise SimulationError(f"simulate: option look_side = {self.look_side!r} must be "
                                  "'right' or 'left'")
        if not isinstance(self.dem_geoid, str):
            raise SimulationError(f"simulate: option dem_geoid = {self.dem_geoid!r} must be a "
                                  "path string")
        if not isinstance(self.allow_layover, bool):
            raise SimulationError(f"simulate: option allow_layover = {self.allow_layover!r} "
                                  "must be true or false")
        if self.irf_support % 2:
            raise SimulationError(f"simulate: option irf_support = {self.irf_support} must be even")
        if not isinstance(self.centre_utc, datetime) or self.centre_utc.tzinfo is None:
            raise SimulationError(f"simulate: option centre_utc = {self.centre_utc!r} must be a "
                                  "timezone-aware UTC datetime")
        if abs(self.lat_deg) > min(self.inclination_deg, 180.0 - self.inclination_deg) - 2.0:
            raise SimulationError(
                f"simulate: latitude {self.lat_deg} is not overflown by an orbit of inclination "
                f"{self.inclination_deg} deg (with a 2 deg margin for the look angle)")

    @property
    def has_reference_dem(self) -> bool:
        """Whether a distinct reference DEM (``dem_reference.tif``) is made."""
        return self.dem_error_m > 0 or self.dem_voids > 0 or bool(self.dem_geoid)

    @property
    def has_deformation(self) -> bool:
        """Whether the ground moves between the passes."""
        return self.mogi_volume_m3 != 0.0 or self.okada_length_m > 0.0

    def replace(self, **changes) -> "SimulationConfig":
        """A copy with some options changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict:
        """Plain values for ``truth.yaml`` (the time as an ISO string)."""
        out = dataclasses.asdict(self)
        out["centre_utc"] = self.centre_utc.astimezone(timezone.utc).isoformat().replace(
            "+00:00", "Z")
        return out


def check_bounds(options, who: str, int_bounds, float_bounds) -> None:
    """Refuse an option outside its bounds; make the real-valued ones floats.

    Parameters
    ----------
    options : frozen dataclass
    who : str
        The command, first in the message (``"simulate"``).
    int_bounds, float_bounds : sequence of (name, lowest, highest)

    Raises
    ------
    SimulationError
        Naming the option, its value and the range.
    """
    for name, low, high in int_bounds:
        value = getattr(options, name)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise SimulationError(f"{who}: option {name} = {value!r} must be an integer "
                                  f"in [{low}, {high}]")
    for name, low, high in float_bounds:
        value = getattr(options, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value) or not low <= value <= high:
            raise SimulationError(f"{who}: option {name} = {value!r} must be a number "
                                  f"in [{low:g}, {high:g}]")
        object.__setattr__(options, name, float(value))


#: (option, lowest, highest) for the integer options.
_INT_BOUNDS = (
    ("lines", 64, 200_000), ("samples", 64, 100_000), ("seed", 0, 2**32 - 1),
    ("patches", 0, 64), ("scatterers_per_axis", 1, 8), ("irf_support", 4, 32),
    ("gcps", 0, 10_000), ("threads", 0, 1024), ("dem_voids", 0, 1000),
    ("block_lines", 0, 100_000),
)
#: (option, lowest, highest) for the real-valued options.
_FLOAT_BOUNDS = (
    ("bperp_m", -5000.0, 5000.0), ("bpar_m", -5000.0, 5000.0),
    ("along_track_m", -2000.0, 2000.0), ("relief_m", 0.0, 8000.0),
    ("base_height_m", -400.0, 8000.0), ("coherence", 0.0, 1.0), ("low_coherence", 0.0, 1.0),
    ("look_angle_deg", 10.0, 50.0), ("wavelength_m", 0.005, 1.0),
    ("line_interval_s", 1e-5, 0.01), ("sample_spacing_m", 0.1, 100.0),
    ("lat_deg", -85.0, 85.0), ("lon_deg", -180.0, 180.0), ("altitude_m", 200e3, 2000e3),
    ("inclination_deg", 1.0, 179.0), ("snr_db", -10.0, 80.0), ("jitter", 0.0, 1.0),
    ("bandwidth", 0.3, 1.0), ("dem_posting_arcsec", 0.05, 30.0),
    ("spectral_exponent", 2.2, 5.0), ("slope_margin", 0.1, 0.95),
    ("mogi_volume_m3", -1e11, 1e11), ("mogi_depth_m", 10.0, 100e3),
    ("mogi_east_m", -1e6, 1e6), ("mogi_north_m", -1e6, 1e6),
    ("okada_length_m", 0.0, 1e6), ("okada_width_m", 1.0, 1e6), ("okada_depth_m", 0.0, 100e3),
    ("okada_strike_deg", -360.0, 360.0), ("okada_dip_deg", 0.1, 90.0),
    ("okada_strike_slip_m", -100.0, 100.0), ("okada_dip_slip_m", -100.0, 100.0),
    ("okada_opening_m", -100.0, 100.0), ("okada_east_m", -1e6, 1e6),
    ("okada_north_m", -1e6, 1e6), ("poisson", 0.0, 0.49),
    ("dem_error_m", 0.0, 1000.0), ("dem_error_correlation_m", 0.0, 1e5),
)
