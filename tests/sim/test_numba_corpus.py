"""Every corpus kernel the simulator can run: numba.cuda output equals the CPU backend's output on
the same synthesised inputs (two independent emitters of one IR must agree). Kernels using warp
collectives or grid barriers are left out: the simulator has no warp ops and runs blocks in turn."""
import importlib
import os

import numpy as np
import pytest

from ringkernel_codegen import CodegenError, KernelBase, Stencil
from ringkernel_codegen import types as T
from ringkernel_codegen.intrinsics import Intrinsic
from ringkernel_codegen.ir import nodes as ir

pytestmark = pytest.mark.sim

if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
    pytest.skip("run through tests/test_sim.py (needs NUMBA_ENABLE_CUDASIM=1 at import)", allow_module_level=True)

CORPORA = ("basic_kernels", "stencil_kernels", "type_kernels", "ordered_kernels", "assign_kernels", "expr_kernels",
           "schedule_kernels")
SIM_LACKS = {"warp_collective", "grid_barrier", "block_collective"}
SIM_LACKS_NAMES = ("load_acquire", "store_release")  # cuda.ldcv/stwt need a real device


def recorded(k, table: str):
    """The kernel's entry in its corpus module's GEOMETRY or ARGS (the launch it is written for and
    the array shapes that launch needs; see basic_kernels.GEOMETRY), or None."""
    return getattr(importlib.import_module(k.fn.__module__), table, {}).get(k.name)


def runnable(k) -> bool:
    try:
        if "cuda.libdevice" in k.numba_source():
            return False  # the simulator has no libdevice (math.* spellings run there)
    except CodegenError:
        return False  # an intrinsic numba.cuda lacks (its own tests check the message)
    for n in ir.walk(k._f.body):
        c = getattr(n, "callee", None)
        if isinstance(c, Intrinsic) and (c.kind in SIM_LACKS or c.name.startswith(SIM_LACKS_NAMES)):
            return False
    return True


def corpus():
    out = []
    for mod_name in CORPORA:
        mod = importlib.import_module(f"tests.kernels.{mod_name}")
        out += [pytest.param(k, id=f"{mod_name}.{n}") for n, k in sorted(vars(mod).items())
                if isinstance(k, KernelBase) and runnable(k)]
    return out


def inputs(k, rng):
    args = []
    for p in k.params:
        t = p.type
        if isinstance(t, T.ArrayType):
            shape = (512,) if t.ndim == 1 else ((12, 13) if t.ndim == 2 else (5, 6, 7))
            shape = (recorded(k, "ARGS") or {}).get(p.name, shape)
            if t.dtype.is_float:
                args.append((rng.random(shape) + 0.5).astype(t.dtype.np_dtype))
            else:
                args.append(rng.integers(1, 5, shape).astype(t.dtype.np_dtype))  # no zero divisors
        else:
            args.append(t.np_dtype.type(3 if not t.is_float else 0.25))
    return args


@pytest.mark.parametrize("k", corpus())
def test_numba_output_equals_cpu_output(k):
    a = inputs(k, np.random.default_rng(7))
    b = [x.copy() if isinstance(x, np.ndarray) else x for x in a]
    if isinstance(k, Stencil):
        k.to("cpu")(*a)
        k.to("numba")(*b)
    else:
        grid, block = recorded(k, "GEOMETRY") or (2, 32)
        k.to("cpu")[grid, block](*a)
        k.to("numba")[grid, block](*b)
    for x, y in zip(a, b):
        if isinstance(x, np.ndarray):
            np.testing.assert_allclose(y, x, rtol=2e-6, atol=0)
