"""Absolute phase: fix the unknown 2 pi k of each unwrapped component.

Design
------
An unwrapped phase is known only up to one multiple of 2 pi per connected
component (the unwrapper integrates gradients from an arbitrary seed).
Phase-to-height needs the absolute flattened phase ``phi = 4 pi (r2 - r2_ref)
/ lambda`` (``operators/height.py``), so the constant is fixed from points of
known position:

``gcps``
    Ground control points (``inputs.gcps.points``). For each the exact
    flattened phase is *predicted* from the orbits (``geo2rdr`` on both
    orbits gives ``4 pi (r2 - r1) / lambda``; the flat earth of its pixel is
    subtracted, exactly as the interferogram did) and compared with the
    unwrapped phase sampled there (bilinear, the four neighbours in one
    component). The differences of one component scatter around ``2 pi k``:
    a robust estimate (median, then the mean of the points within
    ``max(3 x 1.4826 MAD, 1 rad)``, iterated) rounded to whole cycles --
    the phase is known modulo 2 pi exactly, the points only pick the cycle.
    With ``refine_baseline`` a plane ``a row + b col`` (the first-order
    phase of a baseline error) is fitted jointly with the per-component
    constants by the same rejection loop, and the constants are not rounded.
``dem``
    Components without GCPs, when the run has a reference DEM: pixels of the
    component (an even subset) are intersected with the DEM (``rdr2geo`` on a
    :class:`~peppers.geometry.dem.GridDem`), and those points serve as GCPs.
``relative``
    Without either, every constant is zero, and the run says plainly that
    heights are relative to the reference surface: HKV
    ``insar.absolute_phase.relative: true`` and ``method: relative``, a
    warning in the log, and the tag ``HEIGHTS=relative`` on the products.
    With references, components none of them reaches are dropped (NaN).

Quality gates. Rounding to whole cycles is right only if the phase is known
modulo 2 pi exactly. Each referenced component is checked (``residual`` =
reference minus the fitted constant and plane, per point):

* *misclosure*: the constant is further than ``max_misclosure`` cycles from
  a whole number of cycles (not with ``refine_baseline``, whose constants
  are not rounded);
* *scatter*: the RMS residual of the points used exceeds ``max_residual``
  cycles;
* *blunder*: more than half of the component's points were rejected or
  disagree by more than half a cycle, i.e. by more than half the height of
  ambiguity (an unwrapping error inside the component, or references that
  do not belong to it);
* *DEM check*: when the run has a reference DEM, the components referenced
  by GCPs are also compared with DEM points of theirs: more than half of
  them off by more than half a cycle flags the component (the GCPs picked
  the wrong cycle).

A component failing a gate is dropped (NaN in the product, listed in
``quality.flagged_components``). When failing components hold half or more of
the referenced pixels, the product cannot be called absolute: with
``on_failure="relative"`` (the default) the result says ``method:
relative``, ``relative: true`` (the products are tagged
``HEIGHTS=relative``) and ``refused`` says why and what to do; the best
estimate of the constants is kept. ``on_failure="fail"`` stops the rule with
that message instead. ``quality`` sums the product up: fraction of pixels
unwrapped and referenced, components, per-component statistics and the GCP
residuals; ``pep report`` shows it (:mod:`peppers.report.quality`).

:class:`AbsolutePhaseEstimate` (a reduction) stores the result under
``insar.absolute_phase``; :class:`AbsolutePhase` (local) applies it.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, ClassVar, Mapping

import numpy as np

from peppers.errors import OperatorError
from peppers.image import ImageSource, ImageSpec, Region
from peppers.operator import LocalOperator, Param, ReductionOperator
from peppers.operators.flat_earth import ORBIT_NODES
from peppers.operators.height import multilook_centres, radar_looks

__all__ = ["AbsolutePhaseEstimate", "AbsolutePhase", "predicted_phase", "sample_component",
           "robust_mean", "read_dem"]

log = logging.getLogger("peppers.absolute_phase")
TWO_PI = 2.0 * math.pi


def predicted_phase(llh: np.ndarray, master: Any, slave: Any, looks: tuple[int, int],
                    reference_height_m: float = 0.0,
                    nodes: int = 4) -> tuple[np.ndarray, ...]:
    """Multilooked pixel and exact flattened phase of ground points.

    Parameters
    ----------
    llh : ndarray (n, 3)
        Latitude, longitude (degrees), ellipsoidal height (m).
    master, slave : Scene
    looks : tuple of int
        Looks of the multilooked grid.
    reference_height_m : float
        Flat-earth reference height of the interferogram.
    nodes : int
        Orbit interpolation nodes (``insar.geometry.orbit_nodes``); the
        geometry is each scene's own (``scene_geo2rdr``: time offset, Doppler).

    Returns
    -------
    rows, cols : ndarray
        Fractional multilooked pixel coordinates (NaN where geometry failed).
    phase : ndarray
        ``4 pi (r2 - r1) / lambda`` minus the flat-earth phase of that pixel.

    References
    ----------
    R. Bamler, P. Hartl (1998), Inverse Problems 14:R1-R54, eq. 13.
    """
    from peppers.geometry.ellipsoid import llh_to_ecef
    from peppers.geometry.scene_geometry import scene_geo2rdr, scene_rdr2geo

    llh = np.asarray(llh, dtype=np.float64).reshape(-1, 3)
    xyz = llh_to_ecef(llh[:, 0], llh[:, 1], llh[:, 2])
    m_orbit, s_orbit = master.orbit(nodes), slave.orbit(nodes)
    t1, r1 = scene_geo2rdr(master, xyz, orbit=m_orbit, on_failure="nan")
    _, r2 = scene_geo2rdr(slave, xyz, orbit=s_orbit, on_failure="nan")
    ok = np.isfinite(t1) & np.isfinite(r2)
    flat = np.full(len(llh), np.nan)
    if ok.any():
        ref, _ = scene_rdr2geo(master, t1[ok], r1[ok], reference_height_m, orbit=m_orbit,
                               on_failure="nan")
        _, r2_ref = scene_geo2rdr(slave, ref, orbit=s_orbit, on_failure="nan")
        flat[ok] = r2_ref - r1[ok]
    phase = 4.0 * math.pi / master.wavelength_m * ((r2 - r1) - flat)
    row = t1 / master.line_interval_s
    col = (r1 - master.first_sample_m) / master.sample_spacing_m
    la, lr = looks
    return (row - (la - 1) / 2.0) / la, (col - (lr - 1) / 2.0) / lr, phase


def sample_component(phase: np.ndarray, components: np.ndarray, rows: np.ndarray,
                     cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bilinear phase at fractional pixels whose four neighbours share a component.

    Returns
    -------
    values : ndarray
        NaN where a neighbour is outside, NaN, or in another component.
    component : ndarray of int
        The component, 0 where ``values`` is NaN.
    """
    rows = np.asarray(rows, dtype=np.float64)
    cols = np.asarray(cols, dtype=np.float64)
    values = np.full(rows.shape, np.nan)
    comp = np.zeros(rows.shape, dtype=np.int64)
    h, w = phase.shape
    ok = np.isfinite(rows) & np.isfinite(cols)
    ok &= (rows >= 0) & (rows <= h - 1) & (cols >= 0) & (cols <= w - 1)
    for k in np.flatnonzero(ok):
        r0 = min(int(rows[k]), h - 2) if h > 1 else 0
        c0 = min(int(cols[k]), w - 2) if w > 1 else 0
        block = phase[r0:r0 + 2, c0:c0 + 2]
        labels = components[r0:r0 + 2, c0:c0 + 2]
        if not np.all(np.isfinite(block)) or labels.min() <= 0 or labels.min() != labels.max():
            continue
        fr, fc = rows[k] - r0, cols[k] - c0
        weights = np.array([[(1 - fr) * (1 - fc), (1 - fr) * fc], [fr * (1 - fc), fr * fc]])
        weights = weights[:block.shape[0], :block.shape[1]]
        values[k] = float((weights * block).sum() / weights.sum())
        comp[k] = int(labels[0, 0])
    return values, comp


