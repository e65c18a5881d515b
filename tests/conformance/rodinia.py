"""Rodinia 3.1 (CUDA) kernels ported to ringkernel, each beside its original host driver.

Source: JuliaParallel/rodinia, folder cuda/ (the original Rodinia CUDA sources the Julia port is
checked against; commit 0f47cfc2f35034405973703fbb6d2c77a25439c0 unless noted). The #define'd block
sizes are module constants; host drivers follow the original host code at small sizes.
"""
import math

import numpy as np

from ringkernel_codegen import boolean, device, f32, i32, kernel, u32
from ringkernel_codegen.dsl import (
    block_dim_x, block_dim_y, block_idx_x, block_idx_y, fast_log2, fast_pow, grid_dim_x, grid_dim_y,
    shared_array, sync_threads, thread_idx_x, thread_idx_y,
)

from .case_support import Case, cdiv

SRC = "JuliaParallel/rodinia cuda/"
FLT_MAX = 3.402823466e+38


def _rng(seed):
    return np.random.default_rng(seed)


@device
def IN_RANGE(x: i32, lo: i32, hi: i32) -> boolean:  # PORT: the macro IN_RANGE(x, min, max) as a @device function
    return (x >= lo) and (x <= hi)


# ============================================================================ hotspot
# Source: JuliaParallel/rodinia cuda/hotspot/hotspot.cu (calculate_temp, compute_tran_temp)
HOTSPOT_BLOCK_SIZE = 16  # BLOCK_SIZE


@kernel
def calculate_temp(iteration: i32, power: f32[:], temp_src: f32[:], temp_dst: f32[:], grid_cols: i32,
                   grid_rows: i32, border_cols: i32, border_rows: i32, Cap: f32, Rx: f32, Ry: f32, Rz: f32,
                   step: f32, time_elapsed: f32):
    temp_on_cuda = shared_array((HOTSPOT_BLOCK_SIZE, HOTSPOT_BLOCK_SIZE), f32)
    power_on_cuda = shared_array((HOTSPOT_BLOCK_SIZE, HOTSPOT_BLOCK_SIZE), f32)
    temp_t = shared_array((HOTSPOT_BLOCK_SIZE, HOTSPOT_BLOCK_SIZE), f32)  # saving temparary temperature result

    amb_temp: f32 = 80.0

    bx = block_idx_x()
    by = block_idx_y()

    tx = thread_idx_x()
    ty = thread_idx_y()

    step_div_Cap = step / Cap

    Rx_1 = 1 / Rx
    Ry_1 = 1 / Ry
    Rz_1 = 1 / Rz

    # each block finally computes result for a small block after N iterations.
    # it is the non-overlapping small blocks that cover all the input data

    # calculate the small block size
    small_block_rows = HOTSPOT_BLOCK_SIZE - iteration * 2  # EXPAND_RATE
    small_block_cols = HOTSPOT_BLOCK_SIZE - iteration * 2  # EXPAND_RATE

    # calculate the boundary for the block according to the boundary of its small block
    blkY = small_block_rows * by - border_rows
    blkX = small_block_cols * bx - border_cols
    blkYmax = blkY + HOTSPOT_BLOCK_SIZE - 1
    blkXmax = blkX + HOTSPOT_BLOCK_SIZE - 1

    # calculate the global thread coordination
    yidx = blkY + ty
    xidx = blkX + tx

    # load data if it is within the valid input range
    loadYidx = yidx
    loadXidx = xidx
    index = grid_cols * loadYidx + loadXidx

    if IN_RANGE(loadYidx, 0, grid_rows - 1) and IN_RANGE(loadXidx, 0, grid_cols - 1):
        temp_on_cuda[ty, tx] = temp_src[index]  # Load the temperature data from global memory to shared memory
        power_on_cuda[ty, tx] = power[index]  # Load the power data from global memory to shared memory
    sync_threads()

    # effective range within this block that falls within the valid range of the input data
    # used to rule out computation outside the boundary.
    validYmin = -blkY if (blkY < 0) else 0
    validYmax = (HOTSPOT_BLOCK_SIZE - 1 - (blkYmax - grid_rows + 1)) if (blkYmax > grid_rows - 1) else HOTSPOT_BLOCK_SIZE - 1
    validXmin = -blkX if (blkX < 0) else 0
    validXmax = (HOTSPOT_BLOCK_SIZE - 1 - (blkXmax - grid_cols + 1)) if (blkXmax > grid_cols - 1) else HOTSPOT_BLOCK_SIZE - 1

    N = ty - 1
    S = ty + 1
    W = tx - 1
    E = tx + 1

    N = validYmin if (N < validYmin) else N
    S = validYmax if (S > validYmax) else S
    W = validXmin if (W < validXmin) else W
    E = validXmax if (E > validXmax) else E

    computed = False  # PORT: `bool computed;` (a local needs a value; the loop sets it before any read)
    for i in range(iteration):
        computed = False
        if (IN_RANGE(tx, i + 1, HOTSPOT_BLOCK_SIZE - i - 2) and IN_RANGE(ty, i + 1, HOTSPOT_BLOCK_SIZE - i - 2)
                and IN_RANGE(tx, validXmin, validXmax) and IN_RANGE(ty, validYmin, validYmax)):
            computed = True
            temp_t[ty, tx] = temp_on_cuda[ty, tx] + step_div_Cap * (
                power_on_cuda[ty, tx]
                + (temp_on_cuda[S, tx] + temp_on_cuda[N, tx] - 2.0 * temp_on_cuda[ty, tx]) * Ry_1
                + (temp_on_cuda[ty, E] + temp_on_cuda[ty, W] - 2.0 * temp_on_cuda[ty, tx]) * Rx_1
                + (amb_temp - temp_on_cuda[ty, tx]) * Rz_1)
        sync_threads()
        if i == iteration - 1:
            break
        if computed:  # Assign the computation range
            temp_on_cuda[ty, tx] = temp_t[ty, tx]
        sync_threads()

    # update the global memory
    # after the last iteration, only threads coordinated within the small block perform the
    # calculation and switch on ``computed''
    if computed:
        temp_dst[index] = temp_t[ty, tx]


# chip parameters (hotspot.cu globals and #defines)
T_CHIP = 0.0005
CHIP_HEIGHT = 0.016
CHIP_WIDTH = 0.016
MAX_PD = 3.0e6
PRECISION = 0.001
SPEC_HEAT_SI = 1.75e6
K_SI = 100
FACTOR_CHIP = 0.5


def _hotspot_params(rows, cols):
    grid_height = np.float32(CHIP_HEIGHT / rows)
    grid_width = np.float32(CHIP_WIDTH / cols)
    Cap = np.float32(FACTOR_CHIP * SPEC_HEAT_SI * T_CHIP * grid_width * grid_height)
    Rx = np.float32(grid_width / (2.0 * K_SI * T_CHIP * grid_height))
    Ry = np.float32(grid_height / (2.0 * K_SI * T_CHIP * grid_width))
    Rz = np.float32(T_CHIP / (K_SI * grid_height * grid_width))
    max_slope = np.float32(MAX_PD / (FACTOR_CHIP * T_CHIP * SPEC_HEAT_SI))
    step = np.float32(PRECISION / max_slope)
    return Cap, Rx, Ry, Rz, step


def _build_hotspot(size):
    n, pyramid, total = (48, 2, 5) if size == "cpu" else (20, 2, 3)
    r = _rng(11)
    return dict(rows=n, cols=n, pyramid_height=pyramid, total_iterations=total,
                temp=(323.0 + 20.0 * r.random(n * n)).astype(np.float32),
                power=(1e-3 * r.random(n * n)).astype(np.float32))


def _geo_hotspot(d):
    # run(): borderCols = pyramid_height * EXPAND_RATE / 2, smallBlockCol = BLOCK_SIZE - pyramid_height * EXPAND_RATE
    small = HOTSPOT_BLOCK_SIZE - d["pyramid_height"] * 2
    blockCols = d["cols"] // small + (0 if d["cols"] % small == 0 else 1)
    blockRows = d["rows"] // small + (0 if d["rows"] % small == 0 else 1)
    return {"calculate_temp": ((blockCols, blockRows), (HOTSPOT_BLOCK_SIZE, HOTSPOT_BLOCK_SIZE))}


def _run_hotspot(go, d):  # compute_tran_temp
    grid, block = _geo_hotspot(d)["calculate_temp"]
    rows, cols, ph, total = d["rows"], d["cols"], d["pyramid_height"], d["total_iterations"]
    border = ph * 2 // 2
    Cap, Rx, Ry, Rz, step = _hotspot_params(rows, cols)
    MatrixTemp = [d["temp"], np.zeros_like(d["temp"])]
    src, dst = 1, 0
    t = 0
    while t < total:
        src, dst = dst, src
        go(calculate_temp, grid, block)(min(ph, total - t), d["power"], MatrixTemp[src], MatrixTemp[dst], cols,
                                        rows, border, border, Cap, Rx, Ry, Rz, step, np.float32(0.001))
        t += ph
    return {"temp": MatrixTemp[dst]}


