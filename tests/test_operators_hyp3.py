"""The HyP3-style product set: names MintPy parses, the parameter file, valid COGs,
look vectors that satisfy the zero-Doppler geometry, one atomic folder."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime

import numpy as np
import pytest
import rasterio

from peppers.operators.hyp3 import FILES, parameter_text, platform_code, product_name
from support.cog import assert_valid_product


def pep(*args: str, cwd) -> str:
    result = subprocess.run([sys.executable, "-m", "peppers", *args], cwd=cwd,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr + result.stdout
    return result.stdout


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hyp3")
    pep("simulate", "sim", "--lines", "320", "--samples", "256", "--seed", "3", "--quiet",
        cwd=folder)
    pep("init", "run", "--master", "sim/master.yaml", "--slave", "sim/slave.yaml",
        "--gcps", "sim/gcps.yaml", "--reference-dem", "sim/dem.tif", cwd=folder)
    pep("--run", "run", "run", "make", "products", "-j", "2", cwd=folder)
    run = folder / "run"
    (product,) = [p for p in (run / "products").iterdir() if p.is_dir()]
    return run, product


#: MintPy 1.6's pattern of an INSAR_GAMMA product name (prep_hyp3), but any platform.
GAMMA = re.compile(r"[A-Z0-9]{4}(_\d{8}T\d{6}){2}_(VV|HH)[PRO]\d{3,4}_INT\d{2}_G_[uw][ec][123F]"
                   r"_[0-9A-F]{4}")
S1_GAMMA = re.compile(r"S1[ABCD]{2}(_\d{8}T\d{6}){2}_(VV|HH)[PRO]\d{3,4}_INT\d{2}_G_[uw][ec][123F]"
                      r"_[0-9A-F]{4}")


def mintpy_name_and_dates(filename: str, pattern=GAMMA):
    """What MintPy's prep_hyp3 does with a name: match the pattern, dates in parts 2 and 3."""
    match = pattern.match(filename)
    assert match, filename
    name = match.group()
    return name, [datetime.strptime(x, "%Y%m%dT%H%M%S") for x in name.split("_")[1:3]]


def mintpy_parse(text: str) -> dict[str, str]:
    """prep_hyp3's reading of the .txt: spaces removed, split on ':'."""
    out = {}
    for line in text.splitlines():
        key, value = line.strip().replace(" ", "").split(":")[:2]
        out[key] = value
    return out


def test_every_file_of_the_set_is_there_and_a_valid_cog(made):
    run, product = made
    name = product.name
    for suffix in FILES:
        assert_valid_product(product / f"{name}_{suffix}.tif")
    for extra in (".txt", ".README.md.txt", "_unw_phase.png"):
        assert (product / f"{name}{extra}").stat().st_size > 0
    assert not [p for p in (run / "products").iterdir() if p.name.startswith(".")]
    # the tracked output is the unwrapped phase itself (a hard link)
    assert (run / "products" / "hyp3_product.tif").samefile(product / f"{name}_unw_phase.tif")
    with rasterio.open(product / f"{name}_dem.tif") as ds:
        # a run with a reference DEM: the refined DEM (rules/reference_dem/dem.yaml)
        assert ds.crs.to_epsg() == 4979 and ds.tags()["HEIGHTS"] == "refined"
    with rasterio.open(product / f"{name}_unw_phase.tif") as unw, \
            rasterio.open(product / f"{name}_wrapped_phase.tif") as wrapped:
        u, w = unw.read(1), wrapped.read(1)
    ok = np.isfinite(u)
    assert ok.mean() > 0.3 and np.allclose(np.exp(1j * u[ok]), np.exp(1j * w[ok]), atol=1e-5)
    with rasterio.open(product / f"{name}_conncomp.tif") as ds:
        labels = ds.read(1)
        assert ds.dtypes == ("uint16",) and ds.nodata is None
    assert np.mean(labels[ok] > 0) > 0.99          # unwrapped pixels carry their component
    assert set(np.unique(labels[~ok])) <= set(np.unique(labels)) and 0 in labels
    assert np.all(np.abs(w[ok]) <= np.pi + 1e-6)


