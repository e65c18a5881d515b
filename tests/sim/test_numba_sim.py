"""The numba.cuda emitter's output run in numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1, own process:
see tests/test_sim.py). Sizes are tiny: the simulator runs one Python thread per CUDA thread."""
import os

import numpy as np
import pytest

from tests.kernels import basic_kernels as K
from tests.kernels import stencil_kernels as S

pytestmark = pytest.mark.sim

if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
    pytest.skip("run through tests/test_sim.py (needs NUMBA_ENABLE_CUDASIM=1 at import)", allow_module_level=True)


def test_saxpy():
    x = np.arange(20, dtype=np.float32)
    y = np.ones(20, np.float32)
    K.saxpy.to("numba")[2, 16](2.0, x, y, 20)
    np.testing.assert_allclose(y, 2 * np.arange(20) + 1)


def test_2d_launch():
    out = np.full((5, 6), -1, np.int32)
    K.fill_2d.to("numba")[(2, 2), (4, 4)](out)
    yy, xx = np.mgrid[0:5, 0:6]
    np.testing.assert_array_equal(out, yy * 1000 + xx)


def test_shared_memory_block_sum_with_sync_threads():
    x = np.arange(2 * K.BLOCK, dtype=np.float32)
    out = np.zeros(2, np.float32)
    K.block_sum.to("numba")[2, K.BLOCK](x, out)
    np.testing.assert_array_equal(out, x.reshape(2, K.BLOCK).sum(axis=1))


def test_atomic_histogram():
    values = np.arange(40, dtype=np.int32) * 3
    hist = np.zeros(K.NBINS, np.int32)
    olds = np.zeros(40, np.int32)
    K.histogram.to("numba")[2, 32](values, hist, olds, 40)
    np.testing.assert_array_equal(hist, np.bincount(values % K.NBINS, minlength=K.NBINS))


def test_device_functions_and_break_continue():
    x = np.linspace(-1, 1, 10).astype(np.float32)
    out = np.zeros(10, np.float32)
    K.poly.to("numba")[1, 16](x, out, 10)
    np.testing.assert_allclose(out, x ** 3 + x ** 2 + 1, rtol=1e-6, atol=1e-6)
    rows = np.array([[1, 0, 2, -1, 5, 6, 7, 8]], np.float32)
    acc = np.zeros(1, np.float32)
    K.sum_until_negative.to("numba")[1, 4](rows.ravel(), acc, 1)
    assert acc[0] == 3


def test_early_return_with_math_sqrt():
    x = np.array([4, -1, 9], np.float32)
    out = np.full(3, -7, np.float32)
    K.early_return.to("numba")[1, 4](x, out, 3)
    np.testing.assert_array_equal(out, [2, -7, 3])


def test_shape_and_len():
    sh = np.zeros(4, np.int64)
    K.shapes.to("numba")[1, 1](np.zeros((2, 3), np.float32), np.zeros(5, np.float32), sh)
    np.testing.assert_array_equal(sh, [2, 3, 5, 2])


def test_early_return_and_while_loop():
    start = np.array([0, 1, 3, 4, 10], np.int32)
    steps = np.full(5, -1, np.int32)
    K.count_down.to("numba")[1, 8](start, steps, 5)
    np.testing.assert_array_equal(steps, [0, 1, 1, 2, 4])


def test_periodic_heat_stencil():
    u = np.random.default_rng(0).uniform(-1, 1, (5, 9)).astype(np.float32)
    out = np.zeros_like(u)
    S.HEAT["periodic"].to("numba")(u, out, 0.1)
    nb = np.roll(u, 1, 0) + np.roll(u, -1, 0) + np.roll(u, 1, 1) + np.roll(u, -1, 1)
    np.testing.assert_allclose(out, u + np.float32(0.1) * (nb - 4 * u), rtol=1e-5, atol=1e-6)


def test_skip_stencil_leaves_border_and_covers_ragged_domain():
    u = np.arange(5 * 11, dtype=np.float64).reshape(5, 11)
    dy, dx, diag = (np.full(u.shape, -1.0) for _ in range(3))
    S.offsets_2d.to("numba")(u, dy, dx, diag)
    np.testing.assert_array_equal(dx[1:-1, 1:-1], u[1:-1, 2:])
    np.testing.assert_array_equal(diag[1:-1, 1:-1], u[:-2, 2:])
    assert (dy[0] == -1).all() and (dy[:, -1] == -1).all()


def test_cell_coords_stencil():
    out = np.full((5, 9), -1, np.int32)
    S.cell_coords.to("numba")(out)
    yy, xx = np.mgrid[0:5, 0:9]
    np.testing.assert_array_equal(out, yy * 1000 + xx)


def test_dynamic_shared_memory_sized_at_launch():
    """shared_array(0, f32) is numba's cuda.shared.array(0, float32): sized by k[grid, block, 0, nbytes]
    (or shared_bytes=), len() is the launch's size, and a device function may hold one."""
    from tests.kernels.dynamic_shared_kernels import reverse_blocks, sums_via_device

    x = np.arange(24, dtype=np.float32)
    out = np.zeros(24, np.float32)
    reverse_blocks.to("numba")[3, 8, 0, 8 * 4](x, out)
    np.testing.assert_array_equal(out, x.reshape(3, 8)[:, ::-1].ravel() + 1000.0 * 8)
    reverse_blocks.to("numba")[3, 8](x, out, shared_bytes=42)            # len() = 42 // 4 = 10
    np.testing.assert_array_equal(out, x.reshape(3, 8)[:, ::-1].ravel() + 1000.0 * 10)
    x = np.arange(16, dtype=np.float64) / 4
    out, fixed = np.zeros(16), np.zeros(16, np.int32)
    sums_via_device.to("numba")[2, 8, 0, 8 * 8](x, out, fixed)
    np.testing.assert_allclose(out, np.repeat(x.reshape(2, 8).sum(axis=1), 8) + np.repeat([0, 1], 8), rtol=1e-12)


def test_module_level_arrays_are_constants():
    from tests.kernels import expr_kernels as E

    x = np.arange(10, dtype=np.float32) - 3
    out, idx = np.zeros(10, np.float32), np.zeros(10, np.int64)
    E.constant_tables.to("numba")[3, 4](x, out, idx)
    i = np.arange(10)
    w = E.WEIGHTS.astype(np.float64)
    np.testing.assert_allclose(out, w[i % 2, i % 3] * x + (w[i % 2, 0] * x + w[i % 2, 1] * x + w[i % 2, 2]), rtol=1e-6)
    assert idx.tolist() == [(j % 7) ** 2 + 2 for j in range(10)]
