"""Kernels with barriers and warp collectives, for the CPU emulator's barrier fission (test_fission.py)."""
from ringkernel_codegen import f32, i32, kernel, u32
from ringkernel_codegen.dsl import (
    ballot_sync, block_dim_x, block_idx_x, global_id, lane_id, shared_array, shfl_down_sync, shfl_xor_sync,
    sync_threads, thread_idx_x,
)

FULL = 0xFFFFFFFF


@kernel
def tree_reduce(x: f32[:], out: f32[:]):
    """Shared-memory tree reduction: barrier inside a while loop with a block-uniform condition."""
    buf = shared_array(64, f32)
    t = thread_idx_x()
    buf[t] = x[block_idx_x() * block_dim_x() + t]
    sync_threads()
    s = block_dim_x() // 2
    while s > 0:
        if t < s:
            buf[t] += buf[t + s]
        sync_threads()
        s //= 2
    if t == 0:
        out[block_idx_x()] = buf[0]


@kernel
def uniform_if_barrier(x: i32[:], out: i32[:], rotate: i32):
    """A barrier inside an if whose condition is a kernel parameter (the same in every thread)."""
    buf = shared_array(32, i32)
    t = thread_idx_x()
    if rotate > 0:
        buf[t] = x[t]
        sync_threads()
        out[t] = buf[(t + rotate) % block_dim_x()]
    else:
        out[t] = x[t]


@kernel
def divergent_if_barrier(out: i32[:]):
    t = thread_idx_x()
    if t < 4:
        sync_threads()
    out[t] = t


@kernel
def divergent_loop_barrier(out: i32[:]):
    t = thread_idx_x()
    k = 0
    while k < t:
        sync_threads()
        k += 1
    out[t] = k


@kernel
def early_exit_then_barrier(x: i32[:], out: i32[:], n: i32):
    """Threads past n return before the barrier; the rest still meet at it."""
    buf = shared_array(32, i32)
    t = thread_idx_x()
    if t >= n:
        return
    buf[t] = x[t] * 10
    sync_threads()
    out[t] = buf[(t + 1) % n]


@kernel
def warp_sum_shfl_down(x: i32[:], out: i32[:]):
    i = global_id()
    v = x[i]
    offset = 16
    while offset > 0:
        v += shfl_down_sync(FULL, v, offset)
        offset //= 2
    out[i] = v


@kernel
def warp_butterfly_max(x: i32[:], out: i32[:]):
    i = global_id()
    v = x[i]
    for level in range(5):
        other = shfl_xor_sync(FULL, v, 1 << level)
        v = max(v, other)
    out[i] = v


@kernel
def warp_ballot(x: i32[:], out: u32[:], lanes: i32[:]):
    i = global_id()
    out[i] = ballot_sync(FULL, x[i] > 0)
    lanes[i] = lane_id()


@kernel
def per_block_shared(out: i32[:]):
    """Each block fills its own shared array with its block id; no block may see another's."""
    buf = shared_array(16, i32)
    t = thread_idx_x()
    buf[t] = block_idx_x() * 100 + t
    sync_threads()
    out[block_idx_x() * block_dim_x() + t] = buf[(t + 1) % block_dim_x()]


@kernel
def barrier_in_for_loop(x: i32[:], out: i32[:], rounds: i32):
    """Each round every thread adds its right neighbour's value; a uniform range() bound."""
    buf = shared_array(16, i32)
    t = thread_idx_x()
    buf[t] = x[t]
    for r in range(rounds):
        sync_threads()
        v = buf[(t + 1) % 16]
        sync_threads()
        buf[t] += v
    sync_threads()
    out[t] = buf[t]


# Launches and arguments these kernels are written for (the convention: basic_kernels.GEOMETRY).
GEOMETRY = {
    "tree_reduce": (2, 64),                    # shared buf of 64, indexed by thread
    "uniform_if_barrier": (1, 32),             # shared buf of 32, indexed by thread
    "early_exit_then_barrier": (1, 32),        # shared buf of 32, indexed by thread
    "warp_sum_shfl_down": (2, 32),             # whole 32-lane warps
    "warp_butterfly_max": (2, 32),
    "warp_ballot": (2, 32),
    "per_block_shared": (4, 16),               # shared buf of 16, indexed by thread
    "barrier_in_for_loop": (1, 16),            # shared buf of 16, indexed by thread (and t + 1 mod 16)
}

ARGS = {
    "early_exit_then_barrier": {"n": 10},      # buf[(t + 1) % n] stays inside the 32-element buf
    "barrier_in_for_loop": {"rounds": 3},      # each round doubles the values: keep them small
}

ALL = [tree_reduce, uniform_if_barrier, divergent_if_barrier, divergent_loop_barrier, early_exit_then_barrier,
       warp_sum_shfl_down, warp_butterfly_max, warp_ballot, per_block_shared, barrier_in_for_loop]
