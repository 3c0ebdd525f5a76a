"""Numba kernels of the fringe-slope estimator in :mod:`peppers.operators.slope`.

Private. Every kernel is ``@njit(nogil=True, cache=True)``.

:func:`spectral_peak` locates the maximum of the power of a zero-padded
2-D spectrum and refines it to a fraction of a bin by fitting a parabola
through the logarithm of the power at the peak and its two neighbours along
each axis (Gaussian interpolation, Gasior & Gonzalez 2004): for the main
lobe of a zero-padded rectangular window the log-power is close to a
parabola, so the refinement error is a small fraction of the padded bin.

:func:`interpolate_frequencies` spreads the estimates, made on a grid of
nodes anchored to the image, to every pixel by bilinear interpolation of
the unit phasors ``exp(2 pi j f)`` rather than of ``f``, so that two nodes
on either side of the +-0.5 cycles/pixel wrap average to a frequency near
the wrap and not to zero.
"""

from __future__ import annotations

import math

import numba


@numba.njit(nogil=True, cache=True)
def _refine(lm, l0, lp):
    """Offset of the vertex of the parabola through (-1, lm), (0, l0), (1, lp)."""
    den = lm - 2.0 * l0 + lp
    if den >= 0.0:
        return 0.0
    d = 0.5 * (lm - lp) / den
    if d > 0.5:
        return 0.5
    if d < -0.5:
        return -0.5
    return d


@numba.njit(nogil=True, cache=True)
def _log_power(spectrum, i, j, tiny):
    """Log power of bin ``(i, j)``, indices taken circularly."""
    nr, nc = spectrum.shape
    z = spectrum[i % nr, j % nc]
    return math.log(z.real * z.real + z.imag * z.imag + tiny)


@numba.njit(nogil=True, cache=True)
def spectral_peak(spectrum):
    """Frequency (cycles per sample, rows and cols) of the strongest spectral line.

    Parameters
    ----------
    spectrum : ndarray (N_r, N_c), complex
        Forward FFT (``exp(-2 pi j k n / N)`` convention) of a zero-padded window.

    Returns
    -------
    f_rows, f_cols : float
        In ``[-0.5, 0.5)``; a signal ``exp(2 pi j (f_r n_r + f_c n_c))`` gives
        ``(f_r, f_c)``. ``(0, 0)`` for an all-zero spectrum.
    """
    nr, nc = spectrum.shape
    best = -1.0
    kr = 0
    kc = 0
    for i in range(nr):
        for j in range(nc):
            z = spectrum[i, j]
            p = z.real * z.real + z.imag * z.imag
            if p > best:
                best = p
                kr = i
                kc = j
    if best <= 0.0:
        return 0.0, 0.0
    tiny = best * 1e-30
    l0 = _log_power(spectrum, kr, kc, tiny)
    dr = 0.0
    dc = 0.0
    if nr > 2:
        dr = _refine(_log_power(spectrum, kr - 1, kc, tiny), l0,
                     _log_power(spectrum, kr + 1, kc, tiny))
    if nc > 2:
        dc = _refine(_log_power(spectrum, kr, kc - 1, tiny), l0,
                     _log_power(spectrum, kr, kc + 1, tiny))
    fr = (kr + dr) / nr
    fc = (kc + dc) / nc
    fr = fr - math.floor(fr + 0.5)
    fc = fc - math.floor(fc + 0.5)
    return fr, fc


@numba.njit(nogil=True, cache=True)
def interpolate_frequencies(node_fr, node_fc, row0, col0, node_row0, node_col0,
                            step_r, step_c, out_r, out_c):
    """Bilinear phasor interpolation of node frequencies onto pixels.

    Parameters
    ----------
    node_fr, node_fc : ndarray (A, B), float64
        Frequencies at nodes ``(node_row0 + a, node_col0 + b)``; node ``(a, b)``
        sits on image pixel ``(a step_r, b step_c)``.
    row0, col0 : int
        Image coordinates of ``out[0, 0]``.
    step_r, step_c : int
        Node spacing, pixels.
    out_r, out_c : ndarray (H, W), float32
        Receive the frequencies, cycles per pixel.
    """
    h, w = out_r.shape
    two_pi = 2.0 * math.pi
    for i in range(h):
        r = row0 + i
        a = r // step_r
        t = (r - a * step_r) / step_r
        ia = a - node_row0
        for j in range(w):
            c = col0 + j
            b = c // step_c
            u = (c - b * step_c) / step_c
            ib = b - node_col0
            w00 = (1.0 - t) * (1.0 - u)
            w01 = (1.0 - t) * u
            w10 = t * (1.0 - u)
            w11 = t * u
            for comp in range(2):
                f = node_fr if comp == 0 else node_fc
                re = (w00 * math.cos(two_pi * f[ia, ib]) + w01 * math.cos(two_pi * f[ia, ib + 1])
                      + w10 * math.cos(two_pi * f[ia + 1, ib])
                      + w11 * math.cos(two_pi * f[ia + 1, ib + 1]))
                im = (w00 * math.sin(two_pi * f[ia, ib]) + w01 * math.sin(two_pi * f[ia, ib + 1])
                      + w10 * math.sin(two_pi * f[ia + 1, ib])
                      + w11 * math.sin(two_pi * f[ia + 1, ib + 1]))
                value = math.atan2(im, re) / two_pi
                if comp == 0:
                    out_r[i, j] = value
                else:
                    out_c[i, j] = value
