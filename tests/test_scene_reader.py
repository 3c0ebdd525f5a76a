"""The ``peppers-slc/1`` reader and writer (peppers.scene) against the contract."""

from __future__ import annotations

import dataclasses
import re
import tempfile
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
import rasterio
import yaml
from hypothesis import given, strategies as st
from rasterio.errors import NotGeoreferencedWarning

from peppers.errors import SceneError
from peppers.ppe.region import Region
from peppers.scene import (check_reference_dem, format_utc, load_gcps, load_scene, parse_utc,
                           write_scene)
from support.scenes import T0, circular_orbit, make_scene, random_image, write_test_scene


def _open(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        return rasterio.open(path)


def _refused(path, field):
    with pytest.raises(SceneError) as info:
        load_scene(path)
    assert info.value.field == field, str(info.value)
    assert str(path.absolute()) in str(info.value)
    assert "\n" not in str(info.value)
    return info.value


# -- times ------------------------------------------------------------------------------------

@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1),
                    timezones=st.just(timezone.utc)))
def test_utc_strings_round_trip(value):
    text = format_utc(value)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", text)
    assert parse_utc(text) == value


@given(st.text(max_size=40).filter(
    lambda s: not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z", s)))
def test_utc_refuses_anything_else(text):
    with pytest.raises(ValueError):
        parse_utc(text)


@pytest.mark.parametrize("text", ["2026-03-01T05:12:03", "2026-03-01 05:12:03Z",
                                  "2026-03-01T05:12:03+00:00", "2026-02-30T00:00:00Z",
                                  "2026-03-01T24:00:00Z", "2026-03-01T05:12:03.1234567890Z"])
def test_utc_refuses_near_misses(text):
    with pytest.raises(ValueError):
        parse_utc(text)


def test_utc_rounds_nanoseconds_to_microseconds():
    assert parse_utc("2026-03-01T05:12:03.123456789Z").microsecond == 123457
    assert parse_utc("2026-03-01T23:59:59.9999996Z") == datetime(2026, 3, 2, tzinfo=timezone.utc)
    with pytest.raises(ValueError):
        format_utc(datetime(2026, 3, 1))


# -- write / load round trip --------------------------------------------------------------------

def test_written_vrt_opens_in_rasterio_as_complex64(tmp_path):
    image = random_image((40, 24), seed=3)
    scene = write_scene(tmp_path / "master.yaml", make_scene(), image)
    assert scene.image_path == tmp_path / "master.slc.vrt"
    with _open(scene.image_path) as dataset:
        assert (dataset.count, dataset.height, dataset.width) == (1, 40, 24)
        assert dataset.dtypes[0] == "complex64"
        assert np.array_equal(dataset.read(1), image)
    raw = np.fromfile(tmp_path / "master.slc", dtype="<c8")
    assert raw.size == 40 * 24 and np.array_equal(raw.reshape(40, 24), image)
    assert not list(tmp_path.glob(".*tmp*"))


@st.composite
def scenes(draw):
    n = draw(st.integers(8, 14))
    spacing = draw(st.sampled_from([1.0, 5.0, 10.0, 30.0]))
    lines = draw(st.integers(1, 9))
    first = draw(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1),
                              timezones=st.just(timezone.utc)))
    finite = dict(allow_nan=False, allow_infinity=False)
    return make_scene(
        lines=lines, samples=draw(st.integers(1, 9)), n_vectors=n, spacing_s=spacing,
        first_line_utc=first,
        line_interval_s=draw(st.floats(1e-5, 1e-2, **finite)),
        sensor_name=draw(st.text(min_size=1, max_size=12).filter(str.strip)),
        wavelength_m=draw(st.floats(0.01, 0.3, **finite)),
        look_side=draw(st.sampled_from(["right", "left"])),
        first_sample_m=draw(st.floats(1e5, 2e6, **finite)),
        sample_spacing_m=draw(st.floats(0.1, 30.0, **finite)))


