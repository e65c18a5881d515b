"""Kernels from NVIDIA's CUDA samples and programming guide and from numba-cuda's documentation examples,
ported to ringkernel beside their original host code.

Sources: NVIDIA/cuda-samples (Samples/...), the CUDA C++ Programming Guide
(docs.nvidia.com/cuda/cuda-c-programming-guide, section named at each kernel), and NVIDIA/numba-cuda
(numba_cuda/numba/cuda/tests/doc_examples/..., the examples its documentation shows).
"""
import math
from math import pi

import numpy as np

from ringkernel_codegen import boolean, device, f32, f64, i32, i64, kernel, u32
from ringkernel_codegen.dsl import (
    atomic_add, atomic_and, atomic_cas, atomic_dec, atomic_exch, atomic_inc, atomic_max, atomic_min, atomic_or,
    atomic_sub, atomic_xor, block_dim_x, block_dim_y, block_idx_x, block_idx_y, global_id, global_id_x,
    global_id_y, grid_dim_x, grid_sync, shared_array, shfl_down_sync, shfl_sync, shfl_up_sync, shfl_xor_sync,
    sync_threads, sync_warp, thread_idx_x, thread_idx_y, threadfence,
)

from .case_support import Case, cdiv, try_decorate

FULL = 0xFFFFFFFF
SAMPLES = "NVIDIA/cuda-samples "
NUMBA_DOCS = "NVIDIA/numba-cuda numba_cuda/numba/cuda/tests/doc_examples/"
GUIDE = "CUDA C++ Programming Guide (docs.nvidia.com/cuda/cuda-c-programming-guide), "


def _rng(seed):
    return np.random.default_rng(seed)


# ============================================================================ vectorAdd
# Source: NVIDIA/cuda-samples Samples/0_Introduction/vectorAdd/vectorAdd.cu (vectorAdd, main)
@kernel
def vectorAdd(A: f32[:], B: f32[:], C: f32[:], numElements: i32):
    i = block_dim_x() * block_idx_x() + thread_idx_x()

    if i < numElements:
        C[i] = A[i] + B[i] + 0.0


def _build_vectoradd(size):
    n = 5000 if size == "cpu" else 700
    r = _rng(30)
    return dict(n=n, A=r.random(n, np.float32), B=r.random(n, np.float32))


