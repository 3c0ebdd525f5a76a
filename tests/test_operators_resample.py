"""PolynomialResampler: accuracy on band-limited signals, exact integer shifts, bounds."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from peppers.errors import OperatorError
from peppers.operators._arrays import read_region
from peppers.operators.resample import (OffsetRasterResampler, PolynomialResampler,
                                       polynomial_powers, sinc_table)
from peppers.ppe.operator import ImageSpec
from peppers.ppe.region import Region
from peppers.ppe.testing import whole_image


class BandLimited:
    """A complex signal known everywhere: a sum of sinusoids inside ``|f| < band/2``."""

    def __init__(self, band: float, n: int = 300, seed: int = 5):
        rng = np.random.default_rng(seed)
        self.fr = rng.uniform(-band / 2, band / 2, n)
        self.fc = rng.uniform(-band / 2, band / 2, n)
        self.amp = (rng.standard_normal(n) + 1j * rng.standard_normal(n)) / np.sqrt(2 * n)

    def __call__(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        phase = 2j * np.pi * (self.fr * rows[..., None] + self.fc * cols[..., None])
        return (self.amp * np.exp(phase)).sum(axis=-1)

    def image(self, shape):
        rows, cols = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
        return self(rows, cols).astype(np.complex64)


def _relative_rms(a, b):
    return float(np.sqrt(np.mean(np.abs(a - b) ** 2) / np.mean(np.abs(b) ** 2)))


def _interior_truth(signal, op, shape, margin):
    rows, cols = np.meshgrid(np.arange(margin, shape[0] - margin),
                             np.arange(margin, shape[1] - margin), indexing="ij")
    dr, dc = op._offsets(np.arange(margin, shape[0] - margin).astype(float),
                         np.arange(margin, shape[1] - margin).astype(float))
    return signal(rows + dr, cols + dc)


def test_polynomial_powers_ordering():
    pu, pv = polynomial_powers(10)
    assert list(zip(pu, pv)) == [(0, 0), (1, 0), (0, 1), (2, 0), (1, 1), (0, 2),
                                 (3, 0), (2, 1), (1, 2), (0, 3)]
    with pytest.raises(ValueError, match="1, 3, 6, 10"):
        polynomial_powers(4)


def test_sinc_table_rows_are_normalised_and_row_zero_is_an_impulse():
    table = sinc_table(8, 2.5)
    assert table.shape == (8192, 8)
    np.testing.assert_allclose(table.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert table[0].tolist() == [0, 0, 0, 1, 0, 0, 0, 0]
    half = table[4096]  # fraction 1/2: symmetric about the half-pixel point
    np.testing.assert_allclose(half, half[::-1], atol=1e-15)


@pytest.mark.parametrize("dtype", [np.complex64, np.float32, np.float64])
def test_integer_shift_reproduces_input_exactly(dtype):
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((60, 50)) * 5).astype(dtype)
    out = whole_image(PolynomialResampler(row_coeffs=[3.0, 0, 0], col_coeffs=[-2.0, 0, 0]),
                      input=x)["output"]
    assert out.dtype == x.dtype
    assert np.array_equal(out[:57, 2:], x[3:, :48])
    assert not out[57:].any() and not out[:, :2].any()  # constant (zero) edge mode


@pytest.mark.parametrize("shift", [(0.37, -0.61), (0.5, 0.5), (-1.25, 2.9)])
def test_constant_subpixel_shift_of_band_limited_signal(shift):
    signal = BandLimited(band=0.85)
    shape = (64, 72)
    op = PolynomialResampler(row_coeffs=[shift[0]], col_coeffs=[shift[1]])
    out = whole_image(op, input=signal.image(shape))["output"]
    truth = _interior_truth(signal, op, shape, margin=8)
    # 8 taps on a flat spectrum filling 85 % of the band, the hard case: even
    # the best 8-tap least-squares interpolator errs by ~4 % per axis at a
    # half-pixel shift, so a few percent in 2-D is the method's limit.
    assert _relative_rms(out[8:-8, 8:-8], truth) < 0.08
    # Half the band with a narrower window: two orders of magnitude better.
    narrow = BandLimited(band=0.5)
    sharp = PolynomialResampler(row_coeffs=[shift[0]], col_coeffs=[shift[1]], beta=6.0)
    out = whole_image(sharp, input=narrow.image(shape))["output"]
    assert _relative_rms(out[8:-8, 8:-8], _interior_truth(narrow, op, shape, 8)) < 2e-3


def test_varying_offsets_follow_the_polynomial():
    signal = BandLimited(band=0.7, seed=9)
    shape = (90, 80)
    op = PolynomialResampler(row_coeffs=[0.3, 0.02, -0.01, 1e-3, -2e-3, 5e-4],
                             col_coeffs=[-0.8, 0.015, 0.03, -1e-3, 0.0, 2e-3],
                             center=(45.0, 40.0), scale=(10.0, 10.0), taps=16, beta=4.0)
    out = whole_image(op, input=signal.image(shape))["output"]
    truth = _interior_truth(signal, op, shape, margin=12)
    assert _relative_rms(out[12:-12, 12:-12], truth) < 0.01
    # the same with a *wrong* sign of the linear term is far off: the test can fail
    wrong = PolynomialResampler(row_coeffs=[0.3, -0.02, -0.01, 1e-3, -2e-3, 5e-4],
                                col_coeffs=op.col_coeffs, center=(45.0, 40.0),
                                scale=(10.0, 10.0), taps=16, beta=4.0)
    bad = whole_image(wrong, input=signal.image(shape))["output"]
    assert _relative_rms(bad[12:-12, 12:-12], truth) > 0.05


def test_constant_image_stays_constant_inside():
    x = np.full((40, 40), 2.5 - 1j, np.complex64)
    op = PolynomialResampler(row_coeffs=[0.3, 0.01, 0.0], col_coeffs=[0.7, 0.0, -0.02])
    out = whole_image(op, input=x)["output"]
    np.testing.assert_allclose(out[6:-6, 6:-6], 2.5 - 1j, rtol=1e-6)


def test_output_shape_parameter_and_offset_grid():
    x = np.arange(30 * 40, dtype=np.float64).reshape(30, 40)
    op = PolynomialResampler(row_coeffs=[5.0], col_coeffs=[7.0], shape=(10, 12))
    spec = op.output_spec({"input": ImageSpec(x.shape, x.dtype)})["output"]
    assert spec.shape == (10, 12)
    assert np.array_equal(whole_image(op, input=x)["output"], x[5:15, 7:19])


coefficient = st.floats(-0.05, 0.05, allow_nan=False)
polynomials = st.tuples(
    st.floats(-30, 30), st.floats(-30, 30),
    st.lists(coefficient, min_size=5, max_size=5), st.lists(coefficient, min_size=5, max_size=5),
    st.floats(0, 300), st.floats(0, 300), st.floats(20, 200))


@given(poly=polynomials, row=st.integers(-50, 400), col=st.integers(-50, 400),
       height=st.integers(1, 300), width=st.integers(1, 300))
def test_mapped_bounds_contain_every_mapped_pixel(poly, row, col, height, width):
    r0, c0, rest_r, rest_c, cr, cc, scale = poly
    op = PolynomialResampler(row_coeffs=[r0, *rest_r], col_coeffs=[c0, *rest_c],
                             center=(cr, cc), scale=(scale, scale))
    region = Region(row, col, height, width)
    r_lo, r_hi, c_lo, c_hi = op.mapped_bounds(region)
    rows = np.arange(row, row + height, dtype=float)
    cols = np.arange(col, col + width, dtype=float)
    dr, dc = op._offsets(rows, cols)
    pos_r, pos_c = rows[:, None] + dr, cols[None, :] + dc
    assert r_lo <= pos_r.min() and pos_r.max() <= r_hi
    assert c_lo <= pos_c.min() and pos_c.max() <= c_hi
    # conservative but not wasteful: within a few pixels of the true extent
    assert pos_r.min() - r_lo < 3 and r_hi - pos_r.max() < 3
    assert pos_c.min() - c_lo < 3 and c_hi - pos_c.max() < 3


IMAGE = np.random.default_rng(21).standard_normal((120, 110)).astype(np.complex64)
RESAMPLER = PolynomialResampler(row_coeffs=[1.7, 0.01, -0.02, 0.002, 0.0, -0.001],
                                col_coeffs=[-3.3, 0.0, 0.01, 0.001, 0.003, 0.0],
                                center=(60.0, 55.0), scale=(8.0, 8.0))
WHOLE = whole_image(RESAMPLER, input=IMAGE)["output"]


@given(row=st.integers(0, 119), col=st.integers(0, 109),
       height=st.integers(1, 70), width=st.integers(1, 70))
def test_sub_region_from_requested_input_is_bit_identical(row, col, height, width):
    region = Region(row, col, height, width).clip(IMAGE.shape)
    wanted = RESAMPLER.input_region(region, {"input": ImageSpec(IMAGE.shape, IMAGE.dtype)})
    tile = read_region(IMAGE, wanted["input"], RESAMPLER.edge_mode)
    part = RESAMPLER.compute({"input": tile}, region)["output"]
    assert np.array_equal(part, WHOLE[region.slices])


@pytest.mark.parametrize("row_slope", [1e-5, 3e-3])
def test_runs_of_pixels_equal_each_pixel_interpolated_alone(row_slope):
    # slowly varying row offsets: long runs share their azimuth sums; fast ones: none do
    op = PolynomialResampler(row_coeffs=[0.37, 0.002, row_slope], col_coeffs=[-2.6, 0.001, 0.04],
                             beta=2.7)
    image = BandLimited(0.8).image((40, 60))
    region = Region(8, 8, 20, 40)
    whole = op.compute({"input": read_region(image, op.input_region(region, {})["input"],
                                             op.edge_mode)}, region)["output"]
    for r in range(region.row, region.row_stop):
        for c in range(region.col, region.col_stop):
            one = Region(r, c, 1, 1)
            tile = read_region(image, op.input_region(one, {})["input"], op.edge_mode)
            value = op.compute({"input": tile}, one)["output"][0, 0]
            assert value == whole[r - region.row, c - region.col], (r, c)


def test_too_small_input_region_is_caught_not_read_out_of_bounds():
    class Shrunk(PolynomialResampler):
        def input_region(self, output_region, input_specs):
            return {"input": super().input_region(output_region, input_specs)["input"].grow(-1)}

    op = Shrunk(row_coeffs=[0.4], col_coeffs=[0.2])
    with pytest.raises(OperatorError, match=r"pixel\(s\) of output .* map outside"):
        whole_image(op, input=IMAGE)


@pytest.mark.parametrize("kwargs, match", [
    ({"row_coeffs": [1.0, 2.0], "col_coeffs": [1.0, 2.0]}, "1, 3, 6, 10"),
    ({"row_coeffs": [1.0], "col_coeffs": [1.0, 0.0, 0.0]}, "same length"),
    ({"row_coeffs": [float("inf")], "col_coeffs": [0.0]}, "finite"),
    ({"taps": 7}, "taps"),
    ({"taps": 2}, "taps"),
    ({"beta": -1.0}, "beta"),
    ({"shape": (0, 5)}, "shape"),
    ({"scale": (0.0, 1.0)}, "scale"),
])
def test_resampler_rejects_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PolynomialResampler(**kwargs)


# -- azimuth carrier (Doppler centroid, TOPS ramp) ------------------------------------
class Modulated:
    """A band-limited baseband signal times an azimuth carrier ``exp(2 pi i (f0 r + k r^2 / 2))``.

    Local azimuth frequency ``f0 + k r`` cycles per line: a constant Doppler
    centroid (``k = 0``) or a TOPS-like steering ramp.
    """

    def __init__(self, f0: float, k: float = 0.0, band: float = 0.85, seed: int = 3):
        self.base = BandLimited(band, n=400, seed=seed)
        self.f0, self.k = f0, k

    def __call__(self, rows, cols):
        return self.base(rows, cols) * np.exp(2j * np.pi * (self.f0 * rows
                                                             + 0.5 * self.k * rows ** 2))

    def image(self, shape):
        rows, cols = np.meshgrid(np.arange(shape[0], dtype=float),
                                 np.arange(shape[1], dtype=float), indexing="ij")
        return self(rows, cols).astype(np.complex64)

    def carrier(self, shape, step=16):
        rows = np.arange(0, shape[0] + step, step, dtype=float)
        return {"values": [[self.f0 + self.k * r] for r in rows], "row0": 0.0, "col0": 0.0,
                "row_step": float(step), "col_step": 1.0}


def _coherence(a, b):
    g = np.vdot(b, a)
    return abs(g) / np.sqrt(np.vdot(a, a).real * np.vdot(b, b).real), float(np.angle(g))


@pytest.mark.parametrize("doppler", [0.1, 0.2, 0.3, 0.4])
def test_doppler_carrier_removes_the_loss_of_baseband_interpolation(doppler):
    """Issue 13's case: 0.37 px azimuth shift of a spectrum centred at ``doppler`` cycles/line."""
    signal, shape, m = Modulated(doppler), (128, 96), 10
    x = signal.image(shape)
    rows, cols = np.meshgrid(np.arange(m, shape[0] - m, dtype=float),
                             np.arange(m, shape[1] - m, dtype=float), indexing="ij")
    truth = signal(rows + 0.37, cols)
    coh = {}
    for name, carrier in (("off", {}), ("on", signal.carrier(shape))):
        op = PolynomialResampler(row_coeffs=[0.37], col_coeffs=[0.0], carrier=carrier)
        coh[name] = _coherence(whole_image(op, input=x)["output"][m:-m, m:-m], truth)
    assert coh["on"][0] > 0.998 and abs(coh["on"][1]) < 0.005
    # baseband interpolation of the same data loses coherence and biases the phase
    # (measured: 0.968 / 0.858 / 0.617 / 0.474 and -0.03 / -0.11 / -0.35 / -0.70 rad)
    assert coh["off"][0] < 0.98 and abs(coh["off"][1]) > 0.02


