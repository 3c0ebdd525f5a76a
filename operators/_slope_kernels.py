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
the wrap and not to zero. The nodes' phasors are computed once per node
(:func:`node_phasors`), not once per pixel.

:func:`local_peaks` is the coarse-to-fine form of the same estimator, all
nodes of a tile in one GIL-free call. The zero-padded spectrum on the
``o N_r x o N_c`` grid is the DFT ``F(k, l) = sum_r sum_c x[r, c]
exp(-2 pi j (k r / (o N_r) + l c / (o N_c)))``; its bins ``(o k', o l')``
are the plain ``N_r x N_c`` spectrum. So the plain spectrum (radix-2 FFT
per axis, or a direct DFT for other lengths) locates the strongest coarse
bin ``(k', l')``, and only the padded bins within one coarse bin of it
(``2 o + 1`` per axis, plus one on each side for the parabola) are
evaluated, as a separable DFT with tabulated phasors. For a fringe whose
main lobe holds the global maximum (always, for a clean plane wave) this
finds the same bin as the full padded FFT; on noise it may lock onto
another of near-equal power, as the full search would on a slightly
different realisation. Cost per node: ``N_r N_c log2(N_r N_c)`` for the
plain spectrum and ``(2o + 3) N_r (N_c + 2o + 3)`` complex multiply-adds,
against ``o^2 N_r N_c log2(o^2 N_r N_c)`` for the full padded FFT.
"""

from __future__ import annotations

import math

import numba
import numpy as np


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
def node_phasors(node_f):
    """``(cos, sin)`` of ``2 pi node_f``: each node's unit phasor, computed once."""
    two_pi = 2.0 * math.pi
    re = np.empty(node_f.shape)
    im = np.empty(node_f.shape)
    for a in range(node_f.shape[0]):
        for b in range(node_f.shape[1]):
            re[a, b] = math.cos(two_pi * node_f[a, b])
            im[a, b] = math.sin(two_pi * node_f[a, b])
    return re, im


@numba.njit(nogil=True, cache=True)
def _bilinear_phasor(re, im, ia, ib, w00, w01, w10, w11):
    """Frequency of the bilinear mean of four node phasors, cycles per pixel."""
    x = (w00 * re[ia, ib] + w01 * re[ia, ib + 1] + w10 * re[ia + 1, ib]
         + w11 * re[ia + 1, ib + 1])
    y = (w00 * im[ia, ib] + w01 * im[ia, ib + 1] + w10 * im[ia + 1, ib]
         + w11 * im[ia + 1, ib + 1])
    return math.atan2(y, x) / (2.0 * math.pi)


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
    rr, ri = node_phasors(node_fr)
    cr, ci = node_phasors(node_fc)
    # node column and weight of every output column, once (no division per pixel)
    ibs = np.empty(w, np.int64)
    us = np.empty(w)
    for j in range(w):
        c = col0 + j
        b = c // step_c
        us[j] = (c - b * step_c) / step_c
        ibs[j] = b - node_col0
    for i in range(h):
        r = row0 + i
        a = r // step_r
        t = (r - a * step_r) / step_r
        ia = a - node_row0
        for j in range(w):
            u = us[j]
            ib = ibs[j]
            w00 = (1.0 - t) * (1.0 - u)
            w01 = (1.0 - t) * u
            w10 = t * (1.0 - u)
            w11 = t * u
            out_r[i, j] = _bilinear_phasor(rr, ri, ia, ib, w00, w01, w10, w11)
            out_c[i, j] = _bilinear_phasor(cr, ci, ia, ib, w00, w01, w10, w11)


# -- coarse-to-fine peak (local_peaks) ------------------------------------------------------

def dft_table(n, oversampling):
    """``table[k, m] = exp(-2 pi j k m / (oversampling n))`` for ``k < oversampling n``, ``m < n``."""
    k = np.arange(oversampling * n)[:, None]
    m = np.arange(n)[None, :]
    return np.exp(-2j * np.pi * ((k * m) % (oversampling * n)) / (oversampling * n))


def fft_tables(n):
    """Bit-reversal permutation and twiddles of a radix-2 FFT of length ``n``.

    Returns ``(rev, twiddle)`` with ``twiddle[h + k] = exp(-2 pi j k / (2 h))``
    for each stage's half length ``h`` (contiguous per stage); both empty
    when ``n`` is not a power of two (the kernel then uses the direct DFT of
    :func:`dft_table`).
    """
    if n < 2 or n & (n - 1):
        return np.zeros(0, np.int64), np.zeros(0, np.complex128)
    bits = n.bit_length() - 1
    rev = np.array([int(format(i, f"0{bits}b")[::-1], 2) for i in range(n)], np.int64)
    twiddle = np.zeros(n, np.complex128)
    half = 1
    while half < n:
        twiddle[half:2 * half] = np.exp(-1j * np.pi * np.arange(half) / half)
        half *= 2
    return rev, twiddle


