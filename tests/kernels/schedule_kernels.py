"""Kernels whose CPU schedule differs from thread-by-thread (emit/cpu_schedule.py): grid-stride
loops run interchanged with the thread loop, loops of a segment likewise, block-uniform locals as one
value per block, thread-index locals recomputed. tests/test_cpu_schedule.py checks each against
NumPy on cpu and in the numba simulator; tools/gpu_check.py against the cpu reference on a GPU."""
from ringkernel_codegen import f32, i32, kernel, u8
from ringkernel_codegen.dsl import (atomic_add, block_dim_x, block_dim_y, block_idx_x, global_id, grid_dim_x,
                                    shared_array, sync_threads, thread_idx_x, thread_idx_y)

BLOCK = 32
TILE = 8


# ---------------------------------------------------------------- grid-stride loops (no barrier)
@kernel
def gs_axpy(a: f32, x: f32[:], y: f32[:], n: i32):
    for i in range(global_id(), n, grid_dim_x() * block_dim_x()):
        y[i] = a * x[i] + y[i]


@kernel
def gs_partial_sums(x: f32[:], part: f32[:], n: i32):
    """An accumulator carried across the iterations, a nested `if` with `continue` of an inner loop,
    and the total stored after the loop."""
    g = global_id()
    acc = f32(0.0)
    for i in range(g, n, grid_dim_x() * block_dim_x()):
        v = x[i]
        for r in range(2):
            if v < 0.0:
                continue
            acc += v
    part[g] = acc


@kernel
def gs_backwards(x: i32[:], y: i32[:], n: i32):
    """A negative step; threads whose start lies below zero run no iteration."""
    g = global_id()
    for i in range(n - 1 - g, -1, -(grid_dim_x() * block_dim_x())):
        y[i] = x[i] * 2 + g


@kernel
def gs_own_stop(y: i32[:], n: i32):
    """The stop differs between threads (each thread's own trip count)."""
    g = global_id()
    for i in range(g, n - g % 3, grid_dim_x() * block_dim_x()):
        y[i] += g + 1


@kernel
def gs_step(y: i32[:], n: i32, step: i32):
    """The step is a parameter: zero must be refused, not skipped (threads' ranges overlap when the
    step is below the thread count: atomics keep that well defined)."""
    for i in range(global_id(), n, step):
        atomic_add(y, i, 1)


@kernel
def gs_map_2d_block(x: f32[:], y: f32[:], n: i32):
    """A 2-D block (the flat index by hand), a temporary assigned first in each iteration, and a
    nested loop of its own: still a grid-stride map (emit/cpu_gridmap.py)."""
    t = thread_idx_y() * block_dim_x() + thread_idx_x()
    start = block_idx_x() * block_dim_x() * block_dim_y() + t
    stride = grid_dim_x() * block_dim_x() * block_dim_y()
    for i in range(start, n, stride):
        v = x[i]
        for r in range(3):
            v = v * 0.5 + 1.0
        y[i] = v


@kernel
def gs_carry_prefix(y: i32[:], n: i32):
    """Each iteration reads what the same thread wrote in its previous one (a strided prefix sum):
    a thread's iterations must run in order, whatever the schedule."""
    stride = grid_dim_x() * block_dim_x()
    for i in range(global_id() + stride, n, stride):
        y[i] += y[i - stride]


@kernel
def gs_accumulate_in_memory(x: i32[:], out: i32[:], n: i32):
    """The thread's running total lives in memory (out[g]), not in a local."""
    g = global_id()
    for i in range(g, n, grid_dim_x() * block_dim_x()):
        out[g] += x[i]


@kernel
def gs_var_after_loop(y: i32[:], n: i32):
    """The loop variable is read after the loop (its last value): not interchanged."""
    g = global_id()
    i = -1
    for i in range(g, n, grid_dim_x() * block_dim_x()):
        y[i] = 1
    if g < n:
        y[g] = i


@kernel
def gs_early_return(x: i32[:], y: i32[:], n: i32):
    """Threads that returned before the loop take no part in it."""
    g = global_id()
    if g % 4 == 3:
        return
    for i in range(g, n, grid_dim_x() * block_dim_x()):
        y[i] = x[i] + 1


# ---------------------------------------------------------------- global_id() only: one flat loop
@kernel
def flat_clamp(x: f32[:], y: f32[:], n: i32):
    """Threads told apart by global_id() alone (a 1-D launch runs as one loop over it); an early
    return and a loop of the thread's own."""
    i = global_id()
    if i >= n:
        return
    v = x[i]
    for r in range(2):
        if v > 1.0:
            v = 1.0
        v = v * v
    y[i] = v


@kernel
def lane_parity(y: i32[:], n: i32):
    """thread_idx_x() as well: the block-by-block loops (no flat loop)."""
    i = global_id()
    if i < n:
        y[i] = i * 10 + thread_idx_x() % 2


# ---------------------------------------------------------------- barriers: block scalars, loops
# (the tree reduction with a block-scalar stride is barrier_kernels.tree_reduce)
@kernel
def scan_hillis_steele(x: i32[:], out: i32[:]):
    """Inclusive block scan: the distance doubles in a loop holding two barriers."""
    buf = shared_array(BLOCK, i32)
    t = thread_idx_x()
    buf[t] = x[global_id()]
    sync_threads()
    d = 1
    while d < block_dim_x():
        v = 0
        if t >= d:
            v = buf[t - d]
        sync_threads()
        buf[t] += v
        sync_threads()
        d *= 2
    out[global_id()] = buf[t]


