"""The CPU emulator's schedule (emit/cpu_schedule.py: interchanged loops, block scalars, recomputed
thread indices) computes what CUDA says: every kernel against a NumPy/pure-Python reference, on the
cpu backend and in the numba simulator (which runs each thread's loop in program order)."""
import numpy as np
import pytest

from ringkernel_codegen import KernelRuntimeError, backends
from tests.kernels import barrier_kernels as K
from tests.kernels import schedule_kernels as S

B = S.BLOCK


def threads(grid, block=B):
    return grid * block


def test_grid_stride_axpy(target):
    target.needs(S.gs_axpy)
    rng = np.random.default_rng(1)
    n = 500
    x, y = rng.random(n, dtype=np.float32), rng.random(n, dtype=np.float32)
    want = np.float32(1.5) * x + y
    S.gs_axpy.to(target)[3, B](np.float32(1.5), x, y, n)
    np.testing.assert_allclose(y, want, rtol=1e-6)


@pytest.mark.parametrize("grid", [3, 70])  # 70 blocks: the launcher that spreads blocks over workers
def test_grid_stride_accumulator_carried_across_iterations(target, grid):
    target.needs(S.gs_partial_sums)
    if target.simulated and grid > 3:
        pytest.skip("the simulator runs ~7,000 threads/s: the small grid is enough there")
    rng = np.random.default_rng(2)
    n = 5000
    x = rng.standard_normal(n).astype(np.float32)
    total = threads(grid)
    part = np.full(total, -1, np.float32)
    S.gs_partial_sums.to(target)[grid, B](x, part, n)
    want = [2 * x[g:n:total][x[g:n:total] >= 0].astype(np.float64).sum() for g in range(total)]
    np.testing.assert_allclose(part, want, rtol=1e-5, atol=1e-5)


def test_grid_stride_negative_step(target):
    target.needs(S.gs_backwards)
    n = 500
    x = np.arange(n, dtype=np.int32)
    y = np.full(n, -7, np.int32)
    S.gs_backwards.to(target)[3, B](x, y, n)
    total = threads(3)
    want = np.full(n, -7, np.int32)
    for g in range(total):
        for i in range(n - 1 - g, -1, -total):
            want[i] = x[i] * 2 + g
    np.testing.assert_array_equal(y, want)


def test_grid_stride_stop_differs_between_threads(target):
    target.needs(S.gs_own_stop)
    n = 500
    y = np.zeros(n, np.int32)
    S.gs_own_stop.to(target)[3, B](y, n)
    total = threads(3)
    want = np.zeros(n, np.int32)
    for g in range(total):
        for i in range(g, n - g % 3, total):
            want[i] += g + 1
    np.testing.assert_array_equal(y, want)


@pytest.mark.parametrize("step", [1, 7, 96, 1000])
def test_grid_stride_step_parameter(target, step):
    target.needs(S.gs_step)
    n = 500
    y = np.zeros(n, np.int32)
    S.gs_step.to(target)[3, B](y, n, step)
    want = np.zeros(n, np.int32)
    for g in range(threads(3)):
        want[g:n:step] += 1
    np.testing.assert_array_equal(y, want)


def test_zero_step_is_refused_with_the_line():
    y = np.zeros(100, np.int32)
    with pytest.raises(KernelRuntimeError, match=r"range\(\) step is zero \(schedule_kernels\.py:\d+: for i in range"):
        S.gs_step.to("cpu")[3, B](y, 100, 0)


@pytest.mark.parametrize("grid", [3, 70])
def test_grid_stride_map_with_2d_blocks_and_a_private_temporary(target, grid):
    target.needs(S.gs_map_2d_block)
    if target.simulated and grid > 3:
        pytest.skip("the simulator runs ~7,000 threads/s: the small grid is enough there")
    rng = np.random.default_rng(5)
    n = 5000
    x = rng.random(n, dtype=np.float32)
    y = np.full(n, -1, np.float32)
    S.gs_map_2d_block.to(target)[grid, (8, 4)](x, y, n)
    want = x.copy()
    for _ in range(3):
        want = want * np.float32(0.5) + np.float32(1.0)
    np.testing.assert_allclose(y, want, rtol=1e-6)


def test_loop_variable_read_after_the_loop(target):
    target.needs(S.gs_var_after_loop)
    n = 500
    y = np.zeros(n, np.int32)
    S.gs_var_after_loop.to(target)[3, B](y, n)
    total = threads(3)
    want = np.ones(n, np.int32)
    for g in range(min(total, n)):
        want[g] = list(range(g, n, total))[-1]
    np.testing.assert_array_equal(y, want)
    assert "_rt.trip_count" not in S.gs_var_after_loop.cpu_source()  # kept in program order


def test_threads_that_returned_skip_the_loop(target):
    target.needs(S.gs_early_return)
    n = 500
    x = np.arange(n, dtype=np.int32) * 3
    y = np.full(n, -1, np.int32)
    S.gs_early_return.to(target)[3, B](x, y, n)
    total = threads(3)
    want = np.full(n, -1, np.int32)
    for g in range(total):
        if g % 4 != 3:
            want[g:n:total] = x[g:n:total] + 1
    np.testing.assert_array_equal(y, want)


