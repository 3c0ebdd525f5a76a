"""Numba kernels of the fringe-slope estimator in :mod:`peppers.operators.slope`.

Private. Every kernel is ``@njit(nogil=True, cache=True)``.

:func:`spectral_peak` locates the maximum of the power of a zero-padded
2-D spectrum and refines it to a fraction of a bin by fitting a parabola
through the logarithm of the power at the peak and its two neighbours along
each axis (Gaussian interpolation, Gasior & Gonzalez 2004): for the main
lobe of a zero-padded rectangular window the log-power is close to a
parabola, so the refinement error is a small fraction of the padded bin.

:func:`interpolate_frequencies` spreads the estimates, made on a grid of
nodes anchored to the image, to every pixel by bilinear interpolation. The
four nodes of a cell are unwrapped against the cell's first corner
(``f - round(f - f_00)``) before they are weighted and the result wrapped
back to ``[-0.5, 0.5)``, so that two nodes on either side of the +-0.5
cycles/pixel wrap average to a frequency near the wrap and not to zero.
(The former interpolation of the unit phasors ``exp(2 pi j f)`` gives the
same frequency to third order in the nodes' spread, at two ``atan2`` per
pixel; this one is a multiply-add per pixel.)

The coarse-to-fine form of the estimator (``method="local"``): the
zero-padded spectrum on the ``o N_r x o N_c`` grid is the DFT ``F(k, l) =
sum_r sum_c x[r, c] exp(-2 pi j (k r / (o N_r) + l c / (o N_c)))``; its bins
``(o k', o l')`` are the plain ``N_r x N_c`` spectrum. So the plain spectrum
(FFTW, a fixed batch of windows per call: :func:`gather_windows`) locates
the strongest coarse bin ``(k', l')``, and :func:`peaks_from_spectra`
evaluates only the padded bins within one coarse bin of it (``2 o + 1`` per
axis, plus one on each side for the parabola), as a separable DFT with
tabulated phasors. For a fringe whose main lobe holds the global maximum
(always, for a clean plane wave) this finds the same bin as the full padded
FFT; on noise it may lock onto another of near-equal power, as the full
search would on a slightly different realisation. Cost per node: one FFT
of ``N_r N_c`` points and ``(2o + 3) N_r (N_c + 2o + 3)`` complex
multiply-adds, against ``o^2 N_r N_c log2(o^2 N_r N_c)`` for the full
padded FFT.
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
def _wrap(f):
    """``f`` wrapped to ``[-0.5, 0.5)`` cycles."""
    return f - math.floor(f + 0.5)


@numba.njit(nogil=True, cache=True)
def _cell_lines(nodes, ia, t, left, span):
    """Per cell of node row ``ia``: the interpolated value on its left edge at
    row fraction ``t`` and the change across the cell (nodes unwrapped against
    the cell's first corner)."""
    for ib in range(left.shape[0]):
        f00 = nodes[ia, ib]
        d01 = _wrap(nodes[ia, ib + 1] - f00)
        d10 = _wrap(nodes[ia + 1, ib] - f00)
        d11 = _wrap(nodes[ia + 1, ib + 1] - f00)
        lo = f00 + t * d10
        left[ib] = lo
        span[ib] = f00 + ((1.0 - t) * d01 + t * d11) - lo


@numba.njit(nogil=True, cache=True)
def interpolate_frequencies(node_fr, node_fc, row0, col0, node_row0, node_col0,
                            step_r, step_c, out_r, out_c):
    """Bilinear interpolation, across the wrap, of node frequencies onto pixels.

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
        Receive the frequencies, cycles per pixel, in ``[-0.5, 0.5)``.

    Notes
    -----
    In the cell of nodes ``f_00, f_01, f_10, f_11`` (rows ``a, a + 1``,
    columns ``b, b + 1``) with ``d_pq = wrap(f_pq - f_00)`` and fractional
    position ``(t, u)``: ``left = f_00 + t d_10``, ``right = f_00 + (1 - t)
    d_01 + t d_11`` and ``f = wrap(left + u (right - left))``. Each pixel's
    value is a function of its four nodes and ``(t, u)`` alone, so tiles agree.
    """
    h, w = out_r.shape
    cells = node_fr.shape[1] - 1
    ibs = np.empty(w, np.int64)
    us = np.empty(w)
    for j in range(w):
        c = col0 + j
        b = c // step_c
        us[j] = (c - b * step_c) / step_c
        ibs[j] = b - node_col0
    left_r = np.empty(cells)
    span_r = np.empty(cells)
    left_c = np.empty(cells)
    span_c = np.empty(cells)
    for i in range(h):
        r = row0 + i
        a = r // step_r
        t = (r - a * step_r) / step_r
        ia = a - node_row0
        _cell_lines(node_fr, ia, t, left_r, span_r)
        _cell_lines(node_fc, ia, t, left_c, span_c)
        for j in range(w):
            ib = ibs[j]
            u = us[j]
            out_r[i, j] = _wrap(left_r[ib] + u * span_r[ib])
            out_c[i, j] = _wrap(left_c[ib] + u * span_c[ib])


# -- coarse-to-fine peak (local_peaks) ------------------------------------------------------

def dft_table(n, oversampling):
    """``table[k, m] = exp(-2 pi j k m / (oversampling n))`` for ``k < oversampling n``, ``m < n``."""
    k = np.arange(oversampling * n)[:, None]
    m = np.arange(n)[None, :]
    return np.exp(-2j * np.pi * ((k * m) % (oversampling * n)) / (oversampling * n))


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
def gather_windows(x, first, widths, step_r, step_c, count, out):
    """Copy the windows of nodes ``first .. first + count - 1`` into ``out``.

    Node ``n`` is ``(n // widths, n % widths)``; its window is ``x[a step_r :
    a step_r + N_r, b step_c : b step_c + N_c]`` with ``(N_r, N_c) =
    out.shape[1:]``. Slots from ``count`` on are zeroed (a fixed batch).
    """
    wr, wc = out.shape[1], out.shape[2]
    for i in range(out.shape[0]):
        if i >= count:
            out[i] = 0
            continue
        n = first + i
        r0 = (n // widths) * step_r
        c0 = (n % widths) * step_c
        for r in range(wr):
            for c in range(wc):
                out[i, r, c] = x[r0 + r, c0 + c]


@numba.njit(nogil=True, cache=True)
def peaks_from_spectra(x, spectra, first, widths, step_r, step_c, count, oversampling,
                       padr_re, padr_im, padc_re, padc_im, node_fr, node_fc):
    """Fringe frequency of nodes ``first .. first + count - 1``, coarse-to-fine.

    Parameters
    ----------
    x : ndarray (H, W), complex
        The tile's input region (node windows as in :func:`gather_windows`).
    spectra : ndarray (batch, N_r, N_c), complex
        The plain 2-D spectra of those windows, in the batch order.
    first, widths, step_r, step_c, count : int
        First node, node columns, node spacing and nodes in this batch.
    oversampling : int
        Zero-padding factor.
    pad*_re, pad*_im : ndarray (o N, N), float64
        Padded-grid phasors (:func:`dft_table`), split in parts.
    node_fr, node_fc : ndarray (heights, widths), float64
        Receive the frequencies, cycles per pixel, in ``[-0.5, 0.5)``;
        ``(0, 0)`` for an all-zero window.
    """
    wr, wc = spectra.shape[1], spectra.shape[2]
    n_big_r = oversampling * wr
    n_big_c = oversampling * wc
    w_re = np.empty((wr, wc))
    w_im = np.empty((wr, wc))
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
    for i in range(count):
        n = first + i
        a = n // widths
        b = n % widths
        # the strongest bin of the plain spectrum (columns outer, as ever)
        best = 0.0
        kr = -1
        kc = -1
        for c in range(wc):
            for r in range(wr):
                z = spectra[i, r, c]
                pw = float(z.real) * float(z.real) + float(z.imag) * float(z.imag)
                if pw > best:
                    best = pw
                    kr = r
                    kc = c
        if kr < 0:
            node_fr[a, b] = 0.0
            node_fc[a, b] = 0.0
            continue
        r0 = a * step_r
        c0 = b * step_c
        for r in range(wr):
            for c in range(wc):
                z = x[r0 + r, c0 + c]
                w_re[r, c] = z.real
                w_im[r, c] = z.imag
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
        node_fr[a, b] = _wrap(fr)
        node_fc[a, b] = _wrap(fc)
