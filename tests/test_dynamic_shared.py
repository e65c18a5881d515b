"""Dynamic shared memory (issue #9): `shared_array(0, T)` sized at launch, as numba spells it
(`k[grid, block, 0, nbytes]`) or by keyword (`k[grid, block](..., shared_bytes=nbytes)`).

One dynamic array per kernel (counting its @device functions); CUDA C++ declares it
`extern __shared__` and the cuda launch passes the size as sharedMemBytes; numba.cuda spells it
`cuda.shared.array(0, T)` (the simulator run is in tests/sim/test_numba_sim.py). References are NumPy.
"""
import subprocess

import numpy as np
import pytest

from tests.kernels.dynamic_shared_kernels import reverse_blocks, sums_via_device
from ringkernel_codegen import CodegenError, Field1D, LaunchError, device, f32, f64, i32, kernel, stencil
from ringkernel_codegen.dsl import global_id, shared_array, sync_threads, thread_idx_x


def reference_reverse(x, block, nbytes):
    blocks = x.reshape(-1, block)[:, ::-1].ravel()
    return blocks + 1000.0 * (nbytes // 4)


def test_dynamic_shared_array_sized_at_launch_both_spellings():
    x = np.arange(24, dtype=np.float32)
    out = np.zeros(24, np.float32)
    reverse_blocks.to("cpu")[3, 8, 0, 8 * 4](x, out)
    np.testing.assert_array_equal(out, reference_reverse(x, 8, 32))
    out[:] = 0
    reverse_blocks.to("cpu")[3, 8](x, out, shared_bytes=10 * 4 + 2)     # bytes beyond 8 values: len() = 10
    np.testing.assert_array_equal(out, reference_reverse(x, 8, 42))


def test_dynamic_shared_array_inside_a_device_function():
    x = np.arange(128, dtype=np.float64) / 4
    out, fixed = np.zeros(128), np.zeros(128, np.int32)
    sums_via_device.to("cpu")[2, 64](x, out, fixed, shared_bytes=64 * 8)
    want = np.repeat(x.reshape(2, 64).sum(axis=1), 64) + np.repeat([0, 1], 64)
    np.testing.assert_allclose(out, want, rtol=1e-12)


def test_launch_without_the_size_is_a_launch_error_naming_the_array():
    x = np.zeros(8, np.float32)
    with pytest.raises(LaunchError, match=r"dynamic shared array 'buf' at .*dynamic_shared_kernels.py:\d+:\d+ "
                                          r"\(shared_array\(0, f32\)\) but was launched without its size"):
        reverse_blocks.to("cpu")[1, 8](x, x.copy())


@pytest.mark.parametrize("backend,limit", [("cpu", 227 * 1024), ("numba", 48 * 1024)])
def test_too_much_shared_memory_is_a_launch_error(backend, limit):
    """48 KiB is CUDA's default per block (numba.cuda does not opt in); the cuda backend opts in up to
    227 KiB on sm_90 and the CPU emulates that. Fixed shared arrays count too."""
    x, out, fixed = np.zeros(64), np.zeros(64), np.zeros(64, np.int32)
    with pytest.raises(LaunchError, match=rf"needs {limit + 1} bytes of shared memory per block \(256 fixed \+ "
                                          rf"{limit - 255} dynamic\).* at most {limit}"):
        sums_via_device.to(backend)[1, 64, 0, limit - 255](x, out, fixed)


@pytest.mark.parametrize("key", [(1, 8, 0, -4), (1, 8, 0, 2.5), (1, 8, 0, True), (1, 8, 1, 32)])
def test_bad_launch_configurations_are_launch_errors(key):
    x = np.zeros(8, np.float32)
    with pytest.raises(LaunchError, match="shared memory size is a number of bytes|the stream must be 0"):
        reverse_blocks.to("cpu")[key](x, x.copy())


def two_dynamic_arrays(x: f32[:]):
    a = shared_array(0, f32)
    b = shared_array(0, i32)
    a[0] = x[0]
    b[0] = 1


def dynamic_2d(x: f32[:]):
    a = shared_array((0, 4), f32)
    a[0, 0] = x[0]


def test_a_second_dynamic_array_and_a_2d_one_are_refused():
    with pytest.raises(CodegenError, match=r"second dynamic shared array .* may have one") as info:
        kernel(two_dynamic_arrays)
    assert "b = shared_array(0, i32)" in str(info.value)
    with pytest.raises(CodegenError, match=r"dynamic shared memory is one-dimensional"):
        kernel(dynamic_2d)


@device
def dyn_helper(v: f64) -> f64:
    s = shared_array(0, f64)
    s[0] = v
    return s[0]


def stencil_with_dynamic_shared(u: Field1D[f64], out: Field1D[f64]):
    out[0] = dyn_helper(u[0])


def test_a_stencil_cannot_use_dynamic_shared_memory():
    with pytest.raises(CodegenError, match="a stencil cannot use dynamic shared memory"):
        stencil(tile=(8,))(stencil_with_dynamic_shared)


@pytest.mark.nvcc
def test_cuda_source_declares_extern_shared_and_compiles(nvcc, tmp_path):
    for k in (reverse_blocks, sums_via_device, passes_dynamic_array):
        src = k.cuda_source()
        assert "extern __shared__ " in src and "%%dynamic_smem_size" in src
        path = tmp_path / f"{k.name}.cu"
        path.write_text(src)
        proc = subprocess.run([nvcc, "-arch=sm_90", "-c", "-o", str(tmp_path / f"{k.name}.o"), str(path)],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    assert "cuda.shared.array(0, numba.float32)" in reverse_blocks.numba_source()


def test_cuda_launch_passes_the_size_as_shared_mem(monkeypatch):
    """Without a GPU: the cuda provider's launch_source is replaced by a recorder."""
    provider = pytest.importorskip("ringkernel_runtime.backends.cuda_backend")
    calls = []
    monkeypatch.setattr(provider, "available", lambda: True)
    monkeypatch.setattr(provider, "launch_source", lambda *a, **kw: calls.append(kw))
    x = np.zeros(16, np.float32)
    reverse_blocks.to("cuda")[2, 8, 0, 96](x, x.copy())
    reverse_blocks.to("cuda")[2, 8](x, x.copy(), shared_bytes=64 * 1024)   # above 48 KiB: the cuda backend opts in
    assert [kw["shared_mem"] for kw in calls] == [96, 64 * 1024]


def test_a_ring_kernel_cannot_use_dynamic_shared_memory():
    """Was accepted, and its actor loop declared extern __shared__ with no size to launch it with."""
    from ringkernel_codegen import message, ring_kernel

    @message
    class Value:
        v: f32

    def handler(ctx, msg: Value) -> Value:
        s = shared_array(0, f32)
        s[0] = msg.v
        return Value(v=s[0])

    with pytest.raises(CodegenError, match=r"ring kernel handlers cannot use dynamic shared memory") as info:
        ring_kernel(input=Value, output=Value)(handler)
    assert "s = shared_array(0, f32)" in str(info.value)


@device
def total(buf: f32[:]) -> f32:
    s = 0.0
    for j in range(len(buf)):
        s += buf[j]
    return s


@kernel
def passes_dynamic_array(x: f32[:], out: f32[:]):
    buf = shared_array(0, f32)
    buf[thread_idx_x()] = x[global_id()]
    sync_threads()
    out[global_id()] = total(buf)


def test_a_dynamic_array_passed_to_a_device_function_has_the_launch_size():
    x = np.arange(16, dtype=np.float32)
    out = np.zeros(16, np.float32)
    passes_dynamic_array.to("cpu")[2, 8, 0, 8 * 4](x, out)
    np.testing.assert_array_equal(out, np.repeat(x.reshape(2, 8).sum(axis=1), 8))
    # CUDA passes the extent from %dynamic_smem_size with the pointer
    assert "total(buf, ((long long)(rk_dynamic_smem_size() / sizeof(float))))" in passes_dynamic_array.cuda_source()
