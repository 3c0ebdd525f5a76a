"""GeoTIFF export of map images: the command line of the product rules.

Local and global rules store images as raw + VRT (``images/NAME.raw.vrt``);
products leave peppers as Cloud-Optimized GeoTIFFs (``products/NAME.tif``,
the input contract's DEM product). The DRS writes files of other formats
only through *command* rules, so the product rules (``rules/insar.yaml``)
run this module::

    python3 -m peppers.operators.export SRC.vrt DST.tif --kind dem --block 512 --heights gcps

It copies a georeferenced map image (CRS and geotransform from its VRT, set
by :class:`~peppers.operators.geocode.Geocode`) block by block into a COG
with :func:`peppers.io.geotiff.write_geotiff` (atomic, every tag before the
rename), NaN as no-data, the band description and unit of its *kind*
(:data:`KINDS`) and, for heights, what they are referenced to
(``HEIGHTS=absolute`` with the method, ``HEIGHTS=refined`` for a refined reference
DEM, or ``HEIGHTS=relative``).

Vertical datum: absolute heights on the geographic grid (``products.crs``
EPSG:4326) are written with the 3-D CRS **EPSG:4979** (WGS 84 with
ellipsoidal height), so ``gdalinfo`` and PROJ state the datum; on a
projected grid the horizontal CRS is kept and ``VERTICAL_DATUM`` says
``WGS 84 ellipsoid`` (GeoTIFF cannot carry a projected 3-D CRS with
ellipsoidal heights). Relative heights carry no vertical datum.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any, Mapping

__all__ = ["KINDS", "ProductKind", "export_product", "height_tags", "main"]


@dataclass(frozen=True)
class ProductKind:
    """What the values of one product band are.

    Attributes
    ----------
    description : str
        The band description (GDAL ``DESCRIPTION``).
    unit : str
        The band unit: ``m``, ``rad``, ``deg`` or ``1`` (dimensionless).
    resampling : str
        Overview resampling: ``average`` for continuous values, ``nearest``
        for labels and masks (an average of labels is no label).
    """

    description: str
    unit: str
    resampling: str = "average"


#: Product kinds by name (the ``--kind`` of the product rules).
KINDS: dict[str, ProductKind] = {
    "dem": ProductKind("height above the WGS 84 ellipsoid", "m"),
    "height": ProductKind("height above the WGS 84 ellipsoid", "m"),
    "coherence": ProductKind("interferometric coherence", "1"),
    "unwrapped_phase": ProductKind("unwrapped interferometric phase, flat earth removed", "rad"),
    "wrapped_phase": ProductKind("wrapped interferometric phase, flat earth removed", "rad",
                                 "nearest"),
    "unwrapped_phase_differential": ProductKind(
        "unwrapped differential interferometric phase, topography of the reference DEM removed",
        "rad"),
    "wrapped_phase_differential": ProductKind(
        "wrapped differential interferometric phase, topography of the reference DEM removed",
        "rad", "nearest"),
    "amplitude": ProductKind("master amplitude, sqrt of the multilooked power", "1"),
    "components": ProductKind("connected component label of the unwrapping (0: not unwrapped)",
                              "1", "nearest"),
    "lv_theta": ProductKind("look-vector elevation angle from the horizontal plane", "rad"),
    "lv_phi": ProductKind("look-vector azimuth angle counterclockwise from east", "rad"),
    "los_displacement": ProductKind("line-of-sight displacement, positive towards the sensor",
                                    "m"),
    "mask": ProductKind("mask (1: masked)", "1", "nearest"),
    "layover_shadow": ProductKind("layover/shadow mask (0 clear, 1 layover, 2 shadow)", "1",
                                  "nearest"),
    "los_east": ProductKind("east component of the unit vector from the ground to the "
                            "satellite", "1"),
    "los_north": ProductKind("north component of the unit vector from the ground to the "
                             "satellite", "1"),
    "los_up": ProductKind("up component of the unit vector from the ground to the satellite",
                          "1"),
    "incidence": ProductKind("incidence angle of the line of sight on the ellipsoid", "deg"),
    "value": ProductKind("value", "1"),
}

#: The 3-D CRS of absolute ellipsoidal heights on the geographic grid.
ELLIPSOIDAL_3D = "EPSG:4979"


def height_tags(method: str) -> dict[str, str]:
    """Dataset tags of a height product whose constant was fixed by ``method``.

    Examples
    --------
    >>> height_tags("relative")["HEIGHTS"], height_tags("gcps")["HEIGHTS"]
    ('relative', 'absolute')
    >>> height_tags("dem_refinement")["HEIGHTS"]
    'refined'
    """
    if method == "relative":
        return {"HEIGHTS": "relative",
                "HEIGHT_REFERENCE": "reference surface (unknown constant)"}
    if method == "dem_refinement":      # operators/dem_refinement.py, gates passed
        return {"HEIGHTS": "refined", "VERTICAL_DATUM": "WGS 84 ellipsoid",
                "HEIGHT_REFERENCE": "WGS84 ellipsoid: reference DEM plus the interferometric "
                                    "residual, voids filled interferometrically"}
    return {"HEIGHTS": "absolute", "VERTICAL_DATUM": "WGS 84 ellipsoid",
            "HEIGHT_REFERENCE": f"WGS84 ellipsoid, constant fixed by {method}"}


def export_product(src: str, dst: str, *, block: int = 512, kind: str = "value",
                   tags: Mapping[str, Any] | None = None) -> None:
    """Write the georeferenced image ``src`` as the Cloud-Optimized GeoTIFF ``dst``.

    Parameters
    ----------
    src : str
        A raw VRT (or any raster) with CRS and geotransform.
    dst : str
        The GeoTIFF to write (atomically, with all its metadata).
    block : int
        GeoTIFF tile size (``products.block``).
    kind : str
        A key of :data:`KINDS`: the band description, unit and overview resampling.
    tags : mapping, optional
        Dataset tags (e.g. :func:`height_tags`). ``HEIGHTS=absolute`` on
        EPSG:4326 writes the 3-D CRS EPSG:4979.

    Raises
    ------
    ImageError
        If ``src`` has no CRS or geotransform, or GDAL fails.
    ValueError
        For an unknown ``kind``.
    """
    import rasterio

    from peppers.errors import ImageError
    from peppers.io.geotiff import write_geotiff
    from peppers.io.source import open_source

    if kind not in KINDS:
        raise ValueError(f"unknown product kind {kind!r}; use one of {', '.join(KINDS)}")
    spec = KINDS[kind]
    with rasterio.open(src) as ds:
        crs, transform = ds.crs, ds.transform
    if crs is None or transform.is_identity:
        raise ImageError(f"{src}: no CRS or geotransform; a product needs both")
    tags = {str(k): str(v) for k, v in (tags or {}).items()}
    if tags.get("HEIGHTS") in ("absolute", "refined") and crs.to_epsg() == 4326:
        crs = ELLIPSOIDAL_3D
    tags.setdefault("UNITS", spec.unit)
    source = open_source(src)
    try:
        write_geotiff(dst, source, crs=crs, transform=transform.to_gdal(),
                      nodata=float("nan"), block=block, tags=tags,
                      description=spec.description, unit=spec.unit,
                      overview_resampling=spec.resampling)
    finally:
        getattr(source, "close", lambda: None)()


def main(argv: list[str] | None = None) -> int:
    """Command line of the product rules (see the module docstring)."""
    from peppers.errors import PeppersError

    parser = argparse.ArgumentParser(prog="python3 -m peppers.operators.export",
                                     description="export a map image as a COG product")
    parser.add_argument("src")
    parser.add_argument("dst")
    parser.add_argument("--block", type=int, default=512)
    parser.add_argument("--kind", default="value", choices=sorted(KINDS),
                        help="what the values are: band description, unit, overview resampling")
    parser.add_argument("--heights", default=None, metavar="METHOD",
                        help="absolute-phase method (relative, gcps, dem...): tag HEIGHTS")
    parser.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE",
                        help="a dataset tag (repeatable)")
    args = parser.parse_args(argv)
    tags = height_tags(args.heights) if args.heights is not None else {}
    for item in args.tag:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"--tag {item!r}: expected KEY=VALUE")
        tags[key] = value
    try:
        export_product(args.src, args.dst, block=args.block, kind=args.kind, tags=tags)
    except PeppersError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
