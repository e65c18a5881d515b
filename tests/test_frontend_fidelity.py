"""A kernel the front end accepts builds and runs the same on every backend; anything else is a
CodegenError with file:line:col, the source line, a caret and a hint (issue #9, front end).

Each kernel below runs on the CPU emulator against a Python/NumPy reference; its CUDA C++ is
compiled with NVRTC (no GPU needed) and its numba.cuda source is compiled as Python. Kernels are
plain functions here (the front end reads their source); the tests decorate them.
"""
import inspect
import re

import numpy as np
import pytest

from ringkernel_codegen import (CodegenError, Field2D, RingKernelError, device, f32, f64, i32, i64, kernel,
                                message, ring_kernel, stencil, u32)
from ringkernel_codegen.dsl import (atomic_add, global_id, local_array, shared_array, sync_threads,
                                    thread_idx_x)
from ringkernel_codegen.message import Array

FILE = inspect.getsourcefile(lambda: None)


# ---------------------------------------------------------------------------------------------
# helpers

@pytest.fixture(scope="module")
def nvrtc(tmp_path_factory):
    """compile(source): NVRTC for sm_90 (skipped where NVRTC cannot be loaded)."""
    from ringkernel_codegen.errors import BackendUnavailableError
    from ringkernel_codegen.nvrtc import compile_cuda, nvrtc_version

    try:
        nvrtc_version()
    except BackendUnavailableError as exc:
        pytest.skip(f"NVRTC unavailable: {exc}")
    cache = tmp_path_factory.mktemp("nvrtc")
    return lambda src: compile_cuda(src, arch="sm_90", cache_dir=cache)


def build(fn, nvrtc, **stencil_options):
    """Decorate `fn`; check that its CUDA compiles (NVRTC) and its numba source is valid Python."""
    k = stencil(**stencil_options)(fn) if stencil_options else kernel(fn)
    nvrtc(k.cuda_source())
    compile(k.numba_source(), f"<{fn.__name__} numba>", "exec")
    return k


def line_of(fn, text: str) -> int:
    """The file line of the first line of `fn` containing `text`."""
    lines, first = inspect.getsourcelines(fn)
    hits = [first + i for i, line in enumerate(lines) if text in line]
    assert hits, f"{text!r} not in {fn.__name__}"
    return hits[0]


def refused(make, fn, text: str, message: str, where=None) -> CodegenError:
    """`make(fn)` raises a CodegenError whose message has `message`, pointing (with the source
    line, a caret and a hint) at the first line containing `text` of `where` (default: `fn`)."""
    with pytest.raises(CodegenError) as info:
        make(fn)
    err = info.value
    rendered = str(err)
    assert message in err.message, rendered
    line = line_of(where or fn, text)
    m = re.search(re.escape(FILE) + r":(\d+):(\d+): error: ", rendered)
    assert m and int(m.group(1)) == line, f"expected line {line}:\n{rendered}"
    rows = rendered.splitlines()
    src = open(FILE).read().splitlines()[line - 1]
    i = rows.index("    " + src)
    assert rows[i + 1].index("^") == 4 + int(m.group(2)) - 1, rendered
    assert any(r.startswith("hint: ") and len(r) > 7 for r in rows), rendered
    return err


ATOMIC_ADD = {"cpu": "atomic_add(", "numba": "cuda.atomic.add(", "cuda": "atomic_add("}


def atomic_adds(k, backend: str) -> int:
    """How many atomic_add calls `backend`'s source of kernel `k` makes (comments not counted). The
    cpu module writes a kernel's body into several launchers (serial and prange; a 1-D flat loop
    before the block loop): count one of them, the serial launcher's block loop."""
    src = k.source(backend)
    if backend == "cpu":
        name = "_rk_launch_serial" if "\ndef _rk_launch_serial(" in src else "_rk_launch"
        src = src.split(f"\ndef {name}(", 1)[1].split("\ndef ", 1)[0]
        src = src[src.index("for _b in"):]
    return sum(line.count(ATOMIC_ADD[backend]) for line in src.splitlines()
               if not line.lstrip().startswith(("//", "#")))


# ---------------------------------------------------------------------------------------------
# 1. chained comparisons evaluate each operand once, left to right, lazily

def chain_atomic(c: i32[:], hits: i32[:], n: i32):
    if 0 <= atomic_add(c, 0, 1) < n:
        atomic_add(hits, 0, 1)


def test_chained_comparison_evaluates_an_atomic_once(nvrtc):
    k = build(chain_atomic, nvrtc)
    for backend in ("cpu", "numba", "cuda"):
        assert atomic_adds(k, backend) == 2, backend
    c, hits = np.zeros(1, np.int32), np.zeros(1, np.int32)
    k.to("cpu")[2, 32](c, hits, 40)
    assert c[0] == 64 and hits[0] == 40


def chain_call_in_index(a: f32[:], out: i32[:]):
    i = global_id()
    if 0.0 < a[global_id()] < 1.0:
        out[i] = 1


def test_chained_comparison_with_a_call_inside_an_index(nvrtc):
    k = build(chain_call_in_index, nvrtc)
    a = np.array([-1, 0, 0.5, 1, 2, 0.25, 0.999, 1e-7], np.float32)
    out = np.zeros(8, np.int32)
    k.to("cpu")[1, 8](a, out)
    np.testing.assert_array_equal(out, ((0 < a) & (a < 1)).astype(np.int32))


def chain_short_circuit(c: i32[:], d: i32[:]):
    # d is only incremented where the first comparison holds (old c > 0)
    if 0 < atomic_add(c, 0, 1) < atomic_add(d, 0, 1) + 1000:
        atomic_add(d, 1, 1)


def test_chained_comparison_short_circuits_the_rest(nvrtc):
    k = build(chain_short_circuit, nvrtc)
    c, d = np.zeros(1, np.int32), np.zeros(2, np.int32)
    k.to("cpu")[1, 64](c, d)
    assert c[0] == 64 and d[0] == 63 and d[1] == 63


