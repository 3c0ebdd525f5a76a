"""The product export: valid COGs, units, descriptions, vertical datum, one atomic write."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import rasterio
from rasterio.crs import CRS

from support.cog import assert_valid_product
from peppers.io.raw import RawImage
from peppers.operators.export import KINDS, export_product, main
from peppers.image import ImageSpec
from peppers.image import Region

TRANSFORM = (-117.5, 0.0005, 0.0, 36.7, 0.0, -0.0005)


def _map_image(folder, name, values, crs="EPSG:4326", transform=TRANSFORM):
    spec = ImageSpec(values.shape, "float32", float("nan"), {"crs": crs, "transform": transform})
    with RawImage.create(folder / f"{name}.vrt", spec) as image:
        image.write(Region.full(values.shape), values.astype("float32"))
        image.flush()
    return folder / f"{name}.vrt"


@pytest.fixture
def heights(tmp_path, rng):
    values = (rng.standard_normal((700, 900)) * 50 + 1200).astype("float32")
    values[:50, :80] = np.nan
    return _map_image(tmp_path, "height_map", values), values


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_is_a_valid_cog_with_unit_and_description(tmp_path, heights, kind):
    src, values = heights
    dst = tmp_path / f"{kind}.tif"
    export_product(str(src), str(dst), block=256, kind=kind)
    assert_valid_product(dst)
    with rasterio.open(dst) as ds:
        assert ds.units == (KINDS[kind].unit,) and ds.descriptions == (KINDS[kind].description,)
        assert ds.overviews(1) == [2, 4]       # halved until 900 columns fit a 256-pixel tile
        assert ds.compression.name == "deflate"
        assert ds.tags(ns="IMAGE_STRUCTURE")["PREDICTOR"] == "3"     # float predictor
        assert np.isnan(ds.nodata)
        np.testing.assert_array_equal(ds.read(1), values)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["height_map.raw", "height_map.vrt", f"{kind}.tif"])          # no temporary left


def test_absolute_heights_state_the_ellipsoid_in_the_crs(tmp_path, heights):
    src, _ = heights
    dst = tmp_path / "geocoded_dem.tif"
    assert main([str(src), str(dst), "--kind", "dem", "--block", "256", "--heights", "gcps"]) == 0
    with rasterio.open(dst) as ds:
        assert ds.crs == CRS.from_epsg(4979)               # WGS 84 with ellipsoidal height
        assert "ellipsoidal height" in ds.crs.to_wkt().lower()
        tags = ds.tags()
        assert tags["HEIGHTS"] == "absolute" and tags["VERTICAL_DATUM"] == "WGS 84 ellipsoid"
        assert "gcps" in tags["HEIGHT_REFERENCE"] and tags["UNITS"] == "m"
    relative = tmp_path / "relative.tif"
    assert main([str(src), str(relative), "--kind", "dem", "--heights", "relative"]) == 0
    with rasterio.open(relative) as ds:
        assert ds.crs == CRS.from_epsg(4326) and ds.tags()["HEIGHTS"] == "relative"
        assert "VERTICAL_DATUM" not in ds.tags()


def test_projected_grid_keeps_its_crs_and_names_the_datum_in_a_tag(tmp_path, rng):
    src = _map_image(tmp_path, "utm", rng.random((40, 50)) * 10, crs="EPSG:32611",
                     transform=(500000.0, 30.0, 0.0, 4100000.0, 0.0, -30.0))
    export_product(str(src), str(tmp_path / "dem.tif"), block=16, kind="dem",
                   tags={"HEIGHTS": "absolute", "VERTICAL_DATUM": "WGS 84 ellipsoid"})
    assert_valid_product(tmp_path / "dem.tif")
    with rasterio.open(tmp_path / "dem.tif") as ds:
        assert ds.crs.to_epsg() == 32611 and ds.tags()["VERTICAL_DATUM"] == "WGS 84 ellipsoid"


def test_no_product_write_reopens_its_final_file(tmp_path, heights, monkeypatch):
    """Every dataset GDAL opens during the export is a hidden temporary, never the product."""
    src, _ = heights
    dst = tmp_path / "geocoded_dem.tif"
    opened = []
    real_open = rasterio.open

    def recording_open(path, mode="r", *args, **kwargs):
        opened.append((str(path), mode))
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(rasterio, "open", recording_open)
    export_product(str(src), str(dst), block=256, kind="dem", tags={"HEIGHTS": "absolute"})
    monkeypatch.undo()
    written = [(p, m) for p, m in opened if m != "r"]
    assert written and all(p.split("/")[-1].startswith(".geocoded_dem.tif") for p, _ in written)
    assert str(dst) not in [p for p, _ in opened]
    with rasterio.open(dst) as ds:                        # tags written before the rename
        assert ds.tags()["HEIGHTS"] == "absolute"


def test_command_line_refuses_an_image_without_georeferencing(tmp_path):
    with RawImage.create(tmp_path / "plain.vrt", ImageSpec((8, 8), "float32", np.nan)) as image:
        image.flush()
    result = subprocess.run([sys.executable, "-m", "peppers.operators.export",
                             str(tmp_path / "plain.vrt"), str(tmp_path / "x.tif")],
                            capture_output=True, text=True)
    assert result.returncode == 1 and "plain.vrt: no CRS or geotransform" in result.stderr
    assert not (tmp_path / "x.tif").exists()
