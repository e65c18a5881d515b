"""Well-formed kernels used by test_kernels.py, test_emit_cuda.py and the simulator tests.

Each kernel is small and exercises one language feature; references live in the tests.
"""
import math

from ringkernel_codegen import device, f32, f64, i32, i64, kernel
from ringkernel_codegen.dsl import (
    atomic_add, block_dim_x, block_dim_y, block_dim_z, block_idx_x, block_idx_y, block_idx_z, global_id,
    shared_array, sync_threads, thread_idx_x, thread_idx_y, thread_idx_z,
)

SCALE = 3
OFFSET = 0.5
TILE = 8
BLOCK = 64
NBINS = 8


@kernel
def saxpy(a: f32, x: f32[:], y: f32[:], n: i32):
    i = global_id()
    if i < n:
        y[i] = a * x[i] + y[i]


@kernel
def fill_2d(out: i32[:, :]):
    x = block_idx_x() * block_dim_x() + thread_idx_x()
    y = block_idx_y() * block_dim_y() + thread_idx_y()
    if y < out.shape[0] and x < out.shape[1]:
        out[y, x] = y * 1000 + x


@kernel
def fill_3d(out: i32[:, :, :]):
    x = block_idx_x() * block_dim_x() + thread_idx_x()
    y = block_idx_y() * block_dim_y() + thread_idx_y()
    z = block_idx_z() * block_dim_z() + thread_idx_z()
    if z < out.shape[0] and y < out.shape[1] and x < out.shape[2]:
        out[z, y, x] = z * 10000 + y * 100 + x


@kernel
def block_sum(x: f32[:], out: f32[:]):
    buf = shared_array(BLOCK, f32)
    t = thread_idx_x()
    buf[t] = x[block_idx_x() * BLOCK + t]
    sync_threads()
    for level in range(6):
        s = BLOCK >> (level + 1)
        if t < s:
            buf[t] += buf[t + s]
        sync_threads()
    if t == 0:
        out[block_idx_x()] = buf[0]


@kernel
def transpose(a: f32[:, :], out: f32[:, :]):
    tile = shared_array((TILE, TILE), f32)
    tx = thread_idx_x()
    ty = thread_idx_y()
    x = block_idx_x() * TILE + tx
    y = block_idx_y() * TILE + ty
    if y < a.shape[0] and x < a.shape[1]:
        tile[ty, tx] = a[y, x]
    sync_threads()
    ox = block_idx_y() * TILE + tx
    oy = block_idx_x() * TILE + ty
    if oy < out.shape[0] and ox < out.shape[1]:
        out[oy, ox] = tile[tx, ty]


@kernel
def histogram(values: i32[:], hist: i32[:], olds: i32[:], n: i32):
    i = global_id()
    if i < n:
        olds[i] = atomic_add(hist, values[i] % NBINS, 1)


@kernel
def sum_until_negative(x: f32[:], out: f32[:], n: i32):
    """Per row of 8: skip zeros (continue), stop at the first negative value (break)."""
    row = global_id()
    if row >= n:
        return
    acc = f32(0.0)
    for j in range(8):
        v = x[row * 8 + j]
        if v == 0.0:
            continue
        if v < 0.0:
            break
        acc += v
    out[row] = acc


@kernel
def count_down(start: i32[:], steps: i32[:], n: i32):
    i = global_id()
    if i < n:
        k = start[i]
        c = 0
        while k > 0:
            k -= 3
            c += 1
        steps[i] = c


@kernel
def classify(x: f32[:], out: i32[:], n: i32):
    i = global_id()
    if i < n:
        v = x[i]
        if v < -1.0:
            out[i] = -2
        elif v < 0.0:
            out[i] = -1
        elif v == 0.0:
            out[i] = 0
        else:
            out[i] = 1


@kernel
def absolute(x: f32[:], out: f32[:], n: i32):
    i = global_id()
    if i < n:
        out[i] = x[i] if x[i] >= 0.0 else -x[i]


