"""Exact pixel geometry of the simulated pair on the master's radar grid.

For every pixel of the master grid, extended by a margin so that scatterers
just outside the image still spread their response into it (and into the
shifted slave image), this module computes

- the ground point on the DEM: the zero-Doppler-plane intersection of
  :mod:`._geometry_kernels` (``intersect_rows``), at the pixel's exact
  azimuth time and slant range on the master orbit;
- where that point appears in the slave image: :func:`geo2rdr` against the
  slave orbit (started at the master time minus the along-track lag), as row
  and column *offsets* ``slave - master``;
- the interferometric phase ``phi = 4 pi (r2 - r1) / lambda``, the phase of
  ``master * conj(slave)`` (both SLCs are baseband, the slave carries
  ``exp(-j phi)`` relative to the master);
- the local incidence angle and ground area per pixel (backscatter).

:func:`ellipsoid_phase` gives the same phase for the points of the grid on
the WGS84 ellipsoid (height 0): the flat-Earth phase a processor removes from
orbits alone.

The work is cut into blocks of lines run on a thread pool (all kernels
release the GIL); blocks are independent, so the result does not depend on
the number of threads. Orbits are :class:`peppers.geometry.orbit.Orbit`
objects built from the very state vectors written to the scene files
(``Scene.orbit()``), so a processor that reads the files sees the same
geometry as the truth.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import RectBivariateSpline

from peppers.errors import SimulationError
from peppers.geometry.orbit import Orbit
from peppers.geometry.zero_doppler import geo2rdr, look_sign
from peppers.operators.simulate import _geometry_kernels as _k
from peppers.operators.simulate.terrain import Terrain

__all__ = ["GridSpec", "GroundGeometry", "ground_geometry", "ground_geometry_block",
           "surface_orientation", "refuse_layover", "ellipsoid_phase", "ellipsoid_phase_spline",
           "run_blocks", "parallel_map"]

#: Lines per block of work handed to a thread.
BLOCK_LINES = 128


@dataclass(frozen=True)
class GridSpec:
    """A zero-Doppler pixel grid on an orbit's clock.

    Parameters
    ----------
    lines, samples : int
        Size.
    t0_s : float
        Azimuth time of row 0, seconds since the orbit epoch.
    line_interval_s : float
    r0_m : float
        Slant range of column 0.
    sample_spacing_m : float
    """

    lines: int
    samples: int
    t0_s: float
    line_interval_s: float
    r0_m: float
    sample_spacing_m: float

    def times(self, rows) -> np.ndarray:
        """Azimuth times of (fractional) rows."""
        return self.t0_s + np.asarray(rows, dtype=np.float64) * self.line_interval_s

    def ranges(self, cols) -> np.ndarray:
        """Slant ranges of (fractional) columns."""
        return self.r0_m + np.asarray(cols, dtype=np.float64) * self.sample_spacing_m


@dataclass
class GroundGeometry:
    """Per-pixel fields on the extended master grid.

    Pixel ``(i, j)`` of every array is master pixel ``(i - margin[0],
    j - margin[1])``.

    Attributes
    ----------
    margin : (int, int)
        Extra lines and samples on each side.
    xyz : ndarray (R, C, 3) float64
        ECEF ground points.
    llh : ndarray (R, C, 3) float64
        Latitude, longitude (degrees), ellipsoidal height (m).
    row_offset, col_offset : ndarray (R, C) float64
        Slave position minus master position, pixels.
    phase : ndarray (R, C) float64
        ``4 pi (r2 - r1) / lambda``, radians (unwrapped).
    cos_inc, area_ratio : ndarray (R, C) float32
        Local incidence cosine, pixel ground area over slant-plane area.
    los_displacement : ndarray (R, C) float64 or None
        With deformation: the slave range of the undisplaced point minus
        that of the displaced one, ``r2 - r2'`` (positive towards the slave
        antenna), metres.
    folded, shadowed : int
        Pixels counted as folded (layover) and shadowed by the surface test.
    """

    margin: tuple[int, int]
    xyz: np.ndarray
    llh: np.ndarray
    row_offset: np.ndarray
    col_offset: np.ndarray
    phase: np.ndarray
    cos_inc: np.ndarray
    area_ratio: np.ndarray
    los_displacement: np.ndarray | None = None
    folded: int = 0
    shadowed: int = 0

    def interior(self, name: str) -> np.ndarray:
        """The field ``name`` cropped to the master image."""
        ma, mr = self.margin
        field = getattr(self, name)
        return field[ma:field.shape[0] - ma, mr:field.shape[1] - mr]


def parallel_map(function, items, threads: int) -> list:
    """``[function(x) for x in items]`` on a pool of ``threads`` threads, in order."""
    items = list(items)
    if threads <= 1 or len(items) <= 1:
        return [function(x) for x in items]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(function, items))


def run_blocks(n_rows: int, threads: int, work) -> list:
    """Call ``work(lo, hi)`` on blocks of rows in a thread pool.

    Blocks of ``BLOCK_LINES`` rows, fewer when that leaves a thread idle.
    Returns the results in block order (the work is per row: the values do
    not depend on ``threads``).
    """
    step = max(1, min(BLOCK_LINES, -(-n_rows // max(threads, 1))))
    bounds = [(lo, min(lo + step, n_rows)) for lo in range(0, n_rows, step)]
    return parallel_map(lambda b: work(*b), bounds, threads)


def _intersect(grid: GridSpec, orbit: Orbit, look_side: str, rows: np.ndarray,
               cols: np.ndarray, terrain: Terrain | None, height: float,
               threads: int, retry: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Ground points of the pixels ``rows x cols`` (fractional allowed).

    With ``retry`` (folded terrain, where the look-angle residual is not
    monotonic), pixels the kernel cannot solve are solved again by
    :func:`peppers.geometry.zero_doppler.rdr2geo` on the DEM (height
    iteration with bracketing, which finds one of the roots).
    """
    sat_pos, sat_vel = orbit.interpolate(grid.times(rows))
    ranges = grid.ranges(cols)
    side = look_sign(look_side)
    shape = (rows.size, cols.size)
    xyz, llh = np.empty(shape + (3,)), np.empty(shape + (3,))
    status = np.empty(shape, dtype=np.int8)
    if terrain is not None:
        dem, geo = terrain.heights, (terrain.lat0, terrain.lon0, terrain.dlat, terrain.dlon)
    else:
        dem, geo = np.zeros((2, 2)), (0.0, 0.0, 1.0, 1.0)

    def work(lo: int, hi: int) -> None:
        _k.intersect_rows(sat_pos[lo:hi], sat_vel[lo:hi], ranges, side, dem, *geo,
                          terrain is not None, float(height), 1e-4,
                          xyz[lo:hi], llh[lo:hi], status[lo:hi])

    run_blocks(rows.size, threads, work)
    bad = np.argwhere(status != _k.OK)
    if bad.size and retry and terrain is not None:
        from peppers.geometry.zero_doppler import rdr2geo

        t = grid.times(rows[bad[:, 0]])
        again_xyz, again_llh = rdr2geo(t, ranges[bad[:, 1]], orbit, look_side,
                                       terrain.sampler(), dem_max_iter=400, on_failure="nan")
        xyz[bad[:, 0], bad[:, 1]] = again_xyz
        llh[bad[:, 0], bad[:, 1]] = again_llh
        solved = np.all(np.isfinite(again_xyz), axis=-1)
        status[bad[solved, 0], bad[solved, 1]] = _k.OK
        bad = np.argwhere(status != _k.OK)
    if bad.size:
        i, j = bad[0]
        why = "is off the DEM" if status[i, j] == _k.OFF_DEM else "did not converge"
        raise SimulationError(
            f"simulate: the ground point of grid pixel (row {rows[i]:g}, col {cols[j]:g}) {why} "
            f"({len(bad)} pixels); enlarge the DEM margin or reduce the relief")
    return xyz, llh


