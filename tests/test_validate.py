"""Definite-assignment rules: code where some path assigns a local before each read is accepted
and computes what Python would (references by hand / NumPy)."""
import numpy as np

from tests.kernels import assign_kernels as A


def test_loop_carried_local_reads_previous_iteration():
    x = np.array([1, 4, 9, 16, 25], np.float32)
    out = np.zeros(5, np.float32)
    A.loop_carried.to("cpu")[1, 1](x, out, 5)
    np.testing.assert_array_equal(out, [0, 3, 5, 7, 9])


def test_local_assigned_on_both_branches_is_accepted():
    x = np.array([-2, 3, -4], np.float32)
    out = np.zeros(3, np.float32)
    A.both_branches.to("cpu")[1, 32](x, out, 3)
    np.testing.assert_array_equal(out, [2, 3, 4])


def test_while_loop_carried_local():
    out = np.zeros(4, np.int32)
    A.while_carried.to("cpu")[1, 1](out, 4)
    np.testing.assert_array_equal(out, [0, 1, 2, 3])


def test_python_rounding_functions_return_ints_like_python():
    import math

    from tests.kernels import type_kernels as TK

    x = np.array([2.5, -2.5, 3.7, -0.2, 1.5], np.float64)
    out = np.zeros(20, np.int64)
    TK.python_rounding.to("cpu")[1, 8](x, out, 5)
    want = [f(v) for v in x for f in (math.floor, math.ceil, math.trunc, lambda v: round(v) * 2)]
    assert out.tolist() == want


def test_float_division_by_zero_gives_inf_as_on_cuda():
    x = np.array([1.0, -1.0, 0.0], np.float32)
    out = np.zeros(3, np.float32)
    A.divide.to("cpu")[1, 4](x, out, 3)
    assert out[0] == np.inf and out[1] == -np.inf and np.isnan(out[2])