@given(scenes(), st.integers(0, 2**32 - 1))
def test_random_valid_scenes_round_trip(scene, seed):
    with tempfile.TemporaryDirectory() as tmp:
        image = random_image(scene.shape, seed)
        written = write_scene(Path(tmp) / "s.yaml", scene, image)
        loaded = load_scene(written.yaml_path)
        assert loaded == written
        assert loaded == dataclasses.replace(scene, yaml_path=loaded.yaml_path,
                                             image_path=loaded.image_path)
        assert np.array_equal(loaded.read(Region.full(scene.shape)), image)


def test_write_without_image_points_at_existing_image(tmp_path):
    first = write_test_scene(tmp_path, "master")
    (tmp_path / "meta").mkdir()
    scene = load_scene(first)
    again = write_scene(tmp_path / "meta" / "copy.yaml", scene)
    text = yaml.safe_load(again.yaml_path.read_text())
    assert text["image"]["path"] == "../master.slc.vrt"
    assert load_scene(again.yaml_path).image_path == scene.image_path
    with pytest.raises(SceneError, match="image.path"):
        write_scene(tmp_path / "x.yaml", make_scene())


def test_write_refuses_wrong_arrays(tmp_path):
    with pytest.raises(SceneError, match="not complex"):
        write_scene(tmp_path / "a.yaml", make_scene(), np.zeros((40, 24), np.float32))
    with pytest.raises(SceneError, match="shape"):
        write_scene(tmp_path / "a.yaml", make_scene(), random_image((24, 40)))
    assert list(tmp_path.iterdir()) == []


# -- the Scene value ------------------------------------------------------------------------------

def test_scene_helpers_follow_the_contract_geometry():
    scene = make_scene(lines=100)
    assert scene.azimuth_time(10) == T0 + timedelta(seconds=10 * 0.000604)
    assert scene.azimuth_seconds(np.array([0, 2.5])) == pytest.approx([0, 2.5 * 0.000604])
    assert scene.slant_range(3) == pytest.approx(830000.0 + 3 * 2.329562)
    assert scene.last_line_utc == T0 + timedelta(seconds=99 * 0.000604)
    assert scene.shape == (100, 24)
    with pytest.raises(dataclasses.FrozenInstanceError):
        scene.lines = 3
    with pytest.raises(ValueError):
        scene.positions_m[0, 0] = 1.0


def test_orbit_shares_the_scene_clock_and_interpolates():
    scene = make_scene(lines=2000)
    orbit = scene.orbit()
    assert orbit.epoch == scene.first_line_utc
    t = scene.azimuth_seconds(np.array([0.0, 1000.0, 1999.0]))
    position, velocity = orbit.interpolate(t)
    truth_p, truth_v = circular_orbit(t - scene.orbit_times_s[0] + _offset_s(scene))
    assert np.max(np.abs(position - truth_p)) < 1e-2
    assert np.max(np.abs(velocity - truth_v)) < 1e-3


def _offset_s(scene):
    # make_scene samples circular_orbit at times relative to first_line_utc, starting here
    return (scene.orbit_utc[0] - scene.first_line_utc) / timedelta(seconds=1)


@given(st.integers(-50, 50), st.integers(-30, 30), st.integers(0, 60), st.integers(0, 40))
def test_read_any_region_pads_outside_with_nodata(row, col, height, width):
    scene, image = _shared_scene()
    region = Region(row, col, height, width)
    got = scene.read(region)
    assert got.dtype == np.complex64 and got.shape == (height, width)
    padded = np.zeros((40 + 200, 24 + 200), np.complex64)
    padded[100:140, 100:124] = image
    assert np.array_equal(got, padded[row + 100:row + 100 + height, col + 100:col + 100 + width])


_SHARED: dict = {}


def _shared_scene():
    if not _SHARED:
        directory = Path(tempfile.mkdtemp(prefix="peppers-scene-"))
        _SHARED["scene"] = load_scene(write_test_scene(directory, seed=7))
        _SHARED["image"] = random_image((40, 24), seed=7)
    return _SHARED["scene"], _SHARED["image"]


# -- refusals: metadata -----------------------------------------------------------------------------

REQUIRED = ["format", "sensor", "sensor.name", "sensor.wavelength_m", "sensor.look_side",
            "image", "image.path", "image.lines", "image.samples", "azimuth",
            "azimuth.first_line_utc", "azimuth.line_interval_s", "range",
            "range.first_sample_m", "range.sample_spacing_m", "orbit", "orbit.frame",
            "orbit.state_vectors", "orbit.state_vectors[3].utc",
            "orbit.state_vectors[0].position_m", "orbit.state_vectors[8].velocity_mps"]


