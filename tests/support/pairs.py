"""Synthetic SLC pairs of known offsets and fringe, and the coherence measured on them.

Used by the coregistration, common-band and slave-resampling tests. The pairs
(:func:`make_pair`) are built independently of the operators: one white
complex reflectivity, a slave reflectivity mixed with independent speckle for
coherence ``gamma`` and carrying an interferometric fringe, both band-limited
(rectangular spectrum) and evaluated exactly, by their Fourier series, at the
master grid and at the slave positions ``y - e(y)``.
"""

from __future__ import annotations

import numpy as np

PAD = 32


def _spectrum(z: np.ndarray, band: tuple[float, float]) -> np.ndarray:
    fr = np.abs(np.fft.fftfreq(z.shape[0]))[:, None]
    fc = np.abs(np.fft.fftfreq(z.shape[1]))[None, :]
    return np.fft.fft2(z) * ((fr <= band[0] / 2) & (fc <= band[1] / 2))


def _evaluate(spectrum: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The band-limited periodic field of ``spectrum`` at fractional (rows x cols)."""
    n, m = spectrum.shape
    er = np.exp(2j * np.pi * np.outer(rows, np.fft.fftfreq(n) * n) / n)
    ec = np.exp(2j * np.pi * np.outer(np.fft.fftfreq(m) * m, cols) / m)
    return er @ spectrum @ ec / (n * m)


def make_pair(shape, e_row, e_col, gamma, *, band=(0.85, 0.85), fringe=(0.0, 0.0), seed=0):
    """Master, slave (complex64) and the true row/column offsets (1-D, separable).

    ``fringe`` (cycles per row, per column) is the phase of master * conj(slave).
    """
    rng = np.random.default_rng(seed)
    big = (shape[0] + 2 * PAD, shape[1] + 2 * PAD)

    def speckle():
        return (rng.standard_normal(big) + 1j * rng.standard_normal(big)) / np.sqrt(2)

    a, noise = speckle(), speckle()
    y, x = np.mgrid[0:big[0], 0:big[1]]
    slave_ref = ((gamma * a + np.sqrt(1 - gamma ** 2) * noise)
                 * np.exp(-2j * np.pi * (fringe[0] * y + fringe[1] * x)))
    ys, xs = np.arange(shape[0], dtype=float), np.arange(shape[1], dtype=float)
    master = _evaluate(_spectrum(a, band), ys + PAD, xs + PAD)
    slave = _evaluate(_spectrum(slave_ref, band), ys - e_row(ys) + PAD, xs - e_col(xs) + PAD)

    def truth(e, positions):
        d = np.zeros_like(positions)
        for _ in range(60):
            d = e(positions + d)
        return d

    return (master.astype(np.complex64), slave.astype(np.complex64),
            truth(e_row, ys), truth(e_col, xs))


def coherence_and_phase(m, s, fringe, margin=24):
    """|<m s* e^{-j phi}>| / sqrt(<|m|^2><|s|^2>) and the residual phase, inside a margin."""
    rows, cols = np.mgrid[0:m.shape[0], 0:m.shape[1]] + PAD
    flat = np.exp(-2j * np.pi * (fringe[0] * rows + fringe[1] * cols))
    cut = (slice(margin, -margin), slice(margin, -margin))
    num = np.sum((m * np.conj(s) * flat)[cut])
    den = np.sqrt(np.sum(np.abs(m[cut]) ** 2) * np.sum(np.abs(s[cut]) ** 2))
    return abs(num) / den, np.angle(num)