def chain_four(cnt: i32[:], out: i32[:], lo: i32, hi: i32):
    i = global_id()
    # cnt[k] counts evaluations of the k-th call: each at most once, later ones lazily
    if lo <= atomic_add(cnt, 0, 1) * 0 + i < atomic_add(cnt, 1, 1) * 0 + hi < atomic_add(cnt, 2, 1) * 0 + 100:
        out[i] = 1


def test_four_operand_chain_evaluates_each_operand_at_most_once(nvrtc):
    k = build(chain_four, nvrtc)
    cnt, out = np.zeros(3, np.int32), np.zeros(32, np.int32)
    k.to("cpu")[1, 32](cnt, out, 5, 20)
    i = np.arange(32)
    np.testing.assert_array_equal(out, ((5 <= i) & (i < 20)).astype(np.int32))
    # the second operand runs always, the third only where lo <= i, the fourth where also i < hi
    assert cnt.tolist() == [32, 27, 15]


def chain_in_while(c: i32[:], out: i32[:]):
    i = global_id()
    n = 0
    while 0 <= atomic_add(c, i, 1) < 5:
        n += 1
    out[i] = n


def chain_in_logic(c: i32[:], out: i32[:], flag: i32):
    i = global_id()
    if flag > 0 and 0 <= atomic_add(c, 0, 1) < 1000:
        out[i] = 1
    v = 7 if flag > 0 else (2 if 0 < atomic_add(c, 1, 1) < 3 else 5)
    out[i] += v


def chain_in_elif(c: i32[:], out: i32[:]):
    i = global_id()
    if i < 4:
        out[i] = 1
    elif 0 <= atomic_add(c, 0, 1) < 3:
        out[i] = 2
    else:
        out[i] = 3


def test_chains_in_while_and_or_select_and_elif(nvrtc):
    k = build(chain_in_while, nvrtc)
    c, out = np.zeros(8, np.int32), np.zeros(8, np.int32)
    k.to("cpu")[1, 8](c, out)
    assert out.tolist() == [5] * 8 and c.tolist() == [6] * 8

    k = build(chain_in_logic, nvrtc)
    for flag in (0, 1):
        c, out = np.zeros(2, np.int32), np.zeros(16, np.int32)
        k.to("cpu")[1, 16](c, out, flag)
        if flag:  # the chain in `and` ran in every thread, the one in the else branch in none
            assert c.tolist() == [16, 0] and out.tolist() == [8] * 16
        else:     # old values 0..15 of c[1]: 1 and 2 are inside (0, 3)
            assert c.tolist() == [0, 16] and sorted(out.tolist()) == sorted([2] * 2 + [5] * 14)

    k = build(chain_in_elif, nvrtc)
    c, out = np.zeros(1, np.int32), np.zeros(10, np.int32)
    k.to("cpu")[1, 10](c, out)
    assert c[0] == 6 and out[:4].tolist() == [1] * 4 and sorted(out[4:].tolist()) == [2, 2, 2, 3, 3, 3]


def aug_index_once(c: i32[:], a: f32[:]):
    a[atomic_add(c, 0, 1)] += 1.5


def test_augmented_store_evaluates_its_index_once(nvrtc):
    k = build(aug_index_once, nvrtc)
    for backend in ("cpu", "numba", "cuda"):
        assert atomic_adds(k, backend) == 1, backend
    c, a = np.zeros(1, np.int32), np.zeros(16, np.float32)
    k.to("cpu")[1, 16](c, a)
    assert c[0] == 16 and a.tolist() == [1.5] * 16


def chain_pure(a: i32[:], out: i32[:], lo: i32, hi: i32):
    i = global_id()
    out[i] = 1 if lo < i + 1 <= hi else 0


def test_chain_of_pure_operands_needs_no_temporary(nvrtc):
    k = build(chain_pure, nvrtc)
    assert "_rk_t" not in k.cuda_source()
    out = np.zeros(8, np.int32)
    k.to("cpu")[1, 8](np.zeros(1, np.int32), out, 2, 5)
    assert out.tolist() == [0, 0, 1, 1, 1, 0, 0, 0]


# ---------------------------------------------------------------------------------------------
# 2. accepted, then not buildable: now refused where the backends would disagree, or built

def float_index_store(a: f32[:], s: f32):
    a[s] = 1.0


def float_literal_index(a: f32[:]):
    a[1.5] = 2.0


def float_index_load(a: f32[:], out: f32[:], s: f64):
    out[0] = a[s]


def bool_index(a: f32[:], s: i32):
    a[s > 0] = 1.0


def float_atomic_index(a: f32[:], s: f32):
    atomic_add(a, s, 1.0)


@pytest.mark.parametrize("fn, text", [
    (float_index_store, "a[s] = 1.0"), (float_literal_index, "a[1.5]"), (float_index_load, "out[0] = a[s]"),
    (bool_index, "a[s > 0]"), (float_atomic_index, "atomic_add(a, s")])
def test_non_integer_index_is_refused(fn, text):
    refused(kernel, fn, text, "array index must be an integer")


def max_big_literal(a: i64[:], n: i32):
    a[0] = max(n, 4294967295)


def add_big_literal(a: i64[:], n: i32):
    a[0] = n + 5000000000


BIG = 2 ** 70


def global_too_big(a: i64[:], n: i64):
    a[0] = n + BIG


def global_too_big_alone(a: f64[:]):
    x = BIG
    a[0] = x


def test_integer_literal_that_does_not_fit_is_refused():
    refused(kernel, max_big_literal, "max(n, 4294967295)", "4294967295 does not fit i32")
    refused(kernel, add_big_literal, "n + 5000000000", "does not fit i32")
    refused(kernel, global_too_big, "n + BIG", "does not fit any kernel integer type")
    refused(kernel, global_too_big_alone, "x = BIG", "does not fit any kernel integer type")


