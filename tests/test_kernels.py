"""Kernels run on every available target and compared with NumPy / hand-computed references."""

import numpy as np
import pytest

from tests.kernels import basic_kernels as K
from ringkernel_codegen import LaunchError, RingKernelError


def test_saxpy_matches_numpy(target):
    n = 100
    x = np.arange(n, dtype=np.float32)
    y = np.linspace(-1, 1, n).astype(np.float32)
    want = np.float32(2.5) * x + y
    K.saxpy.to(target)[4, 32](2.5, x, y, n)
    np.testing.assert_allclose(y, want, rtol=1e-6)


def test_saxpy_leaves_elements_past_n_alone(target):
    x = np.ones(64, np.float32)
    y = np.zeros(64, np.float32)
    K.saxpy.to(target)[2, 32](1.0, x, y, 40)
    assert (y[:40] == 1).all() and (y[40:] == 0).all()


def test_2d_launch_covers_grid_with_thread_and_block_y(target):
    out = np.full((10, 13), -1, np.int32)
    K.fill_2d.to(target)[(4, 3), (4, 4)](out)
    yy, xx = np.mgrid[0:10, 0:13]
    np.testing.assert_array_equal(out, yy * 1000 + xx)


def test_3d_launch_covers_grid_with_z_indices(target):
    out = np.full((5, 6, 7), -1, np.int32)
    K.fill_3d.to(target)[(2, 2, 3), (4, 4, 2)](out)
    zz, yy, xx = np.mgrid[0:5, 0:6, 0:7]
    np.testing.assert_array_equal(out, zz * 10000 + yy * 100 + xx)


def test_3d_launch_thread_and_block_indices(target):
    bd, gd = (2, 3, 2), (2, 2, 2)
    rows = np.prod(bd) * np.prod(gd)
    out = np.full((rows, 6), -1, np.int32)
    K.thread_ids.to(target)[gd, bd](out)
    want = []
    for bz in range(2):
        for by in range(2):
            for bx in range(2):
                for tz in range(bd[2]):
                    for ty in range(bd[1]):
                        for tx in range(bd[0]):
                            want.append((tx, ty, tz, bx, by, bz))
    np.testing.assert_array_equal(out, np.array(want, np.int32))


def test_shared_memory_block_reduction(target):
    x = np.arange(3 * K.BLOCK, dtype=np.float32)
    out = np.zeros(3, np.float32)
    K.block_sum.to(target)[3, K.BLOCK](x, out)
    np.testing.assert_allclose(out, x.reshape(3, K.BLOCK).sum(axis=1))


def test_shared_memory_tile_transpose(target):
    a = np.arange(12 * 20, dtype=np.float32).reshape(12, 20)
    out = np.zeros((20, 12), np.float32)
    K.transpose.to(target)[(3, 2), (K.TILE, K.TILE)](a, out)
    np.testing.assert_array_equal(out, a.T)


def test_atomic_add_histogram_counts(target):
    rng = np.random.default_rng(1)
    values = rng.integers(0, 100, 200).astype(np.int32)
    hist = np.zeros(K.NBINS, np.int32)
    olds = np.full(200, -1, np.int32)
    K.histogram.to(target)[7, 32](values, hist, olds, 200)
    np.testing.assert_array_equal(hist, np.bincount(values % K.NBINS, minlength=K.NBINS))


def test_atomic_add_returns_each_old_value_once(target):
    values = np.arange(200, dtype=np.int32)
    hist = np.zeros(K.NBINS, np.int32)
    olds = np.full(200, -1, np.int32)
    K.histogram.to(target)[7, 32](values, hist, olds, 200)
    for b in range(K.NBINS):
        got = np.sort(olds[values % K.NBINS == b])
        np.testing.assert_array_equal(got, np.arange(len(got)))


def test_for_loop_with_break_and_continue(target):
    x = np.array([[1, 0, 2, -1, 5, 6, 7, 8],
                  [0, 0, 0, 0, 0, 0, 0, 3],
                  [-1, 9, 9, 9, 9, 9, 9, 9],
                  [1, 1, 1, 1, 1, 1, 1, 1]], np.float32)
    out = np.full(4, -9, np.float32)
    K.sum_until_negative.to(target)[1, 32](x.ravel(), out, 4)
    np.testing.assert_array_equal(out, [3, 3, 0, 8])