def test_name_and_parameter_file_read_as_mintpy_reads_them(made):
    run, product = made
    name = product.name
    for suffix in ("unw_phase", "corr", "dem", "lv_theta"):
        parsed, dates = mintpy_name_and_dates(f"{name}_{suffix}.tif")
        assert parsed == name
    meta = mintpy_parse((product / f"{name}.txt").read_text())
    for key in ("ReferenceGranule", "UTCtime", "Azimuthlooks", "Rangelooks",
                "Earthradiusatnadir", "Spacecraftheight", "Slantrangenear", "Heading",
                "Baseline", "Unwrappingtype"):
        assert meta[key], key
    assert int(meta["Azimuthlooks"]) >= 1 and int(meta["Rangelooks"]) >= 1
    assert 6.3e6 < float(meta["Earthradiusatnadir"]) < 6.4e6
    assert 2e5 < float(meta["Spacecraftheight"]) < 2e6
    assert abs(float(meta["Baseline"]) - 150.0) < 15.0        # the simulated bperp, 150 m
    assert float(meta["Heading"]) < -90                        # the simulated pass descends


def test_look_vectors_point_at_the_antenna_at_zero_doppler(made):
    """The unit look vector from (theta, phi) is perpendicular to the velocity at the
    zero-Doppler time, points up, and to the look side of the track."""
    from peppers.geometry.ellipsoid import enu_basis, llh_to_ecef
    from peppers.geometry.zero_doppler import geo2rdr
    from peppers.hkv import RunDatabase
    from peppers.scene import scene_from_mapping

    run, product = made
    name = product.name
    master = scene_from_mapping(RunDatabase.open(run).get("inputs.master"))
    with rasterio.open(product / f"{name}_lv_theta.tif") as ds:
        theta, transform = ds.read(1), ds.transform
    with rasterio.open(product / f"{name}_lv_phi.tif") as ds:
        phi = ds.read(1)
    with rasterio.open(product / f"{name}_dem.tif") as ds:
        height = ds.read(1)
    rows, cols = np.nonzero(np.isfinite(theta))
    pick = np.linspace(0, rows.size - 1, 25).astype(int)
    r, c = rows[pick], cols[pick]
    x0, px, _, y0, _, py = transform.to_gdal()                    # north-up EPSG:4979 grid
    lon, lat = x0 + (c + 0.5) * px, y0 + (r + 0.5) * py
    e = np.cos(theta[r, c]) * np.cos(phi[r, c])
    n = np.cos(theta[r, c]) * np.sin(phi[r, c])
    u = np.sin(theta[r, c])
    basis = enu_basis(lat, lon)                                   # rows east, north, up
    los = np.einsum("kij,ki->kj", basis, np.stack([e, n, u], axis=1))
    ground = llh_to_ecef(lat, lon, height[r, c])
    t, rng = geo2rdr(ground, master.orbit())
    pos, vel = master.orbit().interpolate(t)
    assert np.all(np.abs(np.einsum("ki,ki->k", los, vel / np.linalg.norm(vel, axis=1)[:, None]))
                  < 1e-6)
    np.testing.assert_allclose(ground + rng[:, None] * los, pos, atol=1.0)   # reaches the antenna
    assert np.all((theta[r, c] > 0.3) & (theta[r, c] < 1.4))


def test_platform_codes_and_the_parameter_text():
    assert platform_code("Sentinel-1A", "sentinel1b") == "S1AB"
    assert platform_code("NISAR", "NISAR") == "NISA" and platform_code("X", "X") == "XXXX"
    assert parameter_text({"Reference Granule": "a:b"}) == "Reference Granule: a-b\n"
    from types import SimpleNamespace as S

    m = S(sensor_name="S1A", first_line_utc=datetime(2019, 6, 10, 13, 51, 56))
    s = S(sensor_name="S1A", first_line_utc=datetime(2019, 6, 22, 13, 51, 57))
    name = product_name(m, s, posting_m=80.0)
    assert mintpy_name_and_dates(name + "_unw_phase_clip.tif", S1_GAMMA)[0] == name
    assert name.split("_")[3] == "VVP012" and name != product_name(m, s, posting_m=40.0)


def test_displacement_and_mask_join_the_set_with_a_reference_dem(made):
    run, product = made
    name = product.name
    disp_path = product / f"{name}_los_disp.tif"
    mask_path = product / f"{name}_layover_shadow_mask.tif"
    for path in (disp_path, mask_path):
        assert_valid_product(path)
    assert (run / "products" / "hyp3_displacement.tif").samefile(disp_path)
    with rasterio.open(product / f"{name}_unw_phase.tif") as unw, \
            rasterio.open(disp_path) as disp, rasterio.open(mask_path) as mask:
        assert unw.transform == disp.transform == mask.transform and unw.shape == disp.shape
        assert disp.units == ("m",) and disp.tags()["SIGN"] == "positive_towards_the_satellite"
        d, m, u = disp.read(1), mask.read(1), unw.read(1)
    # no deformation in this scene: the displacement is noise around its reference
    ok = np.isfinite(d)
    assert ok.mean() > 0.3 and float(np.nanmax(np.abs(d))) < 0.01
    assert set(np.unique(m[np.isfinite(m)])) <= {0.0, 1.0, 2.0}
    assert np.isfinite(m[np.isfinite(u)]).mean() > 0.99