def test_tops_ramp_carrier_follows_the_local_frequency():
    """A steered spectrum sweeping 2.5 cycles/line over the image (wrapping the PRF)."""
    signal, shape, m = Modulated(-1.2, 2.5 / 160), (160, 64), 10
    x = signal.image(shape)
    op = PolynomialResampler(row_coeffs=[0.6, 0.2, 0.0], col_coeffs=[-0.4, 0.0, 0.3],
                             center=(80.0, 32.0), scale=(80.0, 32.0),
                             carrier=signal.carrier(shape))
    out = whole_image(op, input=x)["output"][m:-m, m:-m]
    truth = _interior_truth(signal, op, shape, margin=m)
    # as accurate as the same offsets on the baseband signal (8 taps, 85 % band)
    plain = PolynomialResampler(row_coeffs=op.row_coeffs, col_coeffs=op.col_coeffs,
                                center=op.center, scale=op.scale)
    base = Modulated(0.0, 0.0)
    baseband = _relative_rms(whole_image(plain, input=base.image(shape))["output"][m:-m, m:-m],
                             _interior_truth(base, plain, shape, margin=m))
    assert _relative_rms(out, truth) < 1.2 * baseband
    assert _relative_rms(whole_image(plain, input=x)["output"][m:-m, m:-m], truth) > 0.3


