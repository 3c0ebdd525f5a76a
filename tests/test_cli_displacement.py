"""Deformation and layover acceptance of the geocoded differential products (issue 14).

Deformation: a Mogi source (up to ~11 cm towards the satellite at C band)
between the passes of a **short-baseline** pair (bperp 20 m, height of
ambiguity ~640 m: deformation pairs are chosen so, which keeps the phase of
the reference DEM's error ``dphi/dh * e`` small) and a reference DEM with
5 m RMS error and voids go through ``pep init --reference-dem`` and ``pep
run make geocoded_displacement`` with the ``latlon`` reference. The truth
``los_displacement`` is multilooked (box mean, the chain's looks) and
geocoded *the same way* (:class:`GeocodeMasked` with the run's own
multilooked positions, mask and product grid); on coherent ground (true
coherence > 0.7) after removing one constant: RMS <= 1.5 x the Cramer-Rao
bound ``lambda/(4 pi) sqrt((1 - g^2) / (2 L g^2))`` (L the looks), no blunders
(|error| > lambda/4), and the sign (positive towards the satellite).

Layover: a scene with layover (``--allow-layover``) gives a delivered
``geocoded_layover_shadow_mask`` that agrees with the simulator's truth
mask, multilooked and geocoded the same way, on >= 98 % of the map pixels
(exact DEM), and no geocoded value comes from a layover pixel.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import rasterio
import yaml
from support.drs import pep

from peppers.drs.rules import image_path
from peppers.image import Region
from peppers.io.raw import RawImage
from peppers.operators._arrays import apply_local
from peppers.operators.geocode import Geocode, GeocodeMasked
from peppers.operators.height import radar_looks
from peppers.operators.hyp3 import GeocodeLabels
from peppers.operators.mask_looks import MultilookMask
from peppers.operators.simulate.truth import load_truth, read_truth_raster


def get(run, key):
    return yaml.safe_load(pep("--run", str(run), "get", key, cwd=run.parent))


def image(run, name):
    with RawImage.open(run / image_path(name)) as img:
        return img.read(Region.full(img.spec.shape))


def product(run, name):
    with rasterio.open(run / image_path(name, "product")) as ds:
        meta = {"units": ds.units, "tags": ds.tags(), "descriptions": ds.descriptions}
        return ds.read(1).astype(np.float64), meta


class SameGeocoding:
    """Multilook and geocode truth rasters as the run did its own products."""

    def __init__(self, run):
        self.grid, self.master = get(run, "products.geometry_grid"), get(run, "inputs.master")
        self.looks = radar_looks(self.master, get(run, "insar.multilook.looks"))
        self.lat = image(run, "geometry_lat_multilooked")
        self.lon = image(run, "geometry_lon_multilooked")
        self.mask = image(run, "layover_shadow_multilooked")
        self.region = Region.full(tuple(self.grid["shape"]))

    def multilook(self, values):
        (la, lr), (h, w) = self.looks, self.lat.shape
        return values[:h * la, :w * lr].reshape(h, la, w, lr).mean(axis=(1, 3))

    def geocode(self, values, op=GeocodeMasked):
        ports = {"lat": self.lat, "lon": self.lon, "value": values, "mask": self.mask}
        geocoder = op(grid=self.grid, master=self.master)
        return geocoder.compute({p: ports[p] for p in geocoder.inputs},
                                self.region)["output"].astype(np.float64)


@pytest.fixture(scope="module")
def mogi(tmp_path_factory):
    folder = tmp_path_factory.mktemp("displacement")
    pep("simulate", "sim", "--lines", "480", "--samples", "384", "--seed", "4", "--relief", "300",
        "--bperp", "20", "--mogi-volume", "4e5", "--mogi-depth", "800", "--dem-error", "5",
        "--dem-voids", "2", "--patches", "1", "--threads", "2", "--quiet", cwd=folder)
    pep("init", "run", "--master", "sim/master.yaml", "--slave", "sim/slave.yaml",
        "--reference-dem", "sim/dem_reference.tif", cwd=folder)
    run = folder / "run"
    lat, lon = reference_position(folder / "sim")
    pep("--run", "run", "set", "insar.displacement.reference", "latlon", cwd=folder)
    pep("--run", "run", "set", "insar.displacement.reference_latlon", f"[{lat}, {lon}]",
        cwd=folder)
    pep("--run", "run", "run", "make", "los_displacement", "geocoded_displacement",
        "geocoded_connected_components",
        "geocoded_los_up", "geocoded_incidence", "geocoded_layover_shadow_mask", "-j", "2",
        cwd=folder)
    return folder / "sim", run, (lat, lon)


def reference_position(sim):
    """A reference position far from the source: the truth latitude/longitude of a corner."""
    lat = read_truth_raster(sim, "lat")
    lon = read_truth_raster(sim, "lon")
    r, c = lat.shape[0] // 8, lat.shape[1] // 8
    return round(float(lat[r, c]), 6), round(float(lon[r, c]), 6)


def test_geocoded_displacement_within_the_bound_without_blunders_and_signed(mogi):
    sim, run, _ = mogi
    same = SameGeocoding(run)
    truth = load_truth(sim)
    lam = truth["config"]["wavelength_m"]
    los = same.geocode(same.multilook(read_truth_raster(sim, "los_displacement").astype(float)))
    coherence = same.geocode(same.multilook(read_truth_raster(sim, "coherence").astype(float)))
    disp, ds = product(run, "geocoded_displacement")
    assert ds["units"] == ("m",) and ds["tags"]["SIGN"] == "positive_towards_the_satellite"
    assert ds["tags"]["REFERENCE"] == "latlon"
    ok = np.isfinite(disp) & np.isfinite(los) & (coherence > 0.7)
    assert ok.sum() > 0.6 * np.isfinite(los).sum() and np.nanmax(los) > 0.05
    error = disp - los
    error -= np.median(error[ok])
    assert np.count_nonzero(np.abs(error[ok]) > lam / 4) == 0          # no blunders
    assert np.corrcoef(disp[ok], los[ok])[0, 1] > 0.99                  # the sign
    la, lr = same.looks
    g = coherence[ok]
    crb = lam / (4 * math.pi) * math.sqrt(np.mean((1 - g ** 2) / (2 * la * lr * g ** 2)))
    assert float(np.sqrt(np.mean(error[ok] ** 2))) <= 1.5 * crb


def test_reference_position_is_recorded_and_near_zero(mogi):
    sim, run, (lat, lon) = mogi
    result = get(run, "insar.displacement.result")
    assert result["method"] == "latlon"
    assert abs(result["lat"] - lat) < 5e-4 and abs(result["lon"] - lon) < 5e-4
    disp, _ = product(run, "geocoded_displacement")
    x0, px, _, y0, _, py = get(run, "products.geometry_grid")["transform"]
    row, col = int((result["lat"] - y0) / py), int((result["lon"] - x0) / px)
    near = disp[row - 1:row + 2, col - 1:col + 2]
    assert np.isfinite(near).all() and abs(float(np.median(near))) < 1.5e-3


def test_los_and_components_products(mogi):
    sim, run, _ = mogi
    up, ds = product(run, "geocoded_los_up")
    incidence, dsi = product(run, "geocoded_incidence")
    both = np.isfinite(up) & np.isfinite(incidence)
    assert both.mean() > 0.3 and dsi["units"] == ("deg",)
    # up component of the unit LOS vector is cos(incidence) on the ellipsoid
    assert np.allclose(up[both], np.cos(np.radians(incidence[both])), atol=2e-3)
    comps, dsc = product(run, "geocoded_connected_components")
    assert set(np.unique(comps[np.isfinite(comps)])) <= set(range(0, 1000))
    disp, _ = product(run, "geocoded_displacement")
    assert np.isfinite(disp[np.isfinite(comps) & (comps > 0)]).mean() > 0.95


@pytest.fixture(scope="module")
def layover(tmp_path_factory):
    folder = tmp_path_factory.mktemp("layover")
    pep("simulate", "sim", "--lines", "256", "--samples", "256", "--seed", "5", "--patches", "1",
        "--gcps", "8", "--allow-layover", "--relief", "1200", "--look-angle", "25",
        "--spectral-exponent", "3.6", "--dem-error", "5", "--threads", "2", "--quiet",
        cwd=folder)
    pep("init", "run", "--master", "sim/master.yaml", "--slave", "sim/slave.yaml",
        "--reference-dem", "sim/dem.tif", cwd=folder)
    pep("--run", "run", "run", "make", "geocoded_layover_shadow_mask", "geocoded_los_up", "-j",
        "2", cwd=folder)
    return folder / "sim", folder / "run"


def test_layover_mask_product_agrees_with_the_truth(layover):
    sim, run = layover
    same = SameGeocoding(run)
    truth = read_truth_raster(sim, "layover_shadow").astype(np.uint8)
    assert 0.01 < (truth > 0).mean() < 0.2
    multilooked = apply_local(MultilookMask(scene=same.master), {"input": truth})["output"]
    expected = same.geocode(multilooked.astype(float), GeocodeLabels)
    mask, ds = product(run, "geocoded_layover_shadow_mask")
    assert ds["units"] == ("1",) and "layover" in ds["descriptions"][0]
    both = np.isfinite(mask) & np.isfinite(expected)
    assert both.sum() > 1000 and (np.isfinite(mask) == np.isfinite(expected)).all()
    assert (mask[both] > 0).any()
    assert float(np.mean(mask[both] == expected[both])) >= 0.98


def test_no_geocoded_value_comes_from_a_layover_pixel(layover):
    sim, run = layover
    same = SameGeocoding(run)
    up = image(run, "los_up_multilooked").astype(np.float64)
    marked = np.where(same.mask > 0, 1e6, up)         # layover/shadow pixels marked
    assert (same.mask > 0).any()
    plain = same.geocode(marked, Geocode)
    assert np.nanmax(plain) == 1e6                    # the marks do reach the map unmasked
    masked = same.geocode(marked, GeocodeMasked)
    assert np.nanmax(masked) < 1.0
    delivered, _ = product(run, "geocoded_los_up")
    np.testing.assert_array_equal(np.isnan(delivered), np.isnan(masked))
    assert np.nanmax(delivered) < 1.0


def test_no_blunders_on_the_radar_grid_either(mogi):
    """Reference-DEM voids (no topographic phase) give no displacement, not a wrong one."""
    sim, run, _ = mogi
    same = SameGeocoding(run)
    disp = image(run, "los_displacement").astype(np.float64)
    lam = load_truth(sim)["config"]["wavelength_m"]
    los = same.multilook(read_truth_raster(sim, "los_displacement").astype(float))
    coherence = same.multilook(read_truth_raster(sim, "coherence").astype(float))
    ok = np.isfinite(disp) & (coherence > 0.7)
    assert ok.mean() > 0.8
    assert np.isnan(disp[np.isnan(same.lat)]).all()
    error = disp - los
    error -= np.median(error[ok])
    assert np.count_nonzero(np.abs(error[ok]) > lam / 4) == 0


def test_dem_chain_products_leave_layover_out(layover):
    """In a run with a reference DEM the DEM chain's products are geocoded with
    GeocodeMasked too (rules/reference_dem/geocode.yaml): no value of
    geocoded_coherence / geocoded_dem comes from a layover or shadow block."""
    sim, run = layover
    pep("--run", "run", "run", "make", "geocoded_coherence", "geocoded_dem", "-j", "2",
        cwd=run.parent)
    grid, master = get(run, "products.grid"), get(run, "inputs.master")
    mask = image(run, "layover_shadow_multilooked")
    ports = {"lat": image(run, "latitude"), "lon": image(run, "longitude"), "mask": mask}
    assert (mask > 0).mean() > 0.05

    def geocode(values, op):
        geocoder = op(grid=grid, master=master)
        return geocoder.compute({p: dict(ports, value=values)[p] for p in geocoder.inputs},
                                Region.full(tuple(grid["shape"])))["output"].astype(np.float64)

    for name, value in (("geocoded_coherence", "coherence"), ("geocoded_dem", "height")):
        values = image(run, value).astype(np.float64)
        marked = np.where(mask > 0, 1e6, values)
        assert np.nanmax(geocode(marked, Geocode)) == 1e6     # unmasked, the marks get there
        assert not (geocode(marked, GeocodeMasked) == 1e6).any()
        delivered, _ = product(run, name)
        np.testing.assert_array_equal(delivered, geocode(values, GeocodeMasked).astype(np.float32))
