"""``pep import s1`` on the real Sentinel-1 IW3 crop: geolocation against the annotation's
own grid, line times, TOPS metadata, orbit files, and refusals of bad input."""

from __future__ import annotations

import shutil
import warnings
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import rasterio

from peppers.cli.main import main
from peppers.errors import SceneError
from peppers.geometry.ellipsoid import ecef_to_enu, llh_to_ecef
from peppers.geometry.scene_geometry import scene_geo_to_pixel, scene_pixel_to_geo
from peppers.geometry.zero_doppler import rdr2geo
from peppers.importers.eof import read_eof
from peppers.importers.s1_annotation import parse_annotation
from peppers.importers.sentinel1 import bistatic_offset, build_s1, import_s1
from peppers.ppe.region import Region
from peppers.scene import load_scene

DATA = Path(__file__).resolve().parents[1] / "../shared/data/real/s1-iw3-azores-20220918"
ANNOTATION = DATA / "s1a-iw3-slc-vv-20220918t074921-20220918t074946-045056-056232-006.xml"
MEASUREMENT = DATA / "s1a-iw3-slc-vv_subset_hight9800_10400_width11000_11000.tiff"
RESORB = DATA / "S1A_OPER_AUX_RESORB_OPOD_20220918T093241_V20220918T053155_20220918T084925.EOF"
OFFSET = (9799, 10999)     # 0-based swath line/sample of the crop's first pixel
BURST = 7                  # 1-based; swath lines 9084..10597
C = 299_792_458.0

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="real test data not present")


def _import(tmp_path, name="b7", **kw):
    args = dict(swath=3, polarization="vv", burst=BURST, annotation=ANNOTATION,
                measurement=MEASUREMENT, measurement_offset=OFFSET, name=name)
    args.update(kw)
    return load_scene(import_s1(None, tmp_path, **args))


def _horizontal(llh, lat, lon, h):
    """Horizontal distance (m) of points ``llh`` from (lat, lon, h), in local ENU."""
    out = []
    for p, la, lo, hh in zip(llh, lat, lon, h):
        enu = ecef_to_enu(llh_to_ecef(p[0], p[1], p[2]), la, lo, hh)
        out.append(float(np.hypot(enu[..., 0], enu[..., 1])))
    return np.array(out)


@pytest.fixture(scope="module")
def annotation():
    return parse_annotation(ANNOTATION)


def _grid(annotation, burst_only=True):
    lpb = annotation.lines_per_burst
    return [g for g in annotation.grid
            if not burst_only or (BURST - 1) * lpb <= g.line < BURST * lpb]


@pytest.mark.parametrize("orbit", [None, RESORB], ids=["annotation-orbit", "RESORB"])
def test_grid_nodes_put_by_rdr2geo_within_5cm(tmp_path, annotation, orbit):
    """Every grid node of burst 7, at its own azimuth time and annotated height."""
    scene = _import(tmp_path, orbit=orbit)
    nodes = _grid(annotation)
    assert len(nodes) == 21
    t = np.array([(g.azimuth_time - scene.first_line_utc) / timedelta(seconds=1) for g in nodes])
    r = np.array([C * g.slant_range_time / 2 for g in nodes])
    lat, lon, h = (np.array([getattr(g, k) for g in nodes]) for k in ("latitude", "longitude", "height"))
    _, llh = rdr2geo(t, r, scene.orbit(), "right", h)
    error = _horizontal(llh, lat, lon, h)
    # measured: annotation orbit median 7.5 mm, max 8.2 mm; RESORB median 7.3 mm, max 7.6 mm
    assert error.max() < 0.05, error


def test_line_times_agree_with_the_grid_within_the_bistatic_offset(tmp_path, annotation):
    scene = _import(tmp_path)
    nodes = _grid(annotation)
    row = nodes[0].line - OFFSET[0]          # the burst's first line: row -715 of the crop
    assert row == -715 and scene.tops.bursts[0].first_row == row
    delay_us = np.array([(g.azimuth_time - scene.azimuth_time(row)) / timedelta(microseconds=1)
                         for g in nodes])
    assert delay_us.min() == pytest.approx(88, abs=1.5)
    assert delay_us.max() == pytest.approx(276, abs=1.5)
    # the contract's time offset reproduces it node by node (to the annotation's 1 us)
    r = np.array([C * g.slant_range_time / 2 for g in nodes])
    predicted_us = scene.azimuth_time_offset_s(r) * 1e6
    assert np.abs(predicted_us - delay_us).max() < 1.0


