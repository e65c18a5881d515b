"""PolyBench/GPU 1.0 (CUDA) kernels ported to ringkernel, each beside its original host driver.

Source: cavazos-lab/PolyBench-ACC, folder CUDA/ (commit 1ed3b31d0ccf9f2b0fdbb09fbb8b1d5d33e9f1d2).
DATA_TYPE is float there. The problem-size macros of each benchmark's .cuh (NI, NJ, N, ...) are module
constants here, shared by the benchmarks that use the same name, at small test sizes; `_PB_NI` is the
runtime parameter `ni`, as in the original. DIM_THREAD_BLOCK_X/Y (32 x 8 in the .cuh files) are
configuration macros of the host code; the drivers use 8 x 8 blocks so that the small sizes still
make several blocks in each direction.
"""
import math

import numpy as np

from ringkernel_codegen import f32, i32, kernel, stencil, Field2D
from ringkernel_codegen.dsl import block_dim_x, block_dim_y, block_idx_x, block_idx_y, thread_idx_x, thread_idx_y

from .case_support import Case, cdiv

# problem sizes (the .cuh macros), shared by the benchmarks that use the same names
NI = 16
NJ = 20
NK = 12
NL = 24
N = 20
M = 16
NX = 20
NY = 24
TMAX = 4
TSTEPS = 4
FLOAT_N = 3214212.01
EPS = 0.005
BX = 8  # DIM_THREAD_BLOCK_X in the drivers (see the module docstring)
BY = 8  # DIM_THREAD_BLOCK_Y


def _rng(seed):
    return np.random.default_rng(seed)


# ============================================================================ 2mm
# Source: cavazos-lab/PolyBench-ACC CUDA/2MM/2mm.cu (mm2_kernel1, mm2_kernel2, mm2Cuda)
@kernel
def mm2_kernel1(ni: i32, nj: i32, nk: i32, nl: i32, alpha: f32, beta: f32, tmp: f32[:], A: f32[:], B: f32[:]):
    j = block_idx_x() * block_dim_x() + thread_idx_x()
    i = block_idx_y() * block_dim_y() + thread_idx_y()

    if (i < ni) and (j < nj):
        tmp[i * NJ + j] = 0
        for k in range(nk):
            tmp[i * NJ + j] += alpha * A[i * NK + k] * B[k * NJ + j]


@kernel
def mm2_kernel2(ni: i32, nj: i32, nk: i32, nl: i32, alpha: f32, beta: f32, tmp: f32[:], C: f32[:], D: f32[:]):
    j = block_idx_x() * block_dim_x() + thread_idx_x()
    i = block_idx_y() * block_dim_y() + thread_idx_y()

    if (i < ni) and (j < nl):
        D[i * NL + j] *= beta
        for k in range(nj):
            D[i * NL + j] += tmp[i * NJ + k] * C[k * NL + j]


def _build_2mm(size):
    r = _rng(1)
    return dict(alpha=np.float32(1.5), beta=np.float32(0.5), tmp=np.zeros(NI * NJ, np.float32),
                A=r.random(NI * NK, np.float32), B=r.random(NK * NJ, np.float32),
                C=r.random(NJ * NL, np.float32), D=r.random(NI * NL, np.float32))


def _geo_2mm(inp):
    block = (BX, BY)
    return {"mm2_kernel1": ((cdiv(NJ, BX), cdiv(NI, BY)), block),
            "mm2_kernel2": ((cdiv(NL, BX), cdiv(NI, BY)), block)}


def _run_2mm(go, d):
    g = _geo_2mm(d)
    go(mm2_kernel1, *g["mm2_kernel1"])(NI, NJ, NK, NL, d["alpha"], d["beta"], d["tmp"], d["A"], d["B"])
    go(mm2_kernel2, *g["mm2_kernel2"])(NI, NJ, NK, NL, d["alpha"], d["beta"], d["tmp"], d["C"], d["D"])
    return {"D": d["D"]}


def _ref_2mm(d):
    A, B = d["A"].reshape(NI, NK).astype(np.float64), d["B"].reshape(NK, NJ)
    C, D = d["C"].reshape(NJ, NL), d["D"].reshape(NI, NL)
    tmp = d["alpha"] * A @ B
    return {"D": (d["beta"] * D + tmp @ C).ravel()}


# ============================================================================ atax
# Source: cavazos-lab/PolyBench-ACC CUDA/ATAX/atax.cu (atax_kernel1, atax_kernel2, ataxGpu)
@kernel
def atax_kernel1(nx: i32, ny: i32, A: f32[:], x: f32[:], tmp: f32[:]):
    i = block_idx_x() * block_dim_x() + thread_idx_x()

    if i < nx:
        tmp[i] = 0
        for j in range(ny):
            tmp[i] += A[i * NY + j] * x[j]


@kernel
def atax_kernel2(nx: i32, ny: i32, A: f32[:], y: f32[:], tmp: f32[:]):
    j = block_idx_x() * block_dim_x() + thread_idx_x()

    if j < ny:
        y[j] = 0
        for i in range(nx):
            y[j] += A[i * NY + j] * tmp[i]


def _build_atax(size):
    r = _rng(2)
    return dict(A=r.random(NX * NY, np.float32), x=r.random(NY, np.float32), y=np.zeros(NY, np.float32),
                tmp=np.zeros(NX, np.float32))


def _geo_atax(inp):
    return {"atax_kernel1": ((cdiv(NX, BX), 1), (BX, 1)), "atax_kernel2": ((cdiv(NY, BX), 1), (BX, 1))}


def _run_atax(go, d):
    g = _geo_atax(d)
    go(atax_kernel1, *g["atax_kernel1"])(NX, NY, d["A"], d["x"], d["tmp"])
    go(atax_kernel2, *g["atax_kernel2"])(NX, NY, d["A"], d["y"], d["tmp"])
    return {"y": d["y"]}


