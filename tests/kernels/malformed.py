"""Malformed kernels: each must be rejected with a CodegenError pointing at the line marked
`# ERR:<name>`. No decorators here: the tests apply kernel(fn) / stencil(...)(fn) themselves.

CASES maps a case name to (function, how to compile it): "kernel" or a dict of stencil options.
"""
# flake8: noqa
import math

import numpy as np

from ringkernel_codegen import Field2D, f32, i32, i64
from ringkernel_codegen.dsl import atomic_add, cell_x, global_id, local_array, shared_array, sync_threads

GLOBAL_ARRAY = np.zeros(4, np.float32)


def lambda_expr(x: f32[:]):
    f = lambda v: v + 1  # ERR:lambda_expr
    x[0] = 1.0


def list_comprehension(x: f32[:]):
    v = [i for i in range(4)]  # ERR:list_comprehension
    x[0] = 1.0


def generator_expression(x: f32[:]):
    v = sum(i for i in range(4))  # ERR:generator_expression
    x[0] = 1.0


def dict_comprehension(x: f32[:]):
    v = {i: i for i in range(4)}  # ERR:dict_comprehension
    x[0] = 1.0


def try_except(x: f32[:]):
    try:  # ERR:try_except
        x[0] = 1.0
    except Exception:
        pass


def with_block(x: f32[:]):
    with open("f") as fh:  # ERR:with_block
        x[0] = 1.0


def generator_yield(x: f32[:]):
    yield x[0]  # ERR:generator_yield


def rec_helper(n: i32) -> i32:
    if n <= 0:
        return 0
    return rec_helper(n - 1) + 1  # ERR:direct_recursion


def direct_recursion(x: i32[:]):
    x[0] = rec_helper(3)


def ping(n: i32) -> i32:
    return pong(n - 1) if n > 0 else 0


def pong(n: i32) -> i32:
    return ping(n - 1)  # ERR:mutual_recursion


def mutual_recursion(x: i32[:]):
    x[0] = ping(3)


def self_recursive_kernel(x: i32[:]):
    self_recursive_kernel(x)  # ERR:self_recursive_kernel


def star_args(x: f32[:], *rest):  # ERR:star_args
    x[0] = 1.0


def star_kwargs(x: f32[:], **options):  # ERR:star_kwargs
    x[0] = 1.0


def unannotated_param(x: f32[:], n):  # ERR:unannotated_param
    x[0] = 1.0


def unknown_name(x: f32[:]):
    x[0] = undefined_value + 1.0  # ERR:unknown_name


def assign_array_param(x: f32[:], y: f32[:]):
    x = y  # ERR:assign_array_param
    x[0] = 1.0


def slice_load(x: f32[:], out: f32[:]):
    out[0] = x[1:3]  # ERR:slice_load


def slice_store(x: f32[:]):
    x[0:2] = 1.0  # ERR:slice_store


def tuple_unpacking_count(x: f32[:]):
    a, b = 1, 2, 3  # ERR:tuple_unpacking_count
    x[0] = a


def chained_assignment(x: f32[:]):
    a = b = 1.0  # ERR:chained_assignment
    x[0] = a


def while_else(x: f32[:]):
    i = 0
    while i < 3:
        i += 1
    else:  # ERR:while_else
        x[0] = 1.0


def for_else(x: f32[:]):
    for i in range(3):
        x[i] = 1.0
    else:  # ERR:for_else
        x[0] = 1.0


def for_over_array(x: f32[:]):
    for v in x:  # ERR:for_over_array
        x[0] = v


def for_over_tuple_target(x: f32[:]):
    for i, j in range(3):  # ERR:for_over_tuple_target
        x[0] = 1.0


def print_call(x: f32[:]):
    print(x[0])  # ERR:print_call


def string_value(x: f32[:]):
    s = "hello"  # ERR:string_value
    x[0] = 1.0


def f_string(x: f32[:]):
    s = f"{x[0]}"  # ERR:f_string
    x[0] = 1.0


def global_array(x: f32[:]):
    x[0] = GLOBAL_ARRAY[0]  # a module-level array is a constant: reading it is fine
    GLOBAL_ARRAY[1] = x[0]  # ERR:global_array


def method_call(x: f32[:], out: f32[:]):
    out[0] = x.sum()  # ERR:method_call


def unknown_attribute(x: f32[:], out: i64[:]):
    out[0] = x.size  # ERR:unknown_attribute


def intrinsic_too_many_args(x: f32[:]):
    sync_threads(1)  # ERR:intrinsic_too_many_args
    x[0] = 1.0


