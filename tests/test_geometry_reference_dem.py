"""Reference DEM reading: any CRS, windows, geoid heights, one-line coverage errors.

Truth is analytic: a DEM whose heights are a plane in its own projected
coordinates is sampled bilinearly without error, so heights at geodetic
positions must equal the plane evaluated at pyproj's projection of them;
the EGM96 grid is checked against its own pixel values.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import rasterio
from hypothesis import given, strategies as st
from pyproj import Transformer
from affine import Affine

from peppers.errors import GeometryError
from peppers.geometry.geoid import GeoidGrid
from peppers.geometry.reference_dem import ReferenceDem

EGM96 = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "geoid" / \
    "egm96_15_lon_0_360.gtx"
needs_egm96 = pytest.mark.skipif(not EGM96.exists(), reason="EGM96 grid not present")

#: UTM zone 11N, around 36.5 N 117 W; 30 m pixels.
UTM_ORIGIN = (500_000.0, 4_040_000.0)
PLANE = (1200.0, 0.01, -0.02)     # h = a + b (x - x0) + c (y - y0)


def from_origin(west, north, xsize, ysize):
    return Affine(xsize, 0.0, west, 0.0, -ysize, north)


def write_dem(path, heights, *, crs, transform, nodata=None):
    profile = dict(driver="GTiff", height=heights.shape[0], width=heights.shape[1], count=1,
                   dtype="float32", transform=transform, nodata=nodata)
    if crs is not None:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(heights.astype(np.float32), 1)
    return path


@pytest.fixture(scope="module")
def utm_dem(tmp_path_factory):
    x0, y0 = UTM_ORIGIN
    rows, cols = 300, 280
    x = x0 + (np.arange(cols) + 0.5) * 30.0
    y = y0 - (np.arange(rows) + 0.5) * 30.0
    a, b, c = PLANE
    heights = a + b * (x[None, :] - x0) + c * (y[:, None] - y0)
    path = tmp_path_factory.mktemp("dem") / "utm.tif"
    return write_dem(path, heights, crs="EPSG:32611", transform=from_origin(x0, y0, 30.0, 30.0))


def plane_at(lat, lon):
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:32611", always_xy=True).transform(lon, lat)
    a, b, c = PLANE
    x0, y0 = UTM_ORIGIN
    return a + b * (np.asarray(x) - x0) + c * (np.asarray(y) - y0)


def inner_points(dem: ReferenceDem, n: int, seed: int = 0):
    south, north, west, east = dem.extent_lonlat()
    rng = np.random.default_rng(seed)
    pad = 0.1
    lat = rng.uniform(south + pad * (north - south), north - pad * (north - south), n)
    lon = rng.uniform(west + pad * (east - west), east - pad * (east - west), n)
    return lat, lon


def test_projected_dem_is_sampled_exactly_in_windows(utm_dem):
    dem = ReferenceDem(utm_dem, block=64)
    lat, lon = inner_points(dem, 500)
    np.testing.assert_allclose(dem.heights(lat, lon), plane_at(lat, lon), atol=2e-3)
    assert dem.vertical == "ellipsoid" and dem.vertical_source.startswith("assumed")
    assert dem.reads > 4      # several 64 x 64 blocks, never the 300 x 280 raster at once


@given(st.floats(0.15, 0.85), st.floats(0.15, 0.85))
def test_any_point_inside_a_utm_dem_matches_the_plane(utm_dem, fy, fx):
    dem = ReferenceDem(utm_dem)
    south, north, west, east = dem.extent_lonlat()
    lat, lon = south + fy * (north - south), west + fx * (east - west)
    assert float(dem.heights(lat, lon)) == pytest.approx(float(plane_at(lat, lon)), abs=2e-3)


def test_grid_resamples_onto_lat_lon_for_rdr2geo(utm_dem):
    dem = ReferenceDem(utm_dem)
    lat, lon = inner_points(dem, 200, seed=1)
    box = (lat.min(), lat.max(), lon.min(), lon.max())
    grid = dem.grid(*box, posting_deg=1.0 / 3600)
    # the plane is not linear in lat/lon, but over one arc-second it nearly is
    np.testing.assert_allclose(grid(lat, lon), plane_at(lat, lon), atol=0.01)


def test_dem_not_covering_names_the_file_and_what_is_missing(utm_dem):
    dem = ReferenceDem(utm_dem)
    south, north, west, east = dem.extent_lonlat()
    lat = np.linspace(south + 0.001, north - 0.001, 50)
    lon = np.linspace(west + 0.5 * (east - west), east + 0.5 * (east - west), 50)
    with pytest.raises(GeometryError) as info:
        dem.heights(lat[:, None], lon[None, :])
    text = str(info.value)
    assert "\n" not in text and "utm.tif" in text
    assert "% of it is missing" in text and "past its east edge" in text
    share = float(text.split("the scene: ")[1].split(" %")[0])
    assert share == pytest.approx(50.0, abs=3.0)


def test_dem_without_crs_is_refused_in_one_line(tmp_path):
    path = write_dem(tmp_path / "nocrs.tif", np.zeros((20, 30)), crs=None,
                     transform=from_origin(5.0, 45.0, 0.01, 0.01))
    with pytest.raises(GeometryError) as info:
        ReferenceDem(path)
    text = str(info.value)
    assert "\n" not in text and "nocrs.tif" in text and "no CRS" in text and "30 x 20" in text


def test_voids_come_out_as_nan(tmp_path):
    heights = np.full((40, 40), 100.0)
    heights[10:20, 10:20] = -32768
    path = write_dem(tmp_path / "void.tif", heights, crs="EPSG:4326",
                     transform=from_origin(10.0, 46.0, 0.001, 0.001), nodata=-32768)
    dem = ReferenceDem(path)
    out = dem.heights([46.0 - 0.0155, 46.0 - 0.035], [10.0155, 10.035])
    assert math.isnan(out[0]) and out[1] == pytest.approx(100.0)


@needs_egm96
def test_egm96_undulation_wraps_longitudes_and_matches_its_nodes():
    geoid = GeoidGrid(EGM96)
    with rasterio.open(EGM96) as ds:
        band = ds.read(1)
        row, col = ds.index(243.0, 36.5)
        node = float(band[row, col])
    lat_node = 90.0 - 0.25 * row
    lon_node = 0.25 * col
    assert float(geoid.undulation(lat_node, lon_node)) == pytest.approx(node, abs=1e-4)
    assert float(geoid.undulation(lat_node, lon_node - 360.0)) == pytest.approx(node, abs=1e-4)
    # across the 0/360 seam: between the last column and the first
    seam = geoid.undulation(10.0, 359.875)
    assert float(seam) == pytest.approx(0.5 * (band[320, -1] + band[320, 0]), abs=1e-4)


@needs_egm96
def test_geoid_dem_becomes_ellipsoidal(tmp_path):
    heights = np.full((50, 50), 500.0)
    path = write_dem(tmp_path / "ortho.tif", heights, crs="EPSG:4326+5773",
                     transform=from_origin(-117.05, 36.55, 0.002, 0.002))
    dem = ReferenceDem(path, geoid=EGM96)
    assert dem.vertical == "geoid" and dem.vertical_source == "vertical CRS"
    n = float(GeoidGrid(EGM96).undulation(36.5, -117.0))
    assert float(dem.heights(36.5, -117.0)) == pytest.approx(500.0 + n, abs=1e-3)
    with pytest.raises(GeometryError, match="ortho.tif.*geoid heights.*give a geoid grid"):
        ReferenceDem(path)
    declared = ReferenceDem(path, vertical="ellipsoid")
    assert float(declared.heights(36.5, -117.0)) == pytest.approx(500.0, abs=1e-3)


def test_geoid_grid_not_covering_is_one_line(tmp_path):
    geoid_path = write_dem(tmp_path / "small_geoid.tif", np.full((10, 10), -30.0),
                           crs="EPSG:4326", transform=from_origin(10.0, 50.0, 0.1, 0.1))
    dem_path = write_dem(tmp_path / "ortho.tif", np.full((20, 20), 10.0), crs="EPSG:4326",
                         transform=from_origin(-117.05, 36.55, 0.005, 0.005))
    dem = ReferenceDem(dem_path, vertical="geoid", geoid=geoid_path)
    with pytest.raises(GeometryError) as info:
        dem.heights(36.5, -117.0)
    text = str(info.value)
    assert "\n" not in text and "small_geoid.tif" in text
    assert "covers lat 49.0000..50.0000, lon 10.0000..11.0000" in text and "36.5000" in text


def test_bad_vertical_choice_is_refused(utm_dem):
    with pytest.raises(GeometryError, match="vertical = 'msl'"):
        ReferenceDem(utm_dem, vertical="msl")