def _ref_atax(d):
    A = d["A"].reshape(NX, NY).astype(np.float64)
    return {"y": A.T @ (A @ d["x"])}


# ============================================================================ bicg
# Source: cavazos-lab/PolyBench-ACC CUDA/BICG/bicg.cu (bicg_kernel1, bicg_kernel2, bicgCuda)
@kernel
def bicg_kernel1(nx: i32, ny: i32, A: f32[:], r: f32[:], s: f32[:]):
    j = block_idx_x() * block_dim_x() + thread_idx_x()

    if j < ny:
        s[j] = 0.0

        for i in range(nx):
            s[j] += r[i] * A[i * NY + j]


@kernel
def bicg_kernel2(nx: i32, ny: i32, A: f32[:], p: f32[:], q: f32[:]):
    i = block_idx_x() * block_dim_x() + thread_idx_x()

    if i < nx:
        q[i] = 0.0

        for j in range(ny):
            q[i] += A[i * NY + j] * p[j]


def _build_bicg(size):
    r = _rng(3)
    return dict(A=r.random(NX * NY, np.float32), r=r.random(NX, np.float32), s=np.zeros(NY, np.float32),
                p=r.random(NY, np.float32), q=np.zeros(NX, np.float32))


def _geo_bicg(inp):
    return {"bicg_kernel1": ((cdiv(NY, BX), 1), (BX, 1)), "bicg_kernel2": ((cdiv(NX, BX), 1), (BX, 1))}


def _run_bicg(go, d):
    g = _geo_bicg(d)
    go(bicg_kernel1, *g["bicg_kernel1"])(NX, NY, d["A"], d["r"], d["s"])
    go(bicg_kernel2, *g["bicg_kernel2"])(NX, NY, d["A"], d["p"], d["q"])
    return {"s": d["s"], "q": d["q"]}


def _ref_bicg(d):
    A = d["A"].reshape(NX, NY).astype(np.float64)
    return {"s": d["r"] @ A, "q": A @ d["p"]}


# ============================================================================ mvt
# Source: cavazos-lab/PolyBench-ACC CUDA/MVT/mvt.cu (mvt_kernel1, mvt_kernel2, mvtCuda)
@kernel
def mvt_kernel1(n: i32, a: f32[:], x1: f32[:], y_1: f32[:]):
    i = block_idx_x() * block_dim_x() + thread_idx_x()

    if i < n:
        for j in range(n):
            x1[i] += a[i * N + j] * y_1[j]


@kernel
def mvt_kernel2(n: i32, a: f32[:], x2: f32[:], y_2: f32[:]):
    i = block_idx_x() * block_dim_x() + thread_idx_x()

    if i < n:
        for j in range(n):
            x2[i] += a[j * N + i] * y_2[j]


def _build_mvt(size):
    r = _rng(4)
    return dict(a=r.random(N * N, np.float32), x1=r.random(N, np.float32), x2=r.random(N, np.float32),
                y_1=r.random(N, np.float32), y_2=r.random(N, np.float32))


def _geo_mvt(inp):
    return {"mvt_kernel1": ((cdiv(N, BX), 1), (BX, 1)), "mvt_kernel2": ((cdiv(N, BX), 1), (BX, 1))}


def _run_mvt(go, d):
    g = _geo_mvt(d)
    go(mvt_kernel1, *g["mvt_kernel1"])(N, d["a"], d["x1"], d["y_1"])
    go(mvt_kernel2, *g["mvt_kernel2"])(N, d["a"], d["x2"], d["y_2"])
    return {"x1": d["x1"], "x2": d["x2"]}


def _ref_mvt(d):
    a = d["a"].reshape(N, N).astype(np.float64)
    return {"x1": d["x1"] + a @ d["y_1"], "x2": d["x2"] + a.T @ d["y_2"]}


# ============================================================================ syrk
# Source: cavazos-lab/PolyBench-ACC CUDA/SYRK/syrk.cu (syrk_kernel, syrkCuda)
@kernel
def syrk_kernel(ni: i32, nj: i32, alpha: f32, beta: f32, a: f32[:], c: f32[:]):
    #  C := alpha*A*A' + beta*C
    j = block_idx_x() * block_dim_x() + thread_idx_x()
    i = block_idx_y() * block_dim_y() + thread_idx_y()

    if (i < ni) and (j < ni):
        c[i * NI + j] *= beta
        for k in range(nj):
            c[i * NI + j] += alpha * a[i * NJ + k] * a[j * NJ + k]


def _build_syrk(size):
    r = _rng(5)
    return dict(alpha=np.float32(1.25), beta=np.float32(0.75), a=r.random(NI * NJ, np.float32),
                c=r.random(NI * NI, np.float32))


def _geo_syrk(inp):
    return {"syrk_kernel": ((cdiv(NI, BX), cdiv(NI, BY)), (BX, BY))}


def _run_syrk(go, d):
    go(syrk_kernel, *_geo_syrk(d)["syrk_kernel"])(NI, NJ, d["alpha"], d["beta"], d["a"], d["c"])
    return {"c": d["c"]}


def _ref_syrk(d):
    a = d["a"].reshape(NI, NJ).astype(np.float64)
    return {"c": (d["beta"] * d["c"].reshape(NI, NI) + d["alpha"] * a @ a.T).ravel()}


# ============================================================================ correlation
# Source: cavazos-lab/PolyBench-ACC CUDA/CORR/correlation.cu (mean_kernel, std_kernel, reduce_kernel,
# corr_kernel, correlationCuda). data is N rows of M columns (data[i*M + j], i < n, j < m).
@kernel
def corr_mean_kernel(m: i32, n: i32, mean: f32[:], data: f32[:]):  # PORT: mean_kernel (name taken by covariance)
    j = block_idx_x() * block_dim_x() + thread_idx_x()

    if j < m:
        mean[j] = 0.0

        for i in range(n):
            mean[j] += data[i * M + j]

        mean[j] /= f32(FLOAT_N)


