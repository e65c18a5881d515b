"""The kernels tools/bench/cpu_kernels.py times: each as a ringkernel kernel/stencil and the same
computation hand-written as serial njit, parallel njit and NumPy (the baselines)."""
from __future__ import annotations

import math

import numba
import numpy as np
from numba import prange

from ringkernel_codegen import Field2D, Field3D, f32, i32, kernel, stencil
from ringkernel_codegen.dsl import (atomic_add, block_dim_x, block_idx_x, block_idx_y, global_id, grid_dim_x,
                                    shared_array, sync_threads, thread_idx_x, thread_idx_y)

BLOCK = 256
TILE = 16


# ---------------------------------------------------------------- plain kernels
@kernel
def saxpy(a: f32, x: f32[:], y: f32[:], n: i32):
    i = global_id()
    if i < n:
        y[i] = a * x[i] + y[i]


@numba.njit(nogil=True)
def saxpy_serial(a, x, y, n):
    for i in range(n):
        y[i] = a * x[i] + y[i]


@numba.njit(nogil=True, parallel=True)
def saxpy_parallel(a, x, y, n):
    for i in prange(n):
        y[i] = a * x[i] + y[i]


def saxpy_numpy(a, x, y, n):
    y += np.float32(a) * x


@kernel
def elementwise(x: f32[:], y: f32[:], out: f32[:], n: i32):
    i = global_id()
    if i < n:
        out[i] = math.sqrt(x[i] * x[i] + y[i] * y[i]) * 0.5 + x[i]


@numba.njit(nogil=True)
def elementwise_serial(x, y, out, n):
    for i in range(n):
        out[i] = np.sqrt(x[i] * x[i] + y[i] * y[i]) * np.float32(0.5) + x[i]


@numba.njit(nogil=True, parallel=True)
def elementwise_parallel(x, y, out, n):
    for i in prange(n):
        out[i] = np.sqrt(x[i] * x[i] + y[i] * y[i]) * np.float32(0.5) + x[i]


def elementwise_numpy(x, y, out, n):
    np.add(np.sqrt(x * x + y * y) * np.float32(0.5), x, out=out)


@kernel
def grid_stride(a: f32, x: f32[:], y: f32[:], n: i32):
    """The grid-stride loop numba and CUDA programmers write to cover n with a fixed grid."""
    start = global_id()
    stride = grid_dim_x() * block_dim_x()
    for i in range(start, n, stride):
        y[i] = a * x[i]


@numba.njit(nogil=True)
def grid_stride_serial(a, x, y, n):
    for i in range(n):
        y[i] = a * x[i]


@numba.njit(nogil=True, parallel=True)
def grid_stride_parallel(a, x, y, n):
    for i in prange(n):
        y[i] = a * x[i]


def grid_stride_numpy(a, x, y, n):
    np.multiply(x, np.float32(a), out=y)


# ---------------------------------------------------------------- shared memory + barriers
@kernel
def block_reduce(x: f32[:], out: f32[:]):
    """Tree reduction in shared memory: one partial sum per block of 256."""
    buf = shared_array(BLOCK, f32)
    t = thread_idx_x()
    buf[t] = x[block_idx_x() * BLOCK + t]
    sync_threads()
    s = BLOCK // 2
    while s > 0:
        if t < s:
            buf[t] += buf[t + s]
        sync_threads()
        s //= 2
    if t == 0:
        out[block_idx_x()] = buf[0]


@numba.njit(nogil=True)
def block_reduce_serial(x, out):
    for b in range(out.shape[0]):
        s = np.float32(0.0)
        for t in range(BLOCK):
            s += x[b * BLOCK + t]
        out[b] = s


@numba.njit(nogil=True, parallel=True)
def block_reduce_parallel(x, out):
    for b in prange(out.shape[0]):
        s = np.float32(0.0)
        for t in range(BLOCK):
            s += x[b * BLOCK + t]
        out[b] = s


def block_reduce_numpy(x, out):
    np.sum(x.reshape(-1, BLOCK), axis=1, out=out)


@kernel
def matmul(a: f32[:, :], b: f32[:, :], c: f32[:, :], n: i32):
    """Tiled matrix product through shared memory (the CUDA programming guide's)."""
    sa = shared_array((TILE, TILE), f32)
    sb = shared_array((TILE, TILE), f32)
    tx = thread_idx_x()
    ty = thread_idx_y()
    row = block_idx_y() * TILE + ty
    col = block_idx_x() * TILE + tx
    acc = a[0, 0] * 0.0
    for k0 in range(0, n, TILE):
        sa[ty, tx] = a[row, k0 + tx]
        sb[ty, tx] = b[k0 + ty, col]
        sync_threads()
        for k in range(TILE):
            acc += sa[ty, k] * sb[k, tx]
        sync_threads()
    c[row, col] = acc


@numba.njit(nogil=True)
def matmul_serial(a, b, c, n):
    for i in range(n):
        for j in range(n):
            c[i, j] = 0.0
        for k in range(n):
            aik = a[i, k]
            for j in range(n):
                c[i, j] += aik * b[k, j]


@numba.njit(nogil=True, parallel=True)
def matmul_parallel(a, b, c, n):
    for i in prange(n):
        for j in range(n):
            c[i, j] = 0.0
        for k in range(n):
            aik = a[i, k]
            for j in range(n):
                c[i, j] += aik * b[k, j]


