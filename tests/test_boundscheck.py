"""The cpu backend's bounds-checked mode (#9): .to("cpu", boundscheck=True) and RINGKERNEL_BOUNDSCHECK=1
report an out-of-bounds index as a KernelRuntimeError naming the kernel's file:line, the array, the
index and the extent; in-bounds kernels give the same results as unchecked ones. Also: blocks that
run in parallel on the cpu keep global atomics exact."""
import os

import numpy as np
import pytest

from ringkernel_codegen import backends, device, f32, i32, kernel
from ringkernel_codegen.dsl import (atomic_add, block_dim_x, block_idx_x, global_id, grid_dim_x, shared_array,
                                    sync_threads, thread_idx_x)
from ringkernel_codegen.errors import KernelRuntimeError, LaunchError

HERE = os.path.basename(__file__)


@kernel
def shifted_copy(x: f32[:], y: f32[:], k: i32):
    i = global_id()
    y[i] = x[i + k]  # LINE_SHIFT


@kernel
def shared_neighbour(x: f32[:], out: f32[:]):
    buf = shared_array(32, f32)
    t = thread_idx_x()
    buf[t] = x[global_id()]
    sync_threads()
    out[global_id()] = buf[t + 1]  # LINE_SHARED


@kernel
def counted(bins: i32[:], hist: i32[:], n: i32):
    stride = grid_dim_x() * block_dim_x()
    for j in range(global_id(), n, stride):
        atomic_add(hist, bins[j], 1)  # LINE_ATOMIC


def line_of(marker: str) -> int:
    with open(__file__) as fh:
        return next(n for n, text in enumerate(fh, 1) if text.rstrip().endswith(f"# {marker}"))


def test_in_bounds_checked_launch_matches_numpy():
    x = np.arange(64, dtype=np.float32)
    y = np.zeros(64, np.float32)
    shifted_copy.to("cpu", boundscheck=True)[2, 32](x, y, 0)
    np.testing.assert_array_equal(y, x)


def test_out_of_bounds_read_names_line_array_index_and_extent():
    x = np.arange(64, dtype=np.float32)
    with pytest.raises(KernelRuntimeError) as info:
        shifted_copy.to("cpu", boundscheck=True)[2, 32](x, np.zeros(64, np.float32), 3)
    msg = str(info.value)
    assert f"{HERE}:{line_of('LINE_SHIFT')}" in msg
    assert "array 'x'" in msg and "index 64" in msg and "extent 64" in msg
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_out_of_bounds_shared_array_in_a_barrier_kernel():
    x = np.arange(64, dtype=np.float32)
    with pytest.raises(KernelRuntimeError, match=rf"{HERE}:{line_of('LINE_SHARED')}.*index 32 .*array 'buf' "
                                                 r"\(extent 32\)"):
        shared_neighbour.to("cpu", boundscheck=True)[2, 32](x, np.zeros(64, np.float32))


def test_out_of_bounds_atomic_index_is_reported():
    bins = np.array([0, 1, 9, 2], np.int32)
    with pytest.raises(KernelRuntimeError, match=rf"{HERE}:{line_of('LINE_ATOMIC')}.*index 9 .*'hist' \(extent 4\)"):
        counted.to("cpu", boundscheck=True)[1, 4](bins, np.zeros(4, np.int32), 4)


def test_environment_variable_checks_launches_that_do_not_say(monkeypatch):
    x = np.arange(64, dtype=np.float32)
    monkeypatch.setenv("RINGKERNEL_BOUNDSCHECK", "1")
    with pytest.raises(KernelRuntimeError, match="array 'x'"):
        shifted_copy.to("cpu")[2, 32](x, np.zeros(64, np.float32), 1)
    assert shifted_copy.to("cpu", boundscheck=False).backend is backends.CPU  # an explicit False wins


def test_parallel_blocks_with_global_atomics():
    assert "prange" in counted.cpu_source()


def test_boundscheck_on_a_backend_without_it_is_a_launch_error():
    with pytest.raises(LaunchError, match="no bounds-checked mode"):
        shifted_copy.to("numba", boundscheck=True)
    with pytest.raises(LaunchError, match="True, False or None"):
        shifted_copy.to("cpu", boundscheck="yes")