@kernel
def corr_std_kernel(m: i32, n: i32, mean: f32[:], std: f32[:], data: f32[:]):  # PORT: std_kernel (naming)
    j = block_idx_x() * block_dim_x() + thread_idx_x()

    if j < m:
        std[j] = 0.0

        for i in range(n):
            std[j] += (data[i * M + j] - mean[j]) * (data[i * M + j] - mean[j])
        std[j] /= FLOAT_N
        std[j] = math.sqrt(std[j])
        if std[j] <= EPS:
            std[j] = 1.0


@kernel
def corr_reduce_kernel(m: i32, n: i32, mean: f32[:], std: f32[:], data: f32[:]):  # PORT: reduce_kernel (naming)
    j = block_idx_x() * block_dim_x() + thread_idx_x()
    i = block_idx_y() * block_dim_y() + thread_idx_y()

    if (i < n) and (j < m):
        data[i * M + j] -= mean[j]
        data[i * M + j] /= (math.sqrt(f32(FLOAT_N)) * std[j])


@kernel
def corr_kernel(m: i32, n: i32, symmat: f32[:], data: f32[:]):
    j1 = block_idx_x() * block_dim_x() + thread_idx_x()

    if j1 < (m - 1):
        symmat[j1 * M + j1] = 1.0

        for j2 in range(j1 + 1, m):
            symmat[j1 * M + j2] = 0.0

            for i in range(n):
                symmat[j1 * M + j2] += data[i * M + j1] * data[i * M + j2]
            symmat[j2 * M + j1] = symmat[j1 * M + j2]


def _build_corr(size):
    r = _rng(6)
    # columns with distinct means and spreads (FLOAT_N, not n, divides: the stddevs are tiny, so the
    # EPS clamp to 1.0 is what the kernel exercises for most columns, as in the original)
    data = (r.random((N, M)) * np.linspace(1.0, 4000.0, M) + np.arange(M)).astype(np.float32)
    return dict(data=data.ravel(), mean=np.zeros(M, np.float32), std=np.zeros(M, np.float32),
                symmat=np.zeros(M * M, np.float32))


def _geo_corr(inp):
    # the original: grid1 = (size_t)(ceil((float)(M)) / ((float)X)), i.e. M / X truncated; exact here
    return {"corr_mean_kernel": ((cdiv(M, BX), 1), (BX, 1)), "corr_std_kernel": ((cdiv(M, BX), 1), (BX, 1)),
            "corr_reduce_kernel": ((cdiv(M, BX), cdiv(N, BY)), (BX, BY)),
            "corr_kernel": ((cdiv(M, BX), 1), (BX, 1))}


def _run_corr(go, d):
    g = _geo_corr(d)
    go(corr_mean_kernel, *g["corr_mean_kernel"])(M, N, d["mean"], d["data"])
    go(corr_std_kernel, *g["corr_std_kernel"])(M, N, d["mean"], d["std"], d["data"])
    go(corr_reduce_kernel, *g["corr_reduce_kernel"])(M, N, d["mean"], d["std"], d["data"])
    go(corr_kernel, *g["corr_kernel"])(M, N, d["symmat"], d["data"])
    d["symmat"][(M - 1) * M + (M - 1)] = 1.0  # the host's cudaMemcpy of valueAtSymmatIndexMTimesMPlus1PlusMPoint
    return {"symmat": d["symmat"], "mean": d["mean"], "std": d["std"]}


def _ref_corr(d):
    data = d["data"].reshape(N, M).astype(np.float64)
    fn = np.float64(np.float32(FLOAT_N))
    mean = data.sum(axis=0) / fn
    std = np.sqrt(((data - mean) ** 2).sum(axis=0) / fn)
    std = np.where(std <= np.float32(EPS), 1.0, std)
    data = (data - mean) / (np.sqrt(fn) * std)
    sym = data.T @ data
    np.fill_diagonal(sym, 1.0)
    return {"symmat": sym.ravel(), "mean": mean, "std": std}


# ============================================================================ covariance
# Source: cavazos-lab/PolyBench-ACC CUDA/COVAR/covariance.cu (mean_kernel, reduce_kernel, covar_kernel,
# covarianceCuda)
@kernel
def mean_kernel(m: i32, n: i32, mean: f32[:], data: f32[:]):
    j = block_idx_x() * block_dim_x() + thread_idx_x()

    if j < m:
        mean[j] = 0.0

        for i in range(n):
            mean[j] += data[i * M + j]
        mean[j] /= f32(FLOAT_N)


@kernel
def reduce_kernel(m: i32, n: i32, mean: f32[:], data: f32[:]):
    j = block_idx_x() * block_dim_x() + thread_idx_x()
    i = block_idx_y() * block_dim_y() + thread_idx_y()

    if (i < n) and (j < m):
        data[i * M + j] -= mean[j]


@kernel
def covar_kernel(m: i32, n: i32, symmat: f32[:], data: f32[:]):
    j1 = block_idx_x() * block_dim_x() + thread_idx_x()

    if j1 < m:
        for j2 in range(j1, m):
            symmat[j1 * M + j2] = 0.0
            for i in range(n):
                symmat[j1 * M + j2] += data[i * M + j1] * data[i * M + j2]
            symmat[j2 * M + j1] = symmat[j1 * M + j2]


def _build_covar(size):
    r = _rng(7)
    return dict(data=(r.random(N * M) * 1000.0).astype(np.float32), mean=np.zeros(M, np.float32),
                symmat=np.zeros(M * M, np.float32))


def _geo_covar(inp):
    return {"mean_kernel": ((cdiv(M, BX), 1), (BX, 1)), "reduce_kernel": ((cdiv(M, BX), cdiv(N, BY)), (BX, BY)),
            "covar_kernel": ((cdiv(M, BX), 1), (BX, 1))}


