"""``pep import nisar`` on the UAVSAR files in the NISAR RSLC layout: metadata against the
HDF5 datasets read independently with h5py, the image without a copy, refusals of bad
input, and ``pep init`` on the two San Andreas modes."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import h5py
import numpy as np
import pytest

from peppers.cli.main import main
from peppers.errors import SceneError
from peppers.geometry.scene_geometry import scene_geo_to_pixel, scene_pixel_to_geo
from peppers.importers.nisar import import_nisar
from peppers.ppe.region import Region
from peppers.scene import load_scene

REAL = Path(__file__).resolve().parents[1] / "../shared/data/real"
WINNIPEG = REAL / "uavsar-winnipeg/winnipeg.h5"
SAN_129 = REAL / "uavsar-sanandreas-dualband/SanAnd_129.h5"
SAN_138 = REAL / "uavsar-sanandreas-dualband/SanAnd_138.h5"
SLC = "science/LSAR/SLC"

pytestmark = pytest.mark.skipif(not WINNIPEG.exists(), reason="real test data not present")


def _epoch(dataset) -> datetime:
    units = dataset.attrs["units"]
    units = units.decode() if isinstance(units, bytes) else units
    return datetime.fromisoformat(units.replace("seconds since ", "").strip().replace(" ", "T")
                                  ).replace(tzinfo=timezone.utc)


@pytest.mark.parametrize("path, frequency", [(WINNIPEG, "A"), (SAN_129, "A"), (SAN_138, "A"),
                                             (SAN_129, "B"), (SAN_138, "B")])
def test_import_matches_the_hdf5_datasets(tmp_path, path, frequency):
    scene = load_scene(import_nisar(path, tmp_path, frequency=frequency))
    swath = f"{SLC}/swaths/frequency{frequency}"
    with h5py.File(path) as h:
        image = h[f"{swath}/HH"][()]
        t = h[f"{SLC}/swaths/zeroDopplerTime"]
        first = _epoch(t) + timedelta(seconds=float(t[0]))
        ranges = h[f"{swath}/slantRange"][()]
        f0 = float(h[f"{swath}/processedCenterFrequency"][()])
        bw = float(h[f"{swath}/processedRangeBandwidth"][()])
        orbit_t = h[f"{SLC}/metadata/orbit/time"]
        orbit_first = _epoch(orbit_t) + timedelta(seconds=float(orbit_t[0]))
    assert scene.shape == image.shape
    assert np.array_equal(scene.read(Region(0, 0, *scene.shape)), image)   # no copy, same pixels
    assert abs((scene.first_line_utc - first) / timedelta(microseconds=1)) <= 0.5
    assert scene.first_sample_m == ranges[0]
    assert scene.slant_range(len(ranges) - 1) == pytest.approx(ranges[-1], abs=1e-6)
    assert scene.centre_frequency_hz == f0 and scene.range_bandwidth_hz == bw
    assert scene.wavelength_m == pytest.approx(299_792_458.0 / f0)
    assert scene.look_side == "left" and scene.doppler_geometry == "zero-doppler"
    assert abs((scene.orbit_utc[0] - orbit_first) / timedelta(microseconds=1)) <= 0.5
    assert scene.doppler_centroid(scene.slant_range(10), 0.0) == 0.0   # UAVSAR: a 0 Hz LUT
    assert scene.image_path.suffix == ".vrt" and "HDF5:" in scene.image_path.read_text()


def test_the_two_modes_differ_as_the_readme_says(tmp_path):
    a = load_scene(import_nisar(SAN_129, tmp_path))
    b = load_scene(import_nisar(SAN_138, tmp_path))
    assert (a.centre_frequency_hz, a.range_bandwidth_hz) == (1243e6, 20e6)
    assert (b.centre_frequency_hz, b.range_bandwidth_hz) == (1253e6, 40e6)
    assert a.first_line_utc == b.first_line_utc and a.orbit_utc == b.orbit_utc
    assert a.sample_spacing_m == pytest.approx(2 * b.sample_spacing_m)


def test_pixel_geo_round_trip_on_the_real_orbit(tmp_path):
    """No geolocation grid in these files (metadata/geolocationGrid holds only its
    axes), so the check is the round trip pixel -> ground -> pixel on the real orbit."""
    scene = load_scene(import_nisar(WINNIPEG, tmp_path))
    rows, cols = np.meshgrid([0.0, 124.5, 249.0], [0.0, 100.25, 249.0], indexing="ij")
    llh = scene_pixel_to_geo(scene, rows, cols, 230.0)
    assert 49.0 < llh[..., 0].min() and llh[..., 0].max() < 50.2       # Winnipeg
    assert -98.9 < llh[..., 1].min() and llh[..., 1].max() < -97.4
    r, c = scene_geo_to_pixel(scene, llh[..., 0], llh[..., 1], llh[..., 2])
    assert np.abs(r - rows).max() < 1e-6 and np.abs(c - cols).max() < 1e-6


def test_pep_init_accepts_the_two_san_andreas_modes(tmp_path, capsys):
    scenes = tmp_path / "scenes"
    for path in (SAN_129, SAN_138):
        assert main(["import", "nisar", str(path), str(scenes), "--frequency", "A"]) == 0
    run = tmp_path / "run"
    status = main(["init", str(run), "--master", str(scenes / "SanAnd_129_A_HH.yaml"),
                   "--slave", str(scenes / "SanAnd_138_A_HH.yaml")])
    assert status == 0, capsys.readouterr().err
    assert main(["--run", str(run), "get", "inputs.slave.range.processed_bandwidth_hz"]) == 0
    assert "40000000" in capsys.readouterr().out


# -- bad input -----------------------------------------------------------------------------

def _refused(tmp_path, capsys, path, field, *extra):
    out = tmp_path / "out"
    status = main(["import", "nisar", str(path), str(out), *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 1 and len(err) == 1, err
    assert str(path) in err[0] and f": {field}" in err[0], err[0]
    assert not out.exists() or not any(out.iterdir())


def _edited(tmp_path, edit) -> Path:
    copy = tmp_path / "edited.h5"
    shutil.copy(SAN_129, copy)
    with h5py.File(copy, "r+") as h:
        edit(h)
    return copy


def test_refuses_a_polarization_not_listed(tmp_path, capsys):
    _refused(tmp_path, capsys, WINNIPEG, f"{SLC}/swaths/frequencyA/listOfPolarizations",
             "--polarization", "VV")


def test_refuses_a_listed_polarization_without_its_image(tmp_path, capsys):
    _refused(tmp_path, capsys, SAN_129, f"{SLC}/swaths/frequencyA/HV", "--polarization", "HV")


def test_refuses_a_frequency_without_the_image(tmp_path, capsys):
    _refused(tmp_path, capsys, WINNIPEG, f"{SLC}/swaths/frequencyB/HH", "--frequency", "B")


def test_refuses_a_truncated_file(tmp_path, capsys):
    bad = tmp_path / "truncated.h5"
    bad.write_bytes(SAN_129.read_bytes()[:100_000])
    _refused(tmp_path, capsys, bad, "(file)")


def test_refuses_a_file_that_is_not_rslc(tmp_path, capsys):
    bad = tmp_path / "other.h5"
    with h5py.File(bad, "w") as h:
        h["science/LSAR/GSLC/x"] = np.zeros(3)
    _refused(tmp_path, capsys, bad, "science/LSAR/SLC")


def test_refuses_a_missing_orbit_dataset(tmp_path, capsys):
    bad = _edited(tmp_path, lambda h: h.__delitem__(f"{SLC}/metadata/orbit/velocity"))
    _refused(tmp_path, capsys, bad, f"{SLC}/metadata/orbit/velocity")


def test_refuses_an_orbit_that_does_not_cover_the_image(tmp_path, capsys):
    def shift(h):
        t = h[f"{SLC}/metadata/orbit/time"]
        t[...] = t[()] + 5000.0
    bad = _edited(tmp_path, shift)
    _refused(tmp_path, capsys, bad, "orbit.state_vectors")


def test_refuses_bad_time_units(tmp_path, capsys):
    def units(h):
        h[f"{SLC}/swaths/zeroDopplerTime"].attrs["units"] = "days"
    bad = _edited(tmp_path, units)
    _refused(tmp_path, capsys, bad, f"{SLC}/swaths/zeroDopplerTime@units")


def test_refuses_inconsistent_range_spacing(tmp_path, capsys):
    def spacing(h):
        h[f"{SLC}/swaths/frequencyA/slantRangeSpacing"][...] = 7.0
    bad = _edited(tmp_path, spacing)
    _refused(tmp_path, capsys, bad, f"{SLC}/swaths/frequencyA/slantRangeSpacing")


def test_refuses_a_missing_doppler_lut(tmp_path, capsys):
    path = f"{SLC}/metadata/processingInformation/parameters/frequencyA/dopplerCentroid"
    bad = _edited(tmp_path, lambda h: h.__delitem__(path))
    _refused(tmp_path, capsys, bad, path)


def test_existing_outputs_are_kept_unless_overwrite(tmp_path):
    first = import_nisar(SAN_129, tmp_path)
    before = first.read_bytes()
    with pytest.raises(SceneError, match="already exists"):
        import_nisar(SAN_129, tmp_path)
    assert first.read_bytes() == before
    import_nisar(SAN_129, tmp_path, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["SanAnd_129_A_HH.vrt",
                                                          "SanAnd_129_A_HH.yaml"]


def test_a_varying_doppler_lut_is_kept_over_the_image(tmp_path):
    """A centroid linear in range and time (bilinear: exact) survives the thinning."""
    base = f"{SLC}/metadata/processingInformation/parameters"

    def doppler(h):
        t = h[f"{base}/zeroDopplerTime"][()]
        r = h[f"{base}/slantRange"][()]
        h[f"{base}/frequencyA/dopplerCentroid"][...] = \
            50.0 + 2.0 * (t[:, None] - t[0]) + 1e-3 * (r[None, :] - r[0])
    bad = _edited(tmp_path, doppler)
    scene = load_scene(import_nisar(bad, tmp_path / "out"))
    with h5py.File(bad) as h:
        t0 = h[f"{base}/zeroDopplerTime"][0] + (_epoch(h[f"{base}/zeroDopplerTime"])
                                                - scene.first_line_utc).total_seconds()
        r0 = h[f"{base}/slantRange"][0]
    rows, cols = np.array([0.0, 75.0, 149.0]), np.array([0.0, 100.0, 199.0])
    t, r = scene.azimuth_seconds(rows), scene.slant_range(cols)
    expected = 50.0 + 2.0 * (t - t0) + 1e-3 * (r - r0)
    assert np.allclose(scene.doppler_centroid(r, t), expected, atol=1e-9)
    assert scene.doppler.function.values.shape[0] <= 33
