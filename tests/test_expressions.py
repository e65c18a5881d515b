"""Operators and conversions on the CPU backend against Python's own arithmetic (the reference),
and wrap-around of narrow unsigned types as in C."""
import math

import numpy as np

from tests.kernels import expr_kernels as E


def py_floordiv_mod(x, y):
    return x // y, x % y


def test_integer_operators_follow_python_semantics(target):
    target.needs(E.int_ops)
    a = np.array([7, -7, 5, -3, 9, 0], np.int32)
    b = np.array([2, 2, -3, -4, 9, 5], np.int32)
    out = np.zeros(12 * len(a), np.int64)
    E.int_ops.to(target)[1, 8](a, b, out, len(a))
    for i, (x, y) in enumerate(zip(a.tolist(), b.tolist())):
        acc = sum(range(x, y, -1 if x > y else 1))
        want = [x // y, x % y, x ** 3, (x << 2) >> 1, (x & y) | (x ^ y), ~x, -x if x > y else y,
                abs(x - y), min(x, y) * max(x, y), int(x / y), 1 if (x > 0 and y > 0) or not (x != y) else 0,
                acc]
        assert out[12 * i:12 * i + 12].tolist() == want, (x, y)


def test_float_operators_follow_python_semantics(target):
    target.needs(E.float_ops)
    a = np.array([7.5, -7.5, 2.25, -0.5], np.float64)
    b = np.array([2.0, 2.0, -0.5, 3.0], np.float64)
    out = np.zeros(8 * len(a), np.float64)
    E.float_ops.to(target)[1, 8](a, b, out, len(a))
    for i, (x, y) in enumerate(zip(a.tolist(), b.tolist())):
        want = [x // y, x % y, x ** 2.0, x / y, float(np.float32(x) * np.float32(1.5)),
                abs(x) + min(x, y), float(int(x)), x if x > y else -y]
        np.testing.assert_allclose(out[8 * i:8 * i + 8], want, rtol=1e-15, err_msg=str((x, y)))
        assert math.copysign(1.0, out[8 * i + 1]) == math.copysign(1.0, want[1]) or want[1] == 0


def test_narrow_unsigned_types_wrap_like_c(target):
    target.needs(E.narrow_ops)
    a = np.array([200, 3], np.uint8)
    b = np.array([0xFFFFFFFF, 10], np.uint32)
    c = np.array([1 << 63, 80], np.uint64)
    flags = np.array([True, False])
    out = np.zeros(10, np.uint64)
    E.narrow_ops.to(target)[1, 4](a, b, c, flags, out, 2)
    # u8 + u8 computes in int (C integer promotion): 400, not 144
    assert out[:5].tolist() == [400, (0xFFFFFFFF * 3) & 0xFFFFFFFF, (1 << 63) >> 3, 1, 0xFFFFFFFF // 7]
    assert out[5:].tolist() == [6, 30, 10, 0, 1]


def test_module_level_arrays_are_read_as_constants(target):
    """Was refused ("global array ... cannot be captured"): numba captures them as constant arrays."""
    target.needs(E.constant_tables)
    x = np.arange(10, dtype=np.float32) - 3
    out, idx = np.zeros(10, np.float32), np.zeros(10, np.int64)
    E.constant_tables.to(target)[3, 4](x, out, idx)
    i = np.arange(10)
    w = E.WEIGHTS.astype(np.float64)
    want = w[i % 2, i % 3] * x + (w[i % 2, 0] * x + w[i % 2, 1] * x + w[i % 2, 2])
    np.testing.assert_allclose(out, want, rtol=1e-6)
    assert idx.tolist() == [(j % 7) ** 2 + 2 for j in range(10)]
    cuda = E.constant_tables.cuda_source()
    assert "__constant__ float _rk_const_WEIGHTS[2][3] = {1.5f, -2.0f, 3.25f, 0.5f, 4.0f, -1.0f};" in cuda