def literals_that_fit(a: i64[:], f: f64[:], n: i32, u: u32, w: i64):
    a[0] = max(i64(n), 4294967295)
    a[1] = u & 0xFFFFFFFF
    a[2] = w + 2 ** 40
    a[3] = u + (-1)           # C: -1 converts to u32 (wraps)
    f[0] = n * 2.5 + BIG * 1.0


def test_integer_literals_that_fit_still_work(nvrtc):
    k = build(literals_that_fit, nvrtc)
    a, f = np.zeros(4, np.int64), np.zeros(1, np.float64)
    k.to("cpu")[1, 1](a, f, 3, 7, 5)
    assert a.tolist() == [4294967295, 7, 5 + 2 ** 40, 6] and f[0] == 3 * 2.5 + float(BIG)


def shared_only_in_if(a: f32[:], n: i32):
    if n > 0:
        s = shared_array(4, f32)
    a[0] = 1.0


def local_in_loop(a: f32[:], n: i32):
    acc = 0.0
    for i in range(n):
        tmp = local_array(2, f32)
        tmp[0] = f32(i)
        acc += tmp[0]
    a[0] = acc


def test_allocation_inside_a_block_builds(nvrtc):
    k = build(shared_only_in_if, nvrtc)
    a = np.zeros(1, np.float32)
    k.to("cpu")[1, 1](a, 1)
    assert a[0] == 1.0
    k = build(local_in_loop, nvrtc)
    k.to("cpu")[1, 1](a, 5)
    assert a[0] == 10.0


def sum100(a: f32[:], out: f32[:]):
    out[0] = a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7] + a[8] + a[9] + a[10] + a[11] + a[12] + a[13] + a[14] + a[15] + a[16] + a[17] + a[18] + a[19] + a[20] + a[21] + a[22] + a[23] + a[24] + a[25] + a[26] + a[27] + a[28] + a[29] + a[30] + a[31] + a[32] + a[33] + a[34] + a[35] + a[36] + a[37] + a[38] + a[39] + a[40] + a[41] + a[42] + a[43] + a[44] + a[45] + a[46] + a[47] + a[48] + a[49] + a[50] + a[51] + a[52] + a[53] + a[54] + a[55] + a[56] + a[57] + a[58] + a[59] + a[60] + a[61] + a[62] + a[63] + a[64] + a[65] + a[66] + a[67] + a[68] + a[69] + a[70] + a[71] + a[72] + a[73] + a[74] + a[75] + a[76] + a[77] + a[78] + a[79] + a[80] + a[81] + a[82] + a[83] + a[84] + a[85] + a[86] + a[87] + a[88] + a[89] + a[90] + a[91] + a[92] + a[93] + a[94] + a[95] + a[96] + a[97] + a[98] + a[99]  # noqa: E501


def sum100_i32(a: i32[:], out: i32[:]):
    out[0] = a[0] * a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7] + a[8] + a[9] + a[10] + a[11] + a[12] + a[13] + a[14] + a[15] + a[16] + a[17] + a[18] + a[19] + a[20] + a[21] + a[22] + a[23] + a[24] + a[25] + a[26] + a[27] + a[28] + a[29] + a[30] + a[31] + a[32] + a[33] + a[34] + a[35] + a[36] + a[37] + a[38] + a[39] + a[40] + a[41] + a[42] + a[43] + a[44] + a[45] + a[46] + a[47] + a[48] + a[49] + a[50] + a[51] + a[52] + a[53] + a[54] + a[55] + a[56] + a[57] + a[58] + a[59] + a[60] + a[61] + a[62] + a[63] + a[64] + a[65] + a[66] + a[67] + a[68] + a[69] + a[70] + a[71] + a[72] + a[73] + a[74] + a[75] + a[76] + a[77] + a[78] + a[79] + a[80] + a[81] + a[82] + a[83] + a[84] + a[85] + a[86] + a[87] + a[88] + a[89] + a[90] + a[91] + a[92] + a[93] + a[94] + a[95] + a[96] + a[97] + a[98] + a[99]  # noqa: E501


def test_hundred_term_sums_build_and_wrap_like_c(nvrtc):
    a = np.arange(100, dtype=np.float32) / 7
    out = np.zeros(1, np.float32)
    build(sum100, nvrtc).to("cpu")[1, 1](a, out)
    want = np.float32(0)
    for v in a:
        want = np.float32(want + v)
    assert out[0] == want
    b = np.full(100, 2 ** 30, np.int32)
    b[:2] = 3
    out = np.zeros(1, np.int32)
    build(sum100_i32, nvrtc).to("cpu")[1, 1](b, out)
    assert out[0] == np.int64(9 + 98 * 2 ** 30).astype(np.int32)  # wraps at 32 bits, as in C


def make_deep(expr: str, name: str, ann: str = "i32"):
    """A kernel function `name(a)` with `a[0] = <expr>` written to a real file (the front end
    reads source); returns the function."""
    import importlib.util
    import os
    import tempfile

    folder = tempfile.mkdtemp(prefix="rk_deep_")
    path = os.path.join(folder, f"{name}.py")
    with open(path, "w") as fh:
        fh.write(f"from ringkernel_codegen import f32, i32\n\n\ndef {name}(a: {ann}[:]):\n    a[0] = {expr}\n")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name), path


@pytest.mark.parametrize("n", [1, 2, 3, 250, 341])
def test_deeply_nested_unary_minus_builds(n, nvrtc):
    fn, _ = make_deep("-" * n + "a[1]", f"neg{n}")
    k = build(fn, nvrtc)
    a = np.array([0, 5], np.int32)
    k.to("cpu")[1, 1](a)
    assert a[0] == (-5 if n % 2 else 5)


@pytest.mark.parametrize("expr", ["-~" * 80 + "a[1]", " + ".join(["a[1]"] * 160),
                                  "max(" * 60 + "a[1]" + ", a[1])" * 60])