def test_while_loop_counts_iterations(target):
    start = np.array([0, 1, 3, 4, 10, -5], np.int32)
    steps = np.full(6, -1, np.int32)
    K.count_down.to(target)[1, 32](start, steps, 6)
    np.testing.assert_array_equal(steps, [max(0, -(-s // 3)) for s in start])


def test_if_elif_else_chain(target):
    x = np.array([-3, -1, -0.5, 0, 0.5, 7], np.float32)
    out = np.full(6, 99, np.int32)
    K.classify.to(target)[1, 32](x, out, 6)
    np.testing.assert_array_equal(out, [-2, -1, -1, 0, 1, 1])


def test_conditional_expression(target):
    x = np.array([-2.5, 0, 3, -0.25], np.float32)
    out = np.zeros(4, np.float32)
    K.absolute.to(target)[1, 32](x, out, 4)
    np.testing.assert_array_equal(out, np.abs(x))


def test_device_and_plain_helper_functions_nested(target):
    x = np.linspace(-2, 2, 50).astype(np.float32)
    out = np.zeros(50, np.float32)
    K.poly.to(target)[2, 32](x, out, 50)
    np.testing.assert_allclose(out, x ** 3 + x ** 2 + 1, rtol=1e-6, atol=1e-6)


def test_module_constants_are_folded(target):
    x = np.arange(10, dtype=np.float64)
    out = np.zeros(10)
    K.scale_offset.to(target)[1, 32](x, out, 10)
    np.testing.assert_array_equal(out, x * 3 + 0.5)


def test_shape_and_len(target):
    a = np.zeros((5, 7), np.float32)
    x = np.zeros(11, np.float32)
    out = np.zeros(4, np.int64)
    K.shapes.to(target)[1, 1](a, x, out)
    np.testing.assert_array_equal(out, [5, 7, 11, 5])


def test_early_return_skips_rest_of_thread(target):
    x = np.array([4, -1, 9, 16, -4, 25], np.float32)
    out = np.full(6, -7, np.float32)
    K.early_return.to(target)[1, 32](x, out, 6)
    np.testing.assert_array_equal(out, [2, -7, 3, 4, -7, 5])


def test_annotated_i64_accumulator_does_not_overflow(target):
    x = np.full(4, 2 ** 40, np.int64)
    out = np.zeros(1, np.int64)
    K.sum_i64.to(target)[1, 1](x, out, 4)
    assert out[0] == 4 * 2 ** 40


# ---------------------------------------------------------------- launch errors
def _saxpy_args():
    return 1.0, np.zeros(8, np.float32), np.zeros(8, np.float32), 8


def test_launch_error_is_a_ringkernel_error():
    assert issubclass(LaunchError, RingKernelError)


def test_launch_wrong_dtype_raises_launch_error():
    a, x, y, n = _saxpy_args()
    with pytest.raises(LaunchError, match="'x'.*float32"):
        K.saxpy.to("cpu")[1, 8](a, x.astype(np.float64), y, n)


def test_launch_wrong_ndim_raises_launch_error():
    a, x, y, n = _saxpy_args()
    with pytest.raises(LaunchError, match="'y'.*1D"):
        K.saxpy.to("cpu")[1, 8](a, x, y.reshape(2, 4), n)


def test_launch_wrong_argument_count_raises_launch_error():
    a, x, y, n = _saxpy_args()
    with pytest.raises(LaunchError, match="4 arguments"):
        K.saxpy.to("cpu")[1, 8](a, x, y)


def test_launch_scalar_given_array_raises_launch_error():
    a, x, y, n = _saxpy_args()
    with pytest.raises(LaunchError, match="'a'"):
        K.saxpy.to("cpu")[1, 8](x, x, y, n)


@pytest.mark.parametrize("key", [(0, 8), (1, 0), (-1, 8), ((1, 2, 3, 4), 8), (1.5, 8), (1, (32, 32, 2))],
                         ids=["zero-grid", "zero-block", "negative-grid", "4d-grid", "float-grid",
                              "block-over-1024"])
def test_launch_bad_grid_raises_launch_error(key):
    with pytest.raises(LaunchError):
        K.saxpy.to("cpu")[key]


def test_launch_without_grid_and_block_raises_launch_error():
    with pytest.raises(LaunchError):
        K.saxpy.to("cpu")[4]
