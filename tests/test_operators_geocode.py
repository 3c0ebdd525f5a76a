"""Geocoding: the simulator's true ground points and heights onto map grids.

Truth: ``truth/lat``, ``lon`` and ``height`` of a small simulated scene are
the radar-grid geolocation; geocoded, the heights must reproduce the
simulator's DEM (``dem.tif``) at the map pixel centres, in EPSG:4326 and in
UTM, identically for any tiling and thread count.
"""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from peppers.errors import OperatorError
from peppers.io.raw import RawImage
from peppers.io.source import ArraySource
from peppers.operators.absolute_phase import read_dem
from peppers.operators.geocode import Geocode, MapGrid, from_map
from peppers.operators.simulate import SimulationConfig, simulate
from peppers.ppe import apply
from peppers.ppe.region import Region
from peppers.ppe.testing import whole_image


@pytest.fixture(scope="module")
def radar(tmp_path_factory):
    out = tmp_path_factory.mktemp("geocode") / "sim"
    simulate(out, SimulationConfig(lines=240, samples=160, seed=8, gcps=4, relief_m=400.0))

    def read(name):
        with RawImage.open(out / "truth" / f"{name}.vrt") as image:
            return image.read(Region.full(image.spec.shape))

    return dict(folder=out, lat=read("lat"), lon=read("lon"),
                height=read("height").astype(np.float32),
                master=yaml.safe_load((out / "master.yaml").read_text()))


def _grid(radar, crs, posting):
    sources = {k: ArraySource(radar[k]) for k in ("lat", "lon", "height")}
    return MapGrid(crs=crs, posting=posting).reduce(sources)


def _geocode(radar, grid, value=None, **kw):
    op = Geocode(grid=grid, master=radar["master"], looks=(1, 1), **kw)
    assert op.looks == (1, 1)
    arrays = {"lat": radar["lat"], "lon": radar["lon"],
              "value": radar["height"] if value is None else value}
    return op, arrays


def _dem_at_centres(radar, grid, shape):
    x0, px, _, y0, _, py = grid["transform"]
    rr, cc = np.mgrid[0:shape[0], 0:shape[1]]
    lat, lon = from_map(grid["crs"], x0 + (cc + 0.5) * px, y0 + (rr + 0.5) * py)
    return read_dem(radar["folder"] / "dem.tif")(lat, lon)


def test_map_grid_is_snapped_and_covers_the_footprint(radar):
    grid = _grid(radar, "EPSG:4326", 1 / 7200)
    x0, px, _, y0, _, py = grid["transform"]
    assert px == -py == pytest.approx(1 / 7200)
    assert x0 / px == pytest.approx(round(x0 / px)) and y0 / px == pytest.approx(round(y0 / px))
    rows, cols = grid["shape"]
    assert x0 < radar["lon"].min() and x0 + cols * px > radar["lon"].max()
    assert y0 > radar["lat"].max() and y0 + rows * py < radar["lat"].min()
    assert grid["height_range_m"] == [pytest.approx(float(radar["height"].min())),
                                      pytest.approx(float(radar["height"].max()))]


@pytest.mark.parametrize("crs,posting", [("EPSG:4326", 1 / 7200), ("EPSG:32611", 10.0)])
def test_geocoded_heights_are_the_terrain(radar, crs, posting):
    grid = _grid(radar, crs, posting)
    op, arrays = _geocode(radar, grid)
    out = whole_image(op, **arrays)["output"]
    assert out.dtype == np.float32 and out.shape == tuple(grid["shape"])
    truth = _dem_at_centres(radar, grid, out.shape)
    err = out - truth
    ok = np.isfinite(err)
    assert ok.sum() > 0.4 * out.size
    # bilinear on the radar grid against bilinear on the 0.5" DEM grid
    assert np.sqrt(np.mean(err[ok] ** 2)) < 0.5
    assert np.max(np.abs(err[ok])) < 3.0


def test_tiles_and_threads_give_identical_maps(radar):
    grid = _grid(radar, "EPSG:4326", 1 / 7200)
    op, arrays = _geocode(radar, grid)
    ref = whole_image(op, **arrays)["output"]
    for tile, threads in (((64, 64), 1), ((37, 90), 2)):
        np.testing.assert_array_equal(apply(op, tile_shape=tile, threads=threads, **arrays), ref)


def test_nan_where_no_measurement_and_outside(radar):
    grid = _grid(radar, "EPSG:4326", 1 / 7200)
    value = radar["height"].copy()
    value[100:120, 60:90] = np.nan
    op, arrays = _geocode(radar, grid, value=value)
    out = whole_image(op, **arrays)["output"]
    full = whole_image(op, **dict(arrays, value=radar["height"]))["output"]
    lost = np.isfinite(full) & ~np.isfinite(out)
    # the hole, about 20 x 30 radar pixels of ~ (4 m)^2 on a (15 m)^2 map grid, and no more
    assert 0 < lost.sum() < 20 * 30
    # elsewhere the same values, except on the hole's rim, where the measured
    # corners of a quad carry the bilinear weights alone
    both = np.isfinite(out)
    changed = both & (out != full)
    assert changed.sum() < 60
    assert np.max(np.abs(out[changed] - full[changed]), initial=0.0) < 5.0
    assert np.isnan(out[0, 0]) and np.isnan(out[-1, -1])   # corners: outside the footprint


def test_nearest_takes_radar_values(radar):
    grid = _grid(radar, "EPSG:4326", 1 / 7200)
    value = np.arange(radar["height"].size, dtype=np.float32).reshape(radar["height"].shape)
    op, arrays = _geocode(radar, grid, value=value, resampling="nearest")
    out = whole_image(op, **arrays)["output"]
    got = out[np.isfinite(out)]
    assert got.size and np.all(np.isin(got, value))


def test_bad_parameters_are_named(radar):
    with pytest.raises(OperatorError, match="products.grid"):
        Geocode(grid={"crs": "EPSG:4326"}, master=radar["master"])
    with pytest.raises(OperatorError, match="products.resampling"):
        Geocode(grid=_grid(radar, "EPSG:4326", 1e-3), master=radar["master"], resampling="cubic")
