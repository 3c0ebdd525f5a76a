"""``pep show`` and the pictures package: colours, shading, decimated reads, PNGs.

Truths: the cyclic ramp meets itself; a constant-phase image is one colour,
the ramp's colour of that phase; hillshade of a tilted plane equals the dot
product of its normal and the light vector; decimated reads equal numpy
block means / strided picks; WGS84 metres per degree at the equator are the
textbook values; a large image read with ``nearest`` costs one row per cell.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from peppers.cli.main import main
from peppers.io.raw import RawImage
from peppers.io.source import ArraySource
from peppers.pictures import quicklook
from peppers.pictures.colormaps import GREY, PHASE, TERRAIN, hillshade
from peppers.pictures.decimate import choose_steps, decimated_shape, read_decimated
from peppers.pictures.figure import nice_length
from peppers.pictures.locate import guess_kind, metres_per_degree
from peppers.pictures.quicklook import render
from peppers.ppe.operator import ImageSpec
from peppers.ppe.region import Region

GEO = {"crs": "EPSG:4326", "transform": (10.0, 1e-3, 0.0, 45.0, 0.0, -1e-3)}


def write_raw(path: Path, array: np.ndarray, nodata=None, geo=None) -> Path:
    image = RawImage.create(path, ImageSpec(array.shape, array.dtype, nodata, geo))
    image.write(Region.full(array.shape), array)
    image.close()
    return path


def check_png(path: Path, max_side: int) -> np.ndarray:
    """Open and verify a PNG; return its RGBA pixels."""
    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        assert im.format == "PNG" and im.mode == "RGBA"
        assert max(im.size) <= max_side
        return np.asarray(im)


class CountingSource:
    """An image source that records every region read."""

    def __init__(self, source) -> None:
        self.source = source
        self.spec = source.spec
        self.regions: list[Region] = []

    def read(self, region: Region) -> np.ndarray:
        self.regions.append(region)
        return self.source.read(region)

    def bytes_read(self) -> int:
        return sum(r.height * r.width for r in self.regions) * self.spec.dtype.itemsize


# -- colour ramps and shading ---------------------------------------------------------
def test_phase_ramp_is_cyclic_and_others_are_monotone():
    assert np.array_equal(PHASE.map(np.array([-np.pi]), -np.pi, np.pi),
                          PHASE.map(np.array([np.pi]), -np.pi, np.pi))
    step = np.abs(np.diff(PHASE.lut.astype(int), axis=0, append=PHASE.lut[:1])).max()
    assert step <= 8  # no seam anywhere, including last -> first
    assert np.all(np.diff(GREY.lut[:, 0].astype(int)) >= 0)
    assert tuple(TERRAIN.lut[-1]) == (250, 250, 250)


@pytest.mark.parametrize("gradient, light", [((0.3, 0.0), 315.0), ((0.0, -0.5), 315.0),
                                              ((0.2, 0.4), 135.0)])
def test_hillshade_of_a_plane_is_normal_dot_light(gradient, light):
    dzdx_east, dzdy_north = gradient
    dy, dx = 30.0, 20.0
    rows, cols = np.mgrid[0:8, 0:9]
    z = dzdx_east * cols * dx - dzdy_north * rows * dy  # rows run south
    normal = np.array([-dzdx_east, -dzdy_north, 1.0])
    normal /= np.linalg.norm(normal)
    az, alt = math.radians(light), math.radians(45.0)
    to_light = np.array([math.sin(az) * math.cos(alt), math.cos(az) * math.cos(alt),
                         math.sin(alt)])
    expected = max(0.0, float(normal @ to_light))
    np.testing.assert_allclose(hillshade(z, (dy, dx), azimuth_deg=light), expected, atol=1e-12)


def test_constant_phase_is_one_colour_of_the_ramp():
    values = np.full((6, 7), np.exp(1j * 1.0))
    values[0, 0] = np.nan
    rgba, bar, _ = render(values, "phase")
    expected = PHASE.lut[int(np.floor((1.0 + np.pi) / (2 * np.pi) * 256))]
    assert np.all(rgba[1:, :, :3] == expected)
    assert rgba[0, 0, 3] == 0 and np.all(rgba[1:, :, 3] == 255)
    assert bar.vmin == -np.pi and bar.vmax == np.pi


def test_coherence_is_grey_zero_to_one():
    rgba, _, _ = render(np.array([[0.0, 0.5, 1.0, np.nan]]), "coherence")
    assert rgba[0, :3, 0].tolist() == [0, 128, 255]
    assert rgba[0, 3, 3] == 0


# -- geometry of the picture ----------------------------------------------------------
def test_metres_per_degree_at_the_equator():
    lat_m, lon_m = metres_per_degree(0.0)
    assert lat_m == pytest.approx(110574.3, abs=0.5)
    assert lon_m == pytest.approx(111319.5, abs=0.5)
    assert metres_per_degree(60.0)[1] == pytest.approx(55800, rel=2e-3)


@given(rows=st.integers(1, 50000), cols=st.integers(1, 50000), size=st.integers(16, 2000),
       dy=st.floats(0.5, 50), dx=st.floats(0.5, 50))
def test_steps_fit_and_make_square_ground_pixels(rows, cols, size, dy, dx):
    sr, sc = choose_steps((rows, cols), size, (dy, dx))
    out = decimated_shape((rows, cols), (sr, sc))
    assert max(out) <= size
    if min(sr, sc) >= 4:  # rounding of small steps limits how square pixels can be
        assert 0.7 < (sr * dy) / (sc * dx) < 1.45


def test_nice_lengths():
    assert [nice_length(x) for x in (730.0, 2400.0, 0.9, 1.0)] == [500.0, 2000.0, 0.5, 1.0]


def test_kind_guesses():
    c64, f32 = ImageSpec((2, 2), "complex64"), ImageSpec((2, 2), "float32")
    assert guess_kind("geocoded_coherence", f32) == "coherence"
    assert guess_kind("geocoded_dem", f32) == "height"
    assert guess_kind("filtered_interferogram", c64) == "phase"
    assert guess_kind("master", c64) == "amplitude"
    assert guess_kind("thing", c64) == "phase" and guess_kind("thing", f32) == "amplitude"


# -- decimated reading ----------------------------------------------------------------
@pytest.mark.parametrize("budget", [10 ** 9, 600, 40])
def test_mean_and_nearest_decimation_equal_numpy(rng, budget):
    a = rng.normal(size=(70, 50))
    a[:4, :3] = np.nan  # one whole cell missing, another partly
    a[5, 5] = np.nan
    mean = read_decimated(ArraySource(a), (4, 3), method="mean", budget=budget)
    padded = np.full((72, 51), np.nan)
    padded[:70, :50] = a
    with np.errstate(invalid="ignore"):
        cells = padded.reshape(18, 4, 17, 3)
        expected = np.nansum(cells, axis=(1, 3)) / np.isfinite(cells).sum(axis=(1, 3))
    np.testing.assert_allclose(mean, expected, equal_nan=True)
    assert np.isnan(mean[0, 0])
    nearest = read_decimated(ArraySource(a), (4, 3), method="nearest", budget=budget)
    rows = np.minimum(np.arange(18) * 4 + 2, 69)
    cols = np.minimum(np.arange(17) * 3 + 1, 49)
    np.testing.assert_array_equal(nearest, a[np.ix_(rows, cols)])


def test_large_image_is_read_decimated_in_bounded_pieces(tmp_path):
    rows, cols, budget = 6000, 4000, 256 << 10
    big = RawImage.create(tmp_path / "big.vrt", ImageSpec((rows, cols), "complex64"))
    big.write(Region(3000, 0, 1, cols), np.full((1, cols), 1 + 1j, np.complex64))
    big.close()
    image = RawImage.open(tmp_path / "big.vrt")
    counting = CountingSource(image)
    result = quicklook(counting, tmp_path / "big.png", kind="phase", max_size=200,
                       budget=budget, full_read_limit=64 << 20)
    image.close()
    steps = result.steps
    assert steps == (30, 30) and result.shape == (200, 134)
    assert counting.bytes_read() <= (rows // steps[0] + 1) * cols * 8  # one row per cell
    assert counting.bytes_read() < rows * cols * 8 / 25
    assert max(r.height * r.width for r in counting.regions) * 8 <= budget
    # the same image with the mean method reads everything, still in bounded pieces
    image = RawImage.open(tmp_path / "big.vrt")
    counting = CountingSource(image)
    quicklook(counting, tmp_path / "big_mean.png", kind="phase", max_size=200,
              method="mean", budget=budget)
    image.close()
    assert counting.bytes_read() == rows * cols * 8
    assert max(r.height * r.width for r in counting.regions) * 8 <= budget
    check_png(tmp_path / "big_mean.png", 1000)


# -- pictures of each kind ------------------------------------------------------------
@pytest.fixture
def rasters(tmp_path, rng):
    rows, cols = np.mgrid[0:120, 0:90]
    phase = 0.2 * rows + 0.1 * cols
    ifg = np.exp(1j * phase) * (1 + 0.1 * rng.normal(size=phase.shape))
    height = 500 + 80 * np.sin(rows / 15.0) * np.cos(cols / 20.0)
    height[:10, :10] = np.nan
    coherence = np.clip(rng.uniform(0.2, 1.0, size=phase.shape), 0, 1)
    slc = (rng.normal(size=phase.shape) + 1j * rng.normal(size=phase.shape)) * 100
    return {
        "interferogram": write_raw(tmp_path / "interferogram.vrt", ifg.astype(np.complex64)),
        "coherence": write_raw(tmp_path / "coherence.vrt", coherence.astype(np.float32)),
        "geocoded_dem": write_raw(tmp_path / "geocoded_dem.vrt", height.astype(np.float32),
                                  nodata=float("nan"), geo=GEO),
        "master": write_raw(tmp_path / "master.slc.vrt", slc.astype(np.complex64)),
    }


@pytest.mark.parametrize("name, kind", [("interferogram", "phase"), ("coherence", "coherence"),
                                        ("geocoded_dem", "height"), ("master", "amplitude")])
def test_each_kind_writes_a_bounded_png(rasters, tmp_path, name, kind):
    out = tmp_path / f"{name}.png"
    result = quicklook(rasters[name], out, max_size=60, min_size=100)
    assert result.kind == kind
    assert max(result.shape) <= 2 * 60
    pixels = check_png(out, 800)
    if kind == "height":  # the NaN corner is transparent, the rest opaque
        assert result.metres_per_pixel == pytest.approx(
            metres_per_degree(44.94)[1] * 1e-3 * result.steps[1] / result.zoom, rel=1e-3)
        assert (pixels[..., 3] == 0).sum() >= (10 // result.steps[0]) ** 2 * result.zoom ** 2


def test_pep_show_cli(rasters, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["show", str(rasters["geocoded_dem"]), "--max-size", "50"]) == 0
    assert "height" in capsys.readouterr().out
    check_png(tmp_path / "geocoded_dem.png", 800)
    assert main(["show", str(rasters["interferogram"]), "-o", "p.png", "--kind", "coherence",
                 "--method", "nearest"]) == 0
    check_png(tmp_path / "p.png", 1200)
    assert main(["show", "no_such_image"]) == 1
    assert "no_such_image: no such image" in capsys.readouterr().err
    assert main(["show", str(rasters["coherence"]), "-o", "x.jpg"]) == 1
    assert "writes PNG" in capsys.readouterr().err


def test_pep_show_finds_run_images(rasters, tmp_path, capsys):
    from peppers.hkv import RunDatabase

    run = tmp_path / "run"
    RunDatabase.create(run)
    write_raw(run / "images" / "coherence.raw.vrt", np.full((30, 20), 0.5, np.float32))
    assert main(["--run", str(run), "show", "coherence", "-o", str(tmp_path / "c.png")]) == 0
    pixels = check_png(tmp_path / "c.png", 800)
    assert (np.all(pixels[..., :3] == 128, axis=-1)).sum() >= 30 * 20  # the grey picture
