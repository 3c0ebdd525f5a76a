"""Terrain correction and geocoding onto a regular map grid, tile by tile.

Design
------
Phase to height gives every radar pixel its latitude, longitude and height,
so terrain correction is exact: a pixel goes where its own ground point is,
not where a reference surface would put it. Geocoding is then a resampling
of radar-grid values onto a map grid, done *backwards* per map tile (as
ISCE3 geocode), in three steps:

1. :class:`MapGrid` (a reduction) reads the radar lat/lon/height images once
   and fixes the grid: the CRS (``products.crs``, EPSG:4326 by default; any
   CRS rasterio's PROJ knows), the posting (``products.posting``, CRS
   units), the bounds of the footprint snapped to the posting, and the
   height range. It is stored in HKV (``products.grid``).
2. :meth:`Geocode.input_region` -- the coarse inverse lookup: the edges of an
   output map tile are sampled (every 16 map pixels), taken to lat/lon, and
   mapped into the radar grid by ``geo2rdr`` on the master orbit at the
   lowest and highest height of the scene. A map point's radar position lies
   between those two (its true height is between them), and the tile's
   interior maps inside the image of its boundary, so the bounding box of
   these points plus two pixels holds every radar quad that overlaps the tile.
3. :meth:`Geocode.compute` maps the radar pixels of that region to map
   coordinates and scans their quads (``_geocode_kernels.rasterize_quads``):
   Newton inverse of the quad's bilinear map, then bilinear (or nearest)
   interpolation in radar coordinates (unmeasured corners drop out while
   the measured ones carry at least half the weight). Map pixels no quad
   covers, or too close to unmeasured radar pixels, are NaN.

Every map pixel is computed from the same quads in the same order whatever
the tiling, so tiles and threads give identical products.

Layover and shadow. Where the radar sees two ground patches in one pixel
(layover) or none (shadow) the pixel's value belongs to no single map
position, and "first finite value wins" would paint it onto the map anyway.
:class:`GeocodeMasked` takes the layover/shadow mask of the radar geometry
(``docs/dinsar.md``) as a fourth input and blanks those radar pixels before
the quads are scanned: a map pixel then gets a value only from clear radar
pixels (the bilinear weights of masked corners drop out, as for any
unmeasured corner), so **no geocoded value comes from a layover or shadow
pixel** (ISCE3 geocode skips masked radar pixels the same way).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Mapping

import numpy as np

from peppers.errors import OperatorError
from peppers.image import ImageSource, ImageSpec, Region
from peppers.operator import LocalOperator, Param, ReductionOperator
from peppers.operators import _geocode_kernels as kernels
from peppers.operators.flat_earth import ORBIT_NODES
from peppers.operators.height import radar_looks

__all__ = ["MapGrid", "Geocode", "GeocodeMasked", "GeocodeMaskedLabels", "to_map",
           "is_geographic"]

WGS84 = "EPSG:4326"
#: Map pixels between samples of a tile edge in the inverse lookup.
EDGE_STEP = 16
#: Radar pixels added around the looked-up region.
REGION_MARGIN = 2


def is_geographic(crs: str) -> bool:
    """True for EPSG:4326 itself (x = longitude, y = latitude, no transform needed)."""
    return str(crs).strip().upper() in ("EPSG:4326", "EPSG:4979", "WGS84", "OGC:CRS84")


def to_map(crs: str, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Map coordinates ``(x, y)`` of geodetic points (NaN kept), via PROJ.

    Raises
    ------
    OperatorError
        If rasterio does not know ``crs``.
    """
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    if is_geographic(crs):
        return lon, lat
    from rasterio.errors import CRSError
    from rasterio.warp import transform

    x = np.full(lat.shape, np.nan)
    y = np.full(lat.shape, np.nan)
    ok = np.isfinite(lat) & np.isfinite(lon)
    if ok.any():
        try:
            xs, ys = transform(WGS84, crs, lon[ok].tolist(), lat[ok].tolist())
        except CRSError as error:
            raise OperatorError(f"products.crs: {crs!r} is not a CRS rasterio knows "
                                f"({error})") from None
        x[ok], y[ok] = xs, ys
    return x, y


