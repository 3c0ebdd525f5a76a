"""Geometric coregistration: dense offsets from a reference DEM, refined by correlation.

Design
------
With a reference DEM the radar-geometry rule (:mod:`.radar_geometry`) has
already put every master pixel on the ground (``rdr2geo``) and back into the
slave (``geo2rdr``): the dense offset rasters ``row_offset``, ``col_offset``
(slave minus master pixel). :class:`GeometricCoregistration` turns them into
the ``offsets`` of the resampler
(:class:`~peppers.operators.slave_resample.SlaveResampleFilterOffsets`) by
one of three methods (HKV ``insar.coregistration.method``):

``geometry`` (the default of a run with a reference DEM)
    The geometric offsets alone, no correlation.
``auto``
    The geometric offsets plus a correction measured by chip correlation,
    where correlation is good enough (ISCE2 stripmapApp: ``topo``,
    ``geo2rdr``, then the misregistration of ``refineSecondaryTiming``;
    ISCE3 ``rubbersheet``): on the chip grid of the correlation method,
    each chip is searched around its geometric offset; the residual
    *measured minus geometric* offset is fitted by a polynomial of order
    ``refinement_order`` (0: a constant per axis, a timing / range bias;
    1: a plane, an orbit error) with the culling of
    :func:`~peppers.operators.coregister.fit_offsets` (SNR and correlation
    thresholds, gross distances, Doris w-test). The correction of an axis is
    applied when one of its coefficients exceeds :data:`SIGNIFICANCE`
    standard deviations (weighted least squares covariance, scaled by the
    a-posteriori variance factor when that exceeds 1 and by the chips'
    overlap, accepted chip area over image area, when that exceeds 1: chips
    sharing pixels are not independent): a smaller one is the
    chips' noise and would only add it. Where fewer than ``min_chips`` chips
    survive (dense fringes, low coherence) the geometric offsets are used
    alone; the record says which and why.
``correlation``
    The chip polynomial of :class:`~peppers.operators.coregister.Coregistration`
    (the rasters are not used).

The geometric reference of a chip is the ``|z|^2``-weighted mean of the
rasters over the master chip, the same weighting the correlation peak
applies to the offset field inside the chip (docs/coregistration.md: energy
centroid), so that terrain-driven offset variation within a chip does not
enter the residual. With ``chip_method: complex`` the topographic phase of
the reference DEM is removed from the master chip before the plane-fringe
step (:func:`~peppers.operators.coregister.correlate_chip`, ``phase``), so
dense, curved topographic fringes still correlate coherently.

The smooth part of the rasters goes into the polynomial: a fit ``q`` of
order ``polynomial_order`` to the rasters sampled on a grid (the
``raster_reference``), and the resampler takes the rasters relative to it;
``raster_bound`` is the largest ``|raster - q|`` over the whole image
(measured in strips; never the whole raster in memory), so a tile reads a
slave region only the terrain-driven residual wider than the polynomial's.
DEM voids (NaN offsets) take ``q`` plus the correction (counted in the
record).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar, Mapping

import numpy as np

from peppers.errors import OperatorError
from peppers.image import ImageSource, Region
from peppers.operator import Param
from peppers.operators import _coregister_kernels as kernels
from peppers.operators.coregister import (Coregistration, _read_inside, bamler_eineder_sigma,
                                          correlate_chip, design_matrix, fit_offsets)
from peppers.operators.doppler import deramp
from peppers.operators.resample import PolynomialResampler

__all__ = ["GeometricCoregistration", "METHODS", "smooth_model"]

METHODS = ("geometry", "correlation", "auto")
#: Raster samples per axis for the smooth model ``q``.
MODEL_SAMPLES = 64
#: Rows per strip when the bound is measured over the rasters.
STRIP_ROWS = 256
#: A correction is applied (per axis) when a coefficient exceeds this many standard
#: deviations; a smaller one is the chips' noise, the geometry is kept.
SIGNIFICANCE = 3.0
#: Added to the measured bound (float rounding of ``q`` between evaluations), px.
BOUND_MARGIN = 1e-3


def smooth_model(rows_source: ImageSource, cols_source: ImageSource, order: int,
                 center: tuple[float, float],
                 scale: tuple[float, float]) -> dict[str, Any]:
    """Smooth polynomial model of the offset rasters and the largest deviation from it.

    Parameters
    ----------
    rows_source, cols_source : ImageSource
        The ``row_offset`` and ``col_offset`` rasters (master grid, px).
    order : int
        Order of the model (coefficients as :mod:`peppers.operators.resample`).
    center, scale : tuple of float
        Its normalised coordinates.

    Returns
    -------
    dict
        ``row_coeffs``, ``col_coeffs`` (lists), ``max_deviation`` ``[rows,
        cols]`` (px, over every finite pixel), ``void_pixels`` (non-finite
        pixels) and ``pixels``.

    Raises
    ------
    OperatorError
        If no sampled pixel is finite (the DEM covers nothing of the scene).
    """
    shape = rows_source.spec.shape
    sample_rows = np.unique(np.linspace(0, shape[0] - 1, min(shape[0], MODEL_SAMPLES)).round()
                            .astype(int))
    sample_cols = np.unique(np.linspace(0, shape[1] - 1, min(shape[1], MODEL_SAMPLES)).round()
                            .astype(int))
    values = [np.stack([np.asarray(src.read(Region(int(r), 0, 1, shape[1])),
                                   dtype=np.float64)[0, sample_cols] for r in sample_rows])
              for src in (rows_source, cols_source)]
    rr, cc = np.meshgrid(sample_rows.astype(float), sample_cols.astype(float), indexing="ij")
    good = np.isfinite(values[0]) & np.isfinite(values[1])
    n_coef = (order + 1) * (order + 2) // 2
    if good.sum() < n_coef:
        raise OperatorError(f"geometric coregistration: {int(good.sum())} of {good.size} "
                            "sampled geometric offsets are finite (the reference DEM covers "
                            "almost nothing of the scene); use insar.coregistration.method "
                            "correlation")
    a = design_matrix(rr[good], cc[good], order, center, scale)
    coeffs = [np.linalg.lstsq(a, v[good], rcond=None)[0] for v in values]
    # the model evaluated as the resampler evaluates it (its raster_reference)
    reference = PolynomialResampler(row_coeffs=coeffs[0].tolist(), col_coeffs=coeffs[1].tolist(),
                                    center=center, scale=scale)
    deviation = [0.0, 0.0]
    void = 0
    for top in range(0, shape[0], STRIP_ROWS):
        region = Region(top, 0, min(STRIP_ROWS, shape[0] - top), shape[1])
        model = reference._offsets(np.arange(region.row, region.row_stop, dtype=float),
                                   np.arange(shape[1], dtype=float))
        arrays = [np.asarray(src.read(region), dtype=np.float64)
                  for src in (rows_source, cols_source)]
        finite = np.isfinite(arrays[0]) & np.isfinite(arrays[1])
        void += int((~finite).sum())
        for axis, (array, q) in enumerate(zip(arrays, model)):
            dev = np.abs(array - q)[finite]
            if dev.size:
                deviation[axis] = max(deviation[axis], float(dev.max()))
    return {"row_coeffs": coeffs[0].tolist(), "col_coeffs": coeffs[1].tolist(),
            "max_deviation": deviation, "void_pixels": void,
            "pixels": int(shape[0] * shape[1])}


class GeometricCoregistration(Coregistration):
    """Coregistration by the geometric offset rasters, optionally refined (reduction).

    Inputs ``master``, ``slave`` (SLCs), ``row_offset``, ``col_offset`` (the
    geometric offset rasters of :class:`~peppers.operators.radar_geometry.RadarGeometry`)
    and ``topographic_phase``. The method is in the module docstring; the
    other parameters are those of
    :class:`~peppers.operators.coregister.Coregistration` (the chips of
    ``auto``, and everything of ``correlation``).

    Parameters
    ----------
    method : {"geometry", "correlation", "auto"}
        HKV ``insar.coregistration.method``.
    refinement_order : int
        Order of the correlation correction of ``auto`` (0..2; HKV
        ``insar.coregistration.refinement_order``).
    **values
        As :class:`~peppers.operators.coregister.Coregistration`.

    Raises
    ------
    ValueError
        A bad parameter.
    OperatorError
        From :meth:`reduce`: rasters of another shape than the master, no
        finite geometric offset; for ``correlation``, as ``Coregistration``.

    References
    ----------
    .. [1] ISCE2 ``stripmapApp`` (``runTopo``, ``runGeo2rdr``,
       ``runRefineSecondaryTiming``: offsets by ampcor around the geometric
       ones, a low-order misregistration polynomial with outlier culling).
    .. [2] ISCE3 ``rubbersheet`` and ``geo2rdr`` (NISAR InSAR workflow).
    """

    name: ClassVar[str] = "geometric_coregistration"
    inputs: ClassVar[tuple[str, ...]] = ("master", "slave", "row_offset", "col_offset",
                                         "topographic_phase")
    params = Coregistration.params + (
        Param("method", str, "geometry", "geometry, correlation or auto (geometry refined "
              "by correlation where correlation is good enough)",
              "insar.coregistration.method", choices=METHODS),
        Param("refinement_order", int, 0, "order of the correlation correction of the "
              "geometric offsets (auto)", "insar.coregistration.refinement_order", ge=0, le=2),
    )

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        if self.method not in METHODS:
            raise ValueError(f"{self.label}: method must be one of {METHODS}, "
                             f"got {self.method!r}")
        if not 0 <= self.refinement_order <= 2:
            raise ValueError(f"{self.label}: refinement_order must be 0..2, "
                             f"got {self.refinement_order}")

    def reduce(self, sources: Mapping[str, ImageSource]) -> dict[str, Any]:
        """The resampler's ``offsets`` and the record of the coregistration.

        Returns
        -------
        dict
            ``row_coeffs``, ``col_coeffs``, ``center``, ``scale``, ``order``
            (the polynomial: smooth model plus correction), ``raster_reference``,
            ``raster_bound``, ``shape``, ``rasters``; ``method`` (asked),
            ``used`` (``geometry``, ``geometry+correlation`` or
            ``correlation``), ``geometry`` (the smooth model's deviation and
            void pixels), ``refinement`` (``applied``, ``reason``, ``order``,
            the correction's coefficients and its value at the image centre,
            ``n_chips``, ``n_accepted``, residual RMS) and the chip table
            ``chips`` (as ``Coregistration``; offsets are the measured
            residuals against the geometry).
        """
        master = sources["master"]
        shape = tuple(master.spec.shape)
        for port in ("row_offset", "col_offset", "topographic_phase"):
            if tuple(sources[port].spec.shape) != shape:
                raise OperatorError(f"{self.label}: {port} is {sources[port].spec.shape}, "
                                    f"the master {shape}")
        if self.method == "correlation":
            result = super().reduce({"master": master, "slave": sources["slave"]})
            return {**result, "method": "correlation", "used": "correlation",
                    "rasters": False, "shape": list(shape)}
        center = ((shape[0] - 1) / 2, (shape[1] - 1) / 2)
        scale = (max(shape[0] / 2, 1.0), max(shape[1] / 2, 1.0))
        order = max(self.polynomial_order, self.refinement_order)
        model = smooth_model(sources["row_offset"], sources["col_offset"], order, center, scale)
        n_coef = len(model["row_coeffs"])
        correction = (np.zeros(n_coef), np.zeros(n_coef))
        refinement: dict[str, Any] = {"applied": False, "order": self.refinement_order,
                                      "n_chips": 0, "n_accepted": 0,
                                      "reason": "method geometry: no correlation"}
        chips: dict[str, list] = {}
        if self.method == "auto":
            refinement, chips, fitted = self._refine(sources, center, scale)
            if fitted is not None:
                for axis in (0, 1):
                    correction[axis][:fitted[axis].size] = fitted[axis]
        row_coeffs = np.asarray(model["row_coeffs"]) + correction[0]
        col_coeffs = np.asarray(model["col_coeffs"]) + correction[1]
        centre = design_matrix([center[0]], [center[1]], order, center, scale)
        refinement["centre_correction"] = [float((centre @ correction[0])[0]),
                                           float((centre @ correction[1])[0])]
        return {
            "row_coeffs": row_coeffs.tolist(), "col_coeffs": col_coeffs.tolist(),
            "center": list(center), "scale": list(scale), "order": order,
            "raster_reference": {"row_coeffs": model["row_coeffs"],
                                 "col_coeffs": model["col_coeffs"]},
            "raster_bound": [d + BOUND_MARGIN for d in model["max_deviation"]],
            "shape": list(shape), "rasters": True,
            "method": self.method,
            "used": "geometry+correlation" if refinement["applied"] else "geometry",
            "geometry": {"model_order": order,
                         "max_deviation": model["max_deviation"],
                         "void_pixels": model["void_pixels"], "pixels": model["pixels"]},
            "refinement": refinement,
            "n_chips": refinement["n_chips"], "n_accepted": refinement["n_accepted"],
            "centre_offset": [float((centre @ row_coeffs)[0]), float((centre @ col_coeffs)[0])],
            "coarse": {"method": "geometry"},
            "spectra": self._spectra(),
            "chips": chips,
        }

    # -- the correlation refinement ----------------------------------------------------
    def _refine(self, sources: Mapping[str, ImageSource], center: tuple[float, float],
                scale: tuple[float, float]):
        """Chips around the geometric offsets: (record, chip table, fitted correction or None)."""
        master, slave = sources["master"], sources["slave"]
        shape = master.spec.shape
        nr, nc = self.chip_size
        sr, sc = self.search
        tops, lefts = self.chip_grid(shape)
        n = tops.size
        record: dict[str, Any] = {"applied": False, "order": self.refinement_order,
                                  "n_chips": int(n), "n_accepted": 0}
        if self._matched_windows() is not None:
            record["reason"] = ("a pair of two modes: chips around geometric offsets are not "
                                "matched yet; the geometric offsets alone")
            return record, {}, None

        def measure(k: int):
            region = Region(int(tops[k]), int(lefts[k]), nr, nc)
            chip = master.read(region)
            power = np.abs(np.asarray(chip, dtype=np.complex128)) ** 2
            geo = [np.asarray(sources[p].read(region), dtype=np.float64)
                   for p in ("row_offset", "col_offset")]
            phase = np.asarray(sources["topographic_phase"].read(region), dtype=np.float64)
            total = float(power.sum())
            if not (total > 0 and all(np.isfinite(g).all() for g in geo)
                    and np.isfinite(phase).all()):
                return "nodata", None
            ref = [float((power * g).sum()) / total for g in geo]
            centroid = (tops[k] + float(power.sum(axis=1) @ np.arange(nr)) / total,
                        lefts[k] + float(power.sum(axis=0) @ np.arange(nc)) / total)
            g_r, g_c = int(round(ref[0])), int(round(ref[1]))
            window = _read_inside(slave, Region(int(tops[k]) + g_r - sr, int(lefts[k]) + g_c - sc,
                                                nr + 2 * sr, nc + 2 * sc))
            if window is None:
                return "outside", None
            chip = np.ascontiguousarray(chip, np.complex128)
            if max(kernels.zero_fraction(chip), kernels.zero_fraction(window)) > 0.1:
                return "nodata", None
            mid = (tops[k] + (nr - 1) / 2, lefts[k] + (nc - 1) / 2)
            if any(self._carriers):
                chip = deramp(chip, self._carriers[0], tops[k], lefts[k], mid)
                window = deramp(window, self._carriers[1], tops[k] + g_r - sr,
                                lefts[k] + g_c - sc, (mid[0] + g_r, mid[1] + g_c))
            res = correlate_chip(chip, window, oversampling=self.oversampling,
                                 method=self.chip_method,
                                 phase=phase if self.chip_method == "complex" else None)
            return "measured", (centroid, g_r + res.row - ref[0], g_c + res.col - ref[1],
                                res.correlation, res.snr)

        from peppers.ppe.executor import default_threads

        with ThreadPoolExecutor(self.threads or default_threads()) as pool:
            measured = list(pool.map(measure, range(n)))
        status = np.array([s for s, _ in measured], dtype=object)
        nan = float("nan")
        rows = np.array([m[0][0] if m else tops[k] + (nr - 1) / 2
                         for k, (_, m) in enumerate(measured)])
        cols = np.array([m[0][1] if m else lefts[k] + (nc - 1) / 2
                         for k, (_, m) in enumerate(measured)])
        dr = np.array([m[1] if m else nan for _, m in measured])
        dc = np.array([m[2] if m else nan for _, m in measured])
        corr = np.array([m[3] if m else 0.0 for _, m in measured])
        snr = np.array([m[4] if m else 0.0 for _, m in measured])
        status[(status == "measured") & (snr < self.snr_threshold)] = "low_snr"
        status[(status == "measured") & (corr < self.correlation_threshold)] = "low_correlation"
        keep = status == "measured"
        fitted = None
        counts = {s: int((status == s).sum()) for s in sorted(set(status))}
        if keep.sum() < self.min_chips:
            record["reason"] = (f"only {int(keep.sum())} of {n} chips passed the SNR/correlation "
                                f"tests (min_chips={self.min_chips}; by status {counts}): "
                                "the geometric offsets alone")
        else:
            sigma = bamler_eineder_sigma(corr, nr * nc)
            try:
                fit = fit_offsets(rows, cols, np.nan_to_num(dr), np.nan_to_num(dc), sigma, keep,
                                  order=self.refinement_order, center=center, scale=scale,
                                  cull_threshold=self.cull_threshold,
                                  cull_max_iterations=self.cull_max_iterations)
            except OperatorError as error:
                fit = None
                record["reason"] = f"{error}: the geometric offsets alone"
            if fit is not None:
                status[keep & ~fit.accepted] = "culled"
                status[fit.accepted] = "accepted"
                accepted = int(fit.accepted.sum())
                record["n_accepted"] = accepted
                if accepted < self.min_chips:
                    record["reason"] = (f"{accepted} chips accepted after culling, fewer than "
                                        f"min_chips={self.min_chips}: the geometric offsets "
                                        "alone")
                else:
                    w = 1.0 / sigma[fit.accepted] ** 2

                    def rms(e: np.ndarray) -> float:
                        return float(np.sqrt(np.sum(w * e[fit.accepted] ** 2) / np.sum(w)))

                    a = design_matrix(rows[fit.accepted], cols[fit.accepted],
                                      self.refinement_order, center, scale)
                    normal_inv = np.linalg.inv(a.T @ (a * w[:, None]))
                    dof = max(int(fit.accepted.sum()) - a.shape[1], 1)
                    # overlapping chips share pixels: not independent measurements
                    overlap = max(1.0, float(fit.accepted.sum()) * nr * nc
                                  / (shape[0] * shape[1]))
                    fitted_axes, sigmas, significant = [], [], []
                    for coef, resid in ((fit.row_coeffs, fit.residual_row),
                                        (fit.col_coeffs, fit.residual_col)):
                        factor = max(1.0, float(np.sum(w * resid[fit.accepted] ** 2)) / dof)
                        sig = np.sqrt(np.diag(normal_inv) * factor * overlap)
                        sigmas.append(sig.tolist())
                        significant.append(bool(np.max(np.abs(coef) / sig) > SIGNIFICANCE))
                        fitted_axes.append(coef if significant[-1] else np.zeros_like(coef))
                    fitted = tuple(fitted_axes)
                    applied = any(significant)
                    record.update(applied=applied,
                                  reason="correlation good enough" if applied else
                                  f"correction below {SIGNIFICANCE} sigma in both axes: the "
                                  "geometric offsets alone",
                                  significant=significant, sigma=sigmas,
                                  row_coeffs=fit.row_coeffs.tolist(),
                                  col_coeffs=fit.col_coeffs.tolist(),
                                  rms_row=rms(fit.residual_row), rms_col=rms(fit.residual_col),
                                  predicted_sigma=float(np.median(sigma[fit.accepted])))
        table = {"row": rows.tolist(), "col": cols.tolist(),
                 "row_offset": [None if np.isnan(v) else float(v) for v in dr],
                 "col_offset": [None if np.isnan(v) else float(v) for v in dc],
                 "correlation": corr.tolist(), "snr": snr.tolist(), "status": status.tolist()}
        return record, table, fitted
