"""`.to("cuda")` hands launch_source exactly the arguments the emitted signature declares.

Runs without a GPU: the cuda backend's launch_source is replaced by a recorder, and the recorded
argument list is checked against the `extern "C"` signature parsed from the emitted source
(count, order, C types, const-ness of read-only arrays) for every corpus kernel and stencil.
"""
import importlib
import re

import numpy as np
import pytest

from ringkernel_codegen import KernelBase, Stencil
from ringkernel_codegen import types as T

cuda_backend = pytest.importorskip("ringkernel_runtime.backends.cuda")
CORPORA = ("basic_kernels", "stencil_kernels", "type_kernels", "ordered_kernels", "barrier_kernels", "grid_kernels",
           "expr_kernels")


def corpus():
    out = []
    for mod_name in CORPORA:
        mod = importlib.import_module(f"tests.kernels.{mod_name}")
        out += [(f"{mod_name}.{n}", k) for n, k in sorted(vars(mod).items()) if isinstance(k, KernelBase)]
    return out


def sample_args(k):
    args = []
    for p in k.params:
        if isinstance(p.type, T.ArrayType):
            args.append(np.zeros((6,) * p.type.ndim, p.type.dtype.np_dtype))
        else:
            args.append(p.type.np_dtype.type(1))
    return args


def signature(src: str, name: str) -> list:
    m = re.search(r'extern "C" __global__ void (?:__launch_bounds__\(\d+\) )?' + re.escape(name) + r"\(([^)]*)\)", src)
    assert m, f"no extern C signature for {name}"
    return [p.strip() for p in m.group(1).split(",")]


@pytest.fixture
def recorder(monkeypatch):
    calls = []
    provider = pytest.importorskip("ringkernel_runtime.backends.cuda_backend")   # what .to("cuda") calls
    monkeypatch.setattr(provider, "available", lambda: True)
    monkeypatch.setattr(provider, "launch_source",
                        lambda source, name, grid, block, args, **kw: calls.append((source, name, grid, block, args, kw)))
    return calls


@pytest.mark.parametrize("name,k", corpus(), ids=[n for n, _ in corpus()])
def test_launch_arguments_match_the_emitted_signature(name, k, recorder):
    args = sample_args(k)
    if isinstance(k, Stencil):
        k.to("cuda")(*args)
    else:
        k.to("cuda")[2, 32](*args)
    source, kname, grid, block, launch_args, kw = recorder[-1]
    params = signature(source, kname)
    assert len(params) == len(launch_args), (params, launch_args)
    for decl, arg in zip(params, launch_args):
        if arg[0] == "array":
            want = arg[1].dtype
            c = T.from_numpy(want).c_name
            assert re.fullmatch(("const " if not arg[2] else "") + re.escape(c) + r"\* __restrict__ \w+", decl), decl
        else:
            assert decl.startswith(f"const {arg[0]} "), (decl, arg)
    uses_grid_sync = "this_grid().sync()" in source
    assert kw.get("cooperative", False) == uses_grid_sync


def test_stencil_grid_covers_the_domain_in_tiles(recorder):
    from tests.kernels import stencil_kernels as S

    k = next(v for v in vars(S).values() if isinstance(v, Stencil) and v.ndim == 2)
    args = sample_args(k)
    args = [np.zeros((37, 50), a.dtype) if isinstance(a, np.ndarray) else a for a in args]
    k.to("cuda")(*args)
    _, _, grid, block, _, _ = recorder[-1]
    ty, tx = k.tile
    assert block == (tx, ty, 1)
    assert grid == (-(-50 // tx), -(-37 // ty), 1)


@pytest.mark.skipif(cuda_backend.available(), reason="this machine has a GPU: the launch would run")
def test_cuda_launch_without_a_gpu_raises_backend_unavailable_naming_the_cause():
    from tests.kernels import basic_kernels as K
    from ringkernel_codegen import BackendUnavailableError

    x = np.zeros(8, np.float32)
    with pytest.raises(BackendUnavailableError) as info:
        K.saxpy.to("cuda")[1, 8](1.0, x, x.copy(), 8)
    assert "cuda" in str(info.value).lower() and len(str(info.value)) > 40