def _ref_hotspot(d):
    rows, cols = d["rows"], d["cols"]
    Cap, Rx, Ry, Rz, step = (np.float64(v) for v in _hotspot_params(rows, cols))
    T = d["temp"].reshape(rows, cols).astype(np.float64)
    P = d["power"].reshape(rows, cols)
    for _ in range(d["total_iterations"]):
        p = np.pad(T, 1, mode="edge")  # N/S/E/W clamp to the valid range at the chip's edge
        Nn, Ss, Ww, Ee = p[:-2, 1:-1], p[2:, 1:-1], p[1:-1, :-2], p[1:-1, 2:]
        T = T + step / Cap * (P + (Ss + Nn - 2.0 * T) / Ry + (Ee + Ww - 2.0 * T) / Rx + (80.0 - T) / Rz)
    return {"temp": T.ravel()}


# ============================================================================ pathfinder
# Source: JuliaParallel/rodinia cuda/pathfinder/pathfinder.cu (dynproc_kernel, calc_path)
PATHFINDER_BLOCK_SIZE = 256  # BLOCK_SIZE
HALO = 1  # halo width along one direction when advancing to the next iteration


@kernel
def dynproc_kernel(iteration: i32, gpuWall: i32[:], gpuSrc: i32[:], gpuResults: i32[:], cols: i32, rows: i32,
                   startStep: i32, border: i32):
    prev = shared_array(PATHFINDER_BLOCK_SIZE, i32)
    result = shared_array(PATHFINDER_BLOCK_SIZE, i32)

    bx = block_idx_x()
    tx = thread_idx_x()

    # each block finally computes result for a small block after N iterations.
    # it is the non-overlapping small blocks that cover all the input data

    # calculate the small block size
    small_block_cols = PATHFINDER_BLOCK_SIZE - iteration * HALO * 2

    # calculate the boundary for the block according to the boundary of its small block
    blkX = small_block_cols * bx - border
    blkXmax = blkX + PATHFINDER_BLOCK_SIZE - 1

    # calculate the global thread coordination
    xidx = blkX + tx

    # effective range within this block that falls within the valid range of the input data
    # used to rule out computation outside the boundary.
    validXmin = -blkX if (blkX < 0) else 0
    validXmax = (PATHFINDER_BLOCK_SIZE - 1 - (blkXmax - cols + 1)) if (blkXmax > cols - 1) else PATHFINDER_BLOCK_SIZE - 1

    W = tx - 1
    E = tx + 1

    W = validXmin if (W < validXmin) else W
    E = validXmax if (E > validXmax) else E

    isValid = IN_RANGE(tx, validXmin, validXmax)

    if IN_RANGE(xidx, 0, cols - 1):
        prev[tx] = gpuSrc[xidx]
    sync_threads()  # [Ronny] Added sync to avoid race on prev Aug. 14 2012
    computed = False  # PORT: `bool computed;` (a local needs a value; the loop sets it before any read)
    for i in range(iteration):
        computed = False
        if IN_RANGE(tx, i + 1, PATHFINDER_BLOCK_SIZE - i - 2) and isValid:
            computed = True
            left = prev[W]
            up = prev[tx]
            right = prev[E]
            shortest = min(left, up)  # PORT: the macro MIN(a, b) as min()
            shortest = min(shortest, right)
            index = cols * (startStep + i) + xidx
            result[tx] = shortest + gpuWall[index]
        sync_threads()
        if i == iteration - 1:
            break
        if computed:  # Assign the computation range
            prev[tx] = result[tx]
        sync_threads()  # [Ronny] Added sync to avoid race on prev Aug. 14 2012

    # update the global memory
    # after the last iteration, only threads coordinated within the small block perform the
    # calculation and switch on ``computed''
    if computed:
        gpuResults[xidx] = result[tx]


def _build_pathfinder(size):
    rows, cols, ph = (12, 600, 3) if size == "cpu" else (5, 300, 2)
    data = _rng(12).integers(0, 10, (rows, cols)).astype(np.int32)  # wall[i][j] = rand() % 10
    return dict(rows=rows, cols=cols, pyramid_height=ph, data=data)


def _geo_pathfinder(d):
    smallBlockCol = PATHFINDER_BLOCK_SIZE - d["pyramid_height"] * HALO * 2
    blockCols = d["cols"] // smallBlockCol + (0 if d["cols"] % smallBlockCol == 0 else 1)
    return {"dynproc_kernel": (blockCols, PATHFINDER_BLOCK_SIZE)}


def _run_pathfinder(go, d):  # run() + calc_path
    grid, block = _geo_pathfinder(d)["dynproc_kernel"]
    rows, cols, ph = d["rows"], d["cols"], d["pyramid_height"]
    borderCols = ph * HALO
    gpuResult = [d["data"][0].copy(), np.zeros(cols, np.int32)]
    gpuWall = d["data"][1:].ravel().copy()
    src, dst = 1, 0
    for t in range(0, rows - 1, ph):
        src, dst = dst, src
        go(dynproc_kernel, grid, block)(min(ph, rows - t - 1), gpuWall, gpuResult[src], gpuResult[dst], cols, rows,
                                        t, borderCols)
    return {"result": gpuResult[dst]}


def _ref_pathfinder(d):
    data = d["data"].astype(np.int64)
    res = data[0].copy()
    for r in range(1, d["rows"]):
        p = np.pad(res, 1, mode="edge")
        res = np.minimum(np.minimum(p[:-2], p[1:-1]), p[2:]) + data[r]
    return {"result": res.astype(np.int32)}


# ============================================================================ nw (Needleman-Wunsch)
# Source: JuliaParallel/rodinia cuda/nw/needle_kernel.cu (maximum, needle_cuda_shared_1/2) and
# cuda/nw/needle.cu (runTest)
NW_BLOCK_SIZE = 16  # BLOCK_SIZE (needle.h)


@device
def maximum(a: i32, b: i32, c: i32) -> i32:
    if a <= b:
        k = b
    else:
        k = a

    if k <= c:
        return c
    else:
        return k


@kernel
def needle_cuda_shared_1(referrence: i32[:], matrix_cuda: i32[:], cols: i32, penalty: i32, i: i32,
                         block_width: i32):
    bx = block_idx_x()
    tx = thread_idx_x()

    b_index_x = bx
    b_index_y = i - 1 - bx

    index = cols * NW_BLOCK_SIZE * b_index_y + NW_BLOCK_SIZE * b_index_x + tx + (cols + 1)
    index_n = cols * NW_BLOCK_SIZE * b_index_y + NW_BLOCK_SIZE * b_index_x + tx + (1)
    index_w = cols * NW_BLOCK_SIZE * b_index_y + NW_BLOCK_SIZE * b_index_x + (cols)
    index_nw = cols * NW_BLOCK_SIZE * b_index_y + NW_BLOCK_SIZE * b_index_x

    temp = shared_array((NW_BLOCK_SIZE + 1, NW_BLOCK_SIZE + 1), i32)
    ref = shared_array((NW_BLOCK_SIZE, NW_BLOCK_SIZE), i32)

    if tx == 0:
        temp[tx, 0] = matrix_cuda[index_nw]

    for ty in range(NW_BLOCK_SIZE):
        ref[ty, tx] = referrence[index + cols * ty]

    sync_threads()

    temp[tx + 1, 0] = matrix_cuda[index_w + cols * tx]

    sync_threads()

    temp[0, tx + 1] = matrix_cuda[index_n]

    sync_threads()

    for m in range(NW_BLOCK_SIZE):
        if tx <= m:
            t_index_x = tx + 1
            t_index_y = m - tx + 1

            temp[t_index_y, t_index_x] = maximum(temp[t_index_y - 1, t_index_x - 1] + ref[t_index_y - 1, t_index_x - 1],
                                                 temp[t_index_y, t_index_x - 1] - penalty,
                                                 temp[t_index_y - 1, t_index_x] - penalty)

        sync_threads()

    for m in range(NW_BLOCK_SIZE - 2, -1, -1):
        if tx <= m:
            t_index_x = tx + NW_BLOCK_SIZE - m
            t_index_y = NW_BLOCK_SIZE - tx

            temp[t_index_y, t_index_x] = maximum(temp[t_index_y - 1, t_index_x - 1] + ref[t_index_y - 1, t_index_x - 1],
                                                 temp[t_index_y, t_index_x - 1] - penalty,
                                                 temp[t_index_y - 1, t_index_x] - penalty)

        sync_threads()

    for ty in range(NW_BLOCK_SIZE):
        matrix_cuda[index + ty * cols] = temp[ty + 1, tx + 1]


