"""Issue #9: a user's mistake is a RingKernelError subclass with an actionable message, raised with a
traceback that ends at the user's call (RINGKERNEL_DEBUG=1 keeps ringkernel's frames); launches
check what a GPU would refuse or get wrong on every backend: read-only outputs, CUDA's grid and
block limits, exact scalar conversions, and array arguments that alias (every array is __restrict__)."""
import os
import traceback
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

import ringkernel_codegen
from ringkernel_codegen import (
    CodegenError, Field2D, LaunchError, RingKernelError, backends, f32, f64, i32, kernel, message, ring_kernel, stencil,
)
from ringkernel_codegen.dsl import global_id
from ringkernel_codegen.launch import check_args

PACKAGE = os.path.dirname(os.path.abspath(ringkernel_codegen.__file__))


@kernel
def saxpy(a: f32, x: f32[:], y: f32[:], n: i32):
    i = global_id()
    if i < n:
        y[i] = a * x[i] + y[i]


@kernel
def add(a: f32[:], b: f32[:], out: f32[:], n: i32):
    i = global_id()
    if i < n:
        out[i] = a[i] + b[i]


@kernel
def swap(a: f32[:], b: f32[:], n: i32):
    i = global_id()
    if i < n:
        t = a[i]
        a[i] = b[i]
        b[i] = t


@kernel
def wide(a: f64, out: f64[:]):
    out[0] = a


@stencil(tile=(4, 8), halo=1)
def heat(u: Field2D[f32], out: Field2D[f32], alpha: f32):
    out[0, 0] = u[0, 0] + alpha * (u.north + u.south + u.west + u.east - 4.0 * u[0, 0])


@stencil(tile=(1, 32), halo=0)
def copy2d(u: Field2D[f32], out: Field2D[f32]):
    out[0, 0] = u[0, 0]


@message
class Ping:
    v: f32


def vectors(n=8):
    return np.arange(n, dtype=np.float32), np.ones(n, np.float32)


class FakeDeviceArray:
    """Just a __cuda_array_interface__ (never launched: every use here is refused before the launch)."""

    def __init__(self, ptr, shape, typestr="<f4", strides=None, readonly=False):
        self.shape = tuple(shape)
        self.__cuda_array_interface__ = {"shape": self.shape, "typestr": typestr, "data": (ptr, readonly),
                                         "strides": strides, "version": 3}


# ---------------------------------------------------------------- 1. tracebacks end at the user's call
def internal_frames(excinfo):
    return [f for f in traceback.extract_tb(excinfo.tb) if os.path.abspath(f.filename).startswith(PACKAGE)]


def define_bad_kernel():
    @kernel
    def bad(x: f32[:]):
        x[0] = not_defined_anywhere  # noqa: F821
    return bad


def define_bad_stencil():
    @stencil(tile=(8, 8))
    def bad(u: Field2D[f32], out: Field2D[f32]):
        out[0, 0] = u.nowhere
    return bad


def define_bad_ring_kernel():
    @ring_kernel(input=Ping)
    def bad(ctx):
        pass
    return bad


ENTRY_POINTS = {
    "@kernel": (define_bad_kernel, CodegenError),
    "@stencil(...)": (define_bad_stencil, CodegenError),
    "@ring_kernel": (define_bad_ring_kernel, CodegenError),
    "launch": (lambda: saxpy.to("cpu")[1, 8](1.0, np.zeros(8, np.float64), np.zeros(8, np.float32), 8), LaunchError),
    "launch by default backend": (lambda: saxpy[1, 8](1.0, *vectors(), 8.5), LaunchError),
    "stencil call": (lambda: heat(np.zeros((4, 4), np.float32), np.zeros((5, 4), np.float32), 0.1), LaunchError),
    "grid": (lambda: saxpy.to("cpu")[(1, 70000), 32], LaunchError),
    ".to": (lambda: saxpy.to("gpu"), RingKernelError),
    "source": (lambda: saxpy.source("opencl"), RingKernelError),
    "direct call": (lambda: saxpy(1.0, *vectors(), 8), LaunchError),
}


@pytest.mark.parametrize("name", list(ENTRY_POINTS))
def test_a_user_error_has_no_internal_frames(name, monkeypatch):
    monkeypatch.delenv("RINGKERNEL_DEBUG", raising=False)
    run, exc_type = ENTRY_POINTS[name]
    with pytest.raises(exc_type) as excinfo:
        run()
    assert len(internal_frames(excinfo)) <= 1, traceback.format_tb(excinfo.tb)
    assert excinfo.value.__suppress_context__


