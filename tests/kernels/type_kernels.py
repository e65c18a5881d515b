"""Kernels for the type-inference tests (test_types.py)."""
import math

from ringkernel_codegen import f32, f64, i32, i64, kernel
from ringkernel_codegen.dsl import global_id


@kernel
def annotated_i64(out: i64[:]):
    i = global_id()
    v: i64 = i
    out[i] = v * 4294967296


@kernel
def int_division(a: i64[:], b: i64[:], fl: i64[:], md: i64[:], tr: f64[:], n: i32):
    i = global_id()
    if i < n:
        fl[i] = a[i] // b[i]
        md[i] = a[i] % b[i]
        tr[i] = a[i] / b[i]


@kernel
def literal_division(out: i64[:], fout: f64[:]):
    if global_id() == 0:
        out[0] = 7 // 2
        out[1] = -7 // 2
        out[2] = -7 % 3
        out[3] = 7 % -3
        fout[0] = 7 / 2


@kernel
def sqrt_f64(x: f64[:], out: f64[:], n: i32):
    i = global_id()
    if i < n:
        out[i] = math.sqrt(x[i])


@kernel
def sqrt_f32(x: f32[:], out: f32[:], n: i32):
    i = global_id()
    if i < n:
        out[i] = math.sqrt(x[i])


@kernel
def weak_literal(x: f32[:], out: f32[:], n: i32):
    i = global_id()
    if i < n:
        y = x[i] * 4.0
        out[i] = y + 0.1


@kernel
def int_times_float(k: i32[:], out: f64[:], n: i32):
    i = global_id()
    if i < n:
        out[i] = k[i] * 0.5


@kernel
def int_plus_f32(k: i32[:], x: f32[:], out: f32[:], n: i32):
    i = global_id()
    if i < n:
        out[i] = k[i] + x[i]


@kernel
def integer_local(out: i64[:]):
    i = global_id()
    c = i * 3 + 1
    out[i] = c // 2


@kernel
def float_local_from_int(out: f64[:]):
    i = global_id()
    h = i / 2
    out[i] = h


@kernel
def bool_conditions(x: i32[:], out: i32[:], n: i32):
    i = global_id()
    if i < n:
        flag = x[i] > 2 and x[i] != 5
        if flag:
            out[i] = 1
        elif not x[i]:
            out[i] = 2
        else:
            out[i] = 0


@kernel
def int_condition(x: i32[:], out: i32[:], n: i32):
    i = global_id()
    if i < n:
        if x[i]:
            out[i] = 1
        else:
            out[i] = 0


ALL = [annotated_i64, int_division, literal_division, sqrt_f64, sqrt_f32, weak_literal, int_times_float,
       int_plus_f32, integer_local, float_local_from_int, bool_conditions, int_condition]


@kernel
def python_rounding(x: f64[:], out: i64[:], n: i32):
    """math.floor/ceil/trunc and round() return ints, as in Python."""
    i = global_id()
    if i < n:
        out[4 * i] = math.floor(x[i])
        out[4 * i + 1] = math.ceil(x[i])
        out[4 * i + 2] = math.trunc(x[i])
        out[4 * i + 3] = round(x[i]) * 2


# Every kernel here is correct under any 1D launch its arrays cover (the convention:
# basic_kernels.GEOMETRY); python_rounding writes 4 values per element.
GEOMETRY: dict = {}
ARGS = {"python_rounding": {"out": (256,), "n": 64}}
