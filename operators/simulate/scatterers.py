"""From ground geometry to two speckled, band-limited, partially coherent SLCs.

Radiometry. Each radar pixel's expected intensity is the radar brightness
``beta0 = sigma0(theta_loc) * A / (dx_az * dr)``: Muhleman's backscatter law
``sigma0 = 0.0133 cos t / (sin t + 0.1 cos t)^3`` at the local incidence
``t`` times the pixel's ground area over its slant-plane area (bright
foreshortened slopes facing the radar, dim slopes facing away).

Scatterers. ``k x k`` point scatterers per pixel of the extended master grid,
jittered inside their sub-cells, with complex circular Gaussian amplitudes
(speckle); both images are the same impulse response applied to the same
scatterers, each at its own position in each image (kernel
``synthesize_block``). The slave's amplitude is
``(gamma a + sqrt(1 - gamma^2) b) exp(-j phi)``: independent speckle ``b``
mixed in realises the coherence map ``gamma``, and ``phi`` the
interferometric phase, so both SLCs stay baseband.

Coherence map. A background value with soft-edged elliptical patches of low
coherence (:func:`coherence_map`).

Thermal noise. Independent complex Gaussian noise in each image, shaped by the
same impulse response (its spectrum is the signal's, as after focusing),
with power ``mean(beta0) / 10^(snr/10)``.

Expected coherence (the truth). With ``P = beta0 (*) h^2`` the expected
intensity, the coherence a common-band-filtered processor should measure is
``gamma_eff / (1 + N / P)`` with ``gamma_eff = (beta0 gamma) (*) h^2 / P``;
without spectral filtering, the fringe frequencies ``(f_a, f_r)`` of ``phi``
also reduce it by ``|FT h_a^2(f_a)| |FT h_r^2(f_r)|``.

References
----------
T. W. Muhleman (1964), "Radar scattering from Venus and the Moon",
Astronomical Journal 69:34-41 (the backscatter law).
H. A. Zebker, J. Villasenor (1992), "Decorrelation in interferometric radar
echoes", IEEE TGRS 30(5):950-959 (thermal and geometric decorrelation).
J. W. Goodman (1976), "Some fundamental properties of speckle", JOSA 66:1145
(sums of random phasors: circular Gaussian speckle).
"""

from __future__ import annotations

import math

import numpy as np

from peppers.operators.simulate import _synthesis_kernels as _k
from peppers.operators.simulate.irf import TABLE_RATE, ImpulseResponse
from peppers.operators.simulate.radar_grid import parallel_map

__all__ = ["muhleman", "backscatter", "coherence_map", "draw_patches", "coherence_rows",
           "describe_patches", "synthesize", "thermal_noise", "thermal_noise_rows",
           "expected_coherence", "expected_coherence_rows", "coherence_halo",
           "fringe_frequency"]


def muhleman(cos_inc) -> np.ndarray:
    """Muhleman's backscatter coefficient sigma0 (linear) at local incidence cosines."""
    c = np.clip(np.asarray(cos_inc, dtype=np.float64), 1e-6, 1.0)
    s = np.sqrt(1.0 - c * c)
    return 0.0133 * c / (s + 0.1 * c) ** 3


def backscatter(cos_inc: np.ndarray, area_ratio: np.ndarray) -> np.ndarray:
    """Radar brightness beta0 = sigma0(local incidence) * ground / slant-plane area.

    Returns
    -------
    ndarray, float32
    """
    return (muhleman(cos_inc) * area_ratio).astype(np.float32)


def coherence_map(shape: tuple[int, int], margin: tuple[int, int], *, background: float,
                  low: float, patches: int, rng: np.random.Generator,
                  taper_px: float = 6.0) -> tuple[np.ndarray, list[dict]]:
    """Background coherence with soft-edged elliptical low-coherence patches.

    Parameters
    ----------
    shape : (int, int)
        Extended grid shape.
    margin : (int, int)
        Extended-grid offset of image pixel (0, 0).
    background, low : float
        Coherence outside and inside the patches.
    patches : int
        Number of patches; centres inside the image, 8 % from its edges;
        semi-axes 3 % to 9 % of the image size; any orientation.
    rng : numpy.random.Generator
    taper_px : float
        Width of the raised-cosine edge, pixels.

    Returns
    -------
    gamma : ndarray of ``shape``, float32
    described : list of dict
        Each patch in image pixels: ``row``, ``col``, ``semi_axes`` (rows,
        cols), ``angle_deg``, ``coherence``.
    """
    drawn = draw_patches(shape, margin, low=low, patches=patches, rng=rng)
    return (coherence_rows(drawn, 0, shape[0], shape, margin, background=background,
                           taper_px=taper_px), describe_patches(drawn))