@device
def square(v: f32) -> f32:
    return v * v


def cube(v: f32) -> f32:
    return square(v) * v


@kernel
def poly(x: f32[:], out: f32[:], n: i32):
    i = global_id()
    if i < n:
        out[i] = cube(x[i]) + square(x[i]) + 1.0


@kernel
def scale_offset(x: f64[:], out: f64[:], n: i32):
    i = global_id()
    if i < n:
        out[i] = x[i] * SCALE + OFFSET


@kernel
def shapes(a: f32[:, :], x: f32[:], out: i64[:]):
    if global_id() == 0:
        out[0] = a.shape[0]
        out[1] = a.shape[1]
        out[2] = len(x)
        out[3] = len(a)


@kernel
def early_return(x: f32[:], out: f32[:], n: i32):
    i = global_id()
    if i >= n:
        return
    if x[i] < 0.0:
        return
    out[i] = math.sqrt(x[i])


@kernel
def thread_ids(out: i32[:, :]):
    """Record (tx, ty, tz, bx, by, bz) for every thread of a 3D launch."""
    flat_block = (block_idx_z() * 2 + block_idx_y()) * 2 + block_idx_x()
    flat_thread = (thread_idx_z() * block_dim_y() + thread_idx_y()) * block_dim_x() + thread_idx_x()
    row = flat_block * (block_dim_x() * block_dim_y() * block_dim_z()) + flat_thread
    out[row, 0] = thread_idx_x()
    out[row, 1] = thread_idx_y()
    out[row, 2] = thread_idx_z()
    out[row, 3] = block_idx_x()
    out[row, 4] = block_idx_y()
    out[row, 5] = block_idx_z()


@kernel
def sum_i64(x: i64[:], out: i64[:], n: i32):
    if global_id() == 0:
        acc: i64 = 0
        for j in range(n):
            acc += x[j]
        out[0] = acc


# The launch each kernel is written for, where it assumes one: name -> (grid, block). Shared arrays
# sized to the block, warp/block collectives and fixed thread counts need their entry; a kernel not
# listed is correct under any 1D launch whose threads its arrays cover. tools/gpu_check.py and
# tests/sim/test_numba_corpus.py launch every corpus kernel this way (each corpus module has both
# dicts; test_gpu_check.py checks that the kernels which need an entry have one).
GEOMETRY = {
    "fill_2d": ((2, 2), (8, 8)),               # a 2D launch: the default 1D one fills row 0 only
    "fill_3d": ((2, 2, 2), (4, 4, 4)),
    "block_sum": (2, BLOCK),                   # shared buf of BLOCK, indexed by thread
    "transpose": ((2, 2), (TILE, TILE)),       # shared TILE x TILE tile, indexed by (ty, tx)
    "thread_ids": ((2, 2, 2), (2, 2, 2)),      # flat_block assumes a 2 x 2 x 2 grid
}

# Arguments a kernel needs that a checker synthesising one array element per thread launched (and
# integer scalars such as n = the array size) would get wrong: name -> {param: array shape, or the
# value of a scalar}. Array shapes cover the kernel's GEOMETRY (or any launch when it has none).
ARGS = {
    "fill_2d": {"out": (12, 13)},                    # not a multiple of the block: the guards matter
    "fill_3d": {"out": (5, 6, 7)},
    "transpose": {"a": (16, 16), "out": (16, 16)},   # the 2 x 2 tiles of GEOMETRY
    "thread_ids": {"out": (64, 6)},                  # one row per thread of GEOMETRY (unguarded)
    "sum_until_negative": {"x": (512,), "n": 64},    # 8 values per row
}

ALL = [saxpy, fill_2d, fill_3d, block_sum, transpose, histogram, sum_until_negative, count_down, classify,
       absolute, poly, scale_offset, shapes, early_return, thread_ids, sum_i64]
