"""Picture kinds by pixel value: continuous unwrapped phase, dB of power, labels, masks,
amplitude-modulated phase, the kind guessed from the name."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from peppers.io.source import ArraySource
from peppers.pictures.colormaps import LABEL_COLOURS, PHASE, RAMP
from peppers.pictures.decimate import read_decimated
from peppers.pictures.locate import guess_kind
from peppers.pictures.quicklook import TRANSFORMS, _signed_intensity, quicklook, render
from peppers.image import ImageSpec


def lut_index(rgb: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """The table entry nearest each colour."""
    flat = rgb.reshape(-1, 3).astype(int)
    d = ((flat[:, None, :] - lut[None, :, :].astype(int)) ** 2).sum(-1)
    return d.argmin(-1).reshape(rgb.shape[:-1])


def test_unwrapped_ramp_is_monotonic_and_spans_the_colours():
    ramp = np.tile(np.linspace(0.0, 40.0, 200), (5, 1))       # 40 rad: six fringes
    rgba, bar, stretch = render(ramp, "unwrapped", complex_source=False)
    index = lut_index(rgba[2, :, :3], RAMP.lut)
    assert np.all(np.diff(index) >= 0)                         # never wraps back
    assert index[0] <= 5 and index[-1] >= 250
    assert bar.unit == "rad" and "unwrapped phase" in stretch
    # the wrapped view of the same ramp would cycle: its colours repeat
    wrapped, _, _ = render(np.exp(1j * ramp), "phase")
    assert np.any(np.diff(lut_index(wrapped[2, :, :3], PHASE.lut)) < -100)


def test_rewrapped_view_cycles_at_the_chosen_rate():
    values = np.array([[0.0, 2.0, 10.0, 12.0]])
    rgba, _, stretch = render(values, "unwrapped", rewrap=10.0)
    assert np.array_equal(rgba[0, 0], rgba[0, 2]) and np.array_equal(rgba[0, 1], rgba[0, 3])
    assert not np.array_equal(rgba[0, 0], rgba[0, 1]) and "10 rad per colour cycle" in stretch


@pytest.mark.parametrize("amplitude, expected_db", [(10.0, 20.0), (100.0, 40.0), (1.0, 0.0)])
def test_amplitude_pictures_show_decibels_of_power(amplitude, expected_db):
    real = np.full((8, 8), amplitude, np.float32)
    values = read_decimated(ArraySource(real), (2, 2), transform=_signed_intensity)
    _, bar, stretch = render(values, "amplitude", complex_source=False)
    assert bar.unit == "dB" and (bar.vmin + bar.vmax) / 2 == pytest.approx(expected_db)
    z = np.full((8, 8), amplitude * np.exp(0.3j), np.complex64)
    values = read_decimated(ArraySource(z), (2, 2), transform=TRANSFORMS["amplitude"])
    _, bar, _ = render(values, "amplitude", complex_source=True)
    assert (bar.vmin + bar.vmax) / 2 == pytest.approx(expected_db, abs=1e-5)


def test_phase_of_a_complex_image_is_amplitude_modulated():
    z = np.exp(1j * 1.0) * np.array([[1.0, 1.0, 10.0, 100.0]])
    rgba, _, stretch = render(z, "phase", complex_source=True)
    brightness = rgba[0, :, :3].astype(int).sum(-1)
    assert brightness[0] == brightness[1] < brightness[2] < brightness[3]
    assert "dB" in stretch
    plain, _, _ = render(np.exp(1j * np.full((1, 4), 1.0)), "phase", complex_source=False)
    assert len({tuple(c) for c in plain[0, :, :3]}) == 1


def test_labels_and_masks_are_not_grey_ramps():
    labels = np.array([[0, 1, 2, 1]], float)
    rgba, bar, _ = render(labels, "labels", complex_source=False)
    assert rgba[0, 0, 3] == 0 and bar is None
    assert np.array_equal(rgba[0, 1, :3], LABEL_COLOURS[0]) and np.array_equal(rgba[0, 3], rgba[0, 1])
    assert not np.array_equal(rgba[0, 1, :3], rgba[0, 2, :3])
    mask = np.array([[0, 1, np.nan]])
    rgba, _, stretch = render(mask, "mask", complex_source=False)
    assert list(rgba[0, :, 3]) == [0, 255, 0] and "masked" in stretch


def test_kinds_guessed_from_the_name():
    f32 = ImageSpec((4, 4), "float32")
    assert guess_kind("geocoded_unwrapped_phase", f32) == "unwrapped"
    assert guess_kind("latitude", f32) == "value" and guess_kind("longitude", f32) == "value"
    assert guess_kind("components", ImageSpec((4, 4), "int32")) == "labels"
    assert guess_kind("S1AB_x_wrapped_phase", f32) == "phase"
    assert guess_kind("S1AB_x_corr", f32) == "coherence"


def test_nodata_is_transparent_in_the_png(tmp_path):
    ramp = np.tile(np.linspace(0.0, 40.0, 64), (48, 1)).astype(np.float32)
    ramp[:, :16] = np.nan
    result = quicklook(ArraySource(ramp, nodata=float("nan")), tmp_path / "unw.png",
                       kind="unwrapped", min_size=1)
    picture = np.asarray(Image.open(result.path).convert("RGBA"))
    assert result.kind == "unwrapped"
    assert (picture[..., 3] == 0).any()                    # the NaN columns show through


def test_geographic_quicklooks_get_degree_ticks_and_a_north_arrow(tmp_path):
    from peppers.pictures.figure import degree_ticks
    from peppers.pictures.quicklook import geographic_extent

    spec = ImageSpec((100, 200), "float32", None,
                     {"crs": "EPSG:4326", "transform": (-117.0, 1e-4, 0.0, 36.5, 0.0, -1e-4)})
    assert geographic_extent(spec) == pytest.approx((-117.0, -116.98, 36.49, 36.5))
    utm = ImageSpec((10, 10), "float32", None,
                    {"crs": "EPSG:32611", "transform": (5e5, 10.0, 0.0, 4e6, 0.0, -10.0)})
    assert geographic_extent(utm) is None
    ticks = degree_ticks(36.49, 36.5, 400)
    assert all(36.49 <= t <= 36.5 for t in ticks) and 2 <= len(ticks) <= 400 // 70 + 1
    steps = np.diff(ticks)
    assert np.allclose(steps, steps[0]) and (400 * steps[0] / 0.01) >= 70 * 0.9  # labels apart
    # the picture of a map is wider than the plain one: room for the latitude labels
    data = np.random.default_rng(1).random((100, 200)).astype(np.float32)

    class MapSource(ArraySource):
        pass

    source = MapSource(data)
    source.spec = spec
    with_geo = quicklook(source, tmp_path / "map.png", kind="value", min_size=1)
    plain = quicklook(ArraySource(data), tmp_path / "plain.png", kind="value", min_size=1)
    geo_png = np.asarray(Image.open(with_geo.path).convert("L"))
    plain_png = np.asarray(Image.open(plain.path).convert("L"))
    assert geo_png.shape[0] == plain_png.shape[0] + 16            # a row for longitude labels
    top = 10 + 18 + 16
    left = 10 + (geo_png.shape[1] - 20 - 200) // 2
    assert (geo_png[top:top + 100, :left] < 100).any()            # latitude labels: ink
    assert not (plain_png[top:top + 100, :left] < 100).any()
