"""Pieces every emitter shares: source comments, device-function ordering, spelling lookup."""
from __future__ import annotations

import os

import numpy as np

from ..errors import CodegenError, Span
from ..intrinsics import COLUMNS, Intrinsic
from ..ir import nodes as ir


def source_comment(span: Span | None) -> str | None:
    """`file.py:LINE: source` for the comment above a generated statement (no trailing backslash)."""
    if span is None or not span.text:
        return None
    text = span.text.strip().rstrip("\\").replace("*/", "* /")
    return f"{os.path.basename(span.file)}:{span.line}: {text}"


def device_functions(f: ir.Function) -> list:
    """Device functions reachable from `f`, callees first, each once."""
    out, seen = [], set()

    def visit(fn):
        for node in ir.walk(fn.body):
            if isinstance(node, ir.Call) and hasattr(node.callee, "ir"):
                dev = node.callee.ir
                if id(dev) not in seen:
                    seen.add(id(dev))
                    visit(dev)
                    out.append(dev)

    visit(f)
    return out


def constant_arrays(f: ir.Function) -> list:
    """The module-level arrays (ir.ConstArray) `f` and its device functions read, each name once."""
    out: dict = {}
    for fn in (f, *device_functions(f)):
        for n in ir.walk(fn.body):
            if isinstance(n, ir.ConstArray):
                first = out.setdefault(n.name, n)
                if first is not n and not (first.value.dtype == n.value.dtype
                                           and np.array_equal(first.value, n.value)):
                    raise CodegenError(f"two different module-level arrays named "
                                       f"'{n.name[len('_rk_const_'):]}' are read by '{f.name}' and the "
                                       "device functions it calls", n.span, "rename one of them")
    return list(out.values())


def py_constant_lines(f: ir.Function) -> list:
    """Module-level definitions of the constant arrays, for the Python-syntax emitters (numba and
    numba.njit both capture a global array as a constant, read-only)."""
    return [f"{c.name} = np.array({c.value.tolist()!r}, dtype={c.value.dtype.name!r})" for c in constant_arrays(f)]


def spelling(intr: Intrinsic, backend: str, call: ir.Call) -> str:
    bound = getattr(call, "bound", None)
    spell = intr.spelling(backend, bound.name if bound is not None else None)
    if spell.startswith("unsupported"):
        reason = spell.partition(":")[2].strip() or "no spelling"
        raise CodegenError(f"{intr.name}() is not available on {COLUMNS[backend]}: {reason}", call.span,
                           "pick another backend with .to(...) or avoid this intrinsic")
    return spell


def uses(f: ir.Function, pred) -> bool:
    fns = [f, *device_functions(f)]
    return any(pred(n) for fn in fns for n in ir.walk(fn.body))


def outside_terms(space: ir.IterationSpace, em) -> list:
    """The comparisons, in `em`'s spelling, that put a cell coordinate outside a stencil's iteration
    space (passes/stencil.py): below an axis' start (when it is not 0), at or past its stop. Each
    grid backend joins them with its `or` (emit/cuda.py, emit/numba.py: space_outside)."""
    out = []
    for a in space.axes:
        if not (isinstance(a.start, ir.Const) and a.start.value == 0):
            out.append(f"{a.var} < {em.expr(a.start)}")
        out.append(f"{a.var} >= {em.expr(a.stop)}")
    return out
