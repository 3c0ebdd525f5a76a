"""First pass of the streamed simulator: the geometry, block by block of rows.

The extended master grid (the image plus its margin) is walked in blocks of
lines. For each block the exact ground geometry
(:func:`.radar_grid.ground_geometry_block`), the radar brightness and the
coherence map are computed, the fields the image synthesis needs are written
to scratch files on the extended grid (:class:`Scratch`), and the truth
rasters of the block's image rows are written into their files; only the
block's arrays are held. The pass also gathers what needs the whole grid:
the offset ranges (they size the synthesis blocks), the mean brightness
(the noise power), the layover counts and the corner points.

Every value is a per-pixel function of the orbits, the terrain and the
patches, so the result does not depend on the block size.
"""

from __future__ import annotations

import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from peppers.geometry.dem import GridDem
from peppers.geometry.zero_doppler import look_sign
from peppers.image import ImageSpec, Region
from peppers.io.raw import RawImage
from peppers.operators.simulate import scatterers, truth
from peppers.operators.simulate.layover import truth_layover_shadow
from peppers.operators.simulate.radar_grid import ground_geometry_block

__all__ = ["Scratch", "GeometryStats", "geometry_pass", "SCRATCH_FIELDS"]

#: Extended-grid fields the synthesis reads back, with their dtypes.
SCRATCH_FIELDS = {"beta": "float32", "gamma": "float32", "row_offset": "float64",
                  "col_offset": "float64", "phase": "float64"}


class Scratch:
    """Extended-grid fields in flat files under ``folder`` (removed by :meth:`remove`)."""

    def __init__(self, folder: Path, shape: tuple[int, int]):
        self.folder = folder
        self.shape = shape
        folder.mkdir()
        self.images = {name: RawImage.create(folder / f"{name}.vrt",
                                             ImageSpec(shape, np.dtype(dtype), None))
                       for name, dtype in SCRATCH_FIELDS.items()}

    def write(self, name: str, row: int, array: np.ndarray) -> None:
        """Rows ``row ..`` of field ``name``."""
        truth.write_rows(self.images[name], row, array)

    def read(self, name: str, lo: int, hi: int, col_lo: int = 0,
             col_hi: int | None = None) -> np.ndarray:
        """Rows ``lo .. hi - 1`` (columns ``col_lo .. col_hi - 1``) of field ``name``."""
        col_hi = self.shape[1] if col_hi is None else col_hi
        return self.images[name].read(Region(lo, col_lo, hi - lo, col_hi - col_lo))

    def remove(self) -> None:
        for image in self.images.values():
            image.close()
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass
class GeometryStats:
    """What the geometry pass learnt about the whole grid."""

    row_offset: list[float] = field(default_factory=lambda: [math.inf, -math.inf])
    col_offset: list[float] = field(default_factory=lambda: [math.inf, -math.inf])
    los: list[float] = field(default_factory=lambda: [math.inf, -math.inf])
    beta_row_sums: list[float] = field(default_factory=list)
    folded: int = 0
    shadowed: int = 0
    layover_pixels: int = 0
    shadow_pixels: int = 0
    centre_llh: list[float] = field(default_factory=list)
    corner_xyz: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)

    def mean_beta(self, pixels: int) -> float:
        """Mean radar brightness over the image (exactly rounded sum)."""
        return math.fsum(self.beta_row_sums) / pixels


def _extend(bounds: list[float], values: np.ndarray) -> None:
    if values.size:
        bounds[0] = min(bounds[0], float(values.min()))
        bounds[1] = max(bounds[1], float(values.max()))