def robust_mean(values: np.ndarray, k: float = 3.0, floor: float = 1.0,
                max_rounds: int = 10) -> tuple[float, np.ndarray]:
    """Mean of the inliers: within ``max(k 1.4826 MAD, floor)`` of the centre, iterated.

    Returns
    -------
    mean : float
    inliers : ndarray of bool

    References
    ----------
    P. J. Huber, E. M. Ronchetti, *Robust Statistics*, 2nd ed., Wiley 2009,
    sec. 5.1 (MAD scale, 1.4826 for Gaussian consistency).
    """
    values = np.asarray(values, dtype=np.float64)
    centre = float(np.median(values))
    inliers = np.ones(values.shape, dtype=bool)
    for _ in range(max_rounds):
        mad = 1.4826 * float(np.median(np.abs(values[inliers] - centre)))
        new = np.abs(values - centre) <= max(k * mad, floor)
        if not new.any():
            break
        centre = float(values[new].mean())
        if np.array_equal(new, inliers):
            break
        inliers = new
    return centre, inliers


def read_dem(path: Path) -> Any:
    """The reference DEM as a :class:`~peppers.geometry.dem.GridDem` (any CRS in).

    A DEM in another CRS is warped (bilinear) onto a geographic WGS84 grid
    of about its own posting.
    """
    import rasterio
    from rasterio.crs import CRS
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    from peppers.geometry.dem import GridDem

    with rasterio.open(path) as ds:
        heights = ds.read(1, masked=True).astype(np.float64).filled(np.nan)
        crs, transform = ds.crs, ds.transform
    wgs84 = CRS.from_epsg(4326)
    if crs is not None and crs != wgs84 and crs.to_epsg() != 4979:  # 4979: 3-D WGS 84
        dst_transform, width, height = calculate_default_transform(
            crs, wgs84, heights.shape[1], heights.shape[0],
            *rasterio.transform.array_bounds(heights.shape[0], heights.shape[1], transform))
        warped = np.full((height, width), np.nan)
        reproject(heights, warped, src_transform=transform, src_crs=crs,
                  dst_transform=dst_transform, dst_crs=wgs84, src_nodata=np.nan,
                  dst_nodata=np.nan, resampling=Resampling.bilinear)
        heights, transform = warped, dst_transform
    return GridDem.from_gdal_geotransform(heights, transform.to_gdal())


