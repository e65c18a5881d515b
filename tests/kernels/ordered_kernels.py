"""Kernels using ordered memory intrinsics and warp/block collectives (compile checks + CPU runs)."""
from ringkernel_codegen import device, f32, i64, u64, kernel
from ringkernel_codegen.dsl import (atomic_add, block_reduce_sum, global_id, load_acquire, load_acquire_system,
                                    shared_array, sync_threads,
                                    store_release, store_release_system, thread_idx_x)


@kernel
def publish(flags: u64[:], data: f32[:], out: f32[:], n: i64):
    i = global_id()
    if i < n:
        if load_acquire_system(flags, 0) == 1:
            out[i] = data[i] * 2.0
        store_release_system(flags, 1, u64(1))
        v = load_acquire(flags, 1)
        store_release(flags, 2, v)


@kernel
def block_total(x: f32[:], out: f32[:]):
    t = thread_idx_x()
    s = block_reduce_sum(x[t])
    if t == 0:
        out[0] = s


@kernel
def histogram_2d(xs: i64[:], ys: i64[:], hist: i64[:, :], n: i64):
    """atomic_add on a 2D array takes a tuple index (flattened in CUDA C++)."""
    i = global_id()
    if i < n:
        atomic_add(hist, (ys[i], xs[i]), 1)


@device
def scale_into(out: f32[:], src: f32[:], i: i64, s: f32):
    out[i] = src[i] * s + f32(len(src))


@device
def tile_sum(tile: f32[:, :], row: i64) -> f32:
    acc = f32(0.0)
    for j in range(tile.shape[1]):
        acc += tile[row, j]
    return acc


@kernel
def device_arrays(x: f32[:], y: f32[:], n: i64):
    """Arrays passed to device functions carry their extents (kernel params and shared arrays)."""
    tile = shared_array((4, 8), f32)
    i = global_id()
    t = thread_idx_x()
    if t < 4:
        for j in range(8):
            tile[t, j] = f32(t + j)
    sync_threads()
    if i < n:
        scale_into(y, x, i, 2.0)
        if t < 4:
            y[i] += tile_sum(tile, t)


# Launches these kernels are written for (the convention: basic_kernels.GEOMETRY).
GEOMETRY = {
    "block_total": (1, 96),                    # one block-wide reduction of x[thread] (three warps)
    "device_arrays": (2, 32),                  # shared (4, 8) tile, rows filled by threads 0..3
}
ARGS: dict = {}