def test_too_deep_expression_is_refused_with_its_position(expr):
    fn, path = make_deep(expr, "deep")
    with pytest.raises(CodegenError) as info:
        kernel(fn)
    text = str(info.value)
    assert "nested too deeply" in text and f"{path}:5:" in text and "hint: " in text and "^" in text


def expressions_nested_to_the_limit():
    """Deep but legal expressions build on every backend (Python's 200-parenthesis limit)."""
    return ["-~" * 70 + "a[1]", " + ".join(["a[1]"] * 140), "max(" * 48 + "a[1]" + ", a[1])" * 48,
            "(" * 70 + "a[1]" + " * 1 - 0)" * 70]


@pytest.mark.parametrize("expr", expressions_nested_to_the_limit())
def test_expressions_at_the_depth_limit_build(expr, nvrtc):
    fn, _ = make_deep(expr, "at_limit")
    k = build(fn, nvrtc)
    compile(k.cpu_source(), "<cpu>", "exec")
    a = np.array([0, 1], np.int32)
    k.to("cpu")[1, 1](a)
    assert a[0] == eval(expr, {"a": [0, 1], "max": max})


def make_nested(levels: int):
    """A kernel with `levels` nested ifs, written to a real file; (function, path)."""
    import importlib.util
    import os
    import tempfile

    lines = ["from ringkernel_codegen import i32", "", "", "def nested(a: i32[:], n: i32):"]
    lines += ["    " * (d + 1) + f"if n > {d}:" for d in range(levels)]
    lines.append("    " * (levels + 1) + "a[0] = n")
    path = os.path.join(tempfile.mkdtemp(prefix="rk_nested_"), f"nested{levels}.py")
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    spec = importlib.util.spec_from_file_location(f"nested{levels}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.nested, path


def test_blocks_nested_to_the_limit_build_and_deeper_ones_are_refused(nvrtc):
    fn, _ = make_nested(64)
    k = build(fn, nvrtc)
    a = np.zeros(1, np.int32)
    k.to("cpu")[1, 1](a, 100)
    assert a[0] == 100
    fn, path = make_nested(65)
    with pytest.raises(CodegenError, match="blocks nested too deeply") as info:
        kernel(fn)
    assert f"{path}:{4 + 65 + 1}:" in str(info.value) and "hint: " in str(info.value)


@device
def dev_with_shared(a: f32[:], i: i32) -> f32:
    s = shared_array(4, f32)
    s[0] = a[i]
    return s[0]


def calls_dev_with_shared(a: f32[:]):
    a[0] = dev_with_shared(a, 1)


@device
def dev_bare_and_value(n: i32) -> i32:
    if n > 0:
        return
    return 16


def calls_dev_bare_and_value(a: i32[:]):
    a[0] = dev_bare_and_value(1)


@device
def dev_falls_off(n: i32):
    if n > 0:
        return 1


def calls_dev_falls_off(a: i32[:]):
    a[0] = dev_falls_off(1)


def test_shared_array_inside_a_device_function_builds(nvrtc):
    """Was refused (cpu NameError before that); CUDA and numba allow it, the CPU inlines the function."""
    k = build(calls_dev_with_shared, nvrtc)
    a = np.array([0.0, 2.5, 0.0], np.float32)
    k.to("cpu")[1, 1](a)
    assert a[0] == 2.5


def test_device_function_shapes_the_backends_cannot_agree_on_are_refused():
    refused(kernel, calls_dev_bare_and_value, "        return\n", "bare `return`", dev_bare_and_value.fn)
    refused(kernel, calls_dev_falls_off, "def dev_falls_off", "can reach the end of its body", dev_falls_off.fn)


@device
def dev_loop_returns(n: i32) -> i32:
    k = 0
    while True:
        k += 1
        if k * k >= n:
            return k


@device
def dev_if_else_returns(x: f32) -> f32:
    if x > 0.0:
        return x
    else:
        return -x


def calls_returning_devices(a: i32[:], b: f32[:]):
    a[0] = dev_loop_returns(50)
    b[0] = dev_if_else_returns(-2.5)


def test_device_functions_returning_on_every_path_build(nvrtc):
    k = build(calls_returning_devices, nvrtc)
    a, b = np.zeros(1, np.int32), np.zeros(1, np.float32)
    k.to("cpu")[1, 1](a, b)
    assert a[0] == 8 and b[0] == 2.5


def stencil_body(u: Field2D[f32], out: Field2D[f32]):
    out[0, 0] = u[0, 0]


@pytest.mark.parametrize("options", [dict(halo=True), dict(halo=False), dict(tile=(True, 8)), dict(tile=True)])
def test_stencil_options_that_are_bools_are_refused(options):
    with pytest.raises(RingKernelError, match="halo|tile"):
        stencil(**options)(stencil_body)


def four_d_param(a: f32[:, :, :, :]):
    a[0, 0, 0, 0] = 1.0


def four_d_local(a: f32[:]):
    t = local_array((2, 2, 2, 2), f32)
    a[0] = t[0, 0, 0, 0]


def test_four_dimensional_arrays_are_refused():
    refused(kernel, four_d_param, "def four_d_param", "kernel arrays have 1 to 3 dimensions")
    refused(kernel, four_d_local, "t = local_array", "kernel arrays have 1 to 3 dimensions")


@message
class Vec4:
    v: Array(f32, 4)


@message
class Total:
    s: f32


@message
class Hist:
    h: Array(i32, 3)


def reads_past_message_field(ctx, msg: Vec4) -> Total:
    return Total(s=msg.v[4])


def writes_past_state_field(ctx, msg: Vec4) -> Total:
    ctx.state.h[3] = 1
    return Total(s=msg.v[0])


def reads_message_field(ctx, msg: Vec4) -> Total:
    ctx.state.h[2] = 1
    return Total(s=msg.v[0] + msg.v[3])


def test_constant_index_past_a_message_array_field_is_refused():
    make = ring_kernel(input=Vec4, output=Total, state=Hist)
    refused(make, reads_past_message_field, "msg.v[4]", "index 4 is out of range for an axis of extent 4")
    refused(make, writes_past_state_field, "ctx.state.h[3]", "index 3 is out of range for an axis of extent 3")
    make(reads_message_field).cpu_source()


# ---------------------------------------------------------------------------------------------
# 3. one meaning on every backend: index rank, negative and out-of-range constant indices

def atomic_row(a: f32[:, :]):
    atomic_add(a, 0, 1.0)


def atomic_tuple_on_1d(a: f32[:]):
    atomic_add(a, (0, 1), 1.0)


def atomic_short_tuple_on_3d(a: i32[:, :, :]):
    atomic_add(a, (0, 1), 1)


@pytest.mark.parametrize("fn", [atomic_row, atomic_tuple_on_1d, atomic_short_tuple_on_3d])
def test_array_intrinsic_index_must_match_the_rank(fn):
    refused(kernel, fn, "atomic_add(a,", "array needs")


def atomic_2d(a: f32[:, :], c: i32[:, :]):
    i = global_id()
    atomic_add(a, (i % 2, 1), 1.0)
    atomic_add(c, (1, i % 3), 2)


def test_array_intrinsic_with_full_index_updates_one_element(nvrtc):
    k = build(atomic_2d, nvrtc)
    a, c = np.zeros((2, 3), np.float32), np.zeros((2, 3), np.int32)
    k.to("cpu")[1, 6](a, c)
    np.testing.assert_array_equal(a, [[0, 3, 0], [0, 3, 0]])
    np.testing.assert_array_equal(c, [[0, 0, 0], [4, 4, 4]])


def negative_load(a: f32[:], out: f32[:]):
    out[0] = a[-1]


def negative_store(a: f32[:]):
    a[0 - 2] = 1.0


def negative_2d(a: f32[:, :]):
    a[1, -1] = 1.0


def negative_atomic(a: i32[:]):
    atomic_add(a, -1, 1)


def past_local(a: f32[:]):
    t = local_array(4, f32)
    a[0] = t[4]


def past_shared_2d(a: f32[:]):
    s = shared_array((4, 8), f32)
    s[3, 8] = 1.0
    a[0] = s[0, 0]


@pytest.mark.parametrize("fn, text, message", [
    (negative_load, "a[-1]", "negative array index -1"), (negative_store, "a[0 - 2]", "negative array index -2"),
    (negative_2d, "a[1, -1]", "negative array index -1"), (negative_atomic, "atomic_add(a, -1", "negative"),
    (past_local, "t[4]", "index 4 is out of range"), (past_shared_2d, "s[3, 8]", "index 8 is out of range")])
def test_constant_index_outside_the_array_is_refused(fn, text, message):
    refused(kernel, fn, text, message)


def wrapped_unsigned_index(a: f32[:], out: f32[:]):
    out[0] = a[u32(3)] + a[i32(2) - 1]


def test_constant_indices_inside_the_array_work(nvrtc):
    a, out = np.arange(4, dtype=np.float32), np.zeros(1, np.float32)
    build(wrapped_unsigned_index, nvrtc).to("cpu")[1, 1](a, out)
    assert out[0] == 4.0


# ---------------------------------------------------------------------------------------------
# 4. constructs numba users rely on

def assigns_params(a: f32[:], n: i32, x: f32):
    n = n + 1
    x *= 2.0
    n += 1
    a[global_id()] = x + f32(n)


@device
def dev_countdown(n: i32) -> i32:
    total = 0
    while n > 0:
        total += n
        n -= 1
    return total


def assigns_params_in_device(a: i32[:], n: i32):
    a[0] = dev_countdown(n)
    a[1] = n


def assigns_param_across_barrier(a: i32[:], n: i32):
    buf = shared_array(32, i32)
    t = thread_idx_x()
    n = n + t
    buf[t] = n
    sync_threads()
    n = n * 2
    sync_threads()
    a[t] = n + buf[(t + 1) % 32]


def test_assigning_scalar_parameters(nvrtc):
    a = np.zeros(4, np.float32)
    build(assigns_params, nvrtc).to("cpu")[1, 4](a, 3, 1.25)
    assert a.tolist() == [7.5] * 4
    b = np.zeros(2, np.int32)
    build(assigns_params_in_device, nvrtc).to("cpu")[1, 1](b, 5)
    assert b.tolist() == [15, 5]
    k = build(assigns_param_across_barrier, nvrtc)
    c = np.zeros(32, np.int32)
    k.to("cpu")[1, 32](c, 10)
    t = np.arange(32)
    np.testing.assert_array_equal(c, (10 + t) * 2 + 10 + (t + 1) % 32)


def swaps(a: i32[:], x: f32[:]):
    p, q = 1, 2
    p, q = q, p
    f, g = 0, 1
    for _ in range(10):
        f, g = g, f + g
    a[0], a[1], a[2] = p, q, f
    i = global_id()
    if i == 0:
        x[0], x[3] = x[3], x[0]


def test_tuple_assignment_and_swaps(nvrtc):
    k = build(swaps, nvrtc)
    a, x = np.zeros(3, np.int32), np.arange(4, dtype=np.float32)
    k.to("cpu")[1, 1](a, x)
    assert a.tolist() == [2, 1, 55] and x.tolist() == [3, 1, 2, 0]


def barrier_kernel_constructs(out: i32[:], n: i32):
    """Temporaries, tuple assignment and an assigned parameter where the CPU emulator keeps
    locals per thread (a kernel with barriers), with a chained comparison in a loop condition."""
    buf = shared_array(32, i32)
    t = thread_idx_x()
    if t == 0:
        buf[0] = 0
    sync_threads()
    k = 0
    while 0 <= buf[0] < n:
        k += 1
        sync_threads()
        if t == 0:
            buf[0] += 1
        sync_threads()
    p, q = k, t
    p, q = q, p
    n = p * 100 + q
    sync_threads()
    out[t] = n


def test_constructs_inside_a_kernel_with_barriers(nvrtc):
    k = build(barrier_kernel_constructs, nvrtc)
    out = np.zeros(32, np.int32)
    k.to("cpu")[1, 32](out, 5)
    np.testing.assert_array_equal(out, np.arange(32) * 100 + 5)


def unpack_not_a_tuple(a: i32[:], n: i32):
    p, q = n  # a scalar has nothing to unpack
    a[0] = p


def test_unpacking_a_non_tuple_is_refused():
    refused(kernel, unpack_not_a_tuple, "p, q = n", "tuple assignment needs a tuple")


def numpy_names(x: f32[:], out: f32[:], flags: i32[:]):
    i = global_id()
    v = x[i]
    out[i * 8 + 0] = np.sqrt(np.abs(v))
    out[i * 8 + 1] = np.exp(v * 0.5)
    out[i * 8 + 2] = np.float32(np.floor(v)) + np.ceil(v)
    out[i * 8 + 3] = np.fmin(v, 0.5) + np.fmax(v, -0.5)
    out[i * 8 + 4] = np.arctan2(v, 2.0) + np.hypot(v, 1.0)
    out[i * 8 + 5] = np.log1p(np.fabs(v)) + np.sin(v) * np.cos(v)
    out[i * 8 + 6] = np.float32(np.int32(v * 3.0))
    out[i * 8 + 7] = np.copysign(np.rint(v), -1.0)
    flags[i] = 1 if np.isnan(v) or np.isinf(v) or not np.isfinite(v) or np.signbit(v) else 0


def test_numpy_math_names_map_to_the_intrinsics(nvrtc):
    k = build(numpy_names, nvrtc)
    x = np.array([0.25, -1.5, 2.5, -0.0, 3.75, -7.25, 0.5, 1.0], np.float32)
    out, flags = np.zeros(64, np.float32), np.zeros(8, np.int32)
    k.to("cpu")[1, 8](x, out, flags)
    f = np.float32
    want = np.stack([np.sqrt(np.abs(x)), np.exp(x * f(0.5)), np.floor(x) + np.ceil(x),
                     np.fmin(x, f(0.5)) + np.fmax(x, f(-0.5)), np.arctan2(x, f(2)) + np.hypot(x, f(1)),
                     np.log1p(np.fabs(x)) + np.sin(x) * np.cos(x), (x * f(3)).astype(np.int32).astype(f),
                     np.copysign(np.rint(x), f(-1))], axis=1).astype(f).ravel()
    np.testing.assert_allclose(out, want, rtol=2e-6, atol=1e-6)
    assert flags.tolist() == [int(np.signbit(v)) for v in x]
    code = [line for line in k.cuda_source().splitlines() if not line.lstrip().startswith("//")]
    assert not any("np." in line for line in code) and any("sqrtf(fabsf(v))" in line for line in code)


def numpy_sqrt_of_int(a: f64[:], n: i32):
    a[0] = np.sqrt(n)  # an integer argument: sqrt in f64, as numpy does


def test_numpy_names_take_the_intrinsic_types(nvrtc):
    k = build(numpy_sqrt_of_int, nvrtc)
    a = np.zeros(1, np.float64)
    k.to("cpu")[1, 1](a, 7)
    assert a[0] == np.sqrt(7) and "sqrt((double)" in k.cuda_source().replace("((double)", "(double)")


@device
def divmod_floor(a: i32, b: i32):
    q = a // b
    return q, a - q * b


@device
def ordered(x: f32, y: f32):
    if x > y:
        return y, x, True
    return x, y, False


@device
def annotated_pair(x: f32) -> tuple[f32, i32]:
    return x * 2.0, 7


def unpacks_device_tuples(a: i32[:], out: i32[:], f: f32[:]):
    i = global_id()
    q, r = divmod_floor(a[i], 3)
    out[2 * i], out[2 * i + 1] = divmod_floor(a[i], 4)
    lo, hi, swapped = ordered(f[i], 0.5)
    f[i] = hi - lo + (1.0 if swapped else 0.0)
    twice, seven = annotated_pair(lo)
    a[i] = q * 10 + r + i32(twice * 0.0) + seven * 0


def unpacks_across_barrier(a: i32[:]):
    buf = shared_array(32, i32)
    t = thread_idx_x()
    q, r = divmod_floor(a[t], 5)
    buf[t] = q
    sync_threads()
    a[t] = buf[(t + 1) % 32] * 100 + r


def test_device_functions_returning_tuples(nvrtc):
    k = build(unpacks_device_tuples, nvrtc)
    a = np.array([7, -7, 9, 10], np.int32)
    out, f = np.zeros(8, np.int32), np.array([0.25, 1.0, 0.5, -2], np.float32)
    k.to("cpu")[1, 4](a, out, f)
    assert a.tolist() == [21, -28, 30, 31]                      # Python's floor division and modulo
    assert out.tolist() == [1, 3, -2, 1, 2, 1, 2, 2]
    assert f.tolist() == [0.25, 1.5, 0.0, 2.5]
    k = build(unpacks_across_barrier, nvrtc)
    a = np.arange(32, dtype=np.int32) * 3
    k.to("cpu")[1, 32](a)
    t = np.arange(32)
    np.testing.assert_array_equal(a, (3 * ((t + 1) % 32)) // 5 * 100 + (3 * t) % 5)


def tuple_not_unpacked(a: i32[:]):
    a[0] = divmod_floor(7, 2)


def tuple_wrong_count(a: i32[:]):
    q, r, s = divmod_floor(7, 2)
    a[0] = q


@device
def tuple_or_value(x: i32):
    if x > 0:
        return x, x
    return x


def calls_tuple_or_value(a: i32[:]):
    p, q = tuple_or_value(1)
    a[0] = p


def kernel_returns_tuple(a: i32[:]):
    return 1, 2


def test_tuple_returns_used_wrongly_are_refused():
    refused(kernel, tuple_not_unpacked, "a[0] = divmod_floor", "returns 2 values: unpack them")
    refused(kernel, tuple_wrong_count, "q, r, s =", "cannot unpack 2 values into 3 targets")
    refused(kernel, calls_tuple_or_value, "        return x, x", "returns a tuple in one place",
            tuple_or_value.fn)
    refused(kernel, kernel_returns_tuple, "return 1, 2", "only a @device function can return a tuple")


def array_alias(buf0: f32[:], buf1: f32[:], out: f32[:], flag: i32):
    i = global_id()
    data = buf0 if flag > 0 else buf1
    out[i] = data[i] * 2.0 + f32(len(data)) + f32(data.shape[0])
    same = data
    same[i] += 1.0
    atomic_add(data, 0, 1.0)


def ping_pong(a: f32[:], b: f32[:], n: i32):
    i = global_id()
    src = a
    dst = b
    for _ in range(n):
        dst[i] = src[i] * 2.0 + 1.0
        src, dst = dst, src


def test_binding_an_array_to_a_local_name(nvrtc):
    k = build(array_alias, nvrtc)
    for flag in (0, 1):
        b0, b1 = np.arange(4, dtype=np.float32), np.arange(10, 14, dtype=np.float32)
        out = np.zeros(4, np.float32)
        want_out = (b0 if flag else b1) * 2 + 8
        chosen, other = (b0, b1) if flag else (b1, b0)
        want_chosen, want_other = chosen + 1, other.copy()
        want_chosen[0] += 4
        k.to("cpu")[1, 4](b0, b1, out, flag)
        np.testing.assert_array_equal(out, want_out)
        np.testing.assert_array_equal((b0, b1) if flag else (b1, b0), (want_chosen, want_other))
    k = build(ping_pong, nvrtc)
    a, b = np.arange(4, dtype=np.float32), np.zeros(4, np.float32)
    k.to("cpu")[1, 4](a, b, 3)
    ra, rb = np.arange(4, dtype=np.float32), np.zeros(4, np.float32)
    for _ in range(3):
        rb[:] = ra * 2 + 1
        ra, rb = rb, ra
    np.testing.assert_array_equal(a, rb)   # after an odd number of swaps the names are exchanged
    np.testing.assert_array_equal(b, ra)


def alias_mixed_types(a: f32[:], b: i32[:], flag: i32):
    data = a if flag > 0 else b
    data[0] = 1


def alias_as_number(a: f32[:], out: f32[:]):
    data = a
    out[0] = data + 1.0


def test_array_local_misuse_is_refused():
    refused(kernel, alias_mixed_types, "data = a if", "names arrays of different types")
    refused(kernel, alias_as_number, "out[0] = data", "'data' names an array")


WEIGHTS = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], np.float32)


