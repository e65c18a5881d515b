"""Call resolution: intrinsics, shared_array/local_array allocations, conversions, builtins, @device functions."""
from __future__ import annotations

import builtins
import math
import numbers
import types as pytypes

import numpy as np

from .. import types as T
from ..errors import CodegenError
from ..intrinsics import SCOPES, Intrinsic, alias_map, table
from ..ir import nodes as ir
from .resolve_globals import check_rank, to_type

BUILTIN_CASTS = {"int": T.i64, "float": T.f64, "bool": T.boolean}
# round() rounds half to even, as rint does
PY_INT_ROUNDING = {math.floor: "floor", math.ceil: "ceil", math.trunc: "trunc", round: "rint"}
FORBIDDEN_BUILTINS = {
    "print": ("print() is not supported in kernels", "write values to an output array and print on the host"),
    "range": ("range() is only allowed as the iterable of a for loop", "write `for i in range(n):`"),
    "isinstance": ("isinstance() is not supported in kernels", "types are fixed at compile time"),
    "open": ("open() is not supported in kernels", "kernels cannot do I/O"),
    "sum": ("sum() is not supported in kernels", "accumulate in a for loop"),
}


class DeviceRef:
    """A call target that is a @device (or plain) Python function; compiled on demand."""

    def __init__(self, fn):
        self.fn = fn