CARRIER = Modulated(0.3, 0.004).carrier((120, 110), step=7)
CARRIED = PolynomialResampler(row_coeffs=RESAMPLER.row_coeffs, col_coeffs=RESAMPLER.col_coeffs,
                              center=RESAMPLER.center, scale=RESAMPLER.scale, carrier=CARRIER)
CARRIED_WHOLE = whole_image(CARRIED, input=IMAGE)["output"]


@given(row=st.integers(0, 119), col=st.integers(0, 109),
       height=st.integers(1, 70), width=st.integers(1, 70))
def test_carrier_resampling_of_a_sub_region_is_bit_identical(row, col, height, width):
    region = Region(row, col, height, width).clip(IMAGE.shape)
    wanted = CARRIED.input_region(region, {})["input"]
    part = CARRIED.compute({"input": read_region(IMAGE, wanted, "constant")}, region)["output"]
    assert np.array_equal(part, CARRIED_WHOLE[region.slices])


def test_carrier_needs_a_complex_image_and_a_valid_table():
    with pytest.raises(OperatorError, match="complex"):
        whole_image(PolynomialResampler(carrier=CARRIER), input=IMAGE.real.copy())
    for bad, match in (({"values": [[0.1]]}, "lacks"), ({**CARRIER, "values": [1.0]}, "2-D"),
                       ({**CARRIER, "row_step": 0}, "positive")):
        with pytest.raises(ValueError, match=match):
            PolynomialResampler(carrier=bad)


