"""RawImage: round trips by region, GDAL agreement, header variants, errors, concurrency."""

from __future__ import annotations

import multiprocessing
import pickle
import tempfile
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import rasterio
from hypothesis import given, settings
from hypothesis import strategies as st
from rasterio.windows import Window

from peppers.errors import ImageError, ImageMismatchError
from peppers.io.raw import RawImage, raw_path_for
from peppers.io.vrt import GDAL_TYPES, RawLayout, layout_to_xml, parse_vrt
from peppers.ppe.operator import ImageSpec
from peppers.ppe.region import Region, TileGrid

DTYPES = ["uint8", "int16", "uint16", "int32", "uint32", "float32", "float64",
          "complex64", "complex128"]


def random_pixels(rng: np.random.Generator, shape, dtype) -> np.ndarray:
    """Values spanning the whole range of ``dtype`` (NaN included for floats)."""
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)
    values = rng.standard_normal(shape) * 1e3
    if dtype.kind == "c":
        values = values + 1j * rng.standard_normal(shape)
    values = values.astype(dtype)
    values.flat[:: max(1, values.size // 3)] = np.nan
    return values


def rasterio_read(vrt: Path, region: Region) -> np.ndarray:
    """GDAL's view of ``region`` of an image (radar-geometry images have no geotransform)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with rasterio.open(vrt) as ds:
            return ds.read(1, window=Window(region.col, region.row, region.width, region.height))


@st.composite
def regions(draw, shape):
    r0 = draw(st.integers(0, shape[0]))
    c0 = draw(st.integers(0, shape[1]))
    return Region.from_bounds(r0, draw(st.integers(r0, shape[0])), c0, draw(st.integers(c0, shape[1])))


@st.composite
def cases(draw):
    shape = (draw(st.integers(1, 37)), draw(st.integers(1, 41)))
    tile = (draw(st.integers(1, shape[0])), draw(st.integers(1, shape[1])))
    return (draw(st.sampled_from(DTYPES)), shape, tile,
            draw(st.lists(regions(shape), min_size=1, max_size=4)),
            draw(st.lists(regions(shape), min_size=1, max_size=4)),
            draw(st.integers(0, 2**32 - 1)))


@settings(max_examples=90)
@given(cases())
def test_round_trip_by_random_regions_equals_numpy_and_rasterio(case):
    dtype, shape, tile, overwrites, reads, seed = case
    rng = np.random.default_rng(seed)
    truth = random_pixels(rng, shape, dtype)
    with tempfile.TemporaryDirectory() as tmp:
        vrt = Path(tmp) / "img.vrt"
        with RawImage.create(vrt, ImageSpec(shape, dtype)) as img:
            for region in TileGrid(shape, tile):          # fill tile by tile
                img.write(region, truth[region.slices])
            for region in overwrites:                      # then overwrite random regions
                patch = random_pixels(rng, region.shape, dtype)
                img.write(region, patch)
                truth[region.slices] = patch
            img.flush()
        reopened = RawImage.open(vrt)
        assert reopened.spec.shape == shape and reopened.spec.dtype == np.dtype(dtype)
        for region in reads:
            got = reopened.read(region)
            assert got.dtype == np.dtype(dtype) and got.shape == region.shape
            np.testing.assert_array_equal(got, truth[region.slices])
            if not region.is_empty:
                np.testing.assert_array_equal(rasterio_read(vrt, region), truth[region.slices])
        reopened.close()


@st.composite
def layouts(draw):
    dtype = draw(st.sampled_from(sorted(GDAL_TYPES.values(), key=str)))
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        nodata = draw(st.none() | st.integers(int(info.min), int(info.max)))
    else:
        nodata = draw(st.none() | st.floats(width=32 if dtype.itemsize <= 8 else 64))
    shape = (draw(st.integers(1, 10**6)), draw(st.integers(1, 10**6)))
    pixel = dtype.itemsize * draw(st.integers(1, 4))
    return RawLayout(
        shape=shape, dtype=dtype, source=Path("/data/x y/img.raw"),
        relative=draw(st.booleans()), byte_order=draw(st.sampled_from(["LSB", "MSB"])),
        image_offset=draw(st.integers(0, 10**9)), pixel_offset=pixel,
        line_offset=pixel * shape[1] + draw(st.integers(0, 64)), nodata=nodata,
        transform=draw(st.none() | st.tuples(*[st.floats(allow_nan=False)] * 6)))


@given(layouts())
def test_header_text_round_trips_through_the_parser(layout):
    vrt = Path("/data/x y/img.vrt")
    parsed = parse_vrt(vrt, layout_to_xml(layout, vrt).decode())
    assert parsed.__dict__.keys() == layout.__dict__.keys()
    for name, value in layout.__dict__.items():
        got = getattr(parsed, name)
        if name == "nodata" and value is not None and np.isnan(value):
            assert np.isnan(got)
        else:
            assert got == value, name


def test_header_is_the_documented_vrt_and_gdal_reads_geo_and_nodata(tmp_path):
    geo = {"crs": "EPSG:32611", "transform": (500000.0, 30.0, 0.0, 4100000.0, 0.0, -30.0)}
    spec = ImageSpec((5, 7), "float32", nodata=float("nan"), geo=geo)
    RawImage.create(tmp_path / "dem.vrt", spec).close()
    text = (tmp_path / "dem.vrt").read_text()
    for piece in ('subClass="VRTRawRasterBand"', 'dataType="Float32"',
                  '<SourceFilename relativeToVRT="1">dem.raw</SourceFilename>',
                  "<ImageOffset>0</ImageOffset>", "<PixelOffset>4</PixelOffset>",
                  "<LineOffset>28</LineOffset>", "<ByteOrder>LSB</ByteOrder>",
                  "<NoDataValue>nan</NoDataValue>"):
        assert piece in text
    assert (tmp_path / "dem.raw").stat().st_size == 5 * 7 * 4
    with rasterio.open(tmp_path / "dem.vrt") as ds:
        assert ds.crs.to_epsg() == 32611
        assert ds.transform.to_gdal() == geo["transform"]
        assert np.isnan(ds.nodata) and ds.dtypes == ("float32",)
    spec2 = RawImage.open(tmp_path / "dem.vrt").spec
    assert np.isnan(spec2.nodata) and spec2.geo["transform"] == geo["transform"]
    assert rasterio.crs.CRS.from_wkt(spec2.geo["crs"]).to_epsg() == 32611


def test_scene_form_slc_vrt_names_its_raw_file(tmp_path, rng):
    assert raw_path_for(tmp_path / "master.slc.vrt") == tmp_path / "master.slc"
    assert raw_path_for(tmp_path / "ifg.vrt") == tmp_path / "ifg.raw"
    slc = (rng.standard_normal((6, 9)) + 1j * rng.standard_normal((6, 9))).astype("complex64")
    with RawImage.create(tmp_path / "master.slc.vrt", ImageSpec(slc.shape, "complex64", 0)) as img:
        img.write(Region.full(slc.shape), slc)
    assert img.raw_path == (tmp_path / "master.slc").resolve()
    np.testing.assert_array_equal(np.fromfile(tmp_path / "master.slc", "<c8").reshape(6, 9), slc)
    np.testing.assert_array_equal(rasterio_read(tmp_path / "master.slc.vrt", Region(0, 0, 6, 9)), slc)
    (tmp_path / "data").mkdir()                            # a raw file elsewhere: absolute path
    with RawImage.create(tmp_path / "elsewhere.vrt", ImageSpec((2, 2), "uint8"),
                         raw_path=tmp_path / "data" / "e.bin") as img:
        img.write(Region(0, 0, 2, 2), np.array([[1, 2], [3, 4]], "uint8"))
    assert f'relativeToVRT="0">{tmp_path / "data" / "e.bin"}<' in (tmp_path / "elsewhere.vrt").read_text()
    assert rasterio_read(tmp_path / "elsewhere.vrt", Region(0, 0, 2, 2)).tolist() == [[1, 2], [3, 4]]


def write_vrt(path: Path, raw: str, body: str, dtype: str, shape, relative: int = 0) -> None:
    path.write_text(
        f'<VRTDataset rasterXSize="{shape[1]}" rasterYSize="{shape[0]}">\n'
        f' <VRTRasterBand dataType="{dtype}" band="1" subClass="VRTRawRasterBand">\n'
        f'  <SourceFilename relativeToVRT="{relative}">{raw}</SourceFilename>\n{body}'
        f' </VRTRasterBand>\n</VRTDataset>\n')


def test_foreign_header_variants_read_like_gdal(tmp_path, rng):
    """Absolute path and GDAL defaults; big-endian; pixel-interleaved with an image offset."""
    a = rng.standard_normal((4, 5)).astype("float64")
    a.astype("<f8").tofile(tmp_path / "a.bin")
    write_vrt(tmp_path / "a.vrt", str(tmp_path / "a.bin"), "", "Float64", a.shape)
    b = rng.integers(-30000, 30000, (6, 3)).astype("int16")
    b.astype(">i2").tofile(tmp_path / "b.bin")
    write_vrt(tmp_path / "b.vrt", "b.bin", "<ByteOrder>MSB</ByteOrder>", "Int16", b.shape, 1)
    two = rng.standard_normal((2, 5, 7)).astype("float32")       # band-interleaved by pixel
    header = b"\xff" * 12
    (tmp_path / "c.bin").write_bytes(header + np.stack(two, axis=-1).astype("<f4").tobytes())
    write_vrt(tmp_path / "c.vrt", "c.bin", "<ImageOffset>12</ImageOffset><PixelOffset>8</PixelOffset>"
              "<LineOffset>56</LineOffset>", "Float32", (5, 7), 1)
    for name, truth in (("a", a), ("b", b), ("c", two[0])):
        img = RawImage.open(tmp_path / f"{name}.vrt")
        region = Region(1, 1, truth.shape[0] - 1, truth.shape[1] - 1)
        np.testing.assert_array_equal(img.read(region), truth[region.slices])
        np.testing.assert_array_equal(rasterio_read(tmp_path / f"{name}.vrt", region), truth[region.slices])
    with RawImage.open(tmp_path / "b.vrt", "r+") as img:              # MSB writes byte-swap
        img.write(Region(2, 0, 1, 3), np.array([[1, -2, 3]], "int16"))
    assert rasterio_read(tmp_path / "b.vrt", Region(2, 0, 1, 3)).tolist() == [[1, -2, 3]]
    with pytest.raises(ImageError, match="c.vrt.*interleaved.*reading"):
        RawImage.open(tmp_path / "c.vrt", "r+")


def test_truncated_raw_file_is_refused_naming_file_and_sizes(tmp_path):
    RawImage.create(tmp_path / "t.vrt", ImageSpec((10, 10), "complex64")).close()
    with open(tmp_path / "t.raw", "r+b") as f:
        f.truncate(799)
    with pytest.raises(ImageError, match=r"t\.raw: truncated image: .*t\.vrt needs 800 bytes, "
                                         r"the file has 799"):
        RawImage.open(tmp_path / "t.vrt")
    (tmp_path / "t.raw").unlink()
    with pytest.raises(ImageError, match=r"t\.raw: raw file named by .*t\.vrt does not exist"):
        RawImage.open(tmp_path / "t.vrt")


@pytest.mark.parametrize("text, match", [
    ("not xml <", "not a VRT header"),
    ('<VRTDataset rasterXSize="2" rasterYSize="2"><VRTRasterBand dataType="Float32" band="1">'
     '<SimpleSource/></VRTRasterBand></VRTDataset>', "not a raw image header"),
    ('<VRTDataset rasterXSize="2" rasterYSize="2"><VRTRasterBand dataType="CInt16" band="1" '
     'subClass="VRTRawRasterBand"><SourceFilename>x</SourceFilename></VRTRasterBand></VRTDataset>',
     "dataType 'CInt16' is not supported"),
])
def test_bad_headers_are_refused_naming_the_file(tmp_path, text, match):
    (tmp_path / "bad.vrt").write_text(text)
    with pytest.raises(ImageError, match=f"bad.vrt.*{match}"):
        RawImage.open(tmp_path / "bad.vrt")


def test_write_checks_name_the_file(tmp_path):
    img = RawImage.create(tmp_path / "w.vrt", ImageSpec((8, 8), "float32"))
    with pytest.raises(ImageMismatchError, match=r"w\.vrt: cannot write float64 pixels into a float32"):
        img.write(Region(0, 0, 2, 2), np.zeros((2, 2)))
    with pytest.raises(ImageMismatchError, match=r"w\.vrt: array of shape \(3, 2\) does not fit"):
        img.write(Region(0, 0, 2, 2), np.zeros((3, 2), "float32"))
    with pytest.raises(ImageMismatchError, match=r"w\.vrt: Region\(row=7, col=0, height=2, width=2\) is outside"):
        img.read(Region(7, 0, 2, 2))
    img.write(Region(0, 0, 1, 2), np.array([[1, 2]], "int16"))       # safe cast is accepted
    img.close()
    with pytest.raises(ImageError, match="closed"):
        img.read(Region(0, 0, 1, 1))
    ro = RawImage.open(tmp_path / "w.vrt")
    assert ro.read(Region(0, 0, 1, 3)).tolist() == [[1.0, 2.0, 0.0]]
    with pytest.raises(ImageError, match="read-only"):
        ro.write(Region(0, 0, 1, 1), np.zeros((1, 1), "float32"))
    with pytest.raises(ImageError, match="image exists; pass overwrite=True"):
        RawImage.create(tmp_path / "w.vrt", ImageSpec((8, 8), "float32"))
    with RawImage.create(tmp_path / "w.vrt", ImageSpec((4, 4), "uint8"), overwrite=True) as fresh:
        assert fresh.read(Region.full((4, 4))).sum() == 0
    with pytest.raises(ImageMismatchError, match=r"n\.vrt: no-data value 300 does not fit dtype uint8"):
        RawImage.create(tmp_path / "n.vrt", ImageSpec((4, 4), "uint8", nodata=300))
    with pytest.raises(ImageMismatchError, match=r"b\.vrt: raw images cannot hold dtype bool"):
        RawImage.create(tmp_path / "b.vrt", ImageSpec((4, 4), "bool"))
    assert not (tmp_path / "n.raw").exists() and not (tmp_path / "b.raw").exists()


def test_pickled_image_reopens_by_path(tmp_path):
    img = RawImage.create(tmp_path / "p.vrt", ImageSpec((3, 3), "int32"))
    img.write(Region(1, 1, 1, 1), np.array([[42]], "int32"))
    copy = pickle.loads(pickle.dumps(img))
    assert copy.mode == "r+" and copy.read(Region(1, 1, 1, 1)).item() == 42


def test_threads_write_and_read_disjoint_tiles(tmp_path, rng):
    truth = rng.standard_normal((300, 257)).astype("float32")
    grid = TileGrid(truth.shape, (32, 17))
    with RawImage.create(tmp_path / "th.vrt", ImageSpec(truth.shape, "float32")) as img:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda t: img.write(t, truth[t.slices]), grid))
            tiles = list(pool.map(img.read, grid))
    for tile, got in zip(grid, tiles):
        np.testing.assert_array_equal(got, truth[tile.slices])


def _write_share(image: RawImage, rank: int, n_ranks: int, tile_shape) -> None:
    """Write every n-th tile (round-robin), so ranks interleave within each row of pixels."""
    grid = TileGrid(image.spec.shape, tile_shape)
    for index in range(rank, len(grid), n_ranks):
        tile = grid.tile(index)
        values = expected_pixels(image.spec.shape)[tile.slices]
        image.write(tile, values)
    image.flush()


def expected_pixels(shape) -> np.ndarray:
    rows, cols = np.indices(shape)
    return (rows * 100_000 + cols).astype("complex64") * (1 - 1j)


def test_four_processes_write_disjoint_tiles_into_one_image(tmp_path):
    shape = (203, 311)
    img = RawImage.create(tmp_path / "mp.vrt", ImageSpec(shape, "complex64"))
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_write_share, args=(img, rank, 4, (13, 7))) for rank in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    np.testing.assert_array_equal(RawImage.open(tmp_path / "mp.vrt").read(Region.full(shape)),
                                  expected_pixels(shape))