def test_offset_slope_is_half_the_two_way_time_and_fits_the_whole_grid(annotation):
    poly, residual = bistatic_offset(annotation)
    assert poly.coefficients[1] == pytest.approx(1 / C)
    inner = [i for i, g in enumerate(annotation.grid) if g.line < annotation.lines - 1]
    assert np.abs(residual[inner]).max() < 1.0e-6   # grid and burst times are rounded to 1 us


@pytest.mark.parametrize("orbit", [None, RESORB], ids=["annotation-orbit", "RESORB"])
def test_pixel_to_geo_of_grid_nodes_with_the_offset_within_10cm(tmp_path, annotation, orbit):
    scene = _import(tmp_path, orbit=orbit)
    nodes = _grid(annotation)
    rows = np.array([g.line - OFFSET[0] for g in nodes], dtype=float)
    cols = np.array([g.pixel - OFFSET[1] for g in nodes], dtype=float)
    lat, lon, h = (np.array([getattr(g, k) for g in nodes]) for k in ("latitude", "longitude", "height"))
    llh = scene_pixel_to_geo(scene, rows, cols, h)
    error = _horizontal(llh, lat, lon, h)
    # measured: annotation orbit median 7.3 mm, max 10.4 mm; RESORB median 7.5 mm, max 10.0 mm
    assert error.max() < 0.10, error
    back_row, back_col = scene_geo_to_pixel(scene, lat, lon, h)
    assert np.abs(back_row - rows).max() < 2e-3 and np.abs(back_col - cols).max() < 2e-3
    # without the offset the same pixels land metres away (88..276 us at ~6.7 km/s)
    plain = scene_pixel_to_geo(scene.__class__(**{**scene.__dict__, "azimuth_time_offset": None}),
                               rows, cols, h)
    assert _horizontal(plain, lat, lon, h).min() > 0.4


def test_image_is_the_measurement_window_and_tops_metadata(tmp_path, annotation):
    scene = _import(tmp_path)
    assert scene.shape == (601, 1401)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with rasterio.open(MEASUREMENT) as ds:
            raw = ds.read(1).astype(np.complex64)
    assert np.array_equal(scene.read(Region(0, 0, *scene.shape)), raw)
    assert scene.first_sample_m == pytest.approx(C / 2 * (annotation.slant_range_time
                                                          + OFFSET[1] / annotation.range_sampling_rate))
    assert scene.centre_frequency_hz == annotation.radar_frequency
    assert scene.range_bandwidth_hz == pytest.approx(42.78991840322842e6)
    assert scene.azimuth_bandwidth_hz == 314.0
    burst = scene.tops.bursts[0]
    assert burst.lines == 1514
    assert (burst.mid_utc - burst.first_line_utc) / timedelta(seconds=1) == \
        pytest.approx(757 * annotation.azimuth_time_interval)
    # the steering ramp: the Doppler sweeps kHz along the burst (TOPS), linearly
    f = scene.tops_doppler(np.array([0.0, 300.0, 600.0]), 700.0)
    assert 1500 < (f[2] - f[0]) / (600 * scene.line_interval_s) < 2500
    assert f[1] - f[0] == pytest.approx(f[2] - f[1], rel=1e-9)


def test_several_bursts_are_debursted_at_the_overlap_middle(tmp_path, annotation):
    """Whole-swath geometry (no pixels needed): bursts 2-4 on one time grid."""
    result = build_s1(annotation, str(MEASUREMENT), bursts=(1, 3), measurement_offset=(0, 0),
                      measurement_shape=(annotation.lines, annotation.samples))
    pieces = result.pieces
    assert [p.burst for p in pieces] == [1, 2, 3]
    for a, b in zip(pieces, pieces[1:]):
        assert a.dst_row + a.rows == b.dst_row          # contiguous, no gap, no double
    bursts = result.scene.tops.bursts
    assert [b.first_row for b in bursts] == sorted(b.first_row for b in bursts)
    dt = annotation.azimuth_time_interval
    for b in bursts:   # each burst's first line time sits on the output grid
        row = (b.first_line_utc - result.scene.first_line_utc) / timedelta(seconds=1) / dt
        assert row == pytest.approx(b.first_row, abs=2e-3)