# -- dense offset rasters ----------------------------------------------------------------
def _rasters(shape, seed=4):
    rows, cols = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
    dr = 1.5 * np.sin(2 * np.pi * rows / shape[0]) * np.cos(np.pi * cols / shape[1])
    dc = -1.2 + 0.8 * np.cos(2 * np.pi * (rows + cols) / 150.0)
    return dr.astype(np.float32), dc.astype(np.float32)


def test_offset_rasters_move_pixels_like_the_equivalent_polynomial():
    shape = (90, 80)
    signal = BandLimited(band=0.7, seed=9)
    dr, dc = _rasters(shape)
    op = OffsetRasterResampler(raster_bound=(1.5, 2.0), taps=16, beta=4.0)
    out = whole_image(op, input=signal.image(shape), row_offset=dr, col_offset=dc)["output"]
    rows, cols = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
    m = 12
    truth = signal(rows + dr.astype(float), cols + dc.astype(float))[m:-m, m:-m]
    assert _relative_rms(out[m:-m, m:-m], truth) < 0.01
    # a constant raster is bit-identical to the constant polynomial
    const = OffsetRasterResampler(raster_bound=(0.5, 0.5))
    a = whole_image(const, input=IMAGE, row_offset=np.full(IMAGE.shape, 0.25, np.float32),
                    col_offset=np.full(IMAGE.shape, -0.5, np.float32))["output"]
    b = whole_image(PolynomialResampler(row_coeffs=[0.25], col_coeffs=[-0.5]),
                    input=IMAGE)["output"]
    assert np.array_equal(a, b)