@pytest.mark.parametrize("name", ["@kernel", "@stencil(...)", "@ring_kernel", "launch"])
def test_ringkernel_debug_keeps_the_internal_frames(name, monkeypatch):
    monkeypatch.setenv("RINGKERNEL_DEBUG", "1")
    run, exc_type = ENTRY_POINTS[name]
    with pytest.raises(exc_type) as excinfo:
        run()
    assert len(internal_frames(excinfo)) > 2


def test_the_decoration_error_message_is_unchanged_by_the_short_traceback(monkeypatch):
    monkeypatch.delenv("RINGKERNEL_DEBUG", raising=False)
    with pytest.raises(CodegenError, match="not_defined_anywhere") as excinfo:
        define_bad_kernel()
    assert "test_launch_errors.py" in str(excinfo.value)       # file:line:col of the kernel line


# ---------------------------------------------------------------- 2. mistakes that reached numba
def test_a_read_only_output_array_is_refused_naming_the_parameter():
    x, y = vectors()
    y.flags.writeable = False
    with pytest.raises(LaunchError, match=r"argument 'y' is a read-only numpy array.*saxpy writes it.*y\.copy\(\)"):
        saxpy.to("cpu")[1, 8](1.0, x, y, 8)


def test_a_read_only_input_array_is_fine():
    x, y = vectors()
    x.flags.writeable = False
    saxpy.to("cpu")[1, 8](2.0, x, y, 8)
    np.testing.assert_allclose(y, 2 * np.arange(8) + 1)


def test_a_read_only_stencil_output_is_refused():
    u, out = np.ones((8, 8), np.float32), np.zeros((8, 8), np.float32)
    out.setflags(write=False)
    with pytest.raises(LaunchError, match="argument 'out' is a read-only numpy array"):
        heat.to("cpu")(u, out, 0.1)


def test_a_read_only_device_array_is_refused_when_written():
    x, y = FakeDeviceArray(0x1000, (8,)), FakeDeviceArray(0x2000, (8,), readonly=True)
    with pytest.raises(LaunchError, match=r"argument 'y' is a read-only device array.*__cuda_array_interface__"):
        saxpy.to("cuda")[1, 8](1.0, x, y, 8)
    ro_x = FakeDeviceArray(0x1000, (8,), readonly=True)
    check_args(saxpy._f, [1.0, ro_x, FakeDeviceArray(0x2000, (8,)), 8], backends.CUDA)   # only read: fine


def test_a_strided_device_array_is_refused_on_every_gpu_backend():
    x, y = FakeDeviceArray(0x1000, (8,), strides=(8,)), FakeDeviceArray(0x2000, (8,))
    for backend in ("cuda", "numba"):
        with pytest.raises(LaunchError, match=r"argument 'x' is a device array with strides \(8,\), not C-contiguous"):
            saxpy.to(backend)[1, 8](1.0, x, y, 8)


def test_non_contiguous_numpy_arrays_are_staged_and_written_back_on_cpu():
    base = np.zeros(16, np.float32)
    x = np.arange(16, dtype=np.float32)[::2]
    saxpy.to("cpu")[1, 8](2.0, x, base[::2], 8)
    np.testing.assert_array_equal(base[::2], 2 * np.arange(0, 16, 2))
    np.testing.assert_array_equal(base[1::2], 0)
    u = np.random.default_rng(0).random((8, 8)).astype(np.float32)
    want = np.zeros_like(u)
    heat.to("cpu")(u, want, 0.1)
    wide_out = np.zeros((8, 16), np.float32)
    heat.to("cpu")(np.asfortranarray(u), wide_out[:, ::2], 0.1)
    np.testing.assert_array_equal(wide_out[:, ::2], want)
    np.testing.assert_array_equal(wide_out[:, 1::2], 0)


@pytest.mark.parametrize("value,message", [
    ([1.0] * 8, r"argument 'x' must be an array \(f32\[:\]\), got list; convert it with np\.asarray"),
    (None, r"argument 'x' must be an array \(f32\[:\]\), got NoneType"),
    (np.zeros(8, np.float64), r"argument 'x' must have dtype float32, got float64; convert it with \.astype"),
    (np.zeros((2, 4), np.float32), r"argument 'x' must be 1D, got 2D"),
    (np.ma.masked_array(np.zeros(8, np.float32)), r"argument 'x' is a masked array"),
], ids=["list", "None", "dtype", "ndim", "masked"])
def test_wrong_array_arguments_are_launch_errors(value, message):
    with pytest.raises(LaunchError, match=message):
        saxpy.to("cpu")[1, 8](1.0, value, np.zeros(8, np.float32), 8)


