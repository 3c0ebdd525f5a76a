"""Contract ``peppers-slc/2``: round trip, v1 compatibility, field errors, radar values."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from peppers.errors import SceneError
from peppers.scene import (FORMAT_V1, FORMAT_V2, DopplerCentroid, Lut2D, Polynomial,
                           Polynomial2D, Tops, TopsBurst, load_scene, write_scene)
from peppers.scene.radar import SPEED_OF_LIGHT
from support.scenes import T0, edit_yaml, make_scene, random_image, write_test_scene

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
positive = st.floats(min_value=1.0, max_value=1e10, allow_nan=False, allow_infinity=False)


@st.composite
def v2_fields(draw):
    """Random but valid v2 attributes for the test scene of ``tests.scenes``."""
    out = {}
    if draw(st.booleans()):
        out["centre_frequency_hz"] = SPEED_OF_LIGHT / 0.05546576
    if draw(st.booleans()):
        fs = draw(positive)
        out["range_sampling_rate_hz"] = fs
        if draw(st.booleans()):
            out["range_bandwidth_hz"] = fs * draw(st.floats(0.1, 1.0))
    if draw(st.booleans()):
        out["prf_hz"] = draw(positive)
    if draw(st.booleans()):
        out["azimuth_bandwidth_hz"] = draw(positive)
    if draw(st.booleans()):
        out["azimuth_time_offset"] = Polynomial.make(
            draw(finite), draw(st.lists(finite, min_size=1, max_size=3)))
    kind = draw(st.sampled_from(["none", "poly", "lut"]))
    geometry = draw(st.sampled_from(["zero-doppler", "native-doppler"]))
    if kind == "poly":
        rows = draw(st.integers(1, 3))
        cols = draw(st.integers(1, 3))
        coef = draw(st.lists(st.lists(finite, min_size=cols, max_size=cols),
                             min_size=rows, max_size=rows))
        out["doppler"] = DopplerCentroid(geometry, Polynomial2D.make(draw(finite), draw(finite), coef))
    elif kind == "lut":
        nt, nr = draw(st.integers(1, 4)), draw(st.integers(1, 4))
        times = np.cumsum(draw(st.lists(st.floats(0.01, 10.0), min_size=nt, max_size=nt)))
        ranges = 8e5 + np.cumsum(draw(st.lists(st.floats(1.0, 1e3), min_size=nr, max_size=nr)))
        values = draw(st.lists(st.lists(finite, min_size=nr, max_size=nr), min_size=nt, max_size=nt))
        out["doppler"] = DopplerCentroid(geometry, Lut2D.make(times, ranges, values))
    if draw(st.booleans()):
        bursts = []
        row = draw(st.integers(-2000, 0))
        for _ in range(draw(st.integers(1, 3))):
            lines = draw(st.integers(1, 2000))
            first = T0 + timedelta(microseconds=draw(st.integers(-10**7, 10**7)))
            bursts.append(TopsBurst(row, lines, first, first + timedelta(microseconds=lines * 100),
                                    Polynomial.make(draw(finite), draw(st.lists(finite, min_size=1, max_size=3))),
                                    Polynomial.make(draw(finite), draw(st.lists(finite, min_size=1, max_size=3)))))
            row += draw(st.integers(1, 3000))
        out["tops"] = Tops(draw(finite), draw(positive), tuple(bursts))
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(extra=v2_fields())
def test_v2_yaml_round_trip(tmp_path_factory, extra):
    scene = make_scene(**extra)
    folder = tmp_path_factory.mktemp("v2")
    written = write_scene(folder / "s.yaml", scene, random_image(scene.shape))
    loaded = load_scene(folder / "s.yaml")
    assert loaded == written
    doc = yaml.safe_load((folder / "s.yaml").read_text())
    assert doc["format"] == (FORMAT_V2 if extra else FORMAT_V1)


def test_a_v1_file_still_loads_and_declares_its_assumptions(tmp_path):
    path = write_test_scene(tmp_path)
    assert yaml.safe_load(path.read_text())["format"] == FORMAT_V1
    scene = load_scene(path)
    assert scene.format == FORMAT_V1 and scene.doppler is None
    assert scene.doppler_centroid(830000.0, 0.0) == 0.0
    assert scene.doppler_geometry == "zero-doppler"
    assumed = scene.assumptions()
    assert set(assumed) >= {"doppler", "range.processed_bandwidth_hz", "azimuth.time_offset"}
    assert scene.centre_frequency == pytest.approx(SPEED_OF_LIGHT / 0.05546576)


def test_v2_keys_in_a_v1_file_are_ignored(tmp_path):
    path = write_test_scene(tmp_path)
    edit_yaml(path, lambda d: d.update(doppler={"geometry": "bogus"}))
    assert load_scene(path).doppler is None


def _v2_file(tmp_path):
    scene = make_scene(centre_frequency_hz=SPEED_OF_LIGHT / 0.05546576,
                       doppler=DopplerCentroid("zero-doppler", Polynomial2D.make(8.3e5, 0.0, [[10.0, 1e-3]])),
                       tops=Tops(0.0244, 8.3e5, (TopsBurst(-5, 100, T0, T0 + timedelta(seconds=0.1),
                                                           Polynomial.make(8.3e5, [-2000.0]),
                                                           Polynomial.make(8.3e5, [10.0])),)))
    return write_test_scene(tmp_path, scene=scene)


@pytest.mark.parametrize("mutate, field", [
    (lambda d: d["sensor"].update(centre_frequency_hz=1.0e9), "sensor.centre_frequency_hz"),
    (lambda d: d["range"].update(processed_bandwidth_hz="wide"), "range.processed_bandwidth_hz"),
    (lambda d: d["range"].update(sampling_rate_hz=-5.0), "range.sampling_rate_hz"),
    (lambda d: d["doppler"].update(geometry="squinted"), "doppler.geometry"),
    (lambda d: d["doppler"].update(lut={"times_s": [0], "ranges_m": [1], "values": [[0]]}), "doppler"),
    (lambda d: d["doppler"]["polynomial"].update(coefficients=[]), "doppler.polynomial.coefficients"),
    (lambda d: d["doppler"].update(polynomial=None, lut={"times_s": [0, 1], "ranges_m": [1, 0],
                                                          "values": [[0, 0], [0, 0]]}),
     "doppler.lut.ranges_m"),
    (lambda d: d["tops"]["bursts"][0].pop("mid_utc"), "tops.bursts[0].mid_utc"),
    (lambda d: d["tops"]["bursts"][0].update(lines=0), "tops.bursts[0].lines"),
    (lambda d: d["tops"].update(bursts=[]), "tops.bursts"),
    (lambda d: d["tops"]["bursts"][0]["azimuth_fm_rate"].update(coefficients=["x"]),
     "tops.bursts[0].azimuth_fm_rate.coefficients[0]"),
])
def test_bad_v2_fields_are_refused_naming_file_and_field(tmp_path, mutate, field):
    path = _v2_file(tmp_path)
    def apply(doc):
        mutate(doc)
        if doc.get("doppler", {}).get("polynomial", 1) is None:
            del doc["doppler"]["polynomial"]
    edit_yaml(path, apply)
    with pytest.raises(SceneError) as info:
        load_scene(path)
    assert info.value.field == field and str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_lut_is_bilinear_inside_and_clamped_outside():
    lut = Lut2D.make([0.0, 2.0], [10.0, 20.0], [[0.0, 10.0], [20.0, 30.0]])
    assert lut(15.0, 1.0) == pytest.approx(15.0)
    assert lut(10.0, 0.0) == 0.0 and lut(25.0, 5.0) == 30.0
    assert lut(np.array([10.0, 20.0]), 2.0).tolist() == [20.0, 30.0]


def test_polynomials_evaluate_their_formula():
    p = Polynomial.make(100.0, [1.0, 2.0, 3.0])
    assert p(101.0) == pytest.approx(6.0)
    q = Polynomial2D.make(100.0, 1.0, [[1.0, 2.0], [3.0, 4.0]])
    # 1 + 2 dr + 3 dt + 4 dt dr at dr = 2, dt = 0.5
    assert q(102.0, 1.5) == pytest.approx(1 + 4 + 1.5 + 4)


def test_tops_doppler_ramp_follows_the_deramping_note():
    """k_t = k_a k_s / (k_a - k_s) is the slope of the Doppler along the burst."""
    ka, fdc, rate = -2000.0, 10.0, 0.0244
    scene = make_scene(lines=200, tops=Tops(rate, 8.3e5, (TopsBurst(
        0, 200, T0, T0 + timedelta(seconds=100 * 0.000604), Polynomial.make(8.3e5, [ka]),
        Polynomial.make(8.3e5, [fdc])),)))
    _, vel = scene.orbit().interpolate(100 * 0.000604)
    ks = 2 * np.linalg.norm(vel) * rate / scene.wavelength_m
    kt = ka * ks / (ka - ks)
    f = scene.tops_doppler(np.array([100.0, 150.0]), 0.0)
    assert f[0] == pytest.approx(fdc, abs=1e-6)
    assert (f[1] - f[0]) / (50 * 0.000604) == pytest.approx(kt, rel=1e-9)
    with pytest.raises(SceneError, match="tops"):
        make_scene().tops_doppler(0, 0)