def blur(u: Field2D[f32], out: Field2D[f32], w: f32[:, :]):
    s = 0.0
    for dy in range(-1, 2):
        for dx in range(-1, 2):
            s += w[dy + 1, dx + 1] * u[dy, dx]
    out[0, 0] = s / 16.0


def test_loop_over_constant_stencil_offsets_is_unrolled(nvrtc):
    k = build(blur, nvrtc, tile=(8, 8), halo=1)
    u = np.random.default_rng(0).random((10, 12)).astype(np.float32)
    out = np.zeros_like(u)
    k.to("cpu")(u, out, WEIGHTS)
    want = np.zeros_like(u)
    for y in range(1, 9):
        for x in range(1, 11):
            want[y, x] = (WEIGHTS * u[y - 1:y + 2, x - 1:x + 2]).sum() / 16
    np.testing.assert_allclose(out, want, rtol=1e-6)


def offsets_dynamic_range(u: Field2D[f32], out: Field2D[f32], k: i32):
    s = 0.0
    for dy in range(-k, k + 1):
        s += u[dy, 0]
    out[0, 0] = s


def offsets_with_break(u: Field2D[f32], out: Field2D[f32]):
    s = 0.0
    for dy in range(-1, 2):
        if s > 1.0:
            break
        s += u[dy, 0]
    out[0, 0] = s


