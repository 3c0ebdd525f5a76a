"""DEM refinement: the reference DEM's height plus the interferometric residual, exactly.

With a reference DEM the interferogram has had the DEM's topographic phase
removed (the differential interferogram of ``operators/differential.py``). Its
unwrapped phase ``phi_res`` is, per pixel, the phase of the true surface
relative to the DEM surface (the simulator's sign convention
``arg(m s*) = 4 pi (r2 - r1) / lambda``)::

    phi_res = 4 pi / lambda (r2(P_true) - r2(P_dem)) + c

``c`` is one unknown constant (whole cycles plus the unwrapper's offset).
Instead of linearising (``dh = phi_res / (dphi/dh)``, the height of
ambiguity), the residual is put back on the flattened phase the exact
range-sphere solution of :class:`peppers.operators.height.PhaseToHeight`
expects::

    phi_abs = phi_res + 4 pi / lambda (r2(P_dem) - r2(P_ref))

with ``P_dem`` the master range-circle point at the DEM height (``rdr2geo``)
and ``P_ref`` the flat-earth reference point at ``reference_height_m``, each
projected into the slave with ``geo2rdr`` (ISCE2 topo/geo2rdr). The solution
is then exact at any residual, not only in the linear regime.

The constant ``c``: DEM errors are zero-mean (SRTM-like random error), so the
median residual height over coherent ground is ~0; :func:`median_constant`
takes the constant that makes the median residual phase zero (a GCP-fixed
constant may be given instead). Where the DEM is void (NaN) the DEM's point is
missing, so the residual has no reference: :func:`fill_voids` fills those
pixels with the interferometric height (the plain interferogram's phase,
unwrapped from the void's rim along its local fringe frequency).

Blunders (whole-cycle errors of the unwrapped differential) sit where the
residual is the DEM error *amplified* by slopes facing the radar
(:func:`~peppers.operators.dem_error_check.amplification`): its gradient
aliases there at the multilooked posting. On the ground the DEM error is smooth, so
:func:`~peppers.operators.dem_error_check.check_cycles`
compares each pixel's DEM error ``-r / A`` with its neighbourhood's median
and moves whole cycles to agree (DEM-assisted unwrapping); pixels no cycle
explains, and DEM pixels the unwrapping masked, take the model's height
(``height_source`` 3 and 4).

In the chain (``rules/reference_dem/dem.yaml``, ``pep init --reference-dem``)
:class:`DemRefinedPhase` (global, multilooked grid) builds the refined
flattened phase ``phi_res + phi_dem`` (whole cycles per component still
unknown) and :class:`RefinementEstimate` fixes them with the quality gates of
:class:`~peppers.operators.absolute_phase.AbsolutePhaseEstimate`; then the
unchanged ``absolute_phase`` / ``phase_to_height`` rules give the heights.
"""

from __future__ import annotations

import logging
import math
from typing import Any, ClassVar, Mapping

import numpy as np
from scipy.ndimage import binary_dilation, distance_transform_edt, label

from peppers.errors import OperatorError
from peppers.geometry.zero_doppler import geo2rdr, rdr2geo
from peppers.image import ImageSink, ImageSource, ImageSpec, Region
from peppers.operator import GlobalOperator, Param
from peppers.operators.absolute_phase import TWO_PI, AbsolutePhaseEstimate
from peppers.operators.dem_error_check import amplification, check_cycles, circle_sensitivity
from peppers.operators.height import (PhaseToHeight, multilook_centres, radar_looks,
                                      scene_pair)

__all__ = ["median_constant", "dem_phase", "absolute_from_residual", "fill_voids",
           "DemRefinedPhase", "RefinementEstimate", "SOURCE_CODES"]

log = logging.getLogger("peppers.dem_refinement")

#: Width (multilooked pixels) of the rim on which a void's fill is cross-validated.
RING_WIDTH = 3

#: Codes of the ``height_source`` layer: where each refined pixel's height comes from.
SOURCE_CODES = {"none": 0, "refined": 1, "void_filled": 2, "dem_model": 3, "dem_filled": 4}


def median_constant(residual_phase: np.ndarray, valid: np.ndarray | None = None) -> float:
    """Constant that makes the median residual phase over ``valid`` finite pixels zero.

    DEM errors being zero-mean, the residual height's median over coherent
    ground is ~0; the median (not the mean) keeps unwrapping errors out.
    """
    ok = np.isfinite(residual_phase)
    if valid is not None:
        ok &= valid
    if not ok.any():
        raise ValueError("median_constant: no finite residual phase on valid ground")
    return float(np.median(residual_phase[ok]))


