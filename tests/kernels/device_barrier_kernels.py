"""Barriers and collectives inside @device functions, warp collectives under warp-uniform and
partial-mask conditions, and grid barriers inside loops and uniform conditions (issue #9), for the
CPU emulator's barrier fission (test_fission_device.py). On the CPU, device functions holding a
barrier or collective are inlined into the kernel first (passes/inline.py); CUDA and numba keep
them as device functions.

Every kernel here is race-free CUDA: a device function that publishes into a shared buffer syncs
again after reading it back, so the next call may reuse the buffer.
"""
from ringkernel_codegen import device, f32, i32, kernel, u32
from ringkernel_codegen.dsl import (
    ballot_sync, block_dim_x, block_reduce_sum, global_id, global_size, grid_sync, lane_id, local_array, popc,
    reduce_add_sync, shared_array, shfl_down_sync, shfl_sync, shfl_xor_sync, sync_threads, syncthreads_count,
    thread_idx_x,
)

FULL = 0xFFFFFFFF
LOW_HALF = 0x0000FFFF
HIGH_HALF = 0xFFFF0000
BLOCK = 32


# ---------------------------------------------------------------- barriers inside device functions
@device
def rotate_left(buf: i32[:], t: i32, v: i32) -> i32:
    """Every thread publishes v; each gets its right neighbour's value (mod the block)."""
    buf[t] = v
    sync_threads()
    w = buf[(t + 1) % block_dim_x()]
    sync_threads()
    return w


@kernel
def rotate_via_device(x: i32[:], out: i32[:]):
    """The kernel body has no barrier of its own: only the device function it calls does."""
    buf = shared_array(BLOCK, i32)
    i = global_id()
    out[i] = rotate_left(buf, thread_idx_x(), x[i])


@device
def rotate_twice(buf: i32[:], t: i32, v: i32) -> i32:
    return rotate_left(buf, t, rotate_left(buf, t, v))   # a call as the argument of a call


@device
def mix_neighbours(buf: i32[:], t: i32, v: i32) -> i32:
    a = rotate_left(buf, t, v)
    b = rotate_twice(buf, t, v)
    return v + a * 10 + b * 100


@kernel
def nested_device_barriers(x: i32[:], out: i32[:]):
    """Device functions calling device functions, four barrier pairs deep."""
    buf = shared_array(BLOCK, i32)
    i = global_id()
    out[i] = mix_neighbours(buf, thread_idx_x(), x[i])


@device
def block_total(buf: f32[:], t: i32, v: f32) -> f32:
    """Shared-memory tree reduction; every thread gets the block's total."""
    buf[t] = v
    sync_threads()
    s = block_dim_x() // 2
    while s > 0:
        if t < s:
            buf[t] += buf[t + s]
        sync_threads()
        s //= 2
    total = buf[0]
    sync_threads()
    return total


@kernel
def offset_by_block_total(x: f32[:], out: f32[:]):
    """A device function returning a value computed across barriers, used inside an expression."""
    buf = shared_array(BLOCK, f32)
    i = global_id()
    out[i] = x[i] + 0.5 * block_total(buf, thread_idx_x(), x[i])


@device
def shifted_or_default(buf: i32[:], t: i32, v: i32, shift: i32) -> i32:
    """An early return before the barriers (uniform: shift is the kernel's parameter) and one after."""
    if shift == 0:
        return v
    buf[t] = v
    sync_threads()
    w = buf[(t + shift) % block_dim_x()]
    sync_threads()
    if w < 2:
        return -w
    return w


@kernel
def device_early_return(x: i32[:], out: i32[:], shift: i32):
    buf = shared_array(BLOCK, i32)
    i = global_id()
    out[i] = shifted_or_default(buf, thread_idx_x(), x[i], shift)


@device
def publish(buf: i32[:], t: i32, v: i32):
    """A void device function whose only job is a barrier-protected store."""
    buf[t] = v
    sync_threads()