def test_grid_stride_loops_are_interchanged_on_cpu():
    """The loops above run as `for k: for thread:` (what the tests check is that this order
    computes the same as the simulator's thread-by-thread order)."""
    for k in (S.gs_axpy, S.gs_partial_sums, S.gs_backwards, S.gs_own_stop, S.gs_step, S.gs_early_return,
              S.block_histogram):
        assert "_rt.trip_count" in k.cpu_source(), k.name
    assert "for _rkk" in S.tiled_matmul.cpu_source()
    # nothing carried between iterations: over the whole grid, k-major (emit/cpu_gridmap.py)
    for k in (S.gs_axpy, S.gs_backwards, S.gs_own_stop, S.gs_step, S.gs_map_2d_block):
        assert "grid-stride map" in k.cpu_source(), k.name
    for k in (S.gs_partial_sums, S.gs_early_return, S.gs_var_after_loop):  # carried, returns, read after
        assert "grid-stride map" not in k.cpu_source(), k.name


@pytest.mark.parametrize("grid", [2, 65])
def test_tree_sum_block_scalar_loop(target, grid):
    target.needs(K.tree_reduce)
    if target.simulated and grid > 2:
        pytest.skip("the simulator runs ~7,000 threads/s: the small grid is enough there")
    x = (np.arange(grid * B) % 13).astype(np.float32)
    out = np.zeros(grid, np.float32)
    K.tree_reduce.to(target)[grid, B](x, out)
    np.testing.assert_array_equal(out, x.reshape(grid, B).sum(axis=1))
    assert "_L_s" not in K.tree_reduce.cpu_source()  # one `s` per block, no per-thread copy


def test_scan_with_doubling_distance(target):
    target.needs(S.scan_hillis_steele)
    x = np.arange(2 * B, dtype=np.int32) % 5
    out = np.zeros(2 * B, np.int32)
    S.scan_hillis_steele.to(target)[2, B](x, out)
    np.testing.assert_array_equal(out, np.cumsum(x.reshape(2, B), axis=1).ravel())


def test_tiled_matmul(target):
    target.needs(S.tiled_matmul)
    rng = np.random.default_rng(3)
    t, n = S.TILE, 24
    a = rng.random((t, n), dtype=np.float32)
    b = rng.random((n, t), dtype=np.float32)
    c = np.zeros((t, t), np.float32)
    S.tiled_matmul.to(target)[1, (t, t)](a, b, c, n)
    np.testing.assert_allclose(c, a.astype(np.float64) @ b, rtol=1e-5)


@pytest.mark.parametrize("grid", [2, 64])
def test_histogram_with_shared_atomics_in_grid_stride_loop(target, grid):
    target.needs(S.block_histogram)
    if target.simulated and grid > 2:
        pytest.skip("the simulator runs ~7,000 threads/s: the small grid is enough there")
    rng = np.random.default_rng(4)
    n = 3000
    x = rng.integers(0, 1000, n).astype(np.int32)
    hist = np.zeros(B, np.int32)
    S.block_histogram.to(target)[grid, B](x, hist, n)
    np.testing.assert_array_equal(hist, np.bincount(x % B, minlength=B))


def test_loop_after_some_threads_returned(target):
    target.needs(S.returns_then_barrier)
    x = np.arange(2 * B, dtype=np.int32)
    out = np.full(2 * B, -1, np.int32)
    n = 20
    S.returns_then_barrier.to(target)[2, B](x, out, n)
    want = np.full(2 * B, -1, np.int32)
    for blk in range(2):
        want[blk * B:blk * B + n] = x[blk * B:blk * B + n].sum()
    np.testing.assert_array_equal(out, want)


@pytest.mark.parametrize("geometry", [(3, B), (70, 16), ((3, 2), (4, 4))])  # 1-D, many blocks, 2-D
def test_global_id_only_kernel(target, geometry):
    target.needs(S.flat_clamp)
    if target.simulated and geometry[0] == 70:
        pytest.skip("the simulator runs ~7,000 threads/s: the small grids are enough there")
    rng = np.random.default_rng(6)
    n = 90
    x = (rng.random(n, dtype=np.float32) * 2).astype(np.float32)
    y = np.full(n, -1, np.float32)
    S.flat_clamp.to(target)[geometry](x, y, n)
    grid, block = geometry
    # global_id() is the x index only: a 2-D launch covers block_dim_x * grid_dim_x of them, repeatedly
    gx = (grid[0] if isinstance(grid, tuple) else grid) * (block[0] if isinstance(block, tuple) else block)
    want = np.full(n, -1, np.float32)
    v = np.minimum(x[:min(gx, n)], 1.0)
    v = np.minimum(v * v, 1.0)
    want[:min(gx, n)] = v * v
    np.testing.assert_allclose(y, want, rtol=1e-6)