class AbsolutePhaseEstimate(ReductionOperator):
    """Per-component 2 pi k of the unwrapped phase from GCPs, else the DEM.

    Parameters
    ----------
    run_inputs : dict
        The run's ``inputs`` subtree (scenes, optional ``gcps`` and
        ``reference_dem``).
    looks, reference_height_m
        As in :class:`~peppers.operators.height.PhaseToHeight`.
    use_gcps : bool
        Use the GCPs when the run has them (``insar.height.use_gcps``).
    refine_baseline : bool
        Also fit a phase plane (``insar.height.refine_baseline``).
    dem_points : int
        Pixels per component intersected with the DEM.

    Returns (``reduce``)
    --------------------
    dict
        ``method`` (gcps, dem, gcps+dem, relative), ``relative``,
        ``component_ids``, ``offsets_rad``, ``sources``, ``ramp_rad_per_pixel``
        ``[a_row, a_col]``, ``fill_height_m``, and per-method statistics
        (``gcps: {given, inside, used, rejected, rms_rad}``,
        ``misclosure_rad``: largest distance of a component's estimate from
        whole cycles), ``quality`` (see the module docstring) and, when the
        gates refuse absolute heights, ``refused`` (the reason).
    max_misclosure, max_residual : float
        Gates, cycles (defaults 0.15 and 0.15: 0.94 rad, i.e. heights within 0.15 of the height of ambiguity at the references).
    on_failure : {"relative", "fail"}
        What a refusal does: tag the heights relative, or stop the rule.
    """

    name: ClassVar[str] = "absolute_phase_estimate"
    inputs: ClassVar[tuple[str, ...]] = ("unwrapped", "components")
    outputs: ClassVar[tuple[str, ...]] = ("result",)
    params = (Param("run_inputs", dict, {}, "the run's inputs subtree (HKV inputs)"),
              Param("looks", tuple, (5, 5), "multilook looks", key="insar.multilook.looks", ge=1),
              Param("reference_height_m", float, 0.0, "flat-earth reference height, m",
                    key="insar.interferogram.reference_height_m"),
              Param("use_gcps", bool, True, "use the run's GCPs", key="insar.height.use_gcps"),
              Param("refine_baseline", bool, False, "also fit a phase plane to the GCPs",
                    key="insar.height.refine_baseline"),
              Param("dem_points", int, 300, "DEM points per component without GCPs"),
              Param("max_misclosure", float, 0.15,
                    "largest distance of a component constant from whole cycles, cycles",
                    key="insar.height.max_misclosure", gt=0, le=0.5),
              Param("max_residual", float, 0.15,
                    "largest RMS residual of a component's reference points, cycles",
                    key="insar.height.max_residual", gt=0),
              Param("on_failure", str, "relative",
                    "when the gates refuse absolute heights: relative (tag) or fail (stop)",
                    key="insar.height.on_failure", choices=("relative", "fail")),
              ORBIT_NODES)

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        from peppers.scene.reader import pair_from_run_inputs

        inputs = self.run_inputs
        self._master, self._slave = pair_from_run_inputs(inputs, self.label)
        self.looks = radar_looks(inputs["master"], self.looks)
        if self.on_failure not in ("relative", "fail"):
            raise ValueError(f"{self.label}: on_failure must be 'relative' or 'fail', "
                             f"got {self.on_failure!r}")
        if not (0.0 < self.max_misclosure <= 0.5 and self.max_residual > 0.0):
            raise ValueError(f"{self.label}: need 0 < max_misclosure <= 0.5 and "
                             f"max_residual > 0 (cycles), got {self.max_misclosure!r}, "
                             f"{self.max_residual!r}")

    def _points(self, llh: np.ndarray, unw: np.ndarray, comps: np.ndarray):
        rows, cols, predicted = predicted_phase(llh, self._master, self._slave, self.looks,
                                                self.reference_height_m, self.orbit_nodes)
        measured, comp = sample_component(unw, comps, rows, cols)
        ok = np.isfinite(measured) & np.isfinite(predicted)
        return rows[ok], cols[ok], predicted[ok] - measured[ok], comp[ok], llh[ok, 2]

    def _dem_points(self, dem: Any, comps: np.ndarray, wanted: list[int]) -> np.ndarray:
        from peppers.geometry.scene_geometry import scene_rdr2geo

        picks = []
        for c in wanted:
            index = np.flatnonzero(comps.ravel() == c)
            step = max(1, len(index) // self.dem_points)
            picks.append(index[step // 2::step][: self.dem_points])
        if not picks:
            return np.empty((0, 3))
        flat = np.concatenate(picks)
        rows, cols = multilook_centres(*np.unravel_index(flat, comps.shape), self.looks)
        _, llh = scene_rdr2geo(self._master, self._master.azimuth_seconds(rows),
                               self._master.slant_range(cols), dem, nodes=self.orbit_nodes,
                               on_failure="nan")
        return llh[np.all(np.isfinite(llh), axis=1)]

    def reduce(self, sources: Mapping[str, ImageSource]) -> dict[str, Any]:
        full = Region.full(sources["unwrapped"].spec.shape)
        unw = np.asarray(sources["unwrapped"].read(full), dtype=np.float64)
        comps = np.asarray(sources["components"].read(full), dtype=np.int64)
        present = [int(c) for c in np.unique(comps) if c > 0]
        inputs = self.run_inputs
        result: dict[str, Any] = {"ramp_rad_per_pixel": [0.0, 0.0]}
        chunks, origin = [], []
        gcps = (inputs.get("gcps") or {}).get("points") or []
        if gcps and self.use_gcps:
            llh = np.array([[p["lat"], p["lon"], p["height_m"]] for p in gcps], dtype=np.float64)
            pts = self._points(llh, unw, comps)
            chunks.append(pts)
            origin.append("gcps")
            result["gcps"] = {"given": len(gcps), "inside": int(len(pts[2]))}
        have = set(np.unique(chunks[0][3]).tolist()) if chunks else set()
        missing = [c for c in present if c not in have]
        dem_info = inputs.get("reference_dem") or {}
        dem = None
        if missing and dem_info.get("path"):
            dem = read_dem(_resolve(dem_info["path"], sources["unwrapped"]))
            pts = self._points(self._dem_points(dem, comps, missing), unw, comps)
            keep = np.isin(pts[3], missing)
            chunks.append(tuple(a[keep] for a in pts))
            origin.append("dem")
        ids, offsets, kinds, misclosure, heights = [], [], [], 0.0, []
        table: list[dict[str, Any]] = []
        if chunks:
            rows, cols, diff, comp, hgt = (np.concatenate(a) for a in zip(*chunks))
            source = np.concatenate([np.full(len(c[2]), o) for c, o in zip(chunks, origin)])
            constants, inliers, ramp = self._fit(rows, cols, diff, comp)
            res = diff - np.array([constants.get(int(c), np.nan) for c in comp]) \
                - ramp[0] * rows - ramp[1] * cols
            if not self.refine_baseline:   # residuals from the whole cycles actually applied
                res = res + np.array([constants[int(c)] - TWO_PI * round(constants[int(c)]
                                                                        / TWO_PI) for c in comp])
            for c, value in constants.items():
                cycles = value / TWO_PI
                closure = abs(cycles - round(cycles)) * TWO_PI
                misclosure = max(misclosure, closure)
                ids.append(c)
                offsets.append(value if self.refine_baseline else TWO_PI * round(cycles))
                kinds.append(str(source[comp == c][0]))
                table.append(self._component_quality(c, comps, res[comp == c],
                                                     inliers[comp == c], closure, kinds[-1]))
            heights = hgt[inliers]
            result["ramp_rad_per_pixel"] = ramp
            if "gcps" in result:
                g = source == "gcps"
                used = inliers & g
                result["gcps"].update(used=int(used.sum()), rejected=int((g & ~inliers).sum()),
                                      rms_rad=float(np.sqrt(np.mean(res[used] ** 2)))
                                      if used.any() else float("nan"),
                                      max_abs_rad=float(np.max(np.abs(res[g])))
                                      if g.any() else float("nan"))
        checked = [row["id"] for row in table if row["source"] == "gcps"]
        if checked and dem_info.get("path"):   # the DEM checks the GCP-referenced components
            if dem is None:
                dem = read_dem(_resolve(dem_info["path"], sources["unwrapped"]))
            self._dem_check(dem, unw, comps, dict(zip(ids, offsets)), result["ramp_rad_per_pixel"],
                            [row for row in table if row["id"] in checked])
        refused = None
        if ids:
            used = sorted(set(kinds))
            result.update(method="+".join(used), relative=False)
            if misclosure > 0.5 and not self.refine_baseline:
                log.warning("absolute phase: references disagree with whole cycles by up to "
                            "%.2f rad; consider insar.height.refine_baseline", misclosure)
            refused = self._gate(table, result)
            if refused is None:
                bad = {row["id"] for row in table if row["failed"]}
                keep = [i for i, c in enumerate(ids) if c not in bad]
                ids, offsets, kinds = ([v[i] for i in keep] for v in (ids, offsets, kinds))
        else:
            ids, offsets, kinds = present, [0.0] * len(present), ["relative"] * len(present)
            result.update(method="relative", relative=True)
            log.warning("absolute phase: no ground control points or reference DEM reach the "
                        "unwrapped phase: heights are RELATIVE to the reference surface "
                        "(insar.absolute_phase.relative = true)")
        dropped = sorted(set(present) - set(ids))
        result.update(component_ids=[int(c) for c in ids], offsets_rad=[float(v) for v in offsets],
                      sources=kinds, dropped_components=dropped,
                      misclosure_rad=float(misclosure),
                      fill_height_m=float(np.median(heights)) if len(heights)
                      else float(self.reference_height_m))
        result["quality"] = self._summary(comps, ids, table, result, refused)
        return result

    def _component_quality(self, c: int, comps: np.ndarray, res: np.ndarray,
                           inliers: np.ndarray, closure: float, kind: str) -> dict[str, Any]:
        """One component's reference statistics and the gates it fails."""
        wrong = (~inliers) | (np.abs(res) > math.pi)   # > half a cycle: > h_a / 2
        rms = float(np.sqrt(np.mean(res[inliers] ** 2))) if inliers.any() else float("inf")
        reasons = []
        if not self.refine_baseline and closure > self.max_misclosure * TWO_PI:
            reasons.append(f"misclosure {closure:.2f} rad > {self.max_misclosure:g} cycle")
        if rms > self.max_residual * TWO_PI:
            reasons.append(f"residual {rms:.2f} rad RMS > {self.max_residual:g} cycle")
        if wrong.mean() > 0.5:
            reasons.append(f"{int(wrong.sum())} of {len(res)} references off by more than "
                           "half an ambiguity")
        return {"id": int(c), "pixels": int(np.count_nonzero(comps == c)), "source": kind,
                "points": int(len(res)), "rms_rad": rms, "misclosure_rad": float(closure),
                "blunder_points": int(wrong.sum()), "failed": "; ".join(reasons)}

    def _dem_check(self, dem: Any, unw: np.ndarray, comps: np.ndarray,
                   applied: dict[int, float], ramp: list[float],
                   rows: list[dict[str, Any]]) -> None:
        """Flag components whose heights disagree with the reference DEM by > ``h_a / 2``.

        DEM points of each component (as for DEM referencing) are compared
        with the constant applied from the GCPs: more than half of them off by
        more than half a cycle means the GCPs picked the wrong cycle (or the
        component holds an unwrapping error where the GCPs are).
        """
        pts = self._points(self._dem_points(dem, comps, [row["id"] for row in rows]), unw, comps)
        r, c, diff, comp = pts[0], pts[1], pts[2], pts[3]
        for row in rows:
            sel = comp == row["id"]
            res = diff[sel] - applied[row["id"]] - ramp[0] * r[sel] - ramp[1] * c[sel]
            off = int(np.count_nonzero(np.abs(res) > math.pi))
            row.update(dem_points=int(sel.sum()), dem_disagree=off)
            if sel.any() and off > 0.5 * sel.sum():
                reason = (f"reference DEM off by more than half an ambiguity at {off} of "
                          f"{int(sel.sum())} points")
                row["failed"] = f"{row['failed']}; {reason}" if row["failed"] else reason

    def _gate(self, table: list[dict[str, Any]], result: dict[str, Any]) -> str | None:
        """The refusal message when failing components hold half the referenced pixels."""
        total = sum(row["pixels"] for row in table)
        failed = [row for row in table if row["failed"]]
        if not failed or 2 * sum(row["pixels"] for row in failed) < total:
            return None
        worst = max(failed, key=lambda row: row["pixels"])
        message = (f"{self.label}: absolute heights refused: component {worst['id']} "
                   f"({worst['pixels']} px, {worst['points']} {worst['source']} points): "
                   f"{worst['failed']}. The phase is not known modulo 2 pi exactly (a "
                   "baseline or orbit error, unwrapping errors, or wrong references). To fix: "
                   "refine the baseline (pep set insar.height.refine_baseline true), add or "
                   "check GCPs (inputs.gcps), or use a reference DEM (pep init "
                   "--reference-dem)")
        if self.on_failure == "fail":
            raise OperatorError(message)
        log.warning("%s; heights are tagged RELATIVE", message)
        result.update(method="relative", relative=True, refused=message)
        return message

    @staticmethod
    def _summary(comps: np.ndarray, ids: list[int], table: list[dict[str, Any]],
                 result: dict[str, Any], refused: str | None) -> dict[str, Any]:
        """Per-product quality: coverage, components, references, flags."""
        n = max(1, comps.size)
        unwrapped = comps > 0
        return {"fraction_unwrapped": float(np.count_nonzero(unwrapped) / n),
                "fraction_referenced": float(np.count_nonzero(np.isin(comps, ids)) / n)
                if ids and not result.get("relative") else 0.0,
                "components": int(len(np.unique(comps[unwrapped]))),
                "components_referenced": int(len(ids)) if not result.get("relative") else 0,
                "flagged_components": [row["id"] for row in table if row["failed"]],
                "gcp_rms_rad": float((result.get("gcps") or {}).get("rms_rad", float("nan"))),
                "refused": refused, "table": table}

    def _fit(self, rows, cols, diff, comp):
        """Per-component constants (and the plane), with outlier rejection."""
        constants: dict[int, float] = {}
        inliers = np.zeros(diff.shape, dtype=bool)
        if not self.refine_baseline or len(diff) < 3 + len(np.unique(comp)):
            for c in np.unique(comp):
                sel = comp == c
                constants[int(c)], ok = robust_mean(diff[sel])
                inliers[np.flatnonzero(sel)[ok]] = True
            return constants, inliers, [0.0, 0.0]
        labels = np.unique(comp)
        design = np.column_stack([rows, cols] + [(comp == c).astype(float) for c in labels])
        inliers = np.ones(diff.shape, dtype=bool)
        for _ in range(10):
            coef, *_ = np.linalg.lstsq(design[inliers], diff[inliers], rcond=None)
            res = diff - design @ coef
            mad = 1.4826 * float(np.median(np.abs(res[inliers])))
            new = np.abs(res) <= max(3.0 * mad, 1.0)
            if np.array_equal(new, inliers):
                break
            inliers = new
        constants = {int(c): float(v) for c, v in zip(labels, coef[2:])}
        return constants, inliers, [float(coef[0]), float(coef[1])]


def _resolve(recorded: str, source: Any) -> Path:
    """A run-recorded path: absolute, or relative to the run (``images/``'s parent)."""
    path = Path(recorded)
    if path.is_absolute():
        return path
    image = getattr(source, "path", None)
    root = Path(image).resolve().parent.parent if image is not None else Path.cwd()
    return root / path


class AbsolutePhase(LocalOperator):
    """Unwrapped phase plus its component's constant (and the plane), NaN if unreferenced.

    Parameters
    ----------
    absolute : dict
        The result of :class:`AbsolutePhaseEstimate` (``insar.absolute_phase``):
        ``component_ids``, ``offsets_rad`` and ``ramp_rad_per_pixel``.

    Raises
    ------
    OperatorError
        If ``absolute`` lacks those entries.
    """

    name: ClassVar[str] = "absolute_phase"
    inputs: ClassVar[tuple[str, ...]] = ("unwrapped", "components")
    outputs: ClassVar[tuple[str, ...]] = ("output",)
    edge_mode: ClassVar[str] = "nodata"
    params = (Param("absolute", dict, {}, "result of the estimate (insar.absolute_phase)"),)

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        try:
            ids = [int(c) for c in self.absolute["component_ids"]]
            offsets = [float(v) for v in self.absolute["offsets_rad"]]
            self._ramp = [float(v) for v in self.absolute.get("ramp_rad_per_pixel", [0, 0])]
        except (KeyError, TypeError, ValueError) as error:
            raise OperatorError(f"{self.label}: parameter absolute is not an absolute-phase "
                                f"estimate (insar.absolute_phase): {error}") from None
        self._table = np.full(max(ids, default=0) + 1, np.nan)
        self._table[ids] = offsets

    def output_spec(self, input_specs: Mapping[str, ImageSpec]) -> dict[str, ImageSpec]:
        return {"output": ImageSpec(input_specs["unwrapped"].shape, np.float32, float("nan"))}

    def compute(self, inputs: Mapping[str, np.ndarray],
                output_region: Region) -> dict[str, np.ndarray]:
        comps = np.asarray(inputs["components"], dtype=np.int64)
        known = (comps > 0) & (comps < len(self._table))
        offset = np.full(comps.shape, np.nan)
        offset[known] = self._table[comps[known]]
        rows = np.arange(output_region.row, output_region.row + output_region.height)[:, None]
        cols = np.arange(output_region.col, output_region.col + output_region.width)[None, :]
        ramp = self._ramp[0] * rows + self._ramp[1] * cols
        out = inputs["unwrapped"].astype(np.float64) + offset + ramp
        return {"output": out.astype(np.float32)}
