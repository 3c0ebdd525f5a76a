"""write_geotiff: values, CRS, transform, tiling, no-data, bounded reads, atomic commit."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from affine import Affine

from peppers.errors import ImageError
from peppers.io.geotiff import write_geotiff
from peppers.io.raw import RawImage
from peppers.io.source import ArraySource
from peppers.ppe.operator import ImageSpec
from peppers.ppe.region import Region

TRANSFORM = (-117.5, 0.0005, 0.0, 36.7, 0.0, -0.0005)


class RecordingSource:
    """Wraps a source and records every region read (to check memory bounds)."""

    def __init__(self, inner, fail_at: int | None = None):
        self.inner, self.spec, self.fail_at, self.regions = inner, inner.spec, fail_at, []

    def read(self, region: Region) -> np.ndarray:
        if len(self.regions) == self.fail_at:
            raise RuntimeError(f"source failed at {region}")
        self.regions.append(region)
        return self.inner.read(region)


@pytest.fixture
def dem_raw(tmp_path, rng):
    dem = (rng.standard_normal((700, 530)) * 100 + 800).astype("float32")
    dem[100:140, 200:260] = np.nan
    with RawImage.create(tmp_path / "dem.vrt", ImageSpec(dem.shape, "float32", np.nan)) as img:
        img.write(Region.full(dem.shape), dem)
        img.flush()
    return RawImage.open(tmp_path / "dem.vrt"), dem


def test_product_from_raw_image_larger_than_a_block(tmp_path, dem_raw):
    raw, dem = dem_raw
    source = RecordingSource(raw)
    calls = []
    out = write_geotiff(tmp_path / "dem.tif",
                        source, crs="EPSG:4326", transform=TRANSFORM, block=256,
                        progress=lambda done, total: calls.append((done, total)))
    with rasterio.open(out) as ds:
        assert ds.driver == "GTiff" and ds.count == 1 and ds.dtypes == ("float32",)
        assert ds.crs.to_epsg() == 4326
        assert ds.transform == Affine.from_gdal(*TRANSFORM)
        assert ds.block_shapes == [(256, 256)] and ds.profile["tiled"]
        assert ds.compression.name == "deflate"
        assert np.isnan(ds.nodata)                         # taken from the source's spec
        np.testing.assert_array_equal(ds.read(1), dem)
    # Memory bound: every read is at most one block, and the reads cover the image exactly once.
    assert max(r.height for r in source.regions) <= 256 and max(r.width for r in source.regions) <= 256
    cover = np.zeros(dem.shape, int)
    for r in source.regions:
        cover[r.slices] += 1
    assert (cover == 1).all()
    assert calls == [(i, 9) for i in range(1, 10)]


def test_failure_midway_leaves_nothing_at_the_final_path(tmp_path, dem_raw):
    raw, _ = dem_raw
    with pytest.raises(RuntimeError, match="source failed"):
        write_geotiff(tmp_path / "dem.tif", RecordingSource(raw, fail_at=4), crs="EPSG:4326",
                      transform=TRANSFORM, block=128)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dem.raw", "dem.vrt"]
    # An older product stays as it was.
    old = write_geotiff(tmp_path / "old.tif", ArraySource(np.ones((20, 20), "float32")),
                        crs="EPSG:4326", transform=TRANSFORM, block=16)
    before = old.read_bytes()
    with pytest.raises(RuntimeError):
        write_geotiff(old, RecordingSource(raw, fail_at=1), crs="EPSG:4326",
                      transform=TRANSFORM, block=128)
    assert old.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


def test_complex_image_with_overviews_and_explicit_nodata(tmp_path, rng):
    slc = (rng.standard_normal((100, 90)) + 1j * rng.standard_normal((100, 90))).astype("complex64")
    out = write_geotiff(tmp_path / "slc.tif", ArraySource(slc), crs="EPSG:32611",
                        transform=Affine(10, 0, 500000, 0, -10, 4100000), nodata=0,
                        block=32, compress=None, overviews=(2, 4))
    with rasterio.open(out) as ds:
        assert ds.dtypes == ("complex64",) and ds.nodata == 0 and ds.crs.to_epsg() == 32611
        assert ds.overviews(1) == [2, 4] and ds.compression is None
        np.testing.assert_array_equal(ds.read(1), slc)


def test_bad_arguments_are_refused_before_anything_is_written(tmp_path):
    src = ArraySource(np.zeros((10, 10), "float32"))
    with pytest.raises(ValueError, match="multiple of 16, got 100"):
        write_geotiff(tmp_path / "x.tif", src, crs="EPSG:4326", transform=TRANSFORM, block=100)
    with pytest.raises(ValueError, match="6 numbers in GDAL order, got 4"):
        write_geotiff(tmp_path / "x.tif", src, crs="EPSG:4326", transform=(1, 2, 3, 4))
    with pytest.raises(ValueError, match="unknown overview resampling 'fancy'"):
        write_geotiff(tmp_path / "x.tif", src, crs="EPSG:4326", transform=TRANSFORM,
                      overviews=(2,), overview_resampling="fancy")
    with pytest.raises(ValueError, match="unknown compression 'no-such-codec'"):
        write_geotiff(tmp_path / "x.tif", src, crs="EPSG:4326", transform=TRANSFORM,
                      compress="no-such-codec")
    assert list(tmp_path.iterdir()) == []


def test_gdal_failure_is_an_image_error_naming_the_file(tmp_path):
    src = ArraySource(np.zeros((10, 10), "float32"))
    with pytest.raises(ImageError, match=r"missing/x\.tif: cannot write GeoTIFF"):
        write_geotiff(tmp_path / "missing" / "x.tif", src, crs="EPSG:4326", transform=TRANSFORM)
    assert list(tmp_path.iterdir()) == []