def _run_covar(go, d):
    g = _geo_covar(d)
    go(mean_kernel, *g["mean_kernel"])(M, N, d["mean"], d["data"])
    go(reduce_kernel, *g["reduce_kernel"])(M, N, d["mean"], d["data"])
    go(covar_kernel, *g["covar_kernel"])(M, N, d["symmat"], d["data"])
    return {"symmat": d["symmat"], "data": d["data"]}


def _ref_covar(d):
    data = d["data"].reshape(N, M).astype(np.float64)
    data = data - data.sum(axis=0) / np.float64(np.float32(FLOAT_N))
    return {"symmat": (data.T @ data).ravel(), "data": data.ravel()}


# ============================================================================ fdtd-2d
# Source: cavazos-lab/PolyBench-ACC CUDA/FDTD-2D/fdtd2d.cu (fdtd_step1/2/3_kernel, fdtdCuda)
@kernel
def fdtd_step1_kernel(nx: i32, ny: i32, _fict_: f32[:], ex: f32[:], ey: f32[:], hz: f32[:], t: i32):
    j = block_idx_x() * block_dim_x() + thread_idx_x()
    i = block_idx_y() * block_dim_y() + thread_idx_y()

    if (i < nx) and (j < ny):
        if i == 0:
            ey[i * NY + j] = _fict_[t]
        else:
            ey[i * NY + j] = ey[i * NY + j] - 0.5 * (hz[i * NY + j] - hz[(i - 1) * NY + j])


@kernel
def fdtd_step2_kernel(nx: i32, ny: i32, ex: f32[:], ey: f32[:], hz: f32[:], t: i32):
    j = block_idx_x() * block_dim_x() + thread_idx_x()
    i = block_idx_y() * block_dim_y() + thread_idx_y()

    if (i < nx) and (j < ny) and (j > 0):
        ex[i * NY + j] = ex[i * NY + j] - 0.5 * (hz[i * NY + j] - hz[i * NY + (j - 1)])


@kernel
def fdtd_step3_kernel(nx: i32, ny: i32, ex: f32[:], ey: f32[:], hz: f32[:], t: i32):
    j = block_idx_x() * block_dim_x() + thread_idx_x()
    i = block_idx_y() * block_dim_y() + thread_idx_y()

    if (i < (nx - 1)) and (j < (ny - 1)):
        hz[i * NY + j] = hz[i * NY + j] - 0.7 * (ex[i * NY + (j + 1)] - ex[i * NY + j] + ey[(i + 1) * NY + j]
                                                 - ey[i * NY + j])


def _build_fdtd(size):
    i, j = np.mgrid[0:NX, 0:NY].astype(np.float32)
    return dict(tmax=TMAX if size == "cpu" else 2, _fict_=np.arange(TMAX, dtype=np.float32), ex=((i * (j + 1) + 1) / NX).ravel(),
                ey=(((i - 1) * (j + 2) + 2) / NX).ravel(), hz=(((i - 9) * (j + 4) + 3) / NX).ravel())


def _geo_fdtd(inp):
    g = ((cdiv(NY, BX), cdiv(NX, BY)), (BX, BY))
    return {"fdtd_step1_kernel": g, "fdtd_step2_kernel": g, "fdtd_step3_kernel": g}


def _run_fdtd(go, d):
    g = _geo_fdtd(d)
    for t in range(d["tmax"]):
        go(fdtd_step1_kernel, *g["fdtd_step1_kernel"])(NX, NY, d["_fict_"], d["ex"], d["ey"], d["hz"], t)
        go(fdtd_step2_kernel, *g["fdtd_step2_kernel"])(NX, NY, d["ex"], d["ey"], d["hz"], t)
        go(fdtd_step3_kernel, *g["fdtd_step3_kernel"])(NX, NY, d["ex"], d["ey"], d["hz"], t)
    return {"hz": d["hz"], "ex": d["ex"], "ey": d["ey"]}


def _ref_fdtd(d):  # runFdtd, the original's CPU version
    ex, ey, hz = (d[k].reshape(NX, NY).astype(np.float64) for k in ("ex", "ey", "hz"))
    for t in range(d["tmax"]):
        ey[0, :] = d["_fict_"][t]
        ey[1:, :] = ey[1:, :] - 0.5 * (hz[1:, :] - hz[:-1, :])
        ex[:, 1:] = ex[:, 1:] - 0.5 * (hz[:, 1:] - hz[:, :-1])
        hz[:-1, :-1] = hz[:-1, :-1] - 0.7 * (ex[:-1, 1:] - ex[:-1, :-1] + ey[1:, :-1] - ey[:-1, :-1])
    return {"hz": hz.ravel(), "ex": ex.ravel(), "ey": ey.ravel()}


# ============================================================================ jacobi-1d
# Source: cavazos-lab/PolyBench-ACC CUDA/JACOBI1D/jacobi1D.cu (runJacobiCUDA_kernel1/2, runJacobi1DCUDA)
@kernel
def jacobi1d_kernel1(n: i32, A: f32[:], B: f32[:]):  # PORT: runJacobiCUDA_kernel1 (name taken by jacobi-2d)
    i = block_idx_x() * block_dim_x() + thread_idx_x()

    if (i > 1) and (i < (n - 1)):
        B[i] = 0.33333 * (A[i - 1] + A[i] + A[i + 1])


@kernel
def jacobi1d_kernel2(n: i32, A: f32[:], B: f32[:]):  # PORT: runJacobiCUDA_kernel2 (naming)
    j = block_idx_x() * block_dim_x() + thread_idx_x()

    if (j > 1) and (j < (n - 1)):
        A[j] = B[j]


def _build_jacobi1d(size):
    i = np.arange(N, dtype=np.float32)
    return dict(tsteps=TSTEPS if size == "cpu" else 2, A=(4 * i + 10) / N, B=(7 * i + 11) / N)