def dem_phase(master: Any, slave: Any, t_s: np.ndarray, range_m: np.ndarray,
              dem_height: np.ndarray, reference_height_m: float = 0.0) -> np.ndarray:
    """Flattened phase of the DEM surface, ``4 pi/lambda (r2(P_dem) - r2(P_ref))`` (rad).

    ``t_s`` and ``range_m`` broadcast against ``dem_height`` (master zero-Doppler
    time and slant range of each pixel); NaN where the DEM is void.
    """
    t_s, range_m, h = np.broadcast_arrays(np.asarray(t_s, float), np.asarray(range_m, float),
                                          np.asarray(dem_height, float))
    out = np.full(h.shape, np.nan)
    ok = np.isfinite(h)
    if not ok.any():
        return out
    m_orbit, s_orbit = master.orbit(), slave.orbit()
    xyz, _ = rdr2geo(t_s[ok], range_m[ok], m_orbit, master.look_side, h[ok])
    _, r2 = geo2rdr(xyz, s_orbit)
    ref, _ = rdr2geo(t_s[ok], range_m[ok], m_orbit, master.look_side, reference_height_m)
    _, r2_ref = geo2rdr(ref, s_orbit)
    out[ok] = 4.0 * np.pi / master.wavelength_m * (r2 - r2_ref)
    return out


def absolute_from_residual(residual_phase: np.ndarray, constant: float,
                           dem_phase_rad: np.ndarray) -> np.ndarray:
    """Flattened absolute phase for ``PhaseToHeight``: ``phi_res - c + phi_dem``."""
    return (np.asarray(residual_phase, float) - constant) + dem_phase_rad

def _wrap(x: np.ndarray) -> np.ndarray:
    return np.angle(np.exp(1j * x))


_NEIGHBOURS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))


def _shifted(a: np.ndarray, dr: int, dc: int, fill: Any) -> np.ndarray:
    """``out[r, c] = a[r + dr, c + dc]`` (``fill`` outside)."""
    out = np.full(a.shape, fill, dtype=a.dtype)
    h, w = a.shape
    out[max(0, -dr):h - max(0, dr), max(0, -dc):w - max(0, dc)] = \
        a[max(0, dr):h - max(0, -dr) or None, max(0, dc):w - max(0, -dc) or None]
    return out