def _locate(doc, dotted):
    parts = re.findall(r"[^.\[\]]+|\[\d+\]", dotted)
    for part in parts[:-1]:
        doc = doc[int(part[1:-1])] if part.startswith("[") else doc[part]
    last = parts[-1]
    return doc, int(last[1:-1]) if last.startswith("[") else last


@pytest.fixture(scope="module")
def valid_yaml(tmp_path_factory):
    return write_test_scene(tmp_path_factory.mktemp("valid"))


def _variant(valid_yaml, mutate):
    directory = Path(tempfile.mkdtemp(dir=valid_yaml.parent))
    target = directory / "scene.yaml"
    doc = yaml.safe_load(valid_yaml.read_text())
    doc["image"]["path"] = "../master.slc.vrt"
    mutate(doc)
    target.write_text(yaml.safe_dump(doc, sort_keys=False))
    return target


@given(st.sampled_from(REQUIRED), st.booleans())
def test_missing_or_empty_field_is_named(valid_yaml, field, empty):
    def mutate(doc):
        parent, key = _locate(doc, field)
        if empty:
            parent[key] = None
        else:
            del parent[key]
    error = _refused(_variant(valid_yaml, mutate), field)
    assert ("missing" in error.problem) or ("empty" in error.problem)


NUMBERS = ["sensor.wavelength_m", "azimuth.line_interval_s", "range.first_sample_m",
           "range.sample_spacing_m", "image.lines", "image.samples"]
TIMES = ["azimuth.first_line_utc", "orbit.state_vectors[0].utc", "orbit.state_vectors[5].utc"]


NOT_A_NUMBER = st.one_of(st.text(max_size=8), st.booleans(), st.lists(st.integers(), max_size=2),
                        st.floats(max_value=0.0), st.integers(max_value=0),
                        st.sampled_from([float("nan"), float("inf")]))


@given(st.sampled_from(NUMBERS), NOT_A_NUMBER)
def test_bad_number_is_named(valid_yaml, field, value):
    _refused(_variant(valid_yaml, lambda doc: _set(doc, field, value)), field)


@given(st.sampled_from(["image.lines", "image.samples"]),
       st.floats(0.5, 1e4).filter(lambda v: v != int(v)) | st.sampled_from([40.0, 24.0]))
def test_float_where_an_integer_is_required(valid_yaml, field, value):
    error = _refused(_variant(valid_yaml, lambda doc: _set(doc, field, value)), field)
    assert "integer" in error.problem


def _set(doc, field, value):
    parent, key = _locate(doc, field)
    parent[key] = value