def describe_patches(drawn: list[dict]) -> list[dict]:
    """The patches of :func:`draw_patches` as ``truth.yaml`` lists them (no radians)."""
    return [{k: v for k, v in patch.items() if k != "angle_rad"} for patch in drawn]


def draw_patches(shape: tuple[int, int], margin: tuple[int, int], *, low: float, patches: int,
                 rng: np.random.Generator) -> list[dict]:
    """The low-coherence patches of :func:`coherence_map`, with ``angle_rad`` as drawn."""
    ma, mr = margin
    lines, samples = shape[0] - 2 * ma, shape[1] - 2 * mr
    described = []
    for _ in range(patches):
        centre = (rng.uniform(0.08, 0.92) * lines, rng.uniform(0.08, 0.92) * samples)
        axes = (rng.uniform(0.03, 0.09) * lines, rng.uniform(0.03, 0.09) * samples)
        angle = rng.uniform(0.0, np.pi)
        described.append({"row": float(centre[0]), "col": float(centre[1]),
                          "semi_axes": [float(axes[0]), float(axes[1])],
                          "angle_deg": float(np.degrees(angle)), "coherence": float(low),
                          "angle_rad": float(angle)})
    return described


def coherence_rows(described: list[dict], lo: int, hi: int, shape: tuple[int, int],
                   margin: tuple[int, int], *, background: float,
                   taper_px: float = 6.0) -> np.ndarray:
    """Rows ``lo .. hi - 1`` of the extended-grid coherence map of :func:`coherence_map`.

    Each pixel is a function of its own position only, so any row blocks
    equal the whole map bit for bit.

    Returns
    -------
    ndarray of shape (hi - lo, shape[1]), float32
    """
    ma, mr = margin
    weight = np.zeros((hi - lo, shape[1]), dtype=np.float64)
    rows = np.arange(lo, hi)[:, None] - ma
    cols = np.arange(shape[1])[None, :] - mr
    low = background
    for patch in described:
        centre, axes, angle = (patch["row"], patch["col"]), patch["semi_axes"], patch["angle_rad"]
        low = patch["coherence"]
        dy, dx = rows - centre[0], cols - centre[1]
        ca, sa = math.cos(angle), math.sin(angle)
        u = (ca * dy + sa * dx) / axes[0]
        v = (-sa * dy + ca * dx) / axes[1]
        # signed distance to the ellipse edge, approximately in pixels
        dist = (np.sqrt(u * u + v * v) - 1.0) * min(axes)
        inside = np.clip(0.5 - dist / taper_px, 0.0, 1.0)
        weight = np.maximum(weight, 0.5 - 0.5 * np.cos(np.pi * inside))
    gamma = background + (low - background) * weight
    return gamma.astype(np.float32)


