"""Spectra from scene metadata: assumptions stated, Doppler carriers, common bands of two modes."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
from support.scenes import make_scene

from peppers.importers.nisar import read_nisar
from peppers.operators.doppler import scene_carrier
from peppers.operators.scene_spectra import DEFAULT_BANDWIDTH_FRACTION, scene_spectrum
from peppers.operators.slave_resample import SlaveResampleFilter
from peppers.operators.spectral import range_bands
from peppers.ppe import Pipeline
from peppers.scene.radar import DopplerCentroid, Polynomial2D
from peppers.scene.writer import scene_metadata

DUAL = Path("../shared/data/real/uavsar-sanandreas-dualband")


def test_a_v1_scene_states_every_assumption():
    scene = make_scene()
    spectrum = scene_spectrum(scene)
    fs = 299_792_458.0 / (2 * scene.sample_spacing_m)
    assert spectrum.range_sampling_hz == pytest.approx(fs)
    assert spectrum.range_bandwidth_hz == pytest.approx(DEFAULT_BANDWIDTH_FRACTION * fs)
    assert spectrum.azimuth_fraction == pytest.approx(DEFAULT_BANDWIDTH_FRACTION)
    assert spectrum.carrier_hz is None and scene_carrier(scene) is None
    fields = {a.split(":")[0] for a in spectrum.assumed}
    assert {"range.processed_bandwidth_hz", "azimuth.processed_bandwidth_hz",
            "sensor.centre_frequency_hz", "doppler"} <= fields
    # the same through the contract mapping a run records
    record = scene_metadata(scene, "x.slc")
    assert scene_spectrum(record).assumed == spectrum.assumed


def test_a_doppler_polynomial_becomes_the_resampler_carrier():
    # f_dc = 300 Hz + 0.01 Hz/m (R - R0) + 2 Hz/s t
    probe = make_scene()
    doppler = DopplerCentroid("native-doppler", Polynomial2D.make(
        probe.first_sample_m, 0.0, [[300.0, 0.01], [2.0, 0.0]]))
    scene = make_scene(doppler=doppler, prf_hz=1.0 / probe.line_interval_s,
                       range_bandwidth_hz=50e6, azimuth_bandwidth_hz=1300.0)
    spectrum = scene_spectrum(scene)
    assert not [a for a in spectrum.assumed if "bandwidth" in a or "doppler" in a]
    table = scene_carrier(scene)
    values = np.asarray(table["values"])
    rows = table["row0"] + table["row_step"] * np.arange(values.shape[0])
    cols = table["col0"] + table["col_step"] * np.arange(values.shape[1])
    expected = (300.0 + 0.01 * cols[None, :] * scene.sample_spacing_m
                + 2.0 * rows[:, None] * scene.line_interval_s) * scene.line_interval_s
    np.testing.assert_allclose(values, expected, rtol=1e-12, atol=1e-12)


def test_common_band_of_two_nisar_modes():
    a, b = (scene_spectrum(read_nisar(DUAL / f"SanAnd_{n}.h5").scene) for n in (129, 138))
    bands = range_bands(a, b)
    assert (bands.lo_hz, bands.hi_hz) == (1233e6, 1253e6)
    assert bands.master_centre == pytest.approx(0.0) and not bands.master_needs_cut
    assert bands.slave_centre == pytest.approx(-10e6 / 48e6, rel=1e-6)
    assert bands.slave_width == pytest.approx(20e6 / 48e6, rel=1e-6) and bands.slave_needs_cut
    swapped = range_bands(b, a)  # the wide mode as master: it is cut, the narrow one kept
    assert swapped.master_needs_cut and not swapped.slave_needs_cut
    with pytest.raises(ValueError, match="no common band"):
        far = read_nisar(DUAL / "SanAnd_129.h5", frequency="B").scene  # 5 MHz at 1270 MHz
        range_bands(a, scene_spectrum(far))


def test_two_mode_resampling_is_identical_for_tiles_and_threads():
    products = [read_nisar(DUAL / f"SanAnd_{n}.h5") for n in (129, 138)]
    images = []
    for product in products:
        with h5py.File(product.file, "r") as f:
            images.append(f[product.dataset][()].astype(np.complex64))
    records = [scene_metadata(p.scene, "x.slc") for p in products]
    offsets = {"row_coeffs": [0.0, 0.0, 0.0], "col_coeffs": [99.5, 0.0, 100.0],
               "center": [74.5, 99.5], "scale": [75.0, 100.0]}
    op = SlaveResampleFilter(offsets=offsets, master_scene=records[0], slave_scene=records[1],
                             estimate_window=(64, 64))
    assert op._cut is not None
    results = []
    for tile, threads in (((150, 200), 1), ((64, 64), 2), ((40, 96), 2)):
        p = Pipeline(tile_shape=tile, mem="64M", threads=threads)
        fm, fs = p.add(op, master=p.source(images[0]), slave=p.source(images[1]))
        p.output(fm, name="m")
        p.output(fs, name="s")
        out = p.run(echo=lambda line: None)
        results.append((out["m"], out["s"]))
    for other in results[1:]:
        np.testing.assert_array_equal(results[0][0], other[0])
        np.testing.assert_array_equal(results[0][1], other[1])
    m, s = results[0]
    inner = (slice(8, -8), slice(24, -24))
    gamma = abs(np.vdot(s[inner], m[inner])) / np.sqrt(np.vdot(m[inner], m[inner]).real
                                                      * np.vdot(s[inner], s[inner]).real)
    assert gamma > 0.95