def test_eof_replaces_the_annotation_orbit_and_agrees_with_it(tmp_path):
    scene = _import(tmp_path, orbit=RESORB)
    ann_scene = _import(tmp_path, name="ann")
    assert len(scene.orbit_utc) >= 8 and scene.orbit_utc != ann_scene.orbit_utc
    t = np.linspace(0, scene.azimuth_seconds(scene.lines - 1), 5)
    p1, _ = scene.orbit().interpolate(t)
    p2, _ = ann_scene.orbit().interpolate(t)
    assert np.linalg.norm(p1 - p2, axis=1).max() < 1.0   # restituted vs annotation: < 1 m


def test_cli_writes_yaml_and_vrt(tmp_path, capsys):
    status = main(["import", "s1", "-", str(tmp_path / "out"), "--swath", "3", "--polarization",
                   "vv", "--burst", "7", "--annotation", str(ANNOTATION), "--measurement",
                   str(MEASUREMENT), "--measurement-offset", *map(str, OFFSET)])
    assert status == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        f"{ANNOTATION.stem}_b7.vrt", f"{ANNOTATION.stem}_b7.yaml"]


# -- bad input: one line naming file and field, nothing left in OUTDIR ---------------------

def _copy(tmp_path, source, edit=None, name=None):
    target = tmp_path / (name or source.name)
    text = source.read_bytes()
    target.write_bytes(edit(text) if edit else text)
    return target


