"""open_source: raw fast path, GDAL rasters by window, per-thread handles, ArraySource."""

from __future__ import annotations

import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import rasterio
from affine import Affine

from peppers.errors import ImageError, ImageMismatchError
from peppers.io.raw import RawImage
from peppers.io.source import ArraySource, GdalSource, open_source
from peppers.ppe.operator import ImageSpec
from peppers.ppe.region import Region, TileGrid


def make_tiff(path, array, **extra):
    profile = dict(driver="GTiff", height=array.shape[0], width=array.shape[1], count=1,
                   dtype=array.dtype.name, tiled=True, blockxsize=32, blockysize=32, **extra)
    with warnings.catch_warnings():                   # radar geometry: no geotransform
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(array, 1)


def test_geotiff_opens_through_gdal_with_spec_and_windowed_reads(tmp_path, rng):
    dem = rng.standard_normal((90, 70)).astype("float32")
    transform = Affine(0.001, 0, -117.5, 0, -0.001, 36.7)
    make_tiff(tmp_path / "dem.tif", dem, crs="EPSG:4326", transform=transform, nodata=-9999.0)
    with open_source(tmp_path / "dem.tif") as src:
        assert isinstance(src, GdalSource)
        assert src.spec == ImageSpec((90, 70), "float32", -9999.0)
        assert src.spec.geo["transform"] == transform.to_gdal()
        assert rasterio.crs.CRS.from_wkt(src.spec.geo["crs"]).to_epsg() == 4326
        for region in (Region(0, 0, 90, 70), Region(17, 33, 40, 5), Region(89, 69, 1, 1),
                       Region(5, 5, 0, 3)):
            np.testing.assert_array_equal(src.read(region), dem[region.slices])


def test_threads_get_their_own_dataset_handles(tmp_path, rng):
    slc = (rng.standard_normal((128, 96)) + 1j * rng.standard_normal((128, 96))).astype("complex64")
    make_tiff(tmp_path / "slc.tif", slc)              # radar geometry: no CRS, no transform
    src = open_source(tmp_path / "slc.tif")
    assert src.spec.geo is None and src.spec.dtype == np.dtype("complex64")
    grid = TileGrid(slc.shape, (20, 24))
    seen = set()

    def read(tile):
        seen.add((threading.get_ident(), id(src._dataset())))
        return src.read(tile)

    with ThreadPoolExecutor(4) as pool:
        for _ in range(3):
            for tile, got in zip(grid, pool.map(read, grid)):
                np.testing.assert_array_equal(got, slc[tile.slices])
    threads = {t for t, _ in seen}
    assert len({h for _, h in seen}) == len(threads) >= 2   # one handle per thread, never shared
    src.close()
    with pytest.raises(ImageError, match=r"slc\.tif: image source is closed"):
        src.read(Region(0, 0, 1, 1))


def test_raw_vrt_takes_the_fast_path_and_other_vrts_go_through_gdal(tmp_path, rng):
    a = rng.integers(0, 1000, (40, 30)).astype("uint16")
    with RawImage.create(tmp_path / "a.vrt", ImageSpec(a.shape, "uint16", nodata=0)) as img:
        img.write(Region.full(a.shape), a)
    src = open_source(tmp_path / "a.vrt")
    assert isinstance(src, RawImage) and src.mode == "r" and src.spec.nodata == 0
    np.testing.assert_array_equal(src.read(Region(3, 4, 10, 20)), a[3:13, 4:24])
    make_tiff(tmp_path / "b.tif", a)
    (tmp_path / "mosaic.vrt").write_text(
        '<VRTDataset rasterXSize="30" rasterYSize="40"><VRTRasterBand dataType="UInt16" band="1">'
        '<SimpleSource><SourceFilename relativeToVRT="1">b.tif</SourceFilename>'
        '<SourceBand>1</SourceBand></SimpleSource></VRTRasterBand></VRTDataset>')
    mosaic = open_source(tmp_path / "mosaic.vrt")
    assert isinstance(mosaic, GdalSource)
    np.testing.assert_array_equal(mosaic.read(Region(3, 4, 10, 20)), a[3:13, 4:24])


def test_missing_and_unreadable_files_name_the_file(tmp_path):
    with pytest.raises(ImageError, match=r"nothere\.tif: no such image"):
        open_source(tmp_path / "nothere.tif")
    (tmp_path / "junk.tif").write_bytes(b"this is not a raster")
    with pytest.raises(ImageError, match=r"junk\.tif: GDAL cannot open it"):
        open_source(tmp_path / "junk.tif")


def test_region_outside_a_gdal_image_is_refused(tmp_path):
    make_tiff(tmp_path / "s.tif", np.zeros((10, 10), "uint8"))
    with open_source(tmp_path / "s.tif") as src, \
            pytest.raises(ImageMismatchError, match=r"s\.tif: Region\(row=5, col=5, height=6"):
        src.read(Region(5, 5, 6, 1))


def test_array_source_reads_copies_and_accepts_writes():
    data = np.arange(20.0).reshape(4, 5)
    src = ArraySource(data, nodata=-1.0)
    assert src.spec == ImageSpec((4, 5), "float64", -1.0)
    tile = src.read(Region(1, 1, 2, 2))
    tile[:] = 0                                          # a read is a copy
    assert data[1, 1] == 6.0
    src.write(Region(0, 3, 2, 2), np.ones((2, 2)))
    assert data[0:2, 3:5].tolist() == [[1.0, 1.0], [1.0, 1.0]]
    with pytest.raises(ImageMismatchError, match="does not fit"):
        src.write(Region(0, 0, 1, 1), np.ones((2, 2)))
    with pytest.raises(ImageMismatchError, match="outside the image"):
        src.read(Region(3, 0, 2, 1))
    with pytest.raises(ImageMismatchError, match="2-D"):
        ArraySource(np.zeros(3))
