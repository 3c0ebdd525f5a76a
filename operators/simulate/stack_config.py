"""What a simulated stack is made of: the options of ``pep simulate --stack N`` and their bounds.

:class:`StackConfig` holds the scene (a :class:`SimulationConfig`, whose
``bperp_m``/``bpar_m``/``along_track_m`` and pair deformation are not used:
a stack has its own baselines and deformation history) and what a stack
adds: the dates, the spread of the baselines, the temporal decorrelation,
the deformation history and the atmosphere. Out-of-range values are refused
with a :class:`~peppers.errors.SimulationError` naming the option.

Deformation history, for ``t`` days after the first date (``yr = 365.25 d``)::

    bowl(x) = exp(-|x - x_b|^2 / (2 w^2))                   (vertical, unit peak)
    u(x, t) = (rate t/yr + seasonal sin(2 pi t/yr)) bowl(x) up
              + Mogi(dV = mogi_rate t/yr)(x)

Temporal decorrelation of the pair ``(k, l)``:
``gamma = g(x) (c_inf + (1 - c_inf) exp(-|t_k - t_l| / tau))`` with ``g``
the scene's coherence map (background and patches).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from peppers.errors import SimulationError
from peppers.operators.simulate.config import SimulationConfig, check_bounds

__all__ = ["StackConfig"]

#: Days per year of the rates.
YEAR_DAYS = 365.25


@dataclass(frozen=True)
class StackConfig:
    """Options of one simulated stack (module docstring).

    Parameters
    ----------
    scene : SimulationConfig
        Size, terrain, radiometry, orbit of the reference pass, coherence
        map, Mogi depth and epicentre (``mogi_depth_m``, ``mogi_east_m``,
        ``mogi_north_m``, ``poisson``), reference-DEM errors, seed.
    dates : int
        Number of acquisitions (the first is the simulator's reference grid).
    interval_days : int
        Days between consecutive acquisitions (a repeat cycle: 6, 12, ...).
    bperp_spread_m, bpar_spread_m, along_track_spread_m : float
        Each date other than the first has a baseline to the first drawn
        uniformly in ``[-spread, spread]`` (an orbital tube, e.g. +-150 m).
    tau_days, long_term_coherence : float
        Temporal decorrelation: e-folding time ``tau`` and ``c_inf``.
    rate_m_per_year, seasonal_m : float
        Vertical linear rate and seasonal amplitude at the peak of the bowl.
    bowl_width_m, bowl_east_m, bowl_north_m : float
        Gaussian width and centre (from the scene centre) of the bowl.
    mogi_rate_m3_per_year : float
        Volume change rate of the Mogi source (0 = none).
    atmosphere_m : float
        RMS one-way tropospheric delay per date (0 = none), metres.
    atmosphere_exponent : float
        Power spectrum of the delay ~ k**-exponent (8/3: Kolmogorov turbulence).
    atmosphere_outer_m : float
        Outer scale of the turbulence, metres.
    """

    scene: SimulationConfig = dataclasses.field(default_factory=SimulationConfig)
    dates: int = 8
    interval_days: int = 12
    bperp_spread_m: float = 150.0
    bpar_spread_m: float = 40.0
    along_track_spread_m: float = 10.0
    tau_days: float = 40.0
    long_term_coherence: float = 0.6
    rate_m_per_year: float = -0.03
    seasonal_m: float = 0.01
    bowl_width_m: float = 400.0
    bowl_east_m: float = 0.0
    bowl_north_m: float = 0.0
    mogi_rate_m3_per_year: float = 0.0
    atmosphere_m: float = 0.0
    atmosphere_exponent: float = 8.0 / 3.0
    atmosphere_outer_m: float = 10_000.0

    def __post_init__(self) -> None:
        if not isinstance(self.scene, SimulationConfig):
            raise SimulationError(f"simulate --stack: scene = {self.scene!r} must be a "
                                  "SimulationConfig")
        if self.scene.has_deformation:
            raise SimulationError("simulate --stack: the pair deformation options "
                                  "(--mogi-volume, --okada-*) do not apply to a stack; use "
                                  "--mogi-rate, --rate, --seasonal")
        check_bounds(self, "simulate --stack", (("dates", 2, 400), ("interval_days", 1, 366)),
                     _FLOAT_BOUNDS)

    @property
    def days(self) -> list[int]:
        """Days of each acquisition after the first."""
        return [k * self.interval_days for k in range(self.dates)]

    def temporal_coherence(self, span_days: float) -> float:
        """``c_inf + (1 - c_inf) exp(-span / tau)`` (1 for a zero span)."""
        if span_days == 0:
            return 1.0
        c = self.long_term_coherence
        return c + (1.0 - c) * math.exp(-abs(span_days) / self.tau_days)

    def as_dict(self) -> dict:
        """Plain values for ``truth.yaml``."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
               if f.name != "scene"}
        return {"scene": self.scene.as_dict(), **out}


_FLOAT_BOUNDS = (
    ("bperp_spread_m", 0.0, 5000.0), ("bpar_spread_m", 0.0, 5000.0),
    ("along_track_spread_m", 0.0, 2000.0), ("tau_days", 0.1, 1e5),
    ("long_term_coherence", 0.0, 1.0), ("rate_m_per_year", -10.0, 10.0),
    ("seasonal_m", -10.0, 10.0), ("bowl_width_m", 1.0, 1e6), ("bowl_east_m", -1e6, 1e6),
    ("bowl_north_m", -1e6, 1e6), ("mogi_rate_m3_per_year", -1e11, 1e11),
    ("atmosphere_m", 0.0, 10.0), ("atmosphere_exponent", 1.0, 5.0),
    ("atmosphere_outer_m", 10.0, 1e7),
)
