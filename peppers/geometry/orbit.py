"""Orbits from state vectors: time base, validation, Hermite interpolation.

An :class:`Orbit` holds the state vectors of a ``peppers-slc/1`` scene
(positions and velocities in ECEF-WGS84 at increasing UTC times) and answers
"where is the antenna, how fast does it move" at any time inside their span.

Time base. Times are float64 **seconds since the orbit's epoch**, a
timezone-aware UTC :class:`datetime.datetime`; :meth:`Orbit.time_of` and
:meth:`Orbit.datetime_of` convert. Over an orbit arc of minutes float64
seconds resolve far below a nanosecond.

Interpolation. Hermite polynomials through positions *and* velocities of
``nodes`` neighbouring state vectors (degree ``2*nodes - 1``); ``nodes=2`` is
the cubic Hermite of the input contract, the default ``nodes=4`` is the
degree-7 scheme of ISCE3 and is far more accurate at 30-60 s spacing.
Velocity and acceleration are the derivatives of the same polynomial, so they
are consistent with the positions. Times outside the span are refused.
The kernels live in :mod:`peppers.geometry._orbit_kernels`.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
from numpy.typing import ArrayLike

from peppers.errors import GeometryError
from peppers.geometry import _orbit_kernels as _k


class Orbit:
    """State vectors of one acquisition, interpolated with Hermite polynomials.

    Parameters
    ----------
    epoch : datetime
        Timezone-aware UTC instant that ``times_s`` count from.
    times_s : array_like of shape (n,)
        State-vector times, seconds since ``epoch``, strictly increasing.
    positions : array_like of shape (n, 3)
        ECEF positions, metres.
    velocities : array_like of shape (n, 3)
        ECEF velocities, metres per second.
    nodes : int, optional
        State vectors per interpolating polynomial (2 = cubic Hermite;
        default 4, degree 7). Needs ``n >= nodes``.

    Raises
    ------
    GeometryError
        If the epoch is naive or not UTC, shapes disagree, values are not
        finite, times do not increase, or there are fewer than ``nodes``
        state vectors.

    References
    ----------
    ISCE3 ``cxx/isce3/core/Orbit.h`` (Hermite interpolation over 4 state
    vectors); Burden & Faires, "Numerical Analysis", sec. 3.4.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> t = np.arange(4) * 10.0
    >>> pos = np.stack([7000e3 + 0 * t, 7500.0 * t, 0 * t], axis=1)
    >>> vel = np.tile([0.0, 7500.0, 0.0], (4, 1))
    >>> orb = Orbit(datetime(2026, 3, 1, tzinfo=timezone.utc), t, pos, vel)
    >>> p, v = orb.interpolate(15.0)
    >>> p.tolist(), v.tolist()
    ([7000000.0, 112500.0, 0.0], [0.0, 7500.0, 0.0])
    """

    def __init__(self, epoch: datetime, times_s: ArrayLike, positions: ArrayLike,
                 velocities: ArrayLike, *, nodes: int = 4):
        if not isinstance(epoch, datetime) or epoch.tzinfo is None \
                or epoch.utcoffset() != timedelta(0):
            raise GeometryError(f"Orbit: epoch must be a timezone-aware UTC datetime, got {epoch!r}")
        times = np.array(times_s, dtype=np.float64).reshape(-1)
        pos = np.array(positions, dtype=np.float64)
        vel = np.array(velocities, dtype=np.float64)
        n = times.shape[0]
        if pos.shape != (n, 3) or vel.shape != (n, 3):
            raise GeometryError(
                f"Orbit: positions {pos.shape} and velocities {vel.shape} must both be "
                f"({n}, 3) to match {n} times")
        if int(nodes) != nodes or nodes < 2:
            raise GeometryError(f"Orbit: nodes must be an integer >= 2, got {nodes!r}")
        if n < nodes:
            raise GeometryError(f"Orbit: {n} state vectors, need at least nodes={nodes}")
        for name, arr in (("times_s", times), ("positions", pos), ("velocities", vel)):
            bad = np.flatnonzero(~np.isfinite(arr).reshape(n, -1).all(axis=1))
            if bad.size:
                raise GeometryError(f"Orbit: {name}[{bad[0]}] is not finite")
        steps = np.diff(times)
        if np.any(steps <= 0):
            k = int(np.flatnonzero(steps <= 0)[0])
            raise GeometryError(
                f"Orbit: times_s must increase strictly; times_s[{k + 1}] = {float(times[k + 1])!r} "
                f"follows {float(times[k])!r}")
        self.epoch = epoch.astimezone(timezone.utc)
        self.times_s = times
        self.positions = pos
        self.velocities = vel
        self.nodes = int(nodes)
        self._tables = (times,) + tuple(_k.build_tables(times, pos, vel, self.nodes))
        for arr in (times, pos, vel):
            arr.setflags(write=False)

    # ----------------------------------------------------------------- time
    @property
    def span(self) -> tuple[float, float]:
        """First and last state-vector times, seconds since the epoch."""
        return float(self.times_s[0]), float(self.times_s[-1])

    def time_of(self, when: datetime) -> float:
        """Seconds since the epoch of a timezone-aware datetime.

        Raises
        ------
        GeometryError
            If ``when`` is naive (no timezone).
        """
        if not isinstance(when, datetime) or when.tzinfo is None:
            raise GeometryError(f"Orbit.time_of: need a timezone-aware datetime, got {when!r}")
        delta = when - self.epoch
        return delta.days * 86400.0 + delta.seconds + delta.microseconds * 1e-6

    def datetime_of(self, t_s: float) -> datetime:
        """The UTC datetime of ``t_s`` seconds since the epoch (microsecond resolution)."""
        return self.epoch + timedelta(seconds=float(t_s))

    def check_span(self, t_s: ArrayLike, what: str = "time") -> None:
        """Refuse times outside the state-vector span.

        Raises
        ------
        GeometryError
            Naming the first offending time, as seconds and UTC, and the span.
        """
        t = np.asarray(t_s, dtype=np.float64).reshape(-1)
        t0, t1 = self.span
        bad = ~((t >= t0) & (t <= t1))
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            tk = float(t[k])
            when = self.datetime_of(tk).isoformat() if np.isfinite(tk) else "not finite"
            raise GeometryError(
                f"Orbit: {what} {tk!r} s ({when}) at index {k} is outside the state-vector "
                f"span [{t0!r}, {t1!r}] s ({self.datetime_of(t0).isoformat()} .. "
                f"{self.datetime_of(t1).isoformat()}); supply state vectors covering it "
                f"with margin")

    # -------------------------------------------------------- interpolation
    def interpolate(self, t_s: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """Position and velocity at one or many times.

        Parameters
        ----------
        t_s : float or array_like
            Seconds since the epoch, inside :attr:`span`.

        Returns
        -------
        pos, vel : ndarray of shape ``np.shape(t_s) + (3,)``
            ECEF position (m) and velocity (m/s).

        Raises
        ------
        GeometryError
            If any time is outside the span or not finite.
        """
        pos, vel, _ = self.state(t_s)
        return pos, vel

    def state(self, t_s: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Position, velocity and acceleration (derivatives of one polynomial).

        Same parameters and errors as :meth:`interpolate`; the third array is
        the acceleration in m/s^2 (ECEF, includes the apparent forces).
        """
        t = np.asarray(t_s, dtype=np.float64)
        flat = np.ascontiguousarray(t.reshape(-1))
        self.check_span(flat)
        out = [np.empty((flat.size, 3)) for _ in range(3)]
        _k.interpolate_many(*self._tables, flat, *out)
        return tuple(o.reshape(t.shape + (3,)) for o in out)

    def __repr__(self) -> str:
        t0, t1 = self.span
        return (f"Orbit({len(self.times_s)} state vectors, {self.datetime_of(t0).isoformat()} "
                f"+ [0, {t1 - t0:g}] s, nodes={self.nodes})")
