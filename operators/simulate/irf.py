"""The simulated SAR impulse response and what follows from it.

Both images are made with the same separable, band-limited response
``h(y, x) = h_a(y) h_r(x)``. Per axis it is a Kaiser-windowed sinc,

    h(x) = c sinc(B x) I0(beta sqrt(1 - (2x/L)^2)) / I0(beta),   |x| <= L/2,

with ``B`` the bandwidth as a fraction of the sampling rate (the spectrum
falls to half amplitude at ``+-B/2`` cycles per pixel), ``L`` the support in
pixels and ``c`` chosen so that ``integral h^2 = 1``: a field of scatterers
with intensity density ``beta`` per pixel then has expected pixel intensity
``beta``. With ``L = 12`` and ``beta = 4`` the passband is flat within 2 %
up to 0.3 cycles/pixel and less than 1e-4 of the power lies beyond Nyquist.

Derived quantities used by the simulator and written to the truth:

- :meth:`ImpulseResponse.taps`: the response at integer lags, the FIR that
  shapes thermal noise like the signal;
- :meth:`ImpulseResponse.power_taps`: ``h^2`` at integer lags (sums to 1),
  which smooths a backscatter map into the expected image intensity;
- :meth:`ImpulseResponse.fringe_coherence`: ``|FT[h^2](f)|``, the coherence
  left when the interferometric phase ramps at ``f`` cycles per pixel across
  the response (spectral-shift / geometric decorrelation, Gatelli et al.
  1994; for an ideal rectangular spectrum ``1 - |f|/B``).

References
----------
J. F. Kaiser (1974), "Nonrecursive digital filter design using the I0-sinh
window function", Proc. IEEE ISCAS, pp. 20-23.
F. Gatelli, A. Monti Guarnieri, F. Parizzi, P. Pasquali, C. Prati, F. Rocca
(1994), "The wavenumber shift in SAR interferometry", IEEE TGRS 32(4):855-865.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

__all__ = ["ImpulseResponse"]

#: Table samples per pixel of the response (linear interpolation in between).
TABLE_RATE = 1024


@dataclass(frozen=True)
class ImpulseResponse:
    """One axis of the separable impulse response (module docstring).

    Parameters
    ----------
    bandwidth : float
        Fraction of the sampling rate, 0 < B <= 1.
    support : int
        Pixels the response spans (even).
    kaiser_beta : float
        Window shape parameter.

    Examples
    --------
    >>> irf = ImpulseResponse(0.85, 12)
    >>> round(float(np.sum(irf.power_taps())), 6)
    1.0
    >>> round(float(irf.fringe_coherence(0.0)), 6)
    1.0
    """

    bandwidth: float = 0.85
    support: int = 12
    kaiser_beta: float = 4.0
    table: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        x = np.arange(self.support * TABLE_RATE + 1) / TABLE_RATE - self.support / 2
        values = self._shape(x)
        norm = np.sqrt(np.sum(values ** 2) / TABLE_RATE)
        table = (values / norm).astype(np.float32)
        table.setflags(write=False)
        object.__setattr__(self, "table", table)

    def _shape(self, x: np.ndarray) -> np.ndarray:
        half = self.support / 2
        arg = np.clip(1.0 - (x / half) ** 2, 0.0, None)
        return np.sinc(self.bandwidth * x) * np.i0(self.kaiser_beta * np.sqrt(arg)) \
            / np.i0(self.kaiser_beta)

    def __call__(self, x) -> np.ndarray:
        """The normalised response at offsets ``x`` (pixels); 0 outside the support."""
        x = np.asarray(x, dtype=np.float64)
        pos = (x + self.support / 2) * TABLE_RATE
        out = np.interp(pos, np.arange(self.table.size), self.table.astype(np.float64))
        return np.where(np.abs(x) <= self.support / 2, out, 0.0)

    def taps(self) -> np.ndarray:
        """The response at integer lags ``-support/2+1 .. support/2-1``, float64."""
        half = self.support // 2
        return self(np.arange(-half + 1, half))

    def power_taps(self) -> np.ndarray:
        """``h^2`` at integer lags, normalised to sum to 1."""
        p = self.taps() ** 2
        return p / p.sum()

    def fringe_coherence(self, cycles_per_pixel) -> np.ndarray:
        """Coherence left by a phase ramp of ``f`` cycles/pixel across the response.

        Parameters
        ----------
        cycles_per_pixel : array_like
            Local fringe frequency along this axis.

        Returns
        -------
        ndarray
            ``|sum h^2(x) exp(2 pi j f x)| / sum h^2(x)`` over the table.
        """
        f = np.abs(np.asarray(cycles_per_pixel, dtype=np.float64))
        grid, curve = self._fringe_curve
        return np.interp(f, grid, curve)

    @cached_property
    def _fringe_curve(self) -> tuple[np.ndarray, np.ndarray]:
        step = TABLE_RATE // 64
        x = np.arange(0, self.table.size, step) / TABLE_RATE - self.support / 2
        p = self.table[::step].astype(np.float64) ** 2
        grid = np.linspace(0.0, 1.0, 513)
        return grid, np.abs(np.exp(2j * np.pi * grid[:, None] * x[None, :]) @ p) / p.sum()