def matmul_numpy(a, b, c, n):
    np.matmul(a, b, out=c)


@kernel
def transpose(a: f32[:, :], out: f32[:, :]):
    """Transpose through a padded shared tile (coalesced reads and writes on a GPU)."""
    tile = shared_array((TILE, TILE + 1), f32)
    tx = thread_idx_x()
    ty = thread_idx_y()
    tile[ty, tx] = a[block_idx_y() * TILE + ty, block_idx_x() * TILE + tx]
    sync_threads()
    out[block_idx_x() * TILE + ty, block_idx_y() * TILE + tx] = tile[tx, ty]


@numba.njit(nogil=True)
def transpose_serial(a, out):
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            out[j, i] = a[i, j]


@numba.njit(nogil=True, parallel=True)
def transpose_parallel(a, out):
    for i in prange(a.shape[0]):
        for j in range(a.shape[1]):
            out[j, i] = a[i, j]


def transpose_numpy(a, out):
    out[...] = a.T


@kernel
def histogram(x: i32[:], hist: i32[:], n: i32):
    """256-bin histogram: shared-memory atomics per block, then one global atomic per bin."""
    h = shared_array(BLOCK, i32)
    t = thread_idx_x()
    h[t] = 0
    sync_threads()
    stride = grid_dim_x() * block_dim_x()
    for j in range(global_id(), n, stride):
        atomic_add(h, x[j], 1)
    sync_threads()
    atomic_add(hist, t, h[t])


@numba.njit(nogil=True)
def histogram_serial(x, hist, n):
    for j in range(n):
        hist[x[j]] += 1


@numba.njit(nogil=True, parallel=True)
def histogram_parallel(x, hist, n):
    nchunk = numba.get_num_threads()
    part = np.zeros((nchunk, hist.shape[0]), np.int32)
    for c in prange(nchunk):
        for j in range(c * n // nchunk, (c + 1) * n // nchunk):
            part[c, x[j]] += 1
    for c in range(nchunk):
        for b in range(hist.shape[0]):
            hist[b] += part[c, b]


def histogram_numpy(x, hist, n):
    hist += np.bincount(x, minlength=hist.shape[0]).astype(np.int32)


# ---------------------------------------------------------------- stencils
@stencil(tile=(16, 16), halo=1)
def heat2d(u: Field2D[f32], out: Field2D[f32], alpha: f32):
    out[0, 0] = u[0, 0] + alpha * (u.north + u.south + u.east + u.west - 4.0 * u[0, 0])


@numba.njit(nogil=True)
def heat2d_serial(u, out, alpha):
    for y in range(1, u.shape[0] - 1):
        for x in range(1, u.shape[1] - 1):
            out[y, x] = u[y, x] + alpha * (u[y - 1, x] + u[y + 1, x] + u[y, x + 1] + u[y, x - 1] - 4.0 * u[y, x])


@numba.njit(nogil=True, parallel=True)
def heat2d_parallel(u, out, alpha):
    for y in prange(1, u.shape[0] - 1):
        for x in range(1, u.shape[1] - 1):
            out[y, x] = u[y, x] + alpha * (u[y - 1, x] + u[y + 1, x] + u[y, x + 1] + u[y, x - 1] - 4.0 * u[y, x])


def heat2d_numpy(u, out, alpha):
    c = u[1:-1, 1:-1]
    out[1:-1, 1:-1] = c + alpha * (u[:-2, 1:-1] + u[2:, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2] - np.float32(4.0) * c)


@stencil(tile=(4, 8, 32), halo=1)
def heat3d(u: Field3D[f32], out: Field3D[f32], alpha: f32):
    out[0, 0, 0] = u[0, 0, 0] + alpha * (u.north + u.south + u.east + u.west + u.up + u.down - 6.0 * u[0, 0, 0])


@numba.njit(nogil=True)
def heat3d_serial(u, out, alpha):
    for z in range(1, u.shape[0] - 1):
        for y in range(1, u.shape[1] - 1):
            for x in range(1, u.shape[2] - 1):
                out[z, y, x] = u[z, y, x] + alpha * (u[z, y - 1, x] + u[z, y + 1, x] + u[z, y, x + 1]
                                                     + u[z, y, x - 1] + u[z - 1, y, x] + u[z + 1, y, x]
                                                     - 6.0 * u[z, y, x])


@numba.njit(nogil=True, parallel=True)
def heat3d_parallel(u, out, alpha):
    for z in prange(1, u.shape[0] - 1):
        for y in range(1, u.shape[1] - 1):
            for x in range(1, u.shape[2] - 1):
                out[z, y, x] = u[z, y, x] + alpha * (u[z, y - 1, x] + u[z, y + 1, x] + u[z, y, x + 1]
                                                     + u[z, y, x - 1] + u[z - 1, y, x] + u[z + 1, y, x]
                                                     - 6.0 * u[z, y, x])


def heat3d_numpy(u, out, alpha):
    c = u[1:-1, 1:-1, 1:-1]
    out[1:-1, 1:-1, 1:-1] = c + alpha * (u[1:-1, :-2, 1:-1] + u[1:-1, 2:, 1:-1] + u[1:-1, 1:-1, 2:]
                                         + u[1:-1, 1:-1, :-2] + u[:-2, 1:-1, 1:-1] + u[2:, 1:-1, 1:-1]
                                         - np.float32(6.0) * c)
