"""Emitted CUDA C++ must compile with NVRTC too (what .to("cuda") uses), not only with nvcc.

NVRTC has no host C/C++ headers, so this catches includes nvcc would accept. Runs without a GPU.
"""
import pytest

from ringkernel_runtime import layout

cuda_backend = pytest.importorskip("ringkernel_runtime.backends.cuda")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("nvrtc")


def test_runtime_header_and_message_struct_compile_with_nvrtc(cache):
    from ringkernel_codegen import f32, i64, message

    @message
    class Probe:
        a: f32
        n: i64

    src = layout.c_header((Probe.c_struct(), Probe.c_asserts()))
    src += 'extern "C" __global__ void touch(Probe* p, rk_control_block* cb) { p->n = cb->state; }\n'
    compiled = cuda_backend.compile_cuda(src, cache_dir=cache)
    assert compiled.format == "cubin" and len(compiled.image) > 0


CORPORA = ("basic_kernels", "stencil_kernels", "type_kernels", "ordered_kernels", "barrier_kernels", "expr_kernels",
           "grid_kernels", "device_barrier_kernels")


def _kernels():
    import importlib

    from ringkernel_codegen import KernelBase

    out = []
    for mod_name in CORPORA:
        try:
            mod = importlib.import_module(f"tests.kernels.{mod_name}")
        except ImportError:
            continue
        out += [(f"{mod_name}.{n}", k) for n, k in sorted(vars(mod).items()) if isinstance(k, KernelBase)]
    return out


@pytest.mark.parametrize("name,k", _kernels(), ids=[n for n, _ in _kernels()])
def test_emitted_kernel_compiles_with_nvrtc(name, k, cache):
    compiled = cuda_backend.compile_cuda(k.cuda_source(), cache_dir=cache)
    assert compiled.format == "cubin" and len(compiled.image) > 0


def test_ordered_intrinsics_keep_inputs_const_and_run_on_cpu():
    import numpy as np

    from tests.kernels import ordered_kernels as O

    src = O.publish.cuda_source()
    assert "const float* __restrict__ data" in src and "unsigned long long* __restrict__ flags" in src
    flags = np.array([1, 0, 0], np.uint64)
    data = np.arange(4, dtype=np.float32)
    out = np.zeros(4, np.float32)
    O.publish.to("cpu")[1, 4](flags, data, out, 4)
    np.testing.assert_array_equal(out, data * 2)
    assert list(flags) == [1, 1, 1]


def test_block_reduce_sum_on_cpu_matches_numpy():
    import numpy as np

    from tests.kernels import ordered_kernels as O

    x = np.random.default_rng(3).standard_normal(96).astype(np.float32)
    out = np.zeros(1, np.float32)
    O.block_total.to("cpu")[1, 96](x, out)
    np.testing.assert_allclose(out[0], x.astype(np.float64).sum(), rtol=1e-5)


def test_atomic_add_with_tuple_index_on_2d_array_matches_numpy():
    import numpy as np

    from tests.kernels import ordered_kernels as O

    rng = np.random.default_rng(5)
    xs, ys = rng.integers(0, 4, 200), rng.integers(0, 3, 200)
    hist = np.zeros((3, 4), np.int64)
    O.histogram_2d.to("cpu")[7, 32](xs, ys, hist, 200)
    want = np.zeros((3, 4), np.int64)
    np.add.at(want, (ys, xs), 1)
    np.testing.assert_array_equal(hist, want)
    assert "hist_shape1" in O.histogram_2d.cuda_source()


def test_device_functions_take_arrays_with_their_extents():
    import numpy as np

    from tests.kernels import ordered_kernels as O

    x = np.arange(8, dtype=np.float32)
    y = np.zeros(8, np.float32)
    O.device_arrays.to("cpu")[1, 8](x, y, 8)
    tile_rows = np.array([sum(t + j for j in range(8)) for t in range(4)] + [0] * 4, np.float32)
    np.testing.assert_array_equal(y, 2 * x + 8 + tile_rows)
    src = O.device_arrays.cuda_source()
    assert "scale_into(y, y_shape0, x, x_shape0, ((long long)(i)), 2.0f)" in src
    assert "tile_sum((&tile[0][0]), 4LL, 8LL, " in src
