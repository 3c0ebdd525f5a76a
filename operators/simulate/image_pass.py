"""Second pass of the streamed simulator: the two SLCs, block by block of rows.

The scatterers of the extended grid are cut into *synthesis blocks* of rows,
each with its own random stream (kernel ``synthesize_block``). A block's
responses reach the image rows of its scatterers, shifted by the slave
offsets, plus half the impulse response; blocks are at least twice that
reach tall, so a pixel receives the responses of at most two adjacent blocks,
one even and one odd. The blocks run in *waves*: a wave runs its even blocks
(in parallel: their footprints are disjoint), then its odd blocks, so every
pixel sums the even block's responses first, then the odd one's, whatever
the wave size: the images do not depend on how many rows are held.

The images live in a row buffer of the padded image. After each wave, the
rows no later block can reach are complete: their thermal noise is added
(:func:`.scatterers.thermal_noise_rows`), their expected coherence and
intensity computed from the scratch fields (:func:`.scatterers.expected_coherence_rows`),
and all are written to the files; the buffer then drops them. Memory is the
buffer, the wave's fields and the flushed block: independent of the image
length.
"""

from __future__ import annotations

import math

import numpy as np

from peppers.io.raw import RawImage
from peppers.operators.simulate import _synthesis_kernels as _k
from peppers.operators.simulate import scatterers, truth
from peppers.operators.simulate.geometry_pass import GeometryStats, Scratch
from peppers.operators.simulate.irf import TABLE_RATE, ImpulseResponse
from peppers.operators.simulate.radar_grid import parallel_map

__all__ = ["synthesis_blocks", "image_pass"]

#: Tags of the thermal-noise streams of the master and the slave image.
NOISE_TAG = 0x401CE


def synthesis_blocks(n_rows: int, support: int, spread: float) -> list[tuple[int, int]]:
    """Row blocks of the extended grid, each with its own scatterer stream.

    ``spread`` is the peak-to-peak azimuth offset: a block is at least twice
    the rows its responses can reach beyond it, so only adjacent blocks
    share pixels.
    """
    block = max(64, 2 * (support + 4 + int(math.ceil(spread))))
    return [(lo, min(lo + block, n_rows)) for lo in range(0, n_rows, block)]


def _waves(count: int, pairs: int) -> list[tuple[list[int], list[int]]]:
    """(even blocks, odd blocks) of each wave: even ``2wP + 2 .. 2wP + 2P`` (and 0), odd between."""
    waves, w = [], 0
    while True:
        base = 2 * w * pairs
        evens = [b for b in range(base + 2, base + 2 * pairs + 1, 2) if b < count]
        if w == 0:
            evens.insert(0, 0)
        odds = [b for b in range(base + 1, base + 2 * pairs, 2) if b < count]
        if not evens and not odds:
            return waves
        waves.append((evens, odds))
        w += 1