# ---------------------------------------------------------------- local arrays across barriers
@kernel
def local_array_across_barrier(x: i32[:], out: i32[:]):
    """Each thread's local array is filled before the barrier and read after it."""
    buf = shared_array(BLOCK, i32)
    acc = local_array(4, i32)
    t = thread_idx_x()
    i = global_id()
    for j in range(4):
        acc[j] = x[i] * (j + 1)
    publish(buf, t, x[i])
    s = 0
    for j in range(4):
        s += acc[j] * buf[(t + j) % BLOCK]
    out[i] = s


@device
def window_dot(buf: i32[:], t: i32, v: i32) -> i32:
    """A local array inside a device function with barriers (one per inlined call on the CPU)."""
    w = local_array(3, i32)
    for j in range(3):
        w[j] = v + j
    buf[t] = v
    sync_threads()
    s = 0
    for j in range(3):
        s += w[j] * buf[(t + j) % block_dim_x()]
    sync_threads()
    return s


@kernel
def local_array_in_device(x: i32[:], out: i32[:]):
    buf = shared_array(BLOCK, i32)
    i = global_id()
    t = thread_idx_x()
    a = window_dot(buf, t, x[i])
    out[i] = a + window_dot(buf, t, a % 7)


# ---------------------------------------------------------------- collectives inside device functions
@device
def warp_sum(x: i32) -> i32:
    v = x
    offset = 16
    while offset > 0:
        v += shfl_down_sync(FULL, v, offset)
        offset //= 2
    return v


@device
def count_above(x: i32, limit: i32) -> i32:
    return popc(ballot_sync(FULL, x > limit))


@device
def warp_total(x: i32) -> i32:
    return reduce_add_sync(FULL, x)


@kernel
def warp_collectives_in_device(x: i32[:], sums: i32[:], counts: i32[:], totals: i32[:]):
    i = global_id()
    sums[i] = warp_sum(x[i])
    counts[i] = count_above(x[i], 3)
    totals[i] = warp_total(x[i]) - warp_sum(x[i])


@device
def block_stats(v: i32) -> i32:
    return block_reduce_sum(v) * 1000 + syncthreads_count(v > 4)


@kernel
def block_collectives_in_device(x: i32[:], out: i32[:]):
    i = global_id()
    out[i] = block_stats(x[i])


# ---------------------------------------------------------------- warp-uniform conditions
@kernel
def warp_uniform_if(x: i32[:], out: i32[:]):
    """Warp 0 of each block sums its lanes, warp 1 swaps neighbours: the branch differs between the
    warps of a block, never inside one."""
    i = global_id()
    warp = thread_idx_x() // 32
    v = x[i]
    if warp == 0:
        offset = 16
        while offset > 0:
            v += shfl_down_sync(FULL, v, offset)
            offset //= 2
    else:
        v = shfl_xor_sync(FULL, v, 1)
    out[i] = v


@kernel
def warp_dependent_trip_count(x: i32[:], out: i32[:]):
    """Warp w runs w + 1 butterfly rounds: the loop bound differs between warps, not within one."""
    i = global_id()
    warp = thread_idx_x() // 32
    v = x[i]
    for r in range(warp + 1):
        v = max(v, shfl_xor_sync(FULL, v, 1 << r))
    out[i] = v


@kernel
def warp_divergent_break(x: i32[:], out: i32[:], limit: i32):
    """Each warp doubles its values until the warp's sum passes `limit`: warps leave the loop after
    different numbers of rounds (the sum, and so the break, is the same in all lanes of a warp)."""
    i = global_id()
    v = x[i]
    rounds = 0
    while True:
        s = reduce_add_sync(FULL, v)
        if s > limit:
            break
        v = v * 2 + 1
        rounds += 1
    out[i] = rounds * 1000 + v


@kernel
def device_collective_in_one_warp(x: i32[:], out: i32[:]):
    """A device function holding shuffles, called by the second warp of each block only."""
    i = global_id()
    v = x[i]
    if thread_idx_x() // 32 == 1:
        v = warp_sum(v)
    out[i] = v