def _geo_vectoradd(d):
    threadsPerBlock = 256
    return {"vectorAdd": ((d["n"] + threadsPerBlock - 1) // threadsPerBlock, threadsPerBlock)}


def _run_vectoradd(go, d):
    C = np.zeros(d["n"], np.float32)
    go(vectorAdd, *_geo_vectoradd(d)["vectorAdd"])(d["A"], d["B"], C, d["n"])
    return {"C": C}


def _ref_vectoradd(d):
    return {"C": d["A"] + d["B"]}


# ============================================================================ MatAdd
# Source: CUDA C++ Programming Guide, "Thread Hierarchy" (MatAdd with 2D blocks and grid)
MATADD_N = 40


@kernel
def MatAdd(A: f32[:, :], B: f32[:, :], C: f32[:, :]):  # PORT: float A[N][N] parameters are 2D arrays
    i = block_idx_x() * block_dim_x() + thread_idx_x()
    j = block_idx_y() * block_dim_y() + thread_idx_y()
    if i < MATADD_N and j < MATADD_N:
        C[i, j] = A[i, j] + B[i, j]


def _build_matadd(size):
    r = _rng(31)
    return dict(A=r.random((MATADD_N, MATADD_N), np.float32), B=r.random((MATADD_N, MATADD_N), np.float32))


def _geo_matadd(d):
    threadsPerBlock = (16, 16)
    numBlocks = (MATADD_N // threadsPerBlock[0], MATADD_N // threadsPerBlock[1])  # as the guide: N / 16
    # the guide assumes N a multiple of 16 ("for simplicity"); N = 40 is not, so round up
    numBlocks = (cdiv(MATADD_N, threadsPerBlock[0]), cdiv(MATADD_N, threadsPerBlock[1]))
    return {"MatAdd": (numBlocks, threadsPerBlock)}


def _run_matadd(go, d):
    C = np.zeros_like(d["A"])
    go(MatAdd, *_geo_matadd(d)["MatAdd"])(d["A"], d["B"], C)
    return {"C": C}


def _ref_matadd(d):
    return {"C": d["A"] + d["B"]}


# ============================================================================ matrixMul
# Source: NVIDIA/cuda-samples Samples/0_Introduction/matrixMul/matrixMul.cu (MatrixMulCUDA<BLOCK_SIZE>,
# MatrixMultiply); the tiled algorithm of the programming guide's shared-memory chapter
BLOCK_SIZE = 16  # the template parameter (the host picks 16 or 32)


@kernel
def MatrixMulCUDA(C: f32[:], A: f32[:], B: f32[:], wA: i32, wB: i32):
    # Block index
    bx = block_idx_x()
    by = block_idx_y()

    # Thread index
    tx = thread_idx_x()
    ty = thread_idx_y()

    # Index of the first sub-matrix of A processed by the block
    aBegin = wA * BLOCK_SIZE * by

    # Index of the last sub-matrix of A processed by the block
    aEnd = aBegin + wA - 1

    # Step size used to iterate through the sub-matrices of A
    aStep = BLOCK_SIZE

    # Index of the first sub-matrix of B processed by the block
    bBegin = BLOCK_SIZE * bx

    # Step size used to iterate through the sub-matrices of B
    bStep = BLOCK_SIZE * wB

    # Csub is used to store the element of the block sub-matrix that is computed by the thread
    Csub: f32 = 0

    # Loop over all the sub-matrices of A and B required to compute the block sub-matrix
    a = aBegin  # PORT: for (int a = aBegin, b = bBegin; a <= aEnd; a += aStep, b += bStep) as a while loop
    b = bBegin
    while a <= aEnd:
        # Declaration of the shared memory array As used to store the sub-matrix of A
        As = shared_array((BLOCK_SIZE, BLOCK_SIZE), f32)

        # Declaration of the shared memory array Bs used to store the sub-matrix of B
        Bs = shared_array((BLOCK_SIZE, BLOCK_SIZE), f32)

        # Load the matrices from device memory to shared memory; each thread loads one element of each matrix
        As[ty, tx] = A[a + wA * ty + tx]
        Bs[ty, tx] = B[b + wB * ty + tx]

        # Synchronize to make sure the matrices are loaded
        sync_threads()

        # Multiply the two matrices together; each thread computes one element of the block sub-matrix
        for k in range(BLOCK_SIZE):
            Csub += As[ty, k] * Bs[k, tx]

        # Synchronize to make sure that the preceding computation is done before loading two new
        # sub-matrices of A and B in the next iteration
        sync_threads()
        a += aStep
        b += bStep

    # Write the block sub-matrix to device memory; each thread writes one element
    c = wB * BLOCK_SIZE * by + BLOCK_SIZE * bx
    C[c + wB * ty + tx] = Csub


def _build_matrixmul(size):
    # dimsA = (wA, hA), dimsB = (wB, hB) with wA == hB; multiples of the block (the sample's grid is dims / block)
    wA, hA, wB = (64, 48, 80) if size == "cpu" else (32, 32, 48)
    r = _rng(32)
    return dict(wA=wA, hA=hA, wB=wB, A=r.random(hA * wA, np.float32), B=r.random(wA * wB, np.float32))


def _geo_matrixmul(d):
    threads = (BLOCK_SIZE, BLOCK_SIZE)
    return {"MatrixMulCUDA": ((d["wB"] // threads[0], d["hA"] // threads[1]), threads)}


def _run_matrixmul(go, d):
    C = np.zeros(d["hA"] * d["wB"], np.float32)
    go(MatrixMulCUDA, *_geo_matrixmul(d)["MatrixMulCUDA"])(C, d["A"], d["B"], d["wA"], d["wB"])
    return {"C": C}


def _ref_matrixmul(d):
    A = d["A"].reshape(d["hA"], d["wA"]).astype(np.float64)
    return {"C": (A @ d["B"].reshape(d["wA"], d["wB"])).ravel()}


# ============================================================================ simpleAtomicIntrinsics
# Source: NVIDIA/cuda-samples Samples/0_Introduction/simpleAtomicIntrinsics/simpleAtomicIntrinsics_kernel.cuh
# (testKernel) and simpleAtomicIntrinsics.cu (runTest)
@kernel
def testKernel(g_odata: u32[:]):
    # PORT: int *g_odata is the same buffer viewed as unsigned int (the host passes hOData.view(uint32)):
    # atomic_inc/atomic_dec exist for unsigned only, as atomicInc/atomicDec, which the original reaches by
    # casting &g_odata[5] and &g_odata[6] to (unsigned int *); there are no pointer casts to write that.
    # The other operations give the same bits on either type for these values (max/min see 0..tid < 2^31).
    # access thread id
    tid: u32 = block_dim_x() * block_idx_x() + thread_idx_x()

    # Test various atomic instructions

    # Arithmetic atomic instructions

    # Atomic addition
    atomic_add(g_odata, 0, 10)

    # Atomic subtraction (final should be 0)
    atomic_sub(g_odata, 1, 10)

    # Atomic exchange
    atomic_exch(g_odata, 2, tid)

    # Atomic maximum
    atomic_max(g_odata, 3, tid)

    # Atomic minimum
    atomic_min(g_odata, 4, tid)

    # Atomic increment (modulo 17+1)
    atomic_inc(g_odata, 5, 17)

    # Atomic decrement
    atomic_dec(g_odata, 6, 137)

    # Atomic compare-and-swap
    atomic_cas(g_odata, 7, tid - 1, tid)

    # Bitwise atomic instructions

    # Atomic AND
    atomic_and(g_odata, 8, 2 * tid + 7)

    # Atomic OR
    atomic_or(g_odata, 9, 1 << tid)

    # Atomic XOR
    atomic_xor(g_odata, 10, tid)


def _build_atomics(size):
    # the sample: 64 blocks of 256 threads; 2 blocks of 16 keep 1 << tid inside an int
    hOData = np.zeros(11, np.int32)
    hOData[8] = hOData[10] = 0xff  # To make the AND and XOR tests generate something other than 0...
    return dict(numBlocks=2, numThreads=16, g_odata=hOData)


def _geo_atomics(d):
    return {"testKernel": (d["numBlocks"], d["numThreads"])}


def _run_atomics(go, d):
    g = d["g_odata"]
    go(testKernel, *_geo_atomics(d)["testKernel"])(g.view(np.uint32))
    n = d["numBlocks"] * d["numThreads"]
    # [2] (exchange) and [7] (CAS chain) depend on the order the threads reach them: check their ranges
    return {"values": g[[0, 1, 3, 4, 5, 6, 8, 9, 10]], "exch_in_range": np.array(0 <= g[2] < n),
            "cas_in_range": np.array(0 <= g[7] < n)}


def _ref_atomics(d):  # computeGold
    n = d["numBlocks"] * d["numThreads"]
    tids = np.arange(n, dtype=np.int64)
    vals = [10 * n, -10 * n, n - 1, 0, n % 18, (-n) % 138, int(np.bitwise_and.reduce(2 * tids + 7) & 0xff),
            int(np.bitwise_or.reduce(np.int64(1) << tids)), int(0xff ^ np.bitwise_xor.reduce(tids))]
    return {"values": np.array(vals, np.int64).astype(np.int32), "exch_in_range": np.array(True),
            "cas_in_range": np.array(True)}


# ============================================================================ reduction (shared memory)
# Source: NVIDIA/cuda-samples Samples/2_Concepts_and_Techniques/reduction/reduction_kernel.cu (reduce0..3
# with T = float; commit 2b689228b746248b7bb7d2778d5ea0701669f7d3)
RED_THREADS = 64


@kernel
def reduce0(g_idata: f32[:], g_odata: f32[:], n: u32):
    # Handle to thread block group
    sdata = shared_array(0, f32)  # SharedMemory<T>(): extern dynamic shared memory, sized by the launch

    # load shared mem
    tid: u32 = thread_idx_x()
    i: u32 = block_idx_x() * block_dim_x() + thread_idx_x()

    sdata[tid] = g_idata[i] if (i < n) else 0

    sync_threads()  # PORT: cg::sync(cta) is sync_threads()

    # do reduction in shared mem
    s: u32 = 1  # PORT: for (unsigned int s = 1; s < blockDim.x; s *= 2) as a while loop
    while s < block_dim_x():
        # modulo arithmetic is slow!
        if (tid % (2 * s)) == 0:
            sdata[tid] += sdata[tid + s]

        sync_threads()
        s *= 2

    # write result for this block to global mem
    if tid == 0:
        g_odata[block_idx_x()] = sdata[0]


@kernel
def reduce1(g_idata: f32[:], g_odata: f32[:], n: u32):
    sdata = shared_array(0, f32)  # SharedMemory<T>(): dynamic shared memory

    # load shared mem
    tid: u32 = thread_idx_x()
    i: u32 = block_idx_x() * block_dim_x() + thread_idx_x()

    sdata[tid] = g_idata[i] if (i < n) else 0

    sync_threads()

    # do reduction in shared mem
    s: u32 = 1  # PORT: the for loop as a while loop
    while s < block_dim_x():
        index: i32 = 2 * s * tid

        if index < block_dim_x():
            sdata[index] += sdata[index + s]

        sync_threads()
        s *= 2

    # write result for this block to global mem
    if tid == 0:
        g_odata[block_idx_x()] = sdata[0]


@kernel
def reduce2(g_idata: f32[:], g_odata: f32[:], n: u32):
    sdata = shared_array(0, f32)  # SharedMemory<T>(): dynamic shared memory

    # load shared mem
    tid: u32 = thread_idx_x()
    i: u32 = block_idx_x() * block_dim_x() + thread_idx_x()

    sdata[tid] = g_idata[i] if (i < n) else 0

    sync_threads()

    # do reduction in shared mem
    s: u32 = block_dim_x() // 2  # PORT: for (unsigned int s = blockDim.x / 2; s > 0; s >>= 1) as a while loop
    while s > 0:
        if tid < s:
            sdata[tid] += sdata[tid + s]

        sync_threads()
        s >>= 1

    # write result for this block to global mem
    if tid == 0:
        g_odata[block_idx_x()] = sdata[0]


@kernel
def reduce3(g_idata: f32[:], g_odata: f32[:], n: u32):
    sdata = shared_array(0, f32)  # SharedMemory<T>(): dynamic shared memory

    # perform first level of reduction, reading from global memory, writing to shared memory
    tid: u32 = thread_idx_x()
    i: u32 = block_idx_x() * (block_dim_x() * 2) + thread_idx_x()

    mySum: f32 = g_idata[i] if (i < n) else 0

    if i + block_dim_x() < n:
        mySum += g_idata[i + block_dim_x()]

    sdata[tid] = mySum
    sync_threads()

    # do reduction in shared mem
    s: u32 = block_dim_x() // 2  # PORT: the for loop as a while loop
    while s > 0:
        if tid < s:
            mySum = mySum + sdata[tid + s]  # PORT: sdata[tid] = mySum = mySum + sdata[tid + s] (chained)
            sdata[tid] = mySum

        sync_threads()
        s >>= 1

    # write result for this block to global mem
    if tid == 0:
        g_odata[block_idx_x()] = mySum


def _build_reduction(size):
    n = 1000 if size == "cpu" else 300
    return dict(n=n, idata=_rng(33).random(n, np.float32))


def _geo_reduction(d):
    n, threads = d["n"], RED_THREADS
    one = (n + threads - 1) // threads  # getNumBlocksAndThreads: kernels < 3 read one element per thread
    two = (n + threads * 2 - 1) // (threads * 2)  # the others two
    return {"reduce0": (one, threads), "reduce1": (one, threads), "reduce2": (one, threads),
            "reduce3": (two, threads)}


def _run_reduction(go, d):
    g = _geo_reduction(d)
    out = {}
    for k in (reduce0, reduce1, reduce2, reduce3):
        grid, block = g[k.name]
        odata = np.zeros(grid, np.float32)
        # reduction.cpp: smemSize = (threads <= 32) ? 2 * threads * sizeof(T) : threads * sizeof(T)
        smem = (2 * block if block <= 32 else block) * 4
        go(k, grid, block, smem)(d["idata"], odata, np.uint32(d["n"]))
        out[k.name] = odata
    return out


def _block_sums(x, per_block):
    padded = np.zeros(cdiv(len(x), per_block) * per_block)
    padded[:len(x)] = x
    return padded.reshape(-1, per_block).sum(axis=1)


def _ref_reduction(d):
    x = d["idata"].astype(np.float64)
    one, two = _block_sums(x, RED_THREADS), _block_sums(x, 2 * RED_THREADS)
    return {"reduce0": one, "reduce1": one, "reduce2": one, "reduce3": two}


# ============================================================================ reduction (warp shuffle)
# Source: NVIDIA/cuda-samples Samples/2_Concepts_and_Techniques/reduction/reduction_kernel.cu (reduce4<T,
# blockSize>, reduce6<T, blockSize, nIsPow2> with T = float, blockSize = 64)
RED_BLOCK = 64  # the blockSize template parameter
NISPOW2 = False  # the nIsPow2 template parameter (the host picks it from n)


@kernel
def reduce4(g_idata: f32[:], g_odata: f32[:], n: u32):
    sdata = shared_array(RED_BLOCK, f32)  # PORT: SharedMemory<T>() as a fixed shared array

    # perform first level of reduction, reading from global memory, writing to shared memory
    tid: u32 = thread_idx_x()
    i: u32 = block_idx_x() * (block_dim_x() * 2) + thread_idx_x()

    mySum: f32 = g_idata[i] if (i < n) else 0

    if i + RED_BLOCK < n:
        mySum += g_idata[i + RED_BLOCK]

    sdata[tid] = mySum
    sync_threads()

    # do reduction in shared mem
    s: u32 = block_dim_x() // 2  # PORT: the for loop as a while loop
    while s > 32:
        if tid < s:
            mySum = mySum + sdata[tid + s]  # PORT: chained assignment split
            sdata[tid] = mySum

        sync_threads()
        s >>= 1

    # PORT: cg::thread_block_tile<32> tile32 = cg::tiled_partition<32>(cta); its shfl_down is
    # __shfl_down_sync over the full warp and cta.thread_rank() is threadIdx.x in a 1D block
    if thread_idx_x() < 32:
        # Fetch final intermediate sum from 2nd warp
        if RED_BLOCK >= 64:
            mySum += sdata[tid + 32]
        # Reduce final warp using shuffle
        offset = 32 // 2  # PORT: for (int offset = tile32.size() / 2; offset > 0; offset /= 2) as a while loop
        while offset > 0:
            mySum += shfl_down_sync(FULL, mySum, offset)
            offset //= 2

    # write result for this block to global mem
    if thread_idx_x() == 0:
        g_odata[block_idx_x()] = mySum


@kernel
def reduce6(g_idata: f32[:], g_odata: f32[:], n: u32):
    sdata = shared_array(RED_BLOCK, f32)  # PORT: SharedMemory<T>() as a fixed shared array

    # perform first level of reduction, reading from global memory, writing to shared memory
    tid: u32 = thread_idx_x()
    gridSize: u32 = RED_BLOCK * grid_dim_x()

    mySum: f32 = 0

    # we reduce multiple elements per thread.  The number is determined by the number of active thread
    # blocks (via gridDim).  More blocks will result in a larger gridSize and therefore fewer elements
    # per thread
    if NISPOW2:
        i: u32 = block_idx_x() * RED_BLOCK * 2 + thread_idx_x()
        gridSize = gridSize << 1

        while i < n:
            mySum += g_idata[i]
            # ensure we don't read out of bounds -- this is optimized away for powerOf2 sized arrays
            if (i + RED_BLOCK) < n:
                mySum += g_idata[i + RED_BLOCK]
            i += gridSize
    else:
        i: u32 = block_idx_x() * RED_BLOCK + thread_idx_x()
        while i < n:
            mySum += g_idata[i]
            i += gridSize

    # each thread puts its local sum into shared memory
    sdata[tid] = mySum
    sync_threads()

    # do reduction in shared mem
    if (RED_BLOCK >= 512) and (tid < 256):
        mySum = mySum + sdata[tid + 256]  # PORT: chained assignment split
        sdata[tid] = mySum

    sync_threads()

    if (RED_BLOCK >= 256) and (tid < 128):
        mySum = mySum + sdata[tid + 128]
        sdata[tid] = mySum

    sync_threads()

    if (RED_BLOCK >= 128) and (tid < 64):
        mySum = mySum + sdata[tid + 64]
        sdata[tid] = mySum

    sync_threads()

    if thread_idx_x() < 32:  # PORT: tile32 / cta.thread_rank() as in reduce4
        # Fetch final intermediate sum from 2nd warp
        if RED_BLOCK >= 64:
            mySum += sdata[tid + 32]
        # Reduce final warp using shuffle
        offset = 32 // 2
        while offset > 0:
            mySum += shfl_down_sync(FULL, mySum, offset)
            offset //= 2

    # write result for this block to global mem
    if thread_idx_x() == 0:
        g_odata[block_idx_x()] = mySum


def _geo_reduction_shfl(d):
    n = d["n"]
    return {"reduce4": ((n + RED_BLOCK * 2 - 1) // (RED_BLOCK * 2), RED_BLOCK),
            "reduce6": (3, RED_BLOCK)}  # the host caps kernel 6's blocks (maxBlocks); 3 makes it loop


def _run_reduction_shfl(go, d):
    g = _geo_reduction_shfl(d)
    out = {}
    for k in (reduce4, reduce6):
        grid, block = g[k.name]
        odata = np.zeros(grid, np.float32)
        go(k, grid, block)(d["idata"], odata, np.uint32(d["n"]))
        out[k.name] = odata
    return out


def _ref_reduction_shfl(d):
    x = d["idata"].astype(np.float64)
    strided = np.zeros(3)
    for b in range(3):  # block b sums i = b * 64 + t + k * 192 over its 64 threads
        for t in range(RED_BLOCK):
            strided[b] += x[b * RED_BLOCK + t::3 * RED_BLOCK].sum()
    return {"reduce4": _block_sums(x, 2 * RED_BLOCK), "reduce6": strided}


# ============================================================================ threadFenceReduction
# Source: NVIDIA/cuda-samples Samples/2_Concepts_and_Techniques/threadFenceReduction/threadFenceReduction_kernel.cuh
# (reduceBlock, reduceBlocks, reduceSinglePass<blockSize, nIsPow2> with blockSize = 64, nIsPow2 = false;
# commit ceab6e8bcce41c1a8af0cf872098ae745d9ce5ff); the pattern of the guide's __threadfence() example
TF_BLOCK = 64
TF_NISPOW2 = False


@device
def reduceBlock(sdata: f32[:], mySum: f32, tid: u32):
    # PORT: the cg::thread_block argument is implicit; cg::sync(tile32) is sync_warp(FULL), cg::sync(cta)
    # sync_threads(); `volatile float *sdata` is the shared array (volatile has no spelling)
    sdata[tid] = mySum
    sync_warp(FULL)

    VEC = 32
    vid: i32 = tid & (VEC - 1)

    beta = mySum

    i = VEC // 2  # PORT: for (int i = VEC / 2; i > 0; i >>= 1) as a while loop
    while i > 0:
        if vid < i:
            temp = sdata[tid + i]
            beta += temp
            sdata[tid] = beta
        sync_warp(FULL)
        i >>= 1
    sync_threads()

    if thread_idx_x() == 0:  # cta.thread_rank() == 0
        beta = 0
        for i2 in range(0, block_dim_x(), VEC):  # PORT: loop variable i2 (i is the while loop's above)
            beta += sdata[i2]
        sdata[0] = beta
    sync_threads()


@device
def reduceBlocks(g_idata: f32[:], g_odata: f32[:], n: u32, sdata: f32[:]):
    # PORT: extern __shared__ float sdata[] is declared by the kernel and passed in

    # perform first level of reduction, reading from global memory, writing to shared memory
    tid: u32 = thread_idx_x()
    i: u32 = block_idx_x() * (TF_BLOCK * 2) + thread_idx_x()
    gridSize: u32 = TF_BLOCK * 2 * grid_dim_x()
    mySum: f32 = 0

    # we reduce multiple elements per thread.  The number is determined by the number of active thread
    # blocks (via gridDim).  More blocks will result in a larger gridSize and therefore fewer elements
    # per thread
    while i < n:
        mySum += g_idata[i]

        # ensure we don't read out of bounds -- this is optimized away for powerOf2 sized arrays
        if TF_NISPOW2 or i + TF_BLOCK < n:
            mySum += g_idata[i + TF_BLOCK]

        i += gridSize

    # do reduction in shared mem
    reduceBlock(sdata, mySum, tid)

    # write result for this block to global mem
    if tid == 0:
        g_odata[block_idx_x()] = sdata[0]


@kernel
def reduceSinglePass(g_idata: f32[:], g_odata: f32[:], n: u32, retirementCount: u32[:]):
    # PORT: `__device__ unsigned int retirementCount` (a global variable) is a 1-element array argument
    smem = shared_array(TF_BLOCK, f32)  # PORT: the dynamic shared memory both functions alias
    #
    # PHASE 1: Process all inputs assigned to this block
    #

    reduceBlocks(g_idata, g_odata, n, smem)

    #
    # PHASE 2: Last block finished will process all partial sums
    #

    if grid_dim_x() > 1:
        tid: u32 = thread_idx_x()
        amLast = shared_array(1, boolean)  # PORT: __shared__ bool amLast as a 1-element shared array

        # wait until all outstanding memory instructions in this thread are finished
        threadfence()

        # Thread 0 takes a ticket
        if tid == 0:
            ticket = atomic_inc(retirementCount, 0, grid_dim_x())
            # If the ticket ID is equal to the number of blocks, we are the last block!
            amLast[0] = ticket == grid_dim_x() - 1

        sync_threads()

        # The last block sums the results of all other blocks
        if amLast[0]:
            i: i32 = tid
            mySum: f32 = 0

            while i < grid_dim_x():
                mySum += g_odata[i]
                i += TF_BLOCK

            reduceBlock(smem, mySum, tid)

            if tid == 0:
                g_odata[0] = smem[0]

                # reset retirement count so that next run succeeds
                retirementCount[0] = 0


def _build_tfreduce(size):
    n = 1000 if size == "cpu" else 500
    return dict(n=n, idata=_rng(34).random(n, np.float32))


def _geo_tfreduce(d):
    return {"reduceSinglePass": (4, TF_BLOCK)}  # getNumBlocksAndThreads caps the blocks; 4 make each loop


def _run_tfreduce(go, d):
    grid, block = _geo_tfreduce(d)["reduceSinglePass"]
    odata = np.zeros(grid, np.float32)
    count = np.zeros(1, np.uint32)
    go(reduceSinglePass, grid, block)(d["idata"], odata, np.uint32(d["n"]), count)
    return {"sum": odata[:1], "retirementCount": count}


def _ref_tfreduce(d):
    return {"sum": np.array([d["idata"].astype(np.float64).sum()]), "retirementCount": np.zeros(1, np.uint32)}


# ============================================================================ warp shuffle examples
# Source: CUDA C++ Programming Guide, "Warp Shuffle Functions", Examples (bcast, scan4, warpReduce)
@kernel
def bcast(arg: i32, out: i32[:]):  # PORT: printf("Thread %d failed.") records the value in out[] instead
    laneId = thread_idx_x() & 0x1f
    value = 0  # PORT: `int value;` (a local needs a value; only lane 0's is read)
    if laneId == 0:  # Note unused variable for
        value = arg  # all threads except lane 0
    value = shfl_sync(0xffffffff, value, 0)  # Synchronize all threads in warp, and get "value" from lane 0
    out[thread_idx_x()] = value


@kernel
def scan4(out: i32[:]):  # PORT: printf of the final value records it in out[] instead
    laneId = thread_idx_x() & 0x1f
    # Seed sample starting value (inverse of lane ID)
    value = 31 - laneId

    # Loop to accumulate scan within my partition.
    # Scan requires log2(n) == 3 steps for 8 threads
    # It works by an accumulated sum up the warp
    # by 1, 2, 4, 8 etc. steps.
    i = 1  # PORT: for (int i=1; i<=4; i*=2) as a while loop
    while i <= 4:
        # We do the __shfl_sync unconditionally so that we
        # can read even from threads which won't do a
        # sum, and then conditionally assign the result.
        n = shfl_up_sync(0xffffffff, value, i)  # PORT: __shfl_up_sync(..., i, 8): shfl_up_sync has no width
        # argument; where the result is used ((laneId & 7) >= i) the source lane lies in the same 8-lane
        # segment, so the full-warp shuffle reads the same value
        if (laneId & 7) >= i:
            value += n
        i *= 2

    out[thread_idx_x()] = value


@kernel
def warpReduce(out: i32[:]):  # PORT: printf of the final value records it in out[] instead
    laneId = thread_idx_x() & 0x1f
    # Seed starting value as inverse lane ID
    value = 31 - laneId

    # Use XOR mode to perform butterfly reduction
    i = 16  # PORT: for (int i=16; i>=1; i/=2) as a while loop
    while i >= 1:
        value += shfl_xor_sync(0xffffffff, value, i)  # PORT: the width argument 32 is the default
        i //= 2

    # "value" now contains the sum across all threads
    out[thread_idx_x()] = value


def _build_shfl(size):
    return dict(threads=64, arg=1234)


def _geo_shfl(d):
    return {"bcast": (1, d["threads"]), "scan4": (1, d["threads"]), "warpReduce": (1, d["threads"])}


def _run_shfl(go, d):
    g = _geo_shfl(d)
    out = {}
    o = np.zeros(d["threads"], np.int32)
    go(bcast, *g["bcast"])(d["arg"], o)
    out["bcast"] = o
    o = np.zeros(d["threads"], np.int32)
    go(scan4, *g["scan4"])(o)
    out["scan4"] = o
    o = np.zeros(d["threads"], np.int32)
    go(warpReduce, *g["warpReduce"])(o)
    out["warpReduce"] = o
    return out


def _ref_shfl(d):
    lane = np.arange(d["threads"]) % 32
    seed = 31 - lane
    seg = seed.reshape(-1, 8)
    return {"bcast": np.full(d["threads"], d["arg"], np.int32), "scan4": np.cumsum(seg, axis=1).ravel().astype(np.int32),
            "warpReduce": np.full(d["threads"], sum(range(32)), np.int32)}


# ============================================================================ numba-cuda: matmul, fast_matmul
# Source: NVIDIA/numba-cuda numba_cuda/numba/cuda/tests/doc_examples/test_matmul.py (matmul, fast_matmul;
# commit 071e82e1880f3eea875f3981622cf9ac83de955e)
TPB = 16


@kernel
def matmul(A: i64[:, :], B: f64[:, :], C: f64[:, :]):  # PORT: parameter types annotated (numba infers them)
    """Perform square matrix multiplication of C = A * B."""
    i = global_id_x()  # PORT: i, j = cuda.grid(2) (no tuple results) as two calls
    j = global_id_y()
    if i < C.shape[0] and j < C.shape[1]:
        tmp = 0.0
        for k in range(A.shape[1]):
            tmp += A[i, k] * B[k, j]
        C[i, j] = tmp


@kernel
def fast_matmul(A: i64[:, :], B: f64[:, :], C: f64[:, :]):  # PORT: parameter types annotated
    """
    Perform matrix multiplication of C = A * B using CUDA shared memory.

    Reference: https://stackoverflow.com/a/64198479/13697228 by @RobertCrovella
    """
    # Define an array in the shared memory
    # The size and type of the arrays must be known at compile time
    sA = shared_array((TPB, TPB), f32)
    sB = shared_array((TPB, TPB), f32)

    x = global_id_x()  # PORT: x, y = cuda.grid(2) as two calls
    y = global_id_y()

    tx = thread_idx_x()
    ty = thread_idx_y()
    bpg = grid_dim_x()  # blocks per grid

    # Each thread computes one element in the result matrix.
    # The dot product is chunked into dot products of TPB-long vectors.
    tmp = f32(0.)
    for i in range(bpg):
        # Preload data into shared memory
        sA[ty, tx] = 0
        sB[ty, tx] = 0
        if y < A.shape[0] and (tx + i * TPB) < A.shape[1]:
            sA[ty, tx] = A[y, tx + i * TPB]
        if x < B.shape[1] and (ty + i * TPB) < B.shape[0]:
            sB[ty, tx] = B[ty + i * TPB, x]

        # Wait until all threads finish preloading
        sync_threads()

        # Computes partial product on the shared memory
        for j in range(TPB):
            tmp += sA[ty, j] * sB[j, tx]

        # Wait until all threads finish computing
        sync_threads()
    if y < C.shape[0] and x < C.shape[1]:
        C[y, x] = tmp


def _build_matmul(size):
    # the example's non-square run: x_h = np.arange(115).reshape([5, 23]), y_h = np.ones([23, 7])
    return dict(x_h=np.arange(115).reshape([5, 23]).astype(np.int64), y_h=np.ones([23, 7]),
                sq_x=np.arange(16).reshape([4, 4]).astype(np.int64), sq_y=np.ones([4, 4]))


def _geo_matmul(d):
    threadsperblock = (16, 16)
    sq = (math.ceil(4 / threadsperblock[0]), math.ceil(4 / threadsperblock[1]))
    grid_y_max = max(d["x_h"].shape[0], d["y_h"].shape[0])
    grid_x_max = max(d["x_h"].shape[1], d["y_h"].shape[1])
    ns = (math.ceil(grid_x_max / threadsperblock[0]), math.ceil(grid_y_max / threadsperblock[1]))
    return {"matmul": (sq, threadsperblock), "fast_matmul": (ns, (TPB, TPB))}


def _run_matmul(go, d):
    g = _geo_matmul(d)
    z = np.zeros([4, 4])
    go(matmul, *g["matmul"])(d["sq_x"], d["sq_y"], z)
    zn = np.zeros([5, 7])
    go(fast_matmul, *g["fast_matmul"])(d["x_h"], d["y_h"], zn)
    return {"matmul": z, "fast_matmul": zn}


def _ref_matmul(d):
    return {"matmul": d["sq_x"] @ d["sq_y"], "fast_matmul": d["x_h"] @ d["y_h"]}


# ============================================================================ numba-cuda: array_sum
# Source: NVIDIA/numba-cuda numba_cuda/numba/cuda/tests/doc_examples/test_reduction.py (array_sum;
# commit 071e82e1880f3eea875f3981622cf9ac83de955e)
nelem = 256  # len(a); the example uses np.arange(1024)


@kernel
def array_sum(data: i64[:]):  # PORT: parameter type annotated
    tid = thread_idx_x()
    size = len(data)
    if tid < size:
        i = global_id()  # cuda.grid(1)

        # Declare an array in shared memory
        shr = shared_array(nelem, i32)
        shr[tid] = data[i]

        # Ensure writes to shared memory are visible
        # to all threads before reducing
        sync_threads()

        s = 1
        while s < block_dim_x():
            if tid % (2 * s) == 0:
                # Stride by `s` and add
                shr[tid] += shr[tid + s]
            s *= 2
            sync_threads()

        # After the loop, the zeroth  element contains the sum
        if tid == 0:
            data[tid] = shr[tid]


def _build_array_sum(size):
    return dict(a=np.arange(nelem, dtype=np.int64))


def _geo_array_sum(d):
    return {"array_sum": (1, nelem)}  # array_sum[1, nelem](a)


def _run_array_sum(go, d):
    go(array_sum, *_geo_array_sum(d)["array_sum"])(d["a"])
    return {"a0": d["a"][:1]}


def _ref_array_sum(d):
    return {"a0": np.array([d["a"].sum()])}


# ============================================================================ numba-cuda: laplace (grid sync)
# Source: NVIDIA/numba-cuda numba_cuda/numba/cuda/tests/doc_examples/test_laplace.py (solve_heat_equation;
# commit 1459796401cc48b5036a58f75ebcf7752bf33e49)
@try_decorate(kernel)
def solve_heat_equation(buf_0: f64[:], buf_1: f64[:], timesteps: i32, k: f64):  # PORT: types annotated
    i = global_id()  # cuda.grid(1)

    # Don't continue if our index is outside the domain
    if i >= len(buf_0):
        return

    # Prepare to do a grid-wide synchronization later
    # PORT: grid = cuda.cg.this_grid() has no counterpart; grid.sync() is grid_sync()

    for step in range(timesteps):
        # Select the buffer from the previous timestep
        if (step % 2) == 0:
            data = buf_0
            next_data = buf_1
        else:
            data = buf_1
            next_data = buf_0

        # Get the current temperature associated with this point
        curr_temp = data[i]

        # Apply formula from finite difference equation
        if i == 0:
            # Left wall is held at T = 0
            next_temp = curr_temp + k * (data[i + 1] - (2 * curr_temp))
        elif i == len(data) - 1:
            # Right wall is held at T = 0
            next_temp = curr_temp + k * (data[i - 1] - (2 * curr_temp))
        else:
            # Interior points are a weighted average of their neighbors
            next_temp = curr_temp + k * (data[i - 1] - (2 * curr_temp) + data[i + 1])

        # Write new value to the next buffer
        next_data[i] = next_temp

        # Wait for every thread to write before moving on
        grid_sync()


def _build_laplace(size):
    n = 65  # an odd size, so there is a middle element (the example: 1001)
    data = np.zeros(n)
    data[n // 2] = 10000  # Middle element is made very hot
    return dict(n=n, data=data, niter=40)


def _geo_laplace(d):
    return {"solve_heat_equation": (cdiv(d["n"], 32), 32)}  # .forall(len(data)) picks the launch; 32 threads


def _run_laplace(go, d):
    buf_0, buf_1 = d["data"].copy(), np.zeros_like(d["data"])
    go(solve_heat_equation, *_geo_laplace(d)["solve_heat_equation"])(buf_0, buf_1, d["niter"], 0.25)
    return {"buf_0": buf_0, "buf_1": buf_1}


def _ref_laplace(d):
    bufs = [d["data"].copy(), np.zeros_like(d["data"])]
    for step in range(d["niter"]):
        data, nxt = bufs[step % 2], bufs[1 - step % 2]
        p = np.concatenate([[0.0], data, [0.0]])
        nxt[:] = data + 0.25 * (p[:-2] - 2 * data + p[2:])
    return {"buf_0": bufs[0], "buf_1": bufs[1]}


# The same program with both buffers in one array and every thread reaching the grid barrier (a separate
# case; it was the way around the array-valued-local refusal that solve_heat_equation first met):
# Source: NVIDIA/numba-cuda numba_cuda/numba/cuda/tests/doc_examples/test_laplace.py (solve_heat_equation)
@kernel
def solve_heat_equation_bufs(bufs: f64[:, :], timesteps: i32, k: f64):
    # PORT: buf_0, buf_1 are the rows of one [2, n] array and `data = buf_0` / `next_data = buf_1` become
    # the row indices step % 2 and 1 - step % 2
    i = global_id()  # cuda.grid(1)
    n = bufs.shape[1]

    # PORT: `if i >= len(buf_0): return` guards the body instead: a thread that returned would never reach
    # the grid barrier below (undefined in CUDA as well)

    for step in range(timesteps):
        # Select the buffer from the previous timestep
        data = step % 2
        next_data = 1 - step % 2

        if i < n:
            # Get the current temperature associated with this point
            curr_temp = bufs[data, i]

            # Apply formula from finite difference equation
            if i == 0:
                # Left wall is held at T = 0
                next_temp = curr_temp + k * (bufs[data, i + 1] - (2 * curr_temp))
            elif i == n - 1:
                # Right wall is held at T = 0
                next_temp = curr_temp + k * (bufs[data, i - 1] - (2 * curr_temp))
            else:
                # Interior points are a weighted average of their neighbors
                next_temp = curr_temp + k * (bufs[data, i - 1] - (2 * curr_temp) + bufs[data, i + 1])

            # Write new value to the next buffer
            bufs[next_data, i] = next_temp

        # Wait for every thread to write before moving on
        grid_sync()


def _geo_laplace_bufs(d):
    return {"solve_heat_equation_bufs": _geo_laplace(d)["solve_heat_equation"]}


def _run_laplace_bufs(go, d):
    bufs = np.stack([d["data"], np.zeros_like(d["data"])])
    go(solve_heat_equation_bufs, *_geo_laplace_bufs(d)["solve_heat_equation_bufs"])(bufs, d["niter"], 0.25)
    return {"buf_0": bufs[0], "buf_1": bufs[1]}


# ============================================================================ numba-cuda: sessionize
# Source: NVIDIA/numba-cuda numba_cuda/numba/cuda/tests/doc_examples/test_sessionize.py (sessionize;
# commit 071e82e1880f3eea875f3981622cf9ac83de955e)
session_timeout = np.int64(np.timedelta64("3600", "s"))


@kernel
def sessionize(user_id: i64[:], timestamp: i64[:], results: f64[:]):  # PORT: parameter types annotated
    gid = global_id()  # cuda.grid(1)
    size = len(user_id)

    if gid >= size:
        return

    # Determine session boundaries
    is_first_datapoint = gid == 0
    if not is_first_datapoint:
        new_user = user_id[gid] != user_id[gid - 1]
        timed_out = (timestamp[gid] - timestamp[gid - 1] > session_timeout)
        is_sess_boundary = new_user or timed_out
    else:
        is_sess_boundary = True

    # Determine session labels
    if is_sess_boundary:
        # This thread marks the start of a session
        results[gid] = gid

        # Make sure all session boundaries are written
        # before populating the session id
        # PORT: grid = cuda.cg.this_grid(); grid.sync() is grid_sync()
        grid_sync()

        look_ahead = 1
        # Check elements 'forward' of this one
        # until a new session boundary is found
        while results[gid + look_ahead] == 0:
            results[gid + look_ahead] = gid
            look_ahead += 1
            # Avoid out-of-bounds accesses by the last thread
            if gid + look_ahead == size - 1:
                results[gid + look_ahead] = gid
                break


def _build_sessionize(size):
    ids = np.array([1, 1, 1, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4])
    sec = np.array([1, 2, 3, 5000, 5001, 5002, 1, 2, 3, 1, 2, 5000, 5001, 10000, 10001, 10002, 10003, 15000, 150001,
                    1, 5000, 50001, 15000, 20000, 25000, 25001, 25002, 25003],
                   dtype="datetime64[ns]").astype("int64")
    return dict(ids=ids.astype(np.int64), sec=sec)


def _geo_sessionize(d):
    return {"sessionize": (1, 32)}  # .forall(len(ids)): one block covers the 28 elements


def _run_sessionize(go, d):
    results = np.zeros(len(d["ids"]))
    go(sessionize, *_geo_sessionize(d)["sessionize"])(d["ids"], d["sec"], results)
    return {"results": results}


def _ref_sessionize(d):
    return {"results": np.array([0, 0, 0, 3, 3, 3, 6, 6, 6, 9, 9, 11, 11, 13, 13, 13, 13, 17, 18, 19, 20, 21, 21,
                                 23, 24, 24, 24, 24], np.float64)}


# The same program with the grid barrier every thread reaches (a separate case; the faithful one is refused):
# Source: NVIDIA/numba-cuda numba_cuda/numba/cuda/tests/doc_examples/test_sessionize.py (sessionize)
@kernel
def sessionize_sync_all(user_id: i64[:], timestamp: i64[:], results: f64[:]):  # PORT: types annotated
    gid = global_id()  # cuda.grid(1)
    size = len(user_id)

    # PORT: `if gid >= size: return` and grid.sync() inside `if is_sess_boundary:` leave threads that never
    # reach the grid barrier (undefined in CUDA); every thread now reaches one top-level grid_sync()
    is_sess_boundary = False
    if gid < size:
        # Determine session boundaries
        is_first_datapoint = gid == 0
        if not is_first_datapoint:
            new_user = user_id[gid] != user_id[gid - 1]
            timed_out = (timestamp[gid] - timestamp[gid - 1] > session_timeout)
            is_sess_boundary = new_user or timed_out
        else:
            is_sess_boundary = True

    # Determine session labels
    if is_sess_boundary:
        # This thread marks the start of a session
        results[gid] = gid

    # Make sure all session boundaries are written
    # before populating the session id
    grid_sync()

    if is_sess_boundary:
        look_ahead = 1
        # Check elements 'forward' of this one
        # until a new session boundary is found
        while results[gid + look_ahead] == 0:
            results[gid + look_ahead] = gid
            look_ahead += 1
            # Avoid out-of-bounds accesses by the last thread
            if gid + look_ahead == size - 1:
                results[gid + look_ahead] = gid
                break


def _geo_sessionize_sync_all(d):
    return {"sessionize_sync_all": (2, 16)}  # two blocks, so the grid barrier spans blocks


def _run_sessionize_sync_all(go, d):
    results = np.zeros(len(d["ids"]))
    go(sessionize_sync_all, *_geo_sessionize_sync_all(d)["sessionize_sync_all"])(d["ids"], d["sec"], results)
    return {"results": results}


# ============================================================================ numba-cuda: globals
# Source: NVIDIA/numba-cuda numba_cuda/numba/cuda/tests/doc_examples/test_globals.py
# (test_ex_globals_constant_capture; commit 0e9fc8e7982d1dc03fceca1166b5801ba9ea05a2)
TAX_RATE = 0.08
PRICES = np.array([10.0, 25.0, 5.0, 15.0, 30.0], dtype=np.float64)


@kernel
def compute_totals(quantities: f64[:], totals: f64[:]):  # PORT: parameter types annotated
    i = global_id()  # cuda.grid(1)
    if i < len(totals):  # PORT: totals.size ('.size' is not supported on kernel arrays); 1D: len()
        totals[i] = quantities[i] * PRICES[i] * (1 + TAX_RATE)


def _build_globals(size):
    return dict(quantities=np.array([1, 2, 3, 4, 5], dtype=np.float64))


def _geo_globals(d):
    return {"compute_totals": (1, 32)}


def _run_globals(go, d):
    totals = np.zeros(5)
    go(compute_totals, *_geo_globals(d)["compute_totals"])(d["quantities"], totals)
    return {"totals": totals}


def _ref_globals(d):
    return {"totals": np.array([10.8, 54.0, 16.2, 64.8, 162.0])}


# ============================================================================ numba-cuda: cpu_gpu_compat
# Source: NVIDIA/numba-cuda numba_cuda/numba/cuda/tests/doc_examples/test_cpu_gpu_compat.py (business_logic,
# f; commit 071e82e1880f3eea875f3981622cf9ac83de955e)
@device  # PORT: @numba.jit (a function both the CPU and kernels call) is a @device function
def business_logic(x: i64, y: i64, z: i64) -> f64:  # PORT: parameter types annotated
    return 4 * z * (2 * x - (4 * y) / 2 * pi)


@kernel
def f(res: f64[:], xarr: i64[:], yarr: i64[:], zarr: i64[:]):  # PORT: parameter types annotated
    tid = global_id()  # cuda.grid(1)
    if tid < len(xarr):
        # The function decorated with numba.jit may be directly reused
        res[tid] = business_logic(xarr[tid], yarr[tid], zarr[tid])


def _build_compat(size):
    return dict(X=np.array([1, 10, 234]), Y=np.array([2, 2, 4014]), Z=np.array([3, 14, 2211]))


def _geo_compat(d):
    return {"f": (1, 32)}  # .forall(len(X))


def _run_compat(go, d):
    results = np.array([0.0, 0.0, 0.0])
    go(f, *_geo_compat(d)["f"])(results, d["X"], d["Y"], d["Z"])
    return {"results": results}


def _ref_compat(d):
    return {"results": np.array([4 * z * (2 * x - (4 * y) / 2 * pi) for x, y, z in zip(d["X"], d["Y"], d["Z"])])}


# ============================================================================ cases
NO_WARPS = "the simulator has no warp operations (shfl_*_sync)"
NO_GRID_SYNC = "grid_sync needs every block resident at once; the simulator runs blocks one after another"
NO_SYNCWARP = "the simulator has no syncwarp (sync_warp)"
DIVERGENT_GRID_SYNC = ("upstream, not a ringkernel defect: the example calls grid.sync() under the "
                       "thread-divergent `if is_sess_boundary` after an early return, undefined in CUDA; the "
                       "CPU emulator refuses it ('grid_sync() inside control flow whose condition can differ "
                       "between threads'); sessionize-sync-all is the valid form")
CASES = [
    Case("cuda-samples.vectorAdd", SAMPLES + "Samples/0_Introduction/vectorAdd/vectorAdd.cu", (vectorAdd,),
         _geo_vectoradd, _build_vectoradd, _run_vectoradd, _ref_vectoradd, ("1D grid", "bounds guard")),
    Case("guide.MatAdd", GUIDE + "Thread Hierarchy", (MatAdd,), _geo_matadd, _build_matadd, _run_matadd,
         _ref_matadd, ("2D arrays", "2D grid", "module constant")),
    Case("cuda-samples.matrixMul", SAMPLES + "Samples/0_Introduction/matrixMul/matrixMul.cu", (MatrixMulCUDA,),
         _geo_matrixmul, _build_matrixmul, _run_matrixmul, _ref_matrixmul,
         ("shared memory 2D", "barriers in a loop", "shared arrays declared in the loop", "2D grid")),
    Case("cuda-samples.simpleAtomicIntrinsics",
         SAMPLES + "Samples/0_Introduction/simpleAtomicIntrinsics/simpleAtomicIntrinsics_kernel.cuh", (testKernel,),
         _geo_atomics, _build_atomics, _run_atomics, _ref_atomics,
         ("atomics (add, sub, exch, max, min, inc, dec, cas, and, or, xor)", "unsigned arithmetic")),
    Case("cuda-samples.reduction", SAMPLES + "Samples/2_Concepts_and_Techniques/reduction/reduction_kernel.cu",
         (reduce0, reduce1, reduce2, reduce3), _geo_reduction, _build_reduction, _run_reduction, _ref_reduction,
         ("dynamic shared memory", "tree reduction", "barrier in a while loop", "unsigned arithmetic")),
    Case("cuda-samples.reduction-shfl", SAMPLES + "Samples/2_Concepts_and_Techniques/reduction/reduction_kernel.cu",
         (reduce4, reduce6), _geo_reduction_shfl, _build_reduction, _run_reduction_shfl, _ref_reduction_shfl,
         ("shared memory", "warp shuffle (shfl_down_sync)", "grid-stride while loop", "constant-folded if"),
         sim=NO_WARPS),
    Case("cuda-samples.threadFenceReduction",
         SAMPLES + "Samples/2_Concepts_and_Techniques/threadFenceReduction/threadFenceReduction_kernel.cuh",
         (reduceSinglePass,), _geo_tfreduce, _build_tfreduce, _run_tfreduce, _ref_tfreduce,
         ("device functions with barriers", "shared array as an argument", "sync_warp", "threadfence",
          "atomic_inc ticket", "last-block pattern", "shared bool"), sim=NO_SYNCWARP),
    Case("guide.warp-shuffle", GUIDE + "Warp Shuffle Functions, Examples", (bcast, scan4, warpReduce), _geo_shfl,
         _build_shfl, _run_shfl, _ref_shfl, ("shfl_sync", "shfl_up_sync", "shfl_xor_sync"), sim=NO_WARPS),
    Case("numba-cuda.matmul", NUMBA_DOCS + "test_matmul.py", (matmul, fast_matmul), _geo_matmul, _build_matmul,
         _run_matmul, _ref_matmul,
         ("2D arrays", ".shape", "shared memory 2D", "barriers in a loop", "int64 x float64", "2D grid")),
    Case("numba-cuda.array_sum", NUMBA_DOCS + "test_reduction.py", (array_sum,), _geo_array_sum, _build_array_sum,
         _run_array_sum, _ref_array_sum,
         ("shared memory declared in an if", "barriers inside an if", "while loop", "len()")),
    Case("numba-cuda.laplace", NUMBA_DOCS + "test_laplace.py", (solve_heat_equation,), _geo_laplace, _build_laplace,
         _run_laplace, _ref_laplace, ("grid_sync in a loop", "array-valued locals (buffer swap)", "early return"),
         sim=NO_GRID_SYNC),
    Case("numba-cuda.laplace-bufs", NUMBA_DOCS + "test_laplace.py", (solve_heat_equation_bufs,), _geo_laplace_bufs,
         _build_laplace, _run_laplace_bufs, _ref_laplace, ("grid_sync in a loop", "2D array", ".shape"),
         sim=NO_GRID_SYNC, notes="solve_heat_equation with the buffers as rows of one array (PORT)"),
    Case("numba-cuda.sessionize", NUMBA_DOCS + "test_sessionize.py", (sessionize,), _geo_sessionize,
         _build_sessionize, _run_sessionize, _ref_sessionize,
         ("grid_sync in an if", "while + break", "int64 timestamps", "bool locals"),
         xfail={"cpu": DIVERGENT_GRID_SYNC},
         notes="the simulator runs it: one block, so its grid barrier is a block barrier"),
    Case("numba-cuda.sessionize-sync-all", NUMBA_DOCS + "test_sessionize.py", (sessionize_sync_all,),
         _geo_sessionize_sync_all, _build_sessionize, _run_sessionize_sync_all, _ref_sessionize,
         ("grid_sync (top level, 2 blocks)", "while + break", "int64 timestamps", "bool locals"), sim=NO_GRID_SYNC,
         notes="sessionize with one grid barrier every thread reaches (PORT)"),
    Case("numba-cuda.globals", NUMBA_DOCS + "test_globals.py", (compute_totals,), _geo_globals, _build_globals,
         _run_globals, _ref_globals, ("module-level NumPy array constant",)),
    Case("numba-cuda.cpu_gpu_compat", NUMBA_DOCS + "test_cpu_gpu_compat.py", (f,), _geo_compat, _build_compat,
         _run_compat, _ref_compat, ("device function", "int64 -> float64 promotion", "math.pi")),
]