@pytest.mark.parametrize("value,message", [
    (None, r"argument 'a' must be a number \(f32\), got NoneType"),
    ("1.0", r"argument 'a' must be a number \(f32\), got str"),
    (np.ones(1, np.float32), r"argument 'a' is a scalar \(f32\), got an array"),
    (1j, r"argument 'a' is f32, got the complex number 1j"),
], ids=["None", "str", "array", "complex"])
def test_wrong_scalar_arguments_are_launch_errors(value, message):
    with pytest.raises(LaunchError, match=message):
        saxpy.to("cpu")[1, 8](value, *vectors(), 8)


# ---------------------------------------------------------------- 3. Python-level misuse
def test_calling_a_kernel_without_grid_and_block_says_how_to_launch_it():
    with pytest.raises(LaunchError, match=r"kernel 'saxpy' is launched with a grid and a block: "
                                          r"saxpy\[blocks, threads\]"):
        saxpy(1.0, *vectors(), 8)


def test_keyword_arguments_bind_by_parameter_name():
    x, y = vectors()
    saxpy.to("cpu")[1, 8](2.0, x, n=8, y=y)
    np.testing.assert_allclose(y, 2 * np.arange(8) + 1)
    u, out = np.ones((8, 8), np.float32), np.zeros((8, 8), np.float32)
    heat.to("cpu")(u, alpha=0.5, out=out)
    heat(u=u, out=out, alpha=0.5)
    np.testing.assert_allclose(out[1:-1, 1:-1], 1.0)


def test_unknown_duplicate_and_missing_keyword_arguments_are_refused():
    x, y = vectors()
    launch = saxpy.to("cpu")[1, 8]
    with pytest.raises(LaunchError, match=r"saxpy\(\) has no parameter 'm'; its parameters are a, x, y, n: "
                                          r"call it as saxpy\(a, x, y, n\)"):
        launch(1.0, x, y, m=8)
    with pytest.raises(LaunchError, match=r"saxpy\(\) got argument 'a' twice, by position and by name"):
        launch(1.0, x, y, 8, a=2.0)
    with pytest.raises(LaunchError, match=r"saxpy\(\) is missing argument 'n': call it as saxpy\(a, x, y, n\)"):
        launch(1.0, x, y=y)
    with pytest.raises(LaunchError, match=r"saxpy\(\) takes 4 arguments \(a, x, y, n\), got 5"):
        launch(1.0, x, y, 8, 9)
    with pytest.raises(LaunchError, match=r"heat\(\) has no parameter 'alfa' \(did you mean 'alpha'\?\)"):
        heat.to("cpu")(np.ones((4, 4), np.float32), np.ones((4, 4), np.float32), alfa=0.1)


def test_an_empty_stencil_domain_is_refused():
    e = np.zeros((0, 8), np.float32)
    with pytest.raises(LaunchError, match=r"stencil 'heat' got an empty domain: field 'out' has shape \(0, 8\)"):
        heat.to("cpu")(e, e.copy(), 0.1)


def test_an_f32_scalar_that_would_overflow_to_inf_is_refused():
    x, y = vectors()
    with pytest.raises(LaunchError, match=r"argument 'a' = 1e\+300 overflows f32"):
        saxpy.to("cpu")[1, 8](1e300, x, y, 8)
    with pytest.raises(LaunchError, match=r"overflows f32"):
        saxpy.to("cpu")[1, 8](np.float64(-1e39), x, y, 8)
    with pytest.raises(LaunchError, match=r"overflows f32"):
        saxpy.to("cpu")[1, 8](10 ** 400, x, y, 8)
    saxpy.to("cpu")[1, 8](np.inf, x, y, 8)              # inf given is inf kept
    out = np.zeros(1)
    wide.to("cpu")[1, 1](1e300, out)                      # fits f64
    assert out[0] == 1e300


@pytest.mark.parametrize("value", [Decimal("7.9"), Fraction(15, 2), 7.5, np.float32(7.5), float("nan")],
                         ids=["Decimal", "Fraction", "float", "np.float32", "nan"])
def test_an_integer_parameter_never_truncates(value):
    with pytest.raises(LaunchError, match=r"argument 'n' is i32, got the non-integer .*never truncated"):
        saxpy.to("cpu")[1, 8](1.0, *vectors(), value)


@pytest.mark.parametrize("value", [Decimal("4"), Fraction(8, 2), 4.0, np.int64(4), True], ids=str)
def test_exact_integral_values_are_accepted(value):
    x, y = vectors()
    saxpy.to("cpu")[1, 8](1.0, x, y, value)
    n = int(value)
    np.testing.assert_allclose(y[:n], np.arange(n) + 1)
    np.testing.assert_allclose(y[n:], 1)


def test_an_integer_out_of_range_is_refused():
    with pytest.raises(LaunchError, match=r"argument 'n' = 2147483648 does not fit in i32"):
        saxpy.to("cpu")[1, 8](1.0, *vectors(), 2 ** 31)


