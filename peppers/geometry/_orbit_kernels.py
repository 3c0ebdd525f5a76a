"""Numba kernels for Hermite interpolation of orbit state vectors.

Design. An orbit of ``n`` state vectors has ``n - 1`` intervals. Interval
``i`` (``times[i] <= t <= times[i+1]``) is served by one Hermite polynomial
through a window of ``m`` consecutive nodes (positions *and* velocities), the
window centred on the interval and shifted inwards at the ends of the orbit.
The polynomial has degree ``2m - 1``: ``m = 2`` is the classic cubic Hermite
of the input contract, ``m = 4`` (the default, as in ISCE3) is degree 7.

The polynomials are built once, when the orbit is made (:func:`build_tables`),
in Newton form on doubled nodes (divided differences where a repeated node
takes the derivative), in a normalised time ``u = (t - t0) / scale`` that keeps
them well conditioned. Evaluation (:func:`state_at`) is then a nested Horner
scheme that yields position, velocity and acceleration together; the
zero-Doppler kernels call it in their Newton loops.

References: Burden & Faires, "Numerical Analysis", Hermite interpolation by
divided differences (sec. 3.4); ISCE3 ``cxx/isce3/core/Interpolator`` /
``Orbit.h`` (Hermite over 4 state vectors).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(nogil=True, cache=True)
def window_start(i: int, n: int, m: int) -> int:
    """First node of the ``m``-node window that serves interval ``i`` of ``n`` nodes."""
    s = i - (m // 2 - 1)
    if s < 0:
        s = 0
    if s > n - m:
        s = n - m
    return s


@njit(nogil=True, cache=True)
def build_tables(times: np.ndarray, pos: np.ndarray, vel: np.ndarray, m: int):
    """Newton-form Hermite coefficients for every interval of an orbit.

    Parameters
    ----------
    times : (n,) float64, strictly increasing seconds.
    pos, vel : (n, 3) float64, metres and metres per second.
    m : int, nodes per window (2 <= m <= n).

    Returns
    -------
    coef : (n-1, 3, 2m) float64, Newton coefficients per interval and axis.
    znodes : (n-1, 2m) float64, the doubled normalised nodes.
    origin, scale : (n-1,) float64, ``u = (t - origin) / scale``.
    """
    n = times.shape[0]
    k2 = 2 * m
    coef = np.empty((n - 1, 3, k2))
    znodes = np.empty((n - 1, k2))
    origin = np.empty(n - 1)
    scale = np.empty(n - 1)
    q = np.empty((k2, k2))
    for i in range(n - 1):
        s = window_start(i, n, m)
        t0 = times[s]
        sc = times[s + m - 1] - t0
        origin[i] = t0
        scale[i] = sc
        for j in range(k2):
            znodes[i, j] = (times[s + j // 2] - t0) / sc
        for ax in range(3):
            for j in range(k2):
                q[j, 0] = pos[s + j // 2, ax]
            for j in range(1, k2):
                if j % 2 == 1:  # repeated node: the derivative, in u units
                    q[j, 1] = vel[s + j // 2, ax] * sc
                else:
                    q[j, 1] = (q[j, 0] - q[j - 1, 0]) / (znodes[i, j] - znodes[i, j - 1])
            for c in range(2, k2):
                for j in range(c, k2):
                    q[j, c] = (q[j, c - 1] - q[j - 1, c - 1]) / (znodes[i, j] - znodes[i, j - c])
            for j in range(k2):
                coef[i, ax, j] = q[j, j]
    return coef, znodes, origin, scale


@njit(nogil=True, cache=True)
def interval_of(times: np.ndarray, t: float) -> int:
    """Index ``i`` of the interval ``times[i] <= t <= times[i+1]`` (clamped)."""
    n = times.shape[0]
    i = np.searchsorted(times, t, side="right") - 1
    if i < 0:
        i = 0
    if i > n - 2:
        i = n - 2
    return i


@njit(nogil=True, cache=True)
def state_at(times, coef, znodes, origin, scale, t, out):
    """Position, velocity and acceleration at time ``t``.

    ``out`` is a (3, 3) array receiving rows position, velocity, acceleration.
    ``t`` outside the span is extrapolated with the end polynomial; callers
    check the span.
    """
    i = interval_of(times, t)
    sc = scale[i]
    u = (t - origin[i]) / sc
    k2 = znodes.shape[1]
    for ax in range(3):
        p = coef[i, ax, k2 - 1]
        dp = 0.0
        ddp = 0.0
        for j in range(k2 - 2, -1, -1):
            d = u - znodes[i, j]
            ddp = ddp * d + 2.0 * dp
            dp = dp * d + p
            p = p * d + coef[i, ax, j]
        out[0, ax] = p
        out[1, ax] = dp / sc
        out[2, ax] = ddp / (sc * sc)


@njit(nogil=True, cache=True)
def interpolate_many(times, coef, znodes, origin, scale, ts, out_pos, out_vel, out_acc):
    """Vector loop over :func:`state_at`; outputs are (len(ts), 3)."""
    st = np.empty((3, 3))
    for k in range(ts.shape[0]):
        state_at(times, coef, znodes, origin, scale, ts[k], st)
        for ax in range(3):
            out_pos[k, ax] = st[0, ax]
            out_vel[k, ax] = st[1, ax]
            out_acc[k, ax] = st[2, ax]