RASTER_OP = OffsetRasterResampler(row_coeffs=[0.5, 0.01, 0.0], col_coeffs=[-1.0, 0.0, 0.02],
                                  center=(60.0, 55.0), scale=(60.0, 55.0),
                                  raster_bound=(1.5, 2.0), carrier=CARRIER)
RASTERS = _rasters(IMAGE.shape)
RASTER_WHOLE = whole_image(RASTER_OP, input=IMAGE, row_offset=RASTERS[0],
                           col_offset=RASTERS[1])["output"]


@given(row=st.integers(0, 119), col=st.integers(0, 109),
       height=st.integers(1, 70), width=st.integers(1, 70))
def test_offset_raster_resampling_of_a_sub_region_is_bit_identical(row, col, height, width):
    region = Region(row, col, height, width).clip(IMAGE.shape)
    wanted = RASTER_OP.input_region(region, {})
    assert wanted["row_offset"] == wanted["col_offset"] == region
    part = RASTER_OP.compute({"input": read_region(IMAGE, wanted["input"], "constant"),
                              "row_offset": RASTERS[0][region.slices],
                              "col_offset": RASTERS[1][region.slices]}, region)["output"]
    assert np.array_equal(part, RASTER_WHOLE[region.slices])


def test_offset_raster_beyond_its_bound_is_an_error():
    op = OffsetRasterResampler(raster_bound=(0.5, 0.5))
    big = np.full(IMAGE.shape, 3.0, np.float32)
    with pytest.raises(OperatorError, match="exceeds raster_bound"):
        whole_image(op, input=IMAGE, row_offset=big, col_offset=big * 0)
    for bad in ((), (1.0,), (-1.0, 1.0), ("a", 1.0)):
        with pytest.raises(ValueError, match="raster_bound"):
            OffsetRasterResampler(raster_bound=bad)


def test_rasters_relative_to_a_reference_voids_and_outside_take_the_reference():
    """raster - q in the kernel, q in the polynomial: the same total offset, bit-identical tiles.

    Non-finite raster pixels (reference-DEM voids) and pixels outside ``image_shape``
    (filter halos) take the reference polynomial alone.
    """
    shape = IMAGE.shape
    ref = {"row_coeffs": [5.0, 0.3, -0.2], "col_coeffs": [-7.0, 0.1, 0.4]}
    center, scale = (60.0, 55.0), (60.0, 55.0)
    q = PolynomialResampler(**ref, center=center, scale=scale)._offsets(
        np.arange(shape[0], dtype=float), np.arange(shape[1], dtype=float))
    dr, dc = (q[0] + RASTERS[0], q[1] + RASTERS[1])
    dr[10:14, 20:30] = np.nan
    relative = OffsetRasterResampler(**ref, center=center, scale=scale, raster_bound=(1.5, 2.0),
                                     raster_reference=ref, image_shape=shape)
    out = whole_image(relative, input=IMAGE, row_offset=dr, col_offset=dc)["output"]
    # the same through plain rasters (no reference), the voids filled with q by hand
    filled = [np.where(np.isnan(dr), q[0], dr), np.where(np.isnan(dr), q[1], dc)]
    plain = OffsetRasterResampler(raster_bound=(12.0, 12.0))
    expected = whole_image(plain, input=IMAGE, row_offset=filled[0],
                           col_offset=filled[1])["output"]
    np.testing.assert_allclose(out, expected, atol=1e-4 * np.abs(IMAGE).max())
    total = relative.total_offsets((dr, dc), Region(0, 0, *shape))
    np.testing.assert_allclose(total[0], filled[0], atol=1e-9)
    np.testing.assert_allclose(total[1], filled[1], atol=1e-9)
    # tiles: outside-image raster pixels are zeros (edge mode constant) and must not count
    region = Region(-4, -4, 40, 40)
    part = relative.compute({"input": read_region(IMAGE, relative.input_region(region, {})
                                                  ["input"], "constant"),
                             "row_offset": read_region(dr, region, "constant"),
                             "col_offset": read_region(dc, region, "constant")}, region)
    inside = Region(0, 0, 36, 36)
    assert np.array_equal(part["output"][4:, 4:], out[inside.slices])
    with pytest.raises(ValueError, match="raster_reference"):
        OffsetRasterResampler(raster_bound=(1.0, 1.0), raster_reference={"row_coeffs": [1.0]})