@kernel
def needle_cuda_shared_2(referrence: i32[:], matrix_cuda: i32[:], cols: i32, penalty: i32, i: i32,
                         block_width: i32):
    bx = block_idx_x()
    tx = thread_idx_x()

    b_index_x = bx + block_width - i
    b_index_y = block_width - bx - 1

    index = cols * NW_BLOCK_SIZE * b_index_y + NW_BLOCK_SIZE * b_index_x + tx + (cols + 1)
    index_n = cols * NW_BLOCK_SIZE * b_index_y + NW_BLOCK_SIZE * b_index_x + tx + (1)
    index_w = cols * NW_BLOCK_SIZE * b_index_y + NW_BLOCK_SIZE * b_index_x + (cols)
    index_nw = cols * NW_BLOCK_SIZE * b_index_y + NW_BLOCK_SIZE * b_index_x

    temp = shared_array((NW_BLOCK_SIZE + 1, NW_BLOCK_SIZE + 1), i32)
    ref = shared_array((NW_BLOCK_SIZE, NW_BLOCK_SIZE), i32)

    for ty in range(NW_BLOCK_SIZE):
        ref[ty, tx] = referrence[index + cols * ty]

    sync_threads()

    if tx == 0:
        temp[tx, 0] = matrix_cuda[index_nw]

    temp[tx + 1, 0] = matrix_cuda[index_w + cols * tx]

    sync_threads()

    temp[0, tx + 1] = matrix_cuda[index_n]

    sync_threads()

    for m in range(NW_BLOCK_SIZE):
        if tx <= m:
            t_index_x = tx + 1
            t_index_y = m - tx + 1

            temp[t_index_y, t_index_x] = maximum(temp[t_index_y - 1, t_index_x - 1] + ref[t_index_y - 1, t_index_x - 1],
                                                 temp[t_index_y, t_index_x - 1] - penalty,
                                                 temp[t_index_y - 1, t_index_x] - penalty)

        sync_threads()

    for m in range(NW_BLOCK_SIZE - 2, -1, -1):
        if tx <= m:
            t_index_x = tx + NW_BLOCK_SIZE - m
            t_index_y = NW_BLOCK_SIZE - tx

            temp[t_index_y, t_index_x] = maximum(temp[t_index_y - 1, t_index_x - 1] + ref[t_index_y - 1, t_index_x - 1],
                                                 temp[t_index_y, t_index_x - 1] - penalty,
                                                 temp[t_index_y - 1, t_index_x] - penalty)

        sync_threads()

    for ty in range(NW_BLOCK_SIZE):
        matrix_cuda[index + ty * cols] = temp[ty + 1, tx + 1]


def _build_nw(size):
    n = 64 if size == "cpu" else 32  # "the dimension values must be a multiple of 16"
    penalty = 10
    max_rows = max_cols = n + 1
    r = _rng(13)
    seq1, seq2 = r.integers(1, 11, max_rows), r.integers(1, 11, max_cols)  # rand() % 10 + 1
    blosum = r.integers(-4, 12, (24, 24))  # stands in for blosum62 (any score table will do)
    referrence = np.zeros((max_rows, max_cols), np.int32)
    referrence[1:, 1:] = blosum[seq1[1:, None], seq2[None, 1:]]
    items = np.zeros((max_rows, max_cols), np.int32)
    items[1:, 0] = -np.arange(1, max_rows) * penalty
    items[0, 1:] = -np.arange(1, max_cols) * penalty
    return dict(max_cols=max_cols, penalty=penalty, referrence=referrence.ravel(), matrix=items.ravel())


def _geo_nw(d):
    block_width = (d["max_cols"] - 1) // NW_BLOCK_SIZE
    return {"needle_cuda_shared_1": ("(i, 1) for i = 1 .. block_width", (NW_BLOCK_SIZE, 1)),
            "needle_cuda_shared_2": ("(i, 1) for i = block_width - 1 .. 1", (NW_BLOCK_SIZE, 1)),
            "block_width": block_width}


def _run_nw(go, d):
    g = _geo_nw(d)
    block_width, block = g["block_width"], g["needle_cuda_shared_1"][1]
    for i in range(1, block_width + 1):  # process top-left matrix
        go(needle_cuda_shared_1, (i, 1), block)(d["referrence"], d["matrix"], d["max_cols"], d["penalty"], i,
                                                block_width)
    for i in range(block_width - 1, 0, -1):  # process bottom-right matrix
        go(needle_cuda_shared_2, (i, 1), block)(d["referrence"], d["matrix"], d["max_cols"], d["penalty"], i,
                                                block_width)
    return {"matrix": d["matrix"]}


def _ref_nw(d):
    n, p = d["max_cols"], d["penalty"]
    M = d["matrix"].reshape(n, n).astype(np.int64)
    R = d["referrence"].reshape(n, n)
    for i in range(1, n):
        for j in range(1, n):
            M[i, j] = max(M[i - 1, j - 1] + R[i, j], M[i, j - 1] - p, M[i - 1, j] - p)
    return {"matrix": M.astype(np.int32).ravel()}


# ============================================================================ bfs
# Source: JuliaParallel/rodinia cuda/bfs/kernel.cu (Kernel), cuda/bfs/kernel2.cu (Kernel2), cuda/bfs/bfs.cu
MAX_THREADS_PER_BLOCK = 512


@kernel
def Kernel(g_graph_nodes: i32[:, :], g_graph_edges: i32[:], g_graph_mask: boolean[:],
           g_updating_graph_mask: boolean[:], g_graph_visited: boolean[:], g_cost: i32[:], no_of_nodes: i32):
    # PORT: Node *g_graph_nodes (struct {int starting; int no_of_edges;}) is an int[no_of_nodes][2]
    # array with the same layout: .starting is [tid, 0], .no_of_edges is [tid, 1]
    tid = block_idx_x() * MAX_THREADS_PER_BLOCK + thread_idx_x()
    if tid < no_of_nodes and g_graph_mask[tid]:
        g_graph_mask[tid] = False
        for i in range(g_graph_nodes[tid, 0], g_graph_nodes[tid, 1] + g_graph_nodes[tid, 0]):
            id = g_graph_edges[i]
            if not g_graph_visited[id]:
                g_cost[id] = g_cost[tid] + 1
                g_updating_graph_mask[id] = True


@kernel
def Kernel2(g_graph_mask: boolean[:], g_updating_graph_mask: boolean[:], g_graph_visited: boolean[:],
            g_over: boolean[:], no_of_nodes: i32):
    tid = block_idx_x() * MAX_THREADS_PER_BLOCK + thread_idx_x()
    if tid < no_of_nodes and g_updating_graph_mask[tid]:
        g_graph_mask[tid] = True
        g_graph_visited[tid] = True
        g_over[0] = True  # PORT: *g_over = true (a pointer to one bool is a 1-element array)
        g_updating_graph_mask[tid] = False


def _build_bfs(size):
    n = 1500 if size == "cpu" else 200  # the simulator: one block (n <= MAX_THREADS_PER_BLOCK), fewer launches
    r = _rng(14)
    deg = r.integers(1, 5, n)
    starting = np.concatenate([[0], np.cumsum(deg)[:-1]])
    edges = r.integers(0, n, int(deg.sum()))
    edges[starting] = np.roll(np.arange(n), -1)  # a ring through every node keeps the graph connected
    nodes = np.stack([starting, deg], axis=1).astype(np.int32)
    return dict(no_of_nodes=n, source=0, nodes=nodes, edges=edges.astype(np.int32))


def _geo_bfs(d):
    n = d["no_of_nodes"]
    num_of_blocks, num_of_threads_per_block = 1, n
    if n > MAX_THREADS_PER_BLOCK:
        num_of_blocks = int(math.ceil(n / MAX_THREADS_PER_BLOCK))
        num_of_threads_per_block = MAX_THREADS_PER_BLOCK
    g = (num_of_blocks, num_of_threads_per_block)
    return {"Kernel": g, "Kernel2": g}


def _run_bfs(go, d):  # BFSGraph
    g = _geo_bfs(d)
    n, source = d["no_of_nodes"], d["source"]
    mask = np.zeros(n, np.bool_)
    updating = np.zeros(n, np.bool_)
    visited = np.zeros(n, np.bool_)
    mask[source] = visited[source] = True
    cost = np.full(n, -1, np.int32)
    cost[source] = 0
    over = np.zeros(1, np.bool_)
    k = 0
    while True:
        over[0] = False  # if no thread changes this value then the loop stops
        go(Kernel, *g["Kernel"])(d["nodes"], d["edges"], mask, updating, visited, cost, n)
        go(Kernel2, *g["Kernel2"])(mask, updating, visited, over, n)
        k += 1
        if not over[0]:
            break
    return {"cost": cost}


def _ref_bfs(d):
    n, nodes, edges = d["no_of_nodes"], d["nodes"], d["edges"]
    cost = np.full(n, -1, np.int32)
    cost[d["source"]] = 0
    frontier = [d["source"]]
    while frontier:
        nxt = []
        for u in frontier:
            for e in edges[nodes[u, 0]:nodes[u, 0] + nodes[u, 1]]:
                if cost[e] < 0:
                    cost[e] = cost[u] + 1
                    nxt.append(e)
        frontier = nxt
    return {"cost": cost}


# ============================================================================ srad (v2)
# Source: JuliaParallel/rodinia cuda/srad/srad_v2/srad_kernel.cu (srad_cuda_1, srad_cuda_2; commit
# 9419a2136901ba0d0337f01ffa27f700d5b8057b); host loop of cuda/srad/srad_v2/srad.cu (runTest)
SRAD_BLOCK_SIZE = 16  # BLOCK_SIZE (srad.h)