def test_global_atomics_stay_exact_when_blocks_run_in_parallel():
    """The histogram's blocks run under prange (atomic_add on a 1-D array is an LLVM atomicrmw)."""
    n = 1 << 18
    bins = np.random.default_rng(7).integers(0, 16, n, dtype=np.int32)
    hist = np.zeros(16, np.int32)
    counted.to("cpu")[64, 128](bins, hist, n)
    np.testing.assert_array_equal(hist, np.bincount(bins, minlength=16))


@kernel
def gated_block_sum(x: f32[:], out: f32[:]):
    buf = shared_array(32, f32)
    t = thread_idx_x()
    buf[t] = x[global_id()]
    if x[global_id()] >= 0.0:  # the same in every thread of a block unless x says otherwise
        sync_threads()
    if t == 0:
        s = buf[0] * 0.0
        for k in range(32):
            s += buf[k]
        out[block_idx_x()] = s


def test_barrier_kernel_blocks_in_parallel_match_numpy_and_report_divergence():
    """96 blocks: the launcher's prange path (grids of 64 blocks or more)."""
    x = np.random.default_rng(3).random(96 * 32, dtype=np.float32)
    out = np.zeros(96, np.float32)
    gated_block_sum.to("cpu")[96, 32](x, out)
    np.testing.assert_allclose(out, x.reshape(96, 32).sum(axis=1), rtol=1e-5)
    x[70 * 32 + 5] = -1.0
    with pytest.raises(KernelRuntimeError, match="divergent if"):
        gated_block_sum.to("cpu")[96, 32](x, out)


def test_dynamic_shared_memory_is_checked_against_the_launch_size():
    """The checked mode takes a launch's dynamic shared memory size like the plain one, and an index
    past it is reported (the array's extent is the launch size / the item size)."""
    from tests.kernels import dynamic_shared_kernels as D

    x = np.arange(24, dtype=np.float32)
    out = np.zeros(24, np.float32)
    D.reverse_blocks.to("cpu", boundscheck=True)[3, 8, 0, 8 * 4](x, out)
    want = np.concatenate([x[b * 8:(b + 1) * 8][::-1] for b in range(3)]) + 8000.0
    np.testing.assert_array_equal(out, want)
    with pytest.raises(KernelRuntimeError, match=r"outside array 'buf' \(extent 4\)"):
        D.reverse_blocks.to("cpu", boundscheck=True)[3, 8, 0, 4 * 4](x, out)


@device
def _bump_corner(h: i32[:, :], v: i32):
    atomic_add(h, (0, 0), v)      # a 2-D atomic: a plain read-modify-write on the cpu


@kernel
def _count_through_device(x: i32[:], h: i32[:, :], n: i32):
    i = global_id()
    if i < n:
        _bump_corner(h, x[i])


def test_an_atomic_inside_a_device_function_keeps_the_blocks_serial():
    """blocks_independent looked only at the kernel's body: an atomic in a called @device function
    that is not an LLVM atomicrmw let blocks race under prange (lost increments at 2^22 threads)."""
    from ringkernel_codegen.emit.cpu_emitter import blocks_independent
    assert not blocks_independent(_count_through_device._f)
    assert "prange(" not in _count_through_device.cpu_source().split("def _rk_launch")[-1]
    n = 1 << 16
    h = np.zeros((1, 1), np.int32)
    _count_through_device.to("cpu")[(n // 128,), (128,)](np.ones(n, np.int32), h, n)
    assert h[0, 0] == n


@kernel
def _atomic_2d_row(h: i32[:, :], r: i32):
    atomic_add(h, (r, global_id()), 1)


def test_a_multidimensional_atomic_index_is_checked_on_every_axis():
    h = np.zeros((2, 4), np.int32)
    _atomic_2d_row.to("cpu", boundscheck=True)[1, 4](h, 1)
    np.testing.assert_array_equal(h, [[0, 0, 0, 0], [1, 1, 1, 1]])
    with pytest.raises(KernelRuntimeError, match=r"index 7 is outside axis 0 of array 'h' \(extent 2\)|"
                                                 r"index 7 is outside array 'h' \(extent 2\)"):
        _atomic_2d_row.to("cpu", boundscheck=True)[1, 4](h, 7)
    with pytest.raises(KernelRuntimeError, match=r"outside axis 1 of array 'h' \(extent 4\)"):
        _atomic_2d_row.to("cpu", boundscheck=True)[1, 8](np.zeros((2, 4), np.int32), 0)