def _refused(tmp_path, capsys, argv, file, field):
    out = tmp_path / "out"
    status = main(["import", "s1", "-", str(out), "--swath", "3", "--polarization", "vv",
                   "--measurement-offset", *map(str, OFFSET), *argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 1 and len(err) == 1, err
    assert str(file) in err[0] and f": {field}" in err[0], err[0]
    assert not out.exists() or not any(out.iterdir())


def _files(annotation=ANNOTATION, measurement=MEASUREMENT):
    return ["--annotation", str(annotation), "--measurement", str(measurement)]


def test_refuses_a_burst_out_of_range(tmp_path, capsys):
    _refused(tmp_path, capsys, ["--burst", "12", *_files()], ANNOTATION, "swathTiming/burstList")


def test_refuses_the_wrong_polarization(tmp_path, capsys):
    _refused(tmp_path, capsys, ["--burst", "7", *_files(), "--polarization", "vh"],
             ANNOTATION, "adsHeader/polarisation")


def test_refuses_the_wrong_swath(tmp_path, capsys):
    out = tmp_path / "out"
    status = main(["import", "s1", "-", str(out), "--swath", "2", "--burst", "7", *_files()])
    err = capsys.readouterr().err
    assert status == 1 and f"{ANNOTATION}: adsHeader/swath" in err


def test_refuses_a_truncated_annotation(tmp_path, capsys):
    bad = _copy(tmp_path, ANNOTATION, lambda b: b[: len(b) // 2])
    _refused(tmp_path, capsys, ["--burst", "7", *_files(annotation=bad)], bad, "(xml)")


def test_refuses_a_missing_element(tmp_path, capsys):
    def drop(text):
        start = text.index(b"<azimuthFmRateList")
        stop = text.index(b"</azimuthFmRateList>") + len(b"</azimuthFmRateList>")
        return text[:start] + text[stop:]
    bad = _copy(tmp_path, ANNOTATION, drop)
    _refused(tmp_path, capsys, ["--burst", "7", *_files(annotation=bad)], bad,
             "generalAnnotation/azimuthFmRateList")


def test_refuses_a_malformed_number(tmp_path, capsys):
    bad = _copy(tmp_path, ANNOTATION, lambda b: b.replace(
        b"<radarFrequency>5.405000454334350e+09", b"<radarFrequency>5.4O5e+09", 1))
    _refused(tmp_path, capsys, ["--burst", "7", *_files(annotation=bad)], bad,
             "generalAnnotation/productInformation/radarFrequency")


def test_refuses_a_truncated_measurement(tmp_path, capsys):
    bad = _copy(tmp_path, MEASUREMENT, lambda b: b[: len(b) // 3])
    _refused(tmp_path, capsys, ["--burst", "7", *_files(measurement=bad)], bad, "(raster)")


def test_refuses_a_measurement_outside_the_burst(tmp_path, capsys):
    # the crop lies in burst 7, so it holds nothing of burst 2
    _refused(tmp_path, capsys, ["--burst", "2", *_files()], MEASUREMENT, "--measurement-offset")


def test_refuses_an_orbit_file_that_does_not_cover_the_acquisition(tmp_path, capsys):
    def cut(text):   # keep the OSVs until 07:40, ten minutes before the burst
        head, _, rest = text.partition(b"<OSV>")
        keep, osvs = [], rest.split(b"<OSV>")
        for osv in osvs:
            if b"UTC=2022-09-18T07:4" in osv and b"UTC=2022-09-18T07:40" not in osv:
                break
            keep.append(osv)
        body = b"<OSV>".join(keep)
        tail = b"</List_of_OSVs>" + text.split(b"</List_of_OSVs>")[1]
        if not body.rstrip().endswith(b"</OSV>"):
            body = body[: body.rindex(b"</OSV>") + len(b"</OSV>")]
        return head + b"<OSV>" + body + tail
    bad = _copy(tmp_path, RESORB, cut)
    _refused(tmp_path, capsys, ["--burst", "7", *_files(), "--orbit", str(bad)], bad,
             "Data_Block/List_of_OSVs")


def test_refuses_an_orbit_file_of_another_mission(tmp_path, capsys):
    bad = _copy(tmp_path, RESORB, lambda b: b.replace(b"<Mission>Sentinel-1A</Mission>",
                                                      b"<Mission>Sentinel-1B</Mission>"))
    _refused(tmp_path, capsys, ["--burst", "7", *_files(), "--orbit", str(bad)], bad,
             "Earth_Explorer_Header/Fixed_Header/Mission")


def test_refuses_a_missing_safe(tmp_path):
    with pytest.raises(SceneError, match="no such SAFE"):
        import_s1(tmp_path / "none.SAFE", tmp_path / "out", swath=3)


def test_safe_folder_layout_is_found(tmp_path):
    safe = tmp_path / "S1A_TEST.SAFE"
    (safe / "annotation").mkdir(parents=True)
    (safe / "measurement").mkdir()
    shutil.copy(ANNOTATION, safe / "annotation" / ANNOTATION.name)
    with pytest.raises(SceneError) as info:   # a SAFE measurement must be the whole swath
        import_s1(safe, tmp_path / "out", swath=3, burst=7)
    assert "measurement" in str(info.value)


def test_zip_members_are_found_and_a_cropped_measurement_is_refused(tmp_path):
    import zipfile

    archive = tmp_path / "S1A_TEST.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(ANNOTATION, f"S1A_TEST.SAFE/annotation/{ANNOTATION.name}")
        z.write(MEASUREMENT, "S1A_TEST.SAFE/measurement/"
                             "s1a-iw3-slc-vv-20220918t074921-20220918t074946-045056-056232-006.tiff")
    with pytest.raises(SceneError) as info:
        import_s1(archive, tmp_path / "out", swath=3, burst=7)
    assert info.value.field == "(size)" and str(info.value.file).startswith("/vsizip/")
    assert "601 x 1401" in str(info.value)
    with pytest.raises(SceneError, match="no annotation for swath IW1"):
        import_s1(archive, tmp_path / "out", swath=1)
    assert not (tmp_path / "out").exists()


def test_refuses_an_offset_outside_the_swath(tmp_path, capsys):
    out = tmp_path / "out"
    status = main(["import", "s1", "-", str(out), "--swath", "3", "--burst", "7", *_files(),
                   "--measurement-offset", "13500", "0"])
    err = capsys.readouterr().err
    assert status == 1 and f"{MEASUREMENT}: --measurement-offset" in err


def test_read_eof_keeps_a_margin(annotation):
    start = annotation.bursts[6].azimuth_time
    vectors = read_eof(RESORB, start, start + timedelta(seconds=3), mission="S1A")
    assert vectors.times[0] <= start - timedelta(seconds=50)
    assert vectors.times[-1] >= start + timedelta(seconds=53)


def test_pep_init_accepts_imported_bursts(tmp_path, capsys):
    """Item 5: an imported burst goes into pep init like a simulated scene (here the
    same burst with two orbits: a zero-baseline pair, metadata only)."""
    master = import_s1(None, tmp_path / "scenes", swath=3, burst=BURST, annotation=ANNOTATION,
                       measurement=MEASUREMENT, measurement_offset=OFFSET, name="m")
    slave = import_s1(None, tmp_path / "scenes", swath=3, burst=BURST, annotation=ANNOTATION,
                      measurement=MEASUREMENT, measurement_offset=OFFSET, orbit=RESORB, name="s")
    run = tmp_path / "run"
    assert main(["init", str(run), "--master", str(master), "--slave", str(slave)]) == 0, \
        capsys.readouterr().err
    capsys.readouterr()
    assert main(["--run", str(run), "get", "inputs.master.tops.steering_rate_rad_s"]) == 0
    assert float(capsys.readouterr().out) == pytest.approx(np.radians(1.397440818))