@given(st.sampled_from(TIMES), st.one_of(
    st.text(max_size=30).filter(
        lambda s: not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z", s)),
    st.integers(), st.sampled_from(["2026-03-01T05:12:03", "2026-03-01 05:12:03Z",
                                    "2026-13-01T05:12:03Z", "2026-03-01T05:12:03+01:00"])))
def test_bad_time_string_is_named(valid_yaml, field, value):
    error = _refused(_variant(valid_yaml, lambda doc: _set(doc, field, value)), field)
    assert "time" in error.problem


@given(st.text(max_size=10).filter(lambda s: s not in ("right", "left")))
def test_unknown_look_side(valid_yaml, side):
    _refused(_variant(valid_yaml, lambda doc: _set(doc, "sensor.look_side", side)),
             "sensor.look_side")


@given(st.text(max_size=12).filter(lambda s: s != "peppers-slc/1"))
def test_wrong_format(valid_yaml, fmt):
    _refused(_variant(valid_yaml, lambda doc: _set(doc, "format", fmt)), "format")


def test_unknown_frame(valid_yaml):
    _refused(_variant(valid_yaml, lambda doc: _set(doc, "orbit.frame", "ECI-J2000")), "orbit.frame")


@given(st.integers(0, 7))
def test_fewer_than_eight_state_vectors(valid_yaml, keep):
    def mutate(doc):
        del doc["orbit"]["state_vectors"][keep:]
    error = _refused(_variant(valid_yaml, mutate), "orbit.state_vectors")
    assert f"has {keep} state vectors" in error.problem


@given(st.integers(1, 8))
def test_non_increasing_times(valid_yaml, i):
    def mutate(doc):
        vectors = doc["orbit"]["state_vectors"]
        vectors[i]["utc"] = vectors[i - 1]["utc"]
    error = _refused(_variant(valid_yaml, mutate), f"orbit.state_vectors[{i}].utc")
    assert "strictly increase" in error.problem


def test_uneven_spacing(valid_yaml):
    def mutate(doc):
        doc["orbit"]["state_vectors"][4]["utc"] = format_utc(
            parse_utc(doc["orbit"]["state_vectors"][4]["utc"]) + timedelta(seconds=1))
    _refused(_variant(valid_yaml, mutate), "orbit.state_vectors[4].utc")


def test_orbit_must_cover_image_with_margin(tmp_path):
    scene = make_scene()
    with pytest.raises(SceneError) as info:
        make_scene(first_line_utc=T0, orbit_utc=[t + timedelta(seconds=36) for t in
                                                 scene.orbit_utc])
    assert info.value.field == "orbit.state_vectors" and "margin" in info.value.problem
    # exactly one interval of margin before the first line is accepted
    start = scene.orbit_utc[0]
    shifted = [t + (T0 - timedelta(seconds=10) - start) for t in scene.orbit_utc]
    make_scene(orbit_utc=shifted)


def test_velocities_must_agree_with_positions(valid_yaml):
    def inertial(doc):  # velocities without the Earth-rotation term
        for vector in doc["orbit"]["state_vectors"]:
            x, y, z = vector["position_m"]
            vx, vy, vz = vector["velocity_mps"]
            vector["velocity_mps"] = [vx - 7.2921150e-5 * y * 3, vy + 7.2921150e-5 * x * 3, vz]
    _refused(_variant(valid_yaml, inertial), "orbit.state_vectors[1].velocity_mps")

    def kilometres(doc):
        doc["orbit"]["state_vectors"][2]["position_m"] = [
            v / 1000 for v in doc["orbit"]["state_vectors"][2]["position_m"]]
    error = _refused(_variant(valid_yaml, kilometres), "orbit.state_vectors[2].position_m")
    assert "units" in error.problem


@pytest.mark.parametrize("value", [[1.0, 2.0], "1,2,3", [1.0, 2.0, "x"], [1.0, True, 2.0]])
def test_bad_vector(valid_yaml, value):
    _refused(_variant(valid_yaml, lambda doc: _set(doc, "orbit.state_vectors[6].position_m",
                                                   value)), "orbit.state_vectors[6].position_m")


def test_yaml_syntax_duplicates_and_shape(tmp_path, valid_yaml):
    bad = tmp_path / "bad.yaml"
    bad.write_text("format: peppers-slc/1\nsensor: {name: [\n")
    assert "line" in _refused(bad, "(yaml)").problem
    bad.write_text("format: peppers-slc/1\nformat: peppers-slc/1\n")
    assert "twice" in _refused(bad, "(yaml)").problem
    bad.write_text("- just\n- a list\n")
    _refused(bad, "(yaml)")
    _refused(tmp_path / "absent.yaml", "(file)")


def test_unquoted_times_are_read_as_contract_strings(valid_yaml):
    text = valid_yaml.read_text()
    unquoted = re.sub(r"'(\d{4}-[^']*Z)'", r"\1", text)
    assert unquoted != text
    target = valid_yaml.with_name("unquoted.yaml")
    target.write_text(unquoted)
    assert load_scene(target).first_line_utc == T0
    target.write_text(unquoted.replace("05:12:03.000000Z", "05:12:03.000000"))
    _refused(target, "azimuth.first_line_utc")


# -- refusals: the image ------------------------------------------------------------------------------

def _write_raster(path, array, driver="GTiff"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "w", driver=driver, width=array.shape[-1],
                           height=array.shape[-2], count=1 if array.ndim == 2 else array.shape[0],
                           dtype=array.dtype) as dataset:
            dataset.write(array if array.ndim == 3 else array[None])


@pytest.mark.parametrize("dtype, words", [(np.float32, "not complex"),
                                          (np.complex128, "complex but"),
                                          (np.int16, "not complex")])
def test_image_of_the_wrong_type(tmp_path, valid_yaml, dtype, words):
    _write_raster(tmp_path / "img.tif", np.ones((40, 24), dtype))
    target = _variant(valid_yaml, lambda doc: _set(doc, "image.path", str(tmp_path / "img.tif")))
    assert words in _refused(target, "image.path").problem


def test_image_with_two_bands(tmp_path, valid_yaml):
    _write_raster(tmp_path / "img.tif", np.ones((2, 40, 24), np.complex64))
    target = _variant(valid_yaml, lambda doc: _set(doc, "image.path", str(tmp_path / "img.tif")))
    assert "2 bands" in _refused(target, "image.path").problem


@pytest.mark.parametrize("field, value", [("image.lines", 41), ("image.samples", 23)])
def test_image_size_mismatch(valid_yaml, field, value):
    target = _variant(valid_yaml, lambda doc: _set(doc, field, value))
    _refused(target, field)


def test_missing_and_unreadable_images(tmp_path, valid_yaml):
    target = _variant(valid_yaml, lambda doc: _set(doc, "image.path", "nowhere.slc.vrt"))
    assert "does not exist" in _refused(target, "image.path").problem
    (tmp_path / "junk.slc.vrt").write_text("not a raster")
    target = _variant(valid_yaml, lambda doc: _set(doc, "image.path", str(tmp_path / "junk.slc.vrt")))
    assert "GDAL" in _refused(target, "image.path").problem


def test_truncated_raw_image(tmp_path):
    yaml_path = write_test_scene(tmp_path)
    raw = tmp_path / "master.slc"
    raw.write_bytes(raw.read_bytes()[: 8 * 24 * 30])
    assert "truncated" in _refused(yaml_path, "image.path").problem


# -- ancillary inputs ---------------------------------------------------------------------------------

def test_gcps(tmp_path):
    good = tmp_path / "gcps.yaml"
    good.write_text("gcps:\n  - {lat: 36.51, lon: -117.02, height_m: 812.4}\n"
                    "  - {lat: -10, lon: 200, height_m: -5}\n")
    points = load_gcps(good)
    assert [p.lat for p in points] == [36.51, -10.0] and points[1].lon == 200.0
    for text, field in [("gcps: []\n", "gcps"), ("other: 1\n", "gcps"),
                        ("gcps: [{lat: 91, lon: 0, height_m: 0}]\n", "gcps[0].lat"),
                        ("gcps: [{lat: 0, lon: 0}]\n", "gcps[0].height_m"),
                        ("gcps: [{lat: 0, lon: 0, height_m: 1}, 3]\n", "gcps[1]"),
                        ("gcps: [{lat: 0, lon: x, height_m: 0}]\n", "gcps[0].lon")]:
        bad = tmp_path / "bad.yaml"
        bad.write_text(text)
        with pytest.raises(SceneError) as info:
            load_gcps(bad)
        assert info.value.field == field and str(bad) in str(info.value)


def test_reference_dem(tmp_path):
    from rasterio.transform import Affine

    dem = tmp_path / "dem.tif"
    with rasterio.open(dem, "w", driver="GTiff", width=5, height=4, count=1, dtype="float32",
                       crs="EPSG:4326", transform=Affine(0.01, 0, -117, 0, -0.01, 37)) as out:
        out.write(np.zeros((1, 4, 5), np.float32))
    info = check_reference_dem(dem)
    assert info.crs == "EPSG:4326" and info.shape == (4, 5) and info.dtype == "float32"
    _write_raster(tmp_path / "nocrs.tif", np.zeros((4, 5), np.float32))
    for path, field in [(tmp_path / "nocrs.tif", "crs"), (tmp_path / "none.tif", "(file)"),
                        (tmp_path / "gcps.yaml", "(file)")]:
        if path.name == "gcps.yaml":
            path.write_text("gcps: []\n")
        with pytest.raises(SceneError) as error:
            check_reference_dem(path)
        assert error.value.field == field