def test_offset_loops_that_cannot_be_unrolled_are_refused():
    make = stencil(tile=(8, 8), halo=1)
    refused(make, offsets_dynamic_range, "range(-k, k + 1)", "needs compile-time bounds")
    refused(make, offsets_with_break, "            break", "'break' in a loop over field offsets")


def unknown_numpy_name(a: f32[:]):
    a[0] = np.sinc(a[1])


def test_numpy_function_without_an_intrinsic_is_refused():
    refused(kernel, unknown_numpy_name, "np.sinc", "is not supported in kernels")


# ---------------------------------------------------------------------------------------------
# the numba backend: the same kernels in numba's CUDA simulator give the CPU emulator's results

def _sim_cases():
    z, f = np.int32, np.float32
    return [
        (chain_atomic, (2, 32), lambda: (np.zeros(1, z), np.zeros(1, z), 40)),
        (chain_call_in_index, (1, 8), lambda: (np.array([-1, 0, .5, 1, 2, .25, .999, 1e-7], f), np.zeros(8, z))),
        (chain_four, (1, 32), lambda: (np.zeros(3, z), np.zeros(32, z), 5, 20)),
        (chain_in_while, (1, 8), lambda: (np.zeros(8, z), np.zeros(8, z))),
        (chain_in_elif, (1, 10), lambda: (np.zeros(1, z), np.zeros(10, z))),
        (aug_index_once, (1, 16), lambda: (np.zeros(1, z), np.zeros(16, f))),
        (shared_only_in_if, (1, 1), lambda: (np.zeros(1, f), 1)),
        (local_in_loop, (1, 1), lambda: (np.zeros(1, f), 5)),
        (sum100, (1, 1), lambda: (np.arange(100, dtype=f) / 7, np.zeros(1, f))),
        (calls_returning_devices, (1, 1), lambda: (np.zeros(1, z), np.zeros(1, f))),
        (atomic_2d, (1, 6), lambda: (np.zeros((2, 3), f), np.zeros((2, 3), z))),
        (assigns_params, (1, 4), lambda: (np.zeros(4, f), 3, 1.25)),
        (assigns_params_in_device, (1, 1), lambda: (np.zeros(2, z), 5)),
        (assigns_param_across_barrier, (1, 32), lambda: (np.zeros(32, z), 10)),
        (swaps, (1, 1), lambda: (np.zeros(3, z), np.arange(4, dtype=f))),
        (barrier_kernel_constructs, (1, 32), lambda: (np.zeros(32, z), 5)),
        (unpacks_device_tuples, (1, 4), lambda: (np.array([7, -7, 9, 10], z), np.zeros(8, z),
                                                 np.array([.25, 1, .5, -2], f))),
        (unpacks_across_barrier, (1, 32), lambda: (np.arange(32, dtype=z) * 3,)),
        (array_alias, (1, 4), lambda: (np.arange(4, dtype=f), np.arange(10, 14, dtype=f), np.zeros(4, f), 1)),
        (ping_pong, (1, 4), lambda: (np.arange(4, dtype=f), np.zeros(4, f), 3)),
        (blur, None, lambda: (np.random.default_rng(0).random((10, 12)).astype(f), np.zeros((10, 12), f),
                              WEIGHTS)),
    ]