@kernel
def warp_region_loops(x: i32[:], out: i32[:]):
    """Loops whose trip counts differ between warps, with continue, a nested loop left by break and
    a return inside, around a full-warp reduction (the same in every lane of a warp)."""
    i = global_id()
    w = thread_idx_x() // 32
    v = x[i]
    s = 0
    for r in range(w + 2):
        if r == 1:
            continue
        k = 0
        while True:
            k += 1
            if k > w:
                break
        s += reduce_add_sync(FULL, v) + k
        if w == 1 and r == 2:
            out[i] = s + 100000
            return
    out[i] = s


# ---------------------------------------------------------------- partial masks
@kernel
def half_warp_shuffle(x: i32[:], out: i32[:]):
    """Each half warp reverses its values, with a mask naming just its own 16 lanes."""
    i = global_id()
    lane = lane_id()
    v = x[i]
    if lane < 16:
        v = shfl_sync(LOW_HALF, v, 15 - lane)
    else:
        v = shfl_sync(HIGH_HALF, v, 47 - lane)
    out[i] = v


@kernel
def half_warp_ballot(x: i32[:], votes: u32[:], sums: i32[:]):
    """Only the low half warp votes and sums (mask: its 16 lanes); the high half writes zeros."""
    i = global_id()
    if lane_id() < 16:
        votes[i] = ballot_sync(LOW_HALF, x[i] > 3)
        sums[i] = reduce_add_sync(LOW_HALF, x[i])
    else:
        votes[i] = u32(0)
        sums[i] = 0


# ---------------------------------------------------------------- grid barriers in loops
@kernel
def sequential_rows(m: i32[:, :]):
    """numba's cooperative-groups example: row r is row r - 1 mirrored plus one; each block needs
    the whole previous row, so the grid syncs once per row inside the loop."""
    col = global_id()
    rows = m.shape[0]
    cols = m.shape[1]
    for row in range(1, rows):
        if col < cols:
            m[row, col] = m[row - 1, cols - col - 1] + 1
        grid_sync()


@kernel
def grid_smoothing(x: i32[:], y: i32[:], out: i32[:], steps: i32):
    """Ping-pong smoothing on a ring of one value per thread of the grid, a grid barrier after each
    half step; `acc` is a per-thread local that lives across all the grid barriers."""
    i = global_id()
    n = global_size()
    acc = 0
    step = 0
    while step < steps:
        y[i] = (x[(i + n - 1) % n] + 2 * x[i] + x[(i + 1) % n]) % 1009
        grid_sync()
        x[i] = y[i]
        acc += y[i]
        grid_sync()
        step += 1
    out[i] = acc


@kernel
def grid_sync_when_enabled(x: i32[:], out: i32[:], enabled: i32):
    """A grid barrier under a condition every thread of the grid agrees on (a kernel parameter)."""
    i = global_id()
    n = global_size()
    if enabled != 0:
        x[i] = x[i] * 3 + 1
        grid_sync()
        out[i] = x[(i + block_dim_x()) % n]
    else:
        out[i] = -1


@kernel
def local_array_across_grid_sync(x: i32[:], out: i32[:], rounds: i32):
    """A per-thread local array filled across grid barriers inside a loop: each round reads the
    next block's value, then every thread of the grid increments its own."""
    i = global_id()
    n = global_size()
    hist = local_array(3, i32)
    for j in range(3):
        hist[j] = 0
    for r in range(rounds):
        hist[r % 3] += x[(i + block_dim_x()) % n]
        grid_sync()
        x[i] += 1
        grid_sync()
    out[i] = hist[0] + 100 * hist[1] + 10000 * hist[2]


# ---------------------------------------------------------------- shared arrays and tuples in device functions
@device
def own_buffer_rotate(t: i32, v: i32, by: i32) -> i32:
    """A device function with its own shared array (one per block, as CUDA's __shared__ there)."""
    buf = shared_array(BLOCK, i32)
    buf[t] = v
    sync_threads()
    w = buf[(t + by) % BLOCK]
    sync_threads()
    return w