def _geo_jacobi1d(inp):
    return {"jacobi1d_kernel1": ((cdiv(N, BX), 1), (BX, 1)), "jacobi1d_kernel2": ((cdiv(N, BX), 1), (BX, 1))}


def _run_jacobi1d(go, d):
    g = _geo_jacobi1d(d)
    for t in range(d["tsteps"]):
        go(jacobi1d_kernel1, *g["jacobi1d_kernel1"])(N, d["A"], d["B"])
        go(jacobi1d_kernel2, *g["jacobi1d_kernel2"])(N, d["A"], d["B"])
    return {"A": d["A"], "B": d["B"]}


def _ref_jacobi1d(d):
    A, B = d["A"].astype(np.float64), d["B"].astype(np.float64)
    for t in range(d["tsteps"]):
        B[2:N - 1] = 0.33333 * (A[1:N - 2] + A[2:N - 1] + A[3:N])
        A[2:N - 1] = B[2:N - 1]
    return {"A": A, "B": B}


# ============================================================================ jacobi-2d
# Source: cavazos-lab/PolyBench-ACC CUDA/JACOBI2D/jacobi2D.cu (runJacobiCUDA_kernel1/2, runJacobi2DCUDA)
@kernel
def runJacobiCUDA_kernel1(n: i32, A: f32[:], B: f32[:]):
    i = block_idx_y() * block_dim_y() + thread_idx_y()
    j = block_idx_x() * block_dim_x() + thread_idx_x()

    if (i >= 1) and (i < (n - 1)) and (j >= 1) and (j < (n - 1)):
        B[i * N + j] = 0.2 * (A[i * N + j] + A[i * N + (j - 1)] + A[i * N + (1 + j)] + A[(1 + i) * N + j]
                              + A[(i - 1) * N + j])


@kernel
def runJacobiCUDA_kernel2(n: i32, A: f32[:], B: f32[:]):
    i = block_idx_y() * block_dim_y() + thread_idx_y()
    j = block_idx_x() * block_dim_x() + thread_idx_x()

    if (i >= 1) and (i < (n - 1)) and (j >= 1) and (j < (n - 1)):
        A[i * N + j] = B[i * N + j]


def _build_jacobi2d(size):
    i, j = np.mgrid[0:N, 0:N].astype(np.float32)
    return dict(tsteps=TSTEPS if size == "cpu" else 2, A=((i * (j + 2) + 10) / N).ravel(), B=(((i - 4) * (j - 1) + 11) / N).ravel())


def _geo_jacobi2d(inp):
    g = ((cdiv(N, BX), cdiv(N, BY)), (BX, BY))
    return {"runJacobiCUDA_kernel1": g, "runJacobiCUDA_kernel2": g}


def _run_jacobi2d(go, d):
    g = _geo_jacobi2d(d)
    for t in range(d["tsteps"]):
        go(runJacobiCUDA_kernel1, *g["runJacobiCUDA_kernel1"])(N, d["A"], d["B"])
        go(runJacobiCUDA_kernel2, *g["runJacobiCUDA_kernel2"])(N, d["A"], d["B"])
    return {"A": d["A"], "B": d["B"]}


def _ref_jacobi2d(d):
    A, B = d["A"].reshape(N, N).astype(np.float64), d["B"].reshape(N, N).astype(np.float64)
    for t in range(d["tsteps"]):
        B[1:-1, 1:-1] = 0.2 * (A[1:-1, 1:-1] + A[1:-1, :-2] + A[1:-1, 2:] + A[2:, 1:-1] + A[:-2, 1:-1])
        A[1:-1, 1:-1] = B[1:-1, 1:-1]
    return {"A": A.ravel(), "B": B.ravel()}


# The same jacobi-2d step as a @stencil: the original's index arithmetic and edge guard are what the
# stencil kind generates (halo 1, edges not written); the copy-back kernel stays a plain copy.
@stencil(tile=(BY, BX), halo=1)
def jacobi2d_step(A: Field2D[f32], B: Field2D[f32]):  # PORT: runJacobiCUDA_kernel1 written as a @stencil
    B[0, 0] = 0.2 * (A[0, 0] + A[0, -1] + A[0, 1] + A[1, 0] + A[-1, 0])


@stencil(tile=(BY, BX), halo=1)
def jacobi2d_copy(A: Field2D[f32], B: Field2D[f32]):  # PORT: runJacobiCUDA_kernel2 written as a @stencil
    A[0, 0] = B[0, 0]


def _geo_jacobi2d_stencil(inp):
    return {"jacobi2d_step": "over the field, tile (8, 8), halo 1", "jacobi2d_copy": "over the field"}


def _run_jacobi2d_stencil(go, d):
    A, B = d["A"].reshape(N, N), d["B"].reshape(N, N)
    for t in range(d["tsteps"]):
        go.stencil(jacobi2d_step)(A, B)
        go.stencil(jacobi2d_copy)(A, B)
    return {"A": d["A"], "B": d["B"]}


# ============================================================================ gramschmidt
# Source: cavazos-lab/PolyBench-ACC CUDA/GRAMSCHM/gramschmidt.cu (gramschmidt_kernel1/2/3, gramschmidtCuda)
@kernel
def gramschmidt_kernel1(ni: i32, nj: i32, a: f32[:], r: f32[:], q: f32[:], k: i32):
    tid = block_idx_x() * block_dim_x() + thread_idx_x()

    if tid == 0:
        nrm: f32 = 0.0
        for i in range(ni):
            nrm += a[i * NJ + k] * a[i * NJ + k]
        r[k * NJ + k] = math.sqrt(nrm)


@kernel
def gramschmidt_kernel2(ni: i32, nj: i32, a: f32[:], r: f32[:], q: f32[:], k: i32):
    i = block_idx_x() * block_dim_x() + thread_idx_x()

    if i < ni:
        q[i * NJ + k] = a[i * NJ + k] / r[k * NJ + k]