def from_map(crs: str, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Geodetic ``(lat, lon)`` of map points."""
    if is_geographic(crs):
        return np.asarray(y, dtype=np.float64), np.asarray(x, dtype=np.float64)
    from rasterio.warp import transform

    lon, lat = transform(crs, WGS84, np.ravel(x).tolist(), np.ravel(y).tolist())
    return np.asarray(lat).reshape(np.shape(x)), np.asarray(lon).reshape(np.shape(x))


class MapGrid(ReductionOperator):
    """The product grid: CRS, posting, snapped bounds and height range of the footprint.

    Parameters
    ----------
    crs : str
        Product CRS (``products.crs``).
    posting : float
        Pixel size in CRS units (``products.posting``).
    margin : int
        Empty map pixels around the footprint.

    Returns (``reduce``)
    --------------------
    dict
        ``crs``, ``posting``, ``transform`` (GDAL order), ``shape`` [rows, cols],
        ``height_range_m`` [min, max].
    """

    name: ClassVar[str] = "map_grid"
    inputs: ClassVar[tuple[str, ...]] = ("lat", "lon", "height")
    outputs: ClassVar[tuple[str, ...]] = ("grid",)
    params = (Param("crs", str, WGS84, "product CRS", key="products.crs"),
              Param("posting", float, 1.0 / 3600.0, "pixel size, CRS units",
                    key="products.posting", gt=0),
              Param("margin", int, 2, "empty map pixels around the footprint"))

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        if not self.posting > 0:
            raise ValueError(f"posting must be > 0, got {self.posting!r}")

    def reduce(self, sources: Mapping[str, ImageSource]) -> dict[str, Any]:
        shape = sources["lat"].spec.shape
        bounds = [np.inf, np.inf, -np.inf, -np.inf]
        heights = [np.inf, -np.inf]
        rows = max(1, (1 << 20) // max(1, shape[1]))
        for r0 in range(0, shape[0], rows):
            block = Region(r0, 0, min(rows, shape[0] - r0), shape[1])
            x, y = to_map(self.crs, sources["lat"].read(block), sources["lon"].read(block))
            h = np.asarray(sources["height"].read(block), dtype=np.float64)
            if np.isfinite(x).any():
                bounds = [min(bounds[0], np.nanmin(x)), min(bounds[1], np.nanmin(y)),
                          max(bounds[2], np.nanmax(x)), max(bounds[3], np.nanmax(y))]
            if np.isfinite(h).any():
                heights = [min(heights[0], float(np.nanmin(h))),
                           max(heights[1], float(np.nanmax(h)))]
        if not np.isfinite(bounds[0]):
            raise OperatorError(f"{self.label}: no radar pixel has a position (lat/lon all NaN)")
        if not np.isfinite(heights[0]):
            heights = [0.0, 0.0]
        p, m = self.posting, self.margin
        x0 = (math.floor(bounds[0] / p) - m) * p
        y0 = (math.ceil(bounds[3] / p) + m) * p
        cols = int(math.ceil((bounds[2] - x0) / p)) + m + 1
        nrows = int(math.ceil((y0 - bounds[1]) / p)) + m + 1
        return {"crs": self.crs, "posting": p, "transform": [x0, p, 0.0, y0, 0.0, -p],
                "shape": [nrows, cols], "height_range_m": heights}


class Geocode(LocalOperator):
    """Terrain-corrected geocoding of one radar-grid image onto the product grid.

    Parameters
    ----------
    grid : dict
        The :class:`MapGrid` result (``products.grid``).
    master : dict
        Master scene metadata (``inputs.master``), for the inverse lookup.
    looks : tuple of int
        ``insar.multilook.looks`` (square looks as the multilook rules).
    resampling : str
        ``bilinear`` or ``nearest`` (``products.resampling``).
    height_margin_m : float
        Added below and above the grid's height range in the lookup.

    Raises
    ------
    OperatorError
        On a malformed grid or an unknown resampling.

    References
    ----------
    .. [1] ISCE3 ``geocode`` (backward geocoding, BILINEAR), ``Geo2rdr.h``.
    .. [2] D. Small, A. Schubert, "Guide to ASAR geocoding", ESA RSL-ASAR-GC-AD,
       2008, sec. 3 (terrain-corrected geocoding with the orbit and heights).
    """

    name: ClassVar[str] = "geocode"
    inputs: ClassVar[tuple[str, ...]] = ("lat", "lon", "value")
    outputs: ClassVar[tuple[str, ...]] = ("output",)
    edge_mode: ClassVar[str] = "nodata"
    params = (Param("grid", dict, {}, "product grid (products.grid)"),
              Param("master", dict, {}, "master scene metadata (inputs.master)"),
              Param("looks", tuple, (5, 5), "multilook looks", key="insar.multilook.looks", ge=1),
              Param("resampling", str, "bilinear", "bilinear or nearest",
                    key="products.resampling", choices=("nearest", "bilinear")),
              Param("height_margin_m", float, 50.0, "height margin of the inverse lookup, m"),
              ORBIT_NODES)

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        from peppers.scene import scene_from_mapping

        if self.resampling not in ("bilinear", "nearest"):
            raise OperatorError(f"{self.label}: products.resampling must be bilinear or "
                                f"nearest, got {self.resampling!r}")
        try:
            self._crs = str(self.grid["crs"])
            self._gt = [float(v) for v in self.grid["transform"]]
            self._shape = (int(self.grid["shape"][0]), int(self.grid["shape"][1]))
            lo, hi = (float(v) for v in self.grid["height_range_m"])
        except (KeyError, TypeError, ValueError, IndexError) as error:
            raise OperatorError(f"{self.label}: parameter grid is not a map grid "
                                f"(products.grid): {error}") from None
        if not self.master:
            raise OperatorError(f"{self.label}: parameter master (inputs.master) is required")
        self._heights = (lo - self.height_margin_m, hi + self.height_margin_m)
        self._scene = scene_from_mapping(self.master, "inputs.master")
        self._orbit = self._scene.orbit(self.orbit_nodes)
        self.looks = radar_looks(self.master, self.looks)

    def output_spec(self, input_specs: Mapping[str, ImageSpec]) -> dict[str, ImageSpec]:
        return {"output": ImageSpec(self._shape, np.float32, float("nan"),
                                    {"crs": self._crs, "transform": tuple(self._gt)})}

    def _edge_points(self, region: Region) -> tuple[np.ndarray, np.ndarray]:
        """Map (x, y) of points along the edges of ``region`` (pixel corners)."""
        def ticks(start: int, size: int) -> np.ndarray:
            n = max(2, -(-size // EDGE_STEP) + 1)
            return np.linspace(start, start + size, n)

        rows, cols = ticks(region.row, region.height), ticks(region.col, region.width)
        r = np.concatenate([np.full(cols.size, rows[0]), np.full(cols.size, rows[-1]), rows, rows])
        c = np.concatenate([cols, cols, np.full(rows.size, cols[0]), np.full(rows.size, cols[-1])])
        x0, px, _, y0, _, py = self._gt
        return x0 + c * px, y0 + r * py

    def input_region(self, output_region: Region,
                     input_specs: Mapping[str, ImageSpec]) -> dict[str, Region]:
        from peppers.geometry.ellipsoid import llh_to_ecef
        from peppers.geometry.scene_geometry import scene_geo2rdr

        shape = input_specs["lat"].shape
        lat, lon = from_map(self._crs, *self._edge_points(output_region))
        t, r = [], []
        for h in self._heights:
            ti, ri = scene_geo2rdr(self._scene, llh_to_ecef(lat, lon, np.full(lat.shape, h)),
                                   orbit=self._orbit, on_failure="nan")
            t.append(ti)
            r.append(ri)
        t, r = np.concatenate(t), np.concatenate(r)
        ok = np.isfinite(t) & np.isfinite(r)
        limit = Region.full(shape).grow(REGION_MARGIN, REGION_MARGIN)
        if not ok.any():
            return {port: Region(0, 0, 1, 1) for port in self.inputs}
        la, lr = self.looks
        rows = (t[ok] / self._scene.line_interval_s - (la - 1) / 2.0) / la
        cols = ((r[ok] - self._scene.first_sample_m) / self._scene.sample_spacing_m
                - (lr - 1) / 2.0) / lr
        r0 = int(math.floor(rows.min())) - REGION_MARGIN
        c0 = int(math.floor(cols.min())) - REGION_MARGIN
        r1 = int(math.ceil(rows.max())) + REGION_MARGIN + 1
        c1 = int(math.ceil(cols.max())) + REGION_MARGIN + 1
        found = Region(r0, c0, max(1, r1 - r0), max(1, c1 - c0)).intersection(limit)
        if found.is_empty:
            found = Region(0, 0, 1, 1)
        return {port: found for port in self.inputs}

    def compute(self, inputs: Mapping[str, np.ndarray],
                output_region: Region) -> dict[str, np.ndarray]:
        x, y = to_map(self._crs, inputs["lat"], inputs["lon"])
        x0, px, _, y0, _, py = self._gt
        u = np.ascontiguousarray((x - x0) / px - 0.5)
        v = np.ascontiguousarray((y - y0) / py - 0.5)
        values = np.ascontiguousarray(inputs["value"], dtype=np.float64)
        out = np.empty(output_region.shape, np.float32)
        state = np.empty(output_region.shape, np.int8)
        if out.size:
            kernels.rasterize_quads(v, u, values, output_region.row, output_region.col,
                                    self.resampling == "nearest", out, state)
        return {"output": out}


class GeocodeMasked(Geocode):
    """:class:`Geocode` with layover/shadow pixels left out (module docstring).

    Inputs ``lat``, ``lon``, ``value`` as :class:`Geocode`, and ``mask``
    (uint8 on the same radar grid, 0 clear; any other code masks the pixel).
    """

    name: ClassVar[str] = "geocode_masked"
    inputs: ClassVar[tuple[str, ...]] = ("lat", "lon", "value", "mask")

    def compute(self, inputs: Mapping[str, np.ndarray],
                output_region: Region) -> dict[str, np.ndarray]:
        mask = np.asarray(inputs["mask"])
        value = np.asarray(inputs["value"], dtype=np.float64)
        clear = np.where(np.isfinite(mask), mask, 1) == 0 if mask.dtype.kind == "f" else mask == 0
        return super().compute({"lat": inputs["lat"], "lon": inputs["lon"],
                                "value": np.where(clear, value, np.nan)}, output_region)


class GeocodeMaskedLabels(GeocodeMasked):
    """:class:`GeocodeMasked` of labels: nearest neighbour by default (labels stay labels)."""

    name: ClassVar[str] = "geocode_masked_labels"
    params = tuple(Param("resampling", str, "nearest", "nearest or bilinear",
                         key="products.label_resampling", choices=("nearest", "bilinear"))
                   if p.name == "resampling" else p for p in Geocode.params)