def synthesize(shape: tuple[int, int], margin: tuple[int, int], *, beta: np.ndarray,
               gamma: np.ndarray, row_offset: np.ndarray, col_offset: np.ndarray,
               phase: np.ndarray, irf_azimuth: ImpulseResponse, irf_range: ImpulseResponse,
               per_axis: int, jitter: float, seed: int,
               threads: int) -> tuple[np.ndarray, np.ndarray]:
    """The noise-free master and slave SLCs of whole extended-grid fields (module docstring).

    The images :func:`.pair.simulate` streams block by block
    (:mod:`.image_pass`), held whole: for small grids and tests.

    Parameters
    ----------
    shape : (int, int)
        Image size (lines, samples).
    margin : (int, int)
        Margin of the extended grid the fields are on.
    beta, gamma : ndarray, float32
        Expected intensity and coherence, extended grid.
    row_offset, col_offset, phase : ndarray, float64
        Slave offsets and interferometric phase, extended grid.
    irf_azimuth, irf_range : ImpulseResponse
        Same ``support`` on both axes.
    per_axis : int
        Scatterers per pixel along each axis.
    jitter : float
    seed : int
    threads : int

    Returns
    -------
    master, slave : ndarray of ``shape``, complex64
    """
    from peppers.operators.simulate.image_pass import synthesis_blocks

    support = irf_range.support
    padded = (shape[0] + 2 * support, shape[1] + 2 * support)
    master = np.zeros(padded, dtype=np.complex64)
    slave = np.zeros(padded, dtype=np.complex64)
    spread = float(np.ptp(row_offset)) if row_offset.size else 0.0
    blocks = synthesis_blocks(beta.shape[0], support, spread)
    seeds = np.random.SeedSequence([seed, 0x5CA7]).generate_state(len(blocks))
    fields = (beta, gamma, row_offset, col_offset, phase)

    def work(index: int) -> None:
        lo, hi = blocks[index]
        _k.synthesize_block(int(seeds[index]), lo, hi, per_axis, float(jitter), *fields, 0,
                            margin[0], margin[1], irf_azimuth.table, irf_range.table,
                            TABLE_RATE, support, support, shape[0], -support, master, slave)

    # even blocks never touch the same rows, nor do odd ones: two phases
    for parity in (0, 1):
        parallel_map(work, range(parity, len(blocks), 2), threads)
    inner = (slice(support, support + shape[0]), slice(support, support + shape[1]))
    return np.ascontiguousarray(master[inner]), np.ascontiguousarray(slave[inner])


def filter_separable(image: np.ndarray, taps_rows: np.ndarray, taps_cols: np.ndarray,
                     out_dtype) -> np.ndarray:
    """Valid-mode separable FIR of ``image`` (numba kernel)."""
    out = np.empty((image.shape[0] - taps_rows.size + 1, image.shape[1] - taps_cols.size + 1),
                   dtype=out_dtype)
    _k.fir_separable(image, taps_rows.astype(image.real.dtype),
                     taps_cols.astype(image.real.dtype), out)
    return out


def thermal_noise(shape: tuple[int, int], power: float, irf_azimuth: ImpulseResponse,
                  irf_range: ImpulseResponse, rng: np.random.Generator) -> np.ndarray:
    """Complex Gaussian noise of mean power ``power``, band-limited like the signal.

    Returns
    -------
    ndarray of ``shape``, complex64
    """
    ta, tr = _noise_taps(power, irf_azimuth, irf_range)
    white = np.empty((shape[0] + ta.size - 1, shape[1] + tr.size - 1), dtype=np.complex64)
    white.real = rng.standard_normal(white.shape, dtype=np.float32)
    white.imag = rng.standard_normal(white.shape, dtype=np.float32)
    return filter_separable(white, ta, tr, np.complex64)


def _noise_taps(power: float, irf_azimuth: ImpulseResponse,
                irf_range: ImpulseResponse) -> tuple[np.ndarray, np.ndarray]:
    """Azimuth taps scaled so that unit complex white noise filtered by both has ``power``."""
    ta, tr = irf_azimuth.taps(), irf_range.taps()
    gain = math.sqrt(power / 2.0) / math.sqrt(np.sum(ta ** 2) * np.sum(tr ** 2))
    return ta * gain, tr


#: Rows of white noise drawn from one random stream by :func:`thermal_noise_rows`.
NOISE_CHUNK_ROWS = 64


