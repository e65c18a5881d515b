"""Operators and conversions across types, one output slot per expression (Python semantics)."""
import numpy as np

from ringkernel_codegen import device, f32, f64, i32, i64, u8, u32, u64, boolean, kernel
from ringkernel_codegen.dsl import global_id


@kernel
def int_ops(a: i32[:], b: i32[:], out: i64[:], n: i32):
    i = global_id()
    if i < n:
        x = a[i]
        y = b[i]
        k = 12 * i
        out[k] = x // y
        out[k + 1] = x % y
        out[k + 2] = x ** 3
        out[k + 3] = (x << 2) >> 1
        out[k + 4] = x & y | (x ^ y)
        out[k + 5] = ~x
        out[k + 6] = -x if x > y else y
        out[k + 7] = abs(x - y)
        out[k + 8] = min(x, y) * max(x, y)
        out[k + 9] = int(f64(x) / f64(y))
        out[k + 10] = 1 if (x > 0 and y > 0) or not (x != y) else 0
        acc = 0
        for j in range(x, y, -1 if x > y else 1):
            acc += j
        out[k + 11] = acc


@kernel
def float_ops(a: f64[:], b: f64[:], out: f64[:], n: i32):
    i = global_id()
    if i < n:
        x = a[i]
        y = b[i]
        k = 8 * i
        out[k] = x // y
        out[k + 1] = x % y
        out[k + 2] = x ** 2.0
        out[k + 3] = x / y
        out[k + 4] = f64(f32(x) * f32(1.5))
        out[k + 5] = abs(x) + min(x, y)
        out[k + 6] = f64(int(x))
        out[k + 7] = x if x > y else -y


@kernel
def narrow_ops(a: u8[:], b: u32[:], c: u64[:], flags: boolean[:], out: u64[:], n: i32):
    i = global_id()
    if i < n:
        k = 5 * i
        out[k] = u64(a[i] + a[i])
        out[k + 1] = u64(b[i] * u32(3))
        out[k + 2] = c[i] >> u64(3)
        out[k + 3] = u64(1) if flags[i] else u64(0)
        out[k + 4] = u64(b[i] // u32(7))


# Any 1D launch (the convention: basic_kernels.GEOMETRY); each kernel writes k values per element.
GEOMETRY: dict = {}
ARGS = {
    "int_ops": {"out": (12 * 64,), "n": 64},
    "float_ops": {"out": (8 * 64,), "n": 64},
    "narrow_ops": {"out": (5 * 64,), "n": 64},
}


# Module-level NumPy arrays read by kernels: constants captured at compile time (numba's rule);
# CUDA __constant__ arrays, module-level arrays on numba and the CPU (test_expressions.py).
WEIGHTS = np.array([[1.5, -2.0, 3.25], [0.5, 4.0, -1.0]], dtype=np.float32)
SQUARES = np.arange(7, dtype=np.int64) ** 2


@device
def weighted_row(w: f32[:, :], r: i32, x: f32) -> f32:
    return w[r, 0] * x + w[r, 1] * x + w[r, 2]


@kernel
def constant_tables(x: f32[:], out: f32[:], idx: i64[:]):
    i = global_id()
    if i < len(out):
        out[i] = WEIGHTS[i % 2, i % WEIGHTS.shape[1]] * x[i] + weighted_row(WEIGHTS, i % 2, x[i])
        idx[i] = SQUARES[i % len(SQUARES)] + len(WEIGHTS)
