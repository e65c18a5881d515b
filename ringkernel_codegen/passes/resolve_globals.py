"""Names from outside the kernel: its namespace, annotations as kernel types, globals folded to constants."""
from __future__ import annotations

import numbers

import numpy as np

from .. import types as T
from ..cache import namespace  # noqa: F401 - the resolver's namespace, re-exported
from ..errors import CodegenError
from ..ir import nodes as ir

MAX_RANK = 3


def check_rank(t, span, what: str) -> None:
    """Arrays have 1 to 3 dimensions (what launch shapes, stencil fields and the emitters' index
    arithmetic are written and tested for)."""
    if isinstance(t, T.ArrayType) and t.ndim > MAX_RANK:
        raise CodegenError(f"{what} is a {t.ndim}D array; kernel arrays have 1 to {MAX_RANK} dimensions", span,
                           "flatten the trailing axes into one and compute the index yourself")


def to_type(obj, span=None, what="type"):
    """A ScalarType/ArrayType from an annotation object (ours, numpy's or numba's)."""
    if isinstance(obj, (T.ScalarType, T.ArrayType)):
        return obj
    if obj is bool:
        return T.boolean
    if obj is int:
        return T.i64
    if obj is float:
        return T.f64
    name = getattr(obj, "__name__", None) or getattr(obj, "name", None) or str(obj)
    if isinstance(name, str) and name in T.ALIASES:
        return T.ALIASES[name]
    try:
        return T.from_numpy(obj)
    except TypeError:
        pass
    raise CodegenError(f"{obj!r} is not a kernel {what}", span,
                       "use f32, f64, i32, i64, u32, u64, boolean, arrays like f32[:, :] or Field2D[f32]")


def eval_annotation(node_or_obj, ns: dict, span):
    """Evaluate an annotation given as a libcst node (or already an object)."""
    import libcst as cst

    if not isinstance(node_or_obj, cst.CSTNode):
        return node_or_obj
    code = cst.Module(body=[]).code_for_node(node_or_obj)
    try:
        return eval(compile(code, "<annotation>", "eval"), dict(ns))  # noqa: S307 - user's own annotation
    except Exception as exc:  # noqa: BLE001 - any failure is the user's annotation
        raise CodegenError(f"cannot evaluate annotation `{code}`: {exc}", span,
                           "annotations must be ringkernel types such as f32, i32[:] or Field2D[f32]") from None


MAX_CONSTANT_BYTES = 64 * 1024  # CUDA's __constant__ memory per module


def constant_array(obj: np.ndarray, name: str, span) -> ir.ConstArray:
    """A module-level NumPy array read by a kernel: a constant captured now, read-only everywhere."""
    what = f"module-level array '{name}'"
    try:
        dtype = T.from_numpy(obj.dtype)
    except TypeError:
        dtype = None
    if not isinstance(dtype, T.ScalarType):
        raise CodegenError(f"{what} has dtype {obj.dtype}, which kernels do not have", span,
                           "use a numeric dtype such as np.float32 or np.int32, or pass the array as a parameter")
    if not 1 <= obj.ndim <= MAX_RANK or obj.size == 0:
        raise CodegenError(f"{what} has shape {obj.shape}; a constant array has 1 to {MAX_RANK} dimensions and "
                           "at least one element", span, "pass the array as a parameter")
    if obj.nbytes > MAX_CONSTANT_BYTES:
        raise CodegenError(f"{what} is {obj.nbytes} bytes; a constant array holds at most {MAX_CONSTANT_BYTES} "
                           "(CUDA's constant memory)", span, "pass the array as a parameter")
    if dtype.is_float and not np.isfinite(obj).all():
        raise CodegenError(f"{what} holds inf or NaN, which a constant array cannot spell on every backend", span,
                           "pass the array as a parameter")
    value = np.array(obj, dtype=dtype.np_dtype, order="C", copy=True)
    value.setflags(write=False)
    c = ir.ConstArray(f"_rk_const_{name}", value, span=span)
    c.type = T.ArrayType(dtype, obj.ndim)
    return c


class GlobalValues:
    """The Resolver's compile-time side: Python objects a name stands for, folded to constants."""

    def const_value(self, e: ir.Expr):
        """Fold an expression to a Python value (constants, globals, tuples, simple arithmetic)."""
        e = self.expr(e)
        if isinstance(e, ir.Const):
            return e.value
        if isinstance(e, ir.TupleExpr):
            return tuple(self.const_value(i) for i in e.items)
        if isinstance(e, ir.UnaryOp) and e.op in ("-", "+"):
            v = self.const_value(e.operand)  # negative literals (u[-1, 0]) parse as unary minus
            if isinstance(v, numbers.Real) and not isinstance(v, bool):
                return -v if e.op == "-" else v
        if isinstance(e, ir.BinOp) and e.op in ("+", "-", "*", "//"):
            a, b = self.const_value(e.left), self.const_value(e.right)
            if isinstance(a, numbers.Integral) and isinstance(b, numbers.Integral):
                return {"+": a + b, "-": a - b, "*": a * b, "//": a // b if b else None}[e.op]
        raise CodegenError("expected a compile-time constant", e.span,
                           "use a literal or a module-level constant")

    def static_object(self, e: ir.Expr):
        """The Python object a Name/Attribute chain refers to (for dtypes and callees)."""
        if isinstance(e, ir.Name):
            if e.id in self.params or e.id in self.locals:
                raise CodegenError(f"'{e.id}' is a variable here, not a compile-time object", e.span)
            if e.id not in self.ns:
                raise self.unknown(e)
            return self.ns[e.id]
        if isinstance(e, ir.Attribute):
            base = self.static_object(e.value)
            try:
                return getattr(base, e.attr)
            except AttributeError:
                raise CodegenError(f"{getattr(base, '__name__', base)!r} has no attribute '{e.attr}'", e.span) from None
        if isinstance(e, ir.Const):
            return e.value
        raise CodegenError("expected a name such as f32 or math.sqrt here", e.span)

    def unknown(self, e: ir.Name) -> CodegenError:
        close = [n for n in list(self.params) + sorted(self.locals) if n.lower() == e.id.lower()]
        hint = f"did you mean '{close[0]}'?" if close else \
            "define it before use, pass it as a parameter, or import it (intrinsics live in ringkernel_codegen.dsl)"
        return CodegenError(f"unknown name '{e.id}'", e.span, hint)

    def fold(self, obj, e: ir.Expr):
        """A global Python object used as a value."""
        if isinstance(obj, (bool, np.bool_)):
            return ir.Const(bool(obj), span=e.span)
        if isinstance(obj, np.generic) and np.issubdtype(type(obj), np.number):
            c = ir.Const(obj.item(), span=e.span)
            c.type = T.from_numpy(type(obj))
            return c
        if isinstance(obj, numbers.Integral):
            return ir.Const(int(obj), weak=True, span=e.span)
        if isinstance(obj, numbers.Real):
            return ir.Const(float(obj), weak=True, span=e.span)
        if isinstance(obj, tuple):
            return ir.TupleExpr([self.fold(o, e) for o in obj], span=e.span)
        if isinstance(obj, str):
            return ir.Const(obj, span=e.span)
        if isinstance(obj, np.ndarray):
            return constant_array(obj, getattr(e, "id", None) or getattr(e, "attr", "array"), e.span)
        raise CodegenError(f"{getattr(e, 'id', getattr(e, 'attr', '?'))!r} ({type(obj).__name__}) "
                           "cannot be used as a value in a kernel", e.span,
                           "kernels use numbers, arrays, intrinsics and @device functions")