def fill_voids(phase: np.ndarray, components: np.ndarray, wrapped: np.ndarray,
               void: np.ndarray, good: np.ndarray,
               gradient: tuple[np.ndarray, np.ndarray] | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """Unwrap the void pixels outward from their rim, guided by a phase gradient.

    Parameters
    ----------
    phase : ndarray
        Unwrapped phase where it is known; NaN elsewhere.
    components : ndarray of int
        Its components (0: not unwrapped).
    wrapped : ndarray
        Wrapped phase of the void pixels (same carrier as ``phase``).
    void : ndarray of bool
        Pixels to fill.
    good : ndarray of bool
        Void pixels with signal (coherence at or above the unwrapping threshold).
    gradient : pair of ndarray, optional
        Expected phase change per pixel along rows and columns (rad), e.g.
        the interferogram's local fringe frequency times ``2 pi`` and the
        looks; without it the change is taken as less than half a cycle.

    Returns
    -------
    phase, components : ndarray
        The void pixels reachable from an unwrapped rim through ``good`` pixels
        filled, front by front: each takes the median over its known
        neighbours ``q`` of ``Phi(q) + G + wrap(w(p) - Phi(q) - G)``, ``G`` the
        expected change from ``q`` to ``p`` (mean gradient of the two times the
        step), and the component of the first. Others stay NaN / 0.
    """
    res = np.array(phase, dtype=np.float64)
    comp = np.array(components, dtype=np.int64)
    res[void] = np.nan
    comp[void] = 0
    g_r, g_c = (np.zeros(res.shape), np.zeros(res.shape)) if gradient is None else \
        (np.nan_to_num(np.asarray(g, dtype=np.float64)) for g in gradient)
    todo = void & good
    while todo.any():
        preds, labels = [], []
        for dr, dc in _NEIGHBOURS:
            r = _shifted(res, dr, dc, np.nan)
            c = _shifted(comp, dr, dc, 0)
            step = -0.5 * (dr * (g_r + _shifted(g_r, dr, dc, 0.0))
                           + dc * (g_c + _shifted(g_c, dr, dc, 0.0)))
            ok = np.isfinite(r) & (c > 0)
            base = np.where(ok, r, 0.0) + step
            preds.append(np.where(ok, base + _wrap(wrapped - base), np.nan))
            labels.append(np.where(ok, c, 0))
        preds = np.array(preds)
        front = todo & np.isfinite(preds).any(axis=0)
        if not front.any():
            break
        labels = np.array(labels)
        first = np.argmax(labels > 0, axis=0)
        res[front] = np.nanmedian(preds[:, front], axis=0)
        comp[front] = np.take_along_axis(labels, first[None], axis=0)[0][front]
        todo &= ~front
    return res, comp


class DemRefinedPhase(GlobalOperator):
    """The refined flattened phase ``phi_res + phi_dem`` on the multilooked grid, voids filled.

    Inputs: ``differential`` (the unwrapped differential phase) and its
    ``components``; ``dem_height`` (the reference DEM's height, multilooked:
    NaN in blocks with a void); ``interferogram`` (the plain filtered
    multilooked interferogram, for the voids), ``coherence``, and
    ``fringe_rows``, ``fringe_cols`` (the interferogram's local fringe
    frequency of stream 1, cycles per single-look pixel, multilooked): the
    void is unwrapped along it, so fringes denser than half a cycle per
    multilooked pixel are followed.

    Outputs: ``phase`` (flattened phase up to one multiple of 2 pi per
    component: :class:`RefinementEstimate` fixes it), ``components``, and
    ``source`` (uint8, :data:`SOURCE_CODES`: 1 refined, 2 void filled, 0 none).

    Parameters
    ----------
    master, slave : dict
        Scene metadata (``inputs.master``, ``inputs.slave``).
    looks, reference_height_m
        As in :class:`~peppers.operators.height.PhaseToHeight`.
    threshold : float
        Coherence below which a void pixel is not filled (the unwrapper's).
    check_window, tolerance
        :func:`~peppers.operators.dem_error_check.check_cycles` on the DEM
        pixels before the voids are filled (``check_window`` 0: no check):
        whole cycles moved to agree with a smooth DEM error, pixels still
        disagreeing by more than ``tolerance`` heights of ambiguity take the
        model's height instead (source 3).
    fill_from_dem : bool
        DEM pixels the unwrapping left out (coherence under its threshold)
        within ``check_window`` of checked pixels take the model's height
        too: the reference DEM minus the neighbourhood's median DEM error
        (source 4). Without it they are holes, and the geocoder's quads at
        a hole's edge carry a neighbour's height onto steep ground.
    void_max_wrong : float
        :meth:`trusted_voids`: a void is filled only if at most this fraction
        of its rim, hidden and refilled, comes back a cycle off.
    """

    name: ClassVar[str] = "dem_refined_phase"
    inputs: ClassVar[tuple[str, ...]] = ("differential", "components", "dem_height",
                                         "interferogram", "coherence", "fringe_rows",
                                         "fringe_cols")
    outputs: ClassVar[tuple[str, ...]] = ("phase", "components", "source")
    params = tuple(p for p in PhaseToHeight.params
                   if p.name in ("master", "slave", "looks", "reference_height_m")) + (
              Param("threshold", float, 0.3, "coherence threshold of the unwrapping",
                    key="insar.unwrap.coherence_threshold", ge=0.0),
              Param("check_window", int, 15, "DEM-error cycle check window (0: off)",
                    key="insar.dem_refinement.check_window", ge=0),
              Param("tolerance", float, 0.3, "DEM-error cycle check tolerance (cycles)",
                    key="insar.dem_refinement.tolerance", ge=0.0),
              Param("fill_from_dem", bool, True, "unwrapping-masked DEM pixels from the model",
                    key="insar.dem_refinement.fill_from_dem"),
              Param("void_max_wrong", float, 0.2, "largest rim fraction refilled a cycle off",
                    key="insar.dem_refinement.void_max_wrong", ge=0.0))

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        self._master, self._slave = scene_pair(self.label, self.master, self.slave)
        self.looks = radar_looks(self.master, self.looks)

    def output_spec(self, input_specs: Mapping[str, ImageSpec]) -> dict[str, ImageSpec]:
        shape = input_specs["differential"].shape
        for port in self.inputs[1:]:
            if input_specs[port].shape != shape:
                raise OperatorError(f"{self.label}: {port} {input_specs[port].shape} and "
                                    f"differential {shape} are not on one grid")
        return {"phase": ImageSpec(shape, np.float32, float("nan")),
                "components": ImageSpec(shape, np.int32, 0),
                "source": ImageSpec(shape, np.uint8, 0)}

    def refine(self, diff: np.ndarray, comps: np.ndarray, dem_h: np.ndarray,
               ifg: np.ndarray, coh: np.ndarray,
               fringe: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, ...]:
        """Phase, components and source of whole images (``fringe``: cycles per look)."""
        rows, cols = multilook_centres(np.arange(diff.shape[0]), np.arange(diff.shape[1]),
                                       self.looks)
        t = self._master.azimuth_seconds(rows)[:, None]
        r1 = self._master.slant_range(cols)[None, :]
        void = ~np.isfinite(dem_h)
        known = np.isfinite(diff) & (comps > 0) & ~void
        diff = np.where(known, diff, np.nan)
        rejected = np.zeros(diff.shape, dtype=bool)
        filled = rejected
        if self.check_window > 0 and known.any():
            diff, rejected, filled, nearest = self.check(diff, np.where(known, comps, 0),
                                                         dem_h, t, r1)
            comps = np.where(filled, nearest, comps)
            known |= filled
        phase = np.where(known, diff, np.nan) + dem_phase(self._master, self._slave, t, r1,
                                                          dem_h, self.reference_height_m)
        comp = np.where(known, comps, 0)
        if void.any() and (~void).any():
            gradient = None
            if fringe is not None:
                la, lr = self.looks
                gradient = (TWO_PI * la * fringe[0], TWO_PI * lr * fringe[1])
            signal = np.isfinite(ifg) & (coh >= self.threshold)
            good = void & signal & self.trusted_voids(phase, comp, np.angle(ifg), void,
                                                      signal, gradient)
            phase, comp = fill_voids(phase, comp, np.where(void, np.angle(ifg), np.nan), void,
                                     good, gradient)
        ok = np.isfinite(phase) & (comp > 0)
        source = np.where(ok, np.where(void, SOURCE_CODES["void_filled"],
                                       SOURCE_CODES["refined"]), SOURCE_CODES["none"])
        source = np.where(ok & rejected, SOURCE_CODES["dem_model"], source)
        source = np.where(ok & filled, SOURCE_CODES["dem_filled"], source)
        return (np.where(ok, phase, np.nan).astype(np.float32),
                np.where(ok, comp, 0).astype(np.int32), source.astype(np.uint8))

    def trusted_voids(self, phase: np.ndarray, comp: np.ndarray, wrapped: np.ndarray,
                      void: np.ndarray, signal: np.ndarray,
                      gradient: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
        """Voids whose fill is trusted: :func:`fill_voids` cross-validated on the rim.

        The ring of refined pixels within :data:`RING_WIDTH` of each void is
        hidden and filled the same way from outside it; a void whose ring
        comes back a cycle off (``|fill - refined| > pi``) on more than
        ``void_max_wrong`` of its pixels is not filled (its pixels keep no
        height: at a few metres of height of ambiguity the multilooked phase
        there cannot be followed, and a wrong fill is a blunder).
        """
        labels, count = label(void)
        known = np.isfinite(phase) & (comp > 0)
        ring = binary_dilation(void, iterations=RING_WIDTH) & ~void & known
        trusted = np.ones(void.shape, dtype=bool)
        if not ring.any():
            return trusted
        hidden = void | ring
        trial, _ = fill_voids(np.where(ring, np.nan, phase), np.where(ring, 0, comp),
                              np.where(hidden, wrapped, np.nan), hidden, hidden & signal,
                              gradient)
        wrong = ring & ~(np.abs(trial - phase) <= math.pi)       # unfilled counts as wrong
        _, (ir, ic) = distance_transform_edt(~void, return_indices=True)
        owner = labels[ir, ic]
        for v in range(1, count + 1):
            mine = ring & (owner == v)
            frac = float(wrong[mine].mean()) if mine.any() else 1.0
            log.info("%s: void %d (%d px): %.1f %% of its %d rim pixels refilled a cycle off",
                     self.label, v, int((labels == v).sum()), 100 * frac, int(mine.sum()))
            if frac > self.void_max_wrong:
                trusted[labels == v] = False
        return trusted

    def check(self, diff: np.ndarray, comps: np.ndarray, dem_h: np.ndarray, t: np.ndarray,
              r1: np.ndarray) -> tuple[np.ndarray, ...]:
        """:func:`check_cycles` on the unwrapped differential ``diff`` (NaN where unknown).

        The residual height is ``(phi - c) / (d phi / d h)``, ``c`` the
        component's median (DEM errors zero-mean, as :func:`median_constant`);
        a model pixel's phase is ``c + (d phi / d h) r_model``, ``r_model = -A
        S`` (``c`` and the component of the nearest unwrapped pixel).

        Returns
        -------
        phase, model, filled, nearest : ndarray
            The corrected differential phase; pixels given the model's height
            for disagreeing (``model``) and for having no phase (``filled``,
            with ``fill_from_dem``); the component of each pixel's nearest
            unwrapped pixel.
        """
        dphi_dh, cos_t = circle_sensitivity(self._master, self._slave, t, r1, dem_h)
        residual = np.full(diff.shape, np.nan)
        for c in np.unique(comps[comps > 0]):
            sel = comps == c
            residual[sel] = (diff[sel] - median_constant(diff[sel])) / dphi_dh[sel]
        amp = amplification(dem_h, np.ravel(r1), cos_t)
        cycles, rejected, model = check_cycles(residual, TWO_PI / dphi_dh, amp,
                                               self.check_window, self.tolerance)
        moved = int(np.count_nonzero(cycles))
        if moved or rejected.any():
            log.info("%s: DEM-error check moved %d pixel(s) by whole cycles, %d from the "
                     "DEM-error model", self.label, moved, int(rejected.sum()))
        known = comps > 0
        _, (ir, ic) = distance_transform_edt(~known, return_indices=True)
        constant = (diff - residual * dphi_dh)[ir, ic]          # nearest component's c
        out = diff + TWO_PI * cycles
        out[rejected] = (constant + model * dphi_dh)[rejected]
        filled = np.zeros(diff.shape, bool)
        if self.fill_from_dem:
            filled = ~known & np.isfinite(model) & np.isfinite(dem_h)
            out[filled] = (constant + model * dphi_dh)[filled]
        return out, rejected, filled, comps[ir, ic]

    def run(self, sources: Mapping[str, ImageSource], sinks: Mapping[str, ImageSink]) -> None:
        full = Region.full(sources["differential"].spec.shape)
        read = {port: np.asarray(sources[port].read(full)) for port in self.inputs}
        phase, comps, source = self.refine(
            read["differential"].astype(np.float64), read["components"].astype(np.int64),
            read["dem_height"].astype(np.float64), read["interferogram"],
            read["coherence"].astype(np.float64),
            (read["fringe_rows"].astype(np.float64), read["fringe_cols"].astype(np.float64)))
        for name, array in (("phase", phase), ("components", comps), ("source", source)):
            sinks[name].write(full, array)


class RefinementEstimate(AbsolutePhaseEstimate):
    """Whole cycles of the refined phase per component, with the plain chain's gates.

    Inputs ``unwrapped`` (the refined phase of :class:`DemRefinedPhase`),
    ``components`` (its components), ``differential`` (the unwrapped
    differential phase: on DEM pixels the refined phase minus the DEM's) and
    ``dem_height`` (the multilooked reference DEM: its median is the
    ``fill_height_m`` locating pixels without a height).

    Components with GCPs (``insar.height.use_gcps``) take their constant
    from them exactly as :class:`AbsolutePhaseEstimate` (robust mean rounded
    to whole cycles; misclosure, scatter and blunder gates), and the DEM
    checks it: the median DEM-error phase of the component (the residual
    against the reference DEM, ``-differential - constant`` on its DEM
    pixels) must be within half a cycle. Components without GCPs take
    ``2 pi round(median(-differential) / 2 pi)`` over their DEM pixels (DEM
    errors zero-mean) and are flagged when that median is further than
    ``max_misclosure`` cycles from whole cycles. Failing components are
    dropped; when they hold half the referenced pixels the result is
    ``method: relative`` with ``refused`` (``on_failure: fail`` stops).
    Otherwise ``method: dem_refinement`` and ``constants_from`` (``gcps``,
    ``dem_median`` or both). ``insar.height.refine_baseline`` is not used
    here (the DEM phase carries the baseline's first order).
    """

    name: ClassVar[str] = "refinement_estimate"
    inputs: ClassVar[tuple[str, ...]] = ("unwrapped", "components", "differential",
                                         "dem_height")

    def reduce(self, sources: Mapping[str, ImageSource]) -> dict[str, Any]:
        full = Region.full(sources["unwrapped"].spec.shape)
        unw = np.asarray(sources["unwrapped"].read(full), dtype=np.float64)
        comps = np.asarray(sources["components"].read(full), dtype=np.int64)
        diff = np.asarray(sources["differential"].read(full), dtype=np.float64)
        if diff.shape != unw.shape:
            raise OperatorError(f"{self.label}: differential {diff.shape} and unwrapped "
                                f"{unw.shape} are not on one grid")
        dem_h = np.asarray(sources["dem_height"].read(full), dtype=np.float64)
        fill = float(np.nanmedian(dem_h)) if np.isfinite(dem_h).any() \
            else float(self.reference_height_m)
        present = [int(c) for c in np.unique(comps) if c > 0]
        result: dict[str, Any] = {"ramp_rad_per_pixel": [0.0, 0.0]}
        table: list[dict[str, Any]] = []
        constants: dict[int, float] = {}
        kinds: dict[int, str] = {}
        gcps = (self.run_inputs.get("gcps") or {}).get("points") or []
        if gcps and self.use_gcps:
            llh = np.array([[p["lat"], p["lon"], p["height_m"]] for p in gcps], dtype=np.float64)
            rows, cols, d, comp, _ = self._points(llh, unw, comps)
            result["gcps"] = {"given": len(gcps), "inside": int(len(d))}
            if len(d):
                fitted, inliers, _ = self._fit(rows, cols, d, comp)
                applied = {c: TWO_PI * round(v / TWO_PI) for c, v in fitted.items()}
                res = d - np.array([applied[int(c)] for c in comp])
                for c, value in fitted.items():
                    sel = comp == c
                    table.append(self._component_quality(c, comps, res[sel], inliers[sel],
                                                         abs(value - applied[c]), "gcps"))
                    constants[c], kinds[c] = applied[c], "gcps"
                result["gcps"].update(
                    used=int(inliers.sum()), rejected=int((~inliers).sum()),
                    rms_rad=float(np.sqrt(np.mean(res[inliers] ** 2))) if inliers.any()
                    else float("nan"), max_abs_rad=float(np.max(np.abs(res))))
        dem_pixels = np.isfinite(diff) & np.isfinite(unw)
        for row in table:                               # the DEM checks the GCP constants
            sel = dem_pixels & (comps == row["id"])
            if sel.any():
                res = diff[sel] + constants[row["id"]]
                off = float(np.median(res))
                row.update(dem_points=int(sel.sum()), dem_median_rad=off,
                           dem_disagree=int(np.count_nonzero(np.abs(res) > math.pi)))
                if abs(off) > math.pi:
                    reason = (f"median residual against the reference DEM {off:.2f} rad: more "
                              "than half an ambiguity")
                    row["failed"] = f"{row['failed']}; {reason}" if row["failed"] else reason
        for c in present:
            if c in constants:
                continue
            sel = dem_pixels & (comps == c)
            if not sel.any():
                continue
            value = float(np.median(-diff[sel]))
            applied = TWO_PI * round(value / TWO_PI)
            closure = abs(value - applied)
            res = -diff[sel] - applied
            row = {"id": c, "pixels": int(np.count_nonzero(comps == c)), "source": "dem_median",
                   "points": int(sel.sum()), "rms_rad": float(np.sqrt(np.mean(res ** 2))),
                   "misclosure_rad": closure, "blunder_points": 0, "failed": ""}
            if closure > self.max_misclosure * TWO_PI:
                row["failed"] = (f"median DEM residual {closure:.2f} rad from whole cycles > "
                                 f"{self.max_misclosure:g} cycle")
            table.append(row)
            constants[c], kinds[c] = applied, "dem_median"
        misclosure = max([row["misclosure_rad"] for row in table], default=0.0)
        refused = None
        if table:
            result.update(method="dem_refinement", relative=False)
            refused = self._gate(table, result)
        bad = {row["id"] for row in table if row["failed"]} if refused is None else set()
        if refused is None and not table:
            result.update(method="relative", relative=True,
                          refused=f"{self.label}: no component has DEM pixels or GCPs")
            refused = result["refused"]
        ids = [c for c in constants if c not in bad]
        result.update(component_ids=[int(c) for c in ids],
                      offsets_rad=[float(constants[c]) for c in ids],
                      sources=[kinds[c] for c in ids], dropped_components=sorted(
                          set(present) - set(ids)), misclosure_rad=float(misclosure),
                      constants_from="+".join(sorted({kinds[c] for c in ids})) or "none",
                      fill_height_m=fill)
        result["quality"] = self._summary(comps, ids, table, result, refused)
        return result