@kernel
def shared_array_in_device(x: i32[:], out: i32[:]):
    """Called twice: both calls use the same block-wide buffer (hence the second barrier)."""
    i = global_id()
    t = thread_idx_x()
    out[i] = own_buffer_rotate(t, x[i], 1) + 100 * own_buffer_rotate(t, x[i], 2)


@device
def scratch_square(t: i32, v: i32) -> i32:
    """A shared scratch slot per thread, no barrier: still one array per block."""
    slot = shared_array(BLOCK, i32)
    slot[t] = v * v
    return slot[t] + 1


@kernel
def shared_scratch_in_device(x: i32[:], out: i32[:]):
    i = global_id()
    out[i] = scratch_square(thread_idx_x(), x[i])


@device
def neighbours(buf: i32[:], t: i32, v: i32):
    """A tuple computed across a barrier: the left and right neighbours' values."""
    buf[t] = v
    sync_threads()
    left = buf[(t + BLOCK - 1) % BLOCK]
    right = buf[(t + 1) % BLOCK]
    sync_threads()
    if t == 0:
        return right, left          # an early return of a tuple
    return left, right


@kernel
def tuple_across_barrier(x: i32[:], out: i32[:]):
    buf = shared_array(BLOCK, i32)
    i = global_id()
    t = thread_idx_x()
    lo, hi = neighbours(buf, t, x[i])
    out[i] = lo * 100 + hi


# Launches and arguments these kernels are written for (the convention: basic_kernels.GEOMETRY).
GEOMETRY = {
    "rotate_via_device": (3, BLOCK),               # shared buf of BLOCK, indexed by thread
    "nested_device_barriers": (3, BLOCK),
    "offset_by_block_total": (2, BLOCK),
    "device_early_return": (2, BLOCK),
    "local_array_across_barrier": (2, BLOCK),
    "local_array_in_device": (2, BLOCK),
    "warp_collectives_in_device": (2, 64),         # whole 32-lane warps
    "block_collectives_in_device": (3, 64),
    "warp_uniform_if": (2, 64),                    # two warps per block take different branches
    "warp_dependent_trip_count": (2, 96),          # three warps, 1 to 3 rounds
    "warp_divergent_break": (2, 64),
    "device_collective_in_one_warp": (2, 64),
    "warp_region_loops": (2, 96),                  # three warps: 2, 3 (returns in round 2) and 4 rounds
    "half_warp_shuffle": (2, 64),
    "half_warp_ballot": (2, 64),
    "sequential_rows": (2, BLOCK),                 # cooperative: every block resident
    "grid_smoothing": (3, BLOCK),
    "grid_sync_when_enabled": (3, BLOCK),
    "local_array_across_grid_sync": (3, BLOCK),
    "shared_array_in_device": (3, BLOCK),
    "shared_scratch_in_device": (2, BLOCK),
    "tuple_across_barrier": (3, BLOCK),
}

ARGS = {
    "device_early_return": {"shift": 3},
    "warp_divergent_break": {"limit": 500},        # a few rounds per warp, no overflow
    "sequential_rows": {"m": (6, 64)},             # one column per thread of the grid
    "grid_smoothing": {"steps": 4},
    "grid_sync_when_enabled": {"enabled": 1},
    "local_array_across_grid_sync": {"rounds": 5},
}

ALL = [rotate_via_device, nested_device_barriers, offset_by_block_total, device_early_return,
       local_array_across_barrier, local_array_in_device, warp_collectives_in_device, block_collectives_in_device,
       warp_uniform_if, warp_dependent_trip_count, warp_divergent_break, device_collective_in_one_warp,
       warp_region_loops, half_warp_shuffle, half_warp_ballot, sequential_rows, grid_smoothing, grid_sync_when_enabled,
       local_array_across_grid_sync, shared_array_in_device, shared_scratch_in_device, tuple_across_barrier]
