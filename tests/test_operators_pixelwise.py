"""PhaseRamp (absolute coordinates) and Multiply (two inputs)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from peppers.errors import OperatorError
from peppers.operators.pixelwise import Multiply, PhaseRamp
from peppers.ppe.operator import ImageSpec
from peppers.ppe.region import Region
from peppers.ppe.testing import whole_image

RNG = np.random.default_rng(4)
A = (RNG.standard_normal((70, 90)) + 1j * RNG.standard_normal((70, 90))).astype(np.complex64)
B = (RNG.standard_normal((70, 90)) + 1j * RNG.standard_normal((70, 90))).astype(np.complex64)


@given(row=st.integers(0, 69), col=st.integers(0, 89),
       height=st.integers(1, 70), width=st.integers(1, 90))
def test_phase_ramp_uses_absolute_coordinates(row, col, height, width):
    region = Region(row, col, height, width).clip(A.shape)
    op = PhaseRamp(row_rate=0.3, col_rate=-1.1)
    out = op.compute({"input": A[region.slices]}, region)["output"]
    rows, cols = np.meshgrid(np.arange(region.row, region.row_stop),
                             np.arange(region.col, region.col_stop), indexing="ij")
    truth = A[region.slices].astype(np.complex128) * np.exp(-1j * (0.3 * rows - 1.1 * cols))
    np.testing.assert_allclose(out, truth, rtol=0, atol=1e-6 * np.abs(truth).max())


def test_phase_ramp_wrong_offset_would_be_visible():
    op = PhaseRamp(row_rate=0.3, col_rate=0.0)
    right = op.compute({"input": A[10:20]}, Region(10, 0, 10, 90))["output"]
    shifted = op.compute({"input": A[10:20]}, Region(11, 0, 10, 90))["output"]
    assert np.abs(right - shifted).max() > 0.1


def test_phase_ramp_of_real_input_is_complex_of_same_precision():
    op = PhaseRamp(row_rate=0.0, col_rate=np.pi)
    spec = op.output_spec({"input": ImageSpec((2, 3), np.float32)})["output"]
    assert spec.dtype == np.complex64
    out = whole_image(op, input=np.ones((2, 3), np.float32))["output"]
    np.testing.assert_allclose(out, [[1, -1, 1], [1, -1, 1]], atol=1e-6)
    assert whole_image(op, input=np.ones((1, 1)))["output"].dtype == np.complex128


@pytest.mark.parametrize("conjugate", [True, False])
def test_multiply_two_inputs(conjugate):
    out = whole_image(Multiply(conjugate=conjugate), a=A, b=B)["output"]
    truth = A * (np.conj(B) if conjugate else B)
    assert out.dtype == np.complex64
    np.testing.assert_allclose(out, truth, rtol=1e-6, atol=1e-6)


def test_multiply_is_not_symmetric_in_ports():
    ab = whole_image(Multiply(), a=A, b=B)["output"]
    ba = whole_image(Multiply(), a=B, b=A)["output"]
    np.testing.assert_allclose(ab, np.conj(ba), rtol=1e-6)
    assert np.abs(ab - ba).max() > 1


def test_multiply_mixed_dtypes_and_errors():
    op = Multiply()
    spec = op.output_spec({"a": ImageSpec((4, 4), np.complex64),
                           "b": ImageSpec((4, 4), np.float64)})["output"]
    assert spec.dtype == np.complex128
    with pytest.raises(OperatorError, match=r"'a' \(4, 4\) and 'b' \(4, 5\) differ"):
        op.output_spec({"a": ImageSpec((4, 4), np.complex64), "b": ImageSpec((4, 5), np.complex64)})
    with pytest.raises(OperatorError, match="input 'b' has shape"):
        op.compute({"a": A[:4, :4], "b": B[:4, :5]}, Region(0, 0, 4, 4))
    with pytest.raises(OperatorError, match="dtype <U1"):
        op.compute({"a": A[:1, :1], "b": np.array([["x"]])}, Region(0, 0, 1, 1))