@kernel
def gramschmidt_kernel3(ni: i32, nj: i32, a: f32[:], r: f32[:], q: f32[:], k: i32):
    j = block_idx_x() * block_dim_x() + thread_idx_x()

    if (j > k) and (j < nj):
        r[k * NJ + j] = 0.0

        for i in range(ni):
            r[k * NJ + j] += q[i * NJ + k] * a[i * NJ + j]

        for i in range(ni):
            a[i * NJ + j] -= q[i * NJ + k] * r[k * NJ + j]


def _build_gramschmidt(size):
    r = _rng(8)
    return dict(A=(r.random(NI * NJ) + np.eye(NI, NJ).ravel()).astype(np.float32),
                R=np.zeros(NJ * NJ, np.float32), Q=np.zeros(NI * NJ, np.float32))


def _geo_gramschmidt(inp):
    block = (BX, 1)
    # the original sizes grids 2 and 3 by NJ (ceil(NJ / X)); kernel2 indexes rows i < NI, which it
    # covers only while NI <= that grid: NI = 16 < NJ = 20 here, as NI == NJ in the original
    return {"gramschmidt_kernel1": ((1, 1), block), "gramschmidt_kernel2": ((cdiv(NJ, BX), 1), block),
            "gramschmidt_kernel3": ((cdiv(NJ, BX), 1), block)}


def _run_gramschmidt(go, d):
    g = _geo_gramschmidt(d)
    for k in range(NJ):
        go(gramschmidt_kernel1, *g["gramschmidt_kernel1"])(NI, NJ, d["A"], d["R"], d["Q"], k)
        go(gramschmidt_kernel2, *g["gramschmidt_kernel2"])(NI, NJ, d["A"], d["R"], d["Q"], k)
        go(gramschmidt_kernel3, *g["gramschmidt_kernel3"])(NI, NJ, d["A"], d["R"], d["Q"], k)
    # columns k >= NI are orthogonalised against a full basis of R^NI: their norms are rounding noise
    # and Q's columns past NI with them, on any machine; R's rows and Q's columns below NI are exact
    return {"A": d["A"], "R": d["R"].reshape(NJ, NJ)[:NI].ravel(), "Q": d["Q"].reshape(NI, NJ)[:, :NI].ravel()}


def _ref_gramschmidt(d):  # gramschmidt(), the original's CPU version
    A = d["A"].reshape(NI, NJ).astype(np.float64)
    R, Q = np.zeros((NJ, NJ)), np.zeros((NI, NJ))
    for k in range(NJ):
        R[k, k] = np.sqrt((A[:, k] ** 2).sum())
        Q[:, k] = A[:, k] / R[k, k]
        for j in range(k + 1, NJ):
            R[k, j] = Q[:, k] @ A[:, j]
            A[:, j] -= Q[:, k] * R[k, j]
    return {"A": A.ravel(), "R": R[:NI].ravel(), "Q": Q[:, :NI].ravel()}


# ============================================================================ lu
# Source: cavazos-lab/PolyBench-ACC CUDA/LU/lu.cu (lu_kernel1, lu_kernel2, luCuda)
@kernel
def lu_kernel1(n: i32, A: f32[:], k: i32):
    j = block_idx_x() * block_dim_x() + thread_idx_x()

    if (j > k) and (j < n):
        A[k * N + j] = A[k * N + j] / A[k * N + k]


@kernel
def lu_kernel2(n: i32, A: f32[:], k: i32):
    j = block_idx_x() * block_dim_x() + thread_idx_x()
    i = block_idx_y() * block_dim_y() + thread_idx_y()

    if (i > k) and (j > k) and (i < n) and (j < n):
        A[i * N + j] = A[i * N + j] - A[i * N + k] * A[k * N + j]


def _build_lu(size):
    r = _rng(9)
    # the simulator runs the first 6 of the N elimination steps (the reference does the same)
    return dict(steps=N if size == "cpu" else 6, A=(r.random((N, N)) + N * np.eye(N)).astype(np.float32).ravel())


def _geo_lu(inp):
    # PORT (host): luCuda shrinks the grids with k (grid.x = ceil((N - (k + 1)) / X)) while both
    # kernels index from 0, so late rows and columns are never updated: an upstream bug that makes
    # the GPU result differ from its own CPU lu(). The driver launches the full grid instead.
    return {"lu_kernel1": ((cdiv(N, BX), 1), (BX, 1)), "lu_kernel2": ((cdiv(N, BX), cdiv(N, BY)), (BX, BY))}


def _run_lu(go, d):
    g = _geo_lu(d)
    for k in range(d["steps"]):
        go(lu_kernel1, *g["lu_kernel1"])(N, d["A"], k)
        go(lu_kernel2, *g["lu_kernel2"])(N, d["A"], k)
    return {"A": d["A"]}


def _ref_lu(d):  # lu(), the original's CPU version
    A = d["A"].reshape(N, N).astype(np.float64)
    for k in range(d["steps"]):
        A[k, k + 1:] /= A[k, k]
        A[k + 1:, k + 1:] -= np.outer(A[k + 1:, k], A[k, k + 1:])
    return {"A": A.ravel()}


# ============================================================================ 2DCONV
# Source: cavazos-lab/PolyBench-ACC CUDA/2DCONV/2DConvolution.cu (convolution2D_kernel, convolution2DCuda)
@kernel
def convolution2D_kernel(ni: i32, nj: i32, A: f32[:], B: f32[:]):
    j = block_idx_x() * block_dim_x() + thread_idx_x()
    i = block_idx_y() * block_dim_y() + thread_idx_y()

    c11: f32 = +0.2  # PORT: `DATA_TYPE c11, ...;` then `c11 = +0.2;`: annotated assignments
    c21: f32 = +0.5
    c31: f32 = -0.8
    c12: f32 = -0.3
    c22: f32 = +0.6
    c32: f32 = -0.9
    c13: f32 = +0.4
    c23: f32 = +0.7
    c33: f32 = +0.10

    if (i < ni - 1) and (j < nj - 1) and (i > 0) and (j > 0):
        B[i * NJ + j] = (c11 * A[(i - 1) * NJ + (j - 1)] + c21 * A[(i - 1) * NJ + (j + 0)] + c31 * A[(i - 1) * NJ + (j + 1)]
                         + c12 * A[(i + 0) * NJ + (j - 1)] + c22 * A[(i + 0) * NJ + (j + 0)] + c32 * A[(i + 0) * NJ + (j + 1)]
                         + c13 * A[(i + 1) * NJ + (j - 1)] + c23 * A[(i + 1) * NJ + (j + 0)] + c33 * A[(i + 1) * NJ + (j + 1)])


