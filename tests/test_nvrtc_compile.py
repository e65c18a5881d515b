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


CORPORA = ("basic_kernels", "stencil_kernels", "type_kernels")


def _kernels():
    import importlib

    from ringkernel_codegen import KernelBase

    out = []
    for mod_name in CORPORA:
        try:
            mod = importlib.import_module(mod_name)
        except ImportError:
            continue
        out += [(f"{mod_name}.{n}", k) for n, k in sorted(vars(mod).items()) if isinstance(k, KernelBase)]
    return out


@pytest.mark.parametrize("name,k", _kernels(), ids=[n for n, _ in _kernels()])
def test_emitted_kernel_compiles_with_nvrtc(name, k, cache):
    compiled = cuda_backend.compile_cuda(k.cuda_source(), cache_dir=cache)
    assert compiled.format == "cubin" and len(compiled.image) > 0