def _slave_position(xyz: np.ndarray, slave: Orbit, slave_grid: GridSpec, t_guess: np.ndarray,
                    threads: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Slave (row, col, range) of ground points ``xyz`` of shape (R, C, 3)."""
    n_rows = xyz.shape[0]
    row, col, rng = (np.empty(xyz.shape[:2]) for _ in range(3))

    def work(lo: int, hi: int) -> None:
        t2, r2 = geo2rdr(xyz[lo:hi], slave, t_guess=t_guess[lo:hi, None])
        row[lo:hi] = (t2 - slave_grid.t0_s) / slave_grid.line_interval_s
        col[lo:hi] = (r2 - slave_grid.r0_m) / slave_grid.sample_spacing_m
        rng[lo:hi] = r2

    run_blocks(n_rows, threads, work)
    return row, col, rng


def ground_geometry(master_grid: GridSpec, master: Orbit, slave_grid: GridSpec, slave: Orbit,
                    *, look_side: str, wavelength_m: float, terrain: Terrain,
                    margin: tuple[int, int], along_lag_s: float,
                    threads: int, displacement=None,
                    allow_layover: bool = False) -> GroundGeometry:
    """All per-pixel fields of the whole extended master grid (module docstring).

    Parameters
    ----------
    master_grid, slave_grid : GridSpec
        The two images' grids, on their orbits' clocks.
    master, slave : Orbit
    look_side : {"right", "left"}
    wavelength_m : float
    terrain : Terrain
    margin : (int, int)
        Extra lines and samples computed on each side of the image.
    along_lag_s : float
        Expected slave-minus-master zero-Doppler time (starting guess).
    threads : int
    displacement : callable, optional
        ``displacement(xyz) -> dxyz``: ECEF displacement of ground points
        between the passes. The slave geometry (offsets, phase) is that of
        the displaced points, exactly at every pixel centre.
    allow_layover : bool
        Do not refuse folded or shadowed pixels (they are counted).

    Returns
    -------
    GroundGeometry

    Raises
    ------
    SimulationError
        If a pixel's ground point is off the DEM, or (without
        ``allow_layover``) the terrain folds (layover) or hides (shadow) any
        pixel.
    """
    kw = dict(look_side=look_side, terrain=terrain, margin=margin, threads=threads)
    geometry = ground_geometry_block(
        master_grid, master, slave_grid, slave, 0, master_grid.lines + 2 * margin[0],
        wavelength_m=wavelength_m, along_lag_s=along_lag_s,
        orientation=surface_orientation(master_grid, master, **kw),
        start_height=float(np.mean(terrain.heights)), displacement=displacement,
        allow_layover=allow_layover, **kw)
    refuse_layover(geometry.folded, geometry.shadowed, allow_layover)
    return geometry


def refuse_layover(folded: int, shadowed: int, allow_layover: bool) -> None:
    """Raise if the terrain folds or hides pixels and that is not allowed."""
    if (folded or shadowed) and not allow_layover:
        raise SimulationError(
            f"simulate: the terrain folds {folded} pixels (layover) and hides {shadowed} "
            "(shadow); reduce relief_m or slope_margin")


def surface_orientation(master_grid: GridSpec, master: Orbit, *, look_side: str,
                        terrain: Terrain, margin: tuple[int, int], threads: int = 1) -> float:
    """The sign of ``(d/drow x d/dcol) . up`` at the centre of the extended grid.

    +1 or -1 (set by the pass direction and the look side): the orientation
    unfolded terrain has, against which :func:`ground_geometry_block` counts
    folded pixels.
    """
    ma, mr = margin
    n_rows, n_cols = master_grid.lines + 2 * ma, master_grid.samples + 2 * mr
    rows = np.array([n_rows // 2, n_rows // 2 + 1], dtype=np.float64) - ma
    cols = np.array([n_cols // 2, n_cols // 2 + 1], dtype=np.float64) - mr
    xyz, _ = _intersect(master_grid, master, look_side, rows, cols, terrain,
                        float(np.mean(terrain.heights)), threads)
    centre = xyz[0, 0]
    d_row, d_col = xyz[1, 0] - centre, xyz[0, 1] - centre
    return float(np.sign(np.dot(np.cross(d_row, d_col), centre)))


def ground_geometry_block(master_grid: GridSpec, master: Orbit, slave_grid: GridSpec,
                          slave: Orbit, lo: int, hi: int, *, look_side: str,
                          wavelength_m: float, terrain: Terrain, margin: tuple[int, int],
                          along_lag_s: float, threads: int, orientation: float,
                          start_height: float, displacement=None,
                          allow_layover: bool = False) -> GroundGeometry:
    """The fields of rows ``lo .. hi - 1`` of the extended master grid.

    Every field is a per-pixel function of the orbits and the terrain (the
    local incidence also of the neighbouring rows, computed here), so the
    rows of any blocking are those of the whole grid bit for bit. Folded
    and shadowed pixels are counted, not refused (:func:`refuse_layover`).

    Parameters
    ----------
    lo, hi : int
        Extended-grid rows (row ``i`` is image row ``i - margin[0]``).
    orientation : float
        :func:`surface_orientation`.
    start_height : float
        First height of the DEM intersection (the DEM's mean).
    Others
        As :func:`ground_geometry`.

    Returns
    -------
    GroundGeometry
        Arrays of ``hi - lo`` rows; ``margin`` is the grid's.
    """
    ma, mr = margin
    a, b = max(lo - 1, 0), min(hi + 1, master_grid.lines + 2 * ma)
    rows = np.arange(a, b, dtype=np.float64) - ma        # with neighbour rows
    cols = np.arange(-mr, master_grid.samples + mr, dtype=np.float64)
    slab, llh = _intersect(master_grid, master, look_side, rows, cols, terrain,
                           start_height, threads, retry=allow_layover)
    inner = slice(lo - a, hi - a)
    xyz, llh, own_rows = slab[inner], llh[inner], rows[inner]
    t1 = master_grid.times(own_rows)
    moved = xyz if displacement is None else xyz + displacement(xyz)
    srow, scol, r2 = _slave_position(moved, slave, slave_grid, t1 + along_lag_s, threads)
    los = None
    if displacement is not None:
        still = _slave_position(xyz, slave, slave_grid, t1 + along_lag_s, threads)[2]
        los = still - r2
    r1 = master_grid.ranges(cols)[None, :]
    phase = (4.0 * np.pi / wavelength_m) * (r2 - r1)
    srow -= own_rows[:, None]
    scol -= cols[None, :]
    cos_inc = np.empty(xyz.shape[:2], dtype=np.float32)
    area = np.empty(xyz.shape[:2], dtype=np.float32)
    sat_pos, _ = master.interpolate(master_grid.times(rows))

    def fields(p_lo: int, p_hi: int) -> tuple[int, int]:
        s_lo, s_hi = p_lo + lo - a, p_hi + lo - a           # rows of the slab
        c, d = max(s_lo - 1, 0), min(s_hi + 1, slab.shape[0])  # neighbours for differences
        inc, ratio = (np.empty((d - c, slab.shape[1]), dtype=np.float32) for _ in range(2))
        counts = _k.surface_fields(slab[c:d], sat_pos[c:d], orientation,
                                   master_grid.sample_spacing_m, inc, ratio, s_lo - c, s_hi - c)
        cos_inc[p_lo:p_hi], area[p_lo:p_hi] = inc[s_lo - c:s_hi - c], ratio[s_lo - c:s_hi - c]
        return counts

    counts = np.array(run_blocks(hi - lo, threads, fields)).reshape(-1, 2)
    folded, shadowed = (int(v) for v in counts.sum(axis=0))
    return GroundGeometry((ma, mr), xyz, llh, srow, scol, phase, cos_inc, area, los,
                          folded, shadowed)


def ellipsoid_phase(master_grid: GridSpec, master: Orbit, slave_grid: GridSpec, slave: Orbit,
                    *, look_side: str, wavelength_m: float, along_lag_s: float,
                    threads: int, step: int = 8) -> np.ndarray:
    """Interferometric phase of the master grid's points on the ellipsoid (h = 0).

    The flat-Earth phase is smooth on the scale of many pixels, so it is
    computed exactly on every ``step``-th line and sample (and the last ones)
    and interpolated by bicubic splines; with ``step = 8`` it agrees with the
    every-pixel computation within 1e-5 rad, the latter's own tolerance
    (1e-4 m in height).

    Returns
    -------
    ndarray of shape (lines, samples), float64
        ``4 pi (r2 - r1) / lambda`` for the point of each pixel at height 0.
    """
    spline = ellipsoid_phase_spline(master_grid, master, slave_grid, slave,
                                    look_side=look_side, wavelength_m=wavelength_m,
                                    along_lag_s=along_lag_s, threads=threads, step=step)
    return spline(np.arange(master_grid.lines), np.arange(master_grid.samples))


def ellipsoid_phase_spline(master_grid: GridSpec, master: Orbit, slave_grid: GridSpec,
                           slave: Orbit, *, look_side: str, wavelength_m: float,
                           along_lag_s: float, threads: int,
                           step: int = 8) -> RectBivariateSpline:
    """The spline of :func:`ellipsoid_phase`: ``spline(rows, cols)`` for any block of rows.

    A spline value at a pixel does not depend on the other pixels asked for,
    so row blocks of it equal the whole-grid evaluation bit for bit.
    """
    def nodes(n: int) -> np.ndarray:
        return np.unique(np.append(np.arange(0, n, step), n - 1)).astype(np.float64)

    rows, cols = nodes(master_grid.lines), nodes(master_grid.samples)
    xyz, _ = _intersect(master_grid, master, look_side, rows, cols, None, 0.0, threads)
    _, _, r2 = _slave_position(xyz, slave, slave_grid, master_grid.times(rows) + along_lag_s,
                               threads)
    coarse = (4.0 * np.pi / wavelength_m) * (r2 - master_grid.ranges(cols)[None, :])
    return RectBivariateSpline(rows, cols, coarse, kx=min(3, rows.size - 1),
                               ky=min(3, cols.size - 1))