class CallResolution:
    """The Resolver's calls: what a callee is, and the IR node its call becomes."""

    def callee(self, func: ir.Expr):
        obj = self.static_object(func)
        if isinstance(obj, Intrinsic):
            return obj
        mapped = alias_map().get(id(obj))
        if mapped is not None:
            return mapped
        return obj

    def call(self, e: ir.Call) -> ir.Expr:
        if self.hooks is not None:
            hooked = self.hooks.call(self, e)
            if hooked is not None:
                return hooked
        if isinstance(e.callee, ir.Name) and (e.callee.id in self.params or e.callee.id in self.locals):
            raise CodegenError(f"'{e.callee.id}' is a variable, not a function", e.span,
                               "call an intrinsic or a @device function; rename the variable if it shadows one")
        if isinstance(e.callee, ir.Attribute):
            root = e.callee
            while isinstance(root, ir.Attribute):
                root = root.value
            if isinstance(root, ir.Name) and (root.id in self.params or root.id in self.locals):
                raise CodegenError(f"method calls on kernel values are not supported (.{e.callee.attr}())", e.span,
                                   "use intrinsics from ringkernel_codegen.dsl")
        obj = self.callee(e.callee)
        name = getattr(e.callee, "id", getattr(e.callee, "attr", "?"))
        args = [self.expr(a) for a in e.args]
        if isinstance(obj, Intrinsic):
            if obj.scope and obj.scope != self.f.kind:
                where, hint = SCOPES[obj.scope]
                here = f"device function '{self.f.name}'" if self.f.kind == "device" else f"a @{self.f.kind}"
                raise CodegenError(f"{obj.name}() is only defined in {where.format(name=obj.name)}, not in {here}",
                                   e.span, "pass the value in as a parameter" if self.f.kind == "device" else hint)
            if obj.kind == "alloc":
                raise CodegenError(f"{obj.name}() must be assigned directly to a variable", e.span,
                                   f"write `buf = {obj.name}(shape, dtype)` on its own line")
            if e.kwargs:
                raise CodegenError(f"intrinsic {obj.name}() takes positional arguments only", e.span,
                                   f"pass them by position: {obj.name}{obj.signature()}")
            return ir.Call(obj, args, span=e.span)
        if e.kwargs and not (self.hooks and self.hooks.is_message(obj)):
            raise CodegenError(f"keyword arguments are not supported when calling {name}()", e.span,
                               "pass arguments by position")
        if isinstance(obj, (T.ScalarType,)) or obj in (np.float32, np.float64, np.int32, np.int64, np.uint32,
                                                       np.uint64, np.int8, np.int16, np.uint8, np.uint16,
                                                       np.bool_):
            if len(args) != 1:
                raise CodegenError(f"type conversion {name}() takes one argument", e.span)
            c = ir.Cast(args[0], span=e.span)
            c.type = to_type(obj, e.span)
            return c
        if obj in PY_INT_ROUNDING:
            # Python's math.floor/ceil/trunc and round(x) return ints: the float intrinsic, then a cast
            if len(args) != 1:
                raise CodegenError(f"{name}() takes one argument in kernels", e.span,
                                   "round(x, ndigits) is not supported; scale and round instead")
            c = ir.Cast(ir.Call(table()[PY_INT_ROUNDING[obj]], args, span=e.span), span=e.span)
            c.type = T.i64
            return c
        if obj is len:
            if len(args) != 1:
                raise CodegenError("len() takes one array", e.span, "write len(arr) for the size of its first axis")
            return ir.Shape(args[0], 0, span=e.span)
        if obj in (int, float, bool):
            if len(args) != 1:
                raise CodegenError(f"{obj.__name__}() takes one argument in kernels", e.span)
            c = ir.Cast(args[0], span=e.span)
            c.type = BUILTIN_CASTS[obj.__name__]
            return c
        forbidden = next((n for n in FORBIDDEN_BUILTINS if getattr(builtins, n) is obj), None)
        if forbidden is not None:
            msg, hint = FORBIDDEN_BUILTINS[forbidden]
            raise CodegenError(msg, e.span, hint)
        if self.hooks is not None and self.hooks.is_message(obj):
            return self.hooks.construct(self, obj, e, args)
        from ..kernel import DeviceFunction, KernelBase  # local import: kernel imports passes

        if isinstance(obj, KernelBase):
            raise CodegenError(f"kernel '{name}' cannot be called from inside a kernel", e.span,
                               "decorate helpers with @device instead of @kernel")
        if isinstance(obj, DeviceFunction):
            return ir.Call(DeviceRef(obj.fn), args, span=e.span)
        if isinstance(obj, pytypes.FunctionType):
            return ir.Call(DeviceRef(obj), args, span=e.span)
        if isinstance(obj, (pytypes.BuiltinFunctionType, pytypes.BuiltinMethodType)) or callable(obj):
            mod = getattr(obj, "__module__", None) or ""
            extra = " (math functions without an intrinsic are unsupported)" if obj is not None and \
                (mod == "math" or getattr(math, getattr(obj, "__name__", ""), None) is obj) else ""
            raise CodegenError(f"{name}() is not supported in kernels{extra}", e.span,
                               "see `ringkernel-codegen intrinsics` for what kernels can call")
        raise CodegenError(f"'{name}' is not callable", e.span)

    def _alloc_intrinsic(self, call: ir.Call):
        try:
            callee = self.callee(call.callee)
        except CodegenError:
            return None
        if isinstance(callee, Intrinsic) and callee.kind == "alloc":
            return callee
        return None

    def alloc(self, s: ir.Assign) -> ir.Alloc:
        call = s.value
        intr = self._alloc_intrinsic(call)
        args = list(call.args)
        for key in ("shape", "dtype"):
            if key in call.kwargs:
                args.append(call.kwargs[key])
        if len(args) != 2:
            raise CodegenError(f"{intr.name}(shape, dtype) takes a shape and a dtype", call.span,
                               f"write `{s.target} = {intr.name}((16, 16), f32)`")
        shape = self.const_value(args[0])
        if isinstance(shape, numbers.Integral):
            shape = (int(shape),)
        if intr.name == "shared_array" and isinstance(shape, tuple) and 0 in shape:
            if shape != (0,):
                raise CodegenError(f"dynamic shared memory is one-dimensional: shared_array(0, dtype), got shape "
                                   f"{shape}", args[0].span, "index a 1-D array yourself: buf[y * width + x]")
            dtype = to_type(self.static_object(args[1]), args[1].span, "dtype")
            if not isinstance(dtype, T.ScalarType):
                raise CodegenError(f"shared_array() takes a scalar element type, got {dtype}", args[1].span)
            # sized at launch: k[grid, block, 0, nbytes](...) or k[grid, block](..., shared_bytes=nbytes)
            return ir.Alloc(s.target, "shared", (0,), dtype, span=s.span)
        if not (isinstance(shape, tuple) and shape and all(isinstance(d, numbers.Integral) and d > 0 for d in shape)):
            raise CodegenError(f"{intr.name}() needs a compile-time shape of positive integers", args[0].span,
                               "use literals or module-level constants, e.g. (TILE, TILE)")
        dtype = to_type(self.static_object(args[1]), args[1].span, "dtype")
        if not isinstance(dtype, T.ScalarType):
            raise CodegenError(f"{intr.name}() takes a scalar element type, got {dtype}", args[1].span,
                               "write the element type: f32, i32, ...")
        check_rank(T.ArrayType(dtype, len(shape)), args[0].span, f"{intr.name}()")
        # shared_array() inside a @device function is one array per block, as CUDA's __shared__ there:
        # CUDA and numba keep it in the device function, the CPU emulator inlines the function
        # (passes/inline.py) so the kernel's launcher allocates it per block
        space = "shared" if intr.name == "shared_array" else "local"
        return ir.Alloc(s.target, space, tuple(int(d) for d in shape), dtype, span=s.span)
