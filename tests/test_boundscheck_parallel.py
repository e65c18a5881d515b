"""The bounds-checked cpu mode runs blocks in parallel like the unchecked one (issue #15): grids of 64
blocks or more spread over the workers; when several blocks go out of bounds, the failure of the
lowest block is reported (a serial run would reach it first); the bad access never happens, and a
loop reading past the end stops there. References are hand-computed or NumPy."""
import os

import numpy as np
import pytest

from ringkernel_codegen import Field2D, backends, f32, i32, kernel, stencil
from ringkernel_codegen.dsl import atomic_add, global_id, grid_sync, shared_array, sync_threads, thread_idx_x
from ringkernel_codegen.errors import KernelRuntimeError

HERE = os.path.basename(__file__)
BLOCKS, THREADS = 96, 32   # >= 64 blocks: the parallel launcher


def line_of(marker: str) -> int:
    with open(__file__) as fh:
        return next(n for n, text in enumerate(fh, 1) if text.rstrip().endswith(f"# {marker}"))


@kernel
def gather(x: f32[:], idx: i32[:], out: f32[:]):
    i = global_id()
    out[i] = x[idx[i]]  # LINE_GATHER


@kernel
def block_sums_gathered(x: f32[:], idx: i32[:], out: f32[:]):
    buf = shared_array(32, f32)
    t = thread_idx_x()
    buf[t] = x[idx[global_id()]]  # LINE_FISSION
    sync_threads()
    if t == 0:
        s = buf[0] * 0.0
        for k in range(32):
            s += buf[k]
        out[global_id() // 32] = s


@kernel
def histogram(bins: i32[:], hist: i32[:]):
    atomic_add(hist, bins[global_id()], 1)  # LINE_HIST


@kernel
def first_zero(x: i32[:], start: i32[:], out: i32[:]):
    i = start[global_id()]
    while x[i] != 0:  # LINE_SCAN
        i += 1
    out[global_id()] = i


@kernel
def shifted_after_grid_sync(x: f32[:], out: f32[:]):
    i = global_id()
    x[i] = x[i] + 1.0
    grid_sync()
    out[i] = x[(i + 32) % 64]  # LINE_GRID


@stencil(halo=1)
def lookup(u: Field2D[i32], lut: f32[:], out: Field2D[f32]):
    out[0, 0] = lut[u[0, 0]] + lut[u.east]  # LINE_LUT


def bad_indices(n, bad: dict, seed=5):
    idx = np.random.default_rng(seed).integers(0, n, n, dtype=np.int32)
    for position, value in bad.items():
        idx[position] = value
    return idx


def test_parallel_checked_launch_matches_numpy():
    n = BLOCKS * THREADS
    x = np.random.default_rng(1).random(n, dtype=np.float32)
    idx = bad_indices(n, {})
    out = np.zeros(n, np.float32)
    assert "prange(" in gather.source(backends.CPU.bounds_checked)
    gather.to("cpu", boundscheck=True)[BLOCKS, THREADS](x, idx, out)
    np.testing.assert_array_equal(out, x[idx])
    sums = np.zeros(BLOCKS, np.float32)
    block_sums_gathered.to("cpu", boundscheck=True)[BLOCKS, THREADS](x, idx, sums)
    np.testing.assert_allclose(sums, x[idx].reshape(BLOCKS, THREADS).sum(axis=1), rtol=1e-5)


def test_several_bad_blocks_report_the_lowest_one():
    """Blocks 90, 71 and 70 go out of bounds (70 twice, the first in thread order is reported)."""
    n = BLOCKS * THREADS
    x = np.zeros(n, np.float32)
    idx = bad_indices(n, {90 * THREADS + 1: n + 90, 71 * THREADS: -7, 70 * THREADS + 9: n + 5, 70 * THREADS + 20: n + 6})
    want = rf"{HERE}:{line_of('LINE_GATHER')}: index {n + 5} is outside array 'x' \(extent {n}\)"
    for _ in range(3):  # the same report every time, whichever worker finishes first
        with pytest.raises(KernelRuntimeError, match=want):
            gather.to("cpu", boundscheck=True)[BLOCKS, THREADS](x, idx, np.zeros(n, np.float32))


def test_several_bad_blocks_of_a_barrier_kernel_report_the_lowest_one():
    """Blocks are dealt round-robin to 64 workers: block 63 is worker 63's first, 66 worker 2's."""
    n = BLOCKS * THREADS
    idx = bad_indices(n, {80 * THREADS + 4: n + 80, 66 * THREADS + 3: n + 66, 63 * THREADS + 1: n + 63})
    with pytest.raises(KernelRuntimeError, match=rf"{HERE}:{line_of('LINE_FISSION')}: index {n + 63} is outside "
                                                 rf"array 'x' \(extent {n}\)"):
        block_sums_gathered.to("cpu", boundscheck=True)[BLOCKS, THREADS](np.zeros(n, np.float32), idx,
                                                                          np.zeros(BLOCKS, np.float32))


def test_bad_atomic_index_in_a_parallel_histogram():
    n = BLOCKS * THREADS
    bins = np.random.default_rng(2).integers(0, 16, n, dtype=np.int32)
    hist = np.zeros(16, np.int32)
    histogram.to("cpu", boundscheck=True)[BLOCKS, THREADS](bins, hist)
    np.testing.assert_array_equal(hist, np.bincount(bins, minlength=16))
    bins[[85 * THREADS, 64 * THREADS + 31, 77 * THREADS]] = [40, 16, -1]
    with pytest.raises(KernelRuntimeError, match=rf"{HERE}:{line_of('LINE_HIST')}: index 16 is outside array "
                                                 r"'hist' \(extent 16\)"):
        histogram.to("cpu", boundscheck=True)[BLOCKS, THREADS](bins, np.zeros(16, np.int32))


def test_a_loop_reading_past_the_end_stops_and_is_reported():
    """Every x is non-zero: the scan runs off the end, which must end its loop (had the scan gone
    on with a stand-in value for the bad read, the launch would never end)."""
    n = BLOCKS * THREADS
    x = np.ones(n, np.int32)
    start = np.arange(n, dtype=np.int32)
    with pytest.raises(KernelRuntimeError, match=rf"{HERE}:{line_of('LINE_SCAN')}: index {n} is outside array 'x' "
                                                 rf"\(extent {n}\)"):
        first_zero.to("cpu", boundscheck=True)[BLOCKS, THREADS](x, start, np.zeros(n, np.int32))
    x[n - 1] = 0
    out = np.zeros(n, np.int32)
    first_zero.to("cpu", boundscheck=True)[BLOCKS, THREADS](x, start, out)
    np.testing.assert_array_equal(out, np.full(n, n - 1))


def test_an_empty_array_is_reported_not_written():
    """The bad store is not made: a view of no element inside another array is not written through."""
    base = np.arange(8, dtype=np.float32)
    empty = base[4:4]  # a view of no element inside base: a write at its index 0 would land in base
    x = np.full(8, 99.0, np.float32)
    with pytest.raises(KernelRuntimeError, match=r"index 0 is outside array 'out' \(extent 0\)"):
        gather.to("cpu", boundscheck=True)[BLOCKS, THREADS](x, np.zeros(BLOCKS * THREADS, np.int32), empty)
    np.testing.assert_array_equal(base, np.arange(8, dtype=np.float32))


def test_a_large_checked_stencil_runs_in_parallel_and_reports_the_lowest_row():
    ny, nx = 300, 260  # over _rt's PARALLEL_CELLS: the rows spread over the workers
    u = np.random.default_rng(4).integers(0, 10, (ny, nx), dtype=np.int32)
    lut = np.arange(10, dtype=np.float32) * 0.5
    out = np.zeros((ny, nx), np.float32)
    lookup.to("cpu", boundscheck=True)(u, lut, out)
    want = np.zeros_like(out)
    want[1:-1, 1:-1] = lut[u[1:-1, 1:-1]] + lut[u[1:-1, 2:]]
    np.testing.assert_array_equal(out, want)
    u[250, 100], u[120, 7], u[120, 3] = 11, 12, 13   # row 120: cell (120, 2) reads u.east = 13 first
    with pytest.raises(KernelRuntimeError, match=rf"{HERE}:{line_of('LINE_LUT')}: index 13 is outside array "
                                                 r"'lut' \(extent 10\)"):
        lookup.to("cpu", boundscheck=True)(u, lut, out)


def test_grid_barrier_kernel_reports_a_bad_index():
    """Grid barriers: the blocks run in one call, in order (no prange to lose the error in)."""
    x = np.arange(64, dtype=np.float32)
    out = np.zeros(64, np.float32)
    shifted_after_grid_sync.to("cpu", boundscheck=True)[2, 32](x.copy(), out)
    np.testing.assert_array_equal(out, np.roll(x + 1.0, -32))
    with pytest.raises(KernelRuntimeError, match=rf"{HERE}:{line_of('LINE_GRID')}: index 40 is outside array 'out' "
                                                 r"\(extent 40\)"):
        shifted_after_grid_sync.to("cpu", boundscheck=True)[2, 32](x.copy(), np.zeros(40, np.float32))


def test_a_block_function_of_more_than_30_arguments_is_checked():
    """Fission's block function here takes 31 arguments: numba cannot type such a call inside the
    try of its guard (cpu_checked.guarded packs them into a tuple first)."""
    from tests.kernels import device_barrier_kernels as D

    n = 2 * 32
    x = np.arange(n, dtype=np.int32) % 7
    with pytest.raises(KernelRuntimeError, match=rf"device_barrier_kernels.py:\d+: index {n - 1} is outside array "
                                                 rf"'sums' \(extent {n - 1}\)"):
        D.warp_collectives_in_device.to("cpu", boundscheck=True)[2, 32](
            x, np.zeros(n - 1, np.int32), np.zeros(n, np.int32), np.zeros(n, np.int32))


@kernel
def shifted(x: f32[:], out: f32[:], k: i32):
    i = global_id()
    out[i] = x[i + k]  # LINE_SHIFTED


@kernel
def guarded_tail(x: f32[:], out: f32[:], m: i32):
    i = global_id()
    out[i] = x[i] if i < m else f32(-1.0)  # x[i] only where i < m: in bounds, though i runs past x


@kernel
def strided_scale(x: f32[:], out: f32[:], n: i32):
    for j in range(global_id(), n, 64 * 32):
        out[j] = 2.0 * x[j]  # LINE_STRIDED


def test_kernels_whose_indices_read_no_memory_take_the_probed_path():
    """Indices and conditions computed without loads: each block is probed, then run unchecked
    (emit/cpu_checked_fast.py); a gather's index reads memory, so it runs checked throughout, as does
    a grid-stride loop (interchanged with the thread loop)."""
    assert "_rk_blocks_fast" in shifted.source(backends.CPU.bounds_checked)
    # a grid-stride loop runs interchanged with the thread loop instead (emit/cpu_schedule.py), checked throughout
    assert "_rt.trip_count" in strided_scale.source(backends.CPU.bounds_checked)
    assert "_rk_blocks_fast" not in gather.source(backends.CPU.bounds_checked)
    n = BLOCKS * THREADS
    x = np.random.default_rng(6).random(n + 3, dtype=np.float32)
    out = np.zeros(n, np.float32)
    shifted.to("cpu", boundscheck=True)[BLOCKS, THREADS](x, out, 3)
    np.testing.assert_array_equal(out, x[3:])
    out = np.zeros(n, np.float32)
    strided_scale.to("cpu", boundscheck=True)[64, 32](x, out, n)
    np.testing.assert_array_equal(out, 2.0 * x[:n])


def test_probed_kernel_reports_the_first_bad_access_of_the_lowest_bad_block():
    n = BLOCKS * THREADS
    x = np.zeros(n - 40, np.float32)   # i + 5 >= n - 40 from i = n - 45 on: block 94, thread 19, and block 95
    with pytest.raises(KernelRuntimeError, match=rf"{HERE}:{line_of('LINE_SHIFTED')}: index {n - 40} is outside "
                                                 rf"array 'x' \(extent {n - 40}\)"):
        shifted.to("cpu", boundscheck=True)[BLOCKS, THREADS](x, np.zeros(n, np.float32), 5)
    with pytest.raises(KernelRuntimeError, match=rf"{HERE}:{line_of('LINE_STRIDED')}: index {n - 1} is outside "
                                                 rf"array 'out' \(extent {n - 1}\)"):
        strided_scale.to("cpu", boundscheck=True)[64, 32](np.zeros(n, np.float32), np.zeros(n - 1, np.float32), n)


def test_an_access_the_probe_cannot_rule_out_runs_checked_and_correct():
    """The probe checks both arms of `x[i] if i < m else ...`: blocks past m run checked, where
    the select reads x only when i < m, so there is no error and the results are NumPy's."""
    n, m = BLOCKS * THREADS, BLOCKS * THREADS - 100
    x = np.random.default_rng(8).random(m, dtype=np.float32)
    out = np.zeros(n, np.float32)
    guarded_tail.to("cpu", boundscheck=True)[BLOCKS, THREADS](x, out, m)
    np.testing.assert_array_equal(out, np.concatenate([x, np.full(100, -1.0, np.float32)]))