def intrinsic_too_few_args(x: f32[:]):
    atomic_add(x, 0)  # ERR:intrinsic_too_few_args


def intrinsic_keyword_args(x: f32[:]):
    atomic_add(x, 0, value=1.0)  # ERR:intrinsic_keyword_args


def too_many_indices(x: f32[:]):
    x[0] = x[1, 2]  # ERR:too_many_indices


def too_few_indices_store(a: f32[:, :]):
    a[0] = 1.0  # ERR:too_few_indices_store


def float_index(x: f32[:]):
    x[0] = x[1.5]  # ERR:float_index


def float_variable_index(x: f32[:]):
    v = x[0]
    x[1] = x[v]  # ERR:float_variable_index


def bitwise_on_float(x: f32[:]):
    x[0] = x[1] & 1  # ERR:bitwise_on_float


def shift_float(x: f32[:]):
    v = 2.5
    x[0] = v << 1  # ERR:shift_float


def raise_stmt(x: f32[:]):
    raise ValueError("no")  # ERR:raise_stmt


def assert_stmt(x: f32[:]):
    assert x[0] > 0  # ERR:assert_stmt


def nested_def(x: f32[:]):
    def inner(v):  # ERR:nested_def
        return v
    x[0] = 1.0


def list_literal(x: f32[:]):
    v = [1, 2]  # ERR:list_literal
    x[0] = 1.0


def dict_literal(x: f32[:]):
    v = {}  # ERR:dict_literal
    x[0] = 1.0


def walrus(x: f32[:]):
    if (v := x[0]) > 0:  # ERR:walrus
        x[1] = v


def kernel_returns_value(x: f32[:]):
    return x[0]  # ERR:kernel_returns_value


def assign_loop_variable(x: f32[:]):
    for i in range(4):
        i = 2  # ERR:assign_loop_variable
        x[i] = 1.0


def reserved_name(x: f32[:]):
    _tx = 1  # ERR:reserved_name
    x[0] = _tx


def shared_dynamic_shape(x: f32[:], n: i32):
    buf = shared_array(n, f32)  # ERR:shared_dynamic_shape
    x[0] = buf[0]


def shared_not_assigned(x: f32[:]):
    x[0] = shared_array(4, f32)[0]  # ERR:shared_not_assigned


def range_float_bounds(x: f32[:]):
    for i in range(0.5, 3.5):  # ERR:range_float_bounds
        x[0] = 1.0


def range_as_value(x: f32[:]):
    r = range(4)  # ERR:range_as_value
    x[0] = 1.0


def import_inside(x: f32[:]):
    import os  # ERR:import_inside
    x[0] = 1.0


def param_default(x: f32[:], n: i32 = 4):  # ERR:param_default
    x[0] = 1.0


def is_comparison(x: f32[:]):
    if x[0] is x[1]:  # ERR:is_comparison
        x[0] = 1.0


def in_comparison(x: f32[:]):
    if 1 in x:  # ERR:in_comparison
        x[0] = 1.0


def none_value(x: f32[:]):
    v = None  # ERR:none_value
    x[0] = 1.0


def global_statement(x: f32[:]):
    global GLOBAL_ARRAY  # ERR:global_statement
    x[0] = 1.0


def del_statement(x: f32[:]):
    v = 1.0
    del v  # ERR:del_statement


def math_without_intrinsic(x: i64[:]):
    x[0] = math.gcd(4, 6)  # ERR:math_without_intrinsic


def complex_literal(x: f32[:]):
    v = 1j  # ERR:complex_literal
    x[0] = 1.0


def matmul_operator(a: f32[:, :], b: f32[:, :]):
    a[0, 0] = a @ b  # ERR:matmul_operator


def assign_attribute(x: f32[:]):
    x.flag = 1  # ERR:assign_attribute


def array_annotated_local(x: f32[:]):
    v: f32[:] = x  # ERR:array_annotated_local
    x[0] = 1.0


def void_assigned(x: f32[:]):
    v = sync_threads()  # ERR:void_assigned
    x[0] = 1.0


def index_scalar(x: f32[:], n: i32):
    x[0] = n[0]  # ERR:index_scalar


def use_before_assign(x: f32[:]):
    x[0] = later + 1.0  # ERR:use_before_assign
    later = 2.0


def shape_variable_index(x: f32[:], out: i64[:]):
    i = global_id()
    out[0] = x.shape[i]  # ERR:shape_variable_index


def len_two_args(x: f32[:], out: i64[:]):
    out[0] = len(x, x)  # ERR:len_two_args