def _build_conv2d(size):
    return dict(A=_rng(10).random(NI * NJ, np.float32), B=np.zeros(NI * NJ, np.float32))


def _geo_conv2d(inp):
    # the original: grid (ceil(NI / X), ceil(NJ / Y)) for j along x and i along y; it covers the
    # matrix only when NI == NJ, so the driver sizes x by NJ and y by NI
    return {"convolution2D_kernel": ((cdiv(NJ, BX), cdiv(NI, BY)), (BX, BY))}


def _run_conv2d(go, d):
    go(convolution2D_kernel, *_geo_conv2d(d)["convolution2D_kernel"])(NI, NJ, d["A"], d["B"])
    return {"B": d["B"]}


def _ref_conv2d(d):
    A = d["A"].reshape(NI, NJ).astype(np.float64)
    # (di, dj) -> the coefficient the kernel multiplies A[i + di][j + dj] by
    coef = {(-1, -1): 0.2, (-1, 0): 0.5, (-1, 1): -0.8, (0, -1): -0.3, (0, 0): 0.6, (0, 1): -0.9,
            (1, -1): 0.4, (1, 0): 0.7, (1, 1): 0.10}
    B = np.zeros((NI, NJ))
    for (di, dj), c in coef.items():
        B[1:-1, 1:-1] += np.float32(c) * A[1 + di:NI - 1 + di, 1 + dj:NJ - 1 + dj]
    return {"B": B.ravel()}


# ============================================================================ 3DCONV
# Source: cavazos-lab/PolyBench-ACC CUDA/3DCONV/3DConvolution.cu (convolution3D_kernel, convolution3DCuda)
@kernel
def convolution3D_kernel(ni: i32, nj: i32, nk: i32, A: f32[:], B: f32[:], i: i32):
    k = block_idx_x() * block_dim_x() + thread_idx_x()
    j = block_idx_y() * block_dim_y() + thread_idx_y()

    c11: f32 = +2  # PORT: `DATA_TYPE c11, ...;` then `c11 = +2;`: annotated assignments
    c21: f32 = +5
    c31: f32 = -8
    c12: f32 = -3
    c22: f32 = +6
    c32: f32 = -9
    c13: f32 = +4
    c23: f32 = +7
    c33: f32 = +10

    if (i < (ni - 1)) and (j < (nj - 1)) and (k < (nk - 1)) and (i > 0) and (j > 0) and (k > 0):
        B[i * (NK * NJ) + j * NK + k] = (c11 * A[(i - 1) * (NK * NJ) + (j - 1) * NK + (k - 1)] + c13 * A[(i + 1) * (NK * NJ) + (j - 1) * NK + (k - 1)]
                                         + c21 * A[(i - 1) * (NK * NJ) + (j - 1) * NK + (k - 1)] + c23 * A[(i + 1) * (NK * NJ) + (j - 1) * NK + (k - 1)]
                                         + c31 * A[(i - 1) * (NK * NJ) + (j - 1) * NK + (k - 1)] + c33 * A[(i + 1) * (NK * NJ) + (j - 1) * NK + (k - 1)]
                                         + c12 * A[(i + 0) * (NK * NJ) + (j - 1) * NK + (k + 0)] + c22 * A[(i + 0) * (NK * NJ) + (j + 0) * NK + (k + 0)]
                                         + c32 * A[(i + 0) * (NK * NJ) + (j + 1) * NK + (k + 0)] + c11 * A[(i - 1) * (NK * NJ) + (j - 1) * NK + (k + 1)]
                                         + c13 * A[(i + 1) * (NK * NJ) + (j - 1) * NK + (k + 1)] + c21 * A[(i - 1) * (NK * NJ) + (j + 0) * NK + (k + 1)]
                                         + c23 * A[(i + 1) * (NK * NJ) + (j + 0) * NK + (k + 1)] + c31 * A[(i - 1) * (NK * NJ) + (j + 1) * NK + (k + 1)]
                                         + c33 * A[(i + 1) * (NK * NJ) + (j + 1) * NK + (k + 1)])


def _build_conv3d(size):
    i, j, k = np.mgrid[0:NI, 0:NJ, 0:NK]
    # the simulator computes planes 1..3 (the reference compares what was computed)
    return dict(planes=NI - 1 if size == "cpu" else 4, A=(i % 12 + 2 * (j % 7) + 3 * (k % 13)).astype(np.float32).ravel(),
                B=np.zeros(NI * NJ * NK, np.float32))


def _geo_conv3d(inp):
    return {"convolution3D_kernel": ((cdiv(NK, BX), cdiv(NJ, BY)), (BX, BY))}


def _run_conv3d(go, d):
    g = _geo_conv3d(d)
    for i in range(1, d["planes"]):
        go(convolution3D_kernel, *g["convolution3D_kernel"])(NI, NJ, NK, d["A"], d["B"], i)
    return {"B": d["B"]}


