"""Numba kernels that make the two SLCs from point scatterers (see ``scatterers``).

``synthesize_block``
    One block of scatterer cells (rows of the extended master grid). Every
    pixel cell holds ``k x k`` scatterers, each at a random place inside its
    sub-cell (``jitter``), with a complex circular Gaussian amplitude of
    variance ``beta / k^2``. Its master position is where it lies; its slave
    position adds the bilinearly interpolated offsets; the slave amplitude is
    ``(gamma a + sqrt(1 - gamma^2) b) exp(-j phi)`` with ``b`` independent
    speckle and ``phi`` the interpolated interferometric phase. Each
    amplitude is spread over ``support x support`` pixels with the separable
    impulse response read from a finely sampled table (linear interpolation),
    into the master and the slave image. The block draws its random numbers
    from its own seed, so the images do not depend on how blocks are spread
    over threads; blocks whose footprints overlap must not run at the same
    time (the caller runs even and odd blocks in two phases).
``fir_separable``
    "Valid" 2-D convolution with a separable kernel (rows then columns), for
    band-limited noise and for the expected power of the images.

Conventions: pixel centres at integer coordinates; ``image[row, col]``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(nogil=True, cache=True)
def _corner(shape, y, x):
    """Top-left pixel and fractions of the bilinear cell holding (y, x), clamped."""
    m, n = shape
    y = min(max(y, 0.0), m - 1.0)
    x = min(max(x, 0.0), n - 1.0)
    i = min(int(y), m - 2)
    j = min(int(x), n - 2)
    return i, j, y - i, x - j


@njit(nogil=True, cache=True)
def _bilinear(field, i, j, fy, fx):
    """Bilinear value of ``field`` in the cell of :func:`_corner`."""
    return ((1.0 - fy) * ((1.0 - fx) * field[i, j] + fx * field[i, j + 1])
            + fy * ((1.0 - fx) * field[i + 1, j] + fx * field[i + 1, j + 1]))


@njit(nogil=True, cache=True)
def _weights(lut, q, half, pos, first, out):
    """Response weights of pixels ``first .. first+len(out)-1`` to a point at ``pos``."""
    for t in range(out.shape[0]):
        u = (first + t - pos + half) * q
        k = int(u)
        if k < 0 or k >= lut.shape[0] - 1:
            out[t] = 0.0
        else:
            f = u - k
            out[t] = (1.0 - f) * lut[k] + f * lut[k + 1]


@njit(nogil=True, cache=True)
def _splat(image, pad, y, x, amp, lut_a, lut_r, q, support, wa, wr):
    """Add ``amp`` times the impulse response centred at image (y, x) into ``image``.

    ``image`` is padded by ``pad >= support`` pixels on every side (image
    pixel (0, 0) is ``image[pad, pad]``), so a response either fits whole, or
    lies entirely outside the unpadded image and is skipped: the inner loops
    have fixed bounds.
    """
    _splat_rows(image, -pad, image.shape[0] - 2 * pad, pad, y, x, amp, lut_a, lut_r, q,
                support, wa, wr)


@njit(nogil=True, cache=True)
def _splat_rows(image, row0, lines, pad, y, x, amp, lut_a, lut_r, q, support, wa, wr):
    """:func:`_splat` into a buffer of some rows of the padded image.

    ``image[r - row0, pad + c]`` is pixel ``(r, c)`` of an image of ``lines``
    rows padded by ``pad`` on every side; the buffer has the full padded
    width. A response the padded image holds must lie in the buffer.
    """
    half = support // 2
    r0 = int(math.floor(y)) - half + 1
    c0 = int(math.floor(x)) - half + 1
    if (r0 < -pad or c0 < -pad or r0 + support > lines + pad
            or c0 + support > image.shape[1] - pad):
        return
    b0 = r0 - row0
    if b0 < 0 or b0 + support > image.shape[0]:
        raise ValueError("synthesis: a response falls outside the row buffer")
    _weights(lut_a, q, half, y, r0, wa)
    _weights(lut_r, q, half, x, c0, wr)
    for t in range(support):
        row_amp = np.complex64(amp * wa[t])
        for u in range(support):
            image[b0 + t, pad + c0 + u] += row_amp * wr[u]


@njit(nogil=True, cache=True)
def _place(beta, i, a, j, b, k, jitter, scale):
    """Scatterer (a, b) of pixel cell (i, j): its jittered position, bilinear cell, amplitude sigma.

    Draws two uniform numbers (row, then column jitter) from numba's stream.
    """
    return _place_rows(beta, 0, i, a, j, b, k, jitter, scale)


@njit(nogil=True, cache=True)
def _place_rows(beta, field_row0, i, a, j, b, k, jitter, scale):
    """:func:`_place` with fields holding rows ``field_row0 ..`` of the grid.

    The position ``(ye, xe)`` is on the whole grid; the bilinear cell
    ``(ci, cj)`` indexes the fields. ``ye - field_row0`` is exact in floating
    point (an integer subtracted from a larger number), so the weights are
    those of the whole-grid fields bit for bit.
    """
    ye = i + (a + 0.5 + jitter * (np.random.random() - 0.5)) / k - 0.5
    xe = j + (b + 0.5 + jitter * (np.random.random() - 0.5)) / k - 0.5
    ci, cj, fy, fx = _corner(beta.shape, ye - field_row0, xe)
    sigma = math.sqrt(max(_bilinear(beta, ci, cj, fy, fx), 0.0)) * scale
    return ye, xe, ci, cj, fy, fx, sigma


@njit(nogil=True, cache=True)
def synthesize_block(seed, row_lo, row_hi, k, jitter, beta, gamma, row_offset, col_offset,
                     phase, field_row0, margin_rows, margin_cols, lut_a, lut_r, q, support, pad,
                     lines, row0, master, slave):
    """Scatterers of extended-grid rows ``row_lo .. row_hi-1`` into both images.

    Parameters
    ----------
    seed : int
        Seed of this block's random stream.
    row_lo, row_hi : int
        Block rows of the extended grid.
    k : int
        Scatterers per pixel along each axis.
    jitter : float
        Random displacement inside the sub-cell, fraction of its size.
    beta, gamma : (R, C) float32
        Backscatter (expected intensity) and coherence on rows
        ``field_row0 .. field_row0 + R - 1`` of the extended grid; they must
        hold rows ``row_lo - 1 .. row_hi`` (those inside the grid).
    row_offset, col_offset, phase : (R, C) float64
        Slave-minus-master position and the interferometric phase, same rows.
    field_row0 : int
        Extended-grid row of the fields' row 0.
    margin_rows, margin_cols : int
        Extended-grid pixel (i, j) is image pixel (i - margin_rows, j - margin_cols).
    lut_a, lut_r : (support*q + 1,) float32
        Impulse response per axis sampled every ``1/q`` pixel on [-support/2, support/2].
    q : int
        Table samples per pixel.
    support : int
        Pixels per axis touched by one scatterer.
    pad : int
        Padding of the images on every side, at least ``support``.
    lines : int
        Image lines.
    row0 : int
        Image row (from ``-pad``) of the buffers' row 0.
    master, slave : (rows, samples + 2 pad) complex64
        Rows ``row0 ..`` of the padded images, accumulated in place; they
        must hold every row the block's responses reach.
    """
    np.random.seed(seed)
    n_cols = beta.shape[1]
    wa = np.empty(support, dtype=np.float32)
    wr = np.empty(support, dtype=np.float32)
    scale = 1.0 / (k * math.sqrt(2.0))
    for i in range(row_lo, row_hi):
        for a in range(k):
            for j in range(n_cols):
                for b in range(k):
                    ye, xe, ci, cj, fy, fx, sigma = _place_rows(beta, field_row0, i, a, j, b,
                                                                k, jitter, scale)
                    amp = sigma * complex(np.random.standard_normal(),
                                          np.random.standard_normal())
                    other = sigma * complex(np.random.standard_normal(),
                                            np.random.standard_normal())
                    g = min(max(_bilinear(gamma, ci, cj, fy, fx), 0.0), 1.0)
                    phi = _bilinear(phase, ci, cj, fy, fx)
                    slave_amp = (g * amp + math.sqrt(1.0 - g * g) * other) \
                        * complex(math.cos(phi), -math.sin(phi))
                    y = ye - margin_rows
                    x = xe - margin_cols
                    _splat_rows(master, row0, lines, pad, y, x, amp, lut_a, lut_r, q, support,
                                wa, wr)
                    _splat_rows(slave, row0, lines, pad, y + _bilinear(row_offset, ci, cj, fy, fx),
                                x + _bilinear(col_offset, ci, cj, fy, fx), slave_amp,
                                lut_a, lut_r, q, support, wa, wr)


@njit(nogil=True, cache=True)
def fir_separable(src, taps_rows, taps_cols, out):
    """``out = src (*) taps_rows (x) taps_cols``, valid part only.

    ``out`` has shape ``(src.shape[0] - len(taps_rows) + 1,
    src.shape[1] - len(taps_cols) + 1)``; ``out[i, j]`` sums
    ``src[i + a, j + b] * taps_rows[a] * taps_cols[b]``.
    """
    n_rows, n_cols = out.shape
    na = taps_rows.shape[0]
    nb = taps_cols.shape[0]
    tmp = np.zeros(src.shape[1], dtype=out.dtype)
    for i in range(n_rows):
        tmp[:] = 0
        for a in range(na):
            w = taps_rows[a]
            for j in range(src.shape[1]):
                tmp[j] += w * src[i + a, j]
        for j in range(n_cols):
            acc = tmp[j] * taps_cols[0]
            for b in range(1, nb):
                acc += tmp[j + b] * taps_cols[b]
            out[i, j] = acc