@pytest.mark.parametrize("key,message", [
    ((2 ** 40, 32), r"grid \(1099511627776, 1, 1\) has 1099511627776 blocks on x; CUDA allows at most 2147483647"),
    ((2 ** 31, 32), r"on x; CUDA allows at most 2147483647"),
    (((1, 65536), 32), r"grid \(1, 65536, 1\) has 65536 blocks on y; CUDA allows at most 65535"),
    (((1, 1, 65536), 32), r"65536 blocks on z; CUDA allows at most 65535"),
    ((1, (1, 1, 65)), r"block \(1, 1, 65\) has 65 threads on z; CUDA allows at most 64"),
    ((1, (2048, 1)), r"a block has at most 1024 threads, got 2048"),
    ((1, (32, 32, 2)), r"a block has at most 1024 threads, got 2048"),
], ids=["grid-2**40", "grid-x-2**31", "grid-y", "grid-z", "block-z", "block-x", "block-total"])
@pytest.mark.parametrize("target", ["cpu", "numba", "cuda"])
def test_cuda_launch_limits_are_checked_on_every_backend(key, message, target):
    with pytest.raises(LaunchError, match=message):
        saxpy.to(target)[key]


def test_the_largest_legal_launch_shapes_are_accepted():
    saxpy.to("cpu")[(2 ** 31 - 1, 65535, 65535), (1, 16, 64)]
    saxpy.to("cpu")[1, (1024, 1, 1)]


def test_a_stencil_domain_too_large_for_one_launch_is_refused():
    u = np.zeros((65536, 1), np.float32)
    with pytest.raises(LaunchError, match=r"stencil 'copy2d' over a domain of shape \(65536, 1\).*65536 blocks on y"):
        copy2d.to("cpu")(u, u.copy())


# ---------------------------------------------------------------- 4. aliasing (__restrict__)
def test_the_same_array_as_input_and_output_is_refused():
    u = np.ones((8, 8), np.float32)
    with pytest.raises(LaunchError, match=r"arguments 'u' and 'out' of heat are the same array, and heat writes "
                                          r"'out'.*__restrict__.*pass a copy as 'u' \(e\.g\. u\.copy\(\)\)"):
        heat.to("cpu")(u, u, 0.1)


def test_overlapping_views_are_refused_when_one_is_written():
    buf = np.zeros(9, np.float32)
    with pytest.raises(LaunchError, match=r"arguments 'x' and 'y' of saxpy are overlapping memory.*__restrict__"):
        saxpy.to("cpu")[1, 8](1.0, buf[:-1], buf[1:], 8)
    with pytest.raises(LaunchError, match=r"arguments 'a' and 'out' of add"):
        add.to("cpu")[1, 4](buf[:4], buf[4:8], buf[3:7], 4)


def test_two_written_arrays_that_overlap_are_refused():
    buf = np.zeros(8, np.float32)
    with pytest.raises(LaunchError, match=r"arguments 'a' and 'b' of swap are overlapping memory, and swap writes "
                                          r"'a' and 'b'.*pass separate arrays"):
        swap.to("cpu")[1, 4](buf[:4], buf[2:6], 4)


def test_arrays_that_do_not_overlap_or_are_only_read_are_fine():
    buf = np.arange(16, dtype=np.float32)
    saxpy.to("cpu")[1, 8](1.0, buf[::2], buf[1::2], 8)       # interleaved, disjoint
    np.testing.assert_array_equal(buf[1::2], np.arange(0, 16, 2) + np.arange(1, 16, 2))
    x, out = np.arange(4, dtype=np.float32), np.zeros(4, np.float32)
    add.to("cpu")[1, 4](x, x, out, 4)                        # the same array twice, both read-only
    np.testing.assert_array_equal(out, 2 * x)


def test_overlapping_device_arrays_are_refused_from_their_pointer_ranges():
    x, y = FakeDeviceArray(0x1000, (8,)), FakeDeviceArray(0x1000 + 28, (8,))   # y starts at x[7]
    with pytest.raises(LaunchError, match=r"arguments 'x' and 'y' of saxpy are overlapping memory.*__restrict__"):
        saxpy.to("cuda")[1, 8](1.0, x, y, 8)
    for backend in ("cuda", "numba"):
        with pytest.raises(LaunchError, match=r"arguments 'x' and 'y' of saxpy are the same array"):
            saxpy.to(backend)[1, 8](1.0, x, x, 8)
    disjoint = FakeDeviceArray(0x1000 + 32, (8,))                               # starts one past x's end
    check_args(saxpy._f, [1.0, x, disjoint, 8], backends.CUDA)
    check_args(add._f, [x, x, disjoint, 8], backends.CUDA)                      # both read-only
