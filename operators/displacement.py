"""Line-of-sight displacement from the unwrapped differential phase.

The unwrapped differential phase ``phi`` (``arg(master * conj(slave))`` with
the topography of the reference DEM removed) holds ``-4 pi d_los / lambda``
for a displacement ``d_los`` along the line of sight, **positive towards the
satellite** (the MintPy and HyP3 convention; ``docs/dinsar.md``), plus an
unknown constant per unwrapped component. So

    d_los = -lambda / (4 pi) * (phi - phi_ref)

with ``phi_ref`` the phase of a reference chosen by
``insar.displacement.reference`` (recorded with the result):

``median``
    the median phase of the largest connected component (default: a
    displacement map relative to the bulk of that component);
``pixel``
    the phase at ``insar.displacement.reference_pixel`` ``[row, col]`` of the
    multilooked grid (a 3 x 3 median around it);
``latlon``
    the phase at the pixel nearest ``insar.displacement.reference_latlon``
    ``[lat, lon]`` (needs the multilooked latitude and longitude).

Only the reference pixel's component gets a displacement; other components
have no common constant with it and are NaN.

References
----------
R. F. Hanssen (2001), *Radar Interferometry*, sec. 2.5; Z. Yunjun, H. Fattahi,
F. Amelung (2019), "Small baseline InSAR time series analysis: unwrapping
error correction and noise reduction", Computers & Geosciences 133:104331
(MintPy: the reference point and the sign).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Mapping

import numpy as np

from peppers.errors import OperatorError
from peppers.image import ImageSource, ImageSpec, Region
from peppers.operator import LocalOperator, Param, ReductionOperator
from peppers.scene import scene_from_mapping

__all__ = ["DisplacementReference", "LosDisplacement", "choose_reference"]

METHODS = ("median", "pixel", "latlon")


def choose_reference(phase: np.ndarray, components: np.ndarray, method: str, *,
                     pixel=None, latlon=None, lat=None, lon=None) -> dict[str, Any]:
    """The reference phase and where it comes from (module docstring).

    Returns
    -------
    dict
        ``method``, ``component``, ``phase_rad``, ``row``, ``col``.

    Raises
    ------
    OperatorError
        Unknown method, a reference outside the image or without phase.
    """
    good = np.isfinite(phase) & (components > 0)
    if not good.any():
        raise OperatorError("displacement reference: no unwrapped pixel")
    if method == "median":
        ids, counts = np.unique(components[good], return_counts=True)
        comp = int(ids[np.argmax(counts)])
        values = phase[good & (components == comp)]
        value = float(np.median(values))
        k = int(np.argmin(np.abs(np.where(good & (components == comp), phase, np.inf) - value)))
        row, col = np.unravel_index(k, phase.shape)
    elif method in ("pixel", "latlon"):
        if method == "pixel":
            if pixel is None or len(pixel) != 2:
                raise OperatorError("displacement reference: method pixel needs "
                                    "insar.displacement.reference_pixel [row, col]")
            row, col = int(pixel[0]), int(pixel[1])
        else:
            if latlon is None or len(latlon) != 2 or lat is None or lon is None:
                raise OperatorError("displacement reference: method latlon needs "
                                    "insar.displacement.reference_latlon [lat, lon] and the "
                                    "multilooked latitude/longitude")
            scale = math.cos(math.radians(float(latlon[0])))
            d2 = (lat - latlon[0]) ** 2 + ((lon - latlon[1]) * scale) ** 2
            if not np.isfinite(d2).any():
                raise OperatorError("displacement reference: no multilooked pixel has a position")
            row, col = np.unravel_index(int(np.nanargmin(d2)), d2.shape)
            step = np.nanmedian(np.hypot(np.diff(lat, axis=1), np.diff(lon, axis=1) * scale))
            if math.sqrt(float(d2[row, col])) > 3 * step:
                raise OperatorError(f"displacement reference: insar.displacement.reference_latlon "
                                    f"{list(latlon)} is outside the scene (nearest pixel "
                                    f"{math.sqrt(float(d2[row, col])) * 111.2:.1f} km away)")
        if not (0 <= row < phase.shape[0] and 0 <= col < phase.shape[1]):
            raise OperatorError(f"displacement reference: pixel ({row}, {col}) is outside the "
                                f"{phase.shape[0]} x {phase.shape[1]} grid")
        comp = int(components[row, col])
        window = (slice(max(row - 1, 0), row + 2), slice(max(col - 1, 0), col + 2))
        near = phase[window][good[window] & (components[window] == comp)]
        if comp <= 0 or near.size == 0:
            raise OperatorError(f"displacement reference: pixel ({row}, {col}) has no unwrapped "
                                "phase; choose another")
        value = float(np.median(near))
    else:
        raise OperatorError(f"displacement reference: method {method!r} must be one of "
                            f"{', '.join(METHODS)}")
    return {"method": method, "component": comp, "phase_rad": value, "row": int(row),
            "col": int(col)}


class DisplacementReference(ReductionOperator):
    """The reference of the displacement map (``insar.displacement.reference``).

    Inputs: the unwrapped differential phase, its components, and the
    multilooked latitude and longitude of the radar geometry (read only for
    ``latlon``; the chosen pixel's position is recorded with the result).
    """

    name: ClassVar[str] = "displacement_reference"
    inputs: ClassVar[tuple[str, ...]] = ("unwrapped", "components", "lat", "lon")
    outputs: ClassVar[tuple[str, ...]] = ("result",)
    params = (Param("method", str, "median", "reference: median (of the largest component), "
                    "pixel or latlon", key="insar.displacement.reference", choices=METHODS),
              Param("pixel", list, [], "reference pixel [row, col] (multilooked grid)",
                    key="insar.displacement.reference_pixel"),
              Param("latlon", list, [], "reference position [lat, lon], degrees",
                    key="insar.displacement.reference_latlon"))

    def reduce(self, sources: Mapping[str, ImageSource]) -> dict[str, Any]:
        full = Region.full(sources["unwrapped"].spec.shape)
        phase = np.asarray(sources["unwrapped"].read(full), dtype=np.float64)
        comps = np.asarray(sources["components"].read(full), dtype=np.int64)
        lat = lon = None
        if self.method == "latlon":
            lat = np.asarray(sources["lat"].read(full), dtype=np.float64)
            lon = np.asarray(sources["lon"].read(full), dtype=np.float64)
            if lat.shape != phase.shape:
                raise OperatorError(f"{self.label}: latitude {lat.shape} and unwrapped phase "
                                    f"{phase.shape} are not on one grid")
        result = choose_reference(phase, comps, self.method, pixel=self.pixel or None,
                                  latlon=self.latlon or None, lat=lat, lon=lon)
        if self.method == "latlon":
            result["lat"] = float(lat[result["row"], result["col"]])
            result["lon"] = float(lon[result["row"], result["col"]])
        return result


class LosDisplacement(LocalOperator):
    """``d_los = -lambda / (4 pi) (phi - phi_ref)`` in the reference's component, else NaN.

    Input ``lat`` is the multilooked latitude of the radar geometry: where it
    is NaN a block holds reference-DEM voids, which have no topographic phase
    (the differential interferogram is zero there), so its phase is not the
    deformation; those pixels are NaN too. (Measured: on a 480 x 384 scene
    with 2 voids the unwrapped phase in void blocks was off by 1.4-3 cm of
    LOS with the chain's coherence still 0.84 -- the "0.28 % blunders" of
    ``docs/dinsar.md``.)
    """

    name: ClassVar[str] = "los_displacement"
    inputs: ClassVar[tuple[str, ...]] = ("unwrapped", "components", "lat")
    outputs: ClassVar[tuple[str, ...]] = ("output",)
    params = (Param("master", dict, {}, "master scene metadata (inputs.master)"),
              Param("reference", dict, {}, "the reference (insar.displacement.result)"))

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        self.wavelength_m = scene_from_mapping(self.master, "inputs.master").wavelength_m
        if "phase_rad" not in self.reference or "component" not in self.reference:
            raise OperatorError(f"{self.label}: reference needs phase_rad and component "
                                "(map it to insar.displacement.result)")

    def output_spec(self, input_specs: Mapping[str, ImageSpec]) -> dict[str, ImageSpec]:
        spec = input_specs["unwrapped"]
        return {"output": ImageSpec(spec.shape, np.float32, float("nan"), spec.geo)}

    def compute(self, inputs: Mapping[str, np.ndarray],
                output_region: Region) -> dict[str, np.ndarray]:
        phase = np.asarray(inputs["unwrapped"], dtype=np.float64)
        same = np.asarray(inputs["components"]) == int(self.reference["component"])
        same &= np.isfinite(np.asarray(inputs["lat"], dtype=np.float64))
        d = -self.wavelength_m / (4.0 * math.pi) * (phase - float(self.reference["phase_rad"]))
        return {"output": np.where(same, d, np.nan).astype(np.float32)}
