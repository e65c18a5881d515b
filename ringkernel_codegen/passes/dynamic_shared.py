"""Dynamic shared memory: `buf = shared_array(0, f32)`, its size in bytes given at launch.

CUDA sizes `extern __shared__` arrays at launch and every such array of a kernel starts at the
same address; numba.cuda's `cuda.shared.array(0, dtype)` likewise. ringkernel allows one dynamic
shared array per kernel (counting the @device functions it calls; one function called twice is
one array, as in CUDA) and refuses a second one, so no backend has to reproduce the aliasing.
CUDA and numba spell it natively; for the CPU emulator `add_size_param` makes the size a hidden
last parameter of the emitted launcher (`_rk_shared_bytes`) from which each block allocates it.
"""
from __future__ import annotations

import math

from .. import types as T
from ..errors import CodegenError
from ..ir import nodes as ir

SIZE_PARAM = "_rk_shared_bytes"


def _functions(f: ir.Function) -> list:
    """`f` and the device functions it calls, each once."""
    out, seen = [f], {id(f)}
    for fn in out:
        for n in ir.walk(fn.body):
            dev = getattr(getattr(n, "callee", None), "ir", None) if isinstance(n, ir.Call) else None
            if isinstance(dev, ir.Function) and id(dev) not in seen:
                seen.add(id(dev))
                out.append(dev)
    return out


def _shared(f: ir.Function) -> list:
    """Every distinct shared allocation of `f` and its device functions."""
    return [n for fn in _functions(f) for n in ir.walk(fn.body) if isinstance(n, ir.Alloc) and n.space == "shared"]


def dynamic_array(f: ir.Function):
    """The kernel's dynamic shared array (an ir.Alloc), or None; a second one is a CodegenError."""
    found = [a for a in _shared(f) if a.dynamic]
    if len(found) > 1:
        raise CodegenError(f"'{f.name}' declares a second dynamic shared array (shared_array(0, ...)); a kernel "
                           f"may have one, counting its @device functions (the first: "
                           f"{found[0].span.where() if found[0].span else found[0].name})", found[1].span,
                           "use one dynamic array and index parts of it, e.g. buf[n + i] for the second part "
                           "(CUDA's extern __shared__ arrays all start at the same address)")
    return found[0] if found else None


def static_bytes(f: ir.Function) -> int:
    """Bytes of fixed-size shared memory per block (kernel and device functions)."""
    return sum(math.prod(a.shape) * a.dtype.np_dtype.itemsize for a in _shared(f) if not a.dynamic)


def add_size_param(f: ir.Function) -> bool:
    """CPU emulator: the launch size as a hidden last parameter where a dynamic array is allocated."""
    if not any(isinstance(n, ir.Alloc) and n.dynamic for n in ir.walk(f.body)):
        return False
    f.params.append(ir.Param(SIZE_PARAM, T.i64, readonly=True))
    return True


def cpu_shape(a: ir.Alloc) -> str:
    """The shape the CPU launcher allocates: from the launch size for a dynamic array."""
    if a.dynamic:
        return f"({SIZE_PARAM} // {a.dtype.np_dtype.itemsize},)"
    return repr(a.shape)