def thermal_noise_rows(lo: int, hi: int, samples: int, power: float,
                       irf_azimuth: ImpulseResponse, irf_range: ImpulseResponse,
                       key: tuple[int, ...]) -> np.ndarray:
    """Rows ``lo .. hi - 1`` of a noise image as :func:`thermal_noise` makes it.

    The white field under the filter is drawn in fixed chunks of
    :data:`NOISE_CHUNK_ROWS` rows, chunk ``c`` from its own stream
    ``SeedSequence(key + (c,))`` (real parts, then imaginary parts), so the
    noise of a pixel does not depend on the blocks the image is made in.

    Returns
    -------
    ndarray of shape (hi - lo, samples), complex64
    """
    ta, tr = _noise_taps(power, irf_azimuth, irf_range)
    width = samples + tr.size - 1
    w_lo, w_hi = lo, hi + ta.size - 1
    white = np.empty((w_hi - w_lo, width), dtype=np.complex64)
    n = NOISE_CHUNK_ROWS
    for c in range(w_lo // n, (w_hi - 1) // n + 1):
        rng = np.random.default_rng(np.random.SeedSequence([*key, c]))
        chunk = np.empty((n, width), dtype=np.complex64)
        chunk.real = rng.standard_normal(chunk.shape, dtype=np.float32)
        chunk.imag = rng.standard_normal(chunk.shape, dtype=np.float32)
        a, b = max(c * n, w_lo), min((c + 1) * n, w_hi)
        white[a - w_lo:b - w_lo] = chunk[a - c * n:b - c * n]
    return filter_separable(white, ta, tr, np.complex64)


def fringe_frequency(phase: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Local fringe frequency of an unwrapped phase, cycles per pixel (rows, cols)."""
    grad_rows, grad_cols = np.gradient(phase)
    return grad_rows / (2 * np.pi), grad_cols / (2 * np.pi)


def expected_coherence(beta: np.ndarray, gamma: np.ndarray, phase: np.ndarray,
                       margin: tuple[int, int], noise_power: float,
                       irf_azimuth: ImpulseResponse,
                       irf_range: ImpulseResponse) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Expected coherence on the image grid (module docstring).

    Parameters
    ----------
    beta, gamma, phase : ndarray
        Extended-grid fields.
    margin : (int, int)
        Their margin (at least half the impulse support on both axes).
    noise_power : float
    irf_azimuth, irf_range : ImpulseResponse

    Returns
    -------
    coherence : ndarray float32
        Speckle coherence times thermal-noise coherence (spectrally filtered).
    geometric : ndarray float32
        Spectral-shift coherence from the fringe frequencies.
    intensity : ndarray float32
        Expected signal intensity ``P`` of each image.
    """
    ha, hr = coherence_halo(irf_azimuth, irf_range)
    ma, mr = margin
    crop = (slice(ma - ha, beta.shape[0] - ma + ha), slice(mr - hr, beta.shape[1] - mr + hr))
    return expected_coherence_rows(beta[crop], gamma[crop],
                                   phase[ma - 1:phase.shape[0] - ma + 1,
                                         mr - 1:phase.shape[1] - mr + 1],
                                   noise_power, irf_azimuth, irf_range)


def coherence_halo(irf_azimuth: ImpulseResponse, irf_range: ImpulseResponse) -> tuple[int, int]:
    """Rows and columns of ``beta`` and ``gamma`` :func:`expected_coherence_rows` needs
    on each side of the pixels it gives."""
    return irf_azimuth.power_taps().size // 2, irf_range.power_taps().size // 2


def expected_coherence_rows(beta: np.ndarray, gamma: np.ndarray, phase: np.ndarray,
                            noise_power: float, irf_azimuth: ImpulseResponse,
                            irf_range: ImpulseResponse
                            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`expected_coherence` of a block of image pixels from the fields around it.

    Parameters
    ----------
    beta, gamma : ndarray (n + 2 ha, m + 2 hr)
        Extended-grid fields over the block with the halo of
        :func:`coherence_halo` on each side.
    phase : ndarray (n + 2, m + 2)
        The phase over the block with one pixel more on each side (central
        differences: the same values as on the whole grid).
    noise_power : float
    irf_azimuth, irf_range : ImpulseResponse

    Returns
    -------
    coherence, geometric, intensity : ndarray (n, m) float32
        As :func:`expected_coherence`.
    """
    pa, pr = irf_azimuth.power_taps(), irf_range.power_taps()
    b = beta.astype(np.float64)
    power = filter_separable(b, pa, pr, np.float64)
    weighted = filter_separable(b * gamma, pa, pr, np.float64)
    coherence = weighted / power / (1.0 + noise_power / power)
    f_rows, f_cols = fringe_frequency(phase)
    geometric = irf_azimuth.fringe_coherence(f_rows[1:-1, 1:-1]) \
        * irf_range.fringe_coherence(f_cols[1:-1, 1:-1])
    return (coherence.astype(np.float32), geometric.astype(np.float32),
            power.astype(np.float32))