def image_pass(scratch: Scratch, rasters: dict[str, RawImage], master: RawImage,
               slave: RawImage, *, cfg, margin: tuple[int, int], stats: GeometryStats,
               irf: ImpulseResponse, noise_power: float, threads: int,
               block_lines: int) -> None:
    """Synthesise, add noise to and write both SLCs, and the coherence truth (module docstring).

    Parameters
    ----------
    scratch : Scratch
        The geometry pass's extended-grid fields.
    rasters : dict
        Open truth rasters; ``coherence``, ``coherence_unfiltered`` and
        ``intensity`` are filled.
    master, slave : RawImage
        The SLC files (complex64, image shape), filled.
    cfg : SimulationConfig
    margin : (int, int)
    stats : GeometryStats
        From the geometry pass (offset ranges).
    irf : ImpulseResponse
    noise_power : float
    threads : int
    block_lines : int
        About the scatterer rows of one wave (at least two blocks per
        thread), and the rows of each block written.
    """
    ma, mr = margin
    lines, samples = cfg.lines, cfg.samples
    n_rows, n_cols = scratch.shape
    support = irf.support
    half, pad = support // 2, support
    low_off, high_off = stats.row_offset
    spread = high_off - low_off if math.isfinite(low_off) else 0.0
    blocks = synthesis_blocks(n_rows, support, spread)
    seeds = np.random.SeedSequence([cfg.seed, 0x5CA7]).generate_state(len(blocks))
    reach_up = half + int(math.ceil(max(0.0, -low_off))) + 2
    reach_down = half + int(math.ceil(max(0.0, high_off))) + 2

    def first_row(block: int) -> int:
        """The lowest image row block ``block`` (and any later one) can touch."""
        return max(blocks[block][0] - ma - reach_up, -pad)

    width = samples + 2 * pad
    buffers = [np.zeros((0, width), dtype=np.complex64) for _ in range(2)]
    buffer_row = -pad
    flush = _Flusher(scratch, rasters, (master, slave), cfg=cfg, margin=margin, irf=irf,
                     noise_power=noise_power, threads=threads)
    # at least one even block per thread in a wave; memory: 2 x pairs blocks of fields
    pairs = max(threads, int(round(block_lines / (2 * (blocks[0][1] - blocks[0][0])))))
    waves = _waves(len(blocks), pairs)
    for index, (evens, odds) in enumerate(waves):
        members = evens + odds
        s_lo, s_hi = blocks[min(members)][0], blocks[max(members)][1]
        f_lo, f_hi = max(s_lo - 1, 0), min(s_hi + 1, n_rows)
        fields = [scratch.read(name, f_lo, f_hi)
                  for name in ("beta", "gamma", "row_offset", "col_offset", "phase")]
        reach = min(s_hi - ma + reach_down, lines + pad)
        grow = reach - (buffer_row + buffers[0].shape[0])
        if grow > 0:
            buffers = [np.concatenate([b, np.zeros((grow, width), dtype=np.complex64)])
                       for b in buffers]

        def work(block: int) -> None:
            lo, hi = blocks[block]
            _k.synthesize_block(int(seeds[block]), lo, hi, cfg.scatterers_per_axis,
                                float(cfg.jitter), *fields, f_lo, ma, mr, irf.table,
                                irf.table, TABLE_RATE, support, pad, lines, buffer_row,
                                buffers[0], buffers[1])

        for group in (evens, odds):
            parallel_map(work, group, threads)
        done = first_row(max(members) + 1) if index + 1 < len(waves) else lines + pad
        keep = done - buffer_row
        out_lo, out_hi = max(buffer_row, 0), min(done, lines)
        for lo in range(out_lo, out_hi, block_lines):      # written in blocks of rows
            hi = min(lo + block_lines, out_hi)
            flush(lo, hi, [b[lo - buffer_row:hi - buffer_row, pad:pad + samples]
                           for b in buffers])
        buffers = [np.ascontiguousarray(b[keep:]) for b in buffers]
        buffer_row = done


class _Flusher:
    """Adds noise to finished image rows, writes them and their coherence truth."""

    def __init__(self, scratch: Scratch, rasters: dict[str, RawImage], images, *, cfg,
                 margin: tuple[int, int], irf: ImpulseResponse, noise_power: float,
                 threads: int):
        self.scratch, self.rasters, self.images = scratch, rasters, images
        self.cfg, self.margin, self.irf = cfg, margin, irf
        self.noise_power, self.threads = noise_power, threads

    def __call__(self, lo: int, hi: int, signals: list[np.ndarray]) -> None:
        cfg, irf, (ma, mr) = self.cfg, self.irf, self.margin
        ha, hr = scatterers.coherence_halo(irf, irf)
        n_cols = self.scratch.shape[1]

        def noise(which: int) -> np.ndarray:
            return scatterers.thermal_noise_rows(lo, hi, cfg.samples, self.noise_power, irf, irf,
                                                 (cfg.seed, NOISE_TAG, which))

        def coherence():
            beta, gamma = (self.scratch.read(name, lo + ma - ha, hi + ma + ha, mr - hr,
                                             n_cols - mr + hr) for name in ("beta", "gamma"))
            phase = self.scratch.read("phase", lo + ma - 1, hi + ma + 1, mr - 1, n_cols - mr + 1)
            return scatterers.expected_coherence_rows(beta, gamma, phase, self.noise_power,
                                                      irf, irf)

        tasks = [lambda: noise(0), lambda: noise(1), coherence]
        noise_m, noise_s, (coh, geometric, intensity) = parallel_map(lambda t: t(), tasks,
                                                                     self.threads)
        for image, signal, added in zip(self.images, signals, (noise_m, noise_s)):
            truth.write_rows(image, lo, signal + added)
        truth.write_rows(self.rasters["coherence"], lo, coh)
        truth.write_rows(self.rasters["coherence_unfiltered"], lo, coh * geometric)
        truth.write_rows(self.rasters["intensity"], lo, intensity)