@kernel
def tiled_matmul(a: f32[:, :], b: f32[:, :], c: f32[:, :], n: i32):
    """The shared-tile product: the inner `k` loop runs interchanged with the threads."""
    sa = shared_array((TILE, TILE), f32)
    sb = shared_array((TILE, TILE), f32)
    tx = thread_idx_x()
    ty = thread_idx_y()
    row = ty
    col = tx
    acc = f32(0.0)
    for k0 in range(0, n, TILE):
        sa[ty, tx] = a[row, k0 + tx]
        sb[ty, tx] = b[k0 + ty, col]
        sync_threads()
        for k in range(TILE):
            acc += sa[ty, k] * sb[k, tx]
        sync_threads()
    c[row, col] = acc


@kernel
def block_histogram(x: i32[:], hist: i32[:], n: i32):
    """Shared-memory atomics in a grid-stride loop between two barriers."""
    h = shared_array(BLOCK, i32)
    t = thread_idx_x()
    h[t] = 0
    sync_threads()
    for j in range(global_id(), n, grid_dim_x() * block_dim_x()):
        atomic_add(h, x[j] % BLOCK, 1)
    sync_threads()
    atomic_add(hist, t, h[t])


@kernel
def guard_through_u8(y: i32[:], s: i32):
    """`if u8(t) < s`: the 8-bit conversion wraps thread 256 to 0, so threads 256.. pass too."""
    buf = shared_array(512, i32)
    t = thread_idx_x()
    buf[t] = 0
    sync_threads()
    if u8(t) < s:
        buf[t] = 1
    sync_threads()
    y[block_idx_x() * block_dim_x() + t] = buf[t]


@kernel
def window_sums(x: f32[:], out: f32[:], w: i32):
    """Each thread sums the w values from its index on: after a barrier, the window loop runs
    interchanged (bounds-checked: probed ahead, its reads leave x when the window passes the end)."""
    buf = shared_array(BLOCK, f32)
    t = thread_idx_x()
    buf[t] = 0.0
    sync_threads()
    g = global_id()
    acc = buf[t]
    for k in range(w):
        acc += x[g + k]
    out[g] = acc


@kernel
def returns_then_barrier(x: i32[:], out: i32[:], n: i32):
    """A thread may end before a barrier (allowed when no later barrier needs it to arrive): the
    live threads' loop between the barriers still runs for them only."""
    buf = shared_array(BLOCK, i32)
    t = thread_idx_x()
    buf[t] = x[global_id()]
    sync_threads()
    if t >= n:
        return
    acc = 0
    for k in range(n):
        acc += buf[k]
    out[global_id()] = acc


# Launches and arguments (the corpus convention: basic_kernels.GEOMETRY / ARGS)
GEOMETRY = {
    "gs_axpy": (3, BLOCK),
    "gs_partial_sums": (3, BLOCK),
    "gs_backwards": (3, BLOCK),
    "gs_own_stop": (3, BLOCK),
    "gs_step": (3, BLOCK),
    "gs_map_2d_block": (3, (8, 4)),
    "gs_carry_prefix": (3, BLOCK),
    "gs_accumulate_in_memory": (3, BLOCK),
    "gs_var_after_loop": (3, BLOCK),
    "gs_early_return": (3, BLOCK),
    "flat_clamp": (3, BLOCK),
    "lane_parity": (3, BLOCK),
    "scan_hillis_steele": (2, BLOCK),
    "tiled_matmul": (1, (TILE, TILE)),
    "block_histogram": (2, BLOCK),
    "guard_through_u8": (2, 512),
    "window_sums": (2, BLOCK),
    "returns_then_barrier": (2, BLOCK),
}

ARGS = {
    "gs_axpy": {"x": (500,), "y": (500,), "n": 500},
    "gs_partial_sums": {"x": (500,), "part": (96,), "n": 500},
    "gs_backwards": {"x": (500,), "y": (500,), "n": 500},
    "gs_own_stop": {"y": (500,), "n": 500},
    "gs_step": {"y": (500,), "n": 500, "step": 96},
    "gs_map_2d_block": {"x": (500,), "y": (500,), "n": 500},
    "gs_carry_prefix": {"y": (500,), "n": 500},
    "gs_accumulate_in_memory": {"x": (500,), "out": (96,), "n": 500},
    "gs_var_after_loop": {"y": (500,), "n": 500},
    "gs_early_return": {"x": (500,), "y": (500,), "n": 500},
    "flat_clamp": {"x": (90,), "y": (90,), "n": 90},
    "lane_parity": {"y": (90,), "n": 90},
    "tiled_matmul": {"a": (TILE, 24), "b": (24, TILE), "c": (TILE, TILE), "n": 24},
    "block_histogram": {"x": (300,), "hist": (BLOCK,), "n": 300},
    "guard_through_u8": {"y": (1024,), "s": 10},
    "window_sums": {"x": (2 * BLOCK + 4,), "out": (2 * BLOCK,), "w": 5},
    "returns_then_barrier": {"n": 20},
}

ALL = [gs_axpy, gs_partial_sums, gs_backwards, gs_own_stop, gs_step, gs_map_2d_block, gs_carry_prefix, gs_accumulate_in_memory,
       gs_var_after_loop, gs_early_return, flat_clamp, lane_parity,
       scan_hillis_steele, tiled_matmul, block_histogram, guard_through_u8, window_sums,
       returns_then_barrier]