def compare_cpu_and_numba() -> list:
    """Each case on the CPU emulator and on numba (in the CUDA simulator when this process has
    NUMBA_ENABLE_CUDASIM=1); the cases whose arrays differ."""
    failures = []
    for fn, launch, make in _sim_cases():
        k = stencil(tile=(8, 8), halo=1)(fn) if launch is None else kernel(fn)
        results = []
        for backend in ("cpu", "numba"):
            args = make()
            (k.to(backend) if launch is None else k.to(backend)[launch])(*args)
            results.append([a for a in args if isinstance(a, np.ndarray)])
        if not all(np.allclose(x, y, rtol=2e-6, atol=1e-6) for x, y in zip(*results)):
            failures.append(f"{fn.__name__}: cpu {results[0]} numba {results[1]}")
    return failures


@pytest.mark.sim
def test_numba_backend_gives_the_cpu_results_in_the_cuda_simulator():
    import os
    import subprocess
    import sys

    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    proc = subprocess.run([sys.executable, FILE], env=env, capture_output=True, text=True, timeout=300)
    tail = (proc.stdout + proc.stderr)[-4000:]
    assert proc.returncode == 0 and "numba agrees with cpu" in proc.stdout, tail


if __name__ == "__main__":  # the simulator side of the test above
    import sys

    bad = compare_cpu_and_numba()
    print("\n".join(bad) if bad else f"numba agrees with cpu on {len(_sim_cases())} kernels")
    sys.exit(1 if bad else 0)