@kernel
def srad_cuda_1(E_C: f32[:], W_C: f32[:], N_C: f32[:], S_C: f32[:], J_cuda: f32[:], C_cuda: f32[:], cols: i32,
                rows: i32, q0sqr: f32):
    # block id
    bx = block_idx_x()
    by = block_idx_y()

    # thread id
    tx = thread_idx_x()
    ty = thread_idx_y()

    # indices
    index = cols * SRAD_BLOCK_SIZE * by + SRAD_BLOCK_SIZE * bx + cols * ty + tx
    index_n = cols * SRAD_BLOCK_SIZE * by + SRAD_BLOCK_SIZE * bx + tx - cols
    index_s = cols * SRAD_BLOCK_SIZE * by + SRAD_BLOCK_SIZE * bx + cols * SRAD_BLOCK_SIZE + tx
    index_w = cols * SRAD_BLOCK_SIZE * by + SRAD_BLOCK_SIZE * bx + cols * ty - 1
    index_e = cols * SRAD_BLOCK_SIZE * by + SRAD_BLOCK_SIZE * bx + cols * ty + SRAD_BLOCK_SIZE

    # shared memory allocation
    temp = shared_array((SRAD_BLOCK_SIZE, SRAD_BLOCK_SIZE), f32)
    temp_result = shared_array((SRAD_BLOCK_SIZE, SRAD_BLOCK_SIZE), f32)

    north = shared_array((SRAD_BLOCK_SIZE, SRAD_BLOCK_SIZE), f32)
    south = shared_array((SRAD_BLOCK_SIZE, SRAD_BLOCK_SIZE), f32)
    east = shared_array((SRAD_BLOCK_SIZE, SRAD_BLOCK_SIZE), f32)
    west = shared_array((SRAD_BLOCK_SIZE, SRAD_BLOCK_SIZE), f32)

    # load data to shared memory
    # PORT: the original loads J_cuda[index_n] and J_cuda[index_s] unconditionally and overwrites them in
    # the first/last block row, reading outside J (index_n < 0 for by == 0); the loads are guarded instead
    if by != 0:
        north[ty, tx] = J_cuda[index_n]
    if by != grid_dim_y() - 1:
        south[ty, tx] = J_cuda[index_s]
    if by == 0:
        north[ty, tx] = J_cuda[SRAD_BLOCK_SIZE * bx + tx]
    elif by == grid_dim_y() - 1:
        south[ty, tx] = J_cuda[cols * SRAD_BLOCK_SIZE * (grid_dim_y() - 1) + SRAD_BLOCK_SIZE * bx
                               + cols * (SRAD_BLOCK_SIZE - 1) + tx]
    sync_threads()

    # PORT: same for index_w (before the row in the first block column) and index_e (after it in the last)
    if bx != 0:
        west[ty, tx] = J_cuda[index_w]
    if bx != grid_dim_x() - 1:
        east[ty, tx] = J_cuda[index_e]

    if bx == 0:
        west[ty, tx] = J_cuda[cols * SRAD_BLOCK_SIZE * by + cols * ty]
    elif bx == grid_dim_x() - 1:
        east[ty, tx] = J_cuda[cols * SRAD_BLOCK_SIZE * by + SRAD_BLOCK_SIZE * (grid_dim_x() - 1) + cols * ty
                              + SRAD_BLOCK_SIZE - 1]

    sync_threads()

    temp[ty, tx] = J_cuda[index]

    sync_threads()

    jc = temp[ty, tx]

    if ty == 0 and tx == 0:  # nw
        n = north[ty, tx] - jc
        s = temp[ty + 1, tx] - jc
        w = west[ty, tx] - jc
        e = temp[ty, tx + 1] - jc
    elif ty == 0 and tx == SRAD_BLOCK_SIZE - 1:  # ne
        n = north[ty, tx] - jc
        s = temp[ty + 1, tx] - jc
        w = temp[ty, tx - 1] - jc
        e = east[ty, tx] - jc
    elif ty == SRAD_BLOCK_SIZE - 1 and tx == SRAD_BLOCK_SIZE - 1:  # se
        n = temp[ty - 1, tx] - jc
        s = south[ty, tx] - jc
        w = temp[ty, tx - 1] - jc
        e = east[ty, tx] - jc
    elif ty == SRAD_BLOCK_SIZE - 1 and tx == 0:  # sw
        n = temp[ty - 1, tx] - jc
        s = south[ty, tx] - jc
        w = west[ty, tx] - jc
        e = temp[ty, tx + 1] - jc
    elif ty == 0:  # n
        n = north[ty, tx] - jc
        s = temp[ty + 1, tx] - jc
        w = temp[ty, tx - 1] - jc
        e = temp[ty, tx + 1] - jc
    elif tx == SRAD_BLOCK_SIZE - 1:  # e
        n = temp[ty - 1, tx] - jc
        s = temp[ty + 1, tx] - jc
        w = temp[ty, tx - 1] - jc
        e = east[ty, tx] - jc
    elif ty == SRAD_BLOCK_SIZE - 1:  # s
        n = temp[ty - 1, tx] - jc
        s = south[ty, tx] - jc
        w = temp[ty, tx - 1] - jc
        e = temp[ty, tx + 1] - jc
    elif tx == 0:  # w
        n = temp[ty - 1, tx] - jc
        s = temp[ty + 1, tx] - jc
        w = west[ty, tx] - jc
        e = temp[ty, tx + 1] - jc
    else:  # the data elements which are not on the borders
        n = temp[ty - 1, tx] - jc
        s = temp[ty + 1, tx] - jc
        w = temp[ty, tx - 1] - jc
        e = temp[ty, tx + 1] - jc

    g2 = (n * n + s * s + w * w + e * e) / (jc * jc)

    l = (n + s + w + e) / jc  # noqa: E741

    num = (0.5 * g2) - ((1.0 / 16.0) * (l * l))
    den = 1 + (.25 * l)
    qsqr = num / (den * den)

    # diffusion coefficent (equ 33)
    den = (qsqr - q0sqr) / (q0sqr * (1 + q0sqr))
    c = 1.0 / (1.0 + den)

    # saturate diffusion coefficent
    if c < 0:
        temp_result[ty, tx] = 0
    elif c > 1:
        temp_result[ty, tx] = 1
    else:
        temp_result[ty, tx] = c

    sync_threads()

    C_cuda[index] = temp_result[ty, tx]
    E_C[index] = e
    W_C[index] = w
    S_C[index] = s
    N_C[index] = n


@kernel
def srad_cuda_2(E_C: f32[:], W_C: f32[:], N_C: f32[:], S_C: f32[:], J_cuda: f32[:], C_cuda: f32[:], cols: i32,
                rows: i32, lambda_: f32, q0sqr: f32):  # PORT: parameter `lambda` is a Python keyword: lambda_
    # block id
    bx = block_idx_x()
    by = block_idx_y()

    # thread id
    tx = thread_idx_x()
    ty = thread_idx_y()

    # indices
    index = cols * SRAD_BLOCK_SIZE * by + SRAD_BLOCK_SIZE * bx + cols * ty + tx
    index_s = cols * SRAD_BLOCK_SIZE * by + SRAD_BLOCK_SIZE * bx + cols * SRAD_BLOCK_SIZE + tx
    index_e = cols * SRAD_BLOCK_SIZE * by + SRAD_BLOCK_SIZE * bx + cols * ty + SRAD_BLOCK_SIZE

    # shared memory allocation
    south_c = shared_array((SRAD_BLOCK_SIZE, SRAD_BLOCK_SIZE), f32)
    east_c = shared_array((SRAD_BLOCK_SIZE, SRAD_BLOCK_SIZE), f32)

    c_cuda_temp = shared_array((SRAD_BLOCK_SIZE, SRAD_BLOCK_SIZE), f32)
    c_cuda_result = shared_array((SRAD_BLOCK_SIZE, SRAD_BLOCK_SIZE), f32)
    temp = shared_array((SRAD_BLOCK_SIZE, SRAD_BLOCK_SIZE), f32)

    # load data to shared memory
    temp[ty, tx] = J_cuda[index]

    sync_threads()

    # PORT: guarded like srad_cuda_1 (the original reads past the end of C_cuda in the last block row/column)
    if by != grid_dim_y() - 1:
        south_c[ty, tx] = C_cuda[index_s]

    if by == grid_dim_y() - 1:
        south_c[ty, tx] = C_cuda[cols * SRAD_BLOCK_SIZE * (grid_dim_y() - 1) + SRAD_BLOCK_SIZE * bx
                                 + cols * (SRAD_BLOCK_SIZE - 1) + tx]
    sync_threads()

    if bx != grid_dim_x() - 1:
        east_c[ty, tx] = C_cuda[index_e]

    if bx == grid_dim_x() - 1:
        east_c[ty, tx] = C_cuda[cols * SRAD_BLOCK_SIZE * by + SRAD_BLOCK_SIZE * (grid_dim_x() - 1) + cols * ty
                                + SRAD_BLOCK_SIZE - 1]

    sync_threads()

    c_cuda_temp[ty, tx] = C_cuda[index]

    sync_threads()

    cc = c_cuda_temp[ty, tx]

    if ty == SRAD_BLOCK_SIZE - 1 and tx == SRAD_BLOCK_SIZE - 1:  # se
        cn = cc
        cs = south_c[ty, tx]
        cw = cc
        ce = east_c[ty, tx]
    elif tx == SRAD_BLOCK_SIZE - 1:  # e
        cn = cc
        cs = c_cuda_temp[ty + 1, tx]
        cw = cc
        ce = east_c[ty, tx]
    elif ty == SRAD_BLOCK_SIZE - 1:  # s
        cn = cc
        cs = south_c[ty, tx]
        cw = cc
        ce = c_cuda_temp[ty, tx + 1]
    else:  # the data elements which are not on the borders
        cn = cc
        cs = c_cuda_temp[ty + 1, tx]
        cw = cc
        ce = c_cuda_temp[ty, tx + 1]

    # divergence (equ 58)
    d_sum = cn * N_C[index] + cs * S_C[index] + cw * W_C[index] + ce * E_C[index]

    # image update (equ 61)
    c_cuda_result[ty, tx] = temp[ty, tx] + 0.25 * lambda_ * d_sum

    sync_threads()

    J_cuda[index] = c_cuda_result[ty, tx]


