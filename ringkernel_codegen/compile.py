"""The pass pipeline: front end -> resolve -> validate -> lower -> infer, and device-function compilation."""
from __future__ import annotations

import threading

from .errors import CodegenError, RingKernelError
from .frontend import parse_function
from .ir import nodes as ir
from .ir import verify as verify_ir
from .passes import infer, resolve, stencil, validate

_device_cache: dict = {}
_stack = threading.local()


def compile_device(fn, span) -> ir.Function:
    """Typed IR of a helper function called from a kernel (cached; recursion is an error)."""
    key = fn
    if key in _device_cache:
        return _device_cache[key]
    stack = getattr(_stack, "items", None)
    if stack is None:
        stack = _stack.items = []
    if fn in stack:
        chain = " -> ".join(f.__name__ for f in [*stack, fn])
        raise CodegenError(f"recursion is not supported in kernels ({chain})", span,
                           "rewrite the recursion as a loop")
    stack.append(fn)
    try:
        f = parse_function(fn, kind="device")
        _checkpoint(f, "parsed")
        resolve.Resolver(f, fn).run()
        _checkpoint(f, "resolved")
        validate.run(f)
        infer.Inferer(f, device_compiler=compile_device).run()
        validate.mark_readonly(f)
        _checkpoint(f, "typed")
    finally:
        stack.pop()
    _device_cache[key] = f
    return f


def compile_kernel(fn, kind: str, hooks=None, implicit=None, lower=None, infer_hooks=None) -> ir.Function:
    """Typed IR of a @kernel/@stencil/@ring_kernel function; any failure is a CodegenError."""
    try:
        return _compile_kernel(fn, kind, hooks, implicit, lower, infer_hooks)
    except RingKernelError:
        raise
    except RecursionError:
        raise CodegenError(f"kernel '{getattr(fn, '__name__', fn)}' is nested too deeply to compile",
                           hint="split long expressions or deeply nested blocks") from None
    except Exception as exc:  # a bug of ours: still give the user a RingKernelError, never a bare crash
        raise CodegenError(f"internal error while compiling '{getattr(fn, '__name__', fn)}': "
                           f"{type(exc).__name__}: {exc}",
                           hint="this is a ringkernel bug; please report it with the kernel source") from exc


def _checkpoint(f: ir.Function, phase: str) -> None:
    """Between passes: the IR is what the pass promised (ir/verify.py; on when RINGKERNEL_VERIFY_IR=1)."""
    if verify_ir.enabled():
        verify_ir.verify(f, phase)


def _compile_kernel(fn, kind, hooks, implicit, lower, infer_hooks) -> ir.Function:
    allow_untyped = kind == "ring"
    f = parse_function(fn, kind=kind, allow_untyped_first=allow_untyped)
    _checkpoint(f, "parsed")
    resolve.Resolver(f, fn, hooks).run()
    _checkpoint(f, "resolved")
    validate.run(f)
    if lower is not None:
        lower(f)
        _checkpoint(f, "resolved")
    inf = infer.Inferer(f, device_compiler=compile_device, hooks=infer_hooks)
    if implicit:
        inf.params.update(implicit)
    inf.run()
    validate.mark_readonly(f)
    _checkpoint(f, "typed")
    return f


def compile_stencil(fn, ndim: int, halo: int, boundary: str):
    hooks = stencil.StencilHooks(ndim, halo)
    holder = {}

    def lower(f):
        holder["extent"] = stencil.lower(f, hooks, boundary)

    f = compile_kernel(fn, "stencil", hooks=hooks, implicit=stencil.IMPLICIT, lower=lower)
    return f, holder["extent"], hooks.fields