@numba.njit(nogil=True, cache=True)
def _transform(re, im, rev, tw_re, tw_im, tab_re, tab_im, s_re, s_im):
    """Forward DFT of ``re + j im`` into ``s_re + j s_im`` (radix-2 FFT, or through
    the table if ``rev`` is empty). Real arithmetic throughout: numba's complex
    product guards against inf/nan (C99 Annex G) and does not vectorise."""
    n = re.shape[0]
    if rev.shape[0] == 0:
        for k in range(n):
            ar = 0.0
            ai = 0.0
            for m in range(n):
                ar += tab_re[k, m] * re[m] - tab_im[k, m] * im[m]
                ai += tab_re[k, m] * im[m] + tab_im[k, m] * re[m]
            s_re[k] = ar
            s_im[k] = ai
        return
    for i in range(n):
        s_re[rev[i]] = re[i]
        s_im[rev[i]] = im[i]
    half = 1
    while half < n:
        size = 2 * half
        for start in range(0, n, size):
            for k in range(half):
                wr = tw_re[half + k]
                wi = tw_im[half + k]
                i0 = start + k
                i1 = i0 + half
                br = s_re[i1]
                bi = s_im[i1]
                zr = br * wr - bi * wi
                zi = br * wi + bi * wr
                ar = s_re[i0]
                ai = s_im[i0]
                s_re[i0] = ar + zr
                s_im[i0] = ai + zi
                s_re[i1] = ar - zr
                s_im[i1] = ai - zi
        half = size


@numba.njit(nogil=True, cache=True)
def _axis_bins(k, oversampling, n, bins):
    """Padded bins within ``oversampling + 1`` of ``oversampling k`` (mod ``oversampling n``);
    all of them for a window under 4 samples (its plain bins are too coarse to
    trust) or when that span wraps onto itself. Returns how many."""
    big = oversampling * n
    span = 2 * oversampling + 3
    if n < 4 or span >= big:
        for i in range(big):
            bins[i] = i
        return big
    for i in range(span):
        bins[i] = (oversampling * k - oversampling - 1 + i) % big
    return span


def split(table):
    """``(real, imaginary)`` parts of a complex table, contiguous float64."""
    return (np.ascontiguousarray(table.real, np.float64),
            np.ascontiguousarray(table.imag, np.float64))