def _build_srad(size):
    rows, cols, niter = (48, 64, 2) if size == "cpu" else (32, 32, 1)
    image = _rng(15).random((rows, cols)) * 255.0
    return dict(rows=rows, cols=cols, niter=niter, lambda_=np.float32(0.5), r1=0, r2=rows // 2, c1=0,
                c2=cols // 2, J=np.exp(image / 255.0).astype(np.float32).ravel())


def _geo_srad(d):
    g = ((d["cols"] // SRAD_BLOCK_SIZE, d["rows"] // SRAD_BLOCK_SIZE), (SRAD_BLOCK_SIZE, SRAD_BLOCK_SIZE))
    return {"srad_cuda_1": g, "srad_cuda_2": g}


def _q0sqr(J, d):
    roi = J.reshape(d["rows"], d["cols"])[d["r1"]:d["r2"] + 1, d["c1"]:d["c2"] + 1].astype(np.float32)
    size_R = roi.size
    s, s2 = np.float32(roi.sum(dtype=np.float32)), np.float32((roi * roi).sum(dtype=np.float32))
    meanROI = s / size_R
    varROI = (s2 / size_R) - meanROI * meanROI
    return np.float32(varROI / (meanROI * meanROI))


def _run_srad(go, d):  # runTest's iteration loop
    g = _geo_srad(d)
    n = d["rows"] * d["cols"]
    J = d["J"]
    E_C, W_C, N_C, S_C, C = (np.zeros(n, np.float32) for _ in range(5))
    for _ in range(d["niter"]):
        q0sqr = _q0sqr(J, d)
        go(srad_cuda_1, *g["srad_cuda_1"])(E_C, W_C, N_C, S_C, J, C, d["cols"], d["rows"], q0sqr)
        go(srad_cuda_2, *g["srad_cuda_2"])(E_C, W_C, N_C, S_C, J, C, d["cols"], d["rows"], d["lambda_"], q0sqr)
    return {"J": J}


def _ref_srad(d):
    rows, cols = d["rows"], d["cols"]
    J = d["J"].reshape(rows, cols).astype(np.float64)
    for _ in range(d["niter"]):
        q0sqr = np.float64(_q0sqr(J.astype(np.float32), d))
        p = np.pad(J, 1, mode="edge")
        n, s, w, e = p[:-2, 1:-1] - J, p[2:, 1:-1] - J, p[1:-1, :-2] - J, p[1:-1, 2:] - J
        g2 = (n * n + s * s + w * w + e * e) / (J * J)
        lap = (n + s + w + e) / J
        num = 0.5 * g2 - (1.0 / 16.0) * lap * lap
        den = 1 + 0.25 * lap
        qsqr = num / (den * den)
        den = (qsqr - q0sqr) / (q0sqr * (1 + q0sqr))
        c = np.clip(1.0 / (1.0 + den), 0.0, 1.0)
        pc = np.pad(c, ((0, 1), (0, 1)), mode="edge")
        d_sum = c * n + pc[1:, :-1] * s + c * w + pc[:-1, 1:] * e
        J = J + 0.25 * np.float64(d["lambda_"]) * d_sum
    return {"J": J.ravel()}


# ============================================================================ backprop
# Source: JuliaParallel/rodinia cuda/backprop/backprop_cuda_kernel.cu (bpnn_layerforward_CUDA,
# bpnn_adjust_weights_cuda); launches of cuda/backprop/backprop_cuda.cu (bpnn_train_cuda)
WIDTH = 16  # backprop.h
HEIGHT = 16
ETA = 0.3
MOMENTUM = 0.3


@kernel
def bpnn_layerforward_CUDA(input_cuda: f32[:], output_hidden_cuda: f32[:], input_hidden_cuda: f32[:],
                           hidden_partial_sum: f32[:], in_: i32, hid: i32):  # PORT: `in` is a keyword: in_
    by = block_idx_y()
    tx = thread_idx_x()
    ty = thread_idx_y()

    index = (hid + 1) * HEIGHT * by + (hid + 1) * ty + tx + 1 + (hid + 1)

    index_in = HEIGHT * by + ty + 1

    input_node = shared_array(HEIGHT, f32)
    weight_matrix = shared_array((HEIGHT, WIDTH), f32)

    if tx == 0:
        input_node[ty] = input_cuda[index_in]

    sync_threads()

    weight_matrix[ty, tx] = input_hidden_cuda[index]

    sync_threads()

    weight_matrix[ty, tx] = weight_matrix[ty, tx] * input_node[ty]

    sync_threads()

    i = 1  # PORT: for (int i = 1; i <= __log2f(HEIGHT); i++) as a while loop (the bound is a float call)
    while i <= fast_log2(f32(HEIGHT)):
        power_two = i32(fast_pow(2.0, f32(i)))  # PORT: int power_two = __powf(2, i) converts implicitly

        if ty % power_two == 0:
            weight_matrix[ty, tx] = weight_matrix[ty, tx] + weight_matrix[ty + power_two // 2, tx]

        sync_threads()
        i += 1

    input_hidden_cuda[index] = weight_matrix[ty, tx]

    sync_threads()

    if tx == 0:
        hidden_partial_sum[by * hid + ty] = weight_matrix[tx, ty]


@kernel
def bpnn_adjust_weights_cuda(delta: f32[:], hid: i32, ly: f32[:], in_: i32, w: f32[:], oldw: f32[:]):
    by = block_idx_y()

    tx = thread_idx_x()
    ty = thread_idx_y()

    index = (hid + 1) * HEIGHT * by + (hid + 1) * ty + tx + 1 + (hid + 1)
    index_y = HEIGHT * by + ty + 1
    index_x = tx + 1
    # eta = 0.3;
    # momentum = 0.3;

    w[index] += ((ETA * delta[index_x] * ly[index_y]) + (MOMENTUM * oldw[index]))
    oldw[index] = ((ETA * delta[index_x] * ly[index_y]) + (MOMENTUM * oldw[index]))

    sync_threads()

    if ty == 0 and by == 0:
        w[index_x] += ((ETA * delta[index_x]) + (MOMENTUM * oldw[index_x]))
        oldw[index_x] = ((ETA * delta[index_x]) + (MOMENTUM * oldw[index_x]))


def _build_backprop(size):
    n_in = 64 if size == "cpu" else 32  # a multiple of 16: num_blocks = in / 16
    hid = 16
    r = _rng(16)
    return dict(n_in=n_in, hid=hid, input=r.random(n_in + 1).astype(np.float32),
                weights=(r.random((n_in + 1) * (hid + 1)) - 0.5).astype(np.float32),
                prev_weights=(0.1 * (r.random((n_in + 1) * (hid + 1)) - 0.5)).astype(np.float32),
                hidden_delta=(r.random(hid + 1) - 0.5).astype(np.float32))


def _geo_backprop(d):
    g = ((1, d["n_in"] // 16), (16, 16))
    return {"bpnn_layerforward_CUDA": g, "bpnn_adjust_weights_cuda": g}


def _run_backprop(go, d):
    g = _geo_backprop(d)
    n_in, hid = d["n_in"], d["hid"]
    num_blocks = n_in // 16
    w = d["weights"].copy()
    partial = np.zeros(num_blocks * WIDTH, np.float32)
    output_hidden = np.zeros(hid + 1, np.float32)
    go(bpnn_layerforward_CUDA, *g["bpnn_layerforward_CUDA"])(d["input"], output_hidden, w, partial, n_in, hid)
    w2, oldw = d["weights"].copy(), d["prev_weights"].copy()
    go(bpnn_adjust_weights_cuda, *g["bpnn_adjust_weights_cuda"])(d["hidden_delta"], hid, d["input"], n_in, w2, oldw)
    return {"partial_sum": partial, "forward_weights": w, "w": w2, "oldw": oldw}


def _ref_backprop(d):
    n_in, hid = d["n_in"], d["hid"]
    nb = n_in // 16
    W = d["weights"].reshape(n_in + 1, hid + 1).astype(np.float64)
    x = d["input"].astype(np.float64)
    wm = (W[1:, 1:] * x[1:, None]).reshape(nb, HEIGHT, WIDTH)  # weight_matrix of each block
    for p in (2, 4, 8, 16):  # the tree: rows ty % p == 0 add row ty + p / 2
        wm[:, ::p] += wm[:, p // 2::p]
    fw = W.copy()
    fw[1:, 1:] = wm.reshape(n_in, hid)
    partial = wm[:, 0, :].ravel()  # hidden_partial_sum[by * hid + ty] = weight_matrix[0][ty]
    delta, old = d["hidden_delta"].astype(np.float64), d["prev_weights"].reshape(n_in + 1, hid + 1).astype(np.float64)
    W2 = d["weights"].reshape(n_in + 1, hid + 1).astype(np.float64)
    upd = np.float32(ETA) * np.outer(x[1:], delta[1:]) + np.float32(MOMENTUM) * old[1:, 1:]
    W2[1:, 1:] += upd
    old[1:, 1:] = upd
    upd0 = np.float32(ETA) * delta[1:] + np.float32(MOMENTUM) * old[0, 1:]
    W2[0, 1:] += upd0
    old[0, 1:] = upd0
    return {"partial_sum": partial, "forward_weights": fw.ravel(), "w": W2.ravel(), "oldw": old.ravel()}


# ============================================================================ kmeans
# Source: JuliaParallel/rodinia cuda/kmeans/kmeans_cuda_kernel.cu (invert_mapping, kmeansPoint with
# GPU_DELTA_REDUCTION and GPU_NEW_CENTER_REDUCTION off, as built); launches of cuda/kmeans/kmeans_cuda.cu
THREADS_PER_DIM = 16
THREADS_PER_BLOCK = THREADS_PER_DIM * THREADS_PER_DIM


@kernel
def invert_mapping(input: f32[:], output: f32[:], npoints: i32, nfeatures: i32):
    point_id = thread_idx_x() + block_dim_x() * block_idx_x()  # id of thread

    if point_id < npoints:
        for i in range(nfeatures):
            output[point_id + npoints * i] = input[point_id * nfeatures + i]
    return


@kernel
def kmeansPoint(features: f32[:], nfeatures: i32, npoints: i32, nclusters: i32, membership: i32[:],
                clusters: f32[:], block_clusters: f32[:], block_deltas: i32[:]):
    # block ID
    block_id: u32 = grid_dim_x() * block_idx_y() + block_idx_x()
    # point/thread ID
    point_id: u32 = block_id * block_dim_x() * block_dim_y() + thread_idx_x()

    index = -1

    if point_id < npoints:
        min_dist: f32 = FLT_MAX

        # find the cluster center id with min distance to pt
        for i in range(nclusters):
            cluster_base_index = i * nfeatures  # base index of cluster centers for inverted array
            ans: f32 = 0.0  # Euclidean distance sqaure

            for j in range(nfeatures):
                addr: i32 = point_id + j * npoints  # appropriate index of data point
                # PORT: tex1Dfetch(t_features, addr) reads `features` (the texture is bound to it) and
                # c_clusters (constant memory the host fills from clusters) reads `clusters`
                diff = features[addr] - clusters[cluster_base_index + j]  # distance between a data point to cluster centers
                ans += diff * diff  # sum of squares
            dist = ans

            # see if distance is smaller than previous ones:
            # if so, change minimum distance and save index of cluster center
            if dist < min_dist:
                min_dist = dist
                index = i

    if point_id < npoints:
        # assign the membership to object point_id
        membership[point_id] = index


def _build_kmeans(size):
    npoints, nfeatures, nclusters = (1000, 4, 5) if size == "cpu" else (300, 3, 4)
    r = _rng(17)
    return dict(npoints=npoints, nfeatures=nfeatures, nclusters=nclusters,
                features=r.random((npoints, nfeatures)).astype(np.float32),
                clusters=r.random((nclusters, nfeatures)).astype(np.float32))


def _geo_kmeans(d):  # allocateMemory
    num_threads = THREADS_PER_DIM * THREADS_PER_DIM
    num_blocks = d["npoints"] // num_threads + (1 if d["npoints"] % num_threads > 0 else 0)
    perdim = int(math.sqrt(num_blocks))
    while perdim * perdim < num_blocks:
        perdim += 1
    return {"invert_mapping": (num_blocks, num_threads), "kmeansPoint": ((perdim, perdim), num_threads)}


def _run_kmeans(go, d):
    g = _geo_kmeans(d)
    npoints, nfeatures = d["npoints"], d["nfeatures"]
    feature_flipped_d = d["features"].ravel().copy()
    feature_d = np.zeros(npoints * nfeatures, np.float32)
    go(invert_mapping, *g["invert_mapping"])(feature_flipped_d, feature_d, npoints, nfeatures)
    membership_d = np.full(npoints, -1, np.int32)
    dummy_f, dummy_i = np.zeros(1, np.float32), np.zeros(1, np.int32)  # block_clusters_d, block_deltas_d: unused
    go(kmeansPoint, *g["kmeansPoint"])(feature_d, nfeatures, npoints, d["nclusters"], membership_d,
                                       d["clusters"].ravel().copy(), dummy_f, dummy_i)
    return {"feature_d": feature_d, "membership": membership_d}


def _ref_kmeans(d):
    f, c = d["features"], d["clusters"]
    dist = ((f[:, None, :] - c[None, :, :]) ** 2).sum(axis=2)
    return {"feature_d": f.T.ravel(), "membership": np.argmin(dist, axis=1).astype(np.int32)}


# ============================================================================ lud
# Source: JuliaParallel/rodinia cuda/lud/lud_kernel.cu (lud_diagonal, lud_perimeter, lud_internal, lud_cuda)
LUD_BLOCK_SIZE = 16  # BLOCK_SIZE


@kernel
def lud_diagonal(m: f32[:], matrix_dim: i32, offset: i32):
    shadow = shared_array((LUD_BLOCK_SIZE, LUD_BLOCK_SIZE), f32)

    array_offset = offset * matrix_dim + offset
    for i in range(LUD_BLOCK_SIZE):
        shadow[i, thread_idx_x()] = m[array_offset + thread_idx_x()]
        array_offset += matrix_dim
    sync_threads()
    for i in range(LUD_BLOCK_SIZE - 1):

        if thread_idx_x() > i:
            for j in range(i):
                shadow[thread_idx_x(), i] -= shadow[thread_idx_x(), j] * shadow[j, i]
            shadow[thread_idx_x(), i] /= shadow[i, i]

        sync_threads()
        if thread_idx_x() > i:

            for j in range(i + 1):
                shadow[i + 1, thread_idx_x()] -= shadow[i + 1, j] * shadow[j, thread_idx_x()]
        sync_threads()

    # The first row is not modified, it is no need to write it back to the global memory
    array_offset = (offset + 1) * matrix_dim + offset
    for i in range(1, LUD_BLOCK_SIZE):
        m[array_offset + thread_idx_x()] = shadow[i, thread_idx_x()]
        array_offset += matrix_dim


@kernel
def lud_perimeter(m: f32[:], matrix_dim: i32, offset: i32):
    dia = shared_array((LUD_BLOCK_SIZE, LUD_BLOCK_SIZE), f32)
    peri_row = shared_array((LUD_BLOCK_SIZE, LUD_BLOCK_SIZE), f32)
    peri_col = shared_array((LUD_BLOCK_SIZE, LUD_BLOCK_SIZE), f32)

    if thread_idx_x() < LUD_BLOCK_SIZE:
        idx = thread_idx_x()

        array_offset = offset * matrix_dim + offset
        for i in range(LUD_BLOCK_SIZE // 2):
            dia[i, idx] = m[array_offset + idx]
            array_offset += matrix_dim

        array_offset = offset * matrix_dim + offset
        for i in range(LUD_BLOCK_SIZE):
            peri_row[i, idx] = m[array_offset + (block_idx_x() + 1) * LUD_BLOCK_SIZE + idx]
            array_offset += matrix_dim

    else:
        idx = thread_idx_x() - LUD_BLOCK_SIZE

        array_offset = (offset + LUD_BLOCK_SIZE // 2) * matrix_dim + offset
        for i in range(LUD_BLOCK_SIZE // 2, LUD_BLOCK_SIZE):
            dia[i, idx] = m[array_offset + idx]
            array_offset += matrix_dim

        array_offset = (offset + (block_idx_x() + 1) * LUD_BLOCK_SIZE) * matrix_dim + offset
        for i in range(LUD_BLOCK_SIZE):
            peri_col[i, idx] = m[array_offset + idx]
            array_offset += matrix_dim
    sync_threads()

    if thread_idx_x() < LUD_BLOCK_SIZE:  # peri-row
        idx = thread_idx_x()
        for i in range(1, LUD_BLOCK_SIZE):
            for j in range(i):
                peri_row[i, idx] -= dia[i, j] * peri_row[j, idx]
    else:  # peri-col
        idx = thread_idx_x() - LUD_BLOCK_SIZE
        for i in range(LUD_BLOCK_SIZE):
            for j in range(i):
                peri_col[idx, i] -= peri_col[idx, j] * dia[j, i]
            peri_col[idx, i] /= dia[i, i]

    sync_threads()

    if thread_idx_x() < LUD_BLOCK_SIZE:  # peri-row
        idx = thread_idx_x()
        array_offset = (offset + 1) * matrix_dim + offset
        for i in range(1, LUD_BLOCK_SIZE):
            m[array_offset + (block_idx_x() + 1) * LUD_BLOCK_SIZE + idx] = peri_row[i, idx]
            array_offset += matrix_dim
    else:  # peri-col
        idx = thread_idx_x() - LUD_BLOCK_SIZE
        array_offset = (offset + (block_idx_x() + 1) * LUD_BLOCK_SIZE) * matrix_dim + offset
        for i in range(LUD_BLOCK_SIZE):
            m[array_offset + idx] = peri_col[i, idx]
            array_offset += matrix_dim


@kernel
def lud_internal(m: f32[:], matrix_dim: i32, offset: i32):
    peri_row = shared_array((LUD_BLOCK_SIZE, LUD_BLOCK_SIZE), f32)
    peri_col = shared_array((LUD_BLOCK_SIZE, LUD_BLOCK_SIZE), f32)

    global_row_id = offset + (block_idx_y() + 1) * LUD_BLOCK_SIZE
    global_col_id = offset + (block_idx_x() + 1) * LUD_BLOCK_SIZE

    peri_row[thread_idx_y(), thread_idx_x()] = m[(offset + thread_idx_y()) * matrix_dim + global_col_id + thread_idx_x()]
    peri_col[thread_idx_y(), thread_idx_x()] = m[(global_row_id + thread_idx_y()) * matrix_dim + offset + thread_idx_x()]

    sync_threads()

    sum: f32 = 0
    for i in range(LUD_BLOCK_SIZE):
        sum += peri_col[thread_idx_y(), i] * peri_row[i, thread_idx_x()]
    m[(global_row_id + thread_idx_y()) * matrix_dim + global_col_id + thread_idx_x()] -= sum


def _build_lud(size):
    n = 64 if size == "cpu" else 32
    r = _rng(18)
    return dict(matrix_dim=n, m=(r.random((n, n)) + n * np.eye(n)).astype(np.float32).ravel())


def _geo_lud(d):
    n = d["matrix_dim"]
    return {"lud_diagonal": (1, LUD_BLOCK_SIZE),
            "lud_perimeter": ("(matrix_dim - i) / BLOCK_SIZE - 1", LUD_BLOCK_SIZE * 2),
            "lud_internal": ("((matrix_dim - i) / BLOCK_SIZE - 1,) * 2", (LUD_BLOCK_SIZE, LUD_BLOCK_SIZE)),
            "blocks": n // LUD_BLOCK_SIZE}


def _run_lud(go, d):  # lud_cuda
    n, m = d["matrix_dim"], d["m"]
    i = 0
    while i < n - LUD_BLOCK_SIZE:
        go(lud_diagonal, 1, LUD_BLOCK_SIZE)(m, n, i)
        go(lud_perimeter, (n - i) // LUD_BLOCK_SIZE - 1, LUD_BLOCK_SIZE * 2)(m, n, i)
        dimGrid = ((n - i) // LUD_BLOCK_SIZE - 1, (n - i) // LUD_BLOCK_SIZE - 1)
        go(lud_internal, dimGrid, (LUD_BLOCK_SIZE, LUD_BLOCK_SIZE))(m, n, i)
        i += LUD_BLOCK_SIZE
    go(lud_diagonal, 1, LUD_BLOCK_SIZE)(m, n, i)
    return {"m": m}


def _ref_lud(d):
    n = d["matrix_dim"]
    A = d["m"].reshape(n, n).astype(np.float64)
    for k in range(n):
        A[k + 1:, k] /= A[k, k]
        A[k + 1:, k + 1:] -= np.outer(A[k + 1:, k], A[k, k + 1:])
    return {"m": A.ravel()}


# ============================================================================ nn
# Source: JuliaParallel/rodinia cuda/nn/nn.cu (euclid, main; commit fb7c6d5dc258d1dfa52ae962a3ca9e3a9833aa37)
@kernel
def euclid(d_locations: f32[:, :], d_distances: f32[:], numRecords: i32, lat: f32, lng: f32):
    # PORT: LatLong *d_locations (struct {float lat; float lng;}) is a float[numRecords][2] array with the
    # same layout; `LatLong *latLong = d_locations + globalId` becomes indexing row globalId
    # int globalId = gridDim.x * blockDim.x * blockIdx.y + blockDim.x * blockIdx.x + threadIdx.x;
    globalId = block_dim_x() * (grid_dim_x() * block_idx_y() + block_idx_x()) + thread_idx_x()  # more efficient
    if globalId < numRecords:
        d_distances[globalId] = f32(math.sqrt((lat - d_locations[globalId, 0]) * (lat - d_locations[globalId, 0])
                                              + (lng - d_locations[globalId, 1]) * (lng - d_locations[globalId, 1])))


def _build_nn(size):
    n = 1000 if size == "cpu" else 300
    r = _rng(19)
    loc = np.stack([r.uniform(0, 60, n), r.uniform(0, 180, n)], axis=1).astype(np.float32)
    return dict(numRecords=n, locations=loc, lat=np.float32(30.0), lng=np.float32(90.0))


def _geo_nn(d):
    threadsPerBlock = 256  # min(deviceProp.maxThreadsPerBlock, DEFAULT_THREADS_PER_BLOCK)
    maxGridX = 65535
    blocks = cdiv(d["numRecords"], threadsPerBlock)
    gridY = cdiv(blocks, maxGridX)
    gridX = cdiv(blocks, gridY)
    return {"euclid": ((gridX, gridY), threadsPerBlock)}


def _run_nn(go, d):
    dist = np.zeros(d["numRecords"], np.float32)
    go(euclid, *_geo_nn(d)["euclid"])(d["locations"], dist, d["numRecords"], d["lat"], d["lng"])
    return {"distances": dist}


def _ref_nn(d):
    loc = d["locations"].astype(np.float64)
    return {"distances": np.sqrt((d["lat"] - loc[:, 0]) ** 2 + (d["lng"] - loc[:, 1]) ** 2)}


# ============================================================================ gaussian
# Source: JuliaParallel/rodinia cuda/gaussian/gaussian.cu (Fan1, Fan2, ForwardSub)
MAXBLOCKSIZE = 512
BLOCK_SIZE_XY = 4


@kernel
def Fan1(m_cuda: f32[:], a_cuda: f32[:], Size: i32, t: i32):
    if thread_idx_x() + block_idx_x() * block_dim_x() >= Size - 1 - t:
        return
    # PORT: *(m_cuda + Size * (...) + t) pointer arithmetic as indexing
    m_cuda[Size * (block_dim_x() * block_idx_x() + thread_idx_x() + t + 1) + t] = (
        a_cuda[Size * (block_dim_x() * block_idx_x() + thread_idx_x() + t + 1) + t] / a_cuda[Size * t + t])


@kernel
def Fan2(m_cuda: f32[:], a_cuda: f32[:], b_cuda: f32[:], Size: i32, j1: i32, t: i32):
    if thread_idx_x() + block_idx_x() * block_dim_x() >= Size - 1 - t:
        return
    if thread_idx_y() + block_idx_y() * block_dim_y() >= Size - t:
        return

    xidx = block_idx_x() * block_dim_x() + thread_idx_x()
    yidx = block_idx_y() * block_dim_y() + thread_idx_y()

    a_cuda[Size * (xidx + 1 + t) + (yidx + t)] -= m_cuda[Size * (xidx + 1 + t) + t] * a_cuda[Size * t + (yidx + t)]
    if yidx == 0:
        b_cuda[xidx + 1 + t] -= m_cuda[Size * (xidx + 1 + t) + (yidx + t)] * b_cuda[t]


def _build_gaussian(size):
    n = 16 if size == "cpu" else 6
    # create_matrix(): a symmetric Toeplitz matrix of 10 * exp(lamda * |i - j|), b = 1
    lamda = -0.01
    i, j = np.mgrid[0:n, 0:n]
    a = (10 * np.exp(lamda * np.abs(i - j))).astype(np.float32)
    a += np.float32(n) * np.eye(n, dtype=np.float32)  # better conditioned for an f32 comparison
    return dict(Size=n, a=a.ravel(), b=np.ones(n, np.float32), m=np.zeros(n * n, np.float32))


def _geo_gaussian(d):
    Size = d["Size"]
    block_size = MAXBLOCKSIZE
    grid_size = (Size // block_size) + (0 if not (Size % block_size) else 1)
    blockSize2d = BLOCK_SIZE_XY
    gridSize2d = (Size // blockSize2d) + int(not (0 if Size % blockSize2d else 1))  # (!(Size % b ? 0 : 1))
    return {"Fan1": (grid_size, block_size), "Fan2": ((gridSize2d, gridSize2d), (blockSize2d, blockSize2d))}


def _run_gaussian(go, d):  # ForwardSub
    g = _geo_gaussian(d)
    Size = d["Size"]
    for t in range(Size - 1):
        go(Fan1, *g["Fan1"])(d["m"], d["a"], Size, t)
        go(Fan2, *g["Fan2"])(d["m"], d["a"], d["b"], Size, Size - t, t)
    return {"a": d["a"], "b": d["b"], "m": d["m"]}


def _ref_gaussian(d):
    n = d["Size"]
    a, b, m = d["a"].reshape(n, n).astype(np.float64), d["b"].astype(np.float64), np.zeros((n, n))
    for t in range(n - 1):
        m[t + 1:, t] = a[t + 1:, t] / a[t, t]
        a[t + 1:, t:] -= np.outer(m[t + 1:, t], a[t, t:])
        b[t + 1:] -= m[t + 1:, t] * b[t]
    return {"a": a.ravel(), "b": b, "m": m.ravel()}


# ============================================================================ hotspot3D
# Source: JuliaParallel/rodinia cuda/hotspot3D/opt1.cu (hotspotOpt1, hotspot_opt1) and 3D.cu (parameters,
# computeTempCPU); commit 84d4cf577f64215c37a28bae7b9294981f87d24f
@kernel
def hotspotOpt1(p: f32[:], tIn: f32[:], tOut: f32[:], sdc: f32, nx: i32, ny: i32, nz: i32, ce: f32, cw: f32,
                cn: f32, cs: f32, ct: f32, cb: f32, cc: f32):
    amb_temp: f32 = 80.0

    i = block_dim_x() * block_idx_x() + thread_idx_x()
    j = block_dim_y() * block_idx_y() + thread_idx_y()

    c = i + j * nx
    xy = nx * ny

    W = c if (i == 0) else c - 1
    E = c if (i == nx - 1) else c + 1
    N = c if (j == 0) else c - nx
    S = c if (j == ny - 1) else c + nx

    temp2 = tIn[c]  # PORT: temp1 = temp2 = tIn[c] (chained assignment) as two statements
    temp1 = temp2
    temp3 = tIn[c + xy]
    tOut[c] = (cc * temp2 + cw * tIn[W] + ce * tIn[E] + cs * tIn[S] + cn * tIn[N] + cb * temp1 + ct * temp3
               + sdc * p[c] + ct * amb_temp)
    c += xy
    W += xy
    E += xy
    N += xy
    S += xy

    for k in range(1, nz - 1):
        temp1 = temp2
        temp2 = temp3
        temp3 = tIn[c + xy]
        tOut[c] = (cc * temp2 + cw * tIn[W] + ce * tIn[E] + cs * tIn[S] + cn * tIn[N] + cb * temp1 + ct * temp3
                   + sdc * p[c] + ct * amb_temp)
        c += xy
        W += xy
        E += xy
        N += xy
        S += xy
    temp1 = temp2
    temp2 = temp3
    tOut[c] = (cc * temp2 + cw * tIn[W] + ce * tIn[E] + cs * tIn[S] + cn * tIn[N] + cb * temp1 + ct * temp3
               + sdc * p[c] + ct * amb_temp)
    return


def _hotspot3d_params(nx, ny, nz):  # main() of 3D.cu, then hotspot_opt1's coefficients
    dx, dy, dz = np.float32(CHIP_HEIGHT / ny), np.float32(CHIP_WIDTH / nx), np.float32(T_CHIP / nz)
    Cap = np.float32(FACTOR_CHIP * SPEC_HEAT_SI * T_CHIP * dx * dy)
    Rx = np.float32(dy / (2.0 * K_SI * T_CHIP * dx))
    Ry = np.float32(dx / (2.0 * K_SI * T_CHIP * dy))
    Rz = np.float32(dz / (K_SI * dx * dy))
    max_slope = np.float32(MAX_PD / (FACTOR_CHIP * T_CHIP * SPEC_HEAT_SI))
    dt = np.float32(PRECISION / max_slope)
    stepDivCap = np.float32(dt / Cap)
    ce = cw = np.float32(stepDivCap / Rx)
    cn = cs = np.float32(stepDivCap / Ry)
    ct = cb = np.float32(stepDivCap / Rz)
    cc = np.float32(1.0 - (2.0 * ce + 2.0 * cn + 3.0 * ct))
    return stepDivCap, ce, cw, cn, cs, ct, cb, cc


def _build_hotspot3d(size):
    nx, ny, nz, numiter = (128, 16, 6, 3) if size == "cpu" else (64, 8, 3, 2)
    r = _rng(20)
    n = nx * ny * nz
    return dict(nx=nx, ny=ny, nz=nz, numiter=numiter, tIn=(320.0 + 20.0 * r.random(n)).astype(np.float32),
                p=(1e-3 * r.random(n)).astype(np.float32))


def _geo_hotspot3d(d):
    return {"hotspotOpt1": ((d["nx"] // 64, d["ny"] // 4, 1), (64, 4, 1))}


def _run_hotspot3d(go, d):  # hotspot_opt1
    grid, block = _geo_hotspot3d(d)["hotspotOpt1"]
    sdc, ce, cw, cn, cs, ct, cb, cc = _hotspot3d_params(d["nx"], d["ny"], d["nz"])
    tIn, tOut = d["tIn"], np.zeros_like(d["tIn"])
    for _ in range(d["numiter"]):
        go(hotspotOpt1, grid, block)(d["p"], tIn, tOut, sdc, d["nx"], d["ny"], d["nz"], ce, cw, cn, cs, ct, cb, cc)
        tIn, tOut = tOut, tIn
    # PORT (host): hotspot_opt1 copies tOut_d back after the final swap, i.e. the next-to-last step (an
    # upstream slip); the driver returns the last step, which computeTempCPU's answer is compared with
    return {"temp": tIn}


def _ref_hotspot3d(d):  # computeTempCPU
    nx, ny, nz = d["nx"], d["ny"], d["nz"]
    sdc, ce, cw, cn, cs, ct, cb, cc = (np.float64(v) for v in _hotspot3d_params(nx, ny, nz))
    T = d["tIn"].reshape(nz, ny, nx).astype(np.float64)
    P = d["p"].reshape(nz, ny, nx)
    for _ in range(d["numiter"]):
        q = np.pad(T, 1, mode="edge")
        T = (T * cc + q[1:-1, :-2, 1:-1] * cn + q[1:-1, 2:, 1:-1] * cs + q[1:-1, 1:-1, 2:] * ce
             + q[1:-1, 1:-1, :-2] * cw + q[2:, 1:-1, 1:-1] * ct + q[:-2, 1:-1, 1:-1] * cb + sdc * P + ct * 80.0)
    return {"temp": T.ravel()}


# ============================================================================ cases
CASES = [
    Case("rodinia.hotspot", SRC + "hotspot/hotspot.cu", (calculate_temp,), _geo_hotspot, _build_hotspot,
         _run_hotspot, _ref_hotspot,
         ("shared memory 2D", "barriers in a loop", "break after a barrier", "device function", "2D grid",
          "pyramid (ghost zones)", "multi-launch"), rtol=1e-5, atol=1e-3),
    Case("rodinia.pathfinder", SRC + "pathfinder/pathfinder.cu", (dynproc_kernel,), _geo_pathfinder,
         _build_pathfinder, _run_pathfinder, _ref_pathfinder,
         ("shared memory", "barriers in a loop", "break after a barrier", "device function", "int min",
          "multi-launch")),
    Case("rodinia.nw", SRC + "nw/needle_kernel.cu", (needle_cuda_shared_1, needle_cuda_shared_2), _geo_nw,
         _build_nw, _run_nw, _ref_nw,
         ("shared memory 2D", "barriers in loops", "wavefront", "device function", "descending range",
          "multi-launch")),
    Case("rodinia.bfs", SRC + "bfs/kernel.cu", (Kernel, Kernel2), _geo_bfs, _build_bfs, _run_bfs, _ref_bfs,
         ("bool arrays", "struct array as [n, 2]", "data-dependent loop bounds", "host loop until converged")),
    Case("rodinia.srad_v2", SRC + "srad/srad_v2/srad_kernel.cu", (srad_cuda_1, srad_cuda_2), _geo_srad,
         _build_srad, _run_srad, _ref_srad,
         ("shared memory 2D", "barriers", "if/elif chains", "grid_dim", "2D grid", "multi-kernel"),
         rtol=2e-4, atol=1e-5),
    Case("rodinia.backprop", SRC + "backprop/backprop_cuda_kernel.cu",
         (bpnn_layerforward_CUDA, bpnn_adjust_weights_cuda), _geo_backprop, _build_backprop, _run_backprop,
         _ref_backprop,
         ("shared memory 2D", "tree reduction", "barrier in a while loop", "fast_log2/fast_pow", "2D block"),
         sim="fast_log2/fast_pow are spelled cuda.libdevice.*, which the simulator lacks"),
    Case("rodinia.kmeans", SRC + "kmeans/kmeans_cuda_kernel.cu", (invert_mapping, kmeansPoint), _geo_kmeans,
         _build_kmeans, _run_kmeans, _ref_kmeans,
         ("unsigned arithmetic", "2D grid of 1D blocks", "argmin loop", "multi-kernel")),
    Case("rodinia.lud", SRC + "lud/lud_kernel.cu", (lud_diagonal, lud_perimeter, lud_internal), _geo_lud,
         _build_lud, _run_lud, _ref_lud,
         ("shared memory 2D", "barriers in loops", "divergent halves of a block", "2D grid", "multi-kernel"),
         rtol=1e-3, atol=1e-4),
    Case("rodinia.nn", SRC + "nn/nn.cu", (euclid,), _geo_nn, _build_nn, _run_nn, _ref_nn,
         ("struct array as [n, 2]", "math.sqrt", "2D grid")),
    Case("rodinia.gaussian", SRC + "gaussian/gaussian.cu", (Fan1, Fan2), _geo_gaussian, _build_gaussian,
         _run_gaussian, _ref_gaussian, ("early return", "1D and 2D grids", "multi-kernel"), rtol=1e-4, atol=1e-4),
    Case("rodinia.hotspot3D", SRC + "hotspot3D/opt1.cu", (hotspotOpt1,), _geo_hotspot3d, _build_hotspot3d,
         _run_hotspot3d, _ref_hotspot3d, ("3D stencil by hand", "register sliding window", "2D grid"),
         rtol=1e-5, atol=1e-3),
]