# ---------------------------------------------------------------- module-level arrays are constants
TABLE = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int32)
BIG_TABLE = np.zeros(64 * 1024 // 4 + 1, dtype=np.float32)
NAN_TABLE = np.array([1.0, np.nan], dtype=np.float32)


@device
def bump_row(t: i32[:, :], r: i32):
    t[r, 0] += 1


def reads_table(a: i32[:]):
    i = global_id()
    a[i] = TABLE[i % 2, i % 3] + TABLE.shape[1] * len(TABLE)


def stores_into_table(a: i32[:]):
    TABLE[0, 1] = a[0]


def atomic_on_table(a: i32[:]):
    a[0] = atomic_add(TABLE, (0, 0), 1)


def passes_table_to_writer(a: i32[:]):
    bump_row(TABLE, 1)


def reads_big_table(a: f32[:]):
    a[0] = BIG_TABLE[0]


def reads_nan_table(a: f32[:]):
    a[0] = NAN_TABLE[0]


def reads_table_past_its_end(a: i32[:]):
    a[0] = TABLE[1, 3]


def test_module_level_array_is_a_constant_captured_at_compile_time(nvrtc):
    k = build(reads_table, nvrtc)
    assert "__constant__ int _rk_const_TABLE[2][3] = {1, 2, 3, 4, 5, 6};" in k.cuda_source()
    a = np.zeros(6, np.int32)
    k.to("cpu")[2, 3](a)
    assert a.tolist() == [1 + 6, 5 + 6, 3 + 6, 4 + 6, 2 + 6, 6 + 6]


def test_writes_to_module_level_arrays_are_refused():
    refused(kernel, stores_into_table, "TABLE[0, 1] = a[0]", "module-level array 'TABLE' is a constant")
    refused(kernel, atomic_on_table, "atomic_add(TABLE", "atomic_add() may write it")
    refused(kernel, passes_table_to_writer, "bump_row(TABLE, 1)", "bump_row() writes its parameter 't'")


def test_module_level_arrays_a_backend_cannot_hold_are_refused():
    refused(kernel, reads_big_table, "BIG_TABLE[0]", "a constant array holds at most 65536")
    refused(kernel, reads_nan_table, "NAN_TABLE[0]", "holds inf or NaN")
    refused(kernel, reads_table_past_its_end, "TABLE[1, 3]", "index 3 is out of range for an axis of extent 3")


def test_a_ring_kernel_reading_a_module_level_array_is_refused():
    """The actor loops do not declare constant arrays: refused at decoration, naming the line."""
    from ringkernel_codegen import message, ring_kernel

    @message
    class Scale:
        v: i32

    def handler(ctx, msg: Scale) -> Scale:
        return Scale(v=msg.v * TABLE[1, 2])

    refused(lambda fn: ring_kernel(input=Scale, output=Scale)(fn), handler, "TABLE[1, 2]",
            "ring kernel handlers cannot read module-level arrays yet")