def test_dem_run_set_holds_the_differential_phase(made):
    """With a reference DEM (rule variant reference_dem) _unw_phase is differential: the
    simulated scene has no deformation and its DEM is the simulated surface, so the
    topography the plain geocoded_unwrapped_phase holds is gone; the .txt gives the
    reference point and _los_disp = -lambda/(4 pi) (unw_phase - Phase at reference point)."""
    from peppers.hkv import RunDatabase
    from peppers.scene import scene_from_mapping

    run, product = made
    name = product.name
    with rasterio.open(product / f"{name}_unw_phase.tif") as ds:
        u, description = ds.read(1), ds.descriptions[0]
    with rasterio.open(run / "products" / "geocoded_unwrapped_phase.tif") as ds:
        plain = ds.read(1)
    with rasterio.open(product / f"{name}_los_disp.tif") as ds:
        disp = ds.read(1)
    assert "differential" in description and "reference DEM" in description
    assert np.isfinite(u).mean() > 0.3
    assert np.nanstd(u) < 0.3 and np.nanstd(u) < 0.2 * np.nanstd(plain)
    meta = mintpy_parse((product / f"{name}.txt").read_text())
    reference = RunDatabase.open(run).get("insar.displacement.result")
    assert float(meta["Phaseatreferencepoint"]) == pytest.approx(reference["phase_rad"],
                                                                 abs=1e-4)
    assert int(meta["AzimuthlineofthereferencepointinSARspace"]) == reference["row"]
    assert abs(float(meta["Latitudeofthereferencepoint(WGS84)"]) - 36.5) < 0.05
    wavelength = scene_from_mapping(RunDatabase.open(run).get("inputs.master")).wavelength_m
    ok = np.isfinite(disp) & np.isfinite(u)
    assert ok.mean() > 0.3
    expected = -wavelength / (4 * np.pi) * (u[ok] - float(meta["Phaseatreferencepoint"]))
    np.testing.assert_allclose(disp[ok], expected, atol=1e-5)       # 1e-4 rad of rounding
    readme = (product / f"{name}.README.md.txt").read_text()
    assert f"{name}_los_disp.tif" in readme and f"{name}_layover_shadow_mask.tif" in readme


def test_plain_chain_keeps_the_topographic_phase(made):
    """Without the variant (no reference DEM rules) hyp3_product reads the plain chain's
    images; the set written from them (on a copy of the run: the plain rules would also
    redo the coregistration) has the geocoded unwrapped phase, topography in it, and no
    reference point in the .txt."""
    import shutil

    from peppers.drs.ruleset import RuleSet
    from peppers.operators.hyp3 import write_product_set

    plain_rule = RuleSet.load(variants=[]).rules["hyp3_product"]
    dem_rule = RuleSet.load(variants=["reference_dem"]).rules["hyp3_product"]
    assert plain_rule.inputs["unw"] == "unwrapped_map" and "--differential" not in \
        plain_rule.command
    assert plain_rule.inputs["conncomp"] == "components_map"
    assert dem_rule.inputs["unw"] == "unwrapped_differential_hyp3_map"
    run, _ = made
    copy = run.parent / "run_plain"
    shutil.copytree(run, copy)
    images = copy / "images"
    sources = {port: str(images / f"{name}.raw.vrt") for port, name in plain_rule.inputs.items()
               if port != "conncomp"}
    # components_map is not made in a reference-DEM run: the differential labels stand in
    sources["conncomp"] = str(images / "components_differential_hyp3_map.raw.vrt")
    product = write_product_set(copy, copy / "products" / "plain.tif", sources, block=512,
                                heights="gcps")
    name = product.name
    with rasterio.open(product / f"{name}_unw_phase.tif") as ds:
        u, description = ds.read(1), ds.descriptions[0]
    with rasterio.open(copy / "products" / "geocoded_unwrapped_phase.tif") as ds:
        plain = ds.read(1)
    np.testing.assert_array_equal(u, plain)
    assert np.nanstd(u) > 0.5                  # the topographic phase (0.08 rad differential)
    assert "differential" not in description
    assert "referencepoint" not in "".join(mintpy_parse((product / f"{name}.txt").read_text()))
    assert "holds the\ntopographic phase" in (product / f"{name}.README.md.txt").read_text()