def geometry_pass(scratch: Scratch, rasters: dict[str, RawImage], *, cfg,
                  grid, master_orbit, slave_orbit, terrain, margin: tuple[int, int],
                  lag: float, patches: list[dict], flat_phase, displacement, reference,
                  orientation: float, threads: int, block_lines: int) -> GeometryStats:
    """Walk the extended grid in blocks of ``block_lines`` rows (module docstring).

    Parameters
    ----------
    scratch : Scratch
        Receives :data:`SCRATCH_FIELDS`.
    rasters : dict
        Open truth rasters; those named here are filled (geometry, heights,
        deformation, layover, reference-DEM error).
    flat_phase : RectBivariateSpline
        :func:`.radar_grid.ellipsoid_phase_spline`.
    displacement : callable or None
    reference : ReferenceDemTruth or None
    Others
        As in :func:`.pair.simulate`.

    Returns
    -------
    GeometryStats
    """
    ma, mr = margin
    lines, samples = cfg.lines, cfg.samples
    n_rows, n_cols = lines + 2 * ma, samples + 2 * mr
    start_height = float(np.mean(terrain.heights))
    sampler = terrain.sampler() if cfg.allow_layover else None
    error = None
    if reference is not None:
        error = GridDem(reference.error, terrain.lat0, terrain.lon0, terrain.dlat, terrain.dlon)
    stats = GeometryStats()
    cols_in = slice(mr, mr + samples)
    for lo in range(0, n_rows, block_lines):
        hi = min(lo + block_lines, n_rows)
        geo = ground_geometry_block(grid, master_orbit, grid, slave_orbit, lo, hi,
                                    look_side=cfg.look_side, wavelength_m=cfg.wavelength_m,
                                    terrain=terrain, margin=margin, along_lag_s=lag,
                                    threads=threads, orientation=orientation,
                                    start_height=start_height, displacement=displacement,
                                    allow_layover=cfg.allow_layover)
        beta = scatterers.backscatter(geo.cos_inc, geo.area_ratio)
        gamma = scatterers.coherence_rows(patches, lo, hi, (n_rows, n_cols), margin,
                                          background=cfg.coherence)
        for name, value in (("beta", beta), ("gamma", gamma), ("row_offset", geo.row_offset),
                            ("col_offset", geo.col_offset), ("phase", geo.phase)):
            scratch.write(name, lo, value)
        _extend(stats.row_offset, geo.row_offset)
        _extend(stats.col_offset, geo.col_offset)
        stats.folded += geo.folded
        stats.shadowed += geo.shadowed
        # the block's image rows
        i0, i1 = max(lo, ma) - ma, min(hi, ma + lines) - ma
        if i1 <= i0:
            continue
        own = slice(i0 + ma - lo, i1 + ma - lo)
        stats.beta_row_sums.extend(float(np.sum(row, dtype=np.float64))
                                   for row in beta[own, cols_in])
        phase = geo.phase[own, cols_in]
        llh = geo.llh[own, cols_in]
        xyz = geo.xyz[own, cols_in]
        arrays = {"phase_unflattened": phase,
                  "phase_flattened": phase - flat_phase(np.arange(i0, i1), np.arange(samples)),
                  "azimuth_offset": geo.row_offset[own, cols_in],
                  "range_offset": geo.col_offset[own, cols_in],
                  "height": llh[..., 2], "lat": llh[..., 0], "lon": llh[..., 1]}
        if geo.los_displacement is not None:
            los = geo.los_displacement[own, cols_in]
            _extend(stats.los, los)
            arrays["los_displacement"] = los
            arrays["phase_deformation"] = (-4.0 * np.pi / cfg.wavelength_m) * los
        if cfg.allow_layover:
            sat_pos, sat_vel = master_orbit.interpolate(grid.times(np.arange(i0, i1)))
            mask = truth_layover_shadow(sat_pos, sat_vel, look_sign(cfg.look_side),
                                        grid.ranges(np.arange(samples)), xyz, sampler,
                                        relief_pad_m=2.0 * cfg.relief_m)
            stats.layover_pixels += int(np.count_nonzero(mask == 1))
            stats.shadow_pixels += int(np.count_nonzero(mask == 2))
            arrays["layover_shadow"] = mask
        if error is not None:
            arrays["reference_dem_error"] = error(llh[..., 0], llh[..., 1])
        for name, value in arrays.items():
            truth.write_rows(rasters[name], i0, value)
        if i0 <= lines // 2 < i1:
            stats.centre_llh = [float(v) for v in llh[lines // 2 - i0, samples // 2]]
        for row in (0, lines - 1):
            if i0 <= row < i1:
                for col in (0, samples - 1):
                    stats.corner_xyz[(row, col)] = xyz[row - i0, col].copy()
    return stats
