"""Type inference rules: annotations, int stays int, f64 stays f64, weak literals, `/` vs `//`."""
import math
import re

import numpy as np

from ringkernel_codegen import f32, i32, kernel
from ringkernel_codegen.dsl import global_id
from tests.kernels import type_kernels as K


def local_types(k) -> dict:
    """{name: type} from the `locals:` line of k.ir()."""
    line = next(l for l in k.ir().splitlines() if l.strip().startswith("locals:"))
    pairs = line.split(":", 1)[1].split(",")
    return {n.strip(): t.strip() for n, t in (p.split(":") for p in pairs)}


def test_annotation_fixes_local_type():
    assert local_types(K.annotated_i64)["v"] == "i64"


def test_annotated_i64_local_holds_large_values(target):
    target.needs(K.annotated_i64)
    out = np.zeros(4, np.int64)
    K.annotated_i64.to(target)[1, 4](out)
    np.testing.assert_array_equal(out, np.arange(4, dtype=np.int64) * 2 ** 32)


def test_integer_arithmetic_local_stays_integer():
    assert local_types(K.integer_local)["c"] == "i32"


def test_integer_arithmetic_results_are_exact(target):
    target.needs(K.integer_local)
    out = np.zeros(8, np.int64)
    K.integer_local.to(target)[1, 8](out)
    np.testing.assert_array_equal(out, [(i * 3 + 1) // 2 for i in range(8)])


def test_floor_division_and_modulo_follow_python_on_arrays(target):
    target.needs(K.int_division)
    a = np.array([7, -7, 7, -7, 0, 9], np.int64)
    b = np.array([2, 2, -2, -2, 3, 3], np.int64)
    fl, md, tr = np.zeros(6, np.int64), np.zeros(6, np.int64), np.zeros(6)
    K.int_division.to(target)[1, 8](a, b, fl, md, tr, 6)
    np.testing.assert_array_equal(fl, [x // y for x, y in zip(a.tolist(), b.tolist())])
    np.testing.assert_array_equal(md, [x % y for x, y in zip(a.tolist(), b.tolist())])


def test_true_division_of_integers_gives_float(target):
    target.needs(K.int_division)
    a = np.array([7, -7, 1], np.int64)
    b = np.array([2, 2, 3], np.int64)
    fl, md, tr = np.zeros(3, np.int64), np.zeros(3, np.int64), np.zeros(3)
    K.int_division.to(target)[1, 4](a, b, fl, md, tr, 3)
    np.testing.assert_array_equal(tr, [3.5, -3.5, 1 / 3])


def test_literal_floor_division_and_modulo_match_python(target):
    target.needs(K.literal_division)
    out, fout = np.zeros(4, np.int64), np.zeros(1)
    K.literal_division.to(target)[1, 1](out, fout)
    assert out.tolist() == [3, -4, 2, -2]  # 7//2, -7//2, -7%3, 7%-3 in Python
    assert fout[0] == 3.5


def test_division_of_int_local_gives_f64_local():
    assert local_types(K.float_local_from_int)["h"] == "f64"


def test_int_local_divided_gives_half_values(target):
    target.needs(K.float_local_from_int)
    out = np.zeros(5)
    K.float_local_from_int.to(target)[1, 5](out)
    np.testing.assert_array_equal(out, np.arange(5) / 2)


def test_f64_sqrt_stays_double_precision(target):
    target.needs(K.sqrt_f64)
    x = np.array([2.0, 3.0, 1e-300, 12345.678901234], np.float64)
    out = np.zeros(4)
    K.sqrt_f64.to(target)[1, 4](x, out, 4)
    for got, v in zip(out, x):
        assert abs(got - math.sqrt(v)) <= 1e-15 * math.sqrt(v)


def test_f64_sqrt_uses_double_function_in_cuda():
    src = K.sqrt_f64.cuda_source().split('extern "C" __global__')[-1]   # the kernel, not the prelude's helpers
    assert re.search(r"\bsqrt\(", src) and "sqrtf(" not in src


def test_f32_sqrt_matches_float32_reference(target):
    target.needs(K.sqrt_f32)
    x = np.array([2.0, 3.0, 0.5, 12345.678], np.float32)
    out = np.zeros(4, np.float32)
    K.sqrt_f32.to(target)[1, 4](x, out, 4)
    np.testing.assert_array_equal(out, np.sqrt(x))


def test_f32_sqrt_uses_sqrtf_in_cuda():
    assert "sqrtf(" in K.sqrt_f32.cuda_source()


def test_weak_float_literal_keeps_f32_local():
    assert local_types(K.weak_literal)["y"] == "f32"


def test_weak_float_literal_is_spelled_as_float_in_cuda():
    src = K.weak_literal.cuda_source()
    assert "4.0f" in src and "0.1f" in src
    assert "double" not in src.split("extern \"C\"")[1]


def test_weak_float_literal_computes_in_f32(target):
    target.needs(K.weak_literal)
    x = np.array([1.1, 2.2, 3.3], np.float32)
    out = np.zeros(3, np.float32)
    K.weak_literal.to(target)[1, 4](x, out, 3)
    np.testing.assert_array_equal(out, x * np.float32(4.0) + np.float32(0.1))


def test_int_times_float_literal_gives_f64(target):
    target.needs(K.int_times_float)
    k = np.array([1, 3, -5], np.int32)
    out = np.zeros(3)
    K.int_times_float.to(target)[1, 4](k, out, 3)
    np.testing.assert_array_equal(out, [0.5, 1.5, -2.5])


def test_int_plus_f32_promotes_to_f32(target):
    target.needs(K.int_plus_f32)
    k = np.array([1, 16777217, -5], np.int32)
    x = np.array([0.25, 0.0, 0.5], np.float32)
    out = np.zeros(3, np.float32)
    K.int_plus_f32.to(target)[1, 4](k, x, out, 3)
    np.testing.assert_array_equal(out, k.astype(np.float32) + x)


def test_comparison_and_boolean_local_is_boolean():
    assert local_types(K.bool_conditions)["flag"] == "boolean"


def test_boolean_conditions_and_not_on_integers(target):
    target.needs(K.bool_conditions)
    x = np.array([0, 1, 3, 5, 7], np.int32)
    out = np.full(5, -1, np.int32)
    K.bool_conditions.to(target)[1, 8](x, out, 5)
    np.testing.assert_array_equal(out, [2, 0, 1, 0, 1])


def test_integer_used_as_condition_is_nonzero_test(target):
    target.needs(K.int_condition)
    x = np.array([0, 1, -1, 2], np.int32)
    out = np.full(4, -1, np.int32)
    K.int_condition.to(target)[1, 4](x, out, 4)
    np.testing.assert_array_equal(out, [0, 1, 1, 1])


@kernel
def flag_below_negative_literal(x: f32[:], out: i32[:]):
    i = global_id()
    v = x[i]
    if v > 0.1:
        out[i] = 1
    elif v < -0.1:
        out[i] = -1
    else:
        out[i] = 0


def test_negated_float_literal_in_f32_kernel_emits_no_double_in_cuda():
    """Was: `elif v < -0.1` compared ((double)(v)) < (-0.1), double precision on the GPU."""
    body = flag_below_negative_literal.cuda_source().split('extern "C" __global__')[-1]
    assert "double" not in body
    assert "(v < (-0.1f))" in body


def test_negated_float_literal_compares_in_f32(target):
    # -0.1 rounded to f32 is slightly below -0.1 in double: only an f32 comparison calls it equal
    x = np.array([-0.1, 0.1, -0.5, 0.5, 0.0, -0.09, 0.09, -0.11], np.float32)
    out = np.zeros(8, np.int32)
    flag_below_negative_literal.to(target)[1, 8](x, out)
    lit = np.float32(0.1)
    np.testing.assert_array_equal(out, np.where(x > lit, 1, np.where(x < -lit, -1, 0)))