@numba.njit(nogil=True, cache=True)
def local_peaks(x, heights, widths, step_r, step_c, wr, wc, oversampling,
                rev_r, twr_re, twr_im, tabr_re, tabr_im, rev_c, twc_re, twc_im, tabc_re, tabc_im,
                padr_re, padr_im, padc_re, padc_im, node_fr, node_fc):
    """Fringe frequency of every node of a tile, coarse-to-fine (module docstring).

    Parameters
    ----------
    x : ndarray (H, W), complex
        The tile's input region; node ``(a, b)``'s window is
        ``x[a step_r : a step_r + wr, b step_c : b step_c + wc]``.
    heights, widths : int
        Number of node rows and columns.
    step_r, step_c, wr, wc, oversampling : int
        Node spacing, window and zero-padding factor.
    rev_*, tw*_re, tw*_im, tab*_re, tab*_im : ndarray
        Plain-spectrum tables per axis (``r`` rows, ``c`` columns):
        :func:`fft_tables`, and :func:`dft_table` with oversampling 1 for a
        length that is not a power of two (empty otherwise), split in parts.
    pad*_re, pad*_im : ndarray (o N, N), float64
        Padded-grid phasors (:func:`dft_table`), split in parts.
    node_fr, node_fc : ndarray (heights, widths), float64
        Receive the frequencies, cycles per pixel, in ``[-0.5, 0.5)``;
        ``(0, 0)`` for an all-zero window.
    """
    n_big_r = oversampling * wr
    n_big_c = oversampling * wc
    nmax = max(wr, wc)
    w_re = np.empty((wr, wc))
    w_im = np.empty((wr, wc))
    sp_re = np.empty((wr, wc))
    sp_im = np.empty((wr, wc))
    l_re = np.empty(nmax)
    l_im = np.empty(nmax)
    s_re = np.empty(nmax)
    s_im = np.empty(nmax)
    m_r = max(n_big_r, 2 * oversampling + 3)
    m_c = max(n_big_c, 2 * oversampling + 3)
    bins_r = np.empty(m_r, np.int64)
    bins_c = np.empty(m_c, np.int64)
    tc_re = np.empty((wc, m_c))
    tc_im = np.empty((wc, m_c))
    g_re = np.empty((wr, m_c))
    g_im = np.empty((wr, m_c))
    f_re = np.empty(m_c)
    f_im = np.empty(m_c)
    power = np.empty((m_r, m_c))
    for a in range(heights):
        for b in range(widths):
            r0 = a * step_r
            c0 = b * step_c
            for r in range(wr):
                for c in range(wc):
                    z = x[r0 + r, c0 + c]
                    w_re[r, c] = z.real
                    w_im[r, c] = z.imag
            # plain spectrum: rows, then columns; its strongest bin
            for r in range(wr):
                _transform(w_re[r], w_im[r], rev_c, twc_re, twc_im, tabc_re, tabc_im,
                           s_re, s_im)
                for c in range(wc):
                    sp_re[r, c] = s_re[c]
                    sp_im[r, c] = s_im[c]
            best = 0.0
            kr = -1
            kc = -1
            for c in range(wc):
                for r in range(wr):
                    l_re[r] = sp_re[r, c]
                    l_im[r] = sp_im[r, c]
                _transform(l_re[:wr], l_im[:wr], rev_r, twr_re, twr_im, tabr_re, tabr_im,
                           s_re, s_im)
                for r in range(wr):
                    pw = s_re[r] * s_re[r] + s_im[r] * s_im[r]
                    if pw > best:
                        best = pw
                        kr = r
                        kc = c
            if kr < 0:
                node_fr[a, b] = 0.0
                node_fc[a, b] = 0.0
                continue
            nr = _axis_bins(kr, oversampling, wr, bins_r)
            nc = _axis_bins(kc, oversampling, wc, bins_c)
            # padded bins around it, a separable DFT: along columns, then rows
            for c in range(wc):
                for q in range(nc):
                    tc_re[c, q] = padc_re[bins_c[q], c]
                    tc_im[c, q] = padc_im[bins_c[q], c]
            for r in range(wr):
                for q in range(nc):
                    g_re[r, q] = 0.0
                    g_im[r, q] = 0.0
                for c in range(wc):
                    xr = w_re[r, c]
                    xi = w_im[r, c]
                    for q in range(nc):
                        g_re[r, q] += tc_re[c, q] * xr - tc_im[c, q] * xi
                        g_im[r, q] += tc_re[c, q] * xi + tc_im[c, q] * xr
            best = -1.0
            pi = 0
            pj = 0
            for p in range(nr):
                k = bins_r[p]
                for q in range(nc):
                    f_re[q] = 0.0
                    f_im[q] = 0.0
                for r in range(wr):
                    tr = padr_re[k, r]
                    ti = padr_im[k, r]
                    for q in range(nc):
                        f_re[q] += tr * g_re[r, q] - ti * g_im[r, q]
                        f_im[q] += tr * g_im[r, q] + ti * g_re[r, q]
                edge_p = nr < n_big_r and (p == 0 or p == nr - 1)
                for q in range(nc):
                    pw = f_re[q] * f_re[q] + f_im[q] * f_im[q]
                    power[p, q] = pw
                    # the outermost bins only serve the parabola
                    if edge_p or (nc < n_big_c and (q == 0 or q == nc - 1)):
                        continue
                    if pw > best:
                        best = pw
                        pi = p
                        pj = q
            tiny = best * 1e-30
            l0 = math.log(best + tiny)
            dr = 0.0
            dc = 0.0
            if n_big_r > 2:
                dr = _refine(math.log(power[(pi - 1) % nr, pj] + tiny), l0,
                             math.log(power[(pi + 1) % nr, pj] + tiny))
            if n_big_c > 2:
                dc = _refine(math.log(power[pi, (pj - 1) % nc] + tiny), l0,
                             math.log(power[pi, (pj + 1) % nc] + tiny))
            fr = (bins_r[pi] + dr) / n_big_r
            fc = (bins_c[pj] + dc) / n_big_c
            node_fr[a, b] = fr - math.floor(fr + 0.5)
            node_fc[a, b] = fc - math.floor(fc + 0.5)