def test_thread_index_kernels_keep_the_block_loops(target):
    target.needs(S.lane_parity)
    n = 90
    y = np.full(n, -1, np.int32)
    S.lane_parity.to(target)[3, B](y, n)
    i = np.arange(n)
    np.testing.assert_array_equal(y, i * 10 + (i % B) % 2)
    assert "for _cu in" not in S.lane_parity.cpu_source() and "for _cu in" in S.flat_clamp.cpu_source()


# A grid of 256 x 256 threads takes the prange launchers (emit/cpu.py PARALLEL_THREADS); the simulator
# runs the small grid.
@pytest.mark.parametrize("grid", [3, 256])
def test_a_threads_iterations_run_in_order(target, grid):
    """Found by review: the grid-stride map once dealt one thread's iterations to different workers."""
    target.needs(S.gs_carry_prefix)
    if target.simulated and grid > 3:
        pytest.skip("the simulator runs ~7,000 threads/s: the small grid is enough there")
    block = 256 if grid > 3 else B
    total = grid * block
    n = total * 16 + 7
    y = np.ones(n, np.int32)
    S.gs_carry_prefix.to(target)[grid, block](y, n)
    np.testing.assert_array_equal(y, np.arange(n) // total + 1)


@pytest.mark.parametrize("grid", [3, 256])
def test_a_running_total_kept_in_memory(target, grid):
    target.needs(S.gs_accumulate_in_memory)
    if target.simulated and grid > 3:
        pytest.skip("the simulator runs ~7,000 threads/s: the small grid is enough there")
    block = 256 if grid > 3 else B
    total = grid * block
    n = total * 16 + 5
    x = np.random.default_rng(7).integers(0, 100, n).astype(np.int32)
    out = np.zeros(total, np.int32)
    S.gs_accumulate_in_memory.to(target)[grid, block](x, out, n)
    want = np.zeros(total, np.int64)
    np.add.at(want, np.arange(n) % total, x)
    np.testing.assert_array_equal(out, want)


def test_a_narrowing_conversion_of_the_thread_index_is_not_a_guard(target):
    """Found by review: `if u8(t) < s` once skipped the threads from 256 on (u8(256) is 0)."""
    target.needs(S.guard_through_u8)
    y = np.full(1024, -1, np.int32)
    S.guard_through_u8.to(target)[2, 512](y, 10)
    t = np.arange(512)
    np.testing.assert_array_equal(y, np.tile(((t % 256) < 10).astype(np.int32), 2))


def test_checked_grid_stride_map_probes_then_runs_or_reports():
    """Bounds-checked, a grid-stride map whose indices read no memory is probed over the whole grid
    first (emit/cpu.py _checked_grid_map): in bounds it runs unchecked, else checked to the first
    bad access. A nested loop of values read from memory leaves the probe nothing to check there."""
    rng = np.random.default_rng(8)
    n = 5000
    x = rng.random(n, dtype=np.float32)
    y = np.zeros(n, np.float32)
    S.gs_map_2d_block.to("cpu", boundscheck=True)[70, (8, 4)](x, y, n)
    want = x.copy()
    for _ in range(3):
        want = want * np.float32(0.5) + np.float32(1.0)
    np.testing.assert_allclose(y, want, rtol=1e-6)
    with pytest.raises(KernelRuntimeError, match=r"schedule_kernels\.py:\d+: index 4990 is outside array 'y' "
                                                 r"\(extent 4990\)"):
        S.gs_map_2d_block.to("cpu", boundscheck=True)[70, (8, 4)](x, np.zeros(n - 10, np.float32), n)


@pytest.mark.parametrize("boundscheck", [False, True])
def test_window_loop_after_a_barrier(target, boundscheck):
    target.needs(S.window_sums)
    if boundscheck and target.simulated:
        pytest.skip("the bounds-checked mode is the cpu backend's")
    w, total = 5, 2 * B
    x = np.arange(total + w - 1, dtype=np.float32)
    out = np.zeros(total, np.float32)
    k = S.window_sums.to(target, boundscheck=True) if boundscheck else S.window_sums.to(target)
    k[2, B](x, out, w)
    np.testing.assert_array_equal(out, [x[g:g + w].sum() for g in range(total)])


def test_checked_interchanged_loop_reports_its_first_bad_access():
    """Probed ahead (emit/cpu_segments.py interchanged): a window past the end of x runs the loop
    checked, which reports the first bad access of the lowest failing block."""
    w, total = 5, 2 * B
    x = np.zeros(total, np.float32)  # w - 1 values short
    with pytest.raises(KernelRuntimeError, match=rf"schedule_kernels\.py:\d+: index {total} is outside array 'x' "
                                                 rf"\(extent {total}\)"):
        S.window_sums.to("cpu", boundscheck=True)[2, B](x, np.zeros(total, np.float32), w)
    assert "_rkok" in S.window_sums.source(backends.CPU.bounds_checked)
