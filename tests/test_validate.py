"""Definite-assignment rules: code where some path assigns a local before each read is accepted
and computes what Python would (references by hand / NumPy)."""
import numpy as np

import assign_kernels as A


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
