"""Dynamic shared memory kernels (shared_array(0, T), sized at launch): tests/test_dynamic_shared.py
and the simulator's tests/sim/test_numba_sim.py. Not in the corpora that launch every kernel with a
fixed geometry: these need a size at launch."""
from ringkernel_codegen import device, f32, f64, i32, kernel
from ringkernel_codegen.dsl import block_dim_x, block_idx_x, global_id, shared_array, sync_threads, thread_idx_x


@kernel
def reverse_blocks(x: f32[:], out: f32[:]):
    """Each block reverses its part of x through dynamic shared memory; len() is the launch's size."""
    buf = shared_array(0, f32)
    t = thread_idx_x()
    i = global_id()
    buf[t] = x[i]
    sync_threads()
    out[i] = buf[block_dim_x() - 1 - t] + 1000.0 * len(buf)


@device
def block_sum(t: i32, v: f64) -> f64:
    """A dynamic shared array inside a device function (the CPU inlines it; CUDA keeps it)."""
    acc = shared_array(0, f64)
    acc[t] = v
    sync_threads()
    s = 0.0
    for j in range(block_dim_x()):
        s += acc[j]
    sync_threads()
    return s


@kernel
def sums_via_device(x: f64[:], out: f64[:], fixed: i32[:]):
    tile = shared_array(64, i32)   # 256 fixed bytes beside the dynamic ones
    t = thread_idx_x()
    tile[t] = block_idx_x()
    out[global_id()] = block_sum(t, x[global_id()]) + tile[t]
    fixed[global_id()] = t


# Launches these kernels are written for (basic_kernels.GEOMETRY's convention), with a third item:
# the dynamic shared memory in bytes per block (tools/gpu_check.py launches k[grid, block, 0, bytes]).
GEOMETRY = {
    "reverse_blocks": (2, 32, 32 * 4),
    "sums_via_device": (2, 64, 64 * 8),      # the fixed tile holds 64: one slot per thread
}