def array_local_used_as_number(x: f32[:]):
    v = x
    x[0] = v + 1.0  # ERR:array_local_used_as_number


def bad_annotation(x: f32[:], n: str):  # ERR:bad_annotation
    x[0] = 1.0


def call_variable(x: f32[:], n: i32):
    x[0] = n(1)  # ERR:call_variable


def helper_wrong_arity(v: f32) -> f32:
    return v * 2.0


def device_wrong_arity(x: f32[:]):
    x[0] = helper_wrong_arity(x[0], x[1])  # ERR:device_wrong_arity


# ---------------------------------------------------------------- stencils
def stencil_offset_beyond_halo(u: Field2D[f32], out: Field2D[f32]):
    out[0, 0] = u[0, 2]  # ERR:stencil_offset_beyond_halo


def stencil_write_at_offset(u: Field2D[f32], out: Field2D[f32]):
    out[0, 1] = u[0, 0]  # ERR:stencil_write_at_offset


def stencil_unknown_neighbour(u: Field2D[f32], out: Field2D[f32]):
    out[0, 0] = u.up  # ERR:stencil_unknown_neighbour


def stencil_dynamic_offset(u: Field2D[f32], out: Field2D[f32], k: i32):
    out[0, 0] = u[k, 0]  # ERR:stencil_dynamic_offset


def stencil_wrong_offset_count(u: Field2D[f32], out: Field2D[f32]):
    out[0, 0] = u[0]  # ERR:stencil_wrong_offset_count


def stencil_reads_written_field(u: Field2D[f32], out: Field2D[f32]):  # ERR:stencil_reads_written_field
    out[0, 0] = out[0, 1] + u[0, 0]


def stencil_writes_nothing(u: Field2D[f32], out: Field2D[f32]):  # ERR:stencil_writes_nothing
    v = u[0, 0]


def tuple_value(x: f32[:]):
    t = (1, 2)  # ERR:tuple_value
    x[0] = 1.0



def cell_helper(v: f32) -> f32:
    return v + f32(cell_x())  # ERR:stencil_cell_in_device


def stencil_cell_in_device(u: Field2D[f32], out: Field2D[f32]):
    out[0, 0] = cell_helper(u[0, 0])


def cell_in_kernel(x: f32[:]):
    x[global_id()] = f32(cell_x())  # ERR:cell_in_kernel


# issue #9: kernels the backends would build differently, or not at all
def float_index_store(x: f32[:], s: f32):
    x[s] = 1.0  # ERR:float_index_store


def bool_index_load(x: f32[:], n: i32):
    x[0] = x[n > 0]  # ERR:bool_index_load


def negative_constant_index(x: f32[:]):
    x[0] = x[-1]  # ERR:negative_constant_index


def atomic_index_rank(x: f32[:, :]):
    atomic_add(x, 0, 1.0)  # ERR:atomic_index_rank


def literal_too_wide(x: i64[:], n: i32):
    x[0] = max(n, 4294967295)  # ERR:literal_too_wide


def four_d_param(x: f32[:, :, :, :]):  # ERR:four_d_param
    x[0, 0, 0, 0] = 1.0


def local_index_past_end(x: f32[:]):
    t = local_array(4, f32)
    x[0] = t[4]  # ERR:local_index_past_end


def mixed_return_helper(n: i32) -> i32:
    if n > 0:
        return  # ERR:device_mixed_return
    return 16


def device_mixed_return(x: i32[:]):
    x[0] = mixed_return_helper(1)


def tuple_unpack_scalar(x: f32[:], n: i32):
    a, b = n  # ERR:tuple_unpack_scalar
    x[0] = 1.0


def reserved_temp_name(c: i32[:], n: i32):
    _rk_t0 = 1  # ERR:reserved_temp_name
    if 0 < atomic_add(c, 0, 1) < n:
        c[1] = _rk_t0


def stencil_offset_loop_dynamic(u: Field2D[f32], out: Field2D[f32], k: i32):
    s = 0.0
    for dy in range(k):  # ERR:stencil_offset_loop_dynamic
        s += u[dy, 0]
    out[0, 0] = s


STENCIL = dict(tile=(8, 8), halo=1)
CASES = {name: (fn, "kernel") for name, fn in list(globals().items())
         if callable(fn) and getattr(fn, "__module__", None) == __name__ and not name.startswith("stencil_")
         and name not in ("rec_helper", "ping", "pong", "helper_wrong_arity", "cell_helper", "mixed_return_helper")}
CASES.update({name: (fn, STENCIL) for name, fn in list(globals().items())
              if callable(fn) and name.startswith("stencil_")})