def _ref_conv3d(d):
    # the CUDA kernel's own formula (it differs from the suite's CPU conv3D: upstream, not a port change)
    A = d["A"].reshape(NI, NJ, NK).astype(np.float64)
    c11, c21, c31, c12, c22, c32, c13, c23, c33 = 2, 5, -8, -3, 6, -9, 4, 7, 10
    B = np.zeros((NI, NJ, NK))

    def a(di, dj, dk):
        return A[1 + di:NI - 1 + di, 1 + dj:NJ - 1 + dj, 1 + dk:NK - 1 + dk]

    B[1:-1, 1:-1, 1:-1] = (c11 * a(-1, -1, -1) + c13 * a(1, -1, -1) + c21 * a(-1, -1, -1) + c23 * a(1, -1, -1)
                           + c31 * a(-1, -1, -1) + c33 * a(1, -1, -1) + c12 * a(0, -1, 0) + c22 * a(0, 0, 0)
                           + c32 * a(0, 1, 0) + c11 * a(-1, -1, 1) + c13 * a(1, -1, 1) + c21 * a(-1, 0, 1)
                           + c23 * a(1, 0, 1) + c31 * a(-1, 1, 1) + c33 * a(1, 1, 1))
    B[d["planes"]:] = 0.0
    return {"B": B.ravel()}


# ============================================================================ cases
SRC = "cavazos-lab/PolyBench-ACC CUDA/"
CASES = [
    Case("polybench.2mm", SRC + "2MM/2mm.cu", (mm2_kernel1, mm2_kernel2), _geo_2mm, _build_2mm, _run_2mm,
         _ref_2mm, ("2D grid", "multi-kernel")),
    Case("polybench.atax", SRC + "ATAX/atax.cu", (atax_kernel1, atax_kernel2), _geo_atax, _build_atax,
         _run_atax, _ref_atax, ("1D grid", "multi-kernel")),
    Case("polybench.bicg", SRC + "BICG/bicg.cu", (bicg_kernel1, bicg_kernel2), _geo_bicg, _build_bicg,
         _run_bicg, _ref_bicg, ("1D grid", "multi-kernel")),
    Case("polybench.mvt", SRC + "MVT/mvt.cu", (mvt_kernel1, mvt_kernel2), _geo_mvt, _build_mvt, _run_mvt,
         _ref_mvt, ("1D grid", "multi-kernel")),
    Case("polybench.syrk", SRC + "SYRK/syrk.cu", (syrk_kernel,), _geo_syrk, _build_syrk, _run_syrk, _ref_syrk,
         ("2D grid",)),
    Case("polybench.correlation", SRC + "CORR/correlation.cu",
         (corr_mean_kernel, corr_std_kernel, corr_reduce_kernel, corr_kernel), _geo_corr, _build_corr,
         _run_corr, _ref_corr, ("1D/2D grids", "multi-kernel", "math.sqrt", "triangular loop"),
         notes="kernel names prefixed corr_ (covariance's mean_kernel/reduce_kernel share the module)"),
    Case("polybench.covariance", SRC + "COVAR/covariance.cu", (mean_kernel, reduce_kernel, covar_kernel),
         _geo_covar, _build_covar, _run_covar, _ref_covar, ("1D/2D grids", "multi-kernel", "triangular loop")),
    Case("polybench.fdtd-2d", SRC + "FDTD-2D/fdtd2d.cu", (fdtd_step1_kernel, fdtd_step2_kernel, fdtd_step3_kernel),
         _geo_fdtd, _build_fdtd, _run_fdtd, _ref_fdtd, ("2D grid", "multi-kernel", "time loop")),
    Case("polybench.jacobi-1d", SRC + "JACOBI1D/jacobi1D.cu", (jacobi1d_kernel1, jacobi1d_kernel2),
         _geo_jacobi1d, _build_jacobi1d, _run_jacobi1d, _ref_jacobi1d, ("1D grid", "multi-kernel", "time loop"),
         notes="kernels renamed jacobi1d_kernel1/2 (jacobi-2d's runJacobiCUDA_kernel1/2 share the module)"),
    Case("polybench.jacobi-2d", SRC + "JACOBI2D/jacobi2D.cu", (runJacobiCUDA_kernel1, runJacobiCUDA_kernel2),
         _geo_jacobi2d, _build_jacobi2d, _run_jacobi2d, _ref_jacobi2d, ("2D grid", "multi-kernel", "time loop")),
    Case("polybench.jacobi-2d-stencil", SRC + "JACOBI2D/jacobi2D.cu", (jacobi2d_step, jacobi2d_copy),
         _geo_jacobi2d_stencil, _build_jacobi2d, _run_jacobi2d_stencil, _ref_jacobi2d,
         ("stencil", "time loop"), notes="both kernels re-expressed as @stencil (PORT)"),
    Case("polybench.gramschmidt", SRC + "GRAMSCHM/gramschmidt.cu",
         (gramschmidt_kernel1, gramschmidt_kernel2, gramschmidt_kernel3), _geo_gramschmidt, _build_gramschmidt,
         _run_gramschmidt, _ref_gramschmidt, ("1D grid", "multi-kernel", "single-thread kernel", "math.sqrt"),
         rtol=2e-3, atol=2e-4),
    Case("polybench.lu", SRC + "LU/lu.cu", (lu_kernel1, lu_kernel2), _geo_lu, _build_lu, _run_lu, _ref_lu,
         ("1D/2D grids", "multi-kernel"), rtol=1e-4, atol=1e-5,
         notes="host: full grids instead of the original's shrinking ones (upstream bug, PORT in _geo_lu)"),
    Case("polybench.2dconv", SRC + "2DCONV/2DConvolution.cu", (convolution2D_kernel,), _geo_conv2d,
         _build_conv2d, _run_conv2d, _ref_conv2d, ("2D grid", "9-point stencil by hand")),
    Case("polybench.3dconv", SRC + "3DCONV/3DConvolution.cu", (convolution3D_kernel,), _geo_conv3d,
         _build_conv3d, _run_conv3d, _ref_conv3d, ("2D grid", "launch per plane", "3D indexing by hand")),
]
